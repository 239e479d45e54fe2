"""The ``frontend_api_proxy`` option and the pure parts of the proxy.

How requests and answers are rewritten is compared with Clerk's own proxy in
tests/conformance/test_proxy_conformance.py; forwarding over HTTP is tested in
every adapter (tests/adapters/test_proxy_every_adapter.py). These check the
option's validation and the cases Clerk's proxy cannot meet.
"""

from __future__ import annotations

from typing import Any

import pytest

from clerk_middleware.core import ConfigurationError, FrontendApiProxy
from clerk_middleware.core._proxy import (
    ProxyAnswer,
    ProxyCall,
    fapi_url_for,
    plan_proxy,
    proxy_path_matches,
    proxy_response_headers,
)
from clerk_middleware.testing import TestIssuer


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"path": "clerk"}, "must be a path"),
        ({"path": "//evil.test"}, "must be a path"),
        ({"path": "/a?b"}, "must be a path"),
        ({"path": "/"}, "cannot be '/'"),
        ({"fapi_url": "ftp://x.test"}, "http\\(s\\) URL"),
        ({"fapi_url": "https://u:p@x.test"}, "credentials"),
        ({"fapi_url": "https://x.test/?a=1"}, "credentials"),
        ({"timeout": 0}, "positive number"),
        ({"max_request_bytes": -1}, "positive int"),
        ({"enabled": "yes"}, "True or False"),
        ({"proxyPath": "/x"}, "Unknown frontend_api_proxy key"),
        ("on", "must be a FrontendApiProxy"),
    ],
)
def test_malformed_options_are_refused(issuer: TestIssuer, value: Any, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        issuer.options(frontend_api_proxy=value)


def test_the_option_and_its_path() -> None:
    proxy = FrontendApiProxy(path="/clerk/", fapi_url="http://127.0.0.1:5/")
    assert (proxy.path, proxy.fapi_url) == ("/clerk", "http://127.0.0.1:5")
    assert proxy_path_matches("/clerk", proxy) and proxy_path_matches("/clerk/v1", proxy)
    assert not proxy_path_matches("/clerkx", proxy) and not proxy_path_matches("/", proxy)


@pytest.mark.parametrize(
    ("frontend_api", "expected"),
    [
        ("clerk.example.com", "https://frontend-api.clerk.dev"),
        ("happy-hippo-1.clerk.accounts.dev", "https://frontend-api.clerk.dev"),
        ("clerk.foo.lcl.dev", "https://frontend-api.clerk.dev"),
        ("foo.accounts.lclclerk.com", "https://frontend-api.lclclerk.com"),
        ("foo.accountsstage.dev", "https://frontend-api.clerkstage.dev"),
    ],
)
def test_the_frontend_api_of_a_key(frontend_api: str, expected: str) -> None:
    assert fapi_url_for(frontend_api) == expected


def _plan(headers: list[tuple[str, str]]) -> ProxyCall:
    planned = plan_proxy(
        "GET",
        "https://app.test/__clerk/v1/client",
        headers,
        FrontendApiProxy(),
        secret_key="sk_test_x",
        frontend_api="clerk.example.com",
    )
    assert isinstance(planned, ProxyCall)
    return planned


def test_header_values_a_client_library_would_refuse_are_dropped() -> None:
    planned = _plan([("x-a", " padded\t"), ("x-b", "line\r\nbreak"), ("x-c", "nul\x00")])
    sent = dict(planned.headers)
    assert sent["x-a"] == "padded" and "x-b" not in sent and "x-c" not in sent
    assert "sk_test_x" not in repr(planned)


def test_a_location_that_is_not_a_url_is_passed_on() -> None:
    planned = _plan([])
    for location in ("http://[bad", "https://frontend-api.clerk.dev:99999/x"):
        headers = dict(proxy_response_headers([("location", location)], planned))
        assert headers["location"] == location


def test_the_error_answers_say_what_failed() -> None:
    answer = plan_proxy(
        "GET",
        "https://app.test/other",
        [],
        FrontendApiProxy(),
        secret_key="s",
        frontend_api="clerk.example.com",
    )
    assert isinstance(answer, ProxyAnswer) and answer.status == 400
    assert b"proxy_path_mismatch" in answer.body


def test_forwarding_reuses_one_pooled_connection() -> None:
    # A client (and TLS context) per proxied request cost ~25 ms each; the sync path
    # keeps one pooled client, so consecutive requests share a keep-alive connection.
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from clerk_middleware.core._proxy import forward

    ports: list[int] = []

    class Upstream(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            ports.append(self.client_address[1])
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proxy = FrontendApiProxy(fapi_url=f"http://127.0.0.1:{server.server_address[1]}")
        planned = plan_proxy(
            "GET",
            "https://app.test/__clerk/v1/client",
            [],
            proxy,
            secret_key="sk_test_x",
            frontend_api="clerk.example.com",
        )
        assert isinstance(planned, ProxyCall)
        for _ in range(3):
            answer = forward(planned, b"", proxy)
            assert answer.chunks is not None and b"".join(answer.chunks) == b"ok"  # type: ignore[arg-type]
            answer.closer()
    finally:
        server.shutdown()
        server.server_close()
    assert len(ports) == 3 and len(set(ports)) == 1
