"""The cycle's workbook, CSV tables, HTML reports and index, on synthetic artifacts.

The artifacts are built from their contract (``sopkit.schemas``) with random numbers, so
these tests need no stage to run and follow the contract when it changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import sopkit.report as report
from sopkit.report import write_index, write_tables, write_workbook
from sopkit.schemas import ARTIFACTS, BOOL, INTEGER, MONTH, NUMBER
from sopkit.store import STAGES, WORKBOOK_SHEETS, CycleStore

CYCLE = "2026-11"
MONTHS = pd.date_range(CYCLE, periods=6, freq="MS")
FAMILIES = ("Kettles", "Blenders", "Coffee")
DIMS = {
    "region": ("North", "South", "West"),
    "month": tuple(MONTHS),
    "resource": ("Assembly", "Moulding"),
    "material": ("Steel", "Resin"),
}


def _artifact(name: str, skus: list[str], family_of: dict[str, str], rng) -> pd.DataFrame:
    """A frame of artifact ``name`` that fits its contract: the cross product of its
    key columns (SKU, region, month, ...), random figures in the other columns."""
    art = ARTIFACTS[name]
    dims: dict[str, tuple] = {}
    if "sku" in art.names:
        dims["sku"] = tuple(skus)
    elif "family" in art.names:
        dims["family"] = FAMILIES
    dims.update({k: v for k, v in DIMS.items() if k in art.names})
    if dims:
        idx = pd.MultiIndex.from_product(list(dims.values()), names=list(dims))
        df = idx.to_frame(index=False)
    else:
        df = pd.DataFrame(index=range(3))
    n = len(df)
    for col in art.columns:
        if col.name in df.columns:
            continue
        if col.name == "family":
            df["family"] = df["sku"].map(family_of)
        elif col.kind == MONTH:
            df[col.name] = MONTHS[0]
        elif col.kind == NUMBER:
            df[col.name] = rng.uniform(0, 100, n).round(2)
        elif col.kind == INTEGER:
            df[col.name] = np.arange(n, dtype="int64") % 5
        elif col.kind == BOOL:
            df[col.name] = np.arange(n) % 3 == 0
        else:
            df[col.name] = [f"{col.name} {i % 4}" for i in range(n)]
    return df[art.names]


def _store(root, n_skus: int = 8) -> CycleStore:
    """A completed cycle: every artifact, the products snapshot and a manifest."""
    rng = np.random.default_rng(0)
    store = CycleStore(root / "reports", CYCLE)
    skus = [f"SKU-{i:03d}" for i in range(n_skus)]
    family_of = {s: FAMILIES[i % len(FAMILIES)] for i, s in enumerate(skus)}
    for name in ARTIFACTS:
        store.write(name, _artifact(name, skus, family_of, rng))
    store.inputs_dir.mkdir(parents=True)
    pd.DataFrame({"sku": skus, "family": [family_of[s] for s in skus]}).to_parquet(
        store.inputs_dir / "products.parquet"
    )
    _set_status(store, {})
    return store


def _set_status(store: CycleStore, statuses: dict[str, str]) -> None:
    store.write_manifest(
        {
            "cycle": CYCLE,
            "status": "complete",
            "stages": {
                s.id: {"status": statuses.get(s.id, "complete"), "title": s.title, "duration_s": 1}
                for s in STAGES
            },
        }
    )


@pytest.fixture
def store(tmp_path) -> CycleStore:
    return _store(tmp_path)


def _sheets(store: CycleStore) -> dict[str, pd.DataFrame]:
    return pd.read_excel(store.workbook_path, sheet_name=None)


def _readme(store: CycleStore) -> str:
    wb = openpyxl.load_workbook(store.workbook_path, read_only=True)
    text = "\n".join(
        " | ".join("" if v is None else str(v) for v in row)
        for row in wb["README"].iter_rows(values_only=True)
    )
    wb.close()
    return text


def _numeric_sums(df: pd.DataFrame) -> pd.Series:
    num = df.select_dtypes("number").columns.difference(["skus"])
    return df[num].sum()


def _leftovers(store: CycleStore) -> list:
    return [p for p in store.root.rglob(".*") if "tmp" in p.name or "old" in p.name]


# --------------------------------------------------------------------------- workbook


def test_workbook_of_a_small_cycle_holds_every_plan_table_whole(store):
    assert write_workbook(store) == store.workbook_path
    sheets = _sheets(store)
    assert list(sheets) == ["README", *WORKBOOK_SHEETS]
    for name in WORKBOOK_SHEETS:
        artifact = store.read(name)
        sheet = sheets[name]
        assert list(sheet.columns) == ARTIFACTS[name].names, name
        assert len(sheet) == len(artifact), name
        pd.testing.assert_series_equal(
            _numeric_sums(sheet), _numeric_sums(artifact), check_names=False, obj=name
        )
    assert sheets["demand_plan"]["month"].iloc[0] == CYCLE, "months read as YYYY-MM"
    readme = _readme(store)
    assert "tables/demand_plan.csv" in readme
    assert f"reports/{CYCLE}/artifacts/<table>.parquet" in readme
    assert "(CSV and Parquet only) | forecast" in readme, "tables kept out of the workbook"
    assert not _leftovers(store)


def test_table_above_the_row_limit_is_summed_up_by_family(store, monkeypatch):
    monkeypatch.setattr(report, "MAX_SHEET_ROWS", 60)
    plan = store.read("demand_plan")  # 8 SKUs x 3 regions x 6 months = 144 rows
    assert len(plan) > 60
    write_workbook(store)
    sheets = _sheets(store)
    assert "demand_plan" not in sheets, "not written whole"
    summary = sheets["demand_plan_by_family"]
    assert list(summary.columns[:4]) == ["family", "region", "month", "skus"]
    assert len(summary) == len(FAMILIES) * 3 * len(MONTHS) <= 60
    assert summary["skus"].sum() == len(plan)
    for col in ("statistical", "adjustment", "consensus"):
        assert summary[col].sum() == pytest.approx(plan[col].sum())
    by_family = summary.groupby("family")["consensus"].sum()
    products = pd.read_parquet(store.inputs_dir / "products.parquet").set_index("sku")["family"]
    expected = plan.groupby(plan["sku"].map(products))["consensus"].sum()
    pd.testing.assert_series_equal(by_family, expected, check_names=False)
    assert "supply_plan" in sheets, "8 SKUs x 6 months: under the limit, whole"
    assert all(len(df) <= 60 for name, df in sheets.items() if name != "README")
    readme = _readme(store)
    assert (
        f"demand_plan_by_family | demand_plan | family x region x month, summed from the full table | {len(summary)} | {len(plan)} | tables/demand_plan.csv"
        in readme
    )
    # the full table is still there, whole
    csv = pd.read_csv(store.root / "tables" / "demand_plan.csv")
    assert len(csv) == len(plan)


def test_table_without_a_summary_is_split_into_sheets_under_the_limit(store, monkeypatch):
    monkeypatch.setattr(report, "MAX_SHEET_ROWS", 5)
    monkeypatch.delitem(report._SUMMARIES, "portfolio")
    write_workbook(store)
    sheets = _sheets(store)
    portfolio = store.read("portfolio")  # 8 rows: two parts of 5 and 3
    parts = [name for name in sheets if name.startswith("portfolio_")]
    assert parts == ["portfolio_1", "portfolio_2"]
    joined = pd.concat([sheets[p] for p in parts], ignore_index=True)
    assert list(joined["sku"]) == list(portfolio["sku"])
    assert all(len(df) <= 5 for name, df in sheets.items() if name != "README")
    assert "part 2 of 2 (rows 6-8)" in _readme(store)


def test_summary_rules_name_columns_of_the_contract():
    for name, rule in report._SUMMARIES.items():
        columns = set(ARTIFACTS[name].names)
        if "sku" in columns:
            columns.add("family")  # looked up from products
        assert set(rule.by) <= columns, name
        assert set(rule.sums) <= columns, name
        assert {num for _, num, _, _ in rule.ratios} | {d for *_, d, _ in rule.ratios} <= set(
            rule.sums
        ), name
        assert ARTIFACTS[name].workbook, f"{name} has a summary but no sheet"


def test_a_failed_write_leaves_the_previous_workbook_and_tables_whole(store, monkeypatch):
    write_workbook(store)
    before = store.workbook_path.read_bytes()
    tables = {p.name: p.read_bytes() for p in (store.root / "tables").iterdir()}
    write_sheet = report._write_sheet

    def fail_on_capacity(wb, sheet):
        if sheet.table == "capacity":
            raise OSError("disk full")
        write_sheet(wb, sheet)

    monkeypatch.setattr(report, "_write_sheet", fail_on_capacity)
    with pytest.raises(OSError, match="disk full"):
        write_workbook(store)
    assert store.workbook_path.read_bytes() == before
    assert not _leftovers(store)
    assert not openpyxl.worksheet._writer.ALL_TEMP_FILES, "openpyxl's streams are deleted"

    calls = []
    write_csv = report._write_csv

    def fail_on_third(parquet, csv, name):
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk full")
        write_csv(parquet, csv, name)

    monkeypatch.setattr(report, "_write_csv", fail_on_third)
    with pytest.raises(OSError, match="disk full"):
        write_tables(store)
    assert {p.name: p.read_bytes() for p in (store.root / "tables").iterdir()} == tables
    assert not _leftovers(store)


def test_tables_stay_whole_when_the_new_folder_cannot_be_put_in_place(store, monkeypatch):
    """The last step of write_tables (renaming the new folder in) fails: the previous
    tables are put back, not lost with the temporary folder."""
    write_tables(store)
    tables = {p.name: p.read_bytes() for p in (store.root / "tables").iterdir()}
    rename = Path.rename

    def refuse_the_new_folder(self, target):
        if self.name.startswith(".tables.tmp-"):
            raise OSError("device busy")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", refuse_the_new_folder)
    with pytest.raises(OSError, match="device busy"):
        write_tables(store)
    assert {p.name: p.read_bytes() for p in (store.root / "tables").iterdir()} == tables
    assert not _leftovers(store)


def test_only_tables_of_completed_stages(store):
    _set_status(store, {"supply_planning": "failed", "reconciliation": "stale"})
    write_workbook(store)
    sheets = _sheets(store)
    assert "demand_plan" in sheets
    for name in ("supply_plan", "capacity", "financials", "scenarios"):
        assert name not in sheets
        assert not (store.root / "tables" / f"{name}.csv").exists()
    readme = _readme(store)
    assert "supply_plan | stage 3 (Supply planning) is failed" in readme
    assert "financials | stage 4 (Reconciliation) is stale" in readme

    _set_status(store, {s.id: "failed" for s in STAGES})
    assert write_workbook(store) is None
    assert not store.workbook_path.exists()
    assert not (store.root / "tables").exists()


def test_awkward_values_are_written_safely(store):
    pf = store.read("portfolio")
    pf.loc[0, "description"] = "Kettle\x0b 1.7 l, \x00steel"  # control characters from an ERP
    pf.loc[1, "description"] = "x" * 40_000  # longer than an Excel cell holds
    pf.loc[2, "description"] = None
    pf.loc[0, "margin_pct"] = np.inf
    pf.loc[1, "margin_pct"] = np.nan
    store.write("portfolio", pf)
    write_workbook(store)
    sheet = _sheets(store)["portfolio"]
    assert sheet.loc[0, "description"] == "Kettle 1.7 l, steel"
    assert len(sheet.loc[1, "description"]) == report.EXCEL_MAX_CHARS
    assert pd.isna(sheet.loc[2, "description"])
    assert sheet.loc[:1, "margin_pct"].isna().all()
    csv = pd.read_csv(store.root / "tables" / "portfolio.csv")
    assert csv.loc[:1, "margin_pct"].isna().all(), "inf and NaN are empty cells in CSV"


# --------------------------------------------------------------------------- CSV tables


def test_tables_hold_every_artifact_in_full_as_csv(store):
    (store.root / ".tables.tmp-killed").mkdir()  # left by a process that was killed
    folder = write_tables(store)
    assert not _leftovers(store)
    assert folder == store.root / "tables"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.csv" for n in ARTIFACTS)
    raw = (folder / "demand_plan.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfsku,region,month,"), "UTF-8 BOM, then the header"
    for name in ARTIFACTS:
        artifact = store.read(name)
        csv = pd.read_csv(folder / f"{name}.csv", encoding="utf-8-sig")
        assert list(csv.columns) == ARTIFACTS[name].names, name
        assert len(csv) == len(artifact), name
        pd.testing.assert_series_equal(
            _numeric_sums(csv), _numeric_sums(artifact), check_names=False, obj=name
        )
    months = pd.read_csv(folder / "demand_plan.csv", encoding="utf-8-sig")["month"]
    assert set(months) == {f"{m:%Y-%m}" for m in MONTHS}


# --------------------------------------------------------------------------- index and HTML


def test_index_links_workbook_and_tables(store):
    write_workbook(store)
    page = write_index(store).read_text()
    assert f'href="plan_{CYCLE}.xlsx"' in page
    assert 'href="tables/demand_plan.csv"' in page
    assert 'href="tables/forecast.csv"' in page


def test_export_html_drops_code_and_reuses_one_exporter(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Product review"),
        nbformat.v4.new_code_cell("secret_code = 1", outputs=[]),
    ]
    nbformat.write(nb, tmp_path / "a.ipynb")
    for name in ("a", "b"):
        html = report.export_html(tmp_path / "a.ipynb", tmp_path / f"{name}.html").read_text()
        assert "Product review" in html
        assert "secret_code" not in html
        assert "cdnjs" not in html
    assert report._html_exporter.cache_info().hits >= 1


def test_text_that_looks_like_a_formula_stays_text_in_the_workbook(store):
    """A sales input's reason `=HYPERLINK(...)` must not become a live formula in Excel."""
    plan = store.read("demand_plan")
    plan.loc[0, "adjustment_reason"] = '=HYPERLINK("http://evil.example/x","Open budget")'
    plan.loc[1, "adjustment_reason"] = "=2+3"
    store.write("demand_plan", plan)
    write_workbook(store)
    ws = openpyxl.load_workbook(store.workbook_path)["demand_plan"]
    header = [c.value for c in ws[1]]
    col = header.index("adjustment_reason") + 1
    cells = [ws.cell(row=r, column=col) for r in range(2, ws.max_row + 1)]
    hostile = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    assert len(hostile) == 2
    assert all(c.data_type == "s" for c in hostile), "stored as text, not as formulas"
    assert hostile[1].value == "=2+3"


def test_text_that_looks_like_a_formula_is_defused_in_the_csv_tables(store):
    """Excel runs =, +, -, @ cells of a CSV even when quoted: they get an apostrophe."""
    plan = store.read("demand_plan")
    plan.loc[0, "adjustment_reason"] = '=HYPERLINK("http://evil.example/x","Open")'
    plan.loc[1, "adjustment_reason"] = "@SUM(1)"
    plan.loc[2, "adjustment_reason"] = "price up 4 % (a=b)"
    store.write("demand_plan", plan)
    write_tables(store)
    csv = pd.read_csv(store.root / "tables" / "demand_plan.csv", encoding="utf-8-sig")
    reasons = csv["adjustment_reason"].tolist()
    assert reasons[0] == "'" + '=HYPERLINK("http://evil.example/x","Open")'
    assert reasons[1] == "'@SUM(1)"
    assert reasons[2] == "price up 4 % (a=b)"
    assert (csv["consensus"] == plan["consensus"]).all(), "numbers are left as they are"
