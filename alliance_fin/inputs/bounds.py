"""The allowed range of every assumption and numeric parameter, in one place.

The input file's ``assumptions`` sheet, the engines' own checks and the report parameter specs
(:mod:`alliance_fin.registry`) all read their bounds here, so a value is refused by the same rule
wherever it enters. Nothing here imports pandas: the registry stays cheap to import.
"""

from __future__ import annotations

import math

#: Years a report window, a target or a cut may fall in.
YEAR_FIRST, YEAR_LAST = 2000, 2035

#: Keys whose range is not the rule of their suffix: (low, high, low_inclusive).
_EXACT: dict[str, tuple[float, float | None, bool]] = {
    "discount_rate": (0.0, 0.5, True),
    "amber_tolerance": (0.0, 0.5, True),
    "dev_lead_years": (0.0, 10.0, False),
    "min_volume": (0.0, 10_000_000.0, True),
    "launch_delay_years": (0.0, 10.0, True),
}


def bounds(key: str) -> tuple[float, float | None, bool]:
    """``(low, high, low_inclusive)`` for an assumption or parameter key.

    Rates and shares (``*_rate``, ``*_share``) are decimal fractions in [0, 1]; years
    (``*_year``) lie in ``YEAR_FIRST..YEAR_LAST``; named exceptions are in ``_EXACT``; any
    other amount (costs, volumes, FX rates) is a finite number >= 0.
    """
    if key in _EXACT:
        return _EXACT[key]
    if key.endswith(("_rate", "_share")):
        return 0.0, 1.0, True
    if key.endswith("_year"):
        return float(YEAR_FIRST), float(YEAR_LAST), True
    return 0.0, None, True


def describe(key: str) -> str:
    """The rule of ``key`` as a phrase, e.g. ``"a number from 0 to 1"``."""
    low, high, inclusive = bounds(key)
    if high is None:
        return f"a number {'>=' if inclusive else '>'} {low:g}"
    if not inclusive:
        return f"a number above {low:g} and at most {high:g}"
    return f"a number from {low:g} to {high:g}"


def check(key: str, value: float) -> str | None:
    """``None`` when ``value`` is allowed for ``key``, else the rule it breaks (see :func:`describe`)."""
    low, high, inclusive = bounds(key)
    ok = (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
          and (value >= low if inclusive else value > low) and (high is None or value <= high))
    return None if ok else describe(key)
