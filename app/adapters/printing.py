"""Printing through Qt's print support: a sheet to a PDF file, a printer, or a print preview.

A document is HTML (app/adapters/print_sheets.py builds it) laid out by QTextDocument on the page
body; this module paints it page by page and draws, on EVERY page, a header (the title and
the shift window) and a footer ("page N of M" and when it was printed), because a handover
sheet that comes apart on the floor must still say which shift and which page it is.

QPdfWriter and QPrinter are both QPagedPaintDevice, so the PDF, the printer and the preview
share one renderer. Needs a QGuiApplication (the command line makes one, offscreen).
The body is cleaned where its HTML is built (print_sheets.py); the header and footer lines,
which name the site and shift from files, are cleaned here (`for_display`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QFont,
    QFontMetricsF,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import QWidget

from app.errors import DeskError, ValidationError
from app.protocol.text import for_display

PAPERS = {"a4": QPageSize.PageSizeId.A4, "letter": QPageSize.PageSizeId.Letter}
MARGIN_MM = 12
PDF_DPI = 300
BODY_FONT = "DejaVu Sans"
BODY_POINTS = 9.0


@dataclass(frozen=True)
class PrintJob:
    """One printout: the HTML body, and the lines repeated on every page."""

    title: str  # "Shift handover", "Activity log (ICS 214)", "Break-glass packet"
    header_right: str  # the shift window
    footer_left: str  # site, desk and when it was printed
    html: str


def page_layout(paper: str) -> QPageLayout:
    key = paper.strip().lower()
    if key not in PAPERS:
        raise ValidationError(f"paper {paper!r}: use a4 or letter", field="paper")
    return QPageLayout(QPageSize(PAPERS[key]), QPageLayout.Orientation.Portrait,
                       QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                       QPageLayout.Unit.Millimeter)


def _font(points: float, bold: bool = False) -> QFont:
    font = QFont(BODY_FONT)
    font.setPointSizeF(points)
    font.setBold(bold)
    return font


def render(job: PrintJob, device: QPagedPaintDevice, painter: QPainter | None = None) -> int:
    """Paint `job` onto `device` (its page layout already set); returns the page count."""
    own = painter is None
    painter = painter or QPainter()
    if own and not painter.begin(device):
        raise DeskError("the printer or PDF file could not be opened for drawing")
    try:
        return _paint(job, device, painter)
    finally:
        if own:
            painter.end()


def _paint(job: PrintJob, device: QPagedPaintDevice, painter: QPainter) -> int:
    layout = device.pageLayout()
    rect = QRectF(layout.paintRectPixels(device.logicalDpiX()))
    width, height = rect.width(), rect.height()
    title, right, left = (for_display(t) for t in (job.title, job.header_right, job.footer_left))
    header_font, footer_font = _font(10.5, bold=True), _font(8)
    header_h = QFontMetricsF(header_font, device).height() * 1.8
    footer_h = QFontMetricsF(footer_font, device).height() * 1.8
    body_h = height - header_h - footer_h

    doc = QTextDocument()
    doc.documentLayout().setPaintDevice(device)
    doc.setDefaultFont(_font(BODY_POINTS))
    doc.setDocumentMargin(0)
    doc.setHtml(job.html)
    doc.setPageSize(QSizeF(width, body_h))
    if moved := _tables_to_move(doc, body_h):
        doc.setHtml(_with_page_breaks(job.html, moved))
    pages = max(1, doc.pageCount())
    for n in range(pages):
        if n:
            device.newPage()
        painter.save()
        painter.setPen(Qt.GlobalColor.black)
        painter.setFont(header_font)
        top = QRectF(0, 0, width, header_h * 0.7)
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         title)
        painter.drawText(top, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         right)
        painter.drawLine(0, int(header_h * 0.78), int(width), int(header_h * 0.78))
        painter.setFont(footer_font)
        bottom = QRectF(0, height - footer_h * 0.7, width, footer_h * 0.7)
        painter.drawLine(0, int(height - footer_h * 0.8), int(width),
                         int(height - footer_h * 0.8))
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         f"{left}   ·   {right}")
        painter.setFont(_font(9, bold=True))
        painter.drawText(bottom, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"page {n + 1} of {pages}")
        painter.translate(0, header_h - n * body_h)
        clip = QRectF(0, n * body_h, width, body_h)
        painter.setClipRect(clip)
        doc.drawContents(painter, clip)
        painter.restore()
    return pages


def _tables_to_move(doc: QTextDocument, page_h: float) -> list[int]:
    """Indexes of the short tables that would straddle a page break: a card brief cut in
    half is how a next step gets missed. Long tables (the activity log) still split.

    One layout pass: moving a table down shifts everything after it by the same gap, so the
    shifts are summed instead of re-laying out the document after each move (that cost
    ~0.1 s per move on a 50-page sheet)."""
    layout = doc.documentLayout()
    shift, moved = 0.0, []
    for i, frame in enumerate(doc.rootFrame().childFrames()):
        rect = layout.frameBoundingRect(frame)
        top, bottom = rect.top() + shift, rect.bottom() + shift
        if rect.height() > page_h * 0.5:
            continue
        if int(top // page_h) != int((bottom - 1) // page_h):
            shift += (int(top // page_h) + 1) * page_h - top
            moved.append(i)
    return moved


def _with_page_breaks(html: str, tables: list[int]) -> str:
    # The documents have no nested tables, so the n-th "<table" is the n-th top-level frame.
    parts = html.split("<table")
    for i in tables:
        parts[i + 1] = ' style="page-break-before:always"' + parts[i + 1]
    return "<table".join(parts)


def write_pdf(job: PrintJob, path: Path | str, paper: str = "a4") -> int:
    """Write `job` to a PDF file; returns the page count."""
    layout = page_layout(paper)
    target = Path(path)
    if not target.parent.exists():
        raise ValidationError(f"folder {target.parent} does not exist", field="out")
    writer = QPdfWriter(str(target))
    writer.setResolution(PDF_DPI)
    writer.setTitle(for_display(job.title))
    writer.setCreator("Dispatch Desk")
    writer.setPageLayout(layout)
    pages = render(job, writer)
    del writer  # flushes and closes the file
    if not target.exists() or target.stat().st_size == 0:
        raise DeskError(f"the PDF {target} could not be written")
    return pages


def printer_for(paper: str = "a4") -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageLayout(page_layout(paper))
    return printer


def print_to(job: PrintJob, printer: QPrinter) -> int:
    """Print to a configured printer (from a QPrintDialog or the preview)."""
    return render(job, printer)


def preview(job: PrintJob, parent: QWidget | None = None, paper: str = "a4"
            ) -> QPrintPreviewDialog:
    """A print preview dialog for `job`; call .exec() (or .open()) on it."""
    printer = printer_for(paper)
    dialog = QPrintPreviewDialog(printer, parent)
    dialog.setWindowTitle(for_display(f"Print preview: {job.title}"))
    dialog.paintRequested.connect(lambda p: render(job, p))
    return dialog
