"""``alliance-fin pack``: refusals (exit 2, nothing written) and the printed pack itself.

The slow tests run every report once (module fixture), print each HTML report as the pack
does, and as it is (its own print stylesheet), and measure it in headless Chromium under print
media (``tests/chromium.py``); print each report file to PDF with headless Chromium and check no
column is cut off; then make the pack and read it back with pypdf: A4 landscape, every page
numbered, a bookmark per report, and the bundle's index page linking it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest
from chromium import BROKEN_WORDS_JS, WIDE_TABLES_JS, evaluate_in_print_layout, print_to_pdf  # tests/chromium.py
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


def _without_print_rules(page: Path, target: Path) -> Path:
    """A copy of a report page with its print stylesheet taken out (what pages looked like before)."""
    text, n = re.subn(r'<style media="print">.*?</style>', "", page.read_text(encoding="utf-8"), flags=re.S)
    assert n == 1
    target.write_text(text, encoding="utf-8")
    return target


def test_print_copy_adds_the_stylesheet_only_to_a_page_without_it(tmp_path):
    css = PRINT_CSS.read_text(encoding="utf-8")
    old = tmp_path / "old.html"
    old.write_text("<html><head><title>x</title></head><body><table></table></body></html>", encoding="utf-8")
    copied = print_copy(old, tmp_path / "old.print.html", css).read_text(encoding="utf-8")
    assert copied.count(css.strip()) == 1 and copied.index(css.strip()) < copied.index("</head>")
    current = tmp_path / "current.html"
    current.write_text(f'<html><head><style media="print">\n{css}\n</style></head><body></body></html>',
                       encoding="utf-8")
    assert print_copy(current, tmp_path / "current.print.html", css).read_text(encoding="utf-8") \
        == current.read_text(encoding="utf-8")  # the report's own rules, not a second copy


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
@pytest.mark.parametrize("report", REPORTS)
def test_a_report_printed_from_the_browser_fits_the_page(bundle, report):
    """The report itself, as a user opens and prints it (no pack): its own print rules apply."""
    page = bundle / f"{report}.html"
    assert PRINT_CSS.read_text(encoding="utf-8").strip() in page.read_text(encoding="utf-8")
    assert evaluate_in_print_layout(page, "document.querySelectorAll('table').length") > 0
    assert evaluate_in_print_layout(page, WIDE_TABLES_JS) == []


@pytest.mark.slow
def test_the_report_pages_without_their_print_rules_would_be_too_wide(bundle, tmp_path):
    """The measurement can fail: without the print stylesheet the line-up tables overflow the page."""
    page = _without_print_rules(bundle / "savings.html", tmp_path / "savings.html")
    assert evaluate_in_print_layout(page, WIDE_TABLES_JS) != []


class _RowEnds(HTMLParser):
    """The text of the last cell of every table row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = []
            self.rows[-1].append(self._cell)

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _flat(text: str) -> str:
    """Text without spaces, line breaks, hyphens or ligatures (a PDF's text wraps and hyphenates)."""
    return re.sub(r"[\s\-\u00ad\u2010]", "", unicodedata.normalize("NFKC", text))


def _cut_cells(page: Path, pdf: Path) -> tuple[int, list[str]]:
    """(cells checked, cells missing): the short last cell of every table row must be in the PDF's text.

    Chromium draws nothing past the page edge, so a cut table loses its right-hand columns from
    the PDF; short cells (figures, headings) come out whole whatever the wrapping.
    """
    parser = _RowEnds()
    parser.feed(page.read_text(encoding="utf-8"))
    ends = [_flat("".join(row[-1])) for row in parser.rows if row]
    ends = [e for e in ends if 0 < len(e) <= 24]
    text = "".join(_flat(p.extract_text()) for p in PdfReader(pdf).pages)
    return len(ends), [e for e in ends if e not in text]


@pytest.mark.slow
@pytest.mark.parametrize("report", REPORTS)
def test_a_report_printed_to_pdf_keeps_every_table_whole(bundle, tmp_path, report):
    """``chromium --headless --print-to-pdf`` of the report file: A4 landscape, no column cut off."""
    page = bundle / f"{report}.html"
    pdf = print_to_pdf(page, tmp_path / f"{report}.pdf")
    reader = PdfReader(pdf)
    assert len(reader.pages) > 1
    for page_obj in reader.pages:
        assert (round(float(page_obj.mediabox.width)), round(float(page_obj.mediabox.height))) == A4_LANDSCAPE_PT
    checked, missing = _cut_cells(page, pdf)
    assert checked >= 20 and missing == []
    if report == "savings":  # the check can fail: the same page without its print rules loses columns
        bare = _without_print_rules(page, tmp_path / "bare.html")
        checked_bare, missing_bare = _cut_cells(bare, print_to_pdf(bare, tmp_path / "bare.pdf"))
        assert checked_bare == checked and len(missing_bare) >= 10


@pytest.mark.slow
@pytest.mark.parametrize("report", REPORTS)
def test_printed_tables_never_cut_a_figure_or_a_word(bundle, report):
    """Laid out as printed, no figure or word of a table is split across lines (before the print
    rules kept words whole, 141-775 were in each report: "-489.6" as "-489." / "6"; headers until
    1 December: 6-27 a report, "model id" as "mod" / "el id")."""
    found = evaluate_in_print_layout(bundle / f"{report}.html", BROKEN_WORDS_JS)
    assert found["words"] > 500, found["words"]
    assert found["broken"] == [], found["broken"][:20]


@pytest.mark.slow
def test_pack_is_a4_landscape_numbered_and_bookmarked(bundle, capsys):
    assert 'href="pack.pdf"' not in (bundle / "index.html").read_text(encoding="utf-8")
    assert main(["pack", str(bundle)]) == 0
    pack = bundle / "pack.pdf"
    assert f"wrote {pack}" in capsys.readouterr().out
    assert 'href="pack.pdf"' in (bundle / "index.html").read_text(encoding="utf-8")  # the index links it
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
    # ...and only those: a hidden sheet with a print area would print anyway (LibreOffice), so the
    # copy drops it; each workbook page's footer names its sheet (pdftotext keeps the footer's layout)
    import subprocess

    from alliance_fin.run.bundle import summary_sheets

    ends = [*starts[1:], total]
    for report, kids, end in zip(REPORTS, children, ends[1:]):
        part = next(c for c in kids if c.title.startswith("Workbook: "))
        wanted = set(part.title.removeprefix("Workbook: ").split(", "))
        title = REPORT_SPECS[report].workbook_title
        seen = []
        for number in range(reader.get_destination_page_number(part) + 1, end + 1):
            text = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), "-layout", str(pack), "-"],
                                  capture_output=True, text=True, check=True).stdout
            seen += [m.group(1) for m in re.finditer(rf"^\s*{re.escape(title)}\s{{2,}}(\S.*?)\s*$", text, re.M)]
        assert seen and set(seen) <= wanted, (report, sorted(set(seen) - wanted))
        assert wanted == set(summary_sheets(list(wanted | set(seen))))
