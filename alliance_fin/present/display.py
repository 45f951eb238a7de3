"""Show a report section in a notebook: its reading, its table (formatted) and its chart.

``show(report, "by_member")`` is the one call each notebook section makes. Tables are
formatted here, at the last moment (thousands separators, one decimal for money, percentages
for shares and rates), and every string is HTML-escaped.
"""

from __future__ import annotations

import hashlib

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, Markdown, display
from pandas.io.formats.style import Styler

from alliance_fin.present import plots
from alliance_fin.present.report import Report

MAX_ROWS = 60  # longer tables are cut in the HTML (the workbook holds every row)
PERCENT_HINTS = ("share", "rate", "pct")
YEAR_HINTS = ("year", "launch", "end", "start")


def _is_percent(name: object, extra: tuple[str, ...] = ()) -> bool:
    """Shares and rates are named ``*_share``/``*_rate``/``*_pct`` (whole words, not "migrated")."""
    words = str(name).lower().replace(" ", "_").split("_")
    return str(name) in extra or any(h in words for h in PERCENT_HINTS)


def _label(name: object) -> str:
    return str(name).replace("_", " ")


def _column_format(name: object, series: pd.Series, percent: tuple[str, ...] = ()):
    if pd.api.types.is_bool_dtype(series):
        return lambda v: "yes" if v else "no"
    if not pd.api.types.is_numeric_dtype(series):
        return None
    if _is_percent(name, percent):
        return "{:.1%}"
    if pd.api.types.is_integer_dtype(series):
        return "{:d}" if any(h in str(name).lower() for h in YEAR_HINTS) else "{:,d}"
    return "{:,.1f}"


def _headline_value(value: float, figure: str) -> str:
    if "share" in figure:
        return f"{value:.1%}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def format_table(frame: pd.DataFrame, *, caption: str | None = None, percent: tuple[str, ...] = ()) -> Styler:
    """A Styler with units-aware number formats and escaped text.

    Columns whose name contains share/rate/pct are shown as percentages; year-like integer
    columns plainly; other numbers with thousands separators (one decimal for floats). Column
    and index labels lose their underscores; every string is HTML-escaped.

    Parameters
    ----------
    frame : DataFrame
        A presentation table (only the first ``MAX_ROWS`` rows are shown).
    caption : str, optional
        Caption above the table.
    percent : tuple of str
        Further columns to show as percentages.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    frame = frame.head(MAX_ROWS)
    if "figure" in frame.columns and "value" in frame.columns:  # headline: format per row
        frame = frame.assign(value=[_headline_value(v, f) for v, f in zip(frame["value"], frame["figure"],
                                                                         strict=True)])
    grid = len(frame.columns) > 0 and all(isinstance(c, float) for c in frame.columns)
    if grid:  # a sensitivity grid: rates on both axes, money inside
        styler = frame.style.format("{:,.0f}").format_index("{:.0%}", axis=1).format_index("{:.0%}", axis=0)
    else:
        formats = {c: _column_format(c, frame[c], percent) for c in frame.columns}
        styler = frame.style.format({c: f for c, f in formats.items() if f is not None}, escape="html", na_rep="")
        if isinstance(frame.index, pd.RangeIndex):
            styler = styler.hide(axis="index")
        styler = styler.format_index(_label, axis=1, escape="html")
        styler = styler.format_index(escape="html", axis=0)
        if frame.index.name is not None:
            styler = styler.format_index_names(_label, axis=0, escape="html") if hasattr(
                styler, "format_index_names") else styler
    # pandas gives each Styler a random id; a content hash keeps the HTML byte-identical between runs
    digest = hashlib.sha1(frame.to_json(orient="split", default_handler=str).encode() + str(caption).encode())
    styler = styler.set_uuid(digest.hexdigest()[:10]).set_table_attributes('class="af-table"')
    if caption:
        styler = styler.set_caption(caption)
    return styler


def show(report: Report, section: str) -> None:
    """Display one section of ``report`` (reading, table, chart) in the notebook.

    Parameters
    ----------
    report : Report
        From one of the ``build_*_report`` functions.
    section : str
        A key of ``report.sections`` (e.g. ``"by_member"``).
    """
    sec = report.sections[section]
    display(Markdown(sec.reading))
    names = sec.table if isinstance(sec.table, tuple) else (sec.table,) if sec.table else ()
    for name in names:
        frame = report.tables[name]
        note = f" (first {MAX_ROWS} of {len(frame)} rows; all are in the workbook)" if len(frame) > MAX_ROWS else ""
        caption = f"Money in {report.currency} millions; shares and rates in %; volumes in units per year"
        if sec.note:
            caption += f". {sec.note}"
        display(HTML(format_table(frame, caption=caption, percent=sec.percent).to_html()
                     + (f"<p><em>{note.strip()}</em></p>" if note else "")))
    if sec.plot is not None:
        plot = getattr(plots, sec.plot)
        data = report.tables[sec.plot_table or names[0]]
        kwargs = dict(sec.plot_kwargs)
        if "currency" in plot.__code__.co_varnames:
            kwargs.setdefault("currency", report.currency)
        ax = plot(data, **kwargs)
        display(ax.figure)
        plt.close(ax.figure)
