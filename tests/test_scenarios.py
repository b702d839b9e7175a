"""Tests of sopkit.scenarios on hand-built frames whose answers are worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.errors import ConfigError, SopError
from sopkit.scenarios import SCENARIO_COLUMNS, apply_scenario, compare_scenarios

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


def _compare(scenarios, months=12):
    return compare_scenarios(
        _plan(), PRODUCTS, INVENTORY, ROUTINGS, RESOURCES, BUDGET, scenarios, months=months
    ).set_index("scenario")


def test_apply_scenario_scales_copies_and_overrides_replace_the_global_change():
    """+10 % demand, but Parts -50 % instead; price +5 %; capacity -10 %, Lathe +50 %."""
    plan, prods, res = _plan(), PRODUCTS.copy(), RESOURCES.copy()
    new_plan, new_prods, new_res = apply_scenario(
        plan,
        prods,
        res,
        demand_change_pct=10,
        family_demand_change_pct={"Parts": -50},
        price_change_pct=5,
        capacity_change_pct=-10,
        resource_capacity_change_pct={"Lathe": 50},
    )
    assert new_plan["consensus"].tolist() == pytest.approx([88.0, 99.0, 132.0, 25.0, 25.0, 25.0])
    assert new_plan["statistical"].tolist() == plan["statistical"].tolist()
    assert new_prods["unit_price"].tolist() == pytest.approx([105.0, 10.5])
    assert new_prods["unit_cost"].tolist() == [60.0, 4.0]
    assert new_res["regular_hours"].tolist() == pytest.approx([90.0, 300.0])
    assert new_res["max_overtime_hours"].tolist() == pytest.approx([9.0, 0.0])
    # the inputs are untouched
    pd.testing.assert_frame_equal(plan, _plan())
    pd.testing.assert_frame_equal(prods, PRODUCTS)
    pd.testing.assert_frame_equal(res, RESOURCES)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"family_demand_change_pct": {"Boats": 5}}, "unknown family.*Boats.*Valid.*Bikes, Parts"),
        (
            {"resource_capacity_change_pct": {"Oven": 5, "Press": 1}},
            "unknown resource.*Oven.*Valid.*Lathe, Press",
        ),
        ({"demand_change_pct": -101}, "demand_change_pct is -101 %, below -100 %"),
        ({"family_demand_change_pct": {"Bikes": -150}}, r"\['Bikes'\].*below -100 %"),
        ({"price_change_pct": "ten"}, "price_change_pct must be a change in percent"),
        ({"capacity_change_pct": float("nan")}, "finite"),
        ({"family_demand_change_pct": 5}, "must map family names"),
    ],
)
def test_apply_scenario_rejects_bad_changes(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        apply_scenario(_plan(), PRODUCTS, RESOURCES, **kwargs)


def test_apply_scenario_allows_minus_100():
    plan, _, _ = apply_scenario(_plan(), PRODUCTS, RESOURCES, demand_change_pct=-100)
    assert (plan["consensus"] == 0).all()


def test_baseline_equals_the_unadjusted_figures():
    """Hand-worked over 3 months: units 290 + 150 = 440; revenue 290 x 100 + 150 x 10 =
    30,500; margin 290 x 40 + 150 x 6 = 12,500. Budget (month 0 only): 8,500 against
    month-0 revenue 8,000 + 500 = 8,500, so 0 %. Hours: Press 80, 90, 120 on 100 regular
    + 10 overtime; Lathe 50 a month on 200. Required 440; available 900; overload 20,
    shortfall 10 (Press month 2); peak 1.2; one overloaded resource-month.
    """
    base = _compare({"baseline": {}}).loc["baseline"]
    expected = {
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
        "overloaded_resource_months": 1,
    }
    assert base.to_dict() == pytest.approx(expected)


def test_demand_and_price_changes_move_the_figures_as_they_should():
    """+10 % demand: revenue and hours exactly +10 % (no stock to net). +5 % price:
    revenue +5 %, hours unchanged. -50 % capacity: utilisation doubles. Order kept."""
    out = _compare(
        {
            "baseline": {},
            "demand +10": {"demand_change_pct": 10},
            "price +5": {"price_change_pct": 5},
            "half capacity": {"capacity_change_pct": -50},
        }
    )
    assert out.index.tolist() == ["baseline", "demand +10", "price +5", "half capacity"]
    base, demand, price, half = (out.loc[n] for n in out.index)
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


def test_compare_scenarios_sums_only_the_window():
    """First 2 months: units 170 + 100 = 270, hours 270, no overload (Press 80 and 90)."""
    out = compare_scenarios(
        _plan(), PRODUCTS, INVENTORY, ROUTINGS, RESOURCES, BUDGET, {"b": {}}, months=2
    )
    assert list(out.columns) == SCENARIO_COLUMNS
    row = out.iloc[0]
    assert (row["units"], row["required_hours"], row["overloaded_resource_months"]) == (
        270.0,
        270.0,
        0,
    )
    assert row["peak_utilisation"] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("scenarios", "error", "match"),
    [
        ({}, ConfigError, "no scenarios to compare"),
        ({"s1": {"demand_pct": 5}}, ConfigError, "scenario 's1' sets unknown keyword.*demand_pct"),
        ({"s2": {"demand_change_pct": -200}}, ConfigError, "scenario 's2': demand_change_pct"),
    ],
)
def test_compare_scenarios_rejects_bad_scenarios(scenarios, error, match):
    with pytest.raises(error, match=match):
        _compare(scenarios)


def test_compare_scenarios_rejects_an_empty_plan():
    with pytest.raises(SopError, match="demand_plan is empty"):
        compare_scenarios(
            _plan().iloc[:0], PRODUCTS, INVENTORY, ROUTINGS, RESOURCES, BUDGET, {"b": {}}
        )
