"""Statistical forecast: the seasonal naive benchmark (FPP3 sections 5.2 and 5.5)."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

from sopkit._checks import month_number, month_start, require_columns, whole_number
from sopkit.demand._common import (
    FALLBACK_MONTHS,
    MEAN_FALLBACK,
    SEASONAL_NAIVE,
    _check_levels,
    _level_name,
    _ym,
)
from sopkit.errors import SopError

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
    end = month_number(cycle)  # first month NOT in the history
    offset = month_number(hist["month"]) - end  # -1 = month before the cycle
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
    horizon = whole_number(horizon, "horizon", what="months")
    m = whole_number(season_length, "season_length", what="months")
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
