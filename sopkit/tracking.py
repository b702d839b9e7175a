"""Stage 4: the plans of earlier cycles held against what happened, and why the plan changed.

Each completed cycle left its plan of record in the plan archive (``reports/<cycle>/``):
the demand it planned (``demand_plan.consensus``), what it planned to ship
(``supply_plan.shipments``) and the revenue of those shipments (``financials.revenue``).
Once a planned month has passed, :func:`plan_vs_actuals` sets each of them beside what
happened, per family and month:

- **actual demand**: what was sold (``sales_history``), the quantity the demand plan
  forecasts (as stage 2's plan accuracy measures it);
- **actual shipments**: what the order lines shipped that month (``shipped_qty`` by
  ``shipped_date``) over the months the order lines cover (from the first whole month to
  the last month anything shipped); the sales history outside them, or where there are
  no order lines;
- **actual revenue**: actual shipments x today's ``unit_price`` (history carries no
  prices, so a price change shows as volume, as in :func:`sopkit.finance.actuals_vs_budget`).

The lag is the number of months from the planning cycle to the month, plus 1: lag 1 is
a cycle's own month, lag 3 the month planned two months ahead. :func:`tracking_summary`
pools the rows of a lag per family and in total: forecast accuracy (WAPE and bias of the
planned demand), and plan attainment (actual shipments and revenue over planned).

:func:`plan_changes` explains how the plan moved since the previous cycle, over the months
both plan, in units shipped and revenue, each part computed from the two cycles'
artifacts (see its notes); the parts add up exactly to the change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit._checks import family_of, month_start, require_columns
from sopkit.errors import SopError
from sopkit.schemas import ARTIFACTS, columns

__all__ = [
    "CHANGE_INPUTS",
    "TRACKING_COLUMNS",
    "TRACKING_LAGS",
    "no_changes",
    "plan_changes",
    "plan_vs_actuals",
    "tracking_summary",
]

TRACKING_COLUMNS = columns("plan_tracking")
#: the lags the summary reports by default: the cycle's own month, and two months later
TRACKING_LAGS = (1, 3)


def _months(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def _by_family(frame: pd.DataFrame, products: pd.DataFrame, value: str, table: str) -> pd.Series:
    """``value`` summed per cycle, family and month."""
    fam = family_of(products, frame["sku"], table).to_numpy()
    return frame.assign(family=fam).groupby(["cycle", "family", "month"])[value].sum()


def plan_vs_actuals(
    earlier_demand: pd.DataFrame,
    earlier_supply: pd.DataFrame,
    earlier_financials: pd.DataFrame,
    sales_history: pd.DataFrame,
    order_lines: pd.DataFrame | None,
    products: pd.DataFrame,
    cycle: pd.Timestamp | str,
) -> pd.DataFrame:
    """Earlier cycles' plans for the months that have passed, against what happened.

    Parameters
    ----------
    earlier_demand, earlier_supply, earlier_financials : pandas.DataFrame
        The ``demand_plan``, ``supply_plan`` and ``financials`` artifacts of the earlier
        cycles, stacked with a ``cycle`` column ("YYYY-MM") first, as
        ``ctx.earlier(...)`` returns them. All empty on a first cycle.
    sales_history : pandas.DataFrame
        sku, region, month, qty, up to the month before ``cycle``.
    order_lines : pandas.DataFrame or None
        sku, shipped_date, shipped_qty (the data contract's order lines); None or empty:
        shipments are the sales history.
    products : pandas.DataFrame
        sku, family, unit_price.
    cycle : pandas.Timestamp or str
        The current cycle: months before it that the history covers are measured.

    Returns
    -------
    pandas.DataFrame
        One row per earlier cycle, family and passed month it planned: cycle, lag,
        family, month, planned_demand, actual_demand, planned_shipments,
        actual_shipments, planned_revenue, actual_revenue. Empty without an earlier plan
        or a passed month.

    Raises
    ------
    SopError
        A missing column; a SKU without a product row.
    """
    cycle = month_start(cycle)
    if earlier_demand is None or earlier_demand.empty:
        return ARTIFACTS["plan_tracking"].empty()
    require_columns(earlier_demand, "demand_plan (earlier cycles)", ["cycle", "sku", "month",
                                                                    "consensus"])  # fmt: skip
    require_columns(sales_history, "sales_history", ["sku", "month", "qty"])
    require_columns(products, "products", ["sku", "family", "unit_price"])
    last = sales_history["month"].max() if len(sales_history) else pd.NaT

    def passed(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.loc[(frame["month"] < cycle) & (frame["month"] <= last)]

    parts = [passed(earlier_demand).pipe(_by_family, products, "consensus", "demand_plan")
             .rename("planned_demand")]  # fmt: skip
    for frame, value, name, table in (
        (earlier_supply, "shipments", "planned_shipments", "supply_plan"),
        (earlier_financials, "revenue", "planned_revenue", "financials"),
    ):
        if frame is None or frame.empty:
            continue
        if table == "financials":
            require_columns(frame, table, ["cycle", "family", "month", value])
            part = passed(frame).groupby(["cycle", "family", "month"])[value].sum()
        else:
            require_columns(frame, table, ["cycle", "sku", "month", value])
            part = _by_family(passed(frame), products, value, table)
        parts.append(part.rename(name))
    planned = pd.concat(parts, axis=1).reset_index()
    if planned.empty:
        return ARTIFACTS["plan_tracking"].empty()

    sold = sales_history.assign(month=_months(sales_history["month"]))
    sold = sold.assign(family=family_of(products, sold["sku"], "sales_history").to_numpy())
    demand = sold.groupby(["family", "month"])["qty"].sum().rename("actual_demand")
    shipped = _shipments(sold, order_lines)
    shipped = shipped.assign(family=family_of(products, shipped["sku"], "order_lines").to_numpy())
    price = shipped["sku"].map(products.set_index("sku")["unit_price"]).fillna(0.0)
    shipped["revenue"] = shipped["qty"] * price
    actual = pd.concat(
        [
            demand,
            shipped.groupby(["family", "month"])["qty"].sum().rename("actual_shipments"),
            shipped.groupby(["family", "month"])["revenue"].sum().rename("actual_revenue"),
        ],
        axis=1,
    ).fillna(0.0)
    out = planned.merge(actual.reset_index(), on=["family", "month"], how="left")
    for col in TRACKING_COLUMNS[4:]:
        out[col] = out[col].astype(float).fillna(0.0) if col in out.columns else np.nan
    start = pd.to_datetime(out["cycle"].astype(str), format="%Y-%m")
    out["lag"] = (
        (out["month"].dt.year - start.dt.year) * 12 + out["month"].dt.month - start.dt.month + 1
    )
    out = out.sort_values(["cycle", "family", "month"], ignore_index=True)
    return out[TRACKING_COLUMNS]


def _shipments(sold: pd.DataFrame, order_lines: pd.DataFrame | None) -> pd.DataFrame:
    """sku, month, qty shipped: the order lines over the months they cover, else sales."""
    if order_lines is None or order_lines.empty:
        return sold[["sku", "month", "qty"]]
    require_columns(order_lines, "order_lines", ["sku", "shipped_date", "shipped_qty"])
    lines = order_lines.dropna(subset=["shipped_date"])
    if lines.empty:
        return sold[["sku", "month", "qty"]]
    lines = pd.DataFrame(
        {
            "sku": lines["sku"],
            "month": _months(lines["shipped_date"]),
            "qty": lines["shipped_qty"].fillna(0.0).astype(float),
        }
    )
    # the first month is partly covered when the lines start after its first day
    first = lines["month"].min()
    if pd.to_datetime(order_lines["shipped_date"]).min() > first:
        first = first + pd.DateOffset(months=1)
    last = lines["month"].max()  # months after the last line shipped: the sales history
    lines = lines.loc[lines["month"] >= first]
    outside = sold.loc[(sold["month"] < first) | (sold["month"] > last), ["sku", "month", "qty"]]
    return pd.concat([outside, lines], ignore_index=True)


def tracking_summary(tracked: pd.DataFrame, lags: tuple[int, ...] = TRACKING_LAGS) -> pd.DataFrame:
    """Forecast accuracy and plan attainment of earlier plans, per lag and family.

    Parameters
    ----------
    tracked : pandas.DataFrame
        :func:`plan_vs_actuals`.
    lags : tuple of int, default (1, 3)
        The lags reported.

    Returns
    -------
    pandas.DataFrame
        One row per lag and family, then a ``total`` row per lag (family "Total", level
        "total"): lag, level, family, months (cycle-months pooled), planned_demand,
        actual_demand, wape (sum of |planned - actual| over the family's months, over
        the actual), bias ((planned - actual) / actual; positive: planned too much),
        planned_shipments, actual_shipments, attainment (actual / planned shipments),
        planned_revenue, actual_revenue, revenue_attainment.
    """
    require_columns(tracked, "plan_vs_actuals", TRACKING_COLUMNS)
    cols = ["lag", "level", "family", "months", "planned_demand", "actual_demand", "wape",
            "bias", "planned_shipments", "actual_shipments", "attainment", "planned_revenue",
            "actual_revenue", "revenue_attainment"]  # fmt: skip
    if any(not isinstance(lag, (int, np.integer)) or lag < 1 for lag in lags):
        raise SopError(f"lags must be whole numbers of 1 or more; got {lags!r}.")
    part = tracked.loc[tracked["lag"].isin(lags)].copy()
    if part.empty:
        return pd.DataFrame(columns=cols)
    part["abs_error"] = (part["planned_demand"] - part["actual_demand"]).abs()
    values = ["planned_demand", "actual_demand", "planned_shipments", "actual_shipments",
              "planned_revenue", "actual_revenue"]  # fmt: skip
    fam = part.groupby(["lag", "family"]).agg(
        months=("month", "size"), abs_error=("abs_error", "sum"), **{v: (v, "sum") for v in values}
    )
    # the total's error: families summed per cycle-month first, so opposite errors cancel
    total_rows = part.groupby(["lag", "cycle", "month"])[values].sum()
    total_rows["abs_error"] = (total_rows["planned_demand"] - total_rows["actual_demand"]).abs()
    total = total_rows.groupby("lag").agg(
        months=("abs_error", "size"),
        abs_error=("abs_error", "sum"),
        **{v: (v, "sum") for v in values},
    )
    total["family"] = "Total"
    out = pd.concat(
        [fam.reset_index().assign(level="family"), total.reset_index().assign(level="total")],
        ignore_index=True,
    )
    actual = out["actual_demand"].where(out["actual_demand"] > 0)
    out["wape"] = out["abs_error"] / actual
    out["bias"] = (out["planned_demand"] - out["actual_demand"]) / actual
    out["attainment"] = out["actual_shipments"] / out["planned_shipments"].where(
        out["planned_shipments"] > 0
    )
    out["revenue_attainment"] = out["actual_revenue"] / out["planned_revenue"].where(
        out["planned_revenue"] > 0
    )
    out["_total"] = out["level"] == "total"
    out = out.sort_values(["lag", "_total", "family"], ignore_index=True)
    return out[cols]


#: the artifacts (and input table) of a cycle that :func:`plan_changes` reads
CHANGE_INPUTS = ("demand_plan", "adjustments", "supply_plan", "forecast_models", "products")
_DEMAND_KEY = ["sku", "region", "month"]


def plan_changes(previous: dict, current: dict) -> pd.DataFrame:
    """Why the plan changed since the previous cycle: the change split into its causes.

    Over the months both cycles plan, per SKU (and region where demand is planned), the
    change in units shipped is split, exactly, into:

    - **new actuals**: the change of the statistical forecast of the series whose model is
      the one the previous cycle used (the same model run on a longer history: only the
      data moved it);
    - **forecast models**: the change of the statistical forecast of the other series (a
      model chosen anew, a series new or gone), the reconciliation included;
    - **adjustments by <author>**: the change of each author's adjustments (sopkit's
      end-of-life rule is the author "sopkit");
    - **demand floor**: consensus is statistical + adjustment floored at 0; the change of
      what the floor added (0 where it never bit);
    - **supply constraints**: the change of shipments - consensus (demand the supply plan
      holds back, or catches up from backlog);

    and the revenue of each at the previous cycle's prices, with **prices** the current
    shipments x (current price - previous price). A SKU priced in one cycle only is
    valued at that price.

    A cycle planned under a scenario is compared as planned: give its ``scenario``, and its
    consensus and prices are changed as :func:`sopkit.scenarios.replan` changed them (the
    consensus change of a scenario shows as "scenario demand").

    Parameters
    ----------
    previous, current : dict
        Each cycle's :data:`CHANGE_INPUTS`: ``demand_plan`` (sku, region, month,
        statistical, adjustment, consensus), ``adjustments`` (sku, region, month, author,
        effect), ``supply_plan`` (sku, month, shipments), ``forecast_models`` (run, sku,
        region, model) and ``products`` (sku, family, unit_price, the input table); and
        optionally ``scenario`` (a :class:`sopkit.config.Scenario` or mapping).

    Returns
    -------
    pandas.DataFrame
        The ``plan_changes`` artifact: one row per family (and ``Total``, level
        "total") and part, in waterfall order: level, family, part (``previous plan``,
        the causes, ``current plan``), units, revenue, first_month, last_month (the
        common months). The causes of a family add up to its current minus previous
        plan. Empty when the cycles share no month.

    Raises
    ------
    SopError
        A missing table or column; a SKU without a product row.
    """
    for name, cycle in (("previous", previous), ("current", current)):
        missing = [t for t in CHANGE_INPUTS if t not in cycle]
        if missing:
            raise SopError(f"plan_changes: the {name} cycle lacks {', '.join(missing)}.")
    moved = any(_moves_demand(c.get("scenario")) for c in (previous, current))
    previous, current = _as_planned(previous), _as_planned(current)
    months = sorted(
        set(previous["supply_plan"]["month"]) & set(current["supply_plan"]["month"])
        & set(previous["demand_plan"]["month"]) & set(current["demand_plan"]["month"])
    )  # fmt: skip
    if not months:
        return no_changes()
    parts = {}
    d_prev = _demand(previous, months)
    d_cur = _demand(current, months)
    demand = d_prev.join(d_cur, how="outer", lsuffix="_p", rsuffix="_c").fillna(0.0)
    same = _same_model(previous["forecast_models"], current["forecast_models"], demand.index)
    delta = demand["statistical_c"] - demand["statistical_p"]
    parts["new actuals"] = delta.where(same, 0.0)
    parts["forecast models"] = delta.where(~same, 0.0)
    before = _by_author(previous["adjustments"], months).reindex(demand.index, fill_value=0.0)
    after = _by_author(current["adjustments"], months).reindex(demand.index, fill_value=0.0)
    for author in sorted(set(before.columns) | set(after.columns), key=str):
        a, b = (f[author] if author in f.columns else 0.0 for f in (after, before))
        parts[f"adjustments by {author}"] = a - b
    # adjustments the demand plan holds that no author's row accounts for
    unattributed = (demand["adjustment_c"] - after.sum(axis=1)) - (
        demand["adjustment_p"] - before.sum(axis=1)
    )
    if (unattributed.abs() > 1e-9).any():
        parts["adjustments without an author's record"] = unattributed
    # consensus = statistical + adjustment, floored at 0 (and moved by a scenario)
    rest = {
        x: demand[f"consensus{x}"] - demand[f"statistical{x}"] - demand[f"adjustment{x}"]
        for x in ("_p", "_c")
    }
    parts["scenario demand" if moved else "demand floor"] = rest["_c"] - rest["_p"]
    # rows planned at 0 in both cycles (ended items) did not move: their parts cancel
    still = (demand["consensus_p"] == 0) & (demand["consensus_c"] == 0)
    parts = {k: v.where(~still, 0.0) for k, v in parts.items()}
    # every demand part summed over regions: per SKU and month, like the supply plan
    sku_parts = pd.DataFrame(parts).groupby(level=["sku", "month"]).sum()
    consensus = demand[["consensus_p", "consensus_c"]].groupby(level=["sku", "month"]).sum()
    ship = _shipments_of(previous, months).to_frame("shipped_p").join(
        _shipments_of(current, months).to_frame("shipped_c"), how="outer"
    )  # fmt: skip
    grid = sku_parts.index.union(ship.index)
    sku_parts = sku_parts.reindex(grid, fill_value=0.0)
    ship = ship.reindex(grid).fillna(0.0)
    consensus = consensus.reindex(grid).fillna(0.0)
    sku_parts["supply constraints"] = (ship["shipped_c"] - consensus["consensus_c"]) - (
        ship["shipped_p"] - consensus["consensus_p"]
    )
    p_prev, p_cur, family = _prices(previous["products"], current["products"], grid)
    units = sku_parts.assign(family=family)
    revenue = sku_parts.mul(p_prev, axis=0).assign(family=family)
    ends = pd.DataFrame({"family": family, "previous plan": ship["shipped_p"],
                         "current plan": ship["shipped_c"]})  # fmt: skip
    ends_rev = pd.DataFrame(
        {"family": family, "previous plan": ship["shipped_p"] * p_prev,
         "current plan": ship["shipped_c"] * p_cur, "prices": ship["shipped_c"] * (p_cur - p_prev)}
    )  # fmt: skip
    order = ["previous plan", *sku_parts.columns, "prices", "current plan"]
    u = units.join(ends.drop(columns="family")).assign(prices=0.0)
    r = revenue.join(ends_rev.drop(columns="family"))
    rows = []
    for level, key in (("family", "family"), ("total", None)):
        gu = u.groupby(key)[order].sum() if key else u[order].sum().to_frame("Total").T
        gr = r.groupby(key)[order].sum() if key else r[order].sum().to_frame("Total").T
        for fam in gu.index:
            for part in order:
                rows.append({"level": level, "family": fam, "part": part,
                             "units": float(gu.loc[fam, part]),
                             "revenue": float(gr.loc[fam, part])})  # fmt: skip
    out = pd.DataFrame(rows)
    # float noise of a part that did not move (1e-15 units) reads as 0
    for col in ("units", "revenue"):
        scale = max(1.0, float(out[col].abs().max()))
        out.loc[out[col].abs() < 1e-9 * scale, col] = 0.0
    out["first_month"], out["last_month"] = months[0], months[-1]
    out["first_month"] = pd.to_datetime(out["first_month"])
    out["last_month"] = pd.to_datetime(out["last_month"])
    return out[columns("plan_changes")]


def _demand(cycle: dict, months: list) -> pd.DataFrame:
    plan = cycle["demand_plan"]
    require_columns(plan, "demand_plan", [*_DEMAND_KEY, "statistical", "adjustment", "consensus"])
    plan = plan.loc[plan["month"].isin(months)]
    return plan.groupby(_DEMAND_KEY)[["statistical", "adjustment", "consensus"]].sum()


def _by_author(adjustments: pd.DataFrame, months: list) -> pd.DataFrame:
    require_columns(adjustments, "adjustments", [*_DEMAND_KEY, "author", "effect"])
    adj = adjustments.loc[adjustments["month"].isin(months)]
    adj = adj.assign(author=adj["author"].fillna("(no author)").astype(str))
    if adj.empty:
        return pd.DataFrame(index=pd.MultiIndex.from_arrays([[], [], []], names=_DEMAND_KEY))
    return adj.pivot_table(index=_DEMAND_KEY, columns="author", values="effect", aggfunc="sum",
                           fill_value=0.0)  # fmt: skip


def _same_model(prev: pd.DataFrame, cur: pd.DataFrame, index: pd.MultiIndex) -> pd.Series:
    """True for the series whose forecast-run model is the same in both cycles."""
    key = ["sku", "region"]
    models = []
    for frame in (prev, cur):
        require_columns(frame, "forecast_models", ["run", *key, "model"])
        rows = frame.loc[frame["run"] == "forecast"]
        models.append(rows.drop_duplicates(key).set_index(key)["model"])
    both = models[0].to_frame("p").join(models[1].to_frame("c"), how="inner")
    kept = both.index[both["p"] == both["c"]]
    series = pd.MultiIndex.from_arrays([index.get_level_values("sku"),
                                        index.get_level_values("region")])  # fmt: skip
    return pd.Series(series.isin(kept), index=index)


def _shipments_of(cycle: dict, months: list) -> pd.Series:
    plan = cycle["supply_plan"]
    require_columns(plan, "supply_plan", ["sku", "month", "shipments"])
    plan = plan.loc[plan["month"].isin(months)]
    return plan.groupby(["sku", "month"])["shipments"].sum()


def _prices(prev: pd.DataFrame, cur: pd.DataFrame, grid: pd.MultiIndex):
    """Each row's previous and current unit_price and family; one cycle's if the other lacks it."""
    for frame in (prev, cur):
        require_columns(frame, "products", ["sku", "family", "unit_price"])
    skus = pd.Series(grid.get_level_values("sku"), index=grid)
    p_prev = skus.map(prev.set_index("sku")["unit_price"])
    p_cur = skus.map(cur.set_index("sku")["unit_price"])
    p_prev, p_cur = p_prev.fillna(p_cur).fillna(0.0), p_cur.fillna(p_prev).fillna(0.0)
    family = skus.map(cur.set_index("sku")["family"]).fillna(
        skus.map(prev.set_index("sku")["family"])
    )
    if family.isna().any():
        unknown = sorted(set(skus[family.isna()]))[:5]
        raise SopError(f"plan_changes: SKU(s) {', '.join(map(str, unknown))} have no product row.")
    return p_prev, p_cur, family


def no_changes() -> pd.DataFrame:
    """An empty ``plan_changes`` table (a first cycle of record has nothing to compare)."""
    return ARTIFACTS["plan_changes"].empty()


def _as_planned(cycle: dict) -> dict:
    """The cycle's demand plan and prices with its scenario applied, as replan applies it."""
    scenario = cycle.get("scenario")
    if scenario is None:
        return {k: v for k, v in cycle.items() if k != "scenario"}
    from sopkit.scenarios import apply_scenario

    none = pd.DataFrame({"resource": [], "regular_hours": [], "max_overtime_hours": []})
    plan, products, _ = apply_scenario(cycle["demand_plan"], cycle["products"], none, scenario)
    return {**cycle, "demand_plan": plan, "products": products}


def _moves_demand(scenario) -> bool:
    """Whether a scenario changes the consensus (overall or for a family)."""
    if scenario is None:
        return False
    from sopkit.scenarios import validate_scenario

    scn = validate_scenario(scenario)
    return bool(scn.demand_change_pct) or any(scn.family_demand_change_pct.values())
