"""Tests of alliance_fin.engines.milestones: year metrics, paths, statuses (boundaries), delays, timeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance_fin.engines.milestones import (
    EPS,
    calc_milestones,
    calc_milestones_headline,
    calc_target_path,
    calc_target_status,
)
from alliance_fin.engines.trimming import calc_trimming
from alliance_fin.errors import ParameterError
from alliance_fin.inputs import load

# Hand-set assumptions: the targets, plus what trimming (and the savings engine's D_i) reads.
A = {
    "max_saving_rate": 0.40, "follower_diff_share": 0.20, "platform_saving_rate": 0.15,
    "production_saving_rate": 0.03, "platform_production_saving_rate": 0.01,
    "other_saving_rate": 0.01, "dev_lead_years": 3.0, "dev_cost_eur_m_B": 600.0,
    "unit_cost_eur_B": 12000.0, "min_volume": 20000.0, "migration_rate": 0.5, "contribution_margin_rate": 0.15,
    "target_lf_share": 0.5, "target_lf_year": 2025.0, "target_platform_share": 0.8,
    "target_platform_year": 2024.0, "amber_tolerance": 0.05, "cmf_platforms": "CMF-B",
}


def model(model_id: str, *, member: str = "Renault", family: str = "", role: str | None = None,
          cp: bool = True, trim: str = "no", volume: float = 100_000.0, launch: int = 2019,
          end: int = 2027) -> dict:
    """One B-segment EU line-up row with the loaded dtypes' values."""
    return {
        "model_id": model_id, "member": member, "brand": member, "model_name": f"Car {model_id}",
        "segment": "B", "platform": "CMF-B" if cp else "own", "region": "EU",
        "launch_year": launch, "end_year": end, "annual_volume": float(volume),
        "family_id": family, "role": role or ("follower" if family else "standalone"),
        "common_platform": cp, "trim": trim, "dev_cost_eur_m": float("nan"),
    }


def lineup(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def hand_lineup() -> pd.DataFrame:
    """Four models; the expected values below are worked out by hand from these."""
    return lineup(
        model("A", member="Renault", family="F1", role="leader", launch=2018, end=2030, volume=100),
        model("B", member="Nissan", family="F1", launch=2021, end=2030, volume=50),
        model("C", member="Nissan", cp=False, launch=2020, end=2022, volume=50),
        model("D", member="Mitsubishi", launch=2023, end=2030, volume=100),
    )


# year: active, launches, new, new_lf, lf_share_new, lf_share_range (= lf_share_active),
# platform_volume_share, platform_model_share
BY_YEAR_DELAY_0 = {
    2020: (2, 1, 1, 0, 0.0, 1 / 2, 100 / 150, 1 / 2),
    2021: (3, 1, 2, 1, 1 / 2, 2 / 3, 150 / 200, 2 / 3),
    2022: (3, 0, 2, 1, 1 / 2, 2 / 3, 150 / 200, 2 / 3),
    2023: (3, 1, 3, 1, 1 / 3, 2 / 3, 1.0, 1.0),
    2024: (3, 0, 3, 1, 1 / 3, 2 / 3, 1.0, 1.0),
    2025: (3, 0, 3, 1, 1 / 3, 2 / 3, 1.0, 1.0),
}
# delay 1 from as_of 2020: B -> 2022-2031, D -> 2024-2031 (A and C launched by 2020 stay)
BY_YEAR_DELAY_1 = {
    2020: (2, 1, 1, 0, 0.0, 1 / 2, 100 / 150, 1 / 2),
    2021: (2, 0, 1, 0, 0.0, 1 / 2, 100 / 150, 1 / 2),
    2022: (3, 1, 2, 1, 1 / 2, 2 / 3, 150 / 200, 2 / 3),
    2023: (2, 0, 2, 1, 1 / 2, 1.0, 1.0, 1.0),
    2024: (3, 1, 3, 1, 1 / 3, 2 / 3, 1.0, 1.0),
    2025: (3, 0, 3, 1, 1 / 3, 2 / 3, 1.0, 1.0),
}
COLUMNS = ["active_models", "launches", "new_models", "new_lf_models", "lf_share_new",
           "lf_share_range", "platform_volume_share", "platform_model_share"]


@pytest.mark.parametrize(("delay", "expected"), [
    pytest.param(0, BY_YEAR_DELAY_0, id="delay-0"), pytest.param(1, BY_YEAR_DELAY_1, id="delay-1"),
])
def test_by_year_by_hand(delay, expected):
    by_year = calc_milestones(hand_lineup(), A, as_of_year=2020, launch_delay_years=delay).by_year
    want = pd.DataFrame.from_dict(expected, orient="index", columns=COLUMNS).rename_axis("year")
    want.insert(6, "lf_share_active", want["lf_share_range"])  # the former name of the same figure
    pd.testing.assert_frame_equal(by_year, want, check_dtype=False)


def test_empty_year_gives_zero_shares():
    by_year = calc_milestones(lineup(model("X", launch=2023, end=2024)), A).by_year
    assert by_year.loc[2020, ["lf_share_new", "lf_share_active", "platform_volume_share"]].tolist() == [0, 0, 0]


# ----------------------------------------------------------------------------- path and status
@pytest.mark.parametrize(("start_value", "target", "target_year", "expected"), [
    pytest.param(0.2, 0.5, 2025, [0.2, 0.26, 0.32, 0.38, 0.44, 0.5, 0.5], id="rising-then-held"),
    pytest.param(0.9, 0.5, 2024, [0.5] * 7, id="above-target-path-is-target-never-falls"),
    pytest.param(0.2, 0.5, 2020, [0.5] * 7, id="target-year-is-start"),
    pytest.param(0.2, 0.5, 2018, [0.5] * 7, id="target-year-before-start"),
])
def test_target_path(start_value, target, target_year, expected):
    path = calc_target_path(start_value, target, 2020, target_year, np.arange(2020, 2027))
    np.testing.assert_allclose(path, expected)


TOL = 0.05
STATUS_CASES = [
    # actual, path, year, target, expected
    pytest.param(0.5, 0.6, 2022, 0.5, "ahead", id="before-target-year-at-target-is-ahead-not-met"),
    pytest.param(0.3, 0.4, 2022, 0.1 + 0.2, "ahead", id="on-target-within-float-eps"),
    pytest.param(0.3 - 2 * EPS, 0.2, 2025, 0.3, "missed", id="below-target-beyond-eps"),
    pytest.param(0.55, 0.5, 2026, 0.5, "met", id="met-after-target-year"),
    pytest.param(0.4, 0.4, 2022, 0.5, "on_track", id="exactly-on-path"),
    pytest.param(0.3, 0.1 * 3, 2022, 0.5, "on_track", id="on-path-within-float-eps"),
    pytest.param(0.45, 0.4, 2022, 0.5, "on_track", id="before-target-year-above-path-is-on-track"),
    pytest.param(0.6, 0.4, 2022, 0.5, "ahead", id="before-target-year-above-target-is-ahead"),
    pytest.param(1.0, 0.4, 2024, 0.5, "ahead", id="year-before-target-far-above-is-ahead-never-met"),
    pytest.param(0.38, 0.4, 2022, 0.5, "at_risk", id="below-path-within-tolerance"),
    pytest.param(0.35, 0.4, 2022, 0.5, "at_risk", id="exactly-on-tolerance-edge"),
    pytest.param(0.3499, 0.4, 2022, 0.5, "off_track", id="just-beyond-tolerance-edge"),
    pytest.param(0.49, 0.5, 2025, 0.5, "missed", id="short-in-target-year"),
    pytest.param(0.49, 0.5, 2026, 0.5, "missed", id="short-after-target-year"),
]


@pytest.mark.parametrize(("actual", "path", "year", "target", "expected"), STATUS_CASES)
def test_status(actual, path, year, target, expected):
    got = calc_target_status([actual], [path], [year], target, 2025, TOL)
    assert got.tolist() == [expected]


def test_status_with_zero_tolerance():
    got = calc_target_status([0.39, 0.4], [0.4, 0.4], [2022, 2022], 0.5, 2025, 0.0)
    assert got.tolist() == ["off_track", "on_track"]


def test_targets_frame_by_hand():
    targets = calc_milestones(hand_lineup(), A).targets.set_index(["metric", "year"])
    lf = targets.loc["lf_share_new"]
    np.testing.assert_allclose(lf["path"], [0, 0.1, 0.2, 0.3, 0.4, 0.5])
    # 2020 on path (0 = 0), 2021-22 exactly on target before the target year (ahead, not met),
    # 2023 1/3 >= 0.3, 2024 1/3 < 0.4 - 0.05, 2025 the target year short of 0.5
    assert lf["status"].tolist() == ["on_track", "ahead", "ahead", "on_track", "off_track", "missed"]
    pf = targets.loc["platform_volume_share"]
    assert pf["path"].iloc[0] == pytest.approx(2 / 3) and pf["path"].iloc[4] == pytest.approx(0.8)
    # 2021-22 at 0.75 above the path (0.70, 0.73); 2023 at 1.0 before 2024: ahead
    assert pf["status"].tolist() == ["on_track", "on_track", "on_track", "ahead", "met", "met"]
    assert set(targets["scenario"]) == {"data"}


def test_amber_tolerance_keyword_wins():
    # 2024: actual 1/3, path 0.4: at risk once the tolerance reaches 0.4 - 1/3
    targets = calc_milestones(hand_lineup(), A, amber_tolerance=0.1).targets
    row = targets[(targets["metric"] == "lf_share_new") & (targets["year"] == 2024)]
    assert row["status"].item() == "at_risk"


# ----------------------------------------------------------------------------- headline, delays
def test_headline_by_hand():
    head = calc_milestones_headline(calc_milestones(hand_lineup(), A), A)
    assert head == {"lf_share_new_models_2025": pytest.approx(1 / 3), "lf_target_met": False,
                    "lf_share_range_2025": pytest.approx(2 / 3), "lf_range_target_met": True,
                    "common_platform_volume_share_2024": pytest.approx(1.0), "platform_target_met": True,
                    "common_platform_model_share_2026": pytest.approx(1.0)}
    assert type(head["lf_target_met"]) is bool and type(head["lf_share_new_models_2025"]) is float


def test_headline_target_share_from_assumptions_and_year_check():
    result = calc_milestones(hand_lineup(), A)
    assert calc_milestones_headline(result, {**A, "target_lf_share": 1 / 3})["lf_target_met"] is True
    with pytest.raises(ParameterError, match="target_lf_year"):
        calc_milestones_headline(result, {**A, "target_lf_year": 2026.0})


def test_headline_outside_window():
    head = calc_milestones_headline(calc_milestones(hand_lineup(), A, end_year=2021), A)
    assert head["lf_share_new_models_2025"] == pytest.approx(1 / 3)


def test_delay_table_by_hand():
    table = calc_milestones(hand_lineup(), A, as_of_year=2020).delay_table.set_index("launch_delay_years")
    assert table.index.tolist() == [0, 1, 2, 3]
    assert table.loc[0, ["lf_first_met_year", "platform_first_met_year"]].tolist() == [2021, 2023]
    # delay 3: B 2024-2033, D 2026-2033; new by 2025 = C, B -> 1/2 = target
    assert table.loc[3, ["lf_first_met_year", "platform_first_met_year"]].tolist() == [2024, 2023]
    assert table.loc[3, "lf_share_new_at_target_year"] == pytest.approx(0.5)
    assert table.loc[3, "lf_target_met"]
    assert not table.loc[0, "lf_target_met"]


def test_delay_can_raise_lf_share_when_non_family_launches_slip():
    """Documented behaviour of the defined share: delaying a standalone launch out of the
    window removes it from the denominator (hand line-up: 1/3 with no delay, 1/2 with 3 years)."""
    shares = [calc_milestones_headline(calc_milestones(hand_lineup(), A, as_of_year=2020, launch_delay_years=d), A)
              ["lf_share_new_models_2025"] for d in (0, 3)]
    assert shares == [pytest.approx(1 / 3), pytest.approx(1 / 2)]


def test_delay_table_not_met_is_na():
    table = calc_milestones(lineup(model("X", launch=2021, cp=False)), A, as_of_year=2020).delay_table
    assert table["lf_first_met_year"].isna().all()
    assert str(table["lf_first_met_year"].dtype) == "Int64"


def test_chosen_delay_above_three_is_used():
    result = calc_milestones(hand_lineup(), A, as_of_year=2020, launch_delay_years=5)
    assert result.params["launch_delay_years"] == 5
    assert result.delay_table["launch_delay_years"].tolist() == [0, 1, 2, 3]
    assert result.by_year.loc[2025, "new_models"] == 1  # only C: B and D slip past 2025


@pytest.mark.parametrize(("kwargs", "name"), [
    pytest.param({"launch_delay_years": 11}, "launch_delay_years", id="delay-11"),
    pytest.param({"launch_delay_years": -1}, "launch_delay_years", id="delay-negative"),
    pytest.param({"launch_delay_years": 1.5}, "launch_delay_years", id="delay-float"),
    pytest.param({"launch_delay_years": True}, "launch_delay_years", id="delay-bool"),
    pytest.param({"launch_delay_years": "2"}, "launch_delay_years", id="delay-text"),
    pytest.param({"start_year": 2026, "end_year": 2025}, "end_year", id="end-before-start"),
    pytest.param({"end_year": 2036}, "end_year", id="end-after-2035"),
    pytest.param({"start_year": 1999}, "start_year", id="start-too-early"),
    pytest.param({"as_of_year": 2040}, "as_of_year", id="as-of-out-of-range"),
    pytest.param({"amber_tolerance": -0.1}, "amber_tolerance", id="negative-tolerance"),
])
def test_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        calc_milestones(hand_lineup(), A, **kwargs)


def test_numpy_int_delay_accepted():
    assert calc_milestones(hand_lineup(), A, as_of_year=2020, launch_delay_years=np.int64(2)).params["launch_delay_years"] == 2


# ----------------------------------------------------------------------------- trimming, timeline
def test_with_trimming_by_hand():
    frame = hand_lineup()
    trim = calc_trimming(frame, A, cut=["C"], cut_year=2021, rules=())
    # C (Nissan, B, EU) goes from 2021; 50% of its 50 units moves to B (same member)
    assert trim.moves.loc[0, ["to_model_id", "migrated_volume"]].tolist() == ["B", 25.0]
    result = calc_milestones(frame, A, trimming=trim)
    by_year = result.by_year
    assert by_year.loc[2020, "active_models_trimmed"] == 2
    assert by_year.loc[2021, "active_models_trimmed"] == 2
    assert by_year.loc[2021, "platform_volume_share_trimmed"] == pytest.approx(1.0)
    assert by_year.loc[2021, "lf_share_new_trimmed"] == pytest.approx(0.5)  # C still launched 2020
    assert by_year.loc[2023, "lf_share_new_trimmed"] == pytest.approx(1 / 3)
    assert set(result.targets["scenario"]) == {"data", "trimmed"}
    assert set(result.delay_table["scenario"]) == {"data", "trimmed"}
    assert "actual_trimmed" in result.at_target.columns
    gantt = result.gantt.set_index("model_id")
    assert gantt.loc["C", ["start", "end", "cut_year"]].tolist() == [2020, 2020, 2021]
    assert pd.isna(gantt.loc["A", "cut_year"])
    events = result.timeline
    assert events[events["event"] == "cut"][["year", "model_id"]].values.tolist() == [[2021, "C"]]


def test_trimming_of_other_lineup_refused():
    trim = calc_trimming(lineup(model("Z")), A)
    with pytest.raises(ParameterError, match="different line-up"):
        calc_milestones(hand_lineup(), A, trimming=trim)


def test_model_cut_before_launch_never_appears():
    frame = lineup(model("L", family="F1", role="leader", launch=2018),
                   model("F", family="F1", launch=2023, volume=1))  # low volume follower
    result = calc_milestones(frame, A, trimming=calc_trimming(frame, A, cut_year=2020))
    assert result.by_year["new_models_trimmed"].max() == 0
    gantt = result.gantt.set_index("model_id")
    assert not gantt.loc["F", "launched"] and gantt.loc["F", "cut_year"] == 2023
    assert "launch" not in set(result.timeline.loc[result.timeline["model_id"] == "F", "event"])


def test_timeline_by_hand():
    events = calc_milestones(hand_lineup(), A).timeline
    got = list(zip(events["year"], events["model_id"], events["event"], events["in_window"]))
    assert got == [(2018, "A", "launch", False), (2020, "C", "launch", True),
                   (2021, "B", "launch", True), (2022, "C", "end", True),
                   (2023, "D", "launch", True), (2030, "A", "end", False),
                   (2030, "B", "end", False), (2030, "D", "end", False)]


def test_repr():
    result = calc_milestones(hand_lineup(), A)
    assert repr(result).startswith("MilestonesResult(2020-2025, delay 0 y")
    assert "<table>" in result._repr_html_()


def test_default_lineup_runs():
    data = load.load_lineup()
    values = load.assumption_values(load.load_assumptions())
    result = calc_milestones(data, values, trimming=calc_trimming(data, values))
    head = calc_milestones_headline(result, values)
    assert set(head) == {"lf_share_new_models_2025", "lf_share_range_2025", "common_platform_volume_share_2024",
                         "common_platform_model_share_2026", "lf_target_met", "lf_range_target_met",
                         "platform_target_met"}
    assert 0 <= head["lf_share_new_models_2025"] <= 1
    assert result.by_year.index.tolist() == list(range(2020, 2026))


# ----------------------------------------------------------------------------- properties
@st.composite
def small_lineups(draw, *, standalone_launched_by: int | None = None) -> pd.DataFrame:
    n = draw(st.integers(1, 7))
    rows, leaders = [], set()
    for i in range(n):
        fam = draw(st.sampled_from(["", "F1", "F2"]))
        role = "standalone" if not fam else ("leader" if fam not in leaders else "follower")
        leaders.add(fam)
        top = standalone_launched_by if (not fam and standalone_launched_by) else 2027
        launch = draw(st.integers(2014, top))
        rows.append(model(
            f"M{i}", member=draw(st.sampled_from(["Renault", "Nissan", "Mitsubishi"])),
            family=fam, role=role, cp=draw(st.booleans()),
            trim=draw(st.sampled_from(["yes", "no"])), volume=draw(st.integers(0, 50)) * 1000,
            launch=launch, end=launch + draw(st.integers(0, 8))))
    return lineup(*rows)


SHARES = ["lf_share_new", "lf_share_active", "platform_volume_share"]


@settings(max_examples=50, deadline=None)
@given(frame=small_lineups(), delay=st.integers(0, 10), trimmed=st.booleans())
def test_shares_stay_in_unit_interval(frame, delay, trimmed):
    trim = calc_trimming(frame, A) if trimmed else None
    result = calc_milestones(frame, A, launch_delay_years=delay, trimming=trim)
    cols = [c for c in result.by_year.columns if c.removesuffix("_trimmed") in SHARES]
    values = result.by_year[cols].to_numpy()
    assert ((values >= 0) & (values <= 1)).all()
    assert result.delay_table.filter(like="_at_target_year").stack().between(0, 1).all()


@settings(max_examples=50, deadline=None)
@given(frame=small_lineups(standalone_launched_by=2020), small=st.integers(0, 5),
       extra=st.integers(1, 5))
def test_larger_delay_never_raises_2025_lf_share(frame, small, extra):
    """Holds when only leader-follower launches move (standalone ones launched by as_of_year);
    see test_delay_can_raise_lf_share_when_non_family_launches_slip for the general case."""
    share = [calc_milestones_headline(calc_milestones(frame, A, as_of_year=2020, launch_delay_years=d), A)
             ["lf_share_new_models_2025"] for d in (small, small + extra)]
    assert share[1] <= share[0] + EPS


@settings(max_examples=50, deadline=None)
@given(frame=small_lineups(), small=st.integers(0, 5), extra=st.integers(1, 5))
def test_larger_delay_never_raises_new_lf_model_count(frame, small, extra):
    counts = [calc_milestones(frame, A, as_of_year=2020, launch_delay_years=d).by_year.loc[2025, "new_lf_models"]
              for d in (small, small + extra)]
    assert counts[1] <= counts[0]


def test_default_lineup_figures_quoted_in_methodology():
    """The figures docs/methodology.md quotes for the packaged data (keep the doc in step)."""
    lineup = load.load_lineup()
    values = load.assumption_values(load.load_assumptions())
    result = calc_milestones(lineup, values, trimming=calc_trimming(lineup, values))
    by_year = result.by_year
    assert by_year.loc[2025, "lf_share_new"] == pytest.approx(28 / 59)
    assert round(by_year.loc[2025, "lf_share_range"], 3) == 0.448
    assert round(by_year.loc[2024, "platform_volume_share"], 3) == 0.515
    assert [round(v, 3) for v in by_year["platform_volume_share"]] == [0.336, 0.375, 0.398, 0.454, 0.515, 0.552]
    assert [round(v, 3) for v in by_year["platform_volume_share_trimmed"]] == [
        0.360, 0.405, 0.430, 0.499, 0.561, 0.609]
    assert round(by_year.loc[2025, "lf_share_new_trimmed"], 3) == 0.458
    head = calc_milestones_headline(result, values)  # trimmed, as the report shows by default
    assert {k: round(v, 3) for k, v in head.items() if not isinstance(v, bool)} == {
        "lf_share_new_models_2025": 0.458, "lf_share_range_2025": 0.472,
        "common_platform_volume_share_2024": 0.561, "common_platform_model_share_2026": 0.642}
    assert not (head["lf_target_met"] or head["lf_range_target_met"] or head["platform_target_met"])
    shared = calc_milestones_headline(calc_milestones(lineup, values, platform_definition="shared"), values)
    assert round(shared["common_platform_volume_share_2024"], 3) == 0.665
