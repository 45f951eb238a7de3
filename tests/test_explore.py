"""notebooks/explore.ipynb: the guided analysis runs top to bottom and agrees with `alliance-fin run`.

The generic notebook rules (stripped, one import, no def/loops) are in test_notebooks.py, which
covers every notebook in notebooks/; these tests add what is particular to the guided analysis.
"""

from __future__ import annotations

import ast
import json

import nbformat
import papermill as pm
import pytest
from conftest import ROOT

from alliance_fin.cli import main as cli_main

NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"
FIGURE_EXPR = 'report_30.headline["total_savings_report_ccy_m"]'
FIGURE = ast.unparse(ast.parse(FIGURE_EXPR, mode="eval").body)  # normalised, as _last_expression gives it
SCENARIO = {"max_saving_rate": 0.3, "currency": "JPY"}  # question 3: a 30% ceiling in yen


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def _last_expression(source: str) -> str:
    """The source text of a cell's final expression statement ("" when it ends otherwise)."""
    tree = ast.parse(source)
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return ""
    return ast.unparse(tree.body[-1].value)


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> nbformat.NotebookNode:
    """The notebook executed once in a real kernel (cwd notebooks/, as `make lab` opens it)."""
    out = tmp_path_factory.mktemp("explore") / "explore.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), parameters=SCENARIO, cwd=str(NOTEBOOK.parent),
                        progress_bar=False, kernel_name="python3")
    return nbformat.read(out, as_version=4)


# --------------------------------------------------------------------------- structure (fast)
def test_not_a_report_notebook():
    from alliance_fin.run.params import REPORT_SPECS

    assert "explore" not in REPORT_SPECS
    assert all(spec.notebook != NOTEBOOK.name for spec in REPORT_SPECS.values())


def test_fixed_ids_and_python3_kernel():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert [c.id for c in nb.cells] == [f"expl-{i:02d}" for i in range(len(nb.cells))]


def test_parameters_cell_papermill_can_read():
    """Tagged, annotated literals with '# help' comments free of '=' (papermill's parser breaks on it)."""
    first = _code_cells(nbformat.read(NOTEBOOK, as_version=4))[0]
    assert "parameters" in first.metadata.get("tags", [])
    for line in first.source.splitlines():
        code, _, comment = line.partition("#")
        assert comment.strip() and "=" not in comment, line
        assert isinstance(ast.parse(code).body[0], ast.AnnAssign), line
    inferred = pm.inspect_notebook(str(NOTEBOOK))
    assert {k: v["inferred_type_name"] for k, v in inferred.items()} == {"currency": "str", "max_saving_rate": "float"}
    assert {k: ast.literal_eval(inferred[k]["default"]) for k in SCENARIO} == SCENARIO


def test_one_cell_ends_with_the_compared_figure():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    hits = [c.id for c in _code_cells(nb) if _last_expression(c.source) == FIGURE]
    assert len(hits) == 1, hits


def test_ends_with_try_it_yourself_cells():
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    heading = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and "Try it yourself" in c.source]
    assert len(heading) == 1
    assert len([c for c in cells[heading[0]:] if c.cell_type == "code"]) >= 2


# --------------------------------------------------------------------------- execution (slow)
@pytest.mark.slow
def test_runs_top_to_bottom_without_errors(executed):
    for cell in _code_cells(executed):
        assert cell.execution_count is not None, cell.id
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.id
        assert not [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"], (
            cell.id, [o.text for o in cell.outputs if o.output_type == "stream"])
    text = "\n".join(o.get("data", {}).get("text/plain", "") for c in _code_cells(executed) for o in c.outputs)
    # the three scenario edits explain themselves
    assert "N05 Juke F16 becomes leader of F03" in text
    assert "M02 ASX (2023) leaves F03" in text
    assert "dropped N06 Micra EV" in text
    assert "N06 Micra EV: launch 2025 -> 2026" in text


@pytest.mark.slow
def test_figure_matches_a_run_with_the_same_parameters(executed, tmp_path):
    cell = next(c for c in _code_cells(executed) if _last_expression(c.source) == FIGURE)
    result = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert len(result) == 1, cell.outputs
    notebook_value = float(result[0]["data"]["text/plain"])

    out = tmp_path / "run"
    assert cli_main(["run", "savings", "--out", str(out), "-p", "max_saving_rate=0.3", "-p", "currency=JPY"]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["savings"]["currency"] == "JPY"
    run_value = manifest["reports"]["savings"]["headline"]["total_savings_report_ccy_m"]
    assert notebook_value == pytest.approx(run_value, rel=1e-9)
    # and the figure is really in yen (fx_eur_jpy is well above 100), not the EUR total
    assert run_value > 100 * manifest["reports"]["savings"]["headline"]["total_savings_eur_m"]
