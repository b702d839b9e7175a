"""``sop run``: the five stage notebooks of a cycle, run in order by papermill.

What a run guarantees:

- **One parameter set per cycle.** The parameters (file, scenario, ``-p``) are resolved
  once and recorded in the cycle's folder (``parameters.yaml``, ``scenarios.yaml``); every
  notebook resolves exactly that record, and every artifact carries the hash of the set
  and the fingerprint of the input data that made it. A run that would mix two sets in
  one cycle is refused with the differences listed.
- **One run of a cycle at a time** (:class:`~sopkit.cycle.lock.CycleLock`).
- **An honest folder.** A run that replaces a complete cycle builds the new one aside and
  swaps it in only when every stage it ran succeeded; an interruption (SIGINT, SIGTERM)
  marks the manifest "interrupted", removes temporary files and stops the kernel, and
  the next ``sop run`` resumes where it stopped.
- **Small fixed costs.** The input data is validated once and snapshotted; all stages run
  in one kernel (:class:`~sopkit.cycle.kernel.KernelSession`) that imports the stage stack
  while the data is validated.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from sopkit import __version__
from sopkit.config import (
    LOCATION_PARAMETERS,
    NOTEBOOK_PARAMETERS,
    RunParameters,
    describe_difference,
    find_workspace,
    resolve_run,
)
from sopkit.cycle.context import (
    as_of,
    mark_later_stale,
    now,
    overall_status,
    provenance_problems,
    reports_root,
    resolve_cycle,
)
from sopkit.cycle.kernel import KernelSession
from sopkit.cycle.lock import CycleLock
from sopkit.data import Dataset, load_dataset, write_parquet_folder
from sopkit.errors import ConfigError, SopError, StageError
from sopkit.report import export_html, write_index, write_workbook
from sopkit.store import STAGES, CycleStore, Stage, atomic_path, get_stage, producer

#: sopkit's own exceptions, whose whole message is meant for the planner
_OWN_ERRORS = ("SopError", "ConfigError", "DataValidationError", "StageError")
_PACKAGES = (
    "pandas", "numpy", "pyarrow", "altair", "papermill", "nbconvert", "pydantic",
    "sqlalchemy", "pmdarima", "cvxpy", "highspy",
)  # fmt: skip
#: the parameters every stage notebook must declare: sop run sets exactly these
RUN_PARAMETERS = ("cycle", "params_file", "cycle_dir", "run_id")


class Interrupted(SopError):
    """The run was stopped by SIGINT or SIGTERM; the message says what was kept."""


@dataclass
class RunResult:
    """What ``run_cycle`` did."""

    cycle: str
    root: Path
    status: str  # complete | partial | up to date
    stages: list[str]


# --------------------------------------------------------------------------- helpers


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sopkit": __version__}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def notebook_dir(workspace: Path) -> Path:
    """The workspace's notebooks folder."""
    folder = workspace / "notebooks"
    if not folder.is_dir():
        raise StageError(f"{workspace} has no notebooks/ folder; `sop init DIR` writes one")
    return folder


def _check_notebooks(nb_dir: Path, selected: Sequence[Stage]) -> None:
    """Each selected notebook exists and declares what sop run sets, and nothing unknown."""
    import papermill as pm

    problems = []
    for s in selected:
        path = nb_dir / s.notebook
        if not path.is_file():
            problems.append(f"{path} is missing")
            continue
        declared = set(pm.inspect_notebook(str(path)))
        lacking = [n for n in RUN_PARAMETERS if n not in declared]
        if lacking:
            problems.append(
                f"{s.notebook} does not declare {', '.join(lacking)} in its parameters cell "
                "(a notebook from an older sopkit: copy the new one from `sop init`)"
            )
        unknown = sorted(declared - set(NOTEBOOK_PARAMETERS) - set(LOCATION_PARAMETERS))
        if unknown:
            problems.append(
                f"{s.notebook} declares parameter(s) {', '.join(unknown)} that the "
                "parameters schema does not know; rename them or add them to the schema"
            )
    if problems:
        raise StageError("the notebooks cannot run:\n" + "\n".join(f"  - {p}" for p in problems))


def _select(from_stage: str | None, only: str | None) -> list[Stage]:
    if from_stage and only:
        raise StageError("use --from or --only, not both")
    if only:
        return [get_stage(only)]
    if from_stage:
        first = get_stage(from_stage)
        return [s for s in STAGES if s.number >= first.number]
    return list(STAGES)


def _first_line(text: str) -> str:
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _snapshot_inputs(ds: Dataset, store: CycleStore) -> None:
    """Write the validated inputs as Parquet, replacing any earlier snapshot whole."""
    store.root.mkdir(parents=True, exist_ok=True)
    tmp = store.root / ".inputs.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    write_parquet_folder(ds, tmp)
    old = store.root / ".inputs.old"
    shutil.rmtree(old, ignore_errors=True)
    if store.inputs_dir.exists():
        store.inputs_dir.rename(old)
    tmp.rename(store.inputs_dir)
    shutil.rmtree(old, ignore_errors=True)


def _recover(reports: Path, cycle: str, progress: Callable[[str], None]) -> None:
    """Undo what a killed run may have left: a half-done swap, builds aside, temp files.

    Called with the cycle's lock held, so no other run is working on it.
    """
    root = reports / cycle
    olds = sorted(reports.glob(f".{cycle}.old-*"))
    if not root.exists() and olds:
        olds[-1].rename(root)  # killed between the two renames of a swap
        progress(f"Note: restored cycle {cycle} from an interrupted replacement.")
        olds = olds[:-1]
    for leftover in [*olds, *reports.glob(f".{cycle}.build-*")]:
        shutil.rmtree(leftover, ignore_errors=True)
    if root.is_dir():
        for tmp in [*root.glob(".*.tmp-*"), *root.glob("*/.*.tmp-*")]:
            tmp.unlink(missing_ok=True)
        for name in (".inputs.tmp", ".inputs.old"):
            shutil.rmtree(root / name, ignore_errors=True)


def _check_upstream(
    store: CycleStore,
    selected: Sequence[Stage],
    stages: dict[str, dict[str, Any]],
    run: RunParameters,
    fingerprint: str,
) -> None:
    """Check that every artifact a selected stage reads comes from this plan.

    That is: from this run, or from a completed stage with the same parameters and data.
    """
    produced: set[str] = set()
    missing = []
    for s in selected:
        for a in s.reads:
            if a in produced:
                continue
            status = stages.get(producer(a).id, {}).get("status", "not run")
            if status != "complete" or not store.has(a):
                missing.append(
                    f"stage {s.number} ({s.id}) needs {a!r} from stage {producer(a).number} "
                    f"({producer(a).id}), which is {status if store.has(a) else 'missing'}"
                )
            else:
                missing += provenance_problems(store, a, run, fingerprint)
        produced.update(s.writes)
    if missing:
        first = min(producer(a).number for s in selected for a in s.reads if a not in produced)
        raise StageError(
            f"cycle {store.cycle} lacks up-to-date artifacts from earlier stages:\n"
            + "\n".join(f"  - {m}" for m in missing)
            + f"\nRun from stage {first}: `sop run --cycle {store.cycle} --from {first}`"
            " (add --force to take new input data)"
        )


# --------------------------------------------------------------------------- run


def run_cycle(
    params_file: str | Path | None = None,
    *,
    cycle: str | None = None,
    scenario: str | None = None,
    from_stage: str | None = None,
    only: str | None = None,
    force: bool = False,
    overrides: dict[str, Any] | None = None,
    workspace: str | Path | None = None,
    progress: Callable[[str], None] = print,
) -> RunResult:
    """Run the monthly cycle (``sop run``).

    Parameters
    ----------
    params_file
        Parameters YAML; default ``<workspace>/parameters/default.yaml``.
    cycle, scenario
        Overrides of the file's values; the cycle defaults to the month after history.
    from_stage, only
        Resume from a stage, or run one stage (id or number); earlier artifacts must exist.
    force
        Re-run a cycle that already completed with other inputs or parameters.
    overrides
        Further parameters by flat name or dotted path (``{"horizon": 12}``), checked
        by the schema; they reach every stage through the cycle's recorded parameters.
    workspace
        The workspace folder; default: found from the current folder upwards.
    progress
        Called with a line of progress per step.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError, DataValidationError
        Before anything runs.
    StageError
        A stage failed (its notebook is kept), the selection cannot run, or another run
        holds the cycle.
    Interrupted
        SIGINT or SIGTERM stopped the run; what was kept is said.
    """
    ws = Path(workspace).resolve() if workspace else find_workspace()
    pfile = Path(params_file) if params_file else ws / "parameters" / "default.yaml"
    pfile = pfile if pfile.is_absolute() else (ws / pfile)
    given = dict(overrides or {})
    if cycle:
        given["cycle"] = cycle
    run = resolve_run(pfile, scenario=scenario, **given)
    selected = _select(from_stage, only)
    nb_dir = notebook_dir(ws)
    _check_notebooks(nb_dir, selected)
    reports = reports_root(ws, run.params)
    run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"

    # The kernel starts and imports the stage stack while this process validates the data.
    session = KernelSession(ws, reports / ".kernels" / run_id)
    try:
        session.start()
        return _run(run, pfile, ws, nb_dir, reports, run_id, selected, force, session, progress)
    finally:
        session.shutdown()
        shutil.rmtree(session.folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            session.folder.parent.rmdir()  # only when no other run has its kernel there


def _run(
    run: RunParameters,
    pfile: Path,
    ws: Path,
    nb_dir: Path,
    reports: Path,
    run_id: str,
    selected: list[Stage],
    force: bool,
    session: KernelSession,
    progress: Callable[[str], None],
) -> RunResult:
    data = run.params.data
    progress(f"Data source: {data.source} (validating) ...")
    ds = load_dataset(
        data.source,
        queries=data.queries,
        demo_seed=data.demo_seed,
        demo_last_month=data.demo_last_month,
        base=ws,
    )
    for warning in ds.warnings:
        progress(f"  warning: {warning}")
    month = resolve_cycle(run.params, ds)
    name = f"{month:%Y-%m}"
    replay = month <= ds.last_month
    ds = as_of(ds, month)
    if replay:
        progress(f"Replaying cycle {name} with the history before it only.")
        for note in ds.as_of_notes:
            progress(f"  note: {note}")
    run = run.with_cycle(name)

    lock = CycleLock(reports, name)
    lock.acquire("sop run")
    try:
        return _run_locked(
            run, pfile, ds, nb_dir, CycleStore(reports, name), run_id, selected, force,
            session, progress,
        )  # fmt: skip
    finally:
        lock.release()


def _run_locked(
    run: RunParameters,
    pfile: Path,
    ds: Dataset,
    nb_dir: Path,
    store: CycleStore,
    run_id: str,
    selected: list[Stage],
    force: bool,
    session: KernelSession,
    progress: Callable[[str], None],
) -> RunResult:
    _recover(store.reports_dir, store.cycle, progress)
    old = store.read_manifest()
    old_status = old.get("status")
    if old_status == "running":  # its lock was free: that run was killed
        old_status = "interrupted"
    fingerprint = ds.fingerprint()
    partial = len(selected) < len(STAGES)
    same_params = old.get("params_hash") == run.hash
    same_data = old.get("input_fingerprint") == fingerprint

    if partial and old and not same_params:
        raise ConfigError(
            f"cycle {store.cycle} was planned under other parameters (here / there):\n"
            + "\n".join(
                f"  - {d}" for d in describe_difference(run.identity(), old.get("identity", {}))
            )
            + "\nA run of some stages (--from, --only) uses the cycle's own parameters, so "
            "that one cycle holds one plan. To plan the cycle under these, run all stages: "
            f"`sop run --cycle {store.cycle} --force` with the same options."
        )
    if not partial and old_status == "complete" and not force:
        if same_params and same_data:
            progress(
                f"Cycle {store.cycle} is up to date in {store.root} (same data and "
                "parameters); use --force to run it again."
            )
            return RunResult(store.cycle, store.root, "up to date", [])
        why = describe_difference(run.identity(), old.get("identity", {}))
        if not same_data:
            why.append("the input data changed")
        raise StageError(
            f"{store.root} already holds a complete cycle {store.cycle} (finished "
            f"{old.get('finished', '?')}), planned differently:\n"
            + "\n".join(f"  - {w}" for w in why)
            + "\nRe-running would replace its reports. Use --force to replace them, or "
            "--cycle for another month."
        )
    if not partial and old_status in ("interrupted", "failed") and same_params and same_data:
        if not force:
            done = [s for s in STAGES if old["stages"].get(s.id, {}).get("status") == "complete"]
            first = next(s for s in STAGES if s not in done)
            selected = [s for s in STAGES if s.number >= first.number]
            if done and first.number > 1:
                progress(
                    f"Resuming the {old_status} run of cycle {store.cycle} (started "
                    f"{old.get('started', '?')}): stages {done[0].number}-{first.number - 1} "
                    f"are kept, stage {first.number} runs again."
                )
                partial = True
    elif old_status == "interrupted":
        progress(f"Cycle {store.cycle}: the interrupted run is replaced by a new one.")

    # The snapshot a partial run reads is the cycle's own, so all its stages agree.
    reuse = partial and bool(old) and store.inputs_dir.is_dir() and not force
    if reuse:
        if not same_data:
            progress(
                "Note: the input data changed since this cycle started; the stages that "
                "run now use the cycle's input snapshot. Add --force to take the new data."
            )
        fingerprint = old.get("input_fingerprint", fingerprint)

    aside = old_status == "complete"
    work = store
    if aside:  # the complete cycle stays whole until a whole new one replaces it
        work = CycleStore(
            store.reports_dir, store.cycle, store.reports_dir / f".{store.cycle}.build-{run_id}"
        )
        if partial:
            shutil.copytree(store.root, work.root, copy_function=os.link)
        progress(
            f"Building the new cycle {store.cycle} aside; the complete one stays until it succeeds."
        )

    stages_before = old.get("stages", {}) if partial else {}
    _check_upstream(work, selected, stages_before, run, fingerprint)
    if not reuse:
        _snapshot_inputs(ds, work)
    record = run.write(work.root)

    manifest = _new_manifest(work, run, record, ds, fingerprint, run_id, stages_before)
    if reuse:
        for key in ("data_source", "input_rows", "history"):
            manifest[key] = old.get(key, manifest[key])
    for s in selected:
        manifest["stages"][s.id] = {"status": "pending", "title": s.title}
    mark_later_stale(manifest, selected[0])
    work.write_manifest(manifest)

    done: list[str] = []
    current: Stage | None = None
    # HTML reports are written in a thread while the kernel runs the next stage.
    exports = ThreadPoolExecutor(max_workers=1)
    try:
        for i, stage in enumerate(selected, 1):
            current = stage
            _run_stage(
                work, manifest, stage, i, len(selected), nb_dir, record, run_id, session,
                progress, exports,
            )  # fmt: skip
            done.append(stage.id)
        current = None
        exports.shutdown(wait=True)
        manifest["status"] = overall_status(manifest)
        manifest["finished"] = now()
        work.write_manifest(manifest)
        write_workbook(work)
        write_index(work)
    except KeyboardInterrupt:
        exports.shutdown(wait=True, cancel_futures=True)
        raise _interrupted(store, work, manifest, current, done, aside) from None
    except StageError as err:
        exports.shutdown(wait=True)
        if not aside:
            raise
        kept = store.reports_dir / f".{store.cycle}.failed"
        shutil.rmtree(kept, ignore_errors=True)
        work.root.rename(kept)
        first = str(err).split("\nThe executed notebook")[0]
        raise StageError(
            f"{first}\nThe complete cycle {store.cycle} in {store.root} was left as it was; "
            f"the failed attempt is kept in {kept} (the executed notebook with the failing "
            f"cell is there). Fix the cause, then run again with --force."
        ) from None
    if aside:
        _swap(store, work)
    progress(f"Cycle {store.cycle}: {manifest['status']}. Open {store.root / 'index.html'}")
    return RunResult(store.cycle, store.root, manifest["status"], done)


def _run_stage(
    work: CycleStore,
    manifest: dict[str, Any],
    stage: Stage,
    i: int,
    n: int,
    nb_dir: Path,
    record: Path,
    run_id: str,
    session: KernelSession,
    progress: Callable[[str], None],
    exports: ThreadPoolExecutor,
) -> None:
    nb_params = {
        "cycle": work.cycle,
        "params_file": str(record),
        "cycle_dir": str(work.root),
        "run_id": run_id,
    }
    progress(f"[{i}/{n}] {stage.title} ({stage.notebook}) ...")
    entry = manifest["stages"][stage.id]
    entry.update(status="running", started=now(), run_id=run_id, parameters=nb_params)
    work.write_manifest(manifest)
    out = work.root / stage.notebook
    t0 = time.perf_counter()
    error: BaseException | None = None
    try:
        # On failure papermill still writes the partial notebook with the failing cell
        # marked; atomic_path renames it into place either way.
        with atomic_path(out) as tmp:
            try:
                session.execute_notebook(nb_dir / stage.notebook, tmp, nb_params)
            except Exception as exc:  # any failure of the stage is reported below
                error = exc
    finally:
        entry["duration_s"] = round(time.perf_counter() - t0, 2)
    entry.update(notebook=out.name, html=f"{stage.name}.html")
    html = (
        exports.submit(export_html, out, work.root / f"{stage.name}.html")
        if out.is_file()
        else None
    )
    if error is not None:
        if html is not None:
            html.result()
        ename = getattr(error, "ename", type(error).__name__)
        evalue = str(getattr(error, "evalue", error)).strip()
        if ename not in _OWN_ERRORS:  # a Python error: its first line says enough
            evalue = _first_line(evalue)
        entry.update(
            status="failed",
            error=f"{ename}: {evalue}",
            failed_cell=getattr(error, "exec_count", None),
            finished=now(),
        )
        manifest.update(status="failed", finished=now(), failed_stage=stage.id)
        work.write_manifest(manifest)
        write_workbook(work)
        write_index(work)
        progress(f"      failed after {entry['duration_s']:.1f} s")
        raise StageError(
            f"stage {stage.number} ({stage.title}) failed: {ename}: {evalue}\n"
            f"The executed notebook with the failing cell is {work.root / out.name}.\n"
            f"Earlier results are kept. Fix the cause, then resume with "
            f"`sop run --cycle {work.cycle}` (add --force if you changed the input data)."
        ) from None
    entry.update(status="complete", finished=now())
    entry["artifacts"] = [a for a in stage.writes if work.has(a)]
    work.write_manifest(manifest)
    progress(f"      done in {entry['duration_s']:.1f} s")


def _swap(store: CycleStore, work: CycleStore) -> None:
    """Put the cycle built aside in place of the old one (:func:`_recover` undoes a killed swap)."""
    old = store.reports_dir / f".{store.cycle}.old-{work.root.name.rsplit('-', 1)[-1]}"
    if store.root.exists():
        store.root.rename(old)
    work.root.rename(store.root)
    shutil.rmtree(old, ignore_errors=True)


def _interrupted(
    store: CycleStore,
    work: CycleStore,
    manifest: dict[str, Any],
    current: Stage | None,
    done: list[str],
    aside: bool,
) -> Interrupted:
    where = f"during stage {current.number} ({current.title})" if current else "at the end"
    if aside:
        shutil.rmtree(work.root, ignore_errors=True)
        return Interrupted(
            f"interrupted {where}; the complete cycle {store.cycle} was left as it was."
        )
    if current is not None:
        manifest["stages"][current.id].update(status="interrupted", finished=now())
    manifest.update(status="interrupted", finished=now())
    work.write_manifest(manifest)
    write_index(work)
    kept = f"stage(s) {', '.join(done)} kept; " if done else ""
    return Interrupted(f"interrupted {where}; {kept}`sop run --cycle {store.cycle}` resumes it.")


def _new_manifest(
    store: CycleStore,
    run: RunParameters,
    record: Path,
    ds: Dataset,
    fingerprint: str,
    run_id: str,
    before: dict[str, Any],
) -> dict[str, Any]:
    stages = {s.id: {"status": "not run", "title": s.title} for s in STAGES}
    stages.update({k: dict(v) for k, v in before.items()})
    return {
        "cycle": store.cycle,
        "status": "running",
        "run_id": run_id,
        "pid": os.getpid(),
        "started": now(),
        "finished": None,
        "params_file": str(run.source),
        "record": record.name,
        "parameters": run.params.model_dump(mode="json"),
        "identity": run.identity(),
        "params_hash": run.hash,
        "data_source": ds.source,
        "input_fingerprint": fingerprint,
        "input_rows": {name: len(df) for name, df in ds.tables().items()},
        "history": [f"{ds.first_month:%Y-%m}", f"{ds.last_month:%Y-%m}"],
        "data_warnings": [str(w) for w in ds.warnings],
        "taken_as_now": list(ds.as_of_notes),
        "versions": _versions(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "stages": stages,
    }


__all__ = ["Interrupted", "RunResult", "notebook_dir", "run_cycle"]
