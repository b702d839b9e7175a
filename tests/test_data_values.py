"""Cell values that cannot be true never pass: infinite or impossibly large numbers, percent
adjustments below -100 %, and text that looks the same but is not (Unicode, invisible
characters) is made the same before keys are compared."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
import pytest
from conftest import raw_tables

from sopkit.data import (
    CONTRACT,
    LIMITS,
    NUM,
    load_excel,
    load_folder,
    validate_tables,
)
from sopkit.errors import DataValidationError


def _problems(raw, **kw) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw, **kw)
    return [str(p) for p in info.value.problems]


NUMBER_COLUMNS = [
    (table, col.name) for table, spec in CONTRACT.items() for col in spec.columns if col.kind == NUM
]


def _bound_text(table: str, column: str) -> str:
    col = next(c for c in CONTRACT[table].columns if c.name == column)
    bound, unit, why = LIMITS[col.limit]
    unit = f" {unit}" if unit else ""
    span = f"of at most {bound:,.0f}" if col.nonneg else f"between {-bound:,.0f} and {bound:,.0f}"
    return f"a number {span}{unit} ({why})"


# --------------------------------------------------------------------------- 1. impossible numbers


@pytest.mark.parametrize(("table", "column"), NUMBER_COLUMNS)
@pytest.mark.parametrize("written", ["inf", "-inf", "Infinity", "1e999", "-1E400"])
def test_infinite_numbers_are_refused_in_every_number_column(table, column, written):
    """Every number column of the contract, each way a CSV can spell infinity. pandas reads
    '1e999' as NaN: it must be named as too large, not as "not a number"."""
    raw = raw_tables()
    raw[table].loc[0, column] = written
    assert _problems(raw) == [
        f"{table} row 2, column {column}: got {written!r}; expected a finite number"
    ]


@pytest.mark.parametrize(("table", "column"), NUMBER_COLUMNS)
def test_magnitudes_beyond_the_bound_are_refused_in_every_number_column(table, column):
    col = next(c for c in CONTRACT[table].columns if c.name == column)
    assert col.limit in LIMITS, f"{table}.{column} has no documented bound"
    bound = LIMITS[col.limit][0]
    raw = raw_tables()
    raw[table].loc[0, column] = f"{bound * 10:g}"
    assert _problems(raw) == [
        f"{table} row 2, column {column}: got '{bound * 10:g}'; expected {_bound_text(table, column)}"
    ]
    raw = raw_tables()
    raw[table].loc[0, column] = f"{bound:g}"  # the bound itself is allowed
    if table == "sales_inputs":
        raw[table].loc[0, "kind"] = "abs"
    if (table, column) == ("budget", "margin"):
        raw[table].loc[0, "revenue"] = f"{bound:g}"  # a margin is at most its revenue
    validate_tables(raw)


@pytest.mark.parametrize(
    ("table", "column", "written", "expected"),
    [
        ("sales_history", "qty", "1e15",
         "a number of at most 1,000,000,000 units (more is a typo or a unit mix-up)"),
        ("products", "unit_price", "5e12",
         "a number of at most 1,000,000,000,000 (more is a typo or a unit mix-up)"),
        ("resources", "regular_hours", "20000000",
         "a number of at most 10,000,000 hours (more is a typo or a unit mix-up)"),
        ("workforce", "hours_per_worker_month", "800",
         "a number of at most 744 hours (a month has no more)"),
        ("workforce", "workers", "2e7",
         "a number of at most 10,000,000 workers (more is a typo or a unit mix-up)"),
    ],
)  # fmt: skip
def test_bounds_are_worded_per_kind_of_column(table, column, written, expected):
    raw = raw_tables()
    raw[table].loc[0, column] = written
    assert _problems(raw) == [
        f"{table} row 2, column {column}: got {written!r}; expected {expected}"
    ]


def test_signed_values_are_bounded_both_ways(raw):
    """A unit adjustment may be negative, not below -MAX_UNITS."""
    raw["sales_inputs"].loc[0, ["kind", "value"]] = ["abs", "-2e9"]
    assert _problems(raw) == [
        "sales_inputs row 2, column value: got '-2e9'; expected a number between "
        "-1,000,000,000 and 1,000,000,000 units (more is a typo or a unit mix-up)"
    ]


def test_infinity_in_a_csv_file_is_named_with_the_file(raw, tmp_path):
    raw["sales_history"].loc[1, "qty"] = "1e999"
    raw["products"].loc[0, "unit_price"] = "inf"
    for name, df in raw.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    with pytest.raises(DataValidationError) as info:
        load_folder(tmp_path)
    assert [str(p) for p in info.value.problems] == [
        "products.csv row 2, column unit_price: got 'inf'; expected a finite number",
        "sales_history.csv row 3, column qty: got '1e999'; expected a finite number",
    ]


def test_a_negative_infinity_is_one_problem_not_two(raw):
    raw["inventory"].loc[0, "on_hand"] = "-inf"
    raw["inventory"].loc[1, "on_hand"] = "-5e12"  # negative: that is what to fix first
    assert _problems(raw) == [
        "inventory row 2, column on_hand: got '-inf'; expected a finite number",
        "inventory row 3, column on_hand: got '-5e12'; expected a value of 0 or more",
    ]


def test_typed_infinities_from_a_database_are_refused(raw):
    raw["sales_history"]["qty"] = [10.0, float("inf"), 3.0]
    assert _problems(raw) == ["sales_history row 3, column qty: got inf; expected a finite number"]


# --------------------------------------------------------------------------- 4. sales inputs


@pytest.mark.parametrize("value", ["-100.5", "-120", "-1000"])
def test_a_pct_adjustment_below_minus_100_is_refused(raw, value):
    raw["sales_inputs"].loc[0, "value"] = value
    assert _problems(raw) == [
        f"sales_inputs row 2, column value: got {value!r}; expected a pct adjustment of -100 or "
        "more (a quantity cannot fall by more than all of it; -100 plans nothing)"
    ]


@pytest.mark.parametrize(("kind", "value"), [("pct", "-100"), ("pct", "10000"), ("abs", "-120")])
def test_allowed_adjustments(raw, kind, value):
    raw["sales_inputs"].loc[0, ["kind", "value"]] = [kind, value]
    assert validate_tables(raw).sales_inputs["value"].tolist() == [float(value)]


def test_a_pct_adjustment_above_the_bound_is_refused(raw):
    raw["sales_inputs"].loc[0, "value"] = "25000"
    assert _problems(raw) == [
        "sales_inputs row 2, column value: got '25000'; expected a pct adjustment of at most "
        "10,000 (x101); for more, give the quantity with kind abs"
    ]


# --------------------------------------------------------------------------- 6. look-alike strings

NFC, NFD = unicodedata.normalize("NFC", "Café"), unicodedata.normalize("NFD", "Café")
ZWSP, NBSP, BOM = "\u200b", "\u00a0", "\ufeff"


def test_keys_typed_two_ways_match(raw):
    """SKU 'Café' precomposed in products, decomposed in sales_history and routings; a
    zero-width space, a BOM and non-breaking spaces in other cells. All match, and the
    dataset holds one spelling: NFC, no invisible characters, plain spaces."""
    assert NFC != NFD
    raw["products"].loc[0, ["sku", "family"]] = [NFC, f"Kettles{NBSP}"]
    raw["products"].loc[1, "like_sku"] = NFD
    raw["products"].loc[1, ["family", "status", "description"]] = [
        f"{BOM}Kettles", f"new{ZWSP}", f"Kettle{NBSP}XL",
    ]  # fmt: skip
    raw["sales_history"]["sku"] = [NFD, f"{NFC}{ZWSP}", "A-2"]
    raw["sales_history"]["region"] = ["North", f"No{ZWSP}rth", f"{NBSP}North"]
    raw["routings"].loc[0, "sku"] = NFD
    raw["inventory"].loc[0, "sku"] = NFD
    raw["bom"].loc[0, "sku"] = f"{BOM}{NFD}"
    raw["order_lines"].loc[0, "sku"] = NFD
    raw["sales_inputs"].loc[0, "sku"] = NFD
    raw["budget"].loc[0, "family"] = f"Kettles{ZWSP}"
    ds = validate_tables(raw)
    assert ds.products["sku"].tolist() == [NFC, "A-2"]
    assert ds.products["like_sku"].tolist() == [None, NFC]
    assert ds.products["family"].tolist() == ["Kettles", "Kettles"]
    assert ds.products["description"].tolist() == ["Kettle", "Kettle XL"]
    assert ds.products["status"].tolist() == ["active", "new"]
    assert ds.sales_history["sku"].tolist() == [NFC, NFC, "A-2"]
    assert ds.sales_history["region"].tolist() == ["North"] * 3
    for table in ("routings", "inventory", "bom", "order_lines", "sales_inputs"):
        assert getattr(ds, table)["sku"].iloc[0] == NFC, table


def test_headers_are_normalised(raw):
    """A BOM or a zero-width space in a header (Excel, copy and paste) is not another column."""
    raw["sales_history"].columns = [f"{BOM}sku", "region", f"month{ZWSP}", f"qty{NBSP}"]
    ds = validate_tables(raw)
    assert ds.sales_history.columns.tolist() == ["sku", "region", "month", "qty"]


def test_keys_that_become_one_are_a_duplicate_shown_both_ways(raw):
    raw["products"].loc[0, "sku"] = NFC
    raw["products"].loc[1, "sku"] = NFD
    raw["products"].loc[1, "like_sku"] = ""
    raw["sales_history"]["sku"] = NFC
    raw["sales_inputs"]["sku"] = NFC
    raw["sales_history"]["month"] = ["2026-07", "2026-08", "2026-09"]
    for table in ("order_lines", "inventory", "routings", "bom"):
        raw[table]["sku"] = [NFC, "X"][: len(raw[table])]
        raw[table] = raw[table].iloc[:1]
    assert _problems(raw) == [
        "products row 3, column sku: got 'Café'; expected each sku only once (first seen on "
        "row 2; sku written 'Caf\\xe9' there and 'Cafe\\u0301' here, the same text once "
        "accents, invisible characters and spaces are normalised)"
    ]


def test_invisible_characters_make_a_duplicate_in_a_compound_key(raw):
    raw["sales_history"].loc[2, ["sku", "month"]] = [f"A-1{ZWSP}", "2026-08"]
    assert _problems(raw) == [
        "sales_history row 4, column sku x region x month: got 'A-1, North, 2026-08'; expected "
        "each sku x region x month only once (first seen on row 2; sku written 'A-1' there "
        "and 'A-1\\u200b' here, the same text once accents, invisible characters and spaces "
        "are normalised)"
    ]


def test_headers_that_become_one_are_reported(raw):
    raw["inventory"][f"sku{ZWSP}"] = raw["inventory"]["sku"]
    assert _problems(raw) == [
        "inventory, column sku: expected one column named 'sku' (found 2: 'sku', "
        "'sku\\u200b', the same name once normalised; keep one)"
    ]


def test_look_alikes_through_csv_and_excel(raw, tmp_path):
    """The same cells written to files: the loaders keep what the file says, validation
    normalises, both sources give the same dataset."""
    raw["products"].loc[0, "sku"] = NFC
    raw["products"].loc[1, "like_sku"] = f"{NFD}{ZWSP}"
    raw["sales_history"]["sku"] = [NFD, f"{NFC}{ZWSP}", f"A-2{NBSP}"]
    for table in ("order_lines", "inventory", "routings", "bom", "sales_inputs"):
        raw[table].loc[0, "sku"] = f"{BOM}{NFD}"
    folder = tmp_path / "csv"
    folder.mkdir()
    for name, df in raw.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    with pd.ExcelWriter(tmp_path / "erp.xlsx") as xl:
        for name, df in raw.items():
            df.to_excel(xl, sheet_name=name, index=False)
    a, b = load_folder(folder), load_excel(tmp_path / "erp.xlsx")
    assert a.sales_history["sku"].tolist() == [NFC, NFC, "A-2"]
    assert a.fingerprint() == b.fingerprint()


def test_numbers_and_dates_are_read_through_invisible_characters(raw):
    raw["sales_history"]["qty"] = [f"10{ZWSP}", f"{NBSP}12", "3"]
    raw["sales_history"].loc[0, "month"] = f"2026-08{BOM}"
    ds = validate_tables(raw)
    assert ds.sales_history["qty"].tolist() == [10.0, 12.0, 3.0]
    assert ds.sales_history["month"].iloc[0] == pd.Timestamp("2026-08-01")


def test_a_thousands_separator_is_still_not_a_number(raw):
    """Normalising makes the non-breaking space plain; '1 000' is still not a number."""
    raw["sales_history"].loc[0, "qty"] = f"1{NBSP}000"
    (problem,) = _problems(raw)
    assert re.fullmatch(r"sales_history row 2, column qty: got '1 000'; expected a number", problem)
