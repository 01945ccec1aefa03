"""The intake mailbox against the real Dovecot (tests/channels/dovecot.py): mail delivered over
IMAP becomes an item in the desk's tray and moves to the done folder; a poller killed between
fetch and mark leaves one item, not two, not zero; broken mail still becomes an item that
says what was wrong; a wrong password, an untrusted certificate and a server without MOVE
each end the way the settings say."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from app.adapters.imap import DONE_KEYWORD, FETCH_MAX_BYTES, MAIL_PASSWORD
from app.adapters.secrets import SecretStore
from app.application import Desk
from app.bootstrap import build_desk
from app.cli import main
from app.clock import FakeClock
from app.config import Settings, load_settings
from app.errors import ConfigError
from app.runtime.headless import HeadlessDesk
from app.runtime.mail_poller import FAULT_ENV, MailPoller, mail_poller_for
from tests.channels.dovecot import WITHOUT_MOVE, Dovecot, run_dovecot
from tests.file_keyring import child_env
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[Dovecot]:
    yield from run_dovecot()


@pytest.fixture
def server_without_move() -> Iterator[Dovecot]:
    yield from run_dovecot(WITHOUT_MOVE)


def mail(subject: str | None = "core-sw-1 is DOWN", body: str = "Host down since 01:58.",
         sender: str = "Nagios <nagios@example.org>", msgid: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "desk@example.org"
    if subject is not None:
        message["Subject"] = subject
    if msgid:
        message["Message-ID"] = msgid
    message.set_content(body)
    return message.as_bytes()


def settings_for(server: Dovecot, journal: Path, **more: Any) -> Settings:
    values: dict[str, Any] = {"journal": journal, "mail_server": server.url,
                              "mail_user": server.user, "mail_ca_file": server.ca_file,
                              **more}
    return Settings(**values).validated()


@pytest.fixture
def clock() -> FakeClock:
    # Ahead of the server's clock, which stamps each mail's arrival (INTERNALDATE).
    return FakeClock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30))


def desk_for(server: Dovecot, tmp_path: Path, clock: FakeClock, **more: Any) -> Desk:
    SecretStore().set(MAIL_PASSWORD, server.password)
    return build_desk(settings_for(server, tmp_path / "journal.sqlite", **more), clock)


def poller_of(desk: Desk, **options: Any) -> MailPoller:
    poller = mail_poller_for(desk, SecretStore(), **options)
    assert poller is not None
    return poller


def test_a_delivered_mail_becomes_a_tray_item_and_moves_to_done(
        server: Dovecot, tmp_path: Path, clock: FakeClock) -> None:
    server.append(mail(msgid="<m1@example.org>"))
    with closing(desk_for(server, tmp_path, clock)) as desk:
        report = poller_of(desk).poll_once()
        assert (report.fetched, report.written, report.marked) == (1, 1, 1)
        [item] = desk.intake.pending()
        assert item.channel == "email" and item.summary == "core-sw-1 is DOWN"
        assert item.details == "Host down since 01:58."
        assert item.callback == "nagios@example.org"
        assert item.labels["message_id"] == "m1@example.org"
        assert item.count == 1
    assert server.messages("INBOX") == []
    [done] = server.messages("Processed")  # created on the first move
    assert b"Message-ID: <m1@example.org>" in done


def test_mail_comes_in_under_the_one_email_integration_and_its_defaults(
        server: Dovecot, tmp_path: Path, clock: FakeClock) -> None:
    server.append(mail(subject="UPS 3 on battery", sender="ups3@example.org"))
    with closing(desk_for(server, tmp_path, clock)) as desk:
        assert main(["--journal", str(desk.settings.journal), "integration", "add", "email",
                     "facilities-mail", "--category", "power", "--site", "Plant 2"]) == 0
        poller_of(desk).poll_once()
        [item] = desk.intake.pending()
        assert item.integration == "facilities-mail"
        assert (item.category, item.site) == ("power", "Plant 2")


def test_mail_folder_and_mail_done_folder_are_honoured(
        server: Dovecot, tmp_path: Path, clock: FakeClock) -> None:
    server.append(mail(subject="in the inbox"))
    server.append(mail(subject="for the desk"), folder="Monitoring alerts")
    with closing(desk_for(server, tmp_path, clock, mail_folder="Monitoring alerts",
                          mail_done_folder="Taken – Störung")) as desk:
        assert poller_of(desk).poll_once().marked == 1
        assert [i.summary for i in desk.intake.pending()] == ["for the desk"]
    assert len(server.messages("INBOX")) == 1 and server.messages("Monitoring alerts") == []
    assert len(server.messages("Taken &IBM- St&APY-rung")) == 1  # IMAP's modified UTF-7
    with closing(desk_for(server, tmp_path, clock, mail_folder="No such folder")) as desk, \
            pytest.raises(ConfigError) as caught:
        poller_of(desk).poll_once()
    assert caught.value.field == "mail_folder" and "No such folder" in str(caught.value)


def test_the_poll_runs_every_mail_poll_s_on_the_desks_clock(
        server: Dovecot, tmp_path: Path, clock: FakeClock) -> None:
    with closing(desk_for(server, tmp_path, clock, mail_poll_s=60.0)) as desk:
        polled: list[int] = []
        poller = poller_of(desk, on_polled=lambda r: polled.append(r.fetched))
        first = poller.run_due()  # the first poll is at once
        assert polled == [0] and first == clock.now() + timedelta(seconds=60)
        server.append(mail())
        clock.advance(59)
        assert poller.run_due() == first and polled == [0]  # not yet due
        clock.advance(1)
        poller.run_due()
        assert polled == [0, 1]
        server.append(mail(body="still down"))  # the same sender and subject: a repeat
        clock.advance(60)
        poller.run_due()
        [item] = desk.intake.pending()
        assert item.count == 2 and polled == [0, 1, 1]
    assert len(server.messages("Processed")) == 2


# -- a crash between fetch and mark ------------------------------------------------------------

def poll_in_child(server: Dovecot, tmp_path: Path, fault: str | None
                  ) -> subprocess.CompletedProcess[str] | None:
    """`dispatch-desk intake poll-mail --once` as its own process; with `fault`, it is killed
    (SIGKILL) when it reaches that point, as a power cut would."""
    journal, config = tmp_path / "journal.sqlite", tmp_path / "settings.toml"
    config.write_text(f'mail_server = "{server.url}"\nmail_user = "{server.user}"\n'
                      f'mail_ca_file = "{server.ca_file}"\n')
    env = child_env(tmp_path / "keyring.json", {MAIL_PASSWORD: server.password})
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    command = [sys.executable, "-m", "app", "--journal", str(journal), "--config", str(config),
               "intake", "poll-mail", "--once"]
    if fault is None:
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=60, check=False)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()
        assert line == f"mail fault point: {fault}\n", line + proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return None


@pytest.mark.parametrize("fault", ["fetched", "written"])
def test_a_poller_killed_between_fetch_and_mark_neither_loses_nor_doubles(
        server: Dovecot, tmp_path: Path, fault: str) -> None:
    server.append(mail(msgid="<crash@example.org>"))
    poll_in_child(server, tmp_path, fault)
    assert len(server.messages("INBOX")) == 1, "the mail was marked before the kill"
    settings = load_settings(tmp_path / "settings.toml",
                             {"journal": tmp_path / "journal.sqlite"})
    with closing(build_desk(settings)) as desk:
        written = len(desk.intake.pending())
        assert written == (1 if fault == "written" else 0)
    done = poll_in_child(server, tmp_path, None)
    assert done is not None and done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("mail: 1 fetched, 0 written, 1 done" if fault == "written"
                                   else "mail: 1 fetched, 1 written, 1 done")
    with closing(build_desk(settings)) as desk:
        [item] = desk.intake.pending()
        assert item.count == 1 and item.labels["message_id"] == "crash@example.org"
        received = [e for e in desk.journal.all_entries() if e.kind.startswith("intake.")]
        assert [e.kind for e in received] == ["intake.received"]
    assert server.messages("INBOX") == [] and len(server.messages("Processed")) == 1


# -- bad mail ----------------------------------------------------------------------------------

def test_bad_mail_becomes_items_that_say_what_was_wrong(
        server: Dovecot, tmp_path: Path, clock: FakeClock) -> None:
    server.append(mail(subject=None, body="Smoke in server room 2", sender="guard@example.org"))
    huge = "disk errors on array 3\n" + "x" * (3 * FETCH_MAX_BYTES)
    server.append(mail(subject="Huge log", body=huge, sender="logs@example.org"))
    server.append(b"From: old@example.org\r\nSubject: K\xfchlraum \xff\r\n"
                  b"Content-Type: text/plain; charset=utf-8\r\n"
                  b"Content-Transfer-Encoding: 8bit\r\n\r\nTemperatur 9 \xb0C\r\n")
    server.append(b"not a header line, \x1b[2J and no From\r\n")  # no headers at all
    fire = "\U0001f525"  # 12 bytes as JSON: every field full of it passes the entry's limit
    server.append(f"From: {fire * 150} <{fire * 190}@x.org>\r\nSubject: {fire * 400}\r\n"
                  f"Message-ID: <{fire * 1200}@x>\r\nReply-To: <{fire * 190}@y.org>\r\n"
                  f"Content-Type: text/plain; charset=utf-8\r\n\r\n{fire * 5000}".encode())
    with closing(desk_for(server, tmp_path, clock)) as desk:
        report = poller_of(desk).poll_once()
        assert (report.fetched, report.written, report.marked) == (5, 5, 5)
        assert report.unreadable == 1
        items = {i.source[:40]: i for i in desk.intake.pending()}
        assert len(items) == 5
        unreadable = items[f"{fire * 40}"]  # the sender is kept
        assert unreadable.summary.startswith("An unreadable mail (")
        assert "the limit is" in unreadable.details and "kept in the mailbox" in \
            unreadable.details
        nosubject = items["guard@example.org"]
        assert nosubject.summary == "(no subject) Smoke in server room 2"
        assert nosubject.details.startswith("The mail had no subject.")
        big = items["logs@example.org"]
        assert big.summary == "Huge log" and "more bytes are in the mailbox" in big.details
        assert "disk errors on array 3" in big.details and len(big.details) <= 4000
        latin = items["old@example.org"]
        assert latin.summary.startswith("K") and "\ufffd" in latin.summary
        assert "Temperatur 9" in latin.details
        headless = items[""]
        assert headless.summary == "(no subject) not a header line, [2J and no From"
        assert "no readable sender" in headless.details
    assert server.messages("INBOX") == [] and len(server.messages("Processed")) == 5


# -- the server says no ------------------------------------------------------------------------

def test_a_wrong_password_is_a_clear_error_naming_the_setting(
        server: Dovecot, tmp_path: Path, clock: FakeClock,
        capsys: pytest.CaptureFixture[str]) -> None:
    server.append(mail())
    with closing(desk_for(server, tmp_path, clock)) as desk:
        SecretStore().set(MAIL_PASSWORD, "not-the-password")
        errors: list[str] = []
        poller = poller_of(desk, on_error=errors.append)
        with pytest.raises(ConfigError) as caught:
            poller.poll_once()
        assert caught.value.field == MAIL_PASSWORD
        assert f"refused the login of mail_user {server.user!r}" in str(caught.value)
        assert "dispatch-desk intake set-mail-password" in str(caught.value)
        poller.run_due()  # in the loop: said, not raised; the desk keeps running
        clock.advance(desk.settings.mail_poll_s)
        poller.run_due()  # the same failure again is not said again
        assert errors == [str(caught.value)]
        SecretStore().set(MAIL_PASSWORD, server.password)
        clock.advance(desk.settings.mail_poll_s)
        poller.run_due()
        assert poller.last_error == "" and len(desk.intake.pending()) == 1
    # The command line: one line naming the setting, exit 1.
    SecretStore().set(MAIL_PASSWORD, "wrong")
    config = tmp_path / "settings.toml"
    config.write_text(f'mail_server = "{server.url}"\nmail_user = "{server.user}"\n'
                      f'mail_ca_file = "{server.ca_file}"\n')
    code = main(["--journal", str(tmp_path / "journal.sqlite"), "--config", str(config),
                 "intake", "poll-mail", "--once"])
    err = capsys.readouterr().err
    assert code == 1 and "mail_user 'desk'" in err and "set-mail-password" in err


def test_an_untrusted_certificate_names_mail_ca_file(
        server: Dovecot, tmp_path: Path, clock: FakeClock) -> None:
    missing = tmp_path / "no-such-ca.pem"
    for ca_file, said in ((None, "not trusted"), (missing, str(missing))):
        desk = desk_for(server, tmp_path, clock, mail_ca_file=ca_file)
        with closing(desk), pytest.raises(ConfigError) as caught:
            poller_of(desk).poll_once()
        assert caught.value.field == "mail_ca_file" and said in str(caught.value)


def test_a_server_that_is_not_there_names_mail_server(tmp_path: Path, clock: FakeClock) -> None:
    from tests.channels.dovecot import free_port

    settings = Settings(journal=tmp_path / "j.sqlite", mail_server=f"imaps://127.0.0.1:"
                        f"{free_port()}", mail_user="desk").validated()
    SecretStore().set(MAIL_PASSWORD, "pw")
    with closing(build_desk(settings, clock)) as desk, pytest.raises(ConfigError) as caught:
        poller_of(desk).poll_once()
    assert caught.value.field == "mail_server" and "cannot talk to the server" in str(
        caught.value)


@pytest.mark.parametrize(("value", "field"), [
    ("pop3://mail.example.org", "mail_server"), ("imaps://", "mail_server"),
    ("imaps://user:pw@mail.example.org", "mail_server"), ("imaps://h:99999", "mail_server"),
])
def test_the_mail_settings_are_checked_at_start(value: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(mail_server=value, mail_user="desk").validated()
    assert caught.value.field == field
    with pytest.raises(ConfigError) as caught:
        Settings(mail_server="imaps://mail.example.org").validated()
    assert caught.value.field == "mail_user"


def test_without_move_processed_mail_is_flagged_and_not_taken_again(
        server_without_move: Dovecot, tmp_path: Path, clock: FakeClock) -> None:
    server = server_without_move
    server.append(mail(msgid="<flag@example.org>"))
    with closing(desk_for(server, tmp_path, clock)) as desk:
        poller = poller_of(desk)
        assert poller.poll_once().marked == 1
        assert poller.poll_once().fetched == 0
        assert len(desk.intake.pending()) == 1
    assert len(server.messages("INBOX")) == 1 and server.messages("Processed") == []
    client = server.connect()
    try:
        client.select("INBOX", readonly=True)
        typ, data = client.uid("SEARCH", "KEYWORD", DONE_KEYWORD)
        assert typ == "OK" and len(data[0].split()) == 1
    finally:
        client.logout()


def test_starttls_on_the_plain_port(server: Dovecot, tmp_path: Path, clock: FakeClock) -> None:
    server.append(mail())
    url = f"imap://127.0.0.1:{server.starttls_port}"
    with closing(desk_for(server, tmp_path, clock, mail_server=url)) as desk:
        assert poller_of(desk).poll_once().written == 1


# -- the headless desk -------------------------------------------------------------------------

def test_the_headless_desk_polls_the_mailbox_when_mail_server_is_set(
        server: Dovecot, tmp_path: Path, clock: FakeClock) -> None:
    server.append(mail())
    said: list[str] = []
    with closing(desk_for(server, tmp_path, clock)) as desk:
        headless = HeadlessDesk(desk, SecretStore(), sync=False, ladder=False,
                                say=said.append, watch_every_s=0.05)
        assert headless.channels.mail is not None
        runner = threading.Thread(target=headless.run)
        runner.start()
        try:
            wait_until(lambda: len(desk.intake.pending()) == 1, "the mail in the tray")
        finally:
            headless.stop()
            runner.join(timeout=30)
        assert not runner.is_alive()
    assert server.messages("INBOX") == []
    with closing(build_desk(Settings(journal=tmp_path / "j2.sqlite"), clock)) as desk:
        assert HeadlessDesk(desk, SecretStore(), sync=False, ladder=False,
                            say=said.append).channels.mail is None
