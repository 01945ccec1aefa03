"""The dispatcher's "confirm" in the window: under clock_start = "confirmation" it is what
starts a card's clocks (issue 14). Offscreen, with the fake clock of tests/ui/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.services.cards.rules import DEFAULT_RULES
from app.services.cards.sla import ClockState, clocks_for
from app.ui.events import DeskEvents
from tests.ui.conftest import register


@pytest.fixture
def confirming_desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    policies = tmp_path / "policies.toml"
    policies.write_text(DEFAULT_RULES.read_text(encoding="utf-8").replace(
        'categories = ["network", "telephony"]',
        'categories = ["network", "telephony"]\nclock_start = "confirmation"',
    ), encoding="utf-8")
    desk = build_desk(Settings(journal=tmp_path / "desk.sqlite", desk_code="B",
                               operator="A. Novak", policies=policies).validated(), clock)
    yield desk
    desk.close()


@pytest.fixture
def confirming_window(qtbot: Any, confirming_desk: Desk, events: DeskEvents,
                      ui_settings: QSettings) -> Any:
    from app.ui.main_window import DeskWindow

    w = DeskWindow(confirming_desk, events, settings=ui_settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_confirm_button_starts_the_clocks(qtbot: Any, confirming_window: Any,
                                          confirming_desk: Desk, clock: FakeClock) -> None:
    desk, window = confirming_desk, confirming_window
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)
    assert clocks_for(card, desk.rules, clock.now()).reaction.state is ClockState.NOT_STARTED
    clock.advance(timedelta(minutes=3))
    button = window.card.buttons["confirm"]
    assert "Ctrl+Shift+C" in button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    confirmed = desk.cards.get(card.number)
    assert confirmed.confirmed_at == clock.now()
    reaction = clocks_for(confirmed, desk.rules, clock.now()).reaction
    assert reaction.state is ClockState.RUNNING
    assert reaction.due == clock.now() + timedelta(minutes=10)

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # a second time: refused, said why
    assert "already confirmed" in window.message_bar.text.text()


def test_confirm_is_in_the_card_menu_and_the_f1_list(window: Any) -> None:
    assert ("Ctrl+Shift+C", "Confirm card") in window.registry.cheat_sheet()
    action = window.registry.action("confirm")
    assert action.shortcuts()[0].toString() == "Ctrl+Shift+C"


def test_ctrl_shift_c_confirms_the_shown_card(qtbot: Any, confirming_window: Any,
                                              confirming_desk: Desk, clock: FakeClock) -> None:
    desk, window = confirming_desk, confirming_window
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)
    assert window.registry.action("confirm").isEnabled()
    window.registry.action("confirm").trigger()  # what the key does: the action itself
    assert desk.cards.get(card.number).confirmed_at == clock.now()
