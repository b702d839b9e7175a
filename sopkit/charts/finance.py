"""Charts of stage 4, reconciliation: plan and actuals against budget, scenarios."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from sopkit._checks import require_columns
from sopkit.charts._common import (
    NA_TEXT,
    SERIES_COLOURS,
    WIDTH,
    _month_tooltip,
    _month_x,
    _no_data,
    _records,
    _without_infinity,
)

#: the series of the budget chart: name -> (colour, dash)
BUDGET_SERIES = {
    "actual": (SERIES_COLOURS[0], [1, 0]),
    "plan": (SERIES_COLOURS[1], [6, 4]),
    "budget": (SERIES_COLOURS[2], [1, 0]),
}


def budget_chart(financials: pd.DataFrame, actuals: pd.DataFrame) -> alt.Chart:
    """Revenue per month, all families: actuals, then the plan, against the budget.

    Parameters
    ----------
    financials : pd.DataFrame
        The ``financials`` artifact (family, month, revenue, budget_revenue).
    actuals : pd.DataFrame
        From :func:`sopkit.finance.actuals_vs_budget` (family, month, revenue,
        budget_revenue).

    Returns
    -------
    alt.Chart
        Up to three lines (x month, y revenue): actual (solid), plan (dashed) and budget
        (grey); a month without any budget row has no budget point. A series without
        any point (no actuals, no budget) is neither drawn nor in the legend.

    Examples
    --------
    >>> actuals = finance.actuals_vs_budget(history, products, budget)  # doctest: +SKIP
    >>> budget_chart(plan.financials, actuals)  # doctest: +SKIP
    """
    require_columns(financials, "financials", ["family", "month", "revenue", "budget_revenue"])
    require_columns(actuals, "actuals", ["family", "month", "revenue", "budget_revenue"])
    name = "Revenue against budget"
    if financials.empty and actuals.empty:
        return _no_data(alt.Title(name))
    series = []
    for label, frame in (("actual", actuals), ("plan", financials)):
        if frame.empty:
            continue
        # min_count=1: a month no family has a budget for stays without budget, not 0.
        monthly = frame.groupby("month")[["revenue", "budget_revenue"]].sum(min_count=1)
        series.append(monthly["revenue"].rename(label))
        series.append(monthly["budget_revenue"].rename(f"budget {label}"))
    wide = pd.concat(series, axis=1)
    budget = [c for c in ("budget actual", "budget plan") if c in wide.columns]
    wide["budget"] = wide[budget].bfill(axis=1).iloc[:, 0]
    names = [c for c in BUDGET_SERIES if c in wide.columns]
    data = (
        wide[names]
        .rename_axis("month")
        .reset_index()
        .melt(id_vars="month", var_name="series", value_name="revenue")
        .dropna(subset=["revenue"])
    )
    drawn = [c for c in BUDGET_SERIES if (data["series"] == c).any()]
    parts = {
        "actual": "actual sales valued at today's prices",
        "plan": "the plan's shipments",
        "budget": "the budget",
    }
    subtitle = "All families; " + ", then ".join(parts[c] for c in drawn if c != "budget")
    if "budget" in drawn:
        subtitle += ", against the budget"
    return (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_line(point=alt.OverlayMarkDef(size=20))
        .encode(
            x=_month_x(),
            y=alt.Y("revenue:Q", title="Revenue per month"),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=drawn, range=[BUDGET_SERIES[c][0] for c in drawn]),
                legend=alt.Legend(symbolType="stroke"),
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                title=None,
                scale=alt.Scale(domain=drawn, range=[BUDGET_SERIES[c][1] for c in drawn]),
            ),
            tooltip=[
                _month_tooltip(),
                alt.Tooltip("series:N"),
                alt.Tooltip("revenue:Q", format=",.0f"),
            ],
        )
        .properties(width=WIDTH, height=300, title=alt.Title(name, subtitle=subtitle))
    )


def scenario_chart(scenarios: pd.DataFrame) -> alt.HConcatChart | alt.Chart:
    """Scenarios side by side: revenue against budget, and peak capacity utilisation.

    Parameters
    ----------
    scenarios : pd.DataFrame
        The ``scenarios`` artifact (scenario, first_month, last_month, revenue,
        budget_revenue, revenue_vs_budget_pct in percent, margin_pct, peak_utilisation
        as a fraction, overloaded_resource_months).

    Returns
    -------
    alt.HConcatChart
        Two bar charts with one row per scenario ("baseline" first, then the given
        order): revenue against budget in percent (green above, red below, a rule at
        0) and peak utilisation (red above 100 %, a rule at 100 %). A peak of work on a
        resource without hours has no bar and reads "no hours"; a figure that is
        missing (no budget, no capacity) has no bar and reads "–". The subtitle names
        the summary window the figures cover.

    Examples
    --------
    >>> scenario_chart(compare_scenarios(inputs, ctx.scenarios))  # doctest: +SKIP
    """
    columns = [
        "scenario",
        "first_month",
        "last_month",
        "revenue",
        "budget_revenue",
        "revenue_vs_budget_pct",
        "margin_pct",
        "peak_utilisation",
        "overloaded_resource_months",
    ]
    require_columns(scenarios, "scenarios", columns)
    if scenarios.empty:
        return _no_data(alt.Title("Scenarios compared"))
    first, last = scenarios["first_month"].min(), scenarios["last_month"].max()
    window = "" if pd.isna(first) else f", {first:%Y-%m} to {last:%Y-%m}"
    title = alt.Title(
        "Scenarios compared",
        subtitle=f"Revenue against budget (over the budgeted months), the busiest "
        f"resource-month and the demand held back (1 - fill rate){window}",
    )
    extra = [c for c in ("fill_rate", "service_level", "cost") if c in scenarios.columns]
    data = scenarios.loc[:, columns + extra].drop(columns=["first_month", "last_month"])
    no_hours = np.isposinf(data["peak_utilisation"])
    data = _without_infinity(data)
    data["budget_label"] = [
        NA_TEXT if pd.isna(v) else f"{v:+.1f} %" for v in data["revenue_vs_budget_pct"]
    ]
    data["peak_label"] = np.where(
        no_hours,
        "no hours",
        [NA_TEXT if pd.isna(v) else f"{100 * v:.0f} %" for v in data["peak_utilisation"]],
    )
    data["budget_side"] = np.where(data["revenue_vs_budget_pct"] < 0, "below", "above")
    data["peak_side"] = np.where(no_hours | (data["peak_utilisation"] > 1), "above", "below")
    order = [
        *[s for s in data["scenario"] if s == "baseline"],
        *[s for s in data["scenario"] if s != "baseline"],
    ]
    y = alt.Y("scenario:N", title=None, sort=order)
    tooltip = [
        alt.Tooltip("scenario:N"),
        alt.Tooltip("revenue:Q", format=",.0f"),
        alt.Tooltip("budget_revenue:Q", title="budget", format=",.0f"),
        alt.Tooltip("budget_label:N", title="against budget"),
        alt.Tooltip("margin_pct:Q", title="margin %", format=".1f"),
        alt.Tooltip("peak_label:N", title="peak utilisation"),
        alt.Tooltip("overloaded_resource_months:Q", title="overloaded resource-months"),
        *[alt.Tooltip(f"{c}:Q", format=".1%") for c in extra if c != "cost"],
        *[alt.Tooltip("cost:Q", format=",.0f") for c in extra if c == "cost"],
    ]
    fill = "fill_rate" in data.columns
    if fill:  # the share held back shows the differences a fill rate near 100 % hides
        data["held_back"] = 1.0 - data["fill_rate"]
        data["held_label"] = [
            NA_TEXT if pd.isna(v) else f"{100 * v:.1f} %" for v in data["held_back"]
        ]
        data["held_side"] = "above"
    half = (WIDTH - 60) // (3 if fill else 2)
    records = alt.Data(values=_records(data))

    def panel(field: str, side: str, label: str, rule_at: float, colours: list[str], x: alt.X):
        base = alt.Chart().encode(y=y)
        bars = base.mark_bar().encode(
            x=x,
            color=alt.Color(
                f"{side}:N", scale=alt.Scale(domain=["above", "below"], range=colours), legend=None
            ),
            tooltip=tooltip,
        )
        # A label right of its bar; a negative bar's right of zero, where there is room.
        text = base.mark_text(align="left", dx=4).encode(text=f"{label}:N")
        right = text.encode(x=alt.X(f"{field}:Q")).transform_filter(f"!(datum.{field} < 0)")
        left = text.encode(x=alt.datum(0)).transform_filter(f"datum.{field} < 0")
        rule = alt.Chart(alt.Data(values=[{"at": rule_at}])).mark_rule(color="#555555")
        return alt.layer(bars, right, left, rule.encode(x="at:Q"), data=records).properties(
            width=half, height=alt.Step(30)
        )

    budget = panel(
        "revenue_vs_budget_pct",
        "budget_side",
        "budget_label",
        0.0,
        ["#2ca02c", "#d62728"],
        alt.X(
            "revenue_vs_budget_pct:Q",
            title="Revenue against budget",
            axis=alt.Axis(labelExpr="datum.value + ' %'"),
        ),
    )
    peak = panel(
        "peak_utilisation",
        "peak_side",
        "peak_label",
        1.0,
        ["#d62728", "#1f77b4"],
        alt.X("peak_utilisation:Q", title="Peak utilisation", axis=alt.Axis(format="%")),
    )
    panels = [budget, peak]
    if fill:
        panels.append(
            panel(
                "held_back", "held_side", "held_label", 0.0, ["#ff7f0e", "#ff7f0e"],
                alt.X("held_back:Q", title="Demand not shipped in the month asked",
                      axis=alt.Axis(format="%")),
            )
        )  # fmt: skip
    # Each panel has its own colours for above and below its line.
    return alt.hconcat(*panels, title=title, spacing=40).resolve_scale(color="independent")


#: the steps of the variance waterfall, from the budget to the plan's revenue
WATERFALL_STEPS = ("volume", "mix", "price", "constraint")


def variance_waterfall(summary: pd.DataFrame) -> alt.Chart:
    """Budget to planned revenue in steps: volume, mix, price and supply constraint.

    Parameters
    ----------
    summary : pd.DataFrame
        :func:`sopkit.finance.variance_summary` (its total row is drawn).

    Returns
    -------
    alt.Chart
        Bars from the budget to the revenue, each step floating from where the one before
        ended: green up, red down; budget and revenue grey, from 0.
    """
    require_columns(summary, "variance summary", ["level", "budget_revenue", "revenue",
                                                   *WATERFALL_STEPS])  # fmt: skip
    name = "From budget to planned revenue"
    total = summary.loc[summary["level"] == "total"]
    if total.empty or not np.isfinite(total["budget_revenue"].iloc[0]):
        return _no_data(alt.Title(name), "No budget over the plan's months")
    row = total.iloc[0]
    bars, level = [], float(row["budget_revenue"])
    bars.append({"step": "budget", "start": 0.0, "end": level, "amount": level, "kind": "total"})
    for step in WATERFALL_STEPS:
        amount = float(row[step])
        kind = "up" if amount >= 0 else "down"
        bars.append({"step": step, "start": level, "end": level + amount, "amount": amount,
                     "kind": kind})  # fmt: skip
        level += amount
    bars.append({"step": "plan revenue", "start": 0.0, "end": level, "amount": level,
                 "kind": "total"})  # fmt: skip
    return _waterfall(bars, name, "Revenue")


def plan_tracking_chart(summary: pd.DataFrame) -> alt.HConcatChart | alt.Chart:
    """Earlier plans against what happened: forecast bias and plan attainment by family.

    Parameters
    ----------
    summary : pd.DataFrame
        :func:`sopkit.tracking.tracking_summary` (lag, family, bias, attainment).

    Returns
    -------
    alt.HConcatChart
        Two bar charts, one bar per family and lag: the bias of the planned demand
        (positive: planned too much) and the attainment of planned shipments (1: shipped
        what was planned).
    """
    require_columns(summary, "tracking summary", ["lag", "family", "bias", "attainment"])
    name = "Earlier plans against what happened"
    if summary.empty:
        return _no_data(alt.Title(name), "No earlier plan has reached a month with actuals yet")
    data = summary[["lag", "family", "bias", "attainment", "wape"]].copy()
    data["lag"] = "lag " + data["lag"].astype(str)
    values = _records(_without_infinity(data))
    base = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        y=alt.Y("family:N", title=None),
        yOffset="lag:N",
        color=alt.Color("lag:N", title="Lag"),
        tooltip=["family:N", "lag:N", alt.Tooltip("bias:Q", format=".1%"),
                 alt.Tooltip("wape:Q", format=".1%"), alt.Tooltip("attainment:Q", format=".1%")],
    )  # fmt: skip
    bias = base.encode(x=alt.X("bias:Q", title="Demand bias", axis=alt.Axis(format="%")))
    attain = base.encode(
        x=alt.X("attainment:Q", title="Shipments attained", axis=alt.Axis(format="%"))
    )
    return alt.hconcat(
        bias.properties(width=WIDTH // 2 - 40), attain.properties(width=WIDTH // 2 - 40),
        title=name,
    )  # fmt: skip


def plan_change_waterfall(changes: pd.DataFrame, value: str = "revenue") -> alt.Chart:
    """The change since the previous cycle as a waterfall, from its plan to this one.

    Parameters
    ----------
    changes : pd.DataFrame
        The ``plan_changes`` artifact (:func:`sopkit.tracking.plan_changes`); its total rows
        are drawn.
    value : {"revenue", "units"}, default "revenue"
        What the bars measure.

    Returns
    -------
    alt.Chart
        The previous and current plans as grey bars from 0, each part floating from where
        the one before ended, green up and red down.
    """
    require_columns(changes, "plan_changes", ["level", "part", value])
    name = f"Why the plan's {value} changed since the previous cycle"
    total = changes.loc[changes["level"] == "total"]
    if total.empty:
        return _no_data(alt.Title(name), "No earlier plan shares a month with this one")
    bars, level = [], 0.0
    for part, amount in zip(total["part"], total[value].astype(float), strict=True):
        if part in ("previous plan", "current plan"):
            bars.append({"step": part, "start": 0.0, "end": amount, "amount": amount,
                         "kind": "total"})  # fmt: skip
            level = amount
            continue
        bars.append({"step": part, "start": level, "end": level + amount, "amount": amount,
                     "kind": "up" if amount >= 0 else "down"})  # fmt: skip
        level += amount
    return _waterfall(bars, name, value.capitalize())


def _waterfall(bars: list[dict], name: str, axis: str) -> alt.Chart:
    order = [b["step"] for b in bars]
    colours = alt.Scale(domain=["total", "up", "down"], range=["#888888", "#2a9d55", "#c0392b"])
    return (
        alt.Chart(alt.Data(values=bars), title=name, width=WIDTH)
        .mark_bar()
        .encode(
            x=alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("start:Q", title=axis),
            y2="end:Q",
            color=alt.Color("kind:N", scale=colours, legend=None),
            tooltip=[alt.Tooltip("step:N"), alt.Tooltip("amount:Q", format=",.0f")],
        )
    )
