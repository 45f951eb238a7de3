"""Values as text in their own unit: given rates at their precision, assumption values with their unit.

Shared by the tables (:mod:`alliance_fin.present.display`) and the builders that show values of
mixed units in one column (the tornado, the assumptions table). Pure functions, no I/O.
"""

from __future__ import annotations

__all__ = ["format_rate", "format_value"]


def format_rate(value: float) -> str:
    """A given rate as a percentage at the precision it is given: 0.03 -> ``3.0%``, 0.0125 -> ``1.25%``."""
    pct = float(value) * 100
    for decimals in (1, 2, 3):
        if abs(round(pct, decimals) - pct) < 1e-9:
            return f"{pct:.{decimals}f}%"
    return f"{pct:.3f}%"


def format_value(value: float, unit: str) -> str:
    """An assumption's value as text in its own unit (``decimal share`` -> a rate in %, years, money)."""
    if value is None or value != value:
        return ""
    if unit.startswith("decimal"):
        return format_rate(value)
    if unit.startswith("year"):
        return f"{value:g}" if unit == "years" else f"{int(value)}"
    text = f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 1000 else f"{value:,.4g}"
    currency = unit.split()[0] if unit and unit.split()[0].isupper() else ""
    return f"{text} {currency}".strip() + (" m" if currency and " m" in f" {unit} " else "")
