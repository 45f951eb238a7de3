"""The warm execution engine: papermill executes the notebook in this process, through an in-process kernel.

``alliance-fin run`` and ``sweep`` (``--engine warm``, the default) fork one child of the warm
zygote per report (:mod:`alliance_fin.run.zygote`), which has imported pandas, matplotlib,
seaborn, openpyxl, papermill and the report modules once; the child runs
:func:`alliance_fin.run.execute.run_report_job` with this engine. The notebook is executed by
ipykernel's own kernel class (``InProcessKernel``, an ``IPythonKernel`` with the kernel's
``ZMQInteractiveShell``) in the child's main thread: the same execute requests, the same iopub
messages, turned into outputs by nbclient's own ``process_message``, and papermill's own
parameter injection, cell bookkeeping and error banner around it. Only the transport differs:
no kernel process to start, no sockets, no second process to poll it.

What a kernel process gave for free is done here:

* **per-cell timeout** -- ``SIGALRM`` interrupts the cell (:class:`CellTimeoutInterrupt`), the
  interrupt's own error output is dropped, and nbclient's ``CellTimeoutError`` is raised, as the
  kernel engine raises it;
* **the cell that killed the process** -- before each code cell, its place (``cell N (In [k])``)
  is written to the file given as the engine argument ``cell_marker``, so whoever reaps a
  process that died in a cell (e.g. ``os.abort()``) can name it;
* **isolation** -- none here: the notebook's state stays in this process. The runner executes
  every report in a fresh fork of the zygote, which never runs report code.

Registered with papermill as ``"warm"`` (on import of this module, and through the
``papermill.engine`` entry point, see :mod:`alliance_fin.run.warm_engine`): ``papermill --engine
warm`` executes in papermill's own process. Where that process cannot host the in-process kernel
(:func:`why_not_in_process`: a Jupyter kernel's own process, a thread running an event loop, a
timeout outside the main thread), the engine says why on papermill's logger and executes with
papermill's nbclient engine, in a kernel process, instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from queue import Empty
from typing import Any

from nbclient.client import timestamp
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError
from nbformat import NotebookNode
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

from alliance_fin.run.execute import PAPERMILL_TAGS
from alliance_fin.run.warm_engine import WarmEngine, check_kernel
from alliance_fin.run.warm_kernel import ExitHandlers, end_iopub_housekeeping, kernel_class, release_namespace
from alliance_fin.run.zygote import INLINE_BACKEND, import_kernel_without_debugger

__all__ = ["CellTimeoutInterrupt", "InProcessEngine", "InProcessNotebookClient", "WarmEngine", "why_not_in_process"]

logger = logging.getLogger("papermill")



class CellTimeoutInterrupt(BaseException):
    """Raised inside a cell by ``SIGALRM`` when it runs past the timeout (a BaseException, so
    ``except Exception`` in the cell does not swallow it)."""


#: Held while a notebook executes in-process: one shell a process, so a second notebook started
#: meanwhile (another thread) executes in a kernel process instead.
_IN_PROCESS = threading.Lock()


def why_not_in_process(execution_timeout: float | None) -> str | None:
    """Why the in-process engine cannot execute a notebook from here, or None when it can.

    * another IPython shell runs in this process (papermill called from a Jupyter kernel): the
      in-process kernel's shell would be a second one, which IPython refuses;
    * this thread runs an event loop (papermill called from async code, or from a cell): the
      kernel's requests are run on a loop of their own, in this thread;
    * a timeout, outside the main thread: it is enforced with ``SIGALRM``, which only the main
      thread receives.

    (A notebook already executing in-process in another thread is found by the caller, under a
    lock, :data:`_IN_PROCESS`.)
    """
    from IPython.core.interactiveshell import InteractiveShell

    if InteractiveShell.initialized():
        return f"this process already runs an IPython shell ({type(InteractiveShell.instance()).__name__})"
    try:
        asyncio.get_running_loop()
        return "this thread runs an asyncio event loop"
    except RuntimeError:
        pass
    if execution_timeout and threading.current_thread() is not threading.main_thread():
        return "execution_timeout is enforced with SIGALRM, which only the main thread receives"
    return None


class _Errors(logging.Handler):
    """Collects what the kernel logs while it handles a request (it logs, not raises, its own failures)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        self.lines.append(text)


class InProcessNotebookClient(PapermillNotebookClient):
    """papermill's notebook client with ipykernel's in-process kernel in place of a kernel process.

    :meth:`execute` and :meth:`execute_cell` replace nbclient's kernel start and its
    asynchronous message polling; everything else (``papermill_execute_cells``,
    ``process_message``, the error checks) is papermill's and nbclient's.
    """

    def execute(self, **kwargs: Any) -> NotebookNode:
        """Execute every cell in a new in-process kernel; set ``language_info``; return the notebook."""
        import_kernel_without_debugger()
        from ipykernel.inprocess.ipkernel import InProcessInteractiveShell
        from ipykernel.inprocess.manager import InProcessKernelManager

        self.reset_execution_trackers()
        main_module = sys.modules.get("__main__")  # IPython's shell puts its own in its place
        backend_set = "MPLBACKEND" not in os.environ
        if backend_set:  # what IPKernelApp does before any figure; taken back afterwards
            os.environ["MPLBACKEND"] = INLINE_BACKEND
        from traitlets.config import Config

        config = Config()
        if self.ipython_hist_file:  # as nbclient starts a kernel: --HistoryManager.hist_file=:memory:
            config.HistoryManager.hist_file = self.ipython_hist_file
        self.km = InProcessKernelManager(config=config)
        kernel = kernel_class(self.capture_fd_output)
        # the kernel singleton, as IPKernelApp makes its kernel (IPythonKernel.instance), not only
        # km.start_kernel()'s instance: ipykernel's comms publish only through Kernel.instance(), so
        # widgets' comm messages, and the notebook's widget state, were dropped
        self.km.kernel = kernel.instance(parent=self.km, session=self.km.session)
        if "matplotlib_inline.backend_inline" in sys.modules:  # imported before the shell existed
            from matplotlib_inline.backend_inline import _enable_matplotlib_integration

            _enable_matplotlib_integration()
        self.kc = self.km.client()
        self.kc.start_channels()
        self._loop = asyncio.new_event_loop()
        exit_handlers = ExitHandlers() if self.capture_fd_output else None
        try:
            if exit_handlers is not None:
                exit_handlers.collect()
            self.papermill_execute_cells()
            _, info, _ = self._request("kernel_info_request", {})
            self.nb.metadata["language_info"] = info["content"]["language_info"]  # type: ignore[index]
            self.set_widgets_metadata()
        finally:
            if exit_handlers is not None:
                exit_handlers.run()
            release_namespace(self.km.kernel.shell)
            self.kc.stop_channels()
            end_iopub_housekeeping(self.km.kernel.iopub_thread)
            self.km.shutdown_kernel()
            self._loop.close()
            InProcessInteractiveShell.clear_instance()  # a next notebook in this process gets a new shell
            kernel.clear_instance()  # and a new kernel singleton (every class of its MRO)
            if backend_set:
                os.environ.pop("MPLBACKEND", None)
            if main_module is not None:
                sys.modules["__main__"] = main_module
        return self.nb

    def _request(self, msg_type: str, content: dict[str, Any],
                 timeout: float | None = None) -> tuple[str, dict[str, Any] | None, bool]:
        """Send one shell request to the kernel and run it to its end here, in this thread.

        Returns the request's id, the reply (None when there is none: the timeout struck in the
        kernel's own code around the cell, or the kernel failed and logged it) and whether the
        request ran past ``timeout``. ``SIGALRM`` interrupts only while the kernel handles the
        request, and again every second after the first, so a cell that swallows one interrupt
        gets another; a request that overran without it (the cell took over ``SIGALRM``) counts
        as timed out all the same.
        """
        kernel, session = self.km.kernel, self.kc.session
        stream = kernel.shell_stream
        msg = session.msg(msg_type, content)
        session.send(stream, msg)
        parts = stream.recv_multipart()
        state = {"armed": False, "fired": False}

        def _alarm(signum: int, frame: Any) -> None:
            state["fired"] = True
            if state["armed"]:
                raise CellTimeoutInterrupt(f"cell execution timed out after {timeout:g} s")

        async def _dispatch() -> None:
            state["armed"] = True
            try:
                await kernel.dispatch_shell(parts)
            finally:
                state["armed"] = False

        errors = _Errors()
        kernel.log.addHandler(errors)
        previous = signal.signal(signal.SIGALRM, _alarm) if timeout else None
        started = time.monotonic()
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, timeout, 1.0)
        interrupted = False
        try:
            self._loop.run_until_complete(_dispatch())
        except CellTimeoutInterrupt:
            interrupted = True
        finally:
            if timeout:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
            kernel.log.removeHandler(errors)
        timed_out = bool(timeout) and (state["fired"] or time.monotonic() - started >= timeout)
        reply = None
        if not interrupted:
            try:
                _, reply = session.recv(stream, copy=False)
            except Empty:
                reply = None
        if reply is None and not timed_out:
            raise RuntimeError(f"the in-process kernel sent no reply to {msg_type}"
                               + (f": {errors.lines[-1]}" if errors.lines else ""))
        return msg["header"]["msg_id"], reply, timed_out

    #: File to name the code cell being executed in (``cell N (In [k])``), or None.
    cell_marker: str | None = None
    #: Take what is written to file descriptors 1 and 2 into the cells' outputs, as a kernel
    #: process does. Set by a report process of the zygote, which owns its descriptors.
    capture_fd_output: bool = False

    def _mark(self, cell_index: int) -> None:
        """Write where execution is, N counted as in the source notebook (papermill's cells left out)."""
        if not self.cell_marker:
            return
        n = 1 + sum(1 for c in self.nb.cells[:cell_index] if not set(PAPERMILL_TAGS) & set(c.metadata.get("tags", [])))
        count = self.km.kernel.shell.execution_count
        try:
            with open(self.cell_marker, "w", encoding="utf-8") as fh:
                fh.write(f"cell {n} (In [{count}])")
        except OSError:
            pass

    def execute_cell(self, cell: NotebookNode, cell_index: int, execution_count: int | None = None,
                     store_history: bool = True) -> NotebookNode:
        """nbclient's ``async_execute_cell``, synchronous: run the cell, then collect its iopub messages.

        nbclient's cell hooks (``on_cell_start``...) and ``coalesce_streams``, which papermill does
        not use, are not offered.
        """
        if cell.cell_type != "code" or not cell.source.strip():
            return cell
        if self.skip_cells_with_tag in cell.metadata.get("tags", []):
            return cell
        if self.record_timing:
            cell["metadata"]["execution"] = {}
        allows_errors = (not self.force_raise_errors) and (
            self.allow_errors or "raises-exception" in cell.metadata.get("tags", []))
        self.code_cells_executed += 1
        cell.outputs = []
        self.clear_before_next_output = False
        self._mark(cell_index)
        timeout = self._get_timeout(cell)
        msg_id, reply, timed_out = self._request("execute_request", {
            "code": cell.source, "silent": False, "store_history": store_history, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": not allows_errors}, timeout)
        while True:  # the kernel's iopub thread delivers the cell's messages, ending with "idle"
            try:  # (without a reply there may be no "idle": take what came)
                msg = self.kc.iopub_channel.get_msg(timeout=self.iopub_timeout if reply else 1.0)
            except Empty:
                if reply is None:
                    break
                raise CellTimeoutError.error_from_timeout_and_cell(
                    "Timeout waiting for IOPub output", self.iopub_timeout, cell) from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                break
        if timed_out:  # as nbclient: the outputs so far, without the interrupt's own, and CellTimeoutError
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "error" and o.get("ename") == CellTimeoutInterrupt.__name__)]
            raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)
        if self.record_timing:
            cell["metadata"]["execution"]["shell.execute_reply"] = timestamp(reply)
        if execution_count:
            cell["execution_count"] = execution_count
        content = reply["content"]
        if content["status"] == "error" and not allows_errors and content.get("ename") not in self.allow_error_names:
            raise CellExecutionError.from_cell_and_msg(cell, content)
        self.nb["cells"][cell_index] = cell
        return cell


class InProcessEngine(NBClientEngine):
    """papermill's nbclient engine, executing in this process (:class:`InProcessNotebookClient`)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                 stdout_file: Any = None, stderr_file: Any = None, start_timeout: int = 60,
                                 execution_timeout: float | None = None, cell_marker: str | None = None,
                                 **kwargs: Any) -> NotebookNode:
        """Execute ``nb_man``'s notebook here; ``cell_marker``: a file to name each code cell in as it starts."""
        check_kernel(kernel_name)
        timeout = execution_timeout or kwargs.get("timeout")  # as NBClientEngine takes it
        if _IN_PROCESS.acquire(blocking=False):
            reason = why_not_in_process(timeout)
            if reason:
                _IN_PROCESS.release()
        else:
            reason = "another notebook is executing in-process in this process"
        if reason:  # papermill's own engine can: a kernel process, as the kernel engine
            logger.warning("warm engine: %s; executing in a new kernel (papermill's nbclient engine) instead", reason)
            return NBClientEngine.execute_managed_notebook(
                nb_man, kernel_name, log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
                start_timeout=start_timeout, execution_timeout=execution_timeout, **kwargs)
        try:
            for name in ("input_path", "timeout", "startup_timeout", "kernel_manager_class"):
                kwargs.pop(name, None)  # as NBClientEngine; no kernel manager: the kernel is in-process
            client = InProcessNotebookClient(
                nb_man, timeout=timeout, kernel_name=kernel_name, log_output=log_output,
                stdout_file=stdout_file, stderr_file=stderr_file, **kwargs)
            client.cell_marker = cell_marker
            return client.execute()
        finally:
            _IN_PROCESS.release()


papermill_engines.register("warm", WarmEngine)  # also an entry point, for `papermill --engine warm`
