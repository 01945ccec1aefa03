"""The command bar's language: one line, typed after `/`, turned into one typed command.

    s B-0042 restored [reason]        status change (in_progress, waiting_customer, ...)
    p B-0042 P1 reason...             priority change; the reason is required
    n B-0042 text...                  a timeline note
    a B-0042 name                     assign
    ack B-0042 name [phone]           record an acknowledgement (phone, in_person, sms, ...)
    o B-0042                          open the card

A card number may be short, as read aloud: `16`, `b16`, `B16` and `b-16` are all B-0016 on
desk B (a bare number is this desk's own series).

`parse` is pure: it either returns a command or raises a ValidationError naming the part that
is wrong and the form expected, so nothing reaches the journal half-understood. A word that
could name two statuses ("waiting": for the customer or for a contractor, which pause the
recovery clock for different reasons and are reported differently) is refused with the exact
words to type, never guessed. `execute` runs a write through the card command vocabulary
(`app.services.cards.commands.handle`), one journal transaction per command; `perform` also
says in words what happened (`describe`), so the person sees the result, not just "done".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import ValidationError
from app.models.projection import CLOSED, IN_PROGRESS, RESTORED, WAITING
from app.services.cards.card import STATUS_LABELS, Card, Operator
from app.services.cards.commands import (
    Acknowledge,
    AddNote,
    Assign,
    ChangePriority,
    SetStatus,
    handle,
)
from app.services.cards.rules import PRIORITIES
from app.services.cards.service import ACK_METHODS, CardService, parse_number, parse_status

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
# A number as read aloud: an optional desk code (with or without its dash) and the counter
# without its leading zeros. Anything else is left to parse_number to refuse.
_SHORT_NUMBER = re.compile(r"^(?:([A-Z]{1,3})-?)?(\d{1,7})$")
_COUNTER_DIGITS = 4  # the journal writes counters as at least four digits (B-0042)
_HOW_SAID = {"in_person": "in person"}


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


def card_number(typed: str, desk_code: str | None = None) -> str:
    """The full card number for what was typed: `16`, `b16`, `B16`, `b-16` -> B-0016.

    A bare number is this desk's own series (`desk_code`); without a desk code it is refused,
    since guessing whose card "16" is would change the wrong card."""
    text = str(typed or "").strip().upper()
    short = _SHORT_NUMBER.fullmatch(text)
    if short is not None:
        code = short.group(1) or (desk_code or "").strip().upper()
        if code:
            text = f"{code}-{short.group(2).zfill(_COUNTER_DIGITS)}"
    return parse_number(text)


def _status_word(text: str) -> str | None:
    """The status a phrase names exactly ("restored", "in progress", "waiting for customer").

    Only whole names: parse_status's shortcuts are not used for a word that could name two
    statuses (see _status_choices), since a guess here pauses or restarts a clock."""
    phrase = " ".join(text.lower().split())
    for key, label in STATUS_LABELS.items():
        if phrase == label.lower() or phrase == label.lower().split(" (")[0]:
            return key
    if len(_status_choices(phrase)) > 1:
        return None
    try:
        return parse_status(phrase)
    except ValidationError:
        return None


def _status_choices(phrase: str) -> list[str]:
    """Every status a phrase is the start of ("waiting" -> both waiting statuses)."""
    typed = " ".join(phrase.lower().split())
    if not typed:
        return []
    key_form = typed.replace(" ", "_").replace("-", "_")
    return [
        key for key, label in STATUS_LABELS.items()
        if key.startswith(key_form) or label.lower().startswith(typed)
    ]


def _status_and_reason(verb: str, rest: str) -> tuple[str, str]:
    words = rest.split()
    if not words:
        raise _refuse(verb, "which status?", "status")
    longest = min(_MAX_STATUS_WORDS, len(words))
    for n in range(longest, 0, -1):
        status = _status_word(" ".join(words[:n]))
        if status is not None:
            reason = rest
            for word in words[:n]:
                reason = reason.split(word, 1)[1]
            return status, reason.strip()
    # No exact name: a phrase that starts two statuses is a question back, with the words.
    for n in range(longest, 0, -1):
        phrase = " ".join(words[:n])
        choices = _status_choices(phrase)
        if len(choices) > 1:
            listed = " or ".join(f"{key} ({STATUS_LABELS[key]})" for key in choices)
            raise _refuse(
                verb, f"{phrase!r} could be {listed}: which one?", "status"
            )
    known = ", ".join(STATUS_LABELS)
    raise _refuse(verb, f"unknown status {words[0]!r} (use one of: {known})", "status")


def parse(text: str, desk_code: str | None = None) -> Command:
    """One command line (with or without its leading `/`) as a typed command.

    `desk_code` is this desk's own code: a bare number (`16`) means this desk's card."""
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
        number = card_number(raw_number, desk_code)
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
    """Run one parsed command: a write goes through the one command handler (one
    transaction); opening a card is a read."""
    if isinstance(command, OpenCard):
        return cards.get(command.number)
    return handle(command, cards, operator)


@dataclass(frozen=True)
class Outcome:
    """A command's result: the card as it now stands and, in words, what happened to it."""

    card: Card
    text: str

    @property
    def id(self) -> str:
        # DeskEvents.run names the card changed by its result's `id`: one card re-read,
        # not every open one.
        return self.card.id


def perform(command: Command, cards: CardService, operator: Operator) -> Outcome:
    """Run a command and say what it did ("B-0042 → Waiting for customer; recovery clock
    paused"). The card is read first (a read, outside the write) only for the wording: which
    clock a status change pauses or restarts depends on where the card came from."""
    before = cards.get(command.number)
    card = execute(command, cards, operator)
    return Outcome(card, describe(command, card, before))


def describe(command: Command, card: Card, before: Card | None = None) -> str:
    """What a command did, as one plain sentence (the message bar shows it as plain text)."""
    match command:
        case SetStatus(_, _, reason):
            text = f"{card.number} → {card.status_label}"
            clock = _clock_change(before.status if before else None, card.status)
            if clock:
                text += f"; {clock}"
            return text + (f" (reason: {reason})" if reason else "")
        case ChangePriority(_, priority, reason):
            was = f"was {before.priority}; " if before and before.priority != priority else ""
            return f"{card.number}: priority {priority} ({was}reason: {reason})"
        case AddNote():
            return f"{card.number}: note added"
        case Assign(_, assignee):
            return f"{card.number}: assigned to {assignee}"
        case Acknowledge(_, who, how):
            text = f"{card.number}: acknowledged by {who} ({_HOW_SAID.get(how, how)})"
            first = before is not None and before.acknowledged_at is None
            return text + ("; reaction clock stopped" if first else "")
        case OpenCard():
            return f"{card.number}: shown ({card.status_label}, {card.priority})"


def _clock_change(previous: str | None, status: str) -> str:
    """What a status change does to the recovery clock (paused while waiting, DOMAIN.md)."""
    if status in WAITING:
        return "recovery clock stays paused" if previous in WAITING else "recovery clock paused"
    if status == RESTORED:
        return "recovery clock stopped (monitoring)"
    if status == IN_PROGRESS and previous in WAITING:
        return "recovery clock running again"
    if status == IN_PROGRESS and previous == RESTORED:
        return "relapse: recovery clock running again"
    if status == CLOSED:
        return "card closed"
    return ""


def _matches_number(typed: str, number: str) -> bool:
    """`B-00`, `b-0042`, `b42` and plain `42` all find B-0042: dispatchers read numbers
    aloud."""
    typed = typed.upper()
    if number.startswith(typed):
        return True
    short = _SHORT_NUMBER.fullmatch(typed)
    code, _, counter = number.partition("-")
    if short is None or (short.group(1) and short.group(1) != code):
        return False
    return counter.lstrip("0").startswith(short.group(2).lstrip("0") or "0")


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
