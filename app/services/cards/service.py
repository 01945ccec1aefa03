"""Card use cases: each public method is one thing a person does, validated against the
dispatch rules, written as one journal entry (or a few, in one transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from app.clock import Clock
from app.errors import PermissionDenied, TransitionError, ValidationError
from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.models.projection import (
    CLOSED,
    IN_PROGRESS,
    INTAKE_FIELDS,
    REGISTERED,
    RESTORED,
    WAITING_CONTRACTOR,
    WAITING_CUSTOMER,
)
from app.protocol.catalogue import ACK_METHODS as ACK_METHODS
from app.protocol.catalogue import CARD_NUMBER
from app.protocol.catalogue import KINDS_OF_WORK as KINDS_OF_WORK
from app.services.cards.card import STATUS_LABELS, Card, Operator
from app.services.cards.rules import PRIORITIES, DispatchRules

MANDATORY = {
    "q_what": "What exactly is not working, and for whom?",
    "q_where": "Where (site, room, equipment)?",
    "q_when": "When did it start, and what changed before?",
    "q_workaround": "Is there a workaround, and how urgent is recovery?",
    "q_contact": "Who is the contact for feedback and who confirms recovery?",
}
REQUIRED_FIELDS = {"category": "category", "site": "site", "symptom": "symptom"}

# Allowed status changes (DOMAIN.md, "Statuses"). Restored -> In progress is a relapse.
TRANSITIONS: dict[str, frozenset[str]] = {
    REGISTERED: frozenset({IN_PROGRESS, WAITING_CUSTOMER, WAITING_CONTRACTOR, RESTORED}),
    IN_PROGRESS: frozenset({WAITING_CUSTOMER, WAITING_CONTRACTOR, RESTORED}),
    WAITING_CUSTOMER: frozenset({IN_PROGRESS, WAITING_CONTRACTOR, RESTORED}),
    WAITING_CONTRACTOR: frozenset({IN_PROGRESS, WAITING_CUSTOMER, RESTORED}),
    RESTORED: frozenset({IN_PROGRESS, CLOSED}),
    CLOSED: frozenset(),
}
CLOSURE_FIELDS = ("cause", "workaround", "fix", "lessons")
DUPLICATE_WINDOW = timedelta(hours=2)
EMERGENCY_WINDOW = timedelta(minutes=10)
# A desk code (1-3 letters) and a counter: short enough to read out on the phone.
NUMBER_PATTERN = CARD_NUMBER


def parse_number(text: str) -> str:
    number = str(text or "").strip().upper()
    if not NUMBER_PATTERN.fullmatch(number):
        raise ValidationError(
            f"{text!r} is not a card number; card numbers look like B-0042", field="number"
        )
    return number


def one_line(value: Any, field: str, what: str, *, limit: int = 200) -> str:
    text = str(value or "").strip()
    if not text:
        raise ValidationError(f"{what} is required", field=field)
    if "\n" in text:
        raise ValidationError(f"{what} must be one line", field=field)
    if len(text) > limit:
        raise ValidationError(f"{what} is {len(text)} characters; keep it to {limit}", field=field)
    return text


def parse_status(text: str) -> str:
    key = text.strip().lower().replace(" ", "_").replace("-", "_")
    # No alias for "waiting": it could be for the customer or for a contractor, and a guess
    # pauses the recovery clock under the wrong promise. Ask instead (issue 15).
    aliases = {"progress": IN_PROGRESS, "monitoring": RESTORED}
    key = aliases.get(key, key)
    choices = [s for s in STATUS_LABELS if key and s.startswith(key)]
    if key not in STATUS_LABELS and len(choices) > 1:
        raise ValidationError(
            f"{text!r} could be {' or '.join(choices)}; type the one you mean", field="status"
        )
    if key not in STATUS_LABELS:
        raise ValidationError(
            f"unknown status {text!r}; use one of: {', '.join(STATUS_LABELS)}", field="status"
        )
    return key


class CardService:
    def __init__(self, journal: Journal, rules: DispatchRules, clock: Clock) -> None:
        self.journal = journal
        self.rules = rules
        self.clock = clock

    # -- reading --------------------------------------------------------------------------

    def get(self, number: str) -> Card:
        return Card.from_state(self.journal.card_by_number(parse_number(number)))

    def get_by_id(self, card_id: str) -> Card:
        return Card.from_state(self.journal.card(card_id))

    def open_cards(self) -> list[Card]:
        return [Card.from_state(s) for s in self.journal.cards(open_only=True)]

    def all_cards(self) -> list[Card]:
        return [Card.from_state(s) for s in self.journal.cards()]

    def timeline(self, number: str) -> list[Entry]:
        return self.journal.entries(self.get(number).id)

    def similar_open(self, site: str, category: str) -> list[Card]:
        """Open cards that look like the same incident: same site and category, recent."""
        since = self.clock.now() - DUPLICATE_WINDOW
        states = self.journal.cards(open_only=True, site=site, category=category)
        found = [Card.from_state(s) for s in states]
        return [c for c in found if c.registered_at >= since]

    def probable_emergency(self, site: str, category: str) -> bool:
        """Three matching reports within 10 minutes (counting the one being taken now)."""
        since = self.clock.now() - EMERGENCY_WINDOW
        recent = 0
        for card in self.similar_open(site, category):
            for entry in self.journal.entries(card.id):
                if entry.kind in ("card.registered", "card.report") and entry.at >= since:
                    recent += 1
        return recent + 1 >= 3

    # -- intake ---------------------------------------------------------------------------

    def validate_intake(self, intake: Mapping[str, Any]) -> dict[str, Any]:
        """The cleaned intake, or a ValidationError naming every missing answer at once."""
        unknown = set(intake) - set(INTAKE_FIELDS) - {"priority", "priority_reason"}
        if unknown:
            raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
        missing = [label for key, label in REQUIRED_FIELDS.items() if not intake.get(key)]
        missing += [q for key, q in MANDATORY.items() if not str(intake.get(key) or "").strip()]
        if missing:
            first = next(k for k in (*REQUIRED_FIELDS, *MANDATORY) if not intake.get(k))
            raise ValidationError("missing: " + "; ".join(missing), field=first)
        fields = {k: (str(v).strip() if v is not None else None) for k, v in intake.items()}
        self.rules.category(str(fields["category"]))
        kind = fields.get("kind_of_work") or "request"
        if kind not in KINDS_OF_WORK:
            raise ValidationError(
                f"kind of work must be one of {', '.join(KINDS_OF_WORK)}", field="kind_of_work"
            )
        fields["kind_of_work"] = kind
        priority = fields.pop("priority", None)
        if not priority:
            if not (fields.get("impact") and fields.get("urgency")):
                raise ValidationError(
                    "give a priority (P1-P4) or impact and urgency (high/medium/low)",
                    field="priority",
                )
            priority = self.rules.priority_for(str(fields["impact"]), str(fields["urgency"]))
        priority = priority.upper()
        if priority not in PRIORITIES:
            raise ValidationError("priority must be P1, P2, P3 or P4", field="priority")
        fields["priority"] = priority
        fields["priority_reason"] = one_line(
            fields.pop("priority_reason", None), "priority_reason", "a one-line priority reason"
        )
        return fields

    def register(
        self,
        intake: Mapping[str, Any],
        operator: Operator,
        *,
        registered_at: datetime | None = None,
    ) -> Card:
        """Register a card. `registered_at` keeps a handwritten time (a paper card entered
        late); the card is then flagged as entered late."""
        fields = self.validate_intake(intake)
        priority = fields.pop("priority")
        reason = fields.pop("priority_reason")
        payload: dict[str, Any] = {
            "fields": fields,
            "priority": priority,
            "priority_reason": reason,
        }
        if registered_at is not None:
            if registered_at > self.clock.now():
                raise ValidationError("a handwritten time cannot be in the future",
                                      field="registered_at")
            payload["registered_at"] = registered_at.isoformat()
            payload["entered_late"] = True
        card_id = str(uuid.uuid4())
        return self._commit(NewEntry(card_id, "card.registered", payload), operator)

    def attach_report(self, number: str, reporter: str, text: str, operator: Operator) -> Card:
        card = self._open(number)
        report = one_line(text, "text", "the report", limit=2000)
        payload = {"reporter": reporter.strip(), "text": report}
        return self._commit(NewEntry(card.id, "card.report", payload), operator)

    def update_fields(self, number: str, fields: Mapping[str, Any], operator: Operator) -> Card:
        card = self._open(number)
        bad = set(fields) - set(INTAKE_FIELDS)
        if bad:
            raise ValidationError(f"cannot set {', '.join(sorted(bad))} here", field=min(bad))
        if "category" in fields:
            self.rules.category(str(fields["category"]))
        clean = {k: (str(v).strip() if v is not None else None) for k, v in fields.items()}
        return self._commit(NewEntry(card.id, "card.fields", {"fields": clean}), operator)

    # -- changes --------------------------------------------------------------------------

    def _commit(self, entry: NewEntry, operator: Operator) -> Card:
        """Write one entry (durably) and return the card as it now stands."""
        return Card.from_state(self.journal.write_card([entry], operator.name))

    def _open(self, number: str) -> Card:
        card = self.get(number)
        if not card.is_open:
            raise TransitionError(f"card {card.number} is closed; it cannot be changed")
        return card

    def change_priority(
        self, number: str, priority: str, reason: str, operator: Operator, evidence: str = ""
    ) -> Card:
        if operator.role not in self.rules.priority_roles:
            allowed = ", ".join(sorted(self.rules.priority_roles))
            raise PermissionDenied(
                f"role {operator.role!r} may not change a priority; allowed: {allowed}"
            )
        priority = priority.strip().upper()
        if priority not in PRIORITIES:
            raise ValidationError("priority must be P1, P2, P3 or P4", field="priority")
        reason = one_line(reason, "reason", "a reason for the priority change")
        card = self._open(number)
        if priority == card.priority:
            raise ValidationError(f"card {card.number} is already {priority}", field="priority")
        payload = {
            "priority": priority,
            "from": card.priority,
            "reason": reason,
            "evidence": evidence.strip(),
            "role": operator.role,
        }
        return self._commit(NewEntry(card.id, "card.priority", payload), operator)

    def change_status(
        self,
        number: str,
        status: str,
        operator: Operator,
        *,
        reason: str = "",
        closure: Mapping[str, str] | None = None,
        confirmed_by: str = "",
    ) -> Card:
        target = parse_status(status)
        card = self.get(number)
        if target == card.status:
            raise TransitionError(f"card {card.number} is already {card.status_label}")
        if target not in TRANSITIONS[card.status]:
            allowed = ", ".join(STATUS_LABELS[s] for s in sorted(TRANSITIONS[card.status]))
            raise TransitionError(
                f"card {card.number} cannot go from {card.status_label} to "
                f"{STATUS_LABELS[target]}; from here: {allowed or 'nothing (closed)'}"
            )
        payload: dict[str, Any] = {"status": target, "from": card.status, "reason": reason.strip()}
        if target == CLOSED:
            payload["closure"] = self._closure(card, closure, confirmed_by)
        return self._commit(NewEntry(card.id, "card.status", payload), operator)

    def _closure(
        self, card: Card, closure: Mapping[str, str] | None, confirmed_by: str
    ) -> dict[str, str]:
        given = {k: str(v).strip() for k, v in (closure or {}).items() if str(v).strip()}
        missing = [k for k in CLOSURE_FIELDS if not given.get(k)]
        if missing:
            raise ValidationError(
                "closing needs " + ", ".join(missing) + " (write 'unknown' for a cause not yet "
                "known)",
                field=missing[0],
            )
        restored = card.restored_at or self.clock.now()
        observed = self.clock.now() - restored
        if not confirmed_by.strip() and observed < self.rules.observation:
            left = -int(-(self.rules.observation - observed).total_seconds() // 60)  # ceil
            raise TransitionError(
                f"card {card.number} is in monitoring for {left} more min; close it after "
                "that, or name who confirmed recovery"
            )
        given["confirmed_by"] = confirmed_by.strip()
        return given

    def add_note(self, number: str, text: str, operator: Operator) -> Card:
        card = self.get(number)
        body = str(text or "").strip()
        if not body:
            raise ValidationError("a note needs text", field="text")
        return self._commit(NewEntry(card.id, "card.note", {"text": body}), operator)

    def post_status_message(
        self, number: str, text: str, next_update_at: datetime | None, operator: Operator,
        to: list[dict[str, str]] | None = None,
    ) -> Card:
        """`to`: the recipients the outbox sends it to (the card's distribution list)."""
        card = self._open(number)
        body = one_line(text, "text", "the status message", limit=500)
        if next_update_at is not None and next_update_at <= self.clock.now():
            raise ValidationError("the next update must be in the future", field="next_update_at")
        payload: dict[str, Any] = {
            "text": body,
            "next_update_at": next_update_at.isoformat() if next_update_at else None,
        }
        if to:
            payload["to"] = to
        return self._commit(NewEntry(card.id, "card.status_message", payload), operator)

    def acknowledge(self, number: str, who: str, how: str, operator: Operator) -> Card:
        card = self._open(number)
        person = one_line(who, "who", "who acknowledged", limit=120)
        if how not in ACK_METHODS:
            raise ValidationError(f"how must be one of {', '.join(ACK_METHODS)}", field="how")
        payload = {"who": person, "how": how}
        return self._commit(NewEntry(card.id, "card.ack", payload), operator)

    def confirm(self, number: str, operator: Operator) -> Card:
        card = self._open(number)
        if card.confirmed_at is not None:
            raise ValidationError(f"card {card.number} is already confirmed")
        return self._commit(NewEntry(card.id, "card.confirmed", {}), operator)
