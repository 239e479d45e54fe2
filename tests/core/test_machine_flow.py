"""The ``accepts_token`` dispatch and machine verification, as Clerk's ``authenticateRequest``.

JWT-form machine tokens are verified here with the issuer's key (networkless);
opaque tokens reach the flow's ``MachineVerifyRequest`` effect, answered here by
the driver protocol itself (the Backend API side is tested over HTTP in
tests/backend). Expected values are Clerk's (``@clerk/backend`` 3.25.0).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from clerk_middleware.core import (
    AuthRequest,
    AuthStatus,
    ClerkOptions,
    RequestState,
    authenticate_request,
    authenticate_request_async,
    token_type_of,
)
from clerk_middleware.core._auth import Auth
from clerk_middleware.core._authenticate import run_flow_async, run_flow_sync, start_flow
from clerk_middleware.core._effects import KeyRequest, MachineVerifyError, MachineVerifyRequest
from clerk_middleware.core._machine import CATEGORY_M2M, InvalidTokenAuth, MachineAuth
from clerk_middleware.testing import TestIssuer

from ..conftest import NOW
from ._support import clear_caches

URL = "https://app.example.com/api/items"


def m2m_jwt(issuer: TestIssuer, **claims: Any) -> str:
    header = claims.pop("header", {"cat": CATEGORY_M2M})
    payload = {
        "sub": "mch_2xyz",
        "jti": "mt_jti_1",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 3600,
        "scopes": "read:items write:items",
    }
    payload.update(claims)
    token: str = issuer.sign({k: v for k, v in payload.items() if v is not ...}, header=header)
    return token


def oauth_jwt(issuer: TestIssuer, typ: str = "at+jwt", **claims: Any) -> str:
    payload = {
        "sub": "user_2abc",
        "jti": "oat_jti_1",
        "client_id": "client_1",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 3600,
        "scp": ["profile", "email"],
    }
    payload.update(claims)
    kept = {k: v for k, v in payload.items() if v is not ...}
    token: str = issuer.sign(kept, header={"typ": typ})
    return token


def bearer(token: str | None) -> AuthRequest:
    return AuthRequest("GET", URL, {"authorization": f"Bearer {token}"} if token else {})


Resource = dict[str, Any]


def drive(
    request: AuthRequest,
    options: ClerkOptions,
    accepts: Any = None,
    answer: Callable[[MachineVerifyRequest], Resource] | None = None,
) -> tuple[RequestState, list[Any]]:
    """Run the flow with a driver that answers machine verifications with ``answer``."""
    effects: list[Any] = []

    def perform(effect: Any) -> Any:
        effects.append(effect)
        if isinstance(effect, MachineVerifyRequest) and answer is not None:
            return answer(effect)
        raise AssertionError(f"unexpected effect {effect!r}")

    flow = start_flow(request, options, None, accepts)
    if isinstance(flow, RequestState):
        return flow, effects
    return run_flow_sync(flow, perform), effects


@pytest.fixture(autouse=True)
def _cold() -> None:
    clear_caches()


@pytest.fixture
def issuer(prod_issuer: TestIssuer) -> TestIssuer:
    """A production instance: a request without any token is plainly signed out."""
    return prod_issuer


@pytest.fixture
def options(issuer: TestIssuer) -> ClerkOptions:
    return issuer.options()


# --- the dispatch --------------------------------------------------------------------------


def _kinds(issuer: TestIssuer) -> dict[str, str | None]:
    return {
        "none": None,
        "session": issuer.session_token(),
        "m2m_jwt": m2m_jwt(issuer),
        "oauth_jwt": oauth_jwt(issuer),
        "api_key": "ak_opaque",
        "m2m_opaque": "mt_opaque",
        "oauth_opaque": "oat_opaque",
    }


def _answer(effect: MachineVerifyRequest) -> Resource:
    return {"id": f"id_{effect.token_type}", "subject": "user_2abc", "scopes": ["a"]}


# (accepts, kind) -> (status, reason, token_type); Clerk's authenticateRequest.
IN = (AuthStatus.SIGNED_IN, None)
MISMATCH = (AuthStatus.SIGNED_OUT, "token-type-mismatch")
NO_TOKEN = (AuthStatus.SIGNED_OUT, "No token in header")
ANON = (AuthStatus.SIGNED_OUT, "session-token-and-uat-missing")
DISPATCH: list[tuple[Any, str, tuple[tuple[AuthStatus, str | None], str | None]]] = [
    ("session_token", "none", (ANON, "session_token")),
    ("session_token", "session", (IN, "session_token")),
    ("session_token", "m2m_jwt", (MISMATCH, "session_token")),
    ("session_token", "oauth_jwt", (MISMATCH, "session_token")),
    ("api_key", "none", (NO_TOKEN, "api_key")),
    ("api_key", "session", (MISMATCH, "api_key")),
    ("api_key", "m2m_jwt", (MISMATCH, "api_key")),
    ("api_key", "api_key", (IN, "api_key")),
    ("api_key", "m2m_opaque", (MISMATCH, "api_key")),
    ("m2m_token", "none", (NO_TOKEN, "m2m_token")),
    ("m2m_token", "m2m_jwt", (IN, "m2m_token")),
    ("m2m_token", "m2m_opaque", (IN, "m2m_token")),
    ("m2m_token", "oauth_opaque", (MISMATCH, "m2m_token")),
    ("oauth_token", "oauth_jwt", (IN, "oauth_token")),
    ("oauth_token", "oauth_opaque", (IN, "oauth_token")),
    ("oauth_token", "session", (MISMATCH, "oauth_token")),
    ("oauth_token", "none", (NO_TOKEN, "oauth_token")),
    ("any", "none", (ANON, "session_token")),
    ("any", "session", (IN, "session_token")),
    ("any", "m2m_jwt", (IN, "m2m_token")),
    ("any", "oauth_jwt", (IN, "oauth_token")),
    ("any", "api_key", (IN, "api_key")),
    ("any", "m2m_opaque", (IN, "m2m_token")),
    (("session_token", "api_key"), "none", (ANON, "session_token")),
    (("session_token", "api_key"), "session", (IN, "session_token")),
    (("session_token", "api_key"), "api_key", (IN, "api_key")),
    (("session_token", "api_key"), "m2m_jwt", (MISMATCH, None)),
    (("session_token", "api_key"), "oauth_opaque", (MISMATCH, None)),
    (("m2m_token", "oauth_token"), "none", (MISMATCH, None)),
    (("m2m_token", "oauth_token"), "session", (MISMATCH, None)),
    (("m2m_token", "oauth_token"), "m2m_jwt", (IN, "m2m_token")),
    (("m2m_token", "oauth_token"), "oauth_opaque", (IN, "oauth_token")),
    (("api_key",), "api_key", (IN, "api_key")),
    (("api_key",), "none", (MISMATCH, None)),
]


@pytest.mark.parametrize(("accepts", "kind", "expected"), DISPATCH)
def test_dispatch_matches_clerk(
    issuer: TestIssuer,
    options: ClerkOptions,
    accepts: Any,
    kind: str,
    expected: tuple[tuple[AuthStatus, str | None], str | None],
) -> None:
    outcome, token_type = expected
    token = _kinds(issuer)[kind]
    state, effects = drive(bearer(token), options, accepts, _answer)
    assert (state.status, state.reason) == outcome
    assert state.token_type == token_type
    opaque = kind in ("api_key", "m2m_opaque", "oauth_opaque")
    asked = [e for e in effects if isinstance(e, MachineVerifyRequest)]
    # An opaque token reaches the Backend API only when its type is accepted.
    assert bool(asked) == (opaque and outcome == IN)
    if state.status is AuthStatus.SIGNED_OUT:
        assert state.header_values("x-clerk-auth-status") == ["signed-out"]
        assert state.header_values("x-clerk-auth-reason") == [outcome[1]]


def test_options_accepts_token_is_the_default_of_the_call(issuer: TestIssuer) -> None:
    options = issuer.options(accepts_token="api_key")
    assert authenticate_request(bearer(None), options).reason == "No token in header"
    state = authenticate_request(bearer(None), options, accepts_token="session_token")
    assert state.reason == "session-token-and-uat-missing"


def test_invalid_token_state_is_clerks(issuer: TestIssuer, options: ClerkOptions) -> None:
    state, _ = drive(bearer(m2m_jwt(issuer)), options, ("session_token",))
    assert state.token_type is None
    assert state.message == ""
    assert state.headers == (
        ("x-clerk-auth-reason", "token-type-mismatch"),
        ("x-clerk-auth-status", "signed-out"),
    )
    assert isinstance(state.to_auth(accepts_token="any"), InvalidTokenAuth)


# --- JWT forms ------------------------------------------------------------------------------


def test_m2m_jwt_signed_in_with_clerks_fields(issuer: TestIssuer, options: ClerkOptions) -> None:
    token = m2m_jwt(issuer, custom="x")
    state = authenticate_request(bearer(token), options, accepts_token="m2m_token")
    assert state.status is AuthStatus.SIGNED_IN
    assert state.headers == ()
    auth = state.to_auth(accepts_token="m2m_token")
    assert isinstance(auth, MachineAuth)
    assert auth.is_authenticated
    assert (auth.id, auth.subject, auth.machine_id) == ("mt_jti_1", "mch_2xyz", "mch_2xyz")
    assert auth.scopes == ["read:items", "write:items"]
    # Clerk's custom claims: everything but iss, sub, exp, nbf, iat and jti.
    assert auth.claims == {"scopes": "read:items write:items", "custom": "x"}
    assert auth.get_token() == token
    assert not auth.has(permission="org:a:b")


@pytest.mark.parametrize(
    ("claims", "scopes", "custom"),
    [
        ({"scopes": ...}, [], None),
        ({"scopes": ..., "aud": ["x", "y"]}, ["x", "y"], {"aud": ["x", "y"]}),
        ({"scopes": ""}, [""], {"scopes": ""}),
        ({"jti": ...}, ["read:items", "write:items"], {"scopes": "read:items write:items"}),
    ],
)
def test_m2m_jwt_data_from_payload(
    issuer: TestIssuer,
    options: ClerkOptions,
    claims: dict[str, Any],
    scopes: list[str],
    custom: dict[str, Any] | None,
) -> None:
    state = authenticate_request(bearer(m2m_jwt(issuer, **claims)), options, accepts_token="any")
    auth = state.to_auth(accepts_token="any")
    assert isinstance(auth, MachineAuth)
    assert auth.scopes == scopes
    if "scopes" not in claims:
        assert auth.claims == custom
    if "jti" in claims:
        assert auth.id == ""


def test_m2m_jwt_scopes_that_are_not_a_string_sign_out(
    issuer: TestIssuer, options: ClerkOptions
) -> None:
    # Clerk's SDK throws on scopes.split; the request is refused here.
    state = authenticate_request(
        bearer(m2m_jwt(issuer, scopes=["a"])), options, accepts_token="any"
    )
    assert state.status is AuthStatus.SIGNED_OUT
    assert state.reason == "unexpected-error"


@pytest.mark.parametrize(
    ("build", "reason", "message"),
    [
        (
            lambda i: m2m_jwt(i, header={"cat": "cl_other"}),
            "token-invalid",
            "Invalid M2M JWT category. (code=token-invalid, status=n/a)",
        ),
        (
            lambda i: m2m_jwt(i, exp=int(NOW) - 100),
            "token-verification-failed",
            "JWT is expired. Expiry date: Mon, 21 Sep 2026 14:11:40 GMT, Current date: "
            "Mon, 21 Sep 2026 14:13:20 GMT. (code=token-verification-failed, status=n/a)",
        ),
        (
            lambda i: m2m_jwt(i, header={"cat": CATEGORY_M2M, "typ": "at+jwt"}),
            "token-verification-failed",
            'Invalid JWT type "at+jwt". Expected "JWT". (code=token-verification-failed, '
            "status=n/a)",
        ),
        (
            lambda i: m2m_jwt(i, sub=...),
            # Without sub it is not an M2M JWT at all, nor a machine token.
            "token-type-mismatch",
            None,
        ),
    ],
)
def test_m2m_jwt_failures(
    issuer: TestIssuer,
    options: ClerkOptions,
    build: Callable[[TestIssuer], str],
    reason: str,
    message: str | None,
) -> None:
    state = authenticate_request(bearer(build(issuer)), options, accepts_token="m2m_token")
    assert state.status is AuthStatus.SIGNED_OUT
    assert state.reason == reason
    if message is not None:
        assert state.message == message
    assert state.token_type == "m2m_token"
    auth = state.to_auth(accepts_token="m2m_token")
    assert isinstance(auth, MachineAuth) and not auth.is_authenticated
    assert auth.id is None and auth.scopes is None and auth.get_token() is None


def test_m2m_jwt_signed_by_another_key(
    issuer: TestIssuer, other_issuer: TestIssuer, options: ClerkOptions
) -> None:
    state = authenticate_request(bearer(m2m_jwt(other_issuer)), options, accepts_token="any")
    assert state.reason == "token-verification-failed"
    assert state.message == (
        "JWT signature is invalid. (code=token-verification-failed, status=n/a)"
    )
    assert state.token_type == "m2m_token"


def test_m2m_jwt_checks_audience_but_not_azp_or_issuer(issuer: TestIssuer) -> None:
    options = issuer.options(
        audience="api", authorized_parties=["https://app.example.com"], issuer="https://x"
    )
    ok = authenticate_request(bearer(m2m_jwt(issuer, aud="api")), options, accepts_token="any")
    assert ok.status is AuthStatus.SIGNED_IN
    bad = authenticate_request(bearer(m2m_jwt(issuer, aud="web")), options, accepts_token="any")
    assert bad.reason == "token-verification-failed"
    assert bad.message == (
        'Invalid JWT audience claim (aud) "web". Is not included in "["api"]". '
        "(code=token-verification-failed, status=n/a)"
    )


def test_oauth_jwt_signed_in(issuer: TestIssuer, options: ClerkOptions) -> None:
    token = oauth_jwt(issuer, typ="application/at+jwt")
    state = authenticate_request(bearer(token), options, accepts_token="oauth_token")
    auth = state.to_auth(accepts_token="oauth_token")
    assert isinstance(auth, MachineAuth) and auth.is_authenticated
    assert (auth.id, auth.user_id, auth.client_id) == ("oat_jti_1", "user_2abc", "client_1")
    assert auth.scopes == ["profile", "email"]
    assert auth.machine_id is None and auth.claims is None


def test_oauth_jwt_scope_claim_is_split(issuer: TestIssuer, options: ClerkOptions) -> None:
    token = oauth_jwt(issuer, scp=..., scope="a b")
    auth = authenticate_request(bearer(token), options, accepts_token="any").to_auth(
        accepts_token="any"
    )
    assert isinstance(auth, MachineAuth) and auth.scopes == ["a", "b"]


@pytest.mark.parametrize(
    ("aud", "message"),
    [
        ("api", None),
        (["web", "api"], None),
        (
            "web",
            'OAuth audience mismatch. Verification expected audience ["api"], but incoming '
            'token has aud "web".',
        ),
        (
            ...,
            "Invalid OAuth audience claim (aud) undefined. Expected a non-empty string or a "
            "non-empty array of non-empty strings.",
        ),
        (
            ["api", ""],
            'Invalid OAuth audience claim (aud) ["api",""]. Expected a non-empty string or a '
            "non-empty array of non-empty strings.",
        ),
        (
            7,
            "Invalid OAuth audience claim (aud) 7. Expected a non-empty string or a non-empty "
            "array of non-empty strings.",
        ),
    ],
)
def test_oauth_jwt_audience(issuer: TestIssuer, aud: Any, message: str | None) -> None:
    options = issuer.options(audience="api")
    state = authenticate_request(bearer(oauth_jwt(issuer, aud=aud)), options, accepts_token="any")
    if message is None:
        assert state.status is AuthStatus.SIGNED_IN
    else:
        assert state.reason == "token-verification-failed"
        assert state.message == f"{message} (code=token-verification-failed, status=n/a)"
        assert state.token_type == "oauth_token"


def test_oauth_jwt_without_audience_option_skips_the_check(
    issuer: TestIssuer, options: ClerkOptions
) -> None:
    state = authenticate_request(bearer(oauth_jwt(issuer, aud=7)), options, accepts_token="any")
    assert state.status is AuthStatus.SIGNED_IN


def test_prefixed_token_in_jwt_form_fails_to_decode_as_m2m(
    issuer: TestIssuer, options: ClerkOptions
) -> None:
    state, effects = drive(bearer("ak_abc.def.ghi"), options, "api_key", _answer)
    assert effects == []
    assert (state.reason, state.token_type) == ("token-invalid", "m2m_token")
    assert state.message is not None and state.message.endswith("(code=token-invalid, status=n/a)")


def test_jwt_forms_fetch_the_key_without_jwt_key(issuer: TestIssuer) -> None:
    options = issuer.options(networkless=False)
    kids: list[str | None] = []

    def perform(effect: Any) -> Any:
        assert isinstance(effect, KeyRequest)
        kids.append(effect.kid)
        return _public(issuer)

    flow = start_flow(bearer(m2m_jwt(issuer)), options, None, "m2m_token")
    assert not isinstance(flow, RequestState)
    state = run_flow_sync(flow, perform)
    assert state.status is AuthStatus.SIGNED_IN
    assert kids == [issuer.kid]


def test_key_fetch_failure_is_token_verification_failed(issuer: TestIssuer) -> None:
    from clerk_middleware.core import TokenVerificationError

    options = issuer.options(networkless=False)

    def perform(effect: Any) -> Any:
        raise TokenVerificationError("jwk-remote-failed-to-load", "Failed to load JWKS.")

    flow = start_flow(bearer(oauth_jwt(issuer)), options, None, "any")
    assert not isinstance(flow, RequestState)
    state = run_flow_sync(flow, perform)
    assert state.reason == "token-verification-failed"
    assert state.message == "Failed to load JWKS. (code=token-verification-failed, status=n/a)"


def _public(issuer: TestIssuer) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(issuer.jwt_key.encode())


# --- opaque tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "token_type"),
    [("ak_1", "api_key"), ("mt_1", "m2m_token"), ("oat_1", "oauth_token")],
)
def test_opaque_token_asks_the_backend_once(
    options: ClerkOptions, token: str, token_type: str
) -> None:
    state, effects = drive(bearer(token), options, token_type, _answer)
    assert effects == [MachineVerifyRequest(token_type, token)]  # type: ignore[arg-type]
    assert state.status is AuthStatus.SIGNED_IN
    assert state.machine is not None
    assert dict(state.machine, client_id=None) == dict(_answer(effects[0]), client_id=None)
    assert token not in repr(effects[0])  # a credential: never in a repr


def test_api_key_auth_object(options: ClerkOptions) -> None:
    data = {
        "object": "api_key",
        "id": "ak_id",
        "subject": "org_9",
        "name": "ci",
        "scopes": ["deploy"],
        "claims": {"team": "ops"},
    }
    state, _ = drive(bearer("ak_secret"), options, "api_key", lambda e: data)
    auth = state.to_auth(accepts_token="api_key")
    assert isinstance(auth, MachineAuth)
    assert (auth.name, auth.org_id, auth.user_id, auth.claims) == (
        "ci",
        "org_9",
        None,
        {"team": "ops"},
    )
    assert "ak_secret" not in repr(state) and "ak_secret" not in repr(auth)


def test_oauth_client_id_only_from_clerks_object(options: ClerkOptions) -> None:
    named = {
        "object": "clerk_idp_oauth_access_token",
        "id": "x",
        "subject": "user_1",
        "client_id": "c",
    }
    bare = {"id": "x", "subject": "user_1", "client_id": "c"}
    for data, client_id in ((named, "c"), (bare, None)):
        state, _ = drive(bearer("oat_1"), options, "oauth_token", lambda e, d=data: d)  # type: ignore[misc]
        auth = state.to_auth(accepts_token="oauth_token")
        assert isinstance(auth, MachineAuth) and auth.client_id == client_id


@pytest.mark.parametrize(
    ("error", "reason", "message"),
    [
        (
            MachineVerifyError("token-invalid", "API key not found", 404),
            "token-invalid",
            "API key not found (code=token-invalid, status=404)",
        ),
        (
            MachineVerifyError("secret-key-invalid", "Invalid secret key", 401),
            "secret-key-invalid",
            "Invalid secret key (code=secret-key-invalid, status=401)",
        ),
        (
            MachineVerifyError("unexpected-error", "Unexpected error", 500),
            "unexpected-error",
            "Unexpected error (code=unexpected-error, status=500)",
        ),
        (RuntimeError("boom"), "unexpected-error", ""),
    ],
)
def test_opaque_token_errors(
    options: ClerkOptions, error: Exception, reason: str, message: str
) -> None:
    def fail(effect: MachineVerifyRequest) -> Resource:
        raise error

    state, _ = drive(bearer("ak_1"), options, "api_key", fail)
    assert (state.status, state.reason, state.message) == (AuthStatus.SIGNED_OUT, reason, message)
    assert state.token_type == "api_key"
    assert "boom" not in repr(state.headers)


def test_opaque_oauth_audience(issuer: TestIssuer) -> None:
    options = issuer.options(audience=["api"])
    ok, _ = drive(
        bearer("oat_1"), options, "any", lambda e: {"id": "oat_id", "aud": ["api"], "subject": "u"}
    )
    assert ok.status is AuthStatus.SIGNED_IN
    bad, _ = drive(bearer("oat_1"), options, "any", lambda e: {"id": "oat_id", "subject": "u"})
    assert bad.reason == "token-verification-failed"
    assert bad.message is not None and bad.message.startswith(
        "Invalid OAuth audience claim (aud) undefined."
    )


# --- to_auth: getAuthObjectForAcceptedToken ---------------------------------------------------


def test_to_auth_filters_by_accepted_type(issuer: TestIssuer, options: ClerkOptions) -> None:
    machine = authenticate_request(bearer(m2m_jwt(issuer)), options, accepts_token="any")
    session = authenticate_request(bearer(issuer.session_token()), options, accepts_token="any")
    as_session = machine.to_auth()
    assert isinstance(as_session, Auth) and not as_session.is_signed_in
    as_key = machine.to_auth(accepts_token="api_key")
    assert isinstance(as_key, MachineAuth)
    assert (as_key.token_type, as_key.is_authenticated) == ("api_key", False)
    assert isinstance(machine.to_auth(accepts_token=("api_key",)), InvalidTokenAuth)
    listed = machine.to_auth(accepts_token=("api_key", "m2m_token"))
    assert isinstance(listed, MachineAuth) and listed.is_authenticated
    signed_in = session.to_auth(accepts_token=("session_token",))
    assert isinstance(signed_in, Auth) and signed_in.user_id == "user_2abc"
    as_oauth = session.to_auth(accepts_token="oauth_token")
    assert isinstance(as_oauth, MachineAuth) and not as_oauth.is_authenticated


def test_pending_session_through_any(issuer: TestIssuer, options: ClerkOptions) -> None:
    state = authenticate_request(bearer(issuer.pending_token()), options, accepts_token="any")
    pending = state.to_auth(accepts_token="any")
    assert isinstance(pending, Auth) and pending.user_id is None
    kept = state.to_auth(accepts_token="any", treat_pending_as_signed_out=False)
    assert isinstance(kept, Auth) and kept.user_id == "user_2abc"


# --- the decision memo ----------------------------------------------------------------------


def test_memo_never_answers_for_another_accepted_type(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    assert options.decision_memo is not None
    token = prod_issuer.session_token()
    first = authenticate_request(bearer(token), options)
    again = authenticate_request(bearer(token), options)
    assert first.status is again.status is AuthStatus.SIGNED_IN
    as_key = authenticate_request(bearer(token), options, accepts_token="api_key")
    assert (as_key.reason, as_key.token_type) == ("token-type-mismatch", "api_key")
    listed = authenticate_request(bearer(token), options, accepts_token=("m2m_token",))
    assert listed.token_type is None
    anything = authenticate_request(bearer(token), options, accepts_token="any")
    assert anything.status is AuthStatus.SIGNED_IN
    anonymous = authenticate_request(bearer(None), options, accepts_token="oauth_token")
    assert anonymous.reason == "No token in header"


def test_machine_decisions_are_not_remembered(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    calls: list[int] = []

    def answer(effect: MachineVerifyRequest) -> Resource:
        calls.append(1)
        return {"id": "k", "subject": "user_1"}

    for _ in range(3):
        state, _ = drive(bearer("ak_1"), options, "any", answer)
        assert state.status is AuthStatus.SIGNED_IN
    assert len(calls) == 3  # a revoked key is refused on the next request


@pytest.mark.parametrize("token", ["ak_1", "mt_1", "oat_1"])
@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"id": "x"},
        {"subject": "user_1"},
        {"id": "", "subject": "user_1"},
        {"id": 7, "subject": "u"},
        {"id": "x", "subject": ["user_1"]},
        {"object": "user", "id": "user_x"},
        [],
        "ok",
        None,
    ],
    ids=repr,
)
def test_an_answer_that_names_no_token_signs_nobody_in(
    prod_issuer: TestIssuer, token: str, answer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Clerk's SDK signs in on any 200 answer; a proxy's page or ``{}`` must not.
    state, _ = drive(bearer(token), prod_issuer.options(), "any", lambda e: answer)
    assert state.status is AuthStatus.SIGNED_OUT
    assert state.reason == "unexpected-error"
    assert state.message == "Unexpected error (code=unexpected-error, status=n/a)"
    assert state.token_type == token_type_of(token)
    assert token not in caplog.text


# --- sync and async --------------------------------------------------------------------------


@pytest.mark.parametrize(("accepts", "kind", "expected"), DISPATCH[::3])
def test_async_driver_decides_the_same(
    issuer: TestIssuer, options: ClerkOptions, accepts: Any, kind: str, expected: Any
) -> None:
    request = bearer(_kinds(issuer)[kind])

    async def perform(effect: Any) -> Any:
        return _answer(effect)

    async def run() -> RequestState:
        flow = start_flow(request, options, None, accepts)
        if isinstance(flow, RequestState):
            return flow
        return await run_flow_async(flow, perform)

    sync_state, _ = drive(request, options, accepts, _answer)
    assert asyncio.run(run()) == sync_state
    if kind in ("none", "session", "m2m_jwt", "oauth_jwt"):  # no Backend API needed
        assert asyncio.run(
            authenticate_request_async(request, options, accepts_token=accepts)
        ) == authenticate_request(request, options, accepts_token=accepts)
