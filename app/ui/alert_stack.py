"""The stack of unseen notices: heard, flashed on the taskbar, listed until cleared (F4).

`AlertStack` is a strip above the queue that never takes the keyboard: a notice arriving
while the dispatcher types a report changes nothing under their fingers. `AlertDesk` looks
for notices when the journal changes (any process's write) and every few seconds (a clock
running out is a matter of time, not of a write), plays the loudest new one's sound unless
its kind is silenced (a P1 never is), and asks the window manager to flash the taskbar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFrame, QLabel, QVBoxLayout, QWidget

from app.adapters.sound import Sound
from app.application import Desk
from app.errors import DeskError
from app.protocol.text import for_display
from app.services.alerts import KINDS, LOUD_PRIORITIES, AlertWatch, Notice, TrayLine, loudest
from app.services.cards.card import Card
from app.services.cards.timeline import local_time
from app.services.handover.facts import EscalationLine
from app.services.intake import TrayItem
from app.ui.events import DeskEvents

log = logging.getLogger(__name__)
SHOWN = 3  # lines in view (the queue keeps the screen); the rest are "+N more"
SCAN_EVERY_TICKS = 5
# One compact line each: the stack must not push the queue off the screen.
_LOUD_CSS = "background: #fde7e7; color: #8c1d18; padding: 1px 4px;"
_KIND_CSS = {"p1": _LOUD_CSS, "breach": _LOUD_CSS, "intake": _LOUD_CSS}


class AlertStack(QFrame):
    def __init__(self, tz: tzinfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tz = tz
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.lines = [QLabel() for _ in range(SHOWN)]
        self.more = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(1)
        for label in (self.title, *self.lines, self.more):
            label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            label.setTextFormat(Qt.TextFormat.PlainText)
            layout.addWidget(label)
        self.notices: list[Notice] = []
        self.sound_line = ""
        self._show()

    def add(self, notices: Sequence[Notice]) -> None:
        self.notices = [*reversed(notices), *self.notices]  # newest first
        self._show()

    def clear(self) -> int:
        cleared = len(self.notices)
        self.notices = []
        self._show()
        return cleared

    def texts(self) -> list[str]:
        return [label.text() for label in self.lines if label.isVisibleTo(self)]

    def _show(self) -> None:
        self.setVisible(bool(self.notices))
        self.title.setText(f"Notices: {len(self.notices)} not yet seen (F4 clears) · "
                           f"{self.sound_line}")
        for label, notice in zip(self.lines, [*self.notices, *[None] * SHOWN], strict=False):
            label.setVisible(notice is not None)
            if notice is not None:
                when = local_time(notice.at, self.tz)
                label.setText(for_display(f"{when}  {KINDS[notice.kind]}: {notice.text}"))
                label.setStyleSheet(_KIND_CSS.get(notice.kind, ""))
        extra = len(self.notices) - SHOWN
        self.more.setVisible(extra > 0)
        self.more.setText(f"+{extra} more")


class AlertDesk:
    """Finds notices, sounds them and puts them on the stack."""

    def __init__(self, desk: Desk, events: DeskEvents, stack: AlertStack, sound: Sound, *,
                 silenced: frozenset[str] = frozenset(),
                 link_down_since: Callable[[], datetime | None] = lambda: None,
                 escalations: Callable[[], Mapping[str, EscalationLine] | None] = lambda: None,
                 cards: Callable[[], Iterable[Card]] | None = None,
                 tray: Callable[[], Iterable[TrayItem]] | None = None,
                 window: QWidget | None = None) -> None:
        self.desk, self.stack, self.sound, self.silenced = desk, stack, sound, silenced
        self.watch = AlertWatch(desk.rules)
        self._link_down_since, self._escalations = link_down_since, escalations
        # What the window already holds in memory (the queue's rows, the tray's items), so a
        # look reads nothing: it runs on the GUI thread at every change and every few ticks.
        self._cards = cards or desk.cards.open_cards
        self._tray = tray or desk.intake.pending
        self.window = window
        self._ticks = 0
        self.heard: list[str] = []  # kinds whose sound was asked for, in order
        stack.sound_line = sound.describe()
        events.changed.connect(lambda _cards: self.look())
        events.tick.connect(self._tick)
        self.look()  # what is there as the window opens: listed, not sounded

    def _tick(self) -> None:
        self._ticks += 1
        if self._ticks % SCAN_EVERY_TICKS == 0:
            self.look()

    def look(self) -> list[Notice]:
        try:
            cards = [c for c in self._cards() if c.priority in LOUD_PRIORITIES]
            numbers = {c.id: c.number for c in cards}
            tiers = [(cid, numbers.get(cid, ""), line.tier, line.tiers)
                     for cid, line in (self._escalations() or {}).items() if line.in_flight]
            tray = [TrayLine(i.id, i.channel, i.summary, i.callback)
                    for i in self._tray()]
            fresh = self.watch.scan(cards, self.desk.clock.now(), tray=tray,
                                    ladder_tiers=tiers,
                                    link_down_since=self._link_down_since())
        except DeskError as exc:  # a journal that cannot be read now: try at the next look
            log.warning("notices not checked: %s", exc)
            return []
        if fresh:
            self.stack.add(fresh)
            self._announce([n for n in fresh if n.loud])
        return fresh

    def _announce(self, loud: Sequence[Notice]) -> None:
        top = loudest([n for n in loud if n.kind not in self.silenced])
        if top is not None:
            self.heard.append(top.kind)
            self.sound.play(top.kind)
        if loud and self.window is not None:
            QApplication.alert(self.window, 0)  # the taskbar flashes until the window is seen

    def clear(self) -> int:
        return self.stack.clear()
