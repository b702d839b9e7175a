"""One kernel for a whole run: started early, warmed up, reset between stages, stopped quietly.

A cycle's fixed cost used to be a new kernel per stage, each importing pandas, altair and
sopkit again (about 3 s a stage, most of a cycle's time). :class:`KernelSession` starts one
kernel when the run starts, imports the stage stack in it while the runner validates the
data, and runs each stage notebook in it through papermill after clearing the previous
stage's variables (IPython's ``reset``), so a stage cannot see another's names; only the
imported modules stay. Its connection file lives in the cycle's folder and its output goes
to a log there, so an interrupted or killed run leaves nothing in the user's Jupyter
folders and prints no kernel noise; the shutdown asks the idle kernel to stop instead of
interrupting it (jupyter_client interrupts first, which made an idle kernel print
"KeyboardInterrupt caught in kernel" into a successful run's output).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

#: imported in the kernel while the runner validates the data
WARM_UP = (
    "import pandas, altair, sopkit.charts, sopkit.cycle, sopkit.demand, sopkit.supply, "
    "sopkit.finance, sopkit.scenarios, sopkit.kpi, sopkit.portfolio"
)
RESET = "get_ipython().reset(new_session=True)"


def _kernel_manager_class():
    """A kernel manager that runs the notebooks on this very Python.

    ``kernel_name="python3"`` would take whichever ``python3`` kernel spec is found
    first, and analysts often have a user-level one for another Python. This manager
    builds its spec from the installed ipykernel instead, encrypts the kernel's local
    sockets when zmq can (ipykernel 7.3+ warns on every start otherwise), and does not
    interrupt an idle kernel before asking it to shut down.
    """
    import zmq
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    curve = zmq.has("curve") and "transport_encryption" in AsyncKernelManager.class_trait_names()

    class _SopkitKernelManager(AsyncKernelManager):
        if curve:
            transport_encryption = CaselessStrEnum(
                ["disabled", "auto", "required"], default_value="auto", config=True
            )

        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(resource_dir="", **get_kernel_dict())
            return self._kernel_spec

    return _SopkitKernelManager


def _register_engine() -> str:
    """Register papermill's engine for a kernel it does not own; return its name."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    class _SessionEngine(NBClientEngine):
        """papermill's nbclient engine on the session's kernel, closing its client after."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            start_timeout = kwargs.pop("start_timeout", 60)
            execution_timeout = kwargs.pop("execution_timeout", None)
            final = merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
            )
            client = PapermillNotebookClient(nb_man, **final)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register("sopkit", _SessionEngine)
    return "sopkit"


class KernelSession:
    """The kernel of one run of a cycle.

    Parameters
    ----------
    cwd : Path
        Where the notebooks run (the workspace).
    folder : Path
        Where the connection file and the kernel's log go (the cycle's folder).
    """

    def __init__(self, cwd: Path, folder: Path) -> None:
        self.cwd = Path(cwd)
        self.folder = Path(folder)
        self.km: Any = None
        self._warm: Any = None  # (client, msg_id) of the warm-up request
        self._log = None
        self._used = False

    @property
    def log_path(self) -> Path:
        """Where the kernel's own output goes (removed after a run that went well)."""
        return self.folder / "kernel.log"

    # ----------------------------------------------------------------------- life
    def start(self) -> None:
        """Start the kernel and send it the warm-up imports (not waited for)."""
        from jupyter_core.utils import run_sync

        self.folder.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in shutdown()
        km = _kernel_manager_class()()
        km.connection_file = str(self.folder / ".kernel.json")
        self.km = km
        run_sync(self._start)()

    async def _start(self) -> None:
        await self.km.start_kernel(cwd=str(self.cwd), stdout=self._log, stderr=self._log)
        kc = self.km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        self._warm = (kc, kc.execute(WARM_UP, silent=True, store_history=False))

    def _run(self, code: str) -> None:
        from jupyter_core.utils import run_sync

        run_sync(self._execute)(code)

    async def _execute(self, code: str) -> None:
        if self._warm is not None:  # collect the warm-up first: it must have worked
            kc, msg_id = self._warm
            self._warm = None
            try:
                await _reply(kc, msg_id, "importing sopkit in the kernel")
            finally:
                kc.stop_channels()
        if not code:
            return
        kc = self.km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            await _reply(kc, kc.execute(code, silent=True, store_history=False), code)
        finally:
            kc.stop_channels()

    def execute_notebook(self, notebook: Path, output: Path, parameters: dict[str, Any]) -> None:
        """Run one stage notebook into ``output`` with papermill, in a clean namespace."""
        import papermill as pm

        if self.km is None:
            self.start()
        self._run(RESET if self._used else "")
        self._used = True
        pm.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            cwd=str(self.cwd),
            kernel_name="python3",  # the name only; the manager pins the Python
            engine_name=_register_engine(),
            km=self.km,
            progress_bar=False,
            log_output=False,
        )

    def shutdown(self, *, keep_log: bool = False) -> None:
        """Stop the kernel (politely if it is idle, else at once) and remove its files."""
        from jupyter_core.utils import run_sync

        if self.km is not None:
            km, self.km = self.km, None
            with contextlib.suppress(Exception):  # a dead kernel is what we want anyway
                run_sync(_stop)(km, self._warm)
            self._warm = None
            with contextlib.suppress(OSError):
                km.cleanup_connection_file()
        if self._log is not None:
            self._log.close()
            self._log = None
            if not keep_log:
                self.log_path.unlink(missing_ok=True)


async def _reply(kc: Any, msg_id: str, what: str) -> None:
    while True:
        msg = await kc.get_shell_msg(timeout=300)
        if msg["parent_header"].get("msg_id") == msg_id:
            break
    content = msg["content"]
    if content.get("status") != "ok":
        from sopkit.errors import StageError

        raise StageError(
            f"the notebook kernel failed while {what}: {content.get('ename')}: "
            f"{content.get('evalue')}"
        )


async def _stop(km: Any, warm: Any) -> None:
    if warm is not None:
        warm[0].stop_channels()
    if await km.is_alive():
        # jupyter_client's shutdown_kernel interrupts the kernel first; an idle kernel
        # then logs "KeyboardInterrupt caught in kernel". Ask it to stop, then make sure.
        await km.request_shutdown()
        try:
            await asyncio.wait_for(km.finish_shutdown(waittime=3), timeout=5)
        except asyncio.TimeoutError:
            await km._async_kill_kernel()
    await km.cleanup_resources()


__all__ = ["KernelSession"]
