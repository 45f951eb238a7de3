"""Presentation-ready range-trimming and milestone reports (see :mod:`alliance_fin.present.report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from alliance_fin.engines.milestones import calc_milestones, calc_milestones_headline
from alliance_fin.engines.trimming import calc_trimming, calc_trimming_headline
from alliance_fin.inputs.load import load_text_assumptions
from alliance_fin.present.report import Report, Section, _add_provenance, currency_rate, load_inputs

#: Above this many models the timeline counts models per year by member instead of drawing one
#: bar per model (unreadable there, and the figure would outgrow what Agg can draw).
TIMELINE_MAX_MODELS = 60

METRIC_LABELS = {
    "lf_share_new": "new models under leader-follower",
    "platform_volume_share": "volume on common platforms",
}


def _ids(text: str) -> list[str]:
    return [t.strip() for t in str(text).split(",") if t.strip()]


def _rules(rule_planned: bool, rule_low_volume: bool, rule_overlap: bool) -> tuple[str, ...]:
    flags = {"planned": rule_planned, "low_volume": rule_low_volume, "overlap": rule_overlap}
    return tuple(rule for rule, on in flags.items() if on)


# --------------------------------------------------------------------------- trimming
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
    lineup, frame, values, data, params = load_inputs(data_path, params, lineup=lineup, assumptions=assumptions)
    min_volume, migration_rate = params["min_volume"], params["migration_rate"]
    result = calc_trimming(lineup, values, min_volume=min_volume, migration_rate=migration_rate,
                           rules=_rules(rule_planned, rule_low_volume, rule_overlap), keep=_ids(keep), cut=_ids(cut),
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
    _add_provenance("range_trimming", lineup, frame, tables, sections)
    return Report("range_trimming", params, lineup, frame, data, dict(head), tables, {"trimming": result}, sections)


# --------------------------------------------------------------------------- milestones
def build_milestones_report(*, data_path: str | Path | None = None, scenario: str = "base", currency: str = "EUR",
                            start_year: int = 2020, end_year: int = 2025, launch_delay_years: int = 0,
                            as_of_year: int = 2020, amber_tolerance: float | None = None, target_lf_share: float | None = None,
                            target_lf_year: int | None = None, target_platform_share: float | None = None,
                            target_platform_year: int | None = None, apply_trimming: bool = True,
                            lineup: pd.DataFrame | None = None, assumptions: pd.DataFrame | None = None,
                            **extra: Any) -> Report:
    """Compute the milestones report (method: :mod:`alliance_fin.engines.milestones`).

    Parameters
    ----------
    launch_delay_years : int
        Years (0-10) added to launches after ``as_of_year``.
    apply_trimming : bool
        Also compute the paths with the default range trimming applied.

    Returns
    -------
    Report
        Tables: ``headline``, ``paths`` (year x metric), ``by_year``, ``delay``, ``timeline``
        (Gantt rows), ``events``.
    """
    params = dict(scenario=scenario, currency=currency, start_year=start_year, end_year=end_year,
                  launch_delay_years=launch_delay_years, as_of_year=as_of_year, amber_tolerance=amber_tolerance,
                  target_lf_share=target_lf_share, target_lf_year=target_lf_year,
                  target_platform_share=target_platform_share, target_platform_year=target_platform_year,
                  apply_trimming=apply_trimming, **extra)
    lineup, frame, values, data, params = load_inputs(data_path, params, lineup=lineup, assumptions=assumptions)
    amber_tolerance = params["amber_tolerance"]
    trimming = calc_trimming(lineup, values, cut_year=start_year) if apply_trimming else None
    result = calc_milestones(lineup, values, start_year=start_year, end_year=end_year,
                             launch_delay_years=launch_delay_years, as_of_year=as_of_year, trimming=trimming,
                             amber_tolerance=amber_tolerance,
                             cmf_platforms=load_text_assumptions()["cmf_platforms"])
    head = calc_milestones_headline(result, values)

    targets = result.targets
    paths = targets[targets["scenario"] == ("trimmed" if apply_trimming else "data")].copy()
    paths["metric"] = paths["metric"].map(METRIC_LABELS).fillna(paths["metric"])
    paths = paths[["year", "metric", "actual", "path", "target", "target_year", "status"]].reset_index(drop=True)
    at = result.at_target.reset_index()
    at["metric"] = at["metric"].map(METRIC_LABELS).fillna(at["metric"])
    gantt = result.gantt.copy()
    gantt["label"] = gantt["member"].str[:3] + " " + gantt["model_name"]
    gantt = gantt.sort_values(["member", "start", "model_id"]).reset_index(drop=True)
    gantt["cut_year"] = gantt["cut_year"].astype("float64")

    lf, pf = at.set_index("metric").iloc[0], at.set_index("metric").iloc[1]
    status = {True: "met", False: "missed"}
    headline_table = pd.DataFrame({"figure": [
        f"New models under leader-follower in {int(lf['target_year'])} (share)",
        "Target: new models under leader-follower (share)",
        f"Volume on common platforms in {int(pf['target_year'])} (share)",
        "Target: volume on common platforms (share)"],
        "value": [float(lf["actual"]), float(lf["target"]), float(pf["actual"]), float(pf["target"])]})
    delay_note = (f" with launches after {as_of_year} delayed by {launch_delay_years} year(s)"
                  if launch_delay_years else "")
    sections = {
        "headline": Section("Headline", (
            f"In {int(lf['target_year'])}{delay_note}, **{lf['actual']:.1%}** of the models launched since "
            f"{start_year} are under leader-follower (target {lf['target']:.0%}: **{status[bool(lf['met'])]}**); "
            f"in {int(pf['target_year'])}, **{pf['actual']:.1%}** of volume is on common platforms (target "
            f"{pf['target']:.0%}: **{status[bool(pf['met'])]}**). The 80% target year is 2024 in the founding brief; "
            "later sources give 2025 (S:101) or 2026 for models (S:109): set `target_platform_year` to test them."),
            table="headline"),
        "paths": Section("Paths against the targets", (
            "Each year's share against a straight path from the first year's value to the target. Status: met "
            "(at or above target), on track (at or above the path), at risk (within "
            f"{amber_tolerance:.0%} below the path), missed (further below, or below target from the target year)."),
            table="paths", plot="plot_share_paths", percent=("actual", "path", "target")),
        "by_year": Section("Year by year", "Active and new models and the shares, with range trimming applied "
                           "in the `_trimmed` columns." if apply_trimming else "Active and new models and the shares.",
                           table="by_year"),
        "delay": Section("Launch-delay scenarios", (
            "The first year each target is met and the share at the target year when every launch after "
            f"{as_of_year} slips by 0-3 years."), table="delay"),
        "timeline": Section("Timeline of launches, ends and cuts", (
            "Each model's years on sale after the delay scenario; an x marks the first year without a model cut "
            "by trimming." if len(gantt) <= TIMELINE_MAX_MODELS else
            f"With {len(gantt):,} models, one bar per model would be unreadable: the bars count the models on "
            "sale each year after the delay scenario, by member; an x marks how many models trimming cuts that "
            "year. The workbook lists every model."), table=None,
            plot="plot_timeline" if len(gantt) <= TIMELINE_MAX_MODELS else "plot_timeline_counts",
            plot_kwargs={"start_year": start_year, "end_year": end_year}, plot_table="timeline"),
    }
    by_year = result.by_year.reset_index()
    tables = {"headline": headline_table, "paths": paths, "by_year": by_year, "delay": result.delay_table,
              "timeline": gantt, "events": result.timeline, "at_target": at}
    _add_provenance("milestones", lineup, frame, tables, sections)
    return Report("milestones", params, lineup, frame, data, dict(head), tables,
                  {"milestones": result, "trimming": trimming}, sections)
