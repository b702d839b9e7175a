"""Safety-stock targets from stage 2's forecast error and the service level.

A SKU's forecast error is its WAPE in the stage 2 backtest (the ``accuracy`` artifact,
level ``sku``, pooled over lags: sum of absolute errors over sum of actuals). For a
normal error, the standard deviation is ``sqrt(pi / 2)`` times the mean absolute error
(about 1.25; Silver, Pyke & Thomas, *Inventory and Production Management in Supply
Chains*, 4th ed., ch. 6), so the error of month *t* is taken as
``sigma[t] = 1.25 x WAPE x demand[t]`` and the target is
:func:`~sopkit.supply.model.safety_stock` of it:
``z(service_level) x sigma[t] x sqrt(lead_time_months)``.

- WAPE is capped at 1: beyond it (intermittent or collapsing series) the error says more
  about the series than about the stock that would cover it, and the target would
  exceed months of demand.
- A SKU the backtest could not score (new items, no sales in the holdout) takes the
  WAPE of all scored SKUs pooled; with no scored SKU at all, every target is 0 and
  :func:`forecast_error_safety_stock` says so in its ``basis`` column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit._checks import require_columns
from sopkit.supply.model import safety_stock

#: sigma / mean absolute error of a normal error: sqrt(pi / 2)
MAD_TO_SIGMA = float(np.sqrt(np.pi / 2))
#: the accuracy rows used: the engine's own, else the first model listed
PREFERRED_MODEL = "statistical"


def forecast_error_safety_stock(
    demand_plan: pd.DataFrame,
    accuracy: pd.DataFrame,
    service_level: float,
    lead_time_months: float = 1.0,
) -> pd.DataFrame:
    """Safety-stock targets per SKU and month from the forecast error of stage 2.

    Parameters
    ----------
    demand_plan : pandas.DataFrame
        ``sku``, ``month``, ``consensus`` (summed over regions here).
    accuracy : pandas.DataFrame
        The stage 2 ``accuracy`` artifact (model, level, key, actual, abs_error); the
        rows of level ``sku`` are read.
    service_level : float
        Cycle service level, at least 0.5 and below 1.
    lead_time_months : float, default 1
        Replenishment lead time.

    Returns
    -------
    pandas.DataFrame
        One row per SKU x month: sku, month, demand, wape (the error used), basis
        ("own" backtest, "pooled" over all SKUs, or "none"), sigma and safety_stock.
        ``set_index(["sku", "month"])["safety_stock"]`` is what
        ``SupplyModel.from_inputs(safety_stock=...)`` takes.

    Raises
    ------
    SopError
        Missing columns, or a service level or lead time out of range.

    Examples
    --------
    >>> targets = forecast_error_safety_stock(plan, acc, 0.95)  # doctest: +SKIP
    """
    require_columns(demand_plan, "demand_plan", ["sku", "month", "consensus"])
    require_columns(accuracy, "accuracy", ["model", "level", "key", "actual", "abs_error"])
    safety_stock(0.0, service_level, lead_time_months)  # checks the two numbers
    out = demand_plan.groupby(["sku", "month"], as_index=False)["consensus"].sum()
    out = out.rename(columns={"consensus": "demand"})

    rows = accuracy[accuracy["level"] == "sku"]
    models = list(rows["model"].drop_duplicates())
    if models:
        rows = rows[rows["model"] == (PREFERRED_MODEL if PREFERRED_MODEL in models else models[0])]
    sums = rows.groupby(rows["key"].astype(str))[["abs_error", "actual"]].sum()
    scored = sums[sums["actual"] > 0]
    own = (scored["abs_error"] / scored["actual"]).clip(upper=1.0)
    pooled = min(scored["abs_error"].sum() / scored["actual"].sum(), 1.0) if len(scored) else np.nan

    wape = out["sku"].astype(str).map(own)
    out["basis"] = np.where(wape.notna(), "own", "pooled" if np.isfinite(pooled) else "none")
    out["wape"] = wape.fillna(pooled).fillna(0.0).to_numpy(dtype=float)
    out["sigma"] = MAD_TO_SIGMA * out["wape"] * out["demand"].clip(lower=0.0)
    out["safety_stock"] = safety_stock(out["sigma"], service_level, lead_time_months)
    return out[["sku", "month", "demand", "wape", "basis", "sigma", "safety_stock"]]


__all__ = ["MAD_TO_SIGMA", "forecast_error_safety_stock"]
