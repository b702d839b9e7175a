"""Forecast reconciliation: the plan adds up at every level of the hierarchy.

The plan is made per SKU x region x month, the *bottom* level; it is also read by
family, by region, by family x region, by SKU and in total. Forecasts made at each level
separately (the *base* forecasts) do not add up. :func:`reconcile` turns them into
*coherent* ones: the bottom forecasts are chosen by a method, and every other level is
their sum through the summing matrix S (one row per node of the hierarchy, one column
per SKU x region series, a 1 where the series belongs to the node; a
``scipy.sparse`` matrix, built by :func:`summing_matrix`).

**Levels** (:data:`LEVEL_KEYS`): ``total``, ``family``, ``region``, ``family_region``,
``sku``, ``sku_region`` (the bottom). A subset may be reconciled (the bottom must be in
it). Families come from ``products`` (sku -> family); the regions are those of the
bottom series.

**Tables** are long, one row per node and month, with the columns ``level``, the key
columns of the level (``family``, ``region``, ``sku``; the others are ignored and
returned empty), ``month``, and the values: the ``base`` forecasts have ``yhat``,
``yhat_lo_80``, ``yhat_hi_80``, ``yhat_lo_95``, ``yhat_hi_95`` (the engine's columns);
the ``residuals`` of the base models have ``residual``. :func:`aggregate` sums a
SKU x region table (the sales history, say) to every level in this shape, with a
``unique_id`` per node, ready for :func:`sopkit.demand.engine.forecast`.

**Methods** (:data:`METHODS`):

- ``bottom_up``: the bottom base forecasts, summed up.
- ``top_down``: the total base forecast split by historical proportions, Gross & Sohl
  (1990) method A, "Disaggregation methods to expedite product line forecasting",
  *Journal of Forecasting* 9(3), 233-254 (also FPP3, section 11.2): each series' share
  is the average over the months of ``history`` of its share of that month's total
  (months whose total is 0 are skipped), from the series' first sale in those months on
  (an item launched during them is not diluted by the months before its launch; Gross &
  Sohl average over every month). Proportions know nothing of launches and ends,
  so two rules come first: a series without history in those months (a new item) keeps
  its own base forecast, taken off the total; a series whose base forecast is 0 in a
  month (an item ended, not launched yet, or never sold) stays 0 there. The rest of the
  total is split among the others by their proportions, rescaled to add up to 1 (in a
  month where none is left, the series keep their base forecasts: bottom-up).
- ``mint_shrink``: MinT, the minimum-trace reconciliation of Wickramasuriya,
  Athanasopoulos & Hyndman (2019), "Optimal forecast reconciliation for hierarchical
  and grouped time series through trace minimization", *JASA* 114(526), 804-819, with
  the covariance W of the base forecast errors estimated from ``residuals`` (one-step
  in-sample errors, or backtest errors, actual - forecast, of every node over the same
  months) and shrunk as Schäfer & Strimmer (2005), "A shrinkage approach to large-scale
  covariance matrix estimation ...", *Stat. Appl. Genet. Mol. Biol.* 4(1), propose, the
  way the MinT authors'
  R package ``hts`` (``shrink.estim``) does: W = lambda D + (1 - lambda) Sigma, with
  Sigma = R'R / T (R the T x n residual matrix, not centred), D its diagonal and lambda
  the estimated intensity (or ``shrinkage`` if given; 1 is MinT with the variances only,
  "WLS").

**How MinT is computed at scale.** At 50,000 bottom series the hierarchy has about
60,000 nodes, so a dense W would take 29 GB and the usual formula
G = (S'W^-1 S)^-1 S'W^-1 needs a dense 50,000 x 50,000 system. Neither is formed. W is
a diagonal plus a matrix of rank T (T, the residual months, is small): W = L + U U',
with L = lambda D and U = R' sqrt((1 - lambda) / T). MinT is solved in its equivalent
form on the constraints C y = 0, C = [I, -A] (A the aggregation rows of S):
y~ = y^ - W C'(C W C')^-1 C y^. C W C' = (L_a + A L_b A') + V V' with V = C U: the first
part is sparse (an aggregate meets only the aggregates its series share), of the size
of the aggregates only (about 10,300 at 50,000 series), and factored once by SuperLU;
the rank-T part is added by the Woodbury identity. Memory is linear in the number of
series; a solve of 50,000 series takes seconds (``benchmarks/hierarchy.py``).
**Zero base forecasts stay 0.** A bottom series whose base forecast is 0 in a month (an
item ended, not launched yet, or never sold) is held at 0 there: MinT reconciles the
other series only (W and the summing matrix without that series' column, so each
distinct pattern of such series over the months is one more factorisation). Without
this rule MinT spreads the incoherence over every series and plans sales for items that
cannot sell.

A variance of 0 (a node forecast without error over the residual months) is raised
to 1/10,000 of its level's median variance, and lambda is kept at least 0.001, so that
W stays invertible.

**Non-negativity.** Base forecasts must not be negative, so bottom-up and top-down
never are. MinT can give a negative bottom forecast; those are set to 0 and every level
is then summed from the bottom again, so coherence stays exact (``Reconciled.clipped``
counts them). This is the simple heuristic, not the non-negative least-squares
projection of Wickramasuriya, Turlach & Hyndman (2020), "Optimal non-negative forecast
reconciliation", *Statistics and Computing* 30, which would need a quadratic programme
per month.

**Intervals.** Bounds of a sum are not sums of bounds (quantiles do not add), so each
node keeps the spread of its own base forecast, re-centred on its reconciled point:
hi = y~ + (hi^ - y^) and lo = max(0, y~ - (y^ - lo^)). Where a base lower bound is 0 it
may have been clipped at 0, and its real distance to y^ is unknown; the larger of y^
and the upper half-width is used instead. Bounds stay ordered (lo_95 <= lo_80 <= yhat
<= hi_80 <= hi_95) and never negative. For MinT this errs on the safe side: when W is
the true error covariance (and the h-step one proportional to it, MinT's usual
assumption), the reconciled error variance of every node is no larger than its base
variance (W - S(S'W^-1 S)^-1 S' is positive semi-definite), so the base spread is an
upper bound. Bottom-up and top-down have no such guarantee. Scaling the spread by
y~ / y^ (relative half-widths) was not chosen: it explodes where y^ is near 0, which
intermittent series often are.

**Why not hierarchicalforecast** (Nixtla): its ``MinTrace(method="mint_shrink")``
builds the dense n x n covariance (29 GB at 50,000 series) and its sparse reconciler
(``MinTraceSparse``) offers only OLS and WLS; it would also bring matplotlib,
narwhals, qpsolvers and utilsforecast.

Examples
--------
Base forecasts at every level from the engine, reconciled bottom-up (``base`` needs
every node in every month, so every series of the panel must reach the same last month:
give months without sales a 0, as :func:`sopkit.demand.statistical_forecast` does):

>>> from sopkit.demand import forecast
>>> hist = aggregate(ds.sales_history, ds.products)  # doctest: +SKIP
>>> panel = hist.rename(columns={"month": "ds", "qty": "y"})  # doctest: +SKIP
>>> fc = forecast(panel[["unique_id", "ds", "y"]], 18)  # doctest: +SKIP
>>> nodes = hist.drop_duplicates("unique_id").drop(columns=["month", "qty"])  # doctest: +SKIP
>>> fc = fc.rename(columns={"ds": "month"})  # doctest: +SKIP
>>> base = fc.merge(nodes, on="unique_id")  # doctest: +SKIP
>>> rec = reconcile(base, ds.products, method="bottom_up")  # doctest: +SKIP
>>> rec.forecast.query("level == 'family'")  # doctest: +SKIP
>>> rec.bottom  # sku, region, month, yhat and bounds  # doctest: +SKIP

With backtest errors of every node (level, keys, month, residual), MinT:

>>> rec = reconcile(base, ds.products, method="mint_shrink", residuals=errors)  # doctest: +SKIP
>>> rec.shrinkage, rec.clipped  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import splu

from sopkit._checks import family_of, require_columns
from sopkit.demand._common import _check_levels, _level_name
from sopkit.errors import SopError

__all__ = [
    "BOTTOM",
    "INTERVAL_LEVELS",
    "KEY_COLUMNS",
    "LEVELS",
    "LEVEL_KEYS",
    "METHODS",
    "Hierarchy",
    "Reconciled",
    "aggregate",
    "reconcile",
    "summing_matrix",
]

#: the levels of the hierarchy, from the top, and the key columns that name a node of each
LEVEL_KEYS: dict[str, tuple[str, ...]] = {
    "total": (),
    "family": ("family",),
    "region": ("region",),
    "family_region": ("family", "region"),
    "sku": ("sku",),
    "sku_region": ("sku", "region"),
}
LEVELS = tuple(LEVEL_KEYS)
#: the level the plan is made at: every other level is a sum of its series
BOTTOM = "sku_region"
KEY_COLUMNS = ("family", "region", "sku")
METHODS = ("bottom_up", "top_down", "mint_shrink")
#: prediction-interval coverages reconciled by default, in percent (the engine's)
INTERVAL_LEVELS = (80, 95)

# A node whose residuals are all 0 gets this share of its level's median variance.
_VARIANCE_FLOOR = 1e-4
# The smallest shrinkage intensity: with lambda = 0 and fewer months than nodes, W is singular.
_MIN_SHRINKAGE = 1e-3
# Rows quoted in a message.
_SHOW = 5


class Hierarchy(NamedTuple):
    """The nodes of a hierarchy and its summing matrix (see :func:`summing_matrix`).

    Attributes
    ----------
    S : scipy.sparse.csr_matrix
        n_nodes x n_bottom, 1 where a bottom series belongs to a node. The last
        n_bottom rows (the bottom level) are the identity.
    nodes : pandas.DataFrame
        One row per row of S: level, family, region, sku (the keys of other levels
        empty). Levels from the top; within one, sorted by key.
    n_aggregates : int
        The rows of S above the bottom level.
    """

    S: sparse.csr_matrix
    nodes: pd.DataFrame
    n_aggregates: int


class Reconciled(NamedTuple):
    """What :func:`reconcile` returns.

    Attributes
    ----------
    forecast : pandas.DataFrame
        One row per node and month, every level: level, family, region, sku, month,
        yhat and the bounds (coherent: each level is the sum of the bottom rows), and
        base_yhat (the base forecast, for comparison). Ordered as the nodes of
        :func:`summing_matrix`, then by month.
    bottom : pandas.DataFrame
        The bottom level alone: sku, region, month, yhat and the bounds.
    method : str
        The method used.
    shrinkage : float or None
        MinT's shrinkage intensity lambda (None for the other methods).
    clipped : int
        Bottom forecasts (series x months) that MinT made negative and were set to 0.
    """

    forecast: pd.DataFrame
    bottom: pd.DataFrame
    method: str
    shrinkage: float | None
    clipped: int


# --------------------------------------------------------------------------- public API


def summing_matrix(
    bottom: pd.DataFrame, products: pd.DataFrame, levels: Sequence[str] = LEVELS
) -> Hierarchy:
    """The nodes of the hierarchy over some SKU x region series, and its summing matrix.

    Parameters
    ----------
    bottom : pandas.DataFrame
        Columns sku and region; each distinct pair is a bottom series (repeats are fine).
    products : pandas.DataFrame
        Columns sku and family, one row per SKU.
    levels : sequence of str, default :data:`LEVELS`
        The levels to include; ``"sku_region"`` must be one.

    Returns
    -------
    Hierarchy
        ``S`` (scipy.sparse CSR, nodes x bottom series), ``nodes`` and ``n_aggregates``.

    Raises
    ------
    SopError
        An unknown level, no bottom level, a missing column, a missing sku or region, a
        SKU that ``products`` does not list (named), or a SKU listed twice there.

    Examples
    --------
    >>> products = pd.DataFrame({"sku": ["A", "B"], "family": ["F", "F"]})
    >>> bottom = pd.DataFrame({"sku": ["A", "B", "B"], "region": ["N", "N", "S"]})
    >>> h = summing_matrix(bottom, products, levels=["total", "sku", "sku_region"])
    >>> h.S.toarray()
    array([[1., 1., 1.],
           [1., 0., 0.],
           [0., 1., 1.],
           [1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """
    levels = _hierarchy_levels(levels)
    require_columns(bottom, "bottom", ["sku", "region"])
    _require_keys(bottom, "bottom", ("sku", "region"))
    keys = (
        bottom[["sku", "region"]]
        .drop_duplicates()
        .sort_values(["sku", "region"])
        .reset_index(drop=True)
    )
    keys["family"] = family_of(products, keys["sku"], "bottom").to_numpy()
    n_b = len(keys)
    rows, tables, offset = [], [], 0
    for level in levels:
        cols = list(LEVEL_KEYS[level])
        if cols:
            groups = keys.groupby(cols, sort=True)
            code = groups.ngroup().to_numpy()
            table = groups.size().index.to_frame(index=False)
        else:
            code = np.zeros(n_b, dtype=np.int64)
            table = pd.DataFrame(index=[0])
        table.insert(0, "level", level)
        rows.append(offset + code)
        tables.append(table)
        offset += len(table)
    S = sparse.csr_matrix(
        (np.ones(n_b * len(levels)), (np.concatenate(rows), np.tile(np.arange(n_b), len(levels)))),
        shape=(offset, n_b),
    )
    nodes = pd.concat(tables, ignore_index=True).reindex(columns=["level", *KEY_COLUMNS])
    nodes[list(KEY_COLUMNS)] = nodes[list(KEY_COLUMNS)].astype(object)
    nodes = nodes.where(nodes.notna(), None)
    return Hierarchy(S, nodes, offset - n_b)


def aggregate(
    frame: pd.DataFrame,
    products: pd.DataFrame,
    values: Sequence[str] = ("qty",),
    levels: Sequence[str] = LEVELS,
) -> pd.DataFrame:
    """Sum a SKU x region x month table to every level of the hierarchy.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns sku, region, month and ``values`` (the sales history, for instance).
    products : pandas.DataFrame
        Columns sku and family, one row per SKU.
    values : sequence of str, default ("qty",)
        The columns to sum.
    levels : sequence of str, default :data:`LEVELS`
        The levels to sum to.

    Returns
    -------
    pandas.DataFrame
        unique_id (``"total"``, ``"family:F1"``, ``"family_region:F1/North"``, ...),
        level, family, region, sku (the keys of other levels empty), month and
        ``values``, one row per node and month that ``frame`` has rows for; levels from
        the top, then sorted by key and month.

    Raises
    ------
    SopError
        A missing column, an unknown level, or a SKU that ``products`` does not list.

    Examples
    --------
    >>> products = pd.DataFrame({"sku": ["A", "B"], "family": ["F", "G"]})
    >>> sales = pd.DataFrame({"sku": ["A", "B"], "region": ["N", "N"],
    ...                       "month": ["2026-01", "2026-01"], "qty": [3, 4]})
    >>> aggregate(sales, products, levels=["total", "family", "sku_region"])
            unique_id       level family region   sku    month  qty
    0           total       total   None   None  None  2026-01    7
    1        family:F      family      F   None  None  2026-01    3
    2        family:G      family      G   None  None  2026-01    4
    3  sku_region:A/N  sku_region   None      N     A  2026-01    3
    4  sku_region:B/N  sku_region   None      N     B  2026-01    4
    """
    levels = _hierarchy_levels(levels, need_bottom=False)
    values = list(values)
    require_columns(frame, "the table to aggregate", ["sku", "region", "month", *values])
    df = frame[["sku", "region", "month", *values]].copy()
    df["family"] = family_of(products, df["sku"], "the table to aggregate").to_numpy()
    parts = []
    for level in levels:
        cols = list(LEVEL_KEYS[level])
        part = df.groupby([*cols, "month"], sort=True, as_index=False)[values].sum()
        uid = pd.Series(level, index=part.index)
        for i, col in enumerate(cols):
            uid = uid + (":" if i == 0 else "/") + part[col].astype(str)
        part.insert(0, "level", level)
        part.insert(0, "unique_id", uid)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out = out.reindex(columns=["unique_id", "level", *KEY_COLUMNS, "month", *values])
    out[list(KEY_COLUMNS)] = out[list(KEY_COLUMNS)].astype(object)
    out[list(KEY_COLUMNS)] = out[list(KEY_COLUMNS)].where(out[list(KEY_COLUMNS)].notna(), None)
    return out


def reconcile(
    base: pd.DataFrame,
    products: pd.DataFrame,
    *,
    method: str = "bottom_up",
    history: pd.DataFrame | None = None,
    residuals: pd.DataFrame | None = None,
    shrinkage: float | None = None,
    levels: Sequence[str] = LEVELS,
    interval_levels: Sequence[float] = INTERVAL_LEVELS,
) -> Reconciled:
    """Make base forecasts coherent: every level the sum of the SKU x region forecasts.

    The bottom series are the SKU x region pairs of ``base``'s bottom rows; the other
    nodes are their families, regions and SKUs (see :func:`summing_matrix`). Each
    method gives the bottom forecasts (see the module's notes); every other level is
    their sum, exactly. Interval bounds keep each node's base spread around its
    reconciled point (module notes, "Intervals").

    Parameters
    ----------
    base : pandas.DataFrame
        One row per node of the hierarchy and month (every node, every month): level,
        the level's key columns (family, region, sku), month, yhat, and for each of
        ``interval_levels`` yhat_lo_<level>, yhat_hi_<level>. Numbers, at least 0, with
        lo <= yhat <= hi and wider intervals around narrower ones.
    products : pandas.DataFrame
        Columns sku and family, one row per SKU.
    method : {"bottom_up", "top_down", "mint_shrink"}, default "bottom_up"
        How the bottom forecasts are chosen.
    history : pandas.DataFrame, optional
        For ``top_down``: sku, region, month, qty (the sales history; the months given
        are the months averaged). Rows of series not in ``base`` are left out.
    residuals : pandas.DataFrame, optional
        For ``mint_shrink``: level, key columns, month, residual (actual - forecast) of
        each node's base model, for every node and the same months (at least 2).
    shrinkage : float, optional
        For ``mint_shrink``: lambda in [0.001, 1] instead of the Schäfer-Strimmer
        estimate (1: the variances only, MinT-WLS).
    levels : sequence of str, default :data:`LEVELS`
        The levels reconciled; ``"sku_region"`` must be one, ``"total"`` too for
        ``top_down``. ``base`` must have no rows at other levels.
    interval_levels : sequence of float, default (80, 95)
        The coverages of the interval columns; () for point forecasts only.

    Returns
    -------
    Reconciled
        ``forecast`` (every level), ``bottom`` (sku x region), ``method``,
        ``shrinkage`` and ``clipped``.

    Raises
    ------
    SopError
        An unknown method (the valid ones are listed) or level; a missing column; a SKU
        without a product row (named); a missing, non-finite or negative value; bounds
        out of order; a node or month missing or repeated in ``base`` or
        ``residuals``; a row for a node that no bottom series belongs to; no
        ``history`` for top_down or no ``residuals`` for mint_shrink.

    Examples
    --------
    A total and two SKUs in one region, point forecasts only:

    >>> products = pd.DataFrame({"sku": ["A", "B"], "family": ["F", "F"]})
    >>> base = pd.DataFrame({
    ...     "level": ["total", "sku_region", "sku_region"], "sku": [None, "A", "B"],
    ...     "region": [None, "N", "N"], "month": "2026-11", "yhat": [10.0, 4.0, 4.0]})
    >>> rec = reconcile(base, products, levels=["total", "sku_region"], interval_levels=())
    >>> rec.forecast[["level", "sku", "yhat", "base_yhat"]]
            level   sku  yhat  base_yhat
    0       total  None   8.0       10.0
    1  sku_region     A   4.0        4.0
    2  sku_region     B   4.0        4.0

    MinT with equal error variances (residuals +1 and -1 at every node) splits the gap
    of 2 evenly between the three nodes:

    >>> errors = pd.concat([base.assign(month="2026-09", residual=1.0),
    ...                     base.assign(month="2026-10", residual=-1.0)])
    >>> rec = reconcile(base, products, levels=["total", "sku_region"], interval_levels=(),
    ...                 method="mint_shrink", residuals=errors, shrinkage=1.0)
    >>> rec.forecast["yhat"].round(3).tolist()
    [9.333, 4.667, 4.667]
    """
    if method not in METHODS:
        raise SopError(
            f"Unknown reconciliation method {method!r}; choose one of "
            f"{', '.join(map(repr, METHODS))}."
        )
    levels = _hierarchy_levels(levels)
    if method == "top_down" and "total" not in levels:
        raise SopError(
            "method 'top_down' splits the total forecast, but 'total' is not among the "
            f"levels ({', '.join(levels)}); add it, or choose another method."
        )
    coverages = sorted(_check_levels(interval_levels))
    bounds = [(f"yhat_lo_{_level_name(c)}", f"yhat_hi_{_level_name(c)}") for c in coverages]
    value_cols = ["yhat", *(col for pair in bounds for col in pair)]
    keys = [k for k in KEY_COLUMNS if any(k in LEVEL_KEYS[lv] for lv in levels)]
    require_columns(base, "base", ["level", *keys, "month", *value_cols])
    masks = _level_masks(base)
    _check_level_names(base, "base", levels, masks)
    _check_values(base, "base", value_cols, nonnegative=True)
    _check_bounds(base, bounds)

    at_bottom = base.loc[masks.get(BOTTOM, np.zeros(len(base), bool))]
    if at_bottom.empty:
        raise SopError(
            f"base has no rows at level {BOTTOM!r}: the SKU x region forecasts that every "
            "level is summed from. Add them."
        )
    family_of(products, pd.Series(pd.unique(at_bottom["sku"])), "base")  # names unknown SKUs
    hier = summing_matrix(at_bottom, products, levels)
    month_code, months = pd.factorize(base["month"], sort=True)
    node = _node_index(base, hier, "base", masks)
    grid = _grid(base, node, month_code, value_cols, hier, months, "base")
    n_a = hier.n_aggregates
    A = hier.S[:n_a]
    yhat = grid["yhat"]

    lam = None
    if method == "bottom_up":
        bottom = yhat[n_a:]
    elif method == "top_down":
        # levels are in canonical order, so the total is row 0
        bottom = _split_total(yhat[0], yhat[n_a:], _proportions(history, hier))
    else:
        R = _residual_matrix(residuals, hier, levels)
        bottom, lam = _mint_shrink(yhat, A, R, hier, shrinkage)
    if not np.isfinite(bottom).all():
        raise SopError(
            f"method {method!r} gave forecasts that are not finite numbers: the base "
            "forecasts or residuals hold values too large to reconcile. Check them for "
            "absurd values, or choose method 'bottom_up'."
        )
    negative = bottom < 0
    bottom = np.where(negative, 0.0, bottom)
    point = np.vstack([A @ bottom, bottom]) if n_a else bottom

    out = {"yhat": point}
    for lo_col, hi_col in bounds:
        lo, hi = grid[lo_col], grid[hi_col]
        up = hi - yhat
        # a lower bound of 0 may have been clipped there: its true distance is unknown
        down = np.where(lo > 0, yhat - lo, np.maximum(yhat, up))
        out[lo_col] = np.maximum(point - down, 0.0)
        out[hi_col] = point + up

    n, h = point.shape
    frame = hier.nodes.iloc[np.repeat(np.arange(n), h)].reset_index(drop=True)
    frame["month"] = np.tile(np.asarray(months), n)
    for col in value_cols:
        frame[col] = out[col].ravel()
    frame["base_yhat"] = yhat.ravel()
    bottom_frame = frame.iloc[n_a * h :][["sku", "region", "month", *value_cols]]
    return Reconciled(frame, bottom_frame.reset_index(drop=True), method, lam, int(negative.sum()))


# --------------------------------------------------------------------------- methods


def _proportions(history: pd.DataFrame | None, hier: Hierarchy) -> np.ndarray:
    """Gross & Sohl (1990) method A: each series' mean share of the monthly totals.

    The mean runs from the series' first sale on; a series that never sold gets 0.
    """
    if history is None:
        raise SopError(
            "method 'top_down' needs history (sku, region, month, qty): the proportions "
            "that split the total are averaged over it. Pass the sales history, or choose "
            "method 'bottom_up'."
        )
    require_columns(history, "history", ["sku", "region", "month", "qty"])
    _check_values(history, "history", ["qty"], nonnegative=True)
    n_a = hier.n_aggregates
    bottom = hier.nodes.iloc[n_a:][["sku", "region"]].reset_index(drop=True)
    bottom["_series"] = np.arange(len(bottom))
    rows = history[["sku", "region", "month", "qty"]].merge(bottom, on=["sku", "region"])
    if rows.empty:
        raise SopError(
            "history has no rows for the SKU x region series of base, so there are no "
            "proportions to split the total by. Pass the sales history of the same series."
        )
    code, months = pd.factorize(rows["month"], sort=True)
    qty = sparse.coo_matrix(
        (rows["qty"].to_numpy(float), (rows["_series"].to_numpy(), code)),
        shape=(len(bottom), len(months)),
    ).toarray()  # repeated rows are summed
    total = qty.sum(axis=0)
    used = total > 0
    if not used.any():
        raise SopError(
            "history sells nothing in any month for the series of base, so there are no "
            "proportions to split the total by; give months with sales, or choose "
            "method 'bottom_up'."
        )
    qty = qty[:, used]
    share = qty / total[used]
    # each series from its first sale on (months are sorted): a launch is not diluted
    alive = np.cumsum(qty > 0, axis=1) > 0
    months = alive.sum(axis=1)
    return np.divide((share * alive).sum(axis=1), months, out=np.zeros(len(qty)), where=months > 0)


def _split_total(total: np.ndarray, base: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Top-down's bottom forecasts: new series keep their base, zero bases stay 0.

    ``total`` (h,) is split among the series with a share and a positive base that month,
    by their shares rescaled to 1, after the new series' (no share, positive base) own
    forecasts are taken off it; a month with no such series left keeps ``base``.
    """
    new = (shares <= 0)[:, None] & (base > 0)
    kept = np.where(new, base, 0.0)
    share = np.where((base > 0) & ~new, shares[:, None], 0.0)
    weight = share.sum(axis=0)
    rest = np.maximum(total - kept.sum(axis=0), 0.0)
    split = share * np.divide(rest, weight, out=np.zeros_like(rest), where=weight > 0)
    return np.where(weight > 0, kept + split, base)


def _mint_shrink(
    yhat: np.ndarray,
    A: sparse.csr_matrix,
    R: np.ndarray,
    hier: Hierarchy,
    shrinkage: float | None,
) -> tuple[np.ndarray, float]:
    """MinT's bottom forecasts with W = lambda D + (1 - lambda) R'R / T, never dense.

    y~ = y^ - W C'(C W C')^-1 C y^ with C = [I, -A]; W = L + U U' (L diagonal, U of
    rank T); C W C' = B + V V' with B = L_a + A L_b A' sparse and V = C U. A bottom series
    whose base is 0 in a month stays 0 there: the months are solved in groups of the
    same such series, each without their columns.
    """
    n_months = R.shape[0]
    n_a = A.shape[0]
    variance = _floored_variances((R * R).mean(axis=0), hier)
    if shrinkage is None:
        lam = max(_shrinkage_intensity(R, variance), _MIN_SHRINKAGE)
    else:
        lam = _check_shrinkage(shrinkage)
    diag = lam * variance
    U = R.T * np.sqrt((1.0 - lam) / n_months)  # n x T
    l_a, l_b = diag[:n_a], diag[n_a:]
    if n_a == 0:
        return yhat.copy(), lam
    bottom = np.zeros_like(yhat[n_a:])
    patterns, group = np.unique(yhat[n_a:] > 0, axis=1, return_inverse=True)
    for k in range(patterns.shape[1]):
        free, cols = patterns[:, k], np.flatnonzero(group.ravel() == k)
        A_k = A[:, free]
        y_b, U_b = yhat[n_a:][free][:, cols], U[n_a:][free]
        B = (sparse.diags(l_a) + A_k @ sparse.diags(l_b[free]) @ A_k.T).tocsc()
        # symmetric diagonal scaling: variances of the total and of one SKU differ by 1e5
        s = 1.0 / np.sqrt(B.diagonal())
        lu = splu((sparse.diags(s) @ B @ sparse.diags(s)).tocsc())

        def solve(x: np.ndarray, lu=lu, s=s) -> np.ndarray:
            return s[:, None] * lu.solve(s[:, None] * x)

        E = yhat[:n_a][:, cols] - A_k @ y_b  # C y^: how far each aggregate is from its sum
        V = U[:n_a] - A_k @ U_b
        b_e, b_v = solve(E), solve(V)
        small = np.eye(n_months) + V.T @ b_v
        Z = b_e - b_v @ np.linalg.solve(small, V.T @ b_e)  # (C W C')^-1 C y^, Woodbury
        rows = np.flatnonzero(free)
        bottom[np.ix_(rows, cols)] = y_b + l_b[free][:, None] * (A_k.T @ Z) - U_b @ (V.T @ Z)
    return bottom, lam


def _floored_variances(variance: np.ndarray, hier: Hierarchy) -> np.ndarray:
    """Variances with each 0 raised to a small share of its level's median variance."""
    if not (variance > 0).any():
        raise SopError(
            "residuals are 0 for every node and month, so the forecast errors' covariance "
            "cannot be estimated; pass the base models' errors (actual - forecast)."
        )
    out = variance.copy()
    level = hier.nodes["level"].to_numpy()
    smallest = variance[variance > 0].min()
    for name in pd.unique(level):
        at = level == name
        positive = variance[at][variance[at] > 0]
        ref = np.median(positive) if len(positive) else smallest
        out[at] = np.maximum(variance[at], _VARIANCE_FLOOR * ref)
    return out


def _shrinkage_intensity(R: np.ndarray, variance: np.ndarray) -> float:
    """Schäfer & Strimmer's lambda for the correlations, as ``hts::shrink.estim`` has it.

    With X the residuals scaled by their root mean square (not centred), r_ij = (X'X)_ij
    / T and v_ij = (((X^2)'(X^2))_ij - (X'X)_ij^2 / T) / (T (T - 1)), lambda = sum of v_ij
    over sum of r_ij^2, i != j, clipped to [0, 1]. The n x n sums come from T x T products:
    sum_ij (X'X)_ij^2 = ||X X'||^2 and sum_ij ((X^2)'(X^2))_ij = ||X^2 1||^2.
    """
    n_months = R.shape[0]
    X = R / np.sqrt(variance)
    X2 = X * X
    diag = X2.sum(axis=0)  # (X'X)_ii
    gram = X @ X.T
    off_cross = (gram * gram).sum() - (diag * diag).sum()  # sum over i != j of (X'X)_ij^2
    off_corr2 = off_cross / n_months**2
    row = X2.sum(axis=1)
    off_quad = (row * row).sum() - (X2 * X2).sum()
    off_var = (off_quad - off_cross / n_months) / (n_months * (n_months - 1))
    if off_corr2 <= 0:
        return 1.0
    return float(np.clip(off_var / off_corr2, 0.0, 1.0))


def _check_shrinkage(value: object) -> float:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    if not ok or not _MIN_SHRINKAGE <= float(value) <= 1.0:
        raise SopError(
            f"shrinkage must be a number from {_MIN_SHRINKAGE} to 1 (1: the variances only); "
            f"got {value!r}. Leave it out to estimate it from the residuals."
        )
    return float(value)


def _residual_matrix(
    residuals: pd.DataFrame | None, hier: Hierarchy, levels: tuple[str, ...]
) -> np.ndarray:
    """The T x n matrix of residuals, nodes in the order of ``hier``."""
    if residuals is None:
        raise SopError(
            "method 'mint_shrink' needs residuals (level, keys, month, residual): the base "
            "models' one-step or backtest errors, actual - forecast, for every node over the "
            "same months, from which the error covariance is estimated. Pass them, or "
            "choose method 'bottom_up'."
        )
    keys = [k for k in KEY_COLUMNS if any(k in LEVEL_KEYS[lv] for lv in levels)]
    require_columns(residuals, "residuals", ["level", *keys, "month", "residual"])
    masks = _level_masks(residuals)
    _check_level_names(residuals, "residuals", levels, masks)
    _check_values(residuals, "residuals", ["residual"], nonnegative=False)
    code, months = pd.factorize(residuals["month"], sort=True)
    if len(months) < 2:
        raise SopError(
            f"residuals must cover at least 2 months to estimate a covariance; got "
            f"{len(months)}. Pass the errors of more months (12 or more is better)."
        )
    node = _node_index(residuals, hier, "residuals", masks)
    return _grid(residuals, node, code, ["residual"], hier, months, "residuals")["residual"].T


# --------------------------------------------------------------------------- checks


def _hierarchy_levels(levels: Sequence[str], need_bottom: bool = True) -> tuple[str, ...]:
    """The levels asked for, validated, in the canonical order (top first)."""
    levels = [levels] if isinstance(levels, str) else list(levels)
    unknown = [lv for lv in levels if lv not in LEVEL_KEYS]
    if unknown:
        raise SopError(
            f"Unknown hierarchy level(s) {', '.join(map(repr, unknown))}; the levels are "
            f"{', '.join(map(repr, LEVELS))}."
        )
    if need_bottom and BOTTOM not in levels:
        raise SopError(
            f"The levels must include {BOTTOM!r}, the SKU x region series every other level "
            f"is summed from; got {', '.join(map(repr, levels)) or 'none'}."
        )
    if not levels:
        raise SopError(f"No hierarchy level given; choose among {', '.join(map(repr, LEVELS))}.")
    return tuple(lv for lv in LEVELS if lv in levels)


def _level_masks(frame: pd.DataFrame) -> dict[object, np.ndarray]:
    """The rows of each level found in ``frame`` (compared once: object columns are slow)."""
    code, names = pd.factorize(frame["level"])
    return {name: code == i for i, name in enumerate(names)}


def _check_level_names(
    frame: pd.DataFrame, table: str, levels: tuple[str, ...], masks: dict[object, np.ndarray]
) -> None:
    found = list(masks)
    unknown = [lv for lv in found if lv not in LEVEL_KEYS]
    if unknown:
        raise SopError(
            f"{table} has rows at unknown level(s) {', '.join(map(repr, unknown))}; the "
            f"levels are {', '.join(map(repr, LEVELS))}."
        )
    extra = [lv for lv in found if lv not in levels]
    if extra:
        raise SopError(
            f"{table} has rows at level(s) {', '.join(map(repr, extra))}, which are not "
            f"among the levels reconciled ({', '.join(levels)}); drop those rows, or add "
            "the level(s) to levels."
        )
    for level, at in masks.items():
        _require_keys(frame.loc[at], f"{table} (level {level!r})", LEVEL_KEYS[level])


def _require_keys(frame: pd.DataFrame, table: str, keys: Sequence[str]) -> None:
    for key in keys:
        blank = frame[key].isna()
        if blank.any():
            rows = ", ".join(map(str, frame.index[blank][:_SHOW]))
            raise SopError(
                f"{table} has {int(blank.sum())} row(s) without a {key} (rows {rows}); "
                f"every row of the level needs its {', '.join(keys)}."
            )


def _check_values(frame: pd.DataFrame, table: str, cols: Sequence[str], nonnegative: bool) -> None:
    """Numbers only: finite, and at least 0 when ``nonnegative``."""
    for col in cols:
        if not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
            raise SopError(
                f"{table}, column {col}: expected numbers; got values of type "
                f"{frame[col].dtype}. Convert the column to numbers."
            )
        values = frame[col].to_numpy(dtype=float)
        for bad, what in (
            (~np.isfinite(values), "missing or not finite (NaN, inf)"),
            (values < 0 if nonnegative else np.zeros(len(values), bool), "negative"),
        ):
            if bad.any():
                expected = "a number of at least 0" if nonnegative else "a finite number"
                raise SopError(
                    f"{table}, column {col}: {int(bad.sum())} value(s) {what} "
                    f"({_rows(frame, bad, col)}); expected {expected} in every row."
                )


def _check_bounds(base: pd.DataFrame, bounds: list[tuple[str, str]]) -> None:
    """Check lo <= yhat <= hi for each interval, and wider intervals around narrower ones."""
    pairs = [(lo, "yhat") for lo, _ in bounds] + [("yhat", hi) for _, hi in bounds]
    for (lo_a, hi_a), (lo_b, hi_b) in pairwise(bounds):
        pairs += [(lo_b, lo_a), (hi_a, hi_b)]
    for low, high in pairs:
        bad = (base[low] > base[high]).to_numpy()
        if bad.any():
            raise SopError(
                f"base: {int(bad.sum())} row(s) have {low} above {high} "
                f"({_rows(base, bad, low, high)}); expected lower bounds <= yhat <= upper "
                "bounds, and each wider interval around the narrower one."
            )


def _node_index(
    frame: pd.DataFrame, hier: Hierarchy, table: str, masks: dict[object, np.ndarray]
) -> np.ndarray:
    """The node (row of S) of each row of ``frame``."""
    node = np.full(len(frame), -1, dtype=np.int64)
    nodes = hier.nodes.reset_index(names="_node")
    for name, at in masks.items():
        cols = list(LEVEL_KEYS[name])
        if not cols:
            node[at] = nodes.loc[nodes["level"] == name, "_node"].iloc[0]
            continue
        known = nodes.loc[nodes["level"] == name, [*cols, "_node"]]
        found = frame.loc[at, cols].merge(known, on=cols, how="left")["_node"]
        if found.isna().any():
            missing = frame.loc[at].loc[found.isna().to_numpy(), cols].drop_duplicates()
            shown = "; ".join(missing.head(_SHOW).astype(str).agg(" / ".join, axis=1))
            raise SopError(
                f"{table} has rows at level {name!r} for {len(missing)} node(s) that no "
                f"SKU x region series of base belongs to ({shown}). Drop those rows, or "
                f"give base the SKU x region forecasts they sum."
            )
        node[at] = found.to_numpy(dtype=np.int64)
    return node


def _grid(
    frame: pd.DataFrame,
    node: np.ndarray,
    month_code: np.ndarray,
    cols: Sequence[str],
    hier: Hierarchy,
    months: pd.Index,
    table: str,
) -> dict[str, np.ndarray]:
    """Each column as a nodes x months array; every cell must have exactly one row."""
    n, h = len(hier.nodes), len(months)
    flat = node * h + month_code
    count = np.bincount(flat, minlength=n * h)
    for bad, what, fix in (
        (count > 1, "more than one row for", "Keep one row per node and month."),
        (count == 0, "no row for", "Give every node of every level a row for every month."),
    ):
        if bad.any():
            cells = np.flatnonzero(bad)
            shown = "; ".join(
                f"{_node_name(hier.nodes.iloc[c // h])} in {_month(months[c % h])}"
                for c in cells[:_SHOW]
            )
            more = f" and {len(cells) - _SHOW} more" if len(cells) > _SHOW else ""
            raise SopError(f"{table} has {what} {shown}{more}. {fix}")
    out = {}
    for col in cols:
        arr = np.empty(n * h)
        arr[flat] = frame[col].to_numpy(dtype=float)
        out[col] = arr.reshape(n, h)
    return out


def _node_name(node: pd.Series) -> str:
    keys = [str(node[k]) for k in LEVEL_KEYS[node["level"]]]
    return f"{node['level']} {' / '.join(keys)}".strip()


def _month(value: object) -> str:
    return value.strftime("%Y-%m") if isinstance(value, pd.Timestamp) else str(value)


def _rows(frame: pd.DataFrame, bad: np.ndarray, *cols: str) -> str:
    """The first rows flagged in ``bad``, with their level, keys, month and values."""
    shown = []
    for label, row in frame.loc[bad].head(_SHOW).iterrows():
        parts = [f"row {label}"]
        if "level" in row.index:
            parts.append(_node_name(row) if row["level"] in LEVEL_KEYS else str(row["level"]))
        else:
            parts += [str(row[k]) for k in ("sku", "region") if k in row.index]
        if "month" in row.index:
            parts.append(_month(row["month"]))
        parts += [f"{c}={row[c]!r}" for c in cols]
        shown.append(" ".join(parts))
    return "; ".join(shown) + (f"; and {int(bad.sum()) - _SHOW} more" if bad.sum() > _SHOW else "")
