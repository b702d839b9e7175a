"""The supply optimisation model: a multi-SKU production plan priced by cvxpy and HiGHS.

One linear programme (a MILP with ``integer=True``) over the plan horizon decides, per
SKU and month, what to make, what to buy from subcontractors, what to keep in stock and
what demand to leave unserved, against the hours of each resource and the quantities of
each material. It is built once with cvxpy Parameters, so a scenario changes numbers and
re-solves without rebuilding (:meth:`SupplyModel.resolve`). Its duals price one more hour
of each resource-month and one more unit of each material-month, and name, for demand
left unserved, the resource or material that held it back.

Formulation
-----------
Indices: SKU *i*, month *t* (T months), resource *k*, material *m*. ``R`` (SKU x
resource, hours per unit) and ``B`` (SKU x material, quantity per unit) are sparse
matrices from ``routings`` and ``bom``. Every variable is non-negative.

=====================  ===========================================================
variable               meaning
=====================  ===========================================================
``x[i,t]``             units produced
``s[i,t]``             units subcontracted (bought in, no hours, no materials)
``b[i,t]``             backlog at the end of the month (``unmet="backlog"``)
``l[i,t]``             lost sales (``unmet="lost"``)
``lo[i,t], hi[i,t]``   end-of-month stock up to the safety target and above it;
                       the stock is ``I = lo + hi``
``e[i]``               shortfall below the ending-stock target (last month)
``r[k,t], o[k,t]``     regular and overtime hours used
``y[i,t]``             1 if the SKU is made that month (``integer=True`` only)
=====================  ===========================================================

Constraints (all vectorised, no loop over SKUs; ``R' x`` is the hours of each
resource-month, ``B' x`` the materials):

- stock: ``I[t] - b[t] = I[t-1] - b[t-1] + x[t] + s[t] - d[t] + l[t]``, with
  ``I[-1] = on_hand`` and no opening backlog; ``l <= d``;
- hours: ``R' x <= r + o``, ``r <= regular_hours``, ``o <= max_overtime_hours``;
- materials: ``B' x <= available`` (a material without a limit has none);
- subcontracting: ``s <= max_subcontract_qty`` (per SKU and month);
- targets (soft): ``lo <= safety_stock`` (the shortfall is ``safety_stock - lo``),
  ``I[T-1] + e >= ending_target``;
- minimum runs: ``min_run * y <= x <= M * y`` (M: the most the SKU could usefully make
  or its resources and materials allow).

The objective is the sum of the cost components of :data:`COST_COMPONENTS`, each times
its cost multiplier (a Parameter, 1 by default): holding ``h.I``, backlog ``cb.b``,
lost ``cl.l`` (and, with backlog, ``cl.b[T-1]``: demand still unserved at the end of
the horizon pays its month of backlog and counts as lost, so no backlog is left over),
subcontract ``cs.s``, overtime ``co.o``, regular ``cr.r``, materials ``cm.(B'x)``,
safety stock ``cu.(safety_stock - lo)``, ending ``ce.e`` and setup ``cy.y``.

**Never infeasible.** Producing nothing, buying nothing and leaving all demand unserved
satisfies every constraint whatever the (non-negative) numbers, and each shortfall is
priced: the LP always has an optimum, and its duals are prices, not the rays of an
infeasible model (STACK.md: those are slow and misleading).

Costs, where the data gives none (:class:`SupplyCosts`)
-----------------------------------------------------
- holding and backlog per unit and month: the ``costs`` table (a SKU's own row, else the
  row without a SKU), else 2 % of ``unit_cost`` and 5 % of ``unit_price`` a month;
- a lost sale: ``unit_price`` (the revenue lost; the objective pays materials and hours
  itself, so minimising cost maximises margin);
- subcontracting: ``subcontract_cost_per_unit`` up to ``max_subcontract_qty`` a month
  from ``costs``; none without a row;
- overtime: ``resources.overtime_cost_per_hour``. Regular hours cost nothing extra: the
  workforce is paid whether it works or not, so idle regular hours are never saved at
  the cost of a customer (``SupplyCosts(regular_cost_per_hour="workforce")`` charges
  ``workforce.regular_cost_per_hour`` for each hour used instead);
- materials: ``material_supply.unit_cost``; a material without a row is unlimited and
  free;
- safety stock below target: half the backlog cost a unit-month (above holding, below
  backlog: the plan builds safety stock when it can, and never keeps it from a
  customer); ending stock below target: half a lost sale a unit. The ending target is,
  by default, the last month's safety stock, so stock built for safety is not run down
  at the end of the horizon.

Example
-------
>>> model = SupplyModel.from_inputs(demand_plan, ds)  # doctest: +SKIP
>>> result = model.solve()  # doctest: +SKIP
>>> result.capacity.sort_values("shadow_price_regular").tail()  # doctest: +SKIP
>>> upside = model.resolve(demand=model.value("demand") * 1.1)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import ndtri

from sopkit._checks import reject_duplicates, require_columns, require_consensus
from sopkit._solver import quiet_highs
from sopkit.errors import SopError
from sopkit.schemas import columns
from sopkit.supply._common import TIGHT_ABOVE, _plan_months, _resolve_by_month

#: How unmet demand is treated: carried to later months, or lost.
UNMET = ("backlog", "lost")
#: The cost components of the objective, each with its multiplier (a Parameter).
COST_COMPONENTS = (
    "holding",
    "backlog",
    "lost",
    "subcontract",
    "overtime",
    "regular",
    "materials",
    "safety_stock",
    "ending",
    "setup",
    "wages",
    "hiring",
    "layoffs",
)
#: The numbers :meth:`SupplyModel.update` changes, and what one row of each is.
PARAMETERS = {
    "demand": "sku",
    "safety_stock": "sku",
    "subcontract_limit": "sku",
    "ending_target": "sku",
    "regular_hours": "resource",
    "overtime_hours": "resource",
    "material_available": "material",
    "hours_per_worker": "pool",
}

_TOL = 1e-6  # a dual or quantity below this is taken as zero
_STATUS_OK = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
_TABLES = (
    "products",
    "inventory",
    "resources",
    "routings",
    "bom",
    "material_supply",
    "costs",
    "workforce",
)


def safety_stock(sigma, service_level, lead_time_months: float = 1):
    """Safety stock for a normal demand error: ``z * sigma * sqrt(lead_time_months)``.

    ``z`` is the standard normal quantile of ``service_level`` (the cycle service level,
    the chance of no stock-out in a replenishment cycle).

    Parameters
    ----------
    sigma : float, array or pandas object
        Standard deviation of monthly demand (or of the forecast error), units. A pandas
        Series or DataFrame keeps its labels (e.g. sku x month, for ``safety_stock=``
        of :meth:`SupplyModel.from_inputs`).
    service_level : float or array
        Between 0.5 (no safety stock) and 1 (exclusive).
    lead_time_months : float, default 1
        Replenishment lead time in months.

    Returns
    -------
    float, array or pandas object
        Units, the shape of ``sigma`` (broadcast with ``service_level``).

    Raises
    ------
    SopError
        A negative sigma or lead time, or a service level outside [0.5, 1).

    Examples
    --------
    >>> round(float(safety_stock(100.0, 0.95, 2)), 3)
    232.617
    """
    level = np.asarray(service_level, dtype=float)
    if np.any(~((level >= 0.5) & (level < 1))):
        raise SopError(
            f"service_level must be at least 0.5 and below 1 (0.95 for 95 %), got "
            f"{service_level!r}; below 0.5 the normal quantile asks for negative stock."
        )
    if not lead_time_months >= 0:
        raise SopError(f"lead_time_months must be 0 or more, got {lead_time_months!r}.")
    if np.any(np.asarray(sigma, dtype=float) < 0):
        raise SopError("sigma must be 0 or more: it is a standard deviation of demand.")
    return sigma * (ndtri(level) * np.sqrt(lead_time_months))


@dataclass(frozen=True)
class SupplyCosts:
    """Cost rates the model uses where the data gives no figure, and its penalties.

    Attributes
    ----------
    holding_rate : float, default 0.02
        Holding cost a unit-month as a fraction of ``unit_cost`` (24 % a year), for SKUs
        the ``costs`` table does not cover.
    backlog_rate : float, default 0.05
        Backlog cost a unit-month as a fraction of ``unit_price``, likewise.
    lost_rate : float, default 1.0
        A lost sale (and a unit still in backlog at the end) as a fraction of
        ``unit_price``.
    safety_rate : float, default 0.5
        A unit-month below the safety-stock target, as a fraction of the SKU's backlog
        cost.
    ending_rate : float, default 0.5
        A unit below the ending target, as a fraction of the SKU's lost-sale cost.
    regular_cost_per_hour : float or "workforce", default 0.0
        Cost of a regular hour used, every resource. 0: regular hours are paid whether
        used or not. ``"workforce"``: ``workforce.regular_cost_per_hour`` of the
        resource (or of the plant row; 0 without one).
    """

    holding_rate: float = 0.02
    backlog_rate: float = 0.05
    lost_rate: float = 1.0
    safety_rate: float = 0.5
    ending_rate: float = 0.5
    regular_cost_per_hour: float | str = 0.0

    def __post_init__(self) -> None:
        for name in ("holding_rate", "backlog_rate", "lost_rate", "safety_rate", "ending_rate"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise SopError(f"SupplyCosts.{name} must be a number 0 or more, got {value!r}.")
        rate = self.regular_cost_per_hour
        if rate != "workforce" and not (
            isinstance(rate, (int, float)) and np.isfinite(rate) and rate >= 0
        ):
            raise SopError(
                "SupplyCosts.regular_cost_per_hour must be a number 0 or more, or "
                f"'workforce' to read workforce.regular_cost_per_hour; got {rate!r}."
            )


@dataclass(frozen=True)
class SupplyResult:
    """A solved supply plan (what :meth:`SupplyModel.solve` returns).

    Attributes
    ----------
    plan : pandas.DataFrame
        One row per SKU x month: sku, month, demand, shipments (demand + backlog carried
        in - backlog carried out - lost), production, overtime_hours (the resource
        overtime shared over SKUs by their hours), subcontract, inventory (end of
        month), backlog (end of month), lost, safety_stock (the target),
        safety_shortfall (below target), unmet_reason (why backlog or lost is not 0:
        the resource or material that binds for the SKU that month, with the largest
        shadow price x usage, or "cost" when none does and serving it costs more than
        leaving it unmet; empty when all demand is served).
    capacity : pandas.DataFrame
        One row per resource x month: resource, month, available_hours (regular),
        max_overtime_hours, required_hours (``R' x``), regular_used, overtime_used,
        utilisation (required / available; NaN without regular hours),
        shortfall_hours (hours the demand this resource held back would need),
        shadow_price_regular and shadow_price_overtime (money one more hour saves, net
        of what it costs), binding (regular hours used up and one more worth money),
        status (ok, tight above 85 %, overtime, short when it held demand back).
    materials : pandas.DataFrame
        One row per material x month: material, month, available (NaN = no limit),
        used, shortfall (what the demand this material held back would need),
        unit_cost, shadow_price (money one more unit saves, net of its cost), binding.
    ending : pandas.DataFrame
        One row per SKU: sku, target, inventory (end of horizon), shortfall.
    costs : pandas.Series
        Money by component (:data:`COST_COMPONENTS`, multipliers applied) and ``total``
        (the objective).
    status : str
        The solver's status, ``"optimal"`` (or ``"optimal_inaccurate"``).
    timings : dict of str to float
        Seconds: ``build`` (the model, once), ``solve`` (this solve: compile, solver and
        report), ``solver`` (inside the solver), ``compile`` (cvxpy), ``prices`` (the
        LP with the setups fixed; MILP only).
    sku_costs : pandas.DataFrame
        The costs shared out per SKU x month: sku, month, one column per component
        (hours shared by the hours each SKU takes of a resource-month, materials by
        its bill of materials, the ending penalty in the last month) and ``total``;
        they add up to ``costs``. Wages, hiring and layoffs of a workforce pool are
        shared by the hours each SKU takes of the pool's resources that month (over the
        horizon for a month without any; evenly when the pool works for no SKU).
    workforce : pandas.DataFrame
        One row per workforce pool x month: pool (the resource, or "plant" for the row
        that staffs every resource without its own), month, workers, hired, laid_off,
        hours_available (workers x hours per worker) and hours_used (regular hours of
        its resources). Empty without workforce data.
    notes : tuple of str
        What the planner should know about the inputs, e.g. materials whose supply was
        carried from their nearest listed month into months the data does not list.
    """

    plan: pd.DataFrame
    capacity: pd.DataFrame
    materials: pd.DataFrame
    ending: pd.DataFrame
    costs: pd.Series
    status: str
    timings: dict[str, float] = field(default_factory=dict)
    sku_costs: pd.DataFrame | None = None
    workforce: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()

    @property
    def objective(self) -> float:
        """The total cost, money."""
        return float(self.costs["total"])

    def artifacts(self) -> dict[str, pd.DataFrame]:
        """The plan as the stage 3 artifacts ``supply_plan``, ``capacity`` and ``materials``.

        Returns
        -------
        dict of str to pandas.DataFrame
            Columns as :mod:`sopkit.schemas` lists them. ``capacity.overload_hours`` is
            the hours required above the regular hours, ``capacity.shadow_price`` the
            regular-hour price, ``materials.required`` the quantity used. The ending
            stock and the costs stay in this result (``supply_costs`` is
            :attr:`sku_costs` summed by family, which needs the products).
        """
        cap = self.capacity.rename(columns={"shadow_price_regular": "shadow_price"})
        over = cap["required_hours"] - cap["available_hours"]
        cap["overload_hours"] = over.where(over > _TOL, 0.0)
        mats = self.materials.rename(columns={"used": "required"})
        return {
            "supply_plan": self.plan[columns("supply_plan")],
            "capacity": cap[columns("capacity")],
            "materials": mats[columns("materials")],
            "workforce_plan": self.workforce[columns("workforce_plan")],
        }


@dataclass
class _Inputs:
    """The model's numbers as arrays, in the row orders of its labels."""

    skus: pd.Index
    months: pd.DatetimeIndex
    resources: pd.Index
    materials: pd.Index
    R: sp.csr_matrix  # SKU x resource, hours a unit
    B: sp.csr_matrix  # SKU x material, quantity a unit
    demand: np.ndarray
    on_hand: np.ndarray
    safety_stock: np.ndarray
    ending_target: np.ndarray
    subcontract_limit: np.ndarray
    regular_hours: np.ndarray
    overtime_hours: np.ndarray
    material_available: np.ndarray
    unit_costs: dict[str, np.ndarray]  # component -> coefficient array of its variable
    min_run: np.ndarray
    material_cost: np.ndarray  # material x month
    pools: pd.Index = field(default_factory=lambda: pd.Index([], name="pool"))
    P: sp.csr_matrix | None = None  # pool x resource, 1 where the pool staffs it
    workers: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hours_per_worker: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    wage: np.ndarray = field(default_factory=lambda: np.zeros(0))  # a worker-month
    hire_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    layoff_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    carried: pd.DataFrame | None = None  # material-months given their nearest month's row


class SupplyModel:
    """The supply optimisation model, built once and solved for as many scenarios as needed.

    Build it with :meth:`from_inputs`; :meth:`solve` it; change its numbers with
    :meth:`update` (or :meth:`resolve`, which updates and solves) without rebuilding.
    The formulation and the default costs are in the module's docstring.

    Attributes
    ----------
    skus, months, resources, materials : pandas.Index
        The labels of the model's rows and columns.
    unmet : str
        ``"backlog"`` or ``"lost"``.
    integer : bool
        Whether minimum runs are modelled (a MILP).
    problem : cvxpy.Problem
        The model (the MILP when ``integer``); ``problem.is_dpp()`` is True.
    parameters : dict of str to cvxpy.Parameter
        The numbers :meth:`update` changes (:data:`PARAMETERS`) and one cost multiplier
        per component, ``cost_<component>``.
    timings : dict of str to float
        ``build``: seconds to build the model.
    """

    def __init__(
        self,
        inputs: _Inputs,
        *,
        unmet: str = "backlog",
        integer: bool = False,
        solver: str | None = None,
        solver_options: Mapping | None = None,
    ) -> None:
        """Build the model from arrays; use :meth:`from_inputs` to build it from tables."""
        if unmet not in UNMET:
            raise SopError(f"unmet must be 'backlog' or 'lost', got {unmet!r}.")
        t0 = time.perf_counter()
        self._in = inputs
        self.skus, self.months = inputs.skus, inputs.months
        self.resources, self.materials = inputs.resources, inputs.materials
        self.pools = inputs.pools
        self.unmet, self.integer = unmet, bool(integer)
        self.solver = solver or cp.HIGHS
        # cvxpy's warm start hands HiGHS the last solution, which slows its re-solves
        # (measured: demo re-solve 0.6 s with it, 0.35 s without).
        self.solver_options = {"warm_start": False, **(solver_options or {})}
        self._build()
        self.timings = {"build": time.perf_counter() - t0}

    # ------------------------------------------------------------------ building

    @classmethod
    def from_inputs(
        cls,
        demand_plan: pd.DataFrame,
        data: object,
        *,
        unmet: str = "backlog",
        costs: SupplyCosts | None = None,
        safety_stock: object = None,
        ending_target: object = None,
        min_run: object = None,
        setup_cost: object = None,
        integer: bool = False,
        workforce: bool = True,
        solver: str | None = None,
        solver_options: Mapping | None = None,
    ) -> SupplyModel:
        """Build the model from the stage 2 demand plan and the input tables.

        Parameters
        ----------
        demand_plan : pandas.DataFrame
            ``sku``, ``month``, ``consensus`` (summed over regions). The model plans
            every SKU of it over every month of it (a missing row is 0 demand).
        data : sopkit.data.Dataset, mapping of str to DataFrame, or alike
            ``products`` (sku, unit_price, unit_cost), ``inventory``, ``resources``,
            ``routings``, ``bom``, ``material_supply``, ``costs``, ``workforce`` as the
            data contract has them; attributes or keys. Missing optional tables are
            taken as empty.
        unmet : {"backlog", "lost"}, default "backlog"
            Whether demand not served is carried to later months at the backlog cost,
            or lost at the lost-sale cost. Backlog still open at the end of the horizon
            is priced as lost.
        costs : SupplyCosts, optional
            Default rates and penalties (see :class:`SupplyCosts`).
        safety_stock : scalar, array, Series or DataFrame, optional
            Safety-stock target per SKU (x month): a Series by SKU, a DataFrame indexed
            by SKU with a column per month, a Series on (sku, month), or an array
            (SKUs x months, SKUs in sorted order). Default: ``inventory.safety_stock``.
            :func:`safety_stock` turns a demand error into one.
        ending_target : scalar, array or Series by SKU, optional
            Stock wanted at the end of the horizon; default the last month's safety
            stock.
        min_run : scalar or Series by SKU, optional
            Smallest run when a SKU is made (``integer=True``); a SKU not listed has none.
        setup_cost : scalar or Series by SKU, optional
            Cost of making a SKU in a month (``integer=True``); default 0.
        integer : bool, default False
            Model minimum runs with a binary setup per SKU-month, and whole workers (a
            MILP). Prices then come from the LP with the setups and workers fixed at
            their optimum.
        workforce : bool, default True
            Plan the workforce where the ``workforce`` table gives one: workers per
            pool (a resource's own row, or the plant row for every resource without
            one), hired at ``hire_cost`` and laid off at ``layoff_cost``, paid
            ``regular_cost_per_hour`` x ``hours_per_worker_month`` a month whatever
            they make, their hours a limit on the regular hours of their resources
            (beside the resources' own ``regular_hours``); at the end of the horizon
            at least as many as today. False: regular hours as the resources give them.
        solver : str, optional
            A cvxpy solver name; default ``cvxpy.HIGHS``.
        solver_options : mapping, optional
            Passed to ``Problem.solve`` (``warm_start`` is False unless given: handing
            HiGHS the last solution slows its re-solves). HiGHS's own choice, its dual
            simplex, is the default: on 5,000 synthetic SKUs (benchmarks/supply.py) it
            plans in 18 s against 39 s for its interior point method, but an overloaded
            scenario (demand +10 % on a full plant) takes it 132 s against 47 s; pass
            ``{"highs_options": {"solver": "ipm"}}`` for plans where most resource-months
            are overloaded.

        Returns
        -------
        SupplyModel

        Raises
        ------
        SopError
            Missing columns, duplicated keys, routings to an unknown resource, SKUs
            without a price, negative numbers, or ``integer=True`` without ``min_run``.

        Examples
        --------
        >>> model = SupplyModel.from_inputs(demand_plan, ds, unmet="lost")  # doctest: +SKIP
        """
        t0 = time.perf_counter()
        if costs is not None and not isinstance(costs, SupplyCosts):
            raise SopError(f"costs must be a SupplyCosts (its rates and penalties), got {costs!r}.")
        inputs = _read_inputs(
            demand_plan,
            _tables(data),
            costs or SupplyCosts(),
            safety_stock=safety_stock,
            ending_target=ending_target,
            min_run=min_run,
            setup_cost=setup_cost,
            integer=integer,
            workforce=workforce,
        )
        model = cls(
            inputs,
            unmet=unmet,
            integer=integer,
            solver=solver,
            solver_options=solver_options,
        )
        model.timings["build"] = time.perf_counter() - t0
        return model

    def _build(self) -> None:
        n, t = self._in.demand.shape
        k, m = len(self.resources), len(self.materials)
        inp = self._in

        def param(name, shape, value):
            p = cp.Parameter(shape, name=name, nonneg=True)
            p.value = value
            return p

        self.parameters = {
            "demand": param("demand", (n, t), inp.demand),
            "safety_stock": param("safety_stock", (n, t), inp.safety_stock),
            "subcontract_limit": param("subcontract_limit", (n, t), inp.subcontract_limit),
            "ending_target": param("ending_target", (n,), inp.ending_target),
            "regular_hours": param("regular_hours", (k, t), inp.regular_hours),
            "overtime_hours": param("overtime_hours", (k, t), inp.overtime_hours),
            "material_available": param("material_available", (m, t), inp.material_available),
        }
        for c in COST_COMPONENTS:
            self.parameters[f"cost_{c}"] = param(f"cost_{c}", (), 1.0)
        p = self.parameters

        x = cp.Variable((n, t), nonneg=True, name="production")
        s = cp.Variable((n, t), nonneg=True, name="subcontract")
        # Stock in two layers, up to the safety target and above it: the shortfall is
        # target - low, and no row per SKU-month is needed to define it (half the rows of
        # an explicit shortfall variable, and HiGHS solves it about twice as fast).
        low = cp.Variable((n, t), nonneg=True, name="stock_to_target")
        high = cp.Variable((n, t), nonneg=True, name="stock_above_target")
        inv = low + high
        e = cp.Variable(n, nonneg=True, name="ending_shortfall")
        reg = cp.Variable((k, t), nonneg=True, name="regular_hours")
        ot = cp.Variable((k, t), nonneg=True, name="overtime_hours")
        self._vars = {
            "x": x, "s": s, "low": low, "high": high, "e": e, "reg": reg, "ot": ot,
        }  # fmt: skip

        # Opening stock enters the first month's balance; month t-1 is net @ shift.
        opening = np.zeros((n, t))
        opening[:, 0] = inp.on_hand
        shift = sp.diags([np.ones(t - 1)], [1], shape=(t, t), format="csc")
        supply = x + s
        net = inv
        cons: dict[str, cp.Constraint] = {}
        if self.unmet == "backlog":
            b = cp.Variable((n, t), nonneg=True, name="backlog")
            self._vars["b"] = b
            net = inv - b
        else:
            lost = cp.Variable((n, t), nonneg=True, name="lost")
            self._vars["l"] = lost
            supply = supply + lost
            cons["lost"] = lost <= p["demand"]
        if t > 1:
            cons["balance"] = net - net @ shift - supply == opening - p["demand"]
        else:
            cons["balance"] = net - supply == opening - p["demand"]

        hours = inp.R.T @ x if k else None
        if k:
            cons["hours"] = hours <= reg + ot
        cons["regular"] = reg <= p["regular_hours"]
        cons["overtime"] = ot <= p["overtime_hours"]
        q = len(self.pools)
        if q:
            # Workers: hired and laid off month by month from today's, paid for all their
            # hours, staffing the regular hours of their resources; no fewer at the end
            # of the horizon than today (no layoffs for the months after it).
            p["hours_per_worker"] = param("hours_per_worker", (q, t), inp.hours_per_worker)
            w = cp.Variable((q, t), nonneg=True, name="workers")
            hire = cp.Variable((q, t), nonneg=True, name="hired")
            fire = cp.Variable((q, t), nonneg=True, name="laid_off")
            self._vars.update(w=w, hire=hire, fire=fire)
            start = np.zeros((q, t))
            start[:, 0] = inp.workers
            prev = w @ shift if t > 1 else 0
            cons["workforce"] = w - prev - hire + fire == start
            cons["staffing"] = inp.P @ reg <= cp.multiply(p["hours_per_worker"], w)
            cons["keep_workers"] = w[:, t - 1] >= inp.workers
        used = inp.B.T @ x if m else None
        if m:
            cons["materials"] = used <= p["material_available"]
        cons["subcontract"] = s <= p["subcontract_limit"]
        cons["safety"] = low <= p["safety_stock"]
        cons["ending"] = inv[:, t - 1] + e >= p["ending_target"]

        c = inp.unit_costs
        terms = {
            "holding": cp.sum(cp.multiply(c["holding"], inv)),
            "subcontract": cp.sum(cp.multiply(c["subcontract"], s)),
            "overtime": cp.sum(cp.multiply(c["overtime"], ot)),
            "regular": cp.sum(cp.multiply(c["regular"], reg)),
            # cu.(target - lo) without its constant cu.target (a multiplier times a
            # target would not be DPP); the reported costs add it back.
            "safety_stock": -cp.sum(cp.multiply(c["safety_stock"], low)),
            "ending": cp.sum(cp.multiply(c["ending"], e)),
        }
        if m:
            terms["materials"] = cp.sum(cp.multiply(inp.material_cost, used))
        if q:
            terms["wages"] = inp.wage @ cp.sum(w, axis=1)
            terms["hiring"] = inp.hire_cost @ cp.sum(hire, axis=1)
            terms["layoffs"] = inp.layoff_cost @ cp.sum(fire, axis=1)
        if self.unmet == "backlog":
            terms["backlog"] = cp.sum(cp.multiply(c["backlog"], b))
            terms["lost"] = c["lost"][:, t - 1] @ b[:, t - 1]
        else:
            terms["lost"] = cp.sum(cp.multiply(c["lost"], lost))

        self._fixed = None
        if self.integer:
            y = cp.Variable((n, t), boolean=True, name="setup")
            self._vars["y"] = y
            self._big_m = param("big_m", (n, t), self._upper_bound())
            mip_cons = {
                **cons,
                "run_max": x <= cp.multiply(self._big_m, y),
                "run_min": x >= cp.multiply(inp.min_run, y),
            }
            if q:  # whole workers in the MILP: each count equals an integer
                for key, var in (("w", w), ("hire", hire), ("fire", fire)):
                    mip_cons[f"whole_{key}"] = var == cp.Variable((q, t), integer=True)
            mip_terms = {**terms, "setup": cp.sum(cp.multiply(c["setup"], y))}
            self.problem = self._problem(mip_terms, mip_cons)
            # The LP that prices the MILP's plan: the setups fixed as bounds on x.
            self._run_max = param("run_max", (n, t), np.zeros((n, t)))
            self._run_min = param("run_min", (n, t), np.zeros((n, t)))
            lp_cons = {**cons, "run_max": x <= self._run_max, "run_min": x >= self._run_min}
            if q:  # the whole workers of the MILP's plan, fixed
                self._workers_fixed = param("workers_fixed", (q, t), np.zeros((q, t)))
                self._hired_fixed = param("hired_fixed", (q, t), np.zeros((q, t)))
                self._fired_fixed = param("fired_fixed", (q, t), np.zeros((q, t)))
                lp_cons |= {
                    "fix_workers": w == self._workers_fixed,
                    "fix_hired": hire == self._hired_fixed,
                    "fix_fired": fire == self._fired_fixed,
                }
            self._fixed = self._problem(terms, lp_cons)
            self._constraints = lp_cons
        else:
            self.problem = self._problem(terms, cons)
            self._constraints = cons

    def _problem(self, terms: dict, cons: dict) -> cp.Problem:
        p = self.parameters
        objective = cp.sum([p[f"cost_{name}"] * expr for name, expr in terms.items()])
        return cp.Problem(cp.Minimize(objective), list(cons.values()))

    def _upper_bound(self) -> np.ndarray:
        """The most a SKU can usefully make in a month: big M of the minimum-run constraint.

        The least of: all its demand over the horizon plus its largest safety target and
        its ending target; the hours of each of its resources (regular + overtime) over
        its hours a unit; the supply of each of its materials over its quantity a unit.
        """
        p = self.parameters
        need = (
            p["demand"].value.sum(axis=1)
            + p["safety_stock"].value.max(axis=1)
            + p["ending_target"].value
        )
        bound = np.repeat(need[:, None], len(self.months), axis=1)
        hours = p["regular_hours"].value + p["overtime_hours"].value
        for mat, limit in ((self._in.R, hours), (self._in.B, p["material_available"].value)):
            coo = mat.tocoo()
            keep = coo.data > 0
            rows, cols, per_unit = coo.row[keep], coo.col[keep], coo.data[keep]
            if rows.size:
                np.minimum.at(bound, rows, limit[cols] / per_unit[:, None])
        return bound

    # ------------------------------------------------------------------ scenarios

    def value(self, name: str) -> pd.DataFrame | pd.Series:
        """The current value of a parameter, labelled.

        Parameters
        ----------
        name : str
            A key of :data:`PARAMETERS`, or ``cost_<component>``.

        Returns
        -------
        pandas.DataFrame or pandas.Series or float
            Rows by SKU, resource or material and a column per month; a Series by SKU
            for ``ending_target``; a float for a cost multiplier.
        """
        if name.startswith("cost_") and name in self.parameters:
            return float(self.parameters[name].value)
        self._require_parameter(name)
        rows = self._labels(name)
        val = self.parameters[name].value
        if val.ndim == 1:
            return pd.Series(val.copy(), index=rows, name=name)
        return pd.DataFrame(val.copy(), index=rows, columns=self.months)

    def update(self, *, cost_multipliers: Mapping[str, float] | None = None, **changes):
        """Change the model's numbers in place, without rebuilding it.

        Parameters
        ----------
        cost_multipliers : mapping of str to float, optional
            Multiply a cost component (:data:`COST_COMPONENTS`), e.g.
            ``{"overtime": 1.2}``; 1 restores it.
        **changes
            New values by parameter name (:data:`PARAMETERS`): ``demand``,
            ``safety_stock``, ``subcontract_limit`` (SKU x month), ``ending_target``
            (SKU), ``regular_hours``, ``overtime_hours`` (resource x month; 0 forbids
            overtime), ``material_available`` (material x month; ``inf`` = no limit).
            Each a scalar (every cell), an array of the parameter's shape, a Series by
            row label (every month), a DataFrame by row label with a column per month,
            or a Series on (label, month). Labels not given keep their value.

        Returns
        -------
        SupplyModel
            ``self``, so ``model.update(...).solve()`` reads.

        Raises
        ------
        SopError
            An unknown name or label, a wrong shape, or a negative or missing number.

        Examples
        --------
        >>> model.update(overtime_hours=0, cost_multipliers={"subcontract": 1.5})  # doctest: +SKIP
        """
        for name, value in changes.items():
            self._require_parameter(name)
            param = self.parameters[name]
            new = _as_grid(value, self._labels(name), self.months, name, param.value)
            _check_values(new, name, allow_inf=name == "material_available")
            param.value = new
        for comp, factor in (cost_multipliers or {}).items():
            if comp not in COST_COMPONENTS:
                raise SopError(
                    f"cost_multipliers names {comp!r}, which is not a cost component; "
                    f"use one of {', '.join(COST_COMPONENTS)}."
                )
            if not (np.isfinite(factor) and factor >= 0):
                raise SopError(f"the multiplier of {comp} must be 0 or more, got {factor!r}.")
            self.parameters[f"cost_{comp}"].value = float(factor)
        if self.integer:
            self._big_m.value = self._upper_bound()
        return self

    def resolve(self, *, cost_multipliers: Mapping[str, float] | None = None, **changes):
        """Update the numbers (:meth:`update`) and solve (:meth:`solve`).

        Returns
        -------
        SupplyResult
        """
        return self.update(cost_multipliers=cost_multipliers, **changes).solve()

    def _require_parameter(self, name: str) -> None:
        if name not in PARAMETERS:
            raise SopError(_unknown_parameter(name))
        if name not in self.parameters:
            raise SopError(
                f"this model has no {name}: it models no workforce (the workforce table "
                "has no rows, or workforce=False)."
            )

    def _labels(self, name: str) -> pd.Index:
        labels = {"sku": self.skus, "resource": self.resources, "material": self.materials}
        return (labels | {"pool": self.pools})[PARAMETERS[name]]

    # ------------------------------------------------------------------ solving

    def solve(self) -> SupplyResult:
        """Solve the model with the current numbers.

        Returns
        -------
        SupplyResult
            The plan, capacity, materials, ending stock, costs, status and timings.

        Raises
        ------
        SopError
            The solver stopped without an optimum (a time limit, a numerical failure):
            the message names the solver and its status.
        """
        t0 = time.perf_counter()
        timings = {"build": self.timings["build"]}
        self._run(self.problem)
        timings["compile"] = self.problem.compilation_time or 0.0
        timings["solver"] = self.problem.solver_stats.solve_time or 0.0
        values = {key: _clean(v.value) for key, v in self._vars.items()}
        if self.integer:
            t1 = time.perf_counter()
            setup = np.round(values["y"])
            self._run_max.value = self._big_m.value * setup
            self._run_min.value = self._in.min_run * setup
            if len(self.pools):
                self._workers_fixed.value = np.maximum(np.round(values["w"]), 0.0)
                self._hired_fixed.value = np.maximum(np.round(values["hire"]), 0.0)
                self._fired_fixed.value = np.maximum(np.round(values["fire"]), 0.0)
            self._run(self._fixed)
            timings["prices"] = time.perf_counter() - t1
            # the plan of the priced LP (as good as the MILP's, and consistent with its duals)
            values = {key: _clean(v.value) for key, v in self._vars.items() if key != "y"}
            values["y"] = setup
            for key in ("w", "hire", "fire"):
                if key in values:
                    values[key] = np.round(values[key])
        duals = {
            name: _clean(np.maximum(self._constraints[name].dual_value, 0.0))
            if name in self._constraints
            else np.zeros((0, len(self.months)))
            for name in ("hours", "materials")
        }
        # One more hour of a resource-month is worth the dual of its hours row, less what
        # the hour costs: a regular hour its regular cost, or the wage of an hour where a
        # workforce staffs it; an overtime hour its overtime cost. Where the hour is not
        # used up, the dual is at most that cost, so the worth is 0. This prices machine
        # and staff limits alike: a staffed hour worth more than its wage is a bottleneck.
        hour = duals.pop("hours")
        for kind in ("regular", "overtime"):
            rate = self._in.unit_costs[kind] * float(self.parameters[f"cost_{kind}"].value)
            if kind == "regular" and len(self.pools):
                wage = self._in.P.T @ (self._in.wage / self._in.hours_per_worker[:, 0])
                rate = rate + float(self.parameters["cost_wages"].value) * wage[:, None]
            duals[kind] = _clean(np.maximum(hour - rate, 0.0)) if len(hour) else hour
        result = self._report(values, duals, self.problem.status)
        timings["solve"] = time.perf_counter() - t0
        result.timings.update(timings)
        return result

    def _run(self, problem: cp.Problem) -> None:
        quiet_highs()
        problem.solve(solver=self.solver, **self.solver_options)
        if problem.status not in _STATUS_OK:
            raise SopError(
                f"the supply model did not solve: {self.solver} stopped with status "
                f"'{problem.status}'. The model is always feasible, so this is a solver "
                "limit or a numerical failure: check the solver options (a time limit?), "
                "or try another solver (solver=...)."
            )

    # ------------------------------------------------------------------ reporting

    def _report(self, v: dict, duals: dict, status: str) -> SupplyResult:
        inp, p = self._in, self.parameters
        n, t = inp.demand.shape
        demand = p["demand"].value
        x, s = v["x"], v["s"]
        inv = v["low"] + v["high"]
        shortfall = _clean(np.maximum(p["safety_stock"].value - inv, 0.0))
        backlog = v.get("b", np.zeros((n, t)))
        lost = v.get("l", np.zeros((n, t)))
        unmet = backlog if self.unmet == "backlog" else lost
        carried = np.hstack([np.zeros((n, 1)), backlog[:, :-1]])
        shipments = demand + carried - backlog - lost

        required = inp.R.T @ x  # resource x month
        available = p["regular_hours"].value
        # the solver fills a binding resource to its limit give or take rounding noise
        required = np.where(np.isclose(required, available, rtol=1e-9, atol=1e-9),
                            available, required)  # fmt: skip
        overtime = np.clip(v["ot"], 0.0, required)
        if len(self.resources):
            # where an overtime hour costs no more than a regular one the solver's split is
            # arbitrary: report regular hours first, as a planner would use them
            free = inp.unit_costs["overtime"] <= inp.unit_costs["regular"]
            staffed = (
                (np.asarray(inp.P.sum(axis=0)).ravel() > 0)[:, None]
                if inp.P is not None
                else np.zeros((len(self.resources), 1), dtype=bool)
            )
            first = np.maximum(required - available, 0.0)
            overtime = np.where(free & ~staffed, np.minimum(overtime, first), overtime)
        regular = required - overtime
        share = np.divide(overtime, required, out=np.zeros_like(required), where=required > 0)
        sku_overtime = x * (inp.R @ share) if len(self.resources) else np.zeros((n, t))
        used = inp.B.T @ x
        limit = p["material_available"].value
        used = np.where(np.isfinite(limit) & np.isclose(used, limit, rtol=1e-9, atol=1e-9),
                        limit, used)  # fmt: skip

        price_reg, price_ot, price_mat = duals["regular"], duals["overtime"], duals["materials"]
        # A resource holds production back when its regular hours are worth more than
        # they cost and overtime is either used up or not worth its cost; partly used
        # overtime means one more unit costs overtime, which is a cost, not a limit.
        limit_hours = p["overtime_hours"].value
        ot_full = overtime >= limit_hours - _TOL
        holds = (price_reg > _TOL) & (ot_full | (overtime <= _TOL))
        # demand held back in the month itself (backlog carried in was counted before)
        new_unmet = np.maximum(np.diff(backlog, axis=1, prepend=0.0), 0.0) + lost
        reason, short_hours, short_mat = _unmet_reasons(
            unmet, new_unmet, inp.R, inp.B, price_reg * holds, price_mat, ot_full,
            self.resources, self.materials,
        )  # fmt: skip

        months = np.tile(self.months.to_numpy(), n)
        plan = pd.DataFrame(
            {
                "sku": np.repeat(self.skus.to_numpy(), t),
                "month": months,
                "demand": demand.ravel(),
                "shipments": _clean(shipments).ravel(),
                "production": x.ravel(),
                "overtime_hours": _clean(sku_overtime).ravel(),
                "subcontract": s.ravel(),
                "inventory": inv.ravel(),
                "backlog": backlog.ravel(),
                "lost": lost.ravel(),
                "safety_stock": p["safety_stock"].value.ravel(),
                "safety_shortfall": shortfall.ravel(),
                "unmet_reason": reason.ravel(),
            }
        )

        k = len(self.resources)
        utilisation = np.divide(
            required, available, out=np.full_like(required, np.nan), where=available > 0
        )
        no_hours_binding = (available <= 0) & (price_reg > _TOL)
        status_col = np.select(
            [(short_hours > _TOL) | no_hours_binding, overtime > _TOL, utilisation > TIGHT_ABOVE],
            ["short", "overtime", "tight"],
            default="ok",
        ).astype(object)
        capacity = pd.DataFrame(
            {
                "resource": np.repeat(self.resources.to_numpy(), t),
                "month": np.tile(self.months.to_numpy(), k),
                "available_hours": available.ravel(),
                "max_overtime_hours": limit_hours.ravel(),
                "required_hours": _clean(required).ravel(),
                "regular_used": _clean(regular).ravel(),
                "overtime_used": _clean(overtime).ravel(),
                "utilisation": utilisation.ravel(),
                "shortfall_hours": short_hours.ravel(),
                "shadow_price_regular": price_reg.ravel(),
                "shadow_price_overtime": price_ot.ravel(),
                "binding": (price_reg > _TOL).ravel(),
                "status": status_col.ravel(),
            }
        )

        mm = len(self.materials)
        avail = p["material_available"].value
        materials = pd.DataFrame(
            {
                "material": np.repeat(self.materials.to_numpy(), t),
                "month": np.tile(self.months.to_numpy(), mm),
                "available": np.where(np.isinf(avail), np.nan, avail).ravel(),
                "used": _clean(used).ravel(),
                "shortfall": short_mat.ravel(),
                "unit_cost": inp.material_cost.ravel(),
                "shadow_price": price_mat.ravel(),
                "binding": (price_mat > _TOL).ravel(),
            }
        )
        for df in (plan, capacity, materials):
            df["month"] = pd.to_datetime(df["month"])

        q = len(self.pools)
        staffed = inp.P @ v["reg"] if q else np.zeros((0, t))
        workforce = pd.DataFrame(
            {
                "pool": np.repeat(self.pools.to_numpy(), t),
                "month": np.tile(self.months.to_numpy(), q),
                "workers": v["w"].ravel() if q else [],
                "hired": v["hire"].ravel() if q else [],
                "laid_off": v["fire"].ravel() if q else [],
                "hours_available": (p["hours_per_worker"].value * v["w"]).ravel() if q else [],
                "hours_used": _clean(staffed).ravel(),
            }
        )
        workforce["month"] = pd.to_datetime(workforce["month"])

        target = p["ending_target"].value
        ending = pd.DataFrame(
            {"sku": self.skus, "target": target, "inventory": inv[:, -1], "shortfall": v["e"]}
        )

        c = inp.unit_costs
        mult = {comp: float(p[f"cost_{comp}"].value) for comp in COST_COMPONENTS}
        last = np.zeros((n, t))
        last[:, -1] = 1.0

        def by_hours(rate: np.ndarray, hours: np.ndarray) -> np.ndarray:
            """Money of resource hours shared over SKUs by the hours each one takes."""
            if not len(self.resources):
                return np.zeros((n, t))
            per_hour = np.divide(rate * hours, required, out=np.zeros_like(required),
                                 where=required > _TOL)  # fmt: skip
            return x * (inp.R @ per_hour)

        detail = {
            "holding": c["holding"] * inv,
            "backlog": c["backlog"] * backlog,
            "lost": c["lost"] * lost + c["lost"] * backlog * last,
            "subcontract": c["subcontract"] * s,
            "overtime": by_hours(c["overtime"], v["ot"]),
            "regular": by_hours(c["regular"], v["reg"]),
            "materials": x * (inp.B @ inp.material_cost) if len(self.materials) else 0.0 * x,
            "safety_stock": c["safety_stock"] * shortfall,
            "ending": (c["ending"] * v["e"])[:, None] * last,
            "setup": c["setup"] * v["y"] if "y" in v else np.zeros((n, t)),
        }
        pool_money = {
            "wages": inp.wage[:, None] * v["w"] if q else None,
            "hiring": inp.hire_cost[:, None] * v["hire"] if q else None,
            "layoffs": inp.layoff_cost[:, None] * v["fire"] if q else None,
        }
        share = _pool_shares(x, inp.R, inp.P) if q else None
        for comp, money in pool_money.items():
            detail[comp] = np.einsum("ipt,pt->it", share, money) if q else np.zeros((n, t))
        sku_costs = pd.DataFrame(
            {"sku": plan["sku"], "month": plan["month"]}
            | {comp: (mult[comp] * detail[comp]).ravel() for comp in COST_COMPONENTS}
        )
        sku_costs["total"] = sku_costs[list(COST_COMPONENTS)].sum(axis=1)
        raw = {
            "holding": (c["holding"] * inv).sum(),
            "backlog": (c["backlog"] * backlog).sum(),
            "lost": (c["lost"] * lost).sum() + (c["lost"][:, -1] * backlog[:, -1]).sum(),
            "subcontract": (c["subcontract"] * s).sum(),
            "overtime": (c["overtime"] * v["ot"]).sum(),
            "regular": (c["regular"] * v["reg"]).sum(),
            "materials": (inp.material_cost * used).sum(),
            "safety_stock": (c["safety_stock"] * shortfall).sum(),
            "ending": (c["ending"] * v["e"]).sum(),
            "setup": (c["setup"] * v["y"]).sum() if "y" in v else 0.0,
        }
        raw |= {comp: float(money.sum()) if q else 0.0 for comp, money in pool_money.items()}
        costs = pd.Series({comp: mult[comp] * raw[comp] for comp in COST_COMPONENTS})
        costs["total"] = costs.sum()
        costs.name = "cost"
        return SupplyResult(
            plan, capacity, materials, ending, costs, status, sku_costs=sku_costs,
            workforce=workforce, notes=_carried_notes(inp.carried),
        )  # fmt: skip


# ---------------------------------------------------------------------- inputs


def _tables(data: object) -> dict[str, pd.DataFrame | None]:
    if isinstance(data, Mapping):
        return {name: data.get(name) for name in _TABLES}
    return {name: getattr(data, name, None) for name in _TABLES}


def _read_inputs(
    demand_plan: pd.DataFrame,
    tables: dict[str, pd.DataFrame | None],
    costs: SupplyCosts,
    *,
    safety_stock: object,
    ending_target: object,
    min_run: object,
    setup_cost: object,
    integer: bool,
    workforce: bool = True,
) -> _Inputs:
    require_consensus(demand_plan, "nothing to plan supply for")
    months = _plan_months(demand_plan)
    missing = pd.date_range(months.min(), months.max(), freq="MS").difference(months)
    if len(missing):
        raise SopError(
            "demand_plan skips month(s) "
            + ", ".join(m.strftime("%Y-%m") for m in missing[:5])
            + ": the model carries stock from month to month, so the plan months "
            "must follow each other. Give those months rows (0 demand)."
        )
    skus = pd.Index(sorted(demand_plan["sku"].unique()), name="sku")
    grid = pd.MultiIndex.from_product([skus, months], names=["sku", "month"])
    demand = (
        demand_plan.groupby(["sku", "month"])["consensus"]
        .sum()
        .reindex(grid, fill_value=0.0)
        .to_numpy(dtype=float)
        .reshape(len(skus), len(months))
    )
    _check_values(demand, "demand")
    n, t = demand.shape

    products = _table(tables, "products", ["sku", "unit_price", "unit_cost"])
    reject_duplicates(products, "products", ["sku"])
    prices = products.set_index("sku")[["unit_price", "unit_cost"]].reindex(skus)
    unpriced = prices.index[prices.isna().any(axis=1)]
    if len(unpriced):
        raise SopError(
            f"products gives no unit_price or unit_cost for {len(unpriced)} SKU(s) of the "
            f"demand plan ({', '.join(map(str, unpriced[:5]))}); the supply model prices "
            "lost sales and default costs with them. Add them to products."
        )
    price = prices["unit_price"].to_numpy(dtype=float)
    unit_cost = prices["unit_cost"].to_numpy(dtype=float)

    inventory = _table(tables, "inventory", ["sku", "on_hand"])
    reject_duplicates(inventory, "inventory", ["sku"])
    stock = inventory.set_index("sku").reindex(skus)
    on_hand = stock["on_hand"].fillna(0.0).to_numpy(dtype=float)
    _check_values(on_hand, "inventory on_hand")
    if safety_stock is None:
        ss_col = stock["safety_stock"] if "safety_stock" in stock else pd.Series(0.0, skus)
        safety_stock = ss_col.fillna(0.0).to_numpy(dtype=float)
    safety = _as_grid(safety_stock, skus, months, "safety_stock", np.zeros((n, t)))
    _check_values(safety, "safety_stock")
    ending = (
        safety[:, -1].copy()
        if ending_target is None
        else _as_grid(ending_target, skus, months, "ending_target", np.zeros(n))
    )
    _check_values(ending, "ending_target")

    resources = _table(
        tables,
        "resources",
        ["resource", "regular_hours", "max_overtime_hours", "overtime_cost_per_hour"],
    )
    res_names = pd.Index(sorted(resources["resource"].dropna().unique()), name="resource")
    cap = _resolve_by_month(
        resources,
        "resources",
        "resource",
        res_names,
        months,
        ["regular_hours", "max_overtime_hours", "overtime_cost_per_hour"],
    )
    k = len(res_names)

    def by_month(frame, col):
        return frame[col].astype(float).fillna(0.0).to_numpy().reshape(-1, t)

    regular_hours = by_month(cap, "regular_hours").reshape(k, t)
    overtime_hours = by_month(cap, "max_overtime_hours").reshape(k, t)
    overtime_cost = by_month(cap, "overtime_cost_per_hour").reshape(k, t)
    _check_values(regular_hours, "regular_hours")
    _check_values(overtime_hours, "max_overtime_hours")

    routings = _table(tables, "routings", ["sku", "resource", "hours_per_unit"])
    routings = routings[routings["sku"].isin(skus)]
    reject_duplicates(routings, "routings", ["sku", "resource"])
    unknown = sorted(set(routings["resource"]) - set(res_names))
    if unknown:
        raise SopError(
            f"routings send work to resource(s) {', '.join(map(str, unknown))} that the "
            f"resources table does not list (it has: {', '.join(map(str, res_names))}). "
            "Add their hours to resources, or correct the resource names in routings."
        )
    R = _sparse(routings, "resource", "hours_per_unit", skus, res_names)

    bom = _table(tables, "bom", ["sku", "material", "qty_per_unit"])
    bom = bom[bom["sku"].isin(skus)]
    reject_duplicates(bom, "bom", ["sku", "material"])
    mat_names = pd.Index(sorted(bom["material"].unique()), name="material")
    B = _sparse(bom, "material", "qty_per_unit", skus, mat_names)
    supply = _table(tables, "material_supply", ["material", "max_qty", "unit_cost"])
    mats = _resolve_by_month(
        supply, "material_supply", "material", mat_names, months, ["max_qty", "unit_cost"]
    )
    mm = len(mat_names)
    # A material listed for some months only keeps its nearest listed month's supply and
    # price in the months it is not listed for (a supplier schedule that stops before the
    # plan does is not an unlimited, free supply); one never listed has no limit.
    listed = mats.groupby("material")["max_qty"].transform(lambda c: c.notna().any())
    carried_rows = mats["max_qty"].isna() & mats["unit_cost"].isna() & listed
    for col in ("max_qty", "unit_cost"):
        mats[col] = mats.groupby("material")[col].transform(lambda c: c.ffill().bfill())
    carried = pd.DataFrame(
        {"material": mats.loc[carried_rows, "material"], "month": mats.loc[carried_rows, "month"]}
    )
    available = mats["max_qty"].astype(float).fillna(np.inf).to_numpy().reshape(mm, t)
    material_cost = mats["unit_cost"].astype(float).fillna(0.0).to_numpy().reshape(mm, t)

    cost_cols = [
        "holding_cost_per_unit_month",
        "backlog_cost_per_unit_month",
        "subcontract_cost_per_unit",
        "max_subcontract_qty",
    ]
    sku_costs = _per_sku(tables.get("costs"), "costs", cost_cols, skus)
    holding = sku_costs["holding_cost_per_unit_month"].fillna(
        pd.Series(costs.holding_rate * unit_cost, skus)
    )
    backlog = sku_costs["backlog_cost_per_unit_month"].fillna(
        pd.Series(costs.backlog_rate * price, skus)
    )
    sub_cost = sku_costs["subcontract_cost_per_unit"].fillna(0.0)
    sub_max = sku_costs["max_subcontract_qty"].fillna(0.0)
    lost = costs.lost_rate * price

    if costs.regular_cost_per_hour == "workforce":
        rate = _per_resource_rate(tables.get("workforce"), res_names)
        regular_cost = np.repeat(rate[:, None], t, axis=1)
    else:
        regular_cost = np.full((k, t), float(costs.regular_cost_per_hour))
    crew = _workforce(tables.get("workforce") if workforce else None, res_names, t)
    if crew:  # a staffed resource's hours are paid as wages, not by the hour
        regular_cost[np.asarray(crew["P"].sum(axis=0)).ravel() > 0] = 0.0

    if integer and min_run is None and not crew:
        raise SopError(
            "integer=True models minimum production runs and whole workers, but no min_run "
            "was given and there is no workforce data. Pass min_run= (units, a number or a "
            "Series by SKU), give the workforce table, or leave integer=False."
        )
    runs = _per_sku_value(min_run, skus, "min_run")
    setups = _per_sku_value(setup_cost, skus, "setup_cost")

    def rows(values) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=float)[:, None], t, axis=1)

    unit_costs = {
        "holding": rows(holding),
        "backlog": rows(backlog),
        "lost": rows(lost),
        "subcontract": rows(sub_cost),
        "overtime": overtime_cost,
        "regular": regular_cost,
        "safety_stock": rows(costs.safety_rate * backlog.to_numpy(dtype=float)),
        "ending": costs.ending_rate * lost,
        "setup": rows(setups),
    }
    for name, arr in unit_costs.items():
        _check_values(arr, f"the {name} cost")
    return _Inputs(
        skus=skus,
        months=months,
        resources=res_names,
        materials=mat_names,
        R=R,
        B=B,
        demand=demand,
        on_hand=on_hand,
        safety_stock=safety,
        ending_target=ending,
        subcontract_limit=rows(sub_max),
        regular_hours=regular_hours,
        overtime_hours=overtime_hours,
        material_available=available,
        unit_costs=unit_costs,
        min_run=rows(runs),
        material_cost=material_cost,
        carried=carried,
        **crew,
    )


def _table(tables: dict, name: str, required: list[str]) -> pd.DataFrame:
    df = tables.get(name)
    if df is None:
        return pd.DataFrame({c: pd.Series(dtype=object if c in _TEXT else float) for c in required})
    require_columns(df, name, required)
    return df


_TEXT = ("sku", "resource", "material")


def _sparse(
    table: pd.DataFrame, key: str, value: str, skus: pd.Index, names: pd.Index
) -> sp.csr_matrix:
    rows = skus.get_indexer(table["sku"])
    cols = names.get_indexer(table[key])
    vals = table[value].astype(float).fillna(0.0).to_numpy()
    _check_values(vals, f"{value}")
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(skus), len(names)))


def _per_sku(df: pd.DataFrame | None, name: str, cols: list[str], skus: pd.Index) -> pd.DataFrame:
    """One row per SKU: its own row where it has one, else the row without a SKU, else NaN."""
    out = pd.DataFrame(np.nan, index=skus, columns=cols)
    if df is None or df.empty:
        return out
    require_columns(df, name, cols)
    if "sku" not in df.columns:
        df = df.assign(sku=None)
    general = df[df["sku"].isna()]
    if len(general) > 1:
        raise SopError(f"table {name} has {len(general)} rows without a SKU; keep one.")
    reject_duplicates(df[df["sku"].notna()], name, ["sku"])
    own = df[df["sku"].notna()].set_index("sku")[cols].astype(float).reindex(skus)
    if len(general):
        own = own.fillna(general[cols].astype(float).iloc[0])
    return own


def _workforce(wf: pd.DataFrame | None, resources: pd.Index, t: int) -> dict:
    """The workforce pools: a resource's own row, and the plant row for the rest.

    Returns the keyword arguments of :class:`_Inputs` for them, or {} without any.
    """
    cols = ["workers", "hours_per_worker_month", "hire_cost", "layoff_cost",
            "regular_cost_per_hour"]  # fmt: skip
    if wf is None or wf.empty:
        return {}
    require_columns(wf, "workforce", cols)
    wf = wf if "resource" in wf.columns else wf.assign(resource=None)
    general = wf[wf["resource"].isna()]
    if len(general) > 1:
        raise SopError(f"table workforce has {len(general)} rows without a resource; keep one.")
    own = wf[wf["resource"].notna()]
    reject_duplicates(own, "workforce", ["resource"])
    unknown = sorted(set(own["resource"]) - set(resources))
    if unknown:
        raise SopError(
            f"workforce names resource(s) {', '.join(map(str, unknown))} that the resources "
            f"table does not list (it has: {', '.join(map(str, resources))})."
        )
    rows = own.set_index("resource")[cols].astype(float)
    members = {r: [r] for r in rows.index}
    rest = [r for r in resources if r not in members]
    if len(general) and rest:
        rows.loc["plant"] = general[cols].astype(float).iloc[0]
        members["plant"] = rest
    if rows.empty:
        return {}
    values = rows.to_numpy()
    _check_values(values, "workforce")
    pools = pd.Index(rows.index, name="pool")
    P = sp.lil_matrix((len(pools), len(resources)))
    for i, pool in enumerate(pools):
        P[i, resources.get_indexer(members[pool])] = 1.0
    hours = rows["hours_per_worker_month"].to_numpy()
    return {
        "pools": pools,
        "P": P.tocsr(),
        "workers": rows["workers"].to_numpy(),
        "hours_per_worker": np.repeat(hours[:, None], t, axis=1),
        "wage": rows["regular_cost_per_hour"].to_numpy() * hours,
        "hire_cost": rows["hire_cost"].to_numpy(),
        "layoff_cost": rows["layoff_cost"].to_numpy(),
    }


def _per_resource_rate(workforce: pd.DataFrame | None, resources: pd.Index) -> np.ndarray:
    if workforce is None or workforce.empty or "regular_cost_per_hour" not in workforce:
        return np.zeros(len(resources))
    wf = workforce if "resource" in workforce.columns else workforce.assign(resource=None)
    general = wf.loc[wf["resource"].isna(), "regular_cost_per_hour"].astype(float)
    own = (
        wf[wf["resource"].notna()]
        .set_index("resource")["regular_cost_per_hour"]
        .astype(float)
        .reindex(resources)
    )
    if len(general):
        own = own.fillna(general.iloc[0])
    return own.fillna(0.0).to_numpy()


def _per_sku_value(value: object, skus: pd.Index, name: str) -> np.ndarray:
    if value is None:
        return np.zeros(len(skus))
    if isinstance(value, pd.Series):
        unknown = value.index.difference(skus)
        if len(unknown):
            raise SopError(
                f"{name} names SKU(s) the demand plan does not have: "
                f"{', '.join(map(str, unknown[:5]))}."
            )
        arr = value.reindex(skus).fillna(0.0).to_numpy(dtype=float)
    else:
        arr = np.broadcast_to(np.asarray(value, dtype=float), (len(skus),)).copy()
    _check_values(arr, name)
    return arr


def _as_grid(
    value: object, rows: pd.Index, months: pd.DatetimeIndex, name: str, current: np.ndarray
) -> np.ndarray:
    """A parameter value from a scalar, an array or labelled pandas data.

    Labelled data replaces the cells it names and keeps ``current`` elsewhere; scalars
    and arrays replace all of it.
    """
    out = np.array(current, dtype=float, copy=True)
    if isinstance(value, pd.DataFrame):
        frame = value.copy()
        frame.columns = pd.to_datetime(frame.columns)
        _known(frame.index, rows, name)
        _known(frame.columns, months, f"{name} (months)")
        if out.ndim == 1:
            raise SopError(f"{name} takes one value per {rows.name}: give a Series, not a table.")
        r = rows.get_indexer(frame.index)
        c = months.get_indexer(frame.columns)
        block = frame.to_numpy(dtype=float)
        given = ~np.isnan(block)
        rr, cc = np.nonzero(given)
        out[r[rr], c[cc]] = block[given]
        return out
    if isinstance(value, pd.Series):
        if isinstance(value.index, pd.MultiIndex):
            return _as_grid(value.unstack(), rows, months, name, current)
        _known(value.index, rows, name)
        r = rows.get_indexer(value.index)
        vals = value.to_numpy(dtype=float)
        if out.ndim == 1:
            out[r] = vals
        else:
            out[r, :] = vals[:, None]
        return out
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1 and out.ndim == 2 and arr.shape[0] == out.shape[0]:
        arr = arr[:, None]  # one value per row, every month
    try:
        return np.broadcast_to(arr, out.shape).astype(float, copy=True)
    except ValueError:
        per = f"{len(rows)} {rows.name}s" + (f" x {len(months)} months" if out.ndim == 2 else "")
        raise SopError(
            f"{name} has shape {arr.shape}; the model expects {out.shape} ({per}), a "
            "scalar, or labelled pandas data."
        ) from None


def _known(labels: pd.Index, valid: pd.Index, name: str) -> None:
    unknown = pd.Index(labels).difference(valid)
    if len(unknown):
        shown = ", ".join(
            x.strftime("%Y-%m") if isinstance(x, pd.Timestamp) else str(x) for x in unknown[:5]
        )
        raise SopError(
            f"{name} names {len(unknown)} label(s) the model does not have: {shown}. "
            "Use the labels of model.value(name)."
        )


def _check_values(arr: np.ndarray, name: str, allow_inf: bool = False) -> None:
    arr = np.asarray(arr, dtype=float)
    bad = np.isnan(arr) | (arr < 0) | (np.isinf(arr) & (not allow_inf))
    if bad.any():
        first = arr[bad].ravel()[0]
        raise SopError(
            f"{name} has {int(bad.sum())} value(s) that are missing, negative or infinite "
            f"(the first: {first!r}); the supply model needs numbers 0 or more."
        )


def _unknown_parameter(name: str) -> str:
    return (
        f"{name!r} is not a parameter of the supply model; it has "
        f"{', '.join(PARAMETERS)} and cost_multipliers={{component: factor}}."
    )


def _clean(a: np.ndarray) -> np.ndarray:
    """Solver noise below the tolerance set to exactly 0 (and -0.0 to 0.0)."""
    a = np.asarray(a, dtype=float)
    return np.where(np.abs(a) < 1e-9, 0.0, a)


def _carried_notes(carried: pd.DataFrame | None) -> tuple[str, ...]:
    """One sentence per material whose supply was carried into months it is not listed for."""
    if carried is None or carried.empty:
        return ()
    out = []
    for material, rows in carried.groupby("material", sort=True):
        months = pd.DatetimeIndex(rows["month"]).sort_values()
        span = f"{months[0]:%Y-%m}" + (f" to {months[-1]:%Y-%m}" if len(months) > 1 else "")
        out.append(
            f"material_supply has no row for {material} in {len(months)} plan month(s) "
            f"({span}): the nearest listed month's max_qty and unit_cost are used there."
        )
    return tuple(out)


def _pool_shares(x: np.ndarray, R: sp.csr_matrix, P: sp.csr_matrix) -> np.ndarray:
    """SKU x pool x month: each SKU's share of the hours a pool's resources work.

    By the month's hours; a month without any takes the shares of the horizon; a pool
    whose resources work for no SKU is shared evenly, so the shares always add up to 1.
    """
    n = x.shape[0]
    per_unit = np.asarray((R @ P.T).todense())  # SKU x pool: hours a unit on the pool
    hours = x[:, None, :] * per_unit[:, :, None]  # SKU x pool x month
    month = hours.sum(axis=0, keepdims=True)
    horizon = hours.sum(axis=(0, 2), keepdims=True)
    by_horizon = np.divide(
        hours.sum(axis=2, keepdims=True),
        horizon,
        out=np.full((n, per_unit.shape[1], 1), 1.0 / n),
        where=horizon > 0,
    )
    return np.where(month > 0, hours / np.where(month > 0, month, 1.0), by_horizon)


def _unmet_reasons(
    unmet: np.ndarray,
    new_unmet: np.ndarray,
    R: sp.csr_matrix,
    B: sp.csr_matrix,
    price_hours: np.ndarray,
    price_mat: np.ndarray,
    ot_full: np.ndarray,
    resources: pd.Index,
    materials: pd.Index,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Why each unmet SKU-month is unmet, and what the unmet demand would need.

    For every SKU-month with unmet demand, the candidates are the resources of its
    routing and the materials of its BOM that hold production back that month; each
    scores shadow price x usage a unit, and the highest names the reason. Without a
    candidate the reason is cost. The quantities the demand newly unmet that month
    (``new_unmet``: backlog added, or lost) would need of the named resource or material
    are summed into its shortfall, so a unit carried for months counts once.
    """
    n, t = unmet.shape
    reason = np.full((n, t), "", dtype=object)
    short_hours = np.zeros((len(resources), t))
    short_mat = np.zeros((len(materials), t))
    mask = unmet > _TOL
    if not mask.any():
        return reason, short_hours, short_mat
    reason[mask] = "cost: making or buying it costs more than leaving it unmet"

    res_text = np.where(
        ot_full,
        np.array([f"resource {r}: regular and overtime hours used up" for r in resources])[
            :, None
        ],
        np.array([f"resource {r}: regular hours used up, overtime costs more" for r in resources])[
            :, None
        ],
    ) if len(resources) else np.zeros((0, t), dtype=object)  # fmt: skip
    mat_text = np.array([f"material {m}: all available used" for m in materials], dtype=object)

    sku_idx, kind, item, per_unit, score = [], [], [], [], []
    for code, mat, price in ((0, R, price_hours), (1, B, price_mat)):
        coo = mat.tocoo()
        if coo.nnz == 0:
            continue
        sc = coo.data[:, None] * price[coo.col]  # pairs x months
        sku_idx.append(np.repeat(coo.row[:, None], t, axis=1))
        kind.append(np.full(sc.shape, code))
        item.append(np.repeat(coo.col[:, None], t, axis=1))
        per_unit.append(np.repeat(coo.data[:, None], t, axis=1))
        score.append(sc)
    if not score:
        return reason, short_hours, short_mat
    month_idx = np.concatenate([np.tile(np.arange(t), (s.shape[0], 1)) for s in score]).ravel()
    sku_idx = np.concatenate(sku_idx).ravel()
    kind = np.concatenate(kind).ravel()
    item = np.concatenate(item).ravel()
    per_unit = np.concatenate(per_unit).ravel()
    score = np.concatenate(score).ravel()
    keep = (score > _TOL) & mask[sku_idx, month_idx]
    if not keep.any():
        return reason, short_hours, short_mat
    sku_idx, month_idx, kind, item, per_unit, score = (
        a[keep] for a in (sku_idx, month_idx, kind, item, per_unit, score)
    )
    # the best candidate of each SKU-month: sort by cell, then score descending
    order = np.lexsort((-score, month_idx, sku_idx))
    cell = sku_idx[order] * t + month_idx[order]
    first = order[np.unique(cell, return_index=True)[1]]
    si, mi, ki, it, pu = sku_idx[first], month_idx[first], kind[first], item[first], per_unit[first]
    is_res = ki == 0
    reason[si[is_res], mi[is_res]] = res_text[it[is_res], mi[is_res]]
    reason[si[~is_res], mi[~is_res]] = mat_text[it[~is_res]]
    need = pu * new_unmet[si, mi]
    np.add.at(short_hours, (it[is_res], mi[is_res]), need[is_res])
    np.add.at(short_mat, (it[~is_res], mi[~is_res]), need[~is_res])
    return reason, short_hours, short_mat


__all__ = [
    "COST_COMPONENTS",
    "PARAMETERS",
    "UNMET",
    "SupplyCosts",
    "SupplyModel",
    "SupplyResult",
    "safety_stock",
]
