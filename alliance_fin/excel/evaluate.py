"""A small spreadsheet evaluator for the workbooks this package writes, so every formula cell
can carry its computed (cached) value.

openpyxl writes formula cells with an empty ``<v>``: a viewer without a calculation engine
(a mail or phone preview, ``pandas.read_excel``) then shows blanks. :func:`evaluate_workbook`
computes every formula of an openpyxl workbook *before* it is saved, and
:func:`add_cached_values` writes those values into the saved sheet XML
(``<c><f>..</f><v>value</v></c>``). The workbook keeps ``fullCalcOnLoad``, so Excel and
LibreOffice still recompute on opening; the cached values are what they compute.

Why our own evaluator rather than ``formulas`` or ``pycel`` (see ``docs/architecture.md``):
our formulas use a fixed, tested allow-list of about twenty functions
(``tests/excel/test_workbooks.py::ALLOWED_FUNCTIONS``), and both packages took over a minute
per workbook here (``pycel`` also does not resolve workbook-level defined names). This module
evaluates a workbook in well under a second, with LibreOffice's semantics where Excel and
LibreOffice differ (a boolean counts as the number 1 or 0), and the slow tests compare every
cached value with LibreOffice's recalculation.

Anything it cannot evaluate (an unknown function) raises :class:`EvaluationError`, so a new
function is added here on purpose, never cached wrongly.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import column_index_from_string

from alliance_fin.excel.formula_functions import REF, Arr, EvaluationError, ExcelError
from alliance_fin.excel.formula_parse import REF_RE, Compiled, Compiler

__all__ = ["EvaluationError", "ExcelError", "add_cached_values", "evaluate_workbook"]


# ----------------------------------------------------------------------------- workbook
class _Evaluator:
    def __init__(self, wb: Workbook) -> None:
        self.cells: dict[str, dict[tuple[int, int], Any]] = {}
        for ws in wb.worksheets:
            self.cells[ws.title] = {k: c for k, c in ws._cells.items() if c.value is not None}
        self.names = {name: dn.attr_text for name, dn in wb.defined_names.items()}
        self.memo: dict[tuple[str, int, int], Any] = {}
        self.ranges: dict[tuple, Arr] = {}
        self.formulas: dict[str, tuple[Compiled, list[str]]] = {}
        self.compile = Compiler()
        self.active: set[tuple[str, int, int]] = set()

    def cell(self, sheet: str, row: int, col: int) -> Any:
        key = (sheet, row, col)
        if key in self.memo:
            return self.memo[key]
        c = self.cells.get(sheet, {}).get((row, col))
        if c is None:
            return None
        if c.data_type != "f":
            return c.value
        if key in self.active:
            raise EvaluationError(f"circular reference at {sheet}!{c.coordinate}")
        self.active.add(key)
        text = c.value[1:]
        compiled = self.formulas.get(text)
        if compiled is None:
            compiled = self.formulas[text] = self.compile(text)
        value = compiled[0](self, sheet, compiled[1])
        self.active.discard(key)
        if isinstance(value, Arr):
            value = value[0] if value else None
        self.memo[key] = value
        return value

    def ref(self, text: str, sheet: str) -> Any:
        """The value of a reference written ``text`` (a cell, a range or a defined name)."""
        m = REF_RE.match(text)
        if m is None:
            target = self.names.get(text)
            if target is None:
                return ExcelError("#NAME?")
            m = REF_RE.match(target)
            if m is None:
                raise EvaluationError(f"defined name {text} -> {target} is not a cell range")
        quoted, plain, c1, r1, c2, r2 = m.groups()
        where = quoted.replace("''", "'") if quoted else plain or sheet
        col1, row1 = column_index_from_string(c1.upper()), int(r1)
        if c2 is None:
            return self.at(where, row1, col1)
        return self.area(where, row1, col1, int(r2), column_index_from_string(c2.upper()))

    def at(self, where: str, row: int, col: int) -> Any:
        """The value of one cell of sheet ``where`` (``#REF!`` for a sheet that does not exist)."""
        if where not in self.cells:
            return REF
        return self.cell(where, row, col)

    def area(self, where: str, row1: int, col1: int, row2: int, col2: int) -> Any:
        """The values of a range of sheet ``where``, row by row, as an :class:`Arr`."""
        if where not in self.cells:
            return REF
        key = (where, row1, col1, row2, col2)
        arr = self.ranges.get(key)
        if arr is None:
            # a constant cell inline, a formula cell through cell(): a 10,000-row column of
            # constants (the sweep's grid) costs one dict look-up a cell, not a call
            cells = self.cells[where]
            values = []
            for r in range(row1, row2 + 1):
                for c in range(col1, col2 + 1):
                    found = cells.get((r, c))
                    values.append(None if found is None else found.value if found.data_type != "f"
                                  else self.cell(where, r, c))
            arr = self.ranges[key] = Arr(values, row2 - row1 + 1, col2 - col1 + 1)
        return arr


def evaluate_workbook(wb: Workbook) -> dict[str, dict[str, Any]]:
    """Every formula cell's value: ``{sheet title: {"B2": value}}``.

    Values are ``float``/``int``, ``bool``, ``str``, ``None`` (an empty reference, shown as 0)
    or :class:`ExcelError`.
    """
    ev = _Evaluator(wb)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20_000))
    try:
        out: dict[str, dict[str, Any]] = {}
        for ws in wb.worksheets:
            sheet: dict[str, Any] = {}
            for (row, col), c in sorted(item for item in ev.cells[ws.title].items() if item[1].data_type == "f"):
                sheet[c.coordinate] = ev.cell(ws.title, row, col)
            out[ws.title] = sheet
        return out
    finally:
        sys.setrecursionlimit(old)


# ----------------------------------------------------------------------------- XML
#: A formula cell with its empty ``<v>``: ``<v />`` from openpyxl's writer on xml.etree, ``<v></v>``
#: from its writer on lxml (used whenever lxml is installed, unless ``OPENPYXL_LXML=False``).
_CELL_F_RE = re.compile(r'<c r="([A-Z]+[0-9]+)"((?: s="\d+")?)((?: t="\w+")?)><f>((?:[^<]|<(?!/f>))*)</f>'
                        r"(?:<v\s*/>|<v></v>)</c>")


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cached(value: Any) -> tuple[str, str]:
    """(t attribute, <v> text) for a computed value."""
    if isinstance(value, ExcelError):
        return ' t="e"', value.code
    if isinstance(value, bool):
        return ' t="b"', "1" if value else "0"
    if isinstance(value, str):
        return ' t="str"', _xml_escape(value)
    if value is None:
        return "", "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return "", str(int(value))
    return "", repr(float(value)) if isinstance(value, float) else str(value)


def add_cached_values(sheet_xml: str, values: Mapping[str, Any]) -> str:
    """Put each formula cell's value into its ``<v>`` in one worksheet's XML (openpyxl's output)."""
    def sub(m: re.Match) -> str:
        coord, style, _t, formula = m.groups()
        if coord not in values:
            return m.group(0)
        t, v = _cached(values[coord])
        return f'<c r="{coord}"{style}{t}><f>{formula}</f><v>{v}</v></c>'

    return _CELL_F_RE.sub(sub, sheet_xml)
