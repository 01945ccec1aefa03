"""The handover sheet, drafted from the journal: forward-looking, one brief per open card.

`draft_sheet` is pure: it takes the cards, the rules, the shift, the instant and the optional
facts from the rota, the ladders and sync, plus the outgoing lead's edits, and returns an
immutable `HandoverSheet` that the printer, the dialog and the tests read. Every derived line
(next step, contingency, headline) can be replaced by an edit; edits are journal entries
(see app/services/handover/service.py), so a crash mid-draft loses nothing.

Card text, names and edits are untrusted (people, scripts, other desks): every text on the
sheet is cleaned here with `for_display` (no bidi controls, control characters as visible
escapes), one line each except the answers that may hold several (risks, workaround, who is
affected), so the window, the PDF and the command line all read the same clean sheet. Card
numbers stay as they are: they identify the cards to read back; they are cleaned where shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.models.projection import RESTORED, WAITING_CONTRACTOR, WAITING_CUSTOMER
from app.protocol.text import for_display
from app.services.audit import AuditItem
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules
from app.services.handover.facts import EscalationLine, OnCallLine, SyncFacts
from app.services.handover.shifts import ShiftWindow
from app.services.intake.sheet import (
    IntakeFacts,
    intake_hazards,
    maintenance_lines,
    untriaged_lines,
    with_windows,
)
from app.services.measures.metrics import CardRisk, by_risk, minutes, reaction_time, recovery_time

AT_RISK_HORIZON = timedelta(hours=4)
CRITICAL_PRIORITIES = ("P1", "P2")
CARD_FIELDS = ("next_step", "contingency", "risks", "workaround")
SHEET_FIELDS = ("overall", "biggest_risk", "first_action", "hazard")
CHECKPOINT_QUESTIONS = (
    "What is the most critical card, and why?",
    "What must change in the next 30-60 minutes?",
    "Which cards have strict clocks or maintenance windows?",
    "Where is a contractor's or owner's confirmation missing?",
    "What is plan B, and whom do we call if things get worse?",
)
# A rule change on paper is one line; the roster's full difference is in `dispatch-desk audit`.
RULE_LINE_MAX = 200
Edits = Mapping[tuple[str, str], str]  # (target, field) -> text; target "sheet" or a card id


@dataclass(frozen=True)
class CardBrief:
    card_id: str
    number: str
    priority: str
    status: str
    what: str
    affected: str
    since: str
    next_step: str
    next_step_at: datetime | None
    assignee: str
    involved: str
    risks: str
    workaround: str
    next_deadline: str
    next_update: str
    escalation: str
    contingency: str
    owner: str
    critical: bool
    breached: bool
    breaching_soon: bool
    entered_late: bool


@dataclass(frozen=True)
class ClosedBrief:
    number: str
    priority: str
    what: str
    closed_at: str
    reaction: str
    recovery: str


@dataclass(frozen=True)
class Acceptance:
    """A settled handover: accepted with read-back, or overridden with a reason."""

    kind: str  # "accepted" or "overridden"
    shift_key: str
    outgoing: str
    incoming: str
    at: datetime
    read_back: tuple[str, ...]
    reason: str
    card_ids: tuple[str, ...]


@dataclass(frozen=True)
class HandoverSheet:
    site: str
    desk: str
    shift: ShiftWindow
    next_shift: ShiftWindow
    tz: ZoneInfo
    drafted_at: datetime
    outgoing_lead: str
    incoming_lead: str
    freshness: tuple[str, ...]
    headline: tuple[str, str, str]
    cards: tuple[CardBrief, ...]
    at_risk: tuple[str, ...]
    on_call_now: tuple[OnCallLine, ...] | None  # None: no rota data at this desk
    on_call_next: tuple[OnCallLine, ...] | None
    hazards: tuple[str, ...]
    closed: tuple[ClosedBrief, ...]
    questions: tuple[tuple[str, str], ...]
    acceptance: Acceptance | None
    untriaged: tuple[str, ...] = ()  # one line per pending tray item (also under hazards)
    maintenance: tuple[str, ...] = ()  # this and the next shift's maintenance windows
    #: "21:14 lead: roster imported ..." for each change of the rules since the shift began
    #: (app/services/audit.py `rule_changes`), oldest first; empty: none.
    rule_changes: tuple[str, ...] = ()

    @property
    def pending(self) -> bool:
        return self.acceptance is None

    @property
    def critical_numbers(self) -> tuple[str, ...]:
        return tuple(c.number for c in self.cards if c.critical)


def _one(text: object) -> str:
    return for_display(text)


def _many(text: object) -> str:
    return for_display(text, multiline=True)


def hm(moment: datetime | None, tz: ZoneInfo, now: datetime | None = None) -> str:
    """'21:40', or '24.11 08:15' when the day differs from `now`'s (a paper sheet has no
    context that says which night it is)."""
    if moment is None:
        return "-"
    local = moment.astimezone(tz)
    if now is not None and local.date() != now.astimezone(tz).date():
        return local.strftime("%d.%m %H:%M")
    return local.strftime("%H:%M")


def is_critical(risk: CardRisk) -> bool:
    """Cards the incoming lead must read back before accepting."""
    return risk.card.priority in CRITICAL_PRIORITIES


def _ahead(due: datetime | None, now: datetime, slack: timedelta = timedelta(minutes=15)
           ) -> datetime:
    # A contingency deadline already in the past tells the incoming shift nothing; give it
    # the next reachable point instead.
    return due if due is not None and due > now else now + slack


def _next_step(risk: CardRisk, rules: DispatchRules, now: datetime) -> tuple[str, datetime | None]:
    card, clocks = risk.card, risk.clocks
    update = clocks.update.due if clocks.update.running else None
    if card.status == RESTORED and card.restored_at:
        until = card.restored_at + rules.observation
        return "Confirm recovery with the reporter, then close", max(until, now)
    if card.status == WAITING_CONTRACTOR:
        return "Chase the contractor for an arrival time; send a status update", update
    if card.status == WAITING_CUSTOMER:
        return "Chase the customer; send a status update", update
    if risk.unacknowledged:
        due = clocks.reaction.due
        if due and due <= now:
            return "Reaction overdue: call the backup on-call person now", now
        return "Get an acknowledgement from the on-call person", due
    if update is not None:
        who = card.assignee or card.acknowledged_by or "the assignee"
        return f"Status update from {who}", update
    return "Check progress with the assignee", clocks.recovery.due


def _contingency(risk: CardRisk, rules: DispatchRules, tz: ZoneInfo, now: datetime) -> str:
    card, clocks = risk.card, risk.clocks
    if card.status == RESTORED and card.restored_at:
        until = hm(_ahead(card.restored_at + rules.observation, now), tz, now)
        return f"if the fault returns by {until} then set In progress and page the on-call again"
    if card.is_waiting:
        by = hm(_ahead(clocks.update.due, now, timedelta(minutes=30)), tz, now)
        return (f"if no answer by {by} then call the contractor's or customer's manager and "
                "note it on the card")
    if risk.unacknowledged:
        due = hm(_ahead(clocks.reaction.due, now), tz, now)
        return f"if no acknowledgement by {due} then call the backup and inform the shift lead"
    if clocks.recovery.running and clocks.recovery.due:
        by = hm(_ahead(clocks.recovery.due, now, timedelta(minutes=30)), tz, now)
        return f"if not restored by {by} then escalate to the service owner and record the breach"
    return "if things get worse then raise the priority and page the on-call person"


def _escalation(line: EscalationLine | None, tz: ZoneInfo, now: datetime) -> str:
    if line is None:
        return "no ladder data"
    text = f"tier {line.tier}/{line.tiers}: paged {_one(line.paged)}"
    if line.paged_at:
        text += f" at {hm(line.paged_at, tz, now)}"
    if line.acknowledged_by:
        return text + f"; acknowledged by {_one(line.acknowledged_by)}"
    if line.held:
        return text + f"; LADDER HELD ({line.held}); not acknowledged"
    if line.next_tier_at:
        word = "at" if line.next_tier_at > now else "was due"
        text += f"; next tier {word} {hm(line.next_tier_at, tz, now)}"
    return text + "; not acknowledged"


def _what(card: Card) -> str:
    return f"{card.symptom} ({card.location})" if card.location else card.symptom


def _assignee(card: Card) -> str:
    return card.assignee or card.acknowledged_by or "UNASSIGNED"


def _involved(card: Card) -> str:
    people = [card.get("reporter"), card.get("onsite_contact")]
    if card.status == WAITING_CONTRACTOR:
        people.append("contractor")
    return _one(", ".join(p for p in people if p) or "-")


def _deadline(risk: CardRisk, tz: ZoneInfo, now: datetime) -> str:
    clock = risk.nearest
    if clock is None or clock.due is None:
        return "no running clock"
    state = "BREACHED at" if clock.due <= now else "due"
    return f"{clock.name} {state} {hm(clock.due, tz, now)}"


def _brief(risk: CardRisk, rules: DispatchRules, tz: ZoneInfo, now: datetime,
           edits: Edits, owners: Mapping[str, str],
           escalations: Mapping[str, EscalationLine]) -> CardBrief:
    card = risk.card
    step, step_at = _next_step(risk, rules, now)

    def edited(field: str, default: str) -> str:
        return edits.get((card.id, field), default)

    update = risk.clocks.update
    return CardBrief(
        card_id=card.id,
        number=card.number,
        priority=_one(card.priority),
        status=_one(card.status_label),
        what=_one(_what(card)),
        affected=_many(card.get("affected_users") or card.get("impact_scope")
                       or card.get("q_what") or "-"),
        since=hm(card.registered_at, tz, now),
        next_step=_one(edited("next_step", step)),
        next_step_at=step_at,
        assignee=_one(_assignee(card)),
        involved=_involved(card),
        risks=_many(edited("risks", card.get("risk_signs") or "none recorded")),
        workaround=_many(edited("workaround", card.get("workaround") or card.get("q_workaround")
                                or "none")),
        next_deadline=_deadline(risk, tz, now),
        next_update=hm(update.due, tz, now) if update.running else "-",
        escalation=_escalation(escalations.get(card.id), tz, now),
        contingency=_one(edited("contingency", _contingency(risk, rules, tz, now))),
        owner=_one(owners.get(card.id, "outgoing shift")),
        critical=is_critical(risk),
        breached=risk.breached,
        breaching_soon=risk.breaching_soon,
        entered_late=card.entered_late,
    )


def _freshness(sync: SyncFacts | None, shift: ShiftWindow, tz: ZoneInfo,
               now: datetime) -> tuple[str, ...]:
    lines = [f"Data as of {now.astimezone(tz):%H:%M:%S %Z} from this desk's journal."]
    if sync is None:
        return (*lines, "Not synced: no central store data at this desk.")
    if sync.last_sync is None:
        lines.append("Never synced with the central store.")
    else:
        ago = minutes(now - sync.last_sync)
        lines.append(f"Last sync {hm(sync.last_sync, tz, now)} ({ago} ago).")
    outages = [(a, b) for a, b in sync.outages if (b or now) >= shift.start]
    if outages:
        total = sum(((b or now) - max(a, shift.start) for a, b in outages), timedelta(0))
        lines.append(f"Link outages this shift: {len(outages)}, {minutes(total)} in all.")
    else:
        lines.append("No link outages this shift.")
    return tuple(lines)


def _hazards(sync: SyncFacts | None, cards: Sequence[Card], shift: ShiftWindow, tz: ZoneInfo,
             now: datetime, edits: Edits) -> tuple[str, ...]:
    out: list[str] = []
    if sync is not None:
        for a, b in sync.outages:
            if b is None:
                out.append(f"Link to the store DOWN since {hm(a, tz, now)}.")
            elif b >= shift.start:
                out.append(f"Link outage {hm(a, tz, now)}-{hm(b, tz, now)} ({minutes(b - a)}).")
        out += [_one(h) for h in sync.hazards]
    late = [c.number for c in cards if c.entered_late and c.registered_at >= shift.start]
    if late:
        out.append("Entered late from paper: " + ", ".join(sorted(late)) + ".")
    if ("sheet", "hazard") in edits:
        out.append(_one(edits[("sheet", "hazard")]))
    return tuple(out) or ("None known.",)


def _questions(briefs: Sequence[CardBrief], risks: Sequence[CardRisk], on_call_now:
               Sequence[OnCallLine] | None, end: datetime, tz: ZoneInfo,
               now: datetime) -> tuple[tuple[str, str], ...]:
    top = briefs[0] if briefs else None
    first = (_one(f"{top.number} ({top.priority}): {risks[0].card.priority_reason}") if top
             else "No open cards.")
    soon = [b.number for b in briefs if b.next_step_at and b.next_step_at <= end + timedelta(
        minutes=60)]
    strict = [r.card.number for r in risks if r.nearest and r.nearest.due
              and r.nearest.due <= end + AT_RISK_HORIZON or r.card.get("kind_of_work")
              == "planned"]
    missing = [r.card.number for r in risks if r.card.is_waiting or r.card.status == RESTORED]
    leads = [_one(f"{o.name} {o.phone}".strip()) for o in on_call_now or () if "lead" in o.role]
    plan_b = "Each card's contingency below. " + (
        f"Shift lead on call: {', '.join(leads)}." if leads else "Call the on-call shift lead.")
    answers = (
        first,
        ", ".join(soon) or "Nothing due in that window.",
        ", ".join(strict) or "None.",
        ", ".join(missing) or "None.",
        plan_b,
    )
    return tuple(zip(CHECKPOINT_QUESTIONS, answers, strict=True))


def _rule_line(change: AuditItem, tz: ZoneInfo, now: datetime) -> str:
    text = _one(f"{hm(change.at, tz, now)} {change.who}: {change.what}")
    return text if len(text) <= RULE_LINE_MAX else text[:RULE_LINE_MAX - 3].rstrip() + "..."


def draft_sheet(
    *, site: str, desk: str, cards: Sequence[Card], rules: DispatchRules, shift: ShiftWindow,
    next_shift: ShiftWindow, now: datetime, outgoing_lead: str, incoming_lead: str = "",
    edits: Edits | None = None, owners: Mapping[str, str] | None = None,
    on_call: Sequence[OnCallLine] | None = None,
    escalations: Mapping[str, EscalationLine] | None = None,
    sync: SyncFacts | None = None, acceptance: Acceptance | None = None,
    intake: IntakeFacts | None = None, rule_changes: Sequence[AuditItem] = (),
) -> HandoverSheet:
    tz = shift.tz
    edits = edits or {}
    untriaged = untriaged_lines(intake, lambda t: hm(t, tz, now))
    maintenance = maintenance_lines(intake, shift, next_shift, lambda t: hm(t, tz, now))
    risks = by_risk(cards, rules, now)
    briefs = [_brief(r, rules, tz, now, edits, owners or {}, escalations or {}) for r in risks]
    at_risk = []
    for risk in risks:
        clock = risk.due_within(now, AT_RISK_HORIZON)
        if clock is not None and clock.due is not None:
            when = (f"BREACHED {minutes(now - clock.due)} ago" if clock.due <= now
                    else f"due {hm(clock.due, tz, now)} (in {minutes(clock.due - now)})")
            at_risk.append(_one(f"{risk.card.number} {risk.card.priority} {clock.name} {when}: "
                                f"{risk.card.symptom}"))
    counts = {p: sum(1 for r in risks if r.card.priority == p) for p in ("P1", "P2", "P3", "P4")}
    breached = sum(1 for r in risks if r.breached)
    unassigned = sum(1 for b in briefs if b.assignee == "UNASSIGNED")
    overall = (f"{len(risks)} open cards (" + ", ".join(f"{p} {n}" for p, n in counts.items())
               + f"); {breached} breached; {unassigned} unassigned.")
    if briefs:
        top = briefs[0]
        biggest = _one(f"{top.number} {top.priority} {top.what}: {top.next_deadline}.")
        first_do = _one(f"{top.number}: {top.next_step} by {hm(top.next_step_at, tz, now)}.")
    else:
        biggest, first_do = "No open cards.", "Read the hazards below."
    closed = [
        ClosedBrief(_one(c.number), _one(c.priority), _one(c.symptom), hm(c.closed_at, tz, now),
                    minutes(reaction_time(c)), minutes(recovery_time(c)))
        for c in sorted(cards, key=lambda c: c.closed_at or now)
        if c.closed_at and shift.start <= c.closed_at <= now
    ]
    on_now = None if on_call is None else tuple(o for o in on_call if not o.is_next)
    on_next = None if on_call is None else tuple(o for o in on_call if o.is_next)
    return HandoverSheet(
        site=_one(site),
        desk=_one(desk),
        shift=shift,
        next_shift=next_shift,
        tz=tz,
        drafted_at=now,
        outgoing_lead=_one(outgoing_lead),
        incoming_lead=_one(acceptance.incoming if acceptance else incoming_lead),
        freshness=_freshness(sync, shift, tz, now),
        headline=(
            _one(edits.get(("sheet", "overall"), overall)),
            _one(edits.get(("sheet", "biggest_risk"), biggest)),
            _one(edits.get(("sheet", "first_action"), first_do)),
        ),
        cards=tuple(briefs),
        at_risk=tuple(at_risk),
        on_call_now=on_now,
        on_call_next=on_next,
        hazards=_hazards(sync, cards, shift, tz, now, edits)
        + intake_hazards(intake, untriaged, maintenance),
        closed=tuple(closed),
        questions=with_windows(_questions(briefs, risks, on_now, shift.end, tz, now),
                                maintenance),
        acceptance=acceptance,
        untriaged=untriaged,
        maintenance=maintenance,
        rule_changes=tuple(_rule_line(c, tz, now) for c in rule_changes),
    )
