"""The scenario edit object and the steps every scenario helper shares.

:class:`ScenarioEdit` is what each helper of :mod:`alliance_fin.inputs.scenario` returns; the
functions here copy and check a line-up (:func:`start_edit`, :func:`finish_edit`, with the
loader's own cross-row rules), find models and families with a did-you-mean, set cells with
provenance ``scenario``, and take a model out of its family (promoting a new leader, dissolving
a family left with one model). They never mutate the caller's frame: each works on the private
copy :func:`start_edit` returns.
"""

from __future__ import annotations

import difflib
import html
import numbers
from dataclasses import dataclass
from typing import Any

import pandas as pd

from alliance_fin.errors import ParameterError
from alliance_fin.inputs.rules import cross_row_problems
from alliance_fin.inputs.schema import PROVENANCE_SUFFIX, REQUIRED_COLUMNS, YEAR_MAX, YEAR_MIN

PROVENANCE = "scenario"
"""Provenance written into edited ``<column>_prov`` cells and edited assumptions."""

WHERE = "scenario"


@dataclass(frozen=True, eq=False)
class ScenarioEdit:
    """An edited line-up and what changed, oldest change first.

    Attributes
    ----------
    lineup : pandas.DataFrame
        The edited, validated line-up: one row per model (RangeIndex), same columns and dtypes
        as :func:`alliance_fin.inputs.load.load_lineup` returns.
    changes : tuple of str
        One readable sentence per change, e.g. ``"N05 Juke F16 becomes leader of F03 (was follower)"``.
    """

    lineup: pd.DataFrame
    changes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        head = f"ScenarioEdit({len(self.lineup)} models, {len(self.changes)} change(s))"
        return "\n".join([head, *(f"  - {c}" for c in self.changes)])

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(c)}</li>" for c in self.changes) or "<li>no changes</li>"
        return (f"<div><strong>Scenario edit</strong>: {len(self.lineup)} models, "
                f"{len(self.changes)} change(s)<ol>{items}</ol></div>")


def start_edit(lineup: pd.DataFrame | ScenarioEdit) -> tuple[pd.DataFrame, list[str]]:
    """A private copy of the line-up (RangeIndex) and the changes so far; checks the input."""
    if isinstance(lineup, ScenarioEdit):
        frame, changes = lineup.lineup, list(lineup.changes)
    elif isinstance(lineup, pd.DataFrame):
        frame, changes = lineup, []
    else:
        raise ParameterError(f"expected a line-up DataFrame or a ScenarioEdit, got {type(lineup).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ParameterError("the line-up lacks required columns", [f"missing column {c!r}" for c in missing])
    frame = frame.reset_index(drop=True).copy(deep=True)
    problems = rule_problems(frame)
    if problems:
        raise ParameterError("the line-up given to the scenario helper already breaks the rules", problems)
    return frame, changes


def rule_problems(frame: pd.DataFrame, segments: set[str] | None = None) -> list[str]:
    """The loader's cross-row rules (called, not copied), naming models instead of rows."""
    return [p.render(WHERE, lambda i: model_label(frame, i)) for p in cross_row_problems(frame, segments)]


def finish_edit(frame: pd.DataFrame, changes: list[str], what: str, segments: set[str] | None = None) -> ScenarioEdit:
    problems = rule_problems(frame, segments)
    if problems:
        raise ParameterError(f"{what} would break {len(problems)} line-up rule(s)", problems)
    return ScenarioEdit(frame, tuple(changes))


def model_label(frame: pd.DataFrame, i: int) -> str:
    """``"<model_id> <model_name>"`` of row ``i``, how messages name a model."""
    return f"{frame.at[i, 'model_id']} {frame.at[i, 'model_name']}".strip()


def locate_model(frame: pd.DataFrame, model_id: str) -> int:
    """Row of ``model_id``; ParameterError with a did-you-mean (close ids, or names containing it)."""
    ids = frame["model_id"].astype(str)
    hit = ids.index[ids == str(model_id)]
    if len(hit):
        return int(hit[0])
    text = str(model_id).strip().lower()
    hit = ids.index[ids.str.strip().str.lower() == text]
    close = list(hit)
    if not close:
        lower = ids.str.strip().str.lower()
        close = [lower.index[lower == m][0] for m in difflib.get_close_matches(text, lower.tolist(), n=3)]
        close += [i for i in frame.index[frame["model_name"].str.lower().str.contains(text, regex=False)]
                  if text and i not in close][:3]
    hint = f" (did you mean {', '.join(repr(model_label(frame, i)) for i in close)}?)" if close else ""
    raise ParameterError("unknown model", [f"model_id {model_id!r} is not in the line-up{hint}"])


def family_ids(frame: pd.DataFrame) -> list[str]:
    """The non-empty family ids of the line-up, sorted."""
    fam = frame["family_id"].str.strip()
    return sorted(set(fam[fam != ""]))


def family_rows(frame: pd.DataFrame, family: str) -> list[int]:
    """Row labels of the models of ``family``."""
    return [int(i) for i in frame.index[frame["family_id"].str.strip() == family]]


def set_cell(frame: pd.DataFrame, i: int, column: str, value: Any) -> None:
    """Set one cell in place and mark its ``<column>_prov`` (if any) as ``scenario``."""
    frame.at[i, column] = value
    if column + PROVENANCE_SUFFIX in frame.columns:
        frame.at[i, column + PROVENANCE_SUFFIX] = PROVENANCE


def set_role(frame: pd.DataFrame, i: int, family: str, role: str) -> None:
    """Set ``family_id`` and ``role`` of row ``i`` (with provenance)."""
    set_cell(frame, i, "family_id", family)
    set_cell(frame, i, "role", role)


def promote_leader(frame: pd.DataFrame, i: int, family: str, others: list[int], promote: str | None,
             changes: list[str]) -> None:
    """Make ``promote`` (one of ``others``) the leader of ``family`` in place of model ``i``."""
    if promote is None:
        names = ", ".join(model_label(frame, j) for j in others)
        raise ParameterError(
            f"family {family!r} would be left without a leader",
            [f"{model_label(frame, i)} leads family {family!r} (each family needs exactly one leader); "
             f"pass promote= one of its other models: {names}"])
    j = locate_model(frame, promote)
    if j not in others:
        raise ParameterError("cannot promote that model",
                             [f"promote={promote!r}: {model_label(frame, j)} is not another model of family {family!r}"])
    set_role(frame, j, family, "leader")
    changes.append(f"{model_label(frame, j)} becomes leader of {family} (was follower)")


def detach_from_family(frame: pd.DataFrame, i: int, promote: str | None, changes: list[str]) -> list[int]:
    """Take model ``i`` out of its family (its own row is left for the caller to set).

    A leader with other models in the family needs ``promote``; a family left with one model is
    dissolved. Returns the rows that remain in the old family.
    """
    family, role = frame.at[i, "family_id"].strip(), frame.at[i, "role"]
    others = [j for j in family_rows(frame, family) if j != i] if family else []
    if role == "leader" and others:
        promote_leader(frame, i, family, others, promote, changes)
    elif promote is not None:
        raise ParameterError("nothing to promote",
                             [f"promote={promote!r} applies only when a leader with followers leaves its family; "
                              f"{model_label(frame, i)} is {role}{f' in {family}' if family else ''}"])
    if len(others) == 1:
        j = others[0]
        set_role(frame, j, "", "standalone")
        changes.append(f"{model_label(frame, j)} becomes standalone: family {family} has no other model left")
    return others


def check_family(frame: pd.DataFrame, family_id: str) -> str:
    """``family_id`` stripped, if the line-up has it; else ParameterError with a did-you-mean."""
    family = str(family_id).strip()
    if family not in family_ids(frame):
        close = difflib.get_close_matches(family, family_ids(frame), n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise ParameterError("unknown family", [
            f"family_id {family_id!r} is not in the line-up{hint}; start a new family with "
            "make_leader(lineup, model_id, family_id)"])
    return family


def whole_year(name: str, value: Any) -> int:
    """``value`` as an int year in the schema range, else ParameterError naming ``name``."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and float(value).is_integer()
    if not ok or not YEAR_MIN <= value <= YEAR_MAX:
        raise ParameterError("invalid year", [f"{name} = {value!r} is not a whole year from {YEAR_MIN} to {YEAR_MAX}"])
    return int(value)
