"""What a cycle leaves for people: HTML reports, CSV tables, an Excel workbook and an index page.

- :func:`export_html`: an executed notebook as HTML without code cells (nbconvert's
  lab template, minus the CDN scripts), whose SVG charts render with no network.
- :func:`write_tables`: every table of the completed stages in full, as CSV, in
  ``reports/<cycle>/tables/<table>.csv`` (the same tables are Parquet in ``artifacts/``).
- :func:`write_workbook`: ``plan_<cycle>.xlsx``, a README sheet then one sheet per plan
  table. It stays within Excel's limits at any size: a table of more than
  :data:`MAX_SHEET_ROWS` rows is summed up by family (or split, for a table with no
  summary) and its README line says where the full table is.
- :func:`write_index`: ``index.html``, linking the stages and showing the headline KPIs.

Everything is written atomically: a failure leaves the previous file (or folder) whole.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from ._checks import reject_duplicates
from .errors import SopError
from .schemas import ARTIFACTS, MONTH
from .store import STAGES, WORKBOOK_SHEETS, CycleStore, atomic_path

_TEMPLATES = Path(__file__).parent / "templates"

#: most rows a workbook sheet gets below its header. A larger table is summed up by
#: family (or split over several sheets); it is whole in ``tables/`` and ``artifacts/``.
#: Writing costs about 50 µs a cell, so this also bounds the workbook's time.
MAX_SHEET_ROWS = 20_000
#: Excel's limits: rows per sheet (header included) and characters per cell
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CHARS = 32_767
#: the folder of ``reports/<cycle>/`` that holds every table as CSV
TABLES_DIR = "tables"
_README = "README"
_UNKNOWN_FAMILY = "(not in products)"


# --------------------------------------------------------------------------- HTML


_EXPORT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _html_exporter():
    # One exporter for the process: building one compiles its templates (about 0.2 s).
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="sopkit_report",
        extra_template_basedirs=[str(_TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def export_html(notebook: str | Path, html: str | Path) -> Path:
    """Write an executed notebook as an HTML report without code (atomically)."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    with _EXPORT_LOCK:  # the exporter keeps per-call state: one notebook at a time
        body, _ = _html_exporter().from_notebook_node(nb)
    html = Path(html)
    with atomic_path(html) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return html


# --------------------------------------------------------------------------- tables


def current_artifacts(store: CycleStore) -> set[str]:
    """Artifacts written by stages whose last run completed (not failed, stale or pending)."""
    stages = store.read_manifest().get("stages", {})
    return {
        a
        for s in STAGES
        if stages.get(s.id, {}).get("status") == "complete"
        for a in s.writes
        if store.has(a)
    }


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_csv(parquet: Path, csv: Path, name: str) -> None:
    """One artifact as CSV: months as YYYY-MM, NaN and inf as empty cells, UTF-8 with a BOM."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    months = {c.name for c in ARTIFACTS[name].columns if c.kind == MONTH}
    for i, field in enumerate(table.schema):
        col = table.column(i)
        if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
            fmt = "%Y-%m" if field.name in months else "%Y-%m-%d"
            table = table.set_column(i, field.name, pc.strftime(col, format=fmt))
        elif pa.types.is_floating(field.type):
            table = table.set_column(i, field.name, pc.if_else(pc.is_finite(col), col, None))
        elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            # Excel runs a cell that starts with = + - @ as a formula, even quoted: text
            # such as a sales input's reason "=HYPERLINK(...)" gets a leading apostrophe
            risky = pc.match_substring_regex(col, r"^[=+\-@\t\r]")
            table = table.set_column(
                i, field.name, pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
            )
    with open(csv, "wb") as f:
        # Excel reads UTF-8 (accents in descriptions) only after a BOM; the contract's
        # column names need no quotes, and pyarrow quotes every text value
        f.write(b"\xef\xbb\xbf" + ",".join(table.column_names).encode() + b"\n")
        pcsv.write_csv(table, f, pcsv.WriteOptions(include_header=False, quoting_style="needed"))


def write_tables(store: CycleStore) -> Path | None:
    """Write every table of the completed stages in full as ``tables/<table>.csv``.

    The folder is built aside and put in place whole, so it never mixes two runs'
    tables nor holds a half-written file; tables of failed, stale or pending stages
    are left out. The same tables are in ``artifacts/`` as Parquet.

    Returns
    -------
    Path or None
        The folder, or None (and no folder) when no stage has completed.

    Example
    -------
    >>> write_tables(CycleStore("reports", "2026-11"))  # doctest: +SKIP
    PosixPath('reports/2026-11/tables')
    """
    current = current_artifacts(store)
    folder = store.root / TABLES_DIR
    for leftover in store.root.glob(f".{TABLES_DIR}.*-*"):  # of a process that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    names = [name for name in ARTIFACTS if name in current]
    if not names:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    store.root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=store.root, prefix=f".{TABLES_DIR}.tmp-"))
    old = tmp.with_name(tmp.name.replace(".tmp-", ".old-"))
    try:
        for name in names:
            _write_csv(store.artifact_path(name), tmp / f"{name}.csv", name)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; reports are to be read
        if folder.exists():
            folder.rename(old)
        try:
            tmp.rename(folder)
        except OSError:
            if old.exists() and not folder.exists():
                old.rename(folder)  # the previous tables stay whole
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return folder


# --------------------------------------------------------------------------- workbook


@dataclass(frozen=True)
class _Summary:
    """How a large table is summed up.

    Keys (``family`` is looked up from the SKU when the table lacks it), columns summed,
    and ratios computed again from the sums.
    """

    by: tuple[str, ...]
    sums: tuple[str, ...]
    ratios: tuple[tuple[str, str, str, float], ...] = ()  # (column, numerator, denominator, x)


# Tables that grow with the catalogue; the others are per resource, material, family
# or scenario and stay small. A table above the limit without a rule here is split.
_SUMMARIES: dict[str, _Summary] = {
    "portfolio": _Summary(
        ("family", "abc", "lifecycle"),
        (
            "units", "units_prev", "revenue", "revenue_prev", "margin", "revenue_share",
            "discontinue_candidate", "watch_new",
        ),
        (("margin_pct", "margin", "revenue", 100.0),),
    ),
    "demand_plan": _Summary(
        ("family", "region", "month"), ("statistical", "adjustment", "consensus")
    ),
    "adjustments": _Summary(("family", "source", "author", "kind", "reason", "month"), ("effect",)),
    "supply_plan": _Summary(
        ("family", "month"),
        (
            "demand", "shipments", "production", "overtime_hours", "subcontract", "inventory",
            "backlog",
        ),
    ),
}  # fmt: skip


@dataclass
class _Sheet:
    """One sheet of the workbook and what the README says about it."""

    title: str
    table: str
    frame: pd.DataFrame
    grain: str
    full_rows: int
    meanings: dict[str, str]
    part: int = 0  # 1, 2, ... when the table is split over several sheets


def _sku_families(store: CycleStore) -> pd.Series | None:
    """SKU to family, from the cycle's input snapshot (or the portfolio without one)."""
    products = store.inputs_dir / "products.parquet"
    if products.is_file():
        df = pd.read_parquet(products, columns=["sku", "family"])
    elif store.has("portfolio"):
        df = store.read("portfolio")[["sku", "family"]]
    else:
        return None
    reject_duplicates(df, "products", ["sku"])  # the one rule: a SKU twice is an error
    return df.set_index("sku")["family"]


def _summarise(df: pd.DataFrame, rule: _Summary, families: pd.Series | None) -> pd.DataFrame:
    lookup = "family" in rule.by and "family" not in df.columns and "sku" in df.columns
    if lookup and families is not None:
        df = df.assign(family=df["sku"].map(families).fillna(_UNKNOWN_FAMILY))
    keys = [k for k in rule.by if k in df.columns]
    sums = [c for c in rule.sums if c in df.columns]
    groups = df.groupby(keys, dropna=False, sort=True) if keys else df.groupby(lambda _: 0)
    out = groups[sums].sum()
    if "sku" in df.columns:
        out.insert(0, "skus", groups["sku"].nunique())
    out = out.reset_index(drop=not keys)
    for col, num, den, factor in rule.ratios:
        if num in out.columns and den in out.columns:
            out[col] = factor * out[num] / out[den].where(out[den] != 0)
    return out


def _summary_meanings(name: str, out: pd.DataFrame) -> dict[str, str]:
    contract = {c.name: c.meaning for c in ARTIFACTS[name].columns}
    rule = _SUMMARIES[name]
    meanings = {}
    for col in out.columns:
        if col == "skus":
            meanings[col] = "number of SKUs summed in the row"
        elif col in rule.sums:
            meanings[col] = f"sum of {col}: {contract.get(col, '')}".rstrip(": ")
        elif col == "family" and col not in contract:
            meanings[col] = "the SKU's product family (from products)"
        else:
            meanings[col] = contract.get(col, "")
    return meanings


def _sheets(store: CycleStore, names: list[str], limit: int) -> list[_Sheet]:
    """The sheets for ``names``: whole tables up to ``limit`` rows, else summaries or parts."""
    families: pd.Series | None = None
    out: list[_Sheet] = []
    for name in names:
        art = ARTIFACTS[name]
        df = store.read(name)
        full_rows = len(df)
        title, grain = name, art.grain.removeprefix("one row per ")
        meanings = {c.name: c.meaning for c in art.columns}
        if full_rows > limit and name in _SUMMARIES:
            if families is None:
                families = _sku_families(store)
            df = _summarise(df, _SUMMARIES[name], families)
            keys = [c for c in df.columns if c in _SUMMARIES[name].by]
            title = f"{name}_by_{keys[0]}" if keys else f"{name}_total"
            grain = f"{' x '.join(keys) or 'total'}, summed from the full table"
            meanings = _summary_meanings(name, df)
        if len(df) <= limit:
            out.append(_Sheet(title[:31], name, df, grain, full_rows, meanings))
            continue
        n_parts = -(-len(df) // limit)
        for i in range(n_parts):
            part = df.iloc[i * limit : (i + 1) * limit]
            rows = f"rows {i * limit + 1:,}-{i * limit + len(part):,}"
            out.append(
                _Sheet(
                    f"{title[:27]}_{i + 1}", name, part,
                    f"{grain}; part {i + 1} of {n_parts} ({rows})", full_rows, meanings, i + 1,
                )
            )  # fmt: skip
    return out


def _rows_of(store: CycleStore, name: str) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(store.artifact_path(name)).metadata.num_rows


def _cell_values(s: pd.Series) -> list[Any]:
    """A column as Python values Excel can hold: months as YYYY-MM, no NaN or inf."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if pd.api.types.is_datetime64_any_dtype(s):
        s = s.dt.strftime("%Y-%m")
    elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
        return s.astype(object).where(s.notna(), None).tolist()
    elif pd.api.types.is_numeric_dtype(s):
        values = s.to_numpy(dtype=float)
        return np.where(np.isfinite(values), values.astype(object), None).tolist()
    out = []
    for v in s.tolist():
        if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
            out.append(None)
        elif isinstance(v, str):
            # control characters make the file unreadable; Excel cuts cells at 32,767
            out.append(ILLEGAL_CHARACTERS_RE.sub("", v)[:EXCEL_MAX_CHARS])
        else:
            out.append(v)
    return out


def _as_text(ws, value: str) -> Any:
    """A cell that holds ``value`` as text, never as a formula.

    openpyxl stores ``=...`` as a formula, and a sales input's reason such as
    ``=HYPERLINK(...)`` would then run in Excel.
    """
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def _bold(ws, values: list[Any]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cells = []
    for v in values:
        cell = WriteOnlyCell(ws, value=v)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _widths(ws, widths: list[float]) -> None:
    from openpyxl.utils import get_column_letter

    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w


def _write_sheet(wb, sheet: _Sheet) -> None:
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(sheet.title)
    df = sheet.frame
    ws.freeze_panes = "A2"
    _widths(ws, [min(max(len(str(c)) + 3, 10), 40) for c in df.columns])
    ws.append(_bold(ws, [str(c) for c in df.columns]))
    for row in zip(*(_cell_values(df[c]) for c in df.columns), strict=True):
        ws.append([_as_text(ws, v) if isinstance(v, str) and v[:1] == "=" else v for v in row])
    if len(df.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(df.columns))}{len(df) + 1}"


def _write_readme(wb, store: CycleStore, sheets: list[_Sheet], current: set[str], limit: int):
    ws = wb.create_sheet(_README)
    _widths(ws, [26, 22, 58, 11, 13, 26, 30])
    root = f"reports/{store.cycle}"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    manifest = store.read_manifest().get("stages", {})
    done = [s.title for s in STAGES if manifest.get(s.id, {}).get("status") == "complete"]
    ws.append(_bold(ws, [f"S&OP plan, cycle {store.cycle}"]))
    ws.append([f"Written {stamp} by sopkit {__version__}, from the stages that completed: "
               f"{', '.join(done)}."])  # fmt: skip
    ws.append([])
    ws.append(_bold(ws, ["Where the full tables are"]))
    for line in (
        f"Every table in full, as CSV: the folder {TABLES_DIR}/ beside this workbook "
        f"({root}/{TABLES_DIR}/<table>.csv; UTF-8, opens in Excel).",
        f"The same tables as Parquet, typed, for pandas, Power BI or DuckDB: "
        f"{root}/artifacts/<table>.parquet.",
        f"A table of more than {limit:,} rows is not copied whole into this workbook: its sheet "
        "sums it up by family (or splits it) and the line below says so. Excel opens a CSV of "
        f"up to {EXCEL_MAX_ROWS:,} rows; a larger one needs the Parquet file or Power Query.",
    ):
        ws.append([line])
    ws.append([])
    ws.append(_bold(ws, ["sheet", "table", "what one row is", "rows here", "rows in full",
                         "full table (CSV)", "full table (Parquet)"]))  # fmt: skip
    for s in sheets:
        ws.append([s.title, s.table, s.grain, len(s.frame), s.full_rows,
                   f"{TABLES_DIR}/{s.table}.csv", f"artifacts/{s.table}.parquet"])  # fmt: skip
    in_book = {s.table for s in sheets}
    for name in ARTIFACTS:
        if name in current and name not in in_book:
            ws.append(["(CSV and Parquet only)", name, ARTIFACTS[name].grain.removeprefix(
                "one row per "), None, _rows_of(store, name), f"{TABLES_DIR}/{name}.csv",
                f"artifacts/{name}.parquet"])  # fmt: skip
    missing = [n for n in ARTIFACTS if n not in current]
    if missing:
        ws.append([])
        ws.append(_bold(ws, ["Not in this workbook nor in tables/"]))
        writer = {a: s for s in STAGES for a in s.writes}
        for name in missing:
            stage = writer.get(name)
            if stage is None:
                continue
            status = manifest.get(stage.id, {}).get("status", "not run")
            why = "did not write it" if status == "complete" else f"is {status}"
            ws.append([name, f"stage {stage.number} ({stage.title}) {why}; see index.html"])
    ws.append([])
    ws.append(_bold(ws, ["Columns"]))
    ws.append(_bold(ws, ["sheet", "column", "meaning"]))
    for s in sheets:
        if s.part <= 1:  # the columns of a split table once
            for col in s.frame.columns:
                ws.append([s.title, col, s.meanings.get(col, "")])


def write_workbook(store: CycleStore) -> Path | None:
    """Write ``plan_<cycle>.xlsx`` and ``tables/``: the plan tables of the completed stages.

    The workbook's first sheet (README) says what is where. Each plan table
    (``store.WORKBOOK_SHEETS``) of a completed stage gets a sheet; a table of more
    than :data:`MAX_SHEET_ROWS` rows gets a sheet that sums it up (``demand_plan_by_family``:
    family x region x month), or, without a summary rule, is split into parts, so the
    workbook stays within Excel's limits and cheap to write at any size. Every table is
    written in full by :func:`write_tables` to ``tables/<table>.csv`` first.

    Tables of failed, stale or pending stages are left out, so the workbook never mixes
    this cycle's plan with an earlier run's. The file is written aside and renamed into
    place: a failure leaves the previous workbook whole.

    Returns
    -------
    Path or None
        The workbook, or None (and no workbook) when no plan table is current.

    Example
    -------
    >>> write_workbook(CycleStore("reports", "2026-11"))  # doctest: +SKIP
    PosixPath('reports/2026-11/plan_2026-11.xlsx')
    """
    from openpyxl import Workbook

    write_tables(store)
    current = current_artifacts(store)
    present = [name for name in WORKBOOK_SHEETS if name in current]
    if not present:
        store.workbook_path.unlink(missing_ok=True)
        return None
    limit = max(1, min(MAX_SHEET_ROWS, EXCEL_MAX_ROWS - 1))
    sheets = _sheets(store, present, limit)
    wb = Workbook(write_only=True)  # rows stream to temporary files: memory stays flat
    try:
        _write_readme(wb, store, sheets, current, limit)
        for sheet in sheets:
            _write_sheet(wb, sheet)
        with atomic_path(store.workbook_path) as tmp:
            wb.save(tmp)
    except BaseException:
        _discard(wb)
        raise
    return store.workbook_path


def _discard(wb) -> None:
    """Close a write-only workbook that will not be saved; delete its temporary files.

    openpyxl streams each sheet to one, and would delete them only at exit.
    """
    for ws in wb.worksheets:
        # the error being raised is the one to report: closing a broken sheet may fail too
        with contextlib.suppress(OSError, ValueError):
            if not ws.closed:
                ws.close()
        writer = getattr(ws, "_writer", None)
        if writer is not None:
            with contextlib.suppress(OSError, ValueError):
                writer.cleanup()


# --------------------------------------------------------------------------- index


def _kpi_cards(store: CycleStore, current: set[str]) -> list[dict]:
    if "kpis" not in current:
        return []
    from .kpi import format_kpis

    return format_kpis(store.read("kpis")).to_dict("records")


def _decisions(store: CycleStore, decisions: pd.DataFrame | None) -> list[dict]:
    """The cycle's decisions, newest first: given, or read from the workspace's decision log.

    The workspace is the one holding the reports folder (its ``decision_log``); without one,
    ``<reports_dir>/decisions.sqlite`` if that file exists. Each row says whether it was
    made on the plan the cycle holds now.
    """
    from .decisions import DEFAULT_FILE, DecisionLog, cycle_plan_hash, workspace_log

    if decisions is None:
        try:
            from .config import find_workspace

            log = workspace_log(find_workspace(store.reports_dir))
        except SopError:  # reports kept outside a workspace
            default = store.reports_dir / DEFAULT_FILE
            if not default.is_file():
                return []
            log = DecisionLog(f"sqlite:///{default.resolve()}")
        try:
            decisions = log.history(store.cycle)
        finally:
            log.dispose()
    rows = decisions.loc[decisions["cycle"] == store.cycle].iloc[::-1]
    current = cycle_plan_hash(store) if len(rows) else ""
    return [
        {
            "id": int(r["id"]),
            "decision": r["decision"].replace("_", " "),
            "css": {"approve": "good", "reject": "bad"}.get(r["decision"], "watch"),
            "scenario": r["scenario"],
            "person": r["person"],
            "comment": r["comment"],
            "when": pd.Timestamp(r["decided_at"]).strftime("%Y-%m-%d %H:%M UTC"),
            "plan_hash": r["plan_hash"],
            "current": r["plan_hash"] == current,
        }
        for _, r in rows.iterrows()
    ]


def write_index(store: CycleStore, decisions: pd.DataFrame | None = None) -> Path:
    """Write ``index.html``: the cycle's status, decisions, headline KPIs and stage links.

    ``decisions`` (the decision log's history) is read from the cycle's log when not given.
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    manifest = store.read_manifest()
    current = current_artifacts(store)
    stages = []
    for s in STAGES:
        entry = manifest.get("stages", {}).get(s.id, {})
        # the manifest names a stage's report only when this cycle's run of it wrote one
        # (a stage re-run by hand, stale or pending links nothing of an earlier run)
        html = store.root / entry["html"] if entry.get("html") else None
        shown = entry.get("status") in ("complete", "failed") and html is not None
        stages.append(
            {
                "number": s.number,
                "title": s.title,
                "status": entry.get("status", "not run"),
                "duration": entry.get("duration_s"),
                "error": entry.get("error"),
                # a stale or pending stage's report is an earlier run's: no link
                "html": html.name if shown and html.is_file() else None,
                "notebook": s.notebook if (store.root / s.notebook).is_file() and shown else None,
            }
        )
    tables = store.root / TABLES_DIR
    page = env.get_template("index.html.j2").render(
        cycle=store.cycle,
        manifest=manifest,
        stages=stages,
        kpis=_kpi_cards(store, current),
        decisions=_decisions(store, decisions),
        workbook=store.workbook_path.name if store.workbook_path.is_file() else None,
        tables=[
            f"{TABLES_DIR}/{name}.csv"
            for name in ARTIFACTS
            if name in current and (tables / f"{name}.csv").is_file()
        ],
    )
    path = store.root / "index.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def write_reports(store: CycleStore) -> None:
    """Write the workbook (with ``tables/``) and then the index, from the manifest as it is."""
    write_workbook(store)
    write_index(store)


__all__ = [
    "MAX_SHEET_ROWS",
    "TABLES_DIR",
    "current_artifacts",
    "export_html",
    "write_index",
    "write_reports",
    "write_tables",
    "write_workbook",
]
