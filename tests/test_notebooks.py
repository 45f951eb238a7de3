"""The shipped notebooks: thin, stripped, parameters agreeing with the schema, and runnable."""

from __future__ import annotations

import ast
import json

import nbformat
import papermill as pm
import pytest
from conftest import ROOT

from alliance_fin.run.params import REPORT_SPECS

NOTEBOOKS = ROOT / "notebooks"
REPORT_NOTEBOOKS = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.stem in REPORT_SPECS)
ALL_NOTEBOOKS = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
INTERNAL = {"data_path": "str", "output_dir": "str", "run_id": "str", "created": "str"}


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _parameters(nb) -> dict[str, tuple[str, object, str]]:
    cell = _code_cells(nb)[0]
    assert "parameters" in cell.metadata.get("tags", []), "first code cell must be tagged 'parameters'"
    out = {}
    tree = ast.parse(cell.source)
    lines = cell.source.splitlines()
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), f"parameters cell holds only annotated literals: {ast.dump(node)}"
        assert isinstance(node.value, ast.Constant), f"{node.target.id}: the default must be a literal"
        comment = lines[node.lineno - 1].partition("#")[2].strip()
        assert comment, f"{node.target.id}: needs a '# help' comment"
        out[node.target.id] = (node.annotation.id, node.value.value, comment)
    return out


def test_all_report_notebooks_present():
    assert REPORT_NOTEBOOKS == ["milestones.ipynb", "plan_vs_actual.ipynb", "range_trimming.ipynb", "savings.ipynb"]


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_committed_without_outputs(name):
    raw = json.loads((NOTEBOOKS / name).read_text())
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_thin_no_def_class_or_loops(name):
    nb = _read(name)
    imports = 0
    for cell in _code_cells(nb):
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda), name
            assert not isinstance(node, ast.For | ast.While | ast.ListComp | ast.DictComp | ast.GeneratorExp), name
            imports += isinstance(node, ast.Import | ast.ImportFrom)
    assert imports == 1, f"{name}: one import (alliance_fin), found {imports}"


@pytest.mark.parametrize("name", REPORT_NOTEBOOKS)
def test_parameters_cell_matches_schema(name):
    spec = REPORT_SPECS[name.removesuffix(".ipynb")]
    params = _parameters(_read(name))
    declared = {p.name: p for p in spec.params}
    assert set(params) == set(declared) | set(INTERNAL)
    for pname, p in declared.items():
        typ, default, _ = params[pname]
        assert typ == p.type, pname
        assert default == p.default, pname
    for pname, typ in INTERNAL.items():
        assert params[pname][0] == typ


@pytest.mark.slow
@pytest.mark.parametrize("name", REPORT_NOTEBOOKS)
def test_notebook_runs_top_to_bottom_with_defaults(name, tmp_path):
    """Each report notebook runs in a real kernel with its defaults (as an analyst would)."""
    out_nb = tmp_path / name
    pm.execute_notebook(str(NOTEBOOKS / name), str(out_nb), parameters={"output_dir": str(tmp_path)},
                        cwd=str(NOTEBOOKS), progress_bar=False, kernel_name="python3")
    stem = name.removesuffix(".ipynb")
    assert (tmp_path / f"{stem}.xlsx").stat().st_size > 5000
    headline = json.loads((tmp_path / f"{stem}.headline.json").read_text())
    assert set(headline) == set(REPORT_SPECS[stem].headline_keys)
