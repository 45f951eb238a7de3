"""The typed line-up, model changeovers, checked assumptions and years shared by every engine.

Shared by :mod:`alliance_fin.engines.savings`, :mod:`alliance_fin.engines.trimming` and
:mod:`alliance_fin.engines.milestones` so all read a line-up, its changeovers and their parameters
the same way. The one rule of changeovers lives here (:func:`calc_effective_end_year`): a
predecessor's effective last year is ``min(end_year, successor launch_year - 1)``, so in no year do
a model and its successor both count.
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


def calc_effective_end_year(lineup: pd.DataFrame) -> np.ndarray:
    """Last year each model counts: ``min(end_year, earliest successor launch_year - 1)``.

    A successor is a row whose ``replaces`` names this row's ``model_id``. Without a ``replaces``
    column (or with it empty) the effective end is ``end_year``. Unknown ids in ``replaces`` are
    ignored here (the input rules refuse them); a successor launched before its predecessor
    makes the predecessor end before its launch, i.e. never count.

    Parameters
    ----------
    lineup : DataFrame
        Rows with ``model_id``, ``launch_year``, ``end_year`` (whole years) and optionally
        ``replaces`` (str, ``""`` = none).

    Returns
    -------
    ndarray of int64, shape (n_models,)
        Effective last year on sale, in row order.
    """
    end = lineup["end_year"].to_numpy(dtype="int64").copy()
    if "replaces" not in lineup.columns:
        return end
    pred = lineup["replaces"].fillna("").astype(str).str.strip()
    has = pred.ne("").to_numpy()
    if not has.any():
        return end
    succ_launch = pd.Series(lineup["launch_year"].to_numpy(dtype="int64")[has], index=pred[has].to_numpy())
    first = succ_launch.groupby(level=0).min()
    ids = lineup["model_id"].astype(str).str.strip()
    limit = ids.map(first).to_numpy(dtype=float)  # NaN where no successor
    ok = ~np.isnan(limit)
    end[ok] = np.minimum(end[ok], limit[ok].astype("int64") - 1)
    return end


def successor_ids(lineup: pd.DataFrame) -> pd.Series:
    """Per ``model_id``: True when some row's ``replaces`` names it (it has a successor)."""
    ids = lineup["model_id"].astype(str).str.strip()
    if "replaces" not in lineup.columns:
        return pd.Series(False, index=ids.to_numpy())
    named = set(lineup["replaces"].fillna("").astype(str).str.strip()) - {""}
    return pd.Series(ids.isin(named).to_numpy(), index=ids.to_numpy())


def prepare_lineup(lineup: pd.DataFrame) -> pd.DataFrame:
    """The line-up typed and indexed by ``model_id`` (optional columns filled with defaults).

    Adds ``effective_end_year`` (int, :func:`calc_effective_end_year`), ``has_successor``
    (bool), ``replaces`` (str), ``rest_of_range`` (bool: an aggregate row for a member's unlisted
    models) and ``platform`` (str) when absent.
    """
    missing = [c for c in _NEEDED if c not in lineup.columns]
    if missing:
        raise InputError("line-up lacks required columns: " + ", ".join(missing))
    frame = lineup.copy()
    for col, default in (("common_platform", False), ("trim", "no"), ("model_name", ""),
                         ("dev_cost_eur_m", np.nan), ("replaces", ""), ("rest_of_range", False),
                         ("platform", "")):
        if col not in frame.columns:
            frame[col] = default
    for col in ("model_id", "member", "model_name", "segment", "region", "family_id", "role", "trim",
                "replaces", "platform"):
        frame[col] = frame[col].fillna("").astype(str).str.strip()
    frame["common_platform"] = as_flags(frame["common_platform"])
    frame["rest_of_range"] = as_flags(frame["rest_of_range"])
    frame["trim"] = frame["trim"].str.lower()
    frame["launch_year"] = frame["launch_year"].astype("int64")
    frame["end_year"] = frame["end_year"].astype("int64")
    frame["annual_volume"] = frame["annual_volume"].astype("float64")
    frame["dev_cost_eur_m"] = pd.to_numeric(frame["dev_cost_eur_m"], errors="coerce")
    dup = frame.loc[frame["model_id"].duplicated(), "model_id"].unique().tolist()
    if dup:
        raise InputError("line-up has duplicate model_id: " + ", ".join(map(str, dup)))
    frame["effective_end_year"] = calc_effective_end_year(frame)
    frame["has_successor"] = successor_ids(frame).to_numpy()
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
