"""The kit's states on each framework's default test client, and ``set_cookies`` for their jars.

Werkzeug's client (so Flask's ``app.test_client()``) replaces any ``Cookie``
header with its own jar, even an empty one; httpx (Starlette's and FastAPI's
``TestClient``) sends a ``Cookie`` header given per request instead of its jar.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient
from werkzeug.test import Client

from clerk_middleware.testing import PAGE_HEADERS, ClerkTestKit

from .apps import BUILDERS, WSGI, client_for

ADAPTERS = sorted(BUILDERS)


def test_werkzeug_replaces_a_cookie_header_with_its_jar(clerk: ClerkTestKit) -> None:
    # Why sessions travel as a Bearer token: this is what Flask's client does.
    client = BUILDERS["flask"]().test_client()
    answer = client.get("/aware", headers=clerk.signed_in(bearer=False))
    assert answer.json is not None and answer.json["user_id"] is None
    assert client.get("/dashboard", headers=clerk.signed_in(bearer=False)).status_code == 404


@pytest.mark.parametrize("kind", ADAPTERS)
def test_the_header_decides_whatever_the_jar_holds(kind: str, clerk: ClerkTestKit) -> None:
    send = client_for(kind, BUILDERS[kind]())
    clerk.set_cookies(send.client, clerk.signed_in("user_in_the_jar"))
    assert send("/dashboard", {}).json()["user_id"] == "user_in_the_jar"
    assert send("/dashboard", clerk.signed_in("user_asked_for")).json()["user_id"] == (
        "user_asked_for")
    assert send("/aware", clerk.pending("user_pending")).json()["session_status"] == "pending"


@pytest.mark.parametrize("kind", ADAPTERS)
def test_set_cookies_replaces_the_clerk_cookies_in_the_jar(
    kind: str, clerk: ClerkTestKit
) -> None:
    send = client_for(kind, BUILDERS[kind]())
    clerk.set_cookies(send.client, clerk.org_member("org_acme", role="admin"))
    assert send("/admin", PAGE_HEADERS).json()["org_id"] == "org_acme"

    assert clerk.set_cookies(send.client, clerk.signed_out()) is send.client
    answer = send("/dashboard", PAGE_HEADERS)
    assert answer.status == 307  # to sign-in: the jar has no session left, and a dev browser
    assert urlsplit(answer.headers["location"]).path == "/sign-in"
    assert answer.headers["x-clerk-auth-reason"] == "session-token-and-uat-missing"


def test_set_cookies_leaves_other_cookies_alone(clerk: ClerkTestKit) -> None:
    client = TestClient(BUILDERS["starlette"]())
    client.cookies.set("theme", "dark")
    client.cookies.set(f"__session_{clerk.options.cookie_suffix}", "stale")
    clerk.set_cookies(client, clerk.signed_out())
    assert dict(client.cookies) == {"theme": "dark", "__clerk_db_jwt": "dvb_test_browser",
                                    "__client_uat": "0"}


def test_werkzeug_cookies_are_for_localhost_unless_told(clerk: ClerkTestKit) -> None:
    app = BUILDERS["flask"]()
    client = clerk.set_cookies(app.test_client(), clerk.signed_in(user_id="user_ada"))
    assert client.get("/dashboard", base_url="http://testserver").status_code == 404
    clerk.set_cookies(client, clerk.signed_in(user_id="user_ada"), domain="testserver")
    answer = client.get("/dashboard", base_url="http://testserver")
    assert answer.json is not None and answer.json["user_id"] == "user_ada"


def test_an_httpx_jar_for_one_host(clerk: ClerkTestKit) -> None:
    client = TestClient(BUILDERS["fastapi"](), base_url="http://app.test")
    clerk.set_cookies(client, clerk.signed_in(user_id="user_ada"), domain="other.test")
    assert client.get("/dashboard").status_code == 404
    clerk.set_cookies(client, clerk.signed_in(user_id="user_ada"), domain="app.test")
    assert client.get("/dashboard").json()["user_id"] == "user_ada"


def test_a_simple_cookie_jar_as_django_keeps_it(clerk: ClerkTestKit) -> None:
    # Django's test client keeps a SimpleCookie and sends each morsel as it is.
    jar: SimpleCookie = SimpleCookie()
    jar["__session"] = "stale"
    clerk.set_cookies(jar, clerk.signed_in(user_id="user_ada"))
    header = "; ".join(f"{morsel.key}={morsel.coded_value}" for morsel in jar.values())
    client = Client(BUILDERS["wsgi"](), use_cookies=False)
    answer = client.get("/dashboard", headers={"cookie": header})
    assert answer.json is not None and answer.json["user_id"] == "user_ada"


def test_a_client_without_a_jar_is_refused_with_the_fix(clerk: ClerkTestKit) -> None:
    with pytest.raises(TypeError, match=r"use_cookies=False.*bearer=False"):
        clerk.set_cookies(Client(BUILDERS["wsgi"](), use_cookies=False), clerk.signed_out())
    with pytest.raises(TypeError, match="no cookie jar"):
        clerk.set_cookies(object(), clerk.signed_out())


@pytest.mark.parametrize("kind", sorted(WSGI))
def test_signed_out_pages_on_a_werkzeug_client_need_the_jar(
    kind: str, clerk: ClerkTestKit
) -> None:
    # What docs/testing.md says: its Cookie header is dropped, so the browser is new.
    send = client_for(kind, BUILDERS[kind]())
    answer = send("/dashboard", clerk.signed_out(page=True))
    assert answer.headers["x-clerk-auth-reason"] == "dev-browser-missing"
    clerk.set_cookies(send.client, clerk.signed_out())
    answer = send("/dashboard", PAGE_HEADERS)
    assert answer.headers["x-clerk-auth-reason"] == "session-token-and-uat-missing"

