"""A loopback TCP proxy the fault tests control, between a desk and the store.

It forwards bytes both ways and, when a fault is armed for a request path, does something
nasty to the next response on that path: reset the connection halfway through it, hold it
forever (the desk's read timeout fires), or call a hook first (kill the store between its
commit and its reply). Faults fire once.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

RESET = "reset"  # forward part of the response, then RST the desk's connection
HOLD = "hold"  # never forward the response
HOOK = "hook"  # call the hook with the response unsent, then RST


@dataclass
class Fault:
    path: str
    kind: str
    hook: Callable[[], None] | None = None
    skip: int = 0  # let this many matching responses through first


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: list[Fault] = []
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path):
                    if fault.skip:
                        fault.skip -= 1
                        return None
                    self._faults.remove(fault)
                    self.fired.append(fault)
                    return fault
        return None

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)  # the store is down: the desk sees a refused/reset connection
                continue
            self._sockets += [client, upstream]
            state: dict[str, Fault | None] = {}
            threading.Thread(target=self._requests, args=(client, upstream, state),
                             daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client, state),
                             daemon=True).start()

    def _requests(
        self, client: socket.socket, upstream: socket.socket, state: dict[str, Fault | None]
    ) -> None:
        try:
            while data := client.recv(65536):
                head = data[:200].split(b" ", 2)
                if len(head) > 2 and head[0] in (b"GET", b"POST"):
                    # One request at a time per connection (HTTP/1.1 without pipelining), so
                    # the fault chosen here applies to the response that comes next.
                    state["fault"] = self._take(head[1].decode("latin-1"))
                upstream.sendall(data)
        except OSError:
            pass
        _close(upstream)

    def _responses(
        self, upstream: socket.socket, client: socket.socket, state: dict[str, Fault | None]
    ) -> None:
        try:
            while data := upstream.recv(65536):
                fault = state.pop("fault", None)
                if fault is None:
                    client.sendall(data)
                    continue
                if fault.kind == RESET:
                    client.sendall(data[: max(1, len(data) // 2)])
                    _reset(client)
                elif fault.kind == HOOK:
                    assert fault.hook is not None
                    fault.hook()
                    _reset(client)
                # HOLD: send nothing and stop reading; the desk's read timeout fires.
                _close(upstream)
                return
        except OSError:
            pass
        _close(client)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for sock in self._sockets:
            _close(sock)


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a crashed peer or a middlebox does."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
