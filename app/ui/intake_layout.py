"""The intake form's widgets, laid out in the spoken order of the intake (DOMAIN.md, "Intake").

Kept apart from `intake.py` so that file reads as behaviour only. Tab order is the order of
SECTIONS below: the order in which a dispatcher asks the five questions on the phone.
The look-alike list shows other people's cards: their text goes through `for_display` (no
bidi controls, no raw control characters) and is escaped where a label renders markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.protocol.text import for_display
from app.services.cards.card import KIND_LABELS, Card
from app.services.cards.rules import LEVELS, PRIORITIES, DispatchRules

Input = QLineEdit | QComboBox
SOURCE_CHANNELS = ("", "phone", "mail", "chat", "SMS", "monitoring", "walk-in", "radio")
SCOPES = ("", "one person", "a team", "a whole floor", "a whole site", "several sites")
STYLE = """
QLabel[role="question"] { font-weight: 600; font-size: 11pt; padding-top: 10px; }
QLabel[role="hint"] { color: #5f6b76; }
QLineEdit { padding: 3px 5px; }
*[missing="true"] { border: 2px solid #c0392b; border-radius: 3px; background: #fdf0ef; }
QLabel#emergency { background: #b3261e; color: white; font-weight: 700; padding: 8px;
                   border-radius: 4px; }
QFrame#matches { background: #fff8e6; border: 1px solid #e0c36a; border-radius: 4px; }
"""


@dataclass(frozen=True)
class Spec:
    key: str
    label: str
    hint: str = ""
    choices: Sequence[tuple[str, str]] | None = None  # (value, what the person reads)
    editable: bool = False
    required: bool = False
    beside: bool = False  # shares the row of the field before it (building, floor, room)


def _levels() -> list[tuple[str, str]]:
    return [("", "—"), *((level, level) for level in LEVELS)]


def sections(rules: DispatchRules) -> tuple[tuple[str, tuple[Spec, ...]], ...]:
    categories = [("", "— choose —"), *((c.key, f"{c.domain}: {c.label}") for c in
                                          rules.categories)]
    return (
        ("The report", (
            Spec("source_channel", "Came in by", choices=[(s, s) for s in SOURCE_CHANNELS],
                 editable=True),
            Spec("reporter", "Reported by", "name, role, phone"),
            Spec("kind_of_work", "Kind of work",
                 choices=[("", "— (request)"), *KIND_LABELS.items()]),
        )),
        ("1. What exactly is not working, and for whom?", (
            Spec("q_what", "In their words", "e.g. booking page does not open for the front "
                 "desk", required=True),
            Spec("symptom", "Symptom", "what stopped, not a guess at the cause", required=True),
            Spec("category", "Category", choices=categories, required=True),
            Spec("impact_scope", "Who is affected", choices=[(s, s) for s in SCOPES],
                 editable=True),
            Spec("affected_users", "How many users", "e.g. about 40"),
            Spec("impact", "Impact", choices=_levels()),
            Spec("risk_signs", "Risk signs", "smoke, smell, leak, blocked access, or none"),
        )),
        ("2. Where?", (
            Spec("site", "Site", "site or address", required=True),
            Spec("building", "Building, floor, room", "building"),
            Spec("floor", "Floor", "floor", beside=True),
            Spec("room", "Room", "room", beside=True),
            Spec("equipment", "Equipment", "rack, device, node"),
        )),
        ("3. When did it start, and what changed before?", (
            Spec("q_when", "Since / changes", "e.g. since 02:15, after the power work",
                 required=True),
        )),
        ("4. Is there a workaround, and how urgent is recovery?", (
            Spec("tried", "Already tried", "e.g. restarted the PC, no effect"),
            Spec("workaround", "Workaround", "or: none", required=True),
            Spec("urgency", "Urgency", choices=_levels()),
        )),
        ("5. Who is the contact for feedback, and who confirms recovery?", (
            Spec("onsite_contact", "Contact on site", "name and phone", required=True),
            Spec("confirmer", "Confirms recovery", "if not the same person"),
        )),
        ("Priority", (
            Spec("priority", "Priority", choices=[("", "—"), *((p, p) for p in PRIORITIES)]),
            Spec("priority_reason", "Reason (one line)", "why this priority", required=True),
        )),
    )


class IntakeLayout:
    """Builds the form's widgets on `host` and keeps references to them."""

    def __init__(self, host: QWidget, rules: DispatchRules) -> None:
        host.setObjectName("intake")
        host.setStyleSheet(STYLE)
        self.inputs: dict[str, Input] = {}
        body = QWidget()
        # One form for every section, so the fields of all five questions line up.
        form = QFormLayout(body)
        form.setContentsMargins(12, 0, 16, 8)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.suggestion = QLabel("Choose impact and urgency for a suggestion")
        self.suggestion.setProperty("role", "hint")
        for title, specs in sections(rules):
            question = QLabel(title)
            question.setProperty("role", "question")
            form.addRow(question)
            row: QHBoxLayout | None = None
            for spec in specs:
                widget = _input(spec)
                self.inputs[spec.key] = widget
                if spec.beside and row is not None:
                    row.addWidget(widget, 1)
                    continue
                label = QLabel(spec.label + (" *" if spec.required else ""))
                label.setBuddy(widget)
                row = QHBoxLayout()
                row.addWidget(widget, 1)
                if spec.key == "priority":
                    row.addWidget(self.suggestion, 1)
                form.addRow(label, row)
        footnote = QLabel("* needed to register · Ctrl+Enter registers · Esc closes, the "
                          "report is kept as a draft")
        footnote.setProperty("role", "hint")
        footnote.setWordWrap(True)
        form.addRow(footnote)
        self.scroll = QScrollArea()
        self.scroll.setWidget(body)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)

        self.emergency = QLabel()
        self.emergency.setTextFormat(Qt.TextFormat.PlainText)  # it quotes the typed site
        self.emergency.setObjectName("emergency")
        self.emergency.setWordWrap(True)
        self.emergency.hide()
        self.matches_box = QFrame()
        self.matches_box.setObjectName("matches")
        box = QVBoxLayout(self.matches_box)
        self.matches_title = QLabel()
        self.matches_title.setWordWrap(True)
        self.matches = QListWidget()
        self.attach_button = QPushButton("&Attach report to selected card")
        self.attach_button.setEnabled(False)
        box.addWidget(self.matches_title)
        box.addWidget(self.matches)
        box.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignRight)
        self.matches_box.hide()

        buttons = QHBoxLayout()
        buttons.setContentsMargins(12, 0, 12, 0)
        self.clear_button = QPushButton("Clear")
        self.restore_button = QPushButton("Restore cleared report")
        self.restore_button.hide()
        # Not a default button: Enter in a field must never register a half-typed report;
        # Ctrl+Enter registers from anywhere in the form.
        self.register_button = QPushButton("Register  (Ctrl+Enter)")
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        buttons.addWidget(self.register_button)

        outer = QVBoxLayout(host)
        outer.setContentsMargins(0, 0, 0, 8)
        outer.addWidget(self.scroll, 1)
        for part in (self.emergency, self.matches_box):
            holder = QHBoxLayout()
            holder.setContentsMargins(12, 0, 12, 0)
            holder.addWidget(part)
            outer.addLayout(holder)
        outer.addLayout(buttons)

        line = self.inputs
        self.q_what: QLineEdit = line["q_what"]  # type: ignore[assignment]
        self.symptom: QLineEdit = line["symptom"]  # type: ignore[assignment]
        self.site: QLineEdit = line["site"]  # type: ignore[assignment]
        self.category: QComboBox = line["category"]  # type: ignore[assignment]
        self.impact: QComboBox = line["impact"]  # type: ignore[assignment]
        self.urgency: QComboBox = line["urgency"]  # type: ignore[assignment]
        self.priority: QComboBox = line["priority"]  # type: ignore[assignment]
        order: list[QWidget] = [*self.inputs.values(), self.matches, self.attach_button,
                                self.register_button]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)

    def first_input(self) -> QWidget:
        return next(iter(self.inputs.values()))

    def mark_missing(self, widget: QWidget, message: str) -> None:
        widget.setProperty("missing", True)
        widget.setToolTip(message)
        _repolish(widget)

    def unmark(self, widget: QWidget) -> None:
        if widget.property("missing"):
            widget.setProperty("missing", False)
            widget.setToolTip("")
            _repolish(widget)

    def clear_marks(self) -> None:
        for widget in self.inputs.values():
            self.unmark(widget)

    def show_matches(
        self, cards: Sequence[Card], emergency: bool, site: str, tz: ZoneInfo | None = None
    ) -> None:
        self.matches.clear()
        for card in cards:
            when = card.registered_at.astimezone(tz).strftime("%H:%M")
            reports = f", {card.report_count} reports" if card.report_count > 1 else ""
            item = QListWidgetItem(for_display(
                f"{card.number}   {card.priority}   {card.status_label}, since {when}{reports}"
                f"   —   {card.symptom}"
            ))
            item.setData(Qt.ItemDataRole.UserRole, card.number)
            self.matches.addItem(item)
        some = "1 open card" if len(cards) == 1 else f"{len(cards)} open cards"
        site = for_display(site)
        self.matches_title.setText(  # rich text: the site is escaped
            f"<b>Same incident?</b> {some} at {escape(site)} in this category. Attach the "
            "report (Alt+A), or press Ctrl+Enter again to register a new card."
        )
        # Tall enough for the cards found (up to four rows), no empty white box.
        rows = max(1, min(len(cards), 4))
        self.matches.setFixedHeight(rows * self.matches.sizeHintForRow(0) + 10 if cards else 0)
        if cards:
            self.matches.setCurrentRow(0)
        self.matches_box.setVisible(bool(cards))
        self.emergency.setText(
            f"PROBABLE EMERGENCY: this is the third or later matching report from {site} "
            "within 10 minutes. Treat it as an emergency: tell the shift lead."
        )
        self.emergency.setVisible(emergency)


def _input(spec: Spec) -> Input:
    widget: Input
    if spec.choices is None:
        widget = QLineEdit()
        widget.setPlaceholderText(spec.hint)
        widget.setClearButtonEnabled(True)
    else:
        widget = QComboBox()
        widget.setEditable(spec.editable)
        for value, text in spec.choices:
            widget.addItem(text, value)
    widget.setObjectName(spec.key)
    widget.setAccessibleName(spec.label)
    return widget


def _repolish(widget: QWidget) -> None:
    # Dynamic properties only restyle after the style re-reads them.
    widget.style().unpolish(widget)
    widget.style().polish(widget)
