"""The real schedulers (background and Qt) waking the ladder, and `dispatch-desk ladder`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.adapters.secrets import SecretStore
from app.bootstrap import twilio_pager_from
from app.cli import main
from app.clock import SystemClock
from app.errors import ConfigError
from app.runtime.escalation_scheduler import EscalationScheduler
from tests.escalation.harness import ALICE, DESK_NUMBER, LadderDesk, build
from tests.memory_keyring import MemoryKeyring
from tests.polling import wait_until
from tests.twilio_standin import TwilioStandIn


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LadderDesk, TwilioStandIn]]:
    with TwilioStandIn(number=DESK_NUMBER) as twilio:
        desk = build(tmp_path / "j.sqlite", SystemClock(), twilio.base_url,
                     twilio.account_sid, twilio.auth_token)
        yield desk, twilio
        desk.close()


def test_background_scheduler_pages_a_p1_within_a_second_of_a_nudge(live) -> None:
    desk, twilio = live
    runner = EscalationScheduler(desk.service, desk.service.clock, poll_every_s=0.5)
    runner.start()
    try:
        wait_until(lambda: runner.runs >= 1, "the first run")
        desk.register("P1")
        started = time.monotonic()
        runner.nudge()
        wait_until(lambda: len(twilio.requests_to("POST", ".json")) >= 2, "SMS and call")
        assert time.monotonic() - started < 1.0
        posted = {r.path.rsplit("/", 1)[1] for r in twilio.requests_to("POST", ".json")}
        assert posted == {"Messages.json", "Calls.json"}
        twilio.simulate_reply(ALICE, "1")
        wait_until(lambda: desk.journal.cards()[0]["acknowledged_at"] is not None, "the ack")
    finally:
        runner.stop()


def test_qt_scheduler_reaches_the_window_only_through_signals(live, qtbot) -> None:
    from app.ui.events import DeskEvents
    from app.ui.ladder_scheduler import LadderScheduler

    desk, twilio = live
    events = DeskEvents(SystemClock())
    ladder = LadderScheduler(desk.service, events, poll_every_s=0.5)
    seen: list[tuple[object, bool]] = []
    main_thread = threading.main_thread()
    events.changed.connect(lambda cards: seen.append(
        (cards, threading.current_thread() is main_thread)))
    ladder.start()
    try:
        desk.register("P1")
        events.announce(None)  # what the window does after registering: the ladder wakes
        qtbot.waitUntil(lambda: len(twilio.requests_to("POST", ".json")) >= 2, timeout=3000)
        qtbot.waitUntil(lambda: any(c for c, _ in seen if c), timeout=3000)
        assert all(on_gui for _, on_gui in seen), "signals must arrive on the GUI thread"
    finally:
        ladder.stop()


@pytest.fixture
def memory(memory_keyring: MemoryKeyring) -> MemoryKeyring:
    return memory_keyring


def test_set_credentials_stores_three_secrets(memory, monkeypatch, capsys) -> None:
    answers = iter(["AC" + "1" * 32, "+15005550006"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt: "t" * 32)
    assert main(["ladder", "set-credentials"]) == 0
    assert memory.entries[("dispatch-desk", "twilio_auth_token")] == "t" * 32
    pager = twilio_pager_from(SecretStore())
    assert pager is not None


def test_bad_credentials_store_nothing(memory, monkeypatch, capsys) -> None:
    answers = iter(["AC" + "1" * 32, "0151 1234"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt: "t" * 32)
    assert main(["ladder", "set-credentials"]) == 1
    assert "from-number" in capsys.readouterr().err
    assert memory.entries == {}
    with pytest.raises(ConfigError) as err:
        twilio_pager_from(SecretStore())
    assert "set-credentials" in err.value.message


def test_ladder_check_refuses_a_bad_file(tmp_path, capsys) -> None:
    bad = tmp_path / "ladder.toml"
    bad.write_text('[[tier]]\nrole = "primary"\nwait = "4m"\n', encoding="utf-8")
    assert main(["--journal", str(tmp_path / "j.sqlite"), "ladder", "check", str(bad)]) == 1
    assert "guaranteed human" in capsys.readouterr().err
