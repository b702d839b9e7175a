"""What every chart module shares: the table formatter, sizes and data helpers."""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from sopkit._checks import whole_number

SERIES_COLOURS = ("#1f77b4", "#ff7f0e", "#9e9e9e")
WIDTH = 600


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
    "coverage",
)
#: Column names holding money, matched as substrings. Not a bare "value": a sales input's
#: value is a percent or units, and rounding 7.5 % to 8 would misreport it.
_MONEY_WORDS = ("revenue", "margin", "cost", "budget", "variance", "_value", "price")
#: Money per unit (or per hour) is small: shown with cents.
_UNIT_MONEY_WORDS = ("price", "unit_cost", "_per_")
NA_TEXT = "–"


def table(df: pd.DataFrame, *, max_rows: int = 60) -> Styler:
    """Show a table as the notebooks and the HTML report do: formatted, without the index.

    Float columns are formatted by name: names ending in ``_pct`` hold percent already
    ("12.3 %"); names starting with ``fva`` are differences of fractions, shown as
    signed points ("+4.5 pts"); names with a fraction word (share, growth, utilisation,
    wape, bias, mape, accuracy, otif, fill_rate, on_time, in_full, demand_cv) are
    fractions shown as percent; money (revenue, margin, cost, budget, variance,
    ``*_value``, price) as "1,234,567", money per unit (price, unit_cost, ``*_per_*``)
    with two decimals; anything else (hours, units, a sales input's value) as "1,234",
    with one decimal if a value is not whole (two if all are below 10, as hours per unit
    are). Integer columns get thousands separators, datetime columns are written
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
    whole_number(max_rows, "max_rows", 1, what="rows")
    shown = df.head(max_rows).reset_index(drop=True)
    formats = {column: _column_format(str(column), shown[column]) for column in shown.columns}
    # escape: cells hold the planners' own text (a sales input's reason), which the
    # HTML report must show, never run
    styler = shown.style.hide(axis="index").format(na_rep=NA_TEXT, escape="html")
    styler = styler.format(
        {c: f for c, f in formats.items() if f is not None}, na_rep=NA_TEXT, escape="html"
    )
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
    if name.startswith("fva"):  # a difference of two fractions: signed percentage points
        return lambda v: _finite_or(v, f"{100 * v:+,.1f} pts")
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


def _without_infinity(frame: pd.DataFrame) -> pd.DataFrame:
    """JSON has no infinity: infinite numbers become missing (the caller labels them)."""
    numeric = frame.select_dtypes("number").columns
    out = frame.copy()
    out[numeric] = out[numeric].replace([np.inf, -np.inf], np.nan)
    return out
