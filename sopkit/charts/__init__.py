"""Charts of the S&OP cycle, one module per stage and one function per view.

Each function takes an artifact table (as a stage returns it) and returns an altair chart
about 600 px wide, titled, with tooltips. Data is aggregated first where possible and
embedded inline as plain JSON values (no Timestamps, no NaN), so charts render offline,
are small enough to keep in executed notebooks, and never hit altair's row limit.

Modules: :mod:`~sopkit.charts.portfolio` (stage 1), :mod:`~sopkit.charts.demand` (2),
:mod:`~sopkit.charts.supply` (3), :mod:`~sopkit.charts.finance` (4),
:mod:`~sopkit.charts.executive` (5); :func:`table` formats any table alike.
"""

from sopkit.charts._common import table
from sopkit.charts.demand import (
    accuracy_chart,
    consensus_chart,
    forecast_chart,
    forecast_interval_chart,
    plan_accuracy_chart,
)
from sopkit.charts.executive import kpi_cards, service_chart
from sopkit.charts.finance import (
    budget_chart,
    plan_change_waterfall,
    plan_tracking_chart,
    scenario_chart,
    variance_waterfall,
)
from sopkit.charts.portfolio import (
    abc_xyz_matrix,
    family_growth_chart,
    lifecycle_chart,
    pareto_chart,
)
from sopkit.charts.supply import (
    capacity_heatmap,
    material_chart,
    production_chart,
    stock_chart,
    supply_cost_chart,
    workforce_chart,
)

__all__ = [
    "abc_xyz_matrix",
    "accuracy_chart",
    "budget_chart",
    "capacity_heatmap",
    "consensus_chart",
    "family_growth_chart",
    "forecast_chart",
    "forecast_interval_chart",
    "kpi_cards",
    "lifecycle_chart",
    "material_chart",
    "pareto_chart",
    "plan_accuracy_chart",
    "plan_change_waterfall",
    "plan_tracking_chart",
    "production_chart",
    "scenario_chart",
    "service_chart",
    "stock_chart",
    "supply_cost_chart",
    "table",
    "variance_waterfall",
    "workforce_chart",
]
