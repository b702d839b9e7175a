"""Stage 4, what-if scenarios: change demand, price or capacity, re-plan, compare.

A scenario is a mapping of :func:`apply_scenario` keywords, for example
``{"demand_change_pct": 10, "resource_capacity_change_pct": {"Press": -20}}``;
every change is in percent (+10 = +10 %). :func:`compare_scenarios` runs each one
through the simple supply plan, the capacity check and the financials. The later
optimisation engine re-plans the same way and fills the same ``scenarios`` columns.

Artifact
--------
``scenarios`` (:data:`SCENARIO_COLUMNS`), one row per scenario.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sopkit._checks import require_columns, require_consensus
from sopkit.errors import ConfigError, SopError
from sopkit.finance import TOTAL, financial_summary, project_financials
from sopkit.schemas import columns
from sopkit.supply import check_capacity, plan_production, summarise_capacity

SCENARIO_COLUMNS = columns("scenarios")
#: the keywords a scenario may set; each is an argument of :func:`apply_scenario`.
SCENARIO_KEYS = (
    "demand_change_pct",
    "family_demand_change_pct",
    "price_change_pct",
    "capacity_change_pct",
    "resource_capacity_change_pct",
)


def _factor(pct: object, what: str) -> float:
    """Turn a change in percent into a multiplier, refusing what makes no sense."""
    try:
        value = float(pct)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{what} must be a change in percent (e.g. 10 for +10 %), got {pct!r}."
        ) from None
    if not np.isfinite(value):
        raise ConfigError(f"{what} must be a finite change in percent, got {pct!r}.")
    if value < -100:
        raise ConfigError(
            f"{what} is {value:g} %, below -100 %: a quantity cannot fall by more than all "
            "of it. Use a value of -100 or above."
        )
    return 1.0 + value / 100.0


def _override_factors(
    overrides: Mapping[str, object] | None, what: str, param: str, valid: pd.Series
) -> pd.Series:
    """Multipliers by name for a per-family or per-resource override; names must exist."""
    if overrides is None:
        return pd.Series(dtype=float)
    if not isinstance(overrides, Mapping):
        raise ConfigError(
            f"{param} must map {what} names to a change in percent, "
            f"e.g. {{'<{what}>': 10}}; got {overrides!r}."
        )
    names = sorted(set(valid.dropna()))
    unknown = sorted(str(k) for k in overrides if k not in set(names))
    if unknown:
        raise ConfigError(
            f"{param} names unknown {what}(s): {', '.join(unknown)}. "
            f"Valid {what} names: {', '.join(map(str, names))}."
        )
    return pd.Series(
        {name: _factor(pct, f"{param}[{name!r}]") for name, pct in overrides.items()},
        dtype=float,
    )


def apply_scenario(
    demand_plan: pd.DataFrame,
    products: pd.DataFrame,
    resources: pd.DataFrame,
    *,
    demand_change_pct: float = 0.0,
    family_demand_change_pct: Mapping[str, float] | None = None,
    price_change_pct: float = 0.0,
    capacity_change_pct: float = 0.0,
    resource_capacity_change_pct: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return adjusted copies of the plan, the products and the resources.

    Parameters
    ----------
    demand_plan : pandas.DataFrame
        Needs ``sku`` and ``consensus``; only ``consensus`` changes (``statistical``
        and ``adjustment`` keep what the forecast and the planners said).
    products : pandas.DataFrame
        Needs ``sku``, ``family`` and ``unit_price``; only ``unit_price`` changes.
    resources : pandas.DataFrame
        Needs ``resource``, ``regular_hours`` and ``max_overtime_hours``; both hours change.
    demand_change_pct : float, default 0
        Change of every consensus quantity, in percent.
    family_demand_change_pct : mapping of str to float, optional
        Per family, a change that replaces ``demand_change_pct`` for that family.
    price_change_pct : float, default 0
        Change of every unit price, in percent.
    capacity_change_pct : float, default 0
        Change of regular and overtime hours of every resource, in percent.
    resource_capacity_change_pct : mapping of str to float, optional
        Per resource, a change that replaces ``capacity_change_pct`` for it.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(demand_plan, products, resources)``, new frames; the inputs are untouched.

    Raises
    ------
    ConfigError
        A change below -100 % or not a number, or an override naming a family or
        resource that does not exist (the message lists the valid names).
    SopError
        Missing columns, or a family override while a planned SKU has no product row.

    Examples
    --------
    >>> plan, prods, res = apply_scenario(  # doctest: +SKIP
    ...     plan, prods, res, demand_change_pct=10, family_demand_change_pct={"Bikes": -5}
    ... )
    """
    require_columns(demand_plan, "demand_plan", ["sku", "consensus"])
    require_columns(products, "products", ["sku", "family", "unit_price"])
    require_columns(resources, "resources", ["resource", "regular_hours", "max_overtime_hours"])
    demand = _factor(demand_change_pct, "demand_change_pct")
    price = _factor(price_change_pct, "price_change_pct")
    capacity = _factor(capacity_change_pct, "capacity_change_pct")
    by_family = _override_factors(
        family_demand_change_pct, "family", "family_demand_change_pct", products["family"]
    )
    by_resource = _override_factors(
        resource_capacity_change_pct,
        "resource",
        "resource_capacity_change_pct",
        resources["resource"],
    )

    plan = demand_plan.copy()
    if by_family.empty:
        plan["consensus"] = plan["consensus"] * demand
    else:
        family = plan["sku"].map(products.drop_duplicates("sku").set_index("sku")["family"])
        if family.isna().any():
            skus = sorted(set(plan.loc[family.isna(), "sku"]))
            raise SopError(
                f"demand_plan has SKU(s) that products does not list: "
                f"{', '.join(map(str, skus[:10]))}, so their family's change cannot apply. "
                "Add them to products with a family."
            )
        plan["consensus"] = plan["consensus"] * family.map(by_family).fillna(demand)

    prods = products.copy()
    prods["unit_price"] = prods["unit_price"] * price

    res = resources.copy()
    factor = res["resource"].map(by_resource).fillna(capacity)
    for col in ("regular_hours", "max_overtime_hours"):
        res[col] = res[col] * factor
    return plan, prods, res


def compare_scenarios(
    demand_plan: pd.DataFrame,
    products: pd.DataFrame,
    inventory: pd.DataFrame,
    routings: pd.DataFrame,
    resources: pd.DataFrame,
    budget: pd.DataFrame,
    scenarios: Mapping[str, Mapping[str, float | dict]],
    months: int = 12,
) -> pd.DataFrame:
    """Re-plan each scenario and report its headline figures side by side.

    Each scenario goes :func:`apply_scenario` -> :func:`~sopkit.supply.plan_production`
    -> :func:`~sopkit.supply.check_capacity` -> :func:`~sopkit.finance.project_financials`,
    over the first ``months`` plan months (netting only looks back, so cutting the
    horizon first changes nothing in the window).

    Parameters
    ----------
    demand_plan, products, inventory, routings, resources, budget : pandas.DataFrame
        The stage 2 ``demand_plan`` and the input tables, as for the stage functions.
    scenarios : mapping of str to mapping
        Scenario name -> keywords of :func:`apply_scenario` (see :data:`SCENARIO_KEYS`);
        ``{}`` is the plan as it stands.
    months : int, default 12
        How many plan months, from the first, to sum.

    Returns
    -------
    pandas.DataFrame
        The ``scenarios`` artifact, one row per scenario in the given order: scenario,
        units, revenue, margin, margin_pct, budget_revenue, revenue_vs_budget_pct
        (variance over the budgeted months, in percent of their budget),
        required_hours, available_hours (regular), overload_hours, shortfall_hours,
        peak_utilisation (fraction; ``inf`` when work lands on a resource-month
        without hours), overloaded_resource_months.

    Raises
    ------
    ConfigError
        No scenarios, ``months`` below 1, an unknown scenario keyword, or a bad value
        (the message names the scenario).
    SopError
        What the stage functions raise for bad tables.
    """
    if not scenarios:
        raise ConfigError(
            "no scenarios to compare. Give at least one, e.g. {'baseline': {}} for the "
            "plan as it stands."
        )
    if months < 1:
        raise ConfigError(f"months must be 1 or more (how many plan months to sum), got {months}.")
    require_consensus(demand_plan, "no plan to run scenarios on")
    window = np.sort(demand_plan["month"].unique())[:months]
    plan = demand_plan[demand_plan["month"].isin(window)]

    rows = []
    for name, spec in scenarios.items():
        unknown = sorted(set(spec) - set(SCENARIO_KEYS))
        if unknown:
            raise ConfigError(
                f"scenario {name!r} sets unknown keyword(s) {', '.join(unknown)}. "
                f"A scenario may set: {', '.join(SCENARIO_KEYS)}."
            )
        try:
            dp, prods, res = apply_scenario(plan, products, resources, **spec)
        except ConfigError as err:
            raise ConfigError(f"scenario {name!r}: {err}") from err
        capacity = summarise_capacity(check_capacity(plan_production(dp, inventory), routings, res))
        fin = project_financials(dp, prods, budget)
        total = financial_summary(fin, months=months).set_index("family").loc[TOTAL]
        rows.append(
            {
                "scenario": name,
                "units": float(fin["units"].sum()),
                "revenue": total["revenue"],
                "margin": total["margin"],
                "margin_pct": total["margin_pct"],
                "budget_revenue": total["budget_revenue"],
                "revenue_vs_budget_pct": total["variance_pct"],
                **capacity,
            }
        )
    return pd.DataFrame(rows, columns=SCENARIO_COLUMNS)
