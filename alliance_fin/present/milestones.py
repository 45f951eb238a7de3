"""The milestones report: the engine's paths and statuses as presentation tables and readings.

Method: :mod:`alliance_fin.engines.milestones`; the object returned: :class:`alliance_fin.present.report.Report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from alliance_fin.engines.milestones import calc_milestones, calc_milestones_headline
from alliance_fin.engines.trimming import calc_trimming
from alliance_fin.inputs.load import load_text_assumptions
from alliance_fin.inputs.resolve import resolve_inputs
from alliance_fin.present.report import Report, Section, add_provenance

#: Above this many models the timeline counts models per year by member instead of drawing one
#: bar per model (unreadable there, and the figure would outgrow what Agg can draw).
TIMELINE_MAX_MODELS = 60

METRIC_LABELS = {
    "lf_share_new": "new models under leader-follower",
    "platform_volume_share": "volume on common platforms",
}


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
    inputs = resolve_inputs(data_path, params, lineup=lineup, assumptions=assumptions)
    lineup, values, params = inputs.lineup, inputs.values, inputs.parameters
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
    add_provenance("milestones", inputs, tables, sections)
    return Report("milestones", inputs, dict(head), tables,
                  {"milestones": result, "trimming": trimming}, sections)
