"""``alliance-fin pack``: refusals (exit 2, nothing written) and the printed pack itself.

The slow tests run every report once (module fixture), print each HTML report as the pack
does and measure it in headless Chromium under print media (``tests/chromium.py``), then make
the pack and read it back with pypdf: A4 landscape, every page numbered, a bookmark per report.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from chromium import WIDE_TABLES_JS, evaluate_in_print_layout  # tests/chromium.py
from pypdf import PdfReader

from alliance_fin.cli import main
from alliance_fin.registry import REPORT_SPECS, REPORTS, label
from alliance_fin.run.pack import PRINT_CSS, print_copy

A4_LANDSCAPE_PT = (842, 595)


def _fake_bundle(folder: Path) -> Path:
    """A minimal bundle: a manifest and one tiny HTML report (enough to reach the tool check)."""
    folder.mkdir()
    (folder / "savings.html").write_text("<html><head></head><body><h1>x</h1></body></html>", encoding="utf-8")
    manifest = {"run_id": "r1", "created": "2026-01-01T00:00:00Z", "alliance_fin_version": "0.1.0",
                "parameters": {"savings": {"scenario": "base"}}, "data": {"path": "lineup.csv", "sha256": "ab", "rows": 1},
                "reports": {"savings": {"status": "ok", "outputs": {"savings.html": "x"}, "headline": {}}}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _path_with(tmp_path: Path, *programs: str) -> str:
    """A PATH that holds only ``programs`` (symlinks to the real ones): hides Chromium or LibreOffice."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in programs:
        real = shutil.which(name)
        if real:
            (bin_dir / name).symlink_to(real)
    return str(bin_dir)


@pytest.mark.parametrize("visible, missing", [
    ((), ("Chromium", "LibreOffice")),
    (("soffice",), ("Chromium",)),
    (("chromium",), ("LibreOffice",)),
], ids=["neither", "no-chromium", "no-libreoffice"])
def test_missing_program_exits_2_naming_it_and_writes_nothing(tmp_path, monkeypatch, capsys, visible, missing):
    bundle = _fake_bundle(tmp_path / "run")
    before = sorted(os.listdir(bundle))
    monkeypatch.setenv("PATH", _path_with(tmp_path, *visible))
    assert main(["pack", str(bundle)]) == 2
    err = capsys.readouterr().err
    for name in missing:
        assert f"{name} is not installed" in err and "install" in err
    assert "nothing was written" in err
    assert sorted(os.listdir(bundle)) == before


@pytest.mark.parametrize("make", [
    lambda p: p,                                                   # no such folder
    lambda p: (p.mkdir(), p)[1],                                   # empty folder: no manifest
    lambda p: (p.mkdir(), (p / "manifest.json").write_text("{oops"), p)[2],  # manifest does not parse
    lambda p: (p.mkdir(), (p / "manifest.json").write_text("[1, 2]"), p)[2],  # not an object
    lambda p: (p.mkdir(), (p / "manifest.json").write_text('{"run_id": "x"}'), p)[2],  # not a run manifest
], ids=["missing", "no-manifest", "unparsable", "not-object", "incomplete"])
def test_not_a_bundle_exits_2_and_writes_nothing(tmp_path, capsys, make):
    folder = make(tmp_path / "run")
    before = sorted(os.listdir(folder)) if folder.is_dir() else None
    assert main(["pack", str(folder)]) == 2
    assert "error:" in capsys.readouterr().err
    assert (sorted(os.listdir(folder)) if folder.is_dir() else None) == before


def test_out_must_be_a_pdf_in_an_existing_folder(tmp_path, capsys):
    bundle = _fake_bundle(tmp_path / "run")
    assert main(["pack", str(bundle), "--out", str(tmp_path / "pack.txt")]) == 2
    assert main(["pack", str(bundle), "--out", str(tmp_path / "nowhere" / "pack.pdf")]) == 2
    assert "ending in .pdf" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.pdf"))


# -- the real thing: every report, Chromium and LibreOffice ----------------------------------------
@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pack") / "run"
    assert main(["run", "--out", str(out)]) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("report", REPORTS)
def test_no_table_wider_than_the_printable_page(bundle, tmp_path, report):
    page = print_copy(bundle / f"{report}.html", tmp_path / f"{report}.print.html",
                      PRINT_CSS.read_text(encoding="utf-8"))
    assert evaluate_in_print_layout(page, "document.querySelectorAll('table').length") > 0
    assert evaluate_in_print_layout(page, WIDE_TABLES_JS) == []


@pytest.mark.slow
def test_the_report_pages_alone_would_be_too_wide(bundle):
    """The measurement can fail: without the print stylesheet the line-up tables overflow the page."""
    assert evaluate_in_print_layout(bundle / "savings.html", WIDE_TABLES_JS) != []


@pytest.mark.slow
def test_pack_is_a4_landscape_numbered_and_bookmarked(bundle, capsys):
    assert main(["pack", str(bundle)]) == 0
    pack = bundle / "pack.pdf"
    assert f"wrote {pack}" in capsys.readouterr().out
    reader = PdfReader(pack)
    total = len(reader.pages)
    assert total > 1 + len(REPORTS)
    for number, page in enumerate(reader.pages, start=1):
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == A4_LANDSCAPE_PT
        assert f"Page {number} of {total}" in page.extract_text(), f"page {number} has no number"
    top = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in top] == ["Cover"] + [REPORT_SPECS[r].title for r in REPORTS]
    starts = [reader.get_destination_page_number(item) for item in top]
    assert starts == sorted(starts) and starts[0] == 0 and len(set(starts)) == len(starts)
    cover = reader.pages[0].extract_text() + reader.pages[1].extract_text()
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    for text in (manifest["run_id"], manifest["data"]["path"], manifest["data"]["sha256"][:16], label("max_saving_rate")):
        assert "".join(text.split()) in "".join(cover.split()), text  # table cells wrap
    # each report's workbook summary sheets follow its HTML pages (a child bookmark per part)
    children = [item for item in reader.outline if isinstance(item, list)]
    assert len(children) == len(REPORTS)
    assert all(any(c.title.startswith("Workbook: ") for c in kids) for kids in children)
