"""The outbox: every message going out, derived from journal entries alone (like the
webhooks' events in `app/services/outbound.py`). Pure: no network, no clock reads.

A message is one ``message.queued`` entry (written first, by the one desk that sends it)
and the facts that follow it: ``message.sent``, ``message.failed`` (retried with back-off
until its time to live ends), ``message.cancelled`` (a person, in the outbox view or
`dispatch-desk outbox cancel`), ``message.confirmed`` (a person sends a stale one after
all). A message not sent within its time to live is **stale**: never sent on its own (an
"on the way, ETA 35 minutes" an hour late is wrong), offered for re-confirmation instead.

The ladder's pages (``ladder.step`` / ``ladder.page`` / ``ladder.page_failed``) are shown in
the same outbox, read only: the ladder sends and retries them itself.

Which desk sends: the desk that wrote the ``message.queued`` entry, and nobody else. Derived
messages are queued by the desk that wrote the entry that caused them (the registration,
the acknowledgement, the status message); when the store wrote it (a Twilio webhook), by
the desk that runs the card's ladder (`triggers.sender_of`). Ids are facts of the cause, so
a desk queuing the same message twice (a restart) writes it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from app.models.entry import Entry, NewEntry, fact_id

QUEUED, RETRYING, SENT, FAILED, CANCELLED, STALE = (
    "queued", "retrying", "sent", "failed", "cancelled", "stale")
#: States a person may act on: cancel (Del) a waiting one, confirm (Enter) a stale or failed.
WAITING = (QUEUED, RETRYING)
CONFIRMABLE = (STALE, FAILED)
PAGE = "page"  # the type of a ladder page shown in the outbox
MESSAGE_KINDS = ("message.queued", "message.sent", "message.failed", "message.cancelled",
                 "message.confirmed")
PAGE_KINDS = ("ladder.step", "ladder.page", "ladder.page_failed", "ladder.page_skipped",
              "ladder.page_cancelled")
#: Retries of a failed send: 10 s, 20 s, 40 s ... up to a minute, within the time to live.
BACKOFF_FIRST_S, BACKOFF_CAP_S = 10.0, 60.0


@dataclass(frozen=True)
class Message:
    id: str
    card_id: str
    type: str          # notice | customer | status | page
    channel: str       # sms | email | voice
    to: str
    name: str
    body: str
    queued_at: datetime
    expires_at: datetime | None
    desk: str          # the desk that sends it
    subject: str = ""
    role: str = ""
    trigger: str = ""
    due_by: datetime | None = None
    sid: str | None = None
    via: str | None = None
    sent_at: datetime | None = None
    late: bool = False
    tries: int = 0
    error: str | None = None
    retry_at: datetime | None = None
    given_up: bool = False    # a failure that asking again will not fix
    in_doubt: bool = False
    cancelled: str | None = None
    confirmed_at: datetime | None = None

    @property
    def read_only(self) -> bool:
        return self.type == PAGE

    def state(self, now: datetime) -> str:
        if self.cancelled is not None:
            return CANCELLED
        if self.sid is not None or self.sent_at is not None:
            return SENT
        if self.given_up:
            return FAILED
        if self.expires_at is not None and now >= self.expires_at:
            return STALE
        return RETRYING if self.tries else QUEUED

    def due_at(self) -> datetime:
        """When it may be tried next (now or later), for a waiting message."""
        return self.retry_at or self.confirmed_at or self.queued_at


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _queued(e: Entry) -> Message:
    p = e.payload
    return Message(
        id=e.id, card_id=e.card_id, type=str(p["type"]), channel=str(p["channel"]),
        to=str(p["to"]), name=str(p.get("name") or p["to"]), body=str(p["body"]),
        queued_at=e.at, expires_at=_dt(p["expires_at"]), desk=e.desk_id,
        subject=str(p.get("subject") or ""), role=str(p.get("role") or ""),
        trigger=str(p.get("trigger") or ""),
        due_by=_dt(p["due_by"]) if p.get("due_by") else None)


def _outcome(m: Message, e: Entry) -> Message:
    p = e.payload
    if e.kind == "message.sent":
        return replace(m, sid=str(p.get("sid") or "") or None, via=p.get("via"),
                       sent_at=_dt(p.get("at") or e.at.isoformat()), late=bool(p.get("late")),
                       retry_at=None)
    if e.kind == "message.failed":
        retry = _dt(p["retry_at"]) if p.get("retry_at") else None
        return replace(m, tries=max(m.tries, int(p.get("try", 1))), error=str(p["error"]),
                       retry_at=retry, given_up=retry is None, in_doubt=bool(p.get("in_doubt")))
    if e.kind == "message.cancelled":
        return replace(m, cancelled=str(p["reason"]))
    if e.kind == "message.confirmed":
        at = _dt(p.get("at") or e.at.isoformat())
        expires = _dt(p["expires_at"]) if p.get("expires_at") else m.expires_at
        return replace(m, confirmed_at=at, expires_at=expires, given_up=False, retry_at=None,
                       in_doubt=False)
    return m


def messages(entries: Iterable[Entry]) -> dict[str, Message]:
    """Every message in `entries` (any order: folded in stamp order), by id. An outcome
    whose queued entry has not arrived yet is kept aside until it does."""
    out: dict[str, Message] = {}
    later: list[Entry] = []
    for e in sorted(entries, key=lambda e: (e.hlc, e.id)):
        if e.kind == "message.queued":
            out[e.id] = _queued(e)
        elif e.kind in MESSAGE_KINDS:
            later.append(e)
    for e in later:
        m = out.get(str(e.payload.get("message")))
        if m is not None:
            out[m.id] = _outcome(m, e)
    return out


def pages(entries: Iterable[Entry]) -> list[Message]:
    """The ladder's pages of these entries as read-only outbox rows (one per channel)."""
    out: dict[tuple[str, int, int, str], Message] = {}
    for e in sorted(entries, key=lambda e: (e.hlc, e.id)):
        p = e.payload
        if e.kind == "ladder.step":
            for channel, to in dict(p.get("to") or {}).items():
                key = (e.card_id, int(p["tier"]), int(p["attempt"]), channel)
                out[key] = Message(
                    id=fact_id(f"outbox:page:{e.id}:{channel}"), card_id=e.card_id, type=PAGE,
                    channel=channel, to=str(to), name=str(p.get("who") or to),
                    body=f"tier {p['tier']} page", queued_at=e.at, expires_at=None,
                    desk=e.desk_id, role=f"tier {p['tier']}", trigger=e.id)
        elif e.kind in PAGE_KINDS:
            key = (e.card_id, int(p.get("tier", 0)), int(p.get("attempt", 0)),
                   str(p.get("channel")))
            m = out.get(key)
            if m is None:
                continue
            if e.kind == "ladder.page":
                out[key] = replace(m, sid=str(p["sid"]), sent_at=e.at)
            elif e.kind == "ladder.page_failed":
                retry = _dt(p["retry_at"]) if p.get("retry_at") else None
                out[key] = replace(m, tries=int(p.get("try", 1)), error=str(p.get("error")),
                                   retry_at=retry, given_up=retry is None)
            else:
                out[key] = replace(m, cancelled=str(p.get("reason") or "not sent"))
    return list(out.values())


# -- what the sending desk does next ------------------------------------------------------

def retry_delay(tries: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_FIRST_S * 2 ** max(tries - 1, 0), BACKOFF_CAP_S))


def last_texts(msgs: Iterable[Message]) -> dict[str, datetime]:
    """The latest text (message or page) that went to each number."""
    latest: dict[str, datetime] = {}
    for m in msgs:
        if m.channel != "sms" or m.sent_at is None or m.via == PAGE:
            continue
        if m.to not in latest or m.sent_at > latest[m.to]:
            latest[m.to] = m.sent_at
    return latest


def throttled_until(m: Message, msgs: Sequence[Message], latest: Mapping[str, datetime],
                    throttle: timedelta) -> datetime | None:
    """When `m` may go under the per-number throttle (None: at once). A card's first text
    to a number is never held back, as with the ladder's pages."""
    if m.channel != "sms" or m.to not in latest:
        return None
    first = not any(o.card_id == m.card_id and o.to == m.to and o.sent_at is not None
                    and o.id != m.id for o in msgs)
    if first:
        return None
    until = latest[m.to] + throttle
    return until


@dataclass(frozen=True)
class Due:
    send: list[Message]
    next_wake: datetime | None


def due(msgs: Sequence[Message], me: str, now: datetime, throttle: timedelta,
        in_flight: frozenset[str] = frozenset()) -> Due:
    """The messages this desk sends now, and when to look again."""
    latest = last_texts(msgs)
    send: list[Message] = []
    wake: datetime | None = None

    def later(at: datetime) -> None:
        nonlocal wake
        wake = at if wake is None or at < wake else wake

    for m in msgs:
        if m.desk != me or m.read_only or m.id in in_flight or m.state(now) not in WAITING:
            continue
        at = m.due_at()
        held = throttled_until(m, msgs, latest, throttle)
        if held is not None:
            at = max(at, held)
        if at <= now:
            send.append(m)
            if m.channel == "sms":
                latest[m.to] = now  # the next one to this number waits its turn
        else:
            later(min(at, m.expires_at) if m.expires_at else at)
    return Due(send, wake)


def sent_entry(m: Message, now: datetime, sid: str | None, status: str | None,
               via: str) -> NewEntry:
    payload: dict[str, Any] = {"message": m.id, "via": via, "at": now.isoformat(),
                               "late": bool(m.due_by and now > m.due_by), "status": status}
    if sid:
        payload["sid"] = sid
    return NewEntry(m.card_id, "message.sent", payload, id=fact_id(f"msg:{m.id}:sent"))


def failed_entry(m: Message, now: datetime, error: str, *, retryable: bool,
                 status: int | None = None, in_doubt: bool = False) -> NewEntry:
    tries = m.tries + 1
    # Retried until its time to live ends; then it is stale (offered, not sent).
    retry_at: datetime | None = None
    if retryable and not in_doubt:
        retry_at = now + retry_delay(tries)
        if m.expires_at is not None:
            retry_at = min(retry_at, m.expires_at)
    payload: dict[str, Any] = {
        "message": m.id, "error": error[:2000] or "failed", "try": tries,
        "retryable": retryable, "retry_at": retry_at.isoformat() if retry_at else None,
        "status": status, "at": now.isoformat()}
    if in_doubt:
        payload["in_doubt"] = True
    return NewEntry(m.card_id, "message.failed", payload, id=fact_id(f"msg:{m.id}:try:{tries}"))


def cancelled_entry(m: Message, reason: str, by: str, now: datetime) -> NewEntry:
    return NewEntry(m.card_id, "message.cancelled",
                    {"message": m.id, "reason": reason, "by": by, "at": now.isoformat()})


def confirmed_entry(m: Message, by: str, now: datetime, ttl: timedelta) -> NewEntry:
    return NewEntry(m.card_id, "message.confirmed",
                    {"message": m.id, "by": by, "at": now.isoformat(),
                     "expires_at": (now + ttl).isoformat()})
