"""The range-trimming report: the engine's results as presentation tables and readings.

Method: :mod:`alliance_fin.engines.trimming`; the object returned: :class:`alliance_fin.present.report.Report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from alliance_fin.engines.trimming import calc_trimming, calc_trimming_headline
from alliance_fin.inputs.ids import parse_ids
from alliance_fin.inputs.resolve import resolve_inputs
from alliance_fin.present.report import Report, Section, add_provenance, currency_rate


def _rules(rule_planned: bool, rule_low_volume: bool, rule_overlap: bool) -> tuple[str, ...]:
    flags = {"planned": rule_planned, "low_volume": rule_low_volume, "overlap": rule_overlap}
    return tuple(rule for rule, on in flags.items() if on)


def build_trimming_report(*, data_path: str | Path | None = None, scenario: str = "base", currency: str = "EUR",
                          start_year: int = 2020, end_year: int = 2025, min_volume: int | None = None,
                          migration_rate: float | None = None, rule_planned: bool = True, rule_low_volume: bool = True,
                          rule_overlap: bool = True, keep: str = "", cut: str = "",
                          lineup: pd.DataFrame | None = None, assumptions: pd.DataFrame | None = None,
                          **extra: Any) -> Report:
    """Compute the range-trimming report (method: :mod:`alliance_fin.engines.trimming`).

    Parameters
    ----------
    keep, cut : str
        Comma-separated model ids that are never / always cut (they override the rules).
    rule_planned, rule_low_volume, rule_overlap : bool
        Switch each rule on or off.

    Returns
    -------
    Report
        Tables: ``headline``, ``cuts``, ``before_after`` (by member), ``counts`` (every
        dimension), ``migration``, ``shares``, ``plans``, ``avoided`` (money in ``currency`` millions).
    """
    params = dict(scenario=scenario, currency=currency, start_year=start_year, end_year=end_year,
                  min_volume=min_volume, migration_rate=migration_rate, rule_planned=rule_planned,
                  rule_low_volume=rule_low_volume, rule_overlap=rule_overlap, keep=keep, cut=cut, **extra)
    inputs = resolve_inputs(data_path, params, lineup=lineup, assumptions=assumptions)
    lineup, values, params = inputs.lineup, inputs.values, inputs.parameters
    min_volume, migration_rate = params["min_volume"], params["migration_rate"]
    result = calc_trimming(lineup, values, min_volume=min_volume, migration_rate=migration_rate,
                           rules=_rules(rule_planned, rule_low_volume, rule_overlap), keep=parse_ids(keep), cut=parse_ids(cut),
                           cut_year=start_year)
    head = calc_trimming_headline(result)
    rate = currency_rate(currency, values)
    unit = f"{currency} m"

    models = result.models
    cut_models = models[models["cut"]].reset_index()
    moves = result.moves.set_index("from_model_id")
    cuts = cut_models[["model_id", "member", "model_name", "segment", "region", "reason", "annual_volume"]].copy()
    cuts["moves_to"] = cuts["model_id"].map(moves["to_model_id"]).fillna("")
    cuts["migrated_volume"] = cuts["model_id"].map(moves["migrated_volume"]).fillna(0.0)
    cuts = cuts.sort_values(["reason", "member", "model_id"]).reset_index(drop=True)

    ba = result.before_after
    by_member = ba[ba["dimension"] == "member"][["value", "before", "after", "change"]].reset_index(drop=True)
    avoided = result.avoided_dev.reset_index()
    avoided["avoided_dev"] = avoided.pop("avoided_dev_eur_m") * rate
    shares = result.shares.assign(metric=lambda f: f["metric"].str.replace("_", " "))
    migrated = float(result.moves["migrated_volume"].sum())
    lost = float(result.moves["lost_volume"].sum())
    headline_table = pd.DataFrame({"figure": [
        "Models before", "Models after", "Volume on common platforms before (share)",
        "Volume on common platforms after (share)", "Volume migrated (units per year)", "Volume lost (units per year)",
        f"Successor development avoided ({unit})"],
        "value": [head["models_before"], head["models_after"], head["common_platform_volume_share_before"],
                  head["common_platform_volume_share_after"], migrated, lost, float(avoided["avoided_dev"].sum())]})
    reasons = cuts["reason"].value_counts()
    sections = {
        "headline": Section("Headline", (
            f"Trimming takes the line-up from **{head['models_before']} to {head['models_after']} models** "
            f"({', '.join(f'{n} {r}' for r, n in reasons.items()) or 'no cuts'}). The share of volume on common "
            f"platforms moves from {head['common_platform_volume_share_before']:.1%} to "
            f"**{head['common_platform_volume_share_after']:.1%}**. Rules on: "
            f"{', '.join(result.rules) or 'none'}; low-volume threshold {result.min_volume:,.0f} units per year; "
            f"{result.migration_rate:.0%} of a cut model's volume moves to a retained sibling."), table="headline"),
        "cuts": Section("Every cut and its reason", (
            "Reasons, first match wins: manual (keep/cut lists), planned (the data's `trim` = yes), low volume "
            "(below the threshold, leaders exempt), overlap (off the common platforms where another member's twin "
            "on a common platform sells in the same segment and region)."), table="cuts"),
        "before_after": Section("Line-up before and after", "Models per member before and after trimming.",
                                table="before_after", plot="plot_counts_before_after"),
        "migration": Section("Where the volume goes", (
            f"{migrated:,.0f} units per year move to retained siblings (same family first, then same member, then "
            f"any member, in the same segment and region); {lost:,.0f} are lost."), table="migration"),
        "shares": Section("Common platforms before and after", "Shares of models and of volume on common platforms.",
                          table="shares", percent=("before", "after", "change")),
        "plans": Section("Against the published plans", (
            "The members' own plans, for context (sources in the workbook): Nissan NEXT cut its global line-up from "
            "69 to fewer than 55 models (about -20%, S:110); Renaulution halves Renault's platforms from 6 to 3 "
            "(S:111). The line-up here is a 57-model sample, so compare the direction and size of the change."),
            table="plans"),
        "avoided": Section("Successor development avoided", (
            f"Cut models need no successor: {avoided['avoided_dev'].sum():,.0f} {unit} of standalone development "
            "is avoided, counted apart from the leader-follower savings."), table="avoided"),
    }
    tables = {"headline": headline_table, "cuts": cuts, "before_after": by_member, "counts": ba,
              "migration": result.moves, "shares": shares, "plans": result.plans, "avoided": avoided}
    add_provenance("range_trimming", inputs, tables, sections)
    return Report("range_trimming", inputs, dict(head), tables, {"trimming": result}, sections)


