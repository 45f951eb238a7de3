"""Show a report section in a notebook: its reading, its table (formatted) and its chart.

``show(report, "by_member")`` is the one call each notebook section makes. Tables are
formatted here, at the last moment, by :func:`format_table`, which gives every column a unit
(:func:`column_unit`) and formats it by that unit:

======== ======================================= ======================
unit     shown as                                header
======== ======================================= ======================
money    ``1,234.5`` (report currency, millions) ``total (GBP m)``
share    ``45.8%`` (computed shares, 1 decimal)  ``share``
rate     ``3.0%``, ``2.4%``, ``1.25%``: a given   ``rate``
         rate at the precision it is given
points   ``+12.2 pp`` (a change of shares)       ``change``
count    ``1,218,000`` (models, volumes)         ``volume cut``
year     ``2025``                                ``launch year``
text     left-aligned, escaped                   ``member``
======== ======================================= ======================

Headers are flat (one row, no index-name row); text columns are left-aligned and numbers
right-aligned; every string is HTML-escaped and ``http(s)`` addresses become links.
"""

from __future__ import annotations

import hashlib
import html
import inspect
import re
from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from IPython.core.pylabtools import print_figure
from IPython.display import HTML, Markdown, display
from matplotlib.figure import Figure
from pandas.io.formats.style import Styler

from alliance_fin.present import plots
from alliance_fin.present.report import Report
from alliance_fin.present.units import format_rate, format_value
from alliance_fin.registry import label

__all__ = ["MAX_ROWS", "column_unit", "display_figure", "figure_png", "format_rate", "format_table", "format_value",
           "section_figure", "section_tables_html", "show"]

MAX_ROWS = 60  # longer tables are cut in the HTML (the workbook holds every row)
LONG_TEXT_CHARS = 40  # a text column with a longer value gets a minimum width on screen
PERCENT_HINTS = ("share", "rate", "pct")
#: Words of a column name that make an integer or float column a count (models, vehicles, years).
COUNT_HINTS = ("volume", "models", "units", "count", "launches", "years", "sourced", "assumed", "derived")
#: Words of a column name that make an integer column a calendar year (shown without separators).
YEAR_HINTS = ("year", "since")
#: Column names that read better spelled out (underscores become spaces otherwise).
COLUMN_LABELS = {"family_id": "family id", "model_id": "model id", "lf_share_new": "LF share of new models",
                 "lf_share_range": "LF share of models on sale", "lf_share_active": "LF share of active models"}
_NUMERIC_TEXT = re.compile(r"^[-+\u2212]?[\d,.]+(%| pp| [A-Za-z]{3}( m)?)?$|^$")
_URL = re.compile(r"^https?://", re.IGNORECASE)


def _words(name: object) -> list[str]:
    return str(name).lower().replace(" ", "_").split("_")


def column_unit(name: object, series: pd.Series, *, percent: tuple[str, ...] = (),
                units: Mapping[str, str] | None = None) -> str:
    """The unit of a presentation column: ``money``, ``share``, ``rate``, ``points``, ``count``,
    ``year``, ``bool`` or ``text``.

    Parameters
    ----------
    name : str
        Column name; its words say the unit (``*_share``/``*_rate`` shares, ``*_year`` years,
        ``volume``/``models`` counts). Any other float column is money in the report currency.
    series : Series
        The column (its dtype decides text, bool, integer or float).
    percent : tuple of str
        Columns that hold shares although their names do not say so; one of them whose name says
        ``change`` is a change of shares, in percentage points.
    units : mapping, optional
        Explicit units by column name; they win over every rule.
    """
    if units and name in units:
        return units[name]
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if not pd.api.types.is_numeric_dtype(series):
        return "text"
    words = _words(name)
    if str(name) in percent:
        return "points" if "change" in words and not set(words) & set(PERCENT_HINTS) else "share"
    if set(words) & set(PERCENT_HINTS):
        return "share"
    if pd.api.types.is_integer_dtype(series) and set(words) & set(YEAR_HINTS):
        return "year"
    if set(words) & set(COUNT_HINTS) or pd.api.types.is_integer_dtype(series):
        return "count"
    return "money"


def _header(name: object, unit: str, currency: str) -> str:
    text = str(name)
    money_ccy = currency
    match = re.search(r"_([a-z]{3})_m$", text, re.IGNORECASE) or re.search(r"_([a-z]{3})_m_", text, re.IGNORECASE)
    if match:  # a column that names its own currency (e.g. `total_low_eur_m`)
        money_ccy = match.group(1).upper()
        text = text[:match.start()] + text[match.end() - (1 if match.group(0).endswith("_") else 0):]
    text = COLUMN_LABELS.get(text, " ".join("LF" if w == "lf" else w for w in text.split("_") if w))
    if unit == "money":
        return f"{text} ({money_ccy} m)"
    if unit == "points":
        return f"{text} (pp)"
    return text


def _formatter(unit: str):
    return {
        "bool": lambda v: "" if v is None or v is pd.NA else ("yes" if v else "no"),
        "money": lambda v: f"{v:,.1f}",
        "share": lambda v: f"{v:.1%}",
        "rate": format_rate,
        "points": lambda v: f"{v * 100:+.1f} pp",
        "count": lambda v: f"{v:,.0f}",
        "year": lambda v: f"{int(v)}",
        "text": _link,
    }[unit]


def _link(value: object) -> str:
    """(Already escaped) addresses as links, also several in one cell (``url ; url``); other text unchanged."""
    text = str(value)
    parts = [p.strip() for p in text.split(" ; ")]
    if not text or not all(_URL.match(p) and " " not in p for p in parts):
        return text
    return " ; ".join(f'<a href="{p}">{p}</a>' for p in parts)


def _headline_value(value: float, figure: str) -> str:
    if "(share)" in figure or "share" in figure.lower().split("(")[-1]:
        return f"{value:.1%}"
    if re.search(r"\([A-Z]{3} m\)", figure):
        return f"{value:,.1f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Named or non-default indexes become ordinary first columns: one header row."""
    if isinstance(frame.index, pd.RangeIndex) and frame.index.name is None:
        return frame
    return frame.reset_index()


def _grid(frame: pd.DataFrame, caption: str | None, currency: str) -> tuple[pd.DataFrame, dict[str, str], str]:
    """A sensitivity grid (rates on both axes, money inside) as a flat table with a first text column."""
    rows = label(str(frame.index.name or "rows"))
    cols = label(str(frame.columns.name or "columns"))
    flat = pd.DataFrame({f"{rows} \u2193 / {cols} \u2192": [format_rate(v) for v in frame.index]})
    for c in frame.columns:
        flat[format_rate(c)] = frame[c].to_numpy()
    units = {c: "money" for c in flat.columns[1:]}
    note = f"Savings in the window, {currency} millions"
    return flat, units, f"{note}. {caption}" if caption else note


def format_table(frame: pd.DataFrame, *, caption: str | None = None, percent: tuple[str, ...] = (),
                 currency: str = "EUR", units: Mapping[str, str] | None = None) -> Styler:
    """A Styler that formats every column by its unit, with flat headers and escaped text.

    Parameters
    ----------
    frame : DataFrame
        A presentation table (only the first ``MAX_ROWS`` rows are shown). A table with columns
        ``figure`` and ``value`` is a headline: each value is formatted by what its figure says
        (``(share)``, ``(EUR m)``, a count). A table whose columns are all floats is a grid.
    caption : str, optional
        Caption above the table: say only what is true of this table.
    percent : tuple of str
        Further columns holding shares (see :func:`column_unit`).
    currency : str
        The report currency: money columns say it in their header.
    units : mapping, optional
        Explicit units by column, winning over :func:`column_unit`; ``"hidden"`` leaves a column out
        (a raw key shown by its label in another column).

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    frame = frame.head(MAX_ROWS)
    units = dict(units or {})
    digest_src = frame.to_json(orient="split", default_handler=str)
    if len(frame.columns) > 0 and all(isinstance(c, float) for c in frame.columns):
        frame, grid_units, caption = _grid(frame, caption, currency)
        units.update(grid_units)
        headers = {c: c for c in frame.columns}
    else:
        frame = _flat(frame)
        if "figure" in frame.columns and "value" in frame.columns:  # headline: format per row
            frame = frame.assign(value=[_headline_value(v, f) for v, f in
                                        zip(frame["value"], frame["figure"], strict=True)])
            units["value"] = "text"
        headers = None
    hidden = [c for c in frame.columns if units.get(c) == "hidden"]  # e.g. a raw key beside its label
    frame = frame.drop(columns=hidden)
    kinds = {c: column_unit(c, frame[c], percent=percent, units=units) for c in frame.columns}
    if headers is None:
        headers = {c: _header(c, kinds[c], currency) for c in frame.columns}
    formats = {c: _formatter("text" if k == "money" and not pd.api.types.is_numeric_dtype(frame[c]) else k)
               for c, k in kinds.items()}
    styler = frame.style.format(formats, escape="html", na_rep="").hide(axis="index")
    styler = styler.format_index(lambda c: headers.get(c, str(c)), axis=1, escape="html")
    styles = {}
    for c, k in kinds.items():
        numeric = k not in ("text", "bool") or (
            k == "text" and frame[c].astype(str).str.strip().str.match(_NUMERIC_TEXT).all() and len(frame))
        align = "right" if numeric else "left"
        # a column of long notes (e.g. what changed in a model) gets room on screen, so it does not
        # wrap into a sliver that makes every row tall; print.css lifts this on paper
        wide = not numeric and len(frame) and frame[c].astype(str).str.len().max() > LONG_TEXT_CHARS
        styles[c] = [{"selector": "th", "props": f"text-align: {align};"},
                     {"selector": "td", "props": f"text-align: {align};" + (" min-width: 22em;" if wide else "")}]
    styler = styler.set_table_styles(styles, overwrite=False)
    # pandas gives each Styler a random id; a content hash keeps the HTML byte-identical between runs
    digest = hashlib.sha1(digest_src.encode() + str(caption).encode() + currency.encode())
    styler = styler.set_uuid(digest.hexdigest()[:10]).set_table_attributes('class="af-table"')
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return styler


def section_tables_html(report: Report, section: str) -> list[str]:
    """The HTML of each table of one section, as :func:`show` displays it.

    Each table's caption is the section's ``captions`` entry for it, else the section's ``note``;
    tables without either (source lists, model counts) have none.
    """
    sec = report.sections[section]
    names = sec.table if isinstance(sec.table, tuple) else (sec.table,) if sec.table else ()
    out = []
    for name in names:
        frame = report.tables[name]
        note = f"first {MAX_ROWS} of {len(frame)} rows; all are in the workbook" if len(frame) > MAX_ROWS else ""
        caption = sec.captions.get(name, sec.note) if sec.captions else sec.note
        styler = format_table(frame, caption=caption or None, percent=sec.percent, currency=report.currency,
                              units=sec.units)
        out.append(styler.to_html() + (f"<p><em>{note}</em></p>" if note else ""))
    return out


def show(report: Report, section: str) -> None:
    """Display one section of ``report`` (reading, tables, chart) in the notebook.

    Parameters
    ----------
    report : Report
        From one of the ``build_*_report`` functions.
    section : str
        A key of ``report.sections`` (e.g. ``"by_member"``).
    """
    sec = report.sections[section]
    display(Markdown(sec.reading))
    for table in section_tables_html(report, section):
        display(HTML(table))
    fig = section_figure(report, section)
    if fig is not None:
        display_figure(fig)
        plt.close(fig)


def section_figure(report: Report, section: str) -> Figure | None:
    """The chart of one section of ``report`` (a new matplotlib figure), or None when it has none."""
    sec = report.sections[section]
    if sec.plot is None:
        return None
    names = sec.table if isinstance(sec.table, tuple) else (sec.table,) if sec.table else ()
    plot = getattr(plots, sec.plot)
    kwargs = dict(sec.plot_kwargs)
    if "currency" in inspect.signature(plot).parameters:
        kwargs.setdefault("currency", report.currency)
    return plot(report.tables[sec.plot_table or names[0]], **kwargs).figure


#: zlib level of the charts' PNGs: 3 encodes in 60 % of the default's (6) time, for 2 % more bytes.
PNG_COMPRESS_LEVEL = 3


def figure_png(fig: Figure) -> str | None:
    """``fig`` as a base64 PNG of exactly its size, as :func:`display_figure` shows it (None: no axes).

    IPython's inline backend prints figures with ``bbox_inches="tight"``, which lays the figure
    out and draws it once more to find its bounds; the report's figures are already laid out to
    their size when drawn (:mod:`alliance_fin.present.plots`), and carry no layout engine, so
    printing draws them once.
    """
    return print_figure(fig, "png", bbox_inches=None, base64=True, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})


def display_figure(fig: Figure) -> None:
    """Display ``fig`` as a PNG of exactly its size (one render, :func:`figure_png`).

    The output is the inline backend's: a PNG and the figure's text.
    """
    png = figure_png(fig)
    if png:
        display({"image/png": png, "text/plain": repr(fig)}, raw=True)
