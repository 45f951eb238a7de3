"""Trimming rules and migration: which models go, why, and which model takes their volume.

Pure: a prepared line-up (index ``model_id``) in, a reason per model and a moves frame out. Used
by :func:`alliance_fin.engines.trimming.calc_trimming` and (``cut_from_year``) by the milestones.

- Reasons, first match wins: the explicit ``keep``/``cut`` lists (``"manual"``), then the rules in
  the fixed order :data:`RULES`: ``planned`` (``trim == "yes"``), ``low_volume``
  (``annual_volume < min_volume`` and not a leader), ``overlap`` (off the common platforms while a
  model of another member with the same segment and region is on a common platform and in a
  family; models the data marks ``replaced`` are left to their planned replacement). Every rule
  is evaluated on the input line-up, so the outcome does not depend on the order of the cuts.
  Rest-of-range rows (aggregates) are never cut.
- Migration: ``migration_rate`` x the cut model's volume moves to one retained model of the same
  segment and region still in production when the volume is freed: same family first, then same
  member, then any member (:data:`MATCH_ORDER`); ties go to the highest ``annual_volume``, then
  the smallest ``model_id``. No such model: the volume is lost.

Units: volumes in units per year, years as calendar years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["RULES", "MATCH_ORDER", "calc_reasons", "cut_from_year", "calc_migration"]

#: Rules in the order they are applied (the first match gives the reason).
RULES = ("planned", "low_volume", "overlap")
#: Migration preference, best first; ``"none"`` marks volume with no receiver.
MATCH_ORDER = ("family", "member", "any")


def _overlap_mask(frame: pd.DataFrame) -> pd.Series:
    """True for models off the common platforms covered by another member's common-platform twin."""
    cover = frame.loc[frame["common_platform"] & frame["family_id"].ne(""),
                      ["segment", "region", "member"]].drop_duplicates()
    pairs = frame.reset_index()[["model_id", "segment", "region", "member"]].merge(
        cover, on=["segment", "region"], suffixes=("", "_cover"))
    covered = pairs.loc[pairs["member"] != pairs["member_cover"], "model_id"].unique()
    return ~frame["common_platform"] & frame.index.isin(covered)


def calc_reasons(frame: pd.DataFrame, min_volume: float, rules: tuple[str, ...],
             keep: set[str], cut: set[str]) -> pd.Series:
    """The cut reason per model (``""`` = retained); see the module docstring for the order.

    Parameters
    ----------
    frame : DataFrame
        Prepared line-up (:func:`alliance_fin.engines.lineup.prepare_lineup`, ``end_year`` the
        effective end year), index ``model_id``.
    min_volume : float
        ``low_volume`` threshold, units/year.
    rules : tuple of str
        Rules switched on (any of :data:`RULES`).
    keep, cut : set of str
        Model ids always kept / always cut (``manual``).

    Returns
    -------
    Series of str
        Index ``model_id``; ``""``, ``manual``, ``planned``, ``low_volume`` or ``overlap``.
    """
    conditions = {
        "planned": frame["trim"].eq("yes"),
        "low_volume": frame["annual_volume"].lt(min_volume) & frame["role"].ne("leader"),
        # a model the data already marks "replaced" is the plan in action (its successor is in the
        # line-up); cutting it again would count its successor's development as avoided
        "overlap": _overlap_mask(frame) & frame["trim"].ne("replaced"),
    }
    active = [r for r in RULES if r in rules]
    reason = np.select([conditions[r].to_numpy() for r in active], active, default="") \
        if active else np.full(len(frame), "")
    out = pd.Series(reason, index=frame.index, name="reason", dtype="str")
    out[frame["rest_of_range"].to_numpy(dtype=bool)] = ""  # an aggregate is no model to cut
    out[out.index.isin(cut)] = "manual"
    out[out.index.isin(keep)] = ""
    return out


def cut_from_year(reason: pd.Series, launch_year: pd.Series, end_year: pd.Series,
                   cut_year: int) -> pd.Series:
    """First year a cut model's volume is free (Int64; <NA> for retained models).

    Planned cuts run to their ``end_year``; rule and manual cuts stop before ``cut_year``, and a
    model cut before its launch frees its volume from its planned ``launch_year``.
    """
    rule_cut = np.maximum(launch_year, np.minimum(end_year + 1, cut_year))
    year = np.where(reason.eq("planned"), end_year + 1, rule_cut)
    return pd.Series(year, index=reason.index, dtype="Int64").where(reason.ne(""))


def _first_receiver(src: pd.DataFrame, dst: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """For each cut model, the best retained model sharing ``keys`` and in production when freed.

    Best = highest ``annual_volume``, then smallest ``model_id``, among models whose ``end_year``
    >= the cut model's ``free`` year. Candidates are sorted once per key group; the first one
    with ``end_year >= free`` is where the group's running maximum of ``end_year`` first
    reaches ``free``, found by one binary search over all groups (O(n log n), not pairs).

    Returns
    -------
    ndarray of object
        Receiver ``model_id`` per row of ``src`` (NaN where none).
    """
    order = dst.sort_values([*keys, "annual_volume", "model_id"], ascending=[*[True] * len(keys), False, True],
                            kind="mergesort").reset_index(drop=True)
    group = order.groupby(keys, sort=False).ngroup().to_numpy()
    reach = order.groupby(group)["end_year"].cummax().to_numpy().astype(float)
    span = float(max(reach.max(initial=0.0), src["free"].max() if len(src) else 0.0)) + 1.0
    combined = group * span + reach  # increasing: by group, then running max within the group
    groups = order[keys].assign(_g=group).drop_duplicates(keys)
    g = src[keys].merge(groups, on=keys, how="left")["_g"].to_numpy()
    out = np.full(len(src), np.nan, dtype=object)
    ok = ~np.isnan(g)
    if not ok.any():
        return out
    query = g[ok] * span + src["free"].to_numpy(dtype=float)[ok]
    pos = np.searchsorted(combined, query, side="left")
    inside = pos < len(order)
    inside[inside] &= group[pos[inside]] == g[ok][inside]
    ids = np.full(ok.sum(), np.nan, dtype=object)
    ids[inside] = order["model_id"].to_numpy()[pos[inside]]
    out[ok] = ids
    return out


def calc_migration(frame: pd.DataFrame, reason: pd.Series, rate: float, cut_year: int) -> pd.DataFrame:
    """One row per cut model: where ``rate`` x its volume goes (the ``moves`` frame of
    :class:`alliance_fin.engines.trimming.TrimmingResult`).

    A receiver must still be in production when the volume is freed (its ``end_year`` >= the
    cut model's :func:`cut_from_year`), so volume never moves to a model already gone.
    """
    cols = ["member", "segment", "region", "family_id", "annual_volume"]
    cut_mask = reason.ne("")
    free = cut_from_year(reason, frame["launch_year"], frame["end_year"], cut_year)
    src = frame.loc[cut_mask, cols].assign(reason=reason[cut_mask],
                                           free=free[cut_mask]).reset_index()
    dst = frame.loc[~cut_mask, [*cols, "end_year"]].reset_index()
    best = pd.DataFrame({"model_id": src["model_id"],
                         "model_id_to": pd.Series(np.full(len(src), np.nan, dtype=object), index=src.index),
                         "tier": np.full(len(src), np.nan)})
    for tier, keys in enumerate((["segment", "region", "family_id"], ["segment", "region", "member"],
                                 ["segment", "region"])):
        todo = best["model_id_to"].isna().to_numpy().copy()
        if tier == 0:
            todo &= src["family_id"].ne("").to_numpy()
        if todo.any():
            found = _first_receiver(src[todo], dst, keys)
            best.loc[todo, "model_id_to"] = found
            best.loc[todo & best["model_id_to"].notna().to_numpy(), "tier"] = tier
    best["member_to"] = best["model_id_to"].map(dst.set_index("model_id")["member"]).astype(object)
    moves = src.merge(best, on="model_id", how="left")
    found = moves["model_id_to"].notna()
    migrated = np.where(found, moves["annual_volume"] * rate, 0.0)
    tier = moves["tier"].fillna(-1).astype(int).to_numpy()
    return pd.DataFrame({
        "from_model_id": moves["model_id"].astype("str"),
        "to_model_id": moves["model_id_to"].fillna("").astype("str"),
        "from_member": moves["member"].astype("str"),
        "to_member": moves["member_to"].fillna("").astype("str"),
        "segment": moves["segment"].astype("str"),
        "region": moves["region"].astype("str"),
        "reason": moves["reason"].astype("str"),
        "cut_volume": moves["annual_volume"].astype(float),
        "migrated_volume": migrated.astype(float),
        "lost_volume": (moves["annual_volume"] - migrated).astype(float),
        "match": pd.Series(np.array((*MATCH_ORDER, "none"))[tier], dtype="str"),
    }).sort_values("from_model_id", ignore_index=True)
