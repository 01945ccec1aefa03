"""What the wallboard shows, as plain immutable data (no Qt): built from the cards, the
clock and the optional facts, compared with the last one so the board repaints only when
something a person can see has changed.

Risk first, not volume: unacknowledged cards and those breaching soon relative to their own
SLA lead the board; counts are secondary. Times are minute-grained on purpose: a countdown
that changes every second draws the eye from across the room for no reason, and costs a
repaint per second.

Nothing old is shown as current. A ladder run by another desk is only as fresh as that desk's
last contact with the store: when that is older than the takeover limit (`ladder_runner`, 2
minutes) its line says "ladder on desk B — STALE, as of 09:11" instead of a plan, and a next
tier whose time has passed is said as past ("was due 09:13"), never as what comes next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from app.protocol.text import for_display
from app.services.cards.card import Card
from app.services.cards.rules import PRIORITIES, DispatchRules
from app.services.escalation.runner import ladder_runner
from app.services.handover.facts import (
    STALE_AFTER,
    DeskLink,
    EscalationLine,
    OnCallLine,
    SyncFacts,
)
from app.services.handover.service import HandoverStatus
from app.services.handover.sheet import hm
from app.services.intake import TrayItem
from app.services.intake.maintenance import Window
from app.services.measures.metrics import by_risk, day_metrics, minutes
from app.services.measures.reviews import Review, overdue_reviews
from app.services.roster.verification import UNVERIFIED_MARK

MAX_ROWS = 12


@dataclass(frozen=True)
class RiskRow:
    number: str
    priority: str
    what: str
    state: str  # "breached", "soon", "unacknowledged"
    text: str


@dataclass(frozen=True)
class DeskRow:
    desk: str
    text: str
    stale: bool


@dataclass(frozen=True)
class LadderRow:
    text: str
    #: Run by a desk gone dark: its last known state, "as of" its last contact.
    stale: bool = False


@dataclass(frozen=True)
class BoardView:
    as_of: str  # "02:14:07": when the data shown was last known good
    stale: bool
    stale_reason: str
    rows: tuple[RiskRow, ...]
    more: int  # risk rows that did not fit
    escalations: tuple[LadderRow, ...] | None  # None: no ladder data at this desk
    counts: tuple[tuple[str, int], ...]
    unassigned: str
    compliance: tuple[tuple[str, str], ...]
    reaction: str
    on_call_now: tuple[str, ...] | None
    on_call_next: tuple[str, ...] | None
    handover: str
    handover_pending: bool
    desks: tuple[DeskRow, ...]
    #: Sync hazards in a few words (desk clock off, entries refused or set aside).
    alerts: tuple[str, ...] = ()
    #: The triage tray and the maintenance windows on now, in one line for text front ends:
    #: "3 · oldest 12 min · maintenance: core switch until 03:00".
    tray: str = "-"
    tray_waiting: bool = False
    #: The same two apart, as the board draws them: "3 · oldest 12 min" ("0" when empty, "-"
    #: when it cannot be read) and "maintenance: core switch until 03:00" ("" for none).
    tray_count: str = "-"
    maintenance: str = ""
    #: Post-incident reviews overdue (measures/reviews.py); '' when there are none.
    reviews_overdue: str = ""


def _short(delta: timedelta) -> str:
    """'4m', '1h05': for tiles where 'min' does not fit at five-metre size."""
    total = int(delta.total_seconds() // 60)
    return f"{total}m" if total < 60 else f"{total // 60}h{total % 60:02d}"


def _risk_rows(cards: Sequence[Card], rules: DispatchRules, now: datetime
               ) -> list[RiskRow]:
    rows = []
    for risk in by_risk(cards, rules, now):
        card, clock = risk.card, risk.nearest
        if risk.breached and clock and clock.due:
            state, text = "breached", f"BREACHED +{minutes(now - clock.due)}"
        elif risk.breaching_soon and clock and clock.due:
            share = int(100 * (risk.used or 0))
            state, text = "soon", f"{clock.name} due in {minutes(clock.due - now)} ({share}%)"
        elif risk.unacknowledged:
            state = "unacknowledged"
            text = f"no ack · {minutes(now - card.registered_at)}"
        else:
            continue
        rows.append(RiskRow(card.number, card.priority, card.symptom, state, text))
    return rows


@dataclass(frozen=True)
class LadderDesks:
    """Who runs each ladder, for judging whether what this desk knows of it is current."""

    me: str  # this desk's id
    owners: Mapping[str, str]  # card id -> the desk id that runs its ladder


def _ladder_row(line: EscalationLine, number: str, desks: LadderDesks | None,
                links: Mapping[str, DeskLink], tz: ZoneInfo, now: datetime) -> LadderRow:
    head = f"{number} tier {line.tier}/{line.tiers}: paged {line.paged}"
    owner = desks.owners.get(line.card_id, "") if desks else ""
    beats = {desk_id: link.last_seen for desk_id, link in links.items() if link.last_seen}
    if desks and owner and ladder_runner(owner, desks.me, beats, now) != owner:
        # The desk running it has been silent past the takeover limit: where its ladder
        # really is (a tier or two further, acknowledged) is not known here.
        link = links.get(owner)
        seen = link.last_seen if link else None
        as_of = f"as of {hm(seen, tz, now)}" if seen else "never heard from"
        return LadderRow(f"{head} · ladder on desk {link.desk if link else owner[:8]} "
                         f"— STALE, {as_of}", True)
    if line.held:
        return LadderRow(f"{head} · LADDER HELD ({line.held})")
    due = line.next_tier_at
    nxt = "" if due is None else (f", next tier {hm(due, tz, now)}" if due > now
                                  else f", next tier was due {hm(due, tz, now)}")
    return LadderRow(head + nxt)


def _escalations(lines: Mapping[str, EscalationLine] | None, numbers: Mapping[str, str],
                 desks: LadderDesks | None, sync: SyncFacts | None, tz: ZoneInfo,
                 now: datetime) -> tuple[LadderRow, ...] | None:
    if lines is None:
        return None
    links = {d.desk_id: d for d in (sync.desks if sync else ()) if d.desk_id}
    return tuple(_ladder_row(line, numbers.get(line.card_id, "?"), desks, links, tz, now)
                 for line in lines.values() if line.in_flight)


def _on_call(lines: Sequence[OnCallLine] | None, nxt: bool, tz: ZoneInfo, now: datetime
             ) -> tuple[str, ...] | None:
    if lines is None:
        return None
    picked = [o for o in lines if o.is_next == nxt]
    return tuple(
        f"{o.group} {o.role}: {o.name} {o.phone}".rstrip()
        + (f" from {hm(o.starts, tz, now)}" if nxt and o.starts else "")
        + (f" {UNVERIFIED_MARK}" if o.unverified else "")
        for o in picked)


def _handover(status: HandoverStatus | None, tz: ZoneInfo, now: datetime) -> tuple[str, bool]:
    if status is None:
        return "no shift plan", False
    end = hm(status.shift.end, tz, now)
    if status.state == "pending":
        return f"handover {end} PENDING", True
    if status.state == "overdue":
        return f"handover {end} NOT ACCEPTED", True
    if status.acceptance is not None:
        who = status.acceptance.incoming or "incoming shift"
        return f"handover {end} {status.state} by {who} {hm(status.acceptance.at, tz, now)}", False
    return f"next handover {hm(status.shift.end, tz, now)}", False


def maintenance_now(windows: Sequence[Window], now: datetime, tz: tzinfo) -> str:
    """The windows on now (" · maintenance: core switch until 03:00 (+1 more)"), whose alerts
    collect in the tray and page nobody; empty when none is."""
    on = [(w, span) for w in windows if (span := w.occurrence_at(now)) is not None]
    if not on:
        return ""
    (first, (_, ends)), more = on[0], len(on) - 1
    until = ends.astimezone(tz).strftime("%H:%M")
    return f" · maintenance: {first.name} until {until}" + (f" (+{more} more)" if more else "")


def build_view(
    *, cards: Sequence[Card], rules: DispatchRules, now: datetime, loaded_at: datetime,
    handover: HandoverStatus | None = None, sync: SyncFacts | None = None,
    on_call: Sequence[OnCallLine] | None = None,
    escalations: Mapping[str, EscalationLine] | None = None,
    ladder_desks: LadderDesks | None = None,
    tray: Sequence[TrayItem] | None = None,
    reviews: Iterable[tuple[Card, Review | None]] = (),
    windows: Sequence[Window] = (),
) -> BoardView:
    tz = rules.tz
    metrics = day_metrics(cards, rules, now, tz)
    rows = _risk_rows(cards, rules, now)
    as_of = loaded_at if sync is None or sync.last_sync is None else min(loaded_at,
                                                                         sync.last_sync)
    stale_reason = ""
    if now - loaded_at > STALE_AFTER:
        stale_reason = "the journal could not be read"
    elif sync is not None and (sync.last_sync is None or now - sync.last_sync > STALE_AFTER):
        stale_reason = "no sync with the store"
    desks = tuple(
        DeskRow(d.desk, "STALE " + (_short(now - d.last_seen) if d.last_seen else "never")
                if d.stale(now) else "ok", d.stale(now))
        for d in (sync.desks if sync else ()))
    compliance = tuple(
        (p, f"{int(100 * share)}%" if (share := metrics.compliance[p].share) is not None
         else "-") for p in PRIORITIES)
    text, pending = _handover(handover, tz, now)
    oldest = metrics.oldest_unassigned
    tray_count = ("-" if tray is None else (
        f"{len(tray)} · oldest {minutes(now - min(i.received_at for i in tray))}"
        if tray else "0"))
    maintenance = maintenance_now(windows, now, tz)
    return BoardView(
        as_of=as_of.astimezone(tz).strftime("%H:%M:%S"),
        stale=bool(stale_reason),
        stale_reason=stale_reason,
        rows=tuple(rows[:MAX_ROWS]),
        more=max(0, len(rows) - MAX_ROWS),
        escalations=_escalations(escalations, {c.id: c.number for c in cards}, ladder_desks,
                                 sync, tz, now),
        counts=tuple(metrics.open_by_priority.items()),
        unassigned=(f"{len(metrics.unassigned)} · oldest {minutes(oldest)}" if oldest is not None
                    else "0"),
        compliance=compliance,
        reaction=f"median {minutes(metrics.reaction_median)} · p90 "
                 f"{minutes(metrics.reaction_p90)}",
        on_call_now=_on_call(on_call, False, tz, now),
        on_call_next=_on_call(on_call, True, tz, now),
        handover=text,
        handover_pending=pending,
        desks=desks,
        alerts=tuple(for_display(a) for a in (sync.alerts if sync else ())),
        tray=tray_count + maintenance,
        tray_waiting=bool(tray),
        tray_count=tray_count,
        maintenance=maintenance.removeprefix(" · "),
        reviews_overdue=_reviews(overdue_reviews(reviews, now)),
    )


def _reviews(late: Sequence[Card]) -> str:
    """'2 · A-0004, A-0009': post-incident reviews overdue ('' for none: no tile)."""
    if not late:
        return ""
    shown = ", ".join(c.number for c in late[:3])
    return f"{len(late)} · {shown}" + (", ..." if len(late) > 3 else "")

