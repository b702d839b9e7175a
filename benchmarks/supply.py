"""Time the supply optimisation model: build, solve and re-solve, and its peak memory.

Cases: the demo company (160 SKUs, 5 resources, 3 materials, 18 months, its seasonal
naive consensus) and synthetic companies of ``--skus`` SKUs x 8 resources x 12
materials x 18 months (``make_company``: tight capacity in some months, a three-month
material shortage, subcontracting for every SKU).

For each case, the median over ``--repeat`` runs of:

- ``build``: :meth:`SupplyModel.from_inputs` (tables to cvxpy model);
- ``solve``: the first solve (cvxpy compile, HiGHS, the report frames);
- ``resolve``: after a scenario change through Parameters (demand +10 %, overtime of
  one resource forbidden, one material cut by a fifth);
- ``fresh``: a new model built and solved with the changed numbers, in the same run,
  and the ratio fresh / resolve (what building once saves); the two objectives must
  agree, and their difference is printed.

The demo is also re-planned through :func:`sopkit.scenarios.replan` (what stage 3, stage 4
and the dashboard call): the first plan, which builds the model, and then a scenario
(:data:`REPLAN_SCENARIO`), which re-solves it.

Peak memory: the process's maximum resident set (``resource.getrusage``), printed after
each case; cases run smallest first, so each figure is the peak up to that case.
Targets (DESIGN.md): 5,000 SKUs under 30 s and 4 GB; demo re-solve under 1 s.

    .venv/bin/python benchmarks/supply.py [--repeat 3] [--skus 1000 5000] [--no-demo]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
import pandas as pd

from sopkit.supply.model import SupplyModel

MONTHS = pd.date_range("2026-11-01", periods=18, freq="MS")


def demo_case() -> tuple[pd.DataFrame, object]:
    """The demo company and its stage 2 consensus (seasonal naive, sales inputs applied)."""
    from sopkit.data import validate_tables
    from sopkit.demand import make_consensus, seasonal_naive_forecast
    from sopkit.demo import make_demo

    ds = validate_tables(make_demo())
    cycle = ds.last_month + pd.offsets.MonthBegin(1)
    forecast = seasonal_naive_forecast(ds.sales_history, cycle, len(MONTHS))
    return make_consensus(forecast, ds.sales_inputs, ds.products).plan, ds


def make_company(
    n_skus: int,
    n_resources: int = 8,
    n_materials: int = 12,
    seed: int = 0,
    hours_share: float = 1.0,
    material_share: float = 1.2,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """A synthetic company in the data contract's format, and its demand plan.

    Every SKU is routed through 1 to 3 resources and built from 1 to 3 materials; demand
    swings 25 % with the seasons. Regular hours are ``hours_share`` of the average
    monthly load (1.0: the peaks need building ahead or overtime, 15 % of regular hours
    at most; about 80 % of resource-months end up binding, against 39 % on the demo),
    materials ``material_share`` of the average need, except one material at half for
    three months.
    """
    rng = np.random.default_rng(seed)
    skus = np.array([f"S{i:05d}" for i in range(n_skus)])
    price = np.round(rng.lognormal(3.3, 0.5, n_skus), 2)
    products = pd.DataFrame(
        {"sku": skus, "unit_price": price, "unit_cost": np.round(price * 0.6, 2)}
    )
    base = rng.lognormal(4.0, 0.8, n_skus)
    season = 1 + 0.25 * np.sin(2 * np.pi * (np.arange(len(MONTHS)) + rng.integers(0, 12)) / 12)
    demand = np.round(base[:, None] * season[None, :] * rng.uniform(0.8, 1.2, (n_skus, 18)))
    demand_plan = pd.DataFrame(
        {
            "sku": np.repeat(skus, len(MONTHS)),
            "region": "All",
            "month": np.tile(MONTHS, n_skus),
            "consensus": demand.ravel(),
        }
    )

    def links(n_items: int, prefix: str, low: float, high: float, col: str) -> pd.DataFrame:
        count = rng.integers(1, 4, n_skus)
        rows = np.repeat(np.arange(n_skus), count)
        items = np.concatenate([rng.choice(n_items, c, replace=False) for c in count])
        return pd.DataFrame(
            {
                "sku": skus[rows],
                prefix: [f"{prefix.title()}{j}" for j in items],
                col: np.round(rng.uniform(low, high, len(rows)), 3),
            }
        )

    routings = links(n_resources, "resource", 0.05, 0.5, "hours_per_unit")
    bom = links(n_materials, "material", 0.1, 1.5, "qty_per_unit")
    mean = pd.Series(demand.mean(axis=1), index=skus)
    load = (routings["hours_per_unit"] * routings["sku"].map(mean)).groupby(routings["resource"])
    resources = pd.DataFrame(
        {
            "resource": load.sum().index,
            "month": pd.NaT,
            "regular_hours": np.round(hours_share * load.sum().to_numpy()),
            "max_overtime_hours": np.round(0.15 * hours_share * load.sum().to_numpy()),
            "overtime_cost_per_hour": np.round(rng.uniform(30, 45, n_resources), 2),
        }
    )
    need = (bom["qty_per_unit"] * bom["sku"].map(mean)).groupby(bom["material"]).sum()
    supply = pd.MultiIndex.from_product([need.index, MONTHS], names=["material", "month"])
    material_supply = supply.to_frame(index=False)
    material_supply["max_qty"] = np.round(material_share * material_supply["material"].map(need))
    short = (material_supply["material"] == need.index[0]) & material_supply["month"].isin(
        MONTHS[3:6]
    )
    material_supply.loc[short, "max_qty"] *= 0.5
    material_supply["unit_cost"] = material_supply["material"].map(
        dict(zip(need.index, np.round(rng.uniform(0.5, 5, len(need)), 2), strict=True))
    )
    inventory = pd.DataFrame(
        {"sku": skus, "on_hand": np.round(mean.to_numpy()), "safety_stock": np.round(mean * 0.5)}
    )
    costs = pd.DataFrame(
        {
            "sku": skus,
            "holding_cost_per_unit_month": np.round(0.02 * price * 0.6, 4),
            "backlog_cost_per_unit_month": np.round(0.05 * price, 4),
            "subcontract_cost_per_unit": np.round(price * 0.8, 2),
            "max_subcontract_qty": np.round(0.1 * mean.to_numpy()),
        }
    )
    tables = {
        "products": products,
        "inventory": inventory,
        "resources": resources,
        "routings": routings,
        "bom": bom,
        "material_supply": material_supply,
        "costs": costs,
    }
    return demand_plan, tables


def scenario(model: SupplyModel) -> dict:
    """Demand +10 %, no overtime on the first resource, the first material cut by 20 %."""
    overtime = model.value("overtime_hours")
    overtime.iloc[0] = 0.0
    material = model.value("material_available")
    material.iloc[0] *= 0.8
    return {
        "demand": model.value("demand") * 1.1,
        "overtime_hours": overtime,
        "material_available": material,
    }


def run_case(demand_plan, data, repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in ("build", "solve", "resolve", "fresh")}
    for _ in range(repeat):
        t0 = time.perf_counter()
        model = SupplyModel.from_inputs(demand_plan, data)
        t1 = time.perf_counter()
        base = model.solve()
        t2 = time.perf_counter()
        change = scenario(model)
        again = model.resolve(**change)
        t3 = time.perf_counter()
        fresh_model = SupplyModel.from_inputs(demand_plan, data)
        fresh = fresh_model.resolve(**scenario(fresh_model))
        t4 = time.perf_counter()
        times["build"].append(t1 - t0)
        times["solve"].append(t2 - t1)
        times["resolve"].append(t3 - t2)
        times["fresh"].append(t4 - t3)
    out = {k: statistics.median(v) for k, v in times.items()}
    out["ratio"] = out["fresh"] / out["resolve"]
    out["solver_share"] = again.timings["solver"] / out["resolve"]
    out["objective"] = base.objective
    out["objective_change"] = again.objective - base.objective
    out["fresh_diff"] = abs(fresh.objective - again.objective)
    out["variables"] = sum(v.size for v in model.problem.variables())
    out["unmet_rows"] = int((again.plan["unmet_reason"] != "").sum())
    out["binding"] = base.capacity["binding"].mean()
    return out


#: the dashboard's kind of scenario, through the one re-plan seam
REPLAN_SCENARIO = {"demand_change_pct": 10, "overtime_allowed": False, "supplier_change_pct": -20}


def replan_case(repeat: int) -> dict[str, float]:
    """The demo through ``scenarios.replan``: the first plan (model built) and a scenario."""
    from sopkit.scenarios import PlanInputs, replan

    demand_plan, ds = demo_case()
    first, again = [], []
    for _ in range(repeat):
        inputs = PlanInputs.from_dataset(ds, demand_plan)
        t0 = time.perf_counter()
        replan(inputs, name="baseline")
        t1 = time.perf_counter()
        replan(inputs, REPLAN_SCENARIO, name="scenario")
        t2 = time.perf_counter()
        first.append(t1 - t0)
        again.append(t2 - t1)
    return {"first": statistics.median(first), "scenario": statistics.median(again)}


def peak_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median)")
    parser.add_argument("--skus", type=int, nargs="*", default=[1000, 5000], help="synthetic sizes")
    parser.add_argument(
        "--hours-share",
        type=float,
        default=1.0,
        help="synthetic regular hours / average load (0.92: every resource-month binds)",
    )
    parser.add_argument("--no-demo", action="store_true", help="skip the demo company")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}, repeat {args.repeat}, hours share {args.hours_share}"
    )
    cases = [] if args.no_demo else [("demo (160 SKUs)", demo_case)]
    cases += [
        (f"{n:,} SKUs x 8 x 18", lambda n=n: make_company(n, hours_share=args.hours_share))
        for n in sorted(args.skus)
    ]
    if not args.no_demo:
        r = replan_case(args.repeat)
        print(
            f"demo through scenarios.replan: first plan (model built) {r['first']:.3f} s, "
            f"a scenario ({REPLAN_SCENARIO}) {r['scenario']:.3f} s (target: under 1 s)",
            flush=True,
        )
    header = (
        f"{'case':<20}{'vars':>9}{'build s':>9}{'solve s':>9}{'resolve s':>11}"
        f"{'fresh s':>9}{'ratio':>7}{'solver':>8}{'binding':>8}{'peak MB':>9}"
        "  objective (change; fresh diff)"
    )
    print(header)
    for name, make in cases:
        demand_plan, data = make()
        r = run_case(demand_plan, data, args.repeat)
        print(
            f"{name:<20}{r['variables']:>9,}{r['build']:>9.3f}{r['solve']:>9.3f}"
            f"{r['resolve']:>11.3f}{r['fresh']:>9.3f}{r['ratio']:>7.2f}"
            f"{r['solver_share']:>8.0%}{r['binding']:>8.0%}{peak_mb():>9.0f}"
            f"  {r['objective']:,.0f} "
            f"({r['objective_change']:+,.0f}; {r['fresh_diff']:.2g})",
            flush=True,
        )


if __name__ == "__main__":
    main()
