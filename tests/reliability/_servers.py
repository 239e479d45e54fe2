"""Real HTTP servers on 127.0.0.1 for the security and reliability tests.

``uvicorn_server`` serves an ASGI app, ``waitress_server`` a WSGI app, each
in a background thread of this process on a free port; both are context
managers yielding the base URL. ``raw_request`` speaks HTTP/1.1 over a plain
socket, so a test sees the exact bytes of the response head (a header
injection would show there and nowhere else), and can send bytes that HTTP
client libraries refuse to send.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import uvicorn
from waitress.server import BaseWSGIServer, create_server


def listening_socket() -> socket.socket:
    """A TCP socket bound to a free port of 127.0.0.1, listening."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so,
    # and without it small responses wait ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    return sock


@contextlib.contextmanager
def uvicorn_server(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn (h11, one event loop) until the block ends.

    Args:
        app: The ASGI application.

    Yields:
        ``http://127.0.0.1:<port>``.
    """
    sock = listening_socket()
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", http="h11",
        timeout_graceful_shutdown=2, backlog=512,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="uvicorn-test-server")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def waitress_server(app: Any, *, threads: int = 8) -> Iterator[str]:
    """Serve a WSGI app with waitress (a thread pool of ``threads``) until the block ends.

    Args:
        app: The WSGI application.
        threads: Worker threads.

    Yields:
        ``http://127.0.0.1:<port>``.
    """
    sockets: dict[int, Any] = {}
    server = create_server(
        app, map=sockets, host="127.0.0.1", port=0, threads=threads, channel_timeout=30,
        connection_limit=1000, backlog=512, ident="waitress",
    )
    assert isinstance(server, BaseWSGIServer)
    port = int(server.getsockname()[1])
    thread = threading.Thread(target=server.run, daemon=True, name="waitress-test-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # Close every socket from inside the server's own loop (closing them from
        # this thread races with its select()); the loop ends when none is left.
        def close_all(_: object = None) -> None:
            for channel in list(sockets.values()):
                channel.close()

        trigger: Any = cast(Any, server).trigger  # the stubs call it an int; it is an object
        trigger.pull_trigger(close_all)
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()


REPO_ROOT = Path(__file__).resolve().parents[2]
#: Seconds a child server may take to answer its first request, and to stop.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Return once the child server at ``url`` answers a request.

    Raises:
        RuntimeError: It exited or did not answer within ``START_TIMEOUT``; the
            message carries the end of its ``log``.
    """
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if raw_request(url, b"GET / HTTP/1.1\r\nHost: 127.0.0.1", timeout=START_TIMEOUT).status:
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            raise RuntimeError(f"{url}: the server did not start: {log.read()[-3000:]!r}")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a child server: SIGTERM, then SIGKILL after ``STOP_TIMEOUT``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def server_process(kind: str, settings: Mapping[str, Any]) -> Iterator[tuple[str, int]]:
    """Run ``tests.reliability._serve`` in a child process until the block ends.

    Args:
        kind: ``"uvicorn-starlette"`` or ``"waitress-flask"``.
        settings: ``clerk_middleware`` keyword settings (JSON-serialisable).

    Yields:
        ``(base_url, pid)``.
    """
    env = {**os.environ, "CLERK_TEST_SETTINGS": json.dumps(dict(settings)),
           "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", "tests.reliability._serve", kind],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"the {kind} server did not start (printed {line!r})")
        url = f"http://127.0.0.1:{line}"
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", int(line)), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@dataclass(frozen=True)
class RawResponse:
    """A response as it came over the wire.

    Attributes:
        status: The status code.
        head: The raw bytes of the status line and headers (without the blank line).
        headers: ``(name, value)`` pairs, names lower-cased, as split from ``head``.
        body: The body bytes (whatever arrived before the server closed).
    """

    status: int
    head: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def values(self, name: bytes) -> list[bytes]:
        """All values of header ``name`` (lower case)."""
        return [value for key, value in self.headers if key == name]


def raw_request(base_url: str, request_head: bytes, *, timeout: float = 10.0) -> RawResponse:
    """Send ``request_head`` (request line and headers, CRLF-separated) and read the answer.

    ``Connection: close`` is added, so the response ends when the server closes.

    Args:
        base_url: ``http://127.0.0.1:<port>``.
        request_head: E.g. ``b"GET / HTTP/1.1\\r\\nHost: app.test"``.
        timeout: Socket timeout in seconds.

    Returns:
        The parsed response.
    """
    host, port = base_url.removeprefix("http://").split(":")
    data = request_head + b"\r\nConnection: close\r\n\r\n"
    chunks: list[bytes] = []
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1]) if lines and lines[0].startswith(b"HTTP/") else 0
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip(b" \t")))
    return RawResponse(status, head, headers, body)


def rss_bytes(pid: int | None = None) -> int:
    """A process's resident set size, in bytes (Linux ``/proc``; else this process's peak).

    Args:
        pid: The process; None for this one.

    Returns:
        The RSS.
    """
    try:
        with open(f"/proc/{pid or 'self'}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak is the best portable figure
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
