"""Tests of sopkit.portfolio (stage 1, the product review).

The main fixture is a hand-built catalogue of 8 SKUs with 26 months of history (2024-09 to
2026-10) and a sales row in the cycle month itself; the cycle is 2026-11. The review period
is 2025-11..2026-10 and the previous period 2024-11..2025-10. Every expected number below
was worked out by hand from the table in ``_sales`` (see the comments there):

====  =======  ======  =====  ========  ========  ======  ========  =====  ===  ==========  ====
sku   family   price   cost   units     units     rev     growth    cv     ABC  lifecycle   disc
                                        prev                                    (reason)
====  =======  ======  =====  ========  ========  ======  ========  =====  ===  ==========  ====
S1    Bikes    100     60     240       180       24000   +1/3      0      A    growth      no
S2    Bikes    50      40     240       240       12000   0         0.5    A    mature      no
S3    Parts    10      4      240       300       2400    -0.2      1.0    B    decline     yes
N1    Bikes    20      10     60        0         1200    NaN       .408   C    new         no
P1    Parts    5       4      40        40        200     0         √11    C    end (stat)  no
E1    Parts    10      5      10        0         100     NaN       .447   C    end (eol)   no
S4    Parts    10      9.5    10        10        100     0         √11    C    mature      yes
Z0    Parts    8       2      0         0         0       NaN       NaN    C    mature      yes
====  =======  ======  =====  ========  ========  ======  ========  =====  ===  ==========  ====

Total revenue 40000: S1 60 %, S2 30 % (cumulative before S2 is 60 % < 80 %: A; after 90 %),
S3 6 % (before 90 % < 95 %: B), the rest C. E1 and S4 tie on revenue: E1 ranks first.
E1's eol_month 2027-03 is its last month of sales: from the cycle 2026-11 it sells 5 more
months (2026-11..2027-03), so it is end of life for an eol_window_months of 5 or more.
The units, revenue and margin columns are over the review window (12 months here).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import SopError
from sopkit.portfolio import (
    PORTFOLIO_COLUMNS,
    discontinue_candidates,
    headline,
    lifecycle_rules,
    new_items_to_watch,
    review_portfolio,
    summarise_families,
)

CYCLE = pd.Timestamp("2026-11-01")
RECENT = pd.date_range("2025-11-01", periods=12, freq="MS")  # the review period
PREVIOUS = pd.date_range("2024-11-01", periods=12, freq="MS")


def _products() -> pd.DataFrame:
    ts = pd.Timestamp
    rows = [
        # sku, family, price, cost, status, launch, eol
        ("S1", "Bikes", 100.0, 60.0, "active", ts("2018-01-01"), pd.NaT),
        ("S2", "Bikes", 50.0, 40.0, "active", ts("2018-01-01"), pd.NaT),
        ("S3", "Parts", 10.0, 4.0, "active", ts("2018-01-01"), pd.NaT),
        ("N1", "Bikes", 20.0, 10.0, "new", ts("2026-08-01"), pd.NaT),
        ("P1", "Parts", 5.0, 4.0, "phase_out", ts("2015-01-01"), pd.NaT),
        ("E1", "Parts", 10.0, 5.0, "active", ts("2019-06-01"), ts("2027-03-01")),
        ("S4", "Parts", 10.0, 9.5, "active", ts("2017-01-01"), pd.NaT),
        ("Z0", "Parts", 8.0, 2.0, "active", ts("2016-01-01"), pd.NaT),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["sku", "family", "unit_price", "unit_cost", "status", "launch_month", "eol_month"],
    )
    frame.insert(1, "description", frame["sku"].str.lower() + " item")
    frame["like_sku"] = None
    return frame


def _sales() -> pd.DataFrame:
    rows = []
    # Outside both periods: must be ignored (would wreck S1's numbers if counted).
    rows += [("S1", "N", pd.Timestamp("2024-10-01"), 1000.0), ("S1", "N", CYCLE, 1000.0)]
    # S1: 15 a month before, 12 (N) + 8 (S) = 20 a month now -> 180 -> 240 units.
    rows += [("S1", "N", m, 15.0) for m in PREVIOUS]
    rows += [("S1", r, m, q) for m in RECENT for r, q in (("N", 12.0), ("S", 8.0))]
    # S2: 20 a month before; now 10, 30, 10, 30, ... -> mean 20, std 10, cv 0.5 (X, on the line).
    rows += [("S2", "N", m, 20.0) for m in PREVIOUS]
    rows += [("S2", "N", m, 10.0 if i % 2 == 0 else 30.0) for i, m in enumerate(RECENT)]
    # S3: 25 a month before (300); now 0 (no row), 40, 0, 40, ... -> 240, mean 20, std 20, cv 1.
    rows += [("S3", "N", m, 25.0) for m in PREVIOUS]
    rows += [("S3", "N", m, 40.0) for i, m in enumerate(RECENT) if i % 2 == 1]
    # N1: launched 2026-08: 10, 20, 30 -> cv over 3 months = sqrt(200/3) / 20 = 0.408.
    rows += [
        ("N1", "N", pd.Timestamp(f"2026-{m:02d}-01"), q) for m, q in ((8, 10), (9, 20), (10, 30))
    ]
    # P1: 40 units once in each period -> growth 0; cv of one spike in 12 months = sqrt(11).
    rows += [
        ("P1", "S", pd.Timestamp("2025-02-01"), 40.0),
        ("P1", "S", pd.Timestamp("2026-02-01"), 40.0),
    ]
    # E1: 1 unit in each of the first 10 recent months -> cv = sqrt((1-p)/p), p = 10/12.
    rows += [("E1", "N", m, 1.0) for m in RECENT[:10]]
    # S4: 10 units once in each period.
    rows += [("S4", "N", pd.Timestamp("2025-03-01"), 10.0), ("S4", "N", RECENT[5], 10.0)]
    frame = pd.DataFrame(rows, columns=["sku", "region", "month", "qty"])
    frame["qty"] = frame["qty"].astype(float)
    return frame


@pytest.fixture(scope="module")
def portfolio() -> pd.DataFrame:
    return review_portfolio(_products(), _sales(), CYCLE)


def _row(portfolio: pd.DataFrame, sku: str) -> pd.Series:
    return portfolio.set_index("sku").loc[sku]


def test_one_row_per_sku_in_the_stated_column_order(portfolio):
    """Every SKU of products appears once (Z0 has no sales at all), columns as documented."""
    assert list(portfolio.columns) == list(PORTFOLIO_COLUMNS)
    assert sorted(portfolio["sku"]) == sorted(_products()["sku"])
    assert portfolio["discontinue_candidate"].dtype == bool
    assert portfolio["watch_new"].dtype == bool


def test_units_revenue_and_margin_by_hand(portfolio):
    """Hand-computed: see the module docstring; months outside both periods are ignored."""
    expected = {
        # sku: units, units_prev, revenue, revenue_prev, margin
        "S1": (240, 180, 24000, 18000, 9600),
        "S2": (240, 240, 12000, 12000, 2400),
        "S3": (240, 300, 2400, 3000, 1440),
        "N1": (60, 0, 1200, 0, 600),
        "P1": (40, 40, 200, 200, 40),
        "E1": (10, 0, 100, 0, 50),
        "S4": (10, 10, 100, 100, 5),
        "Z0": (0, 0, 0, 0, 0),
    }
    got = portfolio.set_index("sku")[["units", "units_prev", "revenue", "revenue_prev", "margin"]]
    for sku, values in expected.items():
        assert got.loc[sku].tolist() == pytest.approx(values), sku
    assert _row(portfolio, "S1")["margin_pct"] == pytest.approx(40.0)  # percent, not 0.4
    assert _row(portfolio, "S4")["margin_pct"] == pytest.approx(5.0)


def test_growth_and_undefined_ratios_are_nan_not_infinite(portfolio):
    """S1 grows 240/180 - 1 = 1/3, S3 falls 240/300 - 1 = -0.2; no previous sales -> NaN."""
    assert _row(portfolio, "S1")["revenue_growth"] == pytest.approx(1 / 3)
    assert _row(portfolio, "S1")["unit_growth"] == pytest.approx(1 / 3)
    assert _row(portfolio, "S3")["revenue_growth"] == pytest.approx(-0.2)
    for sku in ("N1", "E1", "Z0"):
        assert math.isnan(_row(portfolio, sku)["revenue_growth"]), sku
        assert math.isnan(_row(portfolio, sku)["unit_growth"]), sku
    assert math.isnan(_row(portfolio, "Z0")["margin_pct"])
    numbers = portfolio.select_dtypes("number").to_numpy()
    assert not np.isinf(numbers).any()


def test_abc_by_hand_with_tie_broken_by_sku(portfolio):
    """Revenue order S1, S2, S3, N1, P1, E1 = S4 (tie: E1 first by sku), Z0; total 40000."""
    assert portfolio["sku"].tolist() == ["S1", "S2", "S3", "N1", "P1", "E1", "S4", "Z0"]
    assert portfolio["abc"].tolist() == ["A", "A", "B", "C", "C", "C", "C", "C"]
    assert portfolio["revenue_share"].tolist() == pytest.approx(
        [0.6, 0.3, 0.06, 0.03, 0.005, 0.0025, 0.0025, 0.0]
    )
    assert portfolio["cumulative_share"].tolist() == pytest.approx(
        [0.6, 0.9, 0.96, 0.99, 0.995, 0.9975, 1.0, 1.0]
    )


def _abc_split_holds(portfolio: pd.DataFrame, threshold: float) -> None:
    a_items = portfolio[portfolio["abc"] == "A"]
    a_share = a_items["revenue_share"].sum()
    assert a_share >= threshold - 1e-12
    last_a = a_items.sort_values("cumulative_share")["revenue_share"].iloc[-1]
    assert a_share - last_a < threshold


def test_abc_classes_split_revenue_in_the_stated_proportions(portfolio):
    """A holds at least 80 % of revenue (90 % here) and without its last item less (60 %)."""
    _abc_split_holds(portfolio, 0.8)
    b_and_a = portfolio.loc[portfolio["abc"].isin(["A", "B"]), "revenue_share"].sum()
    assert b_and_a >= 0.95  # 96 %
    assert b_and_a - _row(portfolio, "S3")["revenue_share"] < 0.95


@pytest.mark.parametrize("seed", range(5))
def test_abc_split_holds_on_random_catalogues(seed):
    """Seeded random revenues: the A/B boundary property holds whatever the numbers."""
    rng = np.random.default_rng(seed)
    n = 40
    products = pd.DataFrame(
        {
            "sku": [f"K{i:02d}" for i in range(n)],
            "description": "k",
            "family": "F",
            "unit_price": rng.uniform(1, 50, n).round(2),
            "unit_cost": 0.5,
            "status": "active",
        }
    )
    sales = pd.DataFrame(
        {
            "sku": products["sku"],
            "region": "N",
            "month": pd.Timestamp("2026-05-01"),
            "qty": rng.pareto(1.2, n).round() * 10,
        }
    )
    result = review_portfolio(products, sales, CYCLE, abc_thresholds=(0.7, 0.9))
    _abc_split_holds(result, 0.7)
    assert (result.loc[result["revenue"] == 0, "abc"] == "C").all()


def _one_month_catalogue(revenues: dict[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    products = pd.DataFrame(
        {
            "sku": list(revenues),
            "description": "x",
            "family": "F",
            "unit_price": 1.0,
            "unit_cost": 0.5,
            "status": "active",
            "launch_month": pd.Timestamp("2020-01-01"),
        }
    )
    sales = pd.DataFrame(
        {
            "sku": list(revenues),
            "region": "N",
            "month": pd.Timestamp("2026-06-01"),
            "qty": list(revenues.values()),
        }
    )
    return products, sales


def test_abc_tie_across_the_boundary_is_broken_by_sku_not_input_order():
    """M1 70, K2 15, K1 15: K1 comes before K2, so K1 (before 70 %) is A, K2 (85 %) is B."""
    products, sales = _one_month_catalogue({"M1": 70.0, "K2": 15.0, "K1": 15.0})
    result = review_portfolio(products, sales, CYCLE).set_index("sku")["abc"]
    assert result.to_dict() == {"M1": "A", "K1": "A", "K2": "B"}


def test_abc_item_starting_exactly_on_the_threshold_is_the_next_class():
    """60, 20, 20: before the third item exactly 80 % has been reached, so it is B, not A."""
    products, sales = _one_month_catalogue({"P": 60.0, "Q": 20.0, "R": 20.0})
    result = review_portfolio(products, sales, CYCLE).set_index("sku")["abc"]
    assert result.to_dict() == {"P": "A", "Q": "A", "R": "B"}


def test_xyz_by_hand(portfolio):
    """cv: S1 0 (X), S2 0.5 (X, inclusive), S3 1.0 (Y, inclusive; empty months count as 0),
    N1 0.408 over its 3 months since launch (X; over 12 months it would be 1.91, Z),
    P1 and S4 sqrt(11) (Z), E1 sqrt(0.2) (X), Z0 no demand (Z, NaN)."""
    cv = portfolio.set_index("sku")["demand_cv"]
    assert cv["S1"] == pytest.approx(0.0)
    assert cv["S2"] == pytest.approx(0.5)
    assert cv["S3"] == pytest.approx(1.0)
    assert cv["N1"] == pytest.approx(math.sqrt(200 / 3) / 20)
    assert cv["P1"] == pytest.approx(math.sqrt(11))
    assert cv["E1"] == pytest.approx(math.sqrt(0.2))
    assert math.isnan(cv["Z0"])
    xyz = portfolio.set_index("sku")["xyz"].to_dict()
    assert xyz == {
        "S1": "X", "S2": "X", "S3": "Y", "N1": "X", "P1": "Z", "E1": "X", "S4": "Z", "Z0": "Z",
    }  # fmt: skip


def test_xyz_thresholds_are_applied():
    """With (0.4, 0.45): S2 (0.5) becomes Z, N1 (0.408) and E1 (0.447) become Y."""
    result = review_portfolio(_products(), _sales(), CYCLE, xyz_thresholds=(0.4, 0.45))
    xyz = result.set_index("sku")["xyz"]
    assert (xyz["S2"], xyz["N1"], xyz["E1"], xyz["S1"]) == ("Z", "Y", "Y", "X")


def test_lifecycle_by_hand(portfolio):
    """Phase-out P1 and E1 (last month of sales 2027-03: 5 months of sales left <= 6) are
    end of life; N1 (3 months) new;
    S1 +33 % growth; S3 -20 % decline; S2, S4 (0 %) and Z0 (no revenue) mature."""
    stage = portfolio.set_index("sku")["lifecycle"].to_dict()
    assert stage == {
        "S1": "growth", "S2": "mature", "S3": "decline", "N1": "new",
        "P1": "end of life", "E1": "end of life", "S4": "mature", "Z0": "mature",
    }  # fmt: skip
    reason = portfolio.set_index("sku")["lifecycle_reason"]
    assert reason["N1"] == "launched 2026-08, 3 months ago"
    assert reason["P1"] == "status phase_out"
    assert reason["E1"] == "last month of sales 2027-03, in 4 months"
    assert reason["S1"] == "revenue +33.3 % on the previous 12 months"
    assert reason["S3"] == "revenue -20 % on the previous 12 months"
    assert reason["Z0"] == "no revenue in the last 12 months nor in the previous 12 months"
    assert _row(portfolio, "N1")["months_since_launch"] == 3
    assert _row(portfolio, "S1")["months_since_launch"] == 8 * 12 + 10


def test_lifecycle_parameters_and_rule_order():
    """new_item_months=120 makes S1 (106 months) and E1 (89) young, but E1's end of life
    comes first; eol_window_months=3 leaves E1 (5 months of sales left) out of end of life;
    thresholds +50 % and -25 % turn S1 (+33 %) and S3 (-20 %) mature."""
    young = review_portfolio(_products(), _sales(), CYCLE, new_item_months=120)
    stage = young.set_index("sku")["lifecycle"]
    assert (stage["S1"], stage["E1"], stage["P1"]) == ("new", "end of life", "end of life")

    narrow = review_portfolio(_products(), _sales(), CYCLE, eol_window_months=3)
    e1 = _row(narrow, "E1")  # revenue 100 now, none before: growth from nothing
    assert e1["lifecycle"] == "growth"
    assert e1["lifecycle_reason"] == "revenue now, none in the previous 12 months"
    assert math.isnan(e1["revenue_growth"])

    wide = review_portfolio(
        _products(), _sales(), CYCLE, growth_threshold=0.5, decline_threshold=-0.25
    )
    stage = wide.set_index("sku")["lifecycle"]
    assert (stage["S1"], stage["S3"]) == ("mature", "mature")
    assert not _row(wide, "S3")["discontinue_candidate"]  # no longer a steep decline


@pytest.mark.parametrize(
    ("eol_month", "window", "stage"),
    [
        # E1 sells 2026-11..2027-03: 5 months of sales left, the cycle month included.
        ("2027-03-01", 5, "end of life"),  # 5 months left, window 5: in
        ("2027-03-01", 4, "growth"),  # 5 months left, window 4: out
        ("2027-04-01", 6, "end of life"),  # 6 left (the default window's last month)
        ("2027-05-01", 6, "growth"),  # 7 left
        ("2026-11-01", 1, "end of life"),  # sells in the cycle month only
        ("2026-11-01", 0, "growth"),  # ... which is 1 month more than 0
        ("2026-10-01", 0, "end of life"),  # its last month is past
    ],
)
def test_end_of_life_window_counts_the_eol_month_as_a_month_of_sales(eol_month, window, stage):
    """eol_month is the last month an item sells: an item is end of life when it has at
    most eol_window_months months of sales left, eol_month included (E1 has revenue now
    and none before, so otherwise it is growth)."""
    products = _products()
    products.loc[products["sku"] == "E1", "eol_month"] = pd.Timestamp(eol_month)
    result = review_portfolio(products, _sales(), CYCLE, eol_window_months=window)
    assert _row(result, "E1")["lifecycle"] == stage


def _threshold_catalogue() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten active SKUs (PH0 phase_out), cycle 2026-11, each side of every discontinue rule.

    BIG sells 100 a month in both windows at price 100 (revenue 120,000 of 120,790:
    99.3 %, so A, and every other item C). XLOW and HI sell 10 a month (X); the others
    sell once in each window (2025-06 and 2026-06: demand_cv sqrt(11), Z) or not at all.

    ====  ======  =====  ====  ======  ========  =========  ===  ===========  =========
    sku   before  now    cost  growth  margin %  lifecycle  xyz  low value    steep
    ====  ======  =====  ====  ======  ========  =========  ===  ===========  =========
    BIG   1200    1200   50    0       50        mature     X    no (A)       no
    CZ85  100     85     0.9   -15 %   10        decline    Z    yes          no (> -20)
    CZ80  100     80     0.9   -20 %   10        decline    Z    yes          yes (= -20)
    HZ80  100     80     0.2   -20 %   80        decline    Z    no (> med)   yes
    HZ85  100     85     0.2   -15 %   80        decline    Z    no           no
    MED   100     100    0.7   0       30        mature     Z    no (= med)   no
    XLOW  120     120    0.9   0       10        mature     X    no (X)       no
    CZG   100     120    0.9   +20 %   10        growth     Z    no (growth)  no
    HI    120     120    0.1   0       90        mature     X    no           no
    ID0   100     0      0.9   -100 %  n/a       decline    Z    no (no rev)  yes, idle
    PH0   100     0      0.9   -100 %  n/a       end (st.)  Z    no           no, not active
    ====  ======  =====  ====  ======  ========  =========  ===  ===========  =========

    Prices are 1 except BIG's. Margins of the 9 SKUs with revenue, sorted: 10, 10, 10,
    10, 30, 50, 80, 80, 90: the median is MED's 30 %, so MED is on the line (not under).
    """
    rows = [
        # sku, price, cost, status, before, now, steady
        ("BIG", 100.0, 50.0, "active", 1200, 1200, True),
        ("CZ85", 1.0, 0.9, "active", 100, 85, False),
        ("CZ80", 1.0, 0.9, "active", 100, 80, False),
        ("HZ80", 1.0, 0.2, "active", 100, 80, False),
        ("HZ85", 1.0, 0.2, "active", 100, 85, False),
        ("MED", 1.0, 0.7, "active", 100, 100, False),
        ("XLOW", 1.0, 0.9, "active", 120, 120, True),
        ("CZG", 1.0, 0.9, "active", 100, 120, False),
        ("HI", 1.0, 0.1, "active", 120, 120, True),
        ("ID0", 1.0, 0.9, "active", 100, 0, False),
        ("PH0", 1.0, 0.9, "phase_out", 100, 0, False),
    ]
    products = pd.DataFrame(
        {
            "sku": [r[0] for r in rows],
            "description": "x",
            "family": "F",
            "unit_price": [r[1] for r in rows],
            "unit_cost": [r[2] for r in rows],
            "status": [r[3] for r in rows],
            "launch_month": pd.Timestamp("2020-01-01"),
        }
    )
    sales = []
    for sku, _, _, _, before, now, steady in rows:
        for months, qty in ((PREVIOUS, before), (RECENT, now)):
            if steady:
                sales += [(sku, "N", m, qty / 12) for m in months]
            elif qty:
                sales.append((sku, "N", months[7], float(qty)))  # 2025-06 or 2026-06
    return products, pd.DataFrame(sales, columns=["sku", "region", "month", "qty"])


def test_discontinue_reasons_are_exactly_the_rules_that_fired():
    """Each rule on both sides of its threshold (see _threshold_catalogue): CZ85 is flagged
    by the C/Z low-value rule alone at -15 %, so it gets no steep-decline reason."""
    products, sales = _threshold_catalogue()
    result = review_portfolio(products, sales, CYCLE).set_index("sku")
    assert result.loc["BIG", "abc"] == "A"
    assert (result.drop(index="BIG")["abc"] == "C").all()
    assert result["xyz"].to_dict() == {
        "BIG": "X", "CZ85": "Z", "CZ80": "Z", "HZ80": "Z", "HZ85": "Z", "MED": "Z",
        "XLOW": "X", "CZG": "Z", "HI": "X", "ID0": "Z", "PH0": "Z",
    }  # fmt: skip
    assert result["margin_pct"].median() == pytest.approx(30.0)
    low = "C and Z, margin 10 % under the median 30 %"
    steep = "revenue -20 %, a steep decline (-20 % or worse)"
    assert result["discontinue_reason"].dropna().to_dict() == {
        "CZ85": low,
        "CZ80": f"{low}; {steep}",
        "HZ80": steep,
        "ID0": "revenue -100 %, a steep decline (-20 % or worse); "
        "active but no sales in the review period",
    }
    assert set(result.index[result["discontinue_candidate"]]) == {"CZ85", "CZ80", "HZ80", "ID0"}
    view = discontinue_candidates(result.reset_index()).set_index("sku")
    assert view.loc["CZ85", "reason"] == low

    # A steeper decline threshold: -15 % is now -30 % for the steep rule, so HZ80 (-20 %)
    # is no longer flagged and CZ80 keeps only its low-value reason.
    result = review_portfolio(products, sales, CYCLE, decline_threshold=-0.15).set_index("sku")
    assert result["discontinue_reason"].dropna().to_dict() == {
        "CZ85": low,
        "CZ80": low,
        "ID0": "revenue -100 %, a steep decline (-30 % or worse); "
        "active but no sales in the review period",
    }


def test_review_window_of_six_months():
    """review_months=6: S1 sells 20 a month in 2026-05..10 (120 units, 12,000) and in
    2025-11..2026-04 (120); the columns keep their names and the sentences say 6 months."""
    result = review_portfolio(_products(), _sales(), CYCLE, review_months=6)
    s1 = _row(result, "S1")
    assert s1[["units", "units_prev", "revenue", "revenue_prev", "margin"]].tolist() == (
        pytest.approx([120, 120, 12000, 12000, 4800])
    )
    assert s1["lifecycle_reason"] == "revenue +0 % on the previous 6 months"
    assert "last 6 months" in headline(result, summarise_families(result), review_months=6)


@pytest.mark.parametrize(("up", "down", "threshold"), [(110.0, 90.0, 0.1), (120.0, 80.0, 0.2)])
def test_growth_exactly_on_the_threshold_counts(up, down, threshold):
    """Against 100, ``up`` is exactly +threshold and ``down`` exactly -threshold, so they are
    growth and decline (the rules are inclusive), though in floats 120 / 100 - 1 is
    0.19999999999999996 and 90 / 100 - 1 is -0.09999999999999998."""
    products, _ = _one_month_catalogue({"G": 0.0, "D": 0.0})
    sales = pd.DataFrame(
        {
            "sku": ["G", "G", "D", "D"],
            "region": "N",
            "month": pd.to_datetime(["2025-06-01", "2026-06-01"] * 2),
            "qty": [100.0, up, 100.0, down],
        }
    )
    result = review_portfolio(
        products, sales, CYCLE, growth_threshold=threshold, decline_threshold=-threshold
    )
    assert result.set_index("sku")["lifecycle"].to_dict() == {"G": "growth", "D": "decline"}


def test_discontinue_candidates_by_hand(portfolio):
    """Median margin_pct (7 SKUs with revenue) is 40 %. S4: C, Z, mature, margin 5 %;
    S3: decline of exactly 2 x -10 %; Z0: active, no units. P1 is C and Z with margin 20 %
    but already end of life; N1 and E1 are C but X."""
    flagged = set(portfolio.loc[portfolio["discontinue_candidate"], "sku"])
    assert flagged == {"S3", "S4", "Z0"}
    assert portfolio["discontinue_reason"].notna().tolist() == (
        portfolio["discontinue_candidate"].tolist()
    )

    view = discontinue_candidates(portfolio)
    assert view["sku"].tolist() == ["Z0", "S4", "S3"]  # smallest revenue first
    reasons = view.set_index("sku")["reason"]
    assert reasons["Z0"] == "active but no sales in the review period"
    assert reasons["S4"] == "C and Z, margin 5 % under the median 40 %"
    assert reasons["S3"] == "revenue -20 %, a steep decline (-20 % or worse)"
    assert "reason" in view.columns
    assert "unit_cost" not in view.columns


def test_new_items_to_watch(portfolio):
    """Only N1 is new; the view keeps its launch age and early demand."""
    assert portfolio.loc[portfolio["watch_new"], "sku"].tolist() == ["N1"]
    view = new_items_to_watch(portfolio)
    assert view["sku"].tolist() == ["N1"]
    assert view.loc[0, "months_since_launch"] == 3
    assert view.loc[0, "units"] == 60
    assert "watch_new" not in view.columns


def test_family_summary_by_hand(portfolio):
    """Bikes = S1 + S2 + N1, Parts = S3 + P1 + E1 + S4 + Z0 (see module docstring)."""
    table = summarise_families(portfolio).set_index("family")
    assert table.index.tolist() == ["Bikes", "Parts", "Total"]
    assert table["skus"].tolist() == [3, 5, 8]
    assert table["units"].tolist() == pytest.approx([540, 300, 840])
    assert table["units_prev"].tolist() == pytest.approx([420, 350, 770])
    assert table["revenue"].tolist() == pytest.approx([37200, 2800, 40000])
    assert table["revenue_prev"].tolist() == pytest.approx([30000, 3300, 33300])
    assert table["margin"].tolist() == pytest.approx([12600, 1535, 14135])
    assert table["margin_pct"].tolist() == pytest.approx(
        [100 * 12600 / 37200, 100 * 1535 / 2800, 100 * 14135 / 40000]
    )
    assert table["revenue_growth"].tolist() == pytest.approx(
        [37200 / 30000 - 1, 2800 / 3300 - 1, 40000 / 33300 - 1]
    )
    assert table["unit_growth"].tolist() == pytest.approx(
        [540 / 420 - 1, 300 / 350 - 1, 840 / 770 - 1]
    )
    assert table["revenue_share"].tolist() == pytest.approx([0.93, 0.07, 1.0])


def test_lifecycle_rules_fill_in_the_numbers_in_application_order():
    """The notebook's rule table follows the parameters it is given."""
    rules = lifecycle_rules(
        new_item_months=6, growth_threshold=0.15, decline_threshold=-0.05, eol_window_months=3
    )
    assert list(rules.columns) == ["stage", "rule"]
    assert rules["stage"].tolist() == ["end of life", "new", "growth", "decline", "mature"]
    text = dict(zip(rules["stage"], rules["rule"], strict=True))
    assert "3 months" in text["end of life"]
    assert "6 months" in text["new"]
    assert "15 %" in text["growth"]
    assert "5 %" in text["decline"]


def test_sales_of_unknown_skus_are_ignored_and_empty_inputs_work():
    """A review of part of the catalogue ignores the other SKUs' sales; no SKU, no rows."""
    products = _products()
    subset = review_portfolio(products[products["family"] == "Bikes"], _sales(), CYCLE)
    assert sorted(subset["sku"]) == ["N1", "S1", "S2"]
    assert subset["revenue_share"].sum() == pytest.approx(1.0)
    assert _row(subset, "S1")["revenue_share"] == pytest.approx(24000 / 37200)

    empty = review_portfolio(products.iloc[:0], _sales().iloc[:0], CYCLE)
    assert empty.empty
    assert list(empty.columns) == list(PORTFOLIO_COLUMNS)
    assert discontinue_candidates(empty).empty
    assert new_items_to_watch(empty).empty
    assert summarise_families(empty)["family"].tolist() == ["Total"]


def test_missing_launch_and_eol_columns_mean_an_established_item():
    """Without launch_month every month counts for XYZ and no item is new: N1 and E1
    (revenue now, none before) are growth; without eol_month E1 is not end of life."""
    products = _products().drop(columns=["launch_month", "eol_month"])
    result = review_portfolio(products, _sales(), CYCLE).set_index("sku")
    assert result.loc["N1", "xyz"] == "Z"  # 0 x 9, 10, 20, 30 over 12 months: cv 1.91
    assert result.loc["N1", "lifecycle"] == "growth"
    assert result.loc["E1", "lifecycle"] == "growth"
    assert math.isnan(result.loc["N1", "months_since_launch"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"abc_thresholds": (0.95, 0.8)}, "abc_thresholds"),
        ({"abc_thresholds": (0.8, 0.8)}, "abc_thresholds"),
        ({"abc_thresholds": (0.8, 1.2)}, "abc_thresholds"),
        ({"abc_thresholds": (0.0, 0.5)}, "abc_thresholds"),
        ({"abc_thresholds": (0.8,)}, "abc_thresholds"),
        ({"xyz_thresholds": (1.0, 0.5)}, "xyz_thresholds"),
        ({"xyz_thresholds": (-0.1, 0.5)}, "xyz_thresholds"),
        ({"xyz_thresholds": "high"}, "xyz_thresholds"),
        ({"growth_threshold": -0.1}, "growth_threshold"),
        ({"decline_threshold": 0.1}, "decline_threshold"),
        ({"review_months": 0}, "review_months"),
        ({"new_item_months": 1.5}, "new_item_months"),
        ({"eol_window_months": -1}, "eol_window_months"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(kwargs, match):
    with pytest.raises(SopError, match=match):
        review_portfolio(_products(), _sales(), CYCLE, **kwargs)


@pytest.mark.parametrize(
    ("cycle", "why"),
    [
        ("2026-11-15", "is not the first day of a month"),
        (pd.Timestamp("2026-11-15"), "is not the first day of a month"),
        (pd.Timestamp("2026-11-01 06:00"), "has a time of day"),
        (pd.Timestamp("2026-11-01", tz="UTC"), "has a time zone"),
        (None, "is missing"),
        ("next month", "is not a date"),
        (0, "is a number"),
    ],
)
def test_cycle_must_be_a_first_of_month_timestamp(cycle, why):
    with pytest.raises(SopError, match=rf"cycle must be a first-of-month date.*which {why}"):
        review_portfolio(_products(), _sales(), cycle)


def test_cycle_may_be_given_as_text():
    """'2026-11' names the same month as pd.Timestamp('2026-11-01'), so the review is equal."""
    pd.testing.assert_frame_equal(
        review_portfolio(_products(), _sales(), "2026-11"),
        review_portfolio(_products(), _sales(), CYCLE),
    )


def test_bad_tables_raise_sop_errors():
    """Missing columns, months as text and duplicated SKUs are named in the message."""
    with pytest.raises(
        SopError,
        match=r"table products is missing column\(s\) unit_price \(it has: sku, description,",
    ):
        review_portfolio(_products().drop(columns="unit_price"), _sales(), CYCLE)
    with pytest.raises(
        SopError,
        match=r"table sales_history is missing column\(s\) qty \(it has: sku, region, month\)",
    ):
        review_portfolio(_products(), _sales().drop(columns="qty"), CYCLE)
    text_months = _sales().assign(month=lambda f: f["month"].dt.strftime("%Y-%m"))
    with pytest.raises(SopError, match=r"sales_history\.month"):
        review_portfolio(_products(), text_months, CYCLE)
    doubled = pd.concat([_products(), _products().iloc[[0]]], ignore_index=True)
    with pytest.raises(SopError, match="S1"):
        review_portfolio(doubled, _sales(), CYCLE)
    with pytest.raises(SopError, match="portfolio is missing"):
        summarise_families(pd.DataFrame({"family": ["F"]}))


def test_headline_by_hand(portfolio):
    """Revenue 40,000 against 33,300 the period before (+20.1 %); margin 14,135 / 40,000 =
    35.3 %; A items S1 and S2 hold 90 %; N1 is new; S3, S4 and Z0 are discontinue candidates."""
    text = headline(portfolio, summarise_families(portfolio))
    assert text == (
        "Revenue over the review period was **40,000**, up 20.1 % on the period before, "
        "at a margin of 35.3 %. 2 A items carry 90 % of it; 1 new item to watch and "
        "3 candidates to discontinue."
    )


def test_headline_names_the_window_it_is_given(portfolio):
    """With review_months the sentence names the window instead of "the review period"."""
    text = headline(portfolio, summarise_families(portfolio), review_months=12)
    assert text.startswith(
        "Revenue over the last 12 months was **40,000**, up 20.1 % on the 12 months before, "
    )
    with pytest.raises(SopError, match="review_months"):
        headline(portfolio, summarise_families(portfolio), review_months=0)


def test_headline_without_previous_revenue_or_any_revenue(portfolio):
    """Growth NaN (nothing sold before) and a period without revenue read as sentences."""
    families = summarise_families(portfolio)
    families.loc[families["level"] == "total", "revenue_growth"] = float("nan")
    assert "with no revenue in the period before" in headline(portfolio, families)
    assert "nan" not in headline(portfolio, families).lower()

    idle = portfolio.assign(revenue=0.0, margin=0.0, revenue_share=0.0, abc="C", watch_new=False)
    text = headline(idle, summarise_families(idle))
    assert text.startswith("No revenue over the review period (against 33,300 in the period")
    assert "No item is class A; no new items to watch and 3 candidates" in text
    with pytest.raises(SopError, match="families has no total row"):
        headline(portfolio, families[families["level"] != "total"])


def test_a_family_named_total_is_not_the_total(portfolio):
    """summarise_families tells the total by its level, so a family called "Total" keeps
    its own figures and the headline still reads the portfolio's revenue."""
    named = portfolio.assign(
        family=portfolio["family"].where(
            portfolio["family"] != portfolio["family"].iloc[0], "Total"
        )
    )
    families = summarise_families(named)
    total = families[families["level"] == "total"].iloc[0]
    assert total["revenue"] == pytest.approx(named["revenue"].sum())
    own = families[(families["level"] == "family") & (families["family"] == "Total")].iloc[0]
    assert own["revenue"] == pytest.approx(named.loc[named["family"] == "Total", "revenue"].sum())
    assert own["revenue"] < total["revenue"]
    assert f"{named['revenue'].sum():,.0f}" in headline(named, families)
