"""The live facts the handover sheet, the break-glass packet and the wallboard show, taken from
the rota and the sync status (the sheets take plain `desk_facts` lines so they can be drawn
without either; this is where a running desk fills them in)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from app.models.journal import Journal
from app.services.audit import RULE_CARDS, AuditItem, rule_changes, trail_entries
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules
from app.services.handover.breakglass import BreakGlassPacket, build_packet
from app.services.handover.facts import ContactLine, DeskLink, OnCallLine, SyncFacts
from app.services.handover.shifts import ShiftPlan
from app.services.roster import Roster
from app.sync.protocol import DeskSeen
from app.sync.status import SyncStatus


def on_call_lines(roster: Roster, now: datetime) -> list[OnCallLine]:
    """Who holds each (group, role) now and who is next, in the roster's order."""
    lines: list[OnCallLine] = []
    for group, role in roster.slots():
        current, following = roster.on_call_now_and_next(group, role, now)
        if current is not None:
            c = current.contact
            lines.append(OnCallLine(group, role, c.name, c.primary_phone, c.backup_phone or "",
                                    until=current.end))
        if following is not None:
            c = following.contact
            lines.append(OnCallLine(group, role, c.name, c.primary_phone, c.backup_phone or "",
                                    starts=following.start, is_next=True))
    return lines


def contact_lines(roster: Roster) -> list[ContactLine]:
    """The contact tree for the break-glass packet: every person with both numbers."""
    return [
        ContactLine(c.name, c.role, c.primary_phone, c.backup_phone or "",
                    c.responsibilities)
        for c in sorted(roster.contacts, key=lambda c: (c.role, c.name))
    ]


def sync_facts(status: SyncStatus | None, outages: list[tuple[datetime, datetime | None]],
               desks: Sequence[DeskSeen] = ()) -> SyncFacts | None:
    """Freshness for the sheets, with every desk's last heartbeat at the store; None when
    this desk is not enrolled (local only)."""
    if status is None or not status.enrolled:
        return None
    hazards = []
    if status.clock_skew:
        hazards.append("desk clock disagrees with the store: pushes refused")
    if status.clock_off and status.clock_offset_s is not None:
        hazards.append(f"DESK CLOCK OFF by {abs(status.clock_offset_s):.0f} s from the store: "
                       "set the time (NTP); deadlines on this desk are wrong meanwhile")
    if status.refused_open:
        hazards.append(f"{status.refused_open} entries refused by the store, listed in "
                       "dispatch-desk journal quarantine")
    elif status.refused:
        hazards.append(f"store refused entries: {status.refused}")
    if status.set_aside:
        hazards.append(f"{status.set_aside} entries from other desks set aside (unreadable "
                       "here): dispatch-desk journal quarantine")
    alerts = []
    if status.clock_off and status.clock_offset_s is not None:
        alerts.append(f"CLOCK OFF {abs(status.clock_offset_s):.0f} s")
    if status.refused_open:
        alerts.append(f"{status.refused_open} REFUSED")
    if status.set_aside:
        alerts.append(f"{status.set_aside} SET ASIDE")
    links = tuple(DeskLink(d.desk_code or d.name, d.last_seen, d.desk_id) for d in desks)
    return SyncFacts(status.last_sync, tuple(outages), desks=links, hazards=tuple(hazards),
                     alerts=tuple(alerts))


#: desk_meta key holding the last link outages (JSON [[from, until or null], ...]).
OUTAGES_KEY = "sync.outages"
KEEP_OUTAGES = 50


class OutageLog:
    """Link outages as the desk saw them (from the sync status changes), for the handover's
    "link outages this shift" and the break-glass trigger. Kept in the journal's meta, so the
    handover printed by another process (or after a restart) still reports them."""

    def __init__(self, journal: Journal | None = None) -> None:
        self._journal = journal
        self.outages: list[tuple[datetime, datetime | None]] = load_outages(journal)

    def observe(self, status: SyncStatus) -> None:
        if not status.enrolled or status.since is None:
            return
        ongoing = bool(self.outages) and self.outages[-1][1] is None
        if not status.online and not ongoing:
            self.outages.append((status.since, None))
        elif status.online and ongoing:
            self.outages[-1] = (self.outages[-1][0], status.since)
        else:
            return
        del self.outages[:-KEEP_OUTAGES]
        if self._journal is not None:
            self._journal.set_meta(OUTAGES_KEY, json.dumps(
                [[a.isoformat(), b.isoformat() if b else None] for a, b in self.outages]))


def load_outages(journal: Journal | None) -> list[tuple[datetime, datetime | None]]:
    raw = journal.get_meta(OUTAGES_KEY) if journal is not None else None
    try:
        return [(datetime.fromisoformat(a), datetime.fromisoformat(b) if b else None)
                for a, b in json.loads(raw or "[]")]
    except (ValueError, TypeError):  # written by hand or by a bug: start a new log
        return []


def shift_rule_changes(journal: Journal, start: datetime, end: datetime) -> list[AuditItem]:
    """The changes of the rules in [start, end) for the handover sheet: the entries of the
    rules' pseudo cards only (not the sign-ins), listed by the audit trail's own function."""
    return rule_changes(trail_entries(journal, RULE_CARDS), start, end)


def desk_packet(plan: ShiftPlan, desk_code: str, cards: Sequence[Card], rules: DispatchRules,
                roster: Roster, now: datetime, reason: str = "on demand",
                blank_cards: int | None = None) -> BreakGlassPacket:
    """The break-glass packet with this desk's rota and contact tree filled in."""
    on_call = on_call_lines(roster, now) if roster.contacts else None
    contacts = contact_lines(roster) if roster.contacts else None
    return build_packet(plan=plan, desk=desk_code, cards=cards, rules=rules, now=now,
                        reason=reason, on_call=on_call, contacts=contacts,
                        blank_cards=blank_cards)
