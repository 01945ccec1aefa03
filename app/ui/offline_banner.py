"""The banner that cannot be missed: no internet, so the dispatcher must phone the person now.

It sits at the top of the desk window, red and large, and beeps when an alarm appears and every
30 s (on the shared one-second ``tick``) while it stands. It shows whom to phone with both
numbers, the pages queued while offline, and two actions: "Reached by phone" records the
acknowledgement (which stops the ladder) and "Cancel queued pages" keeps the ladder from
sending them late when the link returns. The decisions are in ``app/services/offline_alarm``.
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from app.application import Desk
from app.errors import DeskError
from app.models.entry import Entry
from app.services.cards.commands import Acknowledge
from app.services.escalation.offline_alarm import OfflineAlarm, OfflinePaging
from app.services.escalation.state import LadderState
from app.ui.events import DeskEvents

log = logging.getLogger(__name__)
BEEP_EVERY_TICKS = 30  # seconds: often enough to be heard, not so often it gets muted

_STYLE = """
QFrame#offlineBanner { background: #b00020; border: 3px solid #ffeb3b; border-radius: 4px; }
QFrame#offlineBanner QLabel { color: white; }
QLabel#offlineTitle { font-size: 20pt; font-weight: bold; }
QLabel#offlinePhones { font-size: 18pt; font-weight: bold; color: #ffeb3b; }
QFrame#offlineBanner QPushButton { font-size: 13pt; font-weight: bold; padding: 6px 14px; }
"""


class OfflineBanner(QFrame):
    def __init__(self, desk: Desk, events: DeskEvents, parent: QFrame | None = None) -> None:
        super().__init__(parent)
        self.desk, self.events = desk, events
        self.paging: OfflinePaging | None = None
        self.alarms: list[OfflineAlarm] = []
        # Running ladders by card id, re-read only for the cards a change names.
        self._ladders: dict[str, tuple[LadderState, list[Entry]]] | None = None
        self.beeps = 0
        self._ticks = 0
        self.setObjectName("offlineBanner")
        self.setStyleSheet(_STYLE)
        self.title, self.phones = QLabel(), QLabel()
        self.title.setObjectName("offlineTitle")
        self.phones.setObjectName("offlinePhones")
        self.phones.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.reached = QPushButton("Reached by phone")
        self.reached.clicked.connect(self.reached_by_phone)
        self.cancel = QPushButton("Cancel queued pages")
        self.cancel.clicked.connect(self.cancel_queued)
        text = QVBoxLayout()
        for label in (self.title, self.phones, self.detail):
            text.addWidget(label)
        row = QHBoxLayout(self)
        row.addLayout(text, 1)
        row.addWidget(self.reached)
        row.addWidget(self.cancel)
        self.hide()
        events.changed.connect(self.check)
        events.tick.connect(self._on_tick)

    def watch(self, paging: OfflinePaging) -> None:
        """Start watching (the ladder runs); called by ``DeskBackground``."""
        self.paging = paging
        self._ladders = None
        self.check()

    def check(self, cards: object = None) -> None:
        """Re-read the alarms: after a change (only the ladders of the cards it names; every
        open card's when it names none), and on the ladder's alarm."""
        if self.paging is None:
            return
        try:
            if isinstance(cards, frozenset) and self._ladders is not None:
                for card_id in cards:
                    self._ladders.pop(card_id, None)
                self._ladders.update(self.paging.running(cards))
            else:
                self._ladders = self.paging.running()
            running = list(self._ladders.values())
            queued = self.paging.queued(running)
            expired = self.paging.expire(queued=queued)
            if expired:  # those pages now carry a cancellation: read their ladders again
                stale = {p.card_id for p in queued if p.expires_at <= self.desk.clock.now()}
                for card_id in stale:
                    self._ladders.pop(card_id, None)
                self._ladders.update(self.paging.running(stale))
                running = list(self._ladders.values())
                queued = self.paging.queued(running)
            alarms = self.paging.alarms(running=running)
        except DeskError as exc:
            log.warning("offline alarm check failed: %s", exc)
            return
        if expired:
            self.events.info.emit(f"{expired} page(s) queued while offline expired and will "
                                  "not be sent late")
        fresh = bool(alarms) and not self.alarms
        self.alarms = alarms
        if not alarms:
            self.hide()
            return
        first = alarms[0]
        self.title.setText(f"NO INTERNET: paging is impossible. Phone {first.who} NOW "
                           f"(card {first.number}, tier {first.tier})")
        self.phones.setText("    ".join(f"{label}: {n}" for label, n in (
            ("Primary", first.primary_phone), ("Backup", first.backup_phone)) if n)
            or "No number in the roster")
        mine = [p for p in queued if p.card_id == first.card_id]
        since = first.since.astimezone(self.desk.rules.tz).strftime("%H:%M:%S")
        parts = [f"Since {since}: {first.reason}."]
        if mine:
            pages = ", ".join(f"{'SMS' if p.channel == 'sms' else 'call'} to {p.to}"
                              for p in mine)
            parts.append(f"Queued while offline: {pages}.")
        if len(alarms) > 1:
            parts.append(f"And {len(alarms) - 1} more card(s): "
                         + ", ".join(a.number for a in alarms[1:]) + ".")
        self.detail.setText(" ".join(parts))
        self.cancel.setEnabled(bool(mine))
        self.show()
        if fresh:
            self._ticks = 0
            self._beep()

    def _on_tick(self) -> None:
        if not self.alarms:
            return
        self._ticks += 1
        if self._ticks % BEEP_EVERY_TICKS == 0:
            self._beep()

    def _beep(self) -> None:
        self.beeps += 1
        QApplication.beep()

    def reached_by_phone(self) -> None:
        """The dispatcher got the person on the phone: that is the acknowledgement."""
        if not self.alarms:
            return
        a, desk = self.alarms[0], self.desk
        self.events.run(partial(desk.handle, Acknowledge(a.number, a.who, "phone")),
                        cards=frozenset({a.card_id}))

    def cancel_queued(self) -> None:
        if not self.alarms or self.paging is None:
            return
        a, paging = self.alarms[0], self.paging
        desk = self.desk
        self.events.run(lambda: paging.cancel(a.number, desk.require().name),
                        cards=frozenset({a.card_id}))
