"""The plan-against-outcome workbook: both line-ups, one row per model and the bridge as live formulas.

Sheets: ``Plan`` (the line-up as planned, an Excel table; edit it), ``Data`` (the outcome line-up),
``Bridge calc`` (each model's window saving in the seven line-up states of the bridge),
``Variance`` (one row per model and the bridge), ``Targets`` and ``Events`` (values), ``Checks``.

The formulas follow :mod:`alliance_fin.engines.plan_vs_actual` and the savings workbook's method:
in each state a model's window saving is ``counted x (dev_saving x share of [launch - L, launch)
in [start, end + 1) + unit_saving x volume / 1e6 x years on sale in the window)``. Launch year,
end year (cut by a successor's launch in that state), volume and the plan-baseline test
(``scheme_since``, or ``INT(launch - dev_lead_years)`` when empty, ``>= plan_year``) are live
references to the Plan and Data sheets; each state takes a value from the plan or the outcome
according to the bridge's order (launch from the delays step on, volume from the volume step, end
year, successor and decision year from the other-changes step). The model's savings rates in a
state (lifetime development saving in EUR m, production and other saving per vehicle in EUR) are
the library's values, written as numbers: they depend on the family's composition in that state.
So an edited planned launch year or volume moves the bridge; an edited family does not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter

from alliance_fin.engines.plan_vs_actual import CAUSES, STATES
from alliance_fin.excel.charts import waterfall_chart
from alliance_fin.excel.core import Book, Formula
from alliance_fin.excel.sheets import Check, write_total_row, write_workbook
from alliance_fin.present.report import Report

CALC = "Bridge calc"
#: Per state: the columns of the Bridge calc sheet, in order.
STATE_COLS = ("launch", "end", "volume", "counted", "dev_saving_eur_m", "unit_saving_eur", "saving_eur_m")
#: First bridge step (1-based, in CAUSES order) from which a state takes the outcome's value.
FROM_STEP = {"launch_year": 2, "annual_volume": 4, "end_year": 5, "scheme_since": 5}
_FORMATS = {"launch": "year", "end": "year", "volume": "units", "counted": None, "dev_saving_eur_m": "eur_m",
            "unit_saving_eur": "units", "saving_eur_m": "eur_m"}


def _plan_sheet(book: Book, plan: pd.DataFrame) -> dict[str, str]:
    """The plan line-up as an Excel table ``PlanLineup``; returns column letters by name."""
    ws = book.sheet("Plan")
    book.describe(ws, "The line-up as planned on 27 May 2020 (edit launch years or volumes: the bridge moves)")
    columns = [str(c) for c in plan.columns]
    book.header(ws, columns)
    letters = {}
    for j, name in enumerate(columns, start=1):
        letters[name] = get_column_letter(j)
        fmt = {"launch_year": "year", "end_year": "year", "annual_volume": "units"}.get(name)
        for i, value in enumerate(plan[name].tolist()):
            book.put(ws, i + 2, j, None if isinstance(value, str) and value == "" else value,
                     style="input" if name in ("launch_year", "annual_volume") else "calc", fmt=fmt)
    book.table(ws, "PlanLineup", len(plan), len(columns))
    ws.freeze_panes = "B2"
    return letters


def _calc_sheet(book: Book, report: Report, plan_cols: Mapping[str, str]) -> dict[int, dict[str, str]]:
    """Sheet 'Bridge calc'; returns per state the column letter of each of :data:`STATE_COLS`."""
    result = report.results["plan_vs_actual"]
    ws = book.sheet(CALC)
    book.describe(ws, "Each model's window saving in the seven line-up states of the bridge (plan -> outcome)")
    ids = list(result.models.index)
    row_of = {m: i + 2 for i, m in enumerate(ids)}
    plan_row = {m: i + 2 for i, m in enumerate(report.results["plan"]["model_id"].astype(str).str.strip())}
    out_row = {m: i + 2 for i, m in enumerate(report.lineup["model_id"].astype(str).str.strip())}
    L, S, E = book.name("dev_lead_years"), book.name("start_year"), book.name("end_year")
    P, B = book.name("plan_year"), book.name("baseline")
    letters: dict[int, dict[str, str]] = {}
    book.put(ws, 1, 1, "model_id", style="header")
    for k in range(len(STATES)):
        letters[k] = {c: get_column_letter(2 + k * len(STATE_COLS) + j) for j, c in enumerate(STATE_COLS)}
        for j, c in enumerate(STATE_COLS):
            book.put(ws, 1, 2 + k * len(STATE_COLS) + j, f"s{k} {c}", style="header")
    # one dict of records, not a MultiIndex .loc per model and state (a third of this sheet's time)
    states = {(int(k), str(m)): rec for k, m, rec in zip(result.states["state"], result.states["model_id"],
                                                         result.states.to_dict("records"), strict=True)}
    in_plan, in_out = result.models["in_plan_lineup"], result.models["in_outcome"]

    def ref(model: str, column: str, k: int) -> str | None:
        """Plan or Data cell that state ``k`` takes ``column`` of ``model`` from (None: no such column)."""
        outcome = not in_plan[model] or (in_out[model] and k >= FROM_STEP[column])
        if outcome:
            return book.data(column, out_row[model]) if column in book.data_cols else None
        return f"Plan!${plan_cols[column]}${plan_row[model]}" if column in plan_cols else None

    for m in ids:
        r = row_of[m]
        book.put(ws, r, 1, m)
        for k in range(len(STATES)):
            col = letters[k]
            rec = states.get((k, str(m)))
            if rec is None:
                book.put(ws, r, 2 + k * len(STATE_COLS) + STATE_COLS.index("saving_eur_m"), 0.0, fmt="eur_m")
                continue
            launch = f"{col['launch']}{r}"
            cuts = "".join(f",{col['launch']}{row_of[s]}-1" for s in rec["successors"])
            since = ref(m, "scheme_since", k)
            derived = f"INT({launch}-{L})"
            # scheme_since is text in the line-up (as typed); empty means derived
            since_f = f'IF(LEN({since}&"")=0,{derived},VALUE({since}&""))' if since else derived
            cells = {
                "launch": Formula(ref(m, "launch_year", k)),
                "end": Formula(f"MIN({ref(m, 'end_year', k)}{cuts})"),
                "volume": Formula(ref(m, "annual_volume", k)),
                "counted": Formula(f'OR({B}="standalone",{since_f}>={P})'),
                "dev_saving_eur_m": float(rec["dev_saving_eur_m"]),
                "unit_saving_eur": float(rec["unit_saving_eur"]),
                "saving_eur_m": Formula(
                    f"IF({col['counted']}{r},{col['dev_saving_eur_m']}{r}*MAX(0,MIN({launch},{E}+1)"
                    f"-MAX({launch}-{L},{S}))/{L}+{col['unit_saving_eur']}{r}*{col['volume']}{r}/1000000"
                    f"*MAX(0,MIN({col['end']}{r},{E})-MAX({launch},{S})+1),0)"),
            }
            for c, value in cells.items():
                book.put(ws, r, 2 + k * len(STATE_COLS) + STATE_COLS.index(c), value, fmt=_FORMATS[c])
    ws.freeze_panes = "B2"
    return letters


def _variance_sheet(book: Book, report: Report, plan_cols: Mapping[str, str],
                    calc: Mapping[int, Mapping[str, str]]) -> int:
    """Sheet 'Variance': one row per model and the bridge (defined names); returns the model count."""
    result = report.results["plan_vs_actual"]
    models = result.models
    ws = book.sheet("Variance")
    book.describe(ws, "One row per model (plan and outcome matched by model_id) and the bridge from planned "
                      "to realised savings by cause, EUR m, live formulas")
    plan_row = {m: i + 2 for i, m in enumerate(report.results["plan"]["model_id"].astype(str).str.strip())}
    out_row = {m: i + 2 for i, m in enumerate(report.lineup["model_id"].astype(str).str.strip())}
    causes = [key for key, _ in CAUSES]
    headers = ["model_id", "member", "model_name", "status", "variance_type", "rest_of_range",
               "planned_launch_year", "actual_launch_year", "delay_years", "planned_volume", "actual_volume",
               "planned_saving_eur_m", "actual_saving_eur_m", "variance_eur_m",
               *(f"{c}_eur_m" for c in causes), "timing_eur_m", "permanent_eur_m"]
    col = {h: get_column_letter(j) for j, h in enumerate(headers, start=1)}
    book.header(ws, headers)
    last_state = len(STATES) - 1
    for i, (m, rec) in enumerate(models.iterrows()):
        r = i + 2
        cr = r  # same row order on Bridge calc

        def plan_ref(column: str, m: str = m) -> Formula | None:
            return Formula(f"Plan!${plan_cols[column]}${plan_row[m]}") if m in plan_row else None

        def out_ref(column: str, m: str = m) -> Formula | None:
            return Formula(book.data(column, out_row[m])) if m in out_row else None

        values = {
            "model_id": m, "member": str(rec["member"]), "model_name": str(rec["model_name"]),
            "status": str(rec["status"]), "variance_type": str(rec["variance_type"]),
            "rest_of_range": bool(rec["rest_of_range"]),
            "planned_launch_year": plan_ref("launch_year"), "actual_launch_year": out_ref("launch_year"),
            "delay_years": Formula(f"{col['actual_launch_year']}{r}-{col['planned_launch_year']}{r}")
            if m in plan_row and m in out_row else None,
            "planned_volume": plan_ref("annual_volume"), "actual_volume": out_ref("annual_volume"),
            "planned_saving_eur_m": Formula(f"'{CALC}'!${calc[0]['saving_eur_m']}${cr}"),
            "actual_saving_eur_m": Formula(f"'{CALC}'!${calc[last_state]['saving_eur_m']}${cr}"),
            "variance_eur_m": Formula(f"{col['actual_saving_eur_m']}{r}-{col['planned_saving_eur_m']}{r}"),
            "timing_eur_m": Formula(f"{col['delays_eur_m']}{r}"),
            "permanent_eur_m": Formula(f"{col['variance_eur_m']}{r}-{col['timing_eur_m']}{r}"),
        }
        for k, c in enumerate(causes, start=1):
            values[f"{c}_eur_m"] = Formula(f"'{CALC}'!${calc[k]['saving_eur_m']}${cr}"
                                           f"-'{CALC}'!${calc[k - 1]['saving_eur_m']}${cr}")
        for j, h in enumerate(headers, start=1):
            fmt = "year" if "launch" in h else "int" if h == "delay_years" else "units" if "volume" in h else \
                "eur_m" if h.endswith("_eur_m") else None
            book.put(ws, r, j, values[h], fmt=fmt)
    n = len(models)
    total = n + 2
    write_total_row(book, ws, total, {headers.index(h) + 1: "eur_m"
                                      for h in headers[headers.index("planned_saving_eur_m"):]})

    # The bridge, beside the table: planned, each cause, realised, and the proof that they add up.
    bc = len(headers) + 2
    lab, val, cum = get_column_letter(bc), get_column_letter(bc + 1), get_column_letter(bc + 2)
    for j, h in enumerate(("bridge step", "value_eur_m", "cumulative_eur_m")):
        book.put(ws, 1, bc + j, h, style="header")
    rows = [("planned savings", "savings_plan_eur_m", f"{col['planned_saving_eur_m']}{total}")]
    rows += [(label, f"bridge_{key}_eur_m", f"{col[key + '_eur_m']}{total}") for key, label in CAUSES]
    rows.append(("realised savings", "savings_actual_eur_m", f"{col['actual_saving_eur_m']}{total}"))
    for i, (label, name, formula) in enumerate(rows):
        r = i + 2
        book.put(ws, r, bc, label, style="bold")
        book.put(ws, r, bc + 1, Formula(formula), fmt="eur_m")
        book.put(ws, r, bc + 2, Formula(f"{val}{r}" if i in (0, len(rows) - 1) else f"{cum}{r - 1}+{val}{r}"),
                 fmt="eur_m")
        book.define(name, ws, r, bc + 1)
    r = len(rows) + 2
    book.put(ws, r, bc, "causes minus (realised - planned)", style="bold")
    book.put(ws, r, bc + 1, Formula(f"SUM({val}3:{val}{r - 2})-({val}{r - 1}-{val}2)"), fmt="diff")
    book.define("bridge_residual_eur_m", ws, r, bc + 1)
    book.put(ws, r + 1, bc, "savings_realisation_rate", style="bold")
    book.put(ws, r + 1, bc + 1, Formula(f'IF({val}2<>0,{val}{r - 1}/{val}2,IF({val}{r - 1}=0,1,""))'), fmt="pct")
    book.define("savings_realisation_rate", ws, r + 1, bc + 1)
    counted = f"${col['rest_of_range']}$2:${col['rest_of_range']}${n + 1},FALSE"
    for k, (name, crit) in enumerate((
            ("models_delayed", f"${col['delay_years']}$2:${col['delay_years']}${n + 1},\">0\""),
            ("models_cancelled", f"${col['status']}$2:${col['status']}${n + 1},\"cancelled\""),
            ("models_added", f"${col['status']}$2:${col['status']}${n + 1},\"added\""))):
        book.put(ws, r + 2 + k, bc, name, style="bold")
        book.put(ws, r + 2 + k, bc + 1, Formula(f"COUNTIFS({crit},{counted})"), fmt="int")
        book.define(name, ws, r + 2 + k, bc + 1)
    # like for like: the planned models as they turned out, the running total of the row before the additions
    additions_row = [name for _, name, _ in rows].index("bridge_additions_eur_m") + 2  # rows from row 2
    before = f"{cum}{additions_row - 1}"
    for k, (name, formula, fmt) in enumerate((
            ("savings_planned_models_eur_m", before, "eur_m"),
            ("savings_realisation_rate_planned_models", f'IF({val}2<>0,{before}/{val}2,IF({before}=0,1,""))',
             "pct"))):
        book.put(ws, r + 5 + k, bc, name, style="bold")
        book.put(ws, r + 5 + k, bc + 1, Formula(formula), fmt=fmt)
        book.define(name, ws, r + 5 + k, bc + 1)
    # the HTML's bridge: navy totals, green causes that add savings, red causes that lose them
    chart = waterfall_chart(book, ws, first_row=2, label_col=bc, value_col=bc + 1,
                            totals=[i in (0, len(rows) - 1) for i in range(len(rows))], at_col=bc + 3,
                            title="From planned to realised savings, by cause", y_title="Savings in the window, EUR m",
                            rise_is_good=True, labels=("Planned and realised", "Adds savings", "Loses savings"),
                            short_labels=[label.split(" (")[0] for label, _, _ in rows])
    ws.add_chart(chart, f"{lab}{r + 9}")
    return n


def _values_sheet(book: Book, name: str, text: str, frame: pd.DataFrame) -> None:
    ws = book.sheet(name)
    book.describe(ws, text)
    book.header(ws, [str(c) for c in frame.columns])
    for i, row in enumerate(frame.itertuples(index=False)):
        for j, value in enumerate(row, start=1):
            column = str(frame.columns[j - 1])
            fmt = "pct" if column in ("target", "plan", "outcome", "actual", "path") else \
                "year" if column in ("year", "target_year") else None
            book.put(ws, i + 2, j, value, fmt=fmt)
    ws.freeze_panes = "B2"


def _checks(report: Report) -> list[Check]:
    lib = report.results["checks"]
    checks: list[Check] = [(k, lib[k], Formula(k)) for k in
                           ("savings_plan_eur_m", "savings_actual_eur_m", "models_delayed", "models_cancelled",
                            "models_added")]
    if math.isfinite(lib["savings_realisation_rate"]):
        checks.append(("savings_realisation_rate", lib["savings_realisation_rate"],
                       Formula("savings_realisation_rate")))
    checks.append(("savings_planned_models_eur_m", lib["savings_planned_models_eur_m"],
                   Formula("savings_planned_models_eur_m")))
    if math.isfinite(lib["savings_realisation_rate_planned_models"]):
        checks.append(("savings_realisation_rate_planned_models", lib["savings_realisation_rate_planned_models"],
                       Formula("savings_realisation_rate_planned_models")))
    checks += [(f"bridge: {label}", lib[f"bridge_{key}_eur_m"], Formula(f"bridge_{key}_eur_m"))
               for key, label in CAUSES]
    checks.append(("bridge: causes add up to the difference", 0.0, Formula("bridge_residual_eur_m")))
    return checks


def write_plan_vs_actual_workbook(path: str | Path, report: Report, *, run_info: Mapping[str, Any]) -> list[str]:
    """Write the plan-against-outcome workbook (see :func:`alliance_fin.excel.sheets.write_workbook`).

    Parameters
    ----------
    report : Report
        From :func:`alliance_fin.present.plan_vs_actual.build_plan_vs_actual_report`; its
        ``results["plan"]`` (the plan line-up), ``results["plan_vs_actual"]`` (statuses, states,
        bridge) and ``results["checks"]`` (headline, ``bridge_<step>_eur_m``, ``savings_planned_models_eur_m`` and
        ``savings_realisation_rate_planned_models``) are used.
    run_info : mapping
        Run facts for the cover.

    Returns
    -------
    list of str
        Warnings (text changed to fit XLSX).
    """
    targets, events = report.tables["targets"], report.tables["events"]

    def build(book: Book) -> list[Check]:
        book.describe(book.wb["Data"], "Outcome: the line-up as it turned out (after validation), with provenance")
        plan_cols = _plan_sheet(book, report.results["plan"])
        calc = _calc_sheet(book, report, plan_cols)
        _variance_sheet(book, report, plan_cols, calc)
        _values_sheet(book, "Targets", "Both leader-follower readings and the platform share per year on each "
                      "line-up, with status (library values)", targets)
        _values_sheet(book, "Events", "Dated events that changed the plan, with sources and their kind", events)
        return _checks(report)

    return write_workbook(path, report, run_info=run_info, build_sheets=build)
