"""Stage 5, executive review: service levels and the headline KPIs of the cycle.

Units of a KPI value (column ``unit`` of the ``kpis`` artifact):

- ``"ratio"``: a fraction, 0.912 is 91.2 % (otif, fill rate, accuracy, utilisation);
- ``"percent"``: already in percent, -3.4 is -3.4 % (the ``*_pct`` figures of finance);
- ``"currency"``: money in the currency of ``products.unit_price`` and ``budget``;
- ``"count"``: a number of things (resource-months).

Each KPI has one definition and one window, stated in its description: service over
the ``months`` before the cycle (:data:`SERVICE_MONTHS` by default), the plan's figures
over the summary window (the first ``finance.summary_months`` plan months), as
:func:`sopkit.scenarios.summarise_plan` computes them for the ``scenarios`` artifact too.
A KPI that cannot be computed honestly (no order lines, no budget, no capacity rows)
is NaN without a status, and its description says why.

Artifact
--------
``kpis`` (:data:`KPI_COLUMNS`), one row per headline KPI.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sopkit._checks import month_number, month_start, reject_duplicates, require_columns
from sopkit.demand import STATISTICAL, pooled_wape
from sopkit.errors import SopError
from sopkit.schemas import columns

SERVICE_COLUMNS = ["month", "lines", "otif", "on_time", "in_full", "fill_rate"]
KPI_COLUMNS = columns("kpis")
#: the short title of each KPI, for cards and tables
KPI_LABELS = {
    "otif": "OTIF",
    "fill_rate": "Fill rate",
    "forecast_accuracy": "Forecast accuracy",
    "planned_revenue": "Planned revenue",
    "revenue_vs_budget_pct": "Revenue against budget",
    "margin_pct": "Margin",
    "margin_vs_budget_pct": "Margin against budget",
    "peak_capacity_utilisation": "Peak capacity use",
    "overloaded_resource_months": "Overloaded resource-months",
    "inventory_value": "Inventory value",
    "forecast_bias": "Forecast bias",
    "projected_service_level": "Service level (plan)",
    "projected_fill_rate": "Fill rate (plan)",
    "days_of_supply": "Days of supply",
}
#: how many months before the cycle the service KPIs and the service chart score.
SERVICE_MONTHS = 12
#: service below target by at most this much (a fraction) is "watch", not "bad".
SERVICE_WATCH_BAND = 0.05
#: revenue below budget by at most this many percent is "watch", not "bad".
BUDGET_WATCH_PCT = -5.0
#: peak utilisation up to this is "good"; up to 1.0 (all regular hours) "watch".
UTILISATION_GOOD = 0.9
#: the figures of the plan a KPI reads: :func:`sopkit.scenarios.summarise_plan`'s keys
PLAN_KEYS = (
    "first_month",
    "last_month",
    "revenue",
    "margin_pct",
    "budget_revenue",
    "revenue_vs_budget_pct",
    "available_hours",
    "peak_utilisation",
    "overloaded_resource_months",
)
#: plan figures read when present (a scenarios table of an older cycle lacks them)
PLAN_SERVICE_KEYS = ("service_level", "fill_rate", "units")
#: plan figures of the budget's margin, read when present (older cycles lack them)
PLAN_MARGIN_KEYS = ("budget_margin", "margin_vs_budget_pct")
#: the words for a level of the ``accuracy`` artifact
_ACCURACY_LEVELS = {
    "sku_region": "SKU x region",
    "sku": "SKU",
    "family": "family",
    "total": "all products together",
}

_ORDER_COLUMNS = ["requested_date", "requested_qty", "shipped_date", "shipped_qty"]


def _scored_lines(
    order_lines: pd.DataFrame, cycle: pd.Timestamp | str, months: int
) -> pd.DataFrame:
    """The lines requested in the ``months`` months before the cycle, with their scores.

    Every such line is due before the cycle, so a line not shipped is a failure on
    each count and ships 0 units.
    """
    require_columns(order_lines, "order_lines", _ORDER_COLUMNS)
    if months < 1:
        raise SopError(f"months must be 1 or more (how many past months to score), got {months}.")
    end = month_start(cycle)
    start = end - pd.DateOffset(months=months)
    requested = order_lines["requested_date"]
    lines = order_lines.loc[(requested >= start) & (requested < end), _ORDER_COLUMNS]
    shipped = lines["shipped_qty"].fillna(0.0)
    on_time = lines["shipped_date"].notna() & (lines["shipped_date"] <= lines["requested_date"])
    in_full = lines["shipped_qty"].notna() & (shipped >= lines["requested_qty"])
    return pd.DataFrame(
        {
            "month": lines["requested_date"].dt.to_period("M").dt.to_timestamp(),
            "otif": (on_time & in_full).astype(float),
            "on_time": on_time.astype(float),
            "in_full": in_full.astype(float),
            "filled": np.minimum(shipped, lines["requested_qty"]),
            "requested": lines["requested_qty"].astype(float),
        }
    )


def service_levels(
    order_lines: pd.DataFrame, cycle: pd.Timestamp | str, months: int = SERVICE_MONTHS
) -> pd.DataFrame:
    """Score delivery per month of the requested date, over the months before the cycle.

    A line is on time when ``shipped_date <= requested_date`` and in full when
    ``shipped_qty >= requested_qty``. A line not shipped (its requested date is
    before the cycle) fails both. Lines requested on or after the cycle are not
    scored yet.

    Parameters
    ----------
    order_lines : pandas.DataFrame
        ``requested_date``, ``requested_qty``, ``shipped_date`` (NaT = not shipped),
        ``shipped_qty`` (NaN = not shipped).
    cycle : pandas.Timestamp or str
        The planning month, its first day (``pd.Timestamp("2026-11-01")`` or
        ``"2026-11"``); the window ends the day before it.
    months : int, default :data:`SERVICE_MONTHS` (12)
        How many months before the cycle to score.

    Returns
    -------
    pandas.DataFrame
        One row per month of the window, oldest first (a month without lines has
        ``lines == 0`` and NaN rates): month, lines, otif, on_time, in_full (shares
        of lines, fractions), fill_rate (units shipped, at most the units requested,
        over units requested).

    Raises
    ------
    SopError
        Missing columns, a cycle that is not the first day of a month, or ``months``
        below 1.
    """
    scored = _scored_lines(order_lines, cycle, months)
    end = month_start(cycle)
    window = pd.date_range(end - pd.DateOffset(months=months), periods=months, freq="MS")
    out = (
        scored.groupby("month")
        .agg(
            lines=("otif", "size"),
            otif=("otif", "mean"),
            on_time=("on_time", "mean"),
            in_full=("in_full", "mean"),
            filled=("filled", "sum"),
            requested=("requested", "sum"),
        )
        .reindex(pd.DatetimeIndex(window, name="month"))
    )
    out["lines"] = out["lines"].fillna(0).astype(int)
    out["fill_rate"] = (out["filled"] / out["requested"]).where(out["requested"] > 0)
    return out.reset_index()[SERVICE_COLUMNS]


def service_summary(
    order_lines: pd.DataFrame, cycle: pd.Timestamp | str, months: int = SERVICE_MONTHS
) -> dict[str, object]:
    """Score delivery over the whole window, all lines pooled.

    The rules are those of :func:`service_levels`; pooling weighs each line (and,
    for the fill rate, each unit) alike, which a mean of monthly rates would not.

    Parameters
    ----------
    order_lines : pandas.DataFrame
        As for :func:`service_levels`.
    cycle : pandas.Timestamp or str
        The planning month, as for :func:`service_levels`.
    months : int, default :data:`SERVICE_MONTHS` (12)
        How many months before the cycle to score.

    Returns
    -------
    dict
        otif, on_time, in_full, fill_rate (fractions; NaN without lines, and the fill
        rate NaN when the lines request no units), lines (how many were scored),
        first_month and last_month (the window), months.

    Raises
    ------
    SopError
        As for :func:`service_levels`.

    Examples
    --------
    >>> service_summary(ds.order_lines, "2026-11")["otif"]  # doctest: +SKIP
    0.894
    """
    scored = _scored_lines(order_lines, cycle, months)
    end = month_start(cycle)
    requested = scored["requested"].sum()
    return {
        "otif": float(scored["otif"].mean()),
        "on_time": float(scored["on_time"].mean()),
        "in_full": float(scored["in_full"].mean()),
        "fill_rate": float(scored["filled"].sum() / requested) if requested > 0 else np.nan,
        "lines": len(scored),
        "first_month": end - pd.DateOffset(months=months),
        "last_month": end - pd.DateOffset(months=1),
        "months": months,
    }


def _status_at_least(value: float, target: float, watch_from: float) -> str | None:
    if pd.isna(value):
        return None
    return "good" if value >= target else "watch" if value >= watch_from else "bad"


def _kpi(
    kpi: str,
    value: float,
    unit: str,
    description: str,
    target: float = np.nan,
    status: str | None = None,
    missing: str | None = None,
) -> dict[str, object]:
    """One KPI row; ``missing`` (why it cannot be computed) blanks the value and status."""
    if missing is not None or pd.isna(value):
        reason = missing or "it cannot be computed from this cycle's data"
        value, status = np.nan, None
        description = f"Not available: {reason}. {description}"
    return {
        "kpi": kpi,
        "label": KPI_LABELS[kpi],
        "value": value,
        "unit": unit,
        "target": target,
        "status": status,
        "description": description,
    }


def _span(first: object, last: object) -> tuple[str, int]:
    """'2026-11 to 2027-10' and how many months that is; ('no months', 0) without any."""
    if pd.isna(first) or pd.isna(last):
        return "no months", 0
    first, last = pd.Timestamp(first), pd.Timestamp(last)
    n = int(month_number(last) - month_number(first) + 1)
    return (f"{first:%Y-%m}" if n == 1 else f"{first:%Y-%m} to {last:%Y-%m}"), n


def _plan_window(plan: Mapping) -> str:
    span, n = _span(plan["first_month"], plan["last_month"])
    if n == 0:
        return "over the summary window, which has no plan months"
    return f"over {span} (the first {n} plan month{'s' if n > 1 else ''})"


def _service_kpis(service: Mapping, target: float) -> list[dict[str, object]]:
    span, n = _span(service["first_month"], service["last_month"])
    window = f"requested in the {n} month{'s' if n > 1 else ''} before the cycle ({span})"
    no_lines = f"no order lines were {window}" if service["lines"] == 0 else None
    watch = target - SERVICE_WATCH_BAND
    otif, fill = float(service["otif"]), float(service["fill_rate"])
    return [
        _kpi(
            "otif",
            otif,
            "ratio",
            f"Order lines {window} shipped by the requested date and in full",
            target,
            _status_at_least(otif, target, watch),
            no_lines,
        ),
        _kpi(
            "fill_rate",
            fill,
            "ratio",
            f"Units shipped (at most those requested) over units requested, order lines {window}",
            target,
            _status_at_least(fill, target, watch),
            no_lines or (f"the order lines {window} request no units" if np.isnan(fill) else None),
        ),
    ]


def _plan_kpis(plan: Mapping) -> list[dict[str, object]]:
    window = _plan_window(plan)
    revenue = float(plan["revenue"])
    budget, budget_pct = float(plan["budget_revenue"]), float(plan["revenue_vs_budget_pct"])
    no_budget = None
    if np.isnan(budget):
        no_budget = f"no budget is set for any family {window}"
    elif np.isnan(budget_pct):
        no_budget = f"the budget {window} is 0, so there is no percentage of it to take"
    peak, overloaded = float(plan["peak_utilisation"]), float(plan["overloaded_resource_months"])
    no_capacity = None
    if np.isnan(float(plan["available_hours"])):
        no_capacity = (
            f"the capacity table has no resource-months {window} (no resources in the data)"
        )
    elif np.isnan(peak):
        no_capacity = f"no resource-month {window} has regular hours, and none has work"
    peak_status = (
        None
        if np.isnan(peak)
        else "good"
        if peak <= UTILISATION_GOOD
        else "watch"
        if peak <= 1
        else "bad"
    )
    return [
        _kpi(
            "planned_revenue",
            revenue,
            "currency",
            f"Revenue of the units the supply plan ships, at list price, {window}",
            missing=None if np.isfinite(revenue) else f"the plan has no months {window}",
        ),
        _kpi(
            "revenue_vs_budget_pct",
            budget_pct,
            "percent",
            f"Planned revenue against budget, on the family-months that have a budget, {window}",
            0.0,
            _status_at_least(budget_pct, 0.0, BUDGET_WATCH_PCT),
            no_budget,
        ),
        _kpi(
            "margin_pct",
            float(plan["margin_pct"]),
            "percent",
            f"Margin of the shipments after their standard cost and the supply plan's own "
            f"costs (overtime, bought-in premium, hiring, holding, backlog), in percent of "
            f"revenue, {window}",
            missing=(
                f"the plan ships nothing {window}, so there is no margin to take"
                if np.isnan(float(plan["margin_pct"]))
                else None
            ),
        ),
        _margin_vs_budget(plan, window),
        _kpi(
            "peak_capacity_utilisation",
            peak,
            "ratio",
            f"Highest required over regular hours of any resource-month {window}; above "
            "100 % needs overtime, 'no hours' is work on a resource-month without hours",
            1.0,
            peak_status,
            no_capacity,
        ),
        _kpi(
            "overloaded_resource_months",
            overloaded,
            "count",
            f"Resource-months needing more than their regular hours, {window}",
            missing=no_capacity if np.isnan(overloaded) else None,
        ),
    ]


def _margin_vs_budget(plan: Mapping, window: str) -> dict[str, object]:
    budget = float(plan.get("budget_margin", np.nan))
    pct = float(plan.get("margin_vs_budget_pct", np.nan))
    missing = None
    if not all(k in plan for k in PLAN_MARGIN_KEYS):
        missing = "the plan's figures were made before budget margins were read (re-run stage 4)"
    elif np.isnan(budget):
        missing = f"the budget sets no margin {window} (give the budget a margin column)"
    elif np.isnan(pct):
        missing = f"the budgeted margin {window} is 0 or a loss, so there is no percentage of it"
    return _kpi(
        "margin_vs_budget_pct",
        pct,
        "percent",
        f"Planned margin against the budget's margin, on the family-months whose budget sets "
        f"a margin, in percent of that margin, {window}",
        0.0,
        _status_at_least(pct, 0.0, BUDGET_WATCH_PCT),
        missing,
    )


def headline_kpis(
    *,
    service: Mapping[str, object],
    forecast_wape: float | None = None,
    plan: Mapping[str, object] | pd.Series,
    inventory: pd.DataFrame,
    products: pd.DataFrame,
    service_level_target: float,
    forecast_level: str = "sku_region",
    accuracy: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Gather the handful of figures an executive reviews, each with its status.

    Parameters
    ----------
    service : mapping
        From :func:`service_summary` (otif, fill_rate, lines and the window are read).
    forecast_wape : float or None
        The WAPE (a fraction, 0.18 = 18 %) of the statistical forecast over the
        backtest, pooled at ``forecast_level`` (:func:`sopkit.demand.pooled_wape`);
        the KPI is ``1 - WAPE``. None when not measured. Give this or ``accuracy``.
    plan : mapping or pandas.Series
        The figures of the plan of record over the summary window:
        :meth:`sopkit.scenarios.Plan.summary`, :func:`sopkit.scenarios.summarise_plan`, or
        the row of the ``scenarios`` artifact for the cycle's scenario (the same
        figures, so the KPI cards and the scenario table agree). :data:`PLAN_KEYS`
        are read.
    inventory : pandas.DataFrame
        ``sku``, ``on_hand``.
    products : pandas.DataFrame
        ``sku``, ``unit_cost``.
    service_level_target : float
        The OTIF and fill rate target as a fraction (0.95).
    forecast_level : str, default "sku_region"
        The level of the ``accuracy`` artifact the WAPE is pooled at (the level the
        plan is made); the description names it.
    accuracy : pandas.DataFrame, optional
        The ``accuracy`` artifact: the WAPE is pooled from it at ``forecast_level``, so
        the figure and the words describing it cannot disagree; from the rows of the
        engine's statistical forecast where it was measured, else of the one model there.

    Returns
    -------
    pandas.DataFrame
        The ``kpis`` artifact: kpi, label, value, unit, target, status, description;
        one row each for otif, fill_rate, forecast_accuracy, planned_revenue,
        revenue_vs_budget_pct, margin_pct, margin_vs_budget_pct, peak_capacity_utilisation,
        overloaded_resource_months and inventory_value (on hand valued at unit cost).
        ``status`` is "good", "watch" or "bad" where there is a target, else None:
        service is good at or above target, watch within 5 points below; revenue and
        margin vs budget good at or above 0 %, watch down to -5 %; peak utilisation good up to
        90 %, watch up to 100 %. Each description names the KPI's window; a KPI that
        cannot be computed is NaN without status and its description starts with
        "Not available:" and the reason.

    Raises
    ------
    SopError
        A target outside (0, 1], missing keys or columns, an unknown
        ``forecast_level``, or inventory of a SKU that products does not list.

    Examples
    --------
    >>> kpis = headline_kpis(  # doctest: +SKIP
    ...     service=service_summary(ds.order_lines, "2026-11"),
    ...     forecast_wape=0.21,
    ...     plan=plan.summary(months=12),
    ...     inventory=ds.inventory,
    ...     products=ds.products,
    ...     service_level_target=0.95,
    ... )
    """
    if not 0 < service_level_target <= 1:
        raise SopError(
            f"service_level_target must be a fraction between 0 and 1 (0.95 for 95 %), "
            f"got {service_level_target!r}."
        )
    service_keys = ("otif", "fill_rate", "lines", "first_month", "last_month")
    missing = [k for k in service_keys if k not in service]
    if missing:
        raise SopError(
            f"service has no {', '.join(missing)}; pass the dict service_summary() returns."
        )
    missing = [k for k in PLAN_KEYS if k not in plan]
    if missing:
        raise SopError(
            f"plan has no {', '.join(missing)}; pass Plan.summary(), summarise_plan() or the "
            "row of the scenarios artifact for the cycle's scenario."
        )
    if forecast_level not in _ACCURACY_LEVELS:
        raise SopError(
            f"forecast_level must be one of {', '.join(_ACCURACY_LEVELS)}; got {forecast_level!r}."
        )
    if accuracy is not None:
        if forecast_wape is not None:
            raise SopError("give forecast_wape or accuracy, not both")
        # the statistical forecast the plan is made from, where the engine was measured
        measured = set(accuracy["model"]) if "model" in accuracy.columns else set()
        model = STATISTICAL if STATISTICAL in measured else None
        forecast_wape = pooled_wape(accuracy, level=forecast_level, model=model)
        bias = _pooled_bias(accuracy, forecast_level, model)
    else:
        bias = np.nan
    require_columns(inventory, "inventory", ["sku", "on_hand"])
    require_columns(products, "products", ["sku", "unit_cost"])
    reject_duplicates(products, "products", ["sku"])  # the one rule: a SKU listed twice is an error
    unit_cost = products.set_index("sku")["unit_cost"]
    cost = inventory["sku"].map(unit_cost)
    unpriced = sorted(set(inventory.loc[cost.isna() & inventory["on_hand"].ne(0), "sku"]))
    if unpriced:
        raise SopError(
            f"inventory holds SKU(s) without a unit_cost in products: "
            f"{', '.join(map(str, unpriced[:10]))}. Add them to products with a unit_cost."
        )
    accuracy = np.nan if forecast_wape is None else 1.0 - float(forecast_wape)
    level = _ACCURACY_LEVELS[forecast_level]
    rows = [
        *_service_kpis(service, service_level_target),
        _kpi(
            "forecast_accuracy",
            accuracy,
            "ratio",
            f"1 - WAPE of the statistical forecast at {level} level, pooled over the "
            "backtest months and lags",
            missing=(
                "forecast accuracy was not measured this cycle"
                if forecast_wape is None
                else "nothing was sold in the backtest months, so there is no error to weigh"
                if np.isnan(accuracy)
                else None
            ),
        ),
        _kpi(
            "forecast_bias",
            bias,
            "ratio",
            f"(forecast - actual) / actual of the statistical forecast at {level} level over "
            "the backtest: positive, it forecast too much",
            missing="forecast bias was not measured this cycle" if np.isnan(bias) else None,
        ),
        *_plan_kpis(plan),
        *_projected_service_kpis(plan, service_level_target),
        _kpi(
            "inventory_value",
            float((inventory["on_hand"] * cost.fillna(0.0)).sum()),
            "currency",
            "Stock on hand at the start of the cycle, valued at unit cost",
            missing="the data has no inventory rows" if inventory.empty else None,
        ),
        _days_of_supply(inventory, plan),
    ]
    return pd.DataFrame(rows, columns=KPI_COLUMNS).astype({"value": float, "target": float})


def _pooled_bias(accuracy: pd.DataFrame, level: str, model: str | None) -> float:
    """(sum forecast - sum actual) / sum actual over the accuracy rows of one level."""
    if not {"level", "actual", "forecast"} <= set(accuracy.columns):
        return np.nan
    rows = accuracy.loc[accuracy["level"] == level]
    if model is not None and "model" in rows.columns:
        rows = rows.loc[rows["model"] == model]
    actual = float(rows["actual"].sum())
    return (float(rows["forecast"].sum()) - actual) / actual if actual > 0 else np.nan


def _projected_service_kpis(plan: Mapping, target: float) -> list[dict[str, object]]:
    window = _plan_window(plan)
    out = []
    for key, label in (("service_level", "SKU-months"), ("fill_rate", "units")):
        known = key in plan
        value = float(plan[key]) if known else np.nan
        out.append(
            _kpi(
                f"projected_{key}",
                value,
                "ratio",
                f"Share of the {label} demanded that the supply plan ships in the month asked "
                f"(backlog served first in, first out), {window}",
                target,
                None
                if np.isnan(value)
                else _status_at_least(value, target, target - SERVICE_WATCH_BAND),
                None
                if np.isfinite(value)
                else f"the plan has no demand {window}"
                if known
                else "the cycle's scenario table predates this figure (re-run stage 4)",
            )
        )
    return out


def _days_of_supply(inventory: pd.DataFrame, plan: Mapping) -> dict[str, object]:
    units = float(plan["units"]) if "units" in plan else np.nan
    on_hand = float(inventory["on_hand"].clip(lower=0).sum())
    first, last = pd.Timestamp(plan["first_month"]), pd.Timestamp(plan["last_month"])
    days = (last + pd.offsets.MonthEnd(0) - first).days + 1 if pd.notna(first) else 0
    per_day = units / days if days and np.isfinite(units) else np.nan
    value = on_hand / per_day if per_day and per_day > 0 else np.nan
    return _kpi(
        "days_of_supply",
        value,
        "days",
        f"Units on hand at the start of the cycle over the units the plan ships a day, "
        f"{_plan_window(plan)}",
        missing=None if np.isfinite(value) else "the plan ships nothing in its window",
    )


def _format_value(value: float, unit: str) -> str:
    if pd.isna(value):
        return "n/a"
    if np.isinf(value):
        return "no hours" if unit == "ratio" else str(value)
    if unit == "ratio":
        return f"{100 * value:.1f} %"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit in ("currency", "count"):
        return f"{value:,.0f}"
    if unit == "days":
        return f"{value:,.0f} days"
    return f"{value:,.2f}"


def format_kpis(kpis: pd.DataFrame) -> pd.DataFrame:
    """Return a display copy of the ``kpis`` table with value and target as text.

    Parameters
    ----------
    kpis : pandas.DataFrame
        The ``kpis`` artifact.

    Returns
    -------
    pandas.DataFrame
        The same rows and columns; ``value`` and ``target`` are strings: ratios and
        percents as "91.2 %", money and counts as "1,234,567", missing as "n/a"
        (an infinite utilisation, work on a resource without hours, as "no hours").
    """
    require_columns(kpis, "kpis", KPI_COLUMNS)
    out = kpis.copy()
    for col in ("value", "target"):
        out[col] = [_format_value(v, u) for v, u in zip(kpis[col], kpis["unit"], strict=True)]
    return out
