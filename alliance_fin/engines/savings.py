"""Savings engine: leader-follower investment savings by model, family, member and year.

Pure and vectorised: frames and scalars in, frames out; no loop over models in Python.
The method is documented in ``docs/methodology.md`` (section "Savings"). Every scenario
calculation (the frames here; the sensitivity grid and the tornado in
:mod:`alliance_fin.engines.sensitivity`) goes through the public core
:mod:`alliance_fin.engines.savings_core`, arrays of shape ``(n_models, n_scenarios)``, so the
figures agree by construction. One call gives everything: :func:`calc_savings`.

Baselines: both are computed in every call. ``standalone`` counts every model against standalone
development; ``plan`` (default) counts a model only when its ``scheme_since`` year is at or after
``plan_year``, so ``total(standalone) = total(plan) + pre_plan``.

Units: money in EUR millions (``*_eur_m``), unit cost in EUR per vehicle, volume in units
per year, rates as decimal fractions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_fin.engines.savings_batch import calc_headlines
from alliance_fin.engines.savings_core import (
    AGG_KEYS,
    BASELINES,
    CATEGORIES,
    CURRENCIES,
    NPV_TIMINGS,
    YEAR_RANGE,
    calc_core,
    check_params,
    dev_share,
    prepare,
    scenario_params,
    scheme_since_years,
    validate_years,
)

# Re-exported: the headline and the avoided successor development live in modules of their own.
from alliance_fin.engines.savings_headline import HEADLINE_KEYS, calc_headline, calc_npv, convert_currency
from alliance_fin.engines.successor_dev import calc_avoided_successor_dev
from alliance_fin.errors import ParameterError

__all__ = ["SavingsResult", "calc_savings", "calc_model_savings", "calc_savings_by_year",
           "calc_savings_by", "calc_npv", "calc_headline", "convert_currency",
           "calc_avoided_successor_dev", "validate_years", "check_baseline", "BASELINES",
           "NPV_TIMINGS", "CATEGORIES", "CURRENCIES", "AGG_KEYS", "YEAR_RANGE", "HEADLINE_KEYS"]


def check_baseline(baseline: str, plan_year: int) -> tuple[str, int]:
    """``(baseline, plan_year)`` checked: baseline in :data:`BASELINES`, plan_year a whole year."""
    problems = []
    if baseline not in BASELINES:
        problems.append(f"baseline = {baseline!r} is not one of {', '.join(BASELINES)}")
    lo, hi = YEAR_RANGE
    if isinstance(plan_year, bool) or not isinstance(plan_year, int | np.integer) or not lo <= plan_year <= hi:
        problems.append(f"plan_year = {plan_year!r} is not a whole year in {lo}..{hi}")
    if problems:
        raise ParameterError("invalid savings baseline", problems)
    return baseline, int(plan_year)

def calc_model_savings(
    lineup: pd.DataFrame,
    assumptions: Mapping[str, float],
    *,
    max_saving_rate: float | None = None,
    follower_diff_share: float | None = None,
    plan_year: int = 2020,
) -> pd.DataFrame:
    """Savings per model under the leader-follower scheme (lifetime, before any baseline).

    Parameters
    ----------
    lineup : pandas.DataFrame
        One row per model with at least ``model_id``, ``member``, ``brand``, ``model_name``,
        ``family_id`` ("" = none), ``role``, ``segment``, ``region``, ``launch_year``,
        ``end_year``, ``annual_volume`` (units/year); optional ``common_platform`` (bool),
        ``dev_cost_eur_m`` (EUR m, NaN = segment default), ``replaces`` (predecessor's
        ``model_id``), ``scheme_since`` (year, NaN/empty = derived). In a family, every model
        that is not the leader counts as a follower.
    assumptions : Mapping[str, float]
        Assumption values by key (see ``alliance_fin/data/assumptions.csv``).
    max_saving_rate, follower_diff_share : float, optional
        Overrides of the assumptions of the same name (decimal fractions).
    plan_year : int
        Year of the plan; sets ``in_plan``.

    Returns
    -------
    pandas.DataFrame
        Index ``model_id`` (input order); columns ``member, brand, model_name, family_id, role,
        segment, region`` (str), ``scheme`` (family|platform|none), ``launch_year``, ``end_year``
        (int, as given), ``effective_end_year`` (int, ``min(end_year, successor launch - 1)``),
        ``scheme_since`` (int year; derived ``floor(launch_year - dev_lead_years)`` when empty),
        ``scheme_since_derived`` (bool), ``in_plan`` (bool, ``scheme_since >= plan_year``),
        ``standalone_dev_eur_m`` (D, EUR m), ``family_reduction_rate`` (uncapped family
        r_f or platform rate), ``dev_saving_rate`` (capped), ``dev_saving_eur_m`` (lifetime,
        one-off), ``scheme_dev_eur_m`` (D - saving), ``unit_cost_eur`` (EUR/vehicle),
        ``annual_volume``, ``annual_production_saving_eur_m`` and
        ``annual_other_saving_eur_m`` (EUR m per year on sale).

    Raises
    ------
    InputError
        Missing columns, duplicate ``model_id`` or a family without exactly one leader.
    ParameterError
        A needed assumption is missing or out of range.
    """
    _, plan_year = check_baseline("plan", plan_year)
    prep = prepare(lineup)
    overrides = {"max_saving_rate": max_saving_rate, "follower_diff_share": follower_diff_share}
    params = scenario_params(prep, assumptions, overrides)
    core = {k: v[:, 0] for k, v in calc_core(prep, params).items()}
    since = scheme_since_years(prep, params["dev_lead_years"])[:, 0]
    in_fam = prep.fam_codes >= 0
    out = prep.frame.copy()
    out["scheme"] = pd.Series(
        np.where(in_fam, "family", np.where(prep.common_platform, "platform", "none")), dtype="str"
    )
    out["launch_year"] = prep.launch.astype("int64")
    out["end_year"] = prep.end_input.astype("int64")
    out["effective_end_year"] = prep.end.astype("int64")
    out["scheme_since"] = since.astype("int64")
    out["scheme_since_derived"] = np.isnan(prep.scheme_since)
    out["in_plan"] = since >= plan_year
    out["standalone_dev_eur_m"] = core["dev"]
    out["family_reduction_rate"] = core["reduction"]
    out["dev_saving_rate"] = core["rate"]
    out["dev_saving_eur_m"] = core["dev_saving"]
    out["scheme_dev_eur_m"] = core["dev"] - core["dev_saving"]
    out["unit_cost_eur"] = core["unit"]
    out["annual_volume"] = prep.volume
    out["annual_production_saving_eur_m"] = core["production"]
    out["annual_other_saving_eur_m"] = core["other"]
    return out.set_index("model_id")


def calc_savings_by_year(
    model_savings: pd.DataFrame,
    assumptions: Mapping[str, float],
    *,
    start_year: int = 2020,
    end_year: int = 2025,
    baseline: str = "plan",
) -> pd.DataFrame:
    """Phase model savings into calendar years of the report window, under one baseline.

    Development savings fall evenly over the ``dev_lead_years`` years before launch
    (``launch_year - L`` .. ``launch_year - 1``); production and other savings in every year
    ``launch_year`` .. ``effective_end_year`` (a predecessor stops the year before its successor
    launches, so no year counts both).

    Parameters
    ----------
    model_savings : pandas.DataFrame
        Output of :func:`calc_model_savings` (``effective_end_year`` and ``in_plan`` optional:
        default ``end_year`` and True).
    assumptions : Mapping[str, float]
        Needs ``dev_lead_years`` (years, > 0; a fractional L gives the earliest year a part share).
    start_year, end_year : int
        Window, inclusive, within 2000..2035.
    baseline : {"plan", "standalone"}
        ``plan`` zeroes the savings of models with ``in_plan`` False.

    Returns
    -------
    pandas.DataFrame
        Long frame, one row per model x year x category (zeros included), RangeIndex; columns
        ``model_id, member, family_id, segment, region`` (str), ``year`` (int),
        ``category`` (development|production|other), ``saving_eur_m`` (EUR m in that year under
        ``baseline``), ``standalone_saving_eur_m`` (EUR m, standalone baseline), ``in_plan`` (bool).
    """
    validate_years(start_year, end_year)
    check_baseline(baseline, 2020)
    if "dev_lead_years" not in assumptions:
        raise ParameterError("savings assumptions are missing", ["no value for 'dev_lead_years'"])
    lead = np.array([float(assumptions["dev_lead_years"])])
    check_params({"dev_lead_years": lead})
    ms = model_savings.reset_index()
    years = np.arange(start_year, end_year + 1)
    launch = ms["launch_year"].to_numpy(dtype=float)[:, None]
    last = ms["effective_end_year"] if "effective_end_year" in ms else ms["end_year"]
    active = (launch <= years) & (years <= last.to_numpy()[:, None])
    values = np.stack(
        [
            ms["dev_saving_eur_m"].to_numpy()[:, None] * dev_share(launch, lead[0], years, years + 1.0),
            active * ms["annual_production_saving_eur_m"].to_numpy()[:, None],
            active * ms["annual_other_saving_eur_m"].to_numpy()[:, None],
        ],
        axis=2,
    )  # (n_models, n_years, 3)
    in_plan = ms["in_plan"].to_numpy(dtype=bool) if "in_plan" in ms else np.ones(len(ms), dtype=bool)
    n, n_years, n_cat = values.shape
    rows = np.repeat(np.arange(n), n_years * n_cat)
    out = {c: ms[c].array.take(rows) for c in ("model_id", "member", "family_id", "segment", "region")}
    out["year"] = np.tile(np.repeat(years, n_cat), n)
    out["category"] = pd.array(np.tile(np.array(CATEGORIES, dtype=object), n * n_years), dtype="str")
    standalone = values.reshape(-1)
    counted = in_plan[rows]
    out["saving_eur_m"] = standalone if baseline == "standalone" else np.where(counted, standalone, 0.0)
    out["standalone_saving_eur_m"] = standalone
    out["in_plan"] = counted
    frame = pd.DataFrame(out, copy=False)  # the arrays are fresh; skip pandas' defensive copy
    frame.attrs["baseline"] = baseline
    return frame


def calc_savings_by(by_year: pd.DataFrame, by: str | Sequence[str]) -> pd.DataFrame:
    """Sum phased savings by one or more keys.

    Parameters
    ----------
    by_year : pandas.DataFrame
        Output of :func:`calc_savings_by_year`.
    by : str or sequence of str
        Any of ``model_id, member, family_id, segment, region, year, category``.

    Returns
    -------
    pandas.DataFrame
        RangeIndex; columns ``by`` then ``saving_eur_m`` (EUR m over the window, or in the year),
        sorted by ``by``. When ``by`` contains ``year``, also ``cumulative_eur_m``: the running
        total over years within each combination of the other keys.
    """
    keys = [by] if isinstance(by, str) else list(by)
    bad = [k for k in keys if k not in AGG_KEYS] or (["(none)"] if not keys else [])
    if bad:
        raise ParameterError("cannot group savings", [f"{k!r} is not one of {', '.join(AGG_KEYS)}" for k in bad])
    out = by_year.groupby(keys, sort=True)["saving_eur_m"].sum().reset_index()
    if "year" in keys:
        others = [k for k in keys if k != "year"]
        out = out.sort_values([*others, "year"], ignore_index=True)
        grouped = out.groupby(others, sort=False)["saving_eur_m"] if others else out["saving_eur_m"]
        out["cumulative_eur_m"] = grouped.cumsum()
    return out


@dataclass(frozen=True, eq=False)
class SavingsResult:
    """Outcome of :func:`calc_savings`.

    Attributes
    ----------
    models : DataFrame
        :func:`calc_model_savings` (index ``model_id``).
    by_year : DataFrame
        :func:`calc_savings_by_year` under the chosen baseline (long: model x year x category).
    headline : dict
        :data:`HEADLINE_KEYS` -> float.
    params : dict
        Resolved parameters: baseline, plan_year, start_year, end_year, npv_timing, currency.
    """

    models: pd.DataFrame
    by_year: pd.DataFrame
    headline: dict[str, float]
    params: dict[str, object]

    def __repr__(self) -> str:
        h = self.headline
        return (f"SavingsResult({self.params['baseline']} baseline {self.params['start_year']}-"
                f"{self.params['end_year']}: total {h['total_savings_eur_m']:,.0f} EUR m, pre-plan "
                f"{h['pre_plan_savings_eur_m']:,.0f}, net {h['net_savings_eur_m']:,.0f}, NPV "
                f"{h['npv_savings_eur_m']:,.0f} ({self.params['npv_timing']}-year))")


def calc_savings(
    lineup: pd.DataFrame,
    assumptions: Mapping[str, float] | None = None,
    *,
    start_year: int = 2020,
    end_year: int = 2025,
    baseline: str = "plan",
    plan_year: int = 2020,
    npv_timing: str = "mid",
    currency: str = "EUR",
    max_saving_rate: float | None = None,
    follower_diff_share: float | None = None,
    discount_rate: float | None = None,
    cost_to_achieve_rate: float | None = None,
) -> SavingsResult:
    """Savings per model, by year and headline in one call (both baselines computed).

    Parameters
    ----------
    lineup : pandas.DataFrame
        As :func:`calc_model_savings`.
    assumptions : Mapping[str, float], optional
        Assumption values by key; default the packaged ones.
    start_year, end_year : int
        Report window, inclusive.
    baseline : {"plan", "standalone"}
        Which baseline ``total_savings_eur_m`` uses; ``pre_plan_savings_eur_m`` is always the
        difference standalone - plan.
    plan_year : int
        A model counts under ``plan`` when its ``scheme_since >= plan_year``.
    npv_timing : {"mid", "end", "start"}
    currency : str
        Report currency of ``total_savings_report_ccy_m``.
    max_saving_rate, follower_diff_share, discount_rate, cost_to_achieve_rate : float, optional
        Overrides of the assumptions of the same name.

    Returns
    -------
    SavingsResult
    """
    if assumptions is None:
        from alliance_fin.inputs.load import assumption_values, load_assumptions  # packaged default only
        assumptions = assumption_values(load_assumptions())
    baseline, plan_year = check_baseline(baseline, plan_year)
    if npv_timing not in NPV_TIMINGS:
        raise ParameterError("invalid NPV timing",
                             [f"npv_timing = {npv_timing!r} is not one of {', '.join(NPV_TIMINGS)}"])
    values = dict(assumptions)
    if discount_rate is not None:
        values["discount_rate"] = float(discount_rate)
    models = calc_model_savings(lineup, values, max_saving_rate=max_saving_rate,
                                follower_diff_share=follower_diff_share, plan_year=plan_year)
    by_year = calc_savings_by_year(models, values, start_year=start_year, end_year=end_year, baseline=baseline)
    # The headline from the core arrays, the same code as a sweep of thousands (bitwise equal).
    batch = calc_headlines(prepare(lineup), values, {"cost_to_achieve_rate": cost_to_achieve_rate},
                           start_year=start_year, end_year=end_year, baseline=baseline, plan_year=plan_year,
                           npv_timing=npv_timing, currency=currency)
    headline = {k: float(v[0]) for k, v in batch.items()}
    params = {"baseline": baseline, "plan_year": plan_year, "start_year": start_year, "end_year": end_year,
              "npv_timing": npv_timing, "currency": currency}
    return SavingsResult(models=models, by_year=by_year, headline=headline, params=params)
