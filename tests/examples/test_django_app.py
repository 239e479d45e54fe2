"""The Django example project (examples/django_app) runs and does what its quickstart shows.

In this process it runs with its own settings (``mysite.settings``, applied
over the test session's Django configuration) through ``django.test.Client``
and ``AsyncClient``, each auth state one line of the kit. It is also served
for real, from its own folder as ``manage.py`` would: gunicorn with
``mysite.wsgi`` and uvicorn with ``mysite.asgi``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import AsyncClient, Client, override_settings

from clerk_middleware.testing import PAGE_HEADERS, ClerkTestKit, TestIssuer

from ..adapters.django.conf import EXAMPLE, configure
from ..adapters.django.servers import serve
from ..reliability._servers import raw_request

configure()
#: The example's settings module (its folder is on sys.path once configured).
EXAMPLE_SETTINGS = importlib.import_module("mysite.settings")

ROOT = EXAMPLE.parents[1]
QUICKSTART = ROOT / "docs" / "quickstart" / "django.md"
#: The example's files the quickstart shows whole, in order.
SHOWN = ["mysite/settings.py", "mysite/clerk.py", "mysite/views.py", "mysite/urls.py",
         "mysite/templates/home.html"]
FENCE = re.compile(r"^```(?P<language>[\w-]*)\n(?P<code>.*?)^```$", re.M | re.S)


def example_settings(module: ModuleType) -> dict[str, Any]:
    """The example's settings, but the apps and databases (configured once) and its test host."""
    values = {name: getattr(module, name) for name in dir(module) if name.isupper()}
    assert set(values.pop("INSTALLED_APPS")) <= set(configure_apps())
    assert values.pop("DATABASES") == {}
    values["ALLOWED_HOSTS"] = ["testserver"]
    return values


def configure_apps() -> list[str]:
    from django.conf import settings

    return list(settings.INSTALLED_APPS)


@pytest.fixture
def project(clerk: ClerkTestKit) -> Iterator[None]:
    """The example's settings for the test; the kit's CLERK_* keys are in the environment."""
    with override_settings(**example_settings(EXAMPLE_SETTINGS)):
        yield


def text(response: Any) -> str:
    """The body as text (``response.text`` is Django 5's)."""
    return str(response.content.decode())


def location_path(response: Any) -> str:
    return urlsplit(str(response.headers["location"])).path


@pytest.mark.usefixtures("project")
def test_the_example_with_djangos_client(clerk: ClerkTestKit) -> None:
    client = Client()
    clerk.set_cookies(client, clerk.signed_out())
    assert "Sign in" in text(client.get("/", headers=PAGE_HEADERS))
    assert "choose an organization" in text(client.get("/", headers=clerk.pending(page=True)))
    home = text(client.get("/", headers=clerk.org_member(role="admin", page=True)))
    assert "Welcome back, user_test" in home and 'href="/admin"' in home
    assert 'href="/admin"' not in text(client.get("/", headers=clerk.org_member(page=True)))

    pending = client.get("/dashboard", headers=clerk.pending(page=True))
    assert (pending.status_code, location_path(pending)) == (307, "/onboarding")
    signed_out = client.get("/dashboard", headers=PAGE_HEADERS)
    assert (signed_out.status_code, location_path(signed_out)) == (307, "/sign-in")
    assert client.get("/dashboard", headers=clerk.org_member("org_acme")).json() == {
        "user_id": "user_test", "org_id": "org_acme", "org_role": "org:member"}
    assert client.get("/onboarding", headers=clerk.pending()).json() == {
        "user_id": "user_test", "session_status": "pending"}

    assert client.get("/admin", headers=clerk.org_member()).status_code == 404
    admin = client.get("/admin", headers=clerk.org_member(
        role="admin", permissions=["org:billing:manage"]))
    assert admin.json() == {"org_id": "org_test", "permissions": ["org:billing:manage"]}
    assert client.get("/status", headers=clerk.signed_in()).json() == {"signed_in": True}


@pytest.mark.usefixtures("project")
def test_the_example_api(clerk: ClerkTestKit) -> None:
    client = Client(enforce_csrf_checks=True)
    me = client.get("/api/me", headers=clerk.signed_out())
    assert (me.status_code, me.headers["www-authenticate"]) == (401, "Bearer")
    assert client.get("/api/me", headers=clerk.pending()).status_code == 401
    assert client.get("/api/me", headers=clerk.org_member()).json() == {
        "user_id": "user_test", "org_id": "org_test"}
    assert client.get("/api/members", headers=clerk.org_member()).status_code == 403
    assert client.get("/api/members", headers=clerk.org_member(role="manager")).status_code == 200
    admin = clerk.org_member(role="admin")
    invite = client.post("/api/members", {"email": "ada@example.com"}, headers=admin)
    assert (invite.status_code, invite.json()) == (201, {"invited": "ada@example.com"})
    browser = client.post("/api/members", {"email": "x"},
                          headers=clerk.org_member(role="admin", bearer=False))
    assert browser.status_code == 403  # a cookie session without its CSRF token


@pytest.mark.usefixtures("project")
def test_the_example_with_djangos_async_client(clerk: ClerkTestKit) -> None:
    client = AsyncClient()

    async def run() -> list[Any]:
        return [
            (await client.get("/dashboard", headers=clerk.signed_in())).json()["user_id"],
            (await client.get("/dashboard", headers=clerk.pending())).status_code,
            location_path(await client.get("/dashboard", headers=clerk.pending(page=True))),
            (await client.get("/admin", headers=clerk.org_member(role="admin"))).status_code,
        ]

    assert asyncio.run(run()) == ["user_test", 404, "/onboarding", 200]


def test_the_quickstart_shows_the_example_whole() -> None:
    page = QUICKSTART.read_text()
    blocks = [m["code"] for m in FENCE.finditer(page)]
    for name in SHOWN:
        code = (EXAMPLE / name).read_text()
        assert f"`examples/django_app/{name}`" in page, name
        assert code in blocks, f"{QUICKSTART.name} does not show {name} as it is"


# --- served for real --------------------------------------------------------------------------


def get(url: str, target: str, *lines: str, host: str = "localhost") -> tuple[
        int, dict[str, str], bytes]:
    head = "\r\n".join([f"GET {target} HTTP/1.1", f"Host: {host}", *lines]).encode()
    response = raw_request(url, head)
    headers = {k.decode().lower(): v.decode("latin-1") for k, v in response.headers}
    return response.status, headers, response.body


@pytest.mark.parametrize(("server", "app"), [
    ("gunicorn", "mysite.wsgi:application"),
    ("uvicorn", "mysite.asgi:application"),
])
def test_the_example_served_for_real(server: str, app: str) -> None:
    issuer = TestIssuer()  # the real clock: the child has no other
    clerk = ClerkTestKit(issuer)
    env = {**clerk.env, "DJANGO_SETTINGS_MODULE": "mysite.settings",
           "DJANGO_ALLOWED_HOSTS": "localhost"}

    def bearer(headers: dict[str, str]) -> str:
        return f"Authorization: {headers['authorization']}"

    with serve(server, app, env, cwd=EXAMPLE) as url:
        status, _, body = get(url, "/dashboard", bearer(clerk.org_member("org_acme")))
        assert (status, json.loads(body)["org_role"]) == (200, "org:member")
        status, headers, _ = get(url, "/dashboard", bearer(clerk.pending()),
                                 "Accept: text/html", "Sec-Fetch-Dest: document")
        assert (status, urlsplit(headers["location"]).path) == (307, "/onboarding")
        status, headers, _ = get(url, "/dashboard", "Accept: application/json")
        assert (status, headers["x-clerk-auth-reason"]) == (
            404, "protect-rewrite, dev-browser-missing")  # a client without a dev browser
        status, _, body = get(url, "/", bearer(clerk.signed_in()))
        assert (status, b"Welcome back, user_test" in body) == (200, True)
        status, headers, _ = get(url, "/api/me")
        assert (status, headers["www-authenticate"]) == (401, "Bearer")
        status, _, _ = get(url, "/dashboard", bearer(clerk.signed_in()), host="evil.example")
        assert status == 400
