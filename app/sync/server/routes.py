"""The store's HTTP API under /v1, and the app factory.

Handlers are `async` so that a long-poll waits on the event loop, not on a worker thread: 200
idle desks cost 200 small coroutines. Every database call runs on the thread pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.clock import Clock
from app.sync.protocol import (
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
from app.sync.server import replies, schemas
from app.sync.server.enrol import DeskRecord
from app.sync.server.storage import Store
from app.sync.server.twilio_webhook import WebhookConfig, make_router

# A full batch of large entries stays well under this; anything bigger is refused unread.
MAX_BODY_BYTES = 16 * 1024 * 1024
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": schemas.ErrorReply} for code in (401, 409, 413, 422, 426, 503)
}

router = APIRouter(prefix="/v1")


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def current_desk(request: Request) -> DeskRecord:
    store = _store(request)
    desk = await run_in_threadpool(store.authenticate, request.headers.get(HEADER_AUTHORIZATION))
    await run_in_threadpool(store.seen, desk)  # every authenticated call is a heartbeat
    return desk


Desk = Annotated[DeskRecord, Depends(current_desk)]


def _json(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body)


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


@router.post(
    PATH_PUSH.removeprefix("/v1"), response_model=schemas.PushReplyModel, responses=_ERRORS
)
async def push(request: Request, body: schemas.PushRequest, desk: Desk) -> JSONResponse:
    desk_time = parse_time(body.desk_time, "desk_time")
    if len(body.entries) > PUSH_BATCH_MAX:
        return replies.error(
            413,
            ERR_TOO_LARGE,
            f"{len(body.entries)} entries in one push; send at most {PUSH_BATCH_MAX} per batch",
        )
    reply = await run_in_threadpool(_store(request).push, desk, desk_time, body.entries)
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


Handler = Callable[[Request], Awaitable[Response]]


async def _gate(request: Request, call_next: Handler) -> Response:
    """Protocol version and body size, checked before anything is read or parsed."""
    path = request.url.path
    if path.startswith("/v1/"):
        sent = request.headers.get(HEADER_PROTOCOL)
        # Monitoring may call /v1/health without the header; a desk always sends it.
        if not (sent is None and path == PATH_HEALTH):
            try:
                version = int(sent or "")
            except ValueError:
                version = -1
            if version not in SUPPORTED_VERSIONS:
                return replies.protocol_refused(sent)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return replies.error(
                413,
                ERR_TOO_LARGE,
                f"request body over {MAX_BODY_BYTES} bytes; push smaller batches",
            )
    return await call_next(request)


def create_app(db_url: str, *, clock: Clock | None = None,
               twilio: WebhookConfig | None = None) -> FastAPI:
    """The store as an ASGI app; its database is migrated here, before the first request.
    `twilio` turns on Twilio's webhooks (off without an auth token: they are refused)."""
    store = Store(db_url, clock)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        store.wakeup.attach(asyncio.get_running_loop())
        await run_in_threadpool(store.start)
        try:
            yield
        finally:
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
    app.middleware("http")(_gate)
    replies.install(app)
    app.include_router(router)
    app.include_router(make_router(store, twilio or WebhookConfig(None)))
    return app
