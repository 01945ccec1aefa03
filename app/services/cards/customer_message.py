"""What the customer contact is told once an on-call person accepts the card.

DOMAIN.md: "Once a technician accepts, the customer gets 'a technician is on the way, ETA 35
minutes'". The words are the ladder file's ``[customer] eta_template``; the desk posts them as
a status message on the card (``CardService.post_status_message``).
"""

from __future__ import annotations

from collections.abc import Iterable

from app.errors import ValidationError
from app.models.entry import Entry
from app.services.escalation.ladder import Ladder

# The ways an on-call person accepts (an SMS reply, key 1 in the call, or answering the
# dispatcher's phone call); an acknowledgement "in person" or by radio is not a technician
# on the way.
ON_CALL_ACKS = ("sms", "voice", "phone")


def on_call_acceptance(entries: Iterable[Entry]) -> tuple[str, str] | None:
    """(who, how) of the card's first acknowledgement, if an on-call person gave it."""
    acks = sorted((e for e in entries if e.kind == "card.ack"), key=lambda e: (e.hlc, e.id))
    if not acks:
        return None
    p = acks[0].payload
    how = str(p.get("how", ""))
    return (str(p.get("who", "?")), how) if how in ON_CALL_ACKS else None


def eta_message(entries: Iterable[Entry], ladder: Ladder, eta_minutes: int | None = None) -> str:
    """The ready status message for the customer; refused before an on-call acceptance."""
    if on_call_acceptance(entries) is None:
        raise ValidationError("nobody on call has accepted this card yet: send the ETA once "
                              "a technician acknowledges (SMS, call, or reached by phone)",
                              field="acknowledged_by")
    eta = ladder.default_eta_minutes if eta_minutes is None else eta_minutes
    if isinstance(eta, bool) or not isinstance(eta, int) or not 1 <= eta <= 24 * 60:
        raise ValidationError("the ETA must be whole minutes, 1 to 1440", field="eta_minutes")
    return ladder.eta_template.format(eta=eta)
