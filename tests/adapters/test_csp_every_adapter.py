"""Clerk's Content-Security-Policy headers in every adapter (``content_security_policy``).

The matrix apps of every adapter, driven through their own test clients, with
the option set: each answer the middleware lets through (the app's, and
``protect()``'s 404s and redirects) carries the policy, a strict one with a
fresh nonce per request; handshake redirects do not (Clerk answers them
before the policy is applied); without the option nothing is added.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from clerk_middleware.core._csp import ContentSecurityPolicy, content_security_policy_headers
from clerk_middleware.testing import TestIssuer

from . import matrix
from .clients import factories

ADAPTERS = list(factories())
STRICT = {"strict": True, "directives": {"img-src": ["https://cdn.example.com"]}}


def _client(issuer: TestIssuer, adapter: str, **extra: Any) -> matrix.Client:
    return factories()[adapter](matrix.settings(issuer, **extra))


def _expected(issuer: TestIssuer, nonce: str, policy: Any = STRICT) -> str:
    headers = content_security_policy_headers(
        ContentSecurityPolicy.from_mapping(policy),
        issuer.options().parsed_key.frontend_api,
        nonce=nonce,
        development=True,
    )
    return dict(headers)["content-security-policy"]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_the_apps_answers_carry_a_strict_policy(issuer: TestIssuer, adapter: str) -> None:
    get = _client(issuer, adapter, content_security_policy=STRICT)
    headers = matrix.request_headers(issuer, "signed-in", "api")
    first = get("/view/fields", headers)
    second = get("/view/fields", headers)
    assert first.status == second.status == 200
    nonces = [first.values("x-nonce"), second.values("x-nonce")]
    assert all(len(found) == 1 for found in nonces)
    assert nonces[0] != nonces[1]  # a fresh nonce per request
    for outcome, (nonce,) in zip((first, second), nonces, strict=True):
        assert outcome.values("content-security-policy") == [_expected(issuer, nonce)]
        assert f"'nonce-{nonce}'" in outcome.values("content-security-policy")[0]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_protects_answers_carry_it_and_handshakes_do_not(issuer: TestIssuer, adapter: str) -> None:
    get = _client(issuer, adapter, content_security_policy=True)
    refused = get("/view/protect", matrix.request_headers(issuer, "signed-out", "api"))
    assert refused.status == 404
    assert len(refused.values("content-security-policy")) == 1
    assert refused.values("x-nonce") == []  # not strict: no nonce
    redirected = get("/view/protect", matrix.request_headers(issuer, "signed-out", "page"))
    assert redirected.status in (307, 308)
    assert len(redirected.values("content-security-policy")) == 1
    handshake = get("/view/fields", matrix.request_headers(issuer, "expired", "page"))
    assert handshake.status == 307
    assert handshake.values("content-security-policy") == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_report_only_and_report_to(issuer: TestIssuer, adapter: str) -> None:
    policy = {"reportOnly": True, "reportTo": "https://report.example.com/csp"}
    get = _client(issuer, adapter, content_security_policy=policy)
    outcome = get("/view/fields", matrix.request_headers(issuer, "signed-in", "api"))
    assert outcome.values("content-security-policy") == []
    (text,) = outcome.values("content-security-policy-report-only")
    assert text.endswith("; report-to csp-endpoint")
    assert outcome.values("reporting-endpoints") == [
        'csp-endpoint="https://report.example.com/csp"'
    ]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_nothing_without_the_option(issuer: TestIssuer, adapter: str) -> None:
    outcome = _client(issuer, adapter)(
        "/view/fields", matrix.request_headers(issuer, "signed-in", "api")
    )
    names = {name for name, _ in outcome.headers}
    assert not names & {"content-security-policy", "x-nonce", "reporting-endpoints"}


def test_the_apps_own_policy_is_replaced_and_templates_get_the_nonce(issuer: TestIssuer) -> None:
    from flask import Flask, Response, render_template_string
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from clerk_middleware.adapters import flask as flask_adapter
    from clerk_middleware.adapters import starlette as starlette_adapter

    settings = matrix.settings(issuer, content_security_policy={"strict": True})
    page = '<script nonce="{{ csp_nonce() }}"></script>'
    app = Flask(__name__)
    flask_adapter.clerk_middleware(**settings).init_app(app)

    @app.get("/")
    def home() -> Response:
        response = Response(render_template_string(page))
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        return response

    async def starlette_home(request: Request) -> HTMLResponse:
        nonce = starlette_adapter.csp_nonce()
        return HTMLResponse(
            f'<script nonce="{nonce}"></script>',
            headers={"content-security-policy": "default-src 'none'"},
        )

    asgi = Starlette(
        routes=[Route("/", starlette_home)],
        middleware=[starlette_adapter.clerk_middleware(**settings)],
    )
    headers = matrix.request_headers(issuer, "signed-in", "api")
    for response in (
        app.test_client().get("/", headers=headers),
        TestClient(asgi, base_url=matrix.BASE).get("/", headers=headers),
    ):
        policies = (
            response.headers.get_all("content-security-policy")
            if hasattr(response.headers, "get_all")
            else response.headers.get_list("content-security-policy")
        )
        nonce = response.headers["x-nonce"]
        assert policies == [_expected(issuer, nonce, {"strict": True})]
        assert response.text == f'<script nonce="{nonce}"></script>'


@pytest.mark.parametrize("adapter", ["django", "django-async"])
def test_django_templates_get_the_requests_nonce(issuer: TestIssuer, adapter: str) -> None:
    get = _client(issuer, adapter, content_security_policy={"strict": True})
    outcome = get("/csp/nonce", matrix.request_headers(issuer, "signed-in", "api"))
    (nonce,) = outcome.values("x-nonce")
    assert json.loads(outcome.body) == {"template": nonce, "code": nonce}
    plain = _client(issuer, adapter)(
        "/csp/nonce", matrix.request_headers(issuer, "signed-in", "api")
    )
    assert json.loads(plain.body) == {"template": None, "code": None}
