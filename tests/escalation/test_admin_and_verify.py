"""Issue 12, the admin side: the Twilio client pointed at a stand-in by a setting, credentials
stored without prompts (stdin or the environment, never argv), replies polled every 2 s while
a ladder is live, and the monthly contact verification (`roster verify`, the reply with the
code, the warnings of `roster check`, the handover sheet and the wallboard)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.adapters.secrets import SecretStore
from app.bootstrap import build_desk, build_escalation, twilio_pager_from
from app.cli import main
from app.clock import FakeClock
from app.config import load_settings
from app.errors import ConfigError
from app.models.entry import Entry
from app.runtime.escalation_scheduler import EscalationScheduler
from app.runtime.facts import DeskFacts
from app.services.roster import Contact, Group, Roster, Rotation
from app.services.roster.verification import (
    VERIFY_CARD,
    match_reply,
    pending,
    unverified,
    verify_entries,
)
from tests.escalation.harness import ALICE, DESK_NUMBER, LadderDesk
from tests.memory_keyring import MemoryKeyring
from tests.twilio_standin import TwilioStandIn

EXAMPLE = Path(__file__).resolve().parents[2] / "app" / "defaults" / "roster.example.toml"
SID = "AC" + "0" * 31 + "1"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, TwilioStandIn]]:
    """A settings file pointing the Twilio client at the stand-in, and its journal."""
    with TwilioStandIn(number=DESK_NUMBER) as twilio:
        config = tmp_path / "settings.toml"
        config.write_text(f'journal = "{tmp_path / "j.sqlite"}"\n'
                          f'twilio_api_base = "{twilio.base_url}"\n'
                          'twilio_region = "ie1"\ntwilio_edge = "dublin"\n', encoding="utf-8")
        yield config, twilio


def _store_credentials(twilio: TwilioStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = f"{twilio.account_sid}\n{twilio.auth_token}\n{DESK_NUMBER}\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["ladder", "set-credentials", "--from-stdin"]) == 0


def test_set_credentials_from_stdin_and_from_the_environment(
        memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{SID}\n{'t' * 32}\n+15005550006\n"))
    assert main(["ladder", "set-credentials", "--from-stdin"]) == 0
    assert memory_keyring.entries[("dispatch-desk", "twilio_auth_token")] == "t" * 32
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "u" * 32)
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "+15005550007")
    assert main(["ladder", "set-credentials", "--from-env"]) == 0
    assert memory_keyring.entries[("dispatch-desk", "twilio_from_number")] == "+15005550007"


@pytest.mark.parametrize(("stdin", "field"), [
    (f"{SID}\n{'t' * 32}\n", "stdin"),  # two lines
    (f"AC123\n{'t' * 32}\n+15005550006\n", "account SID"),
    (f"{SID}\nshort\n+15005550006\n", "auth token"),
    (f"{SID}\n{'t' * 32}\n0151 1234\n", "from-number"),
])
def test_bad_credentials_on_stdin_store_nothing(memory_keyring: MemoryKeyring, monkeypatch,
                                                capsys, stdin: str, field: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(["ladder", "set-credentials", "--from-stdin"]) == 1
    assert field in capsys.readouterr().err
    assert memory_keyring.entries == {}


def test_missing_environment_names_the_variable(memory_keyring, monkeypatch, capsys) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "+15005550006")
    assert main(["ladder", "set-credentials", "--from-env"]) == 1
    assert "TWILIO_AUTH_TOKEN not set" in capsys.readouterr().err
    assert memory_keyring.entries == {}


def test_a_credential_on_the_command_line_is_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["ladder", "set-credentials", SID])
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize(("line", "field"), [
    ('twilio_api_base = "http://twilio.example.org"', "twilio_api_base"),
    ('twilio_api_base = "ftp://127.0.0.1:1"', "twilio_api_base"),
    ('twilio_region = "IE 1"', "twilio_region"),
    ('twilio_callback_url = "http://store.example.org"', "twilio_callback_url"),
    ("reply_poll_s = 0", "reply_poll_s"),
])
def test_bad_twilio_settings_are_refused_naming_the_setting(tmp_path: Path, line: str,
                                                            field: str) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert err.value.field == field and str(config) in err.value.message


def test_the_api_base_setting_points_the_real_client_at_the_stand_in(
        site, monkeypatch) -> None:
    config, twilio = site
    _store_credentials(twilio, monkeypatch)
    settings = load_settings(config)
    assert settings.twilio_api_base == twilio.base_url and settings.reply_poll_s == 2.0
    pager = twilio_pager_from(SecretStore(), settings)
    pager.send_sms(ALICE, "drill")
    (sent,) = twilio.requests_to("POST", "/Messages.json")
    assert sent.form["Body"] == "drill"  # the region/edge host (api.dublin.ie1) was mapped


def test_replies_are_polled_every_2_s_while_a_ladder_is_live_and_every_30_s_else(
        desk: LadderDesk, twilio: TwilioStandIn, clock: FakeClock) -> None:
    runner = EscalationScheduler(desk.service, clock)
    assert runner.poll_every == timedelta(seconds=2)
    assert runner.poll_due()  # the first poll is always due
    runner._poll()
    clock.advance(2)
    assert not runner.poll_due()  # nothing live: the idle pace
    desk.register("P1")
    desk.service.run_due()
    assert runner.poll_due()  # a page is out: every 2 s
    runner._poll()
    twilio.simulate_reply(ALICE, "1")
    clock.advance(2)
    runner._poll()
    clock.advance(2)
    assert not runner.poll_due()  # acknowledged: back to the idle pace
    clock.advance(30)
    assert runner.poll_due()


# -- contact verification ---------------------------------------------------------------

def _roster() -> Roster:
    people = (Contact.create("alice", "Alice Primary", primary_phone=ALICE),
              Contact.create("bob", "Bob Backup", primary_phone="+15551230002"))
    rotas = tuple(Rotation(f"net-{r}", "network", r, "weekly", (who,),
                           datetime(2026, 11, 2).date(), datetime(2026, 1, 1, 8).time(),
                           "Europe/Berlin") for r, who in (("primary", "alice"), ("backup", "bob")))
    return Roster(people, (Group("network", "IT network"),), rotas)


def _entry(new, at: datetime, desk: str = "d1") -> Entry:  # noqa: ANN001 - a NewEntry
    return Entry(new.id, new.card_id, new.kind, new.payload, f"{int(at.timestamp() * 1000):015d}"
                 f".00000.{desk}", desk, "test")


def test_unverified_lists_on_call_people_not_verified_in_30_days() -> None:
    now = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)
    roster = _roster()
    assert [u.name for u in unverified(roster, [], now)] == ["Alice Primary", "Bob Backup"]
    sent = [_entry(e, now - timedelta(days=31)) for e in verify_entries(roster.contacts,
                                                                        now - timedelta(days=31))]
    checks = pending(sent, now - timedelta(days=31))
    reply = match_reply("SM" + "a" * 32, ALICE, f"ok {checks[0].code}",
                        now - timedelta(days=31), checks)
    assert reply is not None and reply.payload["contact_id"] == "alice"
    old = [*sent, _entry(reply, now - timedelta(days=31))]
    (stale, never) = unverified(roster, old, now)
    assert (stale.name, never.name, never.last) == ("Alice Primary", "Bob Backup", None)
    assert "last verified 31 days ago" in stale.line(now)
    assert [u.name for u in unverified(roster, old, now - timedelta(days=2))] == ["Bob Backup"]
    # A wrong code, or the right code from another number, verifies nobody.
    assert match_reply("SM" + "b" * 32, ALICE, "000000", now, checks) is None
    assert match_reply("SM" + "c" * 32, "+15559990000", checks[0].code, now, checks) is None


def test_roster_verify_sends_codes_and_a_reply_marks_the_contact_verified(
        site, monkeypatch, capsys) -> None:
    config, twilio = site
    _store_credentials(twilio, monkeypatch)
    base = ["--config", str(config)]
    assert main([*base, "roster", "import", str(EXAMPLE)]) == 0
    assert main([*base, "roster", "verify", "power"]) == 0
    out = capsys.readouterr().out
    sent = twilio.requests_to("POST", "/Messages.json")
    assert sent and all("Dispatch desk availability check: reply " in r.form["Body"]
                        for r in sent)
    assert out.count("test message sent (code ") == len(sent)
    assert main([*base, "roster", "verify", "nosuchgroup"]) == 1
    assert "no group 'nosuchgroup'" in capsys.readouterr().err

    # The first person answers with the code; the desk's poll (or the store) records it.
    first = sent[0].form
    code = first["Body"].split("reply ")[1].split()[0]
    twilio.simulate_reply(first["To"], f"{code}")
    settings = load_settings(config)
    desk = build_desk(settings)
    try:
        service = build_escalation(desk, twilio_pager_from(SecretStore(), settings))
        service.poll()
        service.poll()
        (verified,) = [e for e in desk.journal.entries(VERIFY_CARD)
                       if e.kind == "roster.verified"]
        assert verified.payload["number"] == first["To"] and verified.payload["code"] == code
        # The handover sheet and the wallboard get it from the on-call lines.
        lines = DeskFacts(desk).on_call() or []
        marked = {o.name for o in lines if o.unverified}
        assert verified.payload["name"] not in marked
        service.close()
    finally:
        desk.close()
    assert main([*base, "roster", "check"]) in (0, 1)
    checked = capsys.readouterr().out
    assert f"unverified: {verified.payload['name']}" not in checked
    assert "unverified: " in checked and "never verified" in checked
