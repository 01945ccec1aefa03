"""The roster dialog: contacts, groups, rotations and overrides, edited as tables.

Every edit is checked at once against the same rules the file loader uses, and the first
problem is shown under the tables with its tab, row and field. Save on an invalid roster
opens that tab and selects that cell instead of saving. Save writes through the desk's roster store,
atomically; the routing matrix is kept as it is (it is edited in the file).

The file is edited by people: a cell shows its text through `for_display` (bidi controls
removed, control characters as escapes) and keeps the text as loaded, so saving without
touching a cell writes it back unchanged (the loader then names what is wrong with it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.adapters.roster_store import DeskRoster
from app.errors import DeskError, ValidationError
from app.protocol.text import for_display
from app.services.roster import Contact, Group, Override, Roster, Rotation

CONTACT_COLUMNS = ("id", "name", "role", "responsibilities", "primary_phone", "backup_phone",
                   "messenger", "availability", "vacation_replacement", "skills")
GROUP_COLUMNS = ("name", "domain")
ROTATION_COLUMNS = ("id", "group", "role", "pattern", "members", "anchor", "handoff", "tz")
OVERRIDE_COLUMNS = ("person", "replacement", "start", "end", "reason")
_REFERENCE = re.compile(r"(contact|group|rotation|override) #(\d+) (\('[^']*'\) )?")
_LOADED = Qt.ItemDataRole.UserRole  # a cell's text as loaded, before cleaning for display


class _Sheet:
    """One tab: a table whose columns are the model's field names."""

    def __init__(self, kind: str, title: str, columns: Sequence[str],
                 parse: Callable[[dict[str, str]], Any]) -> None:
        self.kind, self.title, self.columns, self.parse = kind, title, tuple(columns), parse
        self.table = QTableWidget(0, len(columns))
        self.table.setObjectName(f"{kind}Table")
        self.table.setHorizontalHeaderLabels([c.replace("_", " ") for c in columns])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)

    def fill(self, rows: list[list[str]]) -> None:
        self.table.setRowCount(0)
        for cells in rows:
            self.add_row(cells)
        self.table.resizeColumnsToContents()

    def add_row(self, cells: Sequence[str] = ()) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column in range(len(self.columns)):
            text = cells[column] if column < len(cells) else ""
            item = QTableWidgetItem(for_display(text))
            item.setData(_LOADED, text)
            self.table.setItem(row, column, item)
        return row

    def values(self, row: int) -> dict[str, str]:
        out = {}
        for column, name in enumerate(self.columns):
            item = self.table.item(row, column)
            text = item.text() if item is not None else ""
            loaded = item.data(_LOADED) if item is not None else None
            if isinstance(loaded, str) and text == for_display(loaded):
                text = loaded  # not edited: the text as loaded, not its cleaned display
            out[name] = text.strip()
        return out

    def build(self) -> list[Any]:
        built = []
        for row in range(self.table.rowCount()):
            values = self.values(row)
            if not any(values.values()):
                continue  # an added row not filled in yet is not a record
            try:
                built.append(self.parse(values))
            except ValidationError as exc:
                raise _Problem(self, row, exc) from None
        return built


class _Problem(Exception):
    def __init__(self, sheet: _Sheet, row: int, error: DeskError) -> None:
        super().__init__(error.message)
        self.sheet, self.row, self.error = sheet, row, error

    def message(self) -> str:
        # "rotation #2 ('power-backup') members: ..." -> "Rotations, row 2 ('power-backup'):
        # members: ...": the person sees table rows, not record numbers.
        match = _REFERENCE.match(self.error.message)
        key = f" {match[3].strip()}" if match and match[3] else ""
        text = self.error.message[match.end():] if match else self.error.message
        return f"{self.sheet.title}, row {self.row + 1}{key}: {text}"


def _parsed(name: str, parse: Callable[[str], Any], value: str, example: str) -> Any:
    try:
        return parse(value)
    except ValueError:
        raise ValidationError(f"{name} {value!r} cannot be read; write it like {example}",
                              field=name) from None


def _contact(v: dict[str, str]) -> Contact:
    return Contact.create(
        v["id"], v["name"], role=v["role"], responsibilities=v["responsibilities"],
        primary_phone=v["primary_phone"], backup_phone=v["backup_phone"],
        messenger=v["messenger"], availability=v["availability"],
        vacation_replacement=v["vacation_replacement"], skills=v["skills"].split(";"))


def _group(v: dict[str, str]) -> Group:
    return Group(v["name"], v["domain"])


def _rotation(v: dict[str, str]) -> Rotation:
    members = tuple(m.strip() for m in v["members"].split(",") if m.strip())
    return Rotation(v["id"], v["group"], v["role"], v["pattern"], members,
                    _parsed("anchor", date.fromisoformat, v["anchor"], "2026-01-05"),
                    _parsed("handoff", time.fromisoformat, v["handoff"], "09:00"), v["tz"])


def _override(v: dict[str, str]) -> Override:
    example = "2026-12-21T08:00+01:00"
    return Override(v["person"], v["replacement"] or None,
                    _parsed("start", datetime.fromisoformat, v["start"], example),
                    _parsed("end", datetime.fromisoformat, v["end"], example), v["reason"])


class RosterDialog(QDialog):
    def __init__(self, desk_roster: DeskRoster, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Roster - {desk_roster.path.name}")
        self.resize(1100, 560)
        self._store = desk_roster
        self.sheets = {
            "contact": _Sheet("contact", "Contacts", CONTACT_COLUMNS, _contact),
            "group": _Sheet("group", "Groups", GROUP_COLUMNS, _group),
            "rotation": _Sheet("rotation", "Rotations", ROTATION_COLUMNS, _rotation),
            "override": _Sheet("override", "Overrides", OVERRIDE_COLUMNS, _override),
        }
        self.tabs = QTabWidget(self)
        for sheet in self.sheets.values():
            page = QWidget()
            layout = QVBoxLayout(page)
            layout.addWidget(sheet.table)
            buttons = QHBoxLayout()
            add, remove = QPushButton(f"Add {sheet.kind}"), QPushButton("Remove selected")
            add.clicked.connect(lambda _=False, s=sheet: self._add(s))
            remove.clicked.connect(lambda _=False, s=sheet: self._remove(s))
            buttons.addWidget(add)
            buttons.addWidget(remove)
            buttons.addStretch(1)
            layout.addLayout(buttons)
            self.tabs.addTab(page, sheet.title)
        self.message = QLabel(self)
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # it quotes what was typed
        self.message.setObjectName("rosterProblem")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._load(desk_roster.roster)
        for sheet in self.sheets.values():
            sheet.table.cellChanged.connect(lambda *_: self.validate())
        self.validate()

    @classmethod
    def ask(cls, desk_roster: DeskRoster, parent: QWidget | None = None) -> bool:
        """Show the dialog; True if the roster was saved. Tests may replace this."""
        return cls(desk_roster, parent).exec() == QDialog.DialogCode.Accepted

    def _load(self, roster: Roster) -> None:
        zone = ZoneInfo(roster.rotations[0].tz if roster.rotations else "UTC")
        self.sheets["contact"].fill([[
            c.id, c.name, c.role, c.responsibilities, c.primary_phone, c.backup_phone or "",
            c.messenger or "", c.availability, c.vacation_replacement or "",
            ";".join(sorted(c.skills))] for c in roster.contacts])
        self.sheets["group"].fill([[g.name, g.domain] for g in roster.groups])
        self.sheets["rotation"].fill([[
            r.id, r.group, r.role, r.pattern, ", ".join(r.members), r.anchor.isoformat(),
            f"{r.handoff:%H:%M}", r.tz] for r in roster.rotations])
        # Overrides are kept in UTC; people think in the site's wall time.
        self.sheets["override"].fill([[
            o.person_id, o.replacement_id or "",
            o.start.astimezone(zone).isoformat(timespec="minutes"),
            o.end.astimezone(zone).isoformat(timespec="minutes"), o.reason]
            for o in roster.overrides])

    def _add(self, sheet: _Sheet) -> None:
        row = sheet.add_row()
        sheet.table.setCurrentCell(row, 0)
        if (item := sheet.table.item(row, 0)) is not None:
            sheet.table.editItem(item)

    def _remove(self, sheet: _Sheet) -> None:
        for row in sorted({i.row() for i in sheet.table.selectedIndexes()}, reverse=True):
            sheet.table.removeRow(row)
        self.validate()

    def build(self) -> Roster:
        """The roster the tables describe; raises _Problem naming tab, row and field."""
        parts = {kind: sheet.build() for kind, sheet in self.sheets.items()}
        try:
            return Roster(tuple(parts["contact"]), tuple(parts["group"]),
                          tuple(parts["rotation"]), tuple(parts["override"]))
        except ValidationError as exc:  # a reference: "rotation #2 (...) members: ..."
            match = _REFERENCE.match(exc.message)
            sheet = self.sheets[match[1]] if match else self.sheets["contact"]
            number = int(match[2]) if match else 1
            raise _Problem(sheet, self._row_of(sheet, number), exc) from None

    @staticmethod
    def _row_of(sheet: _Sheet, number: int) -> int:
        # The model counts records; the table may hold blank rows in between.
        filled = [r for r in range(sheet.table.rowCount()) if any(sheet.values(r).values())]
        return filled[number - 1] if number <= len(filled) else 0

    def validate(self, *, point: bool = False) -> Roster | None:
        """Check everything and show the first problem; with ``point``, also open its tab
        and select its cell (not while typing: the cursor must not jump away)."""
        try:
            roster = self.build()
        except _Problem as problem:
            self._show(problem.message())
            if point:
                sheet = problem.sheet
                field = problem.error.field or ""
                column = sheet.columns.index(field) if field in sheet.columns else 0
                self.tabs.setCurrentIndex(list(self.sheets.values()).index(sheet))
                sheet.table.setCurrentCell(problem.row, column)
            return None
        self._show("")
        return roster

    def _show(self, text: str) -> None:
        self.message.setText(for_display(text))
        self.message.setStyleSheet("color: #b00020; font-weight: bold" if text else "")

    def save(self) -> None:
        roster = self.validate(point=True)
        if roster is None:
            return
        try:
            self._store.save(roster)
        except DeskError as exc:
            self._show(f"not saved: {exc}")
            return
        self.accept()

    def problem(self) -> str:
        return self.message.text()
