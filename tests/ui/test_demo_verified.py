"""The demo shift is consistent with its rota: the people on call answered last month's
availability check, so the desk shows no "(not verified in 30 days)" marks on a fresh demo;
and the check still catches a contact whose verification is older than 30 days."""

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
