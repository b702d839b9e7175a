"""Stage 2's statistical forecast: the engine run on every SKU x region series of a cycle.

:func:`statistical_forecast` turns the sales history into the engine's panel (one series
per SKU x region, living from its first row to the month before the cycle, months
without a row counted as 0 sold) and gives back the ``forecast`` artifact and the
``forecast_models`` artifact (which model each series got, and why).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import NamedTuple

import numpy as np
import pandas as pd

from sopkit._checks import month_number, month_start, require_columns, whole_number
from sopkit.demand._common import FALLBACK_MONTHS, _ym
from sopkit.demand.engine import DEFAULT_MODELS, forecast
from sopkit.errors import DataValidationError, Problem, SopError
from sopkit.schemas import columns

#: the ``model`` of the accuracy rows that measure the engine's forecast
STATISTICAL = "statistical"
FORECAST_COLUMNS = columns("forecast")
FORECAST_MODELS_COLUMNS = columns("forecast_models")


class StatisticalForecast(NamedTuple):
    """What :func:`statistical_forecast` returns.

    Attributes
    ----------
    forecast : pandas.DataFrame
        The ``forecast`` artifact.
    models : pandas.DataFrame
        The ``forecast_models`` artifact: one row per SKU x region.
    fitted : pandas.DataFrame
        Each series' in-sample one-step fit by its model: sku, region, month, y, fitted,
        residual (y - fitted; NaN where the model has no fit), up to the month before
        the cycle. The errors MinT reconciliation estimates its covariance from.
    """

    forecast: pd.DataFrame
    models: pd.DataFrame
    fitted: pd.DataFrame | None = None


# --------------------------------------------------------------------------- input checks
# sopkit.data validates the tables before a cycle runs; these checks are for direct calls,
# so that a bad cell is named (table, row, column) instead of summed as 0, dropped, or
# failing deep inside pandas.

#: the statuses of the data contract (sopkit.data's products table)
STATUSES = ("active", "new", "phase_out", "discontinued")
_MONTH = "a first-of-month date (e.g. pd.Timestamp('2026-11-01'), no time of day or time zone)"


def _problems(
    frame: pd.DataFrame, table: str, column: str, mask, expected: str, values=None
) -> list[Problem]:
    """One problem per row under ``mask``, named by the frame's index label."""
    rows = np.flatnonzero(np.asarray(mask, dtype=bool))
    labels = frame.index if frame.index.is_unique else pd.RangeIndex(len(frame))
    cells = frame[column] if values is None else values
    return [
        Problem(table, _plain(labels[i]), column, _plain(cells.iloc[i]), expected) for i in rows
    ]


def _plain(value: object) -> object:
    """A cell as a planner reads it: no numpy scalar types, dates without midnight, no NA."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp) and value == value.normalize() and value.tzinfo is None:
        return value.strftime("%Y-%m-%d")
    return value.item() if isinstance(value, np.generic) else value


def _blank(s: pd.Series) -> pd.Series:
    """Empty cells: missing, or text of spaces only."""
    return s.isna() | s.map(lambda v: isinstance(v, str) and not v.strip())


def _code(value: object) -> str | None:
    """A code (SKU, region) as text, as sopkit.data reads it.

    1001, 1001.0 and "1001" are the same code: a code typed as a number arrives as an int,
    or as a float when its column has empty cells.
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    elif isinstance(value, np.generic):
        value = value.item()
    return str(value).strip() or None


def _codes(s: pd.Series) -> pd.Series:
    """:func:`_code` of every cell (computed once per distinct value)."""
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    lookup = np.array([*(_code(u) for u in uniques), None], dtype=object)
    return pd.Series(lookup[codes], index=s.index, dtype=object)


def _spellings(tables: Sequence[tuple[pd.Series, pd.Series]]) -> dict:
    """How the caller writes each code not written as its text (1001 for "1001").

    ``tables`` holds (as written, as text code) pairs; a code takes the spelling of the
    first table that has it (the history, then products), so each row of the result
    joins back to the table it came from.
    """
    out: dict = {}
    seen: set = set()
    for written, codes in tables:
        first = (codes.notna() & ~codes.duplicated() & ~codes.isin(seen)).to_numpy()
        code, raw = codes[first], written[first].astype(object)
        differs = (raw != code).to_numpy()
        out.update(zip(code[differs], raw[differs], strict=True))
        seen.update(code)
    return out


def _respell(frame: pd.DataFrame, column: str, spelling: dict) -> None:
    if spelling:
        codes = frame[column]
        frame[column] = codes.map(spelling).where(codes.isin(spelling.keys()), codes)


def _months(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The cells as datetime64[ns] and the mask of filled cells that are no month start."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    elif pd.api.types.is_datetime64_dtype(s):
        out = s.astype("datetime64[ns]")
    else:  # dates only: text such as "2026/11" is ambiguous, and sopkit.data types it
        dated = s.map(
            lambda v: isinstance(v, (dt.date, np.datetime64)) and getattr(v, "tzinfo", None) is None
        ).astype(bool)
        out = pd.to_datetime(s.where(dated, None), errors="coerce").astype("datetime64[ns]")
    start = out.notna() & (out.dt.day == 1) & (out == out.dt.normalize())
    return out, (s.notna() & ~start).to_numpy()


def _quantities(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The cells as floats (NaN where empty or not a number) and the mask of non-numbers."""
    if pd.api.types.is_bool_dtype(s):
        return pd.Series(np.nan, index=s.index), s.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(s):  # Int64 and Float64 too, their NA as NaN
        out = pd.Series(s.to_numpy(dtype=float, na_value=np.nan), index=s.index)
        return out, np.zeros(len(s), dtype=bool)
    flag = s.map(lambda v: isinstance(v, (bool, np.bool_))).astype(bool)
    out = pd.to_numeric(s.where(~flag, None), errors="coerce").astype(float)
    return out, (s.notna() & (flag | out.isna())).to_numpy()


def _check_sales_history(sales_history: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """The history with text codes, datetime64 months and float qty; its bad cells."""
    require_columns(sales_history, "sales_history", ["sku", "region", "month", "qty"])
    sh = sales_history
    table, problems = "sales_history", []
    codes = {key: _codes(sh[key]) for key in ("sku", "region")}
    for key, code in codes.items():
        problems += _problems(sh, table, key, code.isna(), f"a {key} code (the cell is empty)")
    month, bad = _months(sh["month"])
    problems += _problems(sh, table, "month", sh["month"].isna(), f"{_MONTH} (the cell is empty)")
    problems += _problems(sh, table, "month", bad, _MONTH)
    qty, bad = _quantities(sh["qty"])
    units = "a number of units, 0 or more"
    problems += _problems(sh, table, "qty", sh["qty"].isna(), f"{units} (the cell is empty)")
    problems += _problems(sh, table, "qty", bad, units)
    problems += _problems(sh, table, "qty", np.isinf(qty), f"{units}, finite")
    problems += _problems(sh, table, "qty", qty < 0, units)
    clean = pd.DataFrame(
        {"sku": codes["sku"], "region": codes["region"], "month": month, "qty": qty}
    )
    return clean, problems


def _check_products(products: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """The products by sku (text codes), and their bad cells.

    Columns family, launch_month, like_sku (a text code or None), status ("active" where
    not given) and eol_month (NaT where not given).
    """
    require_columns(products, "products", ["sku", "family", "launch_month"])
    pr, table, problems = products, "products", []
    sku = _codes(pr["sku"])
    problems += _problems(pr, table, "sku", sku.isna(), "a sku code (the cell is empty)")
    first = pd.Series(np.arange(len(pr)), index=sku.index).groupby(sku).transform("min")
    labels = pr.index if pr.index.is_unique else pd.RangeIndex(len(pr))
    for i in np.flatnonzero((sku.notna() & sku.duplicated()).to_numpy()):
        again = f"a SKU in one row only ({sku.iloc[i]} is also in row {labels[first.iloc[i]]})"
        problems += _problems(pr.iloc[[i]], table, "sku", [True], again)
    family = pr["family"]
    problems += _problems(pr, table, "family", _blank(family), "a family (the cell is empty)")
    launch, bad = _months(pr["launch_month"])
    empty = pr["launch_month"].isna()
    problems += _problems(pr, table, "launch_month", empty, f"{_MONTH} (the cell is empty)")
    problems += _problems(pr, table, "launch_month", bad, _MONTH)
    eol = pd.Series(pd.NaT, index=pr.index, dtype="datetime64[ns]")
    if "eol_month" in pr.columns:
        eol, bad = _months(pr["eol_month"])
        problems += _problems(pr, table, "eol_month", bad, f"{_MONTH}, or empty")
    status = pd.Series("active", index=pr.index, dtype=object)
    if "status" in pr.columns:
        status = pr["status"]
        problems += _problems(
            pr, table, "status", ~status.isin(STATUSES), "one of " + ", ".join(STATUSES)
        )
    like = pd.Series(None, index=pr.index, dtype=object)
    if "like_sku" in pr.columns:
        like = _codes(pr["like_sku"])
        unknown = like.notna() & (~like.isin(set(sku.dropna())) | (like == sku))
        another = "the sku of another product in products (or empty)"
        problems += _problems(pr, table, "like_sku", unknown, another)
    clean = pd.DataFrame(
        {
            "family": family.to_numpy(),
            "launch_month": launch.to_numpy(),
            "like_sku": like.to_numpy(),
            "status": status.to_numpy(),
            "eol_month": eol.to_numpy(),
        },
        index=pd.Index(sku.to_numpy(), name="sku"),
    )
    return clean, problems


def _raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise DataValidationError(
            problems, "as passed to statistical_forecast; a row is the table's index label"
        )


_ENGINE_ROW = re.compile(r"row \S+ \(unique_id (\d+), ds (\d{4}-\d{2})(?:-\d{2})?")
_ENGINE_WORDS = (("unique_id", "SKU x region"), ("ds", "month"), ("y", "qty"))


def _in_planner_words(message: str, keys: pd.DataFrame) -> str:
    """An engine message about its panel, in the words of the sales history.

    The panel's series are numbered (``unique_id``) and its rows have no meaning to a
    planner: each such row becomes its sku, region and month.
    """
    named: list[str] = []  # filled in last, so that the words below leave codes alone

    def series(match: re.Match) -> str:
        i = int(match.group(1))
        if i >= len(keys):
            return match.group(0)
        sku, region = keys.at[i, "sku"], keys.at[i, "region"]
        named.append(f"(sku {sku!r}, region {region!r}, month {match.group(2)}")
        return f"\0{len(named) - 1}\0"

    message = _ENGINE_ROW.sub(series, message)
    for engine, ours in _ENGINE_WORDS:
        message = re.sub(rf"\b{engine}\b", ours, message)
    message = re.sub("\0(\\d+)\0", lambda m: named[int(m.group(1))], message)
    return message.replace("history has", "sales_history (summed per SKU x region x month) has", 1)


# --------------------------------------------------------------------------- the panel


def _panel(hist: pd.DataFrame, cycle: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The engine's panel (unique_id = series number) and the series' sku and region.

    ``hist`` is the checked sales history (:func:`_check_sales_history`).
    """
    hist = hist.loc[hist["month"] < cycle]
    if hist.empty:
        raise SopError(
            f"sales_history has no rows before {_ym(cycle)}, so there is nothing to forecast "
            "from; load the sales history, or check the cycle month."
        )
    hist = hist.groupby(["sku", "region", "month"], as_index=False, sort=True)["qty"].sum()
    uid = hist.groupby(["sku", "region"], sort=True).ngroup().to_numpy()
    keys = hist.drop_duplicates(["sku", "region"])[["sku", "region"]].reset_index(drop=True)
    panel = pd.DataFrame({"unique_id": uid, "ds": hist["month"].to_numpy(), "y": hist["qty"]})
    # every series lives up to the month before the cycle: 0 in the months after its last row
    last = np.asarray(month_number(hist.groupby(uid)["month"].max()))
    end = month_number(cycle) - 1
    keys["_silent"] = end - last  # months without a row at the end of the series
    ids = np.repeat(np.arange(len(keys)), keys["_silent"].to_numpy())
    months = np.concatenate([np.arange(a + 1, end + 1) for a in last]) if len(ids) else ids
    tail = pd.DataFrame({"unique_id": ids, "ds": _month_dates(months), "y": np.zeros(len(ids))})
    if tail.empty:  # every series sold in the month before the cycle
        return panel, keys
    return pd.concat([panel, tail], ignore_index=True), keys


def _month_dates(months: np.ndarray) -> pd.DatetimeIndex:
    """First-of-month dates of month numbers (``year * 12 + month - 1``)."""
    months = np.asarray(months, dtype=np.int64)
    return pd.to_datetime({"year": months // 12, "month": months % 12 + 1, "day": 1})


def statistical_forecast(
    sales_history: pd.DataFrame,
    cycle: pd.Timestamp | str,
    horizon: int = 18,
    *,
    season_length: int = 12,
    models: Sequence[str] = DEFAULT_MODELS,
    n_jobs: int | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    warm_start: pd.DataFrame | None = None,
    run: str = "forecast",
    products: pd.DataFrame | None = None,
    new_item_months: int = 12,
) -> StatisticalForecast:
    """Forecast every SKU x region series from the history before ``cycle``.

    Each series is one of the engine's (:func:`sopkit.demand.engine.forecast`): it lives
    from its first row to the month before the cycle, and months without a row count
    as 0 sold (a series that stopped selling is forecast from its zeros). Rows on or
    after ``cycle`` are ignored, so the same table serves backtests at earlier origins.

    SKU and region codes are compared as text, as :mod:`sopkit.data` reads them (1001,
    1001.0 and "1001" are one SKU); each returned row spells its codes as the table it
    came from does (the history, else products).

    Parameters
    ----------
    sales_history : pandas.DataFrame
        Columns sku, region, month (first of month), qty (units, 0 or more). Rows repeating
        a SKU x region x month are added up.
    cycle : pandas.Timestamp or str
        The planning month; the forecast starts there.
    horizon : int, default 18
        Months to forecast.
    season_length : int, default 12
        Months in a season.
    models : sequence of str, default :data:`sopkit.demand.engine.DEFAULT_MODELS`
        The engine's candidates for smooth and erratic series.
    n_jobs : int, optional
        Worker processes (default: all cores).
    executor : concurrent.futures.Executor, optional
        Where to run the work instead (a Dask cluster's executor, say).
    progress : bool, optional
        Show a progress bar (default: from 100 series on).
    warm_start : pandas.DataFrame, optional
        An earlier cycle's choices (sku, region, model, relative_mae, age, form: rows of
        the ``forecast_models`` artifact, see :func:`warm_start`): each series keeps its
        model, and its form, unless its accuracy degraded (the engine's warm start).
    run : str, default "forecast"
        The ``run`` column of the ``forecast_models`` rows.
    products : pandas.DataFrame, optional
        sku, family, launch_month; like_sku, status, eol_month if given (one row per
        SKU). With it, new items (launched less than ``new_item_months`` before the
        cycle, or within the horizon, and not discontinued) are planned from their
        like_sku's forecast, else their family's profile (the mean forecast of the
        family's SKUs in the region), scaled to their own sales so far: ``model``
        "like_sku" or "family_profile", ``demand_class`` "new", the reason saying which
        source and scale. A like_sku or a family SKU only serves in a region where it
        still sells: not discontinued (``status``), not past its ``eol_month`` (its last
        month of sales), and with sales there in the 12 months before the cycle; else the
        reason says why the family's profile was used instead. A new item with no source
        in a region is planned at 0 there (``model`` "zero", the reason saying so), or,
        if it has sales there, keeps the engine's forecast of them (a note added to the
        reason). Items launching within the horizon get 0 before their launch month.
    new_item_months : int, default 12
        How recent a launch makes a new item.

    Returns
    -------
    StatisticalForecast
        ``forecast``: the ``forecast`` artifact (sku, region, month, model, yhat and the
        80 % and 95 % bounds), sorted by sku, region, month; ``models``: the
        ``forecast_models`` artifact, one row per series; ``fitted``: each series' in-sample
        fit and residuals (the engine's; a new item's are those of the engine's model of
        its own sales, not of its like_sku's). For a new item's series
        (``demand_class`` "new"), ``n_months`` is the months from its launch_month (or
        its first row in the region, if earlier) to the month before the cycle, months
        without a row counted as 0 sold (0 for an item launching on or after the cycle);
        its scale is measured on the last (at most 3) of them, and ``gaps_filled``
        counts those without a row.

    Raises
    ------
    DataValidationError
        A cell of sales_history or products that breaks the data contract (an empty
        sku or region, a qty that is empty, not a number or negative, a month or
        launch_month that is not a first-of-month date, a SKU in two products rows, an
        unknown like_sku or status): every such cell, by table, row (the index label)
        and column.
    SopError
        No history before the cycle, a missing column, or what the engine refuses
        (said in SKU, region and month words).

    Examples
    --------
    >>> stat = statistical_forecast(ds.sales_history, "2026-11", 18)  # doctest: +SKIP
    >>> stat.models["model"].value_counts()  # doctest: +SKIP
    """
    cycle = month_start(cycle)
    horizon = whole_number(horizon, "horizon", what="months")
    hist, problems = _check_sales_history(sales_history)
    if products is not None:
        pr, more = _check_products(products)
        problems += more
    _raise_problems(problems)
    panel, keys = _panel(hist, cycle)
    warm = None
    if warm_start is not None:
        require_columns(warm_start, "warm_start", ["sku", "region", "model", "relative_mae"])
        ids = keys[["sku", "region"]].reset_index(names="unique_id")
        warm = warm_start.assign(
            sku=_codes(warm_start["sku"]), region=_codes(warm_start["region"])
        ).merge(ids, on=["sku", "region"], how="inner")
    try:
        fc, selection, fitted = forecast(
            panel,
            horizon,
            season_length,
            models=models,
            n_jobs=n_jobs,
            executor=executor,
            progress=progress,
            return_fitted=True,
            warm_start=warm,
        )
    except SopError as exc:
        raise SopError(_in_planner_words(str(exc), keys)) from exc
    # the engine sorts the series by unique_id, which is their number in ``keys``
    fc_idx = fc["unique_id"].to_numpy()
    out = keys.iloc[fc_idx, :2].reset_index(drop=True)
    out["month"] = fc["ds"].to_numpy()
    for col in FORECAST_COLUMNS[3:]:
        out[col] = fc[col].to_numpy()
    if (out["month"] < cycle).any():  # cannot happen: every series reaches the cycle
        raise SopError("internal error: a series' forecast starts before the cycle")
    chosen = keys.iloc[selection["unique_id"].to_numpy()].reset_index(drop=True)
    chosen["run"] = run
    for col in FORECAST_MODELS_COLUMNS[3:]:
        chosen[col] = selection[col].to_numpy()
    # the months after a series' last row, up to the cycle, are months without a row too
    silent = keys["_silent"].to_numpy()[selection["unique_id"].to_numpy()]
    chosen["gaps_filled"] += silent
    note = [f"; no row in the last {n} month(s) before the cycle: 0 sold" for n in silent]
    chosen["reason"] += np.where(silent > 0, note, "")
    skus = [(sales_history["sku"], hist["sku"])]
    if products is not None:
        out, chosen = _new_items(out, chosen, hist, pr, cycle, horizon, new_item_months, run)
        skus.append((products["sku"], pd.Series(pr.index, index=products.index)))
    out, chosen = out[FORECAST_COLUMNS].copy(), chosen[FORECAST_MODELS_COLUMNS].copy()
    fit = keys.iloc[fitted["unique_id"].to_numpy(), :2].reset_index(drop=True)
    fit["month"] = fitted["ds"].to_numpy()
    for col in ("y", "modelled", "fitted", "residual"):
        fit[col] = fitted[col].to_numpy()
    # codes were compared as text; each row is written back as its table writes it
    for column, spelling in (
        ("sku", _spellings(skus)),
        ("region", _spellings([(sales_history["region"], hist["region"])])),
    ):
        _respell(out, column, spelling)
        _respell(chosen, column, spelling)
        _respell(fit, column, spelling)
    return StatisticalForecast(out, chosen, fit)


#: the model of a new item's forecast: its like_sku's, or its family's profile, scaled; or
#: 0 by rule where it has neither (and no sales of its own for the engine to go by)
LIKE_SKU, FAMILY_PROFILE, NO_SOURCE = "like_sku", "family_profile", "zero"
#: a SKU stands for a new item in a region (as its like_sku, or in its family's profile)
#: only if it sold there in this many months before the cycle: a year, so that a seasonal
#: SKU out of season still counts, and one that stopped selling does not
REFERENCE_MONTHS = 12


def _ended(products: pd.DataFrame, cycle: pd.Timestamp) -> pd.Series:
    """Why each product no longer sells, or None: discontinued, or eol_month before the cycle.

    ``eol_month`` is the last month a SKU sells (the data contract's reading).
    """
    why = pd.Series(None, index=products.index, dtype=object)
    eol = products["eol_month"]
    past = (eol < cycle).to_numpy()
    why[past] = "stopped selling after " + eol[past].dt.strftime("%Y-%m") + " (its eol_month)"
    why[(products["status"] == "discontinued").to_numpy()] = "is discontinued"
    return why


def _total(sold: pd.Series, key: tuple, months: pd.DatetimeIndex) -> float:
    """Units ``sold`` under ``key`` in ``months`` (a month without a row: 0)."""
    if not len(months):
        return 0.0
    try:
        rows = sold.loc[key]
    except KeyError:
        return 0.0
    return float(rows.reindex(months, fill_value=0.0).sum())


def _unfit(proxy: str | None, unfit: str | None, region: str) -> str:
    """Why a new item is not planned from its like_sku in ``region``."""
    if proxy is None:
        return "no like_sku"
    return unfit or (
        f"like_sku {proxy} sold nothing in {region} in the {REFERENCE_MONTHS} months before "
        "the cycle"
    )


def _scale(own: float, base: float, months: int) -> tuple[float, str]:
    """From a source's level to a new item's: the factor, and how the reason says it.

    ``own`` and ``base`` are what the item and its source sold in the last ``months``.
    """
    if not months:
        return 1.0, "at that level (no sales of its own to scale to yet)"
    if base <= 0:
        return 1.0, f"at that level (its source sold nothing in the last {months} month(s))"
    scale = own / base
    level = f"scaled x{scale:.2f} to its own sales in the last {months} month(s)"
    return scale, level + (": it sold nothing in them" if own == 0 else "")


def _new_items(
    fc: pd.DataFrame,
    chosen: pd.DataFrame,
    hist: pd.DataFrame,
    products: pd.DataFrame,
    cycle: pd.Timestamp,
    horizon: int,
    new_item_months: int,
    run: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecasts of new items from their like_sku, else their family, at their own level.

    ``hist`` and ``products`` are checked (:func:`_check_sales_history`,
    :func:`_check_products`). A new item is a product launched less than
    ``new_item_months`` months before the cycle (or later, within the horizon) that still
    sells (see :func:`_ended`). A *reference* is a SKU x region series of a SKU that is not
    new, still sells, and sold in that region in the :data:`REFERENCE_MONTHS` months
    before the cycle. Per region, the source is the like_sku's forecast if the like_sku
    is a reference there, else the family's profile: the mean forecast of the family's
    references there. The item's regions are those it has sold in; else its like_sku's
    reference regions; else its family's; else (no source anywhere) its like_sku's or its
    family's regions, else every region of the history.

    The source is scaled to the item's own level: the item's sales over the source's
    actual sales in the same months, the last (at most 3) months from its launch (or its
    first row there, if earlier) to the month before the cycle, a month without a row
    counting as 0 sold, like a row of 0. Scale 1 where those months are none (launch on
    or after the cycle) or the source sold nothing in them. Months before the launch are 0.
    Where a region has no source, an item with sales there keeps the engine's forecast of
    them (a note is added to its reason), and one without is planned at 0
    (:data:`NO_SOURCE`) with the reason.
    """
    pr = products
    ended = _ended(pr, cycle)
    launch = pr["launch_month"]
    since = cycle - pd.DateOffset(months=new_item_months)
    end = cycle + pd.DateOffset(months=horizon)
    new = pr.index[(launch > since) & (launch < end) & ended.isna()]
    if not len(new):
        return fc, chosen
    hist = hist.loc[hist["month"] < cycle]
    sold = hist.groupby(["sku", "region", "month"])["qty"].sum()
    has_row = pd.Series(1.0, index=sold.index)
    first_row = hist.groupby(["sku", "region"])["month"].min()
    recent = hist.loc[hist["month"] >= cycle - pd.DateOffset(months=REFERENCE_MONTHS)]
    recent = recent.groupby(["sku", "region"])["qty"].sum()
    refs = recent.index[recent.to_numpy() > 0].to_frame(index=False)
    refs = refs.loc[~refs["sku"].isin(new) & refs["sku"].map(ended).isna()]
    refs["family"] = refs["sku"].map(pr["family"])
    values = list(FORECAST_COLUMNS[4:])
    ref_fc = fc.merge(refs, on=["sku", "region"])
    by_series = ref_fc.set_index(["sku", "region", "month"])[values]
    profile = ref_fc.groupby(["family", "region", "month"])[values].mean()
    peers = refs.groupby(["family", "region"]).size()
    family_sold = hist.merge(refs, on=["sku", "region"]).groupby(["family", "region", "month"])
    family_sold = family_sold["qty"].sum()
    is_ref = set(zip(refs["sku"], refs["region"], strict=True))
    regions_of = hist.groupby("sku")["region"].unique()
    ref_regions = refs.groupby("sku")["region"].unique()
    family_refs = peers.reset_index().groupby("family")["region"].unique()
    family_any = hist.assign(family=hist["sku"].map(pr["family"])).groupby("family")["region"]
    family_any = family_any.unique()
    every_region = np.sort(hist["region"].unique())
    engine_series = set(zip(chosen["sku"], chosen["region"], strict=True))
    months = pd.date_range(cycle, periods=horizon, freq="MS")
    last = cycle - pd.DateOffset(months=1)
    recent_start = cycle - pd.DateOffset(months=FALLBACK_MONTHS)
    rows, notes, stands = [], [], {}
    for sku in new:
        family, launched, proxy = pr.at[sku, "family"], launch[sku], pr.at[sku, "like_sku"]
        head = f"new item (launched {_ym(launched)})"
        # why the like_sku cannot stand for the item in any region (None: it may)
        unfit = None
        if proxy is not None and proxy in new:
            unfit = f"like_sku {proxy} is itself a new item"
        elif proxy is not None and isinstance(ended.get(proxy), str):
            unfit = f"like_sku {proxy} {ended[proxy]}"
        fit = proxy is not None and unfit is None
        candidates = (
            regions_of.get(sku),
            ref_regions.get(proxy) if fit else None,
            family_refs.get(family),
            regions_of.get(proxy) if proxy is not None else None,
            family_any.get(family),
            every_region,
        )
        regions = next(r for r in candidates if r is not None and len(r))
        for region in regions:
            known = first_row.get((sku, region), launched)
            start = min(launched, known)
            n_months = max(0, month_number(cycle) - month_number(start))
            window = pd.date_range(max(start, recent_start), last, freq="MS")
            if fit and (proxy, region) in is_ref:
                source = by_series.loc[(proxy, region)]
                base = _total(sold, (proxy, region), window)
                model, whence = LIKE_SKU, f"like_sku {proxy}'s forecast in {region}"
            elif (family, region) in peers.index:
                n = int(peers[(family, region)])
                source = profile.loc[(family, region)]
                base = _total(family_sold, (family, region), window) / n
                model, whence = FAMILY_PROFILE, f"the mean forecast of the {n} {family} SKU(s)"
                whence += f" in {region}"
                if proxy is not None:
                    whence = f"{_unfit(proxy, unfit, region)}, so {whence}"
            else:
                lack = (
                    f"{head}: {_unfit(proxy, unfit, region)}, and no {family} SKU still sells "
                    f"in {region} (sold there in the {REFERENCE_MONTHS} months before the "
                    "cycle, not discontinued)"
                )
                if (sku, region) in engine_series:
                    stands[(sku, region)] = f"; {lack}: the engine's rule on its own sales stands"
                    continue
                source, base, model = (
                    pd.DataFrame(0.0, index=months, columns=values),
                    0.0,
                    NO_SOURCE,
                )
            if model == NO_SOURCE:
                scale = 0.0
                reason = f"{lack}: planned at 0; give it a like_sku, or plan it with sales inputs"
            else:
                scale, level = _scale(_total(sold, (sku, region), window), base, len(window))
                reason = f"{head}: {whence}, {level}"
            block = source.reindex(months).fillna(0.0) * scale
            block.loc[block.index < launched] = 0.0
            block = block.reset_index(drop=True).astype(float)
            block.insert(0, "model", model)
            block.insert(0, "month", months)
            block.insert(0, "region", region)
            block.insert(0, "sku", sku)
            rows.append(block)
            with_rows = _total(has_row, (sku, region), pd.date_range(start, last, freq="MS"))
            notes.append(
                {
                    "sku": sku, "region": region, "model": model, "n_months": n_months,
                    "gaps_filled": n_months - int(with_rows), "reason": reason,
                }
            )  # fmt: skip
    if stands:
        key = list(zip(chosen["sku"], chosen["region"], strict=True))
        chosen = chosen.assign(reason=chosen["reason"] + [stands.get(k, "") for k in key])
    if not rows:
        return fc, chosen
    planned = pd.concat(rows, ignore_index=True)
    keys = pd.MultiIndex.from_frame(planned[["sku", "region"]].drop_duplicates())
    keep = ~fc.set_index(["sku", "region"]).index.isin(keys)
    fc = pd.concat([fc.loc[keep], planned], ignore_index=True)
    fc = fc.sort_values(["sku", "region", "month"], ignore_index=True)
    new_rows = pd.DataFrame(notes).assign(
        run=run, demand_class="new", adi=np.nan, cv2=np.nan, selected_by="rule", age=0,
        n_windows=0, mase=np.nan, mase_seasonal_naive=np.nan, relative_mae=np.nan,
        spikes_replaced=0, form="",
    )  # fmt: skip
    keep = ~chosen.set_index(["sku", "region"]).index.isin(keys)
    chosen = pd.concat([chosen.loc[keep], new_rows], ignore_index=True)
    chosen = chosen.sort_values(["sku", "region"], ignore_index=True)
    return fc, chosen


def warm_start(earlier_models: pd.DataFrame, run: str = "forecast") -> pd.DataFrame | None:
    """The choices of the latest earlier cycle for a warm start, or None if there are none.

    Parameters
    ----------
    earlier_models : pandas.DataFrame
        The ``forecast_models`` artifact of earlier cycles, stacked with a ``cycle``
        column (the plan archive's ``earlier("forecast_models")``).
    run : str, default "forecast"
        Which run's choices: the forecast's, or the backtest's (made at the earlier
        cycle's backtest origin, before this cycle's, so a warm backtest sees no data
        after its own origin).

    Returns
    -------
    pandas.DataFrame or None
        sku, region, model, relative_mae, age and form (where the archive has it) of the
        latest cycle's ``run`` rows.
    """
    if earlier_models is None or earlier_models.empty or "run" not in earlier_models.columns:
        return None
    rows = earlier_models.loc[earlier_models["run"] == run]
    if rows.empty:
        return None
    latest = rows.loc[rows["cycle"] == rows["cycle"].max()]
    cols = ["sku", "region", "model", "relative_mae", "age"]
    cols += ["form"] if "form" in latest.columns else []
    return latest[cols].reset_index(drop=True)


def first_choices(
    earlier_models: pd.DataFrame | None, backtest_models: pd.DataFrame | None
) -> pd.DataFrame | None:
    """The forecast's warm start: an earlier cycle's choices, else this cycle's backtest's.

    The backtest runs at an origin before the forecast's and searches every candidate; a
    first cycle's forecast then starts from those choices and forms (re-estimated on the
    whole history, kept while their accuracy holds, chosen again where it does not)
    instead of searching every model a second time.

    Parameters
    ----------
    earlier_models : pandas.DataFrame or None
        The ``forecast_models`` of earlier cycles (``ctx.earlier("forecast_models")``).
    backtest_models : pandas.DataFrame or None
        This cycle's backtest choices (``Backtest.models``).

    Returns
    -------
    pandas.DataFrame or None
        As :func:`warm_start`.
    """
    prior = warm_start(earlier_models, "forecast")
    if prior is not None or backtest_models is None or backtest_models.empty:
        return prior
    return warm_start(backtest_models.assign(run="backtest", cycle="this"), "backtest")


def stack_models(*runs: pd.DataFrame) -> pd.DataFrame:
    """The ``forecast_models`` artifact: the rows of each run (forecast, backtest) stacked."""
    return pd.concat(runs, ignore_index=True)[FORECAST_MODELS_COLUMNS]


def model_choice(models: pd.DataFrame) -> pd.DataFrame:
    """How the series were forecast: per model, how many series and how they fared.

    Parameters
    ----------
    models : pandas.DataFrame
        The ``forecast_models`` artifact.

    Returns
    -------
    pandas.DataFrame
        One row per model, most series first: model, series, share (fraction of the
        series), by_backtest (series whose backtest chose it, now or in an earlier cycle
        kept by the warm start), by_rule (series a rule gave it), and
        median_relative_mae: over the series its backtest chose it for,
        the median of its backtest MAE over seasonal naive's (below 1: better than
        seasonal naive; NaN for models given by rule only).
    """
    require_columns(models, "forecast_models", ["model", "selected_by", "relative_mae"])
    tested = models["selected_by"] != "rule"
    g = models.assign(_tested=tested, _rel=models["relative_mae"].where(tested)).groupby(
        "model", sort=False
    )
    out = pd.DataFrame(
        {
            "series": g.size(),
            "by_backtest": g["_tested"].sum().astype(int),
            "median_relative_mae": g["_rel"].median(),
        }
    )
    out.insert(1, "share", out["series"] / len(models) if len(models) else np.nan)
    out.insert(3, "by_rule", out["series"] - out["by_backtest"])
    out = out.reset_index().sort_values(["series", "model"], ascending=[False, True])
    return out.reset_index(drop=True)
