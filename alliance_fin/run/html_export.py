"""Executed notebook -> self-contained HTML report (nbconvert with ``templates/html/alliance``).

The report shows no code and no prompts, starts with a header (title, scenario, run id, date,
the data file's name and SHA-256, never its folders) and a table of contents built from the rendered headings, embeds figures as
``data:`` URIs and loads nothing from another host (no require.js, MathJax or mermaid).
Strings passed in here are escaped by the template; strings from data must already be
escaped in the notebook outputs (``DataFrame.to_html`` escapes by default).
"""

from __future__ import annotations

import copy
import functools
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import TagRemovePreprocessor

from alliance_fin import __version__
from alliance_fin.files import write_atomic
from alliance_fin.paths import TEMPLATES_DIR
from alliance_fin.run.index_page import data_file_name

__all__ = ["build_html", "get_exporter", "warm_up", "write_html"]

TEMPLATE_NAME = "alliance"
_TOC_MARKER = "<!-- alliance-fin:toc -->"
#: Cells with these tags are left out of the report entirely.
REMOVE_CELL_TAGS = ("parameters", "injected-parameters", "remove_cell", "papermill-error-cell-tag")


_NO_ALT = re.compile(r"<img(?![^>]*\salt=)")
_FOCUSABLE = re.compile(r'(<div class="(?:[^"]*\s)?(?:jp-Cell-inputWrapper|jp-OutputArea-output)(?:\s[^"]*)?"[^>]*)>')
NO_ALT_TEXT = "No description has been provided for this image"  # nbconvert's own words


class ReportExporter(HTMLExporter):
    """nbconvert's HTML exporter without its BeautifulSoup pass.

    ``HTMLExporter.from_notebook_node`` parses the rendered page with BeautifulSoup only to add
    ``alt`` to images that have none and ``tabindex="0"`` to input and output areas, then
    serialises it again: 0.9 s of a 1.4 s export per report (``docs/performance.md``). Here the
    same two attributes are added to the template's own markup by two regular expressions.
    """

    def from_notebook_node(self, nb: nbformat.NotebookNode, resources: dict | None = None,
                           **kw: object) -> tuple[str, dict]:
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        resources = self._init_resources(resources)
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        body = _NO_ALT.sub(f'<img alt="{NO_ALT_TEXT}"', body)
        return _FOCUSABLE.sub(r'\1 tabindex="0">', body), resources


@functools.lru_cache(maxsize=1)
def get_exporter() -> HTMLExporter:
    """The process-wide exporter (template set-up costs ~0.2 s, so it is built once)."""
    exporter = ReportExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR / "html")],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=False,  # output images are inlined anyway; see CVE-2026-39378
        sanitize_html=False,  # our own notebooks; data strings are escaped by to_html
        require_js_url="",
        mathjax_url="",
        mermaid_js_url="",
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags=set(REMOVE_CELL_TAGS), enabled=True), enabled=True
    )
    return exporter


def warm_up() -> None:
    """Render a small synthetic page once, so jinja has compiled every template a report uses.

    jinja compiles a template on its first render (about 0.25 s here); the warm zygote calls
    this so its children, which each render one page, find them compiled. Nothing is written.
    """
    v4 = nbformat.v4
    outputs = [v4.new_output("stream", name="stdout", text="text"),
               v4.new_output("display_data", data={"text/html": "<p>table</p>", "text/plain": "table"}),
               v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
               v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
               v4.new_output("error", ename="Error", evalue="value", traceback=["traceback"])]
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("# Title\n\nSome *text*.\n\n## Section"),
                                v4.new_code_cell("1", outputs=outputs)])
    build_html(nb, title="warm-up", scenario="base", run_id="warm-up", created="", data_file="data.csv")


class _Headings(HTMLParser):
    """Collect ``(level, id, text)`` of h1-h3 elements that carry an ``id``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str, str]] = []
        self._open: tuple[int, str] | None = None
        self._text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("h1", "h2", "h3") and a.get("id") and "af-title" not in (a.get("class") or ""):
            self._open, self._text = (int(tag[1]), a["id"] or ""), []
        elif tag == "a" and self._open and "anchor-link" in (a.get("class") or ""):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._skip:
            self._skip -= 1
        elif self._open and tag == f"h{self._open[0]}":
            text = " ".join("".join(self._text).split())
            self.found.append((self._open[0], self._open[1], text))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open and not self._skip:
            self._text.append(data)


def _toc(body: str) -> str:
    parser = _Headings()
    parser.feed(body)
    if not parser.found:
        return ""
    top = min(level for level, _, _ in parser.found)
    items = [
        f'<li class="af-toc-{min(level - top + 1, 3)}"><a href="#{html.escape(anchor)}">'
        f"{html.escape(text)}</a></li>"
        for level, anchor, text in parser.found
    ]
    return "<strong>Contents</strong><ol>" + "".join(items) + "</ol>"


def _prepare(nb: nbformat.NotebookNode, title: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"  # papermill's injected cell gets a random id; keep HTML reproducible
    nb.metadata["title"] = title
    return nb


def build_html(
    nb: nbformat.NotebookNode, *, title: str, scenario: str, run_id: str, created: str, data_file: str,
    data_sha256: str = "",
) -> str:
    """Render an executed notebook as one self-contained HTML page.

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook (not modified).
    title, scenario, run_id, created, data_file : str
        Header fields; escaped in the template. Only the name of ``data_file`` is shown.
    data_sha256 : str
        SHA-256 of the data file, shown beside its name.

    Returns
    -------
    str
        The complete HTML document.
    """
    resources = {
        "alliance": {
            "title": title, "scenario": scenario, "run_id": run_id, "created": created,
            "data_file": data_file_name(data_file), "data_sha256": data_sha256,
            "footer": f"alliance_fin {__version__} - run {run_id}",
        },
    }
    body, _ = get_exporter().from_notebook_node(_prepare(nb, title), resources=resources)
    if _TOC_MARKER not in body:
        raise RuntimeError(f"HTML template {TEMPLATE_NAME!r} lost its table-of-contents marker")
    return body.replace(_TOC_MARKER, _toc(body), 1)


def write_html(
    nb: nbformat.NotebookNode | str | Path,
    out_path: str | Path,
    *,
    title: str,
    scenario: str,
    run_id: str,
    created: str,
    data_file: str,
    data_sha256: str = "",
) -> Path:
    """Write the HTML report of an executed notebook, atomically.

    Parameters
    ----------
    nb : NotebookNode or path
        The executed notebook or the path of an ``.ipynb`` file.
    out_path : path
        Target ``.html`` file; written to a temporary file beside it, then moved into place.
    title, scenario, run_id, created, data_file, data_sha256 : str
        Header fields, see :func:`build_html`.

    Returns
    -------
    Path
        ``out_path``.
    """
    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(str(nb), as_version=4)
    text = build_html(nb, title=title, scenario=scenario, run_id=run_id, created=created,
                      data_file=data_file, data_sha256=data_sha256)
    out_path = Path(out_path)
    return write_atomic(out_path, text)
