"""The sweep's own pages: ``index.html`` (every scenario's bundle with its headline figures).

Rows are those of ``sweep.csv``: ``scenario``, the swept and base parameters, ``status``,
``<report>.<headline key>`` figures and ``folder`` (the bundle's folder name, relative to the
sweep folder; absent for a headlines-only sweep).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

__all__ = ["build_sweep_index", "format_figure"]

_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f0f0f0}"
        "td.l,th.l{text-align:left}.ok{color:#176117}.failed{color:#a11}.cached{color:#555}")


def format_figure(key: str, value: Any) -> str:
    """A headline figure for reading: shares and rates as percentages, money with one decimal."""
    if isinstance(value, bool) or value in ("True", "False"):
        return "yes" if value in (True, "True") else "no"
    if isinstance(value, int | float):
        if any(w in key for w in ("share", "pct", "rate")):
            return f"{value:.1%}"
        return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    return "" if value is None else str(value)


def build_sweep_index(rows: Sequence[dict[str, Any]], *, title: str) -> str:
    """The sweep folder's ``index.html``: one row per scenario, linked to its bundle.

    Parameters
    ----------
    rows : sequence of dict
        The summary rows (see the module docstring).
    title : str
        Page heading.

    Returns
    -------
    str
        A complete HTML page, inline CSS only; every string is escaped.
    """
    e = html.escape
    columns = list(dict.fromkeys(k for row in rows for k in row))
    figures = [c for c in columns if "." in c]
    params = [c for c in columns if c not in figures and c not in ("scenario", "status", "folder")]
    ok = sum(r.get("status") in ("ok", "cached") for r in rows)
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             f"<h1>{e(title)}</h1>", f"<p>{len(rows)} scenario(s), {ok} with every report written.</p>",
             "<table>", "<tr>" + "".join(f'<th class="l">{e(c)}</th>' for c in ("scenario", *params, "status"))
             + "".join(f"<th>{e(c)}</th>" for c in figures) + "</tr>"]
    for row in rows:
        label = e(str(row.get("scenario", "")))
        folder = row.get("folder")
        cell = f'<a href="{e(quote(str(folder)))}/index.html">{label}</a>' if folder else label
        status = str(row.get("status", ""))
        parts.append("<tr>" + f'<td class="l">{cell}</td>'
                     + "".join(f'<td class="l">{e(str(row.get(c, "")))}</td>' for c in params)
                     + f'<td class="l {e(status)}">{e(status)}</td>'
                     + "".join(f"<td>{e(format_figure(c, row.get(c)))}</td>" for c in figures) + "</tr>")
    parts += ["</table>", "</body>", "</html>", ""]
    return "\n".join(parts)
