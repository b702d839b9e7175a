"""Safety-stock targets from the forecast error of stage 2 (sopkit.supply.targets)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import SopError
from sopkit.supply.targets import MAD_TO_SIGMA, forecast_error_safety_stock

M = pd.date_range("2026-11-01", periods=2, freq="MS")
Z95 = 1.6448536269514722  # the standard normal quantile of 0.95


def _plan() -> pd.DataFrame:
    """A: 60 + 40 = 100 in month 0, 200 in month 1 (two regions); B: 50, 50; N: 10, 10."""
    return pd.DataFrame(
        {
            "sku": ["A", "A", "A", "B", "B", "N", "N"],
            "region": ["North", "South", "North", "North", "North", "North", "North"],
            "month": [M[0], M[0], M[1], M[0], M[1], M[0], M[1]],
            "consensus": [60.0, 40.0, 200.0, 50.0, 50.0, 10.0, 10.0],
        }
    )


def _accuracy() -> pd.DataFrame:
    """A: |errors| 10 + 30 on actuals 100 + 100 (WAPE 0.2); B: 150 on 100 (WAPE 1.5,
    capped at 1); seasonal naive's rows and other levels are not read; N is new."""
    rows = [
        ("statistical", "sku", "A", 1, 100.0, 10.0),
        ("statistical", "sku", "A", 2, 100.0, 30.0),
        ("statistical", "sku", "B", 1, 100.0, 150.0),
        ("seasonal_naive", "sku", "A", 1, 100.0, 90.0),
        ("statistical", "family", "A", 1, 100.0, 90.0),
    ]
    return pd.DataFrame(rows, columns=["model", "level", "key", "lag", "actual", "abs_error"])


def test_targets_worked_by_hand():
    """sigma = 1.2533 x WAPE x demand; target = z(0.95) x sigma x sqrt(lead time).

    A (WAPE 0.2): month 0, 1.2533 x 0.2 x 100 = 25.07 -> 41.2304; month 1 twice that.
    B (1.5 capped at 1): 1.2533 x 50 = 62.67 -> 103.08. N, not scored, takes the pooled
    WAPE of A and B: (40 + 150) / 300 = 0.6333. A lead time of 4 months doubles all.
    """
    out = forecast_error_safety_stock(_plan(), _accuracy(), 0.95).set_index(["sku", "month"])
    assert pytest.approx(1.2533141373155) == MAD_TO_SIGMA
    a0, a1 = out.loc[("A", M[0])], out.loc[("A", M[1])]
    assert (a0["demand"], a0["wape"], a0["basis"]) == (100.0, pytest.approx(0.2), "own")
    assert a0["safety_stock"] == pytest.approx(Z95 * MAD_TO_SIGMA * 0.2 * 100)
    assert a0["safety_stock"] == pytest.approx(41.2304, abs=1e-4)
    assert a1["safety_stock"] == pytest.approx(2 * a0["safety_stock"])
    b0 = out.loc[("B", M[0])]
    assert (b0["wape"], b0["basis"]) == (1.0, "own")
    assert b0["safety_stock"] == pytest.approx(Z95 * MAD_TO_SIGMA * 50, abs=1e-9)
    n0 = out.loc[("N", M[0])]
    assert (n0["wape"], n0["basis"]) == (pytest.approx(190 / 300), "pooled")
    four = forecast_error_safety_stock(_plan(), _accuracy(), 0.95, lead_time_months=4)
    assert four["safety_stock"].to_numpy() == pytest.approx(2 * out["safety_stock"].to_numpy())


def test_without_scored_skus_every_target_is_zero_and_says_so():
    acc = _accuracy().iloc[:0]
    out = forecast_error_safety_stock(_plan(), acc, 0.95)
    assert (out["safety_stock"] == 0).all()
    assert set(out["basis"]) == {"none"}


def test_higher_service_level_more_stock_and_bad_numbers_refused():
    low = forecast_error_safety_stock(_plan(), _accuracy(), 0.9)["safety_stock"]
    high = forecast_error_safety_stock(_plan(), _accuracy(), 0.99)["safety_stock"]
    assert np.all(high.to_numpy() > low.to_numpy())
    with pytest.raises(SopError, match=r"service_level must be at least 0\.5 and below 1"):
        forecast_error_safety_stock(_plan(), _accuracy(), 1.0)
    with pytest.raises(SopError, match="lead_time_months must be 0 or more"):
        forecast_error_safety_stock(_plan(), _accuracy(), 0.95, lead_time_months=-1)
    with pytest.raises(SopError, match="accuracy"):
        forecast_error_safety_stock(_plan(), _accuracy().drop(columns="abs_error"), 0.95)
