"""Milestones to 2025: year-by-year shares against the Alliance targets, with slippage scenarios.

Pure calculations over a (models x years) activity matrix. Definitions (``docs/methodology.md``,
section "Milestones"): a launch delay of ``d`` years shifts ``launch_year`` and ``end_year`` of
every model launched after ``as_of_year`` (the last year the line-up records as it happened). In
year ``y`` a model is *active* when ``launch_year <= y <= effective_end_year`` (a predecessor
stops the year before its successor launches); *new by y* when ``plan_year <= launch_year <= y``.
Rest-of-range rows (aggregates of a member's unlisted models) count in volumes, never as models.

- ``lf_share_new`` = new models in a family / new models (founding article: "half of the new
  Alliance models"; 0 when there are none),
- ``lf_share_range`` = active models in a family / active models (27 May 2020 release: "close to
  50% of Alliance models"); ``lf_share_active`` is the same figure under its former name,
- ``platform_volume_share`` = volume of active common-platform models / volume of active models,
- ``platform_model_share`` = active common-platform models / active models;

common platform by ``platform_definition``: ``cmf`` (platform named in ``cmf_platforms``) or
``shared`` (the ``common_platform`` flag). Each target gets a path from its ``plan_year`` value
(:func:`calc_target_path`) and a status per year (:func:`calc_target_status`). Comparisons allow
:data:`EPS` so that a value computed to be exactly on a boundary (0.1 + 0.2 vs 0.3) lands on the
boundary's side it is meant to.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from alliance_fin.engines.lineup import YEAR_FIRST, YEAR_LAST, assumption_param, check_int, prepare_lineup
from alliance_fin.engines.targets import EPS, STATUSES, calc_target_path, calc_target_status
from alliance_fin.engines.trimming import TrimmingResult
from alliance_fin.engines.trimming_rules import cut_from_year
from alliance_fin.errors import ParameterError

# EPS, STATUSES, calc_target_path and calc_target_status are re-exported (engines/targets.py).
__all__ = ["MilestonesResult", "calc_milestones", "calc_milestones_headline", "calc_target_path",
           "calc_target_status", "EPS", "STATUSES", "TARGETS", "PLATFORM_DEFINITIONS", "MODEL_SHARE_YEAR",
           "DELAY_TABLE_YEARS", "HORIZON_YEAR", "MAX_DELAY_YEARS"]

#: Launch delays always shown in the delay table (the chosen delay is added when larger).
DELAY_TABLE_YEARS = (0, 1, 2, 3)
#: Last year searched for "year the target is first met" in the delay table.
HORIZON_YEAR = YEAR_LAST
MAX_DELAY_YEARS = 10
#: (metric in by_year, target share key, target year key) per target.
TARGETS = (
    ("lf_share_new", "target_lf_share", "target_lf_year"),
    ("lf_share_range", "target_lf_share", "target_lf_year"),
    ("platform_volume_share", "target_platform_share", "target_platform_year"),
)
#: Year of the common-platform model share headline (the 2022 roadmap's measure).
MODEL_SHARE_YEAR = 2026
PLATFORM_DEFINITIONS = ("cmf", "shared")


@dataclass(frozen=True, eq=False)
class MilestonesResult:
    """Outcome of :func:`calc_milestones`.

    Attributes
    ----------
    by_year : DataFrame
        Index ``year`` (start_year..end_year): active_models, launches (models launched in the
        year), new_models, new_lf_models (cumulative counts since start_year), lf_share_new,
        lf_share_active, platform_volume_share (decimal shares); with a trimming result also the
        same columns suffixed ``_trimmed``.
    targets : DataFrame
        One row per scenario x target x year: scenario (``data`` or ``trimmed``), metric, year,
        target (share), target_year, actual, path (shares), status (see :data:`STATUSES`).
    delay_table : DataFrame
        One row per scenario x delay (:data:`DELAY_TABLE_YEARS`): scenario, launch_delay_years,
        lf_first_met_year, platform_first_met_year (Int64; <NA> = not met by
        :data:`HORIZON_YEAR`), lf_share_new_at_target_year, platform_volume_share_at_target_year
        (shares), lf_target_met, platform_target_met (bool, at the target year).
    timeline : DataFrame
        Events (RangeIndex): year, model_id, member, model_name, event (``launch``, ``end`` =
        last production year, ``cut`` = first year without the model), in_window (bool).
    gantt : DataFrame
        One row per model: model_id, member, model_name, start, end (first and last production
        year after delay and cuts), launched (bool), cut_year (Int64, first year without a cut
        model; <NA> otherwise).
    at_target : DataFrame
        Index metric: target, target_year, actual, met, and with trimming actual_trimmed,
        met_trimmed; for the chosen delay, whatever the window.
    params : Mapping
        The resolved parameters.
    """

    by_year: pd.DataFrame
    targets: pd.DataFrame
    delay_table: pd.DataFrame
    timeline: pd.DataFrame
    gantt: pd.DataFrame
    at_target: pd.DataFrame
    params: Mapping[str, float]

    def __repr__(self) -> str:
        parts = [f"{m} {r.actual:.1%} in {int(r.target_year)} (target {r.target:.0%}: "
                 f"{'met' if r.met else 'missed'})" for m, r in self.at_target.iterrows()]
        return (f"MilestonesResult({self.by_year.index.min()}-{self.by_year.index.max()}, "
                f"delay {self.params['launch_delay_years']} y; " + "; ".join(parts) + ")")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(m))}</th><td>{r.target:.0%} by "
            f"{int(r.target_year)}</td><td>{r.actual:.1%}</td><td>{'met' if r.met else 'missed'}"
            "</td></tr>" for m, r in self.at_target.iterrows())
        return ("<table><caption>Milestones (launch delay "
                f"{self.params['launch_delay_years']} years)</caption><tr><th>metric</th>"
                f"<th>target</th><th>actual</th><th>status</th></tr>{rows}</table>")


# ---------------------------------------------------------------- core matrix calculation
def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _yearly(years: np.ndarray, launch: np.ndarray, end: np.ndarray, volume: np.ndarray,
            in_family: np.ndarray, common: np.ndarray, plan_year: int,
            countable: np.ndarray | None = None) -> pd.DataFrame:
    """Metrics per year from per-model arrays (``volume`` is (n,) or (years, n), units/year).

    ``countable`` is False for rest-of-range rows: in volumes, not in model counts or shares.
    """
    countable = np.ones(len(launch), dtype=bool) if countable is None else countable
    y = years[:, None]
    on_sale = (launch <= y) & (y <= end)
    active = on_sale & countable
    launched = (launch <= end) & countable  # a model cut before its launch never appears
    new = launched & (launch >= plan_year) & (launch <= y)
    vol = np.broadcast_to(volume, on_sale.shape) * on_sale
    range_share = _ratio((active & in_family).sum(axis=1), active.sum(axis=1))
    return pd.DataFrame({
        "active_models": active.sum(axis=1),
        "launches": (launched & (launch == y)).sum(axis=1),
        "new_models": new.sum(axis=1),
        "new_lf_models": (new & in_family).sum(axis=1),
        "lf_share_new": _ratio((new & in_family).sum(axis=1), new.sum(axis=1)),
        "lf_share_range": range_share,
        "lf_share_active": range_share,
        "platform_volume_share": _ratio((vol * common).sum(axis=1), vol.sum(axis=1)),
        "platform_model_share": _ratio((active & common).sum(axis=1), active.sum(axis=1)),
    }, index=pd.Index(years, name="year"))


def _scenario(frame: pd.DataFrame, delay: int, as_of_year: int,
              trimming: TrimmingResult | None) -> dict[str, np.ndarray | object]:
    """Per-model arrays for one delay, with the trimming applied when given."""
    shift = np.where(frame["launch_year"].to_numpy() > as_of_year, delay, 0)
    launch = frame["launch_year"].to_numpy() + shift
    end = frame["effective_end_year"].to_numpy() + shift
    arrays = {"launch": launch, "end": end, "volume": frame["annual_volume"].to_numpy(float),
              "moves": None, "cut": np.zeros(len(frame), dtype=bool)}
    if trimming is not None:
        reason = trimming.models["reason"].reindex(frame.index)
        free = cut_from_year(reason, pd.Series(launch, index=frame.index),
                              pd.Series(end, index=frame.index), trimming.cut_year)
        cut = reason.ne("").to_numpy()
        arrays["end"] = np.where(cut, free.fillna(0).to_numpy(int) - 1, end)
        arrays["cut"] = cut
        moves = trimming.moves[trimming.moves["to_model_id"].ne("")]
        arrays["moves"] = (frame.index.get_indexer(moves["to_model_id"]),
                           free.reindex(moves["from_model_id"]).to_numpy(int),
                           moves["migrated_volume"].to_numpy(float))
    return arrays


def _metrics(frame: pd.DataFrame, years: np.ndarray, arrays: dict, plan_year: int,
             common: np.ndarray) -> pd.DataFrame:
    volume = arrays["volume"]
    if arrays["moves"] is not None:
        to_idx, free, migrated = arrays["moves"]
        # volume a receiver gains in year y: the moves whose volume is free by y
        gained = (years[:, None] >= free[None, :]) * migrated[None, :]
        volume = np.tile(volume, (len(years), 1))
        np.add.at(volume, (slice(None), to_idx), gained)
    return _yearly(years, arrays["launch"], arrays["end"], volume,
                   frame["family_id"].ne("").to_numpy(), common, plan_year,
                   ~frame["rest_of_range"].to_numpy(dtype=bool))


def _targets(by_year: pd.DataFrame, scenario: str, goals: dict, plan_values: Mapping[str, float],
             plan_year: int, tolerance: float) -> pd.DataFrame:
    years = by_year.index.to_numpy()
    parts = []
    for metric, (target, target_year) in goals.items():
        actual = by_year[metric].to_numpy(float)
        path = calc_target_path(plan_values[metric], target, plan_year, target_year, years)
        parts.append(pd.DataFrame({
            "scenario": scenario, "metric": metric, "year": years, "target": target,
            "target_year": target_year, "actual": actual, "path": path,
            "status": calc_target_status(actual, path, years, target, target_year, tolerance)}))
    return pd.concat(parts, ignore_index=True)


def _first_met(series: pd.Series, target: float) -> object:
    hit = series.index[series.to_numpy(float) >= target - EPS]
    return int(hit[0]) if len(hit) else pd.NA


# ---------------------------------------------------------------- public API
def calc_milestones(lineup: pd.DataFrame, assumptions: Mapping[str, float], *,
                    start_year: int = 2020, end_year: int = 2025, launch_delay_years: int = 0,
                    as_of_year: int = 2026, trimming: TrimmingResult | None = None,
                    amber_tolerance: float | None = None, plan_year: int = 2020,
                    platform_definition: str = "cmf",
                    cmf_platforms: Sequence[str] | str | None = None) -> MilestonesResult:
    """Year-by-year milestone metrics, target statuses, delay table and timeline.

    Parameters
    ----------
    lineup : DataFrame
        One row per model (as :func:`alliance_fin.inputs.load.load_lineup` returns).
    assumptions : Mapping[str, float]
        Uses target_lf_share, target_lf_year, target_platform_share, target_platform_year and
        amber_tolerance (decimal share; the keyword wins).
    start_year, end_year : int
        Report window, 2000-2035, start <= end.
    launch_delay_years : int
        Years (0-10) added to launch and end of models launched after ``as_of_year``.
    as_of_year : int
        Last year the line-up records as it happened (2000-2035); only later launches slip.
    trimming : TrimmingResult, optional
        Adds ``*_trimmed`` columns and a ``trimmed`` scenario (cuts, migrated volume); the
        headline (:func:`calc_milestones_headline`) then reads the trimmed figures.
    amber_tolerance : float, optional
        How far (share, 0-1) below the path is still ``at_risk`` rather than ``off_track``.
    plan_year : int
        First launch year of the "new models" and the year the target paths start from.
    platform_definition : {"cmf", "shared"}
        ``cmf``: a model is on a common platform when its ``platform`` is in ``cmf_platforms``;
        ``shared``: the ``common_platform`` flag.
    cmf_platforms : sequence of str or str, optional
        CMF platform names (a ``;``-separated string is split); default
        ``assumptions["cmf_platforms"]``, else the packaged ``cmf_platforms`` assumption
        (:func:`alliance_fin.inputs.load.load_text_assumptions`). Compared ignoring case and spaces.

    Returns
    -------
    MilestonesResult

    Raises
    ------
    ParameterError
        A year or delay out of range, a missing assumption, a trimming result of other models.
    """
    frame = prepare_lineup(lineup)
    start = check_int("start_year", start_year, YEAR_FIRST, YEAR_LAST)
    stop = check_int("end_year", end_year, start, YEAR_LAST)
    delay = check_int("launch_delay_years", launch_delay_years, 0, MAX_DELAY_YEARS)
    as_of = check_int("as_of_year", as_of_year, YEAR_FIRST, YEAR_LAST)
    plan = check_int("plan_year", plan_year, YEAR_FIRST, YEAR_LAST)
    common = _common_platform(frame, assumptions, platform_definition, cmf_platforms)
    tolerance = assumption_param(assumptions, "amber_tolerance", amber_tolerance, low=0, high=1)
    goals = {metric: (assumption_param(assumptions, share_key, low=0, high=1),
                      int(assumption_param(assumptions, year_key, low=YEAR_FIRST, high=YEAR_LAST)))
             for metric, share_key, year_key in TARGETS}
    if trimming is not None and set(trimming.models.index) != set(frame.index):
        raise ParameterError("the trimming result was computed on a different line-up")

    scenarios = {"data": None} if trimming is None else {"data": None, "trimmed": trimming}
    suffix = {"data": "", "trimmed": "_trimmed"}
    horizon = np.arange(min(start, plan, *(ty for _, ty in goals.values())),
                        max(stop, HORIZON_YEAR) + 1)
    window = np.arange(start, stop + 1)

    by_year, targets, delay_rows, at_target = [], [], [], {}
    for name, trim in scenarios.items():
        for d in sorted({*DELAY_TABLE_YEARS, delay}):
            long = _metrics(frame, horizon, _scenario(frame, d, as_of, trim), plan, common)
            if d in DELAY_TABLE_YEARS:
                row = {"scenario": name, "launch_delay_years": d}
                for metric, key in (("lf_share_new", "lf"), ("lf_share_range", "lf_range"),
                                    ("platform_volume_share", "platform")):
                    target, target_year = goals[metric]
                    row[f"{key}_first_met_year"] = _first_met(long.loc[start:, metric], target)
                    row[f"{metric}_at_target_year"] = float(long.at[target_year, metric])
                    row[f"{key}_target_met"] = bool(long.at[target_year, metric] >= target - EPS)
                delay_rows.append(row)
            if d == delay:
                part = long.loc[window]
                by_year.append(part.add_suffix(suffix[name]))
                plan_values = {m: float(long.at[plan, m]) for m in goals}
                targets.append(_targets(part, name, goals, plan_values, plan, tolerance))
                model_share = float(long.at[MODEL_SHARE_YEAR, "platform_model_share"])
                cell = at_target.setdefault("platform_model_share", {
                    "target": np.nan, "target_year": MODEL_SHARE_YEAR})
                cell["actual" + suffix[name]] = model_share
                cell["met" + suffix[name]] = False
                for metric, (target, target_year) in goals.items():
                    actual = float(long.at[target_year, metric])
                    cell = at_target.setdefault(metric, {"target": target,
                                                         "target_year": target_year})
                    cell["actual" + suffix[name]] = actual
                    cell["met" + suffix[name]] = bool(actual >= target - EPS)

    delay_table = pd.DataFrame(delay_rows)
    for col in ("lf_first_met_year", "lf_range_first_met_year", "platform_first_met_year"):
        delay_table[col] = delay_table[col].astype("Int64")
    gantt, timeline = _timeline(frame, _scenario(frame, delay, as_of, trimming), window)
    params = {"start_year": start, "end_year": stop, "launch_delay_years": delay,
              "as_of_year": as_of, "amber_tolerance": tolerance, "trimmed": trimming is not None,
              "plan_year": plan, "platform_definition": platform_definition}
    for metric, share_key, year_key in TARGETS:
        params[share_key], params[year_key] = goals[metric]
    return MilestonesResult(
        by_year=pd.concat(by_year, axis=1), targets=pd.concat(targets, ignore_index=True),
        delay_table=delay_table, timeline=timeline, gantt=gantt,
        at_target=pd.DataFrame.from_dict(at_target, orient="index").rename_axis("metric"),
        params=MappingProxyType(params))


def _common_platform(frame: pd.DataFrame, assumptions: Mapping[str, object], definition: str,
                     cmf_platforms: Sequence[str] | str | None) -> np.ndarray:
    """Per model: on a common platform under ``definition`` (bool array, line-up order)."""
    if definition not in PLATFORM_DEFINITIONS:
        raise ParameterError(f"platform_definition = {definition!r} is not allowed; "
                             f"allowed: {', '.join(PLATFORM_DEFINITIONS)}")
    if definition == "shared":
        return frame["common_platform"].to_numpy(dtype=bool)
    names = cmf_platforms if cmf_platforms is not None else assumptions.get("cmf_platforms")
    if names is None:  # numeric assumption mappings carry no text rows: the packaged list
        from alliance_fin.inputs.load import load_text_assumptions
        names = load_text_assumptions().get("cmf_platforms")
    if names is None:
        raise ParameterError("platform_definition 'cmf' needs the cmf_platforms assumption "
                             "(a list of platform names)")
    if isinstance(names, str):
        names = names.split(";")
    wanted = {str(n).strip().lower() for n in names} - {""}
    return frame["platform"].str.strip().str.lower().isin(wanted).to_numpy()


def _timeline(frame: pd.DataFrame, arrays: dict,
              window: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gantt rows and launch/end/cut events for one scenario (see :class:`MilestonesResult`)."""
    launch, end = arrays["launch"], arrays["end"]
    cut = arrays["cut"]
    gantt = pd.DataFrame({
        "model_id": frame.index.astype("str"), "member": frame["member"].to_numpy(),
        "model_name": frame["model_name"].to_numpy(), "start": launch, "end": end,
        "launched": launch <= end,
        "cut_year": pd.Series(end + 1, dtype="Int64").where(cut),
    })
    base = gantt[["model_id", "member", "model_name"]]
    events = pd.concat([
        base[gantt["launched"]].assign(year=gantt["start"], event="launch"),
        base[~cut].assign(year=gantt["end"], event="end"),
        base[cut].assign(year=(end + 1)[cut], event="cut"),
    ], ignore_index=True)
    order = {"launch": 0, "end": 1, "cut": 2}
    events = events.sort_values(["year", "event", "model_id"],
                                key=lambda s: s.map(order) if s.name == "event" else s,
                                ignore_index=True)
    events["in_window"] = events["year"].between(window[0], window[-1])
    return gantt, events[["year", "model_id", "member", "model_name", "event", "in_window"]]


def calc_milestones_headline(result: MilestonesResult,
                             assumptions: Mapping[str, float]) -> dict[str, float | bool]:
    """The report's headline numbers (manifest keys of ``milestones``).

    With a trimming applied (``result.params["trimmed"]``) every figure is the trimmed one.

    Parameters
    ----------
    result : MilestonesResult
    assumptions : Mapping[str, float]
        Target shares may be restated here; target years must match the result's.

    Returns
    -------
    dict
        lf_share_new_models_2025, lf_share_range_2025, common_platform_volume_share_2024,
        common_platform_model_share_2026 (float, decimal shares at the target years, whatever
        those are), lf_target_met, lf_range_target_met, platform_target_met (bool).
    """
    out: dict[str, float | bool] = {}
    suffix = "_trimmed" if result.params.get("trimmed") else ""
    keys = {"lf_share_new": ("lf_share_new_models_2025", "lf_target_met"),
            "lf_share_range": ("lf_share_range_2025", "lf_range_target_met"),
            "platform_volume_share": ("common_platform_volume_share_2024", "platform_target_met")}
    for metric, share_key, year_key in TARGETS:
        row = result.at_target.loc[metric]
        if year_key in assumptions and int(assumptions[year_key]) != int(row["target_year"]):
            raise ParameterError(f"{year_key} = {assumptions[year_key]} differs from the year the "
                                 f"milestones were computed for ({int(row['target_year'])})")
        target = assumption_param(assumptions, share_key, low=0, high=1) if share_key in assumptions \
            else float(row["target"])
        value_key, met_key = keys[metric]
        actual = float(row["actual" + suffix])
        out[value_key] = actual
        out[met_key] = bool(actual >= target - EPS)
    out["common_platform_model_share_2026"] = float(result.at_target.loc["platform_model_share",
                                                                         "actual" + suffix])
    order = ("lf_share_new_models_2025", "lf_share_range_2025", "common_platform_volume_share_2024",
             "common_platform_model_share_2026", "lf_target_met", "lf_range_target_met",
             "platform_target_met")
    return {k: out[k] for k in order}
