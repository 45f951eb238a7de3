"""The milestones report: the engine's paths and statuses as presentation tables and readings.

Method: :mod:`alliance_fin.engines.milestones`; the object returned: :class:`alliance_fin.present.report.Report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from alliance_fin.engines.milestones import MODEL_SHARE_YEAR, calc_milestones, calc_milestones_headline
from alliance_fin.engines.trimming import calc_trimming
from alliance_fin.inputs.load import load_text_assumptions
from alliance_fin.inputs.resolve import resolve_inputs
from alliance_fin.present.report import (
    Report,
    Section,
    add_provenance,
    describe_lineup,
    mark_rest_of_range,
    rest_of_range_flags,
)

#: Above this many models the timeline counts models per year by member instead of drawing one
#: bar per model (unreadable there, and the figure would outgrow what Agg can draw).
TIMELINE_MAX_MODELS = 60

METRIC_LABELS = {
    "lf_share_new": "new models under leader-follower",
    "lf_share_range": "models on sale under leader-follower",
    "platform_volume_share": "volume on common platforms",
    "platform_model_share": "models on common platforms",
}
#: The two readings of the leader-follower target, each with the words of its source.
LF_READINGS = (
    ("lf_share_new", "lf_share_new_models_2025", "lf_target_met",
     "of the models launched from plan_year to the target year, the share in a leader-follower family",
     '"half of the new Alliance models" (founding article)'),
    ("lf_share_range", "lf_share_range_2025", "lf_range_target_met",
     "of all models on sale in the target year, the share in a leader-follower family",
     '"close to 50% of Alliance models ... by 2025" (27 May 2020 Alliance release, S:1)'),
)
STATUS_WORDS = {"ahead": "ahead", "on_track": "on track", "at_risk": "at risk", "off_track": "off track",
                "met": "met", "missed": "missed"}


def build_milestones_report(*, data_path: str | Path | None = None, scenario: str = "base", currency: str = "EUR",
                            start_year: int = 2020, end_year: int = 2025, plan_year: int = 2020,
                            platform_definition: str = "cmf", launch_delay_years: int = 0,
                            as_of_year: int = 2026, amber_tolerance: float | None = None,
                            target_lf_share: float | None = None, target_lf_year: int | None = None,
                            target_platform_share: float | None = None, target_platform_year: int | None = None,
                            apply_trimming: bool = True, min_volume: int | None = None,
                            migration_rate: float | None = None,
                            lineup: pd.DataFrame | None = None, assumptions: pd.DataFrame | None = None,
                            **extra: Any) -> Report:
    """Compute the milestones report (method: :mod:`alliance_fin.engines.milestones`).

    Parameters
    ----------
    plan_year : int
        First launch year of the "new models" and the year the target paths start from.
    platform_definition : {"cmf", "shared"}
        ``cmf``: the platforms named in the ``cmf_platforms`` assumption; ``shared``: the
        ``common_platform`` flag (any platform two members share).
    launch_delay_years : int
        Years (0-10) added to launches after ``as_of_year``.
    as_of_year : int
        Last year the line-up records as it happened; later launches are plans and may slip.
    apply_trimming : bool
        Apply the default range trimming (``min_volume``, ``migration_rate``) to every path and
        headline figure.

    Returns
    -------
    Report
        Tables: ``headline``, ``readings`` (both leader-follower readings side by side), ``paths``
        (year x metric), ``by_year``, ``delay``, ``timeline`` (Gantt rows), ``events``, ``at_target``.
    """
    currency = str(currency).strip().upper()
    params = dict(scenario=scenario, currency=currency, start_year=start_year, end_year=end_year,
                  plan_year=plan_year, platform_definition=platform_definition,
                  launch_delay_years=launch_delay_years, as_of_year=as_of_year, amber_tolerance=amber_tolerance,
                  target_lf_share=target_lf_share, target_lf_year=target_lf_year,
                  target_platform_share=target_platform_share, target_platform_year=target_platform_year,
                  apply_trimming=apply_trimming, min_volume=min_volume, migration_rate=migration_rate, **extra)
    packaged = not data_path and lineup is None
    inputs = resolve_inputs(data_path, params, lineup=lineup, assumptions=assumptions)
    lineup, values, params = inputs.lineup, inputs.values, inputs.parameters
    amber_tolerance = params["amber_tolerance"]
    trimming = calc_trimming(lineup, values, cut_year=start_year, start_year=start_year,
                             end_year=end_year, reference_year=end_year) if apply_trimming else None
    cmf = load_text_assumptions()["cmf_platforms"]
    result = calc_milestones(lineup, values, start_year=start_year, end_year=end_year,
                             launch_delay_years=launch_delay_years, as_of_year=as_of_year, trimming=trimming,
                             amber_tolerance=amber_tolerance, plan_year=plan_year,
                             platform_definition=platform_definition, cmf_platforms=cmf)
    head = calc_milestones_headline(result, values)
    suffix = "_trimmed" if apply_trimming else ""
    line_up = "trimmed line-up" if apply_trimming else "line-up as given (no trimming)"

    targets = result.targets
    paths = targets[targets["scenario"] == ("trimmed" if apply_trimming else "data")].copy()
    paths["metric"] = paths["metric"].map(METRIC_LABELS).fillna(paths["metric"])
    paths["status"] = paths["status"].map(STATUS_WORDS).fillna(paths["status"])
    paths = paths[["year", "metric", "actual", "path", "target", "target_year", "status"]].reset_index(drop=True)
    at = result.at_target.reset_index()
    at["metric"] = at["metric"].map(METRIC_LABELS).fillna(at["metric"])
    gantt = result.gantt.copy()
    ror = rest_of_range_flags(lineup, gantt["model_id"]).to_numpy()
    gantt["label"] = gantt["member"].str[:3] + " " + gantt["model_name"]
    gantt.loc[ror, "label"] = gantt.loc[ror, "label"] + " (rest of range)"
    gantt = mark_rest_of_range(gantt, lineup)
    gantt = gantt.sort_values(["member", "start", "model_id"]).reset_index(drop=True)
    gantt["cut_year"] = gantt["cut_year"].astype("float64")
    events = mark_rest_of_range(result.timeline, lineup)

    row = result.at_target
    lf, pf = row.loc["lf_share_new"], row.loc["platform_volume_share"]
    lf_year, pf_year = int(lf["target_year"]), int(pf["target_year"])
    met = {True: "met", False: "missed"}
    readings = pd.DataFrame([{
        "reading": label, "what_is_counted": what.replace("plan_year", str(plan_year)),
        "source_quote": quote, "year": lf_year, "share": float(head[key]),
        "target": float(row.loc[metric, "target"]), "status": met[bool(head[met_key])],
    } for metric, key, met_key, what, quote in LF_READINGS
        for label in [METRIC_LABELS[metric]]])
    pdef = ("CMF platforms (the cmf_platforms assumption: " + ", ".join(cmf) + ")" if platform_definition == "cmf"
            else "shared platforms (the common_platform flag: any platform two members share)")
    headline_table = pd.DataFrame({"figure": [
        f"New models under leader-follower in {lf_year}, since {plan_year} (share)",
        f"Models on sale under leader-follower in {lf_year} (share)",
        "Target: models under leader-follower (share)",
        f"Volume on common platforms in {pf_year}, {platform_definition} (share)",
        "Target: volume on common platforms (share)",
        f"Models on common platforms in {MODEL_SHARE_YEAR}, {platform_definition} (share)"],
        "value": [head["lf_share_new_models_2025"], head["lf_share_range_2025"], float(lf["target"]),
                  head["common_platform_volume_share_2024"], float(pf["target"]),
                  head["common_platform_model_share_2026"]]})
    delay_note = (f" with launches after {as_of_year} delayed by {launch_delay_years} year(s)"
                  if launch_delay_years else "")
    data_text = describe_lineup(inputs, packaged)
    trim_text = (f"with the default range trimming applied (cuts from {start_year}, {values['migration_rate']:.0%} "
                 "of a cut model's volume migrating) to every path and headline" if apply_trimming
                 else "without range trimming")
    sections = {
        "headline": Section("Headline", (
            f"**What is counted**: the line-up{delay_note} {trim_text}; model changeovers applied "
            "(a predecessor stops the year before its successor launches); rest-of-range aggregate rows count "
            "in volumes, never as models. The leader-follower target has two readings, shown side by side: "
            f"of the models launched {plan_year}-{lf_year}, **{head['lf_share_new_models_2025']:.1%}** are in a "
            f"leader-follower family (\"half of the new Alliance models\", founding article: "
            f"**{met[head['lf_target_met']]}**); of all models on sale in {lf_year}, "
            f"**{head['lf_share_range_2025']:.1%}** are (\"close to 50% of Alliance models\", 27 May 2020 "
            f"release, S:1: **{met[head['lf_range_target_met']]}**), against {lf['target']:.0%}. In {pf_year}, "
            f"**{head['common_platform_volume_share_2024']:.1%}** of volume is on {pdef} (target "
            f"{pf['target']:.0%}: **{met[head['platform_target_met']]}**); in {MODEL_SHARE_YEAR} "
            f"{head['common_platform_model_share_2026']:.1%} of models are (the 2022 roadmap's measure). "
            f"**Data**: {data_text}; years after {as_of_year} are plans. **Left out**: models the line-up does "
            "not list one by one (rest-of-range rows), and whether a family shares more than a platform. The 80% "
            "target year is 2024 in the founding brief; later sources give 2025 (S:101) or 2026 for models "
            "(S:109): set `target_platform_year` to test them."), table=("headline", "readings"),
            percent=("target",)),
        "paths": Section("Paths against the targets", (
            f"Each year's share ({line_up}) against a path that runs straight from its {plan_year} value up to the "
            "target in the target year, or is the target itself when the plan-year value is already above it. "
            "Status before the target year: ahead (at or above the target), on track (at or above the path), at "
            f"risk (within {amber_tolerance:.0%} below the path), off track (further below); in and after the "
            "target year: met or missed."),
            table="paths", plot="plot_share_paths", percent=("actual", "path", "target")),
        "by_year": Section("Year by year", (
            "Active and new models and the shares of the line-up as given; the `_trimmed` columns with the "
            "range trimming applied (what the headline reads)." if apply_trimming else
            "Active and new models and the shares."), table="by_year"),
        "delay": Section("Launch-delay scenarios", (
            "The first year each target is met and the share at the target year when every launch after "
            f"{as_of_year} slips by 0-3 years, for the line-up as given and trimmed."), table="delay"),
        "timeline": Section("Timeline of launches, ends and cuts", (
            "Each model's years on sale after the delay scenario; an x marks the first year without a model cut "
            "by trimming, and a hatched bar a model cut at its launch (never on sale); rest-of-range aggregates "
            "are labelled as such." if len(gantt) <= TIMELINE_MAX_MODELS else
            f"With {len(gantt):,} rows, one bar per model would be unreadable: the bars count the models on "
            "sale each year after the delay scenario, by member; \"n cut\" over a bar counts the models trimming "
            "removes from that year. The workbook lists every model, rest-of-range aggregates marked."), table=None,
            plot="plot_timeline" if len(gantt) <= TIMELINE_MAX_MODELS else "plot_timeline_counts",
            plot_kwargs={"start_year": start_year, "end_year": end_year}, plot_table="timeline"),
    }
    by_year = result.by_year.reset_index()
    tables = {"headline": headline_table, "readings": readings, "paths": paths, "by_year": by_year,
              "delay": result.delay_table, "timeline": gantt, "events": events, "at_target": at}
    add_provenance("milestones", inputs, tables, sections)
    return Report("milestones", inputs, dict(head), tables,
                  {"milestones": result, "trimming": trimming, "suffix": suffix}, sections)
