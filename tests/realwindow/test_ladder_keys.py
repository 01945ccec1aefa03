"""Ctrl+Shift+H on a real X display: the hold dialog opens with the cursor in its reason, a
reason with spaces is typed whole, Enter (its one line) holds; the same key resumes with no
dialog. What the keys did is read back from the journal."""

from __future__ import annotations

import json

import pytest

from tests.polling import holds_within, wait_until
from tests.realwindow.conftest import Desk

pytestmark = pytest.mark.realwindow

HOLD = "^Hold the ladder of"
REASON = "caller on the line, technician on site in 20 min"


def _ladder_entries(desk: Desk, number: str, kind: str) -> list[dict[str, object]]:
    rows = desk._query("SELECT e.payload FROM entries e JOIN cards c ON c.id = e.card_id "
                       "WHERE c.number = ? AND e.kind = ? ORDER BY e.seq", number, kind)
    return [json.loads(r[0]) for r in rows]


def _open_hold_dialog(desk: Desk) -> str:
    """Ctrl+Shift+H on the card in view; a card whose ladder cannot be held (an earlier test
    acknowledged it) opens no dialog, so try the next row of the queue."""
    d = desk.display
    for row in range(6):  # the queue's order is by urgency: try each row from the top
        d.key("ctrl+1", "ctrl+Home", *["Down"] * row)
        d.key("ctrl+shift+h")
        if holds_within(lambda: bool(d.windows(HOLD)), 3):
            return d.windows(HOLD)[0]
    d.screenshot("hold-none")  # what the screen showed instead ($DD_REALWINDOW_SHOTS)
    pytest.fail("Ctrl+Shift+H opened no hold dialog on any card")


def test_a_hold_reason_is_typed_whole_and_the_same_key_resumes(desk: Desk) -> None:
    d = desk.display
    dialog = _open_hold_dialog(desk)
    number = d.title(dialog).rsplit(" ", 1)[-1]
    try:
        d.type(REASON)  # the cursor is in the reason: every letter and space lands there
        d.screenshot("hold-typed")
        d.key("Return")
        d.wait_gone(HOLD)
    finally:
        for window in d.windows(HOLD):
            d.activate(window)
            d.key("Escape")
    wait_until(lambda: [h.get("reason") for h in _ladder_entries(desk, number, "ladder.hold")]
               == [REASON], f"{number}'s ladder held with the reason typed", 10)
    d.activate(desk.window)
    d.key("ctrl+shift+h")
    wait_until(lambda: len(_ladder_entries(desk, number, "ladder.resume")) == 1,
               f"{number}'s ladder resumed", 10)
    assert d.windows(HOLD) == []  # resuming asks nothing
