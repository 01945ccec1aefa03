"""The one door out: card events for the board a company already runs (a PSA, a field-service
suite), as signed webhooks. Pure: no network, no keyring, no clock reads.

* **Subscriptions** are journal facts (`webhook.subscribed`, `webhook.removed` under the
  pseudo card WEBHOOKS_CARD), so they are audited, synced and survive a reinstall; each
  one's secret lives only in the keyring of the desk that added it, which is therefore the
  desk that delivers it.
* **Events** are derived from the journal's card entries: `card.registered` -> registered,
  `card.priority` -> priority, `card.ack` -> acknowledged, `card.status` to restored or
  closed -> restored / closed. One entry is at most one event; the entry's id is the event's
  id and its idempotency key, the same on every retry and from every desk.
* **The body** is the documented JSON of `event_payload` (README, "Outbound webhooks"), the
  card as it stood at that event (its entries folded up to it), so a retry an hour later
  still says what happened then.
* **The signature** is HMAC-SHA256 over ``"{timestamp}.{body}"``: the timestamp is signed
  too, so a receiver that refuses old timestamps cannot be fed a recorded delivery again.
* **Delivery state** (`Delivery`) is desk-local bookkeeping, never a journal fact: a cursor
  over the journal's local order that moves only after the receiver said 2xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from app.errors import ValidationError
from app.models.entry import Entry, NewEntry
from app.models.projection import CardState, fold
from app.protocol.catalogue import WEBHOOK_EVENTS, WEBHOOKS_CARD
from app.protocol.text import text_problem

#: The body's shape; bumped when a field changes meaning (adding one does not).
PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "X-Dispatch-Signature"
TIMESTAMP_HEADER = "X-Dispatch-Timestamp"
EVENT_HEADER = "X-Dispatch-Event"
ATTEMPT_HEADER = "X-Dispatch-Attempt"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: How far a receiver should let the timestamp lie from its own clock (documented advice).
SIGNATURE_TOLERANCE_S = 300

#: Retries: 10 s, 20 s, 40 s ... doubling up to every 15 min, for as long as it takes (a
#: transient failure never drops an event). A Retry-After is obeyed up to an hour.
BACKOFF_FIRST_S = 10.0
BACKOFF_CAP_S = 900.0
RETRY_AFTER_MAX_S = 3600.0

_STATUS_EVENTS = {"restored": "restored", "closed": "closed"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
URL_MAX = 2000


# -- events -------------------------------------------------------------------------------

def event_of(entry: Entry) -> str | None:
    """The event an entry is, or None (a note, a field edit, a move to In progress ...)."""
    kind = entry.kind
    if kind == "card.registered":
        return "registered"
    if kind == "card.priority":
        return "priority"
    if kind == "card.ack":
        return "acknowledged"
    if kind == "card.status":
        return _STATUS_EVENTS.get(str(entry.payload.get("status")))
    return None


def state_at(entries: Iterable[Entry], entry: Entry) -> CardState | None:
    """The card as it stood right after `entry`: its entries folded up to it in stamp order
    (the same on every desk; later edits do not rewrite what an event said)."""
    mark = (entry.hlc, entry.id)
    return fold(e for e in entries if (e.hlc, e.id) <= mark)


def event_payload(event: str, entry: Entry, card: CardState | None) -> dict[str, Any]:
    """The documented body of one event (README, "Outbound webhooks")."""
    p = entry.payload
    c = card or {}
    detail: dict[str, Any] = {}
    if event == "registered":
        detail = {"priority_reason": p.get("priority_reason"),
                  "kind_of_work": c.get("kind_of_work")}
    elif event == "priority":
        detail = {"from": p.get("from"), "reason": p.get("reason")}
    elif event == "acknowledged":
        detail = {"who": p.get("who"), "how": p.get("how")}
    elif event in ("restored", "closed"):
        detail = {"from": p.get("from"), "reason": p.get("reason")}
        if event == "closed" and p.get("closure"):
            detail["closure"] = p["closure"]
    at = p.get("at") or (p.get("registered_at") if event == "registered" else None)
    return {
        "version": PAYLOAD_VERSION,
        "event": event,
        "event_id": entry.id,
        "number": c.get("number") or p.get("number"),
        "id": entry.card_id,
        "priority": c.get("priority"),
        "status": c.get("status"),
        "site": c.get("site"),
        "category": c.get("category"),
        "summary": c.get("symptom") or c.get("category"),
        "at": at or entry.at.isoformat(),
        "desk": entry.desk_id,
        "operator": entry.operator,
        "detail": detail,
    }


def ping_payload(event_id: str, at: datetime, desk: str) -> dict[str, Any]:
    """What `dispatch-desk webhook test` sends: the same shape, event "test", no card."""
    return {"version": PAYLOAD_VERSION, "event": "test", "event_id": event_id, "number": None,
            "id": None, "priority": None, "status": None, "site": None, "category": None,
            "summary": "Dispatch Desk webhook test", "at": at.isoformat(), "desk": desk,
            "operator": None, "detail": {}}


def body_of(payload: Mapping[str, Any]) -> bytes:
    # ASCII JSON: a lone surrogate in a card's text cannot break the encoding, and the bytes
    # signed are exactly the bytes sent.
    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


# -- signing ------------------------------------------------------------------------------

def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed by the secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(secret: str, event: str, event_id: str, timestamp: int, body: bytes,
            attempt: int, user_agent: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        EVENT_HEADER: event,
        IDEMPOTENCY_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        ATTEMPT_HEADER: str(attempt),
    }


# -- what an answer means -----------------------------------------------------------------

DELIVERED, RETRY, PERMANENT = "delivered", "retry", "permanent"


def outcome_of(status: int | None) -> str:
    """2xx delivered; no answer (refused, timeout), 408, 429 and 5xx are retried; any other
    answer (4xx, a redirect) will not change by asking again: a permanent failure."""
    if status is None or status in (408, 429) or status >= 500:
        return RETRY
    if 200 <= status < 300:
        return DELIVERED
    return PERMANENT


def retry_delay(attempt: int, retry_after_s: float | None = None) -> timedelta:
    """How long to wait after the `attempt`-th failed try (1-based), capped."""
    backoff = min(BACKOFF_FIRST_S * 2 ** min(max(attempt, 1) - 1, 30), BACKOFF_CAP_S)
    if retry_after_s is not None and retry_after_s > 0:
        backoff = max(backoff, min(retry_after_s, RETRY_AFTER_MAX_S))
    return timedelta(seconds=backoff)


# -- subscriptions ------------------------------------------------------------------------

@dataclass(frozen=True)
class Subscription:
    id: str
    name: str
    url: str
    events: tuple[str, ...]
    desk: str          # the desk that added it and holds its secret: the one that delivers
    since_seq: int     # this journal's local position of the subscription: events after it
    since: datetime
    operator: str

    def wants(self, event: str) -> bool:
        return event in self.events

    @property
    def secret_name(self) -> str:
        """Its keyring slot (service "dispatch-desk")."""
        return f"webhook:{self.id}"


def subscriptions(rows: Iterable[tuple[int, Entry]]) -> list[Subscription]:
    """The live subscriptions from the `webhook.*` entries (with their local seq), by name."""
    live: dict[str, Subscription] = {}
    for seq, entry in sorted(rows, key=lambda r: (r[1].hlc, r[1].id)):
        p = entry.payload
        if entry.kind == "webhook.subscribed":
            live[str(p["id"])] = Subscription(
                id=str(p["id"]), name=str(p["name"]), url=str(p["url"]),
                events=tuple(e for e in WEBHOOK_EVENTS if e in p["events"]),
                desk=entry.desk_id, since_seq=seq, since=entry.at, operator=entry.operator)
        elif entry.kind == "webhook.removed":
            live.pop(str(p["id"]), None)
    return sorted(live.values(), key=lambda s: s.name)


def find(subs: Sequence[Subscription], name: str) -> Subscription:
    for sub in subs:
        if sub.name == name:
            return sub
    known = ", ".join(s.name for s in subs) or "none yet: dispatch-desk webhook add URL"
    raise ValidationError(f"no webhook named {name!r} (known: {known})", field="name")


def check_url(url: str) -> str:
    url = url.strip()
    problem = text_problem(url)
    if problem or not url or len(url) > URL_MAX:
        raise ValidationError(f"URL {problem or f'must be 1 to {URL_MAX} characters'}",
                              field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError("URL must be an http:// or https:// address with a host, e.g. "
                              "https://psa.example.com/hooks/dispatch", field="url")
    if parts.username or parts.password:
        # The URL is a journal fact, synced to the store and every desk: no credentials in it.
        raise ValidationError("URL must not hold a user or password: the receiver checks the "
                              "signature instead (the URL is kept in the journal)", field="url")
    if parts.fragment:
        raise ValidationError("URL must not have a #fragment", field="url")
    return url


def check_name(name: str, taken: Iterable[str]) -> str:
    if not _NAME.fullmatch(name):
        raise ValidationError(f"--name {name[:60]!r}: use 1 to 40 letters, digits, '.', '_' or "
                              "'-', starting with a letter or digit", field="name")
    if name in set(taken):
        raise ValidationError(f"--name {name!r} is taken; remove that webhook first or choose "
                              "another name", field="name")
    return name


def default_name(url: str, taken: Iterable[str]) -> str:
    host = (urlsplit(url).hostname or "webhook").lower()
    base = re.sub(r"[^a-z0-9._-]", "-", host)[:36].strip(".-_") or "webhook"
    used, name, n = set(taken), base, 1
    while name in used:
        n += 1
        name = f"{base}-{n}"
    return name


def parse_events(text: str) -> tuple[str, ...]:
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if words == ["all"]:
        return WEBHOOK_EVENTS
    unknown = [w for w in words if w not in WEBHOOK_EVENTS]
    if unknown or not words:
        raise ValidationError(f"--events {', '.join(unknown) or 'is empty'}: choose from "
                              f"{','.join(WEBHOOK_EVENTS)} (or all)", field="events")
    return tuple(e for e in WEBHOOK_EVENTS if e in words)


def subscribed_entry(sub_id: str, name: str, url: str, events: Sequence[str],
                     note: str | None = None) -> NewEntry:
    payload: dict[str, Any] = {"id": sub_id, "name": name, "url": url, "events": list(events)}
    if note:
        payload["note"] = note
    return NewEntry(WEBHOOKS_CARD, "webhook.subscribed", payload)


def removed_entry(sub: Subscription, reason: str | None = None) -> NewEntry:
    payload: dict[str, Any] = {"id": sub.id, "name": sub.name}
    if reason:
        payload["reason"] = reason
    return NewEntry(WEBHOOKS_CARD, "webhook.removed", payload)


# -- delivery bookkeeping (desk-local) ----------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    """Where one subscription's delivery stands on this desk.

    `cursor` is the local seq of the last entry dealt with (delivered, or not wanted); the
    entry after it is the head, tried until 2xx. A permanent refusal *holds* the subscription
    at that event (`held`), shown in `webhook list`, until `webhook retry` (or `--skip`):
    nothing after it is sent out of order and nothing is dropped silently."""

    cursor: int
    attempt: int = 0              # failed tries of the head event
    next_at: str | None = None    # not before (ISO), after a retryable failure
    last_error: str | None = None
    held: str | None = None       # the head event's id, when a permanent failure holds it
    delivered: int = 0
    last_delivered_at: str | None = None
    skipped: int = 0

    def due(self, now: datetime) -> bool:
        return self.held is None and (self.next_at is None or
                                      datetime.fromisoformat(self.next_at) <= now)

    def moved_past(self, seq: int) -> Delivery:
        """The entries up to `seq` needed no delivery (not events, or not wanted)."""
        return replace(self, cursor=max(self.cursor, seq))

    def succeeded(self, seq: int, now: datetime) -> Delivery:
        return replace(self, cursor=max(self.cursor, seq), attempt=0, next_at=None,
                       last_error=None, held=None, delivered=self.delivered + 1,
                       last_delivered_at=now.isoformat())

    def failed(self, now: datetime, error: str, retry_after_s: float | None = None
               ) -> Delivery:
        attempt = self.attempt + 1
        return replace(self, attempt=attempt, last_error=error[:500],
                       next_at=(now + retry_delay(attempt, retry_after_s)).isoformat())

    def refused(self, event_id: str, error: str) -> Delivery:
        return replace(self, attempt=self.attempt + 1, next_at=None, last_error=error[:500],
                       held=event_id)

    def released(self, *, skip_to: int | None = None) -> Delivery:
        """`webhook retry`: try the head at once; with `skip_to`, pass over the held event."""
        if skip_to is not None:
            return replace(self, cursor=max(self.cursor, skip_to), attempt=0, next_at=None,
                           held=None, skipped=self.skipped + 1)
        return replace(self, next_at=None, held=None)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None, since_seq: int) -> Delivery:
        try:
            data = json.loads(text) if text else {}
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (ValueError, TypeError):
            # Unreadable or missing: start again from the subscription (sent again, never
            # lost; the receiver de-duplicates on the event id).
            return cls(cursor=since_seq)


@dataclass(frozen=True)
class WebhookView:
    """One subscription as `webhook list` shows it."""

    sub: Subscription
    delivery: Delivery
    waiting: int               # events not delivered yet
    here: bool                 # this desk delivers it (it holds the secret)
    has_secret: bool
    held_event: str | None     # the event a permanent failure holds, in words

    @property
    def state(self) -> str:
        if not self.here:
            return f"delivered by desk {self.sub.desk}"
        if not self.has_secret:
            return "STOPPED: its secret is not in this desk's keyring (remove and add again)"
        d = self.delivery
        if d.held is not None:
            return (f"FAILED (not retried): {self.held_event or d.held}: {d.last_error}; fix "
                    f"the receiver, then `dispatch-desk webhook retry {self.sub.name}` "
                    "(or --skip that event)")
        if d.next_at is not None:
            return f"retrying: try {d.attempt + 1} at {d.next_at}; last error: {d.last_error}"
        return "ok"

    def to_json(self) -> dict[str, object]:
        d = self.delivery
        return {"name": self.sub.name, "id": self.sub.id, "url": self.sub.url,
                "events": list(self.sub.events), "desk": self.sub.desk, "here": self.here,
                "since": self.sub.since.isoformat(), "added_by": self.sub.operator,
                "state": ("elsewhere" if not self.here else "no_secret" if not self.has_secret
                          else "failed" if d.held else "retrying" if d.next_at else "ok"),
                "waiting": self.waiting, "delivered": d.delivered,
                "last_delivered_at": d.last_delivered_at, "attempt": d.attempt,
                "next_at": d.next_at, "last_error": d.last_error, "held_event": d.held,
                "held": self.held_event, "skipped": d.skipped}
