"""Stage 3, supply planning: a production plan and what it asks of capacity and materials.

This is the honest first version: lot-for-lot netting as in MRP
(:mod:`~sopkit.supply.netting`), then a check of the plan against the hours of each
resource and the quantities of each material (:mod:`~sopkit.supply.capacity`). It plans
no overtime, no subcontracting and no backlog, and knows no shadow prices; those columns
are in the artifacts already (0.0 or NaN here) because the cvxpy optimisation of a later
issue fills them, and downstream stages must not change when it does. The artifacts
(``supply_plan``, ``capacity``, ``materials``) are described in :mod:`sopkit.schemas`.

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
from sopkit.supply.netting import plan_production

__all__ = [
    "TIGHT_ABOVE",
    "AggregatePlan",
    "aggregate_plan",
    "bottlenecks",
    "check_capacity",
    "check_materials",
    "plan_production",
    "summarise_capacity",
]
