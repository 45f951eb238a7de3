"""Loading and validating input files: every broken input gives exit 2 and names the problem."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from alliance_fin.cli import main
from alliance_fin.errors import InputError
from alliance_fin.inputs.load import load_assumptions, load_lineup, load_plan
from alliance_fin.inputs.template import write_template
from alliance_fin.paths import LINEUP_CSV as ROOT_CSV


def _edit(frame: pd.DataFrame, row: int, col: str, value: str) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[row, col] = value
    return frame


# (id, how to break the packaged line-up, words the message must contain)
BROKEN_FRAMES = [
    ("missing-column", lambda f: f.drop(columns=["region"]), ["missing required column", "region"]),
    ("duplicate-id", lambda f: _edit(f, 3, "model_id", "N01"), ["rows 2, 5", "duplicate id", "N01"]),
    ("duplicate-id-case-space", lambda f: _edit(f, 3, "model_id", " n01"), ["duplicate id", "rows 2, 5"]),
    ("unknown-member", lambda f: _edit(f, 0, "member", "Nisan"), ["row 2", "'member'", "Nisan", "did you mean 'Nissan'"]),
    ("bad-role", lambda f: _edit(f, 1, "role", "boss"), ["row 3", "'role'", "boss", "leader, follower, standalone"]),
    ("text-in-year", lambda f: _edit(f, 2, "launch_year", "soon"), ["row 4", "launch_year", "soon", "whole year"]),
    ("float-year", lambda f: _edit(f, 2, "end_year", "2024.5"), ["row 4", "end_year", "2024.5"]),
    ("negative-volume", lambda f: _edit(f, 4, "annual_volume", "-100"), ["row 6", "annual_volume", "-100", ">= 0"]),
    ("launch-after-end", lambda f: _edit(f, 0, "launch_year", "2030"), ["row 2", "2030", "after end_year 2021"]),
    ("family-without-leader", lambda f: _edit(f, 4, "role", "follower"), ["family 'F02'", "no leader"]),
    ("family-two-leaders", lambda f: _edit(f, 5, "role", "leader"), ["family 'F02'", "2 leaders"]),
    ("follower-without-family", lambda f: _edit(f, 5, "family_id", ""), ["row 7", "must belong to a family"]),
    ("unknown-segment", lambda f: _edit(f, 0, "segment", "Z"), ["row 2", "'segment'", "'Z'", "known segments"]),
    ("control-character", lambda f: _edit(f, 0, "model_name", "Qash\x07qai"), ["row 2", "model_name", "control"]),
    ("unknown-column", lambda f: f.assign(colour="red"), ["unknown column", "colour"]),
]


@pytest.mark.parametrize("break_it, words", [b[1:] for b in BROKEN_FRAMES], ids=[b[0] for b in BROKEN_FRAMES])
def test_validate_reports_each_broken_csv(tmp_path, raw_lineup, capsys, break_it, words):
    path = tmp_path / "broken.csv"
    break_it(raw_lineup).to_csv(path, index=False)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "broken.csv" in err
    for word in words:
        assert word in err, (word, err)
    assert "Traceback" not in err


def test_all_problems_reported_at_once(tmp_path, raw_lineup, capsys):
    frame = _edit(_edit(_edit(raw_lineup, 0, "member", "Nisan"), 2, "launch_year", "x"), 3, "model_id", "N01")
    path = tmp_path / "many.csv"
    frame.to_csv(path, index=False)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err
    assert all(w in err for w in ["Nisan", "'x'", "duplicate id"])


@pytest.mark.parametrize("content, words", [
    (b"", ["is empty"]),
    (b"model_id;member;brand\nN01;Nissan;Nissan\n", ["separated by ';'", "commas"]),
    (b"\x89PNG\r\n\x1a\n\x00\x00", ["not a text CSV"]),
], ids=["empty-file", "wrong-delimiter", "binary-as-csv"])
def test_unreadable_csv(tmp_path, capsys, content, words):
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err


def test_not_a_workbook(tmp_path, capsys):
    path = tmp_path / "fake.xlsx"
    path.write_text("this is not a workbook")
    assert main(["validate", str(path)]) == 2
    assert "is not an Excel workbook" in capsys.readouterr().err


def test_workbook_without_models_sheet(tmp_path, capsys):
    path = tmp_path / "t.xlsx"
    write_template(path, example=True)
    wb = load_workbook(path)
    wb["models"].title = "Sheet1"
    wb.save(path)
    assert main(["validate", str(path)]) == 2
    assert "has no sheet 'models'" in capsys.readouterr().err


def test_missing_file(capsys):
    assert main(["validate", "/nonexistent/x.csv"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_template_example_round_trips(tmp_path, capsys):
    path = tmp_path / "example.xlsx"
    assert main(["template", str(path), "--example"]) == 0
    assert main(["validate", str(path)]) == 0
    assert "valid - 168 models, 27 families, 0 assumption(s) overridden; plan: 144 models" in capsys.readouterr().out
    pd.testing.assert_frame_equal(load_lineup(path), load_lineup())
    pd.testing.assert_frame_equal(load_plan(path), load_plan())
    assert load_workbook(path).sheetnames == ["models", "plan", "assumptions", "notes"]
    pd.testing.assert_frame_equal(load_assumptions(path), load_assumptions())


def test_blank_template_has_headers_notes_and_dropdowns(tmp_path):
    path = tmp_path / "blank.xlsx"
    assert main(["template", str(path)]) == 0
    wb = load_workbook(path)
    assert wb.sheetnames == ["models", "assumptions", "notes"]
    header = [c.value for c in wb["models"][1]]
    assert header[:3] == ["model_id", "member", "brand"]
    lists = [dv.formula1 for dv in wb["models"].data_validations.dataValidation]
    assert '"Renault,Nissan,Mitsubishi"' in lists and '"leader,follower,standalone"' in lists
    notes = [r[0].value for r in wb["notes"].iter_rows(min_row=2)]
    assert {"model_id", "role", "trim", "dev_cost_eur_m"} <= set(notes)


def test_names_starting_with_equals_stay_text(tmp_path, raw_lineup):
    frame = _edit(_edit(raw_lineup, 0, "model_name", "=1+1"), 1, "brand", "Mégane @home")
    path = tmp_path / "eq.xlsx"
    write_template(path, example=True)
    wb = load_workbook(path)
    ws = wb["models"]
    ws["D2"].value, ws["D2"].data_type = "=1+1", "s"
    wb.save(path)
    lineup = load_lineup(path)
    assert lineup.loc[0, "model_name"] == "=1+1"
    csv_path = tmp_path / "eq.csv"
    frame.to_csv(csv_path, index=False)
    assert load_lineup(csv_path).loc[1, "brand"] == "Mégane @home"


def test_assumptions_sheet_overrides_and_rejects(tmp_path, capsys):
    path = tmp_path / "a.xlsx"
    write_template(path, example=True)
    wb = load_workbook(path)
    ws = wb["assumptions"]
    ws["B2"].value = 0.3  # max_saving_rate is the first key
    ws.append(["max_savings_rate", 0.2])
    ws.append(["discount_rate", 1.5])
    wb.save(path)
    with pytest.raises(InputError) as exc:
        load_assumptions(path)
    text = exc.value.report()
    assert "did you mean 'max_saving_rate'" in text and "from 0 to 0.5" in text
    ws.delete_rows(ws.max_row - 1, 2)
    wb.save(path)
    a = load_assumptions(path)
    assert a.loc["max_saving_rate", "value"] == 0.3
    assert a.loc["max_saving_rate", "provenance"] == "input file"


def test_list_survives_a_closed_pipe():
    """`alliance-fin list | head -1` must not print a BrokenPipeError traceback."""
    import subprocess
    import sys

    proc = subprocess.run(f"{sys.executable} -m alliance_fin list | head -1", shell=True,
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr


def test_broken_assumptions_do_not_hide_broken_models(tmp_path, capsys):
    path = tmp_path / "both.xlsx"
    write_template(path, example=True)
    wb = load_workbook(path)
    wb["assumptions"]["B2"].value = 7  # max_saving_rate must be 0-1
    wb["models"]["B2"].value = "Nisan"  # member of N01
    wb.save(path)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "from 0 to 1" in err and "'Nisan'" in err


def test_unknown_keep_or_cut_ids_are_refused_before_any_kernel(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "range_trimming", "-p", "cut=XYZ", "-p", "keep=n01", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cut (range_trimming): model id 'XYZ' is not in the line-up" in err
    assert "keep (range_trimming): model id 'n01'" in err
    assert not out.exists()


def test_template_does_not_overwrite_without_force(tmp_path, capsys):
    path = tmp_path / "mine.xlsx"
    path.write_bytes(b"my edited line-up")
    assert main(["template", str(path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert path.read_bytes() == b"my edited line-up"
    assert main(["template", str(path), "--force"]) == 0


def test_all_anywhere_in_the_report_list_means_all(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr("alliance_fin.run.runner.run_cli", lambda reports, **kw: seen.setdefault("r", reports) and 0)
    main(["run", "savings", "all", "--out", str(tmp_path / "x")])
    assert seen["r"] == ["savings", "range_trimming", "milestones"]


# ----------------------------------------------------------------------------- the plan sheet
def _workbook_with_plan(path, edit_plan=None, edit_models=None):
    """The example workbook with its plan sheet (and models sheet) edited by openpyxl callbacks."""
    write_template(path, example=True)
    wb = load_workbook(path)
    if edit_plan:
        edit_plan(wb["plan"])
    if edit_models:
        edit_models(wb["models"])
    wb.save(path)
    return path


def _set(column: str, row: int, value):
    def apply(ws):
        header = [c.value for c in ws[1]]
        ws.cell(row=row, column=header.index(column) + 1).value = value
    return apply


def test_packaged_plan_loads():
    plan = load_plan()
    assert len(plan) == 144 and plan["launch_year"].dtype == "int64"
    assert set(plan.columns) == set(load_lineup().columns)


def test_csv_and_workbook_without_plan_have_none(tmp_path):
    assert load_plan(ROOT_CSV) is None
    path = tmp_path / "blank.xlsx"
    write_template(path, example=False)
    assert load_plan(path) is None


@pytest.mark.parametrize(("edit", "words"), [
    pytest.param(_set("launch_year", 3, "soon"), ["[plan] row 3", "'launch_year'", "'soon'"], id="bad-year"),
    pytest.param(_set("model_id", 4, " n01 "), ["[plan] rows 2, 4", "duplicate id", "' n01 '"],
                 id="ids-collide-after-trim-and-case"),
    pytest.param(_set("replaces", 3, "N98"), ["[plan] row 3", "'replaces'", "'N98'"], id="replaces-unknown"),
    pytest.param(_set("scheme_since", 3, 2031), ["[plan] row 3", "'scheme_since'", "after launch_year"],
                 id="scheme-since-after-launch"),
])
def test_plan_problems_name_sheet_row_and_column(tmp_path, capsys, edit, words):
    path = _workbook_with_plan(tmp_path / "p.xlsx", edit_plan=edit)
    with pytest.raises(InputError) as info:
        load_plan(path)
    for word in words:
        assert word in info.value.report()
    assert main(["validate", str(path)]) == 2
    assert words[0] in capsys.readouterr().err


def test_plan_column_that_models_lacks_is_refused(tmp_path):
    def drop_notes(ws):
        header = [c.value for c in ws[1]]
        ws.delete_cols(header.index("notes") + 1)
    path = _workbook_with_plan(tmp_path / "p.xlsx", edit_models=drop_notes)
    with pytest.raises(InputError, match="plan") as info:
        load_plan(path)
    assert "'notes'" in info.value.report() and "not in sheet 'models'" in info.value.report()


def test_validate_lists_problems_of_both_sheets_at_once(tmp_path, capsys):
    path = _workbook_with_plan(tmp_path / "p.xlsx", edit_plan=_set("member", 2, "Nisan"),
                               edit_models=_set("role", 3, "boss"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "[models] row 3, column 'role'" in err and "[plan] row 2, column 'member'" in err
