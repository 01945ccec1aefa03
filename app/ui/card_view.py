"""One card: its fields, its three clocks, its timeline, and the actions on it.

Each action asks for words in a small dialog and makes one card-service call through
`DeskEvents.run`: the journal has the change (or the message bar says why not) before the
screen shows anything. The card is re-read on `changed` for this card; the clocks move on
`tick` without reading anything.

Card text is untrusted (people, scripts, other desks): it is shown through `for_display`, so
bidi controls cannot reorder it, and in plain-text labels, so markup in it is not rendered.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.application import Desk
from app.errors import NotFoundError
from app.loaders import load_ladder, load_templates
from app.protocol.text import for_display
from app.services.cards.card import KIND_LABELS, Card
from app.services.cards.commands import (
    Acknowledge,
    AddNote,
    CardCommand,
    Confirm,
    SendEta,
)
from app.services.cards.queue import countdown
from app.services.cards.sla import CardClocks, clocks_for
from app.services.cards.status_message import compose
from app.services.cards.timeline import CLOCK_LABELS, local_time, timeline
from app.sync.quarantine import refused_lines
from app.ui import style
from app.ui.actions import shortcut_hint
from app.ui.dialogs import (
    AckDialog,
    AssignDialog,
    NoteDialog,
    PriorityDialog,
    StatusDialog,
    StatusMessageDialog,
)
from app.ui.elided_label import ElidedLabel
from app.ui.events import DeskEvents
from app.ui.paging_section import PagingSection

C = TypeVar("C", bound=CardCommand)  # a dialog's command, handed back when refused
FIELD_LABELS = {
    "kind_of_work": "Kind of work", "category": "Category", "symptom": "Symptom",
    "impact_scope": "Impact", "affected_users": "Users affected", "risk_signs": "Risk signs",
    "source_channel": "Source", "reporter": "Reporter", "onsite_contact": "On-site contact",
    "tried": "Already tried", "workaround": "Workaround", "started_at": "Started",
    "impact": "Impact level", "urgency": "Urgency",
    # The five mandatory questions (MANDATORY in the card service), short enough for a label.
    "q_what": "1. What, for whom", "q_where": "2. Where", "q_when": "3. Since, what changed",
    "q_workaround": "4. Workaround, urgency", "q_contact": "5. Contact, confirms",
}
_LOCATION = ("site", "building", "floor", "room", "equipment")


def _plain(label: QLabel) -> QLabel:
    # A QLabel renders text that looks like HTML as HTML ("<img src=...>" in a symptom).
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class CardView(QWidget):
    def __init__(self, desk: Desk, events: DeskEvents, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._events = events
        self.card: Card | None = None
        self._clocks: CardClocks | None = None
        self._shown_fields: list[tuple[str, str]] = []

        # Elided, not as wide as its text: a long symptom must not push the divider.
        self.title = ElidedLabel("No card selected")
        self.title.setObjectName("cardTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.title.setFont(font)
        self.badge = QLabel()
        self.status = _plain(QLabel())
        self.status.setFont(style.bold(self.status.font()))
        head = QHBoxLayout()
        head.addWidget(self.badge)
        head.addWidget(self.title)
        head.addWidget(self.status)
        head.addStretch(1)
        self.reason = _plain(QLabel())
        self.reason.setWordWrap(True)

        self.clock_labels: dict[str, QLabel] = {}
        clocks = QGridLayout()
        for col, name in enumerate(("reaction", "recovery", "update")):
            caption = QLabel(CLOCK_LABELS[name].capitalize())
            value = QLabel("—")
            value.setObjectName(f"clock_{name}")
            value.setFont(style.bold(value.font()))
            value.setAlignment(Qt.AlignmentFlag.AlignCenter)
            # A fixed size: a label whose text changes every second would otherwise ask the
            # whole window to lay itself out again, and repaint it, once a second.
            metrics = QFontMetrics(value.font())
            value.setFixedSize(metrics.horizontalAdvance("BREACHED 10h 59m") + 24,
                               metrics.height() + 10)
            clocks.addWidget(caption, 0, col, Qt.AlignmentFlag.AlignCenter)
            clocks.addWidget(value, 1, col, Qt.AlignmentFlag.AlignCenter)
            self.clock_labels[name] = value

        self.fields = QFormLayout()
        self.fields.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # The five questions are long labels: their answers go under them, not far right.
        self.fields.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        # Under the fields, in their scroll area: whom to phone, where the ladder stands.
        self.paging = PagingSection(desk, events)
        holder = QWidget()
        stacked = QVBoxLayout(holder)
        stacked.addLayout(self.fields)
        stacked.addWidget(self.paging)
        stacked.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)

        self.timeline = QTableWidget(0, 4)
        self.timeline.setHorizontalHeaderLabels(["When", "Who", "What", "Detail"])
        self.timeline.verticalHeader().hide()
        self.timeline.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.timeline.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.timeline.setWordWrap(True)
        self.timeline.horizontalHeader().setStretchLastSection(True)
        self.timeline.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(scroll)
        split.addWidget(self.timeline)
        split.setSizes([320, 380])

        self.buttons: dict[str, QPushButton] = {}
        actions = QGridLayout()  # two rows of three: the card panel stays narrow
        for i, (key, text, slot) in enumerate((
            ("status", "Status…", self.change_status),
            ("priority", "Priority…", self.change_priority),
            ("note", "Note…", self.add_note),
            ("assign", "Assign…", self.assign),
            ("acknowledge", "Acknowledged…", self.acknowledge),
            ("confirm", "Confirm", self.confirm),
            ("status_message", "Status message…", self.status_message),
            ("eta", "Send ETA to customer", self.send_eta),
        )):
            button = QPushButton(f"{text}  {shortcut_hint(key)}")
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.clicked.connect(slot)
            actions.addWidget(button, i // 3, i % 3)
            self.buttons[key] = button
        self.quick_note = QLineEdit()
        self.quick_note.setPlaceholderText("Quick note on this card; Ctrl+Enter adds it")
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self.quick_note, self.add_quick_note,
                      context=Qt.ShortcutContext.WidgetShortcut)

        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.reason)
        layout.addLayout(clocks)
        layout.addLayout(actions)
        layout.addWidget(self.quick_note)
        layout.addWidget(split, 1)
        self._set_enabled(False)
        events.changed.connect(self._on_changed)
        events.tick.connect(self.show_clocks)

    # -- showing --------------------------------------------------------------------------

    def show_card(self, number: str | None) -> None:
        if not number:
            self.card = None
            self._clear()
            return
        try:
            card = self._desk.cards.get(number)
        except NotFoundError as exc:
            self._events.error.emit(str(exc))
            return
        self._render(card)

    def _on_changed(self, cards: frozenset[str] | None) -> None:
        if self.card is not None and (cards is None or self.card.id in cards):
            self.show_card(self.card.number)

    def _render(self, card: Card) -> None:
        switched = self.card is None or self.card.id != card.id
        self.card = card
        self._clocks = clocks_for(card, self._desk.rules, self._desk.clock.now())
        tz = self._desk.rules.tz
        self.title.setText(for_display(f"{card.number}  {card.symptom}"))
        self.badge.setText(for_display(card.priority))
        self.badge.setStyleSheet(style.PRIORITY_CSS.get(card.priority, ""))
        self.status.setText(for_display(card.status_label))
        self.reason.setText(for_display(f"Priority reason: {card.priority_reason}  ·  policy: "
                                        f"{self._clocks.policy}"))
        field_rows = self._field_rows(card, tz)
        if field_rows != self._shown_fields:  # a note changes no field: keep the form as is
            self._shown_fields = field_rows
            while self.fields.rowCount():
                self.fields.removeRow(0)
            for label, value in field_rows:
                text = _plain(QLabel(value))
                text.setWordWrap(True)
                text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.fields.addRow(f"{label}:", text)
        self._fill_timeline(card)
        self.show_clocks()
        self._set_enabled(card.is_open)
        if switched:
            self.quick_note.clear()  # a half-typed note belongs to the card it was typed for

    def _field_rows(self, card: Card, tz: Any) -> list[tuple[str, str]]:
        """(label, text) of each field row, cleaned for display (answers keep their lines:
        each sits in its own row, under its own label)."""
        return [(label, for_display(value, multiline=True))
                for label, value in self._raw_field_rows(card, tz)]

    def _raw_field_rows(self, card: Card, tz: Any) -> list[tuple[str, str]]:
        rows = [("Location", card.location or card.site),
                ("Kind of work", KIND_LABELS.get(card.get("kind_of_work") or "", "")),
                ("Registered", local_time(card.registered_at, tz)
                 + ("  (entered late from paper)" if card.entered_late else "")),
                ("Assigned", card.assignee or "nobody yet"),
                ("Acknowledged", f"{card.acknowledged_by} at "
                 f"{local_time(card.acknowledged_at, tz)}" if card.acknowledged_at
                 else "not yet")]
        if card.report_count > 1:
            rows.append(("Reports", f"{card.report_count} matching reports"))
        skip = {*_LOCATION, "assignee", "kind_of_work"}
        labels = {c.key: c.label for c in self._desk.rules.categories}
        for name, label in FIELD_LABELS.items():
            value = card.get(name)
            if value and name not in skip:
                rows.append((label, labels.get(value, value) if name == "category" else value))
        return rows

    def _fill_timeline(self, card: Card) -> None:
        entries = self._desk.cards.timeline(card.number)
        self.paging.show_for(card, entries)
        # An entry the store refused for rights is applied nowhere, so it is not among the
        # card's entries: its "refused: not authorised" line is added here, in red.
        refused = refused_lines(self._desk.journal, card.id)
        lines = sorted(timeline(entries) + refused, key=lambda line: line.at)
        tz = self._desk.rules.tz
        self.timeline.setRowCount(len(lines))
        for i, line in enumerate(reversed(lines)):  # newest first: what just happened
            cells = (local_time(line.at, tz), line.who, line.title, line.detail)
            for col, text in enumerate(cells):  # `timeline` has cleaned who, what and detail
                item = QTableWidgetItem(text)
                if line.is_breach or line in refused:
                    item.setForeground(style.BREACH_LINE)
                    item.setFont(style.bold(item.font()))
                self.timeline.setItem(i, col, item)
        self.timeline.resizeColumnsToContents()
        # A long "what" must not squeeze the detail into a sliver: the detail keeps 2/5 of
        # the width and the "what" wraps in what is left.
        t = self.timeline
        what_max = t.viewport().width() * 3 // 5 - t.columnWidth(0) - t.columnWidth(1)
        if t.columnWidth(2) > what_max:
            t.setColumnWidth(2, max(120, what_max))
            t.resizeRowsToContents()

    def show_clocks(self) -> None:
        if self._clocks is None:
            return
        now = self._desk.clock.now()
        for clock in self._clocks.all():
            cell = countdown(clock, now)
            label = self.clock_labels[clock.name]
            label.setText(cell.text)
            css = style.TONE_CSS[cell.tone] + " padding: 3px;"
            if label.styleSheet() != css:  # re-styling costs a re-polish; only on a change
                label.setStyleSheet(css)

    def _clear(self) -> None:
        self._clocks = None
        self.title.setText("No card selected")
        self.badge.clear()
        self.badge.setStyleSheet("")
        self.status.clear()
        self.reason.setText("Pick a card in the queue (Ctrl+1, arrows), or open one by "
                            "number with / in the command bar.")
        while self.fields.rowCount():
            self.fields.removeRow(0)
        self._shown_fields = []
        self.timeline.setRowCount(0)
        for label in self.clock_labels.values():
            label.setText("—")
            label.setStyleSheet("")
        self._set_enabled(False)

    def _set_enabled(self, enabled: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(enabled)
        self.quick_note.setEnabled(enabled)

    # -- actions --------------------------------------------------------------------------

    def _act(self, ask: Callable[[C | None], C | None]) -> bool:
        """Ask for a command, then hand it to the desk; when the service refuses, ask again
        with the refused command, so nothing typed is lost."""
        card = self.card
        if card is None:
            self._events.info.emit("Pick a card first (Ctrl+1 goes to the queue).")
            return False
        previous: C | None = None
        while True:
            command = ask(previous)
            if command is None:
                return False
            done = self._events.run(partial(self._desk.handle, command),
                                    cards=frozenset({card.id}))
            if done:
                # Said where errors are said, so a success also replaces an earlier error.
                self._events.info.emit(f"{done.number} saved: {done.status_label}, "
                                       f"{done.priority}")
                return True
            previous = command

    def change_status(self) -> bool:
        return self._act(lambda prev: StatusDialog.ask(self, self._card(), prev))

    def change_priority(self) -> bool:
        return self._act(lambda prev: PriorityDialog.ask(self, self._card(), prev))

    def add_note(self) -> bool:
        return self._act(lambda prev: NoteDialog.ask(self, self._card(), prev))

    def assign(self) -> bool:
        return self._act(lambda prev: AssignDialog.ask(self, self._card(), prev))

    def acknowledge(self) -> bool:
        # The dialog offers the on-call person of the card's group: usually who rang back.
        who = self.paging.view.first_on_call if self.paging.view else ""
        guess = Acknowledge(self._card().number, who) if who and self.card else None
        return self._act(lambda prev: AckDialog.ask(self, self._card(), prev or guess))

    def confirm(self) -> bool:
        """The dispatcher confirms the card: one click, no words to ask for. Under
        clock_start = "confirmation" this is what starts its clocks; a second confirmation
        is refused by the service and said in the message bar."""
        card, desk = self.card, self._desk
        if card is None:
            self._events.info.emit("Pick a card first (Ctrl+1 goes to the queue).")
            return False
        return self._events.run(partial(desk.handle, Confirm(card.number)),
                                cards=frozenset({card.id})) is not None

    def status_message(self) -> bool:
        desk = self._desk

        def fill(shape: str, parts: dict[str, str]) -> Any:
            return compose(shape, self._card(), desk.rules, desk.clock.now(), parts)

        return self._act(lambda prev: StatusMessageDialog.ask(self, self._card(), fill, prev))

    def send_eta(self) -> bool:
        """Text the customer "a technician is on the way, ETA N minutes" (the messages
        file's words, the ladder's default ETA; refused before an on-call person accepted);
        one click, no dialog. The outbox sends it (F8 shows it)."""
        card, desk = self.card, self._desk
        if card is None:
            self._events.info.emit("Pick a card first (Ctrl+1 goes to the queue).")
            return False

        def post() -> Card:
            eta = load_ladder(desk.settings.ladder).default_eta_minutes
            templates = load_templates(desk.settings.message_templates)
            return desk.handle(SendEta(card.number, templates, eta))

        return self._events.run(post, cards=frozenset({card.id})) is not None

    def add_quick_note(self) -> bool:
        card, text = self.card, self.quick_note.text()
        if card is None:
            return False
        if self._events.run(partial(self._desk.handle, AddNote(card.number, text)),
                            cards=frozenset({card.id})) is None:
            return False  # the text stays in the field; the message bar says why
        self.quick_note.clear()
        return True

    def _card(self) -> Card:
        assert self.card is not None
        return self.card
