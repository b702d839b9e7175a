"""A cycle you can trust, tried as an adversary would: real processes, real signals.

Two runs at once, a run killed with SIGKILL while it replaces a complete cycle, SIGTERM and
SIGINT in the middle of a stage, a notebook run by hand under other parameters. Each test
runs `sop` in a subprocess on the tiny demo and looks at what is left on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from sopkit.cli import main
from sopkit.data import write_csv_folder
from sopkit.errors import ConfigError, StageError
from sopkit.store import STAGES, CycleStore

pytestmark = pytest.mark.slow
CYCLE = "2026-11"
SOP = str(Path(sys.executable).with_name("sop"))


def _workspace(path: Path, tiny_demo, *, slow_stage: str | None = None) -> Path:
    """A workspace of the tiny demo; ``slow_stage`` gets a cell that sleeps 60 s."""
    assert main(["init", str(path)]) == 0
    for f in (path / "data").iterdir():
        f.unlink()
    write_csv_folder(tiny_demo, path / "data")
    params = path / "parameters" / "default.yaml"
    params.write_text(params.read_text().replace("horizon: 18 ", "horizon: 12 "))
    if slow_stage:
        nb_path = path / "notebooks" / slow_stage
        nb = nbformat.read(nb_path, as_version=4)
        nb.cells.insert(4, nbformat.v4.new_code_cell("import time\ntime.sleep(60)"))
        nbformat.write(nb, nb_path)
    return path


def _sop(ws: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [SOP, *args], cwd=ws, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(predicate, what: str, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _stage_running(folder: Path, stage: str) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("stages", {}).get(stage, {}).get("status") == "running"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _kernel_pids(parent: int) -> list[int]:
    """ipykernel processes whose JPY_PARENT_PID is ``parent``."""
    out = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"JPY_PARENT_PID={parent}".encode() in env.read_bytes().split(b"\0"):
                out.append(int(env.parent.name))
        except OSError:
            continue
    return out


@pytest.fixture(scope="module")
def complete(tmp_path_factory, tiny_demo):
    """A workspace holding one complete cycle (run in a subprocess, as cron would)."""
    ws = _workspace(tmp_path_factory.mktemp("trust") / "ws", tiny_demo)
    proc = subprocess.run([SOP, "run"], cwd=ws, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return ws, proc


def test_a_successful_run_prints_no_kernel_noise(complete):
    _, proc = complete
    assert "KeyboardInterrupt" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert "Data source: data" in proc.stdout  # the data source is always said


def test_two_runs_at_once_the_second_is_refused_and_says_who(tmp_path, tiny_demo):
    ws = _workspace(tmp_path / "ws", tiny_demo, slow_stage="02_demand_planning.ipynb")
    first = _sop(ws, "run")
    try:
        root = ws / "reports" / CYCLE
        _wait_for(lambda: _stage_running(root, "demand_planning"), "stage 2 to start")
        t0 = time.monotonic()
        second = subprocess.run([SOP, "run"], cwd=ws, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"cycle {CYCLE} is being run right now by sop run (pid {first.pid}" in (
            second.stderr
        )
        assert time.monotonic() - t0 < 15, "refused at once, not after waiting"
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)


def test_sigterm_mid_stage_leaves_an_honest_folder_and_the_next_run_resumes(tmp_path, tiny_demo):
    ws = _workspace(tmp_path / "ws", tiny_demo, slow_stage="03_supply_planning.ipynb")
    root = ws / "reports" / CYCLE
    proc = _sop(ws, "run")
    _wait_for(lambda: _stage_running(root, "supply_planning"), "stage 3 to start")
    kernels = _kernel_pids(proc.pid)
    assert kernels, "the run's kernel is found"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines() == [
        "error: interrupted during stage 3 (Supply planning); stage(s) product_review, "
        f"demand_planning kept; `sop run --cycle {CYCLE}` resumes it."
    ]
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["stages"]["supply_planning"]["status"] == "interrupted"
    assert manifest["stages"]["demand_planning"]["status"] == "complete"
    assert not list(root.rglob(".*tmp*")), "no temporary notebooks are left"
    assert not list((ws / "reports" / ".kernels").rglob("*")), "no kernel files are left"
    _wait_for(lambda: not any(_pid_alive(k) for k in kernels), "the kernel to end", 15)

    # the next run says it resumes, and does
    nb = ws / "notebooks" / "03_supply_planning.ipynb"
    book = nbformat.read(nb, as_version=4)
    book.cells = [c for c in book.cells if "time.sleep(60)" not in c.source]
    nbformat.write(book, nb)
    again = subprocess.run([SOP, "run"], cwd=ws, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"Resuming the interrupted run of cycle {CYCLE}" in again.stdout
    assert "[1/3] Supply planning" in again.stdout
    assert json.loads((root / "manifest.json").read_text())["status"] == "complete"


def test_sigint_is_handled_like_sigterm(tmp_path, tiny_demo):
    ws = _workspace(tmp_path / "ws", tiny_demo, slow_stage="01_product_review.ipynb")
    root = ws / "reports" / CYCLE
    proc = _sop(ws, "run")
    _wait_for(lambda: _stage_running(root, "product_review"), "stage 1 to start")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted during stage 1 (Product review)" in err
    assert "Traceback" not in err
    assert json.loads((root / "manifest.json").read_text())["status"] == "interrupted"


def test_sigkill_during_a_forced_rerun_never_mixes_two_runs(complete, tmp_path):
    """`sop run --force -p horizon 6` killed with SIGKILL mid-way: the complete cycle
    stays whole (every file as it was), and the next run cleans up and is up to date."""
    import shutil

    src, _ = complete
    ws = tmp_path / "ws"
    shutil.copytree(src, ws)
    root = ws / "reports" / CYCLE
    nb = ws / "notebooks" / "03_supply_planning.ipynb"
    book = nbformat.read(nb, as_version=4)
    book.cells.insert(4, nbformat.v4.new_code_cell("import time\ntime.sleep(60)"))
    nbformat.write(book, nb)
    before = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    proc = _sop(ws, "run", "--force", "-p", "horizon", "6")
    builds = ws / "reports"
    _wait_for(
        lambda: any(_stage_running(b, "supply_planning") for b in builds.glob(f".{CYCLE}.build-*")),
        "the forced re-run to reach stage 3",
    )
    kernels = _kernel_pids(proc.pid)
    proc.kill()
    proc.communicate(timeout=30)
    after = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before, "the complete cycle is untouched"
    _wait_for(lambda: not any(_pid_alive(k) for k in kernels), "the orphaned kernel to end", 20)

    # the lock died with the run: the next run starts at once, cleans up, is up to date
    again = subprocess.run([SOP, "run"], cwd=ws, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "is up to date" in again.stdout
    assert not list(builds.glob(f".{CYCLE}.build-*"))
    assert CycleStore(ws / "reports", CYCLE).read_manifest()["parameters"]["horizon"] == 12


def test_a_notebook_run_by_hand_will_not_build_on_another_plan(complete, monkeypatch):
    """Stage 3 opened by hand with horizon 6 on a cycle planned with 12: it names the
    difference instead of planning 6 months of supply from 12 months of demand."""
    from sopkit.cycle import open_stage

    ws, _ = complete
    monkeypatch.chdir(ws / "notebooks")  # where JupyterLab runs a notebook
    ctx = open_stage("supply_planning", "parameters/default.yaml", horizon=6)
    with pytest.raises(
        StageError,
        match=r"(?s)will not build on tables of another plan.*'demand_plan' \(stage 2\) was made "
        r"under other parameters.*horizon: 6 here, 12 there",
    ):
        ctx.read("demand_plan")
    # the same parameters as the cycle: it reads
    same = open_stage("supply_planning", "parameters/default.yaml")
    assert len(same.read("demand_plan")) > 0
    # and a write from another plan into the cycle of record is refused
    portfolio = CycleStore(ws / "reports", CYCLE).read("portfolio")
    other = open_stage("product_review", "parameters/default.yaml", review_months=6)
    with pytest.raises(StageError, match=r"(?s)planned under other settings.*review_months"):
        other.write("portfolio", portfolio)
    assert CycleStore(ws / "reports", CYCLE).read_manifest()["status"] == "complete"


def test_a_notebook_run_by_hand_with_the_cycles_parameters_is_recorded(complete, tmp_path):
    import shutil

    src, _ = complete
    ws = tmp_path / "ws"
    shutil.copytree(src, ws)
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", "notebooks/02_demand_planning.ipynb",
         str(tmp_path / "out.ipynb"), "--cwd", str(ws / "notebooks")],
        cwd=ws, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = CycleStore(ws / "reports", CYCLE).read_manifest()
    stages = {k: v["status"] for k, v in manifest["stages"].items()}
    assert stages["demand_planning"] == "complete"
    assert manifest["stages"]["demand_planning"]["by"] == "notebook (by hand)"
    assert [stages[s.id] for s in STAGES[2:]] == ["stale"] * 3
    assert manifest["status"] == "partial"


def test_reports_dir_outside_the_workspace_is_refused(tmp_path, tiny_demo):
    from sopkit.cycle import run_cycle

    ws = _workspace(tmp_path / "ws", tiny_demo)
    with pytest.raises(ConfigError, match=r"reports_dir '\.\./elsewhere' points outside"):
        run_cycle(workspace=ws, overrides={"reports_dir": "../elsewhere"}, progress=lambda _: None)
    assert not (tmp_path / "elsewhere").exists()


def test_a_parameters_file_without_a_data_source_is_refused(tmp_path, tiny_demo):
    from sopkit.cycle import run_cycle

    ws = _workspace(tmp_path / "ws", tiny_demo)
    other = ws / "parameters" / "other.yaml"
    other.write_text("horizon: 6\n")
    with pytest.raises(ConfigError, match=r"(?s)other.yaml.*data.source: the file does not say"):
        run_cycle(other, workspace=ws, progress=lambda _: None)
    assert not (ws / "reports" / CYCLE).exists()


# --------------------------------------------------------------------------- found by an adversary


def _copy(complete, tmp_path) -> Path:
    import shutil

    src, _ = complete
    ws = tmp_path / "ws"
    shutil.copytree(src, ws)
    return ws


def _run(ws: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SOP, "run", *args], cwd=ws, capture_output=True, text=True, timeout=300)


def test_a_cycle_is_never_complete_without_its_reports(complete, tmp_path):
    """Report files lost after a complete run (a full disk, a kill while writing them):
    the next run writes them again instead of calling the cycle up to date without them."""
    import shutil

    ws = _copy(complete, tmp_path)
    root = ws / "reports" / CYCLE
    (root / "index.html").unlink()
    (root / f"plan_{CYCLE}.xlsx").unlink()
    shutil.rmtree(root / "tables")
    proc = _run(ws)
    assert proc.returncode == 0, proc.stderr
    assert "its report files were incomplete; written again" in proc.stdout
    assert "is up to date" in proc.stdout
    assert (root / "index.html").is_file()
    assert (root / f"plan_{CYCLE}.xlsx").is_file()
    assert (root / "tables" / "kpis.csv").is_file()


def test_a_run_killed_after_its_last_stage_is_finished_not_stuck(complete, tmp_path):
    """Killed while writing the reports: every stage complete, the manifest still running."""
    ws = _copy(complete, tmp_path)
    store = CycleStore(ws / "reports", CYCLE)
    manifest = store.read_manifest()
    manifest["status"] = "running"
    store.write_manifest(manifest)
    (store.root / "index.html").unlink()
    (store.root / ".tables.tmp-abc123").mkdir()  # a half-written tables folder
    (store.root / ".tables.tmp-abc123" / "kpis.csv").write_text("half")
    proc = _run(ws)
    assert proc.returncode == 0, proc.stderr
    assert f"Finishing the interrupted run of cycle {CYCLE}" in proc.stdout
    assert store.read_manifest()["status"] == "complete"
    assert (store.root / "index.html").is_file()
    assert not (store.root / ".tables.tmp-abc123").exists()


def test_a_damaged_manifest_is_refused_then_rebuilt_with_force(complete, tmp_path):
    ws = _copy(complete, tmp_path)
    (ws / "reports" / CYCLE / "manifest.json").write_text("{ truncated")
    proc = _run(ws)
    assert proc.returncode == 1
    assert "manifest.json is damaged" in proc.stderr
    assert "Traceback" not in proc.stderr
    again = _run(ws, "--force")
    assert again.returncode == 0, again.stderr
    assert CycleStore(ws / "reports", CYCLE).read_manifest()["status"] == "complete"


def test_a_stage_that_writes_nothing_is_not_complete(complete, tmp_path):
    ws = _copy(complete, tmp_path)
    nb_path = ws / "notebooks" / "05_executive_review.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells = [c for c in nb.cells if 'ctx.write("kpis"' not in c.source]
    nbformat.write(nb, nb_path)
    proc = _run(ws, "--force", "-p", "horizon", "6")
    assert proc.returncode == 1
    assert "stage 5 (Executive review) finished without writing 'kpis'" in proc.stderr
    # the complete cycle of record is untouched
    assert CycleStore(ws / "reports", CYCLE).read_manifest()["parameters"]["horizon"] == 12


def test_a_parameters_cell_cannot_plan_a_stage_under_other_settings(complete, tmp_path):
    ws = _copy(complete, tmp_path)
    nb_path = ws / "notebooks" / "01_product_review.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace(
        "review_months: Optional[int] = None", "review_months: int = 6"
    )
    nbformat.write(nb, nb_path)
    proc = _run(ws, "--force")
    assert proc.returncode == 1
    assert "the parameters cell of 01_product_review.ipynb sets review_months = 6" in proc.stderr


def test_a_partial_run_plans_under_the_cycles_record(complete, tmp_path):
    """Planned with -p horizon 6; `--only 5` then uses horizon 6, not the file's 12."""
    ws = _copy(complete, tmp_path)
    assert _run(ws, "--force", "-p", "horizon", "6").returncode == 0
    proc = _run(ws, "--only", "5")
    assert proc.returncode == 0, proc.stderr
    assert "the parameters file differs from the cycle's own parameters (horizon: 12" in (
        proc.stdout
    )
    store = CycleStore(ws / "reports", CYCLE)
    assert store.provenance("kpis")["identity"]["horizon"] == 6
    assert store.read_manifest()["status"] == "complete"
    # an option that contradicts the record is refused
    refused = _run(ws, "--only", "5", "-p", "horizon", "9")
    assert refused.returncode == 1
    assert "horizon: 9 here, 6 there" in refused.stderr


def test_the_users_own_files_in_a_cycle_folder_survive_a_forced_rerun(complete, tmp_path):
    ws = _copy(complete, tmp_path)
    notes = ws / "reports" / CYCLE / "meeting_notes.txt"
    notes.write_text("approved with changes")
    assert _run(ws, "--force").returncode == 0
    assert notes.read_text() == "approved with changes"


def test_a_change_in_the_earlier_cycles_makes_a_cycle_out_of_date(complete, tmp_path):
    """Stage 2 measures earlier plans: a new earlier cycle changes the report (a re-planned
    one changes the same record, the earlier cycles' runs: not run again here, to keep CI
    under its limit)."""
    ws = _copy(complete, tmp_path)
    assert _run(ws, "--cycle", "2026-10").returncode == 0
    proc = _run(ws)
    assert proc.returncode == 1
    assert "the earlier cycles of record changed: now 2026-10 (run " in proc.stderr
    assert "then none" in proc.stderr
    assert _run(ws, "--force").returncode == 0
    assert "is up to date" in _run(ws).stdout


def test_a_stage_run_by_hand_refreshes_the_index_and_later_stages_wait(complete, tmp_path):
    ws = _copy(complete, tmp_path)
    root = ws / "reports" / CYCLE
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", "notebooks/03_supply_planning.ipynb",
         str(tmp_path / "out.ipynb"), "--cwd", str(ws / "notebooks")],
        cwd=ws, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    index = (root / "index.html").read_text()
    assert 'data-kpi="otif"' not in index, "stage 5 is stale: its KPI cards are not shown"
    assert "stale" in index
    assert 'href="03_supply_planning.html"' not in index, "that report is of the earlier run"
    from sopkit.cycle import open_stage

    os.chdir(ws)
    try:
        ctx = open_stage("executive_review")
        with pytest.raises(StageError, match=r"stage 4 \(reconciliation\).*is stale"):
            ctx.read("financials")
    finally:
        os.chdir(tmp_path)


def test_history_too_short_for_the_review_window_is_refused_before_any_stage(tmp_path, tiny_demo):
    ws = _workspace(tmp_path / "ws", tiny_demo)
    proc = _run(ws, "-p", "review_months", "24")
    assert proc.returncode == 1
    assert "portfolio.review_months 24 compares the last 24 months with the 24 before" in (
        proc.stderr
    )
    assert "Set review_months to at most 15" in proc.stderr
    assert not (ws / "reports" / CYCLE).exists()


def test_a_kernel_folder_left_by_a_killed_run_is_removed(complete, tmp_path):
    ws = _copy(complete, tmp_path)
    dead = ws / "reports" / ".kernels" / "20261130T000000-abcdef-999999"
    dead.mkdir(parents=True)
    (dead / ".kernel.json").write_text('{"key": "secret"}')
    assert _run(ws).returncode == 0
    assert not dead.exists()


@pytest.mark.postgres
def test_a_database_password_is_never_printed_or_written(pg_url, tmp_path, tiny_demo):
    from sopkit.data import write_sql

    password = pg_url.split(":")[2].split("@")[0]
    write_sql(tiny_demo, pg_url)
    ws = _workspace(tmp_path / "ws", tiny_demo)
    params = ws / "parameters" / "default.yaml"
    params.write_text(params.read_text().replace("  source: data ", f"  source: {pg_url} "))
    proc = _run(ws)
    assert proc.returncode == 0, proc.stderr
    assert password not in proc.stdout + proc.stderr
    assert "***" in proc.stdout
    root = ws / "reports" / CYCLE
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml", ".html", ".ipynb"):
            assert password not in path.read_text(errors="replace"), path.name


def test_a_kernel_killed_mid_stage_ends_in_a_sentence(tmp_path, tiny_demo):
    """An out-of-memory kill of the kernel: the stage fails with a sentence, and the next
    run resumes it."""
    ws = _workspace(tmp_path / "ws", tiny_demo, slow_stage="03_supply_planning.ipynb")
    root = ws / "reports" / CYCLE
    proc = _sop(ws, "run")
    _wait_for(lambda: _stage_running(root, "supply_planning"), "stage 3 to start")
    time.sleep(1)
    for pid in _kernel_pids(proc.pid):
        os.kill(pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "stage 3 (Supply planning) failed" in err
    assert "Traceback" not in err
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["stages"]["supply_planning"]["status"] == "failed"


def test_missing_report_files_are_written_again_and_missing_artifacts_are_not_hidden(
    complete, tmp_path
):
    ws = _copy(complete, tmp_path)
    root = ws / "reports" / CYCLE
    (root / "03_supply_planning.html").unlink()
    (root / "tables" / "kpis.csv").unlink()
    proc = _run(ws)
    assert proc.returncode == 0, proc.stderr
    assert "written again" in proc.stdout
    assert (root / "03_supply_planning.html").is_file()
    assert (root / "tables" / "kpis.csv").is_file()
    (root / "artifacts" / "supply_plan.parquet").unlink()
    proc = _run(ws)
    assert proc.returncode == 1
    assert "its artifacts are incomplete (missing: supply_plan)" in proc.stderr


def test_a_manifest_that_is_not_one_is_damaged_and_does_not_block_other_cycles(complete, tmp_path):
    ws = _copy(complete, tmp_path)
    (ws / "reports" / CYCLE / "manifest.json").write_text("[]")
    proc = _run(ws)
    assert proc.returncode == 1
    assert "manifest.json is damaged (not a manifest of sopkit" in proc.stderr
    assert "Traceback" not in proc.stderr
    # a damaged cycle is not a plan of record, and other cycles still run (stage 1 is
    # enough to show it: a refusal would come before any stage)
    other = _run(ws, "--cycle", "2026-10", "--only", "1")
    assert other.returncode == 0, other.stderr
    assert _run(ws, "--force").returncode == 0


def test_a_folder_that_cannot_be_written_leaves_the_cycle_unfinished_and_says_so(
    tmp_path, tiny_demo
):
    ws = _workspace(tmp_path / "ws", tiny_demo)
    root = ws / "reports" / CYCLE
    root.mkdir(parents=True)
    (root / f"plan_{CYCLE}.xlsx").mkdir()  # a folder where sopkit writes the workbook
    proc = _run(ws)
    assert proc.returncode == 1
    assert "cannot write the cycle's files in" in proc.stderr
    assert "the stages that completed are kept, and `sop run` finishes it once fixed" in (
        proc.stderr
    )
    assert json.loads((root / "manifest.json").read_text())["status"] != "complete"
    (root / f"plan_{CYCLE}.xlsx").rmdir()
    again = _run(ws)
    assert again.returncode == 0, again.stderr
    assert "Finishing the interrupted run" in again.stdout
    assert json.loads((root / "manifest.json").read_text())["status"] == "complete"
