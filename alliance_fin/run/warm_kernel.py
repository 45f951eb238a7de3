"""The warm engine's kernel side: ipykernel's in-process kernel, made to behave as a kernel process.

:func:`kernel_class` is ``InProcessKernel`` with what a kernel process gives and the in-process
kernel lacks (its streams' parent header, top-level ``await``, output written to descriptors 1
and 2, drained at the end of each cell by :func:`fd_stream_class`); :class:`ExitHandlers`,
:func:`release_namespace` and :func:`end_iopub_housekeeping` end an execution as a kernel's
exit would. Used by
:class:`alliance_fin.run.warm.InProcessNotebookClient`.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
from typing import Any

__all__ = ["DRAINED", "ExitHandlers", "cut_at_markers", "end_iopub_housekeeping", "fd_stream_class", "kernel_class",
           "release_namespace"]

logger = logging.getLogger("papermill")


#: Written to a watched descriptor at the end of each cell; everything before it is that cell's.
DRAINED = b"\x00alliance-fin: cell ended\x00"


def cut_at_markers(data: bytes) -> tuple[list[bytes], bytes, bytes]:
    """Split what the watcher read: the parts before each end-of-cell marker, what can be
    forwarded after them, and a tail that may be the start of a marker cut by the read."""
    *drained, rest = data.split(DRAINED)
    keep = next((n for n in range(min(len(rest), len(DRAINED) - 1), 0, -1) if DRAINED.startswith(rest[-n:])), 0)
    return drained, rest[:len(rest) - keep], rest[len(rest) - keep:]


@functools.cache
def fd_stream_class() -> type:
    """ipykernel's ``OutStream`` with ``watchfd``, made to hand a cell all it wrote to its descriptor.

    ipykernel's watcher thread forwards what reaches the pipe whenever it reads it, so output
    written just before a cell ends (``os.system('echo ...')``) could be forwarded after the
    cell's reply, under its header, and never reach its outputs. :meth:`drain` writes a marker
    to the descriptor and waits until the watcher has forwarded everything before it. The
    watcher also decodes incrementally, so a character cut between two reads stays whole.
    """
    import codecs

    from ipykernel.iostream import PIPE_BUFFER_SIZE, OutStream

    class _FdOutStream(OutStream):
        def _setup_stream_redirects(self, name: str) -> None:
            self._marks = threading.Condition()
            self._sent = self._seen = 0
            super()._setup_stream_redirects(name)
            # the pipe itself, whatever a cell later does to descriptor 1 or 2 (closes it,
            # points it at a file, merges 2 into 1): markers go nowhere else
            self._marker_fd = os.dup(self._original_stdstream_fd)

        def _forward(self, data: bytes, decoder: Any) -> None:
            if data:
                text = decoder.decode(data)
                if text:
                    self.write(text)
                os.write(self._original_stdstream_copy, data)

        def _watch_pipe_fd(self) -> None:
            if self._fid is None:
                return
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            pending = b""
            try:
                while self._should_watch:
                    data = os.read(self._fid, PIPE_BUFFER_SIZE)
                    if not data:
                        break
                    drained, ready, pending = cut_at_markers(pending + data)
                    for part in drained:
                        self._forward(part, decoder)
                        with self._marks:
                            self._seen += 1
                            self._marks.notify_all()
                    self._forward(ready, decoder)
            except Exception:
                self._exc = sys.exc_info()

        def drain(self, timeout: float = 5.0) -> bool:
            """Return once everything written to the descriptor so far is in this stream.

            Markers are counted, so one left in the pipe by a drain that timed out does not end
            the next one early. False when the output could not be drained (the watcher ended,
            or ``timeout`` passed).
            """
            thread = getattr(self, "watch_fd_thread", None)
            if getattr(self, "_marker_fd", None) is None or thread is None or not thread.is_alive():
                return False
            with self._marks:
                self._sent += 1
                target = self._sent
            try:
                os.write(self._marker_fd, DRAINED)
            except OSError:
                return False
            with self._marks:
                done = self._marks.wait_for(lambda: self._seen >= target, timeout)
            if not done:
                logger.warning("warm engine: output written to the %s descriptor was not all forwarded in %g s",
                               self.name, timeout)
            return done

        def close(self) -> None:
            fd, self._marker_fd = getattr(self, "_marker_fd", None), None
            if fd is not None:
                os.close(fd)
            super().close()

    return _FdOutStream


@functools.cache
def _plain_stream_class() -> type:
    """ipykernel's ``OutStream`` without ``watchfd``, whose ``fileno()`` is this process's own descriptor.

    A kernel's streams have a descriptor (``faulthandler.enable()``, ``subprocess.run(...,
    stdout=sys.stdout)`` use it); without ``watchfd`` ``OutStream.fileno`` raises. What is
    written to it goes where ``os.system`` output goes in this process.
    """
    import io

    from ipykernel.iostream import OutStream

    class _PlainOutStream(OutStream):
        def fileno(self) -> int:
            try:
                return super().fileno()
            except io.UnsupportedOperation:
                original = sys.__stdout__ if self.name == "stdout" else sys.__stderr__
                if original is None:
                    raise
                return original.fileno()

    return _PlainOutStream


def kernel_class(capture_fd_output: bool) -> type:
    """ipykernel's ``InProcessKernel``, made to behave as a kernel process does where it differs.

    * A kernel process's ``sys.stdout`` is its output stream all along, so ``set_parent`` tags it
      with each request; the in-process kernel swaps its streams in only for the request, after
      ``set_parent`` ran, so its prints carried the previous request's header: set it again.
    * ``do_execute`` looks at ``shell_channel_thread.parent_thread`` for a cell with top-level
      ``await``, which an in-process kernel (no shell channel thread) does not have: give it one
      that is not this thread, so the cell runs without the kernel's SIGINT handler (timeouts
      here are SIGALRM), while ``_supports_kernel_subshells`` stays False.
    * ``capture_fd_output``: the output streams also take what is written to file descriptors 1
      and 2 (``os.system``, C libraries), as ``IPKernelApp.capture_fd_output`` does; only for a
      process that owns its descriptors (a report process), never papermill's own. Before the
      reply, the streams are drained (:func:`fd_stream_class`), so a cell's output is its own.
    """
    from types import SimpleNamespace

    from ipykernel.inprocess.ipkernel import InProcessKernel
    from traitlets import default

    stream_class = fd_stream_class() if capture_fd_output else _plain_stream_class()

    class _Kernel(InProcessKernel):
        @property
        def _supports_kernel_subshells(self) -> bool:
            return False

        def __init__(self, **traits: Any) -> None:
            super().__init__(**traits)
            self.shell_channel_thread = SimpleNamespace(parent_thread=None)

        @default("log")
        def _default_log(self) -> Any:
            # as IPKernelApp.log: the kernel's own logger, at WARNING, to no handler of the
            # notebook's (InProcessKernel's propagates to the root logger, so a notebook that
            # configured logging at DEBUG got every reply the kernel sent in its outputs)
            log = logging.getLogger("alliance_fin.run.warm.kernel")
            log.propagate = False
            log.setLevel(logging.WARNING)
            if not log.handlers:
                log.addHandler(logging.NullHandler())
            return log

        @default("iopub_thread")
        def _default_iopub_thread(self) -> Any:
            # as IPKernelApp: pipe=True, so what a forked process (os.fork, a multiprocessing
            # pool's workers) prints reaches the cell; InProcessKernel's own thread drops it
            from ipykernel.iostream import IOPubThread

            thread = IOPubThread(self._underlying_iopub_socket, pipe=True, session=self.session)
            thread.start()
            return thread

        @default("stdout")
        def _default_stdout(self) -> Any:
            return stream_class(self.session, self.iopub_thread, "stdout", watchfd=capture_fd_output)

        @default("stderr")
        def _default_stderr(self) -> Any:
            return stream_class(self.session, self.iopub_thread, "stderr", watchfd=capture_fd_output)

        async def do_execute(self, *args: Any, **kwargs: Any) -> Any:
            reply = await super().do_execute(*args, **kwargs)
            for stream in (self.stdout, self.stderr):  # before execute_request flushes and replies
                getattr(stream, "drain", lambda: None)()
            return reply

        async def execute_request(self, stream: Any, ident: Any, parent: dict[str, Any]) -> None:
            with self._redirected_io():
                self.shell.set_parent(parent)
                await super(InProcessKernel, self).execute_request(stream, ident, parent)

    return _Kernel


class _ExitTimeout(BaseException):
    """:class:`ExitHandlers` ran out of time (a BaseException: no handler's ``except Exception`` takes it)."""


class ExitHandlers:
    """What a kernel's exit waits for, done when the notebook ends: the threads it left running
    (not daemons) and the ``atexit`` handlers it registered.

    A kernel process joins those threads and runs the handlers at shutdown, before papermill
    returns and with the notebook's namespace still there; a report process ends with
    ``os._exit``, after the namespace was cleared. Only for a report process: in papermill's own
    process a library's handler (first imported by the notebook) must wait for that process's exit.
    """

    #: At most this long, as long as a kernel gets to exit by itself: jupyter_client's shutdown
    #: waits half its ``shutdown_wait_time`` (5 s), then terminates the kernel (SIGTERM: no
    #: ``atexit`` handlers), so a thread or handler still running then never finishes there either.
    SECONDS = 2.5

    def __init__(self) -> None:
        import atexit

        self.atexit = atexit
        self.handlers: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []
        self.saved: tuple[Any, Any] | None = None

    def collect(self) -> None:
        self.saved = (self.atexit.register, self.atexit.unregister)

        def register(func: Any, *args: Any, **kwargs: Any) -> Any:
            self.handlers.append((func, args, kwargs))
            return func

        def unregister(func: Any) -> None:
            self.handlers = [h for h in self.handlers if h[0] != func]

        self.atexit.register, self.atexit.unregister = register, unregister

    @staticmethod
    def _wait_for_threads() -> None:
        """As the interpreter's exit does before the ``atexit`` handlers (``threading._shutdown``):
        threading's own exit callbacks (``concurrent.futures`` lets its workers finish the work
        submitted), then every thread the notebook left running that is not a daemon is joined."""
        for callback in reversed(list(getattr(threading, "_threading_atexits", []))):
            try:
                callback()
            except Exception:  # as threading's own exit (the timer's interrupt is no Exception)
                pass
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join()

    def run(self) -> None:
        if self.saved is None:
            return
        self.atexit.register, self.atexit.unregister = self.saved
        self.saved = None

        def _late(signum: int, frame: Any) -> None:
            raise _ExitTimeout(f"atexit handlers still running after {self.SECONDS:g} s")

        previous = signal.signal(signal.SIGALRM, _late)
        signal.setitimer(signal.ITIMER_REAL, self.SECONDS)
        try:
            try:
                self._wait_for_threads()
            except _ExitTimeout:
                return
            while self.handlers:  # last registered first, as atexit
                func, args, kwargs = self.handlers.pop()
                try:
                    func(*args, **kwargs)
                except _ExitTimeout:
                    break
                except BaseException:  # as atexit: printed (to the process's stderr), then the next
                    import traceback

                    traceback.print_exc(file=sys.__stderr__)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def release_namespace(shell: Any) -> None:
    """Let go of what the notebook made, as a kernel's exit does before papermill returns.

    The notebook's namespace, its output history and the last traceback are cleared and garbage
    collected, so a file a notebook left open (``zipfile.ZipFile(open(path, "wb"), "w")``) is
    closed and flushed before the runner checks the outputs, as it is with a kernel process;
    papermill's own process gets its memory back.
    """
    import gc

    try:
        shell.reset(new_session=False)
    except Exception:  # a namespace whose objects fail to go: the outputs check says what is missing
        logger.debug("warm engine: clearing the notebook's namespace failed", exc_info=True)
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            setattr(sys, name, None)
    gc.collect()


def end_iopub_housekeeping(iopub: Any) -> None:
    """Cancel the iopub thread's event-pipe collector and let it end, before the thread stops.

    ipykernel's ``IOPubThread.stop`` cancels that task without running the loop again, so at
    exit asyncio prints "Task was destroyed but it is pending!" for it.
    """
    task = getattr(iopub, "_event_pipe_gc_task", None)
    if task is None or iopub.thread is None or not iopub.thread.is_alive():
        return
    ended = threading.Event()

    async def _cancel() -> None:
        task.cancel()
        try:
            await task
        except BaseException:  # CancelledError, as asked
            pass
        finally:
            ended.set()

    iopub.io_loop.add_callback(_cancel)
    ended.wait(5)
