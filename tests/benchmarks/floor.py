"""Floors: the least an exact authentication can do per request, hand-written for the benchmarks.

``hand_written`` decodes, verifies and checks a session token as tersely as
correctness allows. ``FloorASGI`` and ``FloorWSGI`` are middlewares doing only
what a signed-in request cannot be answered with less of: the headers an exact
answer reads (``NEEDED``: the cookies, a Bearer token, the origin's and the
cross-origin check's inputs) picked out, the ``Cookie`` header looked up among
those seen before (a new one: its ``__session`` cookie split out and
``hand_written``), the clock checked, a private copy of the claims bound in a
context variable for the endpoint (``auth()`` in any handler needs one). No
origin, referrer or handshake rules applied, no response headers, no error
handling: nothing anyone should ship, only what the benchmarks' own middleware
is compared with.

``ContractFloorASGI`` and ``ContractFloorWSGI`` are that floor plus the objects
the project's public contract hands an application (DESIGN.md's data flow):
every header read into an ``AuthRequest`` (by the adapters' own header
readers), a signed-in ``RequestState``, both bound for the request, and the
endpoint's ``Auth`` built from them (``contract_auth``), each made the
cheapest way the project offers (``contract_decision``: the same for
``authenticate_request`` alone, request in and state out). What the
middleware costs beyond this floor is its own work; what this floor costs
beyond the bare one is what the contract's objects cost.

``cookie_rules`` is Clerk's rules for a plain production page load written
as tersely: the least those rules cost, beside the floors.
"""

from __future__ import annotations

import base64
import contextvars
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from clerk_middleware.adapters.asgi import _scope_headers
from clerk_middleware.adapters.wsgi import _environ_headers
from clerk_middleware.core import Auth, AuthRequest, RequestState
from clerk_middleware.core._auth import auth_from_claims
from clerk_middleware.core._authenticate import _strip_schemes
from clerk_middleware.core._jwt import DecodedJwt, has_non_session_category, is_machine_jwt
from clerk_middleware.core._request import request_with_headers
from clerk_middleware.core._url import fast_origin

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

PAD = PKCS1v15()
SHA256 = hashes.SHA256()

#: The request's verified claims, for the endpoint.
CLAIMS: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("floor_claims")
#: The contract floor's request and state, for the endpoint.
CONTRACT: contextvars.ContextVar[tuple[AuthRequest, RequestState]] = contextvars.ContextVar(
    "contract_floor"
)


def b64_segment(segment: str) -> bytes:
    """A JWT segment's bytes (base64url without padding)."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def hand_written(token: str, key: RSAPublicKey, party: str, now: float) -> dict[str, Any]:
    """Decode, verify and check a session token's claims as tersely as correctness allows.

    Raises:
        ValueError: The token is malformed, not RS256, not signed by ``key``, not
            for ``party``, or outside its times (5 s of skew).
        cryptography.exceptions.InvalidSignature: The signature does not verify.
    """
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64_segment(header_b64))
    if header.get("alg") != "RS256":
        raise ValueError("alg")
    key.verify(b64_segment(signature_b64), f"{header_b64}.{payload_b64}".encode(), PAD, SHA256)
    claims: dict[str, Any] = json.loads(b64_segment(payload_b64))
    if not isinstance(claims.get("sub"), str) or claims.get("azp") != party:
        raise ValueError("claims")
    if not (claims["exp"] > now - 5 and claims.get("nbf", 0) <= now + 5):
        raise ValueError("time")
    if claims.get("iat", 0) > now + 5:
        raise ValueError("iat")
    return claims


def cookie_rules(
    cookies: dict[str, str],
    decoded: dict[str, DecodedJwt],
    *,
    suffix: str,
    frontend_api: str,
    referrer: str | None,
    origin: str,
) -> str | None:
    """Clerk's rules for a cookie request written tersely: the token they verify, or None.

    Only the rules a plain production page load passes through, each in its
    cheapest form (the core's own checks where it has one), on cookies already
    parsed and tokens already decoded (both shared with the verification):
    which of the plain and suffixed cookie sets to read (the plain token's
    issuer, both tokens' ``iat``, both ``__client_uat``), no handshake cookie,
    a session and an active client, a session token's type and category,
    ``iat`` not before ``__client_uat``, a same-origin ``Referer``,
    organization claims that are an object. None
    where Clerk would answer otherwise (signed out, or a handshake) or would
    first resolve a handshake cookie.

    Args:
        cookies: Clerk's cookies, parsed.
        decoded: Each cookie token, decoded, by its text.
        suffix: The instance's cookie suffix.
        frontend_api: The instance's Frontend API host.
        referrer: The ``Referer`` header of the page load, if any.
        origin: The request's origin.
    """
    session = cookies.get("__session")
    suffixed_session = cookies.get("__session_" + suffix)
    uat = cookies.get("__client_uat")
    suffixed_uat = cookies.get("__client_uat_" + suffix)
    suffixed: bool | None = None
    if session:
        iss = decoded[session].payload.get("iss")
        if not iss:
            suffixed = False
        elif not isinstance(iss, str) or _strip_schemes(iss) != frontend_api:
            suffixed = True
    if suffixed is None:
        iat = decoded[session].payload.get("iat") or 0 if session else 0
        suffixed_iat = decoded[suffixed_session].payload.get("iat") or 0 if suffixed_session else 0
        # The plain set wins if the suffixed one is absent, older, or signed out alone.
        plain_wins = (
            (not suffixed_uat and not suffixed_session)
            or (suffixed_uat != "0" and uat != "0" and iat > suffixed_iat)
            or (suffixed_uat == "0" and uat != "0")
        )
        suffixed = not plain_wins and (bool(suffixed_uat) or not suffixed_session)
    token = suffixed_session if suffixed else session
    uat_text = (suffixed_uat if suffixed else uat) or ""
    client_uat = int(uat_text) if uat_text.isdigit() else 0  # odd text: not a plain page load
    if "__clerk_handshake" in cookies or "__clerk_handshake_nonce" in cookies:
        return None
    if not token or not client_uat:
        return None
    jwt = decoded[token]
    payload = jwt.payload
    if is_machine_jwt(jwt) or has_non_session_category(jwt) or payload.get("iat", 0) < client_uat:
        return None
    if referrer and fast_origin(referrer) != origin:  # not a simple URL: not a plain page load
        return None
    if "o" in payload and not isinstance(payload["o"], dict):
        return None
    return token


class FloorDecisions:
    """Verified tokens and claims by the ``Cookie`` header's exact text: the floor's one cache.

    Args:
        key: The instance's PEM public key.
        party: The one authorized party.
    """

    def __init__(self, key: str, party: str) -> None:
        loaded = serialization.load_pem_public_key(key.encode())
        assert isinstance(loaded, RSAPublicKey)
        self.key = loaded
        self.party = party
        self.seen: dict[str, tuple[str, dict[str, Any]]] = {}

    def claims(self, cookie: str) -> dict[str, Any] | None:
        """A private copy of the verified claims of the header's session cookie, or None."""
        found = self.verified(cookie)
        return None if found is None else found[1]

    def verified(self, cookie: str) -> tuple[str, dict[str, Any]] | None:
        """The header's verified session token and a private copy of its claims, or None."""
        found = self.seen.get(cookie)
        if found is None:
            found = self._verify(cookie)
            if found is None:
                return None
        token, claims = found
        if claims["exp"] <= time.time():
            return None
        return token, dict(claims)

    def signed_in(self, cookie: str) -> RequestState | None:
        """The signed-in state of the header's verified session cookie, or None."""
        found = self.verified(cookie)
        return None if found is None else RequestState.signed_in(found[1], found[0])

    def _verify(self, cookie: str) -> tuple[str, dict[str, Any]] | None:
        token = None
        for pair in cookie.split(";"):
            name, _, value = pair.strip().partition("=")
            if name == "__session":
                token = value
        if token is None:
            return None
        try:
            claims = hand_written(token, self.key, self.party, time.time())
        except Exception:  # any failure is a signed-out answer, as for a real middleware
            return None
        if len(self.seen) > 100_000:  # bounded, as clients choose the headers
            self.seen.clear()
        self.seen[cookie] = (token, claims)
        return token, claims


_UNAUTHORIZED = [(b"content-length", b"10"), (b"content-type", b"text/plain")]


async def _refuse_asgi(send: Any) -> None:
    """The floors' answer to a request without verified claims, over ASGI: a 401."""
    await send({"type": "http.response.start", "status": 401, "headers": _UNAUTHORIZED})
    await send({"type": "http.response.body", "body": b"signed out"})


def _refuse_wsgi(start_response: StartResponse) -> Iterable[bytes]:
    """The floors' answer to a request without verified claims, over WSGI: a 401."""
    start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"signed out"]


#: What an exact answer reads of a request's headers; the rest need not be decoded.
NEEDED = (
    "cookie",
    "authorization",
    "host",
    "x-forwarded-host",
    "x-forwarded-proto",
    "referer",
    "sec-fetch-dest",
)
_NEEDED_BYTES = frozenset(name.encode() for name in NEEDED)
_NEEDED_ENVIRON = tuple((name, "HTTP_" + name.upper().replace("-", "_")) for name in NEEDED)


class _Floor:
    """A floor middleware: the wrapped app and the claims verified so far.

    Args:
        app: The wrapped ASGI or WSGI app.
        key: The instance's PEM public key.
        party: The one authorized party.
    """

    def __init__(self, app: Any, key: str, party: str) -> None:
        self.app = app
        self.decisions = FloorDecisions(key, party)


class FloorASGI(_Floor):
    """The floor as pure ASGI; a request without verified claims gets a 401."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Authenticate an HTTP request, then call the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Every header an exact answer reads is decoded, though only the cookie is
        # used: that reading is part of the floor.
        fields = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k in _NEEDED_BYTES
        }
        claims = self.decisions.claims(fields.get("cookie") or "")
        if claims is None:
            await _refuse_asgi(send)
            return
        token = CLAIMS.set(claims)
        try:
            await self.app(scope, receive, send)
        finally:
            CLAIMS.reset(token)


class FloorWSGI(_Floor):
    """The floor as WSGI; a request without verified claims gets a 401."""

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Authenticate a request, then call the app."""
        fields = {name: environ.get(key) for name, key in _NEEDED_ENVIRON}
        claims = self.decisions.claims(fields.get("cookie") or "")
        if claims is None:
            return _refuse_wsgi(start_response)
        token = CLAIMS.set(claims)
        try:
            body: Iterable[bytes] = self.app(environ, start_response)
            return body
        finally:
            CLAIMS.reset(token)


def contract_decision(
    decisions: FloorDecisions, method: str, url: str, headers: list[tuple[str, str]]
) -> RequestState | None:
    """The contract floor of ``authenticate_request`` alone: request in, state out.

    An ``AuthRequest`` built from ``(name, value)`` pairs as an application
    builds one, the floor's decision on its ``Cookie`` header, and a signed-in
    ``RequestState`` (None where the floor refuses).
    """
    request = AuthRequest(method, url, headers)
    return decisions.signed_in(request.headers.get("cookie") or "")


def contract_auth() -> Auth:
    """The endpoint's ``Auth`` under a contract floor, built from the bound state."""
    state = CONTRACT.get()[1]
    assert state.claims is not None
    return auth_from_claims(state.claims, state.token)


class ContractFloorASGI(_Floor):
    """The floor plus the contract's objects, as pure ASGI; no verified claims: a 401."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Authenticate an HTTP request, bind its request and state, then call the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Every header (AuthRequest.headers holds them all), as the adapter reads them.
        fields = _scope_headers(scope["headers"])
        query = scope["query_string"]
        target = scope["raw_path"].decode("latin-1")
        if query:
            target += "?" + query.decode("latin-1")
        url = f"{scope['scheme']}://{fields.get('host', 'localhost')}{target}"
        request = request_with_headers(scope["method"], url, fields, scope["path"])
        state = self.decisions.signed_in(fields.get("cookie") or "")
        if state is None:
            await _refuse_asgi(send)
            return
        token = CONTRACT.set((request, state))
        try:
            await self.app(scope, receive, send)
        finally:
            CONTRACT.reset(token)


class ContractFloorWSGI(_Floor):
    """The floor plus the contract's objects, as WSGI; no verified claims: a 401."""

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Authenticate a request, bind its request and state, then call the app."""
        fields = _environ_headers(environ)  # every header, as the adapter reads them
        target = environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ["PATH_INFO"]
        url = f"{environ['wsgi.url_scheme']}://{fields.get('host', 'localhost')}{target}"
        request = request_with_headers(
            environ["REQUEST_METHOD"], url, fields, environ.get("PATH_INFO", "")
        )
        state = self.decisions.signed_in(fields.get("cookie") or "")
        if state is None:
            return _refuse_wsgi(start_response)
        token = CONTRACT.set((request, state))
        try:
            body: Iterable[bytes] = self.app(environ, start_response)
            return body
        finally:
            CONTRACT.reset(token)
