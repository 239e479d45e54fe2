"""The framework-free glue: the auth accessor, control helpers and the one translator."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest

from clerk_middleware.adapters._common import (
    ClerkAuth,
    RequestContext,
    auth,
    bind_context,
    context_of,
    control_flow_answer,
    handshake_answer,
    protect,
    request_target,
    reset_context,
    signed_in,
    signed_out,
)
from clerk_middleware.core import (
    AuthNotFound,
    AuthRedirect,
    AuthRequest,
    AuthStatus,
    AuthUnauthorized,
    MalformedPathError,
    RequestState,
    authenticate_request,
)
from clerk_middleware.testing import OrgClaims, TestIssuer

from . import matrix


def context(issuer: TestIssuer, scenario: str, kind: str = "page") -> RequestContext:
    options = issuer.options()
    request = AuthRequest("GET", f"{matrix.BASE}/page?x=1",
                          matrix.request_headers(issuer, scenario, kind))
    return RequestContext(request, authenticate_request(request, options), options)


def test_every_adapter_shares_one_accessor_and_one_set_of_helpers() -> None:
    from clerk_middleware.adapters import asgi, fastapi, flask, starlette, wsgi

    for module in (wsgi, flask, asgi, starlette, fastapi):
        assert module.auth is auth
        assert (module.protect, module.signed_in, module.signed_out) == (
            protect, signed_in, signed_out)
        assert {"clerk_middleware", "get_auth", "auth", "protect", "signed_in",
                "signed_out", "ClerkAuth"} <= set(module.__all__)


def test_outside_a_request() -> None:
    with pytest.raises(RuntimeError, match=r"clerk_middleware\(handler\)\(application\)"):
        auth()
    with pytest.raises(RuntimeError):
        auth.protect()
    with pytest.raises(RuntimeError):
        bool(signed_in())
    with pytest.raises(RuntimeError, match="did not pass through clerk_middleware"):
        context_of({}, kind="WSGI environ")


def test_bound_accessor_ignores_the_current_request(issuer: TestIssuer) -> None:
    signed = ClerkAuth(context(issuer, "signed-in"))
    token = bind_context(context(issuer, "signed-out"))
    try:
        assert signed().user_id == "user_2abc"
        assert auth().user_id is None
        assert auth.request.path == "/page"
        assert auth.state.status is AuthStatus.SIGNED_OUT
    finally:
        reset_context(token)


@pytest.mark.parametrize(("scenario", "flags"), [
    ("signed-in", (True, False, True, True, True)),
    ("pending", (False, True, True, False, True)),
    ("signed-out", (False, True, False, False, False)),
])
def test_control_helpers_in_conditions(issuer: TestIssuer, scenario: str,
                                       flags: tuple[bool, ...]) -> None:
    token = bind_context(context(issuer, scenario))
    try:
        assert (
            bool(signed_in()), bool(signed_out()),
            bool(signed_in(treat_pending_as_signed_out=False)),
            bool(protect(role="org:admin")),
            bool(protect(treat_pending_as_signed_out=False)),
        ) == flags
    finally:
        reset_context(token)


def test_signed_out_decorator_hides_the_view_from_signed_in_users(issuer: TestIssuer) -> None:
    @signed_out()
    def sign_up_page() -> str:
        return "form"

    for scenario, outcome in (("signed-out", "form"), ("pending", "form"), ("signed-in", None)):
        token = bind_context(context(issuer, scenario))
        try:
            if outcome is None:
                with pytest.raises(AuthNotFound):
                    sign_up_page()
            else:
                assert sign_up_page() == outcome
        finally:
            reset_context(token)


async def test_decorators_keep_async_views_async(issuer: TestIssuer) -> None:
    @protect(lambda has: has(role="org:admin"))
    async def admin() -> str:
        return "ok"

    @signed_in()
    async def dashboard() -> str:
        return "dash"

    token = bind_context(context(issuer, "signed-in"))
    try:
        assert await admin() == "ok"
        assert await dashboard() == "dash"
    finally:
        reset_context(token)
    token = bind_context(context(issuer, "signed-out"))
    try:
        with pytest.raises(AuthRedirect):
            await dashboard()
    finally:
        reset_context(token)


def test_decorator_misuse_is_loud() -> None:
    with pytest.raises(TypeError, match=r"@protect\(\)"):
        protect()("not a view")  # type: ignore[type-var]


def test_pending_aware_protect_still_checks_authorization(issuer: TestIssuer) -> None:
    ctx = context(issuer, "pending", kind="api")
    bound = ClerkAuth(ctx)
    assert bound.protect(treat_pending_as_signed_out=False).user_id == "user_2abc"
    with pytest.raises(AuthNotFound):
        bound.protect(role="org:admin", treat_pending_as_signed_out=False)
    with pytest.raises(AuthNotFound):
        bound.protect()


@pytest.mark.parametrize("scenario", ["signed-in", "pending", "signed-out"])
def test_a_request_builds_each_session_auth_object_once(issuer: TestIssuer, scenario: str) -> None:
    ctx = context(issuer, scenario, kind="api")
    first = ctx.auth()
    assert ctx.auth() is first  # immutable, so the request's calls share it
    assert ctx.auth(treat_pending_as_signed_out=True) is first
    pending = ctx.auth(treat_pending_as_signed_out=False)
    assert ctx.auth(treat_pending_as_signed_out=False) is pending
    # Each is what the request's state gives, with the options bound when signed in.
    assert first == ctx.state.to_auth()
    assert pending == ctx.state.to_auth(treat_pending_as_signed_out=False)
    if scenario == "pending":
        assert (first.user_id, pending.user_id) == (None, "user_2abc")


def test_pending_aware_protect_with_an_organization(issuer: TestIssuer) -> None:
    options = issuer.options()
    token = issuer.pending_token(org=OrgClaims(id="org_9", role="admin"))
    request = AuthRequest("GET", f"{matrix.BASE}/x", {"authorization": f"Bearer {token}"})
    bound = ClerkAuth(RequestContext(request, authenticate_request(request, options), options))
    passed = bound.protect(role="org:admin", treat_pending_as_signed_out=False)
    assert (passed.org_id, passed.session_status) == ("org_9", "pending")


def test_redirects_from_the_accessor(issuer: TestIssuer) -> None:
    bound = ClerkAuth(context(issuer, "pending"))
    with pytest.raises(AuthRedirect) as to_sign_in:
        bound.redirect_to_sign_in(return_back_url=None)
    assert to_sign_in.value.location == (
        f"{matrix.SIGN_IN}/tasks?__clerk_db_jwt={matrix.DEV_BROWSER}")
    with pytest.raises(AuthRedirect) as to_sign_up:
        bound.redirect_to_sign_up(return_back_url="/after")
    assert to_sign_up.value.location.startswith(
        "https://happy-hippo-1.accounts.dev/sign-up/tasks?redirect_url=http%3A%2F%2Fapp.test%2Fafter")


def test_the_translator() -> None:
    flag = ("x-clerk-redirect-to", "true")
    redirect = control_flow_answer(AuthRedirect("https://x.test/", (flag,)))
    assert (redirect.status, redirect.status_line) == (307, "307 Temporary Redirect")
    assert redirect.body == b""
    assert redirect.headers[:2] == (("location", "https://x.test/"), flag)
    assert control_flow_answer(AuthNotFound()).status == 404
    unauthorized = control_flow_answer(AuthUnauthorized())
    assert (unauthorized.status, unauthorized.body) == (401, b"")
    malformed = control_flow_answer(MalformedPathError("/%E0"))
    assert (malformed.status, malformed.body) == (400, b"Bad Request")
    assert ("content-length", "11") in malformed.headers


def test_handshake_answer() -> None:
    assert handshake_answer(RequestState.signed_out("session-token-and-uat-missing")) is None
    state = RequestState.handshake("r", "m", (("location", "https://fapi.test/hs"),))
    answer = handshake_answer(state)
    assert answer is not None
    assert answer.status == 307
    assert answer.headers[: len(state.headers)] == state.headers
    with pytest.raises(RuntimeError, match="without a redirect location"):
        handshake_answer(RequestState.handshake("r", "m", ()))


@pytest.mark.parametrize(("raw", "encoded"), [
    ("/a%2Fb?x=%41", "/a%2Fb?x=%41"),
    ("/\u00c3\u00a9 x", "/%C3%A9%20x"),
    ("/%E0%A4", "/%E0%A4"),
    ("/\u20ac", "/%E2%82%AC"),
])
def test_request_target(raw: str, encoded: str) -> None:
    assert request_target(raw) == encoded


def test_glue_wsgi_and_asgi_import_no_framework() -> None:
    code = (
        "import sys\n"
        "import clerk_middleware.adapters._common, clerk_middleware.adapters.wsgi\n"
        "import clerk_middleware.adapters.asgi\n"
        "names = ('flask', 'werkzeug', 'starlette', 'fastapi', 'jinja2')\n"
        "print(sorted(name for name in names if name in sys.modules))\n"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter, fixed code)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_read_bounded_stops_at_the_limit() -> None:
    from clerk_middleware.adapters._common import read_bounded, read_bounded_async

    read: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"abc", b"def", b"ghi", b"never"):
            read.append(chunk)
            yield chunk

    assert read_bounded(chunks(), 9) is None and read == [b"abc", b"def", b"ghi", b"never"]
    read.clear()
    assert read_bounded(chunks(), 8) is None and read == [b"abc", b"def", b"ghi"]
    assert read_bounded(iter([b"ab", b"c"]), 3) == b"abc"
    assert read_bounded(iter([b"x"]), 3, content_length=4) is None  # refused unread
    assert read_bounded(iter([]), 3, content_length=0) == b""

    async def stream() -> AsyncIterator[bytes]:
        for chunk in (b"ab", b"cd"):
            yield chunk

    assert asyncio.run(read_bounded_async(stream(), 4)) == b"abcd"
    assert asyncio.run(read_bounded_async(stream(), 3)) is None
    assert asyncio.run(read_bounded_async(stream(), 9, content_length=10)) is None
