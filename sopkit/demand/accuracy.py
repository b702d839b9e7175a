"""Forecast accuracy: backtests by lag, and how earlier plans of record did.

Backtests and their summaries (WAPE, bias, MAPE, MASE, interval coverage), and the value
the engine adds over its seasonal naive benchmark; the accuracy of earlier plans of
record, with the value their adjustments added (FVA).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from sopkit._checks import (
    family_of,
    month_number,
    month_start,
    reject_duplicates,
    require_columns,
    whole_number,
)
from sopkit.demand._common import (
    ACCURACY_COLUMNS,
    ACCURACY_LEVELS,
    SEASONAL_NAIVE,
    _ym,
)
from sopkit.demand.naive import seasonal_naive_forecast
from sopkit.demand.statistical import STATISTICAL, statistical_forecast
from sopkit.errors import SopError

# --------------------------------------------------------------------------- accuracy

#: the prediction intervals whose coverage the ``accuracy`` artifact measures, percent
COVERAGE_LEVELS = (80, 95)


def backtest_seasonal_naive(
    sales_history: pd.DataFrame,
    products: pd.DataFrame,
    cycle: pd.Timestamp,
    *,
    holdout: int = 12,
    season_length: int = 12,
) -> pd.DataFrame:
    """Measure the seasonal naive method on the last ``holdout`` months of history.

    One forecast is made at origin ``cycle - holdout`` months from the history before
    the origin only, for lags 1..holdout (lag 1 = the origin month), and compared with
    what was sold. Series born at or after the origin had nothing to forecast from and
    are left out (a backtest of the method, not of the new-item process); missing
    months count as 0 sold.

    For each level, key and lag, actual and forecast are summed over the key's
    sku x region series first, then

    - abs_error = |forecast - actual|
    - wape = abs_error / actual, bias = (forecast - actual) / actual (both NaN when the
      actual is 0; a positive bias is over-forecasting);
    - mape = mean over the key's sku x region series of |forecast - actual| / actual,
      leaving out series whose actual is 0 (NaN when all are 0);
    - mase = abs_error / scale, where scale is the in-sample mean absolute seasonal
      difference, mean over t of |Y_t - Y_{t-m}| (m = ``season_length``), of the key's
      own series Y before the origin: at an aggregated level (total, family, sku) the
      sum of its sku x region series, each from its first month to the month before the
      origin (a month without a row counts as 0), so that the error and its scale are of
      the same series. NaN when that history has no month t with t - m inside it (m
      months or fewer) or all its seasonal differences are 0 (a constant series): a
      scale of 0 gives no ratio. Below 1: the forecast erred less than seasonal naive did,
      on average, one season ahead within the history (Hyndman & Koehler 2006, "Another
      look at measures of forecast accuracy", IJF 22(4); FPP3 section 5.8);
    - coverage_80, coverage_95 = the share of the key's sku x region series whose actual
      fell inside the forecast's 80 % (95 %) prediction interval, bounds included
      (yhat_lo_80 <= actual <= yhat_hi_80). Intervals are counted series by series, never
      summed: bounds of a sum are not sums of bounds, so at the total a figure of 0.8 means
      four in five of its series-months, not the total's own interval. NaN when the
      forecast has no bounds for a series of the key (a caller's forecast without the
      interval columns).

    The levels, from the most pooled to the plan's own: ``total`` (all SKUs summed:
    errors of opposite sign cancel, so it flatters the method), ``family``, ``sku``
    (a SKU's regions summed) and ``sku_region`` (each SKU in each region, key
    ``"A-102 / North"``: the level the plan is made, and the error planners live with).

    Parameters
    ----------
    sales_history : pandas.DataFrame
        Columns sku, region, month, qty.
    products : pandas.DataFrame
        Columns sku, family (every sku in the history must be there, once).
    cycle : pandas.Timestamp
        The planning month; the holdout is the ``holdout`` months before it.
    holdout : int, default 12
        Number of months held out, which is also the longest lag.
    season_length : int, default 12
        Seasonal period of the method, in months.

    Returns
    -------
    pandas.DataFrame
        The ``accuracy`` artifact: model, level, key ("Total", the family, the sku, or
        "sku / region"), family (None at level total), lag, actual, forecast,
        abs_error, wape, bias, mape, mase, coverage_80, coverage_95; sorted by level
        (total, family, sku, sku_region), key, lag. ``model`` is "seasonal_naive" (the
        method, its mean fallback for short series included); its intervals are those of
        :func:`~sopkit.demand.naive.seasonal_naive_forecast` (FPP3 section 5.5).

    Raises
    ------
    SopError
        If there is no history before the origin, a sku has no family (or is listed
        twice in products), or an input is malformed.

    Examples
    --------
    >>> acc = backtest_seasonal_naive(ds.sales_history, ds.products, "2026-11")  # doctest: +SKIP
    >>> pooled_wape(acc, level="sku_region")  # doctest: +SKIP
    0.23
    """
    cycle, origin = _backtest_origin(sales_history, cycle, holdout)
    fc = seasonal_naive_forecast(
        sales_history, origin, holdout, season_length=season_length, levels=COVERAGE_LEVELS
    )
    return score_backtest(
        fc, sales_history, products, origin, cycle, SEASONAL_NAIVE, season_length=season_length
    )


class Backtest(NamedTuple):
    """A backtest of the engine: its accuracy, its model choices, its forecast and fit.

    ``accuracy`` rows, the ``models`` it chose, and the ``forecast`` and in-sample
    ``fitted`` values it made at the origin (as
    :class:`~sopkit.demand.statistical.StatisticalForecast` has them).
    """

    accuracy: pd.DataFrame
    models: pd.DataFrame
    forecast: pd.DataFrame | None = None
    fitted: pd.DataFrame | None = None


def backtest_statistical(
    sales_history: pd.DataFrame,
    products: pd.DataFrame,
    cycle: pd.Timestamp,
    *,
    holdout: int = 12,
    season_length: int = 12,
    **options,
) -> Backtest:
    """Measure the forecasting engine on the last ``holdout`` months.

    As :func:`backtest_seasonal_naive` measures seasonal naive: the engine
    (:func:`sopkit.demand.statistical.statistical_forecast`) is run at origin ``cycle -
    holdout`` months on the history before it only, choosing each series' model on that
    history: an honest out-of-sample test of the whole process, model choice included.
    Rows have ``model = "statistical"``.

    Parameters
    ----------
    sales_history, products, cycle, holdout, season_length
        As for :func:`backtest_seasonal_naive`.
    **options
        Passed to :func:`~sopkit.demand.statistical.statistical_forecast` (``models``,
        ``n_jobs``, ``executor``, ``progress``, ``warm_start``: the earlier cycle's
        backtest choices, made at its own origin, before this one).

    Returns
    -------
    Backtest
        ``accuracy``: the ``accuracy`` artifact's rows for the engine; ``models``: the
        ``forecast_models`` rows of the backtest (``run = "backtest"``).
    """
    cycle, origin = _backtest_origin(sales_history, cycle, holdout)
    fc, models, fitted = statistical_forecast(
        sales_history, origin, holdout, season_length=season_length, run="backtest", **options
    )
    accuracy = score_backtest(
        fc, sales_history, products, origin, cycle, STATISTICAL, season_length=season_length
    )
    return Backtest(accuracy, models, fc, fitted)


def backtest(
    sales_history: pd.DataFrame,
    products: pd.DataFrame,
    cycle: pd.Timestamp,
    *,
    holdout: int = 12,
    season_length: int = 12,
    **options,
) -> Backtest:
    """The engine and its benchmark measured on the same holdout.

    Returns
    -------
    Backtest
        ``accuracy``: the ``accuracy`` artifact, the rows of :func:`backtest_statistical`
        (``model = "statistical"``), then those of :func:`backtest_seasonal_naive` (same
        parameters); ``models``: the engine's choices at the backtest origin.
    """
    engine = backtest_statistical(
        sales_history, products, cycle, holdout=holdout, season_length=season_length, **options
    )
    naive = backtest_seasonal_naive(
        sales_history, products, cycle, holdout=holdout, season_length=season_length
    )
    accuracy = pd.concat([engine.accuracy, naive], ignore_index=True)
    return Backtest(accuracy, engine.models, engine.forecast, engine.fitted)


def _backtest_origin(
    sales_history: pd.DataFrame, cycle: pd.Timestamp, holdout: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The cycle and the backtest origin ``holdout`` months before it, or a SopError."""
    cycle = month_start(cycle)
    holdout = whole_number(holdout, "holdout", what="months")
    origin = cycle - pd.DateOffset(months=holdout)
    require_columns(sales_history, "sales_history", ["sku", "region", "month", "qty"])
    if not (sales_history["month"] < origin).any():
        raise SopError(
            f"The backtest starts at {_ym(origin)} ({holdout} months before {_ym(cycle)}) but "
            "sales_history has no month before it; give more history or a smaller holdout."
        )
    return cycle, origin


def score_backtest(
    fc: pd.DataFrame,
    sales_history: pd.DataFrame,
    products: pd.DataFrame,
    origin: pd.Timestamp,
    cycle: pd.Timestamp,
    model: str,
    *,
    season_length: int = 12,
) -> pd.DataFrame:
    """Score a forecast made at ``origin`` against the sales from ``origin`` to ``cycle``.

    Parameters
    ----------
    fc : pandas.DataFrame
        sku, region, month, yhat: the forecast from ``origin`` on; with yhat_lo_80,
        yhat_hi_80, yhat_lo_95 and yhat_hi_95 where it has intervals (else the coverage
        columns are NaN).
    sales_history, products : pandas.DataFrame
        What was sold, and each SKU's family.
    origin, cycle : pandas.Timestamp
        The first month forecast, and the month after the last one scored.
    model : str
        The ``model`` of the rows.
    season_length : int, default 12
        The lag m of the seasonal differences that scale MASE.

    Returns
    -------
    pandas.DataFrame
        The ``accuracy`` artifact's rows (see :func:`backtest_seasonal_naive`, which
        defines every column).

    Examples
    --------
    >>> fc = seasonal_naive_forecast(hist, origin, 12)  # doctest: +SKIP
    >>> score_backtest(fc, hist, products, origin, cycle, "seasonal_naive")  # doctest: +SKIP
    """
    m = whole_number(season_length, "season_length", what="months")
    fc = fc.loc[fc["month"] < cycle]
    window = sales_history.loc[
        (sales_history["month"] >= origin) & (sales_history["month"] < cycle),
        ["sku", "region", "month", "qty"],
    ]
    actual = window.groupby(["sku", "region", "month"], as_index=False)["qty"].sum()
    both = fc.merge(actual, on=["sku", "region", "month"], how="left")
    both["actual"] = both["qty"].fillna(0.0)
    both["forecast"] = both["yhat"]
    both["lag"] = (month_number(both["month"]) - month_number(origin) + 1).astype(np.int64)
    both = _with_level_keys(both, products)
    pos = both["actual"] > 0
    both["ape"] = (both["forecast"] - both["actual"]).abs().where(pos) / both["actual"].where(pos)
    for level in COVERAGE_LEVELS:
        lo, hi = f"yhat_lo_{level}", f"yhat_hi_{level}"
        if lo in both.columns and hi in both.columns:
            inside = (both[lo] <= both["actual"]) & (both["actual"] <= both[hi])
            unbounded = both[lo].isna() | both[hi].isna()
        else:
            inside = pd.Series(False, index=both.index)
            unbounded = pd.Series(True, index=both.index)
        both[f"_in_{level}"] = inside.astype(float)
        both[f"_unbounded_{level}"] = unbounded.astype(np.int64)

    parts = []
    for level, col in zip(ACCURACY_LEVELS, _LEVEL_COLUMNS, strict=True):
        g = both.groupby([col, "lag"], sort=True).agg(
            family=("family", "first"),
            actual=("actual", "sum"),
            forecast=("forecast", "sum"),
            mape=("ape", "mean"),
            _series=("actual", "size"),
            **{f"_{c}_{lv}": (f"_{c}_{lv}", "sum") for lv in COVERAGE_LEVELS for c in _IN},
        )
        for lv in COVERAGE_LEVELS:
            covered = g[f"_in_{lv}"] / g["_series"]
            g[f"coverage_{lv}"] = covered.where(g[f"_unbounded_{lv}"] == 0)
        g = g.reset_index().rename(columns={col: "key"})
        if level == "total":
            g["family"] = None
        g.insert(0, "level", level)
        parts.append(g)
    acc = pd.concat(parts, ignore_index=True)
    acc.insert(0, "model", model)
    acc["family"] = acc["family"].astype(object)
    acc["abs_error"] = (acc["forecast"] - acc["actual"]).abs()
    acc = _add_ratios(acc)
    scales = _seasonal_scales(both, sales_history, products, origin, m)
    acc = acc.merge(scales, on=["level", "key"], how="left")
    acc["mase"] = acc["abs_error"] / acc["scale"]
    return acc[ACCURACY_COLUMNS]


#: the columns of :func:`_with_level_keys` that name a row's key at each accuracy level
_LEVEL_COLUMNS = ("_total", "_family", "sku", "_sku_region")
_IN = ("in", "unbounded")


def _with_level_keys(frame: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (sku, region, ...) with family and the key columns of every level."""
    family = family_of(products, frame["sku"], "sales_history").to_numpy()
    return frame.assign(
        family=family,
        _total="Total",
        _family=family,  # grouped by as the key, and kept as the family
        _sku_region=frame["sku"].astype(str) + " / " + frame["region"].astype(str),
    )


def _seasonal_scales(
    scored: pd.DataFrame,
    sales_history: pd.DataFrame,
    products: pd.DataFrame,
    origin: pd.Timestamp,
    m: int,
) -> pd.DataFrame:
    """MASE's scale of every key: the mean |Y_t - Y_{t-m}| of its series before ``origin``.

    The series are those of ``scored`` (its sku x region pairs); each lives from its first
    month of history to the month before ``origin``, 0 where it has no row, and a key's
    series Y is their sum. Returns level, key, scale (NaN where there is no seasonal
    difference, or all are 0).
    """
    series = scored[["sku", "region"]].drop_duplicates()
    hist = sales_history.loc[
        sales_history["month"] < origin, ["sku", "region", "month", "qty"]
    ].merge(series, on=["sku", "region"])
    hist = hist.assign(_m=month_number(hist["month"]))
    hist = hist.groupby(["sku", "region", "_m"], as_index=False)["qty"].sum()
    end = month_number(origin)  # first month not in the history
    first = hist.groupby(["sku", "region"], as_index=False)["_m"].min()
    span = end - first["_m"].to_numpy()
    grid = first.loc[first.index.repeat(span), ["sku", "region"]].reset_index(drop=True)
    grid["_m"] = np.concatenate([np.arange(a, end) for a in first["_m"]]) if len(grid) else []
    grid = grid.merge(hist, on=["sku", "region", "_m"], how="left").fillna({"qty": 0.0})
    grid = _with_level_keys(grid, products)
    parts = []
    for level, col in zip(ACCURACY_LEVELS, _LEVEL_COLUMNS, strict=True):
        # every series runs to the month before the origin, so a key's months are
        # consecutive from its first: the m-th row back in the key is the month t - m
        y = grid.groupby([col, "_m"], sort=True)["qty"].sum()
        diff = y.groupby(level=0).diff(m).abs()
        scale = diff.groupby(level=0).mean()
        parts.append(
            pd.DataFrame(
                {"level": level, "key": scale.index, "scale": scale.where(scale > 0).to_numpy()}
            )
        )
    return pd.concat(parts, ignore_index=True)


def _add_ratios(df: pd.DataFrame) -> pd.DataFrame:
    actual = df["actual"].where(df["actual"] != 0)
    df["wape"] = df["abs_error"] / actual
    df["bias"] = (df["forecast"] - df["actual"]) / actual
    return df


def summarise_accuracy(accuracy: pd.DataFrame, level: str = "family") -> pd.DataFrame:
    """Pool all lags of the ``accuracy`` artifact per key, for one level.

    Sums actual, forecast and abs_error over lags, then wape = abs_error / actual,
    bias = (forecast - actual) / actual (NaN when the pooled actual is 0) and
    accuracy = 1 - wape (negative when the errors exceed the demand).

    Parameters
    ----------
    accuracy : pandas.DataFrame
        The ``accuracy`` artifact from :func:`backtest_seasonal_naive`.
    level : {"family", "sku_region", "sku", "total"}, default "family"
        Which level to summarise. A family figure sums the family's SKUs and regions
        before measuring, so their errors partly cancel; read it beside the
        ``sku_region`` figures (see :func:`accuracy_by_family`).

    Returns
    -------
    pandas.DataFrame
        model, key, actual, forecast, wape, bias, accuracy; one row per model x key,
        sorted by model and key. ``model`` is kept so that several engines' rows are
        never pooled together.

    Raises
    ------
    SopError
        If ``level`` is not one of the levels or columns are missing.

    Examples
    --------
    >>> summarise_accuracy(acc, "sku_region").iloc[0]["key"]  # doctest: +SKIP
    'BL-0001 / North'
    """
    _check_level(level)
    require_columns(
        accuracy, "accuracy", ["model", "level", "key", "actual", "forecast", "abs_error"]
    )
    rows = accuracy.loc[accuracy["level"] == level]
    out = rows.groupby(["model", "key"], as_index=False, sort=True)[
        ["actual", "forecast", "abs_error"]
    ].sum()
    out = _add_ratios(out)
    out["accuracy"] = 1.0 - out["wape"]
    return out[["model", "key", "actual", "forecast", "wape", "bias", "accuracy"]]


def accuracy_by_family(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Each family's accuracy two ways, side by side, and a Total row.

    - ``pooled_accuracy`` = 1 - sum over lags of |family forecast - family actual| /
      actual: the family's SKUs and regions are summed first, so over- and
      under-forecasts cancel (on the Total row, all SKUs are summed: level total);
    - ``sku_region_accuracy`` = 1 - sum of |forecast - actual| of every SKU in every
      region and lag / actual: the level the plan is made, the one to judge the
      forecast by. It is never above the pooled figure.

    Parameters
    ----------
    accuracy : pandas.DataFrame
        The ``accuracy`` artifact (model, level, key, family, actual, forecast,
        abs_error), with rows of levels total, family and sku_region.

    Returns
    -------
    pandas.DataFrame
        model, level ("family", or "total" for the model's last row, labelled "Total"),
        family, actual, forecast, bias, pooled_accuracy, sku_region_accuracy
        (fractions, 0.85 = 85 %; NaN where nothing was sold); one row per model x
        family, sorted, then the model's total row.

    Raises
    ------
    SopError
        If columns are missing.

    Examples
    --------
    >>> accuracy_by_family(acc).iloc[-1]["family"]  # doctest: +SKIP
    'Total'
    """
    require_columns(
        accuracy,
        "accuracy",
        ["model", "level", "key", "family", "actual", "forecast", "abs_error"],
    )
    sums = ["actual", "forecast", "abs_error"]
    pooled = accuracy.loc[accuracy["level"].isin(["family", "total"])].assign(
        family=lambda f: f["key"]
    )
    pooled = pooled.groupby(["model", "level", "family"], as_index=False, sort=True)[sums].sum()
    fine = accuracy.loc[accuracy["level"] == "sku_region"]
    # the total is told by its level, not its label: a family may be called "Total"
    fine = pd.concat(
        [
            fine.groupby(["model", "family"], as_index=False, sort=True)["abs_error"]
            .sum()
            .assign(level="family"),
            fine.groupby("model", as_index=False)["abs_error"]
            .sum()
            .assign(level="total", family="Total"),
        ],
        ignore_index=True,
    ).rename(columns={"abs_error": "sku_region_error"})
    out = pooled.merge(fine, on=["model", "level", "family"], how="left")
    # the engine first, then its benchmark; each model's families, then its total
    order = {"model": lambda c: c.ne(STATISTICAL).astype(str) + c, "level": lambda c: c.eq("total")}
    out = out.sort_values(
        ["model", "level", "family"], key=lambda c: order.get(c.name, lambda x: x)(c)
    )
    out = _add_ratios(out.reset_index(drop=True))
    actual = out["actual"].where(out["actual"] != 0)
    out["pooled_accuracy"] = 1.0 - out["wape"]
    out["sku_region_accuracy"] = 1.0 - out["sku_region_error"] / actual
    return out[
        [
            "model", "level", "family", "actual", "forecast", "bias", "pooled_accuracy",
            "sku_region_accuracy",
        ]
    ]  # fmt: skip


def pooled_wape(
    accuracy: pd.DataFrame, level: str = "sku_region", model: str | None = None
) -> float:
    """WAPE pooled over every key and lag of one level: sum |error| / sum actual.

    At ``level="sku_region"`` (the default) this is the error of the plan as it is
    made, SKU by SKU and region by region; at ``"sku"`` a SKU's regions are summed
    first, and at ``"family"`` or ``"total"`` errors of opposite sign cancel and the
    figure flatters the method. Show a pooled figure beside the SKU x region one,
    never alone.

    Parameters
    ----------
    accuracy : pd.DataFrame
        The ``accuracy`` artifact (level, abs_error, actual).
    level : {"sku_region", "sku", "family", "total"}, default "sku_region"
    model : str, optional
        The model whose rows to pool; needed when ``accuracy`` holds several.

    Returns
    -------
    float
        The WAPE as a fraction (0.25 = 25 %); NaN when nothing was sold.

    Raises
    ------
    SopError
        If ``level`` is not one of the levels, or ``model`` is not given and
        ``accuracy`` holds the rows of several models (or names none of them).

    Examples
    --------
    >>> acc = pd.DataFrame(
    ...     {"level": ["sku_region"] * 2, "abs_error": [2.0, 3.0], "actual": [10.0, 40.0]}
    ... )
    >>> pooled_wape(acc)
    0.1
    """
    _check_level(level)
    require_columns(accuracy, "accuracy", ["level", "abs_error", "actual"])
    rows = accuracy.loc[accuracy["level"] == level]
    if "model" in rows.columns:
        found = sorted(rows["model"].dropna().unique())
        if model is None and len(found) > 1:
            raise SopError(
                f"accuracy holds the rows of {len(found)} models ({', '.join(found)}); "
                "name the one to pool with model="
            )
        if model is not None:
            if model not in found and found:
                raise SopError(
                    f"accuracy has no rows of model {model!r}; it has {', '.join(found)}"
                )
            rows = rows.loc[rows["model"] == model]
    actual = rows["actual"].sum()
    return float(rows["abs_error"].sum() / actual) if actual > 0 else float("nan")


def summarise_mase_coverage(accuracy: pd.DataFrame, *, by_lag: bool = False) -> pd.DataFrame:
    """MASE and interval coverage of each level of the ``accuracy`` artifact.

    Each figure is the average key's: per model, level (and lag, with ``by_lag``),

    - wape = sum abs_error / sum actual over the level's keys and lags (as
      :func:`pooled_wape`), for reference;
    - mase = the mean over the level's keys of the key's MASE, which pooled over lags is
      its mean absolute error over its scale (the mean of its rows' mase); keys without
      a scale (too short or constant a history, see :func:`backtest_seasonal_naive`) are
      left out and counted in ``keys_without_scale``. At the total it is the total's
      own MASE; at ``sku_region``, the mean over the series, as the M4 competition
      averages MASE. A few series with a nearly flat history have a tiny scale and a
      large MASE, which the mean feels: ``mase_median``, the median over the same keys,
      is the typical key's;
    - coverage_80, coverage_95 = the mean over the level's keys of the share of each
      key's SKU x region series-months inside the interval. At the total and at
      ``sku_region`` that is the share of all series-months; at family and sku each key
      counts once, however many series it has. The nominal 0.80 and 0.95 are what a
      well-calibrated interval reaches.

    Parameters
    ----------
    accuracy : pandas.DataFrame
        The ``accuracy`` artifact (model, level, key, lag, actual, abs_error, mase,
        coverage_80, coverage_95).
    by_lag : bool, default False
        One row per lag instead of all lags pooled.

    Returns
    -------
    pandas.DataFrame
        model, level, (lag,) keys, keys_without_scale, wape, mase, mase_median,
        coverage_80, coverage_95; the engine's rows first, levels in the order total, family, sku,
        sku_region.

    Raises
    ------
    SopError
        If columns are missing.

    Examples
    --------
    >>> acc = pd.DataFrame({
    ...     "model": "statistical", "level": "sku_region", "key": ["A / N", "B / N"],
    ...     "lag": 1, "actual": [10.0, 30.0], "abs_error": [2.0, 6.0],
    ...     "mase": [0.5, 1.5], "coverage_80": [1.0, 0.0], "coverage_95": [1.0, 1.0],
    ... })
    >>> summarise_mase_coverage(acc)[["level", "wape", "mase", "coverage_80"]]
            level  wape  mase  coverage_80
    0  sku_region   0.2   1.0          0.5
    """
    metrics = ["mase", "coverage_80", "coverage_95"]
    require_columns(
        accuracy, "accuracy", ["model", "level", "key", "lag", "actual", "abs_error", *metrics]
    )
    lags = ["lag"] if by_lag else []
    per_key = accuracy.groupby(["model", "level", "key", *lags], sort=False).agg(
        actual=("actual", "sum"),
        abs_error=("abs_error", "sum"),
        **{c: (c, "mean") for c in metrics},
    )
    per_key["_unscaled"] = per_key["mase"].isna()
    out = per_key.groupby(["model", "level", *lags], sort=False).agg(
        keys=("actual", "size"),
        keys_without_scale=("_unscaled", "sum"),
        actual=("actual", "sum"),
        abs_error=("abs_error", "sum"),
        mase_median=("mase", "median"),
        **{c: (c, "mean") for c in metrics},
    )
    out = out.reset_index()
    out["wape"] = out["abs_error"] / out["actual"].where(out["actual"] != 0)
    out[["keys", "keys_without_scale"]] = out[["keys", "keys_without_scale"]].astype(np.int64)
    order = {lv: i for i, lv in enumerate(ACCURACY_LEVELS)}
    out = out.assign(
        _model=out["model"].ne(STATISTICAL), _level=out["level"].map(order).fillna(len(order))
    ).sort_values(["_model", "model", "_level", *lags], kind="mergesort")
    columns = ["model", "level", *lags, "keys", "keys_without_scale", "wape", "mase"]
    columns += ["mase_median", "coverage_80", "coverage_95"]
    return out[columns].reset_index(drop=True)


#: the levels :func:`value_added_over_naive` measures, and the key of its ``sku_region`` row
VALUE_ADDED_LEVELS = ("total", "family", "sku_region")
ALL_SERIES = "all SKU x region series"


def value_added_over_naive(accuracy: pd.DataFrame, *, by_lag: bool = False) -> pd.DataFrame:
    """Forecast value added of the statistical forecast over seasonal naive, from a backtest.

    From the ``accuracy`` artifact's rows of the two models (``backtest`` writes both on
    the same holdout), summed over the lags (and, with ``by_lag``, lag by lag):

    - wape_seasonal_naive = sum abs_error of seasonal naive / sum actual, wape_statistical
      the same of the engine (NaN when nothing was sold);
    - fva_wape = wape_seasonal_naive - wape_statistical, in WAPE points as
      :func:`value_added_by_author` and :func:`plan_accuracy` word it: positive where
      the statistical forecast came closer to what happened than seasonal naive, the
      value the engine adds; negative where the benchmark would have done better.

    Rows: the total (level ``total``, all SKUs summed, where errors of opposite sign
    cancel), each family (level ``family``, its SKUs and regions summed) and, overall
    at the level the plan is made, every SKU in every region (level ``sku_region``, key
    :data:`ALL_SERIES`: each series' absolute errors added up, none cancelling).

    Parameters
    ----------
    accuracy : pandas.DataFrame
        The ``accuracy`` artifact with rows of models ``"statistical"`` and
        ``"seasonal_naive"`` (model, level, key, family, lag, actual, abs_error).
    by_lag : bool, default False
        One row per lag instead of all lags pooled.

    Returns
    -------
    pandas.DataFrame
        level, key, family (None for the total and the overall row), (lag,) actual,
        abs_error_seasonal_naive, abs_error_statistical, wape_seasonal_naive,
        wape_statistical, fva_wape; the total, the families sorted, then the overall
        row.

    Raises
    ------
    SopError
        If columns are missing, one of the two models has no rows, or their actuals
        differ (they were not measured on the same holdout).

    Examples
    --------
    >>> acc = pd.DataFrame({
    ...     "model": ["statistical", "seasonal_naive"], "level": "total", "key": "Total",
    ...     "family": None, "lag": 1, "actual": 100.0, "abs_error": [10.0, 25.0],
    ... })
    >>> value_added_over_naive(acc)[["key", "wape_seasonal_naive", "wape_statistical", "fva_wape"]]
         key  wape_seasonal_naive  wape_statistical  fva_wape
    0  Total                 0.25               0.1      0.15
    """
    require_columns(
        accuracy, "accuracy", ["model", "level", "key", "family", "lag", "actual", "abs_error"]
    )
    rows = accuracy.loc[accuracy["level"].isin(VALUE_ADDED_LEVELS)].copy()
    found = set(rows["model"])
    missing = [m for m in (SEASONAL_NAIVE, STATISTICAL) if m not in found]
    if missing:
        raise SopError(
            f"accuracy has no rows of model {' or '.join(map(repr, missing))} at the total, "
            "family or SKU x region level; pass the accuracy of sopkit.demand.backtest, which "
            "measures both on the same holdout."
        )
    fine = rows["level"] == "sku_region"
    rows.loc[fine, "key"] = ALL_SERIES
    rows.loc[fine, "family"] = None
    lags = ["lag"] if by_lag else []
    keys = ["level", "key", *lags]
    sums = rows.groupby(["model", *keys], sort=False, dropna=False).agg(
        family=("family", "first"), actual=("actual", "sum"), abs_error=("abs_error", "sum")
    )
    engine = sums.loc[STATISTICAL]
    naive = sums.loc[SEASONAL_NAIVE]
    out = engine.join(naive, how="outer", lsuffix="_statistical", rsuffix="_seasonal_naive")
    apart = ~np.isclose(
        out["actual_statistical"], out["actual_seasonal_naive"], rtol=1e-9, atol=1e-6
    )
    if apart.any():
        where = ", ".join(f"{k[1]} ({k[0]})" for k in out.index[apart][:5])
        raise SopError(
            f"the statistical and seasonal naive rows of accuracy measure different actuals "
            f"at {where}: they come from different holdouts. Measure both with "
            "sopkit.demand.backtest on the same cycle and holdout."
        )
    out = out.reset_index()
    out["family"] = out["family_statistical"].astype(object)
    out["family"] = out["family"].where(out["level"] == "family", None)
    out["actual"] = out["actual_statistical"]
    actual = out["actual"].where(out["actual"] != 0)
    for model in (SEASONAL_NAIVE, STATISTICAL):
        out[f"wape_{model}"] = out[f"abs_error_{model}"] / actual
    out["fva_wape"] = out["wape_seasonal_naive"] - out["wape_statistical"]
    order = {lv: i for i, lv in enumerate(VALUE_ADDED_LEVELS)}
    out = out.assign(_level=out["level"].map(order)).sort_values(
        ["_level", "key", *lags], kind="mergesort"
    )
    columns = ["level", "key", "family", *lags, "actual"]
    columns += [f"abs_error_{m}" for m in (SEASONAL_NAIVE, STATISTICAL)]
    columns += [f"wape_{m}" for m in (SEASONAL_NAIVE, STATISTICAL)] + ["fva_wape"]
    return out[columns].reset_index(drop=True)


def _check_level(level: str) -> None:
    if level not in ACCURACY_LEVELS:
        raise SopError(f"level must be one of {', '.join(ACCURACY_LEVELS)}; got {level!r}.")


# --------------------------------------------------------------------------- plans of record

#: the family of an earlier plan's SKU that the products table no longer lists
DROPPED_FAMILY = "(no longer in products)"
#: Levels of :func:`plan_accuracy`, the plan's own level first: each SKU in each region,
#: then a family's SKUs and regions summed, then all SKUs summed.
PLAN_ACCURACY_LEVELS = ("sku_region", "family", "total")
PLAN_ACCURACY_COLUMNS = [
    "cycle",
    "month",
    "lag",
    "level",
    "key",
    "family",
    "actual",
    "statistical",
    "consensus",
    "abs_error_statistical",
    "abs_error_consensus",
    "wape_statistical",
    "wape_consensus",
    "bias_statistical",
    "bias_consensus",
    "fva_wape",
]
_PLAN_SUMS = [
    "actual",
    "statistical",
    "consensus",
    "abs_error_statistical",
    "abs_error_consensus",
]
_PLAN_RATIOS = [
    "wape_statistical",
    "wape_consensus",
    "bias_statistical",
    "bias_consensus",
    "fva_wape",
]
_SUMMARY_KEYS = ("cycle", "month", "lag", "level", "key", "family")
AUTHOR_VALUE_COLUMNS = [
    "author",
    "source",
    "cycles",
    "rows",
    "effect",
    "actual",
    "statistical",
    "adjusted",
    "abs_error_statistical",
    "abs_error_adjusted",
    "wape_statistical",
    "wape_adjusted",
    "fva_wape",
]
_AUTHOR_KEYS = ("cycle", "month", "lag", "author", "source")
_LEVEL_KEY = {"sku_region": "_sku_region", "family": "_family", "total": "_total"}


def plan_accuracy(
    earlier_plans: pd.DataFrame,
    sales_history: pd.DataFrame,
    products: pd.DataFrame,
    cycle: pd.Timestamp | str,
) -> pd.DataFrame:
    """How accurate the plans of record of earlier cycles were, now that their months passed.

    For every earlier cycle c and every month m it planned with c <= m < ``cycle`` and m
    within ``sales_history`` (a month after the last month of history has not been
    measured yet), the plan's ``statistical`` forecast and its ``consensus`` are compared
    with what was sold, at lag = months from c to m + 1 (lag 1 = the cycle's own month,
    the plan's first). The actual is ``sales_history`` summed per SKU x region x month; a
    planned row without sales has actual 0, and sales in a month the cycle planned
    without a planned row (a new SKU or region) count with statistical = consensus = 0.

    For each cycle, lag and key of a level, with P the plan (statistical or consensus)
    and A the actual summed over the key's SKU x region rows:

    - abs_error_P = |sum P - sum A|: at level ``sku_region`` the row's own error; at
      ``family`` and ``total`` the rows are summed first, as in
      :func:`backtest_seasonal_naive`, so errors of opposite sign cancel;
    - wape_P = abs_error_P / sum A, bias_P = (sum P - sum A) / sum A (NaN when nothing
      was sold; a positive bias is over-planning);
    - fva_wape = wape_statistical - wape_consensus, the forecast value added of the
      adjustments (inputs of sales and marketing, sopkit's end-of-life rule), in WAPE
      points: positive where they brought the plan closer to what happened.

    Pool several keys, lags or cycles with :func:`summarise_plan_accuracy` (it sums the
    absolute errors, never the ratios).

    Parameters
    ----------
    earlier_plans : pandas.DataFrame
        The ``demand_plan`` artifact of the earlier cycles, stacked with a ``cycle``
        column ("YYYY-MM"), as ``ctx.earlier("demand_plan")`` or
        ``PlanArchive.read("demand_plan", before=...)`` returns it; cycle, sku, region,
        month, statistical and consensus are read. Empty: the first cycle of record.
    sales_history : pandas.DataFrame
        sku, region, month, qty: the current cycle's history, holding the actuals up
        to the month before ``cycle``.
    products : pandas.DataFrame
        sku, family, one row per SKU. A SKU of an earlier plan that products no longer
        lists is counted under the family :data:`DROPPED_FAMILY`.
    cycle : pandas.Timestamp or str
        The current planning month; months from it on have not happened.

    Returns
    -------
    pandas.DataFrame
        One row per cycle x lag x level x key: cycle ("YYYY-MM"), month (the month
        measured), lag, level (sku_region, family, total), key ("A-102 / North", the
        family, or "Total"), family (None at level total), actual, statistical,
        consensus, abs_error_statistical, abs_error_consensus, wape_statistical,
        wape_consensus, bias_statistical, bias_consensus, fva_wape (fractions, 0.05 =
        5 points); sorted by cycle, lag, level in that order and key. Empty, with these
        columns, when no earlier plan has a month that has passed.

    Raises
    ------
    SopError
        A missing column, a ``cycle`` value that is not a month "YYYY-MM", a plan row
        listed twice in one cycle or without a statistical or consensus quantity, or a
        SKU that ``products`` does not list (or lists twice).

    Examples
    --------
    >>> plans = pd.DataFrame({
    ...     "cycle": "2026-10", "sku": ["A", "B"], "region": "North",
    ...     "month": pd.Timestamp("2026-10-01"),
    ...     "statistical": [10.0, 8.0], "consensus": [12.0, 6.0],
    ... })
    >>> sales = pd.DataFrame({
    ...     "sku": ["A", "B"], "region": "North", "month": pd.Timestamp("2026-10-01"),
    ...     "qty": [12.0, 4.0],
    ... })
    >>> products = pd.DataFrame({"sku": ["A", "B"], "family": ["F", "F"]})
    >>> acc = plan_accuracy(plans, sales, products, "2026-11")
    >>> acc.loc[acc["level"] == "sku_region", ["key", "wape_statistical", "wape_consensus"]]
             key  wape_statistical  wape_consensus
    0  A / North          0.166667             0.0
    1  B / North          1.000000             0.5
    >>> acc.loc[acc["level"] == "total", ["lag", "fva_wape"]]  # |18-16| / 16 - |18-16| / 16
       lag  fva_wape
    3    1       0.0
    """
    rows = _passed_plan_rows(earlier_plans, sales_history, cycle)
    if rows.empty:
        return _empty(PLAN_ACCURACY_COLUMNS, text=("cycle", "level", "key", "family"))
    # An item dropped from the catalogue since an earlier plan keeps its place in the
    # accuracy of that plan, under a family that says so, rather than stopping the stage.
    known = rows["sku"].isin(products["sku"]).to_numpy()
    family = np.full(len(rows), DROPPED_FAMILY, dtype=object)
    family[known] = family_of(
        products, rows.loc[known, "sku"], "the earlier demand plans or sales_history"
    ).to_numpy()
    rows["family"] = family
    rows["_sku_region"] = rows["sku"].astype(str) + " / " + rows["region"].astype(str)
    rows["_family"] = rows["family"]
    rows["_total"] = "Total"
    parts = []
    for level in PLAN_ACCURACY_LEVELS:
        g = rows.groupby(["cycle", "month", "lag", _LEVEL_KEY[level]], sort=True).agg(
            family=("family", "first"),
            actual=("actual", "sum"),
            statistical=("statistical", "sum"),
            consensus=("consensus", "sum"),
        )
        g = g.reset_index().rename(columns={_LEVEL_KEY[level]: "key"})
        g.insert(3, "level", level)
        if level == "total":
            g["family"] = None
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    out["family"] = out["family"].astype(object)
    for plan in ("statistical", "consensus"):
        out[f"abs_error_{plan}"] = (out[plan] - out["actual"]).abs()
    out = _plan_ratios(out)
    order = out["level"].map({lv: i for i, lv in enumerate(PLAN_ACCURACY_LEVELS)})
    out = out.assign(_order=order).sort_values(["cycle", "lag", "_order", "key"])
    return out[PLAN_ACCURACY_COLUMNS].reset_index(drop=True)


def summarise_plan_accuracy(
    accuracy: pd.DataFrame, by: tuple[str, ...] | list[str] = ("lag", "level")
) -> pd.DataFrame:
    """Pool the rows of :func:`plan_accuracy` over cycles, keys or lags.

    The absolute errors, actuals and plans are summed over the rows pooled, then
    wape_P = sum abs_error_P / sum actual, bias_P = (sum P - sum actual) / sum actual
    and fva_wape = wape_statistical - wape_consensus. At level ``sku_region`` that is
    the error of the plan as it is made, SKU by SKU and region by region; at ``family``
    and ``total`` each family's (or all SKUs') sum was compared with what it sold, so
    the figure reads lower. Read them side by side, never the pooled one alone.

    Parameters
    ----------
    accuracy : pandas.DataFrame
        The table :func:`plan_accuracy` returns.
    by : sequence of str, default ("lag", "level")
        The columns to keep, among cycle, month, lag, level, key and family; level must
        be one of them (errors of different levels are never added up). The default
        gives accuracy by lag over every earlier cycle: SKU x region beside family and
        total, lag by lag.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, then cycles (how many cycles were pooled), first_month and
        last_month (the months measured), actual, statistical, consensus,
        abs_error_statistical, abs_error_consensus, wape_statistical, wape_consensus,
        bias_statistical, bias_consensus, fva_wape; sorted by ``by`` (levels in the
        order sku_region, family, total). Empty, with these columns, for an empty input.

    Raises
    ------
    SopError
        A missing column, or ``by`` without level or with a column it cannot keep.

    Examples
    --------
    >>> by_lag = summarise_plan_accuracy(acc)  # doctest: +SKIP
    >>> by_lag[["lag", "level", "wape_statistical", "wape_consensus", "fva_wape"]]  # doctest: +SKIP
       lag       level  wape_statistical  wape_consensus  fva_wape
    0    1  sku_region          0.263158        0.210526  0.052632
    """
    by = list(by)
    bad = [c for c in by if c not in _SUMMARY_KEYS]
    if bad or "level" not in by or len(set(by)) != len(by):
        raise SopError(
            f"by must name distinct columns among {', '.join(_SUMMARY_KEYS)}, level "
            f"among them; got {by!r}."
        )
    require_columns(accuracy, "plan accuracy", ["cycle", "month", *by, *_PLAN_SUMS])
    columns = [*by, "cycles", "first_month", "last_month", *_PLAN_SUMS, *_PLAN_RATIOS]
    if accuracy.empty:
        return _empty(columns, text=tuple(c for c in by if c not in ("lag", "month")))
    out = accuracy.groupby(by, sort=False, dropna=False).agg(
        cycles=("cycle", "nunique"),
        first_month=("month", "min"),
        last_month=("month", "max"),
        **{c: (c, "sum") for c in _PLAN_SUMS},
    )
    out = _plan_ratios(out.reset_index())
    out["cycles"] = out["cycles"].astype(np.int64)
    if "family" in by:  # the total's family stays None, as in plan_accuracy
        out["family"] = out["family"].astype(object).where(out["family"].notna(), None)
    order = out["level"].map({lv: i for i, lv in enumerate(PLAN_ACCURACY_LEVELS)})
    keys = ["_order" if c == "level" else c for c in by]
    out = out.assign(_order=order).sort_values(keys, kind="mergesort")
    return out[columns].reset_index(drop=True)


def value_added_by_author(
    earlier_plans: pd.DataFrame,
    earlier_adjustments: pd.DataFrame,
    sales_history: pd.DataFrame,
    cycle: pd.Timestamp | str,
    *,
    by: tuple[str, ...] | list[str] = ("author",),
) -> pd.DataFrame:
    """Whose adjustments helped: each author's inputs against the statistical forecast.

    For each author, the SKU x region x month rows of earlier plans that the author's
    adjustments touched, in months that have passed (as in :func:`plan_accuracy`: c <=
    m < ``cycle`` and m within ``sales_history``), are measured twice: the statistical
    forecast S alone, and S with that author's effects E only, floored at 0 as the
    consensus is (adjusted = max(0, S + E)). With A the actual of the row (0 without
    sales), summed over the rows:

    - wape_statistical = sum |S - A| / sum A, wape_adjusted = sum |adjusted - A| /
      sum A (NaN when nothing was sold on those rows; the absolute errors still show
      what the author changed);
    - fva_wape = wape_statistical - wape_adjusted: positive where the author's inputs
      brought the plan closer to what happened.

    Errors are measured row by row (SKU x region x month), the level at which inputs
    change the plan. Each author is measured alone, so where two authors touched one
    row their figures do not add up to the consensus's (:func:`plan_accuracy`). sopkit's
    own planning rules (end of life) appear under the author "sopkit".

    Parameters
    ----------
    earlier_plans : pandas.DataFrame
        As for :func:`plan_accuracy` (cycle, sku, region, month, statistical read).
    earlier_adjustments : pandas.DataFrame
        The ``adjustments`` artifact of the same earlier cycles with their ``cycle``
        column, as ``ctx.earlier("adjustments")`` returns it; cycle, sku, region, month,
        source, author and effect are read.
    sales_history : pandas.DataFrame
        sku, region, month, qty.
    cycle : pandas.Timestamp or str
        The current planning month.
    by : sequence of str, default ("author",)
        The columns to keep, among cycle, month, lag, author and source; author must be
        one of them. ``("cycle", "author")`` measures each cycle apart.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, then source (the author's sources, "sales_inputs" or
        "rule", joined with ", ", unless ``by`` holds it), cycles (how many cycles),
        rows (SKU x region x month rows touched), effect (units the author added,
        negative when removed), actual, statistical, adjusted (summed over the rows),
        abs_error_statistical, abs_error_adjusted, wape_statistical, wape_adjusted,
        fva_wape; sorted by ``by``. Empty, with these columns, when no earlier
        adjustment touched a month that has passed.

    Raises
    ------
    SopError
        As :func:`plan_accuracy`; ``by`` without author or with a column it cannot
        keep; an adjustment on a row the plan of its cycle does not have.

    Examples
    --------
    >>> plans = pd.DataFrame({
    ...     "cycle": "2026-10", "sku": ["A", "B"], "region": "North",
    ...     "month": pd.Timestamp("2026-10-01"),
    ...     "statistical": [10.0, 8.0], "consensus": [12.0, 2.0],
    ... })
    >>> adjustments = plans[["cycle", "sku", "region", "month"]].assign(
    ...     source="sales_inputs", author=["j.doe", "m.keller"], effect=[2.0, -6.0]
    ... )
    >>> sales = pd.DataFrame({
    ...     "sku": ["A", "B"], "region": "North", "month": pd.Timestamp("2026-10-01"),
    ...     "qty": [12.0, 4.0],
    ... })
    >>> value_added_by_author(plans, adjustments, sales, "2026-11")[
    ...     ["author", "wape_statistical", "wape_adjusted", "fva_wape"]
    ... ]
         author  wape_statistical  wape_adjusted  fva_wape
    0     j.doe          0.166667            0.0  0.166667
    1  m.keller          1.000000            0.5  0.500000
    """
    by = list(by)
    bad = [c for c in by if c not in _AUTHOR_KEYS]
    if bad or "author" not in by or len(set(by)) != len(by):
        raise SopError(
            f"by must name distinct columns among {', '.join(_AUTHOR_KEYS)}, author "
            f"among them; got {by!r}."
        )
    keys = ["cycle", "sku", "region", "month"]
    require_columns(
        earlier_adjustments, "earlier adjustments", [*keys, "source", "author", "effect"]
    )
    columns = [*by, *[c for c in AUTHOR_VALUE_COLUMNS if c not in by]]
    empty = _empty(columns, text=tuple(c for c in columns if c in ("cycle", "author", "source")))
    empty[["cycles", "rows"]] = empty[["cycles", "rows"]].astype(np.int64)
    rows = _passed_plan_rows(earlier_plans, sales_history, cycle, keep_unsold=False)
    if rows.empty or earlier_adjustments.empty:
        return empty
    adj = earlier_adjustments[[*keys, "source", "author", "effect"]].copy()
    adj["cycle"] = adj["cycle"].astype(str)
    adj["author"] = adj["author"].fillna("(no author)")
    touched = adj.groupby([*keys, "author"], as_index=False, sort=False).agg(
        source=("source", _join_distinct), effect=("effect", "sum")
    )
    origin = _cycle_months(touched["cycle"], "earlier adjustments")
    first_unmeasured = _first_unmeasured(sales_history, month_start(cycle))
    passed = (touched["month"] >= origin) & (touched["month"] < first_unmeasured)
    touched = touched.loc[passed.to_numpy()]
    if touched.empty:
        return empty
    touched = touched.merge(
        rows[[*keys, "lag", "statistical", "actual"]], on=keys, how="left", indicator=True
    )
    orphan = touched["_merge"] == "left_only"
    if orphan.any():
        where = touched.loc[orphan].head(5)
        shown = "; ".join(
            f"{r.cycle}: {r.sku} / {r.region} {r.month:%Y-%m}" for r in where.itertuples()
        )
        raise SopError(
            f"earlier adjustments touch {int(orphan.sum())} row(s) that the demand plan of "
            f"their cycle does not have ({shown}): those cycles' stage 2 tables disagree. "
            "Run stage 2 of each cycle named again (`sop run --cycle YYYY-MM --from 2 "
            "--force`), or pass the adjustments and demand_plan artifacts of the same cycles."
        )
    touched["adjusted"] = np.maximum(touched["statistical"] + touched["effect"], 0.0)
    touched["abs_error_statistical"] = (touched["statistical"] - touched["actual"]).abs()
    touched["abs_error_adjusted"] = (touched["adjusted"] - touched["actual"]).abs()
    sums = ["effect", "actual", "statistical", "adjusted"]
    sums += ["abs_error_statistical", "abs_error_adjusted"]
    agg = {
        "cycles": ("cycle", "nunique"),
        "rows": ("sku", "size"),
        **{c: (c, "sum") for c in sums},
    }
    if "source" not in by:
        agg = {"source": ("source", _join_distinct), **agg}
    out = touched.groupby(by, sort=True).agg(**agg).reset_index()
    actual = out["actual"].where(out["actual"] != 0)
    out["wape_statistical"] = out["abs_error_statistical"] / actual
    out["wape_adjusted"] = out["abs_error_adjusted"] / actual
    out["fva_wape"] = out["wape_statistical"] - out["wape_adjusted"]
    out[["cycles", "rows"]] = out[["cycles", "rows"]].astype(np.int64)
    return out[columns].reset_index(drop=True)


def _passed_plan_rows(
    earlier_plans: pd.DataFrame,
    sales_history: pd.DataFrame,
    cycle: pd.Timestamp | str,
    *,
    keep_unsold: bool = True,
) -> pd.DataFrame:
    """The planned rows of months that have passed, with their actuals.

    cycle, sku, region, month, lag, statistical, consensus, actual: every plan row of
    an earlier cycle c with c <= month < the first month not measured (``cycle``, or
    the month after the last month of history if that is earlier), actual 0 where
    nothing was sold; with ``keep_unsold``, also the sales of those months that the
    cycle did not plan (statistical = consensus = 0).
    """
    cycle = month_start(cycle)
    keys = ["cycle", "sku", "region", "month"]
    require_columns(earlier_plans, "earlier demand_plan", [*keys, "statistical", "consensus"])
    require_columns(sales_history, "sales_history", ["sku", "region", "month", "qty"])
    out_columns = [*keys, "lag", "statistical", "consensus", "actual"]
    if earlier_plans.empty or sales_history.empty:
        return pd.DataFrame(columns=out_columns)
    plans = earlier_plans[[*keys, "statistical", "consensus"]].copy()
    plans["cycle"] = plans["cycle"].astype(str)
    reject_duplicates(plans, "earlier demand_plan", keys)
    blank = plans[["statistical", "consensus"]].isna().any(axis=1)
    if blank.any():
        where = plans.loc[blank].head(5)
        shown = "; ".join(
            f"{r.cycle}: {r.sku} / {r.region} {r.month:%Y-%m}" for r in where.itertuples()
        )
        raise SopError(
            f"earlier demand_plan has {int(blank.sum())} row(s) without a statistical or "
            f"consensus quantity ({shown}); run stage 2 of each cycle named again "
            "(`sop run --cycle YYYY-MM --from 2 --force`), or pass the demand_plan artifacts "
            "as stage 2 wrote them."
        )
    origin = _cycle_months(plans["cycle"], "earlier demand_plan")
    end = _first_unmeasured(sales_history, cycle)
    plans = plans.loc[((plans["month"] >= origin) & (plans["month"] < end)).to_numpy()]
    if plans.empty:
        return pd.DataFrame(columns=out_columns)
    sold = sales_history.loc[sales_history["month"] < end, ["sku", "region", "month", "qty"]]
    actual = sold.groupby(["sku", "region", "month"], as_index=False)["qty"].sum()
    if keep_unsold:
        # Sales in the months each cycle planned, whether it planned the row or not.
        planned_months = plans[["cycle", "month"]].drop_duplicates()
        both = plans.merge(
            planned_months.merge(actual, on="month"), on=keys, how="outer", indicator=True
        )
        unplanned = (both["_merge"] == "right_only").to_numpy()
        both.loc[unplanned, ["statistical", "consensus"]] = 0.0
        both = both.drop(columns="_merge")
    else:
        both = plans.merge(actual, on=["sku", "region", "month"], how="left")
    both["actual"] = both["qty"].fillna(0.0).astype(float)
    months = pd.to_datetime(both["month"])
    both["lag"] = (
        month_number(months) - month_number(_cycle_months(both["cycle"], "earlier demand_plan"))
    ).astype(np.int64) + 1
    both["month"] = months.astype("datetime64[ns]")
    return both[out_columns].sort_values(keys, ignore_index=True)


def _first_unmeasured(sales_history: pd.DataFrame, cycle: pd.Timestamp) -> pd.Timestamp:
    """The first month without actuals: ``cycle``, or earlier if the history ends sooner."""
    last = sales_history["month"].max()
    if pd.isna(last):
        return cycle
    return min(cycle, pd.Timestamp(last) + pd.DateOffset(months=1))


def _cycle_months(cycles: pd.Series, table: str) -> pd.Series:
    """The ``cycle`` column ("YYYY-MM") as first-of-month Timestamps."""
    months = pd.to_datetime(cycles.astype(str), format="%Y-%m", errors="coerce")
    bad = months.isna()
    if bad.any():
        shown = ", ".join(map(repr, cycles[bad].astype(str).unique()[:5]))
        raise SopError(
            f"{table}: the cycle column must hold months written YYYY-MM; got {shown}. "
            "Pass the tables as the plan archive (ctx.earlier) returns them."
        )
    return months


def _plan_ratios(df: pd.DataFrame) -> pd.DataFrame:
    actual = df["actual"].where(df["actual"] != 0)
    for plan in ("statistical", "consensus"):
        df[f"wape_{plan}"] = df[f"abs_error_{plan}"] / actual
        df[f"bias_{plan}"] = (df[plan] - df["actual"]) / actual
    df["fva_wape"] = df["wape_statistical"] - df["wape_consensus"]
    return df


def _join_distinct(values: pd.Series) -> str:
    return ", ".join(dict.fromkeys(str(v) for v in values if isinstance(v, str)))


def _empty(columns: list[str], text: tuple[str, ...] = ()) -> pd.DataFrame:
    """An empty table: text columns object, months datetime, lag and counts int, else float."""

    def dtype(name: str) -> str:
        if name in text:
            return "object"
        if name in ("month", "first_month", "last_month"):
            return "datetime64[ns]"
        if name in ("lag", "cycles", "rows"):
            return "int64"
        return "float64"

    return pd.DataFrame({c: pd.Series(dtype=dtype(c)) for c in columns})
