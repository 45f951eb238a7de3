"""HTML export: no code, no prompts, nothing loaded from other hosts, strings escaped, a TOC."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from alliance_fin.run.html_export import build_html, write_html
from alliance_fin.run.index_page import build_index_html

# a 1x1 transparent PNG
PNG = base64.b64encode(
    bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                  "0000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")
).decode()
EVIL = "<script>alert('x')</script>"
DATA_PATH = "/home/analyst/private/line-up <v2> & co.csv"


class Scan(HTMLParser):
    """Every start tag with its attributes, and all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if not self._in_style:
            self.text.append(data)


def scan(text: str) -> Scan:
    parser = Scan()
    parser.feed(text)
    return parser


def assert_self_contained(text: str) -> None:
    """No scripts, stylesheets, frames or images loaded from elsewhere."""
    parsed = scan(text)
    for tag, attrs in parsed.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed"), (tag, attrs)
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        if tag in ("img", "source", "video", "audio"):
            assert (attrs.get("src") or "").startswith("data:"), attrs
        if tag == "a":
            href = attrs.get("href") or ""
            assert not href.lower().startswith("javascript:"), attrs
    assert "@import" not in text
    assert "url(http" not in text.replace(" ", "")


@pytest.fixture
def notebook() -> nbformat.NotebookNode:
    params = new_code_cell("scenario = 'base'  # label")
    params.metadata["tags"] = ["parameters"]
    table = new_code_cell("SECRET_INPUT_CODE = 1\ntable", execution_count=3, outputs=[
        new_output("execute_result", execution_count=3,
                   data={"text/html": f"<table><tr><td>{EVIL.replace('<', '&lt;')}</td></tr></table>",
                         "text/plain": "table"}),
    ])
    figure = new_code_cell("plot()", execution_count=4, outputs=[
        new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        new_output("stream", name="stderr", text="SOME_WARNING_TEXT\n"),
        new_output("display_data", data={"application/javascript": "alert('js')"}),
    ])
    return new_notebook(cells=[
        new_markdown_cell("# Savings report\n\nIntro text."),
        params,
        new_markdown_cell("## By member & year"),
        table,
        new_markdown_cell("### Chart details"),
        figure,
    ])


def render(nb, **kw) -> str:
    header = dict(title=f"Savings {EVIL}", scenario="base", run_id="20200101-000000_base",
                  created="2020-01-01T00:00:00Z", data_file=DATA_PATH, data_sha256="ab" * 32)
    header.update(kw)
    return build_html(nb, **header)


def test_same_document_as_nbconvert_without_its_soup_pass(notebook, monkeypatch):
    """ReportExporter skips HTMLExporter's BeautifulSoup pass; the DOM must not change."""
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    from alliance_fin.run import html_export

    ours = render(notebook)
    exporter = html_export.get_exporter()
    monkeypatch.setattr(exporter, "from_notebook_node",
                        lambda nb, resources=None, **kw: HTMLExporter.from_notebook_node(exporter, nb, resources, **kw))
    theirs = render(notebook)
    assert str(BeautifulSoup(ours, "html.parser")) == str(BeautifulSoup(theirs, "html.parser"))
    assert 'alt="No description has been provided for this image"' in ours
    assert ours.count('tabindex="0"') == theirs.count('tabindex="0"') > 0


def test_no_code_no_prompts_no_stderr(notebook):
    text = render(notebook)
    assert "SECRET_INPUT_CODE" not in text and "scenario = " not in text
    assert "SOME_WARNING_TEXT" not in text
    parsed = scan(text)
    body = "".join(parsed.text)
    assert "In\xa0[" not in body and "In [" not in body and "Out[" not in body
    classes = " ".join(a.get("class") or "" for _, a in parsed.tags)
    for hidden in ("jp-InputPrompt", "jp-OutputPrompt", "jp-CodeMirrorEditor", "jp-Editor"):
        assert hidden not in classes


def test_self_contained_with_embedded_figure(notebook):
    text = render(notebook)
    assert_self_contained(text)
    imgs = [a for t, a in scan(text).tags if t == "img"]
    assert imgs and all(a["src"].startswith("data:image/png;base64,") for a in imgs)


def test_report_carries_the_print_stylesheet_verbatim(notebook):
    """Printed from a browser, the report gets the pack's print rules: one file, in its own head."""
    from alliance_fin.run.pack import PRINT_CSS

    text = render(notebook)
    css = PRINT_CSS.read_text(encoding="utf-8").strip()
    head = text[:text.index("</head>")]
    start = head.index('<style media="print">')
    assert head.index(css, start) < head.index("</style>", start)  # inside that element, unchanged
    assert text.count(css) == 1 and "@page { size: A4 landscape" in css


def test_header_fields_escaped(notebook):
    text = render(notebook)
    assert EVIL not in text
    joined = "".join(scan(text).text)
    assert f"Savings {EVIL}" in joined
    assert "line-up <v2> & co.csv" in joined and "line-up &lt;v2&gt; &amp; co.csv" in text  # the name, escaped
    for field in ("20200101-000000_base", "2020-01-01T00:00:00Z", "Scenario"):
        assert field in joined


def test_header_shows_the_data_file_name_and_hash_never_its_path(notebook):
    text = render(notebook)
    assert "/home/analyst" not in text and "private/" not in text
    assert "ab" * 32 in "".join(scan(text).text)
    windows = render(notebook, data_file="C:\\Users\\me\\lineup.xlsx")
    assert "Users\\" not in windows and "\\me\\" not in windows and "lineup.xlsx" in windows


def test_table_of_contents_links_to_headings(notebook):
    text = render(notebook)
    tags = scan(text).tags
    ids = {a.get("id") for _, a in tags if a.get("id")}
    toc = [a["href"] for t, a in tags if t == "a" and a.get("href", "").startswith("#")
           and "anchor-link" not in (a.get("class") or "")]
    assert len(toc) == 3
    assert all(h[1:] in ids for h in toc)
    assert text.index('class="af-toc"') < text.index('id="Savings-report"')


def test_reproducible_despite_random_cell_ids(notebook):
    other = nbformat.from_dict(notebook)
    for i, cell in enumerate(other.cells):
        cell["id"] = f"random{i}x"
    assert render(notebook) == render(other)


def test_warm_up_leaves_every_page_as_it_would_be(notebook, tmp_path: Path):
    """The zygote's warm-up render compiles templates only: pages are the same bytes, nothing is written."""
    import subprocess
    import sys

    code = ("import sys, nbformat; from alliance_fin.run import html_export as h; "
            "nb = nbformat.reads(sys.stdin.read(), as_version=4); kw = dict(title='T', scenario='s', run_id='r', "
            "created='c', data_file='d.csv'); cold = h.build_html(nb, **kw); h.warm_up(); "
            "print(h.build_html(nb, **kw) == cold)")
    out = subprocess.run([sys.executable, "-c", code], input=nbformat.writes(notebook), capture_output=True,
                         text=True, check=True, cwd=tmp_path).stdout
    assert out.strip() == "True"
    assert list(tmp_path.iterdir()) == []


def test_write_html_from_path(tmp_path: Path, notebook):
    nb_path = tmp_path / "x.ipynb"
    nbformat.write(notebook, nb_path)
    out = write_html(nb_path, tmp_path / "x.html", title="T", scenario="s", run_id="r",
                     created="c", data_file="d")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.html", "x.ipynb"]  # no temp files left
    assert out.stat().st_mode & 0o044  # readable by others, not mkstemp's 0600


def test_index_page_links_and_escapes():
    manifest = {
        "run_id": "r1", "created": "2020-01-01T00:00:00Z", "alliance_fin_version": "0.1.0",
        "parameters": {"savings": {"scenario": EVIL, "max_saving_rate": 0.4}},
        "data": {"path": "/x.csv", "sha256": "ab" * 32, "rows": 57},
        "reports": {
            "savings": {"status": "ok", "seconds": 1.0, "headline": {"savings_pct": 0.25, "lf_target_met": True,
                                                                    "total_savings_eur_m": 12345.678},
                        "outputs": {"savings.xlsx": "0", "savings.html": "0", "savings.ipynb": "0"}, "error": None},
            "milestones": {"status": "failed", "seconds": 1.0, "headline": {},
                           "outputs": {"milestones.failed.ipynb": "0"}, "error": f"milestones: {EVIL}"},
        },
    }
    text = build_index_html(manifest, titles={"savings": "Savings"}, data_label=EVIL)
    assert EVIL not in text
    assert_self_contained(text)
    hrefs = {a["href"] for t, a in scan(text).tags if t == "a"}
    assert hrefs == {"savings.xlsx", "savings.html", "savings.ipynb", "milestones.failed.ipynb"}
    joined = "".join(scan(text).text)
    assert "25.0%" in joined and "12,345.7" in joined and "yes" in joined


def _savings_manifest(**extra) -> dict:
    headline = {"net_savings_eur_m": 6891.3, "npv_savings_eur_m": 5828.9, "pre_plan_savings_eur_m": 16795.5,
                "savings_pct": 0.055, "total_savings_eur_m": 7556.3, "total_savings_report_ccy_m": 6422.9}
    return {
        "run_id": "r1", "created": "2020-01-01T00:00:00Z", "alliance_fin_version": "0.1.0",
        "parameters": {"savings": {"scenario": "base", "currency": "GBP"}},
        "data": {"path": "lineup.csv", "sha256": "ab" * 32, "rows": 57},
        "reports": {"savings": {"status": "ok", "seconds": 1.0, "headline": headline, "error": None,
                                "outputs": {"savings.html": "0"}}},
        **extra,
    }


def test_index_page_labels_in_registry_order_never_raw_keys():
    from alliance_fin.registry import HEADLINE_LABELS, REPORT_SPECS

    text = build_index_html(_savings_manifest(), titles={"savings": "Savings"}, data_label="/home/me/lineup.csv")
    joined = "".join(scan(text).text)
    for key in REPORT_SPECS["savings"].headline_keys:
        assert f"{key}:" not in joined  # a key is only a tooltip
    labels = [HEADLINE_LABELS[k].replace("report currency, m", "GBP m") for k in REPORT_SPECS["savings"].headline_keys]
    positions = [joined.index(label) for label in labels]
    assert positions == sorted(positions)  # total first, as the registry lists them (not alphabetical)
    assert "Total savings in the window (GBP m)" in joined and "/home/me" not in text


def test_index_page_links_the_pack_when_there_is_one(tmp_path: Path):
    import json

    from alliance_fin.run.index_page import write_index_html

    (tmp_path / "manifest.json").write_text(json.dumps(_savings_manifest()), encoding="utf-8")
    without = write_index_html(tmp_path).read_text(encoding="utf-8")
    assert 'href="pack.pdf"' not in without
    (tmp_path / "pack.pdf").write_bytes(b"%PDF-1.4\n")
    with_pack = write_index_html(tmp_path).read_text(encoding="utf-8")
    assert 'href="pack.pdf"' in with_pack


def test_index_page_says_when_parameters_differ_from_the_defaults():
    text = build_index_html(_savings_manifest(parameters_differ={"currency": "GBP", "max_saving_rate": 0.3}),
                            titles={}, data_label="x.csv")
    assert "differ from the defaults: currency=GBP, max_saving_rate=0.3" in "".join(scan(text).text)


def test_index_page_in_eur_lists_the_total_once_and_explains_parameters():
    manifest = _savings_manifest()
    manifest["parameters"]["savings"] = {"scenario": "base", "currency": "EUR", "max_saving_rate": 0.4}
    joined = "".join(scan(build_index_html(manifest, titles={}, data_label="x.csv")).text)
    assert joined.count("Total savings in the window (EUR m)") == 1
    assert "cap on a model's development saving" in joined
