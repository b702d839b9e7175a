"""The demand forecasting engine: schema, model choice, degenerate series, bad input."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from sopkit.demand.engine import (
    DEFAULT_MODELS,
    FORECAST_COLUMNS,
    INTERMITTENT_MODELS,
    ForecastResult,
    forecast,
)
from sopkit.errors import SopError

H = 18
START = pd.Timestamp("2022-11-01")
PATTERN = np.array([40, 35, 50, 60, 80, 120, 150, 140, 90, 70, 55, 45], dtype=float)


def _months(n: int, start: pd.Timestamp = START) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="MS")


def _frame(uid: str, y, start: pd.Timestamp = START) -> pd.DataFrame:
    y = np.asarray(y, dtype=float)
    return pd.DataFrame({"unique_id": uid, "ds": _months(len(y), start), "y": y})


def make_panel(seed: int = 7) -> pd.DataFrame:
    """One series of every kind the engine must handle, in contract format."""
    rng = np.random.default_rng(seed)
    t = np.arange(48)
    season = 30 * np.sin(2 * np.pi * t / 12)
    intermittent = np.where(rng.random(48) < 0.3, rng.integers(1, 9, 48), 0)
    gappy = _frame("gappy", 100 + season + rng.normal(0, 3, 48))
    spiky = 100 + rng.normal(0, 3, 48)
    spiky[30] = 5000
    parts = [
        _frame("seasonal", np.tile(PATTERN, 4)),
        _frame("trend", 50 + 3 * t),
        _frame("trend_season", 200 + 4 * t + season + rng.normal(0, 2, 48)),
        _frame("short5", [10, 12, 11, 13, 12]),
        _frame("short15", 50 + rng.normal(0, 4, 15)),
        _frame("medium30", 100 + season[:30] + rng.normal(0, 3, 30)),
        _frame("constant", np.full(24, 7.0)),
        _frame("zero", np.zeros(24)),
        gappy.drop(index=[20, 21, 25]),  # three months without a row
        _frame("spiky", spiky),
        _frame("intermittent", intermittent),
        _frame("intermittent_short", intermittent[:20]),
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return make_panel()


@pytest.fixture(scope="module")
def result(panel) -> ForecastResult:
    return forecast(panel, H, n_jobs=1, return_selection=True)


def _row(result: ForecastResult, uid: str) -> pd.Series:
    sel = result.selection.set_index("unique_id")
    return sel.loc[uid]


def _yhat(result: ForecastResult, uid: str) -> np.ndarray:
    fc = result.forecast
    return fc.loc[fc["unique_id"] == uid, "yhat"].to_numpy()


# --------------------------------------------------------------------------- schema


def test_forecast_has_the_contract_columns_and_continues_each_series(panel, result):
    fc = result.forecast
    assert tuple(fc.columns) == FORECAST_COLUMNS
    assert fc["ds"].dtype == "datetime64[ns]"
    assert fc.groupby("unique_id").size().eq(H).all()
    assert fc["unique_id"].is_monotonic_increasing
    assert set(fc["unique_id"]) == set(panel["unique_id"])
    last = panel.groupby("unique_id")["ds"].max()
    for uid, group in fc.groupby("unique_id"):
        expected = pd.date_range(last[uid] + pd.DateOffset(months=1), periods=H, freq="MS")
        assert group["ds"].tolist() == expected.tolist(), uid
    assert (fc.groupby("unique_id")["model"].nunique() == 1).all()


def test_bounds_are_nested_around_the_forecast_and_never_negative(result):
    fc = result.forecast
    cols = ["yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"]
    values = fc[cols].to_numpy()
    assert np.isfinite(values).all()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= 0).all()


def test_default_return_is_the_forecast_frame_alone(panel):
    small = panel[panel["unique_id"].isin(["short5", "constant"])]
    fc = forecast(small, 3, n_jobs=1)
    assert isinstance(fc, pd.DataFrame)
    assert tuple(fc.columns) == FORECAST_COLUMNS


def test_selection_has_one_row_per_series_with_a_reason(panel, result):
    sel = result.selection
    assert sorted(sel["unique_id"]) == sorted(panel["unique_id"].unique())
    assert sel["reason"].str.len().gt(0).all()
    assert set(sel["selected_by"]) <= {"backtest", "rule"}
    models = result.forecast.groupby("unique_id")["model"].first()
    assert (sel.set_index("unique_id")["model"] == models).all()


# --------------------------------------------------------------------------- known answers


def test_a_pure_seasonal_pattern_is_repeated_exactly(result):
    assert np.allclose(_yhat(result, "seasonal"), np.tile(PATTERN, 2)[:H])
    row = _row(result, "seasonal")
    assert row["model"] == "seasonal_naive" or row["mase"] == row["mase_seasonal_naive"]
    assert row["selected_by"] == "backtest"


def test_a_linear_trend_is_continued(result):
    expected = 50 + 3 * np.arange(48, 48 + H)
    assert np.allclose(_yhat(result, "trend"), expected, rtol=0.01)
    row = _row(result, "trend")
    assert row["mase"] < row["mase_seasonal_naive"]


def test_trend_and_season_make_seasonal_naive_lose_the_backtest(result):
    row = _row(result, "trend_season")
    assert row["selected_by"] == "backtest"
    assert row["model"] != "seasonal_naive"
    assert row["mase"] < row["mase_seasonal_naive"]
    assert row["relative_mae"] < 1
    assert "against seasonal naive's" in row["reason"]


def test_the_winner_has_the_lowest_backtest_score_of_its_candidates(result):
    sel = result.selection
    scored = sel[sel["selected_by"] == "backtest"]
    assert len(scored) >= 5
    for _, row in scored.iterrows():
        sparse = row["demand_class"] in ("intermittent", "lumpy")
        candidates = INTERMITTENT_MODELS if sparse else DEFAULT_MODELS
        scores = row[[f"mase_{c}" for c in candidates]]
        assert row["mase"] == pytest.approx(scores.min()), row["unique_id"]
        assert row[f"mase_{row['model']}"] == pytest.approx(row["mase"])


# --------------------------------------------------------------------------- degenerate


@pytest.mark.parametrize(
    ("uid", "model", "reason"),
    [
        ("short5", "mean_fallback", "5 month(s), fewer than the 7 a model needs"),
        ("short15", "ets_nonseasonal", "15 months, fewer than the 24 a seasonal model needs"),
        ("medium30", "ets+theta+arima", "30 months, fewer than the 36 a backtest needs"),
        ("constant", "constant", "all 24 months equal 7"),
        ("zero", "zero", "all 24 month(s) are 0"),
        ("intermittent_short", "croston_sba", "demand with 20 months, fewer than the 36"),
    ],
)
def test_a_series_without_a_backtest_gets_the_rule_and_says_why(result, uid, model, reason):
    row = _row(result, uid)
    assert row["model"] == model
    assert row["selected_by"] == "rule"
    assert reason in row["reason"]
    assert np.isnan(row["mase"])
    assert len(_yhat(result, uid)) == H


def test_constant_and_zero_series_forecast_their_value(result):
    assert (_yhat(result, "constant") == 7).all()
    fc = result.forecast[result.forecast["unique_id"] == "zero"]
    assert (fc[list(FORECAST_COLUMNS[2:7])] == 0).all().all()


def test_short_series_forecast_the_mean_of_their_last_three_months(result):
    assert np.allclose(_yhat(result, "short5"), (11 + 13 + 12) / 3)


def test_missing_months_are_filled_with_zero_and_noted(result):
    row = _row(result, "gappy")
    assert row["gaps_filled"] == 3
    assert row["n_months"] == 48
    assert "3 missing month(s) inside the history filled with 0" in row["reason"]


def test_a_spike_is_replaced_and_noted(result):
    row = _row(result, "spiky")
    assert row["spikes_replaced"] == 1
    assert "1 spike(s) above 5 x the local median (2025-05)" in row["reason"]
    assert _yhat(result, "spiky").max() < 130  # the spike (5000) does not come back


def test_intermittent_demand_gets_a_croston_method(result):
    row = _row(result, "intermittent")
    assert row["demand_class"] in ("intermittent", "lumpy")
    assert row["adi"] > 1.32
    assert row["model"] in ("croston_sba", "tsb")
    assert row["selected_by"] == "backtest"
    assert np.isfinite(row["mase_croston_sba"])
    assert np.isfinite(row["mase_tsb"])


def test_a_seasonal_peak_is_not_a_spike():
    y = np.tile([10.0] * 11 + [200.0], 4)  # December twenty times the median, every year
    fc, sel = forecast(_frame("peak", y), 12, n_jobs=1, return_selection=True)
    assert sel.loc[0, "spikes_replaced"] == 0
    assert fc["yhat"].max() == pytest.approx(200)


def test_a_steep_trend_is_not_a_spike():
    y = 10 * 1.12 ** np.arange(48)  # grows 200-fold: late months are far above the median
    sel = forecast(_frame("growth", y), 6, n_jobs=1, return_selection=True).selection
    assert sel.loc[0, "spikes_replaced"] == 0


def test_a_failing_model_is_recorded_and_cannot_win(monkeypatch):
    """A candidate that raises is named in the reason; the others still compete."""
    import sopkit.demand.engine as engine

    real = engine._make

    def broken(name, m):
        if name == "theta":
            raise RuntimeError("boom")
        return real(name, m)

    monkeypatch.setattr(engine, "_make", broken)
    y = 100 + 30 * np.sin(2 * np.pi * np.arange(40) / 12)
    sel = forecast(_frame("x", y), 6, n_jobs=1, return_selection=True).selection
    assert "theta failed in the backtest (boom)" in sel.loc[0, "reason"]
    assert "theta" not in sel.loc[0, "model"]
    assert np.isnan(sel.loc[0, "mase_theta"])


# --------------------------------------------------------------------------- references


def test_seasonal_naive_matches_the_hand_computed_fpp3_forecast():
    """Hyndman & Athanasopoulos, FPP3 section 5.5: yhat = same month last year; sigma the
    root mean square of the seasonal differences, sigma_h = sigma * sqrt(k + 1) with
    k = floor((h - 1) / 12); bounds yhat -/+ z sigma_h."""
    rng = np.random.default_rng(3)
    y = np.round(100 + 20 * np.sin(np.arange(40) * 2 * np.pi / 12) + rng.normal(0, 5, 40))
    fc = forecast(_frame("a", y), 15, models=["seasonal_naive"], n_jobs=1, calibrate=False)
    expected = np.r_[y[-12:], y[-12:-9]]
    resid = y[12:] - y[:-12]
    sigma_h = np.sqrt(np.mean(resid**2)) * np.sqrt(np.arange(15) // 12 + 1)
    assert np.allclose(fc["yhat"], expected)
    for level in (80, 95):
        z = NormalDist().inv_cdf(0.5 + level / 200)
        assert np.allclose(fc[f"yhat_lo_{level}"], expected - z * sigma_h)
        assert np.allclose(fc[f"yhat_hi_{level}"], expected + z * sigma_h)


def test_croston_sba_matches_the_hand_computed_forecast():
    """Croston (1972) with the Syntetos & Boylan (2005) correction: SES (alpha 0.1, started
    at the first value) of the demand sizes over SES of the intervals between demands,
    times 1 - alpha / 2. Sizes 6, 4, 8, 5; intervals 3, 4, 2, 5 (months since the previous
    demand, the first counted from the start)."""

    def ses(x, alpha=0.1):
        level = x[0]
        for value in x[1:]:
            level = alpha * value + (1 - alpha) * level
        return level

    y = np.array([0, 0, 6, 0, 0, 0, 4, 0, 8, 0, 0, 0, 0, 5, 0, 0], dtype=float)
    fc, sel = forecast(_frame("a", y), 4, n_jobs=1, return_selection=True)
    expected = 0.95 * ses([6, 4, 8, 5]) / ses([3, 4, 2, 5])
    assert expected == pytest.approx(1.7618614854)
    assert sel.loc[0, "model"] == "croston_sba"
    assert np.allclose(fc["yhat"], expected)
    # no interval of its own: history's quantiles scaled to the forecast
    q = np.quantile(y, [0.1, 0.9]) * expected / y.mean()
    assert np.allclose(fc["yhat_lo_80"], q[0])
    assert np.allclose(fc["yhat_hi_80"], q[1])


def test_a_combination_is_the_mean_of_its_members():
    rng = np.random.default_rng(5)
    y = 80 + 2 * np.arange(40) + 15 * np.sin(2 * np.pi * np.arange(40) / 12) + rng.normal(0, 3, 40)
    history = _frame("a", y)
    options = {"n_jobs": 1, "calibrate": False}  # each run would calibrate on its own scores
    members = [forecast(history, 6, models=[m], **options) for m in ("ets", "theta", "arima")]
    combo = forecast(history, 6, models=["ets+theta+arima"], **options)
    assert (combo["model"] == "ets+theta+arima").all()
    for col in FORECAST_COLUMNS[2:7]:
        mean = np.mean([m[col].to_numpy() for m in members], axis=0)
        assert np.allclose(combo[col], np.maximum(mean, 0), rtol=1e-6), col


# --------------------------------------------------------------------------- intervals


class _Overconfident:
    """Seasonal naive whose intervals are half as wide as its own: a model that is wrong
    about its uncertainty by a known factor."""

    def __init__(self, m):
        from statsforecast.models import SeasonalNaive

        self.model = SeasonalNaive(season_length=m)

    def fit(self, y):
        self.model.fit(y)
        return self

    @staticmethod
    def _halve(out):
        mean = out["mean"]
        return {k: v if k == "mean" else mean + (v - mean) / 2 for k, v in out.items()}

    def predict(self, h, level=None):
        return self._halve(self.model.predict(h, level=level))

    def forward(self, y, h, level=None):
        return self._halve(self.model.forward(y, h, level=level))


def _noise_panel(n_series: int, n_months: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Gaussian noise (sd 10) around a level of 100: history and the next 12 months."""
    rng = np.random.default_rng(seed)
    y = 100 + rng.normal(0, 10, (n_series, n_months + 12))
    history = pd.concat(
        [_frame(f"s{i:03d}", row[:n_months]) for i, row in enumerate(y)], ignore_index=True
    )
    return history, y[:, n_months:]


def _coverage(fc: pd.DataFrame, future: np.ndarray, level: int) -> float:
    lo = fc[f"yhat_lo_{level}"].to_numpy().reshape(future.shape)
    hi = fc[f"yhat_hi_{level}"].to_numpy().reshape(future.shape)
    return 100 * float(np.mean((future >= lo) & (future <= hi)))


def test_calibration_restores_the_coverage_of_overconfident_intervals(monkeypatch):
    """Seasonal naive on white noise: its error y[t] - y[t-12] has sd 10 sqrt(2), so the
    right 80 % and 95 % half-widths are 1.2816 x 14.142 = 18.12 and 1.96 x 14.142 = 27.72.
    The model below claims half of its own; the backtest errors show it, and the
    calibrated intervals are back near the right widths and cover new months at close
    to the nominal rates (about 2,400 new months)."""
    import sopkit.demand.engine as engine

    real = engine._make
    monkeypatch.setattr(
        engine,
        "_make",
        lambda name, m: _Overconfident(m) if name == "seasonal_naive" else real(name, m),
    )
    history, future = _noise_panel(200, 60, seed=12)
    options = {"models": ["seasonal_naive"], "n_jobs": 1}
    own = forecast(history, 12, calibrate=False, **options)
    calibrated = forecast(history, 12, **options)
    right = {80: 1.2815515655446004 * 10 * np.sqrt(2), 95: 1.959963984540054 * 10 * np.sqrt(2)}
    for level, tolerance in ((80, 4.0), (95, 2.5)):
        half = (calibrated[f"yhat_hi_{level}"] - calibrated["yhat"]).median()
        assert half == pytest.approx(right[level], rel=0.1), level
        assert (own[f"yhat_hi_{level}"] - own["yhat"]).median() < 0.6 * right[level]
        assert _coverage(own, future, level) < level - 15
        assert abs(_coverage(calibrated, future, level) - level) < tolerance, level
    pd.testing.assert_series_equal(calibrated["yhat"], own["yhat"])  # only bounds change


class _Low(_Overconfident):
    """Seasonal naive, forecast and bounds 10 lower: its errors lean above its forecast."""

    @staticmethod
    def _halve(out):
        return {k: v - 10.0 for k, v in out.items()}


def _misses(fc: pd.DataFrame, future: np.ndarray, level: int) -> tuple[float, float]:
    """Percent of new months below the lower and above the upper bound."""
    lo = fc[f"yhat_lo_{level}"].to_numpy().reshape(future.shape)
    hi = fc[f"yhat_hi_{level}"].to_numpy().reshape(future.shape)
    return 100 * float(np.mean(future < lo)), 100 * float(np.mean(future > hi))


def test_calibrating_each_side_balances_the_misses_of_a_biased_model(monkeypatch):
    """A forecast 10 below seasonal naive's (error sd 14.1): with one factor for both
    sides, the 80 % interval misses far more often above than below; with a factor per
    side each misses about 10 % of about 2,400 new months, and the forecast is the same."""
    import sopkit.demand.engine as engine

    real = engine._make
    monkeypatch.setattr(
        engine, "_make", lambda name, m: _Low(m) if name == "seasonal_naive" else real(name, m)
    )
    history, future = _noise_panel(200, 60, seed=12)
    options = {"models": ["seasonal_naive"], "n_jobs": 1}
    one = forecast(history, 12, **options)
    two = forecast(history, 12, calibrate_sides=True, **options)
    below, above = _misses(one, future, 80)
    assert above > 2 * below
    for level, tolerance in ((80, 3.0), (95, 1.5)):
        below, above = _misses(two, future, level)
        tail = (100 - level) / 2
        assert abs(below - tail) < tolerance, (level, below)
        assert abs(above - tail) < tolerance, (level, above)
    pd.testing.assert_series_equal(two["yhat"], one["yhat"])


def test_side_factors_are_conformal_quantiles_of_each_tail():
    """Signed scores -0.99 ... 1.00 on the lower side and 0.01 ... 2.00 on the upper: with
    n = 200 and a tail of 10 % each (80 %), the factor is the ceil(201 x 0.9) = 181st
    smallest, 0.81 below and 1.81 above; 97.5 % for 95 %: the 196th, 0.96 and 1.96."""
    import sopkit.demand.engine as engine

    cfg = engine._config(12, 12, ["ets"], ["tsb"], 3, 12, None, False, None)
    base = np.tile(np.arange(1, 201)[:, None] / 100, (1, 12))  # (windows, months)
    scores = {f"lo-{lv}": base - 1.0 for lv in (80, 95)} | {f"hi-{lv}": base for lv in (80, 95)}
    rows = [{"native_intervals": True, "calibration_scores": [scores]}]
    factors = engine._interval_factors(rows, cfg, sides=True)
    assert factors[80][0] == pytest.approx(np.full(12, 0.81))
    assert factors[80][1] == pytest.approx(np.full(12, 1.81))
    assert factors[95][0] == pytest.approx(np.full(12, 0.96))
    assert factors[95][1] == pytest.approx(np.full(12, 1.96))
    # forecast 1, every interval [0, 2]: the lower half-width halved, the upper doubled
    bounds = {
        f"{side}-{lv}": np.full(2, v) for lv in (80, 95) for side, v in (("lo", 0), ("hi", 2))
    }
    pair = (np.full(2, 0.5), np.full(2, 2.0))
    widened = engine._widen({"mean": np.ones(2), **bounds}, {80: pair, 95: pair})
    assert widened["lo-80"] == pytest.approx([0.5, 0.5])
    assert widened["hi-95"] == pytest.approx([3.0, 3.0])


@pytest.mark.slow
def test_calibration_keeps_intervals_that_were_right():
    """The engine's own candidates on white noise: their intervals are about right, and
    calibrated they still cover new months at close to the nominal rates."""
    history, future = _noise_panel(60, 60, seed=5)
    fc = forecast(history, 12, n_jobs=2)  # both cores: the same forecasts, in half the time
    assert abs(_coverage(fc, future, 80) - 80) < 5
    assert abs(_coverage(fc, future, 95) - 95) < 3


def test_calibrated_bounds_stay_nested_and_not_negative():
    """Low counts with wide intervals: widened lower bounds are clipped at 0."""
    rng = np.random.default_rng(8)
    history = pd.concat(
        [_frame(f"s{i}", np.maximum(3 + rng.normal(0, 2, 48), 0.5)) for i in range(8)],
        ignore_index=True,
    )
    fc = forecast(history, 12, n_jobs=1)
    values = fc[["yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"]].to_numpy()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= 0).all()
    assert (fc["yhat_lo_95"] == 0).any()


def test_interval_factors_are_split_conformal_quantiles():
    """Scores 0.01 ... 1.00 at every backtest month: with n = 100, the 80 % factor is the
    ceil(101 x 0.8) = 81st smallest (0.81) and the 95 % one the 96th (0.96); forecast
    months past the backtest horizon take the last month's. Fewer than 30 scores in a
    month: the months are pooled."""
    import sopkit.demand.engine as engine

    cfg = engine._config(18, 12, ["ets"], ["tsb"], 3, 12, None, False, None)
    scores = np.tile(np.arange(1, 101)[:, None] / 100, (1, 12))  # (windows, months)
    rows = [
        {"native_intervals": True, "calibration_scores": [{80: scores, 95: scores}]},
        {"native_intervals": False, "calibration_scores": [{80: scores * 9, 95: scores * 9}]},
    ]
    factors = engine._interval_factors(rows, cfg)
    assert factors[80] == pytest.approx(np.full(18, 0.81))
    assert factors[95] == pytest.approx(np.full(18, 0.96))
    few = np.arange(1, 13)[None, :] * np.ones((3, 1)) / 10  # 3 a month: 36 pooled
    rows = [{"native_intervals": True, "calibration_scores": [{80: few, 95: few}]}]
    # ceil(37 x 0.8) = 30th of 0.1 x (1, 1, 1, 2, 2, 2, ..., 12, 12, 12): 1.0
    assert engine._interval_factors(rows, cfg)[80] == pytest.approx(np.full(18, 1.0))
    assert engine._interval_factors([], cfg)[95] == pytest.approx(np.ones(18))


def test_combine_weighs_the_single_models_by_their_backtest_error():
    """The weights are 1 / MAE, normalised; MAE / MASE is the same scale for every model
    of a series, so the weights follow from the selection's MASE columns."""
    rng = np.random.default_rng(5)
    y = 80 + 2 * np.arange(40) + 15 * np.sin(2 * np.pi * np.arange(40) / 12) + rng.normal(0, 3, 40)
    history = _frame("a", y)
    singles = ("seasonal_naive", "ets", "theta", "arima")
    fc, sel = forecast(history, 6, n_jobs=1, combine=True, calibrate=False, return_selection=True)
    assert (fc["model"] == "weighted").all()
    assert sel.loc[0, "model"] == "weighted"
    assert "4 single models weighted by 1 / backtest MAE" in sel.loc[0, "reason"]
    inverse = np.array([1 / sel.loc[0, f"mase_{m}"] for m in singles])
    weights = inverse / inverse.sum()
    parts = [forecast(history, 6, models=[m], n_jobs=1, calibrate=False) for m in singles]
    for col in ("yhat", "yhat_lo_80", "yhat_hi_95"):
        expected = sum(w * p[col].to_numpy() for w, p in zip(weights, parts, strict=True))
        assert np.allclose(fc[col], np.maximum(expected, 0), rtol=1e-6), col
    for m, w in zip(singles, weights, strict=True):
        assert f"{m} {w:.2f}" in sel.loc[0, "reason"]


# --------------------------------------------------------------------------- running


def test_two_processes_give_the_same_result_as_one(panel, result):
    two = forecast(panel, H, n_jobs=2, return_selection=True)
    pd.testing.assert_frame_equal(two.forecast, result.forecast)
    pd.testing.assert_frame_equal(two.selection, result.selection)


def test_an_executor_can_run_the_work(panel):
    small = panel[panel["unique_id"].isin(["seasonal", "trend_season", "short15", "zero"])]
    with ThreadPoolExecutor(2) as pool:
        fc = forecast(small, H, executor=pool, n_jobs=2)
    # the same panel in this process (intervals are calibrated on the panel's backtests)
    pd.testing.assert_frame_equal(fc, forecast(small, H, n_jobs=1))


def test_the_progress_bar_goes_to_stderr(panel, capsys):
    forecast(panel[panel["unique_id"] == "short5"], 3, n_jobs=1, progress=True)
    assert "forecast" in capsys.readouterr().err


@pytest.mark.slow
def test_pmdarima_auto_arima_can_be_a_candidate():
    """pmdarima is slow (seconds a series): one series, one backtest window."""
    rng = np.random.default_rng(11)
    t = np.arange(60)
    y = 100 + t + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 3, 60)
    fc, sel = forecast(
        _frame("a", y), 6, models=["seasonal_naive", "pmdarima"], n_windows=1, n_jobs=1,
        return_selection=True,
    )  # fmt: skip
    assert np.isfinite(sel.loc[0, "mase_pmdarima"])
    assert "failed" not in sel.loc[0, "reason"]
    assert sel.loc[0, "model"] in ("seasonal_naive", "pmdarima")
    assert np.isfinite(fc[list(FORECAST_COLUMNS[2:7])].to_numpy()).all()


# --------------------------------------------------------------------------- bad input


def _good() -> pd.DataFrame:
    return pd.concat([_frame("a", [5, 6, 7, 8]), _frame("b", [1, 2, 3])], ignore_index=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.assign(y=d["y"].where(d.index != 2, -4.0)), r"y is negative in 1 row\(s\): row 2 \(unique_id 'a', ds 2023-01-01, y -4.0\)"),
        (lambda d: d.assign(y=d["y"].where(d.index != 1)), r"y is missing in 1 row\(s\): row 1"),
        (lambda d: d.assign(y=d["y"].where(d.index != 5, np.inf)), r"y is infinite in 1 row\(s\): row 5"),
        (lambda d: d.assign(y=d["y"].astype(object).where(d.index != 0, "many")), "y is not a number in 1 row"),
        (lambda d: pd.concat([d, d.iloc[[4]]], ignore_index=True), r"the same unique_id and month appear more than once in 2 row\(s\): row 4 .*; row 7"),
        (lambda d: d.assign(ds=d["ds"].where(d.index != 3, pd.Timestamp("2023-02-15"))), r"ds is not the first day of a month \(at midnight\) in 1 row\(s\): row 3"),
        (lambda d: d.assign(ds=d["ds"].astype(object).where(d.index != 3, "soon")), "ds is not a date in 1 row"),
        (lambda d: d.assign(unique_id=d["unique_id"].where(d.index != 0)), "unique_id is missing in 1 row"),
        (lambda d: d.drop(columns="y"), "table history is missing column"),
        (lambda d: d.iloc[:0], "history has no rows"),
        (lambda d: d.assign(ds=np.arange(len(d))), "ds holds numbers, not dates"),
    ],
)  # fmt: skip
def test_bad_history_is_refused_with_the_rows_named(change, message):
    with pytest.raises(SopError, match=message):
        forecast(change(_good()), 3, n_jobs=1)


def test_every_problem_is_reported_at_once():
    bad = _good()
    bad.loc[0, "y"] = -1.0
    bad.loc[5, "y"] = np.nan
    bad.loc[3, "ds"] = pd.Timestamp("2023-02-15")
    with pytest.raises(SopError) as info:
        forecast(bad, 3, n_jobs=1)
    text = str(info.value)
    assert "3 kind(s) of problem" in text
    for part in ("y is negative", "y is missing", "not the first day of a month"):
        assert part in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"horizon": 0}, "horizon must be a whole number of months, 1 or more"),
        ({"season_length": 1.5}, "season_length must be a whole number"),
        ({"models": ["prophet"]}, r"models: unknown model\(s\) 'prophet'"),
        ({"models": ["ets+magic"]}, r"unknown model\(s\) 'ets\+magic'"),
        ({"models": []}, "models must name at least one model"),
        ({"models": ["ets", "ets"]}, "'ets' named twice"),
        ({"intermittent_models": ["tsb", "nope"]}, "intermittent_models: unknown"),
        ({"n_windows": 0}, "n_windows must be a whole number"),
        ({"spike_factor": 0.5}, "spike_factor must be a number above 1"),
        ({"n_jobs": 0}, "n_jobs must be a whole number"),
        ({"refit": "yes"}, "refit must be True or False"),
        ({"combine": 1}, "combine must be True or False"),
        ({"combine_power": 0}, "combine_power must be a number above 0"),
        ({"combine_power": float("inf")}, "combine_power must be a number above 0"),
        ({"combine_metric": "rmse"}, "combine_metric must be one of 'mae', 'mape'"),
        ({"calibrate": None}, "calibrate must be True or False"),
    ],
)
def test_bad_options_are_refused(options, message):
    kwargs = {"horizon": 3, **options}
    with pytest.raises(SopError, match=message):
        forecast(_good(), **kwargs)


def test_return_fitted_gives_each_models_in_sample_fit_and_residuals():
    months = pd.date_range("2022-01-01", periods=40, freq="MS")
    rng = np.random.default_rng(1)
    wave = 100 + 10 * np.sin(np.arange(40)) + rng.normal(0, 2, 40)
    history = pd.concat(
        [
            pd.DataFrame({"unique_id": "wave", "ds": months, "y": wave}),
            pd.DataFrame({"unique_id": "zero", "ds": months[:10], "y": 0.0}),
            pd.DataFrame({"unique_id": "short", "ds": months[:5], "y": [1, 2, 3, 4, 5.0]}),
        ]
    )
    models = ["ets+theta"]
    out = forecast(history, 6, n_jobs=1, models=models, return_fitted=True)
    fit = out.fitted.set_index("unique_id")
    assert list(out.fitted.columns) == ["unique_id", "ds", "y", "modelled", "fitted", "residual"]
    assert len(out.fitted) == 40 + 10 + 5
    # the mean fallback fits each month by the mean of the (at most) 3 months before
    assert fit.loc["short", "fitted"].to_numpy() == pytest.approx(
        [np.nan, 1, 1.5, 2, 3], nan_ok=True
    )
    assert (fit.loc["zero", "fitted"] == 0).all()
    # a combination fits by the mean of its members' fits
    from statsforecast.models import AutoETS, AutoTheta

    members = [AutoETS(season_length=12).fit(wave), AutoTheta(season_length=12).fit(wave)]
    mean = np.mean([m.predict_in_sample()["fitted"] for m in members], axis=0)
    assert out.selection.set_index("unique_id").loc["wave", "model"] == "ets+theta"
    assert fit.loc["wave", "fitted"].to_numpy() == pytest.approx(mean, rel=1e-6)
    assert (
        (out.fitted["residual"] == out.fitted["y"] - out.fitted["fitted"])
        .where(out.fitted["fitted"].notna(), True)
        .all()
    )
    # the forecast itself is the one without return_fitted
    pd.testing.assert_frame_equal(out.forecast, forecast(history, 6, n_jobs=1, models=models))


def test_residuals_are_those_of_the_series_as_modelled_so_a_typo_is_not_an_error():
    months = pd.date_range("2022-01-01", periods=36, freq="MS")
    y = 100 + 10 * np.sin(np.arange(36) * 2 * np.pi / 12)
    typo = y.copy()
    typo[30] *= 100  # one month keyed in with two zeros too many
    history = pd.DataFrame({"unique_id": "s", "ds": months, "y": typo})
    out = forecast(history, 6, n_jobs=1, models=["seasonal_naive"], return_fitted=True)
    fit = out.fitted
    assert out.selection.loc[0, "spikes_replaced"] == 1
    assert fit["y"].iloc[30] == typo[30]
    # the spike is replaced by the mean of its neighbours, and the residual is of that
    assert fit["modelled"].iloc[30] == pytest.approx((y[29] + y[31]) / 2)
    assert fit["residual"].iloc[30] == pytest.approx((y[29] + y[31]) / 2 - y[18])
    assert fit["residual"].abs().max() < 10
    # seasonal naive fits each month by the same month a year before
    assert fit["fitted"].iloc[12:].to_numpy() == pytest.approx(fit["modelled"].iloc[:24])


# --------------------------------------------------------------------------- log models


def _multiplicative(n: int = 60, seed: int = 11) -> np.ndarray:
    """Growth times a season times noise: a series whose logarithm is additive."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    season = 1 + 0.4 * np.sin(2 * np.pi * t / 12)
    return 100 * 1.01**t * season * np.exp(rng.normal(0, 0.05, n))


def test_ets_log_is_autoets_on_the_logarithm_exponentiated_back():
    """Forecast and bounds are exp of those of the same ETS form fitted to log(y)."""
    from statsforecast.models import AutoETS

    y = _multiplicative()
    fc, sel = forecast(
        _frame("a", y), 8, models=["ets_log"], n_jobs=1, calibrate=False, return_selection=True
    )
    assert sel.loc[0, "model"] == "ets_log"
    form = json.loads(sel.loc[0, "form"])["ets_log"]
    ets = AutoETS(season_length=12, model=form[:3], damped=form[3] == "D").fit(np.log(y))
    expected = ets.predict(8, level=[80, 95])
    for col, key in (("yhat", "mean"), ("yhat_lo_80", "lo-80"), ("yhat_hi_95", "hi-95")):
        assert np.allclose(fc[col], np.exp(expected[key]), rtol=1e-6), col
    # exp of the log bounds: asymmetric, wider above the forecast than below
    assert ((fc["yhat_hi_95"] - fc["yhat"]) > (fc["yhat"] - fc["yhat_lo_95"])).all()


def test_a_log_model_fits_a_series_with_zeros_on_the_raw_scale_and_says_so():
    y = _multiplicative()
    y[20] = 0.0  # a month without sales: no logarithm
    history = _frame("a", y)
    options = {"n_jobs": 1, "calibrate": False, "spike_factor": None}
    fc, sel = forecast(history, 8, models=["ets_log"], return_selection=True, **options)
    raw = forecast(history, 8, models=["ets"], **options)
    assert "ets_log fitted on the raw scale" in sel.loc[0, "reason"]
    for col in FORECAST_COLUMNS[2:7]:
        assert np.allclose(fc[col], raw[col]), col


def test_a_log_models_forecast_and_bounds_are_capped():
    """exp of a steep log trend explodes; the cap is _LOG_CAP times the largest month."""
    import sopkit.demand.engine as engine

    class Steep:
        def fit(self, y):
            self.last_ = y[-1]
            return self

        def predict(self, h, level=None):
            return {"mean": self.last_ + 3.0 * np.arange(1, h + 1)}

    y = np.array([1.0, 2.0, 4.0, 8.0])
    out = engine._Log(Steep()).fit(y).predict(4)["mean"]
    # exp(log 8 + 3) = 160.7 is above 10 x 8; the later months are far above
    assert out == pytest.approx(np.full(4, engine._LOG_CAP * 8.0))
    assert np.exp(3.0) > engine._LOG_CAP  # so even the first month is capped


# --------------------------------------------------------------------------- diverged ARIMA

# Two seasonal series (100 + 30 sin(2 pi t / 12) + N(0, 3) noise, seeds 0 and 5, rounded)
# on which statsforecast's ARIMA, given these orders, estimates a non-stationary or
# non-invertible model: the forecast's bounds, or the in-sample fit, are not finite.
_DIVERGES_IN_FORECAST = [
    105.4, 118.9, 127.1, 126.4, 126.0, 117.0, 96.1, 86.2, 75.3, 72.1, 70.5, 83.0,
    98.7, 111.5, 131.2, 128.5, 127.0, 114.2, 104.8, 89.0, 75.9, 63.4, 74.2, 87.1,
    103.0, 113.1, 131.4, 126.0, 124.0, 117.8, 100.1, 91.0, 74.6, 68.1, 72.9, 81.7,
    96.2, 116.9, 127.7, 133.9, 123.7, 120.1, 99.1, 89.7, 72.7, 67.8, 74.8, 88.1,
]  # fmt: skip
_DIVERGES_IN_SAMPLE = [
    97.6, 111.0, 125.2, 131.3, 129.4, 115.3, 98.3, 82.6, 76.3, 74.9, 74.8, 81.3,
    97.1, 119.8, 126.6, 124.8, 125.7, 111.5, 98.1, 83.5, 71.9, 71.7, 73.8, 83.2,
    101.2, 117.5, 121.1, 129.2, 123.0, 114.5, 96.1, 85.1, 73.9, 69.1, 70.9, 83.8,
    96.7, 110.9, 126.7, 126.7, 129.5, 117.1, 94.0, 85.8, 70.7, 70.1, 74.2, 79.0,
]  # fmt: skip


@pytest.mark.parametrize(
    ("y", "form", "what"),
    [
        (_DIVERGES_IN_FORECAST, [2, 1, 0, 2, 1, 1, False, False], "forecast not finite"),
        (_DIVERGES_IN_SAMPLE, [1, 1, 1, 2, 1, 0, False, False], "in-sample fit not finite"),
    ],
)
def test_a_kept_arima_form_that_diverges_is_searched_again_with_a_note(y, form, what):
    """The M13 case of Tourism monthly in small: a form found on part of a series (or kept
    by a warm start) re-estimated on all of it diverges; a new search replaces it."""
    import sopkit.demand.engine as engine

    y = np.asarray(y)
    cfg = engine._config(12, 12, ["arima"], INTERMITTENT_MODELS, 3, None, None, False, 5.0)
    # the form as such does diverge on this series
    model = engine._from_form("arima", form, 12).fit(y)
    diverged = model.predict(12, level=[80, 95]) | model.predict_in_sample()
    assert not all(np.isfinite(v).all() for v in diverged.values())

    out, new_form, note = engine._final_single("arima", y, cfg, engine._KeptForm(form))
    assert new_form != form
    expected = f"arima's form {json.dumps(form)} diverged on the whole history ({what})"
    assert note == f"{expected}: searched again"
    for key in ("mean", "lo-95", "hi-95", "fitted"):
        assert np.isfinite(out[key]).all(), key
    assert out["mean"].min() > 50  # within the season's range
    assert out["mean"].max() < 150
    # a form that fits stays, without a note
    _, kept, note = engine._final_single("arima", y, cfg, engine._KeptForm(new_form))
    assert (kept, note) == (new_form, "")


# --------------------------------------------------------------------------- combination


def _hand_backtest(y: np.ndarray, h: int = 6) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Actuals and the seasonal naive and mean-of-3 forecasts at the engine's three origins
    (backtest horizon 6 for a 6-month forecast, origins a month apart, the last 6 months
    before the end)."""
    origins = [len(y) - h - 2, len(y) - h - 1, len(y) - h]
    actual = np.vstack([y[o : o + h] for o in origins])
    snaive = np.vstack([y[o - 12 : o - 12 + h] for o in origins])
    mean3 = np.vstack([np.full(h, y[o - 3 : o].mean()) for o in origins])
    return actual, {"seasonal_naive": snaive, "mean_fallback": mean3}


@pytest.mark.parametrize(("metric", "power"), [("mape", 1.0), ("mape", 2.0), ("mae", 2.0)])
def test_combine_weighs_by_the_chosen_backtest_error_to_the_chosen_power(metric, power):
    """Weights 1 / error^power, normalised, worked by hand from the two models' backtest
    forecasts; the series swings from about 40 to 160, so MAPE and MAE weigh differently."""
    t = np.arange(40)
    noise = np.random.default_rng(0).normal(0, 20, 40)
    y = np.round(100 + 40 * np.sin(2 * np.pi * t / 12) + noise, 1)
    actual, bt = _hand_backtest(y)
    errors = {
        "mape": {m: np.mean(np.abs(actual - f) / actual) for m, f in bt.items()},
        "mae": {m: np.mean(np.abs(actual - f)) for m, f in bt.items()},
    }
    inverse = {m: e**-power for m, e in errors[metric].items()}
    weights = {m: v / sum(inverse.values()) for m, v in inverse.items()}
    other = errors["mae" if metric == "mape" else "mape"]
    other_share = other["seasonal_naive"] ** -power / sum(e**-power for e in other.values())
    assert abs(weights["seasonal_naive"] - other_share) > 0.02  # the metric matters here

    fc, sel = forecast(
        _frame("a", y),
        6,
        models=["seasonal_naive", "mean_fallback"],
        combine=True,
        combine_metric=metric,
        combine_power=power,
        calibrate=False,
        n_jobs=1,
        return_selection=True,
    )
    expected = weights["seasonal_naive"] * y[-12:-6] + weights["mean_fallback"] * y[-3:].mean()
    assert np.allclose(fc["yhat"], expected, rtol=1e-9)
    by = f"1 / backtest {metric.upper()}" + ("^2" if power == 2 else "")
    assert f"2 single models weighted by {by} (" in sel.loc[0, "reason"]


def test_mape_weights_fall_back_to_mae_where_the_backtest_months_are_all_0():
    """MAPE is undefined without a month above 0: the weights are 1 / MAE, and it is said."""
    y = 100 + 40 * np.sin(2 * np.pi * np.arange(40) / 12)
    y[-8:] = 0.0  # every backtest month (the last 8) without demand; still smooth demand
    sel = forecast(
        _frame("a", y),
        6,
        models=["seasonal_naive", "mean_fallback"],
        combine=True,
        combine_metric="mape",
        calibrate=False,
        n_jobs=1,
        return_selection=True,
    ).selection
    reason = sel.loc[0, "reason"]
    assert "weighted by MAE: every backtest month was 0, so MAPE is undefined" in reason
    assert sel.loc[0, "demand_class"] == "smooth"
    assert "2 single models weighted by 1 / backtest MAE (" in reason


def _die(chunk, cfg):  # a worker that goes away mid-run (killed, out of memory)
    import os

    os._exit(1)


def test_a_worker_that_dies_mid_run_is_said_not_a_bare_error(monkeypatch):
    import sopkit.demand.engine as engine

    months = pd.date_range("2022-01-01", periods=30, freq="MS")
    history = pd.concat(
        [pd.DataFrame({"unique_id": f"s{i}", "ds": months, "y": 10.0 + i}) for i in range(4)]
    )
    monkeypatch.setattr(engine, "_run_chunk", _die)
    with pytest.raises(SopError, match=r"the forecast stopped: a worker process went away"):
        forecast(history, 3, n_jobs=2)


def test_the_speedups_fit_the_same_models_to_the_last_bit():
    """statsforecast's AutoARIMA, AutoETS and AutoTheta on 8 monthly series (seasonal,
    trending, noisy, 40 months), plain and within sopkit.demand._speedups (ARIMA's lean
    gradient, the interval quantiles built once): the same orders, coefficients,
    forecasts and bounds, bit for bit; and outside the block statsforecast's own again."""
    import statsforecast.arima as sf_arima
    import statsforecast.distributions as sf_dist
    from scipy import optimize
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    from sopkit.demand._speedups import statsforecast_speedups

    rng = np.random.default_rng(3)
    t = np.arange(40)
    series = [
        np.maximum(
            100 + k * t + 30 * np.sin(2 * np.pi * t / 12 + k) + rng.normal(0, 5 + 3 * k, 40), 0
        )
        for k in range(8)
    ]

    def fits():
        out = []
        for y in series:
            model = AutoARIMA(season_length=12, approximation=None).fit(y)
            out.append((model.model_["arma"], model.model_["coef"], model.predict(6, level=[80])))
            for other in (AutoETS(season_length=12), AutoTheta(season_length=12)):
                out.append((None, {}, other.fit(y).predict(6, level=[80, 95])))
        return out

    frozen = sf_dist.frozen_error_distribution
    plain = fits()
    with statsforecast_speedups():
        assert sf_arima.minimize is not optimize.minimize
        assert sf_dist.frozen_error_distribution is not frozen
        lean = fits()
    assert sf_arima.minimize is optimize.minimize
    assert sf_dist.frozen_error_distribution is frozen
    for (arma, coef, fc), (arma2, coef2, fc2) in zip(plain, lean, strict=True):
        assert arma == arma2
        assert coef.keys() == coef2.keys()
        for key in coef:
            assert np.array_equal(coef[key], coef2[key]), key
        assert fc.keys() == fc2.keys()
        for key in fc:
            assert np.array_equal(fc[key], fc2[key]), key
    # any other optimiser, or BFGS with a gradient, goes to scipy untouched
    from sopkit.demand._speedups import _minimize

    rosen = optimize.rosen
    for kwargs in ({"method": "Nelder-Mead"}, {"method": "BFGS", "jac": optimize.rosen_der}):
        got = _minimize(rosen, np.array([1.3, 0.7]), **kwargs)
        want = optimize.minimize(rosen, np.array([1.3, 0.7]), **kwargs)
        assert np.array_equal(got.x, want.x)
        assert got.nfev == want.nfev
