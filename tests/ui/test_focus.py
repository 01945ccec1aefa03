"""The focus rules of issue 15, as far as offscreen Qt can show them: every dialog and the
intake form open with the cursor in their first input, no dialog with a text field has a
default button that Space or Enter elsewhere could fire, Ctrl+Enter submits, Esc closes, and
the window's shortcuts work from its text fields (the command bar included).

What only a real X display shows (a window manager's activation, the xcb key bindings) is in
tests/realwindow/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QPushButton, QWidget

from app.errors import DeskError
from app.services.cards.card import Card
from app.services.cards.status_message import compose
from app.ui import dialogs
from app.ui.dialogs import (
    AckDialog,
    AssignDialog,
    NoteDialog,
    PriorityDialog,
    StatusDialog,
    StatusMessageDialog,
)
from tests.ui.conftest import register

CTRL = Qt.KeyboardModifier.ControlModifier


def _dialogs(desk: Any) -> dict[str, Callable[[Card], QDialog]]:
    def message(card: Card) -> QDialog:
        def fill(shape: str, parts: dict[str, str]) -> Any:
            return compose(shape, card, desk.rules, desk.clock.now(), parts)

        return StatusMessageDialog(None, card, fill, None)

    return {
        "priority": lambda c: PriorityDialog(None, c, None),
        "status": lambda c: StatusDialog(None, c, None),
        "note": lambda c: NoteDialog(None, c, ""),
        "assign": lambda c: AssignDialog(None, c, ""),
        "acknowledge": lambda c: AckDialog(None, c, None),
        "status_message": message,
    }


# The first input of each dialog, by the attribute that holds it.
FIRST = {"priority": "priority", "status": "status", "note": "text", "assign": "who",
         "acknowledge": "who", "status_message": "shape"}


def _shown(qtbot: Any, dialog: QDialog) -> QDialog:
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


@pytest.mark.parametrize("name", sorted(FIRST))
def test_each_dialog_opens_in_its_first_input_with_no_default_button(
    qtbot, desk, name
) -> None:
    card = register(desk)
    dialog = _shown(qtbot, _dialogs(desk)[name](card))
    first = getattr(dialog, FIRST[name])
    qtbot.waitUntil(lambda: QApplication.focusWidget() is first)
    assert dialog.focusWidget() is first
    assert dialog.inputs()[0] is first  # type: ignore[attr-defined]
    buttons = dialog.findChildren(QPushButton)
    assert buttons
    assert not [b.text() for b in buttons if b.isDefault() or b.autoDefault()]


def test_a_name_with_a_space_is_typed_whole_and_ctrl_enter_records_it(qtbot, desk) -> None:
    dialog = _shown(qtbot, AckDialog(None, register(desk), None))
    qtbot.waitUntil(dialog.who.hasFocus)
    qtbot.keyClicks(QApplication.focusWidget(), "M. Kranz")
    qtbot.keyClick(dialog.who, Qt.Key.Key_Return)  # two inputs: Enter does not submit
    assert dialog.isVisible() and dialog.who.text() == "M. Kranz"
    qtbot.keyClick(dialog.who, Qt.Key.Key_Return, CTRL)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert not dialog.isVisible()


def test_space_and_enter_in_the_status_choice_fire_nothing(qtbot, desk) -> None:
    dialog = _shown(qtbot, StatusDialog(None, register(desk), None))
    qtbot.waitUntil(dialog.status.hasFocus)
    for key in (Qt.Key.Key_W, Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
        qtbot.keyClick(QApplication.focusWidget(), key)
        assert dialog.isVisible(), f"{key} closed the dialog"
    popup = QApplication.activePopupWidget()  # `w` may have opened the list
    if popup is not None:
        popup.close()
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Enter, CTRL)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_enter_submits_a_dialog_whose_only_field_is_one_line(qtbot, desk) -> None:
    dialog = _shown(qtbot, AssignDialog(None, register(desk), ""))
    qtbot.waitUntil(dialog.who.hasFocus)
    qtbot.keyClicks(dialog.who, "L. Fischer")
    qtbot.keyClick(dialog.who, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted


@pytest.mark.parametrize("name", sorted(FIRST))
def test_ctrl_enter_submits_and_esc_cancels_every_dialog(qtbot, desk, name) -> None:
    card = register(desk)
    make = _dialogs(desk)[name]
    dialog = _shown(qtbot, make(card))
    if name == "status_message":  # OK is only enabled for a message that can be sent
        for edit in dialog.inputs()[1:]:  # type: ignore[attr-defined]
            if isinstance(edit, QLineEdit):
                edit.setText("x")
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return, CTRL)
    assert dialog.result() == QDialog.DialogCode.Accepted
    again = _shown(qtbot, make(card))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert again.result() == QDialog.DialogCode.Rejected and not again.isVisible()


def test_ctrl_enter_never_sends_a_message_that_cannot_be_composed(qtbot, desk) -> None:
    def refuse(shape: str, parts: dict[str, str]) -> Any:
        raise DeskError("say what is not working")

    dialog = _shown(qtbot, StatusMessageDialog(None, register(desk), refuse, None))
    qtbot.waitUntil(dialog.shape.hasFocus)
    qtbot.keyClick(dialog.shape, Qt.Key.Key_Return, CTRL)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted


@pytest.mark.parametrize("keys", [(Qt.Key.Key_N, CTRL), (Qt.Key.Key_F2, Qt.KeyboardModifier(0))])
def test_new_card_opens_at_the_top_with_the_cursor_in_the_first_field(
    qtbot, window, keys
) -> None:
    intake = window.intake
    window.side.setCurrentWidget(intake)
    bar = intake.ui.scroll.verticalScrollBar()
    window.resize(1400, 500)  # short enough to scroll
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    intake.ui.inputs["priority_reason"].setFocus()
    bar.setValue(bar.maximum())
    window.queue.focus_table()
    qtbot.waitUntil(window.queue.table.hasFocus)

    qtbot.keyClick(window.queue.table, *keys)
    first = intake.ui.first_input()
    qtbot.waitUntil(lambda: QApplication.focusWidget() in (first, first.lineEdit()))
    assert window.side.currentWidget() is intake
    assert bar.value() == 0
    qtbot.keyClicks(QApplication.focusWidget(), "phone")
    assert intake.values()["source_channel"] == "phone"


def test_register_is_not_a_default_button(window) -> None:
    button = window.intake.ui.register_button
    assert not button.isDefault() and not button.autoDefault()


def test_window_shortcuts_work_from_the_command_bar(qtbot, window, desk, monkeypatch) -> None:
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)
    asked: list[str] = []

    def fake(name: str) -> Any:
        return classmethod(lambda cls, *a, **k: asked.append(name))

    monkeypatch.setattr(dialogs.StatusMessageDialog, "ask", fake("status_message"))
    monkeypatch.setattr(dialogs.AckDialog, "ask", fake("acknowledge"))
    window.focus_command_bar()
    qtbot.waitUntil(window.command_bar.hasFocus)
    qtbot.keyClicks(window.command_bar, "s ")
    qtbot.keyClick(window.command_bar, Qt.Key.Key_U, CTRL)
    qtbot.keyClick(window.command_bar, Qt.Key.Key_K, CTRL)
    assert asked == ["status_message", "acknowledge"]
    assert window.command_bar.text() == "s "  # the bar's text was not edited by the chords


def test_esc_leaves_the_on_call_tab(qtbot, window) -> None:
    window.registry.action("on_call").trigger()
    window.on_call.setFocus()
    focus = QApplication.focusWidget() or window.on_call
    qtbot.keyClick(focus, Qt.Key.Key_Escape)
    assert window.side.currentWidget() is window.card
    assert window.queue.table.hasFocus()


def test_one_wallboard_f11_toggles_it_and_esc_closes_it(
    qtbot, desk, events, ui_settings
) -> None:
    from app.ui.main_window import DeskWindow
    from app.ui.wallboard import WallboardWindow

    built: list[QWidget] = []

    def open_board() -> None:
        board = WallboardWindow(desk, events)
        qtbot.addWidget(board)
        built.append(board)
        board.show()

    window = DeskWindow(desk, events, settings=ui_settings, open_wallboard=open_board)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    f11 = window.registry.action("wallboard")
    f11.trigger()
    assert len(built) == 1 and built[0].isVisible()
    f11.trigger()  # the second F11 from the desk closes the same board
    assert not built[0].isVisible()
    f11.trigger()  # and the third shows it again: never a second board
    assert len(built) == 1 and built[0].isVisible()
    qtbot.keyClick(built[0], Qt.Key.Key_Escape)
    assert not built[0].isVisible()
    f11.trigger()
    qtbot.keyClick(built[0], Qt.Key.Key_F11)
    assert not built[0].isVisible() and len(built) == 1
