"""The paging port: what the escalation ladder needs from an SMS/voice provider.

The ladder only needs four things -- send a text, place an "accept or not" call, read the
replies that came back, and learn how a call ended -- so that is all the protocol offers.
Keeping it this small lets the services be tested with a fake pager and keeps Twilio's types
out of the domain: the adapter translates everything into the values below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from app.errors import PagerError

__all__ = [
    "CallOutcome",
    "InboundReply",
    "PageResult",
    "Pager",
    "PagerError",
    "PagerHttpError",
]


@dataclass(frozen=True)
class PageResult:
    """What the provider said when it accepted a page: its id for later look-ups, and status."""

    sid: str
    status: str


@dataclass(frozen=True)
class InboundReply:
    """An SMS someone sent back to the desk's number; ``received_at`` is timezone-aware UTC."""

    sid: str
    from_number: str
    body: str
    received_at: datetime


class CallOutcome(StrEnum):
    """How a voice page ended, as far as the ladder cares.

    Only ACKNOWLEDGED means a person took the job (they pressed 4, or the old 1); ESCALATED
    and DECLINED are the other keys (5 and 6, `app.protocol.voice_keys`). A voicemail or answering
    machine picking up is deliberately its own value and never counts as an acknowledgement:
    the ladder must move on to the next person.
    """

    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"  # pressed 5: page the next tier now
    DECLINED = "declined"  # pressed 6: "I can't"
    NO_ANSWER = "no-answer"
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    FAILED = "failed"
    IN_PROGRESS = "in-progress"


class PagerHttpError(PagerError):
    """The provider answered, but with an HTTP error.

    ``status`` lets the caller tell "our request is wrong" (4xx: do not retry) from "try again
    later" (429/5xx); ``retry_after`` is the provider's own back-off hint in seconds, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        code: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.status = status
        self.retry_after = retry_after
        self.code = code

    @property
    def retryable(self) -> bool:
        """True when sending the same request again later may succeed."""
        return self.status is None or self.status == 429 or self.status >= 500


class Pager(Protocol):
    """Sends pages and reads back what happened. Every failure is raised as ``PagerError``."""

    def send_sms(self, to: str, body: str, *, validity_s: int | None = None) -> PageResult:
        """Queue an SMS; ``validity_s`` drops it if it cannot be delivered in time."""
        ...

    def place_call(self, to: str, say: str, *, card_ref: str) -> PageResult:
        """Call ``to``, read ``say`` and ask them to press 1 to accept card ``card_ref``."""
        ...

    def fetch_replies(self, since: datetime) -> list[InboundReply]:
        """Inbound SMS received at or after ``since`` (aware), oldest first."""
        ...

    def call_outcome(self, call_sid: str) -> CallOutcome:
        """Where a call placed by ``place_call`` stands now."""
        ...
