"""Executors: where report jobs run. One job is one scenario x one report (see ``runner.build_jobs``).

An executor takes a list of jobs and yields one result per job **as each completes** (not in
submission order); the report's files are in ``job["staging"]`` by the time its result is
yielded. Everything around that — planning, the lock on ``--out``, staging folders, the
manifest, the index page and the atomic publish — stays in the client (the runner and the
sweep), so a bundle looks the same whichever executor ran its jobs.

:class:`ProcessPool`
    The built-in default: one process per running job, ``slots`` at a time, with a wall-clock
    limit per job after which that process (and its kernel) is killed. Warm engine: a child of
    the zygote executing the notebook itself; kernel engine: a forked worker with an IPC kernel.
:class:`alliance_fin.run.dask_executor.DaskExecutor`
    Jobs as Dask tasks on a cluster (``--scheduler``, extra ``alliance_fin[dask]``).
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from tqdm import tqdm

from alliance_fin.files import write_atomic

__all__ = ["ENGINES", "Executor", "KILL_GRACE_S", "ProcessPool", "Progress", "failed_result", "make_executor", "run_jobs"]

#: ``--engine`` choices: each report in a process forked from a warm zygote, executed there
#: without a kernel process (default), or in a fresh kernel per job.
ENGINES = ("warm", "kernel")
#: Extra seconds a report may take beyond ``timeout`` (kernel start and shutdown, export)
#: before the pool kills its process (the warm report process, or the worker and its kernel).
KILL_GRACE_S = 20.0
_POLL_S = 0.05


class Executor(Protocol):
    """What the runner and the sweep need from an executor."""

    #: How many jobs run at once (informational: shown in progress messages).
    slots: int

    def run(self, jobs: Sequence[dict[str, Any]], say: Any) -> Iterator[dict[str, Any]]:
        """Run ``jobs``; yield each result (``run_report_job``'s dict plus ``key``) as it completes."""
        ...

    def close(self) -> None:
        """Release workers, clusters and temporary folders."""
        ...


def failed_result(job: dict[str, Any], error: str, seconds: float = 0.0) -> dict[str, Any]:
    """The result of a job that produced nothing (killed, lost, never started)."""
    return {"key": job["key"], "report": job["report"], "status": "failed", "seconds": round(seconds, 2),
            "outputs": [], "headline": {}, "error": error}


class Progress:
    """The tqdm bar over completed jobs, with message lines printed above it.

    On a terminal the bar counts finished reports; in logs (not a TTY) only the lines appear.
    """

    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.stream = stream
        self.done = 0
        self.total = total
        self.bar = tqdm(total=total, desc="reports", unit="report", file=stream, leave=False,
                        disable=stream is None or not getattr(stream, "isatty", lambda: False)())

    def say(self, text: str) -> None:
        """Print one line above the bar (nothing when there is no stream)."""
        if self.stream is not None:
            self.bar.write(text, file=self.stream)

    def completed(self, result: dict[str, Any]) -> None:
        """Count one finished job and report its status."""
        self.done += 1
        self.bar.update(1)
        status = "ok" if result["status"] == "ok" else "FAILED"
        self.say(f"[{self.done}/{self.total}] {result['key']}: {status} in {result['seconds']:.1f} s"
                 + (f" - {result['error']}" if result.get("error") else ""))

    def close(self) -> None:
        """Remove the bar."""
        self.bar.close()


def run_jobs(executor: Executor, jobs: Sequence[dict[str, Any]], stream: TextIO | None) -> Iterator[dict[str, Any]]:
    """Run ``jobs`` on ``executor`` with the progress bar; yield results as they complete."""
    progress = Progress(len(jobs), stream)
    try:
        for result in executor.run(jobs, progress.say):
            progress.completed(result)
            yield result
    finally:
        progress.close()


# -- the built-in process pool -------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (kernels run in their own session, but stay its children)."""
    try:
        import psutil

        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except ImportError:
        pass
    except Exception:
        return []
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def kill_tree(proc: multiprocessing.process.BaseProcess) -> None:
    """SIGKILL a worker process and everything below it (its kernel), then reap it."""
    if proc.pid is None:
        return
    for pid in [*_descendants(proc.pid), proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.join(5)


def _worker(job: dict[str, Any], result_file: str, kernel_dir: str) -> None:
    """The kernel engine's worker: run one job (its kernel is a fresh ``ipykernel`` process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and kills us
    from alliance_fin.run.execute import KERNEL_DIR_ENV, run_report_job

    os.environ[KERNEL_DIR_ENV] = kernel_dir
    try:
        result = run_report_job(job)
    except BaseException as exc:  # a bug of ours: still report it as a failure
        result = failed_result(job, f"{job['report']}: {type(exc).__name__}: {exc}")
    write_atomic(result_file, json.dumps(result))


class _Worker:
    """A forked worker process (kernel engine), as the pool watches it."""

    def __init__(self, proc: multiprocessing.process.BaseProcess) -> None:
        self.proc = proc

    def alive(self) -> bool:
        return self.proc.is_alive()

    def waitable(self) -> Any:
        """What becomes ready when the process ends (for ``multiprocessing.connection.wait``)."""
        return self.proc.sentinel

    def kill(self) -> None:
        kill_tree(self.proc)

    def killed(self, job: dict[str, Any], what: str, elapsed: float) -> dict[str, Any]:
        """The result of the job after :meth:`kill` at its time limit (``what`` says when)."""
        return failed_result(job, f"{job['report']}: {what}", elapsed)

    def ended(self, job: dict[str, Any], elapsed: float) -> dict[str, Any]:
        """The result of the job whose process ended without writing one."""
        self.proc.join()
        return failed_result(job, f"{job['report']}: worker ended without a result "
                                  f"(exit code {self.proc.exitcode})", elapsed)


class _WarmChild:
    """A report process forked by the zygote (warm engine), as the pool watches it.

    A failure without a result names the cell the warm engine wrote in its marker file as it
    started it, and keeps ``<report>.failed.ipynb``.
    """

    def __init__(self, child: Any) -> None:
        self.child = child

    def alive(self) -> bool:
        return self.child.poll() is None

    def waitable(self) -> Any:
        """What becomes ready when the zygote reports the child's end (its connection)."""
        return self.child.conn

    def kill(self) -> None:
        self.child.kill()

    def killed(self, job: dict[str, Any], what: str, elapsed: float) -> dict[str, Any]:
        return self._failure(job, f"was {what}", elapsed)

    def ended(self, job: dict[str, Any], elapsed: float) -> dict[str, Any]:
        code = self.child.wait()
        if self.child.lost:
            return failed_result(job, f"{job['report']}: the warm engine's zygote died while the report ran", elapsed)
        how = f"exit code {code}"
        if code is not None and code < 0:
            try:
                how = signal.Signals(-code).name
            except ValueError:
                how = f"signal {-code}"
        return self._failure(job, f"ended the report's process ({how})", elapsed)

    @staticmethod
    def _failure(job: dict[str, Any], what: str, elapsed: float) -> dict[str, Any]:
        from alliance_fin.run.execute import cell_marker, keep_failed_notebook

        marker = cell_marker(job)
        try:
            where = marker.read_text(encoding="utf-8").strip() or "a cell"
        except OSError:
            where = "the report"
        marker.unlink(missing_ok=True)
        result = failed_result(job, f"{job['report']}: {where} {what}", elapsed)
        try:
            result["outputs"] = keep_failed_notebook(job)
        except Exception:  # nothing readable was left: the failure is reported all the same
            pass
        return result


class ProcessPool:
    """One forked worker process per running job, ``slots`` at a time (the default executor).

    Parameters
    ----------
    slots : int
        Jobs running at once.
    timeout : float
        Seconds per notebook cell; a job running longer than ``timeout + KILL_GRACE_S`` in all
        is killed (with its kernel, or its process group) and reported as failed.
    engine : str
        ``"warm"`` (default): each job runs in a process forked by one
        :class:`~alliance_fin.run.zygote_client.Zygote` that the pool starts at once and stops on
        :meth:`close`, and is executed there (:mod:`alliance_fin.run.warm`); ``"kernel"``: a
        forked worker per job, with a fresh kernel.
    zygote : Zygote, optional
        For ``"warm"``: a zygote already started (e.g. before planning, so that its imports
        overlap the checks); the pool closes it.
    """

    def __init__(self, slots: int, timeout: float, engine: str = "warm", zygote: Any = None) -> None:
        self.slots = max(1, slots)
        self.timeout = timeout
        self.engine = engine
        # short: Unix socket paths are limited to about 100 characters
        self.kernel_dir = Path(tempfile.mkdtemp(prefix="afk-"))
        self.zygote = zygote  # a Zygote started earlier (it then belongs to the pool), or None
        if engine == "warm" and zygote is None:
            from alliance_fin.run.zygote_client import Zygote

            self.zygote = Zygote(self.kernel_dir)  # imports while the parent prepares the jobs

    def _start(self, ctx: Any, job: dict[str, Any], result_file: str) -> _Worker | _WarmChild:
        if self.zygote is not None:
            return _WarmChild(self.zygote.submit(job, result_file))
        proc = ctx.Process(target=_worker, daemon=False, args=(job, result_file, str(self.kernel_dir)))
        proc.start()
        return _Worker(proc)

    def run(self, jobs: Sequence[dict[str, Any]], say: Any) -> Iterator[dict[str, Any]]:
        """Start jobs as slots free up; yield each result when its process ends (or is killed)."""
        ctx = None
        if self.zygote is None:  # kernel engine: import papermill and nbconvert once; workers inherit them
            import alliance_fin.run.execute  # noqa: F401
            from alliance_fin.run.html_export import warm_up

            warm_up()  # and the page templates, compiled once
            ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        waiting = list(enumerate(jobs))
        running: dict[int, tuple[_Worker | _WarmChild, float, str]] = {}
        try:
            while waiting or running:
                while waiting and len(running) < self.slots:
                    n, job = waiting.pop(0)
                    result_file = str(self.kernel_dir / f"{n}.result.json")
                    try:
                        running[n] = (self._start(ctx, job, result_file), time.monotonic(), result_file)
                    except RuntimeError as exc:  # the zygote is gone: this job cannot start
                        yield {**failed_result(job, f"{job['report']}: {exc}"), "key": job["key"]}
                        continue
                    say(f"{job['key']}: started")
                # wake as soon as a job ends (or after the poll interval, to check the time limits)
                multiprocessing.connection.wait([h.waitable() for h, _, _ in running.values()], _POLL_S)
                for n, (handle, started, result_file) in list(running.items()):
                    elapsed = time.monotonic() - started
                    if handle.alive() and elapsed <= self.timeout + KILL_GRACE_S:
                        continue
                    job = jobs[n]
                    if handle.alive():
                        handle.kill()
                        result = handle.killed(job, f"killed after {elapsed:.0f} s (timeout {self.timeout:g} s)",
                                               elapsed)
                    else:
                        try:
                            result = json.loads(Path(result_file).read_text(encoding="utf-8"))
                        except (OSError, ValueError):
                            result = handle.ended(job, elapsed)
                    del running[n]
                    result["key"] = job["key"]
                    yield result
        finally:  # Ctrl-C, or the caller stopped early: no worker or report process outlives the run
            for handle, _, _ in running.values():
                handle.kill()

    def close(self) -> None:
        """Stop the zygote (warm engine) and remove the pool's kernel folder."""
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        shutil.rmtree(self.kernel_dir, ignore_errors=True)


def make_executor(scheduler: str | None, *, slots: int, timeout: float,
                  notebooks: dict[str, Path] | None = None, data: dict[str, Any] | None = None,
                  engine: str = "warm", zygote: Any = None) -> Executor:
    """The executor for ``--scheduler`` (None: the process pool), checked and ready.

    Parameters
    ----------
    scheduler : str or None
        ``tcp://HOST:PORT`` of a Dask scheduler, ``local`` for a ``LocalCluster`` with ``slots``
        single-threaded worker processes, or None for :class:`ProcessPool`.
    slots : int
        Jobs at once (process pool and ``local``).
    timeout : float
        Seconds per notebook cell.
    notebooks : dict of str to Path, optional
        Notebook file name -> path; a Dask executor checks the workers hold the same ones.
    data : dict, optional
        The plan's data info (``inject`` path and ``sha256``), for shipping the data to workers.
    engine : str
        ``warm`` or ``kernel`` for the process pool. Dask workers always use the kernel engine
        (a worker runs many tasks and has no zygote of its own).
    zygote : Zygote, optional
        A zygote already started, handed to the process pool (which closes it).

    Raises
    ------
    ParameterError
        Dask is not installed, the scheduler cannot be reached, or the workers differ from the
        client (package version, notebooks): nothing has been written.
    """
    if not scheduler:
        return ProcessPool(slots, timeout, engine=engine, zygote=zygote)
    from alliance_fin.run.dask_executor import DaskExecutor

    return DaskExecutor(scheduler, slots=slots, timeout=timeout, notebooks=notebooks or {}, data=data or {})
