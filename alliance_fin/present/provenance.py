"""Where each figure comes from: the assumptions a report uses, the line-up's provenance and
the sources cited, as presentation tables shared by every report (HTML and notebook).
"""

from __future__ import annotations

import re

import pandas as pd

from alliance_fin.inputs.load import load_sources
from alliance_fin.present.report import Section
from alliance_fin.registry import REPORT_SPECS, label

_KEY = re.compile(r"S:\d+")


def _used(report: str, key: str) -> bool:
    return REPORT_SPECS[report].uses_assumption(key)


def _show(value: float, unit: str) -> str:
    """An assumption's value as text in its own unit (the column mixes years, shares and money)."""
    if unit.startswith("decimal"):
        return f"{value:.4g}"
    if unit == "year" or float(value).is_integer():
        return f"{int(value)}" if unit == "year" else f"{int(value):,}"
    return f"{value:,.4g}"


def build_provenance_tables(report: str, lineup: pd.DataFrame, assumptions: pd.DataFrame, *,
                            cited_in: str = "") -> dict[str, pd.DataFrame]:
    """The report's assumptions with provenance, the line-up's provenance counts and the sources.

    Parameters
    ----------
    report : str
        ``savings``, ``range_trimming`` or ``milestones``.
    lineup : DataFrame
        The validated line-up (``*_prov`` columns optional).
    assumptions : DataFrame
        Assumptions in force (index key; value, unit, provenance, source, description).
    cited_in : str
        Text the report shows (its readings and tables), whose source keys are listed too.

    Returns
    -------
    dict of str -> DataFrame
        ``assumptions_used`` (assumption label, key, value as text in its unit, unit, provenance, source, description),
        ``data_provenance`` (column, sourced, assumed, derived, other: counts of values) and
        ``sources`` (key, url, kind, note) for every source key cited by either, by the line-up's
        provenance columns or in ``cited_in``.
    """
    used = assumptions[[_used(report, k) for k in assumptions.index]].reset_index()
    used = used[["key", "value", "unit", "provenance", "source", "description"]]
    used.insert(0, "assumption", used["key"].map(label))
    used["value"] = [_show(v, u) for v, u in zip(used["value"], used["unit"], strict=True)]
    rows = []
    for col in [c for c in lineup.columns if c.endswith("_prov")]:
        text = lineup[col].astype(str)
        sourced = text.str.contains("S:", regex=False)
        rows.append({"column": col.removesuffix("_prov").replace("_", " "), "sourced": int(sourced.sum()),
                     "assumed": int((~sourced & text.eq("A")).sum()),
                     "derived": int((~sourced & text.eq("D")).sum()),
                     "other": int((~sourced & ~text.isin(["A", "D"])).sum())})
    provenance = pd.DataFrame(rows, columns=["column", "sourced", "assumed", "derived", "other"])
    cited = set(_KEY.findall(" ".join(used["source"].astype(str)) + " " + cited_in))
    for col in [c for c in lineup.columns if c == "source" or c.endswith("_prov")]:
        cited |= set(_KEY.findall(" ".join(lineup[col].astype(str))))
    sources = load_sources().reset_index()
    sources = sources[sources["key"].isin(cited)]
    sources = sources.assign(n=sources["key"].str[2:].astype(int)).sort_values("n").drop(columns="n")
    return {"assumptions_used": used, "data_provenance": provenance,
            "sources": sources.reset_index(drop=True)}


def provenance_section(tables: dict[str, pd.DataFrame]) -> Section:
    """The "Assumptions and sources" section over :func:`build_provenance_tables`' tables."""
    used, prov = tables["assumptions_used"], tables["data_provenance"]
    sourced = int(used["provenance"].eq("sourced").sum())
    total_values = int(prov[["sourced", "assumed", "derived", "other"]].to_numpy().sum()) or 1
    share = {k: prov[k].sum() / total_values for k in ("sourced", "assumed", "derived")}
    return Section("Assumptions and sources", (
        f"{sourced} of the {len(used)} assumptions this report uses are sourced; the others are analyst "
        "assumptions (or set by a parameter or the input file), each with its unit and reason. Of the "
        f"line-up's values with a recorded provenance, {share['sourced']:.0%} are sourced, "
        f"{share['assumed']:.0%} assumed and {share['derived']:.0%} derived from a sourced figure. "
        "Every source key cited (S:n) is listed with its address; the workbook's Assumptions and Data "
        "sheets carry the same provenance per value."),
        table=("assumptions_used", "data_provenance", "sources"))
