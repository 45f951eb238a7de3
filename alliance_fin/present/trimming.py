"""The range-trimming report: the engine's results as presentation tables and readings.

Method: :mod:`alliance_fin.engines.trimming`; the object returned: :class:`alliance_fin.present.report.Report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from alliance_fin.engines.savings import calc_avoided_successor_dev
from alliance_fin.engines.trimming import calc_trimming, calc_trimming_headline
from alliance_fin.inputs.ids import parse_ids
from alliance_fin.inputs.resolve import resolve_inputs
from alliance_fin.inputs.schema import MEMBERS
from alliance_fin.present.report import (
    Report,
    Section,
    add_provenance,
    currency_rate,
    describe_lineup,
    mark_rest_of_range,
)


def _rules(rule_planned: bool, rule_low_volume: bool, rule_overlap: bool) -> tuple[str, ...]:
    flags = {"planned": rule_planned, "low_volume": rule_low_volume, "overlap": rule_overlap}
    return tuple(rule for rule, on in flags.items() if on)


def build_trimming_report(*, data_path: str | Path | None = None, scenario: str = "base", currency: str = "EUR",
                          start_year: int = 2020, end_year: int = 2025, reference_year: int = 2025,
                          min_volume: int | None = None, migration_rate: float | None = None,
                          rule_planned: bool = True, rule_low_volume: bool = True, rule_overlap: bool = True,
                          keep: str = "", cut: str = "", max_saving_rate: float | None = None,
                          follower_diff_share: float | None = None, contribution_margin_rate: float | None = None,
                          lineup: pd.DataFrame | None = None, assumptions: pd.DataFrame | None = None,
                          **extra: Any) -> Report:
    """Compute the range-trimming report (method: :mod:`alliance_fin.engines.trimming`).

    Parameters
    ----------
    reference_year : int
        The one year (within ``start_year..end_year``) the before/after counts and shares are taken in.
    keep, cut : str
        Comma-separated model ids that are never / always cut (they override the rules).
    rule_planned, rule_low_volume, rule_overlap : bool
        Switch each rule on or off.
    max_saving_rate, follower_diff_share : float, optional
        The savings method's cap and follower share: the avoided successor development is the cut
        model's investment under the scheme.
    contribution_margin_rate : float, optional
        Contribution lost per vehicle not sold, as a share of its unit cost.

    Returns
    -------
    Report
        Tables: ``headline``, ``by_reason``, ``cuts``, ``before_after`` (by member), ``counts`` (every
        dimension), ``migration``, ``shares``, ``plans``, ``avoided``, ``value_by_year`` (money in
        ``currency`` millions).
    """
    currency = str(currency).strip().upper()
    params = dict(scenario=scenario, currency=currency, start_year=start_year, end_year=end_year,
                  reference_year=reference_year, min_volume=min_volume, migration_rate=migration_rate,
                  rule_planned=rule_planned, rule_low_volume=rule_low_volume, rule_overlap=rule_overlap,
                  keep=keep, cut=cut, max_saving_rate=max_saving_rate, follower_diff_share=follower_diff_share,
                  contribution_margin_rate=contribution_margin_rate, **extra)
    packaged = not data_path and lineup is None
    inputs = resolve_inputs(data_path, params, lineup=lineup, assumptions=assumptions)
    lineup, values, params = inputs.lineup, inputs.values, inputs.parameters
    min_volume, migration_rate = params["min_volume"], params["migration_rate"]
    margin = float(values["contribution_margin_rate"])
    result = calc_trimming(lineup, values, min_volume=min_volume, migration_rate=migration_rate,
                           rules=_rules(rule_planned, rule_low_volume, rule_overlap), keep=parse_ids(keep),
                           cut=parse_ids(cut), cut_year=start_year, reference_year=reference_year,
                           start_year=start_year, end_year=end_year)
    head = calc_trimming_headline(result)
    rate = currency_rate(currency, values)
    unit = f"{currency} m"
    ref = result.reference_year

    models = result.models
    cut_models = models[models["cut"]].reset_index()
    moves = result.moves.set_index("from_model_id")
    cuts = cut_models[["model_id", "member", "model_name", "segment", "region", "reason", "annual_volume",
                       "cut_from_year", "has_successor", "on_sale_before", "on_sale_after"]].copy()
    cuts = cuts.rename(columns={"on_sale_before": f"on_sale_{ref}_before", "on_sale_after": f"on_sale_{ref}_after"})
    cuts["moves_to"] = cuts["model_id"].map(moves["to_model_id"]).fillna("")
    cuts["migrated_volume"] = cuts["model_id"].map(moves["migrated_volume"]).fillna(0.0)
    cuts = cuts.sort_values(["reason", "member", "model_id"]).reset_index(drop=True)
    cuts = mark_rest_of_range(cuts, lineup)

    gone = models["cut"] & models["on_sale_before"] & ~models["on_sale_after"]
    by_reason = (models[gone & ~models["rest_of_range"]].groupby("reason")
                 .agg(models_cut=("annual_volume", "size"), volume_cut=("volume_ref_before", "sum"))
                 .reindex(["manual", "planned", "low_volume", "overlap"]).dropna(how="all"))
    by_reason["models_cut"] = by_reason["models_cut"].astype("int64")
    all_cut = models[models["cut"]].groupby("reason").size()
    by_reason["cut_any_year"] = all_cut.reindex(by_reason.index, fill_value=0).astype("int64")
    by_reason = by_reason.rename_axis("reason").reset_index()

    ba = result.before_after
    by_member = (ba[ba["dimension"] == "member"][["value", "before", "after", "change"]]
                 .rename(columns={"value": "member"}))
    # Renault, Nissan, Mitsubishi (then any other), as every other member table, chart and the workbook
    rank = {m: i for i, m in enumerate(MEMBERS)}
    by_member = by_member.sort_values("member", key=lambda s: s.map(lambda m: (rank.get(m, len(rank)), m)),
                                      kind="stable").reset_index(drop=True)
    avoided = result.avoided_dev.reset_index()
    avoided = avoided[["model_id", "member", "segment", "reason", "has_successor", "avoided_dev_eur_m",
                       "avoided_dev_window_eur_m", "lost_contribution_eur_m_per_year", "lost_years",
                       "lost_contribution_window_eur_m", "net_benefit_window_eur_m"]]
    for col in ("avoided_dev_eur_m", "avoided_dev_window_eur_m", "lost_contribution_eur_m_per_year",
                "lost_contribution_window_eur_m", "net_benefit_window_eur_m"):
        avoided[col.replace("_eur_m", "")] = avoided.pop(col) * rate
    avoided = mark_rest_of_range(avoided, lineup)
    value_by_year = (result.value_by_year * rate).rename(columns=lambda c: c.replace("_eur_m", "")).reset_index()
    shares = result.shares.assign(metric=lambda f: f["metric"].str.replace("_", " "))
    migrated = float(result.moves["migrated_volume"].sum())
    lost = float(result.moves["lost_volume"].sum())
    avoided_window = float(result.value_by_year["avoided_dev_eur_m"].sum()) * rate
    lost_window = float(result.value_by_year["lost_contribution_eur_m"].sum()) * rate
    net = head["net_trimming_benefit_eur_m"] * rate
    n_without = int((~result.avoided_dev["has_successor"]).sum())
    headline_table = pd.DataFrame({"figure": [
        f"Models on sale in {ref} before", f"Models on sale in {ref} after",
        f"Volume on common platforms in {ref} before (share)", f"Volume on common platforms in {ref} after (share)",
        "Volume migrated (units per year)", "Volume lost (units per year)",
        f"Successor development avoided {start_year}-{end_year} ({unit})",
        f"Contribution lost {start_year}-{end_year} ({unit})",
        f"Net trimming benefit {start_year}-{end_year} ({unit})"],
        "value": [head["models_before"], head["models_after"], head["common_platform_volume_share_before"],
                  head["common_platform_volume_share_after"], migrated, lost, avoided_window, lost_window, net]})
    reasons = by_reason.set_index("reason")["models_cut"]
    reasons.index = reasons.index.str.replace("_", " ")
    for frame in (by_reason, cuts, avoided):  # reasons in words (the workbook keeps the engine's codes)
        frame["reason"] = frame["reason"].str.replace("_", " ")
    data_text = describe_lineup(inputs, packaged)
    sections = {
        "headline": Section("Headline", (
            f"**What is counted**: the models on sale in **{ref}** (after model changeovers; rest-of-range "
            f"aggregate rows count in volumes, never as models) with and without the trimming. Trimming takes "
            f"that year's line-up from **{head['models_before']} to {head['models_after']} models** "
            f"({', '.join(f'{n} {r}' for r, n in reasons.items()) or 'no cuts'} gone by {ref}); the share of "
            f"that year's volume on common platforms moves from {head['common_platform_volume_share_before']:.1%} "
            f"to **{head['common_platform_volume_share_after']:.1%}**. Over {start_year}-{end_year} the cuts "
            f"avoid {avoided_window:,.0f} {unit} of successor development (at each cut model's investment "
            f"under the scheme, and only for the {n_without} cut models no model replaces) and lose "
            f"{lost_window:,.0f} {unit} of contribution ({margin:.0%} of unit cost on the "
            f"{lost:,.0f} units a year that do not migrate): a net benefit of **{net:,.0f} {unit}**. "
            f"**Data**: {data_text}. Rules on: {', '.join(result.rules) or 'none'}; low-volume threshold "
            f"{result.min_volume:,.0f} units per year; {result.migration_rate:.0%} of a cut model's volume "
            "moves to a retained sibling. **Left out**: the leader-follower savings (the savings report), "
            "restructuring and plant costs of the cuts, and any price or mix effect on the models kept."),
            table="headline"),
        "by_reason": Section(f"Cuts by reason in {ref}", (
            f"Models on sale in {ref} without the trimming that the trimming removes by then, and their "
            f"{ref} volume, per reason; `cut any year` counts every cut model, including those gone before "
            f"{ref} or launched after it."), table="by_reason"),
        "cuts": Section("Every cut and its reason", (
            "Reasons, first match wins: manual (keep/cut lists), planned (the data's `trim` = yes), low volume "
            "(below the threshold, leaders exempt), overlap (off the common platforms where another member's twin "
            f"on a common platform sells in the same segment and region). `cut from year` is the first year "
            f"without the model; the `on sale {ref}` columns say whether it counts in the {ref} figures."),
            table="cuts"),
        "before_after": Section(f"Line-up before and after, {ref}",
                                f"Models per member on sale in {ref} before and after trimming.",
                                table="before_after", plot="plot_counts_before_after"),
        "migration": Section("Where the volume goes", (
            f"{migrated:,.0f} units per year move to retained siblings (same family first, then same member, then "
            f"any member, in the same segment and region); {lost:,.0f} are lost."), table="migration"),
        "shares": Section(f"Common platforms before and after, {ref}",
                          f"Shares of models and of volume on common platforms in {ref}.",
                          table="shares", percent=("before", "after", "change")),
        "plans": Section("Against the published plans", (
            "The members' own plans, for context (sources in the workbook): Nissan NEXT cut its global line-up from "
            "69 to fewer than 55 models (about -20%, S:110); Renaulution halves Renault's platforms from 6 to 3 "
            f"(S:111). The line-up counts are models on sale in {ref}, before and after this trimming."),
            table="plans"),
        "avoided": Section("Successor development avoided and contribution lost", (
            f"A cut model that no model `replaces` needs no successor: the successor would have cost the cut "
            "model's investment under the scheme (a follower's is small), spent over the development years "
            f"before it would have launched; only the part in {start_year}-{end_year} counts. A cut model with a "
            "successor in the line-up avoids nothing. Set against it, the contribution lost on the volume that "
            f"does not migrate ({margin:.0%} of unit cost per vehicle, an assumption). Counted apart from the "
            "leader-follower savings."), table=("avoided", "value_by_year")),
    }
    tables = {"headline": headline_table, "by_reason": by_reason, "cuts": cuts, "before_after": by_member,
              "counts": ba.rename(columns={"value": "group"}), "migration": result.moves, "shares": shares,
              "plans": result.plans.rename(columns={"published_before": "published_count_before",
                                                    "published_after": "published_count_after"}),
              "avoided": avoided, "value_by_year": value_by_year}
    add_provenance("range_trimming", inputs, tables, sections)
    cut_ids = list(models.index[models["cut"]])
    scheme_dev = calc_avoided_successor_dev(lineup, values, cut_ids)["scheme_dev_eur_m"] if cut_ids \
        else pd.Series(dtype=float)
    return Report("range_trimming", inputs, dict(head), tables,
                  {"trimming": result, "scheme_dev_eur_m": scheme_dev}, sections)
