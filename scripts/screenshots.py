"""Screenshots of the desk window on the demo shift, for the README.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [OUT_DIR]

Saves desk.png (the queue and a card), card.png (the drill's P1 with its timeline),
intake.png (a call being taken, with the duplicate suggestion) and tray.png (the triage tray
with alerts, mail and a maintenance window's item) at 1600x900 under docs/screenshots/, and
the wallboard of the same shift at 1920x1080 (docs/screenshots/wallboard.png) with the same
picture scaled to 25 %, 480x270 (docs/wallboard-25.png): about what the board's text looks
like from five metres, so one can judge its legibility without a big screen. The shift ends
at a fixed time so the pictures are the same every run.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit  # noqa: E402

from app.bootstrap import build_desk  # noqa: E402
from app.clock import FakeClock  # noqa: E402
from app.config import Settings  # noqa: E402
from app.models.entry import NewEntry  # noqa: E402
from app.protocol.intake import Alert  # noqa: E402
from app.runtime.facts import DeskFacts  # noqa: E402
from app.runtime.message_worker import message_worker_for  # noqa: E402
from app.services.handover.facts import DeskLink, SyncFacts  # noqa: E402
from app.ui.events import DeskEvents  # noqa: E402
from app.ui.launch import build_window, fill_if_empty, record_breaches  # noqa: E402

# Tuesday 09:40 in Berlin: the night's cards are still open, the day shift has begun.
SHIFT_END = datetime(2026, 11, 24, 8, 40, tzinfo=UTC)
SIZE = (1600, 900)
CALL = {  # a second report of the Wi-Fi outage registered 12 minutes ago: a likely duplicate
    "source_channel": "phone", "reporter": "Branch 3 office manager, ext 310",
    "q_what": "Laptops in meeting room 2 cannot join the Wi-Fi", "symptom":
    "No Wi-Fi in meeting room 2", "category": "network", "site": "Branch 3", "room": "2",
}


# What the one door brought in this morning (minutes before the shot, channel, integration,
# dedup key, summary, site, category, node); three Branch 7 reports make a probable emergency.
TRAY = (
    (38, "alertmanager", "prometheus-prod", "am-disk", "Disk 91% full on db-2", "HQ",
     "business_system", "db-2"),
    (26, "email", "noc-mailbox", "mail-ups", "UPS 3 on battery since 09:12", "Branch 3",
     "power", "ups-3"),
    (14, "grafana", "grafana-cloud", "gf-latency", "Checkout latency p95 above 2 s", "HQ",
     "business_system", ""),
    *((9 - n, "webhook", "branch-pinger", f"ping-{n}", f"Branch 7 switch {n} unreachable",
       "Branch 7", "network", f"sw-b7-{n}") for n in range(3)),
)


def tray_items(desk: object, clock: FakeClock) -> None:
    intake = desk.intake  # type: ignore[attr-defined]
    now = clock.now()
    intake.setup.schedule_maintenance("HQ core switch firmware", now - timedelta(hours=1),
                                now + timedelta(hours=1), "A. Novak", site="HQ",
                                category="network")
    alerts = [Alert(integration=integ, channel=channel, dedup_key=key, summary=summary,
                    received_at=now - timedelta(minutes=ago), site=site, category=category,
                    node=node) for ago, channel, integ, key, summary, site, category, node
              in TRAY]
    alerts.append(Alert(integration="prometheus-prod", channel="alertmanager",
                        dedup_key="am-core", summary="Core switch port flapping",
                        received_at=now - timedelta(minutes=5), site="HQ",
                        category="network"))
    intake.receive(alerts, "A. Novak")
    intake.receive(alerts[:1] * 4, "A. Novak")  # the disk alert kept firing


BOARD = (1920, 1080)
FIVE_METRES = (480, 270)  # 25 %
DESK_C = "0199c0de-desk-c"  # a desk that went dark six minutes before the shot


def ladders_in_flight(desk: Any, now: datetime) -> None:
    """Two ladders for the board: this desk's at tier 2 (its next tier still ahead), and one
    that desk C took over and then went dark with (the board marks it STALE, as of C's last
    contact). Hand-written steps: the demo journal has no pager."""
    journal = desk.journal
    cards = {c.number: c for c in desk.cards.open_cards()}

    def step(number: str, tier: int, ago: int, who: str, phone: str) -> NewEntry:
        return NewEntry(cards[number].id, "ladder.step", {
            "tier": tier, "attempt": 1, "due": (now - timedelta(minutes=ago)).isoformat(),
            "who": who, "to": {"sms": phone, "voice": phone}})

    journal.write([step("B-0008", 1, 5, "Hannes Richter", "+447700900130"),
                   step("B-0008", 2, 1, "Gerda Bauer", "+447700900132"),
                   step("B-0013", 1, 9, "Robert Sommer", "+447700900148"),
                   NewEntry(cards["B-0013"].id, "ladder.taken_over",
                            {"from": journal.desk_id, "to": DESK_C})], "ladder")


def wallboard(desk: Any, clock: FakeClock, full_size: Path, small: Path) -> list[Path]:
    from app.ui.wallboard import WallboardWindow

    now = clock.now()
    ladders_in_flight(desk, now)
    me = desk.journal.desk_id
    sync = SyncFacts(last_sync=now - timedelta(seconds=12), desks=[
        DeskLink("A", now - timedelta(seconds=4), "0199a0de-desk-a"),
        DeskLink("B", now - timedelta(seconds=12), me),
        DeskLink("C", now - timedelta(minutes=6), DESK_C)])
    facts = DeskFacts(desk)
    board = WallboardWindow(desk, DeskEvents(clock), shifts=desk.shifts, sync=lambda: sync,
                            on_call=facts.on_call, escalations=facts.escalations)
    board.resize(*BOARD)
    board.refresh()
    full = board.grab()
    full.save(str(full_size))
    # Rendered at full size, then shrunk: a board drawn at 480x270 would lay out its text for
    # that size instead, which says nothing about a 1920x1080 screen seen from afar.
    full.scaled(*FIVE_METRES, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation).save(str(small))
    board.close()
    return [full_size, small]


def settle(app: QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def fill_intake(form: object, values: dict[str, str]) -> None:
    inputs = form.ui.inputs  # type: ignore[attr-defined]
    for key, value in values.items():
        widget = inputs[key]
        if isinstance(widget, QLineEdit):
            widget.setText(value)
            widget.editingFinished.emit()
        elif isinstance(widget, QComboBox) and widget.isEditable():
            widget.setCurrentText(value)
        else:
            index = widget.findData(value)
            widget.setCurrentIndex(index)
            widget.activated.emit(index)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(SHIFT_END)
        desk = build_desk(Settings(journal=Path(tmp) / "demo.sqlite", desk_code="B",
                                   operator="A. Novak").validated(), clock)
        # The outbox from the shift's start: its worker, made before the demo fills the
        # journal, queues what the shift's cards ask for. No Twilio here (the desk says
        # "outbox OFF"), so the messages wait; the customer texts go stale below.
        outbox_worker = message_worker_for(desk, None, pager=None,  # type: ignore[arg-type]
                                           on_error=lambda _text: None)
        fill_if_empty(desk)
        outbox_worker.step()
        events = DeskEvents(clock)
        settings = QSettings(str(Path(tmp) / "ui.ini"), QSettings.Format.IniFormat)
        window = build_window(desk, events, settings=settings)
        record_breaches(desk, events, window)
        window.resize(*SIZE)
        window.show()
        events.tick.emit()
        settle(app)
        saved = []

        p1 = next(c for c in desk.cards.open_cards() if c.priority == "P1")
        window.show_number(p1.number)  # type: ignore[attr-defined]
        settle(app)
        window.grab().save(str(out / "desk.png"))
        saved.append("desk.png")

        window.split.setSizes([700, 900])  # type: ignore[attr-defined]
        settle(app)
        window.grab().save(str(out / "card.png"))
        saved.append("card.png")

        window.split.setSizes([1010, 590])  # type: ignore[attr-defined]
        window.open_intake()  # type: ignore[attr-defined]
        fill_intake(window.intake, CALL)  # type: ignore[attr-defined]
        settle(app)
        window.grab().save(str(out / "intake.png"))
        saved.append("intake.png")

        window.intake.clear()  # type: ignore[attr-defined]
        tray_items(desk, clock)
        events.announce(None)
        window.split.setSizes([560, 1040])  # type: ignore[attr-defined]
        window.tray.open()  # type: ignore[attr-defined]
        window.tray.table.selectRow(1)  # type: ignore[attr-defined]
        settle(app)
        window.grab().save(str(out / "tray.png"))
        saved.append("tray.png")

        window.open_outbox()  # type: ignore[attr-defined]
        outbox = window._outbox  # type: ignore[attr-defined]
        outbox.resize(1200, 520)
        settle(app)
        outbox.grab().save(str(out / "outbox.png"))
        saved.append("outbox.png")
        outbox.close()
        outbox_worker.stop()
        window.hide()  # not close(): with P1s open, close() asks "Quit anyway?" and waits
        # The 25 % board sits in docs/ beside wallboard.png (or in OUT_DIR when one is given).
        small = (out if len(sys.argv) > 1 else out.parent) / "wallboard-25.png"
        boards = wallboard(desk, clock, out / "wallboard.png", small)
        desk.close()
    print("saved", ", ".join([*(str(out / name) for name in saved), *map(str, boards)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
