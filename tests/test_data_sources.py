"""Whole tables and sources: empty tables, one message per cause, every problem at once, and
files or databases that cannot be read end in a sentence, never a traceback."""

from __future__ import annotations

import sqlite3
import zipfile

import pandas as pd
import pytest

from sopkit.data import (
    empty_table,
    load_dataset,
    load_excel,
    load_folder,
    load_sql,
    validate_tables,
    write_csv_folder,
    write_excel,
    write_sql,
)
from sopkit.errors import DataValidationError, SopError


def _write(raw: dict[str, pd.DataFrame], folder) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in raw.items():
        df.to_csv(folder / f"{name}.csv", index=False)


def _problems(call) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        call()
    return [str(p) for p in info.value.problems]


# --------------------------------------------------------------------------- 3. empty tables


def test_an_empty_required_table_says_so_in_one_line(raw, tmp_path):
    """sales_history.csv with its header only: one line, not a crash after "valid"."""
    raw["sales_history"] = raw["sales_history"].iloc[:0]
    _write(raw, tmp_path)
    assert _problems(lambda: load_folder(tmp_path)) == [
        "sales_history.csv has a header but no rows; it is required (one row per SKU x region "
        "x month): add its rows"
    ]


def test_empty_products_is_one_line_not_an_unknown_sku_per_row(tiny_tables):
    """The tiny demo has hundreds of rows referring to products; none is reported."""
    tables = dict(tiny_tables)
    tables["products"] = tables["products"].iloc[:0]
    origins = {name: f"{name}.csv" for name in tables}
    assert _problems(lambda: validate_tables(tables, origins=origins)) == [
        "products.csv has a header but no rows; it is required (one row per SKU): add its "
        "rows; references to it from sales_history.csv, order_lines.csv, inventory.csv, "
        "routings.csv, bom.csv, costs.csv, sales_inputs.csv and budget.csv could not be checked"
    ]


def test_an_empty_optional_table_means_not_given(raw):
    raw["sales_inputs"] = raw["sales_inputs"].iloc[:0]
    raw["bom"] = raw["bom"].iloc[:0]
    ds = validate_tables(raw)
    for name in ("sales_inputs", "bom"):
        pd.testing.assert_frame_equal(getattr(ds, name), empty_table(name), obj=name)


def test_an_empty_optional_table_that_others_refer_to_is_one_line(raw):
    raw["resources"] = raw["resources"].iloc[:0]
    raw["workforce"].loc[0, "resource"] = "Assembly"
    assert _problems(lambda: validate_tables(raw, origins={n: f"{n}.csv" for n in raw})) == [
        "resources.csv has a header but no rows, but routings.csv refers to it in 2 rows (e.g. "
        "resource 'Assembly') and workforce.csv refers to it in 1 row (e.g. resource "
        "'Assembly'): add its rows, or leave routings.csv and workforce.csv out; these "
        "references could not be checked"
    ]


def test_a_table_of_only_empty_rows_is_empty(raw):
    raw["sales_history"] = pd.DataFrame([[None] * 4] * 3, columns=raw["sales_history"].columns)
    assert _problems(lambda: validate_tables(raw)) == [
        "sales_history has only empty rows; it is required (one row per SKU x region x "
        "month): add its rows"
    ]


def test_an_empty_sql_table_has_no_rows(raw, tmp_path):
    raw["sales_history"] = raw["sales_history"].iloc[:0]
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    engine_url = tmp_path / "erp.db"
    with sqlite3.connect(engine_url) as conn:
        for name, df in raw.items():
            df.to_sql(name, conn, index=False)
    assert _problems(lambda: load_sql(url)) == [
        "table sales_history has no rows; it is required (one row per SKU x region x month): "
        "add its rows"
    ]


# --------------------------------------------------------------------------- 5. every problem at once


def test_references_are_checked_while_the_target_lacks_a_column(raw):
    """Before: the unknown resource was reported only once resources.csv was fixed."""
    raw["resources"] = raw["resources"].drop(columns="regular_hours")
    raw["routings"].loc[1, "resource"] = "Paint"
    origins = {n: f"{n}.csv" for n in raw}
    assert _problems(lambda: validate_tables(raw, origins=origins)) == [
        "resources.csv, column regular_hours: expected a column named 'regular_hours' (one row "
        "per resource x month, or per resource for all months); columns found: resource, "
        "month, max_overtime_hours, overtime_cost_per_hour",
        "routings.csv row 3, column resource: got 'Paint'; expected a resource that exists in "
        "resources.csv",
    ]


def test_references_are_checked_while_the_target_has_bad_cells(raw):
    raw["resources"].loc[0, "regular_hours"] = "lots"
    raw["products"].loc[1, "unit_cost"] = "n/a"
    raw["routings"].loc[1, "resource"] = "Paint"
    raw["sales_history"].loc[2, "sku"] = "Z-9"
    assert _problems(lambda: validate_tables(raw)) == [
        "products row 3, column unit_cost: got 'n/a'; expected a number",
        "resources row 2, column regular_hours: got 'lots'; expected a number",
        "sales_history row 4, column sku: got 'Z-9'; expected a sku that exists in products",
        "routings row 3, column resource: got 'Paint'; expected a resource that exists in "
        "resources",
    ]


def test_a_missing_key_column_in_the_target_is_said_once(raw):
    raw["resources"] = raw["resources"].drop(columns="resource")
    raw["workforce"].loc[0, "resource"] = "Assembly"
    assert _problems(lambda: validate_tables(raw)) == [
        "resources, column resource: expected a column named 'resource' (one row per resource "
        "x month, or per resource for all months); columns found: month, regular_hours, "
        "max_overtime_hours, overtime_cost_per_hour (references to it from routings and "
        "workforce could not be checked)"
    ]


def test_a_missing_sheet_is_one_line_listing_the_sheets_found(tiny_demo, tmp_path):
    """The tiny demo's routings and workforce refer to resources in many rows."""
    path = write_excel(tiny_demo, tmp_path / "erp.xlsx")
    sheets = pd.read_excel(path, sheet_name=None, dtype=object)
    del sheets["resources"]
    with pd.ExcelWriter(path) as xl:
        for name, df in sheets.items():
            df.to_excel(xl, sheet_name=name, index=False)
    (problem,) = _problems(lambda: load_excel(path))
    n = int(tiny_demo.routings["resource"].notna().sum())
    assert problem.startswith(
        "erp.xlsx sheet resources is missing (sheets found: products, sales_history, "
        "order_lines, inventory, routings, bom, material_supply, costs, workforce, "
        f"sales_inputs, budget), but erp.xlsx sheet routings refers to it in {n:,} rows "
        "(e.g. resource "
    ), problem
    assert problem.endswith(
        ": add erp.xlsx sheet resources, or leave erp.xlsx sheet routings and erp.xlsx sheet "
        "workforce out; these references could not be checked"
    ), problem


def test_a_missing_required_sheet_lists_the_sheets_found(raw):
    raw["Products"] = raw.pop("products")
    origins = {n: f"erp.xlsx sheet {n}" for n in raw}
    problems = _problems(lambda: validate_tables(raw, origins=origins))
    assert problems[0] == (
        "erp.xlsx sheet Products: expected a table of the data contract: products, "
        "sales_history, order_lines, inventory, resources, routings, bom, material_supply, "
        "costs, workforce, sales_inputs, budget (did you mean products?)"
    )
    assert problems[1].startswith(
        "products: expected the table products (one row per SKU); it is required (sheets "
        "found: sales_history, order_lines, inventory, resources, routings, bom, "
        "material_supply, costs, workforce, sales_inputs, budget, Products; references to it "
        "from erp.xlsx sheet sales_history, "
    ), problems[1]
    assert len(problems) == 2


def test_a_column_wrong_in_every_row_is_one_problem(tiny_tables):
    tables = dict(tiny_tables)
    sales = tables["sales_history"].copy()
    sales["month"] = sales["month"].dt.strftime("%m/%Y")
    tables["sales_history"] = sales
    (problem,) = _problems(lambda: validate_tables(tables))
    assert problem == (
        f"sales_history, column month: got '{sales['month'].iloc[0]}'; expected a month "
        f"written YYYY-MM (all {len(sales):,} rows of the column are like this, from row 2: "
        "is the column in another format?)"
    )


def test_codes_unknown_in_every_row_are_one_problem(tiny_tables):
    tables = dict(tiny_tables)
    tables["sales_history"] = tables["sales_history"].assign(
        sku=tables["sales_history"]["sku"].str.replace("-", "")
    )
    first = tables["products"]["sku"].iloc[0]
    (problem,) = _problems(lambda: validate_tables(tables))
    n = len(tables["sales_history"])
    assert problem == (
        f"sales_history, column sku: got '{tables['sales_history']['sku'].iloc[0]}'; expected "
        f"a sku that exists in products (all {n:,} rows of the column are like this, from row "
        f"2: products has skus such as '{first}'; do both use the same codes?)"
    )


def test_a_missing_header_row_is_one_problem(raw):
    """The first data row taken as the header: every required column is 'missing'."""
    sales = raw["sales_history"]
    raw["sales_history"] = pd.DataFrame(sales.iloc[1:].to_numpy(), columns=sales.iloc[0])
    assert _problems(lambda: validate_tables(raw)) == [
        "sales_history: expected the columns sku, region, month, qty (one row per SKU x "
        "region x month); columns found: A-1, North, 2026-08, 10 (none of them is there: is "
        "the header row missing, or is this another table?)"
    ]


def test_a_missing_column_does_not_fail_the_rules_that_read_it(raw):
    """Without shipped_qty, every shipped line would otherwise break 'both filled'."""
    raw["order_lines"] = raw["order_lines"].drop(columns="shipped_qty")
    raw["sales_history"].loc[0, "qty"] = "-1"
    problems = _problems(lambda: validate_tables(raw))
    assert len(problems) == 2
    assert problems[0].startswith("order_lines, column shipped_qty: expected a column named")
    assert problems[1] == "sales_history row 2, column qty: got '-1'; expected a value of 0 or more"


def test_an_empty_column_is_one_problem(tiny_tables):
    tables = dict(tiny_tables)
    tables["products"] = tables["products"].assign(description="")
    n = len(tables["products"])
    assert _problems(lambda: validate_tables(tables)) == [
        f"products, column description: expected a non-empty text in every row (the column "
        f"is empty in all {n} rows)"
    ]


# --------------------------------------------------------------------------- 7. sources


def test_a_csv_file_renamed_xlsx(raw, tmp_path):
    path = tmp_path / "erp.xlsx"
    raw["products"].to_csv(path, index=False)
    with pytest.raises(SopError) as info:
        load_dataset("erp.xlsx", base=tmp_path)
    assert str(info.value) == (
        f"{path} is not an Excel workbook but text (a CSV file renamed .xlsx?): open it in "
        'Excel and save it as "Excel Workbook (.xlsx)", or put the tables as CSV files in a '
        "folder and point data.source at the folder"
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", r"workbook .*erp\.xlsx is empty \(0 bytes\): export it again"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,
         r"erp\.xlsx is not an \.xlsx workbook but an Excel 97-2003 \(\.xls\) or "
         r"password-protected file: open it in Excel and save it as"),
        (b"\x89PNG\r\n\x1a\n\0\0\0", r"erp\.xlsx is not an Excel workbook \(\.xlsx\): open it"),
        ("zip", r"erp\.xlsx cannot be read as an Excel workbook \(KeyError: .*\): open it in "
                r"Excel and save it as"),
    ],
    ids=["empty", "xls or encrypted", "binary", "zip of something else"],
)  # fmt: skip
def test_files_that_are_not_workbooks(tmp_path, content, says):
    path = tmp_path / "erp.xlsx"
    if content == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("notes.txt", "not a workbook")
    else:
        path.write_bytes(content)
    with pytest.raises(SopError, match=says) as info:
        load_excel(path)
    assert not isinstance(info.value, DataValidationError)


def test_unreadable_files_in_a_folder_are_all_named(raw, tmp_path, monkeypatch):
    _write(raw, tmp_path)
    (tmp_path / "bom.csv").unlink()
    (tmp_path / "bom.csv").mkdir()  # a folder named like a table
    (tmp_path / "budget.csv").write_bytes(b"")
    write_excel_path = tmp_path / "costs.csv"
    with zipfile.ZipFile(write_excel_path, "w") as z:  # a workbook renamed .csv
        z.writestr("xl/workbook.xml", "")
    real = type(tmp_path).read_bytes

    def read_bytes(path):
        if path.name == "inventory.csv":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(type(tmp_path), "read_bytes", read_bytes)
    with pytest.raises(SopError) as info:
        load_folder(tmp_path)
    assert str(info.value).splitlines() == [
        f"4 problems with the files in {tmp_path}:",
        "  - bom.csv is a folder, not a file: rename it or move it elsewhere",
        "  - budget.csv is empty (not even a header row): export the table again",
        "  - costs.csv is an Excel workbook, not CSV text: save it as CSV (in Excel: "
        '"CSV UTF-8 (Comma delimited)"), or point data.source at the workbook',
        "  - inventory.csv cannot be read (permission denied): let the user running sop read it",
        "Nothing was run. Fix the files and run `sop validate` again.",
    ]


def test_a_missing_sqlite_file_is_not_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SopError) as info:
        load_dataset("sqlite:///missing.db")
    assert str(info.value) == (
        f"database sqlite:///missing.db: the SQLite file {tmp_path / 'missing.db'} does not "
        f"exist (a relative path is taken from the current folder, {tmp_path}). Check "
        "data.source; sopkit does not create an empty database"
    )
    absolute = tmp_path / "sub" / "erp.db"
    with pytest.raises(SopError, match=rf"the SQLite file {absolute} does not exist\. Check"):
        load_sql(f"sqlite:///{absolute}")
    assert not (tmp_path / "missing.db").exists()
    assert not absolute.exists()


def test_a_relative_sqlite_file_is_taken_from_the_workspace(tiny_demo, tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    ws.mkdir()
    write_sql(tiny_demo, f"sqlite:///{ws / 'erp.db'}")
    monkeypatch.chdir(tmp_path)  # not the workspace
    assert load_dataset("sqlite:///erp.db", base=ws).fingerprint() == tiny_demo.fingerprint()
    with pytest.raises(SopError, match=r"a relative path is taken from the workspace, .*ws\)"):
        load_dataset("sqlite:///other.db", base=ws)
    assert not (ws / "other.db").exists()


def test_a_file_that_is_not_a_database(tmp_path):
    (tmp_path / "erp.db").write_text("sku,qty\nA,1\n")
    with pytest.raises(SopError, match=r"database sqlite:///.*erp\.db: .*file is not a database"):
        load_sql(f"sqlite:///{tmp_path / 'erp.db'}")


def test_failing_queries_are_each_named(tiny_demo, tmp_path):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    write_sql(tiny_demo, url)
    queries = {"sales_history": "select * from erp_sales", "budget": "select nonsense"}
    with pytest.raises(SopError) as info:
        load_sql(url, queries)
    lines = str(info.value).splitlines()
    assert lines[0] == f"2 problems reading the database {url}:"
    assert lines[1].startswith("  - the query for sales_history failed: (sqlite3.OperationalError)")
    assert "no such table: erp_sales" in lines[1]
    assert lines[2].startswith("  - the query for budget failed: ")


def test_database_errors_hide_the_password():
    with pytest.raises(SopError) as info:
        load_sql("postgresql+psycopg://planner:s3cret@127.0.0.1:9/erp")
    assert "s3cret" not in str(info.value)
    assert str(info.value).startswith("database postgresql+psycopg://planner:***@127.0.0.1:9/erp:")


def test_one_file_or_an_xls_as_the_source(raw, tmp_path):
    _write(raw, tmp_path)
    with pytest.raises(
        SopError, match=r"is one file; sopkit reads a folder .* at " + str(tmp_path)
    ):
        load_dataset(tmp_path / "products.csv")
    (tmp_path / "erp.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(SopError, match=r"erp\.xls is an Excel 97-2003 workbook \(\.xls\)"):
        load_dataset(tmp_path / "erp.xls")


def test_a_round_trip_still_agrees(tiny_demo, tmp_path):
    write_csv_folder(tiny_demo, tmp_path)
    assert load_folder(tmp_path).fingerprint() == tiny_demo.fingerprint()


def test_unreadable_keys_are_not_also_duplicates(raw):
    """Two months that do not parse are two problems, not also one 'duplicate' key."""
    raw["sales_history"].loc[0, "month"] = "2026/08"
    raw["sales_history"].loc[1, "month"] = "2026/09"
    assert _problems(lambda: validate_tables(raw)) == [
        "sales_history row 2, column month: got '2026/08'; expected a month written YYYY-MM",
        "sales_history row 3, column month: got '2026/09'; expected a month written YYYY-MM",
    ]


def test_hidden_and_lock_files_are_not_read_and_capitalised_names_are_the_table(raw, tmp_path):
    """macOS's ._products.csv, an office lock file and a .hidden copy are not tables; an
    ERP's Products.csv is the products table, named as such in messages."""
    for name, df in raw.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    (tmp_path / "products.csv").rename(tmp_path / "Products.CSV")
    (tmp_path / "._products.csv").write_bytes(b"\x00\x05\x16\x07Mac OS X")
    (tmp_path / "~$bom.csv").write_bytes(b"\x00lock")
    (tmp_path / ".sales_history.csv").write_text("not,a,table\n")
    ds = load_folder(tmp_path)
    assert ds.products["sku"].tolist() == raw["products"]["sku"].tolist()
    assert ds.origins["products"] == "Products.CSV"
    assert ds.warnings == ()
    # both spellings of one table: keep one, and nothing is read
    (tmp_path / "products.csv").write_text((tmp_path / "Products.CSV").read_text())
    with pytest.raises(SopError, match=r"Products.CSV and products.csv hold the same table"):
        load_folder(tmp_path)


@pytest.mark.parametrize("true", [True, "True"])
def test_a_boolean_is_not_a_number(raw, true):
    """Excel's TRUE in a quantity column is no quantity of 1."""
    raw["sales_history"].loc[0, "qty"] = true
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw)
    assert [str(p) for p in info.value.problems] == [
        f"sales_history row 2, column qty: got {true!r}; expected a number"
        if isinstance(true, str)
        else "sales_history row 2, column qty: got True; expected a number"
    ]
