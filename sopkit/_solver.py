"""Quiet solvers: what the optimisation models need from the process, not from files."""

from __future__ import annotations

import os
import sys
import threading
from functools import cache

_LOCK = threading.Lock()


@cache
def quiet_highs() -> None:
    """Say HiGHS's copyright banner to nobody, once per process.

    HiGHS prints it to the process's standard output (file descriptor 1) when its first
    instance is made, whatever the output options; a notebook kernel forwards that into
    the stage's report. Making the first instance here, with descriptor 1 pointed at
    ``/dev/null`` for that moment, keeps the reports clean.
    """
    try:
        import highspy
    except ImportError:  # another solver then
        return
    with _LOCK:  # two first calls at once would save and restore the silenced descriptor
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)


__all__ = ["quiet_highs"]
