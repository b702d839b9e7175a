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
    project_financials,
)

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
    fin = project_financials(_plan(), PRODUCTS, _budget())
    assert list(fin.columns) == FINANCIALS_COLUMNS
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


def test_financial_summary_compares_like_with_like():
    """Hand-worked over the first 2 months: Bikes revenue 1000, margin 320, budget 900,
    variance 0 + 100 = 100 (11.1 %); Parts 0 and no budget; Tools 0 against 80.
    Total: revenue 1000, margin 320 (32 %), budget 980, variance 100 - 80 = 20.
    Over 3 months Bikes revenue is 1300 but its variance stays 100: month 2 has no budget.
    """
    fin = project_financials(_plan(), PRODUCTS, _budget())
    two = financial_summary(fin, months=2).set_index("family")
    assert list(financial_summary(fin, months=2).columns) == SUMMARY_COLUMNS
    assert two.index.tolist() == ["Bikes", "Parts", "Tools", "Total"]
    assert (two.loc["Bikes", "revenue"], two.loc["Bikes", "budget_revenue"]) == (1000.0, 900.0)
    assert two.loc["Bikes", "variance_pct"] == pytest.approx(100 / 9)
    assert np.isnan(two.loc["Parts", "budget_revenue"])
    total = two.loc["Total"]
    assert (total["revenue"], total["margin"], total["margin_pct"]) == (1000.0, 320.0, 32.0)
    assert (total["budget_revenue"], total["variance"]) == (980.0, 20.0)
    assert total["variance_pct"] == pytest.approx(20 / 980 * 100)
    three = financial_summary(fin).set_index("family")
    assert three.loc["Bikes", "revenue"] == 1300.0
    assert three.loc["Bikes", "variance"] == 100.0
    assert three.loc["Total", "revenue"] == 1400.0
    with pytest.raises(SopError, match="months must be 1 or more"):
        financial_summary(fin, months=0)


def test_project_financials_rejects_unknown_or_unpriced_skus():
    plan = _plan()
    plan.loc[0, "sku"] = "X9"
    with pytest.raises(SopError, match=r"SKU.*products does not list: X9"):
        project_financials(plan, PRODUCTS, _budget())
    unpriced = PRODUCTS.assign(unit_cost=[60.0, np.nan, 4.0])
    with pytest.raises(SopError, match=r"no unit_price or unit_cost for SKU.*B"):
        project_financials(_plan(), unpriced, _budget())


@pytest.mark.parametrize(
    ("plan", "budget", "match"),
    [
        (_plan().drop(columns="consensus"), _budget(), "demand_plan is missing.*consensus"),
        (_plan(), _budget().drop(columns="revenue"), "budget is missing column.*revenue"),
        (_plan().iloc[:0], _budget(), "demand_plan is empty"),
        (_plan().assign(consensus=np.nan), _budget(), "without a consensus"),
        (_plan(), pd.concat([_budget(), _budget()]), "budget has more than one row"),
    ],
)
def test_project_financials_rejects_bad_tables(plan, budget, match):
    with pytest.raises(SopError, match=match):
        project_financials(plan, PRODUCTS, budget)


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
