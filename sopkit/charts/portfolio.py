"""Charts of stage 1, product review: Pareto curve, ABC/XYZ matrix, growth and lifecycle.

The portfolio's revenue is over its review window (``review_months``, 12 by default).
Each chart takes ``review_months`` to name that window in its titles ("last 6 months");
without it they say "review period", never a length they do not know.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from sopkit._checks import require_columns, whole_number
from sopkit.charts._common import WIDTH, _no_data, _records, _thin
from sopkit.portfolio import ABC_CLASSES, LIFECYCLE_STAGES, XYZ_CLASSES

ABC_COLOURS = ("#1f77b4", "#ff7f0e", "#9e9e9e")
LIFECYCLE_COLOURS = ("#17becf", "#2ca02c", "#1f77b4", "#ff7f0e", "#d62728")
UP_DOWN_COLOURS = ("#2ca02c", "#d62728")


def _window(review_months: int | None) -> str:
    """The review window in words: "last 6 months", or "review period" if not given."""
    if review_months is None:
        return "review period"
    whole_number(review_months, "review_months", 1, what="months")
    return "last month" if review_months == 1 else f"last {review_months} months"


def _present(domain: Sequence[str], colours: Sequence[str], values: pd.Series) -> alt.Scale:
    """A colour scale over the classes that occur in ``values`` only.

    Each class keeps its colour, and the legend never lists a class that is not drawn.
    """
    seen = set(values)
    keep = [i for i, name in enumerate(domain) if name in seen]
    return alt.Scale(domain=[domain[i] for i in keep], range=[colours[i] for i in keep])


def _per_class(portfolio: pd.DataFrame, classes: pd.Index) -> pd.DataFrame:
    """SKUs, revenue and revenue_share per class, every class of ``classes`` (0 if empty).

    ``classes`` is named after the portfolio columns it groups by; an empty class stays
    in the chart so the reader sees it is empty rather than wonder where it went.
    """
    data = (
        portfolio.groupby(list(classes.names))
        .agg(
            skus=("sku", "size"),
            revenue=("revenue", "sum"),
            revenue_share=("revenue_share", "sum"),
        )
        .reindex(classes, fill_value=0)
        .reset_index()
    )
    data["skus"] = data["skus"].astype(int)
    return data


def pareto_chart(
    portfolio: pd.DataFrame,
    *,
    abc_thresholds: Sequence[float] = (0.8, 0.95),
    max_points: int = 1000,
    review_months: int | None = None,
) -> alt.LayerChart | alt.Chart:
    """Pareto curve: cumulative share of revenue against SKU rank, coloured by ABC class.

    Parameters
    ----------
    portfolio : pd.DataFrame
        The ``portfolio`` artifact (sku, description, family, revenue, revenue_share,
        cumulative_share, abc).
    abc_thresholds : tuple of float, default (0.8, 0.95)
        The thresholds the portfolio was classified with, drawn as dashed lines.
    max_points : int, default 1000
        A larger catalogue is thinned to about this many evenly spaced ranks (the last item
        of each class is always kept), so the chart stays small; the curve looks the same.
    review_months : int, optional
        The portfolio's review window, named in the axis title ("last 6 months").

    Returns
    -------
    alt.LayerChart
        Line and points (x rank, y cumulative_share, colour abc; the legend lists only
        the classes that have items) and the threshold rules; a chart that says "No data
        to show" for an empty portfolio.

    Raises
    ------
    SopError
        A missing column or a ``review_months`` that is not a whole number >= 1.

    Examples
    --------
    >>> pareto_chart(portfolio).save("pareto.html")  # doctest: +SKIP
    """
    columns = ["sku", "description", "family", "revenue", "revenue_share"]
    require_columns(portfolio, "portfolio", [*columns, "cumulative_share", "abc"])
    window = _window(review_months)
    title = alt.Title(
        "Pareto curve of revenue",
        subtitle="Share of revenue from the top-ranked SKUs; colour = ABC class",
    )
    if portfolio.empty:
        return _no_data(title)
    ranked = portfolio.sort_values(
        ["revenue", "sku"], ascending=[False, True], kind="mergesort", ignore_index=True
    )
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    keep = _thin(ranked["abc"], max_points)
    data = ranked.loc[keep, ["rank", *columns, "cumulative_share", "abc"]]

    # Layers without data of their own take the chart's data, so it is embedded once.
    base = alt.Chart().encode(
        x=alt.X(
            "rank:Q",
            title=f"SKU rank by revenue ({window})",
            axis=alt.Axis(format="d", tickMinStep=1),
            scale=alt.Scale(domainMin=1),
        ),
        y=alt.Y(
            "cumulative_share:Q",
            title="Cumulative share of revenue",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
    )
    line = base.mark_line(color="#555555", strokeWidth=1.5)
    points = base.mark_circle(size=40, opacity=0.9).encode(
        color=alt.Color(
            "abc:N",
            title="ABC class",
            scale=_present(ABC_CLASSES, ABC_COLOURS, data["abc"]),
        ),
        tooltip=[
            alt.Tooltip("rank:Q", title="rank"),
            alt.Tooltip("sku:N"),
            alt.Tooltip("description:N"),
            alt.Tooltip("family:N"),
            alt.Tooltip("abc:N", title="class"),
            alt.Tooltip("revenue:Q", title="revenue", format=",.0f"),
            alt.Tooltip("revenue_share:Q", title="share", format=".1%"),
            alt.Tooltip("cumulative_share:Q", title="cumulative", format=".1%"),
        ],
    )
    first, second = (float(t) for t in abc_thresholds)
    thresholds = alt.Chart(
        alt.Data(
            values=[
                {"threshold": first, "label": f"A | B at {first:.0%}"},
                {"threshold": second, "label": f"B | C at {second:.0%}"},
            ]
        )
    )
    rules = thresholds.mark_rule(strokeDash=[4, 4], color="#888888").encode(
        y="threshold:Q", tooltip=[alt.Tooltip("label:N", title="threshold")]
    )
    labels = thresholds.mark_text(align="right", dx=-4, dy=-6, color="#555555").encode(
        y="threshold:Q", x=alt.value(WIDTH), text="label:N"
    )
    return alt.layer(line, points, rules, labels, data=alt.Data(values=_records(data))).properties(
        width=WIDTH, height=320, title=title
    )


def abc_xyz_matrix(portfolio: pd.DataFrame, *, review_months: int | None = None) -> alt.LayerChart:
    """ABC x XYZ matrix: number of SKUs per cell, with the cell's share of revenue.

    Parameters
    ----------
    portfolio : pd.DataFrame
        The ``portfolio`` artifact (sku, abc, xyz, revenue, revenue_share).
    review_months : int, optional
        The portfolio's review window, named in the subtitle ("last 6 months").

    Returns
    -------
    alt.LayerChart
        A 3 x 3 heatmap (x xyz, y abc, colour skus, no legend: the counts are written in
        the cells) with a text label per cell; all nine cells are present, empty ones
        with 0.

    Raises
    ------
    SopError
        A missing column or a ``review_months`` that is not a whole number >= 1.

    Examples
    --------
    >>> abc_xyz_matrix(portfolio, review_months=12)  # doctest: +SKIP
    """
    require_columns(portfolio, "portfolio", ["sku", "abc", "xyz", "revenue", "revenue_share"])
    window = _window(review_months)
    data = _per_class(
        portfolio, pd.MultiIndex.from_product([ABC_CLASSES, XYZ_CLASSES], names=["abc", "xyz"])
    )
    data["label"] = (
        data["skus"].astype(str)
        + np.where(data["skus"] == 1, " SKU, ", " SKUs, ")
        + (data["revenue_share"] * 100).round(1).astype(str)
        + " %"
    )
    half = max(float(data["skus"].max()), 1.0) / 2

    base = alt.Chart().encode(
        x=alt.X(
            "xyz:O",
            title="XYZ class (demand variability)",
            sort=list(XYZ_CLASSES),
            axis=alt.Axis(labelAngle=0),
        ),
        y=alt.Y("abc:O", title="ABC class (revenue)", sort=list(ABC_CLASSES)),
    )
    heat = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "skus:Q",
            title="SKUs",
            scale=alt.Scale(scheme="blues", domainMin=0),
            legend=None,  # the counts are written in the cells
        ),
        tooltip=[
            alt.Tooltip("abc:N", title="ABC"),
            alt.Tooltip("xyz:N", title="XYZ"),
            alt.Tooltip("skus:Q", title="SKUs"),
            alt.Tooltip("revenue:Q", title="revenue", format=",.0f"),
            alt.Tooltip("revenue_share:Q", title="share of revenue", format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=13).encode(
        text="label:N",
        color=alt.condition(f"datum.skus > {half}", alt.value("white"), alt.value("black")),
    )
    return alt.layer(heat, text, data=alt.Data(values=_records(data))).properties(
        width=WIDTH,
        height=270,
        title=alt.Title(
            "ABC / XYZ matrix",
            subtitle=f"SKUs per class, and their share of revenue ({window})",
        ),
    )


def family_growth_chart(
    family_summary: pd.DataFrame, *, review_months: int | None = None
) -> alt.Chart:
    """Revenue growth by family: the review window against as many months before.

    Parameters
    ----------
    family_summary : pd.DataFrame
        The table from :func:`sopkit.portfolio.summarise_families`; its ``Total`` row and
        families without revenue in the previous period (growth undefined) are left out.
    review_months : int, optional
        The review window, named in the subtitle and tooltips ("last 6 months").

    Returns
    -------
    alt.Chart
        Horizontal bars (x revenue_growth, y family, largest growth on top), green for
        growth and red for decline (the legend lists only the directions drawn); a chart
        that says "No data to show" when no family has a growth rate.

    Raises
    ------
    SopError
        A missing column or a ``review_months`` that is not a whole number >= 1.

    Examples
    --------
    >>> family_growth_chart(summarise_families(portfolio), review_months=12)  # doctest: +SKIP
    """
    columns = ["family", "revenue_growth", "revenue", "revenue_prev", "margin_pct"]
    require_columns(family_summary, "family_summary", ["level", *columns])
    data = family_summary.loc[
        (family_summary["level"] == "family") & family_summary["revenue_growth"].notna(), columns
    ].copy()
    window = _window(review_months)
    before = "the period before" if review_months is None else f"the {review_months} before"
    title = alt.Title(
        "Revenue growth by family",
        subtitle=f"{window[0].upper()}{window[1:]} against {before}",
    )
    if data.empty:
        return _no_data(title)
    data["direction"] = np.where(data["revenue_growth"] < 0, "decline", "growth")
    return (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_bar()
        .encode(
            x=alt.X("revenue_growth:Q", title="Revenue growth", axis=alt.Axis(format="%")),
            y=alt.Y("family:N", title="Family", sort="-x"),
            color=alt.Color(
                "direction:N",
                title=None,
                scale=_present(("growth", "decline"), UP_DOWN_COLOURS, data["direction"]),
            ),
            tooltip=[
                alt.Tooltip("family:N"),
                alt.Tooltip("revenue_growth:Q", title="growth", format="+.1%"),
                alt.Tooltip("revenue:Q", title=f"revenue, {window}", format=",.0f"),
                alt.Tooltip("revenue_prev:Q", title=f"revenue, {before}", format=",.0f"),
                alt.Tooltip("margin_pct:Q", title="margin %", format=".1f"),
            ],
        )
        .properties(width=WIDTH, height=alt.Step(24), title=title)
    )


def lifecycle_chart(portfolio: pd.DataFrame, *, review_months: int | None = None) -> alt.LayerChart:
    """Revenue and number of SKUs by lifecycle stage.

    Parameters
    ----------
    portfolio : pd.DataFrame
        The ``portfolio`` artifact (sku, lifecycle, revenue, revenue_share).
    review_months : int, optional
        The portfolio's review window, named in the titles ("last 6 months").

    Returns
    -------
    alt.LayerChart
        Horizontal bars of revenue per stage (stages in lifecycle order, all five shown
        on the axis; no legend) with the number of SKUs written at the end of each bar.

    Raises
    ------
    SopError
        A missing column or a ``review_months`` that is not a whole number >= 1.

    Examples
    --------
    >>> lifecycle_chart(portfolio, review_months=12)  # doctest: +SKIP
    """
    require_columns(portfolio, "portfolio", ["sku", "lifecycle", "revenue", "revenue_share"])
    window = _window(review_months)
    data = _per_class(portfolio, pd.Index(LIFECYCLE_STAGES, name="lifecycle"))
    data["label"] = data["skus"].astype(str) + np.where(data["skus"] == 1, " SKU", " SKUs")

    base = alt.Chart().encode(
        y=alt.Y("lifecycle:N", title="Lifecycle stage", sort=list(LIFECYCLE_STAGES)),
        x=alt.X("revenue:Q", title=f"Revenue, {window}"),
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "lifecycle:N",
            legend=None,
            scale=alt.Scale(domain=list(LIFECYCLE_STAGES), range=list(LIFECYCLE_COLOURS)),
        ),
        tooltip=[
            alt.Tooltip("lifecycle:N", title="stage"),
            alt.Tooltip("skus:Q", title="SKUs"),
            alt.Tooltip("revenue:Q", title="revenue", format=",.0f"),
            alt.Tooltip("revenue_share:Q", title="share of revenue", format=".1%"),
        ],
    )
    text = base.mark_text(align="left", dx=4).encode(text="label:N")
    return alt.layer(bars, text, data=alt.Data(values=_records(data))).properties(
        width=WIDTH,
        height=alt.Step(32),
        title=alt.Title(
            "Portfolio by lifecycle stage",
            subtitle=f"Revenue over the {window}; number of SKUs at the end of each bar",
        ),
    )
