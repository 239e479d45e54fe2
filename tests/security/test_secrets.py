"""Secrets stay secret: no token, secret key or cookie value in logs, errors or debug headers.

Logging is captured at DEBUG for every logger (the SDK's and its libraries':
httpx, httpcore...) while requests run through the core and the adapters,
with networkless and remote keys, handshakes, refreshes and Backend API
failures. The local instance's own logger is left out: it plays Clerk's
servers, whose logs are not ours.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterator

import pytest

from clerk_middleware.core import (
    AuthRedirect,
    AuthRequest,
    AuthStatus,
    ClerkOptions,
    ConfigurationError,
    MalformedPathError,
    RequestState,
    authenticate_request,
    authenticate_request_async,
    protect,
)
from clerk_middleware.core._backend import JwksPolicy, backend_for, configure_backend
from clerk_middleware.testing import TestIssuer
from clerk_middleware.testing._instance import CannedResponse, ConnectionReset, LocalInstance

from . import _apps
from .test_forged_tokens import FORGERIES, Keys

PAGE = {"sec-fetch-dest": "document", "accept": "text/html"}
API = {"sec-fetch-dest": "empty", "accept": "application/json"}
SERVER_SIDE_LOGGERS = ("clerk_middleware.testing",)


class Secrets:
    """Every secret value a test put into play."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, *values: str) -> None:
        for value in values:
            assert len(value) >= 12, value  # short values would match by accident
            self.values.add(value)

    def found_in(self, text: str) -> list[str]:
        """The lines of ``text`` that contain a secret (abbreviated)."""
        return sorted(
            line[:160] for line in text.splitlines() if any(v in line for v in self.values)
        )


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        yield caplog
    root.setLevel(old)


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    lines: list[str] = []
    for record in caplog.records:
        if record.name.startswith(SERVER_SIDE_LOGGERS):
            continue
        lines.append(f"{record.name}: {record.getMessage()}")
        if record.exc_info and record.exc_info[1] is not None:
            lines.append(repr(record.exc_info[1]))
    return "\n".join(lines)


def both(request: AuthRequest, options: ClerkOptions) -> RequestState:
    state = authenticate_request(request, options)
    asyncio.run(authenticate_request_async(request, options))
    return state


@pytest.fixture(scope="module")
def clerk() -> Iterator[LocalInstance]:
    with LocalInstance() as instance:
        yield instance


def test_networkless_flows_log_no_secret(
    captured: pytest.LogCaptureFixture, issuer: TestIssuer, other_issuer: TestIssuer
) -> None:
    found = Secrets()
    options = issuer.options()
    found.add(options.secret_key or "")
    unrelated = f"app_{secrets.token_hex(16)}"
    dev_browser = f"dvb_{secrets.token_hex(16)}"
    found.add(unrelated, dev_browser)
    keys = Keys(issuer, other_issuer, TestIssuer("clerk.elsewhere.example", production=True))
    tokens = [issuer.session_token(azp=None), issuer.pending_token(), issuer.expired_token(),
              *(forgery.build(keys) for forgery in FORGERIES.values())]
    handshake_good = issuer.handshake_token([f"__session={tokens[0]}; Path=/"])
    handshake_bad = other_issuer.handshake_token([f"__session={tokens[0]}; Path=/"])
    found.add(handshake_good, handshake_bad)
    for token in tokens:
        if len(token) >= 12:  # "..", "e30.e30...": nothing secret to find
            found.add(token)
        cookie = f"__clerk_db_jwt={dev_browser}; __client_uat=1; __session={token}; x={unrelated}"
        for headers in ({**API, "authorization": f"Bearer {token}", "cookie": cookie},
                        {**PAGE, "cookie": cookie}, {**API, "cookie": cookie}):
            both(AuthRequest("GET", "https://app.example.com/x", headers), options)
    for handshake in (handshake_good, handshake_bad):
        url = f"https://app.example.com/x?__clerk_handshake={handshake}"
        both(AuthRequest("GET", url, {**PAGE, "cookie": f"__clerk_db_jwt={dev_browser}"}),
             options)
    text = logged_text(captured)
    assert "Clerk" in text  # something was logged, so the check means something
    assert found.found_in(text) == []


def test_backend_api_flows_log_no_secret(
    captured: pytest.LogCaptureFixture, clerk: LocalInstance
) -> None:
    found = Secrets()
    options = clerk.options()
    configure_backend(options, timeout=1.0, policy=JwksPolicy(retry_after_failure=0.0))
    found.add(clerk.secret_key)
    user = clerk.create_user()
    session = clerk.sign_in(user)
    now = int(time.time())
    expired = clerk.session_token(session, issued_at=now - 120, lifetime=60)
    fresh = clerk.session_token(session)
    dev_browser = f"dvb_{secrets.token_hex(16)}"
    nonce = f"nonce_{secrets.token_hex(16)}"
    found.add(expired, fresh, session.refresh_token, dev_browser, nonce)
    suffix = clerk.cookie_suffix
    base = f"__clerk_db_jwt={dev_browser}; __client_uat=1"
    requests = [
        {**API, "authorization": f"Bearer {fresh}"},
        # An expired token with a refresh cookie: the SDK refreshes it with the Backend API.
        {**PAGE,
         "cookie": f"{base}; __session={expired}; __refresh_{suffix}={session.refresh_token}"},
        # A handshake nonce arriving as a cookie: exchanged for cookie directives.
        {**PAGE, "cookie": f"{base}; __clerk_handshake_nonce={nonce}"},
    ]
    refreshed = both(AuthRequest("GET", "http://app.test/x", requests[1]), options)
    assert refreshed.status is AuthStatus.SIGNED_IN  # the refresh path really ran
    for headers in requests:
        both(AuthRequest("GET", "http://app.test/x", headers), options)
    # And while the Backend API fails in every way it can.
    for fault in (CannedResponse(500), CannedResponse(401, code="clerk_key_invalid"),
                  ConnectionReset()):
        configure_backend(options, timeout=1.0)
        with clerk.fault("jwks", fault), clerk.fault("refresh", fault), \
                clerk.fault("handshake_payload", fault):
            for headers in requests:
                both(AuthRequest("GET", "http://app.test/x", headers), options)
    text = logged_text(captured)
    assert "HTTP Request" in text  # httpx's own request log was captured too
    assert found.found_in(text) == []


def test_adapters_log_no_secret(captured: pytest.LogCaptureFixture, issuer: TestIssuer) -> None:
    found = Secrets()
    settings = _apps.settings_of(issuer)
    found.add(settings["secret_key"])
    token = issuer.session_token()
    expired = issuer.expired_token()
    found.add(token, expired)
    for adapter in _apps.ADAPTERS:
        send = _apps.make_caller(adapter, settings)
        for route in _apps.routes_of(adapter):
            for headers in ({"authorization": f"Bearer {token}"},
                            {"cookie": f"__clerk_db_jwt=dvb_1; __client_uat=1; __session={expired}",
                             "sec-fetch-dest": "document"}):
                raw = [(k.encode(), v.encode()) for k, v in headers.items()]
                send("GET", route.encode(), [(b"host", b"app.test"), *raw])
    assert found.found_in(logged_text(captured)) == []


def test_debug_headers_carry_reasons_not_tokens(
    issuer: TestIssuer, other_issuer: TestIssuer
) -> None:
    keys = Keys(issuer, other_issuer, TestIssuer("clerk.elsewhere.example", production=True))
    options = issuer.options(authorized_parties=["https://app.example.com"])
    for name, forgery in FORGERIES.items():
        token = forgery.build(keys)
        cookie = f"__clerk_db_jwt=dvb_1; __client_uat=1; __session={token}"
        for headers in ({**API, "authorization": f"Bearer {token}"}, {**API, "cookie": cookie}):
            state = authenticate_request(AuthRequest("GET", "https://app.example.com/x", headers),
                                         options)
            assert state.status is AuthStatus.SIGNED_OUT
            signature = token.rsplit(".", 1)[-1]
            for header, value in state.headers:
                assert header.startswith("x-clerk-auth-"), header
                assert token not in value, (name, header)
                assert len(signature) < 16 or signature not in value, (name, header)
    # A signed-in state carries no debug header at all.
    state = authenticate_request(
        AuthRequest("GET", "https://app.example.com/x",
                    {"authorization": f"Bearer {issuer.session_token()}"}),
        issuer.options())
    assert state.status is AuthStatus.SIGNED_IN and state.headers == ()


def test_configuration_errors_never_quote_the_secret_key(issuer: TestIssuer) -> None:
    secret = f"sk_test_{secrets.token_hex(20)}"
    bad: list[dict[str, object]] = [
        {"publishable_key": "pk_test_bad"},
        {"publishable_key": issuer.publishable_key, "jwt_key": "not a key"},
        {"publishable_key": issuer.publishable_key, "api_url": "ftp://x"},
        {"publishable_key": issuer.publishable_key, "proxy_url": "nope"},
        {"publishable_key": issuer.publishable_key, "clock_skew_in_ms": "5s"},
        {"publishable_key": issuer.publishable_key, "is_satellite": True},
    ]
    for extra in bad:
        with pytest.raises(ConfigurationError) as caught:
            ClerkOptions(secret_key=secret, **extra)  # type: ignore[arg-type]
        assert secret not in str(caught.value) and secret not in repr(caught.value)
    options = issuer.options()
    assert options.secret_key is not None
    assert options.secret_key not in repr(options) and options.secret_key not in str(options)
    assert options.secret_key not in repr(backend_for(options))


def test_request_state_and_auth_reprs_hide_the_token(issuer: TestIssuer) -> None:
    # Apps log objects (logger.info("%r", auth())), and error pages and error
    # trackers print the locals of a failing frame: a repr is a log line waiting
    # to happen. The token is reachable as an attribute, not in the repr.
    token = issuer.session_token()
    state = authenticate_request(
        AuthRequest("GET", "https://app.example.com/x", {"authorization": f"Bearer {token}"}),
        issuer.options())
    assert state.status is AuthStatus.SIGNED_IN and state.token == token
    auth = state.to_auth()
    assert auth is not None and auth.get_token() == token
    signature = token.rsplit(".", 1)[1]
    for text in (repr(state), str(state), repr(auth), str(auth)):
        assert signature not in text


def test_errors_raised_into_the_app_never_quote_request_secrets(issuer: TestIssuer) -> None:
    # A request whose URL cannot be parsed (a garbage Host) but whose query
    # carries a dev browser token: protect() cannot build a redirect and raises
    # MalformedPathError (the adapters answer 400). Its message is for logs.
    dev_browser = f"dvb_{secrets.token_hex(16)}"
    options = issuer.options()
    request = AuthRequest("GET", f"http://bad host/x?__clerk_db_jwt={dev_browser}", PAGE)
    state = authenticate_request(request, options)
    assert state.status is AuthStatus.SIGNED_OUT
    auth = state.to_auth()
    assert auth is not None
    with pytest.raises((MalformedPathError, AuthRedirect)) as caught:
        protect(auth, request, options)
    assert dev_browser not in str(caught.value) and dev_browser not in repr(caught.value)
    assert dev_browser not in (state.message or "")
