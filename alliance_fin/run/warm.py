"""The warm execution engine: papermill runs each notebook in a real kernel forked from a warm zygote.

A fresh kernel spends most of its start importing pandas, matplotlib, seaborn, openpyxl,
ipykernel and ``alliance_fin``. :class:`alliance_fin.run.zygote.Zygote` starts one process
(:mod:`alliance_fin.run.zygote`) that does those imports once; for every job, jupyter_client
asks it through :class:`WarmProvisioner` for a kernel, and it forks a child that becomes an
ordinary ``IPKernelApp`` on the connection file jupyter_client wrote, in the job's working
folder and environment. The notebook is executed by papermill and nbclient exactly as with the
kernel engine (same messages, same executed notebook, same error banner); only how the kernel
process comes to exist differs.

The engine is registered with papermill as ``"warm"`` (on import of this module, and through
the ``papermill.engine`` entry point), so ``papermill --engine warm`` works too. It needs the address
of a running zygote in :data:`ZYGOTE_ENV`; without one it starts kernels the ordinary way.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from papermill.engines import papermill_engines

from alliance_fin.run.execute import IPCKernelManager
from alliance_fin.run.warm_engine import WarmEngine

__all__ = ["WarmEngine", "WarmKernelManager", "WarmProvisioner", "ZYGOTE_ENV"]

#: Environment variable holding the Unix socket path of the zygote a worker's kernels come from.
ZYGOTE_ENV = "ALLIANCE_FIN_ZYGOTE"
_CONNECT_TIMEOUT_S = 120.0  # the zygote may still be importing (a few seconds on a busy machine)


class ZygoteChild:
    """A ``Popen``-like handle on a kernel that the zygote forked (it is not our child).

    The zygote reaps the kernel and sends its exit code over the connection; closing the
    connection while the kernel runs makes the zygote kill it.
    """

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, pid: int, buffer: bytes = b"") -> None:
        self.conn = conn
        self.pid = pid
        self.returncode: int | None = None
        self._buffer = buffer

    def _take(self, timeout: float | None) -> None:
        while self.returncode is None:
            if b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                message = json.loads(line)
                if "exit" in message:
                    self._finish(int(message["exit"]))
                continue
            ready, _, _ = select.select([self.conn], [], [], timeout)
            if not ready:
                return
            chunk = self.conn.recv(4096)
            if not chunk:  # the zygote is gone, and with it (PR_SET_PDEATHSIG) the kernel
                self._finish(-signal.SIGKILL)
                return
            self._buffer += chunk

    def _finish(self, code: int) -> None:
        self.returncode = code
        self.conn.close()

    def poll(self) -> int | None:
        """The exit code, or None while the kernel runs."""
        self._take(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the kernel has ended (or ``timeout`` seconds); its exit code."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(["kernel"], timeout or 0)
            self._take(left)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Signal the kernel if it still runs (the zygote has not reported its end)."""
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def request_kernel(address: str, args: list[str], cwd: str, env: dict[str, str]) -> ZygoteChild:
    """Ask the zygote at ``address`` for a kernel with command-line ``args``, in ``cwd`` with ``env``.

    Raises
    ------
    RuntimeError
        The zygote cannot be reached or could not fork (the message says "kernel ... start", so
        :func:`alliance_fin.run.execute._is_startup_error` treats it as a start-up failure).
    """
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + _CONNECT_TIMEOUT_S
    try:
        conn.settimeout(_CONNECT_TIMEOUT_S)
        while True:  # the zygote binds its socket a moment after it is started
            try:
                conn.connect(address)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        conn.sendall(json.dumps({"args": args, "cwd": cwd, "env": env}).encode() + b"\n")
        buffer = b""
        while b"\n" not in buffer:  # the zygote answers once its imports are done
            chunk = conn.recv(4096)
            if not chunk:
                raise OSError("the zygote closed the connection")
            buffer += chunk
        conn.settimeout(None)
    except OSError as exc:
        conn.close()
        raise RuntimeError(f"the warm kernel could not start: zygote {address}: {exc}") from None
    line, rest = buffer.split(b"\n", 1)
    reply = json.loads(line)
    if "pid" not in reply:
        conn.close()
        raise RuntimeError(f"the warm kernel could not start: {reply.get('error')}")
    return ZygoteChild(conn, int(reply["pid"]), rest)


def _kernel_args(cmd: list[str]) -> list[str] | None:
    """The arguments after ``-m ipykernel_launcher`` when ``cmd`` runs this Python's ipykernel, else None.

    ``-X`` options before ``-m`` are accepted and not applied: ipykernel's own kernel spec has
    ``-Xfrozen_modules=off``, which only matters to a debugger stepping into the standard
    library. Any other interpreter option means a kernel spec we do not imitate.
    """
    if not cmd:
        return None
    try:
        ours = os.path.samefile(cmd[0], sys.executable)
    except OSError:
        ours = False
    rest = list(cmd[1:])
    while rest and rest[0].startswith("-X"):
        rest.pop(0)
    if ours and rest[:2] == ["-m", "ipykernel_launcher"]:
        return rest[2:]
    return None


class WarmProvisioner(LocalProvisioner):
    """A jupyter_client kernel provisioner whose kernels are forked by the zygote.

    Everything but the launch is :class:`LocalProvisioner`'s (connection file, signals to the
    process group, wait, cleanup); ``self.process`` is a :class:`ZygoteChild`. A kernel spec
    that is not this Python's ipykernel, or no zygote in :data:`ZYGOTE_ENV`, launches the
    ordinary way.
    """

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        address = os.environ.get(ZYGOTE_ENV)
        args = _kernel_args(cmd)
        if not address or args is None:
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        self.process = request_kernel(address, args, cwd, env)
        self.pid = self.pgid = self.process.pid  # the child calls setsid()
        self.cwd = cwd
        return self.connection_info


class WarmKernelManager(IPCKernelManager):
    """:class:`IPCKernelManager` (Unix sockets) with kernels from the zygote."""

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = WarmProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)


papermill_engines.register("warm", WarmEngine)  # also an entry point, for `papermill --engine warm`
