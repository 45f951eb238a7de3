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
warm`` executes in papermill's own process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from queue import Empty
from typing import Any

from nbclient.client import timestamp
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError
from nbformat import NotebookNode
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

from alliance_fin.run.warm_engine import WarmEngine

__all__ = ["CellTimeoutInterrupt", "InProcessEngine", "InProcessNotebookClient", "WarmEngine"]

_PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}
_INLINE = "module://matplotlib_inline.backend_inline"


class CellTimeoutInterrupt(BaseException):
    """Raised inside a cell by ``SIGALRM`` when it runs past the timeout (a BaseException, so
    ``except Exception`` in the cell does not swallow it)."""


def _kernel_class() -> type:
    """ipykernel's ``InProcessKernel``, with its output streams told which request they belong to.

    A kernel process's ``sys.stdout`` is its output stream all along, so ``set_parent`` tags it
    with each request; the in-process kernel swaps its streams in only for the request, after
    ``set_parent`` ran, and its prints would carry the previous request's header.
    """
    from ipykernel.inprocess.ipkernel import InProcessKernel

    class _Kernel(InProcessKernel):
        async def execute_request(self, stream: Any, ident: Any, parent: dict[str, Any]) -> None:
            with self._redirected_io():
                self.shell.set_parent(parent)
                await super(InProcessKernel, self).execute_request(stream, ident, parent)

    return _Kernel


class InProcessNotebookClient(PapermillNotebookClient):
    """papermill's notebook client with ipykernel's in-process kernel in place of a kernel process.

    :meth:`execute` and :meth:`execute_cell` replace nbclient's kernel start and its
    asynchronous message polling; everything else (``papermill_execute_cells``,
    ``process_message``, the error checks) is papermill's and nbclient's.
    """

    def execute(self, **kwargs: Any) -> NotebookNode:
        """Execute every cell in a new in-process kernel; set ``language_info``; return the notebook."""
        from ipykernel.inprocess.ipkernel import InProcessInteractiveShell
        from ipykernel.inprocess.manager import InProcessKernelManager

        self.reset_execution_trackers()
        os.environ.setdefault("MPLBACKEND", _INLINE)  # what IPKernelApp does before any figure
        self.km = InProcessKernelManager()
        self.km.kernel = _kernel_class()(parent=self.km, session=self.km.session)  # as km.start_kernel()
        if "matplotlib_inline.backend_inline" in sys.modules:  # imported before the shell existed
            from matplotlib_inline.backend_inline import _enable_matplotlib_integration

            _enable_matplotlib_integration()
        self.kc = self.km.client()
        self.kc.start_channels()
        self._loop = asyncio.new_event_loop()
        try:
            self.papermill_execute_cells()
            info = self._request("kernel_info_request", {})
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            self.set_widgets_metadata()
        finally:
            self.kc.stop_channels()
            self.km.shutdown_kernel()
            self._loop.close()
            InProcessInteractiveShell.clear_instance()  # a next notebook in this process gets a new shell
        return self.nb

    def _request(self, msg_type: str, content: dict[str, Any], timeout: float | None = None) -> dict[str, Any] | None:
        """Send one shell request to the kernel and run it to its end here.

        Returns the reply with ``timed_out`` added, or None when the timeout struck outside the
        cell's own code (in the kernel's bookkeeping around it), which leaves no reply.
        """
        kernel, session = self.km.kernel, self.kc.session
        stream = kernel.shell_stream
        session.send(stream, session.msg(msg_type, content))
        parts = stream.recv_multipart()
        fired: list[bool] = []
        previous = None
        if timeout:
            def _alarm(signum: int, frame: Any) -> None:
                fired.append(True)
                raise CellTimeoutInterrupt(f"cell execution timed out after {timeout:g} s")

            previous = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            self._loop.run_until_complete(kernel.dispatch_shell(parts))
        except CellTimeoutInterrupt:  # the alarm struck outside the cell's code: there is no reply
            return None
        finally:
            if timeout:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        _, reply = session.recv(stream, copy=False)
        reply["timed_out"] = bool(fired)
        return reply

    #: File to name the code cell being executed in (``cell N (In [k])``), or None.
    cell_marker: str | None = None

    def _mark(self, cell_index: int) -> None:
        """Write where execution is, N counted as in the source notebook (papermill's cells left out)."""
        if not self.cell_marker:
            return
        n = 1 + sum(1 for c in self.nb.cells[:cell_index] if not _PAPERMILL_TAGS & set(c.metadata.get("tags", [])))
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
        reply = self._request("execute_request", {
            "code": cell.source, "silent": False, "store_history": store_history, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": not allows_errors}, timeout)
        if reply is None:
            raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)
        msg_id = reply["parent_header"]["msg_id"]
        while True:  # the kernel's iopub thread delivers the cell's messages, ending with "idle"
            try:
                msg = self.kc.iopub_channel.get_msg(timeout=self.iopub_timeout)
            except Empty:
                raise CellTimeoutError.error_from_timeout_and_cell(
                    "Timeout waiting for IOPub output", self.iopub_timeout, cell) from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                break
        if self.record_timing:
            cell["metadata"]["execution"]["shell.execute_reply"] = timestamp(reply)
        if reply["timed_out"]:  # as nbclient: the outputs so far, no error output, CellTimeoutError
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "error" and o.get("ename") == CellTimeoutInterrupt.__name__)]
            raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)
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
        for name in ("input_path", "timeout", "startup_timeout", "kernel_manager_class"):
            kwargs.pop(name, None)  # as NBClientEngine; no kernel manager: the kernel is in-process
        client = InProcessNotebookClient(
            nb_man, timeout=execution_timeout, kernel_name=kernel_name, log_output=log_output,
            stdout_file=stdout_file, stderr_file=stderr_file, **kwargs)
        client.cell_marker = cell_marker
        return client.execute()


papermill_engines.register("warm", WarmEngine)  # also an entry point, for `papermill --engine warm`
