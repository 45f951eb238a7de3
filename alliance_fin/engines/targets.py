"""Paths to a target and the status of each year against it (DESIGN section 4).

Pure: shares (decimal fractions) and years in, arrays out. The path runs straight from the
``plan_year`` value to the target when that value is below the target, and is the target itself
otherwise (it never runs down). Before the target year a year is ``ahead`` (at or above the
target), ``on_track`` (at or above the path), ``at_risk`` (below the path by at most
``amber_tolerance``) or ``off_track``; in and after the target year ``met`` or ``missed``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EPS", "STATUSES", "calc_target_path", "calc_target_status"]

#: Float tolerance of every target comparison (shares are decimal fractions).
EPS = 1e-9
STATUSES = ("ahead", "on_track", "at_risk", "off_track", "met", "missed")
"""Status vocabulary, before the target year (first four) and from it on (last two)."""


def calc_target_path(actual_start: float, target: float, start_year: int, target_year: int,
                     years: np.ndarray) -> np.ndarray:
    """Path to a target: straight from ``actual_start`` (the ``start_year`` = plan-year value) up to
    ``target`` in ``target_year`` when ``actual_start`` is below the target; else the target itself.

    ``path_y = actual_start + (target - actual_start) * (y - start_year) / (target_year -
    start_year)``, held at ``target`` from the target year on (and equal to it when
    ``target_year <= start_year``). A path never runs down to a target already exceeded.
    Shares in, shares out; shape of ``years``.
    """
    years = np.asarray(years, dtype=float)
    if target_year <= start_year or actual_start >= target:
        return np.full(years.shape, float(target))
    frac = np.clip((years - start_year) / (target_year - start_year), 0.0, 1.0)
    return actual_start + (target - actual_start) * frac


def calc_target_status(actual: np.ndarray, path: np.ndarray, years: np.ndarray, target: float,
                       target_year: int, amber_tolerance: float) -> np.ndarray:
    """Status per year (array of str, see :data:`STATUSES`).

    Before the target year: ``ahead`` (actual >= target), ``on_track`` (>= path), ``at_risk``
    (below the path by at most ``amber_tolerance``, a share), ``off_track`` (further below). In
    and after the target year: ``met`` (>= target) or ``missed``. Every comparison allows
    :data:`EPS`, so a value on a boundary counts as reaching it. ``met`` is never shown before
    the target year.
    """
    actual, path = np.asarray(actual, float), np.asarray(path, float)
    years = np.asarray(years)
    reached = actual >= target - EPS
    return np.select(
        [(years >= target_year) & reached, years >= target_year, reached, actual >= path - EPS,
         actual >= path - amber_tolerance - EPS],
        ["met", "missed", "ahead", "on_track", "at_risk"], default="off_track")
