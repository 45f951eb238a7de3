"""``compare.html`` and ``compare.xlsx`` from a :class:`~alliance_fin.run.compare.Comparison`."""

from __future__ import annotations

import html
import io
import math
from typing import TYPE_CHECKING, Any

import openpyxl
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from alliance_fin import __version__
from alliance_fin.run.bundle import format_value

if TYPE_CHECKING:
    from alliance_fin.run.compare import Comparison

__all__ = ["build_compare_html", "build_compare_xlsx", "format_change"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 1300px; margin: 0 auto;
       padding: 1rem 1.5rem 3rem; color: #222; }
h1 { color: #1f4e79; border-bottom: 3px solid #1f4e79; padding-bottom: .5rem; }
h2 { color: #1f4e79; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f6f9; } td.num, th.num { text-align: right; } td.num { white-space: nowrap; }
td:first-child { white-space: nowrap; } td.up { color: #1e7b34; } td.down { color: #b00020; }
.note { background: #fff4e5; border-left: 4px solid #e08a00; padding: .5rem 1rem; margin: 1rem 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; }
dt { font-weight: 600; color: #555; } dd { margin: 0; overflow-wrap: anywhere; }
@media print { @page { size: A4 landscape; margin: 12mm; } body { max-width: none; font-size: 9pt; }
  table { font-size: 7.5pt; } td { overflow-wrap: anywhere; } th { overflow-wrap: break-word; } h2 { break-after: avoid; } }
"""


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_fraction_key(key: str) -> bool:
    return format_value(key, 0.5).endswith("%")


def format_change(key: str, change: Any, pct: Any) -> tuple[str, str]:
    """The change against the first run as shown: ``(+1,234.5, +3.2%)``; shares change in points (pp)."""
    if _is_missing(change):
        return "", ""
    if isinstance(change, str):
        return change, ""
    if _is_fraction_key(key):
        absolute = f"{change * 100:+.1f} pp"
    elif key.endswith("_m"):  # money in millions: one decimal, like the figures
        absolute = f"{change:+,.1f}"
    elif float(change).is_integer() and abs(change) < 1e15:
        absolute = f"{int(change):+,}"
    else:
        absolute = f"{change:+,.1f}" if abs(change) >= 100 else f"{change:+,.4g}"
    return absolute, ("" if _is_missing(pct) else f"{pct:+.1%}")


def _value(key: str, value: Any) -> str:
    return "" if _is_missing(value) else format_value(key, value)


def _figure_table(frame: pd.DataFrame, labels: list[str], lead: list[str]) -> list[str]:
    e = html.escape
    if frame.empty:
        return ["<p>None.</p>"]
    head = "".join(f"<th>{e(c)}</th>" for c in lead) + "".join(f'<th class="num">{e(lab)}</th>' for lab in labels)
    head += "".join(f'<th class="num">change {e(lab)}</th><th class="num">change % {e(lab)}</th>' for lab in labels[1:])
    out = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for _, row in frame.iterrows():
        cells = "".join(f"<td>{e(str(row[c]))}</td>" for c in lead)
        cells += "".join(f'<td class="num">{e(_value(row["key"], row[lab]))}</td>' for lab in labels)
        for lab in labels[1:]:
            change = row[f"change {lab}"]
            absolute, pct = format_change(row["key"], change, row[f"change % {lab}"])
            cls = ("up" if change > 0 else "down" if change < 0 else "") if isinstance(change, (int, float)) \
                and not _is_missing(change) else ""
            cells += f'<td class="num {cls}">{e(absolute)}</td><td class="num {cls}">{e(pct)}</td>'
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>")
    return out


def build_compare_html(comparison: Comparison) -> str:
    """The comparison as one self-contained HTML page (inline CSS, every string escaped)."""
    e = html.escape
    c, labels = comparison, comparison.labels
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
             f"<title>Alliance run comparison - {e(' vs '.join(labels))}</title>", f"<style>{_CSS}</style>",
             "</head><body>", f"<h1>Alliance run comparison: {e(' vs '.join(labels))}</h1>"]
    parts += [f'<p class="note"><b>Note:</b> {e(n)}</p>' for n in c.notes]
    parts.append(f"<p>Every change is against the first run, <b>{e(labels[0])}</b>: absolute, then in % of the "
                 "first run's value. Shares change in percentage points (pp).</p>")
    parts.append("<h2>Runs</h2><table><thead><tr><th>run</th><th>folder</th><th>created</th><th>alliance_fin</th>"
                 "<th>data file</th><th>data SHA-256</th></tr></thead><tbody>")
    for lab, b in zip(labels, c.bundles):
        d = b.manifest["data"]
        parts.append(f"<tr><td>{e(lab)}</td><td>{e(b.folder.name)}</td><td>{e(str(b.manifest.get('created', '')))}</td>"
                     f"<td>{e(b.version)}</td><td>{e(str(d.get('path', '')))}</td>"
                     f"<td><code>{e(str(d.get('sha256', '')))}</code></td></tr>")
    parts.append("</tbody></table>")
    parts.append("<h2>Headline figures</h2>")
    parts += _figure_table(c.headline, labels, ["report", "figure"])
    parts.append("<h2>Parameters and data that differ</h2>")
    if c.differences.empty:
        parts.append("<p>None: every run has the same parameters and data.</p>")
    else:
        head = "".join(f"<th>{e(lab)}</th>" for lab in labels)
        parts.append(f"<table><thead><tr><th>report</th><th>item</th>{head}</tr></thead><tbody>")
        for _, row in c.differences.iterrows():
            cells = "".join(f"<td>{e(str(row[lab]))}</td>" for lab in labels)
            parts.append(f"<tr><td>{e(str(row['report']))}</td><td>{e(str(row['item']))}</td>{cells}</tr>")
        parts.append("</tbody></table>")
    parts.append("<h2>Per-member figures</h2><p>From each workbook's summary sheets (blocks headed "
                 "<i>member</i>).</p>")
    parts += _figure_table(c.members, labels, ["report", "sheet", "member", "figure"])
    parts.append(f'<footer><small>alliance_fin {e(__version__)} compare</small></footer></body></html>\n')
    return "\n".join(parts)


_HEAD_FONT, _HEAD_FILL = Font(bold=True), PatternFill("solid", fgColor="DDE5F0")


def _sheet(wb: openpyxl.Workbook, title: str, frame: pd.DataFrame, labels: list[str], lead: list[str]) -> None:
    ws = wb.create_sheet(title)
    columns = lead + labels + [f"{p}{lab}" for lab in labels[1:] for p in ("change ", "change % ")]
    columns = [col for col in columns if col in frame.columns]
    ws.append(columns)
    for cell in ws[1]:
        cell.font, cell.fill, cell.alignment = _HEAD_FONT, _HEAD_FILL, Alignment(wrap_text=True, vertical="top")
    for _, row in frame.iterrows():
        key = str(row.get("key", ""))
        values = []
        for col in columns:
            v = row[col]
            values.append(None if _is_missing(v) else (str(v) if isinstance(v, str) else v))
        ws.append(values)
        for col_idx, col in enumerate(columns, start=1):
            cell = ws.cell(ws.max_row, col_idx)
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text from data stays text, never a formula
                continue
            if isinstance(cell.value, bool):
                continue
            if col.startswith("change % "):
                cell.number_format = "+0.0%;-0.0%;0.0%"
            elif _is_fraction_key(key):
                cell.number_format = "+0.0%;-0.0%;0.0%" if col.startswith("change ") else "0.0%"
            elif isinstance(cell.value, (int, float)):
                cell.number_format = "#,##0.0" if not float(cell.value).is_integer() else "#,##0"
    for idx, col in enumerate(columns, start=1):
        width = max([len(str(col))] + [len(str(c.value or "")) for c in ws[get_column_letter(idx)][1:]])
        ws.column_dimensions[get_column_letter(idx)].width = min(max(width + 2, 10), 48)
    ws.freeze_panes = ws.cell(2, len(lead) + 1)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def build_compare_xlsx(comparison: Comparison) -> bytes:
    """The comparison as a workbook: sheets Runs, Headline, Differences, By member (values, no formulas)."""
    c, labels = comparison, comparison.labels
    wb = openpyxl.Workbook()
    runs = wb.active
    runs.title = "Runs"
    runs.append(["run", "folder", "created", "alliance_fin", "data file", "data SHA-256"])
    for lab, b in zip(labels, c.bundles):
        d = b.manifest["data"]
        runs.append([lab, b.folder.name, str(b.manifest.get("created", "")), b.version,
                     str(d.get("path", "")), str(d.get("sha256", ""))])
    runs.append([])
    runs.append([f"Every change is against the first run, {labels[0]}; shares change in percentage points "
                 "(shown as %)."])
    for note in c.notes:
        runs.append([f"Note: {note}"])
    for row in runs.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    for cell in runs[1]:
        cell.font, cell.fill = _HEAD_FONT, _HEAD_FILL
    for letter, width in zip("ABCDEF", (26, 26, 22, 12, 18, 68)):
        runs.column_dimensions[letter].width = width
    _sheet(wb, "Headline", c.headline, labels, ["report", "figure", "key"])
    diffs = c.differences
    ws = wb.create_sheet("Differences")
    ws.append(["report", "item", *labels])
    for cell in ws[1]:
        cell.font, cell.fill = _HEAD_FONT, _HEAD_FILL
    for _, row in diffs.iterrows():
        ws.append([str(row[col]) for col in ["report", "item", *labels]])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.data_type = "s"
    if diffs.empty:
        ws.append(["(none: every run has the same parameters and data)"])
    for letter in "ABCDEFGH":
        ws.column_dimensions[letter].width = 28
    _sheet(wb, "By member", c.members, labels, ["report", "sheet", "member", "figure", "key"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
