"""A desk on a real journal file in a temporary folder, with a clock that only moves when told."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.clock import FakeClock
from app.loaders import load_rules
from app.models.journal import Journal
from app.services.cards.card import Operator
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService

# Monday 23 November 2026, 10:00 in Berlin (09:00 UTC): inside business hours.
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DISPATCHER = Operator("A. Novak", "dispatcher")
LEAD = Operator("M. Keller", "shift_lead")


def intake(**extra: Any) -> dict[str, Any]:
    base = {
        "category": "network",
        "site": "HQ",
        "symptom": "Core switch down",
        "impact": "high",
        "urgency": "high",
        "priority_reason": "whole site offline",
        "q_what": "no network for the whole building",
        "q_where": "HQ, server room 0.12",
        "q_when": "since 09:55, after a power blip",
        "q_workaround": "none; recovery urgent",
        "q_contact": "J. Weber, ext 2231",
    }
    base.update(extra)
    return base


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_10)


@pytest.fixture
def rules() -> DispatchRules:
    return load_rules()


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.sqlite"


@pytest.fixture
def journal(journal_path: Path, clock: FakeClock) -> Iterator[Journal]:
    j = Journal.open(journal_path, clock)
    yield j
    j.close()


@pytest.fixture
def cards(journal: Journal, rules: DispatchRules, clock: FakeClock) -> CardService:
    return CardService(journal, rules, clock)
