"""Stage 4, reconciliation in money: the demand plan valued, and held against the budget.

Columns ending in ``_pct`` hold percentages (12.5 means 12.5 %); money is in the
currency of ``products.unit_price`` and ``budget.revenue``.

Budget comparisons are like with like: a variance is taken only over the months a
budget row covers. A plan window that runs past the end of the budget year is
therefore compared with the budget of the months the budget has, not with a
budget of zero.

Artifact
--------
``financials`` (:data:`FINANCIALS_COLUMNS`), one row per family x plan month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit._checks import reject_duplicates, require_columns, require_consensus
from sopkit.errors import SopError
from sopkit.schemas import columns

FINANCIALS_COLUMNS = columns("financials")
SUMMARY_COLUMNS = [
    "family",
    "revenue",
    "margin",
    "margin_pct",
    "budget_revenue",
    "variance",
    "variance_pct",
]
ACTUALS_COLUMNS = ["family", "month", "revenue", "budget_revenue", "variance"]

#: the family label of the all-families row of :func:`financial_summary`.
TOTAL = "Total"


def _pct(part: pd.Series, whole: pd.Series) -> pd.Series:
    """100 x part / whole, NaN where whole is 0 or missing (no meaningful share)."""
    return (100.0 * part / whole).where(whole.notna() & (whole != 0))


def _price_lines(lines: pd.DataFrame, products: pd.DataFrame, table: str, qty: str) -> pd.DataFrame:
    """Join family, unit_price and unit_cost onto SKU rows; every SKU must be priced."""
    reject_duplicates(products, "products", ["sku"])
    prices = products.set_index("sku")[["family", "unit_price", "unit_cost"]]
    priced = lines.join(prices, on="sku")
    unknown = sorted(set(priced.loc[priced["family"].isna(), "sku"]))
    if unknown:
        raise SopError(
            f"{table} has SKU(s) that products does not list: {', '.join(map(str, unknown[:10]))}"
            f"{' ...' if len(unknown) > 10 else ''}. Add them to products with a family and prices."
        )
    no_price = priced[priced[qty].ne(0) & priced[["unit_price", "unit_cost"]].isna().any(axis=1)]
    if not no_price.empty:
        skus = sorted(set(no_price["sku"]))
        raise SopError(
            f"products has no unit_price or unit_cost for SKU(s) {', '.join(map(str, skus[:10]))} "
            f"that {table} sells. Fill in both prices in products."
        )
    return priced


def project_financials(
    demand_plan: pd.DataFrame, products: pd.DataFrame, budget: pd.DataFrame
) -> pd.DataFrame:
    """Value the consensus plan at list price and cost, per product family and month.

    Parameters
    ----------
    demand_plan : pandas.DataFrame
        ``sku``, ``month``, ``consensus`` (units; the stage 2 artifact).
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
        units, revenue (consensus x unit_price), cost (consensus x unit_cost),
        margin, margin_pct (of revenue), budget_revenue (NaN without a budget row),
        variance (revenue - budget_revenue), variance_pct (of budget_revenue).

    Raises
    ------
    SopError
        Missing columns, an empty plan, a consensus without a value, a planned SKU
        unknown to products or without prices, or a family-month budgeted twice.
    """
    require_columns(demand_plan, "demand_plan", ["sku", "month", "consensus"])
    require_columns(products, "products", ["sku", "family", "unit_price", "unit_cost"])
    require_columns(budget, "budget", ["family", "month", "revenue"])
    require_consensus(demand_plan, "no plan to value")
    reject_duplicates(budget, "budget", ["family", "month"])

    lines = _price_lines(
        demand_plan[["sku", "month", "consensus"]], products, "demand_plan", "consensus"
    )
    lines["revenue"] = lines["consensus"] * lines["unit_price"].fillna(0.0)
    lines["cost"] = lines["consensus"] * lines["unit_cost"].fillna(0.0)
    months = pd.DatetimeIndex(np.sort(demand_plan["month"].unique()), name="month")
    budget_in = budget.loc[budget["month"].isin(months), ["family", "month", "revenue"]]
    families = sorted(set(lines["family"]) | set(budget_in["family"]))
    grid = pd.MultiIndex.from_product([families, months], names=["family", "month"])
    fin = (
        lines.groupby(["family", "month"])
        .agg(units=("consensus", "sum"), revenue=("revenue", "sum"), cost=("cost", "sum"))
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


def financial_summary(financials: pd.DataFrame, months: int = 12) -> pd.DataFrame:
    """Sum the first ``months`` plan months per family, plus a "Total" row.

    Parameters
    ----------
    financials : pandas.DataFrame
        The ``financials`` artifact.
    months : int, default 12
        How many plan months, from the first, to sum.

    Returns
    -------
    pandas.DataFrame
        One row per family (sorted) and a last row ``family == "Total"``: family,
        revenue, margin, margin_pct, budget_revenue (NaN if no month has a budget),
        variance, variance_pct. The variance sums only months with a budget (like
        with like), so ``revenue - budget_revenue`` differs from ``variance`` when
        the budget does not cover the whole window.

    Raises
    ------
    SopError
        Missing columns or ``months`` below 1.
    """
    require_columns(financials, "financials", FINANCIALS_COLUMNS)
    if months < 1:
        raise SopError(f"months must be 1 or more (how many plan months to sum), got {months}.")
    window = np.sort(financials["month"].unique())[:months]
    fin = financials[financials["month"].isin(window)]
    # min_count=1 keeps "no budget at all" as NaN rather than a budget of 0.
    per_family = fin.groupby("family")[["revenue", "margin", "budget_revenue", "variance"]].sum(
        min_count=1
    )
    total = per_family.sum(min_count=1).to_frame(TOTAL).T.rename_axis("family")
    out = pd.concat([per_family, total]).astype(float).reset_index()
    out["margin_pct"] = _pct(out["margin"], out["revenue"])
    out["variance_pct"] = _pct(out["variance"], out["budget_revenue"])
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
