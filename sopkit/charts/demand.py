"""Charts of stage 2, demand planning: forecast, accuracy and consensus."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from sopkit._checks import require_columns
from sopkit.charts._common import (
    WIDTH,
    _families_of,
    _month_label,
    _month_tooltip,
    _month_x,
    _no_data,
    _reasons,
    _records,
    _sum_by_family,
    _without_infinity,
)
from sopkit.errors import SopError

PART_DASHES = ([1, 0], [6, 4])


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
        sku, family.
    history_months : int, default 36
        How many months of history, up to the month before the first forecast month.

    Returns
    -------
    alt.LayerChart
        Lines per family (x month, y units, colour family), solid for history and dashed
        for the forecast, and a vertical rule at the first forecast month. Intervals are
        not drawn: SKU intervals do not add up to family intervals.

    Raises
    ------
    SopError
        A missing column, a SKU that ``products`` does not list, or a negative
        ``history_months``.
    """
    require_columns(sales_history, "sales_history", ["sku", "month", "qty"])
    require_columns(forecast, "forecast", ["sku", "month", "yhat"])
    require_columns(products, "products", ["sku", "family"])
    whole = isinstance(history_months, (int, np.integer)) and not isinstance(history_months, bool)
    if not whole or history_months < 0:
        raise SopError(f"history_months must be a whole number >= 0; got {history_months!r}.")
    title = alt.Title(
        "Demand by family: history and forecast",
        subtitle="Units per month, all SKUs and regions; dashed: the statistical forecast",
    )
    family = products.drop_duplicates("sku").set_index("sku")["family"]
    future = _sum_by_family(forecast, "yhat", family, "forecast").rename(columns={"yhat": "qty"})
    past = _sum_by_family(sales_history, "qty", family, "sales_history")
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
    if past.empty and future.empty:
        return _no_data(title)
    data = pd.concat([past.assign(part="history"), future.assign(part="forecast")])
    families = sorted(data["family"].unique())

    lines = (
        alt.Chart()
        .mark_line(strokeWidth=2)
        .encode(
            x=_month_x(),
            y=alt.Y("qty:Q", title="Units per month"),
            color=alt.Color("family:N", title="Family", sort=families),
            strokeDash=alt.StrokeDash(
                "part:N",
                title=None,
                scale=alt.Scale(domain=["history", "forecast"], range=list(PART_DASHES)),
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
    """WAPE of the backtest by lag: all SKUs (bold) and each family (thin).

    Parameters
    ----------
    accuracy : pd.DataFrame
        The ``accuracy`` artifact (model, level, key, lag, actual, forecast, wape, bias);
        rows of level "total" and "family" are drawn, "sku" rows are left out.

    Returns
    -------
    alt.Chart
        Lines (x lag, y wape as percent, colour key); a lag whose actual was 0 has no WAPE
        and leaves a gap.
    """
    columns = ["model", "level", "key", "lag", "actual", "forecast", "wape", "bias"]
    require_columns(accuracy, "accuracy", columns)
    title = alt.Title(
        "Forecast error by lag",
        subtitle="WAPE of the backtest: bold, all SKUs; thin, each family",
    )
    data = accuracy.loc[accuracy["level"].isin(["total", "family"]), columns]
    if data.empty:
        return _no_data(title)
    data = _without_infinity(data)
    keys = [
        *sorted(data.loc[data["level"] == "total", "key"].unique()),
        *sorted(data.loc[data["level"] == "family", "key"].unique()),
    ]
    return (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_line(point=True)
        .encode(
            x=alt.X("lag:O", title="Lag (months ahead)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("wape:Q", title="WAPE", axis=alt.Axis(format="%")),
            color=alt.Color("key:N", title="Series", sort=keys),
            strokeWidth=alt.StrokeWidth(
                "level:N",
                scale=alt.Scale(domain=["total", "family"], range=[3.5, 1.2]),
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


def consensus_chart(demand_plan: pd.DataFrame, products: pd.DataFrame) -> alt.VConcatChart:
    """Statistical forecast against consensus per month, and the adjustments by family.

    Parameters
    ----------
    demand_plan : pd.DataFrame
        The ``demand_plan`` artifact (sku, month, statistical, adjustment, consensus,
        adjustment_reason).
    products : pd.DataFrame
        sku, family.

    Returns
    -------
    alt.VConcatChart
        Top: total statistical and consensus units per month (two lines). Bottom: the
        adjustment per month stacked by family (negative below zero). Tooltips list the
        distinct reasons given for the month (or the family-month).
    """
    columns = ["sku", "month", "statistical", "adjustment", "consensus", "adjustment_reason"]
    require_columns(demand_plan, "demand_plan", columns)
    require_columns(products, "products", ["sku", "family"])
    title = alt.Title(
        "Consensus demand plan",
        subtitle="Statistical forecast and consensus, all SKUs; below, what sales changed",
    )
    if demand_plan.empty:
        return _no_data(title)
    family = products.drop_duplicates("sku").set_index("sku")["family"]
    plan = demand_plan.assign(family=_families_of(demand_plan["sku"], family, "demand_plan"))
    plan["month"] = _month_label(plan["month"])
    sums = ["statistical", "adjustment", "consensus"]

    monthly = plan.groupby("month")[sums].sum().reset_index()
    monthly["reasons"] = monthly["month"].map(_reasons(plan, ["month"])).fillna("")
    lines_data = monthly.melt(
        id_vars=["month", "adjustment", "reasons"],
        value_vars=["statistical", "consensus"],
        var_name="series",
        value_name="units",
    )
    by_family = plan.groupby(["family", "month"])["adjustment"].sum().reset_index()
    family_reasons = _reasons(plan, ["family", "month"])
    by_family["reasons"] = (
        pd.Series(list(zip(by_family["family"], by_family["month"], strict=True)))
        .map(family_reasons)
        .fillna("")
        .to_numpy()
    )
    x = alt.X("month:O", title="Plan month", axis=alt.Axis(labelAngle=-45))
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
                alt.Tooltip("adjustment:Q", title="adjustment, all families", format="+,.0f"),
                alt.Tooltip("reasons:N"),
            ],
        )
        .properties(width=WIDTH, height=220)
    )
    bars = (
        alt.Chart(alt.Data(values=_records(by_family)))
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("adjustment:Q", title="Adjustment (units)"),
            color=alt.Color("family:N", title="Family"),
            tooltip=[
                alt.Tooltip("family:N"),
                alt.Tooltip("month:O"),
                alt.Tooltip("adjustment:Q", format="+,.0f"),
                alt.Tooltip("reasons:N"),
            ],
        )
        .properties(width=WIDTH, height=120)
    )
    return alt.vconcat(lines, bars, title=title, spacing=8).resolve_scale(color="independent")
