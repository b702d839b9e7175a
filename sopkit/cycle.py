"""The monthly cycle: the five stage notebooks run in order by papermill.

Two halves:

- :func:`open_stage` is what a stage notebook calls first: it resolves the typed
  parameters, loads the validated input data and gives the stage its artifacts,
  refusing to read or write what the stage does not declare in ``STAGES``.
- :func:`run_cycle` is ``sop run``: it validates parameters and data up front,
  snapshots the inputs, executes the notebooks with papermill into
  ``reports/<cycle>/``, and leaves HTML reports, an Excel workbook, a manifest
  and an index page. A failed stage stops the run, keeps its executed notebook
  and every earlier artifact, and is recorded in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .config import (
    LOCATION_PARAMETERS,
    NOTEBOOK_PARAMETERS,
    Parameters,
    Scenario,
    find_workspace,
    get_scenario,
    load_scenarios,
    notebook_values,
    parse_month,
    resolve_parameters,
)
from .data import Dataset, load_dataset, write_parquet_folder
from .errors import ConfigError, StageError
from .report import export_html, write_index, write_workbook
from .store import STAGES, CycleStore, Stage, atomic_path, get_stage, producer

#: sopkit's own exceptions, whose whole message is meant for the planner
_OWN_ERRORS = ("SopError", "ConfigError", "DataValidationError", "StageError")
_PACKAGES = (
    "pandas", "numpy", "pyarrow", "altair", "papermill", "nbconvert", "pydantic",
    "sqlalchemy", "pmdarima", "cvxpy", "highspy",
)  # fmt: skip


def resolve_cycle(params: Parameters, ds: Dataset) -> pd.Timestamp:
    """The planning month: ``params.cycle``, or the month after the last month of history.

    A cycle later than that month would plan from stale data, so it is refused.
    """
    after = ds.last_month + pd.offsets.MonthBegin(1)
    if params.cycle is None:
        return after
    cycle = parse_month(params.cycle, "cycle")
    if cycle > after:
        raise ConfigError(
            f"cycle {params.cycle} is later than the month after the last month of history "
            f"({ds.last_month:%Y-%m}): the history is missing {after:%Y-%m} onwards. "
            f"Load newer data or plan cycle {after:%Y-%m}."
        )
    if cycle <= ds.first_month:
        raise ConfigError(
            f"cycle {params.cycle} is not after the first month of history "
            f"({ds.first_month:%Y-%m}); there is nothing to plan from"
        )
    return cycle


def _workspace_for(params_file: str | Path) -> tuple[Path, Path]:
    """The workspace (found from the current folder up) and the parameters file path.

    ``sop run`` executes notebooks in the workspace; an analyst runs them from its
    ``notebooks/`` folder. A parameters file may live anywhere (``--params``).
    """
    ws = find_workspace()
    path = Path(params_file)
    return ws, path if path.is_absolute() else ws / path


# --------------------------------------------------------------------------- notebook side


@dataclass
class StageContext:
    """What a stage notebook works with: parameters, data, cycle and artifacts."""

    stage: Stage
    params: Parameters
    workspace: Path
    params_file: Path
    _dataset: Dataset | None = field(default=None, repr=False)

    @cached_property
    def dataset(self) -> Dataset:
        """The validated input tables (loaded once)."""
        if self._dataset is None:
            self._dataset = load_dataset(
                self.params.data.source,
                queries=self.params.data.queries,
                demo_seed=self.params.data.demo_seed,
                demo_last_month=self.params.data.demo_last_month,
                base=self.workspace,
            )
        return self._dataset

    @cached_property
    def cycle(self) -> pd.Timestamp:
        """The planning month as a first-of-month Timestamp."""
        return resolve_cycle(self.params, self.dataset)

    @property
    def cycle_name(self) -> str:
        return f"{self.cycle:%Y-%m}"

    @cached_property
    def store(self) -> CycleStore:
        return CycleStore(self.workspace / self.params.reports_dir, self.cycle_name)

    @cached_property
    def scenario(self) -> Scenario:
        """The scenario this plan follows."""
        return get_scenario(self.scenarios, self.params.scenario)

    @cached_property
    def scenarios(self) -> dict[str, Scenario]:
        """All scenarios of ``scenarios.yaml`` beside the parameters file."""
        path = self.params_file.parent / "scenarios.yaml"
        return load_scenarios(path) if path.is_file() else {"baseline": Scenario()}

    def read(self, artifact: str) -> pd.DataFrame:
        """An upstream artifact this stage declares it reads."""
        if artifact not in self.stage.reads:
            raise StageError(
                f"stage {self.stage.id} does not declare {artifact!r} among what it reads "
                f"({', '.join(self.stage.reads) or 'nothing'}); add it to STAGES in sopkit.store"
            )
        return self.store.read(artifact)

    def write(self, artifact: str, df: pd.DataFrame) -> Path:
        """Write one of this stage's artifacts (atomically, columns checked)."""
        if artifact not in self.stage.writes:
            raise StageError(
                f"stage {self.stage.id} does not declare {artifact!r} among what it writes "
                f"({', '.join(self.stage.writes)})"
            )
        return self.store.write(artifact, df)

    def describe(self) -> pd.DataFrame:
        """A short table of what this stage works on, for the top of the notebook."""
        ds = self.dataset
        rows = {
            "cycle": self.cycle_name,
            "scenario": self.params.scenario,
            "horizon": f"{self.params.horizon} months ({self.cycle:%Y-%m} to "
            f"{self.cycle + pd.offsets.MonthBegin(self.params.horizon - 1):%Y-%m})",
            "history": f"{ds.first_month:%Y-%m} to {ds.last_month:%Y-%m}",
            "data source": ds.source,
            "reads": ", ".join(self.stage.reads) or "input data only",
            "writes": ", ".join(self.stage.writes),
        }
        return pd.DataFrame({"": list(rows.values())}, index=list(rows))


def open_stage(stage: str, params_file: str | Path = "parameters/default.yaml", **overrides):
    """Start a stage notebook: typed parameters, validated data, declared artifacts.

    Parameters
    ----------
    stage
        The stage id (``"product_review"``) or number.
    params_file
        The parameters file, relative to the workspace (the folder holding
        ``parameters/default.yaml``, found from the current folder upwards).
    **overrides
        The notebook's parameters (``cycle``, ``horizon``, ...); ``None`` keeps
        the file's value. Checked against the same schema as the file.

    Returns
    -------
    StageContext

    Example
    -------
    >>> ctx = open_stage("product_review", cycle="2026-11")   # doctest: +SKIP
    >>> ctx.write("portfolio", portfolio_table)               # doctest: +SKIP
    """
    import altair as alt

    # SVG charts render with no network, in JupyterLab, Voila and the HTML report alike.
    alt.renderers.enable("svg")
    workspace, path = _workspace_for(params_file)
    params = resolve_parameters(path, **overrides)
    return StageContext(get_stage(stage), params, workspace, path)


# --------------------------------------------------------------------------- runner


@dataclass
class RunResult:
    """What ``run_cycle`` did."""

    cycle: str
    root: Path
    status: str  # complete | failed | up to date
    stages: list[str]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sopkit": __version__}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _params_hash(params: Parameters, scenarios: dict[str, Scenario]) -> str:
    blob = json.dumps(
        {
            "params": params.model_dump(),
            "scenarios": {k: v.model_dump() for k, v in scenarios.items()},
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _kernel_manager_class():
    """A kernel manager that runs the notebooks on this very Python.

    ``kernel_name="python3"`` would take whichever ``python3`` kernel spec is found
    first, and analysts often have a user-level one for another Python. This manager
    builds its spec from the installed ipykernel instead, and encrypts the kernel's
    local sockets when zmq can (ipykernel 7.3+ warns on every start otherwise).
    """
    import zmq
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    curve = zmq.has("curve") and "transport_encryption" in AsyncKernelManager.class_trait_names()

    class _SopkitKernelManager(AsyncKernelManager):
        if curve:
            transport_encryption = CaselessStrEnum(
                ["disabled", "auto", "required"], default_value="auto", config=True
            )

        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(resource_dir="", **get_kernel_dict())
            return self._kernel_spec

    return _SopkitKernelManager


def _notebook_parameters(stage: Stage, notebook: Path, values: dict[str, Any]) -> dict[str, Any]:
    """The values to hand a notebook: exactly the names it declares, all from the schema."""
    import papermill as pm

    declared = pm.inspect_notebook(str(notebook))
    unknown = sorted(set(declared) - set(NOTEBOOK_PARAMETERS) - set(LOCATION_PARAMETERS))
    if unknown:
        raise StageError(
            f"{notebook.name} declares parameter(s) {', '.join(unknown)} that the parameters "
            f"schema does not know (sopkit.config.NOTEBOOK_PARAMETERS: "
            f"{', '.join(NOTEBOOK_PARAMETERS)}); rename them or add them to the schema"
        )
    return {name: values[name] for name in declared}


def notebook_dir(workspace: Path) -> Path:
    """The workspace's notebooks folder."""
    folder = workspace / "notebooks"
    if not folder.is_dir():
        raise StageError(f"{workspace} has no notebooks/ folder; `sop init DIR` writes one")
    return folder


def _select(from_stage: str | None, only: str | None) -> list[Stage]:
    if from_stage and only:
        raise StageError("use --from or --only, not both")
    if only:
        return [get_stage(only)]
    if from_stage:
        first = get_stage(from_stage)
        return [s for s in STAGES if s.number >= first.number]
    return list(STAGES)


def _check_upstream(
    store: CycleStore, selected: Sequence[Stage], stages: dict[str, dict[str, Any]]
) -> None:
    """Every artifact a selected stage reads comes from this run or a completed stage."""
    produced: set[str] = set()
    missing = []
    for s in selected:
        for a in s.reads:
            if a in produced:
                continue
            status = stages.get(producer(a).id, {}).get("status", "not run")
            if status != "complete" or not store.has(a):
                missing.append((s, a, status if store.has(a) else "missing"))
        produced.update(s.writes)
    if missing:
        lines = [
            f"  - stage {s.number} ({s.id}) needs {a!r} from stage {producer(a).number} "
            f"({producer(a).id}), which is {status}"
            for s, a, status in missing
        ]
        first = min(producer(a).number for _, a, _ in missing)
        raise StageError(
            f"cycle {store.cycle} lacks up-to-date artifacts from earlier stages:\n"
            + "\n".join(lines)
            + f"\nRun from stage {first}: `sop run --cycle {store.cycle} --from {first}`"
        )


def _check_overrides(nb_dir: Path, selected: Sequence[Stage], names: Sequence[str]) -> None:
    """Refuse ``-p NAME`` when no selected notebook declares NAME (papermill would inject it)."""
    import papermill as pm

    if not names:
        return
    declared = {s.id: set(pm.inspect_notebook(str(nb_dir / s.notebook))) for s in STAGES}
    used = set().union(*(declared[s.id] for s in selected))
    unused = [n for n in names if n not in used]
    if unused:
        lines = []
        for n in unused:
            readers = [f"{s.number} ({s.id})" for s in STAGES if n in declared[s.id]]
            lines.append(f"{n!r} (read by stage {', '.join(readers) or 'none'})")
        raise ConfigError(
            "parameter(s) not used by the selected stage(s) "
            + ", ".join(f"{s.number} ({s.id})" for s in selected)
            + ": "
            + "; ".join(lines)
        )


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
        Further notebook parameters by name (``{"horizon": 12}``), checked by the schema.
    progress
        Called with a line of progress per stage.

    Raises
    ------
    ConfigError, DataValidationError
        Before anything runs.
    StageError
        A stage failed (its notebook is kept) or the selection cannot run.
    """
    import papermill as pm

    ws = Path(workspace).resolve() if workspace else find_workspace()
    pfile = Path(params_file) if params_file else ws / "parameters" / "default.yaml"
    pfile = pfile if pfile.is_absolute() else (ws / pfile)
    given = dict(overrides or {})
    given.update({k: v for k, v in {"cycle": cycle, "scenario": scenario}.items() if v})
    params = resolve_parameters(pfile, **given)
    scen_file = pfile.parent / "scenarios.yaml"
    scenarios = load_scenarios(scen_file) if scen_file.is_file() else {"baseline": Scenario()}
    get_scenario(scenarios, params.scenario)
    selected = _select(from_stage, only)
    nb_dir = notebook_dir(ws)

    progress(f"Validating input data ({params.data.source}) ...")
    ds = load_dataset(
        params.data.source,
        queries=params.data.queries,
        demo_seed=params.data.demo_seed,
        demo_last_month=params.data.demo_last_month,
        base=ws,
    )
    month = resolve_cycle(params, ds)
    store = CycleStore(ws / params.reports_dir, f"{month:%Y-%m}")
    params = params.model_copy(update={"cycle": store.cycle})
    fingerprint = ds.fingerprint()
    phash = _params_hash(params, scenarios)
    old = store.read_manifest()
    partial = len(selected) < len(STAGES)

    if old.get("status") == "complete" and not partial and not force:
        if old.get("input_fingerprint") == fingerprint and old.get("params_hash") == phash:
            progress(
                f"Cycle {store.cycle} is up to date in {store.root} (same data and "
                "parameters); use --force to run it again."
            )
            return RunResult(store.cycle, store.root, "up to date", [])
        raise StageError(
            f"{store.root} already holds a complete cycle {store.cycle} run on "
            f"{old.get('finished', '?')} with other data or parameters; re-running would "
            "replace its reports. Use --force to replace them, or --cycle for another month."
        )

    _check_overrides(nb_dir, selected, list(overrides or {}))
    reuse = bool(partial and old and store.inputs_dir.is_dir() and not force)
    # A resumed run keeps the snapshot the earlier stages used, so all stages agree.
    if reuse and old.get("input_fingerprint") != fingerprint:
        progress(
            "Note: the data source changed since this cycle started; the resumed "
            "stages use the cycle's input snapshot. Add --force to take the new data."
        )
    stages_before = old.get("stages", {}) if partial else {}
    _check_upstream(store, selected, stages_before)
    if not reuse:
        _snapshot_inputs(ds, store)

    manifest = _new_manifest(store, params, pfile, ds, fingerprint, phash, stages_before)
    if reuse:  # the data of this cycle is the snapshot's, not the source's of today
        for key in ("data_source", "input_fingerprint", "input_rows", "history"):
            manifest[key] = old.get(key, manifest[key])
    first = selected[0].number
    for s in STAGES:
        entry = manifest["stages"][s.id]
        if s in selected:
            manifest["stages"][s.id] = {"status": "pending", "title": s.title}
        elif s.number > first and entry.get("status") in ("complete", "failed"):
            # its inputs are being made again: its results no longer follow from them
            entry["status"] = "stale"
    store.write_manifest(manifest)

    values = notebook_values(params)
    values["data_source"] = str(store.inputs_dir)
    done: list[str] = []
    for i, stage in enumerate(selected, 1):
        nb_in = nb_dir / stage.notebook
        if not nb_in.is_file():
            raise StageError(f"notebook {nb_in} is missing")
        nb_params = _notebook_parameters(stage, nb_in, values | {"params_file": str(pfile)})
        progress(f"[{i}/{len(selected)}] {stage.title} ({stage.notebook}) ...")
        entry = manifest["stages"][stage.id]
        entry.update(status="running", started=_now(), parameters=nb_params)
        store.write_manifest(manifest)
        out = store.root / stage.notebook
        t0 = time.perf_counter()
        error: BaseException | None = None
        try:
            # On failure papermill still writes the partial notebook with the failing
            # cell marked; atomic_path renames it into place either way.
            with atomic_path(out) as tmp:
                try:
                    pm.execute_notebook(
                        str(nb_in),
                        str(tmp),
                        parameters=nb_params,
                        cwd=str(ws),
                        kernel_name="python3",  # the name only; the manager pins the Python
                        progress_bar=False,
                        log_output=False,
                        kernel_manager_class=_kernel_manager_class(),
                    )
                except Exception as exc:  # any failure of the stage is reported below
                    error = exc
        finally:
            entry["duration_s"] = round(time.perf_counter() - t0, 2)
        entry.update(notebook=out.name, html=f"{stage.name}.html")
        if out.is_file():
            export_html(out, store.root / f"{stage.name}.html")
        if error is not None:
            ename = getattr(error, "ename", type(error).__name__)
            evalue = str(getattr(error, "evalue", error)).strip()
            if ename not in _OWN_ERRORS:  # a Python error: its first line says enough
                evalue = _first_line(evalue)
            entry.update(
                status="failed",
                error=f"{ename}: {evalue}",
                failed_cell=getattr(error, "exec_count", None),
            )
            manifest.update(status="failed", finished=_now(), failed_stage=stage.id)
            store.write_manifest(manifest)
            write_workbook(store)
            write_index(store)
            progress(f"      failed after {entry['duration_s']:.1f} s")
            raise StageError(
                f"stage {stage.number} ({stage.title}) failed: {ename}: {evalue}\n"
                f"The executed notebook with the failing cell is {out}.\n"
                f"Earlier results are kept. Fix the cause, then resume with "
                f"`sop run --cycle {store.cycle} --from {stage.id}` "
                f"(add --force if you changed the input data)."
            ) from None
        entry["status"] = "complete"
        entry["artifacts"] = [a for a in stage.writes if store.has(a)]
        store.write_manifest(manifest)
        done.append(stage.id)
        progress(f"      done in {entry['duration_s']:.1f} s")

    write_workbook(store)
    statuses = [manifest["stages"].get(s.id, {}).get("status") for s in STAGES]
    manifest["status"] = "complete" if all(st == "complete" for st in statuses) else "partial"
    manifest["finished"] = _now()
    store.write_manifest(manifest)
    write_index(store)
    progress(f"Cycle {store.cycle}: {manifest['status']}. Open {store.root / 'index.html'}")
    return RunResult(store.cycle, store.root, manifest["status"], done)


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


def _new_manifest(store, params, pfile, ds, fingerprint, phash, before) -> dict[str, Any]:
    stages = {s.id: {"status": "not run", "title": s.title} for s in STAGES}
    stages.update(before)
    return {
        "cycle": store.cycle,
        "status": "running",
        "started": _now(),
        "finished": None,
        "params_file": str(pfile),
        "parameters": params.model_dump(mode="json"),
        "params_hash": phash,
        "data_source": ds.source,
        "input_fingerprint": fingerprint,
        "input_rows": {name: len(df) for name, df in ds.tables().items()},
        "history": [f"{ds.first_month:%Y-%m}", f"{ds.last_month:%Y-%m}"],
        "versions": _versions(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "stages": stages,
    }


__all__ = ["RunResult", "StageContext", "open_stage", "resolve_cycle", "run_cycle"]
