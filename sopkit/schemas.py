"""The artifact contract, once: every table a stage hands on, its columns, types and meaning.

The store checks each artifact against it when a stage writes it, the stage modules take
their column lists from it, the workbook takes its sheets from it, and the README's table
of artifacts is :func:`markdown_table` (a test compares them). Change an artifact here and
nowhere else.

Types (``Col.kind``): ``text`` (str, missing as None), ``month`` (first-of-month
``datetime64``), ``number`` (float; NaN where not defined), ``integer`` and ``bool``.
Fractions are 0.12 for 12 %; columns ending in ``_pct`` are already in percent (12.0).

Example
-------
>>> from sopkit.schemas import columns
>>> columns("materials")
['material', 'month', 'required', 'available', 'shortfall', 'unit_cost', 'shadow_price', 'binding']
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

TEXT, MONTH, NUMBER, INTEGER, BOOL = "text", "month", "number", "integer", "bool"


@dataclass(frozen=True)
class Col:
    """One column of an artifact: its name, kind and meaning."""

    name: str
    kind: str
    meaning: str


@dataclass(frozen=True)
class Artifact:
    """One artifact: what one row is, which stage writes it, and its columns in order."""

    name: str
    stage: str
    grain: str
    columns: tuple[Col, ...]
    workbook: bool = True

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return [c.name for c in self.columns]

    def problems(self, df: pd.DataFrame) -> list[str]:
        """What is wrong with ``df`` as this artifact: missing columns and wrong types."""
        out = []
        missing = [c for c in self.names if c not in df.columns]
        if missing:
            out.append(f"lacks the column(s) {', '.join(missing)}")
        for col in self.columns:
            if col.name in df.columns and not _fits(df[col.name], col.kind):
                out.append(f"column {col.name} holds {df[col.name].dtype}, expected {col.kind}")
        return out

    def empty(self) -> pd.DataFrame:
        """An empty frame with this artifact's columns and types."""
        return pd.DataFrame({c.name: pd.Series(dtype=_DTYPES[c.kind]) for c in self.columns})


_DTYPES = {
    TEXT: "object",
    MONTH: "datetime64[ns]",
    NUMBER: "float64",
    INTEGER: "int64",
    BOOL: "bool",
}


def _fits(s: pd.Series, kind: str) -> bool:
    api = pd.api.types
    if kind == MONTH:
        return api.is_datetime64_any_dtype(s)
    if kind == NUMBER:
        return api.is_numeric_dtype(s) and not api.is_bool_dtype(s)
    if kind == INTEGER:
        return api.is_integer_dtype(s)
    if kind == BOOL:
        return api.is_bool_dtype(s)
    # text: object or string columns; an all-missing column may come back as float
    return api.is_object_dtype(s) or api.is_string_dtype(s) or bool(s.isna().all())


def _a(name: str, stage: str, grain: str, *cols: tuple[str, str, str], workbook=True) -> Artifact:
    return Artifact(name, stage, grain, tuple(Col(*c) for c in cols), workbook)


_SKU = ("sku", TEXT, "the SKU")
_REGION = ("region", TEXT, "the sales region")
_MONTH = ("month", MONTH, "the plan month")
_FAMILY = ("family", TEXT, "the product family")

ARTIFACTS: dict[str, Artifact] = {
    a.name: a
    for a in (
        _a(
            "portfolio", "product_review", "one row per SKU, in ABC ranking order",
            _SKU,
            ("description", TEXT, "as in products"),
            _FAMILY,
            ("status", TEXT, "as in products (active, new, phase_out, discontinued)"),
            ("unit_price", NUMBER, "as in products"),
            ("unit_cost", NUMBER, "as in products"),
            ("units", NUMBER, "units sold in the review window (review_months before the cycle)"),
            ("units_prev", NUMBER, "units sold in as many months before the review window"),
            ("revenue", NUMBER, "units x unit_price, review window"),
            ("revenue_prev", NUMBER, "units_prev x unit_price"),
            ("margin", NUMBER, "units x (unit_price - unit_cost), review window"),
            ("margin_pct", NUMBER, "margin in percent of revenue"),
            ("revenue_growth", NUMBER, "revenue / revenue_prev - 1 (fraction)"),
            ("unit_growth", NUMBER, "units / units_prev - 1 (fraction)"),
            ("revenue_share", NUMBER, "share of the portfolio's revenue (fraction)"),
            ("cumulative_share", NUMBER, "running revenue_share in ABC order (fraction)"),
            ("abc", TEXT, "A, B or C by cumulative revenue share"),
            ("demand_cv", NUMBER, "coefficient of variation of monthly demand in the window"),
            ("xyz", TEXT, "X, Y or Z by demand_cv"),
            ("lifecycle", TEXT, "new, growth, mature, decline or end of life"),
            ("lifecycle_reason", TEXT, "the rule and figures that set the lifecycle"),
            ("months_since_launch", NUMBER, "months from launch_month to the cycle"),
            ("discontinue_candidate", BOOL, "flagged for the portfolio meeting to confirm"),
            ("discontinue_reason", TEXT, "the discontinue rules that fired, with their figures"),
            ("watch_new", BOOL, "a new item to watch"),
        ),
        _a(
            "forecast", "demand_planning", "one row per SKU x region x plan month",
            _SKU, _REGION, _MONTH,
            ("model", TEXT, "the model (or fallback) that made the forecast"),
            ("yhat", NUMBER, "the point forecast, units"),
            ("yhat_lo_80", NUMBER, "lower bound of the 80 % prediction interval"),
            ("yhat_hi_80", NUMBER, "upper bound of the 80 % prediction interval"),
            ("yhat_lo_95", NUMBER, "lower bound of the 95 % prediction interval"),
            ("yhat_hi_95", NUMBER, "upper bound of the 95 % prediction interval"),
            workbook=False,
        ),
        _a(
            "forecast_models", "demand_planning", "one row per run x SKU x region series",
            (
                "run", TEXT,
                "forecast (the plan's) or backtest (the accuracy test's, made at its origin)",
            ),
            _SKU, _REGION,
            (
                "n_months", INTEGER,
                "months of history, first row to the month before the cycle (a new item: "
                "from its launch_month)",
            ),
            (
                "demand_class", TEXT,
                "smooth, erratic, intermittent, lumpy (Syntetos-Boylan), zero, constant, or "
                "new (a new item planned from its like_sku or its family)",
            ),
            ("adi", NUMBER, "average demand interval: months / months with sales"),
            ("cv2", NUMBER, "squared coefficient of variation of the non-zero months"),
            ("model", TEXT, "the model or combination (a+b: their mean) that made the forecast"),
            (
                "selected_by", TEXT,
                "backtest (the best of the candidates), warm start (an earlier cycle's choice, "
                "still as good) or rule (see reason)",
            ),
            (
                "age", INTEGER,
                "cycles since the forms were searched (0: now); after 6 (the engine's "
                "reselect_after) every candidate is searched anew",
            ),
            ("n_windows", INTEGER, "backtest origins scored (0 for a rule)"),
            ("mase", NUMBER, "the model's backtest error, scaled (MASE)"),
            ("mase_seasonal_naive", NUMBER, "seasonal naive's backtest error, scaled (MASE)"),
            (
                "relative_mae", NUMBER,
                "the model's backtest MAE over seasonal naive's (below 1: better)",
            ),
            ("gaps_filled", INTEGER, "months without a row counted as 0 sold"),
            ("spikes_replaced", INTEGER, "months replaced as spikes before fitting"),
            (
                "form", TEXT,
                "what the searches chose, as JSON: ETS components, ARIMA orders [p, d, q, P, "
                "D, Q, mean, drift]; a warm start re-estimates these instead of searching",
            ),
            ("reason", TEXT, "why this model: the rule, failures, notes"),
            workbook=False,
        ),
        _a(
            "forecast_levels", "demand_planning",
            "one row per node of the hierarchy (every level) x plan month",
            (
                "level", TEXT,
                "total, family, region, family_region, sku or sku_region (the plan's level)",
            ),
            ("family", TEXT, "the family (at levels family, family_region; else empty)"),
            ("region", TEXT, "the region (at levels region, family_region, sku_region)"),
            ("sku", TEXT, "the SKU (at levels sku, sku_region)"),
            _MONTH,
            ("yhat", NUMBER, "the reconciled forecast: every level the sum of its SKU x regions"),
            ("yhat_lo_80", NUMBER, "lower bound of the 80 % interval (the node's own spread)"),
            ("yhat_hi_80", NUMBER, "upper bound of the 80 % interval"),
            ("yhat_lo_95", NUMBER, "lower bound of the 95 % interval"),
            ("yhat_hi_95", NUMBER, "upper bound of the 95 % interval"),
            (
                "base_yhat", NUMBER,
                "the node's own forecast before reconciliation (its SKU x regions' sum where "
                "it has no history of its own)",
            ),
            workbook=False,
        ),
        _a(
            "level_models", "demand_planning",
            "one row per run x node above SKU x region (total, family, region, ...)",
            ("run", TEXT, "forecast (the plan's) or backtest (made at the backtest origin)"),
            ("node", TEXT, "the node's name: total, family:F, family_region:F/North, sku:A-1"),
            ("level", TEXT, "total, family, region, family_region or sku"),
            ("family", TEXT, "the family (at levels family, family_region)"),
            ("region", TEXT, "the region (at levels region, family_region)"),
            ("sku", TEXT, "the SKU (at level sku)"),
            ("n_months", INTEGER, "months of the node's summed history"),
            ("demand_class", TEXT, "as in forecast_models"),
            ("model", TEXT, "the model or combination of the node's own forecast"),
            ("selected_by", TEXT, "backtest, warm start or rule, as in forecast_models"),
            ("age", INTEGER, "cycles since the forms were searched (0: now)"),
            ("n_windows", INTEGER, "backtest origins scored (0 for a rule)"),
            ("mase", NUMBER, "the model's backtest error, scaled (MASE)"),
            ("mase_seasonal_naive", NUMBER, "seasonal naive's backtest error, scaled"),
            ("relative_mae", NUMBER, "the model's backtest MAE over seasonal naive's"),
            ("form", TEXT, "what the searches chose (JSON), as in forecast_models"),
            ("reason", TEXT, "why this model"),
            workbook=False,
        ),
        _a(
            "accuracy", "demand_planning", "one row per model x level x key x lag",
            ("model", TEXT, "the forecasting model measured"),
            ("level", TEXT, "total, family, sku or sku_region: what the errors are summed over"),
            ("key", TEXT, "Total, the family, the SKU, or SKU / region (A-102 / North)"),
            ("family", TEXT, "the family of the key (empty at level total)"),
            ("lag", INTEGER, "months ahead, 1 = the first month forecast"),
            ("actual", NUMBER, "units sold"),
            ("forecast", NUMBER, "units forecast"),
            ("abs_error", NUMBER, "|forecast - actual| at the key's level"),
            ("wape", NUMBER, "abs_error / actual (fraction; NaN when actual is 0)"),
            ("bias", NUMBER, "(forecast - actual) / actual; positive = over-forecast"),
            ("mape", NUMBER, "mean |error| / actual over the key's SKU x region series"),
            (
                "mase", NUMBER,
                "abs_error / the mean |seasonal difference| (lag season_length) of the key's "
                "own series (at total, family, sku: its series summed) before the backtest "
                "origin; below 1: better than seasonal naive in-sample; NaN without a scale",
            ),
            (
                "coverage_80", NUMBER,
                "share of the key's SKU x region series whose actual fell inside their 80 % "
                "interval (fraction; bounds are never summed)",
            ),
            (
                "coverage_95", NUMBER,
                "share of the key's SKU x region series whose actual fell inside their 95 % "
                "interval (fraction)",
            ),
            workbook=False,
        ),
        _a(
            "demand_plan", "demand_planning", "one row per SKU x region x plan month",
            _SKU, _REGION, _MONTH,
            ("statistical", NUMBER, "the statistical forecast (yhat), units"),
            ("adjustment", NUMBER, "units added by inputs and rules: the effects in adjustments"),
            ("consensus", NUMBER, "max(0, statistical + adjustment): the demand plan, units"),
            ("adjustment_reason", TEXT, "why the plan differs from the forecast"),
        ),
        _a(
            "adjustments", "demand_planning",
            "one row per adjustment x SKU x region x plan month it touched",
            _SKU, _REGION, _MONTH,
            ("source", TEXT, "sales_inputs (an input of sales or marketing) or rule (sopkit's)"),
            ("input", INTEGER, "the input's position in sales_inputs (0 = first); empty for rules"),
            ("author", TEXT, "the input's author; sopkit for planning rules"),
            ("kind", TEXT, "pct, abs or end_of_life"),
            ("value", NUMBER, "the input's value as given (percent or units); empty for rules"),
            ("effect", NUMBER, "units it changed on this row; they sum to demand_plan adjustment"),
            ("reason", TEXT, "the input's reason; for rules, end of life YYYY-MM or discontinued"),
        ),
        _a(
            "reconciliation_accuracy", "demand_planning",
            "one row per reconciliation method x level (and its mean over the levels)",
            ("method", TEXT, "mint_shrink, bottom_up or top_down"),
            (
                "level", TEXT,
                "total, family, region, family_region, sku, sku_region, or mean (of the "
                "levels' WAPEs)",
            ),
            ("nodes", NUMBER, "nodes of the level scored"),
            ("actual", NUMBER, "units sold over the backtest months, summed over the nodes"),
            ("forecast", NUMBER, "units forecast at the backtest origin, reconciled"),
            ("abs_error", NUMBER, "sum over nodes and months of |forecast - actual|"),
            ("wape", NUMBER, "abs_error / actual (fraction)"),
            ("bias", NUMBER, "(forecast - actual) / actual; positive = over-forecast"),
            ("best", BOOL, "the method with the lowest mean WAPE over the levels"),
            ("used", BOOL, "the method of this cycle's plan (demand.reconciliation)"),
        ),
        _a(
            "supply_plan", "supply_planning", "one row per SKU x plan month",
            _SKU, _MONTH,
            ("demand", NUMBER, "consensus demand, all regions, units"),
            (
                "shipments", NUMBER,
                "units shipped: demand + backlog carried in - backlog carried out (finance "
                "values these)",
            ),
            ("production", NUMBER, "units made in house"),
            ("overtime_hours", NUMBER, "overtime hours attributed to the SKU"),
            ("subcontract", NUMBER, "units bought from subcontractors"),
            ("inventory", NUMBER, "stock at the end of the month, units"),
            ("backlog", NUMBER, "demand not yet met at the end of the month, units"),
            ("lost", NUMBER, "demand not met and lost this month (supply.unmet: lost), units"),
            ("safety_stock", NUMBER, "the safety-stock target at the end of the month, units"),
            ("safety_shortfall", NUMBER, "end-of-month stock below the safety-stock target"),
            (
                "unmet_reason", TEXT,
                "why demand is backlogged or lost: the resource or material that binds "
                "(largest value), or cost (serving it costs more than it earns); empty when "
                "all is served",
            ),
        ),
        _a(
            "capacity", "supply_planning", "one row per resource x plan month",
            ("resource", TEXT, "the resource"),
            _MONTH,
            ("available_hours", NUMBER, "regular hours available"),
            ("max_overtime_hours", NUMBER, "overtime hours allowed"),
            ("required_hours", NUMBER, "hours the production plan needs"),
            ("utilisation", NUMBER, "required / available hours (fraction; NaN without hours)"),
            ("overload_hours", NUMBER, "required hours above the regular hours"),
            (
                "shortfall_hours", NUMBER,
                "hours the demand this resource held back would need (beyond regular plus "
                "overtime)",
            ),
            ("status", TEXT, "ok, tight (above 85 %), overtime or short (it held demand back)"),
            (
                "shadow_price", NUMBER,
                "what one more regular hour is worth, net of its cost, in money (0: not binding)",
            ),
            ("regular_used", NUMBER, "regular hours the plan uses"),
            ("overtime_used", NUMBER, "overtime hours the plan uses"),
            ("shadow_price_overtime", NUMBER, "what one more overtime hour is worth, net of cost"),
            ("binding", BOOL, "regular hours used up and one more worth money (shadow_price > 0)"),
        ),
        _a(
            "materials", "supply_planning", "one row per material x plan month",
            ("material", TEXT, "the material"),
            _MONTH,
            ("required", NUMBER, "quantity the production plan consumes"),
            ("available", NUMBER, "what suppliers can deliver (NaN = no limit)"),
            ("shortfall", NUMBER, "what the demand this material held back would need"),
            ("unit_cost", NUMBER, "price per unit of material"),
            (
                "shadow_price", NUMBER,
                "what one more unit from suppliers is worth, net of its cost (0: not binding)",
            ),
            ("binding", BOOL, "supply used up and one more unit worth money"),
        ),
        _a(
            "supply_costs", "supply_planning", "one row per family x plan month",
            _FAMILY, _MONTH,
            ("holding", NUMBER, "stock held, at the holding cost a unit-month"),
            ("backlog", NUMBER, "backlog carried, at the backlog cost a unit-month"),
            ("lost", NUMBER, "lost sales (and backlog left at the end) at the lost-sale cost"),
            ("subcontract", NUMBER, "units subcontracted at their price"),
            ("overtime", NUMBER, "overtime hours at their cost, shared over SKUs by hours"),
            ("regular", NUMBER, "regular hours at their cost (0 unless supply costs them)"),
            ("materials", NUMBER, "materials consumed at their unit cost"),
            ("safety_stock", NUMBER, "penalty for stock below the safety-stock target"),
            ("ending", NUMBER, "penalty for stock below the ending target (last month)"),
            ("setup", NUMBER, "setup costs (minimum-run plans only)"),
            ("wages", NUMBER, "workers paid for all their hours, shared over SKUs by hours"),
            ("hiring", NUMBER, "workers hired, at the hire cost"),
            ("layoffs", NUMBER, "workers laid off, at the layoff cost"),
            ("total", NUMBER, "the sum: the supply model's objective, shared out"),
        ),
        _a(
            "workforce_plan", "supply_planning", "one row per workforce pool x plan month",
            ("pool", TEXT, "the resource its workers staff, or plant (every other resource)"),
            _MONTH,
            ("workers", NUMBER, "workers in the month (whole in the integer version)"),
            ("hired", NUMBER, "workers hired at the start of the month"),
            ("laid_off", NUMBER, "workers laid off at the start of the month"),
            ("hours_available", NUMBER, "workers x hours per worker"),
            ("hours_used", NUMBER, "regular hours of the pool's resources the plan uses"),
        ),
        _a(
            "financials", "reconciliation", "one row per family x plan month",
            _FAMILY, _MONTH,
            ("units", NUMBER, "units shipped (supply_plan shipments, not the consensus)"),
            ("revenue", NUMBER, "units x unit_price"),
            ("cogs", NUMBER, "cost of goods at standard: units x unit_cost"),
            ("overtime_cost", NUMBER, "overtime hours paid (the supply model's cost)"),
            (
                "subcontract_cost", NUMBER,
                "what bought-in units cost above their unit_cost (in cogs at standard)",
            ),
            ("workforce_cost", NUMBER, "hiring and layoffs"),
            ("holding_cost", NUMBER, "stock held, per unit-month"),
            (
                "cost_change", NUMBER,
                "what a scenario's price change of materials, regular hours or wages adds",
            ),
            ("cost", NUMBER, "cogs and the supply costs above"),
            ("margin", NUMBER, "revenue - cost"),
            ("margin_pct", NUMBER, "margin in percent of revenue"),
            ("lost_revenue", NUMBER, "lost units x unit_price: demand the plan gives up"),
            (
                "backlog_cost", NUMBER,
                "memo: the supply model's penalty for backlog carried (not paid, not in cost)",
            ),
            ("inventory_value", NUMBER, "end-of-month stock x unit_cost"),
            ("budget_revenue", NUMBER, "the budget (NaN where none is set)"),
            ("variance", NUMBER, "revenue - budget_revenue"),
            ("variance_pct", NUMBER, "variance in percent of budget_revenue"),
            ("budget_margin", NUMBER, "the budget's margin (NaN where none is set)"),
            ("margin_variance", NUMBER, "margin - budget_margin"),
        ),
        _a(
            "supply_gaps", "reconciliation",
            "one row per family x plan month where supply holds demand back",
            _FAMILY, _MONTH,
            ("demand", NUMBER, "units asked (the consensus, all regions)"),
            ("held_back", NUMBER, "units not shipped in the month asked: backlog added, or lost"),
            ("lost", NUMBER, "of which lost for good, units"),
            ("revenue_at_risk", NUMBER, "held_back x unit_price: late, or lost"),
            ("margin_at_risk", NUMBER, "held_back x (unit_price - unit_cost)"),
            ("lost_revenue", NUMBER, "lost x unit_price"),
            (
                "reason", TEXT,
                "the resource or material that binds for most of the units held back, or cost",
            ),
        ),
        _a(
            "budget_variance", "reconciliation", "one row per family x budgeted plan month",
            _FAMILY, _MONTH,
            ("budget_revenue", NUMBER, "the budget"),
            ("revenue", NUMBER, "revenue of the plan's shipments"),
            ("variance", NUMBER, "revenue - budget_revenue = volume + mix + price + constraint"),
            ("volume", NUMBER, "more or fewer units demanded than budgeted, at the budget's price"),
            ("mix", NUMBER, "those units in a dearer or cheaper family than the budget's average"),
            ("price", NUMBER, "shipments x the scenario's price change"),
            ("constraint", NUMBER, "shipments - demand at base prices: what supply holds back"),
        ),
        _a(
            "plan_tracking", "reconciliation",
            "one row per earlier cycle x family x month it planned that has passed",
            ("cycle", TEXT, "the earlier cycle (YYYY-MM) whose plan of record is measured"),
            ("lag", NUMBER, "months from that cycle to the month, plus 1 (1: its own month)"),
            _FAMILY, _MONTH,
            ("planned_demand", NUMBER, "the cycle's consensus, units"),
            ("actual_demand", NUMBER, "units sold (sales_history)"),
            ("planned_shipments", NUMBER, "the cycle's supply plan shipments, units"),
            (
                "actual_shipments", NUMBER,
                "units shipped (order lines by shipped month; sales before they start)",
            ),
            ("planned_revenue", NUMBER, "the cycle's financials revenue"),
            ("actual_revenue", NUMBER, "actual shipments x today's unit_price"),
        ),
        _a(
            "plan_changes", "reconciliation",
            "one row per family (and the total) x part of the change since the previous cycle",
            ("level", TEXT, "family, or total"),
            _FAMILY,
            (
                "part", TEXT,
                "previous plan, new actuals, forecast models, adjustments by <author> (and "
                "without an author's record), demand floor (or scenario demand), supply "
                "constraints, prices, current plan",
            ),
            ("units", NUMBER, "units shipped: the plan, or the part's change"),
            ("revenue", NUMBER, "revenue: the plan, or the part's change"),
            ("first_month", MONTH, "the first month both cycles plan"),
            ("last_month", MONTH, "the last month both cycles plan"),
        ),
        _a(
            "scenarios", "reconciliation", "one row per scenario",
            ("scenario", TEXT, "the scenario of scenarios.yaml"),
            ("inputs", TEXT, "the scenario's changes, written out (none: the plan as it stands)"),
            ("first_month", MONTH, "first month of the summary window (every figure's window)"),
            ("last_month", MONTH, "last month of the summary window (finance.summary_months)"),
            ("units", NUMBER, "units shipped over the window"),
            ("revenue", NUMBER, "revenue of the shipments over the window"),
            ("margin", NUMBER, "margin over the window"),
            ("margin_pct", NUMBER, "margin in percent of revenue (NaN without revenue)"),
            ("cost", NUMBER, "cost of goods and the supply costs over the window"),
            (
                "fill_rate", NUMBER,
                "units shipped in the month asked over units asked (fraction; NaN: no demand)",
            ),
            (
                "service_level", NUMBER,
                "share of SKU-months with demand served in full in the month asked (fraction)",
            ),
            ("inventory_value", NUMBER, "stock at standard cost at the end of the window"),
            ("budget_revenue", NUMBER, "budget over the window (NaN where none is set)"),
            (
                "revenue_vs_budget_pct", NUMBER,
                "revenue against budget over the budgeted family-months, in percent",
            ),
            ("budget_margin", NUMBER, "the budget's margin over the window (NaN where none)"),
            (
                "margin_vs_budget_pct", NUMBER,
                "margin against the budget's margin over the family-months that set one, in "
                "percent of it (NaN where that margin is 0 or a loss)",
            ),
            ("required_hours", NUMBER, "hours needed over the window"),
            ("available_hours", NUMBER, "regular hours over the window (NaN without resources)"),
            ("overload_hours", NUMBER, "hours above regular hours"),
            ("shortfall_hours", NUMBER, "hours above regular plus overtime hours"),
            (
                "peak_utilisation", NUMBER,
                "highest utilisation of any resource-month (fraction; inf: work without hours)",
            ),
            ("overloaded_resource_months", NUMBER, "resource-months above their regular hours"),
        ),
        _a(
            "kpis", "executive_review", "one row per headline KPI",
            ("kpi", TEXT, "the KPI's identifier"),
            ("label", TEXT, "its title on cards and tables"),
            ("value", NUMBER, "its value (NaN when it cannot be computed; see description)"),
            ("unit", TEXT, "ratio (fraction), percent, currency or count"),
            ("target", NUMBER, "its target, where there is one"),
            ("status", TEXT, "good, watch or bad against the target; empty without one"),
            ("description", TEXT, "how it is computed, over which window"),
        ),
    )
}  # fmt: skip


def columns(name: str) -> list[str]:
    """The column names of artifact ``name``, in order."""
    return ARTIFACTS[name].names


def markdown_table() -> str:
    """The artifacts as the README's table: artifact, grain, columns and their meaning."""
    lines = ["| artifact | one row per | column | meaning |", "|---|---|---|---|"]
    for a in ARTIFACTS.values():
        for i, c in enumerate(a.columns):
            head = f"`{a.name}`" if i == 0 else ""
            grain = a.grain.removeprefix("one row per ") if i == 0 else ""
            lines.append(f"| {head} | {grain} | {c.name} ({c.kind}) | {c.meaning} |")
    return "\n".join(lines)


__all__ = ["ARTIFACTS", "Artifact", "Col", "columns", "markdown_table"]
