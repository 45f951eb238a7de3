"""The savings workbook: per-model savings, by member, by year and headlines as live formulas.

Every formula reproduces the method in ``docs/methodology.md`` ("Savings") and
:mod:`alliance_fin.engines.savings`: D from the model or the segment default, the family's investment
reduction ``1 - (D_leader + d * sum D_followers) / sum D_family`` via ``SUMIFS``, capped at
``max_saving_rate``; production/other savings as rates on unit cost x volume; development
savings spread uniformly over ``[launch - dev_lead_years, launch)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.utils import get_column_letter

from alliance_fin.excel import savings_extra as extra_sheets
from alliance_fin.excel.core import Book, Column, Formula
from alliance_fin.excel.sheets import (
    Check,
    chart_size,
    lookup,
    members_in_order,
    style_series,
    write_total_row,
    write_workbook,
)
from alliance_fin.present.report import Report

CALC = "Model calc"


def _years(parameters: Mapping[str, Any]) -> list[int]:
    return list(range(int(parameters.get("start_year", 2020)), int(parameters.get("end_year", 2025)) + 1))


def _model_calc(book: Book, years: list[int]) -> dict[str, str]:
    """Sheet 'Model calc': one row per Data row; returns column letters by header."""
    ws = book.sheet(CALC)
    book.describe(ws, "Per model: investment D, scheme, family reduction, capped rate, savings, phasing by year")
    n = book.n_data
    d = book.data
    L, S, E = book.name("dev_lead_years"), book.name("start_year"), book.name("end_year")
    cols: list[Column] = [
        Column("model_id", lambda i, r: Formula(f"{d('model_id', r)}&\"\"")),
        Column("member", lambda i, r: Formula(f"{d('member', r)}&\"\"")),
        Column("family_id", lambda i, r: Formula(f"{d('family_id', r)}&\"\"")),
        Column("role", lambda i, r: Formula(f"{d('role', r)}&\"\"")),
        Column("common_platform", lambda i, r: Formula(f"{d('common_platform', r)}=TRUE")),
        Column("segment", lambda i, r: Formula(f"{d('segment', r)}&\"\"")),
        Column("launch_year", lambda i, r: Formula(d("launch_year", r)), "year"),
        Column("effective_end_year", lambda i, r: effective_end(book, r), "year"),
        Column("annual_volume", lambda i, r: Formula(d("annual_volume", r)), "units"),
    ]
    has_own = "dev_cost_eur_m" in book.data_cols

    def dev(i: int, r: int) -> Formula:
        default = lookup("dev_cost_eur_m_", f"F{r}").text
        if not has_own:
            return Formula(default)
        own = d("dev_cost_eur_m", r)
        return Formula(f"IF(ISNUMBER({own}),{own},{default})")

    def rng(col: str) -> str:
        return f"${col}$2:${col}${n + 1}"

    fam = lambda r: f'C{r}<>""'  # noqa: E731
    cols += [
        Column("standalone_dev_eur_m", dev, "eur_m"),
        Column("unit_cost_eur", lambda i, r: lookup("unit_cost_eur_", f"F{r}"), "units"),
        Column("scheme", lambda i, r: Formula(f'IF({fam(r)},"family",IF(E{r},"platform","none"))')),
        Column("family_dev_eur_m", lambda i, r: Formula(
            f"IF({fam(r)},SUMIFS({rng('J')},{rng('C')},C{r}),0)"), "eur_m"),
        Column("leader_dev_eur_m", lambda i, r: Formula(
            f'IF({fam(r)},SUMIFS({rng("J")},{rng("C")},C{r},{rng("D")},"leader"),0)'), "eur_m"),
        Column("family_reduction_rate", lambda i, r: Formula(
            f'IF(L{r}="family",IF(M{r}>0,1-(N{r}+{book.name("follower_diff_share")}*(M{r}-N{r}))/M{r},0),'
            f'IF(L{r}="platform",{book.name("platform_saving_rate")},0))'), "pct"),
        Column("dev_saving_rate", lambda i, r: Formula(f"MIN(O{r},{book.name('max_saving_rate')})"), "pct"),
        Column("dev_saving_eur_m", lambda i, r: Formula(f"P{r}*J{r}"), "eur_m"),
        Column("annual_production_saving_eur_m", lambda i, r: Formula(
            f'IF(L{r}="family",{book.name("production_saving_rate")},IF(L{r}="platform",'
            f'{book.name("platform_production_saving_rate")},0))*K{r}*I{r}/1000000'), "eur_m"),
        Column("annual_other_saving_eur_m", lambda i, r: Formula(
            f'IF(L{r}="family",{book.name("other_saving_rate")},0)*K{r}*I{r}/1000000'), "eur_m"),
        Column("dev_share_in_window", lambda i, r: Formula(
            f"MAX(0,MIN(G{r},{E}+1)-MAX(G{r}-{L},{S}))/{L}"), "pct"),
        Column("years_on_sale_in_window", lambda i, r: Formula(
            f"MAX(0,MIN(H{r},{E})-MAX(G{r},{S})+1)"), "int"),
        Column("development_eur_m", lambda i, r: Formula(f"Q{r}*T{r}"), "eur_m"),
        Column("production_eur_m", lambda i, r: Formula(f"R{r}*U{r}"), "eur_m"),
        Column("other_eur_m", lambda i, r: Formula(f"S{r}*U{r}"), "eur_m"),
        Column("total_eur_m", lambda i, r: Formula(f"V{r}+W{r}+X{r}"), "eur_m"),
    ]
    P, B = book.name("plan_year"), book.name("baseline")
    cols += [
        Column("scheme_since", lambda i, r: scheme_since(book, r), "year"),
        # the baseline flag: under the plan baseline a model counts only when scheme_since >= plan_year
        Column("in_plan", lambda i, r: Formula(f"IF(Z{r}>={P},1,0)"), "int"),
        Column("counted", lambda i, r: Formula(f'IF({B}="standalone",1,AA{r})'), "int"),
        Column("counted_total_eur_m", lambda i, r: Formula(f"Y{r}*AB{r}"), "eur_m"),
        Column("counted_development_eur_m", lambda i, r: Formula(f"V{r}*AB{r}"), "eur_m"),
        # 1 on an aggregate row standing for a member's models not listed one by one
        Column("rest_of_range", lambda i, r: flag(book, "rest_of_range", r), "int"),
    ]
    first_year_col = len(cols) + 1
    book.grid(ws, cols, n)
    letters = {c.header: get_column_letter(j) for j, c in enumerate(cols, start=1)}
    assert letters["total_eur_m"] == "Y" and letters["family_reduction_rate"] == "O"
    assert letters["counted"] == "AB" and letters["counted_development_eur_m"] == "AD"
    for k, _ in enumerate(years):
        col = first_year_col + k
        y = get_column_letter(col)
        book.put(ws, 1, col, Formula(f"{S}+{k}"), style="header", fmt="year")
        for i in range(n):
            r = i + 2
            book.put(ws, r, col, Formula(
                f"($Q{r}*MAX(0,MIN($G{r},{y}$1+1)-MAX($G{r}-{L},{y}$1))/{L}"
                f"+IF(AND({y}$1>=$G{r},{y}$1<=$H{r}),$R{r}+$S{r},0))*$AB{r}"), fmt="eur_m")
        letters[f"year_{k}"] = y
    return letters


def flag(book: Book, column: str, r: int) -> Formula:
    """1 when the Data cell reads yes/true/1 (as the input rules read a flag), else 0."""
    if column not in book.data_cols:
        return Formula("0")
    x = f'LOWER({book.data(column, r)}&"")'
    return Formula(f'IF(OR({x}="yes",{x}="true",{x}="1"),1,0)')


def effective_end(book: Book, r: int) -> Formula:
    """``min(end_year, successor launch - 1)``: the successor is the row whose ``replaces`` names this id."""
    d = book.data
    if "replaces" not in book.data_cols:
        return Formula(d("end_year", r))
    succ = f"INDEX({d('launch_year')},MATCH({d('model_id', r)}&\"\",{d('replaces')},0))"
    return Formula(f"IFERROR(MIN({d('end_year', r)},{succ}-1),{d('end_year', r)})")


def scheme_since(book: Book, r: int) -> Formula:
    """The year the model's scheme was decided: the data's, else ``floor(launch_year - dev_lead_years)``."""
    derived = f"INT({book.data('launch_year', r)}-{book.name('dev_lead_years')})"
    if "scheme_since" not in book.data_cols:
        return Formula(derived)
    given = f"{book.data('scheme_since', r)}&\"\""
    return Formula(f'IF({given}="",{derived},VALUE({given}))')


def _by_member(book: Book, members: list[str], letters: Mapping[str, str]) -> None:
    ws = book.sheet("By member")
    book.describe(ws, "Savings in the window by member and category (EUR m) under the chosen baseline, "
                      "with the report currency")
    n = book.n_data

    def calc(col: str) -> str:
        return f"'{CALC}'!${letters[col]}$2:${letters[col]}${n + 1}"

    fx = "fx_rate"
    cols = [
        Column("member", lambda i, r: members[i]),
        Column("models", lambda i, r: Formula(f"COUNTIFS({calc('member')},A{r})"), "units"),
        Column("development_eur_m", lambda i, r: Formula(
            f"SUMIFS({calc('development_eur_m')},{calc('member')},A{r},{calc('counted')},1)"), "eur_m"),
        Column("production_eur_m", lambda i, r: Formula(
            f"SUMIFS({calc('production_eur_m')},{calc('member')},A{r},{calc('counted')},1)"), "eur_m"),
        Column("other_eur_m", lambda i, r: Formula(
            f"SUMIFS({calc('other_eur_m')},{calc('member')},A{r},{calc('counted')},1)"), "eur_m"),
        Column("total_eur_m", lambda i, r: Formula(f"C{r}+D{r}+E{r}"), "eur_m"),
        Column("total_report_ccy_m", lambda i, r: Formula(f"F{r}*{fx}"), "eur_m"),
        Column("dev_saving_lifetime_eur_m",
               lambda i, r: Formula(f"SUMIFS({calc('dev_saving_eur_m')},{calc('member')},A{r})"), "eur_m"),
        Column("standalone_dev_eur_m",
               lambda i, r: Formula(f"SUMIFS({calc('standalone_dev_eur_m')},{calc('member')},A{r})"), "eur_m"),
    ]
    book.grid(ws, cols, len(members))
    t = len(members) + 2
    write_total_row(book, ws, t, {j: cols[j - 1].fmt for j in range(2, len(cols) + 1)})
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title, chart.y_axis.title = "Savings in the window by member", "EUR m"
    chart.add_data(Reference(ws, min_col=3, max_col=5, min_row=1, max_row=t - 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=t - 1))
    style_series(chart, ["development", "production", "other"])
    chart_size(chart)
    ws.add_chart(chart, f"A{t + 3}")


def _by_year(book: Book, members: list[str], years: list[int], letters: Mapping[str, str]) -> None:
    ws = book.sheet("By year")
    book.describe(ws, "Savings by year under the chosen baseline: categories, members, total, discount factor "
                      "(npv_timing) and present value (EUR m)")
    n = book.n_data
    L, S = book.name("dev_lead_years"), book.name("start_year")

    def calc(col: str) -> str:
        return f"'{CALC}'!${letters[col]}$2:${letters[col]}${n + 1}"

    launch, end, counted = calc("launch_year"), calc("effective_end_year"), calc("counted")
    active = f"({launch}<=A{{r}})*({end}>=A{{r}})*{counted}"
    timing = book.name("npv_timing")
    offset = f'IF({timing}="mid",0.5,IF({timing}="end",1,0))'
    cols = [
        Column("year", lambda i, r: Formula(f"{S}+{i}"), "year"),
        Column("development_eur_m", lambda i, r: Formula(
            f"SUMPRODUCT({calc('dev_saving_eur_m')}*{counted},(({launch}<A{r}+1)*{launch}+({launch}>=A{r}+1)*(A{r}+1)"
            f"-(({launch}-{L})>A{r})*({launch}-{L})-(({launch}-{L})<=A{r})*A{r}>0)"
            f"*(({launch}<A{r}+1)*{launch}+({launch}>=A{r}+1)*(A{r}+1)"
            f"-(({launch}-{L})>A{r})*({launch}-{L})-(({launch}-{L})<=A{r})*A{r}))/{L}"), "eur_m"),
        Column("production_eur_m", lambda i, r: Formula(
            f"SUMPRODUCT({active.format(r=r)}*{calc('annual_production_saving_eur_m')})"), "eur_m"),
        Column("other_eur_m", lambda i, r: Formula(
            f"SUMPRODUCT({active.format(r=r)}*{calc('annual_other_saving_eur_m')})"), "eur_m"),
    ]
    for m_i, member in enumerate(members):
        cols.append(Column(member, lambda i, r, m_i=m_i: Formula(
            f"SUMIFS({calc(f'year_{i}')},{calc('member')},{get_column_letter(5 + m_i)}$1)"), "eur_m"))
    k = len(cols)
    tot = get_column_letter(k + 1)
    cols += [
        Column("total_eur_m", lambda i, r: Formula(f"SUM({calc(f'year_{i}')})"), "eur_m"),
        # valued at 1 January of start_year; a year's flow at mid-year, end or start (npv_timing)
        Column("discount_factor", lambda i, r: Formula(
            f"1/(1+{book.name('discount_rate')})^(A{r}-{S}+{offset})"), "0.0000"),
        Column("present_value_eur_m", lambda i, r: Formula(
            f"{tot}{r}*{get_column_letter(k + 2)}{r}"), "eur_m"),
    ]
    book.grid(ws, cols, len(years))
    t = len(years) + 2
    write_total_row(book, ws, t, {j: cols[j - 1].fmt for j in range(2, len(cols) + 1)
                                  if cols[j - 1].header != "discount_factor"})
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title, chart.y_axis.title = "Savings by year and member", "EUR m"
    chart.add_data(Reference(ws, min_col=5, max_col=4 + len(members), min_row=1, max_row=t - 1),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=t - 1))
    style_series(chart, members)
    chart_size(chart)
    ws.add_chart(chart, f"A{t + 3}")
    line = LineChart()
    line.title, line.y_axis.title = "Total and present value by year", "EUR m"
    line.add_data(Reference(ws, min_col=k + 1, max_col=k + 1, min_row=1, max_row=t - 1), titles_from_data=True)
    line.add_data(Reference(ws, min_col=k + 3, max_col=k + 3, min_row=1, max_row=t - 1), titles_from_data=True)
    line.set_categories(Reference(ws, min_col=1, min_row=2, max_row=t - 1))
    style_series(line, ["total_eur_m", "present_value_eur_m"], labels=["Total (EUR m)", "Present value (EUR m)"],
                 dashed=[False, True])
    chart_size(line)
    ws.add_chart(line, f"{get_column_letter(min(len(cols), 9))}{t + 3}")


HEADLINES = (
    ("total_savings_eur_m", "EUR m", "Savings in the window, all categories, under the chosen baseline", "eur_m"),
    ("savings_pct", "share", "Development investment reduction: counted models' saving / sum D of all models",
     "pct"),
    ("npv_savings_eur_m", "EUR m", "Present value at discount_rate, 1 January start_year, npv_timing", "eur_m"),
    ("total_savings_report_ccy_m", "report currency m", "Window total in the report currency", "eur_m"),
    ("pre_plan_savings_eur_m", "EUR m", "Standalone total minus plan total: what the plan baseline leaves out",
     "eur_m"),
    ("net_savings_eur_m", "EUR m", "Total less cost_to_achieve_rate x the counted development saving", "eur_m"),
    ("plan_total_eur_m", "EUR m", "Window total under the plan baseline (scheme_since >= plan_year)", "eur_m"),
    ("standalone_total_eur_m", "EUR m", "Window total under the standalone baseline (every model)", "eur_m"),
    ("fx_rate", "currency per EUR", "Rate used for the report currency (EUR = 1)", "fx"),
)


def _summary(book: Book, members: list[str], years: list[int], letters: Mapping[str, str]) -> None:
    ws = book.sheet("Summary")
    book.describe(ws, "Headline figures (named cells) as live formulas")
    n = book.n_data
    q = f"'{CALC}'!$Q$2:$Q${n + 1}"
    jj = f"'{CALC}'!$J$2:$J${n + 1}"
    ty = len(years) + 2
    ccy = "currency" if "currency" in book.names else '"EUR"'
    col = lambda c: f"'{CALC}'!${c}$2:${c}${n + 1}"  # noqa: E731
    formulas = {
        "total_savings_eur_m": f"SUM({col('AC')})",
        "savings_pct": f"IF(SUM({jj})>0,SUMPRODUCT({q},{col('AB')})/SUM({jj}),0)",
        "pre_plan_savings_eur_m": f"SUM({col('Y')})-SUMIFS({col('Y')},{col('AA')},1)",
        "net_savings_eur_m": f"total_savings_eur_m-{book.name('cost_to_achieve_rate')}*SUM({col('AD')})",
        "plan_total_eur_m": f"SUMIFS({col('Y')},{col('AA')},1)",
        "standalone_total_eur_m": f"SUM({col('Y')})",
        "npv_savings_eur_m": f"'By year'!${get_column_letter(7 + len(members))}${ty}",
        "total_savings_report_ccy_m": "total_savings_eur_m*fx_rate",
        "fx_rate": f'IF({ccy}="EUR",1,INDEX(assumption_values,MATCH("fx_eur_"&LOWER({ccy}),assumption_keys,0)))',
    }
    book.header(ws, ["key", "value", "unit", "description"])
    for i, (key, unit, desc, fmt) in enumerate(HEADLINES):
        r = i + 2
        book.put(ws, r, 1, key, style="bold")
        book.put(ws, r, 2, Formula(formulas[key]), fmt=fmt)
        book.put(ws, r, 3, unit)
        book.put(ws, r, 4, desc)
        book.define(key, ws, r, 2)
    book.put(ws, len(HEADLINES) + 2, 1, "currency", style="bold")
    book.put(ws, len(HEADLINES) + 2, 2, Formula(ccy))
    book.put(ws, len(HEADLINES) + 2, 4, "Report currency (parameter)")


def _checks(book: Book, library: Mapping[str, Any], members: list[str], years: list[int]) -> list[Check]:
    checks: list[Check] = [(k, float(library[k]), Formula(k)) for k, *_ in HEADLINES
                           if k in library and k != "fx_rate"]
    n = book.n_data
    col = lambda c: f"'{CALC}'!${c}$2:${c}${n + 1}"  # noqa: E731
    for label, key, formula in (
            ("models counted under the plan baseline (scheme_since >= plan_year)", "models_in_plan",
             f"SUM({col('AA')})"),
            ("sum of effective end years (changeovers via replaces)", "sum_effective_end_year",
             f"SUM({col('H')})"),
            ("sum of scheme_since years (given or derived)", "sum_scheme_since", f"SUM({col('Z')})")):
        if key in library:
            checks.append((label, float(library[key]), Formula(formula)))
    total = float(library.get("total_savings_eur_m", 0.0))
    tm, ty = len(members) + 2, len(years) + 2
    checks.append(("total by member = total", total, Formula(f"'By member'!$F${tm}")))
    k = 4 + len(members)
    checks.append(("total by year = total", total, Formula(f"'By year'!${get_column_letter(k + 1)}${ty}")))
    checks.append(("categories by year = total", total, Formula(f"SUM('By year'!$B${ty}:$D${ty})")))
    for m_i, member in enumerate(members):
        value = (library.get("by_member") or {}).get(member)
        if value is not None:
            checks.append((f"total {member}", float(value), Formula(f"'By member'!$F${2 + m_i}")))
    for y_i, year in enumerate(years):
        value = (library.get("by_year") or {}).get(year)
        if value is not None:
            checks.append((f"total {year}", float(value),
                           Formula(f"'By year'!${get_column_letter(k + 1)}${2 + y_i}")))
    return checks


def write_savings_workbook(path: str | Path, report: Report, *, run_info: Mapping[str, Any]) -> list[str]:
    """Write the savings workbook (see :func:`alliance_fin.excel.sheets.write_workbook`).

    Parameters
    ----------
    report : Report
        From :func:`alliance_fin.present.savings.build_savings_report`; the figures checked are
        its ``results["checks"]``: the headline keys plus ``by_member`` {member: EUR m} and
        ``by_year`` {year: EUR m}.
    run_info : mapping
        Run facts for the cover (see :func:`alliance_fin.excel.sheets.write_workbook`).

    Returns
    -------
    list of str
        Warnings (text changed to fit XLSX).
    """
    members = members_in_order(report.lineup)
    years = _years(report.parameters)
    library = report.results["checks"]

    def build(book: Book) -> list[Check]:
        letters = _model_calc(book, years)
        _by_member(book, members, letters)
        _by_year(book, members, years, letters)
        _summary(book, members, years, letters)
        tables, results = report.tables, report.results
        extra = extra_sheets.write_by_family(book, tables["by_family"], results["model_savings"],
                                             results["by_year"])
        extra += extra_sheets.write_waterfall(book, results["model_savings"])
        rate = library["total_savings_report_ccy_m"] / library["total_savings_eur_m"] \
            if library.get("total_savings_eur_m") else 1.0
        extra += extra_sheets.write_sensitivity(book, tables["sensitivity"], rate)
        labels = dict(zip(tables["tornado"]["key"], tables["tornado"]["assumption"], strict=True))
        extra_sheets.write_tornado(book, results["tornado"], labels,
                                   str(report.parameters.get("currency", "EUR")).upper(), rate)
        return _checks(book, library, members, years) + extra

    return write_workbook(path, report, run_info=run_info, build_sheets=build)
