"""Machine tokens in every adapter: ``auth(accepts_token=...)`` and ``protect(token=...)``.

The same views (``matrix.MACHINE_ACTIONS``) run in each adapter's app, driven
through its own test client. The tokens are JWT-form M2M and OAuth tokens the
issuer signs (networkless with ``jwt_key``), and the signed-in session cookie;
the middleware accepts session tokens only (the default), so every machine token
is verified when the view asks for its type.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from clerk_middleware.testing import TestIssuer

from . import matrix
from .clients import factories

ADAPTERS = list(factories())
FAPI = "happy-hippo-1.clerk.accounts.dev"
RESOURCE = f'Bearer resource_metadata="https://{FAPI}/.well-known/oauth-protected-resource"'


@pytest.fixture(scope="module")
def clients(issuer: TestIssuer) -> dict[str, matrix.Client]:
    return {name: make(matrix.settings(issuer)) for name, make in factories().items()}


def _headers(issuer: TestIssuer, kind: str) -> dict[str, str]:
    if kind == "session":
        return matrix.request_headers(issuer, "signed-in", "api")
    headers = matrix.request_headers(issuer, "signed-out", "api")
    token: str | None = None
    if kind == "m2m":
        token = issuer.m2m_jwt("mch_2worker", scopes=["read", "write"])
    elif kind == "m2m-noscope":
        token = issuer.m2m_jwt("mch_2worker")
    elif kind == "oauth":
        token = issuer.oauth_jwt("user_2abc", scopes=["email"])
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return headers


M2M_IN = {"kind": "MachineAuth", "token_type": "m2m_token", "is_authenticated": True}
OAUTH_IN = {"kind": "MachineAuth", "token_type": "oauth_token", "is_authenticated": True}
SESSION_IN = {"kind": "Auth", "token_type": "session_token", "is_authenticated": True}
SESSION_OUT = {"kind": "Auth", "token_type": "session_token", "is_authenticated": False}
M2M_OUT = {"kind": "MachineAuth", "token_type": "m2m_token", "is_authenticated": False}

# (action, token kind) -> status and, for 200, the object's fields (a subset).
CASES: list[tuple[str, str, int, dict[str, Any] | None]] = [
    ("machine-m2m", "m2m", 200, M2M_IN),
    ("machine-m2m", "m2m-noscope", 200, M2M_IN),
    ("machine-m2m", "oauth", 401, None),
    ("machine-m2m", "session", 401, None),
    ("machine-m2m", "none", 401, None),
    ("machine-oauth", "oauth", 200, {**OAUTH_IN, "user_id": "user_2abc"}),
    ("machine-oauth", "m2m", 401, None),
    ("machine-scopes", "m2m", 200, {**M2M_IN, "scopes": ["read", "write"]}),
    ("machine-scopes", "m2m-noscope", 401, None),
    ("machine-scopes", "oauth", 401, None),
    ("machine-list", "session", 200, SESSION_IN),
    ("machine-list", "oauth", 200, OAUTH_IN),
    ("machine-list", "m2m", 401, None),
    ("machine-list", "none", 404, None),  # a signed-out session: protect()'s 404
    ("machine-any", "m2m", 200, {**M2M_IN, "subject": "mch_2worker"}),
    ("machine-any", "session", 200, SESSION_IN),
    ("machine-any", "none", 200, SESSION_OUT),
    ("machine-ask", "m2m", 200, M2M_IN),
    ("machine-ask", "session", 200, M2M_OUT),
    ("machine-ask", "none", 200, M2M_OUT),
]


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("case", CASES, ids=[f"{action}-{kind}" for action, kind, _, _ in CASES])
def test_machine_views(
    clients: dict[str, matrix.Client],
    issuer: TestIssuer,
    adapter: str,
    case: tuple[str, str, int, dict[str, Any] | None],
) -> None:
    action, kind, status, expected = case
    outcome = clients[adapter](f"/view/{action}", _headers(issuer, kind))
    assert outcome.status == status, outcome.body[:300]
    if expected is not None:
        body = json.loads(outcome.body)
        assert {key: body[key] for key in expected} == expected
    if status == 401:
        # (The body is the framework's own 401 page where it has error pages.)
        # Clerk's 401 names the protected-resource metadata for OAuth tokens only.
        assert outcome.values("www-authenticate") == ([RESOURCE] if kind == "oauth" else [])


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_forged_machine_token_is_refused(
    clients: dict[str, matrix.Client], issuer: TestIssuer, other_issuer: TestIssuer, adapter: str
) -> None:
    headers = matrix.request_headers(issuer, "signed-out", "api")
    headers["authorization"] = f"Bearer {other_issuer.m2m_jwt('mch_2worker', scopes=['read'])}"
    assert clients[adapter]("/view/machine-m2m", headers).status == 401
    asked = json.loads(clients[adapter]("/view/machine-ask", headers).body)
    assert asked == {**M2M_OUT, "subject": None, "user_id": None, "scopes": None}


@pytest.mark.parametrize("adapter", ["django", "django-async"])
def test_django_protect_mixin_takes_token_and_scopes(
    clients: dict[str, matrix.Client], issuer: TestIssuer, adapter: str
) -> None:
    get = clients[adapter]
    found = get("/mixin/machine", _headers(issuer, "m2m"))
    assert found.status == 200
    assert json.loads(found.body)["subject"] == "mch_2worker"
    assert get("/mixin/machine", _headers(issuer, "m2m-noscope")).status == 401
    assert get("/mixin/machine", _headers(issuer, "session")).status == 401
