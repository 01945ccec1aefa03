"""The store's monitoring doors: ``POST /v1/intake/{kind}`` for the generic webhook,
Alertmanager and Grafana, each sender with its own integration key.

    POST /v1/intake/{kind}          Authorization: Bearer KEY
    POST /v1/intake/{kind}/{key}    for a sender that cannot set a header
    (PUT is accepted too: Grafana's contact point may be set to use it)

What a call goes through, cheapest first, so a flood of bad calls costs no parsing:

1. the door must be one of `FORMAT_KINDS` (404 naming ``kind``);
2. the failed-key brake (`limits.AuthLimiter`, per client address; 429);
3. the key: a key nobody knows is 401, a revoked or replaced one 403, a key of another kind
   403 naming ``kind``; each refusal is counted in ``intake_refusals`` (`dispatch-desk server
   integration list` shows the counts) and nothing is read or stored;
4. the body, capped at MAX_BODY_BYTES as it arrives (`limits.BodyCap`, 413), parsed by
   `app.protocol.intake_formats` on the thread pool (422 naming the JSON path; counted);
5. one write transaction (`intake_store.plan` + `push.store_batch`): new keys become
   ``intake.received`` items, repeats one coalesced ``intake.repeated`` per item, replays
   nothing. Desks get the entries at their next pull (a waiting long-poll is woken).

The answer is a small JSON summary: ``{"accepted", "created", "repeated", "replayed",
"items", "seq"}`` (``seq``: where the entries are in the store's order, so a sender or a
benchmark can tell when a desk's pull has reached them). The path sits under /v1 but takes
no desk protocol header (`routes.ProtocolGate` lets it through) and no desk credential: the
integration key is its credential.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.errors import NotFoundError, ValidationError
from app.models.entry import SCHEMA_VERSION, Entry, HybridClock, uuid7
from app.protocol.catalogue import INTEGRATIONS_CARD, check_payload
from app.protocol.intake import Alert
from app.protocol.intake_formats import (
    FORMAT_KINDS,
    MAX_BODY_BYTES,
    hash_key,
    key_shape_ok,
    parse,
)
from app.store import intake_store, replies
from app.store.database import reading, writing
from app.store.enrol import DeskRecord
from app.store.limits import AuthLimiter
from app.store.notify import announce
from app.store.push import store_batch
from app.store.storage import Store
from app.sync.protocol import ERR_INVALID, ERR_UNAUTHORIZED, STORED, PushResult

PREFIX = "/v1/intake/"
#: Who the store's intake entries name as their author.
OPERATOR = "intake door"
_PRUNE_EVERY_S = 600.0
# As the desk's `integration add` has it: a name goes into URLs and rules.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
__all__ = ["MAX_BODY_BYTES", "PREFIX", "IntakeDoor", "make_router"]

log = logging.getLogger(__name__)


class IntakeDoor:
    """The blocking half of the doors (run on the thread pool): keys, counts, recording."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.author = DeskRecord(f"store-{store.position().store_id}"[:40], "central store", "")
        # Stamps are taken inside `plan`, under the store's sequence lock, so one clock is
        # never ticked by two requests at once.
        self.hlc = HybridClock(store.clock, self.author.desk_id)
        self._pruned_at: datetime | None = None

    def lookup(self, key: str) -> intake_store.KeyRecord | None:
        if not key_shape_ok(key):
            return None
        with reading(self.store.engine, self.store.url) as conn:
            return intake_store.lookup(conn, hash_key(key))

    def refused(self, name: str, reason: str) -> None:
        with writing(self.store.engine, self.store.url) as conn:
            intake_store.count_refusal(conn, name, reason, self.store.clock.now())

    def record(self, alerts: list[Alert]) -> intake_store.Summary:
        store = self.store
        now = store.clock.now()
        stored = 0
        with writing(store.engine, store.url) as conn:
            made, summary = intake_store.plan(conn, alerts, now, self.hlc.tick,
                                              self.author.desk_id, OPERATOR)
            if made:
                outcome = store_batch(conn, list[Entry | PushResult](made), self.author, now)
                stored = outcome.stored
                summary.seq = outcome.head if stored else 0
                odd = [r for r in outcome.results if r.status != STORED]
                if odd:  # ids are derived from occurrences: only a pruned replay gets here
                    log.warning("intake: %d entries not stored as new: %s", len(odd), odd[0])
                if stored and store.shared:
                    announce(conn, outcome.head)
            if self._pruned_at is None or (now - self._pruned_at).total_seconds() > \
                    _PRUNE_EVERY_S:
                intake_store.prune_seen(conn, now)
                self._pruned_at = now
        if stored:
            store.wakeup.wake()
        return summary

    # -- the admin's side: `dispatch-desk server integration ...` -------------------------

    def _write_own(self, kind: str, payload: dict[str, Any]) -> None:
        now = self.store.clock.now()
        entry = Entry(uuid7(int(now.timestamp() * 1000)), INTEGRATIONS_CARD, kind, payload,
                      self.hlc.tick(), self.author.desk_id, "store admin", SCHEMA_VERSION)
        check_payload(kind, entry.card_id, payload, entry.hlc)  # ValidationError naming it
        self.store.append_own([entry], self.author)

    def add(self, kind: str, name: str, **settings: Any) -> str:
        """A new integration and its key (a live name is refused: revoke it first, as on a
        desk). The key is returned once; only its hash is stored, in an ``integration.added``
        entry that desks pull like one written on a desk."""
        if not _NAME.fullmatch(name):
            raise ValidationError(f"name {name[:40]!r}: use 1 to 80 letters, digits, '.', '_' "
                                  "or '-', starting with a letter or digit", field="name")
        if any(r["name"] == name and r["state"] == intake_store.LIVE
               for r in self.integrations()):
            raise ValidationError(f"an integration named {name!r} exists; revoke it first or "
                                  "pick another name", field="name")
        key = secrets.token_urlsafe(32)
        payload = {"name": name, "kind": kind, "key_hash": hash_key(key),
                   **{k: v for k, v in settings.items() if v}}
        self._write_own("integration.added", payload)
        return key

    def revoke(self, name: str, reason: str = "") -> None:
        with reading(self.store.engine, self.store.url) as conn:
            known = {r["name"] for r in intake_store.integrations(conn)}
        if name not in known:
            raise NotFoundError(f"no integration named {name!r}; see: dispatch-desk server "
                                "integration list")
        self._write_own("integration.revoked",
                        {"name": name, **({"reason": reason} if reason else {})})

    def integrations(self) -> list[dict[str, Any]]:
        with reading(self.store.engine, self.store.url) as conn:
            return intake_store.integrations(conn)


def _bearer(header: str | None) -> str:
    scheme, _, value = (header or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def make_router(store: Store) -> APIRouter:
    router = APIRouter()
    door = IntakeDoor(store)

    async def receive(request: Request, kind: str, key: str) -> JSONResponse:
        if kind not in FORMAT_KINDS:
            return replies.error(404, "not_found", f"no intake door {kind[:40]!r}; post to "
                                 f"{PREFIX}KIND with KIND one of {', '.join(FORMAT_KINDS)}",
                                 field="kind")
        limiter: AuthLimiter = request.app.state.auth_limiter
        address = request.client.host if request.client else None
        credential = f"Bearer {key}"
        limiter.check(address, credential)  # a braked guesser costs no query (429)
        if not key:
            await run_in_threadpool(door.refused, "", "no_key")
            return _unauthorized(f"no integration key: send Authorization: Bearer KEY or post "
                                 f"to {PREFIX}{kind}/KEY (dispatch-desk integration add prints "
                                 "both)")
        record = await run_in_threadpool(door.lookup, key)
        if record is None:
            limiter.failed(address, credential)
            await run_in_threadpool(door.refused, "", "unknown_key")
            return _unauthorized("this integration key is not known here; check the key, or "
                                 "add the integration (dispatch-desk integration add KIND NAME)")
        integration = record.integration
        if record.state != intake_store.LIVE:
            limiter.failed(address, credential)
            await run_in_threadpool(door.refused, integration.name, record.state)
            why = "was revoked" if record.state == intake_store.REVOKED else \
                "was replaced by a newer key"
            return replies.error(403, "key_revoked", f"the key of integration "
                                 f"{integration.name!r} {why}; give the sender its current key")
        if integration.kind != kind:
            await run_in_threadpool(door.refused, integration.name, "wrong_kind")
            return replies.error(403, "wrong_kind", f"kind: the key of {integration.name!r} is "
                                 f"for the {integration.kind} door; post to "
                                 f"{PREFIX}{integration.kind}", field="kind")
        limiter.succeeded(credential)
        try:
            body = await request.body()  # at most MAX_BODY_BYTES: BodyCap stops the rest
        except ClientDisconnect:
            return replies.error(400, ERR_INVALID, "body: the request was cut off; send it "
                                 "again", field="body")
        try:
            alerts = await run_in_threadpool(parse, kind, body, integration, store.clock.now())
        except ValidationError as exc:
            await run_in_threadpool(door.refused, integration.name, "invalid")
            return replies.error(422, ERR_INVALID, exc.message, field=exc.field)
        summary = await run_in_threadpool(door.record, alerts)
        return replies.AsciiJSON(summary.to_json())

    # Not in /openapi.json: that document is the desks' API; these are the senders'.
    @router.api_route(PREFIX + "{kind}", methods=["POST", "PUT"], include_in_schema=False)
    async def intake_header_key(request: Request, kind: str) -> JSONResponse:
        return await receive(request, kind, _bearer(request.headers.get("Authorization")))

    @router.api_route(PREFIX + "{kind}/{key}", methods=["POST", "PUT"], include_in_schema=False)
    async def intake_path_key(request: Request, kind: str, key: str) -> JSONResponse:
        return await receive(request, kind, key)

    return router


def _unauthorized(message: str) -> JSONResponse:
    response = replies.error(401, ERR_UNAUTHORIZED, message)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response
