"""Savings engine: leader-follower investment savings by model, family, member and year.

Pure and vectorised: frames and scalars in, frames out; no loop over models in Python.
The method is documented in ``docs/methodology.md`` (section "Savings"). Every scenario
calculation (the engine here; the sensitivity grid and the tornado in
:mod:`alliance_fin.engines.sensitivity`, re-exported here) goes through one private core,
:func:`_calc_core`, that works on arrays of shape ``(n_models, n_scenarios)``, so the
figures agree by construction.

Units: money in EUR millions (``*_eur_m``), unit cost in EUR per vehicle, volume in units
per year, rates as decimal fractions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
YEAR_RANGE = (bounds.YEAR_FIRST, bounds.YEAR_LAST)
LABEL_COLS = ("member", "brand", "model_name", "family_id", "role", "segment", "region")
REQUIRED_COLS = ("model_id", *LABEL_COLS, "launch_year", "end_year", "annual_volume")


@dataclass(frozen=True)
class _Prepared:
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
    end: np.ndarray  # float years
    volume: np.ndarray  # units per year


def _prepare(lineup: pd.DataFrame) -> _Prepared:
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
    return _Prepared(
        frame=frame,
        segments=[str(s) for s in seg_uniques],
        seg_codes=np.asarray(seg_codes),
        fam_codes=np.asarray(fam_codes),
        n_families=len(fam_uniques),
        is_leader=is_leader,
        own_dev=pd.to_numeric(own.replace("", np.nan), errors="coerce").to_numpy(dtype=float),
        common_platform=cp.to_numpy(dtype=bool),
        launch=lineup["launch_year"].to_numpy(dtype=float),
        end=lineup["end_year"].to_numpy(dtype=float),
        volume=lineup["annual_volume"].to_numpy(dtype=float),
    )


def _required_keys(prep: _Prepared) -> list[str]:
    segs = prep.segments
    return [*RATE_KEYS, "dev_lead_years", *(f"dev_cost_eur_m_{s}" for s in segs), *(f"unit_cost_eur_{s}" for s in segs)]


def _scenario_params(
    prep: _Prepared, assumptions: Mapping[str, float], overrides: Mapping[str, object] | None = None
) -> dict[str, np.ndarray]:
    """Parameters as 1-D arrays, one entry per scenario (overrides broadcast against the base)."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    keys = _required_keys(prep)
    missing = [k for k in keys if k not in assumptions and k not in overrides]
    if missing:
        raise ParameterError("savings assumptions are missing", [f"no value for {k!r}" for k in missing])
    unknown = [k for k in overrides if k not in keys]
    if unknown:
        raise ParameterError("unknown savings parameter", [f"{k!r} is not used by the savings engine" for k in unknown])
    arrays = [np.atleast_1d(np.asarray(overrides.get(k, assumptions.get(k)), dtype=float)) for k in keys]
    arrays = np.broadcast_arrays(*arrays)
    params = dict(zip(keys, (a.astype(float) for a in arrays), strict=True))
    _check_params(params)
    return params


def _check_params(params: Mapping[str, np.ndarray]) -> None:
    problems = []
    for key, vals in params.items():
        low, high, inclusive = bounds.bounds(key)
        ok = np.isfinite(vals) & ((vals >= low) if inclusive else (vals > low))
        if high is not None:
            ok &= vals <= high
        problems += [f"{key} = {v:g} is not {bounds.describe(key)}" for v in np.unique(vals[~ok])]
    if problems:
        raise ParameterError("invalid savings assumption", problems)


def _calc_core(prep: _Prepared, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
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


def _dev_share(launch: np.ndarray, lead: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
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


def calc_model_savings(
    lineup: pd.DataFrame,
    assumptions: Mapping[str, float],
    *,
    max_saving_rate: float | None = None,
    follower_diff_share: float | None = None,
) -> pd.DataFrame:
    """Savings per model under the leader-follower scheme.

    Parameters
    ----------
    lineup : pandas.DataFrame
        One row per model with at least ``model_id``, ``member``, ``brand``, ``model_name``,
        ``family_id`` ("" = none), ``role``, ``segment``, ``region``, ``launch_year``,
        ``end_year``, ``annual_volume`` (units/year); optional ``common_platform`` (bool),
        ``dev_cost_eur_m`` (EUR m, NaN = segment default). In a family, every model that is
        not the leader counts as a follower.
    assumptions : Mapping[str, float]
        Assumption values by key (see ``alliance_fin/data/assumptions.csv``).
    max_saving_rate, follower_diff_share : float, optional
        Overrides of the assumptions of the same name (decimal fractions).

    Returns
    -------
    pandas.DataFrame
        Index ``model_id`` (input order); columns ``member, brand, model_name, family_id, role,
        segment, region`` (str), ``scheme`` (family|platform|none), ``launch_year``, ``end_year``
        (int), ``standalone_dev_eur_m`` (D, EUR m), ``family_reduction_rate`` (uncapped family
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
    prep = _prepare(lineup)
    overrides = {"max_saving_rate": max_saving_rate, "follower_diff_share": follower_diff_share}
    core = {k: v[:, 0] for k, v in _calc_core(prep, _scenario_params(prep, assumptions, overrides)).items()}
    in_fam = prep.fam_codes >= 0
    out = prep.frame.copy()
    out["scheme"] = pd.Series(
        np.where(in_fam, "family", np.where(prep.common_platform, "platform", "none")), dtype="str"
    )
    out["launch_year"] = prep.launch.astype("int64")
    out["end_year"] = prep.end.astype("int64")
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
) -> pd.DataFrame:
    """Phase model savings into calendar years of the report window.

    Development savings fall evenly over the ``dev_lead_years`` years before launch
    (``launch_year - L`` .. ``launch_year - 1``); production and other savings in every year
    ``launch_year`` .. ``end_year``.

    Parameters
    ----------
    model_savings : pandas.DataFrame
        Output of :func:`calc_model_savings`.
    assumptions : Mapping[str, float]
        Needs ``dev_lead_years`` (years, > 0; a fractional L gives the earliest year a part share).
    start_year, end_year : int
        Window, inclusive, within 2000..2035.

    Returns
    -------
    pandas.DataFrame
        Long frame, one row per model x year x category (zeros included), RangeIndex; columns
        ``model_id, member, family_id, segment, region`` (str), ``year`` (int),
        ``category`` (development|production|other), ``saving_eur_m`` (EUR m in that year).
    """
    validate_years(start_year, end_year)
    if "dev_lead_years" not in assumptions:
        raise ParameterError("savings assumptions are missing", ["no value for 'dev_lead_years'"])
    lead = np.array([float(assumptions["dev_lead_years"])])
    _check_params({"dev_lead_years": lead})
    ms = model_savings.reset_index()
    years = np.arange(start_year, end_year + 1)
    launch = ms["launch_year"].to_numpy(dtype=float)[:, None]
    active = (launch <= years) & (years <= ms["end_year"].to_numpy()[:, None])
    values = np.stack(
        [
            ms["dev_saving_eur_m"].to_numpy()[:, None] * _dev_share(launch, lead[0], years, years + 1.0),
            active * ms["annual_production_saving_eur_m"].to_numpy()[:, None],
            active * ms["annual_other_saving_eur_m"].to_numpy()[:, None],
        ],
        axis=2,
    )  # (n_models, n_years, 3)
    n, n_years, n_cat = values.shape
    rows = np.repeat(np.arange(n), n_years * n_cat)
    out = {c: ms[c].array.take(rows) for c in ("model_id", "member", "family_id", "segment", "region")}
    out["year"] = np.tile(np.repeat(years, n_cat), n)
    out["category"] = pd.array(np.tile(np.array(CATEGORIES, dtype=object), n * n_years), dtype="str")
    out["saving_eur_m"] = values.reshape(-1)
    return pd.DataFrame(out, copy=False)  # the arrays are fresh; skip pandas' defensive copy


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


def calc_npv(by_year: pd.DataFrame, discount_rate: float, start_year: int) -> float:
    """Net present value (EUR m) of phased savings, discounted to ``start_year``.

    ``NPV = sum_y saving_y / (1 + discount_rate) ** (y - start_year)``; ``discount_rate`` is a
    decimal per year (> -1).
    """
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise ParameterError("invalid discount rate", [f"discount_rate = {discount_rate!r} must be > -1"])
    factor = (1.0 + float(discount_rate)) ** -(by_year["year"].to_numpy(dtype=float) - start_year)
    return float(np.sum(by_year["saving_eur_m"].to_numpy() * factor))


def convert_currency(
    frame_or_value: pd.DataFrame | pd.Series | float, currency: str, assumptions: Mapping[str, float]
) -> pd.DataFrame | pd.Series | float:
    """Convert EUR amounts to ``currency`` at the assumption rate ``fx_eur_<ccy>`` (EUR -> 1).

    Parameters
    ----------
    frame_or_value : DataFrame, Series or float
        A scalar or Series is multiplied by the rate. In a DataFrame every column whose name ends
        in ``_eur_m`` (EUR m) or ``_eur`` (EUR) is multiplied and renamed to ``_<ccy>_m`` /
        ``_<ccy>`` (lower case); other columns are kept.
    currency : str
        ``EUR``, ``GBP``, ``JPY`` or ``USD``.

    Returns
    -------
    Same type as the input, in the report currency.
    """
    if currency not in CURRENCIES:
        raise ParameterError("unknown currency", [f"currency = {currency!r} is not one of {', '.join(CURRENCIES)}"])
    key = CURRENCIES[currency]
    if key is not None and key not in assumptions:
        raise ParameterError("savings assumptions are missing", [f"no value for {key!r}"])
    rate = 1.0 if key is None else float(assumptions[key])
    if not isinstance(frame_or_value, pd.DataFrame):
        return frame_or_value * rate if isinstance(frame_or_value, pd.Series) else float(frame_or_value) * rate
    out = frame_or_value.copy()
    suffix = currency.lower()
    renames = {}
    for col in out.columns:
        for unit in ("_eur_m", "_eur"):
            if isinstance(col, str) and col.endswith(unit):
                out[col] = out[col] * rate
                renames[col] = col[: -len(unit)] + unit.replace("eur", suffix)
                break
    return out.rename(columns=renames)


def calc_headline(
    model_savings: pd.DataFrame,
    by_year: pd.DataFrame,
    assumptions: Mapping[str, float],
    *,
    start_year: int,
    currency: str = "EUR",
) -> dict[str, float]:
    """Headline figures of the savings report (plain floats).

    Returns
    -------
    dict
        ``total_savings_eur_m`` (sum of ``by_year``), ``savings_pct`` (sum of development
        savings / sum of standalone development investment over all models: a decimal
        fraction), ``npv_savings_eur_m`` (at ``discount_rate`` to ``start_year``),
        ``total_savings_report_ccy_m`` (total in ``currency``, millions).
    """
    total = float(by_year["saving_eur_m"].sum())
    dev_total = float(model_savings["standalone_dev_eur_m"].sum())
    pct = float(model_savings["dev_saving_eur_m"].sum()) / dev_total if dev_total > 0 else 0.0
    return {
        "total_savings_eur_m": total,
        "savings_pct": pct,
        "npv_savings_eur_m": calc_npv(by_year, float(assumptions.get("discount_rate", np.nan)), start_year),
        "total_savings_report_ccy_m": float(convert_currency(total, currency, assumptions)),
    }


def calc_avoided_successor_dev(
    lineup: pd.DataFrame, assumptions: Mapping[str, float], cut_model_ids: Sequence[str] | set[str]
) -> pd.DataFrame:
    """Development investment avoided because a cut model gets no successor.

    The successor would have cost the cut model's standalone investment ``D_i`` (EUR m); this is
    reported apart from the scheme savings and is not part of ``total_savings_eur_m``.

    Returns
    -------
    pandas.DataFrame
        Index ``model_id`` (line-up order, cut models only); columns ``member, family_id,
        segment, region`` (str), ``end_year`` (int), ``successor_launch_year`` (end_year + 1),
        ``avoided_dev_eur_m`` (EUR m, one-off).

    Raises
    ------
    ParameterError
        A cut id is not in the line-up.
    """
    prep = _prepare(lineup)
    ids = pd.Index(pd.unique(pd.Series(list(cut_model_ids), dtype="str")))
    unknown = ids.difference(pd.Index(prep.frame["model_id"]))
    if len(unknown):
        raise ParameterError("unknown cut models", [f"model_id {m!r} is not in the line-up" for m in unknown])
    core = _calc_core(prep, _scenario_params(prep, assumptions))
    mask = prep.frame["model_id"].isin(ids).to_numpy()
    out = prep.frame.loc[mask, ["model_id", "member", "family_id", "segment", "region"]].copy()
    out["end_year"] = prep.end[mask].astype("int64")
    out["successor_launch_year"] = out["end_year"] + 1
    out["avoided_dev_eur_m"] = core["dev"][mask, 0]
    return out.set_index("model_id")
