"""protect() and the sign-in / sign-up redirects, decided by the core."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from clerk_middleware.core import (
    Auth,
    AuthNotFound,
    AuthRedirect,
    AuthRequest,
    ClerkOptions,
    MalformedPathError,
    build_sign_in_url,
    build_sign_up_url,
    protect,
    redirect_to_sign_in,
)
from clerk_middleware.core._auth import auth_from_claims
from clerk_middleware.testing import TestIssuer

URL = "http://localhost:3000/dashboard?tab=1"
PAGE = {"sec-fetch-dest": "document"}
SIGNED_IN = auth_from_claims(
    {
        "sub": "user_1",
        "sid": "sess_1",
        "sts": "active",
        "v": 2,
        "o": {"id": "org_1", "rol": "member"},
    },
    "tok",
)
PENDING_AWARE = auth_from_claims(
    {"sub": "user_1", "sid": "s", "sts": "pending"}, "tok", treat_pending_as_signed_out=False
)
PENDING_DEFAULT = Auth(session_status="pending")


def request(headers: dict[str, str] | None = None, url: str = URL) -> AuthRequest:
    return AuthRequest("GET", url, headers or {})


def location(exc: pytest.ExceptionInfo[AuthRedirect]) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(exc.value.location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


def test_signed_out_page_request_goes_to_sign_in_with_the_current_url(issuer: TestIssuer) -> None:
    with pytest.raises(AuthRedirect) as info:
        protect(Auth(), request(PAGE), issuer.options(sign_in_url="/sign-in"))
    assert location(info) == ("http://localhost:3000/sign-in", {"redirect_url": [URL]})
    assert ("x-clerk-redirect-to", "true") in info.value.headers


def test_signed_out_api_request_is_a_404(issuer: TestIssuer) -> None:
    with pytest.raises(AuthNotFound):
        protect(Auth(), request({"accept": "application/json"}), issuer.options())


def test_pending_goes_to_the_tasks_page_or_the_apps_own(issuer: TestIssuer) -> None:
    options = issuer.options(sign_in_url="/sign-in")
    for auth in (PENDING_DEFAULT, PENDING_AWARE):  # whatever object the caller passes
        with pytest.raises(AuthRedirect) as info:
            protect(auth, request(PAGE), options, role="org:member")
        assert location(info)[0] == "http://localhost:3000/sign-in/tasks"
    with pytest.raises(AuthRedirect) as info:
        protect(PENDING_AWARE, request(PAGE), options, tasks_url="/onboarding")
    assert location(info) == ("http://localhost:3000/onboarding", {"redirect_url": [URL]})
    with pytest.raises(AuthRedirect) as info:
        protect(PENDING_AWARE, request(PAGE), issuer.options(tasks_url="/choose-org"))
    assert location(info)[0] == "http://localhost:3000/choose-org"


def test_pending_passes_only_when_the_caller_says_so(issuer: TestIssuer) -> None:
    options = issuer.options()
    assert protect(PENDING_AWARE, request(PAGE), options, treat_pending_as_signed_out=False)
    with pytest.raises(AuthNotFound):  # still authorized like anyone else: no org, no role
        protect(
            PENDING_AWARE,
            request(PAGE),
            options,
            role="org:admin",
            treat_pending_as_signed_out=False,
        )


def test_authorization(issuer: TestIssuer) -> None:
    options = issuer.options()
    assert protect(SIGNED_IN, request(PAGE), options) is SIGNED_IN
    assert protect(SIGNED_IN, request(PAGE), options, role="org:member") is SIGNED_IN
    assert protect(SIGNED_IN, request(PAGE), options, lambda has: has(role="member"))
    with pytest.raises(AuthNotFound):  # 404 even on a page request, as in Clerk
        protect(SIGNED_IN, request(PAGE), options, role="org:admin")
    with pytest.raises(AuthRedirect) as info:
        protect(SIGNED_IN, request(PAGE), options, role="org:admin", unauthorized_url="/no")
    assert info.value.location == "http://localhost:3000/no"
    with pytest.raises(AuthRedirect) as info:
        protect(Auth(), request(), options, unauthenticated_url="/login")
    assert info.value.location == "http://localhost:3000/login"


@pytest.mark.parametrize(
    ("return_back_url", "expected"),
    [(None, {}), ("/after", {"redirect_url": ["http://localhost:3000/after"]})],
)
def test_return_back_url(issuer: TestIssuer, return_back_url: Any, expected: Any) -> None:
    with pytest.raises(AuthRedirect) as info:
        redirect_to_sign_in(
            request(), issuer.options(sign_in_url="/sign-in"), return_back_url=return_back_url
        )
    assert location(info)[1] == expected


def test_default_targets_and_sign_up(issuer: TestIssuer) -> None:
    options = issuer.options()
    portal = "https://happy-hippo-1.accounts.dev"
    assert build_sign_in_url(request(), options, return_back_url=None) == f"{portal}/sign-in"
    assert build_sign_up_url(request(), options, return_back_url=None) == f"{portal}/sign-up"
    with_sign_in = issuer.options(sign_in_url="/sign-in")
    assert build_sign_up_url(request(), with_sign_in, return_back_url=None) == (
        "http://localhost:3000/sign-in/create"
    )
    assert (
        build_sign_up_url(request(), with_sign_in, return_back_url=None, session_status="pending")
        == "http://localhost:3000/sign-in/create/tasks"
    )


def test_cross_origin_development_redirects_carry_the_dev_browser(issuer: TestIssuer) -> None:
    url = build_sign_in_url(request({"cookie": "__clerk_db_jwt=dvb_1"}), issuer.options())
    assert parse_qs(urlsplit(url).query)["__clerk_db_jwt"] == ["dvb_1"]
    same_origin = build_sign_in_url(
        request({"cookie": "__clerk_db_jwt=dvb_1"}), issuer.options(sign_in_url="/sign-in")
    )
    assert "__clerk_db_jwt" not in same_origin


def test_satellite_return_urls_ask_for_a_sync(prod_issuer: TestIssuer) -> None:
    options: ClerkOptions = prod_issuer.options(
        is_satellite=True, domain="sat.example.com", sign_in_url="https://primary.example.com/in"
    )
    url = build_sign_in_url(request(url="https://sat.example.com/page"), options)
    assert parse_qs(urlsplit(url).query)["redirect_url"] == [
        "https://sat.example.com/page?__clerk_synced=false"
    ]


def test_an_unreadable_request_url_is_a_bad_request(issuer: TestIssuer) -> None:
    with pytest.raises(MalformedPathError) as info:
        protect(
            Auth(), request(PAGE, url="http://bad host/x?__clerk_db_jwt=secret"), issuer.options()
        )
    assert "secret" not in str(info.value)
