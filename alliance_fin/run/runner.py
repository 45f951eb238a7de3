"""``alliance-fin run``: check everything, execute the report notebooks in parallel, publish a bundle.

Three steps. :func:`plan_run` validates report names, parameters, the data file and the output
folder and raises ``ParameterError``/``InputError`` with every problem before anything is
written. :func:`execute_plan` stages all outputs in a hidden folder beside the target, runs one
worker process per report (each with its own IPC kernel, see :mod:`alliance_fin.run.execute`),
writes ``manifest.json`` and ``index.html`` and moves the files into place
(:mod:`alliance_fin.run.manifest`). :func:`run_cli` is
what the CLI calls.
"""

from __future__ import annotations

import difflib
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from alliance_fin import paths
from alliance_fin.errors import InputError, ParameterError
from alliance_fin.files import sha256_file
from alliance_fin.inputs.ids import parse_ids
from alliance_fin.run.executors import ENGINES, KILL_GRACE_S, Executor, ProcessPool, make_executor, run_jobs
from alliance_fin.run.manifest import finish_bundle, parameters_hash
from alliance_fin.run.params import REPORT_SPECS, ReportSpec, load_params_file, parse_overrides, resolve_params
from alliance_fin.run.publish import claim_out, release_out

__all__ = ["DEFAULT_TIMEOUT_S", "KILL_GRACE_S", "RunPlan", "RunResult", "execute_plan", "format_summary",
           "plan_run", "run_cli", "run_reports"]

DEFAULT_TIMEOUT_S = 600.0


@dataclass
class RunPlan:
    """Everything checked and resolved; executing it is the only thing left."""

    reports: list[str]
    specs: Mapping[str, ReportSpec]
    notebooks_dir: Path
    parameters: dict[str, dict[str, Any]]
    data: dict[str, Any]  # path (str), sha256, rows, label, inject ('' = packaged)
    out: Path
    force: bool
    jobs: int
    timeout: float
    run_id: str
    created: str
    reproducible: bool
    engine: str = "warm"  # "warm" (report processes forked from a zygote) or "kernel" (fresh kernels)
    #: Parameters whose values differ from the defaults (spec, then the data file's assumptions),
    #: ``scenario`` aside; named in the folder (a short hash), the manifest and the covers.
    parameters_differ: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """The outcome of a run: one result dict per report (see ``run_report_job``)."""

    out: Path
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every report was written, 1 when any failed."""
        return 0 if all(r["status"] == "ok" for r in self.results) else 1


# -- planning: all checks, nothing written ---------------------------------------------------


def _created() -> tuple[datetime, bool]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC), True
        except (ValueError, OverflowError, OSError):
            raise InputError(f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds") from None
    return datetime.now(UTC).replace(microsecond=0), False


def check_data(data: str | None) -> tuple[dict[str, Any], dict[str, float], list[str]]:
    """Validate the data file with load.py; return data info, assumption values, problems.

    Results are remembered per file content (path, size, modification time), so a sweep of
    many scenarios over one file validates it once.
    """
    path = Path(data).expanduser().resolve() if data else paths.LINEUP_CSV
    if data and not path.is_file():
        return {}, {}, [f"data file {data}: not found"]
    stat = path.stat()
    info, values, problems = _check_data_once(data, str(path), stat.st_size, stat.st_mtime_ns)
    return dict(info), dict(values), list(problems)


@functools.lru_cache(maxsize=8)
def _check_data_once(data: str | None, resolved: str, size: int, mtime_ns: int):
    path = Path(resolved)
    info: dict[str, Any] = {"path": str(path), "sha256": sha256_file(path), "rows": None,
                            "inject": str(path) if data else "", "label": str(data) if data else "packaged default line-up"}
    from alliance_fin.inputs import load

    try:
        lineup, frame = load.load_data(path if data else None)
    except InputError as exc:
        return info, {}, list(dict.fromkeys(exc.problems or [exc.message]))
    except Exception as exc:  # an unreadable file the loader did not anticipate
        return info, {}, [f"data file {data}: cannot be read ({type(exc).__name__}: {exc})"]
    info["rows"] = int(len(lineup))
    info["model_ids"] = tuple(lineup["model_id"])
    return info, load.assumption_values(frame), []


def _check_model_ids(parameters: Mapping[str, Mapping[str, Any]], known: Sequence[str] | None) -> list[str]:
    """``keep``/``cut`` must name models of the line-up (checked before any kernel starts)."""
    if not known:
        return []
    problems = []
    for report, values in parameters.items():
        for key in ("keep", "cut"):
            ids = parse_ids(values.get(key))
            unknown = [i for i in ids if i not in set(known)]
            for model_id in unknown:
                close = difflib.get_close_matches(model_id, list(known), n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                problems.append(f"{key} ({report}): model id {model_id!r} is not in the line-up{hint}")
    return list(dict.fromkeys(problems))


def parameters_differ(parameters: Mapping[str, Mapping[str, Any]],
                      defaults: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``{name: value}`` of every parameter (``scenario`` aside) whose resolved value is not its default."""
    differ: dict[str, Any] = {}
    for report, values in parameters.items():
        for name, value in values.items():
            if name != "scenario" and defaults.get(report, {}).get(name, value) != value:
                differ.setdefault(name, value)
    return dict(sorted(differ.items()))


def _run_name(stamp: str, scenario: str, differ: Mapping[str, Any]) -> str:
    """``<timestamp>_<scenario>``, with ``-<hash>`` when parameters differ from the defaults: a run of
    ``-p max_saving_rate=0.3`` is not labelled as the base."""
    return f"{stamp}_{scenario}-{parameters_hash(differ)}" if differ else f"{stamp}_{scenario}"


def _check_out(out: str | None, force: bool, name: str) -> tuple[Path, list[str]]:
    if out is None:
        target = paths.REPORTS_DIR / name
        n = 2
        while target.exists():
            target = paths.REPORTS_DIR / f"{name}-{n}"
            n += 1
        return target, []
    target = Path(out).expanduser().resolve()
    if target.exists() and not target.is_dir():
        return target, [f"--out {out}: exists and is not a folder"]
    if target.is_dir() and any(target.iterdir()) and not force:
        return target, [f"--out {out}: folder exists and is not empty (use --force to replace its reports)"]
    ancestor = target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        return target, [f"--out {out}: cannot create folders in {ancestor}"]
    return target, []


def plan_run(
    reports: Sequence[str],
    *,
    data: str | None = None,
    params_file: str | None = None,
    overrides: Sequence[str] = (),
    out: str | None = None,
    jobs: int | None = None,
    force: bool = False,
    timeout: float | None = None,
    specs: Mapping[str, ReportSpec] | None = None,
    notebooks_dir: str | Path | None = None,
    engine: str = "warm",
) -> RunPlan:
    """Check every input of a run, without writing anything or starting a kernel.

    Raises
    ------
    InputError
        The data file is missing or invalid (its problems listed), or ``SOURCE_DATE_EPOCH`` is bad;
        other problems found at the same time are listed too.
    ParameterError
        Unknown reports, bad parameters, a bad ``--out``, ``--jobs`` or ``--timeout``.
    """
    specs = REPORT_SPECS if specs is None else specs
    # absolute: a report process works in its staging folder
    notebooks_dir = (Path(notebooks_dir).expanduser() if notebooks_dir is not None else paths.NOTEBOOKS_DIR).resolve()
    problems: list[str] = []
    names = list(dict.fromkeys(reports)) if reports else ["all"]
    unknown = [r for r in names if r != "all" and r not in specs]
    for name in unknown:
        close = difflib.get_close_matches(name, [*specs, "all"], n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        problems.append(f"unknown report {name}{hint}: choose from {', '.join(specs)} or all")
    selected = list(specs) if "all" in names else [r for r in names if r in specs]
    for r in selected:
        if not (notebooks_dir / specs[r].notebook).is_file():
            problems.append(f"{r}: notebook {notebooks_dir / specs[r].notebook} not found")
    if jobs is not None and jobs < 1:
        problems.append(f"--jobs {jobs}: expected a whole number >= 1")
    if timeout is not None and not timeout > 0:
        problems.append(f"--timeout {timeout}: expected a number of seconds > 0")
    if engine not in ENGINES:
        problems.append(f"--engine {engine}: choose from {', '.join(ENGINES)}")

    data_info, assumptions, data_problems = check_data(data)
    if any(specs[r].needs_plan for r in selected) and not data_problems:
        # a report that compares with the plan reads the data's `plan` sheet too: refuse a missing or bad one here
        from alliance_fin.inputs.plan import check_plan_data

        data_problems = [f"{r}: {p}" for r in selected if specs[r].needs_plan for p in check_plan_data(data)]
    parameters: dict[str, dict[str, Any]] = {}
    try:
        file_values = load_params_file(params_file) if params_file else {}
        parameters = resolve_params(selected, file_values, parse_overrides(overrides),
                                    specs=specs, data_defaults=assumptions)
    except ParameterError as exc:
        problems += exc.problems or [exc.message]
    problems += _check_model_ids(parameters, data_info.get("model_ids"))
    differ: dict[str, Any] = {}
    if parameters and not problems:
        differ = parameters_differ(parameters, resolve_params(selected, {}, {}, specs=specs,
                                                              data_defaults=assumptions))
    created_dt, reproducible = _created()
    scenario = next((p["scenario"] for p in parameters.values() if "scenario" in p), "run")
    stamp = created_dt.strftime("%Y%m%d-%H%M%S")
    name = _run_name(stamp, scenario, differ)
    target, out_problems = _check_out(out, force, name)
    problems += out_problems
    if data_problems:
        raise InputError("the run was refused: nothing was written", data_problems + problems)
    if problems:
        raise ParameterError("the run was refused: nothing was written", problems)
    return RunPlan(
        reports=selected, specs=specs, notebooks_dir=notebooks_dir, parameters=parameters,
        data=data_info, out=target, force=force,
        # kernels spend much of their start-up waiting, so up to 2 per core overlap well (docs/performance.md)
        jobs=min(jobs or 2 * (os.cpu_count() or 1), len(selected)) or 1,
        timeout=float(timeout or DEFAULT_TIMEOUT_S), run_id=name,
        created=created_dt.isoformat().replace("+00:00", "Z"), reproducible=reproducible, engine=engine,
        parameters_differ=differ,
    )


# -- execution ---------------------------------------------------------------------------------


def build_jobs(plan: RunPlan, staging: Path, key_prefix: str = "") -> list[dict[str, Any]]:
    header = {"scenario": "", "run_id": plan.run_id, "created": plan.created,
              "data_file": os.path.basename(str(plan.data["label"])), "data_sha256": str(plan.data.get("sha256", ""))}
    env = {k: os.environ[k] for k in ("SOURCE_DATE_EPOCH",) if k in os.environ}  # for workers elsewhere
    jobs = []
    for r in plan.reports:
        spec = plan.specs[r]
        params = dict(plan.parameters[r])
        params.update(data_path=plan.data["inject"], output_dir=str(staging), run_id=plan.run_id,
                      created=plan.created)
        jobs.append({
            "report": r, "notebook": str(plan.notebooks_dir / spec.notebook), "parameters": params,
            "staging": str(staging), "final_dir": str(plan.out), "timeout": plan.timeout,
            "title": spec.title, "headline_keys": list(spec.headline_keys),
            "header": {**header, "scenario": str(plan.parameters[r].get("scenario", ""))},
            "reproducible": plan.reproducible, "key": f"{key_prefix}{r}", "env": env,
        })
    return jobs


def claim_staging(plan: RunPlan) -> tuple[int, Path]:
    """Lock ``plan.out`` and make its staging folder beside it: ``(lock fd, staging)``.

    Raises
    ------
    ParameterError
        ``--out`` cannot be written, or another run holds it; nothing was written.
    """
    try:
        plan.out.parent.mkdir(parents=True, exist_ok=True)
        lock = claim_out(plan.out, force=plan.force)
    except OSError as exc:
        raise ParameterError(f"--out {plan.out}: cannot write there ({exc.strerror or exc}); nothing was written") from None
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{plan.out.name}.staging-", dir=plan.out.parent))
    except OSError as exc:
        release_out(plan.out, lock)
        raise ParameterError(f"--out {plan.out}: cannot write there ({exc.strerror or exc}); nothing was written") from None
    return lock, staging


def execute_plan(plan: RunPlan, *, stream: TextIO | None = sys.stderr, executor: Executor | None = None) -> RunResult:
    """Run every report of ``plan``, write the manifest and index page, publish the bundle.

    Parameters
    ----------
    plan : RunPlan
        From :func:`plan_run`.
    stream : text stream or None
        Progress lines (and the bar on a terminal).
    executor : Executor, optional
        Where the jobs run (see :mod:`alliance_fin.run.executors`); default a
        :class:`~alliance_fin.run.executors.ProcessPool` of ``plan.jobs`` slots. A given executor
        is not closed here.

    Staging and kernel folders are removed on success, on failure and on KeyboardInterrupt;
    kernels are shut down by their workers, or killed with them.
    """
    lock, staging = claim_staging(plan)
    own = executor is None
    try:
        if executor is None:
            executor = ProcessPool(plan.jobs, plan.timeout, engine=plan.engine)
        jobs = build_jobs(plan, staging)
        done = {res["key"]: res for res in run_jobs(executor, jobs, stream)}
        results = [done[job["key"]] for job in jobs]
        finish_bundle(plan, results, staging)
        return RunResult(plan.out, results)
    finally:
        if own and executor is not None:
            executor.close()
        shutil.rmtree(staging, ignore_errors=True)
        release_out(plan.out, lock)


def run_reports(reports: Sequence[str], *, stream: TextIO | None = sys.stderr, **options: Any) -> RunResult:
    """:func:`plan_run` then :func:`execute_plan` (options as for :func:`plan_run`)."""
    return execute_plan(plan_run(reports, **options), stream=stream)


def format_summary(result: RunResult) -> str:
    """The final table: report, status, seconds, outputs; then every error message."""
    rows = [("report", "status", "seconds", "outputs")] + [
        (r["report"], r["status"], f"{r['seconds']:.1f}", " ".join(r["outputs"])) for r in result.results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}" for a, b, c, d in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines += [f"error: {r['error']}" for r in result.results if r.get("error")]
    lines.append(f"bundle: {result.out}")
    return "\n".join(lines)


def run_cli(
    reports: list[str],
    *,
    data: str | None,
    params_file: str | None,
    overrides: list[str],
    out: str | None,
    jobs: int | None,
    force: bool,
    timeout: float | None,
    scheduler: str | None = None,
    engine: str = "warm",
    zygote: Any = None,
) -> int:
    """Entry point of ``alliance-fin run``: progress on stderr, summary on stdout.

    ``zygote``: a :class:`~alliance_fin.run.zygote_client.Zygote` the caller started (the CLI
    starts it before importing this module); it belongs to the run from then on. Without one,
    the warm engine starts its own here.

    Returns
    -------
    int
        0 when every report was written, 1 when any report failed.

    Raises
    ------
    InputError, ParameterError
        Refusals (exit 2 in the CLI), an unreachable ``scheduler`` or workers that differ from
        this client included; nothing has been written.
    """
    if zygote is None:
        from alliance_fin.run.zygote_client import start_for

        zygote = start_for(engine, scheduler)
    executor: Executor | None = None
    try:
        plan = plan_run(reports, data=data, params_file=params_file, overrides=overrides, out=out,
                        jobs=jobs, force=force, timeout=timeout, engine=engine)
        if scheduler:  # connect and check the workers before anything is written
            executor = make_executor(scheduler, slots=plan.jobs, timeout=plan.timeout, data=plan.data,
                                     notebooks={plan.specs[r].notebook: plan.notebooks_dir / plan.specs[r].notebook
                                                for r in plan.reports}, engine=plan.engine)
        else:
            executor = ProcessPool(plan.jobs, plan.timeout, engine=plan.engine, zygote=zygote)
        result = execute_plan(plan, stream=sys.stderr, executor=executor)
    finally:
        if executor is not None:
            executor.close()
        elif zygote is not None:  # refused: stop it before exit 2
            zygote.close()
    print(format_summary(result))
    return result.exit_code
