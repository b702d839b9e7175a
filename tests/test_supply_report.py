"""The supply plan in words and charts: prices, unmet demand, costs (sopkit.supply.report)."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.charts import stock_chart, supply_cost_chart
from sopkit.errors import SopError
from sopkit.scenarios import PlanInputs, replan
from sopkit.supply import constraint_prices, cost_breakdown, plan_summary, unmet_demand

M = pd.date_range("2026-11-01", periods=3, freq="MS")
PRODUCTS = pd.DataFrame(
    {"sku": ["A", "B"], "family": ["Bikes", "Parts"], "unit_price": [100.0, 10.0],
     "unit_cost": [60.0, 4.0]}
)  # fmt: skip


def _inputs() -> PlanInputs:
    """A: 80, 90, 120 on Press (1 h, 100 regular + 10 overtime at 30); B: 50 on Lathe.
    Steel: 2 per A, 200 a month at 1."""
    plan = pd.DataFrame(
        {
            "sku": ["A"] * 3 + ["B"] * 3,
            "region": "EU",
            "month": list(M) * 2,
            "consensus": [80.0, 90.0, 120.0, 50.0, 50.0, 50.0],
        }
    )
    return PlanInputs(
        demand_plan=plan,
        products=PRODUCTS,
        inventory=pd.DataFrame({"sku": ["A", "B"], "on_hand": 0.0, "safety_stock": 0.0}),
        resources=pd.DataFrame(
            {
                "resource": ["Press", "Lathe"],
                "month": pd.NaT,
                "regular_hours": [100.0, 200.0],
                "max_overtime_hours": [10.0, 0.0],
                "overtime_cost_per_hour": 30.0,
            }
        ),
        routings=pd.DataFrame(
            {"sku": ["A", "B"], "resource": ["Press", "Lathe"], "hours_per_unit": 1.0}
        ),
        bom=pd.DataFrame({"sku": ["A"], "material": ["Steel"], "qty_per_unit": [2.0]}),
        material_supply=pd.DataFrame(
            {"material": ["Steel"], "month": pd.NaT, "max_qty": [200.0], "unit_cost": [1.0]}
        ),
        budget=pd.DataFrame({"family": ["Bikes"], "month": [M[0]], "revenue": [8000.0]}),
    )


@pytest.fixture(scope="module")
def half():
    """Half capacity: Press 50 + 5 overtime makes 55 A a month; backlog 25, 60, 125."""
    return replan(_inputs(), {"capacity_change_pct": -50}, name="half")


def test_prices_in_sentences_highest_first(half):
    """Press regular hours: 113, 108, 103 (see test_replan); overtime 83, 78, 73."""
    prices = constraint_prices(half.capacity, half.materials, top=2)
    assert prices["shadow_price"].tolist() == pytest.approx([113.0, 108.0])
    assert prices["sentence"].tolist() == [
        "One more hour of Press in 2026-11 is worth 113.00 (an overtime hour 83.00, after "
        "its cost).",
        "One more hour of Press in 2026-12 is worth 108.00 (an overtime hour 78.00, after "
        "its cost).",
    ]
    assert prices["kind"].tolist() == ["resource", "resource"]
    assert prices["limit"].tolist() == [50.0, 50.0]


def test_a_material_price_in_words():
    """Steel cut by half: 100 kg makes 50 A a month; one more kg in month 0 makes half
    an A, which saves half of 3 months' backlog and its loss: (15 + 100) / 2, less its
    own cost 1: 56.50."""
    short = replan(_inputs(), {"supplier_change_pct": -50})
    prices = constraint_prices(short.capacity, short.materials, top=1)
    assert prices["sentence"].tolist() == [
        "One more unit of Steel in 2026-11 is worth 56.50 above its price."
    ]


def test_nothing_binding_gives_an_empty_table():
    plan = replan(_inputs(), {"demand_change_pct": -50})
    prices = constraint_prices(plan.capacity, plan.materials)
    assert prices.empty
    assert list(prices.columns) == ["kind", "name", "month", "shadow_price", "used", "limit",
                                    "sentence"]  # fmt: skip
    assert "No resource or material binds" in plan_summary(plan.supply)
    with pytest.raises(SopError, match="top must be 0 or more"):
        constraint_prices(plan.capacity, plan.materials, top=-1)


def test_unmet_demand_counts_each_unit_once(half):
    """A: 290 asked, 125 held back (25 + 35 + 65 newly in each month), all 125 still
    unserved at the end; B is served."""
    out = unmet_demand(half.supply_plan, half.products)
    assert out["sku"].tolist() == ["A"]
    row = out.iloc[0]
    assert (row["family"], row["demand"], row["held_back"], row["unserved"]) == (
        "Bikes", 290.0, pytest.approx(125.0), pytest.approx(125.0),
    )  # fmt: skip
    assert row["first_month"] == M[0]
    assert row["reason"].startswith("resource Press")
    assert unmet_demand(replan(_inputs()).supply_plan, PRODUCTS).empty


def test_cost_breakdown_and_summary(half):
    """Backlog 5 x 210 = 1,050, lost 100 x 125 = 12,500, overtime 30 x 15 = 450, steel
    2 x 165 = 330: 14,330."""
    out = cost_breakdown(half.supply).set_index("component")
    assert out["cost"].to_dict() == pytest.approx(
        {"lost": 12_500.0, "backlog": 1_050.0, "overtime": 450.0, "materials": 330.0,
         "total": 14_330.0}
    )  # fmt: skip
    assert out.index.tolist()[0] == "lost"
    assert out.loc["total", "share"] == 1.0
    text = plan_summary(half.supply, scenario="half", description="half capacity")
    assert text.startswith("Scenario **half**: half capacity.")
    assert "The plan makes **315** units" in text
    # served in time: 440 - 125 of 440
    assert f"**{315 / 440:.1%}**" in text
    assert "125 units are held back (backlogged or lost) across 1 SKU(s)" in text
    assert "Total supply cost **14,330**" in text


def test_supply_cost_chart_stacks_only_what_costs(half):
    spec = supply_cost_chart(half.supply_costs).to_dict()
    rows = pd.DataFrame(spec["data"]["values"])
    assert sorted(rows["component"].unique()) == ["backlog", "lost sales", "materials",
                                                  "overtime"]  # fmt: skip
    assert rows["cost"].sum() == pytest.approx(14_330.0)
    assert "14,330" in spec["title"]["subtitle"]


def test_stock_chart_draws_only_what_there_is(half):
    base = stock_chart(replan(_inputs()).supply_plan).to_dict()
    assert base["encoding"]["color"]["scale"]["domain"] == ["end inventory",
                                                            "safety-stock target"]  # fmt: skip
    spec = stock_chart(half.supply_plan).to_dict()
    assert "backlog" in spec["encoding"]["color"]["scale"]["domain"]
    backlog = [r["units"] for r in spec["data"]["values"] if r["series"] == "backlog"]
    assert backlog == pytest.approx([25.0, 60.0, 125.0])
