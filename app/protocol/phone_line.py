"""The emergency phone line: what Twilio sends about an inbound SMS or call, as an `Alert`, and
the TwiML the store answers with. Pure: no network, no clock, no journal; shared by the store's
webhooks (`app.store.phone_routes`) and the desk's Twilio poll (`app.runtime.twilio_inbox`).

Both roads must write *the same* entry for the same message, or a message seen by both would
be doubled: the item id and the entry id are derived from Twilio's own sid (`item_id`,
`entry_id`), and the alert is built by one function (`sms_alert`) from the four things both
roads know -- sid, sender, the number it was sent to, and the body. Only `received_at` can
differ (the webhook carries no time; the REST API's DateSent does), and an entry id is stored
once, so whichever road is first is kept.

A sender's messages share one dedup key (`caller_key`): three texts from one caller while the
item is open are one item seen three times, not three emergencies. A call from that number
joins the same item.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from app.errors import ValidationError
from app.protocol.intake import Alert, derive_key
from app.protocol.text import text_problem

#: The integration name the phone line's items carry when no integration of kind "sms" is
#: registered (the store still takes the message: nothing is lost for want of a setting).
DEFAULT_INTEGRATION = "phone"
#: What the caller hears before the beep; the number is already on the item as the callback.
DEFAULT_GREETING = ("You have reached the emergency line of the dispatch desk. Your number "
                    "has been recorded and we will call you back. After the tone, say what "
                    "happened and where, then hang up.")
GOODBYE = "Thank you. The dispatch desk has your message. Goodbye."
#: Twilio's Record maxLength, seconds: long enough for "what and where", short enough to listen.
RECORD_MAX_S = 120
SUMMARY_MAX = 300
DETAILS_MAX = 4000

_NAMESPACE = uuid.UUID("5d0f3c8e-7a41-4f0e-9a56-0c1b2e3d4f60")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class LineSettings:
    """What an integration of kind "sms" says about the phone line (its `integration.added`):
    its name, the defaults it gives, and the reply sent to a texter (empty: no reply)."""

    integration: str = DEFAULT_INTEGRATION
    category: str = ""
    site: str = ""
    kind_of_work: str = ""
    reply: str = ""

    @classmethod
    def of(cls, added: Mapping[str, Any]) -> LineSettings:
        """From an ``integration.added`` payload of kind "sms"."""
        return cls(integration=str(added.get("name") or DEFAULT_INTEGRATION),
                   category=str(added.get("category") or ""), site=str(added.get("site") or ""),
                   kind_of_work=str(added.get("kind_of_work") or ""),
                   reply=str(added.get("reply") or ""))


def item_id(sid: str) -> str:
    """The intake item's id for a message or call: the same wherever it is first seen."""
    return str(uuid.uuid5(_NAMESPACE, f"phone-item:{sid}"))


def entry_id(sid: str, what: str = "received") -> str:
    """The id of the entry that records `what` happened to message/call/recording `sid`."""
    return str(uuid.uuid5(_NAMESPACE, f"phone-entry:{what}:{sid}"))


def caller_key(integration: str, number: str) -> str:
    """One dedup key per caller: texts and calls from one number fold into one open item."""
    return derive_key(integration, "caller", number)


def _field(form: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str:
    value = str(form.get(name) or "")
    if not pattern.match(value):
        raise ValidationError(f"Twilio field {name} is missing or malformed ({value[:40]!r}); "
                              "is the number's webhook pointed at the right URL?", field=name)
    return value


def _clean(text: str) -> str:
    """Untrusted SMS text as something the catalogue stores: controls dropped."""
    return _CONTROL.sub("", text)


def summary_of(body: str, fallback: str) -> str:
    """The first words of a message on one line, clipped to the catalogue's limit."""
    line = _SPACE.sub(" ", _clean(body)).strip()
    if not line:
        return fallback
    return line if len(line) <= SUMMARY_MAX else line[:SUMMARY_MAX - 1] + "…"


def sms_alert(sid: str, from_number: str, to_number: str, body: str, received_at: datetime,
              line: LineSettings) -> Alert:
    """One inbound SMS as an alert; raises ValidationError naming the field when it is not."""
    _field({"MessageSid": sid}, "MessageSid", _SID)
    _field({"From": from_number}, "From", _E164)
    details = _clean(body)[:DETAILS_MAX]
    return Alert(
        integration=line.integration, channel="sms",
        dedup_key=caller_key(line.integration, from_number),
        summary=summary_of(body, f"Empty SMS from {from_number}"), received_at=received_at,
        details=details, source="twilio", callback=from_number, site=line.site,
        category=line.category, kind_of_work=line.kind_of_work,
        labels=_labels(from_number, to_number, sid))


def call_alert(call_sid: str, from_number: str, to_number: str, received_at: datetime,
               line: LineSettings) -> Alert:
    """An inbound call as an alert: the caller is the callback; a recording comes later.
    A withheld number is still an emergency: the item says so and has no callback."""
    _field({"CallSid": call_sid}, "CallSid", _SID)
    if not _E164.match(from_number or ""):
        return Alert(
            integration=line.integration, channel="call",
            dedup_key=derive_key(line.integration, "call", call_sid),
            summary="Call to the emergency line from a withheld number",
            received_at=received_at, source="twilio", site=line.site, category=line.category,
            kind_of_work=line.kind_of_work, labels=_labels("withheld", to_number, call_sid))
    return Alert(
        integration=line.integration, channel="call",
        dedup_key=caller_key(line.integration, from_number),
        summary=f"Call to the emergency line from {from_number}", received_at=received_at,
        source="twilio", callback=from_number, site=line.site, category=line.category,
        kind_of_work=line.kind_of_work, labels=_labels(from_number, to_number, call_sid))


def _labels(from_number: str, to_number: str, sid: str) -> dict[str, str]:
    labels = {"from": from_number, "sid": sid}
    if _E164.match(to_number or ""):
        labels["to"] = to_number
    return labels


def sms_from_form(form: Mapping[str, str], received_at: datetime, line: LineSettings) -> Alert:
    """Twilio's "a message comes in" webhook form as an alert."""
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    if "Body" not in form:
        raise ValidationError("Twilio field Body is missing; this URL takes inbound SMS",
                              field="Body")
    return sms_alert(sid, str(form.get("From") or ""), str(form.get("To") or ""),
                     str(form["Body"]), received_at, line)


def call_from_form(form: Mapping[str, str], received_at: datetime, line: LineSettings) -> Alert:
    """Twilio's "a call comes in" webhook form as an alert."""
    return call_alert(str(form.get("CallSid") or ""), str(form.get("From") or ""),
                      str(form.get("To") or ""), received_at, line)


@dataclass(frozen=True)
class Recording:
    """A voicemail left on the emergency line (Twilio's Record action or status callback)."""

    call_sid: str
    recording_sid: str
    url: str
    duration_s: int


def recording_from_form(form: Mapping[str, str]) -> Recording | None:
    """The recording a Record callback reports; None when the caller left none (Twilio calls
    the action with an empty RecordingUrl when nothing was said)."""
    call_sid = _field(form, "CallSid", _SID)
    url = str(form.get("RecordingUrl") or "")
    if not url:
        return None
    if not url.startswith("https://") or len(url) > 2000 or text_problem(url):
        raise ValidationError(f"Twilio field RecordingUrl {url[:60]!r} is not an https URL",
                              field="RecordingUrl")
    recording_sid = _field(form, "RecordingSid", _SID)
    try:
        duration = max(0, int(str(form.get("RecordingDuration") or "0")))
    except ValueError:
        raise ValidationError("Twilio field RecordingDuration must be whole seconds",
                              field="RecordingDuration") from None
    return Recording(call_sid, recording_sid, url, duration)


# -- TwiML ---------------------------------------------------------------------------------

def message_twiml(reply: str = "") -> str:
    """The answer to an inbound SMS: `reply` sent back to the texter, or nothing at all."""
    response = MessagingResponse()
    if reply.strip():
        response.message(reply.strip())
    return str(response)


def voice_twiml(record_action: str | None, greeting: str = DEFAULT_GREETING) -> str:
    """The answer to an inbound call: the greeting, then (with `record_action`, the URL Twilio
    posts the recording to) a voicemail after the tone; without it the call just ends."""
    response = VoiceResponse()
    response.say(greeting)
    if record_action:
        response.record(action=record_action, method="POST", max_length=RECORD_MAX_S,
                        play_beep=True, timeout=5, recording_status_callback=record_action,
                        recording_status_callback_method="POST")
        response.say("We did not hear a message. We will call you back. Goodbye.")
    response.hangup()
    return str(response)


def goodbye_twiml() -> str:
    response = VoiceResponse()
    response.say(GOODBYE)
    response.hangup()
    return str(response)
