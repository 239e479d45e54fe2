"""The load generators of the real-server benchmark: wrk, or a Python keep-alive client.

Both send the same requests: a raw request template in which every
``@TOKEN@`` is replaced by a token from a pool (one token: the same request
every time; more: the next token each request). Both report the same figures
(``LoadResult``). wrk (Debian's ``wrk``, with ``bench_server_rotate.lua``) is
used when installed; otherwise this module's client, run as its own process::

    python -m tests.benchmarks.bench_server_load PORT CONNECTIONS SECONDS TEMPLATE TOKENS \
        [--offset N] [--check-bodies]

It keeps ``CONNECTIONS`` sockets open (reconnecting when the server closes one,
as gunicorn's sync worker does after every response), sends the next request
on a connection as soon as its answer is complete, and prints one JSON line.
With ``--check-bodies`` every 200 answer's body must be the user id of the
token its request carried (``TOKENS`` lines are ``<user id> <token>``).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

MARKER = b"@TOKEN@"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LUA_SCRIPT = HERE / "bench_server_rotate.lua"


@dataclass
class LoadResult:
    """What one load run measured.

    Attributes:
        requests: Complete responses received.
        seconds: How long the run lasted.
        non_200: Responses whose status was not 200 (for the auth configurations,
            a request that did not authenticate).
        socket_errors: Connect, read, write errors and timeouts.
        bad_bodies: 200 responses whose body was not the expected user id
            (only counted by the Python client with ``check_bodies``).
        p50_us: Median latency, µs.
        p99_us: 99th-percentile latency, µs.
        generator: ``wrk`` or ``python``.
    """

    requests: int
    seconds: float
    non_200: int
    socket_errors: int
    bad_bodies: int
    p50_us: float
    p99_us: float
    generator: str

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def read_pool(path: Path) -> list[tuple[str, str]]:
    """The ``(user id, token)`` lines of a token file."""
    pool = []
    for line in path.read_text().splitlines():
        sub, _, token = line.partition(" ")
        if token:
            pool.append((sub, token))
    return pool


def pinned(command: list[str], core: int | None) -> list[str]:
    """``command`` run on one CPU core with ``taskset`` when a core is given and taskset exists."""
    if core is None or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", str(core), *command]


def run_load(
    port: int,
    *,
    connections: int,
    seconds: float,
    template: Path,
    tokens: Path,
    offset: int = 0,
    core: int | None = None,
    use_wrk: bool = True,
    check_bodies: bool = False,
) -> LoadResult:
    """Drive the server on 127.0.0.1:``port`` for ``seconds`` from another process.

    Args:
        port: The server's port.
        connections: Keep-alive connections held open.
        seconds: Duration of the run.
        template: Raw request bytes with ``@TOKEN@`` markers.
        tokens: The token pool file.
        offset: Index of the first token to send.
        core: Pin the load generator to this CPU core (taskset).
        use_wrk: Use wrk when installed (never with ``check_bodies``).
        check_bodies: Check every body against the token's user id (Python client).

    Returns:
        The run's figures.

    Raises:
        RuntimeError: The load generator failed.
    """
    wrk = shutil.which("wrk") if use_wrk and not check_bodies else None
    if wrk is not None:
        command = [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA_SCRIPT),
            f"http://127.0.0.1:{port}/",
            "--",
            str(template),
            str(tokens),
            str(offset),
            "1",
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "tests.benchmarks.bench_server_load",
            str(port),
            str(connections),
            str(seconds),
            str(template),
            str(tokens),
            f"--offset={offset}",
        ]
        if check_bodies:
            command.append("--check-bodies")
    result = subprocess.run(  # noqa: S603 - our own commands, no shell
        pinned(command, core),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=seconds + 60,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"load generator failed ({result.returncode}): {tail}")
    data = json.loads(lines[-1])
    if wrk is None:
        return LoadResult(**data)
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non_200=data["status"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        bad_bodies=0,
        p50_us=float(data["p50_us"]),
        p99_us=float(data["p99_us"]),
        generator="wrk",
    )


# --- the Python client ------------------------------------------------------------------------


class _Connection:
    """One keep-alive connection and the request in flight on it."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.sock = socket.create_connection(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = bytearray()
        self.started = 0
        self.expected = ""

    def reconnect(self) -> None:
        self.sock.close()
        self.sock = socket.create_connection(self.address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer.clear()


def read_response(buffer: bytearray) -> tuple[int, bytes, bool] | None:
    """``(status, body, server closes)`` once ``buffer`` holds a whole response, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    length, close = 0, head[0].startswith("HTTP/1.0")
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
        elif name == "transfer-encoding":
            raise RuntimeError("chunked responses are not expected from the benchmark apps")
    if len(buffer) < end + 4 + length:
        return None
    body = bytes(buffer[end + 4 : end + 4 + length])
    del buffer[: end + 4 + length]
    return status, body, close


def python_load(
    port: int,
    connections: int,
    seconds: float,
    template: bytes,
    pool: Sequence[tuple[str, str]],
    *,
    offset: int = 0,
    check_bodies: bool = False,
) -> LoadResult:
    """Drive 127.0.0.1:``port`` with ``connections`` keep-alive sockets for ``seconds``.

    Args:
        port: The server's port.
        connections: Sockets held open.
        seconds: Duration.
        template: Request bytes with ``@TOKEN@`` markers.
        pool: ``(user id, token)`` pairs; each request takes the next one.
        offset: Index of the first pair to use.
        check_bodies: Count 200 answers whose body is not the pair's user id.

    Returns:
        The run's figures.
    """
    parts = template.split(MARKER)
    requests = [(sub, token.encode().join(parts)) for sub, token in pool]
    selector = selectors.DefaultSelector()
    address = ("127.0.0.1", port)
    index = offset
    latencies: list[int] = []
    non_200 = socket_errors = bad_bodies = 0

    def restart(conn: _Connection) -> None:
        selector.unregister(conn.sock)
        conn.reconnect()
        selector.register(conn.sock, selectors.EVENT_READ, conn)

    def send_next(conn: _Connection) -> None:
        nonlocal index, socket_errors
        sub, data = requests[index % len(requests)]
        index += 1
        conn.expected = sub
        conn.started = time.perf_counter_ns()
        try:
            # A request (~2.5 KB) fits a fresh loopback socket's send buffer at once.
            conn.sock.sendall(data)
        except OSError:
            socket_errors += 1
            restart(conn)
            conn.sock.sendall(data)

    conns = [_Connection(address) for _ in range(connections)]
    start = time.perf_counter()
    deadline = start + seconds
    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        send_next(conn)
    while (now := time.perf_counter()) < deadline:
        for key, _ in selector.select(timeout=deadline - now):
            conn = key.data
            try:
                chunk = conn.sock.recv(65536)
            except OSError:
                chunk = b""
            if chunk:
                conn.buffer += chunk
                answer = read_response(conn.buffer)
                if answer is None:
                    continue
                latencies.append(time.perf_counter_ns() - conn.started)
                status, body, close = answer
                if status != 200:
                    non_200 += 1
                elif check_bodies and body.decode() != conn.expected:
                    bad_bodies += 1
            else:
                close = True
                socket_errors += 1  # closed with no complete answer: an error
            if close:
                restart(conn)
            send_next(conn)
    elapsed = time.perf_counter() - start
    for conn in conns:
        conn.sock.close()
    latencies.sort()

    def percentile(q: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1000

    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        non_200=non_200,
        socket_errors=socket_errors,
        bad_bodies=bad_bodies,
        p50_us=percentile(0.50),
        p99_us=percentile(0.99),
        generator="python",
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the Python client and print its ``LoadResult`` as one JSON line."""
    parser = argparse.ArgumentParser(description="keep-alive HTTP load on 127.0.0.1")
    parser.add_argument("port", type=int)
    parser.add_argument("connections", type=int)
    parser.add_argument("seconds", type=float)
    parser.add_argument("template", type=Path)
    parser.add_argument("tokens", type=Path)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--check-bodies", action="store_true")
    args = parser.parse_args(argv)
    result = python_load(
        args.port,
        args.connections,
        args.seconds,
        args.template.read_bytes(),
        read_pool(args.tokens),
        offset=args.offset,
        check_bodies=args.check_bodies,
    )
    print(json.dumps(asdict(result)), flush=True)
    os._exit(0)  # skip interpreter teardown: the figures are out


if __name__ == "__main__":
    main()
