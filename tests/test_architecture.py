"""The package's shape: imports flow one way, with no circle, and every report comes from the registry."""

from __future__ import annotations

import ast
import json
import re

import pytest
from conftest import ROOT

from alliance_fin.registry import REPORT_SPECS, REPORTS

PACKAGE = ROOT / "alliance_fin"
#: Layers in import order (DESIGN section 3): a module may import its own layer or lower ones.
RANKS = {"paths": 0, "errors": 0, "files": 0, "inputs": 1, "registry": 2, "engines": 3, "present": 4,
         "excel": 5, "run": 6, "cli": 7, "__main__": 7, "__init__": 7}


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"))
    return out


MODULES = _modules()


def _imports(tree: ast.Module, *, top_level_only: bool) -> set[str]:
    nodes = tree.body if top_level_only else ast.walk(tree)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m in MODULES and m != "alliance_fin"}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_import_circle_inside_the_package():
    graph = {m: _imports(t, top_level_only=True) - {m} for m, t in MODULES.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                pytest.fail("import circle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_imports_flow_one_way_through_the_layers():
    upward = []
    for module, tree in MODULES.items():
        rank = RANKS[_layer(module)]
        for target in _imports(tree, top_level_only=False):
            if RANKS[_layer(target)] > rank:
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_no_private_name_imported_across_modules():
    crossing = []
    for module, tree in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("alliance_fin"):
                crossing += [f"{module}: from {node.module} import {a.name}" for a in node.names
                             if a.name.startswith("_") and a.name != "__version__"]
    assert crossing == []


def test_every_report_named_anywhere_comes_from_the_registry():
    names = set(REPORTS)
    # Each report's notebook exists and every report notebook has an entry (explore.ipynb is not a report).
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")} - {"explore"}
    assert notebooks == {REPORT_SPECS[r].notebook.removesuffix(".ipynb") for r in names}
    # Report names given to Report(...) and add_provenance(...) are registry names.
    for module, tree in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("Report", "add_provenance"):
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant):
                    assert first.value in names, (module, first.value)
    # No module but the registry keeps its own collection of report names or titles.
    for module, tree in MODULES.items():
        if module == "alliance_fin.registry":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
                items = node.keys if isinstance(node, ast.Dict) else node.elts
                literal = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
                assert len(literal & names) < 2, f"{module} lists report names {sorted(literal & names)}"
    titles = {s.title for s in REPORT_SPECS.values()}
    for path in PACKAGE.rglob("*.py"):
        if path.name != "registry.py":
            text = path.read_text(encoding="utf-8")
            assert not [t for t in titles if re.search(re.escape(json.dumps(t)), text)], path


def test_builders_and_writers_resolve_from_the_registry():
    for spec in REPORT_SPECS.values():
        assert callable(spec.build_function()) and callable(spec.writer_function())
        assert spec.build_function().__name__.startswith("build_")
        assert spec.writer_function().__name__.startswith("write_")
