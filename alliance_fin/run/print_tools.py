"""The system programs that print a bundle: headless Chromium (HTML -> PDF) and LibreOffice (xlsx -> PDF).

Nothing is downloaded: both are looked up on ``PATH``, and when one is missing the caller is
told what to install (:func:`find_print_tools`, exit 2) before anything is written. Each
call gets its own private profile folder, so runs in parallel do not share browser or office
state (LibreOffice drops conversions when two processes share a profile).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alliance_fin.errors import InputError, ReportError

__all__ = ["PrintTools", "find_print_tools", "find_soffice", "html_to_pdf", "recalculate_xlsx", "xlsx_to_pdf"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SOFFICE_NAMES = ("soffice", "libreoffice")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio")
#: LibreOffice recalculates every formula on load, so a stale cached value can never be printed.
_RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


@dataclass(frozen=True)
class PrintTools:
    """Paths of the programs found: ``chromium`` and ``soffice``."""

    chromium: str
    soffice: str


def _which(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def find_print_tools() -> PrintTools:
    """Find Chromium and LibreOffice on ``PATH``.

    Raises
    ------
    InputError
        One or both are missing; the message names each and the package that provides it.
    """
    chromium, soffice = _which(CHROMIUM_NAMES), find_soffice()
    problems = []
    if chromium is None:
        problems.append(f"Chromium is not installed (looked on PATH for {', '.join(CHROMIUM_NAMES)}): "
                        "install it, e.g. `apt-get install chromium`; the pack prints each HTML report with it")
    if soffice is None:
        problems.append(f"LibreOffice is not installed (looked on PATH for {', '.join(SOFFICE_NAMES)}): "
                        "install it, e.g. `apt-get install libreoffice-calc-nogui`; the pack prints the "
                        "workbooks' summary sheets with it")
    if problems:
        raise InputError("alliance-fin pack needs programs that are missing; nothing was written", problems)
    return PrintTools(chromium=chromium, soffice=soffice)  # type: ignore[arg-type]


def _run(cmd: list[str], what: str, timeout: float) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ReportError(f"{what}: no result after {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        raise ReportError(f"{what} failed (exit {proc.returncode})", tail)


def html_to_pdf(chromium: str, html: Path, pdf: Path, *, timeout: float = 180) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium (page size and margins from the page's CSS).

    Chromium's own header and footer (date, URL) are off; the pack numbers its pages itself.
    """
    with tempfile.TemporaryDirectory(prefix="af-chromium-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--run-all-compositor-stages-before-draw", f"--print-to-pdf={pdf}", html.resolve().as_uri()]
        _run(cmd, f"Chromium printing {html.name}", timeout)
    if not pdf.is_file() or pdf.stat().st_size == 0:
        raise ReportError(f"Chromium printing {html.name} wrote no PDF")
    return pdf


def _soffice_convert(soffice: str, src: Path, out_dir: Path, fmt: str, timeout: float) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="af-lo-profile-"))
    try:
        (profile / "user").mkdir()
        (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_XCU, encoding="utf-8")
        cmd = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--nolockcheck", "--convert-to", fmt, "--outdir", str(out_dir), str(src)]
        _run(cmd, f"LibreOffice converting {src.name}", timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    target = out_dir / f"{src.stem}.{fmt}"
    if not target.is_file():  # LibreOffice can exit 0 (or 1) and write nothing
        raise ReportError(f"LibreOffice converting {src.name} wrote no {fmt}")
    return target


def find_soffice() -> str | None:
    """Path of LibreOffice's ``soffice`` on ``PATH``, or None."""
    return _which(SOFFICE_NAMES)


def xlsx_to_pdf(soffice: str, xlsx: Path, out_dir: Path, *, timeout: float = 180) -> Path:
    """Convert a workbook's visible sheets to ``out_dir/<stem>.pdf`` with LibreOffice (recalculated)."""
    return _soffice_convert(soffice, xlsx, out_dir, "pdf", timeout)


def recalculate_xlsx(soffice: str, xlsx: Path, out_dir: Path, *, timeout: float = 180) -> Path:
    """``out_dir/<stem>.xlsx``: the workbook recalculated and saved by LibreOffice (every formula has a value)."""
    return _soffice_convert(soffice, xlsx, out_dir, "xlsx", timeout)
