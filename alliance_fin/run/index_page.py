"""A bundle's ``index.html``: links to every report file, headline figures and parameters.

Built from the manifest alone (so ``pack`` can rewrite it later) with the standard library only:
the parent of a run writes it without importing nbconvert.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import quote

from alliance_fin.files import write_atomic

__all__ = ["build_index_html", "data_file_name", "write_index_html"]


def data_file_name(data_file: str) -> str:
    """The data file's name without its folders (a shared report must not leak local paths)."""
    text = str(data_file)
    if re.match(r"^([A-Za-z]:\\|\\\\)", text):  # a Windows path; elsewhere a backslash may be in a name
        text = text.replace("\\", "/")
    return text.rstrip("/").rsplit("/", 1)[-1]


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
