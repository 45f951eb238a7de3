"""`alliance-fin sweep`: a grid of scenarios, all checked before any kernel starts, run in parallel."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import TESTS_DIR

from alliance_fin.cli import main
from alliance_fin.errors import ParameterError
from alliance_fin.run.sweep import load_grid

SMALL = TESTS_DIR / "fixtures" / "small_lineup.csv"


def _grid(tmp_path, text: str):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


def test_grid_expands_every_combination_in_order(tmp_path):
    path = _grid(tmp_path, "report: savings\nbase: {currency: JPY}\n"
                           "grid: {max_saving_rate: [0.3, 0.4], follower_diff_share: [0.1, 0.2, 0.3]}\n")
    reports, scenarios = load_grid(path)
    assert reports == ["savings"]
    assert len(scenarios) == 6
    assert scenarios[0] == {"currency": "JPY", "max_saving_rate": 0.3, "follower_diff_share": 0.1, "scenario": "grid-01"}
    assert scenarios[-1]["max_saving_rate"] == 0.4 and scenarios[-1]["follower_diff_share"] == 0.3
    assert [s["scenario"] for s in scenarios] == [f"grid-{i:02d}" for i in range(1, 7)]


@pytest.mark.parametrize("text, words", [
    ("report: savings\n", ["grid: expected a mapping"]),
    ("grid: {max_saving_rate: 0.3}\n", ["grid.max_saving_rate: expected a non-empty list"]),
    ("grid: {max_saving_rate: [0.3]}\nextra: 1\n", ["unknown key(s) extra"]),
    ("grid: [\n", ["is not valid YAML"]),
    ("- 1\n- 2\n", ["expected a mapping"]),
], ids=["no-grid", "values-not-a-list", "unknown-key", "bad-yaml", "not-a-mapping"])
def test_bad_grid_files_are_refused(tmp_path, text, words):
    with pytest.raises(ParameterError) as exc:
        load_grid(_grid(tmp_path, text))
    message = exc.value.report()
    assert all(w in message for w in words), message


def test_a_bad_value_in_any_scenario_refuses_the_whole_sweep(tmp_path, capsys):
    path = _grid(tmp_path, "report: savings\ngrid: {max_saving_rate: [0.3, 1.5], currency: [EUR, CHF]}\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "grid-03: max_saving_rate" in err and "1.5" in err and "grid-02: currency" in err and "CHF" in err
    assert "nothing was written" in err
    assert not out.exists()


@pytest.mark.slow
def test_sweep_runs_every_scenario_and_summarises(tmp_path):
    path = _grid(tmp_path, "report: savings\nbase: {currency: GBP}\ngrid: {max_saving_rate: [0.2, 0.4]}\n")
    out = tmp_path / "sweep"
    assert main(["sweep", str(path), "--data", str(SMALL), "--out", str(out), "--jobs", "2"]) == 0
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [r["scenario"] for r in rows] == ["grid-01", "grid-02"]
    assert all(r["status"] == "ok" for r in rows)
    totals = [float(r["savings.total_savings_eur_m"]) for r in rows]
    assert totals[0] < totals[1]  # a higher ceiling never saves less
    for row in rows:
        manifest = json.loads((out / row["folder"] / "manifest.json").read_text())
        assert manifest["parameters"]["savings"]["max_saving_rate"] == float(row["max_saving_rate"])
        assert manifest["parameters"]["savings"]["currency"] == "GBP"
    assert json.loads((out / "sweep.json").read_text())[0]["scenario"] == "grid-01"


@pytest.mark.slow
def test_headlines_only_equals_the_full_sweep_exactly(tmp_path):
    path = _grid(tmp_path, "report: [savings, range_trimming]\nbase: {currency: JPY}\n"
                           "grid: {max_saving_rate: [0.2, 0.4], follower_diff_share: [0.1, 0.3]}\n")
    full, quick = tmp_path / "full", tmp_path / "quick"
    assert main(["sweep", str(path), "--data", str(SMALL), "--out", str(full), "--jobs", "1"]) == 0
    assert main(["sweep", str(path), "--data", str(SMALL), "--out", str(quick), "--headlines-only"]) == 0
    a = json.loads((full / "sweep.json").read_text())
    b = json.loads((quick / "sweep.json").read_text())
    figures = [k for k in a[0] if "." in k]
    assert figures and sorted(figures) == sorted(k for k in b[0] if "." in k)
    assert [{k: r[k] for k in figures} for r in a] == [{k: r[k] for k in figures} for r in b]  # exactly, not approx
    assert {p.name for p in quick.iterdir()} == {"sweep.csv", "sweep.json", "index.html", "sweep.xlsx", "sweep.html"}


def test_headlines_only_writes_a_scenario_picker_and_heatmaps(tmp_path):
    import openpyxl

    path = _grid(tmp_path, "report: savings\ngrid: {max_saving_rate: [0.2, 0.3, 0.4], follower_diff_share: [0.1, 0.3]}\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--data", str(SMALL), "--out", str(out), "--headlines-only"]) == 0
    wb = openpyxl.load_workbook(out / "sweep.xlsx")
    picker, grid = wb["Picker"], wb["Grid"]
    assert picker["B1"].value == "grid-01" and grid.max_row == 7
    formulas = [picker.cell(r, 2).value for r in range(4, picker.max_row + 1)]
    assert formulas and all(f.startswith("=INDEX('Grid'!") and "MATCH($B$1,'Grid'!$A$2:$A$7,0)" in f for f in formulas)
    page = (out / "sweep.html").read_text()
    assert page.count("data:image/png;base64,") == 1 and "max_saving_rate x follower_diff_share" in page
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [r["status"] for r in rows] == ["ok"] * 6


def test_headlines_only_refuses_bad_scenarios_before_computing(tmp_path, capsys):
    path = _grid(tmp_path, "report: savings\ngrid: {max_saving_rate: [0.3, 1.5], currency: [EUR, CHF]}\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--headlines-only"]) == 2
    err = capsys.readouterr().err
    assert "grid-03: max_saving_rate" in err and "CHF" in err and "Traceback" not in err
    assert not out.exists()
