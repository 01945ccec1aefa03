"""Keyboard-only on a real X display, as the tester of issue 15 worked: the first keys after
Ctrl+N / F2 / Ctrl+K land in the first field, a Space in a dialog's text never presses OK,
Ctrl+U works from the command bar, Esc closes the wallboard and F11 never makes a second."""

from __future__ import annotations

import pytest

from tests.polling import wait_until
from tests.realwindow.conftest import Desk

pytestmark = pytest.mark.realwindow

ACK = "^Acknowledgement of"
COMPOSER = "^Status message for"
WALLBOARD = "^Dispatch Desk wallboard"


def _typed_into_the_form(desk: Desk, opener: str, channel: str, reporter: str) -> None:
    d = desk.display
    d.key(opener)
    # Select-all first: an earlier test's draft may be in the field. If the cursor were not
    # in the first field, these keys would go to the queue and the draft would not change.
    d.key("ctrl+a")
    d.type(channel)
    d.key("Tab")
    d.type(reporter)
    wait_until(lambda: (desk.draft().get("source_channel"), desk.draft().get("reporter"))
               == (channel, reporter), f"the draft to hold {channel!r} / {reporter!r}", 10)
    d.key("Escape")  # closes the form; the draft is kept


def test_first_keys_after_ctrl_n_land_in_the_first_field(desk: Desk) -> None:
    desk.display.key("ctrl+n")
    desk.display.screenshot("intake-ctrl-n")
    desk.display.key("Escape")
    _typed_into_the_form(desk, "ctrl+n", "phone", "M. Kranz, ward C")


def test_first_keys_after_f2_land_in_the_first_field(desk: Desk) -> None:
    _typed_into_the_form(desk, "F2", "walk-in", "J. Weber")


def test_a_name_with_a_space_is_recorded_whole_by_ctrl_k(desk: Desk) -> None:
    d = desk.display
    d.key("ctrl+k")
    dialog = d.wait_window(ACK)
    number = d.title(dialog).rsplit(" ", 1)[-1]
    assert desk.state(number).get("acknowledged_by") is None
    d.type("M. Kranz")
    d.key("Return")  # two inputs (who, how): Enter must not submit half a form either
    d.screenshot("acknowledge-typed")
    assert d.windows(ACK) == [dialog], "Space or Enter closed the dialog"
    d.key("ctrl+Return")
    d.wait_gone(ACK)
    wait_until(lambda: desk.state(number).get("acknowledged_by") == "M. Kranz",
               f"{number} acknowledged by M. Kranz", 10)
    assert desk.card(number)["acknowledged_by"] == "M. Kranz"


def test_ctrl_u_from_the_command_bar_opens_the_status_composer(desk: Desk) -> None:
    d = desk.display
    d.key("ctrl+g")  # the command bar: where the cursor sits after every command
    d.type("s ")
    d.key("ctrl+u")
    composer = d.wait_window(COMPOSER, within=10)
    d.activate(composer)
    d.key("Escape")
    d.wait_gone(COMPOSER)


def _one_board(desk: Desk) -> str:
    board = desk.display.wait_window(WALLBOARD)
    # Qt drops a hidden window's X window, so "one board" is: never two of them at once.
    assert len(desk.display.windows(WALLBOARD, visible=False)) == 1, "F11 made a second board"
    return board


def test_esc_and_f11_close_the_one_wallboard(desk: Desk) -> None:
    d = desk.display
    d.key("F11")
    d.activate(_one_board(desk))
    d.key("Escape")
    d.wait_gone(WALLBOARD)

    d.activate(desk.window)
    d.key("F11")
    _one_board(desk)
    d.activate(desk.window)
    d.key("F11")  # F11 from the desk closes the board it opened
    d.wait_gone(WALLBOARD)

    d.activate(desk.window)
    d.key("F11")
    d.activate(_one_board(desk))
    d.key("F11")  # and so does F11 on the board itself
    d.wait_gone(WALLBOARD)
