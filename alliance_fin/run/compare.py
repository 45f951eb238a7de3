"""``alliance-fin compare``: two or more run bundles side by side.

Figures come from what the bundles hold, never from a rerun: the headline figures from each
``manifest.json`` and the per-member figures from the workbooks' summary sheets (every block
headed ``member``), read with openpyxl. Formula cells are read through their cached values;
a workbook without them (written before cached values existed) is recalculated by LibreOffice
in a private folder first, and when LibreOffice is missing its per-member figures are left
out with a note. The change is always against the first run: absolute and in %.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from alliance_fin.errors import InputError, ReportError
from alliance_fin.files import sha256_file, write_atomic
from alliance_fin.paths import REPORTS_DIR
from alliance_fin.registry import REPORT_SPECS, REPORTS
from alliance_fin.run.bundle import Bundle, format_parameter, load_bundle, readable_key, report_title, summary_sheets
from alliance_fin.run.print_tools import find_soffice, recalculate_xlsx

__all__ = ["Comparison", "CompareResult", "build_comparison", "change_columns", "write_compare"]


@dataclass
class Comparison:
    """Everything ``compare`` shows.

    Attributes
    ----------
    labels : list of str
        One label per run (its folder name, or run id, made unique), first = the reference.
    bundles : list of Bundle
    headline : DataFrame
        Columns ``report``, ``figure`` (readable), ``key``, one column per label, then
        ``change <label>`` and ``change % <label>`` for every run after the first.
    differences : DataFrame
        Parameters, data and version that differ: ``report``, ``item``, one column per label.
    members : DataFrame
        Per-member figures: ``report``, ``sheet``, ``member``, ``figure``, ``key``, one column
        per label, change columns as in ``headline``.
    notes : list of str
        What a reader must know (different package versions, figures left out).
    """

    labels: list[str]
    bundles: list[Bundle]
    headline: pd.DataFrame
    differences: pd.DataFrame
    members: pd.DataFrame
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CompareResult:
    """What :func:`write_compare` wrote, and the notes it printed."""

    files: list[Path]
    notes: list[str]


def _labels(bundles: Sequence[Bundle]) -> list[str]:
    """Short, unique labels: the folder names when they differ, else the run ids (numbered if still equal)."""
    folders = [b.folder.name for b in bundles]
    first = folders if len(set(folders)) == len(folders) else [b.run_id for b in bundles]
    labels: list[str] = []
    for label in first:
        base, n = label, 2
        while label in labels:
            label, n = f"{base} ({n})", n + 1
        labels.append(label)
    return labels


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def change_columns(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Add ``change <label>`` (value - first run's) and ``change % <label>`` (over |first|) per later run.

    Booleans and text are compared as equal or not: the change is ``"same"`` or ``"changed"``.
    """
    first = labels[0]
    for label in labels[1:]:
        abs_col, pct_col = [], []
        for a, b in zip(frame[first], frame[label]):
            x, y = _number(a), _number(b)
            if x is not None and y is not None:
                abs_col.append(y - x)
                pct_col.append((y - x) / abs(x) if x != 0 else (0.0 if y == x else None))
            elif a is None or b is None or (isinstance(a, float) and math.isnan(a)) \
                    or (isinstance(b, float) and math.isnan(b)):
                abs_col.append(None)
                pct_col.append(None)
            else:
                abs_col.append("same" if a == b else "changed")
                pct_col.append(None)
        frame[f"change {label}"] = abs_col
        frame[f"change % {label}"] = pct_col
    return frame


def _headline(bundles: Sequence[Bundle], labels: Sequence[str]) -> pd.DataFrame:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for bundle, label in zip(bundles, labels):
        for report in bundle.reports:
            for key, value in (bundle.manifest["reports"][report].get("headline") or {}).items():
                rows.setdefault((report, key), {})[label] = value
    def order(item: tuple[tuple[str, str], Any]) -> tuple[int, int]:  # reports, then keys, in registry order
        (report, key), _ = item
        spec = REPORT_SPECS.get(report)
        keys = spec.headline_keys if spec else ()
        return (REPORTS.index(report) if report in REPORTS else len(REPORTS),
                keys.index(key) if key in keys else len(keys))

    records = [{"report": report_title(r), "figure": readable_key(k), "key": k,
                **{label: values.get(label) for label in labels}}
               for (r, k), values in sorted(rows.items(), key=order)]
    frame = pd.DataFrame(records, columns=["report", "figure", "key", *labels]).astype(object)
    return change_columns(frame, labels)


def _differences(bundles: Sequence[Bundle], labels: Sequence[str]) -> pd.DataFrame:
    items: list[tuple[str, str, list[Any]]] = []
    versions = [b.version for b in bundles]
    if len(set(versions)) > 1:
        items.append(("(run)", "alliance_fin version", versions))
    for key in ("path", "sha256", "rows"):
        values = [b.manifest["data"].get(key) for b in bundles]
        if len({str(v) for v in values}) > 1:
            items.append(("(data)", {"path": "Data file", "sha256": "Data SHA-256", "rows": "Data rows"}[key], values))
    reports = list(dict.fromkeys(r for b in bundles for r in b.reports))
    for report in reports:
        ran = [report in b.manifest["reports"] for b in bundles]
        if not all(ran):
            items.append((report_title(report), "Report in this run", ["yes" if r else "no" for r in ran]))
        present = [b.manifest["parameters"].get(report, {}) for b, r in zip(bundles, ran) if r]
        names = list(dict.fromkeys(k for values in present for k in values))
        for name in names:
            if len({format_parameter(values.get(name)) for values in present}) > 1:
                items.append((report_title(report), readable_key(name),
                              [format_parameter(b.manifest["parameters"].get(report, {}).get(name)) if r else "(not run)"
                               for b, r in zip(bundles, ran)]))
    records = [{"report": r, "item": i, **dict(zip(labels, vs))} for r, i, vs in items]
    return pd.DataFrame(records, columns=["report", "item", *labels]).astype(object)


def _has_uncached_formulas(path: Path, sheets: Sequence[str]) -> bool:
    formulas = openpyxl.load_workbook(path, read_only=True)
    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for name in sheets:
            for frow, vrow in zip(formulas[name].iter_rows(values_only=True), values[name].iter_rows(values_only=True)):
                if any(isinstance(f, str) and f.startswith("=") and v is None for f, v in zip(frow, vrow)):
                    return True
        return False
    finally:
        formulas.close()
        values.close()


def _member_blocks(path: Path, sheets: Sequence[str]) -> list[dict[str, Any]]:
    """Every block headed ``member`` in ``sheets``: one record per (sheet, member, column)."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out: list[dict[str, Any]] = []
    try:
        for name in sheets:
            header: list[Any] | None = None
            for row in wb[name].iter_rows(values_only=True):
                if row and row[0] == "member":
                    header = list(row)
                    continue
                if header is None or not row or row[0] in (None, ""):
                    header = None
                    continue
                for col, value in zip(header[1:], row[1:]):
                    if col not in (None, "") and _number(value) is not None:
                        out.append({"sheet": name, "member": str(row[0]), "key": str(col), "value": float(value)})
    finally:
        wb.close()
    return out


def _sheets_with_members(path: Path) -> list[str]:
    """The summary sheets of a workbook that hold a block headed ``member``."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return [name for name in summary_sheets(wb.sheetnames)
                if any(row and row[0] == "member" for row in wb[name].iter_rows(max_col=1, values_only=True))]
    finally:
        wb.close()


def _read_members(bundle: Bundle, report: str, work: Path, notes: list[str],
                  recalculated: dict[str, Path]) -> list[dict[str, Any]]:
    book = bundle.output(report, ".xlsx")
    if book is None:
        return []
    sheets = _sheets_with_members(book)
    if not sheets or not _has_uncached_formulas(book, sheets):
        return _member_blocks(book, sheets) if sheets else []
    digest = sha256_file(book)
    if digest not in recalculated:  # the same workbook in two bundles is computed once
        soffice = find_soffice()
        if soffice is None:
            notes.append(f"{bundle.run_id}: {book.name} has formulas without stored values and LibreOffice is not "
                         "installed to compute them; its per-member figures are left out")
            return []
        try:
            recalculated[digest] = recalculate_xlsx(soffice, book, work / digest[:16])
        except ReportError as err:
            notes.append(f"{bundle.run_id}: {book.name} could not be recalculated ({err}); per-member figures left out")
            return []
    return _member_blocks(recalculated[digest], sheets)


def _members(bundles: Sequence[Bundle], labels: Sequence[str], notes: list[str]) -> pd.DataFrame:
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    work = Path(tempfile.mkdtemp(prefix="af-compare-"))
    recalculated: dict[str, Path] = {}
    try:
        for bundle, label in zip(bundles, labels):
            for report in bundle.ok_reports():
                for rec in _read_members(bundle, report, work, notes, recalculated):
                    rows.setdefault((report, rec["sheet"], rec["member"], rec["key"]), {})[label] = rec["value"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    records = [{"report": report_title(r), "sheet": s, "member": m, "figure": readable_key(k), "key": k,
                **{label: values.get(label) for label in labels}} for (r, s, m, k), values in rows.items()]
    frame = pd.DataFrame(records, columns=["report", "sheet", "member", "figure", "key", *labels]).astype(object)
    return change_columns(frame, labels)


def build_comparison(folders: Sequence[str | Path]) -> Comparison:
    """Read two or more bundles and put their figures side by side (see the module docstring).

    Raises
    ------
    InputError
        Fewer than two folders, or any folder that is no bundle (every problem listed).
    """
    if len(folders) < 2:
        raise InputError(f"compare needs at least two run folders, got {len(folders)}")
    bundles, problems = [], []
    for folder in folders:
        try:
            bundles.append(load_bundle(folder))
        except InputError as err:
            problems.append(str(err))
    if problems:
        raise InputError("compare was refused: nothing was written", problems)
    labels = _labels(bundles)
    notes = []
    versions = {b.version for b in bundles}
    if len(versions) > 1:
        notes.append("these runs were made by different alliance_fin versions ("
                     + ", ".join(f"{lab}: {b.version}" for lab, b in zip(labels, bundles))
                     + "); a change may come from the method as well as from parameters or data")
    members = _members(bundles, labels, notes)
    return Comparison(labels, bundles, _headline(bundles, labels), _differences(bundles, labels), members, notes)


def _default_out(comparison: Comparison) -> Path:
    first, last = comparison.bundles[0].run_id, comparison.bundles[-1].run_id
    return REPORTS_DIR / f"compare_{first}_vs_{last}"


def write_compare(folders: Sequence[str | Path], *, out: str | Path | None = None) -> CompareResult:
    """Compare bundles and write ``compare.xlsx`` and ``compare.html`` into ``out``.

    Parameters
    ----------
    folders : sequence of path
        Two or more run bundles; the first is the reference of every change.
    out : path, optional
        Folder to write into (made if missing); default ``reports/compare_<first>_vs_<last>/``.

    Returns
    -------
    CompareResult
        The files written and the notes (also shown at the top of both files).
    """
    from alliance_fin.run.compare_pages import build_compare_html, build_compare_xlsx

    target = Path(out) if out else None
    if target is not None and target.exists() and not target.is_dir():
        raise InputError(f"--out {target}: exists and is not a folder")
    comparison = build_comparison(folders)
    target = target or _default_out(comparison)
    xlsx, page = build_compare_xlsx(comparison), build_compare_html(comparison)
    target.mkdir(parents=True, exist_ok=True)
    files = [write_atomic(target / "compare.xlsx", xlsx), write_atomic(target / "compare.html", page)]
    return CompareResult(files, comparison.notes)
