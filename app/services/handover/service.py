"""Shift handover: edits to the draft, acceptance with read-back, and the override.

Responsibility moves only when the incoming lead accepts (DOMAIN.md, "Handover"). Acceptance
is ONE journal entry, "handover.accepted", listing every open card: ownership of all of them
(and of their ladders, which follow the card's owner) moves at once or not at all. The
override, "handover.overridden", needs a reason and moves ownership the same way, so a
handover can never trap the outgoing shift when the incoming lead is late or unreachable.

Handover entries are not about one card; they live under the pseudo card id "handover" (see
HANDOVER_KINDS in app/models/projection.py), so they sync like every other entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.clock import Clock
from app.errors import ValidationError
from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.services.cards.card import Card, Operator
from app.services.cards.rules import DispatchRules
from app.services.cards.service import one_line, parse_number
from app.services.cards.timeline import describe
from app.services.handover.facts import EscalationLine, OnCallLine, SyncFacts
from app.services.handover.sheet import (
    CARD_FIELDS,
    SHEET_FIELDS,
    Acceptance,
    HandoverSheet,
    draft_sheet,
    hm,
    is_critical,
)
from app.services.handover.shifts import ShiftPlan, ShiftWindow
from app.services.handover.sources import shift_rule_changes
from app.services.intake import IntakeService
from app.services.intake.sheet import intake_facts
from app.services.measures.metrics import by_risk

HANDOVER_STREAM = "handover"
SETTLED = ("handover.accepted", "handover.overridden")


@dataclass(frozen=True)
class Owner:
    """Who is responsible for a card: the lead who accepted it, or the registering shift."""

    name: str
    since: datetime
    how: str  # "registered", "accepted", "overridden"

    def label(self, tz: object = None) -> str:
        if self.how == "registered":
            return f"{self.name} (no handover yet)"
        return f"{self.name} ({self.how})"


@dataclass(frozen=True)
class HandoverStatus:
    """What the desk and the wallboard show about the handover right now."""

    shift: ShiftWindow
    state: str  # "not due", "pending", "overdue", "accepted", "overridden"
    due_at: datetime
    acceptance: Acceptance | None

    @property
    def pending(self) -> bool:
        return self.state in ("pending", "overdue")


@dataclass(frozen=True)
class ActivityLog:
    """The shift's activity log in the ICS-214 shape: who was on, and what happened when."""

    site: str
    desk: str
    shift: ShiftWindow
    lead: str
    prepared_at: datetime
    resources: tuple[tuple[str, str], ...]  # (name, position)
    lines: tuple[tuple[datetime, str], ...]  # (when, notable activity), in stamp order


def _describe_handover(entry: Entry) -> str:
    p = entry.payload
    if entry.kind == "handover.edited":
        return f"Handover draft edited: {p.get('field')} = {p.get('text')}"
    count = len(p.get("cards", ()))
    if entry.kind == "handover.accepted":
        return (f"Handover ACCEPTED by {p.get('incoming')} from {p.get('outgoing')}: {count} "
                f"open cards; read back {', '.join(p.get('read_back', ())) or 'none'}")
    return (f"Handover OVERRIDDEN by {entry.operator} ({count} open cards): "
            f"{p.get('reason')}")


def _acceptance(entry: Entry) -> Acceptance:
    p = entry.payload
    return Acceptance(
        kind="accepted" if entry.kind == "handover.accepted" else "overridden",
        shift_key=p["shift"],
        outgoing=p.get("outgoing", ""),
        incoming=p.get("incoming", ""),
        at=entry.at,
        read_back=tuple(p.get("read_back", ())),
        reason=p.get("reason", ""),
        card_ids=tuple(p.get("cards", ())),
    )


class HandoverService:
    def __init__(self, journal: Journal, rules: DispatchRules, plan: ShiftPlan,
                 clock: Clock, *, intake: IntakeService | None = None) -> None:
        self.journal = journal
        self.rules = rules
        self.plan = plan
        self.clock = clock
        self.intake = intake  # the triage tray: its untriaged items go on the sheet

    # -- reading --------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        return self.journal.entries(HANDOVER_STREAM)

    def shift_to_hand_over(self, now: datetime | None = None) -> ShiftWindow:
        """The shift whose handover is due: this one from its draft time, else the last."""
        now = now or self.clock.now()
        current = self.plan.shift_at(now)
        if now >= self.plan.draft_time(current):
            return current
        return self.plan.previous_shift(current)

    def settlement(self, shift: ShiftWindow, entries: Sequence[Entry] | None = None
                   ) -> Acceptance | None:
        for entry in entries if entries is not None else self.entries():
            if entry.kind in SETTLED and entry.payload.get("shift") == shift.key:
                return _acceptance(entry)
        return None

    def lead_of(self, shift: ShiftWindow, entries: Sequence[Entry] | None = None) -> str:
        """The lead who accepted `shift` at its start, or '' if nobody did."""
        for entry in entries if entries is not None else self.entries():
            if entry.kind in SETTLED and entry.payload.get("to_shift") == shift.key:
                return str(entry.payload.get("incoming", ""))
        return ""

    def edits(self, shift: ShiftWindow, entries: Sequence[Entry] | None = None
              ) -> dict[tuple[str, str], str]:
        out: dict[tuple[str, str], str] = {}
        for entry in entries if entries is not None else self.entries():  # in stamp order
            p = entry.payload
            if entry.kind == "handover.edited" and p.get("shift") == shift.key:
                out[(p["target"], p["field"])] = p["text"]
        return out

    def owners(self, cards: Iterable[Card], entries: Sequence[Entry] | None = None
               ) -> dict[str, Owner]:
        """Each card's owner: the latest handover that listed it, else its registering shift."""
        out = {
            c.id: Owner(f"shift {self.plan.shift_at(c.registered_at).short_label}",
                        c.registered_at, "registered")
            for c in cards
        }
        for entry in entries if entries is not None else self.entries():
            if entry.kind not in SETTLED:
                continue
            done = _acceptance(entry)
            name = done.incoming or f"incoming shift {entry.payload.get('to_label', '')}".strip()
            for card_id in done.card_ids:
                if card_id in out:
                    out[card_id] = Owner(name, done.at, done.kind)
        return out

    def status(self, now: datetime | None = None, open_cards: Sequence[Card] | None = None
               ) -> HandoverStatus:
        now = now or self.clock.now()
        shift = self.shift_to_hand_over(now)
        done = self.settlement(shift)
        if done is not None:
            return HandoverStatus(shift, done.kind, shift.end, done)
        if shift.contains(now):
            return HandoverStatus(shift, "pending", shift.end, None)
        # The last shift ended unaccepted: overdue only if it left open cards behind.
        cards = open_cards if open_cards is not None else self._open_cards()
        if any(c.registered_at < shift.end for c in cards):
            return HandoverStatus(shift, "overdue", shift.end, None)
        current = self.plan.shift_at(now)
        return HandoverStatus(current, "not due", self.plan.draft_time(current), None)

    def draft(
        self, outgoing_lead: str = "", *, shift: ShiftWindow | None = None, desk: str = "",
        on_call: Sequence[OnCallLine] | None = None,
        escalations: Mapping[str, EscalationLine] | None = None, sync: SyncFacts | None = None,
    ) -> HandoverSheet:
        """The sheet for the shift being handed over, with the outgoing lead's edits."""
        now = self.clock.now()
        shift = shift or self.shift_to_hand_over(now)
        entries = self.entries()
        cards = [Card.from_state(s) for s in self.journal.cards()]
        done = self.settlement(shift, entries)
        owners = {k: o.label() for k, o in self.owners(cards, entries).items()}
        return draft_sheet(
            site=self.plan.site,
            desk=desk or self.journal.desk_code,
            cards=[c for c in cards if c.is_open or c.closed_at],
            rules=self.rules,
            shift=shift,
            next_shift=self.plan.next_shift(shift),
            now=now,
            outgoing_lead=(done.outgoing if done else "") or outgoing_lead
            or self.lead_of(shift, entries),
            edits=self.edits(shift, entries),
            owners=owners,
            on_call=on_call,
            escalations=escalations,
            sync=sync,
            acceptance=done,
            intake=intake_facts(self.intake) if self.intake is not None else None,
            rule_changes=shift_rule_changes(self.journal, shift.start, now),
        )

    def activity_log(self, shift: ShiftWindow | None = None, lead: str = "") -> ActivityLog:
        """Everything written during `shift` (default: the current one), in stamp order."""
        now = self.clock.now()
        shift = shift or self.plan.shift_at(now)
        start_stamp = f"{int(shift.start.timestamp() * 1000):015d}"
        touched = [Card.from_state(s) for s in self.journal.cards() if s["last_hlc"] >= start_stamp]
        numbers = {c.id: c.number for c in touched}
        entries = [e for c in touched for e in self.journal.entries(c.id)]
        entries += self.entries()
        lines: list[tuple[datetime, str]] = []
        people: dict[str, str] = {}
        for entry in sorted(entries, key=lambda e: (e.hlc, e.id)):
            if not shift.start <= entry.at < shift.end:
                continue
            if entry.card_id == HANDOVER_STREAM:
                text = _describe_handover(entry)
            else:
                line = describe(entry)
                text = f"{numbers.get(entry.card_id, '?')}: {line.title}"
                text += f" ({line.detail})" if line.detail else ""
                if entry.kind == "card.ack":
                    people.setdefault(str(entry.payload.get("who")), "on call")
            if entry.operator != "system":
                people.setdefault(entry.operator, "desk")
            lines.append((entry.at, f"{text} [{entry.operator}]"))
        return ActivityLog(self.plan.site, self.journal.desk_code, shift,
                           lead or self.lead_of(shift), now, tuple(sorted(people.items())),
                           tuple(lines))

    def _open_cards(self) -> list[Card]:
        return [Card.from_state(s) for s in self.journal.cards(open_only=True)]

    # -- changes --------------------------------------------------------------------------

    def _unsettled(self, shift: ShiftWindow | None) -> ShiftWindow:
        shift = shift or self.shift_to_hand_over()
        done = self.settlement(shift)
        if done is not None:
            raise ValidationError(
                f"the handover of shift {shift.label} was already {done.kind} by "
                f"{done.incoming or done.outgoing} at {hm(done.at, shift.tz)}", field="shift")
        return shift

    def edit(self, target: str, field: str, text: str, operator: Operator, *,
             shift: ShiftWindow | None = None) -> None:
        """One edit by the outgoing lead: `target` is "sheet" or a card number."""
        shift = self._unsettled(shift)
        if target == "sheet":
            if field not in SHEET_FIELDS:
                raise ValidationError(f"sheet field {field!r}: use one of "
                                      f"{', '.join(SHEET_FIELDS)}", field="field")
            key = "sheet"
        else:
            card = Card.from_state(self.journal.card_by_number(parse_number(target)))
            if field not in CARD_FIELDS:
                raise ValidationError(f"card field {field!r}: use one of "
                                      f"{', '.join(CARD_FIELDS)}", field="field")
            key = card.id
        body = one_line(text, "text", f"the {field.replace('_', ' ')}", limit=300)
        payload = {"shift": shift.key, "target": key, "field": field, "text": body}
        self.journal.write([NewEntry(HANDOVER_STREAM, "handover.edited", payload)], operator.name)

    def critical_numbers(self) -> list[str]:
        now = self.clock.now()
        return [r.card.number for r in by_risk(self._open_cards(), self.rules, now)
                if is_critical(r)]

    def accept(self, incoming: str, read_back: Iterable[str], operator: Operator, *,
               outgoing: str = "", shift: ShiftWindow | None = None) -> Acceptance:
        """The incoming lead accepts: every critical card must have been read back."""
        shift = self._unsettled(shift)
        incoming = one_line(incoming, "incoming", "the incoming lead's name", limit=120)
        outgoing = (outgoing or self.lead_of(shift) or operator.name).strip()
        if incoming.casefold() == outgoing.casefold():
            raise ValidationError(f"the incoming lead ({incoming}) cannot be the outgoing lead; "
                                  "name the person taking over", field="incoming")
        read = {parse_number(n) for n in read_back}
        open_cards = self._open_cards()
        known = {c.number for c in open_cards}
        if unknown := sorted(read - known):
            raise ValidationError(f"read back {', '.join(unknown)}: not an open card; read "
                                  "back only cards on this handover", field="read_back")
        if missing := [n for n in self.critical_numbers() if n not in read]:
            raise ValidationError(
                f"read back the critical card(s) {', '.join(missing)} before accepting "
                "(--read-back NUMBER), or use the override with a reason", field="read_back")
        return self._settle("handover.accepted", shift, open_cards, operator, incoming=incoming,
                            outgoing=outgoing, read_back=sorted(read), reason="")

    def override(self, reason: str, operator: Operator, *, incoming: str = "",
                 shift: ShiftWindow | None = None) -> Acceptance:
        """Move ownership without the incoming lead's read-back; the reason is kept."""
        shift = self._unsettled(shift)
        why = one_line(reason, "reason", "a reason for the override", limit=300)
        name = incoming.strip()
        if name:
            name = one_line(name, "incoming", "the incoming lead's name", limit=120)
        outgoing = self.lead_of(shift) or operator.name
        return self._settle("handover.overridden", shift, self._open_cards(), operator,
                            incoming=name, outgoing=outgoing, read_back=[], reason=why)

    def _settle(self, kind: str, shift: ShiftWindow, cards: Sequence[Card], operator: Operator,
                *, incoming: str, outgoing: str, read_back: list[str], reason: str
                ) -> Acceptance:
        now = self.clock.now()
        nxt = self.plan.next_shift(shift)
        ranked = by_risk(cards, self.rules, now)
        payload = {
            "shift": shift.key,
            "to_shift": nxt.key,
            "to_label": nxt.short_label,
            "outgoing": outgoing,
            "incoming": incoming,
            "cards": [r.card.id for r in ranked],
            "numbers": [r.card.number for r in ranked],
            "read_back": read_back,
            "reason": reason,
        }
        entry = self.journal.write([NewEntry(HANDOVER_STREAM, kind, payload)], operator.name)[0]
        return _acceptance(entry)
