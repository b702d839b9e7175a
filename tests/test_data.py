"""The data contract: loaders agree, and every kind of bad input gets its message."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import raw_tables

from sopkit.data import (
    TABLES,
    Dataset,
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


def assert_same_dataset(a: Dataset, b: Dataset) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(
            getattr(a, name).reset_index(drop=True),
            getattr(b, name).reset_index(drop=True),
            obj=name,
        )
    assert a.fingerprint() == b.fingerprint()


def _set(table, row, column, value):
    def mutate(t):
        t[table].loc[row, column] = value

    return mutate


def _drop_table(table):
    return lambda t: t.pop(table)


def _drop_column(table, column):
    def mutate(t):
        t[table] = t[table].drop(columns=column)

    return mutate


def _append_row(table, **values):
    def mutate(t):
        row = t[table].iloc[[0]].copy()
        for k, v in values.items():
            row[k] = v
        t[table] = pd.concat([t[table], row], ignore_index=True)

    return mutate


# Each case: one kind of bad input, and the message it must produce. Rows are file lines
# (header = line 1), so the first data row is row 2.
BAD_INPUTS = {
    "required table missing": (
        _drop_table("products"),
        r"products: expected the table products \(one row per SKU\); it is required",
    ),
    "required column missing": (
        _drop_column("sales_history", "qty"),
        r"sales_history, column qty: expected a column named 'qty'.*columns found: sku, region, month",
    ),
    "number that does not parse": (
        _set("products", 0, "unit_price", "twenty"),
        r"products row 2, column unit_price: got 'twenty'; expected a number",
    ),
    "month that does not parse": (
        _set("sales_history", 1, "month", "2026-13"),
        r"sales_history row 3, column month: got '2026-13'; expected a month written YYYY-MM",
    ),
    "day where a month belongs": (
        _set("budget", 0, "month", "2026-11-15"),
        r"budget row 2, column month: got '2026-11-15'; expected a month \(YYYY-MM\), not a day",
    ),
    "date that does not parse": (
        _set("order_lines", 1, "order_date", "03/09/2026"),
        r"order_lines row 3, column order_date: got '03/09/2026'; expected a date written YYYY-MM-DD",
    ),
    "negative quantity": (
        _set("sales_history", 0, "qty", "-4"),
        r"sales_history row 2, column qty: got '-4'; expected a value of 0 or more",
    ),
    "negative capacity": (
        _set("resources", 0, "regular_hours", "-160"),
        r"resources row 2, column regular_hours: got '-160'; expected a value of 0 or more",
    ),
    "empty required cell": (
        _set("products", 1, "description", "  "),
        r"products row 3, column description: expected a non-empty text \(the cell is empty\)",
    ),
    "value outside its choices": (
        _set("products", 0, "status", "retired"),
        r"products row 2, column status: got 'retired'; expected one of active, new, phase_out",
    ),
    "duplicated key": (
        _append_row("sales_history"),
        r"sales_history row 5, column sku x region x month: got 'A-1, North, 2026-08'; "
        r"expected each sku x region x month only once \(first seen on row 2\)",
    ),
    "unknown SKU": (
        _set("sales_history", 2, "sku", "Z-9"),
        r"sales_history row 4, column sku: got 'Z-9'; expected a sku that exists in products",
    ),
    "unknown resource in routings": (
        _set("routings", 1, "resource", "Paint"),
        r"routings row 3, column resource: got 'Paint'; expected a resource that exists in resources",
    ),
    "unknown material in bom": (
        _set("bom", 0, "material", "Copper"),
        r"bom row 2, column material: got 'Copper'; expected a material that exists in material_supply",
    ),
    "unknown family in budget": (
        _set("budget", 0, "family", "Toasters"),
        r"budget row 2, column family: got 'Toasters'; expected a family that exists in products",
    ),
    "unknown like_sku": (
        _set("products", 1, "like_sku", "B-7"),
        r"products row 3, column like_sku: got 'B-7'; expected a sku that exists in products",
    ),
    "requested before ordered": (
        _set("order_lines", 0, "requested_date", "2026-08-20"),
        r"order_lines row 2, column requested_date: got '2026-08-20'; "
        r"expected a requested_date on or after the order_date",
    ),
    "shipped before ordered": (
        _set("order_lines", 0, "shipped_date", "2026-08-31"),
        r"order_lines row 2, column shipped_date: .*expected a shipped_date on or after the order_date",
    ),
    "shipped date without quantity": (
        _set("order_lines", 1, "shipped_date", "2026-09-12"),
        r"order_lines row 3, column shipped_qty: expected shipped_date and shipped_qty both filled",
    ),
    "end of life before launch": (
        _set("products", 0, "eol_month", "2019-06"),
        r"products row 2, column eol_month: got '2019-06'; expected an eol_month on or after the launch_month",
    ),
    "sales input by both sku and family": (
        _set("sales_inputs", 0, "family", "Kettles"),
        r"sales_inputs row 2, column sku: got 'A-1'; expected either a sku or a family",
    ),
    "a budgeted margin above its revenue": (
        _set("budget", 0, "margin", "1200"),
        r"budget row 2, column margin: .*expected a margin of at most the revenue",
    ),
    "an all-SKU cost row beside others": (
        _append_row("costs", sku="A-1"),
        r"costs row 2, column sku: expected a sku in every row when there is more than one row",
    ),
    "unknown table": (
        lambda t: t.__setitem__("forecasts", pd.DataFrame({"x": [1]})),
        r"forecasts: expected a table of the data contract",
    ),
}


def test_an_empty_margin_column_leaves_the_fingerprint_as_it_was(raw):
    """Data without the budget's margin (added to the contract later) keeps the
    fingerprint it had before, so its cycles are not taken as planned on other data; a
    margin given changes it."""
    import dataclasses

    ds = validate_tables(raw)
    assert "margin" in ds.budget.columns  # added, empty
    before = dataclasses.replace(ds, budget=ds.budget.drop(columns="margin"))
    assert ds.fingerprint() == before.fingerprint()
    raw["budget"]["margin"] = ["100"]
    assert validate_tables(raw).fingerprint() != ds.fingerprint()


def test_a_budget_may_set_a_margin_even_a_loss(raw):
    raw["budget"]["margin"] = ["-50"]
    assert validate_tables(raw).budget["margin"].tolist() == [-50.0]
    assert "margin" not in validate_tables(raw_tables()).budget.dropna(axis=1).columns


def test_raw_fixture_is_valid():
    ds = validate_tables(raw_tables())
    assert ds.products["unit_price"].tolist() == [20.0, 30.0]
    assert ds.sales_history["month"].tolist() == [
        pd.Timestamp("2026-08-01"),
        *[pd.Timestamp("2026-09-01")] * 2,
    ]
    assert ds.order_lines["shipped_date"].isna().tolist() == [False, True]
    assert ds.products["like_sku"].tolist() == [None, "A-1"]


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_named(case, raw):
    mutate, pattern = BAD_INPUTS[case]
    mutate(raw)
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw)
    assert re.search(pattern, str(info.value)), str(info.value)
    assert len(info.value.problems) == 1, str(info.value)


def test_every_problem_is_reported_at_once(raw):
    for case in ("number that does not parse", "unknown SKU", "month that does not parse",
                 "requested before ordered", "unknown material in bom"):  # fmt: skip
        BAD_INPUTS[case][0](raw)
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw, origins={"products": "products.csv"})
    text = str(info.value)
    assert text.startswith("5 problems in the input data")
    for needle in ("products.csv row 2, column unit_price", "sales_history row 4, column sku",
                   "sales_history row 3, column month", "order_lines row 2", "bom row 2"):  # fmt: skip
        assert needle in text
    assert "Nothing was run" in text


def test_many_problems_of_one_kind_are_summarised(raw):
    raw["sales_history"] = pd.concat([raw["sales_history"]] * 20, ignore_index=True)
    raw["sales_history"]["qty"] = "-1"
    raw["sales_history"]["region"] = [f"R{i}" for i in range(60)]
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw)
    assert len(info.value.problems) == 60
    assert "... and 50 more like the above" in str(info.value)


def test_excel_and_sql_types_are_accepted(raw):
    """Real dates and numbers (as Excel and databases give them) validate like text."""
    raw["sales_history"]["month"] = pd.to_datetime(["2026-08-01", "2026-09-01", "2026-09-01"])
    raw["sales_history"]["qty"] = [10, 12.0, 3]
    raw["products"]["sku"] = ["A-1", "A-2"]
    ds = validate_tables(raw)
    assert ds.sales_history["qty"].dtype == "float64"
    assert ds.sales_history["month"].dt.day.eq(1).all()


# --------------------------------------------------------------------------- loaders


def test_csv_folder_round_trip_and_row_numbers(tiny_demo, tmp_path):
    write_csv_folder(tiny_demo, tmp_path)
    assert_same_dataset(load_folder(tmp_path), tiny_demo)
    # break one cell; the reported row is the line of the file
    lines = (tmp_path / "routings.csv").read_text().splitlines()
    cells = lines[6].split(",")
    cells[1] = "Nowhere"
    lines[6] = ",".join(cells)
    (tmp_path / "routings.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataValidationError, match=r"routings.csv row 7, column resource: got 'Nowhere'"
    ):
        load_folder(tmp_path)


def test_excel_round_trip(tiny_demo, tmp_path):
    path = write_excel(tiny_demo, tmp_path / "erp.xlsx")
    assert_same_dataset(load_excel(path), tiny_demo)


def test_excel_problem_names_sheet(tiny_demo, tmp_path):
    path = write_excel(tiny_demo, tmp_path / "erp.xlsx")
    sheets = pd.read_excel(path, sheet_name=None, dtype=object)
    sheets["inventory"].loc[3, "on_hand"] = -5
    with pd.ExcelWriter(path) as xl:
        for name, df in sheets.items():
            df.to_excel(xl, sheet_name=name, index=False)
    with pytest.raises(
        DataValidationError, match=r"erp.xlsx sheet inventory row 5, column on_hand: got -5"
    ):
        load_excel(path)


def test_sqlite_round_trip(tiny_demo, tmp_path):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    write_sql(tiny_demo, url)
    assert_same_dataset(load_sql(url), tiny_demo)
    assert_same_dataset(load_dataset(url), tiny_demo)


def test_sql_named_queries(tiny_demo, tmp_path):
    """ERP tables with other names and columns come in through queries in the parameters."""
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    write_sql(tiny_demo, url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE sales_history RENAME TO erp_sales"))
        conn.execute(sa.text("ALTER TABLE erp_sales RENAME COLUMN qty TO units"))
    engine.dispose()
    queries = {"sales_history": "SELECT sku, region, month, units AS qty FROM erp_sales"}
    assert_same_dataset(load_sql(url, queries), tiny_demo)
    with pytest.raises(SopError, match="queries given for unknown table"):
        load_sql(url, {"sales": "select 1"})


@pytest.mark.postgres
def test_postgresql_round_trip(tiny_demo, pg_url):
    write_sql(tiny_demo, pg_url)
    from_pg = load_sql(pg_url)
    assert_same_dataset(from_pg, tiny_demo)
    assert "***" in from_pg.source  # the password never appears in messages


@pytest.mark.postgres
def test_postgresql_problem_names_table_and_row(tiny_demo, pg_url):
    write_sql(tiny_demo, pg_url)
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE budget SET family = 'Toasters' WHERE month = "
                             "(SELECT min(month) FROM budget)"))  # fmt: skip
    engine.dispose()
    with pytest.raises(
        DataValidationError, match=r"table budget row \d+, column family: got 'Toasters'"
    ):
        load_sql(pg_url)


def test_three_sources_agree(tiny_demo, tmp_path):
    write_csv_folder(tiny_demo, tmp_path / "csv")
    write_excel(tiny_demo, tmp_path / "erp.xlsx")
    write_sql(tiny_demo, f"sqlite:///{tmp_path / 'erp.db'}")
    prints = {
        load_dataset("csv", base=tmp_path).fingerprint(),
        load_dataset("erp.xlsx", base=tmp_path).fingerprint(),
        load_dataset(f"sqlite:///{tmp_path / 'erp.db'}").fingerprint(),
    }
    assert prints == {tiny_demo.fingerprint()}


def test_unreadable_sources_say_why(tmp_path):
    with pytest.raises(SopError, match="holds no CSV files"):
        load_folder(tmp_path)
    with pytest.raises(SopError, match="does not exist"):
        load_dataset(tmp_path / "nothing-here")
    with pytest.raises(
        SopError, match=r"database postgresql\+psycopg://planner:\*\*\*@127.0.0.1:9/"
    ):
        load_sql("postgresql+psycopg://planner:secret@127.0.0.1:9/erp")


def test_optional_tables_may_be_absent(raw):
    ds = validate_tables({k: raw[k] for k in ("products", "sales_history")})
    assert ds.bom.empty
    assert list(ds.bom.columns) == ["sku", "material", "qty_per_unit"]
    assert ds.resources["month"].dtype == "datetime64[ns]"


# --------------------------------------------------------------------------- absent reference targets


def _write_raw_csv(raw: dict[str, pd.DataFrame], folder) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in raw.items():
        df.to_csv(folder / f"{name}.csv", index=False)


def test_references_to_an_absent_table_are_reported_once(raw):
    """routings (2 rows, resource Assembly) without a resources table: an absent optional
    table is empty in the Dataset, so routings points at nothing. One cause, one problem
    (not one per routings row). The workforce row has no resource (whole plant) and is fine."""
    del raw["resources"]
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw)
    problems = info.value.problems
    assert [(p.table, p.row, p.column, p.value) for p in problems] == [
        ("resources", None, None, None)
    ]
    assert str(problems[0]) == (
        "resources is missing, but routings refers to it in 2 rows (e.g. resource 'Assembly'): "
        "add it, or leave routings out; these references could not be checked"
    )


def test_absent_table_is_named_as_a_file_in_a_csv_folder(raw, tmp_path):
    """The same through load_folder, plus bom without material_supply (2 rows, Steel)."""
    del raw["resources"], raw["material_supply"]
    _write_raw_csv(raw, tmp_path)
    with pytest.raises(DataValidationError) as info:
        load_folder(tmp_path)
    text = str(info.value)
    assert text.startswith("2 problems in the input data"), text
    assert (
        "  - resources.csv is missing, but routings.csv refers to it in 2 rows (e.g. resource "
        "'Assembly'): add resources.csv, or leave routings.csv out; these references could "
        "not be checked\n"
    ) in text
    assert (
        "  - material_supply.csv is missing, but bom.csv refers to it in 2 rows (e.g. material "
        "'Steel'): add material_supply.csv, or leave bom.csv out; these references could not "
        "be checked\n"
    ) in text


def test_absent_table_is_named_as_a_sheet_in_a_workbook(raw):
    del raw["material_supply"]
    origins = {name: f"erp.xlsx sheet {name}" for name in raw}
    with pytest.raises(DataValidationError, match=r"add erp.xlsx sheet material_supply, or leave"):
        validate_tables(raw, origins=origins)


# --------------------------------------------------------------------------- files that are not CSV UTF-8


def test_semicolon_and_non_utf8_files_are_all_named(raw, tmp_path):
    """products.csv saved with ';' (Excel in a French locale), budget.csv with tabs and
    sales_history.csv in Windows-1252: one error names all three, with the fix."""
    _write_raw_csv(raw, tmp_path)
    raw["products"].to_csv(tmp_path / "products.csv", index=False, sep=";")
    raw["budget"].to_csv(tmp_path / "budget.csv", index=False, sep="\t")
    history = raw["sales_history"].assign(region="Région Nord")
    history.to_csv(tmp_path / "sales_history.csv", index=False, encoding="cp1252")
    with pytest.raises(SopError) as info:
        load_folder(tmp_path)
    text = str(info.value)
    assert not isinstance(info.value, DataValidationError)
    assert text.startswith("3 problems with the files in"), text
    assert (
        "products.csv looks separated by ';': save it as comma-separated CSV "
        '(in Excel: "CSV UTF-8 (Comma delimited)")'
    ) in text
    assert "budget.csv looks separated by tabs: save it as comma-separated CSV" in text
    assert (
        'sales_history.csv is not UTF-8 text: save it as "CSV UTF-8" '
        '(in Excel: "CSV UTF-8 (Comma delimited)")'
    ) in text


def test_utf8_with_byte_order_mark_and_semicolons_in_cells_are_fine(raw, tmp_path):
    """Excel's "CSV UTF-8" starts with a byte order mark; a ';' inside a quoted cell of a
    comma-separated file is text, not a separator."""
    raw["products"].loc[0, "description"] = "Kettle; 1.7 l"
    _write_raw_csv(raw, tmp_path)
    raw["products"].to_csv(tmp_path / "products.csv", index=False, encoding="utf-8-sig")
    ds = load_folder(tmp_path)
    assert ds.products["sku"].tolist() == ["A-1", "A-2"]
    assert ds.products["description"].tolist()[0] == "Kettle; 1.7 l"


# --------------------------------------------------------------------------- sales inputs by sku or by family


def test_sales_inputs_by_family_only_or_sku_only_validate(raw):
    """Both the sku and the family column are optional; a missing one counts as empty."""
    by_family = raw["sales_inputs"].drop(columns="sku").assign(family="Kettles")
    ds = validate_tables({**raw, "sales_inputs": by_family})
    assert ds.sales_inputs["family"].tolist() == ["Kettles"]
    assert ds.sales_inputs["sku"].tolist() == [None]
    by_sku = raw["sales_inputs"].drop(columns="family")
    ds = validate_tables({**raw, "sales_inputs": by_sku})
    assert ds.sales_inputs["sku"].tolist() == ["A-1"]
    assert ds.sales_inputs["family"].tolist() == [None]


def test_sales_inputs_without_a_target_in_a_row_are_still_caught(raw):
    """Family-only file with an empty family cell: neither sku nor family in that row."""
    by_family = raw["sales_inputs"].drop(columns="sku").assign(family="")
    with pytest.raises(DataValidationError, match=r"sales_inputs row 2.*either a sku or a family"):
        validate_tables({**raw, "sales_inputs": by_family})


def test_sales_inputs_without_sku_and_family_columns_is_one_clear_problem(raw):
    neither = raw["sales_inputs"].drop(columns=["sku", "family"])
    with pytest.raises(DataValidationError) as info:
        validate_tables({**raw, "sales_inputs": neither})
    assert len(info.value.problems) == 1, str(info.value)
    assert re.search(
        r"sales_inputs, column sku: expected a sku or a family column.*"
        r"columns found: region, month",
        str(info.value),
    ), str(info.value)
