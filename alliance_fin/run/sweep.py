"""``alliance-fin sweep GRID.yaml``: many scenarios from one parameter grid, on every core.

A grid file is YAML::

    report: savings            # one report, a list, or "all" (default: all)
    base:                      # parameters every scenario shares (optional)
      currency: EUR
    grid:                      # each parameter's values; every combination is one scenario
      max_saving_rate: [0.30, 0.35, 0.40]
      follower_diff_share: [0.10, 0.20]

Every scenario is planned (and so checked) before any kernel starts; then the scenarios run
``--jobs`` at a time, each an ordinary run bundle in ``OUT/<scenario>/``. ``sweep.csv`` and
``sweep.json`` in ``OUT`` list each scenario's parameters, status and headline figures.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from alliance_fin import paths
from alliance_fin.errors import AllianceFinError, ParameterError
from alliance_fin.run.params import REPORTS, unique_key_loader
from alliance_fin.run.publish import write_text_atomic
from alliance_fin.run.runner import RunPlan, plan_run

MAX_SCENARIOS = 500
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def load_grid(path: str | Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Read a grid file: ``(reports, scenarios)``, one flat parameter dict per scenario.

    Parameters
    ----------
    path : str or Path
        The YAML grid (see the module docstring).

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
    if count > MAX_SCENARIOS:
        raise ParameterError(f"grid file {path}: {count} scenarios; at most {MAX_SCENARIOS} per sweep")
    prefix = _NAME.sub("-", str(base.get("scenario") or path.stem)).strip("-")[:30] or "sweep"
    scenarios = [{**base, **dict(zip(names, combo, strict=True)), "scenario": f"{prefix}-{i:02d}"}
                 for i, combo in enumerate(itertools.product(*(grid[n] for n in names)), start=1)]
    return reports, scenarios


def _override(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"{name}={'true' if value else 'false'}"
    return f"{name}={value}"


def plan_sweep(grid: str | Path, *, data: str | None = None, out: str | None = None, force: bool = False,
               timeout: float | None = None) -> tuple[Path, list[tuple[dict[str, Any], RunPlan]]]:
    """Check the grid and plan every scenario; nothing is written.

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
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"--out {folder}: exists and is not a folder; nothing was written")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise ParameterError(f"--out {folder}: folder exists and is not empty (use --force to replace "
                             "its scenarios); nothing was written")
    plans, problems = [], []
    for params in scenarios:
        try:
            plan = plan_run(reports, data=data, overrides=[_override(k, v) for k, v in params.items()],
                            out=str(folder / params["scenario"]), jobs=len(reports), force=force,
                            timeout=timeout)
            plans.append((params, plan))
        except AllianceFinError as exc:
            problems += [f"{params['scenario']}: {p}" for p in (exc.problems or [exc.message])]
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ParameterError("the sweep was refused: nothing was written", unique)
    return folder, plans


def _summary_rows(plans: list[tuple[dict[str, Any], RunPlan]], codes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for (params, plan), code in zip(plans, codes, strict=True):
        row: dict[str, Any] = {"scenario": params["scenario"], **{k: v for k, v in params.items() if k != "scenario"}}
        row["status"] = "ok" if code == 0 else "failed"
        manifest = plan.out / "manifest.json"
        if manifest.is_file():
            for report, entry in json.loads(manifest.read_text(encoding="utf-8"))["reports"].items():
                for key, value in (entry.get("headline") or {}).items():
                    row[f"{report}.{key}"] = value
        row["folder"] = plan.out.name
        rows.append(row)
    return rows


def run_sweep(grid: str | Path, *, data: str | None = None, out: str | None = None, jobs: int | None = None,
              force: bool = False, timeout: float | None = None) -> int:
    """Plan, then run every scenario of ``grid``, ``jobs`` at a time; print a summary.

    Returns
    -------
    int
        0 when every report of every scenario was written, 1 otherwise.
    """
    folder, plans = plan_sweep(grid, data=data, out=out, force=force, timeout=timeout)
    workers = max(1, jobs or (os.cpu_count() or 1))
    print(f"sweep: {len(plans)} scenario(s), {workers} at a time -> {folder}", file=sys.stderr)
    done = 0

    def one(item: tuple[dict[str, Any], RunPlan]) -> int:
        # each scenario is an ordinary `alliance-fin run` in its own process (already checked above)
        nonlocal done
        params, plan = item
        cmd = [sys.executable, "-m", "alliance_fin", "run", *plan.reports, "--out", str(plan.out),
               "--jobs", str(len(plan.reports)), *itertools.chain.from_iterable(
                   ("-p", _override(k, v)) for k, v in params.items())]
        cmd += ["--data", data] if data else []
        cmd += ["--timeout", str(timeout)] if timeout else []
        cmd += ["--force"] if force else []
        proc = subprocess.run(cmd, capture_output=True, text=True)
        done += 1
        print(f"[{done}/{len(plans)}] {params['scenario']}: {'ok' if proc.returncode == 0 else 'FAILED'}",
              file=sys.stderr)
        if proc.returncode != 0:
            print(proc.stderr.strip()[-2000:], file=sys.stderr)
        return proc.returncode

    with ThreadPoolExecutor(workers) as pool:
        codes = list(pool.map(one, plans))
    rows = _summary_rows(plans, codes)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(folder / "sweep.csv", buffer.getvalue())
    write_text_atomic(folder / "sweep.json", json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    failed = [r["scenario"] for r in rows if r["status"] != "ok"]
    print(f"sweep: {len(rows) - len(failed)} of {len(rows)} scenario(s) ok; summary {folder / 'sweep.csv'}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0
