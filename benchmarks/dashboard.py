"""Time the executive dashboard in a real browser: first render, and a widget change.

Serves a workspace's latest completed cycle with ``sop serve``'s own command
(:func:`sopkit.serve.serve_command`: Voila, one preheated kernel) and drives Debian's
headless Chromium with Playwright:

- **ready**: from ``page.goto`` to the first KPI card of the what-if panel on screen (the
  page rendered, the widgets drawn, the plan's figures in them). Each of ``--loads`` page
  views opens a fresh browser context after the kernel pool has refilled (a new view takes
  the preheated kernel; Voila starts the next one behind it), so each is a first view.
- **change**: from typing a demand change for the first family into its slider's readout
  (Enter) to the revenue card showing the re-planned figure: the browser's message, the
  re-plan through :func:`sopkit.scenarios.replan` (the supply model re-solved), the cards and
  the chart redrawn. ``--changes`` changes alternate between +10 % and +20 %.

Medians are printed (the machine is shared), with the targets of the issue: ready under
10 s, a change under 2 s, on the 2-core machine.

    .venv/bin/python benchmarks/dashboard.py [--workspace DIR] [--loads 5] [--changes 10]

Without ``--workspace`` a demo workspace is made in a temporary folder (``sop init``,
``sop run``: a few minutes) and removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from sopkit.serve import serve_command

TARGET_READY_S, TARGET_CHANGE_S = 10.0, 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise SystemExit(f"Voila did not answer at {url} within {timeout:.0f} s")


def _demo_workspace(folder: Path) -> Path:
    ws = folder / "demo"
    sop = [sys.executable, "-m", "sopkit.cli"]
    subprocess.run([*sop, "init", str(ws)], check=True, stdout=subprocess.DEVNULL)
    print(f"running the demo cycle in {ws} (sop run) ...", flush=True)
    subprocess.run([*sop, "run"], check=True, cwd=ws, stdout=subprocess.DEVNULL)
    return ws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", type=Path, help="a workspace with a completed cycle")
    ap.add_argument("--loads", type=int, default=5, help="page views timed (median)")
    ap.add_argument("--changes", type=int, default=10, help="widget changes timed (median)")
    ap.add_argument("--refill", type=float, default=20.0,
                    help="seconds to let the kernel pool refill between page views")  # fmt: skip
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is needed: apt-get install chromium")
    tmp = Path(tempfile.mkdtemp(prefix="sop-bench-"))
    ws = args.workspace.resolve() if args.workspace else _demo_workspace(tmp)
    port = _free_port()
    cmd, env, folder, url = serve_command(ws, port=port, token="benchmark")
    proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    ready, changes = [], []
    try:
        _wait_up(f"http://127.0.0.1:{port}/")
        time.sleep(args.refill)  # the first preheated kernel runs the notebook
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
            for i in range(args.loads):
                context = browser.new_context(viewport={"width": 1280, "height": 1000})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(url)
                page.locator('[data-kpi="revenue"]').wait_for(timeout=120_000)
                ready.append(time.perf_counter() - start)
                print(f"page view {i + 1}: ready in {ready[-1]:.2f} s", flush=True)
                if i == args.loads - 1:
                    readout = page.locator(".widget-readout").first
                    card = page.locator('[data-kpi="revenue"]')
                    for j in range(args.changes):
                        before = card.get_attribute("data-value")
                        start = time.perf_counter()
                        readout.click()
                        page.keyboard.press("Control+A")
                        page.keyboard.type("20" if j % 2 else "10")
                        page.keyboard.press("Enter")
                        page.wait_for_function(
                            "v => document.querySelector('[data-kpi=\"revenue\"]')"
                            ".dataset.value != v",
                            arg=before, timeout=60_000,
                        )  # fmt: skip
                        changes.append(time.perf_counter() - start)
                context.close()
                if i < args.loads - 1:
                    time.sleep(args.refill)
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load {load:.1f}")
    r, c = statistics.median(ready), statistics.median(changes)
    print(f"ready (first render)  median {r:.2f} s over {len(ready)} views "
          f"(min {min(ready):.2f}, max {max(ready):.2f}); target {TARGET_READY_S:.0f} s: "
          f"{'met' if r < TARGET_READY_S else 'NOT met'}")  # fmt: skip
    print(f"widget change         median {c:.2f} s over {len(changes)} changes "
          f"(min {min(changes):.2f}, max {max(changes):.2f}); target {TARGET_CHANGE_S:.0f} s: "
          f"{'met' if c < TARGET_CHANGE_S else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
