"""Charts of stage 5, executive review: service levels and KPI cards."""

from __future__ import annotations

import html

import altair as alt
import pandas as pd
from IPython.display import HTML

from sopkit._checks import require_columns
from sopkit.charts._common import (
    SERIES_COLOURS,
    WIDTH,
    _month_tooltip,
    _month_x,
    _no_data,
    _records,
)
from sopkit.errors import SopError
from sopkit.kpi import format_kpis

STATUS_COLOURS = {"good": "#2ca02c", "watch": "#f0a30a", "bad": "#d62728"}


SERVICE_MEASURES = {"OTIF": SERIES_COLOURS[0], "fill rate": SERIES_COLOURS[1]}


def service_chart(service_levels: pd.DataFrame, *, target: float) -> alt.LayerChart | alt.Chart:
    """OTIF and fill rate per month, against the service target.

    Parameters
    ----------
    service_levels : pd.DataFrame
        From :func:`sopkit.kpi.service_levels` (month, lines, otif, fill_rate; fractions).
    target : float
        The service level target, a fraction (0.95 for 95 %), drawn as a dashed rule.

    Returns
    -------
    alt.LayerChart
        Two lines (x month, y rate as percent) and the target rule; a month without order
        lines has no point, and a measure without any point is neither drawn nor in the
        legend. The subtitle names the window (the months of ``service_levels``). A
        window without order lines gives a chart that says so.

    Raises
    ------
    SopError
        A missing column or a target outside (0, 1].

    Examples
    --------
    >>> service_chart(kpi.service_levels(ds.order_lines, "2026-11"), target=0.95)  # doctest: +SKIP
    """
    require_columns(service_levels, "service_levels", ["month", "lines", "otif", "fill_rate"])
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
        raise SopError(f"target must be a fraction in (0, 1] (0.95 for 95 %); got {target!r}.")
    if service_levels.empty:
        return _no_data(alt.Title("Customer service"))
    first, last = service_levels["month"].min(), service_levels["month"].max()
    n = len(service_levels)
    title = alt.Title(
        "Customer service",
        subtitle=f"OTIF and fill rate per month of the requested date, {first:%Y-%m} to "
        f"{last:%Y-%m} ({n} month{'s' if n > 1 else ''}); dashed: target {target:.0%}",
    )
    data = (
        service_levels.loc[:, ["month", "lines", "otif", "fill_rate"]]
        .rename(columns={"otif": "OTIF", "fill_rate": "fill rate"})
        .melt(id_vars=["month", "lines"], var_name="measure", value_name="rate")
        .dropna(subset=["rate"])
    )
    if data.empty:
        return _no_data(title, "No order lines were requested in these months")
    measures = [m for m in SERVICE_MEASURES if (data["measure"] == m).any()]
    lines = (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_line(point=True)
        .encode(
            x=_month_x(),
            y=alt.Y(
                "rate:Q", title="Share", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)
            ),
            color=alt.Color(
                "measure:N",
                title=None,
                scale=alt.Scale(domain=measures, range=[SERVICE_MEASURES[m] for m in measures]),
            ),
            tooltip=[
                _month_tooltip(),
                alt.Tooltip("measure:N"),
                alt.Tooltip("rate:Q", format=".1%"),
                alt.Tooltip("lines:Q", title="order lines", format=",d"),
            ],
        )
    )
    rule = (
        alt.Chart(alt.Data(values=[{"target": float(target)}]))
        .mark_rule(color="#555555", strokeDash=[5, 4])
        .encode(y="target:Q", tooltip=[alt.Tooltip("target:Q", format=".0%")])
    )
    return alt.layer(lines, rule).properties(width=WIDTH, height=260, title=title)


def kpi_cards(kpis: pd.DataFrame) -> HTML:
    """The headline KPIs as cards: label, value, target and a status badge.

    Parameters
    ----------
    kpis : pd.DataFrame
        The ``kpis`` artifact (kpi, label, value, unit, target, status, description); the
        description is the card's hover text and its small print; values
        are written by :func:`sopkit.kpi.format_kpis`.

    Returns
    -------
    IPython.display.HTML
        Self-contained HTML (inline CSS, no script, no external resource); the badge is
        green for good, amber for watch, red for bad, absent without a status.
    """
    formatted = format_kpis(kpis)
    if formatted.empty:
        return HTML('<p style="color:#666">No KPIs to show.</p>')
    cards = []
    for row in formatted.itertuples(index=False):
        status = row.status if isinstance(row.status, str) else None
        badge = ""
        if status:
            colour = STATUS_COLOURS.get(status, "#9e9e9e")
            badge = (
                f'<span style="background:{colour};color:white;border-radius:10px;'
                f'padding:1px 8px;font-size:11px;font-weight:bold">{html.escape(status)}</span>'
            )
        target = "" if row.target == "n/a" else f"target {html.escape(str(row.target))}"
        cards.append(
            '<div style="border:1px solid #ddd;border-radius:6px;padding:10px 12px;'
            f'width:180px;font-family:sans-serif;background:#fafafa" '
            f'title="{html.escape(str(row.description))}">'
            f'<div style="font-size:13px;font-weight:bold;color:#333">'
            f"{html.escape(str(row.label))}</div>"
            f'<div style="font-size:22px;font-weight:bold;margin:6px 0">'
            f"{html.escape(str(row.value))}</div>"
            f'<div style="font-size:12px;color:#666;display:flex;'
            f'justify-content:space-between;align-items:center">'
            f"<span>{target}</span>{badge}</div>"
            f'<div style="font-size:11px;color:#777;margin-top:6px">'
            f"{html.escape(str(row.description))}</div>"
            "</div>"
        )
    return HTML('<div style="display:flex;flex-wrap:wrap;gap:10px">' + "".join(cards) + "</div>")
