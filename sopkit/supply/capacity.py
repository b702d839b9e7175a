"""What a production plan asks of capacity and materials, and where it binds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit._checks import require_columns
from sopkit.errors import SopError
from sopkit.supply._common import (
    CAPACITY_COLUMNS,
    MATERIALS_COLUMNS,
    TIGHT_ABOVE,
    _plan_months,
    _require_plan,
    _resolve_by_month,
)


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
    cap["regular_used"] = np.minimum(cap["required_hours"], available.fillna(0.0))
    cap["overtime_used"] = np.minimum(cap["overload_hours"], cap["max_overtime_hours"])
    cap["shadow_price_overtime"] = np.nan
    cap["binding"] = False
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
    mats["shadow_price"] = np.nan
    mats["binding"] = False
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
        routed to a resource-month without regular hours; NaN when no resource-month
        has regular hours, so there is no utilisation to judge); overloaded_resource_months
        (how many rows need more than regular hours). Every figure is NaN for an empty
        table: without resources the plan's hours cannot be checked, which is not the
        same as checked and fine.

    Examples
    --------
    >>> summarise_capacity(cap)["overloaded_resource_months"]  # doctest: +SKIP
    13.0
    """
    require_columns(
        capacity,
        "capacity",
        ["required_hours", "available_hours", "overload_hours", "shortfall_hours", "utilisation"],
    )
    if capacity.empty:
        return dict.fromkeys(_CAPACITY_SUMMARY, np.nan)
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
        "overloaded_resource_months": float((capacity["overload_hours"] > 0).sum()),
    }


_CAPACITY_SUMMARY = (
    "required_hours",
    "available_hours",
    "overload_hours",
    "shortfall_hours",
    "peak_utilisation",
    "overloaded_resource_months",
)
