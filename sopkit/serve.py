"""``sop serve``: the executive dashboard served live by Voila, safely.

Voila as it comes binds every interface with no token, reads a ``voila.json`` from the
folder it starts in, and keeps a kernel (about 256 MB) for every page view until it is
stopped (``../shared/STACK.md``). ``sop serve`` therefore starts it:

- on 127.0.0.1 (``--ip`` to change), on that port or not at all (no silent move to the
  next port, where the printed URL would send the token to another server), with a token
  always set (a random one unless given) and printed in the URL: a request without it is
  refused. The token reaches Voila through its environment (``JUPYTER_TOKEN``), not its
  command line, which every local user can read;
- with sources stripped: executives see no code, and the page can only send widget
  messages (Voila refuses ``execute_request``);
- from an empty folder of its own, with its own Jupyter config, data and runtime folders,
  so no ``voila.json`` in the folder it is started from or in the user's Jupyter folder
  can change the address, the token or the sources (the address, port, token and
  ``strip_sources`` are also given on its command line, which any config file yields to;
  system-wide Jupyter config under ``/etc/jupyter`` is still read, as by every Jupyter
  program);
- with one kernel preheated (the dashboard's imports and its first plan are done before
  anyone opens the page), and idle kernels culled after ``--cull-idle`` seconds;
- on the latest cycle, which must be complete (or ``--cycle``), read only: the notebook runs
  with the cycle's own parameters and input snapshot and writes nothing but decisions
  (``SOPKIT_LIVE``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from sopkit.config import find_workspace, resolve_run
from sopkit.cycle.context import LIVE_CYCLE_ENV, LIVE_ENV, reports_root
from sopkit.decisions import latest_complete_cycle
from sopkit.errors import SopError
from sopkit.store import CycleStore, PlanArchive

__all__ = ["DASHBOARD", "serve", "serve_command"]

#: the notebook served: the executive review
DASHBOARD = "05_executive_review.ipynb"


def serve_command(
    workspace: str | Path | None = None,
    *,
    cycle: str | None = None,
    ip: str = "127.0.0.1",
    port: int = 8866,
    token: str | None = None,
    cull_idle: int = 600,
    run_dir: str | Path | None = None,
) -> tuple[list[str], dict[str, str], Path, str]:
    """The Voila command, its environment, its folder and the URL (token included).

    Raises
    ------
    SopError
        No workspace, no completed cycle (or ``cycle`` not complete), no dashboard
        notebook, a bad port or an empty token.
    """
    ws = Path(workspace).resolve() if workspace else find_workspace()
    run = resolve_run(ws / "parameters" / "default.yaml")
    reports = reports_root(ws, run.params)
    cycles = PlanArchive(reports).cycles()
    if cycle is None:
        cycle = latest_complete_cycle(reports)
    elif cycle not in cycles:
        raise SopError(
            f"cycle {cycle} is not a completed cycle in {reports} (completed: "
            f"{', '.join(cycles) or 'none'}); run `sop run --cycle {cycle}` first."
        )
    notebook = ws / "notebooks" / DASHBOARD
    if not notebook.is_file():
        raise SopError(f"{notebook} is missing; `sop init --force {ws}` restores the notebooks.")
    if not 0 < int(port) < 65536:
        raise SopError(f"--port must be a TCP port, 1 to 65535; got {port}.")
    if int(cull_idle) < 60:
        raise SopError(
            f"--cull-idle must be 60 seconds or more (a closed page's kernel, about 256 MB, "
            f"is stopped after that long); got {cull_idle}."
        )
    token = secrets.token_urlsafe(24) if token is None else str(token)
    if not token.strip():
        raise SopError("--token must not be empty: the dashboard is never served without one.")
    folder = Path(run_dir) if run_dir else Path(tempfile.mkdtemp(prefix="sop-serve-"))
    for sub in ("config", "data", "runtime"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        LIVE_ENV: "1",
        LIVE_CYCLE_ENV: str(CycleStore(reports, cycle).root),
        "JUPYTER_CONFIG_DIR": str(folder / "config"),
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        "JUPYTER_DATA_DIR": str(folder / "data"),
        "JUPYTER_CONFIG_PATH": "",
        "JUPYTER_TOKEN": token,
    }
    cmd = [
        sys.executable, "-m", "voila", str(notebook), "--no-browser",
        f"--Voila.ip={ip}", f"--port={int(port)}", "--Voila.port_retries=0",
        "--Voila.auto_token=True",  # the token comes from JUPYTER_TOKEN, above
        "--strip_sources=True", "--show_tracebacks=False",
        "--preheat_kernel=True", "--pool_size=1",
        f"--MappingKernelManager.cull_idle_timeout={int(cull_idle)}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=False",
    ]  # fmt: skip
    host = f"[{ip}]" if ":" in ip else ip
    query = urllib.parse.urlencode({"token": token})
    return cmd, env, folder, f"http://{host}:{int(port)}/?{query}"


def serve(
    workspace: str | Path | None = None,
    *,
    progress: Callable[[str], None] = print,
    **options,
) -> int:
    """Serve the dashboard until interrupted (``sop serve``); the exit code of Voila."""
    cmd, env, folder, url = serve_command(workspace, **options)
    ip, port = options.get("ip", "127.0.0.1"), int(options.get("port", 8866))
    try:  # taken by another server: say so, before printing a URL that would reach it
        with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET) as probe:
            probe.bind((ip, port))
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise SopError(f"cannot listen on {ip}:{port} ({exc.strerror}); choose --port.") from None
    cycle = Path(env[LIVE_CYCLE_ENV]).name
    progress(f"Serving the executive dashboard of cycle {cycle} (read only); open:\n  {url}")
    progress("Stop with Ctrl-C.")
    proc = subprocess.Popen(cmd, cwd=folder, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 130
    finally:
        shutil.rmtree(folder, ignore_errors=True)
