"""Wall time of `sop run` on the full demo company, per stage, from a cold start.

Each repeat makes a fresh workspace (`sop init`, the demo company as CSV files) and runs
`sop run` in a new process, so imports, data loading and kernel start-ups are all counted.
Stage times come from the run's manifest.json. Prints medians over ``--repeat`` runs
(the machine is shared: medians, not best cases). Target (DESIGN.md): under 2 minutes.

    .venv/bin/python benchmarks/cycle.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 120.0


def one_run() -> tuple[float, dict[str, float]]:
    sop = str(Path(sys.executable).with_name("sop"))
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        subprocess.run([sop, "init", str(ws)], check=True, capture_output=True)
        t0 = time.perf_counter()
        subprocess.run([sop, "run"], cwd=ws, check=True, capture_output=True)
        total = time.perf_counter() - t0
        manifest = json.loads(next((ws / "reports").glob("*/manifest.json")).read_text())
    stages = {k: v["duration_s"] for k, v in manifest["stages"].items()}
    return total, stages


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs = [one_run() for _ in range(args.repeat)]
    totals = [t for t, _ in runs]
    print(f"sop run, full demo company, cold; median of {args.repeat} runs")
    for stage in runs[0][1]:
        print(f"  {stage:<18} {statistics.median(r[1][stage] for r in runs):6.1f} s")
    rest = statistics.median(t - sum(s.values()) for t, s in runs)
    print(f"  {'validate, report':<18} {rest:6.1f} s   (loading, snapshot, HTML, workbook, index)")
    med = statistics.median(totals)
    print(
        f"  {'total':<18} {med:6.1f} s   (target {TARGET_S:.0f} s: {med / TARGET_S:.0%} of it; "
        f"runs {', '.join(f'{t:.1f}' for t in totals)})"
    )


if __name__ == "__main__":
    main()
