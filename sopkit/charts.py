"""Charts of the S&OP cycle, one function per view.

Each function takes an artifact table (as a stage returns it) and returns an altair chart
about 600 px wide, titled, with tooltips. Data is aggregated first where possible and
embedded inline as plain JSON values (no Timestamps, no NaN), so charts render offline,
are small enough to keep in executed notebooks, and never hit altair's row limit.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import HTML
from pandas.io.formats.style import Styler

from sopkit._checks import require_columns
from sopkit.errors import SopError
from sopkit.kpi import format_kpis
from sopkit.portfolio import ABC_CLASSES, LIFECYCLE_STAGES, XYZ_CLASSES
from sopkit.supply import CAPACITY_COLUMNS

__all__ = [
    "abc_xyz_matrix",
    "accuracy_chart",
    "budget_chart",
    "capacity_heatmap",
    "consensus_chart",
    "family_growth_chart",
    "forecast_chart",
    "kpi_cards",
    "lifecycle_chart",
    "material_chart",
    "pareto_chart",
    "production_chart",
    "scenario_chart",
    "service_chart",
    "table",
]

WIDTH = 600
ABC_COLOURS = ("#1f77b4", "#ff7f0e", "#9e9e9e")
LIFECYCLE_COLOURS = ("#17becf", "#2ca02c", "#1f77b4", "#ff7f0e", "#d62728")
UP_DOWN_COLOURS = ("#2ca02c", "#d62728")


def pareto_chart(
    portfolio: pd.DataFrame,
    *,
    abc_thresholds: Sequence[float] = (0.8, 0.95),
    max_points: int = 1000,
) -> alt.LayerChart:
    """Pareto curve: cumulative share of revenue against SKU rank, coloured by ABC class.

    Parameters
    ----------
    portfolio : pd.DataFrame
        The ``portfolio`` artifact (sku, description, family, revenue_12m, revenue_share,
        cumulative_share, abc).
    abc_thresholds : tuple of float, default (0.8, 0.95)
        The thresholds the portfolio was classified with, drawn as dashed lines.
    max_points : int, default 1000
        A larger catalogue is thinned to about this many evenly spaced ranks (the last item
        of each class is always kept), so the chart stays small; the curve looks the same.

    Returns
    -------
    alt.LayerChart
        Line and points (x rank, y cumulative_share, colour abc) and the threshold rules.

    Examples
    --------
    >>> pareto_chart(portfolio).save("pareto.html")  # doctest: +SKIP
    """
    columns = ["sku", "description", "family", "revenue_12m", "revenue_share"]
    require_columns(portfolio, "portfolio", [*columns, "cumulative_share", "abc"])
    ranked = portfolio.sort_values(
        ["revenue_12m", "sku"], ascending=[False, True], kind="mergesort", ignore_index=True
    )
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    keep = _thin(ranked["abc"], max_points)
    data = ranked.loc[keep, ["rank", *columns, "cumulative_share", "abc"]]

    # Layers without data of their own take the chart's data, so it is embedded once.
    base = alt.Chart().encode(
        x=alt.X(
            "rank:Q",
            title="SKU rank by revenue (last 12 months)",
            axis=alt.Axis(format="d", tickMinStep=1),
            scale=alt.Scale(domainMin=1),
        ),
        y=alt.Y(
            "cumulative_share:Q",
            title="Cumulative share of revenue",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
    )
    line = base.mark_line(color="#555555", strokeWidth=1.5)
    points = base.mark_circle(size=40, opacity=0.9).encode(
        color=alt.Color(
            "abc:N",
            title="ABC class",
            scale=alt.Scale(domain=list(ABC_CLASSES), range=list(ABC_COLOURS)),
        ),
        tooltip=[
            alt.Tooltip("rank:Q", title="rank"),
            alt.Tooltip("sku:N"),
            alt.Tooltip("description:N"),
            alt.Tooltip("family:N"),
            alt.Tooltip("abc:N", title="class"),
            alt.Tooltip("revenue_12m:Q", title="revenue", format=",.0f"),
            alt.Tooltip("revenue_share:Q", title="share", format=".1%"),
            alt.Tooltip("cumulative_share:Q", title="cumulative", format=".1%"),
        ],
    )
    first, second = (float(t) for t in abc_thresholds)
    thresholds = alt.Chart(
        alt.Data(
            values=[
                {"threshold": first, "label": f"A | B at {first:.0%}"},
                {"threshold": second, "label": f"B | C at {second:.0%}"},
            ]
        )
    )
    rules = thresholds.mark_rule(strokeDash=[4, 4], color="#888888").encode(
        y="threshold:Q", tooltip=[alt.Tooltip("label:N", title="threshold")]
    )
    labels = thresholds.mark_text(align="right", dx=-4, dy=-6, color="#555555").encode(
        y="threshold:Q", x=alt.value(WIDTH), text="label:N"
    )
    return alt.layer(line, points, rules, labels, data=alt.Data(values=_records(data))).properties(
        width=WIDTH,
        height=320,
        title=alt.Title(
            "Pareto curve of revenue",
            subtitle="Share of revenue from the top-ranked SKUs; colour = ABC class",
        ),
    )


def abc_xyz_matrix(portfolio: pd.DataFrame) -> alt.LayerChart:
    """ABC x XYZ matrix: number of SKUs per cell, with the cell's share of revenue.

    Parameters
    ----------
    portfolio : pd.DataFrame
        The ``portfolio`` artifact (sku, abc, xyz, revenue_12m, revenue_share).

    Returns
    -------
    alt.LayerChart
        A 3 x 3 heatmap (x xyz, y abc, colour skus) with a text label per cell; all nine
        cells are present, empty ones with 0.
    """
    require_columns(portfolio, "portfolio", ["sku", "abc", "xyz", "revenue_12m", "revenue_share"])
    data = _skus_and_revenue(
        portfolio, pd.MultiIndex.from_product([ABC_CLASSES, XYZ_CLASSES], names=["abc", "xyz"])
    )
    data["label"] = (
        data["skus"].astype(str)
        + np.where(data["skus"] == 1, " SKU, ", " SKUs, ")
        + (data["revenue_share"] * 100).round(1).astype(str)
        + " %"
    )
    half = max(float(data["skus"].max()), 1.0) / 2

    base = alt.Chart().encode(
        x=alt.X(
            "xyz:O",
            title="XYZ class (demand variability)",
            sort=list(XYZ_CLASSES),
            axis=alt.Axis(labelAngle=0),
        ),
        y=alt.Y("abc:O", title="ABC class (revenue)", sort=list(ABC_CLASSES)),
    )
    heat = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "skus:Q",
            title="SKUs",
            scale=alt.Scale(scheme="blues", domainMin=0),
            legend=None,  # the counts are written in the cells
        ),
        tooltip=[
            alt.Tooltip("abc:N", title="ABC"),
            alt.Tooltip("xyz:N", title="XYZ"),
            alt.Tooltip("skus:Q", title="SKUs"),
            alt.Tooltip("revenue_12m:Q", title="revenue", format=",.0f"),
            alt.Tooltip("revenue_share:Q", title="share of revenue", format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=13).encode(
        text="label:N",
        color=alt.condition(f"datum.skus > {half}", alt.value("white"), alt.value("black")),
    )
    return alt.layer(heat, text, data=alt.Data(values=_records(data))).properties(
        width=WIDTH,
        height=270,
        title=alt.Title(
            "ABC / XYZ matrix",
            subtitle="SKUs per class, and their share of revenue (last 12 months)",
        ),
    )


def family_growth_chart(family_summary: pd.DataFrame) -> alt.Chart:
    """Revenue growth by family, last 12 months against the 12 before.

    Parameters
    ----------
    family_summary : pd.DataFrame
        The table from :func:`sopkit.portfolio.summarise_families`; its ``Total`` row and
        families without revenue in the previous period (growth undefined) are left out.

    Returns
    -------
    alt.Chart
        Horizontal bars (x revenue_growth, y family, largest growth on top), green for
        growth and red for decline.
    """
    columns = ["family", "revenue_growth", "revenue_12m", "revenue_prev_12m", "margin_pct"]
    require_columns(family_summary, "family_summary", columns)
    data = family_summary.loc[
        (family_summary["family"] != "Total") & family_summary["revenue_growth"].notna(), columns
    ].copy()
    data["direction"] = np.where(data["revenue_growth"] < 0, "decline", "growth")
    return (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_bar()
        .encode(
            x=alt.X("revenue_growth:Q", title="Revenue growth", axis=alt.Axis(format="%")),
            y=alt.Y("family:N", title="Family", sort="-x"),
            color=alt.Color(
                "direction:N",
                title=None,
                scale=alt.Scale(domain=["growth", "decline"], range=list(UP_DOWN_COLOURS)),
            ),
            tooltip=[
                alt.Tooltip("family:N"),
                alt.Tooltip("revenue_growth:Q", title="growth", format="+.1%"),
                alt.Tooltip("revenue_12m:Q", title="revenue, last 12 months", format=",.0f"),
                alt.Tooltip("revenue_prev_12m:Q", title="revenue, 12 before", format=",.0f"),
                alt.Tooltip("margin_pct:Q", title="margin %", format=".1f"),
            ],
        )
        .properties(
            width=WIDTH,
            height=alt.Step(24),
            title=alt.Title(
                "Revenue growth by family",
                subtitle="Last 12 months against the 12 months before",
            ),
        )
    )


def lifecycle_chart(portfolio: pd.DataFrame) -> alt.LayerChart:
    """Revenue and number of SKUs by lifecycle stage.

    Parameters
    ----------
    portfolio : pd.DataFrame
        The ``portfolio`` artifact (sku, lifecycle, revenue_12m, revenue_share).

    Returns
    -------
    alt.LayerChart
        Horizontal bars of revenue per stage (stages in lifecycle order, all five shown)
        with the number of SKUs written at the end of each bar.
    """
    require_columns(portfolio, "portfolio", ["sku", "lifecycle", "revenue_12m", "revenue_share"])
    data = _skus_and_revenue(portfolio, pd.Index(LIFECYCLE_STAGES, name="lifecycle"))
    data["label"] = data["skus"].astype(str) + np.where(data["skus"] == 1, " SKU", " SKUs")

    base = alt.Chart().encode(
        y=alt.Y("lifecycle:N", title="Lifecycle stage", sort=list(LIFECYCLE_STAGES)),
        x=alt.X("revenue_12m:Q", title="Revenue, last 12 months"),
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "lifecycle:N",
            legend=None,
            scale=alt.Scale(domain=list(LIFECYCLE_STAGES), range=list(LIFECYCLE_COLOURS)),
        ),
        tooltip=[
            alt.Tooltip("lifecycle:N", title="stage"),
            alt.Tooltip("skus:Q", title="SKUs"),
            alt.Tooltip("revenue_12m:Q", title="revenue", format=",.0f"),
            alt.Tooltip("revenue_share:Q", title="share of revenue", format=".1%"),
        ],
    )
    text = base.mark_text(align="left", dx=4).encode(text="label:N")
    return alt.layer(bars, text, data=alt.Data(values=_records(data))).properties(
        width=WIDTH,
        height=alt.Step(32),
        title=alt.Title(
            "Portfolio by lifecycle stage",
            subtitle="Revenue over the last 12 months; number of SKUs at the end of each bar",
        ),
    )


def _skus_and_revenue(portfolio: pd.DataFrame, classes: pd.Index) -> pd.DataFrame:
    """SKUs, revenue_12m and revenue_share per class, every class of ``classes`` (0 if empty).

    ``classes`` is named after the portfolio columns it groups by; an empty class stays
    in the chart so the reader sees it is empty rather than wonder where it went.
    """
    data = (
        portfolio.groupby(list(classes.names))
        .agg(
            skus=("sku", "size"),
            revenue_12m=("revenue_12m", "sum"),
            revenue_share=("revenue_share", "sum"),
        )
        .reindex(classes, fill_value=0)
        .reset_index()
    )
    data["skus"] = data["skus"].astype(int)
    return data


def _thin(classes: pd.Series, max_points: int) -> np.ndarray:
    """Positions to draw: every item if few, else evenly spaced ranks plus class ends."""
    n = len(classes)
    if n <= max_points:
        return np.arange(n)
    spaced = np.linspace(0, n - 1, max(max_points, 2)).round().astype(int)
    class_ends = np.flatnonzero(classes.to_numpy()[:-1] != classes.to_numpy()[1:])
    return np.union1d(spaced, class_ends)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Plain-JSON rows: Timestamps as YYYY-MM-DD strings, NaN/NaT as None, Python scalars."""
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.strftime("%Y-%m-%d")
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


# --- tables ----------------------------------------------------------------------------

#: Column names holding fractions (0.123 -> "12.3 %"), matched as substrings.
_FRACTION_WORDS = (
    "share",
    "growth",
    "utilisation",
    "wape",
    "bias",
    "mape",
    "accuracy",
    "otif",
    "fill_rate",
    "on_time",
    "in_full",
    "demand_cv",
)
#: Column names holding money, matched as substrings.
_MONEY_WORDS = ("revenue", "margin", "cost", "budget", "variance", "value", "price")
#: Money per unit (or per hour) is small: shown with cents.
_UNIT_MONEY_WORDS = ("price", "unit_cost", "_per_")
NA_TEXT = "–"


def table(df: pd.DataFrame, *, max_rows: int = 60) -> Styler:
    """Show a table as the notebooks and the HTML report do: formatted, without the index.

    Float columns are formatted by name: names ending in ``_pct`` hold percent already
    ("12.3 %"); names with a fraction word (share, growth, utilisation, wape, bias, mape,
    accuracy, otif, fill_rate, on_time, in_full, demand_cv) are fractions shown as percent;
    money (revenue, margin, cost, budget, variance, value, price) as "1,234,567", money per
    unit (price, unit_cost, ``*_per_*``) with two decimals; anything else (hours, units)
    as "1,234", with one decimal if a value is not whole (two if all are below 10, as hours
    per unit are). Integer columns get thousands separators, datetime columns are written
    YYYY-MM (YYYY-MM-DD if a value is not the first of a month), missing values "–".
    Every ``_pct`` column is percent, whichever stage made it (``margin_pct`` of
    :mod:`sopkit.portfolio` as of :mod:`sopkit.finance`).

    Parameters
    ----------
    df : pd.DataFrame
        Any table; its index is not shown.
    max_rows : int, default 60
        A longer table shows its first ``max_rows`` rows and says so in the caption.

    Returns
    -------
    pandas.io.formats.style.Styler
        Renders in a notebook and with ``to_html()``.

    Examples
    --------
    >>> table(summarise_families(portfolio))  # doctest: +SKIP
    """
    if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 1:
        raise SopError(f"max_rows must be a whole number >= 1; got {max_rows!r}.")
    shown = df.head(max_rows).reset_index(drop=True)
    formats = {column: _column_format(str(column), shown[column]) for column in shown.columns}
    styler = shown.style.hide(axis="index").format(na_rep=NA_TEXT)
    styler = styler.format({c: f for c, f in formats.items() if f is not None}, na_rep=NA_TEXT)
    numeric = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])]
    if numeric and shown.columns.is_unique:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    if len(df) > max_rows:
        styler = styler.set_caption(
            f"first {max_rows:,} of {len(df):,} rows (all of them are in the artifact)"
        )
    return styler


def _column_format(name: str, values: pd.Series) -> Callable | None:
    """A formatter for one column, or None to leave it as it is (text, booleans)."""
    name = name.lower()
    if pd.api.types.is_datetime64_any_dtype(values):
        on_month_start = (
            values.dropna().dt.is_month_start.all()
            and (values.dropna() == values.dropna().dt.normalize()).all()
        )
        pattern = "%Y-%m" if on_month_start else "%Y-%m-%d"
        return lambda v: v.strftime(pattern)
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return None
    if pd.api.types.is_integer_dtype(values):
        return lambda v: f"{v:,}"
    if name.endswith("_pct"):
        return lambda v: _finite_or(v, f"{v:,.1f} %")
    if any(word in name for word in _FRACTION_WORDS):
        return lambda v: _finite_or(v, f"{100 * v:,.1f} %")
    if any(word in name for word in _MONEY_WORDS):
        decimals = 2 if any(word in name for word in _UNIT_MONEY_WORDS) else 0
        return lambda v: _finite_or(v, f"{v:,.{decimals}f}")
    numbers = values.dropna().astype(float)  # nullable Float64 holds pd.NA, not NaN
    finite = numbers[np.isfinite(numbers)]
    whole = bool((finite == finite.round()).all())
    decimals = 0 if whole else 2 if bool((finite.abs() < 10).all()) else 1
    return lambda v: _finite_or(v, f"{v:,.{decimals}f}")


def _finite_or(value: float, text: str) -> str:
    return text if np.isfinite(value) else ("∞" if value > 0 else "-∞")


# --- stage 2: demand -------------------------------------------------------------------

PART_DASHES = ([1, 0], [6, 4])
SERIES_COLOURS = ("#1f77b4", "#ff7f0e", "#9e9e9e")


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


# --- stage 3: supply -------------------------------------------------------------------

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
    columns = [c for c in CAPACITY_COLUMNS if c != "shadow_price"]
    require_columns(capacity, "capacity", columns)
    title = alt.Title(
        "Capacity utilisation",
        subtitle="Required over regular hours; outlined: needs overtime (thin) or short (thick)",
    )
    if capacity.empty:
        return _no_data(title)
    data = _without_infinity(capacity.loc[:, columns])
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


# --- stage 4: reconciliation -----------------------------------------------------------


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
        Three lines (x month, y revenue): actual (solid), plan (dashed) and budget (grey);
        a month without any budget row has no budget point.
    """
    require_columns(financials, "financials", ["family", "month", "revenue", "budget_revenue"])
    require_columns(actuals, "actuals", ["family", "month", "revenue", "budget_revenue"])
    title = alt.Title(
        "Revenue against budget",
        subtitle="All families; actual sales valued at today's prices, then the plan",
    )
    if financials.empty and actuals.empty:
        return _no_data(title)
    series = []
    for name, frame in (("actual", actuals), ("plan", financials)):
        if frame.empty:
            continue
        # min_count=1: a month no family has a budget for stays without budget, not 0.
        monthly = frame.groupby("month")[["revenue", "budget_revenue"]].sum(min_count=1)
        series.append(monthly["revenue"].rename(name))
        series.append(monthly["budget_revenue"].rename(f"budget {name}"))
    wide = pd.concat(series, axis=1)
    budget = [c for c in ("budget actual", "budget plan") if c in wide.columns]
    wide["budget"] = wide[budget].bfill(axis=1).iloc[:, 0]
    names = [c for c in ("actual", "plan", "budget") if c in wide.columns]
    data = (
        wide[names]
        .rename_axis("month")
        .reset_index()
        .melt(id_vars="month", var_name="series", value_name="revenue")
        .dropna(subset=["revenue"])
    )
    return (
        alt.Chart(alt.Data(values=_records(data)))
        .mark_line(point=alt.OverlayMarkDef(size=20))
        .encode(
            x=_month_x(),
            y=alt.Y("revenue:Q", title="Revenue per month"),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=["actual", "plan", "budget"], range=list(SERIES_COLOURS)),
                legend=alt.Legend(symbolType="stroke"),
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                title=None,
                scale=alt.Scale(
                    domain=["actual", "plan", "budget"], range=[[1, 0], [6, 4], [1, 0]]
                ),
            ),
            tooltip=[
                _month_tooltip(),
                alt.Tooltip("series:N"),
                alt.Tooltip("revenue:Q", format=",.0f"),
            ],
        )
        .properties(width=WIDTH, height=300, title=title)
    )


def scenario_chart(scenarios: pd.DataFrame) -> alt.HConcatChart | alt.Chart:
    """Scenarios side by side: revenue against budget, and peak capacity utilisation.

    Parameters
    ----------
    scenarios : pd.DataFrame
        The ``scenarios`` artifact (scenario, revenue, budget_revenue,
        revenue_vs_budget_pct in percent, margin_pct, peak_utilisation as a fraction,
        overloaded_resource_months).

    Returns
    -------
    alt.HConcatChart
        Two bar charts with one row per scenario ("baseline" first, then the given
        order): revenue against budget in percent (green above, red below, a rule at
        0) and peak utilisation (red above 100 %, a rule at 100 %). A peak of work on a
        resource without hours has no bar and reads "no hours".
    """
    columns = [
        "scenario",
        "revenue",
        "budget_revenue",
        "revenue_vs_budget_pct",
        "margin_pct",
        "peak_utilisation",
        "overloaded_resource_months",
    ]
    require_columns(scenarios, "scenarios", columns)
    title = alt.Title(
        "Scenarios compared",
        subtitle="Revenue against budget (over the budgeted months) and the busiest resource-month",
    )
    if scenarios.empty:
        return _no_data(title)
    data = scenarios.loc[:, columns].copy()
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
    ]
    half = (WIDTH - 60) // 2
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
    # Each panel has its own colours for above and below its line.
    return alt.hconcat(budget, peak, title=title, spacing=40).resolve_scale(color="independent")


# --- stage 5: executive review ---------------------------------------------------------

STATUS_COLOURS = {"good": "#2ca02c", "watch": "#f0a30a", "bad": "#d62728"}


def service_chart(service_levels: pd.DataFrame, *, target: float) -> alt.LayerChart:
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
        lines has no point.

    Raises
    ------
    SopError
        A missing column or a target outside (0, 1].
    """
    require_columns(service_levels, "service_levels", ["month", "lines", "otif", "fill_rate"])
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
        raise SopError(f"target must be a fraction in (0, 1] (0.95 for 95 %); got {target!r}.")
    title = alt.Title(
        "Customer service",
        subtitle=f"OTIF and fill rate per month of the requested date; dashed: target {target:.0%}",
    )
    if service_levels.empty:
        return _no_data(title)
    data = (
        service_levels.loc[:, ["month", "lines", "otif", "fill_rate"]]
        .rename(columns={"otif": "OTIF", "fill_rate": "fill rate"})
        .melt(id_vars=["month", "lines"], var_name="measure", value_name="rate")
    )
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
                scale=alt.Scale(domain=["OTIF", "fill rate"], range=list(SERIES_COLOURS[:2])),
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


# --- helpers of the stage charts -------------------------------------------------------


def _no_data(title: alt.Title, message: str = "No data to show") -> alt.Chart:
    """A small chart that says there is nothing to draw (an empty input is not an error)."""
    return (
        alt.Chart(alt.Data(values=[{"message": message}]))
        .mark_text(fontSize=14, color="#666666")
        .encode(text="message:N")
        .properties(width=WIDTH, height=60, title=title)
    )


def _month_x(title: str = "Month") -> alt.X:
    # UTC throughout: Vega parses "2026-11-01" as UTC midnight, which is still October
    # in a local time west of Greenwich.
    return alt.X(
        "month:T",
        timeUnit="utcyearmonth",
        title=title,
        axis=alt.Axis(format="%Y-%m", labelAngle=-45),
        scale=alt.Scale(type="utc"),
    )


def _month_tooltip() -> alt.Tooltip:
    return alt.Tooltip("month:T", timeUnit="utcyearmonth", format="%Y-%m")


def _month_label(months: pd.Series) -> pd.Series:
    return months.dt.strftime("%Y-%m").astype(object)


def _families_of(skus: pd.Series, family: pd.Series, name: str) -> pd.Series:
    mapped = skus.map(family)
    unknown = sorted(set(skus[mapped.isna()].astype(str)))
    if unknown:
        raise SopError(
            f"{name} has SKU(s) that products does not list: {', '.join(unknown[:10])}; "
            f"pass the products table of the same dataset."
        )
    return mapped


def _sum_by_family(frame: pd.DataFrame, column: str, family: pd.Series, name: str) -> pd.DataFrame:
    families = _families_of(frame["sku"], family, name)
    return frame.assign(family=families).groupby(["family", "month"], as_index=False)[column].sum()


def _reasons(plan: pd.DataFrame, keys: list[str]) -> pd.Series:
    """The distinct reasons per key, in order of appearance, joined with "; "."""
    given = plan.loc[plan["adjustment_reason"].notna(), [*keys, "adjustment_reason"]]
    split = given.assign(reason=given["adjustment_reason"].astype(str).str.split("; "))
    exploded = split.explode("reason").drop_duplicates([*keys, "reason"])
    joined = exploded.groupby(keys, sort=False)["reason"].agg("; ".join)
    return joined


def _without_infinity(frame: pd.DataFrame) -> pd.DataFrame:
    """JSON has no infinity: infinite numbers become missing (the caller labels them)."""
    numeric = frame.select_dtypes("number").columns
    out = frame.copy()
    out[numeric] = out[numeric].replace([np.inf, -np.inf], np.nan)
    return out
