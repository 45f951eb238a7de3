"""The range-trimming workbook's Counts and Plans sheets: the HTML's model counts as live formulas.

Both count models on sale in ``reference_year`` as the By member sheet does: a row of the
calculation sheet counts *before* when its ``on_sale_before`` flag is 1 and *after* when its
``on_sale_after`` flag is 1, and never when it is a rest-of-range aggregate
(``counted_model`` = 0), as :func:`alliance_fin.engines.trimming.calc_trimming` counts them.
Groups are compared with ``=`` inside ``SUMPRODUCT`` rather than as ``COUNTIFS`` criteria, so a
segment or region name from the data is never read as a criterion (``<``, ``*``, ``?``).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from alliance_fin.excel.core import Book, Formula
from alliance_fin.excel.sheets import Check

__all__ = ["count_groups", "write_counts", "write_plans"]

#: The dimensions the engine counts by (calculation-sheet columns of the same name).
DIMENSIONS = ("member", "segment", "region")
BEFORE, AFTER, COUNTED = "on_sale_before", "on_sale_after", "counted_model"


def _count(calc: Callable[[str], str], flag: str, dimension: str | None = None, cell: str = "") -> Formula:
    """Models on sale (``flag``: before or after), optionally only those whose ``dimension`` is ``cell``."""
    match = f"({calc(dimension)}={cell})*" if dimension else ""
    return Formula(f"SUMPRODUCT({match}{calc(flag)}*{calc(COUNTED)})")


def count_groups(models: pd.DataFrame) -> list[tuple[str, str]]:
    """The rows of the Counts sheet: ``("total", "all")``, then every group of each dimension.

    Every group of a model that counts as a model (not rest-of-range) is listed, sorted as the
    engine sorts them, also one with no model on sale in ``reference_year``: then an edit of
    ``reference_year`` in the workbook finds its row. The engine's ``before_after`` table is these
    rows less those with no model before nor after.
    """
    counted = models[~models["rest_of_range"].astype(bool)]
    rows = [("total", "all")]
    for dim in DIMENSIONS:
        rows += [(dim, group) for group in sorted(set(counted[dim].astype(str)))]
    return rows


def write_counts(book: Book, models: pd.DataFrame, counts: pd.DataFrame, calc: Callable[[str], str]) -> list[Check]:
    """Sheet 'Counts': models on sale in reference_year before and after, by every dimension.

    Parameters
    ----------
    models : DataFrame
        The engine's per-model frame (``TrimmingResult.models``): its groups give the rows
        (:func:`count_groups`); the counts are formulas.
    counts : DataFrame
        The report's ``counts`` table (the engine's ``before_after``: ``dimension``, ``group``,
        ``before``, ``after``, ``change``): its total row is what the Checks compare with.
    calc : callable
        ``calc("on_sale_before")`` -> the absolute range of that calculation-sheet column.

    Returns
    -------
    list of Check
        The total against the library's, and each dimension adding up to the total.
    """
    ws = book.sheet("Counts")
    book.describe(ws, "Models on sale in reference_year before and after trimming, in total and by member, "
                      "segment and region (rest-of-range rows are no models)")
    book.header(ws, ["dimension", "group", "before", "after", "change"])
    rows = count_groups(models)
    for i, (dim, group) in enumerate(rows):
        r = i + 2
        by = dim if dim in DIMENSIONS else None
        book.put(ws, r, 1, dim, style="bold")
        book.put(ws, r, 2, group)
        book.put(ws, r, 3, _count(calc, BEFORE, by, f"B{r}"), fmt="units")
        book.put(ws, r, 4, _count(calc, AFTER, by, f"B{r}"), fmt="units")
        book.put(ws, r, 5, Formula(f"D{r}-C{r}"), fmt="units")
    last = len(rows) + 1
    for k, text in enumerate(("Every group of the line-up is listed, also one with no model",
                              "on sale in reference_year (the HTML leaves those out).",
                              "Each dimension adds up to the total row (see Checks).")):
        book.put(ws, last + 2 + k, 1, text, style="note")
    ws.freeze_panes = "C2"
    total = counts[counts["dimension"].eq("total")]
    checks: list[Check] = []
    for col, key in (("C", "before"), ("D", "after")):
        if len(total):
            checks.append((f"counts: total models {key} (Counts)", float(total[key].iloc[0]),
                           Formula(f"'Counts'!${col}$2")))
    for dim in DIMENSIONS:
        parts = [f"ABS(SUMIFS('Counts'!${c}$3:${c}${last},'Counts'!$A$3:$A${last},\"{dim}\")-'Counts'!${c}$2)"
                 for c in ("C", "D")]
        checks.append((f"counts: groups by {dim} add up to the total (before + after)", 0.0,
                       Formula("+".join(parts))))
    return checks


def write_plans(book: Book, plans: pd.DataFrame, calc: Callable[[str], str]) -> list[Check]:
    """Sheet 'Plans': the members' published plans beside the line-up's own change in reference_year.

    Parameters
    ----------
    plans : DataFrame
        The report's ``plans`` table: ``plan``, ``member``, ``published_metric``,
        ``published_count_before``, ``published_count_after``, ``published_change_share``,
        ``published_note``, ``source`` (the published figures: data, with their source) and
        ``lineup_models_before``, ``lineup_models_after``, ``lineup_change_share`` (written as
        formulas over the calculation sheet).
    calc : callable
        ``calc("on_sale_before")`` -> the absolute range of that calculation-sheet column.

    Returns
    -------
    list of Check
        Each plan's line-up change share against the library's.
    """
    ws = book.sheet("Plans")
    book.describe(ws, "The members' published plans (Nissan NEXT, Renaulution; sourced figures) beside the "
                      "line-up's model count for that member in reference_year, before and after trimming")
    published = ["plan", "member", "published_metric", "published_count_before", "published_count_after",
                 "published_change_share", "published_note", "source"]
    book.header(ws, published + ["lineup_models_before", "lineup_models_after", "lineup_change_share"])
    formats = {"published_count_before": "units", "published_count_after": "units",
               "published_change_share": "pct"}
    checks: list[Check] = []
    for i, rec in enumerate(plans.to_dict("records")):
        r = i + 2
        for j, key in enumerate(published, start=1):
            book.put(ws, r, j, rec[key], style="bold" if j == 1 else "calc", fmt=formats.get(key))
        book.put(ws, r, 9, _count(calc, BEFORE, "member", f"B{r}"), fmt="units")
        book.put(ws, r, 10, _count(calc, AFTER, "member", f"B{r}"), fmt="units")
        book.put(ws, r, 11, Formula(f"IF(I{r}>0,(J{r}-I{r})/I{r},0)"), fmt="pct")
        checks.append((f"plans: {rec['plan']} line-up change share", float(rec["lineup_change_share"]),
                       Formula(f"'Plans'!$K${r}")))
    for k, text in enumerate((
            "Published figures: the members' own announcements, for context (source keys as in sources.csv).",
            "Line-up columns: formulas over the calculation sheet, models on sale in reference_year.",
            "A plan counts global models or platforms, the line-up its own models: compare the size of "
            "the change, not the levels.")):
        book.put(ws, len(plans) + 3 + k, 1, text, style="note")
    ws.freeze_panes = "B2"
    return checks
