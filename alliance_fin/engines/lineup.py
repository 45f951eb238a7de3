"""Inputs of the trimming and milestone engines: the typed line-up, checked assumptions and years.

Shared by :mod:`alliance_fin.engines.trimming` and :mod:`alliance_fin.engines.milestones` so both read a
line-up and their parameters the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from alliance_fin.errors import InputError, ParameterError
from alliance_fin.inputs import bounds
from alliance_fin.inputs.schema import as_flags

#: Years a report window (and a cut) may fall in.
YEAR_FIRST, YEAR_LAST = bounds.YEAR_FIRST, bounds.YEAR_LAST
_NEEDED = ("model_id", "member", "segment", "region", "family_id", "role",
           "launch_year", "end_year", "annual_volume")


def prepare_lineup(lineup: pd.DataFrame) -> pd.DataFrame:
    """The line-up typed and indexed by ``model_id`` (optional columns filled with defaults)."""
    missing = [c for c in _NEEDED if c not in lineup.columns]
    if missing:
        raise InputError("line-up lacks required columns: " + ", ".join(missing))
    frame = lineup.copy()
    for col, default in (("common_platform", False), ("trim", "no"), ("model_name", ""),
                         ("dev_cost_eur_m", np.nan)):
        if col not in frame.columns:
            frame[col] = default
    for col in ("model_id", "member", "model_name", "segment", "region", "family_id", "role", "trim"):
        frame[col] = frame[col].fillna("").astype(str).str.strip()
    frame["common_platform"] = as_flags(frame["common_platform"])
    frame["trim"] = frame["trim"].str.lower()
    frame["launch_year"] = frame["launch_year"].astype("int64")
    frame["end_year"] = frame["end_year"].astype("int64")
    frame["annual_volume"] = frame["annual_volume"].astype("float64")
    frame["dev_cost_eur_m"] = pd.to_numeric(frame["dev_cost_eur_m"], errors="coerce")
    dup = frame.loc[frame["model_id"].duplicated(), "model_id"].unique().tolist()
    if dup:
        raise InputError("line-up has duplicate model_id: " + ", ".join(map(str, dup)))
    return frame.set_index("model_id")


def assumption_param(assumptions: Mapping[str, float], key: str, override: float | None = None, *,
           low: float | None = None, high: float | None = None) -> float:
    """``override`` if given, else ``assumptions[key]``, checked to be finite and in range."""
    if override is None:
        if key not in assumptions:
            raise ParameterError(f"assumption {key!r} is missing")
        override = assumptions[key]
    try:
        value = float(override)
    except (TypeError, ValueError):
        raise ParameterError(f"{key} = {override!r} is not a number") from None
    if not math.isfinite(value) or (low is not None and value < low) or (
            high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ParameterError(f"{key} = {override!r} is out of range; allowed: {allowed}")
    return value


def check_int(name: str, value: object, low: int, high: int) -> int:
    """``value`` as an int if it is an integer (not a bool) in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name} = {value!r} must be a whole number from {low} to {high}")
    if not low <= int(value) <= high:
        raise ParameterError(f"{name} = {value!r} is out of range; allowed: {low} to {high}")
    return int(value)
