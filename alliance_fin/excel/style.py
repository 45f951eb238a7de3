"""Styling constants for the workbooks, read once from ``templates/excel/style.json``.

The defaults below are used when the template folder is not shipped (installed wheel); the
JSON file overrides them key by key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from alliance_fin.paths import TEMPLATES_DIR

_DEFAULTS: dict[str, Any] = {
    "font_name": "Calibri", "font_size": 10, "title_size": 16,
    "header_fill": "1F3864", "header_font": "FFFFFF", "input_fill": "FFF2CC",
    "input_font": "0000FF", "calc_font": "000000", "link_font": "0563C1",
    "note_font": "595959", "ok_fill": "C6EFCE", "fail_fill": "FFC7CE",
    "table_style": "TableStyleMedium2", "min_width": 8, "max_width": 60, "formula_width": 12,
    "number_formats": {
        "eur_m": "#,##0.0", "pct": "0.0%", "rate": "0.00%", "units": "#,##0", "year": "0",
        "fx": "0.000", "int": "0", "general": "General", "diff": "0.000000",
    },
    "unit_formats": {},
    "chart_width_cm": 18, "chart_height_cm": 9,
    # widest sheet (sum of column widths, characters) still fitted to one A4 landscape width
    "print_fit_width": 230,
    # the HTML report's colours (present/plots.py MEMBER_COLORS, CATEGORY_COLORS)
    "member_colors": {"Renault": "F2B705", "Nissan": "C3002F", "Mitsubishi": "4D4D4D"},
    "category_colors": {"development": "1F3864", "production": "2E75B6", "other": "9DC3E6"},
    "before_after_colors": {"before": "9DC3E6", "after": "1F3864"},
    # waterfall bars (present/plots.py WATERFALL_COLORS): totals; the good and the bad direction
    "waterfall_colors": {"total": "1F3864", "good": "70AD47", "bad": "C00000"},
    # share paths by metric, in order (present/plots.py SHARE_PATH_COLORS)
    "share_path_colors": ["1F3864", "C00000", "70AD47", "7030A0"],
}


@cache
def _load() -> dict[str, Any]:
    style = dict(_DEFAULTS)
    path = TEMPLATES_DIR / "excel" / "style.json"
    if path.is_file():
        style.update(json.loads(path.read_text(encoding="utf-8")))
    return style


class _LazyStyle(Mapping[str, Any]):
    """Reads the style file on first use, not at import."""

    def __getitem__(self, key: str) -> Any:
        return _load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_load())

    def __len__(self) -> int:
        return len(_load())


STYLE: Mapping[str, Any] = _LazyStyle()


def number_format(key: str) -> str:
    """Excel number format for a key such as ``eur_m`` (a literal format passes through)."""
    return STYLE["number_formats"].get(key, key)


def unit_format(unit: str) -> str:
    """Number-format key for an assumption unit (``decimal share`` -> ``pct`` ...)."""
    unit = (unit or "").strip()
    if unit in STYLE["unit_formats"]:
        return STYLE["unit_formats"][unit]
    if unit.endswith("per EUR"):
        return "fx"
    return "general"
