"""Time to load and validate 1 million sales_history rows.

Builds a CSV folder with 1,000,000 sales_history rows (2,800 SKUs x 3 regions x 120 months,
minus a few) and the matching products, then times, in the same run:

- ``pandas.read_csv`` of the two files alone (the floor: reading text, no checks);
- ``sopkit.data.load_folder``: reading plus the whole contract check;
- ``sopkit.data.validate_tables`` on frames already in memory (the check alone).

Prints the median of ``--repeat`` runs (the machine is shared: medians, not best cases).

    .venv/bin/python benchmarks/load_validate.py [--rows 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sopkit.data import load_folder, validate_tables


def make_folder(folder: Path, rows: int) -> None:
    months = pd.period_range("2016-11", periods=120, freq="M").strftime("%Y-%m")
    n_skus = -(-rows // (3 * len(months)))
    skus = [f"SKU-{i:05d}" for i in range(n_skus)]
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "sku": skus,
            "description": [f"Item {i}" for i in range(n_skus)],
            "family": [f"F{i % 4}" for i in range(n_skus)],
            "unit_price": rng.uniform(5, 90, n_skus).round(2),
            "unit_cost": rng.uniform(2, 40, n_skus).round(2),
            "status": "active",
            "launch_month": "2015-01",
        }
    ).to_csv(folder / "products.csv", index=False)
    idx = pd.MultiIndex.from_product([skus, ["North", "South", "West"], months])
    sales = idx.to_frame(index=False, name=["sku", "region", "month"]).iloc[:rows]
    sales["qty"] = rng.poisson(20, len(sales))
    sales.to_csv(folder / "sales_history.csv", index=False)


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_folder(folder, args.rows)

        def read_only():
            for name in ("products", "sales_history"):
                pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)

        raw = {
            name: pd.read_csv(
                folder / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""]
            )
            for name in ("products", "sales_history")
        }
        ds = load_folder(folder)
        assert len(ds.sales_history) == args.rows
        t_read = median_time(read_only, args.repeat)
        t_load = median_time(lambda: load_folder(folder), args.repeat)
        t_check = median_time(lambda: validate_tables(raw), args.repeat)
    n_skus = ds.products.shape[0]
    print(f"sales_history rows: {args.rows:,} ({n_skus:,} SKUs); median of {args.repeat}")
    print(f"  pandas.read_csv only (no checks):  {t_read:6.2f} s")
    print(
        f"  sopkit load_folder (read + check): {t_load:6.2f} s   ({t_load / t_read:.1f}x read_csv)"
    )
    print(f"  sopkit validate_tables (check):    {t_check:6.2f} s")


if __name__ == "__main__":
    main()
