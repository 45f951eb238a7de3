"""Model-range trimming: which models go, why, where their volume goes, what it does to shares.

Pure calculations: a line-up frame and an assumptions mapping in, frames out. The method is in
``docs/methodology.md`` (section "Range trimming"); in short:

1. Reasons and migration (:mod:`alliance_fin.engines.trimming_rules`): the ``keep``/``cut``
   lists (``manual``), then ``planned``, ``low_volume`` and ``overlap``, first match wins, every
   rule evaluated on the input line-up; ``migration_rate`` x a cut model's volume moves to one
   retained model of the same segment and region (same family, then member, then any).
2. Cut years: a rule or manual cut stops before ``cut_year``; a planned cut runs to its end year.
3. Before/after figures in one year, ``reference_year``: models on sale that year after
   changeovers (``launch_year <= reference_year <= effective_end_year``), their volume and the
   common-platform volume share. A cut model counts *after* only while it is still on sale
   (its cut year is later); rest-of-range rows (aggregates) count in volumes, never as models.
4. Value over the window (:mod:`alliance_fin.engines.trimming_value`): successor development
   avoided (scheme basis, only without a successor) less the contribution lost on volume that
   does not migrate.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_fin.engines.lineup import YEAR_FIRST, YEAR_LAST, assumption_param, check_int, prepare_lineup
from alliance_fin.engines.successor_dev import calc_avoided_successor_dev
from alliance_fin.engines.trimming_rules import MATCH_ORDER, RULES, calc_migration, calc_reasons, cut_from_year
from alliance_fin.engines.trimming_value import calc_trimming_value
from alliance_fin.errors import ParameterError

# RULES, MATCH_ORDER and cut_from_year are re-exported: they live in trimming_rules now.
__all__ = ["TrimmingResult", "calc_trimming", "calc_trimming_headline", "PLANS", "RULES", "MATCH_ORDER",
           "cut_from_year"]


_MODEL_COLUMNS = ["member", "model_name", "segment", "region", "family_id", "role",
                  "common_platform", "trim", "launch_year", "end_year", "effective_end_year",
                  "rest_of_range", "has_successor", "annual_volume"]

#: Published member plans shown beside the line-up's own change (context, not inputs).
PLANS = (
    {"plan": "Nissan NEXT", "member": "Nissan", "published_metric": "global models",
     "published_before": 69.0, "published_after": 55.0, "published_change_share": -0.20,
     "published_note": "69 models to fewer than 55 (about -20%) by FY2023", "source": "S:110"},
    {"plan": "Renaulution", "member": "Renault", "published_metric": "platforms",
     "published_before": 6.0, "published_after": 3.0, "published_change_share": -0.50,
     "published_note": "platforms 6 -> 3 (powertrain families 8 -> 4)", "source": "S:111"},
)


@dataclass(frozen=True, eq=False)
class TrimmingResult:
    """Outcome of :func:`calc_trimming`; every field is a frame or a resolved parameter.

    Attributes
    ----------
    models : DataFrame
        Index ``model_id``, one row per line-up model: member, model_name, segment, region,
        family_id, role, common_platform (bool), trim, launch_year, end_year, annual_volume
        (units/year), cut (bool), reason (``""``, ``manual``, ``planned``, ``low_volume``,
        ``overlap``), cut_from_year (Int64: first year the cut model's volume is free; <NA> if
        retained), receives_volume (units/year migrated in), volume_after (units/year; 0 if cut),
        effective_end_year (int; changeovers applied), rest_of_range (bool), on_sale_before and
        on_sale_after (bool, in ``reference_year``), volume_ref_before, volume_ref_after
        (units/year in ``reference_year``; after includes volume migrated in by then).
    moves : DataFrame
        One row per cut model (RangeIndex): from_model_id, to_model_id (``""`` when lost),
        from_member, to_member, segment, region, reason, cut_volume, migrated_volume,
        lost_volume (units/year), match (``family``, ``member``, ``any`` or ``none``).
    before_after : DataFrame
        Tidy model counts in ``reference_year`` (rest-of-range rows excluded): dimension
        (``total``, ``member``, ``segment``, ``region``), value, before, after, change (ints).
    shares : DataFrame
        metric (``common_platform_model_share``, ``common_platform_volume_share``), before,
        after, change (decimal shares in ``reference_year``).
    plans : DataFrame
        Published plans (see :data:`PLANS`) with the member's line-up model count before, after
        and change_share.
    avoided_dev : DataFrame
        Index ``model_id`` of the cut models: member, segment, reason, has_successor (bool),
        avoided_dev_eur_m (scheme investment of the successor not developed, EUR m one-off;
        0 when the line-up has a successor), plus the window values of
        :func:`alliance_fin.engines.trimming_value.calc_trimming_value`.
    value_by_year : DataFrame
        Index year (window): avoided_dev_eur_m, lost_contribution_eur_m, net_benefit_eur_m.
    cut_year, min_volume, migration_rate, rules, reference_year, start_year, end_year
        The resolved parameters.
    """

    models: pd.DataFrame
    moves: pd.DataFrame
    before_after: pd.DataFrame
    shares: pd.DataFrame
    plans: pd.DataFrame
    avoided_dev: pd.DataFrame
    cut_year: int
    min_volume: float
    migration_rate: float
    rules: tuple[str, ...]
    reference_year: int = 2025
    value_by_year: pd.DataFrame | None = None
    start_year: int = 2020
    end_year: int = 2025

    def _summary(self) -> dict[str, object]:
        head = calc_trimming_headline(self)
        reasons = self.models.loc[self.models["cut"], "reason"].value_counts()
        return {
            "models": f"{head['models_before']} -> {head['models_after']}",
            "cut by reason": ", ".join(f"{k} {v}" for k, v in reasons.items()) or "none",
            "volume on common platforms": (
                f"{head['common_platform_volume_share_before']:.1%} -> "
                f"{head['common_platform_volume_share_after']:.1%}"),
            "volume migrated / cut (units/yr)": (
                f"{self.moves['migrated_volume'].sum():,.0f} / {self.moves['cut_volume'].sum():,.0f}"),
            "avoided development (EUR m)": f"{self.avoided_dev['avoided_dev_eur_m'].sum():,.0f}",
            "net benefit in window (EUR m)": f"{head['net_trimming_benefit_eur_m']:,.0f}",
        }

    def __repr__(self) -> str:
        body = "; ".join(f"{k}: {v}" for k, v in self._summary().items())
        return f"TrimmingResult({body})"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td>{html.escape(str(v))}</td></tr>" for k, v in self._summary().items())
        return (f"<table><caption>Range trimming (cuts from {self.cut_year}; figures in "
                f"{self.reference_year})</caption>{rows}</table>")


def _share(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, 0.0 for an empty denominator."""
    return float(numerator / denominator) if denominator > 0 else 0.0


def _avoided_dev(lineup: pd.DataFrame, models: pd.DataFrame, moves: pd.DataFrame,
                 assumptions: Mapping[str, float], margin_rate: float,
                 window: tuple[int, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per cut model the successor development not spent and the contribution lost (EUR m).

    The investment comes from the savings engine
    (:func:`alliance_fin.engines.successor_dev.calc_avoided_successor_dev`: scheme basis, nothing when
    a successor exists), so trimming and savings share one definition.
    """
    cut = models.loc[models["cut"], "reason"]
    dev = calc_avoided_successor_dev(lineup, assumptions, list(cut.index)).reindex(cut.index)
    out = dev[["member", "segment", "has_successor", "avoided_dev_eur_m"]].copy()
    out.insert(2, "reason", cut)
    out["avoided_dev_eur_m"] = out["avoided_dev_eur_m"].astype(float)
    out["has_successor"] = out["has_successor"].astype(bool)
    lost = moves.set_index("from_model_id")["lost_volume"].reindex(cut.index).fillna(0.0)
    unit = [assumption_param(assumptions, f"unit_cost_eur_{seg}", low=0) for seg in out["segment"]]
    inputs = pd.DataFrame({
        "avoided_dev_eur_m": out["avoided_dev_eur_m"], "successor_launch_year": dev["successor_launch_year"],
        "has_successor": out["has_successor"], "lost_volume": lost,
        "cut_from_year": models.loc[cut.index, "cut_from_year"].astype("int64"),
        "unit_cost_eur": np.asarray(unit, dtype=float)}, index=cut.index)
    lead = assumption_param(assumptions, "dev_lead_years", low=0)
    per_model, by_year = calc_trimming_value(inputs, dev_lead_years=lead, contribution_margin_rate=margin_rate,
                                             start_year=window[0], end_year=window[1])
    return pd.concat([out, per_model], axis=1).sort_index(), by_year


# ---------------------------------------------------------------- tables (in the reference year)
def _before_after(models: pd.DataFrame) -> pd.DataFrame:
    counted = models[~models["rest_of_range"]]  # aggregates are no models
    before_m, after_m = counted["on_sale_before"], counted["on_sale_after"]
    parts = [pd.DataFrame({"dimension": ["total"], "value": ["all"],
                           "before": [int(before_m.sum())], "after": [int(after_m.sum())]})]
    for dim in ("member", "segment", "region"):
        before = before_m.groupby(counted[dim]).sum()
        after = after_m.groupby(counted[dim]).sum().reindex(before.index, fill_value=0)
        keep = before.index[(before > 0) | (after > 0)]
        parts.append(pd.DataFrame({"dimension": dim, "value": keep.astype("str"),
                                   "before": before[keep].to_numpy(), "after": after[keep].to_numpy()}))
    out = pd.concat(parts, ignore_index=True)
    out["before"] = out["before"].astype("int64")
    out["after"] = out["after"].astype("int64")
    out["change"] = out["after"] - out["before"]
    return out


def _shares(models: pd.DataFrame) -> pd.DataFrame:
    cp = models["common_platform"]
    counted = ~models["rest_of_range"]
    before, after = models["on_sale_before"] & counted, models["on_sale_after"] & counted
    before_m = _share((cp & before).sum(), before.sum())
    after_m = _share((cp & after).sum(), after.sum())
    before_v = _share(models.loc[cp, "volume_ref_before"].sum(), models["volume_ref_before"].sum())
    after_v = _share(models.loc[cp, "volume_ref_after"].sum(), models["volume_ref_after"].sum())
    out = pd.DataFrame({"metric": ["common_platform_model_share", "common_platform_volume_share"],
                        "before": [before_m, before_v], "after": [after_m, after_v]})
    out["change"] = out["after"] - out["before"]
    return out


def _reference_year_volumes(models: pd.DataFrame, moves: pd.DataFrame, ref: int) -> pd.DataFrame:
    """Adds on_sale_before/after and volume_ref_before/after (units/year in ``ref``).

    *Before* is the line-up without the trimming: models on sale in ``ref`` after changeovers,
    plus the line of a cut model without a successor in the line-up (launched by ``ref``): left
    alone it would have been succeeded. *After* drops the cut models whose cut year is ``ref``
    or earlier.
    """
    has_succ = models.index.isin(models.index[models["has_successor"]]) if "has_successor" in models \
        else np.zeros(len(models), dtype=bool)
    on_sale = ((models["launch_year"] <= ref) & (ref <= models["effective_end_year"])) | (
        models["cut"] & ~has_succ & (models["launch_year"] <= ref))
    gone = models["cut"] & (models["cut_from_year"].fillna(YEAR_LAST + 1).astype("int64") <= ref)
    models = models.assign(on_sale_before=on_sale, on_sale_after=on_sale & ~gone)
    # migrated volume counts in ref only from a model on sale then and cut by then, to one on sale
    source_ok = moves["from_model_id"].map(on_sale & gone).eq(True)  # unmatched ids (NaN) are False
    dest_ok = moves["to_model_id"].map(models["on_sale_after"]).eq(True)
    gained = moves.loc[source_ok & dest_ok].groupby("to_model_id")["migrated_volume"].sum()
    models["volume_ref_before"] = np.where(on_sale, models["annual_volume"], 0.0)
    models["volume_ref_after"] = np.where(models["on_sale_after"], models["annual_volume"], 0.0) \
        + gained.reindex(models.index, fill_value=0.0).to_numpy()
    return models


def _plans(before_after: pd.DataFrame) -> pd.DataFrame:
    members = before_after[before_after["dimension"].eq("member")].set_index("value")
    rows = []
    for plan in PLANS:
        before = int(members["before"].get(plan["member"], 0))
        after = int(members["after"].get(plan["member"], 0))
        rows.append({**plan, "lineup_models_before": before, "lineup_models_after": after,
                     "lineup_change_share": _share(after - before, before)})
    return pd.DataFrame(rows)


def _check_ids(frame: pd.DataFrame, keep: Iterable[str], cut: Iterable[str]) -> tuple[set, set]:
    keep_set, cut_set = {str(k) for k in keep}, {str(c) for c in cut}
    unknown = sorted((keep_set | cut_set) - set(frame.index))
    if unknown:
        raise ParameterError("keep/cut lists name unknown model ids: " + ", ".join(unknown))
    both = sorted(keep_set & cut_set)
    if both:
        raise ParameterError("model ids both kept and cut: " + ", ".join(both))
    return keep_set, cut_set


# ---------------------------------------------------------------- public API
def calc_trimming(lineup: pd.DataFrame, assumptions: Mapping[str, float], *,
                  min_volume: float | None = None, migration_rate: float | None = None,
                  rules: Iterable[str] = RULES, keep: Iterable[str] = (),
                  cut: Iterable[str] = (), cut_year: int = 2020, reference_year: int = 2025,
                  start_year: int = 2020, end_year: int = 2025,
                  contribution_margin_rate: float | None = None) -> TrimmingResult:
    """Apply the trimming rules to a line-up, migrate the cut models' volume, value the result.

    Parameters
    ----------
    lineup : DataFrame
        One row per model (columns as :func:`alliance_fin.inputs.load.load_lineup` returns; at least
        model_id, member, segment, region, family_id, role, launch_year, end_year,
        annual_volume in units/year; common_platform, trim, dev_cost_eur_m, replaces,
        rest_of_range optional).
    assumptions : Mapping[str, float]
        Uses ``min_volume`` (units/year), ``migration_rate`` (decimal share),
        ``contribution_margin_rate`` (decimal share of unit cost), ``dev_lead_years``,
        ``dev_cost_eur_m_<segment>`` (EUR m) and ``unit_cost_eur_<segment>``; keywords win.
    min_volume : float, optional
        ``low_volume`` threshold, units/year (a model strictly below it is cut unless a leader).
    migration_rate : float, optional
        Share (0-1) of a cut model's volume that moves to its receiver.
    rules : iterable of str
        Rules switched on, any of :data:`RULES`; they always apply in that order.
    keep, cut : iterable of str
        Model ids always kept / always cut (reason ``"manual"``); they override every rule.
    cut_year : int
        First year a rule or manual cut is in effect (2000-2035); planned cuts end at end_year.
    reference_year : int
        The one year the before/after counts and shares are taken in (within the window).
    start_year, end_year : int
        Window of ``net_trimming_benefit_eur_m``.
    contribution_margin_rate : float, optional
        Contribution lost per vehicle not sold, as a share of its unit cost.

    Returns
    -------
    TrimmingResult

    Raises
    ------
    ParameterError
        Unknown rule or model id, a model both kept and cut, a parameter out of range,
        ``reference_year`` outside ``start_year..end_year``.
    InputError
        The line-up lacks required columns or repeats a model_id.
    """
    frame = prepare_lineup(lineup)
    min_volume_v = assumption_param(assumptions, "min_volume", min_volume, low=0)
    rate = assumption_param(assumptions, "migration_rate", migration_rate, low=0, high=1)
    rules_t = (rules,) if isinstance(rules, str) else tuple(rules)
    unknown = sorted(set(rules_t) - set(RULES))
    if unknown:
        raise ParameterError(f"unknown trimming rules: {', '.join(unknown)}; "
                             f"allowed: {', '.join(RULES)}")
    year = check_int("cut_year", cut_year, YEAR_FIRST, YEAR_LAST)
    start = check_int("start_year", start_year, YEAR_FIRST, YEAR_LAST)
    stop = check_int("end_year", end_year, start, YEAR_LAST)
    if isinstance(reference_year, bool) or not isinstance(reference_year, (int, np.integer)) \
            or not start <= reference_year <= stop:
        raise ParameterError(f"reference_year = {reference_year!r} is outside the report window; "
                             f"allowed: a whole year from start_year {start} to end_year {stop}")
    ref = int(reference_year)
    keep_set, cut_set = _check_ids(frame, keep, cut)
    margin = assumption_param(assumptions, "contribution_margin_rate", contribution_margin_rate, low=0, high=1)

    work = frame.assign(end_year=frame["effective_end_year"])  # changeovers: a model stops for its successor
    reason = calc_reasons(work, min_volume_v, rules_t, keep_set, cut_set)
    moves = calc_migration(work, reason, rate, year)
    received = moves.groupby("to_model_id")["migrated_volume"].sum()
    models = frame[_MODEL_COLUMNS].copy()
    models["cut"] = reason.ne("")
    models["reason"] = reason
    models["cut_from_year"] = cut_from_year(reason, work["launch_year"], work["end_year"], year)
    models["receives_volume"] = received.reindex(models.index, fill_value=0.0).astype(float)
    models["volume_after"] = np.where(models["cut"], 0.0,
                                      models["annual_volume"] + models["receives_volume"])
    models = _reference_year_volumes(models, moves, ref)
    before_after = _before_after(models)
    avoided, value_by_year = _avoided_dev(lineup, models, moves, assumptions, margin, (start, stop))
    return TrimmingResult(
        models=models, moves=moves, before_after=before_after, shares=_shares(models),
        plans=_plans(before_after), avoided_dev=avoided,
        cut_year=year, min_volume=min_volume_v, migration_rate=rate,
        rules=tuple(r for r in RULES if r in rules_t), reference_year=ref,
        value_by_year=value_by_year, start_year=start, end_year=stop)


def calc_trimming_headline(result: TrimmingResult) -> dict[str, int | float]:
    """The report's headline numbers (manifest keys of ``range_trimming``).

    Returns
    -------
    dict
        models_before, models_after (int, models on sale in ``reference_year`` before and after
        the trimming, rest-of-range rows excluded); common_platform_volume_share_before,
        common_platform_volume_share_after (float, decimal shares of that year's volume);
        net_trimming_benefit_eur_m (float, EUR m over the window: avoided successor
        development less lost contribution).
    """
    shares = result.shares.set_index("metric")
    total = result.before_after.iloc[0]
    net = float(result.value_by_year["net_benefit_eur_m"].sum()) if result.value_by_year is not None else 0.0
    return {
        "models_before": int(total["before"]),
        "models_after": int(total["after"]),
        "common_platform_volume_share_before": float(
            shares.loc["common_platform_volume_share", "before"]),
        "common_platform_volume_share_after": float(
            shares.loc["common_platform_volume_share", "after"]),
        "net_trimming_benefit_eur_m": net,
    }
