"""The demo: its app through the SDK's whole flow (no browser), and its command as users run it.

The browser version of the story is tests/e2e/test_demo_in_chromium.py.
"""

from __future__ import annotations

import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from clerk_middleware.core._backend import reset_backends
from clerk_middleware.testing import PAGE_HEADERS, LocalInstance, TestIssuer
from examples.demo.__main__ import local_settings, seed
from examples.demo.app import create_app

from .demo_process import run_demo

APP = "http://127.0.0.1:3998"


@pytest.fixture
def instance() -> Iterator[LocalInstance]:
    reset_backends()
    with LocalInstance(TestIssuer("demo-app-1.clerk.accounts.dev"),
                       personal_accounts=False) as clerk:
        seed(clerk)
        yield clerk
    reset_backends()


@pytest.fixture
def browser(instance: LocalInstance) -> Iterator[httpx.Client]:
    """An httpx client with one cookie jar, the app mounted in-process at APP."""
    app = create_app(sign_out_url=instance.sign_out_url, **local_settings(instance))
    with httpx.Client(mounts={APP: httpx.WSGITransport(app=app)}, follow_redirects=True,
                      headers=dict(PAGE_HEADERS), timeout=10) as client:
        yield client


def later(browser: httpx.Client) -> None:
    """A few seconds later: the handshake loop guard's counter (``Max-Age=2``) has expired.

    A third handshake within two seconds is refused as a redirect loop, as Clerk
    refuses it; a person never clicks that fast.
    """
    browser.cookies.delete("__clerk_redirect_count")


def test_the_story_through_the_sdk(instance: LocalInstance, browser: httpx.Client) -> None:
    sign_in = browser.get(f"{APP}/dashboard")
    assert str(sign_in.url).startswith(f"{instance.sign_in_url}?")
    assert parse_qs(sign_in.url.query.decode())["redirect_url"] == [f"{APP}/dashboard"]

    task = browser.post(str(sign_in.url), data={"user_id": "user_ada"})
    assert str(task.url).startswith(f"{instance.sign_in_url}/tasks?")

    home = browser.get(f"{APP}/").text
    assert "pending: choose an organization" in home
    assert 'id="signed-out"' in home and 'id="signed-in"' not in home
    assert '<td id="aware-user-id">user_ada</td>' in home
    assert "user_ada (pending)" in home and "Sign out" in home

    dashboard = browser.post(str(task.url), data={"organization_id": "org_acme"})
    assert str(dashboard.url) == f"{APP}/dashboard"
    text = dashboard.text
    for shown in ('<td id="user">user_ada</td>', "acme (<code>org_acme</code>)",
                  '<td id="role">org:member</td>', '<td id="permissions">org:invoices:read</td>'):
        assert shown in text
    assert browser.get(f"{APP}/admin").status_code == 404

    later(browser)
    signed_out = browser.get(f"{APP}/sign-out")
    assert str(signed_out.url).startswith(f"{APP}/")
    assert 'id="signed-out"' in signed_out.text and 'id="pending"' not in signed_out.text
    admin = browser.get(f"{APP}/admin")
    grace = browser.post(str(admin.url), data={"user_id": "user_grace"})
    assert str(grace.url) == f"{APP}/admin"
    assert "you are <code>org:admin</code> of acme" in grace.text


def what_to_do(page: str) -> str:
    """The home page's "what to do" paragraph, as text (tags dropped, spaces collapsed)."""
    found = re.findall(r'<p id="what-to-do">(.*?)</p>', page, re.S)
    assert len(found) == 1, page
    assert "<p" not in found[0]  # one paragraph
    return " ".join(re.sub(r"<[^>]+>", "", found[0]).split())


def test_the_home_page_says_what_to_do(browser: httpx.Client) -> None:
    text = what_to_do(browser.get(f"{APP}/").text)
    steps = [
        "open the dashboard, and you land on the sign-in page; pick Ada Lovelace, who must "
        "choose an organization.",
        'Her session is now pending: the dashboard sends her to "Choose an organization", and '
        "this page shows pending: choose an organization.",
        "Choose Acme Inc: the session becomes active, and the dashboard shows her organization,",
        "The admin page needs the role org:admin, so Ada gets a 404; sign out and sign in as "
        "Grace Hopper, an admin, to open it.",
    ]
    position = 0
    for step in steps:  # the four steps, in order
        assert step in text[position:], text
        position = text.index(step, position) + len(step)


def test_the_home_page_says_it_on_every_visit(
    instance: LocalInstance, browser: httpx.Client
) -> None:
    sign_in = browser.get(f"{APP}/dashboard")
    browser.post(str(sign_in.url), data={"user_id": "user_ada"})
    assert "pick Ada Lovelace" in what_to_do(browser.get(f"{APP}/").text)


def test_against_a_clerk_instance_the_home_page_names_no_demo_users(
    instance: LocalInstance,
) -> None:
    for app in (create_app(**local_settings(instance)),
                create_app(sign_out_url="/bye", local_instance=False, **local_settings(instance))):
        with httpx.Client(mounts={APP: httpx.WSGITransport(app=app)}, headers=dict(PAGE_HEADERS),
                          follow_redirects=True) as client:  # through the handshake
            text = what_to_do(client.get(f"{APP}/").text)
        assert "your Clerk instance's sign-in page" in text
        assert "turn off personal accounts" in text
        assert "Ada" not in text and "Grace" not in text


def test_the_sign_in_link_goes_to_the_task_when_pending(
    instance: LocalInstance, browser: httpx.Client
) -> None:
    assert browser.get(f"{APP}/sign-in").url.path == "/sign-in"
    browser.post(str(browser.get(f"{APP}/sign-in").url), data={"user_id": "user_ada"})
    assert browser.get(f"{APP}/sign-in").url.path == "/sign-in/tasks"


def test_without_a_sign_out_url_there_is_no_sign_out_link(instance: LocalInstance) -> None:
    app = create_app(**local_settings(instance))
    with httpx.Client(mounts={APP: httpx.WSGITransport(app=app)}, headers=dict(PAGE_HEADERS),
                      follow_redirects=True) as client:  # through the handshake
        home = client.get(f"{APP}/").text
    assert 'id="accessors"' in home and "Sign out" not in home


def test_the_readme_command_serves_the_demo(tmp_path: Path) -> None:
    with run_demo(tmp_path, "--port", "0") as demo:
        assert demo.instance_url is not None
        assert f"Open {demo.app_url}/dashboard in your browser." in demo.banner
        assert "pick Ada Lovelace" in demo.banner
        with httpx.Client(timeout=10) as client:
            page = client.get(f"{demo.app_url}/dashboard", headers=dict(PAGE_HEADERS))
            assert page.status_code == 307  # a handshake with the local instance
            assert page.headers["location"].startswith(f"{demo.instance_url}/v1/client/handshake?")
            assert client.get(f"{demo.instance_url}/sign-in").status_code == 200
            home = client.get(f"{demo.app_url}/", headers=dict(PAGE_HEADERS), follow_redirects=True)
            assert "pick Ada Lovelace" in what_to_do(home.text)
        demo.process.send_signal(signal.SIGTERM)
        assert demo.process.wait(timeout=15) == 0
    assert "GET /dashboard -> 307" in demo.output()
    assert "__clerk_handshake_nonce" not in demo.output()  # nonces are not logged


def test_a_taken_port_falls_back_to_a_free_one(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with run_demo(tmp_path, "--port", str(port)) as demo:
            assert f"Port {port} is taken; using a free one." in demo.banner
            assert urlsplit(demo.app_url).port != port


def test_with_clerk_keys_the_demo_uses_that_instance(tmp_path: Path) -> None:
    issuer = TestIssuer("real-instance-7.clerk.accounts.dev")
    env = {"CLERK_SECRET_KEY": issuer.secret_key, "CLERK_PUBLISHABLE_KEY": issuer.publishable_key}
    with run_demo(tmp_path, "--port", "0", env=env) as demo:
        assert "against your Clerk instance" in demo.banner
        assert demo.instance_url is None
        page = httpx.get(f"{demo.app_url}/dashboard", headers=dict(PAGE_HEADERS), timeout=10)
        # Not followed: the handshake goes to that instance's Frontend API.
        assert page.status_code == 307
        assert page.headers["location"].startswith(
            "https://real-instance-7.clerk.accounts.dev/v1/client/handshake?")
