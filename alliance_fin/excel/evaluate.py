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

import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils import column_index_from_string

__all__ = ["EvaluationError", "ExcelError", "evaluate_workbook"]


class EvaluationError(Exception):
    """A formula this evaluator does not support (a bug in the package, not in the data)."""


@dataclass(frozen=True)
class ExcelError:
    """An error value such as ``#DIV/0!``."""

    code: str


DIV0, VALUE, NA, REF, NUM = (ExcelError(c) for c in ("#DIV/0!", "#VALUE!", "#N/A", "#REF!", "#NUM!"))


class Arr(list):
    """A range or array value: a flat list of cell values with its shape (rows, cols)."""

    def __init__(self, values: list, rows: int, cols: int) -> None:
        super().__init__(values)
        self.rows, self.cols = rows, cols


_REF_RE = re.compile(r"^(?:(?:'((?:[^']|'')+)'|([A-Za-z0-9_.]+))!)?\$?([A-Za-z]{1,3})\$?(\d+)"
                     r"(?::\$?([A-Za-z]{1,3})\$?(\d+))?$")


# ----------------------------------------------------------------------------- coercion
def _num(v: Any) -> float | ExcelError:
    if isinstance(v, ExcelError):
        return v
    if v is None:
        return 0
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            return float(v.strip()) if v.strip() else VALUE
        except ValueError:
            return VALUE
    return VALUE


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.15g}"
    return str(v)


def _bool(v: Any) -> bool | ExcelError:
    if isinstance(v, ExcelError):
        return v
    if isinstance(v, str):
        up = v.upper()
        if up in ("TRUE", "FALSE"):
            return up == "TRUE"
        return VALUE
    n = _num(v)
    return n if isinstance(n, ExcelError) else n != 0


def _rank(v: Any) -> int:
    return 2 if isinstance(v, bool) else 1 if isinstance(v, str) else 0


def _compare(a: Any, b: Any, op: str) -> bool | ExcelError:
    for v in (a, b):
        if isinstance(v, ExcelError):
            return v
    if a is None:
        a = "" if isinstance(b, str) else False if isinstance(b, bool) else 0
    if b is None:
        b = "" if isinstance(a, str) else False if isinstance(a, bool) else 0
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        c = (ra > rb) - (ra < rb)
    elif ra == 1:
        x, y = a.lower(), b.lower()
        c = (x > y) - (x < y)
    else:
        c = (a > b) - (a < b)
    return {"=": c == 0, "<>": c != 0, "<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0}[op]


def _arith(op: str, a: Any, b: Any) -> Any:
    if op == "&":
        for v in (a, b):
            if isinstance(v, ExcelError):
                return v
        return _text(a) + _text(b)
    if op in ("=", "<>", "<", ">", "<=", ">="):
        return _compare(a, b, op)
    x, y = _num(a), _num(b)
    if isinstance(x, ExcelError):
        return x
    if isinstance(y, ExcelError):
        return y
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        return DIV0 if y == 0 else x / y
    if op == "^":
        try:
            r = float(x) ** float(y)
        except (OverflowError, ZeroDivisionError):
            return NUM
        return NUM if isinstance(r, complex) or not math.isfinite(r) else r
    raise EvaluationError(f"operator {op!r} is not supported")


def _broadcast(op: str, a: Any, b: Any) -> Any:
    if isinstance(a, Arr) or isinstance(b, Arr):
        n = len(a) if isinstance(a, Arr) else len(b)
        shape = a if isinstance(a, Arr) else b
        if isinstance(a, Arr) and isinstance(b, Arr) and len(a) != len(b):
            return Arr([NA] * n, shape.rows, shape.cols)
        xs = a if isinstance(a, Arr) else [a] * n
        ys = b if isinstance(b, Arr) else [b] * n
        return Arr([_arith(op, x, y) for x, y in zip(xs, ys)], shape.rows, shape.cols)
    return _arith(op, a, b)


# ----------------------------------------------------------------------------- criteria
_CRIT_RE = re.compile(r"^(<>|>=|<=|=|<|>)?(.*)$", re.S)


def _criterion(crit: Any) -> Callable[[Any], bool]:
    """SUMIFS/COUNTIFS criterion (no wildcards: this package never writes them)."""
    if isinstance(crit, str):
        op, rest = _CRIT_RE.match(crit).groups()
        try:
            operand: Any = float(rest) if rest.strip() else None
        except ValueError:
            operand = rest
        if operand is None:  # "" or "=" or "<>": empty / non-empty
            if op == "<>":
                return lambda v: not (v is None or v == "")
            return lambda v: v is None or v == ""
        op = op or "="
        if isinstance(operand, float):
            return lambda v: (isinstance(v, (int, float)) and _compare(v, operand, op) is True)
        low = operand.lower()
        if op == "=":
            return lambda v: isinstance(v, str) and v.lower() == low
        if op == "<>":
            return lambda v: not (isinstance(v, str) and v.lower() == low)
        return lambda v: isinstance(v, str) and _compare(v, operand, op) is True
    if crit is None:
        crit = 0
    if isinstance(crit, (bool, int, float)):
        target = float(crit)
        return lambda v: isinstance(v, (bool, int, float)) and float(v) == target
    raise EvaluationError(f"criterion {crit!r} is not supported")


def _ifs(ranges_and_criteria: list[Any]) -> list[bool] | ExcelError:
    if len(ranges_and_criteria) % 2:
        return VALUE
    mask: list[bool] | None = None
    for rng, crit in zip(ranges_and_criteria[::2], ranges_and_criteria[1::2]):
        if isinstance(crit, ExcelError):
            return crit
        rng = rng if isinstance(rng, Arr) else Arr([rng], 1, 1)
        test = _criterion(crit)
        hit = [test(v) for v in rng]
        if mask is not None and len(hit) != len(mask):
            return VALUE
        mask = hit if mask is None else [m and h for m, h in zip(mask, hit)]
    return mask or []


# ----------------------------------------------------------------------------- functions
def _flat_numbers(args: list[Any]) -> list[float] | ExcelError:
    out = []
    for a in args:
        if isinstance(a, Arr):
            for v in a:
                if isinstance(v, ExcelError):
                    return v
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out.append(v)
        else:
            n = _num(a)
            if isinstance(n, ExcelError):
                return n
            out.append(n)
    return out


def _fn_sum(args):
    xs = _flat_numbers(args)
    return xs if isinstance(xs, ExcelError) else sum(xs)


def _fn_min(args):
    xs = _flat_numbers(args)
    return xs if isinstance(xs, ExcelError) else (min(xs) if xs else 0)


def _fn_max(args):
    xs = _flat_numbers(args)
    return xs if isinstance(xs, ExcelError) else (max(xs) if xs else 0)


def _fn_sumproduct(args):
    arrays = [a if isinstance(a, Arr) else Arr([a], 1, 1) for a in args]
    if len({len(a) for a in arrays}) != 1:
        return VALUE
    total = 0.0
    for row in zip(*arrays):
        p = 1.0
        for v in row:
            if isinstance(v, ExcelError):
                return v
            p *= v if isinstance(v, (int, float)) else 0  # text and empty count as 0; TRUE as 1
        total += p
    return total


def _fn_sumifs(args):
    if not args:
        return VALUE
    mask = _ifs(args[1:])
    if isinstance(mask, ExcelError):
        return mask
    values = args[0] if isinstance(args[0], Arr) else Arr([args[0]], 1, 1)
    if len(values) != len(mask):
        return VALUE
    total = 0.0
    for v, m in zip(values, mask):
        if m:
            if isinstance(v, ExcelError):
                return v
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                total += v
    return total


def _fn_countifs(args):
    mask = _ifs(args)
    return mask if isinstance(mask, ExcelError) else sum(mask)


def _fn_index(args):
    arr = args[0] if isinstance(args[0], Arr) else Arr([args[0]], 1, 1)
    nums = [_num(a) for a in args[1:]]
    for n in nums:
        if isinstance(n, ExcelError):
            return n
    if len(nums) == 1:
        i, j = (int(nums[0]), 1) if arr.cols == 1 else (1, int(nums[0])) if arr.rows == 1 else (int(nums[0]), 1)
    else:
        i, j = int(nums[0]), int(nums[1])
    if not (1 <= i <= arr.rows and 1 <= j <= arr.cols):
        return REF
    return arr[(i - 1) * arr.cols + (j - 1)]


def _fn_match(args):
    value, arr = args[0], args[1]
    kind = _num(args[2]) if len(args) > 2 else 1
    if isinstance(value, ExcelError):
        return value
    arr = arr if isinstance(arr, Arr) else Arr([arr], 1, 1)
    if kind != 0:
        raise EvaluationError("MATCH is supported with match type 0 only")
    for k, v in enumerate(arr, start=1):
        if v is not None and _rank(v) == _rank(value if value is not None else 0) and \
                _compare(v, value, "=") is True:
            return k
    return NA


def _logical(args, combine):
    flags = []
    for a in args:
        items = a if isinstance(a, Arr) else [a]
        for v in items:
            if isinstance(v, ExcelError):
                return v
            if isinstance(a, Arr) and (v is None or isinstance(v, str)):
                continue  # text and empty cells in a range are ignored
            b = _bool(v)
            if isinstance(b, ExcelError):
                return b
            flags.append(b)
    return VALUE if not flags else combine(flags)


def _one(f):
    def g(args):
        if len(args) != 1:
            return VALUE
        a = args[0]
        if isinstance(a, Arr):  # inside SUMPRODUCT a one-argument function maps over an array
            return Arr([v if isinstance(v, ExcelError) else f(v) for v in a], a.rows, a.cols)
        return a if isinstance(a, ExcelError) else f(a)
    return g


def _round(args):
    x, d = _num(args[0]), _num(args[1]) if len(args) > 1 else 0
    if isinstance(x, ExcelError) or isinstance(d, ExcelError):
        return x if isinstance(x, ExcelError) else d
    q = 10.0 ** int(d)
    return math.copysign(math.floor(abs(x) * q + 0.5), x) / q


def _value(a):
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        return a
    n = _num(_text(a))
    return n


def _int(a):
    n = _num(a)
    return n if isinstance(n, ExcelError) else math.floor(n)


def _abs(a):
    n = _num(a)
    return n if isinstance(n, ExcelError) else abs(n)


def _not(a):
    b = _bool(a)
    return b if isinstance(b, ExcelError) else not b


FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "SUM": _fn_sum, "MIN": _fn_min, "MAX": _fn_max, "SUMPRODUCT": _fn_sumproduct,
    "SUMIFS": _fn_sumifs, "COUNTIFS": _fn_countifs, "INDEX": _fn_index, "MATCH": _fn_match,
    "AND": lambda a: _logical(a, all), "OR": lambda a: _logical(a, any),
    "NOT": _one(_not), "ABS": _one(_abs), "INT": _one(_int), "VALUE": _one(_value),
    "LEN": _one(lambda a: len(_text(a))),
    "LOWER": _one(lambda a: _text(a).lower()),
    "TRIM": _one(lambda a: re.sub(" +", " ", _text(a)).strip()),
    "ISNUMBER": lambda a: len(a) == 1 and isinstance(a[0], (int, float)),
    "ROWS": lambda a: a[0].rows if isinstance(a[0], Arr) else 1,
    "ROUND": _round,
}
LAZY = ("IF", "IFERROR")


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
            values = [self.cell(where, r, c) for r in range(row1, row2 + 1) for c in range(col1, col2 + 1)]
            arr = self.ranges[key] = Arr(values, row2 - row1 + 1, col2 - col1 + 1)
        return arr

    def eval(self, node: Any, sheet: str) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ref":
            return self.ref(node[1], sheet)
        if kind == "op":
            return _broadcast(node[1], self.eval(node[2], sheet), self.eval(node[3], sheet))
        if kind == "neg":
            v = self.eval(node[1], sheet)
            if isinstance(v, Arr):
                return Arr([_arith("-", 0, x) for x in v], v.rows, v.cols)
            return _arith("-", 0, v)
        if kind == "array":
            values = [self.eval(n, sheet) for n in node[1]]
            return Arr(values, 1, len(values))
        if kind == "fn":
            name, args = node[1], node[2]
            if name == "IF":
                cond = _bool(self.eval(args[0], sheet))
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
            for (row, col), c in sorted(ev.cells[ws.title].items()):
                if c.data_type == "f":
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
