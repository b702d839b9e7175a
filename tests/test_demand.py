"""Tests of sopkit.demand against small hand-worked cases.

Normal quantiles used below (standard tables, e.g. FPP3 table 5.1 to 4 digits):
z(80 %) = 1.2815515655446004, z(95 %) = 1.959963984540054.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sopkit.demand import (
    accuracy_by_family,
    backtest_seasonal_naive,
    build_demand_plan,
    list_adjustments,
    pooled_wape,
    seasonal_naive_forecast,
    summarise_accuracy,
    unmatched_inputs,
)
from sopkit.errors import SopError

Z80 = 1.2815515655446004
Z95 = 1.959963984540054
TOL = 1e-9


def _ts(month: str) -> pd.Timestamp:
    return pd.Timestamp(f"{month}-01")


def _history(sku: str, region: str, start: str, qty: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": sku,
            "region": region,
            "month": pd.date_range(_ts(start), periods=len(qty), freq="MS"),
            "qty": np.asarray(qty, dtype=float),
        }
    )


def _row(fc: pd.DataFrame, sku: str, month: str, region: str = "N") -> pd.Series:
    sel = fc.loc[(fc["sku"] == sku) & (fc["region"] == region) & (fc["month"] == _ts(month))]
    assert len(sel) == 1
    return sel.iloc[0]


# 24 months, 2024-01..2025-12: year 1 is 10, 20, ..., 120; year 2 adds +2, -2, +2, ...
# so every seasonal residual is +-2 and sigma = sqrt(mean(e^2)) = 2 exactly.
YEAR1 = [10.0 * j for j in range(1, 13)]
YEAR2 = [v + (2.0 if j % 2 == 0 else -2.0) for j, v in enumerate(YEAR1)]
TWO_YEARS = _history("A", "N", "2024-01", YEAR1 + YEAR2)
CYCLE = _ts("2026-01")


# --------------------------------------------------------------------------- forecast


def test_seasonal_naive_point_forecasts_hand_worked():
    """yhat(h) = same month last year; h = 13 goes back two years to 2025-01 (12)."""
    fc = seasonal_naive_forecast(TWO_YEARS, CYCLE, horizon=18)
    assert len(fc) == 18
    assert (fc["model"] == "seasonal_naive").all()
    assert _row(fc, "A", "2026-01")["yhat"] == 12.0  # 2025-01: 10 + 2
    assert _row(fc, "A", "2026-02")["yhat"] == 18.0  # 2025-02: 20 - 2
    assert _row(fc, "A", "2026-12")["yhat"] == 118.0  # 2025-12: 120 - 2
    assert _row(fc, "A", "2027-01")["yhat"] == 12.0  # 2025-01 again (k = 2)
    assert _row(fc, "A", "2027-06")["yhat"] == 58.0  # 2025-06: 60 - 2


def test_seasonal_naive_intervals_hand_worked():
    """sigma = 2; h = 1..12 use sigma, h = 13..18 use sigma * sqrt(2) (k = 1, FPP3 5.5)."""
    fc = seasonal_naive_forecast(TWO_YEARS, CYCLE, horizon=18)
    h1, h12, h13 = (_row(fc, "A", m) for m in ("2026-01", "2026-12", "2027-01"))
    assert h1["yhat_lo_80"] == pytest.approx(12 - Z80 * 2, abs=TOL)
    assert h1["yhat_hi_80"] == pytest.approx(12 + Z80 * 2, abs=TOL)
    assert h1["yhat_lo_95"] == pytest.approx(12 - Z95 * 2, abs=TOL)
    assert h1["yhat_hi_95"] == pytest.approx(12 + Z95 * 2, abs=TOL)
    assert h12["yhat_hi_80"] == pytest.approx(118 + Z80 * 2, abs=TOL)
    assert h13["yhat_lo_80"] == pytest.approx(12 - Z80 * 2 * math.sqrt(2), abs=TOL)
    assert h13["yhat_hi_80"] == pytest.approx(12 + Z80 * 2 * math.sqrt(2), abs=TOL)
    # the lower 95 % bound of h = 13 (12 - 5.54) stays positive, no clipping here
    assert h13["yhat_lo_95"] == pytest.approx(12 - Z95 * 2 * math.sqrt(2), abs=TOL)


def test_missing_months_count_as_zero_and_life_starts_at_first_row():
    """A: 2024-12 = 5, then 10 every month of 2025 except 2025-03 (no row = 0) and 2025-12 = 7.

    Its only seasonal residual is y(2025-12) - y(2024-12) = 2, so sigma = 2. B starts in
    2023-01; if A's months before its first row counted as zeros, A would get residuals
    such as 10 - 0 and sigma would not be 2.
    """
    qty = [5.0] + [10.0] * 11 + [7.0]
    a = _history("A", "N", "2024-12", qty)
    a = a.loc[a["month"] != _ts("2025-03")]
    b = _history("B", "N", "2023-01", [1.0] * 36)
    fc = seasonal_naive_forecast(pd.concat([a, b], ignore_index=True), CYCLE, horizon=12)
    mar, dec, jan = (_row(fc, "A", m) for m in ("2026-03", "2026-12", "2026-01"))
    assert mar["yhat"] == 0.0
    assert mar["yhat_lo_80"] == 0.0  # 0 - 2 z clipped at 0
    assert mar["yhat_hi_80"] == pytest.approx(Z80 * 2, abs=TOL)
    assert dec["yhat"] == 7.0
    assert jan["yhat"] == 10.0
    assert jan["yhat_hi_95"] == pytest.approx(10 + Z95 * 2, abs=TOL)
    # B is constant: no error, so a zero-width interval
    b_rows = fc.loc[fc["sku"] == "B"]
    assert (b_rows["yhat"] == 1.0).all()
    assert (b_rows["yhat_lo_95"] == 1.0).all()
    assert (b_rows["yhat_hi_95"] == 1.0).all()


def test_exactly_one_season_uses_the_series_standard_deviation():
    """12 months 1..12: no seasonal residual yet; sample sd of 1..12 = sqrt(13)."""
    h = _history("A", "N", "2025-01", [float(v) for v in range(1, 13)])
    fc = seasonal_naive_forecast(h, CYCLE, horizon=13)
    h1, h13 = _row(fc, "A", "2026-01"), _row(fc, "A", "2027-01")
    assert h1["model"] == "seasonal_naive"
    assert h1["yhat"] == 1.0
    assert h1["yhat_hi_80"] == pytest.approx(1 + Z80 * math.sqrt(13), abs=TOL)
    assert h13["yhat_hi_80"] == pytest.approx(1 + Z80 * math.sqrt(26), abs=TOL)


def test_short_series_use_the_mean_fallback():
    """A = 4, 6, 8, 10, 12: yhat = mean(8, 10, 12) = 10, sd = sqrt(10),
    sigma_h = sqrt(10) * sqrt(1 + 1/3) = sqrt(40/3) at every horizon.
    B = 3, 5: yhat = 4, sd = sqrt(2), sigma_h = sqrt(2) * sqrt(1 + 1/2) = sqrt(3)."""
    h = pd.concat(
        [
            _history("A", "N", "2025-08", [4.0, 6.0, 8.0, 10.0, 12.0]),
            _history("B", "N", "2025-11", [3.0, 5.0]),
        ],
        ignore_index=True,
    )
    fc = seasonal_naive_forecast(h, CYCLE, horizon=14)
    a = fc.loc[fc["sku"] == "A"]
    assert (a["model"] == "mean_fallback").all()
    assert np.allclose(a["yhat"], 10.0, rtol=0, atol=TOL)
    assert np.allclose(a["yhat_lo_80"], 10 - Z80 * math.sqrt(40 / 3), rtol=0, atol=TOL)
    assert np.allclose(a["yhat_hi_95"], 10 + Z95 * math.sqrt(40 / 3), rtol=0, atol=TOL)
    b = fc.loc[fc["sku"] == "B"]
    assert np.allclose(b["yhat"], 4.0, rtol=0, atol=TOL)
    assert np.allclose(b["yhat_hi_80"], 4 + Z80 * math.sqrt(3), rtol=0, atol=TOL)


def test_degenerate_series_never_give_nan():
    """Single point (7), all zeros, constant 5, and 9 then four missing months (n = 5:
    yhat = mean(0, 0, 0) = 0, sd of 9, 0, 0, 0, 0 = sqrt(64.8 / 4) = sqrt(16.2))."""
    h = pd.concat(
        [
            _history("ONE", "N", "2025-12", [7.0]),
            _history("ZERO", "N", "2024-01", [0.0] * 24),
            _history("FLAT", "N", "2023-06", [5.0] * 31),
            _history("GONE", "N", "2025-08", [9.0]),
        ],
        ignore_index=True,
    )
    fc = seasonal_naive_forecast(h, CYCLE, horizon=18)
    assert len(fc) == 4 * 18
    assert not fc.isna().any().any()
    by = fc.set_index(["sku", "month"])
    one = by.loc["ONE"]
    assert (one["yhat"] == 7.0).all()
    assert (one["yhat_lo_95"] == 7.0).all()
    assert (one["yhat_hi_95"] == 7.0).all()
    assert (by.loc["ZERO"][["yhat", "yhat_lo_95", "yhat_hi_95"]] == 0.0).all().all()
    assert (by.loc["FLAT"][["yhat", "yhat_lo_80", "yhat_hi_80"]] == 5.0).all().all()
    gone = by.loc["GONE"]
    assert (gone["yhat"] == 0.0).all()
    assert (gone["yhat_lo_80"] == 0.0).all()
    assert np.allclose(gone["yhat_hi_80"], Z80 * math.sqrt(16.2 * 4 / 3), rtol=0, atol=TOL)


def test_rows_on_or_after_the_cycle_are_ignored():
    """The history ends the month before the cycle, whatever else the table holds."""
    later = _history("A", "N", "2026-01", [999.0, 999.0])
    with_later = pd.concat([TWO_YEARS, later], ignore_index=True)
    pd.testing.assert_frame_equal(
        seasonal_naive_forecast(with_later, CYCLE), seasonal_naive_forecast(TWO_YEARS, CYCLE)
    )


def test_forecast_contract_columns_and_types():
    """Two series x 3 months; interval columns follow `levels`, in order."""
    h = pd.concat([TWO_YEARS, _history("B", "S", "2025-10", [1.0, 2.0, 3.0])], ignore_index=True)
    fc = seasonal_naive_forecast(h, CYCLE, horizon=3, levels=(50, 97.5))
    assert list(fc.columns) == [
        "sku",
        "region",
        "month",
        "model",
        "yhat",
        "yhat_lo_50",
        "yhat_hi_50",
        "yhat_lo_97.5",
        "yhat_hi_97.5",
    ]
    assert fc["month"].dtype == "datetime64[ns]"
    assert fc["sku"].dtype == object
    assert fc["model"].dtype == object
    assert fc["yhat"].dtype == "float64"
    assert list(fc["sku"]) == ["A"] * 3 + ["B"] * 3
    assert list(fc["month"].iloc[:3]) == [_ts("2026-01"), _ts("2026-02"), _ts("2026-03")]
    assert (fc["yhat_hi_97.5"] >= fc["yhat_hi_50"]).all()
    assert isinstance(fc["sku"].iloc[0], str)


@pytest.mark.parametrize(
    ("history", "kwargs", "match"),
    [
        (TWO_YEARS.drop(columns="qty"), {}, "missing column"),
        (TWO_YEARS, {"cycle": pd.Timestamp("2026-01-15")}, "first day of a month"),
        (TWO_YEARS, {"levels": (80, 100)}, "between 0 and 100"),
        (TWO_YEARS, {"horizon": 0}, "horizon"),
        (TWO_YEARS, {"season_length": 0}, "season_length"),
        (TWO_YEARS, {"cycle": _ts("2023-01")}, "no rows before 2023-01"),
        (TWO_YEARS.assign(qty=TWO_YEARS["qty"].where(TWO_YEARS.index != 3)), {}, "missing"),
    ],
)
def test_forecast_bad_input_raises_sop_error(history, kwargs, match):
    kwargs = {"cycle": CYCLE, **kwargs}
    with pytest.raises(SopError, match=match):
        seasonal_naive_forecast(history, **kwargs)


# --------------------------------------------------------------------------- accuracy

PRODUCTS = pd.DataFrame(
    {"sku": ["A", "B", "C", "D", "E"], "family": ["F", "F", "G", "G", "H"]}, dtype=object
)


def _backtest_history() -> pd.DataFrame:
    """Cycle 2025-07, holdout 2 -> origin 2025-05; history 2025-01..04 with m = 2, so the
    forecast of lag 1 (May) is March and of lag 2 (June) is April.

    A/N: 5, 6, 10, 20 | May 12, June 15  -> forecast 10, 20
    A/S: 1, 1, 4, 0   | May -, June 6     -> forecast 4, 0   (May: no row = 0 sold)
    B/N: 3, 3, 8, 10  | May 8, June 5     -> forecast 8, 10
    C/N: 2, 2, 2, 2   | May 2, June 0     -> forecast 2, 2
    D/N: born in May (50): left out, nothing to forecast from at the origin.
    A July row (999) is at the cycle and must be ignored.
    """
    parts = [
        _history("A", "N", "2025-01", [5, 6, 10, 20, 12, 15, 999]),
        _history("A", "S", "2025-01", [1, 1, 4, 0]),
        _history("A", "S", "2025-06", [6]),
        _history("B", "N", "2025-01", [3, 3, 8, 10, 8, 5]),
        _history("C", "N", "2025-01", [2, 2, 2, 2, 2, 0]),
        _history("D", "N", "2025-05", [50]),
    ]
    return pd.concat(parts, ignore_index=True)


def _acc_row(acc: pd.DataFrame, level: str, key: str, lag: int) -> pd.Series:
    sel = acc.loc[(acc["level"] == level) & (acc["key"] == key) & (acc["lag"] == lag)]
    assert len(sel) == 1
    return sel.iloc[0]


# (level, key, lag): actual, forecast, abs_error, wape, bias, mape -- worked by hand
EXPECTED_ACCURACY = {
    ("sku", "A", 1): (12, 14, 2, 2 / 12, 2 / 12, 1 / 6),  # A/S actual 0 left out of mape
    ("sku", "A", 2): (21, 20, 1, 1 / 21, -1 / 21, (5 / 15 + 6 / 6) / 2),
    ("sku", "B", 1): (8, 8, 0, 0, 0, 0),
    ("sku", "B", 2): (5, 10, 5, 1, 1, 1),
    ("sku", "C", 1): (2, 2, 0, 0, 0, 0),
    ("sku", "C", 2): (0, 2, 2, np.nan, np.nan, np.nan),
    ("family", "F", 1): (20, 22, 2, 0.1, 0.1, (1 / 6 + 0) / 2),
    ("family", "F", 2): (26, 30, 4, 4 / 26, 4 / 26, (1 / 3 + 1 + 1) / 3),
    ("family", "G", 1): (2, 2, 0, 0, 0, 0),
    ("family", "G", 2): (0, 2, 2, np.nan, np.nan, np.nan),
    ("total", "Total", 1): (22, 24, 2, 2 / 22, 2 / 22, (1 / 6 + 0 + 0) / 3),
    ("total", "Total", 2): (26, 32, 6, 6 / 26, 6 / 26, (1 / 3 + 1 + 1) / 3),
    # each SKU in each region: errors are not summed across regions before measuring
    ("sku_region", "A / N", 1): (12, 10, 2, 2 / 12, -2 / 12, 2 / 12),
    ("sku_region", "A / N", 2): (15, 20, 5, 5 / 15, 5 / 15, 5 / 15),
    ("sku_region", "A / S", 1): (0, 4, 4, np.nan, np.nan, np.nan),
    ("sku_region", "A / S", 2): (6, 0, 6, 1, -1, 1),
    ("sku_region", "B / N", 1): (8, 8, 0, 0, 0, 0),
    ("sku_region", "B / N", 2): (5, 10, 5, 1, 1, 1),
    ("sku_region", "C / N", 1): (2, 2, 0, 0, 0, 0),
    ("sku_region", "C / N", 2): (0, 2, 2, np.nan, np.nan, np.nan),
}
FAMILY_OF_KEY = {"A": "F", "B": "F", "C": "G", "F": "F", "G": "G", "Total": None}


def test_backtest_hand_computed_two_families():
    """Every row of the accuracy artifact, worked by hand from _backtest_history."""
    acc = backtest_seasonal_naive(
        _backtest_history(), PRODUCTS, _ts("2025-07"), holdout=2, season_length=2
    )
    assert list(acc.columns) == [
        "model",
        "level",
        "key",
        "family",
        "lag",
        "actual",
        "forecast",
        "abs_error",
        "wape",
        "bias",
        "mape",
        "mase",
        "coverage_80",
        "coverage_95",
    ]
    assert len(acc) == len(EXPECTED_ACCURACY)
    assert (acc["model"] == "seasonal_naive").all()
    assert acc["lag"].dtype == "int64"
    assert list(acc["level"].drop_duplicates()) == ["total", "family", "sku", "sku_region"]
    for (level, key, lag), expected in EXPECTED_ACCURACY.items():
        got = _acc_row(acc, level, key, lag)
        assert got["family"] == FAMILY_OF_KEY[key.split(" / ")[0]], key
        cols = ["actual", "forecast", "abs_error", "wape", "bias", "mape"]
        np.testing.assert_allclose(
            got[cols].to_numpy(dtype=float), expected, rtol=0, atol=TOL, err_msg=str(key)
        )


# sku_region key: (mase, coverage_80, coverage_95) at lags 1 and 2, worked by hand below
EXPECTED_SCALED = {
    "A / N": ((2 / 9.5, 5 / 9.5), (1, 1), (1, 1)),
    "A / S": ((4 / 2, 6 / 2), (0, 0), (1, 0)),
    "B / N": ((0, 5 / 6), (1, 1), (1, 1)),
    "C / N": ((np.nan, np.nan), (1, 0), (1, 0)),
}


def test_backtest_mase_and_coverage_hand_computed():
    """MASE and the coverage of seasonal naive's own intervals (m = 2), _backtest_history.

    Scales, mean |y_t - y_(t-2)| over January to April: A/N |10 - 5|, |20 - 6| -> 9.5;
    A/S |4 - 1|, |0 - 1| -> 2; B/N 5, 7 -> 6; C/N constant -> none (MASE NaN); SKU A =
    A/N + A/S: 6, 7, 14, 20 -> (8 + 13) / 2 = 10.5; family F = A + B: 9, 10, 22, 30 ->
    (13 + 20) / 2 = 16.5, and the total (F + C) the same.

    Intervals: sigma = sqrt(mean e^2) of the same differences (FPP3 5.5), the same at
    lags 1 and 2 (one season): A/N sqrt(110.5) = 10.51, 80 % half-width Z80 x 10.51 =
    13.47; A/S sqrt(5) = 2.236, half-widths 2.866 (80 %) and 4.383 (95 %); B/N sqrt(37)
    = 6.083, 7.795 (80 %); C/N 0. So A/N 12 in [0, 23.5] and 15 in [6.5, 33.5]; A/S 0 out
    of [1.13, 6.87] but in [0, 8.38], 6 out of [0, 2.87] and of [0, 4.38]; B/N 8 at its
    forecast, 5 in [2.2, 17.8]; C/N 2 on [2, 2], 0 off it.
    """
    acc = backtest_seasonal_naive(
        _backtest_history(), PRODUCTS, _ts("2025-07"), holdout=2, season_length=2
    )
    for key, expected in EXPECTED_SCALED.items():
        got = [[_acc_row(acc, "sku_region", key, lag)[c] for lag in (1, 2)] for c in
               ("mase", "coverage_80", "coverage_95")]  # fmt: skip
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL, err_msg=key)
    np.testing.assert_allclose(
        [_acc_row(acc, "sku", "A", lag)["mase"] for lag in (1, 2)], [2 / 10.5, 1 / 10.5], atol=TOL
    )
    for level, key in (("family", "F"), ("total", "Total")):
        errors = [_acc_row(acc, level, key, lag)["abs_error"] for lag in (1, 2)]
        got = [_acc_row(acc, level, key, lag)["mase"] for lag in (1, 2)]
        np.testing.assert_allclose(got, np.array(errors) / 16.5, atol=TOL)
    # 80 %: A/N, B/N, C/N in at lag 1 (3 of 4 series), A/N and B/N at lag 2 (2 of 4)
    total = [_acc_row(acc, "total", "Total", lag) for lag in (1, 2)]
    np.testing.assert_allclose([r["coverage_80"] for r in total], [3 / 4, 2 / 4], atol=TOL)
    np.testing.assert_allclose([r["coverage_95"] for r in total], [4 / 4, 2 / 4], atol=TOL)


def test_backtest_without_history_before_origin_raises():
    h = _history("A", "N", "2025-01", [1.0] * 6)
    with pytest.raises(SopError, match="smaller holdout"):
        backtest_seasonal_naive(h, PRODUCTS, _ts("2025-07"), holdout=6)


def test_backtest_sku_without_family_raises():
    h = _history("Z", "N", "2024-01", [1.0] * 18)
    with pytest.raises(SopError, match="products"):
        backtest_seasonal_naive(h, PRODUCTS, _ts("2025-07"), holdout=6)


def test_summarise_accuracy_pools_lags():
    """Family F: actual 20 + 26, forecast 22 + 30, abs_error 2 + 4 -> wape 6/46.
    Family G: actual 2, forecast 4, abs_error 2 -> wape 1, accuracy 0.
    SKU A: abs_error 2 + 1 = 3 (not |34 - 33| = 1) -> wape 3/33, bias 1/33."""
    acc = backtest_seasonal_naive(
        _backtest_history(), PRODUCTS, _ts("2025-07"), holdout=2, season_length=2
    )
    fam = summarise_accuracy(acc, "family")
    assert list(fam.columns) == ["model", "key", "actual", "forecast", "wape", "bias", "accuracy"]
    assert list(fam["key"]) == ["F", "G"]
    f, g = fam.iloc[0], fam.iloc[1]
    assert (f["actual"], f["forecast"]) == (46.0, 52.0)
    assert f["wape"] == pytest.approx(6 / 46, abs=TOL)
    assert f["bias"] == pytest.approx(6 / 46, abs=TOL)
    assert f["accuracy"] == pytest.approx(40 / 46, abs=TOL)
    assert (g["wape"], g["bias"], g["accuracy"]) == (1.0, 1.0, 0.0)
    a = summarise_accuracy(acc, "sku").set_index("key").loc["A"]
    assert a["wape"] == pytest.approx(3 / 33, abs=TOL)
    assert a["bias"] == pytest.approx(1 / 33, abs=TOL)
    total = summarise_accuracy(acc, "total")
    assert list(total["key"]) == ["Total"]
    assert total["wape"].iloc[0] == pytest.approx(8 / 48, abs=TOL)


def test_accuracy_by_family_shows_sku_region_beside_pooled():
    """F: actual 46, forecast 52; pooled |errors| 2 + 4 = 6 -> 40/46; its SKU x region
    errors 2 + 5 (A/N) + 4 + 6 (A/S) + 0 + 5 (B/N) = 22 -> 24/46. G: 2 of 2 both ways -> 0.
    Total: level total 2 + 6 = 8 of 48 -> 40/48; SKU x region 24 of 48 -> 0.5."""
    acc = backtest_seasonal_naive(
        _backtest_history(), PRODUCTS, _ts("2025-07"), holdout=2, season_length=2
    )
    table = accuracy_by_family(acc)
    assert list(table.columns) == [
        "model",
        "level",
        "family",
        "actual",
        "forecast",
        "bias",
        "pooled_accuracy",
        "sku_region_accuracy",
    ]
    assert table["family"].tolist() == ["F", "G", "Total"]
    np.testing.assert_allclose(table["actual"], [46, 2, 48])
    np.testing.assert_allclose(table["bias"], [6 / 46, 1, 8 / 48], atol=TOL)
    np.testing.assert_allclose(table["pooled_accuracy"], [40 / 46, 0, 40 / 48], atol=TOL)
    np.testing.assert_allclose(table["sku_region_accuracy"], [24 / 46, 0, 0.5], atol=TOL)
    assert table["level"].tolist() == ["family", "family", "total"]


def test_accuracy_by_family_keeps_a_family_named_total():
    """Family G renamed "Total": its row keeps its own figures (2 of 2, accuracy 0), and the
    total row still sums both families (40/48 pooled, 0.5 at SKU x region)."""
    products = PRODUCTS.assign(family=PRODUCTS["family"].replace({"G": "Total"}))
    acc = backtest_seasonal_naive(
        _backtest_history(), products, _ts("2025-07"), holdout=2, season_length=2
    )
    table = accuracy_by_family(acc)
    assert table["family"].tolist() == ["F", "Total", "Total"]
    assert table["level"].tolist() == ["family", "family", "total"]
    np.testing.assert_allclose(table["actual"], [46, 2, 48])
    np.testing.assert_allclose(table["sku_region_accuracy"], [24 / 46, 0, 0.5], atol=TOL)
    by_key = summarise_accuracy(acc, "sku_region").set_index("key")
    assert by_key.loc["A / S", "wape"] == pytest.approx(10 / 6, abs=TOL)
    assert by_key.loc["A / N", "accuracy"] == pytest.approx(1 - 7 / 27, abs=TOL)


def test_pooled_wape_at_every_level_by_hand():
    """Sum of |errors| over keys and lags / sum of actuals (48): SKU x region 24, SKU
    3 + 5 + 2 = 10, family 6 + 2 = 8, total 2 + 6 = 8; the default is SKU x region."""
    acc = backtest_seasonal_naive(
        _backtest_history(), PRODUCTS, _ts("2025-07"), holdout=2, season_length=2
    )
    assert pooled_wape(acc) == pytest.approx(24 / 48, abs=TOL)
    assert pooled_wape(acc, level="sku_region") == pytest.approx(0.5, abs=TOL)
    assert pooled_wape(acc, level="sku") == pytest.approx(10 / 48, abs=TOL)
    assert pooled_wape(acc, level="family") == pytest.approx(8 / 48, abs=TOL)
    assert pooled_wape(acc, level="total") == pytest.approx(8 / 48, abs=TOL)


def test_summarise_accuracy_unknown_level_raises():
    acc = pd.DataFrame(columns=["model", "level", "key", "actual", "forecast", "abs_error"])
    with pytest.raises(SopError, match="level must be one of"):
        summarise_accuracy(acc, "region")


# --------------------------------------------------------------------------- consensus

PLAN_PRODUCTS = pd.DataFrame({"sku": ["A", "B", "C"], "family": ["F", "F", "G"]}, dtype=object)


def _forecast() -> pd.DataFrame:
    """A and B (family F) in N and S, C (family G) in N only; months 2026-01, 2026-02."""
    stats = {
        ("A", "N"): (100.0, 80.0),
        ("A", "S"): (50.0, 40.0),
        ("B", "N"): (30.0, 0.0),
        ("B", "S"): (20.0, 0.0),
        ("C", "N"): (10.0, 10.0),
    }
    rows = [
        (sku, region, _ts(month), "seasonal_naive", yhat)
        for (sku, region), values in stats.items()
        for month, yhat in zip(("2026-01", "2026-02"), values, strict=True)
    ]
    return pd.DataFrame(rows, columns=["sku", "region", "month", "model", "yhat"])


def _inputs(*rows: tuple) -> pd.DataFrame:
    """Rows of (sku, family, region, month, kind, value, reason)."""
    df = pd.DataFrame(
        list(rows), columns=["sku", "family", "region", "month", "kind", "value", "reason"]
    ).astype({"value": float})
    df["month"] = pd.to_datetime(df["month"] + "-01") if len(df) else pd.Series(dtype="M8[ns]")
    df["author"] = "sales"
    return df.astype(dict.fromkeys(("sku", "family", "region", "kind", "reason"), object))


def _plan(*rows: tuple) -> pd.DataFrame:
    return build_demand_plan(_forecast(), _inputs(*rows), PLAN_PRODUCTS)


def _adj(plan: pd.DataFrame) -> dict:
    """Non-zero adjustments keyed by (sku, region, YYYY-MM)."""
    nz = plan.loc[plan["adjustment"] != 0]
    return {(r.sku, r.region, r.month.strftime("%Y-%m")): r.adjustment for r in nz.itertuples()}


def test_no_inputs_leaves_the_statistical_forecast():
    plan = _plan()
    assert list(plan.columns) == [
        "sku",
        "region",
        "month",
        "statistical",
        "adjustment",
        "consensus",
        "adjustment_reason",
    ]
    assert len(plan) == 10
    assert (plan["adjustment"] == 0).all()
    assert (plan["consensus"] == plan["statistical"]).all()
    assert plan["adjustment_reason"].isna().all()


def test_pct_on_a_sku_touches_all_its_regions_that_month():
    """+10 % on A in 2026-01: A/N 100 -> +10, A/S 50 -> +5."""
    plan = _plan(("A", None, None, "2026-01", "pct", 10, "promo"))
    assert _adj(plan) == pytest.approx({("A", "N", "2026-01"): 10.0, ("A", "S", "2026-01"): 5.0})
    touched = plan.loc[plan["adjustment"] != 0]
    assert (touched["adjustment_reason"] == "promo").all()
    assert plan.loc[plan["adjustment"] == 0, "adjustment_reason"].isna().all()
    assert touched["consensus"].tolist() == pytest.approx([110.0, 55.0])


def test_pct_on_a_family_touches_both_skus():
    """-25 % on family F in 2026-02: A/N 80 -> -20, A/S 40 -> -10, B's 0 stays 0; C untouched."""
    plan = _plan((None, "F", None, "2026-02", "pct", -25, "price rise"))
    assert _adj(plan) == pytest.approx({("A", "N", "2026-02"): -20.0, ("A", "S", "2026-02"): -10.0})
    feb_f = plan.loc[(plan["month"] == _ts("2026-02")) & plan["sku"].isin(["A", "B"])]
    assert (feb_f["adjustment_reason"] == "price rise").all()  # B touched, by 0 %
    assert plan.loc[plan["sku"] == "C", "adjustment_reason"].isna().all()


def test_abs_is_split_in_proportion_to_the_statistical_forecast():
    """+30 units on A in 2026-01: A/N 100 and A/S 50 -> +20 and +10."""
    plan = _plan(("A", None, None, "2026-01", "abs", 30, "tender"))
    assert _adj(plan) == pytest.approx({("A", "N", "2026-01"): 20.0, ("A", "S", "2026-01"): 10.0})


def test_abs_with_a_region_only_touches_that_region():
    """+14 units on family F, region S, 2026-01: A/S 50 and B/S 20 -> +10 and +4."""
    plan = _plan((None, "F", "S", "2026-01", "abs", 14, "new store"))
    assert _adj(plan) == pytest.approx({("A", "S", "2026-01"): 10.0, ("B", "S", "2026-01"): 4.0})


def test_abs_on_zero_statistical_is_split_equally():
    """+6 units on B in 2026-02 where both regions forecast 0: +3 each."""
    plan = _plan(("B", None, None, "2026-02", "abs", 6, None))
    assert _adj(plan) == pytest.approx({("B", "N", "2026-02"): 3.0, ("B", "S", "2026-02"): 3.0})
    assert plan["adjustment_reason"].isna().all()  # an input without a reason adds none


def test_negative_abs_below_zero_is_floored():
    """-25 units on C/N in 2026-01 (statistical 10): adjustment -25 kept, consensus 0."""
    plan = _plan(("C", None, "N", "2026-01", "abs", -25, "lost customer"))
    row = plan.loc[(plan["sku"] == "C") & (plan["month"] == _ts("2026-01"))].iloc[0]
    assert row["adjustment"] == -25.0
    assert row["consensus"] == 0.0
    assert (plan["consensus"] >= 0).all()


def test_abs_adjustments_add_up_to_the_input_value():
    """7 units on family F in 2026-01 over 100, 50, 30, 20 (sum 200): 3.5, 1.75, 1.05, 0.7."""
    plan = _plan((None, "F", None, "2026-01", "abs", 7, "event"))
    adj = _adj(plan)
    assert adj == pytest.approx(
        {
            ("A", "N", "2026-01"): 3.5,
            ("A", "S", "2026-01"): 1.75,
            ("B", "N", "2026-01"): 1.05,
            ("B", "S", "2026-01"): 0.7,
        },
        abs=1e-12,
    )
    assert sum(adj.values()) == pytest.approx(7.0, abs=1e-12)
    assert plan["consensus"].sum() == pytest.approx(plan["statistical"].sum() + 7.0, abs=1e-9)


def test_inputs_on_the_same_row_add_up_and_reasons_join():
    """A/N 2026-01: +10 % of 100 = 10, plus 26 units over N of family F (100 : 30) = 20.
    The second 'promo' is not repeated in the reason."""
    plan = _plan(
        ("A", None, None, "2026-01", "pct", 10, "promo"),
        (None, "F", "N", "2026-01", "abs", 26, "tender"),
        ("A", None, "N", "2026-01", "pct", 0, "promo"),
    )
    row = plan.loc[
        (plan["sku"] == "A") & (plan["region"] == "N") & (plan["month"] == _ts("2026-01"))
    ].iloc[0]
    assert row["adjustment"] == pytest.approx(30.0, abs=TOL)
    assert row["consensus"] == pytest.approx(130.0, abs=TOL)
    assert row["adjustment_reason"] == "promo; tender"
    b_n = plan.loc[(plan["sku"] == "B") & (plan["region"] == "N")].iloc[0]
    assert b_n["adjustment"] == pytest.approx(6.0, abs=TOL)
    assert b_n["adjustment_reason"] == "tender"


def test_unmatched_inputs_are_ignored_by_the_plan_and_listed():
    """Outside the horizon, an sku never forecast, and family G in region S (C is only in N)."""
    good = ("A", None, None, "2026-01", "pct", 10, "promo")
    bad = [
        ("A", None, None, "2026-05", "pct", 10, "late"),
        ("Z", None, None, "2026-01", "abs", 5, "unknown"),
        (None, "G", "S", "2026-02", "abs", 5, "wrong region"),
    ]
    pd.testing.assert_frame_equal(_plan(good, *bad), _plan(good))
    un = unmatched_inputs(_forecast(), _inputs(good, *bad), PLAN_PRODUCTS)
    assert list(un.index) == [1, 2, 3]
    assert list(un["reason"]) == ["late", "unknown", "wrong region"]
    problems = list(un["problem"])
    assert "2026-05 is outside the forecast (2026-01 to 2026-02)" in problems[0]
    assert problems[1] == "sku Z has no forecast"
    assert "region S" in problems[2]
    assert unmatched_inputs(_forecast(), _inputs(good), PLAN_PRODUCTS).empty


def test_inputs_without_a_region_column_apply_to_all_regions():
    """The region column is optional in the contract."""
    inputs = _inputs(("A", None, None, "2026-01", "abs", 15, None)).drop(columns="region")
    plan = build_demand_plan(_forecast(), inputs, PLAN_PRODUCTS)
    assert _adj(plan) == pytest.approx({("A", "N", "2026-01"): 10.0, ("A", "S", "2026-01"): 5.0})


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (("A", "F", None, "2026-01", "pct", 10, "x"), "both or neither"),
        ((None, None, None, "2026-01", "pct", 10, "x"), "both or neither"),
        (("A", None, None, "2026-01", "percent", 10, "x"), "unknown kind"),
        (("A", None, None, "2026-01", "abs", np.nan, "x"), "no value"),
    ],
)
def test_malformed_inputs_raise_sop_error(row, match):
    with pytest.raises(SopError, match=match):
        _plan(row)


def test_pooled_wape_sums_errors_before_dividing():
    """Hand-worked: SKU x region errors 2 and 3 on actuals 10 and 40 -> 5/50 = 10 % (the
    default level); the total level (errors cancelling) is read separately."""
    acc = pd.DataFrame(
        {
            "level": ["sku_region", "sku_region", "total"],
            "abs_error": [2.0, 3.0, 1.0],
            "actual": [10.0, 40.0, 50.0],
        }
    )
    assert pooled_wape(acc) == pytest.approx(0.1)
    assert pooled_wape(acc, level="total") == pytest.approx(0.02)
    assert np.isnan(pooled_wape(acc, level="family"))
    with pytest.raises(SopError, match="level must be one of"):
        pooled_wape(acc, level="region")


# --------------------------------------------------------------------------- end of life


def _eol_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three SKUs in region N, months 2026-01..03, statistical 10, 20, 30 each month:
    K active, P phase_out with eol_month 2026-02 (its last month of sales), D discontinued
    (eol_month empty)."""
    fc = pd.DataFrame(
        [
            (sku, "N", _ts(m), "seasonal_naive", qty)
            for sku, qty in (("K", 10.0), ("P", 20.0), ("D", 30.0))
            for m in ("2026-01", "2026-02", "2026-03")
        ],
        columns=["sku", "region", "month", "model", "yhat"],
    )
    products = pd.DataFrame(
        {
            "sku": ["K", "P", "D"],
            "family": ["F", "F", "F"],
            "status": ["active", "phase_out", "discontinued"],
            "eol_month": pd.to_datetime([None, "2026-02-01", None]),
        }
    )
    products[["sku", "family", "status"]] = products[["sku", "family", "status"]].astype(object)
    return fc, products


def _eol_case(*inputs: tuple) -> pd.DataFrame:
    fc, products = _eol_frames()
    return build_demand_plan(fc, _inputs(*inputs), products)


def _by_key(plan: pd.DataFrame, column: str) -> dict:
    return {(r.sku, r.month.strftime("%Y-%m")): getattr(r, column) for r in plan.itertuples()}


def test_end_of_life_and_discontinued_items_plan_zero():
    """Hand case: K keeps 10 every month; P keeps 20 in 2026-01 and in its eol_month
    2026-02, the last month it sells, and is cut to 0 after it, in 2026-03 (adjustment
    -20); D is cut in every month (adjustment -30)."""
    plan = _eol_case()
    assert _by_key(plan, "statistical") == {
        **{("K", m): 10.0 for m in ("2026-01", "2026-02", "2026-03")},
        **{("P", m): 20.0 for m in ("2026-01", "2026-02", "2026-03")},
        **{("D", m): 30.0 for m in ("2026-01", "2026-02", "2026-03")},
    }
    assert _by_key(plan, "consensus") == {
        ("K", "2026-01"): 10.0, ("K", "2026-02"): 10.0, ("K", "2026-03"): 10.0,
        ("P", "2026-01"): 20.0, ("P", "2026-02"): 20.0, ("P", "2026-03"): 0.0,
        ("D", "2026-01"): 0.0, ("D", "2026-02"): 0.0, ("D", "2026-03"): 0.0,
    }  # fmt: skip
    assert _by_key(plan, "adjustment") == {
        ("K", "2026-01"): 0.0, ("K", "2026-02"): 0.0, ("K", "2026-03"): 0.0,
        ("P", "2026-01"): 0.0, ("P", "2026-02"): 0.0, ("P", "2026-03"): -20.0,
        ("D", "2026-01"): -30.0, ("D", "2026-02"): -30.0, ("D", "2026-03"): -30.0,
    }  # fmt: skip
    reasons = _by_key(plan, "adjustment_reason")
    assert reasons[("P", "2026-01")] is reasons[("P", "2026-02")] is None
    assert reasons[("P", "2026-03")] == "end of life 2026-02"
    assert {reasons[("D", m)] for m in ("2026-01", "2026-02", "2026-03")} == {"discontinued"}
    assert reasons[("K", "2026-03")] is None


def test_sales_inputs_do_not_resurrect_ended_items():
    """+50 % on P in 2026-03 and +40 units on D in 2026-01: both stay 0 and the inputs are
    listed as unmatched. +30 units on family F in 2026-03 over K 10 and P 20: P has
    ended, so K alone takes the 30 (consensus 40) and P stays 0. In P's eol_month
    2026-02, its last month of sales, +50 % on P still applies (20 -> 30)."""
    rows = [
        ("P", None, None, "2026-03", "pct", 50, "promo"),
        ("D", None, None, "2026-01", "abs", 40, "last order"),
        (None, "F", None, "2026-03", "abs", 30, "tender"),
        ("P", None, None, "2026-02", "pct", 50, "last promo"),
    ]
    plan = _eol_case(*rows)
    consensus = _by_key(plan, "consensus")
    assert consensus[("P", "2026-03")] == 0.0
    assert consensus[("D", "2026-01")] == 0.0
    assert consensus[("K", "2026-03")] == pytest.approx(40.0)
    assert consensus[("P", "2026-02")] == pytest.approx(30.0)
    adjustment = _by_key(plan, "adjustment")
    assert adjustment[("P", "2026-03")] == -20.0
    assert adjustment[("D", "2026-01")] == -30.0
    reasons = _by_key(plan, "adjustment_reason")
    assert reasons[("P", "2026-03")] == "end of life 2026-02"
    assert reasons[("D", "2026-01")] == "discontinued"
    assert reasons[("K", "2026-03")] == "tender"
    assert reasons[("P", "2026-02")] == "last promo"
    assert (plan["consensus"] == plan["statistical"] + plan["adjustment"]).all()

    fc, products = _eol_frames()
    un = unmatched_inputs(fc, _inputs(*rows), products)
    assert list(un.index) == [0, 1]
    assert list(un["problem"]) == [
        "sku P is past its end of life (2026-02): its plan stays 0",
        "sku D is discontinued: its plan stays 0",
    ]


def test_products_without_status_or_eol_columns_are_not_cut():
    """PLAN_PRODUCTS has only sku and family: nothing is cut (the hand-made tests above)."""
    plan = _plan()
    assert (plan["consensus"] == plan["statistical"]).all()


# --------------------------------------------------------------------------- adjustments


def test_adjustments_keep_every_change_with_its_author():
    """_eol_frames with four inputs by four authors (hand-worked):

    0. j.doe: +50 % on P in 2026-02, its last month of sales: P/N +10;
    1. a.smith: +30 units on family F in 2026-03: P has ended and D is discontinued, so
       K alone takes +30;
    2. m.keller: +40 units on D in 2026-01: D is discontinued, nothing touched, no row;
    3. p.novak: +0 % on K in 2026-01: touched, by 0.
    sopkit's rule: D -30 in each month ("discontinued"), P -20 in 2026-03 ("end of life
    2026-02"). Inputs come first in input order, then the rules by sku and month."""
    fc, products = _eol_frames()
    inputs = _inputs(
        ("P", None, None, "2026-02", "pct", 50, "promo"),
        (None, "F", None, "2026-03", "abs", 30, "tender"),
        ("D", None, None, "2026-01", "abs", 40, "last order"),
        ("K", None, None, "2026-01", "pct", 0, "check"),
    )
    inputs["author"] = ["j.doe", "a.smith", "m.keller", "p.novak"]
    adj = list_adjustments(fc, inputs, products)
    assert list(adj.columns) == [
        "sku",
        "region",
        "month",
        "source",
        "input",
        "author",
        "kind",
        "value",
        "effect",
        "reason",
    ]
    rows = [
        (r.sku, r.month.strftime("%Y-%m"), r.source, None if pd.isna(r.input) else int(r.input),
         r.author, r.kind, None if np.isnan(r.value) else r.value, r.effect, r.reason)
        for r in adj.itertuples()
    ]  # fmt: skip
    assert rows == [
        ("P", "2026-02", "sales_inputs", 0, "j.doe", "pct", 50.0, 10.0, "promo"),
        ("K", "2026-03", "sales_inputs", 1, "a.smith", "abs", 30.0, 30.0, "tender"),
        ("K", "2026-01", "sales_inputs", 3, "p.novak", "pct", 0.0, 0.0, "check"),
        ("D", "2026-01", "rule", None, "sopkit", "end_of_life", None, -30.0, "discontinued"),
        ("D", "2026-02", "rule", None, "sopkit", "end_of_life", None, -30.0, "discontinued"),
        ("D", "2026-03", "rule", None, "sopkit", "end_of_life", None, -30.0, "discontinued"),
        ("P", "2026-03", "rule", None, "sopkit", "end_of_life", None, -20.0,
         "end of life 2026-02"),
    ]  # fmt: skip
    assert (adj["region"] == "N").all()
    assert str(adj["input"].dtype) == "Int64"

    plan = build_demand_plan(fc, inputs, products)
    effects = adj.groupby(["sku", "region", "month"])["effect"].sum()
    adjustment = plan.set_index(["sku", "region", "month"])["adjustment"]
    assert effects.reindex(adjustment.index, fill_value=0.0).to_dict() == adjustment.to_dict()


def test_adjustments_sum_to_the_plan_on_the_demo(tiny_demo):
    """On the tiny demo (sales inputs by family and region, a discontinued and a phase-out
    item): every effect summed per SKU x region x month is the plan's adjustment, and every
    adjusted row of the plan has at least one adjustment."""
    ds = tiny_demo
    fc = seasonal_naive_forecast(ds.sales_history, _ts("2026-11"), 18)
    plan = build_demand_plan(fc, ds.sales_inputs, ds.products)
    adj = list_adjustments(fc, ds.sales_inputs, ds.products)
    assert set(adj["source"]) == {"sales_inputs", "rule"}
    assert set(adj.loc[adj["source"] == "rule", "author"]) == {"sopkit"}
    authors = set(adj.loc[adj["source"] == "sales_inputs", "author"])
    assert authors == set(ds.sales_inputs["author"])
    effects = adj.groupby(["sku", "region", "month"])["effect"].sum()
    keyed = plan.set_index(["sku", "region", "month"])
    np.testing.assert_allclose(
        effects.reindex(keyed.index, fill_value=0.0), keyed["adjustment"], rtol=0, atol=1e-9
    )
    assert keyed.loc[keyed["adjustment"] != 0].index.isin(effects.index).all()
    picked = adj.loc[adj["source"] == "sales_inputs"]
    given = ds.sales_inputs.iloc[picked["input"].astype(int)]
    assert picked["author"].tolist() == given["author"].tolist()
    assert picked["value"].tolist() == given["value"].tolist()


def test_adjustments_without_inputs_or_ended_items_is_empty():
    """No inputs and no end of life: no rows, but the artifact's columns and types."""
    adj = list_adjustments(_forecast(), _inputs(), PLAN_PRODUCTS)
    assert adj.empty
    assert list(adj.columns)[-2:] == ["effect", "reason"]
    assert adj["month"].dtype == "datetime64[ns]"
    assert str(adj["input"].dtype) == "Int64"


def test_inputs_need_an_author():
    inputs = _inputs(("A", None, None, "2026-01", "pct", 10, "promo")).drop(columns="author")
    with pytest.raises(SopError, match="author"):
        list_adjustments(_forecast(), inputs, PLAN_PRODUCTS)
    with pytest.raises(SopError, match="author"):
        build_demand_plan(_forecast(), inputs, PLAN_PRODUCTS)


def test_adjustments_list_inputs_before_rules_however_many_inputs():
    """Twelve inputs for a month outside the forecast, then one on K: the input (position
    12) still comes before sopkit's rule rows, though the forecast has only 9 rows."""
    fc, products = _eol_frames()
    rows = [("K", None, None, "2027-01", "pct", 5, "later")] * 12
    rows.append(("K", None, None, "2026-01", "pct", 10, "promo"))
    adj = list_adjustments(fc, _inputs(*rows), products)
    assert adj["source"].tolist() == ["sales_inputs"] + ["rule"] * 4
    assert adj["input"].iloc[0] == 12
    assert adj["effect"].iloc[0] == pytest.approx(1.0)
