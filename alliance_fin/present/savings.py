"""The savings report: the engines' results as presentation tables, readings and checks.

Method: :mod:`alliance_fin.engines.savings`; the object returned: :class:`alliance_fin.present.report.Report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from alliance_fin.engines import savings as sv
from alliance_fin.engines import sensitivity
from alliance_fin.inputs.load import load_families
from alliance_fin.inputs.resolve import resolve_inputs
from alliance_fin.present.report import (
    Report,
    Section,
    add_provenance,
    currency_rate,
    describe_lineup,
    mark_rest_of_range,
    rest_of_range_flags,
)
from alliance_fin.present.units import format_value
from alliance_fin.registry import label


def build_tornado_table(tornado: pd.DataFrame, assumptions: pd.DataFrame, rate: float) -> pd.DataFrame:
    """The tornado for reading: readable labels, values in each assumption's unit, totals in one currency.

    Parameters
    ----------
    tornado : DataFrame
        From :func:`alliance_fin.engines.sensitivity.calc_tornado` (``key``, ``base``, ``low_value``,
        ``high_value``, ``total_low_eur_m``, ``total_high_eur_m``, ``range_eur_m``).
    assumptions : DataFrame
        The assumptions in force (index key; ``unit``).
    rate : float
        Units of the report currency per EUR.

    Returns
    -------
    DataFrame
        RangeIndex, widest range first: ``assumption`` (label), ``key``, ``low``, ``base``, ``high``
        (text in the assumption's unit: a rate at its own precision, ``20,000 EUR``), ``total_low``,
        ``total_high``, ``range`` (window savings, report currency millions).
    """
    unit = tornado["key"].map(assumptions["unit"]).fillna("")
    return pd.DataFrame({
        "assumption": tornado["key"].map(label),
        "key": tornado["key"],
        "low": [format_value(v, u) for v, u in zip(tornado["low_value"], unit, strict=True)],
        "base": [format_value(v, u) for v, u in zip(tornado["base"], unit, strict=True)],
        "high": [format_value(v, u) for v, u in zip(tornado["high_value"], unit, strict=True)],
        "total_low": tornado["total_low_eur_m"] * rate,
        "total_high": tornado["total_high_eur_m"] * rate,
        "range": tornado["range_eur_m"] * rate,
    }).reset_index(drop=True)


def build_savings_report(*, data_path: str | Path | None = None, scenario: str = "base", currency: str = "EUR",
                         start_year: int = 2020, end_year: int = 2025, baseline: str = "plan",
                         plan_year: int = 2020, max_saving_rate: float | None = None,
                         follower_diff_share: float | None = None, discount_rate: float | None = None,
                         npv_timing: str = "mid", cost_to_achieve_rate: float | None = None,
                         lineup: pd.DataFrame | None = None, assumptions: pd.DataFrame | None = None,
                         **extra: Any) -> Report:
    """Compute the savings report (see :mod:`alliance_fin.engines.savings` for the method).

    Parameters
    ----------
    baseline : {"plan", "standalone"}
        ``plan`` counts a model's saving only when its ``scheme_since >= plan_year``;
        ``standalone`` counts every model against standalone development. Both totals are shown.
    plan_year : int
        Year of the leader-follower plan (27 May 2020).
    npv_timing : {"mid", "end", "start"}
        Where in its year a flow is discounted; the NPV is valued at 1 January of ``start_year``.

    Returns
    -------
    Report
        Tables: ``headline``, ``baselines``, ``by_member``, ``by_member_category``, ``by_family``,
        ``by_category``, ``by_year``, ``waterfall``, ``sensitivity``, ``tornado``, ``models``
        (money in ``currency`` millions).
    """
    currency = str(currency).strip().upper()
    params = dict(scenario=scenario, currency=currency, start_year=start_year, end_year=end_year,
                  baseline=baseline, plan_year=plan_year, max_saving_rate=max_saving_rate,
                  follower_diff_share=follower_diff_share, discount_rate=discount_rate,
                  npv_timing=npv_timing, cost_to_achieve_rate=cost_to_achieve_rate, **extra)
    packaged = not data_path and lineup is None
    inputs = resolve_inputs(data_path, params, lineup=lineup, assumptions=assumptions)
    lineup, values, params = inputs.lineup, inputs.values, inputs.parameters
    max_saving_rate, follower_diff_share, discount_rate, cta_rate = (
        params["max_saving_rate"], params["follower_diff_share"], params["discount_rate"],
        float(values.get("cost_to_achieve_rate", 0.0)))
    result = sv.calc_savings(lineup, values, start_year=start_year, end_year=end_year, baseline=baseline,
                             plan_year=plan_year, npv_timing=npv_timing, currency=currency)
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

    grid = conv(sensitivity.calc_sensitivity_grid(lineup, values, start_year=start_year, end_year=end_year,
                                                  baseline=baseline, plan_year=plan_year))
    tornado_eur = sensitivity.calc_tornado(lineup, values, start_year=start_year, end_year=end_year,
                                           baseline=baseline, plan_year=plan_year).head(10)
    tornado = build_tornado_table(tornado_eur, inputs.assumptions, rate)

    window = by_year.groupby("model_id", sort=False)[["saving_eur_m", "standalone_saving_eur_m"]].sum()
    model_table = models.reset_index()[["model_id", "member", "model_name", "family_id", "role", "scheme",
                                        "launch_year", "effective_end_year", "scheme_since",
                                        "scheme_since_derived", "in_plan", "standalone_dev_eur_m",
                                        "dev_saving_rate", "dev_saving_eur_m", "annual_production_saving_eur_m",
                                        "annual_other_saving_eur_m"]]
    model_table = model_table.rename(columns={"in_plan": "counted_under_plan"})
    model_table["window_saving_counted"] = conv(model_table["model_id"].map(window["saving_eur_m"]).fillna(0.0))
    model_table["window_saving_standalone"] = conv(
        model_table["model_id"].map(window["standalone_saving_eur_m"]).fillna(0.0))
    for col in ("standalone_dev_eur_m", "dev_saving_eur_m", "annual_production_saving_eur_m",
                "annual_other_saving_eur_m"):
        model_table[col.replace("_eur_m", "")] = conv(model_table.pop(col))
    model_table = mark_rest_of_range(model_table, lineup)

    hl = headline
    standalone_total = float(by_year["standalone_saving_eur_m"].sum())
    plan_total = standalone_total - hl["pre_plan_savings_eur_m"]
    development = float(by_year.loc[by_year["category"].eq("development"), "saving_eur_m"].sum())
    cost_to_achieve = hl["total_savings_eur_m"] - hl["net_savings_eur_m"]
    pre_plan_models = int((~models["in_plan"]).sum())
    derived = int(models["scheme_since_derived"].sum())
    n_models = int((~rest_of_range_flags(lineup, models.index)).sum())
    n_aggregates = int(len(models) - n_models)
    base_text = (f"plan baseline: a model counts only when its family or shared-platform programme was "
                 f"decided in or after {plan_year} (scheme_since >= {plan_year})" if baseline == "plan" else
                 "standalone baseline: every model counts against standalone development, including "
                 f"twins decided before the {plan_year} plan")
    base_note = f"Savings under the {base_text}"
    timing = {"mid": "mid-year", "end": "end of year", "start": "start of year"}[npv_timing]
    npv_text = (f"NPV at {discount_rate:.0%} a year, valued at 1 January {start_year}, each year's flow "
                f"discounted at {timing} ({npv_timing})")
    data_text = describe_lineup(inputs, packaged)
    top = by_member.index[0] if len(by_member) else "-"
    big_family = by_family.index[0] if len(by_family) else "-"
    sections = {
        "headline": Section("Headline", (
            f"**What is counted**: development, production and other cost savings of the leader-follower "
            f"scheme over {start_year}-{end_year}, against the {base_text}. On that baseline the scheme saves "
            f"**{hl['total_savings_report_ccy_m']:,.0f} {unit}** ({npv_text}: {conv(hl['npv_savings_eur_m']):,.0f} "
            f"{unit}); net of a cost to achieve of {cta_rate:.0%} of the development saving "
            f"({conv(cost_to_achieve):,.0f} {unit}) it is **{conv(hl['net_savings_eur_m']):,.0f} {unit}**. "
            f"Against every model standalone the window total would be {conv(standalone_total):,.0f} {unit}: "
            f"**{conv(hl['pre_plan_savings_eur_m']):,.0f} {unit}** of it comes from {pre_plan_models} models "
            f"whose twins or shared platforms were decided before {plan_year} and is left out of the plan's "
            f"credit. Development investment falls by {hl['savings_pct']:.1%} across the line-up, against a "
            f"ceiling of {max_saving_rate:.0%} per model (\"up to 40%\", 27 May 2020 announcement, S:1). "
            f"**Data**: {data_text}, {n_models} models and {n_aggregates} rest-of-range aggregate rows "
            f"(not trimmed: the range-trimming cuts are not applied here); "
            f"{derived} scheme_since years are derived as launch - {int(values['dev_lead_years'])} years. "
            "**Left out**: the trimming's avoided successor development, synergies outside development and "
            "production (purchasing scale, logistics beyond the other-costs rate), and any saving after "
            f"{end_year}; costs are assumptions by segment, calibrated to member volumes, not to the members' "
            "own accounts."), table=("headline", "baselines"), note=base_note,
            captions={"baselines": f"Both baselines over {start_year}-{end_year}; \"chosen\" marks the one the "
                                   "headline uses"}),
        "by_member": Section("Savings by member", (
            f"{top} gains most. Development savings fall in the {int(values['dev_lead_years'])} years before a "
            "launch; production and other savings accrue every year a model is on sale."),
            table="by_member", plot="plot_savings_by_member", plot_table="by_member_category", note=base_note),
        "by_family": Section("Savings by twin family", (
            f"Family {big_family} saves most in the window. `reduction_rate` is the family's uncapped investment "
            f"reduction 1 - (D_leader + {follower_diff_share:.0%} x sum D_followers) / sum D; `capped_rate` is "
            f"after the {max_saving_rate:.0%} ceiling; `window_saving` is the family's saving in the window under "
            f"the chosen baseline."), table="by_family", note=base_note),
        "by_year": Section("Savings by year and category", (
            f"Cumulative savings reach {cat['cumulative'].iloc[-1]:,.0f} {unit} by {end_year}."
            if len(cat) else "No savings in the window."), table="by_year", plot="plot_savings_by_year",
            note=base_note),
        "waterfall": Section("From standalone to scheme investment", (
            "Development investment of every model in the line-up, standalone versus under the scheme "
            "(lifetime, not only the window, every model whatever its scheme_since: the standalone view)."),
            table="waterfall", plot="plot_waterfall", note="Lifetime development investment, standalone baseline"),
        "sensitivity": Section("Sensitivity: ceiling x follower differentiation", (
            "Window savings for each pair of ceiling (rows) and follower differentiation share (columns); "
            "all other assumptions at their values."), table="sensitivity", plot="plot_sensitivity_heatmap",
            note=base_note),
        "tornado": Section("What moves the total", (
            "Each assumption moved 20% down and up, one at a time; the ten with the widest range. The "
            "assumption's values are in its own unit; the totals are window savings."),
            table="tornado", plot="plot_tornado", note=base_note, units={"key": "hidden"}),
        "models": Section("Per model", (
            "Every model with its scheme, rate and savings: `effective end year` is the last year it counts "
            "(the year before a successor that `replaces` it launches); `counted under plan` is scheme_since >= "
            f"{plan_year}; `window saving counted` is under the chosen baseline, `window saving standalone` "
            "against standalone development. Rows marked `rest of range (aggregate)` stand for a member's "
            "models not listed one by one."), table="models", note=base_note),
    }
    head_table = pd.DataFrame({"figure": [
        f"Total savings {start_year}-{end_year}, {baseline} baseline ({unit})",
        f"Cost to achieve, {cta_rate:.0%} of the development saving ({unit})",
        f"Net savings ({unit})",
        f"NPV of savings, 1 Jan {start_year}, {npv_timing}-year, {discount_rate:.0%} ({unit})",
        f"Pre-plan savings left out by the plan baseline ({unit})",
        "Development investment reduction (share)"],
        "value": [hl["total_savings_report_ccy_m"], conv(cost_to_achieve), conv(hl["net_savings_eur_m"]),
                  conv(hl["npv_savings_eur_m"]), conv(hl["pre_plan_savings_eur_m"]), hl["savings_pct"]]})
    if currency != "EUR":  # the EUR total is another figure only when the report is in another currency
        head_table.loc[len(head_table)] = [f"Total savings, {baseline} baseline (EUR m)", hl["total_savings_eur_m"]]
    baselines = pd.DataFrame({
        "baseline": ["plan", "standalone"],
        "counts": [f"models with scheme_since >= {plan_year}", "every model"],
        "chosen": [baseline == "plan", baseline == "standalone"],
        "total": [conv(plan_total), conv(standalone_total)],
        "pre_plan_left_out": [conv(hl["pre_plan_savings_eur_m"]), 0.0],
    })
    tables = {
        "headline": head_table, "baselines": baselines, "by_member": by_member, "by_member_category": member_cat,
        "by_family": by_family, "by_category": by_category, "by_year": cat, "waterfall": waterfall,
        "sensitivity": grid, "tornado": tornado, "models": model_table,
    }
    checks = {k: float(v) for k, v in headline.items()}
    checks["plan_total_eur_m"] = plan_total
    checks["standalone_total_eur_m"] = standalone_total
    checks["development_eur_m"] = development
    checks["models_in_plan"] = float(models["in_plan"].sum())
    checks["sum_effective_end_year"] = float(models["effective_end_year"].sum())
    checks["sum_scheme_since"] = float(models["scheme_since"].sum())
    checks["by_member"] = {str(k): float(v) for k, v in by_year.groupby("member")["saving_eur_m"].sum().items()}
    checks["by_year"] = {int(k): float(v) for k, v in by_year.groupby("year")["saving_eur_m"].sum().items()}
    results = {"model_savings": models, "by_year": by_year, "checks": checks, "savings": result,
               "tornado": tornado_eur, "trimmed": False}
    add_provenance("savings", inputs, tables, sections)
    return Report("savings", inputs, {k: float(v) for k, v in hl.items()}, tables,
                  results, sections)


