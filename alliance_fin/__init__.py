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
    "load_lineup": "alliance_fin.load",
    "load_assumptions": "alliance_fin.load",
    "assumption_values": "alliance_fin.load",
    "validate_lineup": "alliance_fin.load",
    "calc_model_savings": "alliance_fin.savings",
    "calc_savings_by_year": "alliance_fin.savings",
    "calc_headline": "alliance_fin.savings",
    "calc_sensitivity_grid": "alliance_fin.savings_sensitivity",
    "calc_tornado": "alliance_fin.savings_sensitivity",
    "calc_trimming": "alliance_fin.trimming",
    "calc_milestones": "alliance_fin.milestones",
    "plot_savings_by_member": "alliance_fin.plots",
    "plot_savings_by_year": "alliance_fin.plots",
    "plot_waterfall": "alliance_fin.plots",
    "plot_sensitivity_heatmap": "alliance_fin.plots",
    "plot_tornado": "alliance_fin.plots",
    "plot_counts_before_after": "alliance_fin.plots",
    "plot_share_paths": "alliance_fin.plots",
    "plot_timeline": "alliance_fin.plots",
    "build_savings_report": "alliance_fin.tables",
    "compare_reports": "alliance_fin.tables",
    "build_trimming_report": "alliance_fin.tables_ops",
    "build_milestones_report": "alliance_fin.tables_ops",
    "ScenarioEdit": "alliance_fin.scenario",
    "make_follower": "alliance_fin.scenario",
    "make_leader": "alliance_fin.scenario",
    "leave_family": "alliance_fin.scenario",
    "move_launch": "alliance_fin.scenario",
    "drop_model": "alliance_fin.scenario",
    "add_model": "alliance_fin.scenario",
    "set_assumption": "alliance_fin.scenario",
    "show": "alliance_fin.present",
    "format_table": "alliance_fin.present",
    "write_report_outputs": "alliance_fin.outputs",
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
