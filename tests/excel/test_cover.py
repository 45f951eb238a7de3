"""The workbook cover says which parameters differ from the base (issue 15)."""

from __future__ import annotations

import openpyxl
import pytest

from alliance_fin.present.savings import build_savings_report
from alliance_fin.run.outputs import write_report_outputs

LABEL = "Parameters differing from the base"


def _cover_facts(path) -> dict[str, object]:
    ws = openpyxl.load_workbook(path)["Cover"]
    return {row[0]: row[1] for row in ws.iter_rows(min_row=2, max_col=2, values_only=True) if row[0]}


@pytest.mark.parametrize(("params", "shown"), [
    pytest.param({}, "none", id="base-run"),
    pytest.param({"currency": "GBP", "max_saving_rate": 0.3}, "currency=GBP, max_saving_rate=0.3", id="changed"),
])
def test_cover_names_the_parameters_that_differ_from_the_base(tmp_path, params, shown):
    report = build_savings_report(**params)
    xlsx = write_report_outputs(report, output_dir=tmp_path, run_id="cover")["xlsx"]
    facts = _cover_facts(xlsx)
    assert facts[LABEL] == shown
    assert list(facts).index(LABEL) == list(facts).index("alliance_fin version") + 1  # with the run facts


def test_cover_says_when_the_run_did_not_record_them(tmp_path):
    from alliance_fin.excel.savings import write_savings_workbook

    path = tmp_path / "savings.xlsx"
    write_savings_workbook(path, build_savings_report(), run_info={"run_id": "x"})
    assert _cover_facts(path)[LABEL] == "not recorded"
