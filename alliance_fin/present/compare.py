"""Several reports of one kind side by side: the same figures with the change from the first."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_fin.present.report import Report


def compare_reports(reports: Mapping[str, Report], *, table: str | None = None, column: str | None = None,
                    index: str | None = None) -> pd.DataFrame:
    """Put the same figures of several reports side by side, with the change from the first.

    Parameters
    ----------
    reports : mapping of str -> Report
        Scenario label -> report (same report kind), first = the reference.
    table : str, optional
        A table of ``report.tables`` to compare; default: the headline figures.
    column : str, optional
        The table's column to compare (required with ``table`` unless it has one value column).
    index : str, optional
        A column of the table to use as row labels (e.g. ``"year"``); default: its index.

    Returns
    -------
    DataFrame
        One row per figure (or table row), one column per scenario, plus ``change`` (last minus
        first) when there are two or more scenarios.

    Examples
    --------
    >>> compare_reports({"base": base, "30% ceiling": low})                  # doctest: +SKIP
    >>> compare_reports({"base": base, "edit": edit}, table="by_member", column="total")  # doctest: +SKIP
    """
    if not reports:
        raise ValueError("compare_reports needs at least one report")
    columns = {}
    for label, report in reports.items():
        if table is None:
            columns[label] = pd.Series({k: float(v) for k, v in report.headline.items()})
            continue
        frame = report.tables[table]
        frame = frame.set_index(index) if index else frame
        name = column or (frame.columns[0] if len(frame.columns) == 1 else None)
        if name is None:
            raise ValueError(f"table {table!r} has several columns; choose one with column=")
        columns[label] = frame[name]
    out = pd.DataFrame(columns)
    if len(columns) >= 2:
        labels = list(columns)
        out["change"] = out[labels[-1]] - out[labels[0]]
    return out
