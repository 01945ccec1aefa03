"""`python -m bench.signed`: what signing every desk request costs (issue 13).

The real store (`create_app`, SQLite file) served by uvicorn on a loopback port in this
process; a desk's real `StoreClient`. Two figures, each signed against unsigned in the same
run, alternated round by round:

- a push of 1,000 new entries in one batch;
- a pull round: 1,000 entries in one page, from the start.

"Unsigned" is the same store with the desk check replaced by what the old Bearer check cost
(one read of the desk's row; no signature, no nonce written, no body hash), so the ratio is
the price of signing, the nonce row and the body hash. Medians over ROUNDS; the last line is
one JSON object.
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests
import uvicorn
from fastapi import Request
from sqlalchemy import select

from app.clock import SystemClock
from app.models.entry import Entry, format_stamp, uuid7
from app.store import create_app, signed
from app.store.database import reading
from app.store.enrol import DeskRecord
from app.store.routes import current_desk
from app.store.tables import desks
from app.sync import protocol as p
from app.sync.client import StoreClient

ROUNDS = 7
BATCH = 1000


def serve(db_url: str) -> tuple[Any, uvicorn.Server, str]:
    app = create_app(db_url, clock=SystemClock())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return app, server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def unsigned_desk(app: Any) -> Any:
    """The desk check as the old Bearer one cost: read the claimed desk's row."""
    store = app.state.store

    async def check(request: Request) -> DeskRecord:
        desk_id = request.headers["X-Bench-Desk"]
        with reading(store.engine, store.url) as conn:
            row = conn.execute(select(desks.c.name, desks.c.desk_code, desks.c.secret_hash)
                               .where(desks.c.desk_id == desk_id)).one()
        request.state.desk_call = None
        return DeskRecord(desk_id, row.name, row.desk_code)

    return check


class _Plain(requests.auth.AuthBase):
    def __init__(self, desk_id: str) -> None:
        self.desk_id = desk_id

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Bench-Desk"] = self.desk_id
        return request


def batch(desk_id: str, n: int) -> list[Entry]:
    now_ms = int(time.time() * 1000)
    return [Entry(uuid7(now_ms), str(uuid.uuid4()), "card.note", {"text": f"bench note {i}"},
                  format_stamp(now_ms, i + 1, desk_id), desk_id, "bench", 1)
            for i in range(n)]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    with tempfile.TemporaryDirectory() as tmp:
        app, server, url = serve("sqlite:///" + str(Path(tmp) / "store.sqlite"))
        store = app.state.store
        enrolment = StoreClient(url).enroll(store.add_desk_code("bench"), "BN", "bench", None)
        client = StoreClient(url, (enrolment.desk_id, enrolment.secret))
        signed_auth = client._auth
        check_body = signed.check_body
        times: dict[str, list[float]] = {k: [] for k in
                                         ("push_signed", "push_unsigned", "pull_signed",
                                          "pull_unsigned")}
        start = ""
        client.pull(start, limit=1)  # warm: connection, key cache, first nonce
        for _ in range(rounds):
            for mode in ("signed", "unsigned"):
                if mode == "unsigned":
                    app.dependency_overrides[current_desk] = unsigned_desk(app)
                    signed.check_body = lambda call, body: None  # type: ignore[assignment]
                    client._auth = _Plain(enrolment.desk_id)  # type: ignore[assignment]
                else:
                    app.dependency_overrides.clear()
                    signed.check_body = check_body
                    client._auth = signed_auth
                made = batch(enrolment.desk_id, BATCH)
                began = time.perf_counter()
                reply = client.push(time_now(), made)
                times[f"push_{mode}"].append(time.perf_counter() - began)
                assert all(r.status == p.STORED for r in reply.results)
                began = time.perf_counter()
                page = client.pull(start, limit=BATCH)
                times[f"pull_{mode}"].append(time.perf_counter() - began)
                assert len(page.entries) == BATCH
        app.dependency_overrides.clear()
        signed.check_body = check_body
        client.close()
        server.should_exit = True
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    result = {
        "push_1000_signed_ms": round(med["push_signed"], 1),
        "push_1000_unsigned_ms": round(med["push_unsigned"], 1),
        "push_ratio": round(med["push_signed"] / med["push_unsigned"], 3),
        "pull_1000_signed_ms": round(med["pull_signed"], 1),
        "pull_1000_unsigned_ms": round(med["pull_unsigned"], 1),
        "pull_ratio": round(med["pull_signed"] / med["pull_unsigned"], 3),
        "rounds": rounds,
    }
    print(json.dumps(result))


def time_now() -> Any:
    return SystemClock().now()


if __name__ == "__main__":
    main()
