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
import math
import numbers
from collections.abc import Mapping
from typing import Any

import pandas as pd

from alliance_fin.errors import ParameterError
from alliance_fin.inputs.load import cell_text, lineup_problems, load_assumptions
from alliance_fin.inputs.scenario_core import (
    PROVENANCE,
    WHERE,
    ScenarioEdit,
    check_family,
    detach_from_family,
    family_ids,
    family_rows,
    finish_edit,
    locate_model,
    model_label,
    promote_leader,
    set_cell,
    set_role,
    start_edit,
    whole_year,
)
from alliance_fin.inputs.schema import OPTIONAL_COLUMNS, PROVENANCE_SUFFIX, REQUIRED_COLUMNS

__all__ = ["ScenarioEdit", "PROVENANCE", "make_follower", "make_leader", "leave_family", "move_launch",
           "drop_model", "add_model", "set_assumption"]


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
    frame, changes = start_edit(lineup)
    i = locate_model(frame, model_id)
    family = check_family(frame, family_id)
    old_family, old_role = frame.at[i, "family_id"].strip(), frame.at[i, "role"]
    if old_family == family and old_role == "follower":
        changes.append(f"{model_label(frame, i)} is already a follower in {family} (no change)")
        return ScenarioEdit(frame, tuple(changes))
    if old_family == family:  # the leader steps down in its own family
        others = [j for j in family_rows(frame, family) if j != i]
        if not others:
            raise ParameterError("nothing to follow",
                                 [f"{model_label(frame, i)} is the only model of family {family!r}"])
        promote_leader(frame, i, family, others, promote, changes)
    else:
        detach_from_family(frame, i, promote, changes)
    set_role(frame, i, family, "follower")
    was = f"{old_role} in {old_family}" if old_family not in ("", family) else old_role
    changes.append(f"{model_label(frame, i)} becomes follower in {family} (was {was})")
    return finish_edit(frame, changes, "make_follower")


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
    frame, changes = start_edit(lineup)
    i = locate_model(frame, model_id)
    old_family, old_role = frame.at[i, "family_id"].strip(), frame.at[i, "role"]
    family = old_family if family_id is None else str(family_id).strip()
    if not family:
        raise ParameterError("no family to lead", [
            f"{model_label(frame, i)} is standalone; pass family_id= (an existing family, or a new id to start one)"])
    if family == old_family and old_role == "leader":
        changes.append(f"{model_label(frame, i)} already leads {family} (no change)")
        return ScenarioEdit(frame, tuple(changes))
    if family != old_family:
        detach_from_family(frame, i, promote, changes)
    elif promote is not None:
        raise ParameterError("nothing to promote", [
            f"promote={promote!r} applies only when a leader leaves its family; {model_label(frame, i)} stays in {family}"])
    for j in family_rows(frame, family):
        if j != i and frame.at[j, "role"] == "leader":
            set_role(frame, j, family, "follower")
            changes.append(f"{model_label(frame, j)} becomes follower in {family} (was leader)")
    new = family not in family_ids(frame)
    set_role(frame, i, family, "leader")
    was = f"{old_role} in {old_family}" if old_family not in ("", family) else old_role
    tail = "; it has no followers yet" if new else ""
    changes.append(f"{model_label(frame, i)} becomes leader of {'new family ' if new else ''}{family} (was {was}){tail}")
    return finish_edit(frame, changes, "make_leader")


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
    frame, changes = start_edit(lineup)
    i = locate_model(frame, model_id)
    family = frame.at[i, "family_id"].strip()
    if not family:
        changes.append(f"{model_label(frame, i)} is already standalone (no change)")
        return ScenarioEdit(frame, tuple(changes))
    role = frame.at[i, "role"]
    detach_from_family(frame, i, promote, changes)
    set_role(frame, i, "", "standalone")
    changes.append(f"{model_label(frame, i)} leaves {family} and becomes standalone (was {role})")
    return finish_edit(frame, changes, "leave_family")


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
    frame, changes = start_edit(lineup)
    i = locate_model(frame, model_id)
    launch = whole_year("launch_year", launch_year)
    old_launch, old_end = int(frame.at[i, "launch_year"]), int(frame.at[i, "end_year"])
    end = old_end + (launch - old_launch) if end_year is None else whole_year("end_year", end_year)
    whole_year("end_year", end)
    set_cell(frame, i, "launch_year", launch)
    set_cell(frame, i, "end_year", end)
    changes.append(f"{model_label(frame, i)}: launch {old_launch} -> {launch}, end {old_end} -> {end}")
    return finish_edit(frame, changes, "move_launch")


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
    frame, changes = start_edit(lineup)
    i = locate_model(frame, model_id)
    label, family = model_label(frame, i), frame.at[i, "family_id"].strip()
    detail = f"{frame.at[i, 'member']}, {frame.at[i, 'segment']} {frame.at[i, 'region']}, " \
             f"{frame.at[i, 'annual_volume']:,.0f} units a year"
    detach_from_family(frame, i, promote, changes)
    if "replaces" in frame.columns:  # a successor of the dropped model now succeeds nothing
        dropped_id = frame.at[i, "model_id"].strip()
        for j in frame.index[frame["replaces"].fillna("").astype(str).str.strip().eq(dropped_id)]:
            set_cell(frame, int(j), "replaces", "")
            changes.append(f"{model_label(frame, int(j))} no longer replaces {dropped_id} (dropped)")
    frame = frame.drop(index=i).reset_index(drop=True)
    changes.append(f"dropped {label} ({detail}{f', was in {family}' if family else ''})")
    return finish_edit(frame, changes, "drop_model")


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
    frame, changes = start_edit(lineup)
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
    problems += [p.render(WHERE, lambda i: model_label(raw, i)) for p in found]
    if problems:
        raise ParameterError(f"cannot add model {fields.get('model_id', '?')!r}", problems)
    new = {c: typed.at[len(raw) - 1, c] if c in typed.columns else "" for c in frame.columns}
    frame = pd.concat([frame, pd.DataFrame([new]).astype(frame.dtypes.to_dict())], ignore_index=True)
    i = len(frame) - 1
    family, role = frame.at[i, "family_id"], frame.at[i, "role"]
    changes.append(f"added {model_label(frame, i)} ({frame.at[i, 'member']}, {frame.at[i, 'segment']} "
                   f"{frame.at[i, 'region']}, {frame.at[i, 'launch_year']}-{frame.at[i, 'end_year']}, "
                   f"{frame.at[i, 'annual_volume']:,.0f} units a year, {f'{role} in {family}' if family else role})")
    return finish_edit(frame, changes, "add_model")


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
