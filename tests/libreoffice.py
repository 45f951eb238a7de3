"""Test helper: recalculate a workbook with LibreOffice headless and read the values back.

Each call uses its own LibreOffice profile (``-env:UserInstallation``), so parallel calls do
not collide, and that profile sets ``OOXMLRecalcMode = 0`` ("always recalculate on load"),
so cached values can never mask a formula. The recalculated file is written as ``.xlsx`` by
LibreOffice and read with ``openpyxl`` (``data_only=True`` gives the computed values).

When ``soffice`` is missing the helper fails with a clear message rather than skipping: CI
installs LibreOffice (``.ci/run``), and a silently skipped recalculation proves nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

_RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str:
    """Path of ``soffice``; fails the test (never skips) when LibreOffice is not installed."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        pytest.fail("LibreOffice (soffice) is not installed: install libreoffice-calc-nogui "
                    "(apt-get install -y libreoffice-calc-nogui) to run the workbook tests")
    return exe


def convert(path: Path, out_dir: Path, fmt: str = "xlsx", timeout: float = 180) -> Path:
    """Convert ``path`` with LibreOffice (recalculating on load) into ``out_dir``.

    Parameters
    ----------
    fmt : str
        ``xlsx`` (recalculated workbook), ``pdf`` or any ``--convert-to`` filter spec.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    try:
        user = profile / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_RECALC_XCU, encoding="utf-8")
        cmd = [soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--nolockcheck", "--convert-to", fmt, "--outdir", str(out_dir), str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    target = out_dir / (path.stem + "." + fmt.split(":")[0])
    if proc.returncode != 0 or not target.exists():
        pytest.fail(f"LibreOffice conversion failed (rc={proc.returncode}): {proc.stdout} {proc.stderr}")
    return target


def recalculate(path: Path, out_dir: Path) -> openpyxl.Workbook:
    """Recalculate ``path`` with LibreOffice; return the result opened with ``data_only=True``."""
    return openpyxl.load_workbook(convert(path, out_dir, "xlsx"), data_only=True)


def error_cells(wb: openpyxl.Workbook) -> list[str]:
    """Every cell holding an error value (``#DIV/0!``, ``#NAME?`` ...), as ``sheet!A1: value``."""
    bad = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "e" or (isinstance(cell.value, str) and cell.value in
                                             ("#NAME?", "#REF!", "#VALUE!", "#DIV/0!", "#N/A", "#NUM!", "#NULL!",
                                              "Err:502", "Err:504", "Err:508", "Err:522")):
                    bad.append(f"{ws.title}!{cell.coordinate}: {cell.value}")
    return bad


def named_value(wb: openpyxl.Workbook, name: str) -> Any:
    """Value of the single cell a workbook-level defined name points to."""
    defined = wb.defined_names[name]
    (sheet, ref), = list(defined.destinations)
    return wb[sheet][ref.replace("$", "")].value
