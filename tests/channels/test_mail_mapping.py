"""A mail becomes an Alert (app/services/intake/mail.py): pure, from bytes as a server holds
them; the intake rules match the result on sender, subject and text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from app.models.entry import format_stamp
from app.protocol.catalogue import check_payload
from app.services.intake.mail import (
    DETAILS_MAX,
    MAILBOX_PLACE,
    MESSAGE_ID,
    html_text,
    mail_alert,
    mail_identity,
    parse_mail,
    received_time,
)
from app.services.intake.rules import parse_intake_rules

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
HLC = format_stamp(int((AT + timedelta(minutes=1)).timestamp() * 1000), 0, "desk")
CARD = "0190c3d2-0000-7000-8000-000000000001"


def alert_of(raw: bytes, **kw: object):  # type: ignore[no-untyped-def]
    args = {"integration": "email", "received_at": AT, "place": "7:42", **kw}
    return mail_alert(parse_mail(raw), **args)  # type: ignore[arg-type]


def stored(alert) -> None:  # type: ignore[no-untyped-def]
    """What the catalogue says of the alert as an intake.received entry: it must pass."""
    check_payload("intake.received", CARD, alert.received_payload(), HLC)


def test_a_plain_mail_gives_sender_subject_text_and_id() -> None:
    raw = (b"From: Nagios Monitor <nagios@example.org>\r\nTo: desk@example.org\r\n"
           b"Subject: PROBLEM: core-sw-1 is DOWN\r\nMessage-ID: <abc.123@example.org>\r\n"
           b"Date: Mon, 23 Nov 2026 01:59:00 +0000\r\n\r\nHost core-sw-1 down since 01:58.\r\n")
    alert = alert_of(raw)
    assert alert.channel == "email" and alert.integration == "email"
    assert alert.summary == "PROBLEM: core-sw-1 is DOWN"
    assert alert.details == "Host core-sw-1 down since 01:58."
    assert alert.callback == "nagios@example.org"
    assert alert.source == "Nagios Monitor <nagios@example.org>"
    assert alert.labels[MESSAGE_ID] == "abc.123@example.org"
    assert alert.labels[MAILBOX_PLACE] == "7:42"
    assert mail_identity(alert) == "abc.123@example.org"
    assert alert.fields == {"reporter": "Nagios Monitor"}
    assert alert.received_at == AT
    stored(alert)


def test_the_same_problem_mailed_again_has_the_same_key() -> None:
    first = alert_of(b"From: a@x.org\r\nSubject: Disk full\r\nMessage-ID: <1@x>\r\n\r\n1\r\n")
    again = alert_of(b"From: A@X.org\r\nSubject: disk FULL\r\nMessage-ID: <2@x>\r\n\r\n2\r\n")
    other = alert_of(b"From: b@x.org\r\nSubject: Disk full\r\nMessage-ID: <3@x>\r\n\r\n3\r\n")
    assert first.dedup_key == again.dedup_key != other.dedup_key
    assert mail_identity(first) != mail_identity(again)


def test_html_only_mail_is_stripped_to_its_words() -> None:
    message = EmailMessage()
    message["From"] = "grafana@example.org"
    message["Subject"] = "Alert"
    message.set_content("<html><head><style>p {color: red}</style><script>x()</script></head>"
                        "<body><p>CPU at <b>98&nbsp;%</b></p><p>on db-2</p></body></html>",
                        subtype="html")
    alert = alert_of(message.as_bytes())
    assert alert.details == "CPU at 98\xa0%\n\non db-2"
    assert "color" not in alert.details and "x()" not in alert.details
    assert html_text("<div>a</div><div>b</div>").split() == ["a", "b"]


def test_multipart_prefers_plain_text_and_skips_attachments() -> None:
    message = EmailMessage()
    message["From"] = "ups@example.org"
    message["Subject"] = "On battery"
    message.set_content("UPS 3 on battery.")
    message.add_alternative("<p>UPS 3 <i>on battery</i>.</p>", subtype="html")
    message.add_attachment(b"\x00" * 5000, maintype="application", subtype="octet-stream",
                           filename="dump.bin")
    alert = alert_of(message.as_bytes())
    assert alert.details == "UPS 3 on battery."


def test_no_subject_is_said_and_the_text_gives_the_summary() -> None:
    alert = alert_of(b"From: guard@example.org\r\n\r\nSmoke in the server room\r\nfloor 2\r\n")
    assert alert.summary == "(no subject) Smoke in the server room"
    assert alert.details.startswith("The mail had no subject.\n")
    assert "floor 2" in alert.details
    stored(alert)


def test_an_empty_mail_without_headers_still_makes_a_storable_alert() -> None:
    alert = alert_of(b"")
    assert alert.summary == "(no subject)"
    assert "no readable sender" in alert.details and "no text" in alert.details
    assert alert.callback == "" and alert.source == ""
    assert mail_identity(alert) == "7:42"  # no Message-ID: its place in the mailbox
    stored(alert)


def test_non_utf8_bytes_declared_or_not_become_readable_text() -> None:
    latin = alert_of(b"From: x@example.org\r\nSubject: =?iso-8859-1?q?St=F6rung?=\r\n"
                     b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nK\xfchlraum warm\r\n")
    assert latin.summary == "Störung" and latin.details == "Kühlraum warm"
    undeclared = alert_of(b"From: x@example.org\r\nSubject: Caf\xe9 \xff\r\n"
                          b"Content-Type: text/plain; charset=utf-8\r\n\r\nbad \xff\xfe bytes\r\n")
    bogus = alert_of(b"From: x@example.org\r\nSubject: s\r\n"
                     b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nabc \xe9\r\n")
    for alert in (undeclared, bogus):
        stored(alert)  # no lone surrogates, no control characters
    assert "bad" in undeclared.details and "\ufffd" in undeclared.details
    assert bogus.details == "abc \ufffd"


def test_control_characters_and_long_headers_are_made_safe() -> None:
    subject = "A\x1b[2J" + "x" * 500
    raw = (f"From: x@example.org\r\nSubject: {subject}\r\n\r\nline\x07one\r\n".encode())
    alert = alert_of(raw)
    assert "\x1b" not in alert.summary and len(alert.summary) == 300
    assert alert.summary.endswith("…")
    assert alert.details == "lineone"
    stored(alert)


def test_a_huge_body_is_cut_to_the_limit_and_says_so() -> None:
    body = ("all systems failing " * 1000).encode()
    alert = alert_of(b"From: x@example.org\r\nSubject: big\r\n\r\n" + body,
                     truncated_bytes=39_000_000)
    assert len(alert.details) <= DETAILS_MAX
    assert alert.details.startswith("Only the first part of the mail was read; 39,000,000 ")
    assert alert.details.endswith("[… the rest of the mail is in the mailbox]")
    stored(alert)


def test_a_long_sender_is_kept_in_source_not_callback() -> None:
    sender = "a-very-long-monitoring-address@alerts.subsidiary.example.org"
    alert = alert_of(f"From: {sender}\r\nReply-To: ops@example.org\r\nSubject: s\r\n\r\nt"
                     .encode())
    assert alert.callback == "" and alert.source == sender
    assert alert.labels["reply_to"] == "ops@example.org"
    stored(alert)


def test_received_time_is_the_servers_then_the_date_then_now() -> None:
    message = parse_mail(b"Date: Mon, 23 Nov 2026 01:00:00 +0100\r\n\r\n")
    now = AT + timedelta(hours=1)
    assert received_time(AT, message, now) == AT
    assert received_time(None, message, now) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert received_time(datetime(1999, 1, 1, tzinfo=UTC), message, now).hour == 0
    future = now + timedelta(days=3)
    assert received_time(future, parse_mail(b""), now) == now


def test_the_intake_rules_match_mail_on_sender_subject_and_text() -> None:
    rules = parse_intake_rules({"rule": [
        {"name": "ups", "match": {"channel": "email", "sender": r"@ups\.example\.org$"},
         "set": {"category": "power"}},
        {"name": "fire", "match": {"subject": "smoke|fire"}, "set": {"category": "fire"}},
        {"name": "cold", "match": {"text": "kühlraum"}, "set": {"category": "hvac"}},
    ]})
    tz = ZoneInfo("Europe/Berlin")

    def category(raw: bytes) -> str:
        return rules.classify(alert_of(raw), tz).category

    assert category(b"From: UPS <unit3@ups.example.org>\r\nSubject: on battery\r\n\r\nx") == \
        "power"
    assert category(b"From: guard@example.org\r\nSubject: SMOKE floor 2\r\n\r\nx") == "fire"
    assert category(b"From: g@example.org\r\nSubject: warm\r\nContent-Type: text/plain; "
                    b"charset=latin-1\r\n\r\nK\xfchlraum 9 C") == "hvac"
    assert category(b"From: g@example.org\r\nSubject: hello\r\n\r\nx") == ""

