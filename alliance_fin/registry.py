"""The report registry: every report declared once.

Each :class:`ReportSpec` names a report's title, notebook, parameters, headline keys, the
assumptions it uses, and where its builder and workbook writer live (``"module:function"``,
imported only when called, so this module is cheap to import: no pandas, no openpyxl). The CLI,
``alliance-fin list``, the runner, the index page, provenance, the workbook covers and the
notebooks' last cell all read :data:`REPORT_SPECS`; no other list of report names exists.

Adding a report touches its entry here, one builder in :mod:`alliance_fin.present`, one writer
in :mod:`alliance_fin.excel` and one notebook.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alliance_fin.inputs import bounds

__all__ = ["ASSUMPTION_LABELS", "COMMON_PARAMS", "HEADLINE_LABELS", "REPORTS", "REPORT_SPECS", "ParamSpec",
           "ReportSpec", "get_report", "label"]


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) >= 10_000 else f"{x:g}"


@dataclass(frozen=True)
class ParamSpec:
    """One report parameter.

    Attributes
    ----------
    name : str
        Python identifier used in the notebook's ``parameters`` cell.
    type : str
        ``"int"``, ``"float"``, ``"str"`` or ``"bool"``.
    default : Any
        Value used when neither the user nor the data file's assumptions set it.
    help : str
        One-line description with units.
    min, max : float or None
        Inclusive numeric bounds (int/float only).
    choices : tuple of str
        Allowed values of a str parameter (empty = any value matching ``pattern``).
    pattern : str or None
        Regular expression a str value must match in full.
    id_list : bool
        The value is a comma-separated list of model ids; a YAML list is accepted too and
        the value is normalised to ``"A,B"``.
    upper : bool
        A str value is accepted in any letter case and normalised to upper case (``currency``).
    """

    name: str
    type: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    id_list: bool = False
    upper: bool = False

    def allowed(self) -> str:
        """Human-readable description of the allowed values, e.g. ``"number from 0 to 1"``."""
        if self.choices:
            return "one of " + ", ".join(self.choices) + (" (any letter case)" if self.upper else "")
        if self.id_list:
            return "comma-separated model ids (letters, digits, _ . -), or empty"
        if self.type == "bool":
            return "true or false (also yes/no, 1/0)"
        if self.type == "str":
            return f"text matching {self.pattern}" if self.pattern else "any text"
        kind = "integer" if self.type == "int" else "number"
        if self.min is not None and self.max is not None:
            return f"{kind} from {_fmt(self.min)} to {_fmt(self.max)}"
        if self.min is not None:
            return f"{kind} >= {_fmt(self.min)}"
        if self.max is not None:
            return f"{kind} <= {_fmt(self.max)}"
        return kind


def _number(name: str, type_: str, default: float, help_: str) -> ParamSpec:
    """A numeric parameter whose range is the one :mod:`alliance_fin.inputs.bounds` gives its key."""
    low, high, _ = bounds.bounds(name)
    return ParamSpec(name, type_, default, help_, min=low, max=high)


def _year(name: str, default: int, help_: str) -> ParamSpec:
    return _number(name, "int", default, help_)


def _share(name: str, default: float, help_: str) -> ParamSpec:
    return _number(name, "float", default, help_)


@dataclass(frozen=True)
class ReportSpec:
    """One report: what it is called, what it takes, what it must write and which code makes it.

    Attributes
    ----------
    name, title : str
        Report name (CLI, file names) and its display title.
    notebook : str
        File name in the notebooks folder.
    params : tuple of ParamSpec
        Declared parameters, in the notebook's order.
    headline_keys : tuple of str
        The manifest's headline keys (numbers or booleans) the notebook must write.
    builder, writer : str
        ``"module:function"`` of the ``build_<report>_report`` function and of the workbook writer.
    needs_plan : bool
        The report reads the data's ``plan`` sheet too (refused before any kernel without one).
    assumption_keys : tuple of str
        Assumptions the report uses (a key ending in ``_`` is a prefix, e.g. ``fx_eur_``); its
        provenance table and workbook list these.
    """

    name: str
    title: str
    notebook: str
    params: tuple[ParamSpec, ...]
    headline_keys: tuple[str, ...] = ()
    builder: str = ""
    writer: str = ""
    assumption_keys: tuple[str, ...] = ()
    needs_plan: bool = False
    param_names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "param_names", frozenset(p.name for p in self.params))

    def param(self, name: str) -> ParamSpec:
        """The spec of parameter ``name`` (KeyError if the report does not declare it)."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def workbook_title(self) -> str:
        """Title on the workbook's cover and page footers: ``Alliance <title>``."""
        return f"Alliance {self.title[:1].lower()}{self.title[1:]}"

    def uses_assumption(self, key: str) -> bool:
        """True when ``key`` is one of :attr:`assumption_keys` (or starts with a prefix entry)."""
        return any(key.startswith(p) if p.endswith("_") else key == p for p in self.assumption_keys)

    def build_function(self) -> Callable[..., Any]:
        """The builder, imported on first use."""
        return _resolve(self.builder)

    def writer_function(self) -> Callable[..., Any]:
        """The workbook writer, imported on first use."""
        return _resolve(self.writer)


def _resolve(target: str) -> Callable[..., Any]:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


COMMON_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("scenario", "str", "base", "scenario label, used in folder names and on covers",
              pattern=r"[A-Za-z0-9_.-]{1,40}"),
    ParamSpec("currency", "str", "EUR", "report currency (EUR values converted with the fx_eur_* assumptions)",
              choices=("EUR", "GBP", "JPY", "USD"), upper=True),
    _year("start_year", 2020, "first year of the report window"),
    _year("end_year", 2025, "last year of the report window (>= start_year)"),
)

_SAVINGS_KEYS = ("max_saving_rate", "follower_diff_share", "platform_saving_rate", "production_saving_rate",
                 "platform_production_saving_rate", "other_saving_rate", "dev_lead_years", "discount_rate",
                 "cost_to_achieve_rate", "dev_cost_eur_m_", "unit_cost_eur_", "fx_eur_")
#: What the trimming uses: its rules, and the savings method for the successor development a cut
#: avoids (scheme basis) and the unit cost behind the contribution it loses.
_TRIMMING_KEYS = ("min_volume", "migration_rate", "contribution_margin_rate", "max_saving_rate",
                  "follower_diff_share", "platform_saving_rate", "dev_lead_years", "dev_cost_eur_m_",
                  "unit_cost_eur_", "fx_eur_")

#: Parameters of the plan baseline shared by the reports that count from the plan year.
_PLAN_YEAR = _year("plan_year", 2020, "year of the leader-follower plan (27 May 2020): the plan baseline "
                   "counts models whose scheme was decided from this year; new models are launched from it")
_CAP = _share("max_saving_rate", 0.40, "cap on a model's development saving (fraction of its investment)")
_DIFF = _share("follower_diff_share", 0.20,
               "share of standalone investment a follower still spends on differentiation")
_MIN_VOLUME = _number("min_volume", "int", 20000, "annual volume (units/year) below which a non-leader is cut")
_MIGRATION = _share("migration_rate", 0.5, "share of a cut model's volume that moves to a retained sibling")

REPORT_SPECS: dict[str, ReportSpec] = {
    "savings": ReportSpec(
        "savings", "Leader-follower savings", "savings.ipynb",
        COMMON_PARAMS + (
            ParamSpec("baseline", "str", "plan", "plan: count a model only when its scheme was decided from "
                      "plan_year on; standalone: every model against standalone development",
                      choices=("plan", "standalone")),
            _PLAN_YEAR,
            _CAP,
            _DIFF,
            _share("discount_rate", 0.08, "annual discount rate for the NPV (fraction)"),
            ParamSpec("npv_timing", "str", "mid", "where in its year a flow is discounted: mid (default), end "
                      "or start; valued at 1 January of start_year", choices=("mid", "end", "start")),
            _share("cost_to_achieve_rate", 0.10,
                   "one-off cost of achieving a development saving, as a share of it (net savings)"),
        ),
        ("total_savings_eur_m", "savings_pct", "npv_savings_eur_m", "total_savings_report_ccy_m",
         "pre_plan_savings_eur_m", "net_savings_eur_m"),
        builder="alliance_fin.present.savings:build_savings_report",
        writer="alliance_fin.excel.savings:write_savings_workbook",
        assumption_keys=_SAVINGS_KEYS,
    ),
    "range_trimming": ReportSpec(
        "range_trimming", "Model-range trimming", "range_trimming.ipynb",
        COMMON_PARAMS + (
            _year("reference_year", 2025, "the one year the before/after counts and shares are taken in "
                  "(within start_year..end_year)"),
            _MIN_VOLUME,
            _MIGRATION,
            ParamSpec("rule_planned", "bool", True, "apply the planned cuts from the data (trim = yes)"),
            ParamSpec("rule_low_volume", "bool", True, "cut non-leaders below min_volume"),
            ParamSpec("rule_overlap", "bool", True, "cut off-platform models overlapping a partner's family model"),
            ParamSpec("keep", "str", "", "model ids always kept (comma-separated; overrides the rules)", id_list=True),
            ParamSpec("cut", "str", "", "model ids always cut (comma-separated; overrides the rules)", id_list=True),
            _CAP,
            _DIFF,
            _share("contribution_margin_rate", 0.15,
                   "contribution lost per vehicle not sold, as a share of its unit cost"),
        ),
        ("models_before", "models_after", "common_platform_volume_share_before", "common_platform_volume_share_after",
         "net_trimming_benefit_eur_m"),
        builder="alliance_fin.present.trimming:build_trimming_report",
        writer="alliance_fin.excel.trimming:write_trimming_workbook",
        assumption_keys=_TRIMMING_KEYS,
    ),
    "milestones": ReportSpec(
        "milestones", "2025 milestones", "milestones.ipynb",
        COMMON_PARAMS + (
            _PLAN_YEAR,
            ParamSpec("platform_definition", "str", "cmf", "common platform: cmf (the platforms named in the "
                      "cmf_platforms assumption) or shared (the common_platform flag)", choices=("cmf", "shared")),
            _number("launch_delay_years", "int", 0, "years by which launches after as_of_year slip"),
            _year("as_of_year", 2026, "last year the line-up records as it happened; later launches are "
                  "plans and may slip"),
            _share("amber_tolerance", 0.05, "shortfall below the path still rated 'at risk' (share points)"),
            _share("target_lf_share", 0.50, "target share of models under leader-follower"),
            _year("target_lf_year", 2025, "year of the leader-follower target"),
            _share("target_platform_share", 0.80, "target share of volume on common platforms"),
            _year("target_platform_year", 2024, "year of the common-platform target"),
            ParamSpec("apply_trimming", "bool", True, "apply the default range trimming to every path and headline"),
            _MIN_VOLUME,
            _MIGRATION,
        ),
        ("lf_share_new_models_2025", "lf_share_range_2025", "common_platform_volume_share_2024",
         "common_platform_model_share_2026", "lf_target_met", "lf_range_target_met", "platform_target_met"),
        builder="alliance_fin.present.milestones:build_milestones_report",
        writer="alliance_fin.excel.milestones:write_milestones_workbook",
        assumption_keys=("target_", "amber_tolerance", "min_volume", "migration_rate"),
    ),
    "plan_vs_actual": ReportSpec(
        "plan_vs_actual", "Plan against outcome", "plan_vs_actual.ipynb",
        COMMON_PARAMS + (
            _year("as_of_year", 2026, "last year the outcome line-up records as it happened; later launches are plans"),
            ParamSpec("baseline", "str", "plan", "savings baseline on both line-ups: plan (programmes decided from "
                      "plan_year on) or standalone", choices=("plan", "standalone")),
            _year("plan_year", 2020, "year of the plan: baseline cut-off, first year of 'new models', start of the paths"),
            ParamSpec("platform_definition", "str", "cmf", "common platform: cmf (the CMF platforms) or shared "
                      "(any platform two members share)", choices=("cmf", "shared")),
            _share("max_saving_rate", 0.40, "cap on a model's development saving (fraction of its investment), both line-ups"),
            _share("follower_diff_share", 0.20, "share of standalone investment a follower still spends on differentiation"),
            _share("target_lf_share", 0.50, "target share of models under leader-follower"),
            _year("target_lf_year", 2025, "year of the leader-follower target"),
            _share("target_platform_share", 0.80, "target share of volume on common platforms"),
            _year("target_platform_year", 2024, "year of the common-platform target"),
        ),
        ("models_delayed", "models_cancelled", "models_added", "savings_plan_eur_m", "savings_actual_eur_m",
         "savings_realisation_rate", "lf_share_range_2025_plan", "lf_share_range_2025_actual",
         "common_platform_volume_share_2024_plan", "common_platform_volume_share_2024_actual"),
        builder="alliance_fin.present.plan_vs_actual:build_plan_vs_actual_report",
        writer="alliance_fin.excel.plan_vs_actual:write_plan_vs_actual_workbook",
        assumption_keys=(*_SAVINGS_KEYS, "target_"),
        needs_plan=True,
    ),
}

#: Report names in their canonical order.
REPORTS: tuple[str, ...] = tuple(REPORT_SPECS)


def get_report(name: str) -> ReportSpec:
    """The registry entry of report ``name`` (KeyError naming the known reports otherwise)."""
    try:
        return REPORT_SPECS[name]
    except KeyError:
        raise KeyError(f"unknown report {name!r}; known: {', '.join(REPORTS)}") from None


#: Readable labels of the headline keys (index page, compare, workbook charts): what each figure
#: counts and its unit, in words. Keys stay the manifest's; readers see these.
HEADLINE_LABELS: dict[str, str] = {
    "total_savings_eur_m": "Total savings in the window (EUR m)",
    "savings_pct": "Development investment reduction (%)",
    "npv_savings_eur_m": "NPV of savings (EUR m)",
    "total_savings_report_ccy_m": "Total savings in the window (report currency, m)",
    "pre_plan_savings_eur_m": "Pre-plan savings left out by the plan baseline (EUR m)",
    "net_savings_eur_m": "Net savings after the cost to achieve (EUR m)",
    "models_before": "Models on sale in the reference year, before trimming",
    "models_after": "Models on sale in the reference year, after trimming",
    "common_platform_volume_share_before": "Volume on common platforms, before trimming (%)",
    "common_platform_volume_share_after": "Volume on common platforms, after trimming (%)",
    "net_trimming_benefit_eur_m": "Net trimming benefit in the window (EUR m)",
    "lf_share_new_models_2025": "New models under leader-follower by the target year (%)",
    "lf_share_range_2025": "Models on sale under leader-follower in the target year (%)",
    "common_platform_volume_share_2024": "Volume on common platforms in the target year (%)",
    "common_platform_model_share_2026": "Models on common platforms in 2026 (%)",
    "lf_target_met": "Leader-follower target met (new models)",
    "lf_range_target_met": "Leader-follower target met (models on sale)",
    "platform_target_met": "Common-platform target met",
    "models_delayed": "Planned models launched late",
    "models_cancelled": "Planned models cancelled",
    "models_added": "Models added after the plan",
    "savings_plan_eur_m": "Savings of the planned line-up (EUR m)",
    "savings_actual_eur_m": "Savings of the line-up as it turned out (EUR m)",
    "savings_realisation_rate": "Savings realisation rate (%)",
    "lf_share_range_2025_plan": "Models on sale under leader-follower in the target year, plan (%)",
    "lf_share_range_2025_actual": "Models on sale under leader-follower in the target year, outcome (%)",
    "common_platform_volume_share_2024_plan": "Volume on common platforms in the target year, plan (%)",
    "common_platform_volume_share_2024_actual": "Volume on common platforms in the target year, outcome (%)",
}

#: Short readable labels of the assumption keys; a key ending in ``_`` is a prefix whose rest
#: (a segment or a currency code) is appended. The long description stays in the assumptions table.
ASSUMPTION_LABELS: dict[str, str] = {
    "max_saving_rate": "Ceiling on a model's development saving",
    "follower_diff_share": "Follower differentiation share",
    "platform_saving_rate": "Development saving on a common platform",
    "production_saving_rate": "Production saving rate (family)",
    "platform_production_saving_rate": "Production saving rate (common platform)",
    "other_saving_rate": "Other cost saving rate",
    "dev_lead_years": "Development lead time (years)",
    "discount_rate": "Discount rate",
    "cost_to_achieve_rate": "Cost to achieve (share of the development saving)",
    "contribution_margin_rate": "Contribution margin (share of unit cost)",
    "min_volume": "Low-volume threshold (units per year)",
    "migration_rate": "Share of a cut model's volume that migrates",
    "amber_tolerance": "Amber tolerance below the path",
    "target_lf_share": "Target share under leader-follower",
    "target_lf_year": "Leader-follower target year",
    "target_platform_share": "Target volume share on common platforms",
    "target_platform_year": "Common-platform target year",
    "cmf_platforms": "CMF platforms",
    "dev_cost_eur_m_": "Development cost per model (EUR m), segment ",
    "unit_cost_eur_": "Unit cost per vehicle (EUR), segment ",
    "fx_eur_": "Exchange rate, units per EUR: ",
}


def label(key: str) -> str:
    """A readable label for a headline, assumption or parameter key (never the raw key).

    Headline keys and assumption keys have their own labels; a parameter falls back to its help
    text's first clause; anything else loses its underscores.
    """
    if key in HEADLINE_LABELS:
        return HEADLINE_LABELS[key]
    if key in ASSUMPTION_LABELS:
        return ASSUMPTION_LABELS[key]
    for prefix, text in ASSUMPTION_LABELS.items():
        if prefix.endswith("_") and key.startswith(prefix):
            rest = key[len(prefix):]
            return text + (rest.upper() if prefix == "fx_eur_" else rest)
    return key.replace("_", " ")
