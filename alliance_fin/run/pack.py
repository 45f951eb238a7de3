"""``alliance-fin pack``: one print-ready A4 landscape PDF of a run bundle.

The pack is a cover (scenario, parameters, data file and hash, run id), then per report its
HTML page printed by headless Chromium (with ``templates/html/alliance/print.css``, which the
report template already puts in every report's head) and its workbook's summary sheets printed
by LibreOffice. pypdf merges the parts, adds one bookmark per report and stamps ``Page n of N``
on every page (one count over the whole pack). Everything is made in a private temporary
folder; only the finished PDF is moved into place (:func:`alliance_fin.files.write_atomic`).
Missing programs or a folder that is no bundle are refused (exit 2) before anything is written.
"""

from __future__ import annotations

import html as html_lib
import io
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from alliance_fin.errors import InputError, ReportError
from alliance_fin.files import write_atomic
from alliance_fin.paths import TEMPLATES_DIR
from alliance_fin.run.bundle import Bundle, load_bundle, report_title, summary_sheets
from alliance_fin.run.pack_cover import build_cover_html
from alliance_fin.run.print_tools import PrintTools, find_print_tools, html_to_pdf, xlsx_to_pdf

__all__ = ["PRINT_CSS", "PackPart", "merge_parts", "print_copy", "write_pack"]

PRINT_CSS = TEMPLATES_DIR / "html" / "alliance" / "print.css"
@dataclass(frozen=True)
class PackPart:
    """One PDF of the pack: its bookmark title, the report it belongs to, its file."""

    title: str
    report: str | None
    pdf: Path


_SHEET_RE = re.compile(r"<sheet\b[^>]*?/>")
_NAME_RE = re.compile(r'\bname="([^"]*)"')
#: The workbook's own "Page &P of &N" (right footer) would count pages of the sheet, not of the pack.
_RIGHT_FOOTER_RE = re.compile(r"(<oddFooter>(?:(?!</oddFooter>).)*?)(?<!&amp;)&amp;R(?:(?!</oddFooter>).)*(</oddFooter>)",
                              re.S)


def _fit_to_width(sheet_xml: str) -> str:
    """A sheet's print set-up scaled to one page width (as many pages down as it needs).

    The workbook itself prints wide sheets at 100% across several pages, which suits a user
    printing one sheet; in the pack a summary sheet must read page by page, so it is fitted.
    """
    text = re.sub(r'\s(fitToWidth|fitToHeight|scale)="[^"]*"', "", sheet_xml)
    text = text.replace("<pageSetup ", '<pageSetup fitToWidth="1" fitToHeight="0" ', 1)
    if "<pageSetUpPr" in text:
        text = re.sub(r"<pageSetUpPr([^>]*?)/>", lambda m: "<pageSetUpPr" + re.sub(r'\sfitToPage="[^"]*"', "", m.group(1))
                      + ' fitToPage="1"/>', text, count=1)
    elif "<sheetPr>" in text or "<sheetPr " in text:
        text = re.sub(r"<sheetPr([^>]*)>", r'<sheetPr\1><pageSetUpPr fitToPage="1"/>', text, count=1)
    elif "<sheetPr/>" in text:
        text = text.replace("<sheetPr/>", '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>', 1)
    return text


def _summary_copy(xlsx: Path, target: Path) -> list[str]:
    """Copy ``xlsx`` with every non-summary sheet hidden (LibreOffice prints visible sheets only).

    The sheets stay in the copy (the summary formulas refer to them) and the file is edited in
    its XML, so charts, styles and print set-up written by :mod:`alliance_fin.excel` survive;
    openpyxl would drop the charts. Returns the names of the sheets left visible.
    """
    with zipfile.ZipFile(xlsx) as src:
        book = src.read("xl/workbook.xml").decode("utf-8")
        tags = _SHEET_RE.findall(book)
        names = [html_lib.unescape(_NAME_RE.search(t).group(1)) for t in tags]  # type: ignore[union-attr]
        keep = summary_sheets(names)
        if not keep:
            return []
        for index, (tag, name) in enumerate(zip(tags, names)):
            if name not in keep:
                new = re.sub(r'\sstate="[^"]*"', "", tag).replace("<sheet ", '<sheet state="hidden" ', 1)
                book = book.replace(tag, new, 1)
                # LibreOffice prints a hidden sheet that has a print area: drop its print area and titles
                book = re.sub(rf'<definedName name="_xlnm\.Print_(?:Area|Titles)" localSheetId="{index}"[^>]*>'
                              r"[^<]*</definedName>", "", book)
        first = names.index(keep[0])
        book = re.sub(r'\b(activeTab|firstSheet)="\d+"', lambda mt: f'{mt.group(1)}="{first}"', book)
        if "activeTab=" not in book:
            book = book.replace("<workbookView ", f'<workbookView activeTab="{first}" ', 1)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "xl/workbook.xml":
                    data = book.encode("utf-8")
                elif item.filename.startswith("xl/worksheets/sheet") and item.filename.endswith(".xml"):
                    text = data.decode("utf-8")
                    text = re.sub(r'\stabSelected="1"', "", text)
                    data = _fit_to_width(_RIGHT_FOOTER_RE.sub(r"\1\2", text)).encode("utf-8")
                dst.writestr(item, data)
    return keep


def print_copy(report_html: Path, target: Path, css: str) -> Path:
    """A copy of a report page with the print stylesheet in its head (the report file is untouched).

    A report rendered by the current template already holds the stylesheet (``<style
    media="print">``, the same file): it is copied as it is, so the pack prints exactly what a
    browser prints. Only a page without these rules (a bundle written before) gets ``css`` added.
    """
    text = report_html.read_text(encoding="utf-8")
    if css.strip() in text:
        target.write_text(text, encoding="utf-8")
        return target
    style = f'<style media="print">\n{css}\n</style>\n'
    head_end = text.lower().rfind("</head>")
    text = text[:head_end] + style + text[head_end:] if head_end >= 0 else style + text
    target.write_text(text, encoding="utf-8")
    return target


# -- page numbers ---------------------------------------------------------------------------
_HELVETICA = {" ": 278, "P": 667, "a": 556, "g": 556, "e": 556, "o": 556, "f": 278}
_MM = 72 / 25.4


def _number_overlay(number: int, total: int, width: float, height: float) -> PageObject:
    """A blank page of the same size with ``Page n of N`` at the bottom right (Helvetica 8 pt)."""
    text = f"Page {number} of {total}"
    size = 8
    text_width = sum(_HELVETICA.get(ch, 556) for ch in text) * size / 1000
    x, y = width - 12 * _MM - text_width, 6 * _MM
    overlay = PageObject.create_blank_page(width=width, height=height)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica"),
                             NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
    overlay[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/AFPageNo"): font})})
    stream = DecodedStreamObject()
    stream.set_data(f"q 0.33 g BT /AFPageNo {size} Tf {x:.2f} {y:.2f} Td ({text}) Tj ET Q".encode("latin-1"))
    overlay.replace_contents(stream)
    return overlay


def merge_parts(parts: list[PackPart], *, title: str) -> bytes:
    """Merge the parts into one PDF: a bookmark per report (and the cover), every page numbered."""
    writer = PdfWriter()
    outline: dict[str, object] = {}
    for part in parts:
        start = len(writer.pages)
        writer.append(PdfReader(part.pdf), import_outline=False)
        if part.report is None:
            writer.add_outline_item(title=part.title, page_number=start)
        elif part.report not in outline:
            outline[part.report] = writer.add_outline_item(title=report_title(part.report), page_number=start)
            writer.add_outline_item(title=part.title, page_number=start, parent=outline[part.report])
        else:
            writer.add_outline_item(title=part.title, page_number=start, parent=outline[part.report])
    total = len(writer.pages)
    for number, page in enumerate(writer.pages, start=1):
        box = page.mediabox
        page.merge_page(_number_overlay(number, total, float(box.width), float(box.height)))
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": title, "/Creator": "alliance_fin pack", "/Producer": "alliance_fin (pypdf)"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# -- the command ----------------------------------------------------------------------------
def _pack_target(bundle: Bundle, out: str | Path | None) -> Path:
    target = Path(out) if out else bundle.folder / "pack.pdf"
    if target.suffix.lower() != ".pdf":
        raise InputError(f"--out {target}: the pack is a PDF; give a file name ending in .pdf")
    if target.is_dir():
        raise InputError(f"--out {target}: is a folder; give a file name ending in .pdf")
    if not target.parent.is_dir():
        raise InputError(f"--out {target}: folder {target.parent} does not exist")
    return target


def _render_parts(bundle: Bundle, tools: PrintTools, work: Path) -> list[PackPart]:
    css = PRINT_CSS.read_text(encoding="utf-8")
    parts: list[PackPart] = []
    included: dict[str, list[str]] = {}
    for report in bundle.ok_reports():
        page = bundle.output(report, ".html")
        if page is not None:
            pdf = html_to_pdf(tools.chromium, print_copy(page, work / f"{report}.print.html", css),
                              work / f"{report}.html.pdf")
            parts.append(PackPart("Report", report, pdf))
            included.setdefault(report, []).append("HTML report")
        book = bundle.output(report, ".xlsx")
        if book is not None:
            sheets_dir = work / f"{report}-sheets"
            sheets_dir.mkdir()
            copy = sheets_dir / f"{report}.xlsx"
            sheets = _summary_copy(book, copy)
            if sheets:
                pdf = xlsx_to_pdf(tools.soffice, copy, sheets_dir)
                parts.append(PackPart(f"Workbook: {', '.join(sheets)}", report, pdf))
                included.setdefault(report, []).append(f"workbook {book.name}: {', '.join(sheets)}")
    if not parts:
        raise InputError(f"{bundle.folder}: no finished report to print (every report failed); nothing was written")
    cover = work / "cover.html"
    cover.write_text(build_cover_html(bundle, included), encoding="utf-8")
    return [PackPart("Cover", None, html_to_pdf(tools.chromium, cover, work / "cover.pdf")), *parts]


def write_pack(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the print pack of a run bundle.

    Parameters
    ----------
    folder : path
        The run bundle (``alliance-fin run --out``).
    out : path, optional
        The PDF to write; default ``<folder>/pack.pdf`` (the index page links to it there).

    Returns
    -------
    Path
        The PDF written.

    Raises
    ------
    InputError
        ``folder`` is no bundle, ``out`` is not a usable ``.pdf`` path, or Chromium or
        LibreOffice is missing (exit 2; nothing written).
    ReportError
        Chromium or LibreOffice failed while printing (exit 1; nothing written).
    """
    bundle = load_bundle(folder)
    target = _pack_target(bundle, out)
    tools = find_print_tools()
    work = Path(tempfile.mkdtemp(prefix="af-pack-"))
    try:
        parts = _render_parts(bundle, tools, work)
        try:
            data = merge_parts(parts, title=f"Alliance reports - run {bundle.run_id}")
        except Exception as err:  # a PDF from Chromium or LibreOffice pypdf cannot read
            raise ReportError(f"merging the pack failed: {err}") from err
        written = write_atomic(target, data)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if written.resolve() == (bundle.folder / "pack.pdf").resolve():
        from alliance_fin.run.index_page import write_index_html

        write_index_html(bundle.folder)  # the bundle's index page now links pack.pdf
    return written
