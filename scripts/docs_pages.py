"""Render the README's pictures from the demo shift: docs/handover-1.png (page 1 of the
handover sheet, `pdftoppm -r 80`) and docs/wallboard.png (the wallboard at 1920x1080).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/docs_pages.py [--out docs]

The demo shift ends at 19:45 on a Monday in Berlin, 15 minutes before the 20:00 change, so
the handover is pending. The rota, sync and ladder facts below are samples standing in for
those parts of the desk; the cards and clocks are the real demo journal.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.adapters.print_sheets import handover_job  # noqa: E402
from app.adapters.printing import write_pdf  # noqa: E402
from app.bootstrap import build_desk  # noqa: E402
from app.clock import FakeClock  # noqa: E402
from app.config import Settings  # noqa: E402
from app.services.demo import fill_demo  # noqa: E402
from app.services.handover.facts import (  # noqa: E402
    DeskLink,
    EscalationLine,
    OnCallLine,
    SyncFacts,
)
from app.services.handover.service import HandoverService  # noqa: E402
from app.loaders import load_shifts
from app.ui.events import DeskEvents  # noqa: E402
from app.ui.wallboard import WallboardWindow  # noqa: E402

END = datetime(2026, 11, 23, 18, 45, tzinfo=UTC)  # 19:45 in Berlin


def sample_on_call(now: datetime) -> list[OnCallLine]:
    return [
        OnCallLine("desk", "shift lead", "M. Keller", "+4930999000", until=now + timedelta(
            minutes=15)),
        OnCallLine("network", "primary", "L. Fischer", "+4930111222", "+4930111333",
                   until=now + timedelta(hours=12, minutes=15)),
        OnCallLine("building", "primary", "T. Brandt", "+4930222333",
                   until=now + timedelta(hours=12, minutes=15)),
        OnCallLine("desk", "shift lead", "S. Yilmaz", "+4930999111",
                   starts=now + timedelta(minutes=15), is_next=True),
        OnCallLine("network", "primary", "R. Vogel", "+4930444555",
                   starts=now + timedelta(hours=12, minutes=15), is_next=True),
    ]


def sample_sync(now: datetime) -> SyncFacts:
    return SyncFacts(
        last_sync=now - timedelta(seconds=20),
        outages=[(now - timedelta(hours=2), now - timedelta(hours=1, minutes=42))],
        desks=[DeskLink("A", now - timedelta(seconds=3)), DeskLink("B", now - timedelta(
            seconds=9)), DeskLink("C", now - timedelta(minutes=4))],
        hazards=["Monitoring alerts for Branch 3 suppressed until 21:00 (planned work)."],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(["docs_pages"])
    clock = FakeClock(END)
    with tempfile.TemporaryDirectory() as tmp:
        desk = build_desk(Settings(journal=Path(tmp) / "demo.sqlite", operator="M. Keller",
                                   role="shift_lead"), clock)
        fill_demo(desk.journal, desk.rules, END)
        desk.journal.use_clock(clock)
        plan = load_shifts()
        service = HandoverService(desk.journal, desk.rules, plan, clock)
        p1 = next(c for c in desk.cards.open_cards() if c.priority == "P1")
        hv = next(c for c in desk.cards.open_cards() if c.category == "security")
        ladders = {
            p1.id: EscalationLine(p1.id, 1, 4, "L. Fischer", END - timedelta(minutes=170),
                                  acknowledged_by="L. Fischer"),
            hv.id: EscalationLine(hv.id, 2, 4, "K. Berg (security backup)",
                                  END - timedelta(minutes=3),
                                  next_tier_at=END + timedelta(minutes=1)),
        }
        sheet = service.draft("M. Keller", on_call=sample_on_call(END), sync=sample_sync(END),
                              escalations=ladders)
        pdf = Path(tmp) / "handover.pdf"
        pages = write_pdf(handover_job(sheet), pdf, "a4")
        subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile",
                        str(pdf), str(args.out / "handover-1")], check=True)
        events = DeskEvents(clock)
        board = WallboardWindow(desk, events, shifts=plan, sync=lambda: sample_sync(END),
                                on_call=sample_on_call, escalations=lambda: ladders)
        board.resize(1920, 1080)
        board.refresh()
        board.grab().save(str(args.out / "wallboard.png"))
        desk.close()
    del app
    print(f"wrote {args.out / 'handover-1.png'} (of {pages} pages) and "
          f"{args.out / 'wallboard.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
