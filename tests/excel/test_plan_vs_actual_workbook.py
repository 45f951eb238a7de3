"""The plan-against-outcome workbook: sheets, LibreOffice recalculation, and a live bridge."""

from __future__ import annotations

import libreoffice
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from alliance_fin.engines.plan_vs_actual import CAUSES
from alliance_fin.excel.plan_vs_actual import write_plan_vs_actual_workbook
from alliance_fin.present.plan_vs_actual import build_plan_vs_actual_report

NAMES = ["savings_plan_eur_m", "savings_actual_eur_m", *(f"bridge_{key}_eur_m" for key, _ in CAUSES),
         "savings_planned_models_eur_m", "savings_realisation_rate_planned_models"]


@pytest.fixture(scope="module")
def report():
    return build_plan_vs_actual_report()


def _library(report) -> dict[str, float]:
    checks = report.results["checks"]
    return {name: checks[name] for name in NAMES}


def test_sheets_and_one_variance_row_per_model(report, tmp_path):
    path = tmp_path / "plan_vs_actual.xlsx"
    assert write_plan_vs_actual_workbook(path, report, run_info={"run_id": "t"}) == []
    wb = load_workbook(path)
    assert wb.sheetnames == ["Cover", "Assumptions", "Data", "Plan", "Bridge calc", "Variance", "Targets",
                             "Events", "Checks"]
    variance = wb["Variance"]
    library = report.results["plan_vs_actual"].models
    ids = [variance.cell(r, 1).value for r in range(2, len(library) + 2)]
    assert ids == library.index.tolist()  # plan order, then the added models
    assert variance.cell(2, 12).value.startswith("='Bridge calc'!")  # planned saving: a live formula
    assert {"checks_ok", "savings_realisation_rate", "bridge_delays_eur_m", "savings_planned_models_eur_m",
            "savings_realisation_rate_planned_models"} <= set(wb.defined_names)
    # like for like: the bridge's running total before its additions (row 7), over the planned savings
    (sheet, ref), = wb.defined_names["savings_realisation_rate_planned_models"].destinations
    cell = wb[sheet][ref.replace("$", "")]
    value, cumulative = cell.column_letter, get_column_letter(cell.column + 1)
    assert cell.value == f'=IF({value}2<>0,{cumulative}7/{value}2,IF({cumulative}7=0,1,""))'
    assert wb[sheet].cell(7, cell.column - 1).value.startswith("other changes")  # the cause before the additions


@pytest.mark.slow
def test_libreoffice_recalculates_clean_with_checks_ok(report, tmp_path):
    path = tmp_path / "plan_vs_actual.xlsx"
    write_plan_vs_actual_workbook(path, report, run_info={"run_id": "t"})
    wb = libreoffice.recalculate(path, tmp_path / "lo")
    assert libreoffice.error_cells(wb) == []
    assert libreoffice.named_value(wb, "checks_ok") is True
    for name, value in _library(report).items():
        assert libreoffice.named_value(wb, name) == pytest.approx(value, abs=1e-6), name


@pytest.mark.slow
@pytest.mark.parametrize("model_id, launch_year", [
    pytest.param("R19", 2021, id="Kardian planned 2021: it also ends its predecessor's life earlier"),
    pytest.param("M30", 2025, id="cancelled ASX planned 2025: less is lost"),
])
def test_edited_planned_launch_year_moves_the_bridge_as_the_library_predicts(report, model_id, launch_year,
                                                                           tmp_path):
    path = tmp_path / "plan_vs_actual.xlsx"
    write_plan_vs_actual_workbook(path, report, run_info={"run_id": "t"})
    plan = report.results["plan"]
    row = int(plan.index[plan["model_id"] == model_id][0]) + 2
    column = plan.columns.get_loc("launch_year") + 1
    wb = load_workbook(path)
    assert wb["Plan"].cell(row, 1).value == model_id
    wb["Plan"].cell(row, column).value = launch_year
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)

    plan2 = plan.copy()
    plan2.loc[plan2["model_id"] == model_id, "launch_year"] = launch_year
    expected = _library(build_plan_vs_actual_report(plan=plan2))
    before = _library(report)
    assert expected != pytest.approx(before)  # the edit matters

    recalculated = libreoffice.recalculate(edited, tmp_path / "lo")
    assert libreoffice.error_cells(recalculated) == []
    for name, value in expected.items():
        assert libreoffice.named_value(recalculated, name) == pytest.approx(value, abs=1e-6), name
