"""The conformance cases: requests that Clerk's SDK and our core must answer alike.

Every case is one request plus the options it is authenticated with, written
once here and run twice: through ``@clerk/backend``'s ``authenticateRequest``
(``clerk_oracle.mjs``) and through ``clerk_middleware.core``. Options use
Clerk's camelCase names, because the same JSON goes to node; the test module
maps them onto ``ClerkOptions``.

Time is fixed: every case runs at ``NOW`` unless it says otherwise, and the
issuers mint their tokens at that instant.

``DIFFERENCES`` lists the cases where we answer differently from Clerk on
purpose, each with a one-line reason, what Clerk answers (checked, so a Clerk
upgrade that changes it is noticed) and what we answer instead (asserted).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from clerk_middleware.testing import OrgClaims, TestIssuer

__all__ = ["CASES", "DIFFERENCES", "NOW", "NOW_MS", "Case", "Difference"]

NOW = 1_790_000_000
NOW_MS = NOW * 1000


def _clock() -> float:
    return float(NOW)


#: A development instance (``pk_test_``), the default in most cases.
DEV = TestIssuer(clock=_clock)
#: A production instance (``pk_live_``) on ``clerk.example.com``.
PROD = TestIssuer(frontend_api="clerk.example.com", production=True, clock=_clock)
#: Same instance names as ``PROD`` but another key: its signatures are invalid for ``PROD``.
FORGER = TestIssuer(frontend_api="clerk.example.com", production=True, clock=_clock)
#: Same as ``DEV`` but another key.
DEV_FORGER = TestIssuer(clock=_clock)
#: A 4096-bit key: Clerk's jwtKey parsing only handles 2048-bit RSA keys.
BIG_KEY = TestIssuer(frontend_api="clerk.example.com", production=True, key_size=4096, clock=_clock)

DEV_SUFFIX = DEV.options().cookie_suffix
PROD_SUFFIX = PROD.options().cookie_suffix

APP = "https://app.example.com"
DASHBOARD = f"{APP}/dashboard"
DB_JWT = "dvb_2conformanceDevBrowser"

#: Headers of a browser's top-level navigation: eligible for a handshake.
DOC: tuple[tuple[str, str], ...] = (
    ("sec-fetch-dest", "document"),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
)
#: Headers of a fetch() from a page: never eligible for a handshake.
API: tuple[tuple[str, str], ...] = (("sec-fetch-dest", "empty"), ("accept", "application/json"))

#: The queries asked of ``has()`` when a case names none.
DEFAULT_HAS: tuple[dict[str, Any], ...] = (
    {"role": "org:admin"},
    {"permission": "org:billing:manage"},
    {"feature": "billing"},
    {"plan": "pro"},
    {"reverification": "strict"},
)


@dataclass(frozen=True, slots=True)
class Case:
    """One request, the options to authenticate it with, and the ``has()`` queries to ask.

    Attributes:
        name: Unique id, used as the pytest parameter id.
        options: ``authenticateRequest`` options, Clerk's camelCase names.
        method: HTTP method.
        url: The request URL as the server sees it.
        headers: Request headers, in order; names as sent.
        has_queries: Arguments for ``auth.has(...)``, Clerk's shape.
        now_ms: The current time in milliseconds.
    """

    name: str
    options: Mapping[str, Any]
    method: str = "GET"
    url: str = DASHBOARD
    headers: tuple[tuple[str, str], ...] = ()
    has_queries: tuple[Mapping[str, Any], ...] = DEFAULT_HAS
    now_ms: int = NOW_MS

    def to_json(self) -> dict[str, Any]:
        """The case as the oracle reads it."""
        return {
            "name": self.name,
            "now_ms": self.now_ms,
            "options": dict(self.options),
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": [list(pair) for pair in self.headers],
            },
            "has_queries": [dict(query) for query in self.has_queries],
        }


@dataclass(frozen=True, slots=True)
class Difference:
    """A case where we deliberately answer differently from Clerk.

    Attributes:
        why: One line: why we differ.
        clerk: Fields of Clerk's result that must hold (``error`` matches as a substring).
        ours: Fields of our result that must hold instead: ``status``, ``reason``,
            ``message``, ``error`` (``"ConfigurationError"`` or any exception
            class name), and ``auth.<field>`` for the default auth object.
    """

    why: str
    clerk: Mapping[str, Any]
    ours: Mapping[str, Any]


# --------------------------------------------------------------------------- helpers


def dev_options(**extra: Any) -> dict[str, Any]:
    """Options of the development instance (networkless: ``jwtKey`` always set)."""
    return {
        "publishableKey": DEV.publishable_key,
        "secretKey": DEV.secret_key,
        "jwtKey": DEV.jwt_key,
        **extra,
    }


def prod_options(**extra: Any) -> dict[str, Any]:
    """Options of the production instance."""
    return {
        "publishableKey": PROD.publishable_key,
        "secretKey": PROD.secret_key,
        "jwtKey": PROD.jwt_key,
        **extra,
    }


def cookie(*pairs: tuple[str, str]) -> tuple[str, str]:
    """A ``Cookie`` header from (name, value) pairs, written as given."""
    return ("cookie", "; ".join(f"{name}={value}" for name, value in pairs))


def bearer(token: str) -> tuple[str, str]:
    """An ``Authorization: Bearer`` header."""
    return ("authorization", f"Bearer {token}")


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    """Unpadded base64url of compact JSON."""
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unsigned(header: Mapping[str, Any], payload: Any, signature: str = "") -> str:
    """A JWT with the given header and payload and a literal signature part."""
    return f"{b64json(dict(header))}.{b64json(payload)}.{signature}"


def hs256(payload: Mapping[str, Any], secret: bytes) -> str:
    """An HS256-signed JWT (an algorithm Clerk refuses)."""
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT'})}.{b64json(dict(payload))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def without(claims: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """A copy of claims without the named ones."""
    return {key: value for key, value in claims.items() if key not in names}


def prod_token(**kwargs: Any) -> str:
    """A production session token; arguments as ``TestIssuer.session_claims``."""
    return PROD.session_token(**kwargs)


def dev_token(**kwargs: Any) -> str:
    """A development session token."""
    return DEV.session_token(**kwargs)


def prod_signed(**claim_overrides: Any) -> str:
    """A production token whose default claims are replaced/extended by the arguments."""
    claims = PROD.session_claims()
    claims.update(claim_overrides)
    return PROD.sign(claims)


@cache
def _private_key(issuer: TestIssuer) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(issuer.private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def sign_raw(issuer: TestIssuer, header_json: str, payload_json: str) -> str:
    """An RS256 JWT over header and payload JSON written byte for byte as given."""
    signing_input = f"{b64url(header_json.encode())}.{b64url(payload_json.encode())}"
    signature = _private_key(issuer).sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{b64url(signature)}"


def prod_without(*names: str, header: Mapping[str, Any] | None = None) -> str:
    """A production token without the named claims."""
    return PROD.sign(without(PROD.session_claims(), *names), header=header)


# Tokens reused by many cases.
PROD_OK = prod_token()
DEV_OK = dev_token()
PROD_EXPIRED = PROD.expired_token()
DEV_EXPIRED = DEV.expired_token()
PROD_PENDING = PROD.pending_token()
PROD_FORGED = FORGER.session_token()

UAT = str(NOW - 3600)  # a client_uat older than every token's iat (expired ones too)

ORG = OrgClaims(
    id="org_2acme",
    slug="acme",
    role="admin",
    permissions=("manage", "read", "delete"),
    feature_permission_map=(3, 1),
)
ORG_FEATURES = "o:billing,o:dashboard,u:profile"

ORG_HAS: tuple[dict[str, Any], ...] = (
    {"role": "admin"},
    {"role": "org:admin"},
    {"role": "org:org:admin"},
    {"role": "org:member"},
    {"permission": "org:billing:manage"},
    {"permission": "org:billing:read"},
    {"permission": "org:billing:delete"},
    {"permission": "org:dashboard:manage"},
    {"permission": "org:dashboard:read"},
    {"permission": "billing:manage"},
    {"role": "org:admin", "permission": "org:billing:manage"},
    {"role": "org:admin", "permission": "org:dashboard:read"},
    {"feature": "billing"},
    {"feature": "o:billing"},
    {"feature": "org:dashboard"},
    {"feature": "organization:billing"},
    {"feature": "u:billing"},
    {"feature": "profile"},
    {"feature": "u:profile"},
    {"feature": "user:profile"},
    {"feature": "o:profile"},
    {"feature": "x:billing"},
    {"plan": "pro"},
    {"plan": "o:pro"},
    {"plan": "u:pro"},
    {"plan": "free"},
    {"plan": "u:free"},
    {},
)

REVERIFICATION_HAS: tuple[dict[str, Any], ...] = (
    {"reverification": "strict_mfa"},
    {"reverification": "strict"},
    {"reverification": "moderate"},
    {"reverification": "lax"},
    {"reverification": {"level": "first_factor", "afterMinutes": 5}},
    {"reverification": {"level": "first_factor", "afterMinutes": 30}},
    {"reverification": {"level": "second_factor", "afterMinutes": 5}},
    {"reverification": {"level": "second_factor", "afterMinutes": 30}},
    {"reverification": {"level": "multi_factor", "afterMinutes": 5}},
    {"reverification": {"level": "multi_factor", "afterMinutes": 30}},
    {"reverification": {"level": "multi_factor", "afterMinutes": 0}},
    {"reverification": {"level": "third_factor", "afterMinutes": 30}},
    {"reverification": "ultra"},
)


def _build() -> Iterator[Case]:
    prod = prod_options()
    dev = dev_options()

    # ---------------------------------------------------------------- §2.2 Authorization header
    yield Case("header/bearer-valid-prod", prod, headers=(bearer(PROD_OK),))
    yield Case("header/bearer-valid-dev-no-dev-browser", dev, headers=(bearer(DEV_OK), *DOC))
    yield Case("header/bare-token-valid", prod, headers=(("authorization", PROD_OK),))
    yield Case(
        "header/lowercase-bearer-ignored", prod, headers=(("authorization", f"bearer {PROD_OK}"),)
    )
    yield Case(
        "header/basic-scheme-ignored", prod, headers=(("authorization", "Basic dXNlcjpwYXNz"),)
    )
    yield Case("header/bearer-alone", prod, headers=(("authorization", "Bearer"),))
    yield Case(
        "header/bearer-double-space", prod, headers=(("authorization", f"Bearer  {PROD_OK}"),)
    )
    yield Case("header/bearer-garbage", prod, headers=(bearer("not-a-jwt"),))
    yield Case("header/bare-garbage", prod, headers=(("authorization", "garbage"),))
    yield Case("header/two-parts", prod, headers=(bearer("eyJhbGciOiJSUzI1NiJ9.e30"),))
    yield Case("header/four-parts", prod, headers=(bearer(PROD_OK + ".extra"),))
    yield Case(
        "header/undecodable-payload", prod, headers=(bearer("eyJhbGciOiJSUzI1NiJ9.!!!.c2ln"),)
    )
    yield Case(
        "header/payload-not-json",
        prod,
        headers=(bearer(f"{b64json({'alg': 'RS256'})}.{b64url(b'not json')}.c2ln"),),
    )
    yield Case("header/empty-value", prod, headers=(("authorization", ""),))
    yield Case(
        "header/invalid-header-wins-over-valid-cookie",
        prod,
        headers=(bearer("not-a-jwt"), cookie(("__session", PROD_OK), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "header/valid-header-ignores-expired-cookie",
        prod,
        headers=(bearer(PROD_OK), cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "header/ignores-handshake-and-dev-browser-params",
        dev,
        url=f"{DASHBOARD}?__clerk_db_jwt=dvb_x&__clerk_handshake=junk",
        headers=(bearer(DEV_OK), *DOC),
    )
    yield Case("header/expired-document-get-handshakes", prod, headers=(bearer(PROD_EXPIRED), *DOC))
    yield Case("header/expired-api-get-signed-out", prod, headers=(bearer(PROD_EXPIRED), *API))
    yield Case(
        "header/expired-post-signed-out", prod, method="POST", headers=(bearer(PROD_EXPIRED), *DOC)
    )
    yield Case(
        "header/expired-prefers-cookie-token-in-handshake-url",
        prod,
        headers=(
            bearer(PROD_EXPIRED),
            cookie(("__session", PROD.expired_token("user_cookie"))),
            *DOC,
        ),
    )
    yield Case(
        "header/nbf-future-document",
        prod,
        headers=(bearer(prod_token(not_before=NOW + 60)), *DOC),
    )
    yield Case(
        "header/iat-future-api",
        prod,
        headers=(bearer(prod_token(issued_at=NOW + 60, not_before=NOW - 10)), *API),
    )
    yield Case("header/pending", prod, headers=(bearer(PROD_PENDING),))
    yield Case(
        "header/machine-jwt-sub-mch",
        prod,
        headers=(bearer(PROD.sign({**PROD.session_claims(), "sub": "mch_2machine"})),),
    )
    yield Case(
        "header/oauth-jwt-typ-at-jwt",
        prod,
        headers=(bearer(PROD.sign(PROD.session_claims(), header={"typ": "at+jwt"})),),
    )
    yield Case(
        "header/oauth-jwt-typ-application-at-jwt",
        prod,
        headers=(bearer(PROD.sign(PROD.session_claims(), header={"typ": "application/at+jwt"})),),
    )
    for label, category in (
        ("session", "cl_B7d4PD111AAA"),
        ("ignore", "cl_I7d4PD111III"),
        ("m2m", "cl_B7d4PD333AAA"),
        ("foreign", "cl_Z9zzZZ999ZZZ"),
    ):
        token = PROD.sign(PROD.session_claims(), header={"cat": category})
        yield Case(f"header/cat-{label}", prod, headers=(bearer(token),))
        yield Case(
            f"cookie/cat-{label}",
            prod,
            headers=(cookie(("__session", token), ("__client_uat", UAT)), *DOC),
        )
    yield Case(
        "header/org-sync-not-applied",
        prod_options(organizationSyncOptions={"organizationPatterns": ["/orgs/:slug"]}),
        url=f"{APP}/orgs/other",
        headers=(bearer(prod_token(org=ORG)), *DOC),
    )

    # ---------------------------------------------------------------- §4 verification
    yield Case("verify/invalid-signature-header", prod, headers=(bearer(PROD_FORGED),))
    yield Case(
        "verify/invalid-signature-cookie",
        prod,
        headers=(cookie(("__session", PROD_FORGED), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "verify/signature-tampered-payload",
        prod,
        headers=(
            bearer(
                f"{PROD_OK.split('.')[0]}.{b64json({**PROD.session_claims(), 'sub': 'user_evil'})}"
                f".{PROD_OK.split('.')[2]}"
            ),
        ),
    )
    yield Case(
        "verify/alg-none",
        prod,
        headers=(bearer(unsigned({"alg": "none", "typ": "JWT"}, PROD.session_claims())),),
    )
    yield Case(
        "verify/alg-hs256-secret",
        prod,
        headers=(bearer(hs256(PROD.session_claims(), b"secret")),),
    )
    yield Case(
        "verify/alg-hs256-with-public-key-bytes",
        prod,
        headers=(bearer(hs256(PROD.session_claims(), PROD.jwt_key.encode())),),
    )
    yield Case(
        "verify/alg-es256-label",
        prod,
        headers=(bearer(unsigned({"alg": "ES256", "typ": "JWT"}, PROD.session_claims(), "c2ln")),),
    )
    yield Case("verify/alg-rs384", prod, headers=(bearer(prod_token(alg="RS384")),))
    yield Case("verify/alg-rs512", prod, headers=(bearer(prod_token(alg="RS512")),))
    yield Case(
        "verify/typ-jws",
        prod,
        headers=(bearer(PROD.sign(PROD.session_claims(), header={"typ": "JWS"})),),
    )
    yield Case(
        "verify/typ-lowercase-jwt",
        prod,
        headers=(bearer(PROD.sign(PROD.session_claims(), header={"typ": "jwt"})),),
    )
    yield Case(
        "verify/typ-absent",
        prod,
        headers=(bearer(PROD.sign(PROD.session_claims(), header={"typ": None})),),
    )
    yield Case(
        "verify/kid-ignored-with-jwt-key",
        prod,
        headers=(bearer(PROD.sign(PROD.session_claims(), header={"kid": "ins_other"})),),
    )
    yield Case(
        "verify/kid-absent",
        prod,
        headers=(bearer(PROD.sign(PROD.session_claims(), header={"kid": None})),),
    )
    yield Case("verify/sub-missing", prod, headers=(bearer(prod_without("sub")),))
    yield Case("verify/sub-number", prod, headers=(bearer(prod_signed(sub=123)),))
    yield Case("verify/sub-empty-string", prod, headers=(bearer(prod_signed(sub="")),))
    yield Case("verify/sid-missing", prod, headers=(bearer(prod_token(session_id=None)),))
    yield Case("verify/exp-missing", prod, headers=(bearer(prod_without("exp")),))
    yield Case("verify/exp-string", prod, headers=(bearer(prod_signed(exp=str(NOW + 60))),))
    yield Case("verify/exp-float", prod, headers=(bearer(prod_signed(exp=NOW + 60.5)),))
    yield Case("verify/nbf-string", prod, headers=(bearer(prod_signed(nbf="soon")),))
    yield Case("verify/iat-string", prod, headers=(bearer(prod_signed(iat="then")),))
    yield Case("verify/iat-missing", prod, headers=(bearer(prod_without("iat")),))
    yield Case("verify/nbf-missing", prod, headers=(bearer(prod_without("nbf")),))
    yield Case(
        "verify/exp-boundary-now-minus-5s-expired",
        prod,
        headers=(bearer(prod_token(issued_at=NOW - 65, lifetime=60)), *API),
    )
    yield Case(
        "verify/exp-boundary-now-minus-4s-valid",
        prod,
        headers=(bearer(prod_token(issued_at=NOW - 64, lifetime=60)),),
    )
    yield Case(
        "verify/exp-now-with-zero-skew",
        prod_options(clockSkewInMs=0),
        headers=(bearer(prod_token(issued_at=NOW - 60, lifetime=60)), *API),
    )
    yield Case(
        "verify/exp-just-after-now-zero-skew",
        prod_options(clockSkewInMs=0),
        headers=(bearer(prod_token(issued_at=NOW - 59, lifetime=60)),),
    )
    yield Case(
        "verify/expired-within-large-skew",
        prod_options(clockSkewInMs=120_000),
        headers=(bearer(PROD_EXPIRED),),
    )
    yield Case(
        "verify/exp-boundary-milliseconds",
        prod,
        now_ms=NOW_MS + 5_001,
        headers=(bearer(prod_token(issued_at=NOW - 60, lifetime=60)), *API),
    )
    yield Case(
        "verify/nbf-now-plus-5s-valid",
        prod,
        headers=(bearer(prod_token(not_before=NOW + 5)),),
    )
    yield Case(
        "verify/nbf-now-plus-6s-not-active",
        prod,
        headers=(bearer(prod_token(not_before=NOW + 6)), *API),
    )
    yield Case(
        "verify/iat-now-plus-6s-future",
        prod,
        headers=(bearer(prod_token(issued_at=NOW + 6, not_before=NOW - 10)), *API),
    )
    yield Case(
        "verify/iat-now-plus-5s-valid",
        prod,
        headers=(bearer(prod_token(issued_at=NOW + 5, not_before=NOW - 10)),),
    )
    ok_azp = prod_token(azp=APP)
    yield Case(
        "verify/azp-authorized",
        prod_options(authorizedParties=[APP, "https://admin.example.com"]),
        headers=(bearer(ok_azp),),
    )
    yield Case(
        "verify/azp-unauthorized",
        prod_options(authorizedParties=[APP, "https://admin.example.com"]),
        headers=(bearer(prod_token(azp="https://evil.example.com")),),
    )
    yield Case(
        "verify/azp-missing",
        prod_options(authorizedParties=[APP]),
        headers=(bearer(prod_token(azp=None)),),
    )
    yield Case(
        "verify/azp-trailing-slash",
        prod_options(authorizedParties=[APP]),
        headers=(bearer(prod_token(azp=APP + "/")),),
    )
    yield Case(
        "verify/azp-missing-no-parties-cookie",
        prod,
        headers=(cookie(("__session", prod_token(azp=None)), ("__client_uat", UAT)),),
    )
    yield Case(
        "verify/aud-match",
        prod_options(audience="aud_app"),
        headers=(bearer(prod_signed(aud="aud_app")),),
    )
    yield Case(
        "verify/aud-mismatch",
        prod_options(audience="aud_app"),
        headers=(bearer(prod_signed(aud="aud_other")),),
    )
    yield Case(
        "verify/aud-list-in-token",
        prod_options(audience="aud_app"),
        headers=(bearer(prod_signed(aud=["aud_other", "aud_app"])),),
    )
    yield Case(
        "verify/aud-list-option",
        prod_options(audience=["aud_x", "aud_app"]),
        headers=(bearer(prod_signed(aud="aud_app")),),
    )
    yield Case(
        "verify/aud-list-both-disjoint",
        prod_options(audience=["aud_x", "aud_y"]),
        headers=(bearer(prod_signed(aud=["aud_app", "aud_z"])),),
    )
    yield Case(
        "verify/aud-option-token-without-aud",
        prod_options(audience="aud_app"),
        headers=(bearer(PROD_OK),),
    )
    yield Case(
        "verify/aud-in-token-no-option",
        prod,
        headers=(bearer(prod_signed(aud="aud_any")),),
    )
    yield Case(
        "verify/iss-option-match",
        prod_options(issuer=PROD.issuer),
        headers=(bearer(PROD_OK),),
    )
    yield Case(
        "verify/iss-option-mismatch",
        prod_options(issuer="https://clerk.other.com"),
        headers=(bearer(PROD_OK),),
    )
    yield Case(
        "verify/iss-option-list",
        prod_options(issuer=["https://clerk.other.com", PROD.issuer]),
        headers=(bearer(PROD_OK),),
    )
    yield Case(
        "verify/iss-foreign-not-checked-by-default",
        prod,
        headers=(bearer(prod_signed(iss="https://clerk.somewhere-else.com")),),
    )
    yield Case(
        "verify/jwt-null-header",
        prod,
        headers=(bearer(f"bnVsbA.{b64json(PROD.session_claims())}.c2ln"),),
    )
    yield Case(
        "verify/jwt-null-payload",
        prod,
        headers=(bearer(f"{b64json({'alg': 'RS256'})}.bnVsbA.c2ln"),),
    )
    yield Case(
        "verify/jwt-key-4096-bit",
        {
            "publishableKey": BIG_KEY.publishable_key,
            "secretKey": BIG_KEY.secret_key,
            "jwtKey": BIG_KEY.jwt_key,
        },
        headers=(bearer(BIG_KEY.session_token()),),
    )

    # ---------------------------------------------------------------- §2.3 cookie parsing
    yield Case(
        "cookie/valid-prod",
        prod,
        headers=(cookie(("__session", PROD_OK), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "cookie/valid-dev",
        dev,
        headers=(
            cookie(("__session", DEV_OK), ("__client_uat", UAT), ("__clerk_db_jwt", DB_JWT)),
            *DOC,
        ),
    )
    yield Case(
        "cookie/duplicate-session-first-wins-invalid-first",
        prod,
        headers=(
            cookie(("__session", "garbage"), ("__session", PROD_OK), ("__client_uat", UAT)),
            *API,
        ),
    )
    yield Case(
        "cookie/duplicate-session-first-wins-valid-first",
        prod,
        headers=(
            cookie(("__session", PROD_OK), ("__session", "garbage"), ("__client_uat", UAT)),
            *API,
        ),
    )
    yield Case(
        "cookie/quoted-session-value",
        prod,
        headers=(cookie(("__session", f'"{PROD_OK}"'), ("__client_uat", UAT)), *API),
    )
    yield Case(
        "cookie/quoted-client-uat",
        prod,
        headers=(cookie(("__session", PROD_OK), ("__client_uat", f'"{UAT}"')), *API),
    )
    yield Case(
        "cookie/percent-encoded-values",
        prod,
        headers=(
            cookie(
                ("__session", quote(PROD_OK, safe="")),
                ("__client_uat", "".join(f"%{ord(c):02X}" for c in UAT)),
            ),
            *API,
        ),
    )
    yield Case(
        "cookie/percent-encoded-session-chars",
        prod,
        headers=(cookie(("__session", PROD_OK.replace(".", "%2E")), ("__client_uat", UAT)), *API),
    )
    yield Case(
        "cookie/invalid-percent-in-unrelated-cookie",
        prod,
        headers=(cookie(("odd", "%zz%"), ("__session", PROD_OK), ("__client_uat", UAT)), *API),
    )
    yield Case(
        "cookie/json-and-spaces-in-unrelated-cookies",
        prod,
        headers=(
            cookie(
                ("prefs", '{"theme":"dark","n":[1,2]}'),
                ("greeting", "hello world"),
                ("__session", PROD_OK),
                ("__client_uat", UAT),
            ),
            *API,
        ),
    )
    yield Case(
        "cookie/junk-segments",
        prod,
        headers=(
            ("cookie", f";;  ; =; novalue; ==x; \t__session = {PROD_OK} \t; __client_uat={UAT};"),
            *API,
        ),
    )
    yield Case(
        "cookie/name-case-sensitive",
        prod,
        headers=(cookie(("__Session", PROD_OK), ("__Client_uat", UAT)), *DOC),
    )
    yield Case(
        "cookie/empty-session-with-uat",
        prod,
        headers=(cookie(("__session", ""), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "cookie/garbage-session-with-uat",
        prod,
        headers=(cookie(("__session", "garbage"), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "cookie/unicode-junk",
        prod,
        headers=(
            cookie(("x", "%E2%82%AC%FF"), ("__session", PROD_OK), ("__client_uat", UAT)),
            *API,
        ),
    )

    # ---------------------------------------------------------------- §2.3 __client_uat parseInt
    for label, uat in (
        ("hex", "0x10"),
        ("trailing-junk", "123abc"),
        ("decimal", "1.9"),
        ("negative", "-5"),
        ("junk", "junk"),
        ("zero", "0"),
        ("leading-space-plus", "+42"),
        ("exponent", "1e3"),
        ("equal-to-iat", str(NOW)),
        ("after-iat", str(NOW + 1)),
        ("far-future", "99999999999"),
    ):
        yield Case(
            f"uat/{label}-with-session",
            prod,
            headers=(cookie(("__session", PROD_OK), ("__client_uat", uat)), *DOC),
        )
    for label, uat in (("negative", "-5"), ("junk", "junk"), ("zero", "0"), ("hex", "0x10")):
        yield Case(
            f"uat/{label}-without-session", prod, headers=(cookie(("__client_uat", uat)), *DOC)
        )
    yield Case(
        "uat/missing-with-session-document", prod, headers=(cookie(("__session", PROD_OK)), *DOC)
    )
    yield Case("uat/missing-with-session-api", prod, headers=(cookie(("__session", PROD_OK)), *API))
    yield Case(
        "uat/missing-with-session-post",
        prod,
        method="POST",
        headers=(cookie(("__session", PROD_OK)), *DOC),
    )

    # ---------------------------------------------------------------- §5 cookie flow
    yield Case("flow/no-cookies-document", prod, headers=DOC)
    yield Case("flow/no-headers-at-all", prod)
    yield Case("flow/no-cookies-post", prod, method="POST")
    yield Case(
        "flow/uat-without-session-document",
        prod,
        headers=(cookie(("__client_uat", UAT)), *DOC),
    )
    yield Case("flow/uat-without-session-api", prod, headers=(cookie(("__client_uat", UAT)), *API))
    yield Case(
        "flow/machine-jwt-in-cookie",
        prod,
        headers=(
            cookie(
                ("__session", PROD.sign({**PROD.session_claims(), "sub": "mch_1"})),
                ("__client_uat", UAT),
            ),
            *DOC,
        ),
    )
    yield Case(
        "flow/oauth-jwt-in-cookie",
        prod,
        headers=(
            cookie(
                ("__session", PROD.sign(PROD.session_claims(), header={"typ": "at+jwt"})),
                ("__client_uat", UAT),
            ),
            *DOC,
        ),
    )
    yield Case(
        "flow/iat-before-client-uat-document",
        prod,
        headers=(cookie(("__session", PROD_OK), ("__client_uat", str(NOW + 30))), *DOC),
    )
    yield Case(
        "flow/iat-before-client-uat-post",
        prod,
        method="POST",
        headers=(cookie(("__session", PROD_OK), ("__client_uat", str(NOW + 30))), *DOC),
    )
    yield Case(
        "flow/iat-before-client-uat-wins-over-bad-signature",
        prod,
        headers=(cookie(("__session", PROD_FORGED), ("__client_uat", str(NOW + 30))), *DOC),
    )
    yield Case(
        "flow/iat-before-client-uat-wins-over-expiry",
        prod,
        headers=(cookie(("__session", PROD_EXPIRED), ("__client_uat", str(NOW))), *DOC),
    )
    yield Case(
        "flow/expired-document",
        prod,
        headers=(cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "flow/expired-iframe",
        prod,
        headers=(
            cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)),
            ("sec-fetch-dest", "iframe"),
        ),
    )
    yield Case(
        "flow/expired-no-fetch-dest-accept-html",
        prod,
        headers=(
            cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)),
            ("accept", "text/html"),
        ),
    )
    yield Case(
        "flow/expired-no-fetch-dest-accept-html-not-first",
        prod,
        headers=(
            cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)),
            ("accept", "application/json, text/html"),
        ),
    )
    yield Case(
        "flow/expired-fetch-dest-empty-accept-html",
        prod,
        headers=(
            cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)),
            ("sec-fetch-dest", "empty"),
            ("accept", "text/html"),
        ),
    )
    yield Case(
        "flow/expired-no-hints",
        prod,
        headers=(cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)),),
    )
    yield Case(
        "flow/expired-head",
        prod,
        method="HEAD",
        headers=(cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "flow/expired-post",
        prod,
        method="POST",
        headers=(cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "flow/expired-post-with-refresh-cookie",
        prod,
        method="POST",
        headers=(
            cookie(
                ("__session", PROD_EXPIRED),
                ("__client_uat", UAT),
                (f"__refresh_{PROD_SUFFIX}", "rt_abc"),
            ),
            *DOC,
        ),
    )
    yield Case(
        "flow/expired-get-unsuffixed-refresh-cookie-ignored",
        prod,
        headers=(
            cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT), ("__refresh", "rt_abc")),
            *DOC,
        ),
    )
    yield Case(
        "flow/nbf-document",
        prod,
        headers=(
            cookie(("__session", prod_token(not_before=NOW + 60)), ("__client_uat", UAT)),
            *DOC,
        ),
    )
    yield Case(
        "flow/nbf-api",
        prod,
        headers=(
            cookie(("__session", prod_token(not_before=NOW + 60)), ("__client_uat", UAT)),
            *API,
        ),
    )
    yield Case(
        "flow/iat-future-document",
        prod,
        headers=(
            cookie(
                ("__session", prod_token(issued_at=NOW + 60, not_before=NOW - 10)),
                ("__client_uat", UAT),
            ),
            *DOC,
        ),
    )
    yield Case(
        "flow/azp-unauthorized-cookie",
        prod_options(authorizedParties=[APP]),
        headers=(cookie(("__session", PROD_OK), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "flow/pending-cookie",
        prod,
        headers=(cookie(("__session", PROD_PENDING), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "flow/query-string-kept-in-handshake-url",
        prod,
        url=f"{DASHBOARD}?tab=billing&q=a%20b&empty=&x=1&x=2&plus=a+b&enc=%2F%3F%26",
        headers=(cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "flow/proxy-url-absolute",
        prod_options(proxyUrl="https://app.example.com/__clerk/"),
        headers=(cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "flow/proxy-url-relative",
        prod_options(proxyUrl="/__clerk"),
        headers=(cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "flow/proxy-url-http",
        prod_options(proxyUrl="http://proxy.example.com/fapi"),
        headers=(cookie(("__client_uat", UAT)), *DOC),
    )

    # ---------------------------------------------------------------- §7.2 redirect-loop counter
    for count in ("0", "1", "2", "3", "4", "junk", "3.0"):
        yield Case(
            f"loop/redirect-count-{count}",
            prod,
            headers=(
                cookie(
                    ("__session", PROD_EXPIRED),
                    ("__client_uat", UAT),
                    ("__clerk_redirect_count", count),
                ),
                *DOC,
            ),
        )
    yield Case(
        "loop/redirect-count-3-uat-without-session",
        prod,
        headers=(cookie(("__client_uat", UAT), ("__clerk_redirect_count", "3")), *DOC),
    )

    # ---------------------------------------------------------------- §2.1 forwarded URL
    yield Case(
        "url/x-forwarded-host-and-proto",
        prod,
        url="http://10.0.0.5:8000/dashboard?x=1",
        headers=(
            ("x-forwarded-host", "app.example.com"),
            ("x-forwarded-proto", "https"),
            cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)),
            *DOC,
        ),
    )
    yield Case(
        "url/x-forwarded-lists-take-first",
        prod,
        url="http://10.0.0.5:8000/dashboard",
        headers=(
            ("x-forwarded-host", "app.example.com,proxy.internal"),
            ("x-forwarded-proto", "https,http"),
            cookie(("__client_uat", UAT)),
            *DOC,
        ),
    )
    yield Case(
        "url/host-header-only",
        prod,
        url="http://10.0.0.5:8000/dashboard",
        headers=(("host", "app.example.com:8443"), cookie(("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "url/forwarded-proto-only",
        prod,
        url="http://app.example.com/dashboard",
        headers=(("x-forwarded-proto", "https"), cookie(("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "url/forwarded-host-with-port",
        prod,
        url="http://10.0.0.5:8000/a/b?c=d",
        headers=(
            ("x-forwarded-host", "app.example.com:8443"),
            ("x-forwarded-proto", "https"),
            cookie(("__client_uat", UAT)),
            *DOC,
        ),
    )
    yield Case(
        "url/same-origin-host-header",
        prod,
        headers=(("host", "app.example.com"), cookie(("__client_uat", UAT)), *DOC),
    )

    # ---------------------------------------------------------------- §5.13 cross-origin referrer
    signed_in = cookie(("__session", PROD_OK), ("__client_uat", UAT))
    for label, referer in (
        ("cross-site", "https://news.example.org/article"),
        ("same-origin", f"{APP}/home"),
        ("other-port", "https://app.example.com:8443/"),
        ("http-scheme", "http://app.example.com/"),
        ("frontend-api", "https://clerk.example.com/v1/client"),
        ("accounts-portal", "https://accounts.example.com/sign-in"),
        ("unparsable", "not a url"),
        ("subdomain", "https://www.example.com/"),
    ):
        yield Case(f"referrer/{label}", prod, headers=(signed_in, *DOC, ("referer", referer)))
    yield Case(
        "referrer/cross-site-iframe",
        prod,
        headers=(signed_in, ("sec-fetch-dest", "iframe"), ("referer", "https://news.example.org/")),
    )
    yield Case(
        "referrer/cross-site-post",
        prod,
        method="POST",
        headers=(signed_in, *DOC, ("referer", "https://news.example.org/")),
    )
    yield Case(
        "referrer/cross-site-counter-1",
        prod,
        headers=(
            cookie(("__session", PROD_OK), ("__client_uat", UAT), ("__clerk_redirect_count", "1")),
            *DOC,
            ("referer", "https://news.example.org/"),
        ),
    )
    yield Case(
        "referrer/cross-site-no-fetch-dest",
        prod,
        headers=(signed_in, ("accept", "text/html"), ("referer", "https://news.example.org/")),
    )
    dev_signed_in = cookie(("__session", DEV_OK), ("__client_uat", UAT), ("__clerk_db_jwt", DB_JWT))
    for label, referer in (
        ("dev-cross-site", "https://news.example.org/"),
        ("dev-accounts-dev", "https://happy-hippo-1.accounts.dev/sign-in"),
        ("dev-frontend-api", "https://happy-hippo-1.clerk.accounts.dev/"),
        ("dev-other-accounts-dev", "https://other-app-9.accounts.dev/"),
        ("dev-lcl", "https://accounts.foo.lcl.dev/"),
        ("dev-clerk-accounts-dev", "https://x.clerk.accounts.dev/"),
    ):
        yield Case(f"referrer/{label}", dev, headers=(dev_signed_in, *DOC, ("referer", referer)))
    yield Case(
        "referrer/prod-other-accounts-dev-not-exempt",
        prod,
        headers=(signed_in, *DOC, ("referer", "https://other-app-9.accounts.dev/")),
    )

    # ---------------------------------------------------------------- §5 development instance
    yield Case("dev/dev-browser-missing-document", dev, headers=DOC)
    yield Case("dev/dev-browser-missing-api", dev, headers=API)
    yield Case(
        "dev/dev-browser-missing-with-session",
        dev,
        headers=(cookie(("__session", DEV_OK), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "dev/dev-browser-sync-query",
        dev,
        url=f"{DASHBOARD}?__clerk_db_jwt=dvb_fromquery&keep=1",
        headers=(cookie(("__session", DEV_OK), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "dev/dev-browser-sync-query-api",
        dev,
        url=f"{DASHBOARD}?__clerk_db_jwt=dvb_fromquery",
        headers=API,
    )
    yield Case(
        "dev/dev-browser-cookie-no-session", dev, headers=(cookie(("__clerk_db_jwt", DB_JWT)), *DOC)
    )
    yield Case(
        "dev/dev-browser-suffixed-cookie",
        dev,
        headers=(
            cookie(
                (f"__session_{DEV_SUFFIX}", DEV_OK),
                (f"__client_uat_{DEV_SUFFIX}", UAT),
                (f"__clerk_db_jwt_{DEV_SUFFIX}", DB_JWT),
            ),
            *DOC,
        ),
    )
    yield Case(
        "dev/expired-handshake-carries-dev-browser",
        dev,
        url=f"{DASHBOARD}?a=1",
        headers=(
            cookie(("__session", DEV_EXPIRED), ("__client_uat", UAT), ("__clerk_db_jwt", DB_JWT)),
            *DOC,
        ),
    )
    yield Case(
        "dev/uat-without-session",
        dev,
        headers=(cookie(("__client_uat", UAT), ("__clerk_db_jwt", DB_JWT)), *DOC),
    )
    yield Case(
        "dev/primary-responds-to-syncing",
        dev,
        url=f"{APP}/sync?__clerk_redirect_url={quote('https://sat.example.org/page?x=1', safe='')}",
        headers=(cookie(("__clerk_db_jwt", DB_JWT)), *DOC),
    )
    yield Case(
        "dev/primary-responds-to-syncing-replaces-synced-false",
        dev,
        url=(
            f"{APP}/sync?__clerk_redirect_url="
            f"{quote('https://sat.example.org/page?__clerk_synced=false', safe='')}"
        ),
        headers=(
            cookie(("__session", DEV_OK), ("__client_uat", UAT), ("__clerk_db_jwt", DB_JWT)),
            *DOC,
        ),
    )
    yield Case(
        "dev/primary-responds-to-syncing-no-dev-browser",
        dev,
        url=f"{APP}/sync?__clerk_redirect_url={quote('https://sat.example.org/', safe='')}",
        method="POST",
    )
    yield Case(
        "prod/redirect-url-param-ignored-in-production",
        prod,
        url=f"{APP}/sync?__clerk_redirect_url={quote('https://sat.example.org/', safe='')}",
        headers=DOC,
    )
    yield Case(
        "prod/dev-browser-param-ignored-in-production",
        prod,
        url=f"{DASHBOARD}?__clerk_db_jwt=dvb_x",
        headers=(cookie(("__session", PROD_OK), ("__client_uat", UAT)), *DOC),
    )

    # ---------------------------------------------------------------- §5.2 satellites
    dev_sat = dev_options(isSatellite=True, domain="sat.example.org", signInUrl=f"{APP}/sign-in")
    prod_sat = prod_options(isSatellite=True, domain="sat.example.org")
    sat_url = "https://sat.example.org/page?x=1"
    yield Case("satellite/dev-no-cookies-document", dev_sat, url=sat_url, headers=DOC)
    yield Case(
        "satellite/dev-no-cookies-auto-sync",
        {**dev_sat, "satelliteAutoSync": True},
        url=sat_url,
        headers=DOC,
    )
    yield Case(
        "satellite/dev-synced-false",
        dev_sat,
        url=f"{sat_url}&__clerk_synced=false",
        headers=DOC,
    )
    yield Case(
        "satellite/dev-synced-true",
        {**dev_sat, "satelliteAutoSync": True},
        url=f"{sat_url}&__clerk_synced=true",
        headers=DOC,
    )
    yield Case(
        "satellite/dev-auto-sync-iframe",
        {**dev_sat, "satelliteAutoSync": True},
        url=sat_url,
        headers=(("sec-fetch-dest", "iframe"),),
    )
    yield Case(
        "satellite/dev-with-cookies",
        {**dev_sat, "satelliteAutoSync": True},
        url=sat_url,
        headers=(
            cookie(("__session", DEV_OK), ("__client_uat", UAT), ("__clerk_db_jwt", DB_JWT)),
            *DOC,
        ),
    )
    yield Case(
        "satellite/dev-cross-site-referrer-no-handshake",
        dev_sat,
        url=sat_url,
        headers=(
            cookie(("__session", DEV_OK), ("__client_uat", UAT), ("__clerk_db_jwt", DB_JWT)),
            *DOC,
            ("referer", "https://news.example.org/"),
        ),
    )
    yield Case(
        "satellite/dev-synced-false-counter-3",
        dev_sat,
        url=f"{sat_url}&__clerk_synced=false",
        headers=(cookie(("__clerk_redirect_count", "3")), *DOC),
    )
    yield Case("satellite/prod-no-cookies-document", prod_sat, url=sat_url, headers=DOC)
    yield Case(
        "satellite/prod-no-cookies-auto-sync",
        {**prod_sat, "satelliteAutoSync": True},
        url=sat_url,
        headers=DOC,
    )
    yield Case(
        "satellite/prod-synced-false-post",
        prod_sat,
        url=f"{sat_url}&__clerk_synced=false",
        method="POST",
    )
    yield Case(
        "satellite/prod-synced-false",
        prod_sat,
        url=f"{sat_url}&__clerk_synced=false",
        headers=DOC,
    )
    yield Case(
        "satellite/prod-synced-false-counter-3",
        prod_sat,
        url=f"{sat_url}&__clerk_synced=false",
        headers=(cookie(("__clerk_redirect_count", "3")), *DOC),
    )
    yield Case(
        "satellite/prod-unsuffixed-cookies-of-primary-skipped",
        prod_sat,
        url=sat_url,
        headers=(cookie(("__session", PROD_OK), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "satellite/prod-suffixed-cookies",
        prod_sat,
        url=sat_url,
        headers=(
            cookie((f"__session_{PROD_SUFFIX}", PROD_OK), (f"__client_uat_{PROD_SUFFIX}", UAT)),
            *DOC,
        ),
    )
    yield Case(
        "satellite/prod-proxy-url-expired",
        prod_options(isSatellite=True, proxyUrl="https://sat.example.org/__clerk"),
        url=sat_url,
        headers=(
            cookie(
                (f"__session_{PROD_SUFFIX}", PROD_EXPIRED), (f"__client_uat_{PROD_SUFFIX}", UAT)
            ),
            *DOC,
        ),
    )

    # ---------------------------------------------------------------- §2.4 suffixed cookies
    yield from _suffix_cases()

    # ---------------------------------------------------------------- §7.3 handshake consumption
    yield from _handshake_cases()

    # ---------------------------------------------------------------- §9, §10 claims -> auth object
    yield from _claims_cases()

    # ---------------------------------------------------------------- §5.14 organization sync
    yield from _org_sync_cases()

    # ---------------------------------------------------------------- odd inputs of every kind
    yield from _edge_cases()

    # ---------------------------------------------------------------- §1, §3 configuration errors
    yield Case("config/missing-secret-key", {**prod, "secretKey": ""}, headers=DOC)
    yield Case("config/missing-publishable-key", {**prod, "publishableKey": ""}, headers=DOC)
    yield Case(
        "config/publishable-key-bad-prefix", {**prod, "publishableKey": "pk_foo_abc"}, headers=DOC
    )
    yield Case(
        "config/publishable-key-no-dollar",
        {**prod, "publishableKey": "pk_live_" + base64.b64encode(b"clerk.example.com").decode()},
        headers=DOC,
    )
    yield Case(
        "config/publishable-key-no-dot",
        {**prod, "publishableKey": "pk_live_" + base64.b64encode(b"localhost$").decode()},
        headers=DOC,
    )
    yield Case(
        "config/satellite-dev-without-sign-in-url",
        dev_options(isSatellite=True, domain="sat.example.org"),
        url=sat_url,
        headers=DOC,
    )
    yield Case(
        "config/satellite-without-domain-or-proxy",
        prod_options(isSatellite=True),
        url=sat_url,
        headers=DOC,
    )
    yield Case(
        "config/satellite-sign-in-url-relative-no-origin-header",
        {**dev_sat, "signInUrl": "/sign-in"},
        url=sat_url,
        headers=(cookie(("__clerk_db_jwt", DB_JWT)), *API),
    )
    yield Case(
        "config/satellite-sign-in-url-same-origin-as-origin-header",
        {**dev_sat, "signInUrl": "https://sat.example.org/sign-in"},
        url=sat_url,
        headers=(("origin", "https://sat.example.org"), *API),
    )


def _suffix_cases() -> Iterator[Case]:
    """§2.4: which of ``__session`` / ``__session_<suffix>`` is read, rules 1-8.

    The un-suffixed and suffixed tokens name different users, so the chosen one
    shows in ``userId``; expired tokens show it in ``suffixed_cookies=`` of the
    handshake URL.
    """
    prod = prod_options()
    s = PROD_SUFFIX
    # iat order: plain (NOW-300) < suffixed (NOW-200) < suffixed_expired (NOW-150)
    # < newer_plain (NOW-100), so rule 4 picks exactly where a case wants it to.
    plain = PROD.session_token("user_plain", issued_at=NOW - 300, lifetime=3600)
    suffixed = PROD.session_token("user_suffixed", issued_at=NOW - 200, lifetime=3600)
    suffixed_expired = PROD.session_token("user_suffixed", issued_at=NOW - 150, lifetime=60)
    newer_plain = PROD.session_token("user_plain", issued_at=NOW - 100, lifetime=3600)
    old_uat = UAT

    def c(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        return (cookie(*pairs), *DOC)

    # Rule 1: un-suffixed session undecodable, or decodable without iss.
    yield Case(
        "suffix/rule1-unsuffixed-undecodable",
        prod,
        headers=c(
            ("__session", "garbage"),
            ("__client_uat", old_uat),
            (f"__session_{s}", suffixed),
            (f"__client_uat_{s}", old_uat),
        ),
    )
    no_iss = PROD.sign(without(PROD.session_claims("user_no_iss"), "iss"))
    yield Case(
        "suffix/rule1-unsuffixed-without-iss",
        prod,
        headers=c(
            ("__session", no_iss),
            ("__client_uat", old_uat),
            (f"__session_{s}", suffixed),
            (f"__client_uat_{s}", old_uat),
        ),
    )
    # Rule 2: un-suffixed session of another instance.
    foreign = PROD.sign({**PROD.session_claims("user_foreign"), "iss": "https://clerk.other.com"})
    yield Case(
        "suffix/rule2-unsuffixed-foreign-iss",
        prod,
        headers=c(
            ("__session", foreign),
            ("__client_uat", old_uat),
            (f"__session_{s}", suffixed),
            (f"__client_uat_{s}", old_uat),
        ),
    )
    yield Case(
        "suffix/rule2-unsuffixed-foreign-iss-no-suffixed",
        prod,
        headers=c(("__session", foreign), ("__client_uat", old_uat)),
    )
    http_iss = PROD.sign(
        {**PROD.session_claims("user_http_iss"), "iss": "http://clerk.example.com"}
    )
    yield Case(
        "suffix/rule2-iss-scheme-stripped",
        prod,
        headers=c(
            ("__session", http_iss),
            ("__client_uat", old_uat),
            (f"__session_{s}", suffixed),
            (f"__client_uat_{s}", old_uat),
        ),
    )
    # Rule 3: no suffixed cookies at all.
    yield Case(
        "suffix/rule3-only-unsuffixed",
        prod,
        headers=c(("__session", plain), ("__client_uat", old_uat)),
    )
    yield Case(
        "suffix/only-suffixed",
        prod,
        headers=c((f"__session_{s}", suffixed), (f"__client_uat_{s}", old_uat)),
    )
    yield Case(
        "suffix/only-suffixed-uat",
        prod,
        headers=c(
            (f"__client_uat_{s}", old_uat),
        ),
    )
    # Rule 4: both uats non-'0' and the un-suffixed session is newer.
    yield Case(
        "suffix/rule4-unsuffixed-newer",
        prod,
        headers=c(
            ("__session", newer_plain),
            ("__client_uat", old_uat),
            (f"__session_{s}", suffixed),
            (f"__client_uat_{s}", old_uat),
        ),
    )
    yield Case(
        "suffix/rule4-suffixed-newer",
        prod,
        headers=c(
            ("__session", plain),
            ("__client_uat", old_uat),
            (f"__session_{s}", suffixed),
            (f"__client_uat_{s}", old_uat),
        ),
    )
    yield Case(
        "suffix/rule4-unsuffixed-newer-uat-missing",
        prod,
        headers=c(
            ("__session", newer_plain),
            (f"__session_{s}", suffixed),
            (f"__client_uat_{s}", old_uat),
        ),
    )
    # Rule 5: suffixed uat '0', un-suffixed not.
    yield Case(
        "suffix/rule5-suffixed-uat-zero",
        prod,
        headers=c(
            ("__session", plain),
            ("__client_uat", old_uat),
            (f"__session_{s}", suffixed),
            (f"__client_uat_{s}", "0"),
        ),
    )
    yield Case(
        "suffix/rule5-both-uat-zero",
        prod,
        headers=c(
            ("__session", plain),
            ("__client_uat", "0"),
            (f"__session_{s}", suffixed),
            (f"__client_uat_{s}", "0"),
        ),
    )
    # Rule 6: development only: suffixed expired, un-suffixed uat '0'.
    dev_s = DEV_SUFFIX
    dev_plain = DEV.session_token("user_plain", issued_at=NOW - 300, lifetime=3600)
    dev_expired = DEV.session_token("user_suffixed", issued_at=NOW - 150, lifetime=60)
    yield Case(
        "suffix/rule6-dev-suffixed-expired-unsuffixed-uat-zero",
        dev_options(),
        headers=c(
            ("__session", dev_plain),
            ("__client_uat", "0"),
            (f"__session_{dev_s}", dev_expired),
            (f"__client_uat_{dev_s}", old_uat),
            ("__clerk_db_jwt", DB_JWT),
        ),
    )
    yield Case(
        "suffix/rule6-prod-does-not-apply",
        prod,
        headers=c(
            ("__session", plain),
            ("__client_uat", "0"),
            (f"__session_{s}", suffixed_expired),
            (f"__client_uat_{s}", old_uat),
        ),
    )
    # Rule 7: suffixed session without suffixed uat.
    yield Case(
        "suffix/rule7-suffixed-session-without-suffixed-uat",
        prod,
        headers=c(("__session", plain), ("__client_uat", old_uat), (f"__session_{s}", suffixed)),
    )
    yield Case(
        "suffix/rule7-only-suffixed-session",
        prod,
        headers=c(
            (f"__session_{s}", suffixed),
        ),
    )
    # Rule 8: otherwise suffixed.
    yield Case(
        "suffix/rule8-suffixed-uat-only-with-unsuffixed-session",
        prod,
        headers=c(
            ("__session", plain), (f"__session_{s}", suffixed), (f"__client_uat_{s}", old_uat)
        ),
    )
    yield Case(
        "suffix/rule8-suffixed-expired-handshake",
        prod,
        headers=c(
            ("__session", plain),
            ("__client_uat", old_uat),
            (f"__session_{s}", suffixed_expired),
            (f"__client_uat_{s}", old_uat),
        ),
    )
    yield Case(
        "suffix/other-instance-suffix-ignored",
        prod,
        headers=c(("__session_abcdefgh", suffixed), ("__client_uat_abcdefgh", old_uat)),
    )


def _handshake_cases() -> Iterator[Case]:
    """§7.3: a ``__clerk_handshake`` token in the query or a cookie."""
    prod = prod_options()
    dev = dev_options()

    def directives(token: str, *, name: str = "__session") -> list[str]:
        return [
            f"{name}={token}; Path=/; Secure; SameSite=Lax",
            f"__client_uat={NOW}; Path=/; Max-Age=315360000; Secure; SameSite=Lax",
        ]

    prod_hs = PROD.handshake_token(directives(prod_token(user_id="user_hs")))
    dev_hs = DEV.handshake_token(directives(dev_token(user_id="user_hs")))
    url = f"{DASHBOARD}?tab=1&__clerk_handshake="
    yield Case("handshake/prod-query", prod, url=url + prod_hs, headers=DOC)
    yield Case("handshake/dev-query", dev, url=url + dev_hs + "&__clerk_help=1", headers=DOC)
    yield Case(
        "handshake/prod-cookie", prod, headers=(cookie(("__clerk_handshake", prod_hs)), *DOC)
    )
    yield Case(
        "handshake/dev-cookie",
        dev,
        url=f"{DASHBOARD}?__clerk_db_jwt=dvb_q",
        headers=(cookie(("__clerk_handshake", dev_hs)), *API),
    )
    yield Case(
        "handshake/prod-query-post",
        prod,
        method="POST",
        url=url + prod_hs,
        headers=API,
    )
    yield Case(
        "handshake/query-wins-over-cookie",
        prod,
        url=url + prod_hs,
        headers=(cookie(("__clerk_handshake", "garbage")), *DOC),
    )
    suffixed = PROD.handshake_token(
        [
            f"__session={prod_token(user_id='user_plain')}; Path=/",
            f"__session_{PROD_SUFFIX}={prod_token(user_id='user_suffixed')}; Path=/",
            f"__client_uat_{PROD_SUFFIX}={NOW}; Path=/",
        ]
    )
    yield Case("handshake/last-session-directive-wins", prod, url=url + suffixed, headers=DOC)
    sign_out = PROD.handshake_token(
        ["__session=; Path=/; Max-Age=0", "__client_uat=0; Path=/; Max-Age=315360000"]
    )
    yield Case("handshake/prod-sign-out-no-session", prod, url=url + sign_out, headers=DOC)
    dev_sign_out = DEV.handshake_token(["__client_uat=0; Path=/"])
    yield Case("handshake/dev-no-session-directive", dev, url=url + dev_sign_out, headers=DOC)
    yield Case(
        "handshake/prod-pending-session",
        prod,
        url=url + PROD.handshake_token(directives(PROD.pending_token("user_hs"))),
        headers=DOC,
    )
    yield Case(
        "handshake/prod-expired-session-falls-back-to-cookies",
        prod,
        url=url + PROD.handshake_token(directives(PROD.expired_token("user_hs"))),
        headers=(cookie(("__session", PROD_OK), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "handshake/dev-expired-session-one-day-skew",
        dev,
        url=url + DEV.handshake_token(directives(DEV.expired_token("user_hs"))),
        headers=DOC,
    )
    yield Case(
        "handshake/prod-bad-signature-falls-back-to-cookies",
        prod,
        url=url + FORGER.handshake_token(directives(prod_token(user_id="user_hs"))),
        headers=(cookie(("__session", PROD_OK), ("__client_uat", UAT)), *DOC),
    )
    yield Case(
        "handshake/prod-bad-signature-no-cookies",
        prod,
        url=url + FORGER.handshake_token(directives(prod_token(user_id="user_hs"))),
        headers=DOC,
    )
    yield Case(
        "handshake/prod-garbage-token",
        prod,
        url=url + "garbage",
        headers=DOC,
    )
    yield Case(
        "handshake/prod-session-forged-inside-valid-handshake",
        prod,
        url=url + PROD.handshake_token(directives(FORGER.session_token("user_hs"))),
        headers=DOC,
    )
    yield Case(
        "handshake/dev-bad-signature",
        dev,
        url=url + DEV_FORGER.handshake_token(directives(dev_token(user_id="user_hs"))),
        headers=DOC,
    )
    yield Case(
        "handshake/dev-bad-signature-with-dev-browser",
        dev,
        url=url + DEV_FORGER.handshake_token(directives(dev_token(user_id="user_hs"))),
        headers=(cookie(("__clerk_db_jwt", DB_JWT)), *DOC),
    )
    yield Case(
        "handshake/dev-session-forged-inside-valid-handshake",
        dev,
        url=url + DEV.handshake_token(directives(DEV_FORGER.session_token("user_hs"))),
        headers=DOC,
    )
    yield Case(
        "handshake/prod-handshake-jwt-wrong-typ",
        prod,
        url=url + PROD.sign({"handshake": directives(PROD_OK)}, header={"typ": "JWS"}),
        headers=DOC,
    )
    yield Case(
        "handshake/prod-handshake-cookie-with-session-cookies",
        prod,
        headers=(
            cookie(
                (
                    "__clerk_handshake",
                    PROD.handshake_token(directives(prod_token(user_id="user_hs"))),
                ),
                ("__session", PROD_EXPIRED),
                ("__client_uat", UAT),
            ),
            *DOC,
        ),
    )


def _claims_cases() -> Iterator[Case]:
    """§9, §10: how claims become the auth object, and ``has()``."""
    prod = prod_options()

    def signed_in(
        name: str, token: str, has: Sequence[Mapping[str, Any]] = ORG_HAS
    ) -> Iterator[Case]:
        yield Case(f"claims/{name}", prod, headers=(bearer(token),), has_queries=tuple(has))

    yield from signed_in(
        "v2-org-permissions",
        prod_token(org=ORG, features=ORG_FEATURES, plans="u:free,o:pro"),
    )
    yield Case(
        "claims/v2-org-permissions-cookie",
        prod,
        headers=(
            cookie(
                ("__session", prod_token(org=ORG, features=ORG_FEATURES, plans="u:free,o:pro")),
                ("__client_uat", UAT),
            ),
            *DOC,
        ),
        has_queries=ORG_HAS,
    )
    yield from signed_in(
        "v2-role-already-prefixed",
        prod_token(org=OrgClaims(id="org_1", slug="acme", role="org:admin")),
    )
    yield from signed_in(
        "v2-role-empty",
        prod_token(org=OrgClaims(id="org_1", slug="acme", role="")),
    )
    yield from signed_in(
        "v2-big-integer-bitmap",
        prod_token(
            org=OrgClaims(
                id="org_1",
                role="admin",
                permissions=tuple(f"p{i}" for i in range(70)),
                feature_permission_map=(2**69 + 2**64 + 5, 2**3),
            ),
            features="o:billing,ou:dashboard",
        ),
        (
            {"permission": "org:billing:p0"},
            {"permission": "org:billing:p1"},
            {"permission": "org:billing:p2"},
            {"permission": "org:billing:p64"},
            {"permission": "org:billing:p69"},
            {"permission": "org:dashboard:p3"},
            {"feature": "dashboard"},
            {"feature": "u:dashboard"},
        ),
    )
    yield from signed_in(
        "v2-bits-beyond-permissions-ignored",
        prod_token(
            org=OrgClaims(id="org_1", permissions=("read",), feature_permission_map=(7, 1, 1)),
            features="o:billing",
        ),
    )
    yield from signed_in(
        "v2-fpm-not-decimal",
        prod_signed(
            v=2,
            o={"id": "org_1", "slg": "acme", "rol": "admin", "per": "manage,read", "fpm": "x,0b11"},
            fea="o:billing,o:dashboard",
        ),
    )
    yield from signed_in(
        "v2-fpm-missing",
        prod_signed(v=2, o={"id": "org_1", "rol": "admin", "per": "manage"}, fea="o:billing"),
    )
    yield from signed_in(
        "v2-per-missing",
        prod_signed(v=2, o={"id": "org_1", "rol": "admin", "fpm": "3"}, fea="o:billing"),
    )
    yield from signed_in(
        "v2-feature-scopes-ou-uo",
        prod_token(
            org=OrgClaims(id="org_1", permissions=("manage",), feature_permission_map=(1, 1, 1, 1)),
            features=" u:profile , ou:billing,uo:dashboard, o:reports ",
        ),
        (
            *ORG_HAS,
            {"permission": "org:profile:manage"},
            {"permission": "org:reports:manage"},
            {"feature": "u:billing"},
            {"feature": "o:dashboard"},
            {"feature": "reports"},
            {"feature": "u:reports"},
        ),
    )
    yield from signed_in(
        "v2-no-org-claim-but-org-features",
        prod_token(features="o:billing,u:profile", plans="u:free"),
    )
    yield from signed_in(
        "v2-legacy-org-claims-ignored",
        prod_signed(
            org_id="org_legacy", org_role="admin", org_slug="legacy", org_permissions=["org:x:y"]
        ),
    )
    yield from signed_in(
        "v1-org-claims",
        prod_token(
            org=OrgClaims(
                id="org_1", slug="acme", role="org:admin", permissions=("org:billing:manage",)
            ),
            version=1,
        ),
    )
    yield from signed_in(
        "v1-org-role-unprefixed",
        prod_token(org=OrgClaims(id="org_1", slug="acme", role="admin"), version=1),
    )
    yield from signed_in(
        "v1-no-org",
        prod_token(version=1, features="u:profile", plans="u:free"),
    )
    yield from signed_in(
        "malformed-fea-with-org-header",
        prod_token(org=ORG, features="billing,o:dashboard"),
    )
    yield from signed_in("malformed-fea-without-org-header", prod_token(features="billing"))
    yield Case(
        "claims/malformed-fea-with-org-cookie",
        prod,
        headers=(
            cookie(("__session", prod_token(org=ORG, features="billing")), ("__client_uat", UAT)),
            *DOC,
        ),
        has_queries=ORG_HAS,
    )
    yield from signed_in("malformed-pla", prod_token(plans="pro,u:"))
    yield from signed_in("fea-not-string", prod_signed(fea=["o:billing"], v=2))
    yield from signed_in("sts-missing", prod_token(status=None))
    yield from signed_in("sts-weird", prod_token(status="weird"))
    yield from signed_in("sts-active", prod_token(status="active", org=ORG, features=ORG_FEATURES))
    yield from signed_in("sts-pending-with-org", PROD.pending_token(org=ORG, features=ORG_FEATURES))
    yield from signed_in(
        "actor",
        prod_token(
            actor={"sub": "user_admin", "iss": "https://dashboard.clerk.com", "sid": "sess_a"}
        ),
    )
    yield from signed_in(
        "extra-claims-pass-through",
        prod_signed(email="a@example.com", meta={"nested": [1, 2, {"x": None}]}, num=1.5),
    )
    for label, fva in (
        ("fresh-both", [0, 0]),
        ("no-second-factor", [5, -1]),
        ("stale-first-no-second", [20, -1]),
        ("none", [-1, -1]),
        ("first-stale-second-fresh", [20, 3]),
        ("first-fresh-second-stale", [3, 20]),
        ("first-missing-second-fresh", [-1, 3]),
        ("old", [100000, 100000]),
    ):
        yield from signed_in(f"fva-{label}", prod_token(fva=fva), REVERIFICATION_HAS)
    yield from signed_in("fva-malformed-length", prod_signed(fva=[1]), REVERIFICATION_HAS)
    yield from signed_in("fva-malformed-type", prod_signed(fva="1,2"), REVERIFICATION_HAS)
    yield from signed_in("fva-negative", prod_signed(fva=[-2, 3]), REVERIFICATION_HAS)
    yield from signed_in("fva-missing", PROD_OK, REVERIFICATION_HAS)
    yield Case(
        "claims/pending-fva-and-org",
        prod,
        headers=(bearer(PROD.pending_token(org=ORG, features=ORG_FEATURES, fva=[1, 1])),),
        has_queries=(*ORG_HAS, *REVERIFICATION_HAS),
    )


def _org_sync_cases() -> Iterator[Case]:
    """§5.14: ``organizationSyncOptions`` on the cookie flow."""
    sync = prod_options(
        organizationSyncOptions={
            "organizationPatterns": ["/orgs/:slug", "/orgs/:slug/(.*)", "/o/:id"],
            "personalAccountPatterns": ["/me", "/me/(.*)"],
        }
    )
    in_org = cookie(("__session", prod_token(org=ORG)), ("__client_uat", UAT))
    personal = cookie(("__session", PROD_OK), ("__client_uat", UAT))
    yield Case("orgsync/same-slug", sync, url=f"{APP}/orgs/acme/settings", headers=(in_org, *DOC))
    yield Case("orgsync/other-slug", sync, url=f"{APP}/orgs/other/settings", headers=(in_org, *DOC))
    yield Case("orgsync/other-slug-api", sync, url=f"{APP}/orgs/other", headers=(in_org, *API))
    yield Case("orgsync/same-id", sync, url=f"{APP}/o/org_2acme", headers=(in_org, *DOC))
    yield Case("orgsync/other-id", sync, url=f"{APP}/o/org_other", headers=(in_org, *DOC))
    yield Case("orgsync/personal-from-personal", sync, url=f"{APP}/me", headers=(personal, *DOC))
    yield Case("orgsync/org-from-personal", sync, url=f"{APP}/orgs/acme", headers=(personal, *DOC))
    yield Case(
        "orgsync/personal-while-in-org", sync, url=f"{APP}/me/profile", headers=(in_org, *DOC)
    )
    yield Case("orgsync/unmatched-path", sync, url=f"{APP}/elsewhere", headers=(in_org, *DOC))
    yield Case("orgsync/case-insensitive", sync, url=f"{APP}/ORGS/other", headers=(in_org, *DOC))
    yield Case(
        "orgsync/counter-3-stays-signed-in",
        sync,
        url=f"{APP}/orgs/other",
        headers=(
            cookie(
                ("__session", prod_token(org=ORG)),
                ("__client_uat", UAT),
                ("__clerk_redirect_count", "3"),
            ),
            *DOC,
        ),
    )
    yield Case(
        "orgsync/pending-user",
        sync,
        url=f"{APP}/orgs/other",
        headers=(cookie(("__session", PROD.pending_token(org=ORG)), ("__client_uat", UAT)), *DOC),
    )


def _edge_cases() -> Iterator[Case]:
    """Inputs at the edges: JS number parsing, URL rebuilding, raw JWT bytes, odd claims."""
    prod = prod_options()
    dev = dev_options()
    signed_in = cookie(("__session", PROD_OK), ("__client_uat", UAT))

    # Authorization: JS split(" ", 2) drops a third piece.
    yield Case("edge/bearer-token-then-junk", prod, headers=(bearer(f"{PROD_OK} junk"),))
    yield Case(
        "edge/bearer-tab-separated", prod, headers=(("authorization", f"Bearer\t{PROD_OK}"),)
    )
    yield Case("edge/bearer-uppercase", prod, headers=(("authorization", f"BEARER {PROD_OK}"),))

    # Raw JWT bytes.
    claims = PROD.session_claims()
    compact = json.dumps(claims, separators=(",", ":"))
    header = '{"alg":"RS256","typ":"JWT","kid":"ins_test_key_1"}'
    yield Case(
        "edge/jwt-duplicate-sub-last-wins",
        prod,
        headers=(bearer(sign_raw(PROD, header, compact[:-1] + ',"sub":"user_dup"}')),),
    )
    yield Case(
        "edge/jwt-whitespace-json",
        prod,
        headers=(bearer(sign_raw(PROD, header, json.dumps(claims, indent=2))),),
    )
    yield Case(
        "edge/jwt-exp-exponent-notation",
        prod,
        headers=(
            bearer(sign_raw(PROD, header, compact.replace(f'"exp":{NOW + 60}', '"exp":1.79e9'))),
        ),
    )
    yield Case(
        "edge/jwt-proto-key",
        prod,
        headers=(bearer(sign_raw(PROD, header, compact[:-1] + ',"__proto__":{"x":1}}')),),
    )
    yield Case(
        "edge/jwt-unicode-claims",
        prod,
        headers=(
            bearer(PROD.sign({**claims, "name": "Zo\u00eb \U0001f680", "sub": "user_\u00e9"})),
        ),
    )
    yield Case(
        "edge/jwt-payload-array",
        prod,
        headers=(bearer(sign_raw(PROD, header, "[1,2]")),),
    )
    yield Case(
        "edge/jwt-payload-string",
        prod,
        headers=(bearer(sign_raw(PROD, header, '"user"')),),
    )
    yield Case(
        "edge/jwt-header-array",
        prod,
        headers=(bearer(sign_raw(PROD, "[]", compact)),),
    )
    padded = PROD_OK.split(".")
    yield Case(
        "edge/jwt-base64-padding",
        prod,
        headers=(bearer(f"{padded[0]}==.{padded[1]}.{padded[2]}"),),
    )
    yield Case(
        "edge/jwt-standard-base64-alphabet",
        prod,
        headers=(
            bearer(f"{padded[0]}.{padded[1]}.{padded[2].replace('-', '+').replace('_', '/')}"),
        ),
    )
    yield Case("edge/jwt-empty-parts", prod, headers=(bearer(".."),))
    yield Case("edge/jwt-signature-junk", prod, headers=(bearer(f"{padded[0]}.{padded[1]}.!!"),))
    yield Case("edge/jwt-signature-empty", prod, headers=(bearer(f"{padded[0]}.{padded[1]}."),))
    for label, value in (
        ("exp-huge", 1e20),
        ("exp-negative", -1),
        ("exp-bool", True),
        ("exp-null", None),
        ("iat-zero", 0),
        ("nbf-null", None),
        ("iat-null", None),
    ):
        name = label.split("-")[0]
        yield Case(
            f"edge/claim-{label}", prod, headers=(bearer(prod_signed(**{name: value})), *API)
        )
    yield Case(
        "edge/azp-empty-authorized-parties",
        prod_options(authorizedParties=[]),
        headers=(bearer(prod_token(azp="https://evil.example.com")),),
    )
    yield Case(
        "edge/azp-non-string",
        prod_options(authorizedParties=[APP]),
        headers=(bearer(prod_signed(azp=123)),),
    )
    yield Case(
        "edge/aud-empty-option",
        prod_options(audience=""),
        headers=(bearer(prod_signed(aud="aud_x")),),
    )
    yield Case(
        "edge/aud-non-string-in-token",
        prod_options(audience="aud_app"),
        headers=(bearer(prod_signed(aud=5)),),
    )
    yield Case(
        "edge/negative-clock-skew",
        prod_options(clockSkewInMs=-10_000),
        headers=(bearer(prod_token(issued_at=NOW - 50, lifetime=55)), *API),
    )
    yield Case(
        "edge/fractional-clock-skew",
        prod_options(clockSkewInMs=4999.5),
        headers=(bearer(prod_token(issued_at=NOW - 65, lifetime=60)), *API),
    )
    yield Case(
        "edge/fractional-now",
        prod,
        now_ms=NOW_MS + 4_999,
        headers=(bearer(prod_token(issued_at=NOW - 60, lifetime=60)), *API),
    )

    # __client_uat: more of JS parseInt.
    for label, uat in (
        ("empty", ""),
        ("hex-prefix-only", "0x"),
        ("underscore", "1_000"),
        ("arabic-digits", "\u0663"),
        ("beyond-double-precision", "9007199254740993"),
        ("exponent-big", "1e400"),
        ("leading-zeros", "0001"),
        ("minus-zero", "-0"),
        ("uppercase-hex", "0XFF"),
        ("spaces-inside", "1 2"),
        ("plus-sign", "+1"),
    ):
        yield Case(
            f"edge/uat-{label}",
            prod,
            headers=(cookie(("__session", PROD_OK), ("__client_uat", quote(uat))), *DOC),
        )

    # __clerk_redirect_count: JS Number().
    for label, count in (
        ("spaces", quote(" 3 ")),
        ("hex", "0x3"),
        ("exponent", "3e0"),
        ("binary", "0b11"),
        ("plus", "%2B3"),
        ("empty", ""),
        ("infinity", "Infinity"),
        ("two", "2.9999999999999999"),
    ):
        yield Case(
            f"edge/redirect-count-{label}",
            prod,
            headers=(
                cookie(("__client_uat", UAT), ("__clerk_redirect_count", count)),
                *DOC,
            ),
        )

    # Cookies.
    yield Case(
        "edge/cookie-uat-with-spaces",
        prod,
        headers=(("cookie", f"__session={PROD_OK};__client_uat=  {UAT}  "),),
    )
    yield Case(
        "edge/cookie-value-with-equals",
        prod,
        headers=(cookie(("__session", PROD_OK), ("__client_uat", UAT), ("x", "a=b=c")), *API),
    )
    yield Case(
        "edge/cookie-session-empty-uat-zero",
        prod,
        headers=(cookie(("__session", ""), ("__client_uat", "0")), *DOC),
    )
    yield Case(
        "edge/cookie-one-char-header",
        prod,
        headers=(("cookie", "x"), *DOC),
    )
    yield Case(
        "edge/dev-browser-empty-cookie",
        dev,
        headers=(cookie(("__clerk_db_jwt", "")), *DOC),
    )
    yield Case(
        "edge/dev-browser-empty-query",
        dev,
        url=f"{DASHBOARD}?__clerk_db_jwt=",
        headers=DOC,
    )
    yield Case(
        "edge/dev-browser-query-and-cookie",
        dev,
        url=f"{DASHBOARD}?__clerk_db_jwt=dvb_query",
        headers=(cookie(("__client_uat", UAT), ("__clerk_db_jwt", DB_JWT)), *DOC),
    )

    # Methods.
    for method in ("PUT", "OPTIONS", "DELETE", "PATCH"):
        yield Case(
            f"edge/method-{method.lower()}",
            prod,
            method=method,
            headers=(cookie(("__session", PROD_EXPIRED), ("__client_uat", UAT)), *DOC),
        )

    # URL rebuilding.
    for label, url, extra in (
        ("percent-path", f"{APP}/dash%20board/%E2%82%AC?q=%2F", ()),
        ("unicode-path", f"{APP}/caf\u00e9?q=\u00e9", ()),
        ("default-port", "https://app.example.com:443/dashboard", ()),
        ("empty-query", f"{DASHBOARD}?", ()),
        ("uppercase-host", "https://APP.Example.COM/Dashboard", ()),
        (
            "forwarded-proto-uppercase",
            "http://app.example.com/x",
            (("x-forwarded-proto", "HTTPS"),),
        ),
        (
            "forwarded-host-space",
            "http://10.0.0.5/x",
            (("x-forwarded-host", "app.example.com , b"), ("x-forwarded-proto", "https")),
        ),
        (
            "forwarded-host-invalid",
            "http://10.0.0.5/x",
            (("x-forwarded-host", "exa mple.com"), ("x-forwarded-proto", "https")),
        ),
        (
            "forwarded-default-port",
            "http://10.0.0.5/x",
            (("x-forwarded-host", "app.example.com:443"), ("x-forwarded-proto", "https")),
        ),
        (
            "forwarded-host-only",
            "http://10.0.0.5:8000/x",
            (("x-forwarded-host", "app.example.com"),),
        ),
        ("dot-segments", f"{APP}/a/../dashboard/./x", ()),
        ("ipv6-host", "http://[::1]:3000/dashboard", ()),
    ):
        yield Case(
            f"edge/url-{label}",
            prod,
            url=url,
            headers=(*extra, cookie(("__client_uat", UAT)), *DOC),
        )

    # Referrers.
    for label, referer in (
        ("lookalike-host", "https://app.example.com.evil.com/"),
        ("protocol-relative", "//evil.example.org/x"),
        ("uppercase-same-origin", "https://APP.EXAMPLE.COM/x"),
        ("default-port-same-origin", "https://app.example.com:443/x"),
        ("empty", ""),
        ("about-blank", "about:blank"),
        ("accounts-prefix-only", "https://accounts.example.com.evil.org/"),
    ):
        yield Case(f"edge/referrer-{label}", prod, headers=(signed_in, *DOC, ("referer", referer)))

    # Claims.
    weird_has: tuple[dict[str, Any], ...] = (
        {"role": ""},
        {"role": "org:"},
        {"permission": ""},
        {"feature": ""},
        {"feature": "o:"},
        {"feature": ":billing"},
        {"plan": ":"},
        {"feature": "billing", "plan": "pro"},
        {"role": "admin", "feature": "billing"},
        {"reverification": {"level": "first_factor", "afterMinutes": -1}},
        {"reverification": {"level": "first_factor", "afterMinutes": 0.5}},
        {"reverification": {"level": "second_factor"}},
        {"reverification": {"afterMinutes": 10}},
        {"reverification": ""},
    )
    yield Case(
        "edge/claims-weird-has-queries",
        prod,
        headers=(bearer(prod_token(org=ORG, features=ORG_FEATURES, plans="o:pro", fva=[0, 0])),),
        has_queries=weird_has,
    )
    for label, o in (
        ("o-string", "org_1"),
        ("o-null", None),
        ("o-empty", {}),
        ("o-array", ["org_1"]),
        ("o-rol-number", {"id": "org_1", "rol": 5}),
        ("o-per-spaces", {"id": "org_1", "rol": "admin", "per": "manage, read", "fpm": " 3"}),
        ("o-fpm-negative", {"id": "org_1", "rol": "admin", "per": "manage", "fpm": "-1"}),
        ("o-fpm-float", {"id": "org_1", "rol": "admin", "per": "manage,read", "fpm": "3.0"}),
        ("o-fpm-hex", {"id": "org_1", "rol": "admin", "per": "manage,read", "fpm": "0x3"}),
        ("o-fpm-empty-entry", {"id": "org_1", "rol": "admin", "per": "a,b", "fpm": ",3"}),
        ("o-per-empty-names", {"id": "org_1", "rol": "admin", "per": ",,", "fpm": "7"}),
    ):
        yield Case(
            f"edge/claims-{label}",
            prod,
            headers=(bearer(prod_signed(v=2, o=o, fea="o:billing,o:reports")),),
            has_queries=ORG_HAS,
        )
    for label, fea in (
        ("fea-empty-element", "o:billing,,o:x"),
        ("fea-trailing-comma", "o:billing,"),
        ("fea-empty", ""),
        ("fea-spaces", "  "),
        ("fea-multi-colon", "o:bill:ing"),
        ("fea-unknown-scope", "x:billing,o:reports"),
    ):
        yield Case(
            f"edge/claims-{label}",
            prod,
            headers=(bearer(prod_token(org=ORG, features=fea)),),
            has_queries=ORG_HAS,
        )
    odd_claims: tuple[tuple[str, dict[str, Any]], ...] = (
        ("v-string", {"v": "2", "o": {"id": "org_1", "rol": "admin"}, "org_id": "org_v1"}),
        ("v-three", {"v": 3, "o": {"id": "org_1", "rol": "admin"}, "org_id": "org_v1"}),
        ("sts-uppercase-pending", {"sts": "PENDING"}),
        ("sts-number", {"sts": 1}),
        ("sts-null", {"sts": None}),
        ("act-null", {"act": None}),
        ("sid-number", {"sid": 42}),
        ("fva-floats", {"fva": [1.5, -1]}),
        ("fva-strings", {"fva": ["1", 2]}),
        ("fva-three", {"fva": [1, 2, 3]}),
        ("pla-not-string", {"pla": ["o:pro"]}),
        ("v1-org-permissions-string", {"org_id": "org_1", "org_permissions": "org:a:b"}),
    )
    for label, claim_overrides in odd_claims:
        yield Case(
            f"edge/claims-{label}",
            prod,
            headers=(bearer(prod_signed(**claim_overrides)),),
            has_queries=(*ORG_HAS, *REVERIFICATION_HAS),
        )

    # Handshake payloads.
    token = prod_token(user_id="user_hs")
    url = f"{DASHBOARD}?__clerk_handshake="
    for label, payload in (
        ("session-prefix-name", [f"__session_unknown={token}; Path=/"]),
        ("sessionx-name", [f"__sessionx={token}"]),
        ("no-attributes", [f"__session={token}"]),
        ("spaces-around", [f" __session={token} ; Path=/"]),
        ("empty-list", []),
        ("not-a-list", f"__session={token}"),
        ("non-string-entry", [42, f"__session={token}"]),
        ("session-then-cleared", [f"__session={token}", "__session=; Max-Age=0"]),
    ):
        yield Case(
            f"edge/handshake-{label}",
            prod,
            url=url + PROD.sign({"handshake": payload}),
            headers=DOC,
        )
    yield Case(
        "edge/handshake-payload-missing",
        prod,
        url=url + PROD.sign({"other": 1}),
        headers=DOC,
    )
    yield Case(
        "edge/handshake-expired-handshake-jwt",
        prod,
        url=url + PROD.sign({"handshake": [f"__session={token}"], "exp": NOW - 3600}),
        headers=DOC,
    )
    yield Case(
        "edge/handshake-empty-query-value",
        prod,
        url=url,
        headers=(signed_in, *DOC),
    )

    # Values that reach response headers (x-clerk-auth-message) or URLs.
    for label, azp in (
        ("latin1", "https://\u00e9vil.example.com"),
        ("cjk", "https://\u4f8b\u3048.jp"),
        ("newline", "https://evil.example.com\nx-injected: 1"),
        ("trailing-space", "https://evil.example.com "),
        ("quote", 'https://evil.example.com/"'),
    ):
        yield Case(
            f"edge/message-azp-{label}",
            prod_options(authorizedParties=[APP]),
            headers=(bearer(prod_token(azp=azp)),),
        )
    yield Case(
        "edge/cookie-session-undecodable-percent",
        prod,
        headers=(cookie(("__session", "%FF"), ("__client_uat", "%31%FF")), *DOC),
    )
    yield Case(
        "edge/dev-handshake-location-reserialised",
        dev,
        url=(
            f"{DASHBOARD}?a=1&__clerk_handshake="
            + DEV.handshake_token([f"__session={DEV_OK}; Path=/"])
            + "&b=%20x+y&__clerk_db_jwt=q&c&__clerk_help=1&d=%E2%82%AC&__clerk_handshake_nonce=n"
        ),
        headers=DOC,
    )
    yield Case(
        "edge/dev-handshake-redirect-url-drops-dev-params",
        dev,
        url=f"{DASHBOARD}?q=a%20b&c&__dev_session=z&e=%7E*",
        headers=(
            cookie(("__session", DEV_EXPIRED), ("__client_uat", UAT), ("__clerk_db_jwt", DB_JWT)),
            *DOC,
        ),
    )
    yield Case(
        "edge/primary-sync-redirect-url-with-query-and-fragment",
        dev,
        url=(
            f"{APP}/sync?__clerk_redirect_url="
            + quote("https://sat.example.org/p?x=a%20b&__clerk_db_jwt=old#frag", safe="")
        ),
        headers=(cookie(("__clerk_db_jwt", DB_JWT)), *DOC),
    )
    yield Case(
        "edge/satellite-dev-redirect-keeps-query",
        dev_options(
            isSatellite=True,
            domain="sat.example.org",
            signInUrl=f"{APP}/sign-in?x=1",
            satelliteAutoSync=True,
        ),
        url="https://sat.example.org/page?q=a%20b&c",
        headers=DOC,
    )

    # Organization sync edges.
    sync = prod_options(
        organizationSyncOptions={
            "organizationPatterns": ["/orgs/:slug", "/orgs/:slug/(.*)", "/o/:id"],
            "personalAccountPatterns": ["/me", "/me/(.*)"],
        }
    )
    in_org = cookie(("__session", prod_token(org=ORG)), ("__client_uat", UAT))
    for label, path in (
        ("trailing-slash", "/orgs/other/"),
        ("encoded-slug", "/orgs/ac%20me"),
        ("encoded-same-slug", "/orgs/%61cme"),
        ("double-slash", "//orgs/other"),
        ("personal-trailing-slash", "/me/"),
        ("query-ignored", "/elsewhere?org=/orgs/other"),
    ):
        yield Case(f"edge/orgsync-{label}", sync, url=f"{APP}{path}", headers=(in_org, *DOC))
    yield Case(
        "edge/orgsync-v1-claims",
        sync,
        url=f"{APP}/orgs/other",
        headers=(
            cookie(
                ("__session", prod_token(org=OrgClaims(id="org_1", slug="acme"), version=1)),
                ("__client_uat", UAT),
            ),
            *DOC,
        ),
    )
    yield Case(
        "edge/orgsync-only-personal-patterns",
        prod_options(organizationSyncOptions={"personalAccountPatterns": ["/me"]}),
        url=f"{APP}/me",
        headers=(in_org, *DOC),
    )
    yield Case(
        "edge/orgsync-invalid-pattern",
        prod_options(organizationSyncOptions={"organizationPatterns": ["/orgs/:slug("]}),
        url=f"{APP}/orgs/other",
        headers=(in_org, *DOC),
    )

    # Dev sync edges.
    yield Case(
        "edge/primary-sync-redirect-url-not-a-url",
        dev,
        url=f"{APP}/sync?__clerk_redirect_url=not-a-url",
        headers=(cookie(("__clerk_db_jwt", DB_JWT)), *DOC),
    )
    yield Case(
        "edge/primary-sync-redirect-url-relative",
        dev,
        url=f"{APP}/sync?__clerk_redirect_url=%2Fpage",
        headers=(cookie(("__clerk_db_jwt", DB_JWT)), *DOC),
    )
    yield Case(
        "edge/primary-sync-with-header-token",
        dev,
        url=f"{APP}/sync?__clerk_redirect_url={quote('https://sat.example.org/', safe='')}",
        headers=(bearer(DEV_OK), *DOC),
    )
    yield Case(
        "edge/satellite-head",
        dev_options(
            isSatellite=True,
            domain="sat.example.org",
            signInUrl=f"{APP}/sign-in",
            satelliteAutoSync=True,
        ),
        method="HEAD",
        url="https://sat.example.org/page",
        headers=DOC,
    )
    yield Case(
        "edge/satellite-relative-proxy",
        prod_options(isSatellite=True, proxyUrl="/__clerk", satelliteAutoSync=True),
        url="https://sat.example.org/page",
        headers=DOC,
    )


CASES: tuple[Case, ...] = tuple(_build())

DIFFERENCES: dict[str, Difference] = {
    "verify/alg-rs384": Difference(
        why="Clerk's jwtKey only yields an RS256 key; we verify RS384 with the same RSA key.",
        clerk={"status": "signed-out"},
        ours={"status": "signed-in", "auth.userId": "user_2abc"},
    ),
    "verify/alg-rs512": Difference(
        why="Clerk's jwtKey only yields an RS256 key; we verify RS512 with the same RSA key.",
        clerk={"status": "signed-out"},
        ours={"status": "signed-in", "auth.userId": "user_2abc"},
    ),
    "verify/jwt-key-4096-bit": Difference(
        why="Clerk's jwtKey parsing assumes a 2048-bit key; we load any RSA PEM.",
        clerk={"status": "signed-out", "reason": "token-invalid-signature"},
        ours={"status": "signed-in", "auth.userId": "user_2abc"},
    ),
    "verify/jwt-null-header": Difference(
        why="Clerk crashes reading a field of a JSON null header; we call the token invalid.",
        clerk={"status": "signed-out"},
        ours={"status": "signed-out", "reason": "token-invalid"},
    ),
    "verify/jwt-null-payload": Difference(
        why="Clerk crashes reading a field of a JSON null payload; we call the token invalid.",
        clerk={"status": "signed-out"},
        ours={"status": "signed-out", "reason": "token-invalid"},
    ),
    "edge/primary-sync-redirect-url-not-a-url": Difference(
        why="Clerk crashes (new URL throws) on a non-absolute __clerk_redirect_url; we ignore it.",
        clerk={"error": "Invalid URL"},
        ours={"status": "signed-out", "reason": "session-token-and-uat-missing"},
    ),
    "edge/primary-sync-redirect-url-relative": Difference(
        why="Clerk crashes (new URL throws) on a non-absolute __clerk_redirect_url; we ignore it.",
        clerk={"error": "Invalid URL"},
        ours={"status": "signed-out", "reason": "session-token-and-uat-missing"},
    ),
    "handshake/dev-bad-signature": Difference(
        why="Clerk throws out of authenticateRequest; we log its message and go on with the "
        "request's own cookies, as Clerk does in production (here: no dev browser yet).",
        clerk={"error": "Handshake token verification failed"},
        ours={"status": "handshake", "reason": "dev-browser-missing"},
    ),
    "handshake/dev-bad-signature-with-dev-browser": Difference(
        why="Clerk throws out of authenticateRequest; we log its message and go on with the "
        "request's own cookies, as Clerk does in production.",
        clerk={"error": "Handshake token verification failed"},
        ours={"status": "signed-out", "reason": "session-token-and-uat-missing"},
    ),
    "config/satellite-sign-in-url-relative-no-origin-header": Difference(
        why="Clerk checks a satellite's signInUrl only when a request has an Origin header; we "
        "require an absolute sign_in_url once, when the options are built.",
        clerk={"status": "signed-out", "reason": "session-token-and-uat-missing"},
        ours={"error": "ConfigurationError"},
    ),
    "config/satellite-sign-in-url-same-origin-as-origin-header": Difference(
        why="Clerk throws per request when signInUrl's origin equals the Origin header; we never "
        "raise per request and answer as for any other request.",
        clerk={"error": "The signInUrl needs to be on a different origin"},
        ours={"status": "signed-out", "reason": "dev-browser-missing"},
    ),
}


def _check_table() -> None:
    names = [case.name for case in CASES]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise AssertionError(f"duplicate conformance case names: {duplicates}")
    unknown = sorted(set(DIFFERENCES) - set(names))
    if unknown:
        raise AssertionError(f"DIFFERENCES names unknown cases: {unknown}")


_check_table()
