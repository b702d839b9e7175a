"""Stage 4, reconciliation in money: the supply plan valued, and held against the budget.

What is valued is what the supply plan ships (``supply_plan.shipments``), not the
unconstrained consensus: demand the plan cannot meet in a month earns nothing that
month, and earns when the backlog ships.

Columns ending in ``_pct`` hold percentages (12.5 means 12.5 %); money is in the
currency of ``products.unit_price`` and ``budget.revenue``.

Budget comparisons are like with like: a variance is taken only over the months a
budget row covers. A plan window that runs past the end of the budget year is
therefore compared with the budget of the months the budget has, not with a
budget of zero.

The summary window (:func:`summary_window`) is the first ``summary_months`` plan months
(``finance.summary_months`` in the parameters); :func:`financial_totals` is the one
definition of the plan's revenue, margin and budget variance over it, which the
financial summary, the scenario comparison and the executive KPIs all report.

Artifact
--------
``financials`` (:data:`FINANCIALS_COLUMNS`), one row per family x plan month.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sopkit._checks import family_of, reject_duplicates, require_columns
from sopkit.errors import SopError
from sopkit.schemas import ARTIFACTS, columns

FINANCIALS_COLUMNS = columns("financials")
SUMMARY_COLUMNS = [
    "level",
    "family",
    "revenue",
    "margin",
    "margin_pct",
    "budget_revenue",
    "variance",
    "variance_pct",
    "budget_margin",
    "margin_variance",
    "margin_vs_budget_pct",
]
ACTUALS_COLUMNS = ["family", "month", "revenue", "budget_revenue", "variance"]
#: the keys of :func:`financial_totals`
TOTALS_KEYS = (
    "first_month",
    "last_month",
    "months",
    "units",
    "revenue",
    "margin",
    "margin_pct",
    "budget_revenue",
    "variance",
    "variance_pct",
    "budget_margin",
    "margin_variance",
    "margin_vs_budget_pct",
)
_MONEY = ["units", "revenue", "margin", "budget_revenue", "variance", "budget_margin",
          "margin_variance"]  # fmt: skip
_TOL = 1e-6  # units below this are taken as none


#: financials columns a cycle made before the budget's margin was read does not have
_LATER_COLUMNS = ("budget_margin", "margin_variance")


def _checked_financials(financials: pd.DataFrame) -> pd.DataFrame:
    """The ``financials`` artifact checked; an older cycle's gains its later columns as NaN."""
    require_columns(
        financials, "financials", [c for c in FINANCIALS_COLUMNS if c not in _LATER_COLUMNS]
    )
    missing = [c for c in _LATER_COLUMNS if c not in financials.columns]
    return financials.assign(**dict.fromkeys(missing, np.nan)) if missing else financials


def _pct(part: pd.Series, whole: pd.Series) -> pd.Series:
    """100 x part / whole, NaN where whole is 0 or missing (no meaningful share)."""
    return (100.0 * part / whole).where(whole.notna() & (whole != 0))


def _price_lines(lines: pd.DataFrame, products: pd.DataFrame, table: str, qty: str) -> pd.DataFrame:
    """Join family, unit_price and unit_cost onto SKU rows; every SKU must be priced."""
    family_of(products, lines["sku"], table)  # the one lookup: duplicates, unknown SKUs
    prices = products.set_index("sku")[["family", "unit_price", "unit_cost"]]
    priced = lines.join(prices, on="sku")
    no_price = priced[priced[qty].ne(0) & priced[["unit_price", "unit_cost"]].isna().any(axis=1)]
    if not no_price.empty:
        skus = sorted(set(no_price["sku"]))
        raise SopError(
            f"products has no unit_price or unit_cost for SKU(s) {', '.join(map(str, skus[:10]))} "
            f"that {table} sells. Fill in both prices in products."
        )
    return priced


def _require_shipments(supply_plan: pd.DataFrame) -> None:
    require_columns(supply_plan, "supply_plan", ["sku", "month", "shipments"])
    if supply_plan.empty:
        raise SopError(
            "supply_plan is empty: there is no plan to value. "
            "Run stage 3 (supply planning) for this cycle first."
        )
    blank = supply_plan.loc[supply_plan["shipments"].isna(), ["sku", "month"]]
    if not blank.empty:
        where = ", ".join(f"{r.sku} {str(r.month)[:7]}" for r in blank.head(5).itertuples())
        raise SopError(
            f"supply_plan has {len(blank)} row(s) without shipments ({where}). "
            "Build the supply plan with sopkit.supply.plan_production (or the optimiser), "
            "which ships every SKU x month (0 if nothing)."
        )


#: the supply model's cost components each P&L line of ``financials`` takes. Materials,
#: regular hours and the wages of the standing workforce are in the standard cost of goods
#: (``unit_cost``): only a scenario's change of their prices is a line of its own
#: (``cost_change``). Overtime is paid on top of the regular wage bill, which is fixed (the
#: supply model's view: regular hours cost nothing extra), so it is charged in full. The
#: backlog cost is the model's penalty for late demand, not money paid: it stays out.
SUPPLY_LINES = {
    "overtime_cost": ("overtime",),
    "subcontract_cost": ("subcontract",),
    "workforce_cost": ("hiring", "layoffs"),
    "holding_cost": ("holding",),
}
#: the components of the standard cost whose price a scenario may change
STANDARD_COMPONENTS = ("materials", "regular", "wages")


def project_financials(
    supply_plan: pd.DataFrame,
    products: pd.DataFrame,
    budget: pd.DataFrame,
    supply_costs: pd.DataFrame | None = None,
    cost_multipliers: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Value what the supply plan ships, and what it costs, per product family and month.

    Standard costing: what ships is charged at ``unit_cost`` (cost of goods, which holds
    the materials and the regular labour of a standing workforce), and what the supply
    plan spends beyond the standard is charged in the month it is spent (``supply_costs``,
    the supply model's costs; see :data:`SUPPLY_LINES`): overtime hours, the premium of
    bought-in units over their standard cost, hiring and layoffs, and stock held; and a
    scenario's change of the price of materials, regular hours or wages
    (``cost_multipliers``) on what the plan uses of them. ``margin`` is revenue less all
    of these. Lost sales earn nothing, so they are not a cost twice: their revenue is
    shown beside (``lost_revenue``), as is the model's backlog penalty (``backlog_cost``,
    not money paid). Assumed, not modelled: a workforce that grows beyond the standing one
    costs its hiring, but its added wages are not charged.

    Parameters
    ----------
    supply_plan : pandas.DataFrame
        ``sku``, ``month``, ``shipments`` (units; the stage 3 ``supply_plan`` artifact),
        and, where given, ``subcontract``, ``inventory`` and ``lost`` (units).
        Shipments, not demand: demand in backlog is valued in the month it ships.
    products : pandas.DataFrame
        ``sku``, ``family``, ``unit_price``, ``unit_cost``.
    budget : pandas.DataFrame
        ``family``, ``month``, ``revenue`` (the annual operating plan) and, optionally,
        ``margin`` (the budgeted margin: revenue less all costs).
    supply_costs : pandas.DataFrame, optional
        The ``supply_costs`` artifact (family, month, one column per cost component of
        the supply model, money); without it the supply lines are 0.
    cost_multipliers : mapping of str to float, optional
        The scenario's price factor of each cost component (``{"materials": 1.5}``);
        ``cost_change`` is each standard component's cost x (1 - 1 / factor).

    Returns
    -------
    pandas.DataFrame
        The ``financials`` artifact, one row per family x plan month, sorted. Families
        are those of the planned SKUs plus those with a budget in a plan month (so a
        budgeted family the plan drops shows its whole gap). Columns: family, month,
        units (shipped), revenue (shipments x unit_price), cogs (shipments x
        unit_cost), overtime_cost, subcontract_cost (what the bought-in units cost
        above their unit_cost), workforce_cost (hiring and layoffs), holding_cost,
        cost_change, cost (all of these), margin (revenue - cost), margin_pct (of
        revenue), lost_revenue (lost units x unit_price), backlog_cost (memo),
        inventory_value (end-of-month stock x unit_cost), budget_revenue (NaN without a
        budget row), variance (revenue - budget_revenue), variance_pct (of
        budget_revenue), budget_margin (NaN where the budget sets no margin) and
        margin_variance (margin - budget_margin).

    Raises
    ------
    SopError
        Missing columns, an empty plan, shipments without a value, a SKU-month planned
        twice, a planned SKU unknown to products or without prices, or a family-month
        budgeted twice.

    Examples
    --------
    >>> fin = project_financials(  # doctest: +SKIP
    ...     plan.supply_plan, plan.products, ds.budget, plan.supply_costs)
    """
    _require_shipments(supply_plan)
    reject_duplicates(supply_plan, "supply_plan", ["sku", "month"])
    require_columns(products, "products", ["sku", "family", "unit_price", "unit_cost"])
    require_columns(budget, "budget", ["family", "month", "revenue"])
    reject_duplicates(budget, "budget", ["family", "month"])
    optional = [c for c in ("subcontract", "inventory", "lost") if c in supply_plan.columns]
    lines = _price_lines(
        supply_plan[["sku", "month", "shipments", *optional]], products, "supply_plan",
        "shipments",
    )  # fmt: skip
    price, cost = lines["unit_price"].fillna(0.0), lines["unit_cost"].fillna(0.0)
    lines["revenue"] = lines["shipments"] * price
    lines["cogs"] = lines["shipments"] * cost
    for col in ("subcontract", "inventory", "lost"):
        if col not in lines.columns:
            lines[col] = 0.0
    lines["standard_bought"] = lines["subcontract"].fillna(0.0) * cost
    lines["inventory_value"] = lines["inventory"].fillna(0.0) * cost
    lines["lost_revenue"] = lines["lost"].fillna(0.0) * price
    months = pd.DatetimeIndex(np.sort(supply_plan["month"].unique()), name="month")
    budget_cols = ["family", "month", "revenue"] + (["margin"] if "margin" in budget else [])
    budget_in = budget.loc[budget["month"].isin(months), budget_cols].copy()
    if "margin" not in budget_in:
        budget_in["margin"] = np.nan
    families = sorted(set(lines["family"]) | set(budget_in["family"]))
    grid = pd.MultiIndex.from_product([families, months], names=["family", "month"])
    sums = ["revenue", "cogs", "standard_bought", "inventory_value", "lost_revenue"]
    fin = (
        lines.groupby(["family", "month"])
        .agg(units=("shipments", "sum"), **{c: (c, "sum") for c in sums})
        .reindex(grid, fill_value=0.0)
        .astype(float)
    )
    supply = _supply_lines(supply_costs, grid, cost_multipliers)
    fin = fin.join(supply)
    # bought-in units are in cogs at standard: the supply line is their premium over it
    standard_bought = fin.pop("standard_bought")
    if supply_costs is not None:
        fin["subcontract_cost"] -= standard_bought
    fin["cost"] = fin[["cogs", *SUPPLY_LINES, "cost_change"]].sum(axis=1)
    fin = fin.reset_index().merge(
        budget_in.rename(columns={"revenue": "budget_revenue", "margin": "budget_margin"}),
        on=["family", "month"],
        how="left",
    )
    fin["budget_revenue"] = fin["budget_revenue"].astype(float)
    fin["budget_margin"] = fin["budget_margin"].astype(float)
    fin["margin"] = fin["revenue"] - fin["cost"]
    fin["margin_pct"] = _pct(fin["margin"], fin["revenue"])
    fin["variance"] = fin["revenue"] - fin["budget_revenue"]
    fin["variance_pct"] = _pct(fin["variance"], fin["budget_revenue"])
    fin["margin_variance"] = fin["margin"] - fin["budget_margin"]
    return fin[FINANCIALS_COLUMNS]


def _supply_lines(
    supply_costs: pd.DataFrame | None,
    grid: pd.MultiIndex,
    multipliers: Mapping[str, float] | None,
) -> pd.DataFrame:
    """The supply P&L lines per family and month from the ``supply_costs`` artifact."""
    lines = [*SUPPLY_LINES, "cost_change", "backlog_cost"]
    out = pd.DataFrame(0.0, index=grid, columns=lines)
    if supply_costs is None:
        return out
    parts = sorted({c for comps in SUPPLY_LINES.values() for c in comps} | {"backlog"})
    changed = {c: float(f) for c, f in (multipliers or {}).items() if c in STANDARD_COMPONENTS}
    bad = {c: f for c, f in changed.items() if not (np.isfinite(f) and f > 0)}
    if bad:
        raise SopError(f"cost_multipliers must be numbers above 0; got {bad}.")
    parts = sorted(set(parts) | set(changed))
    require_columns(supply_costs, "supply_costs", ["family", "month", *parts])
    reject_duplicates(supply_costs, "supply_costs", ["family", "month"])
    costs = supply_costs.set_index(["family", "month"])[parts].astype(float)
    unknown = costs.index.difference(grid)
    spent = costs.loc[unknown].abs().to_numpy().sum() if len(unknown) else 0.0
    if spent > 1e-6:
        where = ", ".join(f"{f} {m:%Y-%m}" for f, m in unknown[:5])
        raise SopError(
            f"supply_costs has costs for family-months the supply plan does not plan ({where}); "
            "pass the supply_costs of the same plan."
        )
    costs = costs.reindex(grid, fill_value=0.0).fillna(0.0)
    for line, comps in SUPPLY_LINES.items():
        out[line] = costs[list(comps)].sum(axis=1)
    out["backlog_cost"] = costs["backlog"]
    for comp, factor in changed.items():  # the part of the cost that the change added
        out["cost_change"] += costs[comp] * (1.0 - 1.0 / factor)
    return out


GAPS_COLUMNS = columns("supply_gaps")


def supply_gaps(
    supply_plan: pd.DataFrame, products: pd.DataFrame, top: int | None = 10
) -> pd.DataFrame:
    """Where the supply plan does not follow the demand plan, per family and month, in money.

    A unit is *held back* in the month it is asked for and not shipped: backlog added
    that month, or lost (each unit counted once, in its first month). Its revenue and
    margin are *at risk*: lost for good when the sale is lost, late when it waits in
    backlog. ``reason`` is why: the resource or material that binds (the supply model's
    ``unmet_reason`` of the SKU-months holding back the most units), or cost.

    Parameters
    ----------
    supply_plan : pandas.DataFrame
        The ``supply_plan`` artifact: sku, month, demand, backlog, lost, unmet_reason.
    products : pandas.DataFrame
        sku, family, unit_price, unit_cost (the plan's prices).
    top : int or None, default 10
        How many family-months to return, the most revenue at risk first; None for all.

    Returns
    -------
    pandas.DataFrame
        family, month, demand (units asked), held_back (units), lost (units),
        revenue_at_risk (held_back x unit_price), margin_at_risk (held_back x
        (unit_price - unit_cost)), lost_revenue (lost x unit_price), reason. Only
        family-months holding some back; the most revenue at risk first.

    Raises
    ------
    SopError
        Missing columns, a SKU without a product row or prices, ``top`` below 0.

    Examples
    --------
    >>> supply_gaps(plan.supply_plan, plan.products, top=5)  # doctest: +SKIP
    """
    need = ["sku", "month", "demand", "backlog", "lost", "unmet_reason"]
    require_columns(supply_plan, "supply_plan", need)
    reject_duplicates(supply_plan, "supply_plan", ["sku", "month"])
    if top is not None and top < 0:
        raise SopError(f"top must be 0 or more (how many family-months to show), got {top}.")
    plan = _price_lines(supply_plan[need], products, "supply_plan", "demand")
    plan = plan.sort_values(["sku", "month"])
    carried = plan.groupby("sku")["backlog"].shift(1, fill_value=0.0)
    plan["held_back"] = np.maximum(plan["backlog"] - carried, 0.0) + plan["lost"]
    plan = plan.loc[plan["held_back"] > _TOL]
    if plan.empty:
        return ARTIFACTS["supply_gaps"].empty()
    price, cost = plan["unit_price"].fillna(0.0), plan["unit_cost"].fillna(0.0)
    plan["revenue_at_risk"] = plan["held_back"] * price
    plan["margin_at_risk"] = plan["held_back"] * (price - cost)
    plan["lost_revenue"] = plan["lost"] * price
    plan["unmet_reason"] = plan["unmet_reason"].fillna("").replace("", "cost")
    keys = ["family", "month"]
    why = (
        plan.groupby([*keys, "unmet_reason"], as_index=False)["held_back"].sum()
        .sort_values([*keys, "held_back", "unmet_reason"], ascending=[True, True, False, True])
        .drop_duplicates(keys)
        .set_index(keys)["unmet_reason"]
    )  # fmt: skip
    demand = supply_plan[["sku", "month", "demand"]].assign(
        family=family_of(products, supply_plan["sku"], "supply_plan").to_numpy()
    )
    cols = ["held_back", "lost", "revenue_at_risk", "margin_at_risk", "lost_revenue"]
    out = (
        plan.groupby(keys)[cols].sum()
        .join(demand.groupby(keys)["demand"].sum())
        .join(why.rename("reason"))
        .reset_index()
        .sort_values(["revenue_at_risk", "family", "month"], ascending=[False, True, True])
    )  # fmt: skip
    out = out if top is None else out.head(top)
    return out.reset_index(drop=True)[GAPS_COLUMNS]


VARIANCE_COLUMNS = columns("budget_variance")


def variance_causes(
    supply_plan: pd.DataFrame,
    products: pd.DataFrame,
    budget: pd.DataFrame,
    base_products: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The plan's revenue against budget, split into volume, mix, price and constraint.

    For each family and budgeted month (every part in money; they add up to the
    variance exactly):

    - **constraint** = shipments - demand, valued at the base prices: what supply holds
      back (negative), or backlog it catches up (positive);
    - **price** = shipments x (price - base price): a price change of the scenario;
    - **volume** and **mix** split demand at base prices - budget. The budget holds
      revenue only, so its units are implied at the family's average base price over
      the plan's demand, p_f (the mean list price of its SKUs where it has no demand):
      u_f = budget_f / p_f. With U_f the family's demand, P the budget's average price
      over every family that month (sum of budgets / sum of u_f),
      volume_f = (U_f - u_f) x P and mix_f = (U_f - u_f) x (p_f - P): more units at the
      average price, and those units sold in a dearer or cheaper family than average.

    Parameters
    ----------
    supply_plan : pandas.DataFrame
        sku, month, demand, shipments (the plan's).
    products : pandas.DataFrame
        sku, family, unit_price (the plan's prices: a scenario's).
    budget : pandas.DataFrame
        family, month, revenue.
    base_products : pandas.DataFrame, optional
        sku, unit_price before the scenario's price change; ``products`` when None.

    Returns
    -------
    pandas.DataFrame
        One row per family and plan month with a budget: family, month,
        budget_revenue, revenue, variance, volume, mix, price, constraint.

    Raises
    ------
    SopError
        Missing columns, a SKU without a product row or price, a family-month budgeted
        twice.

    Examples
    --------
    >>> causes = variance_causes(  # doctest: +SKIP
    ...     plan.supply_plan, plan.products, ds.budget, ds.products)
    >>> causes[["volume", "mix", "price", "constraint"]].sum(axis=1)  # doctest: +SKIP
    """
    require_columns(supply_plan, "supply_plan", ["sku", "month", "demand", "shipments"])
    reject_duplicates(supply_plan, "supply_plan", ["sku", "month"])
    require_columns(budget, "budget", ["family", "month", "revenue"])
    reject_duplicates(budget, "budget", ["family", "month"])
    base_products = products if base_products is None else base_products
    require_columns(base_products, "base_products", ["sku", "unit_price"])
    lines = _price_lines(
        supply_plan[["sku", "month", "demand", "shipments"]], products, "supply_plan", "shipments"
    )
    base = base_products.set_index("sku")["unit_price"]
    lines["base_price"] = lines["sku"].map(base).fillna(lines["unit_price"]).fillna(0.0)
    price = lines["unit_price"].fillna(0.0)
    lines["revenue"] = lines["shipments"] * price
    lines["price"] = lines["shipments"] * (price - lines["base_price"])
    lines["constraint"] = (lines["shipments"] - lines["demand"]) * lines["base_price"]
    lines["demand_value"] = lines["demand"] * lines["base_price"]
    keys = ["family", "month"]
    sums = ["demand", "revenue", "price", "constraint", "demand_value"]
    fam = lines.groupby(keys)[sums].sum()
    months = pd.DatetimeIndex(np.sort(supply_plan["month"].unique()), name="month")
    budget_in = budget.loc[budget["month"].isin(months)].set_index(keys)["revenue"]
    fam = fam.reindex(fam.index.union(budget_in.index), fill_value=0.0)
    fam["budget_revenue"] = budget_in.astype(float)
    fam = fam.loc[fam["budget_revenue"].notna()]
    if fam.empty:  # no budget over the plan's months: nothing to explain
        return ARTIFACTS["budget_variance"].empty()
    # the family's average base price over its demand; its SKUs' mean list price without any
    families = fam.index.get_level_values("family").to_series(index=fam.index)
    known = base_products["sku"].isin(products["sku"])
    listed = (
        base_products.loc[known]
        .assign(family=family_of(products, base_products.loc[known, "sku"], "products").to_numpy())
        .groupby("family")["unit_price"]
        .mean()
    )
    avg = fam["demand_value"] / fam["demand"].where(fam["demand"] > 0)
    avg = avg.fillna(families.map(listed)).where(lambda a: a > 0)
    # a family without a price (no SKU): its budget cannot be turned into units; the whole
    # of it is volume (nothing of it is planned)
    priced = avg.notna()
    implied = (fam["budget_revenue"] / avg).where(priced, 0.0)
    month = fam.index.get_level_values("month")
    by_month = pd.DataFrame(
        {"budget": fam["budget_revenue"].where(priced, 0.0), "units": implied,
         "value": fam["demand_value"], "demand": fam["demand"]}
    ).groupby(level="month").sum()  # fmt: skip
    # the budget's average price; a month budgeted at 0 takes the demand's instead
    price = (by_month["budget"] / by_month["units"].where(by_month["units"] > 0)).fillna(
        by_month["value"] / by_month["demand"].where(by_month["demand"] > 0)
    ).fillna(0.0)  # fmt: skip
    P = month.map(price).to_numpy()
    extra = fam["demand"] - implied
    fam["volume"] = np.where(priced, extra * P, -fam["budget_revenue"])
    fam["mix"] = np.where(priced, extra * (avg.fillna(0.0) - P), 0.0)
    fam["variance"] = fam["revenue"] - fam["budget_revenue"]
    return fam.reset_index()[VARIANCE_COLUMNS]


def summary_window(months: pd.Series | pd.Index, summary_months: int = 12) -> pd.DatetimeIndex:
    """The summary window: the first ``summary_months`` distinct plan months, in order.

    Parameters
    ----------
    months : pandas.Series or pandas.Index
        The plan months of an artifact (``financials["month"]``, ``capacity["month"]``).
    summary_months : int, default 12
        How many plan months, from the first (``finance.summary_months``).

    Returns
    -------
    pandas.DatetimeIndex
        Fewer months when the plan is shorter; empty for an empty plan.

    Raises
    ------
    SopError
        ``summary_months`` below 1.

    Examples
    --------
    >>> summary_window(pd.Series(pd.date_range("2026-11-01", periods=18, freq="MS")), 2)
    DatetimeIndex(['2026-11-01', '2026-12-01'], dtype='datetime64[ns]', name='month', freq=None)
    """
    if summary_months < 1:
        raise SopError(
            f"finance.summary_months must be 1 or more (how many plan months to sum), got "
            f"{summary_months}; set it in the parameters file or with -p summary_months N."
        )
    unique = pd.DatetimeIndex(pd.unique(pd.Series(months).dropna()))
    return pd.DatetimeIndex(np.sort(unique)[: int(summary_months)], name="month")


def _sums(fin: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    # min_count=1 keeps "no budget at all" as NaN rather than a budget of 0.
    frame = fin.assign(_all=0) if not by else fin
    sums = frame.groupby(by or ["_all"])[_MONEY].sum(min_count=1).astype(float)
    sums["margin_pct"] = _pct(sums["margin"], sums["revenue"])
    sums["variance_pct"] = _pct(sums["variance"], sums["budget_revenue"])
    # a margin budgeted at 0 or at a loss has no meaningful percentage to beat
    sums["margin_vs_budget_pct"] = _pct(sums["margin_variance"], sums["budget_margin"]).where(
        sums["budget_margin"] > 0
    )
    return sums


def financial_totals(financials: pd.DataFrame, months: int = 12) -> dict[str, object]:
    """All families summed over the summary window: the plan's money figures, defined once.

    The financial summary's total row, each row of the ``scenarios`` artifact and the
    executive KPIs (planned revenue, margin, revenue against budget) are these figures.

    Parameters
    ----------
    financials : pandas.DataFrame
        The ``financials`` artifact.
    months : int, default 12
        The summary window: how many plan months, from the first, to sum.

    Returns
    -------
    dict
        first_month, last_month (the window; NaT for an empty table), months (plan
        months in the window), units, revenue, margin, margin_pct (NaN without
        revenue), budget_revenue (NaN if no month of the window has a budget),
        variance and variance_pct (over the budgeted family-months only; NaN without
        a budget, or a budget of 0); budget_margin, margin_variance and
        margin_vs_budget_pct likewise over the family-months whose budget sets a margin
        (the percentage NaN where that margin is 0 or a loss).

    Raises
    ------
    SopError
        Missing columns or ``months`` below 1.

    Examples
    --------
    >>> financial_totals(fin, months=12)["revenue"]  # doctest: +SKIP
    12345678.0
    """
    financials = _checked_financials(financials)
    window = summary_window(financials["month"], months)
    fin = financials[financials["month"].isin(window)]
    sums = _sums(fin, []).reindex([0])
    out: dict[str, object] = {
        "first_month": window.min() if len(window) else pd.NaT,
        "last_month": window.max() if len(window) else pd.NaT,
        "months": len(window),
    }
    out.update({k: float(sums[k].iloc[0]) for k in TOTALS_KEYS if k in sums.columns})
    return out


def financial_summary(financials: pd.DataFrame, months: int = 12) -> pd.DataFrame:
    """Sum the summary window per family, and over all families in a row of its own level.

    Parameters
    ----------
    financials : pandas.DataFrame
        The ``financials`` artifact.
    months : int, default 12
        The summary window: how many plan months, from the first, to sum.

    Returns
    -------
    pandas.DataFrame
        One row per family (``level == "family"``, sorted by family) and a last row
        ``level == "total"`` (family empty): level, family, revenue, margin,
        margin_pct, budget_revenue (NaN if no month has a budget), variance,
        variance_pct, budget_margin, margin_variance, margin_vs_budget_pct. Select
        the total by ``level``, never by a family name: a real family may be called
        "Total". The total row is :func:`financial_totals`. The
        variance sums only months with a budget (like with like), so ``revenue -
        budget_revenue`` differs from ``variance`` when the budget does not cover
        the whole window.

    Raises
    ------
    SopError
        Missing columns or ``months`` below 1.

    Examples
    --------
    >>> summary = financial_summary(fin, months=12)  # doctest: +SKIP
    >>> summary[summary["level"] == "total"]  # doctest: +SKIP
    """
    financials = _checked_financials(financials)
    window = summary_window(financials["month"], months)
    fin = financials[financials["month"].isin(window)]
    per_family = _sums(fin, ["family"]).reset_index().assign(level="family")
    totals = financial_totals(financials, months)
    total = pd.DataFrame([{k: totals[k] for k in SUMMARY_COLUMNS[2:]}]).assign(
        level="total", family=None
    )
    out = pd.concat([per_family, total], ignore_index=True)
    out["family"] = out["family"].astype(object)
    return out[SUMMARY_COLUMNS]


#: the P&L lines of :func:`pnl_summary`, in the order a statement reads
PNL_LINES = ["revenue", "cogs", *SUPPLY_LINES, "cost_change", "cost", "margin"]


def pnl_summary(financials: pd.DataFrame, months: int = 12) -> pd.DataFrame:
    """The plan's P&L over the summary window: each line per family and in total.

    Parameters
    ----------
    financials : pandas.DataFrame
        The ``financials`` artifact.
    months : int, default 12
        The summary window: how many plan months, from the first.

    Returns
    -------
    pandas.DataFrame
        One row per family (``level == "family"``) and a last ``level == "total"`` row:
        level, family, units, revenue, cogs, overtime_cost, subcontract_cost,
        workforce_cost, holding_cost, cost_change, cost, margin, margin_pct,
        lost_revenue (summed over the window) and inventory_value (at the end of the
        window's last month).
    """
    financials = _checked_financials(financials)
    window = summary_window(financials["month"], months)
    fin = financials[financials["month"].isin(window)]
    summed = ["units", *PNL_LINES, "lost_revenue"]
    per = fin.groupby("family")[summed].sum()
    per["inventory_value"] = (
        fin.loc[fin["month"] == window.max()].set_index("family")["inventory_value"]
        if len(window)
        else np.nan
    )
    total = per.sum().to_frame().T.assign(level="total", family=None)
    out = pd.concat([per.reset_index().assign(level="family"), total], ignore_index=True)
    out["margin_pct"] = _pct(out["margin"], out["revenue"])
    out["family"] = out["family"].astype(object)
    return out[["level", "family", "units", *PNL_LINES, "margin_pct", "lost_revenue",
                "inventory_value"]]  # fmt: skip


def variance_summary(causes: pd.DataFrame, months: int = 12) -> pd.DataFrame:
    """The ``budget_variance`` rows summed over the summary window, per family and in total.

    Parameters
    ----------
    causes : pandas.DataFrame
        The ``budget_variance`` artifact (:func:`variance_causes`).
    months : int, default 12
        The summary window: how many plan months, from the first budgeted one.

    Returns
    -------
    pandas.DataFrame
        level, family and the columns of the artifact but month, summed; the total row
        last (``level == "total"``). volume + mix + price + constraint = variance.
    """
    require_columns(causes, "budget_variance", VARIANCE_COLUMNS)
    window = summary_window(causes["month"], months)
    part = causes[causes["month"].isin(window)]
    values = VARIANCE_COLUMNS[2:]
    per = part.groupby("family")[values].sum().reset_index().assign(level="family")
    total = pd.DataFrame([part[values].sum(min_count=1)]).assign(level="total", family=None)
    out = pd.concat([per, total], ignore_index=True)
    out["family"] = out["family"].astype(object)
    return out[["level", "family", *values]]


def actuals_vs_budget(
    sales_history: pd.DataFrame, products: pd.DataFrame, budget: pd.DataFrame
) -> pd.DataFrame:
    """Hold past sales against the budget for the months both cover (the year to date).

    History carries quantities, not prices, so actual revenue is the quantity sold
    valued at today's ``unit_price``: a price change during the year shows as volume.

    Parameters
    ----------
    sales_history : pandas.DataFrame
        ``sku``, ``region``, ``month``, ``qty``.
    products : pandas.DataFrame
        ``sku``, ``family``, ``unit_price``, ``unit_cost``.
    budget : pandas.DataFrame
        ``family``, ``month``, ``revenue``.

    Returns
    -------
    pandas.DataFrame
        One row per family x budget month within the span of the history, sorted:
        family, month, revenue, budget_revenue (NaN for a family without budget that
        month), variance (revenue - budget_revenue). Empty when they do not overlap.

    Raises
    ------
    SopError
        Missing columns, a SKU sold that products does not list, or a family-month
        budgeted twice.
    """
    require_columns(sales_history, "sales_history", ["sku", "month", "qty"])
    require_columns(products, "products", ["sku", "family", "unit_price", "unit_cost"])
    require_columns(budget, "budget", ["family", "month", "revenue"])
    reject_duplicates(budget, "budget", ["family", "month"])
    if sales_history.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in ACTUALS_COLUMNS}).astype(
            {"family": object, "month": "datetime64[ns]"}
        )
    first, last = sales_history["month"].min(), sales_history["month"].max()
    past = budget.loc[budget["month"].between(first, last), ["family", "month", "revenue"]]
    sales = sales_history.loc[sales_history["month"].isin(past["month"]), ["sku", "month", "qty"]]
    sales = _price_lines(sales, products, "sales_history", "qty")
    sales["revenue"] = sales["qty"] * sales["unit_price"].fillna(0.0)
    families = sorted(set(past["family"]) | set(sales["family"]))
    months = pd.DatetimeIndex(np.sort(past["month"].unique()), name="month")
    grid = pd.MultiIndex.from_product([families, months], names=["family", "month"])
    out = (
        sales.groupby(["family", "month"])["revenue"]
        .sum()
        .reindex(grid, fill_value=0.0)
        .astype(float)
        .reset_index()
        .merge(
            past.rename(columns={"revenue": "budget_revenue"}), on=["family", "month"], how="left"
        )
    )
    out["budget_revenue"] = out["budget_revenue"].astype(float)
    out["variance"] = out["revenue"] - out["budget_revenue"]
    return out[ACTUALS_COLUMNS]
