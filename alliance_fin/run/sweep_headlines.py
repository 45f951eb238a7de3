"""``alliance-fin sweep GRID.yaml --headlines-only``: every scenario's headline figures, no kernels.

The figures come from the same library code the report notebooks run, with the parameters
resolved exactly as for a full sweep, so they equal the full bundles' manifest headlines (``==``).
Savings: scenarios grouped by window, currency, baseline, plan year and NPV timing, each group one call of
:func:`alliance_fin.engines.savings_batch.calc_headlines` over the per-scenario assumption keys
(ceiling, follower share, discount rate), the function ``calc_savings`` (so the notebook's
builder) calls with one scenario. Other reports, and a savings grid the batch cannot take: each
report's ``build_<report>_report(...).headline``, once per distinct set of its own parameters
(a grid over savings parameters computes range trimming once). The data file is read once and
the line-up reused in memory.

Writes ``sweep.csv``, ``sweep.json``, ``index.html``, ``sweep.xlsx`` (a scenario picker: choose a
scenario, its parameters and figures follow by INDEX/MATCH over the grid sheet; built with
:class:`~alliance_fin.excel.core.Book`, so every formula cell carries the value LibreOffice computes
and a viewer without a calculation engine shows the first scenario's figures) and
``sweep.html`` (a heatmap per pair of swept parameters).
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from alliance_fin import paths
from alliance_fin.errors import InputError, ParameterError
from alliance_fin.run.params import REPORT_SPECS, parse_overrides, resolve_params
from alliance_fin.run.publish import write_text_atomic
from alliance_fin.run.sweep import check_sweep_folder, grid_override, load_grid, write_summary

__all__ = ["MAX_HEADLINE_SCENARIOS", "calc_sweep_headlines", "run_headline_sweep"]

MAX_HEADLINE_SCENARIOS = 100_000
PARALLEL_XLSX_ROWS = 1000
"""From this many scenarios, ``sweep.xlsx`` is written in a second process alongside the other files."""
MAX_ANNOTATED_CELLS = 144
"""A heatmap labels its cells with their values up to this many cells (12 x 12)."""
_RUNNER_ONLY = ("data_path", "output_dir", "run_id", "created")


def _builder(report: str) -> Any:
    """The report's builder, from the registry (the function its notebook calls)."""
    spec = REPORT_SPECS.get(report)
    return spec.build_function() if spec and spec.builder else None


def _built_headlines(report: str, values: list[dict[str, Any]], lineup: Any, frame: Any) -> list[dict[str, Any]]:
    """Each scenario's headline from the report's builder, once per distinct set of its parameters."""
    memo: dict[str, dict[str, Any]] = {}
    out = []
    for v in values:
        key = json.dumps({k: x for k, x in v.items() if k != "scenario"}, sort_keys=True, default=str)
        if key not in memo:
            memo[key] = dict(_builder(report)(**v, lineup=lineup, assumptions=frame).headline)
        out.append(memo[key])
    return out


def _savings_headlines(values: list[dict[str, Any]], lineup: Any, frame: Any) -> list[dict[str, float]] | None:
    """The savings headlines through the batch engine, or ``None`` (use the builder) when it does not apply.

    Exactly what :func:`~alliance_fin.present.savings.build_savings_report` computes: its inputs
    resolve a parameter of an assumption's key into the assumption values and call
    ``calc_savings(lineup, values, start_year=, end_year=, currency=)``, whose headline is
    :func:`~alliance_fin.engines.savings_batch.calc_headlines` with one scenario. Here scenarios
    are grouped by the parameters the batch cannot vary (window, currency, baseline, plan year, NPV
    timing) and each group is one
    call over the rest (ceiling, follower share, discount rate: any per-scenario assumption key).
    """
    from alliance_fin.engines.savings_batch import batch_keys, calc_headlines
    from alliance_fin.engines.savings_core import prepare
    from alliance_fin.inputs.load import assumption_values

    fixed = ("currency", "start_year", "end_year", "baseline", "plan_year", "npv_timing")
    base = assumption_values(frame)
    try:
        prep = prepare(lineup)
    except (InputError, ParameterError):
        return None
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, v in enumerate(values):
        groups.setdefault(tuple(v.get(k) for k in fixed), []).append(i)
    out: list[dict[str, float]] = [{}] * len(values)
    for (currency, start_year, end_year, baseline, plan_year, npv_timing), members in groups.items():
        names = {k for i in members for k in values[i]} - {"scenario", *fixed}
        vector = [k for k in names if k in frame.index]
        if set(vector) != names or not set(vector) <= set(batch_keys(prep, currency)) or any(
                isinstance(values[i][k], bool) or not isinstance(values[i][k], int | float)
                for i in members for k in vector):
            return None  # a parameter the batch cannot take: every scenario through the builder
        try:
            batch = calc_headlines(prep, base, {k: [float(values[i][k]) for i in members] for k in vector},
                                   start_year=start_year, end_year=end_year, currency=currency,
                                   baseline=baseline or "plan", plan_year=2020 if plan_year is None else plan_year,
                                   npv_timing=npv_timing or "mid")
        except (InputError, ParameterError):
            return None
        figures = {k: v.tolist() for k, v in batch.items()}
        for j, i in enumerate(members):
            out[i] = {k: figures[k][j] for k in figures}
    return out


def calc_sweep_headlines(grid: str | Path, *, data: str | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """Check every scenario, then compute its headline figures in-process.

    Returns
    -------
    tuple
        The swept parameter names, and one row per scenario: ``scenario``, its parameters,
        ``status`` (``ok``) and ``<report>.<headline key>`` figures.

    Raises
    ------
    ParameterError, InputError
        Every problem of every scenario at once; nothing computed.
    """
    from alliance_fin.inputs.load import load_assumptions, load_lineup
    from alliance_fin.run.runner import check_data

    reports, scenarios = load_grid(grid, max_scenarios=MAX_HEADLINE_SCENARIOS)
    info, assumptions, data_problems = check_data(data)
    if data_problems:
        raise InputError("the sweep was refused: nothing was written", data_problems)
    problems = [f"{r}: no in-process builder; run the sweep without --headlines-only"
                for r in reports if r in REPORT_SPECS and _builder(r) is None]
    resolved = []
    for params in scenarios:
        try:
            overrides = parse_overrides([grid_override(k, v) for k, v in params.items()])
            resolved.append(resolve_params(reports, {}, overrides, data_defaults=assumptions))
        except ParameterError as exc:
            problems += [f"{params['scenario']}: {p}" for p in (exc.problems or [exc.message])]
    if problems:
        raise ParameterError("the sweep was refused: nothing was written", list(dict.fromkeys(problems)))
    path = Path(info["path"]) if data else None
    frame = load_assumptions(path)  # once, as each notebook's builder would load it
    lineup = load_lineup(path, assumptions=frame)
    heads = {}
    for report in reports:
        values = [{k: v for k, v in per_report[report].items() if k not in _RUNNER_ONLY} for per_report in resolved]
        heads[report] = (_savings_headlines(values, lineup, frame) if report == "savings" else None) \
            or _built_headlines(report, values, lineup, frame)
    rows = []
    for i, params in enumerate(scenarios):
        row: dict[str, Any] = {"scenario": params["scenario"], **{k: v for k, v in params.items() if k != "scenario"},
                               "status": "ok"}
        for report in reports:
            row.update({f"{report}.{k}": v for k, v in heads[report][i].items()})
        rows.append(row)
    with open(grid, encoding="utf-8") as fh:
        import yaml

        swept = [k for k, v in (yaml.safe_load(fh).get("grid") or {}).items() if len(v) > 1]
    return swept, rows


def _write_xlsx(path: Path, rows: list[dict[str, Any]]) -> None:
    """``sweep.xlsx``: sheet Grid (one row per scenario) and sheet Picker (INDEX/MATCH over it)."""
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    from alliance_fin.excel.core import Book, Formula, created_time, write_bytes_atomic

    columns = list(dict.fromkeys(k for row in rows for k in row))
    book = Book(title="Scenario sweep: headline figures")
    picker = book.sheet("Picker", header_rows=0)
    grid = book.sheet("Grid")
    book.header(grid, columns)
    for i, row in enumerate(rows, start=2):
        for j, column in enumerate(columns, start=1):
            value = row.get(column)
            book.put(grid, i, j, value, fmt="general" if not isinstance(value, float) else None)
    last = len(rows) + 1

    def rng(col: int) -> str:
        letter = get_column_letter(col)
        return f"{quote_sheetname(grid.title)}!${letter}$2:${letter}${last}"

    book.put(picker, 1, 1, "Scenario (choose)", style="header")
    book.put(picker, 1, 2, rows[0]["scenario"], style="input")
    chooser = "$B$1"
    validation = DataValidation(type="list", formula1=rng(1), allow_blank=False)
    picker.add_data_validation(validation)
    validation.add("B1")
    book.put(picker, 3, 1, "figure", style="header")
    book.put(picker, 3, 2, "value", style="header")
    for n, column in enumerate(columns[1:], start=4):
        book.put(picker, n, 1, column)
        book.put(picker, n, 2, Formula(f"INDEX({rng(columns.index(column) + 1)},MATCH({chooser},{rng(1)},0))"))
    book.describe(picker, "Choose a scenario in B1; its parameters and headline figures follow (live formulas).")
    book.describe(grid, "Every scenario of the grid with its parameters and headline figures.")
    write_bytes_atomic(path, book.finish(created_time()))


def _annotation_format(figure: str) -> str:
    """Cell labels in the figure's unit: shares and rates in %, money in whole millions."""
    key = figure.split(".", 1)[-1]
    if key.endswith(("_share", "_rate", "_pct")) or "_share_" in key:
        return ".1%"
    if key.endswith(("_eur_m", "_ccy_m")):
        return ",.0f"
    return ".3g"


def _heatmaps_html(rows: list[dict[str, Any]], swept: list[str], title: str) -> str:
    """``sweep.html``: for each pair of swept parameters, a heatmap of each report's first figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame(rows)
    figures = []
    for column in frame.columns:
        if "." in column and column.split(".", 1)[0] not in {f.split(".", 1)[0] for f in figures}:
            if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
                figures.append(column)
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', '<head><meta charset="utf-8">', f"<title>{e(title)}</title>",
             "<style>body{font-family:system-ui,sans-serif;margin:2em}img{max-width:100%}</style></head><body>",
             f"<h1>{e(title)}</h1>"]
    pairs = list(itertools.combinations(swept, 2))
    if not pairs:
        parts.append("<p>Fewer than two parameters vary: no heatmap (see sweep.csv).</p>")
    for a, b in pairs:
        for figure in figures:
            table = frame.pivot_table(index=a, columns=b, values=figure, aggfunc="mean")
            fig, ax = plt.subplots(figsize=(6, 4))
            # a label per cell while they stay legible; a large grid's thousands of labels cost seconds
            sns.heatmap(table, annot=table.size <= MAX_ANNOTATED_CELLS, fmt=_annotation_format(figure),
                        cmap="viridis", ax=ax)
            ax.set_title(figure)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
            plt.close(fig)
            others = [s for s in swept if s not in (a, b)]
            note = f" (mean over {', '.join(others)})" if others else ""
            parts.append(f"<h2>{e(figure)}: {e(a)} x {e(b)}{e(note)}</h2>"
                         f'<img alt="{e(figure)}" src="data:image/png;base64,'
                         f'{base64.b64encode(buffer.getvalue()).decode()}">')
    parts += ["</body></html>", ""]
    return "\n".join(parts)


def run_headline_sweep(grid: str | Path, *, data: str | None = None, out: str | None = None,
                       force: bool = False) -> int:
    """Compute every scenario's headlines and write the sweep's files; returns 0.

    Raises
    ------
    ParameterError, InputError
        A refused grid, scenario, data file or ``--out``: nothing was written.
    """
    folder = Path(out).expanduser().resolve() if out else paths.REPORTS_DIR / f"sweep_{Path(grid).stem}"
    _, scenarios = load_grid(grid, max_scenarios=MAX_HEADLINE_SCENARIOS)
    check_sweep_folder(folder, {s["scenario"] for s in scenarios}, force)
    swept, rows = calc_sweep_headlines(grid, data=data)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"--out {folder}: cannot write there ({exc.strerror or exc}); nothing was written") from None
    title = f"Sweep {Path(grid).name}: headline figures"
    # openpyxl spends about 0.5 ms a scenario on sweep.xlsx: a large sweep writes it in a second
    # process while this one writes the other files (same function, same bytes)
    pool = None
    if len(rows) >= PARALLEL_XLSX_ROWS and "fork" in multiprocessing.get_all_start_methods():
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    try:
        xlsx = pool.submit(_write_xlsx, folder / "sweep.xlsx", rows) if pool else None
        write_summary(folder, rows, title=title)
        write_text_atomic(folder / "sweep.html", _heatmaps_html(rows, swept, title))
        xlsx.result() if xlsx else _write_xlsx(folder / "sweep.xlsx", rows)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    print(f"sweep: {len(rows)} scenario(s), headline figures in {folder / 'sweep.csv'}, sweep.xlsx, sweep.html",
          file=sys.stdout)
    return 0
