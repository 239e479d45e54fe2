"""Machine tokens from the kit and the issuer: the right type, real signatures, real verification.

``ClerkTestKit.m2m()``/``oauth()`` mint the JWT forms with the issuer's key
(networkless); ``LocalClerkTestKit`` creates every form on the instance, the
opaque ones (and API keys) verifying through its Backend API endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from clerk_middleware.core._backend import backend_for
from clerk_middleware.core._effects import MachineVerifyError
from clerk_middleware.core._machine import CATEGORY_M2M, token_type_of
from clerk_middleware.testing import (
    PAGE_HEADERS,
    CannedResponse,
    ClerkTestKit,
    InstanceResponse,
    LocalClerkTestKit,
    LocalInstance,
    TestIssuer,
)
from clerk_middleware.testing._issuer import CATEGORY_M2M as ISSUER_CATEGORY_M2M


def bearer(headers: dict[str, str]) -> str:
    scheme, _, token = headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


def decode(token: str, key: str, **options: Any) -> dict[str, Any]:
    """Verify with pyjwt, as any RS256 verifier would."""
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256"], **options)
    return claims


def failure(call: Callable[[], object]) -> MachineVerifyError:
    with pytest.raises(MachineVerifyError) as info:
        call()
    return info.value


# --- networkless: the issuer and ClerkTestKit -----------------------------------------------------


def test_the_m2m_category_is_clerks() -> None:
    assert ISSUER_CATEGORY_M2M == CATEGORY_M2M == "cl_B7d4PD333AAA"


def test_an_m2m_jwt_has_clerks_claims_and_verifies_with_the_issuer_key(clerk: ClerkTestKit) -> None:
    headers = clerk.m2m("mch_worker", scopes=["mch_api", "mch_db"], claims={"tenant": "acme"})
    token = bearer(headers)
    assert token_type_of(token) == "m2m_token"
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": clerk.issuer.kid, "cat": CATEGORY_M2M}
    claims = decode(token, clerk.issuer.jwt_key, audience="mch_api")
    assert claims["iss"] == clerk.issuer.issuer
    assert claims["sub"] == "mch_worker"
    assert claims["aud"] == ["mch_api", "mch_db"]
    assert claims["scopes"] == "mch_api mch_db"
    assert claims["tenant"] == "acme"
    assert claims["jti"].startswith("mt_")
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["nbf"] == claims["iat"] - 10
    assert (headers.token, headers.token_type, headers.machine_id) == (
        token,
        "m2m_token",
        "mch_worker",
    )
    assert headers.user_id is None and headers.session_id is None


def test_an_m2m_jwt_without_scopes_has_no_audience(clerk: ClerkTestKit) -> None:
    claims = decode(bearer(clerk.m2m()), clerk.issuer.jwt_key)
    assert "aud" not in claims and "scopes" not in claims
    assert claims["sub"] == "mch_test"


def test_m2m_jwt_options(clerk_issuer: TestIssuer) -> None:
    token = clerk_issuer.m2m_jwt(
        "mch_a", category=None, jti="mt_fixed", expires_in=60, iss=None, custom=1
    )
    assert "cat" not in jwt.get_unverified_header(token)
    assert token_type_of(token) == "m2m_token"  # the subject makes it one
    claims = decode(token, clerk_issuer.jwt_key)
    assert claims["jti"] == "mt_fixed" and claims["custom"] == 1 and "iss" not in claims
    assert claims["exp"] - claims["iat"] == 60


def test_an_oauth_jwt_has_clerks_claims_and_verifies_with_the_issuer_key(
    clerk: ClerkTestKit,
) -> None:
    headers = clerk.oauth(
        "user_2abc", client_id="client_app", scopes=["email", "profile"], audience="https://api"
    )
    token = bearer(headers)
    assert token_type_of(token) == "oauth_token"
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = decode(token, clerk.issuer.jwt_key, audience="https://api")
    assert claims["sub"] == "user_2abc"
    assert claims["client_id"] == "client_app"
    assert claims["scp"] == ["email", "profile"]
    assert claims["aud"] == "https://api"
    assert claims["jti"].startswith("oat_")
    assert (headers.token_type, headers.user_id) == ("oauth_token", "user_2abc")


@pytest.mark.parametrize(
    ("typ", "kind"),
    [("at+jwt", "oauth_token"), ("application/at+jwt", "oauth_token"), ("JWT", "session_token")],
)
def test_the_oauth_type_is_read_from_typ(clerk_issuer: TestIssuer, typ: str, kind: str) -> None:
    assert token_type_of(clerk_issuer.oauth_jwt(typ=typ)) == kind


def test_oauth_audiences_and_the_space_separated_scope(clerk_issuer: TestIssuer) -> None:
    token = clerk_issuer.oauth_jwt(audience=["a", "b"], scopes=["x"], scp=None, scope="x y")
    claims = decode(token, clerk_issuer.jwt_key, audience="b")
    assert claims["aud"] == ["a", "b"] and claims["scope"] == "x y" and "scp" not in claims


def test_a_page_request_with_a_machine_token(clerk: ClerkTestKit) -> None:
    headers = clerk.m2m(page=True)
    assert PAGE_HEADERS.items() <= headers.items()
    assert "cookie" not in headers


def test_session_headers_name_their_token_type(clerk: ClerkTestKit) -> None:
    assert clerk.signed_in().token_type == "session_token"
    assert clerk.signed_out().token_type is None


@pytest.mark.parametrize("method", ["m2m", "oauth"])
def test_opaque_tokens_need_a_local_instance(clerk: ClerkTestKit, method: str) -> None:
    with pytest.raises(TypeError, match="LocalClerkTestKit"):
        getattr(clerk, method)(opaque=True)
    assert not hasattr(clerk, "api_key")


# --- over a local instance --------------------------------------------------------------------


def test_an_api_key_verifies_through_the_instance(
    clerk_local: LocalClerkTestKit, clerk_instance: LocalInstance
) -> None:
    headers = clerk_local.api_key("user_2abc", name="ci", scopes=["read"], claims={"a": 1})
    secret = bearer(headers)
    assert token_type_of(secret) == "api_key"
    assert (headers.token_type, headers.user_id, headers.org_id) == ("api_key", "user_2abc", None)
    resource = backend_for(clerk_local.options).verify_machine_token("api_key", secret)
    assert (resource["subject"], resource["name"], resource["scopes"], resource["claims"]) == (
        "user_2abc",
        "ci",
        ["read"],
        {"a": 1},
    )
    assert clerk_instance.count("api_key_verify") == 1


def test_an_organizations_api_key(clerk_local: LocalClerkTestKit) -> None:
    headers = clerk_local.api_key("org_2abc")
    assert (headers.user_id, headers.org_id) == (None, "org_2abc")


@pytest.mark.parametrize(
    ("method", "kind", "prefix", "endpoint"),
    [
        ("m2m", "m2m_token", "mt_", "m2m_token_verify"),
        ("oauth", "oauth_token", "oat_", "oauth_token_verify"),
    ],
)
def test_opaque_forms_verify_through_the_instance_and_can_be_revoked(
    clerk_local: LocalClerkTestKit,
    clerk_instance: LocalInstance,
    *,
    method: str,
    kind: str,
    prefix: str,
    endpoint: str,
) -> None:
    token = bearer(getattr(clerk_local, method)(scopes=["s"], opaque=True))
    assert token.startswith(prefix) and token_type_of(token) == kind
    backend = backend_for(clerk_local.options)
    assert backend.verify_machine_token(kind, token)["scopes"] == ["s"]
    revoke = (
        clerk_instance.revoke_m2m_token
        if kind == "m2m_token"
        else clerk_instance.revoke_oauth_token
    )
    revoked = revoke(token, reason="leaked")
    assert revoked.revoked and revoked.revocation_reason == "leaked"
    assert failure(lambda: backend.verify_machine_token(kind, token)).code == "token-invalid"
    assert clerk_instance.count(endpoint) == 2


def test_a_revoked_api_key_is_refused(
    clerk_local: LocalClerkTestKit, clerk_instance: LocalInstance
) -> None:
    secret = bearer(clerk_local.api_key())
    clerk_instance.revoke_api_key(secret)
    error = failure(
        lambda: backend_for(clerk_local.options).verify_machine_token("api_key", secret)
    )
    assert (error.code, error.message, error.status) == ("token-invalid", "API key not found", 404)


@pytest.mark.parametrize(("method", "kind"), [("m2m", "m2m_token"), ("oauth", "oauth_token")])
def test_jwt_forms_are_signed_with_the_instances_current_key(
    clerk_local: LocalClerkTestKit, clerk_instance: LocalInstance, method: str, kind: str
) -> None:
    first = bearer(getattr(clerk_local, method)())
    kid = clerk_instance.rotate_key()
    second = bearer(getattr(clerk_local, method)())
    assert token_type_of(first) == token_type_of(second) == kind
    assert jwt.get_unverified_header(second)["kid"] == kid
    keys = {k.kid: k.jwt_key for k in (clerk_instance.issuer, clerk_instance.signer)}
    for token in (first, second):
        decode(token, keys[jwt.get_unverified_header(token)["kid"]])


def test_an_m2m_jwt_of_the_instance_carries_its_record(clerk_instance: LocalInstance) -> None:
    record = clerk_instance.create_m2m_token(
        "mch_a", scopes=["mch_b"], claims={"k": "v"}, expires_in=120, jwt=True
    )
    claims = decode(record.token, clerk_instance.signer.jwt_key, audience="mch_b")
    assert claims["jti"] == record.id
    assert claims["exp"] * 1000 == record.expiration
    assert (claims["sub"], claims["k"]) == ("mch_a", "v")
    # A JWT is verified without the instance: revoking the record cannot reach it.
    clerk_instance.revoke_m2m_token(record.id)
    decode(record.token, clerk_instance.signer.jwt_key, audience="mch_b")


def test_the_instance_needs_an_expiry_for_a_jwt(clerk_instance: LocalInstance) -> None:
    with pytest.raises(ValueError, match="expiry"):
        clerk_instance.create_m2m_token(expires_in=None, jwt=True)
    with pytest.raises(ValueError, match="expiry"):
        clerk_instance.create_oauth_token(expires_in=None, jwt=True)


def test_local_machine_tokens_take_only_the_models_arguments(
    clerk_local: LocalClerkTestKit,
) -> None:
    with pytest.raises(TypeError, match="category"):
        clerk_local.m2m(category=None)
    with pytest.raises(TypeError, match="typ"):
        clerk_local.oauth(typ="JWT")


def test_revoking_an_unknown_token_names_no_token(clerk_instance: LocalInstance) -> None:
    with pytest.raises(KeyError) as info:
        clerk_instance.revoke_api_key("ak_not_a_key_of_this_instance")
    assert "ak_not_a_key" not in str(info.value)


def test_faults_reach_machine_verification(
    clerk_local: LocalClerkTestKit, clerk_instance: LocalInstance
) -> None:
    token = bearer(clerk_local.m2m(opaque=True))
    backend = backend_for(clerk_local.options)
    with clerk_instance.fault("m2m_token_verify", CannedResponse(503), times=1):
        error = failure(lambda: backend.verify_machine_token("m2m_token", token))
    assert (error.code, error.status) == ("unexpected-error", 503)
    assert backend.verify_machine_token("m2m_token", token)["subject"] == "mch_test"
    assert clerk_instance.count("m2m_token_verify") == 2
    assert [r.path for r in clerk_instance.requests("m2m_token_verify")] == [
        "/m2m_tokens/verify"
    ] * 2


def test_the_machine_secret_key_is_accepted_for_m2m_only(clerk_instance: LocalInstance) -> None:
    m2m = clerk_instance.create_m2m_token().token
    key = clerk_instance.create_api_key().secret
    auth = {"authorization": f"Bearer {clerk_instance.machine_secret_key}"}
    url = clerk_instance.url
    assert clerk_instance.machine_secret_key.startswith("ak_")
    ok = httpx.post(f"{url}/m2m_tokens/verify", json={"token": m2m}, headers=auth)
    assert ok.status_code == 200
    refused = httpx.post(f"{url}/api_keys/verify", json={"secret": key}, headers=auth)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["code"] == "clerk_key_invalid"
    missing = httpx.post(f"{url}/m2m_tokens/verify", json={}, headers=auth)
    assert missing.status_code == 422


def test_machine_paths_cannot_be_taken_by_added_routes(clerk_instance: LocalInstance) -> None:
    with pytest.raises(ValueError, match="reserved"):
        clerk_instance.add_route("POST", "/api_keys/verify", lambda _: InstanceResponse.json({}))
