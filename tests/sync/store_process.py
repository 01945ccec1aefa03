"""Run the real central store as its own process on a given loopback port (0: any free one).

Prints the port on its first line once it listens. Used by the fault tests, which kill it.
"""

from __future__ import annotations

import socket
import sys

import uvicorn

from app.store import create_app


def main() -> None:
    db_url, port = sys.argv[1], int(sys.argv[2])
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; without it every reply waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(create_app(db_url), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
