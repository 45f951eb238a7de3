"""Waterfall charts in the HTML's colours, drawn from live helper columns.

Excel and LibreOffice have no waterfall chart that both read (Excel 2016's ``cx:`` waterfall is
unknown to LibreOffice and openpyxl), so a waterfall is the classic stacked column chart: an
invisible *base* series lifts each change to the running level, and three visible series carry
the totals, the rises and the falls. The four series are formulas next to the step values, so an
edit that turns a fall into a rise moves the bar *and* its colour; colouring data points one by
one at write time would keep the old colour. Colours are ``STYLE["waterfall_colors"]``, the
HTML's (:data:`alliance_fin.present.plots.WATERFALL_COLORS`): navy totals, green for the good
direction, red for the bad one.

The running level must stay at or above zero (stacked columns stack negative values downwards
from zero); every waterfall here runs over positive totals (investment, savings).
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.legend import Legend, LegendEntry
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from alliance_fin.excel.core import Book, Formula
from alliance_fin.excel.style import STYLE

__all__ = ["WATERFALL_HEADERS", "waterfall_chart"]

WATERFALL_HEADERS = ("chart_base", "chart_total", "chart_rise", "chart_fall")


def _bar_columns(book: Book, ws: Worksheet, *, first_row: int, value_col: int, totals: Sequence[bool],
                 at_col: int, short_labels: Sequence[str] | None) -> None:
    """Write the base, total, rise and fall of each step in columns ``at_col`` .. ``at_col + 3``
    (and the short category labels in ``at_col + 4`` when given).

    The level after a step is its ``total + base + rise`` (a fall's base is already the lower end),
    so each change starts from the previous row's level without a running-total column.
    """
    v = get_column_letter(value_col)
    b, t, u, d = (get_column_letter(at_col + k) for k in range(4))
    for k, header in enumerate(WATERFALL_HEADERS):
        book.put(ws, first_row - 1, at_col + k, header, style="header")
    for i, is_total in enumerate(totals):
        r = first_row + i
        level = f"({t}{r - 1}+{b}{r - 1}+{u}{r - 1})" if i else "0"
        cells = (("0", f"{v}{r}", "0", "0") if is_total else
                 (f"MIN({level},{level}+{v}{r})", "0", f"MAX({v}{r},0)", f"MAX(-{v}{r},0)"))
        for k, text in enumerate(cells):
            book.put(ws, r, at_col + k, Formula(text), fmt="eur_m")
        if short_labels is not None:
            book.put(ws, r, at_col + 4, short_labels[i])
    if short_labels is not None:
        book.put(ws, first_row - 1, at_col + 4, "chart_label", style="header")


def waterfall_chart(book: Book, ws: Worksheet, *, first_row: int, label_col: int, value_col: int,
                    totals: Sequence[bool], at_col: int, title: str, y_title: str, rise_is_good: bool,
                    labels: tuple[str, str, str], short_labels: Sequence[str] | None = None) -> BarChart:
    """A waterfall of the steps in rows ``first_row`` .. of ``value_col`` (helper columns at ``at_col``).

    Parameters
    ----------
    first_row : int
        Row of the first step; the row above it is the header row the helper columns share.
    label_col, value_col : int
        Columns of the step labels (categories) and values (totals, or the change of a step).
    totals : sequence of bool
        Per step, in order: True for a total bar from zero, False for a change.
    at_col : int
        First of the four helper columns (:data:`WATERFALL_HEADERS`).
    rise_is_good : bool
        True where a rise is good news (savings: green rise, red fall), False where a fall is
        (investment: green fall, red rise), as in the HTML.
    labels : (str, str, str)
        Legend text of the totals, the rises and the falls.
    short_labels : sequence of str, optional
        Category labels for the chart (written beside the helper columns), where the step
        labels are too long for an axis.

    Returns
    -------
    BarChart
        Sized and styled; the caller anchors it (``ws.add_chart``).
    """
    _bar_columns(book, ws, first_row=first_row, value_col=value_col, totals=totals, at_col=at_col,
                 short_labels=short_labels)
    if short_labels is not None:
        label_col = at_col + 4
    last = first_row + len(totals) - 1
    colors = STYLE["waterfall_colors"]
    good, bad = colors["good"], colors["bad"]
    fills = (None, colors["total"], good if rise_is_good else bad, bad if rise_is_good else good)
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap, chart.gapWidth = "col", "stacked", 100, 60
    chart.title, chart.y_axis.title = title, y_title
    for k in range(4):
        chart.add_data(Reference(ws, min_col=at_col + k, min_row=first_row, max_row=last), titles_from_data=False)
    chart.set_categories(Reference(ws, min_col=label_col, min_row=first_row, max_row=last))
    for series, fill, text in zip(chart.series, fills, ("base", *labels), strict=True):
        series.tx = SeriesLabel(v=text)
        props = GraphicalProperties()
        if fill is None:  # the base only lifts the change to its level: no fill, no line, no legend
            props.noFill = True
            props.line.noFill = True
        else:
            props.solidFill = fill
            props.line.solidFill = fill
        series.graphicalProperties = props
    chart.legend = Legend(legendEntry=[LegendEntry(idx=0, delete=True)])
    chart.legend.position = "b"
    chart.y_axis.number_format = "#,##0"
    chart.x_axis.delete = chart.y_axis.delete = False  # both axes shown, with their titles
    chart.width, chart.height = STYLE["chart_width_cm"], STYLE["chart_height_cm"]
    return chart
