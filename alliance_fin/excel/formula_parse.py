"""Formulas to Python: the parser and the compiler of :mod:`alliance_fin.excel.evaluate`.

:func:`parse_formula` turns a formula's text into a tree of tuples; :class:`Compiler` turns that
tree into nested closures, ``fn(evaluator, sheet, digits)``, compiled once per *template*: the
formula with its digit groups taken out. The formulas of one column (``B5*C5``, ``B6*C6``, ...)
share one template and differ only in the digits passed in, so a 10,000-row column is
tokenized and compiled once. The evaluator the closures call provides ``ref(text, sheet)`` (any
reference as written), ``at(sheet, row, col)`` (one cell) and
``area(sheet, row1, col1, row2, col2)`` (a range).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils import column_index_from_string

from alliance_fin.excel.formula_functions import (
    FUNCTIONS,
    Arr,
    EvaluationError,
    ExcelError,
    arith,
    broadcast,
    to_bool,
)

__all__ = ["REF_RE", "Compiled", "Compiler", "parse_formula"]

#: A function evaluating one formula: ``fn(evaluator, sheet, digits) -> value``.
Compiled = Callable[[Any, str, list[str]], Any]

REF_RE = re.compile(r"^(?:(?:'((?:[^']|'')+)'|([A-Za-z0-9_.]+))!)?\$?([A-Za-z]{1,3})\$?(\d+)"
                     r"(?::\$?([A-Za-z]{1,3})\$?(\d+))?$")
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


class _Template:
    """A formula template compiled once: a function of the formula's digit groups.

    Formulas of one column differ only in row numbers, so formulas equal up to their digits
    (``B5*C5``, ``B6*C6``) share one template. :func:`_compile` turns its parse tree into nested
    closures that evaluate the formula from the digit groups (as strings, in order) directly:
    no tree is rebuilt per formula, and a cell reference on a fixed sheet and column becomes an
    ``int()`` of its row digits rather than a regular-expression match.
    """

    __slots__ = ("fn", "n")

    def __init__(self, fn: Compiled, n: int) -> None:
        self.fn, self.n = fn, n


class Compiler:
    """Compiles formulas, once per template: the formula with each digit group taken out.

    Formulas of one column differ only in row numbers: tokenizing each of them took most of
    the evaluation time, and then renumbering a copy of the template's tree per formula (what
    this did before the compiled templates) a fifth of it.
    """

    def __init__(self) -> None:
        self.templates: dict[str, _Template] = {}

    def __call__(self, formula: str) -> tuple[Compiled, list[str]]:
        """``(fn, digits)``: the formula's value is ``fn(evaluator, sheet, digits)``."""
        key = _DIGITS.sub("\0", formula)  # NUL: no formula text holds one (XML cannot), so keys never collide
        digits = _DIGITS.findall(formula)
        template = self.templates.get(key)
        if template is not None and template.n == len(digits):
            return template.fn, digits
        tree = parse_formula(formula)
        fn, used = _compile(tree, [0])
        if used == len(digits):  # every digit group sits in a leaf: the template serves its siblings
            self.templates[key] = _Template(fn, used)
            return fn, digits
        # a digit group outside any leaf (e.g. in a function name): this formula only, as written
        fixed, _ = _compile(tree, None)
        return fixed, []


def parse_formula(formula: str) -> Any:
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


_NUMBER_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "=": operator.eq, "<>": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}


def _digit_text(token: str, start: int | None) -> Callable[[list[str]], str]:
    """The token's text with its digit groups taken from ``digits[start:]`` (``None``: as written)."""
    n = len(_DIGITS.findall(token))
    if start is None or not n:
        return lambda digits: token
    fmt = _DIGITS.sub("{}", token.replace("{", "{{").replace("}", "}}"))
    stop = start + n
    return lambda digits: fmt.format(*digits[start:stop])


def _compile_ref(token: str, start: int | None) -> Compiled:
    """A reference leaf. A cell or range whose digit groups are exactly its row numbers is
    resolved here, once: at evaluation only the rows are read from the digits."""
    m = REF_RE.match(token)
    spans = [g.span() for g in _DIGITS.finditer(token)]
    if m is None or [m.span(4)] + ([m.span(6)] if m.group(6) else []) != spans:
        text = _digit_text(token, start)  # a defined name, or digits in a sheet's name
        return lambda ev, sheet, digits: ev.ref(text(digits), sheet)
    quoted, plain, c1, r1, c2, r2 = m.groups()
    fixed = quoted.replace("''", "'") if quoted else plain
    col1 = column_index_from_string(c1.upper())
    if start is None:
        row1 = int(r1)
        if c2 is None:
            return lambda ev, sheet, digits: ev.at(fixed or sheet, row1, col1)
        col2, row2 = column_index_from_string(c2.upper()), int(r2)
        return lambda ev, sheet, digits: ev.area(fixed or sheet, row1, col1, row2, col2)
    if c2 is None:
        return lambda ev, sheet, digits: ev.at(fixed or sheet, int(digits[start]), col1)
    col2, second = column_index_from_string(c2.upper()), start + 1
    return lambda ev, sheet, digits: ev.area(fixed or sheet, int(digits[start]), col1, int(digits[second]), col2)


def _compile(node: Any, counter: list[int] | None) -> tuple[Compiled, int]:
    """``(fn, used)``: ``fn(evaluator, sheet, digits)`` evaluates the parse tree ``node``.

    ``counter`` holds the index of the next digit group (``None``: every leaf as written); the
    leaves take their digit groups in order, ``used`` says how many they took in all.
    """
    kind = node[0]
    if kind in ("lit", "ref"):
        start = None
        if counter is not None and len(node) == 4:
            start = counter[0]
            counter[0] += len(_DIGITS.findall(node[3]))
        used = counter[0] if counter is not None else 0
        if kind == "ref":
            return _compile_ref(node[3], start), used
        if len(node) == 4 and start is not None and _DIGITS.search(node[3]):
            text, leaf_kind = _digit_text(node[3], start), node[2]
            return (lambda ev, sheet, digits: _leaf(leaf_kind, text(digits))[1]), used
        value = node[1]
        return (lambda ev, sheet, digits: value), used
    if kind == "op":
        op = node[1]
        left, _ = _compile(node[2], counter)
        right, used = _compile(node[3], counter)
        fast = _NUMBER_OPS.get(op)
        if fast is None:
            return (lambda ev, sheet, digits: broadcast(op, left(ev, sheet, digits), right(ev, sheet, digits))), used
        divide = op == "/"

        def op_fn(ev: Any, sheet: str, digits: list[str]) -> Any:
            a, b = left(ev, sheet, digits), right(ev, sheet, digits)
            ta, tb = type(a), type(b)
            # plain numbers: the operator itself, as broadcast does for arrays (the same results)
            if (ta is float or ta is int) and (tb is float or tb is int) and not (divide and b == 0):
                return fast(a, b)
            return broadcast(op, a, b)

        return op_fn, used
    if kind == "neg":
        inner, used = _compile(node[1], counter)

        def neg_fn(ev: Any, sheet: str, digits: list[str]) -> Any:
            v = inner(ev, sheet, digits)
            if isinstance(v, Arr):
                return Arr([arith("-", 0, x) for x in v], v.rows, v.cols)
            return arith("-", 0, v)

        return neg_fn, used
    if kind in ("array", "fn"):
        items = node[1] if kind == "array" else node[2]
        args = [_compile(a, counter)[0] for a in items]
        used = counter[0] if counter is not None else 0
        if kind == "array":
            return (lambda ev, sheet, digits: Arr([a(ev, sheet, digits) for a in args], 1, len(args))), used
        return _compile_fn(node[1], args), used
    raise EvaluationError(f"unknown node {kind}")


def _compile_fn(name: str, args: list[Compiled]) -> Compiled:
    """A function call; IF and IFERROR evaluate only the branch they take."""
    if name == "IF":
        def if_fn(ev: Any, sheet: str, digits: list[str]) -> Any:
            cond = to_bool(args[0](ev, sheet, digits))
            if isinstance(cond, ExcelError):
                return cond
            if cond:
                return args[1](ev, sheet, digits) if len(args) > 1 else True
            return args[2](ev, sheet, digits) if len(args) > 2 else False

        return if_fn
    if name == "IFERROR":
        def iferror_fn(ev: Any, sheet: str, digits: list[str]) -> Any:
            v = args[0](ev, sheet, digits)
            return args[1](ev, sheet, digits) if isinstance(v, ExcelError) else v

        return iferror_fn
    fn = FUNCTIONS.get(name)
    if fn is None:
        def unsupported(ev: Any, sheet: str, digits: list[str]) -> Any:
            raise EvaluationError(f"function {name} is not supported by the evaluator")

        return unsupported
    return lambda ev, sheet, digits: fn([a(ev, sheet, digits) for a in args])
