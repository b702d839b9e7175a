"""Stage 3, supply planning: a production plan and what it asks of capacity and materials.

This is the honest first version: lot-for-lot netting as in MRP, then a check of the
plan against the hours of each resource and the quantities of each material. It plans
no overtime, no subcontracting and no backlog, and knows no shadow prices; those
columns are in the artifacts already (0.0 or NaN here) because the cvxpy optimisation
of a later issue fills them, and downstream stages must not change when it does.

Artifacts
---------
``supply_plan`` (:data:`SUPPLY_PLAN_COLUMNS`), one row per SKU x plan month, and
``capacity`` (:data:`CAPACITY_COLUMNS`), one row per resource x plan month.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sopkit._checks import reject_duplicates, require_columns, require_consensus
from sopkit.errors import SopError

SUPPLY_PLAN_COLUMNS = [
    "sku",
    "month",
    "demand",
    "production",
    "overtime_hours",
    "subcontract",
    "inventory",
    "backlog",
]
CAPACITY_COLUMNS = [
    "resource",
    "month",
    "available_hours",
    "max_overtime_hours",
    "required_hours",
    "utilisation",
    "overload_hours",
    "shortfall_hours",
    "status",
    "shadow_price",
]
MATERIALS_COLUMNS = ["material", "month", "required", "available", "shortfall", "unit_cost"]

#: utilisation up to this share of regular hours is "ok"; above it, up to 100 %, "tight".
TIGHT_ABOVE = 0.85


def _require_plan(supply_plan: pd.DataFrame) -> None:
    require_columns(supply_plan, "supply_plan", ["sku", "month", "production"])
    if supply_plan.empty:
        raise SopError(
            "supply_plan is empty: there is no production to check. "
            "Build it with plan_production() from a demand plan that has rows."
        )


def _plan_months(plan: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.sort(plan["month"].unique()), name="month")


def _resolve_by_month(
    table: pd.DataFrame,
    name: str,
    key: str,
    keys: Iterable[str],
    months: pd.DatetimeIndex,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Return one row per key x month: the month's own row if any, else the NaT row.

    A month-specific row replaces the general row as a whole (all ``columns``), so a
    planner reads one row to know what applies. No row at all gives NaN.
    """
    table = table if "month" in table.columns else table.assign(month=pd.NaT)
    reject_duplicates(table, name, [key, "month"])
    grid = pd.MultiIndex.from_product([sorted(set(keys)), months], names=[key, "month"]).to_frame(
        index=False
    )
    general = table.loc[table["month"].isna(), [key, *columns]]
    specific = table.loc[table["month"].notna(), [key, "month", *columns]]
    by_month = grid.merge(specific, on=[key, "month"], how="left", indicator=True)
    by_key = grid.merge(general, on=key, how="left")
    own = (by_month.pop("_merge") == "both").to_numpy()
    for col in columns:
        grid[col] = by_month[col].where(own, by_key[col])
    return grid


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
        sku, month, demand, production, overtime_hours, subcontract, inventory
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
    return plan[SUPPLY_PLAN_COLUMNS]


def check_capacity(
    supply_plan: pd.DataFrame, routings: pd.DataFrame, resources: pd.DataFrame
) -> pd.DataFrame:
    """Compare the hours a production plan needs with the hours each resource has.

    Parameters
    ----------
    supply_plan : pandas.DataFrame
        ``sku``, ``month``, ``production`` (the ``supply_plan`` artifact).
    routings : pandas.DataFrame
        ``sku``, ``resource``, ``hours_per_unit``. A SKU without routing needs no hours.
    resources : pandas.DataFrame
        ``resource``, ``month`` (NaT = every month), ``regular_hours``,
        ``max_overtime_hours``. A row with a month replaces the NaT row of that
        resource for that month. A resource-month with no row, or missing hours,
        has 0 hours: work routed there shows as overtime or short, never as free.

    Returns
    -------
    pandas.DataFrame
        The ``capacity`` artifact, one row per resource in ``resources`` x plan month,
        sorted: resource, month, available_hours (regular), max_overtime_hours,
        required_hours (sum of production x hours_per_unit; 0 if nothing routes
        there), utilisation (required / available; NaN when available is 0),
        overload_hours (above regular hours), shortfall_hours (above regular plus
        overtime hours), status, shadow_price. ``status`` is "ok" up to 85 %
        utilisation, "tight" up to 100 %, "overtime" when the overload fits in the
        overtime hours, else "short". ``shadow_price`` is NaN: only the optimisation
        model has the duals that price an extra hour.

    Raises
    ------
    SopError
        Missing columns, an empty plan, a resource-month given twice, or routings of
        planned SKUs naming a resource that ``resources`` does not have.
    """
    _require_plan(supply_plan)
    require_columns(routings, "routings", ["sku", "resource", "hours_per_unit"])
    require_columns(resources, "resources", ["resource", "regular_hours", "max_overtime_hours"])
    used = routings[routings["sku"].isin(supply_plan["sku"])]
    unknown = sorted(set(used["resource"]) - set(resources["resource"]))
    if unknown:
        valid = ", ".join(map(str, sorted(set(resources["resource"]))))
        raise SopError(
            f"routings send work to resource(s) {', '.join(map(str, unknown))} that the "
            f"resources table does not list (it has: {valid}). "
            "Add their hours to resources, or correct the resource names in routings."
        )

    cap = _resolve_by_month(
        resources,
        "resources",
        "resource",
        resources["resource"],
        _plan_months(supply_plan),
        ["regular_hours", "max_overtime_hours"],
    ).rename(columns={"regular_hours": "available_hours"})
    cap[["available_hours", "max_overtime_hours"]] = (
        cap[["available_hours", "max_overtime_hours"]].astype(float).fillna(0.0)
    )
    load = supply_plan[["sku", "month", "production"]].merge(
        used[["sku", "resource", "hours_per_unit"]], on="sku"
    )
    load["required_hours"] = load["production"] * load["hours_per_unit"]
    required = load.groupby(["resource", "month"], as_index=False)["required_hours"].sum()
    cap = cap.merge(required, on=["resource", "month"], how="left")
    cap["required_hours"] = cap["required_hours"].fillna(0.0)

    available = cap["available_hours"]
    cap["utilisation"] = (cap["required_hours"] / available).where(available > 0)
    cap["overload_hours"] = (cap["required_hours"] - available).clip(lower=0.0)
    cap["shortfall_hours"] = (cap["overload_hours"] - cap["max_overtime_hours"]).clip(lower=0.0)
    # The status follows the hour columns, so a row can never read "ok" with an overload.
    cap["status"] = np.select(
        [
            cap["shortfall_hours"] > 0,
            cap["overload_hours"] > 0,
            cap["utilisation"] > TIGHT_ABOVE,
        ],
        ["short", "overtime", "tight"],
        default="ok",
    ).astype(object)
    cap["shadow_price"] = np.nan
    return cap[CAPACITY_COLUMNS]


def check_materials(
    supply_plan: pd.DataFrame, bom: pd.DataFrame, material_supply: pd.DataFrame
) -> pd.DataFrame:
    """Compare the materials a production plan consumes with what suppliers can deliver.

    Parameters
    ----------
    supply_plan : pandas.DataFrame
        ``sku``, ``month``, ``production``.
    bom : pandas.DataFrame
        ``sku``, ``material``, ``qty_per_unit``.
    material_supply : pandas.DataFrame
        ``material``, ``month`` (NaT = every month), ``max_qty``, ``unit_cost``.
        A row with a month replaces the NaT row of that material for that month.
        A material without a row, or with ``max_qty`` missing, is unlimited.

    Returns
    -------
    pandas.DataFrame
        One row per material of ``bom`` x plan month, sorted: material, month,
        required (production x qty_per_unit), available (max_qty; NaN = unlimited),
        shortfall (required above available; 0 when unlimited), unit_cost
        (NaN when no row gives one). Materials only in ``material_supply`` are left out.

    Raises
    ------
    SopError
        Missing columns, an empty plan, or a material-month given twice.
    """
    _require_plan(supply_plan)
    require_columns(bom, "bom", ["sku", "material", "qty_per_unit"])
    require_columns(material_supply, "material_supply", ["material", "max_qty", "unit_cost"])
    mats = _resolve_by_month(
        material_supply,
        "material_supply",
        "material",
        bom["material"],
        _plan_months(supply_plan),
        ["max_qty", "unit_cost"],
    ).rename(columns={"max_qty": "available"})
    use = supply_plan[["sku", "month", "production"]].merge(
        bom[["sku", "material", "qty_per_unit"]], on="sku"
    )
    use["required"] = use["production"] * use["qty_per_unit"]
    required = use.groupby(["material", "month"], as_index=False)["required"].sum()
    mats = mats.merge(required, on=["material", "month"], how="left")
    mats["required"] = mats["required"].fillna(0.0)
    mats[["available", "unit_cost"]] = mats[["available", "unit_cost"]].astype(float)
    mats["shortfall"] = (mats["required"] - mats["available"]).clip(lower=0.0).fillna(0.0)
    return mats[MATERIALS_COLUMNS]


def bottlenecks(capacity: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """Return the most overloaded resource-months, worst first.

    Parameters
    ----------
    capacity : pandas.DataFrame
        The ``capacity`` artifact.
    top : int, default 10
        How many resource-months to return at most.

    Returns
    -------
    pandas.DataFrame
        The rows of ``capacity`` whose required hours exceed regular hours
        (utilisation above 100 %), by utilisation descending, then resource and
        month. Work on a resource-month with no regular hours (utilisation NaN)
        is the worst overload of all and comes first.
    """
    require_columns(capacity, "capacity", ["resource", "month", "utilisation", "overload_hours"])
    if top < 0:
        raise SopError(f"top must be 0 or more (how many bottlenecks to show), got {top}.")
    over = capacity[capacity["overload_hours"] > 0]
    rank = over["utilisation"].fillna(np.inf).rename("_rank")
    return (
        over.assign(_rank=rank)
        .sort_values(["_rank", "resource", "month"], ascending=[False, True, True])
        .drop(columns="_rank")
        .head(top)
        .reset_index(drop=True)
    )


def summarise_capacity(capacity: pd.DataFrame) -> dict[str, float]:
    """Sum a ``capacity`` table into the figures a scenario or a KPI reports.

    Parameters
    ----------
    capacity : pandas.DataFrame
        The ``capacity`` artifact, or the rows of it to summarise (e.g. a window).

    Returns
    -------
    dict of str to float
        required_hours, available_hours, overload_hours, shortfall_hours (sums);
        peak_utilisation (the highest utilisation as a fraction; ``inf`` when work is
        routed to a resource-month without regular hours; NaN for an empty table);
        overloaded_resource_months (how many rows need more than regular hours).
    """
    require_columns(
        capacity,
        "capacity",
        ["required_hours", "available_hours", "overload_hours", "shortfall_hours", "utilisation"],
    )
    no_hours_but_work = (capacity["available_hours"] <= 0) & (capacity["required_hours"] > 0)
    if no_hours_but_work.any():
        peak = np.inf
    elif capacity["utilisation"].notna().any():
        peak = float(capacity["utilisation"].max())
    else:
        peak = np.nan
    return {
        "required_hours": float(capacity["required_hours"].sum()),
        "available_hours": float(capacity["available_hours"].sum()),
        "overload_hours": float(capacity["overload_hours"].sum()),
        "shortfall_hours": float(capacity["shortfall_hours"].sum()),
        "peak_utilisation": peak,
        "overloaded_resource_months": int((capacity["overload_hours"] > 0).sum()),
    }
