"""Tests of sopkit.charts: each chart is serialised with ``to_dict()`` (which validates it
against the Vega-Lite schema, as altair's own gallery tests do) and its encodings and inline
data are checked against a hand-built portfolio whose aggregates are worked out by hand."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import vl_convert

from sopkit import demand, finance, kpi
from sopkit.charts import (
    abc_xyz_matrix,
    accuracy_chart,
    budget_chart,
    capacity_heatmap,
    consensus_chart,
    family_growth_chart,
    forecast_chart,
    kpi_cards,
    lifecycle_chart,
    material_chart,
    pareto_chart,
    production_chart,
    scenario_chart,
    service_chart,
    table,
)
from sopkit.charts.supply import BINDING_MARK
from sopkit.errors import SopError
from sopkit.scenarios import PlanInputs, compare_scenarios, replan

ABC_ROWS = [
    # sku, family, revenue (over the review window), abc, xyz, lifecycle
    ("B2", "Bikes", 500.0, "A", "X", "mature"),
    ("B1", "Bikes", 300.0, "A", "Y", "growth"),
    ("P1", "Parts", 150.0, "B", "X", "decline"),
    ("P2", "Parts", 50.0, "C", "Z", "new"),
    ("P3", "Parts", 0.0, "C", "Z", "mature"),
]


@pytest.fixture
def portfolio() -> pd.DataFrame:
    """Shares 50, 30, 15, 5, 0 % (total 1000), given out of ranking order on purpose."""
    frame = pd.DataFrame(
        ABC_ROWS, columns=["sku", "family", "revenue", "abc", "xyz", "lifecycle"]
    ).iloc[[2, 0, 4, 1, 3]]
    frame["description"] = frame["sku"] + " item"
    frame["revenue_share"] = frame["revenue"] / 1000
    # Assignment aligns on the index, so each row gets its running share in ranking order.
    ranked = frame.sort_values(["revenue", "sku"], ascending=[False, True])
    frame["cumulative_share"] = ranked["revenue_share"].cumsum()
    frame["launch"] = pd.Timestamp("2026-01-01")  # a Timestamp column must not break charts
    return frame


@pytest.fixture
def family_summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "level": ["family", "family", "family", "total"],
            "family": ["Bikes", "Parts", "New", "Total"],
            "revenue_growth": [0.25, -0.1, float("nan"), 0.2],
            "revenue": [800.0, 200.0, 50.0, 1050.0],
            "revenue_prev": [640.0, 222.2, 0.0, 862.2],
            "margin_pct": [30.0, 40.0, 50.0, 32.0],
        }
    )


def _values(spec: dict) -> list[dict]:
    return spec["data"]["values"]


def test_pareto_chart_ranks_by_revenue_with_thresholds(portfolio):
    """Ranks 1..5 in revenue order; cumulative 0.5, 0.8, 0.95, 1, 1; rules at 0.8 and 0.95."""
    spec = pareto_chart(portfolio).to_dict()
    assert spec["width"] == 600
    assert spec["title"]["text"] == "Pareto curve of revenue"
    rows = _values(spec)
    assert [r["sku"] for r in rows] == ["B2", "B1", "P1", "P2", "P3"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["cumulative_share"] for r in rows] == pytest.approx([0.5, 0.8, 0.95, 1.0, 1.0])
    line, points, rules, labels = spec["layer"]
    assert line["mark"]["type"] == "line"
    assert line["encoding"]["x"]["field"] == "rank"
    assert line["encoding"]["y"]["field"] == "cumulative_share"
    assert points["encoding"]["color"]["field"] == "abc"
    assert points["encoding"]["color"]["scale"]["domain"] == ["A", "B", "C"]
    assert {t["field"] for t in points["encoding"]["tooltip"]} >= {"sku", "revenue", "abc"}
    assert rules["mark"]["type"] == "rule"
    assert [r["threshold"] for r in rules["data"]["values"]] == [0.8, 0.95]
    assert labels["encoding"]["text"]["field"] == "label"


def test_pareto_chart_thins_large_catalogues_but_keeps_class_ends():
    """5000 SKUs, classes A (first 100), B (next 400), C: about 200 points, boundaries kept."""
    n = 5000
    portfolio = pd.DataFrame(
        {
            "sku": [f"S{i:04d}" for i in range(n)],
            "description": "x",
            "family": "F",
            "revenue": [float(n - i) for i in range(n)],
            "abc": ["A"] * 100 + ["B"] * 400 + ["C"] * 4500,
        }
    )
    portfolio["revenue_share"] = portfolio["revenue"] / portfolio["revenue"].sum()
    portfolio["cumulative_share"] = portfolio["revenue_share"].cumsum()
    rows = _values(pareto_chart(portfolio, max_points=200).to_dict())
    ranks = [r["rank"] for r in rows]
    assert 200 <= len(rows) <= 202
    assert {1, 100, 500, n} <= set(ranks)  # first, last A, last B, last item
    assert ranks == sorted(ranks)


def test_abc_xyz_matrix_has_all_nine_cells(portfolio):
    """A-X: B2 (50 %), A-Y: B1 (30 %), B-X: P1 (15 %), C-Z: P2 + P3 (5 %); others empty."""
    spec = abc_xyz_matrix(portfolio).to_dict()
    assert spec["width"] == 600
    cells = {(r["abc"], r["xyz"]): r for r in _values(spec)}
    assert len(cells) == 9
    assert cells["A", "X"]["skus"] == 1
    assert cells["C", "Z"]["skus"] == 2
    assert cells["C", "Z"]["revenue_share"] == pytest.approx(0.05)
    assert cells["B", "Z"]["skus"] == 0
    assert cells["C", "Z"]["label"] == "2 SKUs, 5.0 %"
    assert cells["A", "Y"]["label"] == "1 SKU, 30.0 %"
    heat, text = spec["layer"]
    assert heat["mark"]["type"] == "rect"
    assert heat["encoding"]["x"]["field"] == "xyz"
    assert heat["encoding"]["x"]["sort"] == ["X", "Y", "Z"]
    assert heat["encoding"]["y"]["field"] == "abc"
    assert heat["encoding"]["y"]["sort"] == ["A", "B", "C"]
    assert heat["encoding"]["color"]["field"] == "skus"
    assert "tooltip" in heat["encoding"]
    assert text["encoding"]["text"]["field"] == "label"


def test_family_growth_chart_drops_total_and_undefined_growth(family_summary):
    """Bikes +25 % (growth colour), Parts -10 % (decline colour); Total and New left out."""
    spec = family_growth_chart(family_summary).to_dict()
    assert spec["width"] == 600
    assert spec["mark"]["type"] == "bar"
    rows = _values(spec)
    assert [r["family"] for r in rows] == ["Bikes", "Parts"]
    assert [r["direction"] for r in rows] == ["growth", "decline"]
    encoding = spec["encoding"]
    assert encoding["x"]["field"] == "revenue_growth"
    assert encoding["y"]["field"] == "family"
    assert encoding["color"]["field"] == "direction"
    scale = encoding["color"]["scale"]
    assert scale["domain"] == ["growth", "decline"]
    assert scale["range"][0] != scale["range"][1]
    assert "tooltip" in encoding
    # margin_pct is percent (30.0), so a "%" format (x 100) would show 3000 %.
    margin_tip = next(t for t in encoding["tooltip"] if t["field"] == "margin_pct")
    assert margin_tip["format"] == ".1f"
    assert [r["margin_pct"] for r in rows] == [30.0, 40.0]


def test_family_growth_chart_keeps_a_family_named_total(family_summary):
    """The total row is told by its level: a real family called "Total" is drawn."""
    named = family_summary.assign(family=["Total", "Parts", "New", "Total"])
    rows = _values(family_growth_chart(named).to_dict())
    assert [r["family"] for r in rows] == ["Total", "Parts"]
    assert rows[0]["revenue_growth"] == 0.25


def test_lifecycle_chart_counts_and_revenue_per_stage(portfolio):
    """new: P2 (50); growth: B1 (300); mature: B2 + P3 (500, 2 SKUs); decline: P1 (150);
    end of life: none, still shown, in lifecycle order."""
    spec = lifecycle_chart(portfolio).to_dict()
    assert spec["width"] == 600
    rows = {r["lifecycle"]: r for r in _values(spec)}
    assert list(rows) == ["new", "growth", "mature", "decline", "end of life"]
    assert rows["mature"]["skus"] == 2
    assert rows["mature"]["revenue"] == 500
    assert rows["mature"]["label"] == "2 SKUs"
    assert rows["end of life"]["skus"] == 0
    bars, text = spec["layer"]
    assert bars["encoding"]["x"]["field"] == "revenue"
    assert bars["encoding"]["y"]["field"] == "lifecycle"
    assert "tooltip" in bars["encoding"]
    assert text["encoding"]["text"]["field"] == "label"


def test_charts_are_plain_json_offline(portfolio, family_summary):
    """No NaN or Timestamp reaches the spec (strict JSON parses it), no URL data."""
    for chart in (
        pareto_chart(portfolio),
        abc_xyz_matrix(portfolio),
        family_growth_chart(family_summary),
        lifecycle_chart(portfolio),
    ):
        text = chart.to_json()
        json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in chart JSON"))
        assert '"url"' not in text


def test_pareto_chart_renders_to_svg(portfolio):
    svg = vl_convert.vegalite_to_svg(pareto_chart(portfolio).to_json())
    assert svg.lstrip().startswith("<svg")
    assert "Pareto curve of revenue" in svg


def test_portfolio_charts_name_the_review_window(portfolio, family_summary):
    """With review_months=6 every title says "last 6 months"; without it, "review period"
    (never a length the chart does not know)."""
    specs = [
        pareto_chart(portfolio, review_months=6).to_dict(),
        abc_xyz_matrix(portfolio, review_months=6).to_dict(),
        family_growth_chart(family_summary, review_months=6).to_dict(),
        lifecycle_chart(portfolio, review_months=6).to_dict(),
    ]
    texts = [json.dumps(spec) for spec in specs]
    for text in texts:
        assert "12 months" not in text
        assert "last 6 months" in text
    growth = json.dumps(family_growth_chart(family_summary).to_dict())
    assert "12" not in growth.replace("1200", "")
    assert "Review period against the period before" in growth
    assert "review period" in json.dumps(lifecycle_chart(portfolio).to_dict())
    with pytest.raises(SopError, match="review_months"):
        pareto_chart(portfolio, review_months=0)


def test_portfolio_legends_list_only_what_is_drawn(portfolio, family_summary):
    """No item is class B: the Pareto legend is A and C. No family declines: the growth
    legend is "growth" only. An empty portfolio draws nothing and says so."""
    no_b = portfolio[portfolio["abc"] != "B"]
    points = pareto_chart(no_b).to_dict()["layer"][1]
    scale = points["encoding"]["color"]["scale"]
    assert scale["domain"] == ["A", "C"]
    assert scale["range"] == ["#1f77b4", "#9e9e9e"]  # C keeps its colour
    growing = family_summary[family_summary["family"] != "Parts"]
    scale = family_growth_chart(growing).to_dict()["encoding"]["color"]["scale"]
    assert scale["domain"] == ["growth"]
    assert len(scale["range"]) == 1
    empty = pareto_chart(portfolio.iloc[:0]).to_dict()
    assert _values(empty) == [{"message": "No data to show"}]
    none = family_growth_chart(family_summary[family_summary["level"] == "total"]).to_dict()
    assert _values(none) == [{"message": "No data to show"}]


def test_missing_columns_raise_sop_error(portfolio):
    with pytest.raises(SopError, match="cumulative_share"):
        pareto_chart(portfolio.drop(columns="cumulative_share"))
    with pytest.raises(SopError, match="revenue_growth"):
        family_growth_chart(pd.DataFrame({"family": ["F"]}))


# --- stages 2 to 5 ---------------------------------------------------------------------
# Realistic inputs come from the tiny demo (conftest's ``tiny_demo``), run through the stage
# functions once for the module; exact answers come from small hand-built frames.

CYCLE = pd.Timestamp("2026-11-01")
M = pd.Timestamp


@pytest.fixture(scope="module")
def stages(tiny_demo) -> dict[str, pd.DataFrame]:
    ds = tiny_demo
    fc = demand.seasonal_naive_forecast(ds.sales_history, CYCLE, 18)
    plan = demand.build_demand_plan(fc, ds.sales_inputs, ds.products)
    adjustments = demand.list_adjustments(fc, ds.sales_inputs, ds.products)
    inputs = PlanInputs.from_dataset(ds, plan)
    record = replan(inputs, name="baseline")
    return {
        "sales_history": ds.sales_history,
        "products": ds.products,
        "forecast": fc,
        "accuracy": demand.backtest_seasonal_naive(ds.sales_history, ds.products, CYCLE),
        "demand_plan": plan,
        "adjustments": adjustments,
        "supply_plan": record.supply_plan,
        "capacity": record.capacity,
        "materials": record.materials,
        "financials": record.financials,
        "actuals": finance.actuals_vs_budget(ds.sales_history, ds.products, ds.budget),
        "scenarios": compare_scenarios(inputs, {"baseline": {}, "up": {"demand_change_pct": 10}}),
        "service": kpi.service_levels(ds.order_lines, CYCLE),
    }  # fmt: skip


def _family(stages) -> pd.Series:
    return stages["products"].set_index("sku")["family"]


def _cells(styler) -> list[list[str]]:
    """The text of each body row of a rendered Styler."""
    rows = re.findall(r"<tr>(.*?)</tr>", styler.to_html(), flags=re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>.*?</td>", row)]
        for row in rows
        if "<td" in row
    ]


def test_table_formats_columns_by_name():
    """Percent already (_pct), fraction (share), money, price, month, units and missing values."""
    frame = pd.DataFrame(
        {
            "month": [M("2026-11-01"), M("2026-12-01")],
            "revenue": [1234567.4, float("nan")],
            "variance_pct": [12.34, -3.0],
            "revenue_share": [0.1234, 1.0],
            "unit_price": [12.5, 3.0],
            "qty": [1234.0, 5.0],
            "hours": [1234.56, 12.0],
            "note": ["x", None],
        },
        index=[7, 3],
    )
    assert _cells(table(frame)) == [
        ["2026-11", "1,234,567", "12.3 %", "12.3 %", "12.50", "1,234", "1,234.6", "x"],
        ["2026-12", "–", "-3.0 %", "100.0 %", "3.00", "5", "12.0", "–"],
    ]
    html = table(frame).to_html()
    assert ">7<" not in html  # the index is hidden
    assert "<caption>" not in html


def test_table_shows_margin_pct_as_percent_in_portfolio_and_finance_tables():
    """margin_pct is percent everywhere (36.0 = 36 %): a portfolio-family table (it has
    revenue_12m) is formatted like a finance one, not multiplied by 100 as a fraction."""
    families = pd.DataFrame({"family": ["F"], "revenue_12m": [10.0], "margin_pct": [36.0]})
    assert _cells(table(families))[0][-1] == "36.0 %"
    financials = pd.DataFrame({"family": ["F"], "revenue": [10.0], "margin_pct": [36.0]})
    assert _cells(table(financials))[0][-1] == "36.0 %"


def test_table_captions_long_tables():
    frame = pd.DataFrame({"qty": np.arange(1234, dtype=float)})
    styler = table(frame)
    assert len(_cells(styler)) == 60
    assert "first 60 of 1,234 rows (all of them are in the artifact)" in styler.to_html()
    assert len(_cells(table(frame, max_rows=10))) == 10
    with pytest.raises(SopError, match="max_rows"):
        table(frame, max_rows=0)


def test_table_renders_empty_frames_and_none_columns():
    assert "<table" in table(pd.DataFrame()).to_html()
    assert "<table" in table(pd.DataFrame({"sku": [], "qty": []})).to_html()
    frame = pd.DataFrame({"reason": [None, None], "month": [pd.NaT, pd.NaT]})
    frame["month"] = frame["month"].astype("datetime64[ns]")
    assert _cells(table(frame)) == [["–", "–"], ["–", "–"]]


def test_forecast_chart_history_window_then_forecast_by_family():
    """F sells in 2026-01 (4) and 2026-03 (2 + 3 in two regions), G in 2026-03 (1);
    2026-02 has no row. With history_months=2 the history is 2026-02 (F 0, G 0) and 2026-03
    (F 5, G 1); the forecast months 2026-04/05 sum yhat per family. A sales row in a
    forecast month (2026-04, 100) is not history and is left out."""
    products = pd.DataFrame({"sku": ["a", "b", "c"], "family": ["F", "F", "G"]})
    history = pd.DataFrame(
        {
            "sku": ["a", "a", "b", "c", "a"],
            "region": ["N", "N", "S", "N", "N"],
            "month": [M("2026-01"), M("2026-03"), M("2026-03"), M("2026-03"), M("2026-04")],
            "qty": [4.0, 2.0, 3.0, 1.0, 100.0],
        }
    )
    forecast = pd.DataFrame(
        {
            "sku": ["a", "b", "c", "a"],
            "region": "N",
            "month": [M("2026-04-01"), M("2026-04-01"), M("2026-04-01"), M("2026-05-01")],
            "yhat": [1.0, 2.0, 7.0, 4.0],
        }
    )
    spec = forecast_chart(history, forecast, products, history_months=2).to_dict()
    got = {(r["part"], r["family"], r["month"]): r["qty"] for r in _values(spec)}
    assert got == {
        ("history", "F", "2026-02-01"): 0.0,
        ("history", "G", "2026-02-01"): 0.0,
        ("history", "F", "2026-03-01"): 5.0,
        ("history", "G", "2026-03-01"): 1.0,
        ("forecast", "F", "2026-04-01"): 3.0,
        ("forecast", "G", "2026-04-01"): 7.0,
        ("forecast", "F", "2026-05-01"): 4.0,
    }
    lines, rule, label = spec["layer"]
    assert lines["encoding"]["color"]["field"] == "family"
    assert lines["encoding"]["strokeDash"]["field"] == "part"
    assert lines["encoding"]["strokeDash"]["scale"]["domain"] == ["history", "forecast"]
    assert lines["encoding"]["x"]["timeUnit"] == "utcyearmonth"
    assert rule["mark"]["type"] == "rule"
    assert rule["data"]["values"][0]["month"] == "2026-04-01"
    assert "2026-04" in label["data"]["values"][0]["label"]

    # A window longer than the history starts where the history does (2026-01), not at 0s.
    spec = forecast_chart(history, forecast, products, history_months=5).to_dict()
    past = [r for r in _values(spec) if r["part"] == "history"]
    assert sorted({r["month"] for r in past}) == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert {r["family"]: r["qty"] for r in past if r["month"] == "2026-01-01"} == {"F": 4, "G": 0}


def test_forecast_chart_on_the_demo_sums_the_forecast_per_family_month(stages):
    """The dashed part equals the forecast total per month; history stops before the cycle."""
    spec = forecast_chart(stages["sales_history"], stages["forecast"], stages["products"]).to_dict()
    rows = pd.DataFrame(_values(spec))
    future = rows[rows["part"] == "forecast"].groupby("month")["qty"].sum()
    expected = stages["forecast"].groupby("month")["yhat"].sum()
    assert future.to_numpy() == pytest.approx(expected.to_numpy())
    assert list(future.index) == list(expected.index.strftime("%Y-%m-%d"))
    past = rows[rows["part"] == "history"]
    assert past["month"].max() == "2026-10-01"
    assert past["month"].nunique() <= 36
    with pytest.raises(SopError, match="products does not list"):
        forecast_chart(stages["sales_history"], stages["forecast"], stages["products"].iloc[1:])


def test_forecast_chart_legend_lists_only_the_parts_drawn():
    """Without a forecast the dash legend has "history" only (and no "forecast from"
    marker); without history, "forecast" only."""
    products = pd.DataFrame({"sku": ["a"], "family": ["F"]})
    history = pd.DataFrame({"sku": ["a"], "month": [M("2026-03-01")], "qty": [4.0]})
    forecast = pd.DataFrame({"sku": ["a"], "month": [M("2026-04-01")], "yhat": [5.0]})
    spec = forecast_chart(history, forecast.iloc[:0], products).to_dict()
    (lines,) = spec["layer"]
    assert lines["encoding"]["strokeDash"]["scale"]["domain"] == ["history"]
    assert {r["part"] for r in _values(spec)} == {"history"}
    assert "dashed" not in spec["title"]["subtitle"]
    spec = forecast_chart(history.iloc[:0], forecast, products).to_dict()
    lines = spec["layer"][0]
    assert lines["encoding"]["strokeDash"]["scale"]["domain"] == ["forecast"]
    assert lines["encoding"]["strokeDash"]["scale"]["range"] == [[6, 4]]
    with pytest.raises(SopError, match="products"):
        forecast_chart(history, forecast, pd.concat([products, products]))


def test_accuracy_chart_sku_region_bold_beside_total_and_families(stages):
    """12 lags x (SKU x region + Total + 4 families) = 72 points; SKU rows are left out.
    The SKU x region line pools the sku_region rows of each lag: sum |error| / sum actual."""
    acc = stages["accuracy"]
    spec = accuracy_chart(acc).to_dict()
    rows = _values(spec)
    assert len(rows) == 12 * 6
    assert {r["level"] for r in rows} == {"sku_region", "total", "family"}
    fine = acc[acc["level"] == "sku_region"].groupby("lag")[["abs_error", "actual"]].sum()
    drawn = {r["lag"]: r["wape"] for r in rows if r["key"] == "SKU x region"}
    assert [drawn[lag] for lag in fine.index] == pytest.approx(
        (fine["abs_error"] / fine["actual"]).tolist()
    )
    enc = spec["encoding"]
    assert enc["x"]["field"] == "lag"
    assert enc["y"]["field"] == "wape"
    assert enc["y"]["axis"]["format"] == "%"
    assert enc["color"]["sort"][:2] == ["SKU x region", "Total"]
    width = enc["strokeWidth"]["scale"]
    assert width["domain"] == ["sku_region", "total", "family"]
    assert width["range"][0] > width["range"][1] > width["range"][2]


def test_accuracy_chart_legend_lists_only_the_series_drawn():
    """An artifact without sku_region rows (say, an older one): no "SKU x region" line and
    no such entry in the legend; the families' keys are the legend."""
    acc = pd.DataFrame(
        {
            "model": "m",
            "level": ["total", "family", "family"],
            "key": ["Total", "F", "G"],
            "lag": [1, 1, 1],
            "actual": [10.0, 4.0, 6.0],
            "forecast": [11.0, 5.0, 6.0],
            "abs_error": [1.0, 1.0, 0.0],
            "wape": [0.1, 0.25, 0.0],
            "bias": [0.1, 0.25, 0.0],
        }
    )
    enc = accuracy_chart(acc).to_dict()["encoding"]
    assert enc["color"]["scale"]["domain"] == ["Total", "F", "G"]
    assert enc["strokeWidth"]["scale"]["domain"] == ["total", "family"]


def _hand_plan() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Month 11: a 10 -> 12 (+2 by j.doe, Promo), b 5 -> 5; month 12: a 10 -> 7 (+1 by
    j.doe, Promo; -4 by a.smith, Tender), b 4 -> 0 (-4: sopkit's end of life)."""
    products = pd.DataFrame({"sku": ["a", "b"], "family": ["F", "G"]})
    nov, dec = M("2026-11-01"), M("2026-12-01")
    plan = pd.DataFrame(
        {
            "sku": ["a", "b", "a", "b"],
            "region": "N",
            "month": [nov, nov, dec, dec],
            "statistical": [10.0, 5.0, 10.0, 4.0],
            "adjustment": [2.0, 0.0, -3.0, -4.0],
            "consensus": [12.0, 5.0, 7.0, 0.0],
            "adjustment_reason": ["Promo", None, "Promo; Tender", "end of life 2026-11"],
        }
    )
    adjustments = pd.DataFrame(
        {
            "sku": ["a", "a", "a", "b"],
            "region": "N",
            "month": [nov, dec, dec, dec],
            "source": ["sales_inputs", "sales_inputs", "sales_inputs", "rule"],
            "input": pd.array([0, 0, 1, None], dtype="Int64"),
            "author": ["j.doe", "j.doe", "a.smith", "sopkit"],
            "kind": ["pct", "pct", "abs", "end_of_life"],
            "value": [20.0, 10.0, -4.0, np.nan],
            "effect": [2.0, 1.0, -4.0, -4.0],
            "reason": ["Promo", "Promo", "Tender", "end of life 2026-11"],
        }
    )
    return plan, adjustments, products


def test_consensus_chart_separates_sales_inputs_from_sopkit_rules():
    """Totals 15 -> 17 and 14 -> 7. Below, by source: inputs +2 (F, Nov) and 1 - 4 = -3
    (F, Dec); sopkit's end of life -4 (G, Dec), a colour of its own, named in the legend."""
    plan, adjustments, products = _hand_plan()
    spec = consensus_chart(plan, adjustments, products).to_dict()
    lines, bars = spec["vconcat"]
    got = {(r["month"], r["series"]): r["units"] for r in _values(lines)}
    assert got == {
        ("2026-11", "statistical"): 15.0,
        ("2026-11", "consensus"): 17.0,
        ("2026-12", "statistical"): 14.0,
        ("2026-12", "consensus"): 7.0,
    }
    split = {r["month"]: (r["by_inputs"], r["by_rules"]) for r in _values(lines)}
    assert split == {"2026-11": (2.0, 0.0), "2026-12": (-3.0, -4.0)}
    drawn = {
        (r["source"], r["family"], r["month"]): (r["effect"], r["reasons"], r["authors"])
        for r in _values(bars)
    }
    assert drawn == {
        ("sales_inputs", "F", "2026-11"): (2.0, "Promo", "j.doe"),
        ("sales_inputs", "F", "2026-12"): (-3.0, "Promo; Tender", "j.doe; a.smith"),
        ("rule", "G", "2026-12"): (-4.0, "end of life 2026-11", "sopkit"),
    }
    assert bars["mark"]["type"] == "bar"
    colour = bars["encoding"]["color"]
    assert colour["field"] == "source_label"
    assert colour["scale"]["domain"] == ["sales and marketing inputs", "sopkit rule: end of life"]
    assert colour["scale"]["range"][0] != colour["scale"]["range"][1]
    assert colour["legend"] is not None
    assert bars["encoding"]["x"]["scale"]["domain"] == ["2026-11", "2026-12"]
    assert {t["field"] for t in bars["encoding"]["tooltip"]} >= {"reasons", "authors", "effect"}


def test_consensus_chart_legend_names_only_the_sources_drawn():
    """Without end-of-life cuts the legend has the inputs only; without any adjustment the
    lower panel says so and has no legend at all."""
    plan, adjustments, products = _hand_plan()
    inputs_only = adjustments[adjustments["source"] == "sales_inputs"]
    bars = consensus_chart(plan, inputs_only, products).to_dict()["vconcat"][1]
    assert bars["encoding"]["color"]["scale"]["domain"] == ["sales and marketing inputs"]
    rules_only = adjustments[adjustments["source"] == "rule"]
    bars = consensus_chart(plan, rules_only, products).to_dict()["vconcat"][1]
    assert bars["encoding"]["color"]["scale"]["domain"] == ["sopkit rule: end of life"]
    none = consensus_chart(plan, adjustments.iloc[:0], products).to_dict()["vconcat"][1]
    assert none["mark"]["type"] == "text"
    assert "color" not in none["encoding"]


def test_consensus_chart_on_the_demo_adds_up(stages):
    """The bars add up to the plan's adjustments, month by month, and both sources show."""
    plan, adjustments = stages["demand_plan"], stages["adjustments"]
    spec = consensus_chart(plan, adjustments, stages["products"]).to_dict()
    bars = pd.DataFrame(_values(spec["vconcat"][1]))
    drawn = bars.groupby("month")["effect"].sum()
    expected = plan.groupby(plan["month"].dt.strftime("%Y-%m"))["adjustment"].sum()
    assert drawn.reindex(expected.index, fill_value=0.0).to_numpy() == pytest.approx(
        expected.to_numpy()
    )
    assert set(bars["source"]) == {"sales_inputs", "rule"}


def test_production_chart_stacks_families_with_demand_and_inventory_lines(stages):
    sp = stages["supply_plan"]
    spec = production_chart(sp, stages["products"]).to_dict()
    bars, lines = spec["layer"]
    produced = pd.DataFrame(_values(bars)).groupby("month")["production"].sum()
    assert produced.to_numpy() == pytest.approx(sp.groupby("month")["production"].sum().to_numpy())
    assert bars["encoding"]["color"]["field"] == "family"
    totals = pd.DataFrame(_values(lines)).pivot(index="month", columns="series", values="units")
    by_month = sp.groupby("month")[["demand", "inventory"]].sum()
    assert totals["demand"].to_numpy() == pytest.approx(by_month["demand"].to_numpy())
    assert totals["end inventory"].to_numpy() == pytest.approx(by_month["inventory"].to_numpy())
    assert spec["resolve"]["scale"]["color"] == "independent"


def _supply_rows(backlog: list[float]) -> pd.DataFrame:
    """One SKU of family F over three months, demand 10 a month, with the given backlog."""
    months = pd.date_range("2026-11-01", periods=3, freq="MS")
    plan = pd.DataFrame(
        {
            "sku": "a",
            "month": months,
            "demand": 10.0,
            "production": 10.0,
            "inventory": 0.0,
            "backlog": backlog,
        }
    )
    plan["shipments"] = plan["demand"] + plan["backlog"].shift(fill_value=0.0) - plan["backlog"]
    return plan


def test_production_chart_legend_lists_only_the_lines_drawn():
    """Lot for lot (no backlog): demand and end inventory only. With backlog: shipments
    and backlog too, each with its own colour, and the subtitle says so."""
    products = pd.DataFrame({"sku": ["a"], "family": ["F"]})
    plain = production_chart(_supply_rows([0.0, 0.0, 0.0]), products).to_dict()
    lines = plain["layer"][1]
    assert lines["encoding"]["color"]["scale"]["domain"] == ["demand", "end inventory"]
    assert {r["series"] for r in _values(lines)} == {"demand", "end inventory"}
    assert "backlog" not in plain["title"]["subtitle"]
    late = production_chart(_supply_rows([4.0, 0.0, 0.0]), products).to_dict()
    lines = late["layer"][1]
    domain = ["demand", "shipments", "end inventory", "backlog"]
    assert lines["encoding"]["color"]["scale"]["domain"] == domain
    assert lines["encoding"]["strokeDash"]["scale"]["domain"] == domain
    assert len(set(map(str, lines["encoding"]["color"]["scale"]["range"]))) == 4
    shipped = [r["units"] for r in _values(lines) if r["series"] == "shipments"]
    assert shipped == [6.0, 14.0, 10.0]
    assert "shipments" in late["title"]["subtitle"]


def test_capacity_heatmap_legend_lists_only_the_statuses_outlined(stages):
    """No month over regular hours: no outline layer, no status legend, no words for it.
    Overtime but never short: the legend has "overtime" only."""
    cap = stages["capacity"]
    calm = cap.assign(status="ok", overload_hours=0.0, shortfall_hours=0.0)
    spec = capacity_heatmap(calm).to_dict()
    assert len(spec["layer"]) == 2
    assert "outlined" not in spec["title"]["subtitle"]
    overtime = calm.assign(status=["overtime"] + ["ok"] * (len(calm) - 1))
    spec = capacity_heatmap(overtime).to_dict()
    outlines = spec["layer"][1]
    assert outlines["encoding"]["stroke"]["scale"]["domain"] == ["overtime"]
    assert outlines["encoding"]["strokeWidth"]["scale"]["range"] == [1.5]
    assert "overtime (thin)" in spec["title"]["subtitle"]
    assert "short" not in spec["title"]["subtitle"]


def test_capacity_heatmap_one_cell_per_resource_month(stages):
    """The plan's cells, the first two forced to overtime and short, the second binding:
    its label carries the mark and the tooltip its worth."""
    cap = stages["capacity"].copy()
    cap.loc[cap.index[:2], "status"] = ["overtime", "short"]
    cap["binding"] = False
    cap.loc[cap.index[1], ["binding", "shadow_price"]] = [True, 41.2]
    spec = capacity_heatmap(cap).to_dict()
    rows = pd.DataFrame(_values(spec))
    assert len(rows) == cap["resource"].nunique() * cap["month"].nunique()
    assert not rows.duplicated(["resource", "month"]).any()
    assert rows["utilisation"].to_numpy() == pytest.approx(
        (rows["required_hours"] / rows["available_hours"]).to_numpy()
    )
    first, second = rows.iloc[0], rows.iloc[1]
    assert first["label"] == f"{round(first['utilisation'] * 100):.0f} %"
    assert second["label"] == f"{round(second['utilisation'] * 100):.0f} % {BINDING_MARK}"
    assert second["shadow_price"] == 41.2
    assert "binding: one more hour is worth money" in spec["title"]["subtitle"]
    assert (rows["label"].str.endswith(BINDING_MARK)).sum() == 1
    cells, outlines, text = spec["layer"]
    scale = cells["encoding"]["color"]["scale"]
    assert scale["domainMid"] == 1.0
    assert scale["clamp"] is True
    assert scale["domain"] == [0.0, 1.3]
    assert cells["encoding"]["x"]["field"] == "month"
    assert cells["encoding"]["y"]["field"] == "resource"
    tips = {t["field"] for t in cells["encoding"]["tooltip"]}
    assert tips >= {
        "available_hours",
        "required_hours",
        "overload_hours",
        "shortfall_hours",
        "status",
        "shadow_price",
        "shadow_price_overtime",
    }
    assert outlines["mark"]["filled"] is False
    flagged = [st for st in ("overtime", "short") if (cap["status"] == st).any()]
    assert outlines["transform"][0]["filter"]["oneOf"] == flagged
    assert outlines["encoding"]["stroke"]["scale"]["domain"] == flagged
    assert text["encoding"]["text"]["field"] == "label"


def test_capacity_heatmap_work_without_hours():
    """Available 0 with work: utilisation NaN -> "no hours", darkest colour; idle: "–"."""
    cap = pd.DataFrame(
        {
            "resource": ["R", "R"],
            "month": [M("2026-11-01"), M("2026-12-01")],
            "available_hours": [0.0, 0.0],
            "max_overtime_hours": [0.0, 0.0],
            "required_hours": [5.0, 0.0],
            "utilisation": [np.nan, np.nan],
            "overload_hours": [5.0, 0.0],
            "shortfall_hours": [5.0, 0.0],
            "status": ["short", "ok"],
        }
    )
    rows = _values(capacity_heatmap(cap).to_dict())
    assert [r["label"] for r in rows] == ["no hours", "–"]
    assert [r["shade"] for r in rows] == [1.3, None]


def test_material_chart_marks_short_months_and_unlimited_materials():
    """Steel short in 2026-12 (12 > 10); Glue has no limit (available NaN): bars only."""
    materials = pd.DataFrame(
        {
            "material": ["Steel", "Steel", "Glue"],
            "month": [M("2026-11-01"), M("2026-12-01"), M("2026-11-01")],
            "required": [8.0, 12.0, 3.0],
            "available": [10.0, 10.0, np.nan],
            "shortfall": [0.0, 2.0, 0.0],
            "unit_cost": [1.0, 1.0, np.nan],
        }
    )
    spec = material_chart(materials).to_dict()
    states = {(r["material"], r["month"]): r["state"] for r in _values(spec)}
    assert states == {
        ("Steel", "2026-11"): "covered",
        ("Steel", "2026-12"): "short",
        ("Glue", "2026-11"): "no limit",
    }
    assert [r["available"] for r in _values(spec)][-1] is None
    assert spec["facet"]["row"]["field"] == "material"
    bars, supply_line = spec["spec"]["layer"]
    colour = bars["encoding"]["color"]["scale"]
    assert colour["range"][colour["domain"].index("short")] == "#d62728"
    assert supply_line["encoding"]["y"]["field"] == "available"


def test_material_chart_legend_lists_only_the_states_drawn():
    """Every month covered: the legend is "covered" only, and the subtitle does not
    mention red months. No limit on any material: no "dashed: supply" either."""
    covered = pd.DataFrame(
        {
            "material": ["Steel", "Steel"],
            "month": [M("2026-11-01"), M("2026-12-01")],
            "required": [8.0, 9.0],
            "available": [10.0, 10.0],
            "shortfall": [0.0, 0.0],
        }
    )
    spec = material_chart(covered).to_dict()
    assert spec["spec"]["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["covered"]
    assert "red" not in spec["title"]["subtitle"]
    assert "dashed: supply" in spec["title"]["subtitle"]
    unlimited = covered.assign(available=np.nan)
    spec = material_chart(unlimited).to_dict()
    assert spec["spec"]["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["no limit"]
    assert "dashed" not in spec["title"]["subtitle"]


def test_material_chart_on_the_demo(stages):
    mat = stages["materials"]
    rows = _values(material_chart(mat).to_dict())
    assert len(rows) == len(mat)
    assert sum(r["state"] == "short" for r in rows) == int((mat["shortfall"] > 0).sum())


def test_budget_chart_actuals_plan_and_budget():
    """Actuals: 2026-09 F 10 + G 5 (budget 12 + 6), 2026-10 F 20 (budget 18, G none).
    Plan: 2026-11 F 30 + G 1 (budget F 25, G NaN) and 2026-12 F 40 (no budget at all)."""
    actuals = pd.DataFrame(
        {
            "family": ["F", "G", "F"],
            "month": [M("2026-09-01"), M("2026-09-01"), M("2026-10-01")],
            "revenue": [10.0, 5.0, 20.0],
            "budget_revenue": [12.0, 6.0, 18.0],
            "variance": [-2.0, -1.0, 2.0],
        }
    )
    financials = pd.DataFrame(
        {
            "family": ["F", "G", "F"],
            "month": [M("2026-11-01"), M("2026-11-01"), M("2026-12-01")],
            "revenue": [30.0, 1.0, 40.0],
            "budget_revenue": [25.0, np.nan, np.nan],
        }
    )
    spec = budget_chart(financials, actuals).to_dict()
    got = {(r["series"], r["month"]): r["revenue"] for r in _values(spec)}
    assert got == {
        ("actual", "2026-09-01"): 15.0,
        ("actual", "2026-10-01"): 20.0,
        ("plan", "2026-11-01"): 31.0,
        ("plan", "2026-12-01"): 40.0,
        ("budget", "2026-09-01"): 18.0,
        ("budget", "2026-10-01"): 18.0,
        ("budget", "2026-11-01"): 25.0,
    }
    enc = spec["encoding"]
    assert enc["strokeDash"]["scale"]["domain"] == ["actual", "plan", "budget"]
    assert enc["strokeDash"]["scale"]["range"][1] != [1, 0]  # the plan is dashed
    assert enc["color"]["scale"]["range"][2] == "#9e9e9e"  # the budget is grey


def test_budget_chart_legend_lists_only_the_series_drawn():
    """No actuals: plan and budget. No budget anywhere: actual and plan. The colours and
    dashes stay with their series."""
    financials = pd.DataFrame(
        {
            "family": ["F", "F"],
            "month": [M("2026-11-01"), M("2026-12-01")],
            "revenue": [30.0, 40.0],
            "budget_revenue": [25.0, np.nan],
        }
    )
    actuals = pd.DataFrame(
        {
            "family": ["F"],
            "month": [M("2026-10-01")],
            "revenue": [20.0],
            "budget_revenue": [np.nan],
        }
    )
    no_actuals = budget_chart(financials, actuals.iloc[:0]).to_dict()
    colour = no_actuals["encoding"]["color"]["scale"]
    assert colour["domain"] == ["plan", "budget"]
    assert colour["range"] == ["#ff7f0e", "#9e9e9e"]
    assert no_actuals["encoding"]["strokeDash"]["scale"]["range"] == [[6, 4], [1, 0]]
    assert "actual" not in no_actuals["title"]["subtitle"]
    no_budget = budget_chart(financials.assign(budget_revenue=np.nan), actuals).to_dict()
    assert no_budget["encoding"]["color"]["scale"]["domain"] == ["actual", "plan"]
    assert {r["series"] for r in _values(no_budget)} == {"actual", "plan"}
    assert "budget" not in no_budget["title"]["subtitle"].replace("against budget", "")


def test_budget_chart_on_the_demo(stages):
    fin, act = stages["financials"], stages["actuals"]
    rows = pd.DataFrame(_values(budget_chart(fin, act).to_dict()))
    plan = rows[rows["series"] == "plan"]["revenue"].sum()
    assert plan == pytest.approx(fin["revenue"].sum())
    assert rows[rows["series"] == "actual"]["revenue"].sum() == pytest.approx(act["revenue"].sum())


def test_scenario_chart_shows_the_demand_held_back_when_the_fill_rate_is_given():
    scen = pd.DataFrame(
        {
            "scenario": ["baseline", "tight"], "first_month": M("2026-11-01"),
            "last_month": M("2027-10-01"), "revenue": [100.0, 90.0],
            "budget_revenue": [100.0, 100.0], "revenue_vs_budget_pct": [0.0, -10.0],
            "margin_pct": [30.0, 28.0], "peak_utilisation": [0.9, 1.2],
            "overloaded_resource_months": [0, 4], "fill_rate": [0.994, 0.95],
        }
    )  # fmt: skip
    spec = scenario_chart(scen).to_dict()
    assert len(spec["hconcat"]) == 3
    assert spec["hconcat"][2]["layer"][0]["encoding"]["x"]["field"] == "held_back"
    rows = {r["scenario"]: r for r in _values(spec)}
    assert rows["tight"]["held_back"] == pytest.approx(0.05)
    assert rows["baseline"]["held_label"] == "0.6 %"


def test_scenario_chart_baseline_first_and_no_hours():
    """Given out of order; a peak of inf (work without hours) has no bar and says so."""
    scen = pd.DataFrame(
        {
            "scenario": ["up", "baseline"],
            "first_month": M("2026-11-01"),
            "last_month": M("2027-10-01"),
            "revenue": [110.0, 100.0],
            "budget_revenue": [100.0, 100.0],
            "revenue_vs_budget_pct": [10.0, -2.5],
            "margin_pct": [30.0, 30.0],
            "peak_utilisation": [np.inf, 0.9],
            "overloaded_resource_months": [3, 0],
        }
    )
    chart = scenario_chart(scen)
    json.loads(chart.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in chart JSON"))
    spec = chart.to_dict()
    assert spec["title"]["subtitle"].endswith("2026-11 to 2027-10")
    budget, peak = spec["hconcat"]
    assert budget["layer"][0]["encoding"]["y"]["sort"] == ["baseline", "up"]
    assert budget["layer"][0]["encoding"]["x"]["field"] == "revenue_vs_budget_pct"
    assert peak["layer"][0]["encoding"]["x"]["field"] == "peak_utilisation"
    assert budget["layer"][-1]["data"]["values"] == [{"at": 0.0}]
    assert peak["layer"][-1]["data"]["values"] == [{"at": 1.0}]
    rows = {r["scenario"]: r for r in _values(spec)}
    assert rows["up"]["peak_utilisation"] is None
    assert rows["up"]["peak_label"] == "no hours"
    assert rows["baseline"]["budget_label"] == "-2.5 %"
    assert rows["baseline"]["budget_side"] == "below"
    assert rows["up"]["peak_side"] == "above"


def test_service_chart_lines_and_target(stages):
    spec = service_chart(stages["service"], target=0.95).to_dict()
    lines, rule = spec["layer"]
    rows = _values(lines)
    assert {r["measure"] for r in rows} == {"OTIF", "fill rate"}
    assert len(rows) == 2 * len(stages["service"])
    otif = [r["rate"] for r in rows if r["measure"] == "OTIF"]
    assert otif == pytest.approx(stages["service"]["otif"].tolist())
    assert lines["encoding"]["y"]["axis"]["format"] == "%"
    assert rule["data"]["values"] == [{"target": 0.95}]
    assert rule["mark"]["strokeDash"]
    with pytest.raises(SopError, match="target"):
        service_chart(stages["service"], target=95)


def test_service_chart_names_its_window_and_draws_only_measured_series():
    """The subtitle states the months of the table. A window whose lines request no units
    has OTIF but no fill rate: the legend is OTIF only. No lines at all: says so."""
    months = pd.date_range("2026-05-01", periods=6, freq="MS")
    service = pd.DataFrame({"month": months, "lines": 3, "otif": 0.9, "fill_rate": np.nan})
    spec = service_chart(service, target=0.95).to_dict()
    assert "2026-05 to 2026-10 (6 months)" in spec["title"]["subtitle"]
    lines = spec["layer"][0]
    assert lines["encoding"]["color"]["scale"]["domain"] == ["OTIF"]
    assert {r["measure"] for r in _values(lines)} == {"OTIF"}
    empty = service.assign(lines=0, otif=np.nan)
    (row,) = _values(service_chart(empty, target=0.95).to_dict())
    assert row["message"] == "No order lines were requested in these months"


def test_kpi_cards_show_formatted_values_and_escape_text():
    kpis = pd.DataFrame(
        {
            "kpi": ["otif", "revenue_12m", "evil"],
            "label": ["OTIF", "Planned revenue", "<b>x</b>"],
            "value": [0.912, 1234567.0, 1.0],
            "unit": ["ratio", "currency", "count"],
            "target": [0.95, np.nan, np.nan],
            "status": ["watch", None, "bad"],
            "description": ["On time & in full", "Revenue", "<script>alert(1)</script>"],
        }
    )
    html = kpi_cards(kpis).data
    for text in kpi.format_kpis(kpis)["value"]:
        assert text in html
    assert "91.2 %" in html
    assert "target 95.0 %" in html
    assert "1,234,567" in html
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "On time &amp; in full" in html
    assert ">OTIF<" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert ">watch<" in html
    assert ">bad<" in html
    assert "http" not in html


EMPTY_CASES = [
    (
        "forecast",
        lambda s: forecast_chart(s["sales_history"][:0], s["forecast"][:0], s["products"]),
    ),
    ("accuracy", lambda s: accuracy_chart(s["accuracy"][:0])),
    (
        "consensus",
        lambda s: consensus_chart(s["demand_plan"][:0], s["adjustments"][:0], s["products"]),
    ),
    ("production", lambda s: production_chart(s["supply_plan"][:0], s["products"])),
    ("capacity", lambda s: capacity_heatmap(s["capacity"][:0])),
    ("materials", lambda s: material_chart(s["materials"][:0])),
    ("budget", lambda s: budget_chart(s["financials"][:0], s["actuals"][:0])),
    ("scenarios", lambda s: scenario_chart(s["scenarios"][:0])),
    ("service", lambda s: service_chart(s["service"][:0], target=0.9)),
]


@pytest.mark.parametrize(("name", "make"), EMPTY_CASES, ids=[c[0] for c in EMPTY_CASES])
def test_empty_inputs_give_a_chart_that_says_so(stages, name, make):
    spec = make(stages).to_dict()
    assert spec["mark"]["type"] == "text"
    (row,) = _values(spec)
    expected = "No material constraints in the data" if name == "materials" else "No data to show"
    assert row["message"] == expected
    assert spec["title"]["text"]


def test_kpi_cards_without_kpis():
    empty = pd.DataFrame(columns=kpi.KPI_COLUMNS)
    assert "No KPIs" in kpi_cards(empty).data


def test_stage_charts_are_plain_json_offline(stages):
    """No NaN, infinity or Timestamp in any spec, no URL data; every chart is titled."""
    s = stages
    for chart in (
        forecast_chart(s["sales_history"], s["forecast"], s["products"]),
        accuracy_chart(s["accuracy"]),
        consensus_chart(s["demand_plan"], s["adjustments"], s["products"]),
        production_chart(s["supply_plan"], s["products"]),
        capacity_heatmap(s["capacity"]),
        material_chart(s["materials"]),
        budget_chart(s["financials"], s["actuals"]),
        scenario_chart(s["scenarios"]),
        service_chart(s["service"], target=0.95),
    ):
        text = chart.to_json()
        json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in chart JSON"))
        assert '"url"' not in text
        assert chart.to_dict()["title"]["text"]


def test_forecast_chart_and_heatmap_render_to_svg(stages):
    s = stages
    forecast_svg = vl_convert.vegalite_to_svg(
        forecast_chart(s["sales_history"], s["forecast"], s["products"]).to_json()
    )
    assert "Demand by family" in forecast_svg
    assert "forecast from 2026-11" in forecast_svg
    heat_svg = vl_convert.vegalite_to_svg(capacity_heatmap(s["capacity"]).to_json())
    assert heat_svg.lstrip().startswith("<svg")
    assert "Capacity utilisation" in heat_svg


def test_stage_charts_raise_sop_error_on_missing_columns(stages):
    with pytest.raises(SopError, match="utilisation"):
        capacity_heatmap(stages["capacity"].drop(columns="utilisation"))
    with pytest.raises(SopError, match="source"):
        consensus_chart(
            stages["demand_plan"], stages["adjustments"].drop(columns="source"), stages["products"]
        )
    with pytest.raises(SopError, match="peak_utilisation"):
        scenario_chart(stages["scenarios"].drop(columns="peak_utilisation"))
    with pytest.raises(SopError, match="status"):
        kpi_cards(pd.DataFrame({"kpi": ["x"]}))


def test_table_shows_the_planners_text_and_never_runs_it():
    """A sales input's reason holding HTML is escaped in the report, not executed."""
    df = pd.DataFrame({"reason": ["<script>document.title='PWNED'</script>", "a & b"]})
    html = table(df).to_html()
    assert "<script>" not in html
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in html
    assert "a &amp; b" in html


def test_table_keeps_the_decimals_of_a_sales_inputs_value_and_signs_fva():
    """A pct input of 7.5 is not rounded to 8 as if it were money; FVA reads as points."""
    import re

    df = pd.DataFrame(
        {"value": [7.5, -2.4], "fva_wape": [0.045, -0.012], "inventory_value": [1234.5, 10.0]}
    )
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table(df).to_html())
    assert cells == ["7.50", "+4.5 pts", "1,234", "-2.40", "-1.2 pts", "10"]
