"""``alliance-fin compare``: refusals, the version note, and the change the library predicts.

Fast tests use hand-written manifests; the slow ones run the savings report twice (base and
``max_saving_rate=0.3``) and check ``compare.xlsx`` against ``af.build_savings_report``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

import alliance_fin as af
from alliance_fin.cli import main
from alliance_fin.run.bundle import readable_key
from alliance_fin.run.compare import build_comparison


def _bundle(folder: Path, *, headline: dict, version: str = "0.1.0", params: dict | None = None,
            sha: str = "ab" * 32) -> Path:
    folder.mkdir(parents=True)
    manifest = {"run_id": folder.name, "created": "2026-01-01T00:00:00Z", "alliance_fin_version": version,
                "parameters": {"savings": {"scenario": "base", "max_saving_rate": 0.4, **(params or {})}},
                "data": {"path": "lineup.csv", "sha256": sha, "rows": 168},
                "reports": {"savings": {"status": "ok", "outputs": {}, "headline": headline}}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _headline_sheet(out: Path) -> pd.DataFrame:
    return pd.read_excel(out / "compare.xlsx", sheet_name="Headline").set_index("key")


@pytest.mark.parametrize("keys", ["npv_savings_eur_m", "total_savings_report_ccy_m", "savings_pct",
                                  "lf_share_range_2025", "max_saving_rate"],
                         ids=["eur-m", "report-ccy", "pct", "lf", "rate"])
def test_readable_key(keys):
    """compare labels a key as the HTML and the index do (the registry's label), never raw."""
    from alliance_fin.registry import label

    assert readable_key(keys) == label(keys) and "_" not in readable_key(keys)


def test_fewer_than_two_runs_exits_2(tmp_path, capsys):
    one = _bundle(tmp_path / "a", headline={"total_savings_eur_m": 1.0})
    assert main(["compare", str(one), "--out", str(tmp_path / "out")]) == 2
    assert "at least two" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("breakage", ["missing", "no-manifest", "unparsable"])
def test_a_folder_that_is_not_a_bundle_exits_2_and_writes_nothing(tmp_path, capsys, breakage):
    good = _bundle(tmp_path / "a", headline={"total_savings_eur_m": 1.0})
    bad = tmp_path / "b"
    if breakage != "missing":
        bad.mkdir()
    if breakage == "unparsable":
        (bad / "manifest.json").write_text("{not json", encoding="utf-8")
    assert main(["compare", str(good), str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and ("does not parse" in err if breakage == "unparsable" else True)
    assert not (tmp_path / "out").exists()


def test_change_against_the_first_run_absolute_and_percent(tmp_path):
    a = _bundle(tmp_path / "a", headline={"total_savings_eur_m": 200.0, "savings_pct": 0.05})
    b = _bundle(tmp_path / "b", headline={"total_savings_eur_m": 150.0, "savings_pct": 0.04},
                params={"max_saving_rate": 0.3})
    c = _bundle(tmp_path / "c", headline={"total_savings_eur_m": 250.0, "savings_pct": 0.05})
    out = tmp_path / "out"
    assert main(["compare", str(a), str(b), str(c), "--out", str(out)]) == 0
    sheet = _headline_sheet(out)
    assert sheet.loc["total_savings_eur_m", "change b"] == pytest.approx(-50.0)
    assert sheet.loc["total_savings_eur_m", "change % b"] == pytest.approx(-0.25)
    assert sheet.loc["total_savings_eur_m", "change c"] == pytest.approx(50.0)
    assert sheet.loc["savings_pct", "change b"] == pytest.approx(-0.01)
    assert sheet.loc["total_savings_eur_m", "figure"] == "Total savings in the window (EUR m)"
    diffs = pd.read_excel(out / "compare.xlsx", sheet_name="Differences")
    assert diffs.to_dict("records") == [{"report": "Leader-follower savings", "item": "Ceiling on a model's development saving",
                                         "a": 0.4, "b": 0.3, "c": 0.4}]
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert "-50.0" in page and "-25.0%" in page and "-1.0 pp" in page


def test_different_data_is_shown(tmp_path):
    a = _bundle(tmp_path / "a", headline={"total_savings_eur_m": 1.0})
    b = _bundle(tmp_path / "b", headline={"total_savings_eur_m": 1.0}, sha="cd" * 32)
    diffs = build_comparison([a, b]).differences
    assert diffs.loc[diffs["item"] == "Data SHA-256", ["a", "b"]].values.tolist() == [["ab" * 32, "cd" * 32]]


def test_different_package_versions_are_compared_with_a_note(tmp_path, capsys):
    a = _bundle(tmp_path / "a", headline={"total_savings_eur_m": 1.0})
    b = _bundle(tmp_path / "b", headline={"total_savings_eur_m": 1.0}, version="0.2.0")
    out = tmp_path / "out"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "note: these runs were made by different alliance_fin versions (a: 0.1.0, b: 0.2.0)" in said
    assert "different alliance_fin versions" in (out / "compare.html").read_text(encoding="utf-8")
    runs = pd.read_excel(out / "compare.xlsx", sheet_name="Runs", header=None)
    assert runs[0].astype(str).str.contains("different alliance_fin versions").any()


# -- real runs ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def savings_runs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("compare")
    base, low = root / "base", root / "cap30"
    assert main(["run", "savings", "--out", str(base)]) == 0
    assert main(["run", "savings", "-p", "max_saving_rate=0.3", "--out", str(low)]) == 0
    return base, low


@pytest.mark.slow
def test_compare_shows_the_change_the_library_predicts(savings_runs, tmp_path):
    base, low = savings_runs
    out = tmp_path / "out"
    assert main(["compare", str(base), str(low), "--out", str(out)]) == 0
    expected_base = af.build_savings_report().headline
    expected_low = af.build_savings_report(max_saving_rate=0.3).headline
    sheet = _headline_sheet(out)
    for key, value in expected_base.items():
        change = expected_low[key] - value
        assert sheet.loc[key, "change cap30"] == pytest.approx(change, rel=1e-9, abs=1e-9), key
        if value:
            assert sheet.loc[key, "change % cap30"] == pytest.approx(change / abs(value), rel=1e-9), key
    assert sheet.loc["total_savings_eur_m", "change cap30"] < 0  # a lower cap saves less
    members = pd.read_excel(out / "compare.xlsx", sheet_name="By member")
    total = members[(members["member"] == "Total") & (members["key"] == "total_eur_m")]
    assert total["change cap30"].iloc[0] == pytest.approx(
        expected_low["total_savings_eur_m"] - expected_base["total_savings_eur_m"], abs=0.05)
    assert set(members["member"]) >= {"Renault", "Nissan", "Mitsubishi"}


@pytest.mark.slow
def test_identical_runs_show_zero_change(savings_runs, tmp_path):
    base, _ = savings_runs
    out = tmp_path / "out"
    assert main(["compare", str(base), str(base), "--out", str(out)]) == 0
    for sheet in ("Headline", "By member"):
        frame = pd.read_excel(out / "compare.xlsx", sheet_name=sheet)
        changes = frame.filter(like="change ")
        assert len(changes) > 0 and (changes.abs() == 0).all().all(), sheet
    assert sorted(os.listdir(out)) == ["compare.html", "compare.xlsx"]


PAGE_WIDTH_JS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.mark.slow
def test_the_compare_page_printed_fits_the_page_with_long_names(tmp_path):
    """Long run folders, data files and different hashes wrap inside their cells: nothing widens the
    printed page past A4 landscape (a body cell may break a path or a hash; headers wrap at spaces)."""
    from chromium import WIDE_TABLES_JS, evaluate_in_print_layout  # tests/chromium.py

    runs = []
    for i, sha in enumerate(("ab" * 32, "cd" * 32, "ef" * 32)):
        folder = _bundle(tmp_path / f"20261201-233507_board-pack-scenario-with-a-long-descriptive-name-{i}-0a1b2c",
                         headline={"total_savings_eur_m": 100.0 + i, "savings_pct": 0.05}, sha=sha,
                         params={"max_saving_rate": 0.3 + i / 20})
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        manifest["data"]["path"] = f"alliance_lineup_as_revised_by_the_planning_department_v{i}.xlsx"
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        runs.append(str(folder))
    out = tmp_path / "out"
    assert main(["compare", *runs, "--out", str(out)]) == 0
    page = out / "compare.html"
    assert "planning_department_v2" in page.read_text(encoding="utf-8")
    assert evaluate_in_print_layout(page, WIDE_TABLES_JS) == []
    assert evaluate_in_print_layout(page, PAGE_WIDTH_JS) is True
