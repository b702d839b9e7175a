"""Constants and checks shared by the demand modules."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sopkit.errors import SopError
from sopkit.schemas import columns

SEASONAL_NAIVE = "seasonal_naive"
MEAN_FALLBACK = "mean_fallback"
#: a new series' point forecast is the mean of at most this many of its last months.
FALLBACK_MONTHS = 3

#: Levels of the ``accuracy`` artifact, from the most pooled to the plan's own level:
#: errors are summed over all SKUs, a family, a SKU (its regions), or not at all
#: (``sku_region``: each SKU in each region, the level the plan is made).
ACCURACY_LEVELS = ("total", "family", "sku", "sku_region")
ACCURACY_COLUMNS = columns("accuracy")
DEMAND_PLAN_COLUMNS = columns("demand_plan")
ADJUSTMENTS_COLUMNS = columns("adjustments")


# --------------------------------------------------------------------------- checks


def _check_levels(levels: Sequence[float]) -> list[float]:
    levels = list(levels)
    bad = [lv for lv in levels if not (isinstance(lv, (int, float)) and 0 < lv < 100)]
    if bad:
        raise SopError(
            f"Every interval level must be a percentage strictly between 0 and 100; got {bad}."
        )
    if len(set(levels)) != len(levels):
        raise SopError(f"Interval levels must be distinct; got {levels}.")
    return levels


def _level_name(level: float) -> str:
    return f"{level:g}"


def _ym(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m")
