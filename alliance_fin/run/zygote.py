"""The warm zygote: one process that imports the reports' libraries once and forks a process per report.

Run as ``python -m alliance_fin.run.zygote SOCKET`` (by
:class:`alliance_fin.run.zygote_client.Zygote`, which needs nothing but the standard library, so
a run starts it before importing anything heavy). It listens on the Unix socket ``SOCKET``
*before* importing, so clients can connect while it warms up (their requests wait in the
backlog), then imports numpy, pandas, matplotlib (inline backend chosen through
``MPLBACKEND`` first, as ipykernel does), seaborn, openpyxl, IPython, ipykernel, papermill,
nbconvert's exporter and the report modules of ``alliance_fin``. It never runs report code
itself, so every child starts from the same state.

Protocol, one connection per report (JSON lines):

1. client → zygote: ``{"job": {...}, "result": FILE, "env": {...}}`` (a job of
   :func:`alliance_fin.run.runner.build_jobs`);
2. zygote → client: ``{"pid": N}`` once the child is forked (or ``{"error": TEXT}``);
3. zygote → client: ``{"exit": CODE}`` when the child has ended and been reaped (``CODE`` as
   ``Popen.returncode``: negative for a signal).

The child starts a new session (``setsid``), asks to be SIGKILLed if the zygote dies
(``PR_SET_PDEATHSIG``), takes the job's staging folder and environment, executes the report
with papermill's ``warm`` engine in its own process (:mod:`alliance_fin.run.warm`), writes the
result to ``FILE`` and exits. When a client's connection closes while its child still runs (the
pool was stopped, or crashed), the zygote kills the child's process group. On end of its stdin
(the parent left) or SIGTERM it kills every child and exits.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
import traceback
from typing import Any

__all__ = ["INLINE_BACKEND", "PRELOAD", "PROCESS_NAME", "kill_group", "main", "readable"]

#: Modules imported once in the zygote: what a report notebook imports, then what running a
#: job imports (papermill, nbclient, the in-process kernel, the HTML exporter), found by diffing
#: ``sys.modules`` in a child after every report ran. Importing a module here rather than in the
#: child changes when it is imported, not what it does.
PRELOAD = (
    "numpy", "pandas", "matplotlib", "matplotlib.pyplot", "seaborn", "openpyxl",
    "IPython", "IPython.display", "IPython.core.pylabtools", "alliance_fin", "alliance_fin.inputs.load",
    "alliance_fin.present.display", "alliance_fin.present.plots", "alliance_fin.present.provenance",
    "alliance_fin.run.outputs",
    # running the job: papermill, the in-process kernel, the HTML export (the run package first: it
    # hides rfc3987_syntax from jsonschema, see alliance_fin/run/__init__.py)
    "alliance_fin.run.execute", "alliance_fin.run.warm", "alliance_fin.run.html_export",
    "ipykernel.inprocess.manager", "ipykernel.inprocess.ipkernel", "ipykernel.inprocess.blocking",
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.kernelspec",
    "jupyter_client.kernelspec",
    "IPython.core.completerlib", "IPython.core.application", "IPython.core.crashhandler", "IPython.core.logger",
    "IPython.core.oinspect", "IPython.utils.wildcard", "bdb", "sqlite3", "psutil", "zmq.utils.garbage",
    "tornado.gen", "tornado.locks", "tornado.queues", "tornado.platform.asyncio",
    # the first table formatting (pandera is not here: the data is checked without it, and only a
    # bad cell, refused by the parent before any report runs, would need it to describe it)
    "pandas.core.reshape.reshape", "pandas.io.formats.string", "encodings.idna", "encodings.latin_1",
    "encodings.utf_8_sig",
    # the first figure, table and workbook (found by diffing sys.modules after every report ran)
    "matplotlib.backends.backend_agg", "matplotlib_inline.backend_inline", "PIL.PngImagePlugin",
    "PIL.BmpImagePlugin", "PIL.GifImagePlugin", "PIL.JpegImagePlugin", "PIL.PpmImagePlugin", "PIL.features",
    "pandas.core.methods.to_dict",
    "openpyxl.packaging.extended", "encodings.cp437",
    # the first page: nbconvert's markdown filter loads mistune's plugins when it first renders
    "jinja2.ext", "mistune.plugins.def_list", "mistune.plugins.task_lists", "mistune.plugins.url",
    "encodings.ascii",
)
#: The matplotlib backend a kernel selects (``MPLBACKEND``) before anything imports matplotlib.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
#: The name a report's process shows (``pgrep -x af-report``); its command line is the zygote's.
PROCESS_NAME = "af-report"


def _set_name(name: bytes) -> None:
    """Linux: the process name ``ps``, ``pgrep`` and psutil's ``name()`` show (the command line stays)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(_PR_SET_NAME, ctypes.c_char_p(name[:15]), 0, 0, 0)
        except (OSError, AttributeError):
            pass


def _die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: ask for ``sig`` when the parent process ends (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def import_kernel_without_debugger() -> None:
    """Import ipykernel's debugger module with debugpy hidden, once.

    An in-process kernel has no debug socket, so ipykernel's debugger can never be used; debugpy
    costs 0.4 s of imports and prints a warning about frozen modules. Its import fails while
    ipykernel looks for it; then that is forgotten, so a notebook that imports debugpy gets it.
    """
    import importlib

    blocked = "debugpy" not in sys.modules
    if blocked:
        sys.modules["debugpy"] = None  # type: ignore[assignment]
    try:
        importlib.import_module("ipykernel.debugger")
    except ImportError:
        pass
    finally:
        if blocked:
            del sys.modules["debugpy"]


def preload() -> None:
    """Import :data:`PRELOAD` and the reports' modules, with the inline matplotlib backend selected."""
    import importlib

    if not os.environ.get("MPLBACKEND"):  # what IPKernelApp.init_gui_pylab does, before any import
        os.environ["MPLBACKEND"] = INLINE_BACKEND
    import_kernel_without_debugger()
    from alliance_fin.registry import REPORT_SPECS

    # and every report's builder and workbook writer, so a report added to the registry is preloaded too
    reports = [target.split(":")[0] for spec in REPORT_SPECS.values() for target in (spec.builder, spec.writer)]
    for name in [*PRELOAD, *reports]:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional library missing: the report will say so as usual
            pass
        except Exception:  # a module that fails at import: each report importing it shows why
            traceback.print_exc()
    try:
        from alliance_fin.run.html_export import warm_up

        warm_up()  # nbconvert's exporter built and its templates compiled once, for every child
    except Exception:  # each report's own page export will fail and say why
        traceback.print_exc()
    # What the imports made lives as long as the process: out of the collector's sight, so that a
    # child's collections do not walk (and copy, page by page) the zygote's million objects, as
    # the gc module's documentation advises for a process that forks without exec.
    gc.collect()
    gc.freeze()


def _run_job(request: dict[str, Any], zygote_pid: int) -> None:
    """In the forked child: take the job's folder and environment, run the report. Never returns.

    The report is executed by :func:`alliance_fin.run.execute.run_report_job` with the ``warm``
    engine (in this process, :mod:`alliance_fin.run.warm`); its result goes to
    ``request["result"]`` as JSON. A child that dies before writing it (a cell that called
    ``os.abort()``, or was killed) leaves the result missing: the pool reports that.
    """
    code = 1
    try:
        os.setsid()
        _die_with_parent()
        if os.getppid() != zygote_pid:  # the zygote died before PR_SET_PDEATHSIG was in place
            os._exit(1)
        _set_name(PROCESS_NAME.encode())
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # as the kernel engine: what is not a cell's output goes nowhere
            os.dup2(devnull, fd)
        os.close(devnull)
        job = request["job"]
        os.chdir(job["staging"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # as in the zygote (and in a kernel)
        # as IPython's InteractiveShellApp.init_path in a kernel: '' (its working folder) goes on
        # sys.path before the first site-packages (the zygote, like ipykernel_launcher, took its
        # own working folder off)
        if "" not in sys.path and not sys.flags.safe_path:
            at = next((i for i, entry in enumerate(sys.path)
                       if os.path.basename(entry) in ("site-packages", "dist-packages")), 0)
            sys.path.insert(at, "")
        import numpy

        numpy.random.seed()  # a fresh kernel seeds from the OS; forked children would share a state
        from alliance_fin.files import write_atomic
        from alliance_fin.run.execute import run_report_job
        from alliance_fin.run.warm import InProcessNotebookClient

        InProcessNotebookClient.capture_fd_output = True  # this process owns fds 1 and 2, as a kernel does

        try:
            result = run_report_job({**job, "engine": "warm"})
        except Exception as exc:  # a bug of ours: still report it as a failure, as a kernel-engine worker does
            from alliance_fin.run.executors import failed_result

            result = failed_result(job, f"{job['report']}: {type(exc).__name__}: {exc}")
        write_atomic(request["result"], json.dumps(result))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        code = 1
    finally:
        os._exit(code)


class _Server:
    """The zygote's wait loop: accept requests, fork children, report and reap them."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.buffers: dict[socket.socket, bytes] = {}
        self.child_of: dict[socket.socket, int] = {}  # connection -> child pid (while running)
        self.conn_of: dict[int, socket.socket] = {}
        self.answered: set[socket.socket] = set()  # connections whose one request was handled
        self.stopping = False

    def _send(self, conn: socket.socket, message: dict[str, Any]) -> None:
        try:
            conn.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            pass

    def _fork(self, conn: socket.socket, request: dict[str, Any]) -> None:
        zygote_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            self.listener.close()
            for other in self.buffers:
                other.close()
            _run_job(request, zygote_pid)
        self.child_of[conn] = pid
        self.conn_of[pid] = conn
        self._send(conn, {"pid": pid})

    def _drop(self, conn: socket.socket) -> None:
        pid = self.child_of.pop(conn, None)
        if pid is not None:  # the client left while its child runs: no orphan report process
            kill_group(pid)
        self.buffers.pop(conn, None)
        self.answered.discard(conn)
        conn.close()

    def _read(self, conn: socket.socket) -> None:
        try:
            chunk = conn.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn)
            return
        self.buffers[conn] += chunk
        if b"\n" in self.buffers[conn] and conn not in self.answered:
            line = self.buffers[conn].split(b"\n", 1)[0]
            try:
                request = json.loads(line)
                self.answered.add(conn)
                self._fork(conn, request)
            except Exception as exc:  # a bad request, or fork failed
                self._send(conn, {"error": f"{type(exc).__name__}: {exc}"})

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            # what the report started and left running (its session, pgid = pid) goes with it, as
            # jupyter_client takes a kernel's process group down at shutdown
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            conn = self.conn_of.pop(pid, None)
            if conn is not None:
                self.child_of.pop(conn, None)
                self._send(conn, {"exit": os.waitstatus_to_exitcode(status)})

    def serve(self, control_fd: int | None) -> None:
        while not self.stopping:
            watch: list[Any] = [self.listener, *self.buffers]
            if control_fd is not None:
                watch.append(control_fd)
            for item in readable(watch, 0.05):
                if item is self.listener:
                    conn, _ = self.listener.accept()
                    self.buffers[conn] = b""
                elif item == control_fd:
                    if not os.read(control_fd, 4096):  # the parent closed our stdin: stop
                        self.stopping = True
                else:
                    self._read(item)
            self._reap()
        self.shutdown()

    def shutdown(self) -> None:
        for pid in list(self.conn_of):
            kill_group(pid)
        for pid in list(self.conn_of):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        for conn in list(self.buffers):
            conn.close()


def readable(items: list[Any], timeout: float | None) -> list[Any]:
    """Those of ``items`` (sockets or descriptors) ready to read within ``timeout`` seconds.

    The standard library's ``multiprocessing.connection.wait`` (a poll, no ``FD_SETSIZE`` limit
    as ``select.select`` has), imported when first waited on: not before the zygote starts.
    """
    from multiprocessing.connection import wait

    return wait(items, timeout)


def kill_group(pid: int) -> None:
    """SIGKILL the process group ``pid`` leads, and ``pid`` itself (a running child: never a reaped one)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue


def main(argv: list[str] | None = None) -> int:
    """``python -m alliance_fin.run.zygote SOCKET``: listen, import, then serve until stdin ends."""
    args = sys.argv[1:] if argv is None else argv
    path = args[0]
    # as ipykernel_launcher: no module of the working folder may shadow a library while we import
    if sys.path and (sys.path[0] == "" or os.path.abspath(sys.path[0]) == os.getcwd()):
        del sys.path[0]
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's; it closes us
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(128)
    server = _Server(listener)

    def _stop(signum: int, frame: Any) -> None:
        server.stopping = True

    signal.signal(signal.SIGTERM, _stop)
    preload()
    try:
        server.serve(0 if not os.isatty(0) else None)
    finally:
        listener.close()
        try:
            os.unlink(path)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    # every child is reaped and the socket removed: skip the interpreter's teardown of pandas,
    # matplotlib and the rest (about half a second the parent would wait in Zygote.close)
    os._exit(main())
