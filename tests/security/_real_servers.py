"""Real servers on 127.0.0.1 for the route-protection tests, and what each deployment routes where.

A ``Deployment`` is one server serving one app of ``_real_apps`` (perhaps
mounted, or under a URL prefix); ``Deployment.serve(settings)`` runs it until
the block ends and yields its base URL. uvicorn and waitress without a prefix
run in a thread of this process (``tests.reliability._servers``); the others
run in a child process given an already-listening socket (so the port is
known before the child starts and nothing races for it): hypercorn and uvicorn
with ``root_path``, waitress with ``url_prefix`` through this module's
``python -m tests.security._real_servers SERVER FD [OPTION]``, gunicorn
through its own command line (``-b fd://FD``, ``SCRIPT_NAME`` in its
environment). Children are terminated, then killed, when the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..reliability._servers import (
    REPO_ROOT,
    listening_socket,
    stop_process,
    uvicorn_server,
    wait_until_serving,
    waitress_server,
)
from . import _real_apps

#: Where prefixed deployments live (``root_path``, ``url_prefix``, ``SCRIPT_NAME``).
PREFIX = "/app"
HAS_HTTPTOOLS = importlib.util.find_spec("httptools") is not None


@dataclass(frozen=True)
class Deployment:
    """One server serving one app.

    Attributes:
        server: ``uvicorn``, ``uvicorn-httptools``, ``hypercorn``, ``waitress`` or ``gunicorn``.
        app: A key of ``_real_apps.WSGI_APPS`` or ``_real_apps.ASGI_APPS``.
        prefix: ``""``, or ``/app``: the server's ``root_path`` / ``url_prefix`` / ``SCRIPT_NAME``.
    """

    server: str
    app: str
    prefix: str = ""

    @property
    def name(self) -> str:
        option = {"uvicorn": "root_path", "uvicorn-httptools": "root_path",
                  "hypercorn": "root_path", "waitress": "url_prefix",
                  "gunicorn": "SCRIPT_NAME"}[self.server]
        return f"{self.server} {self.app}" + (f" {option}={self.prefix}" if self.prefix else "")

    @property
    def mounts(self) -> tuple[str, ...]:
        """The path prefixes a client puts before the app's own paths to reach them.

        Found on the servers themselves: uvicorn prepends ``root_path`` to the path
        it was sent (the proxy in front stripped it), so the app's ``/admin`` is
        the client's ``/admin``; hypercorn and waitress route both ``/app/admin``
        and ``/admin`` there; gunicorn only ``/app/admin``.
        """
        if self.app.endswith("-mount"):
            return (_real_apps.MOUNT,)
        if not self.prefix or self.server.startswith("uvicorn"):
            return ("",)
        if self.server == "gunicorn":
            return (self.prefix,)
        return ("", self.prefix)

    @contextlib.contextmanager
    def serve(self, settings: Mapping[str, Any]) -> Iterator[str]:
        """Run the deployment until the block ends; yields ``http://127.0.0.1:<port>``."""
        if self.server == "uvicorn" and not self.prefix:
            with uvicorn_server(_real_apps.build(self.app, settings)) as url:
                yield url
        elif self.server == "waitress" and not self.prefix:
            with waitress_server(_real_apps.build(self.app, settings), threads=4) as url:
                yield url
        else:
            with child_server(self, settings) as url:
                yield url


def deployments() -> tuple[Deployment, ...]:
    """Every deployment the tests run, in a fixed order."""
    asgi = ("starlette", "fastapi", "starlette-mount", "fastapi-mount")
    found: list[Deployment] = []
    for server in ("uvicorn", "hypercorn"):
        found += [Deployment(server, app) for app in asgi]
        found += [Deployment(server, app, PREFIX) for app in ("starlette", "fastapi")]
    if HAS_HTTPTOOLS:
        found += [Deployment("uvicorn-httptools", "starlette"),
                  Deployment("uvicorn-httptools", "starlette-mount")]
    for server in ("waitress", "gunicorn"):
        found += [Deployment(server, app) for app in ("flask", "wsgi")]
        found += [Deployment(server, app, PREFIX) for app in ("flask", "wsgi")]
    return tuple(found)


@contextlib.contextmanager
def child_server(deployment: Deployment, settings: Mapping[str, Any]) -> Iterator[str]:
    """Run ``deployment`` in a child process on a socket made here; yields its base URL."""
    sock = listening_socket()
    port = int(sock.getsockname()[1])
    fd = sock.fileno()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "REAL_APP": deployment.app,
           "CLERK_TEST_SETTINGS": json.dumps(dict(settings))}
    if deployment.server == "gunicorn":
        argv = [sys.executable, "-m", "gunicorn", "-b", f"fd://{fd}", "-w", "1",
                "--threads", "2", "--graceful-timeout", "1", "--timeout", "30",
                "--log-level", "warning", "tests.security._real_apps:from_env()"]
        if deployment.prefix:
            env["SCRIPT_NAME"] = deployment.prefix
    else:
        argv = [sys.executable, "-m", "tests.security._real_servers", deployment.server,
                str(fd), deployment.prefix]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            argv, cwd=REPO_ROOT, env=env, pass_fds=(fd,), stdin=subprocess.DEVNULL,
            stdout=log, stderr=log,
        )
        sock.close()  # the child holds the socket now; it is refused once the child is gone
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, process, log)
            yield url
        finally:
            stop_process(process)


# --- the child: python -m tests.security._real_servers SERVER FD [PREFIX] ---------------------


def _serve_child(server: str, fd: int, prefix: str) -> None:
    app = _real_apps.from_env()
    if server.startswith("uvicorn"):
        import uvicorn

        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off",
            http="httptools" if server == "uvicorn-httptools" else "h11",
            root_path=prefix, timeout_graceful_shutdown=1,
        )
        uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])
    elif server == "hypercorn":
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        hypercorn_config = Config()
        hypercorn_config.bind = [f"fd://{fd}"]
        hypercorn_config.root_path = prefix
        hypercorn_config.graceful_timeout = 1
        hypercorn_config.accesslog = None
        asyncio.run(serve(app, hypercorn_config, mode="asgi"))
    elif server == "waitress":
        from waitress.server import create_server

        create_server(app, sockets=[socket.socket(fileno=fd)], threads=4, url_prefix=prefix,
                      channel_timeout=30).run()
    else:
        raise SystemExit(f"unknown server {server!r}")


if __name__ == "__main__":
    _serve_child(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "")
