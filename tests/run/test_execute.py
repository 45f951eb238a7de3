"""Report execution: importing the runner's modules stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("modules", [
    "alliance_fin.run.execute",
    "alliance_fin.run.warm",  # imports papermill before anything else of the runner
    "alliance_fin.cli, alliance_fin.run.runner, alliance_fin.run.executors, alliance_fin.run.warm",
    "alliance_fin.run.zygote",
])
def test_runner_imports_skip_the_iri_grammar(modules):
    # jsonschema (via nbformat, papermill, nbconvert) would import rfc3987_syntax, which builds
    # Earley parsers for IRIs at import (~2.4 s of CPU in each process: the parent, the zygote).
    code = (f"import sys, {modules}, papermill, nbformat, nbconvert; "
            "print(sys.modules.get('rfc3987_syntax', 'absent'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() in ("None", "absent")
