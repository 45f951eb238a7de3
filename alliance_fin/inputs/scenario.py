"""Scenario edits: change a line-up the way analysts think, one validated step at a time.

Each helper takes a line-up (the frame :func:`alliance_fin.inputs.load.load_lineup` returns, or the
:class:`ScenarioEdit` of an earlier helper, so calls chain) and returns a **new**
:class:`ScenarioEdit`: the edited line-up plus one sentence per change. The input is never
mutated. Every result is checked with the loader's own cross-row rules (unique ids, launch not
after end, one leader per family, family roles); a broken rule raises
:class:`~alliance_fin.errors.ParameterError` listing every problem by model.

Family rules the helpers keep:

* a leader that leaves its family (``make_follower`` elsewhere, ``make_leader`` of another
  family, ``leave_family``, ``drop_model``) while the family has other models needs
  ``promote=`` one of them as the new leader; otherwise ParameterError names the family;
* a family left with a single model is dissolved: that model becomes standalone (the change
  list says so), because a family with nobody to follow saves nothing.

Example::

    import alliance_fin as af
    from alliance_fin.inputs import scenario as sc
    edit = sc.drop_model(sc.make_leader(af.load_lineup(), "N05"), "M02")
    edit                      # lists the changes
    af.build_savings_report(lineup=edit.lineup)

Edited cells get provenance ``scenario`` in their ``<column>_prov`` column when it exists.
"""

from __future__ import annotations

import difflib
import html
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from alliance_fin.errors import ParameterError
from alliance_fin.inputs.load import cell_text, lineup_problems, load_assumptions
from alliance_fin.inputs.rules import cross_row_problems
from alliance_fin.inputs.schema import OPTIONAL_COLUMNS, PROVENANCE_SUFFIX, REQUIRED_COLUMNS, YEAR_MAX, YEAR_MIN

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


# --------------------------------------------------------------------------- internals
def _start(lineup: pd.DataFrame | ScenarioEdit) -> tuple[pd.DataFrame, list[str]]:
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
    problems = _problems(frame)
    if problems:
        raise ParameterError("the line-up given to the scenario helper already breaks the rules", problems)
    return frame, changes


def _problems(frame: pd.DataFrame, segments: set[str] | None = None) -> list[str]:
    """The loader's cross-row rules (called, not copied), naming models instead of rows."""
    return [p.render(WHERE, lambda i: _label(frame, i)) for p in cross_row_problems(frame, segments)]


def _finish(frame: pd.DataFrame, changes: list[str], what: str, segments: set[str] | None = None) -> ScenarioEdit:
    problems = _problems(frame, segments)
    if problems:
        raise ParameterError(f"{what} would break {len(problems)} line-up rule(s)", problems)
    return ScenarioEdit(frame, tuple(changes))


def _label(frame: pd.DataFrame, i: int) -> str:
    return f"{frame.at[i, 'model_id']} {frame.at[i, 'model_name']}".strip()


def _locate(frame: pd.DataFrame, model_id: str) -> int:
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
    hint = f" (did you mean {', '.join(repr(_label(frame, i)) for i in close)}?)" if close else ""
    raise ParameterError("unknown model", [f"model_id {model_id!r} is not in the line-up{hint}"])


def _families(frame: pd.DataFrame) -> list[str]:
    fam = frame["family_id"].str.strip()
    return sorted(set(fam[fam != ""]))


def _members(frame: pd.DataFrame, family: str) -> list[int]:
    return [int(i) for i in frame.index[frame["family_id"].str.strip() == family]]


def _set(frame: pd.DataFrame, i: int, column: str, value: Any) -> None:
    frame.at[i, column] = value
    if column + PROVENANCE_SUFFIX in frame.columns:
        frame.at[i, column + PROVENANCE_SUFFIX] = PROVENANCE


def _set_role(frame: pd.DataFrame, i: int, family: str, role: str) -> None:
    _set(frame, i, "family_id", family)
    _set(frame, i, "role", role)


def _promote(frame: pd.DataFrame, i: int, family: str, others: list[int], promote: str | None,
             changes: list[str]) -> None:
    """Make ``promote`` (one of ``others``) the leader of ``family`` in place of model ``i``."""
    if promote is None:
        names = ", ".join(_label(frame, j) for j in others)
        raise ParameterError(
            f"family {family!r} would be left without a leader",
            [f"{_label(frame, i)} leads family {family!r} (each family needs exactly one leader); "
             f"pass promote= one of its other models: {names}"])
    j = _locate(frame, promote)
    if j not in others:
        raise ParameterError("cannot promote that model",
                             [f"promote={promote!r}: {_label(frame, j)} is not another model of family {family!r}"])
    _set_role(frame, j, family, "leader")
    changes.append(f"{_label(frame, j)} becomes leader of {family} (was follower)")


def _detach(frame: pd.DataFrame, i: int, promote: str | None, changes: list[str]) -> list[int]:
    """Take model ``i`` out of its family (its own row is left for the caller to set).

    A leader with other models in the family needs ``promote``; a family left with one model is
    dissolved. Returns the rows that remain in the old family.
    """
    family, role = frame.at[i, "family_id"].strip(), frame.at[i, "role"]
    others = [j for j in _members(frame, family) if j != i] if family else []
    if role == "leader" and others:
        _promote(frame, i, family, others, promote, changes)
    elif promote is not None:
        raise ParameterError("nothing to promote",
                             [f"promote={promote!r} applies only when a leader with followers leaves its family; "
                              f"{_label(frame, i)} is {role}{f' in {family}' if family else ''}"])
    if len(others) == 1:
        j = others[0]
        _set_role(frame, j, "", "standalone")
        changes.append(f"{_label(frame, j)} becomes standalone: family {family} has no other model left")
    return others


def _family_arg(frame: pd.DataFrame, family_id: str) -> str:
    family = str(family_id).strip()
    if family not in _families(frame):
        close = difflib.get_close_matches(family, _families(frame), n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise ParameterError("unknown family", [
            f"family_id {family_id!r} is not in the line-up{hint}; start a new family with "
            "make_leader(lineup, model_id, family_id)"])
    return family


def _year(name: str, value: Any) -> int:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and float(value).is_integer()
    if not ok or not YEAR_MIN <= value <= YEAR_MAX:
        raise ParameterError("invalid year", [f"{name} = {value!r} is not a whole year from {YEAR_MIN} to {YEAR_MAX}"])
    return int(value)


# --------------------------------------------------------------------------- family edits
def make_follower(lineup: pd.DataFrame | ScenarioEdit, model_id: str, family_id: str, *,
                  promote: str | None = None) -> ScenarioEdit:
    """Make a model a follower in an existing family.

    Parameters
    ----------
    lineup : DataFrame or ScenarioEdit
        The line-up to edit (not modified).
    model_id : str
        The model that becomes a follower.
    family_id : str
        An existing family (start a new one with :func:`make_leader`).
    promote : str, optional
        Needed when ``model_id`` leads a family with other models (its old one, or
        ``family_id`` itself): the model of that family that becomes its leader.

    Returns
    -------
    ScenarioEdit
        The new line-up and the changes. A family the model leaves that keeps one model only is
        dissolved (that model becomes standalone).

    Raises
    ------
    ParameterError
        Unknown model or family (with a did-you-mean), or a family left without a leader.
    """
    frame, changes = _start(lineup)
    i = _locate(frame, model_id)
    family = _family_arg(frame, family_id)
    old_family, old_role = frame.at[i, "family_id"].strip(), frame.at[i, "role"]
    if old_family == family and old_role == "follower":
        changes.append(f"{_label(frame, i)} is already a follower in {family} (no change)")
        return ScenarioEdit(frame, tuple(changes))
    if old_family == family:  # the leader steps down in its own family
        others = [j for j in _members(frame, family) if j != i]
        if not others:
            raise ParameterError("nothing to follow",
                                 [f"{_label(frame, i)} is the only model of family {family!r}"])
        _promote(frame, i, family, others, promote, changes)
    else:
        _detach(frame, i, promote, changes)
    _set_role(frame, i, family, "follower")
    was = f"{old_role} in {old_family}" if old_family not in ("", family) else old_role
    changes.append(f"{_label(frame, i)} becomes follower in {family} (was {was})")
    return _finish(frame, changes, "make_follower")


def make_leader(lineup: pd.DataFrame | ScenarioEdit, model_id: str, family_id: str | None = None, *,
                promote: str | None = None) -> ScenarioEdit:
    """Make a model the leader of its family, of another family, or of a new family.

    Parameters
    ----------
    lineup : DataFrame or ScenarioEdit
        The line-up to edit (not modified).
    model_id : str
        The model that becomes the leader.
    family_id : str, optional
        Default: the model's own family (leadership swaps: the old leader becomes a follower).
        An existing family: the model joins it as leader and its old leader becomes a follower.
        A new id: the model starts that family alone (add followers with :func:`make_follower`).
    promote : str, optional
        Needed when the model leaves a family it leads that has other models: its new leader.

    Returns
    -------
    ScenarioEdit
        The new line-up and the changes.

    Raises
    ------
    ParameterError
        Unknown model, a standalone model without ``family_id``, or a family left without a leader.
    """
    frame, changes = _start(lineup)
    i = _locate(frame, model_id)
    old_family, old_role = frame.at[i, "family_id"].strip(), frame.at[i, "role"]
    family = old_family if family_id is None else str(family_id).strip()
    if not family:
        raise ParameterError("no family to lead", [
            f"{_label(frame, i)} is standalone; pass family_id= (an existing family, or a new id to start one)"])
    if family == old_family and old_role == "leader":
        changes.append(f"{_label(frame, i)} already leads {family} (no change)")
        return ScenarioEdit(frame, tuple(changes))
    if family != old_family:
        _detach(frame, i, promote, changes)
    elif promote is not None:
        raise ParameterError("nothing to promote", [
            f"promote={promote!r} applies only when a leader leaves its family; {_label(frame, i)} stays in {family}"])
    for j in _members(frame, family):
        if j != i and frame.at[j, "role"] == "leader":
            _set_role(frame, j, family, "follower")
            changes.append(f"{_label(frame, j)} becomes follower in {family} (was leader)")
    new = family not in _families(frame)
    _set_role(frame, i, family, "leader")
    was = f"{old_role} in {old_family}" if old_family not in ("", family) else old_role
    tail = "; it has no followers yet" if new else ""
    changes.append(f"{_label(frame, i)} becomes leader of {'new family ' if new else ''}{family} (was {was}){tail}")
    return _finish(frame, changes, "make_leader")


def leave_family(lineup: pd.DataFrame | ScenarioEdit, model_id: str, *, promote: str | None = None) -> ScenarioEdit:
    """Take a model out of its family; it becomes standalone.

    Parameters
    ----------
    lineup : DataFrame or ScenarioEdit
        The line-up to edit (not modified).
    model_id : str
        The model that leaves.
    promote : str, optional
        Needed when the model leads a family with other models: the family's new leader.

    Returns
    -------
    ScenarioEdit
        The new line-up and the changes. If one model only is left in the family (e.g. the
        leader once its only follower leaves), that model becomes standalone too.

    Raises
    ------
    ParameterError
        Unknown model, or a leader leaving followers without ``promote``.
    """
    frame, changes = _start(lineup)
    i = _locate(frame, model_id)
    family = frame.at[i, "family_id"].strip()
    if not family:
        changes.append(f"{_label(frame, i)} is already standalone (no change)")
        return ScenarioEdit(frame, tuple(changes))
    role = frame.at[i, "role"]
    _detach(frame, i, promote, changes)
    _set_role(frame, i, "", "standalone")
    changes.append(f"{_label(frame, i)} leaves {family} and becomes standalone (was {role})")
    return _finish(frame, changes, "leave_family")


# --------------------------------------------------------------------------- timing and range
def move_launch(lineup: pd.DataFrame | ScenarioEdit, model_id: str, launch_year: int,
                end_year: int | None = None) -> ScenarioEdit:
    """Move a model's launch; by default its run keeps its length (end moves by as much).

    Parameters
    ----------
    lineup : DataFrame or ScenarioEdit
        The line-up to edit (not modified).
    model_id : str
        The model to move.
    launch_year : int
        New first year on sale.
    end_year : int, optional
        New last year on sale; default ``end_year + (new launch - old launch)``.

    Returns
    -------
    ScenarioEdit
        The new line-up and the change (old and new years).

    Raises
    ------
    ParameterError
        Unknown model, a year that is not whole or outside 1950-2100, or launch after end.
    """
    frame, changes = _start(lineup)
    i = _locate(frame, model_id)
    launch = _year("launch_year", launch_year)
    old_launch, old_end = int(frame.at[i, "launch_year"]), int(frame.at[i, "end_year"])
    end = old_end + (launch - old_launch) if end_year is None else _year("end_year", end_year)
    _year("end_year", end)
    _set(frame, i, "launch_year", launch)
    _set(frame, i, "end_year", end)
    changes.append(f"{_label(frame, i)}: launch {old_launch} -> {launch}, end {old_end} -> {end}")
    return _finish(frame, changes, "move_launch")


def drop_model(lineup: pd.DataFrame | ScenarioEdit, model_id: str, *, promote: str | None = None) -> ScenarioEdit:
    """Remove a model from the line-up.

    Parameters
    ----------
    lineup : DataFrame or ScenarioEdit
        The line-up to edit (not modified).
    model_id : str
        The model to remove.
    promote : str, optional
        Needed when the model leads a family with other models: the family's new leader.

    Returns
    -------
    ScenarioEdit
        The new line-up (one row fewer, RangeIndex) and the changes. A family left with one
        model is dissolved (that model becomes standalone); a model that ``replaces`` the dropped
        one gets an empty ``replaces`` (it now succeeds nothing).

    Raises
    ------
    ParameterError
        Unknown model, or a leader with followers dropped without ``promote``.
    """
    frame, changes = _start(lineup)
    i = _locate(frame, model_id)
    label, family = _label(frame, i), frame.at[i, "family_id"].strip()
    detail = f"{frame.at[i, 'member']}, {frame.at[i, 'segment']} {frame.at[i, 'region']}, " \
             f"{frame.at[i, 'annual_volume']:,.0f} units a year"
    _detach(frame, i, promote, changes)
    if "replaces" in frame.columns:  # a successor of the dropped model now succeeds nothing
        dropped_id = frame.at[i, "model_id"].strip()
        for j in frame.index[frame["replaces"].fillna("").astype(str).str.strip().eq(dropped_id)]:
            _set(frame, int(j), "replaces", "")
            changes.append(f"{_label(frame, int(j))} no longer replaces {dropped_id} (dropped)")
    frame = frame.drop(index=i).reset_index(drop=True)
    changes.append(f"dropped {label} ({detail}{f', was in {family}' if family else ''})")
    return _finish(frame, changes, "drop_model")


def _segments(assumptions: pd.DataFrame | Mapping[str, float] | None) -> set[str]:
    if assumptions is None:
        assumptions = load_assumptions()
    keys = assumptions.index if isinstance(assumptions, pd.DataFrame) else list(assumptions)
    return {str(k).removeprefix("dev_cost_eur_m_") for k in keys if str(k).startswith("dev_cost_eur_m_")}


def add_model(lineup: pd.DataFrame | ScenarioEdit, *,
              assumptions: pd.DataFrame | Mapping[str, float] | None = None, **fields: Any) -> ScenarioEdit:
    """Add a model (appended as the last row), checked cell by cell with the loader's schema.

    Parameters
    ----------
    lineup : DataFrame or ScenarioEdit
        The line-up to edit (not modified).
    assumptions : DataFrame or Mapping, optional
        Assumptions in force, to check the segment has cost assumptions (default: the packaged ones).
    **fields
        Column values. Required: ``model_id, member, brand, model_name, segment, platform,
        region, launch_year, end_year`` (whole years), ``annual_volume`` (units per year).
        Optional: ``family_id`` (default none), ``role`` (default follower in a family, else
        standalone), ``common_platform`` (bool or yes/no; default False), ``trim``
        (yes|replaced|no; default no), ``dev_cost_eur_m`` (EUR m; default segment value),
        ``plant, body, source, notes``. Provenance columns of the new row say ``scenario``.

    Returns
    -------
    ScenarioEdit
        The new line-up and the change.

    Raises
    ------
    ParameterError
        Every problem at once: missing or unknown fields (with a did-you-mean), bad values
        (the input file's rules), a duplicate id, an unknown segment, a second leader in a family.
    """
    frame, changes = _start(lineup)
    allowed = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
    problems = []
    for key in fields:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            problems.append(f"unknown field {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    row = {"family_id": "", **fields}
    row.setdefault("role", "follower" if str(row["family_id"]).strip() else "standalone")
    # The whole line-up goes through the loader, so the new row meets the input file's rules.
    cols = [c for c in frame.columns if c in allowed or c.endswith(PROVENANCE_SUFFIX)]
    new_raw = {c: PROVENANCE if c.endswith(PROVENANCE_SUFFIX) else cell_text(row.get(c, "")) for c in cols}
    raw = pd.concat([frame[cols].astype(object).map(cell_text), pd.DataFrame([new_raw])], ignore_index=True)
    typed, found = lineup_problems(raw, _segments(assumptions))
    problems += [p.render(WHERE, lambda i: _label(raw, i)) for p in found]
    if problems:
        raise ParameterError(f"cannot add model {fields.get('model_id', '?')!r}", problems)
    new = {c: typed.at[len(raw) - 1, c] if c in typed.columns else "" for c in frame.columns}
    frame = pd.concat([frame, pd.DataFrame([new]).astype(frame.dtypes.to_dict())], ignore_index=True)
    i = len(frame) - 1
    family, role = frame.at[i, "family_id"], frame.at[i, "role"]
    changes.append(f"added {_label(frame, i)} ({frame.at[i, 'member']}, {frame.at[i, 'segment']} "
                   f"{frame.at[i, 'region']}, {frame.at[i, 'launch_year']}-{frame.at[i, 'end_year']}, "
                   f"{frame.at[i, 'annual_volume']:,.0f} units a year, {f'{role} in {family}' if family else role})")
    return _finish(frame, changes, "add_model")


# --------------------------------------------------------------------------- assumptions
def set_assumption(assumptions: pd.DataFrame, key: str, value: float) -> pd.DataFrame:
    """A copy of an assumptions frame with one value changed (provenance ``scenario``).

    Parameters
    ----------
    assumptions : DataFrame
        As :func:`alliance_fin.inputs.load.load_assumptions` returns (index ``key``; columns ``value``,
        ``unit``, ``provenance``, ``source``, ``description``). Not modified.
    key : str
        An existing assumption key, e.g. ``max_saving_rate``.
    value : float
        New value in the key's unit; ``*_rate`` and ``*_share`` keys are decimal fractions in
        [0, 1], other keys a finite number >= 0.

    Returns
    -------
    DataFrame
        Same shape; the row ``key`` has the new ``value``, provenance ``scenario`` and source
        ``scenario (was <old value>)``.

    Raises
    ------
    ParameterError
        Unknown key (with a did-you-mean) or a value out of range.
    """
    if not isinstance(assumptions, pd.DataFrame) or "value" not in assumptions.columns:
        raise ParameterError("expected the assumptions frame of load_assumptions()")
    if key not in assumptions.index:
        close = difflib.get_close_matches(str(key), [str(k) for k in assumptions.index], n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise ParameterError("unknown assumption", [f"{key!r} is not an assumption key{hint}"])
    bounded = str(key).endswith(("_rate", "_share"))
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    if not ok or (bounded and value > 1):
        rule = "a decimal fraction from 0 to 1" if bounded else "a finite number >= 0"
        raise ParameterError("invalid assumption value", [f"{key} = {value!r} must be {rule}"])
    out = assumptions.copy(deep=True)
    old = float(out.loc[key, "value"])
    out.loc[key, "value"] = float(value)
    if "provenance" in out.columns:
        out.loc[key, "provenance"] = PROVENANCE
    if "source" in out.columns:
        out.loc[key, "source"] = f"{PROVENANCE} (was {old:g})"
    return out
