"""Report execution: importing the runner's modules stays cheap."""

from __future__ import annotations

import subprocess
import sys


def test_execute_import_skips_the_iri_grammar():
    # jsonschema (via nbformat) would import rfc3987_syntax, which builds an Earley parser (~2.4 s).
    code = "import sys, alliance_fin.run.execute; print(sys.modules.get('rfc3987_syntax', 'absent'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() in ("None", "absent")
