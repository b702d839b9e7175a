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
import re
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError

#: a month as written in files and parameters: YYYY-MM
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
Pct = Annotated[float, Field(ge=-100)]


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
    new_item_months: int = Field(12, ge=1)
    growth_threshold: float = 0.10
    decline_threshold: float = -0.10
    eol_window_months: int = Field(6, ge=0)


class DemandParams(_Model):
    """Stage 2, demand planning."""

    season_length: int = Field(12, ge=1)
    backtest_months: int = Field(12, ge=1, le=36)


class SupplyParams(_Model):
    """Stage 3, supply planning."""

    top_bottlenecks: int = Field(10, ge=1)


class FinanceParams(_Model):
    """Stage 4, reconciliation and finance."""

    summary_months: int = Field(12, ge=1)


class Parameters(_Model):
    """Everything one cycle needs; the schema of ``parameters/default.yaml``."""

    cycle: str | None = Field(None, description="planning month YYYY-MM; empty: after history")
    horizon: int = Field(18, ge=1, le=60, description="months to plan")
    service_level: float = Field(0.95, gt=0, lt=1, description="service level target")
    scenario: str = Field("baseline", description="scenario of scenarios.yaml to plan")
    reports_dir: str = Field("reports", description="where cycle reports go")
    data: DataParams = Field(default_factory=DataParams)
    portfolio: PortfolioParams = Field(default_factory=PortfolioParams)
    demand: DemandParams = Field(default_factory=DemandParams)
    supply: SupplyParams = Field(default_factory=SupplyParams)
    finance: FinanceParams = Field(default_factory=FinanceParams)

    _month = field_validator("cycle")(_check_month)


class Scenario(_Model):
    """One what-if scenario (keyword arguments of ``scenarios.apply_scenario``)."""

    description: str = ""
    demand_change_pct: Pct = 0.0
    family_demand_change_pct: dict[str, Pct] = Field(default_factory=dict)
    price_change_pct: Pct = 0.0
    capacity_change_pct: Pct = 0.0
    resource_capacity_change_pct: dict[str, Pct] = Field(default_factory=dict)

    def changes(self) -> dict[str, Any]:
        """The keyword arguments for ``apply_scenario``."""
        return self.model_dump(exclude={"description"})


class Scenarios(_Model):
    """The schema of ``parameters/scenarios.yaml``."""

    scenarios: dict[str, Scenario] = Field(default_factory=lambda: {"baseline": Scenario()})


#: flat notebook parameter -> dotted path in :class:`Parameters`
NOTEBOOK_PARAMETERS: dict[str, str] = {
    "cycle": "cycle",
    "scenario": "scenario",
    "horizon": "horizon",
    "service_level": "service_level",
    "data_source": "data.source",
    "review_months": "portfolio.review_months",
    "season_length": "demand.season_length",
    "backtest_months": "demand.backtest_months",
    "summary_months": "finance.summary_months",
}
#: notebook parameters that are not settings of a cycle but say where things are
LOCATION_PARAMETERS = ("params_file",)


# --------------------------------------------------------------------------- loading


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(
            f"parameters file {path} does not exist; `sop init DIR` writes a workspace with one"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    unknown = sorted(set(overrides) - set(NOTEBOOK_PARAMETERS))
    if unknown:
        lines = []
        for name in unknown:
            near = difflib.get_close_matches(name, NOTEBOOK_PARAMETERS, n=1)
            lines.append(f"{name!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        raise ConfigError(
            "unknown parameter(s): "
            + ", ".join(lines)
            + "; known: "
            + ", ".join(NOTEBOOK_PARAMETERS)
        )
    for name, value in overrides.items():
        if value is not None:
            _set_path(data, NOTEBOOK_PARAMETERS[name], value)
    where = str(params_file) if params_file is not None else "parameters"
    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        where += " with " + ", ".join(f"{k}={v!r}" for k, v in given.items())
    try:
        return Parameters.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, where, _known_keys(Parameters)) from exc


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
    "Scenario",
    "find_workspace",
    "get_scenario",
    "load_scenarios",
    "notebook_values",
    "parse_month",
    "resolve_parameters",
]
