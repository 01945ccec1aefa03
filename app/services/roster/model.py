"""The roster: contacts, groups, rotations and vacation overrides, and who is on call.

Nothing here reads the clock: the caller passes the instant in (aware, any zone), so the
rules can be asked about any moment of the year. Answers come back in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from app.errors import ValidationError

from .contact import Contact, as_utc, check_id, check_line
from .rotation import ROLES, Override, Rotation, Shift


@dataclass(frozen=True)
class Group:
    """A domain group such as "network": it needs a primary and a backup rotation."""

    name: str
    domain: str

    def __post_init__(self) -> None:
        check_id(self.name, "name")
        check_line(self.domain, "domain", required=True)


@dataclass(frozen=True)
class OnCall:
    """A person holding a role from ``start`` to ``end`` (UTC), overrides applied."""

    contact: Contact
    start: datetime
    end: datetime


class Span(NamedTuple):
    """A stretch of a role's schedule: who holds it, or None for nobody."""

    start: datetime
    end: datetime
    contact: Contact | None


@dataclass(frozen=True)
class Roster:
    """Contacts, groups, rotations and overrides, checked to refer to each other."""

    contacts: tuple[Contact, ...] = ()
    groups: tuple[Group, ...] = ()
    rotations: tuple[Rotation, ...] = ()
    overrides: tuple[Override, ...] = ()
    _by_id: dict[str, Contact] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("contacts", "groups", "rotations", "overrides"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "_by_id", {c.id: c for c in self.contacts})
        self._check_references()

    def _check_references(self) -> None:
        """Refuse repeated ids and dangling references, naming the row as ``kind #n``."""

        def bad(kind: str, n: int, key: str, name: str, problem: str) -> ValidationError:
            return ValidationError(f"{kind} #{n} ({key!r}) {name}: {problem}", field=name)

        def unknown(what: str, value: str) -> str:
            return f"unknown {what} {value!r}; add it or fix the spelling"

        names = [g.name for g in self.groups]
        for kind, keys, name in (("contact", [c.id for c in self.contacts], "id"),
                                 ("group", names, "name"),
                                 ("rotation", [r.id for r in self.rotations], "id")):
            for n, key in enumerate(keys, 1):
                if (first := keys.index(key) + 1) != n:
                    raise bad(kind, n, key, name, f"repeats {kind} #{first}; make it unique")
        for n, c in enumerate(self.contacts, 1):
            if c.vacation_replacement and c.vacation_replacement not in self._by_id:
                raise bad("contact", n, c.id, "vacation_replacement",
                          unknown("contact id", c.vacation_replacement))
        slots: dict[tuple[str, str], str] = {}
        for n, r in enumerate(self.rotations, 1):
            if r.group not in names:
                raise bad("rotation", n, r.id, "group", unknown("group", r.group))
            missing = [m for m in r.members if m not in self._by_id]
            if missing:
                raise bad("rotation", n, r.id, "members", unknown("contact id", missing[0]))
            if (other := slots.setdefault((r.group, r.role), r.id)) != r.id:
                # Two rotations for one slot would make "who is on call" ambiguous.
                raise bad("rotation", n, r.id, "role", f"group {r.group!r} already has the "
                          f"{r.role} rotation {other!r}; merge them")
        for n, o in enumerate(self.overrides, 1):
            if o.person_id not in self._by_id:
                raise bad("override", n, o.person_id, "person",
                          unknown("contact id", o.person_id))
            if o.replacement_id is None:
                if self._by_id[o.person_id].vacation_replacement is None:
                    raise bad("override", n, o.person_id, "replacement", "is empty and the "
                              "person has no vacation_replacement; name who covers")
            elif o.replacement_id not in self._by_id:
                raise bad("override", n, o.person_id, "replacement",
                          unknown("contact id", o.replacement_id))

    def contact(self, contact_id: str) -> Contact | None:
        return self._by_id.get(contact_id)

    def rotation_for(self, group: str, role: str) -> Rotation | None:
        return next((r for r in self.rotations if r.group == group and r.role == role), None)

    def slots(self) -> list[tuple[str, str]]:
        """Every (group, role) the desk shows: primary and backup first, then other roles."""
        out = []
        for g in self.groups:
            extra = sorted(r.role for r in self.rotations
                           if r.group == g.name and r.role not in ROLES)
            out += [(g.name, role) for role in (*ROLES, *extra)]
        return out

    def _resolve(self, person_id: str, at: datetime) -> str | None:
        """Follow vacation overrides (first listed wins); a loop means nobody is left."""
        seen = {person_id}
        while True:
            cover = next((o for o in self.overrides if o.covers(person_id, at)), None)
            if cover is None:
                return person_id
            replacement = cover.replacement_id or self._by_id[person_id].vacation_replacement
            if replacement is None or replacement in seen:
                return None
            person_id = replacement
            seen.add(person_id)

    def on_call(self, group: str, role: str, at: datetime) -> Contact | None:
        """Who holds ``role`` for ``group`` at ``at``, vacations applied; None if nobody."""
        rotation = self.rotation_for(group, role)
        shift = rotation.shift_at(at) if rotation else None
        who = self._resolve(shift.member_id, as_utc(at, "at")) if shift else None
        return self._by_id[who] if who else None

    def _pieces(self, shift: Shift) -> list[Span]:
        # An override can start or end mid-shift, handing over early or late: cut the shift
        # at every override boundary inside it and merge neighbours with the same person.
        cuts = sorted({shift.start, shift.end} | {
            t for o in self.overrides for t in (o.start, o.end) if shift.start < t < shift.end
        })
        pieces: list[Span] = []
        for start, end in zip(cuts, cuts[1:], strict=False):
            who = self._resolve(shift.member_id, start)
            contact = self._by_id[who] if who else None
            if pieces and pieces[-1].contact == contact:
                pieces[-1] = pieces[-1]._replace(end=end)
            else:
                pieces.append(Span(start, end, contact))
        return pieces

    def schedule(self, group: str, role: str, start: datetime, end: datetime) -> list[Span]:
        """Who holds the role over [start, end), as consecutive spans, gaps included.

        Exact to the second, so a half-hour hole left by an override is not missed the way
        an hourly sample would miss it.
        """
        start, end = as_utc(start, "start"), as_utc(end, "end")
        rotation = self.rotation_for(group, role)
        if rotation is None:
            return [Span(start, end, None)] if start < end else []
        spans: list[Span] = []

        def add(span: Span) -> None:
            span = Span(max(span.start, start), min(span.end, end), span.contact)
            if span.start >= span.end:
                return
            if spans and spans[-1].contact == span.contact and spans[-1].end == span.start:
                spans[-1] = spans[-1]._replace(end=span.end)
            else:
                spans.append(span)

        add(Span(start, rotation.first_start(), None))  # before the anchor: nobody
        for shift in rotation.shifts(start, end):
            for piece in self._pieces(shift):
                add(piece)
        return spans

    def on_call_now_and_next(
        self, group: str, role: str, at: datetime
    ) -> tuple[OnCall | None, OnCall | None]:
        """The current holder of the role and the one who takes over after them.

        A mid-shift override boundary counts as a handover; the same person starting their
        next shift is reported again so the screen shows the next handoff time. Stretches
        with nobody on call are skipped when looking for the next holder; ``next`` is None
        when nobody takes over within a year.
        """
        at = as_utc(at, "at")
        rotation = self.rotation_for(group, role)
        if rotation is None:
            return None, None
        now: OnCall | None = None
        for shift in rotation.shifts(at, at + timedelta(days=366)):
            for piece in self._pieces(shift):
                if piece.end <= at or piece.contact is None:
                    continue
                if piece.start <= at and now is None:
                    now = OnCall(piece.contact, piece.start, piece.end)
                elif piece.start > at:
                    return now, OnCall(piece.contact, piece.start, piece.end)
        return now, None

    def warnings(self, now: datetime, days: int = 7) -> list[str]:
        """Setup problems a shift lead must fix before they bite, looking ``days`` ahead:
        people with no working number, groups without a primary or backup rotation (the
        two-contact rule), the same person holding both, and any stretch of the coming
        week when nobody holds a role (exact, not sampled, so short holes show too)."""
        now = as_utc(now, "now")
        until = now + timedelta(days=days)
        out = [f"contact {c.id!r} ({c.name}) has no working number: set primary_phone in "
               "E.164, e.g. +4930123456" for c in self.contacts if not c.primary_phone]
        for g in self.groups:
            for role in ROLES:
                if self.rotation_for(g.name, role) is None:
                    out.append(f"group {g.name!r} has no {role} rotation: every domain needs "
                               f"a primary and a backup; add a rotation with role '{role}'")
        for group, role in self.slots():
            rotation = self.rotation_for(group, role)
            if rotation is None:
                continue
            zone = ZoneInfo(rotation.tz)
            for span in self.schedule(group, role, now, until):
                if span.contact is None:
                    out.append(f"group {group!r} has nobody on call as {role} from "
                               f"{_local(span.start, zone)} to {_local(span.end, zone)}; "
                               "extend the rotation or fix the overrides")
        for g in self.groups:
            primary = self.rotation_for(g.name, "primary")
            backup = self.rotation_for(g.name, "backup")
            if primary is None or backup is None:
                continue
            zone = ZoneInfo(primary.tz)
            for span in self._same_person(g.name, now, until):
                assert span.contact is not None
                out.append(f"group {g.name!r}: {span.contact.id!r} is both primary and backup "
                           f"from {_local(span.start, zone)} to {_local(span.end, zone)}; the "
                           "two-contact rule needs two people, change a rotation or override")
        return out

    def _same_person(self, group: str, start: datetime, end: datetime) -> list[Span]:
        """Where the primary and the backup of ``group`` are one person (vacation cover)."""
        primary = self.schedule(group, "primary", start, end)
        backup = self.schedule(group, "backup", start, end)
        out: list[Span] = []
        for p in primary:
            for b in backup:
                lo, hi = max(p.start, b.start), min(p.end, b.end)
                if lo < hi and p.contact is not None and p.contact == b.contact:
                    out.append(Span(lo, hi, p.contact))
        return out


def _local(at: datetime, zone: ZoneInfo) -> str:
    """Shift leads think in the site's wall time: "Sun 2026-03-29 09:00 CEST"."""
    return f"{at.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
