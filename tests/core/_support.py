"""Helpers the cache and memo tests share: a movable clock, a JWKS endpoint, cold caches."""

from __future__ import annotations

import httpx

from clerk_middleware.core import _request
from clerk_middleware.core._cache import verified_tokens
from clerk_middleware.testing import TestIssuer

from ..conftest import NOW


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Jwks:
    """A Backend API that serves one issuer's JWKS and counts the fetches; ``serve`` swaps it."""

    def __init__(self, issuer: TestIssuer) -> None:
        self.issuer = issuer
        self.fetches = 0

    def serve(self, issuer: TestIssuer) -> None:
        self.issuer = issuer

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        return httpx.Response(200, json=self.issuer.jwks())


def clear_caches() -> None:
    """Forget every verified token (and so every decision made from one) and parsed header."""
    verified_tokens.clear()
    _request._cookie_memo.clear()
