"""Tests of sopkit.supply.model on small companies whose optimal plans are worked out by hand.

Every case pins the solver (HiGHS, the default) and asserts the plan and the total cost
exactly (to solver precision). One resource "Line" makes one unit an hour unless a test
says otherwise; "A" and "B" are SKUs; months start in 2026-11.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import SopError
from sopkit.schemas import ARTIFACTS
from sopkit.supply.model import SupplyCosts, SupplyModel, safety_stock

M = pd.date_range("2026-11-01", periods=6, freq="MS")
EXACT = {"abs": 1e-6}


def company(
    demand: dict[str, list[float]],
    *,
    hours: float | list[float] = 1000.0,
    overtime: float = 0.0,
    overtime_cost: float = 5.0,
    hours_per_unit: float | None = 1.0,
    holding: float = 1.0,
    backlog: float = 2.0,
    price: float = 100.0,
    subcontract_cost: float = 0.0,
    max_subcontract: float = 0.0,
    on_hand: float = 0.0,
    safety: float = 0.0,
    material: dict | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """A demand plan and the input tables of a small company, the same figures for each SKU.

    ``hours`` is the regular hours of Line, one figure for every month or one per month;
    ``material`` is ``{"name": ..., "per_unit": ..., "available": [...] or None,
    "cost": ...}`` (``available`` None: no limit).
    """
    n_months = len(next(iter(demand.values())))
    months = M[:n_months]
    demand_plan = pd.DataFrame(
        [
            (sku, "North", months[i], float(q))
            for sku, quantities in demand.items()
            for i, q in enumerate(quantities)
        ],
        columns=["sku", "region", "month", "consensus"],
    )
    skus = list(demand)
    per_month = isinstance(hours, list)
    resources = pd.DataFrame(
        {
            "resource": "Line",
            "month": list(months) if per_month else [pd.NaT],
            "regular_hours": hours if per_month else [hours],
            "max_overtime_hours": overtime,
            "overtime_cost_per_hour": overtime_cost,
        }
    )
    tables = {
        "products": pd.DataFrame({"sku": skus, "unit_price": price, "unit_cost": price / 2}),
        "inventory": pd.DataFrame({"sku": skus, "on_hand": on_hand, "safety_stock": safety}),
        "resources": resources,
        "routings": pd.DataFrame(
            {"sku": skus, "resource": "Line", "hours_per_unit": hours_per_unit}
        ).dropna(),
        "costs": pd.DataFrame(
            {
                "sku": skus,
                "holding_cost_per_unit_month": holding,
                "backlog_cost_per_unit_month": backlog,
                "subcontract_cost_per_unit": subcontract_cost,
                "max_subcontract_qty": max_subcontract,
            }
        ),
    }
    if material:
        tables["bom"] = pd.DataFrame(
            {"sku": skus, "material": material["name"], "qty_per_unit": material["per_unit"]}
        )
        available = material.get("available")
        tables["material_supply"] = pd.DataFrame(
            {
                "material": material["name"],
                "month": list(months),
                "max_qty": available if available is not None else np.nan,
                "unit_cost": material.get("cost", 0.0),
            }
        )
    return demand_plan, tables


def solve(demand, unmet="backlog", model_kw=None, **kw):
    demand_plan, tables = company(demand, **kw)
    model = SupplyModel.from_inputs(demand_plan, tables, unmet=unmet, **(model_kw or {}))
    return model, model.solve()


def col(result, name, sku="A"):
    return result.plan.loc[result.plan["sku"] == sku, name].tolist()


def cap(result, name, resource="Line"):
    return result.capacity.loc[result.capacity["resource"] == resource, name].tolist()


# --- safety stock helper ----------------------------------------------------------------


def test_safety_stock_is_z_sigma_root_lead_time():
    """Hand-worked: z(0.95) = 1.644854 (normal table), sigma 100, lead time 2 months:
    1.644854 x 100 x sqrt(2) = 1.644854 x 141.4214 = 232.617 units. At 50 % z = 0."""
    assert safety_stock(100.0, 0.95, 2) == pytest.approx(232.617, abs=1e-3)
    assert safety_stock(100.0, 0.5) == 0.0
    sigma = pd.Series([10.0, 20.0], index=["A", "B"])
    out = safety_stock(sigma, 0.95)
    assert out.index.tolist() == ["A", "B"]
    assert out.tolist() == pytest.approx([16.44854, 32.89707], abs=1e-5)


@pytest.mark.parametrize(
    ("sigma", "level", "lead", "match"),
    [
        (10.0, 0.3, 1, "service_level must be at least 0.5"),
        (10.0, 1.0, 1, "service_level must be at least 0.5 and below 1"),
        (-1.0, 0.9, 1, "sigma must be 0 or more"),
        (10.0, 0.9, -1, "lead_time_months must be 0 or more"),
    ],
)
def test_safety_stock_rejects_what_has_no_meaning(sigma, level, lead, match):
    with pytest.raises(SopError, match=match):
        safety_stock(sigma, level, lead)


# --- the plan -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holding", "production", "overtime", "total"),
    [
        # level: building ahead costs 1 (one month) or 2 (two months) a unit, overtime 5:
        # make 20 a month, stock 10, 20, 0, holding 30.
        (1.0, [20, 20, 20], [0, 0, 0], 30.0),
        # mixed: a month ahead costs 3 < 5, two months 6 > 5: month 2 fills its 10 spare
        # hours, the other 10 units are overtime in month 3: 3 x 10 + 5 x 10 = 80.
        (3.0, [10, 20, 30], [0, 0, 10], 80.0),
        # chase: a month ahead costs 6 > 5: make to demand, 20 overtime hours, 100.
        (6.0, [10, 10, 40], [0, 0, 20], 100.0),
    ],
)
def test_chase_or_level_follows_holding_against_overtime_cost(holding, production, overtime, total):
    """Demand 10, 10, 40; 20 regular hours a month, 20 overtime hours at 5 an hour."""
    _, r = solve({"A": [10, 10, 40]}, hours=20.0, overtime=20.0, overtime_cost=5.0, holding=holding)
    assert r.status == "optimal"
    assert col(r, "production") == pytest.approx(production, **EXACT)
    assert cap(r, "overtime_used") == pytest.approx(overtime, **EXACT)
    assert col(r, "backlog") == pytest.approx([0, 0, 0], **EXACT)
    assert r.objective == pytest.approx(total, **EXACT)
    assert r.costs[["holding", "overtime"]].sum() == pytest.approx(total, **EXACT)


def overtime_then_subcontract():
    """Demand 20, 50; 20 regular hours, 10 overtime at 4 an hour, subcontracting at 6,
    holding 3 (so building ahead on overtime, 4 + 3 = 7 a unit, never pays)."""
    return solve(
        {"A": [20, 50]},
        hours=20.0,
        overtime=10.0,
        overtime_cost=4.0,
        subcontract_cost=6.0,
        max_subcontract=100.0,
        holding=3.0,
    )


def test_overtime_is_used_up_to_its_limit_before_subcontracting():
    """Month 2 needs 50: 20 regular, then overtime (4 a unit) up to its 10 hours, then 20
    subcontracted (6 a unit). Month 1's regular hours serve month 1; building ahead on
    its overtime costs 4 + 3 = 7 > 6. Cost 10 x 4 + 20 x 6 = 160. One more regular hour in
    month 2 replaces a subcontracted unit (worth 6), one more overtime hour saves
    6 - 4 = 2, one more regular hour in month 1 builds a unit ahead for 3 of holding
    (worth 6 - 3 = 3)."""
    _, r = overtime_then_subcontract()
    assert col(r, "production") == pytest.approx([20, 30], **EXACT)
    assert col(r, "subcontract") == pytest.approx([0, 20], **EXACT)
    assert cap(r, "overtime_used") == pytest.approx([0, 10], **EXACT)
    assert col(r, "overtime_hours") == pytest.approx([0, 10], **EXACT)
    assert r.objective == pytest.approx(160.0, **EXACT)
    assert r.costs["overtime"] == pytest.approx(40.0, **EXACT)
    assert r.costs["subcontract"] == pytest.approx(120.0, **EXACT)
    assert cap(r, "shadow_price_regular") == pytest.approx([3.0, 6.0], **EXACT)
    assert cap(r, "shadow_price_overtime") == pytest.approx([0.0, 2.0], **EXACT)
    assert cap(r, "binding") == [True, True]
    assert cap(r, "status") == ["tight", "overtime"]


def test_a_cost_multiplier_reprices_without_rebuilding():
    """Overtime twice as dear (8 a unit) is dearer than subcontracting (6): month 2 buys
    all 30 units, 30 x 6 = 180."""
    model, _ = overtime_then_subcontract()
    r = model.resolve(cost_multipliers={"overtime": 2.0})
    assert col(r, "subcontract") == pytest.approx([0, 30], **EXACT)
    assert cap(r, "overtime_used") == pytest.approx([0, 0], **EXACT)
    assert r.objective == pytest.approx(180.0, **EXACT)


def steel_short_in_month_one(**kw):
    """Demand 30, 10; 2 kg of Steel a unit at 1 a kg: 40 kg in month 1, 100 in month 2."""
    steel = {"name": "Steel", "per_unit": 2.0, "available": [40.0, 100.0], "cost": 1.0}
    return solve({"A": [30, 10]}, hours_per_unit=None, backlog=2.0, material=steel, **kw)


def test_a_material_shortage_forces_backlog_and_is_named_as_the_reason():
    """Month 1 can make 40 / 2 = 20 of 30: 10 wait a month (backlog 2 a unit) and are made
    in month 2 with its 10. Materials 80 kg x 1 = 80, backlog 10 x 2 = 20: 100. The 10 units
    short would need 20 kg more; one more kg in month 1 saves half a unit of backlog, 1."""
    _, r = steel_short_in_month_one()
    assert col(r, "production") == pytest.approx([20, 20], **EXACT)
    assert col(r, "backlog") == pytest.approx([10, 0], **EXACT)
    assert col(r, "shipments") == pytest.approx([20, 20], **EXACT)
    assert col(r, "unmet_reason") == ["material Steel: all available used", ""]
    assert r.objective == pytest.approx(100.0, **EXACT)
    assert r.costs["materials"] == pytest.approx(80.0, **EXACT)
    assert r.costs["backlog"] == pytest.approx(20.0, **EXACT)
    mats = r.materials
    assert mats["used"].tolist() == pytest.approx([40, 40], **EXACT)
    assert mats["shortfall"].tolist() == pytest.approx([20, 0], **EXACT)
    assert mats["shadow_price"].tolist() == pytest.approx([1.0, 0.0], **EXACT)
    assert mats["binding"].tolist() == [True, False]
    # the costs shared out by SKU-month: materials 40 and 40, the backlog in month 1
    detail = r.sku_costs
    assert detail["materials"].tolist() == pytest.approx([40, 40], **EXACT)
    assert detail["backlog"].tolist() == pytest.approx([20, 0], **EXACT)
    assert detail["total"].tolist() == pytest.approx([60, 40], **EXACT)


def test_lost_sales_cost_the_price_where_backlog_costs_the_wait():
    """10 an hour of capacity, demand 15 then 5, no stock: 5 units cannot be made in month
    1. Backlog: they wait a month (2 each), made in month 2: cost 10. Lost: they are gone
    at the price (20 each): cost 100, and month 2 makes only its 5."""
    kw = {"hours": 10.0, "price": 20.0, "backlog": 2.0, "holding": 1.0}
    _, late = solve({"A": [15, 5]}, unmet="backlog", **kw)
    assert col(late, "production") == pytest.approx([10, 10], **EXACT)
    assert col(late, "backlog") == pytest.approx([5, 0], **EXACT)
    assert col(late, "lost") == pytest.approx([0, 0], **EXACT)
    assert late.objective == pytest.approx(10.0, **EXACT)

    _, gone = solve({"A": [15, 5]}, unmet="lost", **kw)
    assert col(gone, "production") == pytest.approx([10, 5], **EXACT)
    assert col(gone, "lost") == pytest.approx([5, 0], **EXACT)
    assert col(gone, "shipments") == pytest.approx([10, 5], **EXACT)
    assert col(gone, "backlog") == pytest.approx([0, 0], **EXACT)
    assert col(gone, "unmet_reason")[0] == "resource Line: regular and overtime hours used up"
    assert gone.objective == pytest.approx(100.0, **EXACT)
    assert gone.costs["lost"] == pytest.approx(100.0, **EXACT)


def test_demand_beyond_every_source_is_a_reported_shortfall_not_a_failure():
    """Demand 100 in a one-month horizon; 10 regular hours, 5 overtime (3 an hour), 5 from
    a subcontractor (8 each): 20 made or bought, 80 left. Backlog left at the end of the
    horizon pays its month of backlog (2) and is priced as lost (price 50):
    5 x 3 + 5 x 8 + 80 x 2 + 80 x 50 = 4215."""
    _, r = solve(
        {"A": [100]},
        hours=10.0,
        overtime=5.0,
        overtime_cost=3.0,
        subcontract_cost=8.0,
        max_subcontract=5.0,
        price=50.0,
    )
    assert r.status == "optimal"
    assert col(r, "production") == pytest.approx([15], **EXACT)
    assert col(r, "subcontract") == pytest.approx([5], **EXACT)
    assert col(r, "backlog") == pytest.approx([80], **EXACT)
    assert col(r, "unmet_reason") == ["resource Line: regular and overtime hours used up"]
    assert cap(r, "shortfall_hours") == pytest.approx([80], **EXACT)
    assert cap(r, "status") == ["short"]
    assert r.costs["lost"] == pytest.approx(4000.0, **EXACT)
    assert r.costs["backlog"] == pytest.approx(160.0, **EXACT)
    assert r.objective == pytest.approx(4215.0, **EXACT)


def test_the_ending_target_is_built_when_it_can_be_and_priced_when_it_cannot():
    """Demand 10, 10, target 15 at the end, 2 a unit of material, holding 1, a unit short
    of the target costs half the price (50). With room: make 10, 25: 35 x 2 + 15 x 1 = 85.
    With 12 hours a month: make 12, 12, end with 4 (11 short): 24 x 2 + (2 + 4) x 1 +
    11 x 50 = 604; serving the customers comes first (a unit in backlog at the end costs
    the whole price)."""
    part = {"name": "Part", "per_unit": 1.0, "available": None, "cost": 2.0}
    _, r = solve({"A": [10, 10]}, model_kw={"ending_target": 15.0}, material=part)
    assert col(r, "production") == pytest.approx([10, 25], **EXACT)
    assert col(r, "inventory") == pytest.approx([0, 15], **EXACT)
    assert r.ending["shortfall"].tolist() == pytest.approx([0], **EXACT)
    assert r.objective == pytest.approx(85.0, **EXACT)
    assert r.materials["available"].isna().all()

    _, r = solve({"A": [10, 10]}, model_kw={"ending_target": 15.0}, material=part, hours=12.0)
    assert col(r, "production") == pytest.approx([12, 12], **EXACT)
    assert col(r, "inventory") == pytest.approx([2, 4], **EXACT)
    assert r.ending[["target", "inventory", "shortfall"]].iloc[0].tolist() == pytest.approx(
        [15, 4, 11], **EXACT
    )
    assert r.costs["ending"] == pytest.approx(550.0, **EXACT)
    assert r.objective == pytest.approx(604.0, **EXACT)


def test_safety_stock_below_target_is_priced_between_holding_and_backlog():
    """Target 5 a month (from inventory), demand 10, 10, 12 an hour of capacity, holding
    0.1: stock 2 then 4, short 3 then 1 (1 a unit-month: half the backlog cost of 2), and
    the ending target (the last month's safety stock, 5) short by 1 (half the price of
    20: 10). 0.1 x 6 + 1 x 4 + 10 = 14.6. Backlogging a customer to keep safety stock
    would cost 2 a unit-month, more than the shortfall: it is never done."""
    _, r = solve({"A": [10, 10]}, hours=12.0, safety=5.0, holding=0.1, backlog=2.0, price=20.0)
    assert col(r, "production") == pytest.approx([12, 12], **EXACT)
    assert col(r, "safety_stock") == pytest.approx([5, 5], **EXACT)
    assert col(r, "safety_shortfall") == pytest.approx([3, 1], **EXACT)
    assert col(r, "backlog") == pytest.approx([0, 0], **EXACT)
    assert r.costs["safety_stock"] == pytest.approx(4.0, **EXACT)
    assert r.objective == pytest.approx(14.6, **EXACT)


def test_minimum_runs_make_whole_batches_and_are_priced_by_the_fixed_lp():
    """Demand 5 a month for four months, runs of at least 10, setup 3, holding 1, 12 hours
    a month. Two runs of 10: in months 1 and 3 (stock 5, 0, 5, 0: holding 10) beats
    months 1 and 2 (holding 20) and one run of 20 (holding 30): 10 + 2 x 3 = 16. Without
    minimum runs the LP makes 5 a month for nothing."""
    kw = {"hours": 12.0, "holding": 1.0}
    model, r = solve(
        {"A": [5, 5, 5, 5]},
        model_kw={"integer": True, "min_run": 10.0, "setup_cost": 3.0},
        **kw,
    )
    assert model.problem.is_dpp()
    assert col(r, "production") == pytest.approx([10, 0, 10, 0], **EXACT)
    assert col(r, "inventory") == pytest.approx([5, 0, 5, 0], **EXACT)
    assert r.costs["setup"] == pytest.approx(6.0, **EXACT)
    assert r.objective == pytest.approx(16.0, **EXACT)
    assert np.isfinite(r.capacity["shadow_price_regular"]).all()
    assert r.timings["prices"] > 0

    _, relaxed = solve({"A": [5, 5, 5, 5]}, **kw)
    assert col(relaxed, "production") == pytest.approx([5, 5, 5, 5], **EXACT)
    assert relaxed.objective == pytest.approx(0.0, **EXACT)


def test_integer_without_min_run_says_what_to_pass():
    demand_plan, tables = company({"A": [5, 5]})
    with pytest.raises(SopError, match=r"integer=True .* no min_run was given"):
        SupplyModel.from_inputs(demand_plan, tables, integer=True)


# --- prices --------------------------------------------------------------------------


def test_shadow_prices_equal_the_cost_saved_by_one_more_unit():
    """Re-solve with one more regular hour, overtime hour or kg, and compare the saving
    with the price the first solve reported (the basis does not change for one unit)."""
    model, r = overtime_then_subcontract()
    for param, price in (
        ("regular_hours", "shadow_price_regular"),
        ("overtime_hours", "shadow_price_overtime"),
    ):
        before = model.value(param)
        for month in M[:2]:
            more = before.copy()
            more.loc["Line", month] += 1.0
            saved = r.objective - model.resolve(**{param: more}).objective
            expected = r.capacity.set_index("month").loc[month, price]
            assert saved == pytest.approx(expected, **EXACT), (param, month)
        model.update(**{param: before})

    model, r = steel_short_in_month_one()
    more = model.value("material_available")
    more.loc["Steel", M[0]] += 1.0
    assert r.objective - model.resolve(material_available=more).objective == pytest.approx(
        1.0, **EXACT
    )


# --- scenarios ----------------------------------------------------------------------


def two_skus(**kw):
    """A and B share Line (1 and 2 hours a unit) and Steel (1 and 1 kg)."""
    demand_plan, tables = company({"A": [10, 30, 20], "B": [5, 15, 10]}, **kw)
    tables["routings"]["hours_per_unit"] = [1.0, 2.0]
    tables["costs"]["holding_cost_per_unit_month"] = [1.0, 1.5]
    tables["costs"]["backlog_cost_per_unit_month"] = [4.0, 7.0]
    tables["products"]["unit_price"] = [60.0, 90.0]
    return demand_plan, tables


SCENARIO_KW = {
    "hours": 40.0,
    "overtime": 10.0,
    "overtime_cost": 3.0,
    "material": {"name": "Steel", "per_unit": 1.0, "available": [30.0, 30.0, 30.0], "cost": 0.5},
}


def test_a_re_solve_through_parameters_equals_a_fresh_build():
    demand_plan, tables = two_skus(**SCENARIO_KW)
    model = SupplyModel.from_inputs(demand_plan, tables)
    assert model.problem.is_dpp()
    model.solve()

    changed_plan = demand_plan.assign(consensus=demand_plan["consensus"] * 1.2)
    changed = {k: v.copy() for k, v in tables.items()}
    changed["resources"]["regular_hours"] = 35.0
    changed["resources"]["max_overtime_hours"] = 0.0
    changed["material_supply"]["max_qty"] = [30.0, 45.0, 30.0]
    fresh = SupplyModel.from_inputs(changed_plan, changed).solve()

    supply = model.value("material_available")
    supply.loc["Steel", M[1]] = 45.0
    again = model.resolve(
        demand=model.value("demand") * 1.2,
        regular_hours=35.0,
        overtime_hours=0,
        material_available=supply,
    )
    assert again.objective == pytest.approx(fresh.objective, **EXACT)
    numbers = again.plan.select_dtypes("number").columns
    np.testing.assert_allclose(again.plan[numbers], fresh.plan[numbers], atol=1e-6)
    assert again.plan["unmet_reason"].tolist() == fresh.plan["unmet_reason"].tolist()
    np.testing.assert_allclose(
        again.capacity[["shadow_price_regular", "shadow_price_overtime"]],
        fresh.capacity[["shadow_price_regular", "shadow_price_overtime"]],
        atol=1e-6,
    )


def test_update_takes_labelled_data_and_refuses_what_does_not_fit():
    demand_plan, tables = two_skus(**SCENARIO_KW)
    model = SupplyModel.from_inputs(demand_plan, tables)
    model.update(demand=pd.Series({"B": 7.0}))  # every month of B; A unchanged
    demand = model.value("demand")
    assert demand.loc["B"].tolist() == [7.0, 7.0, 7.0]
    assert demand.loc["A"].tolist() == [10.0, 30.0, 20.0]
    model.update(demand=pd.Series({("A", M[1]): 12.0}))
    assert model.value("demand").loc["A"].tolist() == [10.0, 12.0, 20.0]
    with pytest.raises(SopError, match="'capacity' is not a parameter"):
        model.update(capacity=1.0)
    with pytest.raises(SopError, match="label\\(s\\) the model does not have: C"):
        model.update(demand=pd.Series({"C": 1.0}))
    with pytest.raises(SopError, match="missing, negative or infinite"):
        model.update(regular_hours=-5.0)
    with pytest.raises(SopError, match="shape \\(4,\\)"):
        model.update(demand=np.ones(4))
    with pytest.raises(SopError, match="not a cost component"):
        model.update(cost_multipliers={"labour": 2.0})


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"unmet": "late"}, "unmet must be 'backlog' or 'lost'"),
        ({"costs": "cheap"}, "costs must be a SupplyCosts"),
    ],
)
def test_from_inputs_rejects_bad_settings(kw, match):
    demand_plan, tables = company({"A": [5, 5]})
    with pytest.raises(SopError, match=match):
        SupplyModel.from_inputs(demand_plan, tables, **kw)


def test_routings_to_an_unknown_resource_are_refused():
    demand_plan, tables = company({"A": [5, 5]})
    tables["routings"]["resource"] = "Lathe"
    with pytest.raises(SopError, match="resource\\(s\\) Lathe that the resources table"):
        SupplyModel.from_inputs(demand_plan, tables)


def test_supply_costs_refuse_negative_rates():
    with pytest.raises(SopError, match="holding_rate must be a number 0 or more"):
        SupplyCosts(holding_rate=-0.1)
    with pytest.raises(SopError, match="regular_cost_per_hour must be"):
        SupplyCosts(regular_cost_per_hour="wages")


# --- the demo company ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_model():
    from sopkit.data import validate_tables
    from sopkit.demand import make_consensus, seasonal_naive_forecast
    from sopkit.demo import make_demo

    ds = validate_tables(make_demo())
    cycle = ds.last_month + pd.offsets.MonthBegin(1)
    forecast = seasonal_naive_forecast(ds.sales_history, cycle, 18)
    demand_plan = make_consensus(forecast, ds.sales_inputs, ds.products).plan
    return SupplyModel.from_inputs(demand_plan, ds)


def test_the_demo_company_solves_to_optimal_and_gives_the_artifacts(demo_model):
    r = demo_model.solve()
    assert demo_model.problem.is_dpp()
    assert r.status == "optimal"
    assert len(r.plan) == 160 * 18
    assert r.costs["total"] == pytest.approx(r.costs.drop("total").sum())
    # a plan is a plan: stock balances month to month from on hand, nothing negative
    plan = r.plan
    assert (plan.select_dtypes("number") >= -1e-7).all().all()
    # unmet demand always says why
    unmet = plan["backlog"] > 1e-6
    assert (plan.loc[unmet, "unmet_reason"] != "").all()
    assert (plan.loc[~unmet, "unmet_reason"] == "").all()
    # hours never exceed regular + overtime, materials never exceed what is available
    c = r.capacity
    assert (c["required_hours"] <= c["available_hours"] + c["max_overtime_hours"] + 1e-6).all()
    m = r.materials.dropna(subset=["available"])
    assert (m["used"] <= m["available"] + 1e-6).all()
    for name, frame in r.artifacts().items():
        assert ARTIFACTS[name].problems(frame) == [], name
    # the costs shared out per SKU-month add up to each component and to the objective
    shared = r.sku_costs.drop(columns=["sku", "month"]).sum()
    assert shared.to_numpy() == pytest.approx(r.costs[shared.index].to_numpy(), rel=1e-9)


def test_the_demo_re_solves_a_scenario_through_parameters(demo_model):
    base = demo_model.solve()
    again = demo_model.resolve(overtime_hours=0.0)
    assert again.costs["overtime"] == 0.0
    assert again.objective >= base.objective - 1e-6
    demo_model.update(overtime_hours=demo_model._in.overtime_hours)
    assert demo_model.solve().objective == pytest.approx(base.objective, rel=1e-9)


def test_a_company_without_resources_or_materials_makes_lot_for_lot():
    """Only products and a demand plan: nothing limits production, holding costs 2 % of
    unit_cost a month by default, so each month's demand is made that month at no cost."""
    demand_plan = pd.DataFrame(
        {"sku": "A", "region": "North", "month": M[:3], "consensus": [5.0, 6.0, 7.0]}
    )
    tables = {"products": pd.DataFrame({"sku": ["A"], "unit_price": [10.0], "unit_cost": [5.0]})}
    r = SupplyModel.from_inputs(demand_plan, tables).solve()
    assert col(r, "production") == pytest.approx([5, 6, 7], **EXACT)
    assert r.objective == pytest.approx(0.0, **EXACT)
    assert r.capacity.empty
    assert r.materials.empty
    assert [len(f) for f in r.artifacts().values()] == [3, 0, 0, 0]


def test_the_benchmark_script_starts_and_its_synthetic_company_solves():
    """benchmarks/supply.py is a script, not a test: this only checks that it can start."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "supply.py"
    spec = importlib.util.spec_from_file_location("bench_supply", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = bench.parse_args(["--repeat", "1", "--skus", "40"])
    assert (args.repeat, args.skus, args.hours_share) == (1, [40], 1.0)
    demand_plan, tables = bench.make_company(40)
    model = SupplyModel.from_inputs(demand_plan, tables)
    assert (len(model.skus), len(model.resources), len(model.months)) == (40, 8, 18)
    assert model.resolve(**bench.scenario(model)).status == "optimal"
    # the demo through the re-plan seam, as the dashboard calls it
    timings = bench.replan_case(1)
    assert set(timings) == {"first", "scenario"}
    assert all(v > 0 for v in timings.values())


# --- workforce: hiring and layoffs against overtime --------------------------------------


def _crew(**row) -> pd.DataFrame:
    """One pool staffing Line: 1 worker of 100 hours, paid 1 an hour (100 a month)."""
    base = {"resource": "Line", "workers": 1.0, "hours_per_worker_month": 100.0,
            "hire_cost": 50.0, "layoff_cost": 1000.0, "regular_cost_per_hour": 1.0}  # fmt: skip
    return pd.DataFrame([base | row])


def _staffed(demand, crew, integer=False, **kw):
    demand_plan, tables = company(demand, hours=1000.0, overtime=100.0, overtime_cost=5.0, **kw)
    tables["workforce"] = crew
    model = SupplyModel.from_inputs(demand_plan, tables, integer=integer)
    return model, model.solve()


def test_hiring_against_overtime_worked_by_hand():
    """Demand 150 a month for 2 months on 100 staffed hours (the machine has 1,000).
    Half a worker more (hire 50 x 0.5 = 25, wages 100 x 0.5 x 2 = 100) beats 50 overtime
    hours a month (5 x 100 = 500): workers 1.5, wages 300 + hiring 25 = 325. At a hire
    cost of 1,000 the half worker costs 600: overtime (500) wins, wages 200, total 700.
    Whole workers (the MILP): one more worker, 50 + 400 = 450."""
    _, hire = _staffed({"A": [150, 150]}, _crew())
    wf = hire.workforce
    assert wf["workers"].tolist() == pytest.approx([1.5, 1.5], **EXACT)
    assert wf["hired"].tolist() == pytest.approx([0.5, 0.0], **EXACT)
    assert wf["hours_used"].tolist() == pytest.approx([150, 150], **EXACT)
    assert hire.costs[["wages", "hiring", "overtime"]].tolist() == pytest.approx([300, 25, 0])
    assert hire.objective == pytest.approx(325.0, **EXACT)

    _, overtime = _staffed({"A": [150, 150]}, _crew(hire_cost=1000.0))
    assert overtime.workforce["workers"].tolist() == pytest.approx([1.0, 1.0], **EXACT)
    assert cap(overtime, "overtime_used") == pytest.approx([50, 50], **EXACT)
    assert overtime.objective == pytest.approx(700.0, **EXACT)
    # one more staffed hour saves an overtime hour (5), less an hour's wage (1): 4
    assert cap(overtime, "shadow_price_regular") == pytest.approx([4.0, 4.0], **EXACT)

    _, whole = _staffed({"A": [150, 150]}, _crew(), integer=True)
    assert whole.workforce["workers"].tolist() == [2.0, 2.0]
    assert whole.objective == pytest.approx(450.0, **EXACT)


def test_a_layoff_for_a_slack_spell_and_back_by_the_end():
    """2 workers (200 hours), demand 100 a month for 3 months, hire and layoff 50 each.
    Laying one off in month 0 saves 2 months of wages (200) for 100 of hiring and layoff
    (the horizon ends with today's 2): workers 1, 1, 2; wages 400 + 100 = 500 (600 as is).
    """
    _, r = _staffed({"A": [100, 100, 100]}, _crew(workers=2.0, layoff_cost=50.0))
    wf = r.workforce
    assert wf["workers"].tolist() == pytest.approx([1, 1, 2], **EXACT)
    assert wf["laid_off"].tolist() == pytest.approx([1, 0, 0], **EXACT)
    assert wf["hired"].tolist() == pytest.approx([0, 0, 1], **EXACT)
    assert r.objective == pytest.approx(500.0, **EXACT)
    # the wages, hiring and layoffs shared over SKU-months add up to theirs
    assert r.sku_costs[["wages", "hiring", "layoffs"]].sum().tolist() == pytest.approx(
        [400, 50, 50]
    )


def test_a_plant_row_staffs_every_resource_without_its_own_and_workforce_can_be_off():
    demand_plan, tables = company({"A": [150, 150]}, hours=1000.0, overtime=100.0)
    tables["workforce"] = _crew(resource=None)
    model = SupplyModel.from_inputs(demand_plan, tables)
    assert model.pools.tolist() == ["plant"]
    assert model.resolve(hours_per_worker=150.0).workforce["workers"].tolist() == (
        pytest.approx([1.0, 1.0], **EXACT)
    )
    off = SupplyModel.from_inputs(demand_plan, tables, workforce=False)
    assert off.solve().workforce.empty
    with pytest.raises(SopError, match="this model has no hours_per_worker"):
        off.update(hours_per_worker=10.0)
    tables["workforce"] = _crew(resource="Oven")
    with pytest.raises(SopError, match=r"workforce names resource.*Oven"):
        SupplyModel.from_inputs(demand_plan, tables)


def test_a_material_listed_for_some_months_keeps_its_nearest_row_elsewhere():
    """Steel is listed for month 0 only (40 kg at 1): month 1 keeps 40 kg at 1, not an
    unlimited free supply, and the result says so."""
    demand_plan, tables = company(
        {"A": [20, 30]}, material={"name": "Steel", "per_unit": 2.0, "available": [40, 40]}
    )
    tables["material_supply"] = tables["material_supply"].iloc[:1].assign(unit_cost=1.0)
    r = SupplyModel.from_inputs(demand_plan, tables).solve()
    assert r.materials["available"].tolist() == [40.0, 40.0]
    assert r.materials["unit_cost"].tolist() == [1.0, 1.0]
    assert col(r, "production") == pytest.approx([20, 20], **EXACT)
    assert r.notes == (
        "material_supply has no row for Steel in 1 plan month(s) (2026-12): the nearest "
        "listed month's max_qty and unit_cost are used there.",
    )


def test_free_overtime_is_reported_only_beyond_regular_hours():
    """Overtime costing nothing: the solver may split the hours either way; the report
    uses regular hours first (60 of 100 regular: no overtime)."""
    _, r = solve({"A": [60, 60]}, hours=100.0, overtime=50.0, overtime_cost=0.0)
    assert cap(r, "overtime_used") == [0.0, 0.0]
    assert cap(r, "regular_used") == pytest.approx([60, 60], **EXACT)
    assert cap(r, "status") == ["ok", "ok"]
    _, over = solve({"A": [130, 60]}, hours=100.0, overtime=50.0, overtime_cost=0.0)
    assert cap(over, "overtime_used")[0] == pytest.approx(30.0, **EXACT)
