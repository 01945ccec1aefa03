"""Schemathesis against the store's own /openapi.json, valid and invalid inputs: no 5xx, every
answer is JSON the document describes, and nothing malformed is ever stored.

Driven through Hypothesis directly: schemathesis' pytest plugin reads a private pytest
attribute that pytest 9 no longer has.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from app.sync import protocol as p
from tests.store.harness import TIMEOUT, Desk, ThreadStore

EXAMPLES = 30


def _operations(store: ThreadStore) -> list[Any]:
    schema = schemathesis.openapi.from_url(store.url + "/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_breaks_the_store(store: ThreadStore, desk_a: Desk, mode: GenerationMode) -> None:
    operations = _operations(store)
    assert {op.label for op in operations} >= {"POST /v1/push", "GET /v1/pull"}
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.label in ("GET /v1/health",
                                                                   "GET /v1/desks"):
            continue  # no parameters, so no invalid form of it to make

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            query = case.query or {}
            if isinstance(query.get("wait"), int | float) and query["wait"] > 0:
                query["wait"] = 0.01  # a valid long-poll; the fuzzer need not wait 30 s
            response = case.call(base_url=store.url, headers=desk_a.headers(),
                                 auth=desk_a.auth(), timeout=TIMEOUT)
            assert response.status_code < 500, (case.operation.label, response.text)
            body = response.json()
            if response.status_code >= 400:
                assert set(body) >= {"error", "message"}, body
            elif mode is GenerationMode.POSITIVE:
                case.operation.validate_response(response)

        run()


def test_after_fuzzing_only_well_formed_entries_are_stored(desk_a: Desk) -> None:
    # PullPage.from_json re-checks every stored entry with parse_wire_entry.
    page = p.PullPage.from_json(desk_a.pull_raw(after="", limit=1000).json())
    while page.more:
        page = p.PullPage.from_json(desk_a.pull_raw(after=page.cursor, limit=1000).json())
