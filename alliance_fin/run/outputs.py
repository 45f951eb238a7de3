"""Write what a report notebook leaves for the runner: ``<report>.xlsx`` and ``<report>.headline.json``.

The notebook's last cell calls :func:`write_report_outputs`; the runner then adds the HTML,
the executed notebook and the manifest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from alliance_fin import __version__, paths
from alliance_fin.present.report import Report


def parameters_differ_text(report: Report) -> str:
    """``"currency=GBP, max_saving_rate=0.3"``: the report's parameters that differ from their defaults
    (the data file's assumption of the same key, else the registry's default), ``scenario`` aside;
    empty for a default run. The workbook cover shows it (``run_info["parameters_differ"]``)."""
    differ = []
    for spec in report.spec.params:
        if spec.name == "scenario" or spec.name not in report.parameters:
            continue
        value, base = report.parameters[spec.name], report.inputs.base_value(spec.name)
        default = spec.default if base is None else base
        numeric = isinstance(value, int | float) and not isinstance(value, bool) and isinstance(default, int | float)
        if (float(value) != float(default)) if numeric else (value != default):
            differ.append(f"{spec.name}={value}")
    return ", ".join(sorted(differ))


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
                "version": __version__, "parameters_differ": parameters_differ_text(report)}
    xlsx = out / f"{report.name}.xlsx"
    warnings = report.spec.writer_function()(xlsx, report, run_info=run_info)
    for warning in warnings or []:
        print(f"warning: {warning}")
    headline = out / f"{report.name}.headline.json"
    headline.write_text(json.dumps(report.headline, indent=2, sort_keys=True), encoding="utf-8")
    return {"xlsx": xlsx, "headline": headline}
