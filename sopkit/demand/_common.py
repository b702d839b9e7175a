"""Constants and checks shared by the demand modules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sopkit._checks import reject_duplicates, require_columns
from sopkit.errors import SopError
from sopkit.schemas import columns

SEASONAL_NAIVE = "seasonal_naive"
MEAN_FALLBACK = "mean_fallback"
#: a new series' point forecast is the mean of at most this many of its last months.
FALLBACK_MONTHS = 3

ACCURACY_LEVELS = ("total", "family", "sku")
ACCURACY_COLUMNS = columns("accuracy")
DEMAND_PLAN_COLUMNS = columns("demand_plan")


# --------------------------------------------------------------------------- checks


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SopError(f"{name} must be a whole number of months, 1 or more; got {value!r}.")
    return int(value)


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


def _month_number(months: pd.Series) -> np.ndarray:
    """Months as consecutive integers, so month arithmetic is integer arithmetic."""
    return (months.dt.year * 12 + months.dt.month - 1).to_numpy(dtype=np.int64)


def _ym(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m")


def _family_lookup(products: pd.DataFrame, skus: pd.Series, where: str) -> pd.Series:
    """The family of each sku, raising when the products table does not know one."""
    require_columns(products, "products", ["sku", "family"])
    reject_duplicates(products, "products", ["sku"])
    family = skus.map(products.set_index("sku")["family"])
    unknown = family.isna()
    if unknown.any():
        names = sorted(skus[unknown].unique())[:10]
        raise SopError(
            f"{where}: sku(s) {names} have no family in the products table; add them to "
            "products (with a family) or remove them from the data."
        )
    return family
