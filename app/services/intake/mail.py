"""A mail becomes an `Alert`: pure (no network, no clock); the poller (app/runtime/mail_poller.py)
fetches the bytes and hands the result to `IntakeService.receive`.

What a mail gives: the sender (From; Reply-To is where an answer goes), the subject (the
summary), the plain text (the first text/plain part, else the HTML with its tags stripped) and
the Message-ID. The intake rules then match it like any alert: `sender` against the sender's
address (the Alert's `callback`, else `source`), `subject` against the summary, `text` against
summary and details (app/services/intake/rules.py), so no mail-only rules are needed.

Mail is untrusted and often broken: no subject, no Message-ID, an undeclared or wrong charset,
a 40 MB attachment, control characters in a header. None of it is refused; every one becomes a
readable item that says what was wrong, because a mail the desk drops is an alarm nobody sees.

The dedup key is the sender and the subject (`derive_key`): a monitoring system that mails the
same problem every five minutes adds a count to one item instead of a new item each time. The
Message-ID (or, when a mail has none, its place in the mailbox) is the mail's own identity,
kept in the labels so that the same mail fetched twice is recognised as one.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from app.protocol.intake import Alert, derive_key

CHANNEL = "email"
SUMMARY_MAX = 300  # the catalogue's limits (intake.received)
DETAILS_MAX = 4000
SOURCE_MAX = 200
CALLBACK_MAX = 40
NO_SUBJECT = "(no subject)"
#: The labels that carry a mail's identity: the same Message-ID is the same mail.
MESSAGE_ID, MAILBOX_PLACE = "message_id", "mailbox_place"

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES = re.compile(r"[ \t\r\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_TIME_MIN = datetime(2020, 1, 1, tzinfo=UTC)
#: How far a mail server's clock may run ahead of the desk's (the catalogue allows 300 s).
CLOCK_SKEW = timedelta(seconds=60)


def parse_mail(raw: bytes) -> EmailMessage:
    """The bytes of a mail as a message; the parser never raises on broken mail."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # the default policy's class
    return message


def one_line(value: str, limit: int) -> str:
    """Header text for a one-line field: controls and line breaks become spaces."""
    value = _SPACES.sub(" ", _CONTROLS.sub(" ", value)).strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _multiline(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROLS.sub(lambda m: "" if m.group() != "\t" else "\t", value)
    lines = [line.rstrip() for line in value.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, LookupError):  # a header the parser chokes on
        value = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
    return str(value) if value is not None else ""


def _address(message: Message, name: str) -> tuple[str, str]:
    """(display name, address) of the first address in header `name`."""
    for real, addr in getaddresses([_header(message, name)]):
        if addr and "@" in addr:
            return one_line(real, SOURCE_MAX), one_line(addr, SOURCE_MAX)
    return "", ""


class _TextOfHtml(HTMLParser):
    """The words of an HTML mail: tags dropped, scripts and styles skipped, blocks on lines."""

    _BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "ul", "ol", "pre", "blockquote", "hr"})
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(_SPACES.sub(" ", data))


def html_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    return "\n".join(line.strip() for line in "".join(parser.parts).split("\n"))


def _part_text(part: Message) -> str:
    """A text part's words whatever its charset says: an unknown or wrong charset is read as
    UTF-8, bytes that still do not decode become U+FFFD (never dropped, never an error)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload() or "")
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return payload.decode("utf-8", "replace")


def body_text(message: Message) -> str:
    """The plain text of a mail: the first inline text/plain part, else the first text/html
    part without its tags; attachments are not read."""
    plain = html = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _part_text(part)
        elif kind == "text/html" and html is None:
            html = _part_text(part)
    if plain is not None and plain.strip():
        return _multiline(plain)
    if html is not None:
        return _multiline(html_text(html))
    return ""


def _sent_at(message: Message) -> datetime | None:
    try:
        when = parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None


def mail_alert(message: Message, *, integration: str, received_at: datetime,
               place: str = "", truncated_bytes: int = 0) -> Alert:
    """The alert a mail is. `received_at` is when the mailbox got it (the server's
    INTERNALDATE: the same on every fetch, so a re-fetch is the same alert); `place` is its
    UIDVALIDITY:UID, the identity of a mail without a Message-ID; `truncated_bytes` is how
    much of it was left on the server."""
    name, sender = _address(message, "From")
    _, reply_to = _address(message, "Reply-To")
    subject = one_line(_header(message, "Subject"), SUMMARY_MAX)
    text = body_text(message)
    message_id = one_line(_header(message, "Message-ID"), 998).strip("<>")
    notes = []
    if not subject:
        notes.append("The mail had no subject.")
    if not sender:
        notes.append("The mail had no readable sender (From).")
    if not text:
        notes.append("The mail had no text.")
    if truncated_bytes:
        notes.append(f"Only the first part of the mail was read; {truncated_bytes:,} more "
                     "bytes are in the mailbox.")
    summary = subject or one_line(f"{NO_SUBJECT} {text.split(chr(10), 1)[0]}", SUMMARY_MAX)
    details = "\n".join(notes + ([text] if text else []))
    if len(details) > DETAILS_MAX:
        cut = "\n[… the rest of the mail is in the mailbox]"
        details = details[: DETAILS_MAX - len(cut)].rstrip() + cut
    labels = {"from": sender} if sender else {}
    if reply_to and reply_to != sender:
        labels["reply_to"] = reply_to
    if message_id:
        labels[MESSAGE_ID] = message_id[:1000]
    if place:
        labels[MAILBOX_PLACE] = place
    return Alert(
        integration=integration, channel=CHANNEL,
        dedup_key=derive_key(integration, "mail", sender.lower(), subject.lower()),
        summary=summary, received_at=received_at, details=details,
        source=one_line(f"{name} <{sender}>" if name and sender else sender or name,
                        SOURCE_MAX),
        # The rules' `sender` reads the callback first: the From address, where it fits.
        callback=sender if len(sender) <= CALLBACK_MAX else "",
        labels=labels, fields={"reporter": one_line(name or sender, SOURCE_MAX)} if sender
        else {},
    )


def received_time(arrived: datetime | None, message: Message, now: datetime,
                  uid: int = 0) -> datetime:
    """The mail's own instant: when the mailbox got it (INTERNALDATE, the same on every
    fetch), else when it says it was sent, else now; never before 2020 nor further ahead of
    `now` than CLOCK_SKEW (a server's clock or an APPEND can say anything; the catalogue
    refuses times far ahead of the entry).

    Those times have whole seconds; the mail's UID is added as microseconds, so two mails
    of one second never share an instant and the poller can tell "this very mail is in the
    journal" from "a mail like it is" (app/runtime/mail_poller.py)."""
    for when in (arrived, _sent_at(message)):
        if when is not None and _TIME_MIN <= when <= now + CLOCK_SKEW:
            return when.astimezone(UTC).replace(microsecond=uid % 1_000_000)
    return now


def mail_identity(alert: Alert) -> str:
    """What names one mail: its Message-ID, else its place in the mailbox."""
    return alert.labels.get(MESSAGE_ID) or alert.labels.get(MAILBOX_PLACE, "")
