"""Auth objects from claims: v1/v2 organizations, permissions, has(), pending sessions."""

from __future__ import annotations

from typing import Any

import pytest

from clerk_middleware.core import Auth, AuthStatus, RequestState
from clerk_middleware.core._auth import auth_from_claims


def claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "user_1", "sid": "sess_1", "sts": "active", "v": 2, **extra}


def test_v2_org_claims_and_permission_bitmaps() -> None:
    auth = auth_from_claims(
        claims(
            o={
                "id": "org_1",
                "slg": "acme",
                "rol": "admin",
                "per": "manage,read,delete",
                "fpm": "3,1",
            },
            fea="o:billing,o:dashboard,u:profile",
        ),
        "tok",
    )
    assert (auth.org_id, auth.org_slug, auth.org_role) == ("org_1", "acme", "org:admin")
    assert auth.org_permissions == [
        "org:billing:manage",
        "org:billing:read",
        "org:dashboard:manage",
    ]
    assert auth.has(permission="org:billing:read")
    assert auth.has(permission="billing:read")
    assert not auth.has(permission="org:dashboard:read")
    assert auth.has(role="admin") and auth.has(role="org:admin") and auth.has(role="org:org:admin")
    assert auth.has(role="org:admin", permission="org:billing:manage")
    assert not auth.has(role="org:member", permission="org:billing:manage")


def test_v2_big_bitmaps_and_odd_entries() -> None:
    per = ",".join(f"p{i}" for i in range(70))
    auth = auth_from_claims(
        claims(
            o={"id": "o", "rol": "org:admin", "per": per, "fpm": f"{2**69},x,5"},
            fea="o:a,uo:b,ou:c,u:d",
        ),
        None,
    )
    assert auth.org_role == "org:org:admin"
    assert auth.org_permissions == ["org:a:p69", "org:c:p0", "org:c:p2"]


def test_v2_without_o_has_no_org_and_legacy_claims_are_ignored() -> None:
    auth = auth_from_claims(claims(org_id="org_legacy", fea="o:x"), None)
    assert auth.org_id is None and auth.org_permissions is None


def test_v1_claims_pass_through() -> None:
    auth = auth_from_claims(
        {
            "sub": "u",
            "org_id": "org_1",
            "org_role": "admin",
            "org_slug": "s",
            "org_permissions": ["org:x:y"],
        },
        None,
    )
    assert (auth.org_id, auth.org_role, auth.org_slug) == ("org_1", "admin", "s")
    assert auth.has(role="org:admin") and auth.has(permission="org:x:y")
    assert auth.session_status is None


def test_malformed_fea_raises_like_clerk() -> None:
    with pytest.raises(ValueError, match="missing colon"):
        auth_from_claims(claims(o={"id": "o"}, fea="billing"), None)
    # Without an organization the claim is not parsed.
    assert auth_from_claims(claims(fea="billing"), None).user_id == "user_1"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"feature": "billing"}, True),
        ({"feature": "o:billing"}, True),
        ({"feature": "org:billing"}, True),
        ({"feature": "user:billing"}, False),
        ({"feature": "u:profile"}, True),
        ({"feature": "profile"}, True),
        ({"feature": "x:profile"}, False),
        ({"plan": "pro"}, True),
        ({"plan": "o:pro"}, False),
        ({"plan": "user:pro"}, True),
        ({"feature": "billing", "plan": "gold"}, False),
        ({}, False),
    ],
)
def test_has_features_and_plans(query: dict[str, Any], expected: bool) -> None:
    auth = auth_from_claims(claims(fea="o:billing,u:profile", pla="u:pro"), None)
    assert auth.has(**query) is expected


@pytest.mark.parametrize(
    ("fva", "config", "expected"),
    [
        ([5, 5], "strict", True),
        ([5, 15], "strict", False),
        ([5, -1], "strict", True),  # no second factor: falls back to the first
        ([15, -1], "strict", False),
        ([-1, -1], "lax", False),
        ([5, 5], "strict_mfa", True),
        ([5, 11], "strict_mfa", False),
        ([-1, 5], "strict_mfa", False),
        ([59, 59], "moderate", True),
        ([5, 5], {"level": "first_factor", "after_minutes": 6}, True),
        ([5, 5], {"level": "first_factor", "after_minutes": 5}, False),
        ([5, 5], {"level": "bogus", "after_minutes": 60}, False),
        ([5, 5], "bogus", False),
        ([5], "strict", False),
        (None, "strict", False),
        ([True, 5], "strict", False),
    ],
)
def test_has_reverification(fva: Any, config: Any, expected: bool) -> None:
    auth = auth_from_claims(claims(fva=fva), None)
    assert auth.has(reverification=config) is expected


def test_has_needs_an_org_for_roles() -> None:
    auth = auth_from_claims(claims(), None)
    assert not auth.has(role="org:admin")
    assert not auth.has(permission="org:x:y")


def test_pending_session_is_signed_out_by_default() -> None:
    pending = claims(sts="pending", o={"id": "org_1", "rol": "admin"})
    state = RequestState.signed_in(pending, "tok")
    assert state.status is AuthStatus.SIGNED_IN
    default = state.to_auth()
    assert default == Auth(session_status="pending")
    assert default.user_id is None and not default.is_signed_in
    assert not default.has(role="org:admin")
    assert default.get_token() is None
    aware = state.to_auth(treat_pending_as_signed_out=False)
    assert aware is not None
    assert aware.user_id == "user_1" and aware.session_status == "pending"
    assert aware.has(role="org:admin")
    assert aware.get_token() == "tok"


def test_only_the_exact_pending_string_is_pending() -> None:
    for sts in ("Pending", "weird", None):
        auth = RequestState.signed_in(claims(sts=sts), "t").to_auth()
        assert auth is not None and auth.user_id == "user_1" and auth.session_status == sts


def test_signed_out_and_handshake_states() -> None:
    out = RequestState.signed_out("session-token-and-uat-missing")
    assert out.to_auth() == Auth()
    assert out.headers == (
        ("x-clerk-auth-reason", "session-token-and-uat-missing"),
        ("x-clerk-auth-status", "signed-out"),
    )
    hs = RequestState.handshake("r", "m", (("location", "https://x"),))
    assert hs.to_auth() is None and hs.location == "https://x"


def test_debug_headers_skip_illegal_values() -> None:
    state = RequestState.signed_out("r", "line one\r\nset-cookie: x=1")
    assert [name for name, _ in state.headers] == ["x-clerk-auth-reason", "x-clerk-auth-status"]
