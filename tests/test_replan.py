"""Tests of sopkit.scenarios.replan: one re-plan through demand, supply and finance, and the figures
that the scenario table and the executive KPIs share."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sopkit.config import Scenario
from sopkit.errors import ConfigError, SopError
from sopkit.kpi import headline_kpis
from sopkit.scenarios import (
    INPUT_TABLES,
    SCENARIO_COLUMNS,
    Plan,
    PlanInputs,
    check_plan_of_record,
    compare_scenarios,
    replan,
    summarise_plan,
)
from sopkit.schemas import ARTIFACTS
from sopkit.supply import summarise_capacity

M = pd.date_range("2026-11-01", periods=3, freq="MS")

PRODUCTS = pd.DataFrame(
    {
        "sku": ["A", "B"],
        "family": ["Bikes", "Parts"],
        "unit_price": [100.0, 10.0],
        "unit_cost": [60.0, 4.0],
    }
)
# No stock and no safety stock: production equals demand, so changes pass straight through.
INVENTORY = pd.DataFrame({"sku": ["A", "B"], "on_hand": [0.0, 0.0], "safety_stock": [0.0, 0.0]})
ROUTINGS = pd.DataFrame({"sku": ["A", "B"], "resource": ["Press", "Lathe"], "hours_per_unit": 1.0})
RESOURCES = pd.DataFrame(
    {
        "resource": ["Press", "Lathe"],
        "month": pd.NaT,
        "regular_hours": [100.0, 200.0],
        "max_overtime_hours": [10.0, 0.0],
        "overtime_cost_per_hour": 30.0,
    }
)
BOM = pd.DataFrame({"sku": ["A"], "material": ["Steel"], "qty_per_unit": [2.0]})
MATERIAL_SUPPLY = pd.DataFrame(
    {"material": ["Steel"], "month": pd.NaT, "max_qty": [200.0], "unit_cost": [1.0]}
)
BUDGET = pd.DataFrame(
    {"family": ["Bikes", "Parts"], "month": [M[0], M[0]], "revenue": [8000.0, 500.0]}
)


def _plan() -> pd.DataFrame:
    """A: 80, 90, 120 units; B: 50 a month (all in one region)."""
    return pd.DataFrame(
        {
            "sku": ["A"] * 3 + ["B"] * 3,
            "region": "EU",
            "month": list(M) * 2,
            "statistical": [80.0, 90.0, 120.0, 50.0, 50.0, 50.0],
            "adjustment": 0.0,
            "consensus": [80.0, 90.0, 120.0, 50.0, 50.0, 50.0],
            "adjustment_reason": None,
        }
    )


def _inputs(plan: pd.DataFrame | None = None) -> PlanInputs:
    return PlanInputs(
        demand_plan=_plan() if plan is None else plan,
        products=PRODUCTS,
        inventory=INVENTORY,
        resources=RESOURCES,
        routings=ROUTINGS,
        bom=BOM,
        material_supply=MATERIAL_SUPPLY,
        budget=BUDGET,
    )


def _same(summary, expected) -> bool:
    """Equal months, and numbers equal within rounding (NaN equal to NaN)."""
    summary, expected = dict(summary), dict(expected)
    months = ("first_month", "last_month")
    assert [summary.pop(k) for k in months] == [expected.pop(k) for k in months]
    assert summary == pytest.approx(expected, nan_ok=True)
    return True


def _compare(scenarios, months=12):
    return compare_scenarios(_inputs(), scenarios, months=months).set_index("scenario")


BASELINE = {
    "first_month": M[0],
    "last_month": M[2],
    "units": 440.0,
    "revenue": 30_500.0,
    "margin": 12_500.0,
    "margin_pct": 12_500 / 30_500 * 100,
    "budget_revenue": 8_500.0,
    "revenue_vs_budget_pct": 0.0,
    "required_hours": 440.0,
    "available_hours": 900.0,
    "overload_hours": 20.0,
    "shortfall_hours": 10.0,
    "peak_utilisation": 1.2,
    "overloaded_resource_months": 1.0,
}


def test_replan_baseline_hand_worked():
    """Over 3 months: units 290 + 150 = 440; revenue 290 x 100 + 150 x 10 = 30,500;
    margin 290 x 40 + 150 x 6 = 12,500. Budget (month 0 only): 8,500 against month-0
    revenue 8,000 + 500, so 0 %. Hours: Press 80, 90, 120 on 100 regular + 10 overtime;
    Lathe 50 a month on 200: required 440, available 900, overload 20, shortfall 10
    (Press month 2), peak 1.2, one overloaded resource-month. Steel: 2 per A, 200 a
    month: short 40 in month 2 only.
    """
    plan = replan(_inputs(), name="baseline")
    assert isinstance(plan, Plan)
    assert plan.name == "baseline"
    assert plan.scenario == Scenario()
    assert _same(plan.summary(months=12), BASELINE)
    assert plan.supply_plan["shipments"].tolist() == plan.supply_plan["demand"].tolist()
    assert plan.materials["shortfall"].tolist() == [0.0, 0.0, 40.0]
    for name in ("supply_plan", "capacity", "materials", "financials"):
        assert not ARTIFACTS[name].problems(getattr(plan, name)), name
    assert "supply_plan=6 rows" in repr(plan)


def test_replan_is_pure_and_repeatable():
    inputs = _inputs()
    one = replan(inputs, {"demand_change_pct": 10, "price_change_pct": 5})
    two = replan(inputs, Scenario(demand_change_pct=10, price_change_pct=5))
    pd.testing.assert_frame_equal(inputs.demand_plan, _plan())
    pd.testing.assert_frame_equal(inputs.products, PRODUCTS)
    pd.testing.assert_frame_equal(inputs.resources, RESOURCES)
    pd.testing.assert_frame_equal(one.financials, two.financials)
    pd.testing.assert_frame_equal(one.capacity, two.capacity)


def test_plan_inputs_from_any_object_with_the_datasets_tables():
    ds = SimpleNamespace(
        products=PRODUCTS,
        inventory=INVENTORY,
        resources=RESOURCES,
        routings=ROUTINGS,
        bom=BOM,
        material_supply=MATERIAL_SUPPLY,
        budget=BUDGET,
        sales_history=None,  # not read
    )
    inputs = PlanInputs.from_dataset(ds, _plan())
    assert all(getattr(inputs, t) is getattr(ds, t) for t in INPUT_TABLES)
    with pytest.raises(SopError, match="demand_plan is empty: there is no plan to re-plan"):
        PlanInputs.from_dataset(ds, _plan().iloc[:0])


def test_scenario_changes_move_the_figures_as_they_should():
    """+10 % demand: revenue and hours exactly +10 % (no stock to net). +5 % price:
    revenue +5 %, hours unchanged. -50 % capacity: utilisation doubles. Order kept."""
    out = _compare(
        {
            "baseline": {},
            "demand +10": {"demand_change_pct": 10},
            "price +5": Scenario(price_change_pct=5),
            "half capacity": {"capacity_change_pct": -50},
        }
    )
    assert list(out.columns) == SCENARIO_COLUMNS[1:]
    assert out.index.tolist() == ["baseline", "demand +10", "price +5", "half capacity"]
    base, demand, price, half = (out.loc[n] for n in out.index)
    assert _same(base.to_dict(), BASELINE)
    assert demand["revenue"] == pytest.approx(base["revenue"] * 1.10)
    assert demand["units"] == pytest.approx(base["units"] * 1.10)
    assert demand["required_hours"] == pytest.approx(base["required_hours"] * 1.10)
    assert demand["revenue_vs_budget_pct"] == pytest.approx(10.0)
    assert price["revenue"] == pytest.approx(base["revenue"] * 1.05)
    assert price["margin"] == pytest.approx(base["margin"] + 0.05 * base["revenue"])
    assert price["required_hours"] == base["required_hours"]
    assert price["units"] == base["units"]
    assert half["peak_utilisation"] == pytest.approx(2 * base["peak_utilisation"])
    assert half["available_hours"] == pytest.approx(base["available_hours"] / 2)
    assert half["revenue"] == base["revenue"]


def test_every_figure_of_the_summary_shares_one_window():
    """First 2 months: units 170 + 100 = 270, hours 270, no overload (Press 80 and 90),
    so money and capacity both leave month 2 out."""
    out = compare_scenarios(_inputs(), {"b": {}}, months=2)
    assert list(out.columns) == SCENARIO_COLUMNS
    assert not ARTIFACTS["scenarios"].problems(out)
    row = out.iloc[0]
    assert (row["first_month"], row["last_month"]) == (M[0], M[1])
    assert (row["units"], row["required_hours"], row["overloaded_resource_months"]) == (
        270.0,
        270.0,
        0.0,
    )
    assert row["revenue"] == 170 * 100 + 100 * 10
    assert row["peak_utilisation"] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("scenarios", "months", "match"),
    [
        ({}, 12, "no scenarios to compare"),
        ({"b": {}}, 0, "months must be 1 or more"),
        ({"s1": {"demand_pct": 5}}, 12, "scenario 's1': demand_pct is not a scenario key"),
        ({"s2": {"demand_change_pct": -200}}, 12, "scenario 's2': demand_change_pct is -200"),
        (
            {"s3": {"resource_capacity_change_pct": {"Oven": 5}}},
            12,
            "scenario 's3': resource_capacity_change_pct names unknown resource.*Oven.*"
            "Valid resource names: Lathe, Press",
        ),
    ],
)
def test_compare_scenarios_rejects_bad_scenarios(scenarios, months, match):
    with pytest.raises(ConfigError, match=match):
        compare_scenarios(_inputs(), scenarios, months=months)


def test_an_empty_plan_is_refused_before_any_work():
    with pytest.raises(SopError, match="demand_plan is empty"):
        _inputs(_plan().iloc[:0])


def test_check_plan_of_record():
    plan = replan(_inputs())
    check_plan_of_record(plan, plan.supply_plan.copy())
    changed = plan.supply_plan.copy()
    changed.loc[2, "shipments"] += 1.0
    with pytest.raises(SopError, match=r"differs .* in 1 SKU-month\(s\) \(A 2027-01\)"):
        check_plan_of_record(plan, changed)
    with pytest.raises(SopError, match=r"in 1 SKU-month\(s\) \(B 2027-01\)"):
        check_plan_of_record(plan, plan.supply_plan.iloc[:-1])


# --- one definition per KPI: the KPI cards and the scenario table agree ------------------

SERVICE = {
    "otif": 0.9,
    "fill_rate": 0.97,
    "lines": 10,
    "first_month": pd.Timestamp("2025-11-01"),
    "last_month": pd.Timestamp("2026-10-01"),
}
KPI_OF_COLUMN = {
    "revenue": "planned_revenue",
    "margin_pct": "margin_pct",
    "revenue_vs_budget_pct": "revenue_vs_budget_pct",
    "peak_utilisation": "peak_capacity_utilisation",
    "overloaded_resource_months": "overloaded_resource_months",
}


def _cards(row) -> pd.DataFrame:
    return headline_kpis(
        service=SERVICE,
        forecast_wape=0.2,
        plan=row,
        inventory=INVENTORY,
        products=PRODUCTS,
        service_level_target=0.95,
    ).set_index("kpi")


def _assert_cards_match(cards: pd.DataFrame, row: pd.Series) -> None:
    for column, kpi in KPI_OF_COLUMN.items():
        assert cards.loc[kpi, "value"] == pytest.approx(row[column], nan_ok=True), kpi
    window = f"{row['first_month']:%Y-%m} to {row['last_month']:%Y-%m}"
    for kpi in KPI_OF_COLUMN.values():
        assert window in cards.loc[kpi, "description"], kpi


def test_kpi_cards_agree_with_the_baseline_scenario_row():
    """The stage 5 cards read the plan of record's row: the same function made both."""
    scen = compare_scenarios(_inputs(), {"baseline": {}, "up": {"demand_change_pct": 10}}, 2)
    row = scen.set_index("scenario").loc["baseline"]
    _assert_cards_match(_cards(row), row)
    plan = replan(_inputs())
    assert _same(summarise_plan(plan.financials, plan.capacity, 2), row.to_dict())


def _demo_plan(ds, cycle: pd.Timestamp, horizon: int = 18) -> pd.DataFrame:
    """A demand plan of ``horizon`` months from the cycle: the sales of two years before."""
    months = pd.date_range(cycle - pd.DateOffset(months=24), periods=horizon, freq="MS")
    hist = ds.sales_history[ds.sales_history["month"].isin(months)]
    plan = hist.assign(month=hist["month"] + pd.DateOffset(months=24))
    return plan.assign(
        statistical=plan["qty"], adjustment=0.0, consensus=plan["qty"], adjustment_reason=None
    ).drop(columns="qty")


def test_on_the_demo_the_cards_and_the_table_agree_where_the_horizon_would_not(tiny_demo):
    """The plan of record (stage 3) and its valuation (stage 4) summed with the same
    function give the scenario row, over the summary window, not over the horizon."""
    cycle = pd.Timestamp("2026-11-01")
    inputs = PlanInputs.from_dataset(tiny_demo, _demo_plan(tiny_demo, cycle))
    # a capacity cut that overloads some resource-months beyond the window too
    scenarios = {"baseline": {}, "tight": {"capacity_change_pct": -30}}
    record = replan(inputs, name="baseline")
    scen = compare_scenarios(inputs, scenarios, months=12).set_index("scenario")
    row = scen.loc["baseline"]
    assert _same(summarise_plan(record.financials, record.capacity, 12), row.to_dict())
    _assert_cards_match(_cards(row), row)
    tight = replan(inputs, scenarios["tight"], name="tight")
    horizon = summarise_capacity(tight.capacity)["overloaded_resource_months"]
    windowed = scen.loc["tight", "overloaded_resource_months"]
    assert windowed < horizon, "the test needs overloads after the window"
    assert _cards(scen.loc["tight"]).loc["overloaded_resource_months", "value"] == windowed
    # revenue follows shipments (equal to demand under lot-for-lot netting)
    prices = tiny_demo.products.set_index("sku")["unit_price"]
    in_window = inputs.demand_plan["month"] < cycle + pd.DateOffset(months=12)
    window_plan = inputs.demand_plan[in_window]
    expected = (window_plan["consensus"] * window_plan["sku"].map(prices)).sum()
    assert row["revenue"] == pytest.approx(expected, rel=1e-9)
    assert np.isfinite(row["peak_utilisation"])
