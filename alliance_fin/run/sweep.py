"""``alliance-fin sweep GRID.yaml``: many scenarios from one parameter grid, on every core.

A grid file is YAML::

    report: savings            # one report, a list, or "all" (default: all)
    base:                      # parameters every scenario shares (optional)
      currency: EUR
    grid:                      # each parameter's values; every combination is one scenario
      max_saving_rate: [0.30, 0.35, 0.40]
      follower_diff_share: [0.10, 0.20]

Every scenario is planned (and so checked) before any kernel starts. A scenario whose bundle in
``OUT/<scenario>/`` is complete and was made from the same package version, notebooks,
parameters and data is skipped (``cached``; ``--force`` reruns it). The report jobs of the other
scenarios go to one executor (the process pool, or Dask with ``--scheduler``); each scenario's
bundle is published as soon as its last report completes, so an interrupted sweep rerun with the
same command finishes only what is missing. ``sweep.csv``, ``sweep.json`` and ``index.html`` in
``OUT`` list each scenario's parameters, status and headline figures.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import yaml

from alliance_fin import paths
from alliance_fin.errors import AllianceFinError, ParameterError
from alliance_fin.files import sha256_file
from alliance_fin.run.executors import make_executor, run_jobs
from alliance_fin.run.manifest import finish_bundle, notebook_hashes
from alliance_fin.run.params import REPORTS, unique_key_loader
from alliance_fin.run.publish import claim_out, release_out, write_text_atomic
from alliance_fin.run.runner import RunPlan, build_jobs, plan_run

MAX_SCENARIOS = 500
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def load_grid(path: str | Path, *, max_scenarios: int = MAX_SCENARIOS) -> tuple[list[str], list[dict[str, Any]]]:
    """Read a grid file: ``(reports, scenarios)``, one flat parameter dict per scenario.

    Parameters
    ----------
    path : str or Path
        The YAML grid (see the module docstring).
    max_scenarios : int
        Refuse grids with more scenarios than this.

    Returns
    -------
    tuple
        Report names, and the scenarios in grid order, each with a ``scenario`` label
        ``<file stem>-NN`` unless the base sets one (then ``<base scenario>-NN``).

    Raises
    ------
    ParameterError
        Unreadable YAML, a missing or empty ``grid``, values that are not lists, too many scenarios.
    """
    path = Path(path)
    try:
        spec = yaml.load(path.read_text(encoding="utf-8"), Loader=unique_key_loader())
    except OSError as exc:
        raise ParameterError(f"grid file {path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"grid file {path}: is not valid YAML ({exc})".replace("\n", " ")) from None
    problems: list[str] = []
    if not isinstance(spec, Mapping):
        raise ParameterError(f"grid file {path}: expected a mapping with 'report', 'base' and 'grid'")
    unknown = set(spec) - {"report", "base", "grid"}
    if unknown:
        problems.append(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: report, base, grid")
    report = spec.get("report", "all")
    reports = [report] if isinstance(report, str) else list(report) if isinstance(report, list) else []
    if not reports or any(not isinstance(r, str) for r in reports):
        problems.append(f"report: expected a report name, a list of names or 'all' (got {report!r})")
    reports = list(REPORTS) if reports == ["all"] else reports
    base = spec.get("base") or {}
    grid = spec.get("grid")
    if not isinstance(base, Mapping):
        problems.append("base: expected a mapping of parameter: value")
    if not isinstance(grid, Mapping) or not grid:
        problems.append("grid: expected a mapping of parameter: [values, ...] with at least one parameter")
    else:
        for name, values in grid.items():
            if not isinstance(values, list) or not values:
                problems.append(f"grid.{name}: expected a non-empty list of values (got {values!r})")
    if problems:
        raise ParameterError(f"grid file {path}: {len(problems)} problem(s)", problems)
    names = list(grid)
    count = 1
    for name in names:
        count *= len(grid[name])
    if count > max_scenarios:
        raise ParameterError(f"grid file {path}: {count} scenarios; at most {max_scenarios} per sweep")
    prefix = _NAME.sub("-", str(base.get("scenario") or path.stem)).strip("-")[:30] or "sweep"
    scenarios = [{**base, **dict(zip(names, combo, strict=True)), "scenario": f"{prefix}-{i:02d}"}
                 for i, combo in enumerate(itertools.product(*(grid[n] for n in names)), start=1)]
    return reports, scenarios


def grid_override(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"{name}={'true' if value else 'false'}"
    return f"{name}={value}"


def check_sweep_folder(folder: Path, labels: set[str], force: bool) -> None:
    """A non-empty ``--out`` must be this sweep's own folder (rerun), unless ``--force``."""
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"--out {folder}: exists and is not a folder; nothing was written")
    if not folder.is_dir() or force:
        return
    own = labels | {"sweep.csv", "sweep.json", "index.html", "sweep.xlsx", "sweep.html"}
    foreign = sorted(p.name for p in folder.iterdir() if p.name not in own and not p.name.startswith("."))
    if foreign:
        raise ParameterError(f"--out {folder}: folder holds files that are not this sweep's "
                             f"({', '.join(foreign[:5])}); use --force to replace its scenarios; nothing was written")


def plan_sweep(grid: str | Path, *, data: str | None = None, out: str | None = None, force: bool = False,
               timeout: float | None = None, specs: Mapping[str, Any] | None = None,
               notebooks_dir: str | Path | None = None) -> tuple[Path, list[tuple[dict[str, Any], RunPlan]]]:
    """Check the grid and plan every scenario; nothing is written.

    Parameters
    ----------
    grid : str or Path
        The grid file.
    data, out, force, timeout
        As for ``alliance-fin sweep``.
    specs, notebooks_dir : optional
        Report specs and their notebooks (default: the package's; tests use fixtures).

    Returns
    -------
    tuple
        The sweep folder and ``(parameters, plan)`` per scenario.

    Raises
    ------
    ParameterError, InputError
        Every problem of every scenario, each prefixed with the scenario's label.
    """
    reports, scenarios = load_grid(grid)
    folder = Path(out).expanduser().resolve() if out else paths.REPORTS_DIR / f"sweep_{Path(grid).stem}"
    check_sweep_folder(folder, {s["scenario"] for s in scenarios}, force)
    plans, problems = [], []
    for params in scenarios:
        try:
            # force: a scenario folder left by an earlier (maybe interrupted) sweep is reused or replaced
            plan = plan_run(reports, data=data, overrides=[grid_override(k, v) for k, v in params.items()],
                            out=str(folder / params["scenario"]), jobs=len(reports), force=True,
                            timeout=timeout, specs=specs, notebooks_dir=notebooks_dir)
            plans.append((params, plan))
        except AllianceFinError as exc:
            problems += [f"{params['scenario']}: {p}" for p in (exc.problems or [exc.message])]
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ParameterError("the sweep was refused: nothing was written", unique)
    return folder, plans


def is_cached(plan: RunPlan) -> bool:
    """True when ``plan.out`` holds a complete bundle made from the same version, notebooks, parameters, data.

    Complete: every report of the plan ``ok`` with each output file present and matching its
    SHA-256 in the manifest, and the index page present.
    """
    from alliance_fin import __version__

    try:
        manifest = json.loads((plan.out / "manifest.json").read_text(encoding="utf-8"))
        same = (manifest.get("alliance_fin_version") == __version__
                and manifest.get("notebooks") == notebook_hashes(plan)
                and manifest.get("parameters") == json.loads(json.dumps({r: plan.parameters[r] for r in plan.reports}))
                and manifest.get("data", {}).get("sha256") == plan.data["sha256"]
                and set(manifest.get("reports", {})) == set(plan.reports)
                and (plan.out / "index.html").is_file())
        if not same:
            return False
        for entry in manifest["reports"].values():
            if entry.get("status") != "ok":
                return False
            for name, sha in entry.get("outputs", {}).items():
                if Path(name).name != name or not (plan.out / name).is_file() or sha256_file(plan.out / name) != sha:
                    return False
        return True
    except (OSError, ValueError, AttributeError, TypeError):
        return False


def _summary_rows(plans: list[tuple[dict[str, Any], RunPlan]], statuses: list[str]) -> list[dict[str, Any]]:
    rows = []
    for (params, plan), status in zip(plans, statuses, strict=True):
        row: dict[str, Any] = {"scenario": params["scenario"], **{k: v for k, v in params.items() if k != "scenario"}}
        row["status"] = status
        manifest = plan.out / "manifest.json"
        if manifest.is_file():
            for report, entry in json.loads(manifest.read_text(encoding="utf-8"))["reports"].items():
                for key, value in (entry.get("headline") or {}).items():
                    row[f"{report}.{key}"] = value
        row["folder"] = plan.out.name
        rows.append(row)
    return rows


def write_summary(folder: Path, rows: list[dict[str, Any]], *, title: str) -> None:
    """``sweep.csv``, ``sweep.json`` and the sweep's ``index.html`` (each written atomically)."""
    from alliance_fin.run.sweep_pages import build_sweep_index

    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(folder / "sweep.csv", buffer.getvalue())
    write_text_atomic(folder / "sweep.json", json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(folder / "index.html", build_sweep_index(rows, title=title))


def _execute(plans: list[tuple[dict[str, Any], RunPlan]], executor: Any, folder: Path,
             stream: TextIO | None) -> dict[str, str]:
    """Run the report jobs of ``plans`` on ``executor``; publish each scenario when its last report is done."""
    stagings: dict[str, Path] = {}
    statuses: dict[str, str] = {}
    try:
        jobs, pending, results = [], {}, {}
        for params, plan in plans:
            label = params["scenario"]
            stagings[label] = Path(tempfile.mkdtemp(prefix=f".{label}.staging-", dir=folder))
            jobs += build_jobs(plan, stagings[label], key_prefix=f"{label}/")
            pending[label], results[label] = plan, {}
        for result in run_jobs(executor, jobs, stream):
            label = result["key"].split("/", 1)[0]
            results[label][result["report"]] = result
            plan = pending[label]
            if len(results[label]) == len(plan.reports):
                ordered = [results[label][r] for r in plan.reports]
                finish_bundle(plan, ordered, stagings.pop(label))
                statuses[label] = "ok" if all(r["status"] == "ok" for r in ordered) else "failed"
        return statuses
    finally:
        for staging in stagings.values():
            shutil.rmtree(staging, ignore_errors=True)


def run_sweep(grid: str | Path, *, data: str | None = None, out: str | None = None, jobs: int | None = None,
              force: bool = False, timeout: float | None = None, scheduler: str | None = None,
              specs: Mapping[str, Any] | None = None, notebooks_dir: str | Path | None = None,
              stream: TextIO | None = sys.stderr, engine: str = "warm") -> int:
    """Plan every scenario of ``grid``, skip the cached ones, run the rest; print a summary.

    Parameters
    ----------
    grid : str or Path
        The grid file.
    data, out, jobs, force, timeout, scheduler
        As for ``alliance-fin sweep`` (``jobs``: scenarios at once on the process pool or a
        ``local`` cluster, each with one slot per report).
    engine : str
        ``warm`` (one zygote for the whole sweep) or ``kernel``; the process pool only.
    specs, notebooks_dir : optional
        Report specs and notebooks (default: the package's).
    stream : text stream or None
        Progress lines.

    Returns
    -------
    int
        0 when every report of every scenario was written (or cached), 1 otherwise.

    Raises
    ------
    ParameterError, InputError
        A refused grid, scenario or ``--scheduler``: nothing was written.
    """
    from alliance_fin.run.zygote_client import start_for

    zygote = start_for(engine, scheduler)  # its imports overlap planning
    try:
        folder, plans = plan_sweep(grid, data=data, out=out, force=force, timeout=timeout, specs=specs,
                                   notebooks_dir=notebooks_dir)
    except BaseException:
        if zygote is not None:
            zygote.close()
        raise
    todo = [(params, plan) for params, plan in plans if force or not is_cached(plan)]
    if not todo and zygote is not None:  # everything cached: no kernel needed
        zygote.close()
        zygote = None
    statuses = {params["scenario"]: "cached" for params, _ in plans}
    width = max(len(plan.reports) for _, plan in plans)
    slots = max(1, jobs or (os.cpu_count() or 1)) * width
    executor = None
    if todo:  # connect to (and check) a cluster before anything is written
        first = todo[0][1]
        executor = make_executor(scheduler, slots=slots, timeout=first.timeout, data=first.data,
                                 notebooks={first.specs[r].notebook: first.notebooks_dir / first.specs[r].notebook
                                            for _, plan in todo for r in plan.reports}, engine=engine,
                                 zygote=zygote)
    where = f"Dask {scheduler}" if scheduler else f"{slots} report(s) at a time"
    print(f"sweep: {len(plans)} scenario(s), {len(plans) - len(todo)} cached, {len(todo)} to run on {where} "
          f"-> {folder}", file=sys.stderr)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = claim_out(folder, force=True)  # one sweep at a time writes this folder
    except OSError as exc:
        if executor is not None:
            executor.close()
        raise ParameterError(f"--out {folder}: cannot write there ({exc.strerror or exc}); nothing was written") from None
    except BaseException:
        if executor is not None:
            executor.close()
        raise
    try:
        for params, _ in todo:
            statuses[params["scenario"]] = "failed"  # until its bundle is published
        if todo:
            statuses.update(_execute(todo, executor, folder, stream))
        rows = _summary_rows(plans, [statuses[p["scenario"]] for p, _ in plans])
        write_summary(folder, rows, title=f"Sweep {Path(grid).name}")
    finally:
        if executor is not None:
            executor.close()
        release_out(folder, lock)
    failed = [r["scenario"] for r in rows if r["status"] == "failed"]
    cached = sum(r["status"] == "cached" for r in rows)
    print(f"sweep: {len(rows) - len(failed)} of {len(rows)} scenario(s) ok ({cached} cached); "
          f"summary {folder / 'sweep.csv'}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0
