"""Signing in at the desk window (issue 13), offscreen on a real journal with real (cheap)
Argon2id hashes and the fake clock: the window starts at the sign-in, nothing of the desk is
reachable before it, refusals are said in place, Ctrl+L locks and "switch operator" hands over
without closing anything, the idle lock, the title, and the handover signed by both leads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QWidget

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.protocol.catalogue import SIGNINS_CARD
from app.services.handover.service import HANDOVER_STREAM
from app.services.operators.commands import AddOperator, DisableOperator
from app.services.operators.pins import PinHasher
from app.ui.desk_lock import Veil
from app.ui.events import DeskEvents
from app.ui.handover_dialog import HandoverDialog
from app.ui.main_window import DeskWindow
from app.ui.sign_in import IncomingLeadDialog, SignInDialog
from tests.ui.conftest import open_desk, register

CHEAP = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)  # real Argon2id, small
PINS = {"admin": "admin-pin-1", "novak": "novak-pin-1", "kim": "kim-pin-22",
        "lead": "lead-pin-33", "watch": "watch-pin-4"}
PEOPLE = (("novak", "A. Novak", ["dispatcher"]), ("kim", "K. Kim", ["shift_lead"]),
          ("lead", "L. Lead", ["shift_lead"]), ("watch", "W. Watcher", ["observer"]))


def _with_people(d: Desk) -> Desk:
    assert d.operators is not None
    d.operators.hasher = CHEAP
    d.handle(AddOperator("admin", "A. Admin", ["admin"], PINS["admin"]))
    d.sign_in("admin", PINS["admin"])
    for login, name, roles in PEOPLE:
        d.handle(AddOperator(login, name, roles, PINS[login]))
    d.sign_out()
    return d


@pytest.fixture
def people(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    d = _with_people(open_desk(tmp_path / "desk.sqlite", clock))
    yield d
    d.close()


def _open(qtbot: Any, desk: Desk, events: DeskEvents, settings: QSettings) -> DeskWindow:
    w = DeskWindow(desk, events, settings=settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    return w


@pytest.fixture
def locked(qtbot: Any, people: Desk, events: DeskEvents, ui_settings: QSettings) -> DeskWindow:
    return _open(qtbot, people, events, ui_settings)


def _type_in(qtbot: Any, w: DeskWindow, login: str, pin: str) -> None:
    """The keys a person presses: the login, Enter, the PIN, Enter (into the focused field,
    as a keyboard would); no login: the cursor is in the PIN already, after a refusal."""
    for text in (login, pin) if login else (pin,):
        field = QApplication.focusWidget()
        assert isinstance(field, QLineEdit), f"the keys would go to {field!r}"
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key.Key_Return)


def _sign_in(qtbot: Any, w: DeskWindow, login: str) -> None:
    panel = w.desk_lock.screen.panel
    qtbot.waitUntil(panel.login.hasFocus)
    panel.login.selectAll()
    _type_in(qtbot, w, login, PINS[login])
    assert not w.desk_lock.locked, panel.message.text()


def _desk_is_hidden(w: DeskWindow) -> None:
    assert w.desk_lock.locked and w.pages.currentWidget() is w.desk_lock.screen
    for part in (w.queue, w.card, w.tray, w.intake, w.command_bar, w.tray_count, w.menuBar()):
        assert not part.isVisible(), part
    assert not any(a.isEnabled() for a in w.actions()), "a window key still works"


def test_the_window_starts_at_the_sign_in_and_nothing_else_is_reachable(
        qtbot: Any, locked: DeskWindow, people: Desk) -> None:
    w = locked
    panel = w.desk_lock.screen.panel
    qtbot.waitUntil(panel.login.hasFocus)  # the cursor in the login, first keystroke there
    _desk_is_hidden(w)
    assert w.windowTitle() == "Dispatch Desk · desk B · locked: sign in"
    seen: set[QWidget] = set()
    for _ in range(6):  # Tab goes round the login and the PIN only
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.add(QApplication.focusWidget())
    assert seen == {panel.login, panel.pin}
    for key, mod in ((Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier),
                     (Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier),
                     (Qt.Key.Key_F3, Qt.KeyboardModifier.NoModifier)):
        qtbot.keyClick(panel.login, key, mod)
    qtbot.keyClick(panel.pin, Qt.Key.Key_Slash)
    _desk_is_hidden(w)  # no key opened the intake form, the command bar or the tray
    assert not panel.button.focusPolicy() & Qt.FocusPolicy.TabFocus  # Space cannot press it


def test_signing_in_shows_the_desk_with_the_operator_in_the_title_and_strip(
        qtbot: Any, locked: DeskWindow, people: Desk) -> None:
    w = locked
    panel = w.desk_lock.screen.panel
    qtbot.waitUntil(panel.login.hasFocus)
    qtbot.keyClicks(panel.login, "novak")
    qtbot.keyClick(panel.login, Qt.Key.Key_Return)
    assert panel.pin.hasFocus(), "Enter in the login goes to the PIN"
    qtbot.keyClicks(panel.pin, PINS["novak"])
    assert PINS["novak"] not in panel.pin.displayText()  # never echoed
    qtbot.keyClick(panel.pin, Qt.Key.Key_Return)
    assert not w.desk_lock.locked and w.queue.isVisible() and w.menuBar().isVisible()
    assert people.signed_in is not None and people.signed_in.login == "novak"
    assert w.windowTitle() == "Dispatch Desk · desk B · A. Novak (novak) — dispatcher"
    assert w.strip.who.isVisible()
    assert w.strip.who.text() == "Signed in: A. Novak (novak) — dispatcher"
    qtbot.waitUntil(w.queue.table.hasFocus)  # where a desk starts: the queue
    assert [e.kind for e in people.journal.entries(SIGNINS_CARD)][-1] == "operator.signed_in"
    assert w.registry.action("intake").isEnabled()


def test_a_wrong_pin_is_said_in_place_and_keeps_the_login(
        qtbot: Any, locked: DeskWindow) -> None:
    w = locked
    panel = w.desk_lock.screen.panel
    qtbot.waitUntil(panel.login.hasFocus)
    _type_in(qtbot, w, "novak", "not-the-pin")
    assert w.desk_lock.locked
    assert panel.message.isVisible()
    assert panel.message.text() == ("Not signed in: wrong login or PIN (4 more tries before a "
                                    "one-minute lock)")
    assert panel.login.text() == "novak" and panel.pin.text() == ""
    assert panel.pin.hasFocus(), "the next try is the PIN again"
    qtbot.keyClicks(panel.pin, PINS["novak"])
    qtbot.keyClick(panel.pin, Qt.Key.Key_Return)
    assert not w.desk_lock.locked and not panel.message.isVisible()


def test_five_wrong_pins_lock_the_login_for_a_minute(
        qtbot: Any, locked: DeskWindow, clock: FakeClock) -> None:
    w = locked
    panel = w.desk_lock.screen.panel
    qtbot.waitUntil(panel.login.hasFocus)
    _type_in(qtbot, w, "novak", "wrong-pin-0")
    for _ in range(4):
        _type_in(qtbot, w, "", "wrong-pin-0")  # the cursor is back in the PIN each time
    assert panel.message.text().endswith("novak is locked for a minute")
    _type_in(qtbot, w, "", PINS["novak"])  # the right PIN, but locked
    assert w.desk_lock.locked
    assert panel.message.text() == "Not signed in: 5 wrong PINs for novak; try again in 60 s"
    clock.advance(timedelta(seconds=61))
    _type_in(qtbot, w, "", PINS["novak"])
    assert not w.desk_lock.locked


def test_ctrl_l_locks_and_the_next_person_finds_the_draft(
        qtbot: Any, locked: DeskWindow, people: Desk) -> None:
    w = locked
    _sign_in(qtbot, w, "novak")
    qtbot.keyClick(w.queue.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    reporter = w.intake.ui.inputs["reporter"]
    assert isinstance(reporter, QLineEdit)
    qtbot.waitUntil(lambda: w.intake.isVisible())
    reporter.setFocus()
    qtbot.waitUntil(reporter.hasFocus)
    qtbot.keyClicks(reporter, "M. Kranz, ward C")

    qtbot.keyClick(reporter, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    _desk_is_hidden(w)
    assert people.signed_in is None
    panel = w.desk_lock.screen.panel
    assert panel.login.text() == "novak" and panel.login.selectedText() == "novak"
    qtbot.waitUntil(panel.login.hasFocus)
    _type_in(qtbot, w, "kim", PINS["kim"])  # another person types over the offered login
    assert not w.desk_lock.locked
    assert w.windowTitle().endswith("K. Kim (kim) — shift lead")
    assert w.intake.isVisible() and reporter.text() == "M. Kranz, ward C"
    qtbot.waitUntil(reporter.hasFocus)  # the cursor where it was
    card = register(people)  # the next write is the new person's
    w.events.announce()
    note = w.registry.action("canned:F5")
    w.show_number(card.number)
    note.trigger()
    assert people.journal.entries(card.id)[-1].operator == "kim"


def test_switch_operator_is_in_the_desk_menu_and_offers_an_empty_login(
        qtbot: Any, locked: DeskWindow) -> None:
    w = locked
    _sign_in(qtbot, w, "novak")
    desk_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Desk")
    assert "S&witch operator…" in [a.text() for a in desk_menu.actions()]
    w.registry.action("switch_operator").trigger()
    panel = w.desk_lock.screen.panel
    assert w.desk_lock.locked and panel.login.text() == ""
    assert "next person" in panel.message.text()
    _sign_in(qtbot, w, "lead")
    assert w.windowTitle().endswith("L. Lead (lead) — shift lead")


def test_the_idle_lock_counts_from_the_last_key(
        qtbot: Any, tmp_path: Path, clock: FakeClock, events: DeskEvents,
        ui_settings: QSettings) -> None:
    d = build_desk(replace(open_desk(tmp_path / "j.sqlite", clock).settings,
                           lock_idle_minutes=5), clock)
    try:
        w = _open(qtbot, _with_people(d), events, ui_settings)
        _sign_in(qtbot, w, "novak")
        clock.advance(timedelta(minutes=4))
        qtbot.keyClick(w.queue.table, Qt.Key.Key_Down)  # a key: idle starts again
        clock.advance(timedelta(minutes=4))
        events.tick.emit()
        assert not w.desk_lock.locked
        clock.advance(timedelta(minutes=1, seconds=1))
        events.tick.emit()
        assert w.desk_lock.locked and d.signed_in is None
        assert w.desk_lock.screen.panel.message.text() == (
            "Locked after 5 idle minutes; sign in to go on.")
    finally:
        d.close()


def test_the_idle_lock_is_off_by_default(qtbot: Any, locked: DeskWindow,
                                         clock: FakeClock) -> None:
    _sign_in(qtbot, locked, "novak")
    clock.advance(timedelta(hours=12))
    locked.events.tick.emit()
    assert not locked.desk_lock.locked


def test_a_desk_without_accounts_has_no_sign_in_and_the_same_title(
        qtbot: Any, window: DeskWindow) -> None:
    assert not window.desk_lock.locked and window.queue.isVisible()
    assert window.windowTitle() == "Dispatch Desk · desk B · A. Novak (dispatcher)"
    assert not window.strip.who.isVisible()
    infos: list[str] = []
    window.events.info.connect(infos.append)
    window.registry.action("lock").trigger()
    assert not window.desk_lock.locked and "no operator accounts" in infos[-1]
    assert window.registry.action("command_bar").shortcut().toString() == "Ctrl+G"


def test_the_first_account_arriving_locks_an_open_window(
        qtbot: Any, window: DeskWindow, desk: Desk) -> None:
    assert desk.operators is not None
    desk.operators.hasher = CHEAP
    desk.operators.handle(AddOperator("admin", "A. Admin", ["admin"], PINS["admin"]), None)
    window.events.announce()  # what the journal watcher says after another process wrote
    _desk_is_hidden(window)


def test_a_disable_that_arrives_ends_the_session(qtbot: Any, locked: DeskWindow,
                                                 people: Desk) -> None:
    _sign_in(qtbot, locked, "novak")
    admin = people.operators.accounts()["admin"]  # type: ignore[union-attr]
    people.handle(DisableOperator("novak", "left"), actor=admin)  # as by a sync
    locked.events.announce()
    assert locked.desk_lock.locked and "novak was disabled" in \
        locked.desk_lock.screen.panel.message.text()


def test_refusals_are_one_line_in_the_message_bar(qtbot: Any, locked: DeskWindow,
                                                  people: Desk) -> None:
    w = locked
    card = register(people)
    _sign_in(qtbot, w, "watch")
    w.events.announce()
    w.command_bar.setText(f"n {card.number} looks fine")
    w.command_bar.run_line()
    text = w.message_bar.text.text()
    assert text.startswith("Not done: adding to a card needs the right write_cards") or \
        text.startswith("Not done: ") and "write_cards" in text, text
    assert text.count("Not done") == 1 and "you are signed in as observer" in text
    assert w.command_bar.text() == f"n {card.number} looks fine"  # nothing typed is lost
    w.show_number(card.number)
    w.registry.action("canned:F5").trigger()  # a note through a window action: refused too
    assert "write_cards" in w.message_bar.text.text()
    assert [e.kind for e in people.journal.entries(card.id)] == ["card.registered"]


# -- the handover, signed by both ---------------------------------------------------------

def _answer(qtbot: Any, answers: list[tuple[str, str]], said: list[str]) -> None:
    """Type into the incoming lead's prompt once it is up (it runs its own event loop)."""
    def fill() -> None:
        prompt = QApplication.activeModalWidget()
        if not isinstance(prompt, IncomingLeadDialog):
            QTimer.singleShot(10, fill)
            return
        panel = prompt.panel
        for login, pin in answers:
            if login:
                panel.login.setText(login)
            panel.pin.setText(pin)
            panel.submit()
            said.append(panel.message.text())
        if prompt.isVisible():
            qtbot.keyClick(panel.pin, Qt.Key.Key_Escape)
    QTimer.singleShot(0, fill)


def _near_the_shift_end(clock: FakeClock) -> None:
    clock.set(datetime(2026, 11, 23, 18, 45, tzinfo=UTC))  # 19:45 in Berlin: handover due


@pytest.fixture
def handover(qtbot: Any, locked: DeskWindow, people: Desk, clock: FakeClock) -> HandoverDialog:
    _near_the_shift_end(clock)
    _sign_in(qtbot, locked, "lead")
    d = HandoverDialog(people, locked.events, people.handover, parent=locked)
    qtbot.addWidget(d)
    for i in range(d.read_back.count()):
        d.read_back.item(i).setCheckState(Qt.CheckState.Checked)
    return d


def test_accepting_a_handover_needs_the_incoming_leads_own_pin(
        qtbot: Any, handover: HandoverDialog, people: Desk) -> None:
    said: list[str] = []
    handover.incoming.setText("kim")
    _answer(qtbot, [("", "wrong-pin-9"), ("", PINS["kim"])], said)
    handover.accept_handover()
    assert said[0].startswith("Not signed in: wrong login or PIN") and said[1] == ""
    assert people.handover.status().state == "accepted"
    entry = people.journal.entries(HANDOVER_STREAM)[-1]
    assert entry.operator == "kim"  # the incoming lead's act, signed with their PIN
    assert (entry.payload["incoming"], entry.payload["outgoing"]) == ("K. Kim", "L. Lead")
    assert people.signed_in is not None and people.signed_in.login == "lead"


@pytest.mark.parametrize(("login", "refused"), [
    ("lead", "L. Lead is the outgoing lead"),
    ("novak", "needs the right accept_handover"),
])
def test_the_incoming_lead_must_be_another_lead(
        qtbot: Any, handover: HandoverDialog, people: Desk, login: str, refused: str) -> None:
    said: list[str] = []
    _answer(qtbot, [(login, PINS[login])], said)
    handover.accept_handover()  # then Esc: cancelled, nothing accepted
    assert refused in said[0]
    assert people.handover.status().state == "pending"


def test_an_override_needs_the_shift_leads_right(
        qtbot: Any, locked: DeskWindow, people: Desk, monkeypatch: pytest.MonkeyPatch,
        clock: FakeClock) -> None:
    _near_the_shift_end(clock)
    _sign_in(qtbot, locked, "novak")
    d = HandoverDialog(people, locked.events, people.handover, parent=locked)
    qtbot.addWidget(d)
    monkeypatch.setattr(HandoverDialog, "ask_reason",
                        classmethod(lambda cls, parent: "incoming lead ill"))
    d.override_handover()
    assert "override_handover" in locked.message_bar.text.text()
    assert people.handover.status().state == "pending"


# -- a dialog open when the desk locks -----------------------------------------------------

def test_a_dialog_open_at_the_idle_lock_is_veiled_and_kept(
        qtbot: Any, locked: DeskWindow, clock: FakeClock) -> None:
    w = locked
    _sign_in(qtbot, w, "novak")
    dialog = QDialog(w)
    qtbot.addWidget(dialog)  # closed after the test: a modal left open would block the next
    field = QLineEdit(dialog)
    field.setText("half a status reason")
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.show()
    qtbot.waitExposed(dialog)
    w.desk_lock.lock()  # what the idle lock does
    veils = dialog.findChildren(Veil)
    assert len(veils) == 1 and veils[0].isVisible() and veils[0].geometry() == dialog.rect()
    lock = w.desk_lock.dialog
    assert isinstance(lock, SignInDialog) and lock.isVisible()
    qtbot.keyClick(lock.panel.login, Qt.Key.Key_Escape)
    assert lock.isVisible(), "Esc does not get round the lock"
    lock.panel.login.setText("novak")
    lock.panel.pin.setText(PINS["novak"])
    lock.panel.submit()
    assert not w.desk_lock.locked and not lock.isVisible()
    assert dialog.isVisible() and field.text() == "half a status reason"
    qtbot.waitUntil(lambda: not dialog.findChildren(Veil))


def test_lock_idle_minutes_is_checked_where_it_is_set(tmp_path: Path) -> None:
    from app.config import load_settings
    from app.errors import ConfigError

    file = tmp_path / "settings.toml"
    file.write_text("lock_idle_minutes = 2000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lock_idle_minutes: use minutes from 1 to 1440"):
        load_settings(file)
    file.write_text("lock_idle_minutes = 10\n", encoding="utf-8")
    assert load_settings(file).lock_idle_minutes == 10.0
