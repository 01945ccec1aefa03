"""The real central store on a loopback port, in this process (uvicorn on a thread).

`LoopbackStore.replace` swaps in a fresh store database behind the same port, so a Hypothesis
test can give every example its own store without paying for a server start each time.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from app.clock import Clock
from app.store import create_app
from app.store.storage import Store

Scope = dict[str, Any]


class LoopbackStore:
    def __init__(self, db_path: Path, clock: Clock | None = None, **app_args: Any) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self.app: FastAPI = create_app(f"sqlite:///{db_path}", clock=clock, **app_args)
        config = uvicorn.Config(
            self._asgi, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
            interface="asgi3", timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="loopback-store", daemon=True)
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                break
            self._thread.join(0.01)
        if not self._server.started:
            raise RuntimeError("the loopback store did not start within 5 s")
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def store(self) -> Store:
        store: Store = self.app.state.store
        return store

    def replace(self, db_path: Path, clock: Clock | None = None, **app_args: Any) -> None:
        """A fresh store database behind the same address."""
        old = self.store
        self.app = create_app(f"sqlite:///{db_path}", clock=clock, **app_args)
        if self._loop is not None:
            self.store.wakeup.attach(self._loop)
        old.close()

    def add_desk(self, name: str = "desk") -> str:
        return self.store.add_desk_code(name)

    async def _asgi(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            # The inner apps' own lifespans only attach the wake-up to this loop (SQLite needs
            # no listener); do that here so the app can be swapped.
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._loop = asyncio.get_running_loop()
                    self.store.wakeup.attach(self._loop)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await self.app(scope, receive, send)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self.store.close()
