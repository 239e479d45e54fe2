"""The demo's whole story in a real browser: Debian's Chromium, headless, driven by Playwright.

``python -m examples.demo`` runs as a user runs it (its own process, the
local Clerk instance and the app on 127.0.0.1), and the browser goes: the
dashboard -> sign-in -> a *pending* session sent to the "choose an
organization" task -> the app shows the pending user -> the task is done ->
the session is active -> the dashboard -> a 404 on /admin for a member ->
sign out -> an admin gets in. Each step asserts what the page shows and
saves a screenshot; the pending step is checked from every side, so the
story fails if it is skipped (``test_the_story_fails_without_the_pending_step``
proves that).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from playwright.sync_api import BrowserContext, Page, Response
from werkzeug.serving import make_server

from clerk_middleware.testing import LocalInstance, TestIssuer

from ..examples.demo_process import run_demo


@dataclass(frozen=True)
class Demo:
    app: str
    instance: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The README's demo command, running (``--port 0``: any free port)."""
    with run_demo(tmp_path_factory.mktemp("demo"), "--port", "0") as running:
        assert running.instance_url is not None, running.banner
        assert "Open " in running.banner
        yield Demo(running.app_url, running.instance_url)


@dataclass
class Story:
    """One browser tab walking through the demo, remembering every response."""

    context: BrowserContext
    demo: Demo
    folder: Path
    page: Page = field(init=False)
    responses: list[Response] = field(default_factory=list)
    shots: int = 0

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.page = self.context.new_page()
        self.page.on("response", self._seen)

    def _seen(self, response: Response) -> None:
        self.responses.append(response)

    def shot(self, name: str) -> None:
        self.shots += 1
        self.page.screenshot(path=self.folder / f"{self.shots:02d}-{name}.png", full_page=True)

    def settle(self) -> None:
        """Move at a person's pace: let the handshake loop guard's counter expire.

        Each handshake sets ``__clerk_redirect_count`` (``Max-Age=2``); a third
        handshake within its lifetime is refused as a redirect loop, as Clerk
        refuses it. A person never clicks that fast; a test must wait.
        """
        for cookie in self.context.cookies(self.demo.app):
            if cookie.get("name") == "__clerk_redirect_count":
                left = cookie.get("expires", 0) - time.time()
                if 0 < left <= 5:
                    time.sleep(left + 0.1)

    def goto(self, path: str) -> Response:
        self.settle()
        self.responses.clear()
        response = self.page.goto(f"{self.demo.app}{path}")
        assert response is not None
        return response

    def click(self, selector: str, *, lands_on: str) -> None:
        self.settle()
        self.responses.clear()
        self.page.click(selector)
        self.page.wait_for_url(f"{lands_on}**")
        self.page.wait_for_load_state()

    def app_answers(self, path: str) -> list[tuple[int, str]]:
        """(status, location) of every answer the app gave for ``path`` since the last step."""
        return [
            (r.status, r.headers.get("location", ""))
            for r in self.responses
            if r.url.startswith(f"{self.demo.app}{path}")
        ]

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector).strip()

    def visible(self, selector: str) -> bool:
        return self.page.locator(selector).count() == 1 and self.page.is_visible(selector)

    def session_claims(self) -> dict[str, Any]:
        tokens = [c.get("value", "") for c in self.context.cookies(self.demo.app)
                  if c.get("name") == "__session" and c.get("value")]
        assert len(tokens) == 1, f"one session cookie expected, found {len(tokens)}"
        claims: dict[str, Any] = jwt.decode(tokens[0], options={"verify_signature": False})
        return claims


def run_story(story: Story) -> None:
    app, instance = story.demo.app, story.demo.instance
    sign_in, task = f"{instance}/sign-in", f"{instance}/sign-in/tasks"

    # 1. Signed out: /dashboard -> (handshake: a dev browser) -> the instance's sign-in page.
    story.goto("/dashboard")
    assert story.page.url.startswith(f"{sign_in}?"), story.page.url
    query = parse_qs(urlsplit(story.page.url).query)
    assert query["redirect_url"] == [f"{app}/dashboard"]
    assert query["__clerk_db_jwt"][0].startswith("dvb_")
    assert story.text("h1") == "Sign in"
    assert "Acme Inc (member) · will choose an organization" in story.text("main"), (
        "the sign-in page must say that Ada will choose an organization (a pending session)")
    assert any(status == 307 and location.startswith(f"{sign_in}?")
               for status, location in story.app_answers("/dashboard"))
    story.shot("sign-in")

    # 2. Sign in as Ada: her session is pending, so the app sends her on to the task.
    story.click("button[data-user-id=user_ada]", lands_on=task)
    assert story.page.url.startswith(f"{task}?"), (
        f"after signing in, the pending session must be sent to the task page; "
        f"the browser is at {story.page.url}")
    assert any(status == 307 and location.startswith(f"{task}?")
               for status, location in story.app_answers("/dashboard")), (
        "the app's /dashboard did not send the pending session to the task")
    assert story.text("h1") == "Choose an organization"
    assert "Signed in as Ada Lovelace" in story.text("main")
    claims = story.session_claims()
    assert (claims["sub"], claims["sts"]) == ("user_ada", "pending"), claims
    assert "o" not in claims
    story.shot("task-choose-organization")

    # 3. Back at the app while pending: auth() says signed out, the pending-aware auth sees Ada.
    story.click("#back-to-app", lands_on=f"{app}/")
    assert story.visible("#pending"), "the home page does not show the pending session"
    assert "pending: choose an organization" in story.text("#pending")
    assert story.visible("#signed-out"), "signed_out() content must show for a pending session"
    assert story.page.locator("#signed-in").count() == 0
    assert story.text("#user-id") == "None"
    assert story.text("#session-status") == "pending"
    assert story.text("#aware-user-id") == "user_ada"
    story.shot("home-pending")

    # 4. Protected pages still send the pending session to the task.
    story.goto("/admin")
    assert story.page.url.startswith(f"{task}?"), story.page.url
    story.goto("/dashboard")
    assert story.page.url.startswith(f"{task}?"), (
        f"a pending session must be sent from /dashboard to the task; at {story.page.url}")
    assert story.app_answers("/dashboard")[0][0] == 307
    story.shot("dashboard-sends-pending-to-task")

    # 5. Choose Acme Inc: the session becomes active, with the organization in its token.
    story.click("button[value=org_acme]", lands_on=f"{app}/dashboard")
    assert story.text("h1") == "Dashboard"
    assert story.text("#user") == "user_ada"
    assert story.text("#org") == "acme (org_acme)"
    assert story.text("#role") == "org:member"
    assert story.text("#permissions") == "org:invoices:read"
    claims = story.session_claims()
    assert claims["sts"] == "active", claims
    assert claims["o"]["id"] == "org_acme" and claims["o"]["rol"] == "member", claims
    story.shot("dashboard-active")

    story.goto("/")
    assert story.visible("#signed-in")
    assert story.page.locator("#pending").count() == 0
    assert story.page.locator("#signed-out").count() == 0
    story.shot("home-signed-in")

    # 6. /admin needs org:admin: a 404 for a member.
    response = story.goto("/admin")
    assert response.status == 404
    assert response.headers["x-clerk-auth-reason"].startswith("protect-rewrite")
    assert "Not Found" in story.page.content()
    story.shot("admin-404-for-a-member")

    # 7. Sign out, then in as Grace, an admin whose last organization was Acme.
    story.goto("/sign-out")
    assert story.page.url.startswith(f"{app}/"), story.page.url
    assert story.visible("#signed-out")
    assert story.page.locator("#pending").count() == 0
    assert story.text("#aware-user-id") == "None"
    story.goto("/admin")
    assert story.page.url.startswith(f"{sign_in}?"), story.page.url
    story.click("button[data-user-id=user_grace]", lands_on=f"{app}/admin")
    assert story.text("#admin") == "Welcome, user_grace: you are org:admin of acme."
    story.shot("admin-for-an-admin")


def test_the_demo_story_in_chromium(
    browser: BrowserContext, demo: Demo, screenshots: Path
) -> None:
    run_story(Story(browser, demo, screenshots / "demo"))


@pytest.fixture
def demo_without_pending(tmp_path: Path) -> Iterator[Demo]:
    """The demo app and instance, but Ada already chose Acme: she is never pending."""
    from examples.demo.__main__ import local_settings, seed
    from examples.demo.app import create_app

    with LocalInstance(TestIssuer("demo-app-1.clerk.accounts.dev"),
                       personal_accounts=False) as instance:
        seed(instance)
        instance.set_last_active_organization("user_ada", "acme")
        app = create_app(sign_out_url=instance.sign_out_url, **local_settings(instance))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Demo(f"http://127.0.0.1:{server.server_port}", instance.url)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


def test_the_story_fails_without_the_pending_step(
    browser: BrowserContext, demo_without_pending: Demo, screenshots: Path
) -> None:
    story = Story(browser, demo_without_pending, screenshots / "without-pending")
    with pytest.raises(AssertionError, match="pending"):
        run_story(story)
