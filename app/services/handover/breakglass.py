"""The break-glass packet: what a desk needs on paper when screens or the link fail.

Printed on demand, at shift start, and when the desk has lost its link for longer than the
shift plan's `breakglass_link_loss`: the open cards (riskiest first), the on-call rota with
phone numbers, the contact tree, and numbered blank cards. A paper card is later entered with
its handwritten time (`parse_handwritten_time` + CardService.register(registered_at=...)),
which keeps the time and flags the card "entered late".

Card text and the rota's names are untrusted: every text on the packet is cleaned here with
`for_display` (no bidi controls, control characters as visible escapes), one line each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.errors import ValidationError
from app.protocol.text import for_display
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules
from app.services.handover.facts import ContactLine, OnCallLine, SyncFacts
from app.services.handover.sheet import hm
from app.services.handover.shifts import ShiftPlan, ShiftWindow, parse_hhmm
from app.services.measures.metrics import by_risk


@dataclass(frozen=True)
class PaperCardLine:
    number: str
    priority: str
    status: str
    what: str
    assignee: str
    next_deadline: str


@dataclass(frozen=True)
class BreakGlassPacket:
    site: str
    desk: str
    shift: ShiftWindow
    printed_at: datetime
    reason: str
    cards: tuple[PaperCardLine, ...]
    on_call: tuple[OnCallLine, ...] | None  # None: no rota data at this desk
    contacts: tuple[ContactLine, ...]
    blank_numbers: tuple[str, ...]


def blank_card_numbers(desk: str, when: datetime, tz: ZoneInfo, count: int) -> tuple[str, ...]:
    """Numbers for blank paper cards, unique per desk and minute printed: PAPER-A-2311-1945-01.
    Written on the card, they are entered later as the card's source so paper and journal
    can be matched."""
    stamp = when.astimezone(tz).strftime("%d%m-%H%M")
    return tuple(f"PAPER-{desk}-{stamp}-{n:02d}" for n in range(1, count + 1))


def default_contact_tree(on_call: Sequence[OnCallLine] | None) -> tuple[ContactLine, ...]:
    """Who to call, in order, built from the rota when no contact tree is configured."""
    if not on_call:
        return ()
    now = [o for o in on_call if not o.is_next]
    ordered = sorted(now, key=lambda o: (o.role != "shift lead", o.group, o.role != "primary"))
    return tuple(ContactLine(o.name, f"{o.group} {o.role}", o.phone, o.backup_phone)
                 for o in ordered)


def _clean_contact(c: ContactLine) -> ContactLine:
    return ContactLine(*(for_display(t) for t in (c.name, c.role, c.phone, c.backup_phone,
                                                   c.note)))


def _clean_on_call(o: OnCallLine) -> OnCallLine:
    return replace(o, group=for_display(o.group), role=for_display(o.role),
                   name=for_display(o.name), phone=for_display(o.phone),
                   backup_phone=for_display(o.backup_phone))


def build_packet(
    *, plan: ShiftPlan, desk: str, cards: Sequence[Card], rules: DispatchRules,
    now: datetime, reason: str = "on demand", on_call: Sequence[OnCallLine] | None = None,
    contacts: Sequence[ContactLine] | None = None, blank_cards: int | None = None,
) -> BreakGlassPacket:
    tz = plan.tz
    lines = []
    for risk in by_risk(cards, rules, now):
        clock = risk.nearest
        due = f"{clock.name} {hm(clock.due, tz, now)}" if clock and clock.due else "-"
        card = risk.card
        lines.append(PaperCardLine(*(for_display(t) for t in (
            card.number, card.priority, card.status_label,
            f"{card.symptom} ({card.location})" if card.location else card.symptom,
            card.assignee or card.acknowledged_by or "UNASSIGNED", due))))
    count = plan.breakglass_blank_cards if blank_cards is None else blank_cards
    if not 0 <= count <= 50:
        raise ValidationError("blank cards: give 0 to 50", field="blank_cards")
    rota = None if on_call is None else tuple(_clean_on_call(o) for o in on_call)
    tree = tuple(contacts) if contacts else default_contact_tree(rota)
    return BreakGlassPacket(
        site=for_display(plan.site),
        desk=for_display(desk),
        shift=plan.shift_at(now),
        printed_at=now,
        reason=reason,
        cards=tuple(lines),
        on_call=rota,
        contacts=tuple(_clean_contact(c) for c in tree),
        blank_numbers=blank_card_numbers(desk, now, tz, count),
    )


def packet_due(
    plan: ShiftPlan, now: datetime, last_printed: datetime | None, sync: SyncFacts | None
) -> str | None:
    """Why a packet should be printed now, or None. At most one per shift start and one
    per outage: a printer that spits a packet every minute gets switched off."""
    shift = plan.shift_at(now)
    if last_printed is None or last_printed < shift.start:
        return f"shift start {shift.short_label}"
    down = sync.link_down_for(now) if sync else None
    if down is not None and down >= plan.breakglass_link_loss:
        outage_start = now - down
        if last_printed < outage_start + plan.breakglass_link_loss:
            return f"link to the store down for {int(down.total_seconds() // 60)} min"
    return None


def parse_handwritten_time(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """A time written on a paper card, as UTC. 'HH:MM' is the latest such local time not
    after now (23:50 written before midnight and entered at 00:30 is yesterday's); a full
    ISO time with an offset is taken as is."""
    value = str(text or "").strip()
    if "T" in value or len(value) > 5:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError(
                f"registered-at {value!r}: write HH:MM (e.g. 02:14) or an ISO time with an "
                "offset", field="registered_at") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
    else:
        at = parse_hhmm(value, "registered_at")
        local_now = now.astimezone(tz)
        moment = datetime.combine(local_now.date(), at, tzinfo=tz)
        if moment > local_now:
            moment = datetime.combine(local_now.date() - timedelta(days=1), at, tzinfo=tz)
    if moment > now:
        raise ValidationError("a handwritten time cannot be in the future", field="registered_at")
    if now - moment > timedelta(days=2):
        raise ValidationError("a handwritten time more than two days old: check the date",
                              field="registered_at")
    return moment.astimezone(now.tzinfo)
