"""The sync wire protocol between a desk and the central store, as plain Python.

Both sides build to this module: the store (``app.store``) and the desk's sync client.
It has no FastAPI or pydantic import, so a desk needs none of the server extras.

    every request      X-Desk-Protocol: 1          (else 426 {"error": "protocol", ...})
    desk credential    every desk call signed (app/sync/signing.py): Authorization:
                       DD-HMAC-SHA256 desk=,ts=,nonce=,sig= and X-DD-Content-SHA256
                       (else 401 "unauthorized"; 401 "clock_skew"; 403 "revoked")
    GET  /v1/health    {"status", "store_id", "epoch", "head", "time", "polls_waiting"}
    POST /v1/enroll    {"code", "desk_code", "name"[, "desk_id"]} -> Enrollment  no credential
    POST /v1/push      {"desk_time", "entries": [wire entry]} -> PushReply
                       409 {"error": "clock_skew", "offset_s"} when |desk - store| > 300 s
    GET  /v1/pull      ?after=<cursor>&limit=1..1000&wait=0..30 -> PullPage
                       409 {"error": "cursor_foreign"} when the cursor names another store/epoch

A wire entry is exactly ``Entry.to_wire()``; a pulled one carries ``"seq"`` as well. Every error
is JSON ``{"error": code, "message": one line saying what to do}``.

Card numbers: the store keeps the highest card-number counter per desk code and returns it as
``desk_counter`` in each push reply; the desk moves its own counter past it. A
``card.registered`` whose number the store already holds under another card id is stored
(entries are never rewritten) and its result carries ``renumbered``: the next free number for
that desk code, which the store reserves. The desk then writes a ``card.renumbered`` entry
``{"number": <new>, "was": <old>}`` for that card.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.errors import ValidationError
from app.models.entry import SCHEMA_VERSION, Entry
from app.models.quarantine import SetAside, from_raw
from app.protocol.catalogue import CARD_NUMBER, KINDS, MAX_STAMP_AHEAD_S, PAYLOAD_MAX_BYTES

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS: tuple[int, ...] = (1,)

HEADER_PROTOCOL = "X-Desk-Protocol"
HEADER_AUTHORIZATION = "Authorization"
BEARER = "Bearer"

PATH_HEALTH = "/v1/health"
PATH_ENROLL = "/v1/enroll"
PATH_PUSH = "/v1/push"
PATH_PULL = "/v1/pull"
PATH_DESKS = "/v1/desks"
#: A desk's heartbeat is written at most this often (every request would be a write).
HEARTBEAT_EVERY_S = 15.0

MAX_CLOCK_SKEW_S = 300.0
PULL_LIMIT_DEFAULT = 500
PULL_LIMIT_MAX = 1000
PULL_WAIT_MAX_S = 30.0
# A batch larger than this is refused whole (413) so one request cannot hold the writer long.
PUSH_BATCH_MAX = 1000
# Card payloads are a few levels deep (fields, closure); anything deeper is not ours.
PAYLOAD_MAX_DEPTH = 16

# Error codes in {"error": code}.
ERR_PROTOCOL = "protocol"
ERR_UNAUTHORIZED = "unauthorized"
ERR_CLOCK_SKEW = "clock_skew"
ERR_CURSOR_FOREIGN = "cursor_foreign"
ERR_INVALID = "invalid"
ERR_TOO_LARGE = "too_large"
ERR_RATE_LIMITED = "rate_limited"
ERR_ENROLL = "enroll"
ERR_REVOKED = "revoked"

# Push result statuses.
STORED = "stored"
DUPLICATE = "duplicate"
REJECTED = "rejected"
PUSH_STATUSES = (STORED, DUPLICATE, REJECTED)

# Written by a desk when the store reports that a card number was already taken.
RENUMBER_KIND = "card.renumbered"
# Every kind the store accepts: the entry catalogue's (app/protocol/catalogue.py).
KNOWN_KINDS: frozenset[str] = KINDS

WIRE_FIELDS = ("id", "card_id", "kind", "payload", "hlc", "desk_id", "operator", "schema")

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DESK_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_STAMP = re.compile(r"^(\d{15})\.(\d{5})\.(.+)$")
# Sequence numbers and cursors stay within a signed 64-bit integer (PostgreSQL's BIGINT).
SEQ_MAX = 2**63 - 1
DESK_CODE = re.compile(r"^[A-Z]{1,3}$")


# -- time -------------------------------------------------------------------------------------


def format_time(when: datetime) -> str:
    """ISO-8601 in UTC with a Z, to the microsecond."""
    if when.tzinfo is None:
        raise ValueError("format_time needs an aware datetime")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any, field: str) -> datetime:
    """An ISO-8601 instant with a zone, as an aware UTC datetime."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be an ISO-8601 UTC time string", field=field)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{field} {value[:40]!r} is not an ISO-8601 time; send e.g. 2026-11-23T02:10:00Z",
            field=field,
        ) from None
    if when.tzinfo is None:
        raise ValidationError(f"{field} has no time zone; send UTC with a Z", field=field)
    return when.astimezone(UTC)


# -- credentials ------------------------------------------------------------------------------


def format_credential(desk_id: str, secret: str) -> str:
    """The pre-signing Authorization header (`Bearer <desk_id>.<secret>`): no desk sends it
    any more and the store refuses it with a message to upgrade (docs/server.md)."""
    return f"{BEARER} {desk_id}.{secret}"


def parse_credential(header: str | None) -> tuple[str, str]:
    """(desk_id, secret) from a pre-signing Bearer header; ValidationError if it is not one
    (the store's brake still reads the claimed desk id from it)."""
    if not header:
        raise ValidationError("no desk credential; enrol the desk first", field="Authorization")
    scheme, _, token = header.partition(" ")
    desk_id, dot, secret = token.strip().partition(".")
    if scheme != BEARER or not dot or not _DESK_ID.fullmatch(desk_id) or not secret:
        raise ValidationError(
            "the credential is not 'Bearer <desk_id>.<secret>'; enrol the desk again",
            field="Authorization",
        )
    return desk_id, secret


# -- cursor -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a desk is in one store's sequence: "<store_id>.<epoch>.<seq>"."""

    store_id: str
    epoch: int
    seq: int

    def __str__(self) -> str:
        return format_cursor(self)


def format_cursor(cursor: Cursor | None) -> str:
    if cursor is None:
        return ""
    return f"{cursor.store_id}.{cursor.epoch}.{cursor.seq}"


def parse_cursor(text: str | None) -> Cursor | None:
    """None for "" (from the start); ValidationError for anything that is not a cursor."""
    if not text:
        return None
    parts = text.split(".")
    if len(parts) != 3 or not _DESK_ID.fullmatch(parts[0]):
        raise ValidationError(
            f"after={text[:60]!r} is not a cursor; send the cursor from the last pull, or ''",
            field="after",
        )
    try:
        epoch, seq = int(parts[1]), int(parts[2])
    except ValueError:
        raise ValidationError(
            f"after={text[:60]!r} is not a cursor; epoch and seq must be integers", field="after"
        ) from None
    if epoch < 0 or seq < 0:
        raise ValidationError("after: epoch and seq cannot be negative", field="after")
    return Cursor(parts[0], epoch, seq)


# -- entries ----------------------------------------------------------------------------------


def _text(obj: dict[str, Any], key: str, limit: int) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ValidationError(f"{key} must be a non-empty string of at most {limit}", field=key)
    return value


def _depth(value: Any) -> int:
    """How deep lists and objects nest (iterative: a hostile payload cannot blow the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def card_number_parts(number: str) -> tuple[str, int] | None:
    """("B", 42) from "B-0042"; None if it is not a card number."""
    match = CARD_NUMBER.fullmatch(number)
    return (match.group(1), int(match.group(2))) if match else None


def parse_wire_entry(obj: Any) -> Entry:
    """A validated Entry from one wire entry (``Entry.to_wire()``, optionally with "seq").

    Checks shape only (fields, types, sizes, a known kind, a stamp made by the named desk);
    whether the caller may author it is the store's business. Raises ValidationError naming
    the field.
    """
    if not isinstance(obj, dict):
        raise ValidationError("an entry must be a JSON object", field="entry")
    extra = set(obj) - set(WIRE_FIELDS) - {"seq"}
    if extra:
        shown = ", ".join(repr(str(k)[:40]) for k in sorted(extra, key=str)[:5])
        raise ValidationError(f"unknown entry fields: {shown}", field="entry")
    missing = [k for k in WIRE_FIELDS if k not in obj]
    if missing:
        raise ValidationError(f"entry lacks {', '.join(missing)}", field=missing[0])
    entry_id = obj["id"]
    if not isinstance(entry_id, str) or not UUID_RE.fullmatch(entry_id):
        raise ValidationError("id must be a lower-case UUID string", field="id")
    card_id = _text(obj, "card_id", 36)
    kind = _text(obj, "kind", 40)
    if kind not in KNOWN_KINDS:
        raise ValidationError(f"unknown kind {kind!r}; upgrade the store or the desk", field="kind")
    payload = obj["payload"]
    if not isinstance(payload, dict):
        raise ValidationError("payload must be a JSON object", field="payload")
    if _depth(payload) > PAYLOAD_MAX_DEPTH:
        raise ValidationError(
            f"payload nests deeper than {PAYLOAD_MAX_DEPTH} levels", field="payload"
        )
    try:
        size = len(json.dumps(payload, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError):
        raise ValidationError("payload is not plain JSON", field="payload") from None
    if size > PAYLOAD_MAX_BYTES:
        raise ValidationError(
            f"payload is {size} bytes; the limit is {PAYLOAD_MAX_BYTES}", field="payload"
        )
    desk_id = _text(obj, "desk_id", 40)
    if not _DESK_ID.fullmatch(desk_id):
        raise ValidationError("desk_id may hold only letters, digits, '-' and '_'", field="desk_id")
    hlc = _text(obj, "hlc", 80)
    stamp = _STAMP.fullmatch(hlc)
    if not stamp or stamp.group(3) != desk_id:
        raise ValidationError(
            "hlc must be '<ms>.<counter>.<desk_id>' of the same desk", field="hlc"
        )
    operator = obj["operator"]
    schema = obj["schema"]
    if type(schema) is not int or not 1 <= schema <= SCHEMA_VERSION:
        raise ValidationError(
            f"schema {schema!r} is not one this version reads (1..{SCHEMA_VERSION}); upgrade",
            field="schema",
        )
    seq = obj.get("seq")
    if seq is not None and (type(seq) is not int or not 1 <= seq <= SEQ_MAX):
        raise ValidationError("seq must be a positive integer", field="seq")
    entry = Entry(entry_id, card_id, kind, payload, hlc, desk_id, operator, schema, seq)
    entry.check()  # the catalogue: the payload's every field, the operator, the stamp's range
    return entry


def check_stamp_ahead(entry: Entry, now: datetime) -> None:
    """The store refuses an entry stamped more than MAX_STAMP_AHEAD_S after its own clock: such
    a stamp would win every "last writer" merge and drag every desk's hybrid clock forward."""
    ahead = (entry.at - now).total_seconds()
    if ahead > MAX_STAMP_AHEAD_S:
        raise ValidationError(
            f"hlc is stamped {ahead:,.0f} s after the store's clock (limit "
            f"{MAX_STAMP_AHEAD_S:.0f} s); set the desk's clock (NTP), then resubmit it",
            field="hlc",
        )


def wire_with_seq(entry: Entry) -> dict[str, Any]:
    """A pulled entry: the wire form plus the store's sequence number."""
    return {**entry.to_wire(), "seq": entry.server_seq}


# -- replies ----------------------------------------------------------------------------------


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"the store's {what} reply is not a JSON object", field=what)
    return value


@dataclass(frozen=True)
class Health:
    status: str
    store_id: str
    epoch: int
    head: int
    time: datetime
    # Long-polls waiting in the answering process (for monitoring; not part of a desk's logic).
    polls_waiting: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "store_id": self.store_id,
            "epoch": self.epoch,
            "head": self.head,
            "time": format_time(self.time),
            "polls_waiting": self.polls_waiting,
        }

    @classmethod
    def from_json(cls, value: Any) -> Health:
        o = _obj(value, "health")
        try:
            return cls(
                str(o["status"]),
                str(o["store_id"]),
                int(o["epoch"]),
                int(o["head"]),
                parse_time(o["time"], "time"),
                int(o.get("polls_waiting", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                f"the store's health reply is malformed: {exc}", field="health"
            ) from None


@dataclass(frozen=True)
class Enrollment:
    desk_id: str
    secret: str
    store_id: str
    epoch: int

    def to_json(self) -> dict[str, Any]:
        return {
            "desk_id": self.desk_id,
            "secret": self.secret,
            "store_id": self.store_id,
            "epoch": self.epoch,
        }

    @classmethod
    def from_json(cls, value: Any) -> Enrollment:
        o = _obj(value, "enroll")
        try:
            return cls(str(o["desk_id"]), str(o["secret"]), str(o["store_id"]), int(o["epoch"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                f"the store's enrol reply is malformed: {exc}", field="enroll"
            ) from None


@dataclass(frozen=True)
class PushResult:
    id: str
    status: str
    seq: int | None
    reason: str | None = None
    renumbered: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "seq": self.seq,
            "reason": self.reason,
        }
        if self.renumbered is not None:
            out["renumbered"] = self.renumbered
        return out


@dataclass(frozen=True)
class PushReply:
    server_time: datetime
    results: tuple[PushResult, ...]
    # The highest card-number counter the store holds for the caller's desk code.
    desk_counter: int

    def to_json(self) -> dict[str, Any]:
        return {
            "server_time": format_time(self.server_time),
            "results": [r.to_json() for r in self.results],
            "desk_counter": self.desk_counter,
        }

    @classmethod
    def from_json(cls, value: Any) -> PushReply:
        o = _obj(value, "push")
        try:
            results = tuple(
                PushResult(
                    str(r["id"]),
                    str(r["status"]),
                    None if r.get("seq") is None else int(r["seq"]),
                    r.get("reason"),
                    r.get("renumbered"),
                )
                for r in o["results"]
            )
            return cls(parse_time(o["server_time"], "server_time"), results, int(o["desk_counter"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValidationError(
                f"the store's push reply is malformed: {exc}", field="push"
            ) from None


@dataclass(frozen=True)
class PullPage:
    entries: tuple[Entry, ...]  # each with server_seq set
    cursor: str
    more: bool
    #: Entries in the page that this desk cannot apply, with the reason (app/models/
    #: quarantine.py): the store's own verdict ("set_aside" in the wire form) or ours.
    set_aside: tuple[SetAside, ...] = ()

    def to_json(self) -> dict[str, Any]:
        items = [wire_with_seq(e) for e in self.entries]
        if self.set_aside:
            items += [_placeholder(s) for s in self.set_aside]
            items.sort(key=lambda item: int(item["seq"] or 0))
        return {"entries": items, "cursor": self.cursor, "more": self.more}

    @classmethod
    def from_json(cls, value: Any) -> PullPage:
        """The page; one entry that fails the catalogue is set aside, never fails the page."""
        o = _obj(value, "pull")
        raw = o.get("entries")
        if not isinstance(raw, list) or not isinstance(o.get("cursor"), str):
            raise ValidationError("the store's pull reply lacks entries or cursor", field="pull")
        parse_cursor(o["cursor"])
        entries: list[Entry] = []
        aside: list[SetAside] = []
        for item in raw:
            seq = item.get("seq") if isinstance(item, dict) else None
            seq = seq if type(seq) is int else None
            if isinstance(item, dict) and isinstance(item.get("set_aside"), str):
                aside.append(from_raw(item, seq, "the store set it aside: " + item["set_aside"]))
                continue
            try:
                entry = parse_wire_entry(item)
                if entry.server_seq is None:
                    raise ValidationError("a pulled entry has no seq", field="seq")
            except ValidationError as exc:
                aside.append(from_raw(item, seq, f"this desk cannot apply it: {exc}"))
                continue
            entries.append(entry)
        return cls(tuple(entries), o["cursor"], bool(o.get("more", False)), tuple(aside))


def _placeholder(item: SetAside) -> dict[str, Any]:
    """A set-aside entry on the wire: ids that are safe to print, the seq and the reason."""
    def safe(value: str | None) -> str | None:
        return None if value is None else value.encode("ascii", "backslashreplace").decode()

    return {"id": safe(item.id), "card_id": safe(item.card_id), "kind": safe(item.kind),
            "seq": item.seq, "set_aside": safe(item.reason)}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of every error the store returns."""
    return {"error": code, "message": message, **extra}


@dataclass(frozen=True)
class DeskSeen:
    """One enrolled desk and its last heartbeat at the store (GET /v1/desks)."""

    desk_id: str
    name: str
    desk_code: str
    last_seen: datetime | None

    @classmethod
    def list_from_json(cls, data: Any) -> list[DeskSeen]:
        rows = data.get("desks") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ValidationError("desks: expected a list", field="desks")
        out = []
        for row in rows:
            if not isinstance(row, dict):
                raise ValidationError("desks: expected objects", field="desks")
            seen = row.get("last_seen")
            out.append(cls(str(row.get("desk_id", "")), str(row.get("name", "")),
                           str(row.get("desk_code", "")),
                           parse_time(seen, "last_seen") if seen else None))
        return out
