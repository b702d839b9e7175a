"""Tests of sopkit.scenarios: what a scenario may set (config.Scenario) and applying it."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.config import Scenario
from sopkit.errors import ConfigError, SopError
from sopkit.scenarios import SCENARIO_KEYS, apply_scenario, validate_scenario

M = pd.date_range("2026-11-01", periods=3, freq="MS")

PRODUCTS = pd.DataFrame(
    {
        "sku": ["A", "B"],
        "family": ["Bikes", "Parts"],
        "unit_price": [100.0, 10.0],
        "unit_cost": [60.0, 4.0],
    }
)
RESOURCES = pd.DataFrame(
    {
        "resource": ["Press", "Lathe"],
        "month": pd.NaT,
        "regular_hours": [100.0, 200.0],
        "max_overtime_hours": [10.0, 0.0],
        "overtime_cost_per_hour": 30.0,
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


def test_the_keys_are_those_of_config_scenario():
    """One definition: sopkit.scenarios takes its keys from the pydantic model."""
    assert set(SCENARIO_KEYS) == set(Scenario.model_fields)
    assert "demand_change_pct" in SCENARIO_KEYS


def test_validate_scenario_accepts_a_model_a_mapping_or_nothing():
    given = Scenario(price_change_pct=4)
    assert validate_scenario(given) is given
    assert validate_scenario({"price_change_pct": 4}) == given
    assert validate_scenario(None) == Scenario()
    assert validate_scenario({}) == Scenario()


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (
            {"demand_pct": 5},
            r"scenario 's1': demand_pct is not a scenario key \(did you mean "
            r"'demand_change_pct'\?\); a scenario may set: description, demand_change_pct",
        ),
        (
            {"demand_change_pct": -101},
            r"scenario 's1': demand_change_pct is -101; expected a change in percent of -100 "
            r"or more",
        ),
        (
            {"family_demand_change_pct": {"Bikes": -150}},
            r"family_demand_change_pct\['Bikes'\] is -150; expected .* of -100 or more",
        ),
        ({"price_change_pct": "ten"}, "price_change_pct is 'ten'; expected a change in percent"),
        ({"capacity_change_pct": float("nan")}, "capacity_change_pct is nan; expected a finite"),
        ({"capacity_change_pct": float("inf")}, "capacity_change_pct is inf; expected a finite"),
        (
            {"family_demand_change_pct": 5},
            r"family_demand_change_pct is 5; expected a mapping of family names",
        ),
        (
            {"resource_capacity_change_pct": ["Press"]},
            r"expected a mapping of resource names",
        ),
    ],
)
def test_validate_scenario_says_which_scenario_key_and_what_was_expected(spec, match):
    with pytest.raises(ConfigError, match=match):
        validate_scenario(spec, "s1")


def test_validate_scenario_reports_every_problem_at_once():
    with pytest.raises(ConfigError, match=r"demand_change_pct is -200.*; price_change_pct is"):
        validate_scenario({"demand_change_pct": -200, "price_change_pct": "x"}, "both")


def test_the_upper_bound_comes_from_config():
    """config.Scenario sets the bounds; the message quotes them, whatever they are."""
    le = next(m.le for m in Scenario.model_fields["demand_change_pct"].metadata if hasattr(m, "le"))
    with pytest.raises(ConfigError, match=f"at most {le:g}"):
        validate_scenario({"demand_change_pct": le + 1})


def test_apply_scenario_scales_copies_and_overrides_replace_the_global_change():
    """+10 % demand, but Parts -50 % instead; price +5 %; capacity -10 %, Lathe +50 %."""
    plan, prods, res = _plan(), PRODUCTS.copy(), RESOURCES.copy()
    new_plan, new_prods, new_res = apply_scenario(
        plan,
        prods,
        res,
        {
            "demand_change_pct": 10,
            "family_demand_change_pct": {"Parts": -50},
            "price_change_pct": 5,
            "capacity_change_pct": -10,
            "resource_capacity_change_pct": {"Lathe": 50},
        },
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


def test_apply_scenario_without_changes_returns_equal_copies():
    plan, prods, res = apply_scenario(_plan(), PRODUCTS, RESOURCES)
    pd.testing.assert_frame_equal(plan, _plan())
    pd.testing.assert_frame_equal(prods, PRODUCTS)
    pd.testing.assert_frame_equal(res, RESOURCES)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (
            {"family_demand_change_pct": {"Boats": 5}},
            "scenario 'x': family_demand_change_pct names unknown family.*Boats.*"
            "Valid family names: Bikes, Parts",
        ),
        (
            {"resource_capacity_change_pct": {"Oven": 5, "Press": 1}},
            "unknown resource.*Oven.*Valid resource names: Lathe, Press",
        ),
        ({"demand_change_pct": -101}, "scenario 'x': demand_change_pct is -101"),
    ],
)
def test_apply_scenario_rejects_unknown_names_and_bad_changes(spec, match):
    with pytest.raises(ConfigError, match=match):
        apply_scenario(_plan(), PRODUCTS, RESOURCES, spec, name="x")


def test_apply_scenario_allows_minus_100():
    plan, _, _ = apply_scenario(_plan(), PRODUCTS, RESOURCES, {"demand_change_pct": -100})
    assert (plan["consensus"] == 0).all()


def test_a_family_change_needs_every_planned_sku_in_products():
    plan = _plan()
    plan.loc[0, "sku"] = "Z9"
    with pytest.raises(SopError, match=r"demand_plan has SKU.*products does not list: Z9"):
        apply_scenario(plan, PRODUCTS, RESOURCES, {"family_demand_change_pct": {"Bikes": 5}})
