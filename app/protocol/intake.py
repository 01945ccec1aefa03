"""The one door in: what every channel's notification becomes before it reaches a journal.

Monitoring webhooks (generic, Alertmanager, Grafana), a mailbox, the emergency phone line and
missed heartbeats all arrive in different shapes; each door turns its input into `Alert`s and
nothing else, so the rules, de-duplication, the triage tray and the store see one shape. An
`Alert` becomes an ``intake.received`` entry (a new item in the tray) or, when an item or card
with its `dedup_key` is open, an ``intake.repeated`` entry on that item. The payload shapes
are in `app.protocol.catalogue` (INTAKE_PAYLOADS); this module is pure and shared by desks and
the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.protocol.catalogue import ALERT_STATUSES, INTAKE_CHANNELS

FIRING, RESOLVED = ALERT_STATUSES


@dataclass(frozen=True)
class Alert:
    """One notification from one channel, before rules and de-duplication."""

    integration: str  # the integration's name (its key names it)
    channel: str  # one of INTAKE_CHANNELS
    dedup_key: str  # given by the sender, or `derive_key` of its identity
    summary: str
    received_at: datetime
    status: str = FIRING
    details: str = ""
    source: str = ""
    node: str = ""
    metric: str = ""
    severity: str = ""
    site: str = ""
    category: str = ""
    kind_of_work: str = ""
    callback: str = ""  # a phone number to call back (SMS, call) or a reply address (email)
    links: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)  # intake form fields to pre-fill

    def __post_init__(self) -> None:
        if self.channel not in INTAKE_CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if self.status not in ALERT_STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    def received_payload(self, *, maintenance: str = "", auto: bool = False) -> dict[str, Any]:
        """The ``intake.received`` payload: only the fields that say something."""
        payload: dict[str, Any] = {
            "integration": self.integration, "channel": self.channel,
            "dedup_key": self.dedup_key, "status": self.status, "summary": self.summary,
            "received_at": self.received_at.isoformat(),
        }
        for name in ("details", "source", "node", "metric", "severity", "site", "category",
                     "kind_of_work", "callback"):
            value = getattr(self, name)
            if value:
                payload[name] = value
        if self.links:
            payload["links"] = list(self.links)
        if self.labels:
            payload["labels"] = dict(self.labels)
        if self.fields:
            payload["fields"] = dict(self.fields)
        if maintenance:
            payload["maintenance"] = maintenance
        if auto:
            payload["auto"] = True
        return payload

    def repeated_payload(self, count: int = 1) -> dict[str, Any]:
        """The ``intake.repeated`` payload for `count` more of the same alert."""
        payload: dict[str, Any] = {"count": count, "status": self.status,
                                   "at": self.received_at.isoformat(),
                                   "integration": self.integration, "channel": self.channel}
        if self.summary:
            payload["summary"] = self.summary
        if self.details:
            payload["details"] = self.details
        return payload


def derive_key(integration: str, *identity: str) -> str:
    """A dedup key for a sender that gives none: the integration and what names the alert
    (Alertmanager's fingerprint, a rule and its labels, a mail's sender and subject). Hashed
    so that a key is short and carries no text that needs checking."""
    digest = hashlib.sha256("\x1f".join((integration, *identity)).encode()).hexdigest()
    return f"{integration}:{digest[:32]}"
