"""alliance_fin: reports on the Renault-Nissan-Mitsubishi Alliance leader-follower plan.

The public API, for notebooks and scripts::

    import alliance_fin as af
    report = af.build_savings_report(currency="JPY", max_saving_rate=0.3)
    af.show(report, "by_member")
    af.write_report_outputs(report)

Everything is imported lazily, so ``import alliance_fin`` is cheap and has no side effects.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_lineup": "alliance_fin.inputs.load",
    "load_assumptions": "alliance_fin.inputs.load",
    "assumption_values": "alliance_fin.inputs.load",
    "validate_lineup": "alliance_fin.inputs.load",
    "calc_model_savings": "alliance_fin.engines.savings",
    "calc_savings_by_year": "alliance_fin.engines.savings",
    "calc_headline": "alliance_fin.engines.savings",
    "calc_sensitivity_grid": "alliance_fin.engines.sensitivity",
    "calc_tornado": "alliance_fin.engines.sensitivity",
    "calc_trimming": "alliance_fin.engines.trimming",
    "calc_milestones": "alliance_fin.engines.milestones",
    "plot_savings_by_member": "alliance_fin.present.plots",
    "plot_savings_by_year": "alliance_fin.present.plots",
    "plot_waterfall": "alliance_fin.present.plots",
    "plot_sensitivity_heatmap": "alliance_fin.present.plots",
    "plot_tornado": "alliance_fin.present.plots",
    "plot_counts_before_after": "alliance_fin.present.plots",
    "plot_share_paths": "alliance_fin.present.plots",
    "plot_timeline": "alliance_fin.present.plots",
    "build_savings_report": "alliance_fin.present.savings",
    "compare_reports": "alliance_fin.present.compare",
    "build_trimming_report": "alliance_fin.present.trimming",
    "build_milestones_report": "alliance_fin.present.milestones",
    "build_plan_vs_actual_report": "alliance_fin.present.plan_vs_actual",
    "calc_plan_vs_actual": "alliance_fin.engines.plan_vs_actual",
    "resolve_inputs": "alliance_fin.inputs.resolve",
    "ReportInputs": "alliance_fin.inputs.resolve",
    "REPORT_SPECS": "alliance_fin.registry",
    "ScenarioEdit": "alliance_fin.inputs.scenario",
    "make_follower": "alliance_fin.inputs.scenario",
    "make_leader": "alliance_fin.inputs.scenario",
    "leave_family": "alliance_fin.inputs.scenario",
    "move_launch": "alliance_fin.inputs.scenario",
    "drop_model": "alliance_fin.inputs.scenario",
    "add_model": "alliance_fin.inputs.scenario",
    "set_assumption": "alliance_fin.inputs.scenario",
    "show": "alliance_fin.present.display",
    "format_table": "alliance_fin.present.display",
    "write_report_outputs": "alliance_fin.run.outputs",
    "AllianceFinError": "alliance_fin.errors",
    "InputError": "alliance_fin.errors",
    "ParameterError": "alliance_fin.errors",
    "ReportError": "alliance_fin.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'alliance_fin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
