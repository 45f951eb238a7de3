"""Tests of alliance_fin.engines.savings: hand-computed cases, properties (hypothesis), errors.

The grid and the tornado are tested in tests/test_savings_sensitivity.py.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance_fin.engines import savings, sensitivity
from alliance_fin.errors import InputError, ParameterError
from alliance_fin.inputs import load

ROOT = Path(__file__).resolve().parents[2]

# Hand-set assumptions (not the packaged ones) so that expected values are computed by hand here.
A = {
    "max_saving_rate": 0.40,
    "follower_diff_share": 0.20,
    "platform_saving_rate": 0.15,
    "production_saving_rate": 0.03,
    "platform_production_saving_rate": 0.01,
    "other_saving_rate": 0.01,
    "dev_lead_years": 3.0,
    "discount_rate": 0.08,
    "dev_cost_eur_m_B": 600.0,
    "dev_cost_eur_m_C": 900.0,
    "unit_cost_eur_B": 12000.0,
    "unit_cost_eur_C": 18000.0,
    "fx_eur_gbp": 0.85,
    "fx_eur_usd": 1.115,
    "fx_eur_jpy": 120.8,
}


def model(model_id: str, *, family: str = "", role: str | None = None, member: str = "Renault",
          segment: str = "B", region: str = "EU", launch: int = 2021, end: int = 2027,
          volume: float = 100_000.0, cp: bool = True, dev: float = math.nan) -> dict:
    """One line-up row with the loaded dtypes' values."""
    return {
        "model_id": model_id, "member": member, "brand": member, "model_name": f"Car {model_id}",
        "segment": segment, "platform": "CMF-B" if cp else "own", "region": region,
        "launch_year": launch, "end_year": end, "annual_volume": volume, "family_id": family,
        "role": role or ("standalone" if not family else "follower"), "common_platform": cp,
        "dev_cost_eur_m": dev,
    }


def frame(*rows: dict) -> pd.DataFrame:
    out = pd.DataFrame(list(rows))
    for col in ("model_id", "member", "brand", "model_name", "segment", "platform", "region", "family_id", "role"):
        out[col] = out[col].astype("str")
    return out.astype({"launch_year": "int64", "end_year": "int64", "annual_volume": "float64",
                       "dev_cost_eur_m": "float64", "common_platform": bool})


TWINS = frame(model("L", family="F", role="leader"), model("F", family="F", member="Nissan"))
TRIPLE = frame(model("L", family="F", role="leader"), model("F1", family="F"), model("F2", family="F"))
UNEQUAL = frame(model("L", family="F", role="leader", dev=1000.0), model("F", family="F", dev=500.0))
PLATFORM = frame(model("P", cp=True))
OWN = frame(model("S", cp=False))


@pytest.mark.parametrize(
    ("lineup", "reduction", "rate", "dev_saving"),
    [
        pytest.param(TWINS, [0.4, 0.4], [0.4, 0.4], [240.0, 240.0], id="equal-twins-exactly-40pct"),
        pytest.param(TRIPLE, [1 - 1.4 / 3] * 3, [0.4] * 3, [240.0] * 3, id="three-equal-raw-53pct-capped-40pct"),
        pytest.param(UNEQUAL, [1 - 1100 / 1500] * 2, [1 - 1100 / 1500] * 2, [1000 * 0.4 / 1.5, 500 * 0.4 / 1.5],
                     id="unequal-pair-1000-500"),
        pytest.param(PLATFORM, [0.15], [0.15], [90.0], id="common-platform-alone-15pct"),
        pytest.param(OWN, [0.0], [0.0], [0.0], id="standalone-own-platform-zero"),
    ],
)
def test_hand_computed_rates(lineup, reduction, rate, dev_saving):
    ms = savings.calc_model_savings(lineup, A)
    np.testing.assert_allclose(ms["family_reduction_rate"], reduction, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ms["dev_saving_rate"], rate, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ms["dev_saving_eur_m"], dev_saving, rtol=1e-12)
    np.testing.assert_allclose(ms["scheme_dev_eur_m"], ms["standalone_dev_eur_m"] - ms["dev_saving_eur_m"])


def test_equal_twins_save_exactly_40pct_and_annual_savings():
    ms = savings.calc_model_savings(TWINS, A)
    assert ms["dev_saving_rate"].tolist() == pytest.approx([0.4, 0.4], abs=1e-15)
    assert ms["scheme"].tolist() == ["family", "family"]
    # 3% and 1% of 12,000 EUR x 100,000 units = 36 and 12 EUR m per year.
    assert ms["annual_production_saving_eur_m"].tolist() == pytest.approx([36.0, 36.0])
    assert ms["annual_other_saving_eur_m"].tolist() == pytest.approx([12.0, 12.0])


@pytest.mark.parametrize(
    ("lineup", "scheme", "production", "other"),
    [
        pytest.param(PLATFORM, "platform", 12.0, 0.0, id="platform-1pct-production-no-other"),
        pytest.param(OWN, "none", 0.0, 0.0, id="own-platform-nothing"),
    ],
)
def test_annual_savings_by_scheme(lineup, scheme, production, other):
    ms = savings.calc_model_savings(lineup, A)
    assert ms["scheme"].iloc[0] == scheme
    assert ms["annual_production_saving_eur_m"].iloc[0] == pytest.approx(production)
    assert ms["annual_other_saving_eur_m"].iloc[0] == pytest.approx(other)


@pytest.mark.parametrize(
    ("lineup", "kwargs", "rate"),
    [
        pytest.param(TRIPLE, {"max_saving_rate": 0.5}, 0.5, id="cap-override-0.5-on-triple"),
        pytest.param(TWINS, {"follower_diff_share": 0.5}, 0.25, id="diff-share-override-0.5-on-twins"),
        pytest.param(TWINS, {"max_saving_rate": 0.1}, 0.1, id="cap-below-family-rate"),
    ],
)
def test_keyword_overrides_win(lineup, kwargs, rate):
    ms = savings.calc_model_savings(lineup, A, **kwargs)
    assert ms["dev_saving_rate"].tolist() == pytest.approx([rate] * len(lineup))


def test_platform_rate_is_capped():
    ms = savings.calc_model_savings(PLATFORM, A, max_saving_rate=0.1)
    assert ms["family_reduction_rate"].iloc[0] == pytest.approx(0.15)
    assert ms["dev_saving_rate"].iloc[0] == pytest.approx(0.1)


def test_phasing_by_year_hand_computed():
    # Leader launched 2022 (on sale to 2023): 240 EUR m dev saving spent 2019-2021 = 80 a year;
    # production 36 and other 12 EUR m in 2022 and 2023.
    lineup = frame(model("L", family="F", role="leader", launch=2022, end=2023),
                   model("F", family="F", launch=2030, end=2035))
    ms = savings.calc_model_savings(lineup, A)
    by = savings.calc_savings_by_year(ms, A, start_year=2020, end_year=2025, baseline="standalone")
    assert len(by) == 2 * 6 * 3
    lead = by[by["model_id"] == "L"].pivot(index="year", columns="category", values="saving_eur_m")
    assert lead["development"].tolist() == pytest.approx([80, 80, 0, 0, 0, 0])
    assert lead["production"].tolist() == pytest.approx([0, 0, 36, 36, 0, 0])
    assert lead["other"].tolist() == pytest.approx([0, 0, 12, 12, 0, 0])
    # The follower launches 2030: development 2027-2029, nothing in the window.
    assert by.loc[by["model_id"] == "F", "saving_eur_m"].sum() == 0.0
    total = savings.calc_savings_by(by, "year")
    assert total["saving_eur_m"].tolist() == pytest.approx([80, 80, 48, 48, 0, 0])
    assert total["cumulative_eur_m"].tolist() == pytest.approx([80, 160, 208, 256, 256, 256])


def test_fractional_lead_years_spread_over_continuous_span():
    ms = savings.calc_model_savings(PLATFORM.assign(launch_year=2024), A)  # 90 EUR m saving
    by = savings.calc_savings_by_year(ms, {**A, "dev_lead_years": 1.5}, start_year=2020, end_year=2025)
    dev = by[by["category"] == "development"].set_index("year")["saving_eur_m"]
    assert dev.loc[2022] == pytest.approx(30.0) and dev.loc[2023] == pytest.approx(60.0)


def test_model_launched_after_window_saves_nothing_in_window():
    lineup = frame(model("L", family="F", role="leader", launch=2029, end=2035),
                   model("F", family="F", launch=2029, end=2035))
    ms = savings.calc_model_savings(lineup, A)
    by = savings.calc_savings_by_year(ms, A, start_year=2020, end_year=2025)
    assert ms["dev_saving_eur_m"].sum() == pytest.approx(480.0)  # lifetime saving exists
    assert by["saving_eur_m"].abs().sum() == 0.0
    assert savings.calc_headline(ms, by, A, start_year=2020)["total_savings_eur_m"] == 0.0


def test_npv_zero_rate_equals_sum_and_discounting():
    ms = savings.calc_model_savings(TRIPLE, A)
    by = savings.calc_savings_by_year(ms, A, start_year=2020, end_year=2025, baseline="standalone")
    for timing in savings.NPV_TIMINGS:
        assert savings.calc_npv(by, 0.0, 2020, npv_timing=timing) == pytest.approx(
            by["saving_eur_m"].sum(), rel=1e-12)
    one = pd.DataFrame({"year": [2020, 2021], "saving_eur_m": [100.0, 110.0]})
    assert savings.calc_npv(one, 0.10, 2020, npv_timing="start") == pytest.approx(200.0)


def test_headline_values():
    ms = savings.calc_model_savings(pd.concat([TWINS, OWN], ignore_index=True), A)
    by = savings.calc_savings_by_year(ms, A, start_year=2020, end_year=2025, baseline="standalone")
    head = savings.calc_headline(ms, by, A, start_year=2020, currency="GBP")
    assert set(head) == set(savings.HEADLINE_KEYS)
    assert all(type(v) is float for v in head.values())
    assert head["savings_pct"] == pytest.approx(480 / 1800)  # decimal fraction of portfolio D
    assert head["total_savings_report_ccy_m"] == pytest.approx(head["total_savings_eur_m"] * 0.85)


def test_avoided_successor_dev_is_scheme_investment():
    lineup = pd.concat([TWINS, PLATFORM, UNEQUAL.assign(model_id=["U1", "U2"], family_id="G")], ignore_index=True)
    out = savings.calc_avoided_successor_dev(lineup, A, {"P", "U2"})
    assert out.index.tolist() == ["P", "U2"]
    assert out["standalone_dev_eur_m"].tolist() == [600.0, 500.0]
    # under the scheme: P (platform, 15%) 600 x 0.85; U2 a follower spends what is left of its D
    assert out["avoided_dev_eur_m"].tolist() == pytest.approx(out["scheme_dev_eur_m"].tolist())
    assert out.loc["P", "avoided_dev_eur_m"] == pytest.approx(600 * (1 - A["platform_saving_rate"]))
    assert out["successor_launch_year"].tolist() == [2028, 2028]
    with pytest.raises(ParameterError, match="unknown cut"):
        savings.calc_avoided_successor_dev(lineup, A, ["nope"])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        pytest.param(lambda: savings.validate_years(2026, 2025), ParameterError, "after", id="start-after-end"),
        pytest.param(lambda: savings.validate_years(1999, 2025), ParameterError, "in 2000..2035", id="year-too-early"),
        pytest.param(lambda: savings.validate_years(2020, 2036), ParameterError, "2000..2035", id="year-too-late"),
        pytest.param(lambda: savings.convert_currency(1.0, "CHF", A), ParameterError, "CHF", id="bad-currency"),
        pytest.param(lambda: savings.calc_model_savings(TWINS, {**A, "max_saving_rate": 1.5}),
                     ParameterError, "invalid", id="cap-above-1"),
        pytest.param(lambda: savings.calc_model_savings(TWINS, {k: v for k, v in A.items() if k != "unit_cost_eur_B"}),
                     ParameterError, "missing", id="missing-segment-cost"),
        pytest.param(lambda: savings.calc_model_savings(TWINS.assign(role="leader"), A),
                     InputError, "family", id="two-leaders"),
        pytest.param(lambda: savings.calc_model_savings(TWINS.drop(columns="region"), A),
                     InputError, "columns", id="missing-column"),
        pytest.param(lambda: savings.calc_model_savings(TWINS.iloc[:0], A), InputError, "no models", id="empty"),
        pytest.param(lambda: savings.calc_savings_by(pd.DataFrame(), "plant"), ParameterError, "group", id="bad-by"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error) as info:
        call()
    assert match in info.value.report()  # the message plus every listed problem


def test_convert_currency_frame_renames_money_columns():
    ms = savings.calc_model_savings(TWINS, A)
    usd = savings.convert_currency(ms, "USD", A)
    assert "dev_saving_usd_m" in usd and "unit_cost_usd" in usd and "dev_saving_eur_m" not in usd
    assert usd["dev_saving_usd_m"].tolist() == pytest.approx((ms["dev_saving_eur_m"] * 1.115).tolist())
    assert usd["dev_saving_rate"].equals(ms["dev_saving_rate"])
    assert savings.convert_currency(ms, "EUR", A).equals(ms)


def test_default_lineup_against_sources():
    """The figures quoted in docs/methodology.md."""
    assumptions = load.assumption_values(load.load_assumptions())
    ms = savings.calc_model_savings(load.load_lineup(), assumptions)
    assert ms["dev_saving_rate"].max() == pytest.approx(0.40)
    midsize = ms[ms["family_id"].isin(["F01-2", "F10-2"])]
    assert midsize["dev_saving_eur_m"].sum() == pytest.approx(2480.0)  # with the 2026 Rogue PHEV (N56)
    # the five models of the 2020 generation, Senard's "next-generation" midsize crossovers:
    # EUR 2,040 m = USD 2,275 m, vs Senard's ~USD 2.2 bn
    assert midsize.drop(index="N56")["dev_saving_eur_m"].sum() == pytest.approx(2040.0)
    by = savings.calc_savings_by_year(ms, assumptions)
    per_model = savings.calc_savings_by(by, "model_id")["saving_eur_m"].sum()
    assert per_model == pytest.approx(by["saving_eur_m"].sum())


def test_default_lineup_headline_quoted_in_methodology():
    """Headline figures of the packaged data under both baselines (docs/methodology.md)."""
    lineup = load.load_lineup()
    plan = savings.calc_savings(lineup).headline
    standalone = savings.calc_savings(lineup, baseline="standalone").headline
    assert round(plan["total_savings_eur_m"]) == 7_556
    assert round(plan["pre_plan_savings_eur_m"]) == 16_796
    assert round(standalone["total_savings_eur_m"]) == 24_352
    assert round(plan["npv_savings_eur_m"]) == 5_829  # mid-year, 8%, valued 1 Jan 2020
    assert round(plan["net_savings_eur_m"]) == 6_891
    assert round(plan["savings_pct"], 3) == 0.055 and round(standalone["savings_pct"], 3) == 0.161
    assert round(savings.calc_savings(lineup, npv_timing="end").headline["npv_savings_eur_m"]) == 5_609
    assert round(savings.calc_savings(lineup, npv_timing="start").headline["npv_savings_eur_m"]) == 6_058


def test_synthetic_lineup_is_valid_and_runs():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synthetic import make_lineup

    lineup = make_lineup(300, seed=3)
    text = lineup.astype(object).where(lineup.notna(), "").astype(str)
    text["common_platform"] = np.where(lineup["common_platform"], "yes", "no")
    assert len(load.validate_lineup(text)) == 300
    ms = savings.calc_model_savings(lineup, load.assumption_values(load.load_assumptions()))
    assert len(ms) == 300 and (ms["dev_saving_rate"] <= 0.4 + 1e-12).all()
    assert make_lineup(50, seed=1).equals(make_lineup(50, seed=1))


# ----------------------------------------------------------------------------- properties
@st.composite
def lineups(draw) -> pd.DataFrame:
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=5))
    rows = []
    for block, size in enumerate(sizes):
        for j in range(size):
            launch = draw(st.integers(2012, 2032))
            rows.append(model(
                f"M{len(rows):02d}",
                family=f"F{block}" if size > 1 else "",
                role="leader" if size > 1 and j == 0 else None,
                member=draw(st.sampled_from(["Renault", "Nissan", "Mitsubishi"])),
                segment=draw(st.sampled_from(["B", "C"])),
                region=draw(st.sampled_from(["EU", "JP"])),
                launch=launch, end=launch + draw(st.integers(0, 8)),
                volume=float(draw(st.integers(0, 400_000))), cp=draw(st.booleans()),
                dev=draw(st.one_of(st.just(math.nan), st.floats(10, 2000))),
            ))
    return frame(*rows)


def window_total(lineup: pd.DataFrame, assumptions: dict, **kw) -> float:
    ms = savings.calc_model_savings(lineup, assumptions, **kw)
    return float(savings.calc_savings_by_year(ms, assumptions)["saving_eur_m"].sum())


PROPS = settings(max_examples=50, deadline=None)


@PROPS
@given(lineups(), st.floats(0, 1), st.floats(0, 1))
def test_prop_no_model_above_cap(lineup, cap, diff):
    ms = savings.calc_model_savings(lineup, A, max_saving_rate=cap, follower_diff_share=diff)
    assert (ms["dev_saving_rate"] <= cap + 1e-12).all() and (ms["dev_saving_rate"] >= 0).all()
    assert (ms.loc[ms["scheme"] == "none", ["dev_saving_eur_m", "annual_production_saving_eur_m"]] == 0).all().all()


@PROPS
@given(lineups())
def test_prop_totals_agree_by_every_key(lineup):
    ms = savings.calc_model_savings(lineup, A)
    by = savings.calc_savings_by_year(ms, A, start_year=2015, end_year=2030)
    total = by["saving_eur_m"].sum()
    for key in ("model_id", "member", "family_id", "year", "segment", "category"):
        assert savings.calc_savings_by(by, key)["saving_eur_m"].sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
    grid = sensitivity.calc_sensitivity_grid(lineup, A, row_values=[0.4], col_values=[0.2], start_year=2015, end_year=2030)
    assert grid.iloc[0, 0] == pytest.approx(total, rel=1e-9, abs=1e-9)


@PROPS
@given(lineups(), st.floats(0, 1), st.floats(0, 1))
def test_prop_higher_cap_never_lowers_total(lineup, a, b):
    low, high = sorted((a, b))
    assert window_total(lineup, A, max_saving_rate=high) >= window_total(lineup, A, max_saving_rate=low) - 1e-9


@PROPS
@given(lineups(), st.sampled_from(["EUR", "GBP", "JPY", "USD"]))
def test_prop_currency_is_proportional(lineup, ccy):
    ms = savings.calc_model_savings(lineup, A)
    by = savings.calc_savings_by_year(ms, A)
    rate = 1.0 if ccy == "EUR" else A[f"fx_eur_{ccy.lower()}"]
    conv = savings.convert_currency(by, ccy, A)
    np.testing.assert_array_equal(conv[f"saving_{ccy.lower()}_m"].to_numpy(), by["saving_eur_m"].to_numpy() * rate)
    head = savings.calc_headline(ms, by, A, start_year=2020, currency=ccy)
    assert head["total_savings_report_ccy_m"] == head["total_savings_eur_m"] * rate


@PROPS
@given(lineups(), st.randoms(use_true_random=False))
def test_prop_independent_of_row_order(lineup, rnd):
    order = list(range(len(lineup)))
    rnd.shuffle(order)
    shuffled = lineup.iloc[order].reset_index(drop=True)
    a = savings.calc_model_savings(lineup, A).sort_index()
    b = savings.calc_model_savings(shuffled, A).sort_index()
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)
    assert window_total(shuffled, A) == pytest.approx(window_total(lineup, A), rel=1e-12, abs=1e-9)
