"""What the desk says out loud: the events a dispatcher must not miss, each said once.

A new P1, an emergency-line intake (an SMS or a call to the desk's number), the reaction clock
of a P1 or P2 running out, a clock breached, a ladder reaching its last tier and the link
going down are *notices*. Each has a key that names the event (the card and what happened
to it), so a notice is raised once however often the window looks; the window plays its
kind's sound, flashes the taskbar and keeps it in a stack the dispatcher clears, without
ever taking the keyboard (the pattern of radio logs: nothing steals focus).

`AlertWatch.scan` is pure apart from remembering which keys it has raised: the caller passes
the open cards, the ladder states, the tray and the link, and the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from app.errors import ConfigError
from app.services.cards.card import Card
from app.services.cards.queue import RED_FROM
from app.services.cards.rules import DispatchRules
from app.services.cards.sla import ClockState, clocks_for

#: Every kind of notice, in the order of how loud it is, with what the stack shows.
KINDS: dict[str, str] = {
    "p1": "New P1",
    "intake": "Emergency line",
    "breach": "SLA breached",
    "running_out": "Reaction running out",
    "last_tier": "Last tier of the ladder",
    "link_down": "Link down",
}
#: Never silenced: a P1 is always heard (DOMAIN.md: alerts that are heard).
ALWAYS_HEARD = frozenset({"p1"})
LOUD_PRIORITIES = ("P1", "P2")
_EMERGENCY_CHANNELS = ("sms", "call")


@dataclass(frozen=True)
class Notice:
    key: str  # names the event, so it is raised once
    kind: str  # one of KINDS
    text: str
    at: datetime
    card_id: str = ""
    number: str = ""
    loud: bool = True  # False: listed, not sounded (already there when the desk opened)


@dataclass(frozen=True)
class TrayLine:
    """What a notice needs of a tray item (the intake service's TrayItem has these)."""

    id: str
    channel: str
    summary: str
    callback: str = ""


def parse_silenced(text: str) -> frozenset[str]:
    """The `silence` setting: kinds whose sound is off, comma-separated. A P1 is refused."""
    kinds = {k.strip() for k in text.split(",") if k.strip()}
    if unknown := sorted(kinds - set(KINDS)):
        raise ConfigError(f"silence: unknown kind {unknown[0]!r}; use any of "
                          f"{', '.join(k for k in KINDS if k not in ALWAYS_HEARD)}",
                          field="silence")
    if kinds & ALWAYS_HEARD:
        raise ConfigError("silence: a new P1 is always heard; remove 'p1'", field="silence")
    return frozenset(kinds)


class AlertWatch:
    """Raises each notice once. What the first scan finds was there before the desk opened:
    it is listed, not sounded, so a desk restarted mid-incident does not sound every card."""

    def __init__(self, rules: DispatchRules) -> None:
        self.rules = rules
        self._raised: set[str] = set()
        self._primed = False

    def scan(self, cards: Iterable[Card], now: datetime, *,
             ladder_tiers: Iterable[tuple[str, str, int, int]] = (),
             tray: Iterable[TrayLine] = (), link_down_since: datetime | None = None,
             ) -> list[Notice]:
        """The notices not raised before. `ladder_tiers` are (card id, number, tier, of
        tiers) of running ladders; `tray` the pending intake items."""
        found = [*self._card_notices(cards, now), *self._ladder_notices(ladder_tiers, now),
                 *(self._intake(item, now) for item in tray
                   if item.channel in _EMERGENCY_CHANNELS)]
        if link_down_since is not None:
            found.append(Notice(f"link_down:{link_down_since.isoformat()}", "link_down",
                                "The link to the store is down: pages go out from this desk "
                                "only; phone what cannot wait", link_down_since))
        fresh = [n for n in found if n.key not in self._raised]
        self._raised.update(n.key for n in fresh)
        if not self._primed:
            self._primed = True
            fresh = [replace(n, loud=False) for n in fresh]
        return fresh

    def _card_notices(self, cards: Iterable[Card], now: datetime) -> Iterable[Notice]:
        for card in cards:
            if not card.is_open or card.priority not in LOUD_PRIORITIES:
                continue  # only P1s and P2s are said out loud: the rest is on the queue
            where = f"{card.number} {card.site}: {card.symptom}"
            if card.priority == "P1":
                yield Notice(f"p1:{card.id}", "p1", where, now, card.id, card.number)
            clocks = clocks_for(card, self.rules, now)
            for clock in clocks.all():
                if clock.state is ClockState.BREACHED and card.priority in LOUD_PRIORITIES:
                    yield Notice(f"breach:{card.id}:{clock.name}", "breach",
                                 f"{card.priority} {card.number}: {clock.name} clock breached",
                                 now, card.id, card.number)
            reaction = clocks.reaction
            used = reaction.used(now)
            if (card.priority in LOUD_PRIORITIES and reaction.state is ClockState.RUNNING
                    and used is not None and used >= RED_FROM):
                left = reaction.remaining(now)
                minutes = max(0, int(left.total_seconds() // 60)) if left else 0
                yield Notice(f"running_out:{card.id}", "running_out",
                             f"{card.priority} {card.number}: nobody has reacted; "
                             f"{minutes} min left", now, card.id, card.number)

    @staticmethod
    def _ladder_notices(tiers: Iterable[tuple[str, str, int, int]],
                        now: datetime) -> Iterable[Notice]:
        for card_id, number, tier, last in tiers:
            if tier >= last:
                yield Notice(f"last_tier:{card_id}", "last_tier",
                             f"{number}: the ladder is at its last tier ({tier} of {last}); "
                             "if nobody answers, phone them", now, card_id, number)

    @staticmethod
    def _intake(item: TrayLine, now: datetime) -> Notice:
        how = "Call" if item.channel == "call" else "SMS"
        who = f" from {item.callback}" if item.callback else ""
        return Notice(f"intake:{item.id}", "intake",
                      f"{how} to the emergency line{who}: {item.summary}", now)


def loudest(notices: Sequence[Notice]) -> Notice | None:
    """The notice whose sound plays when several arrive at once."""
    order = list(KINDS)
    return min(notices, key=lambda n: order.index(n.kind)) if notices else None
