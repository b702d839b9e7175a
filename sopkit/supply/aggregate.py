"""Aggregate planning: one product family, a workforce, and a cost-minimising plan.

The linear program of Chopra & Meindl, *Supply Chain Management: Strategy, Planning,
and Operation*, chapter 8, "Aggregate Planning in a Supply Chain" (the Red Tomato
Tools example). For periods t = 1..T, with workers W, hires H, layoffs L, units made in house
P, ending inventory I, ending backlog S, subcontracted units C and overtime hours O, all
non-negative::

    minimise  sum_t  rc*hw*W + oc*O + hc*H + lc*L + ic*I + bc*S + mc*P + sc*C
    subject to
        W_t = W_{t-1} + H_t - L_t                       (workforce balance, W_0 given)
        lh*P_t <= hw*W_t + O_t                          (capacity in labour hours)
        O_t <= mo*W_t                                   (overtime limit)
        I_{t-1} - S_{t-1} + P_t + C_t = D_t + I_t - S_t (inventory balance, I_0 given, S_0 = 0)
        S_T = 0,  I_T >= the ending-inventory target

where hw is hours per worker-month, lh labour hours per unit, mo the overtime hours a
worker may work, and rc, oc, hc, lc, ic, bc, mc, sc the costs. Regular time is paid for
every worker on the books, busy or not; materials are bought for in-house units only
(the subcontracting price includes them). ``integer=True`` makes every variable a whole
number and solves the MILP (on the Red Tomato data, whole workers, hires and layoffs
alone give the same optimum, $422,660, against $422,275 for the LP).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd

from sopkit._solver import quiet_highs
from sopkit.errors import SopError

__all__ = ["AggregatePlan", "aggregate_plan"]

PLAN_COLUMNS = [
    "demand",
    "workers",
    "hired",
    "laid_off",
    "production",
    "overtime_hours",
    "subcontracted",
    "inventory",
    "backlog",
]
COST_COMPONENTS = [
    "regular_time",
    "overtime",
    "hiring",
    "layoffs",
    "holding",
    "backlog",
    "materials",
    "subcontracting",
]
PRICE_COLUMNS = ["workforce_balance", "capacity", "overtime_limit", "inventory_balance"]

# Argument -> what it is, for messages; the first two must be > 0, the rest >= 0.
_POSITIVE = {
    "hours_per_worker_month": "regular hours one worker works in a period",
    "labor_hours_per_unit": "labour hours to make one unit",
}
_NON_NEGATIVE = {
    "initial_inventory": "units on hand at the start",
    "min_ending_inventory": "units to hold at the end of the last period",
    "initial_workers": "workers on the books at the start",
    "max_overtime_hours_per_worker": "overtime hours one worker may work in a period",
    "regular_cost_per_hour": "cost per regular hour",
    "overtime_cost_per_hour": "cost per overtime hour",
    "material_cost_per_unit": "material cost per unit made in house",
    "holding_cost_per_unit_month": "cost per unit held at the end of a period",
    "backlog_cost_per_unit_month": "cost per unit backlogged at the end of a period",
    "hire_cost": "cost per worker hired",
    "layoff_cost": "cost per worker laid off",
    "subcontract_cost_per_unit": "cost per subcontracted unit",
}
# With integer=True these must be whole: a fractional one leaves no whole-number plan.
_WHOLE_WHEN_INTEGER = ("initial_inventory", "initial_workers")


@dataclass(frozen=True, eq=False)
class AggregatePlan:
    """The optimal aggregate plan, its costs and the shadow prices of its constraints.

    Attributes
    ----------
    plan : pandas.DataFrame
        One row per period (the index of ``demand`` when it was a Series, else
        ``period`` 1..T): demand, workers, hired, laid_off, production (units made in
        house), overtime_hours, subcontracted, inventory and backlog (both at the end of
        the period). Unrounded solver values; variables below zero by solver noise are 0,
        and with ``integer=True`` every value is the whole number the MILP chose.
    total_cost : float
        The plan's cost over the horizon, ``costs.sum()``.
    costs : pandas.Series
        Cost by component: regular_time, overtime, hiring, layoffs, holding, backlog,
        materials, subcontracting.
    shadow_prices : pandas.DataFrame
        Per period, the change in ``total_cost`` when the right-hand side of a constraint
        grows by one (money per unit of that right-hand side; 0 where the constraint is
        slack). ``workforce_balance``: per worker added at the start of the period at no
        hiring cost (< 0 when the plan would hire, > 0 when it would have to lay the
        worker off). ``capacity``: per extra labour hour available
        (<= 0; its negation is the value of one more hour, as in the ``capacity``
        artifact). ``overtime_limit``: per extra overtime hour allowed in the period
        (<= 0). ``inventory_balance``: per extra unit demanded in the period (>= 0).
    ending_inventory_price : float
        The change in ``total_cost`` per extra unit of ``min_ending_inventory``
        (money per unit, >= 0).
    status : str
        The solver's status (``"optimal"``).
    integer : bool
        Whether the plan was solved in whole numbers. Its prices then come from the LP
        that keeps the plan's workforce (workers, hires, layoffs) and lets units and
        hours be fractional; ``workforce_balance`` is NaN, as that LP has no workforce
        to price.
    """

    plan: pd.DataFrame
    total_cost: float
    costs: pd.Series
    shadow_prices: pd.DataFrame
    ending_inventory_price: float
    status: str
    integer: bool = False

    def summary(self) -> str:
        """The plan and its costs as text, rounded for reading.

        Returns
        -------
        str
            Status and total cost, the plan (one decimal), the non-zero costs and the
            shadow prices (two decimals). The attributes keep the unrounded values.
        """
        kind = "MILP" if self.integer else "LP"
        costs = self.costs[self.costs != 0].round(2)
        lines = [
            f"Aggregate plan ({kind}, {self.status}): total cost {self.total_cost:,.2f}",
            self.plan.round(1).to_string(),
            "Costs:",
            costs.to_string() if not costs.empty else "(none)",
            "Shadow prices (change in total cost per unit of right-hand side):",
            self.shadow_prices.round(2).to_string(),
            f"ending inventory: {self.ending_inventory_price:,.2f} per unit",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def aggregate_plan(
    demand: Sequence[float] | np.ndarray | pd.Series,
    *,
    initial_inventory: float,
    min_ending_inventory: float,
    initial_workers: float,
    hours_per_worker_month: float,
    labor_hours_per_unit: float,
    regular_cost_per_hour: float,
    overtime_cost_per_hour: float,
    max_overtime_hours_per_worker: float,
    material_cost_per_unit: float,
    holding_cost_per_unit_month: float,
    backlog_cost_per_unit_month: float,
    hire_cost: float,
    layoff_cost: float,
    subcontract_cost_per_unit: float,
    integer: bool = False,
    solver: str | None = None,
) -> AggregatePlan:
    """Find the least-cost aggregate plan: workforce, overtime, stock, backlog, subcontracting.

    The model is the textbook one stated in :mod:`sopkit.supply.aggregate`. It is always
    feasible: subcontracting is unlimited, so any demand and any ending-inventory target
    can be met; a solver status other than optimal therefore means a solver problem.

    Parameters
    ----------
    demand : sequence of float, numpy.ndarray or pandas.Series
        Units demanded per period, at least one period, each finite and >= 0. A Series
        gives the plan its index.
    initial_inventory, min_ending_inventory : float
        Units on hand at the start; units to hold at the end of the last period.
    initial_workers : float
        Workers on the books before the first period.
    hours_per_worker_month, labor_hours_per_unit : float
        Regular hours a worker works per period; labour hours per unit (both > 0).
    regular_cost_per_hour, overtime_cost_per_hour : float
        Labour cost per regular hour (paid for every worker) and per overtime hour.
    max_overtime_hours_per_worker : float
        Overtime hours a worker may work per period (0 forbids overtime).
    material_cost_per_unit : float
        Material cost per unit made in house.
    holding_cost_per_unit_month, backlog_cost_per_unit_month : float
        Cost per unit in stock, per unit backlogged, at the end of each period.
    hire_cost, layoff_cost : float
        Cost per worker hired, per worker laid off.
    subcontract_cost_per_unit : float
        All-in cost per unit bought from the subcontractor (no material cost added).
    integer : bool, default False
        Solve in whole numbers (MILP, proven optimal: HiGHS runs with a zero gap);
        demand, ``initial_inventory`` and ``initial_workers`` must then be whole. The
        prices then come from the LP that keeps the plan's workforce and lets units and
        hours be fractional (fixing every variable would leave one point, whose duals
        mean nothing).
    solver : str, optional
        A cvxpy solver name; HiGHS (``cvxpy.HIGHS``) when None.

    Returns
    -------
    AggregatePlan
        The plan, ``total_cost``, ``costs`` by component, ``shadow_prices`` (per period
        and ``ending_inventory_price``; see :class:`AggregatePlan` for signs and units)
        and the solver ``status``.

    Raises
    ------
    SopError
        Bad arguments (all named in one message: a cost below 0, empty demand, demand
        missing, infinite or below 0, hours <= 0, ...), or a solve that does not end
        optimal.

    Examples
    --------
    The Red Tomato Tools plan (Chopra & Meindl) costs $422,275 as an LP:

    >>> p = aggregate_plan(
    ...     [1600, 3000, 3200, 3800, 2200, 2200], initial_inventory=1000,
    ...     min_ending_inventory=500, initial_workers=80, hours_per_worker_month=160,
    ...     labor_hours_per_unit=4, regular_cost_per_hour=4, overtime_cost_per_hour=6,
    ...     max_overtime_hours_per_worker=10, material_cost_per_unit=10,
    ...     holding_cost_per_unit_month=2, backlog_cost_per_unit_month=5, hire_cost=300,
    ...     layoff_cost=500, subcontract_cost_per_unit=30)
    >>> round(p.total_cost)
    422275
    """
    args = {
        "initial_inventory": initial_inventory,
        "min_ending_inventory": min_ending_inventory,
        "initial_workers": initial_workers,
        "hours_per_worker_month": hours_per_worker_month,
        "labor_hours_per_unit": labor_hours_per_unit,
        "regular_cost_per_hour": regular_cost_per_hour,
        "overtime_cost_per_hour": overtime_cost_per_hour,
        "max_overtime_hours_per_worker": max_overtime_hours_per_worker,
        "material_cost_per_unit": material_cost_per_unit,
        "holding_cost_per_unit_month": holding_cost_per_unit_month,
        "backlog_cost_per_unit_month": backlog_cost_per_unit_month,
        "hire_cost": hire_cost,
        "layoff_cost": layoff_cost,
        "subcontract_cost_per_unit": subcontract_cost_per_unit,
    }
    d, index = _check_arguments(demand, args, integer, solver)
    a = {k: float(v) for k, v in args.items()}
    integer = bool(integer)
    solver = solver or cp.HIGHS

    model = _Model(d, a, integer=integer)
    status = model.solve(solver)
    values = model.values(integer)
    if integer:
        # A MILP has no duals: price the LP that keeps the plan's workforce.
        workforce = tuple(values[k] for k in ("workers", "hired", "laid_off"))
        priced = _Model(d, a, integer=False, workforce=workforce)
        priced.solve(solver)
    else:
        priced = model
    prices, ending_price = priced.prices()

    plan = pd.DataFrame({"demand": d, **values}, index=index)[PLAN_COLUMNS]
    costs = _costs(plan, a)
    return AggregatePlan(
        plan=plan,
        total_cost=float(costs.sum()),
        costs=costs,
        shadow_prices=pd.DataFrame(prices, index=index)[PRICE_COLUMNS],
        ending_inventory_price=ending_price,
        status=status,
        integer=integer,
    )


class _Model:
    """The aggregate-planning problem in cvxpy, with its constraints named for duals.

    ``workforce`` (workers, hires, layoffs as arrays) fixes the workforce; the workforce
    balance then holds by construction and is not a constraint.
    """

    def __init__(
        self,
        d: np.ndarray,
        a: dict[str, float],
        *,
        integer: bool,
        workforce: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.T = T = len(d)

        def var(name: str) -> cp.Variable:
            return cp.Variable(T, name=name, nonneg=True, integer=integer)

        first = np.zeros(T)
        first[0] = 1.0
        lag = np.eye(T, k=-1)  # lag @ x is x shifted one period later, 0 first
        self.vars = {
            k: var(k)
            for k in ("production", "overtime_hours", "subcontracted", "inventory", "backlog")
        }
        v = self.vars
        if workforce is None:
            for k in ("workers", "hired", "laid_off"):
                v[k] = var(k)
        W = v["workers"] if workforce is None else workforce[0]
        H = v["hired"] if workforce is None else workforce[1]
        L = v["laid_off"] if workforce is None else workforce[2]
        # The textbook's letters, as in the module docstring.
        P, O, C = v["production"], v["overtime_hours"], v["subcontracted"]  # noqa: E741
        I, S = v["inventory"], v["backlog"]  # noqa: E741

        # Each constraint reads "lhs <= rhs" or "lhs == rhs" with the planner's quantity
        # on the right, so its price is minus cvxpy's dual (see prices()).
        self.cons: dict[str, cp.Constraint] = {}
        if workforce is None:
            self.cons["workforce_balance"] = W - lag @ W - H + L == a["initial_workers"] * first
        self.cons["capacity"] = (
            a["labor_hours_per_unit"] * P - a["hours_per_worker_month"] * W - O <= 0
        )
        self.cons["overtime_limit"] = O - a["max_overtime_hours_per_worker"] * W <= 0
        self.cons["inventory_balance"] = (
            lag @ I - lag @ S + P + C - I + S == d - a["initial_inventory"] * first
        )
        self.ending = I[T - 1] >= a["min_ending_inventory"]
        cost = (
            a["regular_cost_per_hour"] * a["hours_per_worker_month"] * cp.sum(W)
            + a["overtime_cost_per_hour"] * cp.sum(O)
            + a["hire_cost"] * cp.sum(H)
            + a["layoff_cost"] * cp.sum(L)
            + a["holding_cost_per_unit_month"] * cp.sum(I)
            + a["backlog_cost_per_unit_month"] * cp.sum(S)
            + a["material_cost_per_unit"] * cp.sum(P)
            + a["subcontract_cost_per_unit"] * cp.sum(C)
        )
        self.problem = cp.Problem(
            cp.Minimize(cost), [*self.cons.values(), self.ending, S[T - 1] == 0]
        )

    def solve(self, solver: str) -> str:
        options = {}
        if solver == cp.HIGHS and self.problem.is_mixed_integer():
            # HiGHS stops a MILP within 0.01 % of the optimum by default, dollars off
            # the optimum of a plan of this size; an aggregate plan is small enough to
            # prove optimal.
            options["mip_rel_gap"] = 0.0
        quiet_highs()
        try:
            self.problem.solve(solver=solver, **options)
        except cp.error.SolverError as exc:
            raise SopError(
                f"aggregate_plan: solver {solver} failed ({exc}). Use solver=None (HiGHS), "
                "or a solver that handles "
                f"{'mixed-integer ' if self.problem.is_mixed_integer() else ''}linear programs."
            ) from exc
        status = str(self.problem.status)
        if status != cp.OPTIMAL:
            raise SopError(
                f"aggregate_plan: the solver {solver} ended with status '{status}', not "
                "optimal, so there is no plan to report (the model is always feasible). "
                "Check the arguments for extreme values, or try solver=None (HiGHS)."
            )
        return status

    def values(self, whole: bool) -> dict[str, np.ndarray]:
        out = {}
        for k, x in self.vars.items():
            # Solver noise only: values are >= 0 and, in a MILP, whole by definition.
            val = np.maximum(np.asarray(x.value, dtype=float), 0.0) + 0.0  # no -0.0
            out[k] = np.rint(val) if whole else val
        return out

    def prices(self) -> tuple[dict[str, np.ndarray], float]:
        prices = {k: np.full(self.T, np.nan) for k in PRICE_COLUMNS}
        for k, con in self.cons.items():
            prices[k] = -np.asarray(con.dual_value, dtype=float).reshape(self.T) + 0.0
        # ">=" constraints: cvxpy's dual is already d(cost)/d(rhs).
        return prices, float(self.ending.dual_value) + 0.0


def _costs(plan: pd.DataFrame, a: dict[str, float]) -> pd.Series:
    total = plan.sum()
    return pd.Series(
        {
            "regular_time": a["regular_cost_per_hour"]
            * a["hours_per_worker_month"]
            * total["workers"],
            "overtime": a["overtime_cost_per_hour"] * total["overtime_hours"],
            "hiring": a["hire_cost"] * total["hired"],
            "layoffs": a["layoff_cost"] * total["laid_off"],
            "holding": a["holding_cost_per_unit_month"] * total["inventory"],
            "backlog": a["backlog_cost_per_unit_month"] * total["backlog"],
            "materials": a["material_cost_per_unit"] * total["production"],
            "subcontracting": a["subcontract_cost_per_unit"] * total["subcontracted"],
        },
        name="cost",
    )[COST_COMPONENTS]


def _check_arguments(
    demand: object, args: dict[str, object], integer: object, solver: object
) -> tuple[np.ndarray, pd.Index]:
    """Demand as floats and the plan's index, or one SopError naming every bad argument."""
    problems: list[str] = []
    whole = isinstance(integer, (bool, np.bool_)) and bool(integer)
    d, index = _check_demand(demand, problems, whole=whole)
    for name, value in args.items():
        what = _POSITIVE.get(name) or _NON_NEGATIVE[name]
        minimum = "more than 0" if name in _POSITIVE else "0 or more"
        if not _is_real(value) or not math.isfinite(value):
            problems.append(f"{name}: got {_show(value)}; expected a finite number, {what}")
        elif value < 0 or (value == 0 and name in _POSITIVE):
            problems.append(f"{name}: got {_show(value)}; expected {minimum}, {what}")
        elif whole and name in _WHOLE_WHEN_INTEGER and value != round(value):
            problems.append(
                f"{name}: got {_show(value)}; expected a whole number with integer=True "
                "(or solve with integer=False)"
            )
    if not isinstance(integer, (bool, np.bool_)):
        problems.append(f"integer: got {integer!r}; expected True or False")
    if solver is not None and solver not in cp.installed_solvers():
        problems.append(
            f"solver: got {solver!r}; expected None (HiGHS) or an installed cvxpy solver: "
            f"{', '.join(cp.installed_solvers())}"
        )
    if problems:
        n = len(problems)
        raise SopError(
            f"aggregate_plan got {n} bad argument{'s' if n != 1 else ''}:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nNothing was solved. Correct the argument(s) above and call aggregate_plan "
            "again."
        )
    return d, index


def _check_demand(
    demand: object, problems: list[str], *, whole: bool
) -> tuple[np.ndarray, pd.Index]:
    if isinstance(demand, pd.Series):
        index = demand.index
        raw = demand.to_numpy()
    elif isinstance(demand, (str, bytes)) or not isinstance(demand, (Sequence, np.ndarray)):
        problems.append(
            f"demand: got {type(demand).__name__}; expected a list, numpy array or pandas "
            "Series of units per period"
        )
        return np.zeros(0), pd.RangeIndex(0)
    else:
        raw = np.asarray(demand, dtype=object)
        index = pd.RangeIndex(1, len(raw) + 1, name="period") if raw.ndim == 1 else None
    if raw.ndim != 1:
        problems.append(f"demand: got an array of shape {raw.shape}; expected one value per period")
        return np.zeros(0), pd.RangeIndex(0)
    if len(raw) == 0:
        problems.append("demand: is empty; expected units for at least one period")
        return np.zeros(0), index
    missing = np.array([x is None or x is pd.NA or x is pd.NaT for x in raw])
    numeric = np.array([_is_real(x) for x in raw])
    d = np.array([float(x) if ok else np.nan for x, ok in zip(raw, numeric, strict=True)])
    checks = [
        ("not a number", ~numeric & ~missing),
        ("missing", missing | (numeric & np.isnan(d))),
        ("infinite", np.isinf(d)),
        ("below 0", d < 0),
    ]
    expected = "finite units of 0 or more per period"
    if whole:
        fractional = np.isfinite(d) & (d != np.round(np.where(np.isfinite(d), d, 0.0)))
        checks.append(("not a whole number", fractional))
        expected = "whole units of 0 or more per period with integer=True"
    for why, bad in checks:
        if bad.any():
            where = ", ".join(f"{index[i]!s}: {_show(raw[i])}" for i in np.flatnonzero(bad)[:5])
            more = f" and {bad.sum() - 5} more" if bad.sum() > 5 else ""
            problems.append(
                f"demand: {bad.sum()} period(s) {why} ({where}{more}); expected {expected}"
            )
    return d, index


def _show(value: object) -> str:
    """A value as the planner typed it: 5, -1.5, nan, inf (no ``np.float64(...)``)."""
    if isinstance(value, (int, np.integer)) and _is_real(value):
        return str(int(value))
    return repr(float(value)) if _is_real(value) else repr(value)


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
