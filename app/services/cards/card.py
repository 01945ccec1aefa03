"""A card as the rest of the program sees it: an immutable, typed view of its projected state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.models.projection import CLOSED, INTAKE_FIELDS, WAITING, CardState

STATUS_LABELS = {
    "registered": "Registered",
    "in_progress": "In progress",
    "waiting_customer": "Waiting for customer",
    "waiting_contractor": "Waiting for contractor",
    "restored": "Restored (monitoring)",
    "closed": "Closed",
}
KIND_LABELS = {"emergency": "Emergency", "request": "Request", "planned": "Planned work"}


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Operator:
    """Who is at the desk, and in what role (roles gate priority changes)."""

    name: str
    role: str = "dispatcher"


@dataclass(frozen=True)
class Card:
    id: str
    number: str
    status: str
    priority: str
    priority_reason: str
    category: str
    site: str
    symptom: str
    assignee: str | None
    registered_at: datetime
    confirmed_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    in_progress_at: datetime | None  # the first time it went In progress (kept on relapse)
    restored_at: datetime | None
    closed_at: datetime | None
    last_update_at: datetime | None
    next_update_at: datetime | None
    pauses: tuple[tuple[datetime, datetime | None], ...]
    breaches: tuple[str, ...]
    report_count: int
    review_owed: bool
    entered_late: bool
    closure: Mapping[str, str] | None
    fields: Mapping[str, str | None] = field(repr=False)

    @classmethod
    def from_state(cls, s: CardState) -> Card:
        return cls(
            id=s["id"],
            number=s["number"],
            status=s["status"],
            priority=s["priority"],
            priority_reason=s["priority_reason"],
            category=s.get("category") or "",
            site=s.get("site") or "",
            symptom=s.get("symptom") or "",
            assignee=s.get("assignee"),
            registered_at=datetime.fromisoformat(s["registered_at"]),
            confirmed_at=_dt(s.get("confirmed_at")),
            acknowledged_at=_dt(s.get("acknowledged_at")),
            acknowledged_by=s.get("acknowledged_by"),
            in_progress_at=_dt(s.get("in_progress_at")),
            restored_at=_dt(s.get("restored_at")),
            closed_at=_dt(s.get("closed_at")),
            last_update_at=_dt(s.get("last_update_at")),
            next_update_at=_dt(s.get("next_update_at")),
            pauses=tuple(
                (datetime.fromisoformat(a), _dt(b)) for a, b in s.get("pauses", [])
            ),
            breaches=tuple(s.get("breaches", [])),
            report_count=int(s.get("report_count", 1)),
            review_owed=bool(s.get("review_owed")),
            entered_late=bool(s.get("entered_late")),
            closure=s.get("closure"),
            fields={name: s.get(name) for name in INTAKE_FIELDS},
        )

    @property
    def is_open(self) -> bool:
        return self.status != CLOSED

    @property
    def kind_of_work(self) -> str:
        # Cards registered before the field existed were taken as requests (cards.py default).
        return self.fields.get("kind_of_work") or "request"

    @property
    def is_waiting(self) -> bool:
        return self.status in WAITING

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def location(self) -> str:
        parts = [self.fields.get(k) for k in ("site", "building", "floor", "room", "equipment")]
        return ", ".join(p for p in parts if p)

    def get(self, name: str) -> str | None:
        return self.fields.get(name)
