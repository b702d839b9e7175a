"""The notebook side of a cycle: what a stage notebook opens first.

:func:`open_stage` resolves the cycle's one parameter set (the same function ``sop run``
uses), gives the stage its input data as of the cycle, and guards its artifacts: a stage
reads only what it declares in ``STAGES`` and only tables made under the same parameters
and input data (it names the difference otherwise), and writes only what it declares.
Under ``sop run`` the runner hands every notebook the cycle's recorded parameters, its
folder and its run; a notebook run by hand resolves the workspace's file the same way,
and before it writes into a cycle of record it takes the cycle's lock and checks that the
cycle was planned under the same settings and data, then records itself in the manifest.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sopkit import __version__
from sopkit.config import (
    Parameters,
    RunParameters,
    Scenario,
    describe_difference,
    find_workspace,
    parse_month,
    resolve_run,
)
from sopkit.cycle.lock import CycleLock
from sopkit.data import Dataset, load_dataset
from sopkit.errors import ConfigError, StageError
from sopkit.store import STAGES, CycleStore, PlanArchive, Stage, get_stage, producer

_PACKAGES = (
    "pandas", "numpy", "pyarrow", "altair", "papermill", "nbconvert", "pydantic",
    "sqlalchemy", "pmdarima", "cvxpy", "highspy",
)  # fmt: skip
#: Datasets read from a cycle's snapshot in this process, by folder: the stages of one
#: run share a kernel, so the snapshot is read once per run, not once per stage.
_SNAPSHOTS: dict[tuple[str, str], Dataset] = {}


def now() -> str:
    """The time in UTC, to the second, as the manifest writes it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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


def check_history(params: Parameters, ds: Dataset, cycle: pd.Timestamp) -> None:
    """Refuse settings the history cannot support, before any stage runs.

    The product review compares the last ``review_months`` months with as many before:
    months before the history would read as zero sales, and every item would look like
    it grew from nothing.
    """
    from sopkit._checks import month_number

    months = int(month_number(cycle) - month_number(ds.first_month))
    review = params.portfolio.review_months
    if months < 2 * review:
        raise ConfigError(
            f"portfolio.review_months {review} compares the last {review} months with the "
            f"{review} before: that needs {2 * review} months of history before {cycle:%Y-%m}, "
            f"and sales_history has {months} (from {ds.first_month:%Y-%m}). Set "
            f"review_months to at most {max(months // 2, 1)} (-p review_months N)."
        )


def reports_root(workspace: Path, params: Parameters) -> Path:
    """The reports folder: ``reports_dir`` under the workspace, or an absolute path.

    Refused: an empty ``reports_dir`` or the workspace itself (cycles would mix with the
    workspace's own folders), a relative path that climbs out of the workspace (``../x``:
    reports elsewhere must be asked for with an absolute path), the filesystem's root, and
    a folder inside the data source's folder.
    """
    text = params.reports_dir.strip()
    given = Path(text).expanduser()
    root = given if given.is_absolute() else (workspace / given).resolve()
    ws = workspace.resolve()
    problem = None
    if not text or root == ws:
        problem = "is the workspace itself; give a folder for the cycles, such as reports"
    elif root == Path(root.anchor):
        problem = "is the root of the filesystem; give a folder for the cycles"
    elif not given.is_absolute() and not root.is_relative_to(ws):
        problem = (
            f"points outside the workspace {workspace} (to {root}); give an absolute path "
            "if that is where reports should go"
        )
    elif root.exists() and not root.is_dir():
        problem = f"is a file ({root}), not a folder"
    else:
        data = Path(params.data.source).expanduser()
        data = data if data.is_absolute() else (workspace / data).resolve()
        if "://" not in params.data.source and data.is_dir() and root.is_relative_to(data):
            problem = f"is inside the data folder {data}; keep the reports apart from the data"
    if problem:
        raise ConfigError(f"reports_dir {params.reports_dir!r} {problem}.")
    return root


def load_snapshot(folder: Path, source: str, fingerprint: str) -> Dataset:
    """The input snapshot of a cycle (Parquet, validated when ``sop run`` took it).

    Read as it is, without validating it again; cached per process, so the stages of
    one run read it once.
    """
    key = (str(folder), fingerprint)
    if key not in _SNAPSHOTS:
        from sopkit.data import TABLES

        missing = [t for t in TABLES if not (folder / f"{t}.parquet").is_file()]
        if missing:
            raise StageError(
                f"the cycle's input snapshot {folder} lacks {', '.join(missing)}; "
                "run the cycle again with `sop run --force`"
            )
        tables = {t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES}
        _SNAPSHOTS.clear()
        _SNAPSHOTS[key] = Dataset(**tables, source=source)
    return _SNAPSHOTS[key]


def provenance_problems(
    store: CycleStore, artifact: str, run: RunParameters, fingerprint: str
) -> list[str]:
    """Why ``artifact`` of ``store`` was not made under ``run`` and the same input data.

    Empty when it was. Each line names a difference a planner can act on.
    """
    prov = store.provenance(artifact)
    stage = producer(artifact)
    if prov is None:
        return [f"{artifact!r} does not say which parameters made it (an older sopkit)"]
    out = []
    if prov.get("params_hash") != run.hash:
        diff = describe_difference(run.identity(), prov.get("identity", {}))
        out.append(
            f"{artifact!r} (stage {stage.number}) was made under other parameters: "
            + "; ".join(diff)
        )
    if prov.get("input_fingerprint") != fingerprint:
        out.append(
            f"{artifact!r} (stage {stage.number}) was made from other input data "
            f"(taken {prov.get('written', '?')})"
        )
    return out


#: set to "1" by ``sop serve`` for its kernels: stage notebooks then read and never write
LIVE_ENV = "SOPKIT_LIVE"
#: the folder of the cycle ``sop serve`` shows: its record, its input snapshot, its tables
LIVE_CYCLE_ENV = "SOPKIT_LIVE_CYCLE_DIR"


@dataclass
class StageContext:
    """What a stage notebook works with: parameters, data, cycle and artifacts."""

    stage: Stage
    run: RunParameters
    workspace: Path
    params_file: Path
    cycle_dir: Path | None = None  # given by sop run: the folder the run writes into
    run_id: str | None = None  # given by sop run
    _written: set[str] = field(default_factory=set, repr=False)
    _hand_checked: bool = field(default=False, repr=False)
    live_dir: Path | None = None  # given by sop serve: the cycle shown, read only

    # ----------------------------------------------------------------- what it works on
    @property
    def live(self) -> bool:
        """Whether the notebook is served live (``sop serve``): it reads, it never writes."""
        return os.environ.get(LIVE_ENV) == "1" and self.run_id is None

    @property
    def params(self) -> Parameters:
        """The typed parameters, the cycle month resolved."""
        return self.run.params

    @cached_property
    def _manifest(self) -> dict[str, Any]:
        """The manifest of the run that started this stage (``{}`` by hand)."""
        if self.cycle_dir is None:
            return {}
        return CycleStore(self.cycle_dir.parent, self.params.cycle, self.cycle_dir).read_manifest()

    @cached_property
    def dataset(self) -> Dataset:
        """The validated input tables as of the cycle (loaded once)."""
        if self.cycle_dir is not None:
            man = self._manifest
            if man.get("run_id") != self.run_id:
                raise StageError(
                    f"{self.cycle_dir} is not being run by run {self.run_id}; "
                    "a stage with cycle_dir and run_id is started by `sop run` only"
                )
            return load_snapshot(
                self.cycle_dir / "inputs", man.get("data_source", ""), man["input_fingerprint"]
            )
        if self.live_dir is not None:  # the cycle as its run saw the data
            man = CycleStore(self.live_dir.parent, self.live_dir.name).read_manifest()
            return load_snapshot(
                self.live_dir / "inputs", man.get("data_source", ""), man["input_fingerprint"]
            )
        return self._source_dataset[1]

    @cached_property
    def _source_dataset(self) -> tuple[pd.Timestamp, Dataset]:
        data = self.params.data
        ds = load_dataset(
            data.source,
            queries=data.queries,
            demo_seed=data.demo_seed,
            demo_last_month=data.demo_last_month,
            base=self.workspace,
        )
        month = resolve_cycle(self.params, ds)
        check_history(self.params, ds, month)
        return month, ds.as_of(month)

    @cached_property
    def fingerprint(self) -> str:
        """The fingerprint of the input data the stage reads."""
        if self.cycle_dir is not None:
            return self._manifest["input_fingerprint"]
        return self.dataset.fingerprint()

    @cached_property
    def cycle(self) -> pd.Timestamp:
        """The planning month as a first-of-month Timestamp."""
        if self.params.cycle is not None and (
            self.cycle_dir is not None or self.live_dir is not None
        ):
            return parse_month(self.params.cycle, "cycle")
        month = self._source_dataset[0]
        self.run = self.run.with_cycle(f"{month:%Y-%m}")
        return month

    @property
    def cycle_name(self) -> str:
        """The planning month, ``YYYY-MM``."""
        return f"{self.cycle:%Y-%m}"

    @cached_property
    def store(self) -> CycleStore:
        """The cycle's folder: the one ``sop run`` gave, or ``<reports_dir>/<cycle>``."""
        if self.live_dir is not None:
            return CycleStore(self.live_dir.parent, self.cycle_name, self.live_dir)
        reports = reports_root(self.workspace, self.params)
        return CycleStore(reports, self.cycle_name, self.cycle_dir)

    @property
    def scenario(self) -> Scenario:
        """The scenario this plan follows."""
        return self.run.scenario

    @property
    def scenarios(self) -> dict[str, Scenario]:
        """All scenarios of the cycle's ``scenarios.yaml``."""
        return self.run.scenarios

    # ----------------------------------------------------------------- artifacts
    def earlier(self, artifact: str) -> pd.DataFrame:
        """``artifact`` of every earlier completed cycle (the plan archive).

        Stacked, with a ``cycle`` column first; empty when there is no earlier cycle yet.
        """
        return PlanArchive(self.store.reports_dir).read(artifact, before=self.cycle_name)

    def previous(self, *names: str) -> tuple[str, dict[str, pd.DataFrame]] | None:
        """The latest earlier completed cycle and its tables ``names`` (artifacts or inputs).

        None on a first cycle of record; see :meth:`sopkit.store.PlanArchive.latest`.
        """
        return PlanArchive(self.store.reports_dir).latest(names, before=self.cycle_name)

    def read(self, artifact: str) -> pd.DataFrame:
        """An upstream artifact this stage declares it reads.

        It must have been made under this plan's parameters and input data; otherwise a
        StageError names the difference.
        """
        if artifact not in self.stage.reads:
            raise StageError(
                f"stage {self.stage.id} does not declare {artifact!r} among what it reads "
                f"({', '.join(self.stage.reads) or 'nothing'}); add it to STAGES in sopkit.store"
            )
        _ = self.cycle  # resolves the cycle into the parameters first
        df = self.store.read(artifact)
        problems = provenance_problems(self.store, artifact, self.run, self.fingerprint)
        first = producer(artifact)
        status = self.store.read_manifest().get("stages", {}).get(first.id, {}).get("status")
        if status not in (None, "complete"):
            problems.append(
                f"stage {first.number} ({first.id}), which makes {artifact!r}, is {status}"
            )
        if problems:
            raise StageError(
                f"stage {self.stage.number} ({self.stage.id}) will not build on tables of "
                "another plan:\n"
                + "\n".join(f"  - {p}" for p in problems)
                + f"\nRun stage {first.number} again under these parameters and data first "
                f"(`sop run --cycle {self.cycle_name} --from {first.number}`), or run this "
                f"notebook with the cycle's parameters (params_file="
                f"'{self.store.record_path}')."
            )
        return df

    def write(self, artifact: str, df: pd.DataFrame) -> Path:
        """Write one of this stage's artifacts: atomically, contract checked, provenance kept."""
        if artifact not in self.stage.writes:
            raise StageError(
                f"stage {self.stage.id} does not declare {artifact!r} among what it writes "
                f"({', '.join(self.stage.writes)})"
            )
        _ = self.cycle
        if self.live:  # a dashboard view: the cycle's tables stay as its run left them
            return self.store.artifact_path(artifact)
        if self.run_id is None:
            self._begin_by_hand()
        path = self.store.write(artifact, df, self._provenance())
        self._written.add(artifact)
        if self.run_id is None and set(self.stage.writes) <= self._written:
            self._finish_by_hand()
        return path

    def _provenance(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle_name,
            "stage": self.stage.id,
            "run_id": self.run_id or "by hand",
            "params_hash": self.run.hash,
            "identity": self.run.identity(),
            "input_fingerprint": self.fingerprint,
            "written": now(),
        }

    # ----------------------------------------------------------------- by hand
    def _begin_by_hand(self) -> None:
        """Before a notebook run by hand writes into a cycle: same plan, nobody running it."""
        if self._hand_checked:
            return
        store = self.store
        lock = CycleLock(store.reports_dir, store.cycle)
        lock.acquire(f"notebook {self.stage.notebook} run by hand")
        try:
            manifest = store.read_manifest()
            theirs = manifest.get("identity")
            if manifest and (
                manifest.get("params_hash") != self.run.hash
                or manifest.get("input_fingerprint") != self.fingerprint
            ):
                lines = describe_difference(self.run.identity(), theirs or {})
                if manifest.get("input_fingerprint") != self.fingerprint:
                    lines.append("the input data differs from the cycle's snapshot")
                raise StageError(
                    f"cycle {store.cycle} in {store.root} was planned under other settings "
                    "than this notebook's (here / there):\n"
                    + "\n".join(f"  - {line}" for line in lines)
                    + "\nWriting here would mix two plans in one cycle. Run this notebook "
                    f"with the cycle's parameters (params_file='{store.record_path}'), "
                    "set another reports_dir to explore, or re-plan the whole cycle: "
                    f"`sop run --cycle {store.cycle} --force ...`."
                )
            if not manifest:
                record = self.run.write(store.root)
                earlier = PlanArchive(store.reports_dir).runs(before=store.cycle)
                manifest = new_manifest(
                    store, self.run, record, self.dataset, self.fingerprint, "by hand",
                    earlier=earlier,
                )  # fmt: skip
            entry = manifest["stages"].setdefault(self.stage.id, {"title": self.stage.title})
            entry.update(status="running", by="notebook (by hand)", started=now())
            mark_later_stale(manifest, self.stage)
            manifest["status"] = "partial"
            store.write_manifest(manifest)
            from sopkit.report import write_reports

            write_reports(store)  # the stale stages' tables leave the workbook and index
        finally:
            lock.release()
        self._hand_checked = True

    def _finish_by_hand(self) -> None:
        store = self.store
        with CycleLock(store.reports_dir, store.cycle).hold("a notebook run by hand"):
            manifest = store.read_manifest()
            entry = manifest["stages"][self.stage.id]
            entry.update(status="complete", finished=now(), artifacts=sorted(self._written))
            entry.pop("html", None)  # the report of sop run's stage is not this run's
            manifest["status"] = overall_status(manifest)
            store.write_manifest(manifest)
            from sopkit.report import write_reports

            write_reports(store)  # so the workbook, tables and index show this stage's run

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
            "parameters": f"{self.params_file} (set {self.run.hash})",
            "reads": ", ".join(self.stage.reads) or "input data only",
            "writes": ", ".join(self.stage.writes),
        }
        return pd.DataFrame({"": list(rows.values())}, index=list(rows))


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sopkit": __version__}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def new_manifest(
    store: CycleStore,
    run: RunParameters,
    record: Path,
    ds: Dataset,
    fingerprint: str,
    run_id: str,
    before: dict[str, Any] | None = None,
    earlier: list[list[str]] | None = None,
) -> dict[str, Any]:
    """A cycle's manifest as a run (``sop run`` or a notebook by hand) starts it.

    ``before``: stage entries carried from the cycle's earlier run (a partial run);
    ``earlier``: ``[cycle, run_id]`` of the earlier cycles of record it may read.
    """
    stages = {s.id: {"status": "not run", "title": s.title} for s in STAGES}
    stages.update({k: dict(v) for k, v in (before or {}).items()})
    return {
        "cycle": store.cycle,
        "status": "running" if run_id != "by hand" else "partial",
        "run_id": run_id,
        "pid": os.getpid(),
        "started": now(),
        "finished": None,
        "params_file": str(run.source),
        "record": record.name,
        "parameters": run.public(),
        "identity": run.identity(),
        "params_hash": run.hash,
        "data_source": ds.source,
        "input_fingerprint": fingerprint,
        "input_rows": {name: len(df) for name, df in ds.tables().items()},
        "history": [f"{ds.first_month:%Y-%m}", f"{ds.last_month:%Y-%m}"],
        "data_warnings": [str(w) for w in ds.warnings],
        "taken_as_now": list(ds.as_of_notes),
        "earlier_cycles": earlier or [],
        "versions": _versions(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "stages": stages,
    }


def mark_later_stale(manifest: dict[str, Any], stage: Stage) -> None:
    """Stages after ``stage`` that had results no longer follow from its new ones."""
    for s in STAGES:
        entry = manifest["stages"].get(s.id, {})
        if s.number > stage.number and entry.get("status") in ("complete", "failed"):
            entry["status"] = "stale"


def overall_status(manifest: dict[str, Any]) -> str:
    """Complete when every stage is, else partial."""
    done = all(manifest["stages"].get(s.id, {}).get("status") == "complete" for s in STAGES)
    return "complete" if done else "partial"


def open_stage(
    stage: str,
    params_file: str | Path = "parameters/default.yaml",
    *,
    cycle_dir: str | Path | None = None,
    run_id: str | None = None,
    **overrides: Any,
) -> StageContext:
    """Start a stage notebook: the cycle's parameters, its input data, its artifacts.

    Parameters
    ----------
    stage
        The stage id (``"product_review"``) or number.
    params_file
        The parameters file, relative to the workspace (the folder holding
        ``parameters/default.yaml``, found from the current folder upwards); ``sop run``
        passes the cycle's own record (``reports/<cycle>/parameters.yaml``).
    cycle_dir, run_id
        Set by ``sop run`` only: the folder the run writes into and the run's id.
    **overrides
        The notebook's parameters (``cycle``, ``horizon``, ...); ``None`` keeps the
        file's value. Checked against the same schema as the file.

    Returns
    -------
    StageContext

    Raises
    ------
    ConfigError
        A bad parameters file, override or scenario.

    Examples
    --------
    >>> ctx = open_stage("product_review", cycle="2026-11")   # doctest: +SKIP
    >>> ctx.write("portfolio", portfolio_table)               # doctest: +SKIP
    """
    import altair as alt

    # SVG charts render with no network, in JupyterLab, Voila and the HTML report alike.
    alt.renderers.enable("svg")
    workspace = find_workspace()
    path = Path(params_file)
    path = path if path.is_absolute() else workspace / path
    if (cycle_dir is None) != (run_id is None):
        raise StageError("cycle_dir and run_id are given together, by `sop run` only")
    if run_id is not None:
        # Under sop run every stage plans under the cycle's record; a value left in the
        # notebook's parameters cell would plan this stage under other settings.
        set_here = {k: v for k, v in overrides.items() if v is not None and k != "cycle"}
        if set_here:
            raise ConfigError(
                f"the parameters cell of {get_stage(stage).notebook} sets "
                + ", ".join(f"{k} = {v!r}" for k, v in set_here.items())
                + "; under `sop run` every stage uses the cycle's parameters: set them back "
                "to None in the notebook, and pass settings to `sop run` (-p NAME VALUE)."
            )
    live_dir = None
    if os.environ.get(LIVE_ENV) == "1" and run_id is None and os.environ.get(LIVE_CYCLE_ENV):
        # sop serve: the cycle's own record and snapshot, whatever the parameters cell says
        live_dir = Path(os.environ[LIVE_CYCLE_ENV])
        path, overrides = live_dir / "parameters.yaml", {}
    scenario = overrides.pop("scenario", None)
    run = resolve_run(path, scenario=scenario, **overrides)
    return StageContext(
        get_stage(stage), run, workspace, path, Path(cycle_dir) if cycle_dir else None, run_id,
        live_dir=live_dir,
    )  # fmt: skip


__all__ = ["StageContext", "new_manifest", "open_stage", "reports_root", "resolve_cycle"]
