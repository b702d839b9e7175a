"""Input checks shared by the stage modules, so every stage words a bad input alike.

Each check raises :class:`sopkit.errors.SopError` with a message a planner can act on:
the table (or parameter), what is wrong with it, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sopkit.errors import SopError

__all__ = [
    "family_of",
    "month_number",
    "month_start",
    "reject_duplicates",
    "require_columns",
    "require_consensus",
    "whole_number",
]


def require_columns(df: pd.DataFrame, table: str, columns: Iterable[str]) -> None:
    """Raise unless ``df`` has every one of ``columns``.

    Parameters
    ----------
    df : pandas.DataFrame
        The table to check.
    table : str
        Its name as the planner knows it (``"products"``, ``"capacity"``, ...).
    columns : iterable of str
        The columns the caller reads.

    Raises
    ------
    SopError
        Naming the table, the missing columns and the columns it has.

    Examples
    --------
    >>> inventory = pd.DataFrame({"sku": ["A"]})
    >>> require_columns(inventory, "inventory", ["sku", "on_hand"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sopkit.errors.SopError: table inventory is missing column(s) on_hand (it has: sku). ...
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns)) or "no columns"
        raise SopError(
            f"table {table} is missing column(s) {', '.join(map(str, missing))} "
            f"(it has: {have}). Add the column(s), or pass {table} as sopkit.data loads it "
            "(input tables) or as its stage function returns it (artifacts)."
        )


def reject_duplicates(df: pd.DataFrame, table: str, keys: Sequence[str]) -> None:
    """Raise if two rows of ``df`` share the same ``keys``.

    Parameters
    ----------
    df, table
        As for :func:`require_columns`.
    keys : sequence of str
        The columns that identify a row (``["sku"]``, ``["family", "month"]``).

    Raises
    ------
    SopError
        A key column is missing, or some keys appear more than once (the first five
        such keys are named).
    """
    keys = list(keys)
    require_columns(df, table, keys)
    dup = df[df.duplicated(keys, keep=False)]
    if not dup.empty:
        shown = dup[keys].drop_duplicates().head(5).astype(str).agg(" / ".join, axis=1)
        per = " x ".join(keys)
        raise SopError(
            f"table {table} has more than one row for {per}: {'; '.join(shown)}. "
            f"Keep one row per {per}."
        )


def month_start(cycle: object, name: str = "cycle") -> pd.Timestamp:
    """The planning month as a first-of-month ``datetime64[ns]`` Timestamp.

    Parameters
    ----------
    cycle : pandas.Timestamp, datetime, numpy.datetime64 or str
        The first day of a month at midnight, without a time zone, e.g.
        ``pd.Timestamp("2026-11-01")``, ``"2026-11"`` or ``"2026-11-01"``. A later day
        or a time of day is refused rather than rounded down, so a wrong date never
        silently plans the wrong month.
    name : str, default "cycle"
        What the value is called in the message.

    Returns
    -------
    pandas.Timestamp
        Time-zone naive, nanosecond unit, like the months of the data contract.

    Raises
    ------
    SopError
        If ``cycle`` is missing, not a date, or not the start of a month.

    Examples
    --------
    >>> month_start("2026-11")
    Timestamp('2026-11-01 00:00:00')
    """
    if isinstance(cycle, (int, float, np.number)) and not pd.isna(cycle):
        why = "is a number, not a date"  # pd.Timestamp(0) would pass as 1970-01-01
    else:
        try:
            ts = pd.Timestamp(cycle)
        except (TypeError, ValueError, OverflowError):
            why = "is not a date"
        else:
            if ts is pd.NaT:
                why = "is missing"
            elif ts.tzinfo is not None:
                why = "has a time zone; give the month without one"
            elif ts.day != 1:
                why = "is not the first day of a month"
            elif ts != ts.normalize():
                why = "has a time of day; give midnight"
            elif not pd.Timestamp.min <= ts <= pd.Timestamp.max:
                why = "is outside the dates pandas can hold (years 1678 to 2261)"
            else:
                return ts.as_unit("ns")
    raise SopError(
        f"{name} must be a first-of-month date, the planning month, such as '2026-11' or "
        f"pd.Timestamp('2026-11-01'); got {cycle!r}, which {why}."
    )


def require_consensus(demand_plan: pd.DataFrame, purpose: str) -> None:
    """Raise unless the ``demand_plan`` artifact has rows, each with a consensus quantity.

    Parameters
    ----------
    demand_plan : pandas.DataFrame
        The stage 2 artifact; ``sku``, ``month`` and ``consensus`` are read.
    purpose : str
        What an empty plan leaves undone, completing "there is ...", e.g.
        ``"no plan to value"``.

    Raises
    ------
    SopError
        A missing column, no rows, or rows without a consensus (the first five named).
    """
    require_columns(demand_plan, "demand_plan", ["sku", "month", "consensus"])
    if demand_plan.empty:
        raise SopError(
            f"demand_plan is empty: there is {purpose}. "
            "Run stage 2 (demand planning) for this cycle first."
        )
    blank = demand_plan.loc[demand_plan["consensus"].isna(), ["sku", "month"]]
    if not blank.empty:
        where = ", ".join(f"{r.sku} {str(r.month)[:7]}" for r in blank.head(5).itertuples())
        raise SopError(
            f"demand_plan has {len(blank)} row(s) without a consensus quantity ({where}). "
            "Give every SKU x region x month a consensus (0 if nothing is planned)."
        )


def month_number(months: pd.Series | pd.DatetimeIndex | pd.Timestamp) -> np.ndarray | int:
    """Months as consecutive integers (``year * 12 + month - 1``).

    Month arithmetic is then integer arithmetic; the one month-arithmetic helper of sopkit.

    Parameters
    ----------
    months : pandas.Series, pandas.DatetimeIndex or pandas.Timestamp
        Dates; only their year and month count. Missing dates give NaN (float array).

    Returns
    -------
    numpy.ndarray or int
        An int64 array (float with NaN where a date is missing), or an int for a Timestamp.

    Examples
    --------
    >>> month_number(pd.Timestamp("2026-11-01")) - month_number(pd.Timestamp("2025-11-01"))
    12
    """
    if isinstance(months, pd.Timestamp):
        return months.year * 12 + months.month - 1
    idx = pd.DatetimeIndex(months)
    out = idx.year * 12 + idx.month - 1
    return out.to_numpy(dtype=float if idx.hasnans else np.int64)


def family_of(products: pd.DataFrame, skus: pd.Series, where: str) -> pd.Series:
    """The family of each SKU, the one SKU-to-family lookup of sopkit.

    One rule for duplicates: a SKU listed twice in ``products`` is an error, never
    resolved by taking the first row.

    Parameters
    ----------
    products : pandas.DataFrame
        ``sku`` and ``family``, one row per SKU.
    skus : pandas.Series
        The SKUs to look up.
    where : str
        The table the SKUs come from, for the message.

    Returns
    -------
    pandas.Series
        The families, on the index of ``skus``.

    Raises
    ------
    SopError
        A SKU listed twice in ``products``, or a SKU that ``products`` does not know.
    """
    require_columns(products, "products", ["sku", "family"])
    reject_duplicates(products, "products", ["sku"])
    family = skus.map(products.set_index("sku")["family"])
    unknown = family.isna() & skus.notna()
    if unknown.any():
        names = sorted(map(str, skus[unknown].unique()))
        raise SopError(
            f"{where} has SKU(s) that products does not list: {', '.join(names[:10])}"
            f"{' ...' if len(names) > 10 else ''}. Add them to products with a family, "
            "or pass the products table of the same dataset."
        )
    return family


def whole_number(value: object, name: str, minimum: int = 1, what: str = "") -> int:
    """``value`` as an int, or a SopError: a whole number (not a bool) of at least ``minimum``.

    Parameters
    ----------
    value : object
        What the caller was given.
    name : str
        The argument's name, for the message.
    minimum : int, default 1
        The smallest value allowed.
    what : str, default ""
        What it counts, for the message (``"months"``).

    Returns
    -------
    int

    Raises
    ------
    SopError
        Naming the argument, what was expected and what was given.

    Examples
    --------
    >>> whole_number(12, "horizon", what="months")
    12
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        unit = f" of {what}" if what else ""
        raise SopError(f"{name} must be a whole number{unit}, {minimum} or more; got {value!r}.")
    return int(value)
