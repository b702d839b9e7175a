"""Input data: the contract, the loaders and the validation.

Every source (a folder of CSV files, an Excel workbook with one sheet per table,
a SQL database, or the built-in demo) goes through :func:`validate_tables`, which
checks the whole data contract of ``DESIGN.md`` and reports every problem at
once in a :class:`~sopkit.errors.DataValidationError`. Nothing downstream runs
on data that failed.

Example
-------
>>> from sopkit.data import load_dataset
>>> ds = load_dataset("demo")                      # doctest: +SKIP
>>> ds.sales_history.columns.tolist()              # doctest: +SKIP
['sku', 'region', 'month', 'qty']
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import DataValidationError, Problem, SopError

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
    ``nonneg``: numbers must be >= 0. ``choices``: the allowed values.
    """

    name: str
    kind: str
    required: bool = True
    nullable: bool = False
    nonneg: bool = False
    choices: tuple[str, ...] = ()


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

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name, kind, **kw):
    return Column(name, kind, **kw)


_NN = {"nonneg": True}
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
                _c("unit_price", NUM, **_NN),
                _c("unit_cost", NUM, **_NN),
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
            (_c("sku", STR), _c("region", STR), _c("month", MONTH), _c("qty", NUM, **_NN)),
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
                _c("requested_qty", NUM, **_NN),
                _c("shipped_date", DATE, nullable=True),
                _c("shipped_qty", NUM, nullable=True, **_NN),
            ),
            key=("order_id", "sku"),
            refs=(Ref("sku", "products", "sku"),),
        ),
        TableSpec(
            "inventory",
            "one row per SKU",
            (
                _c("sku", STR),
                _c("on_hand", NUM, **_NN),
                _c("safety_stock", NUM, required=False, nullable=True, **_NN),
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
                _c("regular_hours", NUM, **_NN),
                _c("max_overtime_hours", NUM, **_NN),
                _c("overtime_cost_per_hour", NUM, **_NN),
            ),
            key=("resource", "month"),
        ),
        TableSpec(
            "routings",
            "one row per SKU x resource",
            (_c("sku", STR), _c("resource", STR), _c("hours_per_unit", NUM, **_NN)),
            key=("sku", "resource"),
            refs=(Ref("sku", "products", "sku"), Ref("resource", "resources", "resource")),
        ),
        TableSpec(
            "bom",
            "one row per SKU x material",
            (_c("sku", STR), _c("material", STR), _c("qty_per_unit", NUM, **_NN)),
            key=("sku", "material"),
            refs=(Ref("sku", "products", "sku"), Ref("material", "material_supply", "material")),
        ),
        TableSpec(
            "material_supply",
            "one row per material x month, or per material for all months",
            (
                _c("material", STR),
                _c("month", MONTH, required=False, nullable=True),
                _c("max_qty", NUM, **_NN),
                _c("unit_cost", NUM, **_NN),
            ),
            key=("material", "month"),
        ),
        TableSpec(
            "costs",
            "one row per SKU, or one row for all SKUs",
            (
                _c("sku", STR, required=False, nullable=True),
                _c("holding_cost_per_unit_month", NUM, **_NN),
                _c("backlog_cost_per_unit_month", NUM, **_NN),
                _c("subcontract_cost_per_unit", NUM, **_NN),
                _c("max_subcontract_qty", NUM, **_NN),
            ),
            key=("sku",),
            refs=(Ref("sku", "products", "sku"),),
        ),
        TableSpec(
            "workforce",
            "one row for the plant, or one row per resource",
            (
                _c("resource", STR, required=False, nullable=True),
                _c("workers", NUM, **_NN),
                _c("hours_per_worker_month", NUM, **_NN),
                _c("hire_cost", NUM, **_NN),
                _c("layoff_cost", NUM, **_NN),
                _c("regular_cost_per_hour", NUM, **_NN),
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
                _c("value", NUM),
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
            (_c("family", STR), _c("month", MONTH), _c("revenue", NUM, **_NN)),
            key=("family", "month"),
            refs=(Ref("family", "products", "family"),),
        ),
    )
}
TABLES: tuple[str, ...] = tuple(CONTRACT)


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
    provide are empty frames with the contract's columns.
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
        """SHA-256 of the tables' contents: equal for equal data, whatever the source."""
        h = hashlib.sha256()
        for name, df in self.tables().items():
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


# --------------------------------------------------------------------------- validation


class _Checker:
    """Collects problems for one source; ``row_offset`` maps index -> file row."""

    def __init__(self, origins: Mapping[str, str], row_offset: int) -> None:
        self.origins = origins
        self.row_offset = row_offset
        self.problems: list[Problem] = []

    def add(self, table, column, expected, rows=None, values=None, details=None):
        origin = self.origins.get(table, table)
        if rows is None:
            self.problems.append(Problem(table, None, column, None, expected, origin))
            return
        details = [""] * len(rows) if details is None else details
        for r, v, d in zip(rows, values, details, strict=True):
            value = None if _is_missing(v) else v
            self.problems.append(
                Problem(table, int(r) + self.row_offset, column, value, expected, origin, d)
            )


def _is_missing(v) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v))


def _clean(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Strip text cells (vectorised) and say which cells are empty.

    Non-text cells (numbers and dates from Excel or a database) are kept as they are.
    """
    kind = pd.api.types.infer_dtype(s, skipna=True) if s.dtype == object else "typed"
    if kind not in ("string", "mixed", "mixed-integer"):
        return s, s.isna()
    stripped = s.str.strip()  # NaN for cells that are not text
    cleaned = stripped
    if kind != "string":
        not_text = stripped.isna() & s.notna()
        cleaned = stripped.where(~not_text, s)
    blank = cleaned.isna() | (cleaned == "")
    return cleaned.where(~blank, None), blank


def _text_cell(v: object) -> str | None:
    if isinstance(v, float) and v.is_integer():
        v = int(v)  # a code typed as 1001 in Excel arrives as 1001.0
    return str(v).strip() or None


def _as_text(s: pd.Series) -> pd.Series:
    out = s.astype(object)
    if pd.api.types.infer_dtype(out, skipna=True) not in ("string", "empty"):
        other = out.notna() & ~out.map(type).eq(str)
        out[other] = out[other].map(_text_cell)
    return out.where(out.notna(), None)


def _as_number(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    return pd.to_numeric(s, errors="coerce").astype("float64")


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


def _convert(chk: _Checker, spec: TableSpec, raw: pd.DataFrame) -> pd.DataFrame:
    """Type each contract column and report cells that do not fit."""
    out = {}
    for col in spec.columns:
        if col.name not in raw.columns:
            if col.kind == STR:
                out[col.name] = pd.Series([None] * len(raw), index=raw.index, dtype=object)
            else:
                out[col.name] = empty_table(spec.name)[col.name].reindex(raw.index)
            continue
        s, blank = _clean(raw[col.name])
        flagged = blank.copy()  # cells already reported, or empty
        if col.kind == STR:
            typed = _as_text(s)
        elif col.kind == NUM:
            typed = _as_number(s)
        elif col.kind == MONTH:
            typed = _as_datetime(s, "%Y-%m")
            bad = typed.notna() & (typed != typed.dt.to_period("M").dt.to_timestamp())
            if bad.any():
                chk.add(spec.name, col.name, "a month (YYYY-MM), not a day", raw.index[bad], s[bad])
                typed = typed.where(~bad)
                flagged |= bad
        else:
            typed = _as_datetime(s, "%Y-%m-%d").dt.normalize()
        unparsed = typed.isna() & ~flagged
        if unparsed.any():
            chk.add(spec.name, col.name, _EXPECTED[col.kind], raw.index[unparsed], s[unparsed])
        if not col.nullable and blank.any():
            rows = raw.index[blank]
            chk.add(
                spec.name, col.name, f"{_EXPECTED[col.kind]} (the cell is empty)",
                rows, [None] * len(rows),
            )  # fmt: skip
        if col.nonneg:
            neg = typed < 0
            if neg.any():
                chk.add(spec.name, col.name, "a value of 0 or more", raw.index[neg], s[neg])
        if col.choices:
            wrong = typed.notna() & ~typed.isin(col.choices)
            if wrong.any():
                chk.add(
                    spec.name,
                    col.name,
                    "one of " + ", ".join(col.choices),
                    raw.index[wrong],
                    s[wrong],
                )
        out[col.name] = typed
    return pd.DataFrame(out, index=raw.index)


def _check_key(chk: _Checker, spec: TableSpec, df: pd.DataFrame) -> None:
    key = [k for k in spec.key if k in df.columns]
    if not key or df.empty:
        return
    dup = df.duplicated(subset=key, keep="first")
    if dup.any():
        label = " x ".join(key)
        first = df.reset_index().groupby(key, dropna=False)["index"].transform("min")
        vals = df.loc[dup, key].apply(
            lambda r: ", ".join("" if _is_missing(v) else _fmt(v) for v in r), axis=1
        )
        details = [f"first seen on row {int(i) + chk.row_offset}" for i in first[dup.to_numpy()]]
        chk.add(spec.name, label, f"each {label} only once", df.index[dup], vals, details)


def _fmt(v) -> str:
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m")
    return str(v)


def _check_rules(chk: _Checker, typed: dict[str, pd.DataFrame]) -> None:
    """Rules that span columns or rows of one table."""
    ol = typed.get("order_lines")
    if ol is not None and not ol.empty:
        early = ol["requested_date"] < ol["order_date"]
        if early.any():
            chk.add(
                "order_lines",
                "requested_date",
                "a requested_date on or after the order_date",
                ol.index[early],
                ol.loc[early, "requested_date"].dt.strftime("%Y-%m-%d"),
            )
        early = ol["shipped_date"] < ol["order_date"]
        if early.any():
            chk.add(
                "order_lines",
                "shipped_date",
                "a shipped_date on or after the order_date",
                ol.index[early],
                ol.loc[early, "shipped_date"].dt.strftime("%Y-%m-%d"),
            )
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
    if pr is not None and not pr.empty:
        before = pr["eol_month"] < pr["launch_month"]
        if before.any():
            chk.add(
                "products",
                "eol_month",
                "an eol_month on or after the launch_month",
                pr.index[before],
                pr.loc[before, "eol_month"].dt.strftime("%Y-%m"),
            )
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
    if si is not None and not si.empty:
        both = si["sku"].notna() == si["family"].notna()
        if both.any():
            chk.add(
                "sales_inputs",
                "sku",
                "either a sku or a family in each row (exactly one of the two)",
                si.index[both],
                si.loc[both, "sku"],
            )
    for name in ("costs", "workforce"):
        df = typed.get(name)
        col = "sku" if name == "costs" else "resource"
        if df is not None and len(df) > 1 and df[col].isna().any():
            rows = df.index[df[col].isna()]
            chk.add(
                name,
                col,
                f"a {col} in every row when there is more than one row "
                f"(a row without {col} applies to all and must be the only one)",
                rows,
                [None] * len(rows),
            )


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


def _check_refs(chk: _Checker, typed: dict[str, pd.DataFrame], provided: set[str]) -> None:
    """Report values that their target table does not hold.

    A target the source did not provide is empty in the Dataset, so references to it
    are reported too (a cycle's snapshot of all tables would fail otherwise). A target
    that was provided but could not be typed was reported already and is skipped.
    """
    for spec in CONTRACT.values():
        df = typed.get(spec.name)
        if df is None or df.empty:
            continue
        for ref in spec.refs:
            absent = ref.table not in provided
            if absent and CONTRACT[ref.table].required:
                continue  # the missing required table is reported on its own
            target = empty_table(ref.table) if absent else typed.get(ref.table)
            if target is None:
                continue
            known = set(target[ref.target].dropna())
            vals = df[ref.column]
            unknown = vals.notna() & ~vals.isin(known)
            if not unknown.any():
                continue
            if absent:
                where = _absent_origin(chk.origins, ref.table, spec.name)
                source = chk.origins.get(spec.name, spec.name)
                add = "it" if where == ref.table else where
                expected = (
                    f"a {ref.target} that exists in {where} (the table {ref.table} is "
                    f"missing: add {add}, or leave {source} out)"
                )
            else:
                expected = f"a {ref.target} that exists in {chk.origins.get(ref.table, ref.table)}"
            chk.add(spec.name, ref.column, expected, df.index[unknown], vals[unknown])


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    source: str = "",
    origins: Mapping[str, str] | None = None,
    row_offset: int = 2,
) -> Dataset:
    """Check raw tables against the data contract and return a typed :class:`Dataset`.

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

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        With every problem found: table, row, column, value and what was expected.
    """
    origins = dict(origins or {})
    chk = _Checker(origins, row_offset)
    for name in tables:
        if name not in CONTRACT:
            chk.add(name, None, "a table of the data contract: " + ", ".join(TABLES))
    for name, spec in CONTRACT.items():
        if spec.required and name not in tables:
            chk.add(name, None, f"the table {name} ({spec.grain}); it is required")
    typed: dict[str, pd.DataFrame] = {}
    for name, spec in CONTRACT.items():
        if name not in tables:
            continue
        raw = tables[name].reset_index(drop=True)
        raw.columns = [str(c).strip() for c in raw.columns]
        found = ", ".join(map(str, raw.columns)) or "none"
        missing = [c.name for c in spec.columns if c.required and c.name not in raw.columns]
        for col in missing:
            chk.add(name, col, f"a column named {col!r} ({spec.grain}); columns found: {found}")
        if spec.any_of and not set(spec.any_of) & set(raw.columns):
            missing.append(spec.any_of[0])
            chk.add(
                name,
                spec.any_of[0],
                f"a {' or a '.join(spec.any_of)} column (at least one of them; "
                f"{spec.grain}); columns found: {found}",
            )
        if missing:
            continue
        typed[name] = _convert(chk, spec, raw)
        _check_key(chk, spec, typed[name])
    _check_rules(chk, typed)
    _check_refs(chk, typed, set(tables))
    if chk.problems:
        raise DataValidationError(chk.problems, source=source)
    full = {name: typed.get(name, empty_table(name)) for name in TABLES}
    return Dataset(**full, source=source)


# --------------------------------------------------------------------------- loaders


_SAVE_AS = '(in Excel: "CSV UTF-8 (Comma delimited)")'


def _read_csv(path: Path) -> pd.DataFrame | str:
    """The CSV file as text cells, or a sentence saying why it cannot be read and how to fix it."""
    try:
        text = path.read_bytes().decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
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
        return pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
            skipinitialspace=True,
        )  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        return f"{path.name} cannot be read as CSV ({str(exc).strip()})"


def load_folder(folder: str | Path) -> Dataset:
    """Load ``<table>.csv`` (or ``<table>.parquet``) files from a folder.

    CSV files must be comma-separated UTF-8 text; their cells are read as text, so
    that validation sees what the file says. Parquet files (such as a cycle's input
    snapshot) keep their types. Absent optional tables are empty.

    Raises
    ------
    SopError
        The folder does not exist or holds no tables, or files cannot be read (every
        such file is listed, with how to save it).
    DataValidationError
        The data breaks the contract.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SopError(f"data folder {folder} does not exist (expected a folder of CSV files)")
    tables, origins, unreadable = {}, {}, []
    for path in sorted([*folder.glob("*.csv"), *folder.glob("*.parquet")]):
        if path.stem in origins:
            unreadable.append(f"{origins[path.stem]} and {path.name} hold the same table: keep one")
            continue
        origins[path.stem] = path.name
        try:
            table = pd.read_parquet(path) if path.suffix == ".parquet" else _read_csv(path)
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            table = f"{path.name} cannot be read ({exc})"
        if isinstance(table, str):
            unreadable.append(table)
        else:
            tables[path.stem] = table
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
    return validate_tables(tables, source=str(folder), origins=origins, row_offset=2)


def load_excel(path: str | Path) -> Dataset:
    """Load an Excel workbook with one sheet per table (sheet name = table name)."""
    path = Path(path)
    if not path.is_file():
        raise SopError(f"workbook {path} does not exist")
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
    except (ValueError, OSError) as exc:
        raise SopError(f"{path}: cannot be read as an Excel workbook ({exc})") from exc
    origins = {name: f"{path.name} sheet {name}" for name in sheets}
    return validate_tables(sheets, source=str(path), origins=origins, row_offset=2)


def load_sql(url: str, queries: Mapping[str, str] | None = None) -> Dataset:
    """Load the tables from a database through SQLAlchemy.

    Parameters
    ----------
    url
        An SQLAlchemy URL, e.g. ``sqlite:///erp.db`` or
        ``postgresql+psycopg://user:pw@host:5432/erp``.
    queries
        Optional SQL per table name (``{"sales_history": "select ... from erp.sales"}``);
        tables without a query are read whole from the table of the same name, if it exists.
    """
    import sqlalchemy as sa

    queries = dict(queries or {})
    unknown = sorted(set(queries) - set(CONTRACT))
    if unknown:
        raise SopError(
            f"queries given for unknown table(s) {', '.join(unknown)}; "
            f"the contract tables are {', '.join(TABLES)}"
        )
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise SopError(f"cannot use the database URL {_safe_url(url)}: {exc}") from exc
    tables, origins = {}, {}
    try:
        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            for name in TABLES:
                if name in queries:
                    tables[name] = pd.read_sql_query(sa.text(queries[name]), conn)
                    origins[name] = f"query for {name}"
                elif name in present:
                    tables[name] = pd.read_sql_table(name, conn)
                    origins[name] = f"table {name}"
    except sa.exc.SQLAlchemyError as exc:
        msg = str(exc).splitlines()[0]
        raise SopError(f"database {_safe_url(url)}: {msg}") from exc
    finally:
        engine.dispose()
    return validate_tables(tables, source=_safe_url(url), origins=origins, row_offset=1)


def _safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        import sqlalchemy as sa

        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url.split("@")[-1]


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
        Folder that relative paths are resolved against (the workspace).

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
        return load_sql(text, queries)
    path = Path(text).expanduser()
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return load_excel(path)
    if path.is_dir():
        return load_folder(path)
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
    "CONTRACT",
    "TABLES",
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
