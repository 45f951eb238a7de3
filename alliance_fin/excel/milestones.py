"""The milestones workbook: changeovers, shifted launches, trimming, yearly shares, paths and statuses as live formulas.

Formulas reproduce :mod:`alliance_fin.engines.milestones`:

- a predecessor's effective last year is ``min(end_year, successor launch - 1)`` (the successor is
  the row whose ``replaces`` names it); models launched after ``as_of_year`` slip by
  ``launch_delay_years``; rest-of-range rows count in volumes, never as models;
- a model is on a common platform by ``platform_definition``: ``cmf`` (its platform is on the
  ``CMF platforms`` sheet) or ``shared`` (the ``common_platform`` flag);
- the trimmed scenario ends a cut model the year before its cut-from year (planned cuts at their
  end, rule cuts before ``start_year``) and adds the migrated volume to the receiver from that
  year; which models are cut and who receives their volume are the library's decisions, written
  as data (the range-trimming workbook proves the rules);
- shares by year via ``SUMPRODUCT``: new models (launched from ``plan_year``), the whole range,
  volume and models on common platforms; ``apply_trimming`` picks the scenario shown;
- the path runs straight from the ``plan_year`` value to the target when that value is below it,
  else is the target; status before the target year ``ahead`` / ``on_track`` / ``at_risk`` /
  ``off_track``, from it ``met`` / ``missed``, with the library's tolerance ``EPS`` = 1e-9.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.chart import LineChart, Reference
from openpyxl.utils import get_column_letter

from alliance_fin.engines.milestones import MODEL_SHARE_YEAR
from alliance_fin.excel.core import Book, Column, Formula
from alliance_fin.excel.savings import effective_end, flag
from alliance_fin.excel.sheets import Check, chart_size, style_series, write_workbook
from alliance_fin.excel.style import STYLE
from alliance_fin.inputs.load import load_text_assumptions
from alliance_fin.present.milestones import METRIC_LABELS
from alliance_fin.present.report import Report

CALC = "Model calc"
MOVES = "Moves"
EPS = "0.000000001"
STATUSES = ("met", "missed", "ahead", "on_track", "at_risk", "off_track")
STATUS_CODES = "{" + ",".join(f'"{s}"' for s in STATUSES) + "}"
#: (key, shown column on 'By year', path column, status column, target share key, target year key)
TARGETS = (
    ("lf_share_new", "N", "S", "T", "target_lf_share", "target_lf_year"),
    ("lf_share_range", "O", "U", "V", "target_lf_share", "target_lf_year"),
    ("platform_volume_share", "P", "W", "X", "target_platform_share", "target_platform_year"),
)
SHOWN = {"lf_share_new": "N", "lf_share_range": "O", "platform_volume_share": "P", "platform_model_share": "Q"}


def _cmf_sheet(book: Book, platforms: Sequence[str]) -> None:
    ws = book.sheet("CMF platforms")
    book.describe(ws, "The platforms counted as common under platform_definition cmf (the cmf_platforms "
                      "assumption, S:101); edit the list to change the definition")
    book.header(ws, ["platform"])
    for i, name in enumerate(platforms):
        book.put(ws, i + 2, 1, str(name), style="input")
    book.define_range("cmf_platforms", ws, 2, 1, max(len(platforms) + 1, 2))


def _model_calc(book: Book, cut: list[int], reasons: list[str]) -> None:
    ws = book.sheet(CALC)
    book.describe(ws, "Per model: family and platform flags, effective end after changeovers, launch and end "
                      "after the launch-delay scenario, and the trimmed end")
    d = book.data
    delay, as_of, S = book.name("launch_delay_years"), book.name("as_of_year"), book.name("start_year")
    pdef = book.name("platform_definition")

    def common(i: int, r: int) -> Formula:
        shared_flag = flag(book, "common_platform", r).text
        if "platform" not in book.data_cols:
            return Formula(f'IF({pdef}="shared",{shared_flag},0)')
        cmf = f'IF(SUMPRODUCT((LOWER(cmf_platforms)=LOWER(TRIM({d("platform", r)}&"")))*1)>0,1,0)'
        return Formula(f'IF({pdef}="shared",{shared_flag},{cmf})')

    cols = [
        Column("model_id", lambda i, r: Formula(f'{d("model_id", r)}&""')),
        Column("member", lambda i, r: Formula(f'{d("member", r)}&""')),
        Column("in_family", lambda i, r: Formula(f'IF({d("family_id", r)}&""<>"",1,0)'), "int"),
        Column("common_platform", common, "int"),
        Column("annual_volume", lambda i, r: Formula(d("annual_volume", r)), "units"),
        Column("launch_year_data", lambda i, r: Formula(d("launch_year", r)), "year"),
        Column("end_year_data", lambda i, r: Formula(d("end_year", r)), "year"),
        Column("effective_end_year_data", lambda i, r: effective_end(book, r), "year"),
        Column("delayed", lambda i, r: Formula(f"F{r}>{as_of}")),
        Column("launch_year", lambda i, r: Formula(f"F{r}+IF(I{r},{delay},0)"), "year"),
        Column("end_year", lambda i, r: Formula(f"H{r}+IF(I{r},{delay},0)"), "year"),
        Column("countable", lambda i, r: Formula(f"1-{flag(book, 'rest_of_range', r).text}"), "int"),
        Column("launched", lambda i, r: Formula(f"IF(J{r}<=K{r},1,0)"), "int"),
        Column("cut", lambda i, r: cut[i], "int"),
        Column("cut_reason", lambda i, r: reasons[i] or None),
        Column("cut_from_year", lambda i, r: Formula(
            f'IF(N{r}=1,IF(O{r}="planned",K{r}+1,MAX(J{r},MIN(K{r}+1,{S}))),"")'), "year"),
        Column("end_year_trimmed", lambda i, r: Formula(f"IF(N{r}=1,P{r}-1,K{r})"), "year"),
        Column("launched_trimmed", lambda i, r: Formula(f"IF(J{r}<=Q{r},1,0)"), "int"),
    ]
    assert get_column_letter(len(cols)) == "R"
    book.grid(ws, cols, book.n_data)


def _moves(book: Book, moves: pd.DataFrame) -> int:
    ws = book.sheet(MOVES)
    book.describe(ws, "Trimming: each cut model's volume that moves to a retained sibling, from its cut-from year")
    n = book.n_data
    c = lambda col: f"'{CALC}'!${col}$2:${col}${n + 1}"  # noqa: E731
    at = lambda col, key, r: f"INDEX({c(col)},MATCH({key}{r},{c('A')},0))"  # noqa: E731
    src, dst = moves["from_model_id"].tolist(), moves["to_model_id"].tolist()
    cols = [
        Column("from_model_id", lambda i, r: src[i]),
        Column("to_model_id", lambda i, r: dst[i]),
        Column("migrated_volume", lambda i, r: Formula(f"{at('E', 'A', r)}*{book.name('migration_rate')}"), "units"),
        Column("free_from_year", lambda i, r: Formula(at("P", "A", r)), "year"),
        Column("to_launch_year", lambda i, r: Formula(at("J", "B", r)), "year"),
        Column("to_end_year", lambda i, r: Formula(at("Q", "B", r)), "year"),
        Column("to_common_platform", lambda i, r: Formula(at("D", "B", r)), "int"),
    ]
    book.grid(ws, cols, len(src))
    return len(src)


def _by_year(book: Book, n_years: int, n_moves: int) -> None:
    ws = book.sheet("By year")
    book.describe(ws, "Per year: active and new models, both leader-follower shares and the common-platform "
                      "shares, as given and trimmed; the shown scenario (apply_trimming), paths and status")
    n = book.n_data
    S, E, P = book.name("start_year"), book.name("end_year"), book.name("plan_year")
    trim = book.name("apply_trimming")

    def c(col: str) -> str:
        return f"'{CALC}'!${col}$2:${col}${n + 1}"

    def mv(col: str) -> str:
        return f"'{MOVES}'!${col}$2:${col}${n_moves + 1}"

    def scenario(end: str, launched: str, trimmed: bool) -> list[Column]:
        on_sale = f"({c('J')}<=A{{r}})*({c(end)}>=A{{r}})"
        active = f"{on_sale}*{c('L')}"
        new = f"{c(launched)}*{c('L')}*({c('J')}>={P})*({c('J')}<=A{{r}})"
        gained = (f"SUMPRODUCT(({mv('D')}<=A{{r}})*{mv('C')}*({mv('E')}<=A{{r}})*({mv('F')}>=A{{r}}){{x}})"
                  if trimmed and n_moves else "0")
        volume = f"(SUMPRODUCT({on_sale}*{c('E')})+{gained.format(r='{r}', x='')})"
        common_volume = f"(SUMPRODUCT({on_sale}*{c('E')}*{c('D')})+{gained.format(r='{r}', x='*' + mv('G'))})"
        tag = "_trimmed" if trimmed else ""
        a, nw = ("H", "I") if trimmed else ("B", "C")
        return [
            Column(f"active_models{tag}", lambda i, r: Formula(f"SUMPRODUCT({active.format(r=r)})"), "units"),
            Column(f"new_models{tag}", lambda i, r: Formula(f"SUMPRODUCT({new.format(r=r)})"), "units"),
            Column(f"lf_share_new{tag}", lambda i, r: Formula(
                f"IF({nw}{r}>0,SUMPRODUCT({new.format(r=r)}*{c('C')})/{nw}{r},0)"), "pct"),
            Column(f"lf_share_range{tag}", lambda i, r: Formula(
                f"IF({a}{r}>0,SUMPRODUCT({active.format(r=r)}*{c('C')})/{a}{r},0)"), "pct"),
            Column(f"platform_volume_share{tag}", lambda i, r: Formula(
                f"IF({volume.format(r=r)}>0,{common_volume.format(r=r)}/{volume.format(r=r)},0)"), "pct"),
            Column(f"platform_model_share{tag}", lambda i, r: Formula(
                f"IF({a}{r}>0,SUMPRODUCT({active.format(r=r)}*{c('D')})/{a}{r},0)"), "pct"),
        ]

    last = n_years + 1
    yr = f"$A$2:$A${last}"
    first = f"MIN({S},{P},{book.name('target_lf_year')},{book.name('target_platform_year')})"
    cols = [
        Column("year", lambda i, r: Formula(first if i == 0 else f"A{r - 1}+1"), "year"),
        *scenario("K", "M", trimmed=False),
        *scenario("Q", "R", trimmed=True),
        *[Column(f"{metric}_shown", lambda i, r, d_=col, t_=col_t: Formula(f"IF({trim},{t_}{r},{d_}{r})"), "pct")
          for metric, col, col_t in (("lf_share_new", "D", "J"), ("lf_share_range", "E", "K"),
                                     ("platform_volume_share", "F", "L"), ("platform_model_share", "G", "M"))],
        Column("in_window", lambda i, r: Formula(f"AND(A{r}>={S},A{r}<={E})"), style="center"),
    ]
    for metric, shown, path_col, _, share_key, year_key in TARGETS:
        share, year, tol = book.name(share_key), book.name(year_key), book.name("amber_tolerance")
        start = f"INDEX(${shown}$2:${shown}${last},MATCH({P},{yr},0))"
        cols.append(Column(f"{metric}_path", lambda i, r, share=share, year=year, start=start: Formula(
            f"IF(OR({year}<={P},{start}>={share}),{share},"
            f"{start}+({share}-{start})*MIN(1,MAX(0,(A{r}-{P})/({year}-{P}))))"), "pct"))
        cols.append(Column(f"{metric}_status", lambda i, r, shown=shown, path_col=path_col, share=share,
                           year=year, tol=tol: Formula(
            f'IF(A{r}>={year},IF({shown}{r}>={share}-{EPS},"met","missed"),'
            f'IF({shown}{r}>={share}-{EPS},"ahead",IF({shown}{r}>={path_col}{r}-{EPS},"on_track",'
            f'IF({shown}{r}>={path_col}{r}-{tol}-{EPS},"at_risk","off_track"))))'), style="center"))
    assert get_column_letter(len(cols)) == "X"
    book.grid(ws, cols, n_years)
    chart = LineChart()
    chart.title, chart.y_axis.title = "Shares by year against the path to the target", "share"
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart_cols = (14, 19, 15, 21, 16, 23)
    for col in chart_cols:
        chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
    keys = [cols[c - 1].header.replace("_shown", "") for c in chart_cols]
    # the HTML's legend and colours: one colour per metric, its path dashed in the same colour
    metrics = [k.removesuffix("_path") for k in keys]
    labels = [METRIC_LABELS[m] + (": path" if k.endswith("_path") else "") for m, k in zip(metrics, keys, strict=True)]
    palette = STYLE["share_path_colors"]
    order = list(dict.fromkeys(metrics))
    style_series(chart, keys, labels=labels, dashed=[k.endswith("_path") for k in keys],
                 colors=[palette[order.index(m) % len(palette)] for m in metrics])
    chart.legend.position = "b"  # six long labels: below the plot, which keeps the chart's width
    chart_size(chart)
    ws.add_chart(chart, f"A{last + 3}")


def _summary(book: Book, n_years: int) -> None:
    ws = book.sheet("Summary")
    book.describe(ws, "Headline figures at the target years (named cells), for the scenario apply_trimming picks")
    last = n_years + 1
    yr = f"'By year'!$A$2:$A${last}"

    def at(col: str, year: str) -> str:
        return f"INDEX('By year'!${col}$2:${col}${last},MATCH({year},{yr},0))"

    lf_year, pf_year = book.name("target_lf_year"), book.name("target_platform_year")
    lf_share, pf_share = book.name("target_lf_share"), book.name("target_platform_share")
    rows = [
        ("lf_share_new_models_2025", at("N", lf_year), "pct",
         'Of the models launched from plan_year to target_lf_year, the share in a family ("half of the new '
         'Alliance models", founding article)'),
        ("lf_share_range_2025", at("O", lf_year), "pct",
         'Of all models on sale in target_lf_year, the share in a family ("close to 50% of Alliance models", '
         "27 May 2020 release, S:1)"),
        ("common_platform_volume_share_2024", at("P", pf_year), "pct",
         "Share of volume on common platforms (platform_definition) in target_platform_year"),
        ("common_platform_model_share_2026", at("Q", str(MODEL_SHARE_YEAR)), "pct",
         f"Share of models on common platforms in {MODEL_SHARE_YEAR} (the 2022 roadmap's measure)"),
        ("lf_target_met", f"lf_share_new_models_2025>={lf_share}-{EPS}", None, "New-models reading: target met"),
        ("lf_range_target_met", f"lf_share_range_2025>={lf_share}-{EPS}", None, "Whole-range reading: target met"),
        ("platform_target_met", f"common_platform_volume_share_2024>={pf_share}-{EPS}", None,
         "Common-platform target met"),
    ]
    book.header(ws, ["key", "value", "description"])
    for i, (key, formula, fmt, desc) in enumerate(rows):
        r = i + 2
        book.put(ws, r, 1, key, style="bold")
        book.put(ws, r, 2, Formula(formula), fmt=fmt)
        book.put(ws, r, 3, desc)
        book.define(key, ws, r, 2)


def _checks(headline: Mapping[str, Any], result: Any, first_year: int, n_years: int, suffix: str,
            effective_end_sum: float, n: int) -> list[Check]:
    checks: list[Check] = []
    for key, value in headline.items():
        if isinstance(value, bool):
            checks.append((f"{key} (1 = yes)", float(value), Formula(f"IF({key},1,0)")))
        else:
            checks.append((key, float(value), Formula(key)))
    checks.append(("sum of effective end years (changeovers via replaces)", effective_end_sum,
                   Formula(f"SUM('{CALC}'!$H$2:$H${n + 1})")))
    scenario = "trimmed" if suffix else "data"
    status = result.targets[result.targets["scenario"].eq(scenario)].set_index(["metric", "year"])["status"]
    for year, row in result.by_year.iterrows():
        r = int(year) - first_year + 2
        if not 2 <= r <= n_years + 1:
            continue
        for metric, col in SHOWN.items():
            checks.append((f"{metric} {year}", float(row[metric + suffix]), Formula(f"'By year'!${col}${r}")))
        checks.append((f"active_models {year}", float(row["active_models"]), Formula(f"'By year'!$B${r}")))
        for metric, _, _, status_col, _, _ in TARGETS:
            if (metric, year) in status.index:
                checks.append((f"{metric} status {year} ({', '.join(f'{i + 1} {s}' for i, s in enumerate(STATUSES))})",
                               float(STATUSES.index(status[(metric, year)]) + 1),
                               Formula(f"MATCH('By year'!${status_col}${r},{STATUS_CODES},0)")))
    return checks


def write_milestones_workbook(path: str | Path, report: Report, *, run_info: Mapping[str, Any]) -> list[str]:
    """Write the milestones workbook (see :func:`alliance_fin.excel.sheets.write_workbook`).

    Parameters
    ----------
    report : Report
        From :func:`alliance_fin.present.milestones.build_milestones_report`; its
        ``results["milestones"]`` (``by_year``, ``targets`` of the scenario shown), its
        ``results["trimming"]`` (cuts and receivers, written as data) and its headline are checked.
    run_info : mapping
        Run facts for the cover.

    Returns
    -------
    list of str
        Warnings (text changed to fit XLSX).
    """
    library = report.results["milestones"]
    trimming = report.results.get("trimming")
    suffix = report.results.get("suffix", "_trimmed" if trimming is not None else "")
    p = dict(library.params)
    params = {"start_year": p["start_year"], "end_year": p["end_year"], "plan_year": p["plan_year"],
              "platform_definition": p["platform_definition"], "launch_delay_years": p["launch_delay_years"],
              "as_of_year": p["as_of_year"], "apply_trimming": trimming is not None, "migration_rate": 0.0,
              **report.parameters}
    first = min(p["start_year"], p["plan_year"], p["target_lf_year"], p["target_platform_year"])
    last = max(p["end_year"], p["target_lf_year"], p["target_platform_year"], MODEL_SHARE_YEAR)
    n_years = last - first + 1
    ids = [str(m) for m in report.lineup["model_id"].tolist()]
    if trimming is not None:
        reason = trimming.models["reason"].reindex(ids).fillna("")
        moves = trimming.moves[trimming.moves["to_model_id"].ne("")]
    else:
        reason = pd.Series("", index=ids)
        moves = pd.DataFrame({"from_model_id": [], "to_model_id": []})
    cut = [int(bool(x)) for x in reason.tolist()]
    from alliance_fin.engines.lineup import calc_effective_end_year

    effective_end_sum = float(calc_effective_end_year(report.lineup).sum())
    platforms = load_text_assumptions()["cmf_platforms"]

    def build(book: Book) -> list[Check]:
        _cmf_sheet(book, platforms)
        _model_calc(book, cut, reason.tolist())
        n_moves = _moves(book, moves)
        _by_year(book, n_years, n_moves)
        _summary(book, n_years)
        return _checks(report.headline, library, first, n_years, suffix, effective_end_sum, book.n_data)

    return write_workbook(path, report, run_info=run_info, build_sheets=build, parameters=params)
