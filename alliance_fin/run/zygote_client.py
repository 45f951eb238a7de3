"""The pool's side of the warm zygote: start it, hand it jobs, watch the children it forks.

Standard library only, so a run starts the zygote (:mod:`alliance_fin.run.zygote`) before it
imports anything heavy, and the parent of a warm run never imports papermill or nbconvert.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alliance_fin.run.zygote import kill_group, readable  # standard library only, as this module

__all__ = ["Zygote", "ZygoteChild", "start_for"]

_CONNECT_TIMEOUT_S = 120.0  # the zygote may still be importing (a few seconds on a busy machine)


class ZygoteChild:
    """A handle on one report process the zygote forked (it is not our child).

    The zygote reaps the child and sends its exit code over the connection; closing the
    connection while the child runs makes the zygote kill it.
    """

    def __init__(self, conn: socket.socket, pid: int, buffer: bytes = b"") -> None:
        self.conn = conn
        self.pid = pid
        self.returncode: int | None = None
        #: True when the zygote went away without reporting the child's end (it died, and
        #: PR_SET_PDEATHSIG took the child with it).
        self.lost = False
        self._buffer = buffer

    def _take(self, timeout: float | None) -> None:
        while self.returncode is None:
            if b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                message = json.loads(line)
                if "exit" in message:
                    self._finish(int(message["exit"]))
                continue
            if not readable([self.conn], timeout):
                return
            try:
                chunk = self.conn.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:  # the zygote is gone, and with it (PR_SET_PDEATHSIG) the child
                self.lost = True
                self._finish(-signal.SIGKILL)
                return
            self._buffer += chunk

    def _finish(self, code: int) -> None:
        self.returncode = code
        self.conn.close()

    def poll(self) -> int | None:
        """The exit code (negative: killed by that signal), or None while the child runs."""
        self._take(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the child has ended (or ``timeout`` seconds); its exit code."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(["report"], timeout or 0)
            self._take(left)
        return self.returncode

    def kill(self) -> None:
        """SIGKILL the child's process group (it called ``setsid``) if it still runs; wait for its end."""
        if self.poll() is None:
            kill_group(self.pid)
            try:
                self.wait(10)
            except subprocess.TimeoutExpired:
                self._finish(-signal.SIGKILL)


class Zygote:
    """A running zygote process (see :mod:`alliance_fin.run.zygote`), owned by an executor.

    Starting one returns at once; the zygote imports in the background and answers requests
    when done (they wait for it).

    Parameters
    ----------
    folder : Path, optional
        A short private folder for its socket (Unix socket paths are limited to ~100 bytes);
        default a new temporary folder, removed by :meth:`close`.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._own = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="afz-")) if folder is None else Path(folder)
        self.address = str(self.folder / "zygote.sock")
        #: The zygote's stderr: what failed while it imported, quoted when it cannot start a report.
        self.log = self.folder / "zygote.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "alliance_fin.run.zygote", self.address],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,  # Ctrl-C is for the parent, which then closes us
            )

    def submit(self, job: dict[str, Any], result_file: str, env: dict[str, str] | None = None) -> ZygoteChild:
        """Have the zygote fork a child that runs ``job`` and writes its result to ``result_file``.

        Raises
        ------
        RuntimeError
            The zygote cannot be reached or could not fork.
        """
        request = {"job": job, "result": result_file, "env": dict(os.environ if env is None else env)}
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + _CONNECT_TIMEOUT_S
        try:
            conn.settimeout(_CONNECT_TIMEOUT_S)
            while True:  # the zygote binds its socket a moment after it is started
                try:
                    conn.connect(self.address)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise
                    time.sleep(0.02)
            conn.sendall(json.dumps(request).encode() + b"\n")
            buffer = b""
            while b"\n" not in buffer:  # the zygote answers once its imports are done
                chunk = conn.recv(4096)
                if not chunk:
                    raise OSError("the zygote closed the connection")
                buffer += chunk
            conn.settimeout(None)
        except OSError as exc:
            conn.close()
            raise RuntimeError(f"the warm engine could not start the report: zygote {self.address}: {exc}"
                               + self._last_words()) from None
        line, rest = buffer.split(b"\n", 1)
        reply = json.loads(line)
        if "pid" not in reply:
            conn.close()
            raise RuntimeError(f"the warm engine could not start the report: {reply.get('error')}")
        return ZygoteChild(conn, int(reply["pid"]), rest)

    def _last_words(self) -> str:
        """The end of the zygote's stderr, when it exited (why it could not serve), else ""."""
        if self.proc.poll() is None:
            return ""
        try:
            tail = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        except OSError:
            tail = []
        return f" (it exited with code {self.proc.returncode}" + (": " + " | ".join(tail) if tail else "") + ")"

    def close(self) -> None:
        """Stop the zygote; it kills any child still running, then exits."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._own:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_for(engine: str, scheduler: str | None) -> Zygote | None:
    """A zygote started now when ``engine`` is ``"warm"`` on the built-in pool (no ``scheduler``),
    so its imports overlap the caller's checks; else None. It writes nothing but its own folder."""
    return Zygote() if engine == "warm" and not scheduler else None
