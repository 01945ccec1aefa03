"""The one contact format, and the value checks every roster row shares.

Every message starts with the field's name so that a file loader only has to prefix the row
("rotation #3 ('net-primary') members: ..."), and ends with how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.errors import ValidationError

# E.164: '+', a country code that never starts with 0, at most 15 digits in all. The
# shortest numbers in service (small island states) have 7 digits with the country code.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SKILL = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# "+49 (0)30 1234-567" is how German numbers are often printed; the "(0)" is the trunk
# prefix dialled only inside the country and must go, not just its brackets.
_TRUNK_ZERO = re.compile(r"\(0\)")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
# How a person (and a route, app/services/roster/routing.py) may be paged: "call" is a voice
# call; "sms" never rings the phone (a route for work that can wait, or a person who cannot
# take calls on duty).
METHODS = ("sms+call", "call", "sms")


def fail(name: str, problem: str) -> ValidationError:
    return ValidationError(f"{name} {problem}", field=name)


def check_id(value: str, name: str) -> None:
    """Ids are typed by hand into TOML and CSV and referenced from other rows: keep them plain."""
    if not _ID.fullmatch(value):
        raise fail(name, f"{value!r} is not a valid id; use letters, digits, '.', '_' or "
                   "'-', starting with a letter or digit (e.g. 'anna.becker')")


def check_line(value: str, name: str, *, required: bool = False) -> None:
    """One-line fields end up on the wallboard and the printed handover sheet."""
    if required and not value:
        raise fail(name, "is empty; fill it in")
    if _CONTROL.search(value) or value != value.strip():
        raise fail(name, f"{value!r} has line breaks, control characters or surrounding "
                   "spaces; write it on one line without leading or trailing spaces")


def check_phone(value: str, name: str) -> None:
    """Raise unless ``value`` is E.164: the pager dials it exactly as written."""
    if not E164.fullmatch(value):
        raise fail(name, f"{value!r} is not an E.164 number; write '+', the country code and "
                   "the number without spaces, leading 00 or trunk 0, e.g. +4930123456")


def normalise_phone(value: str) -> str:
    """"+49 (0)30 123-456" -> "+4930123456"; anything else is left for check_phone."""
    return _PHONE_PUNCTUATION.sub("", _TRUNK_ZERO.sub("", value.strip()))


def check_skill(value: str, name: str = "skills") -> None:
    """Skill tags are matched exactly against routing rules, so they have one spelling."""
    if not _SKILL.fullmatch(value):
        raise fail(name, f"tag {value!r} is not valid; use lower-case letters, digits, '.', "
                   "'_' or '-' with no spaces or ';' (e.g. 'gas', 'fiber')")


def as_utc(value: datetime, name: str) -> datetime:
    """Return ``value`` in UTC; a naive datetime is refused since its instant is unknown."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise fail(name, f"{value.isoformat()} has no time zone; give an offset, e.g. "
                   "2026-07-01T09:00:00+02:00 or 2026-07-01T07:00:00Z")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Contact:
    """One person the desk can page, in the single contact format of the domain.

    An empty ``primary_phone`` is accepted so a roster still loads while a number is being
    fixed; ``Roster.warnings`` reports it, because an unreachable person must not go
    unnoticed. Any number that is present must be E.164.
    """

    id: str
    name: str
    role: str
    responsibilities: str
    primary_phone: str
    backup_phone: str | None
    messenger: str | None
    availability: str
    vacation_replacement: str | None
    skills: frozenset[str]
    #: How this person may be paged: "sms+call" (both at once), "call" or "sms" only. The
    #: route's method narrows it further; a page uses what both allow.
    method: str = "sms+call"

    def __post_init__(self) -> None:
        # "" and None mean the same for optional fields; keep one so that equality and the
        # CSV round trip (where both are an empty cell) agree.
        for name in ("backup_phone", "messenger", "vacation_replacement"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)
        object.__setattr__(self, "skills", frozenset(self.skills))
        check_id(self.id, "id")
        check_line(self.name, "name", required=True)
        check_line(self.role, "role")
        check_line(self.availability, "availability")
        check_line(self.messenger or "", "messenger")
        for name in ("primary_phone", "backup_phone"):
            if number := getattr(self, name):
                check_phone(number, name)
        if self.backup_phone and not self.primary_phone:
            # The pager tries the primary number first; a lone backup would never be dialled.
            raise fail("primary_phone", "is empty but backup_phone is set; move the number "
                       "to primary_phone")
        if self.backup_phone and self.backup_phone == self.primary_phone:
            raise fail("backup_phone", "repeats primary_phone; give a second number or "
                       "leave it empty")
        if self.vacation_replacement is not None:
            check_id(self.vacation_replacement, "vacation_replacement")
            if self.vacation_replacement == self.id:
                raise fail("vacation_replacement", "is the person themselves; name someone "
                           "else or leave it empty")
        for skill in sorted(self.skills):
            check_skill(skill)
        if self.method not in METHODS:
            raise fail("method", f"{self.method!r} is unknown; use one of {', '.join(METHODS)}")

    @property
    def numbers(self) -> tuple[str, ...]:
        """The numbers to try, primary first."""
        return tuple(n for n in (self.primary_phone, self.backup_phone) if n)

    @classmethod
    def create(cls, id: str, name: str, *, role: str = "", responsibilities: str = "",
               primary_phone: str = "", backup_phone: str | None = None,
               messenger: str | None = None, availability: str = "",
               vacation_replacement: str | None = None, skills: Iterable[str] = (),
               method: str = "") -> Contact:
        """Build a contact from hand-typed values: trims spaces, strips phone punctuation
        ("+49 (0)30 123-456" becomes "+4930123456") and lower-cases skills, then validates."""

        def opt(value: str | None, clean: Callable[[str], str] = str.strip) -> str | None:
            return clean(value) or None if value is not None else None

        return cls(id=id.strip(), name=name.strip(), role=role.strip(),
                   responsibilities=responsibilities.strip(),
                   primary_phone=normalise_phone(primary_phone),
                   backup_phone=opt(backup_phone, normalise_phone), messenger=opt(messenger),
                   availability=availability.strip(),
                   vacation_replacement=opt(vacation_replacement),
                   skills=frozenset(s.strip().lower() for s in skills if s.strip()),
                   method=method.strip().lower() or "sms+call")
