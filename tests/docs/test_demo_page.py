"""docs/demo.md's account of Clerk's redirect-loop guard is what the SDK does."""

from __future__ import annotations

from pathlib import Path

from clerk_middleware.core import AuthRequest, AuthStatus, RequestState, authenticate_request
from clerk_middleware.testing import PAGE_HEADERS, TestIssuer

ROOT = Path(__file__).resolve().parents[2]
# A browser the instance knows as signed in, without its session token: a handshake.
NEEDS_A_HANDSHAKE = "__clerk_db_jwt=dvb_demo; __client_uat=1700000000"


def page_text() -> str:
    return " ".join((ROOT / "docs" / "demo.md").read_text().split())


def visit(count: int | None) -> RequestState:
    cookie = NEEDS_A_HANDSHAKE + (f"; __clerk_redirect_count={count}" if count else "")
    request = AuthRequest("GET", "http://127.0.0.1:3000/", {**PAGE_HEADERS, "cookie": cookie})
    return authenticate_request(request, TestIssuer().options())


def counter(state: RequestState) -> str | None:
    for name, value in state.headers:
        if name == "set-cookie" and value.startswith("__clerk_redirect_count="):
            return value
    return None


def test_the_page_explains_the_guard_and_what_to_do() -> None:
    text = page_text()
    for claim in (
        "`__clerk_redirect_count` cookie that lives two seconds",
        "After three handshakes within two seconds of each other",
        "it answers that request signed out, without the handshake, so the browser's "
        "cookies are not updated",
        "Wait two seconds and reload",
    ):
        assert claim in text


def test_three_handshakes_within_two_seconds_then_signed_out_without_cookies() -> None:
    for done in (None, 1, 2):  # handshakes so far
        state = visit(done)
        assert state.status is AuthStatus.HANDSHAKE
        assert counter(state) == (
            f"__clerk_redirect_count={(done or 0) + 1}; SameSite=Lax; HttpOnly; Max-Age=2")
    fourth = visit(3)
    assert fourth.status is AuthStatus.SIGNED_OUT
    assert not [name for name, _ in fourth.headers if name == "set-cookie"]
