"""Signed desk requests: every desk -> store call carries an HMAC-SHA256 over what it asks.

    Authorization: DD-HMAC-SHA256 desk=<desk_id>, ts=<unix seconds>, nonce=<32 hex>, sig=<64 hex>
    X-DD-Content-SHA256: <sha256 of the body as sent, hex; of b"" for a GET>

The signature covers (one per line, UTF-8, no trailing newline)::

    DD-HMAC-SHA256
    <METHOD>
    <path and query as sent, relative to the store's base URL, e.g. /v1/pull?after=&limit=500>
    <desk_id>
    <ts>
    <nonce>
    <content sha256>

keyed with the desk's signing key, SHA-256 of the secret the store gave it at enrolment (the
store keeps that hash, so desks enrolled before signing keep their enrolment). The secret
itself never travels after enrolment, so a request captured on the way (a proxy's log, a
broken TLS link) is good for nothing but itself, and itself only once: the store refuses a
timestamp more than MAX_SKEW_S from its clock and a nonce it has seen in that window.

Pure Python (hashlib, hmac): the desk and the store both build to this module.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from app.errors import ValidationError

SCHEME = "DD-HMAC-SHA256"
HEADER_CONTENT_SHA256 = "X-DD-Content-SHA256"
#: How far a request's timestamp may be from the store's clock, either way; also how long the
#: store remembers a nonce (a request older than this is refused by its timestamp anyway).
MAX_SKEW_S = 300
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_DESK_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TS = re.compile(r"^[0-9]{1,12}$")
_FIELDS = ("desk", "ts", "nonce", "sig")


@dataclass(frozen=True)
class Signed:
    """A parsed signed Authorization header (not yet verified)."""

    desk_id: str
    ts: int
    nonce: str
    sig: str


class OldCredential(ValidationError):
    """The desk sent the pre-signing `Bearer <desk_id>.<secret>` credential."""


def signing_key(secret: str) -> bytes:
    """The HMAC key a desk derives from its secret; the store holds the same bytes as the
    desk's `secret_hash` (hex)."""
    return hashlib.sha256(secret.encode()).digest()


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def string_to_sign(method: str, target: str, desk_id: str, ts: int, nonce: str,
                   content_sha256: str) -> bytes:
    return "\n".join(
        (SCHEME, method.upper(), target, desk_id, str(ts), nonce, content_sha256)
    ).encode()


def sign(key: bytes, method: str, target: str, desk_id: str, ts: int, nonce: str,
         content_sha256: str) -> str:
    message = string_to_sign(method, target, desk_id, ts, nonce, content_sha256)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def authorization(desk_id: str, ts: int, nonce: str, sig: str) -> str:
    return f"{SCHEME} desk={desk_id}, ts={ts}, nonce={nonce}, sig={sig}"


def signed_headers(key: bytes, desk_id: str, method: str, target: str, body: bytes, ts: int,
                   nonce: str | None = None) -> dict[str, str]:
    """The two headers that sign one request."""
    content = body_sha256(body)
    nonce = nonce or new_nonce()
    sig = sign(key, method, target, desk_id, ts, nonce, content)
    return {"Authorization": authorization(desk_id, ts, nonce, sig),
            HEADER_CONTENT_SHA256: content}


def verify(key: bytes, signed: Signed, method: str, target: str, content_sha256: str) -> bool:
    expected = sign(key, method, target, signed.desk_id, signed.ts, signed.nonce, content_sha256)
    return hmac.compare_digest(expected, signed.sig)


def _refuse(what: str) -> ValidationError:
    return ValidationError(
        f"the desk's request signature is malformed ({what}); expected "
        f"'{SCHEME} desk=ID, ts=UNIX, nonce=HEX, sig=HEX': upgrade the desk",
        field="Authorization",
    )


def parse_authorization(header: str | None) -> Signed:
    """The signed header's parts; ValidationError naming what is wrong (OldCredential for
    the pre-signing Bearer credential)."""
    if not header:
        raise ValidationError("no desk credential; enrol the desk first", field="Authorization")
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        raise OldCredential(
            "this desk sends the old Bearer credential, which this store no longer accepts "
            "(it could be replayed by anyone who saw it); upgrade Dispatch Desk on this desk: "
            "its enrolment stays valid, no new code is needed",
            field="Authorization",
        )
    if scheme != SCHEME:
        raise _refuse(f"scheme {scheme[:20]!r}")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, eq, value = item.strip().partition("=")
        if not eq or name not in _FIELDS or name in parts:
            raise _refuse(f"field {name[:20]!r}")
        parts[name] = value.strip()
    missing = [f for f in _FIELDS if f not in parts]
    if missing:
        raise _refuse(f"no {missing[0]}")
    if not _DESK_ID.fullmatch(parts["desk"]):
        raise _refuse("desk")
    if not _TS.fullmatch(parts["ts"]):
        raise _refuse("ts")
    if not _NONCE.fullmatch(parts["nonce"]):
        raise _refuse("nonce")
    if not _HEX64.fullmatch(parts["sig"]):
        raise _refuse("sig")
    return Signed(parts["desk"], int(parts["ts"]), parts["nonce"], parts["sig"])


def parse_content_sha256(value: str | None) -> str:
    if value is None or not _HEX64.fullmatch(value):
        raise ValidationError(
            f"{HEADER_CONTENT_SHA256} must be the body's SHA-256 in lower-case hex; "
            "upgrade the desk",
            field=HEADER_CONTENT_SHA256,
        )
    return value


def skew_message(offset_s: float) -> str:
    return (
        f"the request's timestamp is {offset_s:+.0f} s off the store's clock (limit "
        f"{MAX_SKEW_S} s): the desk's clock is wrong; set its time (NTP) and sync again"
    )
