"""Excel workbooks finance users can trust: the public entry points.

One function per report, each called by the last cell of its notebook::

    write_savings_workbook(path, *, lineup, assumptions, parameters, run_info, library)
    write_trimming_workbook(path, *, lineup, assumptions, parameters, run_info, library)
    write_milestones_workbook(path, *, lineup, assumptions, parameters, run_info, library)

Each workbook has ``Cover``, ``Assumptions`` (one defined name per key), ``Data`` (the line-up
as an Excel table), calculation and summary sheets of live formulas with native charts, and
``Checks`` (library value vs workbook formula; defined name ``checks_ok``). Strings from data
are always text, never formulas; the bytes are reproducible under ``SOURCE_DATE_EPOCH``; files
are written atomically. The modules behind it: :mod:`alliance_fin.excel_core` (safe cells,
names, print set-up, reproducible zip), :mod:`alliance_fin.excel_common` (shared sheets,
:func:`write_workbook`) and one module per report.
"""

from __future__ import annotations

from alliance_fin.excel_common import write_workbook
from alliance_fin.excel_core import Book, Column, Formula, clean_text, created_time, write_bytes_atomic
from alliance_fin.excel_milestones import write_milestones_workbook
from alliance_fin.excel_savings import build_savings_library, write_savings_workbook
from alliance_fin.excel_trimming import write_trimming_workbook

__all__ = [
    "Book",
    "Column",
    "Formula",
    "build_savings_library",
    "clean_text",
    "created_time",
    "write_bytes_atomic",
    "write_milestones_workbook",
    "write_savings_workbook",
    "write_trimming_workbook",
    "write_workbook",
]
