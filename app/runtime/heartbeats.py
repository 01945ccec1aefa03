"""Heartbeat monitors: an integration of kind "heartbeat" that must check in every N minutes.

A cron job, a backup script or a UPS daemon posts a beat (`POST /v1/intake/heartbeat/{key}`,
or with `Authorization: Bearer KEY`) to whichever door it is given: the store's, or the desk's
own (app/runtime/intake_door.py). No beat for `every_min` minutes is a *miss*: one intake item
on channel "heartbeat" (the intake rules may make it a card). The next beat is *alive again*:
an ``intake.repeated`` with status resolved on that item.

**Who raises a miss.** The door that received the monitor's beats, and only it: a monitor is
armed by its first beat at a door (as healthchecks.io leaves a new check "new" until its first
ping), so a monitor pointed at the store is never "missed" by a desk's door that never heard
of it, and the other way round. The store raises the misses of monitors that beat at the store
(the natural place when desks are enrolled: it runs whether or not a desk is open); a desk's
door raises those that beat at it (the LAN monitoring that must work with the WAN gone).

**Exactly once per miss.** The store claims a miss with a conditional update of the
monitor's row in the transaction that stores the item (app/store/heartbeat_routes.py),
so any number of store processes raise it once. A desk notes the raise in its journal's own
meta (never synced) after the item is written: a crash in between raises it again, which the
tray counts on the open item (one dedup key per monitor) rather than as a second item: a
duplicate is better than a missing alarm (DESIGN.md principle 7). The alive-again entry the
store writes has an id made from the miss, so it too is stored once.

This module is pure (times come in as arguments) apart from `DeskBeats`, which keeps a desk
door's beat times in the journal's meta; the store keeps its own in the `heartbeats` table.
It imports nothing of `app.services`, so the store (which must not) shares its rules.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from app.clock import Clock
from app.models.entry import fact_id
from app.protocol.intake import FIRING, RESOLVED, Alert, derive_key

HEARTBEAT = "heartbeat"  # the integration kind, the channel and the URL's kind, all one word
#: How often a running door looks for misses (seconds): a miss is seen at most this late.
CHECK_EVERY_S = 15.0
_META_PREFIX = "heartbeat:"


@dataclass(frozen=True)
class Monitor:
    """A heartbeat integration as the journal knows it (`integration.added`)."""

    name: str
    every_min: int
    site: str = ""
    category: str = ""
    kind_of_work: str = ""

    @property
    def period(self) -> timedelta:
        return timedelta(minutes=self.every_min)


@dataclass(frozen=True)
class Beats:
    """One monitor's state at one door."""

    last: datetime | None = None  # the last beat; None: never beaten at this door (not armed)
    raised: datetime | None = None  # the `last` whose miss was raised; cleared by the next beat

    def overdue(self, monitor: Monitor, now: datetime) -> bool:
        """A miss to raise now: armed, more than every_min since the last beat, not raised."""
        return (self.last is not None and self.raised != self.last
                and now - self.last > monitor.period)

    @property
    def missing(self) -> bool:
        """A miss was raised and no beat has come since."""
        return self.raised is not None and self.raised == self.last


def dedup_key(name: str) -> str:
    """One key per monitor: a miss repeated (a desk that crashed mid-raise) folds into the
    open item, and the store's and a desk's miss of the same monitor are one item."""
    return derive_key(name, HEARTBEAT)


def alive_entry_id(name: str, last: datetime) -> str:
    """The store's alive-again entry for the miss that followed the beat at `last`."""
    return fact_id(f"heartbeat.alive.entry:{name}:{last.isoformat()}")


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def missed_alert(monitor: Monitor, last: datetime, now: datetime) -> Alert:
    """The intake a miss becomes: a symptom ("no heartbeat since"), not a guess at the cause.
    Its text and `started_at` depend only on the monitor and its last beat, so the store's
    replay check (`occurrence_key`) sees a miss raised twice as one occurrence."""
    due = last + monitor.period
    return Alert(
        integration=monitor.name, channel=HEARTBEAT, dedup_key=dedup_key(monitor.name),
        summary=f"{monitor.name}: no heartbeat since {last:%Y-%m-%d %H:%M} UTC "
                f"(expected every {monitor.every_min} min)",
        received_at=now, status=FIRING,
        details=f"last heartbeat {last.isoformat(timespec='seconds')}; due by "
                f"{due.isoformat(timespec='seconds')}",
        source=monitor.name, metric=HEARTBEAT, site=monitor.site, category=monitor.category,
        kind_of_work=monitor.kind_of_work, fields={"started_at": due.isoformat()},
    )


def alive_alert(monitor: Monitor, raised: datetime, now: datetime) -> Alert:
    """The next beat after a miss: the same item, resolved ("alive again")."""
    return Alert(
        integration=monitor.name, channel=HEARTBEAT, dedup_key=dedup_key(monitor.name),
        summary=f"{monitor.name}: alive again (silent {_minutes(now - raised)})",
        received_at=now, status=RESOLVED,
        details=f"heartbeat at {now.isoformat(timespec='seconds')} after the last one at "
                f"{raised.isoformat(timespec='seconds')}",
        source=monitor.name, metric=HEARTBEAT, site=monitor.site, category=monitor.category,
    )


class _Integration(Protocol):
    """What a heartbeat needs of an integration (the desk's and the store's records both)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def every_min(self) -> int | None: ...
    @property
    def site(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def kind_of_work(self) -> str: ...


def monitor_of(integration: _Integration) -> Monitor | None:
    """The monitor a heartbeat integration describes; None for any other, or one without
    `every_min` (it could never be missed)."""
    every = integration.every_min
    if integration.kind != HEARTBEAT or not isinstance(every, int) or every <= 0:
        return None
    return Monitor(integration.name, every, integration.site, integration.category,
                   integration.kind_of_work)


def monitors_from(integrations: Iterable[_Integration]) -> dict[str, Monitor]:
    """The heartbeat monitors among live integrations, by name."""
    return {m.name: m for m in map(monitor_of, integrations) if m is not None}


# -- a desk door's beats -------------------------------------------------------------------


class Meta(Protocol):
    """The journal's local key/value store (desk_meta: never synced)."""

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class DeskBeats:
    """The beats a desk's own door received, in the journal's meta, and the misses they owe.

    `receive` writes alerts to the journal (`IntakeService.receive`, bound to an operator): a
    miss and an alive-again go through the same door as every other alert, so the rules, the
    maintenance windows and the tray treat them alike. One lock: the door's request threads
    and its check loop never raise the same miss twice in one process.
    """

    def __init__(self, meta: Meta, receive: Callable[[Sequence[Alert]], object],
                 monitors: Callable[[], Mapping[str, Monitor]], clock: Clock) -> None:
        self._meta, self._receive, self._monitors, self._clock = meta, receive, monitors, clock
        self._lock = threading.Lock()

    def state(self, name: str) -> Beats:
        raw = self._meta.get_meta(_META_PREFIX + name)
        data = json.loads(raw) if raw else {}
        return Beats(_time(data.get("last")), _time(data.get("raised")))

    def _save(self, name: str, beats: Beats) -> None:
        value = {"last": beats.last.isoformat() if beats.last else None,
                 "raised": beats.raised.isoformat() if beats.raised else None}
        self._meta.set_meta(_META_PREFIX + name, json.dumps(value, sort_keys=True))

    def beat(self, monitor: Monitor) -> bool:
        """Record a beat; True when it ended a miss (an alive-again was written)."""
        with self._lock:
            now = self._clock.now()
            before = self.state(monitor.name)
            if before.missing and before.raised is not None:
                self._receive([alive_alert(monitor, before.raised, now)])
            self._save(monitor.name, Beats(now, None))
            return before.missing

    def check(self) -> list[str]:
        """Raise every miss that is due; the monitors' names (each at most once per miss)."""
        raised: list[str] = []
        with self._lock:
            now = self._clock.now()
            for name, monitor in sorted(self._monitors().items()):
                beats = self.state(name)
                if beats.overdue(monitor, now) and beats.last is not None:
                    self._receive([missed_alert(monitor, beats.last, now)])
                    self._save(name, Beats(beats.last, beats.last))
                    raised.append(name)
        return raised
