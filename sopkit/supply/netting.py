"""Lot-for-lot netting, as in MRP: make what the plan needs after stock and safety stock."""

from __future__ import annotations

import pandas as pd

from sopkit._checks import reject_duplicates, require_columns, require_consensus
from sopkit.supply._common import SUPPLY_PLAN_COLUMNS, _plan_months, _shipments


def plan_production(demand_plan: pd.DataFrame, inventory: pd.DataFrame) -> pd.DataFrame:
    """Plan production lot for lot: make just enough to meet demand and keep safety stock.

    Demand is the consensus summed over regions. Starting from ``on_hand``, cumulative
    production up to month *t* is ``max(0, cumulative demand + safety_stock - on_hand)``,
    made non-decreasing (stock already made is never un-made); production is its
    month-on-month difference. End inventory therefore never falls below safety stock
    once production starts, and the opening stock is used up before anything is made.

    Parameters
    ----------
    demand_plan : pandas.DataFrame
        The stage 2 artifact; needs ``sku``, ``month`` and ``consensus`` (units).
    inventory : pandas.DataFrame
        ``sku``, ``on_hand`` and optionally ``safety_stock``. A SKU without a row
        starts from 0 on hand; a missing safety stock counts as 0.

    Returns
    -------
    pandas.DataFrame
        The ``supply_plan`` artifact, one row per SKU x plan month (a month a SKU
        has no consensus row counts as 0 demand), sorted by SKU and month:
        sku, month, demand, shipments (demand + backlog carried in - backlog carried
        out; here equal to demand), production, overtime_hours, subcontract, inventory
        (end of month), backlog. ``overtime_hours``, ``subcontract`` and ``backlog``
        are 0.0: netting never uses them; the optimisation model fills them per SKU.

    Raises
    ------
    SopError
        Missing columns, an empty plan, a consensus without a value, or a SKU
        listed twice in ``inventory``.

    Examples
    --------
    On hand 50, safety stock 10, demand 30, 40, 20 gives production 0, 30, 20 and
    end inventory 20, 10, 10.
    """
    require_columns(demand_plan, "demand_plan", ["sku", "month", "consensus"])
    require_columns(inventory, "inventory", ["sku", "on_hand"])
    require_consensus(demand_plan, "nothing to plan production for")
    reject_duplicates(inventory, "inventory", ["sku"])

    grid = pd.MultiIndex.from_product(
        [sorted(demand_plan["sku"].unique()), _plan_months(demand_plan)], names=["sku", "month"]
    )
    plan = (
        demand_plan.groupby(["sku", "month"])["consensus"]
        .sum()
        .reindex(grid, fill_value=0.0)
        .astype(float)
        .rename("demand")
        .reset_index()
    )
    stock = inventory.set_index("sku")
    on_hand = plan["sku"].map(stock["on_hand"]).fillna(0.0).astype(float)
    safety = (
        plan["sku"].map(stock["safety_stock"]).fillna(0.0).astype(float)
        if "safety_stock" in stock.columns
        else 0.0
    )
    by_sku = plan["sku"]
    cum_demand = plan.groupby(by_sku)["demand"].cumsum()
    cum_production = (cum_demand + safety - on_hand).clip(lower=0.0).groupby(by_sku).cummax()
    plan["production"] = cum_production.groupby(by_sku).diff().fillna(cum_production)
    plan["overtime_hours"] = 0.0
    plan["subcontract"] = 0.0
    plan["inventory"] = on_hand + cum_production - cum_demand
    plan["backlog"] = 0.0
    plan["shipments"] = _shipments(plan)
    plan["lost"] = 0.0
    plan["safety_stock"] = safety
    plan["safety_shortfall"] = (safety - plan["inventory"]).clip(lower=0.0)
    plan["unmet_reason"] = None
    return plan[SUPPLY_PLAN_COLUMNS]
