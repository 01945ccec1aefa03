"""The outbox as a person sees it (the window's outbox view, `dispatch-desk outbox`): every
message waiting, sent, failed, stale or cancelled, the ladder's pages beside them (read
only), and the two things a person does: cancel a message, or confirm a stale one so that
it is sent after all. Reads on the ledger's own connection; each action is one entry."""

from __future__ import annotations

from datetime import timedelta

from app.application import Desk
from app.loaders import load_templates
from app.models.entry import Entry
from app.runtime.message_ledger import MessageLedger
from app.services.messages import outbox as ob
from app.services.messages import service
from app.services.messages.outbox import Message

#: Settled messages stay in the default list this long (then `--all`).
RECENT = timedelta(hours=12)


class Outbox:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.templates = load_templates(desk.settings.message_templates)
        self.ledger = MessageLedger(desk.journal)

    def close(self) -> None:
        self.ledger.close()

    def messages(self, *, everything: bool = False) -> list[Message]:
        """Newest first: what waits, then what settled recently (all with `everything`)."""
        now = self.desk.clock.now()
        since = None if everything else now - RECENT
        found = list(ob.messages(self.ledger.of_kinds(ob.MESSAGE_KINDS, since=since)).values())
        found += ob.pages(self.ledger.of_kinds(ob.PAGE_KINDS, since=since))
        return sorted(found, key=lambda m: m.queued_at, reverse=True)

    def numbers(self) -> dict[str, str]:
        """card id -> card number, for the cards these messages are about."""
        return {c["id"]: str(c["number"]) for c in self.desk.journal.cards()}

    def _act(self, entry_of: str, ref: str, reason: str = "") -> Message:
        now = self.desk.clock.now()
        m = service.find(self.messages(everything=True), ref)
        who = self.desk.require().name  # refused in one line without write_cards
        if entry_of == "cancel":
            entry = service.cancel(m, reason, who, now)
        else:
            entry = service.confirm(m, who, now, self.templates)
        self.desk.journal.write([entry], who)
        return ob.messages(self._entries_of(m)).get(m.id, m)

    def _entries_of(self, m: Message) -> list[Entry]:
        return [e for e in self.ledger.card_entries(m.card_id) if e.kind in ob.MESSAGE_KINDS]

    def cancel(self, ref: str, reason: str) -> Message:
        return self._act("cancel", ref, reason)

    def confirm(self, ref: str) -> Message:
        return self._act("confirm", ref)
