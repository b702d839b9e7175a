"""One run of a cycle at a time: a lock that a killed run cannot leave stuck.

The lock is ``flock`` on ``<reports_dir>/.<cycle>.lock``: the operating system releases it
the moment the process that holds it ends, however it ends (a SIGKILL included), so there
is never a stale lock to clean up. The file holds who took it (command, pid, host, time)
so that a refused run can say who holds the cycle.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sopkit.errors import StageError


class CycleLock:
    """The lock of one cycle under one reports folder.

    Examples
    --------
    >>> with CycleLock(Path("reports"), "2026-11").hold("sop run"):  # doctest: +SKIP
    ...     ...  # nobody else runs cycle 2026-11 here meanwhile
    """

    def __init__(self, reports_dir: Path, cycle: str) -> None:
        self.cycle = cycle
        self.path = Path(reports_dir) / f".{cycle}.lock"
        self._fd: int | None = None

    def acquire(self, what: str) -> None:
        """Take the lock at once, or raise StageError saying who holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise StageError(
                f"cycle {self.cycle} is being run right now by {holder.get('what', 'another run')}"
                f" (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, since "
                f"{holder.get('since', '?')}: {holder.get('command', '?')}). Wait for it to "
                f"finish, or stop it (kill {holder.get('pid', 'PID')}); a run that ends, "
                "however it ends, releases the cycle at once."
            ) from None
        holder = {
            "what": what,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (also done by the operating system when the process ends)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def is_free(self) -> bool:
        """Whether nobody holds the lock now (tried without taking it for long)."""
        if self.held:
            return False
        if not self.path.is_file():
            return True
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True

    def __enter__(self) -> CycleLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def hold(self, what: str) -> CycleLock:
        """Acquire and return self, for ``with lock.hold("sop run"):``."""
        self.acquire(what)
        return self


def _read(fd: int) -> dict[str, Any]:
    try:
        return json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (ValueError, OSError):
        return {}


__all__ = ["CycleLock"]
