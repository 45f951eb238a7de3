"""resolve_inputs: the plan sheet comes along only when asked for (plan_vs_actual)."""

from __future__ import annotations

import pandas as pd

from alliance_fin.inputs.load import load_plan
from alliance_fin.inputs.resolve import resolve_inputs
from alliance_fin.inputs.template import write_template
from alliance_fin.paths import LINEUP_CSV


def test_plan_is_not_loaded_unless_asked():
    assert resolve_inputs().plan is None


def test_packaged_plan_with_plan():
    pd.testing.assert_frame_equal(resolve_inputs(with_plan=True).plan, load_plan())


def test_csv_has_no_plan_and_workbook_has_one(tmp_path):
    assert resolve_inputs(LINEUP_CSV, with_plan=True).plan is None
    path = tmp_path / "example.xlsx"
    write_template(path, example=True)
    assert len(resolve_inputs(path, with_plan=True).plan) == 144


def test_plan_given_in_memory_wins():
    plan = load_plan().head(3)
    assert resolve_inputs(plan=plan, with_plan=True).plan is plan
