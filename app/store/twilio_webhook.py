"""Twilio's webhooks at the store: SMS replies, key presses and call results as journal entries.

A store with a public address can give Twilio `POST {public_url}/twilio/webhook` as the
messaging and voice status callback. Every request is checked against `X-Twilio-Signature`
(the `twilio` library's validator, for the exact public URL Twilio called) before anything is
read into the journal. The entries are the same facts a desk's own polling of Twilio's REST API
would write (same ids), so whichever arrives first wins and the other is a duplicate: the
ladder stops once, on every desk, at the next pull.

The emergency phone line (inbound SMS and calls from anyone, `phone_routes`) is mounted with
this router and offers every SMS to the same ladder path first, so an acknowledgement is never
taken for an emergency.

Voice pages whose desk knows the store's public address (``twilio_callback_url``) fetch their
TwiML here (``POST /twilio/voice/page?card=&say=``, the text in the signed query) and post the
key pressed back (``POST /twilio/voice/gather``): 4 acknowledge, 5 escalate, 6 decline, written
at once as the same facts a desk's poll of the call's Events would write. A reply that is no
command gets its one help line as the TwiML ``<Message>`` (written as ``pager.help`` first, so
neither a retried webhook nor a desk's poll sends it again).

This path sits outside `/v1` because Twilio sends no desk protocol header and no desk
credential; its signature is its credential. Its body is capped at MAX_WEBHOOK_BYTES as it
arrives (`limits.BodyCap`), and the signature, an HMAC over every parameter, is computed on the
thread pool: on the event loop a 20 MB form once stalled every desk's sync for 39 s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.errors import ValidationError
from app.loaders import load_ladder
from app.models.entry import SCHEMA_VERSION, Entry, HybridClock, NewEntry, uuid7
from app.models.projection import CardState, fold
from app.protocol.phone_line import message_twiml
from app.protocol.voice_keys import after_key_twiml, outcome_for_digits, page_twiml
from app.services.escalation.inbound import (
    PAGER_CARD,
    VERIFY_CARD,
    Answer,
    OpenPage,
    answer_with_history,
    open_pages,
    verify_twilio_signature,
)
from app.services.escalation.ladder import Ladder
from app.services.escalation.state import derive
from app.store import phone_routes, replies
from app.store.enrol import DeskRecord
from app.store.storage import Store
from app.store.tables import entries

PATH = "/twilio/webhook"
PAGE_PATH = "/twilio/voice/page"
GATHER_PATH = "/twilio/voice/gather"
#: What a call's spoken page may hold (Twilio's query strings stay far below their limit).
SAY_MAX = 600
#: Twilio's forms are a few KB (an SMS body is at most 1,600 characters).
MAX_WEBHOOK_BYTES = 64 * 1024
#: Pages older than this are no longer answered (a reply to yesterday's page is noise).
PAGE_HORIZON = timedelta(hours=24)
STORE_OPERATOR = "twilio webhook"

log = logging.getLogger(__name__)
# What folding or deriving a malformed stored card can raise (legacy payloads were not checked
# as strictly as pushes are now); pydantic's ValidationError is a ValueError.
_BAD_CARD = (KeyError, TypeError, ValueError, ValidationError)


@dataclass(frozen=True)
class WebhookConfig:
    auth_token: str | None
    public_url: str | None = None  # e.g. https://store.example.org (what Twilio calls)


def _rows_to_entries(rows: Sequence[object]) -> list[Entry]:
    return [Entry(r.id, r.card_id, r.kind, json.loads(r.payload), r.hlc,  # type: ignore[attr-defined]
                  r.desk_id, r.operator, r.schema, int(r.seq))  # type: ignore[attr-defined]
            for r in rows]


def _stamp_ms(hlc: str) -> int:
    try:
        return int(hlc.split(".", 1)[0])
    except ValueError:
        return -1  # a malformed legacy stamp: too old to answer, like any unknown page


@dataclass
class Recent:
    """What the store knows that answers depend on: the pages of the last day, their cards,
    the help replies sent and the verification codes out."""

    pages: list[OpenPage]
    cards: dict[str, CardState]
    entries_pager: list[Entry]
    entries_verify: list[Entry]
    latest: str = ""  # the newest stamp among the cards read: the answer stamps after it

    def answer(self, form: Mapping[str, str], now: datetime) -> Answer:
        return answer_with_history(form, self.pages, now, self.entries_pager,
                                   self.entries_verify, card=self.cards.get)


def recent(store: Store, ladder: Ladder, now: datetime) -> Recent:
    """Pages sent in the last day, from the store's own copy of every desk's entries."""
    cards: dict[str, CardState] = {}
    with store.engine.connect() as conn:
        paged = conn.execute(
            select(entries.c.card_id, entries.c.hlc).where(entries.c.kind == "ladder.page")
        ).all()
        horizon_ms = int((now - PAGE_HORIZON).timestamp() * 1000)
        ids = sorted({r.card_id for r in paged if _stamp_ms(r.hlc) >= horizon_ms})
        states = []
        for card_id in ids:
            rows = conn.execute(select(entries).where(entries.c.card_id == card_id)).all()
            try:
                card_entries = _rows_to_entries(rows)
                card = fold(card_entries)
                if card is not None:
                    states.append(derive(card, card_entries, ladder))
                    cards[card_id] = card
            except _BAD_CARD as exc:
                # One card the store cannot read must not turn every webhook into a 500 (and
                # Twilio's retries into a flood); its pages just cannot be answered here.
                log.warning("webhook: skipping card %s, its entries do not fold: %r",
                            card_id, exc)
        pseudo = {}
        for card_id in (PAGER_CARD, VERIFY_CARD):
            rows = conn.execute(select(entries).where(entries.c.card_id == card_id)).all()
            pseudo[card_id] = _rows_to_entries(rows)
    latest = max((c["last_hlc"] for c in cards.values()), default="")
    return Recent(open_pages(states), cards, pseudo[PAGER_CARD], pseudo[VERIFY_CARD], latest)


def recent_pages(store: Store, ladder: Ladder, now: datetime) -> list[OpenPage]:
    return recent(store, ladder, now).pages


def _signed_params(body: bytes, url: str, signature: str, token: str) -> dict[str, str] | None:
    """The form's parameters if the signature is Twilio's for them, else None."""
    # Twilio posts application/x-www-form-urlencoded; parsed here (no multipart needed).
    params = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return params if verify_twilio_signature(url, params, signature, token) else None


def store_facts(store: Store, new: Sequence[NewEntry], clock: HybridClock, now: datetime,
                author: DeskRecord) -> int:
    """Write the webhook's facts as the store's own entries; returns how many were new."""
    made = [Entry(item.id or uuid7(int(now.timestamp() * 1000)), item.card_id, item.kind,
                  item.payload, clock.tick(), author.desk_id, STORE_OPERATOR, SCHEMA_VERSION)
            for item in new]
    return store.append_own(made, author)


async def signed_form(request: Request, config: WebhookConfig,
                      path: str) -> Mapping[str, str] | Response:
    """The form Twilio posted to `path`, or the refusal to send back (no token: 404; a body
    cut off: 400; a signature that is not Twilio's for this URL and body: 403)."""
    if not config.auth_token:
        return replies.error(404, "webhooks_off", "this store has no Twilio auth token; "
                             "start it with DISPATCH_DESK_TWILIO_TOKEN set")
    try:
        body = await request.body()  # at most MAX_WEBHOOK_BYTES: BodyCap stops the rest
    except ClientDisconnect:
        return replies.error(400, "bad_webhook", "the webhook body was cut off")
    query = f"?{request.url.query}" if request.url.query else ""
    url = (config.public_url.rstrip("/") + path + query if config.public_url
           else str(request.url))
    signature = request.headers.get("X-Twilio-Signature", "")
    params: Mapping[str, str] | None = await run_in_threadpool(
        _signed_params, body, url, signature, config.auth_token
    )
    if params is None:
        return replies.error(403, "bad_signature", "X-Twilio-Signature does not match "
                             "this URL and body; check the store's public URL")
    return params


def make_router(store: Store, config: WebhookConfig, ladder: Ladder | None = None) -> APIRouter:
    router = APIRouter()
    the_ladder = ladder or load_ladder()
    # Relative without a public address: Twilio resolves it against the URL it called.
    root = config.public_url.rstrip("/") if config.public_url else ""
    page_base, gather_base = root + PAGE_PATH, root + GATHER_PATH
    author = DeskRecord(f"store-{store.position().store_id}"[:40], "central store", "")
    hlc = HybridClock(store.clock, author.desk_id)

    def answers(params: Mapping[str, str], now: datetime) -> Answer:
        """What the ladder makes of a form: a command, a reply on a card, a call result."""
        known = recent(store, the_ladder, now)
        if known.latest:
            # Stamped after the pages it answers, whatever the clocks: folded in stamp order,
            # an answer stamped before its page would be lost on every desk.
            hlc.observe(known.latest)
        return known.answer(params, now)

    def write(new: Sequence[NewEntry], now: datetime) -> int:
        return store_facts(store, new, hlc, now, author)

    def settle(answer: Answer, now: datetime) -> str:
        """Write the answer's facts; the help line to send back, if this copy is the first."""
        helps = [e for e in answer.entries if e.kind == "pager.help"]
        write([e for e in answer.entries if e.kind != "pager.help"], now)
        return answer.reply if helps and write(helps, now) else ""

    # Not in /openapi.json: that document is the desks' API; this is Twilio's callback.
    @router.post(PATH, include_in_schema=False)
    async def twilio_webhook(request: Request) -> Response:
        params = await signed_form(request, config, PATH)
        if isinstance(params, Response):
            return params
        now = store.clock.now()
        try:
            answer = await run_in_threadpool(answers, params, now)
        except ValidationError as exc:
            return replies.error(422, "bad_webhook", str(exc))
        if not answer.entries and "Body" in params and not {"Digits", "CallStatus"} & set(params):
            # An SMS no page waits for, sent here by a number set up before the phone line
            # had its own URL: an emergency like any at /twilio/inbound, never dropped.
            return await phone_routes.answer(params, phone.sms)
        reply = await run_in_threadpool(settle, answer, now)
        # Twilio wants TwiML or an empty 200; an empty <Response/> says nothing to the caller.
        return Response(message_twiml(reply) if reply else "<Response/>",
                        media_type="application/xml")

    @router.post(PAGE_PATH, include_in_schema=False)
    async def voice_page(request: Request) -> Response:
        """The TwiML of a voice page: its text (from the signed query) and the keys."""
        params = await signed_form(request, config, PAGE_PATH)
        if isinstance(params, Response):
            return params
        card, say = _page_query(request)
        action = f"{gather_base}?{urlencode({'card': card, 'say': say})}"
        return Response(page_twiml(say, action), media_type="application/xml")

    @router.post(GATHER_PATH, include_in_schema=False)
    async def voice_gather(request: Request) -> Response:
        """The key pressed in a voice page: its facts at once, then what the person hears."""
        params = await signed_form(request, config, GATHER_PATH)
        if isinstance(params, Response):
            return params
        if "Digits" not in params:
            return replies.error(422, "bad_webhook", "the key press has no Digits field; is "
                                 "this URL the Gather's action?", field="Digits")
        now = store.clock.now()
        try:
            answer = await run_in_threadpool(answers, params, now)
        except ValidationError as exc:
            return replies.error(422, "bad_webhook", str(exc), field=exc.field)
        await run_in_threadpool(settle, answer, now)
        card, say = _page_query(request)
        again = f"{page_base}?{urlencode({'card': card, 'say': say})}"
        outcome = outcome_for_digits(str(params.get("Digits") or ""))
        return Response(after_key_twiml(outcome, again), media_type="application/xml")

    # The emergency phone line (an SMS or a call from anyone) shares this router's ladder
    # path, so an acknowledgement is always recognised before anything becomes an intake.
    phone = phone_routes.PhoneLine(store, answers, write, config.public_url, settle)
    router.include_router(phone_routes.make_router(
        phone, lambda request, path: signed_form(request, config, path)))
    return router


def _page_query(request: Request) -> tuple[str, str]:
    """The card and the spoken text a page's URL carries (signed with the URL)."""
    card = str(request.query_params.get("card") or "")[:40]
    say = str(request.query_params.get("say") or "Dispatch desk page.")[:SAY_MAX]
    return card, say
