"""Execute one report notebook with papermill and turn it into its outputs (one process per report).

The notebook contract: the runner injects every declared report parameter plus ``data_path``,
``output_dir``, ``run_id`` and ``created``; a successful notebook leaves ``<report>.xlsx`` and
``<report>.headline.json`` (a JSON object of numbers/booleans) in ``output_dir``. This module
then writes ``<report>.ipynb`` and ``<report>.html`` beside them and consumes the headline file,
or, when anything fails, keeps the executed notebook as ``<report>.failed.ipynb`` and removes
the report's other files.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError

from alliance_fin.files import write_atomic
from alliance_fin.run.html_export import write_html

__all__ = ["IPCKernelManager", "KERNEL_DIR_ENV", "PAPERMILL_TAGS", "cell_marker", "keep_failed_notebook",
           "run_report_job", "running_notebook"]

#: Environment variable naming a short private folder for kernel connection files and sockets.
KERNEL_DIR_ENV = "ALLIANCE_FIN_KERNEL_DIR"
#: Tags of the cells papermill adds (parameters, error banner): not cells of the source notebook.
PAPERMILL_TAGS = ("injected-parameters", "papermill-error-cell-tag")
_START_ATTEMPTS = 3


class IPCKernelManager(AsyncKernelManager):
    """A kernel manager that talks to its kernel over Unix sockets, not TCP ports.

    jupyter_client picks free TCP ports, releases them and lets the kernel bind them, so parallel
    start-ups can race for a port (papermill issue 511). IPC sockets named after a unique
    connection file cannot collide, and nothing listens on the network.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        folder = os.environ.get(KERNEL_DIR_ENV) or None
        if folder is None:
            from jupyter_core.paths import jupyter_runtime_dir

            folder = jupyter_runtime_dir()
            os.makedirs(folder, exist_ok=True)
        stem = os.path.join(folder, f"k{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self.transport = "ipc"
        # on a busy 2-core machine a kernel can take more than jupyter_client's 5 s to stop;
        # waiting longer avoids escalating to signals (and their noise on stderr)
        self.shutdown_wait_time = 15.0
        self.connection_file = stem + ".json"
        self.ip = stem + "-ipc"  # socket files are <ip>-<port>

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        # The kernel process's own stderr only carries ipykernel's log (e.g. the traceback of a
        # reply it could not send after a timeout killed the cell); cell output, errors included,
        # arrives through messages and is kept in the notebook. Keep the terminal readable.
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)


def _is_startup_error(exc: BaseException) -> bool:
    import zmq

    text = str(exc).lower()
    return isinstance(exc, zmq.ZMQError) or (
        isinstance(exc, RuntimeError) and "kernel" in text and ("died" in text or "start" in text)
    )


class _RepeatsOurFailure(logging.Filter):
    """Drops nbclient's own lines for a timed-out cell or a dead kernel ("Timeout waiting for
    execute reply (2s).") from papermill's logger: they name no report, and the runner reports
    each failure itself, with its report and cell."""

    LINES = ("Timeout waiting for execute reply", "Kernel died while waiting for execute reply")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.LINES)


def _execute(job: dict[str, Any], running: Path) -> None:
    quiet = _RepeatsOurFailure()
    papermill_log = logging.getLogger("papermill")
    papermill_log.addFilter(quiet)
    try:
        _execute_notebook(job, running)
    finally:
        papermill_log.removeFilter(quiet)


def _execute_notebook(job: dict[str, Any], running: Path) -> None:
    engine: dict[str, Any] = {"kernel_manager_class": IPCKernelManager}
    if job.get("engine", "kernel") == "warm":
        import alliance_fin.run.warm  # noqa: F401  (registers papermill's "warm" engine)

        engine = {"engine_name": "warm", "cell_marker": str(cell_marker(job))}
    attempts = 1 if engine.get("engine_name") == "warm" else _START_ATTEMPTS  # no kernel start to retry
    for attempt in range(1, attempts + 1):
        try:
            papermill.execute_notebook(
                job["notebook"], str(running), parameters=job["parameters"],
                kernel_name=job.get("kernel_name", "python3"), cwd=job["staging"],
                execution_timeout=job["timeout"], start_timeout=60, progress_bar=False,
                log_output=False, request_save_on_cell_execute=False, **engine,
            )
            return
        except Exception as exc:
            if attempt == attempts or not _is_startup_error(exc):
                raise
            time.sleep(0.2 * attempt)


def _source_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if not set(c.metadata.get("tags", [])) & set(PAPERMILL_TAGS)]


def _where(running: Path, message: str = "", source: Path | None = None) -> str:
    """'cell N (In [k])' of the first cell with an error output, N counted in the source notebook.

    The notebook is saved only at the end of the run (saving after every cell costs about 0.8 s
    a run), so a timed-out cell has no error output; it is then found by its source, which
    nbclient quotes in the timeout message.
    """
    nb = None
    for path in (running, source):  # the run may have stopped before papermill wrote anything
        try:
            nb = nbformat.read(str(path), as_version=4)
            break
        except Exception:
            continue
    if nb is None:
        return "an unknown cell"
    cells = list(enumerate(_source_cells(nb), start=1))
    for n, cell in cells:
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            count = cell.get("execution_count")
            return f"cell {n}" + (f" (In [{count}])" if count else "")
    for n, cell in cells:
        if message and cell.cell_type == "code" and cell.source.strip() and cell.source.strip() in message:
            return f"cell {n}"
    return "an unknown cell"


def _describe_failure(exc: BaseException, report: str, running: Path, timeout: float,
                      source: Path | None = None) -> str:
    if isinstance(exc, PapermillExecutionError):
        return f"{report}: {_where(running)} raised {exc.ename}: {exc.evalue}"
    if isinstance(exc, CellTimeoutError):
        return f"{report}: {_where(running, str(exc), source)} timed out after {timeout:g} s"
    if isinstance(exc, DeadKernelError):
        return f"{report}: the kernel died ({exc})"
    return f"{report}: {type(exc).__name__}: {exc}"


def _read_headline(path: Path, keys: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"the notebook wrote no {path.name}"
    except (OSError, ValueError) as exc:
        return None, f"{path.name} is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"{path.name} must hold a JSON object"
    bad = [k for k, v in data.items()
           if not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v))]
    missing = [k for k in keys if k not in data]
    if bad or missing:
        parts = ([f"values not numbers/booleans: {', '.join(bad)}"] if bad else []) + (
            [f"keys missing: {', '.join(missing)}"] if missing else [])
        return None, f"{path.name}: " + "; ".join(parts)
    return data, None


def _normalise(nb: nbformat.NotebookNode, job: dict[str, Any], name: str) -> None:
    """Point the executed notebook at the final folder; drop volatile fields when reproducible."""
    # a Dask task runs in a folder (and maybe with a data copy) of its worker: name the client's
    replace = {str(job["staging"]): str(job["final_dir"]), **job.get("path_map", {})}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
        if "injected-parameters" in cell.metadata.get("tags", []):
            for src, dst in replace.items():
                cell.source = cell.source.replace(src, dst)
        if job.get("reproducible"):
            for key in ("start_time", "end_time", "duration"):
                cell.metadata.get("papermill", {}).pop(key, None)
    meta = nb.metadata.get("papermill", {})
    final = str(job["final_dir"])
    meta["output_path"] = os.path.join(final, name)
    if isinstance(meta.get("parameters"), dict) and "output_dir" in meta["parameters"]:
        meta["parameters"]["output_dir"] = final
        for key, value in meta["parameters"].items():
            if isinstance(value, str) and value in replace:
                meta["parameters"][key] = replace[value]
    if job.get("reproducible"):
        for key in ("start_time", "end_time", "duration"):
            meta.pop(key, None)


def _write_nb(nb: nbformat.NotebookNode, path: Path) -> None:
    write_atomic(path, nbformat.writes(nb) + "\n")


def running_notebook(job: dict[str, Any]) -> Path:
    """Where papermill writes the job's executed notebook while it runs."""
    return Path(job["staging"]) / f".{job['report']}.running.ipynb"


def cell_marker(job: dict[str, Any]) -> Path:
    """Where the ``warm`` engine names the code cell it is executing (read when its process died)."""
    return Path(job["staging"]) / f".{job['report']}.cell"


def keep_failed_notebook(job: dict[str, Any]) -> list[str]:
    """Keep what ran of a failed job as ``<report>.failed.ipynb``; remove its other files; its outputs.

    The executed notebook as papermill last saved it (it saves on start and at the end), or the
    source notebook when papermill wrote nothing (e.g. the kernel did not start).
    """
    staging, report = Path(job["staging"]), job["report"]
    failed = staging / f"{report}.failed.ipynb"
    running = running_notebook(job)
    try:
        nb = nbformat.read(str(running), as_version=4)
    except (OSError, ValueError):
        nb = nbformat.read(job["notebook"], as_version=4)
    _normalise(nb, job, failed.name)
    _write_nb(nb, failed)
    for suffix in (".xlsx", ".html", ".ipynb"):
        (staging / f"{report}{suffix}").unlink(missing_ok=True)
    return [failed.name]


def run_report_job(job: dict[str, Any]) -> dict[str, Any]:
    """Execute one report and leave its outputs in the staging folder.

    Parameters
    ----------
    job : dict
        ``report``, ``notebook`` (path), ``parameters`` (all injected values), ``staging`` and
        ``final_dir`` (folders), ``timeout`` (s per cell), ``title``, ``headline_keys``,
        ``header`` (scenario, run_id, created, data_file), optional ``reproducible``,
        ``kernel_name``, ``engine`` (``"warm"``: executed in this process, see
        :mod:`alliance_fin.run.warm`; default ``"kernel"``: in a fresh kernel) and
        ``path_map`` (worker path -> client path, rewritten in the notebook).

    Returns
    -------
    dict
        ``report``, ``status`` (``"ok"`` or ``"failed"``), ``seconds``, ``outputs`` (file names
        in the staging folder), ``headline`` (dict, empty when failed), ``error`` (str or None),
        ``retry`` (True when the kernel died or never started: an infrastructure failure).
    """
    report = job["report"]
    staging = Path(job["staging"])
    running = running_notebook(job)
    xlsx, html_path, headline_path = (staging / f"{report}{s}" for s in (".xlsx", ".html", ".headline.json"))
    started = time.monotonic()
    error: str | None = None
    headline: dict[str, Any] | None = None
    infrastructure = False
    try:
        _execute(job, running)
    except Exception as exc:  # PapermillExecutionError, CellTimeoutError, DeadKernelError, start-up...
        error = _describe_failure(exc, report, running, job["timeout"], Path(job["notebook"]))
        # the machine failed, not the notebook: an executor may retry these elsewhere
        infrastructure = isinstance(exc, DeadKernelError) or _is_startup_error(exc)
    if error is None:
        if not xlsx.is_file() or not zipfile.is_zipfile(xlsx):
            error = f"{report}: the notebook wrote no valid {xlsx.name} into output_dir"
        else:
            headline, problem = _read_headline(headline_path, list(job.get("headline_keys", ())))
            if problem:
                error = f"{report}: {problem}"
    outputs: list[str] = []
    try:
        if error is None:
            nb = nbformat.read(str(running), as_version=4)
            _normalise(nb, job, f"{report}.ipynb")
            _write_nb(nb, staging / f"{report}.ipynb")
            write_html(nb, html_path, title=job["title"], **job["header"])
            outputs = [f"{report}.xlsx", f"{report}.ipynb", f"{report}.html"]
    except Exception as exc:
        error = f"{report}: writing the outputs failed: {type(exc).__name__}: {exc}"
    if error is not None:
        outputs, headline = keep_failed_notebook(job), None
    running.unlink(missing_ok=True)
    cell_marker(job).unlink(missing_ok=True)
    headline_path.unlink(missing_ok=True)
    return {
        "report": report, "status": "ok" if error is None else "failed",
        "seconds": round(time.monotonic() - started, 2), "outputs": outputs,
        "headline": headline or {}, "error": error, "retry": infrastructure,
    }
