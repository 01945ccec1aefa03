"""The headless desk (`dispatch-desk run`) as a real process: it pages a P1 that another
process registers, without waiting for an idle wake, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bootstrap import TWILIO_SECRETS
from tests.file_keyring import child_env
from tests.polling import wait_until
from tests.runtime.desk_procs import P1, cli, start_run
from tests.twilio_standin import TwilioStandIn

ROSTER = Path(__file__).resolve().parents[2] / "app" / "defaults" / "roster.example.toml"


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as standin:
        yield standin


def _desk(tmp_path: Path, twilio: TwilioStandIn) -> tuple[Path, Path, dict[str, str]]:
    journal = tmp_path / "desk.sqlite"
    settings = tmp_path / "settings.toml"
    settings.write_text(f'twilio_api_url = "{twilio.base_url}"\ndesk_code = "N"\n')
    env = child_env(tmp_path / "keyring.json", dict(zip(
        TWILIO_SECRETS, (twilio.account_sid, twilio.auth_token, twilio.number), strict=True)))
    imported = cli(journal, "roster", "import", str(ROSTER), env=env, settings=settings)
    assert imported.returncode == 0, imported.stderr
    return journal, settings, env


def _pages(twilio: TwilioStandIn) -> tuple[int, int]:
    return (len(twilio.requests_to("POST", "/Messages.json")),
            len(twilio.requests_to("POST", "/Calls.json")))


def test_a_p1_from_another_process_is_paged_at_once(tmp_path: Path,
                                                    twilio: TwilioStandIn) -> None:
    journal, settings, env = _desk(tmp_path, twilio)
    desk = start_run(journal, settings, env)
    try:
        assert desk.stderr is not None and desk.stdout is not None
        first = desk.stdout.readline()
        assert "running on" in first and "ladder" in first, first + desk.stderr.read()
        before = _pages(twilio)
        made = cli(journal, *P1, env=env, settings=settings)
        assert made.returncode == 0, made.stderr
        registered = time.monotonic()
        # The idle wake is 30 s: paging within a few seconds means the watch woke the ladder.
        wait_until(lambda: _pages(twilio)[0] > before[0] and _pages(twilio)[1] > before[1],
                   "the SMS and the call for the P1", within=5)
        assert time.monotonic() - registered < 5
        desk.send_signal(signal.SIGTERM)
        assert desk.wait(timeout=20) == 0
        assert "stopped" in desk.stdout.read()
    finally:
        if desk.poll() is None:
            desk.kill()
            desk.wait()
    shown = cli(journal, "card", "show", "N-0001", env=env, settings=settings)
    assert "Tier 1" in shown.stdout or "tier 1" in shown.stdout.lower(), shown.stdout


def test_without_credentials_the_headless_desk_says_paging_is_off(tmp_path: Path) -> None:
    journal = tmp_path / "desk.sqlite"
    settings = tmp_path / "settings.toml"
    settings.write_text("")
    env = child_env(tmp_path / "keyring.json")
    desk = start_run(journal, settings, env)
    try:
        assert desk.stdout is not None and desk.stderr is not None
        assert "journal watch only" in desk.stdout.readline()
        desk.send_signal(signal.SIGTERM)
        assert desk.wait(timeout=20) == 0
        err = desk.stderr.read()
        assert "paging OFF" in err and "set-credentials" in err
        assert "local only" in err
    finally:
        if desk.poll() is None:
            desk.kill()
            desk.wait()
