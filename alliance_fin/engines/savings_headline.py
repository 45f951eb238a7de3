"""Headline figures of the savings engine: NPV with its timing, currency conversion, the headline.

Pure: the frames of :mod:`alliance_fin.engines.savings` in, plain floats (or a converted frame)
out. NPV is valued at 1 January of ``start_year``; ``npv_timing`` places a year's flow at mid-year
(``mid``, default), year end (``end``) or year start (``start``). ``discount_rate`` is a **real**
rate: every cost in the library is held in constant (2020) prices, so discounting them at a
nominal rate would double-count inflation (``docs/methodology.md``, "NPV").

Units: money in EUR millions (``*_eur_m``), rates as decimal fractions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from alliance_fin.engines.savings_core import CURRENCIES, npv_factors
from alliance_fin.errors import ParameterError

__all__ = ["HEADLINE_KEYS", "calc_npv", "convert_currency", "calc_headline"]


def calc_npv(by_year: pd.DataFrame, discount_rate: float, start_year: int, *,
             npv_timing: str = "mid", column: str = "saving_eur_m") -> float:
    """Net present value (EUR m) of phased savings, valued at 1 January of ``start_year``.

    ``NPV = sum_y saving_y * (1 + r) ** -(y - start_year + k)`` with ``k`` = 0.5 (``mid``, a
    year's flow at mid-year), 1 (``end``) or 0 (``start``); ``discount_rate`` ``r`` is a decimal
    per year (> -1). At ``r = 0`` the NPV equals the window total whatever the timing.

    Parameters
    ----------
    by_year : pandas.DataFrame
        Output of :func:`calc_savings_by_year` (columns ``year`` and ``column``).
    column : str
        Which flow to value (default the chosen baseline's ``saving_eur_m``).
    """
    factor = npv_factors(by_year["year"].to_numpy(dtype=float), float(discount_rate), start_year, npv_timing)
    return float(np.sum(by_year[column].to_numpy() * factor))


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


HEADLINE_KEYS = ("total_savings_eur_m", "savings_pct", "npv_savings_eur_m", "total_savings_report_ccy_m",
                 "pre_plan_savings_eur_m", "net_savings_eur_m")
"""Manifest keys of the savings report, in order."""


def calc_headline(
    model_savings: pd.DataFrame,
    by_year: pd.DataFrame,
    assumptions: Mapping[str, float],
    *,
    start_year: int,
    currency: str = "EUR",
    npv_timing: str = "mid",
    cost_to_achieve_rate: float | None = None,
) -> dict[str, float]:
    """Headline figures of the savings report (plain floats), under ``by_year``'s baseline.

    The baseline is the one :func:`calc_savings_by_year` recorded in ``by_year.attrs``.

    Parameters
    ----------
    model_savings, by_year : pandas.DataFrame
        Outputs of :func:`calc_model_savings` and :func:`calc_savings_by_year`.
    assumptions : Mapping[str, float]
        Uses ``discount_rate``, ``cost_to_achieve_rate`` (unless given) and the FX rate.
    start_year : int
        Valuation year of the NPV (1 January).
    npv_timing : {"mid", "end", "start"}
        Where in its year a flow falls.

    Returns
    -------
    dict
        ``total_savings_eur_m`` (window total, chosen baseline), ``savings_pct`` (lifetime
        development saving of the counted models / standalone development investment of all
        models: a decimal fraction), ``npv_savings_eur_m``, ``total_savings_report_ccy_m``
        (total in ``currency`` millions), ``pre_plan_savings_eur_m`` (standalone window total
        minus plan window total: what the plan baseline leaves out), ``net_savings_eur_m``
        (total minus ``cost_to_achieve_rate`` x the window's development saving).
    """
    total = float(by_year["saving_eur_m"].sum())
    standalone = float(by_year["standalone_saving_eur_m"].sum()) if "standalone_saving_eur_m" in by_year else total
    in_plan = by_year["in_plan"].to_numpy(dtype=bool) if "in_plan" in by_year else np.ones(len(by_year), bool)
    plan_total = float(by_year["standalone_saving_eur_m"].to_numpy()[in_plan].sum()) \
        if "standalone_saving_eur_m" in by_year else total
    dev_total = float(model_savings["standalone_dev_eur_m"].sum())
    chosen_plan = by_year.attrs.get("baseline") == "plan"
    counted = model_savings["in_plan"].to_numpy(bool) if (chosen_plan and "in_plan" in model_savings) \
        else np.ones(len(model_savings), bool)
    pct = float(model_savings["dev_saving_eur_m"].to_numpy()[counted].sum()) / dev_total if dev_total > 0 else 0.0
    if cost_to_achieve_rate is None:
        cost_to_achieve_rate = float(assumptions.get("cost_to_achieve_rate", 0.0))
    if not (math.isfinite(cost_to_achieve_rate) and 0 <= cost_to_achieve_rate <= 1):
        raise ParameterError("invalid savings assumption",
                             [f"cost_to_achieve_rate = {cost_to_achieve_rate!r} is not a decimal fraction in [0, 1]"])
    development = float(by_year.loc[by_year["category"].eq("development"), "saving_eur_m"].sum())
    return {
        "total_savings_eur_m": total,
        "savings_pct": pct,
        "npv_savings_eur_m": calc_npv(by_year, float(assumptions.get("discount_rate", np.nan)), start_year,
                                      npv_timing=npv_timing),
        "total_savings_report_ccy_m": float(convert_currency(total, currency, assumptions)),
        "pre_plan_savings_eur_m": standalone - plan_total,
        "net_savings_eur_m": total - cost_to_achieve_rate * development,
    }
