"""The wire protocol's own checks, without a store: entries, cursors, credentials, replies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.errors import ValidationError
from app.sync import protocol as p

DESK = "d0123456789ab"
GOOD: dict[str, Any] = {
    "id": "01a20801-09bf-79a2-9f63-6b80c5aa7a79",
    "card_id": "c1",
    "kind": "card.registered",
    "payload": {"number": "B-0042", "priority": "P2", "priority_reason": "x"},
    "hlc": f"001763870400000.00000.{DESK}",
    "desk_id": DESK,
    "operator": "A. Novak",
    "schema": 1,
}


def test_a_good_wire_entry_round_trips() -> None:
    entry = p.parse_wire_entry(GOOD)
    assert entry.to_wire() == GOOD and entry.server_seq is None
    pulled = p.parse_wire_entry({**GOOD, "seq": 7})
    assert pulled.server_seq == 7 and p.wire_with_seq(pulled) == {**GOOD, "seq": 7}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "01A20801-09BF-79A2-9F63-6B80C5AA7A79"}, "id"),
        ({"card_id": ""}, "card_id"),
        ({"kind": "card.deleted"}, "kind"),
        ({"payload": []}, "payload"),
        ({"payload": {"number": "42"}}, "payload"),
        ({"payload": {"number": "B-0042", "big": "x" * (p.PAYLOAD_MAX_BYTES + 1)}}, "payload"),
        ({"payload": {"number": "B-0042", "x": float("nan")}}, "payload"),
        ({"hlc": "001763870400000.00000.dother"}, "hlc"),
        ({"hlc": "yesterday"}, "hlc"),
        ({"desk_id": "a.b"}, "desk_id"),
        ({"operator": 5}, "operator"),
        ({"schema": 99}, "schema"),
        ({"schema": True}, "schema"),
        ({"seq": 0}, "seq"),
        ({"extra": 1}, "entry"),
    ],
)
def test_bad_wire_entries_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        p.parse_wire_entry({**GOOD, **change})
    # A payload's own field is named by its path ("payload.priority is missing").
    assert caught.value.field == field or str(caught.value).startswith(f"{field}.")


def test_missing_fields_and_non_objects_are_refused() -> None:
    missing = {k: v for k, v in GOOD.items() if k != "hlc"}
    with pytest.raises(ValidationError, match="lacks hlc"):
        p.parse_wire_entry(missing)
    with pytest.raises(ValidationError):
        p.parse_wire_entry("entry")


def test_deep_payloads_are_refused_without_recursion() -> None:
    deep: Any = {}
    for _ in range(100_000):  # far past Python's recursion limit
        deep = {"x": deep}
    with pytest.raises(ValidationError, match="nests deeper"):
        p.parse_wire_entry({**GOOD, "payload": {"number": "B-0042", "d": deep}})


def test_cursors() -> None:
    assert p.parse_cursor("") is None and p.format_cursor(None) == ""
    cursor = p.Cursor("s1a2b", 3, 120)
    assert p.parse_cursor(str(cursor)) == cursor
    for bad in ("s1.2", "s1.x.3", "s1.2.-1", "s.1.2.3", "a b.1.2"):
        with pytest.raises(ValidationError) as caught:
            p.parse_cursor(bad)
        assert caught.value.field == "after"


def test_credentials() -> None:
    header = p.format_credential(DESK, "s3cr.et")
    assert p.parse_credential(header) == (DESK, "s3cr.et")
    for bad in (None, "", "Bearer ", "Basic x.y", f"Bearer {DESK}", "Bearer .x", "Bearer a b.x"):
        with pytest.raises(ValidationError):
            p.parse_credential(bad)


def test_times_are_utc_with_a_zone() -> None:
    when = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)
    assert p.parse_time(p.format_time(when), "t") == when
    assert p.parse_time("2026-11-23T03:10:00+01:00", "t") == when
    for bad in ("2026-11-23T02:10:00", "soon", 5):
        with pytest.raises(ValidationError):
            p.parse_time(bad, "desk_time")


def test_replies_round_trip_and_malformed_ones_are_refused() -> None:
    reply = p.PushReply(
        datetime(2026, 11, 23, tzinfo=UTC),
        (
            p.PushResult("a", p.STORED, 1),
            p.PushResult("b", p.REJECTED, None, "bad", None),
            p.PushResult("c", p.STORED, 2, None, "B-0043"),
        ),
        43,
    )
    assert p.PushReply.from_json(reply.to_json()) == reply
    assert "renumbered" not in reply.to_json()["results"][0]
    page = p.PullPage((p.parse_wire_entry({**GOOD, "seq": 5}),), "s1.1.5", False)
    assert p.PullPage.from_json(page.to_json()) == page
    # One entry the desk cannot read is set aside with the reason; it never fails the page.
    odd = p.PullPage.from_json({"entries": [GOOD, {**GOOD, "seq": 9, "payload": {}}],
                                "cursor": "s1.1.9"})
    assert odd.entries == () and [s.seq for s in odd.set_aside] == [None, 9]
    assert "no seq" in odd.set_aside[0].reason and "priority" in odd.set_aside[1].reason
    for parse, body in (
        (p.PushReply.from_json, {"results": []}),
        (p.Health.from_json, {"status": "ok"}),
        (p.Enrollment.from_json, []),
    ):
        with pytest.raises(ValidationError):
            parse(body)
