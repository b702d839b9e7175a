"""Where a cycle's time goes: `sop run` on the demo company, cold, stage by stage.

Builds a workspace once (`sop init`; with ``--skus N``, the demo company regenerated with
N SKUs by ``sopkit.demo.make_demo`` and written as its CSV files), then for each of
``--repeat`` runs copies it and times `sop run` in a new process, so imports, data
loading, kernel start-ups and report writing are all counted. Prints medians (the
machine is shared: medians, not best cases) of:

- the total wall time of `sop run`;
- each stage's time from the run's manifest.json (``stages[id].duration_s``), and any
  finer timings the runner records (``stages[id].timings`` or a top-level ``timings``,
  dicts of seconds), whatever their names;
- the fixed costs outside the stages (total minus the stages' sum);
- measured by this script in fresh processes: Python's start-up, importing sopkit's
  stage stack (``import sopkit.charts, sopkit.cycle``) with the share of
  ``rfc3987_syntax`` in it (``-X importtime``), importing ``rfc3987_syntax`` alone,
  loading and validating the input data, writing the workbook (with its CSV tables)
  and its peak memory, and writing the HTML reports and the index;

then the targets (2-core machine) with the ratio: `sop run` on the demo under 2 minutes and
its demand planning stage under 60 s cold (the issue of the forecasting engine).

With ``--warm``, each run plans two cycles in its copy: the month before the data's default
cycle (``--cycle``, as of that month) cold, then the default cycle, whose stage 2 starts
warm from the first cycle's model choices; the report then has a cold and a warm section,
and the target of stage 2 warm, under 20 s.

    .venv/bin/python benchmarks/cycle.py [--repeat 3] [--skus 5000] [--warm] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

DEMO_SKUS = 160
#: DESIGN.md, "Performance targets": (SKUs, seconds, what)
TARGETS = ((DEMO_SKUS, 120.0, "sop run on the demo company with the engines: under 2 minutes"),)
#: the forecasting engine's issue: stage 2 on the demo, (cold or warm, seconds)
STAGE_2_TARGETS = {"cold": 60.0, "warm": 20.0}
STACK = "import sopkit.charts, sopkit.cycle"


# --------------------------------------------------------------------------- workspace


def build_workspace(path: Path, skus: int = DEMO_SKUS, seed: int = 7) -> Path:
    """A workspace (`sop init`) whose demo company has ``skus`` SKUs, as CSV files in data/."""
    from sopkit.cli import main as sop
    from sopkit.config import DataParams
    from sopkit.data import validate_tables, write_csv_folder
    from sopkit.demo import make_demo

    with contextlib.redirect_stdout(io.StringIO()):
        code = sop(["init", str(path), "--seed", str(seed)])
    if code != 0:
        raise SystemExit(f"sop init {path} failed")
    if skus != DEMO_SKUS:
        tables = make_demo(seed=seed, last_month=DataParams().demo_last_month, n_skus=skus)
        ds = validate_tables(tables, source=f"demo company, {skus} SKUs")
        shutil.rmtree(path / "data")
        write_csv_folder(ds, path / "data")
    return path


# --------------------------------------------------------------------------- one run


def _python(code: str, *, flags: tuple[str, ...] = ()) -> tuple[float, str, str]:
    """Run ``code`` in a fresh Python; its wall time, stdout and stderr."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"python -c {code!r} failed:\n{p.stderr[-3000:]}")
    return wall, p.stdout, p.stderr


def find_manifest(ws: Path, cycle: str | None = None) -> Path:
    """The manifest of ``cycle``, or of the latest cycle under the workspace's reports."""
    found = sorted(
        p for p in (ws / "reports").glob("*/manifest.json") if not p.parent.name.startswith(".")
    )
    if cycle:
        found = [p for p in found if p.parent.name == cycle]
    if not found:
        raise SystemExit(f"no cycle {cycle or ''} under {ws / 'reports'}")
    return found[-1]


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def stage_times(manifest: dict[str, Any]) -> dict[str, float]:
    """Seconds by name from a manifest: ``<stage>`` (its duration_s), ``<stage>.<timing>``
    for each number in a stage's ``timings``, and ``run.<timing>`` for a top-level
    ``timings``. Other fields, and entries that are not numbers, are ignored."""
    out: dict[str, float] = {}
    for sid, entry in (manifest.get("stages") or {}).items():
        if not isinstance(entry, dict):
            continue
        duration = _seconds(entry.get("duration_s"))
        if duration is not None:
            out[sid] = duration
        for key, value in (entry.get("timings") or {}).items():
            if _seconds(value) is not None:
                out[f"{sid}.{key}"] = _seconds(value)
    timings = manifest.get("timings")
    if isinstance(timings, dict):
        for key, value in timings.items():
            if _seconds(value) is not None:
                out[f"run.{key}"] = _seconds(value)
    return out


def one_run(template: Path, tmp: Path, i: int, cycle: str | None = None) -> dict[str, Any]:
    """Copy the workspace (unless copied) and time `sop run` in it; the manifest's figures."""
    ws = tmp / f"run{i}"
    if not ws.exists():
        shutil.copytree(template, ws)
    sop = str(Path(sys.executable).with_name("sop"))
    t0 = time.perf_counter()
    args = [sop, "run", *(["--cycle", cycle] if cycle else [])]
    p = subprocess.run(args, cwd=ws, capture_output=True, text=True)
    total = time.perf_counter() - t0
    if p.returncode != 0:
        tail = f"{p.stdout[-2000:]}\n{p.stderr[-3000:]}"
        raise SystemExit(f"sop run failed (exit {p.returncode}):\n{tail}")
    manifest = json.loads(find_manifest(ws, cycle).read_text())
    times = stage_times(manifest)
    stages = [k for k in times if "." not in k]
    return {
        "ws": ws,
        "total": total,
        "times": times,
        "stages_sum": sum(times[k] for k in stages),
        "status": manifest.get("status"),
        "input_rows": manifest.get("input_rows", {}),
        # kernel noise that once showed in about a third of successful runs
        "noise": "KeyboardInterrupt" in p.stdout + p.stderr or "Traceback" in p.stderr,
    }


# --------------------------------------------------------------------------- fixed costs


def parse_importtime(stderr: str, prefix: str) -> float:
    """Seconds of the top-level modules named ``prefix...`` in ``-X importtime`` output."""
    total_us = 0
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m and m.group(4).startswith(prefix) and "." not in m.group(4):
            total_us += int(m.group(2))
    return total_us / 1e6


def measure_fixed(ws: Path) -> dict[str, float | str]:
    """Costs outside the stages, each in a fresh process, on a completed workspace."""
    out: dict[str, float | str] = {}
    out["python start-up"], _, _ = _python("pass")
    out["import stage stack"], _, _ = _python(STACK)
    _, _, err = _python(STACK, flags=("-X", "importtime"))
    out["rfc3987 in stack"] = parse_importtime(err, "rfc3987_syntax")
    try:
        alone, _, _ = _python("import rfc3987_syntax")
        out["rfc3987 alone"] = alone - out["python start-up"]
    except SystemExit:
        out["rfc3987 alone"] = "not installed"
    # Peak memory from /proc (VmHWM): ru_maxrss would count this script's own memory,
    # which a child inherits across fork and exec on Linux.
    timer = "import json, time\nt0 = time.perf_counter()\n{body}\n" + (
        "s = time.perf_counter() - t0\n"
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')]\n"
        "mb = int(hwm[0].split()[1]) / 1024 if hwm else float('nan')\n"
        "print(json.dumps({{'s': s, 'rss': mb}}))"
    )
    _, stdout, _ = _python(
        "from sopkit.data import load_folder\n"
        + timer.format(body=f"load_folder({str(ws / 'data')!r})"),
    )
    out["validate"] = json.loads(stdout)["s"]
    root = find_manifest(ws).parent
    store = f"CycleStore({str(root.parent)!r}, {root.name!r})"
    _, stdout, _ = _python(
        "from sopkit.report import write_workbook\nfrom sopkit.store import CycleStore\n"
        + timer.format(body=f"write_workbook({store})"),
    )
    wb = json.loads(stdout)
    out["workbook"], out["workbook peak MB"] = wb["s"], wb["rss"]
    _, stdout, _ = _python(
        "from pathlib import Path\nimport nbconvert, nbformat\n"
        "from sopkit.report import export_html, write_index\nfrom sopkit.store import CycleStore\n"
        + timer.format(
            body=f"root = Path({str(root)!r})\n"
            "for nb in sorted(root.glob('[0-9][0-9]_*.ipynb')):\n"
            "    export_html(nb, root / '.bench.html')\n"
            "(root / '.bench.html').unlink()\n"
            f"write_index({store})"
        ),
    )
    out["html and index"] = json.loads(stdout)["s"]
    return out


# --------------------------------------------------------------------------- report


def _med(values: list[float]) -> float:
    return statistics.median(values)


def _line(label: str, seconds: float, note: str = "") -> str:
    return f"  {label:<44} {seconds:7.2f} s" + (f"   {note}" if note else "")


def report(skus: int, runs: list[dict[str, Any]], fixed: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"sop run, demo company with {skus:,} SKUs, cold start; medians of {len(runs)} run(s)",
        _line("total wall time of `sop run`", _med([r["total"] for r in runs]),
              "(runs " + ", ".join(f"{r['total']:.1f}" for r in runs) + ")"),
        "  stages (manifest.json duration_s, and timings when the runner records them):",
    ]  # fmt: skip
    names = list(dict.fromkeys(k for r in runs for k in r["times"]))
    for name in names:
        values = [r["times"][name] for r in runs if name in r["times"]]
        label = f"  {name}" if "." not in name else f"      {name.split('.', 1)[1]}"
        if name.startswith("run."):
            label = f"  run: {name[4:]}"
        lines.append(_line(label, _med(values)))
    stages = _med([r["stages_sum"] for r in runs])
    total = _med([r["total"] for r in runs])
    lines.append(_line("  sum of the stages", stages))
    outside = _med([r["total"] - r["stages_sum"] for r in runs])
    what = "start-up, imports, validation, snapshot, HTML, workbook, index"
    lines.append(_line("outside the stages (total - stages)", outside, what))
    f = {k: [x[k] for x in fixed if isinstance(x[k], (int, float))] for k in fixed[0]}
    lines += [
        "measured by this script, each in a fresh process (medians):",
        _line("python start-up (python -c pass)", _med(f["python start-up"])),
        _line(f"`{STACK}`", _med(f["import stage stack"]),
              "(start-up included; about what a stage kernel pays to import sopkit)"),
        _line("  of which rfc3987_syntax* (-X importtime)", _med(f["rfc3987 in stack"])),
    ]  # fmt: skip
    if f["rfc3987 alone"]:
        alone = _med(f["rfc3987 alone"])
        lines.append(_line("`import rfc3987_syntax` alone (minus start-up)", alone))
    else:
        lines.append("  `import rfc3987_syntax` alone: not installed")
    rows = runs[0]["input_rows"]
    big = ", ".join(f"{k} {v:,}" for k, v in sorted(rows.items(), key=lambda kv: -kv[1])[:2])
    lines += [
        _line("load and validate the input data (CSV)", _med(f["validate"]), f"({big} rows)"),
        _line("write_workbook (workbook and CSV tables)", _med(f["workbook"]),
              f"peak memory of the process {_med(f['workbook peak MB']):.0f} MB"),
        _line("export_html x 5 and write_index", _med(f["html and index"])),
        "targets (DESIGN.md, 2-core machine):",
    ]  # fmt: skip
    for n, target, what in TARGETS:
        if n == skus:
            lines.append(_target(what, total, target))
    if skus == DEMO_SKUS:
        stage2 = _med([r["times"].get("demand_planning", float("nan")) for r in runs])
        lines.append(_target("stage 2 on the demo, cold: under 60 s", stage2,
                             STAGE_2_TARGETS["cold"]))  # fmt: skip
    if skus not in {n for n, _, _ in TARGETS}:
        lines.append(f"  none for {skus:,} SKUs (targets: {', '.join(w for _, _, w in TARGETS)})")
    noisy = sum(r["noise"] for r in runs)
    lines.append(f"  kernel noise (KeyboardInterrupt, Traceback) in {noisy} of {len(runs)} runs")
    if any(r["status"] != "complete" for r in runs):
        lines.append(f"  note: run status {[r['status'] for r in runs]}")
    return lines


def _target(what: str, seconds: float, target: float) -> str:
    met = "met" if seconds < target else "not met"
    return f"  {what}: {seconds:.1f} s = {seconds / target:.0%} of the target ({met})"


def warm_report(skus: int, cold: list[dict[str, Any]], warm: list[dict[str, Any]]) -> list[str]:
    """The two-cycle runs: the first cycle cold, the second warm-started from it."""
    lines = [f"two cycles, demo company with {skus:,} SKUs; medians of {len(warm)} run(s)"]
    for label, runs in (("first cycle, cold", cold), ("second cycle, warm start", warm)):
        stage2 = [r["times"].get("demand_planning", float("nan")) for r in runs]
        lines.append(
            _line(
                f"{label}: sop run",
                _med([r["total"] for r in runs]),
                "(runs " + ", ".join(f"{r['total']:.1f}" for r in runs) + ")",
            )
        )
        lines.append(_line(f"{label}: demand_planning", _med(stage2),
                           "(runs " + ", ".join(f"{t:.1f}" for t in stage2) + ")"))  # fmt: skip
    if skus == DEMO_SKUS:
        stage2 = _med([r["times"].get("demand_planning", float("nan")) for r in warm])
        lines.append(_target("stage 2 on the demo, warm: under 20 s", stage2,
                             STAGE_2_TARGETS["warm"]))  # fmt: skip
    return lines


def _previous_month(ws: Path) -> str:
    """The month before the cycle `sop run` plans by default: the data's last month."""
    sales = pd.read_csv(ws / "data" / "sales_history.csv", usecols=["month"], dtype=str)
    return str(sales["month"].max())[:7]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs to take the median of (3)")
    ap.add_argument(
        "--skus", type=int, default=DEMO_SKUS,
        help=f"SKUs of the demo company (default {DEMO_SKUS}, the demo; target scale 5000)",
    )  # fmt: skip
    ap.add_argument("--json", type=Path, help="also write the raw figures to this file")
    ap.add_argument(
        "--warm", action="store_true",
        help="plan two cycles per run: the month before, cold, then the default one, warm",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.skus < 12:
        ap.error("--skus must be at least 12 (the demo company needs them for its cases)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sop-bench-") as tmp:
        t0 = time.perf_counter()
        template = build_workspace(Path(tmp) / "template", args.skus)
        print(f"workspace with {args.skus:,} SKUs built in {time.perf_counter() - t0:.1f} s",
              flush=True)  # fmt: skip
        runs, fixed, warm = [], [], []
        for i in range(args.repeat):
            first = _previous_month(template) if args.warm else None
            runs.append(one_run(template, Path(tmp), i, first))
            if args.warm:
                warm.append(one_run(template, Path(tmp), i))
                print(f"run {i + 1}/{args.repeat}: {runs[-1]['total']:.1f} s cold, "
                      f"{warm[-1]['total']:.1f} s warm", flush=True)  # fmt: skip
            else:
                fixed.append(measure_fixed(runs[-1]["ws"]))
                print(f"run {i + 1}/{args.repeat}: {runs[-1]['total']:.1f} s", flush=True)
            shutil.rmtree(runs[-1]["ws"])
        lines = warm_report(args.skus, runs, warm) if args.warm else report(args.skus, runs, fixed)
    print("\n".join(lines))
    if args.json:
        raw = {"skus": args.skus, "runs": [{k: v for k, v in r.items() if k != "ws"} for r in runs],
               "fixed": fixed, "report": lines}  # fmt: skip
        args.json.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
