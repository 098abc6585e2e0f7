"""The one notebook executor: `coursekit check`, the test suite and the runtime benchmark all use it.

Built on nbclient. A :class:`Kernel` runs code cells one at a time in a real Jupyter kernel and
reports each as a :class:`CellRun`; :func:`execute` runs a list of cells under a per-cell and a
whole-notebook time limit and always returns what ran (partial results), even when the kernel dies
or the notebook has to be stopped::

    from coursekit.course.runner import execute
    run = execute(["x = 1", "assert x == 2"], cwd=".", timeout=60, notebook_timeout=300, lang="en")
    run.cells[1].status, run.cells[1].error   # ("error", "AssertionError: ")

Cell statuses: ``ok``, ``error`` (it raised), ``timed_out`` (over its limit; ``stopped`` when the
kernel could not be interrupted and was shut down), ``kernel_died``, ``not_run``.
A kernel is started in its own process group; closing it kills the whole group, so nothing it
started (data-loader workers, ...) outlives it. Nothing here imports torch.
"""

from __future__ import annotations

import inspect
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CellRun", "Execution", "Kernel", "KernelStartError", "execute", "kernel_env"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ARROW = re.compile(r"^\s*-*>\s*(\d+)\s(.*)$")
STATUSES = ("ok", "error", "timed_out", "kernel_died", "not_run")
INTERRUPT_GRACE = 10.0  # seconds a timed-out cell gets to stop after an interrupt


@dataclass
class CellRun:
    """What happened to one code cell."""

    index: int  # position in the sequence of cells given to the runner
    status: str  # one of STATUSES
    ename: str = ""
    evalue: str = ""
    line: str = ""  # the failing line, from the traceback
    stdout: str = ""
    seconds: float | None = None
    stopped: bool = False  # timed_out: the kernel did not stop when interrupted and was shut down
    exit_code: int | None = None  # kernel_died: the kernel process's exit code, when known

    @property
    def error(self) -> str | None:
        """``"EName: message"`` when the cell raised, else None."""
        return f"{self.ename}: {self.evalue}" if self.status == "error" else None

    @property
    def last_line(self) -> str:
        """The last non-blank line the cell printed (a check's "✓ ..." line)."""
        lines = [ln.strip() for ln in self.stdout.splitlines() if ln.strip()]
        return lines[-1] if lines else ""


@dataclass
class Execution:
    """Every cell's :class:`CellRun`, in order, and what happened to the run as a whole."""

    cells: list[CellRun] = field(default_factory=list)
    kernel_error: str | None = None  # the kernel could not start
    stopped: bool = False  # the whole-notebook limit stopped the run
    seconds: float = 0.0


class KernelStartError(RuntimeError):
    """The kernel could not be started."""


def kernel_env(lang: str | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a kernel gets: ours, ``COURSEKIT_LANG=lang`` when given, then ``extra``."""
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.pop("JPY_SESSION_NAME", None)
    if lang is not None:
        env["COURSEKIT_LANG"] = lang
    env.update(extra or {})
    return env


def _wait(value):
    """The result of a call into jupyter_client's async kernel manager or client."""
    if inspect.isawaitable(value):
        from jupyter_core.utils import run_sync

        async def wait():
            return await value

        return run_sync(wait)()
    return value


def _kill_group(pid: int | None) -> None:
    if not pid:
        return
    try:
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGTERM)
    except (OSError, ProcessLookupError):
        pass


class Kernel:
    """A real kernel that runs cells one at a time, keeping state between them (a context manager)."""

    def __init__(self, *, cwd: str | os.PathLike | None = None, lang: str | None = None,
                 env: Mapping[str, str] | None = None, kernel_name: str = "python3",
                 startup_timeout: float = 60, quiet: bool = True):
        import nbformat
        from nbclient import NotebookClient

        """``cwd``: the kernel's working folder; ``lang`` sets ``COURSEKIT_LANG``; ``env`` adds
        variables; ``quiet`` discards the kernel process's own stdout/stderr (not the cells' output).
        Raises :class:`KernelStartError` when the kernel does not start."""
        self.cwd = str(Path(cwd or os.getcwd()).resolve())
        self._nb = nbformat.v4.new_notebook()
        self._client = NotebookClient(self._nb, timeout=None, kernel_name=kernel_name, allow_errors=True,
                                      startup_timeout=int(startup_timeout), interrupt_on_timeout=False,
                                      resources={"metadata": {"path": self.cwd}})
        self._pid = None
        self._count = 0
        self._client.km = self._client.create_kernel_manager()
        try:
            # quiet: the kernel's own start-up chatter (e.g. "running over TCP") is not the learner's
            streams = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} if quiet else {}
            self._client.start_new_kernel(cwd=self.cwd, env=kernel_env(lang, env), **streams)
            self._pid = self._process_pid()
            self._client.start_new_kernel_client()
        except Exception as exc:  # noqa: BLE001 - any start failure is reported the same way
            self.close()
            raise KernelStartError(f"{type(exc).__name__}: {exc}".strip()) from None

    def _process_pid(self) -> int | None:
        try:
            return self._client.km.provisioner.process.pid
        except AttributeError:
            return None

    def _exit_code(self) -> int | None:
        try:
            return self._client.km.provisioner.process.poll()
        except AttributeError:
            return None

    @property
    def alive(self) -> bool:
        km = self._client.km
        return km is not None and self._client.kc is not None and bool(_wait(km.is_alive()))

    def run(self, source: str, *, timeout: float | None = None, index: int = 0) -> CellRun:
        """Run one cell; ``timeout`` in seconds (None: no limit)."""
        import nbformat
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        if not self.alive:
            return CellRun(index, "not_run")
        cell = nbformat.v4.new_code_cell(source)
        self._nb.cells = [cell]  # nbclient stores the executed cell back at its index
        self._client.timeout = None if timeout is None else max(1, int(round(timeout)))
        start = time.monotonic()
        self._count += 1
        try:
            self._client.execute_cell(cell, 0, execution_count=self._count)
        except DeadKernelError:
            code = self._exit_code()
            self.close()
            return CellRun(index, "kernel_died", stdout=_stdout(cell), seconds=time.monotonic() - start,
                           exit_code=code)
        except CellTimeoutError:
            stopped = not self._interrupt()
            if stopped:
                self.close()
            return CellRun(index, "timed_out", stdout=_stdout(cell), seconds=time.monotonic() - start,
                           stopped=stopped)
        seconds = time.monotonic() - start
        for out in cell.outputs:
            if out.get("output_type") == "error":
                return CellRun(index, "error", out.get("ename", ""), _ANSI.sub("", out.get("evalue", "")),
                               _failing_line(out.get("traceback", [])), _stdout(cell), seconds)
        return CellRun(index, "ok", stdout=_stdout(cell), seconds=seconds)

    def _interrupt(self) -> bool:
        """Interrupt the running cell; True when the kernel answered within the grace period."""
        from queue import Empty

        client = self._client
        try:
            _wait(client.km.interrupt_kernel())
        except Exception:  # noqa: BLE001 - a kernel that can't be interrupted is shut down
            return False
        deadline = time.monotonic() + INTERRUPT_GRACE
        while time.monotonic() < deadline:
            try:
                msg = _wait(client.kc.shell_channel.get_msg(timeout=0.5))
            except Empty:
                if not self.alive:
                    return False
                continue
            if msg.get("msg_type") == "execute_reply":
                return True
        return False

    def close(self) -> None:
        """Shut the kernel down and kill its process group (idempotent)."""
        client = self._client
        try:
            if client.kc is not None:
                _wait(client.kc.stop_channels())
        except Exception:  # noqa: BLE001
            pass
        try:
            if client.km is not None and client.km.has_kernel:
                _wait(client.km.shutdown_kernel(now=True))
        except Exception:  # noqa: BLE001
            pass
        _kill_group(self._pid)
        self._pid = None
        client.kc = None

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _failing_line(traceback: list[str]) -> str:
    line = ""
    for tb in traceback:
        for ln in _ANSI.sub("", tb).splitlines():
            m = _ARROW.match(ln)
            if m:
                line = m.group(2).strip()
    return line


def execute(sources: Sequence[str], *, cwd: str | os.PathLike | None = None, timeout: float | None = 120,
            notebook_timeout: float | None = None, lang: str | None = None,
            env: Mapping[str, str] | None = None, kernel_name: str = "python3",
            stop_on_error: bool = False) -> Execution:
    """Run ``sources`` (the code cells, in order) in one fresh kernel.

    ``timeout`` limits each cell, ``notebook_timeout`` the whole run including the kernel's start
    (seconds; None: no limit). After a cell times out the kernel is interrupted and the next cells
    still run; when it dies, or the notebook limit is reached, the remaining cells are ``not_run``
    and :attr:`Execution.stopped` says which. ``lang`` sets ``COURSEKIT_LANG`` for the kernel;
    ``env`` adds variables. ``stop_on_error`` stops at the first cell that raises.
    """
    start = time.monotonic()
    deadline = None if notebook_timeout is None else start + notebook_timeout
    result = Execution()
    cells = result.cells
    try:
        startup = 60 if notebook_timeout is None else max(1, min(60, notebook_timeout))
        kernel = Kernel(cwd=cwd, lang=lang, env=env, kernel_name=kernel_name, startup_timeout=startup)
    except KernelStartError as exc:
        result.kernel_error = str(exc)
        result.cells = [CellRun(i, "not_run") for i in range(len(sources))]
        result.seconds = time.monotonic() - start
        return result
    with kernel:
        for i, source in enumerate(sources):
            if not kernel.alive or (cells and stop_on_error and cells[-1].status == "error"):
                break
            limit = timeout
            guard = False
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    result.stopped = True
                    break
                if limit is None or left < limit:
                    limit, guard = left, True
            run = kernel.run(source, timeout=limit, index=i)
            cells.append(run)
            if run.status == "timed_out" and guard:
                result.stopped = True
                kernel.close()
                break
    cells += [CellRun(i, "not_run") for i in range(len(cells), len(sources))]
    result.seconds = time.monotonic() - start
    return result
