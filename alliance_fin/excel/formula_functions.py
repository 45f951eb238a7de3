"""Values, coercion and the spreadsheet functions of :mod:`alliance_fin.excel.evaluate`.

Semantics follow LibreOffice where it and Excel differ: a boolean counts as the number 1 or 0,
text compares without regard to case, an empty cell is 0, "" or FALSE as the other operand needs.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FUNCTIONS", "REF", "Arr", "EvaluationError", "ExcelError", "arith", "broadcast", "compare", "to_bool",
           "to_number", "to_text", "type_rank"]


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


# ----------------------------------------------------------------------------- coercion
def to_number(v: Any) -> float | ExcelError:
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


def to_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.15g}"
    return str(v)


def to_bool(v: Any) -> bool | ExcelError:
    if isinstance(v, ExcelError):
        return v
    if isinstance(v, str):
        up = v.upper()
        if up in ("TRUE", "FALSE"):
            return up == "TRUE"
        return VALUE
    n = to_number(v)
    return n if isinstance(n, ExcelError) else n != 0


def type_rank(v: Any) -> int:
    return 2 if isinstance(v, bool) else 1 if isinstance(v, str) else 0


def compare(a: Any, b: Any, op: str) -> bool | ExcelError:
    for v in (a, b):
        if isinstance(v, ExcelError):
            return v
    if a is None:
        a = "" if isinstance(b, str) else False if isinstance(b, bool) else 0
    if b is None:
        b = "" if isinstance(a, str) else False if isinstance(a, bool) else 0
    ra, rb = type_rank(a), type_rank(b)
    if ra != rb:
        c = (ra > rb) - (ra < rb)
    elif ra == 1:
        x, y = a.lower(), b.lower()
        c = (x > y) - (x < y)
    else:
        c = (a > b) - (a < b)
    return {"=": c == 0, "<>": c != 0, "<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0}[op]


def arith(op: str, a: Any, b: Any) -> Any:
    if op == "&":
        for v in (a, b):
            if isinstance(v, ExcelError):
                return v
        return to_text(a) + to_text(b)
    if op in ("=", "<>", "<", ">", "<=", ">="):
        return compare(a, b, op)
    x, y = to_number(a), to_number(b)
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


def broadcast(op: str, a: Any, b: Any) -> Any:
    a_arr, b_arr = isinstance(a, Arr), isinstance(b, Arr)
    if not (a_arr or b_arr):
        return arith(op, a, b)
    shape = a if a_arr else b
    n = len(shape)
    if a_arr and b_arr and len(a) != len(b):
        return Arr([NA] * n, shape.rows, shape.cols)
    xs = a if a_arr else [a] * n
    ys = b if b_arr else [b] * n
    fast = _NUMERIC_OPS.get(op)
    if fast is not None:
        # plain numbers (and, in + - * /, booleans, which count as 1 and 0 there): the operator
        # itself, without arith's coercions (the same results)
        kinds = _ARITH_TYPES if op in _ARITH_OPS else _NUMBER_TYPES
        if {*map(type, xs)} <= kinds and {*map(type, ys)} <= kinds and not (op == "/" and 0 in ys):
            return Arr(list(map(fast, xs, ys)), shape.rows, shape.cols)
        if op in ("=", "<>"):
            text = b if not b_arr and isinstance(b, str) else a if not a_arr and isinstance(a, str) else None
            equal = None if text is None else _equal_to_text(xs if b is text else ys, text)
            if equal is not None:
                return Arr(equal if op == "=" else [not e for e in equal], shape.rows, shape.cols)
    return Arr([arith(op, x, y) for x, y in zip(xs, ys)], shape.rows, shape.cols)


_NUMERIC_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "=": operator.eq, "<>": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}
_ARITH_OPS = frozenset("+-*/")
_NUMBER_TYPES = frozenset((int, float))
_ARITH_TYPES = frozenset((int, float, bool))


def _equal_to_text(values: list, text: str) -> list[bool] | None:
    """``value = text`` for each value as :func:`compare` decides it (text without regard to case,
    an empty cell as "", a number or boolean never equal); None when a value is an error."""
    low = text.lower()
    out = []
    for v in values:
        t = type(v)
        if t is str:
            out.append(v.lower() == low)
        elif v is None:
            out.append(low == "")
        elif t is int or t is float or t is bool:
            out.append(False)
        else:
            return None
    return out


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
            return lambda v: (isinstance(v, (int, float)) and compare(v, operand, op) is True)
        low = operand.lower()
        if op == "=":
            return lambda v: isinstance(v, str) and v.lower() == low
        if op == "<>":
            return lambda v: not (isinstance(v, str) and v.lower() == low)
        return lambda v: isinstance(v, str) and compare(v, operand, op) is True
    if crit is None:
        crit = 0
    if isinstance(crit, (bool, int, float)):
        target = float(crit)
        return lambda v: isinstance(v, (bool, int, float)) and float(v) == target
    raise EvaluationError(f"criterion {crit!r} is not supported")


def _positions(rng: Arr, kind: str, key: Any) -> list[int]:
    """Ascending positions in ``rng`` of the values equal to ``key``, from an index of the range
    built on first use: ``kind`` ``"text"`` (any case; ``key`` lowered), ``"number"`` (an int or
    float, not a boolean) or ``"scalar"`` (a boolean, int or float, as a number). A workbook's
    ranges are evaluated once and shared, so a column's SUMIFS/COUNTIFS/MATCH formulas (one per
    row, each over the whole column) look their rows up instead of testing every cell again."""
    indexes = rng.__dict__.setdefault("_indexes", {})
    index = indexes.get(kind)
    if index is None:
        index = indexes[kind] = {}
        for i, v in enumerate(rng):
            if kind == "text":
                if isinstance(v, str):
                    index.setdefault(v.lower(), []).append(i)
            elif isinstance(v, (int, float)) and (kind == "scalar" or not isinstance(v, bool)):
                index.setdefault(v, []).append(i)  # 1, 1.0 and TRUE are one key, as float() makes them
    return index.get(key, [])


def _lookup(rng: Arr, crit: Any) -> list[int] | None:
    """The positions :func:`_criterion` would match, from the range's index; None when the
    criterion is not a plain equality (then every cell is tested)."""
    if isinstance(crit, str):
        op, rest = _CRIT_RE.match(crit).groups()
        if op not in (None, "=") or not rest.strip():
            return None
        try:
            number = float(rest)
        except ValueError:
            return _positions(rng, "text", rest.lower())
        return _positions(rng, "number", number) if math.isfinite(number) else None
    if crit is None or isinstance(crit, (bool, int, float)):
        target = float(crit or 0)
        return _positions(rng, "scalar", target) if math.isfinite(target) else None
    return None


def _ifs(ranges_and_criteria: list[Any]) -> tuple[int | None, list[int]] | ExcelError:
    """``(n, positions)``: the ranges' common length (None without any) and the ascending
    positions where every criterion holds."""
    if len(ranges_and_criteria) % 2:
        return VALUE
    n: int | None = None
    hits: list[int] = []
    for rng, crit in zip(ranges_and_criteria[::2], ranges_and_criteria[1::2]):
        if isinstance(crit, ExcelError):
            return crit
        rng = rng if isinstance(rng, Arr) else Arr([rng], 1, 1)
        if n is not None and len(rng) != n:
            return VALUE
        if n is None:
            n = len(rng)
            found = _lookup(rng, crit)
            if found is None:
                test = _criterion(crit)
                found = [i for i, v in enumerate(rng) if test(v)]
            hits = found
        else:  # only the positions the first criteria left
            test = _criterion(crit)
            hits = [i for i in hits if test(rng[i])]
    return n, hits


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
            n = to_number(a)
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
    found = _ifs(args[1:])
    if isinstance(found, ExcelError):
        return found
    n, hits = found
    values = args[0] if isinstance(args[0], Arr) else Arr([args[0]], 1, 1)
    if len(values) != (n or 0):
        return VALUE
    total = 0.0
    for i in hits:
        v = values[i]
        if isinstance(v, ExcelError):
            return v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            total += v
    return total


def _fn_countifs(args):
    found = _ifs(args)
    return found if isinstance(found, ExcelError) else len(found[1])


def _fn_index(args):
    arr = args[0] if isinstance(args[0], Arr) else Arr([args[0]], 1, 1)
    nums = [to_number(a) for a in args[1:]]
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
    kind = to_number(args[2]) if len(args) > 2 else 1
    if isinstance(value, ExcelError):
        return value
    arr = arr if isinstance(arr, Arr) else Arr([arr], 1, 1)
    if kind != 0:
        raise EvaluationError("MATCH is supported with match type 0 only")
    if isinstance(value, str) or type(value) in (int, float) and math.isfinite(value):
        found = _positions(arr, "text", value.lower()) if isinstance(value, str) else _positions(arr, "number", value)
        return found[0] + 1 if found else NA
    for k, v in enumerate(arr, start=1):
        if v is not None and type_rank(v) == type_rank(value if value is not None else 0) and \
                compare(v, value, "=") is True:
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
            b = to_bool(v)
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
    x, d = to_number(args[0]), to_number(args[1]) if len(args) > 1 else 0
    if isinstance(x, ExcelError) or isinstance(d, ExcelError):
        return x if isinstance(x, ExcelError) else d
    q = 10.0 ** int(d)
    return math.copysign(math.floor(abs(x) * q + 0.5), x) / q


def _value(a):
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        return a
    n = to_number(to_text(a))
    return n


def _int(a):
    n = to_number(a)
    return n if isinstance(n, ExcelError) else math.floor(n)


def _abs(a):
    n = to_number(a)
    return n if isinstance(n, ExcelError) else abs(n)


def _not(a):
    b = to_bool(a)
    return b if isinstance(b, ExcelError) else not b


FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "SUM": _fn_sum, "MIN": _fn_min, "MAX": _fn_max, "SUMPRODUCT": _fn_sumproduct,
    "SUMIFS": _fn_sumifs, "COUNTIFS": _fn_countifs, "INDEX": _fn_index, "MATCH": _fn_match,
    "AND": lambda a: _logical(a, all), "OR": lambda a: _logical(a, any),
    "NOT": _one(_not), "ABS": _one(_abs), "INT": _one(_int), "VALUE": _one(_value),
    "LEN": _one(lambda a: len(to_text(a))),
    "LOWER": _one(lambda a: to_text(a).lower()),
    "TRIM": _one(lambda a: re.sub(" +", " ", to_text(a)).strip()),
    "ISNUMBER": lambda a: len(a) == 1 and isinstance(a[0], (int, float)),
    "ROWS": lambda a: a[0].rows if isinstance(a[0], Arr) else 1,
    "ROUND": _round,
}
LAZY = ("IF", "IFERROR")


