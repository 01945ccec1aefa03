"""Honest freshness: the permanent strip at the bottom, and the one place messages appear.

The strip always says when the journal last saved a change, what time the desk thinks it is
(local and UTC: a desk with a wrong clock computes wrong deadlines, so the clock is shown, not
hidden), and "local only" until the desk syncs with a store: what the queue shows is this
desk's journal, not the whole floor.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStatusBar, QToolButton, QWidget

from app.clock import Clock
from app.protocol.text import for_display
from app.services.cards.timeline import local_time
from app.ui import style
from app.ui.elided_label import ElidedLabel
from app.ui.events import DeskEvents

LOCAL_ONLY = "LOCAL ONLY · not synced: other desks' cards are not shown"


def _hms(moment: datetime, tz: ZoneInfo) -> str:
    return local_time(moment, tz, seconds=True, day=False)


class StatusStrip(QStatusBar):
    def __init__(self, events: DeskEvents, clock: Clock, tz: ZoneInfo, journal_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self._tz = tz
        self.setSizeGripEnabled(False)
        self.saved = QLabel()
        self.saved.setObjectName("journalSaved")
        # The long lines elide (full text in the tooltip) rather than widen the window past
        # the screen: "Paging OFF: no Twilio credentials (...)" made it 1817 px on a 1600 one.
        self.link = ElidedLabel(LOCAL_ONLY)
        self.link.setStyleSheet(style.LOCAL_ONLY_CSS)
        # Who is signed in (on a desk with operator accounts; empty and hidden without).
        self.who = ElidedLabel()
        self.who.setObjectName("operator")
        self.who.hide()
        self.paging = ElidedLabel()
        self.paging.setObjectName("paging")
        self.paging.setStyleSheet(style.LOCAL_ONLY_CSS)
        self.paging.hide()
        self.desk_clock = QLabel()
        self.desk_clock.setObjectName("deskClock")
        # Fixed width: its text changes every second, and a label that changes size makes
        # the whole window lay out and repaint again.
        widest = "Desk clock 00:00:00 CEST · 00:00:00 UTC"
        metrics = QFontMetrics(self.desk_clock.font())
        self.desk_clock.setFixedSize(metrics.horizontalAdvance(widest) + 12, metrics.height() + 4)
        for label in (self.who, self.saved, self.link, self.paging, self.desk_clock):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            self.addPermanentWidget(label)
        self._journal_name = journal_name
        self.saved.setText(f"Journal {journal_name} open at {_hms(clock.now(), tz)}")
        self.saved.setToolTip("Every change is on disk before the window shows it.")
        events.changed.connect(self._saved)
        events.tick.connect(self.show_time)
        self.show_time()

    def _saved(self, _cards: object = None) -> None:
        # `changed` comes only after the journal's transaction committed with a full sync.
        self.saved.setText(f"Journal saved {_hms(self._clock.now(), self._tz)}")

    def show_time(self) -> None:
        now = self._clock.now()
        self.desk_clock.setText(
            f"Desk clock {now.astimezone(self._tz):%H:%M:%S %Z} · {now:%H:%M:%S} UTC"
        )

    def set_link(self, text: str) -> None:
        """The sync worker's one line: online/offline since when, waiting entries, last sync,
        clock offset (replaces "local only" once the desk is enrolled)."""
        self.link.setText(for_display(text))
        # Calm only when online with nothing refused, nothing set aside and the clock right.
        calm = text.startswith("Online") and not any(
            alarm in text for alarm in ("refused", "set aside", "CLOCK OFF"))
        self.link.setStyleSheet("" if calm else style.LOCAL_ONLY_CSS)

    def set_operator(self, text: str) -> None:
        """"Signed in: A. Novak (novak) — dispatcher", or "" on a desk without accounts."""
        self.who.setText(for_display(text))
        self.who.setVisible(bool(text))

    def set_paging(self, text: str) -> None:
        """Whether this desk can page: a desk that cannot must say so where it is seen."""
        self.paging.setText(text)
        self.paging.setVisible(bool(text))
        self.paging.setStyleSheet("" if text.startswith("Paging on") else style.LOCAL_ONLY_CSS)


class MessageBar(QWidget):
    """Errors and notices, shown until dismissed or replaced, never taking the focus."""

    def __init__(self, events: DeskEvents, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.text = QLabel()
        # Plain text: a message can quote what someone typed ("<img src=...>" is not HTML).
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setObjectName("messageText")
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss (Ctrl+D)")
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.clicked.connect(self.dismiss)
        row.addWidget(self.text, 1)
        row.addWidget(close)
        self.kind = ""
        events.error.connect(self.show_error)
        events.info.connect(self.show_info)
        self.hide()

    def show_error(self, text: str) -> None:
        # A refusal may say "Not done:" itself (the rights' one line): said once, not twice.
        text = text.removeprefix("Not done: ").rstrip(".")
        self._show("error", f"Not done: {text}. Nothing was changed.", style.ERROR_CSS)

    def show_info(self, text: str) -> None:
        self._show("info", text, style.INFO_CSS)

    def _show(self, kind: str, text: str, css: str) -> None:
        self.kind = kind
        self.text.setText(for_display(text))
        self.text.setStyleSheet(css)
        self.show()

    def dismiss(self) -> None:
        self.kind = ""
        self.text.clear()
        self.hide()
