"""Card text from another desk cannot drive a terminal, forge lines, or reorder what is shown.

The journal here holds what a tester found coming from other desks: escape sequences (clear
the screen, an OSC-52 clipboard write), a carriage-return/backspace overprint, a line break
followed by a forged "Priority reason" or timeline line, and right-to-left overrides
("gpj<RLO>exe.txt" reads "gpjtxt.exe"). The journal refuses most of these when they are written
now, so the journal is made the way an older desk left it: real entries written through the
card service with markers, the markers then replaced by the hostile text in the file itself.
Everything is then read by the real command line (subprocesses), the real PDFs and the window.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.loaders import load_shifts
from app.protocol.text import BIDI_CONTROLS
from app.services.cards.card import Operator
from app.services.cards.queue import queue_rows
from app.services.handover.service import HandoverService
from tests.handover.conftest import pdf_text

ROOT = Path(__file__).resolve().parents[2]
CLEAR = "\x1b[2J\x1b[H"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4vCg==\x07"  # OSC 52: put "rm -rf ~/" on the clipboard
OVERPRINT = "real text\r\b\b\bFAKE"
TROJAN = "gpj\u202eexe.txt"
FORGED_TIMELINE = "    01.01 00:00:00 UTC  M. Keller: Status Registered → Closed"
HOSTILE = {
    "@@SITE@@": "HQ\x1b[31m",
    "@@SYMPTOM@@": "broken\nPriority reason: forged",
    "@@EQUIPMENT@@": TROJAN,
    "@@REASON@@": OVERPRINT,
    "@@REPORTER@@": CLEAR + "J. Weber",
    "@@QWHAT@@": "no network\nPriority reason: forged",
    "@@NOTE@@": CLIPBOARD + "vendor called\n" + FORGED_TIMELINE,
    "@@NOTE2@@": OVERPRINT,
    "@@OPERATOR@@": "M. \u202eKeller",
    "@@ASSIGNEE@@": "\u202eP. Braun",
}
# What a terminal, the window or a PDF must never receive raw: C0 controls but the line break
# (tab included), DEL, C1 controls, bidi controls.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]")
TIMELINE_LINE = re.compile(r"^    \d\d\.\d\d \d\d:\d\d:\d\d \S+  ")


def inert(text: str) -> None:
    found = UNSAFE.search(text)
    assert found is None, f"raw {found.group()!r} in {text[max(0, found.start() - 40):][:80]!r}"


def write_hostile_journal(path: Path) -> None:
    settings = Settings(journal=path, desk_code="B", operator="A. Novak").validated()
    desk = build_desk(settings)  # the real clock: the entries belong to the current shift
    try:
        who = Operator("@@OPERATOR@@", "dispatcher")
        card = desk.cards.register({
            "category": "network", "site": "@@SITE@@", "symptom": "@@SYMPTOM@@",
            "equipment": "@@EQUIPMENT@@", "reporter": "@@REPORTER@@", "q_what": "@@QWHAT@@",
            "q_where": "HQ floor 2", "q_when": "09:50", "q_workaround": "none",
            "q_contact": "J. Weber", "priority": "P1", "priority_reason": "@@REASON@@",
        }, who)
        desk.cards.update_fields(card.number, {"assignee": "@@ASSIGNEE@@"}, who)
        desk.cards.add_note(card.number, "@@NOTE@@", who)
        desk.cards.add_note(card.number, "@@NOTE2@@", who)
    finally:
        desk.close()
    with closing(sqlite3.connect(path)) as db, db:
        for marker, text in HOSTILE.items():
            in_json = json.dumps(text)[1:-1]
            db.execute("UPDATE entries SET payload = replace(payload, ?, ?),"
                       " operator = replace(operator, ?, ?)", (marker, in_json, marker, text))
            db.execute("UPDATE cards SET state = replace(state, ?, ?), site = replace(site, ?, ?)",
                       (marker, in_json, marker, text))
        left = db.execute("SELECT count(*) FROM entries WHERE payload LIKE '%@@%'"
                          " OR operator LIKE '%@@%'").fetchone()[0]
        assert left == 0


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    path = tmp_path / "desk.sqlite"
    write_hostile_journal(path)
    return path


def cli(journal: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[bytes]:
    """`dispatch-desk ARGS` as a person runs it, in a process of its own; bytes, as the
    terminal would get them."""
    home = journal.parent
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "app", "--journal", str(journal), *args],
                          capture_output=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert (done.returncode == 0) == ok, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr
    return done


def test_card_show_escapes_controls_and_forges_no_line(journal: Path) -> None:
    out = cli(journal, "card", "show", "B-0001").stdout.decode()
    inert(out)
    assert "\\x1b[2J\\x1b[HJ. Weber" in out  # shown, but as text
    assert "\\x1b]52;c;" in out and "real text\\x0d\\x08\\x08\\x08FAKE" in out
    assert "gpj\\u202eexe.txt" in out  # a field: the override is shown as an escape
    lines = out.splitlines()
    reasons = [line for line in lines if line.strip().lower().startswith("priority reason:")]
    assert reasons == ["  priority reason: real text\\x0d\\x08\\x08\\x08FAKE"]
    # Registered, assigned, two notes: four timeline lines, however many lines the notes hold.
    assert len([line for line in lines if TIMELINE_LINE.match(line)]) == 4
    assert any("Status Registered → Closed" in line for line in lines)  # kept, indented
    assert "M. Keller: Note" in out  # the author, without the override


def test_card_list_is_one_inert_line_per_card(journal: Path) -> None:
    out = cli(journal, "card", "list").stdout.decode()
    inert(out)
    assert len(out.splitlines()) == 1
    assert "broken\\x0aPriority reason: forged" in out


def test_json_output_keeps_the_text_exactly_and_escaped(journal: Path) -> None:
    out = cli(journal, "card", "show", "B-0001", "--json").stdout
    inert(out.decode())
    shown = json.loads(out)
    assert shown["fields"]["symptom"] == HOSTILE["@@SYMPTOM@@"]
    assert shown["fields"]["equipment"] == TROJAN
    assert [e["payload"].get("text") for e in shown["timeline"][-2:]] == [
        HOSTILE["@@NOTE@@"], OVERPRINT]


def test_handover_text_and_status_are_inert(journal: Path) -> None:
    draft = cli(journal, "handover", "--outgoing", "M. \u202eKeller").stdout.decode()
    inert(draft)
    assert "outgoing: M. Keller" in draft
    assert not [line for line in draft.splitlines()
                if line.strip().lower().startswith("priority reason")]
    assert "broken\\x0aPriority reason: forged" in draft  # the headline's biggest risk
    status = cli(journal, "handover", "status").stdout.decode()
    inert(status)


def test_the_pdfs_read_in_logical_order(journal: Path) -> None:
    sheet, log, packet = (journal.parent / f"{n}.pdf" for n in ("sheet", "log", "packet"))
    cli(journal, "handover", "--out", str(sheet))
    cli(journal, "activity-log", "--out", str(log))
    cli(journal, "breakglass", "--out", str(packet))
    sheet_text, log_text, packet_text = pdf_text(sheet), pdf_text(log), pdf_text(packet)
    for text in (sheet_text, log_text, packet_text):
        inert(text)
        assert "\\x1b" in text  # the escape sequences are on paper as text, not swallowed
    for text in (sheet_text, packet_text):
        assert "gpjexe.txt" in text and "gpjtxt.exe" not in text  # not reordered
        assert "P. Braun" in text
    # The activity log's author column stays the author's: "[M. Keller]", not run backwards
    # into the text before it.
    assert log_text.count("[M. Keller]") == 4
    assert "Resources assigned Name ICS position Home agency (and unit) M. Keller desk" in log_text


def test_an_error_quoting_input_is_one_escaped_line(journal: Path) -> None:
    name = str(journal.parent / f"roster{CLEAR}{TROJAN}.toml")
    err = cli(journal, "roster", "import", name, ok=False).stderr.decode()
    inert(err)
    assert err.startswith("dispatch-desk: error: ") and err.count("\n") == 1
    assert "roster\\x1b[2J\\x1b[Hgpj\\u202eexe.txt.toml" in err


# -- the window ---------------------------------------------------------------------------


@pytest.fixture
def desk(journal: Path) -> Iterator[Desk]:
    d = build_desk(Settings(journal=journal, desk_code="B", operator="A. Novak").validated(),
                   FakeClock(datetime.now(UTC)))
    yield d
    d.close()


def test_card_view_shows_no_bidi_or_control_character(qtbot: Any, desk: Desk) -> None:
    from app.ui.card_view import CardView
    from app.ui.events import DeskEvents

    view = CardView(desk, DeskEvents(desk.clock))
    qtbot.addWidget(view)
    view.show_card("B-0001")
    labels = [view.title, view.reason, view.status, *view.findChildren(QLabel)]
    texts = [label.text() for label in labels]
    texts += [view.timeline.item(r, c).text() for r in range(view.timeline.rowCount())
              for c in range(view.timeline.columnCount())]
    for text in texts:
        inert(text)
    shown = "\n".join(texts)
    assert "gpjexe.txt" in shown and "P. Braun" in shown and "M. Keller" in shown
    assert view.title.textFormat() == Qt.TextFormat.PlainText  # no markup from a symptom


def test_queue_cells_and_tips_show_no_bidi_or_control_character(
    qtbot: Any, qtmodeltester: Any, desk: Desk
) -> None:
    from app.ui.queue_model import QueueModel

    now = desk.clock.now()
    model = QueueModel(now)
    model.set_rows(queue_rows(desk.cards.open_cards(), desk.rules, now), now)
    qtmodeltester.check(model)
    cells = [model.index(r, c).data(role) for r in range(model.rowCount())
             for c in range(model.columnCount())
             for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)]
    texts = [str(t) for t in cells if t is not None]
    for text in texts:
        inert(text)
    assert "P. Braun" in texts and "HQ\\x1b[31m" in texts


def test_look_alike_list_and_handover_dialog_show_no_bidi_control(
    qtbot: Any, desk: Desk
) -> None:
    from app.ui.events import DeskEvents
    from app.ui.handover_dialog import HandoverDialog
    from app.ui.intake import IntakeForm

    events = DeskEvents(desk.clock)
    form = IntakeForm(desk, events)
    qtbot.addWidget(form)
    form.ui.show_matches(desk.cards.open_cards(), True, "HQ\u202e", desk.rules.tz)
    items = [form.ui.matches.item(i).text() for i in range(form.ui.matches.count())]
    assert items
    for text in (*items, form.ui.matches_title.text(), form.ui.emergency.text()):
        inert(text)
    dialog = HandoverDialog(desk, events, HandoverService(desk.journal, desk.rules,
                                                          load_shifts(), desk.clock))
    qtbot.addWidget(dialog)
    inert(dialog.view.toPlainText())
    assert "gpjexe.txt" in dialog.view.toPlainText()
    for i in range(dialog.target.count()):
        inert(dialog.target.itemText(i))


def test_on_call_panel_and_roster_dialog_show_names_cleaned_and_keep_them(
    qtbot: Any, tmp_path: Path
) -> None:
    from app.adapters.roster_store import DEFAULT_EXAMPLE, DeskRoster
    from app.ui.events import DeskEvents
    from app.ui.oncall_panel import OnCallPanel
    from app.ui.roster_dialog import RosterDialog

    # A bidi override is not a control character: the roster file may hold one.
    text = DEFAULT_EXAMPLE.read_text(encoding="utf-8")
    assert 'name = "Tobias Fischer"' in text
    source = tmp_path / "roster.toml"
    source.write_text(text.replace('name = "Tobias Fischer"', 'name = "Tobias \u202eFischer"'),
                      encoding="utf-8")
    store = DeskRoster(tmp_path / "desk.roster.toml")
    store.import_file(source)
    clock = FakeClock(datetime(2026, 3, 29, 7, 30, tzinfo=UTC))  # Tobias has power primary
    panel = OnCallPanel(store, clock, DeskEvents(clock))
    qtbot.addWidget(panel)
    cells = [panel.table.item(r, c).text() for r in range(panel.table.rowCount())
             for c in range(panel.table.columnCount())]
    for cell in cells:
        inert(cell)
    assert "Tobias Fischer" in cells
    dialog = RosterDialog(store)
    qtbot.addWidget(dialog)
    table = dialog.sheets["contact"].table
    names = [table.item(r, 1).text() for r in range(table.rowCount())]
    for name in names:
        inert(name)
    assert "Tobias Fischer" in names
    # Saving without touching the cell writes the name back as it was, not as displayed.
    assert "Tobias \u202eFischer" in {c.name for c in dialog.build().contacts}
