"""Tests of sopkit.supply on hand-built frames whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import SopError
from sopkit.schemas import columns
from sopkit.supply import (
    bottlenecks,
    check_capacity,
    check_materials,
    plan_production,
    summarise_capacity,
)
from sopkit.supply._common import _shipments

M = pd.date_range("2026-11-01", periods=3, freq="MS")


def _plan(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    """A demand_plan from (sku, region, month index, consensus) tuples."""
    df = pd.DataFrame(rows, columns=["sku", "region", "m", "consensus"])
    df["month"] = M[df["m"].to_numpy(dtype=int)]
    df["statistical"] = df["consensus"]
    df["adjustment"] = 0.0
    df["adjustment_reason"] = None
    return df[["sku", "region", "month", "statistical", "adjustment", "consensus"]]


def _supply(production: dict[str, list[float]]) -> pd.DataFrame:
    """A supply_plan with only the columns the checks read, one list per SKU."""
    return pd.DataFrame(
        [
            (sku, M[i], qty)
            for sku, quantities in production.items()
            for i, qty in enumerate(quantities)
        ],
        columns=["sku", "month", "production"],
    )


def _resources(rows: list[tuple[str, object, float, float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["resource", "month", "regular_hours", "max_overtime_hours"])
    df["month"] = pd.to_datetime(df["month"])
    df["overtime_cost_per_hour"] = 30.0
    return df


# --- plan_production ---------------------------------------------------------------


def test_plan_production_nets_on_hand_and_keeps_safety_stock():
    """Hand-worked: on hand 50, safety 10, demand 30, 40, 20.

    Cumulative need = max(0, 30+10-50, 70+10-50, 90+10-50) = 0, 30, 50, so production
    is 0, 30, 20 and end inventory 50-30 = 20, 20+30-40 = 10, 10+20-20 = 10.
    """
    plan = _plan([("A", "EU", 0, 30.0), ("A", "EU", 1, 40.0), ("A", "EU", 2, 20.0)])
    inventory = pd.DataFrame({"sku": ["A"], "on_hand": [50.0], "safety_stock": [10.0]})
    out = plan_production(plan, inventory)
    assert list(out.columns) == columns("supply_plan")
    assert out["production"].tolist() == [0.0, 30.0, 20.0]
    assert out["inventory"].tolist() == [20.0, 10.0, 10.0]
    assert out["demand"].tolist() == [30.0, 40.0, 20.0]


def test_plan_production_sums_regions_fills_months_and_defaults_missing_inventory():
    """Hand-worked: B sells 5 (EU) + 3 (US) in month 0 and 4 (EU) in month 2, nothing in
    month 1; B has no inventory row, so it starts at 0 with no safety stock and makes
    exactly its demand: 8, 0, 4, ending each month at 0. A has a row without safety stock.
    """
    plan = _plan(
        [
            ("A", "EU", 0, 10.0),
            ("A", "EU", 1, 10.0),
            ("A", "EU", 2, 10.0),
            ("B", "EU", 0, 5.0),
            ("B", "US", 0, 3.0),
            ("B", "EU", 2, 4.0),
        ]
    )
    inventory = pd.DataFrame({"sku": ["A", "Z"], "on_hand": [15.0, 99.0]})
    out = plan_production(plan, inventory)
    b = out[out["sku"] == "B"]
    assert b["month"].tolist() == list(M)
    assert b["demand"].tolist() == [8.0, 0.0, 4.0]
    assert b["production"].tolist() == [8.0, 0.0, 4.0]
    assert b["inventory"].tolist() == [0.0, 0.0, 0.0]
    a = out[out["sku"] == "A"]
    # A: on hand 15 covers month 0 and half of month 1: need 0, 5, 15 -> make 0, 5, 10.
    assert a["production"].tolist() == [0.0, 5.0, 10.0]
    assert a["inventory"].tolist() == [5.0, 0.0, 0.0]
    assert set(out["sku"]) == {"A", "B"}  # Z has stock but no plan: not planned


def test_plan_production_never_unmakes_stock_when_demand_is_negative():
    """Hand-worked: returns of 4 in month 1. Cumulative demand 10, 6, 12; without the
    cumulative maximum production would be 10, -4, 6. With it: 10, 0, 2, and the
    returned units sit in stock and serve month 2: inventory 0, 4, 4+2-6 = 0.
    """
    plan = _plan([("A", "EU", 0, 10.0), ("A", "EU", 1, -4.0), ("A", "EU", 2, 6.0)])
    out = plan_production(plan, pd.DataFrame({"sku": [], "on_hand": []}))
    assert out["production"].tolist() == [10.0, 0.0, 2.0]
    assert out["inventory"].tolist() == [0.0, 4.0, 0.0]


def test_plan_production_ships_the_demand():
    """Lot for lot never leaves demand unmet: shipments equal demand, month by month."""
    plan = _plan([("A", "EU", 0, 30.0), ("A", "US", 1, 40.0), ("B", "EU", 2, 5.0)])
    out = plan_production(plan, pd.DataFrame({"sku": ["A"], "on_hand": [10.0]}))
    assert out["shipments"].tolist() == out["demand"].tolist()


def test_shipments_follow_the_backlog():
    """Hand-worked, as the optimiser will fill it: A's demand 10, 10, 10 with backlog
    4, 1, 0 ships 10 - 4 = 6, 10 + 4 - 1 = 13, 10 + 1 - 0 = 11; B's backlog does not
    carry into A's months (B: demand 5, 0, 0, backlog 5, 2, 0 -> 0, 3, 2)."""
    plan = pd.DataFrame(
        {
            "sku": ["A"] * 3 + ["B"] * 3,
            "demand": [10.0, 10.0, 10.0, 5.0, 0.0, 0.0],
            "backlog": [4.0, 1.0, 0.0, 5.0, 2.0, 0.0],
        }
    )
    assert _shipments(plan).tolist() == [6.0, 13.0, 11.0, 0.0, 3.0, 2.0]


def test_plan_production_leaves_optimiser_columns_at_zero():
    plan = _plan([("A", "EU", 0, 10.0), ("B", "EU", 1, 10.0)])
    out = plan_production(plan, pd.DataFrame({"sku": ["A"], "on_hand": [0.0]}))
    assert len(out) == 4  # 2 SKUs x 2 plan months
    for col in ("overtime_hours", "subcontract", "backlog"):
        assert (out[col] == 0.0).all()
    assert out["month"].dtype == "datetime64[ns]"


@pytest.mark.parametrize(
    ("plan", "inventory", "match"),
    [
        (
            pd.DataFrame({"sku": ["A"], "month": [M[0]]}),
            pd.DataFrame({"sku": ["A"], "on_hand": [1.0]}),
            "demand_plan is missing column.*consensus",
        ),
        (
            _plan([("A", "EU", 0, 1.0)]),
            pd.DataFrame({"sku": ["A"]}),
            "inventory is missing column.*on_hand",
        ),
        (
            _plan([]),
            pd.DataFrame({"sku": ["A"], "on_hand": [1.0]}),
            "demand_plan is empty",
        ),
        (
            _plan([("A", "EU", 0, np.nan)]),
            pd.DataFrame({"sku": ["A"], "on_hand": [1.0]}),
            "1 row.*without a consensus.*A 2026-11",
        ),
        (
            _plan([("A", "EU", 0, 1.0)]),
            pd.DataFrame({"sku": ["A", "A"], "on_hand": [1.0, 2.0]}),
            "inventory has more than one row for sku: A",
        ),
    ],
)
def test_plan_production_rejects_bad_input(plan, inventory, match):
    with pytest.raises(SopError, match=match):
        plan_production(plan, inventory)


# --- check_capacity ----------------------------------------------------------------


def test_capacity_used_equals_the_hours_of_the_plan():
    """Capacity used equals the hours of the plan: every produced unit's hours land on
    exactly one resource-month. Hours are binary fractions so the sums are exact.
    """
    supply = _supply({"A": [10.0, 0.0, 7.0], "B": [3.0, 5.0, 1.0], "C": [2.0, 2.0, 2.0]})
    routings = pd.DataFrame(
        {
            "sku": ["A", "A", "B", "C"],
            "resource": ["R1", "R2", "R1", "R2"],
            "hours_per_unit": [0.5, 0.25, 2.0, 1.5],
        }
    )
    resources = _resources([("R1", None, 20.0, 5.0), ("R2", None, 10.0, 0.0)])
    cap = check_capacity(supply, routings, resources)
    hours = supply.merge(routings, on="sku")
    assert cap["required_hours"].sum() == (hours["production"] * hours["hours_per_unit"]).sum()
    # By hand, R1 month 0: A 10 x 0.5 + B 3 x 2 = 11; R2 month 2: A 7 x 0.25 + C 2 x 1.5 = 4.75.
    req = cap.set_index(["resource", "month"])["required_hours"]
    assert req[("R1", M[0])] == 11.0
    assert req[("R2", M[2])] == 4.75
    assert list(cap.columns) == columns("capacity")
    assert cap["shadow_price"].isna().all()


@pytest.mark.parametrize(
    ("required", "utilisation", "overload", "shortfall", "status"),
    [
        (50.0, 0.5, 0.0, 0.0, "ok"),
        (85.0, 0.85, 0.0, 0.0, "ok"),
        (90.0, 0.9, 0.0, 0.0, "tight"),
        (100.0, 1.0, 0.0, 0.0, "tight"),
        (110.0, 1.1, 10.0, 0.0, "overtime"),
        (120.0, 1.2, 20.0, 0.0, "overtime"),
        (130.0, 1.3, 30.0, 10.0, "short"),
    ],
)
def test_capacity_utilisation_and_status(required, utilisation, overload, shortfall, status):
    """Hand-worked: 100 regular hours and 20 overtime hours; 1 hour per unit."""
    cap = check_capacity(
        _supply({"A": [required]}),
        pd.DataFrame({"sku": ["A"], "resource": ["R1"], "hours_per_unit": [1.0]}),
        _resources([("R1", None, 100.0, 20.0)]),
    )
    row = cap.iloc[0]
    assert row["utilisation"] == pytest.approx(utilisation)
    assert row["overload_hours"] == pytest.approx(overload)
    assert row["shortfall_hours"] == pytest.approx(shortfall)
    assert row["status"] == status


def test_capacity_month_row_overrides_the_general_row_and_every_resource_appears():
    """R1 has 100 + 20 hours in general, but in month 1 a row gives 200 + 0 (the whole
    row applies). R2 gets no work: it still appears, with 0 required and status ok.
    R3 has hours only in month 0, so months 1 and 2 have none and its work there is short.
    """
    supply = _supply({"A": [150.0, 150.0, 150.0], "B": [0.0, 4.0, 0.0]})
    routings = pd.DataFrame(
        {"sku": ["A", "B"], "resource": ["R1", "R3"], "hours_per_unit": [1.0, 1.0]}
    )
    resources = _resources(
        [
            ("R1", None, 100.0, 20.0),
            ("R1", "2026-12-01", 200.0, 0.0),
            ("R2", None, 50.0, 0.0),
            ("R3", "2026-11-01", 8.0, 0.0),
        ]
    )
    cap = check_capacity(supply, routings, resources).set_index(["resource", "month"])
    assert len(cap) == 9  # 3 resources x 3 plan months
    assert cap.loc[("R1", M[0]), "available_hours"] == 100.0
    assert cap.loc[("R1", M[0]), "status"] == "short"  # 150 > 100 + 20
    assert cap.loc[("R1", M[1]), "available_hours"] == 200.0
    assert cap.loc[("R1", M[1]), "max_overtime_hours"] == 0.0
    assert cap.loc[("R1", M[1]), "utilisation"] == 0.75
    assert cap.loc[("R1", M[1]), "status"] == "ok"
    assert cap.loc[("R1", M[2]), "available_hours"] == 100.0
    assert (cap.loc["R2", "required_hours"] == 0.0).all()
    assert (cap.loc["R2", "status"] == "ok").all()
    r3 = cap.loc[("R3", M[1])]
    assert r3["available_hours"] == 0.0
    assert np.isnan(r3["utilisation"])
    assert r3["shortfall_hours"] == 4.0
    assert r3["status"] == "short"
    assert cap.loc[("R3", M[2]), "status"] == "ok"  # no hours, but no work either


def test_capacity_rejects_unknown_resource_and_duplicated_month():
    supply = _supply({"A": [1.0]})
    routings = pd.DataFrame({"sku": ["A"], "resource": ["Oven"], "hours_per_unit": [1.0]})
    with pytest.raises(SopError, match=r"resource\(s\) Oven .* \(it has: R1\)"):
        check_capacity(supply, routings, _resources([("R1", None, 1.0, 0.0)]))
    routings["resource"] = "R1"
    doubled = _resources([("R1", "2026-11-01", 1.0, 0.0), ("R1", "2026-11-01", 2.0, 0.0)])
    with pytest.raises(SopError, match="resources has more than one row for resource x month"):
        check_capacity(supply, routings, doubled)
    with pytest.raises(SopError, match="supply_plan is empty"):
        check_capacity(supply.iloc[:0], routings, _resources([("R1", None, 1.0, 0.0)]))


# --- check_materials ---------------------------------------------------------------


def test_check_materials_hand_worked():
    """M1: 2 per A; suppliers give 100 a month, but only 10 in month 2, at a higher cost.
    A makes 10, 30, 20 -> needs 20, 60, 40 -> shortfall 0, 0, 30.
    M2: 1 per A and per B, no supply row -> unlimited, never short.
    M3 is in material_supply but no BOM uses it: not reported.
    """
    supply = _supply({"A": [10.0, 30.0, 20.0], "B": [1.0, 1.0, 1.0]})
    bom = pd.DataFrame(
        {"sku": ["A", "A", "B"], "material": ["M1", "M2", "M2"], "qty_per_unit": [2.0, 1.0, 1.0]}
    )
    material_supply = pd.DataFrame(
        {
            "material": ["M1", "M1", "M3"],
            "month": pd.to_datetime([None, "2027-01-01", None]),
            "max_qty": [100.0, 10.0, 5.0],
            "unit_cost": [1.5, 2.5, 9.0],
        }
    )
    out = check_materials(supply, bom, material_supply)
    assert list(out.columns) == columns("materials")
    m1 = out[out["material"] == "M1"]
    assert m1["required"].tolist() == [20.0, 60.0, 40.0]
    assert m1["available"].tolist() == [100.0, 100.0, 10.0]
    assert m1["shortfall"].tolist() == [0.0, 0.0, 30.0]
    assert m1["unit_cost"].tolist() == [1.5, 1.5, 2.5]
    m2 = out[out["material"] == "M2"]
    assert m2["required"].tolist() == [11.0, 31.0, 21.0]
    assert m2["available"].isna().all()
    assert (m2["shortfall"] == 0.0).all()
    assert set(out["material"]) == {"M1", "M2"}


# --- bottlenecks and summarise_capacity --------------------------------------------


def _capacity_rows() -> pd.DataFrame:
    """Five resource-months; by hand: A/m0 150 %, B/m0 120 %, C/m1 work on 0 hours,
    A/m1 100 % (not overloaded), B/m1 50 %."""
    return pd.DataFrame(
        {
            "resource": ["A", "B", "C", "A", "B"],
            "month": [M[0], M[0], M[1], M[1], M[1]],
            "available_hours": [100.0, 100.0, 0.0, 100.0, 100.0],
            "max_overtime_hours": [0.0, 30.0, 0.0, 0.0, 0.0],
            "required_hours": [150.0, 120.0, 5.0, 100.0, 50.0],
            "utilisation": [1.5, 1.2, np.nan, 1.0, 0.5],
            "overload_hours": [50.0, 20.0, 5.0, 0.0, 0.0],
            "shortfall_hours": [50.0, 0.0, 5.0, 0.0, 0.0],
            "status": ["short", "overtime", "short", "tight", "ok"],
            "shadow_price": np.nan,
        }
    )


def test_bottlenecks_ranks_overloads_worst_first():
    out = bottlenecks(_capacity_rows())
    assert out["resource"].tolist() == ["C", "A", "B"]  # no hours at all ranks first
    assert bottlenecks(_capacity_rows(), top=2)["resource"].tolist() == ["C", "A"]
    assert bottlenecks(_capacity_rows().iloc[3:]).empty
    with pytest.raises(SopError, match="top must be 0 or more"):
        bottlenecks(_capacity_rows(), top=-1)


def test_summarise_capacity_hand_worked():
    summary = summarise_capacity(_capacity_rows())
    assert summary["required_hours"] == 425.0
    assert summary["available_hours"] == 400.0
    assert summary["overload_hours"] == 75.0
    assert summary["shortfall_hours"] == 55.0
    assert summary["overloaded_resource_months"] == 3
    assert summary["peak_utilisation"] == np.inf  # C has work and no hours
    assert summarise_capacity(_capacity_rows().drop(index=2))["peak_utilisation"] == 1.5


def test_summarise_capacity_without_rows_or_hours_is_missing_not_fine():
    """No resource-months: every figure NaN (unchecked is not 0 overloads). Resource-months
    without hours and without work: no utilisation to judge, so the peak is NaN."""
    empty = summarise_capacity(_capacity_rows().iloc[:0])
    assert all(np.isnan(v) for v in empty.values())
    idle = _capacity_rows().iloc[[2]].assign(required_hours=0.0, overload_hours=0.0)
    summary = summarise_capacity(idle.assign(shortfall_hours=0.0))
    assert np.isnan(summary["peak_utilisation"])
    assert summary["overloaded_resource_months"] == 0
