"""Desks and trust: one-time enrolment codes, desk secrets, and checking a credential.

The admin makes a code (`dispatch-desk server add-desk NAME`) and reads it to the desk; the desk
trades it once for a desk id and a secret, which it keeps in the OS keyring. The store keeps
only hashes of codes and secrets. The hash of a secret is the key the desk's requests are
signed with (app/sync/signing.py), so the secret never travels again; a copy of the database
can sign as any desk it names, and is guarded like the secrets (docs/server.md).

A code is bound when it is made: to a new desk (an id the store has never seen), or to one
known desk id (`--desk-id`, a revoked desk enrolling again). Otherwise a code meant for a new
desk could take over a revoked desk's id, and with it that desk's past entries.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from app.errors import NotFoundError, PermissionDenied, ValidationError
from app.store.tables import desks, enrol_codes, entries
from app.sync.protocol import DESK_CODE, format_time

# Long enough to read a code out today and enrol tomorrow morning; a code lying around for a
# week is a credential nobody remembers making.
CODE_VALID_FOR = timedelta(hours=24)
# No 0/O or 1/I/L: the code is read out over the phone.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_GROUPS = 3
_DESK_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# The store writes its own entries (the Twilio webhook's) as `store-<store_id>`: a desk enrolled
# under such an id could push acknowledgements that read as the webhook's.
RESERVED_DESK_PREFIX = "store-"


class Unauthorized(PermissionDenied):
    """A desk request the store does not accept (answered 401; app/store/signed.py checks
    signed requests and says why)."""


class EnrolRefused(PermissionDenied):
    """An enrolment code that is unknown, used, expired, or not for this desk id (403)."""


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


def _reserved(desk_id: str) -> bool:
    # Case-blind: "Store-s1a2" is another id to the database but not to a person reading it.
    return desk_id.lower().startswith(RESERVED_DESK_PREFIX)


def _reserved_refusal(desk_id: str) -> str:
    return (
        f"desk id {desk_id} is reserved: ids starting with {RESERVED_DESK_PREFIX!r} are the "
        "store's own writers (its Twilio webhook); enrol from a journal with an id of its own"
    )


def add_code(conn: Connection, name: str, now: datetime, desk_id: str | None = None) -> str:
    """A new one-time enrolment code for a desk called `name`; only its hash is kept.

    Without `desk_id` the code enrols only a desk the store has never seen; with it, exactly
    that desk, which the store must know (e.g. a revoked desk that lost its secret)."""
    name = _name(name)
    if desk_id is not None:
        if not _DESK_ID.match(desk_id):
            raise ValidationError(
                "desk_id: letters, digits, '-' and '_' only (as shown by the desk)", field="desk_id"
            )
        if _reserved(desk_id):
            raise ValidationError(_reserved_refusal(desk_id), field="desk_id")
        if conn.execute(select(desks.c.desk_id).where(desks.c.desk_id == desk_id)).first() is None:
            raise NotFoundError(
                f"no desk {desk_id} was ever enrolled here, so there is nothing to enrol again; "
                "for a new desk leave --desk-id out (dispatch-desk server add-desk NAME)",
                field="desk_id",
            )
    code = _new_code()
    conn.execute(
        insert(enrol_codes).values(
            code_hash=_digest(normalise_code(code)),
            name=name,
            created_at=format_time(now),
            expires_at=format_time(now + CODE_VALID_FOR),
            bound_to=desk_id,
        )
    )
    return code


def check_request(body: dict[str, Any]) -> tuple[str, str, str | None, str | None]:
    """(code, desk_code, name or None, desk_id or None) from an enrol request, or
    ValidationError. No name: the desk keeps the one the admin gave its code."""
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
    raw = body.get("name")
    return code, desk_code, None if raw is None else _name(raw), desk_id


def _unusable() -> EnrolRefused:
    return EnrolRefused(
        "the enrolment code is unknown, used or expired; ask the admin for a new one "
        "(dispatch-desk server add-desk NAME)"
    )


def _enrolled_once(desk_id: str) -> EnrolRefused:
    return EnrolRefused(
        f"desk id {desk_id} is already enrolled; a desk enrols once (if it lost its secret, "
        f"the admin revokes it, dispatch-desk server revoke-desk {desk_id}, and makes a "
        f"code for it: dispatch-desk server add-desk NAME --desk-id {desk_id})"
    )


def _refuse_spent(conn: Connection, code_hash: str, desk_id: str | None) -> None:
    """A desk running the code it enrolled with again learns that it is enrolled. Only the
    code's holder gets this far, so nobody learns from it which desk ids exist."""
    used_by = conn.execute(
        select(enrol_codes.c.used_by).where(enrol_codes.c.code_hash == code_hash)
    ).scalar()
    if desk_id is None or used_by != desk_id:
        return
    revoked = conn.execute(select(desks.c.revoked).where(desks.c.desk_id == desk_id)).scalar()
    if revoked is not None and not revoked:
        raise _enrolled_once(desk_id)


def _check_unseen(conn: Connection, desk_id: str) -> None:
    """A code for a new desk: refuse any id the store has enrolled, revoked or stored under."""
    known = conn.execute(select(desks.c.revoked).where(desks.c.desk_id == desk_id)).first()
    if known is not None and not known.revoked:
        raise _enrolled_once(desk_id)
    if known is not None:
        raise EnrolRefused(
            f"desk id {desk_id} was enrolled here before and is revoked; this code is for a new "
            "desk. To enrol it again, ask the admin for a code bound to it: "
            f"dispatch-desk server add-desk NAME --desk-id {desk_id}"
        )
    stored = select(entries.c.seq).where(entries.c.desk_id == desk_id).limit(1)
    if conn.execute(stored).first() is not None:
        raise EnrolRefused(
            f"the store already holds entries written as desk {desk_id}, so a new desk cannot "
            "take that id; enrol from a journal of its own"
        )


def enrol(
    conn: Connection, code: str, desk_code: str, name: str | None, desk_id: str | None,
    now: datetime) -> tuple[str, str]:
    """Trade a one-time code for (desk_id, secret).

    A code for a new desk enrols an id the store has never seen: the desk may bring the id
    its journal already uses (its entries carry it), otherwise the store makes one. A code
    bound to a desk id enrols exactly that desk again, which must be revoked first."""
    if desk_id is not None and _reserved(desk_id):
        raise EnrolRefused(_reserved_refusal(desk_id))
    code_hash = _digest(normalise_code(code))
    usable = (
        enrol_codes.c.code_hash == code_hash,
        enrol_codes.c.used_by.is_(None),
        enrol_codes.c.expires_at > format_time(now),
    )
    row = conn.execute(select(enrol_codes.c.bound_to, enrol_codes.c.name).where(*usable)).first()
    if row is None:
        _refuse_spent(conn, code_hash, desk_id)
        raise _unusable()
    bound: str | None = row.bound_to
    name = name or row.name
    if bound is None:
        desk_id = desk_id or "d" + secrets.token_hex(6)
        _check_unseen(conn, desk_id)
    elif desk_id not in (None, bound):
        raise EnrolRefused(
            f"this code enrols desk {bound} again, not {desk_id}; run it on desk {bound}, or ask "
            "the admin for a code for this desk (dispatch-desk server add-desk NAME)"
        )
    else:
        desk_id = bound
    # The code is checked again in the statement that spends it, so two desks racing with one
    # code cannot both win.
    spent = conn.execute(update(enrol_codes).where(*usable).values(used_by=desk_id))
    if spent.rowcount != 1:
        raise _unusable()
    secret = secrets.token_urlsafe(32)
    values = {
        "name": name,
        "desk_code": desk_code,
        "secret_hash": _digest(secret),
        "enrolled_at": format_time(now),
        "revoked": False,
    }
    if bound is None:
        conn.execute(insert(desks).values(desk_id=desk_id, **values))
        _fact(conn, "store.desk_enrolled", {"desk_id": desk_id, "name": name,
                                            "desk_code": desk_code}, now)
        return desk_id, secret
    # Same id, so its entries stay its own; the old secret is gone with the old hash. Only a
    # revoked desk, re-checked here: two codes bound to one desk cannot both enrol it.
    again = conn.execute(
        update(desks).where(desks.c.desk_id == desk_id, desks.c.revoked.is_(True)).values(**values)
    )
    if again.rowcount != 1:
        # Raising rolls the transaction back, so the code is not spent: revoke, then retry.
        raise EnrolRefused(
            f"desk {desk_id} is still enrolled; the admin revokes it first "
            f"(dispatch-desk server revoke-desk {desk_id}), then this code enrols it again"
        )
    _fact(conn, "store.desk_enrolled", {"desk_id": desk_id, "name": name,
                                        "desk_code": desk_code, "again": True}, now)
    return desk_id, secret


def _fact(conn: Connection, kind: str, payload: dict[str, Any], now: datetime) -> None:
    """The audit trail's entry for an enrolment or a revocation, in the same transaction."""
    from app.store import desk_facts  # it imports this module

    desk_facts.record(conn, kind, payload, now)


def revoke(conn: Connection, desk_id: str, now: datetime | None = None, *, reason: str = "",
           by: str = "") -> None:
    """Refuse the desk's credential from now on; it may enrol again with a code bound to it
    (`add-desk NAME --desk-id ID`). With `now`, a revocation that changes something is also a
    ``store.desk_revoked`` fact (app/store/desk_facts.py; `server revoke-desk` gives it)."""
    was = conn.execute(select(desks.c.name, desks.c.desk_code, desks.c.revoked)
                       .where(desks.c.desk_id == desk_id)).first()
    # When, for the refusal the desk gets (app/store/signed.py); kept from the first revoke.
    at = {"revoked_at": format_time(now)} if now is not None and was is not None \
        and not was.revoked else {}
    done = conn.execute(update(desks).where(desks.c.desk_id == desk_id)
                        .values(revoked=True, **at))
    if done.rowcount != 1:
        raise NotFoundError(f"no desk {desk_id} is enrolled here; see the store's desks table")
    if now is not None and was is not None and not was.revoked:
        extra = {"reason": reason[:300], "by": by[:120]}
        _fact(conn, "store.desk_revoked", {"desk_id": desk_id, "name": was.name,
                                           "desk_code": was.desk_code,
                                           **{k: v for k, v in extra.items() if v}}, now)

