"""Tests of sopkit.kpi on hand-built frames whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import SopError
from sopkit.kpi import (
    KPI_COLUMNS,
    KPI_LABELS,
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
    assert (s["first_month"], s["last_month"], s["months"]) == (
        pd.Timestamp("2025-11-01"),
        pd.Timestamp("2026-10-01"),
        12,
    )
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


def _plan(**overrides) -> dict:
    """A plan summary as sopkit.scenarios.summarise_plan gives it, over Nov 2026 - Oct 2027."""
    plan = {
        "first_month": pd.Timestamp("2026-11-01"),
        "last_month": pd.Timestamp("2027-10-01"),
        "units": 3_650.0,
        "fill_rate": 0.99,
        "service_level": 0.93,
        "revenue": 1_234_567.0,
        "margin": 370_370.1,
        "margin_pct": 30.0,
        "budget_revenue": 1_260_000.0,
        "revenue_vs_budget_pct": -2.0,
        "budget_margin": 400_000.0,
        "margin_vs_budget_pct": -7.4,
        "required_hours": 285.0,
        "available_hours": 300.0,
        "overload_hours": 5.0,
        "shortfall_hours": 0.0,
        "peak_utilisation": 1.05,
        "overloaded_resource_months": 1.0,
    }
    plan.update(overrides)
    return plan


SERVICE = {
    "otif": 0.912,
    "fill_rate": 0.97,
    "on_time": 0.95,
    "in_full": 0.93,
    "lines": 40,
    "first_month": pd.Timestamp("2025-11-01"),
    "last_month": pd.Timestamp("2026-10-01"),
    "months": 12,
}
INVENTORY = pd.DataFrame({"sku": ["A", "B"], "on_hand": [10.0, 3.0], "safety_stock": 0.0})
PRODUCTS = pd.DataFrame({"sku": ["A", "B", "C"], "unit_cost": [60.0, 4.0, 1.0]})


def _kpis(**overrides) -> pd.DataFrame:
    args = {
        "service": SERVICE,
        "forecast_wape": 0.18,
        "plan": _plan(),
        "inventory": INVENTORY,
        "products": PRODUCTS,
        "service_level_target": 0.95,
    }
    args.update(overrides)
    return headline_kpis(**args).set_index("kpi")


def test_headline_kpis_hand_worked():
    """OTIF 0.912 is 3.8 points under 0.95: watch. Fill rate 0.97: good. Accuracy 1 - 0.18.
    Revenue, margin and budget from the plan summary; -2 % vs budget: watch. Peak 1.05:
    bad; one overloaded month. Inventory 10 x 60 + 3 x 4 = 612. The plan serves 93 % of its
    SKU-months (watch) and 99 % of its units (good) in the month asked; it ships 3,650 units
    in 365 days, 10 a day, so the 13 on hand last 1.3 days."""
    k = _kpis()
    assert list(k.reset_index().columns) == KPI_COLUMNS
    assert k.index.tolist() == [
        "otif",
        "fill_rate",
        "forecast_accuracy",
        "forecast_bias",
        "planned_revenue",
        "revenue_vs_budget_pct",
        "margin_pct",
        "margin_vs_budget_pct",
        "peak_capacity_utilisation",
        "overloaded_resource_months",
        "projected_service_level",
        "projected_fill_rate",
        "inventory_value",
        "days_of_supply",
    ]
    assert set(k.index) == set(KPI_LABELS)
    assert (k.loc["otif", "value"], k.loc["otif", "status"]) == (0.912, "watch")
    assert k.loc["fill_rate", "status"] == "good"
    assert k.loc["forecast_accuracy", "value"] == pytest.approx(0.82)
    assert k.loc["forecast_accuracy", "status"] is None
    assert np.isnan(k.loc["forecast_accuracy", "target"])
    assert k.loc["planned_revenue", "value"] == 1_234_567.0
    assert k.loc["planned_revenue", "unit"] == "currency"
    assert (k.loc["revenue_vs_budget_pct", "value"], k.loc["revenue_vs_budget_pct", "status"]) == (
        -2.0,
        "watch",
    )
    assert k.loc["margin_pct", "unit"] == "percent"
    # 7.4 % under the budget's margin: beyond the 5-point watch band
    assert (k.loc["margin_vs_budget_pct", "value"], k.loc["margin_vs_budget_pct", "status"]) == (
        -7.4,
        "bad",
    )
    assert k.loc["peak_capacity_utilisation", "value"] == pytest.approx(1.05)
    assert k.loc["peak_capacity_utilisation", "status"] == "bad"
    assert k.loc["overloaded_resource_months", "value"] == 1.0
    assert k.loc["inventory_value", "value"] == 612.0
    assert (
        k.loc["projected_service_level", "value"],
        k.loc["projected_service_level", "status"],
    ) == (0.93, "watch")
    assert k.loc["projected_fill_rate", "status"] == "good"
    assert k.loc["days_of_supply", "value"] == pytest.approx(1.3)
    # forecast bias is pooled from the accuracy artifact; with a bare WAPE it is not known
    assert k.loc["forecast_bias", "description"].startswith("Not available")
    measured = k.drop(index="forecast_bias")
    assert not measured["description"].str.startswith("Not available").any()


def test_every_kpi_states_its_window_from_its_parameter():
    """The plan KPIs name the summary window they were summed over, the service KPIs the
    months before the cycle they scored, whatever those parameters are."""
    k = _kpis()
    for kpi in (
        "planned_revenue",
        "revenue_vs_budget_pct",
        "margin_pct",
        "margin_vs_budget_pct",
        "peak_capacity_utilisation",
        "overloaded_resource_months",
    ):
        assert "2026-11 to 2027-10 (the first 12 plan months)" in k.loc[kpi, "description"]
    for kpi in ("otif", "fill_rate"):
        assert "12 months before the cycle (2025-11 to 2026-10)" in k.loc[kpi, "description"]
    six = _kpis(
        plan=_plan(last_month=pd.Timestamp("2027-04-01")),
        service=service_summary(_lines(), CYCLE, months=6),
    )
    assert "2026-11 to 2027-04 (the first 6 plan months)" in six.loc["margin_pct", "description"]
    assert "6 months before the cycle (2026-05 to 2026-10)" in six.loc["otif", "description"]
    assert "12" not in six.loc["planned_revenue", "description"]
    assert "SKU x region" in k.loc["forecast_accuracy", "description"]
    sku = _kpis(forecast_level="sku").loc["forecast_accuracy", "description"]
    assert "at SKU level" in sku


def _missing(k: pd.DataFrame, kpi: str, why: str) -> None:
    row = k.loc[kpi]
    assert np.isnan(row["value"]), kpi
    assert row["status"] is None, kpi
    assert row["description"].startswith("Not available: "), kpi
    assert why in row["description"], (kpi, row["description"])


def test_service_without_order_lines_is_missing_with_the_reason():
    """No order lines in the window: OTIF and fill rate NaN, no status, and why."""
    service = service_summary(_lines().iloc[5:6], CYCLE)  # only the line due on the cycle day
    assert service["lines"] == 0
    k = _kpis(service=service)
    for kpi in ("otif", "fill_rate"):
        _missing(k, kpi, "no order lines were requested in the 12 months before the cycle")


def test_lines_that_request_no_units_leave_the_fill_rate_missing():
    zero = _lines().iloc[:1].assign(requested_qty=0.0, shipped_qty=0.0)
    k = _kpis(service=service_summary(zero, CYCLE))
    _missing(k, "fill_rate", "request no units")
    assert k.loc["otif", "value"] == 0.0  # shipped late: scored, and a failure


@pytest.mark.parametrize(
    ("plan", "kpi", "why"),
    [
        (
            _plan(budget_revenue=np.nan, revenue_vs_budget_pct=np.nan),
            "revenue_vs_budget_pct",
            "no budget is set for any family over 2026-11 to 2027-10",
        ),
        (
            _plan(budget_revenue=0.0, revenue_vs_budget_pct=np.nan),
            "revenue_vs_budget_pct",
            "the budget over 2026-11 to 2027-10 (the first 12 plan months) is 0",
        ),
        (
            _plan(revenue=0.0, margin_pct=np.nan),
            "margin_pct",
            "the plan ships nothing",
        ),
        (
            _plan(budget_margin=np.nan, margin_vs_budget_pct=np.nan),
            "margin_vs_budget_pct",
            "the budget sets no margin over 2026-11 to 2027-10",
        ),
        (
            _plan(budget_margin=-5.0, margin_vs_budget_pct=np.nan),
            "margin_vs_budget_pct",
            "is 0 or a loss",
        ),
        (
            {k: v for k, v in _plan().items() if k != "margin_vs_budget_pct"},
            "margin_vs_budget_pct",
            "made before budget margins were read",
        ),
        (
            _plan(
                available_hours=np.nan, peak_utilisation=np.nan, overloaded_resource_months=np.nan
            ),
            "peak_capacity_utilisation",
            "the capacity table has no resource-months",
        ),
        (
            _plan(
                available_hours=np.nan, peak_utilisation=np.nan, overloaded_resource_months=np.nan
            ),
            "overloaded_resource_months",
            "no resources in the data",
        ),
        (
            _plan(available_hours=0.0, peak_utilisation=np.nan, overloaded_resource_months=0.0),
            "peak_capacity_utilisation",
            "has regular hours, and none has work",
        ),
    ],
)
def test_plan_kpis_that_cannot_be_computed_are_missing_with_the_reason(plan, kpi, why):
    _missing(_kpis(plan=plan), kpi, why)


def test_the_kpis_of_no_capacity_rows_come_from_summarise_plan():
    """The whole path: an empty capacity table gives NaN figures, then missing KPIs."""
    from sopkit.supply import summarise_capacity

    plan = _plan(**summarise_capacity(_capacity([])))
    _missing(_kpis(plan=plan), "overloaded_resource_months", "no resources in the data")


def test_forecast_accuracy_and_inventory_missing_with_the_reason():
    _missing(_kpis(forecast_wape=None), "forecast_accuracy", "not measured")
    _missing(_kpis(forecast_wape=np.nan), "forecast_accuracy", "nothing was sold")
    empty = INVENTORY.iloc[:0]
    _missing(_kpis(inventory=empty), "inventory_value", "the data has no inventory rows")


@pytest.mark.parametrize(
    ("otif", "status"), [(0.95, "good"), (0.99, "good"), (0.91, "watch"), (0.89, "bad")]
)
def test_service_status_against_target(otif, status):
    """Target 0.95: good at or above, watch down to 0.90, bad below."""
    service = SERVICE | {"otif": otif, "fill_rate": 0.5}
    assert _kpis(service=service).loc["otif", "status"] == status


@pytest.mark.parametrize(
    ("variance_pct", "status"), [(0.0, "good"), (3.0, "good"), (-5.0, "watch"), (-5.1, "bad")]
)
def test_budget_status(variance_pct, status):
    k = _kpis(plan=_plan(revenue_vs_budget_pct=variance_pct))
    assert k.loc["revenue_vs_budget_pct", "status"] == status


@pytest.mark.parametrize(
    ("peak", "status"), [(0.9, "good"), (0.905, "watch"), (1.0, "watch"), (1.01, "bad")]
)
def test_utilisation_status(peak, status):
    k = _kpis(plan=_plan(peak_utilisation=peak))
    assert k.loc["peak_capacity_utilisation", "status"] == status


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"service_level_target": 95}, "fraction between 0 and 1"),
        ({"service": {"otif": 0.9}}, "service has no fill_rate, lines"),
        ({"plan": {"revenue": 1.0}}, "plan has no first_month"),
        ({"forecast_level": "region"}, "forecast_level must be one of"),
        ({"inventory": pd.DataFrame({"sku": ["Z"], "on_hand": [1.0]})}, "without a unit_cost.*Z"),
        ({"products": pd.concat([PRODUCTS, PRODUCTS])}, "products has more than one row"),
    ],
)
def test_headline_kpis_rejects_bad_input(overrides, match):
    with pytest.raises(SopError, match=match):
        _kpis(**overrides)


def test_headline_kpis_take_a_row_of_the_scenarios_artifact():
    row = pd.Series({"scenario": "baseline", **_plan()})
    k = _kpis(plan=row)
    assert k.loc["planned_revenue", "value"] == 1_234_567.0


def _capacity(required: list[float]) -> pd.DataFrame:
    """One resource with 100 regular hours a month, one month per required figure."""
    n = len(required)
    req = np.asarray(required, dtype=float)
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


def test_format_kpis_for_display():
    shown = format_kpis(_kpis().reset_index()).set_index("kpi")
    assert shown.loc["otif", "value"] == "91.2 %"
    assert shown.loc["otif", "target"] == "95.0 %"
    assert shown.loc["planned_revenue", "value"] == "1,234,567"
    assert shown.loc["revenue_vs_budget_pct", "value"] == "-2.0 %"
    assert shown.loc["forecast_accuracy", "target"] == "n/a"
    assert shown.loc["overloaded_resource_months", "value"] == "1"
    k = format_kpis(_kpis(plan=_plan(peak_utilisation=np.inf)).reset_index()).set_index("kpi")
    assert k.loc["peak_capacity_utilisation", "value"] == "no hours"
    assert k.loc["peak_capacity_utilisation", "status"] == "bad"
    missing = format_kpis(_kpis(forecast_wape=None).reset_index()).set_index("kpi")
    assert missing.loc["forecast_accuracy", "value"] == "n/a"


def test_accuracy_pooled_from_the_artifact_at_the_level_it_names():
    """headline_kpis(accuracy=...) pools the WAPE at forecast_level itself, so the card's
    figure and its description cannot name different levels; the level words cover every
    level of the artifact."""
    from sopkit.demand import ACCURACY_LEVELS, pooled_wape
    from sopkit.kpi import _ACCURACY_LEVELS

    assert set(_ACCURACY_LEVELS) == set(ACCURACY_LEVELS)
    acc = pd.DataFrame(
        {
            "level": ["sku_region", "sku_region", "total"],
            "abs_error": [2.0, 3.0, 1.0],
            "actual": [10.0, 40.0, 50.0],
        }
    )
    base = {
        "service": SERVICE,
        "plan": _plan(),
        "inventory": INVENTORY,
        "products": PRODUCTS,
        "service_level_target": 0.95,
    }
    kpis = headline_kpis(**base, accuracy=acc).set_index("kpi")
    assert kpis.loc["forecast_accuracy", "value"] == pytest.approx(1 - 5 / 50)
    assert "SKU x region" in kpis.loc["forecast_accuracy", "description"]
    total = headline_kpis(**base, accuracy=acc, forecast_level="total").set_index("kpi")
    assert total.loc["forecast_accuracy", "value"] == pytest.approx(1 - pooled_wape(acc, "total"))
    assert "all products together" in total.loc["forecast_accuracy", "description"]
    with pytest.raises(SopError, match="give forecast_wape or accuracy, not both"):
        headline_kpis(**base, accuracy=acc, forecast_wape=0.1)


def test_accuracy_card_reads_the_engine_rows_where_the_benchmark_is_beside_them():
    """The accuracy artifact holds the engine (statistical) and seasonal naive: the card
    is the engine's figure, the forecast the plan is made from."""
    acc = pd.DataFrame(
        {
            "model": ["statistical", "statistical", "seasonal_naive"],
            "level": ["sku_region"] * 3,
            "abs_error": [2.0, 3.0, 20.0],
            "actual": [10.0, 40.0, 50.0],
        }
    )
    base = {
        "service": SERVICE,
        "plan": _plan(),
        "inventory": INVENTORY,
        "products": PRODUCTS,
        "service_level_target": 0.95,
    }
    kpis = headline_kpis(**base, accuracy=acc).set_index("kpi")
    assert kpis.loc["forecast_accuracy", "value"] == pytest.approx(1 - 5 / 50)
    # seasonal naive alone (an artifact of the first release) is its own figure
    naive = headline_kpis(**base, accuracy=acc[acc["model"] == "seasonal_naive"])
    assert naive.set_index("kpi").loc["forecast_accuracy", "value"] == pytest.approx(1 - 20 / 50)


def test_forecast_bias_is_pooled_at_the_level_of_the_accuracy_card():
    """SKU x region rows forecast 12 + 38 = 50 against 10 + 40 = 50 sold: bias 0; the total
    row forecast 55 against 50: +10 %."""
    acc = pd.DataFrame(
        {"level": ["sku_region", "sku_region", "total"], "abs_error": [2.0, 2.0, 5.0],
         "actual": [10.0, 40.0, 50.0], "forecast": [12.0, 38.0, 55.0]}
    )  # fmt: skip
    base = {"service": SERVICE, "plan": _plan(), "inventory": INVENTORY, "products": PRODUCTS,
            "service_level_target": 0.95}  # fmt: skip
    k = headline_kpis(**base, accuracy=acc).set_index("kpi")
    assert k.loc["forecast_bias", "value"] == pytest.approx(0.0)
    total = headline_kpis(**base, accuracy=acc, forecast_level="total").set_index("kpi")
    assert total.loc["forecast_bias", "value"] == pytest.approx(0.1)
