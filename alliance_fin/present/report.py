"""Presentation-ready results shared by the notebooks, the HTML and the workbooks.

``build_<report>_report(...)`` loads the data, runs the pure calculations once and returns a
:class:`Report`: the headline figures, the presentation tables (money already in the report
currency, column names carrying the unit) and the text that reads them. The notebook shows
sections of it with :func:`alliance_fin.present.display.show`; the workbook writer uses the same
object, so Excel and HTML show the same numbers.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from alliance_fin.engines import savings as sv
from alliance_fin.inputs.resolve import ReportInputs
from alliance_fin.registry import REPORT_SPECS, ReportSpec


@dataclass(frozen=True, eq=False)
class Section:
    """One section of a report: a reading, a table and/or a chart."""

    title: str
    reading: str
    table: str | tuple[str, ...] | None = None
    plot: str | None = None
    plot_kwargs: Mapping[str, Any] = field(default_factory=dict)
    plot_table: str | None = None  # the table the chart draws; default: the (first) table shown
    percent: tuple[str, ...] = ()  # extra table columns shown as percentages
    note: str | None = None  # said under every table of the section (e.g. which baseline a saving uses)
    captions: Mapping[str, str] = field(default_factory=dict)  # per table, instead of ``note``
    units: Mapping[str, str] = field(default_factory=dict)  # explicit column units (display.column_unit)


@dataclass(frozen=True, eq=False)
class Report:
    """Everything a report shows, computed once.

    Attributes
    ----------
    name : str
        A report name of :data:`alliance_fin.registry.REPORTS`.
    inputs : ReportInputs
        What it was computed from: line-up, base and effective assumptions, parameters, data
        description (:func:`alliance_fin.inputs.resolve.resolve_inputs`).
    headline : dict
        The manifest's headline figures (plain numbers and booleans).
    tables : dict of str -> DataFrame
        Presentation tables; money columns in the report currency, millions.
    results : dict
        The engines' own outputs (EUR), for the workbook formulas and checks.
    sections : dict of str -> Section
        In display order.
    """

    name: str
    inputs: ReportInputs
    headline: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    results: dict[str, Any]
    sections: dict[str, Section]

    @property
    def spec(self) -> ReportSpec:
        """The report's registry entry."""
        return REPORT_SPECS[self.name]

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The resolved parameters (``inputs.parameters``)."""
        return self.inputs.parameters

    @property
    def lineup(self) -> pd.DataFrame:
        """The validated line-up (``inputs.lineup``)."""
        return self.inputs.lineup

    @property
    def assumptions(self) -> pd.DataFrame:
        """The assumptions in force, parameters applied (``inputs.assumptions``)."""
        return self.inputs.assumptions

    @property
    def data(self) -> Mapping[str, Any]:
        """``path``, ``sha256``, ``rows`` of the input (``inputs.data``)."""
        return self.inputs.data

    @property
    def currency(self) -> str:
        return str(self.parameters.get("currency", "EUR"))

    def __repr__(self) -> str:
        figures = ", ".join(f"{k}={v:,.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in self.headline.items())
        return f"Report({self.name!r}, scenario={self.parameters.get('scenario')!r}: {figures})"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(_fmt(k, v))}</td></tr>"
                       for k, v in self.headline.items())
        return f"<table><caption>{html.escape(self.title)}: headline</caption>{rows}</table>"


def _fmt(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and ("share" in key or "pct" in key):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def rest_of_range_flags(lineup: pd.DataFrame, model_ids: pd.Series | pd.Index) -> pd.Series:
    """Per model id: True for an aggregate ``rest_of_range`` row (a member's unlisted models)."""
    from alliance_fin.inputs.schema import as_flags

    if "rest_of_range" not in lineup.columns:
        return pd.Series(False, index=pd.Index(model_ids))
    flags = pd.Series(as_flags(lineup["rest_of_range"]).to_numpy(dtype=bool),
                      index=lineup["model_id"].astype(str).to_numpy())
    return flags.reindex(pd.Index(model_ids).astype(str), fill_value=False)


def mark_rest_of_range(table: pd.DataFrame, lineup: pd.DataFrame, id_col: str = "model_id") -> pd.DataFrame:
    """``table`` with a ``row_kind`` column after ``id_col``: ``model`` or ``rest of range (aggregate)``."""
    ids = table[id_col] if id_col in table.columns else table.index.to_series()
    flags = rest_of_range_flags(lineup, pd.Index(ids.astype(str)))
    out = table.copy()
    kind = ["rest of range (aggregate)" if f else "model" for f in flags.to_numpy()]
    pos = list(out.columns).index(id_col) + 1 if id_col in out.columns else 0
    out.insert(pos, "row_kind", pd.Series(kind, index=out.index, dtype="str"))
    return out


def describe_lineup(inputs: ReportInputs, packaged: bool) -> str:
    """Which line-up a report reads, in words for its first paragraph."""
    if packaged:
        return ("the packaged Alliance line-up as it turned out to 2026 (calibrated to the members' 2019 "
                "sales; volumes are typical years, not yearly actuals)")
    path = str(inputs.data.get("path", "") or "")
    name = path.replace("\\", "/").rsplit("/", 1)[-1] if path else "in memory"
    return f"the line-up {name!r}"


def currency_rate(currency: str, values: Mapping[str, float]) -> float:
    """Units of ``currency`` per EUR (1.0 for EUR), from the assumptions."""
    return float(sv.convert_currency(1.0, currency, values))


def add_provenance(name: str, inputs: ReportInputs, tables: dict, sections: dict) -> None:
    """Add the report's ``Assumptions and sources`` tables and section (the last section)."""
    from alliance_fin.present.provenance import build_provenance_tables, provenance_section

    shown = " ".join([s.title + " " + s.reading for s in sections.values()]
                     + [_text_of(frame) for frame in tables.values() if isinstance(frame, pd.DataFrame)])
    tables.update(build_provenance_tables(name, inputs.lineup, inputs.assumptions, cited_in=shown))
    sections["sources"] = provenance_section(tables)


def _text_of(frame: pd.DataFrame) -> str:
    """The text a table shows that could cite a source key (``S:n``): its labels and every
    non-numeric cell. Numbers never cite one, so rendering the whole table (``to_string``, a
    sixth of building a report) is not needed to find the keys it cites."""
    parts = [" ".join(map(str, frame.columns)), " ".join(map(str, frame.index))]
    for _, series in frame.items():
        if not pd.api.types.is_numeric_dtype(series.dtype):
            parts.append(" ".join(map(str, series.tolist())))
    return " ".join(parts)
