"""statsforecast's ARIMA estimated faster, to the same last bit.

statsforecast fits an ARIMA with ``scipy.optimize.minimize(..., method="BFGS")`` and no
gradient, so scipy estimates one by forward differences (``approx_derivative``). On the
demo company's series that machinery, not the likelihood (statsforecast's C++), took
most of an ARIMA search's time: about a third of it was scipy's bookkeeping around each
difference. :func:`fast_arima_gradients` hands BFGS the same forward differences,
computed the way scipy computes them (the same step, the same points, the same
arithmetic, in the same order), without that overhead; the optimiser then takes the
same path and the fitted model is the same to the last bit (``tests/test_engine.py``
checks this on real series). Applied only around the engine's own fits (a context
manager), and only to BFGS without a gradient: any other call goes to scipy untouched.
"""

from __future__ import annotations

import contextlib
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
        fd = _ForwardDifference(fun, tuple(args), eps)
        return optimize.minimize(fd.objective, x0, method=method, jac=fd.gradient, **kwargs)
    return optimize.minimize(fun, x0, args=args, method=method, jac=jac, **kwargs)


@contextlib.contextmanager
def fast_arima_gradients() -> Iterator[None]:
    """Within the block, statsforecast's ARIMA fits use :func:`_minimize`.

    A statsforecast without ``statsforecast.arima.minimize`` is left as it is. Not
    thread-safe: the engine's workers fit one series at a time.
    """
    import statsforecast.arima as sf_arima

    original = getattr(sf_arima, "minimize", None)
    if original is not optimize.minimize:
        yield  # another statsforecast, or already inside the block
        return
    sf_arima.minimize = _minimize
    try:
        yield
    finally:
        sf_arima.minimize = original
