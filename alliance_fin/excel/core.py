"""Excel core: safe cells, defined names, styles, print set-up and reproducible bytes.

Public entry points are in :mod:`alliance_fin.excel`.

This module is the core shared by the three report workbooks
(:mod:`alliance_fin.excel.savings`, :mod:`alliance_fin.excel.trimming`,
:mod:`alliance_fin.excel.milestones`). It never calculates report figures: every figure in a
workbook is a live formula built by code in those modules from :class:`Formula` objects, and
every string that comes from data is written as text (``data_type`` ``"s"``), never as a
formula or an error value.

Layout of every workbook: ``Cover``, ``Assumptions`` (inputs, one defined name per key),
``Data`` (the line-up as an Excel table), the report's calculation and summary sheets (one
table per sheet, header in row 1), and ``Checks`` (library value vs workbook formula, defined
name ``checks_ok``). Styling constants live in ``templates/excel/style.json``.
"""

from __future__ import annotations

import io
import math
import numbers
import os
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.properties import CalcProperties
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from alliance_fin.errors import ReportError
from alliance_fin.excel.evaluate import add_cached_values, evaluate_workbook
from alliance_fin.excel.style import STYLE, number_format
from alliance_fin.files import write_atomic

__all__ = [
    "Book",
    "Column",
    "Formula",
    "add_ok_formatting",
    "clean_text",
    "created_time",
    "internal_link",
    "valid_name",
    "write_bytes_atomic",
]

MAX_CELL_CHARS = 32_767
# XML 1.0 cannot hold these; openpyxl raises on the first group and silently writes lone
# surrogates that make the file unreadable (output_pitfalls.md 1.6.3).
_ILLEGAL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,254}$")
_CELL_LIKE_RE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc]?[0-9]*|[Cc][0-9]*)$")
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
ABS_TOL = 0.001
REL_TOL = 1e-6


@dataclass(frozen=True)
class Formula:
    """A formula built by this package, without the leading ``=``.

    Only instances of this class are ever written as formulas; a plain ``str`` is always text.
    """

    text: str


@dataclass(frozen=True)
class Column:
    """One column of a row-per-item sheet.

    Parameters
    ----------
    header : str
        Column heading (row 1).
    cell : callable
        ``cell(i, r)`` returns the value for item ``i`` (0-based) written in Excel row ``r``;
        a :class:`Formula` for live figures.
    fmt : str
        Key of a number format in the style file (``eur_m``, ``pct``, ``units`` ...).
    style : str
        Cell style (``calc``, ``center``, ``bold`` ...).
    """

    header: str
    cell: Callable[[int, int], Any]
    fmt: str = "general"
    style: str = "calc"


def clean_text(value: str, warnings: list[str], where: str) -> str:
    """Make ``value`` storable in XLSX: illegal characters -> U+FFFD, cut at 32,767 chars.

    Each change is appended to ``warnings`` with ``where`` (sheet!cell) so it is reported.
    """
    text, n = _ILLEGAL_RE.subn("\ufffd", value)
    if n:
        warnings.append(f"{where}: {n} character(s) XLSX cannot hold replaced by U+FFFD")
    if len(text) > MAX_CELL_CHARS:
        warnings.append(f"{where}: text of {len(text)} characters cut to {MAX_CELL_CHARS}")
        text = text[:MAX_CELL_CHARS]
    return text


def valid_name(key: str) -> bool:
    """True when ``key`` can be a workbook defined name in Excel and LibreOffice."""
    return bool(_NAME_RE.match(key)) and not _CELL_LIKE_RE.match(key)


def created_time(run_info: Mapping[str, Any] | None = None) -> datetime:
    """The workbook's creation time (UTC): ``SOURCE_DATE_EPOCH`` when set, else run_info, else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    created = (run_info or {}).get("created")
    if isinstance(created, str) and created:
        created = datetime.fromisoformat(created)
    if isinstance(created, datetime):
        return created if created.tzinfo else created.replace(tzinfo=UTC)
    return datetime.now(tz=UTC).replace(microsecond=0)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (:func:`alliance_fin.files.write_atomic`)."""
    write_atomic(path, data)


def _normalise_zip(data: bytes, when: datetime,
                   cached: Mapping[str, Mapping[str, Any]] | None = None) -> bytes:
    """Fix document times and zip entry times so equal workbooks give equal bytes.

    ``cached`` maps ``xl/worksheets/sheetN.xml`` to that sheet's formula values, written into
    the formula cells' ``<v>`` (:func:`alliance_fin.excel.evaluate.add_cached_values`).
    """
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    date_time = max(when.astimezone(UTC).timetuple()[:6], (1980, 1, 1, 0, 0, 0))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                for tag in ("created", "modified"):
                    text = re.sub(
                        rf"(<dcterms:{tag}[^>]*>)[^<]*(</dcterms:{tag}>)", rf"\g<1>{stamp}\g<2>", text
                    )
                body = text.encode("utf-8")
            elif cached and cached.get(info.filename):  # a sheet without formulas is copied as it is
                body = add_cached_values(body.decode("utf-8"), cached[info.filename]).encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, body)
    return out.getvalue()


def _font(color: str, **kw: Any) -> Font:
    return Font(name=STYLE["font_name"], size=kw.pop("size", STYLE["font_size"]), color=color, **kw)


def _fill(color: str) -> PatternFill:
    return PatternFill("solid", start_color=color, end_color=color)


@dataclass
class Book:
    """A workbook under construction: safe writes, defined names, widths, print set-up.

    Attributes
    ----------
    wb : openpyxl.Workbook
    title : str
        Report title, used in page footers.
    warnings : list of str
        Every text that had to be changed to fit XLSX (illegal characters, truncation) and
        every key that could not become a defined name.
    """

    title: str
    wb: Workbook = field(default_factory=Workbook)
    warnings: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    data_cols: dict[str, str] = field(default_factory=dict)
    n_data: int = 0
    contents: dict[str, str] = field(default_factory=dict)
    #: sheet -> why some of its figures are fixed data rather than formulas (listed on the Cover)
    fixed: dict[str, str] = field(default_factory=dict)
    _widths: dict[tuple[str, int], int] = field(default_factory=dict)
    _header_rows: dict[str, int] = field(default_factory=dict)
    #: (style, fmt, style array before) -> style array after: :meth:`_style` builds each distinct
    #: style once with openpyxl objects, then copies its indices (openpyxl hashes every Font and
    #: Fill it is given, which dominated writing large sheets).
    _style_cache: dict[tuple, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.wb.remove(self.wb.active)
        self.wb.calculation = CalcProperties(fullCalcOnLoad=True)

    # -- sheets and cells -------------------------------------------------------------
    def sheet(self, name: str, *, header_rows: int = 1) -> Worksheet:
        """Add a sheet with a valid, unique title (<= 31 chars, no ``\\/?*[]:``)."""
        clean = re.sub(r"[\\/?*\[\]:]", "_", name).strip("'")[:31] or "Sheet"
        if clean.lower() == "history":
            clean = "History_"
        base, n = clean, 2
        while clean in self.wb.sheetnames:
            clean = f"{base[:28]}_{n}"
            n += 1
        ws = self.wb.create_sheet(clean)
        self._header_rows[ws.title] = header_rows
        return ws

    def _finite(self, ws: Worksheet, cell: Cell, number: float) -> float | None:
        """``number``, or None (an empty cell) for NaN and infinities; an infinity is reported."""
        if math.isfinite(number):
            return number
        if not math.isnan(number):
            self.warnings.append(f"{ws.title}!{cell.coordinate}: infinite value left empty")
        return None

    def put(self, ws: Worksheet, row: int, col: int, value: Any, *, style: str = "calc",
            fmt: str | None = None) -> Cell:
        """Write one cell. Only :class:`Formula` becomes a formula; ``str`` is always text.

        NaN, None and infinities are written as empty cells (reported when infinite).
        """
        cell = ws.cell(row=row, column=col)
        width = 0
        kind = type(value)
        if kind is float or kind is int:  # the common case first (what the Number branch does)
            cell.value = self._finite(ws, cell, value) if kind is float else value
            width = 12
        elif isinstance(value, Formula):
            cell.value = "=" + value.text
            width = STYLE["formula_width"]
        elif isinstance(value, str):
            # where the text is, only when it has to change (the coordinate costs a look-up per cell)
            needs_cleaning = len(value) > MAX_CELL_CHARS or _ILLEGAL_RE.search(value) is not None
            text = clean_text(value, self.warnings, f"{ws.title}!{cell.coordinate}") if needs_cleaning else value
            cell.value = text
            cell.data_type = "s"  # never 'f' (leading '=') nor 'e' ('#N/A')
            if text.startswith(_FORMULA_TRIGGERS):
                cell.quotePrefix = True  # Excel keeps it text when the cell is edited
            width = max((len(line) for line in text.split("\n")), default=0)
        elif value is None or value is pd.NA or value is pd.NaT:
            cell.value = None
        elif isinstance(value, bool):
            cell.value = value
            width = 5
        elif isinstance(value, numbers.Number):
            number = float(value) if not isinstance(value, numbers.Integral) else int(value)
            cell.value = self._finite(ws, cell, number) if isinstance(number, float) else number
            width = 12
        elif isinstance(value, datetime):
            cell.value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            cell.data_type = "s"
            width = 20
        else:
            return self.put(ws, row, col, str(value), style=style, fmt=fmt)
        self._style(cell, style, fmt)
        if style in ("note", "title"):
            return cell  # long notes and titles overflow to the right; they do not set widths
        key = (ws.title, col)
        self._widths[key] = max(self._widths.get(key, 0), width + 2)
        return cell

    def _style(self, cell: Cell, style: str, fmt: str | None) -> None:
        key = (style, fmt, tuple(cell._style) if cell._style is not None else None)
        done = self._style_cache.get(key)
        if done is not None:
            cell._style = StyleArray(done)
            return
        self._style_uncached(cell, style, fmt)
        self._style_cache[key] = tuple(cell._style)

    def _style_uncached(self, cell: Cell, style: str, fmt: str | None) -> None:
        if style == "header":
            cell.font = _font(STYLE["header_font"], bold=True)
            cell.fill = _fill(STYLE["header_fill"])
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        elif style == "input":
            cell.font = _font(STYLE["input_font"])
            cell.fill = _fill(STYLE["input_fill"])
        elif style == "title":
            cell.font = _font(STYLE["header_fill"], bold=True, size=STYLE["title_size"])
        elif style == "bold":
            cell.font = _font(STYLE["calc_font"], bold=True)
        elif style == "note":
            cell.font = _font(STYLE["note_font"], italic=True)
        elif style == "link":
            cell.font = _font(STYLE["link_font"], underline="single")
        else:
            cell.font = _font(STYLE["calc_font"])
            if style == "center":
                cell.alignment = Alignment(horizontal="center")
        if fmt:
            cell.number_format = number_format(fmt)

    def header(self, ws: Worksheet, headers: Sequence[str], row: int = 1) -> None:
        """Write a header row."""
        for j, text in enumerate(headers, start=1):
            self.put(ws, row, j, text, style="header")

    def grid(self, ws: Worksheet, columns: Sequence[Column], n: int, *, first_row: int = 1) -> None:
        """Write a header row and ``n`` item rows from ``columns``."""
        self.header(ws, [c.header for c in columns], row=first_row)
        for i in range(n):
            r = first_row + 1 + i
            for j, col in enumerate(columns, start=1):
                self.put(ws, r, j, col.cell(i, r), style=col.style, fmt=col.fmt)
        ws.freeze_panes = ws.cell(row=first_row + 1, column=2)

    # -- names ------------------------------------------------------------------------
    def define(self, name: str, ws: Worksheet, row: int, col: int) -> bool:
        """Give the cell a workbook-level defined name; False (and a warning) if invalid."""
        if not valid_name(name):
            self.warnings.append(f"{name!r} is not a valid Excel name; no defined name made")
            return False
        ref = f"'{ws.title}'!${get_column_letter(col)}${row}"
        self.wb.defined_names[name] = DefinedName(name, attr_text=ref)
        self.names[name] = ref
        return True

    def define_range(self, name: str, ws: Worksheet, first_row: int, col: int, last_row: int) -> bool:
        """Give a column range (``first_row..last_row`` of ``col``) a workbook-level defined name."""
        if not valid_name(name):
            self.warnings.append(f"{name!r} is not a valid Excel name; no defined name made")
            return False
        letter = get_column_letter(col)
        ref = f"'{ws.title}'!${letter}${first_row}:${letter}${last_row}"
        self.wb.defined_names[name] = DefinedName(name, attr_text=ref)
        self.names[name] = ref
        return True

    def name(self, key: str) -> str:
        """The defined name ``key`` for use in a formula; ReportError when it does not exist."""
        if key not in self.names:
            raise ReportError(f"workbook needs the assumption or parameter {key!r}, which is missing")
        return key

    def data(self, column: str, row: int | None = None) -> str:
        """Reference to a line-up column on ``Data``: the whole column range, or one row."""
        if column not in self.data_cols:
            raise ReportError(f"the line-up has no column {column!r}, which the workbook needs")
        letter = self.data_cols[column]
        if row is None:
            return f"Data!${letter}$2:${letter}${self.n_data + 1}"
        return f"Data!${letter}{row}"

    def describe(self, ws: Worksheet, text: str) -> None:
        """Say what a sheet shows (listed with a link on the Cover)."""
        self.contents[ws.title] = text

    def table(self, ws: Worksheet, name: str, n_rows: int, n_cols: int) -> None:
        """Make an Excel table (with filters) of the block A1 .. (n_rows+1, n_cols)."""
        clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
        if not re.match(r"^[A-Za-z_]", clean) or _CELL_LIKE_RE.match(clean):
            clean = "T_" + clean
        ref = f"A1:{get_column_letter(n_cols)}{n_rows + 1}"
        table = Table(displayName=clean, ref=ref)
        table.tableStyleInfo = TableStyleInfo(name=STYLE["table_style"], showRowStripes=True)
        ws.add_table(table)

    # -- finishing --------------------------------------------------------------------
    def _print_setup(self, ws: Worksheet) -> None:
        """A4 landscape; one page wide only where that stays legible.

        A sheet whose columns add up to at most ``print_fit_width`` character widths is fitted
        to one page width (scale about 60 % or more); a wider one (the 30-odd columns of a
        calculation sheet) prints at 100 % across several pages, with the header row and the
        key column repeated on every page. The print area is the table plus any chart.
        """
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        last_col = max(ws.max_column, 1)
        total = sum(ws.column_dimensions[get_column_letter(c)].width or STYLE["min_width"]
                    for c in range(1, last_col + 1))
        last_row = max(ws.max_row, 1)
        for chart in getattr(ws, "_charts", []):
            if isinstance(chart.anchor, str):  # a chart of chart_height_cm is about 2 rows per cm
                row, col = coordinate_to_tuple(chart.anchor)
                last_row = max(last_row, row + int(2 * STYLE["chart_height_cm"]) + 1)
                last_col = max(last_col, col + int(STYLE["chart_width_cm"] / 2))
        ws.print_area = f"A1:{get_column_letter(last_col)}{last_row}"
        rows = self._header_rows.get(ws.title, 1)
        if rows:
            ws.print_title_rows = f"1:{rows}"
        if total <= STYLE["print_fit_width"]:
            ws.page_setup.fitToWidth = 1
            ws.page_setup.fitToHeight = 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
        else:
            ws.sheet_properties.pageSetUpPr.fitToPage = False
            ws.page_setup.scale = 100
            ws.page_setup.pageOrder = "overThenDown"
            if rows:
                ws.print_title_cols = "A:A"
        ws.print_options.gridLines = False

    def finish(self, created: datetime) -> bytes:
        """Set widths, print set-up and properties on every sheet; return reproducible bytes."""
        for ws in self.wb.worksheets:
            for col in range(1, ws.max_column + 1):
                width = self._widths.get((ws.title, col), STYLE["min_width"])
                width = min(max(width, STYLE["min_width"]), STYLE["max_width"])
                ws.column_dimensions[get_column_letter(col)].width = width
            self._print_setup(ws)
            footer = self.title.replace("&", "&&")[:100]
            ws.oddFooter.left.text = footer
            ws.oddFooter.center.text = "&A"
            ws.oddFooter.right.text = "Page &P of &N"
        props = self.wb.properties
        props.creator = "alliance_fin"
        props.lastModifiedBy = "alliance_fin"
        props.title = self.title[:200]
        props.created = props.modified = created.astimezone(UTC).replace(tzinfo=None)
        # openpyxl writes formula cells with an empty <v>; compute every value here (the same
        # numbers LibreOffice computes, checked by the slow tests) and write it in, so viewers
        # without a calculation engine show figures, not blanks
        values = evaluate_workbook(self.wb)
        cached = {f"xl/worksheets/sheet{i}.xml": values[ws.title]
                  for i, ws in enumerate(self.wb.worksheets, start=1)}
        buffer = io.BytesIO()
        # stored, not deflated: _normalise_zip reads every part back and deflates it once, as written
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            ExcelWriter(self.wb, archive).save()
        return _normalise_zip(buffer.getvalue(), created, cached)




def internal_link(cell: Cell, sheet: str) -> None:
    """Point ``cell`` at A1 of ``sheet`` inside the workbook."""
    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{sheet}'!A1", display=str(cell.value))


def add_ok_formatting(ws: Worksheet, ref: str) -> None:
    """Green TRUE / red FALSE on a range of ok flags."""
    ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=["TRUE"],
                                                  fill=_fill(STYLE["ok_fill"])))
    ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=["FALSE"],
                                                  fill=_fill(STYLE["fail_fill"])))

