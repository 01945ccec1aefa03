"""The emergency phone line at the store: Twilio's "a message comes in" and "a call comes in"
webhooks, signed like every Twilio webhook here (`twilio_webhook.signed_form`).

    POST /twilio/inbound           an SMS to the desk's number (the number's messaging URL)
    POST /twilio/voice             a call to it (the number's voice URL): TwiML back
    POST /twilio/voice/recording   the voicemail (the <Record> action and status callback)

An SMS is first offered to the ladder (`answers`, the same path as /twilio/webhook): a paged
person's reply code (`<code> a`, `a 35`, `e`, `d`, or "1") is a command, a STOP an opt-out, a
verification code a verified contact, any other text from a paged number a reply on that card
(with one help line back) -- never an emergency. Only what the ladder does not take
becomes an ``intake.received`` entry, under ids derived from Twilio's sid
(`app.protocol.phone_line`), so a desk that read the same message by polling Twilio while the
store was away wrote the very same entry, and the two are stored once.

What the line is called, its defaults and the reply a texter gets at once come from the
integration of kind "sms" the desks registered (`integration.added`, its optional ``reply``;
the newest live key). The store cannot read the desks' intake rules (it never imports
app.services), so the reply is this integration option, not a rule; without an integration
the store still takes every message, as "phone", and answers nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from app.errors import ValidationError
from app.models.entry import NewEntry, format_stamp
from app.protocol.catalogue import check_payload
from app.protocol.intake import Alert
from app.protocol.phone_line import (
    LineSettings,
    call_from_form,
    entry_id,
    goodbye_twiml,
    item_id,
    message_twiml,
    recording_from_form,
    sms_from_form,
    voice_twiml,
)
from app.store import replies
from app.store.intake_store import LIVE
from app.store.storage import Store
from app.store.tables import intake_keys

INBOUND_PATH = "/twilio/inbound"
VOICE_PATH = "/twilio/voice"
RECORDING_PATH = "/twilio/voice/recording"
PATHS = (INBOUND_PATH, VOICE_PATH, RECORDING_PATH)

class Answer(Protocol):
    """What the ladder made of a form (`app.services.escalation.inbound.Answer`)."""

    @property
    def entries(self) -> Sequence[NewEntry]: ...

    @property
    def reply(self) -> str: ...


Answers = Callable[[Mapping[str, str], datetime], Answer]
Write = Callable[[Sequence[NewEntry], datetime], int]
#: Writes an answer's facts; returns the help line to send back ("" when none is due).
Settle = Callable[[Any, datetime], str]
#: Awaits the signed form Twilio posted to a path, or the refusal to send back.
ReadForm = Callable[[Request, str], Awaitable[Mapping[str, str] | Response]]

_XML = "application/xml"


def line_settings(store: Store) -> LineSettings:
    """The phone line's integration: the newest live key of kind "sms" (`intake_store`
    keeps the keys projected from every desk's integration entries)."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(intake_keys.c.settings).where(
                intake_keys.c.kind == "sms", intake_keys.c.state == LIVE
            ).order_by(intake_keys.c.hlc.desc()).limit(1)).first()
    return LineSettings.of(json.loads(row.settings)) if row is not None else LineSettings()


def received_entry(alert: Alert, sid: str) -> NewEntry:
    """The intake entry for message or call `sid`: the same on the store and on a desk."""
    return NewEntry(item_id(sid), "intake.received", alert.received_payload(),
                    id=entry_id(sid))


def recording_entry(call_sid: str, recording_sid: str, url: str, at: datetime,
                    integration: str) -> NewEntry:
    """The voicemail's link on the call's item, as one more word from the same caller."""
    payload = {"count": 1, "status": "firing", "at": at.isoformat(), "channel": "call",
               "integration": integration, "summary": "Voicemail left on the emergency line",
               "links": [url]}
    return NewEntry(item_id(call_sid), "intake.repeated", payload,
                    id=entry_id(recording_sid, "recording"))


def checked(new: Sequence[NewEntry], now: datetime) -> list[NewEntry]:
    """The entries, judged by the catalogue as a desk's push would be (the store's own writes
    skip the push checks): a form too odd to store is a 422, not a bad entry for every desk."""
    stamp = format_stamp(int(now.timestamp() * 1000), 0, "store")
    for entry in new:
        check_payload(entry.kind, entry.card_id, entry.payload, stamp)
    return list(new)


class PhoneLine:
    """The three handlers; `answers` and `write` are the ladder's path and the store's own
    writer (`twilio_webhook`), so the store has one author and one hybrid clock."""

    def __init__(self, store: Store, answers: Answers, write: Write,
                 public_url: str | None, settle: Settle) -> None:
        self.store, self._answers, self._write = store, answers, write
        self._settle = settle
        # Relative when the public address is unknown: Twilio resolves it against the URL it
        # called, which is the public one by definition.
        self.record_action = (public_url.rstrip("/") if public_url else "") + RECORDING_PATH

    def sms(self, form: Mapping[str, str]) -> tuple[int, str]:
        """(status, TwiML or an error line) for an inbound SMS; runs on the thread pool."""
        now = self.store.clock.now()
        ladder = self._answers(form, now)  # raises ValidationError on a malformed form
        if ladder.entries:
            # A command, a reply or a verification: at most the one help line back.
            return 200, message_twiml(self._settle(ladder, now))
        line = line_settings(self.store)
        alert = sms_from_form(form, now, line)
        sid = str(alert.labels["sid"])
        stored = self._write(checked([received_entry(alert, sid)], now), now)
        # A retry of a message already taken is not answered twice.
        return 200, message_twiml(line.reply if stored else "")

    def call(self, form: Mapping[str, str]) -> tuple[int, str]:
        now = self.store.clock.now()
        alert = call_from_form(form, now, line_settings(self.store))
        sid = str(alert.labels["sid"])
        self._write(checked([received_entry(alert, sid)], now), now)
        return 200, voice_twiml(self.record_action)

    def recording(self, form: Mapping[str, str]) -> tuple[int, str]:
        now = self.store.clock.now()
        found = recording_from_form(form)
        if found is not None:
            integration = line_settings(self.store).integration
            made = recording_entry(found.call_sid, found.recording_sid, found.url, now,
                                   integration)
            self._write(checked([made], now), now)
        return 200, goodbye_twiml()


def make_router(line: PhoneLine, read_form: ReadForm) -> APIRouter:
    router = APIRouter()

    async def handle(request: Request, path: str,
                     handler: Callable[[Mapping[str, str]], tuple[int, str]]) -> Response:
        form = await read_form(request, path)
        if isinstance(form, Response):
            return form
        return await answer(form, handler)

    @router.post(INBOUND_PATH, include_in_schema=False)
    async def inbound_sms(request: Request) -> Response:
        return await handle(request, INBOUND_PATH, line.sms)

    @router.post(VOICE_PATH, include_in_schema=False)
    async def inbound_call(request: Request) -> Response:
        return await handle(request, VOICE_PATH, line.call)

    @router.post(RECORDING_PATH, include_in_schema=False)
    async def voicemail(request: Request) -> Response:
        return await handle(request, RECORDING_PATH, line.recording)

    return router


async def answer(form: Mapping[str, str],
                 handler: Callable[[Mapping[str, str]], tuple[int, str]]) -> Response:
    """A checked form through one handler (on the thread pool), as TwiML or a 422."""
    try:
        status, body = await run_in_threadpool(handler, form)
    except ValidationError as exc:
        return replies.error(422, "bad_webhook", str(exc), field=exc.field)
    return Response(body, status_code=status, media_type=_XML)
