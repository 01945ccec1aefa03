"""The demo shift is consistent with its rota: who acknowledged is who was on call, and the
people on call answered last month's availability check, so a fresh demo shows no "(not
verified in 30 days)" marks; the check still catches a verification older than 30 days."""

from __future__ import annotations

from datetime import timedelta

from app.application import Desk
from app.services.roster.verification import VERIFY_CARD, demo_verifications, unverified
from app.ui.launch import fill_if_empty


def test_a_fresh_demo_has_nobody_unverified_on_call(desk: Desk) -> None:
    fill_if_empty(desk)
    now = desk.clock.now()
    roster = desk.roster.roster
    assert roster.contacts  # the demo rota was imported
    assert unverified(roster, desk.journal.entries(VERIFY_CARD), now) == []


def test_a_check_older_than_30_days_is_flagged(desk: Desk) -> None:
    fill_if_empty(desk)
    now = desk.clock.now()
    roster = desk.roster.roster
    stale = demo_verifications(roster.contacts, now - timedelta(days=31))
    assert unverified(roster, stale, now) != []


def test_the_demo_acknowledgements_name_who_the_rota_had_on_call(desk: Desk) -> None:
    fill_if_empty(desk)
    roster = desk.roster.roster
    p1 = next(c for c in desk.cards.open_cards() if c.priority == "P1")
    acked = next(e for e in desk.journal.entries(p1.id) if e.kind == "card.ack")
    person = roster.on_call("network", "primary", acked.at)
    assert person is not None
    assert p1.acknowledged_by == f"{person.name} (network on call)"
