"""The triage tray keyboard-only on a real X display: F3 opens it, D and a typed reason dismiss
the oldest item, Esc closes it, and the cursor is back where it was (the keys typed next land
in the same field). Items arrive the way they do on a desk: another process writes them into
the journal and the window's journal watch notices."""

from __future__ import annotations

import json

import pytest

from tests.polling import wait_until
from tests.realwindow.conftest import Desk
from tests.ui.test_tray import receive_elsewhere

pytestmark = pytest.mark.realwindow

DISMISS = "^Dismiss from the tray"
REASON = "test alert from the NOC"


def _dismissed(desk: Desk) -> dict[str, str]:
    """dedup key -> reason, for every item dismissed so far (read from the journal)."""
    keys = {card: json.loads(payload)["dedup_key"] for card, payload in desk._query(
        "SELECT card_id, payload FROM entries WHERE kind = 'intake.received'")}
    return {keys.get(card, card): json.loads(payload)["reason"] for card, payload in
            desk._query("SELECT card_id, payload FROM entries WHERE kind = 'intake.dismissed'")}


def test_f3_d_and_a_reason_dismiss_the_oldest_and_esc_gives_the_cursor_back(
        desk: Desk) -> None:
    d = desk.display
    receive_elsewhere(desk.journal, "rw-uplink", "HQ uplink flapping")
    receive_elsewhere(desk.journal, "rw-printer", "HQ printer offline")
    # Where the cursor is before the tray opens: the intake form's first field, whose text
    # the window saves as a draft each second (so what the keys did can be read back).
    d.key("F2")
    d.key("ctrl+a")
    d.type("radio")
    wait_until(lambda: desk.draft().get("source_channel") == "radio", "the draft", 10)
    try:
        d.key("F3")
        d.key("d")
        dialog = d.wait_window(DISMISS)
        d.screenshot("tray-dismiss")
        d.type(REASON)  # the cursor is in the reason: the letters and spaces all land
        d.key("Return")
        d.wait_gone(DISMISS)
        wait_until(lambda: "rw-uplink" in _dismissed(desk), "the oldest item dismissed", 10)
        assert _dismissed(desk) == {"rw-uplink": REASON}, "another item was dismissed"
        d.key("Escape")  # closes the tray
        d.type(" net")  # lands where the cursor was: after "radio" in the first field
        wait_until(lambda: desk.draft().get("source_channel") == "radio net",
                   "the keys after Esc to land in the intake form's first field", 10)
    finally:
        for window in d.windows(DISMISS):
            d.activate(window)
            d.key("Escape")
        d.wait_gone(DISMISS)
        d.activate(desk.window)
        d.key("Escape")  # the intake form closes; its draft is kept
    assert dialog
