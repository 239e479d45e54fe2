"""How fast is request authentication? Prints a table; asserts nothing.

Run it from the repository root (``tox -e bench``, or directly)::

    python tests/benchmarks/bench.py            # the full run (a few minutes)
    python tests/benchmarks/bench.py --quick    # smaller samples, about a minute
    python tests/benchmarks/bench.py --profile  # also cProfile the two main paths

Every row is the median of repeated batches (the adapter rows: the fastest of
``ROUNDS`` interleaved rounds of that), measured in this one process and
run, next to the floor: one raw RS256 verify with ``cryptography``. The
scenario is a browser request as clerk-js leaves it: realistic headers, a few
unrelated cookies, both ``__session`` and ``__session_<suffix>`` (the same
token) plus ``__client_uat`` and its suffixed twin, and a v2 session token with
an active organization, features and ``fva``. "New token" rows use a token the
process has never seen (one per call, minted beforehand); "seen token" rows
send the same token every time, as a browser does for a minute. Every call
builds its ``AuthRequest`` from header strings no earlier call used, as an
adapter does for each request.

Floor rows time, alone, a step any exact answer takes (parsing a ``Cookie``
header, reading 13 headers into a dict, looking a header up, copying the
claims); the contract-floor rows take the "ours, cookie" rows' inputs through
``floor.contract_decision`` (the request built, the floor's decision, a
signed-in state), and one more floor row times Clerk's rules for that page
load written tersely (``floor.cookie_rules``). The adapter table adds a
pass-through middleware (what wrapping ``send`` / ``start_response`` costs),
the floor middlewares of ``floor.py`` (those steps alone, as a hand-written
middleware: what no exact middleware can go below; and the contract floor,
those steps plus the ``AuthRequest``, ``RequestState`` and ``Auth`` this
project's API hands an app, around bare apps, Starlette and Flask) and the
Starlette middleware's steps (``StepsASGI``).

Optional rows: clerk-backend-api (``pip install clerk-backend-api``) and
fastapi-clerk-auth (``pip install fastapi-clerk-auth``) are measured when
importable, and skipped with a note otherwise. The only network traffic is to
a JWKS server this script starts on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import functools
import gc
import importlib
import importlib.metadata
import io
import json
import os
import pstats
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:  # run as a script: the repository's tests package
    sys.path.insert(0, str(ROOT))

from clerk_middleware.adapters._common import build_options  # noqa: E402
from clerk_middleware.core import AuthRequest, ClerkOptions, authenticate_request  # noqa: E402
from clerk_middleware.core._backend import configure_backend, reset_backends  # noqa: E402
from clerk_middleware.core._cache import VerifiedToken, copy_claims  # noqa: E402
from clerk_middleware.core._jwt import decode_jwt  # noqa: E402
from clerk_middleware.core._request import header_fields, parse_clerk_cookies  # noqa: E402
from clerk_middleware.testing import OrgClaims, TestIssuer  # noqa: E402
from tests.benchmarks.floor import (  # noqa: E402
    CLAIMS,
    ContractFloorASGI,
    ContractFloorWSGI,
    FloorASGI,
    FloorDecisions,
    FloorWSGI,
    b64_segment,
    contract_auth,
    contract_decision,
    cookie_rules,
    hand_written,
)

APP = "https://app.example.com"
URL = f"{APP}/dashboard/settings?tab=profile"
FRONTEND_API = "clerk.example.com"
PAD = PKCS1v15()
SHA256 = hashes.SHA256()
Headers = list[tuple[str, str]]


# --- the scenario ---------------------------------------------------------------------------


@dataclass
class Scenario:
    """One production instance, its options, and request builders."""

    issuer: TestIssuer
    options: ClerkOptions
    suffix: str
    now: int

    def token(self, n: int) -> str:
        """A distinct v2 session token with an organization (``n`` varies the user)."""
        return self.issuer.session_token(
            f"user_2{n:024d}",
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

    def browser_headers(self, token: str | None) -> Headers:
        """The headers of a page load in Chrome, with clerk-js's cookies when ``token``."""
        cookies = [
            "_ga=GA1.1.1234567890.1700000000",
            "_gid=GA1.1.9876543210.1700000000",
            "theme=dark",
            "csrftoken=9b1c0f2e7d3a4b5c6d7e8f9a0b1c2d3e",
        ]
        if token is not None:
            uat = str(self.now - 100)
            cookies[2:2] = [
                f"__client_uat_{self.suffix}={uat}",
                f"__client_uat={uat}",
                f"__session_{self.suffix}={token}",
                f"__session={token}",
            ]
        cookies.append("_fbp=fb.1.1700000000000.1234567890")
        return [
            ("host", "app.example.com"),
            ("connection", "keep-alive"),
            ("upgrade-insecure-requests", "1"),
            (
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/126.0.0.0 Safari/537.36",
            ),
            (
                "accept",
                "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                "image/webp,*/*;q=0.8",
            ),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-user", "?1"),
            ("sec-fetch-dest", "document"),
            ("referer", f"{APP}/dashboard"),
            ("accept-encoding", "gzip, deflate, br, zstd"),
            ("accept-language", "en-US,en;q=0.9"),
            ("cookie", "; ".join(cookies)),
        ]

    def api_headers(self, token: str) -> Headers:
        """A ``fetch()`` from the app's frontend with a Bearer token."""
        return [
            ("host", "app.example.com"),
            ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0.0.0 Safari/537.36"),
            ("accept", "application/json"),
            ("authorization", f"Bearer {token}"),
            ("origin", APP),
            ("referer", f"{APP}/dashboard"),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "cors"),
            ("sec-fetch-dest", "empty"),
            ("accept-encoding", "gzip, deflate, br, zstd"),
            ("accept-language", "en-US,en;q=0.9"),
        ]


def clear_caches() -> None:
    """Forget every verified token (a no-op on versions without the cache)."""
    cache = optional_module("clerk_middleware.core._cache")
    if cache is not None:
        cache.verified_tokens.clear()


def fresh(headers: Headers) -> Headers:
    """The same headers in string objects no other request used (as an adapter makes them)."""
    return [(k.encode().decode(), v.encode().decode()) for k, v in headers]


def make_scenario() -> Scenario:
    issuer = TestIssuer(FRONTEND_API, production=True)
    options = issuer.options(authorized_parties=[APP])
    return Scenario(issuer, options, options.cookie_suffix, int(time.time()))


# --- timing ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table."""

    name: str
    micros: float | None
    note: str = ""


def median_micros(
    call: Callable[[Any], object], batches: Sequence[Sequence[Any]], *, warmup: int = 50
) -> float:
    """Median over batches of the mean µs per ``call(item)``.

    Garbage collection stays on, as it is part of what a request costs, but the
    prepared inputs are frozen out of it: they are not part of the workload.
    """
    for item in batches[0][:warmup]:
        call(item)
    gc.collect()
    gc.freeze()
    try:
        results = []
        for batch in batches:
            start = time.perf_counter()
            for item in batch:
                call(item)
            results.append((time.perf_counter() - start) / len(batch) * 1e6)
    finally:
        gc.unfreeze()
    return statistics.median(results)


def chunk(items: Sequence[Any], repeats: int) -> list[Sequence[Any]]:
    size = len(items) // repeats
    return [items[i * size : (i + 1) * size] for i in range(repeats)]


# --- the floors and the others ----------------------------------------------------------------


def optional_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


class _Requestish:
    """What clerk-backend-api reads from a request: ``headers``."""

    def __init__(self, headers: Headers) -> None:
        self.headers = dict(headers)


class JwksServer:
    """A JWKS document served on 127.0.0.1 (the only network use of this script)."""

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
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the measurements ---------------------------------------------------------------------------


def core_rows(sc: Scenario, batch: int, repeats: int, jwks: JwksServer) -> tuple[float, list[Row]]:
    options = sc.options
    assert options.public_key is not None
    key: RSAPublicKey = options.public_key
    count = batch * repeats
    print(f"minting {count} tokens ...", file=sys.stderr, flush=True)
    tokens = [sc.token(n) for n in range(count)]
    new_batches = chunk(tokens, repeats)
    raw_inputs = [
        (b64_segment(t.rsplit(".", 1)[1]), t.rsplit(".", 1)[0].encode()) for t in tokens[:batch]
    ]

    def raw(item: tuple[bytes, bytes]) -> None:
        key.verify(item[0], item[1], PAD, SHA256)

    raw_us = median_micros(raw, [raw_inputs] * repeats)
    rows = [Row("raw `cryptography` RS256 verify (preloaded key)", raw_us, "the floor")]

    now = time.time()
    rows.append(
        Row(
            "hand-written decode + verify + claims",
            median_micros(lambda t: hand_written(t, key, APP, now), new_batches),
        )
    )
    import jwt as pyjwt

    rows.append(
        Row(
            f"pyjwt {pyjwt.__version__} jwt.decode, preloaded key",
            median_micros(
                lambda t: pyjwt.decode(t, key, algorithms=["RS256"], leeway=5), new_batches
            ),
        )
    )

    rows += clerk_backend_api_rows(sc, new_batches)
    rows += fastapi_clerk_auth_rows(sc, new_batches, jwks)

    def ours(headers: Headers) -> None:
        state = authenticate_request(AuthRequest("GET", URL, headers), options)
        if not state.is_signed_in:
            raise RuntimeError(f"benchmark request not signed in: {state.reason}")

    clear_caches()
    cookie_new = [[sc.browser_headers(t) for t in b] for b in new_batches]
    rows.append(Row("ours, cookie, new token", median_micros(ours, cookie_new, warmup=0)))
    clear_caches()
    bearer_new = [[sc.api_headers(t) for t in b] for b in new_batches]
    rows.append(Row("ours, Bearer, new token", median_micros(ours, bearer_new, warmup=0)))
    seen = tokens[0]
    cookie_seen = [[fresh(sc.browser_headers(seen)) for _ in range(batch)] for _ in range(repeats)]
    rows.append(Row("ours, cookie, seen token", median_micros(ours, cookie_seen)))
    bearer_seen = [[fresh(sc.api_headers(seen)) for _ in range(batch)] for _ in range(repeats)]
    rows.append(Row("ours, Bearer, seen token", median_micros(ours, bearer_seen)))
    anonymous = [[fresh(sc.browser_headers(None)) for _ in range(batch)] for _ in range(repeats)]

    def ours_anonymous(headers: Headers) -> None:
        state = authenticate_request(AuthRequest("GET", URL, headers), options)
        if state.reason != "session-token-and-uat-missing":
            raise RuntimeError(f"benchmark request not anonymous: {state.reason}")

    rows.append(Row("ours, no Clerk cookies (anonymous)", median_micros(ours_anonymous, anonymous)))
    prebuilt = [
        [AuthRequest("GET", URL, fresh(sc.browser_headers(seen))) for _ in range(batch)]
        for _ in range(repeats)
    ]
    rows.append(
        Row(
            "ours, cookie, seen token, AuthRequest prebuilt",
            median_micros(lambda r: authenticate_request(r, options), prebuilt),
            "authenticate_request alone",
        )
    )
    rows += seen_floor_rows(sc, seen, batch, repeats)
    rows += contract_floor_rows(sc, cookie_new, cookie_seen)

    # JWKS mode: keys from a (local) Backend API instead of jwt_key.
    remote = sc.issuer.options(networkless=False, authorized_parties=[APP], api_url=jwks.url)
    configure_backend(remote)

    def ours_remote(headers: Headers) -> None:
        state = authenticate_request(AuthRequest("GET", URL, headers), remote)
        if not state.is_signed_in:
            raise RuntimeError(f"benchmark request not signed in: {state.reason}")

    clear_caches()
    rows.append(Row("ours, cookie, new token, JWKS (warm)", median_micros(ours_remote, cookie_new)))
    rows.append(
        Row("ours, cookie, seen token, JWKS (warm)", median_micros(ours_remote, cookie_seen))
    )
    reset_backends()
    return raw_us, rows


def contract_floor_rows(
    sc: Scenario, cookie_new: list[list[Headers]], cookie_seen: list[list[Headers]]
) -> list[Row]:
    """The contract floor of ``authenticate_request`` on the rows "ours, cookie, ...".

    The same inputs as those rows, through ``floor.contract_decision``: the
    request built as ours is, the floor's decision, a signed-in state. What ours
    costs beyond it is the work of Clerk's rules (and of remembering a
    decision); what it costs beyond the floor rows is what the contract's two
    objects cost. Then the least those rules cost: ``floor.cookie_rules``, on
    the request's cookies parsed and its token decoded.
    """
    decisions = FloorDecisions(sc.issuer.jwt_key, APP)

    def floor(headers: Headers) -> None:
        if contract_decision(decisions, "GET", URL, headers) is None:
            raise RuntimeError("benchmark request refused by the contract floor")

    # Clerk's rules alone, on what the contract floor has already parsed and decoded.
    fields = dict(cookie_seen[0][0])
    cookies = parse_clerk_cookies(fields["cookie"])
    token = cookies["__session"]
    decoded = {token: decode_jwt(token)}
    rules = {
        "suffix": sc.suffix,
        "frontend_api": sc.options.original_frontend_api,
        "referrer": fields["referer"],
        "origin": APP,
    }
    if cookie_rules(cookies, decoded, **rules) != token:
        raise RuntimeError("the benchmark request fails the terse cookie rules")
    return [
        Row(
            "contract floor, cookie, new token",
            median_micros(floor, cookie_new, warmup=0),
            "AuthRequest in, RequestState out",
        ),
        Row("contract floor, cookie, seen token", median_micros(floor, cookie_seen)),
        Row(
            "floor: Clerk's cookie rules of a page load, tersely",
            median_micros(
                lambda _: cookie_rules(cookies, decoded, **rules),
                [[None] * len(b) for b in cookie_seen],
            ),
            "parsed and decoded already",
        ),
    ]


def seen_floor_rows(sc: Scenario, token: str, batch: int, repeats: int) -> list[Row]:
    """What any exact answer for a repeated request must do at least, measured alone.

    Looking the request up means reading its whole ``Cookie`` header (hash and
    compare, here in a one-entry dict), and the app must get claims it may
    change (a copy of the remembered ones).
    """
    cookie = dict(sc.browser_headers(token))["cookie"]
    memo = {cookie: token}
    fresh_cookies = [[cookie.encode().decode() for _ in range(batch)] for _ in range(repeats)]
    payload = decode_jwt(token).payload
    assert sc.options.public_key is not None
    plan = VerifiedToken(decode_jwt(token), sc.options.public_key).copy_plan  # as a hit has it
    fresh_headers = [
        [fresh(sc.browser_headers(token)) for _ in range(batch)] for _ in range(repeats)
    ]
    return [
        Row(
            "floor: parse the Cookie header (Clerk's pairs only)",
            median_micros(parse_clerk_cookies, fresh_cookies),
            "what a new Cookie header costs first",
        ),
        Row(
            "floor: header dict from 13 fresh (name, value) pairs",
            median_micros(header_fields, fresh_headers),
            "what reading any request costs",
        ),
        Row(
            "floor: look up a fresh 2 KB Cookie header in a dict",
            median_micros(memo.get, fresh_cookies),
            "hash + compare",
        ),
        Row(
            "floor: a private copy of the claims",
            median_micros(lambda p: copy_claims(p, plan), [[payload] * batch] * repeats),
            "copy_claims",
        ),
    ]


def clerk_backend_api_rows(sc: Scenario, new_batches: list[Sequence[str]]) -> list[Row]:
    security = optional_module("clerk_backend_api.security")
    types = optional_module("clerk_backend_api.security.types")
    if security is None or types is None:
        note = "skipped: pip install clerk-backend-api"
        return [Row("clerk-backend-api authenticate_request", None, note)]
    version = importlib.metadata.version("clerk-backend-api")
    options = types.AuthenticateRequestOptions(jwt_key=sc.issuer.jwt_key, authorized_parties=[APP])
    signed_in = types.AuthStatus.SIGNED_IN

    def call(headers: Headers) -> None:
        state = security.authenticate_request(_Requestish(headers), options)
        if state.status != signed_in:
            raise RuntimeError(f"clerk-backend-api did not sign in: {state.reason}")

    bearer = [[[("Authorization", f"Bearer {t}")] for t in b] for b in new_batches]
    cookie = [[sc.browser_headers(t) for t in b] for b in new_batches]
    note = "jwt_key (networkless)"
    name = f"clerk-backend-api {version} authenticate_request"
    return [
        Row(f"{name}, Bearer", median_micros(call, bearer), note),
        Row(f"{name}, cookie", median_micros(call, cookie), note),
    ]


def fastapi_clerk_auth_rows(
    sc: Scenario, new_batches: list[Sequence[str]], jwks: JwksServer
) -> list[Row]:
    module = optional_module("fastapi_clerk_auth")
    if module is None:
        return [Row("fastapi-clerk-auth", None, "skipped: pip install fastapi-clerk-auth")]
    from starlette.requests import Request

    version = importlib.metadata.version("fastapi-clerk-auth")
    bearer = module.ClerkHTTPBearer(module.ClerkConfig(jwks_url=f"{jwks.url}/v1/jwks"))

    def scope(token: str) -> dict[str, Any]:
        return {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
        }

    async def run(batch: Sequence[str]) -> float:
        start = time.perf_counter()
        for token in batch:
            credentials = await bearer(Request(scope(token)))
            if credentials is None or credentials.decoded is None:
                raise RuntimeError("fastapi-clerk-auth did not verify the token")
        return (time.perf_counter() - start) / len(batch) * 1e6

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run(new_batches[0][:20]))  # warm the JWKS
        micros = statistics.median(loop.run_until_complete(run(b)) for b in new_batches)
    finally:
        loop.close()
    return [Row(f"fastapi-clerk-auth {version}, Bearer", micros, "JWKS on 127.0.0.1, warm")]


# --- adapters ---------------------------------------------------------------------------------


def http_scope(headers: Headers) -> dict[str, Any]:
    """The ASGI scope of a browser's ``GET /`` on the app, with ``headers`` as bytes."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers],
        "server": ("app.example.com", 443),
        "client": ("203.0.113.7", 51234),
    }


def drain(body: Any) -> None:
    """Send a WSGI body as a server does: every chunk, then ``close()`` when it has one."""
    for _ in body:
        pass
    close = getattr(body, "close", None)
    if close is not None:
        close()


def bare_runs(sc: Scenario, headers: Headers, batch: int, repeats: int) -> dict[str, float]:
    """µs per signed-in request of the middlewares around a trivial app, no framework.

    The app answers at once; under a middleware it first reads the user id as a
    handler would (``get_auth(...).user_id``; the floor's claims; the contract
    floor's ``Auth``). Without a
    framework's own 20-150 µs per request, the middlewares' differences stand
    out of the noise.
    """
    from clerk_middleware.adapters.asgi import ClerkASGIMiddleware
    from clerk_middleware.adapters.asgi import get_auth as asgi_auth
    from clerk_middleware.adapters.wsgi import ClerkWSGIMiddleware
    from clerk_middleware.adapters.wsgi import get_auth as wsgi_auth

    options = build_options(_clerk_settings(sc))
    key = sc.issuer.jwt_key
    answered: list[bool] = []

    async def plain(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    class Scoped:  # what get_auth reads of a Starlette request
        def __init__(self, scope: Any) -> None:
            self.scope = scope

    async def ours_asgi(scope: Any, receive: Any, send: Any) -> None:
        answered.append(asgi_auth(Scoped(scope)).user_id is not None)
        await plain(scope, receive, send)

    async def floor_asgi(scope: Any, receive: Any, send: Any) -> None:
        answered.append(bool(CLAIMS.get()["sub"]))
        await plain(scope, receive, send)

    async def contract_asgi(scope: Any, receive: Any, send: Any) -> None:
        answered.append(contract_auth().user_id is not None)
        await plain(scope, receive, send)

    def plain_wsgi(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("content-type", "text/plain")])
        return iter([b"ok"])  # not a list: the middleware binds the body's iteration

    def ours_wsgi(environ: Any, start_response: Any) -> Any:
        answered.append(wsgi_auth(environ).user_id is not None)
        return plain_wsgi(environ, start_response)

    def floor_wsgi(environ: Any, start_response: Any) -> Any:
        answered.append(bool(CLAIMS.get()["sub"]))
        return plain_wsgi(environ, start_response)

    def contract_wsgi(environ: Any, start_response: Any) -> Any:
        answered.append(contract_auth().user_id is not None)
        return plain_wsgi(environ, start_response)

    asgi_apps = {
        "ASGI, no middleware": plain,
        "ASGI, floor middleware": FloorASGI(floor_asgi, key, APP),
        "ASGI, contract floor": ContractFloorASGI(contract_asgi, key, APP),
        "ASGI, clerk_middleware": ClerkASGIMiddleware(ours_asgi, options),
    }
    wsgi_apps = {
        "WSGI, no middleware": plain_wsgi,
        "WSGI, floor middleware": FloorWSGI(floor_wsgi, key, APP),
        "WSGI, contract floor": ContractFloorWSGI(contract_wsgi, key, APP),
        "WSGI, clerk_middleware": ClerkWSGIMiddleware(ours_wsgi, options),
    }
    scope_template = http_scope(headers)
    raw_headers = scope_template["headers"]
    environ_template = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "app.example.com",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "https",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return None

    async def asgi_batch(app: Any) -> float:
        total = 0.0
        for _ in range(batch):
            # Fresh bytes per request, as a server makes them (see starlette_runs).
            scope = {**scope_template, "headers": [(k + b"", v + b"") for k, v in raw_headers]}
            start = time.perf_counter()
            await app(scope, receive, send)
            total += time.perf_counter() - start
        return total / batch * 1e6

    def wsgi_batch(app: Any) -> float:
        total = 0.0
        for _ in range(batch):
            environ = {
                k: v.encode("latin-1").decode("latin-1") for k, v in environ_template.items()
            }
            start = time.perf_counter()
            body = app(environ, start_response)
            drain(body)
            total += time.perf_counter() - start
        return total / batch * 1e6

    loop = asyncio.new_event_loop()

    def measure_asgi(app: Any) -> float:
        loop.run_until_complete(asgi_batch(app))
        return statistics.median(loop.run_until_complete(asgi_batch(app)) for _ in range(repeats))

    def measure_wsgi(app: Any) -> float:
        wsgi_batch(app)
        return statistics.median(wsgi_batch(app) for _ in range(repeats))

    try:
        found = _interleaved(
            {
                **{name: functools.partial(measure_asgi, app) for name, app in asgi_apps.items()},
                **{name: functools.partial(measure_wsgi, app) for name, app in wsgi_apps.items()},
            }
        )
    finally:
        loop.close()
    if not all(answered):
        raise RuntimeError("a bare-app request was not signed in")
    return found


def adapter_rows(sc: Scenario, batch: int, repeats: int) -> list[Row]:
    token = sc.token(10**6)
    rows: list[Row] = []
    bare = bare_runs(sc, sc.browser_headers(token), batch, repeats)
    for kind in ("ASGI", "WSGI"):
        off = bare.pop(f"{kind}, no middleware")
        rows.append(Row(f"bare {kind} app, no middleware (signed in, seen token)", off))
        for name in (
            f"{kind}, floor middleware",
            f"{kind}, contract floor",
            f"{kind}, clerk_middleware",
        ):
            micros = bare.pop(name)
            label = f"bare {name} + reading the user id (signed in, seen token)"
            rows.append(Row(label, micros, _overhead(off, micros)))
    for label, headers in (
        ("signed in, seen token", sc.browser_headers(token)),
        ("anonymous", sc.browser_headers(None)),
    ):
        found = starlette_runs(sc, headers, batch, repeats, steps=label.startswith("signed in"))
        off = found.pop("no middleware")
        rows.append(Row(f"Starlette raw ASGI, no middleware ({label})", off))
        for name, micros in found.items():
            rows.append(
                Row(f"Starlette raw ASGI, {name} ({label})", micros, _overhead(off, micros))
            )
        found = flask_runs(sc, headers, batch, repeats, floor=label.startswith("signed in"))
        off = found.pop("no middleware")
        rows.append(Row(f"Flask WSGI, no middleware ({label})", off))
        for name, micros in found.items():
            rows.append(Row(f"Flask WSGI, {name} ({label})", micros, _overhead(off, micros)))
    return rows


class PassThroughASGI:
    """The least a header-adding ASGI middleware does: wrap ``send``, call the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        extra: list[tuple[bytes, bytes]] = []

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and extra:
                message = {**message, "headers": [*message["headers"], *extra]}
            await send(message)

        await self.app(scope, receive, wrapped)


class StepsASGI:
    """The middleware's work up to ``level``, then the app: where its time goes.

    1: read the request (``auth_request_from_scope``); 2: and authenticate it;
    3: and build the request's context objects; 4: and bind the context and
    wrap ``send`` (all the middleware does for a signed-in request).
    """

    def __init__(self, app: Any, options: ClerkOptions, level: int) -> None:
        from clerk_middleware.adapters import _common, asgi
        from clerk_middleware.core import authenticate_request_async

        self.app = app
        self.options = options
        self.level = level
        self.asgi = asgi
        self.common = _common
        self.authenticate = authenticate_request_async

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        asgi, common = self.asgi, self.common
        request = asgi.auth_request_from_scope(scope)
        if self.level >= 2:
            state = await self.authenticate(request, self.options)
        if self.level >= 3:
            common.handshake_answer(state)
            context = common.RequestContext(request, state, self.options)
            scope[common.CONTEXT_KEY] = context
            scope["auth"] = asgi.ClerkCredentials(context)
            scope["user"] = asgi.ClerkUser(context)
        if self.level >= 4:
            token = common.bind_context(context)
            try:
                await self.app(scope, receive, asgi.Sender(send, state.headers))
            finally:
                common.reset_context(token)
            return
        await self.app(scope, receive, send)


def pass_through_wsgi(app: Any) -> Any:
    """The least a header-adding WSGI middleware does: wrap ``start_response``."""
    extra: list[tuple[str, str]] = []

    def middleware(environ: Any, start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, *extra], exc_info)

        return app(environ, start)

    return middleware


def _overhead(off: float, on: float) -> str:
    return f"+{on - off:.1f} µs, overhead {(on - off) / off * 100:.0f}%"


def _clerk_settings(sc: Scenario) -> dict[str, Any]:
    return {
        "secret_key": sc.issuer.secret_key,
        "publishable_key": sc.issuer.publishable_key,
        "jwt_key": sc.issuer.jwt_key,
        "authorized_parties": [APP],
    }


def starlette_runs(
    sc: Scenario, headers: Headers, batch: int, repeats: int, *, steps: bool = False
) -> dict[str, float]:
    """µs per request of a trivial Starlette app without and with each middleware.

    With ``steps``, also the middleware's work in stages (``StepsASGI``).
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from clerk_middleware.adapters.starlette import clerk_middleware

    async def index(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    stacks: dict[str, list[Middleware]] = {
        "no middleware": [],
        "pass-through": [Middleware(PassThroughASGI)],
    }
    if steps:
        floor = Middleware(FloorASGI, key=sc.issuer.jwt_key, party=APP)
        stacks["floor middleware"] = [floor]
        contract = Middleware(ContractFloorASGI, key=sc.issuer.jwt_key, party=APP)
        stacks["contract floor"] = [contract]
        options = build_options(_clerk_settings(sc))
        for level, name in (
            (1, "reading the request"),
            (2, "+ authenticate_request_async"),
            (3, "+ context objects"),
            (4, "+ context variable and send wrapper"),
        ):
            stacks[name] = [Middleware(StepsASGI, options=options, level=level)]
    stacks["clerk_middleware"] = [clerk_middleware(**_clerk_settings(sc))]
    apps = {name: Starlette(routes=[Route("/", index)], middleware=m) for name, m in stacks.items()}
    template = http_scope(headers)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def run(app: Any) -> float:
        # Each request is timed on its own, from a scope made just before it, as a
        # server makes one per request (see flask_runs).
        total = 0.0
        for _ in range(batch):
            scope = dict(template)
            start = time.perf_counter()
            await app(scope, receive, send)
            total += time.perf_counter() - start
        return total / batch * 1e6

    def measure(app: Any) -> float:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(run(app))  # warm-up (and the middleware stack is built)
            return statistics.median(loop.run_until_complete(run(app)) for _ in range(repeats))
        finally:
            loop.close()

    found = _interleaved({name: functools.partial(measure, app) for name, app in apps.items()})
    if set(statuses) != {200}:
        raise RuntimeError(f"Starlette benchmark got statuses {sorted(set(statuses))}")
    return found


def flask_runs(
    sc: Scenario, headers: Headers, batch: int, repeats: int, *, floor: bool = False
) -> dict[str, float]:
    """µs per request of a trivial Flask app without and with each middleware.

    With ``floor``, also under ``FloorWSGI`` (signed-in requests only: it answers 401 else).
    """
    from flask import Flask
    from werkzeug.test import EnvironBuilder

    from clerk_middleware.adapters.flask import clerk_middleware

    def make() -> Flask:
        app = Flask("bench")
        app.add_url_rule("/", "index", lambda: "ok")
        return app

    plain = make()
    passing = make()
    passing.wsgi_app = pass_through_wsgi(passing.wsgi_app)  # type: ignore[method-assign]
    apps = {"no middleware": plain, "pass-through": passing}
    if floor:
        floored = make()
        floored.wsgi_app = FloorWSGI(  # type: ignore[method-assign]
            floored.wsgi_app, key=sc.issuer.jwt_key, party=APP
        )
        apps["floor middleware"] = floored
        contract = make()
        contract.wsgi_app = ContractFloorWSGI(  # type: ignore[method-assign]
            contract.wsgi_app, key=sc.issuer.jwt_key, party=APP
        )
        apps["contract floor"] = contract
    wrapped = make()
    clerk_middleware(app=wrapped, **_clerk_settings(sc))
    apps["clerk_middleware"] = wrapped
    builder = EnvironBuilder(path="/", base_url=APP, headers=headers)
    template = builder.get_environ()
    builder.close()
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        return None

    def run(app: Flask) -> float:
        total = 0.0
        for _ in range(batch):
            # Fresh strings per request, as a WSGI server makes them, just before
            # the request (see starlette_runs): inputs built in bulk beforehand are
            # out of the CPU caches by the time their request runs, which bills
            # whichever code reads them first for memory no server leaves cold.
            environ = {
                **{
                    k: v.encode("latin-1").decode("latin-1") if isinstance(v, str) else v
                    for k, v in template.items()
                },
                "wsgi.input": io.BytesIO(b""),
            }
            start = time.perf_counter()
            body = app(environ, start_response)
            drain(body)
            total += time.perf_counter() - start
            del environ, body  # freed after its request, as a server frees it
        return total / batch * 1e6

    def measure(app: Flask) -> float:
        run(app)
        return statistics.median(run(app) for _ in range(repeats))

    found = _interleaved({name: functools.partial(measure, app) for name, app in apps.items()})
    if set(statuses) != {"200 OK"}:
        raise RuntimeError(f"Flask benchmark got statuses {sorted(set(statuses))}")
    return found


#: Rounds of the adapter runs: each configuration once per round.
ROUNDS = 7


def _interleaved(runs: dict[str, Callable[[], float]]) -> dict[str, float]:
    # Alternate them so a slow phase of the machine hits each alike, and keep each
    # one's fastest round: other processes only ever add time, and the adapter rows
    # differ by a few µs in ~20-150 µs requests, less than one round's swings here.
    results: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(ROUNDS):
        for name, run in runs.items():
            results[name].append(run())
    return {name: min(found) for name, found in results.items()}


# --- memory -----------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def synthetic_tokens(sc: Scenario, count: int) -> Iterator[str]:
    """Distinct tokens of the scenario's shape and size whose signatures do not verify."""
    header, payload, signature = sc.token(0).split(".")
    claims = json.loads(b64_segment(payload))
    for n in range(count):
        claims["sid"] = f"sess_x{n:024d}"
        body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
        yield f"{header}.{body.rstrip(b'=').decode()}.{signature}"


def memory_phase(name: str, count: int) -> str:
    """One memory measurement, run in a fresh process (RSS never shrinks within one)."""
    import subprocess

    result = subprocess.run(  # noqa: S603 - this interpreter running this file
        [sys.executable, __file__, "--memory-phase", name, "--count", str(count)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return f"{name}: failed: {result.stderr.strip().splitlines()[-1:]}"
    return result.stdout.strip()


def run_memory_phase(name: str, count: int) -> None:
    sc = make_scenario()
    key = sc.options.public_key
    assert key is not None
    cache_module = optional_module("clerk_middleware.core._cache")
    if cache_module is None:
        print(f"{name}: no caches in this version")
        return
    tokens = synthetic_tokens(sc, count)
    gc.collect()
    base = rss_bytes()
    if name == "tokens":
        # The cache API directly: it stores what it is given (verification happens
        # before add()), so a million signatures need not be made to fill it.
        cache = cache_module.VerifiedTokenCache()
        bound = cache_module.MAX_ENTRIES
        at_bound = 0
        for n, token in enumerate(tokens):
            cache.add(decode_jwt(token), key)
            if n + 1 == bound:
                gc.collect()
                at_bound = rss_bytes() - base
        gc.collect()
        grown = rss_bytes() - base
        print(
            f"verified-token cache: {count:,} distinct tokens ({len(sc.token(0))} chars) "
            f"stored; {len(cache):,} kept (bound {bound:,}). Process grew "
            f"{at_bound / 2**20:.1f} MB after the first {bound:,}, "
            f"{grown / 2**20:.1f} MB after all ({(grown - at_bound) / 2**20:+.1f} MB more)"
        )
    elif name == "cookies":
        request = importlib.import_module("clerk_middleware.core._request")
        header = dict(sc.browser_headers(sc.token(0)))["cookie"]
        for n in range(count):
            varied = f"{header}; _n={n}"
            request.remember_cookie_header(varied, request.parse_cookie_header(varied))
        gc.collect()
        print(
            f"cookie-header memo: {count:,} distinct {len(header)}-char headers remembered "
            f"(bound {request.COOKIE_MEMO_ENTRIES:,} headers of at most "
            f"{request.COOKIE_MEMO_MAX_LENGTH:,} chars). Process grew "
            f"{(rss_bytes() - base) / 2**20:.1f} MB"
        )
    elif name == "decisions":
        # The memo API directly, as for the token cache: what the flow stores is
        # (Cookie header, origin, referrer) -> the verified entry and the token.
        options = sc.options
        memo = options.decision_memo
        if memo is None:
            print("decision memo: not in this version")
            return
        token = sc.token(0)
        entry = cache_module.VerifiedToken(decode_jwt(token), key)
        header = dict(sc.browser_headers(token))["cookie"]
        for n in range(count):
            memo.put((f"{header}; _n={n}", APP, None), entry, token)
        gc.collect()
        print(
            f"decision memo: {count:,} distinct {len(header)}-char Cookie headers remembered; "
            f"{len(memo):,} kept (bound {cache_module.DECISION_ENTRIES:,}). Process grew "
            f"{(rss_bytes() - base) / 2**20:.1f} MB"
        )
    else:  # forged tokens through the whole path: none may be cached, nothing may grow
        refused = 0
        for token in tokens:
            state = authenticate_request(
                AuthRequest("GET", URL, sc.browser_headers(token)), sc.options
            )
            refused += state.reason == "token-invalid-signature"
        gc.collect()
        print(
            f"{count:,} distinct forged tokens through authenticate_request: {refused:,} "
            f"refused, {len(cache_module.verified_tokens)} cached. Process grew "
            f"{(rss_bytes() - base) / 2**20:.1f} MB"
        )


# --- profile ----------------------------------------------------------------------------------


def profile(sc: Scenario) -> None:
    options = sc.options
    tokens = [sc.token(n) for n in range(2000, 2600)]
    for title, items in (
        ("new token, cookie", [sc.browser_headers(t) for t in tokens]),
        ("seen token, cookie", [fresh(sc.browser_headers(tokens[0])) for _ in range(3000)]),
    ):
        clear_caches()
        gc.collect()
        gc.freeze()  # as in median_micros: the prepared inputs are not the workload
        profiler = cProfile.Profile()
        profiler.enable()
        for headers in items:
            authenticate_request(AuthRequest("GET", URL, headers), options)
        profiler.disable()
        gc.unfreeze()
        print(f"\n--- cProfile: {title}, {len(items)} requests (tottime, top 15)")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)


# --- main -------------------------------------------------------------------------------------


def print_table(raw_us: float, rows: list[Row]) -> None:
    width = max(len(r.name) for r in rows)
    print(f"\n{'path':<{width}}  {'µs/call':>8}  {'x raw':>6}  note")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 6}  ----")
    for row in rows:
        if row.micros is None:
            print(f"{row.name:<{width}}  {'-':>8}  {'-':>6}  {row.note}")
        else:
            ratio = row.micros / raw_us
            print(f"{row.name:<{width}}  {row.micros:8.1f}  {ratio:6.2f}  {row.note}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples")
    parser.add_argument("--profile", action="store_true", help="cProfile the main paths")
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory figures")
    parser.add_argument("--memory-phase", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_phase:
        run_memory_phase(args.memory_phase, args.count)
        return
    batch, repeats = (300, 5) if args.quick else (500, 9)
    distinct, forged = (100_000, 5_000) if args.quick else (1_000_000, 20_000)

    sc = make_scenario()
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {batch} calls per batch, "
        f"median of {repeats} batches; token {len(sc.token(0))} chars",
        flush=True,
    )
    jwks = JwksServer(sc.issuer.jwks())
    try:
        raw_us, rows = core_rows(sc, batch, repeats, jwks)
        print_table(raw_us, rows)
        print(
            "\nAdapter overhead (a trivial endpoint, driven in-process; the fastest of "
            f"{ROUNDS} interleaved rounds):",
            flush=True,
        )
        print_table(raw_us, adapter_rows(sc, batch, repeats))
    finally:
        jwks.close()
    if not args.skip_memory:
        print("\nMemory (RSS of a fresh process per line):", flush=True)
        phases = (("tokens", distinct), ("cookies", distinct), ("decisions", distinct))
        for name, count in (*phases, ("forged", forged)):
            print(f"- {memory_phase(name, count)}", flush=True)
    if args.profile:
        profile(sc)


if __name__ == "__main__":
    main()
