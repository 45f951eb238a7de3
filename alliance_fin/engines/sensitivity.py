"""Scenario sweeps of the savings engine: the sensitivity grid and the tornado.

Both run many scenarios in one broadcast pass through the public core
(:func:`alliance_fin.engines.savings_core.calc_window_totals`, arrays of shape
``(n_models, n_scenarios)``), so every cell agrees with
:func:`alliance_fin.engines.savings.calc_savings` by construction, under the same baseline.

Units: money in EUR millions (``*_eur_m``), rates as decimal fractions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from alliance_fin.engines.savings_core import (
    BASELINES,
    RATE_KEYS,
    Prepared,
    calc_window_totals,
    prepare,
    required_keys,
    scenario_params,
    validate_years,
)
from alliance_fin.errors import ParameterError

__all__ = ["calc_sensitivity_grid", "calc_tornado"]


def _window_totals(prep: Prepared, p: Mapping[str, np.ndarray], start_year: int, end_year: int,
                   baseline: str, plan_year: int) -> np.ndarray:
    """Total savings in the window (EUR m) under ``baseline``, one value per scenario."""
    if baseline not in BASELINES:
        raise ParameterError("invalid savings baseline", [f"baseline = {baseline!r} is not one of "
                                                           f"{', '.join(BASELINES)}"])
    totals = calc_window_totals(prep, p, start_year, end_year, plan_year=plan_year)
    return totals[f"{baseline}_eur_m"]


def calc_sensitivity_grid(
    lineup: pd.DataFrame,
    assumptions: Mapping[str, float],
    *,
    row_param: str = "max_saving_rate",
    row_values: Sequence[float] | None = None,
    col_param: str = "follower_diff_share",
    col_values: Sequence[float] | None = None,
    start_year: int = 2020,
    end_year: int = 2025,
    baseline: str = "plan",
    plan_year: int = 2020,
) -> pd.DataFrame:
    """Total window savings over a grid of two assumptions, in one broadcast pass.

    Every grid cell is one scenario column of the core arrays ``(n_models, n_cells)``; there is
    no loop over cells or models.

    Parameters
    ----------
    row_param, col_param : str
        Assumption keys used by the engine (rates, ``dev_lead_years``, segment costs).
    row_values, col_values : sequence of float, optional
        Values to try; default the base value x (0.8, 0.9, 1.0, 1.1, 1.2).
    baseline, plan_year
        As :func:`alliance_fin.engines.savings.calc_savings` (default the plan baseline).

    Returns
    -------
    pandas.DataFrame
        Index ``row_values`` (named ``row_param``), columns ``col_values`` (named ``col_param``);
        cells: total savings over the window, EUR m.
    """
    validate_years(start_year, end_year)
    if row_param == col_param:
        raise ParameterError("sensitivity grid needs two different parameters", [f"both are {row_param!r}"])
    prep = prepare(lineup)

    def values(key: str, given: Sequence[float] | None) -> np.ndarray:
        if given is not None:
            return np.asarray(given, dtype=float)
        if key not in assumptions:
            raise ParameterError("unknown savings parameter", [f"no value for {key!r}"])
        grid = float(assumptions[key]) * np.array([0.8, 0.9, 1.0, 1.1, 1.2])
        if key in RATE_KEYS:  # a rate near 1 would step past 1: clip, and drop the repeats
            grid = np.unique(np.minimum(grid, 1.0))
        return grid

    rows, cols = values(row_param, row_values), values(col_param, col_values)
    grid_r, grid_c = np.meshgrid(rows, cols, indexing="ij")
    params = scenario_params(prep, assumptions, {row_param: grid_r.ravel(), col_param: grid_c.ravel()})
    totals = _window_totals(prep, params, start_year, end_year, baseline, plan_year).reshape(len(rows), len(cols))
    return pd.DataFrame(
        totals, index=pd.Index(rows, name=row_param), columns=pd.Index(cols, name=col_param)
    )


def calc_tornado(
    lineup: pd.DataFrame,
    assumptions: Mapping[str, float],
    *,
    keys: Sequence[str] | None = None,
    swing: float = 0.20,
    start_year: int = 2020,
    end_year: int = 2025,
    baseline: str = "plan",
    plan_year: int = 2020,
) -> pd.DataFrame:
    """Total window savings with each assumption moved by ``-swing`` and ``+swing``, one pass.

    Parameters
    ----------
    keys : sequence of str, optional
        Assumptions to swing; default every key the engine uses for this line-up (rates,
        ``dev_lead_years``, development and unit costs of the segments present).
    swing : float
        Relative move, decimal (0.20 = base x 0.8 and x 1.2); rates are capped at 1.
    baseline, plan_year
        As :func:`alliance_fin.engines.savings.calc_savings` (default the plan baseline).

    Returns
    -------
    pandas.DataFrame
        RangeIndex; columns ``key``, ``base``, ``low_value``, ``high_value``,
        ``total_low_eur_m``, ``total_high_eur_m``, ``range_eur_m`` (absolute difference),
        sorted by ``range_eur_m`` descending then ``key``. The base total is in ``attrs["base_total_eur_m"]``.
    """
    validate_years(start_year, end_year)
    if not 0 <= swing < 1:
        raise ParameterError("invalid tornado swing", [f"swing = {swing!r} is not in [0, 1)"])
    prep = prepare(lineup)
    used = required_keys(prep)
    keys = list(used if keys is None else keys)
    unknown = [k for k in keys if k not in used]
    if unknown:
        raise ParameterError("unknown savings parameter", [f"{k!r} is not used by the savings engine" for k in unknown])
    base = scenario_params(prep, assumptions)
    n_k = len(keys)
    # Scenarios: 0 = base, 1..n_k = low of each key, n_k+1..2n_k = high of each key.
    scen = {k: np.repeat(v, 2 * n_k + 1) for k, v in base.items()}
    base_vals = np.array([base[k][0] for k in keys])
    low, high = base_vals * (1 - swing), base_vals * (1 + swing)
    is_rate = np.isin(keys, RATE_KEYS)
    high = np.where(is_rate, np.minimum(high, 1.0), high)  # a share cannot exceed 100%
    for i, k in enumerate(keys):
        scen[k][1 + i] = low[i]
        scen[k][1 + n_k + i] = high[i]
    totals = _window_totals(prep, scen, start_year, end_year, baseline, plan_year)
    out = pd.DataFrame(
        {
            "key": pd.array(keys, dtype="str"),
            "base": base_vals,
            "low_value": low,
            "high_value": high,
            "total_low_eur_m": totals[1 : n_k + 1],
            "total_high_eur_m": totals[n_k + 1 :],
        }
    )
    out["range_eur_m"] = (out["total_high_eur_m"] - out["total_low_eur_m"]).abs()
    out = out.sort_values(["range_eur_m", "key"], ascending=[False, True], ignore_index=True)
    out.attrs["base_total_eur_m"] = float(totals[0])
    return out
