"""Serve one of the security test apps in its own process: ``python -m tests.reliability._serve``.

Usage: ``python -m tests.reliability._serve uvicorn-starlette|waitress-flask`` with the
``clerk_middleware`` settings as JSON in ``CLERK_TEST_SETTINGS``. It listens on a
free port of 127.0.0.1, prints the port on a line of its own, and serves until
terminated. The load test runs the server here, apart from its clients, so
the numbers it prints and the memory it watches are the server's alone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys

import uvicorn
from waitress.server import BaseWSGIServer, create_server

from ..security import _apps

THREADS = 16


def main(argv: list[str]) -> int:
    """Serve until terminated.

    Args:
        argv: ``[kind]``.

    Returns:
        The exit status.
    """
    settings = json.loads(os.environ["CLERK_TEST_SETTINGS"])
    # "Task queue depth is N" is waitress telling us the load test loads it.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    (kind,) = argv
    if kind == "uvicorn-starlette":
        # IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets (else ~40 ms stalls).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(512)
        print(sock.getsockname()[1], flush=True)
        config = uvicorn.Config(_apps.make_starlette(settings), log_level="warning",
                                access_log=False, lifespan="off", http="h11", backlog=512)
        uvicorn.Server(config).run(sockets=[sock])
        return 0
    if kind == "waitress-flask":
        server = create_server(_apps.make_flask(settings), host="127.0.0.1", port=0,
                               threads=THREADS, backlog=512, connection_limit=1000)
        assert isinstance(server, BaseWSGIServer)  # one listening socket, not several
        print(int(server.getsockname()[1]), flush=True)
        server.run()
        return 0
    print(f"unknown server {kind!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
