"""``auth(accepts_token=...)`` answers what Clerk's middleware (which accepts "any") answers.

Clerk's ``clerkMiddleware`` authenticates every request with ``acceptsToken:
"any"`` and each ``auth({ acceptsToken })`` filters that one state with
``getAuthObjectForAcceptedToken``. Ours verifies only ``options.accepts_token``
up front and the rest on demand; for every middleware setting, token and asked
type the answer must be the same object, and an opaque token must reach the
Backend API only when something asks for its type. Opaque tokens are verified by
a real local instance over HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from clerk_middleware.adapters._common import RequestContext
from clerk_middleware.core import (
    AuthRequest,
    AuthStatus,
    BackendBudget,
    ClerkOptions,
    authenticate_request,
    configure_backend,
    reset_backends,
)
from clerk_middleware.core._auth import signed_out_auth
from clerk_middleware.core._machine import (
    is_token_type_accepted,
    token_type_of,
    unauthenticated_machine_auth,
)
from clerk_middleware.core._state import accepted_auth
from clerk_middleware.testing import LocalInstance

SHAPES: list[Any] = [
    "session_token",
    "api_key",
    "m2m_token",
    "oauth_token",
    "any",
    ("session_token", "api_key"),
    ("m2m_token", "oauth_token"),
]
KINDS = [
    "none",
    "session",
    "m2m_jwt",
    "oauth_jwt",
    "api_key",
    "m2m_opaque",
    "oauth_opaque",
    "revoked_api_key",
    "unknown_m2m",
]
VERIFY_ENDPOINTS = ("api_key_verify", "m2m_token_verify", "oauth_token_verify")


@pytest.fixture(scope="module")
def instance() -> Iterator[LocalInstance]:
    with LocalInstance() as running:
        yield running


@pytest.fixture(scope="module")
def tokens(instance: LocalInstance) -> dict[str, str | None]:
    revoked = instance.create_api_key("user_2abc", name="old")
    instance.revoke_api_key(revoked.id)
    return {
        "none": None,
        "session": instance.issuer.session_token(),
        "m2m_jwt": instance.create_m2m_token("mch_2abc", scopes=["read"], jwt=True).token,
        "oauth_jwt": instance.create_oauth_token("user_2abc", scopes=["email"], jwt=True).token,
        "api_key": instance.create_api_key("org_2abc", name="ci", scopes=["deploy"]).secret,
        "m2m_opaque": instance.create_m2m_token("mch_2abc", scopes=["read"]).token,
        "oauth_opaque": instance.create_oauth_token("user_2abc", scopes=["email"]).token,
        "revoked_api_key": revoked.secret,
        "unknown_m2m": "mt_unknown",
    }


def _options(instance: LocalInstance, accepts: Any) -> ClerkOptions:
    options = instance.options(accepts_token=accepts)
    # Many verifications in a few seconds: lift the per-instance budget for this module.
    configure_backend(options, machine_budget=BackendBudget(enabled=False))
    return options


@pytest.fixture(autouse=True)
def _fresh_backends() -> Iterator[None]:
    yield
    reset_backends()


def _request(token: str | None) -> AuthRequest:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return AuthRequest("GET", "https://app.example.com/api/items", headers)


def _clerk(state: Any, token: str | None, accepts: Any) -> Any:
    """Clerk's answer: the "any" state's own object, filtered for ``accepts``."""
    own = state.to_auth(accepts_token="any")
    if own is None:  # a handshake: no auth object of its own
        kind = token_type_of(token)
        own = signed_out_auth() if kind == "session_token" else unauthenticated_machine_auth(kind)
    return accepted_auth(own, accepts)


def _verify_calls(instance: LocalInstance) -> int:
    return sum(instance.count(name) for name in VERIFY_ENDPOINTS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("middleware", SHAPES, ids=str)
def test_auth_matches_clerks_any_state(
    instance: LocalInstance, tokens: dict[str, str | None], middleware: Any, kind: str
) -> None:
    token = tokens[kind]
    request = _request(token)
    options = _options(instance, middleware)
    first = authenticate_request(request, options)
    if first.status is AuthStatus.HANDSHAKE:
        pytest.skip("the middleware answers a handshake itself; no handler runs")
    clerk_state = authenticate_request(request, options, accepts_token="any")
    for asked in SHAPES:
        context = RequestContext(request, first, options)
        instance.reset_counts()
        got = context.auth(accepts_token=asked)
        assert got == _clerk(clerk_state, token, asked), asked
        # The Backend API is asked only for a token of an accepted, unverified type.
        opaque = kind in {"api_key", "m2m_opaque", "oauth_opaque", "revoked_api_key", "unknown_m2m"}
        token_type = token_type_of(token)
        expect_call = (
            opaque
            and is_token_type_accepted(token_type, asked)
            and not is_token_type_accepted(token_type, middleware)
        )
        assert _verify_calls(instance) == int(expect_call), asked
        # Asked again: decided once per request.
        context.auth(accepts_token=asked)
        assert _verify_calls(instance) == int(expect_call), asked


def test_on_an_event_loop_a_network_check_must_be_awaited(
    instance: LocalInstance, tokens: dict[str, str | None]
) -> None:
    request = _request(tokens["api_key"])
    options = _options(instance, "session_token")
    context = RequestContext(request, authenticate_request(request, options), options)

    async def handler() -> Any:
        with pytest.raises(RuntimeError, match=r"await auth\.verify\(accepts_token='api_key'\)"):
            context.auth(accepts_token="api_key")
        await context.verify_async("api_key")
        return context.auth(accepts_token="api_key")

    auth = asyncio.run(handler())
    assert auth.is_authenticated and auth.org_id == "org_2abc"
    assert instance.count("api_key_verify") >= 1


def test_on_an_event_loop_jwt_forms_need_no_await(
    instance: LocalInstance, tokens: dict[str, str | None]
) -> None:
    request = _request(tokens["m2m_jwt"])
    options = _options(instance, "session_token")
    # The key is cached once the middleware verified anything with it.
    authenticate_request(_request(tokens["session"]), options)
    context = RequestContext(request, authenticate_request(request, options), options)

    async def handler() -> Any:
        return context.auth(accepts_token="m2m_token")

    auth = asyncio.run(handler())
    assert auth.is_authenticated and auth.machine_id == "mch_2abc"
