"""Tests of sopkit.supply.aggregate: the textbook's Red Tomato optima and hand-worked cases.

Red Tomato Tools is the aggregate-planning example of Chopra & Meindl, *Supply Chain
Management: Strategy, Planning, and Operation*, chapter 8: demand 1,600, 3,000, 3,200,
3,800, 2,200, 2,200; costs as in RED_TOMATO below (the data as quoted by copies of the
case on scribd.com and pdfcoffee.com). The LP optimum costs $422,275 and the plan in
whole numbers $422,660.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import SopError
from sopkit.supply.aggregate import AggregatePlan, aggregate_plan

RED_TOMATO_DEMAND = [1600, 3000, 3200, 3800, 2200, 2200]
RED_TOMATO = {
    "initial_inventory": 1000,
    "min_ending_inventory": 500,
    "initial_workers": 80,
    "hours_per_worker_month": 8 * 20,
    "labor_hours_per_unit": 4,
    "regular_cost_per_hour": 4,
    "overtime_cost_per_hour": 6,
    "max_overtime_hours_per_worker": 10,
    "material_cost_per_unit": 10,
    "holding_cost_per_unit_month": 2,
    "backlog_cost_per_unit_month": 5,
    "hire_cost": 300,
    "layoff_cost": 500,
    "subcontract_cost_per_unit": 30,
    "solver": "HIGHS",
}

# Hand-worked cases: 160 h a month and 4 h a unit, so a worker makes 40 units a month and
# costs 4 x 160 = 640 a month; hiring and layoffs cost 10,000 a worker unless a case says
# otherwise, which keeps the workforce where it starts.
SMALL = {
    "initial_inventory": 0,
    "min_ending_inventory": 0,
    "initial_workers": 10,
    "hours_per_worker_month": 160,
    "labor_hours_per_unit": 4,
    "regular_cost_per_hour": 4,
    "overtime_cost_per_hour": 6,
    "max_overtime_hours_per_worker": 0,
    "material_cost_per_unit": 10,
    "holding_cost_per_unit_month": 2,
    "backlog_cost_per_unit_month": 5,
    "hire_cost": 10_000,
    "layoff_cost": 10_000,
    "subcontract_cost_per_unit": 100,
    "solver": "HIGHS",
}


def _months() -> pd.Index:
    return pd.Index(["Jan", "Feb", "Mar", "Apr", "May", "Jun"], name="month")


@pytest.fixture(scope="module")
def red_tomato_lp() -> AggregatePlan:
    demand = pd.Series(RED_TOMATO_DEMAND, index=_months(), name="demand")
    return aggregate_plan(demand, **RED_TOMATO)


def _assert_plan(result: AggregatePlan, **columns: list[float]) -> None:
    for name, expected in columns.items():
        np.testing.assert_allclose(result.plan[name], expected, atol=1e-6, err_msg=name)


# --- Red Tomato Tools (published) ----------------------------------------------------


def test_red_tomato_lp_reproduces_the_published_optimum(red_tomato_lp):
    """Chopra & Meindl, ch. 8, Red Tomato Tools: the LP optimum costs $422,275.

    Published: $422,275, with the workforce cut from 80 to 65 (15 laid off) in January
    and kept, and no overtime or subcontracting. The book's table shows whole numbers;
    the rounded inventory and backlog below are this plan rounded the same way (1,983,
    1,567, 950, 0, 117, 500; 267 backlogged in April). Unrounded, production is level at
    (16,000 demand + 500 ending - 1,000 opening) / 6 = 2,583 1/3 units, i.e.
    2,583 1/3 / 40 = 64 7/12 workers, so 15 5/12 are laid off. This optimum is unique
    (minimising and maximising every variable at the optimal cost gives the same plan),
    so the whole plan and the cost breakdown are asserted.
    """
    p = red_tomato_lp
    assert p.status == "optimal"
    assert not p.integer
    assert p.total_cost == pytest.approx(422_275, abs=0.5)
    assert list(p.plan.index) == list(_months())
    level = 15_500 / 6
    _assert_plan(
        p,
        demand=RED_TOMATO_DEMAND,
        workers=[level / 40] * 6,
        hired=[0] * 6,
        laid_off=[80 - level / 40, 0, 0, 0, 0, 0],
        production=[level] * 6,
        overtime_hours=[0] * 6,
        subcontracted=[0] * 6,
        inventory=[1000 + level - 1600, 1000 + 2 * level - 4600, 950, 0, 350 / 3, 500],
        backlog=[0, 0, 0, 800 / 3, 0, 0],
    )
    # Rounded as the book prints it.
    assert p.plan["workers"].round().tolist() == [65] * 6
    assert p.plan["laid_off"].round().tolist() == [15, 0, 0, 0, 0, 0]
    assert p.plan["inventory"].round().tolist() == [1983, 1567, 950, 0, 117, 500]
    assert p.plan["backlog"].round().tolist() == [0, 0, 0, 267, 0, 0]

    expected = {
        "regular_time": 640 * 6 * level / 40,  # 248,000
        "overtime": 0,
        "hiring": 0,
        "layoffs": 500 * (80 - level / 40),  # 7,708.33
        "holding": 2 * (1983 + 1 / 3 + 1566 + 2 / 3 + 950 + 350 / 3 + 500),  # 10,233.33
        "backlog": 5 * 800 / 3,  # 1,333.33
        "materials": 10 * 15_500,  # 155,000
        "subcontracting": 0,
    }
    assert list(p.costs.index) == list(expected)
    np.testing.assert_allclose(p.costs.to_numpy(), list(expected.values()), atol=1e-6)
    assert p.costs.sum() == pytest.approx(p.total_cost)


def test_red_tomato_integer_plan_reproduces_the_published_optimum():
    """Chopra & Meindl, ch. 8: with whole numbers the optimum costs $422,660.

    A copy of the book's text says Red Tomato lays off 16 workers in January and then
    keeps its workforce: 64 workers make 64 x 40 x 6 = 15,360 units, 140 short of the
    15,500 needed, so 140 are subcontracted (30 a unit, cheaper than overtime at
    6 x 4 + 10 = 34). That plan is one of several optima: keeping 65 workers to March and
    laying the 65th off in April, subcontracting 20 units instead, costs the same. What
    every optimum shares is asserted: the cost, whole numbers, 16 layoffs and no hiring
    or overtime, 64 workers from April, a backlog of 220 in April only, 140 in stock at
    the end of May, 500 at the end of June, and 15,500 units made or bought.
    """
    p = aggregate_plan(RED_TOMATO_DEMAND, **RED_TOMATO, integer=True)
    assert p.status == "optimal"
    assert p.integer
    assert p.total_cost == pytest.approx(422_660, abs=0.5)
    assert p.costs.sum() == pytest.approx(p.total_cost)
    values = p.plan.to_numpy()
    np.testing.assert_array_equal(values, np.round(values))
    assert list(p.plan.index) == [1, 2, 3, 4, 5, 6]
    assert p.plan["laid_off"].sum() == 16
    assert p.plan["hired"].sum() == 0
    assert p.plan["overtime_hours"].sum() == 0
    assert p.plan["workers"].iloc[3:].tolist() == [64, 64, 64]
    assert p.plan["backlog"].tolist() == [0, 0, 0, 220, 0, 0]
    assert p.plan["inventory"].iloc[4:].tolist() == [140, 500]
    assert (p.plan["production"] + p.plan["subcontracted"]).sum() == 15_500
    assert p.plan["subcontracted"].drop(index=4).sum() == 0
    # Prices come from the LP that keeps the plan's workforce: no workforce price.
    assert p.shadow_prices["workforce_balance"].isna().all()
    prices = p.shadow_prices.drop(columns="workforce_balance")
    assert np.isfinite(prices.to_numpy()).all()
    assert np.isfinite(p.ending_inventory_price)


def test_red_tomato_inventory_prices_equal_the_cost_of_one_more_unit(red_tomato_lp):
    """The inventory-balance dual of each month is what one more unit demanded then costs.

    Re-solving with demand + 1 in one month (or a 501-unit ending target) moves the total
    cost by exactly the dual: the Red Tomato LP is not degenerate there.
    """
    base = red_tomato_lp
    for t in range(6):
        demand = list(RED_TOMATO_DEMAND)
        demand[t] += 1
        moved = aggregate_plan(demand, **RED_TOMATO).total_cost - base.total_cost
        assert moved == pytest.approx(base.shadow_prices["inventory_balance"].iloc[t], abs=1e-6)
    target = {**RED_TOMATO, "min_ending_inventory": 501}
    moved = aggregate_plan(RED_TOMATO_DEMAND, **target).total_cost - base.total_cost
    assert moved == pytest.approx(base.ending_inventory_price, abs=1e-6)
    # Units cost money, hours save it.
    assert (base.shadow_prices["inventory_balance"] > 0).all()
    assert (base.shadow_prices["capacity"] <= 0).all()


# --- Hand-worked cases ----------------------------------------------------------------


def test_overtime_before_subcontracting_up_to_its_limit():
    """One month, demand 500, 10 workers (400 units in regular time).

    Overtime is allowed up to 10 h a worker = 100 h = 25 units, at 6 x 4 = 24 labour
    + 10 material = 34 a unit; subcontracting costs 40 a unit; hiring 10,000 a worker.
    So: 400 regular + 25 on overtime + 75 subcontracted. Cost: regular 640 x 10 = 6,400,
    overtime 6 x 100 = 600, materials 10 x 425 = 4,250, subcontracting 40 x 75 = 3,000;
    total 14,250.

    Shadow prices (change in cost per unit of right-hand side): one more unit demanded is
    subcontracted, +40; one more labour hour makes 1/4 unit instead of subcontracting it,
    (10 - 40) / 4 = -7.5; one more overtime hour allowed does the same at 6 an hour,
    -7.5 + 6 = -1.5; one more worker at no hiring cost pays 640, adds 160 hours and 10
    overtime hours: 640 - 160 x 7.5 - 10 x 1.5 = -575.
    """
    args = {**SMALL, "max_overtime_hours_per_worker": 10, "subcontract_cost_per_unit": 40}
    p = aggregate_plan([500], **args)
    _assert_plan(
        p,
        workers=[10],
        hired=[0],
        laid_off=[0],
        production=[425],
        overtime_hours=[100],
        subcontracted=[75],
        inventory=[0],
        backlog=[0],
    )
    assert p.total_cost == pytest.approx(14_250, abs=1e-6)
    assert p.costs.to_dict() == pytest.approx(
        {
            "regular_time": 6_400,
            "overtime": 600,
            "hiring": 0,
            "layoffs": 0,
            "holding": 0,
            "backlog": 0,
            "materials": 4_250,
            "subcontracting": 3_000,
        },
        abs=1e-6,
    )
    prices = p.shadow_prices.iloc[0]
    assert prices["inventory_balance"] == pytest.approx(40, abs=1e-6)
    assert prices["capacity"] == pytest.approx(-7.5, abs=1e-6)
    assert prices["overtime_limit"] == pytest.approx(-1.5, abs=1e-6)
    assert prices["workforce_balance"] == pytest.approx(-575, abs=1e-6)


@pytest.mark.parametrize(
    ("hire_cost", "workers", "hired", "production", "inventory", "total"),
    [
        # chase: 10 hires in month 2 cost 10 x 50 = 500
        (50, [10, 20], [0, 10], [400, 800], [0, 0], 19_200 + 500 + 12_000),
        # level: 5 hires in month 1 cost 5 x 300 = 1,500, 200 units held cost 400
        (300, [15, 15], [5, 0], [600, 600], [200, 0], 19_200 + 1_500 + 400 + 12_000),
    ],
    ids=["chase", "level"],
)
def test_chase_or_level_by_hiring_cost_against_holding(
    hire_cost, workers, hired, production, inventory, total
):
    """Demand 400 then 800 with 10 workers (400 units a month); no overtime.

    1,200 units need 30 worker-months whatever the plan (regular time 640 x 30 = 19,200,
    materials 12,000). Hiring k workers in month 1 and m in month 2, with 2k + m = 10
    extra worker-months, costs hire_cost x (k + m) + 40k units held x 2
    = hire_cost x 10 + k x (80 - hire_cost). So a hire costing less than 80 is made
    late (chase: k = 0, 10 hires in month 2) and one costing more is made early (level:
    k = 5, 15 workers making 600 a month, 200 in stock after month 1).
    Backlog (100 a unit) and subcontracting (100 a unit) are priced out.
    """
    args = {**SMALL, "hire_cost": hire_cost, "backlog_cost_per_unit_month": 100}
    p = aggregate_plan([400, 800], **args)
    _assert_plan(
        p,
        workers=workers,
        hired=hired,
        laid_off=[0, 0],
        production=production,
        overtime_hours=[0, 0],
        subcontracted=[0, 0],
        inventory=inventory,
        backlog=[0, 0],
    )
    assert p.total_cost == pytest.approx(total, abs=1e-6)


def test_ending_inventory_target_forces_production():
    """300 in stock, demand 100 and 100, 5 workers (200 units a month).

    Without a target the stock covers demand: nothing is made; cost = regular time
    640 x 5 x 2 = 6,400 + holding 2 x (200 + 100) = 600 = 7,000. A target of 450 needs
    100 + 100 + 450 - 300 = 350 units, made as late as capacity allows: 200 in month 2,
    150 in month 1; stock 350 then 450; cost = 6,400 + materials 3,500 + holding
    2 x 800 = 1,600 = 11,500. One more unit at the end is made in month 1 and held two
    months: the ending-inventory price is 10 + 2 x 2 = 14.
    """
    args = {**SMALL, "initial_inventory": 300, "initial_workers": 5}
    without = aggregate_plan([100, 100], **args)
    _assert_plan(without, production=[0, 0], inventory=[200, 100], workers=[5, 5])
    assert without.total_cost == pytest.approx(7_000, abs=1e-6)
    assert without.ending_inventory_price == pytest.approx(0, abs=1e-6)

    target = aggregate_plan([100, 100], **{**args, "min_ending_inventory": 450})
    _assert_plan(
        target,
        workers=[5, 5],
        hired=[0, 0],
        production=[150, 200],
        subcontracted=[0, 0],
        inventory=[350, 450],
        backlog=[0, 0],
    )
    assert target.total_cost == pytest.approx(11_500, abs=1e-6)
    assert target.ending_inventory_price == pytest.approx(14, abs=1e-6)


@pytest.mark.parametrize(
    ("holding", "production", "inventory", "backlog", "total"),
    [
        # holding 6 > backlog 5: serve 200 of month 2 late, from month 3
        (6, [200, 400, 400], [0, 0, 0], [0, 200, 0], 19_200 + 10_000 + 5 * 200),
        # holding 4 < backlog 5: make them early, in month 1
        (4, [400, 400, 200], [200, 0, 0], [0, 0, 0], 19_200 + 10_000 + 4 * 200),
    ],
    ids=["backlog", "build-ahead"],
)
def test_backlog_when_producing_early_is_dearer(holding, production, inventory, backlog, total):
    """Demand 200, 600, 200 with 10 workers (400 units a month); no overtime.

    Month 2 is 200 short; months 1 and 3 each have 200 spare. Building ahead holds 200
    units one month (200 x holding), serving late backlogs them one month (200 x 5).
    Regular time 640 x 10 x 3 = 19,200 and materials 10 x 1,000 = 10,000 either way.
    """
    args = {**SMALL, "holding_cost_per_unit_month": holding}
    p = aggregate_plan([200, 600, 200], **args)
    _assert_plan(
        p,
        workers=[10, 10, 10],
        production=production,
        subcontracted=[0, 0, 0],
        inventory=inventory,
        backlog=backlog,
    )
    assert p.total_cost == pytest.approx(total, abs=1e-6)


# --- Arguments ------------------------------------------------------------------------


def test_bad_arguments_are_all_named_in_one_error():
    args = {
        **RED_TOMATO,
        "hire_cost": -300,
        "hours_per_worker_month": 0,
        "labor_hours_per_unit": -4,
        "holding_cost_per_unit_month": "2",
        "layoff_cost": float("inf"),
        "initial_workers": float("nan"),
        "solver": "NO_SUCH_SOLVER",
    }
    with pytest.raises(SopError) as info:
        aggregate_plan([1600, -5, float("nan"), 3800], **args, integer="yes")
    message = str(info.value)
    assert message.startswith("aggregate_plan got 10 bad arguments:")
    for expected in [
        "demand: 1 period(s) missing (3: nan)",
        "demand: 1 period(s) below 0 (2: -5)",
        "hire_cost: got -300; expected 0 or more",
        "hours_per_worker_month: got 0; expected more than 0",
        "labor_hours_per_unit: got -4; expected more than 0",
        "holding_cost_per_unit_month: got '2'; expected a finite number",
        "layoff_cost: got inf; expected a finite number",
        "initial_workers: got nan; expected a finite number",
        "integer: got 'yes'; expected True or False",
        "solver: got 'NO_SUCH_SOLVER'",
        "Nothing was solved.",
    ]:
        assert expected in message


@pytest.mark.parametrize(
    ("demand", "extra", "match"),
    [
        ([], {}, r"demand: is empty; expected units for at least one period"),
        ((x for x in [1, 2]), {}, r"demand: got generator; expected a list"),
        ("1600", {}, r"demand: got str"),
        ([[1, 2], [3, 4]], {}, r"demand: got an array of shape \(2, 2\)"),
        ([1, float("inf")], {}, r"demand: 1 period\(s\) infinite \(2: inf\)"),
        ([1, None], {}, r"demand: 1 period\(s\) missing \(2: None\)"),
        ([1, "x"], {}, r"demand: 1 period\(s\) not a number \(2: 'x'\)"),
        ([1, True], {}, r"demand: 1 period\(s\) not a number \(2: True\)"),
        (
            pd.Series([1.0, -1.0], index=["Jan", "Feb"]),
            {},
            r"demand: 1 period\(s\) below 0 \(Feb: -1.0\)",
        ),
        ([1.5, 2], {"integer": True}, r"demand: 1 period\(s\) not a whole number"),
        ([1, 2], {"integer": True, "initial_workers": 80.5}, r"initial_workers: got 80.5"),
        ([1, 2], {"max_overtime_hours_per_worker": -1}, r"max_overtime_hours_per_worker"),
        ([1, 2], {"min_ending_inventory": -1}, r"min_ending_inventory: got -1"),
    ],
)
def test_each_bad_argument_is_named(demand, extra, match):
    with pytest.raises(SopError, match=match):
        aggregate_plan(demand, **{**RED_TOMATO, **extra})


def test_a_numpy_array_works_and_zero_costs_are_allowed():
    demand = np.array([100.0, 100.0])
    free = {k: 0 for k in SMALL if k.endswith("cost") or "_cost_" in k}
    p = aggregate_plan(demand, **{**SMALL, **free})
    assert p.total_cost == 0
    assert list(p.plan.index) == [1, 2]
    assert p.plan.index.name == "period"


def test_summary_rounds_for_display_only(red_tomato_lp):
    text = repr(red_tomato_lp)
    assert "total cost 422,275.00" in text
    assert "64.6" in text
    assert red_tomato_lp.plan["workers"].iloc[0] == pytest.approx(15_500 / 240)
