"""Stage 2, demand planning: statistical forecast, its accuracy, and the consensus plan.

This first engine is the seasonal naive benchmark of Hyndman & Athanasopoulos,
*Forecasting: Principles and Practice* (3rd ed., FPP3), sections 5.2 and 5.5. It is
honest and hard to beat on monthly demand with a strong yearly pattern, and it fixes
the artifact contract that richer engines will fill later.

Modules: :mod:`~sopkit.demand.forecast` (statistical models),
:mod:`~sopkit.demand.accuracy` (backtests by lag and their summaries; the accuracy of
earlier plans of record and the value their adjustments added, by author) and
:mod:`~sopkit.demand.consensus` (sales and marketing inputs, end of life, each
adjustment kept with its author). The artifacts (``forecast``, ``accuracy``,
``demand_plan``, ``adjustments``) are described in :mod:`sopkit.schemas`. Ratios (wape,
bias, mape, accuracy) are fractions: 0.12 means 12 %.
"""

from sopkit.demand._common import ACCURACY_LEVELS, MEAN_FALLBACK, SEASONAL_NAIVE
from sopkit.demand.accuracy import (
    PLAN_ACCURACY_LEVELS,
    accuracy_by_family,
    backtest_seasonal_naive,
    plan_accuracy,
    pooled_wape,
    summarise_accuracy,
    summarise_plan_accuracy,
    value_added_by_author,
)
from sopkit.demand.consensus import (
    RULE_AUTHOR,
    Consensus,
    build_demand_plan,
    list_adjustments,
    make_consensus,
    unmatched_inputs,
)
from sopkit.demand.forecast import seasonal_naive_forecast

__all__ = [
    "ACCURACY_LEVELS",
    "MEAN_FALLBACK",
    "PLAN_ACCURACY_LEVELS",
    "RULE_AUTHOR",
    "SEASONAL_NAIVE",
    "Consensus",
    "accuracy_by_family",
    "backtest_seasonal_naive",
    "build_demand_plan",
    "list_adjustments",
    "make_consensus",
    "plan_accuracy",
    "pooled_wape",
    "seasonal_naive_forecast",
    "summarise_accuracy",
    "summarise_plan_accuracy",
    "unmatched_inputs",
    "value_added_by_author",
]
