"""Vectorised core of the savings engine: arrays of shape ``(n_models, n_scenarios)``.

Every savings figure (:mod:`alliance_fin.engines.savings`, the sensitivity grid and tornado in
:mod:`alliance_fin.engines.sensitivity`, in-process sweeps) goes through :func:`calc_core` and
:func:`calc_window_totals`, so the figures agree by construction and thousands of scenarios cost
one broadcast pass. No loop over models or scenarios in Python.

Units: money in EUR millions (``*_eur_m``), unit cost in EUR per vehicle, volume in units per
year, rates as decimal fractions, years as calendar years.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_fin.engines.lineup import calc_effective_end_year
from alliance_fin.errors import InputError, ParameterError
from alliance_fin.inputs import bounds
from alliance_fin.inputs.schema import as_flags

RATE_KEYS = (
    "max_saving_rate",
    "follower_diff_share",
    "platform_saving_rate",
    "production_saving_rate",
    "platform_production_saving_rate",
    "other_saving_rate",
)
"""Assumption keys that are decimal fractions in [0, 1]."""

CURRENCIES = {"EUR": None, "GBP": "fx_eur_gbp", "JPY": "fx_eur_jpy", "USD": "fx_eur_usd"}
"""Report currencies and the assumption key of their rate (units of currency per EUR)."""

CATEGORIES = ("development", "production", "other")
AGG_KEYS = ("model_id", "member", "family_id", "segment", "region", "year", "category")
BASELINES = ("plan", "standalone")
"""``plan``: a model's saving counts only when ``scheme_since >= plan_year``; ``standalone``: all."""
NPV_TIMINGS = {"start": 0.0, "mid": 0.5, "end": 1.0}
"""Where in its year a flow falls: exponent offset of the discount factor (valued 1 Jan start_year)."""
YEAR_RANGE = (bounds.YEAR_FIRST, bounds.YEAR_LAST)
LABEL_COLS = ("member", "brand", "model_name", "family_id", "role", "segment", "region")
REQUIRED_COLS = ("model_id", *LABEL_COLS, "launch_year", "end_year", "annual_volume")


@dataclass(frozen=True)
class Prepared:
    """A line-up as arrays (one entry per model, input order)."""

    frame: pd.DataFrame  # model_id + label columns, RangeIndex
    segments: list[str]
    seg_codes: np.ndarray  # int, index into segments
    fam_codes: np.ndarray  # int, -1 = no family
    n_families: int
    is_leader: np.ndarray  # bool
    own_dev: np.ndarray  # float, NaN = segment default
    common_platform: np.ndarray  # bool
    launch: np.ndarray  # float years
    end: np.ndarray  # float years: effective last year (changeovers applied)
    volume: np.ndarray  # units per year
    scheme_since: np.ndarray  # float years, NaN = derived (launch - dev_lead_years)
    end_input: np.ndarray  # float years: end_year as given


def prepare(lineup: pd.DataFrame) -> Prepared:
    """A line-up as arrays (see :class:`Prepared`); family rules checked.

    Raises
    ------
    InputError
        Missing columns, no models, a repeated ``model_id`` or a family without one leader.
    """
    missing = [c for c in REQUIRED_COLS if c not in lineup.columns]
    if missing:
        raise InputError("line-up lacks required columns", [f"missing column {c!r}" for c in missing])
    if lineup.empty:
        raise InputError("line-up has no models")
    frame = lineup.loc[:, ["model_id", *LABEL_COLS]].reset_index(drop=True)
    frame = frame.astype("str").fillna("")
    problems = [f"model_id {m!r} occurs more than once" for m in frame["model_id"][frame["model_id"].duplicated()]]
    fam = frame["family_id"].str.strip()
    is_leader = (frame["role"] == "leader").to_numpy() & (fam != "").to_numpy()
    leaders = pd.Series(is_leader).groupby(fam.to_numpy()).sum()
    leaders = leaders[(leaders.index != "") & (leaders != 1)]
    problems += [f"family {f!r} has {int(k)} leaders (needs exactly one)" for f, k in leaders.items()]
    if problems:
        raise InputError("line-up breaks the family rules", problems)
    fam_codes, fam_uniques = pd.factorize(fam.where(fam != "", None), use_na_sentinel=True)
    seg_codes, seg_uniques = pd.factorize(frame["segment"])
    own = lineup["dev_cost_eur_m"] if "dev_cost_eur_m" in lineup.columns else pd.Series(np.nan, index=lineup.index)
    cp = as_flags(lineup["common_platform"]) if "common_platform" in lineup.columns else pd.Series(
        False, index=lineup.index)
    return Prepared(
        frame=frame,
        segments=[str(s) for s in seg_uniques],
        seg_codes=np.asarray(seg_codes),
        fam_codes=np.asarray(fam_codes),
        n_families=len(fam_uniques),
        is_leader=is_leader,
        own_dev=pd.to_numeric(own.replace("", np.nan), errors="coerce").to_numpy(dtype=float),
        common_platform=cp.to_numpy(dtype=bool),
        launch=lineup["launch_year"].to_numpy(dtype=float),
        end=calc_effective_end_year(lineup).astype(float),
        volume=lineup["annual_volume"].to_numpy(dtype=float),
        scheme_since=_scheme_since(lineup),
        end_input=lineup["end_year"].to_numpy(dtype=float),
    )


def _scheme_since(lineup: pd.DataFrame) -> np.ndarray:
    if "scheme_since" not in lineup.columns:
        return np.full(len(lineup), np.nan)
    raw = lineup["scheme_since"]
    if raw.dtype == object:
        raw = raw.replace("", np.nan)
    return pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)


def scheme_since_years(prep: Prepared, lead: np.ndarray) -> np.ndarray:
    """Year each model's scheme was decided, shape (n_models, n_scenarios).

    Given values as they are; empty ones derived as ``floor(launch_year - dev_lead_years)`` (the
    year development starts), per scenario because ``dev_lead_years`` may vary.
    """
    derived = np.floor(prep.launch[:, None] - np.asarray(lead, dtype=float)[None, :])
    return np.where(np.isnan(prep.scheme_since)[:, None], derived, prep.scheme_since[:, None])


def plan_mask(prep: Prepared, p: Mapping[str, np.ndarray], plan_year: float) -> np.ndarray:
    """True where a model's saving counts under the plan baseline (``scheme_since >= plan_year``).

    Shape (n_models, n_scenarios); ``plan_year`` a scalar or an (n_scenarios,) array.
    """
    return scheme_since_years(prep, p["dev_lead_years"]) >= np.asarray(plan_year, dtype=float)


def npv_factors(years: np.ndarray, discount_rate: float | np.ndarray, start_year: int,
                npv_timing: str = "mid") -> np.ndarray:
    """Discount factors ``(1 + r) ** -(y - start_year + offset)``; offset 0.5 mid, 1 end, 0 start.

    Valued at 1 January of ``start_year``. ``years`` shape (n_years,), ``discount_rate`` a scalar
    or (n_scenarios,) array (decimal per year, > -1); returns (n_years,) or (n_years, n_scenarios).
    """
    if npv_timing not in NPV_TIMINGS:
        raise ParameterError("invalid NPV timing",
                             [f"npv_timing = {npv_timing!r} is not one of {', '.join(NPV_TIMINGS)}"])
    rate = np.asarray(discount_rate, dtype=float)
    if not np.all(np.isfinite(rate)) or np.any(rate <= -1):
        raise ParameterError("invalid discount rate", [f"discount_rate = {discount_rate!r} must be > -1"])
    expo = np.asarray(years, dtype=float) - start_year + NPV_TIMINGS[npv_timing]
    if rate.ndim == 0:
        return (1.0 + rate) ** -expo
    return (1.0 + rate[None, :]) ** -expo[:, None]


def calc_window_totals(prep: Prepared, p: Mapping[str, np.ndarray], start_year: int, end_year: int,
                       *, plan_year: float = 2020) -> dict[str, np.ndarray]:
    """Window totals under both baselines, one value per scenario (EUR m).

    Parameters
    ----------
    prep : Prepared
    p : Mapping[str, ndarray]
        Scenario parameters from :func:`scenario_params`, each shape (n_scenarios,).
    start_year, end_year : int
        Window, inclusive.
    plan_year : float or ndarray
        Year of the plan (scalar or per scenario).

    Returns
    -------
    dict of str -> ndarray, shape (n_scenarios,)
        ``standalone_eur_m``, ``plan_eur_m``, ``pre_plan_eur_m`` (= standalone - plan),
        ``development_standalone_eur_m``, ``development_plan_eur_m`` (development part).
    """
    core = calc_core(prep, p)
    lead = p["dev_lead_years"][None, :]
    share = dev_share(prep.launch[:, None], lead, float(start_year), float(end_year + 1))
    years = np.clip(np.minimum(prep.end, end_year) - np.maximum(prep.launch, start_year) + 1, 0.0, None)
    dev = core["dev_saving"] * share
    per_model = dev + (core["production"] + core["other"]) * years[:, None]
    counted = plan_mask(prep, p, plan_year)
    standalone = per_model.sum(axis=0)
    plan = np.where(counted, per_model, 0.0).sum(axis=0)
    return {"standalone_eur_m": standalone, "plan_eur_m": plan, "pre_plan_eur_m": standalone - plan,
            "development_standalone_eur_m": dev.sum(axis=0),
            "development_plan_eur_m": np.where(counted, dev, 0.0).sum(axis=0)}


def required_keys(prep: Prepared) -> list[str]:
    segs = prep.segments
    return [*RATE_KEYS, "dev_lead_years", *(f"dev_cost_eur_m_{s}" for s in segs), *(f"unit_cost_eur_{s}" for s in segs)]


def scenario_params(
    prep: Prepared, assumptions: Mapping[str, float], overrides: Mapping[str, object] | None = None
) -> dict[str, np.ndarray]:
    """Parameters as 1-D arrays, one entry per scenario (overrides broadcast against the base)."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    keys = required_keys(prep)
    missing = [k for k in keys if k not in assumptions and k not in overrides]
    if missing:
        raise ParameterError("savings assumptions are missing", [f"no value for {k!r}" for k in missing])
    unknown = [k for k in overrides if k not in keys]
    if unknown:
        raise ParameterError("unknown savings parameter", [f"{k!r} is not used by the savings engine" for k in unknown])
    arrays = [np.atleast_1d(np.asarray(overrides.get(k, assumptions.get(k)), dtype=float)) for k in keys]
    arrays = np.broadcast_arrays(*arrays)
    params = dict(zip(keys, (a.astype(float) for a in arrays), strict=True))
    check_params(params)
    return params


def check_params(params: Mapping[str, np.ndarray]) -> None:
    problems = []
    for key, vals in params.items():
        low, high, inclusive = bounds.bounds(key)
        ok = np.isfinite(vals) & ((vals >= low) if inclusive else (vals > low))
        if high is not None:
            ok &= vals <= high
        problems += [f"{key} = {v:g} is not {bounds.describe(key)}" for v in np.unique(vals[~ok])]
    if problems:
        raise ParameterError("invalid savings assumption", problems)


def calc_core(prep: Prepared, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-model figures for every scenario; each array has shape (n_models, n_scenarios)."""
    seg = prep.seg_codes
    dev_by_seg = np.stack([p[f"dev_cost_eur_m_{s}"] for s in prep.segments])  # (n_segments, s)
    unit_by_seg = np.stack([p[f"unit_cost_eur_{s}"] for s in prep.segments])
    own = prep.own_dev[:, None]
    dev = np.where(np.isnan(own), dev_by_seg[seg], own)
    unit = unit_by_seg[seg]
    in_fam = prep.fam_codes >= 0
    platform = ~in_fam & prep.common_platform
    # A family's investment under the scheme: the leader's full D plus d x each follower's D.
    weight = np.where(prep.is_leader[:, None], 1.0, p["follower_diff_share"][None, :])
    fam_dev = np.zeros((prep.n_families, dev.shape[1]))
    fam_scheme = np.zeros_like(fam_dev)
    np.add.at(fam_dev, prep.fam_codes[in_fam], dev[in_fam])
    np.add.at(fam_scheme, prep.fam_codes[in_fam], (weight * dev)[in_fam])
    with np.errstate(divide="ignore", invalid="ignore"):
        fam_rate = np.where(fam_dev > 0, 1.0 - fam_scheme / fam_dev, 0.0)
    reduction = np.where(
        in_fam[:, None],
        fam_rate[np.where(in_fam, prep.fam_codes, 0)] if prep.n_families else 0.0,
        np.where(platform[:, None], p["platform_saving_rate"][None, :], 0.0),
    )
    rate = np.minimum(reduction, p["max_saving_rate"][None, :])
    cost_m = unit * prep.volume[:, None] / 1e6  # EUR m of production cost per year
    prod_rate = np.where(
        in_fam[:, None],
        p["production_saving_rate"][None, :],
        np.where(platform[:, None], p["platform_production_saving_rate"][None, :], 0.0),
    )
    other_rate = np.where(in_fam[:, None], p["other_saving_rate"][None, :], 0.0)
    return {
        "dev": dev,
        "unit": unit,
        "reduction": reduction,
        "rate": rate,
        "dev_saving": rate * dev,
        "production": prod_rate * cost_m,
        "other": other_rate * cost_m,
    }


def dev_share(launch: np.ndarray, lead: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Share of development spend falling in the year span [lo, hi) (spend uniform over [launch-L, launch))."""
    return np.clip(np.minimum(launch, hi) - np.maximum(launch - lead, lo), 0.0, None) / lead


def validate_years(start_year: int, end_year: int) -> None:
    """Raise ParameterError unless ``YEAR_RANGE[0] <= start_year <= end_year <= YEAR_RANGE[1]``."""
    lo, hi = YEAR_RANGE
    problems = [
        f"{name} = {val!r} is not a whole year in {lo}..{hi}"
        for name, val in (("start_year", start_year), ("end_year", end_year))
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or not lo <= val <= hi
    ]
    if not problems and start_year > end_year:
        problems.append(f"start_year = {start_year} is after end_year = {end_year}")
    if problems:
        raise ParameterError("invalid report window", problems)


