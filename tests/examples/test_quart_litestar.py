"""Quart and Litestar through the ASGI adapter: the examples, driven by each framework's client.

Each example reads its keys from ``CLERK_*`` at import time, so it is loaded
afresh (``runpy``) after the ``clerk`` fixture has set them.
"""

from __future__ import annotations

import json
import re
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar.testing import TestClient

from clerk_middleware.core import ConfigurationError
from clerk_middleware.testing import ClerkTestKit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ("quart_app.py", "litestar_app.py")
DOCS = {"quart_app.py": "quart.md", "litestar_app.py": "litestar.md"}


def load(name: str) -> Any:
    return runpy.run_path(str(ROOT / "examples" / name), run_name=f"examples_{name[:-3]}")["app"]


class Answer:
    """What a test asserts about a response, from either client."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    def reasons(self) -> list[str]:
        return [str(v) for v in self.headers.getlist("x-clerk-auth-reason")] \
            if hasattr(self.headers, "getlist") \
            else [str(v) for v in self.headers.get_list("x-clerk-auth-reason")]

    @property
    def location(self) -> str:
        return urlsplit(str(self.headers.get("location", ""))).path


async def quart(name: str) -> Any:
    app = load(name)
    client = app.test_client(use_cookies=False)

    async def get(path: str, headers: Mapping[str, str]) -> Answer:
        response = await client.get(path, headers=dict(headers))
        return Answer(response.status_code, response.headers, await response.get_data())

    return get


async def litestar(name: str) -> Any:
    client = TestClient(load(name))

    async def get(path: str, headers: Mapping[str, str]) -> Answer:
        client.cookies.clear()  # each request is its own browser
        response = client.get(path, headers=dict(headers), follow_redirects=False)
        return Answer(response.status_code, response.headers, response.content)

    return get


CLIENTS = {"quart_app.py": quart, "litestar_app.py": litestar}


@pytest.mark.parametrize("name", EXAMPLES)
async def test_the_home_page_is_public_and_knows_who_is_there(
    clerk: ClerkTestKit, name: str
) -> None:
    get = await CLIENTS[name](name)
    assert (await get("/", clerk.signed_in())).text == "Hello, user_test"
    assert (await get("/", clerk.pending())).text == "Almost there: choose an organization."
    assert (await get("/", clerk.signed_out())).text == "Hello, stranger"
    assert (await get("/", clerk.signed_out(page=True))).status == 200


@pytest.mark.parametrize("name", EXAMPLES)
async def test_the_dashboard_is_protected_by_the_route_matcher(
    clerk: ClerkTestKit, name: str
) -> None:
    get = await CLIENTS[name](name)
    signed_in = await get("/dashboard", clerk.signed_in(org_id="org_acme"))
    assert signed_in.status == 200
    assert signed_in.json() == {"user_id": "user_test", "org_id": "org_acme"}
    pending = await get("/dashboard", clerk.pending(page=True))
    assert (pending.status, pending.location) == (307, "/sign-in/tasks")
    signed_out = await get("/dashboard", clerk.signed_out(page=True))
    assert (signed_out.status, signed_out.location) == (307, "/sign-in")
    api = await get("/dashboard", clerk.signed_out())
    assert api.status == 404
    assert api.reasons() == ["protect-rewrite", "session-token-and-uat-missing"]
    assert (await get("/dashboard", clerk.pending())).status == 404


@pytest.mark.parametrize("name", EXAMPLES)
async def test_protect_in_a_view_answers_as_clerk_not_with_a_500(
    clerk: ClerkTestKit, name: str
) -> None:
    get = await CLIENTS[name](name)
    admin = await get("/admin", clerk.org_member(role="admin"))
    assert admin.status == 200
    assert admin.json() == {"org_id": "org_test", "org_role": "org:admin"}
    member = await get("/admin", clerk.org_member())
    assert (member.status, member.reasons()) == (404, ["protect-rewrite"])
    pending = await get("/admin", clerk.pending(page=True))
    assert (pending.status, pending.location) == (307, "/sign-in/tasks")
    assert (await get("/admin", clerk.signed_out())).status == 404


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_examples_need_keys_and_say_so(name: str) -> None:
    with pytest.raises(ConfigurationError, match="CLERK_SECRET_KEY"):
        load(name)


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_recipe_shows_its_example_as_it_is(name: str) -> None:
    page = (ROOT / "docs" / "quickstart" / DOCS[name]).read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert (ROOT / "examples" / name).read_text() in blocks
    nav = (ROOT / "mkdocs.yml").read_text()
    assert f"quickstart/{DOCS[name]}" in nav
