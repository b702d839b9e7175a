"""The demand forecasting engine: each series gets the model its own backtest finds best.

:func:`forecast` works on any monthly panel in the long format of statsforecast
(``unique_id``, ``ds``, ``y``). Candidate models are statsforecast's fast versions of the
classic methods (seasonal naive, ETS, Theta, ARIMA, Croston SBA, TSB), ETS on the
logarithm (``"ets_log"``), pmdarima's ``auto_arima`` by name, and mean combinations of
any of them (``"ets+theta+arima"``).
A rolling-origin backtest on each series' own history picks its model (or, with
``combine=True``, weighs the single models by their backtest accuracy); where no
backtest is possible, or the series is degenerate, a documented rule does. The
prediction intervals are the models' own, widened or narrowed so that the backtest
errors of the whole panel would have been covered at the nominal rate. The optional
selection table says, per series, which model won, by how much against seasonal naive,
and why a rule was used instead.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import (
    BrokenExecutor,
    CancelledError,
    Executor,
    ProcessPoolExecutor,
    as_completed,
)
from dataclasses import dataclass
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pandas as pd

from sopkit._checks import month_number, require_columns, whole_number
from sopkit.demand._common import FALLBACK_MONTHS, MEAN_FALLBACK, SEASONAL_NAIVE
from sopkit.errors import SopError

__all__ = [
    "ADI_THRESHOLD",
    "CV2_THRESHOLD",
    "DEFAULT_MODELS",
    "FORECAST_COLUMNS",
    "INTERMITTENT_MODELS",
    "LEVELS",
    "MODELS",
    "WEIGHTED",
    "FittedForecast",
    "ForecastResult",
    "forecast",
]

#: prediction-interval coverages of the output, in percent.
LEVELS = (80, 95)
FORECAST_COLUMNS = (
    "unique_id",
    "ds",
    "yhat",
    "yhat_lo_80",
    "yhat_hi_80",
    "yhat_lo_95",
    "yhat_hi_95",
    "model",
)
#: the single models a candidate may name; ``"a+b"`` names the mean combination of a and b.
MODELS: dict[str, str] = {
    SEASONAL_NAIVE: "seasonal naive: the same month of the last season (statsforecast)",
    "ets": "exponential smoothing, ETS chosen by AICc (statsforecast AutoETS)",
    "ets_nonseasonal": "exponential smoothing without season (AutoETS, season_length=1)",
    "theta": "Theta method, variant chosen by MSE (statsforecast AutoTheta)",
    "ets_log": "ETS fitted on log(y), forecast and bounds exponentiated back (AutoETS)",
    "arima": "ARIMA chosen by AICc, stepwise (statsforecast AutoARIMA)",
    "pmdarima": "ARIMA chosen by pmdarima's auto_arima (much slower: seconds a series)",
    "croston": "Croston's method, classic (statsforecast CrostonClassic)",
    "croston_sba": "Croston with the Syntetos-Boylan bias correction (statsforecast CrostonSBA)",
    "tsb": "Teunter-Syntetos-Babai, alpha_d = alpha_p = 0.1 (statsforecast TSB)",
    MEAN_FALLBACK: "mean of the last (at most 3) months",
}
#: the ``model`` of a series forecast by the weighted combination (``combine=True``).
WEIGHTED = "weighted"
#: candidates for smooth and erratic series, in order of preference on a tie.
DEFAULT_MODELS = (SEASONAL_NAIVE, "ets", "theta", "arima", "ets+theta+arima")
#: stage 2's candidates for the levels above SKU x region (``demand.level_models``)
DEFAULT_LEVEL_MODELS = (SEASONAL_NAIVE, "ets", "theta", "ets+theta")
#: candidates for intermittent and lumpy series; the first is the rule without a backtest.
INTERMITTENT_MODELS = ("croston_sba", "tsb")
#: Syntetos-Boylan-Croston classification: average demand interval above this is
#: intermittent (equivalently, more than 24.2 % of the months are 0).
ADI_THRESHOLD = 1.32
#: ... and a squared coefficient of variation of the non-zero sizes above this is erratic.
CV2_THRESHOLD = 0.49

# The rule for a series long enough to fit a season but too short for a backtest.
_RULE_COMBINATION = "ets+theta+arima"
# Non-seasonal ETS needs this many months (AutoETS refuses 6 or fewer as "tiny datasets").
_MIN_ETS_MONTHS = 7
# Smoothing weights of TSB (demand size, demand probability): statsforecast's TSB has no
# optimiser, and 0.1 is the weight its Croston methods fix for both of theirs.
_TSB_ALPHA = 0.1
# A forecast and its bounds, in statsforecast's names.
_BOUND_KEYS = ("mean", *(f"{side}-{lv}" for lv in LEVELS for side in ("lo", "hi")))
# Models whose own intervals are used; the others get the empirical spread (see forecast).
_NATIVE_INTERVALS = frozenset(
    {SEASONAL_NAIVE, "ets", "ets_nonseasonal", "ets_log", "theta", "arima", "pmdarima"}
)
# The log models cap their forecast and bounds at this multiple of the largest month they
# were fitted on: exponentiating a trend or a wide interval back can explode.
_LOG_CAP = 10.0
_LOG_MODELS = frozenset({"ets_log"})
# The backtest errors a weighted combination's weights can be inverse to.
_COMBINE_METRICS = ("mae", "mape")
# Models whose form is re-estimated on the whole history, and whose re-estimate is checked
# for a fit that diverged (an in-sample fit or forecast that is not finite).
_ARIMA_MODELS = frozenset({"arima", "pmdarima"})
# A spike is measured against the median of this many months centred on it.
_SPIKE_WINDOW = 13
# Backtest scores a forecast month needs for its own interval factor; with fewer, the
# factor pools all months of the backtest.
_MIN_CALIBRATION_SCORES = 30
# The progress bar appears by default from this many series on.
_PROGRESS_MIN_SERIES = 100


class ForecastResult(NamedTuple):
    """What :func:`forecast` returns with ``return_selection=True``.

    Attributes
    ----------
    forecast : pandas.DataFrame
        The forecast frame, columns :data:`FORECAST_COLUMNS`.
    selection : pandas.DataFrame
        One row per series: the model, how it was chosen, its backtest scores and why.
    """

    forecast: pd.DataFrame
    selection: pd.DataFrame


class FittedForecast(NamedTuple):
    """What :func:`forecast` returns with ``return_fitted=True``.

    Attributes
    ----------
    forecast, selection : pandas.DataFrame
        As in :class:`ForecastResult`.
    fitted : pandas.DataFrame
        The in-sample one-step-ahead fit of each series' model: unique_id, ds, y (the
        history, gaps filled with 0), modelled (y with spikes replaced, the series the
        model was fitted on), fitted (NaN where the model has none, such as seasonal
        naive's first season), residual (modelled - fitted).
    """

    forecast: pd.DataFrame
    selection: pd.DataFrame
    fitted: pd.DataFrame


@dataclass(frozen=True)
class _Config:
    horizon: int
    m: int
    models: tuple[str, ...]
    intermittent_models: tuple[str, ...]
    n_windows: int
    backtest_horizon: int
    step: int
    min_train: int
    refit: bool
    spike_factor: float | None
    reselect_after: int = 6
    tolerance: float = 0.10
    combine: bool = False
    combine_power: float = 1.0
    combine_metric: str = "mae"


# --------------------------------------------------------------------------- public API


def forecast(
    history: pd.DataFrame,
    horizon: int,
    season_length: int = 12,
    *,
    models: Sequence[str] = DEFAULT_MODELS,
    intermittent_models: Sequence[str] = INTERMITTENT_MODELS,
    n_windows: int = 3,
    backtest_horizon: int | None = None,
    step_size: int | None = None,
    refit: bool = False,
    spike_factor: float | None = 5.0,
    n_jobs: int | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    return_selection: bool = False,
    warm_start: pd.DataFrame | None = None,
    reselect_after: int = 6,
    tolerance: float = 0.10,
    combine: bool = False,
    combine_power: float = 1.0,
    combine_metric: str = "mae",
    calibrate: bool = True,
    calibrate_sides: bool = False,
    return_fitted: bool = False,
) -> pd.DataFrame | ForecastResult | FittedForecast:
    """Forecast every series of a monthly panel with the model its own backtest prefers.

    **Preparation.** Months missing inside a series (between its first and last row)
    are filled with 0 and counted (``gaps_filled``). Each series is classified as
    Syntetos, Boylan & Croston (2005) do, by its average demand interval ADI = months /
    non-zero months and the squared coefficient of variation CV² of its non-zero
    sizes: ADI > 1.32 is *intermittent* (CV² <= 0.49) or *lumpy*, otherwise *smooth* or
    *erratic*. In a smooth or erratic series, a month above ``spike_factor`` times the
    median of the 13 months centred on it is a spike, unless the same calendar month
    of another season is one too (a seasonal peak); a spike is replaced, for fitting
    and scoring, by the mean of its neighbouring months (``spikes_replaced``).

    **Selection by backtest.** Candidates are ``models`` for smooth and erratic series
    and ``intermittent_models`` for intermittent and lumpy ones. The backtest has
    ``n_windows`` (default 3) forecast origins ``step_size`` months apart (default a
    quarter of the backtest horizon, at least 1), the last one ``backtest_horizon``
    months before the end (default min(horizon, max(season_length, 6)), so 12 months for
    a monthly plan of a year or more). Each origin forecasts ``backtest_horizon``
    months; the first training window must hold ``min_train`` = max(2 x season_length,
    12) months, so a series has as many windows (up to ``n_windows``) as its length
    allows and none below min_train + backtest_horizon months (36 by default). With
    ``refit=False`` each model is searched and fitted once, at the first origin, and
    re-applied with the same parameters at the later ones (statsforecast's ``forward``,
    as in its ``cross_validation(refit=False)``), and for the forecast the winner's form
    (ETS components, ARIMA orders) is estimated again on the whole history (an ARIMA
    form whose estimate there diverges, its in-sample fit or its forecast not finite, is
    searched anew, and the reason says so); with ``refit=True`` every origin and the
    forecast search anew (slower). The score is the mean absolute error (MAE) of
    forecasts clipped at 0 over all windows and months; the lowest wins, a tie goes to
    the earlier candidate. The selection reports it as MASE (MAE over the in-sample
    seasonal naive MAE of the first training window, or the lag-1 naive MAE where that
    is 0) and as ``relative_mae``, the winner's MAE over seasonal naive's (below 1:
    better than seasonal naive; inf when seasonal naive was exact and the winner was
    not). Seasonal naive is always scored, as the benchmark, even where it is not a
    candidate.


    **Rules without a backtest**, in this order:

    - all months 0: model ``"zero"``, forecast and bounds 0;
    - every month equal (two or more months): model ``"constant"``, that value;
    - intermittent or lumpy, too short for a backtest: the first of
      ``intermittent_models`` (Croston SBA by default);
    - at least min_train months, too few for a backtest: ``"ets+theta+arima"``;
    - 7 months up to min_train: ``"ets_nonseasonal"`` (too short for a season);
    - fewer than 7 months: ``"mean_fallback"``, the mean of the last (at most) 3 months.

    A model that fails (too little data for its search, a numerical error) is recorded
    in ``reason`` and cannot win; if the winner fails on the whole history the next
    best is used, and if every candidate or the rule's model fails, the mean fallback.

    **Warm start.** With ``warm_start`` (an earlier run's selection table: unique_id,
    model, relative_mae and, optionally, age and form), a series chosen by backtest
    before keeps its model (a choice without a finite relative_mae, such as a rule's, is
    not kept): only that model and seasonal naive are backtested, which skips the
    other candidates. It is selected again from all candidates when its
    relative MAE now exceeds the earlier one by more than ``tolerance`` (0.10: ten
    points of seasonal naive's error), or is above 1 (worse than seasonal naive), or the
    choice is ``reselect_after`` runs old, or the model is no longer a candidate of the
    series' demand class, or it failed. ``selected_by`` says ``"warm start"`` for a
    kept choice.

    *Forms.* The selection's ``form`` records what the searches chose for the series
    (ETS components, ARIMA orders, as JSON), for every candidate searched, not only the
    winner. A warm start re-estimates these forms instead of searching again, in a kept
    model and in a new selection alike (a fraction of the cost: the search is most of a
    selection's time), and searches only a candidate without a form, or whose form no
    longer fits the history. A series forecast by a rule that gives the same model as
    before keeps that model's forms too. The selection's ``age`` counts the runs since
    the forms were searched (0: in this run); at ``reselect_after`` runs, every
    candidate is searched anew and the choice made again.

    **Weighted combination.** With ``combine=True``, a series with a backtest is
    forecast by the single models among its candidates (each name in ``models`` without
    a ``"+"``: seasonal naive, ETS, Theta and ARIMA by default) weighted by the inverse
    of their backtest error to the power ``combine_power`` (default 1; equal weights
    among models with an error of 0). The error is ``combine_metric``: ``"mae"``
    (default), or ``"mape"``, the mean of |error| / actual over the backtest months
    that are not 0 (forecasts clipped at 0), which weighs a model by the error of the
    measure a forecast is judged by when that is MAPE (where every backtest month is 0
    MAPE is undefined, and the MAE is used, as the reason notes). ``model`` is
    ``"weighted"``, the reason gives the weights, and ``mase`` and ``relative_mae`` are
    the weighted forecast's on the windows its weights were fitted to (optimistic). A
    member that fails is left out; if one fails on the whole history, the best single
    model is used instead. ``warm_start`` is not used with ``combine=True``. Measured
    on Tourism monthly and M1 monthly (``benchmarks/forecast.py``), it was more
    accurate than picking the best model on both, in MAPE, sMAPE and MASE; more so
    with ``models=("seasonal_naive", "ets_log", "theta", "arima")`` and
    ``combine_metric="mape"`` (the benchmark's ``engine-best``, whose docstring has the
    figures).

    **Log models.** ``"ets_log"`` is AutoETS fitted on log(y), its forecast and bounds
    exponentiated back: the forecast is then the median of a log-normal forecast
    distribution (what absolute and percentage errors reward) and the bounds are
    asymmetric, wider above. Both are capped at 10 times the largest month fitted on,
    since exponentiating a steep trend can explode. A series with a month of 0 has no
    logarithm: it is fitted on the raw scale, as ``"ets"`` (the reason says so).

    **Intervals.** ETS (also on the logarithm), Theta, ARIMA, pmdarima and seasonal
    naive give their own 80 % and 95 % intervals. Croston, SBA, TSB and the mean
    fallback have none: their bounds are the empirical quantiles of the series' history
    scaled to the forecast (quantile(y, q) x yhat / mean(y)), which for intermittent
    demand is the observed distribution of monthly demand with its mean moved to the
    forecast. A combination takes the mean (or the weighted mean) of its members'
    bounds, as it does of their forecasts.


    **Interval calibration** (``calibrate=True``, split-conformal in spirit). The
    models' own intervals assume the model is right, so they cover less than they
    say: on Tourism monthly and M1 monthly, the 80 % intervals covered 69 to 75 % of
    the actuals and the 95 % ones 84 to 88 %. Each backtest error is scored against
    the interval the same model gave at that origin: |error| over the half-width on
    the error's side (a score of at most 1 was covered). Scores are pooled over all
    series of the panel that have a backtest and a model with intervals of its own:
    the winner's and seasonal naive's (the winner's errors are the smallest of
    several by construction, so alone they understate its future errors; seasonal
    naive is scored on every series, chosen or not); with ``combine=True``, the
    weighted combination's own. For each level and backtest month, the factor is the
    ceil((n + 1) x level)-th smallest of its n scores (the months' scores pooled when
    a month has fewer than 30); forecast months beyond the backtest horizon take the
    last month's factor. Every such series' half-widths, on each side of the
    forecast, are multiplied by its level's factor for the month (above 1 widens,
    below 1 narrows). A series' intervals therefore depend on the panel it is
    forecast with; Croston, SBA, TSB, the mean fallback, and the "zero" and
    "constant" rules keep their bounds. ``calibrate=False`` keeps the models' own.

    With ``calibrate_sides=True`` the lower and the upper half-widths get factors of
    their own, each missing half of what the level allows (split-conformal with a
    quantile per tail): a side's score is the signed error towards it over its
    half-width (above 1: the actual fell beyond that bound), and its factor the
    ceil((n + 1) x (1 + level) / 2)-th smallest. Where a model's errors are skewed
    against its intervals (a forecast of the median, as ``"ets_log"`` gives, misses
    more often above), one factor for both sides makes one side too wide and the
    other too narrow. On Tourism monthly the weighted combination of the benchmark's
    ``engine-best`` covered 84.8 % with one factor (80 % nominal), 81.9 % with two.

    Finally forecasts and bounds are clipped at 0 (demand is not negative) and
    widened where needed so that 0 <= lo_95 <= lo_80 <= yhat <= hi_80 <= hi_95.

    Parameters
    ----------
    history : pandas.DataFrame
        Columns ``unique_id`` (the series), ``ds`` (first day of the month) and ``y``
        (demand, finite and >= 0); one row per series and month.
    horizon : int
        Months to forecast, from the month after each series' last row.
    season_length : int, default 12
        Months in a season (1 for no season).
    models : sequence of str, default :data:`DEFAULT_MODELS`
        Candidates for smooth and erratic series: names of :data:`MODELS`, or
        ``"+"``-joined names for their mean combination. Add ``"pmdarima"`` to try
        pmdarima's auto_arima (several seconds a series).
    intermittent_models : sequence of str, default :data:`INTERMITTENT_MODELS`
        Candidates for intermittent and lumpy series.
    n_windows : int, default 3
        Backtest origins per series (fewer when the series is short).
    backtest_horizon : int, optional
        Months forecast at each backtest origin; default min(horizon,
        max(season_length, 6)).
    step_size : int, optional
        Months between backtest origins; default max(1, backtest_horizon // 4).
    refit : bool, default False
        Search and fit every model again at every backtest origin (slower).
    spike_factor : float or None, default 5.0
        How many times the median makes a month a spike; None keeps spikes.
    n_jobs : int, optional
        Worker processes; default all cores (``os.cpu_count()``). 1 runs in this process.
    executor : concurrent.futures.Executor, optional
        Where to run the work instead of local processes, e.g. a Dask cluster's
        ``Client(address).get_executor()``; ``n_jobs`` then only sets the chunking.
    progress : bool, optional
        Show a progress bar (tqdm, on stderr); default only from 100 series on.
    return_selection : bool, default False
        Also return the selection table (see Returns).
    warm_start : pandas.DataFrame, optional
        An earlier run's selection table (unique_id, model, relative_mae, and optionally
        age and form): keep each series' model unless its accuracy degraded (see Warm
        start).
    reselect_after : int, default 6
        Runs after which every candidate is searched anew and the choice made again.
    tolerance : float, default 0.10
        How much the relative MAE of a kept model may grow before a new selection.
    combine : bool, default False
        Forecast by the single-model candidates weighted by 1 / backtest MAE instead of
        the best one (see Weighted combination).
    combine_power : float, default 1.0
        With ``combine``, the weights are 1 / error to this power (above 0; higher
        gives the most accurate models more weight).
    combine_metric : {"mae", "mape"}, default "mae"
        With ``combine``, the backtest error the weights are inverse to.
    calibrate : bool, default True
        Calibrate the intervals on the panel's backtest errors (see Interval
        calibration); False keeps the models' own.
    calibrate_sides : bool, default False
        With ``calibrate``, a factor for each side of the interval instead of one for
        both (see Interval calibration).
    return_fitted : bool, default False
        Also return each series' in-sample one-step-ahead fit and residuals, the errors
        forecast reconciliation by MinT estimates its covariance from (see Returns).

    Returns
    -------
    pandas.DataFrame or ForecastResult
        The forecast: columns :data:`FORECAST_COLUMNS`, ``horizon`` rows per series
        sorted by unique_id and ds; ``model`` names the model or combination used.
        With ``return_selection=True``, a :class:`ForecastResult` ``(forecast,
        selection)``; ``selection`` has one row per series: unique_id, n_months,
        demand_class (smooth, erratic, intermittent, lumpy, zero, constant), adi, cv2,
        model, selected_by (``"backtest"``, ``"warm start"`` or ``"rule"``), age,
        n_windows, mase,
        mase_seasonal_naive, relative_mae, gaps_filled, spikes_replaced, form (the
        forms of the model's members as JSON, "" for models without one), reason, and
        ``mase_<name>`` for every name in ``models`` and ``intermittent_models`` (NaN
        where not scored). Results do not depend on ``n_jobs`` or ``executor``; with
        ``calibrate=True`` a series' intervals depend on the other series of the panel.
        With ``return_fitted=True``, a :class:`FittedForecast` ``(forecast, selection,
        fitted)``: the final model's in-sample fit (a combination's is the mean or
        weighted mean of its members'; the "zero" and "constant" rules fit their value;
        the mean fallback the mean of the 3 months before). Fitted values are those of
        the model fitted on the series as modelled (spikes replaced), and so are the
        residuals: a one-off typo does not pass for a large forecast error; ``y`` is the
        history as given.

    Raises
    ------
    SopError
        If ``history`` lacks a column or has rows that are not valid demand (missing or
        non-finite or negative y, ds that is not the first of a month, a series and
        month given twice), all named at once; or if an option is out of range or names
        an unknown model.

    Examples
    --------
    >>> import pandas as pd
    >>> from sopkit.demand.engine import forecast
    >>> months = pd.date_range("2022-01-01", periods=36, freq="MS")
    >>> history = pd.DataFrame(
    ...     {"unique_id": "kettle|north", "ds": months, "y": [10.0, 12.0, 30.0] * 12}
    ... )
    >>> fc, selection = forecast(history, horizon=6, return_selection=True)
    >>> fc["yhat"].round(1).tolist()
    [10.0, 12.0, 30.0, 10.0, 12.0, 30.0]
    >>> selection.loc[0, ["model", "selected_by"]].tolist()
    ['seasonal_naive', 'backtest']
    """
    cfg = _config(
        horizon,
        season_length,
        models,
        intermittent_models,
        n_windows,
        backtest_horizon,
        step_size,
        refit,
        spike_factor,
        reselect_after,
        tolerance,
        combine,
        combine_power,
        combine_metric,
    )
    flags = (
        ("calibrate", calibrate),
        ("calibrate_sides", calibrate_sides),
        ("return_fitted", return_fitted),
    )
    for name, flag in flags:
        if not isinstance(flag, bool):
            raise SopError(f"{name} must be True or False; got {flag!r}.")
    n_jobs = _check_jobs(n_jobs)
    frame = _check_history(history)
    keys, starts, series, gaps = _series(frame)
    priors = _priors(None if cfg.combine else warm_start, keys)
    if progress is None:
        progress = len(series) >= _PROGRESS_MIN_SERIES
    items = list(zip(starts, series, priors, strict=True))
    results = _run(items, cfg, n_jobs, executor, progress)
    if calibrate:
        factors = _interval_factors([r[1] for r in results], cfg, sides=calibrate_sides)
        results = [
            (_widen(out, factors) if row.get("native_intervals") else out, row)
            for out, row in results
        ]
    fc, selection = _assemble(keys, starts, series, gaps, results, cfg)
    if return_fitted:
        return FittedForecast(fc, selection, _fitted_frame(keys, starts, series, results))
    return ForecastResult(fc, selection) if return_selection else fc


# --------------------------------------------------------------------------- checks


def _config(
    horizon,
    season_length,
    models,
    intermittent_models,
    n_windows,
    backtest_horizon,
    step_size,
    refit,
    spike_factor,
    reselect_after=6,
    tolerance=0.10,
    combine=False,
    combine_power=1.0,
    combine_metric="mae",
) -> _Config:
    horizon = whole_number(horizon, "horizon", what="months")
    m = whole_number(season_length, "season_length", what="months")
    n_windows = whole_number(n_windows, "n_windows", what="backtest origins")
    if backtest_horizon is None:
        backtest_horizon = min(horizon, max(m, 6))
    backtest_horizon = whole_number(backtest_horizon, "backtest_horizon", what="months")
    if step_size is None:
        step_size = max(1, backtest_horizon // 4)
    step_size = whole_number(step_size, "step_size", what="months")
    number = isinstance(spike_factor, (int, float)) and not isinstance(spike_factor, bool)
    if spike_factor is not None and not (
        number and math.isfinite(spike_factor) and spike_factor > 1
    ):
        raise SopError(
            f"spike_factor must be a number above 1 (how many times the median makes a "
            f"month a spike), or None to keep spikes; got {spike_factor!r}."
        )
    if not isinstance(refit, bool):
        raise SopError(f"refit must be True or False; got {refit!r}.")
    if not isinstance(combine, bool):
        raise SopError(f"combine must be True or False; got {combine!r}.")
    power = isinstance(combine_power, (int, float)) and not isinstance(combine_power, bool)
    if not (power and math.isfinite(combine_power) and combine_power > 0):
        raise SopError(
            f"combine_power must be a number above 0 (the weights are 1 / error to that power); "
            f"got {combine_power!r}."
        )
    if combine_metric not in _COMBINE_METRICS:
        raise SopError(
            f"combine_metric must be one of {', '.join(map(repr, _COMBINE_METRICS))} (the "
            f"backtest error the weights are inverse to); got {combine_metric!r}."
        )
    reselect_after = whole_number(reselect_after, "reselect_after", what="runs")
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise SopError(f"tolerance must be a number of 0 or more; got {tolerance!r}.")
    return _Config(
        horizon=horizon,
        m=m,
        models=_check_models(models, "models"),
        intermittent_models=_check_models(intermittent_models, "intermittent_models"),
        n_windows=n_windows,
        backtest_horizon=backtest_horizon,
        step=step_size,
        min_train=max(2 * m, 12),
        refit=refit,
        spike_factor=None if spike_factor is None else float(spike_factor),
        reselect_after=reselect_after,
        tolerance=float(tolerance),
        combine=combine,
        combine_power=float(combine_power),
        combine_metric=combine_metric,
    )


class _Prior(NamedTuple):
    """An earlier run's choice for one series (warm start), and its models' forms."""

    model: str
    relative_mae: float
    age: int
    form: dict | None = None


def _priors(warm_start: pd.DataFrame | None, keys: pd.Index) -> list[_Prior | None]:
    """Each series' earlier choice, in the order of ``keys`` (None where there is none)."""
    if warm_start is None:
        return [None] * len(keys)
    require_columns(warm_start, "warm_start", ["unique_id", "model", "relative_mae"])
    known = set(MODELS)
    rows = warm_start.drop_duplicates("unique_id", keep="last").set_index("unique_id")
    age = rows["age"] if "age" in rows.columns else pd.Series(0, index=rows.index)
    forms = rows["form"] if "form" in rows.columns else pd.Series(None, index=rows.index)
    out: list[_Prior | None] = []
    for key in keys:
        if key not in rows.index:
            out.append(None)
            continue
        model = rows.at[key, "model"]
        if not isinstance(model, str) or not set(model.split("+")) <= known:
            out.append(None)  # a rule's "zero" or "constant", or a model unknown here
            continue
        rel = float(pd.to_numeric(rows.at[key, "relative_mae"], errors="coerce"))
        n = float(pd.to_numeric(age.get(key, 0), errors="coerce"))
        out.append(
            _Prior(model, rel, int(n) if np.isfinite(n) and n > 0 else 0, _read_form(forms[key]))
        )
    return out


def _read_form(text: object) -> dict | None:
    """The forms of a ``form`` cell (JSON, see :func:`_form_of`), or None if unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        form = json.loads(text)
    except ValueError:
        return None
    return form if isinstance(form, dict) else None


def _check_models(names: Sequence[str], option: str) -> tuple[str, ...]:
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:
        raise SopError(f"{option} must name at least one model; choose from {', '.join(MODELS)}.")
    bad = [n for n in names if not isinstance(n, str)]
    bad += [n for n in names if isinstance(n, str) for p in n.split("+") if p not in MODELS]
    if bad:
        raise SopError(
            f"{option}: unknown model(s) {', '.join(map(repr, bad))}. Name models from "
            f"{', '.join(MODELS)}, or join names with '+' for their mean combination "
            "(e.g. 'ets+theta+arima')."
        )
    repeated = sorted(
        {n for n in names if names.count(n) > 1 or len(set(n.split("+"))) < n.count("+") + 1}
    )
    if repeated:
        raise SopError(f"{option}: {', '.join(map(repr, repeated))} named twice; name it once.")
    return tuple(names)


def _check_jobs(n_jobs: int | None) -> int:
    if n_jobs is None:
        return os.cpu_count() or 1
    return whole_number(n_jobs, "n_jobs", what="worker processes")


def _check_history(history: pd.DataFrame) -> pd.DataFrame:
    """``history`` with ds as first-of-month timestamps and y as floats, or a SopError."""
    if not isinstance(history, pd.DataFrame):
        raise SopError(
            f"history must be a pandas DataFrame with columns unique_id, ds and y; "
            f"got {type(history).__name__}."
        )
    require_columns(history, "history", ["unique_id", "ds", "y"])
    if history.empty:
        raise SopError("history has no rows, so there is nothing to forecast from.")
    frame = history[["unique_id", "ds", "y"]].reset_index(drop=True)
    # rows are named by the caller's index; by position when its labels repeat
    labels = history.index if history.index.is_unique else pd.RangeIndex(len(history))
    problems = []

    def note(mask, what: str, show_y: bool = False) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            problems.append(
                f"{what} in {int(mask.sum())} row(s): {_rows(frame, labels, mask, show_y)}"
            )

    note(frame["unique_id"].isna(), "unique_id is missing")
    ds = frame["ds"]
    if isinstance(ds.dtype, pd.PeriodDtype):
        ds = ds.dt.to_timestamp()
    if pd.api.types.is_numeric_dtype(ds) or pd.api.types.is_bool_dtype(ds):
        raise SopError(
            "history: ds holds numbers, not dates; give the first day of each month "
            "(e.g. pd.Timestamp('2026-11-01'))."
        )
    if isinstance(ds.dtype, pd.DatetimeTZDtype):
        raise SopError("history: ds has a time zone; give months without one.")
    if pd.api.types.is_datetime64_dtype(ds):
        parsed = ds
    else:  # each text parsed on its own: one format inferred for all would drop the rest
        parsed = pd.to_datetime(ds, errors="coerce", format="mixed")
    note(ds.isna(), "ds is missing")
    note(parsed.isna() & ds.notna(), "ds is not a date")
    ok = parsed.notna()
    not_start = ok & ((parsed.dt.day != 1) | (parsed != parsed.dt.normalize()))
    note(not_start, "ds is not the first day of a month (at midnight)")
    y = pd.to_numeric(frame["y"], errors="coerce")
    note(y.isna() & frame["y"].notna(), "y is not a number", True)
    note(frame["y"].isna(), "y is missing")
    note(np.isinf(y.fillna(0.0)), "y is infinite", True)
    note(y < 0, "y is negative", True)
    good_keys = frame["unique_id"].notna() & ok
    dup = good_keys & pd.DataFrame({"u": frame["unique_id"], "d": parsed}).duplicated(keep=False)
    note(dup, "the same unique_id and month appear more than once")
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SopError(
            f"history has {len(problems)} kind(s) of problem; nothing was forecast:\n{lines}\n"
            "Give one row per unique_id and month, ds the first day of the month, and y the "
            "demand in units: a finite number, 0 or more (0 when nothing was sold)."
        )
    return pd.DataFrame(
        {
            "unique_id": frame["unique_id"],
            "ds": parsed.astype("datetime64[ns]"),
            "y": y.astype(float),
        }
    )


def _rows(frame: pd.DataFrame, labels: pd.Index, mask: np.ndarray, show_y: bool) -> str:
    """The first five rows under ``mask``, named by the caller's index label."""
    where = np.flatnonzero(mask)
    shown = []
    for i in where[:5]:
        r = frame.iloc[i]
        text = f"row {_show(labels[i])} (unique_id {_show(r['unique_id'])}, ds {_show(r['ds'])}"
        shown.append(text + (f", y {_show(r['y'])})" if show_y else ")"))
    more = f" and {len(where) - 5} more" if len(where) > 5 else ""
    return "; ".join(shown) + more


def _show(value: object) -> str:
    """A cell as a planner reads it: dates without a midnight time, numbers plainly."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.strftime("%Y-%m-%d")
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


# --------------------------------------------------------------------------- preparation


def _series(
    frame: pd.DataFrame,
) -> tuple[pd.Index, list[pd.Timestamp], list[np.ndarray], list[int]]:
    """Each series as a gap-free array from its first to its last month (gaps = 0)."""
    try:
        codes, keys = pd.factorize(frame["unique_id"], sort=True)
    except TypeError:  # unique_ids of mixed types do not sort: keep their first-seen order
        codes, keys = pd.factorize(frame["unique_id"], sort=False)
    month = np.asarray(month_number(frame["ds"]))
    order = np.lexsort((month, codes))
    codes, month, y = codes[order], month[order], frame["y"].to_numpy()[order]
    cuts = np.flatnonzero(np.diff(codes)) + 1
    starts, series, gaps = [], [], []
    for mon, val in zip(np.split(month, cuts), np.split(y, cuts), strict=True):
        filled = np.zeros(mon[-1] - mon[0] + 1)
        filled[mon - mon[0]] = val
        series.append(filled)
        gaps.append(len(filled) - len(val))
        starts.append(pd.Timestamp(_months_to_dates(mon[:1])[0]))
    return pd.Index(keys), starts, series, gaps


def _months_to_dates(months: np.ndarray) -> np.ndarray:
    """First-of-month datetime64[ns] values of month numbers (``year * 12 + month - 1``)."""
    return (np.asarray(months) - 1970 * 12).astype("datetime64[M]").astype("datetime64[ns]")


def _classify(y: np.ndarray) -> tuple[str, float, float]:
    """Syntetos-Boylan-Croston class, ADI and CV² of a series with some demand."""
    sizes = y[y > 0]
    adi = len(y) / len(sizes)
    cv2 = float((sizes.std() / sizes.mean()) ** 2)
    if adi > ADI_THRESHOLD:
        kind = "lumpy" if cv2 > CV2_THRESHOLD else "intermittent"
    else:
        kind = "erratic" if cv2 > CV2_THRESHOLD else "smooth"
    return kind, adi, cv2


def _replace_spikes(y: np.ndarray, m: int, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """``y`` with one-off spikes replaced by their neighbours' mean, and where they were."""
    # the median of the months around each month, so that a trend is not a spike
    local = pd.Series(y).rolling(_SPIKE_WINDOW, center=True, min_periods=1).median().to_numpy()
    high = (local > 0) & (y > factor * local)
    n = len(y)
    # a month high in two or more seasons is a seasonal peak, not a spike
    spikes = [
        i
        for i in np.flatnonzero(high)
        if m == 1 or not any(high[j] for j in range(i % m, n, m) if j != i)
    ]
    if not spikes:
        return y, np.empty(0, dtype=int)
    clean = y.copy()
    for i in spikes:
        near = [y[j] for j in (i - 1, i + 1) if 0 <= j < n and not high[j]]
        clean[i] = np.mean(near) if near else local[i]
    return clean, np.asarray(spikes)


def _n_windows(n: int, cfg: _Config) -> int:
    spare = n - cfg.min_train - cfg.backtest_horizon
    return 0 if spare < 0 else min(cfg.n_windows, 1 + spare // cfg.step)


# --------------------------------------------------------------------------- models


class _Mean:
    """Mean of the last (at most) three months."""

    def fit(self, y: np.ndarray) -> _Mean:
        self.y_ = np.asarray(y, dtype=float)
        self.level_ = float(np.mean(y[-FALLBACK_MONTHS:]))
        return self

    def predict(self, h: int) -> dict[str, np.ndarray]:
        return {"mean": np.full(h, self.level_)}

    def forward(self, y: np.ndarray, h: int) -> dict[str, np.ndarray]:
        return self.fit(y).predict(h)

    def predict_in_sample(self) -> dict[str, np.ndarray]:
        y = pd.Series(self.y_)
        return {"fitted": y.rolling(FALLBACK_MONTHS, min_periods=1).mean().shift(1).to_numpy()}


class _PmdArima:
    """pmdarima's auto_arima behind statsforecast's fit / predict / forward."""

    def __init__(self, m: int, form=None) -> None:
        self.m = m
        self.form = form  # a fitted pmdarima ARIMA whose orders to keep, or None to search

    def fit(self, y: np.ndarray) -> _PmdArima:
        import pmdarima

        if self.form is None:
            self.model_ = pmdarima.auto_arima(
                y, m=self.m, seasonal=self.m > 1, suppress_warnings=True, error_action="ignore"
            )
        else:
            self.model_ = pmdarima.ARIMA(
                order=self.form.order,
                seasonal_order=self.form.seasonal_order,
                with_intercept=self.form.with_intercept,
                suppress_warnings=True,
            ).fit(y)
        self.result_ = self.model_.arima_res_  # statsmodels SARIMAX results
        return self

    def predict(self, h: int, level: list[int] | None = None) -> dict[str, np.ndarray]:
        return self._forecast(self.result_, h, level)

    def predict_in_sample(self) -> dict[str, np.ndarray]:
        return {"fitted": np.asarray(self.model_.predict_in_sample(), dtype=float)}

    def forward(self, y: np.ndarray, h: int, level: list[int] | None = None) -> dict:
        return self._forecast(self.result_.apply(y), h, level)  # same orders and parameters

    @staticmethod
    def _forecast(result, h: int, level: list[int] | None) -> dict[str, np.ndarray]:
        fc = result.get_forecast(h)
        out = {"mean": np.asarray(fc.predicted_mean, dtype=float)}
        for lv in level or []:
            bounds = np.asarray(fc.conf_int(alpha=1 - lv / 100), dtype=float)
            out[f"lo-{lv}"], out[f"hi-{lv}"] = bounds[:, 0], bounds[:, 1]
        return out


class _Log:
    """A statsforecast model fitted on log(y), its forecast and bounds exponentiated back.

    The exponentiated mean of the logs is the median of a log-normal forecast, not its
    mean: a forecast judged by absolute or percentage errors wants the median. Forecast
    and bounds are capped at :data:`_LOG_CAP` times the largest month fitted on. A series
    with a month of 0 has no logarithm: it is fitted on the raw scale (``log_`` False),
    and a later origin of the backtest that brings a first 0 fails the model there.
    """

    def __init__(self, model) -> None:
        self.model = model

    @property
    def model_(self):  # the fitted inner model's parameters, read by _form_of
        return self.model.model_

    def _scaled(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        self.cap_ = _LOG_CAP * float(np.max(y))
        if not self.log_:
            return y
        if not (y > 0).all():
            raise ValueError("a month of 0 after the first origin: no logarithm")
        return np.log(y)

    def _back(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if not self.log_:
            return out
        return {
            k: np.minimum(np.exp(np.asarray(v, dtype=float)), self.cap_) for k, v in out.items()
        }

    def fit(self, y: np.ndarray) -> _Log:
        self.log_ = bool((np.asarray(y) > 0).all())
        self.model.fit(self._scaled(y))
        return self

    def predict(self, h: int, level: list[int] | None = None) -> dict[str, np.ndarray]:
        return self._back(self.model.predict(h, level=level))

    def forward(self, y: np.ndarray, h: int, level: list[int] | None = None) -> dict:
        return self._back(self.model.forward(self._scaled(y), h, level=level))

    def predict_in_sample(self) -> dict[str, np.ndarray]:
        return self._back({"fitted": self.model.predict_in_sample()["fitted"]})


def _make(name: str, m: int):
    """A fresh, unfitted model object for one single-model name of :data:`MODELS`."""
    from statsforecast import models as sf

    makers = {
        SEASONAL_NAIVE: lambda: sf.SeasonalNaive(season_length=m),
        "ets": lambda: sf.AutoETS(season_length=m),
        "ets_nonseasonal": lambda: sf.AutoETS(season_length=1),
        "theta": lambda: sf.AutoTheta(season_length=m),
        # approximation=None: the order search approximates the likelihood (conditional
        # sums of squares) on series longer than 150 months or seasons above 12, as R's
        # auto.arima does by default (statsforecast's AutoARIMA never does unless asked);
        # the chosen orders are then estimated by maximum likelihood. On Tourism's
        # 300-month series a search took 6 to 60 s without, 1 to 3 s with.
        "arima": lambda: sf.AutoARIMA(season_length=m, approximation=None),
        "ets_log": lambda: _Log(sf.AutoETS(season_length=m)),
        "pmdarima": lambda: _PmdArima(m),
        "croston": sf.CrostonClassic,
        "croston_sba": sf.CrostonSBA,
        "tsb": lambda: sf.TSB(alpha_d=_TSB_ALPHA, alpha_p=_TSB_ALPHA),
        MEAN_FALLBACK: _Mean,
    }
    return makers[name]()


def _finite(out: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    out = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    if not all(np.isfinite(v).all() for v in out.values()):
        raise ValueError(f"{name} gave a forecast that is not a finite number")
    return out


def _form_of(name: str, fitted) -> object:
    """What a fitted model's search chose, as JSON-ready values; None for other models.

    ETS: its components, e.g. ``"AAND"`` (error, trend, season, damped); ARIMA (and
    pmdarima): ``[p, d, q, P, D, Q, mean, drift]``, the orders and whether an intercept
    and a drift are estimated.
    """
    if name in ("ets", "ets_nonseasonal", "ets_log"):
        return str(fitted.model_["components"])
    if name == "arima":
        p, q, P, Q, _, d, D = (int(v) for v in fitted.model_["arma"])
        coef = fitted.model_["coef"]
        return [p, d, q, P, D, Q, "intercept" in coef, "drift" in coef]
    if name == "pmdarima":
        (p, d, q), (P, D, Q, _) = fitted.model_.order, fitted.model_.seasonal_order
        return [p, d, q, P, D, Q, bool(fitted.model_.with_intercept), False]
    return None


def _from_form(name: str, form: object, m: int):
    """An unfitted model of a known form (see :func:`_form_of`); a new search without one.

    Re-estimating a known form costs a fraction of a search (statsforecast's AutoARIMA
    searched about 50 times longer on the demo company).
    """
    from statsforecast import models as sf

    if form is None:
        return _make(name, m)
    if name in ("ets", "ets_nonseasonal", "ets_log"):
        if not (isinstance(form, str) and len(form) == 4):
            raise ValueError(f"not an ETS form: {form!r}")
        season = 1 if name == "ets_nonseasonal" else m
        ets = sf.AutoETS(season_length=season, model=form[:3], damped=form[3] == "D")
        return _Log(ets) if name == "ets_log" else ets
    if name in ("arima", "pmdarima"):
        if not (isinstance(form, list) and len(form) == 8):
            raise ValueError(f"not an ARIMA form: {form!r}")
        p, d, q, P, D, Q, mean, drift = form
        if name == "pmdarima":
            orders = SimpleNamespace(
                order=(p, d, q), seasonal_order=(P, D, Q, m), with_intercept=bool(mean)
            )
            return _PmdArima(m, form=orders)
        return sf.ARIMA(
            order=(p, d, q),
            season_length=m,
            seasonal_order=(P, D, Q),
            include_mean=bool(mean),
            include_drift=bool(drift),
        )
    return _make(name, m)


def _backtest_single(
    name: str, y: np.ndarray, origins: list[int], cfg: _Config, form: object = None
) -> tuple:
    """Forecasts of ``name`` at each origin: a dict of arrays (windows, backtest_horizon).

    ``"mean"``, and for a model with its own intervals its bounds too (``"lo-80"`` ...),
    which the interval calibration compares with the errors. Also the model fitted at
    the first origin (None with ``refit``), whose form the forecast on the whole
    history keeps. With ``form`` (a warm start's), the model keeps that form instead of
    searching one.
    """
    h = cfg.backtest_horizon
    level = list(LEVELS) if name in _NATIVE_INTERVALS else None
    model = _from_form(name, form, cfg.m)
    if cfg.refit or not hasattr(model, "forward"):
        outs = [_predict(_from_form(name, form, cfg.m).fit(y[:o]), h, level) for o in origins]
        model = None
    else:
        outs = [_predict(model.fit(y[: origins[0]]), h, level)]
        outs += [_forward(model, y[:o], h, level) for o in origins[1:]]
    return _finite({k: np.vstack([o[k] for o in outs]) for k in outs[0]}, name), model


def _predict(model, h: int, level: list[int] | None) -> dict[str, np.ndarray]:
    # models without intervals of their own (Croston, TSB, the mean) take no ``level``
    return model.predict(h, level=level) if level else model.predict(h)


def _forward(model, y: np.ndarray, h: int, level: list[int] | None) -> dict[str, np.ndarray]:
    return model.forward(y, h, level=level) if level else model.forward(y, h)


def _final_single(name: str, y: np.ndarray, cfg: _Config, fitted=None) -> tuple[dict, object, str]:
    """Forecast and bounds of one model fitted on the whole series, its form, and a note.

    With ``fitted`` (the backtest's model, or a form kept by a warm start), that form is
    re-estimated; if that fails, a new search is made. So it is, with a note, when an
    ARIMA's re-estimate diverged: its in-sample fit or its forecast is not finite (an
    ARIMA form found on part of a series can be unstable on all of it).
    """
    note = ""
    if fitted is not None:
        form = fitted if isinstance(fitted, _KeptForm) else _form_of(name, fitted)
        form = getattr(form, "form", form)
        try:
            out, model = _final_fit(_from_form(name, form, cfg.m), name, y, cfg)
        except Exception as exc:  # the form chosen on less data does not fit all of it:
            # search again (an ARIMA's forecast that is not finite: it diverged)
            blew_up = name in _ARIMA_MODELS and "not a finite" in str(exc)
            model, diverged = None, "forecast" if blew_up else ""
        else:
            diverged = "" if np.isfinite(out["fitted"]).all() else "in-sample fit"
            if name not in _ARIMA_MODELS or not diverged:
                return out, _form_of(name, model), ""
        if diverged:
            note = (
                f"{name}'s form {json.dumps(form)} diverged on the whole history ({diverged} "
                "not finite): searched again"
            )
    out, model = _final_fit(_make(name, cfg.m), name, y, cfg)
    return out, _form_of(name, model), note


def _final_fit(model, name: str, y: np.ndarray, cfg: _Config) -> tuple[dict, object]:
    """Forecast, bounds and in-sample fit of ``model`` fitted on ``y``; the fitted model.

    Raises if the forecast or a bound is not finite.
    """
    model = model.fit(y)
    if name in _NATIVE_INTERVALS:
        out = _finite(model.predict(cfg.horizon, level=list(LEVELS)), name)
    else:
        mean = _finite(model.predict(cfg.horizon), name)["mean"]
        out = {"mean": mean, **_spread_bounds(mean, y)}
    out["fitted"] = _in_sample(model, len(y))
    return out, model


def _in_sample(model, n: int) -> np.ndarray:
    """The model's one-step-ahead fit of the ``n`` months it was fitted on (NaN: none)."""
    try:
        fit = np.asarray(model.predict_in_sample()["fitted"], dtype=float)
    except Exception:  # a model without an in-sample fit: the residuals are unknown
        return np.full(n, np.nan)
    # Croston's methods fit from the first demand on: align on the last month
    out = np.full(n, np.nan)
    k = min(n, len(fit))
    out[n - k :] = fit[len(fit) - k :]
    return out


class _KeptForm(NamedTuple):
    """A form kept from an earlier run, for a model fitted without a backtest (a rule's)."""

    form: object


def _spread_bounds(mean: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Bounds from the empirical quantiles of ``y``, rescaled so their mean is ``mean``."""
    level = float(np.mean(y))
    ratio = mean / level if level > 0 else np.zeros_like(mean)
    out = {}
    for lv in LEVELS:
        tail = (100 - lv) / 200
        lo, hi = np.quantile(y, [tail, 1 - tail])
        out[f"lo-{lv}"], out[f"hi-{lv}"] = lo * ratio, hi * ratio
    return out


def _final(name: str, y: np.ndarray, cfg: _Config, fitted: dict) -> tuple[dict, dict, list]:
    """Forecast and bounds of a model or a (mean or weighted) combination, on the whole series.

    Also the forms of its members that have one (see :func:`_form_of`), and the members'
    notes (see :func:`_final_single`).
    """
    weights = fitted[WEIGHTED] if name == WEIGHTED else dict.fromkeys(name.split("+"), 1.0)
    parts = {p: _final_single(p, y, cfg, fitted.get(p)) for p in weights}
    total = sum(weights.values())
    keys = (*_BOUND_KEYS, "fitted")
    out = {k: sum(wt * parts[p][0][k] for p, wt in weights.items()) / total for k in keys}
    forms = {p: part[1] for p, part in parts.items() if part[1] is not None}
    return out, forms, [part[2] for part in parts.values() if part[2]]


def _calibration_scores(
    actual: np.ndarray, outs: dict[str, dict], parts: dict[str, float]
) -> dict[int, np.ndarray] | None:
    """How far each backtest error reached into the model's own interval, per level.

    ``parts`` weighs the backtest forecasts ``outs`` of a model's members (1 each: a model
    or a mean combination, whose bounds are averaged as :func:`_final` does). A score is
    |actual - forecast| over the interval's half-width on the error's side: at most 1
    where the interval covered the actual. Arrays (windows, backtest_horizon); NaN where
    that half-width is not positive (no multiple of it can widen it). None when a member
    has no interval of its own.
    """
    if not all(f"lo-{LEVELS[0]}" in outs[p] for p in parts):
        return None
    total = sum(parts.values())

    def combined(key: str) -> np.ndarray:
        return sum(wt * outs[p][key] for p, wt in parts.items()) / total

    mean = combined("mean")
    err = actual - mean
    out = {}
    for lv in LEVELS:
        lo, hi = combined(f"lo-{lv}"), combined(f"hi-{lv}")
        half = np.where(err >= 0, hi - mean, mean - lo)
        ok = half > 0
        out[lv] = np.divide(np.abs(err), half, out=np.full(err.shape, np.nan), where=ok)
        # each side's signed score, for calibrate_sides: above 1 where the actual fell
        # beyond that side's bound, below 0 where it fell on the other side of the mean
        for side, reach, width in (("lo", -err, mean - lo), ("hi", err, hi - mean)):
            out[f"{side}-{lv}"] = np.divide(
                reach, width, out=np.full(err.shape, np.nan), where=width > 0
            )
    return out


def _interval_factors(rows: list[dict], cfg: _Config, sides: bool = False) -> dict[int, object]:
    """Per level, the multiple of the models' half-widths for each forecast month.

    An array (both sides), or with ``sides`` a pair of arrays (lower, upper half-width).
    """
    factors: dict[int, object] = {}
    for lv in LEVELS:
        if sides:  # each side misses half of what the level allows
            q = 1 - (1 - lv / 100) / 2
            factors[lv] = tuple(_step_factors(rows, f"{s}-{lv}", q, cfg) for s in ("lo", "hi"))
        else:
            factors[lv] = _step_factors(rows, lv, lv / 100, cfg)
    return factors


def _step_factors(rows: list[dict], key: object, q: float, cfg: _Config) -> np.ndarray:
    """The conformal ``q`` quantile of the scores ``key`` of each backtest month, per month."""
    scores = [
        sc[key] for r in rows if r.get("native_intervals") for sc in r.get("calibration_scores", [])
    ]
    if not scores:
        return np.ones(cfg.horizon)
    pooled = np.vstack(scores)  # (windows of all series, backtest_horizon)
    per_step = np.array([_conformal_quantile(col, q) for col in pooled.T])
    overall = _conformal_quantile(pooled.ravel(), q)
    few = np.sum(np.isfinite(pooled), axis=0) < _MIN_CALIBRATION_SCORES
    per_step = np.where(few | ~np.isfinite(per_step), overall, per_step)
    if not np.isfinite(overall):
        per_step = np.ones(len(per_step))
    steps = np.minimum(np.arange(cfg.horizon), len(per_step) - 1)
    # a side's signed scores can put its quantile below 0; a bound does not cross the mean
    return np.maximum(per_step[steps], 0.0)


def _conformal_quantile(scores: np.ndarray, q: float) -> float:
    """The split-conformal quantile: the ceil((n + 1) q)-th smallest of n scores (NaN: none)."""
    s = np.sort(scores[np.isfinite(scores)])
    if not len(s):
        return np.nan
    k = math.ceil((len(s) + 1) * q)
    return float(s[min(k, len(s)) - 1])


def _widen(out: dict[str, np.ndarray], factors: dict[int, object]) -> dict[str, np.ndarray]:
    """``out`` with each level's half-widths times its factors (a pair: lower, upper)."""
    mean = out["mean"]
    new = {k: v for k, v in out.items() if k not in _BOUND_KEYS}
    new["mean"] = mean
    for lv in LEVELS:
        lo, hi = factors[lv] if isinstance(factors[lv], tuple) else (factors[lv], factors[lv])
        new[f"lo-{lv}"] = mean - lo * (mean - out[f"lo-{lv}"])
        new[f"hi-{lv}"] = mean + hi * (out[f"hi-{lv}"] - mean)
    return new


def _tidy(out: dict[str, np.ndarray]) -> np.ndarray:
    """Rows yhat, lo_80, hi_80, lo_95, hi_95, clipped at 0 and nested around yhat."""
    yhat = np.maximum(out["mean"], 0.0)
    lo80 = np.clip(out["lo-80"], 0.0, yhat)
    hi80 = np.maximum(out["hi-80"], yhat)
    lo95 = np.clip(out["lo-95"], 0.0, lo80)
    hi95 = np.maximum(out["hi-95"], hi80)
    return np.vstack([yhat, lo80, hi80, lo95, hi95])


# --------------------------------------------------------------------------- one series


def _flat(value: float, h: int, n: int) -> dict[str, np.ndarray]:
    return {**dict.fromkeys(_BOUND_KEYS, np.full(h, value)), "fitted": np.full(n, value)}


def _forecast_series(
    start: pd.Timestamp, y: np.ndarray, prior: _Prior | None, cfg: _Config
) -> tuple[dict[str, np.ndarray], dict]:
    """Forecast and bounds (before calibration and clipping) and the selection record.

    The record's ``calibration_scores`` (see :func:`_calibration_scores`) are the
    backtest's, of the winner and seasonal naive (of the weighted combination alone with
    ``combine``).
    """
    n = len(y)
    row: dict = {
        "n_months": n, "adi": np.nan, "cv2": np.nan, "n_windows": 0, "scores": {}, "age": 0
    }  # fmt: skip
    if not (y > 0).any():
        row.update(demand_class="zero", model="zero", selected_by="rule")
        row["reason"] = f"all {n} month(s) are 0: forecast 0"
        return _flat(0.0, cfg.horizon, n), row
    kind, row["adi"], row["cv2"] = _classify(y)
    if n >= 2 and (y == y[0]).all():
        row.update(demand_class="constant", model="constant", selected_by="rule")
        row["reason"] = f"all {n} months equal {y[0]:g}: forecast {y[0]:g}"
        return _flat(float(y[0]), cfg.horizon, n), row
    row["demand_class"] = kind
    intermittent = kind in ("intermittent", "lumpy")
    notes = []
    if not intermittent and cfg.spike_factor is not None:
        y, spikes = _replace_spikes(y, cfg.m, cfg.spike_factor)
        row["spikes_replaced"] = len(spikes)
        if len(spikes):
            when = ", ".join(
                (start + pd.DateOffset(months=int(i))).strftime("%Y-%m") for i in spikes
            )
            notes.append(
                f"{len(spikes)} spike(s) above {cfg.spike_factor:g} x the local median ({when}) "
                "replaced by the mean of the neighbouring months"
            )
    w = _n_windows(n, cfg)
    # an earlier run's forms, re-estimated instead of searched until reselect_after
    young = prior is not None and prior.form and prior.age + 1 < cfg.reselect_after
    carried = dict(prior.form) if young else {}
    if w:
        candidates = cfg.intermittent_models if intermittent else cfg.models
        kept = _keep(prior, candidates, y, w, cfg, row, notes)
        if kept is not None:
            ranked, reason, fitted = kept
            row["selected_by"] = "warm start"
        else:
            ranked, reason, fitted = _select(y, candidates, w, cfg, row, notes, carried)
            row["selected_by"] = "backtest"
            if carried:
                row["age"] = prior.age + 1
                notes.append(f"model forms kept from an earlier run ({row['age']} run(s) ago)")
    else:
        (ranked, reason), fitted = _rule(n, kind, cfg), {}
        row["selected_by"] = "rule"
        if carried and prior.model == ranked[0]:
            fitted = {p: _KeptForm(f) for p, f in carried.items()}
            row["age"] = prior.age + 1
            notes.append(f"model forms kept from an earlier run ({row['age']} run(s) ago)")
    forms: dict = {}
    final_notes: list[str] = []
    for name in [*ranked, MEAN_FALLBACK]:
        try:
            out, forms, final_notes = _final(name, y, cfg, fitted)
        except Exception as exc:  # recorded; the next model is used instead
            notes.append(f"{name} failed on the whole history ({_why(exc)}); next in line used")
            continue
        row["model"] = name
        break
    notes += final_notes
    # every form known for the series (not only the winner's), for the next run's warm start
    forms = {**carried, **row.pop("searched", {}), **forms}
    row["form"] = json.dumps(forms, separators=(",", ":"), sort_keys=True) if forms else ""
    if not ranked or row["model"] != ranked[0]:
        reason = f"{reason}; fell back to {row['model']}"
    used = fitted[WEIGHTED] if row["model"] == WEIGHTED else row["model"].split("+")
    raw = [p for p in used if p in _LOG_MODELS]
    if raw and not (y > 0).all():
        notes.append(
            f"{', '.join(raw)} fitted on the raw scale: the series has months of 0, which have "
            "no logarithm"
        )
    row["reason"] = "; ".join([reason, *notes])
    row["native_intervals"] = set(used) <= _NATIVE_INTERVALS
    out["modelled"] = y  # spikes replaced
    return out, row


def _select(y, candidates, w, cfg, row, notes, forms=None) -> tuple[list[str], str, dict]:
    """Candidates ranked by backtest MAE (failures left out), the reason, the fitted models.

    Scores go to ``row``, failures to ``notes``. ``forms`` (a warm start's) fixes the
    form of the single models it names instead of searching one.
    """
    h = cfg.backtest_horizon
    origins = [len(y) - h - (w - 1 - k) * cfg.step for k in range(w)]
    actual = np.vstack([y[o : o + h] for o in origins])
    scored = list(dict.fromkeys([*candidates, SEASONAL_NAIVE]))
    singles = list(dict.fromkeys(p for name in scored for p in name.split("+")))
    outs, failed, fitted = {}, {}, {}
    for name in singles:
        form = (forms or {}).get(name)
        try:
            try:
                outs[name], fitted[name] = _backtest_single(name, y, origins, cfg, form)
            except Exception:
                if form is None:
                    raise
                # an earlier form that does not fit this history: search one
                outs[name], fitted[name] = _backtest_single(name, y, origins, cfg)
        except Exception as exc:  # recorded; the model cannot win
            failed[name] = _why(exc)
    searched = {name: _form_of(name, model) for name, model in fitted.items() if model}
    row["searched"] = {name: form for name, form in searched.items() if form is not None}
    notes += [f"{name} failed in the backtest ({why})" for name, why in failed.items()]
    mae = {}
    for name in scored:
        parts = name.split("+")
        if not any(p in failed for p in parts):
            pred = np.mean([outs[p]["mean"] for p in parts], axis=0)
            mae[name] = float(np.mean(np.abs(actual - np.maximum(pred, 0.0))))
    scale = _mase_scale(y[: origins[0]], cfg.m)
    row["scores"] = {name: err / scale for name, err in mae.items()}
    row["n_windows"] = w
    ranked = sorted((c for c in candidates if c in mae), key=lambda c: mae[c])  # stable: ties
    if not ranked:
        return [], f"every candidate failed in the backtest of {w} window(s)", fitted
    # the winner's errors and seasonal naive's: the winner's are the smallest of several by
    # construction, so alone they would understate its future errors; seasonal naive is
    # scored on every series without being chosen for it (and, unlike the other
    # candidates, also when a warm start keeps the winner, so that both give one answer)
    members = {
        name: dict.fromkeys(name.split("+"), 1.0)
        for name in dict.fromkeys([ranked[0], SEASONAL_NAIVE])
        if name in mae
    }
    weighting = ""
    if cfg.combine:
        err, metric = {c: mae[c] for c in ranked if "+" not in c}, "MAE"
        if cfg.combine_metric == "mape":
            pct = {c: _mape(actual, outs[c]["mean"]) for c in err}
            if all(np.isfinite(v) for v in pct.values()):
                err, metric = pct, "MAPE"
            else:
                notes.append("weighted by MAE: every backtest month was 0, so MAPE is undefined")
        weights = _inverse_error_weights(err, cfg.combine_power)
        if len(weights) >= 2:
            pred = sum(wt * outs[c]["mean"] for c, wt in weights.items())
            mae[WEIGHTED] = float(np.mean(np.abs(actual - np.maximum(pred, 0.0))))
            members = {WEIGHTED: weights}
            fitted[WEIGHTED] = weights
            ranked = [WEIGHTED, *ranked]  # the best single model next, should a member fail
            shares = ", ".join(f"{c} {wt:.2f}" for c, wt in weights.items())
            power = f"^{cfg.combine_power:g}" if cfg.combine_power != 1 else ""
            by = f"1 / backtest {metric}{power}"
            weighting = f"{len(weights)} single models weighted by {by} ({shares})"
    row["calibration_scores"] = [
        sc
        for sc in (_calibration_scores(actual, outs, parts) for parts in members.values())
        if sc is not None
    ]
    best = ranked[0]
    row["mase"] = mae[best] / scale
    bench = mae.get(SEASONAL_NAIVE, np.nan)
    row["mase_seasonal_naive"] = bench / scale
    row["relative_mae"] = _ratio(mae[best], bench)
    versus = (
        f"MASE {mae[best] / scale:.3g} against seasonal naive's {bench / scale:.3g}"
        if np.isfinite(bench)
        else f"MASE {mae[best] / scale:.3g} (seasonal naive failed)"
    )
    reason = (
        f"lowest backtest MAE of {len(ranked)} candidate(s) over {w} window(s) of {h} "
        f"months: {versus}"
    )
    if weighting:
        reason = (
            f"{weighting} over {w} window(s) of {h} months: {versus} (the weights were "
            "fitted to these windows)"
        )
    return ranked, reason, fitted


def _mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean of |actual - forecast| / actual over the months not 0, forecasts clipped at 0.

    NaN when every month is 0.
    """
    some = actual != 0
    if not some.any():
        return np.nan
    a, f = actual[some], np.maximum(forecast[some], 0.0)
    return float(np.mean(np.abs(a - f) / np.abs(a)))


def _inverse_error_weights(errors: dict[str, float], power: float = 1.0) -> dict[str, float]:
    """Weights proportional to 1 / error^power, summing to 1 (equal among errors of 0)."""
    err = np.array(list(errors.values()))
    inv = (err == 0).astype(float) if (err == 0).any() else err**-power
    return dict(zip(errors, (inv / inv.sum()).tolist(), strict=True))


def _keep(prior, candidates, y, w, cfg, row, notes) -> tuple[list[str], str, dict] | None:
    """The earlier choice, backtested alone against seasonal naive, if it still holds.

    None (select again from all candidates) when there is no earlier choice, it is no
    longer a candidate, it is ``reselect_after`` runs old, it failed, or its relative MAE
    grew by more than ``tolerance`` or went above 1.
    """
    if prior is None or not np.isfinite(prior.relative_mae) or prior.model not in candidates:
        return None  # no earlier choice by backtest (a rule's has no relative MAE)
    if prior.age + 1 >= cfg.reselect_after:
        notes.append(f"selected again: the choice of {prior.model} was {prior.age + 1} runs old")
        return None
    trial: dict = {"scores": {}}
    ranked, _, fitted = _select(y, [prior.model], w, cfg, trial, [], prior.form)
    rel = trial.get("relative_mae", np.nan)
    limit = prior.relative_mae + cfg.tolerance if np.isfinite(prior.relative_mae) else 1.0
    if not ranked or not np.isfinite(rel) or rel > limit or rel > 1.0:
        notes.append(
            f"selected again: {prior.model}'s relative MAE went from {prior.relative_mae:.3g} "
            f"to {rel:.3g}"
        )
        return None
    row.update({k: v for k, v in trial.items() if k != "scores"})
    row["scores"] = trial["scores"]
    row["age"] = prior.age + 1
    reason = (
        f"kept from an earlier run ({row['age']} run(s) ago): backtest MAE over {w} window(s) "
        f"{rel:.3g} x seasonal naive's, earlier {prior.relative_mae:.3g}"
    )
    return ranked, reason, fitted


def _rule(n: int, kind: str, cfg: _Config) -> tuple[list[str], str]:
    need = cfg.min_train + cfg.backtest_horizon
    short = f"{n} months, fewer than the {need} a backtest needs"
    if kind in ("intermittent", "lumpy"):
        name = cfg.intermittent_models[0]
        return [name], f"{kind} demand with {short}: {name} by rule"
    if n >= cfg.min_train:
        return [_RULE_COMBINATION], f"{short}: mean of ETS, Theta and ARIMA by rule"
    if n >= _MIN_ETS_MONTHS:
        return ["ets_nonseasonal"], (
            f"{n} months, fewer than the {cfg.min_train} a seasonal model needs: "
            "non-seasonal ETS by rule"
        )
    k = min(FALLBACK_MONTHS, n)
    return [MEAN_FALLBACK], (
        f"{n} month(s), fewer than the {_MIN_ETS_MONTHS} a model needs: "
        f"mean of the last {k} month(s) by rule"
    )


def _mase_scale(train: np.ndarray, m: int) -> float:
    """In-sample MAE of the seasonal naive (lag m), else lag-1 naive, else mean |y|, else 1."""
    for lag in dict.fromkeys((m, 1)):
        if len(train) > lag:
            scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
            if scale > 0:
                return scale
    level = float(np.mean(np.abs(train)))
    return level if level > 0 else 1.0


def _ratio(err: float, bench: float) -> float:
    if not np.isfinite(bench):
        return np.nan
    if bench == 0:
        return 1.0 if err == 0 else np.inf
    return err / bench


def _why(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


# --------------------------------------------------------------------------- running


def _run_chunk(chunk: list[tuple], cfg: _Config) -> list:
    """Forecast a list of series; runs in a worker process."""
    from threadpoolctl import threadpool_limits  # a requirement of statsforecast

    from sopkit.demand._speedups import statsforecast_speedups

    # One BLAS thread per worker: several threads per process over-subscribe the cores
    # (pmdarima's auto_arima ran about 40 times slower here with the default).
    with threadpool_limits(limits=1), warnings.catch_warnings(), statsforecast_speedups():
        # Model searches warn on short or flat data; what matters (a failure, the
        # choice) is recorded in the selection table instead.
        warnings.simplefilter("ignore")
        # a copy: Dask hands a task its arrays unaligned, which moved a forecast by 1e-14
        return [_forecast_series(start, np.array(y), prior, cfg) for start, y, prior in chunk]


def _run(items: list, cfg: _Config, n_jobs: int, executor: Executor | None, progress: bool) -> list:
    """Results of every item, in order, from chunks run in parallel."""
    from tqdm import tqdm

    size = max(1, math.ceil(len(items) / (n_jobs * 8)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    results: list = [None] * len(chunks)
    with tqdm(total=len(items), disable=not progress, desc="forecast", unit="series") as bar:
        if executor is None and (n_jobs == 1 or len(chunks) == 1):
            for i, chunk in enumerate(chunks):
                results[i] = _run_chunk(chunk, cfg)
                bar.update(len(chunk))
        else:
            if executor is None:
                # imported here once: forked workers inherit it instead of each paying
                # its import (about 1.6 s) in every run
                import statsforecast.models  # noqa: F401
            pool = executor or ProcessPoolExecutor(max_workers=min(n_jobs, len(chunks)))
            try:
                futures = {pool.submit(_run_chunk, c, cfg): i for i, c in enumerate(chunks)}
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        results[i] = future.result()
                    except (CancelledError, BrokenExecutor) as exc:
                        # a worker or the Dask scheduler died mid-run: the bare error says
                        # nothing ("CancelledError"), so say what happened
                        where = "the Dask cluster" if executor is not None else "a worker process"
                        raise SopError(
                            f"the forecast stopped: {where} went away before series "
                            f"{i * size + 1}-{i * size + len(chunks[i])} were forecast "
                            f"({type(exc).__name__}: {exc or 'no message'}). Check the "
                            "cluster's scheduler and workers (or the machine's memory), then "
                            "run the stage again."
                        ) from exc
                    bar.update(len(chunks[i]))
            finally:
                if executor is None:
                    pool.shutdown()
    return [r for chunk in results for r in chunk]


def _fitted_frame(keys, starts, series, results) -> pd.DataFrame:
    """Each series' history with its model's in-sample fit and the residuals, long."""
    lengths = np.array([len(y) for y in series])
    first = np.array([month_number(s) for s in starts])
    months = np.concatenate([f + np.arange(n) for f, n in zip(first, lengths, strict=True)])
    y = np.concatenate(series) if series else np.empty(0)
    fit = [r[0].get("fitted") for r in results]
    fit = [np.full(n, np.nan) if f is None else f for f, n in zip(fit, lengths, strict=True)]
    fitted = np.concatenate(fit) if fit else np.empty(0)
    used = [r[0].get("modelled", s) for r, s in zip(results, series, strict=True)]
    modelled = np.concatenate(used) if used else np.empty(0)
    return pd.DataFrame(
        {
            "unique_id": np.repeat(keys.to_numpy(), lengths),
            "ds": _months_to_dates(months),
            "y": y,
            "modelled": modelled,
            "fitted": fitted,
            "residual": modelled - fitted,
        }
    )


def _assemble(
    keys, starts, series, gaps, results, cfg: _Config
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The forecast frame and the selection table from the per-series results."""
    h = cfg.horizon
    first = np.array([month_number(s) + len(y) for s, y in zip(starts, series, strict=True)])
    ds = _months_to_dates((first[:, None] + np.arange(h)[None, :]).ravel())
    values = np.stack([_tidy(r[0]) for r in results])  # (series, 5, h)
    fc = pd.DataFrame({"unique_id": np.repeat(keys.to_numpy(), h), "ds": ds})
    for i, col in enumerate(FORECAST_COLUMNS[2:7]):
        fc[col] = values[:, i, :].ravel()
    fc["model"] = np.repeat([r[1]["model"] for r in results], h).astype(object)

    rows = [r[1] for r in results]
    selection = pd.DataFrame(
        {
            "unique_id": keys.to_numpy(),
            "n_months": [r["n_months"] for r in rows],
            "demand_class": [r["demand_class"] for r in rows],
            "adi": [r["adi"] for r in rows],
            "cv2": [r["cv2"] for r in rows],
            "model": [r["model"] for r in rows],
            "selected_by": [r["selected_by"] for r in rows],
            "age": [r.get("age", 0) for r in rows],
            "n_windows": [r["n_windows"] for r in rows],
            "mase": [r.get("mase", np.nan) for r in rows],
            "mase_seasonal_naive": [r.get("mase_seasonal_naive", np.nan) for r in rows],
            "relative_mae": [r.get("relative_mae", np.nan) for r in rows],
            "gaps_filled": np.asarray(gaps, dtype=int),
            "spikes_replaced": [r.get("spikes_replaced", 0) for r in rows],
            "form": [r.get("form", "") for r in rows],
            "reason": [r["reason"] for r in rows],
        }
    )
    gap_note = [
        f"; {g} missing month(s) inside the history filled with 0" if g else "" for g in gaps
    ]
    selection["reason"] = selection["reason"] + gap_note
    # one column per candidate, scored or not, so the table's shape never depends on the data
    for name in dict.fromkeys([SEASONAL_NAIVE, *cfg.models, *cfg.intermittent_models]):
        selection[f"mase_{name}"] = [r["scores"].get(name, np.nan) for r in rows]
    return fc, selection
