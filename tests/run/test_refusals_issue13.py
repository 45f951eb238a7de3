"""The issue-13 parameters refused by the command line: exit 2, a clear message, nothing written, no kernel."""

from __future__ import annotations

import pytest

from alliance_fin.cli import main


@pytest.mark.parametrize(("argv", "expected"), [
    (["run", "savings", "-p", "baseline=counterfactual"], ["baseline", "counterfactual", "plan, standalone"]),
    (["run", "savings", "-p", "npv_timing=middle"], ["npv_timing", "middle", "mid, end, start"]),
    (["run", "range_trimming", "-p", "reference_year=2026"], ["reference_year", "2026", "outside the report window"]),
    (["run", "range_trimming", "-p", "start_year=2022", "-p", "reference_year=2021"],
     ["reference_year", "2021", "start_year 2022"]),
    (["run", "all", "-p", "reference_year=2019"], ["reference_year", "2019"]),
    (["run", "milestones", "-p", "platform_definition=all"], ["platform_definition", "cmf, shared"]),
    (["run", "milestones", "-p", "baseline=plan"], ["baseline", "no selected report", "savings"]),
], ids=["bad-baseline", "bad-npv-timing", "reference-year-after-window", "reference-year-before-window",
        "reference-year-all-reports", "bad-platform-definition", "baseline-not-declared-by-milestones"])
def test_refused_with_exit_2_and_nothing_written(tmp_path, monkeypatch, capsys, argv, expected):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    for part in expected:
        assert part in err, (part, err)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_currency_in_any_letter_case_is_listed_as_allowed(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert "any letter case" in text and "reference_year" in text and "platform_definition" in text
