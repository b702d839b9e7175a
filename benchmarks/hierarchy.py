"""Time forecast reconciliation across the hierarchy at 50,000 SKU x region series.

A synthetic company (``make_case``): ``--skus`` SKUs (default 10,000) sold in
``--regions`` regions (5), in ``--families`` families (50), so 50,000 bottom series and
60,306 nodes over the six levels; base forecasts for ``--months`` months (18) at every
node, made incoherent by 10 % noise, with 80 % and 95 % intervals; ``--residual-months``
(24) months of residuals, correlated within families and regions, at every node, for
MinT; as many months of sales history, for top-down.

Prints, for each method of :func:`sopkit.demand.hierarchy.reconcile`, the median wall
time over ``--repeat`` runs (the machine is shared: medians, not best cases) and the
process's peak resident memory so far (``resource.getrusage``); then, for scale, MinT
computed the dense way (the n x n shrunk covariance, G = (S'W^-1 S)^-1 S'W^-1, as
hierarchicalforecast's ``MinTrace`` does) against the sparse one on a small company
(``--dense-skus`` SKUs x the same regions; 400: 2,000 series), the largest difference
between the two, and the memory the dense covariance would take at the full size.
Target (DESIGN.md): 50,000 bottom series in under a minute and 4 GB, 2-core machine.

    .venv/bin/python benchmarks/hierarchy.py [--repeat 3] [--skus 10000] [--dense-skus 400]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from typing import NamedTuple

import numpy as np
import pandas as pd

from sopkit.demand.hierarchy import METHODS, Hierarchy, reconcile, summing_matrix

TARGET_SECONDS, TARGET_MB = 60.0, 4096.0
Z = {80: 1.2816, 95: 1.9600}


class Case(NamedTuple):
    base: pd.DataFrame
    products: pd.DataFrame
    history: pd.DataFrame
    residuals: pd.DataFrame
    hier: Hierarchy
    yhat: np.ndarray  # nodes x months, base point forecasts in the order of hier.nodes
    R: np.ndarray  # residual months x nodes


def make_case(
    n_skus: int,
    n_regions: int = 5,
    n_families: int = 50,
    months: int = 18,
    residual_months: int = 24,
    seed: int = 0,
) -> Case:
    """A synthetic company with base forecasts, residuals and history at every node."""
    rng = np.random.default_rng(seed)
    skus = np.array([f"S{i:05d}" for i in range(n_skus)])
    families = np.array([f"F{j:02d}" for j in range(n_families)])
    products = pd.DataFrame({"sku": skus, "family": families[np.arange(n_skus) % n_families]})
    regions = np.array([f"R{r}" for r in range(n_regions)])
    bottom = pd.DataFrame({"sku": np.repeat(skus, n_regions), "region": np.tile(regions, n_skus)})
    hier = summing_matrix(bottom, products)
    n_a, n = hier.n_aggregates, len(hier.nodes)
    A = hier.S[:n_a]
    n_b = n - n_a

    level = rng.lognormal(2.0, 1.0, n_b)  # mean monthly units of each series
    phase = rng.integers(0, 12, n_b)
    future = pd.date_range("2027-01-01", periods=months, freq="MS")
    truth = level[:, None] * _season(phase, np.arange(months))
    mean = np.vstack([A @ truth, truth])
    yhat = mean * rng.lognormal(0.0, 0.1, mean.shape)  # base forecasts: incoherent

    # residuals: each series' own noise plus family and region shocks, summed up the
    # hierarchy, plus each aggregate model's own error
    past = pd.date_range(end="2026-12-01", periods=residual_months, freq="MS")
    fam = products.set_index("sku")["family"].loc[bottom["sku"]].to_numpy()
    fam_code = pd.factorize(fam)[0]
    reg_code = np.tile(np.arange(n_regions), n_skus)
    shocks = (
        rng.normal(0, 1, (n_b, residual_months))
        + 0.5 * rng.normal(0, 1, (n_families, residual_months))[fam_code]
        + 0.3 * rng.normal(0, 1, (n_regions, residual_months))[reg_code]
    )
    e_b = np.sqrt(level)[:, None] * shocks
    e_a = A @ e_b
    e_a += rng.normal(0, 0.3, e_a.shape) * e_a.std(axis=1, keepdims=True)
    R = np.vstack([e_a, e_b]).T  # months x nodes

    sd = R.std(axis=0)[:, None] * np.sqrt(np.arange(1, months + 1))[None, :]
    base = _frame(hier, future, {"yhat": yhat})
    for cover, z in Z.items():
        base[f"yhat_lo_{cover}"] = np.maximum(yhat - z * sd, 0).ravel()
        base[f"yhat_hi_{cover}"] = (yhat + z * sd).ravel()
    residuals = _frame(hier, past, {"residual": R.T})

    sold = level[:, None] * _season(phase, np.arange(-residual_months, 0))
    history = pd.DataFrame(
        {
            "sku": np.repeat(bottom["sku"].to_numpy(), residual_months),
            "region": np.repeat(bottom["region"].to_numpy(), residual_months),
            "month": np.tile(past, n_b),
            "qty": rng.poisson(sold).ravel().astype(float),
        }
    )
    return Case(base, products, history, residuals, hier, yhat, R)


def _season(phase: np.ndarray, t: np.ndarray) -> np.ndarray:
    return 1 + 0.25 * np.sin(2 * np.pi * (t[None, :] + phase[:, None]) / 12)


def _frame(hier: Hierarchy, months: pd.DatetimeIndex, values: dict) -> pd.DataFrame:
    n, h = len(hier.nodes), len(months)
    frame = hier.nodes.iloc[np.repeat(np.arange(n), h)].reset_index(drop=True)
    frame["month"] = np.tile(months, n)
    for col, arr in values.items():
        frame[col] = arr.ravel()
    return frame


def run(case: Case, method: str):
    return reconcile(
        case.base, case.products, method=method, history=case.history, residuals=case.residuals
    )


def dense_mint(case: Case) -> np.ndarray:
    """MinT-shrink the dense way (n x n covariance, as hts and hierarchicalforecast do)."""
    S = case.hier.S.toarray()
    R = case.R
    T = R.shape[0]
    var = (R * R).mean(axis=0)
    X = R / np.sqrt(var)
    corr = X.T @ X / T
    v = ((X * X).T @ (X * X) - (X.T @ X) ** 2 / T) / (T * (T - 1))
    np.fill_diagonal(v, 0)
    d = corr**2
    np.fill_diagonal(d, 0)
    lam = float(np.clip(v.sum() / d.sum(), 0, 1))
    W = lam * np.diag(var) + (1 - lam) * (R.T @ R / T)
    w_inv_s = np.linalg.solve(W, S)
    G = np.linalg.solve(S.T @ w_inv_s, w_inv_s.T)
    return np.maximum(G @ case.yhat, 0)


def peak_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--skus", type=int, default=10_000, help="SKUs of the large case")
    parser.add_argument("--regions", type=int, default=5, help="regions (every SKU in each)")
    parser.add_argument("--families", type=int, default=50, help="product families")
    parser.add_argument("--months", type=int, default=18, help="months forecast")
    parser.add_argument("--residual-months", type=int, default=24, help="months of residuals")
    parser.add_argument(
        "--dense-skus", type=int, default=400, help="SKUs of the dense comparison (0: skip)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    if min(args.skus, args.regions, args.families, args.months) < 1:
        parser.error("--skus, --regions, --families and --months must be 1 or more")
    if args.residual_months < 2:
        parser.error("--residual-months must be 2 or more")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}, repeat {args.repeat}"
    )
    t0 = time.perf_counter()
    case = make_case(args.skus, args.regions, args.families, args.months, args.residual_months)
    n_b = case.hier.S.shape[1]
    print(
        f"case: {args.skus:,} SKUs x {args.regions} regions = {n_b:,} bottom series, "
        f"{args.families} families, {len(case.hier.nodes):,} nodes, {args.months} months "
        f"({len(case.base):,} base rows); residuals and history {args.residual_months} months; "
        f"built in {time.perf_counter() - t0:.1f} s, peak {peak_mb():.0f} MB"
    )
    print(f"{'method':<13}{'median s':>10}{'peak MB':>9}{'clipped':>9}{'lambda':>8}  target")
    worst = 0.0
    for method in METHODS:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            rec = run(case, method)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        worst = max(worst, med)
        ok = med < TARGET_SECONDS and peak_mb() < TARGET_MB
        lam = "" if rec.shrinkage is None else f"{rec.shrinkage:.3f}"
        print(
            f"{method:<13}{med:>10.2f}{peak_mb():>9.0f}{rec.clipped:>9,}{lam:>8}  "
            f"{'met' if ok else 'MISSED'} ({med / TARGET_SECONDS:.0%} of {TARGET_SECONDS:.0f} s)",
            flush=True,
        )
    if args.dense_skus:
        small = make_case(args.dense_skus, args.regions, max(1, args.families // 5), args.months,
                          args.residual_months, seed=1)  # fmt: skip
        t = time.perf_counter()
        sparse_bottom = run(small, "mint_shrink").bottom["yhat"].to_numpy()
        t_sparse = time.perf_counter() - t
        t = time.perf_counter()
        dense_bottom = dense_mint(small).ravel()
        t_dense = time.perf_counter() - t
        n_small, n_full = len(small.hier.nodes), len(case.hier.nodes)
        diff = np.abs(sparse_bottom - dense_bottom).max() / max(np.abs(dense_bottom).max(), 1)
        print(
            f"dense MinT at {small.hier.S.shape[1]:,} series ({n_small:,} nodes): dense "
            f"{t_dense:.2f} s, sparse {t_sparse:.2f} s (dense / sparse {t_dense / t_sparse:.1f}); "
            f"largest difference {diff:.1e} of the largest forecast; peak {peak_mb():.0f} MB"
        )
        print(
            f"dense covariance at {n_b:,} series ({n_full:,} nodes): "
            f"{n_full**2 * 8 / 1e9:.1f} GB alone; its solve grows as nodes^3 "
            f"(x{(n_full / n_small) ** 3:,.0f} the small case's)"
        )


if __name__ == "__main__":
    main()
