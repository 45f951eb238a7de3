"""Hardening, outputs: hostile text from the data stays literal text in workbooks and HTML.

A line-up whose ``model_name``, ``brand`` and ``plant`` hold formula, script and markup payloads
is turned into every report (library path and one real ``alliance-fin run``). Checked with
openpyxl (no formula, same text), LibreOffice (recalculating on load, CSV export of every sheet:
same text, the HYPERLINK never evaluated), ``html.parser`` (no script element, no ``on*``
attribute, no ``javascript:`` URL, the payload present as text) and headless Chromium (the DOM
after load has no element or attribute a payload could have created; no console message).
See docs/reliability.md.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import ROOT  # noqa: E402
from openpyxl import load_workbook

from alliance_fin.cli import main
from alliance_fin.present.display import format_table
from alliance_fin.present.milestones import build_milestones_report
from alliance_fin.present.savings import build_savings_report
from alliance_fin.present.trimming import build_trimming_report
from alliance_fin.run.outputs import write_report_outputs

DATA_CSV = ROOT / "alliance_fin" / "data" / "lineup.csv"
EPOCH = "1600000000"
PWNED = "data-pwned"
PAYLOADS = [
    '=HYPERLINK("http://example.invalid","x")',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</table>",
    "javascript:alert(1)",
    f"<img src=x onerror=\"document.documentElement.setAttribute('{PWNED}','1')\">",
    "=1+1",
    "#N/A",
    "@SUM(1,1)",
]
TEXT_COLUMNS = ("model_name", "brand", "plant")
#: A data file name a shell, a Python string literal and HTML would each choke on.
DATA_NAME = "hostile \"line-up\" 'x' \\ é.csv"
BUILDERS = {"savings": build_savings_report, "range_trimming": build_trimming_report,
            "milestones": build_milestones_report}


def hostile_frame() -> pd.DataFrame:
    frame = pd.read_csv(DATA_CSV, dtype=str, keep_default_na=False)
    for i, payload in enumerate(PAYLOADS):
        for column in TEXT_COLUMNS:
            frame.loc[i, column] = payload
    return frame


@pytest.fixture(scope="module")
def hostile_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / DATA_NAME
    hostile_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def library_outputs(hostile_csv, tmp_path_factory) -> dict[str, tuple[object, Path]]:
    """Each report built by the library and written as the notebooks do (no kernel)."""
    out = tmp_path_factory.mktemp("library")
    built = {}
    for name, build in BUILDERS.items():
        report = build(data_path=hostile_csv)
        paths = write_report_outputs(report, output_dir=out, run_id="hardening", created="2020-09-13T12:26:40Z")
        built[name] = (report, paths["xlsx"])
    return built


# -- workbook: literal text, never a formula -----------------------------------------------------


def assert_workbook_literal(path: Path) -> None:
    wb = load_workbook(path)
    data = wb["Data"]
    header = {cell.value: cell.column for cell in data[1]}
    for i, payload in enumerate(PAYLOADS):
        for column in TEXT_COLUMNS:
            cell = data.cell(row=i + 2, column=header[column])
            assert cell.value == payload and cell.data_type == "s", (column, i, cell.value, cell.data_type)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert cell.value not in PAYLOADS and not re.search(
                        r"HYPERLINK|example\.invalid|alert\(|SUM\(1,1\)", str(cell.value)), \
                        f"{ws.title}!{cell.coordinate}: {cell.value}"
                elif cell.data_type == "e":
                    pytest.fail(f"{ws.title}!{cell.coordinate}: error cell {cell.value!r}")
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode("utf-8")
                assert not re.search(r"<f>[^<]*(HYPERLINK|example\.invalid)", xml), name


@pytest.mark.parametrize("report", list(BUILDERS))
def test_workbook_keeps_hostile_text_literal(library_outputs, report):
    assert_workbook_literal(library_outputs[report][1])


def _libreoffice_csv_sheets(path: Path, out_dir: Path) -> dict[str, list[list[str]]]:
    """Every sheet of ``path`` exported by LibreOffice (recalculating on load) as UTF-8 CSV."""
    from libreoffice import _RECALC_XCU, soffice

    out_dir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    try:
        (profile / "user").mkdir()
        (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_XCU, encoding="utf-8")
        # 44 comma, 34 quote, 76 UTF-8, ..., last token -1: one file per sheet, <stem>-<sheet>.csv
        fmt = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
        proc = subprocess.run([soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                               "--nolockcheck", "--convert-to", fmt, "--outdir", str(out_dir), str(path)],
                              capture_output=True, text=True, timeout=180, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    sheets = {}
    for file in out_dir.glob(f"{path.stem}-*.csv"):
        with open(file, encoding="utf-8", newline="") as handle:
            sheets[file.stem.removeprefix(f"{path.stem}-")] = list(csv.reader(handle))
    assert proc.returncode == 0 and "Data" in sheets, (proc.returncode, proc.stdout, proc.stderr)
    return sheets


@pytest.mark.slow
def test_libreoffice_shows_hostile_text_literally(library_outputs, tmp_path):
    sheets = _libreoffice_csv_sheets(library_outputs["savings"][1], tmp_path / "csv")
    data = sheets["Data"]
    header = data[0]
    for i, payload in enumerate(PAYLOADS):
        for column in TEXT_COLUMNS:
            assert data[i + 1][header.index(column)] == payload, (column, i, data[i + 1][header.index(column)])
    for name, rows in sheets.items():
        for row in rows:
            for value in row:
                if "HYPERLINK" in value or "example.invalid" in value:
                    # the payload shown as text, alone or inside a label such as By family's
                    # "member model_name" leader, never evaluated into a link
                    assert PAYLOADS[0] in value, (name, value)
                assert value not in ("#NAME?", "Err:508", "#VALUE!"), (name, value)


# -- HTML: escaped, nothing executable --------------------------------------------------------------


class Scan(HTMLParser):
    """Tags, attributes and text of an HTML document (character references decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def assert_nothing_executable(text: str) -> Scan:
    scan = Scan()
    scan.feed(text)
    scan.close()
    assert [t for t, _ in scan.tags if t in ("script", "iframe", "object", "embed", "base")] == []
    for tag, attrs in scan.tags:
        for name, value in attrs.items():
            assert not name.lower().startswith("on"), (tag, name, value)
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href"):
                assert not (value or "").strip().lower().startswith(("javascript:", "vbscript:")), (tag, value)
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/"), attrs
    return scan


@pytest.mark.parametrize("report", list(BUILDERS))
def test_html_tables_escape_hostile_text(library_outputs, report):
    rep = library_outputs[report][0]
    shown = set()
    for name, frame in rep.tables.items():
        html = format_table(frame, caption=name).to_html()
        assert "<script>" not in html and "<img src=x" not in html and "</table>" not in html.split("</table>")[-1]
        text = "".join(assert_nothing_executable(html).text)
        shown |= {p for p in PAYLOADS if p in text}
    if report == "savings":  # its per-model table lists every model by name
        assert shown == set(PAYLOADS), set(PAYLOADS) - shown


# -- one real run on the hostile data --------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_run(hostile_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "bundle"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        code = main(["run", "savings", "range_trimming", "milestones", "--data", str(hostile_csv), "--out", str(out),
                     "--jobs", "2"])  # a CSV has no plan sheet: plan_vs_actual is refused on it
    assert code == 0
    return out


@pytest.mark.slow
def test_run_html_has_escaped_text_and_nothing_executable(hostile_run):
    for name in ("savings.html", "range_trimming.html", "milestones.html", "index.html"):
        text = (hostile_run / name).read_text(encoding="utf-8")
        scan = assert_nothing_executable(text)
        body = "".join(scan.text)
        if name == "savings.html":  # the per-model table names every model
            assert {p for p in PAYLOADS if p in body} == set(PAYLOADS), name
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert DATA_NAME in body, name  # the data file label, escaped, not broken


@pytest.mark.slow
def test_run_workbooks_keep_hostile_text_literal(hostile_run):
    for name in ("savings", "range_trimming", "milestones"):
        assert_workbook_literal(hostile_run / f"{name}.xlsx")


@pytest.mark.slow
def test_run_data_path_arrives_unchanged(hostile_run, hostile_csv):
    manifest = json.loads((hostile_run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["data"]["path"] == hostile_csv.name  # the file name only (DESIGN section 2), unchanged
    nb = nbformat.read(str(hostile_run / "savings.ipynb"), as_version=4)
    cell = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    tree = ast.parse(cell.source)
    assert all(isinstance(node, ast.Assign) for node in tree.body)
    namespace: dict = {}
    exec(compile(tree, "<injected>", "exec"), {}, namespace)  # noqa: S102 - our own parameter cell
    assert namespace["data_path"] == str(hostile_csv.resolve())


def _chromium() -> str:
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.fail("chromium is not installed (apt-get install -y chromium) - the XSS check needs a browser")
    return exe


@pytest.mark.slow
@pytest.mark.parametrize("name", ["savings.html", "range_trimming.html", "milestones.html", "index.html"])
def test_run_html_in_headless_chromium_runs_no_script(hostile_run, tmp_path, name):
    profile = tmp_path / "chromium-profile"
    proc = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", "--dump-dom", (hostile_run / name).as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "</html>" in dom.lower() or "</body>" in dom.lower()
    scan = assert_nothing_executable(dom)  # the live DOM: no script, no on*, no img src=x
    assert not [t for t, a in scan.tags if PWNED in a]  # the onerror handler never ran
    assert not [t for t, a in scan.tags if t == "img" and a.get("src") == "x"]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
