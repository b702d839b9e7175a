"""Charts of stage 3, supply planning: production, capacity and materials."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from sopkit._checks import require_columns
from sopkit.charts._common import (
    NA_TEXT,
    WIDTH,
    _families_of,
    _month_label,
    _no_data,
    _records,
    _without_infinity,
)
from sopkit.schemas import columns

STATUS_STROKES = ("#333333", "#000000")

UTILISATION_DOMAIN = (0.0, 1.3)
FLAGGED_STATUSES = ("overtime", "short")
MATERIAL_STATES = ("covered", "short", "no limit")
MATERIAL_COLOURS = ("#1f77b4", "#d62728", "#9ecae1")


def production_chart(supply_plan: pd.DataFrame, products: pd.DataFrame) -> alt.LayerChart:
    """Production per plan month stacked by family, with total demand and end inventory.

    Parameters
    ----------
    supply_plan : pd.DataFrame
        The ``supply_plan`` artifact (sku, month, demand, production, inventory).
    products : pd.DataFrame
        sku, family.

    Returns
    -------
    alt.LayerChart
        Stacked bars (x month, y production, colour family) and two lines: total demand
        and total end-of-month inventory.
    """
    require_columns(
        supply_plan, "supply_plan", ["sku", "month", "demand", "production", "inventory"]
    )
    require_columns(products, "products", ["sku", "family"])
    title = alt.Title(
        "Production plan",
        subtitle="Units produced per month by family; lines: total demand and end inventory",
    )
    if supply_plan.empty:
        return _no_data(title)
    family = products.drop_duplicates("sku").set_index("sku")["family"]
    plan = supply_plan.assign(family=_families_of(supply_plan["sku"], family, "supply_plan"))
    plan["month"] = _month_label(plan["month"])
    bars_data = plan.groupby(["family", "month"])["production"].sum().reset_index()
    totals = plan.groupby("month")[["demand", "inventory"]].sum().reset_index()
    lines_data = totals.rename(columns={"inventory": "end inventory"}).melt(
        id_vars="month", var_name="series", value_name="units"
    )
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
    lines = (
        alt.Chart(alt.Data(values=_records(lines_data)))
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y("units:Q"),
            color=alt.Color(
                "series:N",
                title="Totals",
                scale=alt.Scale(domain=["demand", "end inventory"], range=["#000000", "#8c564b"]),
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                title="Totals",  # the same title merges it into the colour legend
                scale=alt.Scale(domain=["demand", "end inventory"], range=[[1, 0], [5, 3]]),
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
        .properties(width=WIDTH, height=300, title=title)
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
        without regular hours reads "no hours" and takes the top colour.
    """
    # All the artifact's columns but shadow_price, which this chart does not show.
    keep = [c for c in columns("capacity") if c != "shadow_price"]
    require_columns(capacity, "capacity", keep)
    title = alt.Title(
        "Capacity utilisation",
        subtitle="Required over regular hours; outlined: needs overtime (thin) or short (thick)",
    )
    if capacity.empty:
        return _no_data(title)
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
            legend=alt.Legend(format="%"),
        ),
        tooltip=tooltip,
    )
    outlines = (
        base.mark_rect(filled=False)
        .encode(
            stroke=alt.Stroke(
                "status:N",
                title="Status",
                scale=alt.Scale(domain=list(FLAGGED_STATUSES), range=list(STATUS_STROKES)),
            ),
            strokeWidth=alt.StrokeWidth(
                "status:N",
                title="Status",
                scale=alt.Scale(domain=list(FLAGGED_STATUSES), range=[1.5, 3.5]),
            ),
            tooltip=tooltip,
        )
        .transform_filter(alt.FieldOneOfPredicate(field="status", oneOf=list(FLAGGED_STATUSES)))
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
    return alt.layer(cells, outlines, text, data=alt.Data(values=_records(data))).properties(
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
        supply limit (available NaN) show the bars only. An empty table gives a chart
        saying there are no material constraints.
    """
    columns = ["material", "month", "required", "available", "shortfall"]
    require_columns(materials, "materials", columns)
    title = alt.Title(
        "Materials: required against available",
        subtitle="Red: months the plan needs more than suppliers can deliver; dashed: supply",
    )
    if materials.empty:
        return _no_data(title, "No material constraints in the data")
    data = materials.loc[:, columns].copy()
    data["month"] = _month_label(data["month"])
    data["state"] = np.select(
        [data["shortfall"] > 0, data["available"].isna()], ["short", "no limit"], "covered"
    )
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
                scale=alt.Scale(domain=list(MATERIAL_STATES), range=list(MATERIAL_COLOURS)),
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
