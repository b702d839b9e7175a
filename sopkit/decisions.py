"""The decision log: who approved, rejected or asked for changes to which plan, and when.

Stage 5 ends with management's decision on the cycle's plan (or on a scenario shown
beside it). Each decision is one row of the ``decisions`` table of a database reached
through SQLAlchemy: a SQLite file, ``<reports_dir>/decisions.sqlite``, by default, or
the database of ``decisions.url`` in the parameters (PostgreSQL, say:
``postgresql+psycopg://user:password@host/db``). A row holds the cycle, the scenario and
its inputs written out, a hash of the plan decided on (:func:`plan_hash`), the decision,
the comment, the person and the time (UTC).

Rows are only ever added, each in its own transaction: concurrent writers (several
executives deciding at once, from several dashboard kernels) each get their row. SQLite
runs in WAL mode with a busy timeout, so writers wait for each other rather than fail.

A cycle is **approved** while its latest decision is ``approve`` and was made on the plan
the cycle holds now (the same :func:`plan_hash`); ``sop run`` then refuses to replace that
plan without ``--force`` and says who approved it when. An approval of an earlier plan of
the cycle (replaced since with ``--force``) or of a what-if stays in the log, marked as such
in the index, but approves nothing any more.

**One log per workspace.** Its URL is the workspace's ``decision_log`` setting in
``parameters/default.yaml`` (:func:`workspace_log`), whatever a run's ``--params`` or
``-p`` say, so ``sop decide``, ``sop run``, stage 5 and ``sop serve`` all read and write the
same log; a relative SQLite path is taken from the workspace folder. Several workspaces
may share one database (a PostgreSQL server, say): each then sets its ``workspace_name``,
each row holds it, and a workspace reads its own rows only, so two companies' cycles
2026-11 never mix. A database server is taken as shared: a workspace without a
``workspace_name`` is refused there. A workspace without one (on its own SQLite file)
writes rows without a name and reads every row, so renaming or moving its folder loses
nothing. Rows without a name (and those written before the log kept names) are read by
every workspace.

Examples
--------
>>> log = DecisionLog("sqlite:///reports/decisions.sqlite")  # doctest: +SKIP
>>> log.record(cycle="2026-11", decision="approve", person="Ann Lee",  # doctest: +SKIP
...            comment="as planned", plan_hash=plan_hash(plan.supply_plan))
>>> log.history("2026-11")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from sopkit.config import MONTH_RE, hide_password, scrub_password
from sopkit.errors import SopError

__all__ = [
    "DECISIONS",
    "DEFAULT_FILE",
    "HISTORY_COLUMNS",
    "DecisionLog",
    "approval_of",
    "cycle_plan_hash",
    "decide_cycle",
    "decision_log",
    "latest_complete_cycle",
    "plan_hash",
    "promote_decision",
    "scenario_plan_hash",
    "workspace_log",
]

#: what management may decide
DECISIONS = ("approve", "reject", "request_changes")
#: the SQLite file of the default log, in the reports folder
DEFAULT_FILE = "decisions.sqlite"
HISTORY_COLUMNS = [
    "id", "cycle", "scenario", "inputs", "plan_hash", "decision", "comment", "person",
    "decided_at", "workspace",
]  # fmt: skip
_SQLITE_TIMEOUT_S = 30
_MAX_TEXT = 2000
_MAX_NAME = 200

_METADATA = sa.MetaData()
_TABLE = sa.Table(
    "decisions",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("cycle", sa.String(7), nullable=False, index=True),
    sa.Column("scenario", sa.String(200), nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("plan_hash", sa.String(64), nullable=False),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("person", sa.String(200), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("workspace", sa.String(_MAX_NAME), nullable=False, server_default="", index=True),
)


def plan_hash(*frames: pd.DataFrame) -> str:
    """A short, stable hash of the tables that make a plan (the same rows, the same hash).

    Rows are hashed in order with :func:`pandas.util.hash_pandas_object` (index left
    out), so a plan written and read back, or re-planned from the same inputs, hashes alike.
    """
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(json.dumps([str(c) for c in frame.columns]).encode())
        rows = pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False)
        digest.update(rows.to_numpy().tobytes())
    return digest.hexdigest()[:16]


class DecisionLog:
    """The decisions table of one database (created on first use).

    Parameters
    ----------
    url : str
        A SQLAlchemy database URL: ``sqlite:///path/to/decisions.sqlite`` or
        ``postgresql+psycopg://user:password@host:5432/db``.
    workspace : str, optional
        The workspace whose decisions these are: rows are written under this name, and
        only its rows (and those written without a name) are read. None: rows are
        written without a name and every row is read.

    Raises
    ------
    SopError
        A URL SQLAlchemy cannot parse, or a database that cannot be reached (the
        message hides the password).
    """

    def __init__(self, url: str, workspace: str | None = None) -> None:
        self.url = str(url)
        self.workspace = (
            unicodedata.normalize("NFC", " ".join(str(workspace).split()))
            if workspace is not None
            else None
        )
        if self.workspace is not None and not 0 < len(self.workspace) <= _MAX_NAME:
            raise SopError(
                f"workspace_name must be a name of 1 to {_MAX_NAME} characters; got {workspace!r}."
            )
        try:
            parsed = sa.engine.make_url(self.url)
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise SopError(
                f"decision_log {hide_password(self.url)!r} is not a database URL "
                f"({scrub_password(str(exc), self.url)}). Give e.g. "
                "sqlite:///reports/decisions.sqlite or "
                "postgresql+psycopg://user:password@host/db, or leave it empty."
            ) from None
        sqlite = parsed.get_backend_name() == "sqlite"
        if sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {"future": True}
        if sqlite:
            options["connect_args"] = {"timeout": _SQLITE_TIMEOUT_S}
        try:
            self.engine = sa.create_engine(self.url, **options)
            if sqlite:
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            _METADATA.create_all(self.engine)
            _add_workspace_column(self.engine)
        except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:
            cause = getattr(exc, "orig", None) or exc
            raise SopError(
                f"the decision log at {hide_password(self.url)} cannot be opened: "
                f"{scrub_password(str(cause).splitlines()[0], self.url)}"
            ) from None

    def __repr__(self) -> str:
        return f"DecisionLog({hide_password(self.url)!r})"

    def record(
        self,
        *,
        cycle: str,
        decision: str,
        person: str,
        plan_hash: str,
        comment: str = "",
        scenario: str = "baseline",
        inputs: str | Mapping | None = None,
    ) -> dict[str, Any]:
        """Add one decision and return its row (with its id and time).

        Parameters
        ----------
        cycle : str
            The cycle decided on, ``YYYY-MM``.
        decision : {"approve", "reject", "request_changes"}
        person : str
            Who decided (required).
        plan_hash : str
            :func:`plan_hash` of the plan shown when deciding.
        comment : str, optional
            Why; required when the decision is not ``approve``.
        scenario : str, default "baseline"
            The scenario decided on (the cycle's plan, or a scenario shown; approving a
            scenario promotes it).
        inputs : str or mapping, optional
            The scenario's inputs (a mapping is stored as JSON).

        Raises
        ------
        SopError
            Every problem of the values at once (nothing is written); a database error.
        """
        problems = []
        if not isinstance(cycle, str) or not MONTH_RE.match(cycle):
            problems.append(f"cycle must be a month YYYY-MM; got {cycle!r}")
        if decision not in DECISIONS:
            problems.append(f"decision must be one of {', '.join(DECISIONS)}; got {decision!r}")
        person = " ".join(person.split()) if isinstance(person, str) else ""
        if not any(ch.isalnum() for ch in person):
            problems.append("person is required: the name of who decides")
        comment = comment.strip() if isinstance(comment, str) else ""
        if decision in DECISIONS and decision != "approve" and not comment:
            problems.append(f"a comment is required to {decision.replace('_', ' ')}: say why")
        if not isinstance(plan_hash, str) or not plan_hash.strip():
            problems.append("plan_hash is required: the hash of the plan decided on")
        if not isinstance(scenario, str) or not scenario.strip():
            problems.append(f"scenario must be a name; got {scenario!r}")
        named = scenario if isinstance(scenario, str) else ""
        limits = (
            ("person", person, _MAX_NAME), ("comment", comment, _MAX_TEXT),
            ("scenario", named, _MAX_NAME),
        )  # fmt: skip
        for name, value, most in limits:
            if len(value) > most:
                problems.append(f"{name} is {len(value)} characters long; at most {most}")
        if problems:
            raise SopError("The decision was not recorded:\n  - " + "\n  - ".join(problems))
        text = inputs if isinstance(inputs, str) else json.dumps(inputs or {}, sort_keys=True)
        row = {
            "cycle": cycle,
            "scenario": scenario.strip(),
            "inputs": text,
            "plan_hash": plan_hash.strip(),
            "decision": decision,
            "comment": comment,
            "person": person,
            "decided_at": dt.datetime.now(dt.UTC),
            "workspace": self.workspace or "",
        }
        try:
            with self.engine.begin() as conn:
                result = conn.execute(_TABLE.insert().values(**row))
                row["id"] = int(result.inserted_primary_key[0])
        except sa.exc.SQLAlchemyError as exc:
            cause = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise SopError(
                f"the decision was not recorded: the log at {hide_password(self.url)} "
                f"refused it ({scrub_password(cause, self.url)})"
            ) from None
        return row

    def history(self, cycle: str | None = None) -> pd.DataFrame:
        """The decisions (of ``cycle``, or all), oldest first: :data:`HISTORY_COLUMNS`.

        Only the log's workspace's rows, and those written without a name (see the notes).
        """
        query = sa.select(_TABLE).order_by(_TABLE.c.decided_at, _TABLE.c.id)
        if cycle is not None:
            query = query.where(_TABLE.c.cycle == cycle)
        if self.workspace is not None:
            query = query.where(_TABLE.c.workspace.in_([self.workspace, ""]))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        out = pd.DataFrame([dict(r) for r in rows], columns=HISTORY_COLUMNS)
        out["decided_at"] = pd.to_datetime(out["decided_at"], utc=True)
        return out

    def approval(self, cycle: str, plan: str | None = None) -> dict[str, Any] | None:
        """The approval in force for ``cycle``: its latest decision, if it approves.

        Given ``plan`` (the hash of the cycle's plan now), only an approval of that plan.
        """
        return approval_of(self.history(cycle), plan)

    def dispose(self) -> None:
        """Close the log's connections."""
        self.engine.dispose()


def approval_of(history: pd.DataFrame, plan: str | None = None) -> dict[str, Any] | None:
    """The last row of a cycle's ``history`` if it approves (the plan ``plan``), else None."""
    if history.empty:
        return None
    last = history.iloc[-1]
    if last["decision"] != "approve" or (plan is not None and last["plan_hash"] != plan):
        return None
    return last.to_dict()


def decision_log(
    url: str | None,
    reports_dir: str | Path,
    workspace: str | Path | None = None,
    name: str | None = None,
) -> DecisionLog:
    """A decision log: ``url`` if set, else ``<reports_dir>/decisions.sqlite``.

    A relative SQLite path in ``url`` is taken from ``workspace`` (the current folder
    without one). ``name``: the workspace's name in the log (:class:`DecisionLog`).
    """
    if url:
        parsed = sa.engine.make_url(url) if "://" in str(url) else None
        if (
            workspace is not None and parsed is not None and parsed.get_backend_name() == "sqlite"
            and parsed.database not in (None, "", ":memory:")
            and not Path(parsed.database).is_absolute()
        ):  # fmt: skip
            url = parsed.set(database=str(Path(workspace).resolve() / parsed.database))
            url = url.render_as_string(hide_password=False)
        return DecisionLog(str(url), name)
    return DecisionLog(f"sqlite:///{Path(reports_dir).resolve() / DEFAULT_FILE}", name)


def workspace_log(workspace: str | Path) -> DecisionLog:
    """The workspace's decision log, from its ``parameters/default.yaml`` (see the notes)."""
    from sopkit.config import resolve_run
    from sopkit.cycle.context import reports_root

    ws = Path(workspace).resolve()
    params = resolve_run(ws / "parameters" / "default.yaml").params
    url = params.decision_log
    if url and not params.workspace_name and "://" in str(url):
        with contextlib.suppress(sa.exc.ArgumentError, ValueError):
            if sa.engine.make_url(url).get_backend_name() != "sqlite":
                raise SopError(
                    f"decision_log names a database server ({hide_password(str(url))}), which "
                    "other workspaces may share: give this workspace a name there, "
                    "workspace_name: NAME in parameters/default.yaml, so that its decisions "
                    "are kept apart from theirs."
                )
    return decision_log(url, reports_root(ws, params), ws, params.workspace_name)


def scenario_plan_hash(plan: Any, demand_plan: pd.DataFrame) -> str:
    """The :func:`cycle_plan_hash` a cycle planned under ``plan``'s scenario would have.

    ``demand_plan`` is the cycle's stage 2 plan (a scenario acts from stage 3 on: the
    cycle keeps stage 2's demand plan whatever its scenario); then the scenario's supply
    plan and financials. So an approved what-if, once promoted, is the approved plan.
    """
    return plan_hash(demand_plan, plan.supply_plan, plan.financials)


def cycle_plan_hash(store: Any) -> str:
    """The hash of a cycle's plan of record: its demand plan, supply plan and financials."""
    frames = [store.read(name) for name in PLAN_ARTIFACTS if store.has(name)]
    return plan_hash(*frames)


def _add_workspace_column(engine: sa.Engine) -> None:
    """Give a log made before rows held their workspace the ``workspace`` column."""
    if "workspace" in {c["name"] for c in sa.inspect(engine).get_columns("decisions")}:
        return
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"ALTER TABLE decisions ADD COLUMN workspace VARCHAR({_MAX_NAME}) "
                    "NOT NULL DEFAULT ''"
                )
            )
    except sa.exc.SQLAlchemyError:  # another process added it meanwhile
        if "workspace" not in {c["name"] for c in sa.inspect(engine).get_columns("decisions")}:
            raise
    with contextlib.suppress(sa.exc.SQLAlchemyError):  # the index, as a new log has it
        next(i for i in _TABLE.indexes if i.columns.keys() == ["workspace"]).create(
            engine, checkfirst=True
        )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_TIMEOUT_S * 1000}")
    cursor.close()


#: the artifacts a cycle's plan hash covers: what is planned, shipped and earned
PLAN_ARTIFACTS = ("demand_plan", "supply_plan", "financials")


def decide_cycle(
    decision: str,
    *,
    person: str,
    comment: str = "",
    cycle: str | None = None,
    scenario: str | None = None,
    workspace: str | Path | None = None,
    params_file: str | Path | None = None,
) -> dict[str, Any]:
    """Record a decision on a completed cycle's plan and show it in the cycle's index.

    Parameters
    ----------
    decision, person, comment
        As :meth:`DecisionLog.record`.
    cycle : str, optional
        ``YYYY-MM``; default: the latest completed cycle.
    scenario : str, optional
        The scenario decided on; default: the one the cycle planned. Another scenario
        of the cycle's comparison may be approved (promoted): the decision names it and
        its inputs, and ``sop run --scenario NAME --force`` makes it the plan.
    workspace, params_file
        As for ``sop run``.

    Returns
    -------
    dict
        The recorded row.

    Raises
    ------
    SopError
        No completed cycle, a cycle that is not complete, an unknown scenario, or what
        :meth:`DecisionLog.record` refuses.
    """
    from sopkit.config import resolve_run
    from sopkit.cycle.context import reports_root
    from sopkit.report import write_index
    from sopkit.store import CycleStore

    ws, pfile = _workspace_params(workspace, params_file)
    run = resolve_run(pfile)
    reports = reports_root(ws, run.params)
    cycle = cycle or latest_complete_cycle(reports)
    store = CycleStore(reports, cycle)
    manifest = store.read_manifest()
    if manifest.get("status") != "complete":
        raise SopError(
            f"cycle {cycle} is {manifest.get('status', 'not run')}, not complete: there is no "
            f"plan of record to decide on. Run `sop run --cycle {cycle}` first."
        )
    recorded = resolve_run(store.record_path)
    planned = recorded.params.scenario
    scenario = scenario or planned
    if scenario not in recorded.scenarios:
        raise SopError(
            f"scenario {scenario!r} is not among cycle {cycle}'s scenarios "
            f"({', '.join(recorded.scenarios)})."
        )
    inputs = ""
    if store.has("scenarios"):
        table = store.read("scenarios").set_index("scenario")
        if scenario in table.index and "inputs" in table.columns:
            inputs = str(table.loc[scenario, "inputs"])
    if scenario == planned:
        digest = cycle_plan_hash(store)
    else:  # the scenario's own plan, re-planned from the cycle's data as stage 4 did
        plan = _replan_recorded(store, recorded, scenario)
        digest = scenario_plan_hash(plan, store.read("demand_plan"))
    log = workspace_log(ws)
    try:
        row = log.record(
            cycle=cycle, decision=decision, person=person, comment=comment,
            scenario=scenario, inputs=inputs, plan_hash=digest,
        )  # fmt: skip
        write_index(store, log.history(cycle))
    finally:
        log.dispose()
    return row


def _workspace_params(
    workspace: str | Path | None, params_file: str | Path | None
) -> tuple[Path, Path]:
    """The workspace folder and its parameters file, absolute (as ``sop run`` finds them)."""
    from sopkit.config import find_workspace

    ws = Path(workspace).resolve() if workspace else find_workspace()
    pfile = Path(params_file) if params_file else ws / "parameters" / "default.yaml"
    return ws, pfile if pfile.is_absolute() else ws / pfile


def latest_complete_cycle(reports: str | Path) -> str:
    """The latest cycle of ``reports``, which must be complete (else a clear error)."""
    from sopkit.config import MONTH_RE
    from sopkit.store import CycleStore

    folder = Path(reports)
    cycles = sorted(
        f.name for f in folder.iterdir() if f.is_dir() and MONTH_RE.match(f.name)
    ) if folder.is_dir() else []  # fmt: skip
    if not cycles:
        raise SopError(f"{folder} holds no cycle yet; `sop run` first.")
    latest = cycles[-1]
    status = CycleStore(folder, latest).read_manifest().get("status", "not run")
    if status != "complete":
        raise SopError(
            f"the latest cycle, {latest}, is {status}, not complete: finish it with `sop run "
            f"--cycle {latest}`, or name an earlier cycle with --cycle."
        )
    return latest


def _replan_recorded(store: Any, recorded: Any, scenario: str) -> Any:
    """A scenario of a completed cycle re-planned from its record and input snapshot."""
    from sopkit.cycle.context import load_snapshot
    from sopkit.scenarios import PlanInputs, replan

    manifest = store.read_manifest()
    ds = load_snapshot(
        store.root / "inputs", manifest.get("data_source", ""), manifest["input_fingerprint"]
    )
    inputs = PlanInputs.from_dataset(
        ds, store.read("demand_plan"), accuracy=store.read("accuracy"), params=recorded.params
    )
    return replan(inputs, recorded.scenarios[scenario], name=scenario)


#: the name a promoted what-if gets in scenarios.yaml, from its decision's id
WHAT_IF_NAME = "what_if_{id}"
#: the scenario of a decision on the dashboard's what-if (its inputs are recorded as JSON)
WHAT_IF = "what-if"


def promote_decision(
    decision_id: int,
    *,
    name: str | None = None,
    workspace: str | Path | None = None,
    params_file: str | Path | None = None,
) -> dict[str, Any]:
    """Make an approved scenario ready to be the cycle's plan: a what-if becomes a scenario.

    The decision must be an approval in the workspace's log. An approved scenario of
    ``scenarios.yaml`` is promoted as it is; an approved what-if of the dashboard (its
    inputs recorded with the decision) is added to the ``scenarios.yaml`` beside the
    parameters file under ``name`` (default ``what_if_<id>``), with a description saying
    who approved it when. The file is only appended to: its comments and scenarios stay,
    and the result is read back and checked before it replaces the file (nothing is
    written on any problem). ``sop promote`` then re-plans the cycle under that scenario.

    Returns
    -------
    dict
        The decision's row, with ``promoted`` (the scenario's name) and ``added`` (True
        when it was written to scenarios.yaml now).

    Raises
    ------
    SopError
        No such decision in the workspace's log, a decision that is not an approval,
        inputs that are not a valid scenario, a name taken by another scenario, or a
        scenarios.yaml that cannot be appended to (the message then gives the lines to
        add by hand).
    """
    from sopkit.config import load_scenarios
    from sopkit.scenarios import describe_inputs, validate_scenario

    ws, pfile = _workspace_params(workspace, params_file)
    scen_file = pfile.parent / "scenarios.yaml"
    log = workspace_log(ws)
    try:
        history = log.history()
    finally:
        log.dispose()
    rows = history[history["id"] == decision_id]
    if rows.empty:
        raise SopError(
            f"decision {decision_id} is not in this workspace's decision log; the cycle's "
            "index.html lists its decisions, or see `sop decide --help`."
        )
    row = rows.iloc[0].to_dict()
    if row["decision"] != "approve":
        raise SopError(
            f"decision {decision_id} is {row['decision'].replace('_', ' ')}, not an approval: "
            "only an approved scenario becomes the cycle's plan."
        )
    known = load_scenarios(scen_file)
    if row["scenario"] != WHAT_IF:
        if row["scenario"] not in known:
            raise SopError(
                f"decision {decision_id} approved scenario {row['scenario']!r}, which "
                f"{scen_file} no longer has."
            )
        now = describe_inputs(known[row["scenario"]])
        if row["inputs"] not in ("", "{}") and row["inputs"] != now:
            raise SopError(
                f"decision {decision_id} approved scenario {row['scenario']!r} as "
                f"{row['inputs']!r}; {scen_file} now says {now!r}. Approve it again as it "
                "stands (sop decide), or put back what was approved."
            )
        return {**row, "promoted": row["scenario"], "added": False}
    try:
        inputs = json.loads(row["inputs"] or "{}")
    except json.JSONDecodeError:
        inputs = None
    if not isinstance(inputs, dict) or not inputs:
        raise SopError(
            f"decision {decision_id}'s inputs are not a scenario's changes: {row['inputs']!r}"
        )
    scenario = validate_scenario(inputs, f"of decision {decision_id}").model_copy(
        update={
            "description": f"What-if approved by {row['person']} on "
            f"{row['decided_at']:%Y-%m-%d %H:%M} UTC (decision {decision_id})"
        }
    )
    name = name or WHAT_IF_NAME.format(id=decision_id)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", name) or name == WHAT_IF:
        raise SopError(
            f"a scenario's name is 1 to 100 of the letters a-z, A-Z, digits, - and _ (and not "
            f"'what-if', the dashboard's); got {name!r}"
        )
    if name in known:
        if known[name].changes() == scenario.changes():
            return {**row, "promoted": name, "added": False}
        raise SopError(
            f"{scen_file} already has a scenario {name!r} with other changes; give another "
            "name with --name."
        )
    _append_scenario(scen_file, name, scenario, known)
    return {**row, "promoted": name, "added": True}


def _append_scenario(path: Path, name: str, scenario: Any, known: Mapping) -> None:
    """Append ``name: scenario`` to the ``scenarios:`` mapping that ends ``path``, checked.

    The file keeps its line endings and permissions; a symbolic link is written through.
    """
    import os
    import stat
    import tempfile

    import yaml

    from sopkit.config import ConfigError, load_scenarios

    path = path.resolve()  # a shared file behind a link is the one to change
    defaults = type(scenario)().model_dump()
    changes = {
        k: v for k, v in scenario.model_dump().items() if k == "description" or v != defaults[k]
    }
    raw = path.read_bytes().decode("utf-8")
    newline = "\r\n" if "\r\n" in raw else "\n"
    lines = raw.splitlines()
    entries = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    indents = [len(ln) - len(ln.lstrip(" ")) for ln in entries if ln.startswith(" ")]
    indent = " " * (min(indents) if indents else 2)
    block = yaml.safe_dump({name: changes}, sort_keys=False, allow_unicode=True, width=1000)
    block = "".join(indent + line + newline for line in block.splitlines())
    by_hand = f"Add it to {path} by hand, under scenarios:\n{block}"
    if not entries or not entries[-1].startswith(" "):
        raise SopError(f"{path} does not end with its scenarios' entries. {by_hand}")
    new = raw.rstrip("\r\n") + newline + block
    fd, tmp = tempfile.mkstemp(prefix=".scenarios-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(new)
        try:
            read = load_scenarios(tmp)
        except ConfigError as exc:
            why = str(exc).replace(tmp, str(path))
            raise SopError(f"appending to {path} would break it ({why}). {by_hand}") from None
        if read != {**known, name: scenario}:
            raise SopError(f"appending to {path} did not read back as written. {by_hand}")
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def promotion_differences(
    cycle: str,
    scenario: str,
    *,
    workspace: str | Path | None = None,
    params_file: str | Path | None = None,
) -> tuple[list[str], bool]:
    """What, besides the scenario, a re-plan of ``cycle`` under ``scenario`` would change.

    A promotion re-plans the cycle as it was approved, with only its scenario changed:
    the cycle's settings, its input data and the earlier cycles it measured must be those
    of today's workspace. Returns each difference as a line (``describe_difference``'s;
    none when the promotion can run), and whether the cycle is already complete under
    ``scenario`` (nothing to re-plan).
    """
    from sopkit.config import describe_difference, resolve_run
    from sopkit.cycle.context import reports_root
    from sopkit.data import load_dataset
    from sopkit.store import CycleStore, PlanArchive

    ws, pfile = _workspace_params(workspace, params_file)
    run = resolve_run(pfile, scenario=scenario)
    run = run.with_cycle(cycle)
    store = CycleStore(reports_root(ws, run.params), cycle)
    manifest = store.read_manifest()

    def plan_settings(identity: Mapping) -> dict:
        return {
            k: v for k, v in identity.items() if k != "scenario" and not k.startswith("scenarios.")
        }

    why = describe_difference(
        plan_settings(run.identity()), plan_settings(manifest.get("identity", {}))
    )
    data = run.params.data
    ds = load_dataset(
        data.source, queries=data.queries, demo_seed=data.demo_seed,
        demo_last_month=data.demo_last_month, base=ws,
    ).as_of(pd.Timestamp(f"{cycle}-01"))  # fmt: skip
    if ds.fingerprint() != manifest.get("input_fingerprint"):
        why.append("the input data changed since the cycle was planned")
    earlier = PlanArchive(store.reports_dir).runs(before=cycle)
    if manifest.get("earlier_cycles", earlier) != earlier:
        why.append("the earlier cycles it measured were re-planned since")
    identity = manifest.get("identity", {})
    done = manifest.get("status") == "complete" and identity.get("scenario") == scenario
    return why, done and not why and run.identity() == identity
