"""Typed parameters: ``parameters/default.yaml`` and ``parameters/scenarios.yaml``.

The YAML files are what a planner edits each month; here they become pydantic
models, so an unknown key, a wrong type or a missing file stops everything with
a message that names the file, the key and what was expected.

Notebook parameters (the papermill ``parameters`` cells) are flat names such as
``horizon`` or ``data_source``; :data:`NOTEBOOK_PARAMETERS` maps each onto its
place in :class:`Parameters`, so an override goes through the same schema as the
file.

Example
-------
>>> from sopkit.config import resolve_parameters
>>> p = resolve_parameters("parameters/default.yaml", horizon=12)   # doctest: +SKIP
>>> p.horizon                                                        # doctest: +SKIP
12
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .errors import ConfigError, SopError

#: a month as written in files and parameters: YYYY-MM
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _no_bool(value: Any) -> Any:
    """A yes/no is not a number (YAML reads ``yes`` as True, which would be 1)."""
    if isinstance(value, bool):
        raise ValueError("a number is expected, not yes/no (true/false)")
    return value


#: a change in percent: at least -100 (all of it gone), at most +1000 (eleven times as much)
Pct = Annotated[float, Field(ge=-100, le=1000, allow_inf_nan=False), BeforeValidator(_no_bool)]
#: cvxpy solvers of linear (and mixed-integer) programs the supply model may name
LP_SOLVERS = (
    "HIGHS",
    "SCIPY",
    "GLPK",
    "GLPK_MI",
    "CBC",
    "SCIP",
    "COPT",
    "GUROBI",
    "CPLEX",
    "MOSEK",
    "XPRESS",
    "CUOPT",
    "CLARABEL",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _check_month(value: str | None) -> str | None:
    if value is not None and not MONTH_RE.match(value):
        raise ValueError(f"a month written YYYY-MM (e.g. 2026-11), got {value!r}")
    return value


class DataParams(_Model):
    """Where the input data comes from."""

    source: str = Field("demo", description="demo, a CSV folder, an .xlsx workbook or a SQL URL")
    queries: dict[str, str] = Field(default_factory=dict, description="SQL per table (SQL sources)")
    demo_seed: int = Field(7, description="seed of the demo company")
    demo_last_month: str = Field("2026-10", description="last month of the demo's history")

    _month = field_validator("demo_last_month")(_check_month)


class PortfolioParams(_Model):
    """Stage 1, product review (keyword arguments of ``portfolio.review_portfolio``)."""

    review_months: int = Field(12, ge=1, le=60)
    abc_thresholds: tuple[float, float] = (0.8, 0.95)
    xyz_thresholds: tuple[float, float] = (0.5, 1.0)
    new_item_months: int = Field(12, ge=0, le=120)
    growth_threshold: float = Field(0.10, ge=0, allow_inf_nan=False)
    decline_threshold: float = Field(-0.10, ge=-1, lt=0)
    eol_window_months: int = Field(6, ge=0, le=120)

    @field_validator("abc_thresholds")
    @classmethod
    def _abc_in_order(cls, v: tuple[float, float]) -> tuple[float, float]:
        a, b = v
        if not 0 < a < b <= 1:
            raise ValueError(
                f"two increasing cumulative revenue shares in (0, 1], such as [0.8, 0.95], "
                f"got [{a:g}, {b:g}]"
            )
        return v

    @field_validator("xyz_thresholds")
    @classmethod
    def _xyz_in_order(cls, v: tuple[float, float]) -> tuple[float, float]:
        x, y = v
        if not 0 <= x < y < float("inf"):
            raise ValueError(
                f"two increasing coefficients of variation of 0 or more, such as [0.5, 1.0], "
                f"got [{x:g}, {y:g}]"
            )
        return v


#: what a Dask scheduler address may start with (distributed's comm backends)
SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")
# scheme://host:port or host:port (tcp); a host is a name, an IPv4 or a bracketed IPv6 address
_HOST_PORT = re.compile(r"^(?:(?:tcp|tls|ucx|wss?)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d+)$")


def _check_scheduler(value: Any) -> str | None:
    """A Dask scheduler address, or None (empty) for local worker processes."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    expected = (
        "a Dask scheduler address such as tcp://10.0.0.5:8786 or 10.0.0.5:8786 (schemes: "
        + ", ".join(f"{s}://" for s in SCHEDULER_SCHEMES)
        + "), or nothing for worker processes on this machine"
    )
    if not isinstance(value, str):
        raise ValueError(f"{expected}; got {value!r}")
    address = value.strip()
    if address.startswith(("http://", "https://")):
        raise ValueError(
            f"{expected}; got {value!r}, a web address (the dashboard's?): the scheduler "
            "listens on tcp://, port 8786 unless `dask scheduler --port` says otherwise"
        )
    match = _HOST_PORT.match(address)
    if match and 1 <= int(match[2]) <= 65535:
        return address
    if address.startswith("inproc://") and len(address) > len("inproc://"):
        return address
    raise ValueError(f"{expected}; got {value!r}")


def _engine():
    """The forecasting engine's module, for its one list of models (imported when needed)."""
    from sopkit.demand import engine

    return engine


class DemandParams(_Model):
    """Stage 2, demand planning (the engine's options: ``sopkit.demand.engine.forecast``)."""

    season_length: int = Field(12, ge=1, le=24)
    backtest_months: int = Field(12, ge=1, le=36)
    models: list[str] = Field(default_factory=lambda: list(_engine().DEFAULT_MODELS), min_length=1)
    #: the candidates of the levels above SKU x region (SKU, family x region, region,
    #: family, total): without ARIMA by default, whose search was three quarters of their
    #: time; on the demo's backtest MinT was as accurate at every level without it
    level_models: list[str] = Field(
        default_factory=lambda: list(_engine().DEFAULT_LEVEL_MODELS), min_length=1
    )
    n_jobs: int | None = Field(None, ge=1, le=256)
    #: a Dask scheduler to run the forecast on (``sopkit.demand.forecast_executor``);
    #: None: worker processes on this machine
    scheduler: Annotated[str | None, BeforeValidator(_check_scheduler)] = None
    #: how the levels (total, family, region, family x region, SKU, SKU x region) are
    #: made to add up: MinT with shrinkage (the default: the most accurate at every
    #: level but the total on the demo's backtest), bottom_up or top_down
    reconciliation: Literal["mint_shrink", "bottom_up", "top_down"] = "mint_shrink"

    @field_validator("models", "level_models")
    @classmethod
    def _known_models(cls, v: list[str], info: ValidationInfo) -> list[str]:
        name = f"demand.{info.field_name}"
        try:
            return list(_engine()._check_models(v, name))
        except SopError as exc:
            raise ValueError(str(exc).removeprefix(f"{name}: ")) from None


class SupplyParams(_Model):
    """Stage 3, supply planning (the options of ``sopkit.supply.SupplyModel``)."""

    top_bottlenecks: int = Field(10, ge=1)
    #: demand not served: carried to later months at the backlog cost, or lost
    unmet: Literal["backlog", "lost"] = "backlog"
    #: safety-stock targets: from stage 2's forecast error and ``service_level``, or as
    #: ``inventory.safety_stock`` gives them
    safety_stock: Literal["forecast_error", "inventory"] = "forecast_error"
    #: replenishment lead time in months, for safety stock from the forecast error
    lead_time_months: float = Field(1.0, ge=0, le=24, allow_inf_nan=False)
    #: plan hiring and layoffs where the workforce table gives a workforce
    workforce: bool = True
    #: a cvxpy solver name (HIGHS: LP and MILP, shipped with cvxpy)
    solver: str = "HIGHS"

    @field_validator("solver")
    @classmethod
    def _known_solver(cls, v: str) -> str:
        import cvxpy as cp

        names = [n for n in cp.installed_solvers() if n in LP_SOLVERS]
        if v.upper() not in names:
            raise ValueError(
                f"{v!r} is not an installed cvxpy solver of linear programs; installed: "
                f"{', '.join(names)}"
            )
        return v.upper()


class FinanceParams(_Model):
    """Stage 4, reconciliation and finance."""

    summary_months: int = Field(12, ge=1)


class Parameters(_Model):
    """Everything one cycle needs; the schema of ``parameters/default.yaml``."""

    cycle: str | None = Field(None, description="planning month YYYY-MM; empty: after history")
    horizon: int = Field(18, ge=1, le=60, description="months to plan")
    service_level: float = Field(
        0.95, ge=0.5, lt=1, description="service level target (0.5 to 1, exclusive)"
    )
    scenario: str = Field("baseline", description="scenario of scenarios.yaml to plan")
    reports_dir: str = Field("reports", description="where cycle reports go")
    decision_log: str | None = Field(
        None,
        description="database URL of the decision log (sqlite:///..., postgresql+psycopg://"
        "...); empty: <reports_dir>/decisions.sqlite",
    )
    workspace_name: str | None = Field(
        None,
        description="the name this workspace's decisions are kept under in a decision log "
        "shared with other workspaces (required on a database server); empty: the log is "
        "the workspace's alone",
        max_length=200,
    )
    data: DataParams = Field(default_factory=DataParams)
    portfolio: PortfolioParams = Field(default_factory=PortfolioParams)
    demand: DemandParams = Field(default_factory=DemandParams)
    supply: SupplyParams = Field(default_factory=SupplyParams)
    finance: FinanceParams = Field(default_factory=FinanceParams)

    _month = field_validator("cycle")(_check_month)


class Scenario(_Model):
    """One what-if scenario: the one definition of a scenario's keys and their bounds.

    Every change is in percent (+10 = 10 % more), between -100 and +1000; the per-family,
    per-resource and per-material changes replace the overall one for the names they
    give. ``supplier_change_pct`` changes what suppliers can deliver of every limited
    material (-30: a shortage of 30 %); ``overtime_allowed: false`` forbids overtime;
    ``supply_cost_change_pct`` changes a cost of the supply model by component
    (``{"overtime": 20}``; the components of ``sopkit.supply.model.COST_COMPONENTS``).
    ``sopkit.scenarios.apply_scenario`` and ``replan`` take it as it is.
    """

    description: str = ""
    demand_change_pct: Pct = 0.0
    family_demand_change_pct: dict[str, Pct] = Field(default_factory=dict)
    price_change_pct: Pct = 0.0
    capacity_change_pct: Pct = 0.0
    resource_capacity_change_pct: dict[str, Pct] = Field(default_factory=dict)
    overtime_allowed: bool = True
    supplier_change_pct: Pct = 0.0
    material_supplier_change_pct: dict[str, Pct] = Field(default_factory=dict)
    supply_cost_change_pct: dict[str, Pct] = Field(default_factory=dict)

    def changes(self) -> dict[str, Any]:
        """The changes alone, without the description."""
        return self.model_dump(exclude={"description"})


class Scenarios(_Model):
    """The schema of ``parameters/scenarios.yaml``."""

    scenarios: dict[str, Scenario] = Field(default_factory=lambda: {"baseline": Scenario()})


def hide_password(source: str) -> str:
    """A data source as it may be printed or stored: a database password replaced by ``***``.

    The user information is everything between ``://`` and the *last* ``@`` before the
    path, so a password holding an unencoded ``@`` is hidden whole, not cut at its first
    ``@`` (as URL parsers do).

    Examples
    --------
    >>> hide_password("postgresql://planner:S3c@ret@db:5432/erp")
    'postgresql://planner:***@db:5432/erp'
    >>> hide_password("data")
    'data'
    >>> hide_password("postgresql://db/erp?user=planner&password=S3cret")
    'postgresql://db/erp?user=planner&password=***'
    """
    source = re.sub(r"(?i)([?&;](?:password|passwd|pwd)=)[^&;#]*", r"\1***", str(source))
    scheme, sep, rest = str(source).partition("://")
    if not sep:
        return str(source)
    slash = rest.find("/", rest.rfind("@") + 1) if "@" in rest else -1
    netloc, path = (rest[:slash], rest[slash:]) if slash >= 0 else (rest, "")
    userinfo, at, host = netloc.rpartition("@")
    if not at:
        return str(source)
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{path}" if ":" in userinfo else str(source)


def scrub_password(text: str, source: str) -> str:
    """``text`` with every piece of ``source``'s password replaced by ``***``.

    For a driver's error message: a driver that cut the password at an ``@`` may quote
    its tail as part of the host name.
    """
    _, sep, rest = str(source).partition("://")
    userinfo = rest.rpartition("@")[0] if sep else ""
    secret = userinfo.split(":", 1)[1] if ":" in userinfo else ""
    query = re.findall(r"(?i)[?&;](?:password|passwd|pwd)=([^&;#]*)", str(source))
    for piece in sorted({secret, *secret.split("@"), *query}, key=len, reverse=True):
        if len(piece) >= 3:
            text = text.replace(piece, "***")
    return text


def _leaf_names(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    """Every setting of ``model``: its flat name (``summary_months``) -> dotted path."""
    out: dict[str, str] = {}
    for name, f in model.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            for leaf, path in _leaf_names(ann, f"{prefix}{name}.").items():
                out[f"{name}_{leaf}" if name == "data" else leaf] = path
        else:
            out[name] = f"{prefix}{name}"
    return out


#: flat parameter name -> dotted path in :class:`Parameters`, for every setting: the names
#: of the notebooks' ``parameters`` cells and of ``sop run -p NAME VALUE`` (which also takes
#: the dotted path, e.g. ``finance.summary_months``).
NOTEBOOK_PARAMETERS: dict[str, str] = _leaf_names(Parameters)
#: notebook parameters that are not settings of a cycle but say where things are: the
#: parameters file, the cycle's folder and the run (set by ``sop run``)
LOCATION_PARAMETERS = ("params_file", "cycle_dir", "run_id")
#: settings that say where things are, not what the plan is: left out of a plan's identity
#: (a forecast made on a Dask cluster is the one made here)
LOCATION_SETTINGS = (
    "reports_dir", "decision_log", "workspace_name", "data.source", "data.queries",
    "demand.scheduler",
)  # fmt: skip


# --------------------------------------------------------------------------- loading


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(
            f"parameters file {path} does not exist; `sop init DIR` writes a workspace with one"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8 (in Notepad: "
            "Save as, Encoding UTF-8)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings (key: value), not a list")
    return data


def _explain(exc: ValidationError, where: str, known: dict[str, list[str]]) -> ConfigError:
    lines = [f"{where}: {exc.error_count()} problem(s) in the parameters:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parent = ".".join(str(p) for p in err["loc"][:-1])
            options = known.get(parent, [])
            near = difflib.get_close_matches(str(err["loc"][-1]), options, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            lines.append(f"  - {loc}: unknown setting{hint}; known: {', '.join(options)}")
        else:
            if err["type"] == "value_error":  # our validators quote the value already
                lines.append(f"  - {loc}: expected {err['msg'].removeprefix('Value error, ')}")
            else:
                lines.append(f"  - {loc}: {err['msg']} (got {err.get('input')!r})")
    return ConfigError("\n".join(lines))


def _known_keys(model: type[BaseModel], prefix: str = "") -> dict[str, list[str]]:
    out = {prefix: list(model.model_fields)}
    for name, f in model.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.update(_known_keys(ann, f"{prefix}.{name}".lstrip(".")))
    return out


def _set_path(data: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {dotted}: {p} is not a section")
    node[leaf] = value


def resolve_parameters(params_file: str | Path | None = None, **overrides: Any) -> Parameters:
    """Load a parameters file and apply notebook-style overrides.

    Parameters
    ----------
    params_file
        A YAML file with the schema of :class:`Parameters`; ``None`` uses the defaults.
    **overrides
        Flat names of :data:`NOTEBOOK_PARAMETERS`; ``None`` keeps the file's value.

    Raises
    ------
    ConfigError
        Missing file, invalid YAML, unknown keys or names, wrong types or ranges.
    """
    data = _read_yaml(Path(params_file)) if params_file is not None else {}
    dotted = set(NOTEBOOK_PARAMETERS.values())
    unknown = sorted(set(overrides) - set(NOTEBOOK_PARAMETERS) - dotted)
    if unknown:
        lines = []
        for name in unknown:
            near = difflib.get_close_matches(name, [*NOTEBOOK_PARAMETERS, *dotted], n=1)
            lines.append(f"{name!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        raise ConfigError(
            "unknown parameter(s): "
            + ", ".join(lines)
            + "; known: "
            + ", ".join(NOTEBOOK_PARAMETERS)
        )
    for name, value in overrides.items():
        if value is not None:
            _set_path(data, NOTEBOOK_PARAMETERS.get(name, name), value)
    section = data.get("data")
    # The demo company is planned only when asked for, never because a setting is missing.
    no_source = params_file is not None and not (isinstance(section, dict) and "source" in section)
    where = str(params_file) if params_file is not None else "parameters"
    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        where += " with " + ", ".join(f"{k}={v!r}" for k, v in given.items())
    try:
        params = Parameters.model_validate(data)
    except ValidationError as exc:
        err = _explain(exc, where, _known_keys(Parameters))
        raise ConfigError(f"{err}\n  - {_NO_SOURCE}" if no_source else str(err)) from exc
    if no_source:
        raise ConfigError(f"{where}: 1 problem(s) in the parameters:\n  - {_NO_SOURCE}")
    return params


_NO_SOURCE = (
    "data.source: the file does not say where the input data is; add\n"
    "      data:\n        source: data   # a folder of CSV files, an .xlsx workbook or a "
    "database URL\n      (or `source: demo` for the built-in demo company)"
)


@dataclass(frozen=True)
class RunParameters:
    """The one resolved parameter set of a cycle: the settings and the scenarios.

    ``sop run`` resolves it once (file, scenario, ``-p`` overrides), records it in the
    cycle's folder (:meth:`write`), and every stage notebook resolves exactly that record;
    a notebook run by hand resolves the same way from the workspace's file.
    """

    params: Parameters
    scenarios: dict[str, Scenario]
    source: str = "parameters"

    @property
    def scenario(self) -> Scenario:
        """The scenario the plan follows."""
        return get_scenario(self.scenarios, self.params.scenario)

    def identity(self) -> dict[str, Any]:
        """Every setting that shapes the plan, flat (``finance.summary_months``).

        The scenarios' definitions are in (their descriptions too: stage 4 shows them);
        where things are (reports_dir, the data source) is left out: the input data is
        identified by its fingerprint instead.
        """
        flat = _flatten(self.params.model_dump(mode="json"))
        for key in LOCATION_SETTINGS:
            flat.pop(key, None)
        for name, scen in self.scenarios.items():
            flat.update(_flatten(scen.model_dump(mode="json"), f"scenarios.{name}."))
        return flat

    def with_cycle(self, cycle: str) -> RunParameters:
        """The same set with the cycle month resolved (``"2026-11"``)."""
        return RunParameters(
            self.params.model_copy(update={"cycle": cycle}), self.scenarios, self.source
        )

    @property
    def hash(self) -> str:
        """A short hash of :meth:`identity`: equal for plans made under equal settings."""
        blob = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def public(self) -> dict[str, Any]:
        """The parameters as they may be written down: a database password hidden."""
        out = self.params.model_dump(mode="json")
        out["data"]["source"] = hide_password(out["data"]["source"])
        if out.get("decision_log"):
            out["decision_log"] = hide_password(out["decision_log"])
        return out

    def write(self, folder: Path) -> Path:
        """Write ``parameters.yaml`` and ``scenarios.yaml`` into ``folder``; return the first."""
        folder.mkdir(parents=True, exist_ok=True)
        head = "# The resolved parameters of this cycle (sop run); every stage reads them.\n"
        for name, data in (
            (
                "scenarios.yaml",
                {"scenarios": {k: v.model_dump() for k, v in self.scenarios.items()}},
            ),
            ("parameters.yaml", self.public()),
        ):
            tmp = folder / f".{name}.tmp"
            tmp.write_text(head + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
            tmp.replace(folder / name)
        return folder / "parameters.yaml"


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            if key in ("family_demand_change_pct", "resource_capacity_change_pct", "queries"):
                out[f"{prefix}{key}"] = dict(sorted(value.items()))
                continue
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def describe_difference(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """The settings that differ between two :meth:`RunParameters.identity`.

    One ``"horizon: 12 here, 18 there"`` line each, at most 10, then a count.
    """
    keys = sorted(set(ours) | set(theirs))
    lines = [
        f"{k}: {ours.get(k, '(not set)')!r} here, {theirs.get(k, '(not set)')!r} there"
        for k in keys
        if ours.get(k) != theirs.get(k)
    ]
    if len(lines) > 10:
        lines = [*lines[:10], f"... and {len(lines) - 10} more"]
    return lines


def resolve_run(
    params_file: str | Path | None, *, scenario: str | None = None, **overrides: Any
) -> RunParameters:
    """Resolve a cycle's parameter set: the file, its ``scenarios.yaml``, the overrides.

    Parameters
    ----------
    params_file
        A YAML file with the schema of :class:`Parameters`; ``scenarios.yaml`` beside it
        holds the scenarios (it must exist). ``None``: the defaults and the baseline
        scenario.
    scenario
        The scenario to plan, instead of the file's.
    **overrides
        Flat names of :data:`NOTEBOOK_PARAMETERS` or dotted paths; ``None`` keeps the file's.

    Returns
    -------
    RunParameters

    Raises
    ------
    ConfigError
        A bad file, override or scenario name (every problem of a file at once).

    Examples
    --------
    >>> run = resolve_run(None, horizon=12)
    >>> run.params.horizon, run.params.scenario
    (12, 'baseline')
    """
    params = resolve_parameters(params_file, scenario=scenario, **overrides)
    if params_file is None:
        scenarios = {"baseline": Scenario(description="The plan as it stands")}
    else:
        scen_file = Path(params_file).parent / "scenarios.yaml"
        if not scen_file.is_file():
            # a missing file would silently leave the what-ifs out of stages 4 and 5
            raise ConfigError(
                f"{scen_file} does not exist: the scenarios compared in stage 4 live beside "
                f"the parameters file. Copy parameters/scenarios.yaml there, or write one "
                "with just the plan as it stands:\nscenarios:\n  baseline: {}"
            )
        scenarios = load_scenarios(scen_file)
    get_scenario(scenarios, params.scenario)
    return RunParameters(params, scenarios, str(params_file or "parameters"))


def load_scenarios(path: str | Path) -> dict[str, Scenario]:
    """Load ``scenarios.yaml``: a ``scenarios:`` mapping of name -> changes."""
    data = _read_yaml(Path(path))
    try:
        return Scenarios.model_validate(data).scenarios
    except ValidationError as exc:
        names = data.get("scenarios") if isinstance(data.get("scenarios"), dict) else {}
        known = {"": ["scenarios"]} | {f"scenarios.{n}": list(Scenario.model_fields) for n in names}
        raise _explain(exc, str(path), known) from exc


def get_scenario(scenarios: dict[str, Scenario], name: str) -> Scenario:
    """The scenario called ``name``, or a ConfigError listing the ones there are."""
    if name not in scenarios:
        raise ConfigError(
            f"scenario {name!r} is not in scenarios.yaml; there are: {', '.join(scenarios)}"
        )
    return scenarios[name]


def notebook_values(params: Parameters) -> dict[str, Any]:
    """The flat notebook parameters' values taken from resolved parameters."""
    dumped = params.model_dump()
    out = {}
    for name, dotted in NOTEBOOK_PARAMETERS.items():
        node: Any = dumped
        for part in dotted.split("."):
            node = node[part]
        out[name] = node
    return out


def parse_month(value: str, what: str = "month") -> pd.Timestamp:
    """``'2026-11'`` -> ``Timestamp('2026-11-01')``, or a ConfigError naming ``what``."""
    if not isinstance(value, str) or not MONTH_RE.match(value):
        raise ConfigError(f"{what} must be a month written YYYY-MM (e.g. 2026-11), got {value!r}")
    return pd.Timestamp(value + "-01")


def find_workspace(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding ``parameters/default.yaml``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "parameters" / "default.yaml").is_file():
            return folder
    raise ConfigError(
        f"no sopkit workspace at or above {here} (a folder with parameters/default.yaml); "
        "create one with `sop init DIR`, or run from the project folder"
    )


__all__ = [
    "NOTEBOOK_PARAMETERS",
    "Parameters",
    "RunParameters",
    "Scenario",
    "describe_difference",
    "find_workspace",
    "get_scenario",
    "hide_password",
    "load_scenarios",
    "notebook_values",
    "parse_month",
    "resolve_parameters",
    "resolve_run",
]
