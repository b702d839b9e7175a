"""The ``sop`` command: ``init``, ``validate`` and ``run``.

Errors that sopkit raises on purpose (:class:`~sopkit.errors.SopError`) are
printed as plain text, without a traceback, and the command exits with 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from .errors import DataValidationError, SopError

_HERE = Path(__file__).parent


def resource_dir(name: str) -> Path:
    """A folder shipped with sopkit (``notebooks``, ``parameters`` or ``reports``).

    In an installed wheel they live in ``sopkit/_workspace/``; in a source
    checkout (editable install) beside the package.
    """
    for folder in (_HERE / "_workspace" / name, _HERE.parent / name):
        if folder.is_dir():
            return folder
    raise SopError(f"sopkit's {name}/ folder is missing from the installation; reinstall sopkit")


def _print_table(rows: list[tuple[str, ...]]) -> None:
    out = sys.stdout
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.write("  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
        out.write("\n")


# --------------------------------------------------------------------------- init


def cmd_init(args: argparse.Namespace) -> int:
    """``sop init DIR``: a workspace with parameters, notebooks and the demo company."""
    from .config import DataParams
    from .data import load_dataset, write_csv_folder

    target = Path(args.dir)
    existing = target.exists() and any(target.iterdir())
    if existing and not args.force:
        raise SopError(f"{target} exists and is not empty; choose a new folder or add --force")
    if existing and (target / "parameters" / "default.yaml").is_file():
        # --force on a workspace refreshes the notebooks (sopkit's code) and adds what is
        # missing; the planner's data, parameters and reports are never overwritten.
        kept = []
        for name in ("parameters", "reports/README.md", "data"):
            if (target / name).exists():
                kept.append(name)
        shutil.copytree(
            resource_dir("notebooks"), target / "notebooks", dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", ".keep"),
        )  # fmt: skip
        for name in ("default.yaml", "scenarios.yaml"):
            if not (target / "parameters" / name).exists():
                shutil.copyfile(resource_dir("parameters") / name, target / "parameters" / name)
        print(f"Workspace {target}: the five notebooks are refreshed; kept as they were: "
              f"{', '.join(kept)}.")  # fmt: skip
        return 0
    defaults = DataParams()
    ds = load_dataset("demo", demo_seed=args.seed, demo_last_month=defaults.demo_last_month)
    (target / "reports").mkdir(parents=True, exist_ok=True)
    for name in ("parameters", "notebooks"):
        shutil.copytree(
            resource_dir(name), target / name, dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", ".keep"),
        )  # fmt: skip
    params = target / "parameters" / "default.yaml"
    text = params.read_text(encoding="utf-8")
    text = text.replace("  source: demo ", "  source: data ", 1)
    text = text.replace("  demo_seed: 7", f"  demo_seed: {args.seed}", 1)
    params.write_text(text, encoding="utf-8")
    write_csv_folder(ds, target / "data")
    shutil.copyfile(resource_dir("reports") / "README.md", target / "reports" / "README.md")
    print(f"Workspace written to {target}:")
    print("  parameters/   default.yaml (cycle settings) and scenarios.yaml (what-ifs)")
    print(
        f"  data/         the demo company as {len(ds.tables())} CSV files: replace them with yours"
    )
    print("  notebooks/    the five stage notebooks (open them in JupyterLab)")
    print("  reports/      where `sop run` writes each cycle")
    print(f"Next: cd {target} && sop validate && sop run")
    return 0


# --------------------------------------------------------------------------- validate


def cmd_validate(args: argparse.Namespace) -> int:
    """``sop validate [SOURCE]``: check a dataset, print a summary or every problem."""
    import pandas as pd

    from .config import find_workspace, resolve_parameters
    from .data import load_dataset
    from .errors import ConfigError

    try:
        base = find_workspace()
    except ConfigError:
        base = None  # outside a workspace: a given source, or the demo company
    params = resolve_parameters(base / "parameters" / "default.yaml") if base else None
    if args.source is None and params is None:
        raise SopError(
            "no data source given and no workspace here (a folder with "
            "parameters/default.yaml): say which data to check, e.g. `sop validate data/`, "
            "or `sop validate demo` for the built-in demo company"
        )
    source = args.source or params.data.source
    data = params.data if params is not None else None
    from .config import hide_password

    print(f"Data source: {hide_password(str(source))}", flush=True)
    ds = load_dataset(
        source,
        queries=data.queries if data and source == data.source else None,
        demo_seed=data.demo_seed if data else 7,
        demo_last_month=data.demo_last_month if data else "2026-10",
        base=base,
    )
    p, sh = ds.products, ds.sales_history
    print(f"Data source {ds.source}: valid.")
    print(
        f"  {len(p)} SKUs ({', '.join(f'{n} {s}' for s, n in p['status'].value_counts().items())}) "
        f"in {p['family'].nunique()} families, {sh['region'].nunique()} regions"
    )
    print(
        f"  history {ds.first_month:%Y-%m} to {ds.last_month:%Y-%m} "
        f"({sh['month'].nunique()} months); next cycle "
        f"{ds.last_month + pd.offsets.MonthBegin(1):%Y-%m}"
    )
    summary = ds.summary()
    rows = [("table", "rows", "from", "to")]
    rows += [(r["table"], f"{r['rows']:,}", r["from"], r["to"]) for r in summary.to_dict("records")]
    _print_table(rows)
    if ds.warnings:
        n = len(ds.warnings)
        print(f"{n} warning{'s' if n != 1 else ''} (these alone would not stop a run):")
        print("\n".join(DataValidationError.listed(ds.warnings)))
    return 0


# --------------------------------------------------------------------------- run


def _parse_assignments(pairs: list[list[str]] | None) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs: the value as typed, for the schema to convert.

    Only lists and mappings (``[0.7, 0.9]``, ``{Press: -20}``) are read as YAML: YAML's
    own rules would make ``true`` or ``yes`` a 1 and a scenario named ``no`` a False.
    """
    out: dict[str, Any] = {}
    for name, value in pairs or []:
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                out[name] = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise SopError(
                    f"-p {name}: {value!r} is not a valid list or mapping ({exc})"
                ) from None
        else:
            out[name] = value
    return out


def cmd_run(args: argparse.Namespace) -> int:
    """``sop run``: the monthly cycle (see :func:`sopkit.cycle.run_cycle`)."""
    from .cycle import run_cycle

    result = run_cycle(
        args.params,
        cycle=args.cycle,
        scenario=args.scenario,
        from_stage=args.from_stage,
        only=args.only,
        force=args.force,
        overrides=_parse_assignments(args.parameter),
    )
    return 0 if result.status in ("complete", "partial", "up to date") else 1


def cmd_decide(args: argparse.Namespace) -> int:
    """``sop decide``: record management's decision on a cycle's plan."""
    from .decisions import decide_cycle

    row = decide_cycle(
        args.decision.replace("-", "_"), person=args.by, comment=args.comment or "",
        cycle=args.cycle, scenario=args.scenario, params_file=args.params,
    )  # fmt: skip
    print(
        f"Cycle {row['cycle']}: {row['decision'].replace('_', ' ')} by {row['person']}, "
        f"scenario {row['scenario']!r} (plan {row['plan_hash']}), recorded."
    )
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    """``sop promote ID``: an approved scenario or what-if becomes the cycle's plan."""
    from .cycle import run_cycle
    from .decisions import promote_decision, promotion_differences

    row = promote_decision(args.id, name=args.name, params_file=args.params)
    name, cycle = row["promoted"], row["cycle"]
    where = "added to scenarios.yaml as" if row["added"] else "is"
    print(
        f"Decision {row['id']}: approved by {row['person']} on "
        f"{row['decided_at']:%Y-%m-%d %H:%M} UTC; the scenario {where} {name!r}."
    )
    rerun = f"sop run --cycle {cycle} --scenario {name} --force"
    if args.no_run:
        print(f"Next: {rerun}")
        return 0
    why, done = promotion_differences(cycle, name, params_file=args.params)
    if done:
        print(f"Cycle {cycle} is already planned under {name!r}: nothing to re-plan.")
        return 0
    if why:
        raise SopError(
            f"cycle {cycle} was planned under other settings or data than today's, so "
            "re-planning it now would change more than its scenario:\n"
            + "\n".join(f"  - {w}" for w in why)
            + f"\nPut them back to promote the plan as approved, or re-plan under today's "
            f"settings and data with `{rerun}` (the plan then differs from the one approved)."
        )
    print(f"Re-planning cycle {cycle} under {name!r} (it replaces the cycle's plan).")
    result = run_cycle(args.params, cycle=cycle, scenario=name, force=True)
    return 0 if result.status in ("complete", "up to date") else 1


def cmd_serve(args: argparse.Namespace) -> int:
    """``sop serve``: the executive dashboard in Voila (see :mod:`sopkit.serve`)."""
    from .serve import serve

    options = {"cycle": args.cycle, "ip": args.ip, "port": args.port, "cull_idle": args.cull_idle}
    if args.token is not None:
        options["token"] = args.token
    return serve(**options)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # handled like Ctrl-C: the run stops cleanly and says so


# --------------------------------------------------------------------------- parser

_EPILOG = {
    "init": """examples:
  sop init my-sop              a workspace with the demo company as CSV files
  sop init acme --seed 11      another demo company
  sop init --force my-sop      refresh the notebooks of a workspace (data and parameters kept)""",
    "validate": """examples:
  sop validate                 the workspace's data source (or the demo outside a workspace)
  sop validate data/           a folder of CSV files, one per table
  sop validate erp.xlsx        an Excel workbook, one sheet per table
  sop validate postgresql+psycopg://planner@db/erp""",
    "run": """examples:
  sop run                              the cycle after the last month of history
  sop run --cycle 2026-11 --force      run that cycle again, replacing its reports
  sop run --scenario capacity_loss     plan another scenario of scenarios.yaml
  sop run                              after a failure or an interruption: resumes it
  sop run --from supply_planning       run stage 3 and after again (the cycle's parameters)
  sop run --force -p horizon 12        re-plan the cycle with another setting

stages: 1 product_review, 2 demand_planning, 3 supply_planning, 4 reconciliation,
        5 executive_review""",
    "serve": """examples:
  sop serve                      the latest completed cycle, http://127.0.0.1:8866/?token=...
  sop serve --cycle 2026-10      an earlier cycle
  sop serve --ip 0.0.0.0 --port 9000 --token "$TOKEN"   on the network, a token you give""",
    "decide": """examples:
  sop decide approve --by "Ann Lee"                       the latest cycle's plan
  sop decide reject --by "Ann Lee" --comment "budget gap too large" --cycle 2026-11
  sop decide approve --by "Ann Lee" --scenario price_increase   approve a scenario""",
    "promote": """examples:
  sop promote 12                 decision 12's scenario (or dashboard what-if) becomes its
                                 cycle's plan: the cycle is re-planned under it
  sop promote 12 --no-run        only add the what-if to scenarios.yaml
  sop promote 12 --name rush     ... under the name rush instead of what_if_12""",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``sop``."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="sop",
        description="sopkit: the monthly Sales & Operations Planning cycle, from data to decision.",
        epilog="Start with `sop init DIR`, or run `sop run` in the sopkit folder for the demo.",
    )
    parser.add_argument("--version", action="version", version=f"sopkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser(
        "init", help="write a workspace with parameters, notebooks and demo data",
        description="Write a workspace: parameters, the five notebooks and the demo "
        "company as editable CSV files.", epilog=_EPILOG["init"], formatter_class=fmt,
    )  # fmt: skip
    p.add_argument("dir", help="folder to create")
    p.add_argument("--seed", type=int, default=7, help="seed of the demo company (default 7)")
    p.add_argument(
        "--force", action="store_true",
        help="write into a folder that is not empty; on a workspace, refresh its notebooks "
        "only (data, parameters and reports are kept)",
    )  # fmt: skip
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "validate", help="check a dataset against the data contract",
        description="Load a dataset, check every table against the data contract and list "
        "every problem at once (exit 1), or print a summary (exit 0).",
        epilog=_EPILOG["validate"], formatter_class=fmt,
    )  # fmt: skip
    p.add_argument("source", nargs="?", help="demo, a CSV folder, an .xlsx file or a database URL")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "run", help="run the monthly cycle: five notebooks into reports/<cycle>/",
        description="Validate the data, then execute the five stage notebooks with papermill "
        "into reports/<cycle>/: executed notebooks, HTML reports, artifacts, an Excel "
        "workbook, manifest.json and index.html.", epilog=_EPILOG["run"], formatter_class=fmt,
    )  # fmt: skip
    p.add_argument("--cycle", help="planning month YYYY-MM (default: after the history)")
    p.add_argument("--params", help="parameters file (default: parameters/default.yaml)")
    p.add_argument("--scenario", help="scenario of scenarios.yaml (default: as in --params)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--from", dest="from_stage", metavar="STAGE", help="resume from this stage")
    g.add_argument("--only", metavar="STAGE", help="run only this stage")
    p.add_argument("--force", action="store_true", help="replace a completed cycle's reports")
    p.add_argument(
        "-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
        help="a setting of the parameters file by name or dotted path (horizon, "
        "summary_months, finance.summary_months), checked against the schema; it reaches "
        "every stage through the cycle's recorded parameters",
    )  # fmt: skip
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "decide", help="record management's decision on a cycle's plan",
        description="Record approve, reject or request-changes for a completed cycle's plan "
        "(or a scenario of it) in the decision log, and show it in the cycle's index.html. "
        "An approved cycle is not re-run without --force.",
        epilog=_EPILOG["decide"], formatter_class=fmt,
    )  # fmt: skip
    p.add_argument("decision", choices=["approve", "reject", "request-changes"])
    p.add_argument("--by", required=True, metavar="NAME", help="who decides")
    p.add_argument("--comment", help="why (required to reject or request changes)")
    p.add_argument("--cycle", help="the cycle YYYY-MM (default: the latest completed)")
    p.add_argument("--scenario", help="the scenario decided on (default: the cycle's)")
    p.add_argument("--params", help="parameters file (default: parameters/default.yaml)")
    p.set_defaults(func=cmd_decide)

    p = sub.add_parser(
        "promote", help="make an approved scenario or what-if the cycle's plan",
        description="Take an approval from the decision log (sop decide, or the dashboard's "
        "decision panel): an approved what-if is added to scenarios.yaml (appended; "
        "what_if_<id> by default), then its cycle is re-planned under the scenario, "
        "replacing the cycle's plan.", epilog=_EPILOG["promote"], formatter_class=fmt,
    )  # fmt: skip
    p.add_argument("id", type=int, help="the decision's id (in the cycle's index.html)")
    p.add_argument("--name", help="the scenario's name for a what-if (default what_if_<id>)")
    p.add_argument("--no-run", action="store_true", help="do not re-plan the cycle now")
    p.add_argument("--params", help="parameters file (default: parameters/default.yaml)")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser(
        "serve", help="serve the executive dashboard (Voila) of the latest cycle",
        description="Serve stage 5, the executive review, live in Voila: KPI cards, the "
        "scenario panel that re-plans as its inputs move, and the decision panel. On "
        "127.0.0.1 with a token (printed in the URL), sources hidden, read only.",
        epilog=_EPILOG["serve"], formatter_class=fmt,
    )  # fmt: skip
    p.add_argument("--cycle", help="the cycle YYYY-MM (default: the latest completed)")
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    p.add_argument("--token", help="the access token (default: a new random one)")
    p.add_argument("--cull-idle", type=int, default=600, metavar="SECONDS",
                   help="stop a page's kernel after this long idle (default 600)")  # fmt: skip
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sop``: every error ends in a sentence, never a traceback."""
    import logging

    # sop is not an asyncio program: a kernel stopped by Ctrl-C must not make the event
    # loop print "Task exception was never retrieved" after the one-line message.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return args.func(args)
    except BrokenPipeError:
        # `sop validate | head -1`: the reader has what it wanted; say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except SopError as exc:
        from .cycle import Interrupted

        print(f"error: {exc}", file=sys.stderr)
        return 130 if isinstance(exc, Interrupted) else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a folder that cannot be written, a disk that is full, ...
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
