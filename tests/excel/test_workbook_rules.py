"""The issue-13 rules as live workbook formulas, recalculated by LibreOffice.

Each workbook computes the baseline flag (``scheme_since >= plan_year``), the effective end year
(``min(end_year, successor launch - 1)`` via ``replaces``), the reference-year filters and the NPV
timing factor itself; its Checks sheet compares them with the Report. Here LibreOffice recomputes
them for parameter sets away from the defaults, and edits of a parameter cell move the results the
way the library does.
"""

from __future__ import annotations

from pathlib import Path

import libreoffice as lo  # tests/libreoffice.py
import openpyxl
import pytest

import alliance_fin as af
from alliance_fin.excel.milestones import write_milestones_workbook
from alliance_fin.excel.savings import write_savings_workbook
from alliance_fin.excel.trimming import write_trimming_workbook

pytestmark = pytest.mark.slow
RUN_INFO = {"run_id": "rules", "scenario": "base", "created": "2024-05-01T12:00:00"}
BUILD = {"savings": (af.build_savings_report, write_savings_workbook),
         "range_trimming": (af.build_trimming_report, write_trimming_workbook),
         "milestones": (af.build_milestones_report, write_milestones_workbook)}


def _write(tmp_path: Path, report_name: str, **params) -> tuple[Path, af.Report]:
    build, write = BUILD[report_name]
    report = build(**params)
    path = tmp_path / f"{report_name}.xlsx"
    write(path, report, run_info=RUN_INFO)
    return path, report


def _set(path: Path, name: str, value, out: Path) -> Path:
    wb = openpyxl.load_workbook(path)
    (sheet, ref), = list(wb.defined_names[name].destinations)
    wb[sheet][ref.replace("$", "")].value = value
    wb.save(out)
    return out


@pytest.mark.parametrize(("report_name", "params"), [
    pytest.param("savings", {"baseline": "standalone", "npv_timing": "end"}, id="savings-standalone-end"),
    pytest.param("savings", {"plan_year": 2018, "npv_timing": "start", "currency": "usd"},
                 id="savings-plan-2018-start-usd"),
    pytest.param("savings", {"end_year": 2030, "discount_rate": 0.0}, id="savings-to-2030-rate-0"),
    pytest.param("range_trimming", {"reference_year": 2021}, id="trimming-reference-2021"),
    pytest.param("range_trimming", {"end_year": 2028, "reference_year": 2027, "cut": "R06"},
                 id="trimming-reference-2027-manual-cut"),
    pytest.param("milestones", {"platform_definition": "shared"}, id="milestones-shared"),
    pytest.param("milestones", {"apply_trimming": False, "launch_delay_years": 2, "as_of_year": 2022},
                 id="milestones-untrimmed-delayed"),
    pytest.param("milestones", {"plan_year": 2021, "target_platform_year": 2026}, id="milestones-plan-2021"),
])
def test_new_rules_recalculate_clean(tmp_path, report_name, params):
    path, report = _write(tmp_path, report_name, **params)
    wb = lo.recalculate(path, tmp_path / "lo")
    assert lo.error_cells(wb) == []
    assert lo.named_value(wb, "checks_ok") is True
    for key, value in report.headline.items():
        if key in wb.defined_names:
            got = lo.named_value(wb, key)
            assert (got == value) if isinstance(value, bool) else got == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_savings_plan_year_cell_moves_the_baseline(tmp_path):
    """Plan year 2000 in the workbook: every model's scheme counts, so the total is the standalone one."""
    path, report = _write(tmp_path, "savings")
    edited = _set(path, "plan_year", 2000, tmp_path / "edited.xlsx")
    wb = lo.recalculate(edited, tmp_path / "lo")
    standalone = af.build_savings_report(baseline="standalone").headline
    assert lo.named_value(wb, "total_savings_eur_m") == pytest.approx(standalone["total_savings_eur_m"], rel=1e-9)
    assert lo.named_value(wb, "pre_plan_savings_eur_m") == pytest.approx(0.0, abs=1e-9)
    assert lo.named_value(wb, "standalone_total_eur_m") == pytest.approx(
        report.headline["total_savings_eur_m"] + report.headline["pre_plan_savings_eur_m"], rel=1e-9)


@pytest.mark.parametrize(("timing", "offset"), [("mid", 0.5), ("end", 1.0), ("start", 0.0)])
def test_savings_npv_timing_cell_moves_the_npv(tmp_path, timing, offset):
    path, _ = _write(tmp_path, "savings")
    edited = _set(path, "npv_timing", timing, tmp_path / "edited.xlsx")
    wb = lo.recalculate(edited, tmp_path / "lo")
    expected = af.build_savings_report(npv_timing=timing).headline["npv_savings_eur_m"]
    assert lo.named_value(wb, "npv_savings_eur_m") == pytest.approx(expected, rel=1e-9)
    ws = wb["By year"]
    header = [c.value for c in ws[1]]
    factor = ws.cell(row=3, column=header.index("discount_factor") + 1).value  # second year
    assert factor == pytest.approx(1.08 ** -(1 + offset))


def test_trimming_reference_year_cell_moves_the_counts(tmp_path):
    path, _ = _write(tmp_path, "range_trimming")
    edited = _set(path, "reference_year", 2022, tmp_path / "edited.xlsx")
    wb = lo.recalculate(edited, tmp_path / "lo")
    expected = af.build_trimming_report(reference_year=2022).headline
    for key in ("models_before", "models_after", "common_platform_volume_share_before",
                "common_platform_volume_share_after"):
        assert lo.named_value(wb, key) == pytest.approx(expected[key], rel=1e-9), key


def test_milestones_platform_definition_cell_moves_the_share(tmp_path):
    path, _ = _write(tmp_path, "milestones")
    edited = _set(path, "platform_definition", "shared", tmp_path / "edited.xlsx")
    wb = lo.recalculate(edited, tmp_path / "lo")
    expected = af.build_milestones_report(platform_definition="shared").headline
    for key in ("common_platform_volume_share_2024", "common_platform_model_share_2026"):
        assert lo.named_value(wb, key) == pytest.approx(expected[key], rel=1e-9), key
