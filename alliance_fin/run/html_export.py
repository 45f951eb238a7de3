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
from urllib.parse import quote

import nbformat
from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import TagRemovePreprocessor

from alliance_fin import __version__
from alliance_fin.files import write_atomic
from alliance_fin.paths import TEMPLATES_DIR

__all__ = ["build_html", "build_index_html", "data_file_name", "get_exporter", "write_html", "write_index_html"]

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


def data_file_name(data_file: str) -> str:
    """The data file's name without its folders (a shared report must not leak local paths)."""
    text = str(data_file)
    if re.match(r"^([A-Za-z]:\\|\\\\)", text):  # a Windows path; elsewhere a backslash may be in a name
        text = text.replace("\\", "/")
    return text.rstrip("/").rsplit("/", 1)[-1]


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


def _fmt_value(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)) and ("share" in key or key.endswith(("_pct", "_rate"))):
        return f"{value:.1%}"  # fractions
    if isinstance(value, float) and value.is_integer() and not key.endswith("_m"):
        return f"{int(value):,}"  # a count
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.4g}"
    return str(value)


def _headline_rows(name: str, headline: dict, parameters: dict) -> list[tuple[str, str, object]]:
    """``(key, label, value)`` in the registry's order of the report's headline keys, then any others."""
    from alliance_fin.registry import REPORT_SPECS, label

    spec = REPORT_SPECS.get(name)
    order = [k for k in (spec.headline_keys if spec else ()) if k in headline]
    order += [k for k in headline if k not in order]
    currency = str(parameters.get("currency", "EUR")).upper()
    if currency == "EUR" and "total_savings_eur_m" in order:  # one figure, not the same total twice
        order = [k for k in order if k != "total_savings_report_ccy_m"]
    return [(k, label(k).replace("report currency, m", f"{currency} m"), headline[k]) for k in order]


_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 1100px;
       margin: 0 auto; padding: 1rem 1.5rem 3rem; color: #222; }
h1 { color: #1f4e79; border-bottom: 3px solid #1f4e79; padding-bottom: .5rem; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f4f6f9; }
td.num { text-align: right; }
.ok { color: #1e7b34; font-weight: 600; } .failed { color: #b00020; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; }
dt { font-weight: 600; color: #555; } dd { margin: 0; word-break: break-all; }
"""


def build_index_html(manifest: dict, *, titles: dict[str, str], data_label: str, pack: bool = False) -> str:
    """The bundle's ``index.html``: links to every report file, headline figures, parameters.

    Headline figures carry their registry labels, in the registry's order (what each report counts
    first); the data file is named without its folders; ``pack`` adds a link to ``pack.pdf``.

    Parameters
    ----------
    manifest : dict
        The run manifest (see ``manifest.build_manifest``).
    titles : dict of str to str
        Report name -> display title.
    data_label : str
        How the data file is named for readers (only its name is shown).
    pack : bool
        The bundle holds ``pack.pdf`` (see :func:`write_index_html`).

    Returns
    -------
    str
        A complete HTML page with inline CSS only; every string is escaped.
    """
    e = html.escape
    data = manifest["data"]
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
        f"<title>Alliance reports - {e(manifest['run_id'])}</title>",
        f"<style>{_INDEX_CSS}</style>", "</head>", "<body>",
        f"<h1>Alliance reports - run {e(manifest['run_id'])}</h1>", "<dl>",
        f"<dt>Created</dt><dd>{e(manifest['created'])}</dd>",
        f"<dt>Data</dt><dd>{e(data_file_name(data_label))} ({e(str(data.get('rows')))} rows)</dd>",
        f"<dt>Data SHA-256</dt><dd>{e(str(data.get('sha256')))}</dd>",
        f"<dt>alliance_fin</dt><dd>{e(manifest['alliance_fin_version'])}</dd>",
        *([f"<dt>Parameters</dt><dd>differ from the defaults: {e(_differ_text(manifest))}</dd>"]
          if manifest.get("parameters_differ") else []),
        "</dl>",
        *(['<p class="af-pack"><a href="pack.pdf">pack.pdf</a>: every report and workbook summary in one '
           "print-ready PDF</p>"] if pack else []),
        "<h2>Reports</h2>", "<table>",
        "<tr><th>report</th><th>status</th><th>files</th><th>headline figures</th></tr>",
    ]
    for name, rep in manifest["reports"].items():
        links = " ".join(f'<a href="{e(quote(f))}">{e(f)}</a>' for f in rep["outputs"])
        rows = _headline_rows(name, rep["headline"], manifest.get("parameters", {}).get(name, {}))
        figures = "<br>".join(f'<span title="{e(k)}">{e(text)}</span>: <b>{e(_fmt_value(k, v))}</b>'
                              for k, text, v in rows)
        if rep.get("error"):
            figures = f'<span class="failed">{e(rep["error"])}</span>'
        parts.append(
            f'<tr><td><b>{e(titles.get(name, name))}</b><br><code>{e(name)}</code></td>'
            f'<td class="{"ok" if rep["status"] == "ok" else "failed"}">{e(rep["status"])}</td>'
            f"<td>{links}</td><td>{figures}</td></tr>"
        )
    parts.append("</table>")
    parts.append("<h2>Parameters</h2>")
    for name, values in manifest["parameters"].items():
        parts.append(f"<h3>{e(titles.get(name, name))}</h3><table><tr><th>parameter</th><th>value</th>"
                     "<th>what it sets</th></tr>")
        parts += [f"<tr><td><code>{e(k)}</code></td><td>{e(str(v))}</td><td>{e(_param_help(name, k))}</td></tr>"
                  for k, v in values.items()]
        parts.append("</table>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _param_help(report: str, name: str) -> str:
    from alliance_fin.registry import REPORT_SPECS

    spec = REPORT_SPECS.get(report)
    try:
        return spec.param(name).help if spec else ""
    except KeyError:
        return ""


def _differ_text(manifest: dict) -> str:
    differ = manifest.get("parameters_differ") or {}
    return ", ".join(f"{k}={v}" for k, v in differ.items())


def write_index_html(run_dir: str | Path) -> Path:
    """Rewrite ``run_dir/index.html`` from its ``manifest.json`` (e.g. after ``pack`` wrote ``pack.pdf``).

    Returns
    -------
    Path
        The index page.
    """
    import json

    from alliance_fin.registry import REPORT_SPECS

    run_dir = Path(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    titles = {r: REPORT_SPECS[r].title for r in manifest.get("reports", {}) if r in REPORT_SPECS}
    data = manifest.get("data", {})
    text = build_index_html(manifest, titles=titles, data_label=str(manifest.get("data_label") or data.get("path", "")),
                            pack=(run_dir / "pack.pdf").is_file())
    return write_atomic(run_dir / "index.html", text)
