"""The range-trimming workbook: reasons, volumes after migration and shares as live formulas.

Formulas reproduce :mod:`alliance_fin.engines.trimming`: the reason is the first match of the manual
keep/cut lists, ``planned`` (``trim = yes``), ``low_volume`` (volume below ``min_volume`` and
not a leader) and ``overlap`` (not marked ``replaced``, off the common platforms while a model
of another member in the same segment and region is on a common platform and in a family),
each switched by its
``rule_*`` parameter. The receiver of a cut model's volume (``migrates_to``) is the library's
choice, written as data: its tie-break order is not a spreadsheet formula. A model the
formulas cut but the library did not has no receiver, so its volume is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.chart import BarChart, Reference, Series
from openpyxl.utils import get_column_letter

from alliance_fin.excel.core import Book, Column, Formula
from alliance_fin.excel.savings import effective_end, flag
from alliance_fin.excel.sheets import (
    Check,
    chart_size,
    lookup,
    members_in_order,
    style_series,
    write_total_row,
    write_workbook,
)
from alliance_fin.excel.trimming_tables import write_counts, write_plans
from alliance_fin.inputs.ids import parse_ids
from alliance_fin.present.report import Report

CALC = "Trim calc"
RULE_PARAMS = ("rule_planned", "rule_low_volume", "rule_overlap")
REASONS = ("manual", "planned", "low_volume", "overlap")


def _trim_calc(book: Book, lineup: pd.DataFrame, manual: list[str], lib_reason: list[str],
               targets: list[str]) -> dict[str, str]:
    """Sheet 'Trim calc'; returns the column letter of each of its headers."""
    ws = book.sheet(CALC)
    book.describe(ws, "Per model: rule flags, reason, cut, volume received and volume after migration")
    n = book.n_data
    d = book.data
    rp, rl, ro = (book.name(k) for k in RULE_PARAMS)
    mv, mr = book.name("min_volume"), book.name("migration_rate")
    S, ref = book.name("start_year"), book.name("reference_year")

    def rng(col: str) -> str:
        return f"${col}$2:${col}${n + 1}"

    cols = [
        Column("model_id", lambda i, r: Formula(f'{d("model_id", r)}&""')),
        Column("member", lambda i, r: Formula(f'{d("member", r)}&""')),
        Column("segment", lambda i, r: Formula(f'{d("segment", r)}&""')),
        Column("region", lambda i, r: Formula(f'{d("region", r)}&""')),
        Column("family_id", lambda i, r: Formula(f'{d("family_id", r)}&""')),
        Column("role", lambda i, r: Formula(f'{d("role", r)}&""')),
        Column("common_platform", lambda i, r: Formula(f"{d('common_platform', r)}=TRUE")),
        Column("trim", lambda i, r: Formula(f'{d("trim", r)}&""')),
        Column("annual_volume", lambda i, r: Formula(d("annual_volume", r)), "units"),
        Column("manual", lambda i, r: manual[i] or None),
        Column("cp_family", lambda i, r: Formula(f'AND(G{r},E{r}<>"")')),
        Column("planned", lambda i, r: Formula(f'AND({rp},H{r}="yes")')),
        Column("low_volume", lambda i, r: Formula(f'AND({rl},I{r}<{mv},F{r}<>"leader")')),
        Column("overlap", lambda i, r: Formula(
            f'AND({ro},NOT(G{r}),H{r}<>"replaced",COUNTIFS({rng("C")},C{r},{rng("D")},D{r},{rng("B")},"<>"&B{r},'
            f'{rng("K")},TRUE)>0)')),
        Column("reason", lambda i, r: Formula(
            f'IF(J{r}="keep","",IF(J{r}="cut","manual",IF(V{r}=1,"",IF(L{r},"planned",IF(M{r},"low_volume",'
            f'IF(N{r},"overlap",""))))))')),
        Column("cut", lambda i, r: Formula(f'O{r}<>""')),
        Column("library_reason", lambda i, r: lib_reason[i] or None),
        Column("reason_matches_library", lambda i, r: Formula(f"O{r}=Q{r}")),
        Column("migrates_to", lambda i, r: targets[i] or None),
        Column("receives_volume", lambda i, r: Formula(
            f"{mr}*SUMIFS({rng('I')},{rng('S')},A{r},{rng('P')},TRUE)"), "units"),
        Column("volume_after", lambda i, r: Formula(f"IF(P{r},0,I{r}+T{r})"), "units"),
        Column("rest_of_range", lambda i, r: flag(book, "rest_of_range", r), "int"),
        Column("launch_year", lambda i, r: Formula(d("launch_year", r)), "year"),
        Column("end_year", lambda i, r: Formula(d("end_year", r)), "year"),
        Column("effective_end_year", lambda i, r: effective_end(book, r), "year"),
        Column("has_successor", lambda i, r: Formula(
            f"IF(COUNTIFS({d('replaces')},A{r})>0,1,0)" if "replaces" in book.data_cols else "0"), "int"),
        # first year without a cut model: planned cuts run to their (effective) end, rule and manual
        # cuts stop before start_year (never before the model's launch)
        Column("cut_from_year", lambda i, r: Formula(
            f'IF(P{r},IF(O{r}="planned",Y{r}+1,MAX(W{r},MIN(Y{r}+1,{S}))),"")'), "year"),
        # the reference-year filters
        Column("on_sale_before", lambda i, r: Formula(
            f"IF(OR(AND(W{r}<={ref},{ref}<=Y{r}),AND(P{r},Z{r}=0,W{r}<={ref})),1,0)"), "int"),
        Column("gone_by_reference_year", lambda i, r: Formula(f"IF(P{r},IF(AA{r}<={ref},1,0),0)"), "int"),
        Column("on_sale_after", lambda i, r: Formula(f"AB{r}*(1-AC{r})"), "int"),
        Column("volume_ref_before", lambda i, r: Formula(f"AB{r}*I{r}"), "units"),
        Column("receives_ref", lambda i, r: Formula(
            f"AD{r}*{mr}*SUMIFS({rng('I')},{rng('S')},A{r},{rng('AB')},1,{rng('AC')},1)"), "units"),
        Column("volume_ref_after", lambda i, r: Formula(f"AD{r}*I{r}+AF{r}"), "units"),
        Column("common", lambda i, r: Formula(f"IF(G{r},1,0)"), "int"),
        Column("counted_model", lambda i, r: Formula(f"1-V{r}"), "int"),
    ]
    assert get_column_letter(len(cols)) == "AI"
    book.grid(ws, cols, n)
    book.fixed[CALC] = (
        "migrates_to (column S, the model that receives a cut model's volume) is the library's choice, "
        "written as data: its tie-break (same member, segment and region first, then the largest "
        "volume, then id) ranks over a changing set and is not a spreadsheet formula. If an edit cuts "
        "a model the library kept, that model has no receiver and its volume is lost; an edited "
        "min_volume can so give a platform share the library would not. Re-run the report to move them")
    book.put(ws, n + 3, 1, "Fixed figures: " + book.fixed[CALC] + ".", style="note")
    return {c.header: get_column_letter(j) for j, c in enumerate(cols, start=1)}


def _calc(col: str, n: int) -> str:
    return f"'{CALC}'!${col}$2:${col}${n + 1}"


def _shares(book: Book) -> None:
    ws = book.sheet("Shares")
    book.describe(ws, "Models on sale in reference_year, their volume and common-platform shares, before and "
                      "after trimming (rest-of-range rows count in volumes, not as models)")
    n = book.n_data
    c = lambda col: _calc(col, n)  # noqa: E731
    sp = lambda *cols_: "SUMPRODUCT(" + ",".join(c(x) for x in cols_) + ")"  # noqa: E731
    rows = [
        ("models", sp("AB", "AI"), sp("AD", "AI"), "units"),
        ("annual_volume", f"SUM({c('AE')})", f"SUM({c('AG')})", "units"),
        ("common_platform_model_share", f"IF(B2>0,{sp('AB', 'AI', 'AH')}/B2,0)",
         f"IF(C2>0,{sp('AD', 'AI', 'AH')}/C2,0)", "pct"),
        ("common_platform_volume_share", f"IF(B3>0,{sp('AE', 'AH')}/B3,0)",
         f"IF(C3>0,{sp('AG', 'AH')}/C3,0)", "pct"),
    ]
    book.header(ws, ["metric", "before", "after", "change"])
    for i, (metric, before, after, fmt) in enumerate(rows):
        r = i + 2
        book.put(ws, r, 1, metric, style="bold")
        book.put(ws, r, 2, Formula(before), fmt=fmt)
        book.put(ws, r, 3, Formula(after), fmt=fmt)
        book.put(ws, r, 4, Formula(f"C{r}-B{r}"), fmt=fmt)
    names = ["models_before", "models_after", None, None, None, None,
             "common_platform_volume_share_before", "common_platform_volume_share_after"]
    for key, (r, col) in zip(names, [(2, 2), (2, 3), (3, 2), (3, 3), (4, 2), (4, 3), (5, 2), (5, 3)]):
        if key:
            book.define(key, ws, r, col)
    chart = BarChart()
    chart.type = "col"
    chart.title, chart.y_axis.title = "Common-platform shares before and after", "share"
    for col, label in ((2, "before"), (3, "after")):
        chart.series.append(Series(Reference(ws, min_col=col, min_row=4, max_row=5), title=label))
    chart.set_categories(Reference(ws, min_col=1, min_row=4, max_row=5))
    style_series(chart, ["before", "after"], labels=["Before trimming", "After trimming"])
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1  # a share axis starts at zero
    chart_size(chart)
    ws.add_chart(chart, "A9")


def _by_member(book: Book, members: list[str]) -> None:
    ws = book.sheet("By member")
    book.describe(ws, "Models and volume on sale in reference_year before and after trimming, by member; "
                      "cuts by reason")
    n = book.n_data
    c = lambda col: _calc(col, n)  # noqa: E731
    cols = [
        Column("member", lambda i, r: members[i]),
        Column("models_before", lambda i, r: Formula(f"SUMPRODUCT(({c('B')}=A{r})*{c('AB')}*{c('AI')})"), "units"),
        Column("models_after", lambda i, r: Formula(f"SUMPRODUCT(({c('B')}=A{r})*{c('AD')}*{c('AI')})"), "units"),
        Column("change", lambda i, r: Formula(f"C{r}-B{r}"), "units"),
        Column("volume_before", lambda i, r: Formula(f"SUMIFS({c('AE')},{c('B')},A{r})"), "units"),
        Column("volume_after", lambda i, r: Formula(f"SUMIFS({c('AG')},{c('B')},A{r})"), "units"),
    ]
    book.grid(ws, cols, len(members))
    t = len(members) + 2
    write_total_row(book, ws, t, dict.fromkeys(range(2, len(cols) + 1), "units"))
    r0 = t + 2
    book.header(ws, ["reason", "models_cut_by_reference_year", "volume_cut_in_reference_year",
                     "models_cut_any_year"], row=r0)
    for k, reason in enumerate(REASONS):
        r = r0 + 1 + k
        book.put(ws, r, 1, reason, style="bold")
        book.put(ws, r, 2, Formula(f"SUMPRODUCT(({c('O')}=A{r})*{c('AB')}*{c('AC')}*{c('AI')})"), fmt="units")
        book.put(ws, r, 3, Formula(f"SUMPRODUCT(({c('O')}=A{r})*{c('AE')}*{c('AC')}*{c('AI')})"), fmt="units")
        book.put(ws, r, 4, Formula(f"COUNTIFS({c('O')},A{r})"), fmt="units")
    chart = BarChart()
    chart.type = "col"
    chart.title, chart.y_axis.title = "Models before and after trimming", "models"
    chart.add_data(Reference(ws, min_col=2, max_col=3, min_row=1, max_row=t - 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=t - 1))
    style_series(chart, ["before", "after"], labels=["Models before trimming", "Models after trimming"])
    chart_size(chart)
    ws.add_chart(chart, "H2")


def _value(book: Book, cut_ids: list[str], scheme_dev: Mapping[str, float], lost_volume: Mapping[str, float],
           segments: Mapping[str, str], n_years: int) -> None:
    """Sheet 'Value': per cut model, successor development avoided and contribution lost in the window."""
    ws = book.sheet("Value")
    book.describe(ws, "Per cut model: successor development avoided (scheme basis, nothing with a successor), "
                      "contribution lost on volume that does not migrate, net benefit in the window (EUR m)")
    n = book.n_data
    S, E, L = book.name("start_year"), book.name("end_year"), book.name("dev_lead_years")
    margin = book.name("contribution_margin_rate")

    def at(col: str, r: int) -> str:
        return f"INDEX({_calc(col, n)},MATCH(A{r},{_calc('A', n)},0))"

    cols = [
        Column("model_id", lambda i, r: cut_ids[i]),
        Column("segment", lambda i, r: segments[cut_ids[i]]),
        Column("scheme_dev_eur_m", lambda i, r: float(scheme_dev.get(cut_ids[i], 0.0)), "eur_m"),
        Column("has_successor", lambda i, r: Formula(at("Z", r)), "int"),
        Column("avoided_dev_eur_m", lambda i, r: Formula(f"IF(D{r}=1,0,C{r})"), "eur_m"),
        Column("successor_launch_year", lambda i, r: Formula(f"{at('Y', r)}+1"), "year"),
        Column("avoided_dev_window_eur_m", lambda i, r: Formula(
            f"E{r}*MAX(0,MIN(F{r},{E}+1)-MAX(F{r}-{L},{S}))/{L}"), "eur_m"),
        Column("lost_volume", lambda i, r: float(lost_volume.get(cut_ids[i], 0.0)), "units"),
        Column("unit_cost_eur", lambda i, r: lookup("unit_cost_eur_", f"B{r}"), "units"),
        Column("cut_from_year", lambda i, r: Formula(at("AA", r)), "year"),
        Column("lost_until_year", lambda i, r: Formula(f"IF(D{r}=1,F{r}-1,{E})"), "year"),
        Column("lost_years", lambda i, r: Formula(f"MAX(0,MIN(K{r},{E})-MAX(J{r},{S})+1)"), "int"),
        Column("lost_contribution_window_eur_m", lambda i, r: Formula(
            f"{margin}*I{r}*H{r}/1000000*L{r}"), "eur_m"),
        Column("net_benefit_window_eur_m", lambda i, r: Formula(f"G{r}-M{r}"), "eur_m"),
    ]
    book.grid(ws, cols, len(cut_ids))
    t = len(cut_ids) + 2
    write_total_row(book, ws, t, dict.fromkeys((5, 7, 13, 14), "eur_m"))
    book.define("net_trimming_benefit_eur_m", ws, t, 14)
    book.fixed["Value"] = ("scheme_dev_eur_m (the successor's development under its scheme) and lost_volume "
                           "(the cut volume that does not migrate, from the fixed receivers) are the "
                           "library's values; the rest of the sheet is formulas over them")
    book.put(ws, t + 2, 1, "Fixed figures: " + book.fixed["Value"] + ".", style="note")
    _value_by_year(book, len(cut_ids), n_years)


def _value_by_year(book: Book, n_cut: int, n_years: int) -> None:
    """Sheet 'Value by year': avoided development, lost contribution and net benefit per year."""
    ws = book.sheet("Value by year")
    book.describe(ws, "Per year of the window: successor development avoided, contribution lost and the net "
                      "benefit of the cuts (EUR m), from the Value sheet")
    S, E, L = book.name("start_year"), book.name("end_year"), book.name("dev_lead_years")
    margin = book.name("contribution_margin_rate")
    last = n_cut + 1
    v = lambda col: f"'Value'!${col}$2:${col}${last}"  # noqa: E731

    def avoided(i: int, r: int) -> Formula:
        if not n_cut:
            return Formula("0")
        f, y = v("F"), f"A{r}"
        hi = f"(({f}<{y}+1)*{f}+({f}>={y}+1)*({y}+1))"
        lo = f"((({f}-{L})>{y})*({f}-{L})+(({f}-{L})<={y})*{y})"
        return Formula(f"SUMPRODUCT({v('E')}*(({hi}-{lo})>0)*({hi}-{lo}))/{L}")

    def lost(i: int, r: int) -> Formula:
        if not n_cut:
            return Formula("0")
        return Formula(f"{margin}*SUMPRODUCT({v('I')}*{v('H')}*({v('J')}<=A{r})*({v('K')}>=A{r}))/1000000")

    cols = [
        Column("year", lambda i, r: Formula(f"{S}+{i}"), "year"),
        Column("avoided_dev_eur_m", avoided, "eur_m"),
        Column("lost_contribution_eur_m", lost, "eur_m"),
        Column("net_benefit_eur_m", lambda i, r: Formula(f"B{r}-C{r}"), "eur_m"),
    ]
    book.grid(ws, cols, n_years)
    t = n_years + 2
    write_total_row(book, ws, t, dict.fromkeys((2, 3, 4), "eur_m"))
    book.put(ws, t + 2, 1, f"Years {S} to {E} are the window; the total equals the Value sheet's total.",
             style="note")


def _checks(book: Book, headline: Mapping[str, Any], models: pd.DataFrame,
            members: list[str], before_after: pd.DataFrame, n_years: int) -> list[Check]:
    n = book.n_data
    checks: list[Check] = [(k, float(headline[k]), Formula(k)) for k in (
        "models_before", "models_after", "common_platform_volume_share_before",
        "common_platform_volume_share_after", "net_trimming_benefit_eur_m") if k in headline]
    checks.append(("sum of effective end years (changeovers via replaces)",
                   float(models["effective_end_year"].sum()), Formula(f"SUM({_calc('Y', n)})")))
    checks.append(("models on sale in reference_year incl. cut lines without successor (rows)",
                   float(models["on_sale_before"].sum()), Formula(f"SUM({_calc('AB', n)})")))
    checks.append(("reasons differing from library", 0.0,
                   Formula(f"COUNTIFS({_calc('R', n)},FALSE)")))
    checks.append(("total volume after (units/yr)", float(models["volume_after"].sum()),
                   Formula(f"SUM({_calc('U', n)})")))
    if "net_trimming_benefit_eur_m" in headline:
        t = n_years + 2
        checks.append(("value by year: net benefit total (EUR m)", float(headline["net_trimming_benefit_eur_m"]),
                       Formula(f"'Value by year'!$D${t}")))
    after = before_after[before_after["dimension"].eq("member")].set_index("value")["after"]
    for i, member in enumerate(members):
        checks.append((f"models after {member}", float(after.get(member, 0)),
                       Formula(f"'By member'!$C${2 + i}")))
    return checks


def write_trimming_workbook(path: str | Path, report: Report, *, run_info: Mapping[str, Any]) -> list[str]:
    """Write the range-trimming workbook (see :func:`alliance_fin.excel.sheets.write_workbook`).

    Parameters
    ----------
    report : Report
        From :func:`alliance_fin.present.trimming.build_trimming_report`. Its
        ``results["trimming"]`` (the engine's result on the same line-up) gives the per-model
        reasons compared with the workbook's and the receivers (``moves.to_model_id``) written as
        data; its headline is what the Checks sheet proves.
    run_info : mapping
        Run facts for the cover.

    Returns
    -------
    list of str
        Warnings (text changed to fit XLSX).
    """
    lineup, parameters, library = report.lineup, report.parameters, report.results["trimming"]
    models = library.models
    ids = [str(m) for m in lineup["model_id"].tolist()]
    if set(ids) != set(map(str, models.index)):
        from alliance_fin.errors import ReportError

        raise ReportError("the trimming result was computed on a different line-up")
    keep, cut = set(parse_ids(parameters.get("keep"))), set(parse_ids(parameters.get("cut")))
    manual = ["keep" if m in keep else "cut" if m in cut else "" for m in ids]
    lib_reason = [str(models.at[m, "reason"]) for m in ids]
    moves = library.moves.set_index("from_model_id")["to_model_id"]
    targets = [str(moves.get(m, "")) for m in ids]
    members = members_in_order(lineup)
    params = {**{k: True for k in RULE_PARAMS}, **parameters}
    n_years = int(params.get("end_year", 2025)) - int(params.get("start_year", 2020)) + 1

    cut_ids = [m for m in ids if bool(models.at[m, "cut"])]
    scheme_dev = report.results.get("scheme_dev_eur_m", {})
    lost_volume = library.moves.set_index("from_model_id")["lost_volume"]
    segments = {m: str(models.at[m, "segment"]) for m in cut_ids}

    def build(book: Book) -> list[Check]:
        letters = _trim_calc(book, lineup, manual, lib_reason, targets)
        _shares(book)
        _by_member(book, members)
        calc = lambda key: _calc(letters[key], book.n_data)  # noqa: E731
        tables = write_counts(book, models, report.tables["counts"], calc)
        tables += write_plans(book, report.tables["plans"], calc)
        _value(book, cut_ids, scheme_dev, lost_volume, segments, n_years)
        return _checks(book, report.headline, models, members, library.before_after, n_years) + tables

    return write_workbook(path, report, run_info=run_info, build_sheets=build, parameters=params)
