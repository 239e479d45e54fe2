"""What authentication costs on real servers. Prints tables; asserts nothing.

Run it from the repository root (``tox -e bench-server``, or directly)::

    python tests/benchmarks/bench_server.py            # the full run (about 9 minutes)
    python tests/benchmarks/bench_server.py --quick    # 2 rounds of 1 s (about 2 minutes)
    python tests/benchmarks/bench_server.py --profile  # also profile requests (no auth, signed in)

Each server runs as its own process pinned to CPU core 0 (``taskset``, when
it exists and the machine has two cores), and the load generator runs pinned
to core 1: Debian's ``wrk`` when installed, else this project's Python
keep-alive client (``bench_server_load.py``); the output says which. So a
server's throughput is one core's worth of requests, and the difference
between two configurations is the CPU each request costs.

The servers: uvicorn (httptools, uvloop when installed) with Starlette and
with FastAPI; waitress (4 threads) and gunicorn (1 sync worker) with Flask.
The configurations of each: no authentication; this project's middleware with
the same token every request (a browser for a minute); with a new token every
request (from a pool minted beforehand, each sent once); and the alternatives:
a middleware built on clerk-backend-api's ``authenticate_request`` (networkless
``jwt_key``), and fastapi-clerk-auth's ``ClerkHTTPBearer`` on FastAPI (its keys
from a JWKS document served on 127.0.0.1). The alternatives keep no per-token
cache, so they get a new token each request too; it costs them what the same
token would. And, on Starlette and Flask, the floor (``floor.py``): a
hand-written middleware doing only what an exact answer cannot do without
(the headers to a dict, the ``Cookie`` header looked up, a new one's session
token decoded and verified, the claims copied and bound), with the same and
with new tokens: what no middleware on that server can go below; and the
contract floor, that floor plus the objects this project's contract hands an
app (an ``AuthRequest`` of every header, a ``RequestState``, the endpoint's
``Auth``): what no middleware keeping this project's API can go below.

Every request is a browser's: thirteen headers and a 2 KB ``Cookie`` header
(Clerk's ``__session`` and ``__client_uat`` cookies, plain and suffixed, among
analytics cookies). On FastAPI the token also comes as ``Authorization:
Bearer`` (a ``fetch()``), the only place fastapi-clerk-auth reads it. An
authenticating endpoint answers the verified user id, or 401: a run counts
every answer that is not 200, so the table shows that each one authenticated.

Configurations are interleaved: every round runs each once, in a rotated
order, each in a fresh server process (so a new token is new to it). The
table gives the median over rounds of requests per second, of the p50 and p99
latencies, and the ratios to no authentication on the same server and app and
to the alternatives in the same run. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:  # run as a script: the repository's tests package
    sys.path.insert(0, str(ROOT))

from clerk_middleware.testing import OrgClaims, TestIssuer  # noqa: E402
from tests.benchmarks.bench_server_load import (  # noqa: E402
    LoadResult,
    pinned,
    read_response,
    run_load,
)

APP = "https://app.example.com"
FRONTEND_API = "clerk.example.com"
SERVER_CORE, LOAD_CORE = 0, 1


# --- the configurations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One server, app and authentication, driven with one kind of request.

    Attributes:
        server: ``uvicorn``, ``waitress`` or ``gunicorn``.
        app: ``starlette``, ``fastapi`` or ``flask``.
        auth: ``none``, ``ours``, ``cba`` (clerk-backend-api), ``fca`` (fastapi-clerk-auth)
            ``floor`` (the least an exact authentication does: ``floor.FloorASGI``) or
            ``contract`` (that plus the contract's objects: ``floor.ContractFloorASGI``).
        tokens: ``same`` (one token every request) or ``new`` (a new token each request).
    """

    server: str
    app: str
    auth: str
    tokens: str

    @property
    def stack(self) -> str:
        """The server and app, e.g. ``uvicorn + Starlette``."""
        return f"{self.server} + {APP_NAMES[self.app]}"

    @property
    def label(self) -> str:
        """How the table names the configuration."""
        if self.auth == "none":
            return "no auth"
        tokens = "same token" if self.tokens == "same" else "new token each request"
        if self.auth in ("floor", "ours"):
            return f"{self.auth}, {tokens}"
        if self.auth == "contract":
            return f"contract floor, {tokens}"
        return f"{AUTH_NAMES[self.auth]} (new token each request)"

    @property
    def bearer(self) -> bool:
        """The request carries the token as ``Authorization: Bearer`` too (FastAPI)."""
        return self.app == "fastapi"


APP_NAMES = {"starlette": "Starlette", "fastapi": "FastAPI", "flask": "Flask"}
AUTH_NAMES = {"cba": "clerk-backend-api", "fca": "fastapi-clerk-auth"}


def floors(server: str, app: str, tokens: str) -> list[Config]:
    """The floor configurations of a stack (Starlette and Flask; not FastAPI)."""
    if app == "fastapi":
        return []
    return [Config(server, app, "floor", tokens), Config(server, app, "contract", tokens)]


def all_configs() -> list[Config]:
    """Every configuration, grouped by server and app, no-auth first."""
    configs = []
    for server, app, alternative in (
        ("uvicorn", "starlette", "cba"),
        ("uvicorn", "fastapi", "fca"),
        ("waitress", "flask", "cba"),
        ("gunicorn", "flask", "cba"),
    ):
        configs += [
            Config(server, app, "none", "same"),
            *floors(server, app, "same"),
            Config(server, app, "ours", "same"),
            *floors(server, app, "new"),
            Config(server, app, "ours", "new"),
            Config(server, app, alternative, "new"),
        ]
    return configs


def available(config: Config) -> str | None:
    """Why ``config`` cannot run here (a missing package), or None."""
    needs = {"cba": "clerk-backend-api", "fca": "fastapi-clerk-auth"}.get(config.auth)
    modules = {"uvicorn": "uvicorn", "waitress": "waitress", "gunicorn": "gunicorn"}
    for distribution in filter(None, (needs, modules[config.server], "httptools")):
        if config.server != "uvicorn" and distribution == "httptools":
            continue
        try:
            importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return f"pip install {distribution}"
    return None


# --- the requests -------------------------------------------------------------------------------


@dataclass
class Instance:
    """The Clerk instance every server trusts, and the request files of the load generator."""

    issuer: TestIssuer
    directory: Path
    suffix: str
    now: int = field(default_factory=lambda: int(time.time()))

    def token(self, n: int) -> tuple[str, str]:
        """The user id and a v2 session token (with an organization) of user ``n``."""
        user_id = f"user_2{n:024d}"
        token = self.issuer.session_token(
            user_id,
            session_id=f"sess_2{n:024d}",
            org=OrgClaims(
                id="org_2abcdefghijklmnopqrstuvwxyz",
                slug="acme",
                role="admin",
                permissions=("read", "manage"),
                feature_permission_map=(3, 1),
            ),
            features="o:dashboard,o:billing,u:profile",
            azp=APP,
            fva=[3, -1],
            lifetime=3600,
        )
        return user_id, token

    def template(self, *, bearer: bool) -> bytes:
        """A browser's request for ``/``, with ``@TOKEN@`` where the token goes."""
        uat = str(self.now - 100)
        cookies = [
            "_ga=GA1.1.1234567890.1700000000",
            "_ga_ABCDEF1234=GS1.1.1700000000.5.1.1700000400.0.0.0",
            "_gid=GA1.1.9876543210.1700000000",
            "_gcl_au=1.1.1234567890.1700000000",
            "theme=dark",
            f"__client_uat_{self.suffix}={uat}",
            f"__client_uat={uat}",
            f"__session_{self.suffix}=@TOKEN@",
            "__session=@TOKEN@",
            "csrftoken=9b1c0f2e7d3a4b5c6d7e8f9a0b1c2d3e",
            "ajs_anonymous_id=5f2b1c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
            "intercom-id-abcd1234=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "_fbp=fb.1.1700000000000.1234567890",
            "_hjSessionUser_1234567=eyJpZCI6IjEyMzQ1Njc4LTkwYWItY2RlZi0xMjM0LTU2Nzg5MGFiY2RlZiJ9",
        ]
        if bearer:
            fetch = [
                "Accept: application/json",
                "Authorization: Bearer @TOKEN@",
                f"Origin: {APP}",
                "Sec-Fetch-Site: same-origin",
                "Sec-Fetch-Mode: cors",
                "Sec-Fetch-Dest: empty",
            ]
        else:
            fetch = [
                "Upgrade-Insecure-Requests: 1",
                "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,"
                "image/avif,image/webp,*/*;q=0.8",
                "Sec-Fetch-Site: same-origin",
                "Sec-Fetch-Mode: navigate",
                "Sec-Fetch-User: ?1",
                "Sec-Fetch-Dest: document",
            ]
        lines = [
            "GET / HTTP/1.1",
            "Host: app.example.com",
            "X-Forwarded-Proto: https",
            "Connection: keep-alive",
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            *fetch,
            f"Referer: {APP}/dashboard",
            "Accept-Encoding: gzip, deflate, br, zstd",
            "Accept-Language: en-US,en;q=0.9",
            f"Cookie: {'; '.join(cookies)}",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def write_files(self, pool_size: int) -> None:
        """Write the templates and the token pools (minting ``pool_size`` tokens)."""
        for bearer in (False, True):
            (self.directory / f"template-{'bearer' if bearer else 'cookie'}.http").write_bytes(
                self.template(bearer=bearer)
            )
        pool = [self.token(n) for n in range(pool_size)]
        (self.directory / "tokens-new.txt").write_text("".join(f"{s} {t}\n" for s, t in pool))
        same = self.token(10**9)
        (self.directory / "tokens-same.txt").write_text(f"{same[0]} {same[1]}\n")
        self.probe = self.token(10**9 + 1)

    def template_path(self, config: Config) -> Path:
        """The request template ``config`` sends."""
        return self.directory / f"template-{'bearer' if config.bearer else 'cookie'}.http"

    def tokens_path(self, config: Config) -> Path:
        """The token pool ``config`` draws from."""
        return self.directory / f"tokens-{config.tokens}.txt"

    def cookie_header_length(self) -> int:
        """Bytes in the ``Cookie`` header line as sent."""
        token = self.token(0)[1]
        for line in self.template(bearer=False).split(b"\r\n"):
            if line.startswith(b"Cookie:"):
                return len(line.replace(b"@TOKEN@", token.encode()))
        return 0


class JwksServer:
    """The JWKS document fastapi-clerk-auth fetches, on 127.0.0.1."""

    def __init__(self, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/jwks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- server processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(config: Config, port: int) -> list[str]:
    """The command line that serves ``config`` on ``port``."""
    if config.server == "gunicorn":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers=1",
            "--worker-class=sync",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            "tests.benchmarks.bench_server_apps:wsgi_app()",
        ]
    return [sys.executable, "-m", "tests.benchmarks.bench_server_apps", config.server, str(port)]


@contextlib.contextmanager
def running(
    config: Config, instance: Instance, jwks_url: str, *, profile: Path | None = None
) -> Iterator[tuple[int, int]]:
    """Serve ``config`` in a pinned child process; yields its port and pid once it answers."""
    port = free_port()
    issuer = instance.issuer
    env = {
        **os.environ,
        "BENCH_APP": config.app,
        "BENCH_AUTH": config.auth,
        "BENCH_SECRET_KEY": issuer.secret_key,
        "BENCH_PUBLISHABLE_KEY": issuer.publishable_key,
        "BENCH_JWT_KEY": issuer.jwt_key,
        "BENCH_AUTHORIZED_PARTY": APP,
        "BENCH_JWKS_URL": jwks_url,
        "PYTHONHASHSEED": "0",
    }
    env.pop("BENCH_PROFILE", None)
    if profile is not None:
        env["BENCH_PROFILE"] = str(profile)
    core = SERVER_CORE if (os.cpu_count() or 1) >= 2 else None
    # A file, not a pipe: a server that logs much would block on a full pipe.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
        pinned(server_command(config, port), core),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    try:
        probe(config, instance, port, process, log)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def probe(
    config: Config, instance: Instance, port: int, process: subprocess.Popen[str], log: IO[str]
) -> None:
    """Wait until the server answers, and check that it authenticates (the first requests).

    Raises:
        RuntimeError: The server exited, never answered, or did not answer as expected.
    """
    user_id, token = instance.probe
    request = instance.template_path(config).read_bytes().replace(b"@TOKEN@", token.encode())
    expected = b"ok" if config.auth == "none" else user_id.encode()
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            log.seek(0)
            stderr = log.read()
            raise RuntimeError(f"{config.stack} ({config.auth}) exited: {stderr.strip()[-500:]}")
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{config.stack} never listened on {port}") from None
            time.sleep(0.05)
    # A few requests: the first builds what frameworks build lazily (Starlette's
    # middleware stack); every one must be the signed-in user's answer.
    try:
        for _ in range(20):
            sock.sendall(request)
            buffer = bytearray()
            answer = None
            while answer is None:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                answer = read_response(buffer)
            if answer is None or answer[0] != 200 or answer[1] != expected:
                raise RuntimeError(f"{config.stack} ({config.label}) answered {answer!r}")
            if answer[2]:  # the server closes after each response (gunicorn's sync worker)
                sock.close()
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    finally:
        sock.close()


# --- CPU accounting -----------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float | None:
    """CPU seconds used by ``pid`` and its children (gunicorn's worker), or None off Linux."""
    try:
        pids = [pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(entry.name))
        total = 0
        for one in pids:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / TICK
    except OSError:
        return None


def core_busy(core: int) -> float | None:
    """CPU seconds core ``core`` has spent busy since boot (``/proc/stat``), or None."""
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith(f"cpu{core} "):
                values = [int(v) for v in line.split()[1:]]
                idle = values[3] + values[4]  # idle, iowait
                return (sum(values[:8]) - idle) / TICK
    except OSError:
        pass
    return None


@dataclass
class Measurement:
    """One measured run: the load's figures and the server's CPU.

    Attributes:
        load: What the load generator saw.
        cpu_us: The server process's CPU per response (µs): unlike req/s, what
            other programs on the machine take from its core does not count.
        others: The share of the server's core that other processes used
            during the run (0 when the machine was otherwise idle).
        repeated: The token pool ran out and tokens were sent twice.
    """

    load: LoadResult
    cpu_us: float | None
    others: float | None
    repeated: bool


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Settings:
    """How long and how hard each configuration is driven."""

    rounds: int
    duration: float
    warmup: float
    connections: int
    pool: int
    use_wrk: bool


def measure(config: Config, instance: Instance, jwks_url: str, settings: Settings) -> Measurement:
    """One run of ``config`` in a fresh server: a warm-up, then the measured load."""
    with running(config, instance, jwks_url) as (port, pid):
        load: dict[str, Any] = {
            "connections": settings.connections,
            "template": instance.template_path(config),
            "tokens": instance.tokens_path(config),
            "core": LOAD_CORE if (os.cpu_count() or 1) >= 2 else None,
            "use_wrk": settings.use_wrk,
        }
        offset = 0
        if settings.warmup > 0:
            warm = run_load(port, seconds=settings.warmup, **load)
            # Requests still in flight when a run stops took tokens too.
            offset = warm.requests + 2 * settings.connections
        cpu_before, busy_before = process_cpu(pid), core_busy(SERVER_CORE)
        wall_before = time.monotonic()
        result = run_load(port, seconds=settings.duration, offset=offset, **load)
        cpu_after, busy_after = process_cpu(pid), core_busy(SERVER_CORE)
        wall = time.monotonic() - wall_before
    used = offset + result.requests + 2 * settings.connections
    cpu_us = others = None
    if cpu_before is not None and cpu_after is not None and result.requests:
        cpu_us = (cpu_after - cpu_before) / result.requests * 1e6
        if busy_before is not None and busy_after is not None:
            other = (busy_after - busy_before) - (cpu_after - cpu_before)
            others = max(0.0, min(1.0, other / wall))
    return Measurement(result, cpu_us, others, config.tokens == "new" and used > settings.pool)


@dataclass
class Summary:
    """A configuration's results over the rounds."""

    config: Config
    runs: list[Measurement]
    skipped: str | None = None

    @property
    def results(self) -> list[LoadResult]:
        return [m.load for m in self.runs]

    @property
    def repeated(self) -> bool:
        return any(m.repeated for m in self.runs)

    @property
    def cpu_us(self) -> float | None:
        values = [m.cpu_us for m in self.runs if m.cpu_us is not None]
        return statistics.median(values) if values else None

    @property
    def others(self) -> float | None:
        values = [m.others for m in self.runs if m.others is not None]
        return max(values) if values else None

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.results) if self.results else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(r.p50_us for r in self.results) if self.results else 0.0

    @property
    def p99(self) -> float:
        return statistics.median(r.p99_us for r in self.results) if self.results else 0.0

    @property
    def failures(self) -> int:
        return sum(r.non_200 + r.bad_bodies for r in self.results)

    @property
    def socket_errors(self) -> int:
        return sum(r.socket_errors for r in self.results)


def run_all(
    configs: Sequence[Config], instance: Instance, jwks_url: str, settings: Settings
) -> list[Summary]:
    """Run every configuration once per round, rotating the order each round."""
    summaries = {c: Summary(c, [], available(c)) for c in configs}
    runnable = [c for c in configs if summaries[c].skipped is None]
    for round_ in range(settings.rounds):
        shift = round_ * max(1, len(runnable) // settings.rounds)
        order = runnable[shift:] + runnable[:shift]
        for config in order:
            run = measure(config, instance, jwks_url, settings)
            summaries[config].runs.append(run)
            cpu = f"{run.cpu_us:6.0f} µs CPU" if run.cpu_us is not None else ""
            others = f", others {run.others:.0%} of the core" if run.others else ""
            print(
                f"  round {round_ + 1}/{settings.rounds}  {config.stack:<20} "
                f"{config.label:<44} {run.load.rate:8.0f} req/s {cpu}{others}",
                file=sys.stderr,
                flush=True,
            )
    return [summaries[c] for c in configs]


# --- reporting ----------------------------------------------------------------------------------


def table(summaries: Sequence[Summary]) -> str:
    """The results as a Markdown table, one group of rows per server and app.

    Ratios come two ways: from throughput (req/s, what a user sees, but lowered
    by whatever else runs on the server's core) and from the server's CPU per
    request (what throughput would be on an otherwise idle core).
    """
    by_stack: dict[str, dict[str, Summary]] = {}
    for s in summaries:
        by_stack.setdefault(s.config.stack, {})[f"{s.config.auth}/{s.config.tokens}"] = s
    rows = [
        "| server + app | configuration | req/s | p50 ms | p99 ms | x no auth | x alternative "
        "| CPU µs/req | +CPU µs | x no auth (CPU) | x alternative (CPU) | non-200 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def by_cpu(s: Summary, other: Summary | None) -> str:
        if other is None or s.cpu_us is None or other.cpu_us is None or s is other:
            return "-"
        return f"{other.cpu_us / s.cpu_us:.2f}"

    for stack, group in by_stack.items():
        base = group.get("none/same")
        if base is not None and not base.results:
            base = None
        alternative = next(
            (s for key, s in group.items() if key.split("/")[0] in AUTH_NAMES and s.results),
            None,
        )
        for s in group.values():
            if s.skipped:
                rows.append(f"| {stack} | {s.config.label} | skipped: {s.skipped} |||||||||| ")
                continue
            ratio = versus = added = "-"
            if base is not None and s is not base:
                ratio = f"{s.rate / base.rate:.2f}"
                if s.cpu_us is not None and base.cpu_us is not None:
                    added = f"{s.cpu_us - base.cpu_us:+.0f}"
            # The floors too: a target over the alternative is out of reach where they miss it.
            compared = s.config.auth in ("ours", "floor", "contract")
            if alternative is not None and compared:
                versus = f"{s.rate / alternative.rate:.2f}"
            cpu = f"{s.cpu_us:.0f}" if s.cpu_us is not None else "-"
            note = " (tokens repeated: raise --pool)" if s.repeated else ""
            errors = f"{s.failures}" + (f" ({s.socket_errors} socket)" if s.socket_errors else "")
            rows.append(
                f"| {stack} | {s.config.label}{note} | {s.rate:,.0f} | {s.p50 / 1000:.2f} "
                f"| {s.p99 / 1000:.2f} | {ratio} | {versus} | {cpu} | {added} "
                f"| {by_cpu(s, base)} | {by_cpu(s, alternative) if compared else '-'} | {errors} |"
            )
    return "\n".join(rows)


def busy_note(summaries: Sequence[Summary]) -> str | None:
    """A warning when other processes took a noticeable share of the server's core."""
    busy = [(s.others, s) for s in summaries if s.others is not None and s.others > 0.05]
    if not busy:
        return None
    worst, summary = max(busy, key=lambda item: item[0])
    return (
        f"Other processes used up to {worst:.0%} of the server's core during some runs "
        f"(worst: {summary.config.stack}, {summary.config.label}): the req/s columns are "
        "lowered by it; the CPU columns are not."
    )


def machine() -> str:
    """One line naming the machine, Python and the servers' versions."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = []
    for name in (
        "uvicorn",
        "httptools",
        "uvloop",
        "starlette",
        "fastapi",
        "flask",
        "waitress",
        "gunicorn",
        "clerk-backend-api",
        "fastapi-clerk-auth",
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{name} {importlib.metadata.version(name)}")
    return f"{cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}; " + ", ".join(
        versions
    )


def generator_note(settings: Settings) -> str:
    wrk = shutil.which("wrk") if settings.use_wrk else None
    if wrk is not None:
        version = subprocess.run(  # noqa: S603 - wrk itself
            [wrk, "-v"], capture_output=True, text=True, check=False
        ).stdout.split("[")[0]
        name = version.strip().splitlines()[0] if version.strip() else "wrk"
        return f"{name} (1 thread, {settings.connections} connections, bench_server_rotate.lua)"
    return (
        f"the Python keep-alive client of bench_server_load.py ({settings.connections} "
        "connections; install wrk for a faster load generator)"
    )


# --- profiling ----------------------------------------------------------------------------------

AREAS = (
    ("clerk_middleware", ("/core/", "/adapters/", "clerk_middleware")),
    ("Starlette / FastAPI", ("/starlette/", "/fastapi/")),
    ("Flask / Werkzeug", ("/flask/", "/werkzeug/")),
    ("server (uvicorn, httptools, waitress)", ("/uvicorn/", "/httptools/", "/waitress/")),
    ("cryptography (RSA verify)", ("/cryptography/",)),
)


def area(filename: str) -> str:
    """Which part of the stack a profiled function belongs to."""
    for name, needles in AREAS:
        if any(needle in filename for needle in needles):
            return name
    if filename.startswith("~") or "/lib/python3" in filename:
        return "Python (stdlib, builtins)"
    return "other"


def profile(instance: Instance, jwks_url: str, settings: Settings) -> None:
    """cProfile the server processes of signed-in requests and print where the time goes.

    Each server's no-auth configuration is profiled first, so the areas of a
    signed-in request can be read against the same server's without it.
    """
    for config in (
        Config("uvicorn", "starlette", "none", "same"),
        Config("uvicorn", "starlette", "ours", "same"),
        Config("uvicorn", "starlette", "ours", "new"),
        Config("waitress", "flask", "none", "same"),
        Config("waitress", "flask", "ours", "same"),
        Config("waitress", "flask", "ours", "new"),
    ):
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "server.prof"
            with running(config, instance, jwks_url, profile=path) as (port, _):
                result = run_load(
                    port,
                    connections=settings.connections,
                    seconds=settings.duration,
                    template=instance.template_path(config),
                    tokens=instance.tokens_path(config),
                    core=LOAD_CORE if (os.cpu_count() or 1) >= 2 else None,
                    use_wrk=settings.use_wrk,
                )
            for _ in range(100):  # the server writes its stats as it exits
                if path.exists():
                    break
                time.sleep(0.1)
            print_profile(config, result, pstats.Stats(str(path)))


def print_profile(config: Config, result: LoadResult, stats: pstats.Stats) -> None:
    """The profile's total by area and its top functions, per request."""
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    requests = max(1, result.requests + 20)  # the probe's requests too
    total = sum(entry[2] for entry in entries.values())
    areas: dict[str, float] = {}
    for (filename, _, _), entry in entries.items():
        areas[area(filename)] = areas.get(area(filename), 0.0) + entry[2]
    print(
        f"\n### {config.stack}, {config.label}: {result.requests:,} requests under cProfile "
        f"({total / requests * 1e6:.0f} µs/request profiled)\n"
    )
    print("| area | µs/request | share |\n|---|---:|---:|")
    for name, seconds in sorted(areas.items(), key=lambda item: -item[1]):
        print(f"| {name} | {seconds / requests * 1e6:.1f} | {seconds / total:.0%} |")
    print("\n| function (own time) | calls/request | µs/request | share |\n|---|---:|---:|---:|")
    top = sorted(entries.items(), key=lambda item: -item[1][2])[:15]
    for (filename, line, function), entry in top:
        where = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        name = f"{where}:{line}({function})" if line else function
        print(
            f"| `{name}` | {entry[1] / requests:.1f} | {entry[2] / requests * 1e6:.1f} "
            f"| {entry[2] / total:.0%} |"
        )


# --- main ---------------------------------------------------------------------------------------


def install_wrk() -> None:
    """Install Debian's wrk when it is missing and this process may (root, apt-get).

    Never fails: without wrk the Python client is used, and the output says so.
    """
    apt_get = shutil.which("apt-get")
    if shutil.which("wrk") or apt_get is None or os.geteuid() != 0:
        return
    print("installing wrk (apt-get) ...", file=sys.stderr, flush=True)
    for command in ([apt_get, "update", "-qq"], [apt_get, "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(  # noqa: S603 - apt-get, fixed arguments
            command, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            print("wrk could not be installed: the Python client drives the servers", flush=True)
            return


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 1 s, no warm-up")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; --quick 2)")
    parser.add_argument("--duration", type=float, help="seconds per run (default 5; --quick 1)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up (default 1; --quick 0)")
    parser.add_argument("--connections", type=int, default=16, help="connections (default 16)")
    parser.add_argument("--pool", type=int, help="distinct tokens minted for the new-token runs")
    parser.add_argument("--only", help="run only configurations whose server/app contain this")
    parser.add_argument("--python-client", action="store_true", help="never use wrk")
    parser.add_argument("--install-wrk", action="store_true", help="apt-get wrk if missing")
    parser.add_argument("--profile", action="store_true", help="cProfile signed-in requests")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 3)
    duration = args.duration or (1.0 if args.quick else 5.0)
    warmup = args.warmup if args.warmup is not None else (0.0 if args.quick else 1.0)
    # Enough tokens for the fastest new-token run seen here (~8k req/s) with room.
    pool = args.pool or int(10_000 * (duration + warmup)) + 2_000
    if args.install_wrk and not args.python_client:
        install_wrk()
    settings = Settings(rounds, duration, warmup, args.connections, pool, not args.python_client)
    configs = [c for c in all_configs() if not args.only or args.only in f"{c.server}/{c.app}"]

    with tempfile.TemporaryDirectory(prefix="bench-server-") as directory:
        issuer = TestIssuer(FRONTEND_API, production=True)
        options = issuer.options(authorized_parties=[APP])
        instance = Instance(issuer, Path(directory), options.cookie_suffix)
        print(f"minting {pool:,} tokens ...", file=sys.stderr, flush=True)
        instance.write_files(pool)
        jwks = JwksServer(issuer.jwks())
        started = time.monotonic()
        try:
            pinning = (
                f"servers pinned to core {SERVER_CORE}, load to core {LOAD_CORE}"
                if shutil.which("taskset") and (os.cpu_count() or 1) >= 2
                else "no pinning (taskset or a second core missing)"
            )
            print(f"Machine: {machine()}")
            print(f"Load: {generator_note(settings)}; {pinning}")
            print(
                f"Runs: {rounds} rounds of {duration:g} s per configuration (after "
                f"{warmup:g} s of warm-up), each in a fresh server; Cookie header "
                f"{instance.cookie_header_length()} bytes",
                flush=True,
            )
            summaries = run_all(configs, instance, jwks.url, settings)
            print()
            print(table(summaries))
            print(
                "\nx no auth: over the same server and app without authentication; "
                "x alternative: over clerk-backend-api (Starlette, Flask) or "
                "fastapi-clerk-auth (FastAPI) in the same run; CPU µs/req: the server "
                "process's CPU time per response; +CPU µs: what authentication adds; "
                "(CPU): the ratio of CPU per request, i.e. of throughput on an idle core."
            )
            note = busy_note(summaries)
            if note:
                print(note)
            if args.json:
                args.json.write_text(
                    json.dumps(
                        [
                            {
                                "config": asdict(s.config),
                                "runs": [asdict(m) for m in s.runs],
                                "skipped": s.skipped,
                            }
                            for s in summaries
                        ],
                        indent=1,
                    )
                )
            print(f"\n(measured in {time.monotonic() - started:.0f} s)", flush=True)
            if args.profile:
                profile(instance, jwks.url, settings)
        finally:
            jwks.close()


if __name__ == "__main__":
    main()
