"""Stage 2's hierarchy: the levels above SKU x region forecast, reconciled, compared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit import demand
from sopkit.demand import levels as lv
from sopkit.demand.hierarchy import LEVEL_KEYS
from sopkit.errors import SopError
from sopkit.schemas import columns

CYCLE = pd.Timestamp("2026-11-01")
MONTHS = pd.date_range("2023-07-01", "2026-10-01", freq="MS")  # 40 months


def _history() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A, B in family F and C in G, sold in N and S for 40 months; D (G) since 2026-05 in
    N; B stopped selling in S after 2026-06; E (G, like C) launches in 2027-01."""
    rng = np.random.default_rng(3)
    season = 1 + 0.3 * np.sin(np.arange(len(MONTHS)) * 2 * np.pi / 12)
    rows = []
    for sku, region, level in [("A", "N", 50), ("A", "S", 30), ("B", "N", 20), ("B", "S", 15),
                               ("C", "N", 40), ("C", "S", 25)]:  # fmt: skip
        qty = np.round(level * season + rng.normal(0, level * 0.1, len(MONTHS)))
        for month, q in zip(MONTHS, np.maximum(qty, 0), strict=True):
            if sku == "B" and region == "S" and month > pd.Timestamp("2026-06-01"):
                continue
            rows.append((sku, region, month, float(q)))
    rows += [("D", "N", m, 10.0 + i) for i, m in enumerate(MONTHS[-6:])]
    sales = pd.DataFrame(rows, columns=["sku", "region", "month", "qty"])
    products = pd.DataFrame(
        {
            "sku": ["A", "B", "C", "D", "E"],
            "family": ["F", "F", "G", "G", "G"],
            "status": ["active", "active", "active", "new", "new"],
            "launch_month": pd.to_datetime(
                ["2023-07-01", "2023-07-01", "2023-07-01", "2026-05-01", "2027-01-01"]
            ),
            "like_sku": [None, None, None, None, "C"],
        }
    )
    return sales, products


@pytest.fixture(scope="module")
def planned():
    sales, products = _history()
    stat = demand.statistical_forecast(sales, CYCLE, 6, n_jobs=1, products=products)
    out = {}
    for method in ("bottom_up", "top_down", "mint_shrink"):
        out[method] = demand.plan_levels(stat, sales, products, CYCLE, 6, method=method, n_jobs=1)
    return stat, out


def _sums(frame: pd.DataFrame, products: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each level's yhat and bounds summed from the sku_region rows of ``frame``."""
    bottom = frame.loc[frame["level"] == "sku_region"].drop(columns="family")
    bottom = bottom.merge(products[["sku", "family"]], on="sku")
    cols = ["yhat", "yhat_lo_80", "yhat_hi_95"]
    return {
        level: bottom.groupby([*keys, "month"], as_index=False)[cols].sum()
        for level, keys in LEVEL_KEYS.items()
    }


def test_the_levels_above_are_forecast_from_their_own_history():
    sales, products = _history()
    up = demand.forecast_levels(sales, products, CYCLE, 6, n_jobs=1)
    nodes = up.models.set_index("node")
    assert set(up.models["level"]) == {"total", "family", "region", "family_region", "sku"}
    # E has no history: no node of its own; D sold in N only
    assert sorted(nodes.index[nodes["level"] == "sku"]) == ["sku:A", "sku:B", "sku:C", "sku:D"]
    assert nodes.loc["family_region:F/S", "n_months"] == 40
    assert nodes.loc["sku:D", "n_months"] == 6
    # every node is forecast from the cycle on, also one whose history ended earlier
    assert (up.forecast.groupby(["level", "family", "region", "sku"], dropna=False)["month"]
            .min() == CYCLE).all()  # fmt: skip
    assert len(up.forecast) == len(up.models) * 6
    assert (up.models["run"] == "forecast").all()
    assert list(up.models.columns) == columns("level_models")
    assert up.fitted["residual"].notna().sum() > 0


@pytest.mark.parametrize("method", ["bottom_up", "top_down", "mint_shrink"])
def test_every_level_adds_up_and_nothing_is_negative(planned, method):
    _, products = _history()
    plan = planned[1][method]
    frame = plan.levels
    assert list(frame.columns) == columns("forecast_levels")
    sums = _sums(frame, products)
    for level, keys in LEVEL_KEYS.items():
        got = frame.loc[frame["level"] == level, [*keys, "month", "yhat"]]
        both = got.merge(sums[level], on=[*keys, "month"], suffixes=("", "_sum"))
        assert len(both) == len(got) > 0
        assert both["yhat"].to_numpy() == pytest.approx(both["yhat_sum"].to_numpy(), rel=1e-9)
    values = ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
    assert (frame[values] >= 0).all().all()
    assert (frame["yhat_lo_95"] <= frame["yhat_lo_80"]).all()
    assert (frame["yhat_lo_80"] <= frame["yhat"]).all()
    assert (frame["yhat"] <= frame["yhat_hi_80"]).all()
    assert (frame["yhat_hi_80"] <= frame["yhat_hi_95"]).all()
    # the plan's forecast is the reconciled SKU x region level, row for row
    bottom = frame.loc[frame["level"] == "sku_region"]
    fc = plan.forecast.merge(bottom, on=["sku", "region", "month"], suffixes=("", "_lv"))
    assert len(fc) == len(plan.forecast)
    assert fc["yhat"].to_numpy() == pytest.approx(fc["yhat_lv"].to_numpy())
    assert list(plan.forecast.columns) == columns("forecast")


def test_bottom_up_keeps_the_sku_region_forecast_and_the_others_move_it(planned):
    stat, plans = planned
    pd.testing.assert_frame_equal(plans["bottom_up"].forecast, stat.forecast)
    total = {m: p.levels.query("level == 'total'")["yhat"].sum() for m, p in plans.items()}
    base_total = plans["bottom_up"].levels.query("level == 'total'")["base_yhat"].sum()
    # top-down keeps the total's own forecast and splits it
    assert total["top_down"] == pytest.approx(base_total)
    assert total["bottom_up"] != pytest.approx(base_total)
    # E, not launched, had no history of its own: its SKU base is its series' sum
    e = plans["mint_shrink"].levels.query("sku == 'E'")
    sku_e, bottom_e = e[e["level"] == "sku"], e[e["level"] == "sku_region"]
    assert sku_e["base_yhat"].sum() == pytest.approx(bottom_e["base_yhat"].sum())


def test_top_down_splits_the_total_by_the_last_twelve_months_shares():
    """Two SKUs in one region: A sold 30 a month and B 10 in the last 12 months, so
    top-down gives A 3/4 of the total's forecast whatever A's and B's own forecasts."""
    months = pd.date_range("2023-11-01", "2026-10-01", freq="MS")
    sales = pd.concat(
        [
            pd.DataFrame({"sku": "A", "region": "N", "month": months, "qty": 30.0}),
            pd.DataFrame({"sku": "B", "region": "N", "month": months, "qty": 10.0}),
        ]
    )
    sales.loc[(sales["sku"] == "B") & (sales["month"] < "2025-11-01"), "qty"] = 50.0
    products = pd.DataFrame({"sku": ["A", "B"], "family": ["F", "F"]})
    stat = demand.statistical_forecast(sales, CYCLE, 3, n_jobs=1)
    plan = demand.plan_levels(stat, sales, products, CYCLE, 3, method="top_down", n_jobs=1)
    frame = plan.levels
    total = frame.loc[frame["level"] == "total", "base_yhat"].to_numpy()
    a = frame.loc[(frame["level"] == "sku_region") & (frame["sku"] == "A"), "yhat"].to_numpy()
    assert a == pytest.approx(0.75 * total)


def test_mint_needs_residuals_and_an_unknown_method_is_refused(planned):
    sales, products = _history()
    stat = planned[0]
    up = demand.forecast_levels(sales, products, CYCLE, 6, n_jobs=1)
    with pytest.raises(SopError, match="in-sample residuals"):
        demand.reconcile_plan(stat.forecast, up, products, method="mint_shrink")
    with pytest.raises(SopError, match="Unknown reconciliation method 'middle_out'"):
        demand.reconcile_plan(stat.forecast, up, products, method="middle_out")
    short = demand.forecast_levels(sales, products, CYCLE, 3, n_jobs=1)
    with pytest.raises(SopError, match="different months"):
        demand.reconcile_plan(stat.forecast, short, products, method="bottom_up")


def test_compare_methods_scores_every_level_by_hand():
    """One region, SKUs A and B of family F; forecasts made in 2026-09 for 2 months.
    A: 10 a month, sold 12 and 8; B: 20 a month, sold 18 and 26. The total's own
    forecast is 33 a month. Bottom-up: total 30, 30 against 30, 34: WAPE 4/64; A's
    |10-12| + |10-8| = 4 over 20, B's 2 + 6 = 8 over 44; sku_region as sku: 12/64."""
    months = pd.to_datetime(["2026-09-01", "2026-10-01"])
    bottom = pd.DataFrame(
        {"sku": ["A", "A", "B", "B"], "region": "N", "month": list(months) * 2,
         "model": "ets", "yhat": [10.0, 10.0, 20.0, 20.0]}
    )  # fmt: skip
    for col in ("yhat_lo_80", "yhat_lo_95"):
        bottom[col] = bottom["yhat"] - 1
    for col in ("yhat_hi_80", "yhat_hi_95"):
        bottom[col] = bottom["yhat"] + 1
    products = pd.DataFrame({"sku": ["A", "B"], "family": ["F", "F"]})
    rows = []
    for level, keys in [("total", {}), ("family", {"family": "F"}), ("region", {"region": "N"}),
                        ("family_region", {"family": "F", "region": "N"})]:  # fmt: skip
        for m in months:
            rows.append({"level": level, "family": None, "region": None, "sku": None, **keys,
                         "month": m, "model": "ets", "yhat": 33.0})  # fmt: skip
    for sku, v in (("A", 10.0), ("B", 20.0)):
        for m in months:
            rows.append({"level": "sku", "family": None, "region": None, "sku": sku,
                         "month": m, "model": "ets", "yhat": v})  # fmt: skip
    upper = pd.DataFrame(rows)
    for col in ("yhat_lo_80", "yhat_lo_95"):
        upper[col] = upper["yhat"] - 1
    for col in ("yhat_hi_80", "yhat_hi_95"):
        upper[col] = upper["yhat"] + 1
    level_fc = lv.LevelForecast(upper, pd.DataFrame(), pd.DataFrame())
    sold = pd.DataFrame(
        {"sku": ["A", "A", "B", "B"], "region": "N", "month": list(months) * 2,
         "qty": [12.0, 8.0, 18.0, 26.0]}
    )  # fmt: skip
    table = lv.compare_methods(
        bottom, None, level_fc, sold, products, methods=["bottom_up"]
    ).set_index("level")
    assert table.loc["total", "wape"] == pytest.approx(4 / 64)
    assert table.loc["total", "bias"] == pytest.approx((60 - 64) / 64)
    assert table.loc["sku", "wape"] == pytest.approx(12 / 64)
    assert table.loc["sku_region", "wape"] == pytest.approx(12 / 64)
    levels_wape = [4 / 64, 4 / 64, 4 / 64, 4 / 64, 12 / 64, 12 / 64]
    assert table.loc["mean", "wape"] == pytest.approx(np.mean(levels_wape))
    assert bool(table.loc["mean", "best"])


def test_the_stage_backtest_compares_the_three_methods(planned):
    sales, products = _history()
    bt = demand.backtest(sales, products, CYCLE, holdout=6, n_jobs=1)
    result = demand.backtest_levels(bt, sales, products, CYCLE, holdout=6, n_jobs=1)
    acc = result.accuracy
    assert list(acc.columns) == columns("reconciliation_accuracy")
    assert set(acc["method"]) == {"bottom_up", "top_down", "mint_shrink"}
    assert acc.loc[acc["used"], "method"].unique().tolist() == ["mint_shrink"]
    assert acc.loc[acc["best"], "method"].nunique() == 1
    means = acc[acc["level"] == "mean"].set_index("method")["wape"]
    assert acc.loc[acc["best"], "method"].iloc[0] == means.idxmin()
    summary = demand.method_summary(acc)
    assert summary["mean_wape"].is_monotonic_increasing
    # coherent forecasts over- or under-forecast by the same share at every level
    for method, rows in acc[acc["level"] != "mean"].groupby("method"):
        assert rows["bias"].to_numpy() == pytest.approx(rows["bias"].iloc[0])
        bias = summary.set_index("method").loc[method, "bias"]
        assert bias == pytest.approx(rows["bias"].iloc[0])
    assert (result.models["run"] == "backtest").all()


def test_the_level_models_warm_start_the_next_run():
    sales, products = _history()
    first = demand.forecast_levels(sales, products, "2026-10", 6, n_jobs=1)
    earlier = demand.stack_level_models(first.models).assign(cycle="2026-10")
    second = demand.forecast_levels(sales, products, CYCLE, 6, n_jobs=1, warm_start=earlier)
    by = second.models.set_index("node")
    chosen = first.models.set_index("node")
    kept = by["selected_by"] == "warm start"
    assert kept.any()
    assert (by.loc[kept, "model"] == chosen.loc[by.index[kept], "model"]).all()
    assert (by.loc[kept, "age"] == 1).all()


def test_a_launch_is_added_to_the_levels_above_and_held_at_zero_before_it(planned):
    """E (family G, like C) launches in 2027-01: the family's, region's and total's models
    never saw it, so its SKU x region forecast is added to their base; before its launch
    its base is 0 and no method plans it."""
    stat, out = planned
    sales, products = _history()
    own = demand.forecast_levels(sales, products, CYCLE, 6, n_jobs=1).forecast
    e = stat.forecast.loc[stat.forecast["sku"] == "E"].groupby("month")["yhat"].sum()
    assert (e.loc[:"2026-12-01"] == 0).all()
    assert (e.loc["2027-01-01":] > 0).all()
    for method, plan in out.items():
        lev = plan.levels
        for level, key in (("family", "family"), ("region", "region"), ("total", None)):
            rows = lev["level"] == level
            mine = own["level"] == level
            if key:
                rows &= lev[key] == ("G" if key == "family" else "N")
                mine &= own[key] == ("G" if key == "family" else "N")
            base = lev.loc[rows].set_index("month")["base_yhat"]
            engine = own.loc[mine].set_index("month")["yhat"]
            region = stat.forecast["sku"].eq("E")
            if level == "region":
                region &= stat.forecast["region"].eq("N")
            launch = stat.forecast.loc[region].groupby("month")["yhat"].sum()
            expected = engine + launch.reindex(engine.index, fill_value=0.0)
            np.testing.assert_allclose(base.to_numpy(), expected.to_numpy(), err_msg=method)
        e_plan = lev.loc[(lev["level"] == "sku") & (lev["sku"] == "E")].set_index("month")
        assert (e_plan.loc[:"2026-12-01", "yhat"] == 0).all(), method


def test_a_first_cycle_starts_from_its_backtest_s_choices_a_later_one_from_the_earlier_cycle():
    backtest = pd.DataFrame({"sku": ["A"], "region": ["N"], "model": ["theta"],
                             "relative_mae": [0.8], "age": [0], "form": [""], "run": "backtest"})  # fmt: skip
    first = demand.first_choices(pd.DataFrame(), backtest)
    assert first.loc[0, "model"] == "theta"
    earlier = backtest.assign(run="forecast", model="ets", cycle="2026-10")
    assert demand.first_choices(earlier, backtest).loc[0, "model"] == "ets"
    assert demand.first_choices(None, None) is None
    levels = pd.DataFrame({"node": ["total"], "model": ["arima"], "run": ["backtest"]})
    assert (demand.first_level_choices(pd.DataFrame(), levels)["run"] == "forecast").all()
    earlier_levels = levels.assign(run="forecast", model="ets", cycle="2026-10")
    assert demand.first_level_choices(earlier_levels, levels) is earlier_levels
