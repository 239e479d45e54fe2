"""Every example in examples/ runs, and does what its docstring and the docs say.

Each example reads its keys from ``CLERK_*`` at import time, so it is loaded
afresh (``runpy``) after the ``clerk`` fixture has set them.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient
from werkzeug.test import Client

from clerk_middleware.testing import PAGE_HEADERS, ClerkTestKit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BASE = "http://localhost:3000"


def load(name: str) -> dict[str, Any]:
    return runpy.run_path(str(EXAMPLES / name), run_name=f"examples_{name[:-3]}")


def signed_out_page(clerk: ClerkTestKit, client: Any, path: str) -> Any:
    """A signed-out browser's page request: its cookies (a dev browser) go in the client's jar.

    Werkzeug's client replaces a Cookie header with its jar, so they cannot go
    in ``headers=``.
    """
    clerk.set_cookies(client, clerk.signed_out())
    return client.get(path, base_url=BASE, headers=PAGE_HEADERS)


def location_path(headers: Any) -> str:
    return urlsplit(str(headers["location"])).path


def test_flask_example(clerk: ClerkTestKit) -> None:
    client = load("flask_app.py")["app"].test_client()

    def get(path: str, headers: dict[str, str]) -> Any:
        return client.get(path, base_url=BASE, headers=headers)

    assert "Sign in" in signed_out_page(clerk, client, "/").text
    assert "choose an organization" in get("/", clerk.pending(page=True)).text
    home = get("/", clerk.org_member(role="admin", page=True)).text
    assert "Welcome back" in home and 'href="/admin"' in home
    assert 'href="/admin"' not in get("/", clerk.org_member(page=True)).text

    response = get("/dashboard", clerk.pending(page=True))
    assert response.status_code == 307
    assert location_path(response.headers) == "/sign-in/tasks"
    assert location_path(signed_out_page(clerk, client, "/dashboard").headers) == "/sign-in"
    assert get("/dashboard", clerk.org_member("org_acme")).json == {
        "user_id": "user_test", "org_id": "org_acme", "org_role": "org:member"}

    assert get("/admin", clerk.org_member()).status_code == 404
    admin = get("/admin", clerk.org_member(role="admin", permissions=["org:billing:manage"]))
    assert admin.json == {"org_id": "org_test", "permissions": ["org:billing:manage"]}


def test_starlette_example(clerk: ClerkTestKit) -> None:
    client = TestClient(load("starlette_app.py")["app"], follow_redirects=False)
    assert client.get("/", headers=clerk.signed_in()).text == "Hello, user_test"
    assert client.get("/", headers=clerk.pending()).text == "Hello, stranger"
    assert client.get("/onboarding", headers=clerk.pending()).json() == {
        "user_id": "user_test", "session_status": "pending"}

    dashboard = client.get("/dashboard", headers=clerk.pending(page=True))
    assert (dashboard.status_code, location_path(dashboard.headers)) == (307, "/sign-in/tasks")
    assert client.get("/dashboard", headers=clerk.signed_in()).json()["user_id"] == "user_test"

    assert client.get("/api/admin", headers=clerk.signed_out()).status_code == 401
    assert client.get("/api/admin", headers=clerk.pending()).status_code == 401
    assert client.get("/api/admin", headers=clerk.org_member()).status_code == 404
    assert client.get("/api/admin", headers=clerk.org_member(role="admin")).json() == {
        "org_id": "org_test", "org_role": "org:admin"}


def test_fastapi_example(clerk: ClerkTestKit) -> None:
    client = TestClient(load("fastapi_app.py")["app"], follow_redirects=False)
    assert client.get("/me", headers=clerk.org_member("org_a")).json() == {
        "user_id": "user_test", "org_id": "org_a", "org_role": "org:member"}
    assert client.get("/me", headers=clerk.pending()).status_code == 404
    me = client.get("/me", headers=clerk.pending(page=True))
    assert (me.status_code, location_path(me.headers)) == (307, "/sign-in/tasks")
    assert client.get("/onboarding", headers=clerk.pending()).json() == {
        "user_id": "user_test", "session_status": "pending"}

    assert client.get("/admin/members", headers=clerk.org_member()).status_code == 404
    members = client.get(
        "/admin/members", headers=clerk.org_member(role="admin", permissions=["org:team:add"]))
    assert members.json() == {"org_id": "org_test", "permissions": ["org:team:add"]}


def test_wsgi_example(clerk: ClerkTestKit) -> None:
    client = Client(load("wsgi_app.py")["application"])

    def get(path: str, headers: dict[str, str]) -> Any:
        return client.get(path, base_url=BASE, headers=headers)

    assert get("/", clerk.pending()).json == {
        "user_id": None, "session_status": "pending", "org_role": None}
    assert get("/private", clerk.signed_in()).json["user_id"] == "user_test"
    private = signed_out_page(clerk, client, "/private")
    assert (private.status_code, location_path(private.headers)) == (307, "/sign-in")
    assert get("/admin", clerk.org_member()).status_code == 404
    assert get("/admin", clerk.org_member(role="admin")).json["org_role"] == "org:admin"


def test_examples_need_keys_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from clerk_middleware.core import ConfigurationError

    for name in ("flask_app.py", "starlette_app.py", "fastapi_app.py", "wsgi_app.py"):
        with pytest.raises(ConfigurationError, match="CLERK_SECRET_KEY"):
            load(name)


def test_the_readme_snippet_is_the_flask_example() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Usage\n\n```python\n(.*?)```", readme, re.S)
    assert block is not None
    example = (EXAMPLES / "flask_app.py").read_text().splitlines()
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    position = 0
    for line in lines:  # every line of the snippet, in the example, in order
        assert line in example[position:], f"README line not in examples/flask_app.py: {line!r}"
        position = example.index(line, position) + 1


@pytest.mark.parametrize(
    "name", ["flask_app.py", "starlette_app.py", "fastapi_app.py", "wsgi_app.py"]
)
def test_each_example_is_short(name: str) -> None:
    # Each is shown whole in its quickstart (tests/docs/test_docs_match_examples.py).
    assert len((EXAMPLES / name).read_text().splitlines()) < 80
