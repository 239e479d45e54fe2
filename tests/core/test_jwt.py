"""Token decoding and the ordered checks of Clerk's verifyJwt."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest

from clerk_middleware.core import AuthRequest, TokenVerificationError, authenticate_request
from clerk_middleware.core._jwt import (
    decode_jwt,
    js_date_ms,
    js_stringify,
    js_utc_string,
    verify_claims,
)
from clerk_middleware.testing import TestIssuer

from ..conftest import NOW


def b64(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "a.b",
        "a.b.c.d",
        f"{b64({'alg': 'RS256'})}.{b64({'sub': 'x'})}.sig+/",  # standard alphabet
        f"{b64({'alg': 'RS256'})}.{b64(b'not json')}.c2ln",
        f"{b64({'alg': 'RS256'})}.{b64(b'NaN')}.c2ln",  # JSON.parse has no NaN
        f"{b64({'alg': 'RS256'})}.{b64(None)}.c2ln",  # null payload
        f"{b64({'alg': 'RS256'})}.{b64({'sub': 'x'})}.c2lnZ",  # length % 4 == 1
        f"{b64({'alg': 'RS256'})}.{b64({'sub': 'x'})}.QR",  # non-zero trailing bits
        "x" * 20_000,
    ],
)
def test_undecodable_tokens_are_token_invalid(token: str) -> None:
    with pytest.raises(TokenVerificationError) as info:
        decode_jwt(token)
    assert info.value.reason == "token-invalid"


def test_decode_accepts_padding_and_non_object_json() -> None:
    jwt = decode_jwt(f"{b64({'alg': 'RS256'})}==.{b64([1, 2])}.c2ln")
    assert jwt.header == {"alg": "RS256"}
    assert jwt.payload == {}
    assert jwt.signature == b"sig"


def test_js_stringify_and_dates_match_javascript() -> None:
    assert js_stringify(...) == "undefined"
    assert js_stringify("a") == '"a"'
    assert js_stringify(1.0) == "1"
    assert js_stringify({"a": [1, None, True]}) == '{"a":[1,null,true]}'
    assert js_utc_string(NOW * 1000) == "Mon, 21 Sep 2026 14:13:20 GMT"
    assert js_utc_string(float("nan")) == "Invalid Date"


def _claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "user_1", "exp": NOW + 60, "iat": NOW - 1, "nbf": NOW - 10, **extra}


def _check(payload: dict[str, Any], **kw: Any) -> None:
    options: dict[str, Any] = {
        "now_ms": NOW * 1000,
        "clock_skew_in_ms": 5000,
        "audiences": (),
        "authorized_parties": (),
        "issuers": (),
        "issuer_check": None,
    }
    options.update(kw)
    verify_claims(payload, **options)


@pytest.mark.parametrize(
    ("payload", "kw", "reason", "message"),
    [
        (
            _claims(sub=None),
            {},
            "token-verification-failed",
            "Subject claim (sub) is required and must be a string. Received null.",
        ),
        (
            {"exp": NOW + 60},
            {},
            "token-verification-failed",
            "Subject claim (sub) is required and must be a string. Received undefined.",
        ),
        (
            _claims(exp="soon"),
            {},
            "token-verification-failed",
            'Invalid JWT expiry date claim (exp) "soon". Expected number.',
        ),
        (
            _claims(exp=True),
            {},
            "token-verification-failed",
            "Invalid JWT expiry date claim (exp) true. Expected number.",
        ),
        (
            _claims(exp=NOW - 5),
            {},
            "token-expired",
            "JWT is expired. Expiry date: Mon, 21 Sep 2026 14:13:15 GMT, "
            "Current date: Mon, 21 Sep 2026 14:13:20 GMT.",
        ),
        (_claims(nbf=NOW + 6), {}, "token-not-active-yet", None),
        (_claims(iat=NOW + 6), {}, "token-iat-in-the-future", None),
        (_claims(nbf="x"), {}, "token-verification-failed", None),
        (
            _claims(azp="https://evil.example.com"),
            {"authorized_parties": ("https://app.example.com", "https://admin.example.com")},
            "token-invalid-authorized-parties",
            'Invalid JWT Authorized party claim (azp) "https://evil.example.com". '
            'Expected "https://app.example.com,https://admin.example.com".',
        ),
        (
            _claims(),
            {"authorized_parties": ("https://app.example.com",)},
            "token-invalid-authorized-parties",
            'Invalid JWT Authorized party claim (azp) undefined. Expected "https://app.example.com".',
        ),
        (
            _claims(azp="https://app.example.com/"),
            {"authorized_parties": ("https://app.example.com",)},
            "token-invalid-authorized-parties",
            None,
        ),
        (
            _claims(aud="other"),
            {"audiences": ("mine",)},
            "token-verification-failed",
            'Invalid JWT audience claim (aud) "other". Is not included in "["mine"]".',
        ),
        (
            _claims(iss="https://evil"),
            {"issuers": ("https://good",)},
            "token-invalid-issuer",
            'Invalid JWT issuer claim (iss) "https://evil". Expected "https://good".',
        ),
        # Order: sub is checked before azp, azp before exp.
        (
            _claims(sub=1, azp="x", exp="y"),
            {"authorized_parties": ("z",)},
            "token-verification-failed",
            None,
        ),
        (
            _claims(azp="x", exp="y"),
            {"authorized_parties": ("z",)},
            "token-invalid-authorized-parties",
            None,
        ),
        (_claims(exp=-1e300), {}, "token-expired", None),
    ],
)
def test_claim_checks(
    payload: dict[str, Any], kw: dict[str, Any], reason: str, message: str | None
) -> None:
    with pytest.raises(TokenVerificationError) as info:
        _check(payload, **kw)
    assert info.value.reason == reason
    if message is not None:
        assert info.value.message == message


@pytest.mark.parametrize(
    ("payload", "kw"),
    [
        (_claims(exp=NOW - 4), {}),  # within the 5 s skew
        (_claims(nbf=NOW + 5, iat=NOW + 5), {}),
        (_claims(), {"audiences": ("mine",)}),  # no aud claim: not checked
        (_claims(aud=["a", "mine"]), {"audiences": ("mine",)}),
        (_claims(iss="https://x"), {"issuer_check": lambda iss: iss.startswith("https://")}),
        (_claims(exp=NOW - 50), {"clock_skew_in_ms": 60_000}),
        (_claims(exp=1e300), {}),  # beyond JavaScript's date range: never expires, as in Clerk
    ],
)
def test_claims_that_pass(payload: dict[str, Any], kw: dict[str, Any]) -> None:
    _check(payload, **kw)


def _header_state(issuer: TestIssuer, token: str) -> tuple[str, str | None, str | None]:
    state = authenticate_request(
        AuthRequest("GET", "https://app.example.com/", {"authorization": f"Bearer {token}"}),
        issuer.options(),
    )
    return state.status.value, state.reason, state.message


def test_algorithm_none_and_hmac_are_refused(issuer: TestIssuer) -> None:
    claims = issuer.session_claims()
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    assert _header_state(issuer, unsigned)[1] == "token-invalid-algorithm"  # empty signature
    unsigned_sig = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.c2ln"
    status, reason, message = _header_state(issuer, unsigned_sig)
    assert (status, reason) == ("signed-out", "token-invalid-algorithm")
    assert message is not None and 'Invalid JWT algorithm "none"' in message

    import hashlib
    import hmac

    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}"
    forged_sig = hmac.new(issuer.jwt_key.encode(), signing_input.encode(), hashlib.sha256)
    forged = f"{signing_input}.{b64(forged_sig.digest())}"
    assert _header_state(issuer, forged)[1] == "token-invalid-algorithm"


def test_signature_checked_before_claims(issuer: TestIssuer, other_issuer: TestIssuer) -> None:
    foreign = other_issuer.session_token(extra={"exp": "not a number"})
    assert _header_state(issuer, foreign)[1] == "token-invalid-signature"


def test_typ_must_be_jwt_when_present(issuer: TestIssuer) -> None:
    token = issuer.sign(issuer.session_claims(), header={"typ": "JWS"})
    _, reason, message = _header_state(issuer, token)
    assert reason == "token-invalid"
    assert message == (
        'Invalid JWT type "JWS". Expected "JWT". Make sure that this is a valid Clerk-generated '
        "JWT. (reason=token-invalid, token-carrier=header)"
    )
    no_typ = issuer.sign(issuer.session_claims(), header={"typ": None})
    assert _header_state(issuer, no_typ)[0] == "signed-in"


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_rsa_algorithms_verify_with_jwt_key(issuer: TestIssuer, alg: str) -> None:
    assert _header_state(issuer, issuer.session_token(alg=alg))[0] == "signed-in"


def test_any_rsa_key_size_works_with_jwt_key() -> None:
    big = TestIssuer(key_size=4096, clock=lambda: NOW)
    assert _header_state(big, big.session_token())[0] == "signed-in"


def test_alg_swapped_after_signing_fails(issuer: TestIssuer) -> None:
    token = issuer.session_token(alg="RS256")
    _, payload, signature = token.split(".")
    swapped = f"{b64({'alg': 'RS512', 'typ': 'JWT', 'kid': issuer.kid})}.{payload}.{signature}"
    assert _header_state(issuer, swapped)[1] == "token-invalid-signature"


def test_machine_tokens_and_foreign_categories_are_type_mismatches(issuer: TestIssuer) -> None:
    m2m = issuer.session_token("mch_123")
    oauth = issuer.sign(issuer.session_claims(), header={"typ": "at+jwt"})
    foreign_cat = issuer.sign(issuer.session_claims(), header={"cat": "cl_other"})
    for token in (m2m, oauth, foreign_cat):
        assert _header_state(issuer, token)[:2] == ("signed-out", "token-type-mismatch")
    ignored_cat = issuer.sign(issuer.session_claims(), header={"cat": "cl_I7d4PD111III"})
    assert _header_state(issuer, ignored_cat)[0] == "signed-in"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (1_790_000_000, 1_790_000_000_000),
        (8_640_000_000_000, 8_640_000_000_000_000),  # JavaScript's last date
        (-8_640_000_000_000, -8_640_000_000_000_000),
        (8_640_000_000_001, None),  # one second past it: NaN, as new Date() gives
        (-8_640_000_000_001, None),
        (10**400, None),  # no double can hold it
        (1_790_000_000.9, 1_790_000_000_000),  # truncated, not rounded
        (True, 1000),  # JSON has no booleans here, but Python's bool is an int
    ],
)
def test_js_date_ms_on_and_past_the_edges_of_javascript_dates(
    seconds: float, expected: int | None
) -> None:
    ms = js_date_ms(seconds)
    if expected is None:
        assert math.isnan(ms)
    else:
        assert ms == expected
