"""The shift lead's wallboard: full screen, dark, read from five metres, no interaction.

`WallboardWindow(desk, events)` listens to the app-wide DeskEvents: `changed` re-reads only
the cards it names (all of them for None), `tick` (once a second) recomputes the view from
the cached cards and probes the journal. The widget paints the `BoardView` itself, and only
when something visible changed: the "as of" clock repaints its own corner, nothing else
flickers. Every size is derived from the window height, so a laptop and a 4K screen show the
same board. The facts other parts own (sync, rota, ladders) come in as optional callables
polled on each tick; they must be cheap (return what the owner already holds). Which desk runs
each ladder in flight is read from the journal here (a few cards, with the slow facts): with
the desks' last contacts in the sync facts, it tells a dark desk's ladder from a live one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFontMetrics, QKeyEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from app.application import Desk
from app.errors import DeskError
from app.loaders import load_ladder
from app.models.projection import CardState
from app.services.cards.card import Card
from app.services.escalation.ladder import Ladder
from app.services.escalation.state import derive
from app.services.handover.facts import EscalationLine, OnCallLine, SyncFacts
from app.services.handover.service import HandoverService
from app.services.handover.shifts import ShiftPlan
from app.services.intake import TrayItem
from app.services.intake.maintenance import Window
from app.services.measures.metrics import local_midnight
from app.services.measures.reviews import Review, review_of, review_pending
from app.ui.events import DeskEvents
from app.ui.wallboard_paint import BG, DIM, PANEL, TEXT, BoardPainter
from app.ui.wallboard_view import BoardView, LadderDesks, LadderRow, build_view

log = logging.getLogger(__name__)

RED = QColor("#ff6b6b")
AMBER = QColor("#ffb020")
GREEN = QColor("#4cd37a")
PRIORITY_BG = {"P1": QColor("#d7263d"), "P2": QColor("#f08a24"), "P3": QColor("#3b82f6"),
               "P4": QColor("#6b7280")}
STATE_COLOR = {"breached": RED, "soon": AMBER, "unacknowledged": TEXT}
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
        self._facts: tuple[Any, Any, Any, Any] = (None, None, None, None)
        self._facts_at: datetime | None = None
        self._ladder: Ladder | None = None  # the ladder file, read once
        self.view: BoardView | None = None
        self.repaints = 0
        self.cut: list[str] = []
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

    def _slow_facts(self, now: datetime) -> tuple[Any, Any, Any, Any]:
        if self._facts_at is None or now - self._facts_at >= FACTS_EVERY or now < self._facts_at:
            open_cards = [c for c in self._cards.values() if c.is_open]
            escalations = self._escalations() if self._escalations else None
            self._facts = (
                self._handover.status(now, open_cards) if self._handover else None,
                self._on_call_source(now) if self._on_call_source else None,
                escalations,
                self._ladder_desks(escalations),
            )
            self._facts_at = now
        return self._facts

    def _ladder_desks(self, lines: Mapping[str, EscalationLine] | None) -> LadderDesks | None:
        """Which desk runs each ladder in flight (its owner, after any takeover), derived from
        the journal as the ladder itself does; None when there is no store to have other
        desks, or the ladder cannot be read (the lines then show without a freshness mark)."""
        if not lines or self._sync is None:
            return None
        journal = self.desk.journal
        try:
            if self._ladder is None:
                self._ladder = load_ladder(self.desk.settings.ladder)
            owners = {card_id: derive(journal.card(card_id), journal.entries(card_id),
                                      self._ladder).owner
                      for card_id, line in lines.items() if line.in_flight}
        except DeskError as exc:
            log.warning("wallboard: which desk runs each ladder is unknown: %s", exc)
            return None
        return LadderDesks(journal.desk_id, owners)

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
        handover, on_call, escalations, ladder_desks = self._slow_facts(now)
        view = build_view(
            cards=list(self._cards.values()), rules=self.desk.rules, now=now,
            loaded_at=self._loaded_at, handover=handover,
            sync=self._sync() if self._sync else None,
            on_call=on_call, escalations=escalations, ladder_desks=ladder_desks,
            tray=self._tray, windows=self._windows,
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

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        view = self.view
        if view is None:
            return
        p = QPainter(self)
        p.fillRect(self.rect(), BG)
        u = self._unit()
        b = BoardPainter(p, u)
        w, h = self.width(), self.height()
        pad = int(u * 0.6)
        self._header(b, view, w, pad)
        left = QRect(pad, int(3.4 * u), int(w * 0.6) - pad, h - int(3.4 * u) - pad)
        right = QRect(int(w * 0.6) + pad, int(3.4 * u), int(w * 0.4) - 2 * pad, left.height())
        self._risk(b, view, left)
        self._side(b, view, right)
        self.cut = b.cut  # what had to be cut after all (a test looks: it should be none)
        if view.stale:  # a stale board must never look calm: a red frame round everything
            pen = p.pen()
            pen.setColor(RED)
            pen.setWidth(int(u * 0.4))
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(self.rect().adjusted(int(u * 0.2), int(u * 0.2), -int(u * 0.2),
                                            -int(u * 0.2)))
        p.end()

    def _header(self, b: BoardPainter, view: BoardView, w: int, pad: int) -> None:
        u = b.u
        b.p.fillRect(QRect(0, 0, w, int(3 * u)), PANEL)
        site = self._handover.plan.site if self._handover else "Dispatch Desk"
        b.text(QRect(pad, 0, int(w * 0.3) - pad, int(3 * u)), site, 1.3 * u, TEXT, True,
               fit=True)
        band = QRect(int(w * 0.3), int(0.4 * u), int(w * 0.32), int(2.2 * u))
        if view.handover_pending:
            b.p.fillRect(band, AMBER)
        b.text(band.adjusted(pad, 0, -pad, 0), view.handover, 1.2 * u,
               BG if view.handover_pending else DIM, view.handover_pending,
               Qt.AlignmentFlag.AlignHCenter, fit=True)
        clock = self._clock_rect().adjusted(pad, 0, -pad, 0)
        b.p.fillRect(self._clock_rect(), RED if view.stale else PANEL)
        label = f"STALE · as of {view.as_of}" if view.stale else f"as of {view.as_of}"
        b.text(clock, label, 1.6 * u, TEXT, True, Qt.AlignmentFlag.AlignRight, fit=True)

    def _risk(self, b: BoardPainter, view: BoardView, area: QRect) -> None:
        u = b.u
        y = area.top()
        title = "NEEDS ACTION" if view.rows else "NEEDS ACTION: nothing unacknowledged or at risk"
        b.text(QRect(area.left(), y, area.width(), int(1.8 * u)), title, 1.1 * u, DIM, True,
               fit=True)
        y += int(2 * u)
        lines = view.escalations
        ladders = ([LadderRow("no ladder data at this desk")] if lines is None
                   else _two_lines_when_stale(lines) or [LadderRow("none")])
        # Room is kept for the ladders in flight (up to four lines) under the cards at risk.
        below = int(2.4 * u) + int(1.5 * u) * min(4, len(ladders)) + int(1.8 * u)
        row_h = int(2.3 * u)
        room = max(1, (area.bottom() - y - below) // row_h)
        for row in view.rows[:room]:
            p_h = row_h - int(0.3 * u)
            b.p.fillRect(QRect(area.left(), y, area.width(), p_h), PANEL)
            pill = QRect(area.left(), y, int(2.6 * u), p_h)
            b.p.fillRect(pill, PRIORITY_BG.get(row.priority, DIM))
            b.text(pill, row.priority, 1.3 * u, TEXT, True, Qt.AlignmentFlag.AlignHCenter,
                   fit=True)
            x = pill.right() + int(0.6 * u)
            b.text(QRect(x, y, int(5.2 * u), row_h), row.number, 1.2 * u, TEXT, True, fit=True)
            # The state takes what it needs (up to 55 %); the symptom the rest, elided last.
            need = QFontMetrics(b.font(1.15 * u, True)).horizontalAdvance(row.text) + int(u)
            state_w = min(need, int(area.width() * 0.55))
            b.text(QRect(area.right() - state_w, y, state_w - int(0.5 * u), row_h), row.text,
                   1.15 * u, STATE_COLOR[row.state], True, Qt.AlignmentFlag.AlignRight, fit=True)
            what = QRect(x + int(5.4 * u), y, area.right() - state_w - x - int(5.6 * u), row_h)
            b.text(what, row.what, 1.05 * u, DIM)
            y += row_h
        hidden = view.more + max(0, len(view.rows) - room)
        if hidden:
            b.text(QRect(area.left(), y, area.width(), int(1.6 * u)),
                   f"+ {hidden} more at risk", 1.1 * u, AMBER, True)
            y += int(1.8 * u)
        y += int(0.6 * u)
        b.text(QRect(area.left(), y, area.width(), int(1.6 * u)), "ESCALATIONS IN FLIGHT",
               1.0 * u, DIM, True)
        y += int(1.7 * u)
        fits = max(1, (area.bottom() - y) // int(1.5 * u))
        if len(ladders) > fits:  # the last line says what did not fit, never a silent cut
            left = sum(1 for r in ladders[fits - 1:] if not r.text.startswith(" "))
            ladders = [*ladders[:fits - 1], LadderRow(f"+ {left} more")]
        for line in ladders:
            # A dark desk's ladder in red (its last known tier is not where it stands now),
            # shrunk rather than cut: "STALE, as of" is at the end of the line.
            b.text(QRect(area.left(), y, area.width(), int(1.5 * u)), line.text, 1.05 * u,
                   (RED if line.stale else AMBER) if lines else DIM, line.stale, fit=True)
            y += int(1.5 * u)

    def _side(self, b: BoardPainter, view: BoardView, area: QRect) -> None:
        u = b.u
        y = b.label(area, area.top(), "OPEN BY PRIORITY")
        y = b.tiles(area, y, [(f"{prio} {count}", PRIORITY_BG[prio], TEXT)
                              for prio, count in view.counts], 1.6 * u)
        # Unassigned cards and untriaged intakes side by side: both are work nobody holds.
        half = QRect(area.left(), area.top(), area.width() // 2, area.height())
        b.pair(half, y, "UNASSIGNED", view.unassigned,
               AMBER if view.unassigned != "0" else TEXT)
        y = b.pair(half.translated(area.width() // 2, 0), y, "TRAY (untriaged)",
                   view.tray_count, AMBER if view.tray_waiting else TEXT)
        if view.maintenance:  # its own line: squeezed beside the count it was unreadable
            b.text(QRect(area.left(), y - int(0.3 * u), area.width(), int(1.4 * u)),
                   view.maintenance, 1.0 * u, AMBER, fit=True)
            y += int(1.3 * u)
        y = b.label(area, y, "DESK LINKS")
        if view.desks:
            # A stale desk is a filled red tile: the one thing on the right that must shout.
            y = b.tiles(area, y, [
                (f"{d.desk} {d.text}", RED if d.stale else GREEN, BG if d.stale else TEXT)
                for d in view.desks], 1.0 * u, per_row=3)
        else:
            b.text(QRect(area.left(), y, area.width(), int(1.5 * u)),
                   "this desk only (no sync)", 1.1 * u, DIM)
            y += int(1.9 * u)
        if view.alerts:
            # Sync hazards shout like a stale desk: this desk's data or clock is not to trust.
            y = b.tiles(area, y, [(a, RED, BG) for a in view.alerts], 1.0 * u, per_row=3)
        # The day's reaction times share the SLA's label line: the rota needs the rows below.
        y = b.label(area, y, f"SLA MET TODAY · reaction {view.reaction}")
        y = b.tiles(area, y, [(f"{prio} {share}", PRIORITY_BG[prio], TEXT)
                              for prio, share in view.compliance], 1.15 * u)
        if view.reviews_overdue:
            y = b.inline(area, y, "REVIEWS OVERDUE", view.reviews_overdue, AMBER)
        self._rota(b, view, area, y)

    def _rota(self, b: BoardPainter, view: BoardView, area: QRect, y: int) -> None:
        """Who is on call now and next, in what room is left: "now" first, "next" at least
        one line; each list ends in "+ N more" when it does not fit."""
        u = b.u
        line_h = 1.25 * u
        now = ["no rota data"] if view.on_call_now is None else list(view.on_call_now) or [
            "nobody"]
        nxt = ["no rota data"] if view.on_call_next is None else list(view.on_call_next) or [
            "nobody"]
        lines = int((area.bottom() - y - 2 * int(1.6 * u) - int(0.4 * u)) // line_h)
        # "Next" gets a third of the room if it needs it, "now" the rest, and what "now" does
        # not need goes back to "next".
        now_room = min(len(now), max(1, lines - max(1, min(len(nxt), lines // 3))))
        next_room = max(1, lines - now_room)
        y = b.listing(area, y, "ON CALL NOW", now, now_room, 1.0 * u,
                      TEXT if view.on_call_now else DIM, line_h)
        b.listing(area, y + int(0.4 * u), "ON CALL NEXT", nxt, next_room, 1.0 * u,
                  TEXT if view.on_call_next else DIM, line_h)


def _two_lines_when_stale(rows: Sequence[LadderRow]) -> list[LadderRow]:
    """A dark desk's ladder on two lines, its STALE mark on the second: on one line it had to
    shrink past reading from across the room."""
    out = []
    for row in rows:
        head, mark, tail = row.text.partition(" · ")
        out.extend([LadderRow(head, True), LadderRow("    " + tail, True)] if row.stale and mark
                   else [row])
    return out


def _without_clock(view: BoardView) -> BoardView:
    return replace(view, as_of="")

