"""Write the input workbook users fill in: ``alliance-fin template OUT.xlsx [--example]``.

Sheets: ``models`` (headers, drop-downs for member, role, common_platform and trim; with
``example=True`` the packaged line-up), with ``example=True`` ``plan`` (the packaged line-up as
planned on 27 May 2020, same columns and drop-downs), ``assumptions`` (key/value overrides; with
``example=True`` the packaged defaults) and ``notes`` (every column, its rule and allowed values).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from alliance_fin.files import write_atomic
from alliance_fin.inputs.load import PLAN_SHEET, load_assumptions, load_lineup, load_plan
from alliance_fin.inputs.schema import (
    COLUMN_HELP,
    MEMBERS,
    OPTIONAL_COLUMNS,
    PROVENANCE_SUFFIX,
    REQUIRED_COLUMNS,
    ROLES,
    TRIM_VALUES,
)

HEADER_FILL = PatternFill("solid", fgColor="1F3864")
HEADER_FONT = Font(bold=True, color="FFFFFF")
MAX_ROWS = 2000  # drop-downs cover this many data rows


def set_text(cell, value: str) -> None:
    """Write ``value`` as literal text: never a formula, whatever it starts with."""
    cell.value = value
    cell.data_type = "s"


def _write_frame(ws, frame: pd.DataFrame) -> None:
    for j, name in enumerate(frame.columns, start=1):
        cell = ws.cell(row=1, column=j)
        set_text(cell, str(name))
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        ws.column_dimensions[cell.column_letter].width = max(12, min(40, len(str(name)) + 4))
    for i, rec in enumerate(frame.itertuples(index=False), start=2):
        for j, value in enumerate(rec, start=1):
            cell = ws.cell(row=i, column=j)
            if isinstance(value, str):
                set_text(cell, value)
            elif value is None or (isinstance(value, float) and pd.isna(value)):
                continue
            else:
                cell.value = value.item() if hasattr(value, "item") else value
    ws.freeze_panes = "A2"


def _models_frame(example: bool) -> pd.DataFrame:
    if not example:
        return pd.DataFrame(columns=[*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS])
    return _as_sheet(load_lineup())


def _as_sheet(lineup: pd.DataFrame) -> pd.DataFrame:
    out = lineup.copy()
    out["common_platform"] = out["common_platform"].map({True: "yes", False: "no"})
    return out


def _add_dropdowns(ws, columns: list[str]) -> None:
    lists = {
        "member": MEMBERS, "role": ROLES, "common_platform": ("yes", "no"), "trim": TRIM_VALUES,
    }
    for name, allowed in lists.items():
        if name not in columns:
            continue
        letter = ws.cell(row=1, column=columns.index(name) + 1).column_letter
        dv = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True,
                            showErrorMessage=True, errorTitle=f"Invalid {name}",
                            error=f"{name} must be one of: {', '.join(allowed)}")
        dv.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        ws.add_data_validation(dv)


def build_template(example: bool = False) -> Workbook:
    """The input workbook (see module docstring)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "models"
    models = _models_frame(example)
    _write_frame(ws, models)
    _add_dropdowns(ws, list(models.columns))
    if example:
        plan = _as_sheet(load_plan())
        ws_plan = wb.create_sheet(PLAN_SHEET)
        _write_frame(ws_plan, plan)
        _add_dropdowns(ws_plan, list(plan.columns))

    assumptions = load_assumptions().reset_index()
    if not example:
        assumptions = assumptions.iloc[0:0]
    _write_frame(wb.create_sheet("assumptions"),
                 assumptions[["key", "value", "unit", "provenance", "source", "description"]])

    notes = [("column", "required", "rule / allowed values")]
    notes += [(c, "yes", COLUMN_HELP[c]) for c in REQUIRED_COLUMNS]
    notes += [(c, "no", COLUMN_HELP[c]) for c in OPTIONAL_COLUMNS]
    notes += [(f"<column>{PROVENANCE_SUFFIX}", "no",
               "Provenance of a column's value: S:n (sourced, key n in the sources list), A (assumed), D (derived)")]
    notes += [("", "", ""), ("plan sheet", "no",
               "Optional. The line-up as planned on 27 May 2020, with the columns of 'models' and the same "
               "rules; the report plan_vs_actual compares it with 'models'. The example workbook has one.")]
    notes += [("assumptions sheet", "no",
               "Optional. key/value rows override the default assumptions of the same key; "
               "rates and shares are decimals from 0 to 1. Run 'alliance-fin template --example' to see every key.")]
    _write_frame(wb.create_sheet("notes"), pd.DataFrame(notes[1:], columns=notes[0]))
    wb["notes"].column_dimensions["C"].width = 100
    return wb


def write_template(path: str | Path, example: bool = False) -> Path:
    """Write the input workbook atomically (temporary file, then rename) and return its path."""
    path = Path(path)
    buffer = io.BytesIO()
    build_template(example).save(buffer)
    return write_atomic(path, buffer.getvalue())
