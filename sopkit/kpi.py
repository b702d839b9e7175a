"""Stage 5, executive review: service levels and the headline KPIs of the cycle.

Units of a KPI value (column ``unit`` of the ``kpis`` artifact):

- ``"ratio"``: a fraction, 0.912 is 91.2 % (otif, fill rate, accuracy, utilisation);
- ``"percent"``: already in percent, -3.4 is -3.4 % (the ``*_pct`` figures of finance);
- ``"currency"``: money in the currency of ``products.unit_price`` and ``budget``;
- ``"count"``: a number of things (resource-months).

Artifact
--------
``kpis`` (:data:`KPI_COLUMNS`), one row per headline KPI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit._checks import month_start, require_columns
from sopkit.errors import SopError
from sopkit.finance import TOTAL
from sopkit.schemas import columns
from sopkit.supply import summarise_capacity

SERVICE_COLUMNS = ["month", "lines", "otif", "on_time", "in_full", "fill_rate"]
KPI_COLUMNS = columns("kpis")
#: the short title of each KPI, for cards and tables
KPI_LABELS = {
    "otif": "OTIF",
    "fill_rate": "Fill rate",
    "forecast_accuracy": "Forecast accuracy",
    "revenue_12m": "Planned revenue",
    "revenue_vs_budget_pct": "Revenue against budget",
    "margin_pct": "Gross margin",
    "peak_capacity_utilisation": "Peak capacity use",
    "overloaded_resource_months": "Overloaded resource-months",
    "inventory_value": "Inventory value",
}
#: service below target by at most this much (a fraction) is "watch", not "bad".
SERVICE_WATCH_BAND = 0.05
#: revenue below budget by at most this many percent is "watch", not "bad".
BUDGET_WATCH_PCT = -5.0
#: peak utilisation up to this is "good"; up to 1.0 (all regular hours) "watch".
UTILISATION_GOOD = 0.9

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
    order_lines: pd.DataFrame, cycle: pd.Timestamp | str, months: int = 12
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
    months : int, default 12
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
    order_lines: pd.DataFrame, cycle: pd.Timestamp | str, months: int = 12
) -> dict[str, float]:
    """Score delivery over the whole window, all lines pooled.

    The rules are those of :func:`service_levels`; pooling weighs each line (and,
    for the fill rate, each unit) alike, which a mean of monthly rates would not.

    Parameters
    ----------
    order_lines : pandas.DataFrame
        As for :func:`service_levels`.
    cycle : pandas.Timestamp or str
        The planning month, as for :func:`service_levels`.
    months : int, default 12
        How many months before the cycle to score.

    Returns
    -------
    dict of str to float
        otif, on_time, in_full, fill_rate (fractions; NaN without lines) and lines.
    """
    scored = _scored_lines(order_lines, cycle, months)
    requested = scored["requested"].sum()
    return {
        "otif": float(scored["otif"].mean()),
        "on_time": float(scored["on_time"].mean()),
        "in_full": float(scored["in_full"].mean()),
        "fill_rate": float(scored["filled"].sum() / requested) if requested > 0 else np.nan,
        "lines": len(scored),
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
) -> dict[str, object]:
    return {
        "kpi": kpi,
        "label": KPI_LABELS[kpi],
        "value": value,
        "unit": unit,
        "target": target,
        "status": status,
        "description": description,
    }


def headline_kpis(
    *,
    service: dict,
    forecast_wape: float | None,
    financial_summary: pd.DataFrame,
    capacity: pd.DataFrame,
    inventory: pd.DataFrame,
    products: pd.DataFrame,
    service_level_target: float,
) -> pd.DataFrame:
    """Gather the handful of figures an executive reviews, each with its status.

    Parameters
    ----------
    service : dict
        From :func:`service_summary` (``otif`` and ``fill_rate`` are read).
    forecast_wape : float or None
        The WAPE (a fraction, 0.18 = 18 %) of the statistical forecast over the
        holdout, pooled SKU by SKU (:func:`sopkit.demand.pooled_wape`); the KPI is
        ``1 - WAPE``. None when not measured.
    financial_summary : pandas.DataFrame
        From :func:`sopkit.finance.financial_summary`; its "Total" row is read, so
        its window (12 months by default) is the window of the money KPIs.
    capacity : pandas.DataFrame
        The ``capacity`` artifact (or the window of it to judge).
    inventory : pandas.DataFrame
        ``sku``, ``on_hand``.
    products : pandas.DataFrame
        ``sku``, ``unit_cost``.
    service_level_target : float
        The OTIF and fill rate target as a fraction (0.95).

    Returns
    -------
    pandas.DataFrame
        The ``kpis`` artifact: kpi, label, value, unit, target, status, description; one row
        each for otif, fill_rate, forecast_accuracy, revenue_12m, revenue_vs_budget_pct,
        margin_pct, peak_capacity_utilisation, overloaded_resource_months and
        inventory_value (on hand valued at unit cost). ``status`` is "good", "watch"
        or "bad" where there is a target, else None: service is good at or above
        target, watch within 5 points below; revenue vs budget good at or above 0 %,
        watch down to -5 %; peak utilisation good up to 90 %, watch up to 100 %.

    Raises
    ------
    SopError
        A target outside (0, 1], missing columns, no "Total" row, or inventory of a
        SKU that products does not list.
    """
    if not 0 < service_level_target <= 1:
        raise SopError(
            f"service_level_target must be a fraction between 0 and 1 (0.95 for 95 %), "
            f"got {service_level_target!r}."
        )
    missing = [k for k in ("otif", "fill_rate") if k not in service]
    if missing:
        raise SopError(
            f"service has no {', '.join(missing)}; pass the dict service_summary() returns."
        )
    require_columns(
        financial_summary, "financial_summary", ["family", "revenue", "margin_pct", "variance_pct"]
    )
    require_columns(inventory, "inventory", ["sku", "on_hand"])
    require_columns(products, "products", ["sku", "unit_cost"])
    totals = financial_summary[financial_summary["family"] == TOTAL]
    if totals.empty:
        raise SopError(
            f"financial_summary has no {TOTAL!r} row; pass the table financial_summary() returns."
        )
    total = totals.iloc[0]
    cap = summarise_capacity(capacity)
    unit_cost = products.drop_duplicates("sku").set_index("sku")["unit_cost"]
    cost = inventory["sku"].map(unit_cost)
    unpriced = sorted(set(inventory.loc[cost.isna() & inventory["on_hand"].ne(0), "sku"]))
    if unpriced:
        raise SopError(
            f"inventory holds SKU(s) without a unit_cost in products: "
            f"{', '.join(map(str, unpriced[:10]))}. Add them to products with a unit_cost."
        )
    accuracy = np.nan if forecast_wape is None else 1.0 - float(forecast_wape)
    otif, fill = float(service["otif"]), float(service["fill_rate"])
    watch_service = service_level_target - SERVICE_WATCH_BAND
    budget_pct = float(total["variance_pct"])
    peak = cap["peak_utilisation"]
    peak_status = (
        None
        if pd.isna(peak)
        else "good"
        if peak <= UTILISATION_GOOD
        else "watch"
        if peak <= 1
        else "bad"
    )
    rows = [
        _kpi(
            "otif",
            otif,
            "ratio",
            "Order lines due in the window delivered on time and in full",
            service_level_target,
            _status_at_least(otif, service_level_target, watch_service),
        ),
        _kpi(
            "fill_rate",
            fill,
            "ratio",
            "Units shipped over units requested, lines due in the window",
            service_level_target,
            _status_at_least(fill, service_level_target, watch_service),
        ),
        _kpi(
            "forecast_accuracy",
            accuracy,
            "ratio",
            "1 - WAPE of the statistical forecast, SKU by SKU, over the backtest months",
        ),
        _kpi(
            "revenue_12m",
            float(total["revenue"]),
            "currency",
            "Revenue of the consensus plan over the summary window (12 months by default)",
        ),
        _kpi(
            "revenue_vs_budget_pct",
            budget_pct,
            "percent",
            "Planned revenue against budget, over the budgeted months",
            0.0,
            _status_at_least(budget_pct, 0.0, BUDGET_WATCH_PCT),
        ),
        _kpi(
            "margin_pct",
            float(total["margin_pct"]),
            "percent",
            "Planned gross margin in percent of revenue",
        ),
        _kpi(
            "peak_capacity_utilisation",
            peak,
            "ratio",
            "Highest required over regular hours of any resource-month",
            1.0,
            peak_status,
        ),
        _kpi(
            "overloaded_resource_months",
            float(cap["overloaded_resource_months"]),
            "count",
            "Resource-months needing more than their regular hours",
        ),
        _kpi(
            "inventory_value",
            float((inventory["on_hand"] * cost).sum()),
            "currency",
            "Stock on hand valued at unit cost",
        ),
    ]
    return pd.DataFrame(rows, columns=KPI_COLUMNS).astype({"value": float, "target": float})


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
