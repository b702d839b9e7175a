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

import numpy as np
import pandas as pd

from sopkit._checks import family_of, reject_duplicates, require_columns
from sopkit.errors import SopError
from sopkit.schemas import columns

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
)
_MONEY = ["units", "revenue", "margin", "budget_revenue", "variance"]


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


def project_financials(
    supply_plan: pd.DataFrame, products: pd.DataFrame, budget: pd.DataFrame
) -> pd.DataFrame:
    """Value what the supply plan ships at list price and cost, per product family and month.

    Parameters
    ----------
    supply_plan : pandas.DataFrame
        ``sku``, ``month``, ``shipments`` (units; the stage 3 ``supply_plan`` artifact).
        Shipments, not demand: demand in backlog is valued in the month it ships.
    products : pandas.DataFrame
        ``sku``, ``family``, ``unit_price``, ``unit_cost``.
    budget : pandas.DataFrame
        ``family``, ``month``, ``revenue`` (the annual operating plan).

    Returns
    -------
    pandas.DataFrame
        The ``financials`` artifact, one row per family x plan month, sorted. Families
        are those of the planned SKUs plus those with a budget in a plan month (so a
        budgeted family the plan drops shows its whole gap). Columns: family, month,
        units (shipped), revenue (shipments x unit_price), cost (shipments x
        unit_cost), margin, margin_pct (of revenue), budget_revenue (NaN without a
        budget row), variance (revenue - budget_revenue), variance_pct (of
        budget_revenue).

    Raises
    ------
    SopError
        Missing columns, an empty plan, shipments without a value, a planned SKU
        unknown to products or without prices, or a family-month budgeted twice.

    Examples
    --------
    >>> fin = project_financials(supply_plan, ds.products, ds.budget)  # doctest: +SKIP
    """
    _require_shipments(supply_plan)
    require_columns(products, "products", ["sku", "family", "unit_price", "unit_cost"])
    require_columns(budget, "budget", ["family", "month", "revenue"])
    reject_duplicates(budget, "budget", ["family", "month"])

    lines = _price_lines(
        supply_plan[["sku", "month", "shipments"]], products, "supply_plan", "shipments"
    )
    lines["revenue"] = lines["shipments"] * lines["unit_price"].fillna(0.0)
    lines["cost"] = lines["shipments"] * lines["unit_cost"].fillna(0.0)
    months = pd.DatetimeIndex(np.sort(supply_plan["month"].unique()), name="month")
    budget_in = budget.loc[budget["month"].isin(months), ["family", "month", "revenue"]]
    families = sorted(set(lines["family"]) | set(budget_in["family"]))
    grid = pd.MultiIndex.from_product([families, months], names=["family", "month"])
    fin = (
        lines.groupby(["family", "month"])
        .agg(units=("shipments", "sum"), revenue=("revenue", "sum"), cost=("cost", "sum"))
        .reindex(grid, fill_value=0.0)
        .astype(float)
        .reset_index()
        .merge(
            budget_in.rename(columns={"revenue": "budget_revenue"}),
            on=["family", "month"],
            how="left",
        )
    )
    fin["budget_revenue"] = fin["budget_revenue"].astype(float)
    fin["margin"] = fin["revenue"] - fin["cost"]
    fin["margin_pct"] = _pct(fin["margin"], fin["revenue"])
    fin["variance"] = fin["revenue"] - fin["budget_revenue"]
    fin["variance_pct"] = _pct(fin["variance"], fin["budget_revenue"])
    return fin[FINANCIALS_COLUMNS]


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
        a budget, or a budget of 0).

    Raises
    ------
    SopError
        Missing columns or ``months`` below 1.

    Examples
    --------
    >>> financial_totals(fin, months=12)["revenue"]  # doctest: +SKIP
    12345678.0
    """
    require_columns(financials, "financials", FINANCIALS_COLUMNS)
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
        variance_pct. Select the total by ``level``, never by a family name: a real
        family may be called "Total". The total row is :func:`financial_totals`. The
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
    require_columns(financials, "financials", FINANCIALS_COLUMNS)
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
