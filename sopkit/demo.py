"""The built-in demo company: a small maker of kitchen appliances and coffee.

:func:`make_demo` generates, from a seed, every table of the data contract, so each
stage of the monthly cycle has something real to show. What a planner looks at:

Products (``n_skus``, 160 by default) in four families, sold in three regions
(North, South, West):

- **Kettles** (``KT-0001`` ...): moderate winter seasonality (peak December-January),
  slight growth.
- **Blenders** (``BL-``): strongly seasonal, a gift item with its peak in November and
  December (about 1.9 times an average month); growing.
- **Coffee** (``CF-``): beans and ground coffee in 250 g, 500 g and 1 kg bags; nearly
  flat over the year, the fastest grower.
- **Spares** (``SP-``): lids, filters, blades for the appliances; intermittent slow
  movers (most months without any demand, then a few units).

Each SKU has its own trend (up for most, down for some) and multiplicative noise.
Lifecycle cases: items launched in the last 12 months (status ``new``, history only
from launch, ramping up; half of them with a ``like_sku`` of the same family as proxy
history), a few active items launched one or two years ago, items being phased out
(``phase_out``, declining, ``eol_month`` two to five months after the cycle) and a few
``discontinued`` items whose sales stopped three to ten months ago. Some SKU-months
carry a promotion spike (1.5 to 3 times the usual). Margins are 25-55 %.

Operations:

- **order_lines** for the last 24 months of history, 1-4 order lines per SKU, region
  and month from customers ``C-001`` ... ``C-060``; they add up exactly to
  ``sales_history``. Most ship on time and in full; late and short lines are more
  frequent in peak months (OTIF about 85-93 %, fill rate about 95-98 %). Lines
  requested after the end of history may still be open (not shipped).
- **inventory**: 0.5 to 2 months of recent demand on hand, safety stock half a month.
- **resources**: Assembly (kettles, blenders), Moulding (blenders, spares), Test
  (kettles), Packing (coffee, kettles) and Roasting (coffee). Regular hours are
  88-95 % of the busiest month of the last year, so capacity binds in the peak and
  overtime (15-20 % of regular hours) covers it. Roasting serves only the flat,
  growing coffee family, so it runs near its limit all year (a case for hiring).
  Moulding has a planned maintenance shutdown (half its regular hours) in the first
  July and August of the horizon.
- **bom / material_supply**: Steel, Resin and Beans (kg per unit). Supply is ample,
  except Resin, which runs short (60-75 % of its need) for three months starting two
  months after the cycle.
- **costs** per SKU, **workforce** per resource (workers x hours match the regular
  hours), seven **sales_inputs** (a promotion, a family cut, a tender won, a customer
  destocking, a launch campaign, a new distributor) and an ambitious **budget**
  (5-10 % above last year's revenue, grown by the family trend).

Example
-------
>>> from sopkit.demo import make_demo
>>> tables = make_demo(seed=7, n_skus=24, n_months=30)
>>> sorted(tables)[:3]
['bom', 'budget', 'costs']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import SopError

REGIONS: tuple[str, ...] = ("North", "South", "West")
RESOURCES: tuple[str, ...] = ("Assembly", "Moulding", "Packing", "Roasting", "Test")
MATERIALS: tuple[str, ...] = ("Steel", "Resin", "Beans")

# North is the biggest market; each SKU gets its own split around these shares.
_REGION_SHARE = np.array([0.42, 0.35, 0.23])
_N_CUSTOMERS_PER_REGION = 20
_SHORT_MATERIAL = "Resin"
_MAINTENANCE_RESOURCE = "Moulding"
_MATERIAL_COST = {"Steel": 2.4, "Resin": 1.85, "Beans": 6.2}  # per kg
_LABOUR_RATE = {"Assembly": 24.0, "Moulding": 27.0, "Packing": 21.0, "Roasting": 26.0, "Test": 25.0}


def _cosine(amplitude: float, peak_month: float) -> tuple[float, ...]:
    m = np.arange(1, 13)
    return tuple(1 + amplitude * np.cos(2 * np.pi * (m - peak_month) / 12))


@dataclass(frozen=True)
class _Family:
    name: str
    prefix: str
    share: float  # of the SKUs
    season: tuple[float, ...]  # January .. December, mean 1
    growth: float  # yearly trend of the family
    noise: float  # sigma of the multiplicative log-normal noise
    level: float  # median monthly units of a mature SKU, all regions
    price: tuple[float, float]
    # Steps of the routing: (resources to pick one from, low and high hours per unit,
    # probability that the SKU has the step).
    routing: tuple[tuple[tuple[str, ...], float, float, float], ...]
    # Components, as for routing: (materials, low and high kg per unit, probability).
    bom: tuple[tuple[tuple[str, ...], float, float, float], ...]
    intermittent: bool = False


# fmt: off
_FAMILIES: tuple[_Family, ...] = (
    _Family(
        "Kettles", "KT", 0.30, _cosine(0.22, 12.5), 0.02, 0.12, 260, (24, 65),
        ((("Assembly",), 0.20, 0.45, 1.0), (("Test", "Packing"), 0.05, 0.15, 0.9)),
        ((("Steel",), 0.5, 1.0, 1.0), (("Resin",), 0.1, 0.3, 0.7)),
    ),
    _Family(
        "Blenders", "BL", 0.25,
        (0.70, 0.65, 0.75, 0.80, 0.85, 0.80, 0.75, 0.80, 0.95, 1.15, 1.90, 1.90),
        0.05, 0.15, 170, (39, 149),
        ((("Assembly",), 0.25, 0.60, 1.0), (("Moulding",), 0.10, 0.30, 0.9)),
        ((("Resin",), 0.6, 1.2, 1.0), (("Steel",), 0.1, 0.3, 0.6)),
    ),
    _Family(
        "Coffee", "CF", 0.25, _cosine(0.04, 1), 0.08, 0.08, 520, (5, 25),
        ((("Roasting",), 0.05, 0.10, 1.0), (("Packing",), 0.05, 0.08, 0.9)),
        ((("Beans",), 0.25, 1.0, 1.0),),  # qty_per_unit follows the bag size, see _kg_per_unit
    ),
    _Family(
        "Spares", "SP", 0.20, _cosine(0.0, 1), 0.0, 0.0, 0, (3, 25),
        ((("Moulding",), 0.05, 0.30, 1.0),),
        ((("Resin", "Steel"), 0.02, 0.20, 1.0),),
        intermittent=True,
    ),
)
# fmt: on
_COFFEE_KG = np.array([0.25, 0.5, 1.0])
_SEASON = np.array([f.season for f in _FAMILIES])  # family x calendar month


@dataclass(frozen=True)
class _Calendar:
    """Month arithmetic: history month t = 0 .. n_months-1; the cycle is t = n_months."""

    first: np.datetime64  # first month of history, datetime64[M]
    n_months: int
    horizon: int

    def months(self, t) -> np.ndarray:
        """First-of-month datetime64[ns] of month index ``t`` (any int or int array)."""
        return (self.first + np.asarray(t, dtype="int64")).astype("datetime64[ns]")

    @property
    def history(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.months(np.arange(self.n_months)))

    @property
    def future(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.months(self.n_months + np.arange(self.horizon)))

    @property
    def month_of_year(self) -> np.ndarray:
        """Calendar month 0 .. 11 of every history month."""
        return self.history.month.to_numpy() - 1

    @property
    def end_of_history(self) -> pd.Timestamp:
        return pd.Timestamp(self.months(self.n_months)) - pd.Timedelta(days=1)


@dataclass(frozen=True)
class _Catalog:
    """Everything known about the SKUs, one array entry per SKU (sorted by code)."""

    fam: np.ndarray  # index into _FAMILIES
    code: list[str]
    description: list[str]
    price: np.ndarray
    cost: np.ndarray
    status: np.ndarray  # str
    launch_t: np.ndarray  # month index of launch (negative: before history)
    end_t: np.ndarray  # last month index with sales
    eol_t: np.ndarray  # month index of end of life, -1 when none
    like: np.ndarray  # index of the like SKU, -1 when none
    level: np.ndarray  # current monthly units of a mature SKU
    growth: np.ndarray  # yearly trend
    decline_t0: np.ndarray  # month index where the run-out decline starts (n_months: none)
    decline_rate: np.ndarray
    region_share: np.ndarray  # SKU x region
    pack_kg: np.ndarray  # bag size for coffee, 0 otherwise

    @property
    def n(self) -> int:
        return len(self.code)

    @property
    def start_t(self) -> np.ndarray:
        return np.maximum(self.launch_t, 0)


# --------------------------------------------------------------------------- entry point


def make_demo(
    seed: int = 7,
    last_month: str = "2026-10",
    n_skus: int = 160,
    n_months: int = 48,
    horizon: int = 18,
) -> dict[str, pd.DataFrame]:
    """Generate the demo company: one DataFrame per table of the data contract.

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``; the same arguments give identical tables.
    last_month
        Last month of history, ``YYYY-MM``; the cycle is the month after it.
    n_skus
        Number of SKUs (at least 12, so every lifecycle case appears).
    n_months
        Months of history ending at ``last_month`` (at least 13).
    horizon
        Months from the cycle on that material_supply, budget and sales_inputs cover
        (at least 6).

    Returns
    -------
    dict of str to DataFrame
        The twelve contract tables (products, sales_history, order_lines, inventory,
        resources, routings, bom, material_supply, costs, workforce, sales_inputs,
        budget) in the in-memory format of :mod:`sopkit.data`.

    Raises
    ------
    SopError
        An argument is out of range or ``last_month`` is not a month.

    Example
    -------
    >>> t = make_demo(n_skus=24, n_months=30)
    >>> t["products"]["family"].nunique()
    4
    """
    cal = _calendar(last_month, n_skus, n_months, horizon)
    rng = np.random.default_rng(seed)
    cat = _catalog(rng, n_skus, cal)
    qty = _demand(rng, cat, cal)
    total = np.nansum(qty, axis=1)  # SKU x month, all regions
    hours = _hours_per_unit(rng, cat)
    kg = _kg_per_unit(rng, cat)
    resources = _resources(rng, hours, total, cal)
    return {
        "products": _products(cat, cal),
        "sales_history": _sales_history(cat, qty, cal),
        "order_lines": _order_lines(rng, cat, qty, cal),
        "inventory": _inventory(rng, cat, total),
        "resources": resources,
        "routings": _long_table(cat, hours, RESOURCES, "resource", "hours_per_unit"),
        "bom": _long_table(cat, kg, MATERIALS, "material", "qty_per_unit"),
        "material_supply": _material_supply(rng, kg, total, cal),
        "costs": _costs(rng, cat, total),
        "workforce": _workforce(rng, resources),
        "sales_inputs": _sales_inputs(cat, total, qty, cal),
        "budget": _budget(rng, cat, total, cal),
    }


def _calendar(last_month: str, n_skus: int, n_months: int, horizon: int) -> _Calendar:
    try:
        last = pd.Period(str(last_month), freq="M")
    except (ValueError, TypeError) as exc:
        raise SopError(
            f"demo: last_month {last_month!r} is not a month; write it as YYYY-MM, e.g. '2026-10'"
        ) from exc
    for name, value, low in (
        ("n_skus", n_skus, 12),
        ("n_months", n_months, 13),
        ("horizon", horizon, 6),
    ):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise SopError(
                f"demo: {name}={value!r} is not allowed; use a whole number of at least {low} "
                "so that every case of the demo (seasons, launches, shortages) fits"
            )
    first = np.datetime64(str(last - (n_months - 1)), "M")
    return _Calendar(first=first, n_months=int(n_months), horizon=int(horizon))


# --------------------------------------------------------------------------- catalogue


def _family_counts(n: int) -> np.ndarray:
    """SKUs per family by the largest remainder, at least two each."""
    shares = np.array([f.share for f in _FAMILIES])
    raw = shares * n
    counts = np.floor(raw).astype(int)
    counts[np.argsort(-(raw - counts))[: n - counts.sum()]] += 1
    while counts.min() < 2:
        counts[counts.argmin()] += 1
        counts[counts.argmax()] -= 1
    return counts


def _catalog(rng: np.random.Generator, n: int, cal: _Calendar) -> _Catalog:
    T = cal.n_months
    fam = np.repeat(np.arange(len(_FAMILIES)), _family_counts(n))
    spares = np.array([_FAMILIES[f].intermittent for f in fam])

    # Lifecycle cases come from the non-spare families; the first SKU of each family
    # stays an old active item so that a new item always has a like_sku to point to.
    anchors = np.r_[0, np.flatnonzero(np.diff(fam)) + 1]
    pool = np.setdiff1d(np.flatnonzero(~spares), anchors)
    n_new = max(2, round(0.08 * n))
    n_phase = max(1, round(0.05 * n))
    n_disc = max(1, round(0.03 * n))
    n_young = round(0.04 * n) if T >= 26 else 0
    picked = rng.permutation(pool)[: n_new + n_phase + n_disc + n_young]
    status = np.full(n, "active", dtype=object)
    cut = np.cumsum([n_new, n_phase, n_disc])
    status[picked[: cut[0]]] = "new"
    status[picked[cut[0] : cut[1]]] = "phase_out"
    status[picked[cut[1] : cut[2]]] = "discontinued"
    young = picked[cut[2] :]

    launch_t = -rng.integers(1, 73, n)  # launched up to six years before history
    launch_t[young] = T - rng.integers(13, 25, len(young))
    is_new = status == "new"
    launch_t[is_new] = T - rng.integers(3, 13, is_new.sum())  # 3-12 months of history

    # Codes follow launch order within a family, so new items have the highest numbers.
    order = np.lexsort((rng.random(n), launch_t, fam))
    fam, status, launch_t = fam[order], status[order], launch_t[order]
    number = np.arange(n) - np.r_[0, np.flatnonzero(np.diff(fam)) + 1].repeat(np.bincount(fam))
    code = [f"{_FAMILIES[f].prefix}-{k + 1:04d}" for f, k in zip(fam, number, strict=True)]

    level = np.array([_FAMILIES[f].level for f in fam]) * rng.lognormal(0, 0.55, n)
    growth = np.array([_FAMILIES[f].growth for f in fam]) + rng.normal(0, 0.08, n)

    # Run-out: phase-out items decline over their last 6-12 months of history, to
    # 30-50 % of their level; discontinued items decline and stop 3-10 months ago.
    end_t = np.full(n, T - 1)
    eol_t = np.full(n, -1)
    decline_t0 = np.full(n, T)
    decline_rate = np.zeros(n)
    phase = np.flatnonzero(status == "phase_out")
    decline_t0[phase] = T - 1 - rng.integers(6, 13, len(phase))
    eol_t[phase] = T + rng.integers(2, 6, len(phase))
    disc = np.flatnonzero(status == "discontinued")
    end_t[disc] = T - 1 - rng.integers(3, 11, len(disc))
    decline_t0[disc] = end_t[disc] - rng.integers(4, 9, len(disc))
    eol_t[disc] = end_t[disc]  # eol_month is the last month an item sells
    run_out = np.r_[phase, disc]
    growth[run_out] = -np.abs(growth[run_out])  # items are dropped because they lose ground
    floor = rng.uniform(0.3, 0.5, len(run_out))
    span = np.maximum(np.where(eol_t[run_out] > T, T - 1, end_t[run_out]) - decline_t0[run_out], 1)
    decline_rate[run_out] = -np.log(floor) / span

    # Half the new items (at least one, at least one without) borrow a like_sku: an
    # old active item of the same family whose level they roughly inherit.
    like = np.full(n, -1)
    new = np.flatnonzero(status == "new")
    with_like = new[rng.permutation(len(new))[: max(1, len(new) // 2)]]
    old = (status == "active") & (launch_t < 0)
    for i in with_like:
        like[i] = rng.choice(np.flatnonzero(old & (fam == fam[i])))
    level[with_like] = level[like[with_like]] * rng.uniform(0.6, 1.1, len(with_like))

    region_share = rng.dirichlet(30 * _REGION_SHARE, n)
    description, price, pack_kg = _describe(rng, fam, code)
    margin = rng.uniform(0.25, 0.55, n)
    return _Catalog(
        fam=fam,
        code=code,
        description=description,
        price=price,
        cost=np.round(price * (1 - margin), 2),
        status=status,
        launch_t=launch_t,
        end_t=end_t,
        eol_t=eol_t,
        like=like,
        level=level,
        growth=growth,
        decline_t0=decline_t0,
        decline_rate=decline_rate,
        region_share=region_share,
        pack_kg=pack_kg,
    )


def _describe(
    rng: np.random.Generator, fam: np.ndarray, code: list[str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Descriptions, unit prices and (coffee) bag sizes."""
    n = len(fam)

    def pick(options, size=n):
        return np.asarray(options, dtype=object)[rng.integers(0, len(options), size)]

    colour = pick(["white", "black", "red", "cream", "silver", "green", "copper"])
    kettle = pick(["Classic", "Glass", "Steel", "Travel", "Smart", "Retro", "Quiet", "Rapid"])
    litres = pick(["1.0", "1.2", "1.5", "1.7"])
    blender = pick(["Personal", "Power", "Hand", "Jug", "Pro", "Compact", "Vacuum", "Smoothie"])
    watts = pick(["350", "600", "900", "1200", "1500"])
    origin = pick(["House blend", "Espresso", "Decaf", "Colombia", "Ethiopia", "Brazil", "Sumatra"])
    form = pick(["beans", "ground"])
    kg_i = rng.choice(3, n, p=[0.45, 0.35, 0.2])
    part = pick(["Lid", "Filter", "Blade set", "Jug", "Seal", "Base", "Switch", "Handle"])
    parents = np.flatnonzero(fam < 2)  # spares belong to a kettle or a blender
    parent = [code[i] for i in parents[rng.integers(0, len(parents), n)]]

    lo = np.array([_FAMILIES[f].price[0] for f in fam])
    hi = np.array([_FAMILIES[f].price[1] for f in fam])
    price = rng.uniform(lo, hi)
    coffee = fam == 2
    # Coffee is priced per kg, cheaper per kg in bigger bags.
    price[coffee] = rng.uniform(20, 32, coffee.sum()) * _COFFEE_KG[kg_i[coffee]] ** 0.85
    pack_kg = np.where(coffee, _COFFEE_KG[kg_i], 0.0)
    bag = np.array(["250 g", "500 g", "1 kg"], dtype=object)[kg_i]

    text = []
    for i, f in enumerate(fam):
        name = _FAMILIES[f].name
        if name == "Kettles":
            text.append(f"{kettle[i]} kettle {litres[i]} l, {colour[i]}")
        elif name == "Blenders":
            text.append(f"{blender[i]} blender {watts[i]} W, {colour[i]}")
        elif name == "Coffee":
            text.append(f"{origin[i]} coffee, {form[i]}, {bag[i]}")
        else:
            text.append(f"{part[i]} for {parent[i]}")
    return text, np.round(price, 2), pack_kg


# --------------------------------------------------------------------------- demand


def _demand(rng: np.random.Generator, cat: _Catalog, cal: _Calendar) -> np.ndarray:
    """Monthly demand per SKU x region x month; NaN where the SKU did not exist."""
    S, R, T = cat.n, len(REGIONS), cal.n_months
    t = np.arange(T)
    season = _SEASON[cat.fam][:, cal.month_of_year]  # S x T
    trend = (1 + cat.growth[:, None]) ** ((t - (T - 1)) / 12)
    age = t - cat.launch_t[:, None]
    ramp = np.where(cat.launch_t[:, None] >= 0, 1 - np.exp(-np.maximum(age + 1, 0) / 2.5), 1.0)
    decline = np.exp(-cat.decline_rate[:, None] * np.maximum(t - cat.decline_t0[:, None], 0))
    promo = _promotions(rng, cat, cal)
    mean_sku = cat.level[:, None] * season * trend * ramp * decline * promo
    sigma = np.array([_FAMILIES[f].noise for f in cat.fam])[:, None, None]
    noise = np.exp(rng.normal(-(sigma**2) / 2, sigma, (S, R, T)))
    regular = rng.poisson(mean_sku[:, None, :] * cat.region_share[:, :, None] * noise)

    # Spares: a demand occurs in 5-25 % of region-months (half or more of the months
    # without any demand at all), then 1 to ~12 units.
    p = rng.uniform(0.06, 0.18, S)[:, None, None] * (R * cat.region_share[:, :, None])
    size = 1 + rng.poisson(rng.uniform(1.5, 7, S)[:, None, None], (S, R, T))
    lumpy = (rng.random((S, R, T)) < p) * size

    spares = np.array([_FAMILIES[f].intermittent for f in cat.fam])[:, None, None]
    qty = np.where(spares, lumpy, regular).astype(float)
    alive = (t >= cat.start_t[:, None]) & (t <= cat.end_t[:, None])
    return np.where(alive[:, None, :], qty, np.nan)


def _promotions(rng: np.random.Generator, cat: _Catalog, cal: _Calendar) -> np.ndarray:
    """Promotion factor per SKU x month: 1.5-3x in a few SKU-months of the last two years."""
    T = cal.n_months
    factor = np.ones((cat.n, T))
    fit = np.flatnonzero(
        (cat.status == "active")
        & (cat.launch_t < 0)
        & ~np.array([_FAMILIES[f].intermittent for f in cat.fam])
    )
    k = min(len(fit), max(2, round(cat.n / 25)))
    skus = rng.choice(fit, k, replace=False)
    months = rng.integers(max(0, T - 24), T, k)
    factor[skus, months] = rng.uniform(1.5, 3.0, k)
    return factor


# --------------------------------------------------------------------------- tables


def _products(cat: _Catalog, cal: _Calendar) -> pd.DataFrame:
    eol = cal.months(np.maximum(cat.eol_t, 0))
    return pd.DataFrame(
        {
            "sku": cat.code,
            "description": cat.description,
            "family": [_FAMILIES[f].name for f in cat.fam],
            "unit_price": cat.price,
            "unit_cost": cat.cost,
            "status": [str(s) for s in cat.status],
            "launch_month": cal.months(cat.launch_t),
            "eol_month": pd.DatetimeIndex(eol).where(cat.eol_t >= 0),
            "like_sku": [cat.code[i] if i >= 0 else None for i in cat.like],
        }
    )


def _sales_history(cat: _Catalog, qty: np.ndarray, cal: _Calendar) -> pd.DataFrame:
    s, r, t = np.nonzero(~np.isnan(qty))  # C order: sorted by sku, region, month
    return pd.DataFrame(
        {
            "sku": np.asarray(cat.code, dtype=object)[s],
            "region": np.asarray(REGIONS, dtype=object)[r],
            "month": cal.months(t),
            "qty": qty[s, r, t],
        }
    )


def _order_lines(
    rng: np.random.Generator, cat: _Catalog, qty: np.ndarray, cal: _Calendar
) -> pd.DataFrame:
    """Split each SKU-region-month of the last 24 months into 1-4 order lines."""
    T = cal.n_months
    window = np.nan_to_num(qty[:, :, max(0, T - 24) :])
    s, r, t = np.nonzero(window > 0)
    t = t + max(0, T - 24)
    q = qty[s, r, t].astype(np.int64)
    k = np.minimum(q, rng.integers(1, 5, len(q)))

    # Every line gets one unit, the rest is shared by random weights; the rounding
    # leftover goes to the first line of the cell, so each cell adds up exactly.
    cell = np.repeat(np.arange(len(q)), k)
    first = np.r_[0, np.cumsum(k)[:-1]]
    w = rng.random(len(cell))
    share = w / np.add.reduceat(w, first)[cell]
    rest = q - k
    part = np.floor(rest[cell] * share).astype(np.int64)
    part[first] += rest - np.add.reduceat(part, first)
    req_qty = 1 + part

    s, r, t = s[cell], r[cell], t[cell]
    n = len(cell)
    month_start = cal.months(t)
    days = pd.DatetimeIndex(month_start).days_in_month.to_numpy()
    order_date = month_start + (rng.random(n) * days).astype(np.int64).astype("timedelta64[D]")
    requested = order_date + rng.integers(3, 21, n).astype("timedelta64[D]")

    # Late and short lines: more of both when the family is in its season peak.
    peak = np.clip(_SEASON[cat.fam[s], cal.month_of_year[t]] - 1, 0, 1)
    late = rng.random(n) < 0.04 + 0.12 * peak
    short = (rng.random(n) < 0.07 + 0.08 * peak) & (req_qty >= 2)
    delay = np.where(late, rng.integers(1, 11, n), -rng.integers(0, 3, n))
    shipped = np.maximum(requested + delay.astype("timedelta64[D]"), order_date)
    end = np.datetime64(cal.end_of_history, "ns")
    due = requested <= end
    # Data are as of the end of history: due lines shipped by then, later ones maybe open.
    shipped = np.where(due, np.minimum(shipped, end), shipped)
    open_ = shipped > end
    ship_qty = np.where(
        short, np.clip(np.floor(req_qty * rng.uniform(0.3, 0.85, n)), 1, req_qty - 1), req_qty
    ).astype(float)

    customer = _customers(rng, r)
    out = pd.DataFrame(
        {
            "order_id": None,
            "sku": np.asarray(cat.code, dtype=object)[s],
            "region": np.asarray(REGIONS, dtype=object)[r],
            "customer": customer,
            "order_date": order_date,
            "requested_date": requested,
            "requested_qty": req_qty.astype(float),
            "shipped_date": np.where(open_, np.datetime64("NaT"), shipped).astype("datetime64[ns]"),
            "shipped_qty": np.where(open_, np.nan, ship_qty),
        }
    )
    out = out.sort_values(["order_date", "customer", "sku"], kind="stable", ignore_index=True)
    out["order_id"] = [f"SO-{100001 + i}" for i in range(len(out))]
    return out


def _customers(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    """Each region has its own customers; a few big ones place most orders."""
    n = _N_CUSTOMERS_PER_REGION
    weight = 1 / np.arange(1, n + 1) ** 0.8
    rank = rng.choice(n, len(region), p=weight / weight.sum())
    ids = region * n + rank + 1
    return np.array([f"C-{i:03d}" for i in ids], dtype=object)


def _inventory(rng: np.random.Generator, cat: _Catalog, total: np.ndarray) -> pd.DataFrame:
    keep = cat.status != "discontinued"
    recent = _recent_mean(cat, total, 6)  # spares need more than three months to average
    on_hand = np.round(recent * rng.uniform(0.5, 2.0, cat.n))
    return pd.DataFrame(
        {
            "sku": np.asarray(cat.code, dtype=object)[keep],
            "on_hand": on_hand[keep],
            "safety_stock": np.round(0.5 * recent)[keep],
        }
    )


def _recent_mean(cat: _Catalog, total: np.ndarray, months: int) -> np.ndarray:
    """Average monthly demand over the last ``months`` months in which the SKU existed."""
    t = np.arange(total.shape[1])[-months:]
    alive = (t >= cat.start_t[:, None]) & (t <= cat.end_t[:, None])
    return (total[:, -months:] * alive).sum(axis=1) / np.maximum(alive.sum(axis=1), 1)


def _hours_per_unit(rng: np.random.Generator, cat: _Catalog) -> np.ndarray:
    """SKU x resource matrix of hours per unit (0 = not routed there)."""
    return _usage(rng, cat, RESOURCES, "routing")


def _kg_per_unit(rng: np.random.Generator, cat: _Catalog) -> np.ndarray:
    """SKU x material matrix of kg per unit; coffee uses its bag size plus roasting loss."""
    kg = _usage(rng, cat, MATERIALS, "bom")
    coffee = cat.pack_kg > 0
    kg[coffee, MATERIALS.index("Beans")] = np.round(cat.pack_kg[coffee] * 1.18, 3)
    return kg


def _usage(
    rng: np.random.Generator, cat: _Catalog, names: tuple[str, ...], attr: str
) -> np.ndarray:
    out = np.zeros((cat.n, len(names)))
    for f, fam in enumerate(_FAMILIES):
        rows = np.flatnonzero(cat.fam == f)
        for options, lo, hi, prob in getattr(fam, attr):
            used = rows[rng.random(len(rows)) < prob]
            col = np.array([names.index(o) for o in options])[
                rng.integers(0, len(options), len(used))
            ]
            out[used, col] = np.round(rng.uniform(lo, hi, len(used)), 3)
    return out


def _long_table(
    cat: _Catalog, matrix: np.ndarray, names: tuple[str, ...], column: str, value: str
) -> pd.DataFrame:
    s, j = np.nonzero(matrix)
    return pd.DataFrame(
        {
            "sku": np.asarray(cat.code, dtype=object)[s],
            column: np.asarray(names, dtype=object)[j],
            value: matrix[s, j],
        }
    )


def _resources(
    rng: np.random.Generator, hours: np.ndarray, total: np.ndarray, cal: _Calendar
) -> pd.DataFrame:
    """Regular hours at 88-95 % of last year's busiest month, so the peak needs overtime."""
    need = hours.T @ total[:, -12:]  # resource x month
    peak = need.max(axis=1)
    regular = np.floor(peak * rng.uniform(0.88, 0.95, len(RESOURCES)))
    # whole hours; on a tiny resource the rounding must not push the peak out of reach
    overtime = np.ceil(
        np.maximum(regular * rng.uniform(0.15, 0.20, len(RESOURCES)), peak - regular)
    )
    ot_cost = np.round([1.5 * _LABOUR_RATE[r] for r in RESOURCES], 2)
    base = pd.DataFrame(
        {
            "resource": list(RESOURCES),
            "month": pd.NaT,
            "regular_hours": regular,
            "max_overtime_hours": overtime,
            "overtime_cost_per_hour": ot_cost,
        }
    )
    # The maintenance shutdown goes into the first July-August of the horizon.
    future = cal.future
    start = next(
        (i for i in range(len(future) - 1) if future[i].month == 7),
        min(2, len(future) - 2),
    )
    shut = base[base["resource"] == _MAINTENANCE_RESOURCE]
    shut = pd.concat([shut] * 2, ignore_index=True)
    shut["month"] = future[start : start + 2]
    shut["regular_hours"] = np.floor(shut["regular_hours"] * 0.5)
    out = pd.concat([base, shut], ignore_index=True)
    out["month"] = out["month"].astype("datetime64[ns]")
    return out


def _material_supply(
    rng: np.random.Generator, kg: np.ndarray, total: np.ndarray, cal: _Calendar
) -> pd.DataFrame:
    """Ample supply, except the short material for 3 months from cycle + 2."""
    need = kg.T @ total  # material x history month
    last_year = need[:, -12:]
    months = cal.future
    rows = []
    for j, material in enumerate(MATERIALS):
        max_qty = np.full(len(months), np.ceil(last_year[j].max() * rng.uniform(1.5, 1.8)))
        if material == _SHORT_MATERIAL:
            for h in range(2, 5):
                # Short against both the same month last year and the average month.
                same_month = need[j, cal.n_months + h - 12]
                typical = min(same_month, last_year[j].mean())
                max_qty[h] = np.round(typical * rng.uniform(0.6, 0.75))
        rows.append(
            pd.DataFrame(
                {
                    "material": material,
                    "month": months,
                    "max_qty": max_qty,
                    "unit_cost": _MATERIAL_COST[material],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _costs(rng: np.random.Generator, cat: _Catalog, total: np.ndarray) -> pd.DataFrame:
    avg = _recent_mean(cat, total, 12)
    return pd.DataFrame(
        {
            "sku": list(cat.code),
            "holding_cost_per_unit_month": np.round(cat.cost * rng.uniform(0.015, 0.02, cat.n), 4),
            "backlog_cost_per_unit_month": np.round(0.10 * cat.price, 2),
            "subcontract_cost_per_unit": np.round(1.3 * cat.cost, 2),
            "max_subcontract_qty": np.round(0.2 * avg),
        }
    )


def _workforce(rng: np.random.Generator, resources: pd.DataFrame) -> pd.DataFrame:
    base = resources[resources["month"].isna()]
    regular = base["regular_hours"].to_numpy()
    workers = np.maximum(np.round(regular / 160), 1)
    n = len(base)
    return pd.DataFrame(
        {
            "resource": base["resource"].tolist(),
            "workers": workers,
            "hours_per_worker_month": np.round(regular / workers, 1),
            "hire_cost": np.round(rng.uniform(6000, 9000, n), -1),
            "layoff_cost": np.round(rng.uniform(12000, 18000, n), -1),
            "regular_cost_per_hour": [_LABOUR_RATE[r] for r in base["resource"]],
        }
    )


def _sales_inputs(
    cat: _Catalog, total: np.ndarray, qty: np.ndarray, cal: _Calendar
) -> pd.DataFrame:
    """Seven adjustments a sales team would typically enter for the coming months."""
    future = cal.future
    h = len(future)
    recent = total[:, -3:].sum(axis=1)
    active = (cat.status == "active") & (cat.launch_t < 0)

    def top(family: str, region: int | None = None) -> str:
        f = [x.name for x in _FAMILIES].index(family)
        vol = recent if region is None else np.nansum(qty[:, region, -3:], axis=1)
        return cat.code[int(np.argmax(np.where(active & (cat.fam == f), vol, -1)))]

    april = next((i for i in range(h) if future[i].month == 4), 4)
    new = np.flatnonzero(cat.status == "new")
    launch_sku = cat.code[new[np.argmax(recent[new])]]
    rows = [
        (top("Blenders"), None, None, april, "pct", 25.0, "Spring promotion", "j.doe"),
        (None, "Coffee", None, 1, "pct", -10.0, "Retailer range review", "m.keller"),
        (None, "Coffee", None, 2, "pct", -10.0, "Retailer range review", "m.keller"),
        (top("Kettles", 0), None, "North", 0, "abs", 300.0, "Hotel chain tender won", "a.smith"),
        (top("Coffee", 1), None, "South", 1, "abs", -150.0, "Customer destocking", "a.smith"),
        (launch_sku, None, None, 0, "pct", 20.0, "Launch campaign", "p.novak"),
        (None, "Kettles", "West", 3, "pct", 8.0, "New distributor in the West", "p.novak"),
    ]
    out = pd.DataFrame(
        rows, columns=["sku", "family", "region", "month", "kind", "value", "reason", "author"]
    )
    out["month"] = pd.DatetimeIndex(future[out["month"].to_numpy()])
    return out


#: what the demo's budgeted margin keeps back from the standard margin, as a share of revenue
MARGIN_ALLOWANCE = 0.02


def _budget(
    rng: np.random.Generator, cat: _Catalog, total: np.ndarray, cal: _Calendar
) -> pd.DataFrame:
    """Family revenue (and margin) from cycle - 12 to the horizon's end, 5-10 % above last year.

    A month's reference is the latest same calendar month in history (one year back,
    or two for the far horizon, grown once per year); a past budget month without a
    year-earlier month in history takes its own actual as the reference. Intermittent
    families use the 12-month average ending at the reference month instead.
    """
    T = cal.n_months
    revenue = np.zeros((len(_FAMILIES), T))
    np.add.at(revenue, cat.fam, total * cat.price[:, None])
    # Nobody budgets the lumps of an intermittent family: use its 12-month average.
    cum = np.cumsum(np.c_[np.zeros(len(_FAMILIES)), revenue], axis=1)
    lo = np.maximum(np.arange(T) - 11, 0)
    average = (cum[:, 1:] - cum[:, lo]) / (np.arange(T) - lo + 1)
    lumpy = np.array([f.intermittent for f in _FAMILIES])
    revenue[lumpy] = average[lumpy]
    t = np.arange(T - 12, T + cal.horizon)
    years = np.maximum((t - (T - 1) + 11) // 12, 1)  # years back to land in history
    ref = t - 12 * years
    years = np.where(ref < 0, 0, years)
    ref = np.where(ref < 0, t, ref)
    growth = np.array([f.growth for f in _FAMILIES])[:, None]
    uplift = rng.uniform(1.05, 1.10, (len(_FAMILIES), len(t)))
    budget = revenue[:, ref] * (1 + growth) ** years * uplift
    # the margin: each family's standard margin over its history, less 2 points for
    # what the supply plan spends beyond the standard (overtime, holding, bought-in units)
    sold = total.sum(axis=1)
    price_sum, cost_sum = np.zeros(len(_FAMILIES)), np.zeros(len(_FAMILIES))
    np.add.at(price_sum, cat.fam, sold * cat.price)
    np.add.at(cost_sum, cat.fam, sold * cat.cost)
    share = 1 - cost_sum / np.where(price_sum > 0, price_sum, 1.0) - MARGIN_ALLOWANCE
    return pd.DataFrame(
        {
            "family": np.repeat([f.name for f in _FAMILIES], len(t)).astype(object),
            "month": np.tile(cal.months(t), len(_FAMILIES)),
            "revenue": np.round(budget.ravel(), -1),
            "margin": np.round((budget * share[:, None]).ravel(), -1),
        }
    )
