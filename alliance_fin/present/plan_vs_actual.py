"""The plan-against-outcome report: what the 27 May 2020 plan promised and what happened.

Method: :mod:`alliance_fin.engines.plan_vs_actual`; the object returned:
:class:`alliance_fin.present.report.Report`. The plan is the data file's ``plan`` sheet (the
packaged ``plan.csv`` for the packaged data); the dated events are the packaged ``events.csv``
with each source's kind from ``sources.csv``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from alliance_fin import paths
from alliance_fin.engines.plan_vs_actual import CAUSES, calc_plan_vs_actual, calc_planned_models_realisation
from alliance_fin.inputs.load import load_sources, load_text_assumptions
from alliance_fin.inputs.plan import read_plan
from alliance_fin.inputs.resolve import resolve_inputs
from alliance_fin.present.report import Report, Section, add_provenance, currency_rate

__all__ = ["build_events_table", "build_plan_vs_actual_report"]

EVENTS_CSV = paths.DATA_DIR / "events.csv"
_KEY = re.compile(r"S:\d+")
METRIC_LABELS = {
    "lf_share_new": "new models under leader-follower (founding article)",
    "lf_share_range": "models on sale under leader-follower (27 May 2020 release)",
    "platform_volume_share": "volume on common platforms",
    "platform_model_share": "models on common platforms",
}


# ---------------------------------------------------------------------------- events
def build_events_table() -> pd.DataFrame:
    """The dated events that changed the plan, each with its sources and their kind.

    Returns
    -------
    DataFrame
        RangeIndex, by date: ``date`` (ISO text), ``event``, ``effect``, ``source`` (keys
        ``S:n``), ``source_kind`` (the kind of each key in ``sources.csv``, same order), ``url``
        (the first source's address).
    """
    events = pd.read_csv(EVENTS_CSV, dtype=str, keep_default_na=False)
    sources = load_sources()
    keys = events["source"].map(_KEY.findall)
    kind = sources["kind"] if "kind" in sources.columns else pd.Series("", index=sources.index)
    events["source_kind"] = ["; ".join(kind.get(k, "unknown") for k in ks) for ks in keys]
    events["url"] = [sources["url"].get(ks[0], "") if ks else "" for ks in keys]
    return events.sort_values("date", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------- the report
def _data_label(inputs) -> str:
    path = str(inputs.data.get("path", ""))
    if path == str(paths.LINEUP_CSV):
        return "the packaged illustrative line-up (lineup.csv as it turned out, plan.csv as planned)"
    return f"{Path(path).name} (sheets models and plan)" if path != "in memory" else "line-ups given in memory"


def build_plan_vs_actual_report(*, data_path: str | Path | None = None, scenario: str = "base", currency: str = "EUR",
                                start_year: int = 2020, end_year: int = 2025, as_of_year: int = 2026,
                                baseline: str = "plan", plan_year: int = 2020, platform_definition: str = "cmf",
                                target_lf_share: float | None = None, target_lf_year: int | None = None,
                                target_platform_share: float | None = None, target_platform_year: int | None = None,
                                lineup: pd.DataFrame | None = None, plan: pd.DataFrame | None = None,
                                assumptions: pd.DataFrame | None = None, **extra: Any) -> Report:
    """Compute the plan-against-outcome report (method: :mod:`alliance_fin.engines.plan_vs_actual`).

    Parameters
    ----------
    data_path : path-like, optional
        ``.xlsx`` with sheets ``models`` (the outcome) and ``plan``; empty for the packaged data.
    lineup, plan : DataFrame, optional
        In-memory outcome and plan line-ups (they win over ``data_path``; without ``plan`` the
        data file's plan, or the packaged one, is used).

    Returns
    -------
    Report
        Tables: ``headline``, ``models``, ``bridge``, ``families``, ``at_target``, ``targets``,
        ``events`` and the provenance tables (money in ``currency`` millions).
    """
    params = dict(scenario=scenario, currency=currency, start_year=start_year, end_year=end_year,
                  as_of_year=as_of_year, baseline=baseline, plan_year=plan_year,
                  platform_definition=platform_definition, target_lf_share=target_lf_share,
                  target_lf_year=target_lf_year, target_platform_share=target_platform_share,
                  target_platform_year=target_platform_year, **extra)
    inputs = resolve_inputs(data_path, params, lineup=lineup, assumptions=assumptions)
    values = inputs.values
    if plan is None:
        plan = read_plan(data_path, inputs.base_assumptions)
    result = calc_plan_vs_actual(plan, inputs.lineup, values, start_year=start_year, end_year=end_year,
                                 baseline=baseline, plan_year=plan_year, as_of_year=as_of_year,
                                 platform_definition=platform_definition,
                                 cmf_platforms=load_text_assumptions().get("cmf_platforms"))
    hl = result.headline
    rate = currency_rate(currency, values)
    unit = f"{currency} m"

    models = result.models.reset_index()
    money = ["planned_saving_eur_m", "actual_saving_eur_m", "variance_eur_m", *(k for k, _ in CAUSES),
             "timing_eur_m", "permanent_eur_m"]
    for col in money:
        models[col] = models[col] * rate
    models = models.rename(columns={c: c.removesuffix("_eur_m") for c in money})
    models["future_launch"] = models["actual_launch_year"].fillna(models["planned_launch_year"]) > as_of_year
    models = models[["model_id", "member", "model_name", "status", "variance_type", "delay_years",
                     "planned_launch_year", "actual_launch_year", "planned_family_id", "actual_family_id",
                     "planned_role", "actual_role", "planned_volume", "actual_volume", "planned_saving",
                     "actual_saving", "variance", *(k for k, _ in CAUSES), "timing", "permanent", "changes",
                     "rest_of_range", "future_launch"]]
    # what changed first, so that it fits the rows the HTML shows (the workbook lists every model)
    rank = {s: i for i, s in enumerate(("cancelled", "delayed", "advanced", "regrouped", "revised", "added",
                                        "as_planned"))}
    models = models.sort_values("status", key=lambda s: s.map(rank), kind="stable", ignore_index=True)
    bridge = result.bridge.assign(value=result.bridge["value_eur_m"] * rate,
                                  cumulative=result.bridge["cumulative_eur_m"] * rate)
    bridge = bridge[["step", "label", "value", "cumulative", "kind"]]
    families = result.families.reset_index()
    for col in ("planned_saving_eur_m", "actual_saving_eur_m"):
        families[col.removesuffix("_eur_m")] = families.pop(col) * rate
    at = result.at_target.reset_index()
    at.insert(1, "reading", at["metric"].map(METRIC_LABELS))
    wide = result.targets.pivot_table(index=["metric", "year"], columns="lineup",
                                      values=["actual", "status"], aggfunc="first")
    targets = pd.DataFrame({
        "metric": [m for m, _ in wide.index], "year": [int(y) for _, y in wide.index],
        "plan": wide[("actual", "plan")].to_numpy(float), "plan_status": wide[("status", "plan")].to_numpy(),
        "outcome": wide[("actual", "outcome")].to_numpy(float),
        "outcome_status": wide[("status", "outcome")].to_numpy()})
    goal = result.targets.drop_duplicates("metric").set_index("metric")["target"]
    targets.insert(2, "target", targets["metric"].map(goal).to_numpy(float))
    targets.insert(1, "reading", targets["metric"].map(METRIC_LABELS).fillna(targets["metric"]))
    order = {m: i for i, m in enumerate(METRIC_LABELS)}
    targets = targets.sort_values(["metric", "year"], key=lambda s: s.map(order) if s.name == "metric" else s,
                                  ignore_index=True)
    events = build_events_table()
    # the shares drawn: the range reading of leader-follower and the platform share, on each line-up
    drawn = result.targets[result.targets["metric"].isin(["lf_share_range", "platform_volume_share"])]
    paths = drawn.assign(metric=drawn["metric"].map({"lf_share_range": "leader-follower share of models",
                                                    "platform_volume_share": "common-platform volume share"})
                         + " (" + drawn["lineup"] + ")", status=drawn["status"].str.replace("_", " "))
    paths = paths[["year", "metric", "actual", "path", "target", "target_year", "status"]].reset_index(drop=True)
    pf_last = result.targets[(result.targets["metric"] == "platform_volume_share")
                             & (result.targets["year"] == end_year)].set_index("lineup")["actual"]
    last_platform = (f" (in {end_year}: {pf_last['plan']:.1%} planned, {pf_last['outcome']:.1%} actual)"
                     if end_year != int(result.at_target.at["platform_volume_share", "target_year"])
                     and len(pf_last) == 2 else "")

    step = result.bridge.set_index("step")["value_eur_m"] * rate
    timing = float(step["delays"])
    lf, pf = result.at_target.loc["lf_share_range"], result.at_target.loc["platform_volume_share"]
    new = result.at_target.loc["lf_share_new"]
    base_text = (f"the plan baseline (a model counts only when its family or shared-platform programme was "
                 f"decided in {plan_year} or later)" if baseline == "plan" else
                 "the standalone baseline (every model against developing it alone)")
    planned_models, planned_rate = calc_planned_models_realisation(result.bridge)
    pct, planned_pct = ("n/a" if r != r else f"{r:.0%}" for r in (hl["savings_realisation_rate"], planned_rate))
    headline_reading = (
        f"Counting modelled development, production and other savings over {start_year}-{end_year}, against "
        f"{base_text}, on {_data_label(inputs)}: the line-up planned on 27 May 2020 would have saved "
        f"**{hl['savings_plan_eur_m'] * rate:,.0f} {unit}**; the line-up as it turned out (recorded to "
        f"{as_of_year}) saves **{hl['savings_actual_eur_m'] * rate:,.0f} {unit}**, a realisation rate of "
        f"**{pct}**, models added after the plan included. {hl['models_delayed']} planned models launched "
        f"late, {hl['models_cancelled']} were cancelled and {hl['models_added']} were added after the plan "
        f"(aggregate rest-of-range rows not counted). Cancellations change the total by "
        f"{step['cancellations']:,.0f} {unit}, delays by {timing:,.0f} (timing: savings moved beyond "
        f"{end_year}), regroupings by {step['regroupings']:,.0f} and additions by {step['additions']:,.0f}. "
        f"Like for like, the planned models as they turned out, priced without the added ones (the bridge "
        f"before its additions), save **{planned_models * rate:,.0f} {unit}**: **{planned_pct}** of the plan. "
        "These are the package's modelled savings (investment and unit cost per segment are assumptions), not "
        "figures the Alliance reported; the line-ups are illustrative and later launches are plans that may "
        "still slip.\n\n"
        f"Leader-follower in {int(lf['target_year'])}: {lf['plan']:.1%} of the models on sale in the plan, "
        f"**{lf['outcome']:.1%}** in the outcome, against close to {lf['target']:.0%} (27 May 2020 release, "
        f"S:1); of the models launched from {plan_year}, {new['plan']:.1%} planned and **{new['outcome']:.1%}** "
        f"actual (founding article's \"half of the new models\"). Volume on common platforms "
        f"({platform_definition} definition) in {int(pf['target_year'])}: {pf['plan']:.1%} planned, "
        f"**{pf['outcome']:.1%}** actual{last_platform}, against {pf['target']:.0%} (S:101; later sources give "
        "2025 or 2026, S:109).")
    head_table = pd.DataFrame({"figure": [
        f"Planned savings {start_year}-{end_year} ({unit})",
        f"Realised savings {start_year}-{end_year}, added models included ({unit})",
        "Savings realisation rate, added models included (share)",
        f"Planned models as realised, without the added ones, {start_year}-{end_year} ({unit})",
        "Planned models' realisation rate, like for like (share)", "Models delayed", "Models cancelled",
        "Models added",
        f"Leader-follower share of models on sale {int(lf['target_year'])}, plan (share)",
        f"Leader-follower share of models on sale {int(lf['target_year'])}, outcome (share)",
        f"Common-platform volume share {int(pf['target_year'])}, plan (share)",
        f"Common-platform volume share {int(pf['target_year'])}, outcome (share)"],
        "value": [hl["savings_plan_eur_m"] * rate, hl["savings_actual_eur_m"] * rate,
                  hl["savings_realisation_rate"], planned_models * rate, planned_rate, hl["models_delayed"],
                  hl["models_cancelled"], hl["models_added"], hl["lf_share_range_2025_plan"], hl["lf_share_range_2025_actual"],
                  hl["common_platform_volume_share_2024_plan"], hl["common_platform_volume_share_2024_actual"]]})
    counts = result.models["status"].value_counts()
    sections = {
        "headline": Section("Headline", headline_reading, table="headline"),
        "models": Section("Model by model", (
            "Every model of the plan and of the outcome, matched by model_id: "
            + ", ".join(f"{counts.get(s, 0)} {s.replace('_', ' ')}" for s in
                        ("as_planned", "delayed", "advanced", "regrouped", "revised", "cancelled", "added"))
            + ". `regrouped` is a changed family or role, `revised` another changed value (end year, successor, "
            "volume, platform); `timing` variances are delays only, the rest `permanent`. The cause columns give "
            f"each model's part of each bridge step ({unit}, window savings); `future_launch` marks launches "
            f"after {as_of_year}, still plans. Changed models come first."), table="models",
            units={"volume_changes": "money"}),
        "savings": Section("Savings planned against realised", (
            f"From the plan's {hl['savings_plan_eur_m'] * rate:,.0f} {unit} to the outcome's "
            f"{hl['savings_actual_eur_m'] * rate:,.0f} {unit} by cause, each cause the change of the window total "
            "when it is applied to the line-up, in this order: cancellations, delays, regroupings, volume "
            "changes, other changes, additions. The causes add up exactly to the difference; a cancelled or "
            "regrouped model's effect on its family's rate counts with it. Families below: the uncapped "
            "investment reduction on each line-up."), table=("bridge", "families"),
            plot="plot_savings_bridge", plot_table="bridge"),
        "targets": Section("The targets, planned against actual", (
            "Both leader-follower readings and the common-platform volume share, year by year on each line-up, "
            "with status against the straight path from the plan-year value to the target (met / missed from "
            "the target year on). Trimming is not applied. The chart draws the models-on-sale reading and the "
            "platform share on each line-up (dashed: the path; star: the target)."), table=("at_target", "targets"),
            percent=("target", "plan", "outcome"), units={"metric": "hidden"}, plot="plot_share_paths",
            plot_table="target_paths"),
        "events": Section("What happened around it", (
            f"{len(events)} dated events that changed the plan, each with its sources (keys of sources.csv) "
            "and their kind: primary (a member's own document), press, or secondary."), table="events"),
    }
    tables = {"headline": head_table, "models": models, "bridge": bridge, "families": families,
              "at_target": at, "targets": targets, "target_paths": paths, "events": events}
    add_provenance("plan_vs_actual", inputs, tables, sections)
    _add_event_sources(tables, events)
    checks = {k: float(v) for k, v in hl.items()}
    checks.update({f"bridge_{row.step}_eur_m": float(row.value_eur_m) for row in result.bridge.itertuples()})
    checks.update(savings_planned_models_eur_m=planned_models, savings_realisation_rate_planned_models=planned_rate)
    return Report("plan_vs_actual", inputs, dict(hl), tables,
                  {"plan_vs_actual": result, "plan": plan, "checks": checks}, sections)


def _add_event_sources(tables: dict[str, pd.DataFrame], events: pd.DataFrame) -> None:
    """The sources table lists the events' sources too."""
    keys = set(_KEY.findall(" ".join(events["source"]))) | set(tables["sources"]["key"])
    sources = load_sources().reset_index()
    sources = sources[sources["key"].isin(keys)]
    sources = sources.assign(n=sources["key"].str[2:].astype(int)).sort_values("n").drop(columns="n")
    tables["sources"] = sources.reset_index(drop=True)
