"""Cached values: every formula cell carries its value, equal to LibreOffice's recalculation.

A viewer without a calculation engine (a mail or phone preview, ``pandas.read_excel``) reads
the cached ``<v>`` of each formula cell. The fast tests check the values are there and agree
with the library; the slow test compares ``pandas.read_excel`` of every sheet, with no
recalculation, against the same sheet after LibreOffice recalculated the workbook, to the
tolerance the Checks sheet states, for all four reports.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import libreoffice as lo  # tests/libreoffice.py
import openpyxl
import pandas as pd
import pytest

from alliance_fin.excel.core import ABS_TOL, REL_TOL, Book, Formula
from alliance_fin.excel.evaluate import EvaluationError, ExcelError, evaluate_workbook
from alliance_fin.excel.milestones import write_milestones_workbook
from alliance_fin.excel.plan_vs_actual import write_plan_vs_actual_workbook
from alliance_fin.excel.savings import write_savings_workbook
from alliance_fin.excel.trimming import write_trimming_workbook
from alliance_fin.present.milestones import build_milestones_report
from alliance_fin.present.plan_vs_actual import build_plan_vs_actual_report
from alliance_fin.present.savings import build_savings_report
from alliance_fin.present.trimming import build_trimming_report

RUN_INFO = {"run_id": "cached", "scenario": "base", "created": "2024-05-01T12:00:00",
            "data_file": "lineup.csv", "data_sha256": "0" * 64, "version": "0.1.0"}
WRITERS = {
    "savings": (build_savings_report, write_savings_workbook, {"currency": "GBP"}),
    "range_trimming": (build_trimming_report, write_trimming_workbook, {"cut": "R06"}),
    "milestones": (build_milestones_report, write_milestones_workbook, {"launch_delay_years": 1}),
    "plan_vs_actual": (build_plan_vs_actual_report, write_plan_vs_actual_workbook, {}),
}


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("cached")
    paths = {}
    for name, (build, write, params) in WRITERS.items():
        paths[name] = out / f"{name}.xlsx"
        write(paths[name], build(**params), run_info=RUN_INFO)
    return paths


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= max(ABS_TOL, REL_TOL * abs(b))
    return a == b


def _same_frames(ours: pd.DataFrame, theirs: pd.DataFrame, where: str) -> list[str]:
    assert ours.shape == theirs.shape, where
    bad = []
    for j in range(ours.shape[1]):
        for i in range(ours.shape[0]):
            a, b = ours.iat[i, j], theirs.iat[i, j]
            a = float(a) if isinstance(a, (int, float)) and not isinstance(a, bool) else a
            b = float(b) if isinstance(b, (int, float)) and not isinstance(b, bool) else b
            if not _close(a, b):
                bad.append(f"{where} row {i + 2} col {j + 1}: cached {a!r}, LibreOffice {b!r}")
    return bad


@pytest.mark.parametrize("report", list(WRITERS))
def test_every_formula_cell_has_a_cached_value(workbooks, report):
    path = workbooks[report]
    formulas = openpyxl.load_workbook(path)
    with zipfile.ZipFile(path) as zf:
        sheets = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
    cells = [m for xml in sheets for m in re.findall(r"<c ([^>]*)><f>(?:[^<]*)</f>(<v\s*/>|<v>[^<]*</v>)?", xml)]
    assert cells
    # every formula cell has a value; an empty one is the empty text a formula such as A2&"" gives
    missing = [c for c in cells if not c[1] or c[1].startswith("<v ") or c[1] == "<v/>"
               or (c[1] == "<v></v>" and 't="str"' not in c[0])]
    assert missing == []
    assert formulas.calculation.fullCalcOnLoad  # Excel and LibreOffice still recompute on opening
    # the library's figures, read as pandas reads them (no calculation engine): Checks all ok
    checks = pd.read_excel(path, sheet_name="Checks").dropna(subset=["library_value"])
    assert len(checks) >= 4 and checks["ok"].astype(bool).all()


_WRITE_WITH = """\
import sys, openpyxl
from alliance_fin.excel.savings import write_savings_workbook
from alliance_fin.present.savings import build_savings_report
assert openpyxl.LXML == (sys.argv[2] == "True"), ("openpyxl.LXML", openpyxl.LXML)
write_savings_workbook(sys.argv[1], build_savings_report(), run_info={"run_id": "w", "scenario": "base",
    "created": "2024-05-01T12:00:00", "data_file": "lineup.csv", "data_sha256": "0" * 64, "version": "0.1.0"})
"""


def test_cached_values_with_either_of_openpyxl_writers(tmp_path):
    """openpyxl writes with lxml when it is installed (``<v></v>`` for an empty value) and with
    xml.etree otherwise (``<v />``); the cached values go in with either, and are the same.
    Once only ``<v />`` was recognised: with lxml installed, no formula cell had its value."""
    import os
    import subprocess
    import sys

    import lxml  # noqa: F401  (a test dependency, so that both writers are tested: missing, this fails)

    values = {}
    for lxml_on in ("True", "False"):
        path = tmp_path / f"lxml-{lxml_on}.xlsx"
        done = subprocess.run([sys.executable, "-c", _WRITE_WITH, str(path), lxml_on], capture_output=True, text=True,
                              env={**os.environ, "OPENPYXL_LXML": lxml_on}, timeout=300)
        assert done.returncode == 0, done.stderr
        with zipfile.ZipFile(path) as zf:
            xml = "".join(zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/sheet"))
        assert len(re.findall(r"<f>", xml)) > 1000
        assert re.findall(r'<c r="(\w+)"(?:(?! t="str")[^>])*><f>[^<]*</f>(?:<v\s*/>|<v></v>)', xml) == []
        book = openpyxl.load_workbook(path, data_only=True)
        values[lxml_on] = {(ws.title, c.coordinate): c.value for ws in book for row in ws.iter_rows() for c in row}
    assert values["True"] == values["False"]


def test_cached_values_keep_bytes_reproducible(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    report = build_trimming_report()
    write_trimming_workbook(tmp_path / "a.xlsx", report, run_info=RUN_INFO)
    write_trimming_workbook(tmp_path / "b.xlsx", report, run_info=RUN_INFO)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        assert "<v />" not in zf.read("xl/worksheets/sheet4.xml").decode()


@pytest.mark.parametrize("formula, expected", [
    ('SUMIFS(A1:A3,B1:B3,"<>x")', 4), ('COUNTIFS(B1:B3,"x")', 1), ("SUMPRODUCT((B1:B3=\"y\")*A1:A3)", 3),
    ('INDEX(A1:A3,MATCH("Y",B1:B3,0))', 3), ('IFERROR(MATCH("z",B1:B3,0),-1)', -1),
    ("AND(A1:A3)", True), ('IF(C1="",1,2)', 1), ('C1&""', ""), ("-2^2", 4), ("ROUND(2.5,0)", 3),
    ("10/4%", 250), ('MATCH("b",{"a","b"},0)', 2), ('VALUE("2019")+1', 2020),
    # a range against a text (any case; an empty cell is ""), and booleans in arithmetic
    ('SUMPRODUCT((B1:B3="X")*A1:A3)', 2), ('SUMPRODUCT((B1:B3<>"x")*A1:A3)', 4), ('SUMPRODUCT((B1:B3="")*A1:A3)', 1),
    ('SUMPRODUCT((A1:A3="2")*1)', 0), ("SUMPRODUCT((A1:A3>1)+(A1:A3>2))", 3), ("SUMPRODUCT((A1:A3=2)/2)", 0.5),
    # equality criteria looked up in the range's index, the others tested cell by cell
    ("SUMIFS(A1:A3,A1:A3,2)", 2), ('COUNTIFS(A1:A3,"=3",B1:B3,"y")', 1), ('COUNTIFS(A1:A3,"3",B1:B3,"x")', 0),
    ('SUMIFS(A1:A3,B1:B3,"X")', 2), ("MATCH(3,A1:A3,0)", 3), ('COUNTIFS(A1:A3,">1")', 2),
    ('SUMIFS(A1:A3,B1:B2,"x")', ExcelError("#VALUE!")),
])
def test_evaluator_semantics(formula, expected):
    book = Book(title="t")
    ws = book.sheet("S")
    for r, (a, b) in enumerate([(2, "x"), (1, None), (3, "y")], start=1):
        book.put(ws, r, 1, a)
        if b is not None:
            book.put(ws, r, 2, b)
    book.put(ws, 1, 4, Formula(formula))
    assert evaluate_workbook(book.wb)["S"]["D1"] == expected


def test_evaluator_refuses_an_unknown_function():
    book = Book(title="t")
    ws = book.sheet("S")
    book.put(ws, 1, 1, Formula("XLOOKUP(1,A2:A3,A2:A3)"))
    with pytest.raises(EvaluationError, match="XLOOKUP"):
        evaluate_workbook(book.wb)


def test_formulas_equal_up_to_their_digits_share_one_compiled_template():
    """A column's formulas are compiled once; each still reads its own rows, sheets and texts."""
    from alliance_fin.excel.formula_parse import Compiler

    book = Book(title="t")
    ws = book.sheet("S")
    year_2020, year_2021 = book.sheet("Year 2020"), book.sheet("Year 2021")
    for r in range(1, 5):
        book.put(ws, r, 1, r)
        book.put(ws, r, 2, 10 * r)
        book.put(ws, r, 3, Formula(f"A{r}*B{r}+SUM($A$1:A{r})"))
        book.put(ws, r, 4, Formula(f'"row {r}: "&A{r}'))
    book.put(year_2020, 1, 1, 20)
    book.put(year_2021, 1, 1, 21)
    book.put(ws, 1, 5, Formula("'Year 2020'!A1"))  # digits in a sheet's name are not rows
    book.put(ws, 2, 5, Formula("'Year 2021'!A1"))
    book.put(ws, 1, 6, Formula('"#1"&""'))  # a formula's own "#" must not make two templates equal
    book.put(ws, 2, 6, Formula('"1#"&""'))
    book.put(ws, 3, 6, Formula("IF(A1=1,0.5,XLOOKUP(1))"))  # the branch not taken is never evaluated
    values = evaluate_workbook(book.wb)["S"]
    assert [values[f"C{r}"] for r in range(1, 5)] == [10 * r * r + r * (r + 1) // 2 for r in range(1, 5)]
    assert [values[f"D{r}"] for r in range(1, 5)] == [f"row {r}: {r}" for r in range(1, 5)]
    assert (values["E1"], values["E2"]) == (20, 21)
    assert (values["F1"], values["F2"], values["F3"]) == ("#1", "1#", 0.5)
    compiler = Compiler()
    for r in range(1, 5):
        compiler(f"A{r}*B{r}+SUM($A$1:A{r})")
    assert len(compiler.templates) == 1


@pytest.mark.slow
@pytest.mark.parametrize("report", list(WRITERS))
def test_read_excel_without_recalculation_equals_libreoffice(workbooks, tmp_path, report):
    path = workbooks[report]
    recalculated = lo.convert(path, tmp_path)
    ours = pd.read_excel(path, sheet_name=None, header=None)
    theirs = pd.read_excel(recalculated, sheet_name=None, header=None)
    assert list(ours) == list(theirs)
    bad = []
    for sheet in ours:  # every sheet: calculation, summary, Checks, Cover
        bad += _same_frames(ours[sheet], theirs[sheet], f"{report} {sheet}")
    assert bad == []
    assert lo.named_value(openpyxl.load_workbook(path, data_only=True), "checks_ok") is True
