"""Request and reply shapes for FastAPI's validation and the OpenAPI document.

Requests are checked here only as envelopes: each pushed entry is judged on its own by
`app.sync.protocol.parse_wire_entry`, so one bad entry never fails the batch. Replies are built
by the protocol's dataclasses; the models below describe them in /openapi.json.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.sync.protocol import WIRE_FIELDS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnrollRequest(_Strict):
    code: str = Field(description="the one-time code from `dispatch-desk server add-desk NAME`")
    desk_code: str = Field(description="1-3 capital letters that start the desk's card numbers")
    name: str | None = Field(None, description="the desk's name, for the admin (default: "
                             "the name given to `server add-desk`)")
    desk_id: str | None = Field(None, description="the id the desk's journal already uses")


class PushRequest(_Strict):
    desk_time: str = Field(description="the desk's clock, ISO-8601 UTC")
    entries: list[Any] = Field(
        description=f"wire entries, each an object with exactly {', '.join(WIRE_FIELDS)}"
    )


class ErrorReply(BaseModel):
    error: str
    message: str


class HealthReply(BaseModel):
    status: str
    store_id: str
    epoch: int
    head: int
    time: str
    polls_waiting: int = Field(description="long-polls waiting in the answering process")


class EnrollReply(BaseModel):
    desk_id: str
    secret: str
    store_id: str
    epoch: int


class PushResultReply(BaseModel):
    id: str
    status: str = Field(description="stored, duplicate or rejected")
    seq: int | None
    reason: str | None
    renumbered: str | None = Field(None, description="the card's new number, if it was taken")


class PushReplyModel(BaseModel):
    server_time: str
    results: list[PushResultReply]
    desk_counter: int


class PulledEntry(BaseModel):
    id: str
    card_id: str
    kind: str
    payload: dict[str, Any]
    hlc: str
    desk_id: str
    operator: str
    schema_: int = Field(alias="schema")
    seq: int


class PullReply(BaseModel):
    entries: list[PulledEntry]
    cursor: str = Field(description="<store_id>.<epoch>.<seq>; send it back as `after`")
    more: bool
