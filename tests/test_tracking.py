"""Tests of sopkit.tracking: earlier plans against what happened, on two synthetic cycles."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.charts import plan_tracking_chart
from sopkit.tracking import (
    TRACKING_COLUMNS,
    no_changes,
    plan_changes,
    plan_vs_actuals,
    tracking_summary,
)

PRODUCTS = pd.DataFrame({"sku": ["A", "B"], "family": ["F", "G"], "unit_price": [10.0, 20.0]})
SEP, OCT, NOV, DEC, JAN = pd.date_range("2026-09-01", periods=5, freq="MS")


def _cycles():
    """Cycle 2026-09 plans A 100 and B 50 a month for Sep-Nov, and ships A 90 (supply-bound),
    B 50; cycle 2026-10 plans A 110 and B 40 for Oct-Dec and ships all of it."""
    demand, supply, fin = [], [], []
    for cycle, months, a, b, ship_a in (("2026-09", (SEP, OCT, NOV), 100.0, 50.0, 90.0),
                                        ("2026-10", (OCT, NOV, DEC), 110.0, 40.0, 110.0)):  # fmt: skip
        for m in months:
            demand += [(cycle, "A", "EU", m, a), (cycle, "B", "EU", m, b)]
            supply += [(cycle, "A", m, ship_a), (cycle, "B", m, b)]
            fin += [(cycle, "F", m, ship_a * 10), (cycle, "G", m, b * 20)]
    return (
        pd.DataFrame(demand, columns=["cycle", "sku", "region", "month", "consensus"]),
        pd.DataFrame(supply, columns=["cycle", "sku", "month", "shipments"]),
        pd.DataFrame(fin, columns=["cycle", "family", "month", "revenue"]),
    )


SALES = pd.DataFrame(
    {"sku": ["A", "A", "B", "B"], "region": "EU", "month": [SEP, OCT, SEP, OCT],
     "qty": [80.0, 120.0, 60.0, 40.0]}
)  # fmt: skip


def test_plans_of_two_cycles_against_what_was_sold():
    tracked = plan_vs_actuals(*_cycles(), SALES, None, PRODUCTS, "2026-11")
    assert list(tracked.columns) == TRACKING_COLUMNS
    # Nov and Dec have not happened: Sep and Oct of cycle 09, Oct of cycle 10
    assert len(tracked) == 6
    row = tracked.set_index(["cycle", "family", "month"])
    assert row.loc[("2026-09", "F", OCT)].to_dict() == {
        "lag": 2, "planned_demand": 100, "actual_demand": 120, "planned_shipments": 90,
        "actual_shipments": 120, "planned_revenue": 900, "actual_revenue": 1200,
    }  # fmt: skip
    assert row.loc[("2026-10", "G", OCT), "lag"] == 1
    summary = tracking_summary(tracked, lags=(1, 2)).set_index(["lag", "family"])
    # lag 1, F: planned 100 + 110 against 80 + 120: errors 20 and 10 -> WAPE 30 / 200
    f1 = summary.loc[(1, "F")]
    assert f1["wape"] == pytest.approx(30 / 200)
    assert f1["bias"] == pytest.approx(10 / 200)
    assert f1["attainment"] == pytest.approx(200 / 200)
    # lag 1, G: 50 + 40 against 60 + 40: WAPE 10 / 100, bias -0.1; shipped 100 of 90 planned
    g1 = summary.loc[(1, "G")]
    assert (g1["wape"], g1["bias"]) == pytest.approx((0.1, -0.1))
    assert g1["attainment"] == pytest.approx(100 / 90)
    assert g1["revenue_attainment"] == pytest.approx(2000 / 1800)
    # the total sums each cycle-month first: Sep 150 v 140, Oct 150 v 160 -> 20 / 300
    t1 = summary.loc[(1, "Total")]
    assert t1["wape"] == pytest.approx(20 / 300)
    assert t1["bias"] == pytest.approx(0.0)
    assert summary.loc[(2, "F"), "wape"] == pytest.approx(20 / 120)
    assert list(summary.reset_index()["level"]) == ["family", "family", "total"] * 2


def test_shipments_come_from_the_order_lines_they_cover_and_a_first_cycle_has_nothing():
    lines = pd.DataFrame(
        {"sku": ["A", "A", "B"], "shipped_date": pd.to_datetime(["2026-10-01", "2026-10-20",
                                                                 "2026-10-15"]),
         "shipped_qty": [70.0, 30.0, 35.0]}
    )  # fmt: skip
    tracked = plan_vs_actuals(*_cycles(), SALES, lines, PRODUCTS, "2026-11")
    row = tracked.set_index(["cycle", "family", "month"])
    assert row.loc[("2026-10", "F", OCT), "actual_shipments"] == 100  # order lines
    assert row.loc[("2026-10", "G", OCT), "actual_revenue"] == 35 * 20
    assert row.loc[("2026-09", "F", SEP), "actual_shipments"] == 80  # before them: sales
    assert row.loc[("2026-10", "F", OCT), "actual_demand"] == 120  # demand: what was sold
    empty = plan_vs_actuals(_cycles()[0].iloc[:0], None, None, SALES, None, PRODUCTS, "2026-11")
    assert empty.empty
    assert tracking_summary(empty).empty
    chart = plan_tracking_chart(tracking_summary(tracked)).to_dict()
    assert "hconcat" in chart or "layer" in chart or "mark" in chart


def _cycle(prices, plan, adjustments, models, shipments, other=NOV):
    demand = pd.DataFrame(
        [(sku, "EU", DEC, stat, adj, cons) for sku, stat, adj, cons in plan]
        + [(sku, "EU", other, 1.0, 0.0, 1.0) for sku, *_ in plan],  # a month not in common
        columns=["sku", "region", "month", "statistical", "adjustment", "consensus"],
    )
    return {
        "demand_plan": demand,
        "adjustments": pd.DataFrame(
            [(sku, "EU", DEC, author, effect) for sku, author, effect in adjustments],
            columns=["sku", "region", "month", "author", "effect"],
        ),
        "supply_plan": pd.DataFrame(
            [(sku, DEC, q) for sku, q in shipments.items()]
            + [(sku, other, 1.0) for sku in shipments],
            columns=["sku", "month", "shipments"],
        ),
        "forecast_models": pd.DataFrame(
            [("forecast", sku, "EU", m) for sku, m in models.items()]
            + [("backtest", sku, "EU", "zero") for sku in models],
            columns=["run", "sku", "region", "model"],
        ),
        "products": pd.DataFrame({"sku": ["A", "B"], "family": ["F", "G"], "unit_price": prices}),
    }


def test_why_the_plan_changed_adds_up_exactly_by_hand():
    """December, the month both plan. Previous: A 100 + sales 10 = 110 (ships 100: supply
    holds 10 back), B 50 (ships 50), prices 10 and 20. Current: A 120 (ets again: new
    actuals +20) + sales 5 + marketing 3 = 128, ships 128; B 40 (arima, was theta: models
    -10) + sales -60, floored at 0 (+20), ships 0; A's price 11.
    Units: sales (5 - 10) + (-60) = -65; supply (0) - (100 - 110) = +10; change 128 - 150.
    Revenue at the previous prices: +200, -200, sales -50 - 1,200, marketing +30, floor
    +400, supply +100; prices 128 x 1; 2,000 -> 1,408."""
    previous = _cycle([10.0, 20.0], [("A", 100, 10, 110), ("B", 50, 0, 50)],
                      [("A", "sales", 10)], {"A": "ets", "B": "theta"}, {"A": 100, "B": 50})  # fmt: skip
    current = _cycle([11.0, 20.0], [("A", 120, 8, 128), ("B", 40, -60, 0)],
                     [("A", "sales", 5), ("A", "marketing", 3), ("B", "sales", -60)],
                     {"A": "ets", "B": "arima"}, {"A": 128, "B": 0}, other=JAN)  # fmt: skip
    out = plan_changes(previous, current)
    total = out.loc[out["level"] == "total"].set_index("part")
    assert list(total.index) == [
        "previous plan", "new actuals", "forecast models", "adjustments by marketing",
        "adjustments by sales", "demand floor", "supply constraints", "prices", "current plan",
    ]  # fmt: skip
    units = total["units"].to_dict()
    assert units == pytest.approx({
        "previous plan": 150, "new actuals": 20, "forecast models": -10,
        "adjustments by marketing": 3, "adjustments by sales": -65, "demand floor": 20,
        "supply constraints": 10, "prices": 0, "current plan": 128,
    })  # fmt: skip
    revenue = total["revenue"].to_dict()
    assert revenue == pytest.approx({
        "previous plan": 2000, "new actuals": 200, "forecast models": -200,
        "adjustments by marketing": 30, "adjustments by sales": -1250, "demand floor": 400,
        "supply constraints": 100, "prices": 128, "current plan": 1408,
    })  # fmt: skip
    for level_rows in (total, out.loc[out["family"] == "F"].set_index("part")):
        causes = level_rows.drop(index=["previous plan", "current plan"])
        for col in ("units", "revenue"):
            assert level_rows.loc["previous plan", col] + causes[col].sum() == pytest.approx(
                level_rows.loc["current plan", col]
            )
    assert (out["first_month"] == DEC).all()
    assert (out["last_month"] == DEC).all()
    # two cycles without a common month: nothing to explain
    later = {k: v.assign(month=v["month"] + pd.DateOffset(months=6)) if "month" in v else v
             for k, v in current.items()}  # fmt: skip
    assert plan_changes(previous, later).empty


def test_the_change_waterfall_runs_from_the_previous_plan_to_this_one():
    from sopkit.charts import plan_change_waterfall

    previous = _cycle([10.0, 20.0], [("A", 100, 0, 100), ("B", 50, 0, 50)], [],
                      {"A": "ets", "B": "theta"}, {"A": 100, "B": 50})  # fmt: skip
    current = _cycle([10.0, 20.0], [("A", 90, 0, 90), ("B", 60, 0, 60)], [],
                     {"A": "ets", "B": "theta"}, {"A": 90, "B": 60}, other=JAN)  # fmt: skip
    bars = plan_change_waterfall(plan_changes(previous, current)).to_dict()["data"]["values"]
    assert bars[0] == {"step": "previous plan", "start": 0.0, "end": 2000.0, "amount": 2000.0,
                       "kind": "total"}  # fmt: skip
    new = next(b for b in bars if b["step"] == "new actuals")
    assert (new["start"], new["end"], new["kind"]) == (2000.0, 2100.0, "up")  # -100 + 200
    assert bars[-1]["end"] == 2100.0
    assert "No earlier plan" in str(plan_change_waterfall(no_changes()).to_dict())


def test_cycles_planned_under_a_scenario_are_compared_as_planned():
    """Both cycles at prices +5 %: no price change between them. The current one also plans
    demand +10 %: its consensus change is 'scenario demand', not a supply constraint."""
    previous = _cycle([10.0, 20.0], [("A", 100, 0, 100), ("B", 50, 0, 50)], [],
                      {"A": "ets", "B": "theta"}, {"A": 100, "B": 50})  # fmt: skip
    current = _cycle([10.0, 20.0], [("A", 100, 0, 100), ("B", 50, 0, 50)], [],
                     {"A": "ets", "B": "theta"}, {"A": 110, "B": 55}, other=JAN)  # fmt: skip
    previous["scenario"] = {"price_change_pct": 5}
    current["scenario"] = {"price_change_pct": 5, "demand_change_pct": 10}
    total = plan_changes(previous, current).query("level == 'total'").set_index("part")
    assert total.loc["prices", "revenue"] == pytest.approx(0.0)
    assert total.loc["scenario demand", "units"] == pytest.approx(15.0)
    assert total.loc["supply constraints", "units"] == pytest.approx(0.0)
    assert total.loc["previous plan", "revenue"] == pytest.approx((100 * 10 + 50 * 20) * 1.05)
    assert total.loc["current plan", "revenue"] == pytest.approx((110 * 10 + 55 * 20) * 1.05)


def test_rows_planned_zero_in_both_cycles_and_adjustments_without_a_record():
    """B is cut to 0 by end of life in both cycles while its statistical forecast moved
    50 -> 40: nothing moved in the plan, so no part shows it. A's adjustment of +4 in the
    current plan has no row in adjustments: it shows as such, and the parts still add up."""
    previous = _cycle([10.0, 20.0], [("A", 100, 0, 100), ("B", 50, -50, 0)],
                      [("B", "sopkit", -50)], {"A": "ets", "B": "theta"}, {"A": 100, "B": 0})  # fmt: skip
    current = _cycle([10.0, 20.0], [("A", 100, 4, 104), ("B", 40, -40, 0)],
                     [("B", "sopkit", -40)], {"A": "ets", "B": "arima"}, {"A": 104, "B": 0},
                     other=JAN)  # fmt: skip
    total = plan_changes(previous, current).query("level == 'total'").set_index("part")
    assert total.loc["forecast models", "units"] == 0.0
    assert total.loc["adjustments by sopkit", "units"] == 0.0
    assert total.loc["adjustments without an author's record", "units"] == pytest.approx(4.0)
    causes = total.drop(index=["previous plan", "current plan"])["units"].sum()
    assert total.loc["previous plan", "units"] + causes == pytest.approx(104.0)


def test_shipments_after_the_order_lines_end_come_from_the_sales_history():
    lines = pd.DataFrame({"sku": ["A"], "shipped_date": pd.to_datetime(["2026-09-01"]),
                          "shipped_qty": [70.0]})  # fmt: skip
    tracked = plan_vs_actuals(*_cycles(), SALES, lines, PRODUCTS, "2026-11")
    row = tracked.set_index(["cycle", "family", "month"])
    assert row.loc[("2026-09", "F", SEP), "actual_shipments"] == 70  # the order lines
    assert row.loc[("2026-10", "F", OCT), "actual_shipments"] == 120  # after them: sales
