"""The local instance's sign-in and task pages, driven through an app and the SDK's handshakes.

A browser is played by an httpx client with one cookie jar: the app is
mounted in-process (WSGI) at APP, the instance is reached over loopback, and
cookies are shared by host as a browser shares them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from clerk_middleware.core._backend import reset_backends
from clerk_middleware.testing import PAGE_HEADERS, LocalInstance, TestIssuer

from .apps import flask_app

APP = "http://127.0.0.1:3999"


@pytest.fixture(params=["development", "production"])
def instance(request: pytest.FixtureRequest) -> Iterator[LocalInstance]:
    issuer = TestIssuer("pages-1.clerk.accounts.dev", production=request.param == "production")
    reset_backends()
    with LocalInstance(issuer, personal_accounts=False) as clerk:
        acme = clerk.create_organization("Acme Inc", slug="acme", organization_id="org_acme")
        ada = clerk.create_user(user_id="user_ada", first_name="Ada", last_name="Lovelace")
        clerk.add_membership(ada, acme, role="member", permissions=["org:invoices:read"])
        grace = clerk.create_user(user_id="user_grace", email_address="grace@example.com")
        clerk.add_membership(grace, acme, role="admin")
        clerk.set_last_active_organization(grace, acme)
        yield clerk
    reset_backends()


@pytest.fixture
def browser(instance: LocalInstance) -> Iterator[httpx.Client]:
    settings = {name.removeprefix("CLERK_").lower(): value
                for name, value in instance.env(pages=True).items()
                if name != "CLERK_WEBHOOK_SIGNING_SECRET"}  # not an option of the middleware
    app = flask_app(**settings)
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(
        mounts={APP: transport}, follow_redirects=True, headers=dict(PAGE_HEADERS), timeout=10
    ) as client:
        yield client


def session_claims(browser: httpx.Client) -> dict[str, Any]:
    token = browser.cookies.get("__session")
    assert token, "no session cookie"
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def at_app(response: httpx.Response, path: str) -> bool:
    """The browser ended on the app at ``path``.

    A production app serves the page at the URL that carried the handshake nonce
    (only development instances redirect once more to drop it).
    """
    url = response.url
    params = set(parse_qs(url.query.decode()))
    return (
        f"{url.scheme}://{url.host}:{url.port}" == APP
        and url.path == path
        and params <= {"__clerk_handshake_nonce"}
    )


def test_the_sign_in_page_says_who_must_choose_an_organization(
    instance: LocalInstance, browser: httpx.Client
) -> None:
    page = browser.get(f"{APP}/dashboard")
    assert page.url.path == "/sign-in"
    assert page.url.port == instance.port
    text = page.text
    assert "Ada Lovelace" in text and "Acme Inc (member) · will choose an organization" in text
    assert "grace@example.com" in text and "signs in to Acme Inc" in text
    assert page.headers["cache-control"] == "no-store"
    query = parse_qs(page.url.query.decode())
    assert query["redirect_url"] == [f"{APP}/dashboard"]
    assert ("__clerk_db_jwt" in query) == instance.development


def test_pending_until_an_organization_is_chosen(
    instance: LocalInstance, browser: httpx.Client
) -> None:
    sign_in = browser.get(f"{APP}/dashboard").url
    task = browser.post(str(sign_in), data={"user_id": "user_ada"})
    # Back at the app, which sees a pending session and sends it to the task.
    assert task.url.path == "/sign-in/tasks"
    assert f"{APP}/dashboard" in [str(r.url) for r in task.history]
    assert "Choose an organization" in task.text and "Acme Inc" in task.text
    session = instance.active_session(instance.client_from_cookies(browser.cookies) or "")
    assert session is not None and session.status == "pending"
    assert session_claims(browser)["sts"] == "pending"

    aware = browser.get(f"{APP}/aware").json()
    assert (aware["user_id"], aware["session_status"]) == ("user_ada", "pending")
    assert browser.get(f"{APP}/dashboard").url.path == "/sign-in/tasks"  # still pending

    done = browser.post(str(task.url), data={"organization_id": "org_acme"})
    assert at_app(done, "/dashboard")
    assert done.json() == {
        "user_id": "user_ada", "session_status": "active", "org_id": "org_acme",
        "org_role": "org:member", "org_permissions": ["org:invoices:read"],
    }
    claims = session_claims(browser)
    assert claims["sts"] == "active"
    assert claims["o"]["id"] == "org_acme"
    assert browser.get(f"{APP}/admin").status_code == 404
    assert instance.last_active_organization("user_ada") == instance.organization("acme")


def test_a_user_with_a_last_active_organization_signs_straight_in(
    browser: httpx.Client,
) -> None:
    sign_in = browser.get(f"{APP}/dashboard").url
    dashboard = browser.post(str(sign_in), data={"user_id": "user_grace"})
    assert at_app(dashboard, "/dashboard")
    assert dashboard.json()["org_role"] == "org:admin"
    assert browser.get(f"{APP}/admin").status_code == 200


def test_creating_a_user_and_an_organization(
    instance: LocalInstance, browser: httpx.Client
) -> None:
    sign_in = browser.get(f"{APP}/dashboard").url
    task = browser.post(str(sign_in), data={"first_name": "Alan", "email_address": "a@b.c"})
    assert task.url.path == "/sign-in/tasks"
    assert "Your organizations" not in task.text
    done = browser.post(str(task.url), data={"name": "Acme"})
    body = done.json()
    org = instance.organization(body["org_id"])
    assert (org.name, org.slug) == ("Acme", "acme-2")  # "acme" is taken
    assert body["org_role"] == "org:admin"
    assert instance.user(body["user_id"]).first_name == "Alan"


def test_signing_out(instance: LocalInstance, browser: httpx.Client) -> None:
    sign_in = browser.get(f"{APP}/dashboard").url
    browser.post(str(sign_in), data={"user_id": "user_grace"})
    out = browser.get(instance.sign_out_url, params={"redirect_url": f"{APP}/aware"})
    assert at_app(out, "/aware")
    assert out.json()["user_id"] is None
    assert not browser.cookies.get("__session")
    assert browser.get(f"{APP}/dashboard").url.path == "/sign-in"


def test_mistakes_are_answered_with_the_page_again(
    instance: LocalInstance, browser: httpx.Client
) -> None:
    sign_in = str(browser.get(f"{APP}/dashboard").url)
    unknown = browser.post(sign_in, data={"user_id": "user_nobody"})
    assert unknown.status_code == 400 and "No such user." in unknown.text
    empty = browser.post(sign_in, data={"first_name": " "})
    assert empty.status_code == 400 and "Give a name" in empty.text

    assert "Not signed in" in browser.get(f"{instance.url}/sign-in/tasks").text
    task = str(browser.post(sign_in, data={"user_id": "user_ada"}).url)
    other = instance.create_organization("Other")
    refused = browser.post(task, data={"organization_id": other.id})
    assert refused.status_code == 400 and "not a member" in refused.text
    nothing = browser.post(task, data={})
    assert nothing.status_code == 400
    browser.post(task, data={"organization_id": "org_acme"})
    assert "No task left" in browser.get(task).text


def test_without_a_way_back_the_pages_say_what_happened(instance: LocalInstance) -> None:
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        done = client.post(instance.sign_in_url, data={"user_id": "user_grace"})
        assert done.status_code == 200 and "Signed in" in done.text
        assert done.cookies.get("__client")
        gone = client.get(instance.sign_out_url)
        assert "Signed out" in gone.text
        back = client.get(instance.sign_out_url, params={"redirect_url": f"{APP}/"})
        assert (back.status_code, back.headers["location"]) == (303, f"{APP}/")


def test_every_sign_in_and_task_path_is_served(instance: LocalInstance) -> None:
    for path in ("/sign-in", "/sign-up", "/sign-in/create"):
        assert httpx.get(f"{instance.url}{path}").status_code == 200
    for path in ("/sign-in/tasks", "/sign-up/tasks", "/sign-in/create/tasks",
                 "/sign-in/tasks/choose-organization"):
        assert "Not signed in" in httpx.get(f"{instance.url}{path}").text
    assert instance.count("sign-in") == 3 and instance.count("tasks") == 4
    assert urlsplit(instance.sign_up_url).path == "/sign-up"


def test_the_command_line_instance_can_require_an_organization() -> None:
    import io
    import threading

    from clerk_middleware.testing.instance import main

    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(target=main, args=(["--require-organization"],),
                              kwargs={"out": out, "stop": stop})
    thread.start()
    try:
        for _ in range(250):
            if "export CLERK_SIGN_IN_URL=" in out.getvalue():
                break
            threading.Event().wait(0.02)
        sign_in = out.getvalue().split("export CLERK_SIGN_IN_URL=")[1].split()[0]
        with httpx.Client(timeout=10) as client:
            client.post(sign_in, data={"first_name": "Alan"})
            assert "Choose an organization" in client.get(f"{sign_in}/tasks").text
    finally:
        stop.set()
        thread.join(timeout=10)
