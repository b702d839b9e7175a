"""The demand engine on M3 monthly and Tourism monthly: a shortcut to ``forecast.py``.

The scoring (sMAPE, MAPE, MASE, coverage), the data, the peers and the published figures
with how far each was checked now live in one place, ``benchmarks/forecast.py``. This
keeps the earlier command and its peers (seasonal naive and statsforecast's Theta, the
M3 winner's method), without pmdarima and without writing results files::

    .venv/bin/python benchmarks/competition.py [--dataset m3|tourism|both] [--limit N]
                                               [--n-jobs N]

runs ``benchmarks/forecast.py --dataset <set(s)> --methods engine snaive theta --no-write``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

FORECAST = Path(__file__).resolve().with_name("forecast.py")
METHODS = ("engine", "snaive", "theta")


def forecast_module() -> ModuleType:
    """``benchmarks/forecast.py`` as a module (the benchmarks folder is not a package)."""
    name = "sopkit_benchmarks_forecast"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FORECAST)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while it loads
        spec.loader.exec_module(module)
    return sys.modules[name]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dataset", choices=("m3", "tourism", "both"), default="both")
    ap.add_argument("--limit", type=int, default=None, help="only the first N series")
    ap.add_argument(
        "--n-jobs", type=int, default=os.cpu_count() or 1, help="worker processes (all cores)"
    )
    args = ap.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be 1 or more")
    if args.n_jobs < 1:
        ap.error("--n-jobs must be 1 or more")
    return args


def forecast_argv(args: argparse.Namespace) -> list[str]:
    """The ``forecast.py`` command line that does what ``args`` asked."""
    sets = ["m3", "tourism"] if args.dataset == "both" else [args.dataset]
    argv = ["--dataset", *sets, "--methods", *METHODS, "--n-jobs", str(args.n_jobs)]
    return [*argv, *(["--limit", str(args.limit)] if args.limit else []), "--no-write"]


def main(argv: list[str] | None = None) -> None:
    forecast_module().main(forecast_argv(parse_args(argv)))


if __name__ == "__main__":
    main()
