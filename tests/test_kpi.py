"""Tests of sopkit.kpi on hand-built frames whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import SopError
from sopkit.kpi import (
    KPI_COLUMNS,
    SERVICE_COLUMNS,
    format_kpis,
    headline_kpis,
    service_levels,
    service_summary,
)

CYCLE = pd.Timestamp("2026-11-01")


def _lines() -> pd.DataFrame:
    """Five lines due in October 2026, one of each kind, plus two that must not count:

    L1 late (2 days), in full     req 10, shipped 10   -> on time no,  in full yes
    L2 on time, short             req 20, shipped 15   -> on time yes, in full no
    L3 late and short             req 8,  shipped 4    -> no, no
    L4 not shipped, past due      req 5                -> no, no (0 shipped)
    L5 on time, over-shipped      req 7,  shipped 9    -> yes, yes (fills only 7)
    L6 due on the cycle day       not scored yet
    L7 due in October 2025        before the 12-month window
    """
    d = pd.to_datetime
    return pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4", "O5", "O6", "O7"],
            "sku": "A",
            "region": "EU",
            "customer": "C1",
            "order_date": d(["2026-09-01"] * 6 + ["2025-09-01"]),
            "requested_date": d(
                [
                    "2026-10-05",
                    "2026-10-10",
                    "2026-10-12",
                    "2026-10-20",
                    "2026-10-31",
                    "2026-11-01",
                    "2025-10-15",
                ]
            ),
            "requested_qty": [10.0, 20.0, 8.0, 5.0, 7.0, 3.0, 4.0],
            "shipped_date": d(
                [
                    "2026-10-07",
                    "2026-10-10",
                    "2026-10-20",
                    None,
                    "2026-10-30",
                    None,
                    "2025-10-15",
                ]
            ),
            "shipped_qty": [10.0, 15.0, 4.0, np.nan, 9.0, np.nan, 4.0],
        }
    )


def test_service_summary_hand_worked():
    """OTIF 1/5 (only L5); on time 2/5 (L2, L5); in full 2/5 (L1, L5); fill rate
    (10 + 15 + 4 + 0 + 7) / (10 + 20 + 8 + 5 + 7) = 36 / 50 = 0.72."""
    s = service_summary(_lines(), CYCLE)
    assert s["lines"] == 5
    assert s["otif"] == pytest.approx(1 / 5)
    assert s["on_time"] == pytest.approx(2 / 5)
    assert s["in_full"] == pytest.approx(2 / 5)
    assert s["fill_rate"] == pytest.approx(0.72)


def test_service_levels_per_month_and_window():
    """12 months Nov 2025 - Oct 2026; only October has lines. With a 13-month window the
    October 2025 line (shipped on time, in full) counts in its own month."""
    out = service_levels(_lines(), CYCLE)
    assert list(out.columns) == SERVICE_COLUMNS
    assert out["month"].tolist() == list(pd.date_range("2025-11-01", periods=12, freq="MS"))
    october = out.iloc[-1]
    assert october["lines"] == 5
    assert october["otif"] == pytest.approx(0.2)
    assert october["fill_rate"] == pytest.approx(0.72)
    assert (out["lines"].iloc[:-1] == 0).all()
    assert out["otif"].iloc[:-1].isna().all()
    longer = service_levels(_lines(), "2026-11", months=13)
    assert longer.iloc[0]["month"] == pd.Timestamp("2025-10-01")
    assert (longer.iloc[0]["lines"], longer.iloc[0]["otif"]) == (1, 1.0)


def test_service_rejects_bad_input():
    with pytest.raises(SopError, match=r"order_lines is missing column.*shipped_qty"):
        service_summary(_lines().drop(columns="shipped_qty"), CYCLE)
    with pytest.raises(SopError, match="months must be 1 or more"):
        service_levels(_lines(), CYCLE, months=0)
    with pytest.raises(SopError, match=r"cycle must be a first-of-month date.*'next month'"):
        service_summary(_lines(), "next month")
    with pytest.raises(SopError, match=r"cycle must be a first-of-month.*not the first day"):
        service_levels(_lines(), pd.Timestamp("2026-11-15"))


def _summary(variance_pct: float = -2.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "family": ["Bikes", "Total"],
            "revenue": [1_000_000.0, 1_234_567.0],
            "margin": [300_000.0, 370_370.1],
            "margin_pct": [30.0, 30.0],
            "budget_revenue": [1_000_000.0, 1_260_000.0],
            "variance": [0.0, -25_433.0],
            "variance_pct": [0.0, variance_pct],
        }
    )


def _capacity(required: list[float]) -> pd.DataFrame:
    """One resource with 100 regular hours a month, one month per required figure."""
    n = len(required)
    req = np.asarray(required)
    return pd.DataFrame(
        {
            "resource": "Press",
            "month": pd.date_range("2026-11-01", periods=n, freq="MS"),
            "available_hours": 100.0,
            "max_overtime_hours": 10.0,
            "required_hours": req,
            "utilisation": req / 100.0,
            "overload_hours": np.clip(req - 100.0, 0, None),
            "shortfall_hours": np.clip(req - 110.0, 0, None),
            "status": "ok",
            "shadow_price": np.nan,
        }
    )


INVENTORY = pd.DataFrame({"sku": ["A", "B"], "on_hand": [10.0, 3.0], "safety_stock": 0.0})
PRODUCTS = pd.DataFrame({"sku": ["A", "B", "C"], "unit_cost": [60.0, 4.0, 1.0]})


def _kpis(**overrides) -> pd.DataFrame:
    args = {
        "service": {"otif": 0.912, "fill_rate": 0.97, "on_time": 0.95, "in_full": 0.93},
        "forecast_wape": 0.18,
        "financial_summary": _summary(),
        "capacity": _capacity([80.0, 105.0, 95.0]),
        "inventory": INVENTORY,
        "products": PRODUCTS,
        "service_level_target": 0.95,
    }
    args.update(overrides)
    return headline_kpis(**args).set_index("kpi")


def test_headline_kpis_hand_worked():
    """OTIF 0.912 is 3.8 points under 0.95: watch. Fill rate 0.97: good. Accuracy 1 - 0.18.
    Revenue from the Total row; -2 % vs budget: watch. Peak 105/100 = 1.05: bad; one
    overloaded month. Inventory 10 x 60 + 3 x 4 = 612."""
    k = _kpis()
    assert list(k.reset_index().columns) == KPI_COLUMNS
    assert k.index.tolist() == [
        "otif",
        "fill_rate",
        "forecast_accuracy",
        "revenue_12m",
        "revenue_vs_budget_pct",
        "margin_pct",
        "peak_capacity_utilisation",
        "overloaded_resource_months",
        "inventory_value",
    ]
    assert (k.loc["otif", "value"], k.loc["otif", "status"]) == (0.912, "watch")
    assert k.loc["fill_rate", "status"] == "good"
    assert k.loc["forecast_accuracy", "value"] == pytest.approx(0.82)
    assert k.loc["forecast_accuracy", "status"] is None
    assert np.isnan(k.loc["forecast_accuracy", "target"])
    assert k.loc["revenue_12m", "value"] == 1_234_567.0
    assert k.loc["revenue_12m", "unit"] == "currency"
    assert (k.loc["revenue_vs_budget_pct", "value"], k.loc["revenue_vs_budget_pct", "status"]) == (
        -2.0,
        "watch",
    )
    assert k.loc["margin_pct", "unit"] == "percent"
    assert k.loc["peak_capacity_utilisation", "value"] == pytest.approx(1.05)
    assert k.loc["peak_capacity_utilisation", "status"] == "bad"
    assert k.loc["overloaded_resource_months", "value"] == 1.0
    assert k.loc["inventory_value", "value"] == 612.0
    assert np.isnan(_kpis(forecast_wape=None).loc["forecast_accuracy", "value"])


@pytest.mark.parametrize(
    ("otif", "status"), [(0.95, "good"), (0.99, "good"), (0.91, "watch"), (0.89, "bad")]
)
def test_service_status_against_target(otif, status):
    """Target 0.95: good at or above, watch down to 0.90, bad below."""
    service = {"otif": otif, "fill_rate": 0.5}
    assert _kpis(service=service).loc["otif", "status"] == status


@pytest.mark.parametrize(
    ("variance_pct", "status"), [(0.0, "good"), (3.0, "good"), (-5.0, "watch"), (-5.1, "bad")]
)
def test_budget_status(variance_pct, status):
    k = _kpis(financial_summary=_summary(variance_pct))
    assert k.loc["revenue_vs_budget_pct", "status"] == status


@pytest.mark.parametrize(
    ("required", "status"), [(90.0, "good"), (90.5, "watch"), (100.0, "watch"), (101.0, "bad")]
)
def test_utilisation_status(required, status):
    k = _kpis(capacity=_capacity([10.0, required]))
    assert k.loc["peak_capacity_utilisation", "status"] == status


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"service_level_target": 95}, "fraction between 0 and 1"),
        ({"service": {"otif": 0.9}}, "service has no fill_rate"),
        ({"financial_summary": _summary().iloc[:1]}, "no 'Total' row"),
        ({"inventory": pd.DataFrame({"sku": ["Z"], "on_hand": [1.0]})}, "without a unit_cost.*Z"),
    ],
)
def test_headline_kpis_rejects_bad_input(overrides, match):
    with pytest.raises(SopError, match=match):
        _kpis(**overrides)


def test_format_kpis_for_display():
    shown = format_kpis(_kpis().reset_index()).set_index("kpi")
    assert shown.loc["otif", "value"] == "91.2 %"
    assert shown.loc["otif", "target"] == "95.0 %"
    assert shown.loc["revenue_12m", "value"] == "1,234,567"
    assert shown.loc["revenue_vs_budget_pct", "value"] == "-2.0 %"
    assert shown.loc["forecast_accuracy", "target"] == "n/a"
    assert shown.loc["overloaded_resource_months", "value"] == "1"
    no_hours = _capacity([5.0]).assign(available_hours=0.0, utilisation=np.nan)
    k = format_kpis(_kpis(capacity=no_hours).reset_index()).set_index("kpi")
    assert k.loc["peak_capacity_utilisation", "value"] == "no hours"
    assert k.loc["peak_capacity_utilisation", "status"] == "bad"
