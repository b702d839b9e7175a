"""Stage 2, demand planning: statistical forecast, its accuracy, and the consensus plan.

The forecasting engine (:func:`forecast`, in :mod:`~sopkit.demand.engine`) gives each
monthly series the model that a rolling-origin backtest on its own history finds best
(seasonal naive, ETS, Theta, ARIMA, Croston SBA, TSB, or a mean combination), or a
documented rule where no backtest is possible; it works on any panel in the long format
``unique_id``, ``ds``, ``y``. Stage 2 runs it on every SKU x region series
(:func:`statistical_forecast`). The seasonal naive method of Hyndman & Athanasopoulos,
*Forecasting: Principles and Practice* (3rd ed., FPP3), sections 5.2 and 5.5
(:mod:`~sopkit.demand.naive`), stays as the benchmark every accuracy figure is set
against.

Modules: :mod:`~sopkit.demand.engine` and :mod:`~sopkit.demand.statistical` (the
engine, and stage 2's use of it), :mod:`~sopkit.demand.hierarchy` and
:mod:`~sopkit.demand.levels` (the levels above SKU x region forecast on their own and
reconciled with it: MinT, bottom-up or top-down), :mod:`~sopkit.demand.naive` (the benchmark),
:mod:`~sopkit.demand.accuracy` (backtests by lag and their summaries; the accuracy of
earlier plans of record and the value their adjustments added, by author) and
:mod:`~sopkit.demand.consensus` (sales and marketing inputs, end of life, each
adjustment kept with its author). The artifacts (``forecast``, ``forecast_models``,
``forecast_levels``, ``level_models``, ``accuracy``, ``reconciliation_accuracy``,
``demand_plan``, ``adjustments``) are described in :mod:`sopkit.schemas`.
Ratios (wape, bias, mape, accuracy) are fractions: 0.12 means 12 %.
"""

from sopkit.demand._common import ACCURACY_LEVELS, MEAN_FALLBACK, SEASONAL_NAIVE
from sopkit.demand.accuracy import (
    PLAN_ACCURACY_LEVELS,
    Backtest,
    accuracy_by_family,
    backtest,
    backtest_seasonal_naive,
    backtest_statistical,
    plan_accuracy,
    pooled_wape,
    summarise_accuracy,
    summarise_mase_coverage,
    summarise_plan_accuracy,
    value_added_by_author,
    value_added_over_naive,
)
from sopkit.demand.backend import forecast_executor
from sopkit.demand.consensus import (
    RULE_AUTHOR,
    Consensus,
    build_demand_plan,
    list_adjustments,
    make_consensus,
    unmatched_inputs,
)
from sopkit.demand.engine import FittedForecast, ForecastResult, forecast
from sopkit.demand.levels import (
    LevelBacktest,
    LevelPlan,
    backtest_levels,
    first_level_choices,
    forecast_levels,
    method_summary,
    plan_levels,
    reconcile_plan,
    reconciliation_sentence,
    stack_level_models,
)
from sopkit.demand.naive import seasonal_naive_forecast
from sopkit.demand.statistical import (
    STATISTICAL,
    StatisticalForecast,
    first_choices,
    model_choice,
    stack_models,
    statistical_forecast,
    warm_start,
)

__all__ = [
    "ACCURACY_LEVELS",
    "MEAN_FALLBACK",
    "PLAN_ACCURACY_LEVELS",
    "RULE_AUTHOR",
    "SEASONAL_NAIVE",
    "STATISTICAL",
    "Backtest",
    "Consensus",
    "FittedForecast",
    "ForecastResult",
    "LevelBacktest",
    "LevelPlan",
    "StatisticalForecast",
    "accuracy_by_family",
    "backtest",
    "backtest_levels",
    "backtest_seasonal_naive",
    "backtest_statistical",
    "build_demand_plan",
    "first_choices",
    "first_level_choices",
    "forecast",
    "forecast_executor",
    "forecast_levels",
    "list_adjustments",
    "make_consensus",
    "method_summary",
    "model_choice",
    "plan_accuracy",
    "plan_levels",
    "pooled_wape",
    "reconcile_plan",
    "reconciliation_sentence",
    "seasonal_naive_forecast",
    "stack_level_models",
    "stack_models",
    "statistical_forecast",
    "summarise_accuracy",
    "summarise_mase_coverage",
    "summarise_plan_accuracy",
    "unmatched_inputs",
    "value_added_by_author",
    "value_added_over_naive",
    "warm_start",
]
