"""The pack's cover page (HTML, printed by Chromium like the reports): what the run is and what it holds."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from alliance_fin import __version__
from alliance_fin.registry import REPORT_SPECS
from alliance_fin.run.bundle import Bundle, format_parameter, format_value, readable_key, report_title

__all__ = ["build_cover_html"]

_COVER_CSS = """
@page { size: A4 landscape; margin: 12mm 12mm 15mm 12mm; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222;
       font-size: 9pt; margin: 0; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { color: #1f4e79; border-bottom: 3px solid #1f4e79; padding-bottom: 2mm; margin: 0 0 3mm; font-size: 17pt; }
h2 { color: #1f4e79; font-size: 10.5pt; margin: 3mm 0 1.5mm; break-after: avoid; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .5mm 5mm; margin: 0; font-size: 9pt; }
dt { font-weight: 600; color: #555; } dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: 7pt; max-width: 100%; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0 4px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f4f6f9; overflow-wrap: break-word; } td.num { text-align: right; white-space: nowrap; }
tr { break-inside: avoid; } thead { display: table-header-group; }
.changed { font-weight: 700; } .note { color: #555; font-size: 8pt; margin: 1mm 0 0; }
.columns { display: flex; gap: 6mm; align-items: flex-start; } .columns > div { flex: 1 1 0; min-width: 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 3mm; align-items: start; }
.grid table { width: 100%; }
.failed { color: #b00020; font-weight: 600; } .nowrap { white-space: nowrap; }
"""


def _defaults(report: str) -> Mapping[str, object]:
    spec = REPORT_SPECS.get(report)
    return {p.name: p.default for p in spec.params} if spec else {}


def _parameter_table(bundle: Bundle, reports: Sequence[str]) -> list[str]:
    e = html.escape
    params = bundle.manifest["parameters"]
    names = list(dict.fromkeys(k for r in reports for k in params.get(r, {})))
    head = "".join(f"<th>{e(report_title(r))}</th>" for r in reports)
    rows = [f"<table><thead><tr><th>Parameter</th>{head}</tr></thead><tbody>"]
    for name in names:
        cells = []
        for r in reports:
            values = params.get(r, {})
            if name not in values:
                cells.append("<td>-</td>")
                continue
            default = _defaults(r).get(name, values[name])
            changed = str(values[name]).upper() != str(default).upper()
            cells.append(f'<td class="{"changed" if changed else ""}">{e(format_parameter(values[name]))}'
                         + (f" <small>(default {e(format_parameter(default))})</small>" if changed else "") + "</td>")
        rows.append(f"<tr><td>{e(readable_key(name))}</td>{''.join(cells)}</tr>")
    rows.append("</tbody></table>")
    rows.append('<p class="note">Bold: set for this run, differs from the report\'s default.</p>')
    return rows


def _contents_table(bundle: Bundle, parts: Mapping[str, Sequence[str]]) -> list[str]:
    e = html.escape
    rows = ['<table><thead><tr><th>Report</th><th class="nowrap">Status</th><th>In this pack</th></tr></thead><tbody>']
    for r in bundle.reports:
        status = str(bundle.manifest["reports"][r].get("status", ""))
        included = "; ".join(parts.get(r, ())) or "nothing (the report did not finish)"
        cls = ' class="nowrap"' if status == "ok" else ' class="nowrap failed"'
        rows.append(f"<tr><td><b>{e(report_title(r))}</b></td><td{cls}>{e(status)}</td><td>{e(included)}</td></tr>")
    rows.append("</tbody></table>")
    return rows


def _headline_tables(bundle: Bundle) -> list[str]:
    e = html.escape
    out = ['<div class="grid">']
    for r in bundle.reports:
        headline = bundle.manifest["reports"][r].get("headline") or {}
        if not headline:
            continue
        keys = REPORT_SPECS[r].headline_keys if r in REPORT_SPECS else ()
        headline = dict(sorted(headline.items(), key=lambda kv: keys.index(kv[0]) if kv[0] in keys else len(keys)))
        out.append(f"<table><thead><tr><th>{e(report_title(r))}</th><th></th></tr></thead><tbody>")
        out += [f'<tr><td>{e(readable_key(k))}</td><td class="num">{e(format_value(k, v))}</td></tr>'
                for k, v in headline.items()]
        out.append("</tbody></table>")
    out.append("</div>")
    return out


def build_cover_html(bundle: Bundle, parts: Mapping[str, Sequence[str]]) -> str:
    """The cover of a bundle's pack: scenario, run, data file and hash, parameters, contents.

    Parameters
    ----------
    bundle : Bundle
        The run bundle.
    parts : mapping of str -> sequence of str
        Report -> what the pack prints of it (e.g. ``["HTML report", "workbook: Summary"]``).

    Returns
    -------
    str
        A complete HTML page; every string is escaped.
    """
    e = html.escape
    m, data = bundle.manifest, bundle.manifest["data"]
    version_note = ""
    if bundle.version != __version__:
        version_note = (f'<p class="note">Made by alliance_fin {e(bundle.version)}; printed by {e(__version__)}.</p>')
    out = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Alliance reports - {e(bundle.run_id)}</title><style>{_COVER_CSS}</style></head><body>",
        f"<h1>Alliance leader-follower reports - scenario {e(bundle.scenario())}</h1>",
        '<div class="columns"><div><dl>',
        f"<dt>Scenario</dt><dd>{e(bundle.scenario())}</dd>",
        f"<dt>Run</dt><dd>{e(bundle.run_id)}</dd>",
        f"<dt>Created</dt><dd>{e(str(m.get('created', '')))}</dd>",
        f"<dt>Data file</dt><dd>{e(str(data.get('path', '')))} ({e(str(data.get('rows', '')))} rows)</dd>",
        f"<dt>Data SHA-256</dt><dd><code>{e(str(data.get('sha256', '')))}</code></dd>",
        f"<dt>alliance_fin</dt><dd>{e(bundle.version)}</dd>",
        "</dl>", version_note,
        "<h2>Contents</h2>", *_contents_table(bundle, parts),
        "<h2>Headline figures</h2>", *_headline_tables(bundle),
        "</div><div>", "<h2>Parameters</h2>", *_parameter_table(bundle, bundle.reports),
        "</div></div>", "</body></html>", "",
    ]
    return "\n".join(out)
