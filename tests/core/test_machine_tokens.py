"""Machine token types, acceptance and auth objects, as Clerk's tokens/machine.ts decides them."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from clerk_middleware.core._machine import (
    MACHINE_TOKEN_TYPES,
    api_error_code,
    authenticated_machine_auth,
    is_machine_token,
    is_token_type_accepted,
    machine_error_message,
    machine_token_type,
    token_type_of,
    unauthenticated_machine_auth,
)


def b64(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{b64(header)}.{b64(payload)}.c2ln"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("ak_secret", "api_key"),
        ("mt_secret", "m2m_token"),
        ("oat_secret", "oauth_token"),
        (jwt({"alg": "RS256"}, {"sub": "mch_1"}), "m2m_token"),
        (jwt({"alg": "RS256", "typ": "at+jwt"}, {"sub": "user_1"}), "oauth_token"),
        (jwt({"typ": "application/at+jwt"}, {"sub": "user_1"}), "oauth_token"),
        # sub decides before typ, as in getMachineTokenType
        (jwt({"typ": "at+jwt"}, {"sub": "mch_1"}), "m2m_token"),
        (jwt({"alg": "RS256"}, {"sub": "user_1"}), "session_token"),
        ("not-a-token", "session_token"),
        (None, "session_token"),
    ],
)
def test_token_type_of(token: str | None, expected: str) -> None:
    assert token_type_of(token) == expected


def test_a_jwt_outside_the_base64url_alphabet_is_not_a_machine_jwt() -> None:
    token = jwt({"alg": "RS256"}, {"sub": "mch_1"}) + "="
    assert not is_machine_token(token)


def test_machine_token_type_refuses_a_session_token() -> None:
    with pytest.raises(ValueError, match="Unknown machine token type"):
        machine_token_type("eyJ.session.token")


@pytest.mark.parametrize(
    ("token_type", "accepts", "expected"),
    [
        ("api_key", "any", True),
        ("api_key", "api_key", True),
        ("api_key", "m2m_token", False),
        ("api_key", ["m2m_token", "api_key"], True),
        ("session_token", ["api_key"], False),
        (None, "any", False),
        ("", "any", False),
    ],
)
def test_is_token_type_accepted(token_type: str | None, accepts: Any, expected: bool) -> None:
    assert is_token_type_accepted(token_type, accepts) is expected


def test_error_mapping_and_messages() -> None:
    assert [api_error_code(s) for s in (401, 404, 500, 429)] == [
        "secret-key-invalid",
        "token-invalid",
        "unexpected-error",
        "unexpected-error",
    ]
    assert (
        machine_error_message("API key not found", "token-invalid", 404)
        == "API key not found (code=token-invalid, status=404)"
    )
    assert (
        machine_error_message("Unexpected error", "unexpected-error", None)
        == "Unexpected error (code=unexpected-error, status=n/a)"
    )


def test_unauthenticated_objects() -> None:
    for kind in MACHINE_TOKEN_TYPES:
        auth = unauthenticated_machine_auth(kind)
        assert auth.token_type == kind
        assert not auth.is_authenticated
        assert auth.id is None
        assert auth.subject is None
        assert auth.scopes is None
        assert auth.get_token() is None
        assert auth.has(role="org:admin") is False


def test_api_key_object_splits_user_and_org_subjects() -> None:
    data = {
        "id": "ak_id",
        "subject": "user_1",
        "scopes": ["read"],
        "name": "ci",
        "claims": {"a": 1},
    }
    user = authenticated_machine_auth("api_key", "ak_secret", data)
    assert (user.user_id, user.org_id, user.name, user.claims) == ("user_1", None, "ci", {"a": 1})
    assert user.get_token() == "ak_secret"
    assert user.has(permission="x") is False
    assert "ak_secret" not in repr(user)
    org = authenticated_machine_auth("api_key", "ak_secret", {**data, "subject": "org_1"})
    assert (org.user_id, org.org_id) == (None, "org_1")


def test_m2m_and_oauth_objects() -> None:
    m2m = authenticated_machine_auth(
        "m2m_token",
        "mt_x",
        {"id": "mt_id", "subject": "mch_1", "scopes": ["mch_2"], "claims": None},
    )
    assert (m2m.machine_id, m2m.scopes, m2m.user_id, m2m.client_id) == (
        "mch_1",
        ["mch_2"],
        None,
        None,
    )
    oauth = authenticated_machine_auth(
        "oauth_token",
        "oat_x",
        {"id": "oat_id", "subject": "user_1", "scopes": ["email"], "client_id": "c"},
    )
    assert (oauth.user_id, oauth.client_id, oauth.machine_id) == ("user_1", "c", None)
