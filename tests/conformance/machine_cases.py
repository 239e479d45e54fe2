"""Machine-token conformance cases: requests Clerk's SDK and our core must answer alike.

Every case is one request, the ``authenticateRequest`` options (Clerk's camelCase
names, ``acceptsToken`` among them) and is run through ``@clerk/backend``
(``clerk_machine_oracle.mjs``) and through ``clerk_middleware.core``. Each result
also carries ``getAuthObjectForAcceptedToken(toAuth(), acceptsToken=X)`` for every
``X`` of ``ACCEPTS``, compared with our ``state.to_auth(accepts_token=X)``.

All cases here are networkless: JWT-form machine tokens verify with ``jwtKey``,
and an opaque machine token (``ak_``/``mt_``/``oat_`` that is not a JWT) appears
only where its type is refused before any Backend API call. Opaque tokens that do
reach the Backend API are in ``test_machine_networked.py``, against a local instance.

Tokens are minted by the issuers of ``cases.py`` at its fixed ``NOW``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from clerk_middleware.core._machine import CATEGORY_M2M, AcceptsToken
from clerk_middleware.testing import TestIssuer

from .cases import (
    API,
    APP,
    DEV,
    DEV_FORGER,
    NOW,
    NOW_MS,
    PROD,
    UAT,
    bearer,
    cookie,
    hs256,
)

__all__ = [
    "ACCEPTS",
    "ACCEPTS_SHAPES",
    "KEYS_CLERK_DOES_NOT_REQUIRE",
    "MACHINE_CASES",
    "MACHINE_DIFFERENCES",
    "MACHINE_SECRET_KEY",
    "MachineCase",
    "MachineDifference",
    "accepts_json",
    "key_cases",
    "m2m_jwt",
    "oauth_jwt",
]

#: Clerk's ``acceptsToken`` shapes the cases are authenticated under (None: the option is unset).
ACCEPTS_SHAPES: tuple[AcceptsToken | None, ...] = (
    None,
    "session_token",
    "api_key",
    "m2m_token",
    "oauth_token",
    "any",
    ("session_token", "api_key"),
    ("m2m_token", "oauth_token"),
    ("api_key",),
)
#: The ``acceptsToken`` of every ``getAuthObjectForAcceptedToken`` asked of a result.
ACCEPTS: tuple[AcceptsToken, ...] = tuple(shape for shape in ACCEPTS_SHAPES if shape is not None)

#: A machine secret key (a machine's own key, ``ak_...``); networkless cases never send it.
MACHINE_SECRET_KEY = "ak_conformanceMachineSecret0001"

ENDPOINT = f"{APP}/api/items"
AUDIENCE = "https://api.example.com"
OTHER_AUDIENCE = "https://other.example.com"
M2M_CATEGORY_SESSION = "cl_B7d4PD111AAA"
M2M_CATEGORY_IGNORE = "cl_I7d4PD111III"


def accepts_json(shape: str | tuple[str, ...]) -> str | list[str]:
    """``acceptsToken`` as JSON for node: a tuple becomes a list."""
    return list(shape) if isinstance(shape, tuple) else shape


def _shape_id(shape: str | tuple[str, ...] | None) -> str:
    if shape is None:
        return "default"
    if isinstance(shape, tuple):
        return "[" + ",".join(shape) + "]"
    return shape


@dataclass(frozen=True, slots=True)
class MachineCase:
    """One request and the options to authenticate it with.

    Attributes:
        name: Unique id, used as the pytest parameter id.
        options: ``authenticateRequest`` options, Clerk's camelCase names.
        method: HTTP method.
        url: The request URL.
        headers: Request headers, in order.
        now_ms: The current time in milliseconds.
    """

    name: str
    options: Mapping[str, Any]
    method: str = "GET"
    url: str = ENDPOINT
    headers: tuple[tuple[str, str], ...] = ()
    now_ms: int = NOW_MS

    def to_json(self) -> dict[str, Any]:
        """The case as ``clerk_machine_oracle.mjs`` reads it."""
        return {
            "name": self.name,
            "now_ms": self.now_ms,
            "options": dict(self.options),
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": [list(pair) for pair in self.headers],
            },
            "accepts": [accepts_json(shape) for shape in ACCEPTS],
            "network": False,
            "fetch_timeout_ms": None,
        }


@dataclass(frozen=True, slots=True)
class MachineDifference:
    """A case where we deliberately answer differently from Clerk.

    Attributes:
        why: One line: why we differ.
        clerk: Fields of Clerk's result that must hold (``error`` matches as a substring).
        ours: Fields of our result that must hold instead (``error``: the exception's
            class name, as a substring of ``"<Class>: <message>"``).
    """

    why: str
    clerk: Mapping[str, Any]
    ours: Mapping[str, Any]


# --------------------------------------------------------------------------- tokens


def _m2m_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": PROD.issuer,
        "sub": "mch_2conformance",
        "jti": "mt_2conformanceJwt",
        "iat": NOW,
        "nbf": NOW - 5,
        "exp": NOW + 3600,
        "scopes": "mch_2reader mch_2writer",
        "tenant": "acme",
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def m2m_jwt(
    *, issuer: TestIssuer = PROD, header: Mapping[str, Any] | None = None, **claims: Any
) -> str:
    """An M2M token in JWT form (header ``cat`` of M2M tokens, ``sub`` ``mch_...``).

    Args:
        issuer: The ``TestIssuer`` signing it.
        header: Header fields over the defaults (None removes one).
        **claims: Claims over the defaults (None removes one).

    Returns:
        The signed token.
    """
    return issuer.sign(_m2m_claims(**claims), header={"cat": CATEGORY_M2M, **(header or {})})


def _oauth_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": PROD.issuer,
        "sub": "user_2oauth",
        "client_id": "client_2conformanceApp",
        "jti": "oat_2conformanceJwt",
        "iat": NOW,
        "nbf": NOW - 5,
        "exp": NOW + 3600,
        "scope": "profile email",
        "aud": AUDIENCE,
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def oauth_jwt(
    *,
    issuer: TestIssuer = PROD,
    typ: str = "at+jwt",
    header: Mapping[str, Any] | None = None,
    **claims: Any,
) -> str:
    """An OAuth access token in JWT form (header ``typ`` ``at+jwt`` by default).

    Args:
        issuer: The ``TestIssuer`` signing it.
        typ: The header's ``typ``.
        header: Further header fields (None removes one).
        **claims: Claims over the defaults (None removes one).

    Returns:
        The signed token.
    """
    return issuer.sign(_oauth_claims(**claims), header={"typ": typ, **(header or {})})


SESSION = PROD.session_token()
#: Tokens in the ``Authorization`` header, by name. Every one is a JWT or is refused
#: without a Backend API call under the shapes it is tried with (see ``_opaque``).
HEADER_TOKENS: dict[str, str] = {
    # Session tokens.
    "session": SESSION,
    "session-expired": PROD.expired_token(),
    "session-forged": DEV_FORGER.session_token(),
    "session-pending": PROD.pending_token(),
    "session-cat-m2m": PROD.sign(PROD.session_claims(), header={"cat": CATEGORY_M2M}),
    "session-cat-session": PROD.sign(PROD.session_claims(), header={"cat": M2M_CATEGORY_SESSION}),
    "session-cat-ignore": PROD.sign(PROD.session_claims(), header={"cat": M2M_CATEGORY_IGNORE}),
    "session-cat-other": PROD.sign(PROD.session_claims(), header={"cat": "cl_custom"}),
    "session-sub-mch-prefix-not-string": PROD.sign(PROD.session_claims(extra={"sub": ["mch_1"]})),
    "garbage": "not-a-jwt",
    # M2M tokens in JWT form.
    "m2m": m2m_jwt(),
    "m2m-no-cat": m2m_jwt(header={"cat": None}),
    "m2m-cat-session": m2m_jwt(header={"cat": M2M_CATEGORY_SESSION}),
    "m2m-cat-other": m2m_jwt(header={"cat": "cl_custom"}),
    "m2m-cat-empty": m2m_jwt(header={"cat": ""}),
    "m2m-expired": m2m_jwt(iat=NOW - 7200, nbf=NOW - 7200, exp=NOW - 60),
    "m2m-expired-within-skew": m2m_jwt(iat=NOW - 7200, nbf=NOW - 7200, exp=NOW - 2),
    "m2m-nbf-future": m2m_jwt(nbf=NOW + 600),
    "m2m-iat-future": m2m_jwt(iat=NOW + 600, nbf=None),
    "m2m-no-exp": m2m_jwt(exp=None),
    "m2m-forged": m2m_jwt(issuer=DEV_FORGER),
    "m2m-other-instance": m2m_jwt(issuer=DEV),
    "m2m-hs256": hs256(_m2m_claims(), b"conformance-hmac-secret"),
    "m2m-typ-at-jwt": m2m_jwt(header={"typ": "at+jwt"}),
    "m2m-no-typ": m2m_jwt(header={"typ": None}),
    "m2m-typ-lowercase": m2m_jwt(header={"typ": "jwt"}),
    "m2m-scopes-from-aud": m2m_jwt(scopes=None, aud=["mch_2reader", "mch_2audit"]),
    "m2m-scopes-from-aud-string": m2m_jwt(scopes=None, aud="mch_2reader"),
    "m2m-no-scopes": m2m_jwt(scopes=None),
    "m2m-empty-scopes": m2m_jwt(scopes=""),
    "m2m-scopes-not-string": m2m_jwt(scopes=["mch_2reader"]),
    "m2m-only-reserved-claims": m2m_jwt(scopes=None, tenant=None),
    "m2m-no-jti": m2m_jwt(jti=None),
    "m2m-nested-claims": m2m_jwt(tenant={"id": "t_1", "roles": ["a", "b"]}, extra=[1, None]),
    "m2m-with-aud": m2m_jwt(aud=AUDIENCE),
    # OAuth access tokens in JWT form.
    "oauth": oauth_jwt(),
    "oauth-application-typ": oauth_jwt(typ="application/at+jwt"),
    "oauth-typ-uppercase": oauth_jwt(typ="AT+JWT"),
    "oauth-scp": oauth_jwt(scope=None, scp=["profile", "email", "openid"]),
    "oauth-scp-and-scope": oauth_jwt(scp=["openid"]),
    "oauth-no-scope": oauth_jwt(scope=None),
    "oauth-scope-not-string": oauth_jwt(scope=["profile"]),
    "oauth-no-client-id": oauth_jwt(client_id=None),
    "oauth-no-jti": oauth_jwt(jti=None),
    "oauth-expired": oauth_jwt(iat=NOW - 7200, nbf=NOW - 7200, exp=NOW - 60),
    "oauth-nbf-future": oauth_jwt(nbf=NOW + 600),
    "oauth-forged": oauth_jwt(issuer=DEV_FORGER),
    "oauth-no-sub": oauth_jwt(sub=None),
    "oauth-org-subject": oauth_jwt(sub="org_2acme"),
    "oauth-aud-list": oauth_jwt(aud=[OTHER_AUDIENCE, AUDIENCE]),
    "oauth-aud-other": oauth_jwt(aud=OTHER_AUDIENCE),
    "oauth-no-aud": oauth_jwt(aud=None),
    "oauth-empty-aud": oauth_jwt(aud=""),
    "oauth-aud-with-empty": oauth_jwt(aud=[AUDIENCE, ""]),
    "oauth-aud-number": oauth_jwt(aud=7),
    "oauth-cat-m2m": oauth_jwt(header={"cat": CATEGORY_M2M}),
    "oauth-with-act": oauth_jwt(act={"sub": "user_2admin"}),
    # Opaque-looking prefixes on JWT-form text: a machine type by prefix, undecodable.
    "prefix-mt-jwt": "mt_" + SESSION,
    "prefix-oat-jwt": "oat_" + SESSION,
    "prefix-ak-jwt": "ak_" + SESSION,
    "prefix-ak-m2m-jwt": "ak_" + m2m_jwt(),
    # Opaque machine tokens (Backend API verified): only where refused beforehand.
    "opaque-ak": "ak_2conformanceOpaqueKey",
    "opaque-mt": "mt_2conformanceOpaqueToken",
    "opaque-oat": "oat_2conformanceOpaqueToken",
    "opaque-two-parts": "ak_abc.def",
}

_OPAQUE_TYPES = {"ak_": "api_key", "mt_": "m2m_token", "oat_": "oauth_token"}


def _opaque_type(token: str) -> str | None:
    # Deliberately independent of the core: prefix and JWT shape, as Clerk's machine.ts.
    parts = token.split(".")
    jwt_shaped = len(parts) == 3 and all(parts)
    if jwt_shaped:
        return None
    for prefix, token_type in _OPAQUE_TYPES.items():
        if token.startswith(prefix):
            return token_type
    return None


def _reaches_backend_api(token: str, shape: str | tuple[str, ...] | None) -> bool:
    """Whether Clerk would verify this header token with the Backend API under ``shape``."""
    token_type = _opaque_type(token)
    if token_type is None or shape is None or shape == "session_token":
        return False
    if shape == "any":
        return True
    if isinstance(shape, tuple):
        return token_type in shape
    return token_type == shape


def _options(shape: str | tuple[str, ...] | None, **extra: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "publishableKey": PROD.publishable_key,
        "secretKey": PROD.secret_key,
        "jwtKey": PROD.jwt_key,
        **extra,
    }
    if shape is not None:
        options["acceptsToken"] = accepts_json(shape)
    return options


SESSION_COOKIES = cookie(("__session", SESSION), ("__client_uat", UAT))


def _build() -> Iterator[MachineCase]:
    # Every header token under every acceptsToken shape.
    for token_name, token in HEADER_TOKENS.items():
        for shape in ACCEPTS_SHAPES:
            if _reaches_backend_api(token, shape):
                continue
            yield MachineCase(
                f"header/{token_name}/{_shape_id(shape)}",
                _options(shape),
                headers=(bearer(token), *API),
            )

    # No token in the header: cookie-only, nothing at all, a non-Bearer header.
    requests: dict[str, tuple[tuple[str, str], ...]] = {
        "cookie-session": (SESSION_COOKIES, *API),
        "cookie-expired": (
            cookie(("__session", PROD.expired_token()), ("__client_uat", UAT)),
            *API,
        ),
        "cookie-machine-token": (cookie(("__session", m2m_jwt()), ("__client_uat", UAT)), *API),
        "nothing": API,
        "basic-auth": (("authorization", "Basic dXNlcjpwYXNz"), *API),
        "bearer-empty": (("authorization", "Bearer "), *API),
        "header-m2m-and-cookie": (bearer(m2m_jwt()), SESSION_COOKIES, *API),
        "header-session-and-cookie": (bearer(SESSION), SESSION_COOKIES, *API),
    }
    for request_name, headers in requests.items():
        for shape in ACCEPTS_SHAPES:
            yield MachineCase(
                f"no-header/{request_name}/{_shape_id(shape)}", _options(shape), headers=headers
            )

    # Audiences: options.audience as a string and as a list.
    audience_tokens = (
        "oauth",
        "oauth-aud-list",
        "oauth-aud-other",
        "oauth-no-aud",
        "oauth-empty-aud",
        "oauth-aud-with-empty",
        "oauth-aud-number",
        "m2m",
        "m2m-with-aud",
        "m2m-scopes-from-aud",
        "session",
    )
    audiences: dict[str, str | list[str]] = {
        "string": AUDIENCE,
        "list": [OTHER_AUDIENCE, AUDIENCE],
        "unmatched": "https://nobody.example.com",
        "empty-list": [],
        "empty-string": "",
    }
    for token_name in audience_tokens:
        for audience_name, audience in audiences.items():
            for shape in ("any", "oauth_token", "m2m_token", ("m2m_token", "oauth_token")):
                yield MachineCase(
                    f"audience-{audience_name}/{token_name}/{_shape_id(shape)}",
                    _options(shape, audience=audience),
                    headers=(bearer(HEADER_TOKENS[token_name]), *API),
                )

    # Clock skew: a wider skew accepts a token expired 60 s ago.
    for token_name in ("m2m-expired", "oauth-expired", "m2m-nbf-future"):
        for skew in (0, 120_000):
            yield MachineCase(
                f"skew-{skew}/{token_name}/any",
                _options("any", clockSkewInMs=skew),
                headers=(bearer(HEADER_TOKENS[token_name]), *API),
            )


def _key_cases() -> Iterator[MachineCase]:
    # Keys: machine tokens with a machine secret key, without a secret key, without a
    # publishable key (Clerk skips the publishable key for api_key and m2m_token).
    m2m = bearer(HEADER_TOKENS["m2m"])
    session = bearer(SESSION)
    for shape in ("m2m_token", "api_key", "oauth_token", "any", ("m2m_token", "oauth_token")):
        sid = _shape_id(shape)
        yield MachineCase(
            f"keys/machine-secret-key/{sid}",
            _options(shape, machineSecretKey=MACHINE_SECRET_KEY),
            headers=(m2m, *API),
        )
        no_secret = _options(shape, machineSecretKey=MACHINE_SECRET_KEY)
        del no_secret["secretKey"]
        yield MachineCase(f"keys/no-secret-key-machine-key/{sid}", no_secret, headers=(m2m, *API))
        no_keys = _options(shape)
        del no_keys["secretKey"]
        yield MachineCase(f"keys/no-secret-key/{sid}", no_keys, headers=(m2m, *API))
        no_publishable = _options(shape)
        del no_publishable["publishableKey"]
        yield MachineCase(f"keys/no-publishable-key/{sid}", no_publishable, headers=(m2m, *API))
        yield MachineCase(
            f"keys/no-publishable-key-session-header/{sid}",
            no_publishable,
            headers=(session, *API),
        )
        yield MachineCase(f"keys/no-publishable-key-no-header/{sid}", no_publishable, headers=API)
        no_jwt_key = _options(shape, machineSecretKey=MACHINE_SECRET_KEY)
        del no_jwt_key["jwtKey"]
        del no_jwt_key["secretKey"]
        yield MachineCase(f"keys/no-jwt-key-no-secret-key/{sid}", no_jwt_key, headers=(m2m, *API))


#: Key cases of ``_key_cases`` left out of ``MACHINE_CASES``: Clerk authenticates them
#: (it reads no publishable key when ``acceptsToken`` is ``api_key`` or ``m2m_token``,
#: and needs no secret key for ``m2m_token`` given a machine secret key), while
#: ``ClerkOptions`` requires both keys for every ``accepts_token``.
KEYS_CLERK_DOES_NOT_REQUIRE: frozenset[str] = frozenset(
    {
        "keys/no-publishable-key/api_key",
        "keys/no-publishable-key/m2m_token",
        "keys/no-publishable-key-session-header/api_key",
        "keys/no-publishable-key-session-header/m2m_token",
        "keys/no-publishable-key-no-header/api_key",
        "keys/no-publishable-key-no-header/m2m_token",
        "keys/no-secret-key-machine-key/m2m_token",
        "keys/no-jwt-key-no-secret-key/m2m_token",
    }
)


def _all_cases() -> Iterator[MachineCase]:
    yield from _build()
    yield from _key_cases()


def key_cases() -> tuple[MachineCase, ...]:
    """Every key case, those of ``KEYS_CLERK_DOES_NOT_REQUIRE`` included."""
    return tuple(_key_cases())


MACHINE_CASES: tuple[MachineCase, ...] = tuple(
    case for case in _all_cases() if case.name not in KEYS_CLERK_DOES_NOT_REQUIRE
)

#: Cases where we answer differently from Clerk on purpose.
MACHINE_DIFFERENCES: dict[str, MachineDifference] = {
    f"header/{token}/{shape}": MachineDifference(
        why="Clerk throws out of authenticateRequest (it calls .split on a scope claim that "
        "is not a string); we refuse the token: signed out, unexpected-error.",
        clerk={"error": "split is not a function"},
        ours={"status": "signed-out", "reason": "unexpected-error", "message": ""},
    )
    for token, verified_under in (
        ("m2m-scopes-not-string", "m2m_token"),
        ("oauth-scope-not-string", "oauth_token"),
    )
    for shape in (verified_under, "any", "[m2m_token,oauth_token]")
}


def _check_table() -> None:
    names = [case.name for case in MACHINE_CASES]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise AssertionError(f"duplicate machine conformance case names: {duplicates}")
    unknown = sorted(set(MACHINE_DIFFERENCES) - set(names))
    if unknown:
        raise AssertionError(f"MACHINE_DIFFERENCES names unknown cases: {unknown}")


_check_table()
