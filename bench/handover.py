"""`python -m bench.handover`: the handover PDF and the wallboard with 200 open cards.

1. Draft the handover from a journal of 200 open cards and write it as an A4 PDF (journal
   read, sheet, HTML, layout, header/footer on every page), versus the baseline: Qt's own
   QTextDocument.print_ of the same HTML to a QPdfWriter (no drafting, no page furniture).
   Target: <= 2 s for ours. Median of several runs, interleaved.
2. Wallboard CPU per refresh (process time): one tick's `refresh()` (view from the cached
   cards, journal probe, compare) and one full repaint at 1920x1080; baseline: a full repaint
   of the same window showing a journal with no cards.

Last line: one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QPdfWriter, QTextDocument  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.adapters.print_sheets import handover_html, handover_job  # noqa: E402
from app.adapters.printing import page_layout, write_pdf  # noqa: E402
from app.bootstrap import build_desk  # noqa: E402
from app.clock import FakeClock  # noqa: E402
from app.config import Settings  # noqa: E402
from app.loaders import load_shifts
from app.services.handover.service import HandoverService  # noqa: E402
from app.ui.events import DeskEvents  # noqa: E402
from app.ui.wallboard import WallboardWindow  # noqa: E402
from bench.fixtures import build_big_journal  # noqa: E402

OPEN_CARDS = 200
ROUNDS = 5
TICKS = 30


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def _timed(fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    t = clock()
    fn()
    return clock() - t


def main() -> dict[str, Any]:
    app = QApplication.instance() or QApplication(["bench"])
    with tempfile.TemporaryDirectory() as tmp:
        path = build_big_journal(Path(tmp) / "desk.sqlite", total=OPEN_CARDS, open_=OPEN_CARDS)
        clock = FakeClock()
        desk = build_desk(Settings(journal=path, operator="bench"), clock)
        service = HandoverService(desk.journal, desk.rules, load_shifts(), clock)
        html = handover_html(service.draft("bench"))
        ours, baseline, pages = [], [], 0
        for n in range(ROUNDS):
            pdf = Path(tmp) / f"ours{n}.pdf"

            def produce(pdf: Path = pdf) -> None:
                nonlocal pages
                pages = write_pdf(handover_job(service.draft("bench")), pdf, "a4")

            def plain(n: int = n) -> None:
                writer = QPdfWriter(str(Path(tmp) / f"plain{n}.pdf"))
                writer.setResolution(300)
                writer.setPageLayout(page_layout("a4"))
                doc = QTextDocument()
                doc.setHtml(html)
                doc.print_(writer)
                del writer

            ours.append(_timed(produce))
            baseline.append(_timed(plain))

        events = DeskEvents(clock)
        board = WallboardWindow(desk, events, shifts=load_shifts())
        board.resize(1920, 1080)
        refresh, paint = [], []
        for _ in range(TICKS):
            clock.advance(1)
            refresh.append(_timed(board.refresh, time.process_time))
            paint.append(_timed(board.grab, time.process_time))
        rows = len(board.view.rows) if board.view else 0
        desk.close()

        empty = build_desk(Settings(journal=Path(tmp) / "empty.sqlite", operator="bench"), clock)
        empty_board = WallboardWindow(empty, DeskEvents(clock))
        empty_board.resize(1920, 1080)
        empty_paint = [_timed(empty_board.grab, time.process_time) for _ in range(TICKS)]
        empty.close()
    del app
    result = {
        "open_cards": OPEN_CARDS,
        "handover_pdf_s_median": round(statistics.median(ours), 3),
        "handover_pdf_pages": pages,
        "baseline_qt_print_s_median": round(statistics.median(baseline), 3),
        "ratio_to_baseline": round(statistics.median(ours) / statistics.median(baseline), 2),
        "target_pdf_s": 2.0,
        "wallboard_refresh_cpu_ms_median": _median_ms(refresh),
        "wallboard_full_repaint_cpu_ms_median": _median_ms(paint),
        "wallboard_empty_repaint_cpu_ms_median": _median_ms(empty_paint),
        "wallboard_risk_rows": rows,
    }
    print(f"handover PDF, {OPEN_CARDS} open cards, {pages} pages: median "
          f"{result['handover_pdf_s_median']} s (Qt print_ of the same HTML: "
          f"{result['baseline_qt_print_s_median']} s; target <= 2 s)")
    print(f"wallboard per tick: refresh {result['wallboard_refresh_cpu_ms_median']} ms CPU; "
          f"full repaint 1920x1080 {result['wallboard_full_repaint_cpu_ms_median']} ms CPU "
          f"(empty board {result['wallboard_empty_repaint_cpu_ms_median']} ms)")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
