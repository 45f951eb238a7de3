"""A report's inputs, resolved once: the line-up, the base and effective assumptions, the parameters.

:func:`resolve_inputs` is the one place where report parameters meet the assumptions: a
parameter that shares an assumption's key replaces its value (provenance ``parameter``), and a
parameter left ``None`` takes the assumption's value. Engines, tables, the workbook's
Assumptions sheet and its cover all read the :class:`ReportInputs` it returns; nothing applies
parameters again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from alliance_fin.inputs.load import assumption_values, describe_data, load_assumptions, load_lineup, load_plan

__all__ = ["ReportInputs", "resolve_inputs"]

_INT_KEYS_SUFFIX = ("_year", "_years", "min_volume")


@dataclass(frozen=True, eq=False)
class ReportInputs:
    """Everything a report computes from, fixed before any calculation.

    Attributes
    ----------
    lineup : DataFrame
        The validated line-up, one row per model (see :func:`alliance_fin.inputs.load.load_lineup`).
    base_assumptions : DataFrame
        Assumptions before the parameters: the packaged defaults with the input file's
        ``assumptions`` sheet applied. Index ``key``; columns ``value`` (float), ``unit``,
        ``provenance``, ``source``, ``description``.
    assumptions : DataFrame
        The same with every parameter of an assumption's key applied (provenance ``parameter``
        where it changed the value): the assumptions in force.
    values : mapping of str to float
        ``assumptions["value"]`` as a read-only mapping, what the engines take.
    parameters : mapping of str to Any
        The report's parameters, read-only; ``None`` values replaced by the assumption of the
        same key.
    data : mapping
        ``path``, ``sha256``, ``rows`` of the input (``path`` ``in memory`` for a frame given
        directly).
    plan : DataFrame or None
        The line-up as planned (sheet ``plan``, :func:`alliance_fin.inputs.load.load_plan`), when
        asked for with ``with_plan=True`` or given; ``None`` otherwise or when the file has none.
    """

    lineup: pd.DataFrame
    base_assumptions: pd.DataFrame
    assumptions: pd.DataFrame
    values: Mapping[str, float]
    parameters: Mapping[str, Any]
    data: Mapping[str, Any]
    plan: pd.DataFrame | None = None

    def base_value(self, key: str) -> float | None:
        """The assumption's value before parameters (``None`` when ``key`` is no assumption)."""
        return float(self.base_assumptions.loc[key, "value"]) if key in self.base_assumptions.index else None


def _typed(key: str, number: float) -> float | int:
    return int(number) if key.endswith(_INT_KEYS_SUFFIX) and float(number).is_integer() else float(number)


def _apply(frame: pd.DataFrame, parameters: Mapping[str, Any]) -> pd.DataFrame:
    out = frame.copy()
    for key, value in parameters.items():
        if key in out.index and isinstance(value, int | float) and not isinstance(value, bool):
            if float(value) != float(out.loc[key, "value"]):
                out.loc[key, "value"] = float(value)
                out.loc[key, "provenance"] = "parameter"
                out.loc[key, "source"] = "report parameter"
    return out


def resolve_inputs(data_path: str | Path | None = None, parameters: Mapping[str, Any] | None = None, *,
                   lineup: pd.DataFrame | None = None, assumptions: pd.DataFrame | None = None,
                   plan: pd.DataFrame | None = None, with_plan: bool = False) -> ReportInputs:
    """Load and check the data once, and apply the parameters to the assumptions once.

    Parameters
    ----------
    data_path : path-like, optional
        ``.xlsx``/``.csv`` input; the packaged data when empty.
    parameters : mapping, optional
        Report parameters by name; ``None`` means "the assumption of the same key".
    lineup, assumptions : DataFrame, optional
        In-memory inputs (e.g. from :mod:`alliance_fin.inputs.scenario`); they win over
        ``data_path``. ``assumptions`` is taken as the base (before parameters).
    plan : DataFrame, optional
        In-memory plan line-up; wins over the file's ``plan`` sheet.
    with_plan : bool
        Also load and validate the ``plan`` sheet of ``data_path`` (the packaged plan when
        empty); ``ReportInputs.plan`` is ``None`` when the file has no such sheet.

    Returns
    -------
    ReportInputs
    """
    path = Path(data_path) if data_path else None
    base = assumptions if assumptions is not None else load_assumptions(path)
    if lineup is None:
        lineup = load_lineup(path, assumptions=base)
        data = dict(describe_data(path, lineup))
    else:
        data = {"path": "in memory", "sha256": "", "rows": int(len(lineup))}
    params = dict(parameters or {})
    for key, value in params.items():
        if value is None and key in base.index:
            params[key] = _typed(key, float(base.loc[key, "value"]))
    effective = _apply(base, params)
    if plan is None and with_plan:
        plan = load_plan(path, assumptions=base)
    return ReportInputs(lineup=lineup, base_assumptions=base, assumptions=effective,
                        values=MappingProxyType(assumption_values(effective)),
                        parameters=MappingProxyType(params), data=MappingProxyType(data), plan=plan)
