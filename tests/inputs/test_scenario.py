"""Tests of alliance_fin.inputs.scenario: inputs untouched, results valid, effects hand-checked, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance_fin.engines import savings
from alliance_fin.errors import ParameterError
from alliance_fin.inputs import load
from alliance_fin.inputs.scenario import (
    ScenarioEdit,
    add_model,
    drop_model,
    leave_family,
    make_follower,
    make_leader,
    move_launch,
    set_assumption,
)
from alliance_fin.present import savings as tables

ASSUMPTIONS = load.load_assumptions()
A = load.assumption_values(ASSUMPTIONS)  # B: D = 600 EUR m, C = 12,000 EUR; C: D = 900, C = 18,000
PACKAGED = load.load_lineup()
# Since issue 14 the Juke F16 (N05) is Nissan-developed and standalone; the tests put it back into
# F03 beside the Captur II (R04, leader) and the ASX (M02) so that F03 is a three-model family of
# B models (D = 600 EUR m each), the case most edits are about.
LINEUP = PACKAGED.copy()
LINEUP.loc[LINEUP["model_id"].eq("N05"), ["family_id", "role"]] = ["F03", "follower"]
SEGMENTS = {k.removeprefix("dev_cost_eur_m_") for k in A if k.startswith("dev_cost_eur_m_")}

NEW_MODEL = dict(model_id="M99", member="Mitsubishi", brand="Mitsubishi", model_name="Colt EV", segment="B",
                 platform="CMF-BEV", region="EU", launch_year=2026, end_year=2032, annual_volume=20000,
                 family_id="F04", common_platform=True, dev_cost_eur_m=350.0)


def text(frame: pd.DataFrame) -> pd.DataFrame:
    """A typed line-up as the all-text frame a CSV gives (for a round trip through the loader)."""
    out = frame.astype(object).map(load.cell_text)
    out["common_platform"] = np.where(frame["common_platform"], "yes", "no")
    return out


def savings_of(lineup: pd.DataFrame) -> pd.DataFrame:
    return savings.calc_model_savings(lineup, A)


def role(edit: ScenarioEdit, model_id: str) -> tuple[str, str]:
    row = edit.lineup.set_index("model_id").loc[model_id]
    return row["family_id"], row["role"]


EDITS = {
    "make_follower": lambda x: make_follower(x, "R04", "F01", promote="N05"),
    "make_leader": lambda x: make_leader(x, "N05"),
    "make_leader-new-family": lambda x: make_leader(x, "R06", "F90"),
    "leave_family": lambda x: leave_family(x, "M02"),
    "move_launch": lambda x: move_launch(x, "N06", 2027),
    "drop_model": lambda x: drop_model(x, "R05", promote="N06"),
    "add_model": lambda x: add_model(x, **NEW_MODEL),
}


@pytest.mark.parametrize("edit", list(EDITS.values()), ids=list(EDITS))
def test_input_untouched_and_result_valid(edit):
    before = LINEUP.copy(deep=True)
    result = edit(LINEUP)
    pd.testing.assert_frame_equal(LINEUP, before)  # never mutated
    assert isinstance(result, ScenarioEdit) and result.changes
    assert result.lineup is not LINEUP
    assert result.lineup.dtypes.equals(LINEUP.dtypes)
    assert isinstance(result.lineup.index, pd.RangeIndex)
    # The loader accepts the edited line-up as if it came from a file.
    load.validate_lineup(text(result.lineup), "scenario", SEGMENTS)
    savings_of(result.lineup)  # and the engine runs on it


def test_make_leader_swaps_within_family_default_data_saves_the_same():
    edit = make_leader(LINEUP, "N05")
    assert role(edit, "N05") == ("F03", "leader") and role(edit, "R04") == ("F03", "follower")
    assert edit.changes == ("R04 Captur II becomes follower in F03 (was leader)",
                            "N05 Juke F16 becomes leader of F03 (was follower)")
    # Three B models of D = 600: r = 1 - (600 + 0.2 x 1200) / 1800 = 53% whoever leads, capped at 40%.
    before, after = savings_of(LINEUP), savings_of(edit.lineup)
    assert after["dev_saving_eur_m"].sum() - before["dev_saving_eur_m"].sum() == pytest.approx(0.0, abs=1e-9)
    assert after.loc[["R04", "N05", "M02"], "dev_saving_eur_m"].tolist() == pytest.approx([240.0] * 3)


def test_make_leader_unequal_pair_hand_computed():
    # the pair alone (the Micra EV's predecessor N03 is not in it, so it replaces nothing here)
    lineup = LINEUP[LINEUP["family_id"] == "F04"].assign(dev_cost_eur_m=[1000.0, 500.0], replaces="")
    lineup = lineup.reset_index(drop=True)
    # R05 (D 1000) leads: r = 1 - (1000 + 0.2 x 500) / 1500 = 26.7% -> 400 EUR m saved in all.
    assert savings_of(lineup)["dev_saving_eur_m"].sum() == pytest.approx(400.0)
    # N06 (D 500) leads: r = 1 - (500 + 0.2 x 1000) / 1500 = 53.3%, capped at 40% -> 600 EUR m.
    edit = make_leader(lineup, "N06")
    assert savings_of(edit.lineup)["dev_saving_eur_m"].sum() == pytest.approx(600.0)


def test_make_follower_moves_a_leader_with_promotion():
    edit = make_follower(LINEUP, "R04", "F01", promote="N05")
    assert role(edit, "R04") == ("F01", "follower") and role(edit, "N05") == ("F03", "leader")
    assert role(edit, "M02") == ("F03", "follower")
    assert edit.changes[-1] == "R04 Captur II becomes follower in F01 (was leader in F03)"
    prov = edit.lineup.set_index("model_id").loc["R04", ["family_id_prov", "role_prov"]]
    assert prov.tolist() == ["scenario", "scenario"]


def test_make_follower_standalone_joins_family_hand_computed():
    edit = make_follower(LINEUP, "M03", "F03")  # C-segment SUV, D = 900, 120,000 a year
    before, after = savings_of(LINEUP).loc["M03"], savings_of(edit.lineup).loc["M03"]
    assert before["dev_saving_eur_m"] == 0.0 and before["scheme"] == "none"
    # F03 = 600 + 600 + 600 + 900; r = 1 - (600 + 0.2 x 2100) / 2700 = 62% -> capped 40% of 900 = 360.
    assert after["dev_saving_eur_m"] == pytest.approx(360.0)
    assert after["annual_production_saving_eur_m"] == pytest.approx(0.03 * 18000 * 120000 / 1e6)  # 64.8
    assert after["annual_other_saving_eur_m"] == pytest.approx(0.01 * 18000 * 120000 / 1e6)  # 21.6


def test_leave_family_hand_computed():
    edit = leave_family(LINEUP, "M02")
    assert role(edit, "M02") == ("", "standalone") and role(edit, "R04") == ("F03", "leader")
    before, after = savings_of(LINEUP), savings_of(edit.lineup)
    # M02 (B, 30,000 a year, common platform) moves from the family to the platform scheme.
    assert after.loc["M02", "dev_saving_eur_m"] == pytest.approx(0.15 * 600)  # was 240
    assert after.loc["M02", "annual_production_saving_eur_m"] == pytest.approx(0.01 * 12000 * 30000 / 1e6)  # 3.6
    assert after.loc["M02", "annual_other_saving_eur_m"] == 0.0
    # R04 + N05 alone: r = 1 - (600 + 120) / 1200 = 40% exactly: unchanged.
    diff = after["dev_saving_eur_m"].sum() - before["dev_saving_eur_m"].sum()
    assert diff == pytest.approx(90.0 - 240.0)


def test_leave_family_of_a_pair_dissolves_it():
    edit = leave_family(LINEUP, "N06")
    assert role(edit, "N06") == ("", "standalone") and role(edit, "R05") == ("", "standalone")
    assert edit.changes == ("R05 5 E-Tech becomes standalone: family F04 has no other model left",
                            "N06 Micra EV leaves F04 and becomes standalone (was follower)")
    assert "F04" not in set(edit.lineup["family_id"])


def test_leave_family_of_standalone_is_a_noted_no_op():
    edit = leave_family(LINEUP, "M03")
    pd.testing.assert_frame_equal(edit.lineup, LINEUP)
    assert "no change" in edit.changes[0]


@pytest.mark.parametrize(
    ("launch", "end", "expected"),
    [
        pytest.param(2027, None, (2027, 2034), id="keeps-run-length-2025-2032"),
        pytest.param(2023, None, (2023, 2030), id="earlier-keeps-run-length"),
        pytest.param(2027, 2029, (2027, 2029), id="explicit-end"),
    ],
)
def test_move_launch(launch, end, expected):
    edit = move_launch(LINEUP, "N06", launch, end)
    row = edit.lineup.set_index("model_id").loc["N06"]
    assert (row["launch_year"], row["end_year"]) == expected
    assert edit.changes == (f"N06 Micra EV: launch 2025 -> {expected[0]}, end 2032 -> {expected[1]}",)


def test_move_launch_moves_phased_savings():
    # N06 (B, 30,000 a year, F04 follower) launched 2027 instead of 2025: its one on-sale year in
    # 2020-2025 goes, (3% + 1%) x 12,000 x 30,000 / 1e6 = 14.4 EUR m; development 2022-2024 -> 2024-2026:
    # one of three years (80 of 240 EUR m) leaves the window.
    def total(lineup):
        by = savings.calc_savings_by_year(savings_of(lineup), A, start_year=2020, end_year=2025)
        return by["saving_eur_m"].sum()

    edit = move_launch(LINEUP, "N06", 2027)
    assert total(LINEUP) - total(edit.lineup) == pytest.approx(14.4 + 80.0)


def test_drop_model_hand_computed():
    edit = drop_model(LINEUP, "M02")
    assert len(edit.lineup) == len(LINEUP) - 1 and "M02" not in set(edit.lineup["model_id"])
    diff = savings_of(LINEUP)["dev_saving_eur_m"].sum() - savings_of(edit.lineup)["dev_saving_eur_m"].sum()
    assert diff == pytest.approx(240.0)  # F03 pair still saves exactly 40%
    assert edit.changes == ("dropped M02 ASX (2023) (Mitsubishi, B EU, 30,000 units a year, was in F03)",)


def test_drop_leader_with_promotion_of_the_only_follower():
    edit = drop_model(LINEUP, "R05", promote="N06")
    assert role(edit, "N06") == ("", "standalone")
    assert [c.split(" ")[0] for c in edit.changes] == ["N06", "N06", "dropped"]


def test_drop_predecessor_clears_the_successors_replaces():
    edit = drop_model(LINEUP, "N03")  # the Micra K14, which the Micra EV (N06) replaces
    assert edit.lineup.set_index("model_id").loc["N06", "replaces"] == ""
    assert edit.changes[0] == "N06 Micra EV no longer replaces N03 (dropped)"
    assert edit.changes[-1].startswith("dropped N03")


def test_add_model_hand_computed():
    edit = add_model(LINEUP, **NEW_MODEL)
    row = edit.lineup.iloc[-1]
    assert (row["model_id"], row["role"], row["common_platform"], row["trim"]) == ("M99", "follower", True, "no")
    assert row["segment_prov"] == "scenario"
    # F04 = 600 + 600 + 350: r = 1 - (600 + 0.2 x 950) / 1550 = 49% -> capped 40% of 350 = 140.
    assert savings_of(edit.lineup).loc["M99", "dev_saving_eur_m"] == pytest.approx(140.0)


def test_make_leader_starts_a_new_family_then_followers_join():
    edit = make_follower(make_leader(LINEUP, "R06", "F90"), "N10", "F90")
    assert role(edit, "R06") == ("F90", "leader") and role(edit, "N10") == ("F90", "follower")
    assert "new family F90" in edit.changes[0]


def test_chaining_accumulates_changes():
    edit = drop_model(make_follower(LINEUP, "R04", "F03", promote="N05"), "M02")
    assert len(edit.changes) == 3 and edit.changes[0].startswith("N05 Juke F16 becomes leader of F03")
    assert edit.changes[-1].startswith("dropped M02")
    assert set(edit.lineup.loc[edit.lineup["family_id"] == "F03", "model_id"]) == {"R04", "N05"}
    assert repr(edit).splitlines()[0] == f"ScenarioEdit({len(LINEUP) - 1} models, 3 change(s))"
    assert repr(edit).count("\n  - ") == 3


def test_repr_html_escapes_text():
    edit = ScenarioEdit(LINEUP, ("<b>R04</b> & co",))
    assert "&lt;b&gt;R04&lt;/b&gt; &amp; co" in edit._repr_html_() and "<ol>" in edit._repr_html_()


def test_edited_lineup_drives_the_savings_report():
    edit = leave_family(LINEUP, "M02")
    frame = set_assumption(ASSUMPTIONS, "production_saving_rate", 0.02)
    report = tables.build_savings_report(lineup=edit.lineup, assumptions=frame)
    values = load.assumption_values(frame)
    ms = savings.calc_model_savings(edit.lineup, values)
    by = savings.calc_savings_by_year(ms, values)
    assert report.headline["total_savings_eur_m"] == pytest.approx(by["saving_eur_m"].sum())


def test_set_assumption_returns_a_new_frame_with_provenance():
    before = ASSUMPTIONS.copy(deep=True)
    out = set_assumption(ASSUMPTIONS, "max_saving_rate", 0.3)
    pd.testing.assert_frame_equal(ASSUMPTIONS, before)
    assert out.loc["max_saving_rate", "value"] == 0.3
    assert out.loc["max_saving_rate", ["provenance", "source"]].tolist() == ["scenario", "scenario (was 0.4)"]
    assert out.drop(index="max_saving_rate").equals(ASSUMPTIONS.drop(index="max_saving_rate"))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda: make_follower(LINEUP, "R04", "F01"), "family 'F03' would be left without a leader",
                     id="leader-leaves-followers-without-promote"),
        pytest.param(lambda: make_follower(LINEUP, "R04", "F03"), "pass promote= one of its other models: N05",
                     id="leader-steps-down-without-promote"),
        pytest.param(lambda: drop_model(LINEUP, "R05"), "R05 5 E-Tech leads family 'F04'", id="drop-leader"),
        pytest.param(lambda: leave_family(LINEUP, "R04", promote="N01"), "not another model of family 'F03'",
                     id="promote-outside-family"),
        pytest.param(lambda: leave_family(LINEUP, "N05", promote="M02"), "applies only when a leader",
                     id="promote-for-a-follower"),
        pytest.param(lambda: make_leader(LINEUP, "Juke"), "did you mean 'N05 Juke F16'", id="unknown-model-by-name"),
        pytest.param(lambda: drop_model(LINEUP, "r04"), "did you mean 'R04 Captur II'", id="unknown-model-case"),
        pytest.param(lambda: make_follower(LINEUP, "M03", "F3"), "did you mean 'F23', 'F13', 'F03'", id="unknown-family"),
        pytest.param(lambda: make_leader(LINEUP, "M03"), "is standalone; pass family_id=", id="standalone-no-family"),
        pytest.param(lambda: move_launch(LINEUP, "N06", 2026, 2024),
                     "scenario model N06 Micra EV, column 'launch_year': value 2026 is after end_year 2024",
                     id="launch-after-end"),
        pytest.param(lambda: move_launch(LINEUP, "N06", 2026.5), "not a whole year", id="fractional-year"),
        pytest.param(lambda: add_model(LINEUP, **{**NEW_MODEL, "role": "leader"}),
                     "scenario models R05 5 E-Tech, M99 Colt EV, column 'role': family 'F04' has 2 leaders",
                     id="add-second-leader"),
        pytest.param(lambda: add_model(LINEUP, **{**NEW_MODEL, "model_id": "R04"}), "duplicate id",
                     id="add-duplicate-id"),
        pytest.param(lambda: add_model(LINEUP, **{**NEW_MODEL, "member": "Mitsubish", "segment": "E"}),
                     "did you mean 'Mitsubishi'", id="add-bad-member"),
        pytest.param(lambda: add_model(LINEUP, **{**NEW_MODEL, "famly_id": "F04"}), "did you mean 'family_id'",
                     id="add-unknown-field"),
        pytest.param(lambda: set_assumption(ASSUMPTIONS, "max_saving", 0.3), "did you mean 'max_saving_rate'",
                     id="assumption-unknown-key"),
        pytest.param(lambda: set_assumption(ASSUMPTIONS, "max_saving_rate", 1.5), "from 0 to 1",
                     id="assumption-rate-above-1"),
        pytest.param(lambda: make_leader(LINEUP.assign(role="leader"), "N05"), "already breaks the rules",
                     id="broken-input"),
        pytest.param(lambda: make_leader("lineup.csv", "N05"), "expected a line-up DataFrame", id="not-a-frame"),
    ],
)
def test_errors_are_clear(call, match):
    with pytest.raises(ParameterError) as info:
        call()
    assert match in info.value.report()


def test_add_model_lists_every_problem_at_once():
    with pytest.raises(ParameterError) as info:
        add_model(LINEUP, **{**NEW_MODEL, "model_id": "R04", "member": "Nope", "launch_year": 1800,
                             "annual_volume": -1, "segment": "E"})
    report = info.value.report()
    for piece in ("member", "launch_year", "annual_volume", "duplicate id", "no cost assumptions"):
        assert piece in report


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: make_follower(LINEUP, "N05", "F03"), id="already-follower"),
        pytest.param(lambda: make_leader(LINEUP, "R04"), id="already-leader"),
    ],
)
def test_no_op_edits_say_so(call):
    edit = call()
    pd.testing.assert_frame_equal(edit.lineup, LINEUP)
    assert edit.changes[0].endswith("(no change)")
