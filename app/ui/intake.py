"""The intake form: the five mandatory questions in the order a dispatcher asks them, the
minimum classification, a priority suggested live from the impact x urgency matrix, and a
duplicate check before anything is registered.

The form holds no rules of its own: CardService validates (and names the missing answer),
suggests matches and flags a probable emergency. A half-typed report is never lost: Esc only
closes, and the draft is kept in the journal's desk meta so it survives a crash too.

A report from the triage tray (`take_item`) comes pre-filled from the intake service; saving
it accepts the item (the card and the item's acceptance in one journal transaction) and
attaching it attaches the item, so the tray never keeps an item a card was made from.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QCompleter, QLineEdit, QWidget

from app.application import Desk
from app.errors import DeskError, ValidationError
from app.models.projection import INTAKE_FIELDS
from app.protocol.text import for_display
from app.services.cards.card import Card
from app.services.cards.commands import AttachReport, RegisterCard
from app.services.cards.rules import PRIORITIES
from app.services.intake.commands import AcceptItem, AttachItem
from app.ui.events import DeskEvents
from app.ui.intake_layout import Input, IntakeLayout, sections

log = logging.getLogger(__name__)
T = TypeVar("T")
DRAFT_META_KEY = "intake_draft"
# Composed answers: the question is answered by structured fields, so a missing answer is
# shown on the field the dispatcher has to fill.
ANSWER_WIDGET = {"q_where": "site", "q_workaround": "workaround", "q_contact": "onsite_contact",
                 "text": "q_what", "reason": "priority_reason", "impact": "impact",
                 "urgency": "urgency"}


class IntakeForm(QWidget):
    """Register a report as a new card, or attach it to an open card it duplicates."""

    registered = Signal(str)  # the new card's number
    attached = Signal(str)  # the number of the card the report was attached to
    dismissed = Signal()  # Esc: the host may hide the form; the draft is kept

    def __init__(self, desk: Desk, events: DeskEvents, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.events = events
        self.ui = IntakeLayout(self, desk.rules)
        self._priority_chosen = False  # the dispatcher overrode the suggestion
        self._dirty = False
        self._matches_shown: tuple[str, ...] | None = None
        self._cleared: dict[str, str] | None = None
        self._restoring = False
        self._matches_stale = False
        self.item_id: str | None = None  # the tray item this report comes from
        self._required = tuple(spec.key for _, specs in sections(desk.rules) for spec in specs
                               if spec.required)

        for key, widget in self.ui.inputs.items():
            _on_edit(widget, functools.partial(self._edited, key))
        self.ui.impact.currentIndexChanged.connect(self._suggest_priority)
        self.ui.urgency.currentIndexChanged.connect(self._suggest_priority)
        self.ui.priority.activated.connect(self._priority_picked)
        self.ui.site.editingFinished.connect(self.refresh_matches)
        self.ui.category.activated.connect(self.refresh_matches)
        self.ui.q_what.editingFinished.connect(self._offer_symptom)
        self.ui.register_button.clicked.connect(self.submit)
        self.ui.attach_button.clicked.connect(self.attach_selected)
        self.ui.clear_button.clicked.connect(self.clear)
        self.ui.restore_button.clicked.connect(self.restore_cleared)
        self.ui.matches.itemSelectionChanged.connect(self._match_selected)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.submit)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.dismiss)
        events.tick.connect(self._tick)
        events.changed.connect(self._journal_changed)

        self._sites = QCompleter([], self)
        self._sites.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.ui.site.setCompleter(self._sites)
        self._sites_stale = True  # reloaded when the cursor enters the site field
        self.ui.site.installEventFilter(self)
        self._load_draft()

    # -- reading the form ---------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """Every input as typed (the draft), keyed by field name."""
        return {key: _value(widget) for key, widget in self.ui.inputs.items()}

    def intake(self) -> dict[str, str]:
        """The intake the CardService validates: typed fields plus the composed answers."""
        v = self.values()
        intake = {k: v[k] for k in INTAKE_FIELDS if v.get(k)}
        where = [v["site"], v["building"], v["floor"] and f"floor {v['floor']}",
                 v["room"] and f"room {v['room']}", v["equipment"]]
        intake["q_where"] = ", ".join(p for p in where if p) if v["site"] else ""
        urgency = f"; recovery urgency {v['urgency']}" if v["urgency"] else ""
        intake["q_workaround"] = v["workaround"] + urgency if v["workaround"] else ""
        confirms = f"; confirms recovery: {v['confirmer']}" if v["confirmer"] else ""
        intake["q_contact"] = v["onsite_contact"] + confirms if v["onsite_contact"] else ""
        if v["priority"]:
            intake["priority"] = v["priority"]
        intake["priority_reason"] = v["priority_reason"]
        return intake

    def report_text(self) -> str:
        """The report in one line, for the timeline of the card it is attached to."""
        i = self.intake()
        parts = [i.get("q_what", ""), i.get("q_where", ""), i.get("q_when", ""),
                 i.get("q_contact", "") and "contact " + i["q_contact"]]
        return "; ".join(p for p in parts if p)

    # -- actions ------------------------------------------------------------------------

    def submit(self) -> Card | None:
        """Ctrl+Enter: register, unless open cards look like the same incident and the
        dispatcher has not seen them yet (the second Ctrl+Enter registers anyway)."""
        self.ui.clear_marks()
        intake = self.intake()
        matches = self.refresh_matches()
        shown = tuple(c.number for c in matches)
        if matches and self._matches_shown != shown:
            self._matches_shown = shown
            self.ui.matches.setFocus()
            self.events.info.emit(
                f"{len(matches)} open card(s) look like the same incident: attach the report "
                "to one, or press Ctrl+Enter again to register a new card"
            )
            return None

        item_id = self.item_id

        def register() -> Card:
            if item_id is not None:
                return self.desk.handle(AcceptItem(item_id, intake))
            return self.desk.handle(RegisterCard(intake))

        card = self.events.run(self._marking(register))
        if card is not None:
            self._finish()
            tray = " from the tray" if item_id is not None else ""
            self.events.info.emit(f"registered {card.number} ({card.priority}){tray}")
            self.registered.emit(card.number)
        return card

    def attach_selected(self) -> Card | None:
        item = self.ui.matches.currentItem()
        if item is None:
            self.events.error.emit("select the open card to attach this report to")
            return None
        number = str(item.data(Qt.ItemDataRole.UserRole))
        v = self.values()
        reporter = v["reporter"] or v["onsite_contact"] or v["source_channel"]
        text = self.report_text()
        item_id = self.item_id

        def attach() -> Card:
            if item_id is not None:
                return self.desk.handle(AttachItem(item_id, number))
            return self.desk.handle(AttachReport(number, reporter, text))

        card = self.events.run(self._marking(attach))
        if card is not None:
            self._finish()
            self.events.info.emit(f"report attached to {card.number}")
            self.attached.emit(card.number)
        return card

    def refresh_matches(self) -> list[Card]:
        """Show open cards at the same site and category, and flag a probable emergency."""
        site, category = self.ui.site.text().strip(), _value(self.ui.category)
        if not (site and category):
            self.ui.show_matches([], False, site)
            return []
        cards = self._read(lambda: self.desk.cards.similar_open(site, category)) or []
        emergency = bool(
            cards and self._read(lambda: self.desk.cards.probable_emergency(site, category))
        )
        self.ui.show_matches(cards, emergency, site, self.desk.rules.tz)
        return cards

    def open_at_start(self) -> None:
        """Ctrl+N / F2: the form from its top, the cursor in its first field, so the first
        word the caller says lands there (a draft being resumed included)."""
        self.ui.scroll.verticalScrollBar().setValue(0)
        self.ui.scroll.horizontalScrollBar().setValue(0)
        self.ui.first_input().setFocus(Qt.FocusReason.ShortcutFocusReason)

    def take_item(self, item_id: str, prefill: Mapping[str, str]) -> bool:
        """Enter in the tray: this form, pre-filled from the item, the cursor on the first
        answer still missing. A half-typed report of another call is never overwritten: the
        form says so and keeps it (register or clear it first; a clear can be undone)."""
        if self.item_id == item_id:
            return True  # the same item again: go on with what was typed
        if any(self.values().values()):
            self.events.error.emit("the intake form holds a half-typed report: register it, "
                                   "or clear it (Clear can be undone), then accept the tray "
                                   "item again")
            return False
        values = {k: str(v) for k, v in prefill.items()}
        for answer, widget in (("q_contact", "onsite_contact"), ("q_workaround", "workaround")):
            values.setdefault(widget, values.get(answer, ""))  # composed here from the field
        self._apply(values)
        self.item_id = item_id
        self._priority_chosen = bool(prefill.get("priority"))
        self._matches_shown = None
        self.ui.clear_marks()
        self.save_draft(force=True)
        return True

    def first_missing(self) -> QWidget:
        """The first required input still empty (the first input when none is)."""
        return next((self.ui.inputs[k] for k in self._required
                     if k in self.ui.inputs and not _value(self.ui.inputs[k])),
                    self.ui.first_input())

    def dismiss(self) -> None:
        """Esc: close without losing anything; the draft stays for the next opening."""
        self.save_draft(force=True)
        self.dismissed.emit()
        if self.isWindow():
            self.hide()

    def clear(self) -> None:
        """Start a fresh report; the cleared one can be restored until typing begins."""
        values = self.values()
        if any(values.values()):
            self._cleared = values | {"_item_id": self.item_id or ""}
        self._reset()
        self.ui.restore_button.setVisible(self._cleared is not None)

    def restore_cleared(self) -> None:
        if self._cleared is not None:
            self._apply(self._cleared)
            self.item_id = self._cleared.get("_item_id") or None
            self._cleared = None
        self.ui.restore_button.setVisible(False)

    # -- the draft ----------------------------------------------------------------------

    def save_draft(self, force: bool = False) -> None:
        if not (self._dirty or force):
            return
        values = self.values()
        values["_priority_chosen"] = "1" if self._priority_chosen else ""
        values["_item_id"] = self.item_id or ""
        data = json.dumps(values, sort_keys=True) if any(values.values()) else ""
        try:
            self.desk.journal.set_meta(DRAFT_META_KEY, data)
        except DeskError as exc:
            self.events.error.emit(f"the intake draft could not be saved: {exc}")
            return
        self._dirty = False

    def _load_draft(self) -> None:
        text = self._read(lambda: self.desk.journal.get_meta(DRAFT_META_KEY))
        if not text:
            return
        try:
            values = json.loads(text)
        except ValueError:
            log.warning("ignoring an unreadable intake draft")
            return
        if isinstance(values, dict):
            self._apply({str(k): str(v) for k, v in values.items()})
            self._priority_chosen = bool(values.get("_priority_chosen"))
            self.item_id = str(values.get("_item_id") or "") or None

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.save_draft()
        super().hideEvent(event)

    # -- internals ----------------------------------------------------------------------

    def _read(self, query: Callable[[], T]) -> T | None:
        # Reads go straight to the service: routing them through events.run would announce
        # a change that never happened. Failures still reach the one error place.
        try:
            return query()
        except DeskError as exc:
            self.events.error.emit(str(exc))
            return None

    def _marking(self, action: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            try:
                return action()
            except ValidationError as exc:
                self._mark(exc.field, exc.message)
                raise

        return run

    def _mark(self, field: str | None, message: str) -> None:
        key = ANSWER_WIDGET.get(field or "", field or "")
        widget = self.ui.inputs.get(key)
        if widget is not None:
            self.ui.mark_missing(widget, message)
            self.ui.scroll.ensureWidgetVisible(widget)
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    def _edited(self, key: str, *_changed: object) -> None:
        if self._restoring:
            return
        self._dirty = True
        self.ui.unmark(self.ui.inputs[key])
        if self._cleared is not None:
            self._cleared = None
            self.ui.restore_button.setVisible(False)

    def _suggest_priority(self) -> None:
        impact, urgency = _value(self.ui.impact), _value(self.ui.urgency)
        if not (impact and urgency):
            self.ui.suggestion.setText("Choose impact and urgency for a suggestion")
            return
        suggested = self.desk.rules.priority_for(impact, urgency)
        chosen = _value(self.ui.priority)
        if not self._priority_chosen or not chosen:
            self.ui.priority.setCurrentIndex(self.ui.priority.findData(suggested))
            chosen = suggested
        note = "" if chosen == suggested else f"; you chose {chosen}, say why below"
        self.ui.suggestion.setText(
            f"Suggested {suggested} (impact {impact} × urgency {urgency}){note}"
        )

    def _priority_picked(self) -> None:
        self._priority_chosen = _value(self.ui.priority) in PRIORITIES
        self._suggest_priority()

    def _offer_symptom(self) -> None:
        # The queue shows the symptom; start it from the caller's words, to be shortened.
        if not self.ui.symptom.text().strip():
            self.ui.symptom.setText(self.ui.q_what.text().strip())

    def _match_selected(self) -> None:
        item = self.ui.matches.currentItem()
        number = item.data(Qt.ItemDataRole.UserRole) if item else None
        self.ui.attach_button.setEnabled(number is not None)
        self.ui.attach_button.setText(
            f"&Attach report to {for_display(number)}" if number
            else "&Attach report to selected card"
        )

    def _journal_changed(self, _cards: object) -> None:
        # Another call taker's card may be the same incident as the one being typed. The
        # check costs ~0.3 s with 2,000 open cards (bench/intake.py), so a burst of changes
        # (a sync pull) is folded into one check on the next tick.
        self._sites_stale = True
        self._matches_stale = True

    def _tick(self) -> None:
        self.save_draft()
        if self._matches_stale and self.isVisible():
            self._matches_stale = False
            if self.ui.site.text().strip() and _value(self.ui.category):
                self.refresh_matches()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.ui.site and event.type() == QEvent.Type.FocusIn and self._sites_stale:
            self._refresh_sites()
        return False

    def _refresh_sites(self) -> None:
        self._sites_stale = False
        cards = self._read(self.desk.cards.open_cards) or []
        model = self._sites.model()
        sites = sorted({c.site for c in cards if c.site}, key=str.lower)
        model.setStringList(sites)  # type: ignore[attr-defined]

    def _apply(self, values: dict[str, str]) -> None:
        self._restoring = True
        try:
            for key, widget in self.ui.inputs.items():
                _set_value(widget, values.get(key, ""))
        finally:
            self._restoring = False
        self._dirty = True
        self._suggest_priority()
        self.refresh_matches()

    def _reset(self) -> None:
        self._apply({})
        self._priority_chosen = False
        self.item_id = None
        self._matches_shown = None
        self.ui.clear_marks()
        self._suggest_priority()
        self.ui.first_input().setFocus()

    def _finish(self) -> None:
        self._cleared = None
        self.ui.restore_button.setVisible(False)
        self._reset()
        self.save_draft(force=True)


def _value(widget: Input) -> str:
    if isinstance(widget, QLineEdit):
        return widget.text().strip()
    if widget.isEditable():
        return widget.currentText().strip()
    data = widget.currentData()
    return str(data) if data else ""


def _set_value(widget: Input, value: str) -> None:
    if isinstance(widget, QLineEdit):
        widget.setText(value)
        widget.setCursorPosition(0)  # a restored draft reads from its start
    elif widget.isEditable():
        widget.setCurrentText(value)
    else:
        widget.setCurrentIndex(max(widget.findData(value or ""), 0))


def _on_edit(widget: Input, slot: Callable[[], None]) -> None:
    if isinstance(widget, QLineEdit):
        widget.textChanged.connect(slot)
    elif isinstance(widget, QComboBox):
        widget.currentTextChanged.connect(slot)
