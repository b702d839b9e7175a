"""Tests of sopkit.scenarios.replan: one re-plan through demand, supply and finance, and the figures
that the scenario table and the executive KPIs share."""

from __future__ import annotations

import dataclasses
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
    check_scenario_names,
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
    {
        "family": ["Bikes", "Parts"],
        "month": [M[0], M[0]],
        "revenue": [8000.0, 500.0],
        "margin": [3000.0, 300.0],
    }
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
    summary.pop("inputs", None)
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
    "margin": 12_464.0,
    "margin_pct": 12_464 / 30_500 * 100,
    "cost": 30_500 - 12_464.0,
    "fill_rate": 1.0,
    "service_level": 1.0,
    "inventory_value": 0.0,
    "budget_revenue": 8_500.0,
    "revenue_vs_budget_pct": 0.0,
    "budget_margin": 3_300.0,
    "margin_vs_budget_pct": (80 * 40 - 12 + 50 * 6 - 3_300) / 3_300 * 100,
    "required_hours": 440.0,
    "available_hours": 900.0,
    "overload_hours": 0.0,
    "shortfall_hours": 0.0,
    "peak_utilisation": 1.0,
    "overloaded_resource_months": 0.0,
}


def test_replan_baseline_hand_worked():
    """The supply model's optimum, by hand. Steel (2 per A, 200 a month) makes at most
    100 A a month, and Press (1 hour per A) has 100 regular hours: A's 120 in month 2
    need 20 built ahead. Holding costs 2 % of unit_cost a month (1.20 per A), so the
    cheapest is 10 in month 0 (held 2 months) and 10 in month 1: production 90, 100,
    100, stock 10, 20, 0; holding (10 + 20) x 1.20 = 36, steel 290 x 2 = 580, total 616.
    Overtime (30 an hour) and backlog (5 a month, then lost at 100) cost more.

    Finance: units 290 + 150 = 440; revenue 290 x 100 + 150 x 10 = 30,500; margin at
    standard cost 290 x 40 + 150 x 6 = 12,500, less the holding of 36 (steel is in the
    standard cost): 12,464. Budget (month 0 only): 8,500 against month-0 revenue
    8,000 + 500, so 0 %; its margin of 3,300 against month 0's 80 x 40 - 12 (holding the
    10 built ahead) + 50 x 6 = 3,488, +5.7 %. Hours: Press 90, 100, 100 on 100 regular; Lathe 50 a month on
    200: required 440, available 900, no overload, peak 1.0.
    """
    plan = replan(_inputs(), name="baseline")
    assert isinstance(plan, Plan)
    assert plan.name == "baseline"
    assert plan.scenario == Scenario()
    assert _same(plan.summary(months=12), BASELINE)
    a = plan.supply_plan[plan.supply_plan["sku"] == "A"]
    assert a["production"].tolist() == pytest.approx([90.0, 100.0, 100.0])
    assert a["inventory"].tolist() == pytest.approx([10.0, 20.0, 0.0])
    assert plan.supply_plan["shipments"].tolist() == plan.supply_plan["demand"].tolist()
    assert plan.supply_plan["backlog"].tolist() == [0.0] * 6
    assert plan.materials["required"].tolist() == pytest.approx([180.0, 200.0, 200.0])
    assert plan.materials["shortfall"].tolist() == [0.0, 0.0, 0.0]
    costs = plan.supply.costs
    assert (costs["holding"], costs["materials"], costs["total"]) == pytest.approx((36, 580, 616))
    by_family = plan.supply_costs.groupby("family")["total"].sum()
    assert by_family.to_dict() == pytest.approx({"Bikes": 616.0, "Parts": 0.0})
    for name in ("supply_plan", "capacity", "materials", "supply_costs", "financials"):
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
    # the model is built once per inputs and re-solved; a fresh one plans alike
    assert inputs.supply_model() is inputs.supply_model()
    fresh = replan(_inputs(), {"demand_change_pct": 10, "price_change_pct": 5})
    pd.testing.assert_frame_equal(one.supply_plan, fresh.supply_plan)
    base = replan(inputs)
    pd.testing.assert_frame_equal(base.supply_plan, replan(_inputs()).supply_plan)


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
    assert all(getattr(inputs, t) is getattr(ds, t, None) for t in INPUT_TABLES)
    assert inputs.costs is None
    assert inputs.workforce is None
    with pytest.raises(SopError, match="demand_plan is empty: there is no plan to re-plan"):
        PlanInputs.from_dataset(ds, _plan().iloc[:0])


def test_scenario_changes_move_the_figures_as_they_should():
    """Worked by hand on the supply model's optimum.

    - +10 % demand: A 88, 99, 132 (319) against 300 that Steel allows: A is made 100 a
      month and 19 are backlogged at the end (lost); B 55 a month. Units 300 + 165.
    - +5 % price: the same plan (nothing is lost), revenue +5 %.
    - -50 % capacity: Press 50 regular + 5 overtime hours makes 55 A a month; 125 A
      are not made (backlog 25, 60, 125), the hours they would need counted in the
      month each was held back: 25 + 35 + 65 = 125. Overload 5 a month, peak 55 / 50.
    """
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
    assert demand["units"] == pytest.approx(300 + 165)
    assert demand["revenue"] == pytest.approx(300 * 100 + 165 * 10)
    assert demand["required_hours"] == pytest.approx(300 + 165)
    assert price["revenue"] == pytest.approx(base["revenue"] * 1.05)
    assert price["margin"] == pytest.approx(base["margin"] + 0.05 * base["revenue"])
    assert price["required_hours"] == base["required_hours"]
    assert price["units"] == base["units"]
    assert half["units"] == pytest.approx(165 + 150)
    assert half["available_hours"] == pytest.approx(base["available_hours"] / 2)
    assert half["overload_hours"] == pytest.approx(15.0)
    assert half["shortfall_hours"] == pytest.approx(125.0)
    assert half["peak_utilisation"] == pytest.approx(1.1)
    assert half["overloaded_resource_months"] == 3.0
    # first in, first out: A ships 55, 30 and 0 of its own month's 80, 90 and 120 (the
    # rest of each month's 55 serves the backlog); B all of its 50s
    assert half["fill_rate"] == pytest.approx((55 + 30 + 0 + 150) / 440)
    assert half["service_level"] == pytest.approx(3 / 6)
    assert base["inputs"] == "none"
    assert demand["inputs"] == "demand change +10 %"
    assert half["inputs"] == "capacity change -50 %"


def test_a_bottleneck_is_priced_and_named():
    """Half capacity: one more regular Press hour in month 0 makes one more A, which
    saves its backlog for 3 months (3 x 5) and its loss at the end (100), less its steel
    (2): 113; in months 1 and 2, 108 and 103. An overtime hour saves the same less its
    cost of 30. Every unmet A-month names Press."""
    plan = replan(_inputs(), {"capacity_change_pct": -50})
    press = plan.capacity[plan.capacity["resource"] == "Press"]
    assert press["shadow_price"].tolist() == pytest.approx([113.0, 108.0, 103.0])
    assert press["shadow_price_overtime"].tolist() == pytest.approx([83.0, 78.0, 73.0])
    assert press["binding"].all()
    assert (press["status"] == "short").all()
    assert press["shortfall_hours"].tolist() == pytest.approx([25.0, 35.0, 65.0])
    a = plan.supply_plan[plan.supply_plan["sku"] == "A"]
    assert a["backlog"].tolist() == pytest.approx([25.0, 60.0, 125.0])
    assert a["shipments"].tolist() == pytest.approx([55.0, 55.0, 55.0])
    assert a["unmet_reason"].str.contains("resource Press: regular and overtime hours").all()
    # backlog 5 x 210, lost 100 x 125, overtime 30 x 15, steel 2 x 165
    assert plan.supply.costs["total"] == pytest.approx(1050 + 12_500 + 450 + 330)


def test_supplier_and_overtime_scenarios():
    """Steel -50 %: 50 A a month (steel binds), 140 of 290 unmet; no overtime: Press
    makes at most 100 a month, which Steel allows already, so the plan is the baseline's."""
    short = replan(_inputs(), {"supplier_change_pct": -50}, name="short")
    steel = short.materials
    assert steel["available"].tolist() == [100.0] * 3
    assert short.supply_plan.loc[short.supply_plan["sku"] == "A", "production"].tolist() == (
        pytest.approx([50.0] * 3)
    )
    assert steel["binding"].all()
    same = replan(_inputs(), {"material_supplier_change_pct": {"Steel": -50}})
    pd.testing.assert_frame_equal(short.supply_plan, same.supply_plan)
    no_ot = replan(_inputs(), {"overtime_allowed": False})
    assert (no_ot.capacity["max_overtime_hours"] == 0).all()
    assert (no_ot.resources["max_overtime_hours"] == 0).all()
    pd.testing.assert_frame_equal(no_ot.supply_plan, replan(_inputs()).supply_plan)
    with pytest.raises(
        ConfigError, match=r"names unknown material.*Copper.*Valid material names: Steel"
    ):
        replan(_inputs(), {"material_supplier_change_pct": {"Copper": -10}}, name="x")


def test_every_figure_of_the_summary_shares_one_window():
    """First 2 months: units shipped 170 + 100 = 270, hours 290 (Press makes 90 and 100
    A, building ahead for month 2), no overload, so money and capacity both leave
    month 2 out."""
    out = compare_scenarios(_inputs(), {"b": {}}, months=2)
    assert list(out.columns) == SCENARIO_COLUMNS
    assert not ARTIFACTS["scenarios"].problems(out)
    row = out.iloc[0]
    assert (row["first_month"], row["last_month"]) == (M[0], M[1])
    assert (row["units"], row["required_hours"], row["overloaded_resource_months"]) == (
        270.0,
        290.0,
        0.0,
    )
    assert row["revenue"] == 170 * 100 + 100 * 10
    assert row["peak_utilisation"] == pytest.approx(1.0)


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
    "margin_vs_budget_pct": "margin_vs_budget_pct",
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
    summary = summarise_plan(plan.financials, plan.capacity, 2, plan.supply_plan)
    assert _same(summary, row.drop("inputs").to_dict())


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
    summary = summarise_plan(record.financials, record.capacity, 12, record.supply_plan)
    assert _same(summary, row.drop("inputs").to_dict())
    _assert_cards_match(_cards(row), row)
    tight = replan(inputs, scenarios["tight"], name="tight")
    horizon = summarise_capacity(tight.capacity)["overloaded_resource_months"]
    windowed = scen.loc["tight", "overloaded_resource_months"]
    assert windowed < horizon, "the test needs overloads after the window"
    assert _cards(scen.loc["tight"]).loc["overloaded_resource_months", "value"] == windowed
    # revenue follows the shipments of the supply plan
    prices = tiny_demo.products.set_index("sku")["unit_price"]
    shipped = record.supply_plan[record.supply_plan["month"] < cycle + pd.DateOffset(months=12)]
    expected = (shipped["shipments"] * shipped["sku"].map(prices)).sum()
    assert row["revenue"] == pytest.approx(expected, rel=1e-9)
    assert np.isfinite(row["peak_utilisation"])


def test_a_capacity_change_reaches_the_workers_hours_and_the_baseline_comes_back():
    """With a workforce for Press, -50 % capacity halves its hours per worker as well as
    its regular hours; the next plan (the baseline) restores both."""
    crew = pd.DataFrame(
        {
            "resource": ["Press"],
            "workers": [1.0],
            "hours_per_worker_month": [100.0],
            "hire_cost": [1e6],
            "layoff_cost": [1e6],
            "regular_cost_per_hour": [10.0],
        }
    )
    inputs = dataclasses.replace(_inputs(), workforce=crew)
    half = replan(inputs, {"resource_capacity_change_pct": {"Press": -50}})
    model = inputs.supply_model()
    assert model.value("hours_per_worker").iloc[0].tolist() == [50.0] * 3
    assert half.workforce_plan["hours_available"].tolist() == [50.0] * 3
    assert half.capacity.loc[half.capacity["resource"] == "Press", "available_hours"].tolist() == (
        [50.0] * 3
    )
    base = replan(inputs)
    assert model.value("hours_per_worker").iloc[0].tolist() == [100.0] * 3
    # wages: 1 worker x 100 hours x 10 a month, 3 months
    assert base.supply.costs["wages"] == pytest.approx(3_000.0)
    assert base.supply_costs["wages"].sum() == pytest.approx(3_000.0)


def test_a_cost_change_reprices_the_plan_and_names_are_checked():
    """Half capacity with overtime at twice its cost (60 an hour): an overtime hour still
    saves 113 - 60 in month 0, so the plan keeps it and pays 15 x 60 = 900 for it."""
    base = replan(_inputs(), {"capacity_change_pct": -50})
    dear = replan(
        _inputs(), {"capacity_change_pct": -50, "supply_cost_change_pct": {"overtime": 100}}
    )
    assert dear.supply.costs["overtime"] == pytest.approx(900.0)
    assert dear.supply.objective == pytest.approx(base.supply.objective + 450.0)
    pd.testing.assert_frame_equal(dear.supply_plan, base.supply_plan)
    press = dear.capacity[dear.capacity["resource"] == "Press"]
    assert press["shadow_price_overtime"].tolist() == pytest.approx([53.0, 48.0, 43.0])
    with pytest.raises(ConfigError, match=r"supply_cost_change_pct names unknown cost component"):
        replan(_inputs(), {"supply_cost_change_pct": {"labour": 10}}, name="x")


def test_scenarios_naming_what_the_data_lacks_are_refused_all_at_once():
    ds = SimpleNamespace(
        products=PRODUCTS, resources=RESOURCES, bom=BOM, material_supply=MATERIAL_SUPPLY
    )
    check_scenario_names({"ok": {"material_supplier_change_pct": {"Steel": -10}}}, ds)
    bad = {
        "a": {"family_demand_change_pct": {"Boats": 5}},
        "b": {"material_supplier_change_pct": {"Copper": -10}, "overtime_allowed": False},
    }
    with pytest.raises(ConfigError) as err:
        check_scenario_names(bad, ds)
    assert "scenario 'a': family_demand_change_pct names unknown family(s): Boats" in str(err.value)
    assert "scenario 'b': material_supplier_change_pct names unknown material(s): Copper" in str(
        err.value
    )


def test_plan_inputs_pickle_without_their_model_and_yes_is_not_a_number():
    import pickle

    inputs = _inputs()
    plan = replan(inputs)
    copy = pickle.loads(pickle.dumps(inputs))
    pd.testing.assert_frame_equal(replan(copy).supply_plan, plan.supply_plan)
    with pytest.raises(ConfigError, match="a number is expected, not yes/no"):
        replan(_inputs(), {"demand_change_pct": True})
    assert "inventory table" in inputs.safety_stock_basis


def test_a_scenario_re_planned_equals_the_engines_run_directly_on_its_inputs():
    """The re-plan seam re-solves one model through its Parameters; the same scenario
    applied to the input tables and planned by a freshly built model gives the same plan
    and the same money."""
    from sopkit.finance import project_financials
    from sopkit.scenarios import _supply_costs, apply_scenario
    from sopkit.supply import SupplyModel

    spec = {"demand_change_pct": 10, "capacity_change_pct": -20, "supplier_change_pct": -20}
    plan = replan(_inputs(), spec, name="s")
    demand_plan, products, resources = apply_scenario(_plan(), PRODUCTS, RESOURCES, spec)
    tables = {
        "products": products, "inventory": INVENTORY, "resources": resources,
        "routings": ROUTINGS, "bom": BOM,
        "material_supply": MATERIAL_SUPPLY.assign(max_qty=MATERIAL_SUPPLY["max_qty"] * 0.8),
    }  # fmt: skip
    fresh = SupplyModel.from_inputs(demand_plan, tables).solve()
    direct = fresh.artifacts()["supply_plan"]
    assert direct["backlog"].sum() > 0  # the scenario binds: not a trivial comparison
    cols = ["shipments", "production", "inventory", "backlog", "lost"]
    pd.testing.assert_frame_equal(
        plan.supply_plan[["sku", "month", *cols]].reset_index(drop=True),
        direct[["sku", "month", *cols]].reset_index(drop=True),
        atol=1e-6,
    )
    money = project_financials(direct, products, BUDGET, _supply_costs(fresh, products))
    pd.testing.assert_frame_equal(plan.financials, money, atol=1e-6)
