"""Where every artifact of a cycle lives, what each stage reads and writes, and earlier cycles.

``STAGES`` is the catalog (in the spirit of kedro's catalog and ploomber's
upstream/product): each stage's notebook, the artifacts it reads and the ones it
writes; their columns are the contract of :mod:`sopkit.schemas`. :class:`CycleStore`
reads and writes them under ``reports/<cycle>/`` atomically (write a temporary file, then
rename), so a failed stage never leaves a half-written table behind. Every artifact
carries its provenance (the stage, run, parameter set and input data that made it) in
its Parquet metadata, so a stage can refuse to build on another plan's tables.
:class:`PlanArchive` reads the plans of earlier completed cycles back.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .config import MONTH_RE
from .errors import StageError
from .schemas import ARTIFACTS


@dataclass(frozen=True)
class Stage:
    """One stage of the monthly cycle: its notebook and its declared inputs and outputs."""

    id: str
    title: str
    notebook: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]

    @property
    def number(self) -> int:
        """The stage's number, 1 to 5."""
        return int(self.notebook[:2])

    @property
    def name(self) -> str:
        """The notebook's file name without its suffix (``01_product_review``)."""
        return self.notebook.removesuffix(".ipynb")


STAGES: tuple[Stage, ...] = (
    Stage("product_review", "Product review", "01_product_review.ipynb", (), ("portfolio",)),
    Stage(
        "demand_planning", "Demand planning", "02_demand_planning.ipynb",
        (),
        (
            "forecast", "forecast_models", "forecast_levels", "level_models", "accuracy",
            "reconciliation_accuracy", "demand_plan", "adjustments",
        ),
    ),
    Stage(
        "supply_planning", "Supply planning", "03_supply_planning.ipynb",
        ("demand_plan", "accuracy"),
        ("supply_plan", "capacity", "materials", "supply_costs", "workforce_plan"),
    ),
    Stage(
        "reconciliation", "Reconciliation", "04_reconciliation.ipynb",
        ("demand_plan", "adjustments", "forecast_models", "accuracy", "supply_plan"),
        (
            "financials", "supply_gaps", "budget_variance", "plan_tracking", "plan_changes",
            "scenarios",
        ),
    ),
    Stage(
        "executive_review", "Executive review", "05_executive_review.ipynb",
        ("portfolio", "accuracy", "financials", "supply_gaps", "scenarios", "demand_plan"),
        ("kpis",),
    ),
)  # fmt: skip

#: tables of the cycle's Excel workbook, in sheet order
WORKBOOK_SHEETS = ("kpis", *(a.name for a in ARTIFACTS.values() if a.workbook and a.name != "kpis"))


def get_stage(key: str) -> Stage:
    """A stage by id (``demand_planning``), number (``2``, ``02``) or notebook name."""
    key = str(key).strip().removesuffix(".ipynb")
    for s in STAGES:
        if key in (s.id, s.name, str(s.number), f"{s.number:02d}"):
            return s
    known = ", ".join(f"{s.number} ({s.id})" for s in STAGES)
    raise StageError(f"unknown stage {key!r}; the stages are {known}")


def producer(artifact: str) -> Stage:
    """The stage that writes ``artifact``."""
    return next(s for s in STAGES if artifact in s.writes)


def check_cycle_name(cycle: str) -> str:
    """A cycle is a month ``YYYY-MM``; anything else (``../x``, ``2026-13``) is refused."""
    if not isinstance(cycle, str) or not MONTH_RE.match(cycle):
        raise StageError(f"cycle must be a month written YYYY-MM (e.g. 2026-11), got {cycle!r}")
    return cycle


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the suffix: papermill and pandas look at it
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.tmp-", suffix=path.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; reports are to be read
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


_PROVENANCE_KEY = b"sopkit.provenance"


class CycleStore:
    """The folder ``reports/<cycle>/`` of one cycle.

    Layout: ``NN_stage.ipynb`` and ``NN_stage.html`` (executed notebook and its
    report), ``artifacts/<name>.parquet``, ``inputs/<table>.parquet`` (the input
    snapshot every stage reads), ``plan_<cycle>.xlsx``, ``manifest.json`` and
    ``index.html``.
    """

    def __init__(self, reports_dir: str | Path, cycle: str, root: str | Path | None = None) -> None:
        self.cycle = check_cycle_name(cycle)
        self.reports_dir = Path(reports_dir)
        # a run that replaces a complete cycle builds the new one aside, in ``root``
        self.root = Path(root) if root is not None else self.reports_dir / self.cycle

    @property
    def record_path(self) -> Path:
        """The cycle's resolved parameters (``parameters.yaml``, beside ``scenarios.yaml``)."""
        return self.root / "parameters.yaml"

    @property
    def artifacts_dir(self) -> Path:
        """``artifacts/``: one Parquet file per artifact."""
        return self.root / "artifacts"

    @property
    def inputs_dir(self) -> Path:
        """``inputs/``: the validated input data every stage of the cycle reads."""
        return self.root / "inputs"

    @property
    def manifest_path(self) -> Path:
        """``manifest.json``: parameters, versions, input fingerprint, stage statuses."""
        return self.root / "manifest.json"

    @property
    def workbook_path(self) -> Path:
        """``plan_<cycle>.xlsx``: the plan tables for spreadsheet users."""
        return self.root / f"plan_{self.cycle}.xlsx"

    def artifact_path(self, name: str) -> Path:
        """The file of artifact ``name`` (an unknown name is a StageError)."""
        if name not in ARTIFACTS:
            raise StageError(f"unknown artifact {name!r}; known: {', '.join(ARTIFACTS)}")
        return self.artifacts_dir / f"{name}.parquet"

    def has(self, name: str) -> bool:
        """Whether artifact ``name`` has been written."""
        return self.artifact_path(name).is_file()

    def write(self, name: str, df: pd.DataFrame, provenance: dict[str, Any] | None = None) -> Path:
        """Check ``df`` against the artifact's contract and write it atomically.

        ``provenance`` (JSON-able) is kept in the Parquet file's metadata, so it can
        never disagree with the table it describes; :meth:`provenance` reads it back.
        """
        path = self.artifact_path(name)
        problems = ARTIFACTS[name].problems(df)
        if problems:
            raise StageError(
                f"artifact {name!r} breaks its contract (sopkit.schemas): {'; '.join(problems)}; "
                f"the contract is {', '.join(ARTIFACTS[name].names)}"
            )
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise StageError(
                f"artifact {name!r} cannot be stored as Parquet: {_first_line(exc)}; a column "
                "holds values of mixed or unknown types (see sopkit.schemas for its types)"
            ) from exc
        if provenance is not None:
            meta = dict(table.schema.metadata or {})
            meta[_PROVENANCE_KEY] = json.dumps(provenance, default=str).encode()
            table = table.replace_schema_metadata(meta)
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return path

    def provenance(self, name: str) -> dict[str, Any] | None:
        """What made artifact ``name`` (as given to :meth:`write`), or None if unknown."""
        import pyarrow.parquet as pq

        path = self.artifact_path(name)
        if not path.is_file():
            return None
        meta = pq.read_schema(path).metadata or {}
        raw = meta.get(_PROVENANCE_KEY)
        return json.loads(raw) if raw else None

    def read(self, name: str) -> pd.DataFrame:
        """Read an artifact, or say which stage must run to produce it."""
        path = self.artifact_path(name)
        if not path.is_file():
            stage = producer(name)
            raise StageError(
                f"artifact {name!r} of cycle {self.cycle} is missing ({path}); it is written by "
                f"stage {stage.number} ({stage.title}): run `sop run --cycle {self.cycle} "
                f"--from {stage.id}`"
            )
        return pd.read_parquet(path)

    def read_manifest(self) -> dict[str, Any]:
        """The cycle's manifest, or ``{}`` before the first run.

        Raises
        ------
        StageError
            The file is damaged: not JSON, not an object, or without its stages.
        """
        if not self.manifest_path.is_file():
            return {}
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise StageError(f"{self.manifest_path} is damaged ({_first_line(exc)})") from None
        if not isinstance(data, dict) or not isinstance(data.get("stages"), dict):
            raise StageError(
                f"{self.manifest_path} is damaged (not a manifest of sopkit: it holds no stages)"
            )
        return data

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest atomically."""
        with atomic_path(self.manifest_path) as tmp:
            tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PlanArchive:
    """The plans of earlier cycles under one reports folder, for a later cycle to read back.

    Only cycles whose manifest says ``complete`` count: a failed or partial cycle's tables
    were never the plan of record. Forecast accuracy by lag and forecast value added
    compare these plans with what happened.

    Examples
    --------
    >>> archive = PlanArchive("reports")                                  # doctest: +SKIP
    >>> archive.cycles(before="2026-12")                                  # doctest: +SKIP
    ['2026-11']
    >>> archive.read("demand_plan", before="2026-12")  # one table, a cycle column first
    """

    def __init__(self, reports_dir: str | Path) -> None:
        self.reports_dir = Path(reports_dir)

    def runs(self, before: str | None = None) -> list[list[str]]:
        """``[cycle, run_id]`` of each completed cycle: which plan of record each one is.

        Oldest first; only those before ``before`` if given.
        """
        if not self.reports_dir.is_dir():
            return []
        out = []
        for folder in sorted(self.reports_dir.iterdir()):
            if not (folder.is_dir() and MONTH_RE.match(folder.name)):
                continue
            if before is not None and folder.name >= before:
                continue
            try:
                manifest = CycleStore(self.reports_dir, folder.name).read_manifest()
            except StageError:  # a damaged cycle is not a plan of record
                continue
            if manifest.get("status") == "complete":
                out.append([folder.name, str(manifest.get("run_id", ""))])
        return out

    def cycles(self, before: str | None = None) -> list[str]:
        """The completed cycles, oldest first (only those before ``before`` if given)."""
        return [cycle for cycle, _ in self.runs(before)]

    def read(self, artifact: str, before: str | None = None) -> pd.DataFrame:
        """Artifact ``artifact`` of every completed cycle, stacked, with a ``cycle`` column.

        Empty (with the contract's columns) when no earlier cycle has it.
        """
        if artifact not in ARTIFACTS:
            raise StageError(f"unknown artifact {artifact!r}; known: {', '.join(ARTIFACTS)}")
        parts = []
        for cycle in self.cycles(before):
            store = CycleStore(self.reports_dir, cycle)
            if store.has(artifact):
                parts.append(store.read(artifact).assign(cycle=cycle))
        if not parts:
            parts = [ARTIFACTS[artifact].empty().assign(cycle=pd.Series(dtype=object))]
        out = pd.concat(parts, ignore_index=True)
        return out[["cycle", *[c for c in out.columns if c != "cycle"]]]

    def latest(
        self, names: Sequence[str], before: str | None = None
    ) -> tuple[str, dict[str, pd.DataFrame]] | None:
        """The latest completed cycle (before ``before``) and its tables ``names``, or None.

        A name is an artifact (empty with its columns where the cycle did not make it), an
        input table of the cycle's validated data (``products``, ...), or ``scenario``: the
        :class:`~sopkit.config.Scenario` the cycle planned (None without its record).
        """
        cycles = self.cycles(before)
        if not cycles:
            return None
        cycle = cycles[-1]
        store = CycleStore(self.reports_dir, cycle)
        out = {}
        for name in names:
            if name == "scenario":
                from .config import resolve_run

                out[name] = (
                    resolve_run(store.record_path).scenario if store.record_path.is_file() else None
                )
                continue
            if name in ARTIFACTS:
                out[name] = store.read(name) if store.has(name) else ARTIFACTS[name].empty()
                continue
            path = store.inputs_dir / f"{name}.parquet"
            if not path.is_file():
                raise StageError(
                    f"cycle {cycle} kept no input table {name!r} ({path} is missing); "
                    "run that cycle again to rebuild its record."
                )
            out[name] = pd.read_parquet(path)
        return cycle, out


__all__ = [
    "ARTIFACTS",
    "STAGES",
    "WORKBOOK_SHEETS",
    "CycleStore",
    "PlanArchive",
    "Stage",
    "atomic_path",
    "check_cycle_name",
    "get_stage",
    "producer",
]
