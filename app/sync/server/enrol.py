"""Desks and trust: one-time enrolment codes, desk secrets, and checking a credential.

The admin makes a code (`dispatch-desk server add-desk NAME`) and reads it to the desk; the desk
trades it once for a desk id and a secret, which it keeps in the OS keyring. The store keeps
only hashes of codes and secrets, so a copy of the database lets nobody act as a desk.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from app.errors import NotFoundError, PermissionDenied, ValidationError
from app.sync.protocol import DESK_CODE, format_time
from app.sync.server.tables import desks, enrol_codes

CODE_VALID_FOR = timedelta(days=7)
# No 0/O or 1/I/L: the code is read out over the phone.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_GROUPS = 3
_DESK_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class Unauthorized(PermissionDenied):
    """No credential, or one the store does not know (answered with 401)."""


class EnrolRefused(PermissionDenied):
    """An enrolment code that is unknown, used or expired (answered with 403)."""


@dataclass(frozen=True)
class DeskRecord:
    desk_id: str
    name: str
    desk_code: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def _new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(4 * _CODE_GROUPS))
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 120:
        raise ValidationError("name: give the desk a name of 1 to 120 characters", field="name")
    return value.strip()


def add_code(conn: Connection, name: str, now: datetime) -> str:
    """A new one-time enrolment code for a desk called `name`; only its hash is kept."""
    code = _new_code()
    conn.execute(
        insert(enrol_codes).values(
            code_hash=_digest(normalise_code(code)),
            name=_name(name),
            created_at=format_time(now),
            expires_at=format_time(now + CODE_VALID_FOR),
        )
    )
    return code


def check_request(body: dict[str, Any]) -> tuple[str, str, str, str | None]:
    """(code, desk_code, name, desk_id or None) from an enrol request, or ValidationError."""
    code = body.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 40:
        raise ValidationError("code: give the one-time code the admin printed", field="code")
    desk_code = body.get("desk_code")
    if not isinstance(desk_code, str) or not DESK_CODE.match(desk_code):
        raise ValidationError(
            "desk_code: use the 1 to 3 capital letters that start this desk's card numbers",
            field="desk_code",
        )
    desk_id = body.get("desk_id")
    if desk_id is not None and (not isinstance(desk_id, str) or not _DESK_ID.match(desk_id)):
        raise ValidationError(
            "desk_id: letters, digits, '-' and '_' only (the journal's desk id)", field="desk_id"
        )
    return code, desk_code, _name(body.get("name")), desk_id


def enrol(
    conn: Connection, code: str, desk_code: str, name: str, desk_id: str | None, now: datetime
) -> tuple[str, str]:
    """Trade a one-time code for (desk_id, secret). The desk may bring the id its journal
    already uses (its entries carry it); otherwise the store makes one."""
    desk_id = desk_id or "d" + secrets.token_hex(6)
    known = conn.execute(select(desks.c.revoked).where(desks.c.desk_id == desk_id)).first()
    if known is not None and not known.revoked:
        raise EnrolRefused(
            f"desk id {desk_id} is already enrolled; a desk enrols once (the admin can "
            f"revoke it first: dispatch-desk server revoke-desk {desk_id})"
        )
    # Used and expired codes are refused in the same statement that spends the code, so two
    # desks racing with one code cannot both win.
    spent = conn.execute(
        update(enrol_codes)
        .where(
            enrol_codes.c.code_hash == _digest(normalise_code(code)),
            enrol_codes.c.used_by.is_(None),
            enrol_codes.c.expires_at > format_time(now),
        )
        .values(used_by=desk_id)
    )
    if spent.rowcount != 1:
        raise EnrolRefused(
            "the enrolment code is unknown, used or expired; ask the admin for a new one "
            "(dispatch-desk server add-desk NAME)"
        )
    secret = secrets.token_urlsafe(32)
    values = {
        "name": name,
        "desk_code": desk_code,
        "secret_hash": _digest(secret),
        "enrolled_at": format_time(now),
        "revoked": False,
    }
    if known is None:
        conn.execute(insert(desks).values(desk_id=desk_id, **values))
    else:
        # A revoked desk enrolling again (it lost its secret): same id, so its entries stay its
        # own; the old secret is gone with the old hash.
        conn.execute(update(desks).where(desks.c.desk_id == desk_id).values(**values))
    return desk_id, secret


def revoke(conn: Connection, desk_id: str) -> None:
    """Refuse the desk's credential from now on; it may enrol again with a new code."""
    done = conn.execute(update(desks).where(desks.c.desk_id == desk_id).values(revoked=True))
    if done.rowcount != 1:
        raise NotFoundError(f"no desk {desk_id} is enrolled here; see the store's desks table")


def authenticate(conn: Connection, desk_id: str, secret: str) -> DeskRecord:
    row = conn.execute(
        select(desks.c.name, desks.c.desk_code, desks.c.secret_hash, desks.c.revoked).where(
            desks.c.desk_id == desk_id
        )
    ).first()
    # compare_digest even for an unknown desk, so timing does not tell which desk ids exist.
    expected = row.secret_hash if row else "0" * 64
    if not hmac.compare_digest(expected, _digest(secret)) or row is None or row.revoked:
        raise Unauthorized("the desk credential is not valid; enrol the desk again")
    return DeskRecord(desk_id, row.name, row.desk_code)
