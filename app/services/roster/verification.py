"""The monthly availability check (DOMAIN: "check every contact monthly with a test message
and mark them available"): a test SMS with a code, and the contact's reply with that code.

    roster.verify_sent   a test message went to a contact: its number and code (written
                         before the SMS is sent, id from the contact and the minute)
    roster.verified      the contact replied with the code (id from the reply's MessageSid,
                         so the store's webhook and the desk's poll record the same fact)

Both live on the pseudo card ``VERIFY_CARD``. ``unverified`` is what `roster check`, the
handover sheet and the wallboard warn about: people on call now whose last verification is
older than ``VERIFIED_FOR`` (or who never verified). Pure: no I/O, time is passed in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.models.entry import Entry, NewEntry, fact_id
from app.services.roster.contact import Contact
from app.services.roster.model import Roster

VERIFY_CARD = fact_id("roster:verification")
#: An on-call person not verified for longer than this is warned about.
VERIFIED_FOR = timedelta(days=30)
#: A test message's code is answered for this long.
CODE_VALID = timedelta(days=7)
_DIGITS = re.compile(r"\d+")
#: What the handover sheet and the wallboard put beside an unverified on-call person's name.
UNVERIFIED_MARK = "(not verified in 30 days)"


@dataclass(frozen=True)
class PendingCheck:
    contact_id: str
    number: str
    code: str
    name: str
    sent_at: datetime
    desk_id: str  # the desk that sent it (it reads the replies)


@dataclass(frozen=True)
class Unverified:
    contact_id: str
    name: str
    last: datetime | None  # the last verification, None: never
    slots: tuple[str, ...]  # "network primary", ...

    def line(self, now: datetime) -> str:
        when = (f"last verified {(now - self.last).days} days ago" if self.last
                else "never verified")
        return (f"{self.name} is on call ({', '.join(self.slots)}) and {when}; run "
                "`dispatch-desk roster verify`")


def verification_code(contact_id: str, at: datetime) -> str:
    """Six digits (never a 4-digit page code), the same on every desk for one request."""
    digest = hashlib.sha256(f"verify:{contact_id}:{at.isoformat()}".encode()).digest()
    return str(100000 + int.from_bytes(digest[:4], "big") % 900000)


def verify_text(code: str) -> str:
    return (f"Dispatch desk availability check: reply {code} to confirm this number reaches "
            "you for on-call pages.")


def verify_entries(contacts: Iterable[Contact], at: datetime, group: str = "") -> list[NewEntry]:
    """One ``roster.verify_sent`` per contact with a phone number (the SMS follows)."""
    minute = at.replace(second=0, microsecond=0)
    out: list[NewEntry] = []
    for c in contacts:
        if not c.primary_phone:
            continue
        code = verification_code(c.id, minute)
        payload = {"contact_id": c.id, "number": c.primary_phone, "code": code,
                   "name": c.name, "at": at.isoformat()}
        if group:
            payload["group"] = group
        out.append(NewEntry(VERIFY_CARD, "roster.verify_sent", payload,
                            id=fact_id(f"roster:verify:{c.id}:{minute.isoformat()}")))
    return out


def _at(e: Entry) -> datetime:
    return datetime.fromisoformat(str(e.payload["at"])) if e.payload.get("at") else e.at


def pending(entries: Iterable[Entry], now: datetime) -> list[PendingCheck]:
    """Test messages still waiting for their code (sent within CODE_VALID, not answered)."""
    ordered = list(entries)
    answered = {str(e.payload.get("code")) for e in ordered if e.kind == "roster.verified"}
    out = []
    for e in ordered:
        p = e.payload
        if e.kind != "roster.verify_sent" or str(p["code"]) in answered:
            continue
        sent = _at(e)
        if now - sent <= CODE_VALID:
            out.append(PendingCheck(str(p["contact_id"]), str(p["number"]), str(p["code"]),
                                    str(p.get("name") or p["contact_id"]), sent, e.desk_id))
    return out


def match_reply(sid: str, from_number: str, body: str, received_at: datetime,
                checks: Sequence[PendingCheck]) -> NewEntry | None:
    """The ``roster.verified`` fact for a reply carrying a pending code from its number."""
    words = set(_DIGITS.findall(body))
    for check in checks:
        if check.number == from_number and check.code in words:
            return NewEntry(VERIFY_CARD, "roster.verified", {
                "contact_id": check.contact_id, "number": from_number, "sid": sid,
                "code": check.code, "name": check.name, "at": received_at.isoformat()},
                id=fact_id(f"inbound:{sid}"))
    return None


def demo_verifications(contacts: Iterable[Contact], at: datetime) -> list[NewEntry]:
    """The demo's answers to a monthly check made at `at`: every contact with a phone
    verified then (ids from the contact, so a second demo run writes nothing new)."""
    out = []
    for c in contacts:
        if not c.primary_phone:
            continue
        sid = "SMdemo" + fact_id(f"demo-verify:{c.id}").replace("-", "")[:26]
        out.append(NewEntry(VERIFY_CARD, "roster.verified", {
            "contact_id": c.id, "number": c.primary_phone, "sid": sid, "name": c.name,
            "at": at.isoformat()}, id=fact_id(f"inbound:{sid}")))
    return out


def verified_at(entries: Iterable[Entry]) -> dict[str, datetime]:
    """contact id -> the latest verification."""
    last: dict[str, datetime] = {}
    for e in entries:
        if e.kind == "roster.verified":
            who, at = str(e.payload["contact_id"]), _at(e)
            if who not in last or at > last[who]:
                last[who] = at
    return last


def unverified(roster: Roster, entries: Iterable[Entry], now: datetime) -> list[Unverified]:
    """People on call at ``now`` not verified within VERIFIED_FOR, by name."""
    last = verified_at(entries)
    slots: dict[str, list[str]] = {}
    people: dict[str, Contact] = {}
    for group, role in roster.slots():
        person = roster.on_call(group, role, now)
        if person is None:
            continue
        people[person.id] = person
        slots.setdefault(person.id, []).append(f"{group} {role}")
    out = [Unverified(cid, people[cid].name, last.get(cid), tuple(where))
           for cid, where in slots.items()
           if last.get(cid) is None or now - last[cid] > VERIFIED_FOR]
    return sorted(out, key=lambda u: u.name)
