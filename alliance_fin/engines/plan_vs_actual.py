"""Plan against outcome: the 27 May 2020 line-up matched with the line-up as it turned out.

Pure calculations (frames and scalars in, frames out). The method is in ``docs/methodology.md``,
section Plan against outcome:

- **Match** the ``plan`` and ``models`` line-ups by ``model_id``. Status: ``cancelled`` (plan
  only), ``added`` (outcome only), ``regrouped`` (family or role changed), ``delayed`` (launched
  later, by ``delay_years``), ``advanced`` (launched earlier), ``revised`` (same launch, family
  and role, but another value the savings read changed: volume, end year, successor, platform,
  segment, cost, decision year), ``as_planned`` (nothing changed). ``advanced`` and ``revised``
  extend the contract's five statuses so that every matched model has exactly one.
- **Savings** on each line-up with the same parameters (:func:`alliance_fin.engines.savings.calc_savings`),
  ``savings_realisation_rate`` = outcome window total / plan window total. That rate counts the
  models added after the plan; :func:`calc_planned_models_realisation` gives the like-for-like
  reading, the planned models as they turned out, priced without the added ones (the bridge
  before its additions).
- **Bridge** by sequential substitution of whole line-ups, in :data:`CAUSES` order: starting
  from the plan, remove the cancelled models, then give the matched models their outcome launch
  year, then their outcome family and role, then their outcome volume, then every other outcome
  value, then add the added models: the last state is the outcome. Each cause is the change of
  the window total between two successive states, so the causes add up to the difference by
  construction, interactions included (a cancelled follower also lowers its family's rate: that
  loss is a cancellation). In an intermediate state a family left without its leader (the leader
  cancelled, or an added model) is not a family: its models count as outside any family until
  the state in which the leader is present again.
- **Targets**: both leader-follower readings and the platform share per year on each line-up
  (:func:`alliance_fin.engines.milestones.calc_milestones`), with status.

Units: money in EUR millions (``*_eur_m``), unit savings in EUR per vehicle, volumes in units per
year, shares and rates as decimal fractions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from alliance_fin.engines.milestones import calc_milestones
from alliance_fin.engines.savings import calc_savings
from alliance_fin.errors import InputError
from alliance_fin.inputs.schema import as_flags

__all__ = ["CAUSES", "STATES", "STATUSES", "PlanVsActualResult", "calc_model_status", "calc_bridge_states",
           "calc_plan_vs_actual", "calc_planned_models_realisation", "HEADLINE_KEYS"]

#: The bridge's causes in attribution order (key, label); state k is the line-up after cause k.
CAUSES: tuple[tuple[str, str], ...] = (
    ("cancellations", "cancellations"),
    ("delays", "delays"),
    ("regroupings", "regroupings"),
    ("volume_changes", "volume changes"),
    ("other_changes", "other changes (end year, successor, platform, cost)"),
    ("additions", "additions"),
)
#: Names of the line-up states 0..6: the plan, after each cause, the last one equal to the outcome.
STATES: tuple[str, ...] = ("plan", *(f"after {key}" for key, _ in CAUSES[:-1]), "outcome")
STATUSES = ("as_planned", "delayed", "advanced", "regrouped", "revised", "cancelled", "added")
#: Columns each substitution step takes from the outcome (``other_changes``: all remaining ones).
STEP_COLUMNS = {"delays": ("launch_year",), "regroupings": ("family_id", "role"),
                "volume_changes": ("annual_volume",)}
#: Values the savings engine reads; a change in one of them makes a matched model ``revised``.
REVISED_COLUMNS = ("end_year", "replaces", "annual_volume", "platform", "common_platform", "segment",
                   "dev_cost_eur_m", "scheme_since", "member")
TIMING_CAUSES = ("delays",)
#: How the ``changes`` text names a changed column (others: underscores become spaces).
CHANGE_WORDS = {"family_id": "family", "annual_volume": "volume",
                "common_platform": "common platform", "dev_cost_eur_m": "development cost (EUR m)",
                "scheme_since": "scheme decided"}
HEADLINE_KEYS = ("models_delayed", "models_cancelled", "models_added", "savings_plan_eur_m",
                 "savings_actual_eur_m", "savings_realisation_rate", "lf_share_range_2025_plan",
                 "lf_share_range_2025_actual", "common_platform_volume_share_2024_plan",
                 "common_platform_volume_share_2024_actual")
_TEXT = ("model_id", "member", "brand", "model_name", "segment", "platform", "region", "family_id", "role",
         "replaces")


# ---------------------------------------------------------------------------- matching
def _norm(value: object) -> str:
    """A cell as comparable text: numbers without a trailing .0, NaN and None as ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _indexed(lineup: pd.DataFrame, where: str) -> pd.DataFrame:
    frame = lineup.copy()
    frame["model_id"] = frame["model_id"].astype(str).str.strip()
    dup = frame["model_id"][frame["model_id"].duplicated()].tolist()
    if dup:
        raise InputError(f"{where}: model_id repeated: {', '.join(dup)}")
    return frame.set_index("model_id", drop=False)


def _flags(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(False, index=frame.index)
    return as_flags(frame[column].astype(object).where(frame[column].notna(), ""))


def calc_model_status(plan: pd.DataFrame, outcome: pd.DataFrame) -> pd.DataFrame:
    """Match the line-ups by ``model_id`` and give each model its status.

    Parameters
    ----------
    plan, outcome : DataFrame
        Validated line-ups (one row per model; see :func:`alliance_fin.inputs.load.validate_lineup`).

    Returns
    -------
    DataFrame
        Index ``model_id`` (plan order, then the added models in outcome order); columns
        ``in_plan_lineup``, ``in_outcome`` (bool), ``status`` (see :data:`STATUSES`),
        ``delay_years`` (Int64: outcome launch - planned launch; <NA> unless in both),
        ``regrouped``, ``revised`` (bool), ``changes`` (text: each changed value, plan → outcome,
        e.g. ``family F09 → none; role leader → standalone``),
        ``rest_of_range`` (bool: an aggregate row, never counted as a model).
    """
    p, o = _indexed(plan, "plan"), _indexed(outcome, "outcome")
    ids = list(p.index) + [i for i in o.index if i not in p.index]
    out = pd.DataFrame(index=pd.Index(ids, name="model_id"))
    out["in_plan_lineup"] = out.index.isin(p.index)
    out["in_outcome"] = out.index.isin(o.index)
    both = out.index[out["in_plan_lineup"] & out["in_outcome"]]
    delay = pd.Series(pd.NA, index=out.index, dtype="Int64")
    delay.loc[both] = (o.loc[both, "launch_year"].astype("int64") - p.loc[both, "launch_year"].astype("int64")).to_numpy()
    out["delay_years"] = delay
    regrouped = dict.fromkeys(out.index, False)
    revised = dict.fromkeys(out.index, False)
    changes = dict.fromkeys(out.index, "")
    columns = ["launch_year", "family_id", "role", *REVISED_COLUMNS]
    # each column's cells as a dict: a .at look-up per model and column was most of this function
    p_cells = {col: dict(zip(p.index, p[col].tolist())) for col in columns if col in p.columns}
    o_cells = {col: dict(zip(o.index, o[col].tolist())) for col in columns if col in o.columns}
    for i in both:
        parts = []
        for col in columns:
            a = _norm(p_cells[col][i]) if col in p_cells else ""
            b = _norm(o_cells[col][i]) if col in o_cells else ""
            if a != b:
                parts.append(f"{CHANGE_WORDS.get(col, col.replace('_', ' '))} {a or 'none'} → {b or 'none'}")
                regrouped[i] |= col in ("family_id", "role")
                revised[i] |= col in REVISED_COLUMNS
        changes[i] = "; ".join(parts)
    regrouped = pd.Series(list(regrouped.values()), index=out.index, dtype=bool)
    revised = pd.Series(list(revised.values()), index=out.index, dtype=bool)
    out["regrouped"], out["revised"] = regrouped, revised
    out["changes"] = pd.Series(list(changes.values()), index=out.index, dtype=object)
    status = np.select(
        [~out["in_outcome"], ~out["in_plan_lineup"], regrouped, delay.fillna(0) > 0, delay.fillna(0) < 0, revised],
        ["cancelled", "added", "regrouped", "delayed", "advanced", "revised"], default="as_planned")
    out["status"] = pd.Series(status, index=out.index, dtype=object)
    ror = pd.concat([_flags(p, "rest_of_range"), _flags(o, "rest_of_range")])
    out["rest_of_range"] = ror[~ror.index.duplicated(keep="last")].reindex(out.index).fillna(False).astype(bool)
    return out[["in_plan_lineup", "in_outcome", "status", "delay_years", "regrouped", "revised", "changes",
                "rest_of_range"]]


# ---------------------------------------------------------------------------- the states
def _align(plan: pd.DataFrame, outcome: pd.DataFrame) -> pd.DataFrame:
    """``plan`` with ``outcome``'s columns (missing text as '', missing numbers as NaN)."""
    out = plan.reindex(columns=outcome.columns)
    for col in outcome.columns:
        if col not in plan.columns:
            is_text = outcome[col].dtype == object or pd.api.types.is_string_dtype(outcome[col])
            out[col] = "" if is_text else np.nan
    return out


def _dissolve_leaderless(state: pd.DataFrame) -> pd.DataFrame:
    """A family with no leader in an intermediate state is no family (its models count outside one)."""
    fam = state["family_id"].fillna("").astype(str).str.strip()
    has_leader = (state["role"].eq("leader") & fam.ne("")).groupby(fam).any()
    orphan = fam.ne("") & ~fam.map(has_leader).fillna(False).astype(bool)
    if not orphan.any():
        return state
    state = state.copy()
    state.loc[orphan, "family_id"] = ""
    state.loc[orphan, "role"] = "standalone"
    return state


def calc_bridge_states(plan: pd.DataFrame, outcome: pd.DataFrame) -> list[pd.DataFrame]:
    """The line-ups of the bridge, state 0 (the plan) to state 6 (the outcome), see :data:`STATES`.

    Parameters
    ----------
    plan, outcome : DataFrame
        Validated line-ups.

    Returns
    -------
    list of DataFrame
        Seven line-ups with ``outcome``'s columns, RangeIndex: the plan; after the cancellations
        (plan-only models removed); after the delays (matched models take their outcome
        ``launch_year``); after the regroupings (``family_id``, ``role``); after the volume
        changes (``annual_volume``); after the other changes (the matched models' whole outcome
        rows); the outcome (added models appended). Families without a leader in a state are
        dissolved (:func:`_dissolve_leaderless`).
    """
    p = _indexed(_align(plan, outcome), "plan")
    o = _indexed(outcome, "outcome")
    matched = [i for i in p.index if i in o.index]
    added = [i for i in o.index if i not in p.index]
    states = [p]
    current = p.loc[matched].copy()
    states.append(current.copy())
    for key in ("delays", "regroupings", "volume_changes"):
        for col in STEP_COLUMNS[key]:
            current[col] = o.loc[matched, col].to_numpy()
        states.append(current.copy())
    states.append(o.loc[matched].copy())
    states.append(pd.concat([o.loc[matched], o.loc[added]]))
    return [_dissolve_leaderless(s.reset_index(drop=True)) for s in states]


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class PlanVsActualResult:
    """Outcome of :func:`calc_plan_vs_actual`.

    Attributes
    ----------
    models : DataFrame
        Index ``model_id`` (plan order, then added). :func:`calc_model_status`'s columns plus
        ``member, brand, model_name`` (outcome's, else plan's), ``planned_launch_year``,
        ``actual_launch_year`` (Int64), ``planned_family_id``, ``actual_family_id``,
        ``planned_role``, ``actual_role`` (str, '' where absent), ``planned_volume``,
        ``actual_volume`` (units/year, NaN where absent), ``planned_saving_eur_m``,
        ``actual_saving_eur_m`` (window, chosen baseline, 0 where absent), ``variance_eur_m``,
        one column per cause of :data:`CAUSES` (EUR m, this model's share of that step),
        ``timing_eur_m``, ``permanent_eur_m`` and ``variance_type`` (``timing``, ``permanent`` or '').
    bridge : DataFrame
        RangeIndex, 8 rows: ``step`` (key), ``label``, ``value_eur_m`` (totals for the plan and
        outcome rows, changes for the causes), ``kind`` (``total`` or ``delta``),
        ``cumulative_eur_m`` (running total after the row).
    states : DataFrame
        One row per model x state (0..6, present models only): ``model_id``, ``state``,
        ``launch_year``, ``end_year``, ``effective_end_year``, ``annual_volume``,
        ``scheme_since`` (float, NaN = derived), ``counted`` (bool, the baseline counts it),
        ``scheme``, ``dev_saving_eur_m`` (lifetime), ``unit_saving_eur`` (production and other
        saving per vehicle, EUR), ``window_saving_eur_m``, ``successors`` (tuple of the ids in
        the state that replace it). What the workbook rebuilds with formulas.
    families : DataFrame
        Index ``family_id`` (either line-up): ``planned_models``, ``actual_models`` (int),
        ``planned_reduction_rate``, ``actual_reduction_rate`` (uncapped family rate; NaN where
        absent), ``planned_saving_eur_m``, ``actual_saving_eur_m`` (window).
    targets : DataFrame
        One row per line-up (``plan``, ``outcome``) x metric x year: ``lineup``, ``metric``
        (``lf_share_new``, ``lf_share_range``, ``platform_volume_share``), ``year``,
        ``target``, ``target_year``, ``actual``, ``path`` (shares), ``status``.
    at_target : DataFrame
        Index metric; columns ``target``, ``target_year``, ``plan``, ``outcome`` (shares at the
        target year), ``plan_met``, ``outcome_met`` (bool).
    headline : dict
        :data:`HEADLINE_KEYS` -> number.
    params : Mapping
        Resolved parameters.
    """

    models: pd.DataFrame
    bridge: pd.DataFrame
    states: pd.DataFrame
    families: pd.DataFrame
    targets: pd.DataFrame
    at_target: pd.DataFrame
    headline: dict[str, float]
    params: Mapping[str, object]

    def __repr__(self) -> str:
        h = self.headline
        return (f"PlanVsActualResult({h['models_delayed']} delayed, {h['models_cancelled']} cancelled, "
                f"{h['models_added']} added; savings plan {h['savings_plan_eur_m']:,.0f} EUR m, actual "
                f"{h['savings_actual_eur_m']:,.0f}, realisation {h['savings_realisation_rate']:.1%})")


def _unit_saving(models: pd.DataFrame, values: Mapping[str, float]) -> np.ndarray:
    rate = np.select([models["scheme"].eq("family"), models["scheme"].eq("platform")],
                     [float(values["production_saving_rate"]) + float(values["other_saving_rate"]),
                      float(values["platform_production_saving_rate"])], default=0.0)
    return models["unit_cost_eur"].to_numpy(float) * rate


def _state_rows(k: int, state: pd.DataFrame, result, values: Mapping[str, float]) -> pd.DataFrame:
    m = result.models
    window = result.by_year.groupby("model_id", sort=False)["saving_eur_m"].sum()
    since = pd.to_numeric(state["scheme_since"].replace("", np.nan), errors="coerce") \
        if "scheme_since" in state.columns else pd.Series(np.nan, index=state.index)
    repl = state["replaces"].fillna("").astype(str).str.strip() if "replaces" in state.columns \
        else pd.Series("", index=state.index)
    ids = state["model_id"].astype(str).str.strip()
    replaced_by: dict[str, list[str]] = {}  # in row order, as ids[repl.eq(i)] lists them
    for model, replaced in zip(ids.tolist(), repl.tolist(), strict=True):
        if replaced:
            replaced_by.setdefault(replaced, []).append(model)
    successors = {i: tuple(models) for i, models in replaced_by.items()}
    counted = m["in_plan"].to_numpy(bool) if result.params["baseline"] == "plan" else np.ones(len(m), bool)
    return pd.DataFrame({
        "model_id": m.index.astype(str), "state": k,
        "launch_year": m["launch_year"].to_numpy(), "end_year": m["end_year"].to_numpy(),
        "effective_end_year": m["effective_end_year"].to_numpy(),
        "annual_volume": m["annual_volume"].to_numpy(float), "scheme_since": since.to_numpy(float),
        "counted": counted, "scheme": m["scheme"].to_numpy(), "family_id": m["family_id"].to_numpy(),
        "family_reduction_rate": m["family_reduction_rate"].to_numpy(float),
        "dev_saving_eur_m": m["dev_saving_eur_m"].to_numpy(float),
        "unit_saving_eur": _unit_saving(m, values),
        "window_saving_eur_m": window.reindex(m.index).fillna(0.0).to_numpy(float),
        "successors": [successors.get(i, ()) for i in m.index],
    })


def _families(states: pd.DataFrame) -> pd.DataFrame:
    parts = {}
    for name, k in (("planned", 0), ("actual", len(STATES) - 1)):
        s = states[(states["state"] == k) & states["family_id"].ne("")]
        g = s.groupby("family_id")
        parts[name] = pd.DataFrame({f"{name}_models": g.size(),
                                    f"{name}_reduction_rate": g["family_reduction_rate"].first(),
                                    f"{name}_saving_eur_m": g["window_saving_eur_m"].sum()})
    out = parts["planned"].join(parts["actual"], how="outer").sort_index()
    for col in ("planned_models", "actual_models"):
        out[col] = out[col].fillna(0).astype(int)
    for col in ("planned_saving_eur_m", "actual_saving_eur_m"):
        out[col] = out[col].fillna(0.0)
    out.index.name = "family_id"
    return out[["planned_models", "actual_models", "planned_reduction_rate", "actual_reduction_rate",
                "planned_saving_eur_m", "actual_saving_eur_m"]]


def _model_table(status: pd.DataFrame, plan: pd.DataFrame, outcome: pd.DataFrame,
                 saving: pd.DataFrame) -> pd.DataFrame:
    p, o = _indexed(plan, "plan"), _indexed(outcome, "outcome")
    out = status.copy()
    for col in ("member", "brand", "model_name"):
        out[col] = o[col].reindex(out.index).fillna(p[col].reindex(out.index)).fillna("").astype(str)
    for side, frame in (("planned", p), ("actual", o)):
        out[f"{side}_launch_year"] = frame["launch_year"].reindex(out.index).astype("Int64")
        out[f"{side}_family_id"] = frame["family_id"].reindex(out.index).fillna("").astype(str)
        out[f"{side}_role"] = frame["role"].reindex(out.index).fillna("").astype(str)
        out[f"{side}_volume"] = frame["annual_volume"].reindex(out.index).astype(float)
    out["planned_saving_eur_m"] = saving[0].to_numpy()
    out["actual_saving_eur_m"] = saving[len(STATES) - 1].to_numpy()
    out["variance_eur_m"] = out["actual_saving_eur_m"] - out["planned_saving_eur_m"]
    for k, (key, _) in enumerate(CAUSES, start=1):
        out[key] = (saving[k] - saving[k - 1]).to_numpy()
    timing = out[list(TIMING_CAUSES)].sum(axis=1)
    permanent = out[[key for key, _ in CAUSES if key not in TIMING_CAUSES]].sum(axis=1)
    out["timing_eur_m"], out["permanent_eur_m"] = timing, permanent
    moved = out[[key for key, _ in CAUSES if key not in TIMING_CAUSES]].abs().gt(1e-9).any(axis=1)
    permanent_status = out["status"].isin(["cancelled", "added", "regrouped", "revised"])
    out["variance_type"] = np.where(permanent_status | moved, "permanent",
                                    np.where(out["status"].isin(["delayed", "advanced"]), "timing", ""))
    front = ["member", "brand", "model_name", "status", "variance_type", "delay_years"]
    return out[front + [c for c in out.columns if c not in front]]


def _rate(realised: float, planned: float) -> float:
    """``realised / planned``; 1 when both are zero, not a number when only the plan is."""
    if planned != 0:
        return realised / planned
    return 1.0 if realised == 0 else math.nan


def calc_planned_models_realisation(bridge: pd.DataFrame) -> tuple[float, float]:
    """The like-for-like realisation: the planned models as they turned out, priced without the added ones.

    ``savings_realisation_rate`` divides the outcome's total, models added after the plan
    included, by the plan's. This reading stops the bridge before its last step: the plan after
    its cancellations, delays, regroupings, volume and other changes, priced without the added
    models, over the same plan total. What an added model changes for a planned one (an added
    leader gives a planned follower its family; an added successor shortens a planned model's
    life) counts with the additions, not here.

    Parameters
    ----------
    bridge : DataFrame
        :attr:`PlanVsActualResult.bridge`.

    Returns
    -------
    (float, float)
        The planned models' window savings as realised (EUR m, the cumulative total before
        ``additions``) and that total over the planned savings (1 when both are zero, NaN when
        only the plan is).
    """
    steps = bridge["step"].tolist()
    planned = float(bridge["value_eur_m"].iat[steps.index("plan")])
    # the running total of the bridge's row before the additions (the plan's row, were they first)
    before_additions = float(bridge["cumulative_eur_m"].iat[steps.index("additions") - 1])
    return before_additions, float(_rate(before_additions, planned))


def calc_plan_vs_actual(
    plan: pd.DataFrame,
    outcome: pd.DataFrame,
    assumptions: Mapping[str, float],
    *,
    start_year: int = 2020,
    end_year: int = 2025,
    baseline: str = "plan",
    plan_year: int = 2020,
    as_of_year: int = 2026,
    platform_definition: str = "cmf",
    cmf_platforms: Sequence[str] | str | None = None,
    max_saving_rate: float | None = None,
    follower_diff_share: float | None = None,
) -> PlanVsActualResult:
    """Plan against outcome: statuses, savings on each line-up, the bridge and the targets.

    Parameters
    ----------
    plan, outcome : DataFrame
        The line-up as planned on 27 May 2020 and as it turned out (validated, one row per model).
    assumptions : Mapping[str, float]
        Savings assumptions and the targets (``target_*``, ``amber_tolerance``), as for
        :func:`alliance_fin.engines.savings.calc_savings` and
        :func:`alliance_fin.engines.milestones.calc_milestones`.
    start_year, end_year : int
        Savings window, inclusive; also the years of the target table.
    baseline : {"plan", "standalone"}
        Savings baseline, the same on both line-ups.
    plan_year : int
        Year of the plan (baseline, "new models" and the start of the target paths).
    as_of_year : int
        Last year the outcome line-up records as it happened; a later launch is still a plan.
    platform_definition : {"cmf", "shared"}
        Common-platform definition of the platform share.
    cmf_platforms : sequence of str or str, optional
        CMF platform names (default ``assumptions["cmf_platforms"]``).
    max_saving_rate, follower_diff_share : float, optional
        Overrides of the assumptions of the same name.

    Returns
    -------
    PlanVsActualResult
    """
    status = calc_model_status(plan, outcome)
    values = dict(assumptions)
    kw = dict(start_year=start_year, end_year=end_year, baseline=baseline, plan_year=plan_year,
              max_saving_rate=max_saving_rate, follower_diff_share=follower_diff_share)
    rows = []
    for k, state in enumerate(calc_bridge_states(plan, outcome)):
        if state.empty:  # e.g. every planned model cancelled: nothing to price in this state
            continue
        rows.append(_state_rows(k, state, calc_savings(state, values, **kw), values))
    states = pd.concat(rows, ignore_index=True)
    saving = states.pivot_table(index="model_id", columns="state", values="window_saving_eur_m",
                                aggfunc="sum").reindex(index=status.index, columns=range(len(STATES))).fillna(0.0)
    models = _model_table(status, plan, outcome, saving)

    totals = [float(states.loc[states["state"] == k, "window_saving_eur_m"].sum()) for k in range(len(STATES))]
    steps = [("plan", "planned savings", totals[0], "total")]
    steps += [(key, label, totals[k] - totals[k - 1], "delta") for k, (key, label) in enumerate(CAUSES, start=1)]
    steps.append(("outcome", "realised savings", totals[-1], "total"))
    bridge = pd.DataFrame(steps, columns=["step", "label", "value_eur_m", "kind"])
    bridge["cumulative_eur_m"] = [totals[0], *totals[1:], totals[-1]]

    mkw = dict(start_year=start_year, end_year=end_year, as_of_year=as_of_year, plan_year=plan_year,
               platform_definition=platform_definition, cmf_platforms=cmf_platforms)
    ms = {"plan": calc_milestones(plan, values, **mkw), "outcome": calc_milestones(outcome, values, **mkw)}
    targets = pd.concat([r.targets.assign(lineup=name) for name, r in ms.items()], ignore_index=True)
    targets = targets[["lineup", "metric", "year", "target", "target_year", "actual", "path", "status"]]
    metrics = ["lf_share_new", "lf_share_range", "platform_volume_share", "platform_model_share"]
    at_target = ms["plan"].at_target.loc[metrics, ["target", "target_year"]].copy()
    for name, r in ms.items():
        at_target[name] = r.at_target.loc[metrics, "actual"].astype(float)
        at_target[f"{name}_met"] = r.at_target.loc[metrics, "met"].astype(bool)

    counted = models[~models["rest_of_range"]]
    plan_total, actual_total = totals[0], totals[-1]
    rate = _rate(actual_total, plan_total)
    headline = {
        "models_delayed": int((counted["delay_years"].fillna(0) > 0).sum()),
        "models_cancelled": int(counted["status"].eq("cancelled").sum()),
        "models_added": int(counted["status"].eq("added").sum()),
        "savings_plan_eur_m": plan_total,
        "savings_actual_eur_m": actual_total,
        "savings_realisation_rate": float(rate),
        "lf_share_range_2025_plan": float(at_target.at["lf_share_range", "plan"]),
        "lf_share_range_2025_actual": float(at_target.at["lf_share_range", "outcome"]),
        "common_platform_volume_share_2024_plan": float(at_target.at["platform_volume_share", "plan"]),
        "common_platform_volume_share_2024_actual": float(at_target.at["platform_volume_share", "outcome"]),
    }
    params = {"start_year": start_year, "end_year": end_year, "baseline": baseline, "plan_year": plan_year,
              "as_of_year": as_of_year, "platform_definition": platform_definition}
    return PlanVsActualResult(models=models, bridge=bridge, states=states, families=_families(states),
                              targets=targets, at_target=at_target, headline=headline,
                              params=MappingProxyType(params))
