"""The desk's side of the one door: every channel's alerts land here, in the triage tray.

``receive`` writes one journal transaction per batch: a new item (``intake.received``), or a
repeat of the open item -- or of the open card it became -- with the same dedup key
(``intake.repeated``, plus a timeline note on the card; a ``resolved`` may move the card to
Restored where the rules say so). A rule may register the card at once; an alert inside a
maintenance window is collected into that window's one item and never registered. Nothing is
discarded: a resolved alert for an item already settled is still recorded on that item.

A person then accepts an item (a card pre-filled from it, in the same transaction as the
``intake.accepted``), attaches it to an open card (a ``card.report`` and ``intake.attached``),
or dismisses it with a reason. Pure of Qt and I/O; time comes from the Clock.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.clock import Clock
from app.errors import NotFoundError, TransitionError, ValidationError
from app.models.entry import Entry, NewEntry, fact_id, format_stamp
from app.models.intake_read import card_rows, intake_since
from app.models.journal import Journal
from app.protocol.catalogue import INTEGRATIONS_CARD, MAINTENANCE_CARD
from app.protocol.intake import FIRING, RESOLVED, Alert
from app.services.cards.card import Card, Operator
from app.services.cards.rules import DispatchRules
from app.services.cards.service import EMERGENCY_WINDOW, TRANSITIONS, CardService
from app.services.intake import integrations as integ
from app.services.intake import maintenance as maint
from app.services.intake.prefill import (
    SIMILAR_REPORTS,
    alert_of,
    card_note,
    prefill_fields,
    repeat_note,
)
from app.services.intake.rules import Classification, IntakeRules
from app.services.intake.setup import IntakeSetup
from app.services.intake.setup import operator_name as _who
from app.services.intake.tray import (
    PENDING,
    CardFacts,
    TrayItem,
    fold,
    item_from,
    open_by_key,
)

log = logging.getLogger(__name__)

#: The operator name on what the rules do without a person.
RULES_OPERATOR = "intake rules"
NEW, REPEAT, CARD_REPEAT, REGISTERED = "new", "repeat", "card", "registered"
#: The integration name on items made by `card new --dedup-key`.
MANUAL_INTEGRATION = "card-new"


@dataclass(frozen=True)
class Outcome:
    """What `receive` did with one alert."""

    item_id: str
    action: str  # new, repeat (of a pending item), card (a repeat on its open card), registered
    dedup_key: str
    number: str = ""  # the card registered at once, or repeated onto
    maintenance: str = ""  # the window that collected it
    reply: bool = False  # the rules say: tell the sender at once that it arrived
    note: str = ""  # why a rule's "register at once" did not happen


class IntakeService:
    def __init__(self, journal: Journal, rules: DispatchRules, intake_rules: IntakeRules,
                 clock: Clock, cards: CardService, *, auto_register: bool = True) -> None:
        self.journal, self.rules, self.intake_rules = journal, rules, intake_rules
        self.clock, self.cards, self.auto_register = clock, cards, auto_register
        # The intake entries read so far and the local seq they reach: each read fetches only
        # what arrived since. The window, the sync thread and the doors share one service.
        self._entries: list[Entry] = []
        self._seq = 0
        self._lock = threading.Lock()
        self._warned: set[str] = set()  # items the rules could not register, said once
        #: Integrations and maintenance windows (the command line's `integration` and
        #: `maintenance`).
        self.setup = IntakeSetup(journal, rules)

    # -- reading ----------------------------------------------------------------------------

    def _fold(self) -> tuple[list[TrayItem], dict[str, CardFacts]]:
        with self._lock:
            new, self._seq = intake_since(self.journal, self._seq)
            self._entries.extend(new)
            entries = list(self._entries)
        ids = {e.payload.get("card", "") for e in entries
               if e.kind in ("intake.accepted", "intake.attached")}
        cards = {cid: CardFacts(row.number, row.status,
                                datetime.fromisoformat(row.closed_at) if row.closed_at else None)
                 for cid, row in card_rows(self.journal, ids - {""}).items()}
        return fold(entries, cards), cards

    def items(self) -> list[TrayItem]:
        """Every item, settled ones too, in the order they arrived."""
        return self._fold()[0]

    def pending(self) -> list[TrayItem]:
        """The triage tray, oldest first, each flagged `probable` where three similar
        reports came within 10 minutes."""
        items = self.items()
        since = self.clock.now() - EMERGENCY_WINDOW
        similar: dict[tuple[str, str], int] = {}
        for item in items:
            if item.state != "dismissed" and not item.maintenance and item.received_at >= since:
                key = (item.site.casefold(), item.category)
                similar[key] = similar.get(key, 0) + 1
        by_cards: dict[tuple[str, str], bool] = {}
        out = []
        for item in items:
            if not item.is_pending:
                continue
            key = (item.site.casefold(), item.category)
            if item.site and item.category and not item.maintenance:
                if key not in by_cards:
                    by_cards[key] = self.cards.probable_emergency(item.site, item.category)
                probable = by_cards[key] or similar.get(key, 0) >= SIMILAR_REPORTS
                item = replace(item, probable=probable)
            out.append(item)
        return sorted(out, key=lambda i: (i.received_at, i.stamp))

    def item(self, item_id: str) -> TrayItem:
        """An item by its full id or an unambiguous prefix (an item merged into another is
        found as that other)."""
        key = item_id.strip().lower()
        if not key:
            raise ValidationError("give an item id (see `dispatch-desk intake list`)", field="id")
        items = self.items()
        found = [i for i in items if i.id == key or key in i.merged]
        if not found:
            found = [i for i in items if i.id.startswith(key)
                     or any(m.startswith(key) for m in i.merged)]
        if not found:
            raise NotFoundError(f"no intake item {item_id.strip()[:40]!r}")
        if len(found) > 1:
            shown = ", ".join(i.id[:8] for i in found[:5])
            raise ValidationError(f"{item_id.strip()[:40]!r} could be {shown}; type more of "
                                  "the id", field="id")
        return found[0]

    def classify(self, item: TrayItem | Alert,
                 known: Mapping[str, integ.Integration] | None = None) -> Classification:
        """What the rules make of an item or alert; `known` (integrations by name) saves a
        read per alert in a batch."""
        alert = item if isinstance(item, Alert) else alert_of(item)
        if known is None:
            known = {i.name: i for i in self.integrations()}
        found = known.get(alert.integration)
        defaults = None if found is None else Classification(
            category=found.category, site=found.site, kind_of_work=found.kind_of_work)
        return self.intake_rules.classify(alert, self.rules.tz, defaults)

    def prefill(self, item_id: str) -> dict[str, str]:
        """The intake form's fields as the item and the rules fill them."""
        item = self.item(item_id)
        probable = any(i.id == item.id and i.probable for i in self.pending())
        return prefill_fields(item, self.classify(item), self.rules, probable=probable)

    # -- receiving --------------------------------------------------------------------------

    def receive(self, alerts: Sequence[Alert], operator: Operator | str) -> list[Outcome]:
        """Take a batch of alerts in one journal transaction (see the module docstring)."""
        who = _who(operator)
        items, cards = self._fold()
        now_stamp = format_stamp(int(self.clock.now().timestamp() * 1000), 0, "~")
        live = open_by_key(items, cards, now_stamp)
        latest = {i.dedup_key: i for i in items}  # for a resolved with nothing open
        windows = self.windows()
        known = {i.name: i for i in self.integrations()}
        entries: list[NewEntry] = []
        outcomes: list[Outcome] = []
        for alert in alerts:
            cls = self.classify(alert, known)
            alert = replace(alert, site=cls.site, category=cls.category,
                            kind_of_work=cls.kind_of_work)
            hit = maint.covering(windows, alert.received_at, cls.site, cls.category,
                                 alert.integration)
            window = ""
            if hit is not None:
                window = hit[0].name
                alert = replace(alert, dedup_key=hit[0].occurrence_key(hit[1]),
                                summary=f"In maintenance {window}: {alert.summary}"[:300])
            target = live.get(alert.dedup_key)
            if target is None and alert.status == RESOLVED:
                target = latest.get(alert.dedup_key)
            if target is not None:
                outcome, more, target = self._repeat(target, alert, cls, cards)
                live[alert.dedup_key] = latest[alert.dedup_key] = target
                entries += more
                outcomes.append(replace(outcome, maintenance=window))
                continue
            outcome, more, item = self._new(alert, cls, window, who)
            entries += more
            live[alert.dedup_key] = latest[alert.dedup_key] = item
            if item.card_id:
                cards[item.card_id] = CardFacts("", "registered")  # numbered at the write
            outcomes.append(outcome)
        if entries:
            written = self.journal.write(entries, who)
            numbers = {e.card_id: e.payload["number"] for e in written
                       if e.kind == "card.registered"}
            outcomes = [replace(o, number=numbers.get(_card_of(o.item_id), o.number))
                        if o.action == REGISTERED else o for o in outcomes]
        return outcomes

    def _new(self, alert: Alert, cls: Classification, window: str,
             who: str) -> tuple[Outcome, list[NewEntry], TrayItem]:
        item_id = str(uuid.uuid4())
        register = bool(cls.register) and self.auto_register and not window \
            and alert.status == FIRING
        payload = alert.received_payload(maintenance=window)
        item = item_from(item_id, payload)
        reply = bool(cls.reply) and not window
        if register:
            try:
                entries = self._registration(item, cls, auto=True)
            except ValidationError as exc:
                note = f"not registered at once: {exc}"
                return (Outcome(item_id, NEW, alert.dedup_key, reply=reply, note=note),
                        [NewEntry(item_id, "intake.received", payload)], item)
            item = replace(item, auto=True, state="accepted", card_id=_card_of(item_id))
            received = NewEntry(item_id, "intake.received",
                                alert.received_payload(maintenance=window, auto=True))
            return (Outcome(item_id, REGISTERED, alert.dedup_key, reply=reply),
                    [received, *entries], item)
        return (Outcome(item_id, NEW, alert.dedup_key, maintenance=window, reply=reply),
                [NewEntry(item_id, "intake.received", payload)], item)

    def _repeat(self, target: TrayItem, alert: Alert, cls: Classification,
                cards: Mapping[str, CardFacts]) -> tuple[Outcome, list[NewEntry], TrayItem]:
        entries = [NewEntry(target.id, "intake.repeated", alert.repeated_payload())]
        target = replace(target, count=target.count + 1, status=alert.status,
                         last_at=max(target.last_at, alert.received_at))
        facts = cards.get(target.card_id) if target.card_id else None
        if facts is None or not facts.is_open:
            return Outcome(target.id, REPEAT, alert.dedup_key), entries, target
        entries.append(NewEntry(target.card_id, "card.note",
                                {"text": repeat_note(target, alert)}))
        if (alert.status == RESOLVED and cls.restore_on_resolved
                and "restored" in TRANSITIONS.get(facts.status, frozenset())):
            entries.append(NewEntry(target.card_id, "card.status", {
                "status": "restored", "from": facts.status,
                "reason": f"resolved at the source ({alert.integration}); rule "
                          f"{cls.rule or 'defaults'} restores on resolved"}))
        return (Outcome(target.id, CARD_REPEAT, alert.dedup_key, number=facts.number),
                entries, target)

    def _registration(self, item: TrayItem, cls: Classification, *, auto: bool = False,
                      given: Mapping[str, Any] | None = None) -> list[NewEntry]:
        """The entries that register the item's card: ``card.registered``, a note with what
        the form has no field for (details, links, labels), ``intake.accepted``. Automatic
        registration uses ids made from the item's, so two processes doing it write one card."""
        intake: dict[str, Any] = prefill_fields(item, cls, self.rules, auto=auto)
        intake.update({k: v for k, v in (given or {}).items() if v is not None})
        fields = self.cards.validate_intake(intake)
        priority = fields.pop("priority")
        reason = fields.pop("priority_reason")
        card_id = _card_of(item.id) if auto else str(uuid.uuid4())

        def fixed(what: str) -> str | None:
            return fact_id(f"intake.{what}:{item.id}") if auto else None

        return [
            NewEntry(card_id, "card.registered",
                     {"fields": fields, "priority": priority, "priority_reason": reason},
                     id=fixed("registered")),
            NewEntry(card_id, "card.note", {"text": card_note(item)}, id=fixed("note")),
            NewEntry(item.id, "intake.accepted", {"card": card_id}, id=fixed("accepted")),
        ]

    def auto_register_pending(self) -> list[Card]:
        """Register the pending items whose rules say "at once" (items that arrived by sync
        from the store's doors, which do not judge rules). Off with `auto_register`."""
        if not self.auto_register:
            return []
        made = []
        known: dict[str, integ.Integration] | None = None
        for item in self.items():
            if not item.is_pending or item.maintenance or item.status != FIRING:
                continue
            known = known if known is not None else {i.name: i for i in self.integrations()}
            cls = self.classify(item, known)
            if not cls.register:
                continue
            try:
                entries = self._registration(item, cls, auto=True)
            except ValidationError as exc:  # stays in the tray for a person
                if item.id not in self._warned:
                    self._warned.add(item.id)
                    log.warning("intake item %s not registered at once: %s", item.id[:8], exc)
                continue
            self.journal.write(entries, RULES_OPERATOR)
            made.append(self.cards.get_by_id(entries[0].card_id))
        return made

    # -- a person decides -------------------------------------------------------------------

    def _pending(self, item_id: str) -> TrayItem:
        item = self.item(item_id)
        if item.state != PENDING:
            shown = f" as {item.number}" if item.number else ""
            raise TransitionError(f"intake item {item.id[:8]} is already {item.state}{shown}")
        return item

    def accept(self, item_id: str, intake: Mapping[str, Any],
               operator: Operator | str) -> Card:
        """Register the item's card: the pre-filled fields, overridden by `intake`, in one
        transaction with the ``intake.accepted``."""
        item = self._pending(item_id)
        entries = self._registration(item, self.classify(item), given=intake)
        self.journal.write(entries, _who(operator))
        return self.cards.get_by_id(entries[0].card_id)

    def attach(self, item_id: str, number: str, operator: Operator | str) -> Card:
        """Add the item to an open card as a report (it counts towards "three similar")."""
        item = self._pending(item_id)
        card = self.cards.get(number)
        if not card.is_open:
            raise TransitionError(f"card {card.number} is closed; accept the item as a new "
                                  "card instead")
        text = item.summary if not item.details else f"{item.summary}\n{item.details}"
        reporter = (item.callback or item.source or f"{item.channel}: {item.integration}")
        entries = [
            NewEntry(card.id, "card.report", {"text": text[:2000], "reporter": reporter[:200]}),
            NewEntry(item.id, "intake.attached", {"number": card.number, "card": card.id}),
        ]
        self.journal.write(entries, _who(operator))
        return self.cards.get_by_id(card.id)

    def dismiss(self, item_id: str, reason: str, operator: Operator | str) -> None:
        text = " ".join(str(reason or "").split())
        if not text:
            raise ValidationError("say why the item is dismissed (a reason is required)",
                                  field="reason")
        if len(text) > 300:
            raise ValidationError(f"the reason is {len(text)} characters; keep it to 300",
                                  field="reason")
        item = self._pending(item_id)
        self.journal.write([NewEntry(item.id, "intake.dismissed", {"reason": text})],
                           _who(operator))

    def register_card(self, intake: Mapping[str, Any], operator: Operator | str,
                      dedup_key: str) -> tuple[Card, bool]:
        """`card new --dedup-key`: a card, unless the key's card is open (then its timeline
        gets a repeat line and the second value is True). The key lives on an item of channel
        "manual" accepted onto the card, so it de-duplicates against every other door too; a
        pending item with the key is accepted with these fields."""
        key = " ".join(str(dedup_key or "").split())
        if not key or len(key) > 300:
            raise ValidationError("the dedup key must be 1 to 300 characters on one line",
                                  field="dedup_key")
        items, cards = self._fold()
        now = self.clock.now()
        target = open_by_key(items, cards, format_stamp(int(now.timestamp() * 1000), 0, "~")
                             ).get(key)
        if target is not None and target.is_pending:
            return self.accept(target.id, intake, operator), False
        summary = " ".join(str(intake.get("symptom") or "").split())[:300] or key[:300]
        alert = Alert(integration=MANUAL_INTEGRATION, channel="manual", dedup_key=key,
                      summary=summary, received_at=now)
        if target is not None:
            _, entries, _ = self._repeat(target, alert, Classification(), cards)
            self.journal.write(entries, _who(operator))
            return self.cards.get_by_id(target.card_id), True
        fields = self.cards.validate_intake(intake)
        priority, reason = fields.pop("priority"), fields.pop("priority_reason")
        item_id, card_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.journal.write([
            NewEntry(item_id, "intake.received", alert.received_payload()),
            NewEntry(card_id, "card.registered",
                     {"fields": fields, "priority": priority, "priority_reason": reason}),
            NewEntry(item_id, "intake.accepted", {"card": card_id}),
        ], _who(operator))
        return self.cards.get_by_id(card_id), False

    # -- integrations and maintenance windows -------------------------------------------------

    def integrations(self) -> list[integ.Integration]:
        return integ.integrations_from(self.journal.entries(INTEGRATIONS_CARD))

    def windows(self) -> list[maint.Window]:
        return maint.windows_from(self.journal.entries(MAINTENANCE_CARD))


def _card_of(item_id: str) -> str:
    """The card an item registered at once becomes: the same id on every desk and process."""
    return fact_id(f"intake.card:{item_id}")
