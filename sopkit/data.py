"""Input data: the contract, the loaders and the validation.

Every source (a folder of CSV files, an Excel workbook with one sheet per table,
a SQL database, or the built-in demo) goes through :func:`validate_tables`, which
checks the whole data contract of ``DESIGN.md`` and reports every problem at
once in a :class:`~sopkit.errors.DataValidationError`. Nothing downstream runs
on data that failed.

What validation makes sure of, beyond types, keys and references:

- text cells and column headers are normalised (Unicode NFC, invisible characters
  such as zero-width spaces and byte order marks removed, non-breaking spaces made
  plain spaces, surrounding spaces stripped), so that keys typed two ways match; two
  keys that become equal are a duplicate, reported with both spellings;
- numbers are finite and within generous bounds per kind of column (:data:`MAX_UNITS`,
  :data:`MAX_MONEY`, :data:`MAX_HOURS`, :data:`MAX_WORKERS`, :data:`HOURS_IN_A_MONTH`);
- the sales history has no stray months far from the rest (more than
  :data:`MAX_HISTORY_GAP_MONTHS` months without any sales in between): an error;
- nor a stray end: last months in which only a tiny share of the SKU x region series
  have rows (fewer than :data:`MIN_SERIES_SHARE` of those of the busiest of the 12 months
  before; a row typed 2027-10 for 2026-10 would move the planning cycle a year ahead and
  plan nothing but that row): an error naming the rows;
- months without any sales history between the first and the last month are a
  *warning*, carried by the valid dataset in :attr:`Dataset.warnings`, and so is a last
  month that sells less than :data:`MIN_LAST_MONTH_SHARE` of the median month before it
  (the running month, exported before it ended, would be planned from as a full month);
- a column the contract does not know is a warning (it is ignored), an error when it is
  a misspelling (:data:`CLOSE_COLUMN_RATIO`) of a contract column the table lacks
  (``safety_stok``: the plan would run without safety stock); a column named twice is an
  error;
- codes (:data:`CODE_COLUMNS`) that differ only in case (``north`` beside ``North``) are
  a warning; a reference that is not found and holds non-ASCII characters names them
  (code point and Unicode name) and the known key it looks like (a Cyrillic ``К`` for a
  ``K``, an en dash for a hyphen, another case);
- in a CSV folder, ``.csv`` and ``.parquet`` are read in any case (``budget.CSV``), and a
  file named after a table that is not read (``budget.txt``) is an error, or a warning
  beside the file the table is read from; other files are left alone;
- one cause gives one message: a missing or empty table, a missing column or a
  column that is wrong in every row is reported once, not once per row.

Example
-------
>>> from sopkit.data import load_dataset
>>> ds = load_dataset("demo")                      # doctest: +SKIP
>>> ds.sales_history.columns.tolist()              # doctest: +SKIP
['sku', 'region', 'month', 'qty']
>>> [str(w) for w in ds.warnings]                  # doctest: +SKIP
[]
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from xml.etree.ElementTree import ParseError

import numpy as np
import pandas as pd

from ._checks import month_number, month_start
from .config import hide_password, scrub_password
from .errors import DataValidationError, Problem, SopError

# --------------------------------------------------------------------------- bounds

# The largest magnitude one cell of each kind may hold. They are generous on purpose:
# no business records more, so a larger value is a typo, a unit mix-up (grams for tonnes,
# cents for euros) or an export error, and it would swamp every KPI it reaches.

#: units in one cell: sales, orders, stock, supply limits, material per unit
MAX_UNITS = 1e9
#: money in one cell: prices, costs, revenue (any currency)
MAX_MONEY = 1e12
#: hours in one cell: a resource's capacity in a month, hours per unit
MAX_HOURS = 1e7
#: workers on one resource (or in the plant)
MAX_WORKERS = 1e7
#: hours one worker can give in a month: 31 days x 24 hours
HOURS_IN_A_MONTH = 744.0
#: a percent sales input cannot lower a quantity by more than all of it
MIN_PCT_ADJUSTMENT = -100.0
#: a percent sales input of +10,000 % multiplies the forecast by 101; above is a typo
MAX_PCT_ADJUSTMENT = 10_000.0
#: more months than this without any sales_history row separate a stray month from the rest
MAX_HISTORY_GAP_MONTHS = 12
#: a part of the history that more than MAX_HISTORY_GAP_MONTHS months without sales cut off is
#: stray (each row an error) only when small beside the part with the most rows: fewer rows
#: than MIN_SERIES_SHARE of that part's, or at most this many months long; and a part after it
#: only when it has no more rows than that part's busiest month. A larger part is no typo: the
#: gap is one error, naming its two ends
MAX_STRAY_MONTHS = 3
#: the last months of the history are stray (a typo such as 2027-10 for 2026-10) when each
#: has rows for fewer than this share of the SKU x region series of the busiest of the 12
#: months with rows before it, and together fewer rows than this share of the series of the
#: last month that has more (a low season seen a year before excepted): an error
MIN_SERIES_SHARE = 0.10
#: a last month of history that sells less than this share of the median month of the 12
#: months before it (and of the same month a year before, when there is one) is probably the
#: running month, exported before it ended: a warning
MIN_LAST_MONTH_SHARE = 0.5
#: the months with rows among the 12 before the last month needed to judge it as partial
MIN_MONTHS_TO_JUDGE_THE_LAST = 3
#: how close (difflib's ratio, 0 to 1) a column that the contract does not know must be to
#: a contract column the table lacks to be taken as a misspelling of it (an error)
CLOSE_COLUMN_RATIO = 0.8
#: text columns holding codes: spellings that differ only in case are a warning
CODE_COLUMNS = ("sku", "region", "family", "resource", "material", "customer")

# kind of bound -> (largest magnitude, unit for messages, why a larger value is refused)
LIMITS: dict[str, tuple[float, str, str]] = {
    "units": (MAX_UNITS, "units", "more is a typo or a unit mix-up"),
    "money": (MAX_MONEY, "", "more is a typo or a unit mix-up"),
    "hours": (MAX_HOURS, "hours", "more is a typo or a unit mix-up"),
    "workers": (MAX_WORKERS, "workers", "more is a typo or a unit mix-up"),
    "worker_hours": (HOURS_IN_A_MONTH, "hours", "a month has no more"),
}

# --------------------------------------------------------------------------- contract

STR, NUM, MONTH, DATE = "text", "number", "month", "date"
_EXPECTED = {
    STR: "a non-empty text",
    NUM: "a number",
    MONTH: "a month written YYYY-MM",
    DATE: "a date written YYYY-MM-DD",
}


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    ``required``: the column must be present. ``nullable``: cells may be empty.
    ``nonneg``: numbers must be >= 0. ``choices``: the allowed values. ``limit``:
    for numbers, the key of :data:`LIMITS` that bounds their magnitude.
    """

    name: str
    kind: str
    required: bool = True
    nullable: bool = False
    nonneg: bool = False
    choices: tuple[str, ...] = ()
    limit: str = ""


@dataclass(frozen=True)
class Ref:
    """Values of ``column`` must appear in ``table.target`` (empty cells are allowed)."""

    column: str
    table: str
    target: str


@dataclass(frozen=True)
class TableSpec:
    """One input table: its columns, key and references.

    ``any_of``: optional columns of which at least one must be present.
    """

    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    refs: tuple[Ref, ...] = ()
    required: bool = False
    any_of: tuple[str, ...] = ()


def _c(name, kind, **kw):
    return Column(name, kind, **kw)


def _n(name, limit, **kw):
    """A number column that cannot be negative, bounded by ``LIMITS[limit]``."""
    return Column(name, NUM, nonneg=True, limit=limit, **kw)


CONTRACT: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "products",
            "one row per SKU",
            (
                _c("sku", STR),
                _c("description", STR),
                _c("family", STR),
                _n("unit_price", "money"),
                _n("unit_cost", "money"),
                _c("status", STR, choices=("active", "new", "phase_out", "discontinued")),
                _c("launch_month", MONTH),
                _c("eol_month", MONTH, required=False, nullable=True),
                _c("like_sku", STR, required=False, nullable=True),
            ),
            key=("sku",),
            refs=(Ref("like_sku", "products", "sku"),),
            required=True,
        ),
        TableSpec(
            "sales_history",
            "one row per SKU x region x month",
            (_c("sku", STR), _c("region", STR), _c("month", MONTH), _n("qty", "units")),
            key=("sku", "region", "month"),
            refs=(Ref("sku", "products", "sku"),),
            required=True,
        ),
        TableSpec(
            "order_lines",
            "one row per order line",
            (
                _c("order_id", STR),
                _c("sku", STR),
                _c("region", STR),
                _c("customer", STR),
                _c("order_date", DATE),
                _c("requested_date", DATE),
                _n("requested_qty", "units"),
                _c("shipped_date", DATE, nullable=True),
                _n("shipped_qty", "units", nullable=True),
            ),
            key=("order_id", "sku"),
            refs=(Ref("sku", "products", "sku"),),
        ),
        TableSpec(
            "inventory",
            "one row per SKU",
            (
                _c("sku", STR),
                _n("on_hand", "units"),
                _n("safety_stock", "units", required=False, nullable=True),
            ),
            key=("sku",),
            refs=(Ref("sku", "products", "sku"),),
        ),
        TableSpec(
            "resources",
            "one row per resource x month, or per resource for all months",
            (
                _c("resource", STR),
                _c("month", MONTH, required=False, nullable=True),
                _n("regular_hours", "hours"),
                _n("max_overtime_hours", "hours"),
                _n("overtime_cost_per_hour", "money"),
            ),
            key=("resource", "month"),
        ),
        TableSpec(
            "routings",
            "one row per SKU x resource",
            (_c("sku", STR), _c("resource", STR), _n("hours_per_unit", "hours")),
            key=("sku", "resource"),
            refs=(Ref("sku", "products", "sku"), Ref("resource", "resources", "resource")),
        ),
        TableSpec(
            "bom",
            "one row per SKU x material",
            (_c("sku", STR), _c("material", STR), _n("qty_per_unit", "units")),
            key=("sku", "material"),
            refs=(Ref("sku", "products", "sku"), Ref("material", "material_supply", "material")),
        ),
        TableSpec(
            "material_supply",
            "one row per material x month, or per material for all months",
            (
                _c("material", STR),
                _c("month", MONTH, required=False, nullable=True),
                _n("max_qty", "units"),
                _n("unit_cost", "money"),
            ),
            key=("material", "month"),
        ),
        TableSpec(
            "costs",
            "one row per SKU, or one row for all SKUs",
            (
                _c("sku", STR, required=False, nullable=True),
                _n("holding_cost_per_unit_month", "money"),
                _n("backlog_cost_per_unit_month", "money"),
                _n("subcontract_cost_per_unit", "money"),
                _n("max_subcontract_qty", "units"),
            ),
            key=("sku",),
            refs=(Ref("sku", "products", "sku"),),
        ),
        TableSpec(
            "workforce",
            "one row for the plant, or one row per resource",
            (
                _c("resource", STR, required=False, nullable=True),
                _n("workers", "workers"),
                _n("hours_per_worker_month", "worker_hours"),
                _n("hire_cost", "money"),
                _n("layoff_cost", "money"),
                _n("regular_cost_per_hour", "money"),
            ),
            key=("resource",),
            refs=(Ref("resource", "resources", "resource"),),
        ),
        TableSpec(
            "sales_inputs",
            "one row per adjustment",
            (
                # by SKU or by family: a file may hold either column or both
                _c("sku", STR, required=False, nullable=True),
                _c("family", STR, required=False, nullable=True),
                _c("region", STR, required=False, nullable=True),
                _c("month", MONTH),
                _c("kind", STR, choices=("pct", "abs")),
                # pct: MIN_PCT_ADJUSTMENT..MAX_PCT_ADJUSTMENT (checked with the kind); abs: units
                _c("value", NUM, limit="units"),
                _c("reason", STR),
                _c("author", STR),
            ),
            refs=(
                Ref("sku", "products", "sku"),
                Ref("family", "products", "family"),
                Ref("region", "sales_history", "region"),
            ),
            any_of=("sku", "family"),
        ),
        TableSpec(
            "budget",
            "one row per family x month",
            (
                _c("family", STR),
                _c("month", MONTH),
                _n("revenue", "money"),
                # the budgeted gross margin (revenue less all costs); a loss is negative
                _c("margin", NUM, limit="money", required=False, nullable=True),
            ),
            key=("family", "month"),
            refs=(Ref("family", "products", "family"),),
        ),
    )
}
TABLES: tuple[str, ...] = tuple(CONTRACT)
#: optional columns added to the contract after cycles were fingerprinted without them
#: (:meth:`Dataset.fingerprint` leaves them out while they are empty)
LATER_COLUMNS: dict[str, tuple[str, ...]] = {"budget": ("margin",)}

#: What :meth:`Dataset.as_of` cannot take back in time, because the contract holds no
#: history of it (``table.column``, or a whole table): used as it is now, whatever the cycle.
TAKEN_AS_NOW: tuple[str, ...] = (
    "inventory.on_hand", "inventory.safety_stock",
    "products.status", "products.unit_price", "products.unit_cost", "products.eol_month",
    "products.like_sku",
    "resources", "routings", "bom", "material_supply", "costs", "workforce", "sales_inputs",
    "budget",
)  # fmt: skip


def empty_table(name: str) -> pd.DataFrame:
    """An empty table with the contract's columns and dtypes."""
    cols = {}
    for c in CONTRACT[name].columns:
        if c.kind == NUM:
            cols[c.name] = pd.Series(dtype="float64")
        elif c.kind in (MONTH, DATE):
            cols[c.name] = pd.Series(dtype="datetime64[ns]")
        else:
            cols[c.name] = pd.Series(dtype="object")
    return pd.DataFrame(cols)


# --------------------------------------------------------------------------- dataset


@dataclass(frozen=True)
class Dataset:
    """The validated input tables of one cycle, typed as the contract says.

    Months are first-of-month ``datetime64[ns]``; text is ``str`` (missing:
    ``None``); numbers are ``float64``. Optional tables that the source did not
    provide (or provided with a header and no rows) are empty frames with the
    contract's columns.

    Attributes
    ----------
    source : str
        A label for where the data came from (a folder, a workbook, a URL without its
        password).
    warnings : tuple of Problem
        What validation found suspicious but not wrong, each a
        :class:`~sopkit.errors.Problem` (``str(w)`` is the line to print): months
        without any sales_history row between the first and the last month, a last
        month that looks partial, empty rows that were skipped, columns that are not
        in the contract, codes that differ only in case, files of a folder that were
        not read. ``sop validate`` and ``sop run`` print them; they never stop a run.
        Not part of equality or of the fingerprint.
    as_of_notes : tuple of str
        Set by :meth:`as_of`: one sentence per table or column the dataset could not
        take back to the cycle because the data has no history of it (see
        :data:`TAKEN_AS_NOW`). Empty for a dataset as loaded. Not part of equality.
    origins : dict of str to str
        How the source names each table it gave (``{"sales_history":
        "sales_history.csv"}``), for messages such as the warnings :meth:`as_of`
        recomputes. Empty for a dataset built by hand. Not part of equality.
    """

    products: pd.DataFrame
    sales_history: pd.DataFrame
    order_lines: pd.DataFrame
    inventory: pd.DataFrame
    resources: pd.DataFrame
    routings: pd.DataFrame
    bom: pd.DataFrame
    material_supply: pd.DataFrame
    costs: pd.DataFrame
    workforce: pd.DataFrame
    sales_inputs: pd.DataFrame
    budget: pd.DataFrame
    source: str = field(default="", compare=False)
    warnings: tuple[Problem, ...] = field(default=(), compare=False)
    as_of_notes: tuple[str, ...] = field(default=(), compare=False)
    origins: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by contract name."""
        return {name: getattr(self, name) for name in TABLES}

    @property
    def first_month(self) -> pd.Timestamp:
        """First month of sales history."""
        return self.sales_history["month"].min()

    @property
    def last_month(self) -> pd.Timestamp:
        """Last month of sales history (the cycle is the month after, by default)."""
        return self.sales_history["month"].max()

    def fingerprint(self) -> str:
        """SHA-256 of the tables' contents: equal for equal data, whatever the source.

        An optional column the contract gained later (:data:`LATER_COLUMNS`) counts only
        where it holds a value, so data without it keeps the fingerprint it had before.
        """
        h = hashlib.sha256()
        for name, df in self.tables().items():
            later = [c for c in LATER_COLUMNS.get(name, ()) if c in df and df[c].isna().all()]
            if later:
                df = df.drop(columns=later)
            h.update(name.encode())
            h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        return h.hexdigest()

    def summary(self) -> pd.DataFrame:
        """Rows per table, with the months each covers."""
        rows = []
        for name, df in self.tables().items():
            months = [df[c] for c in ("month", "order_date") if c in df and df[c].notna().any()]
            first = min(m.min() for m in months) if months else pd.NaT
            last = max(m.max() for m in months) if months else pd.NaT
            rows.append(
                {
                    "table": name,
                    "rows": len(df),
                    "from": "" if pd.isna(first) else first.strftime("%Y-%m"),
                    "to": "" if pd.isna(last) else last.strftime("%Y-%m"),
                }
            )
        return pd.DataFrame(rows)

    def as_of(self, cycle: pd.Timestamp) -> Dataset:
        """The dataset as it was known before the month ``cycle`` (for planning that cycle).

        - ``sales_history``: the rows with ``month < cycle``;
        - ``order_lines``: the lines with ``order_date < cycle``; a line shipped on or after
          the first day of ``cycle`` is still open then, so its ``shipped_date`` and
          ``shipped_qty`` are blanked;
        - every other table as it is: the contract holds no history of them. Which ones
          (:data:`TAKEN_AS_NOW`: today's stock on hand, today's product status, ...) is
          said in :attr:`as_of_notes`, one sentence per table that has rows.

        A pure function: ``self`` is not changed. A cycle after every month and date of the
        data gives equal tables (and the same fingerprint); a cycle on or before the first
        month gives an empty history (the cycle runner refuses such a cycle).

        Parameters
        ----------
        cycle : pandas.Timestamp or str
            The planning month: a first-of-month date such as ``pd.Timestamp("2025-11-01")``
            or ``"2025-11"``.

        Returns
        -------
        Dataset
            Typed like this one; ``warnings`` about the history are recomputed for the
            shorter history, ``as_of_notes`` says what could not be taken back.

        Raises
        ------
        SopError
            ``cycle`` is not the first day of a month.

        Examples
        --------
        >>> past = ds.as_of(pd.Timestamp("2025-11-01"))     # doctest: +SKIP
        >>> past.last_month                                  # doctest: +SKIP
        Timestamp('2025-10-01 00:00:00')
        """
        cycle = month_start(cycle)
        sales = self.sales_history
        before = sales["month"] < cycle
        if not before.all():
            sales = sales.loc[before].reset_index(drop=True)
        lines = self.order_lines
        ordered = lines["order_date"] < cycle
        later = lines["shipped_date"] >= cycle
        if not ordered.all() or later.any():
            lines = lines.copy()
            lines.loc[later, "shipped_date"] = pd.NaT
            lines.loc[later, "shipped_qty"] = np.nan
            lines = lines.loc[ordered].reset_index(drop=True)
        kept = [w for w in self.warnings if not _is_history_warning(w)]
        origin = self.origins.get("sales_history", "sales_history")
        num, _, total = _per_month(sales)
        return dataclasses.replace(
            self,
            sales_history=sales,
            order_lines=lines,
            warnings=tuple(kept + _history_warnings(num, total, origin)),
            as_of_notes=_as_of_notes(self, cycle),
        )


def _as_of_notes(ds: Dataset, cycle: pd.Timestamp) -> tuple[str, ...]:
    month = f"{cycle:%Y-%m}"
    notes = []
    if not ds.inventory.empty:
        notes.append(
            f"inventory (on_hand, safety_stock) is the stock as it is now, not at the start "
            f"of {month}: the data holds no inventory history."
        )
    if not ds.products.empty:
        notes.append(
            f"products status, prices, costs, eol_month and like_sku are as they are now, "
            f"not as they were in {month}: the data holds no product history."
        )
    whole = [t for t in TAKEN_AS_NOW if "." not in t and not getattr(ds, t).empty]
    if whole:
        one = len(whole) == 1
        notes.append(
            f"{_and(whole)} {'is' if one else 'are'} taken as {'it is' if one else 'they are'} now "
            f"for {month}: the data carries no date of entry for {'it' if one else 'them'}."
        )
    return tuple(notes)


# --------------------------------------------------------------------------- text

# Characters nobody sees that come with copy and paste, web pages and exports: zero-width
# spaces and joiners, direction marks, word joiners, soft hyphens, byte order marks.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069"
    "\ufeff"
)
_NO_BREAK_SPACES = "\u00a0\u2007\u202f"
_UNSEEN = str.maketrans({**dict.fromkeys(_INVISIBLE), **dict.fromkeys(_NO_BREAK_SPACES, " ")})


def _normalise(text: str) -> str:
    r"""The text as keys compare it: NFC, no invisible characters, plain spaces, stripped.

    "Café" typed with a combining accent and with a precomposed é become the same text,
    and so do "A-1", "A-1\\u200b" and "\\ufeffA-1".
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text.translate(_UNSEEN))
    return text.strip()


def _spelling(text: object) -> str:
    """A cell as written, with every invisible or non-ASCII character as a code point."""
    return ascii(text) if isinstance(text, str) else repr(text)


# --------------------------------------------------------------------------- validation

# When every cell of a column breaks a rule and there are more of them than a message
# shows, the column (its format, its codes) is the one cause: one problem says so.
_COLLAPSE_FROM = DataValidationError.SHOW_PER_KIND


class _Checker:
    """Collects problems for one source; ``row_offset`` maps index -> file row.

    ``head`` holds problems about whole tables and columns (printed first), ``problems``
    those about cells, ``warnings`` what is suspicious but not wrong.
    """

    def __init__(self, origins: Mapping[str, str], row_offset: int) -> None:
        self.origins = dict(origins)
        self.row_offset = row_offset
        self.head: list[Problem] = []
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def where(self, table: str) -> str:
        return self.origins.get(table, table)

    def add(self, table, column, expected, rows=None, values=None, details=None):
        origin = self.where(table)
        if rows is None:
            self.problems.append(Problem(table, None, column, None, expected, origin))
            return
        details = [""] * len(rows) if details is None else details
        for r, v, d in zip(rows, values, details, strict=True):
            value = None if _is_missing(v) else v
            self.problems.append(
                Problem(table, int(r) + self.row_offset, column, value, expected, origin, d)
            )

    def add_cells(
        self, table, column, expected, rows, values, *, of: int, hint: str = "", details=None
    ):
        """Like :meth:`add`, but one problem for a column whose every cell breaks the rule.

        That is when all ``of`` cells break it (and more than a screenful): the problem
        shows the first cell's value (and its detail, after the hint).
        """
        if of <= _COLLAPSE_FROM or len(rows) != of:
            self.add(table, column, expected, rows, values, details)
            return
        first = values.iloc[0] if isinstance(values, pd.Series) else values[0]
        detail = f"all {of:,} rows of the column are like this, from row "
        detail += f"{int(rows[0]) + self.row_offset}" + (f": {hint}" if hint else "")
        if details and details[0]:
            detail += f"; {details[0]}"
        value = None if _is_missing(first) else first
        self.problems.append(
            Problem(table, None, column, value, expected, self.where(table), detail)
        )


def _is_missing(v) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v))


def _clean(s: pd.Series, *, count: bool = False) -> tuple[pd.Series, pd.Series, pd.Series | None]:
    """Normalise text cells (see :func:`_normalise`) and say which cells are empty.

    Vectorised over the distinct values: long tables repeat few SKUs, regions and months.
    Non-text cells (numbers and dates from Excel or a database) are kept as they are. With
    ``count``, the third item is the number of rows of each non-empty text (when the column
    is all text; else None), known here at no cost.
    """
    if isinstance(s.dtype, pd.StringDtype):
        s = s.astype(object).where(s.notna(), None)
    if s.dtype != object:
        return s, s.isna(), None
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind == "string":
        codes, uniques = pd.factorize(s.to_numpy(), use_na_sentinel=True)
        cleaned = [_normalise(u) or None for u in uniques]
        lookup = np.array([*cleaned, None], dtype=object)  # code -1 (missing) -> None
        blank = np.array([c is None for c in cleaned] + [True])
        values = None
        if count:
            n = np.bincount(codes[codes >= 0], minlength=len(uniques))
            values = pd.Series(n, index=lookup[:-1]).loc[~blank[:-1]]
            values = values.groupby(level=0, sort=False).sum()  # "A" and "A " are one text
        out = pd.Series(lookup[codes], index=s.index), pd.Series(blank[codes], index=s.index)
        return *out, values
    if kind not in ("mixed", "mixed-integer"):
        return s, s.isna(), None
    text = s.map(lambda v: _normalise(v) if isinstance(v, str) else v)
    blank = text.isna() | text.map(lambda v: isinstance(v, str) and not v)
    return text.where(~blank, None), blank, None


def _text_cell(v: object) -> str | None:
    if isinstance(v, float) and v.is_integer():
        v = int(v)  # a code typed as 1001 in Excel arrives as 1001.0
    return _normalise(str(v)) or None


def _as_text(s: pd.Series) -> pd.Series:
    out = s.astype(object)
    if pd.api.types.infer_dtype(out, skipna=True) not in ("string", "empty"):
        other = out.notna() & ~out.map(type).eq(str)
        out[other] = out[other].map(_text_cell)
    return out.where(out.notna(), None)


#: what pandas infers for a column of text or numbers, with no boolean in it
_NO_BOOLEANS = {"string", "empty", "floating", "integer", "mixed-integer-float", "decimal"}


def _as_number(s: pd.Series) -> pd.Series:
    """Numbers as float; anything else, booleans too (Excel's TRUE is no quantity), NaN."""
    if pd.api.types.is_bool_dtype(s):
        return pd.Series(np.nan, index=s.index)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64")
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) not in _NO_BOOLEANS:
        out[s.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy()] = np.nan
    return out


# a number written in decimal, possibly too large for a float ("1e999"): pandas gives NaN
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _overflow(v: object) -> float:
    """``inf`` (with its sign) for decimal text beyond the largest float, else NaN."""
    if isinstance(v, str) and _DECIMAL.fullmatch(v):
        x = float(v)
        return x if np.isinf(x) else np.nan
    return np.nan


_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"


def _as_datetime(s: pd.Series, fmt: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) else s
        return out.astype("datetime64[ns]")
    text = s
    out = pd.to_datetime(text, format=fmt, errors="coerce")
    retry = out.isna() & text.notna()
    if retry.any():
        # Real dates from Excel or SQL arrive as date objects (str: "2026-11-01 00:00:00");
        # accept those and YYYY-MM-DD text, nothing looser ("2026/11", "20261101").
        vals = text[retry].astype(str)
        iso = vals.str.fullmatch(_ISO_DATE)
        out[vals.index[iso]] = pd.to_datetime(vals[iso], format="ISO8601", errors="coerce")
    return out.astype("datetime64[ns]")


def _ranges(rows: list[int], show: int = 10) -> str:
    """``[4, 5, 6, 9]`` -> ``"4-6, 9"`` (the first ``show`` runs, then how many more rows)."""
    runs: list[list[int]] = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1][1] = r
        else:
            runs.append([r, r])
    text = ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs[:show])
    if len(runs) > show:
        text += f" and {sum(b - a + 1 for a, b in runs[show:])} more"
    return text


@dataclass
class _Table:
    """One table the source gave, its headers normalised, before typing.

    ``raw`` keeps the source's row positions as its index (rows that were empty in every
    contract column are dropped); ``cells`` holds each contract column present, cleaned,
    with its mask of empty cells; ``missing`` the required columns it lacks (and the
    ``any_of`` columns when it has none of them); ``problems`` the problems of its header.
    """

    raw: pd.DataFrame
    cells: dict[str, tuple[pd.Series, pd.Series]]
    missing: set[str]
    found: str
    problems: list[Problem]
    empty_rows: int = 0
    bad_keys: pd.Series | None = None  # rows whose key cells were reported (set by _convert)
    close: dict[str, str] = field(default_factory=dict)  # missing column -> a column like it
    distinct: dict[str, pd.Series] = field(default_factory=dict)  # code column: rows per value


def _prepare(chk: _Checker, spec: TableSpec, frame: pd.DataFrame) -> _Table:
    raw = frame.reset_index(drop=True)
    headers = [_normalise(str(c)) for c in raw.columns]
    contract_names = {c.name for c in spec.columns}
    # a header that differs from a contract column's name only in case or spacing is that column
    by_key = {_column_key(c.name): c.name for c in spec.columns}
    names = [h if h in contract_names else by_key.get(_column_key(h), h) for h in headers]
    positions: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        positions[name].append(i)
    problems = []
    for name, pos in positions.items():
        if len(pos) > 1 and name in contract_names:
            written = [raw.columns[i] for i in pos]
            spelled = ", ".join(map(_spelling, written))
            if len(set(written)) == 1:
                found = f"found {len(pos)}, columns {_and([str(i + 1) for i in pos])}; keep one"
            elif len({headers[i] for i in pos}) == 1:
                found = f"found {len(pos)}: {spelled}, the same name once normalised; keep one"
            else:
                found = (
                    f"found {len(pos)}: {spelled}, the same name once case and spacing are "
                    "ignored; keep one"
                )
            problems.append(
                Problem(spec.name, None, name, None, f"one column named {name!r}",
                        chk.where(spec.name), found)
            )  # fmt: skip
    keep = sorted(pos[0] for pos in positions.values())
    if len(keep) < len(headers):
        raw = raw.iloc[:, keep]
    raw.columns = [names[i] for i in keep]
    found = ", ".join(headers[i] for i in keep) or "none"
    renamed = [
        f"{headers[pos[0]]!r} as {name}"
        for name, pos in positions.items()
        if len(pos) == 1 and name in contract_names and headers[pos[0]] != name
    ]
    if renamed:
        one = len(renamed) == 1
        chk.warnings.append(
            Problem(spec.name, None, None, None, "the column names of the data contract",
                    chk.where(spec.name),
                    statement=f"has {'a header' if one else f'{len(renamed)} headers'} that "
                    f"differ{'s' if one else ''} from the data contract's column names only in "
                    f"case or spacing, read as {'that column' if one else 'those columns'}: "
                    f"{_and(renamed)}")
        )  # fmt: skip
    missing = {c.name for c in spec.columns if c.required and c.name not in raw.columns}
    if spec.any_of and not set(spec.any_of) & set(raw.columns):
        missing |= set(spec.any_of)
    close: dict[str, str] = {}
    if not all(c.name in missing for c in spec.columns if c.required):  # not headerless
        close = _other_columns(chk, spec, raw, keep, problems)
    counted = {c.name for c in spec.columns if c.kind == STR and c.name in CODE_COLUMNS}
    cells, distinct = {}, {}
    for c in spec.columns:
        if c.name in raw.columns:
            text, blank, values = _clean(raw[c.name], count=c.name in counted)
            cells[c.name] = (text, blank)
            if values is not None:
                distinct[c.name] = values
    n_empty = 0
    if cells and len(raw):
        empty = np.logical_and.reduce([b.to_numpy(dtype=bool) for _, b in cells.values()])
        n_empty = int(empty.sum())
        if 0 < n_empty < len(raw):
            rows = (np.flatnonzero(empty) + chk.row_offset).tolist()
            many = n_empty > 1
            chk.warnings.append(
                Problem(
                    spec.name, None, None, None, "a value in at least one column of each row",
                    chk.where(spec.name),
                    statement=f"has {n_empty} empty row{'s' if many else ''} ({_ranges(rows)}); "
                    f"{'they were' if many else 'it was'} skipped",
                )
            )  # fmt: skip
        if n_empty:
            keep_rows = ~empty
            raw = raw.loc[keep_rows]
            cells = {k: (s[keep_rows], b[keep_rows]) for k, (s, b) in cells.items()}
    return _Table(raw, cells, missing, found, problems, n_empty, close=close, distinct=distinct)


def _column_key(name: str) -> str:
    """A header as column names are compared: case and spacing ignored.

    Case folded, and runs of spaces, dots, hyphens and underscores made one underscore:
    ``"Unit Price"`` and ``"UNIT-PRICE"`` give ``unit_price``.
    """
    return re.sub(r"[\s._\-]+", "_", name.casefold())


def _column(spec: TableSpec, name: str) -> Column:
    """The contract column ``name`` of ``spec``."""
    return next(c for c in spec.columns if c.name == name)


def _what(col: Column) -> str:
    """What a contract column holds, for messages: ``"a number of units"``."""
    if col.kind != NUM:
        return _EXPECTED[col.kind]
    unit = LIMITS[col.limit][1]
    return f"a number of {unit}" if unit else "an amount of money"


def _other_columns(
    chk: _Checker, spec: TableSpec, raw: pd.DataFrame, order: list[int], problems: list[Problem]
) -> dict[str, str]:
    """Report the columns that the contract does not know; return the misspelled required ones.

    A column named after a contract column plus a suffix (``safety_stock_days``) is another
    column, not a misspelling: a warning of its own names both (the contract's column may
    be in other units). A column close to a contract column that the table lacks
    (:data:`CLOSE_COLUMN_RATIO`) is taken as a misspelling of it: an error for an optional
    column (it would be ignored, and the plan made without it), a hint on the "missing
    column" problem for a required one (returned: contract column -> the column found). The
    others are one warning: they are ignored. A column without a header and without values
    (Excel's formatted blank columns) is no news.
    """
    names = {c.name for c in spec.columns}
    absent = {_column_key(c.name): c.name for c in spec.columns if c.name not in raw.columns}
    close: dict[str, str] = {}
    ignored: list[str] = []
    for position, h in sorted(zip(order, raw.columns, strict=True)):
        if h in names:
            continue
        if not h or h.startswith("Unnamed: "):  # pandas' name for an empty header cell
            if raw[h].notna().any():
                ignored.append(f"a column without a header (column {position + 1})")
            continue
        key = _column_key(h)
        base = max((n for n in names if key.startswith(n + "_") and len(key) > len(n) + 1),
                   key=len, default="")  # fmt: skip
        if base:
            what = _what(_column(spec, base))
            tail = (
                f"{what}, read from its own column"
                if base in raw.columns
                else f"{what}; to give {spec.name} a {base}, add a column named {base}"
            )
            chk.warnings.append(
                Problem(spec.name, None, h, None, f"a column of {spec.name}", chk.where(spec.name),
                        statement=f"not read, and not taken for {base}: in the data contract, "
                        f"{base} is {tail}")
            )  # fmt: skip
            continue
        match = difflib.get_close_matches(key, absent, n=1, cutoff=CLOSE_COLUMN_RATIO)
        if not match:
            ignored.append(h)
            continue
        c = absent.pop(match[0])
        if _column(spec, c).required:
            close[c] = h
            continue
        problems.append(
            Problem(spec.name, None, h, None, f"a column of {spec.name}", chk.where(spec.name),
                    statement=f"not a column of {spec.name}; did you mean {c}? Rename the "
                    "column: as it is, it would be ignored")
        )  # fmt: skip
    if ignored:
        one = len(ignored) == 1
        chk.warnings.append(
            Problem(spec.name, None, None, None, f"only the columns of {spec.name}",
                    chk.where(spec.name),
                    statement=f"has {'a column' if one else f'{len(ignored)} columns'} that "
                    f"{'is' if one else 'are'} not in the data contract, ignored: "
                    f"{', '.join(ignored)} (the columns of {spec.name} are "
                    f"{', '.join(c.name for c in spec.columns)})")
        )  # fmt: skip
    return close


def _convert(chk: _Checker, spec: TableSpec, table: _Table) -> pd.DataFrame:
    """Type each contract column and report cells that do not fit.

    Sets ``table.bad_keys``: rows with a key cell already reported (unreadable or empty),
    which the duplicate check leaves out (they would all look like the same empty key).
    """
    index = table.raw.index
    out = {}
    table.bad_keys = pd.Series(False, index=index)
    for col in spec.columns:
        if col.name not in table.cells:
            if col.kind == STR:
                out[col.name] = pd.Series([None] * len(index), index=index, dtype=object)
            else:
                out[col.name] = empty_table(spec.name)[col.name].reindex(index)
            continue
        s, blank = table.cells[col.name]
        flagged = blank.copy()  # cells already reported, or empty
        if col.kind == STR:
            typed = _as_text(s)
        elif col.kind == NUM:
            typed = _as_number(s)
            lost = typed.isna() & ~blank
            if lost.any():
                huge = s[lost].map(_overflow)  # "1e999": a number, just too large
                typed[huge.index[huge.notna()]] = huge[huge.notna()]
        elif col.kind == MONTH:
            typed = _as_datetime(s, "%Y-%m")
            bad = typed.notna() & (typed != typed.dt.to_period("M").dt.to_timestamp())
            if bad.any():
                chk.add(spec.name, col.name, "a month (YYYY-MM), not a day", index[bad], s[bad])
                typed = typed.where(~bad)
                flagged |= bad
        else:
            typed = _as_datetime(s, "%Y-%m-%d").dt.normalize()
        unparsed = typed.isna() & ~flagged
        if unparsed.any():
            chk.add_cells(
                spec.name, col.name, _EXPECTED[col.kind], index[unparsed], s[unparsed],
                of=int((~blank).sum()), hint="is the column in another format?",
            )  # fmt: skip
            flagged |= unparsed
        if not col.nullable and blank.any():
            if blank.all() and len(blank) > _COLLAPSE_FROM:
                chk.problems.append(
                    Problem(spec.name, None, col.name, None, f"{_EXPECTED[col.kind]} in every row",
                            chk.where(spec.name), f"the column is empty in all {len(blank):,} rows")
                )  # fmt: skip
            else:
                rows = index[blank]
                chk.add(
                    spec.name, col.name, f"{_EXPECTED[col.kind]} (the cell is empty)",
                    rows, [None] * len(rows),
                )  # fmt: skip
        if col.kind == NUM:
            flagged |= _check_magnitude(chk, spec, col, typed, s, flagged)
        if col.nonneg:
            neg = (typed < 0) & ~flagged
            if neg.any():
                chk.add(spec.name, col.name, "a value of 0 or more", index[neg], s[neg])
        if col.choices:
            wrong = typed.notna() & ~typed.isin(col.choices)
            if wrong.any():
                chk.add_cells(
                    spec.name, col.name, "one of " + ", ".join(col.choices), index[wrong],
                    s[wrong], of=int(typed.notna().sum()),
                )  # fmt: skip
        if col.name in spec.key:
            table.bad_keys |= (flagged & ~blank) if col.nullable else flagged
        out[col.name] = typed
    return pd.DataFrame(out, index=index)


def _check_magnitude(chk, spec, col, typed, cells, flagged) -> pd.Series:
    """Report infinite numbers and numbers beyond the column's bound; return those cells."""
    values = typed.to_numpy()
    infinite = np.isinf(values)
    if infinite.any():
        chk.add(spec.name, col.name, "a finite number", typed.index[infinite], cells[infinite])
    bound, unit, why = LIMITS[col.limit]
    with np.errstate(invalid="ignore"):
        big = ~infinite & ((values > bound) if col.nonneg else (np.abs(values) > bound))
    big &= ~flagged.to_numpy()
    if big.any():
        unit = f" {unit}" if unit else ""
        span = (
            f"of at most {bound:,.0f}" if col.nonneg else f"between {-bound:,.0f} and {bound:,.0f}"
        )
        chk.add(spec.name, col.name, f"a number {span}{unit} ({why})", typed.index[big], cells[big])
    return pd.Series(infinite | big, index=typed.index)


def _check_key(chk: _Checker, spec: TableSpec, df: pd.DataFrame, raw: pd.DataFrame) -> None:
    key = [k for k in spec.key if k in df.columns]
    if not key or df.empty:
        return
    dup = df.duplicated(subset=key, keep="first")
    if not dup.any():
        return
    label = " x ".join(key)
    first = df.rename_axis("_pos").reset_index().groupby(key, dropna=False)["_pos"].transform("min")
    firsts = first[dup.to_numpy()].to_numpy()
    rows = df.index[dup]
    vals = df.loc[dup, key].apply(
        lambda r: ", ".join("" if _is_missing(v) else _fmt(v) for v in r), axis=1
    )
    details = [f"first seen on row {int(i) + chk.row_offset}" for i in firsts]
    # two spellings that became one key once normalised: show both, code point by code point
    for k in key:
        if k not in raw.columns or _column(spec, k).kind != STR:
            continue
        there, here = raw[k].loc[firsts].to_numpy(), raw[k].loc[rows].to_numpy()
        for j, (a, b) in enumerate(zip(there, here, strict=True)):
            if isinstance(a, str) and isinstance(b, str) and a != b:
                details[j] += (
                    f"; {k} written {_spelling(a)} there and {_spelling(b)} here, the same "
                    "text once accents, invisible characters and spaces are normalised"
                )
    chk.add(spec.name, label, f"each {label} only once", rows, vals, details)


def _fmt(v) -> str:
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m")
    return str(v)


def _check_rules(chk: _Checker, typed: dict[str, pd.DataFrame], given: dict[str, _Table]) -> None:
    """Rules that span columns or rows of one table.

    A rule is skipped where a column it reads is missing, which is reported on its own.
    """

    def has(name: str, *columns: str) -> bool:
        return name in typed and not typed[name].empty and not set(columns) & given[name].missing

    ol = typed.get("order_lines")
    if has("order_lines", "order_date", "requested_date"):
        early = ol["requested_date"] < ol["order_date"]
        if early.any():
            chk.add(
                "order_lines",
                "requested_date",
                "a requested_date on or after the order_date",
                ol.index[early],
                ol.loc[early, "requested_date"].dt.strftime("%Y-%m-%d"),
            )
    if has("order_lines", "order_date", "shipped_date"):
        early = ol["shipped_date"] < ol["order_date"]
        if early.any():
            chk.add(
                "order_lines",
                "shipped_date",
                "a shipped_date on or after the order_date",
                ol.index[early],
                ol.loc[early, "shipped_date"].dt.strftime("%Y-%m-%d"),
            )
    if has("order_lines", "shipped_date", "shipped_qty"):
        half = ol["shipped_date"].isna() != ol["shipped_qty"].isna()
        if half.any():
            chk.add(
                "order_lines",
                "shipped_qty",
                "shipped_date and shipped_qty both filled (shipped) or both empty (open)",
                ol.index[half],
                ol.loc[half, "shipped_qty"],
            )
    pr = typed.get("products")
    if has("products", "launch_month"):
        before = pr["eol_month"] < pr["launch_month"]
        if before.any():
            chk.add(
                "products",
                "eol_month",
                "an eol_month on or after the launch_month",
                pr.index[before],
                pr.loc[before, "eol_month"].dt.strftime("%Y-%m"),
            )
    if has("products", "sku"):
        self_like = pr["like_sku"].notna() & (pr["like_sku"] == pr["sku"])
        if self_like.any():
            chk.add(
                "products",
                "like_sku",
                "another SKU (an item cannot be its own proxy)",
                pr.index[self_like],
                pr.loc[self_like, "like_sku"],
            )
    si = typed.get("sales_inputs")
    if has("sales_inputs", "sku", "family"):
        both = si["sku"].notna() == si["family"].notna()
        if both.any():
            chk.add(
                "sales_inputs",
                "sku",
                "either a sku or a family in each row (exactly one of the two)",
                si.index[both],
                si.loc[both, "sku"],
            )
    if has("sales_inputs", "kind", "value"):
        # values that are not finite or beyond MAX_UNITS were reported already
        pct = si["kind"].eq("pct") & (si["value"].abs() <= MAX_UNITS)
        written = given["sales_inputs"].cells["value"][0]
        low = pct & (si["value"] < MIN_PCT_ADJUSTMENT)
        if low.any():
            chk.add(
                "sales_inputs",
                "value",
                f"a pct adjustment of {MIN_PCT_ADJUSTMENT:g} or more (a quantity cannot fall "
                f"by more than all of it; {MIN_PCT_ADJUSTMENT:g} plans nothing)",
                si.index[low],
                written[low],
            )
        high = pct & (si["value"] > MAX_PCT_ADJUSTMENT)
        if high.any():
            chk.add(
                "sales_inputs",
                "value",
                f"a pct adjustment of at most {MAX_PCT_ADJUSTMENT:,.0f} (x"
                f"{1 + MAX_PCT_ADJUSTMENT / 100:g}); for more, give the quantity with kind abs",
                si.index[high],
                written[high],
            )
    bu = typed.get("budget")
    if has("budget", "revenue", "margin"):
        # margins that are not finite or beyond the bound were reported already
        above = (bu["margin"] > bu["revenue"]) & (bu["margin"].abs() <= LIMITS["money"][0])
        if above.any():
            chk.add(
                "budget",
                "margin",
                "a margin of at most the revenue (the margin is revenue less costs)",
                bu.index[above],
                bu.loc[above, "margin"],
            )
    for name in ("costs", "workforce"):
        df = typed.get(name)
        col = "sku" if name == "costs" else "resource"
        if has(name) and len(df) > 1 and df[col].isna().any():
            rows = df.index[df[col].isna()]
            chk.add(
                name,
                col,
                f"a {col} in every row when there is more than one row "
                f"(a row without {col} applies to all and must be the only one)",
                rows,
                [None] * len(rows),
            )


def _month_name(n: int) -> str:
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def _is_history_warning(p: Problem) -> bool:
    """A warning about the months of the history (recomputed by :meth:`Dataset.as_of`)."""
    return p.table == "sales_history" and p.column == "month" and p.row is None


def _per_month(sh: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The months with rows (as month numbers, ascending), their rows and total qty.

    Months that did not parse are left out, quantities that did not parse count as 0.
    One pass over the table: long histories repeat few months.
    """
    codes, uniques = pd.factorize(sh["month"], use_na_sentinel=True)
    if not len(uniques):
        empty = np.zeros(0)
        return empty.astype("int64"), empty, empty
    ok = codes >= 0
    if not ok.all():
        codes = codes[ok]
    qty = np.nan_to_num(sh["qty"].to_numpy(dtype="float64", na_value=np.nan)[ok])
    rows = np.bincount(codes, minlength=len(uniques)).astype("float64")
    total = np.bincount(codes, weights=qty, minlength=len(uniques))
    num = np.asarray(month_number(pd.DatetimeIndex(uniques)), dtype="int64")
    order = np.argsort(num, kind="stable")
    return num[order], rows[order], total[order]


def _history_warnings(num: np.ndarray, total: np.ndarray, origin: str) -> list[Problem]:
    """The warnings about a history's months: gaps inside it, a last month that looks partial."""
    return [w for w in (_gap_warning(num, origin), _partial_warning(num, total, origin)) if w]


def _gap_warning(num: np.ndarray, origin: str) -> Problem | None:
    """A warning naming the months without any sales_history row between the first and last."""
    if len(num) < 2:
        return None
    missing = np.setdiff1d(np.arange(num[0], num[-1] + 1), num)
    if not missing.size:
        return None
    names = [_month_name(int(n)) for n in missing]
    shown = ", ".join(names[:24]) + (f" and {len(names) - 24} more" if len(names) > 24 else "")
    one = len(names) == 1
    return Problem(
        "sales_history",
        None,
        "month",
        None,
        f"sales in every month from {_month_name(num[0])} to {_month_name(num[-1])}",
        origin,
        f"no row at all in {shown}: the forecast counts {'that month' if one else 'those months'}"
        f" as selling nothing; if the export left {'it' if one else 'them'} out, add "
        f"{'it' if one else 'them'}",
    )


def _partial_warning(num: np.ndarray, total: np.ndarray, origin: str) -> Problem | None:
    """A warning when the last month sells far less than the months before it.

    Below :data:`MIN_LAST_MONTH_SHARE` of the median month of the 12 months before it (at
    least :data:`MIN_MONTHS_TO_JUDGE_THE_LAST` of them with rows), and of the same month a
    year before when the history has it (a low season is not a partial month). Not an
    error: demand can collapse for real.
    """
    if not len(num):
        return None
    last = int(num[-1])
    before = (num >= last - 12) & (num < last)
    if before.sum() < MIN_MONTHS_TO_JUDGE_THE_LAST:
        return None
    median = float(np.median(total[before]))
    sold = float(total[-1])
    if median <= 0 or sold >= MIN_LAST_MONTH_SHARE * median:
        return None
    year_ago = total[num == last - 12]
    if year_ago.size and sold >= MIN_LAST_MONTH_SHARE * year_ago[0]:
        return None
    month, cycle = _month_name(last), _month_name(last + 1)
    first = _month_name(int(num[before][0]))
    also = f" and {year_ago[0]:,.0f} in {_month_name(last - 12)}" if year_ago.size else ""
    return Problem(
        "sales_history",
        None,
        "month",
        month,
        f"a complete last month, selling at least {MIN_LAST_MONTH_SHARE:.0%} of the median "
        "month of the 12 before it",
        origin,
        f"{month} sells {sold:,.0f} units in all, {sold / median:.0%} of the median month "
        f"from {first} to {_month_name(last - 1)} ({median:,.0f} units){also}; if it is the "
        f"running month, exported before it ended, the planning cycle would be {cycle} with "
        f"{month} counted as a full month: remove the {month} rows, or plan {month} with "
        f"`sop run --cycle {month}`",
    )


def _stray_tail(num: np.ndarray, rows: np.ndarray) -> int:
    """How many of the last months are stray: a typo'd date, not where the business is.

    A month is *quiet* when it has rows for fewer than :data:`MIN_SERIES_SHARE` of the
    SKU x region series of the busiest of the (up to) 12 months with rows before it,
    unless the same month a year before was quiet too (a low season). The months after
    the last month that is not quiet are stray when, together, they hold fewer rows than
    :data:`MIN_SERIES_SHARE` of that month's series. A month where many series sell is
    never stray, nor a new item's first month: the other series sell in it too. Rows are
    counted as series: a series has one row per month (the key).
    """
    k = len(rows)
    if k < 2:
        return 0
    before = pd.Series(rows).shift(1).rolling(12, min_periods=1).max().to_numpy()
    before[0] = rows[0]
    quiet = rows < MIN_SERIES_SHARE * before
    if not quiet[-1]:
        return 0
    position = dict(zip(num.tolist(), range(k), strict=True))
    year_ago = np.array([position.get(n - 12, -1) for n in num.tolist()])
    seasonal = (year_ago >= 0) & quiet[np.maximum(year_ago, 0)]
    regular = np.flatnonzero(~quiet | seasonal)
    last = int(regular[-1]) if regular.size else 0
    tail = k - 1 - last
    if tail and rows[last + 1 :].sum() < MIN_SERIES_SHARE * rows[last]:
        return tail
    return 0


def _stray_parts(num: np.ndarray, rows: np.ndarray, part: np.ndarray, main: int) -> np.ndarray:
    """Which parts of the history (cut at long gaps) are stray: small beside the main part.

    ``num``: the months with rows, ascending; ``rows``: their rows; ``part``: the part of
    each (0, 1, ... in order); ``main``: the part with the most rows. A part is small when
    it has fewer rows than :data:`MIN_SERIES_SHARE` of the main part's, or spans at most
    :data:`MAX_STRAY_MONTHS` months. A small part before the main one is stray; a small part
    after it only when it has no more rows than the main part's busiest month: a recent
    block with more than a month of business is never stray.
    """
    ids = np.arange(int(part[-1]) + 1)
    rows_per_part = np.bincount(part, weights=rows)
    months = num[np.searchsorted(part, ids, side="right") - 1] - num[np.searchsorted(part, ids)]
    small = (rows_per_part < MIN_SERIES_SHARE * rows_per_part[main]) | (months < MAX_STRAY_MONTHS)
    earlier = ids < main
    later = (ids > main) & (rows_per_part <= rows[part == main].max())
    return ids[small & (earlier | later)]


def _check_history(chk: _Checker, sh: pd.DataFrame) -> None:
    """Stray months are errors; gaps inside the history and a partial last month, warnings.

    The history is split where more than :data:`MAX_HISTORY_GAP_MONTHS` months pass without
    any row. A small part beside the part with the most rows (the latest, on a tie) is stray
    (see :func:`_stray_parts`), and every row of it is reported: a single row dated 2035-01
    would otherwise move the planning cycle to 2035-02. Parts too large to be typos are not
    condemned row by row: each gap between them is one problem, naming its two ends (delete
    the old block, or fill the gap). The last months of the latest part are stray too when
    only a tiny share of the series have rows in them (see :func:`_stray_tail`): one row
    typed 2027-10 for 2026-10 would move the cycle to 2027-11 and plan nothing but that row.
    """
    num, rows, total = _per_month(sh)
    if not len(num):
        return
    part = np.concatenate([[0], np.cumsum(np.diff(num) - 1 > MAX_HISTORY_GAP_MONTHS)])
    rows_per_part = np.bincount(part, weights=rows)
    main = len(rows_per_part) - 1 - int(np.argmax(rows_per_part[::-1]))
    stray_part = np.isin(part, _stray_parts(num, rows, part, main))
    kept = num[~stray_part]
    lo, hi = int(kept[0]), int(kept[-1])
    cycle = _month_name(int(num[-1]) + 1)
    origin = chk.where("sales_history")
    why: dict[str, str] = {}
    expected: dict[str, str] = {}
    if stray_part.any():
        far = (
            f"a month within {MAX_HISTORY_GAP_MONTHS} months of the rest of the history "
            f"({_month_name(lo)} to {_month_name(hi)})"
        )
        for n in num[stray_part].tolist():
            m = _month_name(n)
            expected[m] = far
            if n > hi:
                why[m] = (
                    f"{n - hi - 1} months without sales separate it from {_month_name(hi)}; "
                    f"it would move the planning cycle to {cycle}: correct the date or delete "
                    "the row"
                )
            else:
                after = int(kept[kept > n][0])
                why[m] = (
                    f"{after - n - 1} months without sales separate it from "
                    f"{_month_name(after)}: correct the date or delete the row"
                )
    blocks = [
        (int(num[part == k][0]), int(num[part == k][-1]), int(rows_per_part[k]))
        for k in np.unique(part[~stray_part]).tolist()
    ]
    for (a, z, n_a), (b, y, n_b) in pairwise(blocks):
        gap = f"{_month_name(z + 1)} to {_month_name(b - 1)}"
        chk.problems.append(
            Problem("sales_history", None, "month", None,
                    f"no more than {MAX_HISTORY_GAP_MONTHS} months in a row without sales",
                    origin,
                    statement=f"no row at all in the {b - z - 1} months from {gap}, between the "
                    f"rows from {_month_name(a)} to {_month_name(z)} ({n_a:,} rows) and those "
                    f"from {_month_name(b)} to {_month_name(y)} ({n_b:,} rows); a history "
                    f"cannot go more than {MAX_HISTORY_GAP_MONTHS} months without sales: delete "
                    f"the rows up to {_month_name(z)} if that old block is not wanted, or fill "
                    f"the gap with the months from {gap}")
        )  # fmt: skip
    latest = part == part[~stray_part][-1]
    num, rows, total = num[latest], rows[latest], total[latest]
    tail = _stray_tail(num, rows)
    if tail:
        end, n_end = int(num[-tail - 1]), int(rows[-tail - 1])
        few = (
            f"a month up to {_month_name(end)}, where the history ends for most SKU x region series"
        )
        for n, r in zip(num[-tail:].tolist(), rows[-tail:].tolist(), strict=True):
            m = _month_name(n)
            expected[m] = few
            r = int(r)
            why[m] = (
                f"only {r:,} SKU x region series {'has a row' if r == 1 else 'have rows'} in "
                f"{m}, against {n_end:,} in {_month_name(end)}: fewer than "
                f"{MIN_SERIES_SHARE:.0%}; it would move the planning cycle to {cycle} instead "
                f"of {_month_name(end + 1)}: correct the date or delete the row, so that the "
                "history ends where the business is"
            )
        num, rows, total = num[:-tail], rows[:-tail], total[:-tail]
    if why:
        stray = sh["month"].isin(pd.to_datetime(list(why), format="%Y-%m"))
        months = sh.loc[stray, "month"].dt.strftime("%Y-%m")
        by_expected = defaultdict(list)
        for pos, m in zip(sh.index[stray], months, strict=True):
            by_expected[expected[m]].append((pos, m))
        for text, cells in by_expected.items():
            chk.add(
                "sales_history", "month", text, [p for p, _ in cells], [m for _, m in cells],
                [why[m] for _, m in cells],
            )  # fmt: skip
    if tail:  # the error stands for the end of the history; only its gaps are worth a word
        gap = _gap_warning(num, origin)
        chk.warnings += [gap] if gap else []
    else:
        chk.warnings += _history_warnings(num, total, origin)


_ONE = {"sku": "SKU"}
_MANY = {"sku": "SKUs", "family": "families"}


def _check_case(
    chk: _Checker, spec: TableSpec, table: _Table, typed: Mapping[str, pd.DataFrame]
) -> None:
    """Warn about codes of one column (:data:`CODE_COLUMNS`) that differ only in case.

    ``north`` beside ``North`` would be a region of its own. A warning, not an error: some
    businesses do use codes in which case matters. A spelling that a reference does not
    find is an error already (with a "did you mean"): only spellings the target has count.
    """
    df = typed[spec.name]
    for col in spec.columns:
        if col.kind != STR or col.name not in CODE_COLUMNS or col.name not in table.cells:
            continue
        ref = next((r for r in spec.refs if r.column == col.name), None)
        target = typed.get(ref.table) if ref else None
        if target is not None and ref.target not in target.columns:
            target = None
        values = table.distinct.get(col.name)
        if values is None:
            values = df[col.name].value_counts(sort=False)
        groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for v, n in values.items():
            if isinstance(v, str):
                groups[v.casefold()].append((v, int(n)))
        cells, known = None, None
        for spellings in groups.values():
            if len(spellings) < 2:
                continue
            if target is not None:
                if known is None:
                    known = set(pd.unique(target[ref.target].dropna()))
                spellings = [vn for vn in spellings if vn[0] in known]
                if len(spellings) < 2:
                    continue
            if cells is None:
                cells = df[col.name].to_numpy(dtype=object)
            spellings.sort(key=lambda vn: -vn[1])
            (v, n), rest = spellings[0], spellings[1:]
            parts = [f"{v!r} ({n:,} row{'s' if n > 1 else ''})"]
            for v, n in rest:
                rows = (df.index[cells == v] + chk.row_offset).tolist()
                at = _ranges(rows, show=5)
                parts.append(f"{v!r} (row {at})" if n == 1 else f"{v!r} ({n:,} rows: {at})")
            one, many = _ONE.get(col.name, col.name), _MANY.get(col.name, col.name + "s")
            chk.warnings.append(
                Problem(spec.name, None, col.name, None, f"one spelling of each {col.name}",
                        chk.where(spec.name),
                        statement=f"{_and(parts)} differ only in case, so they are "
                        f"{len(spellings)} different {many}: if they are one {one}, write it "
                        "the same way in every row")
            )  # fmt: skip


# Letters of other scripts that look like ASCII ones (Cyrillic, Greek), and dashes that
# look like a hyphen: what a key copied from another system or a document may hold.
_LOOK_ALIKES = str.maketrans(
    {
        **dict(zip("АВСЕНІЈКМОРЅТХУҮӀ", "ABCEHIJKMOPSTXYYI", strict=True)),
        **dict(zip("асеһіјорѕхуүԁԛԝӏ", "acehijopsxyydqwl", strict=True)),
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True)),
        **dict(zip("οικνρ", "oikvp", strict=True)),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d", "-"),
        "ı": "i",
    }
)


def _skeleton(text: str) -> str:
    """The text as it looks: look-alike letters made ASCII, accents dropped, case folded."""
    text = unicodedata.normalize("NFKD", text.translate(_LOOK_ALIKES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.translate(_LOOK_ALIKES).casefold()


def _look_alike(value: object, known: dict[str, str | None]) -> str:
    """Why an unknown key may look right: its non-ASCII characters, and the key it resembles.

    ``known`` maps the skeleton of every known key (:func:`_skeleton`) to the key, or to
    None when two keys share it.
    """
    if not isinstance(value, str):
        return ""
    parts = []
    odd = [c for c in dict.fromkeys(value) if not c.isascii()]
    if odd:
        names = [f"{c!r} U+{ord(c):04X} {unicodedata.name(c, '(no name)')}" for c in odd[:6]]
        more = f" and {len(odd) - 6} more" if len(odd) > 6 else ""
        parts.append(f"{_and(names)}{more} {'is' if len(odd) == 1 else 'are'} not ASCII")
    guess = known.get(_skeleton(value))
    if guess is not None and guess != value:
        parts.append(f"did you mean {guess!r}?")
    return "; ".join(parts)


def _look_alike_details(values: pd.Series, keys: np.ndarray) -> list[str] | None:
    """:func:`_look_alike` for each unknown value, or None when none says anything."""
    distinct = pd.unique(values)
    if not any(isinstance(v, str) for v in distinct):
        return None
    known: dict[str, str | None] = {}
    for k in keys:
        if isinstance(k, str):
            sk = _skeleton(k)
            known[sk] = k if known.get(sk, k) == k else None
    said = {v: _look_alike(v, known) for v in distinct}
    if not any(said.values()):
        return None
    return [said[v] for v in values]


def _check_refs(
    chk: _Checker, typed: dict[str, pd.DataFrame], given: dict[str, _Table], status: dict[str, str]
) -> tuple[dict[str, list[tuple[str, str, int, object]]], dict[tuple[str, str], list[str]]]:
    """Report values that their target table does not hold.

    A target that is absent or has no rows, or lacks the target column, cannot check
    anything: that is one cause, so no cell is reported; the references are returned
    (``unchecked``: target table -> (table, column, rows, first value); ``no_column``:
    (target, column) -> tables) for the one problem about the target. A target with other
    problems (bad cells, another column missing) still checks with the keys it has.
    """
    unchecked: dict[str, list[tuple[str, str, int, object]]] = defaultdict(list)
    no_column: dict[tuple[str, str], list[str]] = defaultdict(list)
    for spec in CONTRACT.values():
        df = typed.get(spec.name)
        if df is None or df.empty:
            continue
        for ref in spec.refs:
            if ref.column in given[spec.name].missing:
                continue
            vals = df[ref.column]
            present = vals.notna()
            n = int(present.sum())
            if not n:
                continue
            if status[ref.table] != "given":
                unchecked[ref.table].append((spec.name, ref.column, n, vals[present].iloc[0]))
                continue
            if ref.target in given[ref.table].missing:
                no_column[(ref.table, ref.target)].append(spec.name)
                continue
            keys = typed[ref.table][ref.target].dropna()
            known = pd.unique(keys)
            unknown = present & ~vals.isin(known)
            if unknown.any():
                there = chk.where(ref.table)
                hint = (
                    f"{there} has {ref.target}s such as {keys.iloc[0]!r}; do both use the "
                    "same codes?"
                    if len(keys)
                    else ""
                )
                chk.add_cells(
                    spec.name, ref.column, f"a {ref.target} that exists in {there}",
                    df.index[unknown], vals[unknown], of=n, hint=hint,
                    details=_look_alike_details(vals[unknown], known),
                )  # fmt: skip
    return unchecked, no_column


def _absent_origin(origins: Mapping[str, str], table: str, like: str) -> str:
    """How a table the source lacks would be named, after a table it has.

    ``routings.csv`` gives ``resources.csv``, ``erp.xlsx sheet routings`` gives
    ``erp.xlsx sheet resources``; without origins, the table's name.
    """
    origin = origins.get(like, like)
    head, sep, tail = origin.rpartition(like)
    if not sep or origin == like:
        return table
    if head.startswith("query for"):
        return f"table {table} (or a query for it)"
    return head + table + tail


def _found(origins: Mapping[str, str], names: list[str]) -> str:
    """The sheets a workbook holds, to show beside a missing one (a folder lists itself)."""
    where = [origins.get(n, n) for n in names]
    sheets = [w.partition(" sheet ")[2] for w in where if " sheet " in w]
    return "sheets found: " + ", ".join(sheets) if sheets else ""


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _no_rows(origin: str, table: _Table) -> str:
    if table.empty_rows:
        return "has only empty rows"
    if not len(table.raw.columns):
        return "is empty"
    if origin.endswith(".csv") or " sheet " in origin:
        return "has a header but no rows"
    return "has no rows"


def _table_problems(
    chk: _Checker,
    given: dict[str, _Table],
    status: dict[str, str],
    unchecked: dict[str, list[tuple[str, str, int, object]]],
    no_column: dict[tuple[str, str], list[str]],
    names: list[str],
) -> list[Problem]:
    """One problem per cause about a whole table or column, in contract order."""
    out = []
    for name, spec in CONTRACT.items():
        refs = unchecked.get(name, [])
        referrers = list(dict.fromkeys(chk.where(t) for t, *_ in refs))
        unchecked_note = (
            f"references to it from {_and(referrers)} could not be checked" if refs else ""
        )
        if status[name] != "given":
            absent = status[name] == "absent"
            if not absent:
                where = chk.where(name)
            else:  # named like the tables the source has: resources.csv, erp.xlsx sheet ...
                where = _absent_origin(chk.origins, name, refs[0][0]) if refs else name
            found = _found(chk.origins, names) if absent else ""
            if spec.required and absent:
                detail = "; ".join(x for x in (found, unchecked_note) if x)
                out.append(
                    Problem(name, None, None, None,
                            f"the table {name} ({spec.grain}); it is required", name, detail)
                )  # fmt: skip
            elif spec.required:
                statement = f"{_no_rows(where, given[name])}; it is required ({spec.grain}): "
                statement += "add its rows" + (f"; {unchecked_note}" if refs else "")
                out.append(
                    Problem(name, None, None, None, f"rows in {name} ({spec.grain})", where,
                            statement=statement)
                )  # fmt: skip
            elif refs:
                uses = " and ".join(
                    f"{chk.where(t)} refers to it in {n:,} row{'s' if n > 1 else ''} "
                    f"(e.g. {col} {first!r})"
                    for t, col, n, first in refs
                )
                if absent:
                    state = "is missing" + (f" ({found})" if found else "")
                    add = "it" if where == name else where
                else:
                    state, add = _no_rows(where, given[name]), "its rows"
                statement = (
                    f"{state}, but {uses}: add {add}, or leave {_and(referrers)} out; "
                    "these references could not be checked"
                )
                out.append(
                    Problem(name, None, None, None,
                            f"the table {name} ({spec.grain}), which {_and(referrers)} "
                            f"refer{'s' if len(referrers) == 1 else ''} to",
                            where, statement=statement)
                )  # fmt: skip
            continue
        table = given[name]
        out += table.problems
        required = [c.name for c in spec.columns if c.required]
        missing = [c for c in required if c in table.missing]
        if len(missing) == len(required):
            out.append(
                Problem(name, None, None, None,
                        f"the columns {', '.join(required)} ({spec.grain}); columns found: "
                        f"{table.found}", chk.where(name),
                        "none of them is there: is the header row missing, or is this "
                        "another table?")
            )  # fmt: skip
            continue
        for col in missing:
            blind = no_column.get((name, col), [])
            note = (
                f"references to it from {_and([chk.where(t) for t in blind])} could not be checked"
                if blind
                else ""
            )
            if col in table.close:
                like = f"is {table.close[col]!r} that column? Rename it to {col}"
                note = f"{like}; {note}" if note else like
            out.append(
                Problem(name, None, col, None,
                        f"a column named {col!r} ({spec.grain}); columns found: {table.found}",
                        chk.where(name), note)
            )  # fmt: skip
        if spec.any_of and set(spec.any_of) <= table.missing:
            out.append(
                Problem(name, None, spec.any_of[0], None,
                        f"a {' or a '.join(spec.any_of)} column (at least one of them; "
                        f"{spec.grain}); columns found: {table.found}", chk.where(name))
            )  # fmt: skip
    return out


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    source: str = "",
    origins: Mapping[str, str] | None = None,
    row_offset: int = 2,
    warnings: Sequence[Problem] = (),
) -> Dataset:
    """Check raw tables against the data contract and return a typed :class:`Dataset`.

    Text cells, column headers and table names are normalised first (NFC, invisible
    characters removed, non-breaking spaces made plain, stripped). Rows empty in every
    contract column are skipped (a warning says which). A table with no rows is "not
    given" when it is optional, an error when it is required. Then every check runs, and
    every problem is reported at once, one problem per cause: a missing or empty table
    that others refer to, a missing column or a column wrong in every row is reported
    once, not once per row; references into a table that has other problems are checked
    with the keys it has.

    Parameters
    ----------
    tables
        Raw tables by contract name; cells may be text (as read from CSV) or typed.
        Unknown table names are rejected; optional tables may be absent.
    source
        A label for the source, used in messages (e.g. the folder path).
    origins
        How to name each table in messages (``{"products": "products.csv"}``).
    row_offset
        Added to the 0-based row position to give the row reported: 2 for files
        and sheets whose first line is the header, 1 for database rows.
    warnings
        What the loader found suspicious (a file of the folder it did not read), listed
        first among the warnings.

    Returns
    -------
    Dataset
        With ``warnings``: what is suspicious but not wrong (months without any
        sales_history row inside the history, a last month that looks partial, empty rows
        skipped, columns not in the contract, codes that differ only in case).

    Raises
    ------
    DataValidationError
        With every problem found: table, row, column, value and what was expected (and
        the warnings, listed after them).

    Examples
    --------
    >>> ds = validate_tables({"products": products, "sales_history": sales})  # doctest: +SKIP
    """
    given_origins = dict(origins or {})
    chk = _Checker({}, row_offset)
    chk.warnings += warnings
    frames: dict[str, pd.DataFrame] = {}
    names = []
    for raw_name, frame in tables.items():
        name = _normalise(str(raw_name))
        if raw_name in given_origins:
            chk.origins.setdefault(name, given_origins[raw_name])
        if name in frames:
            chk.head.append(
                Problem(name, None, None, None, "one table of each name", chk.where(name),
                        f"{_spelling(raw_name)} is the same name as another once normalised")
            )  # fmt: skip
            continue
        frames[name] = frame
        names.append(name)
        if name not in CONTRACT:
            close = difflib.get_close_matches(name.lower(), TABLES, n=1, cutoff=0.75)
            chk.head.append(
                Problem(name, None, None, None,
                        "a table of the data contract: " + ", ".join(TABLES), chk.where(name),
                        f"did you mean {close[0]}?" if close else "")
            )  # fmt: skip
    status: dict[str, str] = {}
    given: dict[str, _Table] = {}
    typed: dict[str, pd.DataFrame] = {}
    for name, spec in CONTRACT.items():
        if name not in frames:
            status[name] = "absent"
            continue
        table = given[name] = _prepare(chk, spec, frames[name])
        if table.raw.empty:
            status[name] = "empty"  # optional: not given; required: an error
            continue
        status[name] = "given"
        typed[name] = _convert(chk, spec, table)
        if not set(spec.key) & table.missing:
            _check_key(chk, spec, typed[name].loc[~table.bad_keys], table.raw)
    _check_rules(chk, typed, given)
    if status["sales_history"] == "given" and "month" not in given["sales_history"].missing:
        _check_history(chk, typed["sales_history"])
    unchecked, no_column = _check_refs(chk, typed, given, status)
    for name in typed:
        _check_case(chk, CONTRACT[name], given[name], typed)
    problems = chk.head + _table_problems(chk, given, status, unchecked, no_column, names)
    problems += chk.problems
    if problems:
        raise DataValidationError(problems, source=source, warnings=chk.warnings)
    full = {}
    for name in TABLES:
        df = typed.get(name)
        if df is None:
            df = empty_table(name)
        elif not isinstance(df.index, pd.RangeIndex):
            df = df.reset_index(drop=True)  # rows skipped as empty
        full[name] = df
    return Dataset(**full, source=source, warnings=tuple(chk.warnings), origins=dict(chk.origins))


# --------------------------------------------------------------------------- loaders


_SAVE_AS = '(in Excel: "CSV UTF-8 (Comma delimited)")'
_SAVE_XLSX = 'open it in Excel and save it as "Excel Workbook (.xlsx)"'
_ZIP, _OLE2 = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _cannot_read(name: str, exc: OSError) -> str:
    """Why a file cannot be opened, and what to do, in one sentence."""
    if isinstance(exc, PermissionError):
        return f"{name} cannot be read (permission denied): let the user running sop read it"
    if isinstance(exc, IsADirectoryError):
        return f"{name} is a folder, not a file: rename it or move it elsewhere"
    return f"{name} cannot be read ({exc.strerror or exc}): check the file and try again"


def _read_csv(path: Path) -> pd.DataFrame | str:
    """The CSV file as text cells, or a sentence saying why it cannot be read and how to fix it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _cannot_read(path.name, exc)
    if not data.strip():
        return f"{path.name} is empty (not even a header row): export the table again"
    if data.startswith((_ZIP, _OLE2)):
        return (
            f"{path.name} is an Excel workbook, not CSV text: save it as CSV {_SAVE_AS}, or "
            "point data.source at the workbook"
        )
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError:
        return f'{path.name} is not UTF-8 text: save it as "CSV UTF-8" {_SAVE_AS}'
    header = text.partition("\n")[0]
    if "," not in header:
        # Excel in many locales saves "CSV" with ';'; a tab means "Text (Tab delimited)".
        for sep, name in ((";", "';'"), ("\t", "tabs")):
            if sep in header:
                return (
                    f"{path.name} looks separated by {name}: "
                    f"save it as comma-separated CSV {_SAVE_AS}"
                )
    try:
        table = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
            skipinitialspace=True,
        )  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        return f"{path.name} cannot be read as CSV ({str(exc).strip()})"
    names = next(csv.reader([header.rstrip("\r\n")], skipinitialspace=True), [])
    if len(set(names)) < len(names):
        table.columns = _unmangle(table.columns, names)
    return table


def _unmangle(columns: pd.Index, header: list[str] | None = None) -> list:
    """The column names as written: pandas renames a repeated ``qty`` to ``qty.1``.

    With ``header`` (the file's first line, parsed), exactly; without (Excel), a name
    ``<name>.<n>`` after a column ``<name>`` is taken as such a repeat. Validation then
    reports the repeated column instead of reading the first and ignoring the other.
    """
    names = list(columns)
    if header is not None:
        if len(header) != len(names):
            return names
        return [
            h if h and h != c and str(c).startswith(h + ".") else c
            for h, c in zip(header, names, strict=True)
        ]
    out: list = []
    for c in names:
        m = re.fullmatch(r"(.+)\.[1-9]\d*", c) if isinstance(c, str) else None
        out.append(m.group(1) if m and m.group(1) in out else c)
    return out


def load_folder(folder: str | Path) -> Dataset:
    """Load ``<table>.csv`` (or ``<table>.parquet``) files from a folder.

    CSV files must be comma-separated UTF-8 text; their cells are read as text, so
    that validation sees what the file says. Parquet files (such as a cycle's input
    snapshot) keep their types. The name may be in any case (``Budget.CSV``); hidden
    files (``.x.csv``, macOS's ``._x.csv``) and office lock files (``~$x.csv``) are not read.
    Absent optional tables are empty. A file named after a table that is not read
    (``budget.txt``, ``bom.xlsx``) is an error, or a warning beside the file that the
    table is read from; other files (a README, notes) are left alone.

    Raises
    ------
    SopError
        The folder does not exist or holds no tables, or files cannot be read, or a
        table is in a file that is not read (every such file is listed, with how to
        save it).
    DataValidationError
        The data breaks the contract.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise SopError(f"data folder {folder} {what} (expected a folder of CSV files)")
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise SopError(_cannot_read(f"data folder {folder}", exc)) from exc
    paths = [p for p in entries if p.suffix.lower() in _TABLE_FILES and not _hidden(p)]
    tables, origins, unreadable = {}, {}, []
    for path in paths:
        stem = _normalise(path.stem).lower()  # Budget.csv is the budget table
        stem = stem if stem in CONTRACT else path.stem
        if stem in origins:
            unreadable.append(f"{origins[stem]} and {path.name} hold the same table: keep one")
            continue
        origins[stem] = path.name
        if path.suffix.lower() == ".csv":
            table = _read_csv(path)
        else:
            try:
                table = pd.read_parquet(path)
            except OSError as exc:
                table = _cannot_read(path.name, exc)
            except ValueError as exc:  # pyarrow's errors derive from ValueError
                table = (
                    f"{path.name} cannot be read as Parquet ({str(exc).splitlines()[0]}): "
                    f"write it again, or replace it with {path.stem}.csv"
                )
        if isinstance(table, str):
            unreadable.append(table)
        else:
            tables[stem] = table
    skipped, notes = _other_files([p for p in entries if p not in paths], origins)
    unreadable += skipped
    if unreadable:
        n = len(unreadable)
        raise SopError(
            f"{n} problem{'s' if n != 1 else ''} with the files in {folder}:\n"
            + "\n".join(f"  - {line}" for line in unreadable)
            + "\nNothing was run. Fix the files and run `sop validate` again."
        )
    if not tables:
        raise SopError(
            f"data folder {folder} holds no CSV files; expected files named after the "
            f"contract tables ({', '.join(n + '.csv' for n in TABLES)})"
        )
    return validate_tables(
        tables, source=str(folder), origins=origins, row_offset=2, warnings=notes
    )


#: the files of a data folder that hold tables, by extension (in any case)
_TABLE_FILES = (".csv", ".parquet")


def _hidden(path: Path) -> bool:
    """A hidden file (``.x.csv``, macOS's ``._x.csv``) or an office lock file (``~$x.csv``)."""
    return path.name.startswith((".", "~"))


def _other_files(paths: list[Path], read: Mapping[str, str]) -> tuple[list[str], list[Problem]]:
    """The files of a data folder that are not read but are named after a table.

    ``budget.txt`` or ``budget.xlsx`` without a ``budget.csv`` is a table that would be
    missed: an error (returned as a line), saying to save it as CSV. Beside the file the
    table is read from (``read``: table -> file), it is a warning: is it the newer one?
    Other files (a README, notes, hidden and lock files) are no concern of sopkit's.
    """
    errors, notes = [], []
    for path in paths:
        name = path.name
        if _hidden(path) or not path.is_file():
            continue
        table = _normalise(name.split(".", 1)[0]).lower()
        if table not in CONTRACT:
            continue
        if table in read:
            notes.append(
                Problem(table, None, None, None, f"one file for {table}", name,
                        statement=f"is not read: the table {table} is read from {read[table]}; "
                        "if it is the newer one, save it as CSV in its place")
            )  # fmt: skip
            continue
        how = f" {_SAVE_AS}" if path.suffix.lower() in (".xlsx", ".xls", ".xlsm", ".ods") else ""
        errors.append(
            f"{name}: save it as {table}.csv{how}; a data folder's tables are read from .csv "
            "(or .parquet) files only"
        )
    return errors, notes


def _not_a_workbook(path: Path) -> str | None:
    """Why ``path`` is not an .xlsx workbook (from its first bytes), or None if it may be."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as exc:
        return _cannot_read(f"workbook {path}", exc)
    if head.startswith(_ZIP):
        return None
    if not head:
        return f"workbook {path} is empty (0 bytes): export it again"
    if head.startswith(_OLE2):
        return (
            f"{path} is not an .xlsx workbook but an Excel 97-2003 (.xls) or password-"
            f"protected file: {_SAVE_XLSX}, without a password"
        )
    if b"\0" not in head:
        return (
            f"{path} is not an Excel workbook but text (a CSV file renamed .xlsx?): {_SAVE_XLSX}, "
            "or put the tables as CSV files in a folder and point data.source at the folder"
        )
    return f"{path} is not an Excel workbook (.xlsx): {_SAVE_XLSX}"


def load_excel(path: str | Path) -> Dataset:
    """Load an Excel workbook with one sheet per table (sheet name = table name).

    Raises
    ------
    SopError
        The file does not exist, cannot be read or is not an .xlsx workbook (a CSV file
        renamed .xlsx, an old .xls, a password-protected file), with what to do.
    DataValidationError
        The data breaks the contract (a missing sheet lists the sheets found).
    """
    from openpyxl.utils.exceptions import InvalidFileException

    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise SopError(f"workbook {path} {what}")
    why = _not_a_workbook(path)
    if why:
        raise SopError(why)
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
    except (
        zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, ParseError,
        InvalidFileException,
    ) as exc:  # fmt: skip
        raise SopError(
            f"{path} cannot be read as an Excel workbook ({type(exc).__name__}: {exc}): "
            f"{_SAVE_XLSX}"
        ) from exc
    for sheet in sheets.values():
        if any(isinstance(c, str) and "." in c for c in sheet.columns):
            sheet.columns = _unmangle(sheet.columns)
    origins = {name: f"{path.name} sheet {name}" for name in sheets}
    return validate_tables(sheets, source=str(path), origins=origins, row_offset=2)


def _sqlite_file(url: str, base: str | Path | None) -> str:
    """The URL, its SQLite file made absolute (relative to ``base``) and known to exist.

    SQLite creates a missing file on connect: a typo in the path would validate an
    empty database. Other databases, in-memory SQLite and ``file:`` URIs pass unchanged.
    """
    import sqlalchemy as sa

    try:
        u = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise SopError(
            f"cannot use the database URL {hide_password(url)}: {scrub_password(str(exc), url)}"
        ) from exc
    db = u.database
    if u.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return url
    path = Path(db).expanduser()
    if not path.is_absolute():
        path = (Path(base) if base is not None else Path.cwd()) / path
        taken = "the workspace" if base is not None else "the current folder"
        relative = f" (a relative path is taken from {taken}, {path.parent})"
    else:
        relative = ""
    if path.is_dir():
        raise SopError(f"database {hide_password(url)}: {path} is a folder, not a SQLite file")
    if not path.is_file():
        raise SopError(
            f"database {hide_password(url)}: the SQLite file {path} does not exist{relative}. "
            "Check data.source; sopkit does not create an empty database"
        )
    return u.set(database=str(path)).render_as_string(hide_password=False)


def load_sql(
    url: str, queries: Mapping[str, str] | None = None, *, base: str | Path | None = None
) -> Dataset:
    """Load the tables from a database through SQLAlchemy.

    Parameters
    ----------
    url
        An SQLAlchemy URL, e.g. ``sqlite:///erp.db`` or
        ``postgresql+psycopg://user:pw@host:5432/erp``. A SQLite file must exist.
    queries
        Optional SQL per table name (``{"sales_history": "select ... from erp.sales"}``);
        tables without a query are read whole from the table of the same name, if it exists.
    base
        Folder that a relative SQLite path is resolved against (the workspace); without
        it, the current folder.

    Raises
    ------
    SopError
        The URL is unusable, the SQLite file does not exist, the database cannot be
        reached, or queries fail (each one named). Messages hide the password.
    DataValidationError
        The data breaks the contract.
    """
    import sqlalchemy as sa

    queries = dict(queries or {})
    unknown = sorted(set(queries) - set(CONTRACT))
    if unknown:
        raise SopError(
            f"queries given for unknown table(s) {', '.join(unknown)}; "
            f"the contract tables are {', '.join(TABLES)}"
        )
    safe = hide_password(url)
    url = _sqlite_file(url, base)
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise SopError(
            f"cannot use the database URL {safe}: {scrub_password(str(exc), url)}"
        ) from exc
    tables, origins, failed = {}, {}, []
    try:
        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            for name in TABLES:
                if name in queries:
                    origins[name] = f"query for {name}"
                    try:
                        tables[name] = pd.read_sql_query(sa.text(queries[name]), conn)
                    except sa.exc.DBAPIError as exc:
                        conn.rollback()  # PostgreSQL refuses more statements after an error
                        first = str(exc).splitlines()[0]
                        failed.append(f"the query for {name} failed: {first}")
                elif name in present:
                    tables[name] = pd.read_sql_table(name, conn)
                    origins[name] = f"table {name}"
    except sa.exc.SQLAlchemyError as exc:
        msg = scrub_password(str(exc).splitlines()[0], url)
        raise SopError(
            f"database {safe}: {msg}. Check data.source (the URL, the credentials, and that "
            "the database is reachable)"
        ) from exc
    finally:
        engine.dispose()
    if failed:
        n = len(failed)
        raise SopError(
            f"{n} problem{'s' if n != 1 else ''} reading the database {safe}:\n"
            + "\n".join(f"  - {line}" for line in failed)
            + "\nFix data.queries in the parameters and run `sop validate` again."
        )
    return validate_tables(tables, source=safe, origins=origins, row_offset=1)


def load_dataset(
    source: str | Path = "demo",
    *,
    queries: Mapping[str, str] | None = None,
    demo_seed: int = 7,
    demo_last_month: str = "2026-10",
    base: str | Path | None = None,
) -> Dataset:
    """Load and validate a dataset from any supported source.

    Parameters
    ----------
    source
        ``"demo"`` (the built-in demo company), a folder of CSV files, an ``.xlsx``
        workbook, or an SQLAlchemy database URL (anything containing ``://``).
    queries
        SQL per table, for database sources.
    demo_seed, demo_last_month
        Seed and last month of history of the demo company.
    base
        Folder that relative paths (and relative SQLite files) are resolved against
        (the workspace).

    Returns
    -------
    Dataset
        Validated; its ``warnings`` say what is suspicious but allowed.

    Raises
    ------
    SopError
        The source cannot be read.
    DataValidationError
        The data breaks the contract.
    """
    text = str(source).strip()
    if text == "demo":
        from .demo import make_demo

        return validate_tables(
            make_demo(seed=demo_seed, last_month=demo_last_month),
            source=f"demo (seed {demo_seed})",
        )
    if "://" in text:
        return load_sql(text, queries, base=base)
    path = Path(text).expanduser()
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return load_excel(path)
    if path.is_dir():
        return load_folder(path)
    if suffix == ".xls" and path.is_file():
        raise SopError(
            f"{path} is an Excel 97-2003 workbook (.xls): {_SAVE_XLSX} and point data.source "
            "at the .xlsx file"
        )
    if suffix in (".csv", ".parquet") and path.is_file():
        raise SopError(
            f"data source {text!r} is one file; sopkit reads a folder with one file per table "
            f"(products.csv, sales_history.csv, ...): point data.source at {path.parent}"
        )
    raise SopError(
        f"data source {text!r} is not 'demo', a folder of CSV files, an .xlsx workbook "
        "or a database URL (e.g. sqlite:///erp.db)"
        + ("" if path.exists() else f"; {path} does not exist")
    )


# --------------------------------------------------------------------------- writers


def to_text_tables(ds: Dataset) -> dict[str, pd.DataFrame]:
    """The tables as they are written to files: months as YYYY-MM, dates as YYYY-MM-DD."""
    out = {}
    for name, df in ds.tables().items():
        df = df.copy()
        for col in CONTRACT[name].columns:
            if col.kind in (MONTH, DATE) and col.name in df:
                fmt = "%Y-%m" if col.kind == MONTH else "%Y-%m-%d"
                df[col.name] = df[col.name].dt.strftime(fmt).astype(object)
                df[col.name] = df[col.name].where(df[col.name].notna(), None)
        out[name] = df
    return out


def write_csv_folder(ds: Dataset, folder: str | Path) -> list[Path]:
    """Write every table as ``<table>.csv`` into ``folder`` (created if needed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in to_text_tables(ds).items():
        path = folder / f"{name}.csv"
        df.to_csv(path, index=False, float_format="%.10g")
        paths.append(path)
    return paths


def write_parquet_folder(ds: Dataset, folder: str | Path) -> list[Path]:
    """Write every table, typed, as ``<table>.parquet`` (a snapshot :func:`load_folder` reads)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in ds.tables().items():
        path = folder / f"{name}.parquet"
        df.to_parquet(path, index=False)
        paths.append(path)
    return paths


def write_excel(ds: Dataset, path: str | Path) -> Path:
    """Write every table to one sheet of an ``.xlsx`` workbook."""
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name, df in to_text_tables(ds).items():
            df.to_excel(xl, sheet_name=name, index=False)
    return path


def write_sql(ds: Dataset, url: str, *, if_exists: str = "replace") -> None:
    """Write every table to a database (one table per contract table)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for name, df in to_text_tables(ds).items():
                df.to_sql(name, conn, if_exists=if_exists, index=False)
    finally:
        engine.dispose()


__all__ = [
    "CLOSE_COLUMN_RATIO",
    "CODE_COLUMNS",
    "CONTRACT",
    "HOURS_IN_A_MONTH",
    "LIMITS",
    "MAX_HISTORY_GAP_MONTHS",
    "MAX_HOURS",
    "MAX_MONEY",
    "MAX_PCT_ADJUSTMENT",
    "MAX_STRAY_MONTHS",
    "MAX_UNITS",
    "MAX_WORKERS",
    "MIN_LAST_MONTH_SHARE",
    "MIN_MONTHS_TO_JUDGE_THE_LAST",
    "MIN_PCT_ADJUSTMENT",
    "MIN_SERIES_SHARE",
    "TABLES",
    "TAKEN_AS_NOW",
    "Dataset",
    "empty_table",
    "load_dataset",
    "load_excel",
    "load_folder",
    "load_sql",
    "to_text_tables",
    "validate_tables",
    "write_csv_folder",
    "write_excel",
    "write_parquet_folder",
    "write_sql",
]
