"""Reading a finished run bundle back: its manifest, its reports, readable labels for its keys.

``pack`` and ``compare`` start here. A folder is a bundle when it holds a ``manifest.json``
that parses to the shape :func:`alliance_fin.run.manifest.build_manifest` writes (``run_id``,
``alliance_fin_version``, ``parameters``, ``data``, ``reports``); anything else is refused
with :class:`~alliance_fin.errors.InputError` (exit 2) before any file is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alliance_fin.errors import InputError
from alliance_fin.registry import REPORT_SPECS, REPORTS

__all__ = ["SKIPPED_SHEETS", "Bundle", "format_parameter", "format_value", "load_bundle", "readable_key", "report_title",
           "summary_sheets"]

#: Workbook sheets that are no summary: inputs, per-model listings and calculations, and the proof
#: sheet (for Excel, not for paper or side-by-side figures). A sheet named ``... calc`` is a
#: calculation too. (``Variance`` lists every model of plan_vs_actual: 26 columns, 175 rows.)
SKIPPED_SHEETS = frozenset({"Cover", "Assumptions", "Data", "Plan", "Checks", "Events", "CMF platforms", "Variance"})
_REQUIRED = ("run_id", "alliance_fin_version", "parameters", "data", "reports")


@dataclass(frozen=True)
class Bundle:
    """One run bundle on disk.

    Attributes
    ----------
    folder : Path
        The bundle's folder.
    manifest : dict
        Its parsed ``manifest.json``.
    """

    folder: Path
    manifest: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    @property
    def version(self) -> str:
        return str(self.manifest["alliance_fin_version"])

    @property
    def reports(self) -> list[str]:
        """Report names of the manifest in registry order (unknown names last, as written)."""
        names = list(self.manifest["reports"])
        return [r for r in REPORTS if r in names] + [r for r in names if r not in REPORT_SPECS]

    def ok_reports(self) -> list[str]:
        """The reports that ran to the end (status ``ok``)."""
        return [r for r in self.reports if self.manifest["reports"][r].get("status") == "ok"]

    def output(self, report: str, suffix: str) -> Path | None:
        """``<report><suffix>`` in the folder when the manifest lists it and the file exists."""
        name = f"{report}{suffix}"
        listed = name in (self.manifest["reports"][report].get("outputs") or {})
        path = self.folder / name
        return path if listed and path.is_file() else None

    def scenario(self) -> str:
        """The scenario label (the same in every report of a run; the first one found)."""
        for values in self.manifest["parameters"].values():
            if isinstance(values, dict) and "scenario" in values:
                return str(values["scenario"])
        return ""


def load_bundle(folder: str | Path) -> Bundle:
    """Open a run bundle, or refuse it.

    Raises
    ------
    InputError
        ``folder`` is no folder, has no ``manifest.json``, or its manifest does not parse or
        lacks what a run writes.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (give the folder of a run, e.g. reports/<timestamp>_base)")
    path = folder / "manifest.json"
    if not path.is_file():
        raise InputError(f"{folder}: not a run bundle (no manifest.json; `alliance-fin run` writes one)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise InputError(f"{path}: the manifest does not parse as JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{path}: the manifest is not a JSON object")
    missing = [k for k in _REQUIRED if k not in manifest]
    if missing:
        raise InputError(f"{path}: not a run manifest (missing {', '.join(missing)})")
    if not isinstance(manifest["reports"], dict) or not isinstance(manifest["parameters"], dict) \
            or not isinstance(manifest["data"], dict):
        raise InputError(f"{path}: not a run manifest (reports, parameters and data must be objects)")
    for name, entry in manifest["reports"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("headline", {}), dict):
            raise InputError(f"{path}: report {name!r} is not an object with a headline object")
    return Bundle(folder, manifest)


def summary_sheets(names: list[str]) -> list[str]:
    """The summary sheets of a workbook, in workbook order (every sheet not in :data:`SKIPPED_SHEETS`)."""
    return [n for n in names if n not in SKIPPED_SHEETS and not n.lower().endswith(" calc")]


def report_title(name: str) -> str:
    """The registry title of a report (the name itself for a report this version does not know)."""
    spec = REPORT_SPECS.get(name)
    return spec.title if spec else name


#: Unit suffixes of keys (DESIGN: money ``*_eur_m``), longest first, and how a reader says them.
_UNITS = (("_report_ccy_m", "report currency m"), ("_eur_m", "EUR m"), ("_eur", "EUR"), ("_pct", "%"),
          ("_rate", "rate"))
_WORDS = {"npv": "NPV", "lf": "leader-follower", "cmf": "CMF", "eur": "EUR", "fx": "FX", "id": "id"}


def readable_key(key: str) -> str:
    """A readable label for a key: ``npv_savings_eur_m`` -> ``NPV savings (EUR m)``.

    Underscores become spaces, abbreviations are spelled out and a unit suffix moves into
    brackets. A ``label`` function in :mod:`alliance_fin.registry`, when one exists, wins.
    """
    from alliance_fin import registry

    label = getattr(registry, "label", None)
    if callable(label):
        try:
            text = label(key)
        except (KeyError, ValueError):
            text = None
        if isinstance(text, str) and text:
            return text
    unit = ""
    for suffix, said in _UNITS:
        if key.endswith(suffix) and key != suffix.lstrip("_"):
            if suffix != "_rate":  # "... rate" reads well as it is
                key, unit = key[: -len(suffix)], said
            break
    words = [_WORDS.get(w, w) for w in key.split("_") if w]
    text = " ".join(words)
    text = text[:1].upper() + text[1:]
    return f"{text} ({unit})" if unit else text


def _is_fraction(key: str) -> bool:
    return bool(re.search(r"(share|_pct|_rate)(_|$)", key))


def format_value(key: str, value: Any) -> str:
    """A headline or parameter value as a reader sees it: shares in %, money to one decimal, counts whole."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)) and _is_fraction(key):
        return f"{value:.1%}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.4g}"
    return "" if value is None else str(value)


def format_parameter(value: Any) -> str:
    """A parameter value as the user gave it (``0.4`` stays ``0.4``: rates at their own precision)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)
