"""Columns and helpers shared by the supply modules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sopkit._checks import reject_duplicates, require_columns
from sopkit.errors import SopError
from sopkit.schemas import columns

SUPPLY_PLAN_COLUMNS = columns("supply_plan")
CAPACITY_COLUMNS = columns("capacity")
MATERIALS_COLUMNS = columns("materials")

#: utilisation up to this share of regular hours is "ok"; above it, up to 100 %, "tight".
TIGHT_ABOVE = 0.85


def _require_plan(supply_plan: pd.DataFrame) -> None:
    require_columns(supply_plan, "supply_plan", ["sku", "month", "production"])
    if supply_plan.empty:
        raise SopError(
            "supply_plan is empty: there is no production to check. "
            "Build it with plan_production() from a demand plan that has rows."
        )


def _plan_months(plan: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.sort(plan["month"].unique()), name="month")


def _shipments(plan: pd.DataFrame) -> pd.Series:
    """Units shipped per SKU and month: demand + backlog carried in - backlog carried out.

    ``plan`` is sorted by SKU and month and has ``sku``, ``demand`` and ``backlog``; the
    first plan month carries no backlog in (the data contract has no opening backlog).
    Every supply planner (netting now, the optimisation model later) derives its
    shipments here, so finance values the same quantity whichever planned.
    """
    carried_in = plan.groupby("sku", sort=False)["backlog"].shift(1, fill_value=0.0)
    return plan["demand"] + carried_in - plan["backlog"]


def _resolve_by_month(
    table: pd.DataFrame,
    name: str,
    key: str,
    keys: Iterable[str],
    months: pd.DatetimeIndex,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Return one row per key x month: the month's own row if any, else the NaT row.

    A month-specific row replaces the general row as a whole (all ``columns``), so a
    planner reads one row to know what applies. No row at all gives NaN.
    """
    table = table if "month" in table.columns else table.assign(month=pd.NaT)
    reject_duplicates(table, name, [key, "month"])
    grid = pd.MultiIndex.from_product([sorted(set(keys)), months], names=[key, "month"]).to_frame(
        index=False
    )
    general = table.loc[table["month"].isna(), [key, *columns]]
    specific = table.loc[table["month"].notna(), [key, "month", *columns]]
    by_month = grid.merge(specific, on=[key, "month"], how="left", indicator=True)
    by_key = grid.merge(general, on=key, how="left")
    own = (by_month.pop("_merge") == "both").to_numpy()
    for col in columns:
        grid[col] = by_month[col].where(own, by_key[col])
    return grid
