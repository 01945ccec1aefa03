"""The shift lead's wallboard: full screen, dark, read from five metres, no interaction.

`WallboardWindow(desk, events)` listens to the app-wide DeskEvents: `changed` re-reads only
the cards it names (all of them for None), `tick` (once a second) recomputes the view from
the cached cards and probes the journal. The widget paints the `BoardView` itself, and only
when something visible changed: the "as of" clock repaints its own corner, nothing else
flickers. Every size is derived from the window height, so a laptop and a 4K screen show the
same board. The facts other parts own (sync, rota, ladders) come in as optional callables
polled on each tick; they must be cheap (return what the owner already holds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from app.application import Desk
from app.models.projection import CardState
from app.services.cards.card import Card
from app.services.handover.facts import EscalationLine, OnCallLine, SyncFacts
from app.services.handover.service import HandoverService
from app.services.handover.shifts import ShiftPlan
from app.services.intake import TrayItem
from app.services.intake.maintenance import Window
from app.services.measures.metrics import local_midnight
from app.services.measures.reviews import Review, review_of, review_pending
from app.ui.events import DeskEvents
from app.ui.wallboard_view import BoardView, build_view

log = logging.getLogger(__name__)

BG = QColor("#0d1117")
PANEL = QColor("#161b22")
TEXT = QColor("#f0f3f6")
DIM = QColor("#aab4bf")
RED = QColor("#ff6b6b")
AMBER = QColor("#ffb020")
GREEN = QColor("#4cd37a")
PRIORITY_BG = {"P1": QColor("#d7263d"), "P2": QColor("#f08a24"), "P3": QColor("#3b82f6"),
               "P4": QColor("#6b7280")}
STATE_COLOR = {"breached": RED, "soon": AMBER, "unacknowledged": TEXT}
FONT = "DejaVu Sans"
FACTS_EVERY = timedelta(seconds=15)


class WallboardWindow(QWidget):
    def __init__(
        self, desk: Desk, events: DeskEvents, *, shifts: ShiftPlan | None = None,
        sync: Callable[[], SyncFacts | None] | None = None,
        on_call: Callable[[datetime], Sequence[OnCallLine] | None] | None = None,
        escalations: Callable[[], Mapping[str, EscalationLine] | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.desk = desk
        self._handover = (HandoverService(desk.journal, desk.rules, shifts, desk.clock)
                          if shifts else None)
        self._sync, self._on_call_source, self._escalations = sync, on_call, escalations
        self._cards: dict[str, Card] = {}
        # Closed P1/P2 cards whose review is still to be done (measures/reviews.py).
        self._reviews: dict[str, tuple[Card, Review | None]] = {}
        self._tray: list[TrayItem] | None = None  # the triage tray's pending items
        self._windows: list[Window] = []  # maintenance windows: on now, they are shown
        self._loaded_at = desk.clock.now()
        # The slow facts (handover state, rota, ladders: journal reads across every open
        # card) are read after a change or every FACTS_EVERY, not on every 1-second tick;
        # the clocks and the link state still move each second.
        self._facts: tuple[Any, Any, Any] = (None, None, None)
        self._facts_at: datetime | None = None
        self.view: BoardView | None = None
        self.repaints = 0
        self.setWindowTitle("Dispatch Desk wallboard")
        self.setCursor(Qt.CursorShape.BlankCursor)  # nothing to click: no pointer in the way
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(640, 360)
        # No widgets inside take the keys: the board itself does (Esc and F11 close it).
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._reload(None)
        self.refresh()
        events.changed.connect(self._on_changed)
        events.tick.connect(self.refresh)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        # Esc or F11 (the key that opened it) closes the board; the desk's F11 shows this
        # same board again rather than another one.
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F11) and not event.modifiers():
            self.close()
            return
        super().keyPressEvent(event)

    # -- data -----------------------------------------------------------------------------

    def _reload(self, ids: Any) -> None:
        try:
            if ids is None:
                start = local_midnight(self.desk.clock.now(), self.desk.rules.tz)
                states = self.desk.journal.cards()
                cards = (Card.from_state(s) for s in states)
                self._cards = {c.id: c for c in cards if c.is_open or (c.closed_at or start)
                               >= start}
                self._reviews = {}
            else:
                states = [self.desk.journal.card(card_id) for card_id in ids]
                for state in states:
                    self._cards[state["id"]] = Card.from_state(state)
            self._watch_reviews(states)
            self._loaded_at = self.desk.clock.now()
        except Exception:  # noqa: BLE001 - the board shows STALE; the log has the cause
            log.exception("wallboard: reading the journal failed")
        try:  # any change may be an intake item's: it lives under its own id, not a card's
            self._tray = list(self.desk.intake.pending())
            self._windows = list(self.desk.intake.windows())
        except Exception:  # noqa: BLE001 - the tile says "-" rather than a stale count
            log.exception("wallboard: reading the triage tray failed")
            self._tray = None

    def _watch_reviews(self, states: list[CardState]) -> None:
        """Keep the cards whose review is pending (all at first, then the changed ones)."""
        for state in states:
            if not (state.get("review_owed") or state.get("review")):
                self._reviews.pop(state["id"], None)
                continue
            card, review = Card.from_state(state), review_of(state)
            if review_pending(card, review):
                self._reviews[card.id] = (card, review)
            else:
                self._reviews.pop(card.id, None)

    def _on_changed(self, ids: Any) -> None:
        self._reload(ids)
        self._facts_at = None
        self.refresh()

    def _slow_facts(self, now: datetime) -> tuple[Any, Any, Any]:
        if self._facts_at is None or now - self._facts_at >= FACTS_EVERY or now < self._facts_at:
            open_cards = [c for c in self._cards.values() if c.is_open]
            self._facts = (
                self._handover.status(now, open_cards) if self._handover else None,
                self._on_call_source(now) if self._on_call_source else None,
                self._escalations() if self._escalations else None,
            )
            self._facts_at = now
        return self._facts

    def _probe(self) -> None:
        """One cheap read a second: a journal that cannot be read makes the board STALE."""
        try:
            self.desk.journal.get_meta("desk_id")
            self._loaded_at = self.desk.clock.now()
        except Exception:  # noqa: BLE001
            log.warning("wallboard: journal probe failed", exc_info=True)

    def refresh(self) -> None:
        self._probe()
        now = self.desk.clock.now()
        handover, on_call, escalations = self._slow_facts(now)
        view = build_view(
            cards=list(self._cards.values()), rules=self.desk.rules, now=now,
            loaded_at=self._loaded_at, handover=handover,
            sync=self._sync() if self._sync else None,
            on_call=on_call, escalations=escalations, tray=self._tray, windows=self._windows,
            reviews=self._reviews.values(),
        )
        old, self.view = self.view, view
        if old is None or _without_clock(old) != _without_clock(view):
            self.repaints += 1
            self.update()
        elif old.as_of != view.as_of:
            self.update(self._clock_rect())

    # -- painting -------------------------------------------------------------------------

    def _unit(self) -> float:
        return max(8.0, self.height() / 34)

    def _clock_rect(self) -> QRect:
        u = self._unit()
        return QRect(int(self.width() * 0.62), 0, int(self.width() * 0.38), int(3 * u))

    def _font(self, size: float, bold: bool = False) -> QFont:
        font = QFont(FONT)
        font.setPixelSize(max(6, int(size)))
        font.setBold(bold)
        return font

    def _text(self, p: QPainter, rect: QRect, text: str, size: float, color: QColor,
              bold: bool = False, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
        font = self._font(size, bold)
        p.setFont(font)
        p.setPen(color)
        elided = QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        p.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), elided)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        view = self.view
        if view is None:
            return
        p = QPainter(self)
        p.fillRect(self.rect(), BG)
        u = self._unit()
        w, h = self.width(), self.height()
        pad = int(u * 0.6)
        self._header(p, view, u, w, pad)
        left = QRect(pad, int(3.4 * u), int(w * 0.6) - pad, h - int(3.4 * u) - pad)
        right = QRect(int(w * 0.6) + pad, int(3.4 * u), int(w * 0.4) - 2 * pad, left.height())
        self._risk(p, view, u, left)
        self._side(p, view, u, right)
        if view.stale:  # a stale board must never look calm: a red frame round everything
            pen = p.pen()
            pen.setColor(RED)
            pen.setWidth(int(u * 0.4))
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(self.rect().adjusted(int(u * 0.2), int(u * 0.2), -int(u * 0.2),
                                            -int(u * 0.2)))
        p.end()

    def _header(self, p: QPainter, view: BoardView, u: float, w: int, pad: int) -> None:
        p.fillRect(QRect(0, 0, w, int(3 * u)), PANEL)
        site = self._handover.plan.site if self._handover else "Dispatch Desk"
        self._text(p, QRect(pad, 0, int(w * 0.3), int(3 * u)), site, 1.3 * u, TEXT, True)
        band = QRect(int(w * 0.3), int(0.4 * u), int(w * 0.32), int(2.2 * u))
        if view.handover_pending:
            p.fillRect(band, AMBER)
        self._text(p, band.adjusted(pad, 0, -pad, 0), view.handover, 1.2 * u,
                   BG if view.handover_pending else DIM, view.handover_pending,
                   Qt.AlignmentFlag.AlignHCenter)
        clock = self._clock_rect().adjusted(pad, 0, -pad, 0)
        p.fillRect(self._clock_rect(), RED if view.stale else PANEL)
        label = f"STALE · as of {view.as_of}" if view.stale else f"as of {view.as_of}"
        self._text(p, clock, label, 1.6 * u, TEXT, True, Qt.AlignmentFlag.AlignRight)

    def _risk(self, p: QPainter, view: BoardView, u: float, area: QRect) -> None:
        y = area.top()
        title = "NEEDS ACTION" if view.rows else "NEEDS ACTION: nothing unacknowledged or at risk"
        self._text(p, QRect(area.left(), y, area.width(), int(1.8 * u)), title, 1.1 * u, DIM, True)
        y += int(2 * u)
        row_h = int(2.3 * u)
        room = max(0, (area.bottom() - y - int(5 * u)) // row_h)
        for row in view.rows[:room]:
            p.fillRect(QRect(area.left(), y, area.width(), row_h - int(0.3 * u)), PANEL)
            pill = QRect(area.left(), y, int(2.6 * u), row_h - int(0.3 * u))
            p.fillRect(pill, PRIORITY_BG.get(row.priority, DIM))
            self._text(p, pill, row.priority, 1.3 * u, TEXT, True, Qt.AlignmentFlag.AlignHCenter)
            x = pill.right() + int(0.6 * u)
            self._text(p, QRect(x, y, int(5.2 * u), row_h), row.number, 1.2 * u, TEXT, True)
            state_w = int(area.width() * 0.45)
            self._text(p, QRect(area.right() - state_w, y, state_w - int(0.5 * u), row_h),
                       row.text, 1.15 * u, STATE_COLOR[row.state], True,
                       Qt.AlignmentFlag.AlignRight)
            what = QRect(x + int(5.4 * u), y, area.right() - state_w - x - int(5.6 * u), row_h)
            self._text(p, what, row.what, 1.05 * u, DIM)
            y += row_h
        hidden = view.more + max(0, len(view.rows) - room)
        if hidden:
            self._text(p, QRect(area.left(), y, area.width(), int(1.6 * u)),
                       f"+ {hidden} more at risk", 1.1 * u, AMBER, True)
            y += int(1.8 * u)
        y += int(0.6 * u)
        self._text(p, QRect(area.left(), y, area.width(), int(1.6 * u)), "ESCALATIONS IN FLIGHT",
                   1.0 * u, DIM, True)
        y += int(1.7 * u)
        lines = view.escalations
        shown = ["no ladder data at this desk"] if lines is None else list(lines) or ["none"]
        for line in shown[: max(1, (area.bottom() - y) // int(1.5 * u))]:
            self._text(p, QRect(area.left(), y, area.width(), int(1.5 * u)), line, 1.05 * u,
                       AMBER if lines else DIM)
            y += int(1.5 * u)

    def _tiles(self, p: QPainter, u: float, area: QRect, y: int,
               tiles: Sequence[tuple[str, QColor, QColor]], size: float, per_row: int = 4
               ) -> int:
        """Rows of tiles (text, band or fill colour, text colour; BG as text colour means a
        filled tile)."""
        tile_w = area.width() // per_row
        for i, (text, band, color) in enumerate(tiles):
            row, col = divmod(i, per_row)
            tile = QRect(area.left() + col * tile_w, y + row * int(3.0 * u),
                         tile_w - int(0.4 * u), int(2.7 * u))
            p.fillRect(tile, PANEL if color is not BG else band)
            p.fillRect(QRect(tile.left(), tile.top(), tile.width(), int(0.35 * u)), band)
            self._text(p, tile.adjusted(int(0.2 * u), int(0.3 * u), -int(0.2 * u), 0), text,
                       size, TEXT if color is BG else color, True, Qt.AlignmentFlag.AlignHCenter)
        rows = max(1, -(-len(tiles) // per_row))
        return y + rows * int(3.0 * u) + int(0.2 * u)

    def _label(self, p: QPainter, u: float, area: QRect, y: int, label: str) -> int:
        self._text(p, QRect(area.left(), y, area.width(), int(1.5 * u)), label, 1.0 * u, DIM,
                   True)
        return y + int(1.6 * u)

    def _side(self, p: QPainter, view: BoardView, u: float, area: QRect) -> None:
        y = self._label(p, u, area, area.top(), "OPEN BY PRIORITY")
        y = self._tiles(p, u, area, y, [(f"{prio} {count}", PRIORITY_BG[prio], TEXT)
                                        for prio, count in view.counts], 1.6 * u)
        # Unassigned cards and untriaged intakes side by side: both are work nobody holds.
        half = QRect(area.left(), area.top(), area.width() // 2, area.height())
        self._pair(p, u, half, y, "UNASSIGNED", view.unassigned,
                   AMBER if view.unassigned != "0" else TEXT)
        y = self._pair(p, u, half.translated(area.width() // 2, 0), y, "TRAY (untriaged)",
                       view.tray, AMBER if view.tray_waiting else TEXT)
        y = self._label(p, u, area, y, "DESK LINKS")
        if view.desks:
            # A stale desk is a filled red tile: the one thing on the right that must shout.
            y = self._tiles(p, u, area, y, [
                (f"{d.desk} {d.text}", RED if d.stale else GREEN, BG if d.stale else TEXT)
                for d in view.desks], 1.0 * u, per_row=3)
        else:
            self._text(p, QRect(area.left(), y, area.width(), int(1.5 * u)),
                       "this desk only (no sync)", 1.1 * u, DIM)
            y += int(1.9 * u)
        if view.alerts:
            # Sync hazards shout like a stale desk: this desk's data or clock is not to trust.
            y = self._tiles(p, u, area, y, [(a, RED, BG) for a in view.alerts], 1.0 * u,
                            per_row=3)
        y = self._label(p, u, area, y, "SLA MET TODAY (reaction and recovery)")
        y = self._tiles(p, u, area, y, [(f"{prio} {share}", PRIORITY_BG[prio], TEXT)
                                        for prio, share in view.compliance], 1.15 * u)
        y = self._pair(p, u, area, y, "REACTION TODAY", view.reaction, TEXT)
        if view.reviews_overdue:
            y = self._pair(p, u, area, y, "POST-INCIDENT REVIEWS OVERDUE", view.reviews_overdue,
                           AMBER)
        y = self._list(p, u, area, y, "ON CALL NOW", view.on_call_now)
        self._list(p, u, area, y, "ON CALL NEXT", view.on_call_next)

    def _pair(self, p: QPainter, u: float, area: QRect, y: int, label: str, value: str,
              color: QColor) -> int:
        self._text(p, QRect(area.left(), y, area.width(), int(1.5 * u)), label, 1.0 * u, DIM, True)
        # Shrunk to fit rather than cut off: two pairs share a row (unassigned and the tray).
        width = QFontMetrics(self._font(1.5 * u, True)).horizontalAdvance(value)
        room = area.width() * 0.94  # a gap to the pair beside it; font sizes step unevenly
        size = 1.5 * u if width <= room else 1.5 * u * room / width
        self._text(p, QRect(area.left(), y + int(1.4 * u), area.width(), int(1.9 * u)), value,
                   size, color, True)
        return y + int(3.4 * u)

    def _list(self, p: QPainter, u: float, area: QRect, y: int, label: str,
              lines: Sequence[str] | None) -> int:
        self._text(p, QRect(area.left(), y, area.width(), int(1.5 * u)), label, 1.0 * u, DIM, True)
        y += int(1.5 * u)
        for line in (["no rota data"] if lines is None else list(lines) or ["nobody"])[:3]:
            if y + int(1.35 * u) > area.bottom():
                break
            self._text(p, QRect(area.left(), y, area.width(), int(1.35 * u)), line, 1.05 * u,
                       TEXT if lines else DIM)
            y += int(1.35 * u)
        return y + int(0.4 * u)


def _without_clock(view: BoardView) -> BoardView:
    return replace(view, as_of="")

