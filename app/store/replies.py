"""Every failure as JSON {"error": code, "message": one line saying what to do}.

The store's own errors map to their status codes here, in one place; anything unexpected is
logged with its traceback and answered 500 without details.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from app.errors import ValidationError
from app.store.database import StoreUnavailable
from app.store.enrol import EnrolRefused, Unauthorized
from app.store.limits import RateLimited
from app.store.storage import ClockSkew, CursorForeign
from app.sync.protocol import (
    ERR_CLOCK_SKEW,
    ERR_CURSOR_FOREIGN,
    ERR_ENROLL,
    ERR_INVALID,
    ERR_PROTOCOL,
    ERR_RATE_LIMITED,
    ERR_UNAUTHORIZED,
    SUPPORTED_VERSIONS,
    error_body,
)
from app.sync.signing import SCHEME

log = logging.getLogger(__name__)


class AsciiJSON(JSONResponse):
    """JSON with every non-ASCII character escaped: a reply that quotes what a desk sent (an
    id, a field name) must not fail to encode it, whatever it held (a lone surrogate)."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode("ascii")


def error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    return AsciiJSON(error_body(code, message, **extra), status_code=status)


def protocol_refused(sent: str | None) -> JSONResponse:
    said = f"protocol {sent}" if sent else "no X-Desk-Protocol header"
    return error(
        426,
        ERR_PROTOCOL,
        f"this store speaks protocol {', '.join(map(str, SUPPORTED_VERSIONS))} and the desk "
        f"sent {said}; upgrade the desk (or the store) so they match",
        supported=list(SUPPORTED_VERSIONS),
    )


def _field_path(loc: tuple[object, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query"))


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = _field_path(tuple(first.get("loc", ()))) or "request"
        message = f"{where}: {first.get('msg', 'invalid')}; see /openapi.json for the shape"
        return error(422, ERR_INVALID, message, field=where)

    @app.exception_handler(ValidationError)
    async def _bad_value(_: Request, exc: ValidationError) -> JSONResponse:
        return error(422, ERR_INVALID, exc.message, field=exc.field)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        # A desk request's refusal carries its own status and code (app/store/signed.py).
        status = getattr(exc, "status", 401)
        response = error(status, getattr(exc, "code", ERR_UNAUTHORIZED), exc.message,
                         **getattr(exc, "extra", {}))
        if status == 401:
            response.headers["WWW-Authenticate"] = SCHEME
        return response

    @app.exception_handler(RateLimited)
    async def _braked(_: Request, exc: RateLimited) -> JSONResponse:
        response = error(429, ERR_RATE_LIMITED, exc.message, retry_after_s=exc.retry_after_s)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.exception_handler(EnrolRefused)
    async def _enrol(_: Request, exc: EnrolRefused) -> JSONResponse:
        return error(403, ERR_ENROLL, exc.message)

    @app.exception_handler(ClockSkew)
    async def _skew(_: Request, exc: ClockSkew) -> JSONResponse:
        return error(409, ERR_CLOCK_SKEW, exc.message, offset_s=round(exc.offset_s, 3))

    @app.exception_handler(CursorForeign)
    async def _foreign(_: Request, exc: CursorForeign) -> JSONResponse:
        return error(409, ERR_CURSOR_FOREIGN, exc.message)

    @app.exception_handler(StoreUnavailable)
    async def _down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        log.error("%s", exc.message)
        return error(503, "unavailable", "the store's database is unavailable; retry later")

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = {400: ERR_INVALID, 404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        return error(exc.status_code, code.get(exc.status_code, "http"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error(500, "internal", "the store failed unexpectedly; its log has the details")
