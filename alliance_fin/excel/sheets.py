"""The sheets every workbook shares: Cover, Assumptions, Data, Checks; and ``write_workbook``."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from alliance_fin.errors import ReportError
from alliance_fin.excel.core import (
    ABS_TOL,
    REL_TOL,
    Book,
    Formula,
    add_ok_formatting,
    created_time,
    internal_link,
    write_bytes_atomic,
)
from alliance_fin.excel.style import STYLE, unit_format
from alliance_fin.inputs.schema import MEMBERS as MEMBER_ORDER
from alliance_fin.present.report import Report

Check = tuple[str, float, Formula]


def members_in_order(lineup: pd.DataFrame) -> list[str]:
    """Members of the line-up: Renault, Nissan, Mitsubishi first, any others sorted."""
    found = [str(m) for m in dict.fromkeys(lineup["member"].tolist())]
    return [m for m in MEMBER_ORDER if m in found] + sorted(m for m in found if m not in MEMBER_ORDER)


def chart_size(chart: Any) -> None:
    """Give a chart the size from the style file (cm)."""
    chart.width, chart.height = STYLE["chart_width_cm"], STYLE["chart_height_cm"]


_LABEL_SUFFIXES = (("_report_ccy_m", " (report currency m)"), ("_eur_m", " (EUR m)"), ("_share", " share"))
_LABEL_WORDS = {"lf": "leader-follower", "cmf": "CMF", "ref": "reference year"}


def readable(key: str) -> str:
    """A chart legend label for a column key: ``development_eur_m`` -> ``Development (EUR m)``.

    Member names and other text without underscores pass through unchanged.
    """
    if "_" not in key:
        return key[:1].upper() + key[1:]
    text, tail = key, ""
    for suffix, words in _LABEL_SUFFIXES:
        if text.endswith(suffix):
            text, tail = text[: -len(suffix)], words
            break
    words = [_LABEL_WORDS.get(w, w) for w in text.split("_") if w]
    out = " ".join(words) + tail
    return out[:1].upper() + out[1:]


def color_for(key: str) -> str | None:
    """The HTML report's colour for a member, a savings category or before/after, if it has one."""
    for table in ("member_colors", "category_colors", "before_after_colors"):
        color = STYLE[table].get(key)
        if color:
            return str(color).lstrip("#")
    return None


def style_series(chart: Any, keys: Sequence[str], *, labels: Sequence[str] | None = None,
                 dashed: Sequence[bool] = (), colors: Sequence[str | None] = ()) -> None:
    """Readable legend text, the HTML colours and straight lines for each series of ``chart``.

    ``keys`` name the series in order (column keys or members); the legend shows
    :func:`readable` of each (or ``labels``) as literal text, never the raw key. A series takes
    the colour :func:`color_for` its key gives, or ``colors[k]`` where given (hex, no ``#``).
    """
    from openpyxl.chart import LineChart
    from openpyxl.chart.series import SeriesLabel
    from openpyxl.chart.shapes import GraphicalProperties

    line = isinstance(chart, LineChart)
    for k, series in enumerate(chart.series):
        key = keys[k]
        series.tx = SeriesLabel(v=(labels[k] if labels else readable(key)))
        color = (colors[k] if k < len(colors) else None) or color_for(key)
        props = series.graphicalProperties or GraphicalProperties()
        if color and not line:
            props.solidFill = color
        if color:
            props.line.solidFill = color
        if line:
            props.line.width = 28575  # 2.25 pt
            if k < len(dashed) and dashed[k]:
                props.line.prstDash = "dash"
            series.smooth = False  # straight segments between yearly points, as in the HTML
        series.graphicalProperties = props

def write_total_row(book: Book, ws: Worksheet, row: int, formats: Mapping[int, str | None]) -> None:
    """``Total`` in column A of ``row`` and, in each column of ``formats`` (column -> number format),
    the sum of the rows from 2 to the one above (the number 0 when there are none)."""
    book.put(ws, row, 1, "Total", style="bold")
    for col, fmt in formats.items():
        letter = get_column_letter(col)
        value = Formula(f"SUM({letter}2:{letter}{row - 1})") if row > 2 else 0
        book.put(ws, row, col, value, style="bold", fmt=fmt)


_DATA_FORMATS = {
    "launch_year": "year", "end_year": "year", "annual_volume": "units",
    "dev_cost_eur_m": "eur_m",
}


def _param_unit(key: str) -> str:
    if key.endswith("_years"):
        return "years"
    if key.endswith("_year"):
        return "year"
    if key.endswith(("_rate", "_share")):
        return "decimal share"
    return ""


def _scalar(value: Any) -> Any:
    """Parameters as cell values: sequences become comma-separated text."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in sorted(value, key=str))
    if value is None:
        return ""
    return value


def write_assumptions_sheet(book: Book, assumptions: pd.DataFrame, base: pd.DataFrame,
                            parameters: Mapping[str, Any]) -> Worksheet:
    """Assumptions then the other parameters, one per row; the value cell named after the key.

    ``assumptions`` are those in force (parameters already applied once, by
    :func:`alliance_fin.inputs.resolve.resolve_inputs`); where a parameter changed a value, the
    provenance shows the default it replaced (from ``base``) and that default's provenance.
    Also defines ``assumption_keys`` / ``assumption_values`` over the two columns, for
    ``INDEX/MATCH`` lookups such as the segment cost defaults.
    """
    ws = book.sheet("Assumptions")
    book.describe(ws, "Inputs: every assumption and parameter, one named cell each (edit the yellow cells)")
    book.header(ws, ["key", "value", "unit", "provenance", "source", "description"])
    rows: list[tuple[str, Any, str, str, str, str]] = []
    for key, rec in assumptions.iterrows():
        value, prov, source = rec["value"], str(rec.get("provenance", "")), str(rec.get("source", ""))
        if prov == "parameter" and key in base.index:
            prov = f"parameter (default {base.loc[key, 'value']:g}, {base.loc[key, 'provenance']})"
            source = str(base.loc[key, "source"])
        rows.append((str(key), value, str(rec.get("unit", "")), prov, source, str(rec.get("description", ""))))
    for key, value in parameters.items():
        if key not in assumptions.index:
            rows.append((str(key), _scalar(value), _param_unit(key), "parameter", "",
                         "report parameter"))
    for i, (key, value, unit, prov, source, desc) in enumerate(rows):
        r = i + 2
        book.put(ws, r, 1, key, style="bold")
        book.put(ws, r, 2, value, style="input", fmt=unit_format(unit))
        for j, text in enumerate((unit, prov, source, desc), start=3):
            book.put(ws, r, j, text)
        book.define(key, ws, r, 2)
    last = len(rows) + 1
    book.wb.defined_names["assumption_keys"] = _dn("assumption_keys", f"Assumptions!$A$2:$A${last}")
    book.wb.defined_names["assumption_values"] = _dn("assumption_values",
                                                     f"Assumptions!$B$2:$B${last}")
    ws.freeze_panes = "B2"
    return ws


def _dn(name: str, ref: str) -> DefinedName:
    return DefinedName(name, attr_text=ref)


def lookup(prefix: str, key_cell: str) -> Formula:
    """``INDEX/MATCH`` of assumption ``prefix & key_cell`` (e.g. ``dev_cost_eur_m_`` & segment)."""
    return Formula(f'INDEX(assumption_values,MATCH("{prefix}"&{key_cell},assumption_keys,0))')


def write_data_sheet(book: Book, lineup: pd.DataFrame) -> Worksheet:
    """The line-up as an Excel table named ``Lineup``: filters, frozen header, formats."""
    ws = book.sheet("Data")
    book.describe(ws, "The line-up used (after validation), with provenance columns (S sourced, A assumed, D derived)")
    columns = [str(c) for c in lineup.columns]
    book.header(ws, columns)
    for j, name in enumerate(columns, start=1):
        book.data_cols[name] = get_column_letter(j)
        fmt = _DATA_FORMATS.get(name)
        for i, value in enumerate(lineup[name].tolist()):
            if isinstance(value, str) and value == "":
                value = None  # blank, so COUNTIFS "<>" and ="" treat it as empty
            book.put(ws, i + 2, j, value, fmt=fmt)
    book.n_data = len(lineup)
    book.table(ws, "Lineup", len(lineup), len(columns))
    ws.freeze_panes = "B2"
    return ws


def write_checks_sheet(book: Book, checks: Sequence[Check]) -> Worksheet:
    """Library value vs workbook formula per key figure; defined name ``checks_ok``."""
    ws = book.sheet("Checks")
    book.describe(ws, "Each key figure: library value, workbook formula, difference, ok; checks_ok")
    book.header(ws, ["check", "library_value", "workbook_value", "difference", "tolerance", "ok"])
    for i, (label, expected, formula) in enumerate(checks):
        r = i + 2
        if isinstance(expected, bool):
            expected = int(expected)
        if not isinstance(expected, (int, float)) or not math.isfinite(expected):
            raise ReportError(f"check {label!r}: library value {expected!r} is not a finite number")
        book.put(ws, r, 1, label, style="bold")
        book.put(ws, r, 2, float(expected), fmt="#,##0.000000")
        book.put(ws, r, 3, formula, fmt="#,##0.000000")
        book.put(ws, r, 4, Formula(f"C{r}-B{r}"), fmt="0.000000")
        book.put(ws, r, 5, Formula(f"MAX({ABS_TOL},{REL_TOL}*ABS(B{r}))"), fmt="0.000000")
        book.put(ws, r, 6, Formula(f"ABS(D{r})<=E{r}"))
    last = len(checks) + 1
    r = last + 1
    book.put(ws, r, 1, "all checks pass (checks_ok)", style="bold")
    book.put(ws, r, 6, Formula(f"AND(F2:F{last})") if checks else True, style="bold")
    book.define("checks_ok", ws, r, 6)
    add_ok_formatting(ws, f"F2:F{r}")
    book.put(ws, r + 2, 1, f"Tolerance: |difference| <= max({ABS_TOL}, {REL_TOL:g} x |library value|)",
             style="note")
    if book.warnings:
        book.put(ws, r + 3, 1, "Text changed to fit XLSX:", style="bold")
        for k, text in enumerate(book.warnings):
            book.put(ws, r + 4 + k, 1, text, style="note")
    return ws


def _provenance_counts(values: Sequence[str]) -> dict[str, int]:
    counts = {"sourced": 0, "assumed": 0, "derived": 0, "unspecified": 0}
    for raw in values:
        text = str(raw).strip().lower()
        if "s:" in text or text.startswith("sourced"):  # "S:10; A" (a plant list) is sourced in part
            counts["sourced"] += 1
        elif text in ("a", "assumed") or text.startswith("assumed"):
            counts["assumed"] += 1
        elif text in ("d", "derived"):
            counts["derived"] += 1
        else:
            counts["unspecified"] += 1
    return counts


def _differ_text(run_info: Mapping[str, Any]) -> str:
    """``run_info["parameters_differ"]`` for the cover: ``none`` when empty, ``not recorded`` when absent."""
    if "parameters_differ" not in run_info:
        return "not recorded"
    return str(run_info["parameters_differ"] or "").strip() or "none"


def write_cover_sheet(book: Book, ws: Worksheet, *, report: str, title: str,
                      run_info: Mapping[str, Any], created: datetime,
                      parameters: Mapping[str, Any], assumptions: pd.DataFrame,
                      lineup: pd.DataFrame) -> None:
    """Title, run facts, parameters, sourced-vs-assumed counts and linked contents.

    The run facts end with the parameters that differ from the base (``run_info["parameters_differ"]``,
    :func:`alliance_fin.run.outputs.parameters_differ_text`): ``none`` for a base run.
    """
    book.put(ws, 1, 1, title, style="title")
    facts = [
        ("Report", report), ("Scenario", str(run_info.get("scenario", parameters.get("scenario", "")))),
        ("Run id", str(run_info.get("run_id", ""))), ("Created (UTC)", created),
        ("Data file", str(run_info.get("data_file", ""))),
        ("Data SHA-256", str(run_info.get("data_sha256", ""))),
        ("alliance_fin version", str(run_info.get("version", ""))),
        ("Parameters differing from the base", _differ_text(run_info)),
    ]
    r = 3
    for label, value in facts:
        book.put(ws, r, 1, label, style="bold")
        book.put(ws, r, 2, value)
        r += 1
    book.put(ws, r, 1, "All checks pass", style="bold")
    book.put(ws, r, 2, Formula('IF(checks_ok,"yes","NO - see Checks")'))
    r += 2
    book.header(ws, ["Parameter", "Value"], row=r)
    for key, value in parameters.items():
        r += 1
        book.put(ws, r, 1, str(key))
        book.put(ws, r, 2, _scalar(value))
    r += 2
    book.header(ws, ["Inputs", "sourced", "assumed", "derived", "unspecified"], row=r)
    prov_cols = [c for c in lineup.columns if str(c).endswith("_prov")]
    line_prov = [v for c in prov_cols for v in lineup[c].tolist()]
    rows = [(f"Assumptions ({len(assumptions)} keys)",
             _provenance_counts(assumptions.get("provenance", pd.Series(dtype=str)).tolist())),
            (f"Line-up values ({len(prov_cols)} provenance columns x {len(lineup)} models)",
             _provenance_counts(line_prov))]
    for label, counts in rows:
        r += 1
        book.put(ws, r, 1, label)
        for j, key in enumerate(("sourced", "assumed", "derived", "unspecified"), start=2):
            book.put(ws, r, j, counts[key], fmt="units")
    r += 1
    book.put(ws, r, 1, "Sourced values cite keys of sources.csv (S:n); assumed values are "
             "analyst assumptions, editable on Assumptions.", style="note")
    r += 2
    book.header(ws, ["Contents", "What it shows"], row=r)
    for name in book.wb.sheetnames:
        if name == ws.title:
            continue
        r += 1
        cell = book.put(ws, r, 1, name, style="link")
        internal_link(cell, name)
        book.put(ws, r, 2, book.contents.get(name, ""))
    if book.fixed:
        r += 2
        book.header(ws, ["Fixed figures", "Why they are data, not formulas"], row=r)
        for name, why in book.fixed.items():
            r += 1
            cell = book.put(ws, r, 1, name, style="link")
            internal_link(cell, name)
            book.put(ws, r, 2, why)
    r += 2
    book.put(ws, r, 1, "Yellow cells on Assumptions are inputs; every other figure is a live formula "
             "and the workbook recalculates when opened. Each formula cell also stores its computed "
             "value, so previews and tools that do not calculate (pandas, openpyxl data_only) show "
             "the same figures.", style="note")


def write_workbook(
    path: str | Path,
    report: Report,
    *,
    run_info: Mapping[str, Any],
    build_sheets: Callable[[Book], Sequence[Check]],
    parameters: Mapping[str, Any] | None = None,
) -> list[str]:
    """Write one report workbook atomically and return the warnings.

    Parameters
    ----------
    path : path-like
        Target ``.xlsx``; built in memory, then moved into place with ``os.replace``.
    report : Report
        From ``build_<report>_report``: its line-up, assumptions (base and in force) and
        parameters fill Cover, Assumptions and Data; the title comes from the registry.
    run_info : mapping
        ``run_id``, ``scenario``, ``created`` (datetime or ISO str; ``SOURCE_DATE_EPOCH``
        wins when set), ``data_file``, ``data_sha256``, ``version``, ``parameters_differ``
        (text such as ``"currency=GBP, max_saving_rate=0.3"``; empty for a base run).
    parameters : mapping, optional
        The parameters to list (default: the report's resolved parameters).
    build_sheets : callable
        ``build_sheets(book)`` adds the report's calculation, summary and chart sheets
        (``Assumptions`` and ``Data`` and their names exist already) and returns the checks as
        ``(label, library_value, Formula)`` tuples.

    Returns
    -------
    list of str
        Every text changed to fit XLSX and every key that could not be a defined name (also
        listed on the Checks sheet).
    """
    lineup, inputs = report.lineup, report.inputs
    parameters = dict(report.parameters if parameters is None else parameters)
    if lineup.empty:
        raise ReportError("the line-up is empty; no workbook written")
    created = created_time(run_info)
    title = report.spec.workbook_title
    book = Book(title=title)
    cover = book.sheet("Cover", header_rows=0)
    used = inputs.assumptions[[report.spec.uses_assumption(k) or k in parameters for k in inputs.assumptions.index]]
    write_assumptions_sheet(book, used, inputs.base_assumptions, parameters)
    write_data_sheet(book, lineup)
    checks = build_sheets(book)
    write_checks_sheet(book, checks)
    write_cover_sheet(book, cover, report=report.name, title=title, run_info=run_info,
                      created=created, parameters=parameters, assumptions=used,
                      lineup=lineup)
    data = book.finish(created)
    write_bytes_atomic(Path(path), data)
    return list(book.warnings)
