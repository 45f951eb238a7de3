"""Waterfall charts in the workbooks: the HTML's bars, colours and readable legends.

The plan-against-outcome bridge and the savings waterfall are stacked columns over four helper
columns (an invisible base, totals, rises, falls; :mod:`alliance_fin.excel.charts`). These tests
read the cached helper values against the HTML's table and the chart XML against the HTML's
colours (:data:`alliance_fin.present.plots.WATERFALL_COLORS`).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from alliance_fin.excel.plan_vs_actual import write_plan_vs_actual_workbook
from alliance_fin.excel.savings import write_savings_workbook
from alliance_fin.excel.style import STYLE
from alliance_fin.present.plan_vs_actual import build_plan_vs_actual_report
from alliance_fin.present.plots import WATERFALL_COLORS
from alliance_fin.present.savings import build_savings_report

RUN_INFO = {"run_id": "charts", "scenario": "base", "created": "2024-05-01T12:00:00"}
HELPERS = ["chart_base", "chart_total", "chart_rise", "chart_fall"]


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, tuple[Path, object]]:
    out = tmp_path_factory.mktemp("charts")
    pva, sav = build_plan_vs_actual_report(), build_savings_report()
    write_plan_vs_actual_workbook(out / "pva.xlsx", pva, run_info=RUN_INFO)
    write_savings_workbook(out / "savings.xlsx", sav, run_info=RUN_INFO)
    return {"bridge": (out / "pva.xlsx", pva), "waterfall": (out / "savings.xlsx", sav)}


def _chart(path: Path, title: str) -> str:
    with zipfile.ZipFile(path) as zf:
        charts = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/charts/chart")]
    found = [c for c in charts if title in c]
    assert len(found) == 1, title
    return found[0]


def _series_fills(xml: str) -> list[str | None]:
    fills = []
    for series in re.findall(r"<ser>.*?</ser>", xml, re.S):
        sp = re.search(r"<spPr>(.*?)</spPr>", series, re.S).group(1)
        fill = re.search(r'<a:solidFill><a:srgbClr val="([0-9A-F]{6})"', sp)
        fills.append(fill.group(1) if fill else ("noFill" if "<a:noFill" in sp else None))
    return fills


def test_html_and_workbook_share_the_waterfall_colours():
    assert {k: "#" + v for k, v in STYLE["waterfall_colors"].items()} == WATERFALL_COLORS


@pytest.mark.parametrize(("book", "title", "rise_is_good"), [
    ("bridge", "From planned to realised savings, by cause", True),
    ("waterfall", "From standalone to leader-follower development investment", False),
])
def test_waterfall_chart_colours_and_legend(books, book, title, rise_is_good):
    path, _ = books[book]
    xml = _chart(path, title)
    assert re.search(r'grouping val="stacked"', xml) and re.search(r'overlap val="100"', xml)
    total, good, bad = (WATERFALL_COLORS[k].lstrip("#") for k in ("total", "good", "bad"))
    assert _series_fills(xml) == ["noFill", total, good if rise_is_good else bad, bad if rise_is_good else good]
    names = re.findall(r"<tx><v>([^<]*)</v></tx>", xml)
    assert len(names) == 4 and all("_" not in n for n in names)  # literal, readable legend text
    assert re.search(r"<legendEntry><idx val=\"0\"\s*/><delete val=\"1\"\s*/></legendEntry>", xml)  # no 'base'


def test_bridge_bars_follow_the_html_bridge(books):
    path, report = books["bridge"]
    sheet = pd.read_excel(path, sheet_name="Variance")
    bridge = report.tables["bridge"]
    bars = sheet[HELPERS + ["chart_label"]].dropna(subset=["chart_base"]).reset_index(drop=True)
    assert len(bars) == len(bridge)
    assert bars["chart_label"].tolist() == [str(s).split(" (")[0] for s in bridge["label"]]
    delta = bridge["kind"].eq("delta")
    # the default run is in EUR, so the HTML's values (rounded to 0.1) are the workbook's EUR m
    assert bars.loc[~delta, "chart_total"].tolist() == pytest.approx(bridge.loc[~delta, "value"].tolist(), abs=0.06)
    change = bars["chart_rise"] - bars["chart_fall"]
    assert change[delta].tolist() == pytest.approx(bridge.loc[delta, "value"].tolist(), abs=0.06)
    top = bars["chart_base"] + bars["chart_total"] + bars["chart_rise"] + bars["chart_fall"]
    low = bars["chart_base"]
    # each change bar runs between the levels before and after it, as the HTML draws it
    levels = bridge["cumulative"].tolist()
    for i in bridge.index[delta]:
        assert (low[i], top[i]) == pytest.approx((min(levels[i - 1], levels[i]), max(levels[i - 1], levels[i])),
                                                 abs=0.1)
    assert (bars[HELPERS] >= 0).all().all()


def test_savings_waterfall_bars(books):
    path, report = books["waterfall"]
    sheet = pd.read_excel(path, sheet_name="Waterfall").dropna(subset=["kind"])
    assert (sheet["chart_base"] + sheet["chart_total"] + sheet["chart_rise"]).iloc[-1] == pytest.approx(
        sheet["value_eur_m"].iloc[-1])
    deltas = sheet[sheet["kind"].eq("delta")]
    assert (deltas["chart_fall"] == -deltas["value_eur_m"]).all() and (deltas["chart_rise"] == 0).all()


def test_milestones_share_chart_has_the_html_legend_and_colours(tmp_path):
    from alliance_fin.excel.milestones import write_milestones_workbook
    from alliance_fin.present.milestones import build_milestones_report
    from alliance_fin.present.plots import SHARE_PATH_COLORS

    assert ["#" + c for c in STYLE["share_path_colors"]] == list(SHARE_PATH_COLORS)
    report = build_milestones_report()
    write_milestones_workbook(tmp_path / "m.xlsx", report, run_info=RUN_INFO)
    xml = _chart(tmp_path / "m.xlsx", "Shares by year against the path")
    metrics = list(dict.fromkeys(report.tables["paths"]["metric"]))  # the HTML's lines, in its order
    expected = [name for m in metrics for name in (m, f"{m}: path")]
    assert re.findall(r"<tx><v>([^<]*)</v></tx>", xml) == expected
    colours = [SHARE_PATH_COLORS[i].lstrip("#") for i in range(len(metrics)) for _ in range(2)]
    assert _series_fills(xml) == colours
    series = re.findall(r"<ser>.*?</ser>", xml, re.S)
    assert ['prstDash val="dash"' in s for s in series] == [False, True] * len(metrics)
