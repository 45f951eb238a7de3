"""The plan sheet a report needs: read it, or say every problem before any kernel starts.

The rules are the loader's (:func:`alliance_fin.inputs.load.load_plan`); here a missing ``plan``
sheet is a problem too, for the reports whose registry entry says ``needs_plan``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from alliance_fin.errors import InputError
from alliance_fin.inputs.load import PLAN_CSV, PLAN_SHEET, load_plan

__all__ = ["check_plan_data", "read_plan"]


def _plan_problems(path: Path | None, assumptions: pd.DataFrame | None = None) -> tuple[pd.DataFrame | None, list[str]]:
    """Read and check the plan of a data file: ``(plan, problems)``; the packaged plan for None.

    The rules are the loader's (:func:`alliance_fin.inputs.load.load_plan`); a file without a
    ``plan`` sheet is a problem here, because this report needs one.
    """
    try:
        plan = load_plan(path, assumptions)
    except InputError as exc:
        return None, list(exc.problems or [exc.message])
    if plan is None:
        kind = "a .csv file holds only the models sheet" if path.suffix.lower() in {".csv", ".txt"} \
            else "the workbook has no sheet of that name"
        return None, [f"{path.name} [{PLAN_SHEET}]: sheet '{PLAN_SHEET}' is missing ({kind}); the report "
                      f"plan_vs_actual needs an .xlsx with a sheet '{PLAN_SHEET}' holding the line-up as "
                      "planned on 27 May 2020, with the columns of 'models'"]
    return plan, []


def read_plan(data_path: str | Path | None = None, assumptions: pd.DataFrame | None = None) -> pd.DataFrame:
    """The validated plan line-up of a data file (the packaged ``plan.csv`` when empty).

    Raises
    ------
    InputError
        No ``plan`` sheet, ids that collide after trimming spaces or case, columns that
        ``models`` does not have, or any other line-up problem (every problem listed).
    """
    path = Path(data_path) if data_path else None
    plan, problems = _plan_problems(path, assumptions)
    if problems or plan is None:
        raise InputError(f"{path.name if path else PLAN_CSV.name}: the plan cannot be used", problems)
    return plan


def check_plan_data(data: str | Path | None) -> list[str]:
    """Every problem of a data file's ``plan`` sheet, for the runner's check before any kernel.

    Remembered per file content (path, size, modification time), so a sweep checks a file once.
    """
    path = Path(data).expanduser().resolve() if data else None
    if path is None or not path.is_file():
        return list(_check_once(None, 0, 0)) if path is None else [f"data file {data}: not found"]
    stat = path.stat()
    return list(_check_once(str(path), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _check_once(path: str | None, size: int, mtime_ns: int) -> tuple[str, ...]:
    try:
        return tuple(_plan_problems(Path(path) if path else None)[1])
    except InputError as exc:
        return tuple(exc.problems or [exc.message])
