"""Stage 3, supply planning: an optimal production plan, and what holds it back, in money.

:class:`~sopkit.supply.model.SupplyModel` is the plan: a cvxpy model (HiGHS) of
production, subcontracting, stock, backlog or lost sales, regular and overtime hours
and materials over the horizon, built once and re-solved for each scenario through its
Parameters. Its duals price one more hour of each resource-month and one more unit of
each material-month; demand it leaves unserved is named with the resource or material
that held it back. :func:`sopkit.scenarios.replan` runs it for every scenario of the
cycle, and its artifacts (``supply_plan``, ``capacity``, ``materials``,
``supply_costs``) are described in :mod:`sopkit.schemas`. Safety-stock targets come
from stage 2's forecast error (:mod:`~sopkit.supply.targets`).

:func:`~sopkit.supply.netting.plan_production` (lot-for-lot netting as in MRP) and
:func:`~sopkit.supply.capacity.check_capacity` / ``check_materials`` remain as the
simple check of a given plan against hours and materials, without prices.

:func:`~sopkit.supply.aggregate.aggregate_plan` is the classic aggregate planning model
(Chopra & Meindl) on its own: one product family, workers, overtime, subcontracting and
backlog, as an LP or MILP, with its shadow prices.
"""

from sopkit.supply._common import TIGHT_ABOVE
from sopkit.supply.aggregate import AggregatePlan, aggregate_plan
from sopkit.supply.capacity import (
    bottlenecks,
    check_capacity,
    check_materials,
    summarise_capacity,
)
from sopkit.supply.model import SupplyCosts, SupplyModel, SupplyResult, safety_stock
from sopkit.supply.netting import plan_production
from sopkit.supply.report import constraint_prices, cost_breakdown, plan_summary, unmet_demand
from sopkit.supply.targets import forecast_error_safety_stock

__all__ = [
    "TIGHT_ABOVE",
    "AggregatePlan",
    "SupplyCosts",
    "SupplyModel",
    "SupplyResult",
    "aggregate_plan",
    "bottlenecks",
    "check_capacity",
    "check_materials",
    "constraint_prices",
    "cost_breakdown",
    "forecast_error_safety_stock",
    "plan_production",
    "plan_summary",
    "safety_stock",
    "summarise_capacity",
    "unmet_demand",
]
