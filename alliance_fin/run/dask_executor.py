"""Report jobs as Dask tasks (``--scheduler tcp://HOST:PORT`` or ``local``; extra ``alliance_fin[dask]``).

A task runs :func:`alliance_fin.run.execute.run_report_job` **in the Dask worker's own process**
(one thread per worker), with the kernel started by papermill as an ordinary subprocess. Dask
workers are daemonic processes, and a daemonic process may not start children with
``multiprocessing`` (dask/distributed#2142, #5058) — which is how the built-in pool isolates a
job — but ``subprocess.Popen``, which jupyter_client uses for kernels, is allowed. So workers need
no special configuration (``--no-nanny`` or ``distributed.worker.daemon: False`` are not needed).

The task writes into a private temporary folder on the worker and returns the output files as
bytes with its headline, timings and status; the client writes them into its staging folder.
Before any job the workers are checked with ``client.run``: same ``alliance_fin`` version and the
same notebooks as the client, and whether the data file is already there (else its bytes are
scattered to every worker once).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from alliance_fin import __version__
from alliance_fin.errors import ParameterError
from alliance_fin.files import sha256_file
from alliance_fin.run.executors import failed_result

__all__ = ["CONNECT_TIMEOUT_ENV", "DaskExecutor", "run_job_on_worker", "worker_facts"]

#: Environment variable: seconds to wait for the scheduler and its first worker (default 10).
CONNECT_TIMEOUT_ENV = "ALLIANCE_FIN_CONNECT_TIMEOUT"
#: Client environment variables a task sets on its worker (reproducible workbook dates).
FORWARDED_ENV = ("SOURCE_DATE_EPOCH",)


def _sha256(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def _resolve_notebook(path: str) -> Path:
    """The client's notebook path if the worker sees it, else the worker's packaged notebook of that name."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    from alliance_fin import paths

    return paths.NOTEBOOKS_DIR / candidate.name


def worker_facts(notebooks: dict[str, str], data_path: str) -> dict[str, Any]:
    """What the client checks on every worker (run there with ``client.run``).

    Returns
    -------
    dict
        ``version`` (alliance_fin), ``python``, ``notebooks`` (name -> sha256 or None),
        ``data`` (sha256 of ``data_path`` on the worker, or None).
    """
    from alliance_fin import __version__ as version

    return {"version": version, "python": sys.version.split()[0],
            "notebooks": {name: _sha256(_resolve_notebook(p)) for name, p in notebooks.items()},
            "data": _sha256(Path(data_path)) if data_path else None}


def run_job_on_worker(job: dict[str, Any], data_bytes: bytes | None = None) -> dict[str, Any]:
    """Run one report job in this worker's process; return its result with the files as bytes.

    Parameters
    ----------
    job : dict
        A job of ``runner.build_jobs``; its ``staging`` is the client's folder and is replaced here
        by a private temporary one (the executed notebook still names the client's final folder).
    data_bytes : bytes, optional
        The data file's content when the worker does not have the file itself.

    Returns
    -------
    dict
        ``run_report_job``'s result plus ``files`` (name -> bytes), ``worker`` (address) and
        ``task_seconds`` (wall time on the worker).
    """
    started = time.monotonic()
    from alliance_fin.run.execute import KERNEL_DIR_ENV, run_report_job

    try:
        from distributed import get_worker

        address = get_worker().address
    except (ImportError, ValueError):
        address = ""
    tmp = Path(tempfile.mkdtemp(prefix="afd-"))
    staging, kernels = tmp / "s", tmp / "k"
    staging.mkdir()
    kernels.mkdir()
    saved = {k: os.environ.get(k) for k in (KERNEL_DIR_ENV, *FORWARDED_ENV)}
    try:
        os.environ[KERNEL_DIR_ENV] = str(kernels)
        for key in FORWARDED_ENV:
            value = job.get("env", {}).get(key)
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        params = dict(job["parameters"], output_dir=str(staging))
        path_map: dict[str, str] = {}
        if data_bytes is not None and params.get("data_path"):
            local = tmp / "data" / Path(params["data_path"]).name
            local.parent.mkdir()
            local.write_bytes(data_bytes)
            path_map[str(local)] = params["data_path"]
            params["data_path"] = str(local)
        local_job = dict(job, staging=str(staging), parameters=params, path_map=path_map,
                         notebook=str(_resolve_notebook(job["notebook"])))
        try:
            result = run_report_job(local_job)
        except BaseException as exc:  # a bug of ours: a failure of this report, not of the worker
            result = failed_result(job, f"{job['report']}: {type(exc).__name__}: {exc}")
        result["files"] = {name: (staging / name).read_bytes() for name in result["outputs"]}
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        shutil.rmtree(tmp, ignore_errors=True)
    result.update(key=job["key"], worker=address, task_seconds=round(time.monotonic() - started, 3))
    return result


def _connect_timeout() -> float:
    try:
        return max(1.0, float(os.environ.get(CONNECT_TIMEOUT_ENV, "10")))
    except ValueError:
        return 10.0


class DaskExecutor:
    """Jobs as tasks on a Dask cluster; files come back to the client (see the module docstring).

    Parameters
    ----------
    scheduler : str
        ``tcp://HOST:PORT`` (or any address ``distributed.Client`` takes), or ``local``.
    slots : int
        Worker processes of a ``local`` cluster (one thread each).
    timeout : float
        Seconds per notebook cell (enforced by papermill in the worker).
    notebooks : dict of str to Path
        Notebook file name -> the client's path; the workers must hold identical ones.
    data : dict
        The plan's data info: ``inject`` (path, '' for the packaged data) and ``sha256``.

    Raises
    ------
    ParameterError
        Dask missing, scheduler unreachable within the connect timeout, no workers, or workers
        that differ from the client.
    """

    def __init__(self, scheduler: str, *, slots: int, timeout: float, notebooks: dict[str, Path],
                 data: dict[str, Any]) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise ParameterError(f"--scheduler {scheduler}: Dask is not installed; "
                                 "pip install 'alliance_fin[dask]'; nothing was written") from None
        self.slots, self.timeout, self.cluster = max(1, slots), timeout, None
        self.stats: list[dict[str, float]] = []
        limit = _connect_timeout()
        try:
            if scheduler == "local":
                # a lost worker's job is retried once (the scheduler's rescheduling), then reported
                with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
                    self.cluster = LocalCluster(n_workers=self.slots, threads_per_worker=1, processes=True,
                                                host="127.0.0.1", dashboard_address=None,
                                                silence_logs=logging.ERROR)
                self.client = Client(self.cluster, timeout=limit, set_as_default=False)
            else:
                self.client = Client(scheduler, timeout=limit, set_as_default=False)
            self.client.wait_for_workers(1, timeout=limit)
        except Exception as exc:  # OSError, TimeoutError, ValueError (bad address) ...
            self.close()
            reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
            raise ParameterError(f"--scheduler {scheduler}: cannot reach a Dask scheduler with workers "
                                 f"within {limit:g} s ({reason}); nothing was written") from None
        try:
            self.data_future = self._check(scheduler, notebooks, data)
        except BaseException:
            self.close()
            raise

    def _check(self, scheduler: str, notebooks: dict[str, Path], data: dict[str, Any]) -> Any:
        """Compare every worker with the client; return the scattered data (or None)."""
        wanted = {name: _sha256(Path(p)) for name, p in notebooks.items()}
        inject = str(data.get("inject") or "")
        try:
            facts = self.client.run(worker_facts, {n: str(p) for n, p in notebooks.items()}, inject,
                                    on_error="return")
        except Exception as exc:
            raise ParameterError(f"--scheduler {scheduler}: cannot query the workers ({exc}); "
                                 "nothing was written") from None
        problems = []
        for worker, fact in sorted(facts.items()):
            if isinstance(fact, BaseException):
                problems.append(f"worker {worker}: cannot run alliance_fin ({type(fact).__name__}: {fact})")
                continue
            if fact["version"] != __version__:
                problems.append(f"worker {worker}: alliance_fin {fact['version']}, the client has {__version__}")
            for name, sha in wanted.items():
                if fact["notebooks"].get(name) != sha:
                    problems.append(f"worker {worker}: notebook {name} differs from the client's "
                                    f"({'missing' if fact['notebooks'].get(name) is None else 'other content'})")
        if problems:
            raise ParameterError(f"--scheduler {scheduler}: the workers do not match this client; "
                                 "nothing was written", problems)
        if inject and any(f["data"] != data.get("sha256") for f in facts.values()):
            return self.client.scatter(Path(inject).read_bytes(), broadcast=True, hash=False)
        return None

    def _submit(self, job: dict[str, Any], avoid: str = "") -> Any:
        others = [w for w in self.client.scheduler_info(n_workers=-1)["workers"] if w != avoid] if avoid else None
        where = {"workers": others, "allow_other_workers": True} if others else {}
        return self.client.submit(run_job_on_worker, job, self.data_future, pure=False,
                                  key=f"alliance-fin-{job['key']}-{os.urandom(4).hex()}", **where)

    def run(self, jobs: Sequence[dict[str, Any]], say: Any) -> Iterator[dict[str, Any]]:
        """Submit every job; yield results as tasks complete, after writing their files to staging.

        A lost worker or a kernel that died is retried once, on another worker when there is
        one; a notebook error is a result like any other (``.failed.ipynb``), not retried.
        """
        from distributed import as_completed

        pending = {}
        for n, job in enumerate(jobs):
            pending[self._submit(job)] = (n, 0, time.monotonic())
        queue = as_completed(list(pending), loop=self.client.loop)
        try:
            for future in queue:
                n, attempt, submitted = pending.pop(future)
                job = jobs[n]
                try:
                    result = future.result()
                except Exception as exc:  # KilledWorker, a closed connection: infrastructure
                    result = failed_result(job, f"{job['report']}: lost on the cluster "
                                                f"({type(exc).__name__}: {exc})".replace("\n", " "))
                    result["retry"], result["worker"] = True, ""
                if result.get("retry") and attempt == 0:
                    say(f"{job['key']}: retried on another worker ({result['error']})")
                    again = self._submit(job, avoid=result.get("worker", ""))
                    pending[again] = (n, 1, time.monotonic())
                    queue.add(again)
                    continue
                received = time.monotonic()
                files = result.pop("files", {})
                for name, content in files.items():
                    if Path(name).name != name:  # never write outside the staging folder
                        continue
                    (Path(job["staging"]) / name).write_bytes(content)
                self.stats.append({"task_seconds": float(result.get("task_seconds", 0.0)),
                                   "round_trip_seconds": received - submitted,
                                   "bytes": float(sum(len(c) for c in files.values())),
                                   "client_write_seconds": time.monotonic() - received})
                yield result
        finally:
            if pending:
                self.client.cancel(list(pending))

    def close(self) -> None:
        """Close the client and, for ``local``, the cluster."""
        for thing in (getattr(self, "client", None), self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:
                    pass
