"""The desk's doors and its door out, as one part that the headless desk and the window both
run: the emergency line read from Twilio (when the store cannot take Twilio's webhooks), the
mailbox, the desk's own intake door (`intake_listen`), the outbound webhooks and the outbox
(messages to people who are informed, not paged).

Each part works on a thread of its own and never holds the ladder, sync or the window. When
a door writes to the journal, `on_wrote` is called (from that door's thread): the front end
then registers what the intake rules say to register at once (`register_pending`), pages
and pushes. A part that cannot start (no mailbox password, a port in use) is said, and the
rest run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.adapters.secrets import SecretStore
from app.adapters.twilio_pager import TwilioPager
from app.application import Desk
from app.errors import DeskError
from app.runtime.intake_door import IntakeDoor
from app.runtime.mail_poller import MailPoller, PollReport, mail_poller_for
from app.runtime.message_worker import MessageWorker, message_worker_for
from app.runtime.outbound_worker import OutboundWorker
from app.runtime.twilio_inbox import POLL_EVERY_S as INBOX_EVERY_S
from app.runtime.twilio_inbox import TwilioInbox
from app.services.escalation.service import EscalationService

log = logging.getLogger(__name__)


class Channels:
    def __init__(self, desk: Desk, secrets: SecretStore, *, on_wrote: Callable[[], None],
                 say: Callable[[str], None], link_up: Callable[[], bool],
                 pager: TwilioPager | None = None, ladder: EscalationService | None = None,
                 inbox_every_s: float = INBOX_EVERY_S) -> None:
        self.desk, self.say, self._on_wrote = desk, say, on_wrote
        # Outbound webhooks: a slow receiver never holds the rest.
        self.outbound = OutboundWorker(desk.journal, secrets, desk.clock,
                                       on_error=lambda text: say(f"webhooks: {text}"))
        # The emergency line read from Twilio too, so an SMS sent while the store is
        # unreachable still reaches the tray (app/runtime/twilio_inbox.py).
        self.inbox: TwilioInbox | None = None
        if pager is not None and ladder is not None:
            self.inbox = TwilioInbox(desk.journal, pager, ladder.ladder, desk.clock,
                                     every_s=inbox_every_s, link_up=link_up,
                                     on_taken=lambda _items: on_wrote(), on_error=say)
        self.mail: MailPoller | None = None
        try:
            self.mail = mail_poller_for(desk, secrets, on_error=lambda t: say(f"mail: {t}"),
                                        on_polled=self._mail_polled)
        except DeskError as exc:
            say(f"mail OFF: {exc}")
        self.door = (IntakeDoor(desk.intake, on_written=on_wrote)
                     if desk.settings.intake_listen else None)
        # The outbox: notices of the notification plan, customer texts, status updates
        # (app/runtime/message_worker.py); SMS needs the pager, e-mail the [smtp] setting.
        self.messages: MessageWorker | None = None
        try:
            self.messages = message_worker_for(desk, secrets, pager=pager,
                                               on_error=lambda t: say(f"outbox: {t}"),
                                               on_wrote=lambda _cards: on_wrote())
        except DeskError as exc:
            say(f"outbox OFF: {exc}")

    def _mail_polled(self, report: PollReport) -> None:
        if report.written:
            self._on_wrote()

    def register_pending(self) -> None:
        """Register the tray items the rules say to register at once (settings.auto_register):
        their ladder then starts like any card's."""
        try:
            self.desk.intake.auto_register_pending()
        except DeskError as exc:
            self.say(f"intake: {exc}")

    def nudge(self) -> None:
        """The journal changed: deliver what the outbound webhooks and the outbox wait for."""
        self.outbound.nudge()
        if self.messages is not None:
            self.messages.nudge()

    def start(self) -> None:
        self.outbound.start()
        if self.messages is not None:
            self.messages.start()
        if self.inbox is not None:
            self.inbox.start()
        if self.mail is not None:
            self.mail.start()
        if self.door is not None:
            try:
                self.say(f"intake door on {self.door.start(self.desk.settings.intake_listen)}")
            except DeskError as exc:  # a port in use: the rest of the desk still runs
                self.door = None
                self.say(f"intake door OFF: {exc}")

    def stop(self) -> None:
        if self.door is not None:
            self.door.stop()
        if self.inbox is not None:
            self.inbox.stop()
        if self.mail is not None:
            self.mail.stop()
        if self.messages is not None:
            self.messages.stop()
        self.outbound.stop()
