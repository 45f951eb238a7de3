"""Read line-ups and assumptions (CSV or XLSX), validate them, return typed frames.

Every problem in a file is collected and raised at once as one :class:`InputError`, each
naming the file, sheet, row (as numbered in Excel: the header is row 1), column, value and
rule. Nothing here calculates or writes reports.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from alliance_fin import paths
from alliance_fin.errors import InputError
from alliance_fin.files import sha256_file
from alliance_fin.inputs import bounds
from alliance_fin.inputs.read import MODELS_SHEET, read_csv, read_table
from alliance_fin.inputs.read import cell_text as cell_text  # re-exported: the readers live in inputs/read.py
from alliance_fin.inputs.rules import Problem, cell_problems, cross_row_problems, excel_row
from alliance_fin.inputs.schema import (
    FLOAT_COLUMNS,
    INT_COLUMNS,
    OPTIONAL_COLUMNS,
    PROVENANCE_SUFFIX,
    REQUIRED_COLUMNS,
    as_flags,
    cells_pass,
    lineup_schema,
)

PLAN_SHEET = "plan"
ASSUMPTIONS_SHEET = "assumptions"
#: The packaged line-up as planned on 27 May 2020 (the ``plan`` sheet of the packaged data).
PLAN_CSV = paths.DATA_DIR / "plan.csv"


# --------------------------------------------------------------------------- line-up
def _check_columns(frame: pd.DataFrame, where: str) -> list[str]:
    problems = []
    columns = list(frame.columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        problems.append(f"{where}: missing required column(s): {', '.join(missing)}")
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    # pandas renames a repeated header 'brand' to 'brand.1': report the repeat, not a new column
    repeats = {c: m.group(1) for c in columns if (m := re.fullmatch(r"(.+)\.\d+", c)) and m.group(1) in columns}
    unknown = [c for c in columns if c not in known and c not in repeats and not c.endswith(PROVENANCE_SUFFIX)]
    if unknown:
        problems.append(
            f"{where}: unknown column(s): {', '.join(map(repr, unknown))}; allowed are the required "
            f"columns, {', '.join(OPTIONAL_COLUMNS)} and provenance columns ending in '{PROVENANCE_SUFFIX}'"
        )
    dupes = sorted({c for c in columns if columns.count(c) > 1} | set(repeats.values()))
    if dupes:
        problems.append(f"{where}: column(s) appear twice: {', '.join(dupes)}")
    return problems


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in INT_COLUMNS:  # lenient: bad cells become <NA>; they were reported already
        out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    for col in FLOAT_COLUMNS:
        if col in out:
            out[col] = pd.to_numeric(out[col].replace("", float("nan")), errors="coerce").astype("float64")
    if "dev_cost_eur_m" not in out:
        out["dev_cost_eur_m"] = float("nan")
    out["common_platform"] = as_flags(out["common_platform"]) if "common_platform" in out else False
    out["trim"] = out["trim"].str.strip().str.lower().replace("", "no") if "trim" in out else "no"
    for col in ("plant", "body", "source", "notes"):
        if col not in out:
            out[col] = ""
    return out


def validate_lineup(frame: pd.DataFrame, where: str = "line-up",
                    segments: set[str] | None = None) -> pd.DataFrame:
    """Validate a raw all-text line-up frame and return it typed.

    Parameters
    ----------
    frame : DataFrame
        One row per model, every cell a ``str`` (``""`` for empty), columns as in
        :data:`alliance_fin.inputs.schema.REQUIRED_COLUMNS` plus optional ones.
    where : str
        Label of the source used in messages, e.g. ``"lineup.xlsx [models]"``.
    segments : set of str, optional
        Segments with cost assumptions; a model of another segment needs ``dev_cost_eur_m``.

    Returns
    -------
    DataFrame
        Same rows; ``launch_year``/``end_year`` int64, ``annual_volume``/``dev_cost_eur_m``
        float64 (EUR m; NaN = segment default), ``common_platform`` bool, text columns ``str``.

    Raises
    ------
    InputError
        Listing every problem found.
    """
    if frame.empty:
        problems = _check_columns(frame, where)
        raise InputError(f"{where}: no models (the sheet has a header but no rows)", problems)
    problems = _check_columns(frame, where)
    if problems:
        raise InputError(f"{where}: {len(problems)} problem(s) with the columns", problems)
    frame = frame.reset_index(drop=True).astype(str)
    typed, found = lineup_problems(frame, segments)
    problems += [p.render(where) for p in found]
    if problems:
        raise InputError(f"{where}: {len(problems)} problem(s) found", problems)
    for col in INT_COLUMNS:
        typed[col] = typed[col].astype("int64")
    return typed


def lineup_problems(frame: pd.DataFrame, segments: set[str] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Every cell and cross-row problem of a raw all-text line-up with the known columns.

    Returns
    -------
    tuple
        ``(typed, problems)``: the frame typed leniently (bad cells ``<NA>``) and the
        :class:`~alliance_fin.inputs.rules.Problem` list, rows as the frame's index labels.
    """
    problems: list[Problem] = []
    if not cells_pass(frame):  # pandera describes the problems (cells_pass: none, the usual case)
        import pandera.pandas as pa

        try:
            lineup_schema(list(frame.columns)).validate(frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            problems += cell_problems(err, frame)
    typed = _typed(frame)
    return typed, problems + cross_row_problems(typed, segments)


def load_lineup(path: str | Path | None = None, assumptions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Load and validate a line-up; the packaged Alliance line-up when ``path`` is None.

    Parameters
    ----------
    path : str or Path, optional
        ``.xlsx`` with a sheet ``models`` or a ``.csv`` with the same columns.
    assumptions : DataFrame, optional
        The assumptions in force (default: :func:`load_assumptions` of the same file), used to
        know which segments have cost assumptions.

    Returns
    -------
    DataFrame
        One row per model (RangeIndex), columns as :func:`validate_lineup` returns.
    """
    path = Path(path) if path else paths.LINEUP_CSV
    frame, where = read_table(path, MODELS_SHEET, required=True)
    if assumptions is None:
        assumptions = load_assumptions(path if path != paths.LINEUP_CSV else None)
    return validate_lineup(frame, where, _segments(assumptions))


def _segments(assumptions: pd.DataFrame) -> set[str]:
    return {k.removeprefix("dev_cost_eur_m_") for k in assumptions.index if k.startswith("dev_cost_eur_m_")}


def excel_column(index: int) -> str:
    """The Excel letters of 0-based column ``index`` (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def load_plan(path: str | Path | None = None, assumptions: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Load and validate the line-up as planned (sheet ``plan``); the packaged plan when ``path`` is None.

    The plan has the columns of ``models`` (a subset of them) and is checked with the same
    cell and cross-row rules: ids unique after trimming spaces and ignoring case, one leader per
    family, ``replaces`` naming a planned model of the same member without cycles,
    ``scheme_since`` not after launch. Problems name the sheet ``plan``, the row and the column.

    Parameters
    ----------
    path : str or Path, optional
        ``.xlsx`` with sheets ``models`` and (optionally) ``plan``; a ``.csv`` has no plan sheet.
    assumptions : DataFrame, optional
        The assumptions in force (default: :func:`load_assumptions` of the same file), for the
        segments with cost assumptions.

    Returns
    -------
    DataFrame or None
        One row per planned model (RangeIndex), columns and dtypes as :func:`validate_lineup`
        returns; ``None`` when the file has no ``plan`` sheet.

    Raises
    ------
    InputError
        Listing every problem of the plan sheet.
    """
    if path is None:
        path, models_path = PLAN_CSV, paths.LINEUP_CSV
        frame, where = read_csv(path, path.read_bytes()[:8]), f"{path.name} [{PLAN_SHEET}]"
    else:
        path = models_path = Path(path)
        frame, where = read_table(path, PLAN_SHEET, required=False)
        if frame is None:
            return None
    models, _ = read_table(models_path, MODELS_SHEET, required=False)
    if models is not None:
        extra = [c for c in frame.columns if c not in models.columns]
        if extra:
            header = list(frame.columns)  # the header is row 1; name each column where it stands
            raise InputError(f"{where}: {len(extra)} problem(s) with the columns", [
                f"{where} row 1, column {c!r} ({excel_column(header.index(c))}): not in sheet '{MODELS_SHEET}'; "
                f"the plan has the columns of '{MODELS_SHEET}'" for c in extra])
    if assumptions is None:
        assumptions = load_assumptions(None if path == PLAN_CSV else path)
    return validate_lineup(frame, where, _segments(assumptions))


def load_inputs(path: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """A file's line-up, assumptions and plan, reporting the problems of every sheet at once.

    Returns
    -------
    tuple
        ``(lineup, assumptions, plan)`` as :func:`load_data` and :func:`load_plan` return them
        (``plan`` None when the file has no plan sheet).

    Raises
    ------
    InputError
        Every problem of ``models``, ``assumptions`` and ``plan``.
    """
    problems: list[str] = []
    try:
        assumptions = load_assumptions(path)
    except InputError as exc:
        problems += [exc.message, *exc.problems]
        assumptions = _packaged_assumptions()

    def attempt(load):
        try:
            return load(path, assumptions=assumptions)
        except InputError as exc:
            problems.extend([exc.message, *exc.problems])
            return None

    lineup, plan = attempt(load_lineup), attempt(load_plan)
    if problems:
        raise InputError(f"{path or paths.LINEUP_CSV}: the input has problems", problems)
    return lineup, assumptions, plan


# --------------------------------------------------------------------------- assumptions
#: Assumptions whose value is a ``;``-separated list of names, not a number (read by
#: :func:`load_text_assumptions`; left out of :func:`load_assumptions` so values stay numeric).
TEXT_ASSUMPTIONS = ("cmf_platforms",)


def _packaged_assumptions() -> pd.DataFrame:
    frame = pd.read_csv(paths.ASSUMPTIONS_CSV, dtype=str, keep_default_na=False)
    frame = frame[~frame["key"].isin(TEXT_ASSUMPTIONS)].copy()
    frame["value"] = frame["value"].astype(float)
    return frame.set_index("key")


def load_text_assumptions() -> dict[str, tuple[str, ...]]:
    """The packaged list-valued assumptions, e.g. ``{"cmf_platforms": ("CMF-A", ...)}``.

    Stored in ``assumptions.csv`` like the others (with unit, provenance, source), the value a
    ``;``-separated list; names stripped of surrounding spaces.
    """
    frame = pd.read_csv(paths.ASSUMPTIONS_CSV, dtype=str, keep_default_na=False)
    rows = frame[frame["key"].isin(TEXT_ASSUMPTIONS)]
    return {str(k): tuple(n.strip() for n in str(v).split(";") if n.strip())
            for k, v in zip(rows["key"], rows["value"], strict=True)}


def load_assumptions(path: str | Path | None = None) -> pd.DataFrame:
    """The packaged assumptions, overridden by a workbook's optional ``assumptions`` sheet.

    Returns
    -------
    DataFrame
        Index ``key``; columns ``value`` (float), ``unit``, ``provenance``, ``source``,
        ``description``. Overridden keys get provenance ``input file``.
    """
    base = _packaged_assumptions()
    if path is None:
        return base
    path = Path(path)
    sheet, where = read_table(path, ASSUMPTIONS_SHEET, required=False)
    if sheet is None or sheet.empty:
        return base
    problems = []
    for col in ("key", "value"):
        if col not in sheet.columns:
            problems.append(f"{where}: missing column '{col}' (the sheet needs key and value)")
    if problems:
        raise InputError(f"{where}: {len(problems)} problem(s) found", problems)
    out = base.copy()
    for i, rec in sheet.iterrows():
        key, value = rec["key"].strip(), rec["value"].strip()
        if key == "" and value == "":
            continue
        if key not in base.index:
            close = difflib.get_close_matches(key, list(base.index), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{where} row {excel_row(i)}, column 'key': unknown assumption {key!r}{hint}")
            continue
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        rule = bounds.check(key, number)
        if rule:
            problems.append(f"{where} row {excel_row(i)}, column 'value': value {value!r} for {key} must be {rule}")
            continue
        if number == base.loc[key, "value"]:
            continue  # same as the default: keep the default's provenance
        out.loc[key, "value"] = number
        out.loc[key, "provenance"] = "input file"
        out.loc[key, "source"] = path.name
    if problems:
        raise InputError(f"{where}: {len(problems)} problem(s) found", problems)
    return out


def load_data(path: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load a file's line-up and assumptions together, reporting the problems of both at once.

    A broken ``assumptions`` sheet does not hide the problems of ``models``: the line-up is then
    checked against the packaged assumptions, and both lists are raised together.

    Parameters
    ----------
    path : str or Path, optional
        ``.xlsx`` or ``.csv``; the packaged data when None.

    Returns
    -------
    tuple of DataFrame
        ``(lineup, assumptions)`` as :func:`load_lineup` and :func:`load_assumptions` return them.

    Raises
    ------
    InputError
        Every problem of both sheets.
    """
    problems: list[str] = []
    try:
        frame = load_assumptions(path)
    except InputError as exc:
        problems += [exc.message, *exc.problems]
        frame = _packaged_assumptions()
    try:
        lineup = load_lineup(path, assumptions=frame)
    except InputError as exc:
        problems += [exc.message, *exc.problems]
        lineup = None
    if problems:
        raise InputError(f"{path or paths.LINEUP_CSV}: the input has problems", problems)
    return lineup, frame


def assumption_values(frame: pd.DataFrame) -> dict[str, float]:
    """``{key: value}`` from an assumptions frame, for the calculation engines.

    Parameters
    ----------
    frame : DataFrame
        As :func:`load_assumptions` returns (index ``key``, column ``value``).

    Returns
    -------
    dict of str -> float
    """
    return {str(k): float(v) for k, v in frame["value"].items()}


def load_sources() -> pd.DataFrame:
    """Source key -> URL table (index ``key``; columns ``url``, ``note``)."""
    return pd.read_csv(paths.SOURCES_CSV, dtype=str, keep_default_na=False).set_index("key")


def load_families() -> pd.DataFrame:
    """Family labels of the packaged line-up (index ``family_id``)."""
    return pd.read_csv(paths.FAMILIES_CSV, dtype=str, keep_default_na=False).set_index("family_id")


def file_sha256(path: str | Path | None) -> str:
    """SHA-256 of a data file (the packaged line-up when None)."""
    return sha256_file(path or paths.LINEUP_CSV)


def describe_data(path: str | Path | None, lineup: pd.DataFrame) -> Mapping[str, object]:
    """``{"path", "sha256", "rows"}`` for manifests and covers."""
    return {"path": str(path or paths.LINEUP_CSV), "sha256": file_sha256(path), "rows": int(len(lineup))}
