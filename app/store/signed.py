"""Checking a signed desk request at the store (the scheme is app/sync/signing.py).

In the order the store applies them, each refusal naming its cause:

    malformed or missing header         401 unauthorized  (the old Bearer: "upgrade the desk")
    timestamp > 300 s off the store     401 clock_skew    with offset_s (the desk's clock)
    unknown desk, or a wrong signature  401 unauthorized  "signature does not match: ..."
    revoked desk (signature good)       403 revoked       "desk revoked at ...; enrol it again"
    nonce seen before in the window     401 unauthorized  "replayed request"
    body not the one signed (push)      401 unauthorized  "signature does not match: ..."

Only a caller who holds the desk's key learns that it is revoked; an unknown desk id and a
wrong signature get the same answer. The nonce is recorded in `desk_nonces` (primary key desk
id + nonce) in the transaction that reads the desk row: the INSERT ... ON CONFLICT DO NOTHING
(a row back from its RETURNING, or none) is what refuses a replay, on any number of store
processes, SQLite or PostgreSQL. A nonce is kept until its request's timestamp leaves the
window; each process prunes the expired ones at most every PRUNE_EVERY_S.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from app.errors import ValidationError
from app.store.enrol import DeskRecord, Unauthorized
from app.store.tables import desk_nonces, desks
from app.sync import signing
from app.sync.protocol import ERR_CLOCK_SKEW, ERR_REVOKED, ERR_UNAUTHORIZED

PRUNE_EVERY_S = 60.0
MISMATCH = "signature does not match: the desk's secret is wrong or the request was altered"
REPLAYED = (
    "replayed request: this request's nonce was already used, so it is a copy of one the "
    "store has answered; a desk signs each request afresh (nothing was done)"
)
# Compared against for an unknown desk, so timing does not tell which desk ids exist.
_NO_KEY = bytes(32)


class Refused(Unauthorized):
    """A desk request the store refuses; `status` and `code` are its answer."""

    def __init__(self, message: str, *, status: int = 401, code: str = ERR_UNAUTHORIZED,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.extra = extra


@dataclass(frozen=True)
class DeskCall:
    """One desk request as the store received it, signature not yet checked."""

    signed: signing.Signed
    method: str
    target: str  # path and query, as received
    content_sha256: str  # what the desk says it signed; a body is checked against it

    def verifies(self, key: bytes) -> bool:
        return signing.verify(key, self.signed, self.method, self.target, self.content_sha256)


def read_call(method: str, target: str, header: str | None, content: str | None,
              *, has_body: bool) -> DeskCall:
    """The call's signed parts; Refused (401) naming what is malformed."""
    try:
        signed = signing.parse_authorization(header)
        content_sha256 = signing.parse_content_sha256(content)
    except ValidationError as exc:
        raise Refused(exc.message) from None
    if not has_body and content_sha256 != signing.EMPTY_SHA256:
        raise Refused(f"{signing.HEADER_CONTENT_SHA256}: a {method} carries no body; sign the "
                      "SHA-256 of an empty body")
    return DeskCall(signed, method, target, content_sha256)


def check_time(call: DeskCall, now: datetime) -> None:
    offset = call.signed.ts - now.timestamp()
    if abs(offset) > signing.MAX_SKEW_S:
        raise Refused(signing.skew_message(offset), code=ERR_CLOCK_SKEW, offset_s=round(offset, 3))


def check_body(call: DeskCall, body: bytes) -> None:
    """The body as received is the one signed (called after the cap, before any parse)."""
    if signing.body_sha256(body) != call.content_sha256:
        raise Refused(MISMATCH)


def verify(conn: Connection, call: DeskCall) -> tuple[DeskRecord, bytes]:
    """The desk and its key if the signature is good and the nonce is new (the nonce is
    recorded in `conn`'s transaction); Refused otherwise."""
    desk_id = call.signed.desk_id
    row = conn.execute(
        select(desks.c.name, desks.c.desk_code, desks.c.secret_hash, desks.c.revoked,
               desks.c.revoked_at).where(desks.c.desk_id == desk_id)
    ).first()
    key = bytes.fromhex(row.secret_hash) if row is not None else _NO_KEY
    if not call.verifies(key) or row is None:
        raise Refused(MISMATCH)
    if row.revoked:
        when = row.revoked_at or "a time this store did not record"
        raise Refused(
            f"desk {desk_id} revoked at {when}; enrol it again with a new code (the admin: "
            f"dispatch-desk server add-desk NAME --desk-id {desk_id}; then on the desk: "
            "dispatch-desk enroll URL CODE)",
            status=403, code=ERR_REVOKED, revoked_at=row.revoked_at,
        )
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    fresh = conn.execute(
        dialect.insert(desk_nonces)
        .values(desk_id=desk_id, nonce=call.signed.nonce,
                expires_at=call.signed.ts + signing.MAX_SKEW_S)
        .on_conflict_do_nothing(index_elements=["desk_id", "nonce"])
        .returning(desk_nonces.c.nonce)  # psycopg reports no rowcount for this statement
    ).first()
    if fresh is None:
        raise Refused(REPLAYED)
    return DeskRecord(desk_id, row.name, row.desk_code), key


def prune(conn: Connection, now: datetime) -> int:
    """Forget the nonces whose requests are out of the window (refused by time anyway)."""
    done = conn.execute(delete(desk_nonces).where(desk_nonces.c.expires_at < int(now.timestamp())))
    return int(done.rowcount or 0)
