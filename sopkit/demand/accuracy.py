"""Forecast accuracy: backtests by lag, and their summaries (WAPE, bias, MAPE)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit._checks import family_of, month_number, month_start, require_columns
from sopkit.demand._common import (
    ACCURACY_COLUMNS,
    ACCURACY_LEVELS,
    SEASONAL_NAIVE,
    _positive_int,
    _ym,
)
from sopkit.demand.forecast import seasonal_naive_forecast
from sopkit.errors import SopError

# --------------------------------------------------------------------------- accuracy


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
      leaving out series whose actual is 0 (NaN when all are 0).

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
        abs_error, wape, bias, mape; sorted by level (total, family, sku, sku_region),
        key, lag. ``model`` is "seasonal_naive" (the method, its mean fallback for
        short series included).

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
    cycle = month_start(cycle)
    holdout = _positive_int(holdout, "holdout")
    origin = cycle - pd.DateOffset(months=holdout)
    require_columns(sales_history, "sales_history", ["sku", "region", "month", "qty"])
    if not (sales_history["month"] < origin).any():
        raise SopError(
            f"The backtest starts at {_ym(origin)} ({holdout} months before {_ym(cycle)}) but "
            "sales_history has no month before it; give more history or a smaller holdout."
        )
    fc = seasonal_naive_forecast(
        sales_history, origin, holdout, season_length=season_length, levels=()
    )
    window = sales_history.loc[
        (sales_history["month"] >= origin) & (sales_history["month"] < cycle),
        ["sku", "region", "month", "qty"],
    ]
    actual = window.groupby(["sku", "region", "month"], as_index=False)["qty"].sum()
    both = fc.merge(actual, on=["sku", "region", "month"], how="left")
    both["actual"] = both["qty"].fillna(0.0)
    both["forecast"] = both["yhat"]
    both["lag"] = (month_number(both["month"]) - month_number(origin) + 1).astype(np.int64)
    both["family"] = family_of(products, both["sku"], "sales_history").to_numpy()
    both["Total"] = "Total"
    both["_family"] = both["family"]  # grouped by as the key, and kept as the family
    both["sku_region"] = both["sku"].astype(str) + " / " + both["region"].astype(str)
    pos = both["actual"] > 0
    both["ape"] = (both["forecast"] - both["actual"]).abs().where(pos) / both["actual"].where(pos)

    parts = []
    for level, col in zip(ACCURACY_LEVELS, ("Total", "_family", "sku", "sku_region"), strict=True):
        g = both.groupby([col, "lag"], sort=True).agg(
            family=("family", "first"),
            actual=("actual", "sum"),
            forecast=("forecast", "sum"),
            mape=("ape", "mean"),
        )
        g = g.reset_index().rename(columns={col: "key"})
        if level == "total":
            g["family"] = None
        g.insert(0, "level", level)
        parts.append(g)
    acc = pd.concat(parts, ignore_index=True)
    acc.insert(0, "model", SEASONAL_NAIVE)
    acc["family"] = acc["family"].astype(object)
    acc["abs_error"] = (acc["forecast"] - acc["actual"]).abs()
    acc = _add_ratios(acc)
    return acc[ACCURACY_COLUMNS]


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
        model, family, actual, forecast, bias, pooled_accuracy, sku_region_accuracy
        (fractions, 0.85 = 85 %; NaN where nothing was sold); one row per model x
        family, sorted, then the model's "Total" row.

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
    fine = pd.concat(
        [
            fine.groupby(["model", "family"], as_index=False, sort=True)["abs_error"].sum(),
            fine.groupby("model", as_index=False)["abs_error"].sum().assign(family="Total"),
        ],
        ignore_index=True,
    ).rename(columns={"abs_error": "sku_region_error"})
    out = pooled.merge(fine, on=["model", "family"], how="left")
    out = out.sort_values(
        ["model", "level", "family"], key=lambda c: c.eq("total") if c.name == "level" else c
    )
    out = _add_ratios(out.reset_index(drop=True))
    actual = out["actual"].where(out["actual"] != 0)
    out["pooled_accuracy"] = 1.0 - out["wape"]
    out["sku_region_accuracy"] = 1.0 - out["sku_region_error"] / actual
    return out[
        ["model", "family", "actual", "forecast", "bias", "pooled_accuracy", "sku_region_accuracy"]
    ]


def pooled_wape(accuracy: pd.DataFrame, level: str = "sku_region") -> float:
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

    Returns
    -------
    float
        The WAPE as a fraction (0.25 = 25 %); NaN when nothing was sold.

    Raises
    ------
    SopError
        If ``level`` is not one of the levels.

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
    actual = rows["actual"].sum()
    return float(rows["abs_error"].sum() / actual) if actual > 0 else float("nan")


def _check_level(level: str) -> None:
    if level not in ACCURACY_LEVELS:
        raise SopError(f"level must be one of {', '.join(ACCURACY_LEVELS)}; got {level!r}.")
