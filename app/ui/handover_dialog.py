"""The handover dialog: the draft sheet, the outgoing lead's edits, preview and print, and the
incoming lead's acceptance (read-back ticks) or the override with a reason. On a desk with
operator accounts the acceptance is signed by both: the outgoing lead is the one signed in,
and the incoming lead signs in with their own login and PIN in a small prompt on this desk
(IncomingLeadDialog); the acceptance is then theirs (`Desk.handle(..., actor=...)`). An
override stays the signed-in lead's, with the right override_handover and a reason.

Every button is one service call through `DeskEvents.run`, so a refusal (a critical card not
read back, an empty reason) shows in the one error place and changes nothing; the sheet is
re-drafted from the journal whenever `changed` fires. The sheet's text is cleaned where it is
drafted and laid out (`for_display`: no bidi controls); what this dialog shows besides (the
card list, the read-back ticks) is cleaned here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.adapters.print_sheets import handover_html, handover_job
from app.adapters.printing import preview, write_pdf
from app.application import Desk
from app.errors import DeskError
from app.protocol.text import for_display
from app.services.handover.commands import AcceptHandover, EditHandover, OverrideHandover
from app.services.handover.facts import EscalationLine, OnCallLine, SyncFacts
from app.services.handover.service import HandoverService
from app.services.handover.sheet import CARD_FIELDS, SHEET_FIELDS, HandoverSheet
from app.ui.events import DeskEvents
from app.ui.sign_in import IncomingLeadDialog


class HandoverDialog(QDialog):
    def __init__(
        self, desk: Desk, events: DeskEvents, service: HandoverService, *,
        on_call: Callable[[], Sequence[OnCallLine] | None] | None = None,
        sync: Callable[[], SyncFacts | None] | None = None,
        escalations: Callable[[], Mapping[str, EscalationLine] | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shift handover")
        self.desk, self.events, self.service = desk, events, service
        self._facts = (on_call, sync, escalations)
        self.sheet: HandoverSheet | None = None

        self.view = QTextBrowser()
        self.target = QComboBox()
        self.field = QComboBox()
        self.text = QLineEdit()
        self.text.setPlaceholderText("new text for the chosen line")
        save = QPushButton("Save edit")
        self.read_back = QListWidget()
        self.incoming = QLineEdit()
        self.incoming.setPlaceholderText(
            "incoming lead's login (they sign with their PIN)" if desk.needs_sign_in
            else "incoming lead's name")
        self.paper = QComboBox()
        self.paper.addItems(["a4", "letter"])
        self.accept_button = QPushButton("Accept handover")
        override = QPushButton("Override…")
        show_preview = QPushButton("Print preview…")
        save_pdf = QPushButton("Save PDF…")

        edit_row = QHBoxLayout()
        for w in (self.target, self.field, self.text, save):
            edit_row.addWidget(w)
        form = QFormLayout()
        form.addRow("Edit the draft", edit_row)
        form.addRow("Read back (critical cards)", self.read_back)
        form.addRow("Incoming lead", self.incoming)
        form.addRow("Paper", self.paper)
        buttons = QHBoxLayout()
        for w in (show_preview, save_pdf, override, self.accept_button):
            buttons.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 3)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self.read_back.setMaximumHeight(110)
        self.resize(980, 760)

        self.target.currentIndexChanged.connect(self._fill_fields)
        save.clicked.connect(self.save_edit)
        self.accept_button.clicked.connect(self.accept_handover)
        override.clicked.connect(self.override_handover)
        show_preview.clicked.connect(self.show_preview)
        save_pdf.clicked.connect(self.save_pdf)
        events.changed.connect(lambda _ids: self.redraft())
        self.redraft()

    # -- the draft ------------------------------------------------------------------------

    def redraft(self) -> None:
        on_call, sync, escalations = (f() if f else None for f in self._facts)
        try:  # not events.run: drafting writes nothing, and announcing it would loop
            self.sheet = self.service.draft(on_call=on_call, sync=sync,  # type: ignore[arg-type]
                                            escalations=escalations)  # type: ignore[arg-type]
        except DeskError as exc:
            self.events.error.emit(str(exc))
            return
        self.view.setHtml(handover_html(self.sheet))
        chosen = self.target.currentData()
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItem("the headline and hazards", "sheet")
        for brief in self.sheet.cards:
            self.target.addItem(for_display(f"{brief.number} {brief.priority} "
                                            f"{brief.what[:40]}"), brief.number)
        index = self.target.findData(chosen)
        self.target.setCurrentIndex(max(0, index))
        self.target.blockSignals(False)
        self._fill_fields()
        ticked = self.ticked()
        self.read_back.clear()
        for number in self.sheet.critical_numbers:
            item = QListWidgetItem(for_display(number))
            item.setData(Qt.ItemDataRole.UserRole, number)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if number in ticked
                               else Qt.CheckState.Unchecked)
            self.read_back.addItem(item)
        settled = not self.sheet.pending
        self.accept_button.setEnabled(not settled)
        self.accept_button.setText("Accepted" if settled else "Accept handover")

    def _fill_fields(self) -> None:
        self.field.clear()
        names = SHEET_FIELDS if self.target.currentData() == "sheet" else CARD_FIELDS
        self.field.addItems(list(names))

    def ticked(self) -> list[str]:
        return [str(self.read_back.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.read_back.count())
                if self.read_back.item(i).checkState() == Qt.CheckState.Checked]

    # -- actions --------------------------------------------------------------------------

    def save_edit(self) -> None:
        target, field, text = self.target.currentData(), self.field.currentText(), self.text.text()
        def edit() -> bool:
            self.desk.handle(EditHandover(target, field, text))
            return True

        if self.events.run(edit):
            self.text.clear()

    def accept_handover(self) -> None:
        incoming, ticked = self.incoming.text(), self.ticked()
        if not self.desk.needs_sign_in:
            self.events.run(lambda: self.desk.handle(AcceptHandover(incoming, ticked)))
            return
        lead = IncomingLeadDialog.ask(self.desk, self, incoming)
        if lead is None:
            return  # cancelled: nothing signed, nothing written
        outgoing = self.desk.signed_in
        command = AcceptHandover(lead.name, ticked, outgoing.name if outgoing else "")
        # Desk.handle's overloads do not list `actor` yet (its implementation takes it).
        self.events.run(lambda: self.desk.handle(command, actor=lead))

    @classmethod
    def ask_reason(cls, parent: QWidget) -> str | None:
        """The override's reason; tests replace this classmethod."""
        text, ok = QInputDialog.getText(parent, "Override the handover",
                                        "Why must the handover move without read-back?")
        return text if ok else None

    def override_handover(self) -> None:
        reason = type(self).ask_reason(self)
        if reason is None:
            return
        incoming = self.incoming.text()
        self.events.run(lambda: self.desk.handle(OverrideHandover(reason, incoming)))

    def show_preview(self) -> Any:
        if self.sheet is not None:
            return preview(handover_job(self.sheet), self, self.paper.currentText()).exec()
        return None

    def save_pdf(self) -> None:
        if self.sheet is None:
            return
        name, _ = QFileDialog.getSaveFileName(self, "Save the handover as PDF",
                                              "handover.pdf", "PDF (*.pdf)")
        if name:
            sheet, paper = self.sheet, self.paper.currentText()
            pages = self.events.run(lambda: write_pdf(handover_job(sheet), Path(name), paper))
            if pages:
                self.events.info.emit(f"handover saved to {name} ({pages} pages)")
