"""The packaged Alliance line-up, assumptions and sources: contents and provenance."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from alliance_fin import paths
from alliance_fin.inputs.load import load_assumptions, load_families, load_lineup, load_sources

PROV = re.compile(r"^(A|D|S:\d+)(; (A|D|S:\d+))*$")


@pytest.fixture(scope="module")
def lineup() -> pd.DataFrame:
    return load_lineup()


def test_counts_per_member(lineup):
    # issue 14: the full range (156 models) plus 12 rest-of-range aggregate rows
    assert len(lineup) == 168
    assert lineup["member"].value_counts().to_dict() == {"Nissan": 76, "Renault": 66, "Mitsubishi": 26}
    assert (lineup["rest_of_range"] == "yes").sum() == 12


def test_families_have_one_leader_and_followers(lineup):
    fam = lineup[lineup["family_id"] != ""]
    assert fam["family_id"].nunique() == 27
    leaders = fam[fam["role"] == "leader"].groupby("family_id").size()
    assert (leaders == 1).all() and len(leaders) == 27
    assert (fam.groupby("family_id").size() >= 2).all()
    assert set(lineup.loc[lineup["family_id"] == "", "role"]) == {"standalone"}


@pytest.mark.parametrize("model_id, family, role", [
    ("N02", "F01-2", "leader"),      # Qashqai J12 leads the Austral
    ("R02", "F01-2", "follower"),
    ("N19", "F14-2", "follower"),    # Triton-based Navara
    ("N18", "F14", "leader"),        # draft said "leader (old gen)"
    ("D03", "", "standalone"),       # Spring: leader of nothing in the line-up
    ("N04", "", "standalone"),       # Note E13: Nissan-developed on CMF-B (issue 14)
    ("N05", "", "standalone"),       # Juke F16: Nissan-developed on CMF-B
    ("N09", "", "standalone"),       # Ariya and Megane E-Tech: separate developments
    ("R11", "", "standalone"),
    ("N14", "", "standalone"),       # next Kicks: not a Kardian follower
])
def test_cleaning_decisions(lineup, model_id, family, role):
    row = lineup.set_index("model_id").loc[model_id]
    assert (row["family_id"], row["role"]) == (family, role)


def test_navara_launch_cleaned_to_2026(lineup):
    assert lineup.set_index("model_id").loc["N19", "launch_year"] == 2026


def test_provenance_present_for_every_row_and_known_sources(lineup):
    sources = load_sources()
    prov_cols = [c for c in lineup.columns if c.endswith("_prov")]
    assert len(prov_cols) == 14
    for col in prov_cols:
        value_col = col[: -len("_prov")]
        needed = lineup[value_col] != "" if value_col in ("replaces", "scheme_since") else lineup[col] == lineup[col]
        assert lineup.loc[needed, col].str.match(PROV).all(), col
        assert (lineup.loc[~needed, col] == "").all(), col
        keys = {k for v in lineup[col] for k in v.split("; ") if k.startswith("S:")}
        assert keys <= set(sources.index), col
    assert (lineup["annual_volume_prov"] != "").all()


def test_text_survives_exactly(lineup):
    names = set(lineup["model_name"])
    assert "Mégane E-Tech Electric" in names
    assert "São José dos Pinhais" in set(lineup["plant"])


def test_assumptions_have_unit_and_provenance():
    a = load_assumptions()
    assert a.loc["max_saving_rate", "value"] == 0.40
    assert a.loc["follower_diff_share", "value"] == 0.20
    assert {"fx_eur_gbp", "fx_eur_jpy", "fx_eur_usd", "target_lf_share", "target_platform_year"} <= set(a.index)
    assert (a["unit"] != "").all()
    assert set(a["provenance"]) <= {"sourced", "assumed"}
    sourced = a[a["provenance"] == "sourced"]
    assert (sourced["source"] != "").all()
    segments = set(load_lineup()["segment"])
    for seg in segments:
        assert f"dev_cost_eur_m_{seg}" in a.index and f"unit_cost_eur_{seg}" in a.index


def test_alaskan_ends_2025_without_successor(lineup):
    row = lineup.set_index("model_id").loc["R20"]
    assert (row["end_year"], row["trim"]) == (2025, "yes")


def test_families_table_covers_lineup_and_plan(lineup):
    fams = load_families()
    plan = load_lineup(paths.DATA_DIR / "plan.csv")
    used = set(lineup.loc[lineup["family_id"] != "", "family_id"]) | set(plan.loc[plan["family_id"] != "", "family_id"])
    assert used == set(fams.index)
