"""Read one sheet of an input file (``.xlsx`` or ``.csv``) into an all-text frame.

Every cell becomes the text a user typed (``2020.0`` -> ``"2020"``, empty -> ``""``), so that the
validation in :mod:`alliance_fin.inputs.load` sees what the file says, not what pandas guessed.
Damaged, encrypted, binary or mis-separated files are refused with one clear
:class:`~alliance_fin.errors.InputError` naming the file. Nothing here validates or calculates.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd

from alliance_fin.errors import InputError
from alliance_fin.inputs.rules import short
from alliance_fin.inputs.schema import REQUIRED_COLUMNS

__all__ = ["MODELS_SHEET", "cell_text", "read_table", "read_csv"]

MODELS_SHEET = "models"
XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted OOXML and legacy .xls


def cell_text(value: object) -> str:
    """One cell as the text a user typed: 2020.0 -> '2020', None/NaN -> ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def read_table(path: Path, sheet: str, *, required: bool) -> tuple[pd.DataFrame | None, str]:
    """Read one sheet (or the CSV) into an all-text frame.

    Parameters
    ----------
    path : Path
        ``.xlsx``/``.xlsm`` or ``.csv``/``.txt``.
    sheet : str
        Sheet name; a CSV holds only :data:`MODELS_SHEET` (other sheets give ``None``).
    required : bool
        Whether a workbook without ``sheet`` is an error (else ``None``).

    Returns
    -------
    tuple
        ``(frame or None, where)``: every cell a ``str``; ``where`` the label for messages, e.g.
        ``"lineup.xlsx [models]"``.
    """
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    head = path.read_bytes()[:8]
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, sheet, head, required=required)
    if suffix in {".csv", ".txt"}:
        if sheet != MODELS_SHEET:
            return None, path.name
        return read_csv(path, head), path.name
    raise InputError(f"{path}: unknown file type '{suffix}'; use .xlsx (sheet '{MODELS_SHEET}') or .csv")


def _read_xlsx(path: Path, sheet: str, head: bytes, *, required: bool) -> tuple[pd.DataFrame | None, str]:
    if head[:8] == OLE2_MAGIC:
        raise InputError(f"{path}: is a password-protected (encrypted) workbook or an old .xls file; "
                         "remove the password or save it as .xlsx, then try again")
    if head[:4] != XLSX_MAGIC:
        raise InputError(f"{path}: is not an Excel workbook (.xlsx); save it as .xlsx or .csv")
    try:
        sheets = pd.ExcelFile(path, engine="openpyxl")
        if sheet not in sheets.sheet_names:
            if not required:
                return None, f"{path.name} [{sheet}]"
            raise InputError(
                f"{path}: has no sheet '{sheet}' (sheets: {', '.join(sheets.sheet_names)}); "
                f"the line-up must be on a sheet named '{sheet}'"
            )
        frame = pd.read_excel(sheets, sheet_name=sheet, dtype=object, header=0, keep_default_na=False,
                              na_values=[])
    except InputError:
        raise
    except Exception as exc:  # a damaged workbook can fail anywhere in openpyxl's parser
        raise InputError(f"{path}: cannot be read as a workbook ({type(exc).__name__}: {short(str(exc))}); "
                         "open and save it again in Excel, or export the sheet as CSV") from None
    frame = frame.map(cell_text)
    frame.columns = [cell_text(c) for c in frame.columns]
    return frame, f"{path.name} [{sheet}]"


def _decode(raw: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM); Windows-1252 only for files with no UTF-8 text in them."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        lenient = raw.decode("utf-8", errors="replace")
        if any(ord(ch) > 127 and ch != "\ufffd" for ch in lenient):
            line = raw[: exc.start].count(b"\n") + 1
            raise InputError(
                f"{path}: line {line}: byte {raw[exc.start]:#04x} is not valid UTF-8 although the rest of the "
                "file is; the file is damaged or mixes encodings. Save it again as UTF-8 CSV"
            ) from None
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_csv(path: Path, head: bytes) -> pd.DataFrame:
    """A CSV file as an all-text frame (``head``: its first bytes, to refuse binary files)."""
    raw = path.read_bytes()
    if head[:4] == XLSX_MAGIC or head[:8] == OLE2_MAGIC or b"\x00" in raw[:1000]:
        raise InputError(f"{path}: is not a text CSV file (it looks binary); use .xlsx for workbooks")
    text = _decode(raw, path)
    if not text.strip():
        raise InputError(f"{path}: is empty; expected a header row with the columns " + ", ".join(REQUIRED_COLUMNS))
    header = text.lstrip().splitlines()[0]
    if "," not in header:
        delim = next((d for d in ";\t|" if d in header), None)
        if delim:
            raise InputError(f"{path}: the header row has no commas; it looks separated by {delim!r}. "
                             "Save the CSV with commas (',') as separators")
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[],
                           skipinitialspace=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot be read as CSV ({short(str(exc).strip())})") from None
