"""The monthly cycle: what stage notebooks open, and ``sop run``.

The notebook side is :mod:`~sopkit.cycle.context`, ``sop run`` is
:mod:`~sopkit.cycle.runner`, with the cycle's lock (:mod:`~sopkit.cycle.lock`) and the
one kernel a run's stages share (:mod:`~sopkit.cycle.kernel`).

The runner is imported on first use, so a stage notebook's kernel does not load papermill.
"""

from typing import Any

from sopkit.cycle.context import StageContext, open_stage, resolve_cycle

_RUNNER = ("Interrupted", "RunResult", "run_cycle")


def __getattr__(name: str) -> Any:
    if name in _RUNNER:
        from sopkit.cycle import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'sopkit.cycle' has no attribute {name!r}")


__all__ = ["Interrupted", "RunResult", "StageContext", "open_stage", "resolve_cycle", "run_cycle"]
