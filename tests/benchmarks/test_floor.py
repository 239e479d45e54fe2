"""The in-process contract floor decides as a floor must: its token's user, forgeries refused.

``bench.py`` compares ours with ``contract_decision``; the comparison means
something only if that floor verifies what it is given. No timing is asserted.
"""

from __future__ import annotations

from clerk_middleware.core import AuthStatus
from clerk_middleware.testing import TestIssuer
from tests.benchmarks.floor import FloorDecisions, contract_decision

APP = "https://app.example.com"
URL = f"{APP}/dashboard"


def headers(token: str) -> list[tuple[str, str]]:
    return [("host", "app.example.com"), ("cookie", f"theme=dark; __session={token}; x=1")]


def test_contract_decision_answers_the_tokens_user_each_time() -> None:
    issuer = TestIssuer("clerk.example.com", production=True)
    decisions = FloorDecisions(issuer.jwt_key, APP)
    for user in ("user_2a", "user_2b", "user_2a"):  # new, new, then seen
        state = contract_decision(
            decisions, "GET", URL, headers(issuer.session_token(user, azp=APP, lifetime=60))
        )
        assert state is not None
        assert state.status is AuthStatus.SIGNED_IN
        assert state.claims is not None and state.claims["sub"] == user


def test_contract_decision_refuses_forged_foreign_and_expired_tokens() -> None:
    issuer = TestIssuer("clerk.example.com", production=True)
    forger = TestIssuer("clerk.example.com", production=True)
    decisions = FloorDecisions(issuer.jwt_key, APP)
    for token in (
        forger.session_token("user_2a", azp=APP, lifetime=60),  # another key
        issuer.session_token("user_2a", azp="https://evil.example", lifetime=60),
        issuer.session_token("user_2a", azp=APP, lifetime=-60),  # expired
    ):
        assert contract_decision(decisions, "GET", URL, headers(token)) is None
    assert contract_decision(decisions, "GET", URL, [("host", "app.example.com")]) is None
