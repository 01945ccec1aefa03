"""Which events are said out loud, and that each is said once (a fake clock, a real journal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.errors import ConfigError
from app.services.alerts import AlertWatch, TrayLine, loudest, parse_silenced

NIGHT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
INTAKE = {
    "category": "network", "site": "Campus East", "symptom": "No network in building C",
    "q_what": "no network", "q_where": "building C", "q_when": "01:55", "q_workaround": "none",
    "q_contact": "ward C reception", "priority": "P1", "priority_reason": "intake stopped",
}


@pytest.fixture
def desk(tmp_path: Path):  # type: ignore[no-untyped-def]
    clock = FakeClock(NIGHT)
    d = build_desk(Settings(journal=tmp_path / "j.sqlite", desk_code="B").validated(), clock)
    yield d
    d.close()


def kinds(notices: list) -> list[str]:  # type: ignore[type-arg]
    return [n.kind for n in notices]


def test_the_first_look_lists_what_is_there_without_sounding_it(desk) -> None:  # type: ignore[no-untyped-def]
    desk.cards.register(INTAKE, desk.operator)
    watch = AlertWatch(desk.rules)
    first = watch.scan(desk.cards.open_cards(), desk.clock.now())
    assert kinds(first) == ["p1"] and not first[0].loud
    assert watch.scan(desk.cards.open_cards(), desk.clock.now()) == []  # said once


def test_a_new_p1_then_its_reaction_running_out_then_the_breach(desk) -> None:  # type: ignore[no-untyped-def]
    watch = AlertWatch(desk.rules)
    assert watch.scan([], desk.clock.now()) == []
    card = desk.cards.register(INTAKE, desk.operator)  # P1 network: reaction 10 min
    (new,) = watch.scan(desk.cards.open_cards(), desk.clock.now())
    assert new.kind == "p1" and new.loud and new.number == card.number
    desk.clock.advance(timedelta(minutes=5))
    assert watch.scan(desk.cards.open_cards(), desk.clock.now()) == []  # half used: calm
    desk.clock.advance(timedelta(minutes=3, seconds=30))
    (running_out,) = watch.scan(desk.cards.open_cards(), desk.clock.now())
    assert running_out.kind == "running_out" and "1 min left" in running_out.text
    desk.clock.advance(timedelta(minutes=2))
    (breach,) = watch.scan(desk.cards.open_cards(), desk.clock.now())
    assert breach.kind == "breach" and "reaction clock breached" in breach.text
    assert watch.scan(desk.cards.open_cards(), desk.clock.now()) == []


def test_an_acknowledged_p2_does_not_run_out_and_a_p3_is_never_loud(desk) -> None:  # type: ignore[no-untyped-def]
    watch = AlertWatch(desk.rules)
    watch.scan([], desk.clock.now())
    p2 = desk.cards.register({**INTAKE, "priority": "P2"}, desk.operator)
    desk.cards.register({**INTAKE, "priority": "P3"}, desk.operator)
    desk.cards.acknowledge(p2.number, "L. Fischer", "phone", desk.operator)
    desk.clock.advance(timedelta(minutes=12))  # the P3 reaction is breached: on its row only
    assert watch.scan(desk.cards.open_cards(), desk.clock.now()) == []


def test_the_emergency_line_the_last_tier_and_the_link(desk) -> None:  # type: ignore[no-untyped-def]
    watch = AlertWatch(desk.rules)
    watch.scan([], desk.clock.now())
    last = 4
    tray = [TrayLine("i1", "sms", "gas smell in the cellar", "+4930123"),
            TrayLine("i2", "alertmanager", "disk full")]  # monitoring is not the phone line
    down = desk.clock.now()
    found = watch.scan([], desk.clock.now(), tray=tray, link_down_since=down,
                       ladder_tiers=[("c1", "B-0001", last - 1, last),
                                     ("c2", "B-0002", last, last)])
    assert sorted(kinds(found)) == ["intake", "last_tier", "link_down"]
    assert "+4930123" in next(n.text for n in found if n.kind == "intake")
    assert loudest(found).kind == "intake"  # type: ignore[union-attr]


def test_silencing_names_the_setting_and_never_silences_a_p1() -> None:
    assert parse_silenced("link_down, running_out") == {"link_down", "running_out"}
    with pytest.raises(ConfigError, match="always heard") as caught:
        parse_silenced("p1")
    assert caught.value.field == "silence"
    with pytest.raises(ConfigError, match="unknown kind 'beeps'"):
        parse_silenced("beeps")
