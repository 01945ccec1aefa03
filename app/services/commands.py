"""The command bar's language: one line, typed after `/`, turned into one typed command.

    s B-0042 restored [reason]        status change (any status word: in_progress, waiting, ...)
    p B-0042 P1 reason...             priority change; the reason is required
    n B-0042 text...                  a timeline note
    a B-0042 name                     assign
    ack B-0042 name [phone]           record an acknowledgement (phone, in_person, sms, ...)
    o B-0042                          open the card

`parse` is pure: it either returns a command or raises a ValidationError naming the part that
is wrong and the form expected, so nothing reaches the journal half-understood. `execute`
runs a command through the CardService, one journal transaction per command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import ValidationError
from app.services.card import STATUS_LABELS, Card, Operator
from app.services.cards import ACK_METHODS, CardService, parse_number, parse_status
from app.services.rules import PRIORITIES

USAGE = {
    "s": "s B-0042 STATUS [reason]",
    "p": "p B-0042 P1 reason",
    "n": "n B-0042 text",
    "a": "a B-0042 name",
    "ack": "ack B-0042 name [" + "|".join(ACK_METHODS) + "]",
    "o": "o B-0042",
}
# Long spellings a newcomer may type; the short ones are what the usage lines teach.
ALIASES = {"status": "s", "priority": "p", "prio": "p", "note": "n", "assign": "a", "open": "o"}
_MAX_STATUS_WORDS = 3  # "waiting for customer"
_COMPLETIONS_SHOWN = 50


@dataclass(frozen=True)
class SetStatus:
    number: str
    status: str
    reason: str = ""


@dataclass(frozen=True)
class ChangePriority:
    number: str
    priority: str
    reason: str


@dataclass(frozen=True)
class AddNote:
    number: str
    text: str


@dataclass(frozen=True)
class Assign:
    number: str
    assignee: str


@dataclass(frozen=True)
class Acknowledge:
    number: str
    who: str
    how: str = "phone"


@dataclass(frozen=True)
class OpenCard:
    number: str


Command = SetStatus | ChangePriority | AddNote | Assign | Acknowledge | OpenCard


def _refuse(verb: str, problem: str, field: str) -> ValidationError:
    return ValidationError(f"{problem}; type it as: {USAGE[verb]}", field=field)


def _split(text: str) -> tuple[str, str]:
    parts = text.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], (parts[1].strip() if len(parts) > 1 else "")


def _status_word(text: str) -> str | None:
    """The status a phrase names ("restored", "in progress", "waiting for customer"), or None."""
    phrase = " ".join(text.lower().split())
    for key, label in STATUS_LABELS.items():
        if phrase == label.lower() or phrase == label.lower().split(" (")[0]:
            return key
    try:
        return parse_status(phrase)
    except ValidationError:
        return None


def _status_and_reason(verb: str, rest: str) -> tuple[str, str]:
    words = rest.split()
    if not words:
        raise _refuse(verb, "which status?", "status")
    for n in range(min(_MAX_STATUS_WORDS, len(words)), 0, -1):
        status = _status_word(" ".join(words[:n]))
        if status is not None:
            reason = rest
            for word in words[:n]:
                reason = reason.split(word, 1)[1]
            return status, reason.strip()
    known = ", ".join(STATUS_LABELS)
    raise _refuse(verb, f"unknown status {words[0]!r} (use one of: {known})", "status")


def parse(text: str) -> Command:
    """One command line (with or without its leading `/`) as a typed command."""
    line = str(text or "").strip().removeprefix("/").strip()
    word, rest = _split(line)
    if not word:
        raise ValidationError(
            "type a command after /, for example: s B-0042 restored; commands: "
            + ", ".join(USAGE),
            field="command",
        )
    verb = ALIASES.get(word.lower(), word.lower())
    if verb not in USAGE:
        raise ValidationError(
            f"unknown command {word!r}; use one of: " + "; ".join(USAGE.values()),
            field="command",
        )
    raw_number, rest = _split(rest)
    if not raw_number:
        raise _refuse(verb, "which card?", "number")
    try:
        number = parse_number(raw_number)
    except ValidationError as exc:
        raise _refuse(verb, exc.message, "number") from exc
    if verb == "o":
        if rest:
            raise _refuse(verb, f"'o' takes only a card number, not {rest!r}", "command")
        return OpenCard(number)
    if verb == "s":
        status, reason = _status_and_reason(verb, rest)
        return SetStatus(number, status, reason)
    if verb == "p":
        priority, reason = _split(rest)
        if priority.upper() not in PRIORITIES:
            shown = repr(priority) if priority else "nothing"
            raise _refuse(verb, f"priority must be P1, P2, P3 or P4, not {shown}", "priority")
        if not reason:
            raise _refuse(verb, "a priority change needs a one-line reason", "reason")
        return ChangePriority(number, priority.upper(), reason)
    if verb == "n":
        if not rest:
            raise _refuse(verb, "the note has no text", "text")
        return AddNote(number, rest)
    if verb == "a":
        if not rest:
            raise _refuse(verb, "assign to whom?", "assignee")
        return Assign(number, rest)
    who, how = _who_and_how(rest)
    if not who:
        raise _refuse(verb, "who acknowledged?", "who")
    return Acknowledge(number, who, how)


def _who_and_how(rest: str) -> tuple[str, str]:
    words = rest.split()
    if len(words) >= 2 and " ".join(words[-2:]).lower() == "in person":
        return " ".join(words[:-2]), "in_person"
    if words and words[-1].lower().replace("-", "_") in ACK_METHODS:
        return " ".join(words[:-1]), words[-1].lower().replace("-", "_")
    return " ".join(words), "phone"


def execute(command: Command, cards: CardService, operator: Operator) -> Card:
    """Run one parsed command; every branch is one CardService call (one transaction)."""
    match command:
        case SetStatus(number, status, reason):
            return cards.change_status(number, status, operator, reason=reason)
        case ChangePriority(number, priority, reason):
            return cards.change_priority(number, priority, reason, operator)
        case AddNote(number, text):
            return cards.add_note(number, text, operator)
        case Assign(number, assignee):
            return cards.update_fields(number, {"assignee": assignee}, operator)
        case Acknowledge(number, who, how):
            return cards.acknowledge(number, who, how, operator)
        case OpenCard(number):
            return cards.get(number)


def _matches_number(typed: str, number: str) -> bool:
    """`B-00`, `b-0042` and plain `42` all find B-0042: dispatchers read numbers aloud."""
    typed = typed.upper()
    if number.startswith(typed):
        return True
    digits = number.split("-", 1)[-1].lstrip("0")
    return typed.isdigit() and digits.startswith(typed.lstrip("0") or "0")


def complete(
    text: str, open_numbers: Sequence[str], statuses: Sequence[str] = tuple(STATUS_LABELS)
) -> list[str]:
    """Whole-line completions for what has been typed so far (at most 50)."""
    slash = "/" if text.lstrip().startswith("/") else ""
    line = text.lstrip().removeprefix("/")
    words = line.split(" ")
    if len(words) == 1:
        typed = words[0].lower()
        return [slash + v + " " for v in USAGE if v.startswith(typed)]
    verb = ALIASES.get(words[0].lower(), words[0].lower())
    if verb not in USAGE:
        return []
    head = slash + words[0] + " "
    if len(words) == 2:
        found = [n for n in open_numbers if _matches_number(words[1], n)]
        return [head + n + " " for n in found[:_COMPLETIONS_SHOWN]]
    head += words[1] + " "
    partial = words[-1].lower()
    if verb == "s" and len(words) == 3:
        return [head + s + " " for s in statuses if s.startswith(partial)]
    if verb == "p" and len(words) == 3:
        return [head + p + " " for p in PRIORITIES if p.lower().startswith(partial)]
    if verb == "ack" and len(words) >= 4 and words[-2]:
        head = slash + " ".join(words[:-1]) + " "
        return [head + m for m in ACK_METHODS if m.startswith(partial) and partial]
    return []
