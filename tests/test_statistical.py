"""Stage 2's use of the engine: SKU x region series, the model table, the engine's backtest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sopkit import demand
from sopkit.config import ConfigError, resolve_parameters
from sopkit.demand import (
    STATISTICAL,
    backtest,
    backtest_statistical,
    engine,
    model_choice,
    pooled_wape,
    statistical,
    statistical_forecast,
)
from sopkit.errors import DataValidationError, SopError
from sopkit.schemas import columns

CYCLE = pd.Timestamp("2026-11-01")
PATTERN = [10.0, 12.0, 30.0, 8.0, 5.0, 6.0, 9.0, 14.0, 20.0, 25.0, 40.0, 60.0]


def _history() -> pd.DataFrame:
    """Three series: a pure seasonal pattern (4 years), one that stopped selling in
    2026-06, and one launched in 2026-08 (3 months)."""
    months = pd.date_range("2022-11-01", "2026-10-01", freq="MS")
    rows = [("A", "North", m, PATTERN[i % 12]) for i, m in enumerate(months)]
    rows += [("B", "South", m, 5.0) for m in months if m <= pd.Timestamp("2026-06-01")]
    rows += [("C", "North", m, q) for m, q in zip(months[-3:], [4.0, 6.0, 8.0], strict=True)]
    rows += [("A", "North", pd.Timestamp("2026-11-01"), 999.0)]  # after the cycle: ignored
    return pd.DataFrame(rows, columns=["sku", "region", "month", "qty"])


PRODUCTS = pd.DataFrame({"sku": ["A", "B", "C"], "family": ["F", "F", "G"]})


def test_every_series_is_forecast_from_the_cycle_with_its_model_and_reason():
    fc, chosen, _ = statistical_forecast(_history(), CYCLE, 6, n_jobs=1)
    assert list(fc.columns) == columns("forecast")
    assert list(chosen.columns) == columns("forecast_models")
    assert len(fc) == 3 * 6
    assert (fc.groupby(["sku", "region"])["month"].min() == CYCLE).all()
    assert fc["month"].max() == pd.Timestamp("2027-04-01")
    by = chosen.set_index("sku")
    # A repeats its pattern exactly: the forecast is the pattern (the months after 2026-10)
    a = fc[fc["sku"] == "A"]["yhat"].to_numpy()
    assert a == pytest.approx(PATTERN[:6], abs=1e-6)
    # B sold 5 a month to 2026-06, then nothing for four months: those months are zeros
    # of its history, counted and said
    assert by.loc["B", "gaps_filled"] == 4
    assert by.loc["B", "n_months"] == 48
    assert "no row in the last 4 month(s) before the cycle: 0 sold" in by.loc["B", "reason"]
    assert by.loc["A", "gaps_filled"] == 0
    assert "no row" not in by.loc["A", "reason"]
    # C has three months: the documented rule, with its reason
    assert by.loc["C", "model"] == "mean_fallback"
    assert by.loc["C", "selected_by"] == "rule"
    assert by.loc["C", "reason"].startswith("3 month(s), fewer than the 7 a model needs")
    assert fc[fc["sku"] == "C"]["yhat"].to_numpy() == pytest.approx([6.0] * 6)
    assert (fc[columns("forecast")[4:]] >= 0).all().all()


def test_nothing_before_the_cycle_is_an_error():
    with pytest.raises(SopError, match="sales_history has no rows before 2022-11"):
        statistical_forecast(_history(), "2022-11", 6, n_jobs=1)


def test_the_model_table_counts_series_and_their_margin_over_seasonal_naive():
    chosen = pd.DataFrame(
        {
            "model": ["theta", "theta", "ets", "mean_fallback"],
            "selected_by": ["backtest", "backtest", "backtest", "rule"],
            "relative_mae": [0.5, 0.9, 0.8, np.nan],
        }
    )
    table = model_choice(chosen)
    assert table["model"].tolist() == ["theta", "ets", "mean_fallback"]
    assert table["series"].tolist() == [2, 1, 1]
    assert table["share"].tolist() == [0.5, 0.25, 0.25]
    assert table["by_backtest"].tolist() == [2, 1, 0]
    assert table["by_rule"].tolist() == [0, 0, 1]
    assert table["median_relative_mae"].iloc[0] == pytest.approx(0.7)
    assert np.isnan(table["median_relative_mae"].iloc[2])


def test_the_engine_backtest_is_made_on_the_history_before_its_origin_only():
    """The origin is 6 months before the cycle: the forecast of A is its pattern for
    2026-05 to 2026-10 (all of it, by lag), C (born 2026-08) is left out, as seasonal
    naive's backtest leaves it out."""
    h = _history()
    acc, chosen, _, _ = backtest_statistical(h, PRODUCTS, CYCLE, holdout=6, n_jobs=1)
    assert set(acc["model"]) == {STATISTICAL}
    # the models the backtest chose, at its origin: C did not exist yet
    assert set(chosen["run"]) == {"backtest"}
    assert sorted(chosen["sku"]) == ["A", "B"]
    assert list(acc.columns) == columns("accuracy")
    rows = acc[(acc["level"] == "sku_region") & (acc["key"] == "A / North")]
    assert rows["lag"].tolist() == [1, 2, 3, 4, 5, 6]
    assert rows["abs_error"].to_numpy() == pytest.approx(np.zeros(6), abs=1e-6)
    assert rows["actual"].tolist() == PATTERN[6:12]
    assert "C / North" not in set(acc["key"])
    naive = demand.backtest_seasonal_naive(h, PRODUCTS, CYCLE, holdout=6)
    assert set(acc["key"]) == set(naive["key"])


def test_both_methods_in_one_accuracy_table_are_pooled_one_at_a_time():
    acc = backtest(_history(), PRODUCTS, CYCLE, holdout=6, n_jobs=1).accuracy
    assert acc["model"].unique().tolist() == [STATISTICAL, "seasonal_naive"]
    with pytest.raises(SopError, match="accuracy holds the rows of 2 models"):
        pooled_wape(acc)
    with pytest.raises(SopError, match="no rows of model 'ets'"):
        pooled_wape(acc, model="ets")
    for model in (STATISTICAL, "seasonal_naive"):
        rows = acc[(acc["model"] == model) & (acc["level"] == "sku_region")]
        assert pooled_wape(acc, model=model) == pytest.approx(
            rows["abs_error"].sum() / rows["actual"].sum()
        )
    # the family table puts the engine first, each model's total last
    table = demand.accuracy_by_family(acc)
    assert table["model"].tolist() == [STATISTICAL] * 2 + ["seasonal_naive"] * 2
    assert table["level"].tolist() == ["family", "total"] * 2


def test_demand_models_are_checked_when_the_parameters_load(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "data: {source: demo}\ndemand: {models: [ets, prophet, theta+foo]}\n"
    )
    with pytest.raises(ConfigError) as info:
        resolve_parameters(tmp_path / "p.yaml")
    message = str(info.value)
    assert "demand.models" in message
    assert "'prophet'" in message
    assert "'theta+foo'" in message


# --------------------------------------------------------------------------- warm start


def _panel() -> pd.DataFrame:
    """One seasonal series with trend and noise: a backtest has several real candidates."""
    rng = np.random.default_rng(4)
    months = pd.date_range("2021-01-01", periods=60, freq="MS")
    y = 100 + 2 * np.arange(60) + 30 * np.sin(np.arange(60) * 2 * np.pi / 12)
    return pd.DataFrame({"unique_id": "s", "ds": months, "y": y + rng.normal(0, 5, 60)})


def _warm(model: str, rel: float, age: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": ["s"], "model": [model], "relative_mae": [rel], "age": [age]})


def test_a_warm_start_keeps_a_choice_that_still_holds_and_skips_the_other_candidates():
    cold = demand.forecast(_panel(), 6, n_jobs=1, return_selection=True)
    won = cold.selection.loc[0, "model"]
    rel = cold.selection.loc[0, "relative_mae"]
    assert cold.selection.loc[0, "selected_by"] == "backtest"
    warm = demand.forecast(_panel(), 6, n_jobs=1, return_selection=True, warm_start=_warm(won, rel))
    row = warm.selection.loc[0]
    assert (row["model"], row["selected_by"], row["age"]) == (won, "warm start", 1)
    assert row["relative_mae"] == pytest.approx(rel)
    assert "kept from an earlier run" in row["reason"]
    # only the kept model (and the benchmark) were backtested
    scored = [
        c for c in warm.selection.columns if c.startswith("mase_") and c != "mase_seasonal_naive"
    ]
    assert warm.selection.loc[0, scored].notna().sum() == 1 + ("+" not in won) * 0
    pd.testing.assert_frame_equal(warm.forecast, cold.forecast)


def test_a_warm_start_selects_again_when_accuracy_degraded_or_the_choice_is_old():
    cold = demand.forecast(_panel(), 6, n_jobs=1, return_selection=True).selection.loc[0]
    # the earlier run says this model was far better than it now is: select again
    loser = "seasonal_naive" if cold["model"] != "seasonal_naive" else "theta"
    degraded = demand.forecast(
        _panel(), 6, n_jobs=1, return_selection=True, warm_start=_warm(loser, 0.1)
    ).selection.loc[0]
    assert degraded["selected_by"] == "backtest"
    assert degraded["model"] == cold["model"]
    assert f"selected again: {loser}'s relative MAE went from 0.1 to" in degraded["reason"]
    # a choice reselect_after runs old is made again, whatever its accuracy
    old = demand.forecast(
        _panel(), 6, n_jobs=1, return_selection=True, reselect_after=3,
        warm_start=_warm(cold["model"], cold["relative_mae"], age=2),
    ).selection.loc[0]  # fmt: skip
    assert (old["selected_by"], old["age"]) == ("backtest", 0)
    assert f"the choice of {cold['model']} was 3 runs old" in old["reason"]
    # a model that is no longer a candidate is not kept
    gone = demand.forecast(
        _panel(), 6, n_jobs=1, return_selection=True, models=["seasonal_naive", "ets"],
        warm_start=_warm("theta", 0.5),
    ).selection.loc[0]  # fmt: skip
    assert gone["selected_by"] == "backtest"
    assert gone["model"] in ("seasonal_naive", "ets")


def test_stage_2_warm_starts_from_the_latest_earlier_cycle_of_the_same_run():
    h = _history()
    first = statistical_forecast(h, "2026-10", 6, n_jobs=1).models.assign(cycle="2026-10")
    older = first.assign(cycle="2026-09", model="theta")  # not the latest: not read
    backtest_rows = first.assign(run="backtest", model="ets")
    earlier = pd.concat([older, first, backtest_rows], ignore_index=True)
    warm = demand.warm_start(earlier, "forecast")
    assert warm.equals(first[["sku", "region", "model", "relative_mae", "age", "form"]])
    assert demand.warm_start(earlier, "backtest")["model"].eq("ets").all()
    assert demand.warm_start(earlier.iloc[0:0]) is None
    second = statistical_forecast(h, CYCLE, 6, n_jobs=1, warm_start=warm).models
    a = second.set_index("sku").loc["A"]
    assert a["selected_by"] in ("warm start", "backtest")
    if a["selected_by"] == "warm start":
        assert a["model"] == first.set_index("sku").loc["A", "model"]
        assert a["age"] == 1
    # C has too short a history for a backtest: its rule stands, warm start or not
    assert second.set_index("sku").loc["C", "selected_by"] == "rule"


def _searches(monkeypatch) -> list[str]:
    """The names of the models built to search a form (``_make``), recorded as they are."""
    made: list[str] = []
    real = engine._make

    def make(name, m):
        made.append(name)
        return real(name, m)

    monkeypatch.setattr(engine, "_make", make)
    return made


def test_the_selection_records_the_forms_the_searches_chose():
    sel = demand.forecast(
        _panel(), 6, n_jobs=1, return_selection=True, models=["ets", "arima", "ets+arima"]
    ).selection.loc[0]
    form = json.loads(sel["form"])
    assert set(form) == {"ets", "arima"}  # every candidate searched, not only the winner
    if "ets" in form:  # error, trend, season, damped: e.g. "AAAN"
        assert len(form["ets"]) == 4
        assert form["ets"][0] in "AM"
        assert form["ets"][3] in "ND"
    if "arima" in form:  # p, d, q, P, D, Q, mean, drift
        assert len(form["arima"]) == 8
        assert all(isinstance(v, int) for v in form["arima"][:6])
    # models without a search have no form
    naive = demand.forecast(_panel(), 6, n_jobs=1, return_selection=True, models=["theta"])
    assert naive.selection.loc[0, "form"] == ""


def test_a_kept_model_is_re_estimated_in_its_form_not_searched_again(monkeypatch):
    cold = demand.forecast(_panel(), 6, n_jobs=1, return_selection=True, models=["arima", "ets"])
    row = cold.selection.loc[0]
    warm_in = _warm(row["model"], row["relative_mae"]).assign(form=row["form"])
    made = _searches(monkeypatch)
    warm = demand.forecast(
        _panel(), 6, n_jobs=1, return_selection=True, models=["arima", "ets"],
        warm_start=warm_in,
    )  # fmt: skip
    assert warm.selection.loc[0, "selected_by"] == "warm start"
    assert warm.selection.loc[0, "form"] == row["form"]
    assert row["model"] not in made  # only seasonal naive, the benchmark, was built anew
    assert made == ["seasonal_naive"]
    # the same form re-estimated on the same data: the same forecast
    pd.testing.assert_frame_equal(warm.forecast, cold.forecast)


def test_a_new_selection_in_a_warm_start_re_estimates_the_forms_it_has(monkeypatch):
    models = ["seasonal_naive", "arima", "ets"]
    cold = demand.forecast(
        _panel(), 6, n_jobs=1, return_selection=True, models=models
    ).selection.loc[0]
    assert cold["model"] != "seasonal_naive"
    made = _searches(monkeypatch)
    # the earlier run says seasonal naive was far better than itself (relative MAE 0.1):
    # select again, with the forms kept (age goes on), so only the benchmark is built anew
    again = demand.forecast(
        _panel(), 6, n_jobs=1, return_selection=True, models=models,
        warm_start=_warm("seasonal_naive", 0.1, age=2).assign(form=cold["form"]),
    ).selection.loc[0]  # fmt: skip
    assert (again["selected_by"], again["model"], again["age"]) == ("backtest", cold["model"], 3)
    assert "model forms kept from an earlier run (3 run(s) ago)" in again["reason"]
    assert set(made) == {"seasonal_naive"}  # in the kept model's trial, then the selection
    assert again["form"] == cold["form"]


def test_a_rule_keeps_its_forms_until_it_is_old_and_a_bad_form_is_searched_again(monkeypatch):
    short = _panel().iloc[:28]  # 28 months: too short for a backtest, the combination by rule
    cold = demand.forecast(short, 6, n_jobs=1, return_selection=True).selection.loc[0]
    assert (cold["model"], cold["selected_by"]) == ("ets+theta+arima", "rule")
    assert set(json.loads(cold["form"])) == {"ets", "arima"}
    made = _searches(monkeypatch)
    kept = demand.forecast(
        short, 6, n_jobs=1, return_selection=True,
        warm_start=_warm(cold["model"], np.nan).assign(form=cold["form"]),
    )  # fmt: skip
    row = kept.selection.loc[0]
    assert (row["selected_by"], row["age"], row["form"]) == ("rule", 1, cold["form"])
    assert "model forms kept from an earlier run (1 run(s) ago)" in row["reason"]
    assert made == ["theta"]  # ETS and ARIMA were re-estimated in their forms
    made.clear()
    old = demand.forecast(
        short, 6, n_jobs=1, return_selection=True, reselect_after=3,
        warm_start=_warm(cold["model"], np.nan, age=2).assign(form=cold["form"]),
    ).selection.loc[0]  # fmt: skip
    assert old["age"] == 0
    assert "forms kept" not in old["reason"]
    assert sorted(made) == ["arima", "ets", "theta"]
    # a form that is not one (a damaged archive) is searched again, without a failure
    for damaged in ('{"arima": [1, 2]}', "not json", '{"ets": "XYZW"}'):
        made.clear()
        again = demand.forecast(
            short, 6, n_jobs=1, return_selection=True,
            warm_start=_warm(cold["model"], np.nan).assign(form=damaged),
        ).selection.loc[0]  # fmt: skip
        assert again["model"] == "ets+theta+arima"
        assert again["form"] == cold["form"]


# --------------------------------------------------------------------------- new items


def _with_new_items() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A (4 years, pattern) and D (4 years, 2 x the pattern) in family F, North; N1 launched
    2026-08 like A, selling 3, 6, 9; N2 launched 2026-09 without like_sku, selling 30, 90;
    N3 launching 2027-01 like A, no sales yet."""
    months = pd.date_range("2022-11-01", "2026-10-01", freq="MS")
    rows = [("A", "North", m, PATTERN[i % 12]) for i, m in enumerate(months)]
    rows += [("D", "North", m, 2 * PATTERN[i % 12]) for i, m in enumerate(months)]
    rows += [("N1", "North", m, q) for m, q in zip(months[-3:], [3.0, 6.0, 9.0], strict=True)]
    rows += [("N2", "North", m, q) for m, q in zip(months[-2:], [30.0, 90.0], strict=True)]
    sales = pd.DataFrame(rows, columns=["sku", "region", "month", "qty"])
    products = pd.DataFrame(
        {
            "sku": ["A", "D", "N1", "N2", "N3"],
            "family": "F",
            "status": ["active", "active", "new", "new", "new"],
            "launch_month": pd.to_datetime(
                ["2022-11-01", "2022-11-01", "2026-08-01", "2026-09-01", "2027-01-01"]
            ),
            "like_sku": [None, None, "A", None, "A"],
        }
    )
    return sales, products


def test_new_items_are_planned_from_their_like_sku_or_family_at_their_own_level():
    """A's forecast is its pattern, from PATTERN[0] in November. N1 sold 18 in
    Aug-Oct where A sold PATTERN[9:12] = 25 + 40 + 60 = 125: N1 = A x 18/125. N2 sold 120 in
    Sep-Oct where the family's mean SKU sold 1.5 x (40 + 60) = 150: N2 = the family's mean
    forecast (1.5 x A's) x 120/150. N3 launches in 2027-01: 0 before, A's forecast after."""
    sales, products = _with_new_items()
    fc, chosen, _ = statistical_forecast(sales, CYCLE, 6, n_jobs=1, products=products)
    a = np.array(PATTERN[:6])
    yhat = fc.set_index(["sku", "month"])["yhat"]
    assert yhat.loc["A"].to_numpy() == pytest.approx(a, abs=1e-6)
    assert yhat.loc["N1"].to_numpy() == pytest.approx(a * 18 / 125, abs=1e-6)
    assert yhat.loc["N2"].to_numpy() == pytest.approx(1.5 * a * 120 / 150, abs=1e-6)
    n3 = yhat.loc["N3"].to_numpy()
    assert n3[:2] == pytest.approx([0.0, 0.0])  # 2026-11, 2026-12: before its launch
    assert n3[2:] == pytest.approx(a[2:], abs=1e-6)  # like A, at A's level (no sales yet)
    by = chosen.set_index("sku")
    assert by.loc[["N1", "N2", "N3"], "model"].tolist() == [
        "like_sku",
        "family_profile",
        "like_sku",
    ]
    assert (by.loc[["N1", "N2", "N3"], "demand_class"] == "new").all()
    assert by.loc["N1", "reason"] == (
        "new item (launched 2026-08): like_sku A's forecast in North, scaled x0.14 to its own "
        "sales in the last 3 month(s)"
    )
    assert "the mean forecast of the 2 F SKU(s) in North, scaled x0.80" in by.loc["N2", "reason"]
    assert "no sales of its own to scale to yet" in by.loc["N3", "reason"]
    assert (fc[columns("forecast")[4:]] >= 0).all().all()
    assert list(fc.columns) == columns("forecast")
    assert list(chosen.columns) == columns("forecast_models")


def test_a_sales_input_for_an_item_not_yet_launched_now_applies():
    sales, products = _with_new_items()
    fc, _, _ = statistical_forecast(sales, CYCLE, 6, n_jobs=1, products=products)
    inputs = pd.DataFrame(
        {
            "sku": ["N3"], "family": [None], "region": [None],
            "month": [pd.Timestamp("2027-02-01")], "kind": ["abs"], "value": [50.0],
            "reason": ["Launch campaign"], "author": ["p.novak"],
        }
    )  # fmt: skip
    consensus = demand.make_consensus(fc, inputs, products.assign(eol_month=pd.NaT))
    assert consensus.unmatched.empty
    row = consensus.plan.set_index(["sku", "month"]).loc[("N3", pd.Timestamp("2027-02-01"))]
    assert row["consensus"] == pytest.approx(row["statistical"] + 50.0)


def test_a_warm_start_does_not_keep_a_choice_a_rule_made():
    """A rule's choice (no backtest, relative_mae NaN) is selected again from all candidates;
    an absurd age counts as a new choice."""
    cold = demand.forecast(_panel(), 6, n_jobs=1, return_selection=True).selection.loc[0]
    ruled = demand.forecast(
        _panel(), 6, n_jobs=1, return_selection=True,
        warm_start=_warm("ets+theta+arima", np.nan),
    ).selection.loc[0]  # fmt: skip
    assert (ruled["selected_by"], ruled["model"]) == ("backtest", cold["model"])
    young = demand.forecast(
        _panel(), 6, n_jobs=1, return_selection=True,
        warm_start=_warm(cold["model"], cold["relative_mae"], age=-5),
    ).selection.loc[0]  # fmt: skip
    assert (young["selected_by"], young["age"]) == ("warm start", 1)


# --------------------------------------------------------------------------- bad input
# sopkit.data validates every table before a cycle runs (one SKU per products row, months,
# quantities of 0 or more, no empty key): these are direct calls of the public function.


def _bad_history(change) -> pd.DataFrame:
    sales, _ = _with_new_items()
    return change(sales.copy())


def _set(frame: pd.DataFrame, row: int, column: str, value, dtype=None) -> pd.DataFrame:
    if dtype is not None:
        frame[column] = frame[column].astype(dtype)
    frame.loc[row, column] = value
    return frame


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: _set(s, 5, "qty", np.nan), r"sales_history row 5, column qty: expected"),
        (
            lambda s: _set(s, 7, "qty", pd.NA, "Int64"),
            r"sales_history row 7, column qty: expected .*\(the cell is empty\)",
        ),
        (lambda s: _set(s, 3, "qty", "12 boxes", object), r"row 3, column qty: got '12 boxes'"),
        (lambda s: _set(s, 4, "qty", -3.0), r"row 4, column qty: got -3.0; expected .*0 or more"),
        (lambda s: _set(s, 2, "sku", None), r"sales_history row 2, column sku: expected"),
        (lambda s: _set(s, 6, "region", np.nan), r"sales_history row 6, column region: expected"),
        (
            lambda s: _set(s, 1, "month", "2023-01", object),
            r"sales_history row 1, column month: got '2023-01'; expected a first-of-month date",
        ),
        (
            lambda s: _set(s, 0, "month", pd.Timestamp("2022-11-15")),
            r"sales_history row 0, column month: got .*2022-11-15",
        ),
    ],
    ids=["nan-qty", "Int64-NA-qty", "text-qty", "negative-qty", "no-sku", "no-region",
         "text-month", "mid-month"],
)  # fmt: skip
def test_a_bad_history_cell_is_named_by_table_row_and_column(change, expected):
    _, products = _with_new_items()
    with pytest.raises(DataValidationError, match=expected) as info:
        statistical_forecast(_bad_history(change), CYCLE, 6, n_jobs=1, products=products)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].table == "sales_history"


def test_every_bad_history_row_is_listed_not_summed_as_zero_or_dropped():
    sales = _bad_history(lambda s: s)
    sales.loc[[5, 9], "qty"] = np.nan
    sales.loc[11, "sku"] = np.nan
    with pytest.raises(DataValidationError) as info:
        statistical_forecast(sales, CYCLE, 6, n_jobs=1)
    where = [(p.row, p.column) for p in info.value.problems]
    assert where == [(11, "sku"), (5, "qty"), (9, "qty")]


def _bad_products(change) -> pd.DataFrame:
    _, products = _with_new_items()
    return change(products.copy())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda p: _set(p, 3, "launch_month", "soon", object),
            r"products row 3, column launch_month: got 'soon'; expected a first-of-month date",
        ),
        (
            lambda p: pd.concat([p, p.iloc[[2]]], ignore_index=True),
            r"products row 5, column sku: got 'N1'; expected a SKU in one row only "
            r"\(N1 is also in row 2\)",
        ),
        (lambda p: _set(p, 1, "sku", None), r"products row 1, column sku: expected"),
        (lambda p: _set(p, 4, "family", None), r"products row 4, column family: expected"),
        (
            lambda p: _set(p, 2, "like_sku", "Z9"),
            r"products row 2, column like_sku: got 'Z9'; expected the sku of another product",
        ),
        (
            lambda p: _set(p, 0, "status", "retired"),
            r"products row 0, column status: got 'retired'; expected one of active, new",
        ),
        (
            lambda p: p.assign(eol_month=["2027-03", None, None, None, None]),
            r"products row 0, column eol_month: got '2027-03'; expected a first-of-month date",
        ),
    ],
    ids=["text-launch", "duplicate-sku", "no-sku", "no-family", "unknown-like-sku",
         "unknown-status", "text-eol"],
)  # fmt: skip
def test_a_bad_products_cell_is_named_by_table_row_and_column(change, expected):
    sales, _ = _with_new_items()
    with pytest.raises(DataValidationError, match=expected) as info:
        statistical_forecast(sales, CYCLE, 6, n_jobs=1, products=_bad_products(change))
    assert {p.table for p in info.value.problems} == {"products"}


def test_an_engine_error_names_the_sku_and_region_not_the_series_number(monkeypatch):
    """The engine names series by their unique_id (here a series number); a history the
    checks let through (simulated by spoiling the panel) is reported by SKU and region."""
    real = statistical.forecast

    def spoiled(panel, *args, **kwargs):
        panel = panel.copy()
        panel.loc[panel["unique_id"] == panel["unique_id"].max(), "y"] = -1.0
        return real(panel, *args, **kwargs)

    monkeypatch.setattr(statistical, "forecast", spoiled)
    with pytest.raises(SopError) as info:
        statistical_forecast(_history(), CYCLE, 6, n_jobs=1)
    message = str(info.value)
    assert "unique_id" not in message
    assert "sku 'C', region 'North', month 2026-08" in message
    assert "qty is negative" in message


def _numbered(sales: pd.DataFrame, products: pd.DataFrame):
    """The data of :func:`_with_new_items` with numeric SKU codes."""
    codes = {"A": 1001, "D": 1002, "N1": 2001, "N2": 2002, "N3": 2003}
    return sales.assign(sku=sales["sku"].map(codes)), products.assign(
        sku=products["sku"].map(codes), like_sku=products["like_sku"].map(codes)
    )


def test_sku_codes_typed_as_numbers_match_the_same_codes_written_as_text():
    """products read from a CSV by pandas: sku 1001 an int, like_sku 1001.0 a float (the
    column has empty cells); the history's codes are text. Matched as text, like_sku
    counts; each row keeps the spelling of the table it came from."""
    sales, products = _numbered(*_with_new_items())
    sales["sku"] = sales["sku"].astype(str)
    assert products["like_sku"].dtype == float
    fc, chosen, _ = statistical_forecast(sales, CYCLE, 6, n_jobs=1, products=products)
    by = chosen.set_index("sku")
    assert by.loc[["2001", "2002"], "model"].tolist() == ["like_sku", "family_profile"]
    assert by.loc["2001", "reason"].startswith("new item (launched 2026-08): like_sku 1001's")
    yhat = fc.set_index(["sku", "month"])["yhat"]
    assert yhat.loc["2001"].to_numpy() == pytest.approx(np.array(PATTERN[:6]) * 18 / 125)
    # 2003 has no sales yet: its rows are spelled as products spells it
    expected = ["1001", "1002", "2001", "2002", 2003]
    assert fc["sku"].tolist() == [sku for sku in expected for _ in range(6)]
    assert by.index.tolist() == expected
    assert by.loc[2003, "model"] == "like_sku"
    # the history's own spelling (numbers) is kept, so its forecasts join back to it
    numbers, _, _ = statistical_forecast(
        sales.assign(sku=sales["sku"].astype(int)), CYCLE, 6, n_jobs=1, products=products
    )
    assert numbers["sku"].tolist() == fc["sku"].map(int).tolist()
    pd.testing.assert_series_equal(numbers["yhat"], fc["yhat"])


# --------------------------------------------------------------------------- new items' sources


def _with_reference(kind: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`_with_new_items` with X in family F, North, and N1 like X instead of A.

    ``discontinued``: X sold the pattern, then a quarter of it in the last year (falling
    sales), status discontinued. ``ended``: X sold the pattern to 2026-06, its eol_month.
    ``silent``: X, active, sold the pattern to 2025-06, nothing in the year before the cycle.
    """
    sales, products = _with_new_items()
    months = pd.date_range("2022-11-01", "2026-10-01", freq="MS")
    last = {"discontinued": "2026-10-01", "ended": "2026-06-01", "silent": "2025-06-01"}[kind]
    qty = [PATTERN[i % 12] * (0.25 if m.year * 12 + m.month > 2025 * 12 + 10 else 1) for i, m
           in enumerate(months)] if kind == "discontinued" else [PATTERN[i % 12] for i in
           range(len(months))]  # fmt: skip
    x = pd.DataFrame({"sku": "X", "region": "North", "month": months, "qty": qty})
    x = x[x["month"] <= pd.Timestamp(last)]
    status = {"discontinued": "discontinued", "ended": "phase_out", "silent": "active"}[kind]
    eol = pd.Timestamp(last) if kind == "ended" else pd.NaT
    row = {"sku": "X", "family": "F", "status": status, "launch_month": months[0],
           "like_sku": None, "eol_month": eol}  # fmt: skip
    products = pd.concat([products, pd.DataFrame([row])], ignore_index=True)
    products.loc[products["sku"] == "N1", "like_sku"] = "X"
    return pd.concat([sales, x], ignore_index=True), products


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("discontinued", "like_sku X is discontinued"),
        ("ended", "like_sku X stopped selling after 2026-06 (its eol_month)"),
        ("silent", "like_sku X sold nothing in North in the 12 months before the cycle"),
    ],
)
def test_a_like_sku_that_no_longer_sells_gives_way_to_the_family_profile(kind, why):
    """X cannot stand for N1: N1 is planned from the family's profile, the mean of A and D
    only (X left out, its falling or absent sales would pull the profile down): 1.5 x A's
    forecast, scaled by 18 / (1.5 x 125), so N1 = A x 18/125 as with like_sku A. N2 (no
    like_sku) is planned from the same profile as without X: 1.5 x A x 120/150."""
    sales, products = _with_reference(kind)
    fc, chosen, _ = statistical_forecast(sales, CYCLE, 6, n_jobs=1, products=products)
    a = np.array(PATTERN[:6])
    yhat = fc.set_index(["sku", "month"])["yhat"]
    assert yhat.loc["N1"].to_numpy() == pytest.approx(a * 18 / 125, abs=1e-6)
    assert yhat.loc["N2"].to_numpy() == pytest.approx(1.5 * a * 120 / 150, abs=1e-6)
    by = chosen.set_index("sku")
    assert by.loc["N1", "model"] == "family_profile"
    assert by.loc["N1", "reason"] == (
        f"new item (launched 2026-08): {why}, so the mean forecast of the 2 F SKU(s) in "
        "North, scaled x0.10 to its own sales in the last 3 month(s)"
    )
    assert "the mean forecast of the 2 F SKU(s) in North" in by.loc["N2", "reason"]


def _gappy(explicit_zero: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """N1 sold 3 in 2026-08 and 9 in 2026-10, nothing in 2026-09 (a row of 0, or no row);
    N4, like A, launched 2026-09, sold nothing (rows of 0, or no rows)."""
    sales, products = _with_new_items()
    sales = sales[~((sales["sku"] == "N1") & (sales["month"] == "2026-09-01"))]
    if explicit_zero:
        zeros = pd.DataFrame(
            {"sku": ["N1", "N4", "N4"], "region": "North", "qty": 0.0,
             "month": pd.to_datetime(["2026-09-01", "2026-09-01", "2026-10-01"])}
        )  # fmt: skip
        sales = pd.concat([sales, zeros], ignore_index=True)
    n4 = {"sku": "N4", "family": "F", "status": "new", "like_sku": "A",
          "launch_month": pd.Timestamp("2026-09-01")}  # fmt: skip
    return sales, pd.concat([products, pd.DataFrame([n4])], ignore_index=True)


def test_a_month_without_a_row_after_the_launch_counts_as_a_row_of_0():
    """N1 sold 3 + 0 + 9 = 12 in Aug-Oct where A sold 25 + 40 + 60 = 125: x 12/125 whether
    September has a row of 0 or no row. N4 sold nothing in the 2 months since its launch:
    x 0 either way (not x 1, as if it had not launched)."""
    runs = [
        statistical_forecast(*_gappy(zero)[:1], CYCLE, 6, n_jobs=1, products=_gappy(zero)[1])
        for zero in (True, False)
    ]
    rows, none = runs
    pd.testing.assert_frame_equal(rows.forecast, none.forecast)
    a = np.array(PATTERN[:6])
    yhat = none.forecast.set_index(["sku", "month"])["yhat"]
    assert yhat.loc["N1"].to_numpy() == pytest.approx(a * 12 / 125, abs=1e-6)
    assert yhat.loc["N4"].to_numpy() == pytest.approx(np.zeros(6))
    shown = ["model", "n_months", "reason"]
    pd.testing.assert_frame_equal(rows.models[shown], none.models[shown])
    by = none.models.set_index("sku")
    # n_months: the months from the launch to the month before the cycle
    assert by.loc[["N1", "N2", "N3", "N4"], "n_months"].tolist() == [3, 2, 0, 2]
    assert by.loc["N1", "gaps_filled"] == 1
    assert rows.models.set_index("sku").loc["N1", "gaps_filled"] == 0
    assert by.loc["N4", "gaps_filled"] == 2
    assert by.loc["N4", "reason"] == (
        "new item (launched 2026-09): like_sku A's forecast in North, scaled x0.00 to its own "
        "sales in the last 2 month(s): it sold nothing in them"
    )


def test_a_new_item_without_a_source_is_planned_at_0_with_its_reason():
    """N5 (family H, no like_sku, launching 2027-01) has no SKU to be planned from: 0 in
    every month and region, and the reason says so. N6 (family H too, launched 2026-08,
    sold 4, 6, 8) keeps the engine's rule on its own sales, with a note."""
    sales, products = _with_new_items()
    n6 = pd.DataFrame(
        {"sku": "N6", "region": "North", "qty": [4.0, 6.0, 8.0],
         "month": pd.date_range("2026-08-01", periods=3, freq="MS")}
    )  # fmt: skip
    sales = pd.concat([sales, n6], ignore_index=True)
    more = pd.DataFrame(
        {"sku": ["N5", "N6"], "family": "H", "status": "new", "like_sku": None,
         "launch_month": pd.to_datetime(["2027-01-01", "2026-08-01"])}
    )  # fmt: skip
    products = pd.concat([products, more], ignore_index=True)
    fc, chosen, _ = statistical_forecast(sales, CYCLE, 6, n_jobs=1, products=products)
    n5 = fc[fc["sku"] == "N5"]
    assert n5["region"].tolist() == ["North"] * 6
    assert (n5[columns("forecast")[4:]] == 0).all().all()
    by = chosen.set_index("sku")
    assert by.loc["N5", ["model", "demand_class", "selected_by", "n_months"]].tolist() == [
        "zero", "new", "rule", 0,
    ]  # fmt: skip
    assert by.loc["N5", "reason"] == (
        "new item (launched 2027-01): no like_sku, and no H SKU still sells in North (sold "
        "there in the 12 months before the cycle, not discontinued): planned at 0; give it a "
        "like_sku, or plan it with sales inputs"
    )
    assert fc[fc["sku"] == "N6"]["yhat"].to_numpy() == pytest.approx([6.0] * 6)
    assert by.loc["N6", "model"] == "mean_fallback"
    assert by.loc["N6", "reason"].endswith(
        "; new item (launched 2026-08): no like_sku, and no H SKU still sells in North (sold "
        "there in the 12 months before the cycle, not discontinued): the engine's rule on its "
        "own sales stands"
    )
