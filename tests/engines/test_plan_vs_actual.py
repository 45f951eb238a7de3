"""Plan against outcome: statuses, the savings bridge and the targets, hand-computed.

Assumptions in the hand cases (``VALUES``): dev_lead_years L = 2, no cap, follower differentiation
d = 0.2, platform development saving 10%, platform production saving 2%, family production 3% +
other 1%, unit cost 10,000 EUR in segment C; window 2020-2025; plan baseline, plan_year 2020.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance_fin.engines.plan_vs_actual import (
    CAUSES,
    calc_bridge_states,
    calc_model_status,
    calc_plan_vs_actual,
    calc_planned_models_realisation,
)
from alliance_fin.inputs.load import assumption_values, load_assumptions

VALUES = {**assumption_values(load_assumptions()), "dev_lead_years": 2.0, "max_saving_rate": 1.0,
          "follower_diff_share": 0.2, "platform_saving_rate": 0.10, "platform_production_saving_rate": 0.02,
          "production_saving_rate": 0.03, "other_saving_rate": 0.01, "unit_cost_eur_C": 10_000.0}
CMF = ("CMF-C",)
CAUSE_KEYS = [key for key, _ in CAUSES]


def model(model_id: str, *, launch: int = 2022, end: int = 2030, volume: float = 0.0, family: str = "",
          role: str = "standalone", dev: float = 1000.0, platform: bool = True, replaces: str = "",
          since: str = "") -> dict:
    return {"model_id": model_id, "member": "Renault", "brand": "Renault", "model_name": model_id,
            "segment": "C", "platform": "CMF-C" if platform else "own", "region": "EU",
            "launch_year": launch, "end_year": end, "annual_volume": float(volume), "family_id": family,
            "role": role, "common_platform": platform, "dev_cost_eur_m": float(dev), "replaces": replaces,
            "scheme_since": since, "rest_of_range": "", "trim": "no"}


def lineup(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame["launch_year"] = frame["launch_year"].astype("int64")
    frame["end_year"] = frame["end_year"].astype("int64")
    return frame


def calc(plan: pd.DataFrame, outcome: pd.DataFrame, **kw):
    return calc_plan_vs_actual(plan, outcome, VALUES, cmf_platforms=CMF, **kw)


FAMILY = (model("L", family="F", role="leader", dev=1000), model("A", family="F", role="follower", dev=500),
          model("B", family="F", role="follower", dev=500, volume=100_000))


# ---------------------------------------------------------------------------- identical line-ups
@pytest.mark.parametrize("baseline", ["plan", "standalone"])
def test_identical_plan_gives_no_variance_and_rate_exactly_one(baseline):
    rows = lineup(*FAMILY, model("P", launch=2023, volume=100_000), model("S", platform=False, volume=50_000))
    result = calc(rows, rows.copy(), baseline=baseline)
    assert (result.models["status"] == "as_planned").all()
    assert (result.models["variance_type"] == "").all()
    assert result.models[["variance_eur_m", *CAUSE_KEYS]].abs().to_numpy().max() == 0.0
    assert result.bridge.loc[result.bridge["kind"] == "delta", "value_eur_m"].abs().max() == 0.0
    h = result.headline
    assert h["savings_realisation_rate"] == 1.0
    assert calc_planned_models_realisation(result.bridge) == (h["savings_plan_eur_m"], 1.0)
    assert h["savings_plan_eur_m"] == h["savings_actual_eur_m"] > 0
    assert (h["models_delayed"], h["models_cancelled"], h["models_added"]) == (0, 0, 0)
    assert h["lf_share_range_2025_plan"] == h["lf_share_range_2025_actual"]
    assert h["common_platform_volume_share_2024_plan"] == h["common_platform_volume_share_2024_actual"]


# ---------------------------------------------------------------------------- one delay
@pytest.mark.parametrize("planned, plan_saving, actual_saving", [
    # launch 2023: dev 100 in [2021, 2023); production 20 EUR m a year in 2023-25 -> 160; at 2025: 100 + 20
    pytest.param(2023, 160.0, 120.0, id="2023->2025: two production years leave"),
    # launch 2024: 100 + 2 x 20 = 140; at 2026 dev [2024, 2026) still in the window, no production: 100
    pytest.param(2024, 140.0, 100.0, id="2024->2026: two production years leave"),
    # launch 2025: 100 + 20 = 120; at 2027 half the development spend [2025, 2027) is in the window: 50
    pytest.param(2025, 120.0, 50.0, id="2025->2027: production and half the development leave"),
])
def test_delay_of_two_years_moves_exactly_its_savings_and_is_timing(planned, plan_saving, actual_saving):
    other = model("S", platform=False, volume=10_000)
    plan = lineup(model("P", launch=planned, volume=100_000), other)
    outcome = lineup(model("P", launch=planned + 2, volume=100_000), other)
    result = calc(plan, outcome)
    p = result.models.loc["P"]
    assert (p["status"], p["variance_type"], p["delay_years"]) == ("delayed", "timing", 2)
    assert p["planned_saving_eur_m"] == pytest.approx(plan_saving)
    assert p["actual_saving_eur_m"] == pytest.approx(actual_saving)
    step = result.bridge.set_index("step")["value_eur_m"]
    assert step["delays"] == pytest.approx(actual_saving - plan_saving)
    assert step.drop(["plan", "delays", "outcome"]).abs().max() == pytest.approx(0.0)
    assert p["timing_eur_m"] == pytest.approx(actual_saving - plan_saving) and p["permanent_eur_m"] == 0
    assert result.headline["models_delayed"] == 1


# ---------------------------------------------------------------------------- one cancelled follower
def test_cancelled_follower_removes_its_saving_and_lowers_the_family_rate():
    plan = lineup(*FAMILY)
    outcome = lineup(*FAMILY[:2])
    result = calc(plan, outcome)
    # plan: rate 1 - (1000 + 0.2 x 1000) / 2000 = 0.4; outcome: 1 - (1000 + 0.2 x 500) / 1500 = 4/15
    fam = result.families.loc["F"]
    assert fam["planned_reduction_rate"] == pytest.approx(0.4)
    assert fam["actual_reduction_rate"] == pytest.approx(4 / 15)
    b = result.models.loc["B"]
    # B: 0.4 x 500 = 200 of development + 4% x 10,000 EUR x 100,000 x 4 years (2022-25) = 160
    assert (b["status"], b["variance_type"]) == ("cancelled", "permanent")
    assert b["planned_saving_eur_m"] == pytest.approx(360.0)
    assert b["cancellations"] == pytest.approx(-360.0) and b["actual_saving_eur_m"] == 0
    # the lower rate costs the leader and A (0.4 - 4/15) x (1000 + 500) = 200, counted as a cancellation
    assert result.models.loc["L", "cancellations"] == pytest.approx(-(0.4 - 4 / 15) * 1000)
    assert result.models.loc["A", "cancellations"] == pytest.approx(-(0.4 - 4 / 15) * 500)
    step = result.bridge.set_index("step")["value_eur_m"]
    assert step["cancellations"] == pytest.approx(-560.0)
    assert result.headline["savings_plan_eur_m"] == pytest.approx(960.0)
    assert result.headline["savings_actual_eur_m"] == pytest.approx(400.0)
    assert result.headline["savings_realisation_rate"] == pytest.approx(400 / 960)
    assert result.headline["models_cancelled"] == 1


def test_followers_of_a_cancelled_leader_leave_the_family_in_the_cancellation_step():
    plan = lineup(model("L", family="F", role="leader"), model("A", family="F", role="follower", dev=500))
    outcome = lineup(model("A", dev=500))  # A goes on alone, on the common platform
    states = calc_bridge_states(plan, outcome)
    assert states[1].set_index("model_id").loc["A", ["family_id", "role"]].tolist() == ["", "standalone"]
    result = calc(plan, outcome)
    a = result.models.loc["A"]
    assert a["status"] == "regrouped"
    # family rate 1 - (1000 + 100) / 1500 = 4/15 -> the platform's 10%: lost with the leader
    assert a["cancellations"] == pytest.approx((0.10 - 4 / 15) * 500)
    assert a["regroupings"] == pytest.approx(0.0)


@pytest.mark.parametrize("change, status, kind", [
    pytest.param({"launch": 2021}, "advanced", "timing", id="earlier launch: advanced"),
    pytest.param({"family": "G", "role": "leader"}, "regrouped", "permanent", id="new family: regrouped"),
    pytest.param({"volume": 5_000}, "revised", "permanent", id="volume: revised"),
    pytest.param({"end": 2027}, "revised", "permanent", id="end year: revised"),
    pytest.param({}, "as_planned", "", id="nothing: as planned"),
])
def test_status_of_a_matched_model(change, status, kind):
    plan = lineup(model("P", volume=10_000))
    outcome = lineup(model("P", **{"volume": 10_000, **change}))
    result = calc(plan, outcome)
    assert result.models.loc["P", ["status", "variance_type"]].tolist() == [status, kind]
    assert calc_model_status(plan, outcome).loc["P", "status"] == status


def test_added_model_is_an_addition():
    result = calc(lineup(model("P")), lineup(model("P"), model("N", launch=2024, volume=100_000)))
    n = result.models.loc["N"]
    assert (n["status"], n["variance_type"]) == ("added", "permanent")
    # dev 100 in [2022, 2024) + 20 EUR m a year in 2024-25
    assert n["additions"] == pytest.approx(140.0) and result.headline["models_added"] == 1


# ---------------------------------------------------------------------------- property
IDS = [f"M{i}" for i in range(7)]


@st.composite
def model_states(draw):
    """A random pair of valid line-ups over the same ids (families get one leader each)."""
    def side(present_ids):
        rows = []
        leaders = set()
        for i, mid in enumerate(present_ids):
            launch = draw(st.integers(2016, 2028))
            fam = draw(st.sampled_from(["", "F1", "F2"]))
            role = "standalone" if not fam else ("leader" if fam not in leaders else "follower")
            leaders.add(fam)
            pred = draw(st.sampled_from(["", *present_ids[:i]])) if i else ""
            rows.append(model(mid, launch=launch, end=launch + draw(st.integers(0, 8)),
                              volume=draw(st.sampled_from([0, 20_000, 150_000])), family=fam, role=role,
                              dev=draw(st.sampled_from([200.0, 800.0])), platform=draw(st.booleans()),
                              replaces=pred, since=draw(st.sampled_from(["", "2018", "2021"]))))
        return lineup(*rows)

    plan_ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=6, unique=True))
    out_ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=6, unique=True))
    return side(plan_ids), side(out_ids)


@settings(max_examples=40, deadline=None)
@given(pair=model_states(), baseline=st.sampled_from(["plan", "standalone"]))
def test_bridge_causes_add_up_to_the_difference(pair, baseline):
    plan, outcome = pair
    result = calc(plan, outcome, baseline=baseline)
    step = result.bridge.set_index("step")["value_eur_m"]
    difference = result.headline["savings_actual_eur_m"] - result.headline["savings_plan_eur_m"]
    assert step[CAUSE_KEYS].sum() == pytest.approx(difference, abs=1e-9)
    assert result.models[CAUSE_KEYS].sum().to_numpy() == pytest.approx(step[CAUSE_KEYS].to_numpy(), abs=1e-9)
    assert result.models["variance_eur_m"].sum() == pytest.approx(difference, abs=1e-9)
    assert set(result.models["status"][~result.models["in_outcome"]]) <= {"cancelled"}
    before_additions, _ = calc_planned_models_realisation(result.bridge)
    assert before_additions == pytest.approx(result.headline["savings_actual_eur_m"] - step["additions"], abs=1e-9)
    assert before_additions == pytest.approx(step["plan"] + step[CAUSE_KEYS[:-1]].sum(), abs=1e-9)


def test_changes_text_names_each_changed_value_in_words():
    plan = lineup(model("L", family="F", role="leader", launch=2022, volume=50_000))
    outcome = lineup(model("L", launch=2023, volume=60_000))
    changes = calc_model_status(plan, outcome).loc["L", "changes"]
    assert changes == ("launch year 2022 → 2023; family F → none; role leader → standalone; "
                       "volume 50000 → 60000")


# ---------------------------------------------------------------------------- like for like
def test_planned_models_realisation_leaves_the_added_models_out():
    # plan: P alone, 10% of its 1,000 development in the window (launch 2022, no volume) = 100;
    # outcome: P as planned and N added (100 + 2 x 20 = 140, as above): 240 in all, a rate of 2.4
    plan = lineup(model("P"))
    result = calc(plan, lineup(model("P"), model("N", launch=2024, volume=100_000)))
    assert result.headline["savings_realisation_rate"] == pytest.approx(2.4)
    assert calc_planned_models_realisation(result.bridge) == pytest.approx((100.0, 1.0))


def test_planned_models_realisation_of_a_cancelled_follower_is_the_whole_rate():
    # no additions: the like-for-like reading is the realisation rate, 400 / 960 (hand case above)
    result = calc(lineup(*FAMILY), lineup(*FAMILY[:2]))
    assert calc_planned_models_realisation(result.bridge) == pytest.approx((400.0, 400 / 960))


def test_planned_models_realisation_when_the_plan_saves_nothing():
    nothing = model("S", platform=False)  # standalone, own platform, no volume: no saving
    assert calc_planned_models_realisation(calc(lineup(nothing), lineup(nothing)).bridge) == (0.0, 1.0)
    added = calc(lineup(nothing), lineup(nothing, model("N", launch=2024, volume=100_000)))
    assert calc_planned_models_realisation(added.bridge) == (0.0, 1.0)  # what was added is not the plan's
    realised, rate = calc_planned_models_realisation(calc(lineup(nothing), lineup(model("S"))).bridge)
    assert realised == pytest.approx(100.0) and rate != rate  # more than nothing: no rate


def test_what_an_added_leader_gives_a_planned_model_counts_with_the_additions():
    # plan: A (D = 500) alone on the common platform, 10% = 50. Outcome: A follows an added leader L
    # (D = 1,000): rate 1 - (1000 + 0.2 x 500) / 1500 = 4/15, A 500 x 4/15 = 133.3, L 266.7; 400 in all.
    # Until L arrives (the last step) A's family has no leader, so A stays at 50: like for like 50 / 50.
    plan = lineup(model("A", dev=500))
    outcome = lineup(model("L", family="F", role="leader"), model("A", family="F", role="follower", dev=500))
    result = calc(plan, outcome)
    assert result.headline["savings_realisation_rate"] == pytest.approx(400 / 50)
    assert calc_planned_models_realisation(result.bridge) == pytest.approx((50.0, 1.0))
    a = result.models.loc["A"]
    assert a["status"] == "regrouped" and a["regroupings"] == pytest.approx(0.0)
    assert a["additions"] == pytest.approx(500 * 4 / 15 - 50)  # A's gain from its new leader: an addition
    assert a["actual_saving_eur_m"] == pytest.approx(500 * 4 / 15)  # not the like-for-like 50
