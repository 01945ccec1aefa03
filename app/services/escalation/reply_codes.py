"""The short answers a paged person texts back, read as commands (the GoAlert/PagerDuty way).

Every page carries a per-recipient code (`inbound.reply_code`, four digits). The person answers

    4821 a        acknowledge: "I own it"
    4821 a 35     accepted, on the way, ETA 35 minutes (also "a 35min", "a 1h")
    4821 e        escalate now: page the next tier at once
    4821 d sick   decline ("I can't"), with an optional reason for the unavailability figure
    1             the old shortcut: acknowledge the newest page to this number

Case, spaces and punctuation do not matter ("4821A35", " 4821 , A "), and a bare ``a``/``e``/
``d`` means the newest page, like ``1``. The code may stand anywhere before a word that is not
a command ("ok 4821 on my way" acknowledges, as replies always have). What is not a command --
a code that is none of this person's pages, a single unknown letter, an ETA out of range, free
text -- gets one short help reply, at most one per number every `HELP_EVERY` (counted from
``pager.help`` entries, so a restart or another desk keeps the limit). Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.models.entry import Entry

ACK, ESCALATE, DECLINE = "ack", "escalate", "decline"
_WORDS = {
    ACK: ("a", "ack", "acc", "accept", "accepted", "acknowledge", "acknowledged"),
    ESCALATE: ("e", "esc", "escalate"),
    DECLINE: ("d", "dec", "decline", "declined"),
}
_ACTION = {word: action for action, words in _WORDS.items() for word in words}
_HOURS = frozenset({"h", "hr", "hrs", "hour", "hours"})
_MINUTES = frozenset({"m", "min", "mins", "minute", "minutes"})
_CODE = re.compile(r"^\d{4}$")
_TOKEN = re.compile(r"[a-z]+|\d+")
#: The ETA a technician may give, in minutes (the catalogue allows 0..1440; 0 says nothing).
ETA_MIN, ETA_MAX = 1, 1440
#: At most one help reply per number in this window.
HELP_EVERY = timedelta(minutes=10)
REASON_MAX = 500


@dataclass(frozen=True)
class Command:
    """A reply that says what to do. ``code`` None: the newest page to this number."""

    action: str
    code: str | None = None
    eta_minutes: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Unclear:
    """A reply that tried to be a command and was not one; ``problem`` is said first."""

    code: str | None
    problem: str


def parse(body: str) -> Command | Unclear | None:
    """What a reply asks for; None when it is free text (no code, no command word)."""
    text = body.casefold()
    tokens = [(m.group(), m.end()) for m in _TOKEN.finditer(text)]
    words = [t for t, _ in tokens]
    if not words:
        return None
    if words[0] == "1" and len(words) == 1:
        return Command(ACK)
    if words[0] in _ACTION and (len(words) == 1 or (
            _ACTION[words[0]] == ACK and words[1].isdigit()
            and (len(words) == 2 or (len(words) == 3 and words[2] in _MINUTES | _HOURS)))):
        # A bare command (the newest page): only the short forms, so that free text that
        # happens to start with "a" or "d" is never taken for one.
        return _command(None, words, tokens, 0, body)
    at = next((i for i, w in enumerate(words) if _CODE.match(w)), None)
    if at is None:
        return None
    code = words[at]
    if at + 1 >= len(words):
        return Command(ACK, code)
    nxt = words[at + 1]
    if nxt in _ACTION:
        return _command(code, words, tokens, at + 1, body)
    if len(nxt) == 1 or nxt.isdigit():
        return Unclear(code, f"'{nxt}' is not a command.")
    return Command(ACK, code)  # "4821 ok", "ok 4821 on my way": an acknowledgement


def _command(code: str | None, words: list[str], tokens: list[tuple[str, int]], i: int,
             body: str) -> Command | Unclear:
    action = _ACTION[words[i]]
    rest = body[tokens[i][1]:].strip(" \t\r\n:,.;-")[:REASON_MAX]
    if action != ACK:
        return Command(action, code, reason=rest)
    if i + 1 >= len(words) or not words[i + 1].isdigit():
        return Command(ACK, code)
    eta = int(words[i + 1][:6])
    if i + 2 < len(words) and words[i + 2] in _HOURS:
        eta *= 60
    if not ETA_MIN <= eta <= ETA_MAX:
        return Unclear(code, f"ETA {eta} min is out of range ({ETA_MIN}-{ETA_MAX} min).")
    return Command(ACK, code, eta_minutes=eta)


def help_text(code: str | None, problem: str = "") -> str:
    """The one short help reply (fits one SMS segment with a problem line in front)."""
    c = code or "CODE"
    lead = f"{problem} " if problem else ""
    return (f"{lead}Reply {c} a to acknowledge, a 35 = on the way ETA 35 min, e escalate, "
            "d decline")[:300]


def last_help(entries: Iterable[Entry]) -> Mapping[str, datetime]:
    """The latest help reply sent to each number (``pager.help`` entries)."""
    latest: dict[str, datetime] = {}
    for e in entries:
        if e.kind == "pager.help":
            number = str(e.payload.get("number"))
            at = datetime.fromisoformat(str(e.payload["at"])) if e.payload.get("at") else e.at
            if number not in latest or at > latest[number]:
                latest[number] = at
    return latest


def help_due(number: str, now: datetime, helped: Mapping[str, datetime]) -> bool:
    last = helped.get(number)
    return last is None or now - last >= HELP_EVERY
