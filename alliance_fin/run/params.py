"""Report parameters: the checks that resolve user values against the registry's specs.

Every report declares its parameters in :mod:`alliance_fin.registry` (name, type, default,
allowed values, help). The same spec drives ``alliance-fin list``, the validation of ``--params FILE.yaml`` and ``-p NAME=VALUE``
and the values the runner injects into the notebooks. Nothing here starts a kernel or writes a
file; every problem a user can cause is collected and raised at once as a ``ParameterError``.
"""

from __future__ import annotations

import difflib
import keyword
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from alliance_fin.errors import ParameterError
from alliance_fin.inputs.ids import parse_ids
from alliance_fin.registry import COMMON_PARAMS, REPORT_SPECS, REPORTS, ParamSpec, ReportSpec

__all__ = [
    "COMMON_PARAMS",
    "INTERNAL_PARAMS",
    "REPORTS",
    "REPORT_SPECS",
    "ParamSpec",
    "ReportSpec",
    "check_notebook_parameters",
    "coerce_value",
    "describe_reports",
    "load_params_file",
    "parse_overrides",
    "resolve_params",
]

#: Parameters the runner injects into every notebook; users cannot set them.
INTERNAL_PARAMS: dict[str, str] = {
    "data_path": "input line-up file ('' = the packaged default data); set with --data",
    "output_dir": "folder the notebook writes <report>.xlsx and <report>.headline.json into",
    "run_id": "identifier of the run, also the default output folder name",
    "created": "ISO 8601 time of the run (from SOURCE_DATE_EPOCH when set)",
}

_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
_MODEL_ID = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def describe_reports(specs: Mapping[str, ReportSpec] | None = None) -> list[dict[str, Any]]:
    """One row per report parameter, for ``alliance-fin list``.

    Returns
    -------
    list of dict
        Keys ``report``, ``name``, ``type``, ``default``, ``allowed``, ``help``; reports in
        canonical order, parameters in declaration order.
    """
    specs = REPORT_SPECS if specs is None else specs
    return [
        {"report": r.name, "name": p.name, "type": p.type, "default": p.default,
         "allowed": p.allowed(), "help": p.help}
        for r in specs.values() for p in r.params
    ]


def coerce_value(spec: ParamSpec, raw: Any) -> Any:
    """Convert ``raw`` (text from ``-p`` or a YAML scalar) to the declared type and check it.

    Raises
    ------
    ValueError
        With a message naming the value and what is allowed (the caller adds the name).
    """
    value = _convert(spec, raw)
    if not _allowed(spec, value):
        raise _bad(spec, raw)
    return value


def _bad(spec: ParamSpec, raw: Any) -> ValueError:
    return ValueError(f"value {raw!r} is not allowed: expected {spec.allowed()}")


def _convert(spec: ParamSpec, raw: Any) -> Any:
    text = raw.strip() if isinstance(raw, str) else None
    if spec.type == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if text is not None and text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise _bad(spec, raw)
    if spec.type == "int":
        if isinstance(raw, bool):
            raise _bad(spec, raw)
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
            return int(raw)
        if text is not None and re.fullmatch(r"[+-]?\d[\d_]*", text):
            return int(text)
        raise _bad(spec, raw)
    if spec.type == "float":
        if isinstance(raw, bool):
            raise _bad(spec, raw)
        if isinstance(raw, (int, float)):
            value = float(raw)
        elif text:
            try:
                value = float(text)
            except ValueError:
                raise _bad(spec, raw) from None
        else:
            raise _bad(spec, raw)
        if not math.isfinite(value):
            raise _bad(spec, raw)
        return value
    # str
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)  # YAML reads `scenario: 2024` as an int
    if isinstance(raw, str) and not spec.id_list:
        return raw.strip().upper() if spec.upper else raw
    if not isinstance(raw, str | list | tuple):
        raise _bad(spec, raw)
    items = parse_ids(raw)
    if any(not _MODEL_ID.fullmatch(x) for x in items):
        raise _bad(spec, raw)
    return ",".join(items)


def _allowed(spec: ParamSpec, value: Any) -> bool:
    if spec.choices and value not in spec.choices:
        return False
    if spec.pattern and not re.fullmatch(spec.pattern, value):
        return False
    if spec.type in ("int", "float"):
        return not ((spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max))
    return True


def parse_overrides(overrides: Iterable[str]) -> dict[str, str]:
    """Split ``-p NAME=VALUE`` strings into a mapping (later wins).

    Raises
    ------
    ParameterError
        Listing every item without ``=`` or with an empty name.
    """
    out: dict[str, str] = {}
    problems: list[str] = []
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            problems.append(f"-p {item!r}: expected NAME=VALUE")
            continue
        out[name.strip()] = value
    if problems:
        raise ParameterError("bad -p option", problems)
    return out


def unique_key_loader():
    """A safe YAML loader that refuses a key given twice (PyYAML keeps the last one silently)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{key!r} is given twice (which value is meant?)", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def load_params_file(path: str | Path) -> dict[str, Any]:
    """Read a flat YAML mapping ``name: value`` from ``path``.

    Raises
    ------
    ParameterError
        The file is missing or unreadable, is not valid YAML (message with file and line), or is
        not a flat mapping of names to scalars (lists allowed for ``keep``/``cut``).
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read parameter file {path}: {exc}") from None
    try:
        data = yaml.load(text, Loader=unique_key_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        reason = getattr(exc, "problem", None) or str(exc)
        raise ParameterError(f"parameter file {where}: not valid YAML ({reason})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"parameter file {path}: expected a mapping of NAME: VALUE, "
                             f"got {type(data).__name__}")
    problems = []
    for key, value in data.items():
        if not isinstance(key, str):
            problems.append(f"{path}: key {key!r} is not a parameter name")
        elif isinstance(value, dict):
            problems.append(f"{path}: {key}: nested mappings are not allowed")
    if problems:
        raise ParameterError(f"parameter file {path} is not a flat mapping", problems)
    return dict(data)


def resolve_params(
    reports: Sequence[str],
    file_values: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    specs: Mapping[str, ReportSpec] | None = None,
    data_defaults: Mapping[str, float] | None = None,
) -> dict[str, dict[str, Any]]:
    """Resolve the parameters of each selected report.

    Order (later wins): the spec default, the data file's assumption of the same name
    (``data_defaults``), ``file_values`` (``--params``), ``overrides`` (``-p``).

    Parameters
    ----------
    reports : sequence of str
        Selected report names (already checked against ``specs``).
    file_values, overrides : mapping
        Raw values by parameter name; strings are converted to the declared type.
    specs : mapping of str to ReportSpec, optional
        Defaults to :data:`REPORT_SPECS`.
    data_defaults : mapping of str to float, optional
        Assumption values by key from the data file.

    Returns
    -------
    dict
        ``{report: {name: value}}`` with every declared parameter, in declaration order.

    Raises
    ------
    ParameterError
        With every problem at once: unknown names, names that are not identifiers, internal
        names, wrong types, out-of-range values, ``end_year < start_year``.
    """
    specs = REPORT_SPECS if specs is None else specs
    user: dict[str, tuple[Any, str]] = {}
    for source, values in (("--params", file_values or {}), ("-p", overrides or {})):
        for name, raw in values.items():
            user[name] = (raw, source)

    problems: list[str] = []
    selected = [specs[r] for r in reports]
    declared = {p.name: p for s in selected for p in s.params}
    converted: dict[str, Any] = {}
    for name, (raw, source) in user.items():
        if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
            problems.append(f"{name!r} ({source}): not a valid parameter name")
        elif name in INTERNAL_PARAMS:
            problems.append(f"{name} ({source}): set by the runner, not a report parameter "
                            f"({INTERNAL_PARAMS[name]})")
        elif name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            owners = [s.name for s in specs.values() if name in s.param_names]
            close = difflib.get_close_matches(name, sorted(declared), n=3, cutoff=0.6) if not owners else []
            hint = (f" (it belongs to {', '.join(owners)}: add that report to the run)" if owners
                    else f" (did you mean {' or '.join(close)}?)" if close else "")
            problems.append(f"{name} ({source}): no selected report ({', '.join(reports)}) declares it{hint}; "
                            f"known parameters: {known}")
        else:
            try:
                converted[name] = coerce_value(declared[name], raw)
            except ValueError as exc:
                problems.append(f"{name} ({source}): {exc}")

    resolved: dict[str, dict[str, Any]] = {}
    for s in selected:
        values: dict[str, Any] = {}
        for p in s.params:
            if p.name in converted:
                values[p.name] = converted[p.name]
            elif data_defaults and p.name in data_defaults:
                try:
                    values[p.name] = coerce_value(p, data_defaults[p.name])
                except ValueError as exc:
                    problems.append(f"{p.name} (assumption in the data file): {exc}")
                    values[p.name] = p.default
            else:
                values[p.name] = p.default
        resolved[s.name] = values
    _check_cross(resolved, problems)
    if problems:
        raise ParameterError("invalid report parameters", list(dict.fromkeys(problems)))
    return resolved


def _check_cross(resolved: Mapping[str, Mapping[str, Any]], problems: list[str]) -> None:
    for values in resolved.values():
        start, end = values.get("start_year"), values.get("end_year")
        if isinstance(start, int) and isinstance(end, int) and end < start:
            problems.append(f"end_year: value {end} is before start_year {start}: "
                            f"expected end_year >= start_year")
            continue
        ref = values.get("reference_year")
        if isinstance(ref, int) and isinstance(start, int) and isinstance(end, int) and not start <= ref <= end:
            problems.append(f"reference_year: value {ref} is outside the report window: expected a year "
                            f"from start_year {start} to end_year {end}")


def check_notebook_parameters(spec: ReportSpec, notebook: str | Path) -> list[str]:
    """Compare a notebook's tagged ``parameters`` cell with the report's spec.

    Every declared parameter and every internal one (:data:`INTERNAL_PARAMS`) must be in the
    cell, with the declared type hint and default; the cell must hold nothing else.

    Returns
    -------
    list of str
        One line per mismatch; empty when they agree.
    """
    import ast

    import papermill

    found = papermill.inspect_notebook(str(notebook))
    problems = []
    expected = {p.name: p for p in spec.params}
    for name in [*expected, *INTERNAL_PARAMS]:
        if name not in found:
            problems.append(f"{notebook}: parameter {name} missing from the parameters cell")
    for name, info in found.items():
        if name not in expected:
            if name not in INTERNAL_PARAMS:
                problems.append(f"{notebook}: parameter {name} is not declared for report {spec.name}")
            continue
        p = expected[name]
        if info.get("inferred_type_name") != p.type:
            problems.append(f"{notebook}: {name} has type hint {info.get('inferred_type_name')}, spec says {p.type}")
        try:
            default = ast.literal_eval(info.get("default") or "")
        except (ValueError, SyntaxError):
            problems.append(f"{notebook}: {name} default {info.get('default')!r} is not a literal")
            continue
        if default != p.default or type(default) is not type(p.default):
            problems.append(f"{notebook}: {name} defaults to {default!r}, spec says {p.default!r}")
    return problems
