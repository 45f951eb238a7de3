"""The savings workbook's further tables, as in the HTML report: by family, waterfall,
sensitivity grid (all live formulas over 'Model calc') and the tornado (fixed library values).

Column letters of 'Model calc' used here: C family_id, J standalone_dev_eur_m, L scheme,
M family_dev_eur_m, N leader_dev_eur_m, O family_reduction_rate, Q dev_saving_eur_m,
T dev_share_in_window, W production_eur_m, X other_eur_m, AB counted, AC counted_total_eur_m.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from openpyxl.utils import get_column_letter

from alliance_fin.excel.charts import waterfall_chart
from alliance_fin.excel.core import Book, Column, Formula
from alliance_fin.excel.sheets import Check, readable, write_total_row

CALC = "Model calc"


def _col(book: Book, c: str) -> str:
    return f"'{CALC}'!${c}$2:${c}${book.n_data + 1}"


def write_by_family(book: Book, by_family: pd.DataFrame, models: pd.DataFrame,
                    by_year: pd.DataFrame) -> list[Check]:
    """Sheet 'By family': one row per twin family, in the HTML's order; returns its checks."""
    ws = book.sheet("By family")
    book.describe(ws, "Savings by twin family: models, investment, uncapped and capped reduction, lifetime "
                      "development saving and window saving under the chosen baseline (EUR m)")
    ids = [str(f) for f in by_family.index]
    c = lambda x: _col(book, x)  # noqa: E731
    cols = [
        Column("family_id", lambda i, r: ids[i], style="bold"),
        Column("family", lambda i, r: str(by_family["family"].iloc[i])),
        Column("leader", lambda i, r: str(by_family["leader"].iloc[i])),
        Column("models", lambda i, r: Formula(f"COUNTIFS({c('C')},A{r})"), "units"),
        Column("reduction_rate", lambda i, r: Formula(f"INDEX({c('O')},MATCH(A{r},{c('C')},0))"), "pct"),
        Column("capped_rate", lambda i, r: Formula(f"MIN(E{r},{book.name('max_saving_rate')})"), "pct"),
        Column("standalone_dev_eur_m", lambda i, r: Formula(f"SUMIFS({c('J')},{c('C')},A{r})"), "eur_m"),
        Column("dev_saving_eur_m", lambda i, r: Formula(f"SUMIFS({c('Q')},{c('C')},A{r})"), "eur_m"),
        Column("window_saving_eur_m", lambda i, r: Formula(f"SUMIFS({c('AC')},{c('C')},A{r})"), "eur_m"),
        Column("window_saving_report_ccy_m", lambda i, r: Formula(f"I{r}*fx_rate"), "eur_m"),
    ]
    book.grid(ws, cols, len(ids))
    t = len(ids) + 2
    write_total_row(book, ws, t, {j: cols[j - 1].fmt for j in (4, 7, 8, 9, 10)})
    fam = models[models["family_id"].astype(str) != ""]
    window = by_year[by_year["family_id"].astype(str) != ""]["saving_eur_m"].sum()
    return [("by family: lifetime development saving (EUR m)", float(fam["dev_saving_eur_m"].sum()),
             Formula(f"'By family'!$H${t}")),
            ("by family: window saving (EUR m)", float(window), Formula(f"'By family'!$I${t}"))]


def write_waterfall(book: Book, models: pd.DataFrame) -> list[Check]:
    """Sheet 'Waterfall': standalone investment, family and platform reductions, scheme investment."""
    ws = book.sheet("Waterfall")
    book.describe(ws, "From standalone to scheme development investment (lifetime, every model: the "
                      "standalone view), EUR m")
    c = lambda x: _col(book, x)  # noqa: E731
    rows = [("Standalone investment", f"SUM({c('J')})", "total"),
            ("Leader-follower families", f'-SUMIFS({c("Q")},{c("L")},"family")', "delta"),
            ("Common platforms", f'-SUMIFS({c("Q")},{c("L")},"platform")', "delta"),
            ("Scheme investment", "SUM(B2:B4)", "total")]
    book.header(ws, ["step", "value_eur_m", "kind", "value_report_ccy_m"])
    for i, (step, formula, kind) in enumerate(rows):
        r = i + 2
        book.put(ws, r, 1, step, style="bold")
        book.put(ws, r, 2, Formula(formula), fmt="eur_m")
        book.put(ws, r, 3, kind)
        book.put(ws, r, 4, Formula(f"B{r}*fx_rate"), fmt="eur_m")
    # the HTML's waterfall: navy totals, green reductions (a fall in investment is the saving)
    chart = waterfall_chart(book, ws, first_row=2, label_col=1, value_col=2,
                            totals=[kind == "total" for _, _, kind in rows], at_col=5,
                            title="From standalone to leader-follower development investment",
                            y_title="Development investment, EUR m", rise_is_good=False,
                            labels=("Investment", "Adds investment", "Saves investment"))
    ws.add_chart(chart, "A8")
    return [("waterfall: scheme investment (EUR m)", float(models["scheme_dev_eur_m"].sum()),
             Formula("'Waterfall'!$B$5"))]


def write_sensitivity(book: Book, grid: pd.DataFrame, rate: float) -> list[Check]:
    """Sheet 'Sensitivity': window savings for each (max_saving_rate, follower_diff_share) pair.

    Each cell recomputes the window total with its own ceiling c and differentiation share d:
    production and other savings do not depend on either; each model's development saving in
    the window is ``dev_share_in_window x D x min(reduction(d), c)``, where ``reduction(d)`` is
    ``1 - (D_leader + d x (sum D - D_leader)) / sum D`` for a family and
    ``platform_saving_rate`` on a common platform (min written as ``(a+c-|a-c|)/2``, which
    every engine evaluates over an array).
    """
    ws = book.sheet("Sensitivity")
    book.describe(ws, "Window savings (report currency m) for each ceiling (rows) and follower differentiation "
                      "share (columns), live formulas; the other assumptions at their values")
    c = lambda x: _col(book, x)  # noqa: E731
    rates, shares = [float(x) for x in grid.index], [float(x) for x in grid.columns]
    book.put(ws, 1, 1, "max_saving_rate \\ follower_diff_share", style="header")
    for j, d in enumerate(shares, start=2):
        book.put(ws, 1, j, d, style="header", fmt="pct")
    plat = book.name("platform_saving_rate")
    fixed = f"SUMPRODUCT({c('AB')},{c('W')}+{c('X')})"
    for i, cap in enumerate(rates, start=2):
        book.put(ws, i, 1, cap, style="bold", fmt="pct")
        for j in range(2, len(shares) + 2):
            x = get_column_letter(j)
            red = (f'(({c("L")}="family")*(1-({c("N")}+{x}$1*({c("M")}-{c("N")}))/({c("M")}+({c("M")}=0)))'
                   f'+({c("L")}="platform")*{plat})')
            capped = f"(({red}+$A{i})-ABS({red}-$A{i}))/2"
            book.put(ws, i, j, Formula(
                f"({fixed}+SUMPRODUCT({c('AB')}*{c('T')}*{c('J')}*{capped}))*fx_rate"), fmt="eur_m")
    last = len(rates) + 1
    book.put(ws, last + 2, 1, "Window savings in the report currency (m), under the chosen baseline.",
             style="note")
    ws.freeze_panes = "B2"
    total = float(grid.to_numpy().sum()) / rate if rate else 0.0
    end = get_column_letter(len(shares) + 1)
    return [("sensitivity grid: sum of all cells (EUR m)", total,
             Formula(f"SUM('Sensitivity'!$B$2:${end}${last})/fx_rate"))]


def write_tornado(book: Book, tornado: pd.DataFrame, labels: Mapping[str, str], currency: str,
                  rate: float = 1.0) -> None:
    """Sheet 'Tornado': the library's one-at-a-time moves, fixed values (see the sheet's note).

    ``tornado`` is the engine's frame (:func:`alliance_fin.engines.sensitivity.calc_tornado`:
    ``key``, ``base``, ``low_value``, ``high_value``, ``total_low_eur_m``, ``total_high_eur_m``,
    ``range_eur_m``); ``labels`` readable names by key; ``rate`` report currency per EUR.
    """
    ws = book.sheet("Tornado")
    book.describe(ws, "What moves the total: each assumption 20% down and up, the ten widest (fixed library "
                      "values, not formulas)")
    book.fixed["Tornado"] = ("each row re-runs the whole savings calculation with one assumption moved; "
                             "a formula would need a copy of 'Model calc' per row, so the totals are the "
                             "library's values and do not move when an assumption is edited")
    book.header(ws, ["assumption", "key", "base", "low_value", "high_value", f"total_low_{currency}_m",
                     f"total_high_{currency}_m", "range_eur_m"])
    for i, rec in enumerate(tornado.itertuples(index=False), start=2):
        key = str(rec.key)
        book.put(ws, i, 1, labels.get(key) or readable(key), style="bold")
        book.put(ws, i, 2, key)
        for j, value in enumerate((rec.base, rec.low_value, rec.high_value), start=3):
            book.put(ws, i, j, float(value), fmt="General")
        book.put(ws, i, 6, float(rec.total_low_eur_m) * rate, fmt="eur_m")
        book.put(ws, i, 7, float(rec.total_high_eur_m) * rate, fmt="eur_m")
        book.put(ws, i, 8, float(rec.range_eur_m), fmt="eur_m")
    note = len(tornado) + 3
    book.put(ws, note, 1, "Fixed figures: " + book.fixed["Tornado"] + ".", style="note")
