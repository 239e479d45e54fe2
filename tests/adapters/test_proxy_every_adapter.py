"""The Frontend API proxy (``frontend_api_proxy``) in every adapter, against a real upstream.

A stand-in Frontend API (``http.server`` on 127.0.0.1) answers what it
received (method, path, query, headers, body), with two ``Set-Cookie``
headers, and redirects on ``/redirect``. Every adapter's matrix app, driven
through its own test client, must forward requests under ``/__clerk`` to it
(nothing reaches the app or authentication), pass its answer back with Clerk's
header rules, and leave every other path alone.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from clerk_middleware.testing import TestIssuer

from . import matrix
from .clients import factories

ADAPTERS = list(factories())


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/redirect"):
            self.send_response(307)
            self.send_header("location", f"{self.server.base}/v1/callback?x=1")  # type: ignore[attr-defined]
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if self.path.startswith("/slow"):
            time.sleep(2)
        if self.path.startswith("/huge"):
            payload = b"x" * (3 * 1024 * 1024)
        else:
            payload = json.dumps(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("latin-1"),
                }
            ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("set-cookie", "__client=abc; Path=/; HttpOnly")
        self.send_header("set-cookie", "__client_uat=1; Path=/")
        self.send_header("x-upstream", "yes")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer  # noqa: N815 - http.server's names


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early (a cut-off answer) is expected here


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), _Upstream)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    server.base = base  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()


def _client(issuer: TestIssuer, adapter: str, upstream: str, **proxy: Any) -> matrix.Client:
    settings = matrix.settings(issuer, frontend_api_proxy={"fapi_url": upstream, **proxy})
    return factories()[adapter](settings)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_requests_under_the_path_reach_the_frontend_api(
    issuer: TestIssuer, adapter: str, upstream: str
) -> None:
    get = _client(issuer, adapter, upstream)
    headers = {
        **matrix.request_headers(issuer, "signed-in", "api"),
        "x-forwarded-for": "203.0.113.9",
    }
    outcome = get("/__clerk/v1/client?_clerk_js_version=5", headers)
    assert outcome.status == 200, outcome.body[:300]
    seen = json.loads(outcome.body)
    assert (seen["method"], seen["path"]) == ("GET", "/v1/client?_clerk_js_version=5")
    sent = seen["headers"]
    assert sent["clerk-secret-key"] == issuer.secret_key
    assert sent["clerk-proxy-url"] == f"{matrix.BASE}/__clerk"
    assert sent["host"] == upstream.removeprefix("http://")
    assert sent["accept-encoding"] == "identity"
    assert sent["x-forwarded-for"] == "203.0.113.9"
    # The browser's cookies go to Clerk (Django's async test client adds an empty
    # Cookie field of its own, which the request's joined field ends with).
    assert sent["cookie"].rstrip("; ") == headers["cookie"]
    # The answer: both cookies, the upstream's headers, no Clerk auth headers (no auth ran).
    assert outcome.values("set-cookie") == [
        "__client=abc; Path=/; HttpOnly",
        "__client_uat=1; Path=/",
    ]
    assert outcome.values("x-upstream") == ["yes"]
    assert outcome.values("x-clerk-auth-status") == []


# The WSGI matrix apps run under wsgiref's validator, which wants a Content-Type on
# every answer; Clerk passes a bodiless redirect on without one (the Flask app below
# checks it unvalidated).
@pytest.mark.parametrize("adapter", [name for name in ADAPTERS if name not in ("wsgi", "flask")])
def test_redirects_come_back_through_the_proxy(
    issuer: TestIssuer, adapter: str, upstream: str
) -> None:
    get = _client(issuer, adapter, upstream)
    outcome = get("/__clerk/redirect", matrix.request_headers(issuer, "signed-out", "api"))
    assert outcome.status == 307
    assert outcome.location == f"{matrix.BASE}/__clerk/v1/callback?x=1"


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_other_paths_are_the_apps(issuer: TestIssuer, adapter: str, upstream: str) -> None:
    get = _client(issuer, adapter, upstream)
    headers = matrix.request_headers(issuer, "signed-in", "api")
    # The app's view, authenticated as usual.
    view = get("/view/fields", headers)
    assert (view.status, view.values("x-upstream")) == (200, [])
    assert json.loads(view.body)["user_id"] == "user_2abc"
    # A path that only starts like the proxy's, and one that leaves it by a dot
    # segment (Clerk matches the resolved path): the app's, a 404 or its catch-all
    # view (the plain ASGI and WSGI apps answer every path), never the Frontend API's.
    for path in ("/__clerkx/v1", "/__clerk/../elsewhere"):
        outcome = get(path, headers)
        assert outcome.values("x-upstream") == [], path
        assert b"clerk-secret-key" not in outcome.body
        if outcome.status != 404:
            assert (outcome.status, json.loads(outcome.body)["user_id"]) == (200, "user_2abc")


@pytest.mark.parametrize("adapter", ["flask", "starlette", "django", "wsgi"])
def test_an_unreachable_or_slow_frontend_api_is_a_502(issuer: TestIssuer, adapter: str) -> None:
    get = _client(issuer, adapter, "http://127.0.0.1:9")  # the discard port: nothing listens
    outcome = get("/__clerk/v1/client", matrix.request_headers(issuer, "signed-out", "api"))
    assert outcome.status == 502
    (error,) = json.loads(outcome.body)["errors"]
    assert error["code"] == "proxy_request_failed"
    assert issuer.secret_key not in outcome.body.decode()


def test_timeouts_limits_and_bodies(issuer: TestIssuer, upstream: str) -> None:
    from flask import Flask
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from clerk_middleware.adapters import flask as flask_adapter
    from clerk_middleware.adapters import starlette as starlette_adapter

    settings = matrix.settings(
        issuer,
        frontend_api_proxy={
            "fapi_url": upstream,
            "timeout": 0.5,
            "max_request_bytes": 1000,
            "max_response_bytes": 1024 * 1024,
        },
    )
    app = Flask(__name__)
    flask_adapter.clerk_middleware(**settings).init_app(app)
    asgi = Starlette(middleware=[starlette_adapter.clerk_middleware(**settings)])
    clients: list[Any] = [
        app.test_client(),
        TestClient(asgi, base_url=matrix.BASE, follow_redirects=False),
    ]
    form = b"identifier=ada%40example.com"
    for client in clients:
        send: Any = client.post
        body_key = "content" if isinstance(client, TestClient) else "data"
        posted = send("/__clerk/v1/client/sign_ins", **{body_key: form})
        seen = json.loads(posted.text)
        assert seen["method"] == "POST" and seen["body"] == form.decode()
        too_big = send("/__clerk/v1/client", **{body_key: b"x" * 2000})
        assert too_big.status_code == 413
        assert json.loads(too_big.text)["errors"][0]["code"] == "proxy_request_too_large"
        slow = client.get("/__clerk/slow")
        assert slow.status_code == 502
        huge = client.get("/__clerk/huge")
        assert huge.status_code == 200
        assert len(huge.text) <= 1024 * 1024 + 65536  # cut off at the limit
        redirected = client.get("/__clerk/redirect")
        assert redirected.status_code == 307
        assert redirected.headers["location"].endswith("/__clerk/v1/callback?x=1")


def test_the_proxy_path_is_the_default_proxy_url(issuer: TestIssuer) -> None:
    options = issuer.options(frontend_api_proxy=True)
    assert options.proxy_url == "/__clerk"
    kept = issuer.options(frontend_api_proxy={"path": "/clerk-api/"}, proxy_url="https://p.test/x")
    assert (kept.proxy_url, kept.frontend_api_proxy and kept.frontend_api_proxy.path) == (
        "https://p.test/x",
        "/clerk-api",
    )
    assert issuer.options(frontend_api_proxy={"enabled": False}).frontend_api_proxy is None
