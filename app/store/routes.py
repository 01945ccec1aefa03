"""The store's HTTP API under /v1, and the app factory.

Handlers are `async` so that a long-poll waits on the event loop, not on a worker thread: 200
idle desks cost 200 small coroutines. Every database call runs on the thread pool.

Nothing is read before it has to be: every body is capped as it arrives (`limits.BodyCap`), a
push's signature is checked before its body is read (against the body hash it signed; the
body is hashed as it was received before it is parsed), and failed credentials are braked
(`limits.AuthLimiter`) before they reach the database.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__
from app.clock import Clock
from app.errors import ValidationError
from app.runtime.heartbeats import CHECK_EVERY_S as HEARTBEAT_CHECK_S
from app.store import intake_routes, replies, schemas, signed
from app.store.enrol import DeskRecord, Unauthorized
from app.store.heartbeat_routes import StoreBeats
from app.store.heartbeat_routes import make_router as heartbeat_router
from app.store.limits import AuthLimiter, BodyCap
from app.store.phone_routes import PATHS as PHONE_PATHS
from app.store.storage import Store
from app.store.twilio_webhook import MAX_WEBHOOK_BYTES, WebhookConfig, make_router
from app.store.twilio_webhook import PATH as WEBHOOK_PATH
from app.sync.protocol import (
    ERR_INVALID,
    ERR_REVOKED,
    ERR_TOO_LARGE,
    HEADER_AUTHORIZATION,
    HEADER_PROTOCOL,
    PATH_DESKS,
    PATH_ENROLL,
    PATH_HEALTH,
    PATH_PULL,
    PATH_PUSH,
    PULL_LIMIT_DEFAULT,
    PULL_LIMIT_MAX,
    PULL_WAIT_MAX_S,
    PUSH_BATCH_MAX,
    SUPPORTED_VERSIONS,
    parse_time,
)
from app.sync.signing import HEADER_CONTENT_SHA256

# A full batch of large entries stays well under this; anything bigger is refused unread.
MAX_BODY_BYTES = 16 * 1024 * 1024
# An enrolment is four short strings.
MAX_ENROLL_BYTES = 8 * 1024
# Every other path takes no body worth the name (GETs, and paths that do not exist).
MAX_OTHER_BYTES = 64 * 1024
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": schemas.ErrorReply} for code in (401, 403, 409, 413, 422, 426, 429, 503)
}
# The push body is read by hand (after the credential), so FastAPI cannot infer its schema;
# /openapi.json still describes it, and schemathesis fuzzes it from there.
_PUSH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": schemas.PushRequest.model_json_schema()}},
    }
}
_PUSH_FIELDS = ("desk_time", "entries")

router = APIRouter(prefix="/v1")


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _target(scope: Scope) -> str:
    """The path and query exactly as received: what the desk signed."""
    path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string") or b""
    return path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


async def current_desk(request: Request) -> DeskRecord:
    """Every desk route's check of the request's signature (app/store/signed.py). A push's
    body is checked against the signed hash when it has been read (`push`)."""
    store = _store(request)
    limiter: AuthLimiter = request.app.state.auth_limiter
    header = request.headers.get(HEADER_AUTHORIZATION)
    address = request.client.host if request.client else None
    try:
        call = signed.read_call(request.method, _target(request.scope), header,
                                request.headers.get(HEADER_CONTENT_SHA256),
                                has_body=request.method == "POST")
    except Unauthorized:
        limiter.check(address, header)  # braked: 429 rather than the reason
        limiter.failed(address, header)
        raise
    if not limiter.vouches(call):
        limiter.check(address, header)  # a braked guesser costs no query
    try:
        desk, key = await run_in_threadpool(store.authenticate, call)
    except Unauthorized as exc:
        limiter.failed(address, header)
        if getattr(exc, "code", None) == ERR_REVOKED:
            limiter.forget_desk(call.signed.desk_id)
        raise
    limiter.desk_succeeded(call, key)
    request.state.desk_call = call
    await run_in_threadpool(store.seen, desk)  # every authenticated call is a heartbeat
    return desk


Desk = Annotated[DeskRecord, Depends(current_desk)]


def _json(body: dict[str, Any]) -> JSONResponse:
    return replies.AsciiJSON(body)


@router.get(PATH_HEALTH.removeprefix("/v1"), response_model=schemas.HealthReply)
async def health(request: Request) -> JSONResponse:
    store = _store(request)
    return _json((await run_in_threadpool(store.health)).to_json())


@router.post(
    PATH_ENROLL.removeprefix("/v1"),
    response_model=schemas.EnrollReply,
    responses={403: {"model": schemas.ErrorReply}, **_ERRORS},
)
async def enroll(request: Request, body: schemas.EnrollRequest) -> JSONResponse:
    store = _store(request)
    enrolment = await run_in_threadpool(store.enrol, body.model_dump())
    return _json(enrolment.to_json())


def _envelope(raw: bytes, call: signed.DeskCall) -> tuple[datetime, list[Any]]:
    """(desk_time, entries) from a push body that is the one signed (else Refused, 401);
    ValidationError naming the field, as FastAPI's body model would have (each entry is
    judged later, on its own)."""
    signed.check_body(call, raw)  # hashed as received, before anything parses it
    shape = "; see /openapi.json for the shape"
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting
        raise ValidationError("body: not valid JSON" + shape, field="body") from None
    if not isinstance(body, dict):
        raise ValidationError("body: must be a JSON object" + shape, field="body")
    extra = sorted(str(key) for key in body if key not in _PUSH_FIELDS)
    if extra:
        raise ValidationError(f"{extra[0][:40]!r}: unknown field" + shape, field=extra[0][:40])
    missing = [key for key in _PUSH_FIELDS if key not in body]
    if missing:
        raise ValidationError(f"{missing[0]}: Field required" + shape, field=missing[0])
    if not isinstance(body["entries"], list):
        raise ValidationError("entries: must be a list" + shape, field="entries")
    return parse_time(body["desk_time"], "desk_time"), body["entries"]


@router.post(
    PATH_PUSH.removeprefix("/v1"),
    response_model=schemas.PushReplyModel,
    responses=_ERRORS,
    openapi_extra=_PUSH_BODY,
)
async def push(request: Request, desk: Desk) -> JSONResponse:
    # `desk` is resolved before this body runs: an unknown caller is answered 401 unread.
    try:
        # At most MAX_BODY_BYTES (BodyCap stops the rest). Not request.body(): that keeps the
        # bytes on the request for as long as the push runs.
        raw = b"".join([chunk async for chunk in request.stream()])
    except ClientDisconnect:
        return replies.error(400, ERR_INVALID, "the push body was cut off; send it again")
    # On the thread pool like the rest of the push; json.loads holds the GIL, though, so the
    # loop still waits out the parse (~0.1 s for 16 MiB of real entries): the cap, and auth
    # before it, are what bound that.
    try:
        desk_time, entries = await run_in_threadpool(_envelope, raw, request.state.desk_call)
    except Unauthorized:
        request.app.state.auth_limiter.failed(
            request.client.host if request.client else None,
            request.headers.get(HEADER_AUTHORIZATION))
        raise
    del raw  # up to 16 MiB not held while the push is judged and stored
    if len(entries) > PUSH_BATCH_MAX:
        return replies.error(
            413,
            ERR_TOO_LARGE,
            f"{len(entries)} entries in one push; send at most {PUSH_BATCH_MAX} per batch",
        )
    reply = await run_in_threadpool(_store(request).push, desk, desk_time, entries)
    return _json(reply.to_json())


@router.get(PATH_PULL.removeprefix("/v1"), response_model=schemas.PullReply, responses=_ERRORS)
async def pull(
    request: Request,
    desk: Desk,
    after: Annotated[str, Query(max_length=200, description="cursor from the last pull")] = "",
    limit: Annotated[int, Query(ge=1, le=PULL_LIMIT_MAX)] = PULL_LIMIT_DEFAULT,
    wait_s: Annotated[float, Query(alias="wait", ge=0, le=PULL_WAIT_MAX_S)] = 0,
) -> JSONResponse:
    store = _store(request)
    cursor = await run_in_threadpool(store.check_cursor, after)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        # Take the wake-up before looking, so a commit between the look and the wait counts.
        woken = store.wakeup.current()
        page = await run_in_threadpool(store.pull, cursor, limit)
        remaining = deadline - loop.time()
        if page.entries or remaining <= 0:
            return _json(page.to_json())
        await store.wakeup.wait(woken, remaining)


@router.get(PATH_DESKS.removeprefix("/v1"), responses=_ERRORS)
async def list_desks(request: Request, desk: Desk) -> JSONResponse:
    """Every enrolled desk and when it was last seen: the heartbeats for ladder takeover and
    for the wallboard's link states."""
    rows = await run_in_threadpool(_store(request).desks)
    return _json({"desks": rows})


class ProtocolGate:
    """The protocol version, checked before anything is read or parsed (plain ASGI: a
    `BaseHTTPMiddleware` would put every request and long-poll through an extra task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/v1/"):
            sent = Headers(scope=scope).get(HEADER_PROTOCOL)
            # Monitoring may call /v1/health without the header, and posts alerts to
            # /v1/intake/ without it (its integration key is its credential); a desk always
            # sends it.
            if not (sent is None and (path == PATH_HEALTH
                                      or path.startswith(intake_routes.PREFIX))):
                try:
                    version = int(sent or "")
                except ValueError:
                    version = -1
                if version not in SUPPORTED_VERSIONS:
                    await replies.protocol_refused(sent)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def create_app(db_url: str, *, clock: Clock | None = None,
               twilio: WebhookConfig | None = None,
               auth_limiter: AuthLimiter | None = None,
               heartbeat_check_s: float = HEARTBEAT_CHECK_S) -> FastAPI:
    """The store as an ASGI app; its database is migrated here, before the first request.
    `twilio` turns on Twilio's webhooks (off without an auth token: they are refused).
    `auth_limiter` brakes failed sign-ins (default: AUTH_FAILURES_MAX a minute, on `clock`).
    `heartbeat_check_s`: how often missed heartbeats are looked for (on `clock`'s time)."""
    store = Store(db_url, clock)
    beats = StoreBeats(store)  # heartbeat monitors: their beats, and the missed-beat check

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        store.wakeup.attach(asyncio.get_running_loop())
        await run_in_threadpool(store.start)
        checking = asyncio.create_task(beats.run(heartbeat_check_s))
        try:
            yield
        finally:
            checking.cancel()
            await run_in_threadpool(store.close)

    app = FastAPI(
        title="Dispatch Desk central store",
        version=__version__,
        description="Sync API for Dispatch Desk desks; see docs/server.md.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.auth_limiter = auth_limiter or AuthLimiter(store.clock)
    app.state.heartbeats = beats
    replies.install(app)
    app.include_router(router)
    app.include_router(make_router(store, twilio or WebhookConfig(None)))
    app.include_router(heartbeat_router(beats))  # before the doors' /v1/intake/{kind}
    app.include_router(intake_routes.make_router(store))
    app.add_middleware(ProtocolGate)
    # Added last, so outermost: a flood is refused before anything else looks at it.
    caps = {PATH_PUSH: MAX_BODY_BYTES, PATH_ENROLL: MAX_ENROLL_BYTES,
            WEBHOOK_PATH: MAX_WEBHOOK_BYTES,
            **dict.fromkeys(PHONE_PATHS, MAX_WEBHOOK_BYTES)}
    app.add_middleware(BodyCap, caps=caps, default=MAX_OTHER_BYTES,
                       prefixes={intake_routes.PREFIX: intake_routes.MAX_BODY_BYTES})
    return app
