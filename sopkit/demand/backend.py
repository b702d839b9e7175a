"""Where the forecasting engine runs: worker processes on this machine, or a Dask cluster.

:func:`forecast_executor` turns the ``demand.scheduler`` parameter into what
:func:`sopkit.demand.forecast` and :func:`sopkit.demand.statistical_forecast` take as
``executor``. The work and its results are the same either way; only where the series
are forecast changes.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

import numpy as np

from sopkit.config import _check_scheduler
from sopkit.errors import SopError

_EMPTY_HINT = "or leave demand.scheduler empty to forecast with worker processes on this machine"


@contextmanager
def forecast_executor(scheduler: str | None, *, timeout: float = 10) -> Iterator[Executor | None]:
    """Connect to a Dask scheduler for the forecast, or stay on this machine.

    With no scheduler (None or empty), yields None: the engine then forecasts in its own
    worker processes (``n_jobs``). With a scheduler address, connects a
    ``distributed.Client``, waits for a worker, checks that the workers have the same
    sopkit as here, and yields the client's ``concurrent.futures`` executor; the client
    is closed on exit. Forecasts are identical either way, to the last bit: the executor
    copies each task's numpy arrays into fresh memory on the worker (Dask hands them
    over unaligned, which changes the rounding of some fits).

    Workers should run numeric work on one thread each: start one single-threaded
    worker process per core (``dask worker ADDRESS --nworkers N --nthreads 1``) with
    ``OMP_NUM_THREADS=1``, ``MKL_NUM_THREADS=1`` and ``OPENBLAS_NUM_THREADS=1``.
    ``dask worker``'s nanny sets these three by default (Dask's
    ``distributed.nanny.pre-spawn-environ``), as does a ``LocalCluster`` with
    ``processes=True``; workers started without a nanny need them set in their
    environment. The engine also limits BLAS to one thread inside each task.

    The engine cuts the panel into 8 chunks per ``n_jobs`` (default: this machine's
    cores); on a cluster with more worker threads than that, pass ``n_jobs=`` their
    number so that every worker gets work.

    Parameters
    ----------
    scheduler : str or None
        A Dask scheduler address (``tcp://10.0.0.5:8786``, ``tls://...``, ``host:port``),
        as ``demand.scheduler`` holds it; None or empty for this machine.
    timeout : float, default 10
        Seconds to wait for the scheduler to answer, then as long for its first worker.

    Yields
    ------
    concurrent.futures.Executor or None
        The cluster's executor, or None for this machine's worker processes.

    Raises
    ------
    SopError
        If the address is malformed, no scheduler answers there within ``timeout``, it
        has no worker, or its workers lack this version of sopkit. The message says
        what to do; nothing has been run.

    Examples
    --------
    >>> from sopkit.demand import forecast_executor, statistical_forecast
    >>> with forecast_executor(params.demand.scheduler) as executor:  # doctest: +SKIP
    ...     stat = statistical_forecast(ds.sales_history, "2026-11", 18, executor=executor)
    >>> with forecast_executor(None) as executor:
    ...     print(executor)
    None
    """
    try:
        address = _check_scheduler(scheduler)
    except ValueError as exc:
        raise SopError(f"demand.scheduler: expected {exc}") from None
    if address is None:
        yield None
        return
    client = _connect(address, timeout)
    try:
        _check_workers(client, address, timeout)
        # pure=False: every chunk is a task of its own, as in a process pool
        yield _FreshArrays(client.get_executor(pure=False))
    finally:
        client.close()


def _connect(address: str, timeout: float):
    """A Client connected to ``address``, or a SopError saying why not."""
    from distributed import Client

    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except OSError:  # refused, unknown host, firewalled: Dask retries until the timeout
        raise SopError(
            f"No Dask scheduler answered at {address} within {timeout:g} s. Check the "
            "address (is `dask scheduler` running there, and its port open to this "
            f"machine?), {_EMPTY_HINT}."
        ) from None
    except (TypeError, ValueError) as exc:  # e.g. tls:// without certificates configured
        raise SopError(
            f"Cannot connect to the Dask scheduler at {address}: {exc}. Check the address "
            f"and Dask's configuration for it, {_EMPTY_HINT}."
        ) from None


def _check_workers(client, address: str, timeout: float) -> None:
    """SopError unless the cluster has a worker and its workers run this sopkit."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise SopError(
            f"The Dask scheduler at {address} has no worker (waited {timeout:g} s): start "
            f"some with `dask worker {address} --nthreads 1`, {_EMPTY_HINT}."
        ) from None
    here = _sopkit_version()
    found = client.run(importlib.metadata.version, "sopkit", on_error="return")
    wrong = {w: v for w, v in found.items() if v != here}
    if wrong:
        said = ", ".join(
            f"{w} {'has none' if isinstance(v, Exception) else 'has ' + str(v)}"
            for w, v in sorted(wrong.items())
        )
        raise SopError(
            f"The workers of the Dask scheduler at {address} need sopkit {here}, as here: "
            f"{said}. Install this sopkit on them, {_EMPTY_HINT}."
        )


def _sopkit_version() -> str:
    return importlib.metadata.version("sopkit")


class _FreshArrays(Executor):
    """An executor whose tasks get the numpy arrays of their arguments in fresh memory.

    A Dask worker receives a task's arrays as views into the message it read, at any
    byte offset (some not even aligned to their item size), and numeric code can round
    differently on such memory: a series of ``tests/test_dask_backend.py`` was forecast
    3e-14 off the local result. Copied, arrays sit where a local process has them, and
    forecasts are the same to the last bit.
    """

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    def submit(self, fn, /, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` on the cluster, its arrays copied first there."""
        return self._executor.submit(_with_fresh_arrays, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, **kwargs) -> None:
        """Shut the wrapped executor down (the client is closed by forecast_executor)."""
        self._executor.shutdown(wait=wait)


def _with_fresh_arrays(fn, *args, **kwargs):
    return fn(*_fresh(args), **_fresh(kwargs))


def _fresh(value: Any) -> Any:
    """``value`` with every numpy array in it (in lists, tuples, dicts) copied."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value) in (list, tuple):
        return type(value)(_fresh(v) for v in value)
    if type(value) is dict:
        return {k: _fresh(v) for k, v in value.items()}
    return value
