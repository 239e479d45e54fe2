"""The Frontend API proxy, same request, same rewriting: ours against ``@clerk/backend``'s.

Each case runs once through Clerk's ``clerkFrontendApiProxy``
(``clerk_proxy_oracle.mjs``, its ``fetch`` answering with the case's upstream
response, so nothing leaves the process) and through ``plan_proxy`` and
``proxy_response_headers``. The request sent to the Frontend API (method, URL,
headers) and the answer (status, headers; the error bodies of the proxy's own
answers) must be identical.

Needs node >= 20 and ``npm ci`` in ``tests/conformance``; without them every test
fails and says so.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from clerk_middleware.core._proxy import (
    FrontendApiProxy,
    ProxyAnswer,
    plan_proxy,
    proxy_response_headers,
)
from clerk_middleware.testing import TestIssuer

from ._oracle import OracleError, run_oracle

pytestmark = pytest.mark.conformance

ISSUER = TestIssuer()
SECRET = ISSUER.secret_key
PUBLISHABLE = ISSUER.publishable_key
FAPI = "https://frontend-api.clerk.dev"

BROWSER = [
    ("accept", "application/json"),
    ("cookie", "__client_uat=1; __session=abc"),
    ("user-agent", "Mozilla/5.0"),
    ("origin", "https://app.example.com"),
]

#: (name, method, url, extra request headers)
REQUESTS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("root", "GET", "https://app.example.com/__clerk", []),
    ("root-slash", "GET", "https://app.example.com/__clerk/", []),
    ("client", "GET", "https://app.example.com/__clerk/v1/client?_clerk_js_version=5.0", []),
    (
        "post",
        "POST",
        "https://app.example.com/__clerk/v1/client/sign_ins",
        [
            ("content-type", "application/x-www-form-urlencoded"),
        ],
    ),
    (
        "hop-by-hop",
        "GET",
        "https://app.example.com/__clerk/v1/environment",
        [
            ("connection", "keep-alive, x-custom-hop"),
            ("keep-alive", "timeout=5"),
            ("x-custom-hop", "1"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic eA=="),
            ("upgrade", "h2c"),
        ],
    ),
    (
        "forwarded",
        "GET",
        "http://10.0.0.5:8000/__clerk/v1/client",
        [
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "app.example.com, internal"),
            ("x-forwarded-for", "203.0.113.7, 10.0.0.1"),
        ],
    ),
    (
        "forwarded-host-only",
        "GET",
        "http://10.0.0.5:8000/__clerk/v1/client",
        [
            ("x-forwarded-host", "app.example.com"),
        ],
    ),
    (
        "real-ip",
        "GET",
        "https://app.example.com/__clerk/v1/client",
        [
            ("x-real-ip", "198.51.100.2"),
            ("x-forwarded-for", "203.0.113.7"),
        ],
    ),
    (
        "cf-ip",
        "GET",
        "https://app.example.com/__clerk/v1/client",
        [
            ("cf-connecting-ip", "192.0.2.1"),
            ("x-real-ip", "198.51.100.2"),
        ],
    ),
    (
        "client-headers",
        "GET",
        "https://app.example.com/__clerk/v1/client",
        [
            ("clerk-secret-key", "sk_test_forged"),
            ("host", "evil.example.com"),
            ("accept-encoding", "gzip, br"),
            ("clerk-proxy-url", "https://evil.example.com"),
        ],
    ),
    ("double-slash", "GET", "https://app.example.com/__clerk//evil.example.com/x", []),
    ("encoded", "GET", "https://app.example.com/__clerk/v1/client%2Fx?a=%20b&c", []),
    ("mismatch", "GET", "https://app.example.com/__clerkx/v1/client", []),
    ("dot-inside", "GET", "https://app.example.com/__clerk/v1/./x/../client", []),
    ("dot-out", "GET", "https://app.example.com/__clerk/../admin", []),
    ("dot-encoded", "GET", "https://app.example.com/__clerk/%2e%2e/v1/client", []),
    ("dot-encoded-out", "GET", "https://app.example.com/__clerk/%2E%2E/%2e%2e/admin", []),
    ("default-port", "GET", "https://APP.example.com:443/__clerk/v1/client?q", []),
    ("other-path", "GET", "https://app.example.com/api/items", []),
]

#: (name, status, headers, body)
UPSTREAMS: list[tuple[str, int, list[tuple[str, str]], str]] = [
    (
        "json",
        200,
        [("content-type", "application/json"), ("content-length", "2"), ("x-clerk-trace", "t1")],
        "{}",
    ),
    (
        "cookies",
        200,
        [
            ("content-type", "application/json"),
            ("set-cookie", "__client=a; Path=/; HttpOnly; Secure"),
            ("set-cookie", "__client_uat=1; Path=/"),
            ("content-encoding", "identity"),
            ("vary", "Origin"),
            ("vary", "Cookie"),
        ],
        "{}",
    ),
    (
        "redirect-fapi",
        307,
        [("location", "https://frontend-api.clerk.dev/v1/oauth_callback?x=1#f")],
        "",
    ),
    ("redirect-relative", 302, [("location", "/v1/verify?token=t")], ""),
    ("redirect-dots", 302, [("location", "../v1/up/./there?y=2")], ""),
    ("redirect-scheme-relative", 302, [("location", "//frontend-api.clerk.dev/v1/x")], ""),
    ("redirect-other-port", 302, [("location", "https://frontend-api.clerk.dev:8443/v1/x")], ""),
    ("redirect-away", 302, [("location", "https://accounts.google.com/o/oauth2/auth?x=1")], ""),
    (
        "hop-by-hop",
        200,
        [
            ("connection", "close, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("content-type", "text/plain"),
        ],
        "ok",
    ),
    ("error", 422, [("content-type", "application/json")], '{"errors":[]}'),
]


def _cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for (rname, method, url, extra), (uname, status, headers, body), path in itertools.product(
        REQUESTS, UPSTREAMS, ("/__clerk", "/__clerk/")
    ):
        if rname not in ("client", "post") and uname not in ("json", "redirect-fapi"):
            continue
        if path == "/__clerk/" and rname not in ("root", "client", "mismatch"):
            continue
        cases.append(
            {
                "name": f"{rname}-{uname}-{'slash' if path.endswith('/') else 'plain'}",
                "request": {
                    "method": method,
                    "url": url,
                    "headers": [list(pair) for pair in [*BROWSER, *extra]],
                    "body": "identifier=ada%40example.com" if method == "POST" else None,
                },
                "options": {"proxyPath": path, "publishableKey": PUBLISHABLE, "secretKey": SECRET},
                "upstream": {"status": status, "headers": [list(p) for p in headers], "body": body},
            }
        )
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def clerk_results() -> dict[str, Any] | str:
    try:
        results = run_oracle(CASES, script="clerk_proxy_oracle.mjs")
    except OracleError as exc:
        return str(exc)
    return {result["name"]: result for result in results}


def _sorted(pairs: Any) -> list[tuple[str, str]]:
    return sorted((name.lower(), value) for name, value in pairs)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_same_proxying_as_clerk(case: dict[str, Any], clerk_results: dict[str, Any] | str) -> None:
    if isinstance(clerk_results, str):
        pytest.fail(f"Clerk's SDK could not be run:\n{clerk_results}", pytrace=False)
    clerk = clerk_results[case["name"]]
    assert "error" not in clerk, clerk
    request = case["request"]
    proxy = FrontendApiProxy(path=case["options"]["proxyPath"])
    planned = plan_proxy(
        request["method"],
        request["url"],
        [tuple(pair) for pair in request["headers"]],
        proxy,
        secret_key=SECRET,
        frontend_api=ISSUER.options().parsed_key.frontend_api,
    )
    if isinstance(planned, ProxyAnswer):
        assert clerk["sent"] is None, "Clerk forwarded what we refused"
        assert planned.status == clerk["answer"]["status"]
        assert _sorted(planned.headers) == _sorted(clerk["answer"]["headers"])
        assert json.loads(planned.body) == json.loads(clerk["answer"]["body"])
        return
    sent = clerk["sent"]
    assert sent is not None, f"Clerk answered {clerk['answer']} without forwarding"
    assert (planned.method, planned.url) == (sent["method"], sent["url"])
    assert _sorted(planned.headers) == _sorted(sent["headers"])
    upstream = [tuple(pair) for pair in case["upstream"]["headers"]]
    assert clerk["answer"]["status"] == case["upstream"]["status"]
    assert _sorted(proxy_response_headers(upstream, planned)) == _sorted(clerk["answer"]["headers"])


def test_the_cases_reach_every_branch() -> None:
    names = {case["name"] for case in CASES}
    assert len(names) == len(CASES) > 40
    assert {"mismatch-json-plain", "other-path-json-plain", "client-redirect-away-plain"} <= names
