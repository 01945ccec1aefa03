"""Integrations: each sender (a monitoring system, a mailbox, the phone line, a heartbeat) has
its own name and key, like an on-call system's integration keys.

An integration is an ``integration.added`` entry under the pseudo card INTEGRATIONS_CARD until
an ``integration.revoked`` names it; so every desk and the store (which reads the same
entries) know the same keys. The key itself is shown once, when it is made, and only its
SHA-256 is kept: a journal or a backup that leaks gives nobody a way in.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.errors import ValidationError
from app.models.entry import Entry, NewEntry
from app.protocol.catalogue import INTEGRATION_KINDS, INTEGRATIONS_CARD, KINDS_OF_WORK
from app.protocol.intake_formats import Integration as Sent
from app.protocol.intake_formats import hash_key

# A name goes into URLs and rules: letters, digits, '.', '_', '-'.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


@dataclass(frozen=True)
class Integration:
    name: str
    kind: str
    key_hash: str
    category: str = ""
    site: str = ""
    kind_of_work: str = ""
    every_min: int | None = None  # heartbeat: the longest gap between check-ins
    note: str = ""
    added_at: datetime | None = None
    added_by: str = ""
    revoked: bool = False
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "category": self.category,
                "site": self.site, "kind_of_work": self.kind_of_work,
                "every_min": self.every_min, "note": self.note,
                "added_at": self.added_at.isoformat() if self.added_at else None,
                "added_by": self.added_by, "revoked": self.revoked, "reason": self.reason}


#: What is stored of a key: its SHA-256, hex (the store's doors hash what a sender presents
#: the same way).
key_hash = hash_key


def integrations_from(entries: Iterable[Entry]) -> list[Integration]:
    """The integrations the entries describe, by name; a name added again after it was
    revoked is the new one."""
    found: dict[str, Integration] = {}
    for entry in sorted(entries, key=lambda e: (e.hlc, e.id)):
        p = entry.payload
        if entry.kind == "integration.added":
            sent = Sent.from_payload(p)  # read as the store's doors read it
            found[sent.name] = Integration(
                name=sent.name, kind=sent.kind, key_hash=sent.key_hash, category=sent.category,
                site=sent.site, kind_of_work=sent.kind_of_work, every_min=sent.every_min,
                note=sent.note, added_at=entry.at, added_by=entry.operator)
        elif entry.kind == "integration.revoked" and p["name"] in found:
            found[p["name"]] = replace(found[p["name"]], revoked=True,
                                       reason=p.get("reason", ""))
    return sorted(found.values(), key=lambda i: i.name)


def by_key(integrations: Sequence[Integration], key: str) -> Integration | None:
    """The integration a presented key belongs to (revoked ones too: the caller says 403)."""
    digest = key_hash(key)
    for integration in integrations:
        if hmac.compare_digest(integration.key_hash, digest):
            return integration
    return None


def add(existing: Sequence[Integration], kind: str, name: str, *, category: str = "",
        site: str = "", kind_of_work: str = "", every_min: int | None = None,
        note: str = "", reply: str = "") -> tuple[NewEntry, str]:
    """The ``integration.added`` entry and the key to show once."""
    if kind not in INTEGRATION_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(INTEGRATION_KINDS)}",
                              field="kind")
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise ValidationError(f"name {name[:40]!r}: use 1 to 80 letters, digits, '.', '_' or "
                              "'-', starting with a letter or digit", field="name")
    if any(i.name == name and not i.revoked for i in existing):
        raise ValidationError(f"an integration named {name!r} exists; revoke it first or "
                              "pick another name", field="name")
    if kind_of_work and kind_of_work not in KINDS_OF_WORK:
        raise ValidationError(f"kind of work must be one of {', '.join(KINDS_OF_WORK)}",
                              field="kind_of_work")
    if kind == "heartbeat" and every_min is None:
        raise ValidationError("a heartbeat needs --every-min: the longest gap between "
                              "check-ins", field="every_min")
    if every_min is not None and not 1 <= every_min <= 10_080:
        raise ValidationError("every_min must be from 1 to 10080 minutes (a week)",
                              field="every_min")
    if reply.strip() and kind != "sms":
        raise ValidationError("--reply is the text an SMS to the emergency line is answered "
                              "with: only for an sms integration", field="reply")
    if len(reply.strip()) > 300 or "\n" in reply:
        raise ValidationError("--reply: one line of at most 300 characters", field="reply")
    key = secrets.token_urlsafe(32)
    payload: dict[str, Any] = {"name": name, "kind": kind, "key_hash": key_hash(key)}
    for field, value in (("category", category), ("site", site),
                         ("kind_of_work", kind_of_work), ("note", note), ("reply", reply)):
        if value.strip():
            payload[field] = value.strip()
    if every_min is not None:
        payload["every_min"] = every_min
    return NewEntry(INTEGRATIONS_CARD, "integration.added", payload), key


def revoke(existing: Sequence[Integration], name: str, reason: str) -> NewEntry:
    found = next((i for i in existing if i.name == name.strip() and not i.revoked), None)
    if found is None:
        raise ValidationError(f"no active integration named {name.strip()[:80]!r}; see "
                              "`dispatch-desk integration list`", field="name")
    if not reason.strip():
        raise ValidationError("say why the key is revoked (--reason)", field="reason")
    return NewEntry(INTEGRATIONS_CARD, "integration.revoked",
                    {"name": found.name, "reason": reason.strip()})
