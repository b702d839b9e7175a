"""MASE and interval coverage of the accuracy artifact, by hand.

A season of m = 2 months keeps the cases small; every figure below is worked out in the
docstrings from the tables of :func:`_history` and :func:`_forecast`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.demand.accuracy import score_backtest
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
