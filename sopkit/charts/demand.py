"""Charts of stage 2, demand planning: forecast, accuracy and consensus.

A legend lists only the series a chart draws: a part, a level or a source absent from
the data is left out of the scale's domain.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from sopkit._checks import family_of, require_columns, whole_number
from sopkit.charts._common import (
    WIDTH,
    _month_label,
    _month_tooltip,
    _month_x,
    _no_data,
    _records,
    _without_infinity,
)
from sopkit.demand.statistical import STATISTICAL
from sopkit.errors import SopError

PART_DASHES = ([1, 0], [6, 4])
#: Who changed the statistical forecast, as the consensus chart's legend names them:
#: the ``source`` of the ``adjustments`` artifact, its label and colour.
SOURCES = {
    "sales_inputs": ("sales and marketing inputs", "#ff7f0e"),
    "rule": ("sopkit rule: end of life", "#7f7f7f"),
}
#: Series of the accuracy chart: the level the plan is made first, then the pooled ones.
SKU_REGION_SERIES = "SKU x region"
_LEVEL_WIDTHS = {"sku_region": 3.5, "total": 2.0, "family": 1.0}


def _family_totals(frame: pd.DataFrame, column: str, products: pd.DataFrame, name: str):
    """``column`` summed per family and month (the family from :func:`family_of`)."""
    family = family_of(products, frame["sku"], name)
    return frame.assign(family=family).groupby(["family", "month"], as_index=False)[column].sum()


def forecast_chart(
    sales_history: pd.DataFrame,
    forecast: pd.DataFrame,
    products: pd.DataFrame,
    *,
    history_months: int = 36,
) -> alt.LayerChart | alt.Chart:
    """Monthly demand by family: the last months of history, then the forecast.

    Parameters
    ----------
    sales_history : pd.DataFrame
        sku, month, qty (regions are summed; a month without a row counts as 0).
    forecast : pd.DataFrame
        The ``forecast`` artifact (sku, month, yhat; regions are summed).
    products : pd.DataFrame
        sku, family (one row per SKU).
    history_months : int, default 36
        How many months of history, up to the month before the first forecast month.

    Returns
    -------
    alt.LayerChart
        Lines per family (x month, y units, colour family), solid for history and dashed
        for the forecast, and a vertical rule at the first forecast month. The dash
        legend lists only the parts drawn (no "forecast" without one). Intervals are
        not drawn: SKU intervals do not add up to family intervals.

    Raises
    ------
    SopError
        A missing column, a SKU that ``products`` does not list (or lists twice), or a
        negative ``history_months``.

    Examples
    --------
    >>> forecast_chart(ds.sales_history, fc, ds.products)  # doctest: +SKIP
    """
    require_columns(sales_history, "sales_history", ["sku", "month", "qty"])
    require_columns(forecast, "forecast", ["sku", "month", "yhat"])
    require_columns(products, "products", ["sku", "family"])
    whole_number(history_months, "history_months", 0, what="months")
    future = _family_totals(forecast, "yhat", products, "forecast").rename(columns={"yhat": "qty"})
    past = _family_totals(sales_history, "qty", products, "sales_history")
    if not future.empty:
        past = past[past["month"] < future["month"].min()]
    if not past.empty and history_months > 0:
        # Months without sales count as 0, but not before the history begins.
        months = pd.date_range(end=past["month"].max(), periods=history_months, freq="MS")
        months = months[months >= past["month"].min()]
        grid = pd.MultiIndex.from_product(
            [past["family"].unique(), months], names=["family", "month"]
        )
        past = past.set_index(["family", "month"]).reindex(grid, fill_value=0.0).reset_index()
    else:
        past = past.iloc[:0]
    parts = [p for p, frame in (("history", past), ("forecast", future)) if not frame.empty]
    subtitle = "Units per month, all SKUs and regions"
    if "forecast" in parts:
        subtitle += "; dashed: the statistical forecast"
    title = alt.Title("Demand by family: history and forecast", subtitle=subtitle)
    if not parts:
        return _no_data(title)
    data = pd.concat([past.assign(part="history"), future.assign(part="forecast")])
    families = sorted(data["family"].unique())
    dashes = [PART_DASHES[("history", "forecast").index(p)] for p in parts]

    lines = (
        alt.Chart()
        .mark_line(strokeWidth=2)
        .encode(
            x=_month_x(),
            y=alt.Y("qty:Q", title="Units per month"),
            color=alt.Color("family:N", title="Family", sort=families),
            strokeDash=alt.StrokeDash(
                "part:N", title=None, scale=alt.Scale(domain=parts, range=dashes)
            ),
            tooltip=[
                alt.Tooltip("family:N"),
                _month_tooltip(),
                alt.Tooltip("part:N", title="history or forecast"),
                alt.Tooltip("qty:Q", title="units", format=",.0f"),
            ],
        )
    )
    layers = [lines]
    if not future.empty:
        start = future["month"].min()
        marker = alt.Chart(
            alt.Data(
                values=[
                    {
                        "month": start.strftime("%Y-%m-%d"),
                        "label": "forecast from " + start.strftime("%Y-%m"),
                    }
                ]
            )
        ).encode(x=_month_x())
        layers += [
            marker.mark_rule(color="#888888", strokeDash=[2, 2]),
            marker.mark_text(align="left", baseline="top", dx=4, y=2, color="#555555").encode(
                text="label:N"
            ),
        ]
    return alt.layer(*layers, data=alt.Data(values=_records(data))).properties(
        width=WIDTH, height=300, title=title
    )


def accuracy_chart(accuracy: pd.DataFrame) -> alt.Chart:
    """WAPE of the backtest by lag: SKU x region (bold), all SKUs and each family summed.

    The SKU x region line is the error of the plan as it is made: the absolute errors
    of every SKU in every region at that lag, over what they sold (rows of level
    ``sku_region``, pooled). The Total and family lines sum SKUs and regions before
    measuring, so over- and under-forecasts cancel and they read lower.

    Parameters
    ----------
    accuracy : pd.DataFrame
        The ``accuracy`` artifact (model, level, key, lag, actual, forecast, abs_error,
        wape, bias); rows of levels "sku_region", "total" and "family" are drawn, "sku"
        rows are left out.

    Returns
    -------
    alt.Chart
        Lines (x lag, y wape as percent, colour series; the legend lists the series
        drawn); a lag whose actual was 0 has no WAPE and leaves a gap.

    Raises
    ------
    SopError
        A missing column.

    Examples
    --------
    >>> accuracy_chart(acc)  # doctest: +SKIP
    """
    columns = ["model", "level", "key", "lag", "actual", "forecast", "wape", "bias"]
    require_columns(accuracy, "accuracy", [*columns, "abs_error"])
    title = alt.Title(
        "Forecast error by lag",
        subtitle=[
            "WAPE of the backtest. Bold: each SKU in each region, the level the plan is made.",
            "Thinner: all SKUs summed (Total) and each family summed, where errors cancel.",
            "Where several methods were measured, each has its own dash (see Method).",
        ],
    )
    fine = accuracy.loc[accuracy["level"] == "sku_region"]
    fine = fine.groupby(["model", "lag"], as_index=False)[["actual", "forecast", "abs_error"]].sum()
    actual = fine["actual"].where(fine["actual"] != 0)
    fine = fine.assign(
        level="sku_region",
        key=SKU_REGION_SERIES,
        wape=fine["abs_error"] / actual,
        bias=(fine["forecast"] - fine["actual"]) / actual,
    )
    pooled = accuracy.loc[accuracy["level"].isin(["total", "family"]), columns]
    data = pd.concat([fine[columns], pooled], ignore_index=True)
    if data.empty:
        return _no_data(title)
    data = _without_infinity(data)
    levels = [lv for lv in _LEVEL_WIDTHS if lv in set(data["level"])]
    keys = [k for lv in levels for k in sorted(data.loc[data["level"] == lv, "key"].unique())]
    # several methods measured (the engine and its benchmark): one dash pattern each
    models = sorted(set(data["model"]), key=lambda m: (m != STATISTICAL, m))
    dash = (
        {
            "strokeDash": alt.StrokeDash(
                "model:N",
                title="Method",
                sort=models,
                scale=alt.Scale(domain=models, range=[[1, 0], [6, 4], [2, 2]][: len(models)]),
            )
        }
        if 1 < len(models) <= 3
        else {}
    )
    return (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_line(point=True)
        .encode(
            **dash,
            x=alt.X("lag:O", title="Lag (months ahead)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("wape:Q", title="WAPE", axis=alt.Axis(format="%")),
            color=alt.Color("key:N", title="Series", sort=keys, scale=alt.Scale(domain=keys)),
            strokeWidth=alt.StrokeWidth(
                "level:N",
                scale=alt.Scale(domain=levels, range=[_LEVEL_WIDTHS[lv] for lv in levels]),
                legend=None,
            ),
            detail="model:N",
            tooltip=[
                alt.Tooltip("key:N", title="series"),
                alt.Tooltip("lag:O"),
                alt.Tooltip("wape:Q", title="WAPE", format=".1%"),
                alt.Tooltip("bias:Q", format="+.1%"),
                alt.Tooltip("actual:Q", format=",.0f"),
                alt.Tooltip("forecast:Q", format=",.0f"),
                alt.Tooltip("model:N"),
            ],
        )
        .properties(width=WIDTH, height=280, title=title)
    )


def _distinct(values: pd.Series) -> str:
    """The distinct texts of ``values`` in order of appearance, joined with "; "."""
    return "; ".join(dict.fromkeys(v for v in values if isinstance(v, str)))


def consensus_chart(
    demand_plan: pd.DataFrame, adjustments: pd.DataFrame, products: pd.DataFrame
) -> alt.VConcatChart:
    """Statistical forecast against consensus per month, and who changed it.

    Parameters
    ----------
    demand_plan : pd.DataFrame
        The ``demand_plan`` artifact (sku, month, statistical, adjustment, consensus).
    adjustments : pd.DataFrame
        The ``adjustments`` artifact (sku, month, source, author, effect, reason), as
        :func:`sopkit.demand.list_adjustments` returns it for the same plan.
    products : pd.DataFrame
        sku, family (one row per SKU).

    Returns
    -------
    alt.VConcatChart
        Top: total statistical and consensus units per month (two lines). Bottom: the
        adjustments per month, stacked, one colour per source: the inputs of sales and
        marketing, and sopkit's own end-of-life cuts (the legend names those drawn);
        each bar segment is one family, and its tooltip gives the units, reasons and
        authors. Without adjustments the bottom says so.

    Raises
    ------
    SopError
        A missing column, or a SKU that ``products`` does not list (or lists twice).

    Examples
    --------
    >>> consensus_chart(plan, adjustments, ds.products)  # doctest: +SKIP
    """
    require_columns(
        demand_plan, "demand_plan", ["sku", "month", "statistical", "adjustment", "consensus"]
    )
    require_columns(
        adjustments, "adjustments", ["sku", "month", "source", "author", "effect", "reason"]
    )
    require_columns(products, "products", ["sku", "family"])
    title = alt.Title(
        "Consensus demand plan",
        subtitle="Statistical forecast and consensus, all SKUs; below, who changed it",
    )
    if demand_plan.empty:
        return _no_data(title)
    plan = demand_plan.assign(month=_month_label(demand_plan["month"]))
    months = sorted(plan["month"].unique())
    adj = adjustments.assign(
        family=family_of(products, adjustments["sku"], "adjustments"),
        month=_month_label(adjustments["month"]),
        source_label=adjustments["source"].map(lambda s: SOURCES.get(s, (s, None))[0]),
    )

    monthly = plan.groupby("month")[["statistical", "consensus"]].sum()
    by_source = adj.pivot_table(
        index="month", columns="source", values="effect", aggfunc="sum", fill_value=0.0
    )
    monthly["by_inputs"] = by_source.get("sales_inputs", pd.Series(dtype=float))
    monthly["by_rules"] = by_source.get("rule", pd.Series(dtype=float))
    monthly = monthly.fillna({"by_inputs": 0.0, "by_rules": 0.0}).reset_index()
    lines_data = monthly.melt(
        id_vars=["month", "by_inputs", "by_rules"],
        value_vars=["statistical", "consensus"],
        var_name="series",
        value_name="units",
    )
    x = alt.X(
        "month:O",
        title="Plan month",
        axis=alt.Axis(labelAngle=-45),
        scale=alt.Scale(domain=months),  # the same months above and below
    )
    lines = (
        alt.Chart(alt.Data(values=_records(lines_data)))
        .mark_line(point=True)
        .encode(
            x=x.copy(deep=True).axis(title=None, labels=False),
            y=alt.Y("units:Q", title="Units per month", scale=alt.Scale(zero=False)),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=["statistical", "consensus"], range=["#9e9e9e", "#1f77b4"]),
            ),
            tooltip=[
                alt.Tooltip("month:O"),
                alt.Tooltip("series:N"),
                alt.Tooltip("units:Q", format=",.0f"),
                alt.Tooltip("by_inputs:Q", title="sales and marketing inputs", format="+,.0f"),
                alt.Tooltip("by_rules:Q", title="sopkit rule: end of life", format="+,.0f"),
            ],
        )
        .properties(width=WIDTH, height=220)
    )
    if adj.empty:
        below = (
            alt.Chart(alt.Data(values=[{"message": "No adjustments: consensus = statistical"}]))
            .mark_text(fontSize=13, color="#666666")
            .encode(text="message:N")
            .properties(width=WIDTH, height=60)
        )
        return alt.vconcat(lines, below, title=title, spacing=8)

    bars_data = (
        adj.groupby(["month", "source", "source_label", "family"], sort=False)
        .agg(
            effect=("effect", "sum"),
            reasons=("reason", _distinct),
            authors=("author", _distinct),
        )
        .reset_index()
    )
    present = [s for s in SOURCES if s in set(bars_data["source"])]
    present += sorted(set(bars_data["source"]) - set(SOURCES))  # an unknown source still shows
    labels = [SOURCES.get(s, (s, None))[0] for s in present]
    colours = [SOURCES.get(s, (s, "#bcbd22"))[1] for s in present]
    bars = (
        alt.Chart(alt.Data(values=_records(bars_data)))
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("effect:Q", title="Adjustment (units)"),
            color=alt.Color(
                "source_label:N",
                title="Adjustment by",
                scale=alt.Scale(domain=labels, range=colours),
                legend=alt.Legend(orient="bottom"),
            ),
            detail="family:N",
            order=alt.Order("family:N"),
            tooltip=[
                alt.Tooltip("source_label:N", title="by"),
                alt.Tooltip("family:N"),
                alt.Tooltip("month:O"),
                alt.Tooltip("effect:Q", title="units", format="+,.0f"),
                alt.Tooltip("reasons:N"),
                alt.Tooltip("authors:N"),
            ],
        )
        .properties(width=WIDTH, height=140)
    )
    return alt.vconcat(lines, bars, title=title, spacing=8).resolve_scale(color="independent")


#: The panels of the plan accuracy chart: the plan's own level first.
PLAN_LEVEL_LABELS = {
    "sku_region": "each SKU in each region",
    "family": "each family summed",
    "total": "all SKUs summed",
}
#: The two plans of record compared with what happened, and their colours.
PLAN_SERIES = {"statistical": "#9e9e9e", "consensus": "#1f77b4"}


def plan_accuracy_chart(by_lag: pd.DataFrame) -> alt.FacetChart | alt.Chart:
    """WAPE of earlier plans of record by lag: the statistical forecast beside the consensus.

    One panel per level (each SKU in each region, the level the plan is made; each
    family summed; all SKUs summed, where errors cancel and the bars read lower); in
    each, two bars per lag (statistical grey, consensus blue) and the forecast value
    added above them, in WAPE points (``+5.3 pts``: the adjustments cut the error by
    5.3 points; negative: they added to it).

    Parameters
    ----------
    by_lag : pd.DataFrame
        :func:`sopkit.demand.summarise_plan_accuracy` with its default ``by`` (one row per
        lag x level): lag, level, actual, wape_statistical, wape_consensus,
        bias_statistical, bias_consensus, fva_wape, first_month, last_month, cycles.

    Returns
    -------
    alt.FacetChart
        Bars (x lag, y WAPE as percent, colour plan), a column per level drawn; a lag
        whose actual was 0 has no WAPE and no bar. Without rows, a chart that says so.

    Raises
    ------
    SopError
        A missing column, or more than one row per lag x level (pool the table with
        ``summarise_plan_accuracy`` first).

    Examples
    --------
    >>> by_lag = demand.summarise_plan_accuracy(demand.plan_accuracy(  # doctest: +SKIP
    ...     ctx.earlier("demand_plan"), ds.sales_history, ds.products, ctx.cycle))
    >>> plan_accuracy_chart(by_lag)  # doctest: +SKIP
    """
    needed = ["lag", "level", "actual", "fva_wape", "cycles", "first_month", "last_month"]
    needed += [f"{m}_{p}" for m in ("wape", "bias") for p in PLAN_SERIES]
    require_columns(by_lag, "plan accuracy by lag", needed)
    if by_lag.duplicated(["lag", "level"]).any():
        raise SopError(
            "plan accuracy by lag has more than one row per lag and level; pass "
            "sopkit.demand.summarise_plan_accuracy(accuracy) (by lag and level)."
        )
    title = alt.Title(
        "Earlier plans against what happened",
        subtitle=[
            "WAPE by lag of the plans of record: statistical forecast (grey), consensus (blue).",
            "Above: forecast value added, WAPE points; positive where the adjustments helped.",
        ],
    )
    if by_lag.empty:
        return _no_data(title)
    data = _without_infinity(by_lag[needed])
    data = data.assign(
        panel=data["level"].map(lambda lv: PLAN_LEVEL_LABELS.get(lv, lv)),
        months=data["first_month"]
        .dt.strftime("%Y-%m")
        .where(
            data["first_month"] == data["last_month"],
            data["first_month"].dt.strftime("%Y-%m")
            + " to "
            + data["last_month"].dt.strftime("%Y-%m"),
        ),
        top=data[["wape_statistical", "wape_consensus"]].max(axis=1),
        fva_label=["FVA –" if pd.isna(v) else f"FVA {100 * v:+.1f} pts" for v in data["fva_wape"]],
    ).drop(columns=["first_month", "last_month"])
    long = pd.concat(
        [data.assign(plan=p, wape=data[f"wape_{p}"], bias=data[f"bias_{p}"]) for p in PLAN_SERIES],
        ignore_index=True,
    )
    panels = [PLAN_LEVEL_LABELS.get(lv, lv) for lv in PLAN_LEVEL_LABELS if lv in set(data["level"])]
    panels += sorted(set(long["panel"]) - set(panels))
    x = alt.X("lag:O", title="Lag (months ahead)", axis=alt.Axis(labelAngle=0))
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=x,
            xOffset=alt.XOffset("plan:N", sort=list(PLAN_SERIES)),
            y=alt.Y("wape:Q", title="WAPE", axis=alt.Axis(format="%")),
            color=alt.Color(
                "plan:N",
                title="Plan",
                scale=alt.Scale(domain=list(PLAN_SERIES), range=list(PLAN_SERIES.values())),
            ),
            tooltip=[
                alt.Tooltip("panel:N", title="level"),
                alt.Tooltip("lag:O"),
                alt.Tooltip("months:N", title="months measured"),
                alt.Tooltip("cycles:Q", title="cycles"),
                alt.Tooltip("plan:N"),
                alt.Tooltip("wape:Q", title="WAPE", format=".1%"),
                alt.Tooltip("bias:Q", format="+.1%"),
                alt.Tooltip("actual:Q", format=",.0f"),
                alt.Tooltip("fva_label:N", title="forecast value added"),
            ],
        )
    )
    labels = (
        alt.Chart()
        .transform_filter(alt.datum.plan == "consensus")
        .mark_text(dy=-6, baseline="bottom", fontSize=11, color="#333333")
        .encode(x=x, y=alt.Y("top:Q"), text="fva_label:N")
    )
    width = max(120, WIDTH // len(panels) - 20)
    return (
        alt.layer(bars, labels, data=alt.Data(values=_records(long)))
        .properties(width=width, height=240)
        .facet(column=alt.Column("panel:N", title=None, sort=panels))
        .properties(title=title)
    )


#: The views of :func:`forecast_interval_chart` and what each one's panels are.
INTERVAL_VIEWS = ("total", "family", "sku")
#: Series of the interval chart, in legend order, and their colours.
INTERVAL_SERIES = {
    "history": "#333333",
    "forecast": "#08519c",
    "80 % interval": "#9ecae1",
    "95 % interval": "#deebf7",
}
_BOUNDS = {
    "80 % interval": ("yhat_lo_80", "yhat_hi_80"),
    "95 % interval": ("yhat_lo_95", "yhat_hi_95"),
}
_DASHES = dict(zip(("history", "forecast"), PART_DASHES, strict=True))
#: The largest SKU is the one with the most units sold in this many months before the forecast.
TOP_SKU_MONTHS = 12


def top_sku(sales_history: pd.DataFrame, before: pd.Timestamp, months: int = TOP_SKU_MONTHS) -> str:
    """The SKU that sold the most units in the ``months`` months before ``before``.

    Parameters
    ----------
    sales_history : pd.DataFrame
        sku, month, qty (regions are summed).
    before : pd.Timestamp
        The first month not counted (the cycle, the first forecast month).
    months : int, default 12
        How many months to count.

    Returns
    -------
    str
        The SKU; ties go to the first in sort order.

    Raises
    ------
    SopError
        If nothing was sold in those months.

    Examples
    --------
    >>> top_sku(ds.sales_history, pd.Timestamp("2026-11-01"))  # doctest: +SKIP
    'BL-0001'
    """
    require_columns(sales_history, "sales_history", ["sku", "month", "qty"])
    whole_number(months, "months", 1, what="months")
    start = before - pd.DateOffset(months=months)
    recent = sales_history.loc[
        (sales_history["month"] >= start) & (sales_history["month"] < before)
    ]
    units = recent.groupby("sku")["qty"].sum()
    units = units[units > 0]
    if units.empty:
        raise SopError(
            f"No SKU sold anything in the {months} months before {before:%Y-%m}; name the SKU "
            "to chart with sku=."
        )
    # the most units first; among equals, the first SKU in sort order
    ranked = units.reset_index().sort_values(["qty", "sku"], ascending=[False, True])
    return ranked["sku"].iloc[0]


def _panel_history(
    sales_history: pd.DataFrame, panel: pd.Series, first_forecast, history_months: int
) -> pd.DataFrame:
    """panel, month, qty: the last ``history_months`` months of history per panel.

    A month without a row counts as 0 sold, but not before the panel's history begins.
    """
    past = sales_history.assign(panel=panel).groupby(["panel", "month"], as_index=False)["qty"]
    past = past.sum()
    if first_forecast is not None:
        past = past[past["month"] < first_forecast]
    if past.empty or history_months == 0:
        return past.iloc[:0]
    end = (
        past["month"].max() if first_forecast is None else first_forecast - pd.DateOffset(months=1)
    )
    months = pd.date_range(end=end, periods=history_months, freq="MS")
    parts = []
    for name, rows in past.groupby("panel", sort=True):
        own = months[months >= rows["month"].min()]
        parts.append(
            rows.set_index("month")["qty"]
            .reindex(own, fill_value=0.0)
            .rename_axis("month")
            .reset_index()
            .assign(panel=name)
        )
    return pd.concat(parts, ignore_index=True)[["panel", "month", "qty"]]


def forecast_interval_chart(
    sales_history: pd.DataFrame,
    forecast: pd.DataFrame,
    products: pd.DataFrame,
    *,
    view: str = "total",
    sku: str | None = None,
    history_months: int = 36,
    levels: pd.DataFrame | None = None,
) -> alt.LayerChart | alt.FacetChart | alt.Chart:
    """The forecast against history, with its 80 % and 95 % intervals where they are valid.

    Prediction intervals are the ``forecast`` artifact's, one per SKU x region series.
    Bounds of a sum are not sums of bounds (quantiles do not add), so the total and
    family views draw bands only from ``levels`` (the ``forecast_levels`` artifact, whose
    total and families have intervals of their own, re-centred on the reconciled
    forecast); without it they draw the point forecast only (the sum of the series'
    point forecasts, which does add up) and say so. The SKU view draws each of the
    SKU's regions with its own bands.

    Parameters
    ----------
    sales_history : pd.DataFrame
        sku, region, month, qty (a month without a row counts as 0 sold).
    forecast : pd.DataFrame
        The ``forecast`` artifact: sku, region, month, yhat, and for the SKU view
        yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95 (bands are left out where a
        column is missing).
    products : pd.DataFrame
        sku, family (one row per SKU).
    view : {"total", "family", "sku"}, default "total"
        All SKUs and regions summed (one panel); each family summed (a panel per
        family); or one SKU (a panel per region, with bands).
    sku : str, optional
        The SKU of the ``"sku"`` view; by default the largest, the SKU that sold the
        most units in the 12 months before the forecast (:func:`top_sku`).
    history_months : int, default 36
        How many months of history, up to the month before the first forecast month.
    levels : pd.DataFrame, optional
        The ``forecast_levels`` artifact (level, family, month and the bounds): the
        bands of the total and family views.

    Returns
    -------
    alt.LayerChart or alt.FacetChart
        Lines (x month, y units): the history solid, the forecast dashed; light bands for
        the 95 % and darker for the 80 % interval (SKU view); a vertical rule at the
        first forecast month. Panels have their own y scale. The legend lists the series
        drawn only. Without data, a chart that says so.

    Raises
    ------
    SopError
        A missing column, an unknown ``view``, a ``sku`` given for another view or
        without a forecast, a SKU that ``products`` does not list (family view), or a
        negative ``history_months``.

    Examples
    --------
    >>> forecast_interval_chart(ds.sales_history, fc, ds.products, view="sku")  # doctest: +SKIP
    """
    require_columns(sales_history, "sales_history", ["sku", "region", "month", "qty"])
    require_columns(forecast, "forecast", ["sku", "region", "month", "yhat"])
    require_columns(products, "products", ["sku", "family"])
    whole_number(history_months, "history_months", 0, what="months")
    if view not in INTERVAL_VIEWS:
        raise SopError(f"view must be one of {', '.join(INTERVAL_VIEWS)}; got {view!r}.")
    if sku is not None and view != "sku":
        raise SopError(f"sku= is for view='sku'; got view={view!r} with sku={sku!r}.")
    first = forecast["month"].min() if not forecast.empty else None
    banded = view == "sku"
    own = None  # the level's own rows, whose bounds are drawn (total and family views)
    if levels is not None and view in ("total", "family"):
        require_columns(levels, "forecast_levels", ["level", "family", "month"])
        own = levels.loc[levels["level"] == view]
        banded = not own.empty
    bands_note = [
        "Bands: its own 80 % (darker) and 95 % prediction intervals, re-centred on the",
        "reconciled forecast (the sum of the SKU x region forecasts).",
    ]
    if view == "total":
        heading = "Demand, all SKUs and regions: history and forecast"
        subtitle = [
            "Units per month. Point forecast only: the intervals are per SKU x region, and "
            "bounds do not add up;",
            "stage 2 makes no total forecast with an interval of its own.",
        ]
        hist, fc = sales_history, forecast
        hist_panel = pd.Series("Total", index=hist.index)
        fc_panel = pd.Series("Total", index=fc.index)
        if banded:
            subtitle = ["Units per month, the total of every SKU and region.", *bands_note]
            own = own.assign(panel="Total")
    elif view == "family":
        heading = "Demand by family: history and forecast"
        subtitle = [
            "Units per month, all regions. Point forecast only: the intervals are per SKU x "
            "region, and bounds do not add up;",
            "stage 2 makes no family forecast with an interval of its own.",
        ]
        hist, fc = sales_history, forecast
        hist_panel = family_of(products, hist["sku"], "sales_history")
        fc_panel = family_of(products, fc["sku"], "forecast")
        if banded:
            subtitle = ["Units per month of each family, all regions.", *bands_note]
            own = own.assign(panel=own["family"].astype(str))
    else:
        chosen, why = sku, ""
        if chosen is None and first is not None:
            chosen = top_sku(sales_history, first)
            why = f", the SKU that sold the most units in the {TOP_SKU_MONTHS} months before"
            why += f" {first:%Y-%m}"
        if chosen is None:  # no forecast, and no SKU named
            return _no_data(alt.Title("Demand of one SKU: history and forecast by region"))
        if not (forecast["sku"] == chosen).any():
            raise SopError(
                f"SKU {chosen!r} has no forecast; pick one of the forecast's SKUs "
                f"(e.g. {', '.join(map(repr, sorted(forecast['sku'].unique())[:3]))})."
            )
        heading = f"Demand of {chosen}: history and forecast by region"
        subtitle = [
            f"Units per month of {chosen}{why}. Bands: the forecast's 80 % (darker) and 95 % "
            "prediction intervals,",
            "each region's own.",
        ]
        hist = sales_history.loc[sales_history["sku"] == chosen]
        fc = forecast.loc[forecast["sku"] == chosen]
        hist_panel = hist["region"].astype(str)
        fc_panel = fc["region"].astype(str)
    title = alt.Title(heading, subtitle=subtitle)
    past = _panel_history(hist, hist_panel, first, history_months)
    future = fc.assign(panel=fc_panel.to_numpy()).groupby(["panel", "month"], as_index=False)
    future = future["yhat"].sum().rename(columns={"yhat": "qty"})
    if past.empty and future.empty:
        return _no_data(title)

    frames = [past.assign(series="history"), future.assign(series="forecast")]
    if banded:
        src, src_panel = (fc, fc_panel) if own is None else (own, own["panel"])
        for band, (lo, hi) in _BOUNDS.items():
            if lo in src.columns and hi in src.columns and src[[lo, hi]].notna().any(axis=None):
                frames.append(
                    pd.DataFrame(
                        {
                            "panel": src_panel.to_numpy(),
                            "month": src["month"].to_numpy(),
                            "series": band,
                            "lo": src[lo].to_numpy(dtype=float),
                            "hi": src[hi].to_numpy(dtype=float),
                        }
                    )
                )
    data = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    present = set(data["series"])
    drawn = [s for s in INTERVAL_SERIES if s in present]
    color = alt.Color(
        "series:N",
        title=None,
        sort=drawn,
        scale=alt.Scale(domain=drawn, range=[INTERVAL_SERIES[s] for s in drawn]),
    )
    if not future.empty:
        start = future["month"].min()
        marks = pd.DataFrame({"panel": sorted(set(data["panel"])), "month": start})
        data = pd.concat(
            [data, marks.assign(series="start", label="forecast from " + start.strftime("%Y-%m"))],
            ignore_index=True,
        )
    panels = sorted(set(data["panel"]))

    layers = []
    for band in ("95 % interval", "80 % interval"):  # the wider band below
        if band in present:
            layers.append(
                alt.Chart()
                .transform_filter(alt.datum.series == band)
                .mark_area(opacity=0.9)
                .encode(
                    x=_month_x(),
                    y=alt.Y("lo:Q", title="Units per month"),
                    y2="hi:Q",
                    color=color,
                    tooltip=[
                        alt.Tooltip("panel:N", title=view if view != "sku" else "region"),
                        _month_tooltip(),
                        alt.Tooltip("series:N", title="interval"),
                        alt.Tooltip("lo:Q", title="from", format=",.0f"),
                        alt.Tooltip("hi:Q", title="to", format=",.0f"),
                    ],
                )
            )
    parts = [p for p in ("history", "forecast") if p in present]
    layers.append(
        alt.Chart()
        .transform_filter(alt.FieldOneOfPredicate(field="series", oneOf=parts))
        .mark_line(strokeWidth=2)
        .encode(
            x=_month_x(),
            y=alt.Y("qty:Q", title="Units per month"),
            color=color,
            # the same domain as the colour, so that the two merge into one legend
            strokeDash=alt.StrokeDash(
                "series:N",
                title=None,
                sort=drawn,
                scale=alt.Scale(domain=drawn, range=[_DASHES.get(s, [1, 0]) for s in drawn]),
            ),
            tooltip=[
                alt.Tooltip("panel:N", title=view if view != "sku" else "region"),
                _month_tooltip(),
                alt.Tooltip("series:N", title="history or forecast"),
                alt.Tooltip("qty:Q", title="units", format=",.0f"),
            ],
        )
    )
    if "start" in set(data["series"]):
        marker = alt.Chart().transform_filter(alt.datum.series == "start").encode(x=_month_x())
        layers += [
            marker.mark_rule(color="#888888", strokeDash=[2, 2]),
            marker.mark_text(align="left", baseline="top", dx=4, y=2, color="#555555").encode(
                text="label:N"
            ),
        ]
    chart = alt.layer(*layers, data=alt.Data(values=_records(data)))
    if len(panels) == 1 and view == "total":
        return chart.properties(width=WIDTH, height=300, title=title)
    return (
        chart.properties(width=WIDTH, height=max(120, min(220, 600 // len(panels))))
        .facet(
            row=alt.Row(
                "panel:N",
                title=None,
                sort=panels,
                header=alt.Header(labelAngle=0, labelAlign="left"),
            )
        )
        .resolve_scale(y="independent")
        .properties(title=title)
    )
