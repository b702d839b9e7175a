"""Stage 2, demand planning: statistical forecast, its accuracy, and the consensus plan.

This first engine is the seasonal naive benchmark of Hyndman & Athanasopoulos,
*Forecasting: Principles and Practice* (3rd ed., FPP3), sections 5.2 and 5.5. It is
honest and hard to beat on monthly demand with a strong yearly pattern, and it fixes
the artifact contract that richer engines will fill later:

- ``forecast``: sku, region, month, model, yhat, yhat_lo_<L>, yhat_hi_<L> per level L
- ``accuracy``: model, level, key, lag, actual, forecast, abs_error, wape, bias, mape
- ``demand_plan``: sku, region, month, statistical, adjustment, consensus, adjustment_reason

Ratios (wape, bias, mape, accuracy) are fractions: 0.12 means 12 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

from ._checks import month_start, reject_duplicates, require_columns
from .errors import SopError

__all__ = [
    "backtest_seasonal_naive",
    "build_demand_plan",
    "pooled_wape",
    "seasonal_naive_forecast",
    "summarise_accuracy",
    "unmatched_inputs",
]

SEASONAL_NAIVE = "seasonal_naive"
MEAN_FALLBACK = "mean_fallback"
#: a new series' point forecast is the mean of at most this many of its last months.
FALLBACK_MONTHS = 3

ACCURACY_LEVELS = ("total", "family", "sku")
ACCURACY_COLUMNS = [
    "model",
    "level",
    "key",
    "lag",
    "actual",
    "forecast",
    "abs_error",
    "wape",
    "bias",
    "mape",
]
DEMAND_PLAN_COLUMNS = [
    "sku",
    "region",
    "month",
    "statistical",
    "adjustment",
    "consensus",
    "adjustment_reason",
]


# --------------------------------------------------------------------------- checks


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SopError(f"{name} must be a whole number of months, 1 or more; got {value!r}.")
    return int(value)


def _check_levels(levels: Sequence[float]) -> list[float]:
    levels = list(levels)
    bad = [lv for lv in levels if not (isinstance(lv, (int, float)) and 0 < lv < 100)]
    if bad:
        raise SopError(
            f"Every interval level must be a percentage strictly between 0 and 100; got {bad}."
        )
    if len(set(levels)) != len(levels):
        raise SopError(f"Interval levels must be distinct; got {levels}.")
    return levels


def _level_name(level: float) -> str:
    return f"{level:g}"


def _month_number(months: pd.Series) -> np.ndarray:
    """Months as consecutive integers, so month arithmetic is integer arithmetic."""
    return (months.dt.year * 12 + months.dt.month - 1).to_numpy(dtype=np.int64)


def _ym(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m")


def _family_lookup(products: pd.DataFrame, skus: pd.Series, where: str) -> pd.Series:
    """The family of each sku, raising when the products table does not know one."""
    require_columns(products, "products", ["sku", "family"])
    reject_duplicates(products, "products", ["sku"])
    family = skus.map(products.set_index("sku")["family"])
    unknown = family.isna()
    if unknown.any():
        names = sorted(skus[unknown].unique())[:10]
        raise SopError(
            f"{where}: sku(s) {names} have no family in the products table; add them to "
            "products (with a family) or remove them from the data."
        )
    return family


# --------------------------------------------------------------------------- forecast


def _series_matrix(
    sales_history: pd.DataFrame, cycle: pd.Timestamp
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The history before ``cycle`` as a wide matrix, one row per sku x region.

    Returns the series keys (sku, region), the matrix whose last column is the month
    before the cycle (NaN before a series' first month, 0 for missing months inside
    its life) and each series' length in months.
    """
    require_columns(sales_history, "sales_history", ["sku", "region", "month", "qty"])
    hist = sales_history.loc[sales_history["month"] < cycle, ["sku", "region", "month", "qty"]]
    if hist["qty"].isna().any():
        bad = hist.loc[hist["qty"].isna(), ["sku", "region", "month"]].head(5)
        rows = "; ".join(f"{r.sku} / {r.region} / {_ym(r.month)}" for r in bad.itertuples())
        raise SopError(
            f"sales_history: qty is missing for {int(hist['qty'].isna().sum())} row(s) "
            f"(e.g. {rows}); fill in the quantity, or delete the row if nothing was sold."
        )
    if hist.empty:
        raise SopError(
            f"sales_history has no rows before {_ym(cycle)}, so there is nothing to forecast "
            "from; load the sales history, or check the cycle month."
        )
    hist = hist.groupby(["sku", "region", "month"], as_index=False, sort=True, dropna=False)[
        "qty"
    ].sum()
    end = int(_month_number(pd.Series([cycle]))[0])  # first month NOT in the history
    offset = _month_number(hist["month"]) - end  # -1 = month before the cycle
    series_id = hist.groupby(["sku", "region"], sort=True, dropna=False).ngroup().to_numpy()
    key_frame = hist.drop_duplicates(["sku", "region"])[["sku", "region"]].reset_index(drop=True)
    width = int(-offset.min())
    col = offset + width
    first_col = np.full(len(key_frame), width)
    np.minimum.at(first_col, series_id, col)
    values = np.zeros((len(key_frame), width))
    values[series_id, col] = hist["qty"].to_numpy(dtype=float)
    values[np.arange(width)[None, :] < first_col[:, None]] = np.nan
    return key_frame, values, width - first_col


def seasonal_naive_forecast(
    sales_history: pd.DataFrame,
    cycle: pd.Timestamp,
    horizon: int = 18,
    *,
    season_length: int = 12,
    levels: Sequence[float] = (80, 95),
) -> pd.DataFrame:
    """Forecast every sku x region series with the seasonal naive method.

    The point forecast for month *t* is the actual of month *t - k m* (m =
    ``season_length``) for the smallest k >= 1 that lands inside the history, i.e. the
    same month of last year (and, past m months ahead, of last year again).

    Prediction intervals follow FPP3 section 5.5 (benchmark methods): residuals
    e_t = y_t - y_{t-m}; sigma = sqrt(mean(e_t^2)) over the series' available
    residuals (the root mean square, as fable's ``forecast.RW`` uses; FPP3's text says
    "residual standard deviation", which differs only by the residuals' mean); for
    horizon h, sigma_h = sigma * sqrt(k + 1) with k = floor((h - 1) / m); bounds are
    yhat -/+ z * sigma_h with z the standard normal quantile of 0.5 + L/200. Lower
    bounds are clipped at 0 (demand is not negative).

    A series lives from its first row to the month before ``cycle``; months without a
    row inside that span count as 0 sold. Rows on or after ``cycle`` are ignored, so
    the same table serves backtests at earlier origins.

    Fallbacks (never NaN, never an error for short, constant or all-zero series):

    - a series with exactly m months has no residual yet: sigma is the sample standard
      deviation of its values (0 when it has a single value);
    - a series shorter than m months (a new item) is forecast by the mean of its last
      min(3, n) months, ``model = "mean_fallback"``, with sigma_h = s * sqrt(1 + 1/k),
      s the sample standard deviation of all its months (0 for a single month) and k
      the number of months averaged (the FPP3 mean-method interval, applied to the
      months averaged), the same for every horizon.

    Parameters
    ----------
    sales_history : pandas.DataFrame
        Columns sku, region, month (first-of-month), qty; one row per sku x region x month.
    cycle : pandas.Timestamp
        The planning month (first of month); the history ends the month before.
    horizon : int, default 18
        Number of months to forecast, starting at ``cycle``.
    season_length : int, default 12
        Length of the seasonal cycle in months (m).
    levels : sequence of float, default (80, 95)
        Prediction-interval coverages in percent; each gives columns
        ``yhat_lo_<level>`` and ``yhat_hi_<level>``. May be empty.

    Returns
    -------
    pandas.DataFrame
        The ``forecast`` artifact: sku, region, month, model, yhat, then the interval
        columns in the order of ``levels``; one row per series x month, sorted by
        sku, region, month.

    Raises
    ------
    SopError
        If columns are missing, qty has gaps, there is no history before ``cycle``, or
        a parameter is out of range.

    Examples
    --------
    >>> fc = seasonal_naive_forecast(ds.sales_history, pd.Timestamp("2026-11-01"))  # doctest: +SKIP
    """
    cycle = month_start(cycle)
    horizon = _positive_int(horizon, "horizon")
    m = _positive_int(season_length, "season_length")
    levels = _check_levels(levels)
    keys, y, n = _series_matrix(sales_history, cycle)
    width = y.shape[1]
    h = np.arange(1, horizon + 1)
    seasonal = n >= m

    # Seasonal naive: the last m months repeated (k = ceil(h/m) seasons back).
    cols = width - m + (h - 1) % m
    yhat = np.empty((len(keys), horizon))
    if m <= width:
        yhat[seasonal] = y[seasonal][:, cols]
    resid = y[:, m:] - y[:, :-m] if m < width else np.empty((len(keys), 0))
    n_resid = np.sum(~np.isnan(resid), axis=1)
    with np.errstate(invalid="ignore"):
        sigma = np.sqrt(np.nansum(resid**2, axis=1) / np.maximum(n_resid, 1))
    growth = np.sqrt((h - 1) // m + 1.0)
    scale = sigma[:, None] * growth[None, :]

    # Sample standard deviation of each series' own months, for the fallbacks.
    mean = np.nansum(y, axis=1) / n
    sq = np.nansum((y - mean[:, None]) ** 2, axis=1)
    sd = np.sqrt(sq / np.maximum(n - 1, 1))
    no_resid = seasonal & (n_resid == 0)
    scale[no_resid] = sd[no_resid, None] * growth[None, :]

    short = ~seasonal
    if short.any():
        k = np.minimum(FALLBACK_MONTHS, n[short])
        last = np.arange(width)[None, :] >= (width - k)[:, None]
        mean_last = np.where(last, y[short], 0.0).sum(axis=1) / k
        yhat[short] = mean_last[:, None]
        scale[short] = (sd[short] * np.sqrt(1.0 + 1.0 / k))[:, None]

    out = pd.DataFrame(
        {
            "sku": np.repeat(keys["sku"].to_numpy(dtype=object), horizon),
            "region": np.repeat(keys["region"].to_numpy(dtype=object), horizon),
            "month": np.tile(
                pd.date_range(cycle, periods=horizon, freq="MS").as_unit("ns").to_numpy(),
                len(keys),
            ),
            "model": np.repeat(np.where(seasonal, SEASONAL_NAIVE, MEAN_FALLBACK), horizon).astype(
                object
            ),
            "yhat": yhat.ravel(),
        }
    )
    for level in levels:
        z = NormalDist().inv_cdf(0.5 + level / 200.0)
        name = _level_name(level)
        out[f"yhat_lo_{name}"] = np.maximum(yhat - z * scale, 0.0).ravel()
        out[f"yhat_hi_{name}"] = (yhat + z * scale).ravel()
    return out


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

    For each level (``total``, ``family``, ``sku``), key and lag, actual and forecast
    are summed over the key's sku x region series first, then

    - abs_error = |forecast - actual|
    - wape = abs_error / actual, bias = (forecast - actual) / actual (both NaN when the
      actual is 0; a positive bias is over-forecasting);
    - mape = mean over the key's sku x region series of |forecast - actual| / actual,
      leaving out series whose actual is 0 (NaN when all are 0).

    Parameters
    ----------
    sales_history : pandas.DataFrame
        Columns sku, region, month, qty.
    products : pandas.DataFrame
        Columns sku, family (every sku in the history must be there).
    cycle : pandas.Timestamp
        The planning month; the holdout is the ``holdout`` months before it.
    holdout : int, default 12
        Number of months held out, which is also the longest lag.
    season_length : int, default 12
        Seasonal period of the method, in months.

    Returns
    -------
    pandas.DataFrame
        The ``accuracy`` artifact: model, level, key (family, sku, or "Total"), lag,
        actual, forecast, abs_error, wape, bias, mape; sorted by level (total, family,
        sku), key, lag. ``model`` is "seasonal_naive" (the method, its mean fallback
        for short series included).

    Raises
    ------
    SopError
        If there is no history before the origin, a sku has no family, or an input is
        malformed.
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
    both["lag"] = (_month_number(both["month"]) - _month_number(pd.Series([origin]))[0] + 1).astype(
        np.int64
    )
    both["family"] = _family_lookup(products, both["sku"], "sales_history").to_numpy()
    both["Total"] = "Total"
    pos = both["actual"] > 0
    both["ape"] = (both["forecast"] - both["actual"]).abs().where(pos) / both["actual"].where(pos)

    parts = []
    for level, col in zip(ACCURACY_LEVELS, ("Total", "family", "sku"), strict=True):
        g = both.groupby([col, "lag"], sort=True).agg(
            actual=("actual", "sum"), forecast=("forecast", "sum"), mape=("ape", "mean")
        )
        g = g.reset_index().rename(columns={col: "key"})
        g.insert(0, "level", level)
        parts.append(g)
    acc = pd.concat(parts, ignore_index=True)
    acc.insert(0, "model", SEASONAL_NAIVE)
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
    level : {"family", "sku", "total"}, default "family"
        Which level to summarise.

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
    """
    if level not in ACCURACY_LEVELS:
        raise SopError(f"level must be one of {', '.join(ACCURACY_LEVELS)}; got {level!r}.")
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


# --------------------------------------------------------------------------- consensus

_INPUT_COLUMNS = ["sku", "family", "month", "kind", "value"]  # region, reason are optional


def _describe_inputs(inputs: pd.DataFrame, mask: pd.Series) -> str:
    rows = inputs.loc[mask].head(5)
    what = rows["sku"].where(rows["sku"].notna(), rows["family"]).astype(str)
    months = rows["month"].dt.strftime("%Y-%m").fillna("no month")
    return ", ".join(f"{w} {m}" for w, m in zip(what, months, strict=True))


def _end_of_life(products: pd.DataFrame, skus: pd.Series, months: pd.Series) -> pd.Series:
    """Why each (sku, month) row is cut to 0, or None: "discontinued" in every month,
    "end of life YYYY-MM" from the sku's eol_month on. Products without a status or
    eol_month column cut nothing."""
    reason = pd.Series(None, index=skus.index, dtype=object)
    by_sku = products.set_index("sku")
    if "eol_month" in by_sku.columns:
        try:
            eol = pd.to_datetime(skus.map(by_sku["eol_month"]))
        except (TypeError, ValueError) as exc:
            raise SopError(
                "products: eol_month must hold months (first-of-month dates) or be empty; "
                "pass products as sopkit.data loads it."
            ) from exc
        ended = (eol.notna() & (months >= eol)).to_numpy()
        reason[ended] = "end of life " + eol[ended].dt.strftime("%Y-%m")
    if "status" in by_sku.columns:
        reason[skus.map(by_sku["status"]).eq("discontinued").to_numpy()] = "discontinued"
    return reason


def _match_inputs(
    forecast: pd.DataFrame, sales_inputs: pd.DataFrame, products: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pair every sales input with the forecast rows it touches.

    Returns the forecast (with family, a row number ``_row`` and ``_ended``, the
    end-of-life reason or None) and the pairs, one row per input x touched forecast
    row: ``_input`` (position in sales_inputs), ``_row``, ``yhat``, kind, value,
    reason, ``_ended`` (True where the row is cut to 0 by the end-of-life rule).
    """
    require_columns(forecast, "forecast", ["sku", "region", "month", "yhat"])
    require_columns(sales_inputs, "sales_inputs", _INPUT_COLUMNS)
    fc = forecast[["sku", "region", "month", "yhat"]].reset_index(drop=True)
    fc["family"] = _family_lookup(products, fc["sku"], "forecast").to_numpy()
    fc["_row"] = np.arange(len(fc))
    fc["_ended"] = _end_of_life(products, fc["sku"], fc["month"])

    inputs = sales_inputs.reset_index(drop=True)
    inputs = inputs.assign(
        _input=np.arange(len(inputs)),
        region=inputs.get("region"),
        reason=inputs.get("reason"),
    )
    by_sku = inputs["sku"].notna()
    bad = by_sku == inputs["family"].notna()
    if bad.any():
        raise SopError(
            f"sales_inputs: {int(bad.sum())} input(s) give both or neither of sku and family "
            f"({_describe_inputs(inputs, bad)}); give exactly one of the two in each row."
        )
    bad = ~inputs["kind"].isin(["pct", "abs"])
    if bad.any():
        raise SopError(
            f"sales_inputs: unknown kind {sorted(map(str, inputs.loc[bad, 'kind'].unique()))} "
            f"({_describe_inputs(inputs, bad)}); use 'pct' (percent change) or 'abs' "
            "(units added)."
        )
    bad = inputs["value"].isna() | inputs["month"].isna()
    if bad.any():
        raise SopError(
            f"sales_inputs: {int(bad.sum())} input(s) have no value or no month "
            f"({_describe_inputs(inputs, bad)}); fill them in."
        )

    cols = ["_input", "month", "kind", "value", "reason", "region"]
    pairs = pd.DataFrame(columns=[*cols, "_row", "yhat", "_ended"])
    if not inputs.empty and not fc.empty:
        right = fc.rename(columns={"region": "_fc_region"}).assign(_ended=fc["_ended"].notna())
        pairs = pd.concat(
            [
                inputs.loc[by_sku, ["sku", *cols]].merge(
                    right.drop(columns="family"), on=["sku", "month"]
                ),
                inputs.loc[~by_sku, ["family", *cols]].merge(
                    right.drop(columns="sku"), on=["family", "month"]
                ),
            ],
            ignore_index=True,
        )
        pairs = pairs.loc[pairs["region"].isna() | (pairs["region"] == pairs["_fc_region"])]
    pairs = pairs.astype(
        {"_input": np.int64, "_row": np.int64, "yhat": float, "value": float, "_ended": bool}
    )
    return fc, pairs.sort_values(["_input", "_row"], ignore_index=True)


def build_demand_plan(
    forecast: pd.DataFrame, sales_inputs: pd.DataFrame, products: pd.DataFrame
) -> pd.DataFrame:
    """Turn the statistical forecast and the sales team's inputs into the consensus plan.

    An input selects rows by sku, or by family (all its skus), in one region or in all
    (region None), for one month. Its effect on each selected row:

    - ``pct``: statistical * value / 100 (always on the statistical forecast, so two
      inputs on one row add up rather than compound);
    - ``abs``: ``value`` units shared among the selected rows in proportion to their
      statistical forecast (equally when it sums to 0), so the shares add up to
      ``value``.

    adjustment is the sum of the effects on the row (what sales asked for), and
    consensus = max(0, statistical + adjustment): demand is floored at 0, so where the
    floor bites consensus is above statistical + adjustment. Inputs for months outside
    the forecast or matching no row are ignored here; list them with
    :func:`unmatched_inputs`.

    End of life (a planning rule, shown rather than hidden): a product with status
    "discontinued" (every month) or with an ``eol_month`` (every month from it on) is
    planned at 0. Its rows keep ``statistical`` as the method gave it, get
    adjustment = -statistical (so consensus = 0) and the reason "discontinued" or
    "end of life YYYY-MM". Sales inputs never touch those rows: an input on a family
    is shared among its SKUs still alive that month, and an input that only touches
    ended rows is listed by :func:`unmatched_inputs`. Without a ``status`` or
    ``eol_month`` column in ``products`` nothing is cut.

    Parameters
    ----------
    forecast : pandas.DataFrame
        The ``forecast`` artifact (sku, region, month, yhat used).
    sales_inputs : pandas.DataFrame
        sku, family, region, month, kind, value, reason (optional), one row per input.
    products : pandas.DataFrame
        sku, family; status and eol_month (optional) for the end-of-life rule.

    Returns
    -------
    pandas.DataFrame
        The ``demand_plan`` artifact: sku, region, month, statistical, adjustment,
        consensus, adjustment_reason (the distinct reasons of the inputs touching the
        row, in input order, joined with "; ", or the end-of-life reason; None when
        there is none).

    Raises
    ------
    SopError
        If an input has both or neither of sku and family, an unknown kind, or no
        value, or a forecast sku is not in products.
    """
    fc, pairs = _match_inputs(forecast, sales_inputs, products)
    pairs = pairs.loc[~pairs["_ended"]]
    stat = pairs["yhat"].to_numpy(dtype=float)
    value = pairs["value"].to_numpy(dtype=float)
    grp = pairs.groupby("_input")
    total = grp["yhat"].transform("sum").to_numpy(dtype=float)
    count = grp["yhat"].transform("size").to_numpy(dtype=float)
    share = np.where(total != 0, stat / np.where(total != 0, total, 1.0), 1.0 / count)
    pairs["effect"] = np.where(pairs["kind"] == "pct", stat * value / 100.0, value * share)

    adjustment = pairs.groupby("_row")["effect"].sum()
    plan = fc[["sku", "region", "month", "yhat"]].rename(columns={"yhat": "statistical"})
    ended = fc["_ended"].notna().to_numpy()
    adjustment = adjustment.reindex(fc["_row"], fill_value=0.0).to_numpy()
    plan["adjustment"] = np.where(ended, -plan["statistical"].to_numpy(), adjustment)
    plan["consensus"] = np.maximum(plan["statistical"] + plan["adjustment"], 0.0)
    plan.loc[ended, "consensus"] = 0.0  # exactly 0, whatever the rounding of stat - stat
    reasons = pairs.loc[pairs["reason"].notna(), ["_row", "reason"]].astype({"reason": str})
    reasons = reasons.drop_duplicates().groupby("_row")["reason"].agg("; ".join)
    joined = reasons.reindex(fc["_row"]).to_numpy(dtype=object)
    joined = np.where(ended, fc["_ended"].to_numpy(dtype=object), joined)
    plan["adjustment_reason"] = [r if isinstance(r, str) else None for r in joined]
    plan = plan.sort_values(["sku", "region", "month"], ignore_index=True)
    return plan[DEMAND_PLAN_COLUMNS]


def unmatched_inputs(
    forecast: pd.DataFrame, sales_inputs: pd.DataFrame, products: pd.DataFrame
) -> pd.DataFrame:
    """The sales inputs that :func:`build_demand_plan` could not apply, and why.

    Parameters
    ----------
    forecast, sales_inputs, products : pandas.DataFrame
        As for :func:`build_demand_plan`.

    Returns
    -------
    pandas.DataFrame
        The unmatched rows of ``sales_inputs`` (all its columns, original index) plus
        ``problem``: a sentence for the planner (month outside the forecast, sku or
        family without forecast, nothing forecast in that region, or only rows that
        the end-of-life rule keeps at 0).
    """
    fc, pairs = _match_inputs(forecast, sales_inputs, products)
    matched = np.zeros(len(sales_inputs), dtype=bool)
    matched[pairs.loc[~pairs["_ended"], "_input"].unique()] = True
    first_pair = pairs.drop_duplicates("_input").set_index("_input")["_row"]
    ended = first_pair.map(fc["_ended"]).reindex(np.arange(len(sales_inputs)))
    ended = ended.to_numpy(dtype=object)[~matched]
    out = sales_inputs.loc[~matched].copy()
    if out.empty:
        out["problem"] = pd.Series(dtype=object)
        return out
    lo, hi = fc["month"].min(), fc["month"].max()
    span = f"{_ym(lo)} to {_ym(hi)}" if len(fc) else "empty"
    month_out = ~out["month"].isin(fc["month"].unique()).to_numpy()
    what = np.where(
        out["sku"].notna(), "sku " + out["sku"].astype(str), "family " + out["family"].astype(str)
    )
    known = np.where(
        out["sku"].notna(), out["sku"].isin(fc["sku"]), out["family"].isin(fc["family"])
    )
    month_txt = out["month"].dt.strftime("%Y-%m").fillna("(none)").to_numpy(dtype=object)
    is_ended = np.array([isinstance(e, str) for e in ended], dtype=bool)
    why = (
        pd.Series(ended, dtype=object)
        .where(is_ended, "")
        .str.replace(r"^end of life (.+)$", r"is past its end of life (\1)", regex=True)
    )
    why = why.where(why != "discontinued", "is discontinued").to_numpy(dtype=object)
    why = np.where(out["sku"].notna(), why, "has only discontinued or ended SKUs that month")
    out["problem"] = np.select(
        [month_out, ~known, is_ended],
        [
            "month " + month_txt + f" is outside the forecast ({span})",
            what + " has no forecast",
            what + " " + why + ": its plan stays 0",
        ],
        default=what + " has no forecast in region " + out["region"].astype(str) + " that month",
    ).astype(object)
    return out


def pooled_wape(accuracy: pd.DataFrame, level: str = "sku") -> float:
    """WAPE pooled over every key and lag of one level: sum |error| / sum actual.

    At ``level="sku"`` this is the error planners live with, SKU by SKU; at
    ``"total"`` errors of opposite sign cancel and the figure flatters the method.

    Parameters
    ----------
    accuracy : pd.DataFrame
        The ``accuracy`` artifact (level, abs_error, actual).
    level : {"sku", "family", "total"}, default "sku"

    Returns
    -------
    float
        The WAPE as a fraction (0.25 = 25 %); NaN when nothing was sold.

    Examples
    --------
    >>> acc = pd.DataFrame({"level": ["sku"] * 2, "abs_error": [2.0, 3.0], "actual": [10.0, 40.0]})
    >>> pooled_wape(acc)
    0.1
    """
    if level not in ACCURACY_LEVELS:
        raise SopError(f"level must be one of {', '.join(ACCURACY_LEVELS)}; got {level!r}.")
    rows = accuracy.loc[accuracy["level"] == level]
    actual = rows["actual"].sum()
    return float(rows["abs_error"].sum() / actual) if actual > 0 else float("nan")
