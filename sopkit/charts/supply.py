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
#: the mark after the utilisation of a binding resource-month
BINDING_MARK = "●"
MATERIAL_STATES = ("covered", "used up", "short", "no limit")
MATERIAL_COLOURS = ("#1f77b4", "#ff7f0e", "#d62728", "#9ecae1")
#: the lines of the stock chart: series -> (colour, dash)
STOCK_LINES = {
    "end inventory": ("#8c564b", [1, 0]),
    "safety-stock target": ("#8c564b", [4, 3]),
    "below target": ("#ff7f0e", [1, 0]),
    "backlog": ("#d62728", [1, 0]),
    "lost": ("#000000", [2, 2]),
}
#: the cost components in the order the cost chart stacks them, with their words
COST_WORDS = {
    "materials": "materials",
    "regular": "regular hours",
    "overtime": "overtime",
    "subcontract": "subcontracting",
    "holding": "holding stock",
    "backlog": "backlog",
    "lost": "lost sales",
    "safety_stock": "below safety stock",
    "ending": "below ending target",
    "setup": "setups",
    "wages": "wages",
    "hiring": "hiring",
    "layoffs": "layoffs",
}


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
    """Utilisation of each resource per month; overtime and short outlined, binding marked.

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
        table has (no outline layer when no month needs overtime). A binding
        resource-month (``binding``: its regular hours used up and one more worth money)
        has :data:`BINDING_MARK` after its utilisation, and the tooltip gives the worth
        of one more regular and overtime hour where the table has the shadow prices.

    Examples
    --------
    >>> capacity_heatmap(plan.capacity)  # doctest: +SKIP
    """
    # The hours and the status; the prices and the binding flag when the plan has them.
    priced = ["shadow_price", "shadow_price_overtime", "binding"]
    keep = [c for c in columns("capacity") if c not in priced and not c.endswith("_used")]
    require_columns(capacity, "capacity", keep)
    if capacity.empty:
        return _no_data(alt.Title("Capacity utilisation"))
    flagged = [s for s in FLAGGED_STATUSES if (capacity["status"] == s).any()]
    outlined = {"overtime": "needs overtime (thin)", "short": "short (thick)"}
    binding = (
        capacity["binding"].fillna(False).astype(bool)
        if "binding" in capacity
        else pd.Series(False, capacity.index)
    )
    subtitle = "Required over regular hours" + (
        f"; outlined: {' or '.join(outlined[s] for s in flagged)}" if flagged else ""
    )
    if binding.any():
        subtitle += f"; {BINDING_MARK} binding: one more hour is worth money (hover for how much)"
    title = alt.Title("Capacity utilisation", subtitle=subtitle)
    shown = keep + [c for c in priced[:2] if c in capacity]
    data = _without_infinity(capacity.loc[:, shown])
    data["month"] = _month_label(data["month"])
    no_hours = data["utilisation"].isna() & (data["required_hours"] > 0)
    data["shade"] = data["utilisation"].where(~no_hours, UTILISATION_DOMAIN[1])
    data["label"] = np.select(
        [data["utilisation"].notna(), no_hours],
        [(data["utilisation"] * 100).round().map("{:.0f} %".format), "no hours"],
        NA_TEXT,
    )
    data["label"] = np.where(binding.to_numpy(), data["label"] + f" {BINDING_MARK}", data["label"])
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
    tooltip += [
        alt.Tooltip(f"{col}:Q", title=title_, format=",.2f")
        for col, title_ in (
            ("shadow_price", "worth of one more regular hour"),
            ("shadow_price_overtime", "worth of one more overtime hour"),
        )
        if col in data
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
        One small chart per material: bars of the quantity required (orange where the
        supply is used up and binding, red where it held demand back) and a dashed line
        of the quantity available. Materials without a
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
    binding = (
        materials["binding"].fillna(False).astype(bool).to_numpy()
        if "binding" in materials
        else np.zeros(len(data), dtype=bool)
    )
    data["state"] = np.select(
        [data["shortfall"] > 0, data["available"].isna(), binding],
        ["short", "no limit", "used up"],
        "covered",
    )
    states = [s for s in MATERIAL_STATES if (data["state"] == s).any()]
    colours = dict(zip(MATERIAL_STATES, MATERIAL_COLOURS, strict=True))
    notes = ["Bars: quantity the plan needs"]
    if "used up" in states:
        notes.append("orange: all that suppliers deliver is used, and more would be worth money")
    if "short" in states:
        notes.append("red: demand held back for want of it")
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


def stock_chart(supply_plan: pd.DataFrame) -> alt.Chart:
    """Stock, its safety-stock target, and demand not served, month by month (totals).

    Parameters
    ----------
    supply_plan : pd.DataFrame
        The ``supply_plan`` artifact (month, inventory, safety_stock, safety_shortfall,
        backlog, lost).

    Returns
    -------
    alt.Chart
        Lines of the total end inventory and safety-stock target, and, where there is
        any, the stock below target, the backlog and the lost sales (a series that is
        not drawn is not in the legend).

    Examples
    --------
    >>> stock_chart(plan.supply_plan)  # doctest: +SKIP
    """
    cols = ["inventory", "safety_stock", "safety_shortfall", "backlog", "lost"]
    require_columns(supply_plan, "supply_plan", ["month", *cols])
    title = "Stock and unmet demand"
    if supply_plan.empty:
        return _no_data(alt.Title(title))
    totals = supply_plan.groupby("month")[cols].sum()
    totals.columns = list(STOCK_LINES)
    shown = ["end inventory", "safety-stock target"] + [
        s for s in list(STOCK_LINES)[2:] if (totals[s] > 1e-6).any()
    ]
    data = totals[shown].reset_index().melt(id_vars="month", var_name="series", value_name="units")
    data["month"] = _month_label(data["month"])
    subtitle = "Totals over all SKUs at the end of each month: " + ", ".join(shown)
    return (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X("month:O", title="Plan month", axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("units:Q", title="Units"),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=shown, range=[STOCK_LINES[s][0] for s in shown]),
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                title=None,
                scale=alt.Scale(domain=shown, range=[STOCK_LINES[s][1] for s in shown]),
            ),
            tooltip=[
                alt.Tooltip("series:N"),
                alt.Tooltip("month:O"),
                alt.Tooltip("units:Q", format=",.0f"),
            ],
        )
        .properties(width=WIDTH, height=260, title=alt.Title(title, subtitle=subtitle))
    )


def supply_cost_chart(supply_costs: pd.DataFrame) -> alt.Chart:
    """What the supply plan costs each month, stacked by component.

    Parameters
    ----------
    supply_costs : pd.DataFrame
        The ``supply_costs`` artifact (family, month, one column per cost component).

    Returns
    -------
    alt.Chart
        Stacked bars (x month, y money) of the components that cost anything over the
        horizon, in :data:`COST_WORDS` order; the subtitle gives the horizon's total.

    Examples
    --------
    >>> supply_cost_chart(plan.supply_costs)  # doctest: +SKIP
    """
    require_columns(supply_costs, "supply_costs", ["family", "month", *COST_WORDS])
    title = "Supply cost by month"
    if supply_costs.empty:
        return _no_data(alt.Title(title))
    by_month = supply_costs.groupby("month")[list(COST_WORDS)].sum()
    used = [c for c in COST_WORDS if abs(by_month[c].sum()) > 1e-6]
    if not used:
        return _no_data(alt.Title(title), "The plan costs nothing")
    data = by_month[used].rename(columns=COST_WORDS).reset_index()
    data = data.melt(id_vars="month", var_name="component", value_name="cost")
    data["month"] = _month_label(data["month"])
    words = [COST_WORDS[c] for c in used]
    total = by_month[used].to_numpy().sum()
    return (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Plan month", axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("cost:Q", title="Cost", stack=True),
            color=alt.Color("component:N", title="Component", scale=alt.Scale(domain=words)),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("component:N"),
                alt.Tooltip("month:O"),
                alt.Tooltip("cost:Q", format=",.2f"),
            ],
        )
        .transform_calculate(order=f"indexof({words!r}, datum.component)")
        .properties(
            width=WIDTH,
            height=280,
            title=alt.Title(title, subtitle=f"Total over the horizon: {total:,.0f}"),
        )
    )


def workforce_chart(workforce_plan: pd.DataFrame) -> alt.Chart:
    """Workers per workforce pool and month, with the hires and layoffs in the tooltip.

    Parameters
    ----------
    workforce_plan : pd.DataFrame
        The ``workforce_plan`` artifact (pool, month, workers, hired, laid_off,
        hours_available, hours_used).

    Returns
    -------
    alt.Chart
        A step line of workers per pool (x month); a chart saying there is no workforce
        plan when the table is empty (no workforce data, or ``supply.workforce: false``).

    Examples
    --------
    >>> workforce_chart(plan.workforce_plan)  # doctest: +SKIP
    """
    cols = ["pool", "month", "workers", "hired", "laid_off", "hours_available", "hours_used"]
    require_columns(workforce_plan, "workforce_plan", cols)
    title = "Workforce plan"
    if workforce_plan.empty:
        return _no_data(alt.Title(title), "No workforce planned (no workforce data)")
    data = workforce_plan.loc[:, cols].copy()
    data["month"] = _month_label(data["month"])
    changes = float(data["hired"].sum() + data["laid_off"].sum())
    subtitle = (
        f"Workers per pool; {data['hired'].sum():,.1f} hired and "
        f"{data['laid_off'].sum():,.1f} laid off over the horizon"
        if changes > 1e-6
        else "Workers per pool: the workforce stays as it is"
    )
    return (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_line(point=True, interpolate="step-after")
        .encode(
            x=alt.X("month:O", title="Plan month", axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("workers:Q", title="Workers"),
            color=alt.Color("pool:N", title="Pool"),
            tooltip=[
                alt.Tooltip("pool:N"),
                alt.Tooltip("month:O"),
                alt.Tooltip("workers:Q", format=",.1f"),
                alt.Tooltip("hired:Q", format=",.1f"),
                alt.Tooltip("laid_off:Q", title="laid off", format=",.1f"),
                alt.Tooltip("hours_available:Q", title="hours available", format=",.0f"),
                alt.Tooltip("hours_used:Q", title="hours used", format=",.0f"),
            ],
        )
        .properties(width=WIDTH, height=240, title=alt.Title(title, subtitle=subtitle))
    )
