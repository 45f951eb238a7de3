"""Headline figures of the savings engine for many scenarios at once, from the core arrays.

:func:`calc_headlines` is the one place the savings headline is computed: :func:`calc_savings`
calls it with one scenario, ``sweep --headlines-only`` with thousands. No pandas, no loop over
scenarios or models in Python.

Exactness: a scenario's figures are bitwise the same whatever the batch it is computed in.
Elementwise numpy operations give the same value whatever the broadcast shape, and every
reduction runs along the last axis of a C-contiguous array laid out ``(scenarios, ..., n)``, so
each scenario's sum is the same pairwise summation of the same numbers in the same order (never
along axis 0 of a ``(n, scenarios)`` array). Scenarios are processed in chunks of
:data:`CHUNK`, which changes nothing per scenario.

Units: money in EUR millions (``*_eur_m``), rates as decimal fractions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from alliance_fin.engines.savings_core import (
    BASELINES,
    CURRENCIES,
    Prepared,
    calc_core,
    dev_share,
    npv_factors,
    plan_mask,
    required_keys,
    scenario_params,
    validate_years,
)
from alliance_fin.engines.savings_headline import HEADLINE_KEYS
from alliance_fin.errors import ParameterError

__all__ = ["CHUNK", "batch_keys", "calc_headlines"]

CHUNK = 512
"""Scenarios per pass (bounds memory to about CHUNK x years x models floats per array)."""

def batch_keys(prep: Prepared, currency: str = "EUR") -> tuple[str, ...]:
    """Assumption keys :func:`calc_headlines` takes one value per scenario for."""
    fx = CURRENCIES.get(currency)
    return (*required_keys(prep), "discount_rate", "cost_to_achieve_rate", *((fx,) if fx else ()))


def _per_scenario(key: str, overrides: Mapping[str, object], assumptions: Mapping[str, float],
                  default: float | None = None) -> np.ndarray:
    value = overrides.get(key, assumptions.get(key, default))
    if value is None:
        raise ParameterError("savings assumptions are missing", [f"no value for {key!r}"])
    return np.atleast_1d(np.asarray(value, dtype=float))


def _rows(a: np.ndarray) -> np.ndarray:
    """``(n, S)`` -> ``(S, n)``, C-contiguous: a scenario's values contiguous, in model order."""
    return np.ascontiguousarray(a.T)


def calc_headlines(
    prep: Prepared,
    assumptions: Mapping[str, float],
    overrides: Mapping[str, object] | None = None,
    *,
    start_year: int,
    end_year: int,
    baseline: str = "plan",
    plan_year: int = 2020,
    npv_timing: str = "mid",
    currency: str = "EUR",
) -> dict[str, np.ndarray]:
    """Headline figures of S scenarios, each an array of shape ``(S,)``.

    Parameters
    ----------
    prep : Prepared
        :func:`alliance_fin.engines.savings_core.prepare` of the line-up.
    assumptions : Mapping[str, float]
        Assumption values by key (the base of every scenario).
    overrides : Mapping[str, array-like], optional
        Per-scenario values (scalars or 1-D arrays, broadcast together) of any key in
        :func:`batch_keys`: the core's assumptions, ``discount_rate``, ``cost_to_achieve_rate``,
        the currency's FX rate. ``None`` values are ignored.
    start_year, end_year : int
        Report window, inclusive; the NPV is valued at 1 January of ``start_year``.
    baseline, plan_year, npv_timing, currency
        As :func:`alliance_fin.engines.savings.calc_savings` (one value for the whole batch).

    Returns
    -------
    dict of str -> ndarray
        :data:`HEADLINE_KEYS`, as documented in :func:`alliance_fin.engines.savings.calc_headline`.

    Raises
    ------
    ParameterError
        An unknown key, a missing or out-of-range value, a bad window, baseline, timing or currency.
    """
    validate_years(start_year, end_year)
    if baseline not in BASELINES:
        raise ParameterError("invalid savings baseline", [f"baseline = {baseline!r} is not one of {', '.join(BASELINES)}"])
    if currency not in CURRENCIES:
        raise ParameterError("unknown currency", [f"currency = {currency!r} is not one of {', '.join(CURRENCIES)}"])
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    allowed = batch_keys(prep, currency)
    unknown = [k for k in overrides if k not in allowed]
    if unknown:
        raise ParameterError("unknown savings parameter",
                             [f"{k!r} is not one of the per-scenario savings keys" for k in unknown])
    core_keys = set(required_keys(prep))
    p = scenario_params(prep, assumptions, {k: v for k, v in overrides.items() if k in core_keys})
    discount = _per_scenario("discount_rate", overrides, assumptions, np.nan)
    cta = _per_scenario("cost_to_achieve_rate", overrides, assumptions, 0.0)
    bad = cta[~(np.isfinite(cta) & (cta >= 0) & (cta <= 1))]
    if bad.size:
        raise ParameterError("invalid savings assumption",
                             [f"cost_to_achieve_rate = {float(v)!r} is not a decimal fraction in [0, 1]"
                              for v in np.unique(bad)])
    fx_key = CURRENCIES[currency]
    fx = np.ones(1) if fx_key is None else _per_scenario(fx_key, overrides, assumptions)
    n_scen = np.broadcast_shapes(*(a.shape for a in (*p.values(), discount, cta, fx)))[0]
    p = {k: np.broadcast_to(v, (n_scen,)) for k, v in p.items()}
    discount, cta, fx = (np.broadcast_to(a, (n_scen,)) for a in (discount, cta, fx))
    npv_factors(np.zeros(1), discount, start_year, npv_timing)  # checks rate and timing before any work

    core = calc_core(prep, p)
    counted_all = plan_mask(prep, p, plan_year)  # (n, S)
    years = np.arange(start_year, end_year + 1, dtype=float)
    launch = prep.launch[None, None, :]
    active = (prep.launch[None, :] <= years[:, None]) & (years[:, None] <= prep.end[None, :])  # (Y, n)
    chosen_plan = baseline == "plan"
    out = {k: np.empty(n_scen) for k in HEADLINE_KEYS}
    for a in range(0, n_scen, CHUNK):
        b = min(a + CHUNK, n_scen)
        dev_saving = _rows(core["dev_saving"][:, a:b])  # (s, n)
        production = _rows(core["production"][:, a:b])
        other = _rows(core["other"][:, a:b])
        counted = _rows(counted_all[:, a:b])[:, None, :]  # (s, 1, n)
        lead = np.asarray(p["dev_lead_years"][a:b])[:, None, None]
        share = dev_share(launch, lead, years[None, :, None], years[None, :, None] + 1.0)  # (s, Y, n)
        dev_y = np.ascontiguousarray(dev_saving[:, None, :] * share)
        flow_y = dev_y + active[None] * production[:, None, :] + active[None] * other[:, None, :]
        flow_y = np.ascontiguousarray(flow_y)
        standalone_y = flow_y.sum(axis=2)  # (s, Y)
        plan_y = np.ascontiguousarray(np.where(counted, flow_y, 0.0)).sum(axis=2)
        chosen_y = np.ascontiguousarray(plan_y if chosen_plan else standalone_y)
        dev_chosen = np.where(counted, dev_y, 0.0) if chosen_plan else dev_y
        development = np.ascontiguousarray(np.ascontiguousarray(dev_chosen).sum(axis=2)).sum(axis=1)
        standalone = np.ascontiguousarray(standalone_y).sum(axis=1)
        plan = np.ascontiguousarray(plan_y).sum(axis=1)
        total = chosen_y.sum(axis=1)
        factors = _rows(np.atleast_2d(npv_factors(years, np.asarray(discount[a:b]), start_year, npv_timing)))
        dev_all = _rows(core["dev"][:, a:b])
        dev_total = dev_all.sum(axis=1)
        saved = np.ascontiguousarray(np.where(counted[:, 0, :], dev_saving, 0.0) if chosen_plan else dev_saving)
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(dev_total > 0, saved.sum(axis=1) / dev_total, 0.0)
        out["total_savings_eur_m"][a:b] = total
        out["savings_pct"][a:b] = pct
        out["npv_savings_eur_m"][a:b] = np.ascontiguousarray(chosen_y * factors).sum(axis=1)
        out["total_savings_report_ccy_m"][a:b] = total * fx[a:b]
        out["pre_plan_savings_eur_m"][a:b] = standalone - plan
        out["net_savings_eur_m"][a:b] = total - cta[a:b] * development
    return out
