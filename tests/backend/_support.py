"""Helpers for the Backend API tests: clocks, request builders and a tiny browser."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from clerk_middleware.core import AuthRequest, RequestState

APP = "http://127.0.0.1:8000"
PAGE = {"sec-fetch-dest": "document", "accept": "text/html"}
API = {"sec-fetch-dest": "empty", "accept": "application/json"}
T0 = 1_790_000_000.0


def run_in_threads(targets: Sequence[Callable[[], None]]) -> None:
    """Run each target in its own thread, all started before any is joined."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class FakeClock:
    """A clock that moves only when told to (monotonic seconds or Unix time)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def bearer(token: str, path: str = "/api/data") -> AuthRequest:
    """An API request carrying ``token`` in the Authorization header."""
    return AuthRequest("GET", f"{APP}{path}", {"authorization": f"Bearer {token}", **API})


def cookie_header(cookies: Mapping[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def page(
    url: str = f"{APP}/dashboard",
    cookies: Mapping[str, str] | None = None,
    *,
    method: str = "GET",
    headers: Mapping[str, str] = PAGE,
) -> AuthRequest:
    """A browser request for ``url`` with these cookies."""
    all_headers = dict(headers)
    if cookies:
        all_headers["cookie"] = cookie_header(cookies)
    return AuthRequest(method, url, all_headers)


def set_cookies(state: RequestState) -> list[str]:
    return state.header_values("set-cookie")


def apply_set_cookies(jar: dict[str, str], directives: Sequence[str]) -> None:
    """Apply Set-Cookie directives to a host's cookie jar, as a browser does."""
    for directive in directives:
        pair, *attributes = directive.split(";")
        name, _, value = pair.partition("=")
        name = name.strip()
        expired = any(a.strip().lower() == "max-age=0" for a in attributes)
        if expired:
            jar.pop(name, None)
        else:
            jar[name] = value.strip()


@dataclass
class Browser:
    """One browser on 127.0.0.1: the app and the instance share its cookies (same host)."""

    cookies: dict[str, str] = field(default_factory=dict)

    def apply(self, directives: Sequence[str]) -> None:
        apply_set_cookies(self.cookies, directives)

    def request(self, url: str, *, method: str = "GET") -> AuthRequest:
        return page(url, self.cookies, method=method)

    def follow(self, url: str) -> str:
        """GET ``url`` on the local instance; return where it redirects."""
        response = httpx.get(url, headers={"cookie": cookie_header(self.cookies)})
        self.apply(response.headers.get_list("set-cookie"))
        assert response.status_code in (302, 307), response.text
        return response.headers["location"]
