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
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sopkit.config import (
    LOCATION_PARAMETERS,
    NOTEBOOK_PARAMETERS,
    RunParameters,
    describe_difference,
    find_workspace,
    hide_password,
    resolve_run,
)
from sopkit.cycle.context import (
    check_history,
    mark_later_stale,
    new_manifest,
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
from sopkit.report import export_html, write_index, write_reports, write_workbook
from sopkit.store import (
    STAGES,
    WORKBOOK_SHEETS,
    CycleStore,
    PlanArchive,
    Stage,
    atomic_path,
    get_stage,
    producer,
)

#: sopkit's own exceptions, whose whole message is meant for the planner
_OWN_ERRORS = ("SopError", "ConfigError", "DataValidationError", "StageError")
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
        try:
            declared = set(pm.inspect_notebook(str(path)))
        except Exception as exc:  # nbformat's and jsonschema's errors alike
            problems.append(
                f"{path} cannot be read as a notebook ({type(exc).__name__}: "
                f"{_first_line(str(exc))}); restore it, e.g. with `sop init --force .`"
            )
            continue
        lacking = [n for n in RUN_PARAMETERS if n not in declared]
        if lacking:
            problems.append(
                f"{s.notebook} does not declare {', '.join(lacking)} in its parameters cell "
                "(a notebook from an older sopkit: refresh the notebooks with "
                "`sop init --force .`, which keeps data and parameters)"
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
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
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
        if given.get("cycle") not in (None, cycle):
            raise ConfigError(
                f"--cycle {cycle} and -p cycle {given['cycle']} disagree; give the cycle once"
            )
        given["cycle"] = cycle
    run = resolve_run(pfile, scenario=scenario, **given)
    # what the user said on the command line, which a partial run applies to the record
    asked = Asked(given, scenario, params_file is not None)
    selected = _select(from_stage, only)
    nb_dir = notebook_dir(ws)
    _check_notebooks(nb_dir, selected)
    reports = reports_root(ws, run.params)
    run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"

    # The kernel starts and imports the stage stack while this process validates the data.
    kernels = reports / ".kernels"
    _remove_dead_kernels(kernels)
    session = KernelSession(ws, kernels / f"{run_id}-{os.getpid()}")
    try:
        session.start()
        return _run(run, asked, ws, nb_dir, reports, run_id, selected, force, session, progress)
    finally:
        session.shutdown()
        shutil.rmtree(session.folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            session.folder.parent.rmdir()  # only when no other run has its kernel there


@dataclass(frozen=True)
class Asked:
    """What the command line set: overrides (with --cycle), --scenario, --params."""

    overrides: dict[str, Any]
    scenario: str | None
    params_file: bool

    def anything(self) -> bool:
        """Whether any setting was given on the command line (--cycle does not count)."""
        return bool({k for k in self.overrides if k != "cycle"} or self.scenario)


def _remove_dead_kernels(folder: Path) -> None:
    """Remove kernel folders of runs that were killed (named ``<run>-<pid>``)."""
    if not folder.is_dir():
        return
    for sub in folder.iterdir():
        pid = sub.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(sub, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run(
    run: RunParameters,
    asked: Asked,
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
    progress(f"Data source: {hide_password(data.source)} (validating) ...")
    ds = load_dataset(
        data.source,
        queries=data.queries,
        demo_seed=data.demo_seed,
        demo_last_month=data.demo_last_month,
        base=ws,
    )
    month = resolve_cycle(run.params, ds)
    check_history(run.params, ds, month)
    from sopkit.scenarios import check_scenario_names

    check_scenario_names(run.scenarios, ds)
    name = f"{month:%Y-%m}"
    replay = month <= ds.last_month
    ds = ds.as_of(month)  # its warnings are those of the history the cycle sees
    for warning in ds.warnings:
        progress(f"  warning: {warning}")
    if replay:
        progress(f"Replaying cycle {name} with the history before it only.")
        for note in ds.as_of_notes:
            progress(f"  note: {note}")
    run = run.with_cycle(name)

    lock = CycleLock(reports, name)
    lock.acquire("sop run")
    try:
        return _run_locked(
            run, asked, ds, nb_dir, CycleStore(reports, name), run_id, selected, force,
            session, progress, ws,
        )  # fmt: skip
    finally:
        lock.release()


def _run_locked(
    run: RunParameters,
    asked: Asked,
    ds: Dataset,
    nb_dir: Path,
    store: CycleStore,
    run_id: str,
    selected: list[Stage],
    force: bool,
    session: KernelSession,
    progress: Callable[[str], None],
    ws: Path,
) -> RunResult:
    _recover(store.reports_dir, store.cycle, progress)
    old = _old_manifest(store, force, progress)
    old_status = old.get("status")
    if old_status == "running":  # its lock was free: that run was killed
        old_status = "interrupted"
    fingerprint = ds.fingerprint()
    partial = len(selected) < len(STAGES)
    earlier = PlanArchive(store.reports_dir).runs(before=store.cycle)

    if partial and old and store.record_path.is_file():
        run = _partial_run_parameters(run, asked, store, old, progress)
    same_params = old.get("params_hash") == run.hash
    same_data = old.get("input_fingerprint") == fingerprint
    same_earlier = old.get("earlier_cycles", earlier) == earlier
    missing = _missing_artifacts(store, old) if old_status == "complete" else []

    if partial and old and not same_params:
        raise ConfigError(
            f"cycle {store.cycle} was planned under other parameters (here / there):\n"
            + "\n".join(
                f"  - {d}" for d in describe_difference(run.identity(), old.get("identity", {}))
            )
            + "\nA run of some stages (--from, --only) uses the cycle's own parameters, so "
            "that one cycle holds one plan: leave out the options that differ. To plan the "
            f"cycle under these, run all stages: `sop run --cycle {store.cycle} --force` "
            "with the same options."
        )
    up_to_date = same_params and same_data and same_earlier and not missing
    if not partial and old_status == "complete" and not force and up_to_date:
        if _rewrite_missing_reports(store, old):
            progress(f"Cycle {store.cycle}: its report files were incomplete; written again.")
        progress(
            f"Cycle {store.cycle} is up to date in {store.root} (same data and "
            "parameters); use --force to run it again."
        )
        return RunResult(store.cycle, store.root, "up to date", [])
    if old and not force:
        _refuse_if_approved(ws, store)
    if not partial and old_status == "complete" and not force:
        why = describe_difference(run.identity(), old.get("identity", {}))
        if not same_data:
            why.append("the input data changed")
        if not same_earlier:
            why.append(
                f"the earlier cycles of record changed: now {_runs_text(earlier)}, then "
                f"{_runs_text(old.get('earlier_cycles', []))} (stage 2 measures their plans)"
            )
        if missing:
            why.append(f"its artifacts are incomplete (missing: {', '.join(missing)})")
        raise StageError(
            f"{store.root} already holds a complete cycle {store.cycle} (finished "
            f"{old.get('finished', '?')}), planned differently:\n"
            + "\n".join(f"  - {w}" for w in why)
            + "\nRe-running would replace its reports. Use --force to replace them, or "
            "--cycle for another month."
        )
    resume = not partial and old_status in ("interrupted", "failed") and not force
    if resume and same_params and same_data and same_earlier:
        done = [s for s in STAGES if old["stages"].get(s.id, {}).get("status") == "complete"]
        todo = [s for s in STAGES if s not in done]
        if not todo:  # every stage had completed: only the reports were left to write
            return _finish_only(store, old, progress)
        first = todo[0]
        selected = [s for s in STAGES if s.number >= first.number]
        kept = f"stages 1-{first.number - 1} are kept, " if first.number > 1 else ""
        progress(
            f"Resuming the {old_status} run of cycle {store.cycle} (started "
            f"{old.get('started', '?')}): {kept}stage {first.number} runs again."
        )
        partial = first.number > 1
    elif old_status == "interrupted":
        progress(
            f"Cycle {store.cycle}: the interrupted run was planned differently; a new run "
            "replaces it."
        )

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

    manifest = new_manifest(work, run, record, ds, fingerprint, run_id, stages_before, earlier)
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
    pending: list = []  # their futures
    try:
        for i, stage in enumerate(selected, 1):
            current = stage
            _run_stage(
                work, manifest, stage, i, len(selected), nb_dir, record, run_id, session,
                progress, exports, pending,
            )  # fmt: skip
            done.append(stage.id)
        current = None
        exports.shutdown(wait=True)
        for future in pending:
            future.result()  # a report that could not be written stops the cycle here
        _finish(work, manifest)
    except KeyboardInterrupt:
        exports.shutdown(wait=True, cancel_futures=True)
        raise _interrupted(store, work, manifest, current, done, aside) from None
    except OSError as exc:  # a full disk, a folder that cannot be written
        exports.shutdown(wait=True, cancel_futures=True)
        where = f" ({exc.filename})" if exc.filename else ""
        if aside:
            shutil.rmtree(work.root, ignore_errors=True)
            kept = f"the complete cycle {store.cycle} was left as it was"
        else:
            kept = "the stages that completed are kept, and `sop run` finishes it once fixed"
        raise StageError(
            f"cannot write the cycle's files in {work.reports_dir}: {exc.strerror or exc}"
            f"{where}. The run is not finished; {kept}."
        ) from None
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
    pending: list,
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
    if html is not None:
        pending.append(html)  # checked before the cycle is marked complete
    if error is not None:
        if html is not None:
            try:
                html.result()
            except Exception as exc:  # an empty notebook from a killed kernel, a full disk
                ename = getattr(error, "ename", type(error).__name__)
                error = RuntimeError(
                    f"{ename}: {getattr(error, 'evalue', error)} (its executed notebook could "
                    f"not be saved whole: {_first_line(str(exc))})"
                )
        ename = getattr(error, "ename", type(error).__name__)
        evalue = str(getattr(error, "evalue", error)).strip()
        if ename not in _OWN_ERRORS:  # a Python error: its first line says enough
            evalue = _first_line(evalue)
        entry["failed_cell"] = getattr(error, "exec_count", None)
        _mark_failed(work, manifest, stage, f"{ename}: {evalue}")
        progress(f"      failed after {entry['duration_s']:.1f} s")
        raise StageError(
            f"stage {stage.number} ({stage.title}) failed: {ename}: {evalue}\n"
            f"The executed notebook with the failing cell is {work.root / out.name}.\n"
            f"Earlier results are kept. Fix the cause, then resume with "
            f"`sop run --cycle {work.cycle}` (add --force if you changed the input data)."
        ) from None
    unwritten = [a for a in stage.writes if (work.provenance(a) or {}).get("run_id") != run_id]
    if unwritten:
        _mark_failed(work, manifest, stage, "declared artifacts not written")
        raise StageError(
            f"stage {stage.number} ({stage.title}) finished without writing "
            f"{', '.join(map(repr, unwritten))}, which it declares (sopkit.store.STAGES): "
            f"its notebook must end with ctx.write(...) for each. Earlier results are kept."
        )
    entry.update(status="complete", finished=now())
    entry["artifacts"] = list(stage.writes)
    work.write_manifest(manifest)
    progress(f"      done in {entry['duration_s']:.1f} s")


def _mark_failed(work: CycleStore, manifest: dict[str, Any], stage: Stage, error: str) -> None:
    """Record a failed stage in the manifest, and show it in the workbook and index."""
    manifest["stages"][stage.id].update(status="failed", finished=now(), error=error)
    manifest.update(status="failed", finished=now(), failed_stage=stage.id)
    work.write_manifest(manifest)
    write_reports(work)


def _runs_text(runs: list[list[str]]) -> str:
    return ", ".join(f"{c} (run {r})" for c, r in runs) or "none"


def _missing_artifacts(store: CycleStore, manifest: dict[str, Any]) -> list[str]:
    """Artifacts a complete cycle's stages wrote that are no longer there."""
    return [
        a
        for s in STAGES
        for a in manifest.get("stages", {}).get(s.id, {}).get("artifacts", [])
        if not store.has(a)
    ]


def _rewrite_missing_reports(store: CycleStore, manifest: dict[str, Any]) -> bool:
    """Write again the report files of a complete cycle that are missing; True if any was."""
    rewrote = False
    for s in STAGES:
        html = manifest.get("stages", {}).get(s.id, {}).get("html")
        if html and not (store.root / html).is_file() and (store.root / s.notebook).is_file():
            export_html(store.root / s.notebook, store.root / html)
            rewrote = True
    artifacts = [a for s in STAGES for a in manifest["stages"].get(s.id, {}).get("artifacts", [])]
    tables = [store.root / "tables" / f"{a}.csv" for a in artifacts]
    workbook_needed = any(a in WORKBOOK_SHEETS for a in artifacts)
    if not all(p.is_file() for p in tables) or (
        workbook_needed and not store.workbook_path.is_file()
    ):
        write_workbook(store)  # the workbook and tables/
        rewrote = True
    if rewrote or not (store.root / "index.html").is_file():
        write_index(store)
        rewrote = True
    return rewrote


def _refuse_if_approved(ws: Path, store: CycleStore) -> None:
    """Stop a run that would replace a plan management approved (unless --force).

    The workspace's log (whatever this run's parameters say), and only an approval of the
    plan the cycle holds now.
    """
    from sopkit.decisions import cycle_plan_hash, workspace_log

    log = workspace_log(ws)
    try:
        approval = log.approval(store.cycle, plan=cycle_plan_hash(store))
    finally:
        log.dispose()
    if approval is None:
        return
    when = approval["decided_at"].strftime("%Y-%m-%d %H:%M UTC")
    scenario = approval["scenario"]
    comment = f" ({approval['comment']})" if approval["comment"] else ""
    raise StageError(
        f"cycle {store.cycle} was approved by {approval['person']} on {when}, scenario "
        f"{scenario!r}{comment}. Re-running would replace the approved plan; use --force to "
        "replace it anyway (the decision log keeps the approval), or --cycle for another month."
    )


def _old_manifest(
    store: CycleStore, force: bool, progress: Callable[[str], None]
) -> dict[str, Any]:
    """The cycle's manifest; a damaged one stops the run unless --force rebuilds the cycle."""
    try:
        return store.read_manifest()
    except StageError as exc:
        if not force:
            raise StageError(
                f"{exc}, so what the cycle holds cannot be trusted; run it again whole with "
                f"`sop run --cycle {store.cycle} --force`."
            ) from None
        progress(f"Note: {store.manifest_path} was damaged; the cycle is built again whole.")
        return {}


def _partial_run_parameters(
    run: RunParameters,
    asked: Asked,
    store: CycleStore,
    old: dict[str, Any],
    progress: Callable[[str], None],
) -> RunParameters:
    """A partial run plans under the cycle's recorded parameters, plus what was asked.

    Settings given on the command line are applied to the record (and must agree with
    it); the workspace's file is read only to say if it changed since.
    """
    recorded = resolve_run(store.record_path, scenario=asked.scenario, **asked.overrides)
    recorded = recorded.with_cycle(store.cycle)
    if not asked.params_file and not asked.anything() and run.hash != recorded.hash:
        changed = describe_difference(run.identity(), recorded.identity())
        progress(
            "Note: the parameters file differs from the cycle's own parameters "
            f"({'; '.join(changed)}); this run uses the cycle's (`--force` re-plans it "
            "under the file's)."
        )
    return recorded


def _finish(store: CycleStore, manifest: dict[str, Any]) -> None:
    """Write the reports, then mark the cycle complete, then write the index that shows it.

    The workbook and tables come first, so a cycle is never complete without them.
    """
    write_workbook(store)
    manifest["status"] = overall_status(manifest)
    manifest["finished"] = now()
    store.write_manifest(manifest)
    write_index(store)


def _finish_only(
    store: CycleStore, old: dict[str, Any], progress: Callable[[str], None]
) -> RunResult:
    """An interrupted run whose stages had all completed: write its reports, mark it."""
    _finish(store, old)
    progress(
        f"Finishing the interrupted run of cycle {store.cycle}: every stage had completed; "
        f"its reports are written. Cycle {store.cycle}: {old['status']}."
    )
    return RunResult(store.cycle, store.root, old["status"], [])


def _swap(store: CycleStore, work: CycleStore) -> None:
    """Put the cycle built aside in place of the old one (:func:`_recover` undoes a killed swap)."""
    old = store.reports_dir / f".{store.cycle}.old-{work.root.name.rsplit('-', 1)[-1]}"
    if store.root.exists():
        # files the user put in the cycle's folder (meeting notes, ...) move with it
        for entry in store.root.iterdir():
            target = work.root / entry.name
            if entry.name.startswith(".") or target.exists():
                continue
            if entry.is_dir():
                shutil.copytree(entry, target, copy_function=os.link)
            else:
                os.link(entry, target)
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


__all__ = ["Interrupted", "RunResult", "notebook_dir", "run_cycle"]
