"""The sales history before any stage runs: stray months are errors, gaps are warnings that
travel with the dataset, and ``Dataset.as_of`` gives the data as it was known at a cycle."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import raw_tables

from sopkit.data import MAX_HISTORY_GAP_MONTHS, TAKEN_AS_NOW, Dataset, validate_tables
from sopkit.errors import DataValidationError, Problem, SopError


def _history(raw, months, skus=None):
    """sales_history with one row per month (SKU A-1 unless given), qty 1."""
    skus = skus or ["A-1"] * len(months)
    raw["sales_history"] = pd.DataFrame(
        {"sku": skus, "region": "North", "month": months, "qty": "1"}, dtype=object
    )
    return raw


# --------------------------------------------------------------------------- stray months


def test_a_stray_month_years_later_is_an_error_naming_the_row(raw):
    """One row dated 2035-01 would move the cycle to 2035-02 and plan from it."""
    row = raw["sales_history"].iloc[[0]].assign(month="2035-01")
    raw["sales_history"] = pd.concat([raw["sales_history"], row], ignore_index=True)
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw, origins={"sales_history": "sales_history.csv"})
    assert [str(p) for p in info.value.problems] == [
        "sales_history.csv row 5, column month: got '2035-01'; expected a month within 12 "
        "months of the rest of the history (2026-08 to 2026-09) (99 months without sales "
        "separate it from 2026-09; it would move the planning cycle to 2035-02: correct the "
        "date or delete the row)"
    ]


def test_a_stray_month_long_before_is_an_error_too(raw):
    raw["sales_history"].loc[0, "month"] = "1926-08"
    raw["sales_history"].loc[0, "region"] = "South"  # keep the key unique
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw)
    assert [str(p) for p in info.value.problems] == [
        "sales_history row 2, column month: got '1926-08'; expected a month within 12 months "
        "of the rest of the history (2026-09 to 2026-09) (1200 months without sales separate "
        "it from 2026-09: correct the date or delete the row)"
    ]


@pytest.mark.parametrize(
    ("last", "stray"),
    [("2025-07", False), ("2025-08", True)],
    ids=["12 empty months: a gap", "13 empty months: stray"],
)
def test_the_stray_limit_is_max_history_gap_months(raw, last, stray):
    """History 2024-01..2024-06 (6 rows), then one row in ``last``."""
    assert MAX_HISTORY_GAP_MONTHS == 12
    months = [f"2024-0{m}" for m in range(1, 7)] + [last]
    _history(raw, months)
    if stray:
        with pytest.raises(DataValidationError, match=r"row 8, column month: got '2025-08'"):
            validate_tables(raw)
    else:
        assert len(validate_tables(raw).warnings) == 1


def test_every_row_of_a_stray_part_is_named_and_the_largest_part_is_the_history(raw):
    """Two rows in 2019 (3 rows with a repeat month), five in 2024: 2019 is stray."""
    months = ["2019-01", "2019-02", "2019-02"] + [f"2024-0{m}" for m in range(1, 6)]
    skus = ["A-1", "A-1", "A-2"] + ["A-1"] * 5
    _history(raw, months, skus)
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw)
    assert [(p.row, p.value) for p in info.value.problems] == [
        (2, "2019-01"),
        (3, "2019-02"),
        (4, "2019-02"),
    ]


def test_a_large_older_block_is_one_gap_problem_not_thousands_of_row_errors(raw):
    """Two years of history, 17 empty months, then four years: no typo, a real gap. One
    problem names both blocks and both ways out; no row of the older block is condemned."""
    old = list(pd.period_range("2019-01", periods=24, freq="M").strftime("%Y-%m"))
    new = list(pd.period_range("2022-06", periods=53, freq="M").strftime("%Y-%m"))
    _history(raw, old + new)
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw)
    assert [str(p) for p in info.value.problems] == [
        "sales_history, column month: no row at all in the 17 months from 2021-01 to 2022-05, "
        "between the rows from 2019-01 to 2020-12 (24 rows) and those from 2022-06 to 2026-10 "
        f"(53 rows); a history cannot go more than {MAX_HISTORY_GAP_MONTHS} months without "
        "sales: delete the rows up to 2020-12 if that old block is not wanted, or fill the gap "
        "with the months from 2021-01 to 2022-05"
    ]
    # deleting the old block, as the message says, gives valid data
    _history(raw, new)
    assert validate_tables(raw).first_month == pd.Timestamp("2022-06-01")


# --------------------------------------------------------------------------- gaps: warnings


def test_months_without_any_history_are_a_warning_naming_them(raw):
    _history(raw, ["2026-03", "2026-04", "2026-07", "2026-09"])
    ds = validate_tables(raw, origins={"sales_history": "sales_history.csv"})
    assert isinstance(ds.warnings, tuple)
    assert all(isinstance(w, Problem) for w in ds.warnings)
    assert [str(w) for w in ds.warnings] == [
        "sales_history.csv, column month: expected sales in every month from 2026-03 to "
        "2026-09 (no row at all in 2026-05, 2026-06, 2026-08: the forecast counts those "
        "months as selling nothing; if the export left them out, add them)"
    ]


def test_a_complete_history_has_no_warnings(raw, tiny_demo):
    assert validate_tables(raw).warnings == ()
    assert tiny_demo.warnings == ()


def test_warnings_are_not_part_of_equality_or_the_fingerprint(raw):
    compared = {f.name: f.compare for f in dataclasses.fields(Dataset)}
    assert compared["warnings"] is False
    assert compared["as_of_notes"] is False
    ds = validate_tables(_history(raw, ["2026-06", "2026-09"]))
    assert ds.warnings
    assert dataclasses.replace(ds, warnings=()).fingerprint() == ds.fingerprint()


def test_warnings_are_listed_with_errors(raw):
    _history(raw, ["2026-06", "2026-09"])
    raw["products"].loc[0, "unit_price"] = "x"
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw)
    assert len(info.value.problems) == 1
    assert len(info.value.warnings) == 1
    text = str(info.value)
    assert "Also 1 warning (these alone would not stop a run):\n  - sales_history, column " in text
    assert text.endswith("Nothing was run. Fix the data and run `sop validate` again.")


def test_empty_rows_are_skipped_with_a_warning(raw):
    """Excel leaves formatted blank rows; a CSV gets ',,,' lines. One warning, not one
    problem per empty cell; rows keep their numbers."""
    blank = pd.DataFrame([[""] * 4, [" "] * 4, [None] * 4], columns=raw["sales_history"].columns)
    raw["sales_history"] = pd.concat(
        [raw["sales_history"].iloc[:1], blank.iloc[:2], raw["sales_history"].iloc[1:], blank],
        ignore_index=True,
    )
    raw["sales_history"].loc[3, "qty"] = "-1"
    with pytest.raises(DataValidationError) as info:
        validate_tables(raw, origins={"sales_history": "sales_history.csv"})
    assert [str(p) for p in info.value.problems] == [
        "sales_history.csv row 5, column qty: got '-1'; expected a value of 0 or more"
    ]
    assert [str(w) for w in info.value.warnings] == [
        "sales_history.csv has 5 empty rows (3-4, 7-9); they were skipped"
    ]
    raw["sales_history"].loc[3, "qty"] = "1"
    ds = validate_tables(raw)
    assert ds.sales_history.index.tolist() == [0, 1, 2]
    assert ds.sales_history["qty"].tolist() == [10.0, 1.0, 3.0]


# --------------------------------------------------------------------------- as_of


def _three_row_dataset() -> Dataset:
    """Three months of history, three order lines: shipped before the cycle, ordered
    before and shipped in the cycle month, ordered in the cycle month."""
    raw = raw_tables()
    raw["sales_history"] = pd.DataFrame(
        {
            "sku": ["A-1", "A-1", "A-2"],
            "region": "North",
            "month": ["2026-07", "2026-08", "2026-09"],
            "qty": ["10", "12", "3"],
        }
    )
    raw["order_lines"] = pd.DataFrame(
        {
            "order_id": ["O-1", "O-2", "O-3"],
            "sku": ["A-1", "A-1", "A-2"],
            "region": "North",
            "customer": "C-1",
            "order_date": ["2026-07-10", "2026-08-20", "2026-09-02"],
            "requested_date": ["2026-07-20", "2026-08-30", "2026-09-12"],
            "requested_qty": ["10", "12", "3"],
            "shipped_date": ["2026-07-20", "2026-09-01", "2026-09-10"],
            "shipped_qty": ["10", "12", "3"],
        }
    )
    return validate_tables(raw)


def test_as_of_cuts_history_and_orders_at_the_cycle():
    ds = _three_row_dataset()
    before = {name: df.copy() for name, df in ds.tables().items()}
    past = ds.as_of(pd.Timestamp("2026-09-01"))
    assert past.sales_history["month"].tolist() == [
        pd.Timestamp("2026-07-01"),
        pd.Timestamp("2026-08-01"),
    ]
    assert past.last_month == pd.Timestamp("2026-08-01")
    ol = past.order_lines
    assert ol["order_id"].tolist() == ["O-1", "O-2"]
    assert ol["shipped_date"].tolist()[0] == pd.Timestamp("2026-07-20")
    assert pd.isna(ol["shipped_date"].iloc[1])  # shipped on the cycle's first day: still open
    assert ol["shipped_qty"].tolist()[0] == 10.0
    assert np.isnan(ol["shipped_qty"].iloc[1])
    # typed as stages expect, numbered from 0
    for name, df in past.tables().items():
        assert df.dtypes.to_dict() == before[name].dtypes.to_dict(), name
        assert df.index.equals(pd.RangeIndex(len(df))), name
    # everything else as it is, and the original untouched (a pure function)
    for name in ("products", "inventory", "resources", "budget", "sales_inputs"):
        assert getattr(past, name) is getattr(ds, name)
    for name, df in ds.tables().items():
        pd.testing.assert_frame_equal(df, before[name], obj=name)
    assert past.fingerprint() != ds.fingerprint()
    assert ds.as_of_notes == ()


def test_as_of_says_what_it_cannot_take_back():
    past = _three_row_dataset().as_of("2026-09")
    assert past.as_of_notes == (
        "inventory (on_hand, safety_stock) is the stock as it is now, not at the start of "
        "2026-09: the data holds no inventory history.",
        "products status, prices, costs, eol_month and like_sku are as they are now, not as "
        "they were in 2026-09: the data holds no product history.",
        "resources, routings, bom, material_supply, costs, workforce, sales_inputs and budget "
        "are taken as they are now for 2026-09: the data carries no date of entry for them.",
    )
    assert "inventory.on_hand" in TAKEN_AS_NOW
    assert "products.status" in TAKEN_AS_NOW


def test_as_of_after_the_last_month_changes_nothing():
    ds = _three_row_dataset()
    same = ds.as_of(pd.Timestamp("2026-10-01"))  # the default cycle: the month after
    assert same.fingerprint() == ds.fingerprint()
    for name, df in ds.tables().items():
        pd.testing.assert_frame_equal(getattr(same, name), df, obj=name)
    assert ds.as_of(pd.Timestamp("2030-01-01")).fingerprint() == ds.fingerprint()


def test_as_of_recomputes_the_history_warnings(raw):
    ds = validate_tables(_history(raw, ["2026-03", "2026-05", "2026-06", "2026-08", "2026-09"]))
    assert "no row at all in 2026-04, 2026-07" in str(ds.warnings[0])
    assert "no row at all in 2026-04:" in str(ds.as_of("2026-07").warnings[0])
    assert ds.as_of("2026-04").warnings == ()


@pytest.mark.parametrize("cycle", ["2026-09-15", "September", pd.Timestamp("2026-09-01 12:00")])
def test_as_of_refuses_what_is_not_a_month(cycle):
    with pytest.raises(SopError, match="cycle must be a first-of-month date"):
        _three_row_dataset().as_of(cycle)
