"""No internet at all: when the ladder cannot page, the desk itself must make the dispatcher phone.

The ladder records every failed send as a ``ladder.page_failed`` entry. A failure with no HTTP
status is one where the provider never answered (a timeout, a refused connection, no DNS):
that is the desk's link, not Twilio refusing one number. When every channel of a card's
current step failed that way -- or the desk has no pager at all -- nobody will be paged, so an
``OfflineAlarm`` tells the dispatcher whom to phone now, with both numbers from the roster.

The channels the ladder still means to send when the link returns are the "queued" pages. The
dispatcher can cancel them (for example after reaching the person by phone), and a page older
than the ladder's ``sms_validity`` expires instead of going out late: both write a
``ladder.page_cancelled`` entry, which the ladder reads as "settled, do not send".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.clock import Clock
from app.errors import NotFoundError
from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.models.projection import CLOSED
from app.services.escalation.ladder import Ladder
from app.services.escalation.state import LadderState, derive, step_id
from app.services.roster import Roster

CANCELLED = "cancelled by the dispatcher"
EXPIRED = "expired: older than the ladder's SMS validity, not sent late"
PAGER_MISSING = "this desk has no pager (no Twilio credentials)"


@dataclass(frozen=True)
class OfflineAlarm:
    """Phone this person now: the ladder cannot reach them."""

    card_id: str
    number: str
    tier: int
    who: str
    primary_phone: str | None
    backup_phone: str | None
    since: datetime
    reason: str

    def text(self) -> str:
        phones = " · ".join(f"{label} {n}" for label, n in (
            ("primary", self.primary_phone), ("backup", self.backup_phone)) if n)
        return (f"NO INTERNET - paging is impossible. Phone {self.who} now for card "
                f"{self.number} (tier {self.tier}): {phones or 'no number in the roster'}")


@dataclass(frozen=True)
class QueuedPage:
    """One channel of a fired step that the ladder will still send when the link returns."""

    card_id: str
    number: str
    tier: int
    attempt: int
    channel: str
    to: str
    fired_at: datetime
    expires_at: datetime


def is_link_failure(entry: Entry) -> bool:
    """A failed send the provider never answered: the desk's link is down, not Twilio."""
    p = entry.payload
    return (entry.kind == "ladder.page_failed" and p.get("status") is None
            and not p.get("in_doubt"))


def offline_alarm(state: LadderState, entries: Iterable[Entry], roster: Roster, *,
                  pager_missing: bool = False) -> OfflineAlarm | None:
    """The alarm for one card, or None while its ladder can still page (or is stopped)."""
    step = state.last
    if state.stopped is not None or step is None:
        return None
    ordered = sorted(entries, key=lambda e: (e.hlc, e.id))
    # Since the first link failure after the last page that did go out: a card cascading
    # through its tiers offline keeps one "since", the moment the link was lost for it.
    since: datetime | None = None
    failed: set[str] = set()
    cancelled: set[str] = set()  # cancelling a page does not reach the person: keep alarming
    for e in ordered:
        this_step = (e.payload.get("tier"), e.payload.get("attempt")) == (step.tier, step.attempt)
        if e.kind == "ladder.page":
            since = None
        elif is_link_failure(e):
            since = since or e.at
            if this_step:
                failed.add(str(e.payload.get("channel")))
        elif e.kind == "ladder.page_cancelled" and this_step:
            cancelled.add(str(e.payload.get("channel")))
    channels = {name for name, c in step.channels.items()
                if c.to and (c.skipped is None or name in cancelled)}
    if pager_missing:
        reason = PAGER_MISSING
        since = since or step.fired_at
    elif step.sent or not channels or not channels <= failed or since is None:
        return None
    else:
        reason = "every page of this step failed: the provider cannot be reached"
    person = roster.contact(step.contact_id) if step.contact_id else None
    return OfflineAlarm(
        state.card_id, state.number, step.tier, step.who or "the on-call person",
        person.primary_phone if person else next(
            (c.to for c in step.channels.values() if c.to), None),
        person.backup_phone if person else None, since, reason)


def queued_pages(state: LadderState, ladder: Ladder) -> list[QueuedPage]:
    """The channels of the card's current step still waiting to be sent."""
    step = state.last
    if state.stopped is not None or step is None or step.unreachable_at is not None:
        return []
    end = state.step_end(ladder, step)
    out = []
    for c in step.channels.values():
        if c.to is None or c.pending_at(step.due, end, ladder.max_tries, step.fired_at) is None:
            continue
        out.append(QueuedPage(state.card_id, state.number, step.tier, step.attempt, c.channel,
                              c.to, step.fired_at, step.fired_at + ladder.sms_validity))
    return out


def cancel_entries(pages: Iterable[QueuedPage], reason: str) -> list[NewEntry]:
    """One ``ladder.page_cancelled`` per page; the id is a fact, so cancelling twice is once."""
    return [NewEntry(p.card_id, "ladder.page_cancelled", {
        "tier": p.tier, "attempt": p.attempt, "channel": p.channel, "to": p.to,
        "reason": reason}, id=step_id(p.card_id, p.tier, p.attempt, p.channel, "cancelled"))
        for p in pages]


class OfflinePaging:
    """The desk's view of paging with no link: alarms, queued pages, cancel and expiry."""

    def __init__(self, journal: Journal, ladder: Ladder, roster: Callable[[], Roster],
                 clock: Clock) -> None:
        self.journal, self.ladder, self._roster, self.clock = journal, ladder, roster, clock

    def running(self, card_ids: Iterable[str] | None = None
                ) -> dict[str, tuple[LadderState, list[Entry]]]:
        """The ladders still running, by card id: of every open card, or only of `card_ids`
        (a change names the cards it touched; only theirs can have moved)."""
        if card_ids is None:
            cards = self.journal.cards(open_only=True)
        else:
            cards = []
            for card_id in card_ids:
                try:
                    cards.append(self.journal.card(card_id))
                except NotFoundError:
                    continue  # not a card (a handover entry), or not here yet
        out = {}
        for card in cards:
            if card.get("acknowledged_at") or card.get("status") == CLOSED:
                continue  # an acknowledgement stopped its ladder: nothing to phone about
            entries = self.journal.entries(card["id"])
            state = derive(card, entries, self.ladder)
            if state.running:
                out[card["id"]] = (state, entries)
        return out

    def _running(self) -> list[tuple[LadderState, list[Entry]]]:
        return list(self.running().values())

    def alarms(self, *, pager_missing: bool = False,
               running: Iterable[tuple[LadderState, list[Entry]]] | None = None
               ) -> list[OfflineAlarm]:
        roster = self._roster()
        found = (offline_alarm(s, entries, roster, pager_missing=pager_missing)
                 for s, entries in (self._running() if running is None else running))
        return sorted((a for a in found if a is not None), key=lambda a: a.since)

    def queued(self, running: Iterable[tuple[LadderState, list[Entry]]] | None = None
               ) -> list[QueuedPage]:
        source = self._running() if running is None else running
        return [p for s, _ in source for p in queued_pages(s, self.ladder)]

    def cancel(self, number: str, operator: str) -> int:
        """Cancel a card's queued pages (the dispatcher phones instead); returns how many."""
        try:
            card = self.journal.card_by_number(number)
        except NotFoundError:
            raise NotFoundError(f"no card {number!r}; check the number", field="number") from None
        pages = [p for p in self.queued() if p.card_id == card["id"]]
        return len(self.journal.write(cancel_entries(pages, CANCELLED), operator))

    def expire(self, operator: str = "ladder",
               queued: Sequence[QueuedPage] | None = None) -> int:
        """Cancel every queued page older than the SMS validity; returns how many."""
        now = self.clock.now()
        stale = [p for p in (self.queued() if queued is None else queued)
                 if p.expires_at <= now]
        return len(self.journal.write(cancel_entries(stale, EXPIRED), operator)) if stale else 0
