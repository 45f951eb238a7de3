"""Write what a report notebook leaves for the runner: ``<report>.xlsx`` and ``<report>.headline.json``.

The notebook's last cell calls :func:`write_report_outputs`; the runner then adds the HTML,
the executed notebook and the manifest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from alliance_fin import __version__, paths
from alliance_fin.present.report import Report


def _writer(name: str):
    if name == "savings":
        from alliance_fin.excel.savings import write_savings_workbook as write
    elif name == "range_trimming":
        from alliance_fin.excel.trimming import write_trimming_workbook as write
    else:
        from alliance_fin.excel.milestones import write_milestones_workbook as write
    return write


def _library(report: Report) -> dict[str, Any]:
    if report.name == "savings":
        from alliance_fin.excel.savings import build_savings_library

        return build_savings_library(report.results["model_savings"], report.results["by_year"], report.headline)
    if report.name == "range_trimming":
        return report.results["trimming"]
    return report.results["milestones"]


def write_report_outputs(report: Report, *, output_dir: str | os.PathLike = "", run_id: str = "adhoc",
                         created: str = "") -> dict[str, Path]:
    """Write the report's workbook and headline figures into ``output_dir``.

    Parameters
    ----------
    report : Report
        From ``build_<report>_report``.
    output_dir : path-like
        Folder to write into; empty means ``reports/adhoc/`` (created when missing).
    run_id, created : str
        Shown on the workbook's cover; ``created`` is an ISO time (empty: now, or
        ``SOURCE_DATE_EPOCH`` when set).

    Returns
    -------
    dict
        ``{"xlsx": path, "headline": path}``.
    """
    out = Path(output_dir) if str(output_dir) else paths.REPORTS_DIR / "adhoc"
    out.mkdir(parents=True, exist_ok=True)
    run_info = {"run_id": run_id, "scenario": report.parameters.get("scenario", "base"), "created": created or None,
                "data_file": Path(report.data["path"]).name, "data_sha256": report.data["sha256"],
                "version": __version__}
    xlsx = out / f"{report.name}.xlsx"
    # the writer applies the parameters itself, beside the defaults they replace
    base = report.assumptions.attrs.get("base", report.assumptions)
    warnings = _writer(report.name)(xlsx, lineup=report.lineup, assumptions=base,
                                    parameters=report.parameters, run_info=run_info, library=_library(report))
    for warning in warnings or []:
        print(f"warning: {warning}")
    headline = out / f"{report.name}.headline.json"
    headline.write_text(json.dumps(report.headline, indent=2, sort_keys=True), encoding="utf-8")
    return {"xlsx": xlsx, "headline": headline}
