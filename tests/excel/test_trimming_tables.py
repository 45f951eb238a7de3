"""The range-trimming workbook's Counts and Plans sheets (the HTML's counts and plans tables).

Fast tests read the cached values (``pandas.read_excel`` without recalculation) and compare them
with the engine's tables on the packaged data; the slow tests let LibreOffice recalculate, also
after an edit of ``reference_year`` and ``min_volume`` in the workbook, and compare with the
library run with the same parameter.
"""

from __future__ import annotations

from pathlib import Path

import libreoffice as lo  # tests/libreoffice.py
import openpyxl
import pandas as pd
import pytest

from alliance_fin.excel.trimming import write_trimming_workbook
from alliance_fin.present.trimming import build_trimming_report

RUN_INFO = {"run_id": "tables", "scenario": "base", "created": "2024-05-01T12:00:00"}


def _read(path: Path, sheet: str) -> pd.DataFrame:
    # keep_default_na=False: the region "NA" (North America) is a name, not a missing value
    frame = pd.read_excel(path, sheet_name=sheet, keep_default_na=False, na_values=[""])
    return frame.dropna(subset=[frame.columns[2]]).reset_index(drop=True)  # the note below the table


def _as_engine(counts: pd.DataFrame) -> pd.DataFrame:
    """The sheet's rows as the engine lists them: groups with no model before nor after left out."""
    keep = counts["dimension"].eq("total") | counts["before"].gt(0) | counts["after"].gt(0)
    return counts[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> tuple[Path, object]:
    report = build_trimming_report()
    path = tmp_path_factory.mktemp("trim") / "range_trimming.xlsx"
    write_trimming_workbook(path, report, run_info=RUN_INFO)
    return path, report


def test_counts_sheet_equals_the_engine_counts(book):
    path, report = book
    counts = _read(path, "Counts")
    assert counts.columns.tolist() == ["dimension", "group", "before", "after", "change"]
    pd.testing.assert_frame_equal(_as_engine(counts), report.tables["counts"], check_dtype=False)
    total = counts.iloc[0]
    assert (total["dimension"], total["group"]) == ("total", "all")
    assert (total["before"], total["after"]) == (report.headline["models_before"], report.headline["models_after"])
    for dim in ("member", "segment", "region"):
        rows = counts[counts["dimension"].eq(dim)]
        assert rows["before"].sum() == total["before"] and rows["after"].sum() == total["after"], dim


def test_counts_are_live_formulas_over_the_calculation_sheet(book):
    path, _ = book
    ws = openpyxl.load_workbook(path)["Counts"]
    for row in ws.iter_rows(min_row=2, max_row=4):
        for cell in row[2:5]:
            assert cell.data_type == "f", cell.coordinate
    assert "'Trim calc'!" in ws["C3"].value and "B3" in ws["C3"].value  # the member row counts its own group


def test_plans_sheet_equals_the_engine_plans(book):
    path, report = book
    plans = _read(path, "Plans")
    expected = report.tables["plans"]
    assert plans.columns.tolist() == expected.columns.tolist()
    pd.testing.assert_frame_equal(plans, expected, check_dtype=False)
    nissan = plans.set_index("plan").loc["Nissan NEXT"]
    assert (nissan["lineup_models_before"], nissan["lineup_models_after"]) == (49, 28)
    ws = openpyxl.load_workbook(path)["Plans"]
    assert all(ws.cell(row=2, column=j).data_type == "f" for j in (9, 10, 11))  # line-up figures: formulas
    assert ws.cell(row=2, column=4).data_type == "n"  # published figures: data


def test_checks_prove_the_new_tables(book):
    path, _ = book
    checks = pd.read_excel(path, sheet_name="Checks").dropna(subset=["library_value"])
    labels = checks["check"].tolist()
    for label in ("counts: total models before (Counts)", "counts: groups by region add up to the total "
                  "(before + after)", "plans: Renaulution line-up change share"):
        assert label in labels
    assert checks["ok"].astype(bool).all()
    assert lo.named_value(openpyxl.load_workbook(path, data_only=True), "checks_ok") is True


def test_cover_lists_the_new_sheets(book):
    path, _ = book
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames.index("By member") < wb.sheetnames.index("Counts") < wb.sheetnames.index("Plans")
    cover = [c.value for row in wb["Cover"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "Counts" in cover and "Plans" in cover


@pytest.mark.slow
def test_libreoffice_computes_the_cached_counts_and_plans(book, tmp_path):
    path, _ = book
    recalculated = lo.convert(path, tmp_path)
    for sheet in ("Counts", "Plans"):
        pd.testing.assert_frame_equal(_read(recalculated, sheet), _read(path, sheet), check_dtype=False)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "value"), [("reference_year", 2021), ("min_volume", 60000)],
                         ids=["reference-2021", "min-volume-60000"])
def test_an_edited_input_moves_the_counts_as_the_library_predicts(book, tmp_path, name, value):
    path, _ = book
    wb = openpyxl.load_workbook(path)
    (sheet, ref), = list(wb.defined_names[name].destinations)
    wb[sheet][ref.replace("$", "")].value = value
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    expected = build_trimming_report(**{name: value})
    recalculated = lo.convert(edited, tmp_path / "lo")
    counts = _read(recalculated, "Counts")
    pd.testing.assert_frame_equal(_as_engine(counts), expected.tables["counts"], check_dtype=False)
    assert counts.iloc[0]["before"] != 112 or counts.iloc[0]["after"] != 72  # the edit moved the figures
    plans = _read(recalculated, "Plans")
    assert plans["lineup_change_share"].tolist() == pytest.approx(
        expected.tables["plans"]["lineup_change_share"].tolist(), rel=1e-9)


def test_by_member_rows_follow_the_html_table(book):
    path, report = book
    html_order = report.tables["before_after"]["member"].tolist()
    assert html_order == ["Renault", "Nissan", "Mitsubishi"]  # the member order of every other table and chart
    sheet = pd.read_excel(path, sheet_name="By member")
    assert sheet["member"].tolist()[:3] == html_order
