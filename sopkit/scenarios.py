"""Stage 4, what-if scenarios, and the one re-plan through demand, supply and finance.

A scenario changes demand, prices or capacity, in percent (+10 = +10 %), overall or per
family or resource, for example ``{"demand_change_pct": 10,
"resource_capacity_change_pct": {"Press": -20}}``. Its keys and bounds are those of
:class:`sopkit.config.Scenario` (the schema of ``parameters/scenarios.yaml``), defined
there once: :func:`validate_scenario` checks a mapping through that model and words any
problem for the planner; :func:`apply_scenario` applies it to the stage 2 demand plan,
the prices and the capacity.

:func:`replan` is the one re-plan: a scenario (the baseline is one) through demand,
supply and finance, from :class:`PlanInputs` (the stage 2 demand plan and the input
tables). Every place that plans a scenario calls it: stage 3 for the plan of record,
stage 4 to value it and, through :func:`compare_scenarios`, to set the scenarios side by
side, and the executive dashboard on every widget change. No notebook chains the steps
itself, so a scenario is planned the same way wherever it appears. The chain, and where
the engines of later releases plug in:

1. **demand** (``_plan_demand``): the scenario's changes applied to the stage 2
   consensus, prices and capacity (:func:`apply_scenario`). A forecasting engine that
   re-forecasts under a scenario (price elasticity, drivers) replaces this step and
   returns the same ``demand_plan``.
2. **supply** (``_plan_supply``): the supply optimisation model
   (:class:`sopkit.supply.SupplyModel`), built once per :class:`PlanInputs` (frozen; its
   tables are not to be changed in place, so the model built from them stays valid) at
   the first re-plan, and re-solved with each scenario's numbers as cvxpy Parameters:
   demand, regular and overtime hours, the workers' hours, material supply, and cost
   multipliers. It returns ``supply_plan``, ``capacity``, ``materials``,
   ``supply_costs`` and ``workforce_plan`` with overtime, subcontracting, backlog or
   lost sales, binding constraints and their shadow prices.
3. **finance** (``_plan_finance``): what the supply plan ships, valued
   (:func:`sopkit.finance.project_financials`).

:func:`summarise_plan` is the one definition of a plan's headline figures over the
summary window; the ``scenarios`` artifact holds one such summary per scenario and the
executive KPIs read the one of the plan of record.

Artifact
--------
``scenarios`` (:data:`SCENARIO_COLUMNS`), one row per scenario.

Example
-------
>>> inputs = PlanInputs.from_dataset(ds, demand_plan)  # doctest: +SKIP
>>> plan = replan(inputs, {"demand_change_pct": 10}, name="upside")  # doctest: +SKIP
>>> plan.summary(months=12)["revenue"]  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sopkit._checks import family_of, require_columns, require_consensus
from sopkit.config import Scenario, SupplyParams
from sopkit.errors import ConfigError, SopError
from sopkit.finance import financial_totals, project_financials, summary_window
from sopkit.schemas import columns
from sopkit.supply import summarise_capacity
from sopkit.supply.model import COST_COMPONENTS, SupplyModel, SupplyResult
from sopkit.supply.targets import forecast_error_safety_stock

SCENARIO_COLUMNS = columns("scenarios")
#: the input tables a re-plan reads, as the Dataset names them
INPUT_TABLES = (
    "products",
    "inventory",
    "resources",
    "routings",
    "bom",
    "material_supply",
    "budget",
    "costs",
    "workforce",
)
#: the tables a Dataset may lack (taken as empty)
OPTIONAL_TABLES = ("costs", "workforce")
#: the keys a scenario may set: the fields of :class:`sopkit.config.Scenario`.
SCENARIO_KEYS = tuple(Scenario.model_fields)
#: per-family and per-resource overrides: key -> what the names are
_OVERRIDES = {
    "family_demand_change_pct": "family",
    "resource_capacity_change_pct": "resource",
    "material_supplier_change_pct": "material",
    "supply_cost_change_pct": "cost component",
}


def _where(loc: tuple) -> str:
    key, *rest = (str(p) for p in loc)
    return key + "".join(f"[{p!r}]" for p in rest)


def _expected(err: dict) -> str:
    """What the model expected, in words, with the bounds the model itself states."""
    ctx, kind = err.get("ctx") or {}, err["type"]
    if kind == "greater_than_equal":
        return f"a change in percent of {ctx['ge']:g} or more (-100 takes all of it away)"
    if kind == "less_than_equal":
        return f"a change in percent of at most {ctx['le']:g}"
    if kind in ("greater_than", "less_than"):
        op, bound = ("above", ctx["gt"]) if kind == "greater_than" else ("below", ctx["lt"])
        return f"a change in percent {op} {bound:g}"
    if kind == "finite_number":
        return "a finite change in percent"
    if kind == "dict_type":
        what = _OVERRIDES.get(str(err["loc"][0]), "name")
        return f"a mapping of {what} names to a change in percent, e.g. {{'<{what}>': 10}}"
    if kind.startswith(("float", "int")):
        return "a change in percent, a number (10 for +10 %)"
    return err["msg"][0].lower() + err["msg"][1:]


def validate_scenario(scenario: Scenario | Mapping | None = None, name: str = "") -> Scenario:
    """Check a scenario through :class:`sopkit.config.Scenario` and return it as one.

    Parameters
    ----------
    scenario : sopkit.config.Scenario, mapping or None
        The scenario, or a mapping of its keys (:data:`SCENARIO_KEYS`); ``None`` or
        ``{}`` is the plan as it stands.
    name : str, optional
        The scenario's name, for the message.

    Returns
    -------
    sopkit.config.Scenario

    Raises
    ------
    ConfigError
        Every problem at once, each naming the scenario, the key, the value and what
        was expected: an unknown key (with a suggestion for a typo), a value that is
        not a number, or a change outside the bounds of ``config.Scenario``.

    Examples
    --------
    >>> validate_scenario({"demand_change_pct": 10}).demand_change_pct
    10.0
    >>> validate_scenario({"demand_pct": 10}, "upside")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sopkit.errors.ConfigError: scenario 'upside': demand_pct is not a scenario key ...
    """
    if isinstance(scenario, Scenario):
        return scenario
    label = f"scenario {name!r}" if name else "the scenario"
    if scenario is None:
        return Scenario()
    if not isinstance(scenario, Mapping):
        raise ConfigError(
            f"{label} must be a mapping of changes such as {{'demand_change_pct': 10}}, "
            f"got {scenario!r}."
        )
    try:
        return Scenario.model_validate(dict(scenario))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _where(err["loc"])
            if err["type"] == "extra_forbidden":
                near = difflib.get_close_matches(where, SCENARIO_KEYS, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                problems.append(
                    f"{where} is not a scenario key{hint}; a scenario may set: "
                    f"{', '.join(SCENARIO_KEYS)}"
                )
            else:
                problems.append(f"{where} is {err['input']!r}; expected {_expected(err)}")
        raise ConfigError(f"{label}: " + "; ".join(problems) + ".") from None


def _overrides(
    changes: Mapping[str, float], key: str, valid: pd.Series, label: str
) -> Mapping[str, float]:
    """Per-family or per-resource changes; every name must exist in the data."""
    what = _OVERRIDES[key]
    names = sorted(set(valid.dropna()))
    unknown = sorted(str(k) for k in changes if k not in set(names))
    if unknown:
        raise ConfigError(
            f"{label}: {key} names unknown {what}(s): {', '.join(unknown)}. "
            f"Valid {what} names: {', '.join(map(str, names))}."
        )
    return changes


def check_scenario_names(scenarios: Mapping[str, Scenario | Mapping], dataset: object) -> None:
    """Refuse, before any stage runs, scenarios naming what the data does not have.

    Every per-family, per-resource, per-material and per-cost-component change of every
    scenario is checked against the dataset (``products.family``, ``resources``,
    ``bom`` and ``material_supply`` materials, the supply model's cost components); all
    problems are reported at once.

    Raises
    ------
    ConfigError
        The scenario, the key, the unknown names and the valid ones.
    """
    valid = {
        "family_demand_change_pct": dataset.products["family"],
        "resource_capacity_change_pct": dataset.resources["resource"],
        "material_supplier_change_pct": pd.concat(
            [dataset.bom["material"], dataset.material_supply["material"]]
        ),
        "supply_cost_change_pct": pd.Series(COST_COMPONENTS),
    }
    problems = []
    for name, spec in scenarios.items():
        changes = validate_scenario(spec, name)
        for key, names in valid.items():
            try:
                _overrides(getattr(changes, key), key, names, f"scenario {name!r}")
            except ConfigError as exc:
                problems.append(str(exc))
    if problems:
        raise ConfigError(" ".join(problems))


def apply_scenario(
    demand_plan: pd.DataFrame,
    products: pd.DataFrame,
    resources: pd.DataFrame,
    scenario: Scenario | Mapping | None = None,
    *,
    name: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return copies of the plan, the products and the resources with the scenario applied.

    Parameters
    ----------
    demand_plan : pandas.DataFrame
        Needs ``sku`` and ``consensus``; only ``consensus`` changes (``statistical``
        and ``adjustment`` keep what the forecast and the planners said).
    products : pandas.DataFrame
        Needs ``sku``, ``family`` and ``unit_price``; only ``unit_price`` changes.
    resources : pandas.DataFrame
        Needs ``resource``, ``regular_hours`` and ``max_overtime_hours``; both hours change.
    scenario : sopkit.config.Scenario, mapping or None
        The changes (see :func:`validate_scenario`): ``demand_change_pct`` (every
        consensus quantity), ``family_demand_change_pct`` (per family, replacing the
        overall change for it), ``price_change_pct`` (every unit price),
        ``capacity_change_pct`` (regular and overtime hours of every resource),
        ``resource_capacity_change_pct`` (per resource, replacing the overall change)
        and ``overtime_allowed`` (False: no overtime hours). The supplier changes
        (``supplier_change_pct``, ``material_supplier_change_pct``) are applied by
        :func:`replan` to the supply model. ``None`` changes nothing.
    name : str, optional
        The scenario's name, for messages.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(demand_plan, products, resources)``, new frames; the inputs are untouched.

    Raises
    ------
    ConfigError
        A scenario that :func:`validate_scenario` refuses, or an override naming a
        family or resource that does not exist (the message lists the valid names).
    SopError
        Missing columns, or a family override while a planned SKU has no product row.

    Examples
    --------
    >>> plan, prods, res = apply_scenario(  # doctest: +SKIP
    ...     plan, prods, res, {"demand_change_pct": 10, "family_demand_change_pct": {"Bikes": -5}}
    ... )
    """
    require_columns(demand_plan, "demand_plan", ["sku", "consensus"])
    require_columns(products, "products", ["sku", "family", "unit_price"])
    require_columns(resources, "resources", ["resource", "regular_hours", "max_overtime_hours"])
    changes = validate_scenario(scenario, name)
    label = f"scenario {name!r}" if name else "the scenario"
    by_family = _overrides(
        changes.family_demand_change_pct,
        "family_demand_change_pct",
        products["family"],
        label,
    )
    by_resource = _overrides(
        changes.resource_capacity_change_pct,
        "resource_capacity_change_pct",
        resources["resource"],
        label,
    )

    plan = demand_plan.copy()
    demand_pct: pd.Series | float = changes.demand_change_pct
    if by_family:
        family = family_of(products, plan["sku"], "demand_plan")
        demand_pct = family.map(by_family).fillna(changes.demand_change_pct)
    if by_family or changes.demand_change_pct:
        plan["consensus"] = plan["consensus"] * (1.0 + demand_pct / 100.0)

    prods = products.copy()
    if changes.price_change_pct:
        prods["unit_price"] = prods["unit_price"] * (1.0 + changes.price_change_pct / 100.0)

    res = resources.copy()
    if by_resource or changes.capacity_change_pct:
        pct = res["resource"].map(by_resource).fillna(changes.capacity_change_pct)
        for col in ("regular_hours", "max_overtime_hours"):
            res[col] = res[col] * (1.0 + pct / 100.0)
    if not changes.overtime_allowed:
        res["max_overtime_hours"] = 0.0
    return plan, prods, res


# --------------------------------------------------------------------------- re-plan


@dataclass(frozen=True)
class PlanInputs:
    """What a re-plan starts from: the stage 2 demand plan, its accuracy and the input tables.

    Build it once per cycle (:meth:`from_context` in a stage, :meth:`from_dataset`
    elsewhere) and re-plan as many scenarios as needed from it; nothing in it is changed
    by :func:`replan`. The supply model is built from it once, at the first re-plan, and
    re-solved with each scenario's numbers (its tables are not to be changed in place,
    so the model stays valid).

    Attributes
    ----------
    demand_plan : pandas.DataFrame
        The stage 2 ``demand_plan`` artifact (sku, region, month, consensus, ...).
    products, inventory, resources, routings, bom, material_supply, budget : pandas.DataFrame
        The input tables of the data contract.
    costs, workforce : pandas.DataFrame or None
        The optional tables (None: none given).
    accuracy : pandas.DataFrame or None
        The stage 2 ``accuracy`` artifact: the forecast error that sets the safety-stock
        targets (``supply.safety_stock: forecast_error``). None: the targets are
        ``inventory.safety_stock``.
    supply : sopkit.config.SupplyParams
        The supply model's options (``supply`` of the parameters).
    service_level : float
        The cycle service level for safety stock (``service_level`` of the parameters).
    """

    demand_plan: pd.DataFrame
    products: pd.DataFrame
    inventory: pd.DataFrame
    resources: pd.DataFrame
    routings: pd.DataFrame
    bom: pd.DataFrame
    material_supply: pd.DataFrame
    budget: pd.DataFrame
    costs: pd.DataFrame | None = None
    workforce: pd.DataFrame | None = None
    accuracy: pd.DataFrame | None = None
    supply: SupplyParams = field(default_factory=SupplyParams)
    service_level: float = 0.95
    _engine: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require_consensus(self.demand_plan, "no plan to re-plan")
        self._engine["lock"] = threading.Lock()

    def __getstate__(self) -> dict:
        """Pickled without the built model and its lock (a copy builds its own)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_engine", {"lock": threading.Lock()})

    @property
    def safety_stock_basis(self) -> str:
        """Where the safety-stock targets come from, in a sentence for the reports."""
        if self.supply.safety_stock == "forecast_error" and self.accuracy is not None:
            return (
                f"Safety-stock targets come from stage 2's forecast error at a "
                f"{self.service_level:.0%} service level and a lead time of "
                f"{self.supply.lead_time_months:g} month(s) (supply.safety_stock: forecast_error)."
            )
        return "Safety-stock targets are the inventory table's safety_stock column."

    @classmethod
    def from_dataset(
        cls,
        dataset: object,
        demand_plan: pd.DataFrame,
        *,
        accuracy: pd.DataFrame | None = None,
        params: object = None,
    ) -> PlanInputs:
        """The inputs of a cycle: any object with the Dataset's table attributes.

        Parameters
        ----------
        dataset : sopkit.data.Dataset or alike
            Read for the tables of :data:`INPUT_TABLES` (``costs`` and ``workforce``
            may be missing).
        demand_plan : pandas.DataFrame
            The stage 2 ``demand_plan`` artifact.
        accuracy : pandas.DataFrame, optional
            The stage 2 ``accuracy`` artifact, for safety stock from the forecast error.
        params : sopkit.config.Parameters, optional
            The cycle's parameters: ``supply`` and ``service_level`` are read.

        Returns
        -------
        PlanInputs

        Raises
        ------
        SopError
            An empty demand plan, or a consensus without a value.

        Examples
        --------
        >>> inputs = PlanInputs.from_dataset(ctx.dataset, ctx.read("demand_plan"))  # doctest: +SKIP
        """
        tables = {
            name: getattr(dataset, name, None)
            if name in OPTIONAL_TABLES
            else getattr(dataset, name)
            for name in INPUT_TABLES
        }
        options = {}
        if params is not None:
            options = {"supply": params.supply, "service_level": params.service_level}
        return cls(demand_plan, **tables, accuracy=accuracy, **options)

    @classmethod
    def from_context(cls, ctx: object) -> PlanInputs:
        """The inputs of the cycle a stage is in: what stages 3 and 4 and the dashboard use.

        ``ctx`` is a stage context (:func:`sopkit.cycle.open_stage`): its dataset, its
        parameters and the stage 2 artifacts ``demand_plan`` and ``accuracy``. Every
        place that re-plans the cycle builds its inputs here, so they plan alike.
        """
        return cls.from_dataset(
            ctx.dataset, ctx.read("demand_plan"), accuracy=ctx.read("accuracy"), params=ctx.params
        )

    def supply_model(self) -> SupplyModel:
        """The supply model of these inputs, built at the first call (the baseline numbers)."""
        with self._engine["lock"]:
            if "model" not in self._engine:
                model = SupplyModel.from_inputs(
                    self.demand_plan,
                    self,
                    unmet=self.supply.unmet,
                    safety_stock=self._safety_stock(self.demand_plan),
                    workforce=self.supply.workforce,
                    solver=self.supply.solver,
                )
                names = [n for n in _SCENARIO_PARAMETERS if n in model.parameters]
                base = {name: model.value(name) for name in names}
                self._engine.update(model=model, base=base)
            return self._engine["model"]

    def _safety_stock(self, demand_plan: pd.DataFrame) -> pd.Series | None:
        """Targets on (sku, month) from the forecast error, or None for the inventory's."""
        if self.supply.safety_stock != "forecast_error" or self.accuracy is None:
            return None
        targets = forecast_error_safety_stock(
            demand_plan, self.accuracy, self.service_level, self.supply.lead_time_months
        )
        return targets.set_index(["sku", "month"])["safety_stock"]


#: the supply model's numbers a scenario changes (their baseline is kept to scale from)
_SCENARIO_PARAMETERS = (
    "demand",
    "regular_hours",
    "overtime_hours",
    "material_available",
    "hours_per_worker",
)


@dataclass(frozen=True)
class Plan:
    """A scenario planned through demand, supply and finance (what :func:`replan` returns).

    Attributes
    ----------
    name : str
        The scenario's name ("" when not given).
    scenario : sopkit.config.Scenario
        The scenario, validated.
    demand_plan : pandas.DataFrame
        The ``demand_plan`` with the scenario's demand changes.
    products : pandas.DataFrame
        The products with the scenario's prices.
    resources : pandas.DataFrame
        The resources with the scenario's hours.
    supply_plan, capacity, materials, supply_costs, workforce_plan : pandas.DataFrame
        The stage 3 artifacts of this plan.
    financials : pandas.DataFrame
        The stage 4 ``financials`` artifact: the shipments of ``supply_plan`` valued.
    supply : sopkit.supply.model.SupplyResult
        The supply model's full result: ending stock, costs by component, timings.
    """

    name: str
    scenario: Scenario
    demand_plan: pd.DataFrame
    products: pd.DataFrame
    resources: pd.DataFrame
    supply_plan: pd.DataFrame
    capacity: pd.DataFrame
    materials: pd.DataFrame
    supply_costs: pd.DataFrame
    workforce_plan: pd.DataFrame
    financials: pd.DataFrame
    supply: SupplyResult

    def summary(self, months: int = 12) -> dict[str, object]:
        """The plan's headline figures over the first ``months`` plan months.

        See :func:`summarise_plan`; a row of the ``scenarios`` artifact without its name.
        """
        return summarise_plan(self.financials, self.capacity, months, self.supply_plan)

    def __repr__(self) -> str:  # the frames' reprs would fill a screen
        frames = [f.name for f in fields(self) if isinstance(getattr(self, f.name), pd.DataFrame)]
        rows = ", ".join(f"{name}={len(getattr(self, name))} rows" for name in frames)
        return f"Plan(name={self.name!r}, {rows})"


def _plan_demand(
    inputs: PlanInputs, scenario: Scenario, name: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Step 1: the scenario's demand, prices and hours. A re-forecasting engine plugs in here."""
    return apply_scenario(
        inputs.demand_plan, inputs.products, inputs.resources, scenario, name=name
    )


def _pct(names: pd.Index, overall: float, by_name: Mapping[str, float]) -> np.ndarray:
    """The factor (1 + pct / 100) per name: its own change, else the overall one."""
    pct = pd.Series(overall, index=names, dtype=float)
    pct.update(pd.Series(by_name, dtype=float))
    return (1.0 + pct.to_numpy() / 100.0)[:, None]


def _plan_supply(
    inputs: PlanInputs, demand_plan: pd.DataFrame, scenario: Scenario, name: str
) -> SupplyResult:
    """Step 2: the supply model, re-solved with the scenario's numbers (never rebuilt).

    Demand is the scenario's consensus; the hours of each resource and the supply of
    each limited material scale by the scenario's change (an unlimited material stays
    unlimited); overtime is 0 when not allowed; each cost component scales by its
    change. A price change re-values lost sales (and the ending-stock penalty, half a
    lost sale); holding and backlog costs stay as the cycle's data sets them.
    """
    label = f"scenario {name!r}" if name else "the scenario"
    model = inputs.supply_model()
    materials = pd.concat([inputs.bom["material"], inputs.material_supply["material"]])
    by_material = _overrides(
        scenario.material_supplier_change_pct, "material_supplier_change_pct", materials, label
    )
    base = inputs._engine["base"]
    hours = _pct(model.resources, scenario.capacity_change_pct,
                 scenario.resource_capacity_change_pct)  # fmt: skip
    supply = _pct(model.materials, scenario.supplier_change_pct, by_material)
    available = base["material_available"].to_numpy()
    demand = demand_plan.groupby(["sku", "month"])["consensus"].sum()
    grid = pd.MultiIndex.from_product([model.skus, model.months], names=["sku", "month"])
    price = 1.0 + scenario.price_change_pct / 100.0
    changes = {
        "demand": demand.reindex(grid, fill_value=0.0).to_numpy().reshape(base["demand"].shape),
        "regular_hours": base["regular_hours"].to_numpy() * hours,
        "overtime_hours": base["overtime_hours"].to_numpy() * hours * scenario.overtime_allowed,
        "material_available": np.where(
            np.isinf(available), np.inf, np.where(np.isinf(available), 0.0, available) * supply
        ),
    }
    if "hours_per_worker" in base:  # the workers' hours change as their resources' do
        pools = model.pools
        factor = _pct(pools, scenario.capacity_change_pct,
                      {r: f for r, f in scenario.resource_capacity_change_pct.items()
                       if r in pools})  # fmt: skip
        changes["hours_per_worker"] = base["hours_per_worker"].to_numpy() * factor
    targets = inputs._safety_stock(demand_plan)
    if targets is not None:
        changes["safety_stock"] = targets
        changes["ending_target"] = targets.unstack("month").iloc[:, -1]
    multipliers = _cost_multipliers(scenario, label)
    multipliers["lost"] *= price
    multipliers["ending"] *= price
    with inputs._engine["lock"]:
        return model.resolve(cost_multipliers=multipliers, **changes)


def _cost_multipliers(scenario: Scenario, label: str) -> dict[str, float]:
    """The factor of each cost component of the supply model from the scenario's changes."""
    by_cost = _overrides(
        scenario.supply_cost_change_pct, "supply_cost_change_pct",
        pd.Series(COST_COMPONENTS), label,
    )  # fmt: skip
    return {c: 1.0 + by_cost.get(c, 0.0) / 100.0 for c in COST_COMPONENTS}


def _supply_costs(result: SupplyResult, products: pd.DataFrame) -> pd.DataFrame:
    """The ``supply_costs`` artifact: the model's costs shared out, summed by family."""
    detail = result.sku_costs
    family = family_of(products, detail["sku"], "supply_plan")
    cols = [*COST_COMPONENTS, "total"]
    out = (
        detail.assign(family=family.to_numpy())
        .groupby(["family", "month"], as_index=False)[cols]
        .sum()
    )
    return out[columns("supply_costs")]


def _plan_finance(
    inputs: PlanInputs,
    supply_plan: pd.DataFrame,
    products: pd.DataFrame,
    supply_costs: pd.DataFrame,
    multipliers: Mapping[str, float],
) -> pd.DataFrame:
    """Step 3: what the supply plan ships and spends, valued at the scenario's prices."""
    return project_financials(supply_plan, products, inputs.budget, supply_costs, multipliers)


def replan(
    inputs: PlanInputs, scenario: Scenario | Mapping | None = None, *, name: str = ""
) -> Plan:
    """Plan one scenario through demand, supply and finance.

    Pure: the inputs are not changed, nothing is read or written (the supply model is
    built at the first call and kept in ``inputs``); the same inputs and scenario give
    the same plan. On the demo company (160 SKUs x 3 regions x 18 months) one re-plan
    takes about 0.6 s (benchmarks/supply.py), the supply model's re-solve about half of
    it, fast enough for the dashboard to call it on every widget change.

    Parameters
    ----------
    inputs : PlanInputs
        The stage 2 demand plan and the input tables (:meth:`PlanInputs.from_dataset`).
    scenario : sopkit.config.Scenario, mapping or None
        The changes to plan (keys of :class:`sopkit.config.Scenario`); ``None`` or
        ``{}`` plans the consensus as it stands.
    name : str, optional
        The scenario's name, kept on the plan and used in messages.

    Returns
    -------
    Plan
        ``demand_plan``, ``products``, ``resources`` (with the scenario's changes),
        ``supply_plan``, ``capacity``, ``materials``, ``financials`` and
        :meth:`Plan.summary`.

    Raises
    ------
    ConfigError
        A scenario that :func:`validate_scenario` refuses, or an
        override naming an unknown family or resource.
    SopError
        What the stage functions raise for bad tables.

    Examples
    --------
    >>> plan = replan(PlanInputs.from_dataset(ds, demand_plan), ctx.scenario)  # doctest: +SKIP
    >>> plan.capacity  # doctest: +SKIP
    """
    changes = validate_scenario(scenario, name)
    demand_plan, products, resources = _plan_demand(inputs, changes, name)
    result = _plan_supply(inputs, demand_plan, changes, name)
    artifacts = result.artifacts()
    supply_costs = _supply_costs(result, products)
    multipliers = _cost_multipliers(changes, f"scenario {name!r}" if name else "the scenario")
    financials = _plan_finance(
        inputs, artifacts["supply_plan"], products, supply_costs, multipliers
    )
    return Plan(
        name=name,
        scenario=changes,
        demand_plan=demand_plan,
        products=products,
        resources=resources,
        supply_plan=artifacts["supply_plan"],
        capacity=artifacts["capacity"],
        materials=artifacts["materials"],
        supply_costs=supply_costs,
        workforce_plan=artifacts["workforce_plan"],
        financials=financials,
        supply=result,
    )


def check_plan_of_record(plan: Plan, supply_plan: pd.DataFrame) -> None:
    """Raise unless ``plan`` ships and makes what the recorded ``supply_plan`` does.

    Stage 4 re-plans the cycle's scenario to value it; this check makes sure it values
    the plan stage 3 recorded, so the two reports cannot tell different stories (they
    would if stage 3 planned some other way than :func:`replan`).

    Parameters
    ----------
    plan : Plan
        What :func:`replan` returned for the cycle's scenario.
    supply_plan : pandas.DataFrame
        The ``supply_plan`` artifact of stage 3.

    Raises
    ------
    SopError
        SKU-months present in one and not the other, or different quantities (the
        first five named).

    Examples
    --------
    >>> check_plan_of_record(plan, ctx.read("supply_plan"))  # doctest: +SKIP
    """
    keys = ["sku", "month"]
    values = ["shipments", "production", "inventory", "backlog"]
    require_columns(supply_plan, "supply_plan", keys + values)
    ours = plan.supply_plan.set_index(keys)[values]
    theirs = supply_plan.set_index(keys)[values]
    both = ours.join(theirs, how="outer", rsuffix="_recorded")
    diff = np.zeros(len(both), dtype=bool)
    for v in values:
        diff |= ~np.isclose(both[v], both[f"{v}_recorded"], rtol=1e-9, atol=1e-6)
    if diff.any():
        where = ", ".join(f"{sku} {month:%Y-%m}" for sku, month in both.index[diff][:5])
        raise SopError(
            f"the supply plan recorded by stage 3 differs from the re-plan of "
            f"{f'scenario {plan.name!r}' if plan.name else 'the cycle scenario'} in "
            f"{int(diff.sum())} SKU-month(s) ({where}) in {', '.join(values)}. "
            "Stage 3 must plan through sopkit.scenarios.replan; run it again, then this stage."
        )


def summarise_plan(
    financials: pd.DataFrame,
    capacity: pd.DataFrame,
    months: int = 12,
    supply_plan: pd.DataFrame | None = None,
) -> dict[str, object]:
    """A plan's headline figures over the summary window, the one definition of each.

    The window is the first ``months`` plan months (``finance.summary_months``) for
    every figure, money and capacity alike; the ``scenarios`` artifact and the
    executive KPIs both report these figures, so they cannot disagree.

    Parameters
    ----------
    financials : pandas.DataFrame
        The ``financials`` artifact of the plan.
    capacity : pandas.DataFrame
        The ``capacity`` artifact of the same plan.
    months : int, default 12
        The summary window: how many plan months, from the first.
    supply_plan : pandas.DataFrame, optional
        The ``supply_plan`` of the same plan (sku, month, demand, backlog, lost), for the
        fill rate and service level (NaN without it).

    Returns
    -------
    dict
        The columns of the ``scenarios`` artifact but ``scenario`` and ``inputs``:
        first_month and last_month (the window), units (shipped), revenue, margin,
        margin_pct, cost, budget_revenue, revenue_vs_budget_pct, budget_margin,
        margin_vs_budget_pct (from :func:`sopkit.finance.financial_totals`), fill_rate
        and service_level (units and SKU-months served in the month asked, from the
        supply plan),
        inventory_value (at the end of the window), required_hours, available_hours,
        overload_hours, shortfall_hours, peak_utilisation and
        overloaded_resource_months (from :func:`sopkit.supply.summarise_capacity`
        over the window's resource-months; NaN when there are none).

    Raises
    ------
    SopError
        Missing columns or ``months`` below 1.

    Examples
    --------
    >>> summary = summarise_plan(plan.financials, plan.capacity, months=12)  # doctest: +SKIP
    >>> summary["peak_utilisation"]  # doctest: +SKIP
    1.08
    """
    money = financial_totals(financials, months)
    window = summary_window(financials["month"], months)
    hours = summarise_capacity(capacity[capacity["month"].isin(window)])
    in_window = financials[financials["month"].isin(window)]
    fill = service = np.nan
    if supply_plan is not None:
        served = _served_in_month(supply_plan)
        served = served[served["month"].isin(window) & (served["demand"] > 0)]
        if len(served):
            fill = float(served["served"].sum() / served["demand"].sum())
            service = float((served["served"] >= served["demand"] - 1e-6).mean())
    return {
        "first_month": money["first_month"],
        "last_month": money["last_month"],
        "units": money["units"],
        "revenue": money["revenue"],
        "margin": money["margin"],
        "margin_pct": money["margin_pct"],
        "cost": float(in_window["cost"].sum()),
        "fill_rate": fill,
        "service_level": service,
        "inventory_value": float(
            in_window.loc[in_window["month"] == window.max(), "inventory_value"].sum()
        )
        if len(window)
        else np.nan,
        "budget_revenue": money["budget_revenue"],
        "revenue_vs_budget_pct": money["variance_pct"],
        "budget_margin": money["budget_margin"],
        "margin_vs_budget_pct": money["margin_vs_budget_pct"],
        **hours,
    }


def _served_in_month(supply_plan: pd.DataFrame) -> pd.DataFrame:
    """sku, month, demand and served: the month's demand shipped in that month.

    Backlog is served first in, first out, so the backlog left at a month's end is of that
    month's demand first; a standing backlog counts against every month it holds back.
    """
    require_columns(supply_plan, "supply_plan", ["sku", "month", "demand", "backlog", "lost"])
    plan = supply_plan.sort_values(["sku", "month"])
    held = np.minimum(plan["demand"], plan["backlog"] + plan["lost"])
    return plan[["sku", "month", "demand"]].assign(served=np.maximum(plan["demand"] - held, 0.0))


def describe_inputs(scenario: Scenario | Mapping | None) -> str:
    """A scenario's changes in words, e.g. "demand +10 %; overtime not allowed"; "none"."""
    changes = validate_scenario(scenario).changes()
    default = Scenario().changes()
    words = []
    for key, value in changes.items():
        if value == default[key]:
            continue
        label = key.removesuffix("_pct").replace("_", " ")
        if isinstance(value, bool):
            words.append(f"{label}: {'yes' if value else 'no'}")
        elif isinstance(value, dict):
            words += [f"{label} {name} {pct:+g} %" for name, pct in value.items()]
        else:
            words.append(f"{label} {value:+g} %")
    return "; ".join(words) if words else "none"


def compare_scenarios(
    inputs: PlanInputs, scenarios: Mapping[str, Scenario | Mapping], months: int = 12
) -> pd.DataFrame:
    """Re-plan each scenario (:func:`replan`) and set their summaries side by side.

    Parameters
    ----------
    inputs : PlanInputs
        The stage 2 demand plan and the input tables.
    scenarios : mapping of str to sopkit.config.Scenario or mapping
        Scenario name -> its changes (``ctx.scenarios``, or plain mappings);
        ``{}`` is the plan as it stands.
    months : int, default 12
        The summary window: how many plan months, from the first.

    Returns
    -------
    pandas.DataFrame
        The ``scenarios`` artifact, one row per scenario in the given order: scenario
        and the figures of :func:`summarise_plan`.

    Raises
    ------
    ConfigError
        No scenarios, ``months`` below 1, or a scenario that is refused (the message
        names the scenario, the key and what was expected).
    SopError
        What the stage functions raise for bad tables.

    Examples
    --------
    >>> scenarios = {"baseline": {}, "upside": {"demand_change_pct": 10}}
    >>> compare_scenarios(inputs, scenarios, months=12)  # doctest: +SKIP
    """
    if not scenarios:
        raise ConfigError(
            "no scenarios to compare. Give at least one, e.g. {'baseline': {}} for the "
            "plan as it stands."
        )
    if months < 1:
        raise ConfigError(f"months must be 1 or more (how many plan months to sum), got {months}.")
    rows = []
    for name, spec in scenarios.items():
        plan = replan(inputs, spec, name=name)
        rows.append(
            {"scenario": name, "inputs": describe_inputs(plan.scenario), **plan.summary(months)}
        )
    out = pd.DataFrame(rows, columns=SCENARIO_COLUMNS)
    for col in ("first_month", "last_month"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    return out.astype(dict.fromkeys(SCENARIO_COLUMNS[4:], float))


__all__ = [
    "INPUT_TABLES",
    "SCENARIO_COLUMNS",
    "SCENARIO_KEYS",
    "Plan",
    "PlanInputs",
    "apply_scenario",
    "check_plan_of_record",
    "check_scenario_names",
    "compare_scenarios",
    "describe_inputs",
    "replan",
    "summarise_plan",
    "validate_scenario",
]
