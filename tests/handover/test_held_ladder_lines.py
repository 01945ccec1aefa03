"""A held ladder says so on the handover sheet and the wallboard instead of a next-tier
time, and a next tier already past reads "was due", never as a plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.services.handover.facts import EscalationLine
from app.services.handover.sheet import _escalation

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _line(**extra: object) -> EscalationLine:
    return EscalationLine(card_id="c1", tier=2, tiers=4, paged="R. Sommer",
                          paged_at=NOW - timedelta(minutes=5), **extra)  # type: ignore[arg-type]


def test_a_held_ladder_says_who_held_it_and_why() -> None:
    text = _escalation(_line(held="held by A. Novak: caller on site"), TZ, NOW)
    assert "LADDER HELD (held by A. Novak: caller on site)" in text
    assert "next tier" not in text


def test_a_past_next_tier_reads_was_due() -> None:
    past = _escalation(_line(next_tier_at=NOW - timedelta(minutes=2)), TZ, NOW)
    ahead = _escalation(_line(next_tier_at=NOW + timedelta(minutes=2)), TZ, NOW)
    assert "next tier was due 08:58" in past
    assert "next tier at 09:02" in ahead


def test_the_wallboard_shows_a_held_ladder_instead_of_its_next_tier() -> None:
    from app.ui.wallboard_view import _ladder_row

    row = _ladder_row(_line(held="held by A. Novak: caller on site",
                            next_tier_at=NOW + timedelta(minutes=2)), "B-0013", None, {},
                      TZ, NOW)
    assert row.text.endswith("LADDER HELD (held by A. Novak: caller on site)")
    assert "next tier" not in row.text
