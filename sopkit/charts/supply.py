"""Charts of stage 3, supply planning: production, capacity and materials."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from sopkit._checks import family_of, require_columns
from sopkit.charts._common import (
    NA_TEXT,
    WIDTH,
    _month_label,
    _no_data,
    _records,
    _without_infinity,
)
from sopkit.schemas import columns

STATUS_STROKES = ("#333333", "#000000")
STATUS_WIDTHS = (1.5, 3.5)

UTILISATION_DOMAIN = (0.0, 1.3)
FLAGGED_STATUSES = ("overtime", "short")
MATERIAL_STATES = ("covered", "short", "no limit")
MATERIAL_COLOURS = ("#1f77b4", "#d62728", "#9ecae1")


#: the total lines of the production chart: series -> (colour, dash)
PRODUCTION_LINES = {
    "demand": ("#000000", [1, 0]),
    "shipments": ("#2ca02c", [2, 2]),
    "end inventory": ("#8c564b", [5, 3]),
    "backlog": ("#d62728", [1, 0]),
}


def production_chart(supply_plan: pd.DataFrame, products: pd.DataFrame) -> alt.LayerChart:
    """Production per plan month stacked by family, with total demand and end inventory.

    Parameters
    ----------
    supply_plan : pd.DataFrame
        The ``supply_plan`` artifact (sku, month, demand, shipments, production,
        inventory, backlog).
    products : pd.DataFrame
        sku, family.

    Returns
    -------
    alt.LayerChart
        Stacked bars (x month, y production, colour family) and lines of the totals:
        demand and end-of-month inventory, plus shipments when they differ from demand
        and backlog when there is any (a series that is not drawn is not in the legend).

    Raises
    ------
    SopError
        Missing columns, or a SKU that products does not list (or lists twice).

    Examples
    --------
    >>> production_chart(plan.supply_plan, plan.products)  # doctest: +SKIP
    """
    require_columns(
        supply_plan,
        "supply_plan",
        ["sku", "month", "demand", "shipments", "production", "inventory", "backlog"],
    )
    require_columns(products, "products", ["sku", "family"])
    title = "Production plan"
    if supply_plan.empty:
        return _no_data(alt.Title(title))
    plan = supply_plan.assign(family=family_of(products, supply_plan["sku"], "supply_plan"))
    plan["month"] = _month_label(plan["month"])
    bars_data = plan.groupby(["family", "month"])["production"].sum().reset_index()
    totals = plan.groupby("month")[["demand", "shipments", "inventory", "backlog"]].sum()
    shown = ["demand", "end inventory"]
    if not np.allclose(totals["shipments"], totals["demand"]):
        shown.insert(1, "shipments")
    if (totals["backlog"] > 0).any():
        shown.append("backlog")
    lines_data = (
        totals.rename(columns={"inventory": "end inventory"})[shown]
        .reset_index()
        .melt(id_vars="month", var_name="series", value_name="units")
    )
    subtitle = f"Units produced per month by family; lines: total {', '.join(shown)}"
    x = alt.X("month:O", title="Plan month", axis=alt.Axis(labelAngle=-45))
    bars = (
        alt.Chart(alt.Data(values=_records(bars_data)))
        .mark_bar(opacity=0.85)
        .encode(
            x=x,
            y=alt.Y("production:Q", title="Units per month"),
            color=alt.Color("family:N", title="Production by family"),
            tooltip=[
                alt.Tooltip("family:N"),
                alt.Tooltip("month:O"),
                alt.Tooltip("production:Q", format=",.0f"),
            ],
        )
    )
    colours = [PRODUCTION_LINES[s][0] for s in shown]
    dashes = [PRODUCTION_LINES[s][1] for s in shown]
    lines = (
        alt.Chart(alt.Data(values=_records(lines_data)))
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y("units:Q"),
            color=alt.Color(
                "series:N", title="Totals", scale=alt.Scale(domain=shown, range=colours)
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                title="Totals",  # the same title merges it into the colour legend
                scale=alt.Scale(domain=shown, range=dashes),
            ),
            tooltip=[
                alt.Tooltip("series:N"),
                alt.Tooltip("month:O"),
                alt.Tooltip("units:Q", format=",.0f"),
            ],
        )
    )
    return (
        alt.layer(bars, lines)
        .resolve_scale(color="independent")
        .properties(width=WIDTH, height=300, title=alt.Title(title, subtitle=subtitle))
    )


def capacity_heatmap(capacity: pd.DataFrame) -> alt.LayerChart:
    """Utilisation of each resource per month, with overtime and short months outlined.

    Parameters
    ----------
    capacity : pd.DataFrame
        The ``capacity`` artifact (resource, month, available_hours, max_overtime_hours,
        required_hours, utilisation, overload_hours, shortfall_hours, status).

    Returns
    -------
    alt.LayerChart
        Cells (x month, y resource) coloured by utilisation on a diverging scale centred
        on 100 % (0 to 130 %, beyond clamped), the utilisation written in each cell, and an
        outline on "overtime" (thin) and "short" (thick) months. Work on a resource-month
        without regular hours reads "no hours" and takes the top colour. The outline
        layer, its legend and the subtitle's words for it cover only the statuses the
        table has (no outline layer when no month needs overtime).

    Examples
    --------
    >>> capacity_heatmap(plan.capacity)  # doctest: +SKIP
    """
    # All the artifact's columns but shadow_price, which this chart does not show.
    keep = [c for c in columns("capacity") if c != "shadow_price"]
    require_columns(capacity, "capacity", keep)
    if capacity.empty:
        return _no_data(alt.Title("Capacity utilisation"))
    flagged = [s for s in FLAGGED_STATUSES if (capacity["status"] == s).any()]
    outlined = {"overtime": "needs overtime (thin)", "short": "short (thick)"}
    subtitle = "Required over regular hours" + (
        f"; outlined: {' or '.join(outlined[s] for s in flagged)}" if flagged else ""
    )
    title = alt.Title("Capacity utilisation", subtitle=subtitle)
    data = _without_infinity(capacity.loc[:, keep])
    data["month"] = _month_label(data["month"])
    no_hours = data["utilisation"].isna() & (data["required_hours"] > 0)
    data["shade"] = data["utilisation"].where(~no_hours, UTILISATION_DOMAIN[1])
    data["label"] = np.select(
        [data["utilisation"].notna(), no_hours],
        [(data["utilisation"] * 100).round().map("{:.0f} %".format), "no hours"],
        NA_TEXT,
    )
    base = alt.Chart().encode(
        x=alt.X("month:O", title="Plan month", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("resource:N", title="Resource", sort=sorted(data["resource"].unique())),
    )
    tooltip = [
        alt.Tooltip("resource:N"),
        alt.Tooltip("month:O"),
        alt.Tooltip("utilisation:Q", format=".1%"),
        alt.Tooltip("available_hours:Q", title="available hours", format=",.0f"),
        alt.Tooltip("required_hours:Q", title="required hours", format=",.0f"),
        alt.Tooltip("overload_hours:Q", title="overload hours", format=",.0f"),
        alt.Tooltip("max_overtime_hours:Q", title="overtime possible", format=",.0f"),
        alt.Tooltip("shortfall_hours:Q", title="shortfall hours", format=",.0f"),
        alt.Tooltip("status:N"),
    ]
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(
            "shade:Q",
            title="Utilisation",
            scale=alt.Scale(
                scheme="redblue",
                reverse=True,
                domain=list(UTILISATION_DOMAIN),
                domainMid=1.0,
                clamp=True,
            ),
            # no gradient when no cell has a utilisation to colour
            legend=alt.Legend(format="%") if data["shade"].notna().any() else None,
        ),
        tooltip=tooltip,
    )
    strokes = dict(zip(FLAGGED_STATUSES, STATUS_STROKES, strict=True))
    widths = dict(zip(FLAGGED_STATUSES, STATUS_WIDTHS, strict=True))
    # The legend lists only the statuses outlined in this table.
    outlines = (
        base.mark_rect(filled=False)
        .encode(
            stroke=alt.Stroke(
                "status:N",
                title="Status",
                scale=alt.Scale(domain=flagged, range=[strokes[s] for s in flagged]),
            ),
            strokeWidth=alt.StrokeWidth(
                "status:N",
                title="Status",
                scale=alt.Scale(domain=flagged, range=[widths[s] for s in flagged]),
            ),
            tooltip=tooltip,
        )
        .transform_filter(alt.FieldOneOfPredicate(field="status", oneOf=flagged))
    )
    # Dark text would vanish on the darkest blues and reds.
    text = base.mark_text(fontSize=10).encode(
        text="label:N",
        color=alt.condition(
            "datum.shade != null && (datum.shade < 0.3 || datum.shade > 1.2)",
            alt.value("white"),
            alt.value("black"),
        ),
        tooltip=tooltip,
    )
    layers = [cells, outlines, text] if flagged else [cells, text]
    return alt.layer(*layers, data=alt.Data(values=_records(data))).properties(
        width=WIDTH, height=alt.Step(28), title=title
    )


def material_chart(materials: pd.DataFrame) -> alt.FacetChart | alt.Chart:
    """What the plan needs of each material per month against what suppliers deliver.

    Parameters
    ----------
    materials : pd.DataFrame
        The ``materials`` artifact (material, month, required, available, shortfall).

    Returns
    -------
    alt.FacetChart
        One small chart per material: bars of the quantity required (red in months short
        of supply) and a dashed line of the quantity available. Materials without a
        supply limit (available NaN) show the bars only. The colour legend lists only
        the states (covered, short, no limit) the table has, and the subtitle only the
        marks drawn. An empty table gives a chart saying there are no material constraints.

    Examples
    --------
    >>> material_chart(plan.materials)  # doctest: +SKIP
    """
    columns = ["material", "month", "required", "available", "shortfall"]
    require_columns(materials, "materials", columns)
    name = "Materials: required against available"
    if materials.empty:
        return _no_data(alt.Title(name), "No material constraints in the data")
    data = materials.loc[:, columns].copy()
    data["month"] = _month_label(data["month"])
    data["state"] = np.select(
        [data["shortfall"] > 0, data["available"].isna()], ["short", "no limit"], "covered"
    )
    states = [s for s in MATERIAL_STATES if (data["state"] == s).any()]
    colours = dict(zip(MATERIAL_STATES, MATERIAL_COLOURS, strict=True))
    notes = ["Bars: quantity the plan needs"]
    if "short" in states:
        notes.append("red: months it needs more than suppliers can deliver")
    if data["available"].notna().any():
        notes.append("dashed: supply")
    title = alt.Title(name, subtitle="; ".join(notes))
    x = alt.X("month:O", title="Plan month", axis=alt.Axis(labelAngle=-45))
    tooltip = [
        alt.Tooltip("material:N"),
        alt.Tooltip("month:O"),
        alt.Tooltip("required:Q", format=",.0f"),
        alt.Tooltip("available:Q", format=",.0f"),
        alt.Tooltip("shortfall:Q", format=",.0f"),
    ]
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("required:Q", title="Quantity"),
            color=alt.Color(
                "state:N",
                title=None,
                scale=alt.Scale(domain=states, range=[colours[s] for s in states]),
            ),
            tooltip=tooltip,
        )
    )
    supply = (
        alt.Chart()
        .mark_line(color="#333333", strokeDash=[4, 3], point=alt.OverlayMarkDef(color="#333333"))
        .encode(x=x, y=alt.Y("available:Q"), tooltip=tooltip)
    )
    return (
        alt.layer(bars, supply, data=alt.Data(values=_records(data)))
        .properties(width=WIDTH, height=90)
        .facet(
            row=alt.Row(
                "material:N",
                title=None,
                header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold"),
            )
        )
        .resolve_scale(y="independent")
        .properties(title=title)
    )
