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
    pnl_summary,
    project_financials,
    summary_window,
    supply_gaps,
    variance_causes,
    variance_summary,
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


def test_margin_against_a_budgeted_margin_hand_worked():
    """The budget sets margins: Bikes 150 in month 0, 200 in month 1; Tools 20 in month 0.
    Bikes earns 160 a month (500 - 340): +10, then -40. Tools earns nothing: -20. Over
    the first two months Bikes is 320 against 350, -30 (-8.57 %); all families 320
    against 370, -50 (-13.5 %); Parts has no budget and Bikes' month 2 no margin row, so
    neither counts. Without a margin column every budget margin is missing, not 0."""
    budget = _budget().assign(margin=[150.0, 200.0, 20.0, 300.0])
    fin = project_financials(_supply(), PRODUCTS, budget)
    assert not ARTIFACTS["financials"].problems(fin)
    f = fin.set_index(["family", "month"])
    assert f.loc["Bikes", "margin_variance"].tolist()[:2] == [10.0, -40.0]
    assert np.isnan(f.loc[("Bikes", M[2]), "margin_variance"])
    assert f.loc[("Tools", M[0]), "margin_variance"] == -20.0
    assert np.isnan(f.loc[("Parts", M[2]), "budget_margin"])
    summary = financial_summary(fin, months=2).set_index("level")
    bikes = summary[summary["family"] == "Bikes"].iloc[0]
    assert (bikes["budget_margin"], bikes["margin_variance"]) == (350.0, -30.0)
    assert bikes["margin_vs_budget_pct"] == pytest.approx(-30 / 350 * 100)
    total = summary.loc["total"]
    assert (total["margin"], total["budget_margin"], total["margin_variance"]) == (
        320.0,
        370.0,
        -50.0,
    )
    assert total["margin_vs_budget_pct"] == pytest.approx(-50 / 370 * 100)
    totals = financial_totals(fin, months=2)
    assert totals["margin_vs_budget_pct"] == pytest.approx(total["margin_vs_budget_pct"])
    # a budgeted loss has no percentage to beat; no margin column: all missing
    loss = financial_totals(project_financials(_supply(), PRODUCTS, budget.assign(margin=-1.0)))
    assert loss["budget_margin"] == -3.0  # the three budget rows of the plan months
    assert np.isnan(loss["margin_vs_budget_pct"])
    plain = project_financials(_supply(), PRODUCTS, _budget())
    assert plain["budget_margin"].isna().all()
    assert plain["margin_variance"].isna().all()
    assert np.isnan(financial_totals(plain)["margin_vs_budget_pct"])


def test_an_older_cycle_s_financials_without_the_budget_margin_still_sum():
    """A cycle made before the budget's margin was read has no budget_margin or
    margin_variance: its summaries read them as missing, not as an error."""
    fin = project_financials(_supply(), PRODUCTS, _budget()).drop(
        columns=["budget_margin", "margin_variance"]
    )
    total = financial_summary(fin, months=2).set_index("level").loc["total"]
    assert (total["revenue"], total["budget_revenue"]) == (1000.0, 980.0)
    assert np.isnan(total["budget_margin"])
    assert np.isnan(financial_totals(fin)["margin_vs_budget_pct"])
    with pytest.raises(SopError, match="financials is missing column"):
        financial_summary(fin.drop(columns="margin"))


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
    fin = project_financials(_supply(), PRODUCTS, _budget().assign(margin=[150.0, 200, 20, 0]))
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


# --------------------------------------------------------------------------- two SKUs, by hand

M2 = pd.date_range("2027-01-01", periods=2, freq="MS")
TWO = pd.DataFrame(
    {"sku": ["A", "B"], "family": ["F", "G"], "unit_price": [10.0, 25.0], "unit_cost": [6.0, 15.0]}
)


def _two_plan() -> pd.DataFrame:
    """A: 100 asked a month; 80 ship in month 1 (20 in backlog, Line1 binds), 120 in month 2.
    B: 50 a month; 40 ship in month 1 and 10 are lost (Steel binds), 50 in month 2."""
    cols = ["sku", "month", "demand", "shipments", "subcontract", "inventory", "backlog", "lost"]
    rows = [
        ("A", M2[0], 100.0, 80.0, 10.0, 5.0, 20.0, 0.0),
        ("A", M2[1], 100.0, 120.0, 0.0, 0.0, 0.0, 0.0),
        ("B", M2[0], 50.0, 40.0, 0.0, 2.0, 0.0, 10.0),
        ("B", M2[1], 50.0, 50.0, 0.0, 0.0, 0.0, 0.0),
    ]
    plan = pd.DataFrame(rows, columns=cols)
    plan["unmet_reason"] = [
        "resource Line1: regular and overtime hours used up", "",
        "material Steel: all available used", "",
    ]  # fmt: skip
    return plan


def _two_costs() -> pd.DataFrame:
    """The supply model's costs by family-month. F month 1: overtime 30, 10 units bought in
    at 8 (80), holding 5, backlog 10, hiring 12; G month 1: holding 3. Materials, lost
    sales and the penalties are not P&L lines of their own (in cogs, or not money spent)."""
    comps = ["overtime", "subcontract", "hiring", "layoffs", "holding", "backlog", "lost",
             "materials", "regular", "wages", "safety_stock", "ending", "setup"]  # fmt: skip
    rows = []
    for fam, month, values in (
        ("F", M2[0], {"overtime": 30, "subcontract": 80, "holding": 5, "backlog": 10,
                      "hiring": 12, "materials": 999}),
        ("F", M2[1], {"materials": 999}),
        ("G", M2[0], {"holding": 3, "lost": 250, "safety_stock": 7}),
        ("G", M2[1], {}),
    ):  # fmt: skip
        rows.append({"family": fam, "month": month, **{c: float(values.get(c, 0)) for c in comps}})
    return pd.DataFrame(rows)


def test_financial_projection_of_two_skus_by_hand():
    """F month 1: revenue 80 x 10 = 800; cogs 80 x 6 = 480; overtime 30; the 10 bought-in
    units cost 80, 60 of it in cogs at standard: premium 20; hiring 12; holding 5; cost
    547, margin 253 (31.625 %); the backlog penalty of 10 is a memo, not a cost; stock
    5 x 6 = 30; budget 1,000: -200 (-20 %). Materials (999) are in cogs at standard.
    G month 1: revenue 40 x 25 = 1,000; cogs 600; holding 3; cost 603; margin 397; 10 lost
    x 25 = 250 lost revenue (not a cost too); stock 2 x 15 = 30; budget 900: +100.
    F month 2: 120 x 10 = 1,200, cogs 720, margin 480. G month 2: no budget."""
    budget = pd.DataFrame({"family": ["F", "G", "F"], "month": [M2[0], M2[0], M2[1]],
                           "revenue": [1000.0, 900.0, 1000.0]})  # fmt: skip
    fin = project_financials(_two_plan(), TWO, budget, _two_costs())
    assert list(fin.columns) == FINANCIALS_COLUMNS
    f1 = fin.set_index(["family", "month"]).loc[("F", M2[0])]
    expected = {
        "units": 80, "revenue": 800, "cogs": 480, "overtime_cost": 30, "subcontract_cost": 20,
        "workforce_cost": 12, "holding_cost": 5, "cost_change": 0, "cost": 547,
        "margin": 253, "margin_pct": 31.625, "lost_revenue": 0, "backlog_cost": 10,
        "inventory_value": 30,
        "budget_revenue": 1000, "variance": -200, "variance_pct": -20,
    }  # fmt: skip
    assert f1[list(expected)].to_dict() == pytest.approx(expected)
    g1 = fin.set_index(["family", "month"]).loc[("G", M2[0])]
    expected = {
        "revenue": 1000, "cogs": 600, "holding_cost": 3, "overtime_cost": 0, "cost": 603,
        "margin": 397, "lost_revenue": 250, "inventory_value": 30, "variance": 100,
    }  # fmt: skip
    assert g1[list(expected)].to_dict() == pytest.approx(expected)
    f2 = fin.set_index(["family", "month"]).loc[("F", M2[1])]
    assert (f2["revenue"], f2["cost"], f2["margin"]) == (1200, 720, 480)
    assert np.isnan(fin.set_index(["family", "month"]).loc[("G", M2[1]), "budget_revenue"])
    # a scenario that makes materials 50 % dearer: a third of what F spent on them, 333
    dearer = project_financials(_two_plan(), TWO, budget, _two_costs(), {"materials": 1.5})
    f1 = dearer.set_index(["family", "month"]).loc[("F", M2[0])]
    assert f1["cost_change"] == pytest.approx(999 * (1 - 1 / 1.5))
    assert f1["margin"] == pytest.approx(253 - 333)
    # without the supply costs, cost is the standard cost of goods alone
    bare = project_financials(_two_plan(), TWO, budget)
    assert (bare["cost"] == bare["cogs"]).all()
    assert bare["overtime_cost"].eq(0).all()


def test_supply_costs_of_another_plan_are_refused():
    costs = _two_costs()
    costs.loc[0, "family"] = "Elsewhere"
    with pytest.raises(SopError, match="Elsewhere 2027-01"):
        project_financials(_two_plan(), TWO, _budget().iloc[:0], costs)


def test_gaps_are_ranked_by_money_with_their_reason():
    """Held back in month 1: A 20 into backlog (200 revenue, 80 margin at 10 - 6), B 10 lost
    (250 revenue, 100 margin at 25 - 15; 250 lost for good). Month 2 catches A's backlog up:
    no new gap. G first: more money at risk."""
    gaps = supply_gaps(_two_plan(), TWO)
    assert list(gaps["family"]) == ["G", "F"]
    g, f = gaps.iloc[0], gaps.iloc[1]
    assert (g["held_back"], g["lost"], g["revenue_at_risk"], g["margin_at_risk"]) == (
        10,
        10,
        250,
        100,
    )
    assert g["lost_revenue"] == 250
    assert g["reason"] == "material Steel: all available used"
    assert (f["held_back"], f["lost"], f["revenue_at_risk"], f["margin_at_risk"]) == (
        20,
        0,
        200,
        80,
    )
    assert f["demand"] == 100
    assert f["reason"].startswith("resource Line1")
    assert len(supply_gaps(_two_plan(), TWO, top=1)) == 1


def test_variance_causes_by_hand_add_up_to_the_variance():
    """A's price rises from 10 to 11. Month 1, budgets F 1,000 and G 900.
    F: demand 100 at 10 = 1,000 = budget, so u = 100: volume and mix 0; price 80 x 1 = 80;
    constraint (80 - 100) x 10 = -200; revenue 880: variance -120.
    G: demand 50 at 25 = 1,250; u = 900 / 25 = 36; P = 1,900 / 136; volume 14 x P =
    195.59, mix 14 x (25 - P) = 154.41; constraint (40 - 50) x 25 = -250; revenue 1,000:
    variance +100. Month 2, F only: constraint (120 - 100) x 10 = +200, price 120."""
    budget = pd.DataFrame({"family": ["F", "G", "F"], "month": [M2[0], M2[0], M2[1]],
                           "revenue": [1000.0, 900.0, 1000.0]})  # fmt: skip
    dearer = TWO.assign(unit_price=[11.0, 25.0])
    causes = variance_causes(_two_plan(), dearer, budget, base_products=TWO)
    got = causes.set_index(["family", "month"])
    assert len(got) == 3  # G month 2 has no budget
    P = 1900 / 136
    expected = {
        ("F", M2[0]): {"revenue": 880, "variance": -120, "volume": 0, "mix": 0, "price": 80,
                       "constraint": -200},
        ("G", M2[0]): {"revenue": 1000, "variance": 100, "volume": 14 * P,
                       "mix": 14 * (25 - P), "price": 0, "constraint": -250},
        ("F", M2[1]): {"revenue": 1320, "variance": 320, "volume": 0, "mix": 0, "price": 120,
                       "constraint": 200},
    }  # fmt: skip
    for key, values in expected.items():
        assert got.loc[key, list(values)].to_dict() == pytest.approx(values), key
    parts = got[["volume", "mix", "price", "constraint"]].sum(axis=1)
    np.testing.assert_allclose(parts, got["variance"], rtol=1e-12)


def test_pnl_and_variance_summaries_sum_the_window_and_the_waterfall_ends_at_revenue():
    from sopkit.charts import variance_waterfall

    budget = pd.DataFrame({"family": ["F", "G", "F"], "month": [M2[0], M2[0], M2[1]],
                           "revenue": [1000.0, 900.0, 1000.0]})  # fmt: skip
    fin = project_financials(_two_plan(), TWO, budget, _two_costs())
    pnl = pnl_summary(fin, months=1)  # month 1 only
    total = pnl.loc[pnl["level"] == "total"].iloc[0]
    assert (total["revenue"], total["cost"], total["margin"]) == (1800, 1150, 650)
    assert total["inventory_value"] == 60  # 30 + 30 at the end of month 1
    assert total["lost_revenue"] == 250
    two = pnl_summary(fin, months=2).set_index("family")
    assert two.loc["F", "revenue"] == 2000
    assert two.loc["F", "inventory_value"] == 0  # the stock at the end of month 2
    dearer = TWO.assign(unit_price=[11.0, 25.0])
    causes = variance_causes(_two_plan(), dearer, budget, base_products=TWO)
    summary = variance_summary(causes, months=2)
    row = summary.loc[summary["level"] == "total"].iloc[0]
    assert row["variance"] == pytest.approx(-120 + 100 + 320)
    assert row["price"] == pytest.approx(200)
    assert row[["volume", "mix", "price", "constraint"]].sum() == pytest.approx(row["variance"])
    bars = variance_waterfall(summary).to_dict()["data"]["values"]
    assert [b["step"] for b in bars] == [
        "budget", "volume", "mix", "price", "constraint", "plan revenue"
    ]  # fmt: skip
    assert bars[0]["end"] == 2900
    assert bars[-1]["end"] == pytest.approx(row["revenue"])
    for i in range(1, 5):  # each step floats from where the one before ended
        assert bars[i]["start"] == pytest.approx(bars[i - 1]["end"])


def test_without_a_budget_there_is_no_variance_to_explain():
    from sopkit.charts import variance_waterfall

    none = pd.DataFrame({"family": [], "month": pd.Series(dtype="datetime64[ns]"), "revenue": []})
    causes = variance_causes(_two_plan(), TWO, none)
    assert causes.empty
    assert list(causes.columns) == ARTIFACTS["budget_variance"].names
    summary = variance_summary(causes)
    assert np.isnan(summary["budget_revenue"].iloc[-1])
    assert "No budget" in str(variance_waterfall(summary).to_dict())


def test_the_variance_adds_up_when_a_month_is_budgeted_at_zero_or_a_family_has_no_price():
    """Month 1 budgeted 0 for both families: no budget price, the demand's average price is
    used (volume + mix = the demand's value). Month 2: family H has a budget but no SKU:
    its whole budget is volume (-300); F's parts add up as before."""
    budget = pd.DataFrame(
        {"family": ["F", "G", "F", "H"], "month": [M2[0], M2[0], M2[1], M2[1]],
         "revenue": [0.0, 0.0, 1000.0, 300.0]}
    )  # fmt: skip
    causes = variance_causes(_two_plan(), TWO, budget).set_index(["family", "month"])
    parts = causes[["volume", "mix", "price", "constraint"]].sum(axis=1)
    np.testing.assert_allclose(parts, causes["variance"], rtol=1e-12)
    assert causes[["volume", "mix"]].notna().all().all()
    f1 = causes.loc[("F", M2[0])]
    assert f1["volume"] + f1["mix"] == pytest.approx(100 * 10)  # the demand's value
    h = causes.loc[("H", M2[1])]
    assert (h["volume"], h["mix"], h["variance"]) == (-300, 0, -300)


def test_a_sku_month_planned_twice_is_refused():
    twice = pd.concat([_two_plan(), _two_plan().iloc[:1]])
    for call in (
        lambda: project_financials(twice, TWO, _budget()),
        lambda: supply_gaps(twice, TWO),
        lambda: variance_causes(twice, TWO, _budget()),
    ):
        with pytest.raises(SopError, match="supply_plan"):
            call()
