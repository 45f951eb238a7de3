"""Tests of alliance_fin.engines.trimming: each rule, the rule order, migration order, shares, errors."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance_fin.engines.trimming import RULES, calc_trimming, calc_trimming_headline
from alliance_fin.errors import ParameterError
from alliance_fin.inputs import load

# Hand-set assumptions: only what trimming (and the savings engine's D_i) reads.
A = {
    "max_saving_rate": 0.40, "follower_diff_share": 0.20, "platform_saving_rate": 0.15,
    "production_saving_rate": 0.03, "platform_production_saving_rate": 0.01,
    "other_saving_rate": 0.01, "dev_lead_years": 3.0,
    "dev_cost_eur_m_B": 600.0, "dev_cost_eur_m_C": 900.0,
    "unit_cost_eur_B": 12000.0, "unit_cost_eur_C": 18000.0,
    "min_volume": 20000.0, "migration_rate": 0.5, "contribution_margin_rate": 0.15,
}


def model(model_id: str, *, member: str = "Renault", segment: str = "B", region: str = "EU",
          family: str = "", role: str | None = None, cp: bool = True, trim: str = "no",
          volume: float = 100_000.0, launch: int = 2019, end: int = 2027,
          dev: float = math.nan) -> dict:
    """One line-up row with the loaded dtypes' values."""
    return {
        "model_id": model_id, "member": member, "brand": member, "model_name": f"Car {model_id}",
        "segment": segment, "platform": "CMF-B" if cp else "own", "region": region,
        "launch_year": launch, "end_year": end, "annual_volume": float(volume),
        "family_id": family, "role": role or ("follower" if family else "standalone"),
        "common_platform": cp, "trim": trim, "dev_cost_eur_m": dev,
    }


def lineup(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def reasons(result) -> dict[str, str]:
    return result.models["reason"].to_dict()


# ----------------------------------------------------------------------------- rules
RULE_CASES = [
    pytest.param([model("X", trim="yes")], {}, {"X": "planned"}, id="planned-trim-yes"),
    pytest.param([model("X", trim="replaced")], {}, {"X": ""}, id="replaced-is-not-a-cut"),
    pytest.param([model("X", volume=19_999)], {}, {"X": "low_volume"}, id="low-volume-below"),
    pytest.param([model("X", volume=20_000)], {}, {"X": ""}, id="low-volume-exactly-threshold"),
    pytest.param([model("L", family="F1", role="leader", volume=100), model("F", family="F1", volume=100)],
                 {}, {"L": "", "F": "low_volume"}, id="low-volume-leader-exempt"),
    pytest.param([model("X", volume=50), model("Y", volume=50)], {"min_volume": 10},
                 {"X": "", "Y": ""}, id="low-volume-keyword-override"),
    pytest.param([model("N", member="Nissan", cp=False),
                  model("RL", family="F1", role="leader"), model("RF", member="Mitsubishi", family="F1")],
                 {}, {"N": "overlap", "RL": "", "RF": ""}, id="overlap-partner-twin"),
    pytest.param([model("N", member="Nissan", cp=False, trim="replaced"),
                  model("RL", family="F1", role="leader"), model("RF", member="Mitsubishi", family="F1")],
                 {}, {"N": "", "RL": "", "RF": ""}, id="overlap-leaves-replaced-models-to-their-successor"),
    pytest.param([model("N", member="Nissan", cp=False),
                  model("NL", member="Nissan", family="F1", role="leader"), model("NF", member="Nissan", family="F1")],
                 {}, {"N": "", "NL": "", "NF": ""}, id="overlap-needs-other-member"),
    pytest.param([model("N", member="Nissan", cp=False), model("R")],
                 {}, {"N": "", "R": ""}, id="overlap-needs-family"),
    pytest.param([model("N", member="Nissan", cp=False),
                  model("RL", family="F1", role="leader", cp=False), model("RF", family="F1", cp=False)],
                 {}, {"N": "", "RL": "", "RF": ""}, id="overlap-needs-common-platform"),
    pytest.param([model("N", member="Nissan", cp=False, region="JP"),
                  model("RL", family="F1", role="leader"), model("RF", family="F1")],
                 {}, {"N": "", "RL": "", "RF": ""}, id="overlap-needs-same-region"),
    pytest.param([model("N", member="Nissan", trim="yes", volume=10),
                  model("RL", family="F1", role="leader"), model("RF", family="F1")],
                 {}, {"N": "planned", "RL": "", "RF": ""}, id="order-planned-before-low-volume"),
    pytest.param([model("N", member="Nissan", cp=False, volume=10),
                  model("RL", family="F1", role="leader"), model("RF", family="F1")],
                 {}, {"N": "low_volume", "RL": "", "RF": ""}, id="order-low-volume-before-overlap"),
    pytest.param([model("X", trim="yes", volume=10)], {"rules": ("low_volume", "overlap")},
                 {"X": "low_volume"}, id="planned-switched-off"),
    pytest.param([model("X", trim="yes", volume=10)], {"rules": ()}, {"X": ""}, id="all-rules-off"),
    pytest.param([model("X", trim="yes", volume=10)], {"rules": "planned"}, {"X": "planned"},
                 id="rules-as-one-string"),
    pytest.param([model("X"), model("Y")], {"cut": ["Y"]}, {"X": "", "Y": "manual"}, id="manual-cut"),
    pytest.param([model("X", trim="yes"), model("Y", volume=1)], {"keep": ["X", "Y"]},
                 {"X": "", "Y": ""}, id="keep-overrides-rules"),
    pytest.param([model("X", trim="yes")], {"cut": ["X"]}, {"X": "manual"}, id="cut-list-beats-planned"),
]


@pytest.mark.parametrize(("rows", "kwargs", "expected"), RULE_CASES)
def test_rules_give_reason(rows, kwargs, expected):
    result = calc_trimming(lineup(*rows), A, **kwargs)
    assert reasons(result) == expected
    assert result.models["cut"].to_dict() == {k: v != "" for k, v in expected.items()}


@pytest.mark.parametrize(("kwargs", "names"), [
    pytest.param({"keep": ["X", "nope"]}, ["nope"], id="unknown-keep"),
    pytest.param({"cut": ["zz", "aa"]}, ["aa", "zz"], id="unknown-cut"),
    pytest.param({"keep": ["X"], "cut": ["X"]}, ["X"], id="kept-and-cut"),
    pytest.param({"rules": ("planned", "bogus")}, ["bogus"], id="unknown-rule"),
    pytest.param({"migration_rate": 1.5}, ["migration_rate"], id="rate-above-one"),
    pytest.param({"min_volume": -1}, ["min_volume"], id="negative-min-volume"),
    pytest.param({"cut_year": 2020.5}, ["cut_year"], id="cut-year-not-int"),
    pytest.param({"cut_year": 2050}, ["cut_year"], id="cut-year-out-of-range"),
    pytest.param({"reference_year": 2026}, ["reference_year = 2026", "2020 to end_year 2025"],
                 id="reference-year-after-window"),
    pytest.param({"reference_year": 2019}, ["reference_year = 2019", "outside the report window"],
                 id="reference-year-before-window"),
    pytest.param({"reference_year": 2022, "start_year": 2023, "end_year": 2030}, ["reference_year = 2022"],
                 id="reference-year-before-a-moved-window"),
    pytest.param({"reference_year": 2024.0}, ["reference_year = 2024.0"], id="reference-year-not-int"),
])
def test_bad_parameters_raise_naming_them(kwargs, names):
    with pytest.raises(ParameterError) as err:
        calc_trimming(lineup(model("X")), A, **kwargs)
    for name in names:
        assert name in str(err.value)


def test_missing_assumption_is_named():
    with pytest.raises(ParameterError, match="min_volume"):
        calc_trimming(lineup(model("X")), {k: v for k, v in A.items() if k != "min_volume"})


# ----------------------------------------------------------------------------- migration
def _migration_lineup(*, family=True, member=True, other=True) -> pd.DataFrame:
    """Cut model X (Nissan follower of F1, planned to end 2024) and one candidate per tier."""
    rows = [model("X", member="Nissan", family="F1", trim="yes", volume=30_000, end=2024)]
    if family:
        rows.append(model("FAM", member="Renault", family="F1", role="leader", volume=25_000))
    else:
        rows.append(model("FAM", member="Renault", family="F1", role="leader", segment="C", volume=25_000))
    if member:
        rows.append(model("MEM", member="Nissan", volume=50_000))
    if other:
        rows.append(model("ANY", member="Mitsubishi", volume=90_000))
    return lineup(*rows)


@pytest.mark.parametrize(("tiers", "to", "match"), [
    pytest.param({}, "FAM", "family", id="family-first"),
    pytest.param({"family": False}, "MEM", "member", id="then-same-member"),
    pytest.param({"family": False, "member": False}, "ANY", "any", id="then-any-member"),
    pytest.param({"family": False, "member": False, "other": False}, "", "none", id="else-lost"),
])
def test_migration_order(tiers, to, match):
    result = calc_trimming(_migration_lineup(**tiers), A)
    move = result.moves.set_index("from_model_id").loc["X"]
    assert (move["to_model_id"], move["match"]) == (to, match)
    assert move["cut_volume"] == 30_000
    assert move["migrated_volume"] == (15_000 if to else 0)
    assert move["lost_volume"] == (15_000 if to else 30_000)
    if to:
        assert result.models.loc[to, "receives_volume"] == 15_000
        assert result.models.loc[to, "volume_after"] == result.models.loc[to, "annual_volume"] + 15_000


@pytest.mark.parametrize(("candidates", "to"), [
    pytest.param([("M2", 40_000), ("M1", 50_000)], "M1", id="highest-volume-wins"),
    pytest.param([("M2", 50_000), ("M1", 50_000)], "M1", id="equal-volume-smallest-id"),
    pytest.param([("M1", 40_000), ("M2", 50_000)], "M2", id="volume-before-id"),
])
def test_migration_ties(candidates, to):
    rows = [model("X", trim="yes", end=2024)] + [model(mid, volume=v) for mid, v in candidates]
    assert calc_trimming(lineup(*rows), A).moves.loc[0, "to_model_id"] == to


@pytest.mark.parametrize(("rows", "to"), [
    pytest.param([model("X", trim="yes"), model("Y", trim="yes")], "", id="cut-models-receive-nothing"),
    pytest.param([model("X", trim="yes", end=2024), model("Y", end=2024)], "", id="receiver-gone-before-free"),
    pytest.param([model("X", trim="yes", end=2024), model("Y", end=2025)], "Y", id="receiver-active-when-free"),
    pytest.param([model("X", volume=10, end=2024), model("Y", end=2020)], "Y",
                 id="rule-cut-frees-volume-at-cut-year"),
    pytest.param([model("X", trim="yes"), model("Y", segment="C")], "", id="other-segment-no-match"),
])
def test_receiver_must_be_retained_and_in_production(rows, to):
    assert calc_trimming(lineup(*rows), A).moves.loc[0, "to_model_id"] == to


@pytest.mark.parametrize(("rate", "migrated"), [
    pytest.param(0.0, 0.0, id="rate-0"), pytest.param(0.25, 7_500.0, id="rate-quarter"),
    pytest.param(1.0, 30_000.0, id="rate-1"),
])
def test_migration_rate_keyword_wins(rate, migrated):
    result = calc_trimming(_migration_lineup(), A, migration_rate=rate)
    assert result.moves.loc[0, "migrated_volume"] == pytest.approx(migrated)
    assert result.migration_rate == rate


def test_cut_from_year():
    rows = [model("P", trim="yes", end=2023), model("R", volume=1, launch=2018, end=2030),
            model("E", volume=1, launch=2015, end=2018), model("F", volume=1, launch=2024, end=2030),
            model("K")]
    got = calc_trimming(lineup(*rows), A, cut_year=2021).models["cut_from_year"]
    assert got.iloc[:4].tolist() == [2024, 2021, 2019, 2024]
    assert got.isna().tolist() == [False] * 4 + [True]


# ----------------------------------------------------------------------------- shares and tables
def _share_lineup() -> pd.DataFrame:
    # cp volumes 100k + 60k, off-platform 40k (planned cut, migrates 50% = 20k to the cp model A)
    return lineup(model("A", volume=100_000), model("B", segment="C", volume=60_000),
                  model("C", cp=False, trim="yes", volume=40_000, end=2024))


def test_share_formulas_by_hand():
    result = calc_trimming(_share_lineup(), A)
    shares = result.shares.set_index("metric")
    assert shares.loc["common_platform_model_share", "before"] == pytest.approx(2 / 3)
    assert shares.loc["common_platform_model_share", "after"] == pytest.approx(1.0)
    assert shares.loc["common_platform_volume_share", "before"] == pytest.approx(160 / 200)
    assert shares.loc["common_platform_volume_share", "after"] == pytest.approx(1.0)
    assert result.models.loc["A", "volume_after"] == 120_000
    head = calc_trimming_headline(result)
    assert head == {"models_before": 3, "models_after": 2,
                    "common_platform_volume_share_before": pytest.approx(0.8),
                    "common_platform_volume_share_after": pytest.approx(1.0),
                    "net_trimming_benefit_eur_m": pytest.approx(head["net_trimming_benefit_eur_m"])}
    assert type(head["models_before"]) is int and type(head["common_platform_volume_share_after"]) is float


def test_share_after_counts_migrated_volume():
    rows = [model("A", volume=100_000), model("O", cp=False, volume=60_000),
            model("X", cp=False, trim="yes", volume=40_000, end=2024)]
    shares = calc_trimming(lineup(*rows), A).shares.set_index("metric")
    # X (off-platform) moves 20k to A: same member as O too, and A has the higher volume
    assert shares.loc["common_platform_volume_share", "after"] == pytest.approx(120 / 180)


def test_everything_cut_gives_zero_shares():
    result = calc_trimming(lineup(model("X", trim="yes", end=2024)), A)
    assert result.shares["after"].tolist() == [0.0, 0.0]
    assert calc_trimming_headline(result)["models_after"] == 0


def test_before_after_and_plans():
    rows = [model("N1", member="Nissan"), model("N2", member="Nissan", trim="yes", end=2024),
            model("R1", region="JP", segment="C")]
    result = calc_trimming(lineup(*rows), A)
    ba = result.before_after.set_index(["dimension", "value"])
    assert ba.loc[("total", "all")].tolist() == [3, 2, -1]
    assert ba.loc[("member", "Nissan")].tolist() == [2, 1, -1]
    assert ba.loc[("member", "Renault")].tolist() == [1, 1, 0]
    assert ba.loc[("segment", "B")].tolist() == [2, 1, -1]
    assert ba.loc[("region", "JP")].tolist() == [1, 1, 0]
    plans = result.plans.set_index("plan")
    assert plans.loc["Nissan NEXT", "source"] == "S:110"
    assert plans.loc["Nissan NEXT", "lineup_change_share"] == pytest.approx(-0.5)
    assert plans.loc["Renaulution", ["published_before", "published_after"]].tolist() == [6, 3]
    assert plans.loc["Renaulution", "source"] == "S:111"


def test_avoided_dev_uses_scheme_investment_of_segment_default_or_own_cost():
    rows = [model("X", trim="yes"), model("Y", segment="C", trim="yes", dev=700.0), model("Z")]
    dev = calc_trimming(lineup(*rows), A).avoided_dev
    # both on a common platform without a twin: they spend D x (1 - 15%) under the scheme
    assert dev["avoided_dev_eur_m"].to_dict() == pytest.approx({"X": 510.0, "Y": 595.0})
    assert dev["reason"].tolist() == ["planned", "planned"]


def test_repr_is_short_and_html_escaped():
    rows = [model("<b>", trim="yes", end=2024), model("Y")]
    result = calc_trimming(lineup(*rows), A)
    assert repr(result).startswith("TrimmingResult(models: 2 -> 1")
    assert "<table>" in result._repr_html_()


def test_string_yes_no_common_platform_is_understood():
    frame = lineup(model("A"), model("B", cp=False))
    frame["common_platform"] = ["yes", "no"]
    assert calc_trimming(frame, A).models["common_platform"].tolist() == [True, False]


def test_default_lineup():
    data = load.load_lineup()
    values = load.assumption_values(load.load_assumptions())
    result = calc_trimming(data, values)
    head = calc_trimming_headline(result)
    assert head["models_before"] <= len(data)
    assert head["models_after"] < head["models_before"]
    assert result.models.loc[data.loc[data["trim"] == "yes", "model_id"], "reason"].eq("planned").all()
    assert result.models.loc[result.models["role"].eq("leader"), "reason"].ne("low_volume").all()
    assert 0 <= head["common_platform_volume_share_after"] <= 1


# ----------------------------------------------------------------------------- properties
@st.composite
def lineups(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    rows, leaders = [], set()
    for i in range(n):
        fam = draw(st.sampled_from(["", "F1", "F2"]))
        role = "standalone" if not fam else ("leader" if fam not in leaders else "follower")
        leaders.add(fam)
        launch = draw(st.integers(2012, 2026))
        rows.append(model(
            f"M{i}", member=draw(st.sampled_from(["Renault", "Nissan", "Mitsubishi"])),
            segment=draw(st.sampled_from(["B", "C"])), region=draw(st.sampled_from(["EU", "JP"])),
            family=fam, role=role, cp=draw(st.booleans()),
            trim=draw(st.sampled_from(["yes", "replaced", "no"])),
            volume=draw(st.integers(0, 60)) * 1000, launch=launch,
            end=launch + draw(st.integers(0, 8))))
    return lineup(*rows)


@settings(max_examples=50, deadline=None)
@given(frame=lineups(), rate=st.floats(0, 1), min_volume=st.integers(0, 40_000),
       rules=st.sets(st.sampled_from(RULES)), cut_year=st.integers(2015, 2030))
def test_properties(frame, rate, min_volume, rules, cut_year):
    result = calc_trimming(frame, A, migration_rate=rate, min_volume=min_volume,
                           rules=rules, cut_year=cut_year)
    head = calc_trimming_headline(result)
    assert head["models_after"] <= head["models_before"]
    moves = result.moves
    assert (moves["migrated_volume"] <= moves["cut_volume"] + 1e-9).all()
    assert (moves["lost_volume"] >= -1e-9).all()
    # volume is conserved: what stays + what is lost = what was there
    total_after = result.models["volume_after"].sum() + moves["lost_volume"].sum()
    assert total_after == pytest.approx(result.models["annual_volume"].sum())
    assert ((result.shares[["before", "after"]] >= 0) & (result.shares[["before", "after"]] <= 1)).all().all()
    assert set(moves["to_model_id"]) - {""} <= set(result.models.index[~result.models["cut"]])
    assert len(moves) == result.models["cut"].sum() == len(result.avoided_dev)


def test_default_lineup_figures_quoted_in_methodology():
    """The figures docs/methodology.md quotes for the packaged data (keep the doc in step)."""
    values = load.assumption_values(load.load_assumptions())
    result = calc_trimming(load.load_lineup(), values)
    head = calc_trimming_headline(result)
    assert (head["models_before"], head["models_after"]) == (112, 72)  # on sale in 2025
    assert result.models.loc[result.models["cut"], "reason"].value_counts().to_dict() == {
        "planned": 34, "low_volume": 18, "overlap": 5}
    assert round(head["common_platform_volume_share_before"], 3) == 0.679
    assert round(head["common_platform_volume_share_after"], 3) == 0.761
    assert result.moves["cut_volume"].sum() == 2_309_000
    assert result.moves["migrated_volume"].sum() == 899_000
    assert result.avoided_dev["avoided_dev_eur_m"].sum() == pytest.approx(36_025)  # scheme basis, lifetime
    assert round(result.avoided_dev["avoided_dev_window_eur_m"].sum()) == 24_303
    assert round(head["net_trimming_benefit_eur_m"]) == 13_282


def test_engines_read_text_yes_no_flags_alike():
    """A line-up built in memory with text flags: savings and trimming read them the same way."""
    from alliance_fin.engines.savings import calc_model_savings

    values = load.assumption_values(load.load_assumptions())
    lineup = load.load_lineup()
    text = lineup.assign(common_platform=lineup["common_platform"].map({True: "Yes", False: "no"}))
    assert calc_trimming(text, values).shares.equals(calc_trimming(lineup, values).shares)
    assert calc_model_savings(text, values).equals(calc_model_savings(lineup, values))
