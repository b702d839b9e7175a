"""The accuracy of earlier plans of record and the value their adjustments added.

Hand-written plans and sales whose figures are worked out by hand in each test's
docstring; one slow test runs the real cycle twice (2026-10, then 2026-11) and reads the
figure back from the executed notebook.

The hand case (current cycle 2026-03; history up to 2026-02; SKUs A and B in family F1,
C in F2). Plans of record, statistical -> consensus:

- cycle 2026-01: A/North Jan 10 -> 12 (j.doe +2), B/North Jan 5 -> 0 (sopkit's end of
  life, -5), C/North Jan 8 -> 2 (m.keller -6), A/North Feb 10 -> 10 (j.doe +3 and
  a.smith -3), A/North Mar 10 -> 15 (j.doe +5; March has not happened);
- cycle 2026-02: A/North Feb 9 -> 11 (j.doe +2).

Sales: A/North Jan 12, C/North Jan 4, C/South Jan 2 (no plan row), A/North Feb 10; B
sold nothing.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import vl_convert

from sopkit import demand
from sopkit.charts.demand import plan_accuracy_chart
from sopkit.cli import main
from sopkit.cycle import run_cycle
from sopkit.data import write_csv_folder
from sopkit.demand.accuracy import AUTHOR_VALUE_COLUMNS, PLAN_ACCURACY_COLUMNS
from sopkit.errors import SopError
from sopkit.store import CycleStore, PlanArchive

M = pd.Timestamp
CYCLE = "2026-03"
PLAN_COLUMNS = ["cycle", "sku", "region", "month", "statistical", "consensus"]
ADJ_COLUMNS = ["cycle", "sku", "region", "month", "source", "author", "effect"]


@pytest.fixture
def products() -> pd.DataFrame:
    return pd.DataFrame({"sku": ["A", "B", "C"], "family": ["F1", "F1", "F2"]})


@pytest.fixture
def plans() -> pd.DataFrame:
    jan, feb, mar = M("2026-01-01"), M("2026-02-01"), M("2026-03-01")
    rows = [
        ("2026-01", "A", "North", jan, 10.0, 12.0),
        ("2026-01", "B", "North", jan, 5.0, 0.0),
        ("2026-01", "C", "North", jan, 8.0, 2.0),
        ("2026-01", "A", "North", feb, 10.0, 10.0),
        ("2026-01", "A", "North", mar, 10.0, 15.0),
        ("2026-02", "A", "North", feb, 9.0, 11.0),
    ]
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


@pytest.fixture
def sales() -> pd.DataFrame:
    jan, feb = M("2026-01-01"), M("2026-02-01")
    rows = [
        ("A", "North", jan, 12.0),
        ("C", "North", jan, 4.0),
        ("C", "South", jan, 2.0),
        ("A", "North", feb, 10.0),
    ]
    return pd.DataFrame(rows, columns=["sku", "region", "month", "qty"])


@pytest.fixture
def adjustments() -> pd.DataFrame:
    jan, feb, mar = M("2026-01-01"), M("2026-02-01"), M("2026-03-01")
    rows = [
        ("2026-01", "A", "North", jan, "sales_inputs", "j.doe", 2.0),
        ("2026-01", "B", "North", jan, "rule", "sopkit", -5.0),
        ("2026-01", "C", "North", jan, "sales_inputs", "m.keller", -6.0),
        ("2026-01", "A", "North", feb, "sales_inputs", "j.doe", 3.0),
        ("2026-01", "A", "North", feb, "sales_inputs", "a.smith", -3.0),
        ("2026-01", "A", "North", mar, "sales_inputs", "j.doe", 5.0),
        ("2026-02", "A", "North", feb, "sales_inputs", "j.doe", 2.0),
    ]
    return pd.DataFrame(rows, columns=ADJ_COLUMNS)


@pytest.fixture
def acc(plans, sales, products) -> pd.DataFrame:
    return demand.plan_accuracy(plans, sales, products, CYCLE)


def _row(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    (i,) = np.flatnonzero(mask)
    return frame.iloc[i]


# --------------------------------------------------------------------------- plan_accuracy


def test_lags_count_from_the_cycle_and_only_months_that_passed(acc):
    """lag = months from the cycle to the month + 1: cycle 2026-01 has lag 1 (January) and
    lag 2 (February); cycle 2026-02 has lag 1 (February). March is the current cycle: not
    measured, though 2026-01 planned it."""
    got = list(acc[["cycle", "month", "lag"]].drop_duplicates().itertuples(index=False, name=None))
    assert got == [
        ("2026-01", M("2026-01-01"), 1),
        ("2026-01", M("2026-02-01"), 2),
        ("2026-02", M("2026-02-01"), 1),
    ]
    assert acc["lag"].dtype == np.int64
    assert list(acc.columns) == PLAN_ACCURACY_COLUMNS
    # the plan's own level first, then family and total, within each cycle and lag
    jan = acc[(acc["cycle"] == "2026-01") & (acc["lag"] == 1)]
    assert jan["level"].tolist() == ["sku_region"] * 4 + ["family"] * 2 + ["total"]
    assert jan["key"].tolist() == [
        "A / North", "B / North", "C / North", "C / South", "F1", "F2", "Total",
    ]  # fmt: skip


def test_wape_at_sku_region_level_row_by_row(acc):
    """Cycle 2026-01, lag 1 (January), |plan - actual| row by row:

    - A/North: actual 12, statistical 10 -> 2 (WAPE 2/12), consensus 12 -> 0;
    - C/North: actual 4, statistical 8 -> 4 (WAPE 4/4 = 1), consensus 2 -> 2 (0.5);
    - bias C/North: statistical (8 - 4)/4 = +1, consensus (2 - 4)/4 = -0.5.
    """
    a = _row(acc, cycle="2026-01", lag=1, key="A / North")
    assert (a["actual"], a["statistical"], a["consensus"]) == (12.0, 10.0, 12.0)
    assert a["wape_statistical"] == pytest.approx(2 / 12)
    assert a["wape_consensus"] == 0.0
    assert a["family"] == "F1"
    c = _row(acc, cycle="2026-01", lag=1, key="C / North")
    assert (c["abs_error_statistical"], c["abs_error_consensus"]) == (4.0, 2.0)
    assert (c["wape_statistical"], c["wape_consensus"]) == (1.0, 0.5)
    assert (c["bias_statistical"], c["bias_consensus"]) == (1.0, -0.5)


def test_family_and_total_sum_the_rows_before_measuring(acc):
    """Cycle 2026-01, January. F1 = A + B: actual 12 + 0 = 12, statistical 10 + 5 = 15,
    consensus 12 + 0 = 12 -> WAPE 3/12 = 0.25 and 0. F2 = C/North + C/South: actual
    4 + 2 = 6, statistical 8 + 0 = 8, consensus 2 + 0 = 2 -> WAPE 2/6 and 4/6. Total:
    actual 18, statistical 23, consensus 14 -> WAPE 5/18 and 4/18, bias +5/18 and -4/18.
    """
    f1 = _row(acc, cycle="2026-01", lag=1, level="family", key="F1")
    assert (f1["actual"], f1["statistical"], f1["consensus"]) == (12.0, 15.0, 12.0)
    assert (f1["wape_statistical"], f1["wape_consensus"]) == (0.25, 0.0)
    assert f1["family"] == "F1"
    f2 = _row(acc, cycle="2026-01", lag=1, level="family", key="F2")
    assert (f2["actual"], f2["statistical"], f2["consensus"]) == (6.0, 8.0, 2.0)
    assert f2["wape_statistical"] == pytest.approx(2 / 6)
    assert f2["wape_consensus"] == pytest.approx(4 / 6)
    total = _row(acc, cycle="2026-01", lag=1, level="total")
    assert (total["key"], total["family"]) == ("Total", None)
    assert (total["actual"], total["statistical"], total["consensus"]) == (18.0, 23.0, 14.0)
    assert total["wape_statistical"] == pytest.approx(5 / 18)
    assert total["wape_consensus"] == pytest.approx(4 / 18)
    assert total["bias_statistical"] == pytest.approx(5 / 18)
    assert total["bias_consensus"] == pytest.approx(-4 / 18)


def test_fva_sign_says_whether_the_adjustments_helped(acc):
    """fva = WAPE(statistical) - WAPE(consensus), cycle 2026-01, January:

    - A/North: 2/12 - 0 = +1/6 (j.doe's +2 hit the 12 sold: helped);
    - F2: 2/6 - 4/6 = -1/3 (m.keller's -6 on C/North overshot: 8 -> 2 against 4 sold,
      and the family's total 2 is further from 6 than 8 was: hurt);
    - Total: 5/18 - 4/18 = +1/18; cycle 2026-02, A/North: |9-10| = |11-10|, 0.
    """
    a = _row(acc, cycle="2026-01", lag=1, key="A / North")
    assert a["fva_wape"] == pytest.approx(1 / 6)
    f2 = _row(acc, cycle="2026-01", lag=1, key="F2")
    assert f2["fva_wape"] == pytest.approx(-1 / 3)
    total = _row(acc, cycle="2026-01", lag=1, level="total")
    assert total["fva_wape"] == pytest.approx(1 / 18)
    later = _row(acc, cycle="2026-02", lag=1, level="sku_region")
    assert later["fva_wape"] == 0.0


def test_planned_rows_without_sales_count_with_actual_zero(acc):
    """B/North was planned (5 -> 0) and sold nothing: actual 0, so its own WAPE is not
    defined (NaN), but its errors 5 (statistical) and 0 (consensus) count in the pooled
    figures: the F1 statistical error is |15 - 12| = 3, not |10 - 12| = 2."""
    b = _row(acc, cycle="2026-01", lag=1, key="B / North")
    assert (b["actual"], b["abs_error_statistical"], b["abs_error_consensus"]) == (0.0, 5.0, 0.0)
    assert np.isnan(b["wape_statistical"])
    assert np.isnan(b["fva_wape"])
    assert _row(acc, cycle="2026-01", lag=1, key="F1")["abs_error_statistical"] == 3.0


def test_sales_without_a_planned_row_count_with_plan_zero(acc):
    """C/South sold 2 in January with no row in cycle 2026-01's plan: statistical =
    consensus = 0, error 2 each (WAPE 1). February: 2026-01 planned only A/North, and only
    A/North sold; no C/South row appears there."""
    c = _row(acc, cycle="2026-01", lag=1, key="C / South")
    assert (c["actual"], c["statistical"], c["consensus"]) == (2.0, 0.0, 0.0)
    assert (c["wape_statistical"], c["wape_consensus"], c["fva_wape"]) == (1.0, 1.0, 0.0)
    feb = acc[(acc["cycle"] == "2026-01") & (acc["lag"] == 2) & (acc["level"] == "sku_region")]
    assert feb["key"].tolist() == ["A / North"]


def test_sales_of_months_no_earlier_cycle_planned_are_left_out(plans, sales, products):
    """A sale in December 2025 (before any cycle) and one in a month beyond cycle
    2026-02's plan are not errors of any plan: the measured actuals stay 18 + 10 + 10."""
    earlier = pd.DataFrame(
        [("A", "North", M("2025-12-01"), 99.0)], columns=["sku", "region", "month", "qty"]
    )
    only_feb = plans[plans["cycle"] == "2026-02"]
    acc = demand.plan_accuracy(only_feb, pd.concat([earlier, sales]), products, CYCLE)
    assert acc.loc[acc["level"] == "total", "actual"].tolist() == [10.0]
    full = demand.plan_accuracy(plans, pd.concat([earlier, sales]), products, CYCLE)
    assert full.loc[full["level"] == "total", "actual"].tolist() == [18.0, 10.0, 10.0]


def test_months_after_the_history_are_not_measured_yet(plans, sales, products):
    """Cycle 2026-04 with history up to 2026-02: March has no actuals yet, so the
    2026-01 plan's March row (lag 3) is not counted as a miss of 10 units."""
    acc = demand.plan_accuracy(plans, sales, products, "2026-04")
    assert sorted(acc["month"].unique()) == [M("2026-01-01"), M("2026-02-01")]
    assert 3 not in set(acc["lag"])


def test_empty_archive_gives_empty_tables_with_the_columns(tmp_path, sales, products):
    """The first cycle: PlanArchive has no completed cycle and returns empty tables with
    the contract's columns; every function returns an empty table, never an error."""
    archive = PlanArchive(tmp_path / "reports")
    plans = archive.read("demand_plan", before=CYCLE)
    adjustments = archive.read("adjustments", before=CYCLE)
    assert plans.empty
    acc = demand.plan_accuracy(plans, sales, products, CYCLE)
    assert acc.empty
    assert list(acc.columns) == PLAN_ACCURACY_COLUMNS
    assert acc["lag"].dtype == np.int64
    assert acc["month"].dtype == "datetime64[ns]"
    summary = demand.summarise_plan_accuracy(acc)
    assert summary.empty
    assert list(summary.columns[:5]) == ["lag", "level", "cycles", "first_month", "last_month"]
    by_author = demand.value_added_by_author(plans, adjustments, sales, CYCLE)
    assert by_author.empty
    assert list(by_author.columns) == AUTHOR_VALUE_COLUMNS
    # an empty history: nothing has been measured either
    assert demand.plan_accuracy(plans, sales.iloc[:0], products, CYCLE).empty


def test_accepts_a_timestamp_cycle_and_ignores_the_current_and_later_cycles(plans, sales, products):
    """cycle as a Timestamp gives the same table; a plan of cycle 2026-03 itself (or
    later) has no month that has passed."""
    same = demand.plan_accuracy(plans, sales, products, M("2026-03-01"))
    current = plans.iloc[[4]].assign(cycle="2026-03")
    acc = demand.plan_accuracy(pd.concat([plans, current]), sales, products, CYCLE)
    pd.testing.assert_frame_equal(same, acc)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda p: p.assign(cycle=["January", *p["cycle"][1:]]),
            "cycle column must hold months written YYYY-MM",
        ),
        (lambda p: pd.concat([p, p.iloc[[0]]]), "more than one row"),
        (lambda p: p.assign(consensus=[np.nan, *p["consensus"][1:]]), "without a statistical"),
        (lambda p: p.drop(columns="statistical"), "missing column"),
    ],
    ids=["bad-cycle", "duplicate", "no-consensus", "missing-column"],
)
def test_bad_plans_raise_sop_error(plans, sales, products, change, match):
    with pytest.raises(SopError, match=match):
        demand.plan_accuracy(change(plans), sales, products, CYCLE)


# --------------------------------------------------------------------------- summary


def test_an_item_dropped_from_the_catalogue_keeps_its_place(plans, sales, products):
    """B was planned in 2026-01 and has since left products: its row is measured under
    the family "(no longer in products)" instead of stopping the stage. Plan 5 against
    sales 0 at SKU x region: WAPE undefined (nothing sold); the family row sums the same."""
    acc = demand.plan_accuracy(plans, sales, products[products["sku"] != "B"], CYCLE)
    row = _row(acc, level="family", key=demand.accuracy.DROPPED_FAMILY, lag=1)
    assert (row["actual"], row["statistical"], row["consensus"]) == (0.0, 5.0, 0.0)
    assert _row(acc, level="sku_region", key="B / North")["family"] == "(no longer in products)"
    # the other families are unchanged
    full = demand.plan_accuracy(plans, sales, products, CYCLE)
    f2 = [_row(a, level="family", key="F2", lag=1)["wape_statistical"] for a in (acc, full)]
    assert f2[0] == f2[1]


def test_summary_pools_cycles_by_lag_and_level(acc):
    """Lag 1 pools January of 2026-01 and February of 2026-02. SKU x region: actual
    18 + 10 = 28; statistical errors 2 + 5 + 4 + 2 + 1 = 14 -> WAPE 0.5; consensus errors
    0 + 0 + 2 + 2 + 1 = 5 -> 5/28; fva 9/28. Total: |23-18| + |9-10| = 6 -> 6/28 and
    |14-18| + |11-10| = 5 -> 5/28. Lag 2: 2026-01's February only, all exact."""
    s = demand.summarise_plan_accuracy(acc)
    assert s[["lag", "level"]].to_records(index=False).tolist() == [
        (1, "sku_region"), (1, "family"), (1, "total"),
        (2, "sku_region"), (2, "family"), (2, "total"),
    ]  # fmt: skip
    fine = _row(s, lag=1, level="sku_region")
    assert (fine["cycles"], fine["actual"]) == (2, 28.0)
    assert (fine["first_month"], fine["last_month"]) == (M("2026-01-01"), M("2026-02-01"))
    assert fine["wape_statistical"] == 0.5
    assert fine["wape_consensus"] == pytest.approx(5 / 28)
    assert fine["fva_wape"] == pytest.approx(9 / 28)
    total = _row(s, lag=1, level="total")
    assert total["wape_statistical"] == pytest.approx(6 / 28)
    assert total["wape_consensus"] == pytest.approx(5 / 28)
    lag2 = _row(s, lag=2, level="sku_region")
    assert (lag2["cycles"], lag2["wape_statistical"], lag2["fva_wape"]) == (1, 0.0, 0.0)


def test_summary_by_family_and_the_by_argument(acc):
    """By level and key, pooled over cycles and lags: F1 = January (|15-12| = 3,
    |12-12| = 0) + February of both cycles (0, 0 and |9-10| = 1, |11-10| = 1) over
    12 + 10 + 10 = 32 -> 4/32 and 1/32."""
    s = demand.summarise_plan_accuracy(acc, by=["level", "key"])
    f1 = _row(s, level="family", key="F1")
    assert (f1["cycles"], f1["actual"]) == (2, 32.0)
    assert f1["wape_statistical"] == pytest.approx(4 / 32)
    assert f1["wape_consensus"] == pytest.approx(1 / 32)
    assert s["level"].tolist()[:4] == ["sku_region"] * 4
    by_family = demand.summarise_plan_accuracy(acc, by=["family", "level"])
    assert by_family["family"].tolist() == ["F1", "F1", "F2", "F2", None]
    with pytest.raises(SopError, match="level among them"):
        demand.summarise_plan_accuracy(acc, by=["lag"])
    with pytest.raises(SopError, match="distinct columns"):
        demand.summarise_plan_accuracy(acc, by=["level", "wape_consensus"])


# --------------------------------------------------------------------------- by author


def test_value_added_by_author(plans, adjustments, sales):
    """Each author alone on the rows they touched (March left out: not happened):

    - j.doe: 2026-01 A/N Jan (S 10, +2 -> 12, actual 12: errors 2, 0), 2026-01 A/N Feb
      (S 10, +3 -> 13, actual 10: 0, 3), 2026-02 A/N Feb (S 9, +2 -> 11, actual 10: 1, 1):
      rows 3, effect 7, actual 32, WAPE 3/32 -> 4/32, fva -1/32 (his February +3 hurt);
    - a.smith: 2026-01 A/N Feb (S 10, -3 -> 7, actual 10): 0 -> 3, WAPE 0 -> 0.3, -0.3;
      with j.doe's +3 the consensus stayed 10, but each author is measured alone;
    - m.keller: 2026-01 C/N Jan (S 8, -6 -> 2, actual 4): 4 -> 2, WAPE 1 -> 0.5, +0.5;
    - sopkit (end of life): B/N Jan (S 5, -5 -> 0, actual 0): errors 5 -> 0, WAPE not
      defined (nothing sold), the absolute errors show the gain.
    """
    out = demand.value_added_by_author(plans, adjustments, sales, CYCLE)
    assert out["author"].tolist() == ["a.smith", "j.doe", "m.keller", "sopkit"]
    assert list(out.columns) == AUTHOR_VALUE_COLUMNS
    doe = _row(out, author="j.doe")
    assert (doe["source"], doe["cycles"], doe["rows"], doe["effect"]) == ("sales_inputs", 2, 3, 7.0)
    assert (doe["actual"], doe["statistical"], doe["adjusted"]) == (32.0, 29.0, 36.0)
    assert (doe["abs_error_statistical"], doe["abs_error_adjusted"]) == (3.0, 4.0)
    assert doe["wape_statistical"] == pytest.approx(3 / 32)
    assert doe["wape_adjusted"] == pytest.approx(4 / 32)
    assert doe["fva_wape"] == pytest.approx(-1 / 32)
    smith = _row(out, author="a.smith")
    assert (smith["wape_statistical"], smith["wape_adjusted"]) == (0.0, 0.3)
    assert smith["fva_wape"] == pytest.approx(-0.3)
    keller = _row(out, author="m.keller")
    assert (keller["wape_statistical"], keller["wape_adjusted"], keller["fva_wape"]) == (
        1.0,
        0.5,
        0.5,
    )
    rule = _row(out, author="sopkit")
    assert rule["source"] == "rule"
    assert (rule["abs_error_statistical"], rule["abs_error_adjusted"]) == (5.0, 0.0)
    assert np.isnan(rule["fva_wape"])


def test_value_added_by_author_and_cycle(plans, adjustments, sales):
    """By cycle: j.doe in 2026-01 has 2 rows (actual 12 + 10 = 22, errors 2 + 0 = 2 ->
    0 + 3 = 3: fva -1/22) and in 2026-02 one row (1 -> 1: fva 0). By lag: his lag 1
    rows are January of 2026-01 and February of 2026-02 (errors 2 + 1 = 3 -> 0 + 1 = 1
    over 22: fva +2/22), his lag 2 row February of 2026-01 (0 -> 3 over 10: -0.3)."""
    out = demand.value_added_by_author(plans, adjustments, sales, CYCLE, by=("cycle", "author"))
    assert out[["cycle", "author"]].to_records(index=False).tolist() == [
        ("2026-01", "a.smith"), ("2026-01", "j.doe"), ("2026-01", "m.keller"),
        ("2026-01", "sopkit"), ("2026-02", "j.doe"),
    ]  # fmt: skip
    assert _row(out, cycle="2026-01", author="j.doe")["fva_wape"] == pytest.approx(-1 / 22)
    assert _row(out, cycle="2026-02", author="j.doe")["fva_wape"] == 0.0
    by_lag = demand.value_added_by_author(plans, adjustments, sales, CYCLE, by=("author", "lag"))
    assert _row(by_lag, author="j.doe", lag=1)["fva_wape"] == pytest.approx(2 / 22)
    assert _row(by_lag, author="j.doe", lag=2)["fva_wape"] == pytest.approx(-0.3)


def test_value_added_by_author_refuses_adjustments_without_their_plan(plans, adjustments, sales):
    """An adjustment of 2026-01 on C/North in February: that plan has no such row."""
    stray = adjustments.iloc[[2]].assign(month=M("2026-02-01"))
    with pytest.raises(SopError, match=r"1 row\(s\) that the demand plan of their cycle"):
        demand.value_added_by_author(plans, pd.concat([adjustments, stray]), sales, CYCLE)
    with pytest.raises(SopError, match="author among them"):
        demand.value_added_by_author(plans, adjustments, sales, CYCLE, by=("cycle",))
    # adjustments only in months to come: nothing measured yet
    march = adjustments[adjustments["month"] == M("2026-03-01")]
    assert demand.value_added_by_author(plans, march, sales, CYCLE).empty


# --------------------------------------------------------------------------- chart


def test_plan_accuracy_chart_bars_by_lag_and_level(acc):
    """Two bars per lag and level (statistical, consensus) at the WAPEs of the summary,
    one panel per level, the plan's own level first; FVA labelled in points: lag 1 SKU x
    region 9/28 = +32.1 pts."""
    s = demand.summarise_plan_accuracy(acc)
    chart = plan_accuracy_chart(s)
    spec = chart.to_dict()
    rows = spec["data"]["values"]
    assert len(rows) == 6 * 2
    drawn = {(r["lag"], r["level"], r["plan"]): r["wape"] for r in rows}
    assert drawn[(1, "sku_region", "statistical")] == 0.5
    assert drawn[(1, "sku_region", "consensus")] == pytest.approx(5 / 28)
    labels = {(r["lag"], r["level"]): r["fva_label"] for r in rows}
    assert labels[(1, "sku_region")] == "FVA +32.1 pts"
    assert labels[(2, "total")] == "FVA +0.0 pts"
    assert {r["months"] for r in rows if r["lag"] == 1} == {"2026-01 to 2026-02"}
    assert spec["facet"]["column"]["sort"] == [
        "each SKU in each region", "each family summed", "all SKUs summed",
    ]  # fmt: skip
    bars, text = spec["spec"]["layer"]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["xOffset"]["field"] == "plan"
    assert bars["encoding"]["y"]["axis"]["format"] == "%"
    assert bars["encoding"]["color"]["scale"]["domain"] == ["statistical", "consensus"]
    assert text["encoding"]["text"]["field"] == "fva_label"
    assert spec["title"]["text"] == "Earlier plans against what happened"
    json.loads(chart.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in chart JSON"))
    svg = vl_convert.vegalite_to_svg(chart.to_json())
    assert "Earlier plans against what happened" in svg


def test_plan_accuracy_chart_without_sales_empty_and_unpooled(acc):
    """A lag where nothing was sold has no WAPE: no NaN in the JSON, the label says "–".
    An empty summary gives the no-data chart; an unpooled table is refused."""
    s = demand.summarise_plan_accuracy(acc)
    s.loc[s["lag"] == 2, ["actual", "wape_statistical", "wape_consensus", "fva_wape"]] = np.nan
    chart = plan_accuracy_chart(s)
    json.loads(chart.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in chart JSON"))
    assert {r["fva_label"] for r in chart.to_dict()["data"]["values"] if r["lag"] == 2} == {"FVA –"}
    empty = plan_accuracy_chart(s.iloc[:0]).to_dict()
    assert empty["mark"]["type"] == "text"
    assert empty["data"]["values"] == [{"message": "No data to show"}]
    with pytest.raises(SopError, match="summarise_plan_accuracy"):
        plan_accuracy_chart(demand.summarise_plan_accuracy(acc, by=["cycle", "lag", "level"]))
    with pytest.raises(SopError, match="fva_wape"):
        plan_accuracy_chart(s.drop(columns="fva_wape"))


# --------------------------------------------------------------------------- the real cycle


def _make_workspace(path: Path, tiny_demo) -> Path:
    assert main(["init", str(path)]) == 0
    shutil.rmtree(path / "data")
    write_csv_folder(tiny_demo, path / "data")
    params = path / "parameters" / "default.yaml"
    params.write_text(params.read_text().replace("horizon: 18 ", "horizon: 12 "))
    return path


def _section_outputs(path: Path) -> list[dict]:
    """The outputs of the code cells of the section "Earlier plans against what happened"."""
    nb = nbformat.read(path, as_version=4)
    start = next(i for i, c in enumerate(nb.cells) if "Earlier plans against" in c.source)
    end = next(i for i, c in enumerate(nb.cells) if "Whose adjustments" in c.source)
    return [o for c in nb.cells[start:end] if c.cell_type == "code" for o in c.outputs]


def _html_rows(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", r)]
        for r in rows
    ]


@pytest.mark.slow
def test_the_next_cycle_shows_how_the_earlier_plan_did(tmp_path, tiny_demo):
    """Cycle 2026-10 (history up to 2026-09), then 2026-11: the 2026-11 demand notebook
    shows the 2026-10 plan's accuracy at lag 1 (month 2026-10), and its figures are
    plan_accuracy's on the artifacts read straight from the files, which are in turn
    the WAPE of the plan worked out here with plain pandas."""
    ws = _make_workspace(tmp_path / "acme", tiny_demo)
    for cycle in ("2026-10", "2026-11"):
        result = run_cycle(workspace=ws, cycle=cycle, progress=lambda _: None)
        assert result.status == "complete"
    reports = ws / "reports"
    october, november = CycleStore(reports, "2026-10"), CycleStore(reports, "2026-11")

    # The first cycle of record says so, in one sentence, and shows no table.
    first = _section_outputs(october.root / "02_demand_planning.ipynb")
    texts = [o["data"].get("text/markdown", "") for o in first if "data" in o]
    assert any("the first cycle with a plan of record" in t for t in texts)
    assert not any("text/html" in o.get("data", {}) for o in first)

    # Independently: October's plan from its Parquet file, November's input snapshot.
    plan = pd.read_parquet(october.artifact_path("demand_plan"))
    assert plan["month"].min() == M("2026-10-01")
    sales = pd.read_parquet(november.inputs_dir / "sales_history.parquet")
    products = pd.read_parquet(november.inputs_dir / "products.parquet")
    assert sales["month"].max() == M("2026-10-01")
    acc = demand.plan_accuracy(plan.assign(cycle="2026-10"), sales, products, "2026-11")
    assert set(acc["month"]) == {M("2026-10-01")}
    assert set(acc["lag"]) == {1}
    summary = demand.summarise_plan_accuracy(acc)

    # The same WAPE with plain pandas: October's rows against October's sales.
    sold = sales[sales["month"] == M("2026-10-01")].groupby(["sku", "region"])["qty"].sum()
    planned = plan[plan["month"] == M("2026-10-01")].set_index(["sku", "region"])
    both = planned[["statistical", "consensus"]].join(sold, how="outer").fillna(0.0)
    for p in ("statistical", "consensus"):
        by_hand = (both[p] - both["qty"]).abs().sum() / both["qty"].sum()
        assert _row(summary, level="sku_region")[f"wape_{p}"] == pytest.approx(by_hand)

    # What the notebook shows: the table, one row per level at lag 1 for 2026-10.
    outputs = _section_outputs(november.root / "02_demand_planning.ipynb")
    (html,) = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    header, *rows = _html_rows(html)
    shown = {r[header.index("level")]: dict(zip(header, r, strict=True)) for r in rows}
    assert set(shown) == {"sku_region", "family", "total"}
    for level, row in shown.items():
        want = _row(summary, level=level)
        assert (row["lag"], row["first_month"], row["last_month"]) == ("1", "2026-10", "2026-10")
        assert row["actual"] == f"{want['actual']:,.0f}"
        for column in ("wape_statistical", "wape_consensus"):
            assert row[column] == f"{100 * want[column]:.1f} %", (level, column)
        # forecast value added is a difference of two shares: signed points
        assert row["fva_wape"] == f"{100 * want['fva_wape']:+,.1f} pts", level
    # and the chart beside it
    assert any("image/svg+xml" in o.get("data", {}) or "application/vnd.vegalite.v5+json"
               in o.get("data", {}) for o in outputs)  # fmt: skip
