"""What the supply plan says in words: the constraints worth money, and the demand left unmet.

Both read the stage 3 artifacts, so stage 3, stage 4 and the dashboard word a plan alike.

Example
-------
>>> prices = constraint_prices(plan.capacity, plan.materials, top=5)  # doctest: +SKIP
>>> print(prices["sentence"].iloc[0])  # doctest: +SKIP
One more hour of Roasting in 2027-03 is worth 41.20.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from sopkit._checks import family_of, require_columns
from sopkit.errors import SopError

_TOL = 1e-6
PRICE_COLUMNS = ["kind", "name", "month", "shadow_price", "used", "limit", "sentence"]


def _md(text: object) -> str:
    """Text from the data or the parameters, safe in Markdown that is rendered as HTML."""
    return html.escape(str(text), quote=False)


def _money(x: float) -> str:
    return f"{x:,.2f}"


def constraint_prices(
    capacity: pd.DataFrame, materials: pd.DataFrame, top: int = 10
) -> pd.DataFrame:
    """The binding resource-months and material-months, by what one more unit is worth.

    Parameters
    ----------
    capacity : pandas.DataFrame
        The ``capacity`` artifact (resource, month, shadow_price, shadow_price_overtime,
        regular_used, available_hours, overtime_used, max_overtime_hours).
    materials : pandas.DataFrame
        The ``materials`` artifact (material, month, shadow_price, required, available,
        unit_cost).
    top : int, default 10
        How many to return at most.

    Returns
    -------
    pandas.DataFrame
        kind ("resource" or "material"), name, month, shadow_price (money one more hour
        or unit saves, net of its cost), used, limit, and a sentence a planner can act
        on: "One more hour of Press in 2027-03 is worth 113.00 (an overtime hour 83.00,
        after its cost)." Highest first; only prices above 0.

    Raises
    ------
    SopError
        Missing columns or a negative ``top``.
    """
    require_columns(
        capacity,
        "capacity",
        ["resource", "month", "shadow_price", "shadow_price_overtime", "regular_used",
         "available_hours"],
    )  # fmt: skip
    require_columns(
        materials, "materials", ["material", "month", "shadow_price", "required", "available"]
    )
    if top < 0:
        raise SopError(f"top must be 0 or more (how many prices to show), got {top}.")
    cap = capacity[capacity["shadow_price"].fillna(0.0) > _TOL]
    ot = cap["shadow_price_overtime"].fillna(0.0)
    res = pd.DataFrame(
        {
            "kind": "resource",
            "name": cap["resource"],
            "month": cap["month"],
            "shadow_price": cap["shadow_price"],
            "used": cap["regular_used"],
            "limit": cap["available_hours"],
            "sentence": [
                f"One more hour of {_md(r)} in {m:%Y-%m} is worth {_money(p)}"
                + (f" (an overtime hour {_money(o)}, after its cost)." if o > _TOL else ".")
                for r, m, p, o in zip(cap["resource"], cap["month"], cap["shadow_price"], ot,
                                      strict=True)
            ],
        }
    )  # fmt: skip
    mat = materials[materials["shadow_price"].fillna(0.0) > _TOL]
    mats = pd.DataFrame(
        {
            "kind": "material",
            "name": mat["material"],
            "month": mat["month"],
            "shadow_price": mat["shadow_price"],
            "used": mat["required"],
            "limit": mat["available"],
            "sentence": [
                f"One more unit of {_md(name)} in {m:%Y-%m} is worth {_money(p)} above its price."
                for name, m, p in zip(mat["material"], mat["month"], mat["shadow_price"],
                                      strict=True)
            ],
        }
    )  # fmt: skip
    both = [df for df in (res, mats) if len(df)]
    if not both:
        return pd.DataFrame(columns=PRICE_COLUMNS)
    out = pd.concat(both, ignore_index=True)
    out = out.sort_values(["shadow_price", "kind", "name", "month"],
                          ascending=[False, True, True, True])  # fmt: skip
    return out.head(top).reset_index(drop=True)[PRICE_COLUMNS]


def unmet_demand(supply_plan: pd.DataFrame, products: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """Demand the plan does not serve in time, per SKU, largest first, with why.

    Parameters
    ----------
    supply_plan : pandas.DataFrame
        The ``supply_plan`` artifact (sku, month, demand, backlog, lost, unmet_reason).
    products : pandas.DataFrame
        sku, family.
    top : int, default 10
        How many SKUs to return at most.

    Returns
    -------
    pandas.DataFrame
        sku, family, demand (over the horizon), held_back (units not served in the
        month asked: backlog added plus lost, each unit counted once), unserved (still
        unserved at the end of the horizon: lost sales and the last month's backlog),
        first_month (the first month with any), reason (the reason of the month with
        the most held back). Only SKUs with some; largest ``held_back`` first.
    """
    require_columns(
        supply_plan,
        "supply_plan",
        ["sku", "month", "demand", "backlog", "lost", "unmet_reason"],
    )
    if top < 0:
        raise SopError(f"top must be 0 or more (how many SKUs to show), got {top}.")
    plan = supply_plan.sort_values(["sku", "month"])
    carried = plan.groupby("sku")["backlog"].shift(1, fill_value=0.0)
    plan = plan.assign(
        held=np.maximum(plan["backlog"] - carried, 0.0) + plan["lost"],
        last=plan["month"] == plan["month"].max(),
    )
    plan["end"] = plan["lost"] + plan["backlog"].where(plan["last"], 0.0)
    hit = plan[plan["held"] > _TOL]
    columns = ["sku", "family", "demand", "held_back", "unserved", "first_month", "reason"]
    if hit.empty:
        return pd.DataFrame(columns=columns)
    worst = hit.sort_values("held", ascending=False).drop_duplicates("sku")
    out = (
        plan.groupby("sku")
        .agg(demand=("demand", "sum"), held_back=("held", "sum"), unserved=("end", "sum"))
        .loc[hit["sku"].unique()]
        .join(hit.groupby("sku")["month"].min().rename("first_month"))
        .join(worst.set_index("sku")["unmet_reason"].rename("reason"))
        .reset_index()
    )
    out.insert(1, "family", family_of(products, out["sku"], "supply_plan").to_numpy())
    out = out.sort_values(["held_back", "sku"], ascending=[False, True])
    return out.head(top).reset_index(drop=True)[columns]


#: what each cost component is, in words
COST_MEANING = {
    "materials": "materials consumed",
    "regular": "regular hours used (0 unless supply costs them)",
    "overtime": "overtime hours",
    "subcontract": "units bought from subcontractors",
    "holding": "stock held",
    "backlog": "backlog carried, a unit-month",
    "lost": "lost sales (and backlog left at the end), at their price",
    "safety_stock": "penalty: stock below its safety target",
    "ending": "penalty: stock below the ending target",
    "setup": "setups (minimum-run plans)",
    "wages": "workers, paid for all their hours",
    "hiring": "workers hired",
    "layoffs": "workers laid off",
}


def cost_breakdown(result: object) -> pd.DataFrame:
    """The supply model's cost by component, largest first, with its share of the total.

    Parameters
    ----------
    result : sopkit.supply.SupplyResult
        A solved plan (``Plan.supply``).

    Returns
    -------
    pandas.DataFrame
        component, meaning, cost, share (fraction of the total); components that cost
        nothing are left out; a last row ``total``.
    """
    costs = result.costs.drop("total")
    costs = costs[costs.abs() > _TOL].sort_values(ascending=False)
    total = float(result.costs["total"])
    out = pd.DataFrame(
        {
            "component": costs.index,
            "meaning": [COST_MEANING.get(c, "") for c in costs.index],
            "cost": costs.to_numpy(dtype=float),
        }
    )
    out["share"] = out["cost"] / total if total else np.nan
    last = pd.DataFrame([{"component": "total", "meaning": "", "cost": total, "share": 1.0}])
    return pd.concat([out, last], ignore_index=True) if len(out) else last


def plan_summary(result: object, *, scenario: str = "", description: str = "") -> str:
    """The plan in a few sentences of Markdown, for the top of stage 3.

    Parameters
    ----------
    result : sopkit.supply.SupplyResult
        A solved plan (``Plan.supply``).
    scenario, description : str, optional
        The scenario's name and description.

    Returns
    -------
    str
        Markdown: the scenario; units made, subcontracted and shipped against demand;
        demand held back and what binds; the total cost; the solver and its time.
    """
    plan, cap, mats = result.plan, result.capacity, result.materials
    demand = float(plan["demand"].sum())
    carried = plan.sort_values(["sku", "month"]).groupby("sku")["backlog"].shift(1, fill_value=0)
    held = float((np.maximum(plan["backlog"] - carried, 0.0) + plan["lost"]).sum())
    skus_held = int(plan.loc[plan["backlog"].add(plan["lost"]) > _TOL, "sku"].nunique())
    on_time = 1.0 - held / demand if demand > 0 else np.nan
    lines = []
    if scenario:
        lines.append(f"Scenario **{_md(scenario)}**: {_md(description) or 'no change'}.")
    lines.append(
        f"The plan makes **{plan['production'].sum():,.0f}** units and buys "
        f"{plan['subcontract'].sum():,.0f} from subcontractors against a demand of "
        f"{demand:,.0f} over {plan['month'].nunique()} months; "
        + (
            f"**{on_time:.1%}** of demand is served in the month it is asked for."
            if np.isfinite(on_time)
            else "there is no demand to serve."
        )
    )
    if held > _TOL:
        lines.append(
            f"{held:,.0f} units are held back (backlogged or lost) across {skus_held} SKU(s); "
            "the table below says why."
        )
    n_res = int(cap["binding"].sum())
    n_mat = int(mats["binding"].sum())
    lines.append(
        f"Binding: {n_res} resource-month(s) and {n_mat} material-month(s)."
        if n_res or n_mat
        else "No resource or material binds: more of either would save nothing."
    )
    lines.append(
        f"Total supply cost **{result.costs['total']:,.0f}**; solved to {result.status} in "
        f"{result.timings.get('solve', float('nan')):.2f} s."
    )
    notes = getattr(result, "notes", ())
    return " ".join(lines) + "".join(f"\n\n**Note:** {_md(n)}" for n in notes)


__all__ = ["COST_MEANING", "constraint_prices", "cost_breakdown", "plan_summary", "unmet_demand"]
