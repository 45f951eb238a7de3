"""Tests of alliance_fin.engines.sensitivity: the grid and the tornado against the engine."""

from __future__ import annotations

import pandas as pd
import pytest

# The hand-set assumptions and line-up builders of tests/test_savings.py, so expected values
# here are computed by hand the same way.
from test_savings import A, frame, model  # noqa: E402

from alliance_fin.engines import savings
from alliance_fin.engines import sensitivity as savings_sensitivity
from alliance_fin.engines.sensitivity import calc_sensitivity_grid
from alliance_fin.errors import ParameterError
from alliance_fin.inputs.load import assumption_values, load_assumptions, load_lineup

TWINS = frame(model("L", family="F", role="leader"), model("F", family="F", member="Nissan"))
TRIPLE = frame(model("L", family="F", role="leader"), model("F1", family="F"), model("F2", family="F"))
UNEQUAL = frame(model("U1", family="G", role="leader", dev=1000.0), model("U2", family="G", dev=500.0))
PLATFORM = frame(model("P", cp=True))


def test_sensitivity_grid_matches_engine_per_cell():
    lineup = pd.concat([TRIPLE, UNEQUAL, PLATFORM], ignore_index=True)
    rows, cols = [0.3, 0.4, 0.5, 0.6], [0.1, 0.2, 0.5]
    grid = savings_sensitivity.calc_sensitivity_grid(lineup, A, row_values=rows, col_values=cols,
                                                     start_year=2020, end_year=2025)
    assert grid.shape == (4, 3) and grid.index.name == "max_saving_rate"
    for r in rows:  # reference: the engine one cell at a time
        for c in cols:
            ms = savings.calc_model_savings(lineup, A, max_saving_rate=r, follower_diff_share=c)
            by = savings.calc_savings_by_year(ms, A, start_year=2020, end_year=2025)
            assert grid.loc[r, c] == pytest.approx(by["saving_eur_m"].sum(), rel=1e-12)
    assert (grid.diff().iloc[1:] >= -1e-9).all().all()  # higher cap never lowers the total


def test_sensitivity_grid_default_values_are_base_times_0_8_to_1_2():
    grid = savings_sensitivity.calc_sensitivity_grid(TWINS, A)
    assert grid.index.tolist() == pytest.approx([0.32, 0.36, 0.40, 0.44, 0.48])
    assert grid.columns.name == "follower_diff_share"
    assert grid.columns.tolist() == pytest.approx([0.16, 0.18, 0.20, 0.22, 0.24])


def test_tornado_shape_and_values():
    lineup = pd.concat([TWINS, PLATFORM], ignore_index=True)
    tor = savings_sensitivity.calc_tornado(lineup, A, start_year=2020, end_year=2025, baseline="standalone")
    assert list(tor.columns) == ["key", "base", "low_value", "high_value", "total_low_eur_m",
                                 "total_high_eur_m", "range_eur_m"]
    assert tor["range_eur_m"].is_monotonic_decreasing
    row = tor.set_index("key").loc["production_saving_rate"]
    # Twins on sale 2021-2025 (5 years): 2 x 36 EUR m x 5 = 360 at 3%; +-20% -> +-72.
    assert row["total_high_eur_m"] - row["total_low_eur_m"] == pytest.approx(144.0)
    capped = savings_sensitivity.calc_tornado(lineup, {**A, "max_saving_rate": 0.9}, keys=["max_saving_rate"])
    assert capped["high_value"].iloc[0] == 1.0  # a rate is never swung above 100%
    one = savings_sensitivity.calc_tornado(lineup, A, keys=["other_saving_rate"], swing=0.5)
    assert one["low_value"].iloc[0] == pytest.approx(0.005)
    assert one.attrs["base_total_eur_m"] == pytest.approx(one[["total_low_eur_m", "total_high_eur_m"]].mean(axis=1)[0])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda: savings_sensitivity.calc_sensitivity_grid(TWINS, A, row_param="fx_eur_usd"),
                     "not used", id="grid-unused-key"),
        pytest.param(lambda: savings_sensitivity.calc_sensitivity_grid(TWINS, A, col_param="max_saving_rate"),
                     "two different", id="grid-same-key-twice"),
        pytest.param(lambda: savings_sensitivity.calc_tornado(TWINS, A, keys=["fx_eur_usd"]), "unknown",
                     id="tornado-unused-key"),
        pytest.param(lambda: savings_sensitivity.calc_tornado(TWINS, A, swing=1.0), "swing", id="tornado-swing-1"),
        pytest.param(lambda: savings_sensitivity.calc_tornado(TWINS, A, start_year=2026), "after",
                     id="tornado-bad-window"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ParameterError) as info:
        call()
    assert match in info.value.report()


@pytest.mark.parametrize("key, value", [("max_saving_rate", 1.0), ("follower_diff_share", 0.9)],
                         ids=["ceiling-at-1", "differentiation-0.9"])
def test_default_grid_never_steps_past_a_rate_of_one(key, value):
    """A rate the contract allows (0-1) must not make the default grid invalid."""
    values = {**assumption_values(load_assumptions()), key: value}
    grid = calc_sensitivity_grid(load_lineup(), values)
    axis = grid.index if key == "max_saving_rate" else grid.columns
    assert axis.max() <= 1.0 and axis.is_unique
