"""MASE, interval coverage and the value the engine adds over seasonal naive, by hand.

A season of m = 2 months keeps the cases small; every figure below is worked out in the
docstrings from the tables of :func:`_history` and :func:`_forecast`. The interval chart of
notebook 02 is tested here too, on hand-built frames.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import vl_convert

from sopkit.charts import forecast_interval_chart
from sopkit.charts.demand import INTERVAL_SERIES, top_sku
from sopkit.demand.accuracy import (
    ALL_SERIES,
    score_backtest,
    summarise_mase_coverage,
    value_added_over_naive,
)
from sopkit.errors import SopError
from sopkit.schemas import columns

M = pd.Timestamp
ORIGIN, CYCLE = M("2025-05-01"), M("2025-07-01")
MAY, JUNE = M("2025-05-01"), M("2025-06-01")
TOL = 1e-12
PRODUCTS = pd.DataFrame({"sku": ["A", "B", "C"], "family": ["F", "F", "G"]})


def _history() -> pd.DataFrame:
    """Sales, 2025-01 to 2025-06; the backtest origin is May, so January to April is the
    history MASE is scaled by (m = 2) and May (lag 1) and June (lag 2) are measured.

    ======  ===  ===  ===  ===  ===  ====
    series  Jan  Feb  Mar  Apr  May  June
    ======  ===  ===  ===  ===  ===  ====
    A / N     4    8    6   12   13    12
    B / N     .    2    2    5    4     7
    B / S     .    .    1    1    .     3
    C / N     3    3    3    3    3     2
    ======  ===  ===  ===  ===  ===  ====

    "." is no row: before a series' first row it is not yet alive; B / S in May sold 0.
    """
    rows = [
        ("A", "N", [4, 8, 6, 12, 13, 12], "2025-01"),
        ("B", "N", [2, 2, 5, 4, 7], "2025-02"),
        ("B", "S", [1, 1], "2025-03"),
        ("B", "S", [3], "2025-06"),
        ("C", "N", [3, 3, 3, 3, 3, 2], "2025-01"),
    ]
    parts = [
        pd.DataFrame(
            {
                "sku": sku,
                "region": region,
                "month": pd.date_range(start, periods=len(qty), freq="MS"),
                "qty": np.asarray(qty, dtype=float),
            }
        )
        for sku, region, qty, start in rows
    ]
    return pd.concat(parts, ignore_index=True)


def _forecast() -> pd.DataFrame:
    """A forecast made at the origin, with its bounds; May / June each, actual last.

    - A / N: yhat 10 / 12; 80 %: 8-12 / 9-15; 95 %: 6-14 / 7-17; actual 13 / 12
    - B / N: yhat 4 / 4; 80 %: 3-5 both; 95 %: 2-6 both; actual 4 / 7
    - B / S: yhat 1 / 1; 80 %: 0-2 both; 95 %: 0-3 both; actual 0 / 3
    - C / N: yhat 3 / 3; every bound 3; actual 3 / 2
    """
    rows = [
        # sku, region, month, yhat, lo80, hi80, lo95, hi95
        ("A", "N", MAY, 10, 8, 12, 6, 14),
        ("A", "N", JUNE, 12, 9, 15, 7, 17),
        ("B", "N", MAY, 4, 3, 5, 2, 6),
        ("B", "N", JUNE, 4, 3, 5, 2, 6),
        ("B", "S", MAY, 1, 0, 2, 0, 3),
        ("B", "S", JUNE, 1, 0, 2, 0, 3),
        ("C", "N", MAY, 3, 3, 3, 3, 3),
        ("C", "N", JUNE, 3, 3, 3, 3, 3),
    ]
    fc = pd.DataFrame(
        rows,
        columns=["sku", "region", "month", "yhat", *_BOUNDS],
    )
    fc[["yhat", *_BOUNDS]] = fc[["yhat", *_BOUNDS]].astype(float)
    return fc.assign(model="test")


_BOUNDS = ["yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


@pytest.fixture
def acc() -> pd.DataFrame:
    return score_backtest(
        _forecast(), _history(), PRODUCTS, ORIGIN, CYCLE, "statistical", season_length=2
    )


def _get(acc: pd.DataFrame, level: str, key: str, lag: int) -> pd.Series:
    sel = acc.loc[(acc["level"] == level) & (acc["key"] == key) & (acc["lag"] == lag)]
    assert len(sel) == 1, (level, key, lag)
    return sel.iloc[0]


# (level, key) -> (mase lag 1, mase lag 2); the scale in the comment
EXPECTED_MASE = {
    # |6 - 4| = 2, |12 - 8| = 4 -> scale 3; errors |10 - 13| = 3, |12 - 12| = 0
    ("sku_region", "A / N"): (3 / 3, 0 / 3),
    # alive from February: only April has a month two back, |5 - 2| = 3; errors 0, |4 - 7| = 3
    ("sku_region", "B / N"): (0 / 3, 3 / 3),
    # alive from March: no month two back inside its history -> no scale
    ("sku_region", "B / S"): (np.nan, np.nan),
    # constant: every seasonal difference is 0 -> no scale
    ("sku_region", "C / N"): (np.nan, np.nan),
    ("sku", "A"): (1.0, 0.0),
    # B = B/N + B/S from February: 2, 3, 6 -> |6 - 2| = 4; errors |5 - 4| = 1, |5 - 10| = 5
    ("sku", "B"): (1 / 4, 5 / 4),
    ("sku", "C"): (np.nan, np.nan),
    # F = A + B: 4, 10, 9, 18 -> |9 - 4| = 5, |18 - 10| = 8 -> 6.5;
    # errors |15 - 17| = 2, |17 - 22| = 5
    ("family", "F"): (2 / 6.5, 5 / 6.5),
    ("family", "G"): (np.nan, np.nan),
    # Total = F + G: 7, 13, 12, 21 -> 5, 8 -> 6.5; errors |18 - 20| = 2, |20 - 24| = 4
    ("total", "Total"): (2 / 6.5, 4 / 6.5),
}

# (level, key) -> (coverage_80 lag 1, lag 2, coverage_95 lag 1, lag 2). Inside, bounds
# included: A/N May 13 is out of 8-12 and in 6-14, June 12 in both; B/N May in both, June
# 7 out of both; B/S May 0 in both (0 is the lower bound), June 3 out of 0-2 and in 0-3;
# C/N May 3 in both, June 2 out of both.
EXPECTED_COVERAGE = {
    ("sku_region", "A / N"): (0, 1, 1, 1),
    ("sku_region", "B / N"): (1, 0, 1, 0),
    ("sku_region", "B / S"): (1, 0, 1, 1),
    ("sku_region", "C / N"): (1, 0, 1, 0),
    ("sku", "B"): (1, 0, 1, 1 / 2),
    ("family", "F"): (2 / 3, 1 / 3, 1, 2 / 3),
    ("family", "G"): (1, 0, 1, 0),
    ("total", "Total"): (3 / 4, 1 / 4, 1, 2 / 4),
}


def test_the_accuracy_artifact_has_mase_and_coverage(acc):
    assert list(acc.columns) == columns("accuracy")
    assert {"mase", "coverage_80", "coverage_95"} <= set(acc.columns)


@pytest.mark.parametrize(("level", "key"), list(EXPECTED_MASE))
def test_mase_is_the_error_over_the_keys_own_seasonal_scale(acc, level, key):
    """MASE of each key and lag, worked in EXPECTED_MASE: at an aggregated level the
    scale is that of the summed series, never an average of its members' scales."""
    got = [_get(acc, level, key, lag)["mase"] for lag in (1, 2)]
    np.testing.assert_allclose(got, EXPECTED_MASE[(level, key)], rtol=0, atol=TOL)


@pytest.mark.parametrize(("level", "key"), list(EXPECTED_COVERAGE))
def test_coverage_counts_the_series_inside_their_own_interval(acc, level, key):
    got = [_get(acc, level, key, lag)[f"coverage_{c}"] for c in (80, 95) for lag in (1, 2)]
    np.testing.assert_allclose(got, EXPECTED_COVERAGE[(level, key)], rtol=0, atol=TOL)


def test_a_forecast_without_bounds_has_no_coverage_and_keeps_its_mase():
    """Coverage is NaN where the forecast gives no interval, never 0 (nothing was tested)."""
    fc = _forecast().drop(columns=_BOUNDS)
    acc = score_backtest(fc, _history(), PRODUCTS, ORIGIN, CYCLE, "x", season_length=2)
    assert acc[["coverage_80", "coverage_95"]].isna().all(axis=None)
    assert _get(acc, "total", "Total", 2)["mase"] == pytest.approx(4 / 6.5, abs=TOL)
    # one series without a bound leaves its keys without a coverage, the others keep theirs
    fc = _forecast()
    fc.loc[(fc["sku"] == "C") & (fc["month"] == MAY), "yhat_hi_80"] = np.nan
    acc = score_backtest(fc, _history(), PRODUCTS, ORIGIN, CYCLE, "x", season_length=2)
    assert np.isnan(_get(acc, "total", "Total", 1)["coverage_80"])
    assert np.isnan(_get(acc, "family", "G", 1)["coverage_80"])
    assert _get(acc, "family", "F", 1)["coverage_80"] == pytest.approx(2 / 3, abs=TOL)
    assert _get(acc, "total", "Total", 1)["coverage_95"] == 1.0


def test_summary_averages_the_keys_of_each_level(acc):
    """Per key, lags pooled (mean of its two lags), then the mean over the level's keys:

    - total: MASE (2 + 4) / 2 / 6.5 = 3 / 6.5; coverage 80 (3/4 + 1/4) / 2 = 0.5, 95
      (1 + 1/2) / 2 = 0.75; WAPE (2 + 4) / (20 + 24) = 6 / 44.
    - family: F (2 + 5) / 2 / 6.5 = 3.5 / 6.5, G without scale -> 3.5 / 6.5, 1 key left out;
      coverage 80 F (2/3 + 1/3) / 2 = 0.5, G 0.5 -> 0.5; 95 F 5/6, G 1/2 -> 2/3;
      WAPE (2 + 5 + 0 + 1) / 44.
    - sku: A 0.5, B (1/4 + 5/4) / 2 = 0.75, C none -> 0.625; coverage 80: 0.5 each;
      95: A 1, B 0.75, C 0.5 -> 0.75; WAPE (3 + 0 + 1 + 5 + 0 + 1) / 44.
    - sku_region: A/N 0.5, B/N 0.5, two without scale -> 0.5; 80: 0.5 each; 95: 1, 0.5,
      1, 0.5 -> 0.75, as at the total: each key is one series, so the mean is the share
      of all series-months; WAPE (3 + 0 + 0 + 3 + 1 + 2 + 0 + 1) / 44.
    """
    s = summarise_mase_coverage(acc)
    assert list(s.columns) == [
        "model", "level", "keys", "keys_without_scale", "wape", "mase", "mase_median",
        "coverage_80", "coverage_95",
    ]  # fmt: skip
    assert s["level"].tolist() == ["total", "family", "sku", "sku_region"]
    assert s["keys"].tolist() == [1, 2, 3, 4]
    assert s["keys_without_scale"].tolist() == [0, 1, 1, 2]
    expected = np.array(
        [
            [6 / 44, 3 / 6.5, 0.5, 0.75],
            [8 / 44, 3.5 / 6.5, 0.5, 2 / 3],
            [10 / 44, 0.625, 0.5, 0.75],
            [10 / 44, 0.5, 0.5, 0.75],
        ]
    )
    got = s[["wape", "mase", "coverage_80", "coverage_95"]].to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
    # the median over the same keys: one key at total and family; A 0.5 and B 0.75 at sku
    np.testing.assert_allclose(s["mase_median"], [3 / 6.5, 3.5 / 6.5, 0.625, 0.5], atol=TOL)


def test_summary_by_lag(acc):
    """Lag 2 at family: MASE F 5/6.5 (G none); coverage 80 (1/3 + 0) / 2, 95 (2/3 + 0) / 2."""
    s = summarise_mase_coverage(acc, by_lag=True)
    assert list(s[["level", "lag"]].itertuples(index=False, name=None))[:4] == [
        ("total", 1),
        ("total", 2),
        ("family", 1),
        ("family", 2),
    ]
    row = s.loc[(s["level"] == "family") & (s["lag"] == 2)].iloc[0]
    np.testing.assert_allclose(
        row[["mase", "coverage_80", "coverage_95"]].to_numpy(dtype=float),
        [5 / 6.5, 1 / 6, 1 / 3],
        rtol=0,
        atol=TOL,
    )


def test_summary_keeps_models_apart_engine_first(acc):
    both = pd.concat([acc.assign(model="seasonal_naive", mase=acc["mase"] * 2), acc])
    s = summarise_mase_coverage(both)
    assert s["model"].tolist() == ["statistical"] * 4 + ["seasonal_naive"] * 4
    np.testing.assert_allclose(s["mase"].iloc[4:], 2 * s["mase"].iloc[:4].to_numpy(), atol=TOL)
    with pytest.raises(SopError, match="coverage_95"):
        summarise_mase_coverage(acc.drop(columns="coverage_95"))


# --------------------------------------------------------------------------- FVA over naive


def _two_models() -> pd.DataFrame:
    """Both models on the same holdout of two lags; actual 100 a lag in total, F 60, G 40.

    =====================  ==========  =============  ===========
    level / key            actual      naive |err|    stat |err|
    =====================  ==========  =============  ===========
    total                  100, 100    20, 20         10, 20
    family F               60, 60      12, 12         6, 12
    family G               40, 40      4, 4           8, 4
    sku_region A / N (F)   60, 60      15, 15         10, 20
    sku_region C / N (G)   40, 40      4, 4           8, 6
    sku A (ignored)        60, 60      1, 1           1, 1
    =====================  ==========  =============  ===========
    """
    rows = [
        ("total", "Total", None, 100, (20, 20), (10, 20)),
        ("family", "F", "F", 60, (12, 12), (6, 12)),
        ("family", "G", "G", 40, (4, 4), (8, 4)),
        ("sku", "A", "F", 60, (1, 1), (1, 1)),
        ("sku_region", "A / N", "F", 60, (15, 15), (10, 20)),
        ("sku_region", "C / N", "G", 40, (4, 4), (8, 6)),
    ]
    out = []
    for level, key, family, actual, naive, stat in rows:
        for model, errors in (("statistical", stat), ("seasonal_naive", naive)):
            for lag, err in enumerate(errors, start=1):
                out.append((model, level, key, family, lag, float(actual), float(err)))
    return pd.DataFrame(
        out, columns=["model", "level", "key", "family", "lag", "actual", "abs_error"]
    )


def test_value_added_over_naive_by_hand():
    """Lags pooled, WAPE = sum |err| / sum actual, FVA = naive's WAPE - the engine's:

    - total: naive 40/200 = 0.20, statistical 30/200 = 0.15 -> +5 points;
    - F: naive 24/120 = 0.20, statistical 18/120 = 0.15 -> +5 points;
    - G: naive 8/80 = 0.10, statistical 12/80 = 0.15 -> -5 points (the benchmark did better);
    - every SKU in every region: naive (30 + 8)/200 = 0.19, statistical (30 + 14)/200 =
      0.22 -> -3 points: the families' gains were errors cancelling.
    """
    fva = value_added_over_naive(_two_models())
    assert list(fva.columns) == [
        "level", "key", "family", "actual", "abs_error_seasonal_naive", "abs_error_statistical",
        "wape_seasonal_naive", "wape_statistical", "fva_wape",
    ]  # fmt: skip
    assert fva["key"].tolist() == ["Total", "F", "G", ALL_SERIES]
    assert fva["level"].tolist() == ["total", "family", "family", "sku_region"]
    assert fva["family"].tolist() == [None, "F", "G", None]
    expected = np.array(
        [
            [200, 40, 30, 0.20, 0.15, 0.05],
            [120, 24, 18, 0.20, 0.15, 0.05],
            [80, 8, 12, 0.10, 0.15, -0.05],
            [200, 38, 44, 0.19, 0.22, -0.03],
        ]
    )
    np.testing.assert_allclose(fva.iloc[:, 3:].to_numpy(dtype=float), expected, atol=TOL)


def test_value_added_over_naive_by_lag():
    """Total lag 1: naive 0.20, statistical 0.10 -> +10 points; lag 2: 0.20 both -> 0."""
    fva = value_added_over_naive(_two_models(), by_lag=True)
    total = fva.loc[fva["level"] == "total"]
    assert total["lag"].tolist() == [1, 2]
    np.testing.assert_allclose(total["fva_wape"], [0.10, 0.0], atol=TOL)
    assert len(fva) == 8


def test_value_added_over_naive_needs_both_models_on_one_holdout():
    acc = _two_models()
    with pytest.raises(SopError, match="seasonal_naive"):
        value_added_over_naive(acc.loc[acc["model"] == "statistical"])
    shifted = acc.copy()
    shifted.loc[shifted["model"] == "seasonal_naive", "actual"] += 1.0
    with pytest.raises(SopError, match="different holdouts"):
        value_added_over_naive(shifted)


# --------------------------------------------------------------------------- the chart


def _chart_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """History 2026-07..10 of A (family F) in N and S and of C (family G) in N; a forecast
    of 2026-11..12. In the last 12 months A sold 4 x (10 + 5) = 60 units, C 4 x 20 = 80:
    C is the largest SKU."""
    months = pd.date_range("2026-07-01", periods=4, freq="MS")
    hist = pd.concat(
        [
            pd.DataFrame({"sku": "A", "region": "N", "month": months, "qty": 10.0}),
            pd.DataFrame({"sku": "A", "region": "S", "month": months, "qty": 5.0}),
            pd.DataFrame({"sku": "C", "region": "N", "month": months, "qty": 20.0}),
        ],
        ignore_index=True,
    )
    future = pd.date_range("2026-11-01", periods=2, freq="MS")
    fc = pd.concat(
        [
            pd.DataFrame({"sku": s, "region": r, "month": future, "yhat": y})
            for s, r, y in (("A", "N", 11.0), ("A", "S", 6.0), ("C", "N", 19.0))
        ],
        ignore_index=True,
    )
    fc = fc.assign(
        yhat_lo_80=fc["yhat"] - 2,
        yhat_hi_80=fc["yhat"] + 2,
        yhat_lo_95=fc["yhat"] - 4,
        yhat_hi_95=fc["yhat"] + 4,
        model="test",
    )
    return hist, fc


def _legend(spec: dict) -> list[str]:
    domains = []
    for layer in spec.get("spec", spec)["layer"]:
        color = layer.get("encoding", {}).get("color")
        if color:
            domains.append(color["scale"]["domain"])
    assert all(d == domains[0] for d in domains)
    return domains[0]


def test_total_view_draws_the_point_forecast_only_and_says_why():
    """Total history 35 a month, forecast 11 + 6 + 19 = 36; no bound is summed."""
    hist, fc = _chart_data()
    spec = forecast_interval_chart(hist, fc, PRODUCTS).to_dict()
    values = spec["data"]["values"]
    lines = [v for v in values if v["series"] in ("history", "forecast")]
    assert {v["qty"] for v in lines if v["series"] == "history"} == {35.0}
    assert {v["qty"] for v in lines if v["series"] == "forecast"} == {36.0}
    assert not any(v.get("lo") is not None for v in values)
    assert _legend(spec) == ["history", "forecast"]
    assert "Point forecast only" in spec["title"]["subtitle"][0]
    assert spec["width"] == 600


def test_family_view_has_a_panel_per_family():
    hist, fc = _chart_data()
    spec = forecast_interval_chart(hist, fc, PRODUCTS, view="family").to_dict()
    panels = {v["panel"] for v in spec["data"]["values"]}
    assert panels == {"F", "G"}
    f = [v for v in spec["data"]["values"] if v["panel"] == "F" and v["series"] == "forecast"]
    assert {v["qty"] for v in f} == {17.0}
    assert spec["facet"]["row"]["field"] == "panel"
    assert _legend(spec) == ["history", "forecast"]


def test_total_and_family_views_draw_the_levels_own_bands_when_given():
    """forecast_levels rows give the total and each family their own bounds."""
    hist, fc = _chart_data()
    months = sorted(fc["month"].unique())
    rows = [("total", None, m, 36.0, 30.0, 44.0, 25.0, 50.0) for m in months]
    rows += [("family", "F", m, 17.0, 14.0, 20.0, 12.0, 23.0) for m in months]
    rows += [("family", "G", m, 19.0, 15.0, 24.0, 13.0, 27.0) for m in months]
    cols = ["level", "family", "month", "yhat"]
    cols += ["yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
    levels = pd.DataFrame(rows, columns=cols)
    spec = forecast_interval_chart(hist, fc, PRODUCTS, levels=levels).to_dict()
    bands = [v for v in spec["data"]["values"] if v["series"] == "80 % interval"]
    assert {(v["lo"], v["hi"]) for v in bands} == {(30.0, 44.0)}
    assert _legend(spec) == list(INTERVAL_SERIES)
    assert "its own 80 %" in spec["title"]["subtitle"][1]
    spec = forecast_interval_chart(hist, fc, PRODUCTS, view="family", levels=levels).to_dict()
    bands = [v for v in spec["data"]["values"] if v["series"] == "95 % interval"]
    assert {(v["panel"], v["lo"], v["hi"]) for v in bands} == {("F", 12.0, 23.0), ("G", 13.0, 27.0)}
    # levels without the view's rows: the point forecast only, as without levels
    spec = forecast_interval_chart(hist, fc, PRODUCTS, levels=levels[levels["level"] == "family"])
    assert "Point forecast only" in spec.to_dict()["title"]["subtitle"][0]


def test_sku_view_draws_each_regions_own_bands_for_the_largest_sku():
    hist, fc = _chart_data()
    assert top_sku(hist, M("2026-11-01")) == "C"
    spec = forecast_interval_chart(hist, fc, PRODUCTS, view="sku").to_dict()
    assert "Demand of C" in spec["title"]["text"]
    assert "most units" in spec["title"]["subtitle"][0]
    assert _legend(spec) == list(INTERVAL_SERIES)
    bands = [v for v in spec["data"]["values"] if v["series"] == "80 % interval"]
    assert {(v["lo"], v["hi"]) for v in bands} == {(17.0, 21.0)}
    spec = forecast_interval_chart(hist, fc, PRODUCTS, view="sku", sku="A").to_dict()
    panels = {v["panel"] for v in spec["data"]["values"]}
    assert panels == {"N", "S"}
    bands = [v for v in spec["data"]["values"] if v["series"] == "95 % interval"]
    assert {(v["panel"], v["lo"], v["hi"]) for v in bands} == {("N", 7.0, 15.0), ("S", 2.0, 10.0)}


def test_sku_view_without_bounds_leaves_the_bands_out_of_the_legend():
    hist, fc = _chart_data()
    spec = forecast_interval_chart(
        hist, fc.drop(columns=["yhat_lo_95", "yhat_hi_95"]), PRODUCTS, view="sku"
    ).to_dict()
    assert _legend(spec) == ["history", "forecast", "80 % interval"]


def test_interval_charts_render_offline_as_plain_json():
    hist, fc = _chart_data()
    for view in ("total", "family", "sku"):
        chart = forecast_interval_chart(hist, fc, PRODUCTS, view=view)
        text = chart.to_json()
        json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in chart JSON"))
        assert '"url"' not in text
        svg = vl_convert.vegalite_to_svg(text)
        assert "forecast from 2026-11" in svg


def test_interval_chart_refuses_what_it_cannot_draw():
    hist, fc = _chart_data()
    with pytest.raises(SopError, match="view must be one of"):
        forecast_interval_chart(hist, fc, PRODUCTS, view="region")
    with pytest.raises(SopError, match="sku= is for view='sku'"):
        forecast_interval_chart(hist, fc, PRODUCTS, sku="A")
    with pytest.raises(SopError, match="has no forecast"):
        forecast_interval_chart(hist, fc, PRODUCTS, view="sku", sku="Z")
    with pytest.raises(SopError, match="sold anything"):
        top_sku(hist, M("2026-07-01"))
    empty = forecast_interval_chart(hist[:0], fc[:0], PRODUCTS, view="sku").to_dict()
    assert empty["mark"]["type"] == "text"
