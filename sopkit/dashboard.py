"""The executive dashboard's live panels: scenario inputs that re-plan, and the decision.

:class:`ScenarioPanel` holds ipywidgets for the changes an executive asks about (demand
by family, capacity by resource, overtime, prices, a material shortage). Every change
re-plans through :func:`sopkit.scenarios.replan` (the supply model re-solved through its
Parameters, never rebuilt) and redraws the KPI cards and the revenue chart in place,
each figure beside the cycle's plan. A change the scenario schema refuses, or a plan
that fails, shows its message in the panel; nothing raises into the page.

:class:`DecisionPanel` records approve, reject or request changes, with the person and a
comment, in the decision log (:mod:`sopkit.decisions`) for the cycle's plan or for the
scenario shown (promoting it), and lists the cycle's decisions.

The stage 5 notebook only places them (:func:`executive_panels`); they work in
JupyterLab and in Voila (``sop serve``) alike.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import altair as alt
import ipywidgets as w
import numpy as np
import pandas as pd
from IPython.display import display

from sopkit.config import Scenario
from sopkit.decisions import WHAT_IF, DecisionLog, plan_hash, scenario_plan_hash
from sopkit.errors import SopError
from sopkit.scenarios import Plan, PlanInputs, describe_inputs, replan, validate_scenario

__all__ = [
    "CARD_FIGURES",
    "DecisionPanel",
    "ScenarioPanel",
    "StageReports",
    "executive_panels",
]

#: the figures of the what-if cards: key of Plan.summary -> (label, unit)
CARD_FIGURES = {
    "revenue": ("Planned revenue", "currency"),
    "revenue_vs_budget_pct": ("Revenue against budget", "points"),
    "margin": ("Margin", "currency"),
    "margin_pct": ("Margin %", "percent"),
    "margin_vs_budget_pct": ("Margin against budget", "points"),
    "service_level": ("Service level (projected)", "share"),
    "fill_rate": ("Fill rate (projected)", "share"),
    "inventory_value": ("Stock value, end of window", "currency"),
    "peak_utilisation": ("Peak capacity use", "share"),
}
_SLIDER = {
    "continuous_update": False,
    "readout_format": "+.0f",
    "style": {"description_width": "110px"},
    "layout": {"width": "440px"},
}


def _number(value: float, unit: str) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    if unit == "currency":
        return f"{value:,.0f}"
    if unit == "share":
        return f"{100 * value:.1f} %"
    if unit == "percent":
        return f"{value:.1f} %"
    return f"{value:+.1f} %" if unit == "points" else f"{value:,.1f}"


def _delta(now: float, base: float, unit: str) -> str:
    if not (np.isfinite(now) and np.isfinite(base)):
        return ""
    diff = now - base
    if abs(diff) < 1e-9 * max(1.0, abs(base)):
        return "as planned"
    if unit == "currency":
        return f"{diff:+,.0f} against the plan"
    if unit == "share":
        return f"{100 * diff:+.1f} points against the plan"
    return f"{diff:+.1f} points against the plan"


class ScenarioPanel:
    """Scenario inputs as widgets; every change re-plans and redraws the cards and chart.

    Parameters
    ----------
    inputs : PlanInputs
        The cycle's demand plan and input tables (``PlanInputs.from_context(ctx)``).
    base : sopkit.config.Scenario or mapping, optional
        The cycle's scenario: the plan the what-if is compared with, and the starting
        point of the inputs.
    months : int, default 12
        The summary window of the figures (``finance.summary_months``).

    Attributes
    ----------
    demand, capacity : dict of str to ipywidgets.FloatSlider
        Demand change % by family, capacity change % by resource.
    overtime : ipywidgets.Checkbox
    price : ipywidgets.FloatSlider
    material : ipywidgets.Dropdown
        The material of the shortage (the limited ones), or none.
    shortage : ipywidgets.FloatSlider
        How much less of it the suppliers deliver, %.
    cards, message : ipywidgets.HTML
    chart : ipywidgets.Output
    widget : ipywidgets.Widget
        The whole panel, to display.
    plan, base_plan : Plan
        The what-if shown, and the cycle's plan.
    last_seconds : float
        How long the last re-plan and redraw took.
    """

    def __init__(
        self, inputs: PlanInputs, base: Scenario | Mapping | None = None, *, months: int = 12
    ) -> None:
        self.inputs = inputs
        self.base = validate_scenario(base)
        self.months = int(months)
        self.base_plan = replan(inputs, self.base, name="plan")
        self.base_summary = self.base_plan.summary(self.months)
        self.plan: Plan = self.base_plan
        self.summary = self.base_summary
        self.last_seconds = 0.0
        families = sorted(inputs.products["family"].dropna().astype(str).unique())
        resources = sorted(inputs.resources["resource"].dropna().astype(str).unique())
        limited = inputs.material_supply.dropna(subset=["max_qty"])["material"]
        materials = sorted(limited.astype(str).unique())
        self.demand = {
            f: w.FloatSlider(value=0, min=-50, max=100, step=1, description=f, **_SLIDER)
            for f in families
        }
        self.capacity = {
            r: w.FloatSlider(value=0, min=-100, max=50, step=1, description=r, **_SLIDER)
            for r in resources
        }
        self.overtime = w.Checkbox(value=bool(self.base.overtime_allowed),
                                   description="Overtime allowed")  # fmt: skip
        self.price = w.FloatSlider(value=0, min=-30, max=30, step=0.5, description="Prices %",
                                   **_SLIDER)  # fmt: skip
        self.material = w.Dropdown(options=["(none)", *materials], value="(none)",
                                   description="Material short",
                                   style={"description_width": "110px"})  # fmt: skip
        self.shortage = w.FloatSlider(value=0, min=0, max=100, step=1,
                                      description="Shortage %", **_SLIDER)  # fmt: skip
        self.reset = w.Button(description="Back to the plan", icon="undo")
        self.message = w.HTML()
        self.cards = w.HTML()
        self.chart = w.Output()
        for control in self._controls():
            control.observe(self._changed, names="value")
        self.reset.on_click(lambda _: self.back_to_plan())
        self.widget = w.VBox(
            [
                w.HTML("<b>Demand change % by family</b>"),
                w.HBox([w.VBox(list(self.demand.values()))]),
                w.HTML("<b>Capacity change % by resource</b>"),
                w.VBox(list(self.capacity.values())),
                w.HBox([self.overtime, self.price]),
                w.HBox([self.material, self.shortage]),
                self.reset,
                self.message,
                self.cards,
                self.chart,
            ]
        )
        self._redraw()

    def _controls(self) -> list[w.ValueWidget]:
        return [*self.demand.values(), *self.capacity.values(), self.overtime, self.price,
                self.material, self.shortage]  # fmt: skip

    def scenario(self) -> dict[str, Any]:
        """The scenario the widgets describe: the cycle's scenario with their changes."""
        spec = self.base.changes()
        fam, res = spec["family_demand_change_pct"], spec["resource_capacity_change_pct"]
        for name, slider in self.demand.items():  # on top of the cycle's own change
            if slider.value:
                fam[name] = fam.get(name, spec["demand_change_pct"]) + float(slider.value)
        for name, slider in self.capacity.items():
            if slider.value:
                res[name] = res.get(name, spec["capacity_change_pct"]) + float(slider.value)
        spec["overtime_allowed"] = bool(self.overtime.value)
        spec["price_change_pct"] = spec["price_change_pct"] + float(self.price.value)
        if self.material.value != "(none)" and self.shortage.value:
            spec["material_supplier_change_pct"] = {
                **spec["material_supplier_change_pct"],
                self.material.value: -float(self.shortage.value),
            }
        return spec

    def _changed(self, _change: dict) -> None:
        self.update()

    def update(self) -> bool:
        """Re-plan with the widgets' scenario and redraw; False (and a message) if refused."""
        start = time.perf_counter()
        try:
            spec = validate_scenario(self.scenario(), "what-if")
            plan = replan(self.inputs, spec, name="what-if")
            summary = plan.summary(self.months)
        except SopError as exc:  # ConfigError too: a refused value, said in the panel
            self.message.value = (
                '<div style="color:#a61b1b" data-role="error">The change was not planned: '
                f"{html.escape(str(exc))}</div>"
            )
            return False
        self.plan, self.summary = plan, summary
        self.message.value = ""
        self._redraw()
        self.last_seconds = time.perf_counter() - start
        return True

    def back_to_plan(self) -> None:
        """Every input back to the cycle's plan (one re-plan, not one per widget)."""
        controls = self._controls()
        for c in controls:
            c.unobserve(self._changed, names="value")
        try:
            for s in [*self.demand.values(), *self.capacity.values()]:
                s.value = 0
            self.price.value, self.shortage.value = 0, 0
            self.material.value = "(none)"
            self.overtime.value = bool(self.base.overtime_allowed)
        finally:
            for c in controls:
                c.observe(self._changed, names="value")
        self.update()

    def inputs_text(self) -> str:
        """The what-if's changes in words (``describe_inputs``)."""
        return describe_inputs(self.scenario())

    def _redraw(self) -> None:
        cards = []
        for key, (label, unit) in CARD_FIGURES.items():
            now, base = float(self.summary[key]), float(self.base_summary[key])
            cards.append(
                f'<div data-kpi="{key}" data-value="{now!r}" style="border:1px solid #ddd;'
                "border-radius:6px;padding:8px 10px;width:170px;font-family:sans-serif;"
                'background:#fafafa"><div style="font-size:12px;font-weight:bold;color:#333">'
                f'{html.escape(label)}</div><div style="font-size:20px;font-weight:bold;'
                f'margin:4px 0" class="value">{_number(now, unit)}</div>'
                f'<div style="font-size:11px;color:#666" class="delta">'
                f"{html.escape(_delta(now, base, unit))}</div></div>"
            )
        window = f"{self.summary['first_month']:%Y-%m} to {self.summary['last_month']:%Y-%m}"
        self.cards.value = (
            f'<div style="font-size:12px;color:#52606d">What-if: '
            f"{html.escape(self.inputs_text())}; {window}</div>"
            '<div style="display:flex;flex-wrap:wrap;gap:8px">' + "".join(cards) + "</div>"
        )
        self.chart.clear_output(wait=True)
        with self.chart:
            display(revenue_chart(self.base_plan.financials, self.plan.financials))


def revenue_chart(plan: pd.DataFrame, what_if: pd.DataFrame) -> alt.Chart:
    """Revenue per month, all families: the cycle's plan and the what-if."""
    rows = []
    for label, fin in (("plan", plan), ("what-if", what_if)):
        monthly = fin.groupby("month", as_index=False)["revenue"].sum()
        rows += [{"series": label, "month": f"{m:%Y-%m}", "revenue": float(r)}
                 for m, r in zip(monthly["month"], monthly["revenue"], strict=True)]  # fmt: skip
    return (
        alt.Chart(alt.Data(values=rows), title="Revenue per month: plan and what-if", width=560)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("revenue:Q", title="Revenue"),
            color=alt.Color("series:N", title=None),
            strokeDash=alt.StrokeDash("series:N", title=None),
            tooltip=["series:N", "month:O", alt.Tooltip("revenue:Q", format=",.0f")],
        )
    )


class DecisionPanel:
    """Approve, reject or request changes for the cycle's plan or the scenario shown.

    Parameters
    ----------
    log : DecisionLog
        Where decisions go.
    cycle : str
        The cycle, ``YYYY-MM``.
    plan : Plan
        The cycle's plan (its scenario's name is ``plan_scenario``).
    plan_scenario : str
        The name of the cycle's scenario.
    shown : callable, optional
        Returns the scenario shown beside the plan: ``(plan, inputs_text)`` or None
        (the :class:`ScenarioPanel`'s what-if).
    plan_digest : str, optional
        The hash of the cycle's plan (:func:`sopkit.decisions.cycle_plan_hash`).
    on_record : callable, optional
        Called with the cycle's decision history after a decision is recorded.
    base_demand : pandas.DataFrame, optional
        The cycle's stage 2 demand plan: a what-if is then hashed as the cycle it would
        make once promoted (:func:`sopkit.decisions.scenario_plan_hash`).
    """

    def __init__(
        self,
        log: DecisionLog,
        cycle: str,
        plan: Plan,
        plan_scenario: str,
        shown: Callable[[], tuple[Plan, str] | None] | None = None,
        *,
        plan_digest: str | None = None,
        on_record: Callable[[pd.DataFrame], None] | None = None,
        base_demand: pd.DataFrame | None = None,
    ) -> None:
        self.log, self.cycle, self.plan, self.plan_scenario = log, cycle, plan, plan_scenario
        self.shown, self.on_record, self.base_demand = shown, on_record, base_demand
        self.plan_digest = plan_digest or plan_hash(*self._frames(plan))
        self.decision = w.ToggleButtons(
            options=[("Approve", "approve"), ("Reject", "reject"),
                     ("Request changes", "request_changes")],
            value="approve", description="Decision",
        )  # fmt: skip
        targets = [(f"the cycle's plan ({plan_scenario})", "plan")]
        if shown is not None:
            targets.append(("the what-if shown above", "what-if"))
        self.target = w.Dropdown(options=targets, value="plan", description="On")
        self.person = w.Text(description="Name", placeholder="who decides")
        self.comment = w.Textarea(description="Comment", placeholder="why")
        self.submit = w.Button(description="Record the decision", button_style="primary")
        self.status = w.HTML()
        self.history = w.HTML()
        self.submit.on_click(lambda _: self.record())
        self.widget = w.VBox([self.decision, self.target, self.person, self.comment,
                              self.submit, self.status, self.history])  # fmt: skip
        self.refresh()

    def record(self) -> dict | None:
        """Record the decision of the widgets; the row, or None (and a message) if refused."""
        scenario, inputs, digest = self.plan_scenario, "", self.plan_digest
        if self.target.value == "what-if" and self.shown is not None:
            shown = self.shown()
            if shown is not None:
                what_if, inputs = shown
                scenario = WHAT_IF
                digest = (
                    plan_hash(*self._frames(what_if))
                    if self.base_demand is None
                    else scenario_plan_hash(what_if, self.base_demand)
                )
        try:
            row = self.log.record(
                cycle=self.cycle, decision=self.decision.value, person=self.person.value,
                comment=self.comment.value, scenario=scenario, inputs=inputs,
                plan_hash=digest,
            )  # fmt: skip
        except SopError as exc:
            self.status.value = (
                f'<div style="color:#a61b1b" data-role="error">{html.escape(str(exc))}</div>'
            )
            return None
        promote = ""
        if scenario == WHAT_IF and row["decision"] == "approve":
            promote = (
                " To make the what-if the cycle's plan, run "
                f"<code>sop promote {row['id']}</code> in the workspace."
            )
        self.status.value = (
            f'<div style="color:#207227" data-role="recorded">Recorded: '
            f"{html.escape(row['decision'].replace('_', ' '))} by {html.escape(row['person'])}"
            f" at {row['decided_at']:%Y-%m-%d %H:%M} UTC.{promote}</div>"
        )
        self.comment.value = ""
        self.refresh()
        if self.on_record is not None:
            self.on_record(self.log.history(self.cycle))
        return row

    @staticmethod
    def _frames(plan: Plan) -> list[pd.DataFrame]:
        return [plan.demand_plan, plan.supply_plan, plan.financials]

    def refresh(self) -> None:
        """Redraw the cycle's decision history, newest first."""
        rows = self.log.history(self.cycle).iloc[::-1]
        if rows.empty:
            self.history.value = "<i>No decision on this cycle yet.</i>"
            return
        body = "".join(
            f"<tr><td>{r.id}</td><td>{r.decided_at:%Y-%m-%d %H:%M}</td>"
            f"<td>{html.escape(r.decision)}</td>"
            f"<td>{html.escape(r.person)}</td><td>{html.escape(r.scenario)}</td>"
            f"<td>{html.escape(r.comment)}</td></tr>"
            for r in rows.itertuples()
        )
        self.history.value = (
            '<table data-role="history"><tr><th>#</th><th>When (UTC)</th><th>Decision</th>'
            f"<th>By</th><th>Scenario</th><th>Comment</th></tr>{body}</table>"
        )


def executive_panels(
    ctx: Any, log: DecisionLog | None = None
) -> tuple[ScenarioPanel, DecisionPanel]:
    """The scenario and decision panels of a stage 5 context (``open_stage(...)``)."""
    from sopkit.decisions import cycle_plan_hash, workspace_log
    from sopkit.report import write_index

    inputs = PlanInputs.from_context(ctx)
    scenarios = ScenarioPanel(inputs, ctx.scenario, months=ctx.params.finance.summary_months)
    log = log or workspace_log(ctx.workspace)  # the workspace's, never the record's URL
    store = ctx.store

    def shown() -> tuple[Plan, str]:
        return scenarios.plan, json.dumps(scenarios.scenario(), sort_keys=True)

    def rewrite_index(history: pd.DataFrame) -> None:
        write_index(store, history)  # the cycle's index shows the decision at once

    decision = DecisionPanel(
        log, ctx.cycle_name, scenarios.base_plan, ctx.params.scenario, shown,
        plan_digest=cycle_plan_hash(store) if store.has("supply_plan") else None,
        on_record=rewrite_index, base_demand=inputs.demand_plan,
    )  # fmt: skip
    return scenarios, decision


class StageReports:
    """The cycle's other stages, selectable: each one's report as its run wrote it.

    A dropdown of the stages whose HTML report the cycle's manifest names; choosing one
    shows it below in a sandboxed frame (no script runs in it, it cannot reach the page).
    The reports hold no code. Stage 5 itself is the page.

    Parameters
    ----------
    store : sopkit.store.CycleStore
        The cycle shown.
    """

    def __init__(self, store: Any) -> None:
        from sopkit.store import STAGES

        self.store = store
        stages = store.read_manifest().get("stages", {})
        self.reports = {}
        for stage in STAGES[:-1]:
            name = stages.get(stage.id, {}).get("html")
            if name and (store.root / name).is_file():
                self.reports[f"{stage.number}. {stage.title}"] = store.root / name
        self.choice = w.Dropdown(
            options=["(choose a stage)", *self.reports], value="(choose a stage)",
            description="Stage report", style={"description_width": "110px"},
        )  # fmt: skip
        self.view = w.HTML()
        self.choice.observe(lambda _: self.show(), names="value")
        self.widget = w.VBox([self.choice, self.view])

    def show(self) -> None:
        """Show the chosen stage's report (nothing for the placeholder)."""
        path = self.reports.get(self.choice.value)
        if path is None:
            self.view.value = ""
            return
        page = html.escape(path.read_text(encoding="utf-8"), quote=True)
        self.view.value = (
            f'<iframe sandbox="" title="{html.escape(self.choice.value)}" data-role="report" '
            f'style="width:100%;height:900px;border:1px solid #ddd" srcdoc="{page}"></iframe>'
        )
