"""statsforecast's models fitted faster, to the same last bit.

Two of statsforecast's costs are not its models' but their surroundings, and
:func:`statsforecast_speedups` removes them around the engine's own fits (a context
manager; nothing changes outside it):

- **ARIMA's gradient.** statsforecast fits an ARIMA with ``scipy.optimize.minimize(...,
  method="BFGS")`` and no gradient, so scipy estimates one by forward differences
  (``approx_derivative``). On the demo company's series that machinery, not the
  likelihood (statsforecast's C++), took most of an ARIMA search's time, about a third
  of it scipy's bookkeeping around each difference. BFGS gets the same forward
  differences here, computed the way scipy computes them (the same step, the same
  points, the same arithmetic, in the same order), without that overhead; the optimiser
  then takes the same path. Only BFGS without a gradient: any other call goes to scipy.
- **Interval quantiles.** Every forecast with intervals builds a new frozen
  ``scipy.stats`` distribution (``statsforecast.distributions.frozen_error_distribution``)
  to read two quantiles; building one costs about a millisecond, a sixth of a warm
  forecast of the demo. The same distribution (the same arguments) is built once here.

The fitted models, forecasts and bounds are the same to the last bit
(``tests/test_engine.py`` checks this on synthetic series, with a mutant that fails).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import numpy as np
from scipy import optimize

#: scipy's default step of BFGS's forward differences (``scipy.optimize._optimize._epsilon``)
#: and of its relative fallback for 2-point differences in float64: sqrt(machine epsilon)
_EPS = float(np.finfo(np.float64).eps) ** 0.5


class _ForwardDifference:
    """An objective and its forward-difference gradient, as scipy's BFGS forms them.

    The objective remembers its last point and value: BFGS asks for the gradient where
    it has just evaluated the function, and scipy's own differences start from that value.
    """

    def __init__(self, fun, args: tuple, eps: float) -> None:
        self.fun, self.args, self.eps = fun, args, eps
        self._x: np.ndarray | None = None
        self._f = 0.0

    def _value(self, x: np.ndarray) -> float:
        fx = self.fun(np.copy(x), *self.args)  # a copy, as scipy passes: fun may write to it
        if not np.isscalar(fx):
            fx = np.asarray(fx).item()
        return fx

    def objective(self, x: np.ndarray) -> float:
        fx = self._value(x)
        self._x, self._f = np.copy(x), fx
        return fx

    def gradient(self, x: np.ndarray) -> np.ndarray:
        same = self._x is not None and np.array_equal(x, self._x)
        f0 = self._f if same else self._value(x)
        # scipy.optimize._numdiff.approx_derivative with abs_step=eps, method="2-point"
        sign = (x >= 0).astype(float) * 2 - 1
        dx = (x + self.eps) - x
        h = np.where(dx == 0, _EPS * sign * np.maximum(1.0, np.abs(x)), self.eps)
        grad = np.empty(x.size)
        for i in range(x.size):
            x1 = np.copy(x)
            x1[i] = x[i] + h[i]
            grad[i] = (self._value(x1) - f0) / ((x[i] + h[i]) - x[i])
        return grad


def _minimize(fun, x0, args=(), method=None, jac=None, **kwargs):
    """``scipy.optimize.minimize``; BFGS without a gradient gets the lean differences."""
    if jac is None and isinstance(method, str) and method.upper() == "BFGS":
        eps = (kwargs.get("options") or {}).get("eps", _EPS)
        fd = _ForwardDifference(fun, args if isinstance(args, tuple) else (args,), eps)
        return optimize.minimize(fd.objective, x0, method=method, jac=fd.gradient, **kwargs)
    return optimize.minimize(fun, x0, args=args, method=method, jac=jac, **kwargs)


def _cached(make):
    """``frozen_error_distribution`` built once per (sigma, distribution) without params."""
    cache = functools.lru_cache(maxsize=256)(lambda sigma, distribution: make(sigma, distribution))

    @functools.wraps(make)
    def frozen(sigma, distribution, params=None):
        if params is None and isinstance(sigma, (int, float)) and isinstance(distribution, str):
            return cache(float(sigma), distribution)
        return make(sigma, distribution, params)

    return frozen


@contextlib.contextmanager
def statsforecast_speedups() -> Iterator[None]:
    """Within the block, statsforecast's fits use the speedups of the notes.

    A statsforecast without the functions patched is left as it is. Not thread-safe: the
    engine's workers fit one series at a time.
    """
    import statsforecast.arima as sf_arima
    import statsforecast.distributions as sf_dist

    patches = []
    if getattr(sf_arima, "minimize", None) is optimize.minimize:
        patches.append((sf_arima, "minimize", _minimize))
    make = getattr(sf_dist, "frozen_error_distribution", None)
    if callable(make) and not hasattr(make, "__wrapped__"):
        patches.append((sf_dist, "frozen_error_distribution", _cached(make)))
    originals = [(module, name, getattr(module, name)) for module, name, _ in patches]
    for module, name, new in patches:
        setattr(module, name, new)
    try:
        yield
    finally:
        for module, name, old in originals:
            setattr(module, name, old)
