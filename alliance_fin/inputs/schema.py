"""Input schemas: the columns of a line-up, their rules, and the pandera model that checks them.

Validation runs in two passes (see :mod:`alliance_fin.inputs.load`): the cell rules check every
cell of the raw text frame (so *all* problems are found at once), then cross-row rules (unique
ids, one leader per family, ...) run on the typed frame. Each rule carries the sentence a user
reads. The cell rules are run by :func:`cells_pass` first; only when a cell breaks one does the
pandera schema built from the same rules (:func:`lineup_schema`) describe every failure, so
pandera, with the hypothesis strategies it loads (0.6 s of imports a process), is imported
only then.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import pandera.pandas as pa

MEMBERS = ("Renault", "Nissan", "Mitsubishi")
ROLES = ("leader", "follower", "standalone")
TRIM_VALUES = ("yes", "replaced", "no")
YES_NO = {"yes": True, "no": False, "true": True, "false": False, "1": True, "0": False, "": False}
#: Values of a yes/empty flag (``rest_of_range``): ``no`` is read as empty.
YES_EMPTY = ("yes", "no", "")
YEAR_MIN, YEAR_MAX = 1950, 2100
MAX_TEXT = 1000  # characters; longer cells are refused (a name is never that long)

REQUIRED_COLUMNS = (
    "model_id", "member", "brand", "model_name", "segment", "platform", "region",
    "launch_year", "end_year", "annual_volume", "family_id", "role",
)
OPTIONAL_COLUMNS = (
    "plant", "body", "common_platform", "trim", "dev_cost_eur_m", "source", "notes",
    "replaces", "scheme_since", "rest_of_range",
)
PROVENANCE_SUFFIX = "_prov"
INT_COLUMNS = ("launch_year", "end_year")
FLOAT_COLUMNS = ("annual_volume", "dev_cost_eur_m")
TEXT_COLUMNS = (
    "model_id", "member", "brand", "model_name", "segment", "platform", "region", "family_id",
    "role", "plant", "body", "trim", "source", "notes", "replaces", "scheme_since", "rest_of_range",
)

#: One line per column for the template's notes sheet and the docs.
COLUMN_HELP = {
    "model_id": "Unique id of the model, e.g. N01 (required; text)",
    "member": "Alliance member: Renault, Nissan or Mitsubishi (required)",
    "brand": "Brand on the car, e.g. Dacia (required)",
    "model_name": "Model name as sold, e.g. Qashqai J12 (required)",
    "segment": "Segment: one with a development cost in the assumptions (A, kei, B, C, D, pickup, MPV, LCV)",
    "platform": "Platform name, e.g. CMF-B (required)",
    "region": "Primary region code, e.g. EU, JP, NA, LatAm, IN, ASEAN (required)",
    "launch_year": "First year on sale (whole year, 1950-2100)",
    "end_year": "Last year on sale (whole year, not before launch_year)",
    "annual_volume": "Units per year at run-rate (number >= 0)",
    "family_id": "Twin family id, e.g. F01; empty when the model has no twin",
    "role": "leader or follower (in a family, exactly one leader each) or standalone (no family)",
    "plant": "Plant(s) (optional)",
    "body": "Body type (optional)",
    "common_platform": "yes if on a shared Alliance platform, else no (optional; default no)",
    "trim": "Planned cut: yes (dropped, no own successor), replaced (new generation) or no (optional)",
    "dev_cost_eur_m": "Standalone development investment, EUR m (optional; default by segment)",
    "source": "Source keys or references for this row (optional)",
    "notes": "Free text (optional)",
    "replaces": "model_id of the model this one succeeds, same member (optional; empty for none)",
    "scheme_since": "Year the model's family or shared-platform programme was decided (optional; empty: derived)",
    "rest_of_range": "yes for an aggregate row standing for a member's models not listed one by one (optional)",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def as_flags(values: pd.Series) -> pd.Series:
    """A yes/no column as booleans: ``True``/``False`` kept; text read as the input rules read it
    (``yes``/``true``/``1`` are True, anything else False), so every engine agrees."""
    if values.dtype == bool:
        return values
    text = values.fillna("").astype(str).str.strip().str.lower()
    return text.map(lambda v: YES_NO.get(v, False)).astype(bool)


def _is_year(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return value.is_integer() and YEAR_MIN <= value <= YEAR_MAX


def _is_year_or_empty(text: str) -> bool:
    return text.strip() == "" or _is_year(text.strip())


def _is_number(text: str, *, blank_ok: bool = False) -> bool:
    if text == "":
        return blank_ok
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value >= 0


def _is_clean_text(text: str) -> bool:
    return len(text) <= MAX_TEXT and not _CONTROL.search(text)


NOT_EMPTY = "must not be empty"
CLEAN = f"text must have no control characters and at most {MAX_TEXT} characters"

#: A cell rule: a test of one cell's text and the sentence a user reads when it fails.
CellRule = tuple[Callable[[str], bool], str]


def lineup_cell_rules(columns: list[str]) -> dict[str, list[CellRule]]:
    """The cell rules of each line-up column present in ``columns`` (what :func:`lineup_schema` checks)."""
    text: list[CellRule] = [(_is_clean_text, CLEAN)]
    required_text: list[CellRule] = [(lambda s: s.strip() != "", NOT_EMPTY), *text]
    spec: dict[str, list[CellRule]] = {
        "model_id": required_text,
        "member": [(lambda s: s in MEMBERS, "must be one of " + ", ".join(MEMBERS))],
        "brand": required_text,
        "model_name": required_text,
        "segment": required_text,
        "platform": required_text,
        "region": required_text,
        "launch_year": [(_is_year, f"must be a whole year from {YEAR_MIN} to {YEAR_MAX}")],
        "end_year": [(_is_year, f"must be a whole year from {YEAR_MIN} to {YEAR_MAX}")],
        "annual_volume": [(_is_number, "must be a number of units >= 0")],
        "family_id": text,
        "role": [(lambda s: s in ROLES, "must be one of " + ", ".join(ROLES))],
        "plant": text,
        "body": text,
        "common_platform": [(lambda s: s.strip().lower() in YES_NO, "must be yes or no")],
        "trim": [(lambda s: s.strip().lower() in (*TRIM_VALUES, ""), "must be yes, replaced, no or empty")],
        "dev_cost_eur_m": [(lambda s: _is_number(s, blank_ok=True), "must be empty or a number of EUR m >= 0")],
        "source": text,
        "notes": text,
        "replaces": text,
        "scheme_since": [(_is_year_or_empty, f"must be empty or a whole year from {YEAR_MIN} to {YEAR_MAX}")],
        "rest_of_range": [(lambda s: s.strip().lower() in YES_EMPTY, "must be yes or empty")],
    }
    rules = {name: checks for name, checks in spec.items() if name in columns}
    for name in columns:
        if name.endswith(PROVENANCE_SUFFIX):
            rules[name] = text
    return rules


def lineup_schema(columns: list[str]) -> pa.DataFrameSchema:
    """The pandera schema for a raw line-up frame (every cell a ``str``, ``""`` for empty).

    Parameters
    ----------
    columns : list of str
        The columns present in the file; optional columns absent from it are not checked.
    """
    import pandera.pandas as pa

    cols = {
        name: pa.Column(str, checks=[pa.Check(fn, element_wise=True, error=rule) for fn, rule in rules],
                        nullable=False)
        for name, rules in lineup_cell_rules(columns).items()
    }
    return pa.DataFrameSchema(cols, strict=False, coerce=False)


def cells_pass(frame: pd.DataFrame) -> bool:
    """True when every cell of a raw line-up is text that passes its column's rules, so that
    :func:`lineup_schema` finds nothing: most files have no problem, and pandera's own pass over
    them cost a third of building a report; it then runs only to describe the problems."""
    for name, rules in lineup_cell_rules(list(frame.columns)).items():
        values = frame[name].tolist()
        if not all(isinstance(v, str) for v in values):
            return False
        for test, _ in rules:
            if not all(test(v) for v in values):
                return False
    return True


ASSUMPTION_COLUMNS = ("key", "value")
