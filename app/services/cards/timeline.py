"""A card's timeline in words: what each entry means to the person reading the card.

Used by the command line, the card view, the handover sheet and the activity log, so an entry
reads the same everywhere. Kinds this module does not know (a newer desk's entries) still show,
with their raw payload, rather than vanish.

Entry text is untrusted (people, scripts, other desks): who and what are cleaned to one line
(`for_display`), and a detail keeps its line breaks only with every following line indented
and marked (`hanging`), so a note cannot print what looks like another timeline line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from app.models.entry import Entry
from app.protocol.text import for_display
from app.services.cards.card import STATUS_LABELS
from app.services.escalation.timeline import LADDER_LINES
from app.services.messages.timeline import MESSAGE_LINES

CLOCK_LABELS = {"reaction": "reaction", "recovery": "recovery", "update": "status update"}
#: What starts each line after the first of a multi-line detail: deeper than any line the
#: command line prints for a card, and marked, since a forged line could bring its own spaces.
CONTINUATION = " " * 8 + "| "


@dataclass(frozen=True)
class TimelineLine:
    at: datetime  # UTC
    who: str
    kind: str
    title: str
    detail: str
    desk_id: str

    @property
    def is_breach(self) -> bool:
        return self.kind == "sla.breach"


def local_time(moment: datetime, tz: tzinfo, *, seconds: bool = False, day: bool = True) -> str:
    """A wall-clock time in the site's zone with its abbreviation (UTC inside, local outside),
    so "02:30" on the night the clocks go back is never ambiguous."""
    local = moment.astimezone(tz)
    fmt = ("%d.%m " if day else "") + ("%H:%M:%S" if seconds else "%H:%M") + " %Z"
    return local.strftime(fmt)


def _status(key: Any) -> str:
    return STATUS_LABELS.get(str(key), str(key))


def _join(*parts: Any) -> str:
    return " · ".join(str(p) for p in parts if p)


def _registered(p: dict[str, Any]) -> tuple[str, str]:
    fields = p.get("fields", {})
    title = f"Registered {p.get('number', '')} as {p.get('priority', '')}".strip()
    if p.get("entered_late"):
        title += " (entered late from paper)"
    return title, _join(fields.get("symptom"), p.get("priority_reason"))


def _priority(p: dict[str, Any]) -> tuple[str, str]:
    evidence = f"evidence: {p['evidence']}" if p.get("evidence") else ""
    return f"Priority {p.get('from', '?')} → {p.get('priority', '?')}", _join(
        p.get("reason"), evidence, p.get("role")
    )


def _status_change(p: dict[str, Any]) -> tuple[str, str]:
    title = f"Status {_status(p.get('from'))} → {_status(p.get('status'))}"
    closure = p.get("closure") or {}
    parts = [p.get("reason")] + [f"{k}: {v}" for k, v in closure.items() if v]
    return title, _join(*parts)


def _breach(p: dict[str, Any]) -> tuple[str, str]:
    clock = CLOCK_LABELS.get(str(p.get("clock")), str(p.get("clock")))
    late = "noticed after a restart" if p.get("noticed_late") else ""
    return f"BREACH: {clock} deadline passed", late


def _fields(p: dict[str, Any]) -> tuple[str, str]:
    changed = p.get("fields", {})
    return "Details changed", _join(*(f"{k} = {v}" for k, v in sorted(changed.items())))


_DESCRIBE: dict[str, Callable[[dict[str, Any]], tuple[str, str]]] = {
    "card.registered": _registered,
    "card.priority": _priority,
    "card.status": _status_change,
    "sla.breach": _breach,
    "card.fields": _fields,
    "card.note": lambda p: ("Note", str(p.get("text", ""))),
    "card.report": lambda p: ("Another report", _join(p.get("reporter"), p.get("text"))),
    "card.ack": lambda p: (f"Acknowledged by {p.get('who', '?')}", f"by {p.get('how', '?')}"),
    "card.confirmed": lambda p: ("Confirmed by the dispatcher; clocks started", ""),
    "card.status_message": lambda p: ("Status message sent", str(p.get("text", ""))),
    "card.renumbered": lambda p: (
        f"Renumbered {p.get('was', '?')} → {p.get('number', '?')}",
        "the number was already in use at the central store",
    ),
    **LADDER_LINES,
    **MESSAGE_LINES,  # after card.status_message above: its line names the recipients
}


def hanging(text: str, indent: str = CONTINUATION) -> str:
    """`text` with each line after the first starting with `indent`."""
    return text.replace("\n", "\n" + indent)


def describe(entry: Entry) -> TimelineLine:
    how = _DESCRIBE.get(entry.kind)
    if how is None:
        title, detail = entry.kind, entry.payload_json()
    else:
        title, detail = how(entry.payload)
    return TimelineLine(entry.at, for_display(entry.operator), entry.kind, for_display(title),
                        hanging(for_display(detail, multiline=True).strip()), entry.desk_id)


def timeline(entries: Iterable[Entry]) -> list[TimelineLine]:
    """Entries in stamp order (the merge order), described."""
    return [describe(e) for e in sorted(entries, key=lambda e: (e.hlc, e.id))]
