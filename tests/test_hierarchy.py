"""Forecast reconciliation across the hierarchy: hand-worked cases, coherence, errors.

The hand-worked hierarchy: families F1 (SKUs A, B) and F2 (C, D), regions N and S, so
8 SKU x region series and 21 nodes (1 total, 2 families, 2 regions, 4 family x region,
4 SKUs, 8 bottom series).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sopkit.demand.hierarchy import (
    LEVEL_KEYS,
    LEVELS,
    METHODS,
    aggregate,
    reconcile,
    summing_matrix,
)
from sopkit.errors import SopError

PRODUCTS = pd.DataFrame({"sku": ["A", "B", "C", "D"], "family": ["F1", "F1", "F2", "F2"]})
MONTHS = pd.to_datetime(["2026-11-01", "2026-12-01"])
#: base forecasts of the first month, in the order of the nodes (see NODE_ORDER)
BASE_M1 = {
    "total": 40.0,
    "family F1": 20.0,
    "family F2": 18.0,
    "region N": 28.0,
    "region S": 10.0,
    "family_region F1 / N": 15.0,
    "family_region F1 / S": 8.0,
    "family_region F2 / N": 12.0,
    "family_region F2 / S": 4.0,
    "sku A": 17.0,
    "sku B": 6.0,
    "sku C": 8.0,
    "sku D": 9.0,
    "sku_region A / N": 10.0,
    "sku_region A / S": 6.0,
    "sku_region B / N": 4.0,
    "sku_region B / S": 2.0,
    "sku_region C / N": 8.0,
    "sku_region C / S": 0.0,
    "sku_region D / N": 5.0,
    "sku_region D / S": 3.0,
}
NODE_ORDER = list(BASE_M1)
#: the same with every base positive (MinT holds a zero base at 0, outside the dense formula)
POSITIVE = {**BASE_M1, "sku_region C / S": 1.0}


def _node(label: str) -> dict:
    level, _, rest = label.partition(" ")
    keys = dict(zip(LEVEL_KEYS[level], rest.split(" / ") if rest else [], strict=True))
    return {"level": level, "family": None, "region": None, "sku": None, **keys}


def _label(row) -> str:
    keys = [str(row[k]) for k in LEVEL_KEYS[row["level"]]]
    return f"{row['level']} {' / '.join(keys)}".strip()


def make_base(values: dict[str, float] = BASE_M1, months=MONTHS) -> pd.DataFrame:
    """Base forecasts: month i is (i + 1) x ``values``; 80 % bounds yhat -+ (yhat / 4 + 1),
    95 % bounds yhat -+ (yhat / 2 + 2), lower bounds clipped at 0."""
    rows = []
    for i, month in enumerate(months):
        for label, y in values.items():
            y = y * (i + 1)
            rows.append(
                {
                    **_node(label),
                    "month": month,
                    "yhat": y,
                    "yhat_lo_80": max(y - (y / 4 + 1), 0.0),
                    "yhat_hi_80": y + y / 4 + 1,
                    "yhat_lo_95": max(y - (y / 2 + 2), 0.0),
                    "yhat_hi_95": y + y / 2 + 2,
                }
            )
    return pd.DataFrame(rows)


def by_label(frame: pd.DataFrame, month=MONTHS[0], col: str = "yhat") -> dict[str, float]:
    rows = frame[frame["month"] == month]
    return {_label(r): r[col] for _, r in rows.iterrows()}


def residual_frame(R: np.ndarray, labels=NODE_ORDER) -> pd.DataFrame:
    """Residuals (months x nodes) in the long shape, months 2024-01 on."""
    months = pd.date_range("2024-01-01", periods=R.shape[0], freq="MS")
    rows = [
        {**_node(label), "month": m, "residual": R[t, j]}
        for t, m in enumerate(months)
        for j, label in enumerate(labels)
    ]
    return pd.DataFrame(rows)


def dense_S(levels=LEVELS) -> np.ndarray:
    """S of the hand-worked hierarchy, written out (columns: A/N, A/S, B/N, ... D/S)."""
    bottom = [(s, r) for s in "ABCD" for r in "NS"]
    fam = {"A": "F1", "B": "F1", "C": "F2", "D": "F2"}
    rows = []
    for label in NODE_ORDER:
        node = _node(label)
        if node["level"] not in levels:
            continue
        rows.append(
            [
                all(
                    node[k] is None or node[k] == {"sku": s, "region": r, "family": fam[s]}[k]
                    for k in ("family", "region", "sku")
                )
                for s, r in bottom
            ]
        )
    return np.array(rows, dtype=float)


def hts_lambda(R: np.ndarray) -> float:
    """Schäfer-Strimmer lambda written as hts::shrink.estim has it (dense, n x n)."""
    T = R.shape[0]
    covm = R.T @ R / T
    sd = np.sqrt(np.diag(covm))
    corm = covm / np.outer(sd, sd)
    xs = R / sd
    v = (1 / (T * (T - 1))) * ((xs**2).T @ (xs**2) - (1 / T) * (xs.T @ xs) ** 2)
    np.fill_diagonal(v, 0)
    d = (corm - np.eye(len(sd))) ** 2
    return float(np.clip(v.sum() / d.sum(), 0, 1))


def dense_mint(S: np.ndarray, W: np.ndarray, yhat: np.ndarray) -> np.ndarray:
    """Bottom forecasts of MinT, G yhat with G = (S'W^-1 S)^-1 S'W^-1."""
    w_inv = np.linalg.inv(W)
    return np.linalg.solve(S.T @ w_inv @ S, S.T @ w_inv @ yhat)


def assert_coherent(frame: pd.DataFrame, products: pd.DataFrame = PRODUCTS) -> None:
    """Every level's yhat is the sum of the bottom rows, for every node and month."""
    bottom = frame[frame["level"] == "sku_region"].drop(columns="family")
    bottom = bottom.merge(products, on="sku")
    for level in frame["level"].unique():
        keys = list(LEVEL_KEYS[level])
        sums = bottom.groupby([*keys, "month"])["yhat"].sum()
        rows = frame[frame["level"] == level].set_index([*keys, "month"])["yhat"]
        if not keys:
            sums = bottom.groupby("month")["yhat"].sum()
            rows = frame[frame["level"] == level].set_index("month")["yhat"]
        assert len(rows) == len(sums), level
        np.testing.assert_allclose(
            rows.sort_index().to_numpy(),
            sums.sort_index().to_numpy(),
            rtol=1e-12,
            atol=1e-9,
            err_msg=level,
        )


def assert_intervals_ordered(frame: pd.DataFrame) -> None:
    f = frame
    assert (f["yhat_lo_95"] >= 0).all()
    assert (f["yhat_lo_95"] <= f["yhat_lo_80"]).all()
    assert (f["yhat_lo_80"] <= f["yhat"]).all()
    assert (f["yhat"] <= f["yhat_hi_80"]).all()
    assert (f["yhat_hi_80"] <= f["yhat_hi_95"]).all()


# --------------------------------------------------------------------------- the hierarchy


def test_summing_matrix_is_sparse_and_matches_the_hierarchy_written_out():
    bottom = pd.DataFrame({"sku": list("ABCD") * 2, "region": ["N"] * 4 + ["S"] * 4})
    h = summing_matrix(bottom, PRODUCTS)
    assert h.S.format == "csr"
    assert h.S.shape == (21, 8)
    assert h.n_aggregates == 13
    assert [_label(r) for _, r in h.nodes.iterrows()] == NODE_ORDER
    np.testing.assert_array_equal(h.S.toarray(), dense_S())


def test_aggregate_sums_the_history_to_every_level_with_a_unique_id():
    sales = pd.DataFrame(
        {
            "sku": ["A", "A", "C"],
            "region": ["N", "S", "N"],
            "month": ["m1", "m1", "m1"],
            "qty": [1.0, 2.0, 4.0],
        }
    )
    out = aggregate(sales, PRODUCTS)
    got = dict(zip(out["unique_id"], out["qty"], strict=True))
    assert got == {
        "total": 7.0,
        "family:F1": 3.0,
        "family:F2": 4.0,
        "region:N": 5.0,
        "region:S": 2.0,
        "family_region:F1/N": 1.0,
        "family_region:F1/S": 2.0,
        "family_region:F2/N": 4.0,
        "sku:A": 3.0,
        "sku:C": 4.0,
        "sku_region:A/N": 1.0,
        "sku_region:A/S": 2.0,
        "sku_region:C/N": 4.0,
    }
    assert out.loc[out["level"] == "family_region", "sku"].isna().all()


# --------------------------------------------------------------------------- methods


def test_bottom_up_sums_the_bottom_forecasts_by_hand():
    rec = reconcile(make_base(), PRODUCTS, method="bottom_up")
    got = by_label(rec.forecast)
    assert got == {
        "total": 38.0,
        "family F1": 22.0,  # A/N 10 + A/S 6 + B/N 4 + B/S 2
        "family F2": 16.0,  # C/N 8 + C/S 0 + D/N 5 + D/S 3
        "region N": 27.0,  # 10 + 4 + 8 + 5
        "region S": 11.0,  # 6 + 2 + 0 + 3
        "family_region F1 / N": 14.0,
        "family_region F1 / S": 8.0,
        "family_region F2 / N": 13.0,
        "family_region F2 / S": 3.0,
        "sku A": 16.0,
        "sku B": 6.0,
        "sku C": 8.0,
        "sku D": 8.0,
        **{k: v for k, v in BASE_M1.items() if k.startswith("sku_region")},
    }
    assert by_label(rec.forecast, MONTHS[1])["total"] == 76.0
    assert by_label(rec.forecast, col="base_yhat") == BASE_M1
    assert rec.method == "bottom_up"
    assert rec.shrinkage is None
    assert rec.clipped == 0
    assert list(rec.bottom.columns) == [
        "sku",
        "region",
        "month",
        "yhat",
        "yhat_lo_80",
        "yhat_hi_80",
        "yhat_lo_95",
        "yhat_hi_95",
    ]
    assert len(rec.bottom) == 16


def top_down_history() -> pd.DataFrame:
    """The sales history of the top-down tests (worked in the first of them)."""
    rows = [
        ("A", "N", "h1", 5),
        ("A", "S", "h1", 5),
        ("C", "N", "h1", 10),
        ("A", "S", "h2", 10),
        ("B", "N", "h2", 10),
        ("C", "N", "h2", 10),
        ("D", "N", "h2", 10),
        ("B", "S", "h3", 0),
        ("A", "W", "h1", 1000),
    ]
    return pd.DataFrame(rows, columns=["sku", "region", "month", "qty"])


def test_top_down_averages_historical_proportions_gross_sohl_method_a():
    """Gross & Sohl (1990) method A: p_j = mean over months of y_j,t / total_t, from the
    series' first sale on.

    Month h1 (total 20): A/N 5, A/S 5, C/N 10 -> shares .25, .25, .5.
    Month h2 (total 40): A/S 10, B/N 10, C/N 10, D/N 10 -> .25 each.
    Month h3 sells nothing: skipped. Averages: A/N (.25 + 0) / 2 = .125, A/S .25, C/N
    .375; B/N and D/N first sell in h2: .25 each (over every month, .125: a launch
    diluted). Sum 1.25, rescaled to 1: A/N .1, A/S .2, B/N .2, C/N .3, D/N .2.
    Method F (shares of the summed history) would give A/N 5/60. Region W of SKU A is
    not a series of base, so its history is left out.
    """
    history = top_down_history()
    # B/S and D/S sold nothing in those months: base 0 here (a positive base would keep it)
    base = make_base({**BASE_M1, "sku_region B / S": 0.0, "sku_region D / S": 0.0})
    rec = reconcile(base, PRODUCTS, method="top_down", history=history)
    got = by_label(rec.forecast)
    expected_bottom = {
        "sku_region A / N": 4.0,  # .1 x total 40
        "sku_region A / S": 8.0,
        "sku_region B / N": 8.0,
        "sku_region B / S": 0.0,
        "sku_region C / N": 12.0,
        "sku_region C / S": 0.0,
        "sku_region D / N": 8.0,
        "sku_region D / S": 0.0,
    }
    assert {k: v for k, v in got.items() if k.startswith("sku_region")} == expected_bottom
    assert got["total"] == 40.0
    assert got["family F1"] == 20.0
    assert got["region S"] == 8.0
    assert got["sku C"] == 12.0
    assert by_label(rec.forecast, MONTHS[1])["sku_region C / N"] == 24.0  # total 80
    assert_coherent(rec.forecast)


def test_top_down_keeps_a_new_items_base_and_an_ended_items_zero():
    """The mean shares of the test above (A/N .125, A/S .25, B/N .25, C/N .375, D/N .25).

    A/S's base is 0 (the item ended): it stays 0 though its share is .25. D/S sold nothing
    in the months averaged but its base is 3 (a launch): it keeps 3, taken off the total
    of 40. The other 37 go to A/N, B/N, C/N and D/N by .125 : .25 : .375 : .25 (sum 1).
    """
    history = top_down_history()  # its h3 and region W rows change nothing here
    values = {**BASE_M1, "sku_region A / S": 0.0, "sku_region B / S": 0.0}  # D/S: 3
    rec = reconcile(make_base(values), PRODUCTS, method="top_down", history=history)
    got = by_label(rec.forecast)
    assert got["sku_region A / S"] == 0.0
    assert got["sku_region D / S"] == 3.0
    assert got["sku_region A / N"] == pytest.approx(37 * 0.125)
    assert got["sku_region B / N"] == pytest.approx(37 * 0.25)
    assert got["sku_region C / N"] == pytest.approx(37 * 0.375)
    assert got["sku_region D / N"] == pytest.approx(37 * 0.25)
    assert got["total"] == pytest.approx(40.0)
    assert_coherent(rec.forecast)


def test_mint_holds_a_series_with_a_zero_base_at_zero_in_that_month():
    """C/S's base is 0 in month 1 only; D/S's in both months. MinT leaves them at 0 there,
    and month 1 equals MinT on the hierarchy without C/S and D/S (worked by dropping them)."""
    R = np.random.default_rng(3).normal(size=(12, len(NODE_ORDER)))
    base = make_base({**BASE_M1, "sku_region D / S": 0.0})
    second = (base["month"] == MONTHS[1]) & (base["sku"] == "C") & (base["region"] == "S")
    base.loc[second, ["yhat", "yhat_hi_80", "yhat_hi_95"]] = [4.0, 6.0, 8.0]
    rec = reconcile(base, PRODUCTS, method="mint_shrink", residuals=residual_frame(R))
    first, later = by_label(rec.forecast), by_label(rec.forecast, MONTHS[1])
    assert first["sku_region C / S"] == 0.0
    assert first["sku_region D / S"] == 0.0
    assert later["sku_region D / S"] == 0.0
    assert later["sku_region C / S"] > 0
    assert_coherent(rec.forecast)
    # month 1 by hand: the dense MinT formula on S without the columns of C/S and D/S
    S = dense_S()
    keep = [j for j in range(8) if j not in (5, 7)]  # columns A/N ... D/S; C/S is 5, D/S 7
    lam = rec.shrinkage
    D = np.diag((R * R).mean(axis=0))
    W = lam * D + (1 - lam) * (R.T @ R) / len(R)
    rows = [
        i for i in range(len(NODE_ORDER)) if i not in (len(NODE_ORDER) - 3, len(NODE_ORDER) - 1)
    ]
    Sk, Wk = S[np.ix_(rows, keep)], W[np.ix_(rows, rows)]
    y = np.array([BASE_M1[label] for label in NODE_ORDER])[rows]
    Wi = np.linalg.inv(Wk)
    b = np.linalg.solve(Sk.T @ Wi @ Sk, Sk.T @ Wi @ y)
    labels = [NODE_ORDER[len(NODE_ORDER) - 8 + j] for j in keep]
    assert [first[label] for label in labels] == pytest.approx(np.maximum(b, 0), rel=1e-6)


def test_mint_ols_by_hand_on_a_total_and_its_eight_series():
    """With W = I (equal variances, shrinkage 1) and only the total above the series,
    MinT moves every node by the same amount toward coherence, (40 - 38) / 8: C/S, whose
    base is 0, stays 0, so the total and seven series share the gap."""
    levels = ["total", "sku_region"]
    labels = [k for k in NODE_ORDER if k.split()[0] in levels]
    base = make_base({k: BASE_M1[k] for k in labels})
    R = np.tile([[1.0], [-1.0]], (1, len(labels)))  # every node's mean square error is 1
    rec = reconcile(
        base,
        PRODUCTS,
        method="mint_shrink",
        residuals=residual_frame(R, labels),
        shrinkage=1.0,
        levels=levels,
    )
    got = by_label(rec.forecast)
    step = (40.0 - 38.0) / 8
    assert got["total"] == pytest.approx(40.0 - step, abs=1e-12)
    assert got["sku_region C / S"] == 0.0
    for label in labels[1:]:
        if label != "sku_region C / S":
            assert got[label] == pytest.approx(BASE_M1[label] + step, abs=1e-12)
    assert rec.shrinkage == 1.0


def test_mint_with_a_given_diagonal_W_matches_the_dense_formula():
    """Residuals +s and -s give W = diag(s^2) with shrinkage 1; G = (S'W^-1 S)^-1 S'W^-1."""
    variances = np.linspace(1.0, 5.0, 21) ** 2  # any positive diagonal
    R = np.vstack([np.sqrt(variances), -np.sqrt(variances)])
    base = make_base(POSITIVE)
    rec = reconcile(
        base, PRODUCTS, method="mint_shrink", residuals=residual_frame(R), shrinkage=1.0
    )
    yhat = np.array([[v, 2 * v] for v in POSITIVE.values()])
    expected = dense_mint(dense_S(), np.diag(variances), yhat)
    assert (expected >= 0).all()  # nothing clipped, so the formula is the whole answer
    np.testing.assert_allclose(rec.bottom["yhat"].to_numpy(), expected.ravel(), rtol=1e-10)
    np.testing.assert_allclose(
        rec.forecast["yhat"].to_numpy(), (dense_S() @ expected).ravel(), rtol=1e-10
    )
    assert rec.clipped == 0
    assert_coherent(rec.forecast)


def test_mint_shrink_matches_the_dense_shrunk_covariance_and_hts_lambda():
    """Correlated residuals over 6 months: lambda as hts::shrink.estim computes it, and
    the bottom forecasts of MinT with the dense W = lambda D + (1 - lambda) R'R / T."""
    rng = np.random.default_rng(4)
    e_b = rng.normal(0, 1, (6, 8)) + rng.normal(0, 1, (6, 1))  # a shared shock
    S = dense_S()
    R = (S @ e_b.T).T + rng.normal(0, 0.5, (6, 21))
    rec = reconcile(
        make_base(POSITIVE), PRODUCTS, method="mint_shrink", residuals=residual_frame(R)
    )
    lam = hts_lambda(R)
    assert 0.001 < lam < 1
    assert rec.shrinkage == pytest.approx(lam, rel=1e-10)
    var = (R**2).mean(axis=0)
    W = lam * np.diag(var) + (1 - lam) * R.T @ R / R.shape[0]
    yhat = np.array([[v, 2 * v] for v in POSITIVE.values()])
    expected = np.maximum(dense_mint(S, W, yhat), 0)
    np.testing.assert_allclose(rec.bottom["yhat"].to_numpy(), expected.ravel(), rtol=1e-9)
    assert_coherent(rec.forecast)


def test_mint_negatives_are_set_to_zero_and_every_level_summed_again():
    """MinT-OLS on a total of 0 over series 0.5, ..., 0.5, 9 (sum 12.5): each series moves
    by -12.5 / 9, so seven would be -0.89; they become 0 and the total is the sum, 9 - 12.5 / 9."""
    levels = ["total", "sku_region"]
    labels = [k for k in NODE_ORDER if k.split()[0] in levels]
    values = dict.fromkeys(labels, 0.5)
    values["total"] = 0.0
    values["sku_region D / S"] = 9.0
    R = np.tile([[1.0], [-1.0]], (1, len(labels)))
    rec = reconcile(
        make_base(values, MONTHS[:1]),
        PRODUCTS,
        method="mint_shrink",
        levels=levels,
        residuals=residual_frame(R, labels),
        shrinkage=1.0,
    )
    raw = dense_mint(dense_S(levels), np.eye(9), np.array([[values[k]] for k in labels]))
    assert (raw < 0).sum() == 7  # the formula alone goes negative
    got = by_label(rec.forecast)
    assert got["sku_region D / S"] == pytest.approx(9 - 12.5 / 9)
    assert got["total"] == pytest.approx(9 - 12.5 / 9)
    assert rec.clipped == 7
    assert (rec.forecast[["yhat", "yhat_lo_80", "yhat_lo_95"]] >= 0).all().all()
    assert_coherent(rec.forecast)
    assert_intervals_ordered(rec.forecast)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_is_coherent_nonnegative_and_ordered_on_a_random_company(method):
    rng = np.random.default_rng(11)
    products = pd.DataFrame(
        {"sku": [f"S{i}" for i in range(30)], "family": [f"F{i % 4}" for i in range(30)]}
    )
    months = pd.date_range("2027-01-01", periods=3, freq="MS")
    bottom = pd.DataFrame(
        [(s, r, m, rng.gamma(0.6, 10)) for s in products["sku"] for r in "XYZ" for m in months],
        columns=["sku", "region", "month", "yhat"],
    )
    base = aggregate(bottom, products, values=["yhat"]).drop(columns="unique_id")
    base["yhat"] *= rng.lognormal(0, 0.5, len(base))  # incoherent, some far off
    spread = base["yhat"] * 0.3 + 1
    base["yhat_lo_80"] = np.maximum(base["yhat"] - spread, 0)
    base["yhat_hi_80"] = base["yhat"] + spread
    base["yhat_lo_95"] = np.maximum(base["yhat"] - 2 * spread, 0)
    base["yhat_hi_95"] = base["yhat"] + 2 * spread
    nodes = base.drop_duplicates(["level", "family", "region", "sku"])
    residuals = pd.concat(
        [
            nodes.assign(month=m, residual=rng.normal(0, 1 + nodes["yhat"]))
            for m in pd.date_range("2025-01-01", periods=12, freq="MS")
        ]
    )
    history = bottom.rename(columns={"yhat": "qty"})
    rec = reconcile(base, products, method=method, history=history, residuals=residuals)
    assert len(rec.forecast) == len(base)
    assert_coherent(rec.forecast, products)
    assert_intervals_ordered(rec.forecast)


# --------------------------------------------------------------------------- intervals


def test_intervals_keep_each_node_base_spread_around_its_reconciled_point():
    """Bottom-up total: base 40 with 80 % bounds 29 and 51 (40 -+ 11), reconciled 38:
    bounds 27 and 49. A bottom series (bottom-up keeps it) keeps its bounds."""
    rec = reconcile(make_base(), PRODUCTS, method="bottom_up")
    lo, hi = by_label(rec.forecast, col="yhat_lo_80"), by_label(rec.forecast, col="yhat_hi_80")
    assert (lo["total"], hi["total"]) == (27.0, 49.0)
    assert (lo["sku A"], hi["sku A"]) == (16.0 - 5.25, 16.0 + 5.25)  # base 17 -+ 5.25
    assert (lo["sku_region A / N"], hi["sku_region A / N"]) == (6.5, 13.5)
    assert_intervals_ordered(rec.forecast)


def test_a_lower_bound_at_zero_counts_as_clipped_when_the_point_moves_up():
    """Base 1 in [0, 4] (lower bound 0, maybe clipped): the lower distance is taken as
    max(1, 4 - 1) = 3, so reconciled to 5 the interval is [2, 8], not [4, 8]."""
    base = make_base(months=MONTHS[:1])
    at = (base["level"] == "family_region") & (base["family"] == "F2") & (base["region"] == "S")
    base.loc[at, ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]] = [
        1.0,
        0.0,
        4.0,
        0.0,
        6.0,
    ]
    bottom = base["level"] == "sku_region"
    base.loc[bottom & (base["sku"] == "D") & (base["region"] == "S"), "yhat"] = 5.0
    base.loc[bottom & (base["sku"] == "D") & (base["region"] == "S"), "yhat_hi_80"] = 7.0
    base.loc[bottom & (base["sku"] == "D") & (base["region"] == "S"), "yhat_hi_95"] = 9.0
    rec = reconcile(base, PRODUCTS, method="bottom_up")
    row = rec.forecast[
        (rec.forecast["level"] == "family_region")
        & (rec.forecast["family"] == "F2")
        & (rec.forecast["region"] == "S")
    ]
    assert row["yhat"].item() == 5.0  # C/S 0 + D/S 5
    assert (row["yhat_lo_80"].item(), row["yhat_hi_80"].item()) == (2.0, 8.0)
    assert (row["yhat_lo_95"].item(), row["yhat_hi_95"].item()) == (0.0, 10.0)


def test_point_forecasts_only():
    base = make_base().drop(columns=["yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"])
    rec = reconcile(base, PRODUCTS, interval_levels=())
    assert list(rec.forecast.columns) == [
        "level",
        "family",
        "region",
        "sku",
        "month",
        "yhat",
        "base_yhat",
    ]
    assert by_label(rec.forecast)["total"] == 38.0


# --------------------------------------------------------------------------- errors


def test_a_sku_without_a_product_row_is_named():
    base = make_base()
    base.loc[base["sku"] == "D", "sku"] = "Z-9"
    with pytest.raises(SopError, match=r"base has SKU.* products does not list: Z-9"):
        reconcile(base, PRODUCTS)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (-1.0, r"base, column yhat: 1 value\(s\) negative \(row 3 region N 2026-11 yhat=-1.0\)"),
        (np.nan, r"base, column yhat: 1 value\(s\) missing or not finite"),
    ],
)
def test_negative_or_missing_base_values_are_refused(value, match):
    base = make_base()
    base.loc[3, "yhat"] = value
    with pytest.raises(SopError, match=match):
        reconcile(base, PRODUCTS)


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(
        SopError,
        match="Unknown reconciliation method 'mint'; choose one of 'bottom_up', "
        "'top_down', 'mint_shrink'",
    ):
        reconcile(make_base(), PRODUCTS, method="mint")


def test_bounds_out_of_order_are_refused():
    base = make_base()
    base.loc[0, "yhat_lo_95"] = base.loc[0, "yhat_lo_80"] + 1
    with pytest.raises(SopError, match="yhat_lo_95 above yhat_lo_80"):
        reconcile(base, PRODUCTS)


def test_a_missing_or_repeated_node_month_is_named():
    base = make_base()
    with pytest.raises(SopError, match="base has no row for family F2 in 2026-12"):
        reconcile(
            base.drop(index=base.index[(base["family"] == "F2") & (base["level"] == "family")][1]),
            PRODUCTS,
        )
    with pytest.raises(SopError, match="more than one row for total in 2026-11"):
        reconcile(pd.concat([base, base.iloc[:1]]), PRODUCTS)


def test_an_aggregate_no_series_belongs_to_is_refused():
    base = make_base()
    extra = base.iloc[[1]].assign(family="F9")
    with pytest.raises(SopError, match=r"level 'family' for 1 node.* \(F9\)"):
        reconcile(pd.concat([base, extra]), PRODUCTS)


def test_unknown_or_unreconciled_levels_are_refused():
    with pytest.raises(SopError, match=r"Unknown hierarchy level.*'brand'"):
        reconcile(make_base(), PRODUCTS, levels=["brand", "sku_region"])
    with pytest.raises(SopError, match="must include 'sku_region'"):
        reconcile(make_base(), PRODUCTS, levels=["total"])
    with pytest.raises(SopError, match=r"rows at level\(s\) 'sku'.* not among the levels"):
        reconcile(make_base(), PRODUCTS, levels=[lv for lv in LEVELS if lv != "sku"])


def test_top_down_needs_history_and_mint_needs_residuals():
    with pytest.raises(SopError, match="'top_down' needs history"):
        reconcile(make_base(), PRODUCTS, method="top_down")
    with pytest.raises(SopError, match="'mint_shrink' needs residuals"):
        reconcile(make_base(), PRODUCTS, method="mint_shrink")
    history = pd.DataFrame({"sku": ["A"], "region": ["N"], "month": ["h1"], "qty": [-2.0]})
    with pytest.raises(SopError, match="history, column qty: 1 value\\(s\\) negative"):
        reconcile(make_base(), PRODUCTS, method="top_down", history=history)


def test_bad_residuals_are_refused():
    R = np.ones((3, 21))
    R[1, 4] = np.nan
    with pytest.raises(SopError, match="residuals, column residual: 1 value\\(s\\) missing"):
        reconcile(make_base(), PRODUCTS, method="mint_shrink", residuals=residual_frame(R))
    one_month = residual_frame(np.ones((1, 21)))
    with pytest.raises(SopError, match="at least 2 months"):
        reconcile(make_base(), PRODUCTS, method="mint_shrink", residuals=one_month)
    short = residual_frame(np.ones((2, 21))).iloc[1:]
    with pytest.raises(SopError, match="residuals has no row for total in 2024-01"):
        reconcile(make_base(), PRODUCTS, method="mint_shrink", residuals=short)
    with pytest.raises(SopError, match=r"shrinkage must be a number from 0\.001 to 1"):
        reconcile(
            make_base(),
            PRODUCTS,
            method="mint_shrink",
            residuals=residual_frame(np.ones((2, 21))),
            shrinkage=0,
        )


# --------------------------------------------------------------------------- benchmark


def test_the_benchmark_script_runs_on_a_tiny_company():
    """benchmarks/hierarchy.py is a script, not a test: this only checks that it runs."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "hierarchy.py"
    spec = importlib.util.spec_from_file_location("bench_hierarchy", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = bench.parse_args([])
    assert (args.repeat, args.skus, args.regions, args.families) == (3, 10_000, 5, 50)
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        bench.parse_args(["--residual-months", "1"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench.main(
            [
                "--repeat",
                "1",
                "--skus",
                "12",
                "--regions",
                "2",
                "--families",
                "3",
                "--months",
                "2",
                "--residual-months",
                "4",
                "--dense-skus",
                "6",
            ]
        )
    text = out.getvalue()
    assert "24 bottom series" in text
    for method in METHODS:
        assert f"\n{method} " in text
    assert "largest difference" in text
