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
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils import column_index_from_string

from alliance_fin.excel.formula_functions import (
    FUNCTIONS,
    REF,
    Arr,
    EvaluationError,
    ExcelError,
    arith,
    broadcast,
    to_bool,
)

__all__ = ["EvaluationError", "ExcelError", "add_cached_values", "evaluate_workbook"]


_REF_RE = re.compile(r"^(?:(?:'((?:[^']|'')+)'|([A-Za-z0-9_.]+))!)?\$?([A-Za-z]{1,3})\$?(\d+)"
                     r"(?::\$?([A-Za-z]{1,3})\$?(\d+))?$")



# ----------------------------------------------------------------------------- parser
_DIGITS = re.compile(r"\d+")


def _leaf(kind: str, token: str) -> tuple:
    """A leaf node that keeps its token text (``("lit"|"ref", value, kind, token)``)."""
    if kind == "num":
        v = float(token)
        value = int(v) if v.is_integer() and "." not in token and "e" not in token.lower() else v
        return ("lit", value, kind, token)
    if kind == "text":
        return ("lit", token[1:-1].replace('""', '"'), kind, token)
    return ("ref", token, kind, token)


def _renumber(node: Any, digits: list[str]) -> Any:
    """``node`` with the digit groups of its leaves replaced, in order, from ``digits``."""
    if node[0] in ("lit", "ref") and len(node) == 4:
        kind, token = node[2], node[3]
        n = len(_DIGITS.findall(token))
        if not n:
            return node
        new = iter(digits[:n])
        del digits[:n]
        return _leaf(kind, _DIGITS.sub(lambda m: next(new), token))
    if node[0] == "op":
        return ("op", node[1], _renumber(node[2], digits), _renumber(node[3], digits))
    if node[0] == "neg":
        return ("neg", _renumber(node[1], digits))
    if node[0] == "fn":
        return ("fn", node[1], [_renumber(a, digits) for a in node[2]])
    if node[0] == "array":
        return ("array", [_renumber(a, digits) for a in node[1]])
    return node


class _Parser:
    """Parses formulas, reusing the tree of a formula that differs only in its numbers.

    Formulas of one column differ only in row numbers; tokenizing each of them took most of
    the evaluation time.
    """

    def __init__(self) -> None:
        self.templates: dict[str, tuple[Any, int]] = {}

    def __call__(self, formula: str) -> Any:
        key = _DIGITS.sub("#", formula)
        hit = self.templates.get(key)
        digits = _DIGITS.findall(formula)
        if hit is not None and hit[1] == len(digits):
            rest = list(digits)
            tree = _renumber(hit[0], rest)
            if not rest:
                return tree
        tree = _parse(formula)
        self.templates[key] = (tree, len(digits))
        return tree


def _parse(formula: str) -> Any:
    """Formula text (without '=') -> expression tree of tuples."""
    tokens = [t for t in Tokenizer("=" + formula).items if t.type != Token.WSPACE]
    pos = 0

    def peek() -> Token | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> Token:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    prec = {"=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1, "&": 2, "+": 3, "-": 3, "*": 4, "/": 4,
            "^": 5}

    def expr(min_prec: int = 0) -> Any:
        left = unary()
        while True:
            t = peek()
            if t is None or t.type != Token.OP_IN or prec.get(t.value, -1) < min_prec:
                return left
            take()
            p = prec[t.value]
            right = expr(p + 1)
            left = ("op", t.value, left, right)

    def unary() -> Any:
        t = peek()
        if t is not None and t.type == Token.OP_PRE:
            take()
            inner = unary()
            return ("neg", inner) if t.value == "-" else inner
        node = primary()
        while peek() is not None and peek().type == Token.OP_POST:
            take()
            node = ("op", "/", node, ("lit", 100))
        return node

    def primary() -> Any:
        t = take()
        if t.type == Token.OPERAND:
            if t.subtype == Token.NUMBER:
                return _leaf("num", t.value)
            if t.subtype == Token.TEXT:
                return _leaf("text", t.value)
            if t.subtype == Token.LOGICAL:
                return ("lit", t.value.upper() == "TRUE")
            if t.subtype == Token.ERROR:
                return ("lit", ExcelError(t.value))
            return _leaf("ref", t.value)
        if t.type == Token.FUNC and t.subtype == Token.OPEN:
            name = t.value[:-1].upper()
            args = []
            if peek() is not None and not (peek().type == Token.FUNC and peek().subtype == Token.CLOSE):
                while True:
                    args.append(expr())
                    s = take()
                    if s.type == Token.SEP:
                        continue
                    break
            else:
                take()
            return ("fn", name, args)
        if t.type == Token.PAREN and t.subtype == Token.OPEN:
            inner = expr()
            take()
            return inner
        if t.type == Token.ARRAY and t.subtype == Token.OPEN:
            items = []
            while True:
                items.append(expr())
                s = take()
                if s.type == Token.SEP:
                    continue
                break
            return ("array", items)
        raise EvaluationError(f"cannot parse {formula!r} at {t.value!r}")

    tree = expr()
    if pos != len(tokens):
        raise EvaluationError(f"cannot parse {formula!r}: trailing {tokens[pos].value!r}")
    return tree


# ----------------------------------------------------------------------------- workbook
class _Evaluator:
    def __init__(self, wb: Workbook) -> None:
        self.cells: dict[str, dict[tuple[int, int], Any]] = {}
        for ws in wb.worksheets:
            self.cells[ws.title] = {k: c for k, c in ws._cells.items() if c.value is not None}
        self.names = {name: dn.attr_text for name, dn in wb.defined_names.items()}
        self.memo: dict[tuple[str, int, int], Any] = {}
        self.ranges: dict[tuple, Arr] = {}
        self.trees: dict[str, Any] = {}
        self.parse = _Parser()
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
        tree = self.trees.get(text)
        if tree is None:
            tree = self.trees[text] = self.parse(text)
        value = self.eval(tree, sheet)
        self.active.discard(key)
        if isinstance(value, Arr):
            value = value[0] if value else None
        self.memo[key] = value
        return value

    def ref(self, text: str, sheet: str) -> Any:
        m = _REF_RE.match(text)
        if m is None:
            target = self.names.get(text)
            if target is None:
                return ExcelError("#NAME?")
            m = _REF_RE.match(target)
            if m is None:
                raise EvaluationError(f"defined name {text} -> {target} is not a cell range")
        quoted, plain, c1, r1, c2, r2 = m.groups()
        where = quoted.replace("''", "'") if quoted else plain or sheet
        if where not in self.cells:
            return REF
        col1, row1 = column_index_from_string(c1.upper()), int(r1)
        if c2 is None:
            return self.cell(where, row1, col1)
        col2, row2 = column_index_from_string(c2.upper()), int(r2)
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

    def eval(self, node: Any, sheet: str) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ref":
            return self.ref(node[1], sheet)
        if kind == "op":
            return broadcast(node[1], self.eval(node[2], sheet), self.eval(node[3], sheet))
        if kind == "neg":
            v = self.eval(node[1], sheet)
            if isinstance(v, Arr):
                return Arr([arith("-", 0, x) for x in v], v.rows, v.cols)
            return arith("-", 0, v)
        if kind == "array":
            values = [self.eval(n, sheet) for n in node[1]]
            return Arr(values, 1, len(values))
        if kind == "fn":
            name, args = node[1], node[2]
            if name == "IF":
                cond = to_bool(self.eval(args[0], sheet))
                if isinstance(cond, ExcelError):
                    return cond
                if cond:
                    return self.eval(args[1], sheet) if len(args) > 1 else True
                return self.eval(args[2], sheet) if len(args) > 2 else False
            if name == "IFERROR":
                v = self.eval(args[0], sheet)
                return self.eval(args[1], sheet) if isinstance(v, ExcelError) else v
            fn = FUNCTIONS.get(name)
            if fn is None:
                raise EvaluationError(f"function {name} is not supported by the evaluator")
            return fn([self.eval(a, sheet) for a in args])
        raise EvaluationError(f"unknown node {kind}")


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
_CELL_F_RE = re.compile(r'<c r="([A-Z]+[0-9]+)"((?: s="\d+")?)((?: t="\w+")?)><f>((?:[^<]|<(?!/f>))*)</f><v\s*/>'
                        r"(?:</v>)?</c>")


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
