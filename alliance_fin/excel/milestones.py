"""The milestones workbook: shifted launches, yearly shares, paths and statuses as live formulas.

Formulas reproduce :mod:`alliance_fin.engines.milestones` for the line-up as given (the ``data``
scenario; the trimmed scenario is in the HTML report): models launched after ``as_of_year``
slip by ``launch_delay_years``; a model is active in year y when launch <= y <= end; new by y
when launched and start_year <= launch <= y. Shares by year via ``SUMPRODUCT``; the path is a
straight line from the start-year value to the target; the status follows the order met /
missed (from the target year) / on track / at risk / missed, with the library's tolerance
``EPS`` = 1e-9 on every comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.chart import LineChart, Reference

from alliance_fin.excel.core import Book, Column, Formula
from alliance_fin.excel.sheets import Check, chart_size, write_workbook
from alliance_fin.present.report import Report

CALC = "Model calc"
EPS = "0.000000001"
STATUS_CODES = '{"met","on track","at risk","missed"}'
TARGET_KEYS = (("lf", "lf_share_new", "F"), ("platform", "platform_volume_share", "H"))


def _model_calc(book: Book) -> None:
    ws = book.sheet(CALC)
    book.describe(ws, "Per model: family and platform flags, launch and end after the launch-delay scenario")
    d = book.data
    delay, as_of = book.name("launch_delay_years"), book.name("as_of_year")
    cols = [
        Column("model_id", lambda i, r: Formula(f'{d("model_id", r)}&""')),
        Column("member", lambda i, r: Formula(f'{d("member", r)}&""')),
        Column("in_family", lambda i, r: Formula(f'IF({d("family_id", r)}&""<>"",1,0)'), "int"),
        Column("common_platform", lambda i, r: Formula(f"IF({d('common_platform', r)}=TRUE,1,0)"), "int"),
        Column("annual_volume", lambda i, r: Formula(d("annual_volume", r)), "units"),
        Column("launch_year_data", lambda i, r: Formula(d("launch_year", r)), "year"),
        Column("end_year_data", lambda i, r: Formula(d("end_year", r)), "year"),
        Column("delayed", lambda i, r: Formula(f"F{r}>{as_of}")),
        Column("launch_year", lambda i, r: Formula(f"F{r}+IF(H{r},{delay},0)"), "year"),
        Column("end_year", lambda i, r: Formula(f"G{r}+IF(H{r},{delay},0)"), "year"),
        Column("launched", lambda i, r: Formula(f"IF(I{r}<=J{r},1,0)"), "int"),
    ]
    book.grid(ws, cols, book.n_data)


def _by_year(book: Book, n_years: int) -> None:
    ws = book.sheet("By year")
    book.describe(ws, "Per year: active and new models, leader-follower and common-platform shares, "
                      "paths to the targets and status")
    n = book.n_data
    S, E = book.name("start_year"), book.name("end_year")

    def c(col: str) -> str:
        return f"'{CALC}'!${col}$2:${col}${n + 1}"

    active = f"({c('I')}<=A{{r}})*({c('J')}>=A{{r}})"
    new = f"{c('K')}*({c('I')}>={S})*({c('I')}<=A{{r}})"
    last = n_years + 1
    yr = f"$A$2:$A${last}"

    def path_status(key: str, metric_col: str, path_col: str) -> list[Column]:
        share, year = book.name(f"target_{key}_share"), book.name(f"target_{key}_year")
        tol = book.name("amber_tolerance")
        start = f"INDEX(${metric_col}$2:${metric_col}${last},MATCH({S},{yr},0))"
        return [
            Column(f"{key}_path", lambda i, r: Formula(
                f"IF({year}<={S},{share},{start}+({share}-{start})*MIN(1,MAX(0,(A{r}-{S})/({year}-{S}))))"),
                "pct"),
            Column(f"{key}_status", lambda i, r: Formula(
                f'IF({metric_col}{r}>={share}-{EPS},"met",IF(A{r}>={year},"missed",'
                f'IF({metric_col}{r}>={path_col}{r}-{EPS},"on track",'
                f'IF({metric_col}{r}>={path_col}{r}-{tol}-{EPS},"at risk","missed"))))'), style="center"),
        ]

    first = (f"MIN({S},{book.name('target_lf_year')},{book.name('target_platform_year')})")
    cols = [
        Column("year", lambda i, r: Formula(first if i == 0 else f"A{r - 1}+1"), "year"),
        Column("active_models", lambda i, r: Formula(f"SUMPRODUCT({active.format(r=r)})"), "units"),
        Column("launches", lambda i, r: Formula(f"SUMPRODUCT({c('K')}*({c('I')}=A{r}))"), "units"),
        Column("new_models", lambda i, r: Formula(f"SUMPRODUCT({new.format(r=r)})"), "units"),
        Column("new_lf_models", lambda i, r: Formula(f"SUMPRODUCT({new.format(r=r)}*{c('C')})"), "units"),
        Column("lf_share_new", lambda i, r: Formula(f"IF(D{r}>0,E{r}/D{r},0)"), "pct"),
        Column("lf_share_active", lambda i, r: Formula(
            f"IF(B{r}>0,SUMPRODUCT({active.format(r=r)}*{c('C')})/B{r},0)"), "pct"),
        Column("platform_volume_share", lambda i, r: Formula(
            f"IF(SUMPRODUCT({active.format(r=r)}*{c('E')})>0,SUMPRODUCT({active.format(r=r)}*{c('E')}"
            f"*{c('D')})/SUMPRODUCT({active.format(r=r)}*{c('E')}),0)"), "pct"),
        Column("in_window", lambda i, r: Formula(f"AND(A{r}>={S},A{r}<={E})"), style="center"),
        *path_status("lf", "F", "J"),
        *path_status("platform", "H", "L"),
    ]
    book.grid(ws, cols, n_years)
    chart = LineChart()
    chart.title, chart.y_axis.title = "Shares by year against the straight path to the target", "share"
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    for col in (6, 10, 8, 12):
        chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
    chart_size(chart)
    ws.add_chart(chart, f"A{last + 3}")


def _summary(book: Book, n_years: int) -> None:
    ws = book.sheet("Summary")
    book.describe(ws, "Headline figures at the target years (named cells)")
    last = n_years + 1
    yr = f"'By year'!$A$2:$A${last}"

    def at(col: str, year_key: str) -> str:
        return f"INDEX('By year'!${col}$2:${col}${last},MATCH({book.name(year_key)},{yr},0))"

    rows = [
        ("lf_share_new_models_2025", at("F", "target_lf_year"), "pct",
         "Share of new models under leader-follower at target_lf_year"),
        ("common_platform_volume_share_2024", at("H", "target_platform_year"), "pct",
         "Share of volume on common platforms at target_platform_year"),
        ("lf_target_met", f"lf_share_new_models_2025>={book.name('target_lf_share')}-{EPS}", None,
         "Leader-follower target met"),
        ("platform_target_met",
         f"common_platform_volume_share_2024>={book.name('target_platform_share')}-{EPS}", None,
         "Common-platform target met"),
    ]
    book.header(ws, ["key", "value", "description"])
    for i, (key, formula, fmt, desc) in enumerate(rows):
        r = i + 2
        book.put(ws, r, 1, key, style="bold")
        book.put(ws, r, 2, Formula(formula), fmt=fmt)
        book.put(ws, r, 3, desc)
        book.define(key, ws, r, 2)


def _checks(headline: Mapping[str, Any], by_year: pd.DataFrame, targets: pd.DataFrame,
            first_year: int, n_years: int) -> list[Check]:
    checks: list[Check] = [
        ("lf_share_new_models_2025", float(headline["lf_share_new_models_2025"]),
         Formula("lf_share_new_models_2025")),
        ("common_platform_volume_share_2024", float(headline["common_platform_volume_share_2024"]),
         Formula("common_platform_volume_share_2024")),
        ("lf_target_met (1 = yes)", float(bool(headline["lf_target_met"])), Formula("IF(lf_target_met,1,0)")),
        ("platform_target_met (1 = yes)", float(bool(headline["platform_target_met"])),
         Formula("IF(platform_target_met,1,0)")),
    ]
    codes = {"met": 1, "on track": 2, "at risk": 3, "missed": 4}
    status = targets[targets["scenario"].eq("data")].set_index(["metric", "year"])["status"]
    for year, row in by_year.iterrows():
        r = int(year) - first_year + 2
        if not 2 <= r <= n_years + 1:
            continue
        for label, col in (("lf_share_new", "F"), ("platform_volume_share", "H"),
                           ("active_models", "B")):
            checks.append((f"{label} {year}", float(row[label]), Formula(f"'By year'!${col}${r}")))
        for key, metric, _ in TARGET_KEYS:
            if (metric, year) in status.index:
                col = "K" if key == "lf" else "M"
                checks.append((f"{key} status {year} (1 met, 2 on track, 3 at risk, 4 missed)",
                               float(codes[status[(metric, year)]]),
                               Formula(f"MATCH('By year'!${col}${r},{STATUS_CODES},0)")))
    return checks


def write_milestones_workbook(path: str | Path, report: Report, *, run_info: Mapping[str, Any]) -> list[str]:
    """Write the milestones workbook (see :func:`alliance_fin.excel.sheets.write_workbook`).

    Parameters
    ----------
    report : Report
        From :func:`alliance_fin.present.milestones.build_milestones_report`; its
        ``results["milestones"]`` ``by_year`` (untrimmed columns), ``targets`` (scenario ``data``)
        and the report's headline are checked.
    run_info : mapping
        Run facts for the cover.

    Returns
    -------
    list of str
        Warnings (text changed to fit XLSX).
    """
    library = report.results["milestones"]
    p = dict(library.params)
    params = {"start_year": p["start_year"], "end_year": p["end_year"],
              "launch_delay_years": p["launch_delay_years"], "as_of_year": p["as_of_year"],
              **report.parameters}
    first = min(p["start_year"], p["target_lf_year"], p["target_platform_year"])
    last = max(p["end_year"], p["target_lf_year"], p["target_platform_year"])
    n_years = last - first + 1
    headline = report.headline

    def build(book: Book) -> list[Check]:
        _model_calc(book)
        _by_year(book, n_years)
        _summary(book, n_years)
        return _checks(headline, library.by_year, library.targets, first, n_years)

    return write_workbook(path, report, run_info=run_info, build_sheets=build, parameters=params)
