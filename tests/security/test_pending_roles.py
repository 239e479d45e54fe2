"""A genuine pending session that claims an organization role never passes a role check.

A pending session (``sts: "pending"``) has signed in but not finished an
after-auth task, for example choosing an organization. Its token may already
carry an organization and a role. Under the default
``treat_pending_as_signed_out=True`` nothing may let it through: not
``protect(role=...)``, not ``has(role=...)``, not a predicate that always says
yes, not a decorator, a template helper or a FastAPI dependency, in the core and
through every adapter. (Opting in with ``treat_pending_as_signed_out=False`` is
covered by the adapter suites; here only the default matters.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from clerk_middleware.core import (
    AuthNotFound,
    AuthRedirect,
    AuthRequest,
    AuthStatus,
    authenticate_request,
    protect,
)
from clerk_middleware.testing import OrgClaims, TestIssuer

from . import _apps

URL = "http://app.test/admin?tab=members"
PAGE = {"sec-fetch-dest": "document", "accept": "text/html"}
API = {"sec-fetch-dest": "empty", "accept": "application/json"}
TASKS = "https://happy-hippo-1.accounts.dev/sign-in/tasks?"
ORG = OrgClaims(id="org_1", slug="acme", role="admin", permissions=("manage",),
                feature_permission_map=(1,))


def pending_tokens(issuer: TestIssuer) -> dict[str, str]:
    """Pending tokens that claim the admin role every way a token can."""
    return {
        "v2": issuer.pending_token(org=ORG, features="o:billing"),
        "v1": issuer.pending_token(
            org=OrgClaims(id="org_1", role="org:admin", permissions=("org:billing:manage",)),
            version=1,
        ),
        "v2-double-prefix": issuer.pending_token(org=OrgClaims(id="org_1", role="org:admin")),
    }


def carriers(token: str) -> dict[str, dict[str, str]]:
    return {
        "header-api": {**API, "authorization": f"Bearer {token}"},
        "header-page": {**PAGE, "authorization": f"Bearer {token}"},
        "cookie-page": {**PAGE, "cookie": f"__clerk_db_jwt=dvb_1; __client_uat=1; "
                                          f"__session={token}"},
        "cookie-api": {**API, "cookie": f"__clerk_db_jwt=dvb_1; __client_uat=1; "
                                        f"__session={token}"},
    }


ALWAYS_YES: Callable[[Callable[..., bool]], bool] = lambda has: True  # noqa: E731


@pytest.mark.parametrize("version", ["v2", "v1", "v2-double-prefix"])
@pytest.mark.parametrize("carrier", ["header-api", "header-page", "cookie-page", "cookie-api"])
def test_core_never_lets_a_pending_admin_through(
    issuer: TestIssuer, version: str, carrier: str
) -> None:
    options = issuer.options()
    token = pending_tokens(issuer)[version]
    request = AuthRequest("GET", URL, carriers(token)[carrier])
    state = authenticate_request(request, options)
    # At the RequestState level a pending session is signed in, as in Clerk...
    assert state.status is AuthStatus.SIGNED_IN
    # ...and the opt-in view really does hold the admin role, so the checks below
    # refuse because the session is pending, not because the role is missing.
    aware = state.to_auth(treat_pending_as_signed_out=False)
    assert aware is not None and aware.has(role="org:admin")

    auth = state.to_auth()
    assert auth is not None
    assert auth.user_id is None and not auth.is_signed_in
    assert auth.session_status == "pending"
    assert auth.org_id is None and auth.org_role is None and auth.session_claims is None
    queries: list[dict[str, Any]] = [{"role": "org:admin"}, {"role": "admin"},
                                     {"permission": "org:billing:manage"}, {"feature": "o:billing"}]
    for asked in queries:
        assert not auth.has(**asked)

    page = carrier.endswith("page")
    for kwargs in ({"role": "org:admin"}, {"predicate": ALWAYS_YES}, {}):
        # The pending-unaware object and even the pending-aware one with the default switch.
        for candidate in (auth, aware):
            with pytest.raises(AuthRedirect if page else AuthNotFound) as caught:
                protect(candidate, request, options, **kwargs)
            if page:
                assert isinstance(caught.value, AuthRedirect)
                assert caught.value.location.startswith(TASKS)


def expectations(route: str, kind: str) -> tuple[int, dict[str, Any] | None]:
    """(status, JSON body or None) a pending admin must get on ``route``."""
    if route in ("/", "/get-auth", "/current"):
        return 200, {"user_id": None, "session_status": "pending", "is_signed_in": False,
                     "has_admin": False, "org_role": None}
    if route == "/helpers":
        return 200, {"signed_in": False, "admin": False}
    if route == "/requires":
        return 403, None
    if route == "/redirect":
        return 307, None
    return (307 if kind == "page" else 404), None


@pytest.mark.parametrize("adapter", _apps.ADAPTERS)
@pytest.mark.parametrize("kind", ["page", "api"])
def test_no_adapter_lets_a_pending_admin_through(
    issuer: TestIssuer, adapter: str, kind: str
) -> None:
    send = _apps.make_caller(adapter, _apps.settings_of(issuer))
    for version, token in pending_tokens(issuer).items():
        headers = carriers(token)["cookie-page" if kind == "page" else "header-api"]
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        for route in _apps.routes_of(adapter):
            reply = send("GET", route.encode() + b"?x=1", raw)
            status, body = expectations(route, kind)
            where = f"{adapter} {version} {kind} {route}"
            assert reply.status == status, (where, reply.status, reply.body[:200])
            if body is not None:
                assert reply.json() == body, where
            if reply.status == 307:
                (location,) = reply.header(b"location")
                assert location.startswith(TASKS.encode()), (where, location)
