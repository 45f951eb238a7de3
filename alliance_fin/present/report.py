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
from pathlib import Path
from typing import Any

import pandas as pd

from alliance_fin.engines import savings as sv
from alliance_fin.engines import sensitivity
from alliance_fin.inputs.load import assumption_values, describe_data, load_assumptions, load_families, load_lineup

TITLES = {
    "savings": "Leader-follower savings",
    "range_trimming": "Model-range trimming",
    "milestones": "Milestones to 2025",
}


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


@dataclass(frozen=True, eq=False)
class Report:
    """Everything a report shows, computed once.

    Attributes
    ----------
    name : str
        ``savings``, ``range_trimming`` or ``milestones``.
    parameters : dict
        The resolved report parameters.
    lineup : DataFrame
        The validated line-up (see :func:`alliance_fin.inputs.load.load_lineup`).
    assumptions : DataFrame
        Assumptions in force (index key; value, unit, provenance, source, description), with
        parameters of the same key applied (provenance ``parameter``).
    data : dict
        ``path``, ``sha256``, ``rows`` of the input.
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
    parameters: dict[str, Any]
    lineup: pd.DataFrame
    assumptions: pd.DataFrame
    data: dict[str, Any]
    headline: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    results: dict[str, Any]
    sections: dict[str, Section]

    @property
    def title(self) -> str:
        return TITLES[self.name]

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


def resolve_assumptions(frame: pd.DataFrame, parameters: Mapping[str, Any]) -> pd.DataFrame:
    """Apply report parameters that share an assumption's key (the parameter wins).

    The frame before the parameters is kept in ``attrs["base"]``: the workbook shows each
    parameter beside the default it replaced, with that default's provenance.
    """
    out = frame.copy()
    out.attrs["base"] = frame.attrs.get("base", frame)
    for key, value in parameters.items():
        if key in out.index and isinstance(value, int | float) and not isinstance(value, bool):
            if float(value) != float(out.loc[key, "value"]):
                out.loc[key, "value"] = float(value)
                out.loc[key, "provenance"] = "parameter"
                out.loc[key, "source"] = "report parameter"
    return out


def load_inputs(data_path: str | Path | None = None, parameters: Mapping[str, Any] | None = None, *,
                lineup: pd.DataFrame | None = None, assumptions: pd.DataFrame | None = None):
    """Line-up, assumptions frame (parameters applied), assumption values and data description.

    A ``lineup``/``assumptions`` given in memory (e.g. from :mod:`alliance_fin.inputs.scenario`) wins
    over ``data_path``; its data description then says ``in memory``. A parameter left ``None``
    takes the assumption of the same key; a parameter given wins over the assumption.

    Returns
    -------
    tuple
        ``(lineup, assumptions_frame, assumption_values, data, parameters)`` with the
        parameters resolved.
    """
    path = Path(data_path) if data_path else None
    frame = assumptions if assumptions is not None else load_assumptions(path)
    if lineup is None:
        lineup = load_lineup(path, assumptions=frame)
        data = dict(describe_data(path, lineup))
    else:
        data = {"path": "in memory", "sha256": "", "rows": int(len(lineup))}
    params = dict(parameters or {})
    for key, value in params.items():
        if value is None and key in frame.index:
            number = float(frame.loc[key, "value"])
            params[key] = int(number) if key.endswith(("_year", "min_volume")) and number.is_integer() else number
    frame = resolve_assumptions(frame, params)
    return lineup, frame, assumption_values(frame), data, params


def currency_rate(currency: str, values: Mapping[str, float]) -> float:
    """Units of ``currency`` per EUR (1.0 for EUR), from the assumptions."""
    return float(sv.convert_currency(1.0, currency, values))


# --------------------------------------------------------------------------- savings
def build_savings_report(*, data_path: str | Path | None = None, scenario: str = "base", currency: str = "EUR",
                         start_year: int = 2020, end_year: int = 2025, max_saving_rate: float | None = None,
                         follower_diff_share: float | None = None, discount_rate: float | None = None,
                         lineup: pd.DataFrame | None = None, assumptions: pd.DataFrame | None = None,
                         **extra: Any) -> Report:
    """Compute the savings report (see :mod:`alliance_fin.engines.savings` for the method).

    Returns
    -------
    Report
        Tables: ``headline``, ``by_member``, ``by_member_category``, ``by_family``, ``by_category``,
        ``by_year``, ``waterfall``, ``sensitivity``, ``tornado``, ``models`` (money in ``currency``
        millions).
    """
    params = dict(scenario=scenario, currency=currency, start_year=start_year, end_year=end_year,
                  max_saving_rate=max_saving_rate, follower_diff_share=follower_diff_share,
                  discount_rate=discount_rate, **extra)
    lineup, frame, values, data, params = load_inputs(data_path, params, lineup=lineup, assumptions=assumptions)
    max_saving_rate, follower_diff_share, discount_rate = (
        params["max_saving_rate"], params["follower_diff_share"], params["discount_rate"])
    result = sv.calc_savings(lineup, values, start_year=start_year, end_year=end_year, currency=currency)
    models, by_year, headline = result.models, result.by_year, result.headline
    unit = f"{currency} m"
    money = f"savings_{currency}_m"

    rate = currency_rate(currency, values)

    def conv(x):
        return x * rate

    cat = by_year.pivot_table(index="year", columns="category", values="saving_eur_m", aggfunc="sum",
                              fill_value=0.0).reindex(columns=["development", "production", "other"], fill_value=0.0)
    cat = conv(cat)
    cat["total"] = cat.sum(axis=1)
    cat["cumulative"] = cat["total"].cumsum()

    member_cat = by_year.groupby(["member", "category"], as_index=False)["saving_eur_m"].sum()
    member_cat["saving"] = conv(member_cat["saving_eur_m"])
    by_member = member_cat.pivot_table(index="member", columns="category", values="saving", aggfunc="sum",
                                       fill_value=0.0).reindex(columns=["development", "production", "other"],
                                                               fill_value=0.0)
    by_member["total"] = by_member.sum(axis=1)
    by_member = by_member.sort_values("total", ascending=False)
    dev = models.groupby("member")[["standalone_dev_eur_m", "dev_saving_eur_m"]].sum()
    by_member["investment_reduction_share"] = (dev["dev_saving_eur_m"] / dev["standalone_dev_eur_m"]).reindex(
        by_member.index)

    fam_names = load_families()["family_name"]
    fam = models[models["family_id"] != ""]
    fam_window = by_year[by_year["family_id"] != ""].groupby("family_id")["saving_eur_m"].sum()
    by_family = fam.groupby("family_id").agg(
        leader=("member", lambda s: ""), models=("model_name", "count"),
        standalone_dev_eur_m=("standalone_dev_eur_m", "sum"), dev_saving_eur_m=("dev_saving_eur_m", "sum"),
        reduction_rate=("family_reduction_rate", "first"), capped_rate=("dev_saving_rate", "max"))
    leaders = fam[fam["role"] == "leader"].reset_index().set_index("family_id")
    by_family["leader"] = leaders["member"] + " " + leaders["model_name"]
    by_family.insert(0, "family", fam_names.reindex(by_family.index).fillna(""))
    by_family["window_saving"] = conv(fam_window.reindex(by_family.index).fillna(0.0))
    by_family["standalone_dev"] = conv(by_family.pop("standalone_dev_eur_m"))
    by_family["dev_saving"] = conv(by_family.pop("dev_saving_eur_m"))
    by_family = by_family.sort_values("window_saving", ascending=False)

    by_category = conv(by_year.groupby("category")["saving_eur_m"].sum()).reindex(
        ["development", "production", "other"]).fillna(0.0).to_frame(money)
    by_category["share"] = by_category[money] / by_category[money].sum() if by_category[money].sum() else 0.0

    scheme_totals = models.groupby("scheme")["dev_saving_eur_m"].sum()
    waterfall = pd.DataFrame([
        {"step": "standalone investment", "value": models["standalone_dev_eur_m"].sum(), "kind": "total"},
        {"step": "leader-follower families", "value": -scheme_totals.get("family", 0.0), "kind": "delta"},
        {"step": "common platforms", "value": -scheme_totals.get("platform", 0.0), "kind": "delta"},
        {"step": "scheme investment", "value": models["scheme_dev_eur_m"].sum(), "kind": "total"},
    ])
    waterfall["value"] = conv(waterfall["value"])

    grid = conv(sensitivity.calc_sensitivity_grid(lineup, values, start_year=start_year, end_year=end_year))
    tornado = sensitivity.calc_tornado(lineup, values, start_year=start_year, end_year=end_year).head(10)
    tornado = tornado.assign(total_low=conv(tornado["total_low_eur_m"]), total_high=conv(tornado["total_high_eur_m"]))

    model_table = models.reset_index()[["model_id", "member", "model_name", "family_id", "role", "scheme",
                                        "standalone_dev_eur_m", "dev_saving_rate", "dev_saving_eur_m",
                                        "annual_production_saving_eur_m", "annual_other_saving_eur_m"]]
    for col in ("standalone_dev_eur_m", "dev_saving_eur_m", "annual_production_saving_eur_m",
                "annual_other_saving_eur_m"):
        model_table[col.replace("_eur_m", "")] = conv(model_table.pop(col))

    hl = headline
    top = by_member.index[0] if len(by_member) else "-"
    big_family = by_family.index[0] if len(by_family) else "-"
    sections = {
        "headline": Section("Headline", (
            f"Over {start_year}-{end_year} the scheme saves **{hl['total_savings_report_ccy_m']:,.0f} {unit}** "
            f"(NPV at {discount_rate:.0%}: {conv(hl['npv_savings_eur_m']):,.0f} {unit}). Development investment "
            f"falls by **{hl['savings_pct']:.1%}** across the line-up, against a ceiling of {max_saving_rate:.0%} "
            "per model (\"up to 40%\", 27 May 2020 announcement, S:1)."), table="headline"),
        "by_member": Section("Savings by member", (
            f"{top} gains most. Development savings fall in the {int(values['dev_lead_years'])} years before a "
            "launch; production and other savings accrue every year a model is on sale."),
            table="by_member", plot="plot_savings_by_member", plot_table="by_member_category"),
        "by_family": Section("Savings by twin family", (
            f"Family {big_family} saves most in the window. `reduction_rate` is the family's uncapped investment "
            f"reduction 1 - (D_leader + {follower_diff_share:.0%} x sum D_followers) / sum D; `capped_rate` is "
            f"after the {max_saving_rate:.0%} ceiling."), table="by_family"),
        "by_year": Section("Savings by year and category", (
            f"Cumulative savings reach {cat['cumulative'].iloc[-1]:,.0f} {unit} by {end_year}."
            if len(cat) else "No savings in the window."), table="by_year", plot="plot_savings_by_year"),
        "waterfall": Section("From standalone to scheme investment", (
            "Development investment of every model in the line-up, standalone versus under the scheme "
            "(lifetime, not only the window)."), table="waterfall", plot="plot_waterfall"),
        "sensitivity": Section("Sensitivity: ceiling x follower differentiation", (
            "Window savings for each pair of ceiling (rows) and follower differentiation share (columns); "
            "all other assumptions at their values."), table="sensitivity", plot="plot_sensitivity_heatmap"),
        "tornado": Section("What moves the total", (
            "Each assumption moved 20% down and up, one at a time; the ten with the widest range."),
            table="tornado", plot="plot_tornado"),
        "models": Section("Per model", "Every model with its scheme, rate and savings.", table="models"),
    }
    head_table = pd.DataFrame({"figure": [
        f"Total savings {start_year}-{end_year} ({unit})", f"NPV of savings ({unit})",
        "Development investment reduction (share)", "Total savings (EUR m)"],
        "value": [hl["total_savings_report_ccy_m"], conv(hl["npv_savings_eur_m"]), hl["savings_pct"],
                  hl["total_savings_eur_m"]]})
    tables = {
        "headline": head_table, "by_member": by_member, "by_member_category": member_cat,
        "by_family": by_family, "by_category": by_category, "by_year": cat, "waterfall": waterfall,
        "sensitivity": grid, "tornado": tornado, "models": model_table,
    }
    results = {"model_savings": models, "by_year": by_year}
    _add_provenance("savings", lineup, frame, tables, sections)
    return Report("savings", params, lineup, frame, data, {k: float(v) for k, v in hl.items()}, tables,
                  results, sections)


def _add_provenance(name: str, lineup: pd.DataFrame, frame: pd.DataFrame, tables: dict, sections: dict) -> None:
    from alliance_fin.present.provenance import build_provenance_tables, provenance_section

    tables.update(build_provenance_tables(name, lineup, frame))
    sections["sources"] = provenance_section(tables)


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
