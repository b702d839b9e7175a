"""Tests of the built-in demo company (sopkit.demo).

The demo is generated, so the tests check the properties the later stages rely on
(contract format, consistency between tables, the planning stories it must tell)
rather than exact numbers. All but one run on a small company (24 SKUs, 30 months).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.demo import MARGIN_ALLOWANCE, make_demo
from sopkit.errors import SopError

SMALL = {"seed": 7, "last_month": "2026-10", "n_skus": 24, "n_months": 30, "horizon": 18}
LAST = pd.Timestamp("2026-10-01")
CYCLE = pd.Timestamp("2026-11-01")
END_OF_HISTORY = pd.Timestamp("2026-10-31")

COLUMNS = {
    "products": [
        "sku",
        "description",
        "family",
        "unit_price",
        "unit_cost",
        "status",
        "launch_month",
        "eol_month",
        "like_sku",
    ],
    "sales_history": ["sku", "region", "month", "qty"],
    "order_lines": [
        "order_id",
        "sku",
        "region",
        "customer",
        "order_date",
        "requested_date",
        "requested_qty",
        "shipped_date",
        "shipped_qty",
    ],
    "inventory": ["sku", "on_hand", "safety_stock"],
    "resources": [
        "resource",
        "month",
        "regular_hours",
        "max_overtime_hours",
        "overtime_cost_per_hour",
    ],
    "routings": ["sku", "resource", "hours_per_unit"],
    "bom": ["sku", "material", "qty_per_unit"],
    "material_supply": ["material", "month", "max_qty", "unit_cost"],
    "costs": [
        "sku",
        "holding_cost_per_unit_month",
        "backlog_cost_per_unit_month",
        "subcontract_cost_per_unit",
        "max_subcontract_qty",
    ],
    "workforce": [
        "resource",
        "workers",
        "hours_per_worker_month",
        "hire_cost",
        "layoff_cost",
        "regular_cost_per_hour",
    ],
    "sales_inputs": ["sku", "family", "region", "month", "kind", "value", "reason", "author"],
    "budget": ["family", "month", "revenue", "margin"],
}
MONTH_COLUMNS = {"month", "launch_month", "eol_month"}
DATE_COLUMNS = {"order_date", "requested_date", "shipped_date"}


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return make_demo(**SMALL)


def _sku_month(sales: pd.DataFrame) -> pd.DataFrame:
    """Demand per SKU and month, all regions, as a SKU x month table."""
    return sales.pivot_table(index="sku", columns="month", values="qty", aggfunc="sum")


def _shipped_due(order_lines: pd.DataFrame) -> pd.DataFrame:
    return order_lines[order_lines["requested_date"] <= END_OF_HISTORY]


# --------------------------------------------------------------------------- format


def test_same_arguments_give_identical_tables(demo):
    """Two calls with the same seed must agree frame by frame."""
    again = make_demo(**SMALL)
    assert list(again) == list(demo)
    for name in demo:
        pd.testing.assert_frame_equal(again[name], demo[name], obj=name)


def test_another_seed_gives_other_data(demo):
    other = make_demo(**{**SMALL, "seed": SMALL["seed"] + 1})
    assert not other["sales_history"].equals(demo["sales_history"])
    assert not other["products"]["unit_price"].equals(demo["products"]["unit_price"])


def test_every_contract_table_with_its_columns_and_dtypes(demo):
    """Column names and order as the contract lists them; text holds str or None."""
    assert sorted(demo) == sorted(COLUMNS)
    for name, columns in COLUMNS.items():
        df = demo[name]
        assert list(df.columns) == columns, name
        assert len(df) > 0, name
        for col in columns:
            dtype = df[col].dtype
            if col in MONTH_COLUMNS | DATE_COLUMNS:
                assert dtype == "datetime64[ns]", (name, col)
            elif dtype == "object":
                assert df[col].map(lambda v: v is None or type(v) is str).all(), (name, col)
            else:
                assert dtype == "float64", (name, col)
        for col in MONTH_COLUMNS & set(columns):
            months = df[col].dropna()
            assert (months == months.dt.to_period("M").dt.to_timestamp()).all(), (name, col)
        for col in DATE_COLUMNS & set(columns):
            dates = df[col].dropna()
            assert (dates == dates.dt.normalize()).all(), (name, col)


def test_keys_are_unique(demo):
    keys = {
        "products": ["sku"],
        "sales_history": ["sku", "region", "month"],
        "order_lines": ["order_id", "sku"],
        "inventory": ["sku"],
        "resources": ["resource", "month"],
        "routings": ["sku", "resource"],
        "bom": ["sku", "material"],
        "material_supply": ["material", "month"],
        "costs": ["sku"],
        "workforce": ["resource"],
        "budget": ["family", "month"],
    }
    for name, key in keys.items():
        assert not demo[name].duplicated(key).any(), name


def test_demo_passes_the_contract_validation(demo):
    """The default data source must load through sopkit.data without a problem."""
    from sopkit.data import validate_tables

    ds = validate_tables(demo, source="demo")
    assert len(ds.products) == SMALL["n_skus"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"last_month": "2026-13"}, "last_month"),
        ({"n_skus": 5}, "n_skus"),
        ({"n_months": 6}, "n_months"),
        ({"horizon": 2}, "horizon"),
    ],
)
def test_bad_arguments_are_explained(kwargs, match):
    with pytest.raises(SopError, match=match):
        make_demo(**{**SMALL, **kwargs})


# --------------------------------------------------------------------------- products, history


def test_products_families_prices_and_margins(demo):
    p = demo["products"]
    assert set(p["family"]) == {"Kettles", "Blenders", "Coffee", "Spares"}
    prefix = p["family"].map({"Kettles": "KT", "Blenders": "BL", "Coffee": "CF", "Spares": "SP"})
    assert (p["sku"].str[:2] == prefix).all()
    assert p["sku"].str.fullmatch(r"[A-Z]{2}-\d{4}").all()
    margin = 1 - p["unit_cost"] / p["unit_price"]
    assert margin.between(0.245, 0.555).all()
    assert p["description"].str.len().gt(5).all()


def test_history_covers_n_months_and_three_regions(demo):
    sh = demo["sales_history"]
    assert set(sh["region"]) == {"North", "South", "West"}
    assert sh["month"].max() == LAST
    assert sh["month"].nunique() == SMALL["n_months"]
    assert (sh["qty"] >= 0).all()
    assert (sh["qty"] == sh["qty"].round()).all()


def test_history_only_while_the_sku_exists(demo):
    """No row before launch; a discontinued item's last sales month is its eol_month."""
    p = demo["products"].set_index("sku")
    sh = demo["sales_history"]
    first = sh.groupby("sku")["month"].min()
    last = sh.groupby("sku")["month"].max()
    launched_inside = p["launch_month"] >= sh["month"].min()
    assert (
        first[launched_inside.index[launched_inside]] == p.loc[launched_inside, "launch_month"]
    ).all()
    assert (first >= p["launch_month"].reindex(first.index)).all()
    disc = p.index[p["status"] == "discontinued"]
    assert len(disc) >= 1
    assert (last[disc] == p.loc[disc, "eol_month"]).all()
    assert (last[disc] <= LAST - pd.DateOffset(months=3)).all()
    alive = p.index[p["status"] != "discontinued"]
    assert (last[alive] == LAST).all()


def test_new_items_with_and_without_like_sku(demo):
    p = demo["products"].set_index("sku")
    new = p[p["status"] == "new"]
    assert (new["launch_month"] > LAST - pd.DateOffset(months=12)).all()
    assert (new["launch_month"] <= LAST).all()
    with_like = new[new["like_sku"].notna()]
    assert len(with_like) >= 1
    assert new["like_sku"].isna().sum() >= 1
    like = p.loc[with_like["like_sku"]]
    assert (like["family"].to_numpy() == with_like["family"].to_numpy()).all()
    assert (like["launch_month"].to_numpy() < with_like["launch_month"].to_numpy()).all()


def test_phase_out_items_decline_and_end_after_the_cycle(demo):
    p = demo["products"]
    phase = p.loc[p["status"] == "phase_out", "sku"]
    assert len(phase) >= 1
    eol = p.loc[p["status"] == "phase_out", "eol_month"]
    assert (eol > LAST).all()
    assert (eol <= LAST + pd.DateOffset(months=6)).all()
    # the last three months against the same months a year earlier (no season in it)
    demand = _sku_month(demo["sales_history"]).loc[phase]
    assert (demand.iloc[:, -3:].mean(axis=1) < 0.8 * demand.iloc[:, -15:-12].mean(axis=1)).all()


def test_intermittent_slow_movers(demo):
    """Spares have at least 30 % months without any demand (all regions together)."""
    demand = _sku_month(demo["sales_history"])
    zero_share = (demand == 0).sum(axis=1) / demand.notna().sum(axis=1)
    p = demo["products"].set_index("sku")
    spares = p.index[p["family"] == "Spares"]
    assert len(spares) >= 1
    assert (zero_share[spares] >= 0.3).all()
    assert (zero_share[p.index[p["family"] == "Coffee"]] < 0.1).all()


def test_seasonality_differs_by_family(demo):
    """Blenders peak before Christmas; coffee is nearly flat.

    Measured per SKU (November-December against the whole last two years) on items
    sold through the whole history, so launches and run-outs do not blur it.
    """
    p = demo["products"].set_index("sku")
    old = p.index[(p["status"] == "active") & (p["launch_month"] < LAST - pd.DateOffset(months=29))]
    demand = _sku_month(demo["sales_history"]).loc[old].iloc[:, -24:]
    peak = demand.loc[:, demand.columns.month.isin([11, 12])].mean(axis=1) / demand.mean(axis=1)
    by_family = peak.groupby(p.loc[old, "family"]).median()
    assert by_family["Blenders"] > 1.5
    assert 0.9 < by_family["Coffee"] < 1.1
    assert by_family["Kettles"] > 1.0


# --------------------------------------------------------------------------- order lines


def test_order_lines_add_up_to_history(demo):
    """sum(requested_qty) by sku, region and order month == sales_history.qty."""
    ol = demo["order_lines"]
    sh = demo["sales_history"]
    months = ol["order_date"].dt.to_period("M").dt.to_timestamp()
    assert months.min() == LAST - pd.DateOffset(months=23)
    lines = ol.groupby(["sku", "region", months.rename("month")])["requested_qty"].sum()
    hist = sh[sh["month"] >= months.min()].set_index(["sku", "region", "month"])["qty"]
    both = pd.concat([lines.rename("lines"), hist.rename("hist")], axis=1).fillna(0)
    assert (both["lines"] == both["hist"]).all()
    per_cell = ol.groupby(["sku", "region", months])["order_id"].size()
    assert per_cell.between(1, 4).all()
    assert (ol["requested_qty"] >= 1).all()


def test_order_line_dates_and_open_lines(demo):
    ol = demo["order_lines"]
    lead = (ol["requested_date"] - ol["order_date"]).dt.days
    assert lead.between(3, 20).all()
    shipped = ol["shipped_date"].notna()
    assert (ol.loc[shipped, "shipped_date"] >= ol.loc[shipped, "order_date"]).all()
    assert (ol.loc[shipped, "shipped_date"] <= END_OF_HISTORY).all()
    assert (ol["shipped_qty"].isna() == ~shipped).all()
    assert (~shipped).sum() >= 1
    assert (ol.loc[~shipped, "requested_date"] > END_OF_HISTORY).all()
    assert ol["customer"].str.fullmatch(r"C-\d{3}").all()
    assert ol["order_id"].is_unique


def test_otif_and_fill_rate_in_range(demo):
    """On time: shipped_date <= requested_date; in full: shipped_qty >= requested_qty."""
    due = _shipped_due(demo["order_lines"])
    on_time = due["shipped_date"] <= due["requested_date"]
    in_full = due["shipped_qty"] >= due["requested_qty"]
    otif = (on_time & in_full).mean()
    fill = due["shipped_qty"].sum() / due["requested_qty"].sum()
    assert 0.85 <= otif <= 0.93
    assert 0.95 <= fill <= 0.98
    assert (~on_time).sum() > 0
    assert (~in_full).sum() > 0
    assert (due["shipped_qty"] <= due["requested_qty"]).all()


def test_more_misses_in_peak_months(demo):
    due = _shipped_due(demo["order_lines"])
    due = due.merge(demo["products"][["sku", "family"]], on="sku")
    blenders = due[due["family"] == "Blenders"]
    miss = (blenders["shipped_date"] > blenders["requested_date"]) | (
        blenders["shipped_qty"] < blenders["requested_qty"]
    )
    peak = blenders["order_date"].dt.month.isin([11, 12])
    assert miss[peak].mean() > miss[~peak].mean() + 0.05


# --------------------------------------------------------------------------- supply side


def test_inventory_for_every_live_sku(demo):
    p = demo["products"]
    inv = demo["inventory"].set_index("sku")
    assert set(inv.index) == set(p.loc[p["status"] != "discontinued", "sku"])
    recent = _sku_month(demo["sales_history"]).iloc[:, -6:].mean(axis=1).reindex(inv.index)
    assert (inv["on_hand"] >= np.floor(0.5 * recent) - 0.5).all()
    assert (inv["on_hand"] <= np.ceil(2.0 * recent) + 0.5).all()
    assert (inv["safety_stock"] - 0.5 * recent).abs().le(0.5).all()


def test_routings_and_bom_cover_every_sku(demo):
    skus = set(demo["products"]["sku"])
    for name, col in (("routings", "hours_per_unit"), ("bom", "qty_per_unit")):
        df = demo[name]
        assert set(df["sku"]) == skus, name
        assert df.groupby("sku").size().between(1, 2).all(), name
        assert (df[col] > 0).all(), name
    assert demo["routings"]["hours_per_unit"].between(0.05, 0.6).all()
    assert demo["resources"]["resource"].nunique() == 5
    assert set(demo["bom"]["material"]) == set(demo["material_supply"]["material"])
    assert demo["bom"]["material"].nunique() == 3


def _hours_needed_last_year(demo) -> pd.DataFrame:
    sh = demo["sales_history"]
    recent = sh[sh["month"] > LAST - pd.DateOffset(months=12)]
    load = recent.merge(demo["routings"], on="sku")
    load["hours"] = load["qty"] * load["hours_per_unit"]
    # a resource whose SKUs have all stopped selling needs no hours
    return load.groupby(["resource", "month"])["hours"].sum().unstack(fill_value=0.0)


def test_capacity_binds_in_the_peak(demo):
    """Last year's load: some months above regular hours, none above regular + overtime."""
    need = _hours_needed_last_year(demo)
    res = demo["resources"]
    base = res[res["month"].isna()].set_index("resource").loc[need.index]
    over = need.gt(base["regular_hours"], axis=0)
    assert over.to_numpy().any()
    assert need.le(base["regular_hours"] + base["max_overtime_hours"], axis=0).to_numpy().all()
    # 15-20 % of regular hours, give or take the rounding up to whole hours
    share = base["max_overtime_hours"] / base["regular_hours"]
    slack = 1 / base["regular_hours"]
    assert (share >= 0.15 - slack).all()
    assert (share <= 0.20 + slack).all()
    # the seasonal resources have quiet months well under their regular hours
    assert (need.min(axis=1) / base["regular_hours"]).min() < 0.75


def test_planned_maintenance_in_two_future_months(demo):
    res = demo["resources"]
    dated = res[res["month"].notna()]
    assert len(dated) == 2
    assert dated["resource"].nunique() == 1
    assert (dated["month"] >= CYCLE).all()
    assert (dated["month"] < CYCLE + pd.DateOffset(months=SMALL["horizon"])).all()
    base = res[res["month"].isna()].set_index("resource")
    assert (dated["regular_hours"].to_numpy() < base.loc[dated["resource"], "regular_hours"]).all()


def test_workforce_matches_regular_hours(demo):
    wf = demo["workforce"].set_index("resource")
    res = demo["resources"]
    base = res[res["month"].isna()].set_index("resource").loc[wf.index]
    capacity = wf["workers"] * wf["hours_per_worker_month"]
    assert (capacity - base["regular_hours"]).abs().le(0.05 * wf["workers"] + 1e-6).all()
    assert (wf["workers"] == wf["workers"].round()).all()
    rate = wf["regular_cost_per_hour"].to_numpy()
    assert np.allclose(base["overtime_cost_per_hour"].to_numpy(), 1.5 * rate)


def test_one_material_runs_short_for_three_months(demo):
    """The short material's max_qty is below its need (same month last year) in 3 months."""
    ms = demo["material_supply"]
    future = pd.date_range(CYCLE, periods=SMALL["horizon"], freq="MS")
    for _, rows in ms.groupby("material"):
        assert list(rows["month"]) == list(future)
    cap = ms.pivot(index="month", columns="material", values="max_qty")
    dips = cap.lt(0.8 * cap.median(), axis=1)
    short = dips.columns[dips.any()]
    assert len(short) == 1
    short_months = cap.index[dips[short[0]]]
    expected = pd.date_range(CYCLE + pd.DateOffset(months=2), periods=3, freq="MS")
    assert list(short_months) == list(expected)

    sh = demo["sales_history"].merge(demo["bom"], on="sku")
    sh["need"] = sh["qty"] * sh["qty_per_unit"]
    need = sh.groupby(["material", "month"])["need"].sum().unstack()
    last_year = need.loc[:, need.columns > LAST - pd.DateOffset(months=12)]
    for month in short_months:
        same_month = need.loc[short[0], month - pd.DateOffset(months=12)]
        assert cap.loc[month, short[0]] < same_month
        assert cap.loc[month, short[0]] < 0.8 * last_year.loc[short[0]].mean()
    ample = [m for m in cap.columns if m != short[0]]
    assert (cap[ample].min() > 1.3 * last_year.loc[ample].max(axis=1)).all()


def test_costs_per_sku(demo):
    p = demo["products"].set_index("sku")
    c = demo["costs"].set_index("sku").loc[p.index]
    assert (c["holding_cost_per_unit_month"] / p["unit_cost"]).between(0.0149, 0.0201).all()
    assert np.allclose(c["backlog_cost_per_unit_month"], 0.1 * p["unit_price"], atol=0.006)
    assert np.allclose(c["subcontract_cost_per_unit"], 1.3 * p["unit_cost"], atol=0.006)
    assert (c["max_subcontract_qty"] >= 0).all()
    assert c.loc[p["family"] == "Coffee", "max_subcontract_qty"].gt(0).all()


# --------------------------------------------------------------------------- sales inputs, budget


def test_sales_inputs(demo):
    si = demo["sales_inputs"]
    assert 5 <= len(si) <= 8
    assert (si["sku"].isna() != si["family"].isna()).all()
    assert si["month"].between(CYCLE, CYCLE + pd.DateOffset(months=SMALL["horizon"] - 1)).all()
    assert set(si["kind"]) == {"pct", "abs"}
    assert ((si["kind"] == "pct") & (si["value"] == 25) & si["sku"].notna()).any()
    assert ((si["kind"] == "pct") & si["family"].notna() & (si["value"] < 0)).sum() == 2
    assert ((si["kind"] == "abs") & (si["value"] == 300) & si["region"].notna()).any()
    assert ((si["kind"] == "abs") & (si["value"] < 0)).any()
    assert si["reason"].str.len().gt(0).all()
    assert si["author"].str.len().gt(0).all()
    live = demo["products"].query("status in ['active', 'new']")["sku"]
    assert si["sku"].dropna().isin(live).all()


def _revenue(demo) -> pd.DataFrame:
    sh = demo["sales_history"].merge(demo["products"], on="sku")
    sh["revenue"] = sh["qty"] * sh["unit_price"]
    return sh.groupby(["family", "month"])["revenue"].sum().unstack()


def test_budget_months_and_ambition(demo):
    """Budget for cycle-12 .. cycle+horizon-1, above last year's revenue in total."""
    bud = demo["budget"].pivot(index="family", columns="month", values="revenue")
    expected = pd.date_range(
        CYCLE - pd.DateOffset(months=12), periods=12 + SMALL["horizon"], freq="MS"
    )
    assert list(bud.columns) == list(expected)
    assert set(bud.index) == set(demo["products"]["family"])
    rev = _revenue(demo)
    last_year = rev.loc[:, rev.columns >= CYCLE - pd.DateOffset(months=12)]
    next_year = bud.loc[
        :, (bud.columns >= CYCLE) & (bud.columns < CYCLE + pd.DateOffset(months=12))
    ]
    ratio = next_year.sum().sum() / last_year.sum().sum()
    assert 1.05 < ratio < 1.25
    # the budget of the past twelve months was also set above the year before it
    past = bud.loc[:, bud.columns < CYCLE]
    year_before = rev.loc[past.index, rev.columns < CYCLE - pd.DateOffset(months=12)].iloc[:, -12:]
    assert past.sum().sum() > 1.05 * year_before.sum().sum()


def test_budget_margin_is_the_standard_margin_less_the_allowance(demo):
    """Each family's budgeted margin is its revenue x (1 - its cost of goods over its
    revenue, over the whole history) less MARGIN_ALLOWANCE: a share within (0, 1) of the
    budgeted revenue, the same every month (to rounding)."""
    sh = demo["sales_history"].merge(demo["products"], on="sku")
    by = sh.assign(r=sh["qty"] * sh["unit_price"], c=sh["qty"] * sh["unit_cost"])
    by = by.groupby("family")[["r", "c"]].sum()
    share = 1 - by["c"] / by["r"] - MARGIN_ALLOWANCE
    bud = demo["budget"]
    got = bud["margin"] / bud["revenue"]
    expected = bud["family"].map(share)
    big = bud["revenue"] > 10_000  # rounding to tens moves small months more
    assert big.mean() > 0.5  # most months are compared
    assert np.allclose(got[big], expected[big], atol=1e-3)
    assert ((got > 0) & (got < 1)).all()


# --------------------------------------------------------------------------- full size


@pytest.mark.slow
def test_full_size_company():
    full = make_demo()  # its speed is measured by benchmarks/cycle.py, not here
    p = full["products"]
    assert len(p) >= 150
    assert p["family"].nunique() == 4
    assert full["sales_history"]["month"].nunique() == 48
    assert full["sales_history"]["region"].nunique() == 3
    assert set(p["status"]) == {"active", "new", "phase_out", "discontinued"}
    due = _shipped_due(full["order_lines"])
    otif = (
        (due["shipped_date"] <= due["requested_date"])
        & (due["shipped_qty"] >= due["requested_qty"])
    ).mean()
    assert 0.85 <= otif <= 0.93


@pytest.mark.slow
def test_five_thousand_skus_are_generated_in_seconds_and_valid():
    """The scale of DESIGN.md's 5,000-SKU cycle target (benchmarks/cycle.py --skus 5000).

    About 1.2 s on the 2-core machine (650,000 sales_history rows, 675,000 order lines),
    as `benchmarks/cycle.py --skus 5000` prints; no timing is asserted here.
    """
    from sopkit.data import validate_tables

    big = make_demo(n_skus=5000)
    p = big["products"]
    assert len(p) == 5000
    assert p["sku"].is_unique
    assert p["family"].nunique() == 4
    assert set(p["status"]) == {"active", "new", "phase_out", "discontinued"}
    assert big["sales_history"]["sku"].nunique() == 5000
    ds = validate_tables(big, source="demo company, 5,000 SKUs")  # raises on any problem
    assert len(ds.sales_history) == len(big["sales_history"])
