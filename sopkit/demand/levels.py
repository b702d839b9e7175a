"""Stage 2's hierarchy: base forecasts above the SKU x region series, reconciled.

The plan is made per SKU x region (:func:`~sopkit.demand.statistical.statistical_forecast`);
the total, each family, region, family x region and SKU are forecast by the same engine on
their own summed history (:func:`forecast_levels`), and :func:`reconcile_plan` makes the
two coherent by the method of the parameters (``demand.reconciliation``: bottom-up,
top-down by historical proportions, or MinT with shrinkage; see
:mod:`sopkit.demand.hierarchy`). :func:`compare_methods` scores the three on the stage's
backtest, every level against what was sold, which is how the default was chosen.

**MinT's errors** are the base models' in-sample one-step residuals over the last
:data:`RESIDUAL_MONTHS` months before the forecast origin, the textbook choice
(Wickramasuriya, Athanasopoulos & Hyndman 2019). A node without a residual in a month (a
series younger than the window, seasonal naive's first season, a new item without sales)
counts 0 there, so a young series looks more accurate than it is and MinT moves it less.

**Nodes without history** (a new item that has not sold yet, and a family of such items)
have no base forecast of their own: their base is the sum of their SKU x region forecasts
(bottom-up), bounds included (a sum of bounds: wider than the sum's own interval).

**Launches.** A level's model forecasts the sum of the series that have sold; it cannot
know of an item that has not sold yet. So the SKU x region forecasts of the series
without a sale before the forecast (planned from a like_sku or the family's profile) are
added to the base of every node above them, bounds included. Without this, MinT and
top-down would take a launch's volume from the items already selling.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from typing import NamedTuple

import numpy as np
import pandas as pd

from sopkit._checks import month_number, month_start, require_columns, whole_number
from sopkit.demand.engine import DEFAULT_MODELS, forecast
from sopkit.demand.hierarchy import (
    BOTTOM,
    LEVEL_KEYS,
    METHODS,
    Reconciled,
    aggregate,
    reconcile,
    summing_matrix,
)
from sopkit.demand.statistical import _codes
from sopkit.errors import SopError

__all__ = [
    "RESIDUAL_MONTHS",
    "TOP_DOWN_MONTHS",
    "UPPER_LEVELS",
    "LevelBacktest",
    "LevelForecast",
    "LevelPlan",
    "backtest_levels",
    "compare_methods",
    "first_level_choices",
    "forecast_levels",
    "method_summary",
    "plan_levels",
    "reconcile_plan",
    "reconciliation_sentence",
    "stack_level_models",
]

#: the levels forecast on their own above the SKU x region series
UPPER_LEVELS = ("total", "family", "region", "family_region", "sku")
#: months of in-sample residuals MinT estimates the error covariance from
RESIDUAL_MONTHS = 24
#: months of history whose proportions top-down splits the total by
TOP_DOWN_MONTHS = 12
_VALUES = ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
_KEYS = ["family", "region", "sku"]
# the engine's selection columns kept in the level_models table
_SELECTION = [
    "n_months", "demand_class", "model", "selected_by", "age", "n_windows", "mase",
    "mase_seasonal_naive", "relative_mae", "form", "reason",
]  # fmt: skip


class LevelForecast(NamedTuple):
    """What :func:`forecast_levels` returns.

    Attributes
    ----------
    forecast : pandas.DataFrame
        One row per node and month: level, family, region, sku (the level's keys, others
        None), month, model, yhat and the 80 % and 95 % bounds.
    models : pandas.DataFrame
        One row per node (the ``level_models`` artifact): run, node (its name, e.g.
        ``family:Kettles``), level, family, region, sku and the engine's selection columns.
    fitted : pandas.DataFrame
        level, family, region, sku, month, residual: the in-sample one-step errors.
    """

    forecast: pd.DataFrame
    models: pd.DataFrame
    fitted: pd.DataFrame


def forecast_levels(
    sales_history: pd.DataFrame,
    products: pd.DataFrame,
    cycle: pd.Timestamp | str,
    horizon: int,
    *,
    season_length: int = 12,
    models: Sequence[str] = DEFAULT_MODELS,
    levels: Sequence[str] = UPPER_LEVELS,
    n_jobs: int | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    warm_start: pd.DataFrame | None = None,
    run: str = "forecast",
) -> LevelForecast:
    """Forecast every node above the SKU x region series from its own summed history.

    The history before ``cycle`` is summed to each level (:func:`aggregate`); every node's
    series runs to the month before the cycle (months without sales count 0) and the
    engine (:func:`~sopkit.demand.engine.forecast`) chooses its model as it does for a
    SKU x region series.

    Parameters
    ----------
    sales_history : pandas.DataFrame
        sku, region, month, qty.
    products : pandas.DataFrame
        sku and family, one row per SKU.
    cycle : pandas.Timestamp or str
        The first month forecast.
    horizon : int
        Months forecast.
    season_length, models, n_jobs, executor, progress
        As for the engine.
    levels : sequence of str, default :data:`UPPER_LEVELS`
        The levels forecast (not ``"sku_region"``).
    warm_start : pandas.DataFrame, optional
        Earlier ``level_models`` rows (node, model, relative_mae, age, form; those of the
        latest cycle and the same ``run`` are used): the engine's warm start.
    run : str, default "forecast"
        The ``run`` of the ``level_models`` rows ("backtest" at a backtest origin).

    Returns
    -------
    LevelForecast

    Raises
    ------
    SopError
        No history before the cycle, a SKU without a product row, a bad level.
    """
    cycle = month_start(cycle)
    horizon = whole_number(horizon, "horizon", what="months")
    if BOTTOM in levels:
        raise SopError(f"forecast_levels forecasts the levels above {BOTTOM!r}; leave it out.")
    hist, prods = _text_codes(sales_history, products)
    hist = hist.loc[hist["month"] < cycle]
    if hist.empty:
        raise SopError(f"sales_history has no rows before {cycle:%Y-%m}: nothing to forecast.")
    agg = aggregate(hist, prods, levels=levels)
    nodes = agg.drop_duplicates("unique_id")[["unique_id", "level", *_KEYS]]
    panel = _to_month_before(agg, cycle)
    warm = _warm(warm_start, run)
    fc, selection, fitted = forecast(
        panel,
        horizon,
        season_length,
        models=models,
        n_jobs=n_jobs,
        executor=executor,
        progress=progress,
        return_fitted=True,
        warm_start=warm,
    )
    out = nodes.merge(fc.rename(columns={"ds": "month"}), on="unique_id")
    out = out[["level", *_KEYS, "month", "model", *_VALUES]]
    chosen = nodes.merge(selection, on="unique_id").rename(columns={"unique_id": "node"})
    chosen.insert(0, "run", run)
    chosen = chosen[["run", "node", "level", *_KEYS, *_SELECTION]]
    fit = nodes.merge(fitted.rename(columns={"ds": "month"}), on="unique_id")
    return LevelForecast(
        out.reset_index(drop=True),
        chosen.reset_index(drop=True),
        fit[["level", *_KEYS, "month", "residual"]].reset_index(drop=True),
    )


def reconcile_plan(
    bottom: pd.DataFrame,
    upper: LevelForecast,
    products: pd.DataFrame,
    *,
    method: str,
    bottom_fitted: pd.DataFrame | None = None,
    sales_history: pd.DataFrame | None = None,
    residual_months: int = RESIDUAL_MONTHS,
) -> tuple[pd.DataFrame, Reconciled]:
    """The SKU x region forecast made coherent with the levels above it.

    Parameters
    ----------
    bottom : pandas.DataFrame
        The ``forecast`` artifact: sku, region, month, model, yhat and bounds.
    upper : LevelForecast
        The base forecasts above it (:func:`forecast_levels`, same months).
    products : pandas.DataFrame
        sku and family.
    method : {"bottom_up", "top_down", "mint_shrink"}
        See :mod:`sopkit.demand.hierarchy`.
    bottom_fitted : pandas.DataFrame, optional
        For ``mint_shrink``: the SKU x region in-sample residuals (sku, region, month,
        residual; ``StatisticalForecast.fitted``).
    sales_history : pandas.DataFrame, optional
        For ``top_down``: the history whose last :data:`TOP_DOWN_MONTHS` months before the
        forecast give the proportions.
    residual_months : int, default :data:`RESIDUAL_MONTHS`
        For ``mint_shrink``: how many months of residuals before the forecast.

    Returns
    -------
    (pandas.DataFrame, Reconciled)
        ``bottom`` with yhat and the bounds reconciled (same rows, order and model); and
        :func:`~sopkit.demand.hierarchy.reconcile`'s result, every level (the
        ``forecast_levels`` artifact is its ``forecast``).
    """
    if method not in METHODS:
        raise SopError(
            f"Unknown reconciliation method {method!r}; choose one of "
            f"{', '.join(map(repr, METHODS))}."
        )
    require_columns(bottom, "forecast", ["sku", "region", "month", *_VALUES])
    _, prods = _text_codes(None, products)
    low = bottom.assign(sku=_codes(bottom["sku"]), region=_codes(bottom["region"]))
    start = low["month"].min()
    base = _base(low, upper, prods, _unsold(low, sales_history, bottom_fitted, start))
    history = residuals = None
    if method == "top_down":
        if sales_history is None:
            raise SopError("method 'top_down' needs the sales history for its proportions.")
        hist, _ = _text_codes(sales_history, None)
        first = start - pd.DateOffset(months=TOP_DOWN_MONTHS)
        history = hist.loc[(hist["month"] >= first) & (hist["month"] < start)]
        history = history.merge(low[["sku", "region"]].drop_duplicates(), on=["sku", "region"])
    elif method == "mint_shrink":
        if bottom_fitted is None:
            raise SopError("method 'mint_shrink' needs the SKU x region in-sample residuals.")
        residuals = _residuals(base, low, bottom_fitted, upper.fitted, start, residual_months)
    rec = reconcile(base, prods, method=method, history=history, residuals=residuals)
    key = ["sku", "region", "month"]
    values = low[key].merge(rec.bottom, on=key, how="left")
    out = bottom.copy()
    for col in _VALUES:
        out[col] = values[col].to_numpy()
    return out, rec


def compare_methods(
    base_bottom: pd.DataFrame,
    bottom_fitted: pd.DataFrame,
    upper: LevelForecast,
    sales_history: pd.DataFrame,
    products: pd.DataFrame,
    methods: Sequence[str] = METHODS,
) -> pd.DataFrame:
    """Each reconciliation method on a backtest: every level against what was sold.

    Parameters
    ----------
    base_bottom, bottom_fitted : pandas.DataFrame
        The SKU x region forecast made at a backtest origin and its in-sample residuals
        (``Backtest.forecast`` and ``Backtest.fitted``).
    upper : LevelForecast
        The levels above, forecast at the same origin (:func:`forecast_levels`).
    sales_history, products : pandas.DataFrame
        What was sold (the months of ``base_bottom`` are scored), and the families.
    methods : sequence of str
        The methods compared.

    Returns
    -------
    pandas.DataFrame
        One row per method and level (total, family, region, family_region, sku,
        sku_region), then the level "mean" (the mean of the levels' WAPEs, the figure
        the methods are ranked by): method, level, nodes, actual, forecast, abs_error,
        wape (abs_error / actual, summed over the level's nodes and months), bias
        ((forecast - actual) / actual), best (the method with the lowest mean WAPE).
    """
    hist, prods = _text_codes(sales_history, products)
    months = pd.Index(base_bottom["month"].unique())
    sold = hist.loc[hist["month"].isin(months)]
    low = base_bottom.assign(sku=_codes(base_bottom["sku"]), region=_codes(base_bottom["region"]))
    sold = sold.merge(low[["sku", "region"]].drop_duplicates(), on=["sku", "region"], how="inner")
    actual = aggregate(sold, prods)
    rows = []
    for method in methods:
        _, rec = reconcile_plan(
            base_bottom, upper, products, method=method,
            bottom_fitted=bottom_fitted, sales_history=sales_history,
        )  # fmt: skip
        fc = rec.forecast
        fc = fc.assign(unique_id=_node_ids(fc))
        both = fc.merge(
            actual[["unique_id", "month", "qty"]], on=["unique_id", "month"], how="left"
        ).fillna({"qty": 0.0})
        for level in LEVEL_KEYS:
            part = both.loc[both["level"] == level]
            if part.empty:
                continue
            a, f = part["qty"].sum(), part["yhat"].sum()
            err = (part["yhat"] - part["qty"]).abs().sum()
            rows.append(
                {
                    "method": method, "level": level, "nodes": part["unique_id"].nunique(),
                    "actual": a, "forecast": f, "abs_error": err,
                    "wape": err / a if a > 0 else np.nan,
                    "bias": (f - a) / a if a > 0 else np.nan,
                }
            )  # fmt: skip
    table = pd.DataFrame(rows)
    mean = table.groupby("method", sort=False)["wape"].mean()
    means = pd.DataFrame({"method": mean.index, "level": "mean", "wape": mean.to_numpy()})
    table = pd.concat([table, means], ignore_index=True)
    table["best"] = table["method"] == mean.idxmin()
    return table


# --------------------------------------------------------------------------- helpers


def _text_codes(
    sales_history: pd.DataFrame | None, products: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The history (sku, region, month, qty) and products (sku, family) with text codes."""
    hist = prods = None
    if sales_history is not None:
        require_columns(sales_history, "sales_history", ["sku", "region", "month", "qty"])
        hist = pd.DataFrame(
            {
                "sku": _codes(sales_history["sku"]),
                "region": _codes(sales_history["region"]),
                "month": pd.to_datetime(sales_history["month"]),
                "qty": pd.to_numeric(sales_history["qty"], errors="coerce").astype(float),
            }
        )
    if products is not None:
        require_columns(products, "products", ["sku", "family"])
        prods = pd.DataFrame({"sku": _codes(products["sku"]), "family": products["family"]})
    return hist, prods


def _to_month_before(agg: pd.DataFrame, cycle: pd.Timestamp) -> pd.DataFrame:
    """The engine's panel: each node's series, with 0 up to the month before the cycle."""
    panel = agg.rename(columns={"month": "ds", "qty": "y"})[["unique_id", "ds", "y"]]
    last = panel.groupby("unique_id", sort=False)["ds"].max()
    end = month_number(cycle) - 1
    gap = end - np.asarray(month_number(last))
    ids = np.repeat(last.index.to_numpy(), gap)
    if not len(ids):
        return panel
    months = np.concatenate([np.arange(end - g + 1, end + 1) for g in gap])
    dates = (months.astype(np.int64) - 1970 * 12).astype("datetime64[M]").astype("datetime64[ns]")
    tail = pd.DataFrame({"unique_id": ids, "ds": dates, "y": 0.0})
    return pd.concat([panel, tail], ignore_index=True)


def _warm(warm_start: pd.DataFrame | None, run: str) -> pd.DataFrame | None:
    """The engine's warm start from earlier level_models rows of the same run."""
    if warm_start is None or warm_start.empty or "node" not in warm_start.columns:
        return None
    rows = warm_start
    if "run" in rows.columns:
        rows = rows.loc[rows["run"] == run]
    if "cycle" in rows.columns and not rows.empty:
        rows = rows.loc[rows["cycle"] == rows["cycle"].max()]
    if rows.empty:
        return None
    cols = [c for c in ("model", "relative_mae", "age", "form") if c in rows.columns]
    return rows.rename(columns={"node": "unique_id"})[["unique_id", *cols]]


def _node_ids(frame: pd.DataFrame) -> pd.Series:
    """Each row's node name as :func:`aggregate` writes it (``family_region:F/North``)."""
    uid = frame["level"].astype(object).copy()
    for level, keys in LEVEL_KEYS.items():
        at = (frame["level"] == level).to_numpy()
        if not keys or not at.any():
            continue
        name = pd.Series(level + ":", index=frame.index[at])
        for i, key in enumerate(keys):
            name = name + ("" if i == 0 else "/") + frame.loc[at, key].astype(str)
        uid[at] = name
    return uid


def _unsold(
    low: pd.DataFrame,
    sales_history: pd.DataFrame | None,
    bottom_fitted: pd.DataFrame | None,
    start: pd.Timestamp,
) -> np.ndarray:
    """Which rows of ``low`` are of a series without a sale before ``start`` (a launch)."""
    if sales_history is not None:
        sold, _ = _text_codes(sales_history, None)
    elif bottom_fitted is not None and "y" in bottom_fitted.columns:
        sold = pd.DataFrame(
            {
                "sku": _codes(bottom_fitted["sku"]),
                "region": _codes(bottom_fitted["region"]),
                "month": pd.to_datetime(bottom_fitted["month"]),
                "qty": bottom_fitted["y"],
            }
        )
    else:
        return np.zeros(len(low), bool)
    sold = sold.loc[(sold["month"] < start) & (sold["qty"] > 0), ["sku", "region"]]
    pairs = pd.MultiIndex.from_frame(sold.drop_duplicates())
    return ~pd.MultiIndex.from_frame(low[["sku", "region"]]).isin(pairs)


def _base(
    low: pd.DataFrame, upper: LevelForecast, prods: pd.DataFrame, unsold: np.ndarray
) -> pd.DataFrame:
    """Base forecasts of every node: the engine's above, plus the launches below them.

    The bottom's own; the sum of its series where a node has no forecast of its own.
    """
    bottom_up = aggregate(low[["sku", "region", "month", *_VALUES]], prods, values=_VALUES)
    bottom_up["unique_id"] = _node_ids(bottom_up)
    up = upper.forecast.assign(unique_id=_node_ids(upper.forecast))
    if unsold.any():
        launches = aggregate(low.loc[unsold, ["sku", "region", "month", *_VALUES]], prods, _VALUES)
        launches["unique_id"] = _node_ids(launches)
        add = up[["unique_id", "month"]].merge(
            launches[["unique_id", "month", *_VALUES]], on=["unique_id", "month"], how="left"
        )
        up[_VALUES] = up[_VALUES].to_numpy() + add[_VALUES].fillna(0.0).to_numpy()
    months = set(low["month"].unique())
    if set(up["month"].unique()) != months:
        raise SopError(
            "The level forecasts and the SKU x region forecast cover different months; "
            "forecast both from the same cycle and horizon."
        )
    own = bottom_up["unique_id"].isin(set(up["unique_id"])) & (bottom_up["level"] != BOTTOM)
    # a node above the bottom that has no forecast of its own is the sum of its series
    base = pd.concat([up[bottom_up.columns.intersection(up.columns)], bottom_up.loc[~own]])
    known = set(summing_matrix(low, prods).nodes.pipe(_node_ids))
    return base.loc[base["unique_id"].isin(known)].reset_index(drop=True)


def _residuals(
    base: pd.DataFrame,
    low: pd.DataFrame,
    bottom_fitted: pd.DataFrame,
    upper_fitted: pd.DataFrame,
    start: pd.Timestamp,
    months: int,
) -> pd.DataFrame:
    """Every node's residuals in the ``months`` months before ``start``; 0 where none."""
    months = whole_number(months, "residual_months", what="months")
    window = pd.date_range(start - pd.DateOffset(months=months), periods=months, freq="MS")
    require_columns(bottom_fitted, "bottom_fitted", ["sku", "region", "month", "residual"])
    bf = bottom_fitted.assign(
        sku=_codes(bottom_fitted["sku"]), region=_codes(bottom_fitted["region"]), level=BOTTOM
    )
    parts = [bf.assign(family=None), upper_fitted]
    res = pd.concat([p[["level", *_KEYS, "month", "residual"]] for p in parts])
    res = res.assign(unique_id=_node_ids(res))
    res = res.loc[res["month"].isin(window)].dropna(subset=["residual"])
    nodes = base.drop_duplicates("unique_id")[["unique_id", "level", *_KEYS]]
    grid = nodes.merge(pd.DataFrame({"month": window}), how="cross")
    grid = grid.merge(
        res[["unique_id", "month", "residual"]], on=["unique_id", "month"], how="left"
    )
    return grid.fillna({"residual": 0.0})


# --------------------------------------------------------------------------- stage 2


class LevelPlan(NamedTuple):
    """What :func:`plan_levels` returns.

    Attributes
    ----------
    forecast : pandas.DataFrame
        The ``forecast`` artifact, reconciled (the SKU x region rows of ``levels``).
    levels : pandas.DataFrame
        The ``forecast_levels`` artifact: every node and month, reconciled and base.
    models : pandas.DataFrame
        The ``level_models`` rows of the levels above SKU x region.
    reconciled : Reconciled
        The reconciliation's result (method, MinT's shrinkage, bottom forecasts clipped).
    """

    forecast: pd.DataFrame
    levels: pd.DataFrame
    models: pd.DataFrame
    reconciled: Reconciled


def plan_levels(
    stat,
    sales_history: pd.DataFrame,
    products: pd.DataFrame,
    cycle: pd.Timestamp | str,
    horizon: int,
    *,
    method: str = "mint_shrink",
    run: str = "forecast",
    **options,
) -> LevelPlan:
    """Forecast the levels above SKU x region and reconcile ``stat`` with them (stage 2).

    Parameters
    ----------
    stat : StatisticalForecast or Backtest
        The SKU x region forecast (``forecast``) and in-sample fit (``fitted``) made from
        ``cycle`` (:func:`~sopkit.demand.statistical.statistical_forecast`).
    sales_history, products, cycle, horizon
        As for :func:`forecast_levels`.
    method : str, default "mint_shrink"
        The reconciliation method.
    run : str, default "forecast"
        The ``run`` of the ``level_models`` rows.
    **options
        Passed to :func:`forecast_levels` (season_length, models, n_jobs, executor,
        progress, warm_start: the earlier ``level_models`` rows).

    Returns
    -------
    LevelPlan
    """
    upper = forecast_levels(sales_history, products, cycle, horizon, run=run, **options)
    fc, rec = reconcile_plan(
        stat.forecast, upper, products, method=method,
        bottom_fitted=stat.fitted, sales_history=sales_history,
    )  # fmt: skip
    levels = rec.forecast[["level", *_KEYS, "month", *_VALUES, "base_yhat"]].copy()
    return LevelPlan(fc, levels, upper.models, rec)


class LevelBacktest(NamedTuple):
    """What :func:`backtest_levels` returns: the methods compared, and the level models."""

    accuracy: pd.DataFrame
    models: pd.DataFrame


def backtest_levels(
    bt,
    sales_history: pd.DataFrame,
    products: pd.DataFrame,
    cycle: pd.Timestamp | str,
    *,
    holdout: int = 12,
    used: str = "mint_shrink",
    **options,
) -> LevelBacktest:
    """The reconciliation methods compared on the stage's backtest (see :func:`compare_methods`).

    Parameters
    ----------
    bt : Backtest
        The engine's backtest (:func:`~sopkit.demand.accuracy.backtest`), made at
        ``cycle - holdout`` months.
    sales_history, products, cycle, holdout
        As for the backtest.
    used : str, default "mint_shrink"
        The cycle's method: its rows are marked ``used``.
    **options
        Passed to :func:`forecast_levels` (warm_start: the earlier ``level_models`` rows,
        whose ``run = "backtest"`` rows are used).

    Returns
    -------
    LevelBacktest
        ``accuracy``: the ``reconciliation_accuracy`` artifact; ``models``: the
        ``level_models`` rows of the backtest (``run = "backtest"``).
    """
    cycle = month_start(cycle)
    holdout = whole_number(holdout, "holdout", what="months")
    origin = cycle - pd.DateOffset(months=holdout)
    upper = forecast_levels(sales_history, products, origin, holdout, run="backtest", **options)
    table = compare_methods(bt.forecast, bt.fitted, upper, sales_history, products)
    table["used"] = table["method"] == used
    return LevelBacktest(table, upper.models)


def method_summary(accuracy: pd.DataFrame) -> pd.DataFrame:
    """The ``reconciliation_accuracy`` rows as a table: one row per method, WAPE by level.

    Columns: method, the WAPE of each level, mean_wape, bias (the total's: coherent
    forecasts have one bias at every level, as every level sums the same units), best,
    used; the most accurate method first.
    """
    require_columns(accuracy, "reconciliation_accuracy", ["method", "level", "wape", "bias"])
    wide = accuracy.pivot(index="method", columns="level", values="wape")
    order = [lv for lv in (*LEVEL_KEYS, "mean") if lv in wide.columns]
    wide = wide[order].rename(columns={"mean": "mean_wape"}).sort_values("mean_wape")
    total = accuracy.loc[accuracy["level"] == "total"].set_index("method")["bias"]
    flags = accuracy.drop_duplicates("method").set_index("method")[["best", "used"]]
    return wide.assign(bias=total).join(flags).reset_index()


_METHOD_NAMES = {
    "mint_shrink": "MinT with shrinkage",
    "bottom_up": "bottom-up",
    "top_down": "top-down (historical proportions)",
}


def reconciliation_sentence(plan: LevelPlan) -> str:
    """How the plan's levels were made to add up, in one Markdown paragraph."""
    rec, lv = plan.reconciled, plan.levels
    name = _METHOD_NAMES.get(rec.method, rec.method)
    total = lv.loc[lv["level"] == "total"]
    bottom = lv.loc[lv["level"] == BOTTOM]
    text = f"Every level adds up by **{name}**"
    if rec.shrinkage is not None:
        text += f" (shrinkage intensity {rec.shrinkage:.2f})"
    text += "."
    if not total.empty:
        months = total["month"].nunique()
        text += (
            f" Over the {months} months planned, the total is {total['yhat'].sum():,.0f} "
            f"units: the total's own model said {total['base_yhat'].sum():,.0f}, the SKU x "
            f"region forecasts summed {bottom['base_yhat'].sum():,.0f}."
        )
    if rec.clipped:
        text += (
            f" {rec.clipped} SKU x region month(s) that the reconciliation made negative were "
            "set to 0, and the levels above summed again."
        )
    return text


def first_level_choices(
    earlier_levels: pd.DataFrame | None, backtest_levels: pd.DataFrame | None
) -> pd.DataFrame | None:
    """The levels' warm start: an earlier cycle's forecast choices, else this backtest's.

    As :func:`~sopkit.demand.statistical.first_choices`, for the ``level_models`` rows.
    """
    if (
        earlier_levels is not None and "run" in earlier_levels
        and (earlier_levels["run"] == "forecast").any()
    ):  # fmt: skip
        return earlier_levels
    if backtest_levels is None or backtest_levels.empty:
        return None
    return backtest_levels.assign(run="forecast")


def stack_level_models(*runs: pd.DataFrame) -> pd.DataFrame:
    """The ``level_models`` artifact: the rows of each run (forecast, backtest) stacked."""
    from sopkit.schemas import columns

    return pd.concat(runs, ignore_index=True)[columns("level_models")]
