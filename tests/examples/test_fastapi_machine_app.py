"""examples/fastapi_machine_app.py: API keys, M2M and OAuth tokens against a local instance.

Opaque tokens are verified by a real ``LocalInstance`` over HTTP (the
``clerk_local`` fixture); the app is driven through Starlette's test client.
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from clerk_middleware.testing import ClerkTestKit, LocalClerkTestKit

from .test_examples import load

VERIFY = ("api_key_verify", "m2m_token_verify", "oauth_token_verify")


def client() -> TestClient:
    return TestClient(load("fastapi_machine_app.py")["app"], follow_redirects=False)


def calls(kit: LocalClerkTestKit) -> int:
    return sum(kit.instance.count(name) for name in VERIFY)


def test_api_keys(clerk_local: LocalClerkTestKit) -> None:
    api = client()
    user_key = clerk_local.api_key("user_2abc", scopes=["reports:read"])
    org_key = clerk_local.api_key("org_2acme", scopes=["reports:write"])
    assert api.get("/api/reports", headers=user_key).json()["owner"] == "user_2abc"
    assert api.get("/api/reports", headers=org_key).json()["owner"] == "org_2acme"
    # Scopes: only the org key may write.
    assert api.post("/api/reports", headers=user_key).status_code == 401
    assert api.post("/api/reports", headers=org_key).json() == {"created_by": "org_2acme"}
    # Revoked: refused on the very next request (nothing is cached).
    clerk_local.instance.revoke_api_key(org_key.token or "")
    refused = api.get("/api/reports", headers=org_key)
    assert refused.status_code == 401
    assert refused.headers["x-clerk-auth-status"] == "signed-out"


def test_m2m_tokens_opaque_and_jwt(clerk_local: LocalClerkTestKit) -> None:
    api = client()
    for opaque in (True, False):
        headers = clerk_local.m2m("mch_2billing", scopes=["mch_2reports"], opaque=opaque)
        body = api.post("/internal/rebuild", headers=headers).json()
        assert body == {"machine": "mch_2billing", "scopes": ["mch_2reports"]}
    # An API key is not an M2M token.
    wrong = api.post("/internal/rebuild", headers=clerk_local.api_key("user_2abc"))
    assert wrong.status_code == 401


def test_sessions_and_oauth_on_one_route(clerk_local: LocalClerkTestKit) -> None:
    api = client()
    signed_in = clerk_local.signed_in()
    assert api.get("/api/me", headers=signed_in).json()["via"] == "session_token"
    oauth = clerk_local.oauth("user_2abc", opaque=True)
    found = api.get("/api/me", headers=oauth).json()
    assert found == {"user_id": "user_2abc", "via": "oauth_token"}
    refused = api.get("/api/me", headers=clerk_local.api_key("user_2abc"))
    assert refused.status_code == 401


def test_an_oauth_401_names_the_protected_resource_metadata(clerk: ClerkTestKit) -> None:
    api = client()
    refused = api.post("/internal/rebuild", headers=clerk.oauth("user_2abc"))
    assert refused.status_code == 401
    metadata = refused.headers["www-authenticate"]
    assert metadata.startswith('Bearer resource_metadata="https://')
    assert metadata.endswith('/.well-known/oauth-protected-resource"')


def test_opaque_tokens_reach_the_backend_only_where_accepted(
    clerk_local: LocalClerkTestKit,
) -> None:
    api = client()
    made_up = {"authorization": "Bearer ak_made_up_by_a_stranger"}
    before = calls(clerk_local)
    # A route that takes M2M tokens never asks about an API key.
    assert api.post("/internal/rebuild", headers=made_up).status_code == 401
    assert calls(clerk_local) == before
    assert api.get("/api/reports", headers=made_up).status_code == 401
    assert calls(clerk_local) == before + 1


def test_whoami_takes_anything(clerk: ClerkTestKit) -> None:
    api = client()
    machine: dict[str, Any] = api.get("/api/whoami", headers=clerk.m2m("mch_2x")).json()
    assert machine == {"token_type": "m2m_token", "authenticated": True}
    nobody = api.get("/api/whoami").json()
    assert nobody == {"token_type": "session_token", "authenticated": False}


def test_the_openapi_schema_shows_the_bearer_scheme(clerk: ClerkTestKit) -> None:
    schema = client().get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["ClerkMachineToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, method in (("/api/reports", "get"), ("/internal/rebuild", "post")):
        assert schema["paths"][path][method]["security"] == [{"ClerkMachineToken": []}]
    assert "security" not in schema["paths"]["/api/whoami"]["get"]
