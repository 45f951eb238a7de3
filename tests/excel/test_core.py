"""Workbook core: the style cache gives the same bytes as styling every cell with openpyxl objects."""

from __future__ import annotations

import pytest

import alliance_fin as af
from alliance_fin.excel import core as excel_core
from alliance_fin.run.outputs import write_report_outputs


@pytest.mark.parametrize("build", [
    pytest.param(af.build_savings_report, id="savings"),
    pytest.param(af.build_trimming_report, id="range_trimming"),
    pytest.param(af.build_milestones_report, id="milestones"),
])
def test_style_cache_writes_identical_workbooks(build, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    report = build()
    cached = write_report_outputs(report, output_dir=tmp_path / "cached")["xlsx"].read_bytes()
    monkeypatch.setattr(excel_core.Book, "_style", excel_core.Book._style_uncached)
    plain = write_report_outputs(report, output_dir=tmp_path / "plain")["xlsx"].read_bytes()
    assert cached == plain


def test_style_cache_keeps_earlier_styles_of_a_rewritten_cell():
    book = excel_core.Book("t")
    ws = book.sheet("S")
    book.put(ws, 1, 1, "x", style="header")
    book.put(ws, 1, 1, 1.5, style="calc", fmt=None)  # calc sets the font only: the header fill stays
    book.put(ws, 2, 1, "y", style="header")
    book.put(ws, 2, 1, 2.5, style="calc", fmt=None)  # the same again, now from the cache
    a, b = ws.cell(1, 1), ws.cell(2, 1)
    assert a.fill.start_color.rgb == b.fill.start_color.rgb != "00000000"
    assert tuple(a._style) == tuple(b._style)
