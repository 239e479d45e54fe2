"""Hypothesis strategies for hostile requests: headers, cookies, URLs and token bytes.

Every strategy mixes three kinds of values: the instance's genuine tokens (so
the interesting paths run), structured near-misses of them (forged, mutated,
expired), and arbitrary text or bytes. ``Tokens`` holds the genuine values a
test may see signed in; nothing else may ever sign in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import httpx
from hypothesis import strategies as st

from clerk_middleware.core import ClerkOptions
from clerk_middleware.core._backend import configure_backend
from clerk_middleware.testing import TestIssuer

from ._forge import hmac_signed, parts, unsigned, with_claims, with_header

T = TypeVar("T")
CLERK_PARAMS = (
    "__clerk_handshake", "__clerk_handshake_nonce", "__clerk_db_jwt", "__clerk_redirect_url",
    "__clerk_synced", "__dev_session", "__clerk_help", "redirect_url",
)
HEADER_NAMES = (
    "authorization", "cookie", "host", "x-forwarded-host", "x-forwarded-proto", "origin",
    "referer", "sec-fetch-dest", "accept", "user-agent", "content-type",
    "cloudfront-forwarded-proto",
)
# C0 controls, DEL, C1 controls, surrogates' neighbours, bidi overrides, BOM, NUL.
ODD_CHARACTERS = "\x00\x01\t\n\r\x0b\x0c\x1b\x7f\x85\xa0\xad\u2028\u2029\u202e\ufeff\uffff"


@dataclass(frozen=True)
class Tokens:
    """The genuine values of one instance.

    Attributes:
        active: A valid token of an active session (the only one that may sign in fully).
        pending: A valid token of a pending session (signed in at state level only).
        expired: The instance's token, expired.
        handshake: A genuine handshake token that sets ``active`` as the session cookie.
        user_id: The ``sub`` of ``active``.
    """

    active: str
    pending: str
    expired: str
    handshake: str
    user_id: str

    @property
    def genuine(self) -> frozenset[str]:
        """Tokens that may produce a signed-in ``RequestState``."""
        return frozenset({self.active, self.pending})


def tokens_of(issuer: TestIssuer) -> Tokens:
    """Mint the genuine values for ``issuer``."""
    active = issuer.session_token("user_fuzz")
    return Tokens(
        active=active,
        pending=issuer.pending_token("user_fuzz"),
        expired=issuer.expired_token("user_fuzz"),
        handshake=issuer.handshake_token([f"__session={active}; Path=/",
                                          "__client_uat=1; Path=/"]),
        user_id="user_fuzz",
    )


def offline_backend(options: ClerkOptions) -> None:
    """Answer every Backend API call (handshake nonce, refresh) with a 404, without network."""

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"errors": [{"code": "resource_not_found"}]})

    transport = httpx.MockTransport(reply)
    configure_backend(options, transport=transport, async_transport=transport, timeout=1.0)


def forged(issuer: TestIssuer, attacker: TestIssuer, tokens: Tokens) -> list[str]:
    """Near-misses of the genuine token, each refused for a different reason."""
    header, claims, _ = parts(tokens.active)
    head, payload, signature = tokens.active.split(".")
    return [
        unsigned(header, claims),
        hmac_signed(header, claims, issuer.jwt_key.encode(), "HS256"),
        with_header(tokens.active, alg="RS512"),
        with_claims(tokens.active, sub="user_admin"),
        with_claims(tokens.pending, sts="active"),
        attacker.sign(claims),
        f"{head}.{payload}",
        f"{head}.{payload}.{signature}.{signature}",
        f"{head}.{payload}.",
        tokens.active[:-1],
        tokens.expired,
    ]


def token_values(
    issuer: TestIssuer, attacker: TestIssuer, tokens: Tokens
) -> st.SearchStrategy[str]:
    """A session token candidate: genuine, forged, mutated, or garbage."""
    fixed = st.sampled_from([tokens.active, tokens.pending, *forged(issuer, attacker, tokens)])
    return weighted(fixed, fixed, fixed, mutated(tokens.active), mutated(tokens.pending),
                    jwt_like(), st.text(max_size=80))


def weighted(*choices: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Draw from one of ``choices``; repeat a choice to make it likelier.

    (``st.one_of`` would do, but Hypothesis favours its first branches in ways
    that left the genuine-token paths almost unvisited.)
    """
    return st.integers(0, len(choices) - 1).flatmap(lambda index: choices[index])


def mutated(token: str) -> st.SearchStrategy[str]:
    """The token with one byte-level edit: replace, insert, delete or cut."""
    alphabet = st.sampled_from("AZaz09-_.=+/ %é\x00")

    @st.composite
    def edit(draw: st.DrawFn) -> str:
        index = draw(st.integers(0, len(token) - 1))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "cut"]))
        if kind == "replace":
            return token[:index] + draw(alphabet) + token[index + 1:]
        if kind == "insert":
            return token[:index] + draw(alphabet) + token[index:]
        if kind == "delete":
            return token[:index] + token[index + 1:]
        return token[:index]

    return edit()


def jwt_like() -> st.SearchStrategy[str]:
    """Three (or so) dot-separated base64url-ish segments."""
    segment = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=",
                      max_size=40)
    return st.lists(segment, min_size=1, max_size=5).map(".".join)


def header_text() -> st.SearchStrategy[str]:
    """Arbitrary header text, weighted towards characters that break naive code."""
    return st.one_of(
        st.text(max_size=60),
        st.text(alphabet=st.sampled_from(ODD_CHARACTERS + "abc:/.;=,% "), max_size=30),
    )


def cookie_header(
    suffix: str, tokens: Tokens, token_strategy: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    """A Cookie header with Clerk's cookies (suffixed or not) among odd ones."""
    names = st.sampled_from([
        "__session", f"__session_{suffix}", "__client_uat", f"__client_uat_{suffix}",
        "__clerk_db_jwt", f"__clerk_db_jwt_{suffix}", "__clerk_handshake",
        "__clerk_handshake_nonce", "__clerk_redirect_count", f"__refresh_{suffix}",
    ])
    values = st.one_of(
        token_strategy,
        st.sampled_from(["1", "0", "-1", "0x10", "1e3", "NaN", "Infinity", "dvb_1", "", '""',
                         "9" * 400, tokens.handshake]),
        st.integers(-(2**63), 2**63).map(str),
        st.text(alphabet=st.characters(exclude_characters=";"), max_size=30),
    )
    pair = st.one_of(
        st.tuples(names, values).map(lambda p: f"{p[0]}={p[1]}"),
        st.text(alphabet=st.characters(exclude_characters=";"), max_size=20),
    )
    separator = st.sampled_from(["; ", ";", " ; ", ";;", "\t;"])
    return st.tuples(st.lists(pair, max_size=8), separator).map(lambda p: p[1].join(p[0]))


def url_strings(tokens: Tokens, token_strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Request URLs: mostly ``http(s)://app.test/...`` with Clerk's params, some garbage."""
    path = st.one_of(
        st.sampled_from(["/", "/dashboard", "/api/data", "/../..", "//evil.example/x",
                         "/%2e%2e/%2F", "/%ZZ", "/%C0%AF", "/a?b#c", "/\\evil.example"]),
        st.text(max_size=30).map(lambda t: "/" + t),
    )
    value = st.one_of(
        token_strategy,
        st.sampled_from(["https://evil.example/", "javascript:alert(1)", "//evil.example",
                         "http://app.test/back", "true", "false", "dvb_1", tokens.handshake,
                         "https://evil.example/%0d%0aSet-Cookie:%20x=1",
                         "http://app.test/\r\nLocation: https://evil.example/"]),
        st.text(max_size=30),
    )
    param = st.tuples(st.one_of(st.sampled_from(CLERK_PARAMS), st.text(max_size=8)), value)
    query = st.lists(param, max_size=4).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
    )
    origin = st.sampled_from(["http://app.test", "https://app.test", "http://app.test:8080",
                              "https://app.test:443"])
    structured = st.tuples(origin, path, query).map(
        lambda p: f"{p[0]}{p[1]}" + (f"?{p[2]}" if p[2] else "")
    )
    garbage = st.text(max_size=60)
    # Garbage now and then; mostly URLs that reach the interesting code.
    return weighted(structured, structured, structured, structured, garbage)
