"""Consensus: the statistical forecast with the inputs of sales and marketing.

Every change to the statistical forecast is kept with its author: the ``adjustments``
artifact (:func:`list_adjustments`) has one row per adjustment x SKU x region x month
it touched, and its effects add up to the ``demand_plan`` adjustment
(:func:`build_demand_plan`), so later cycles can measure the value each author adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sopkit._checks import family_of, require_columns
from sopkit.demand._common import ADJUSTMENTS_COLUMNS, DEMAND_PLAN_COLUMNS, _ym
from sopkit.errors import SopError

# --------------------------------------------------------------------------- consensus

_INPUT_COLUMNS = ["sku", "family", "month", "kind", "value", "author"]  # region, reason: optional
#: ``author`` of the adjustments made by sopkit's own planning rules (end of life).
RULE_AUTHOR = "sopkit"


def _describe_inputs(inputs: pd.DataFrame, mask: pd.Series) -> str:
    rows = inputs.loc[mask].head(5)
    what = rows["sku"].where(rows["sku"].notna(), rows["family"]).astype(str)
    months = rows["month"].dt.strftime("%Y-%m").fillna("no month")
    return ", ".join(f"{w} {m}" for w, m in zip(what, months, strict=True))


def _end_of_life(products: pd.DataFrame, skus: pd.Series, months: pd.Series) -> pd.Series:
    """Why each (sku, month) row is cut to 0, or None.

    "discontinued" in every month, "end of life YYYY-MM" in every month after the sku's
    eol_month (the last month it sells, so that month keeps its forecast). Products
    without a status or eol_month column cut nothing.
    """
    reason = pd.Series(None, index=skus.index, dtype=object)
    by_sku = products.set_index("sku")
    if "eol_month" in by_sku.columns:
        try:
            eol = pd.to_datetime(skus.map(by_sku["eol_month"]))
        except (TypeError, ValueError) as exc:
            raise SopError(
                "products: eol_month must hold months (first-of-month dates) or be empty; "
                "pass products as sopkit.data loads it."
            ) from exc
        ended = (eol.notna() & (months > eol)).to_numpy()
        reason[ended] = "end of life " + eol[ended].dt.strftime("%Y-%m")
    if "status" in by_sku.columns:
        reason[skus.map(by_sku["status"]).eq("discontinued").to_numpy()] = "discontinued"
    return reason


def _match_inputs(
    forecast: pd.DataFrame, sales_inputs: pd.DataFrame, products: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pair every sales input with the forecast rows it touches.

    Returns the forecast (with family, a row number ``_row`` and ``_ended``, the
    end-of-life reason or None) and the pairs, one row per input x touched forecast
    row: ``_input`` (position in sales_inputs), ``_row``, ``yhat``, kind, value,
    reason, author, ``_ended`` (True where the row is cut to 0 by the end-of-life rule).
    """
    require_columns(forecast, "forecast", ["sku", "region", "month", "yhat"])
    require_columns(sales_inputs, "sales_inputs", _INPUT_COLUMNS)
    fc = forecast[["sku", "region", "month", "yhat"]].reset_index(drop=True)
    fc["family"] = family_of(products, fc["sku"], "forecast").to_numpy()
    fc["_row"] = np.arange(len(fc))
    fc["_ended"] = _end_of_life(products, fc["sku"], fc["month"])

    inputs = sales_inputs.reset_index(drop=True)
    inputs = inputs.assign(
        _input=np.arange(len(inputs)),
        region=inputs.get("region"),
        reason=inputs.get("reason"),
    )
    by_sku = inputs["sku"].notna()
    bad = by_sku == inputs["family"].notna()
    if bad.any():
        raise SopError(
            f"sales_inputs: {int(bad.sum())} input(s) give both or neither of sku and family "
            f"({_describe_inputs(inputs, bad)}); give exactly one of the two in each row."
        )
    bad = ~inputs["kind"].isin(["pct", "abs"])
    if bad.any():
        raise SopError(
            f"sales_inputs: unknown kind {sorted(map(str, inputs.loc[bad, 'kind'].unique()))} "
            f"({_describe_inputs(inputs, bad)}); use 'pct' (percent change) or 'abs' "
            "(units added)."
        )
    bad = inputs["value"].isna() | inputs["month"].isna()
    if bad.any():
        raise SopError(
            f"sales_inputs: {int(bad.sum())} input(s) have no value or no month "
            f"({_describe_inputs(inputs, bad)}); fill them in."
        )

    cols = ["_input", "month", "kind", "value", "reason", "author", "region"]
    pairs = pd.DataFrame(columns=[*cols, "_row", "yhat", "_ended"])
    if not inputs.empty and not fc.empty:
        right = fc.rename(columns={"region": "_fc_region"}).assign(_ended=fc["_ended"].notna())
        pairs = pd.concat(
            [
                inputs.loc[by_sku, ["sku", *cols]].merge(
                    right.drop(columns="family"), on=["sku", "month"]
                ),
                inputs.loc[~by_sku, ["family", *cols]].merge(
                    right.drop(columns="sku"), on=["family", "month"]
                ),
            ],
            ignore_index=True,
        )
        pairs = pairs.loc[pairs["region"].isna() | (pairs["region"] == pairs["_fc_region"])]
    pairs = pairs.astype(
        {"_input": np.int64, "_row": np.int64, "yhat": float, "value": float, "_ended": bool}
    )
    return fc, pairs.sort_values(["_input", "_row"], ignore_index=True)


def _adjustments(fc: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """The adjustments artifact, with ``_row`` (the forecast row each one touches)."""
    pairs = pairs.loc[~pairs["_ended"]]
    stat = pairs["yhat"].to_numpy(dtype=float)
    value = pairs["value"].to_numpy(dtype=float)
    grp = pairs.groupby("_input")
    total = grp["yhat"].transform("sum").to_numpy(dtype=float)
    count = grp["yhat"].transform("size").to_numpy(dtype=float)
    share = np.where(total != 0, stat / np.where(total != 0, total, 1.0), 1.0 / count)
    rows = fc.loc[pairs["_row"].to_numpy()]
    by_input = pd.DataFrame(
        {
            "sku": rows["sku"].to_numpy(dtype=object),
            "region": rows["region"].to_numpy(dtype=object),
            "month": rows["month"].to_numpy(),
            "source": "sales_inputs",
            "input": pd.array(pairs["_input"].to_numpy(), dtype="Int64"),
            "author": pairs["author"].to_numpy(dtype=object),
            "kind": pairs["kind"].to_numpy(dtype=object),
            "value": value,
            "effect": np.where(pairs["kind"] == "pct", stat * value / 100.0, value * share),
            "reason": pairs["reason"].to_numpy(dtype=object),
            "_row": pairs["_row"].to_numpy(dtype=np.int64),
        }
    )
    ended = fc.loc[fc["_ended"].notna()]
    by_rule = pd.DataFrame(
        {
            "sku": ended["sku"].to_numpy(dtype=object),
            "region": ended["region"].to_numpy(dtype=object),
            "month": ended["month"].to_numpy(),
            "source": "rule",
            "input": pd.array([pd.NA] * len(ended), dtype="Int64"),
            "author": RULE_AUTHOR,
            "kind": "end_of_life",
            "value": np.nan,
            "effect": 0.0 - ended["yhat"].to_numpy(dtype=float),  # 0.0 - 0.0 is not -0.0
            "reason": ended["_ended"].to_numpy(dtype=object),
            "_row": ended["_row"].to_numpy(dtype=np.int64),
        }
    )
    out = pd.concat([by_input, by_rule], ignore_index=True)
    out = out.astype(dict.fromkeys(("sku", "region", "source", "author", "kind", "reason"), object))
    out["month"] = pd.to_datetime(out["month"]).astype("datetime64[ns]")
    out["reason"] = [r if isinstance(r, str) else None for r in out["reason"]]
    # Inputs in the order given, then the rules; within each, by sku, region, month.
    order = out["input"].fillna(np.iinfo(np.int64).max).astype(np.int64)
    out = out.assign(_order=order).sort_values(
        ["_order", "sku", "region", "month"], kind="mergesort", ignore_index=True
    )
    return out.drop(columns="_order")


def list_adjustments(
    forecast: pd.DataFrame, sales_inputs: pd.DataFrame, products: pd.DataFrame
) -> pd.DataFrame:
    """Every adjustment of the consensus plan, kept with its author and its effect.

    One row per adjustment x SKU x region x month it touched: each sales input on
    every forecast row it selects (see :func:`build_demand_plan` for how its effect is
    worked out; an input that changes a row by 0, a percentage of a zero forecast,
    still touched it), and sopkit's end-of-life rule on every row it cuts to 0
    (effect = -statistical). Summed per SKU x region x month, the effects equal the
    ``adjustment`` of :func:`build_demand_plan`. Inputs that touch nothing are not
    here; :func:`unmatched_inputs` lists them.

    Parameters
    ----------
    forecast, sales_inputs, products : pandas.DataFrame
        As for :func:`build_demand_plan`.

    Returns
    -------
    pandas.DataFrame
        The ``adjustments`` artifact: sku, region, month, source ("sales_inputs" or
        "rule"), input (the input's position in ``sales_inputs``, 0 = first row; <NA>
        for rules), author (the input's; "sopkit" for rules), kind ("pct", "abs" or
        "end_of_life"), value (the input's, as given; NaN for rules), effect (units
        added to the row, negative when removed), reason (the input's, or
        "discontinued" / "end of life YYYY-MM"). Inputs first, in their order, then
        the rules; within each, by sku, region and month.

    Raises
    ------
    SopError
        As :func:`build_demand_plan`.

    Examples
    --------
    >>> adj = list_adjustments(fc, ds.sales_inputs, ds.products)  # doctest: +SKIP
    >>> adj.groupby("author")["effect"].sum()  # doctest: +SKIP
    author
    a.smith    150.0
    sopkit    -812.0
    """
    return make_consensus(forecast, sales_inputs, products).adjustments


def build_demand_plan(
    forecast: pd.DataFrame, sales_inputs: pd.DataFrame, products: pd.DataFrame
) -> pd.DataFrame:
    """Turn the statistical forecast and the sales team's inputs into the consensus plan.

    An input selects rows by sku, or by family (all its skus), in one region or in all
    (region None), for one month. Its effect on each selected row:

    - ``pct``: statistical * value / 100 (always on the statistical forecast, so two
      inputs on one row add up rather than compound);
    - ``abs``: ``value`` units shared among the selected rows in proportion to their
      statistical forecast (equally when it sums to 0), so the shares add up to
      ``value``.

    adjustment is the sum of the effects on the row (what sales asked for), and
    consensus = max(0, statistical + adjustment): demand is floored at 0, so where the
    floor bites consensus is above statistical + adjustment. Inputs for months outside
    the forecast or matching no row are ignored here; list them with
    :func:`unmatched_inputs`. Each effect, with its author, is a row of
    :func:`list_adjustments`.

    End of life (a planning rule, shown rather than hidden): a product with status
    "discontinued" (every month) or with an ``eol_month`` (the last month it sells;
    every month after it) is planned at 0. Its rows keep ``statistical`` as the method
    gave it, get adjustment = -statistical (so consensus = 0) and the reason
    "discontinued" or "end of life YYYY-MM". Sales inputs never touch those rows: an
    input on a family is shared among its SKUs still alive that month, and an input
    that only touches ended rows is listed by :func:`unmatched_inputs`. Without a
    ``status`` or ``eol_month`` column in ``products`` nothing is cut.

    Parameters
    ----------
    forecast : pandas.DataFrame
        The ``forecast`` artifact (sku, region, month, yhat used).
    sales_inputs : pandas.DataFrame
        sku, family, region (optional), month, kind, value, reason (optional), author;
        one row per input.
    products : pandas.DataFrame
        sku, family; status and eol_month (optional) for the end-of-life rule.

    Returns
    -------
    pandas.DataFrame
        The ``demand_plan`` artifact: sku, region, month, statistical, adjustment,
        consensus, adjustment_reason (the distinct reasons of the inputs touching the
        row, in input order, joined with "; ", or the end-of-life reason; None when
        there is none).

    Raises
    ------
    SopError
        If an input has both or neither of sku and family, an unknown kind, or no
        value, a column is missing, or a forecast sku is not in products (or is listed
        there twice).

    Examples
    --------
    >>> plan = build_demand_plan(fc, ds.sales_inputs, ds.products)  # doctest: +SKIP
    >>> bool((plan["consensus"] >= 0).all())  # doctest: +SKIP
    True
    """
    return make_consensus(forecast, sales_inputs, products).plan


def _plan(fc: pd.DataFrame, adjustments: pd.DataFrame) -> pd.DataFrame:
    """The demand plan from the matched forecast and its adjustments (with ``_row``)."""
    plan = fc[["sku", "region", "month", "yhat"]].rename(columns={"yhat": "statistical"})
    ended = fc["_ended"].notna().to_numpy()
    adjustment = adjustments.groupby("_row")["effect"].sum()
    plan["adjustment"] = adjustment.reindex(fc["_row"], fill_value=0.0).to_numpy()
    plan["consensus"] = np.maximum(plan["statistical"] + plan["adjustment"], 0.0)
    plan.loc[ended, "consensus"] = 0.0  # exactly 0, whatever the rounding of stat - stat
    given = adjustments.loc[
        (adjustments["source"] == "sales_inputs") & adjustments["reason"].notna(),
        ["_row", "reason"],
    ]
    reasons = given.drop_duplicates().groupby("_row")["reason"].agg("; ".join)
    joined = reasons.reindex(fc["_row"]).to_numpy(dtype=object)
    joined = np.where(ended, fc["_ended"].to_numpy(dtype=object), joined)
    plan["adjustment_reason"] = [r if isinstance(r, str) else None for r in joined]
    plan = plan.sort_values(["sku", "region", "month"], ignore_index=True)
    return plan[DEMAND_PLAN_COLUMNS]


def unmatched_inputs(
    forecast: pd.DataFrame, sales_inputs: pd.DataFrame, products: pd.DataFrame
) -> pd.DataFrame:
    """The sales inputs that :func:`build_demand_plan` could not apply, and why.

    Parameters
    ----------
    forecast, sales_inputs, products : pandas.DataFrame
        As for :func:`build_demand_plan`.

    Returns
    -------
    pandas.DataFrame
        The unmatched rows of ``sales_inputs`` (all its columns, original index) plus
        ``problem``: a sentence for the planner (month outside the forecast, sku or
        family without forecast, nothing forecast in that region, or only rows that
        the end-of-life rule keeps at 0: months after the SKU's eol_month, or a
        discontinued SKU).

    Raises
    ------
    SopError
        As :func:`build_demand_plan`.

    Examples
    --------
    >>> unmatched_inputs(fc, ds.sales_inputs, ds.products)[["reason", "problem"]]  # doctest: +SKIP
    """
    return make_consensus(forecast, sales_inputs, products).unmatched


def _unmatched(fc: pd.DataFrame, pairs: pd.DataFrame, sales_inputs: pd.DataFrame) -> pd.DataFrame:
    """The inputs that touched no row still alive, with the reason (see unmatched_inputs)."""
    matched = np.zeros(len(sales_inputs), dtype=bool)
    matched[pairs.loc[~pairs["_ended"], "_input"].unique()] = True
    first_pair = pairs.drop_duplicates("_input").set_index("_input")["_row"]
    ended = first_pair.map(fc["_ended"]).reindex(np.arange(len(sales_inputs)))
    ended = ended.to_numpy(dtype=object)[~matched]
    out = sales_inputs.loc[~matched].copy()
    if out.empty:
        out["problem"] = pd.Series(dtype=object)
        return out
    lo, hi = fc["month"].min(), fc["month"].max()
    span = f"{_ym(lo)} to {_ym(hi)}" if len(fc) else "empty"
    month_out = ~out["month"].isin(fc["month"].unique()).to_numpy()
    what = np.where(
        out["sku"].notna(), "sku " + out["sku"].astype(str), "family " + out["family"].astype(str)
    )
    known = np.where(
        out["sku"].notna(), out["sku"].isin(fc["sku"]), out["family"].isin(fc["family"])
    )
    month_txt = out["month"].dt.strftime("%Y-%m").fillna("(none)").to_numpy(dtype=object)
    is_ended = np.array([isinstance(e, str) for e in ended], dtype=bool)
    why = (
        pd.Series(ended, dtype=object)
        .where(is_ended, "")
        .str.replace(r"^end of life (.+)$", r"is past its end of life (\1)", regex=True)
    )
    why = why.where(why != "discontinued", "is discontinued").to_numpy(dtype=object)
    why = np.where(out["sku"].notna(), why, "has only discontinued or ended SKUs that month")
    out["problem"] = np.select(
        [month_out, ~known, is_ended],
        [
            "month " + month_txt + f" is outside the forecast ({span})",
            what + " has no forecast",
            what + " " + why + ": its plan stays 0",
        ],
        default=what + " has no forecast in region " + out["region"].astype(str) + " that month",
    ).astype(object)
    return out


@dataclass(frozen=True)
class Consensus:
    """The consensus of one cycle: the plan, every adjustment, the inputs that did not apply.

    All three come from one matching of the inputs against the forecast.
    """

    plan: pd.DataFrame
    adjustments: pd.DataFrame
    unmatched: pd.DataFrame


def make_consensus(
    forecast: pd.DataFrame, sales_inputs: pd.DataFrame, products: pd.DataFrame
) -> Consensus:
    """The demand plan, its adjustments and the unmatched inputs, matched once.

    :func:`build_demand_plan`, :func:`list_adjustments` and :func:`unmatched_inputs`
    each give one of the three; a stage that shows all three calls this once.

    Parameters
    ----------
    forecast, sales_inputs, products : pandas.DataFrame
        As for :func:`build_demand_plan`.

    Returns
    -------
    Consensus
        ``plan`` (the ``demand_plan`` artifact), ``adjustments`` (the ``adjustments``
        artifact) and ``unmatched`` (as :func:`unmatched_inputs` returns it).

    Raises
    ------
    SopError
        As :func:`build_demand_plan`.

    Examples
    --------
    >>> c = make_consensus(fc, ds.sales_inputs, ds.products)  # doctest: +SKIP
    >>> c.plan["consensus"].sum() - c.plan["statistical"].sum()  # doctest: +SKIP
    """
    fc, pairs = _match_inputs(forecast, sales_inputs, products)
    adjustments = _adjustments(fc, pairs)
    return Consensus(
        plan=_plan(fc, adjustments),
        adjustments=adjustments[ADJUSTMENTS_COLUMNS],
        unmatched=_unmatched(fc, pairs, sales_inputs),
    )
