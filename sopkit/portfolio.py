"""Stage 1 of the S&OP cycle: the product review.

How did each SKU and family do over the review window (the last ``review_months``
months, 12 by default) against as many months before (units, revenue, margin, growth)?
Which items carry the revenue (ABC) and which have erratic demand (XYZ)? Where does each
item stand in its lifecycle, which items are candidates to discontinue and which new
items should be watched?

:func:`review_portfolio` builds the ``portfolio`` artifact (one row per SKU); the other
functions are the views the product review notebook shows. Columns named ``units``,
``revenue`` and ``margin`` are over the review window, whatever its length;
``units_prev`` and ``revenue_prev`` over as many months before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sopkit._checks import (
    month_number,
    month_start,
    reject_duplicates,
    require_columns,
    whole_number,
)
from sopkit.errors import SopError
from sopkit.schemas import columns

__all__ = [
    "ABC_CLASSES",
    "FAMILY_COLUMNS",
    "LIFECYCLE_STAGES",
    "PORTFOLIO_COLUMNS",
    "XYZ_CLASSES",
    "discontinue_candidates",
    "headline",
    "lifecycle_rules",
    "new_items_to_watch",
    "review_portfolio",
    "summarise_families",
]

ABC_CLASSES = ("A", "B", "C")
XYZ_CLASSES = ("X", "Y", "Z")
#: Stages in the order of an item's life (for tables and charts); the rules are applied
#: in the order of :func:`lifecycle_rules`.
LIFECYCLE_STAGES = ("new", "growth", "mature", "decline", "end of life")

#: Columns of the ``portfolio`` artifact, in order.
PORTFOLIO_COLUMNS = tuple(columns("portfolio"))

#: Columns of the family summary, in order.
FAMILY_COLUMNS = (
    "level",
    "family",
    "skus",
    "units",
    "units_prev",
    "revenue",
    "revenue_prev",
    "margin",
    "margin_pct",
    "revenue_growth",
    "unit_growth",
    "revenue_share",
)

_PRODUCT_COLUMNS = ("sku", "description", "family", "unit_price", "unit_cost", "status")
_SALES_COLUMNS = ("sku", "month", "qty")
_EOL_STATUSES = ("phase_out", "discontinued")
# A share or a growth rate exactly on a threshold (80 %, -10 %) must land on the side the
# rule says, not on the side float rounding of qty x price happens to give.
_EPS = 1e-9


def review_portfolio(
    products: pd.DataFrame,
    sales_history: pd.DataFrame,
    cycle: pd.Timestamp,
    *,
    review_months: int = 12,
    abc_thresholds: Sequence[float] = (0.8, 0.95),
    xyz_thresholds: Sequence[float] = (0.5, 1.0),
    new_item_months: int = 12,
    growth_threshold: float = 0.10,
    decline_threshold: float = -0.10,
    eol_window_months: int = 6,
) -> pd.DataFrame:
    """Review every SKU: performance, ABC, XYZ, lifecycle, discontinue and watch flags.

    The review period is the ``review_months`` months before ``cycle`` (the cycle month
    itself excluded); the previous period is the ``review_months`` months before that.
    Revenue and margin are valued at the current ``unit_price`` and ``unit_cost`` in both
    periods, so a SKU's revenue growth equals its unit growth; they differ for families.

    Rules (each comparison on a threshold is inclusive where written ``<=``/``>=``):

    - **ABC** (by revenue): SKUs are ranked by ``revenue`` descending, ties by ``sku``
      ascending. ``cumulative_share`` is the running share of total revenue down that
      ranking, including the item. An item is **A** while the cumulative share *before* it
      is ``< abc_thresholds[0]`` (so the item that crosses 80 % is still A), **B** while it
      is ``< abc_thresholds[1]``, otherwise **C**. Items with no revenue are always C.
      Hence the A items hold at least ``abc_thresholds[0]`` of revenue, and without the
      last A item they would hold less.
    - **XYZ** (by demand variability): ``demand_cv`` is the coefficient of variation
      (population standard deviation / mean) of monthly demand, summed over regions, in
      the review period; a month with no sales row counts as 0, and months before an
      item's ``launch_month`` are left out. **X** if ``demand_cv <= xyz_thresholds[0]``,
      **Y** if ``<= xyz_thresholds[1]``, otherwise **Z**; an item without demand in the
      period is Z with ``demand_cv`` NaN.
    - **Lifecycle**, first match wins (see :func:`lifecycle_rules`): *end of life* if the
      status is phase_out or discontinued, or the item has at most
      ``eol_window_months`` months of sales left, the cycle month included:
      ``eol_month`` is the last month an item sells, so this is ``eol_month`` before
      ``cycle + eol_window_months`` (or already past; with the default 6 and a cycle
      of 2026-11, an eol_month up to 2027-04); *new* if
      ``months_since_launch < new_item_months``; *growth* if
      ``revenue_growth >= growth_threshold``, or if the item has revenue now and had
      none in the previous period (growth from nothing: the rate itself is left NaN);
      *decline* if ``revenue_growth <= decline_threshold``; otherwise *mature* (including
      items with no revenue in either period).
    - **discontinue_candidate** if any of: (a) class C and Z, lifecycle decline or mature,
      and ``margin_pct`` below the median ``margin_pct`` of the portfolio; (b) lifecycle
      decline with ``revenue_growth <= 2 * decline_threshold`` (-20 % by default);
      (c) status active and no units sold in the review period.
      ``discontinue_reason`` names exactly the rules that fired, with their figures
      ("C and Z, margin 5 % under the median 40 %"; "revenue -25 %, a steep decline
      (-20 % or worse)"; "active but no sales in the review period"), joined with "; ";
      None for an item not flagged.
    - **watch_new** if the lifecycle is *new*.

    Parameters
    ----------
    products : pd.DataFrame
        Columns sku, description, family, unit_price, unit_cost, status, and optionally
        launch_month and eol_month (first-of-month Timestamps, NaT allowed; a missing
        launch month means an established item).
    sales_history : pd.DataFrame
        Columns sku, month, qty (one row per sku x region x month; regions are summed).
        Rows for SKUs not in ``products`` are ignored, so a review can be run on a subset
        of the catalogue.
    cycle : pd.Timestamp
        The planning month, a first-of-month Timestamp (text such as ``"2026-11"`` is
        read as that month).
    review_months : int, default 12
        Length of the review period and of the previous period.
    abc_thresholds : tuple of float, default (0.8, 0.95)
        Cumulative revenue shares closing classes A and B, increasing, in (0, 1].
    xyz_thresholds : tuple of float, default (0.5, 1.0)
        Coefficients of variation closing classes X and Y, increasing, non-negative.
    new_item_months : int, default 12
        An item launched fewer months than this before the cycle is *new*.
    growth_threshold : float, default 0.10
        Revenue growth (0.10 = +10 %) from which an item is in *growth*; must be >= 0.
    decline_threshold : float, default -0.10
        Revenue growth at or below which an item is in *decline*; in [-1, 0).
    eol_window_months : int, default 6
        An item with at most this many months of sales left, the cycle month included
        (its ``eol_month``, the last month it sells, before ``cycle`` + this many
        months), is *end of life*; 0 means only items whose last month is past.

    Returns
    -------
    pd.DataFrame
        The ``portfolio`` artifact, one row per SKU of ``products`` (SKUs without sales
        have zeros), in ABC ranking order, with the columns of :data:`PORTFOLIO_COLUMNS`.
        ``margin_pct`` is in percent of revenue (32.0 = 32 %), like every ``_pct`` column;
        growth rates and shares are fractions (0.10 = +10 %). Ratios (margin_pct, growth)
        are NaN where their denominator is 0.

    Raises
    ------
    SopError
        If a column is missing, ``cycle`` is not the first day of a month, a SKU is
        listed twice in ``products`` or a parameter is out of range.

    Examples
    --------
    >>> portfolio = review_portfolio(products, sales_history, pd.Timestamp("2026-11-01"))
    >>> portfolio.loc[portfolio["abc"] == "A", "revenue_share"].sum() >= 0.8
    True
    """
    cycle = month_start(cycle)
    require_columns(products, "products", _PRODUCT_COLUMNS)
    require_columns(sales_history, "sales_history", _SALES_COLUMNS)
    whole_number(review_months, "review_months", 1, what="months")
    whole_number(new_item_months, "new_item_months", 0, what="months")
    whole_number(eol_window_months, "eol_window_months", 0, what="months")
    abc_a, abc_b = _check_thresholds(
        "abc_thresholds", abc_thresholds, bounded=True, example=(0.8, 0.95)
    )
    xyz_x, xyz_y = _check_thresholds(
        "xyz_thresholds", xyz_thresholds, bounded=False, example=(0.5, 1.0)
    )
    if not (isinstance(growth_threshold, (int, float)) and growth_threshold >= 0):
        raise SopError(
            f"growth_threshold must be a number >= 0 (0.10 means +10 %); got {growth_threshold!r}."
        )
    if not (isinstance(decline_threshold, (int, float)) and -1 <= decline_threshold < 0):
        raise SopError(
            "decline_threshold must be a number in [-1, 0) (-0.10 means -10 %); "
            f"got {decline_threshold!r}."
        )
    _check_months(sales_history, ["month"], "sales_history")
    _check_months(products, ["launch_month", "eol_month"], "products")
    reject_duplicates(products, "products", ["sku"])

    out = products.loc[:, list(_PRODUCT_COLUMNS)].reset_index(drop=True)
    out["unit_price"] = out["unit_price"].astype(float)
    out["unit_cost"] = out["unit_cost"].astype(float)
    # Carried along (and dropped at the end) so they follow the rows through the ABC sort.
    for column in ("launch_month", "eol_month"):
        out[f"_{column}"] = (
            products[column].to_numpy()
            if column in products.columns
            else pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        )

    demand = _monthly_demand(out["sku"], sales_history, cycle, 2 * review_months)
    previous, recent = demand[:, :review_months], demand[:, review_months:]
    out["units"] = recent.sum(axis=1)
    out["units_prev"] = previous.sum(axis=1)
    out["revenue"] = out["units"] * out["unit_price"]
    out["revenue_prev"] = out["units_prev"] * out["unit_price"]
    out["margin"] = out["units"] * (out["unit_price"] - out["unit_cost"])
    out["margin_pct"] = 100 * _ratio(out["margin"], out["revenue"])
    out["revenue_growth"] = _ratio(out["revenue"], out["revenue_prev"]) - 1
    out["unit_growth"] = _ratio(out["units"], out["units_prev"]) - 1

    out["months_since_launch"] = -_months_after(cycle, out["_launch_month"])
    out["demand_cv"] = _demand_cv(recent, out["months_since_launch"])
    out["xyz"] = np.select(
        [out["demand_cv"] <= xyz_x + _EPS, out["demand_cv"] <= xyz_y + _EPS], ["X", "Y"], "Z"
    ).astype(object)

    out = out.sort_values(
        ["revenue", "sku"], ascending=[False, True], kind="mergesort", ignore_index=True
    )
    _classify_abc(out, abc_a, abc_b)
    _classify_lifecycle(
        out,
        eol_offset=_months_after(cycle, out["_eol_month"]),
        review_months=review_months,
        new_item_months=new_item_months,
        growth_threshold=growth_threshold,
        decline_threshold=decline_threshold,
        eol_window_months=eol_window_months,
    )
    out["discontinue_reason"] = _discontinue_reasons(out, decline_threshold)
    out["discontinue_candidate"] = out["discontinue_reason"].notna()
    out["watch_new"] = out["lifecycle"] == "new"
    return out.loc[:, list(PORTFOLIO_COLUMNS)]


def lifecycle_rules(
    *,
    new_item_months: int = 12,
    growth_threshold: float = 0.10,
    decline_threshold: float = -0.10,
    eol_window_months: int = 6,
) -> pd.DataFrame:
    """The lifecycle rules in plain English, in the order they are applied.

    Parameters
    ----------
    new_item_months, growth_threshold, decline_threshold, eol_window_months
        As in :func:`review_portfolio`.

    Returns
    -------
    pd.DataFrame
        Columns stage and rule, one row per stage; the first rule that matches wins.

    Examples
    --------
    >>> lifecycle_rules().loc[1, "rule"]
    'launched less than 12 months before the cycle'
    """
    return pd.DataFrame(
        {
            "stage": ["end of life", "new", "growth", "decline", "mature"],
            "rule": [
                "status is phase_out or discontinued, or at most "
                f"{_months(eol_window_months)} of sales left from the cycle on (its last "
                f"month of sales, eol_month, less than {_months(eol_window_months)} after "
                "the cycle, or past)",
                f"launched less than {_months(new_item_months)} before the cycle",
                f"revenue up {_pct(growth_threshold)} or more on the previous period, "
                "or revenue now and none in the previous period",
                f"revenue down {_pct(-decline_threshold)} or more on the previous period",
                "none of the above (includes items without revenue in either period)",
            ],
        }
    )


def summarise_families(portfolio: pd.DataFrame) -> pd.DataFrame:
    """Performance by product family, with a final Total row.

    Parameters
    ----------
    portfolio : pd.DataFrame
        The artifact from :func:`review_portfolio`.

    Returns
    -------
    pd.DataFrame
        Columns level, family, skus, units, units_prev, revenue, revenue_prev,
        margin, margin_pct, revenue_growth, unit_growth, revenue_share; one row per
        family (level "family") sorted by revenue descending (ties by family), then the
        total row (level "total", labelled "Total"). ``margin_pct`` is in percent of
        revenue (32.0 = 32 %); growth rates and revenue_share are fractions. Ratios are
        NaN where their denominator is 0. units, revenue and margin are over the
        portfolio's review window.

    Raises
    ------
    SopError
        If a column is missing.

    Examples
    --------
    >>> summarise_families(portfolio).iloc[-1]["family"]
    'Total'
    """
    sums = ["units", "units_prev", "revenue", "revenue_prev", "margin"]
    require_columns(portfolio, "portfolio", ["family", "sku", *sums])
    families = portfolio.groupby("family", dropna=False, sort=False).agg(
        skus=("sku", "size"), **{c: (c, "sum") for c in sums}
    )
    families = families.reset_index().sort_values(
        ["revenue", "family"], ascending=[False, True], kind="mergesort"
    )
    families.insert(0, "level", "family")
    # the total is told by its level, not its label: a family may be called "Total"
    total = pd.DataFrame(
        [
            {
                "level": "total",
                "family": "Total",
                "skus": len(portfolio),
                **portfolio[sums].sum().to_dict(),
            }
        ]
    )
    table = pd.concat([families, total], ignore_index=True)
    table["skus"] = table["skus"].astype("int64")
    table[sums] = table[sums].astype(float)
    table["margin_pct"] = 100 * _ratio(table["margin"], table["revenue"])
    table["revenue_growth"] = _ratio(table["revenue"], table["revenue_prev"]) - 1
    table["unit_growth"] = _ratio(table["units"], table["units_prev"]) - 1
    grand_total = float(portfolio["revenue"].sum())
    table["revenue_share"] = table["revenue"] / grand_total if grand_total > 0 else 0.0
    return table.loc[:, list(FAMILY_COLUMNS)]


def discontinue_candidates(portfolio: pd.DataFrame) -> pd.DataFrame:
    """The SKUs flagged ``discontinue_candidate``, with the facts behind the flag.

    Parameters
    ----------
    portfolio : pd.DataFrame
        The artifact from :func:`review_portfolio`.

    Returns
    -------
    pd.DataFrame
        Columns sku, description, family, status, lifecycle, abc, xyz, units, revenue
        (both over the review window), revenue_growth, margin_pct (percent), reason;
        smallest revenue first (ties by sku). ``reason`` is the portfolio's
        ``discontinue_reason``: exactly the rules of :func:`review_portfolio` that
        flagged the item (C and Z with a margin under the portfolio median, a steep
        decline with its growth rate, an active item without sales), with their figures.

    Raises
    ------
    SopError
        If a column is missing.

    Examples
    --------
    >>> discontinue_candidates(portfolio)[["sku", "reason"]]  # doctest: +SKIP
    """
    columns = [
        "sku",
        "description",
        "family",
        "status",
        "lifecycle",
        "abc",
        "xyz",
        "units",
        "revenue",
        "revenue_growth",
        "margin_pct",
    ]
    require_columns(
        portfolio, "portfolio", [*columns, "discontinue_candidate", "discontinue_reason"]
    )
    view = portfolio.loc[
        portfolio["discontinue_candidate"].astype(bool), [*columns, "discontinue_reason"]
    ]
    view = view.rename(columns={"discontinue_reason": "reason"})
    return view.sort_values(["revenue", "sku"], kind="mergesort", ignore_index=True)


def new_items_to_watch(portfolio: pd.DataFrame) -> pd.DataFrame:
    """The new SKUs (lifecycle *new*), newest first, with their early performance.

    Parameters
    ----------
    portfolio : pd.DataFrame
        The artifact from :func:`review_portfolio`.

    Returns
    -------
    pd.DataFrame
        Columns sku, description, family, status, months_since_launch, units,
        revenue (over the review window), margin_pct (percent), abc, demand_cv, xyz,
        lifecycle_reason; sorted by months_since_launch ascending, ties by sku.

    Raises
    ------
    SopError
        If a column is missing.

    Examples
    --------
    >>> new_items_to_watch(portfolio)["sku"].tolist()  # doctest: +SKIP
    ['N1']
    """
    columns = [
        "sku",
        "description",
        "family",
        "status",
        "months_since_launch",
        "units",
        "revenue",
        "margin_pct",
        "abc",
        "demand_cv",
        "xyz",
        "lifecycle_reason",
    ]
    require_columns(portfolio, "portfolio", [*columns, "watch_new"])
    view = portfolio.loc[portfolio["watch_new"].astype(bool), columns]
    return view.sort_values(["months_since_launch", "sku"], kind="mergesort", ignore_index=True)


def headline(
    portfolio: pd.DataFrame, families: pd.DataFrame, *, review_months: int | None = None
) -> str:
    """One or two Markdown sentences that sum up the product review.

    Parameters
    ----------
    portfolio : pd.DataFrame
        The artifact from :func:`review_portfolio` (abc, revenue_share, watch_new,
        discontinue_candidate are read).
    families : pd.DataFrame
        The table from :func:`summarise_families`; its total row (level "total") gives
        revenue, growth and margin.
    review_months : int, optional
        The length of the review window the portfolio was made with, to name it ("the
        last 6 months"); without it the text says "the review period".

    Returns
    -------
    str
        Revenue over the review window with its growth on as many months before and
        the margin; how many A items carry how much of the revenue; how many new items
        to watch and candidates to discontinue.

    Raises
    ------
    SopError
        A missing column, ``families`` without its "Total" row, or a ``review_months``
        that is not a whole number >= 1.

    Examples
    --------
    >>> headline(portfolio, summarise_families(portfolio))  # doctest: +SKIP
    'Revenue over the review period was **40,000**, up 20.1 % on the period before, ...'
    """
    require_columns(
        portfolio,
        "portfolio",
        ["sku", "abc", "revenue_share", "watch_new", "discontinue_candidate"],
    )
    require_columns(
        families,
        "families",
        ["level", "family", "revenue", "revenue_prev", "margin_pct", "revenue_growth"],
    )
    if review_months is None:
        window, before = "the review period", "the period before"
    else:
        whole_number(review_months, "review_months", 1, what="months")
        window = f"the last {_months(review_months)}"
        before = f"the {_months(review_months)} before"
    totals = families[families["level"] == "total"]
    if totals.empty:
        raise SopError(
            "families has no total row (level 'total'); pass the table summarise_families returns."
        )
    total = totals.iloc[0]
    revenue, previous = float(total["revenue"]), float(total["revenue_prev"])
    growth, margin = float(total["revenue_growth"]), float(total["margin_pct"])
    if revenue > 0:
        if pd.isna(growth):
            change = f"with no revenue in {before}"
        elif round(growth * 100, 1) == 0:
            change = f"level with {before}"
        else:
            direction = "up" if growth > 0 else "down"
            change = f"{direction} {_pct(abs(growth))} on {before}"
        first = f"Revenue over {window} was **{revenue:,.0f}**, {change}"
        first += f", at a margin of {_pct(margin, percent=True)}." if pd.notna(margin) else "."
    else:
        against = f" (against {previous:,.0f} in {before})" if previous > 0 else ""
        first = f"No revenue over {window}{against}."

    a_items = portfolio["abc"] == "A"
    n_a = int(a_items.sum())
    n_new = int(portfolio["watch_new"].astype(bool).sum())
    n_drop = int(portfolio["discontinue_candidate"].astype(bool).sum())
    if n_a:
        a_share = _pct(float(portfolio.loc[a_items, "revenue_share"].sum()))
        carry = "carries" if n_a == 1 else "carry"
        a_text = f"{_count(n_a, 'A item')} {carry} {a_share} of it"
    else:
        a_text = "No item is class A"
    second = (
        f"{a_text}; {_count(n_new, 'new item')} to watch and "
        f"{_count(n_drop, 'candidate')} to discontinue."
    )
    return f"{first} {second}"


# --- checks ----------------------------------------------------------------------------


def _check_thresholds(
    name: str, value: object, *, bounded: bool, example: tuple[float, float]
) -> tuple[float, float]:
    """Two increasing numbers, in (0, 1] when ``bounded`` (shares), else >= 0 (CVs)."""
    expected = (
        f"{name} must be two increasing numbers {'in (0, 1]' if bounded else '>= 0'}, "
        f"such as {name}={example}; got {value!r}."
    )
    try:
        first, second = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise SopError(expected) from None
    in_range = (first > 0 and second <= 1) if bounded else first >= 0
    if not (first < second and in_range):
        raise SopError(expected)
    return first, second


def _check_months(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    for column in columns:
        if column in frame.columns and not pd.api.types.is_datetime64_any_dtype(frame[column]):
            raise SopError(
                f"{name}.{column} must hold first-of-month Timestamps (datetime64), "
                f"got dtype {frame[column].dtype}. Load the table through sopkit.data."
            )


# --- computations ----------------------------------------------------------------------


def _months_after(cycle: pd.Timestamp, months: pd.Series) -> pd.Series:
    """Whole months from the cycle to each month (negative = before); NaN for NaT."""
    offset = month_number(months) - month_number(cycle)
    return pd.Series(offset, index=months.index, dtype=float)


def _monthly_demand(
    skus: pd.Series, sales: pd.DataFrame, cycle: pd.Timestamp, months: int
) -> np.ndarray:
    """Dense SKU x month demand for the ``months`` months before the cycle, oldest first.

    Column j is the month ``j - months`` relative to the cycle; missing rows are 0.
    """
    offset = _months_after(cycle, sales["month"]).to_numpy()
    row = pd.Index(skus).get_indexer(sales["sku"])
    keep = (row >= 0) & (offset >= -months) & (offset <= -1)
    demand = np.zeros((len(skus), months))
    np.add.at(
        demand,
        (row[keep], (offset[keep] + months).astype(int)),
        sales["qty"].to_numpy(dtype=float)[keep],
    )
    return demand


def _demand_cv(recent: np.ndarray, months_since_launch: pd.Series) -> np.ndarray:
    """Population CV of monthly demand over the months since launch; NaN without demand.

    ``recent`` holds the review period, oldest month first, ending the month before the cycle.
    """
    months_before_cycle = np.arange(recent.shape[1], 0, -1)
    # A NaN launch (established item) compares False, so every month counts.
    before_launch = months_before_cycle[None, :] > months_since_launch.to_numpy()[:, None]
    frame = pd.DataFrame(np.where(before_launch, np.nan, recent))
    mean = frame.mean(axis=1)
    return (frame.std(axis=1, ddof=0) / mean).where(mean > 0).to_numpy()


def _classify_abc(out: pd.DataFrame, a: float, b: float) -> None:
    """Add revenue_share, cumulative_share, abc to ``out`` (already in ranking order)."""
    total = float(out["revenue"].sum())
    scale = 1 / total if total > 0 else 0.0
    cumulative = out["revenue"].cumsum()
    out["revenue_share"] = out["revenue"] * scale
    out["cumulative_share"] = cumulative * scale
    # Computed from the running revenue, not by summing shares, so an exact 80 % stays 0.8.
    before = (cumulative - out["revenue"]) * scale
    has_revenue = out["revenue"] > 0
    out["abc"] = np.select(
        [has_revenue & (before < a - _EPS), has_revenue & (before < b - _EPS)], ["A", "B"], "C"
    )


def _classify_lifecycle(
    out: pd.DataFrame,
    *,
    eol_offset: pd.Series,
    review_months: int,
    new_item_months: int,
    growth_threshold: float,
    decline_threshold: float,
    eol_window_months: int,
) -> None:
    """Add lifecycle and lifecycle_reason to ``out``, first matching rule wins."""
    growth = out["revenue_growth"]
    since_launch = out["months_since_launch"]
    eol_status = out["status"].isin(_EOL_STATUSES)
    # eol_month is the last month of sales: eol_offset + 1 months are left, the cycle's included.
    eol_soon = eol_offset + 1 <= eol_window_months
    rules = [
        eol_status | eol_soon,
        since_launch < new_item_months,
        (growth >= growth_threshold - _EPS) | ((out["revenue_prev"] == 0) & (out["revenue"] > 0)),
        growth <= decline_threshold + _EPS,
    ]
    out["lifecycle"] = np.select(rules, ["end of life", "new", "growth", "decline"], "mature")

    eol_month = out["_eol_month"].dt.strftime("%Y-%m")
    launch_month = out["_launch_month"].dt.strftime("%Y-%m")
    period = f"the previous {_months(review_months)}"
    growth_reason = np.select(
        [growth.notna(), out["revenue"] > 0],
        [
            "revenue " + _pct_series(growth, sign=True) + " on " + period,
            f"revenue now, none in {period}",
        ],
        f"no revenue in the last {_months(review_months)} nor in {period}",
    )
    out["lifecycle_reason"] = np.select(
        [eol_status, eol_soon, since_launch < new_item_months],
        [
            "status " + out["status"].astype(str),
            "last month of sales " + eol_month + ", " + _relative(eol_offset),
            "launched " + launch_month + ", " + _relative(-since_launch),
        ],
        growth_reason,
    ).astype(object)


def _discontinue_reasons(out: pd.DataFrame, decline_threshold: float) -> pd.Series:
    """Each discontinue rule's reason where that rule fired, joined with "; "; else None.

    The flags and the reasons come from the same masks, so an item never shows the
    reason of a rule that did not flag it.
    """
    # NaN margins (no revenue) compare False, and so does everything if no SKU has revenue.
    median_margin = out["margin_pct"].median()
    low_value = (
        (out["abc"] == "C")
        & (out["xyz"] == "Z")
        & out["lifecycle"].isin(["decline", "mature"])
        & (out["margin_pct"] < median_margin)
    )
    steep = 2 * decline_threshold
    steep_decline = (out["lifecycle"] == "decline") & (out["revenue_growth"] <= steep + _EPS)
    idle = (out["status"] == "active") & (out["units"] == 0)
    median_text = _pct(median_margin, percent=True) if pd.notna(median_margin) else "n/a"
    reasons = [
        np.where(
            low_value,
            "C and Z, margin "
            + _pct_series(out["margin_pct"], percent=True)
            + " under the median "
            + median_text,
            "",
        ),
        np.where(
            steep_decline,
            "revenue "
            + _pct_series(out["revenue_growth"], sign=True)
            + f", a steep decline ({_pct(steep, sign=True)} or worse)",
            "",
        ),
        np.where(idle, "active but no sales in the review period", ""),
    ]
    joined = _join_reasons(_join_reasons(reasons[0], reasons[1]), reasons[2])
    return pd.Series(np.where(joined == "", None, joined), index=out.index, dtype=object)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator != 0)).astype(float)


# --- wording ---------------------------------------------------------------------------


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"


def _count(n: int, noun: str) -> str:
    if n == 0:
        return f"no {noun}s"
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _pct(x: float, *, sign: bool = False, percent: bool = False) -> str:
    """Write a fraction (0.123) as "12.3 %", or a value already in percent if ``percent``.

    Growth rates and shares are fractions; ``margin_pct`` is percent, as ``_pct`` columns are.
    """
    value = round(float(x) if percent else float(x) * 100, 1) + 0.0  # + 0.0: -0.0 -> 0.0
    return f"{value:+g} %" if sign else f"{value:g} %"


def _pct_series(values: pd.Series, *, sign: bool = False, percent: bool = False) -> pd.Series:
    # astype(object): on an empty series map() keeps the float dtype, and "+" would fail.
    return values.map(
        lambda v: _pct(v, sign=sign, percent=percent) if pd.notna(v) else "n/a"
    ).astype(object)


def _join_reasons(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    first, second = first.astype(object), second.astype(object)
    both = (first != "") & (second != "")
    return np.where(both, first + "; " + second, first + second)


def _relative(offset: pd.Series) -> pd.Series:
    n = offset.abs().fillna(0).astype(int)
    unit = np.where(n == 1, " month", " months")
    return pd.Series(
        np.select(
            [offset > 0, offset < 0],
            ["in " + n.astype(str) + unit, n.astype(str) + unit + " ago"],
            "in the cycle month",
        ),
        index=offset.index,
    )
