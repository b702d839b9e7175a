"""Tests of sopkit.finance on hand-built frames whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import SopError
from sopkit.finance import (
    ACTUALS_COLUMNS,
    FINANCIALS_COLUMNS,
    SUMMARY_COLUMNS,
    actuals_vs_budget,
    financial_summary,
    financial_totals,
    project_financials,
    summary_window,
)
from sopkit.schemas import ARTIFACTS
from sopkit.supply import plan_production

M = pd.date_range("2026-11-01", periods=3, freq="MS")

PRODUCTS = pd.DataFrame(
    {
        "sku": ["A", "B", "C"],
        "family": ["Bikes", "Bikes", "Parts"],
        "unit_price": [100.0, 50.0, 10.0],
        "unit_cost": [60.0, 40.0, 4.0],
    }
)


def _plan() -> pd.DataFrame:
    """A sells 2 (EU) + 1 (US) a month; B 4 a month in month 0 and 1; C 10 in month 2."""
    rows = [("A", r, m, q) for m in range(3) for r, q in (("EU", 2.0), ("US", 1.0))]
    rows += [("B", "EU", 0, 4.0), ("B", "EU", 1, 4.0), ("C", "EU", 2, 10.0)]
    df = pd.DataFrame(rows, columns=["sku", "region", "m", "consensus"])
    df["month"] = M[df["m"].to_numpy(dtype=int)]
    df["statistical"] = df["consensus"]
    df["adjustment"] = 0.0
    df["adjustment_reason"] = None
    return df.drop(columns="m")


def _supply() -> pd.DataFrame:
    """The supply plan of :func:`_plan` without stock: it ships the demand."""
    return plan_production(_plan(), pd.DataFrame({"sku": [], "on_hand": []}))


def _budget() -> pd.DataFrame:
    """Bikes budgeted in months 0 and 1 only; Tools (no SKU in the plan) in month 0."""
    return pd.DataFrame(
        {
            "family": ["Bikes", "Bikes", "Tools", "Bikes"],
            "month": [M[0], M[1], M[0], pd.Timestamp("2026-10-01")],
            "revenue": [500.0, 400.0, 80.0, 999.0],
        }
    )


def test_project_financials_hand_worked():
    """Hand-worked, month 0: Bikes = A 3 x 100 + B 4 x 50 = 500 revenue, cost 3 x 60 +
    4 x 40 = 340, margin 160 (32 %), budget 500, variance 0. Month 1: same plan against a
    budget of 400: variance +100 (+25 %). Month 2: A only, 300 revenue, no budget.
    Parts month 2: 10 x 10 = 100, margin 60 (60 %); months 0-1 zero, margin_pct NaN.
    Tools has a budget but no plan: revenue 0 against 80 in month 0, -100 %.
    """
    fin = project_financials(_supply(), PRODUCTS, _budget())
    assert list(fin.columns) == FINANCIALS_COLUMNS
    assert not ARTIFACTS["financials"].problems(fin)
    assert len(fin) == 9  # Bikes, Parts, Tools x 3 plan months
    f = fin.set_index(["family", "month"])
    bikes0 = f.loc[("Bikes", M[0])]
    assert (bikes0["units"], bikes0["revenue"], bikes0["cost"]) == (7.0, 500.0, 340.0)
    assert (bikes0["margin"], bikes0["margin_pct"]) == (160.0, 32.0)
    assert (bikes0["budget_revenue"], bikes0["variance"], bikes0["variance_pct"]) == (
        500.0,
        0.0,
        0.0,
    )
    assert f.loc[("Bikes", M[1]), "variance"] == 100.0
    assert f.loc[("Bikes", M[1]), "variance_pct"] == 25.0
    assert f.loc[("Bikes", M[2]), "revenue"] == 300.0
    assert np.isnan(f.loc[("Bikes", M[2]), "budget_revenue"])
    assert np.isnan(f.loc[("Bikes", M[2]), "variance"])
    assert f.loc[("Parts", M[2]), "margin_pct"] == 60.0
    assert np.isnan(f.loc[("Parts", M[0]), "margin_pct"])
    assert f.loc[("Tools", M[0]), "revenue"] == 0.0
    assert f.loc[("Tools", M[0]), "variance_pct"] == -100.0


def test_revenue_follows_shipments_not_demand():
    """A hand-built supply plan with backlog: A's demand is 10 a month, but the plan
    makes only 6 in month 0 (backlog 4), catches up in month 1 (ships 10 + 4 = 14) and
    ships 10 in month 2. Revenue at 100 a unit: 600, 1,400, 1,000, not 1,000 a month;
    the three months still sum to the 3,000 of demand, one month later.
    """
    supply = pd.DataFrame(
        {
            "sku": "A",
            "month": M,
            "demand": [10.0, 10.0, 10.0],
            "shipments": [6.0, 14.0, 10.0],
            "production": [6.0, 14.0, 10.0],
            "overtime_hours": 0.0,
            "subcontract": 0.0,
            "inventory": 0.0,
            "backlog": [4.0, 0.0, 0.0],
        }
    )
    fin = project_financials(supply, PRODUCTS, _budget()).set_index(["family", "month"])
    bikes = fin.loc["Bikes"]
    assert bikes["units"].tolist() == [6.0, 14.0, 10.0]
    assert bikes["revenue"].tolist() == [600.0, 1400.0, 1000.0]
    assert bikes["cost"].tolist() == [360.0, 840.0, 600.0]
    assert bikes["variance"].tolist()[:2] == [100.0, 1000.0]  # against 500 and 400


def test_summary_window_is_the_first_plan_months():
    months = pd.Series(list(M) * 2)
    assert summary_window(months, 2).tolist() == list(M[:2])
    assert summary_window(months, 12).tolist() == list(M)
    assert summary_window(months.iloc[:0], 12).empty
    with pytest.raises(SopError, match="months must be 1 or more"):
        summary_window(months, 0)


def test_financial_summary_compares_like_with_like():
    """Hand-worked over the first 2 months: Bikes revenue 1000, margin 320, budget 900,
    variance 0 + 100 = 100 (11.1 %); Parts 0 and no budget; Tools 0 against 80.
    Total: revenue 1000, margin 320 (32 %), budget 980, variance 100 - 80 = 20.
    Over 3 months Bikes revenue is 1300 but its variance stays 100: month 2 has no budget.
    """
    fin = project_financials(_supply(), PRODUCTS, _budget())
    summary = financial_summary(fin, months=2)
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert summary["level"].tolist() == ["family"] * 3 + ["total"]
    two = summary[summary["level"] == "family"].set_index("family")
    assert two.index.tolist() == ["Bikes", "Parts", "Tools"]
    assert (two.loc["Bikes", "revenue"], two.loc["Bikes", "budget_revenue"]) == (1000.0, 900.0)
    assert two.loc["Bikes", "variance_pct"] == pytest.approx(100 / 9)
    assert np.isnan(two.loc["Parts", "budget_revenue"])
    total = summary[summary["level"] == "total"].iloc[0]
    assert total["family"] is None
    assert (total["revenue"], total["margin"], total["margin_pct"]) == (1000.0, 320.0, 32.0)
    assert (total["budget_revenue"], total["variance"]) == (980.0, 20.0)
    assert total["variance_pct"] == pytest.approx(20 / 980 * 100)
    three = financial_summary(fin)
    per_family = three[three["level"] == "family"].set_index("family")
    assert per_family.loc["Bikes", "revenue"] == 1300.0
    assert per_family.loc["Bikes", "variance"] == 100.0
    assert three.loc[three["level"] == "total", "revenue"].item() == 1400.0
    with pytest.raises(SopError, match="months must be 1 or more"):
        financial_summary(fin, months=0)


def test_financial_totals_are_the_summary_total_row():
    fin = project_financials(_supply(), PRODUCTS, _budget())
    totals = financial_totals(fin, months=2)
    assert (totals["first_month"], totals["last_month"], totals["months"]) == (M[0], M[1], 2)
    assert totals["units"] == 3 + 4 + 3 + 4
    row = financial_summary(fin, months=2).iloc[-1]
    for key in SUMMARY_COLUMNS[2:]:
        assert totals[key] == pytest.approx(row[key]), key


def test_a_family_called_total_is_a_family_like_any_other():
    """A real family named "Total" keeps its own row; the all-families row is found by
    its level, so the total (and every KPI read from it) does not change."""
    products = PRODUCTS.assign(family=["Bikes", "Bikes", "Total"])
    fin = project_financials(_supply(), products, _budget())
    summary = financial_summary(fin, months=2)
    families = summary[summary["level"] == "family"]
    assert families["family"].tolist() == ["Bikes", "Tools", "Total"]
    assert families.set_index("family").loc["Total", "revenue"] == 0.0  # C sells in month 2
    total = summary[summary["level"] == "total"]
    assert len(total) == 1
    assert total["revenue"].item() == 1000.0
    assert financial_totals(fin, months=2)["revenue"] == 1000.0


def test_no_budget_in_the_window_is_missing_not_zero():
    fin = project_financials(_supply(), PRODUCTS, _budget().iloc[:0])
    totals = financial_totals(fin)
    assert np.isnan(totals["budget_revenue"])
    assert np.isnan(totals["variance_pct"])
    assert totals["revenue"] == 1400.0


def test_project_financials_rejects_unknown_or_unpriced_skus():
    supply = _supply()
    supply.loc[0, "sku"] = "X9"
    with pytest.raises(SopError, match=r"supply_plan has SKU.*products does not list: X9"):
        project_financials(supply, PRODUCTS, _budget())
    unpriced = PRODUCTS.assign(unit_cost=[60.0, np.nan, 4.0])
    with pytest.raises(SopError, match=r"no unit_price or unit_cost for SKU.*B"):
        project_financials(_supply(), unpriced, _budget())


@pytest.mark.parametrize(
    ("supply", "budget", "match"),
    [
        (_supply().drop(columns="shipments"), _budget(), "supply_plan is missing.*shipments"),
        (_supply(), _budget().drop(columns="revenue"), "budget is missing column.*revenue"),
        (_supply().iloc[:0], _budget(), "supply_plan is empty"),
        (_supply().assign(shipments=np.nan), _budget(), "without shipments"),
        (_supply(), pd.concat([_budget(), _budget()]), "budget has more than one row"),
    ],
)
def test_project_financials_rejects_bad_tables(supply, budget, match):
    with pytest.raises(SopError, match=match):
        project_financials(supply, PRODUCTS, budget)


def test_actuals_vs_budget_year_to_date():
    """History covers Sep-Oct 2026; the budget covers Sep-Dec. Only Sep and Oct count.
    Sep: Bikes A 2 x 100 + B 2 x 50 = 300 vs 280 (+20); Oct: A 1 x 100 = 100 vs 150 (-50).
    Parts sold C 5 x 10 = 50 in Sep without any budget: budget NaN.
    """
    history = pd.DataFrame(
        {
            "sku": ["A", "B", "A", "C"],
            "region": ["EU", "EU", "US", "EU"],
            "month": pd.to_datetime(["2026-09-01", "2026-09-01", "2026-10-01", "2026-09-01"]),
            "qty": [2.0, 2.0, 1.0, 5.0],
        }
    )
    budget = pd.DataFrame(
        {
            "family": ["Bikes"] * 4,
            "month": pd.date_range("2026-09-01", periods=4, freq="MS"),
            "revenue": [280.0, 150.0, 500.0, 500.0],
        }
    )
    out = actuals_vs_budget(history, PRODUCTS, budget)
    assert list(out.columns) == ACTUALS_COLUMNS
    bikes = out[out["family"] == "Bikes"]
    assert bikes["month"].tolist() == list(pd.to_datetime(["2026-09-01", "2026-10-01"]))
    assert bikes["revenue"].tolist() == [300.0, 100.0]
    assert bikes["variance"].tolist() == [20.0, -50.0]
    parts = out[out["family"] == "Parts"]
    assert parts["revenue"].tolist() == [50.0, 0.0]
    assert parts["budget_revenue"].isna().all()
    assert actuals_vs_budget(history.iloc[:0], PRODUCTS, budget).empty
