"""The calculation method of issue 13 across the engines: plan baseline, changeovers, NPV timing,
trimming in one reference year, target statuses. Hand-computed cases, then properties.

Hand-set assumptions (tests/engines/test_savings.py's ``A``): B segment D = 600 EUR m, unit cost
12,000 EUR; three years of development before launch; rates 40% cap, 20% follower share, 15%
platform, 3% / 1% production, 1% other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance_fin.engines import savings
from alliance_fin.engines.lineup import calc_effective_end_year, prepare_lineup
from alliance_fin.engines.milestones import calc_milestones, calc_target_path, calc_target_status
from alliance_fin.engines.savings_core import npv_factors
from alliance_fin.engines.trimming import calc_trimming, calc_trimming_headline

A = {
    "max_saving_rate": 0.40, "follower_diff_share": 0.20, "platform_saving_rate": 0.15,
    "production_saving_rate": 0.03, "platform_production_saving_rate": 0.01, "other_saving_rate": 0.01,
    "dev_lead_years": 3.0, "discount_rate": 0.08, "cost_to_achieve_rate": 0.10,
    "dev_cost_eur_m_B": 600.0, "unit_cost_eur_B": 12000.0, "fx_eur_gbp": 0.85, "fx_eur_usd": 1.115,
    "fx_eur_jpy": 120.8, "min_volume": 20000.0, "migration_rate": 0.5, "contribution_margin_rate": 0.15,
    "target_lf_share": 0.5, "target_lf_year": 2025.0, "target_platform_share": 0.8,
    "target_platform_year": 2024.0, "amber_tolerance": 0.05, "cmf_platforms": "CMF-B",
}


def model(model_id: str, *, member: str = "Renault", family: str = "", role: str | None = None,
          launch: int = 2021, end: int = 2027, volume: float = 100_000.0, cp: bool = True,
          replaces: str = "", since: float = np.nan, trim: str = "no") -> dict:
    """One B-segment EU row with the loaded dtypes' values."""
    return {
        "model_id": model_id, "member": member, "brand": member, "model_name": f"Car {model_id}",
        "segment": "B", "platform": "CMF-B" if cp else "own", "region": "EU",
        "launch_year": launch, "end_year": end, "annual_volume": float(volume), "family_id": family,
        "role": role or ("follower" if family else "standalone"), "common_platform": cp, "trim": trim,
        "dev_cost_eur_m": np.nan, "replaces": replaces, "scheme_since": since,
    }


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def twins(since: float = np.nan, launch: int = 2021) -> pd.DataFrame:
    return frame(model("L", family="F", role="leader", launch=launch, since=since),
                 model("F", family="F", member="Nissan", launch=launch, since=since))


# ----------------------------------------------------------------------------- plan baseline
# Twins launched 2021 on sale to 2027, window 2020-2025: each saves 40% of 600 = 240 EUR m of
# development spent 2018-2020 (80 a year, 2020 in the window), production 36 and other 12 EUR m a
# year 2021-2025. Window total of the pair: 2 x (80 + 5 x 48) = 640 EUR m.
@pytest.mark.parametrize(("lineup", "baseline", "total", "pre_plan"), [
    pytest.param(twins(since=2014), "plan", 0.0, 640.0, id="pre-plan-family-counts-zero-under-plan"),
    pytest.param(twins(since=2014), "standalone", 640.0, 640.0, id="pre-plan-family-counts-fully-standalone"),
    pytest.param(twins(since=2020), "plan", 640.0, 0.0, id="family-decided-in-plan-year-counts-under-plan"),
    pytest.param(twins(), "plan", 0.0, 640.0, id="derived-scheme-since-2018-is-pre-plan"),
    pytest.param(twins(launch=2023).assign(end_year=2029), "plan", 2 * (240 + 3 * 48.0), 0.0,
                 id="derived-scheme-since-2020-is-in-plan"),
])
def test_plan_baseline_by_hand(lineup, baseline, total, pre_plan):
    head = savings.calc_savings(lineup, A, baseline=baseline).headline
    assert head["total_savings_eur_m"] == pytest.approx(total)
    assert head["pre_plan_savings_eur_m"] == pytest.approx(pre_plan)


def test_net_savings_take_off_the_cost_to_achieve_the_development_saving():
    head = savings.calc_savings(twins(since=2020), A).headline
    assert head["net_savings_eur_m"] == pytest.approx(640.0 - 0.10 * 160.0)  # 160 development in 2020


# ----------------------------------------------------------------------------- changeovers
# P (on sale 2018-2022) is replaced by S (launch 2022): 2022 counts S only. Both are common-platform
# models without a twin: platform production saving 1% x 12,000 x 100,000 / 1e6 = 12 EUR m a year.
CHANGEOVER = frame(model("P", launch=2018, end=2022), model("S", launch=2022, end=2027, replaces="P"))


def test_effective_end_year_stops_the_predecessor_before_its_successor():
    assert calc_effective_end_year(CHANGEOVER).tolist() == [2021, 2027]


@pytest.mark.parametrize(("what", "expected"), [
    pytest.param(lambda: savings.calc_savings(CHANGEOVER, A, baseline="standalone").by_year.query(
        "year == 2022 and category == 'production'")["saving_eur_m"].sum(), 12.0,
        id="savings-changeover-year-counts-the-successor-only"),
    pytest.param(lambda: calc_milestones(CHANGEOVER, A).by_year.loc[2022, "active_models"], 1,
                 id="milestones-changeover-year-one-model"),
    pytest.param(lambda: calc_milestones(CHANGEOVER, A).by_year.loc[2022, "platform_volume_share"], 1.0,
                 id="milestones-changeover-year-volume-once"),
    pytest.param(lambda: calc_trimming_headline(calc_trimming(CHANGEOVER, A, reference_year=2022))["models_before"],
                 1, id="trimming-changeover-year-one-model"),
])
def test_changeover_year_counts_the_successor_only(what, expected):
    assert what() == pytest.approx(expected)


# ----------------------------------------------------------------------------- trimming value
@pytest.mark.parametrize(("lineup", "cut", "avoided"), [
    pytest.param(CHANGEOVER, "P", 0.0, id="cut-model-with-a-successor-avoids-nothing"),
    pytest.param(frame(model("P", launch=2018, end=2022)), "P", 600 * (1 - 0.15),
                 id="cut-model-without-successor-avoids-its-scheme-investment"),
    pytest.param(twins(since=2020), "F", 600 * (1 - 0.40), id="cut-follower-avoids-its-scheme-investment-not-D"),
])
def test_avoided_development_by_hand(lineup, cut, avoided):
    result = calc_trimming(lineup, A, cut=[cut], rules=())
    assert result.avoided_dev.loc[cut, "avoided_dev_eur_m"] == pytest.approx(avoided)


# ----------------------------------------------------------------------------- NPV timing
@pytest.mark.parametrize(("timing", "expected"), [
    pytest.param("mid", 100 / 1.1 ** 1.5, id="mid-year"),
    pytest.param("end", 100 / 1.1 ** 2, id="end-of-year"),
    pytest.param("start", 100 / 1.1, id="start-of-year"),
])
def test_npv_of_100_one_year_after_start(timing, expected):
    flows = pd.DataFrame({"year": [2021], "saving_eur_m": [100.0]})
    assert savings.calc_npv(flows, 0.10, 2020, npv_timing=timing) == pytest.approx(expected, rel=1e-12)
    assert 100 * npv_factors(np.array([2021]), 0.10, 2020, timing)[0] == pytest.approx(expected, rel=1e-12)


# ----------------------------------------------------------------------------- target status
@pytest.mark.parametrize(("actual", "expected"), [
    pytest.param(0.45, "on_track", id="before-target-above-path-on-track"),
    pytest.param(0.55, "ahead", id="before-target-above-target-ahead"),
    pytest.param(0.50, "ahead", id="before-target-at-target-ahead"),
])
def test_status_before_the_target_year(actual, expected):
    path = calc_target_path(0.2, 0.5, 2020, 2025, np.array([2023]))  # 0.2 + 0.3 x 3/5 = 0.38
    assert calc_target_status([actual], path, [2023], 0.5, 2025, 0.05).tolist() == [expected]


@settings(max_examples=100, deadline=None)
@given(actual=st.floats(0, 1), start=st.floats(0, 1), year=st.integers(2020, 2024))
def test_status_is_never_met_before_the_target_year(actual, start, year):
    path = calc_target_path(start, 0.5, 2020, 2025, np.array([year]))
    assert calc_target_status([actual], path, [year], 0.5, 2025, 0.05)[0] not in ("met", "missed")


# ----------------------------------------------------------------------------- properties
@st.composite
def lineups(draw) -> pd.DataFrame:
    """Random line-ups with families, scheme_since years and chains of successors per member."""
    n = draw(st.integers(1, 8))
    rows, leaders, last_of_member = [], set(), {}
    for i in range(n):
        member = draw(st.sampled_from(["Renault", "Nissan"]))
        fam = draw(st.sampled_from(["", "F1", "F2"]))
        role = "standalone" if not fam else ("leader" if fam not in leaders else "follower")
        leaders.add(fam)
        launch = draw(st.integers(2014, 2028))
        pred = last_of_member.get(member) if draw(st.booleans()) else None
        since = draw(st.one_of(st.just(np.nan), st.integers(2010, launch).map(float)))
        rows.append(model(f"M{i}", member=member, family=fam, role=role, launch=launch,
                          end=launch + draw(st.integers(0, 8)), cp=draw(st.booleans()),
                          volume=float(draw(st.integers(1, 300)) * 1000), replaces=pred or "", since=since,
                          trim=draw(st.sampled_from(["no", "yes"]))))
        last_of_member[member] = f"M{i}"
    return frame(*rows)


PROPS = settings(max_examples=60, deadline=None)


@PROPS
@given(lineup=lineups(), plan_year=st.integers(2015, 2026))
def test_prop_standalone_is_plan_plus_pre_plan(lineup, plan_year):
    plan = savings.calc_savings(lineup, A, plan_year=plan_year).headline
    standalone = savings.calc_savings(lineup, A, plan_year=plan_year, baseline="standalone").headline
    assert standalone["total_savings_eur_m"] == pytest.approx(
        plan["total_savings_eur_m"] + plan["pre_plan_savings_eur_m"], rel=1e-12, abs=1e-9)
    assert standalone["pre_plan_savings_eur_m"] == pytest.approx(plan["pre_plan_savings_eur_m"], abs=1e-9)


@PROPS
@given(lineup=lineups())
def test_prop_no_year_counts_a_model_and_its_successor(lineup):
    frame_ = prepare_lineup(lineup)
    years = np.arange(2010, 2040)
    on_sale = pd.DataFrame({y: (frame_["launch_year"] <= y) & (y <= frame_["effective_end_year"]) for y in years})
    succ = frame_[frame_["replaces"].ne("")]
    for model_id, pred in zip(succ.index, succ["replaces"], strict=True):
        assert not (on_sale.loc[model_id] & on_sale.loc[pred]).any()
    # the engines count the same: production saving years and active models
    by = savings.calc_savings(lineup, A, baseline="standalone", start_year=2010, end_year=2035).by_year
    prod = by[by["category"].eq("production") & by["saving_eur_m"].gt(0)]
    for model_id, pred in zip(succ.index, succ["replaces"], strict=True):
        both = set(prod.loc[prod["model_id"].eq(model_id), "year"]) & set(prod.loc[prod["model_id"].eq(pred), "year"])
        assert not both
    active = calc_milestones(lineup, A, start_year=2010, end_year=2035).by_year["active_models"]
    assert active.tolist() == on_sale.loc[:, 2010:2035].sum(axis=0).tolist()


@PROPS
@given(lineup=lineups(), timing=st.sampled_from(["mid", "end", "start"]), baseline=st.sampled_from(["plan", "standalone"]))
def test_prop_npv_at_rate_zero_is_the_window_total(lineup, timing, baseline):
    head = savings.calc_savings(lineup, A, baseline=baseline, npv_timing=timing, discount_rate=0.0).headline
    assert head["npv_savings_eur_m"] == pytest.approx(head["total_savings_eur_m"], rel=1e-12, abs=1e-9)


@PROPS
@given(lineup=lineups(), ref=st.integers(2020, 2025), cut_year=st.integers(2018, 2027))
def test_prop_trimming_counts_never_exceed_models_on_sale(lineup, ref, cut_year):
    result = calc_trimming(lineup, A, reference_year=ref, cut_year=cut_year)
    head = calc_trimming_headline(result)
    frame_ = prepare_lineup(lineup)
    on_sale = ((frame_["launch_year"] <= ref) & (ref <= frame_["effective_end_year"])).sum()
    # before = on sale in ref + the lines of cut models without a successor (left alone, they go on)
    lines = result.models["cut"] & ~result.models["has_successor"] & (result.models["launch_year"] <= ref) \
        & (result.models["effective_end_year"] < ref)
    assert head["models_after"] <= on_sale
    assert head["models_after"] <= head["models_before"] == on_sale + lines.sum()
    by_member = result.before_after[result.before_after["dimension"].eq("member")]
    assert (by_member["after"] <= by_member["before"]).all()


def test_trimming_worked_example_in_methodology():
    """docs/methodology.md, "Value": one platform model cut by hand, no receiver, no successor."""
    result = calc_trimming(frame(model("P", launch=2018, end=2022)), A, cut=["P"], rules=())
    value = result.value_by_year
    assert value["avoided_dev_eur_m"].tolist() == pytest.approx([170, 170, 170, 0, 0, 0])
    assert value["lost_contribution_eur_m"].tolist() == pytest.approx([180] * 6)
    assert calc_trimming_headline(result)["net_trimming_benefit_eur_m"] == pytest.approx(-570.0)


def test_savings_worked_example_in_methodology():
    """docs/methodology.md, the two-model family under both baselines and the three NPV timings."""
    rows = [model("L", member="Nissan", family="F", role="leader", launch=2022, end=2029, volume=200_000),
            model("F", family="F", launch=2023, end=2030, volume=50_000)]
    lineup = frame(*rows).assign(segment="C", dev_cost_eur_m=[1000.0, 500.0])
    values = {**A, "dev_cost_eur_m_C": 900.0, "unit_cost_eur_C": 18000.0}
    standalone = {t: savings.calc_savings(lineup, values, baseline="standalone", npv_timing=t).headline
                  for t in ("start", "mid", "end")}
    assert standalone["mid"]["total_savings_eur_m"] == pytest.approx(995.11, abs=0.005)
    assert [round(standalone[t]["npv_savings_eur_m"], 2) for t in ("start", "mid", "end")] == [816.05, 785.25, 755.60]
    plan = savings.calc_savings(lineup, values).headline
    assert round(plan["total_savings_eur_m"], 2) == 241.33 and round(plan["pre_plan_savings_eur_m"], 2) == 753.78
    assert round(plan["net_savings_eur_m"], 2) == 228.00
