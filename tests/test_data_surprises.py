"""Silent surprises that used to end in a wrong plan marked "complete": a typo'd last month,
a partial running month, misspelled or repeated columns, files the loader skipped, codes
that differ only in case, and keys that only look right."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from sopkit.data import (
    CLOSE_COLUMN_RATIO,
    CODE_COLUMNS,
    MIN_LAST_MONTH_SHARE,
    MIN_MONTHS_TO_JUDGE_THE_LAST,
    MIN_SERIES_SHARE,
    load_dataset,
    load_excel,
    load_folder,
    validate_tables,
)
from sopkit.errors import DataValidationError, Problem, SopError

SALES = {"sales_history": "sales_history.csv"}


def _problems(call) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        call()
    return [str(p) for p in info.value.problems]


def _warnings(ds) -> list[str]:
    return [str(w) for w in ds.warnings]


def _company(months: dict[str, tuple[int, float]]) -> dict[str, pd.DataFrame]:
    """products and sales_history: in each month, the first ``n`` SKUs sell ``qty`` each
    (one region), in the order of ``months``."""
    n_skus = max(n for n, _ in months.values())
    skus = [f"S-{i:03d}" for i in range(n_skus)]
    products = pd.DataFrame(
        {
            "sku": skus,
            "description": "Item",
            "family": "F",
            "unit_price": "10",
            "unit_cost": "5",
            "status": "active",
            "launch_month": "2020-01",
        }
    )
    rows = [(skus[i], "North", m, str(q)) for m, (n, q) in months.items() for i in range(n)]
    sales = pd.DataFrame(rows, columns=["sku", "region", "month", "qty"])
    return {"products": products, "sales_history": sales}


def _months(first: str, n: int) -> list[str]:
    return list(pd.period_range(first, periods=n, freq="M").strftime("%Y-%m"))


def _write(tables: dict[str, pd.DataFrame], folder) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)


# --------------------------------------------------------------------------- 1. the last month


def _typo(tiny_tables, month: str, rows: int = 1):
    """The tiny demo with the first ``rows`` rows of 2026-10 moved to ``month``."""
    sales = tiny_tables["sales_history"].copy()
    moved = sales.index[sales["month"] == "2026-10"][:rows]
    sales.loc[moved, "month"] = pd.Timestamp(month)
    october = int((sales["month"] == "2026-10").sum())
    return {**tiny_tables, "sales_history": sales}, moved, october


def test_a_last_row_typed_a_year_ahead_is_an_error_naming_it(tiny_tables):
    """2026-10 typed 2027-10 in one row: the cycle would be 2027-11, the plan all zeros."""
    tables, (moved,), october = _typo(tiny_tables, "2027-10")
    assert _problems(lambda: validate_tables(tables, origins=SALES)) == [
        f"sales_history.csv row {moved + 2}, column month: got '2027-10'; expected a month up "
        "to 2026-10, where the history ends for most SKU x region series (only 1 SKU x "
        f"region series has a row in 2027-10, against {october} in 2026-10: fewer than 10%; it "
        "would move the planning cycle to 2027-11 instead of 2026-11: correct the date or "
        "delete the row, so that the history ends where the business is)"
    ]


def test_a_last_row_typed_a_month_ahead_is_an_error_too(tiny_tables):
    tables, (moved,), october = _typo(tiny_tables, "2026-11")
    (problem,) = _problems(lambda: validate_tables(tables))
    assert problem.startswith(f"sales_history row {moved + 2}, column month: got '2026-11'; ")
    assert f"only 1 SKU x region series has a row in 2026-11, against {october} in 2026-10" in (
        problem
    )
    assert "it would move the planning cycle to 2026-12 instead of 2026-11" in problem


def test_every_row_of_a_stray_end_is_named(tiny_tables):
    """Three rows typed into two later months, 12 empty months apart from the history."""
    tables, moved, _ = _typo(tiny_tables, "2027-10", rows=2)
    sales = tables["sales_history"]
    third = sales.index[sales["month"] == "2026-10"][0]
    sales.loc[third, "month"] = pd.Timestamp("2027-03")
    with pytest.raises(DataValidationError) as info:
        validate_tables(tables)
    assert [(p.row, p.value) for p in info.value.problems] == sorted(
        [(third + 2, "2027-03"), *((m + 2, "2027-10") for m in moved)]
    )
    assert "only 2 SKU x region series have rows in 2027-10" in str(info.value)
    assert info.value.warnings == ()  # the months between are not also "a gap"


def test_a_new_item_first_sold_in_the_last_month_is_not_stray(tiny_tables):
    products, sales = tiny_tables["products"], tiny_tables["sales_history"]
    new = products.iloc[[0]].assign(sku="NEW-1", status="new", launch_month="2026-10")
    first = sales.iloc[[0]].assign(sku="NEW-1", month=pd.Timestamp("2026-10-01"))
    ds = validate_tables(
        {
            **tiny_tables,
            "products": pd.concat([products, new], ignore_index=True),
            "sales_history": pd.concat([sales, first], ignore_index=True),
        }
    )
    assert ds.last_month == pd.Timestamp("2026-10-01")
    assert ds.warnings == ()


def test_the_demo_companies_are_not_stray_nor_partial(tiny_demo):
    assert tiny_demo.warnings == ()
    assert load_dataset("demo").warnings == ()


@pytest.mark.parametrize(("series", "stray"), [(10, False), (11, True)])
def test_the_share_of_series_is_min_series_share(series, stray):
    """One row in the last month: stray when fewer than 10 % of the series of the month
    before (1 of 11), not when 1 of 10: small data is never stray."""
    assert MIN_SERIES_SHARE == 0.10
    months = dict.fromkeys(_months("2025-01", 6), (series, 5)) | {"2025-07": (1, 5)}
    if stray:
        with pytest.raises(DataValidationError, match=r"only 1 SKU x region series has a row"):
            validate_tables(_company(months))
    else:
        assert validate_tables(_company(months)).last_month == pd.Timestamp("2025-07-01")


def test_a_low_season_seen_a_year_before_is_not_stray():
    """20 items sell all year, one of them in July only: July 2025, like July 2024."""
    months = {m: (1 if m.endswith("-07") else 20, 5) for m in _months("2024-01", 19)}
    assert validate_tables(_company(months)).last_month == pd.Timestamp("2025-07-01")
    months["2024-07"] = (20, 5)  # a July like any month the year before: a typo now
    with pytest.raises(DataValidationError, match=r"only 1 SKU x region series has a row"):
        validate_tables(_company(months))


def test_a_lasting_fall_in_the_number_of_items_is_not_stray():
    """From 40 items to 3 for the last 6 months: 18 rows, more than 10 % of 40."""
    months = dict.fromkeys(_months("2024-01", 24), (40, 5))
    months |= dict.fromkeys(_months("2026-01", 6), (3, 5))
    assert validate_tables(_company(months)).last_month == pd.Timestamp("2026-06-01")


# --------------------------------------------------------------------------- 2. a partial month


def _partial(tiny_tables, share: float) -> dict[str, pd.DataFrame]:
    """The tiny demo with 2026-11 rows: every October series at ``share`` of its quantity."""
    sales = tiny_tables["sales_history"]
    november = sales[sales["month"] == "2026-10"].assign(month=pd.Timestamp("2026-11-01"))
    november["qty"] = (november["qty"] * share).round()
    return {**tiny_tables, "sales_history": pd.concat([sales, november], ignore_index=True)}


def test_a_partial_running_month_is_a_warning_naming_it(tiny_tables):
    tables = _partial(tiny_tables, 0.1)
    sales = tables["sales_history"]
    totals = sales.groupby("month")["qty"].sum()
    sold, median = totals["2026-11-01"], totals["2025-11-01":"2026-10-01"].median()
    year_ago = totals["2025-11-01"]
    ds = validate_tables(tables, origins=SALES)
    assert ds.last_month == pd.Timestamp("2026-11-01")  # a warning: the data is valid
    assert _warnings(ds) == [
        "sales_history.csv, column month: got '2026-11'; expected a complete last month, "
        "selling at least 50% of the median month of the 12 before it (2026-11 sells "
        f"{sold:,.0f} units in all, {sold / median:.0%} of the median month from 2025-11 to "
        f"2026-10 ({median:,.0f} units) and {year_ago:,.0f} in 2025-11; if it is the running "
        "month, exported before it ended, the planning cycle would be 2026-12 with 2026-11 "
        "counted as a full month: remove the 2026-11 rows, or plan 2026-11 with `sop run "
        "--cycle 2026-11`)"
    ]
    assert sold / median < 0.15
    # planning 2026-11 leaves the running month out, and the warning with it
    assert ds.as_of("2026-11").warnings == ()
    assert _warnings(ds.as_of("2026-12")) == _warnings(ds)


def test_a_replay_names_the_file_in_the_warnings_it_recomputes(tiny_tables):
    """2026-11 partial, 2026-12 full: no warning today; the 2026-12 replay warns of 2026-11,
    naming the file it came from (no column warning to borrow the name from)."""
    tables = _partial(tiny_tables, 0.1)
    sales = tables["sales_history"]
    december = sales[sales["month"] == "2026-10"].assign(month=pd.Timestamp("2026-12-01"))
    tables["sales_history"] = pd.concat([sales, december], ignore_index=True)
    ds = validate_tables(tables, origins=SALES)
    assert ds.warnings == ()
    (warning,) = _warnings(ds.as_of("2026-12"))
    assert warning.startswith("sales_history.csv, column month: got '2026-11'; expected a ")


@pytest.mark.parametrize(("share", "warned"), [(0.49, True), (0.51, False)])
def test_the_partial_share_is_min_last_month_share(share, warned):
    assert MIN_LAST_MONTH_SHARE == 0.5
    months = dict.fromkeys(_months("2025-01", 6), (4, 100)) | {"2025-07": (4, 100 * share)}
    ds = validate_tables(_company(months))
    assert bool(ds.warnings) is warned
    if warned:
        assert "2025-07 sells 196 units in all, 49% of the median month from 2025-01 to" in (
            str(ds.warnings[0])
        )


def test_a_low_month_like_the_same_month_a_year_before_is_a_season():
    months = {m: (4, 30 if m.endswith("-01") else 100) for m in _months("2025-01", 13)}
    assert validate_tables(_company(months)).warnings == ()
    months["2025-01"] = (4, 100)
    assert len(validate_tables(_company(months)).warnings) == 1


def test_a_short_history_is_not_judged_partial():
    assert MIN_MONTHS_TO_JUDGE_THE_LAST == 3
    months = {"2025-01": (4, 100), "2025-02": (4, 100), "2025-03": (4, 1)}
    assert validate_tables(_company(months)).warnings == ()
    months = {"2024-12": (4, 100), **months}
    assert len(validate_tables(_company(months)).warnings) == 1


# --------------------------------------------------------------------------- 3. columns


def test_a_misspelled_optional_column_is_an_error(raw, tmp_path):
    """Without it, the plan would run without safety stock or the end-of-life rule."""
    assert CLOSE_COLUMN_RATIO == 0.8
    raw["inventory"] = raw["inventory"].rename(columns={"safety_stock": "safety_stok"})
    raw["products"] = raw["products"].rename(columns={"eol_month": "eol_months"})
    _write(raw, tmp_path)
    assert _problems(lambda: load_folder(tmp_path)) == [
        "products.csv, column eol_months: not a column of products; did you mean eol_month? "
        "Rename the column: as it is, it would be ignored",
        "inventory.csv, column safety_stok: not a column of inventory; did you mean "
        "safety_stock? Rename the column: as it is, it would be ignored",
    ]


def test_a_misspelled_required_column_says_which_it_may_be(raw):
    raw["sales_history"] = raw["sales_history"].rename(columns={"qty": "qtty"})
    assert _problems(lambda: validate_tables(raw)) == [
        "sales_history, column qty: expected a column named 'qty' (one row per SKU x region x "
        "month); columns found: sku, region, month, qtty (is 'qtty' that column? Rename it to "
        "qty)"
    ]


def test_headers_differing_only_in_case_or_spacing_are_read_with_a_warning(raw):
    """An ERP export's ``Qty`` and `` MONTH `` are the contract's qty and month."""
    raw["sales_history"] = raw["sales_history"].rename(columns={"qty": "Qty", "month": " MONTH "})
    ds = validate_tables(raw, origins={"sales_history": "sales_history.csv"})
    assert ds.sales_history["qty"].sum() == pd.to_numeric(raw["sales_history"]["Qty"]).sum()
    assert _warnings(ds) == [
        "sales_history.csv has 2 headers that differ from the data contract's column names "
        "only in case or spacing, read as those columns: 'MONTH' as month and 'Qty' as qty"
    ]


def test_two_headers_that_are_one_column_once_case_is_ignored_are_an_error(raw):
    raw["sales_history"]["QTY"] = raw["sales_history"]["qty"]
    assert _problems(lambda: validate_tables(raw)) == [
        "sales_history, column qty: expected one column named 'qty' (found 2: 'qty', 'QTY', "
        "the same name once case and spacing are ignored; keep one)"
    ]


def test_a_column_named_after_a_contract_column_plus_a_suffix_is_not_a_misspelling(raw):
    """safety_stock_days is another quantity than safety_stock (units): a warning naming both."""
    raw["inventory"]["safety_stock_days"] = "5"
    ds = validate_tables(raw, origins={"inventory": "inventory.csv"})
    assert _warnings(ds) == [
        "inventory.csv, column safety_stock_days: not read, and not taken for safety_stock: in "
        "the data contract, safety_stock is a number of units, read from its own column"
    ]
    assert "safety_stock_days" not in ds.inventory.columns


def test_other_columns_are_a_warning(raw):
    raw["products"]["buyer"] = "J. Doe"
    raw["products"]["unit_prices"] = "1"  # close to unit_price, which is there: not a typo
    raw["inventory"]["Unnamed: 3"] = None  # an empty column without a header: no news
    ds = validate_tables(raw, origins={"products": "products.csv"})
    assert _warnings(ds) == [
        "products.csv has 2 columns that are not in the data contract, ignored: buyer, "
        "unit_prices (the columns of products are sku, description, family, unit_price, "
        "unit_cost, status, launch_month, eol_month, like_sku)"
    ]
    raw["inventory"].loc[0, "Unnamed: 3"] = "42"
    assert _warnings(validate_tables(raw))[1] == (
        "inventory has a column that is not in the data contract, ignored: a column without a "
        "header (column 4) (the columns of inventory are sku, on_hand, safety_stock)"
    )


def test_a_table_without_its_header_row_gets_no_column_warnings(raw):
    sales = raw["sales_history"]
    raw["sales_history"] = pd.DataFrame(sales.iloc[1:].to_numpy(), columns=sales.iloc[0])
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw)
    assert len(info.value.problems) == 1
    assert info.value.warnings == ()


def test_a_repeated_header_in_a_csv_file_is_an_error(raw, tmp_path):
    """pandas reads ``qty,qty`` as qty and qty.1: the second would be ignored."""
    _write(raw, tmp_path)
    path = tmp_path / "sales_history.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",qty"] + [f"{line},999" for line in lines[1:]]))
    assert _problems(lambda: load_folder(tmp_path)) == [
        "sales_history.csv, column qty: expected one column named 'qty' (found 2, columns 4 "
        "and 5; keep one)"
    ]


def test_a_repeated_header_in_a_sheet_is_an_error(raw, tmp_path):
    path = tmp_path / "erp.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name, df in raw.items():
            if name == "inventory":
                df = pd.concat([df, df[["sku"]]], axis=1)  # sku, on_hand, safety_stock, sku
            df.to_excel(xl, sheet_name=name, index=False)
    assert _problems(lambda: load_excel(path)) == [
        "erp.xlsx sheet inventory, column sku: expected one column named 'sku' (found 2, "
        "columns 1 and 4; keep one)"
    ]


# --------------------------------------------------------------------------- 4. files


def test_files_named_after_a_table_are_read_or_named(raw, tmp_path):
    """``.CSV`` is CSV; ``budget.txt`` would be skipped: an error; a README is no concern."""
    _write(raw, tmp_path)
    (tmp_path / "sales_inputs.csv").rename(tmp_path / "sales_inputs.CSV")
    (tmp_path / "budget.csv").rename(tmp_path / "budget.txt")
    (tmp_path / "README.md").write_text("our export")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "~$budget.xlsx").write_bytes(b"lock")
    with pytest.raises(SopError) as info:
        load_folder(tmp_path)
    assert str(info.value).splitlines() == [
        f"1 problem with the files in {tmp_path}:",
        "  - budget.txt: save it as budget.csv; a data folder's tables are read from .csv (or "
        ".parquet) files only",
        "Nothing was run. Fix the files and run `sop validate` again.",
    ]
    (tmp_path / "budget.txt").rename(tmp_path / "budget.csv")
    ds = load_folder(tmp_path)
    assert ds.sales_inputs["reason"].tolist() == ["Promotion"]
    assert ds.warnings == ()


def test_a_workbook_named_after_a_table_says_how_to_save_it(raw, tmp_path):
    _write(raw, tmp_path)
    (tmp_path / "bom.csv").unlink()
    (tmp_path / "bom.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(SopError, match=r"bom.xlsx: save it as bom.csv \(in Excel: \"CSV UTF-8"):
        load_folder(tmp_path)


def test_a_second_file_of_a_table_is_a_warning(raw, tmp_path):
    _write(raw, tmp_path)
    shutil.copy(tmp_path / "budget.csv", tmp_path / "Budget.txt")
    ds = load_folder(tmp_path)
    assert _warnings(ds) == [
        "Budget.txt is not read: the table budget is read from budget.csv; if it is the newer "
        "one, save it as CSV in its place"
    ]
    raw["products"].loc[0, "unit_price"] = "x"
    _write(raw, tmp_path)
    with pytest.raises(DataValidationError) as info:  # kept with the problems too
        load_folder(tmp_path)
    assert [w.origin for w in info.value.warnings] == ["Budget.txt"]


# --------------------------------------------------------------------------- 5. case


def test_codes_that_differ_only_in_case_are_a_warning(tiny_tables):
    assert set(CODE_COLUMNS) == {"sku", "region", "family", "resource", "material", "customer"}
    sales = tiny_tables["sales_history"].copy()
    north = sales.index[sales["region"] == "North"]
    sales.loc[north[[3, 4, 5, 9]], "region"] = "north"
    n = len(north) - 4
    ds = validate_tables({**tiny_tables, "sales_history": sales}, origins=SALES)
    rows = north[[3, 4, 5, 9]] + 2
    assert _warnings(ds) == [
        f"sales_history.csv, column region: 'North' ({n:,} rows) and 'north' (4 rows: "
        f"{rows[0]}-{rows[2]}, {rows[3]}) differ only in case, so they are 2 different "
        "regions: if they are one region, write it the same way in every row"
    ]
    assert ds.sales_history["region"].nunique() == 4  # still two regions: only a warning


def test_a_case_variant_in_a_reference_is_said_once(raw):
    """'a-1' is not a SKU of products: an error that says which it may be, no warning."""
    raw["products"].loc[1, "family"] = "kettles"
    raw["sales_history"].loc[1, "sku"] = "a-1"
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw)
    assert [str(p) for p in info.value.problems] == [
        "sales_history row 3, column sku: got 'a-1'; expected a sku that exists in products "
        "(did you mean 'A-1'?)"
    ]
    assert [str(w) for w in info.value.warnings] == [
        "products, column family: 'Kettles' (1 row) and 'kettles' (row 3) differ only in "
        "case, so they are 2 different families: if they are one family, write it the same "
        "way in every row"
    ]


# --------------------------------------------------------------------------- 6. look-alikes


def test_a_cyrillic_letter_in_a_key_is_named_with_the_key_it_looks_like(raw):
    raw["sales_history"].loc[0, "sku"] = "\u0410-1"  # CYRILLIC CAPITAL LETTER A
    raw["sales_history"].loc[2, "sku"] = "A\u20132"  # EN DASH
    assert _problems(lambda: validate_tables(raw, origins=SALES)) == [
        "sales_history.csv row 2, column sku: got 'А-1'; expected a sku that exists in "
        "products ('А' U+0410 CYRILLIC CAPITAL LETTER A is not ASCII; did you mean 'A-1'?)",
        "sales_history.csv row 4, column sku: got 'A–2'; expected a sku that exists in "
        "products ('–' U+2013 EN DASH is not ASCII; did you mean 'A-2'?)",
    ]


def test_the_example_of_the_tiny_demo(tiny_tables):
    sales = tiny_tables["sales_history"].copy()
    sku = sales.loc[0, "sku"]
    sales.loc[0, "sku"] = "\u041a" + sku[1:]  # CYRILLIC CAPITAL LETTER KA
    assert _problems(lambda: validate_tables({**tiny_tables, "sales_history": sales})) == [
        f"sales_history row 2, column sku: got '\u041a{sku[1:]}'; expected a sku that exists "
        f"in products ('К' U+041A CYRILLIC CAPITAL LETTER KA is not ASCII; did you mean "
        f"{sku!r}?)"
    ]


def test_greek_and_accents_and_several_characters(raw):
    raw["products"].loc[1, "family"] = "Kettles"
    raw["budget"].loc[0, "family"] = "\u039aéttles"  # GREEK CAPITAL LETTER KAPPA, é
    (problem,) = _problems(lambda: validate_tables(raw))
    assert problem == (
        "budget row 2, column family: got 'Κéttles'; expected a family that exists in "
        "products ('Κ' U+039A GREEK CAPITAL LETTER KAPPA and 'é' U+00E9 LATIN SMALL LETTER E "
        "WITH ACUTE are not ASCII; did you mean 'Kettles'?)"
    )


def test_no_guess_when_two_keys_look_alike_or_none_does(raw):
    raw["products"] = pd.concat(
        [raw["products"], raw["products"].iloc[[0]].assign(sku="a-1")], ignore_index=True
    )
    raw["sales_history"].loc[0, "sku"] = "\u0430-1"  # looks like 'a-1' and 'A-1' once folded
    raw["sales_history"].loc[1, "sku"] = "Z\u00e9-9"
    assert _problems(lambda: validate_tables(raw)) == [
        "sales_history row 2, column sku: got 'а-1'; expected a sku that exists in products "
        "('а' U+0430 CYRILLIC SMALL LETTER A is not ASCII)",
        "sales_history row 3, column sku: got 'Zé-9'; expected a sku that exists in products "
        "('é' U+00E9 LATIN SMALL LETTER E WITH ACUTE is not ASCII)",
    ]


def test_plain_unknown_keys_are_said_as_before(raw):
    raw["sales_history"].loc[0, "sku"] = "B-7"
    assert _problems(lambda: validate_tables(raw)) == [
        "sales_history row 2, column sku: got 'B-7'; expected a sku that exists in products"
    ]


def test_a_column_of_look_alikes_is_one_problem_saying_why(tiny_tables):
    sales = tiny_tables["sales_history"]
    dashed = sales["sku"].str.replace("-", "\u2013", regex=False)  # EN DASH
    (problem,) = _problems(
        lambda: validate_tables({**tiny_tables, "sales_history": sales.assign(sku=dashed)})
    )
    first = tiny_tables["products"]["sku"].iloc[0]
    assert problem.endswith(
        f"products has skus such as {first!r}; do both use the same codes?; '–' U+2013 EN "
        f"DASH is not ASCII; did you mean {sales['sku'].iloc[0]!r}?)"
    )


def test_statements_about_a_column_follow_a_colon():
    p = Problem("inventory", None, "x", None, "e", "inventory.csv", statement="not a column")
    assert str(p) == "inventory.csv, column x: not a column"
    assert str(Problem("t", None, None, None, "e", "t.csv", statement="is empty")) == (
        "t.csv is empty"
    )
