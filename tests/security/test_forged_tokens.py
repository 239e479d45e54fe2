"""A corpus of forged and hostile session tokens, each named after its attack.

Every case must resolve to signed-out with the reason Clerk gives (so the
``x-clerk-auth-reason`` a developer debugs with is right), never to signed-in,
through both carriers (``Authorization: Bearer`` and the ``__session`` cookie)
and through both drivers (sync and async). Verification is networkless here
(``jwt_key``); ``test_forged_tokens_remote.py`` repeats the key-related attacks
against a JWKS served over HTTP.

"Forged" means produced without the instance's private key. A few cases are
signed with the instance's real key but carry claims that must still be
refused (a non-string ``sub``, an ``exp`` that is a string...): they pin that
the claim checks hold on their own, after the signature passed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from clerk_middleware.core import (
    AuthRequest,
    AuthStatus,
    ClerkOptions,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.testing import TestIssuer

from ..conftest import NOW
from ._forge import (
    b64url,
    b64url_json,
    hmac_signed,
    private_key,
    sign_raw,
    unsigned,
    with_claims,
    with_header,
    with_raw_payload,
)

URL = "https://app.example.com/api/data?page=1"
API = {"sec-fetch-dest": "empty", "accept": "application/json"}
COOKIES = "__clerk_db_jwt=dvb_1; __client_uat=1"
APP = "https://app.example.com"

EXPIRED = "session-token-expired-refresh-non-eligible-no-refresh-cookie"
NBF = "session-token-nbf"
IAT_FUTURE = "session-token-iat-in-the-future"
BAD_SIGNATURE = "token-invalid-signature"
BAD_ALGORITHM = "token-invalid-algorithm"
INVALID = "token-invalid"
FAILED = "token-verification-failed"
AZP = "token-invalid-authorized-parties"
TYPE_MISMATCH = "token-type-mismatch"


@dataclass(frozen=True)
class Keys:
    """The parties: the instance under attack, an attacker's key, another Clerk instance."""

    victim: TestIssuer
    attacker: TestIssuer
    elsewhere: TestIssuer

    def genuine(self, **kwargs: Any) -> str:
        """A real token of the victim instance."""
        return self.victim.session_token(**kwargs)

    def claims(self, **kwargs: Any) -> dict[str, Any]:
        """Claims of a real token of the victim instance."""
        return self.victim.session_claims(**kwargs)

    def header(self) -> dict[str, Any]:
        """The header of a real token of the victim instance."""
        return {"alg": "RS256", "typ": "JWT", "kid": self.victim.kid}


@dataclass(frozen=True)
class Forgery:
    """One attack: how to build the token and the reason it must be refused with.

    Attributes:
        build: Makes the token from the parties.
        reason: The signed-out reason when the token arrives in the header.
        cookie_reason: The reason when it arrives as ``__session`` (default: ``reason``).
        options: Extra ``ClerkOptions`` for this case.
    """

    build: Callable[[Keys], str]
    reason: str
    cookie_reason: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


def _pss_signed(keys: Keys) -> str:
    # RSA-PSS with the instance's own key: a valid signature, but not an allowed algorithm.
    header = {**keys.header(), "alg": "PS256"}
    signing_input = f"{b64url_json(header)}.{b64url_json(keys.claims())}"
    signature = private_key(keys.victim).sign(
        signing_input.encode(),
        padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH),
        hashes.SHA256(),
    )
    return f"{signing_input}.{b64url(signature)}"


def _attacker_signed(keys: Keys, **header: Any) -> str:
    """The victim's claims, signed by the attacker, with header fields of the attacker's choice."""
    return keys.attacker.sign(keys.claims(), header={"kid": keys.victim.kid, **header})


def _splice_signature(keys: Keys) -> str:
    one = keys.genuine(user_id="user_victim")
    other = keys.genuine(user_id="user_attacker")
    head, payload, _ = one.split(".")
    return f"{head}.{payload}.{other.split('.')[2]}"


def _trailing_bits(keys: Keys) -> str:
    # 256 signature bytes are 342 base64url characters: the last one carries 4
    # padding bits that must be zero. Python's base64 would ignore them.
    token = keys.genuine()
    head, payload, signature = token.split(".")
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    flipped = alphabet[alphabet.index(last) ^ 1]
    return f"{head}.{payload}.{signature[:-1]}{flipped}"


def _genuine_raw(keys: Keys, payload_json: str) -> str:
    return sign_raw(keys.victim, json.dumps(keys.header()), payload_json)


def _claims_json(keys: Keys, **changes: Any) -> str:
    claims = keys.claims()
    claims.update(changes)
    return json.dumps(claims)


FORGERIES: dict[str, Forgery] = {
    # --- the algorithm -------------------------------------------------------------------
    "alg_none": Forgery(lambda k: unsigned(k.header(), k.claims()), BAD_ALGORITHM),
    "alg_none_capitalised": Forgery(
        lambda k: with_header(unsigned(k.header(), k.claims()), alg="None"), BAD_ALGORITHM
    ),
    "alg_none_with_genuine_signature": Forgery(
        lambda k: with_header(k.genuine(), alg="none"), BAD_ALGORITHM
    ),
    "alg_missing": Forgery(lambda k: with_header(k.genuine(), alg=None), BAD_ALGORITHM),
    "alg_lowercase_rs256": Forgery(lambda k: with_header(k.genuine(), alg="rs256"), BAD_ALGORITHM),
    "alg_as_list": Forgery(lambda k: with_header(k.genuine(), alg=["RS256"]), BAD_ALGORITHM),
    "hs256_keyed_with_public_key_pem": Forgery(
        lambda k: hmac_signed(k.header(), k.claims(), k.victim.jwt_key.encode(), "HS256"),
        BAD_ALGORITHM,
    ),
    "hs384_keyed_with_public_key_pem": Forgery(
        lambda k: hmac_signed(k.header(), k.claims(), k.victim.jwt_key.encode(), "HS384"),
        BAD_ALGORITHM,
    ),
    "hs256_keyed_with_public_key_pem_without_newline": Forgery(
        lambda k: hmac_signed(k.header(), k.claims(), k.victim.jwt_key.strip().encode(), "HS256"),
        BAD_ALGORITHM,
    ),
    "ps256_signed_with_the_instance_key": Forgery(_pss_signed, BAD_ALGORITHM),
    "es256_claimed": Forgery(lambda k: with_header(k.genuine(), alg="ES256"), BAD_ALGORITHM),
    "alg_swapped_rs256_to_rs512_after_signing": Forgery(
        lambda k: with_header(k.genuine(), alg="RS512"), BAD_SIGNATURE
    ),
    "alg_swapped_rs512_to_rs256_after_signing": Forgery(
        lambda k: with_header(k.genuine(alg="RS512"), alg="RS256"), BAD_SIGNATURE
    ),
    "typ_jws": Forgery(lambda k: with_header(k.genuine(), typ="JWS"), INVALID),
    # --- the key -------------------------------------------------------------------------
    "kid_pointing_at_another_key": Forgery(_attacker_signed, BAD_SIGNATURE),
    "kid_path_traversal": Forgery(
        lambda k: _attacker_signed(k, kid="../../../../dev/null"), BAD_SIGNATURE
    ),
    "kid_sql_injection": Forgery(lambda k: _attacker_signed(k, kid="x' OR '1'='1"), BAD_SIGNATURE),
    "jku_header_injection": Forgery(
        lambda k: _attacker_signed(k, jku="https://attacker.example/jwks.json"), BAD_SIGNATURE
    ),
    "x5u_header_injection": Forgery(
        lambda k: _attacker_signed(k, x5u="https://attacker.example/cert.pem"), BAD_SIGNATURE
    ),
    "jwk_header_injection": Forgery(
        lambda k: _attacker_signed(k, jwk=k.attacker.jwk()), BAD_SIGNATURE
    ),
    "x5c_header_injection": Forgery(
        lambda k: _attacker_signed(k, x5c=["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
        BAD_SIGNATURE,
    ),
    "token_of_another_key_same_instance_name": Forgery(
        lambda k: k.attacker.session_token(), BAD_SIGNATURE
    ),
    # Another instance's iss makes the cookie flow look at suffixed cookies only
    # (Clerk's usesSuffixedCookies), where this request has no dev browser.
    "valid_token_of_another_instance": Forgery(
        lambda k: k.elsewhere.session_token(), BAD_SIGNATURE, cookie_reason="dev-browser-missing"
    ),
    # --- the signature -------------------------------------------------------------------
    "signature_of_another_token": Forgery(_splice_signature, BAD_SIGNATURE),
    "signature_stripped": Forgery(lambda k: k.genuine().rsplit(".", 1)[0] + ".", BAD_SIGNATURE),
    "signature_malleated_trailing_bits": Forgery(_trailing_bits, INVALID),
    "claims_edited_sub": Forgery(
        lambda k: with_claims(k.genuine(), sub="user_admin"), BAD_SIGNATURE
    ),
    "claims_edited_pending_to_active": Forgery(
        lambda k: with_claims(k.victim.pending_token(), sts="active"), BAD_SIGNATURE
    ),
    "claims_edited_org_role": Forgery(
        lambda k: with_claims(k.genuine(), o={"id": "org_1", "slg": "acme", "rol": "admin"}),
        BAD_SIGNATURE,
    ),
    # --- the structure -------------------------------------------------------------------
    "truncated_to_two_segments": Forgery(lambda k: k.genuine().rsplit(".", 1)[0], INVALID),
    "truncated_to_one_segment": Forgery(lambda k: k.genuine().split(".")[0], INVALID),
    # A 2048-bit signature is 342 base64url characters. Cutting 5 leaves a length
    # no base64 can have (4n+1): always undecodable. Cutting 6 leaves whole bytes
    # that decode: a wrong signature. (Cutting 7 would depend on the key's bits.)
    "truncated_mid_signature": Forgery(lambda k: k.genuine()[:-5], INVALID),
    "truncated_signature_whole_bytes": Forgery(lambda k: k.genuine()[:-6], BAD_SIGNATURE),
    "extra_segment": Forgery(lambda k: k.genuine() + ".e30", INVALID),
    "extra_empty_segment": Forgery(lambda k: k.genuine() + ".", INVALID),
    "jwe_five_segments": Forgery(lambda k: "e30.e30.e30.e30.e30", INVALID),
    "only_dots": Forgery(lambda k: "..", INVALID),
    "bad_base64_standard_alphabet": Forgery(
        lambda k: k.genuine().replace("-", "+").replace("_", "/") + "+/", INVALID
    ),
    "bad_base64_padding_inside": Forgery(
        lambda k: "eyJ=hbGciOiJSUzI1NiJ9." + k.genuine().split(".", 1)[1], INVALID
    ),
    "bad_base64_non_ascii": Forgery(lambda k: "é" + k.genuine(), INVALID),
    "bad_base64_impossible_length": Forgery(
        lambda k: "eyJhb." + k.genuine().split(".", 1)[1], INVALID
    ),
    "header_not_json": Forgery(
        lambda k: b64url(b"{alg: RS256}") + "." + k.genuine().split(".", 1)[1], INVALID
    ),
    "payload_json_null": Forgery(lambda k: with_raw_payload(k.genuine(), "null"), INVALID),
    "payload_json_array": Forgery(lambda k: with_raw_payload(k.genuine(), "[1]"), BAD_SIGNATURE),
    "payload_nan_literal": Forgery(
        lambda k: with_raw_payload(k.genuine(), '{"sub":"user_1","exp":NaN}'), INVALID
    ),
    "payload_deeply_nested": Forgery(
        lambda k: with_raw_payload(k.genuine(), "[" * 5000 + "]" * 5000), INVALID
    ),
    # --- duplicate JSON keys: the signature covers the bytes, so forged duplicates fail ---
    "duplicate_sub_prepended": Forgery(
        lambda k: with_raw_payload(
            k.genuine(), '{"sub":"user_admin",' + json.dumps(k.claims())[1:]
        ),
        BAD_SIGNATURE,
    ),
    "duplicate_sub_appended": Forgery(
        lambda k: with_raw_payload(
            k.genuine(), json.dumps(k.claims())[:-1] + ',"sub":"user_admin"}'
        ),
        BAD_SIGNATURE,
    ),
    "duplicate_sts_appended_to_a_pending_token": Forgery(
        lambda k: with_raw_payload(
            k.victim.pending_token(),
            json.dumps(k.claims(status="pending"))[:-1] + ',"sts":"active"}',
        ),
        BAD_SIGNATURE,
    ),
    "duplicate_alg_in_header": Forgery(
        lambda k: b64url(b'{"alg":"RS256","typ":"JWT","alg":"none"}')
        + "."
        + k.genuine().split(".", 1)[1],
        BAD_ALGORITHM,
    ),
    # --- size ----------------------------------------------------------------------------
    # Signed by the instance and otherwise valid: refused unread for its size alone.
    "huge_genuine_token": Forgery(
        lambda k: k.genuine(extra={"padding": "x" * 20_000}), INVALID
    ),
    "huge_header_segment": Forgery(
        lambda k: b64url_json({**k.header(), "x": "y" * 40_000})
        + "."
        + k.genuine().split(".", 1)[1],
        INVALID,
    ),
    "huge_number_of_segments": Forgery(lambda k: "." * 100_000, INVALID),
    # --- claims (signed by the instance: the claim checks must hold on their own) -------
    "sub_as_number": Forgery(lambda k: k.genuine(extra={"sub": 12345}), FAILED),
    "sub_as_null": Forgery(lambda k: k.genuine(extra={"sub": None}), FAILED),
    "sub_as_list": Forgery(lambda k: k.genuine(extra={"sub": ["user_2abc"]}), FAILED),
    "sub_as_object": Forgery(lambda k: k.genuine(extra={"sub": {"id": "user_2abc"}}), FAILED),
    "sub_missing": Forgery(lambda k: _genuine_raw(k, _drop(k, "sub")), FAILED),
    "exp_as_string": Forgery(lambda k: k.genuine(extra={"exp": str(int(NOW) + 60)}), FAILED),
    "exp_as_bool": Forgery(lambda k: k.genuine(extra={"exp": True}), FAILED),
    "exp_as_null": Forgery(lambda k: k.genuine(extra={"exp": None}), FAILED),
    "exp_missing": Forgery(lambda k: _genuine_raw(k, _drop(k, "exp")), FAILED),
    "exp_as_float_in_the_past": Forgery(lambda k: k.genuine(extra={"exp": NOW - 30.5}), EXPIRED),
    "exp_huge_negative": Forgery(lambda k: k.genuine(extra={"exp": -1e300}), EXPIRED),
    "exp_edited_to_huge": Forgery(lambda k: with_claims(k.genuine(), exp=1e300), BAD_SIGNATURE),
    "exp_edited_to_far_future": Forgery(
        lambda k: with_claims(k.genuine(), exp=int(NOW) + 10**9), BAD_SIGNATURE
    ),
    "expired_token": Forgery(lambda k: k.victim.expired_token(), EXPIRED),
    "nbf_beyond_skew": Forgery(lambda k: k.genuine(not_before=NOW + 60), NBF),
    "nbf_huge": Forgery(lambda k: k.genuine(not_before=1e300), NBF),
    "nbf_as_string": Forgery(lambda k: k.genuine(not_before="0"), FAILED),
    "iat_beyond_skew": Forgery(lambda k: k.genuine(issued_at=NOW + 60, not_before=NOW), IAT_FUTURE),
    "iat_huge": Forgery(
        lambda k: _genuine_raw(k, _claims_json(k, iat=10**400 // 10**100, nbf=int(NOW))),
        IAT_FUTURE,
    ),
    "azp_not_in_authorized_parties": Forgery(
        lambda k: k.genuine(azp="https://evil.example.com"), AZP,
        options={"authorized_parties": [APP]},
    ),
    "azp_missing_with_authorized_parties": Forgery(
        lambda k: k.genuine(azp=None), AZP, options={"authorized_parties": [APP]}
    ),
    "azp_with_trailing_slash": Forgery(
        lambda k: k.genuine(azp=APP + "/"), AZP, options={"authorized_parties": [APP]}
    ),
    "azp_other_case": Forgery(
        lambda k: k.genuine(azp=APP.upper()), AZP, options={"authorized_parties": [APP]}
    ),
    "azp_as_list": Forgery(
        lambda k: k.genuine(azp=[APP]), AZP, options={"authorized_parties": [APP]}
    ),
    "azp_prefix_of_an_authorized_party": Forgery(
        lambda k: k.genuine(azp="https://app.example.co"), AZP,
        options={"authorized_parties": [APP]},
    ),
    # --- other token classes -------------------------------------------------------------
    "m2m_category_header": Forgery(
        lambda k: k.victim.sign(k.claims(), header={"cat": "cl_B7d4PD333AAA"}), TYPE_MISMATCH
    ),
    "oauth_access_token_typ": Forgery(
        lambda k: k.victim.sign(k.claims(), header={"typ": "at+jwt"}), TYPE_MISMATCH
    ),
    "machine_subject": Forgery(lambda k: k.genuine(user_id="mch_2abc"), TYPE_MISMATCH),
}


def _drop(keys: Keys, name: str) -> str:
    claims = keys.claims()
    del claims[name]
    return json.dumps(claims)


@pytest.fixture(scope="module")
def keys(issuer: TestIssuer, other_issuer: TestIssuer) -> Keys:
    elsewhere = TestIssuer("clerk.elsewhere.example", production=True, clock=lambda: NOW)
    return Keys(victim=issuer, attacker=other_issuer, elsewhere=elsewhere)


def resolve(request: AuthRequest, options: ClerkOptions) -> RequestState:
    """Both drivers; they must agree."""
    state = authenticate_request(request, options)
    assert asyncio.run(authenticate_request_async(request, options)) == state
    return state


def assert_refused(state: RequestState, reason: str) -> None:
    assert state.status is AuthStatus.SIGNED_OUT, (state.status, state.reason, state.message)
    assert state.reason == reason, state.message
    assert state.token is None and state.claims is None
    auth = state.to_auth()
    assert auth is not None and auth.user_id is None and not auth.is_signed_in
    assert not auth.has(role="org:admin")
    assert ("x-clerk-auth-reason", reason) in state.headers


def test_the_genuine_token_is_signed_in_through_both_carriers(keys: Keys) -> None:
    # The control: the harness itself lets the real thing through.
    token = keys.genuine()
    options = keys.victim.options()
    by_header = resolve(AuthRequest("GET", URL, {**API, "authorization": f"Bearer {token}"}),
                        options)
    by_cookie = resolve(
        AuthRequest("GET", URL, {**API, "cookie": f"{COOKIES}; __session={token}"}), options
    )
    assert by_header.status is AuthStatus.SIGNED_IN
    assert by_cookie.status is AuthStatus.SIGNED_IN


@pytest.mark.parametrize("attack", sorted(FORGERIES))
def test_forged_token_in_the_authorization_header_is_refused(keys: Keys, attack: str) -> None:
    forgery = FORGERIES[attack]
    token = forgery.build(keys)
    options = keys.victim.options(**forgery.options)
    request = AuthRequest("GET", URL, {**API, "authorization": f"Bearer {token}"})
    assert_refused(resolve(request, options), forgery.reason)


@pytest.mark.parametrize("attack", sorted(FORGERIES))
def test_forged_token_in_the_session_cookie_is_refused(keys: Keys, attack: str) -> None:
    forgery = FORGERIES[attack]
    token = forgery.build(keys)
    options = keys.victim.options(**forgery.options)
    request = AuthRequest("GET", URL, {**API, "cookie": f"{COOKIES}; __session={token}"})
    assert_refused(resolve(request, options), forgery.cookie_reason or forgery.reason)


@pytest.mark.parametrize("attack", ["alg_none", "hs256_keyed_with_public_key_pem",
                                    "kid_pointing_at_another_key", "claims_edited_sub"])
def test_forged_token_on_a_page_request_never_signs_in(keys: Keys, attack: str) -> None:
    # On a document request a refused cookie token may lead to a handshake, but
    # never to signed-in, and a handshake never carries claims.
    token = FORGERIES[attack].build(keys)
    headers = {"sec-fetch-dest": "document", "accept": "text/html",
               "cookie": f"{COOKIES}; __session={token}"}
    state = resolve(AuthRequest("GET", URL, headers), keys.victim.options())
    assert state.status is not AuthStatus.SIGNED_IN
    assert state.claims is None and state.token is None


# --- duplicate keys in a token the instance really signed -----------------------------------
#
# The signature covers the bytes, so only the instance could have produced these:
# which duplicate "wins" is then Clerk's problem, not an attack. What matters is
# that we read them as JavaScript's JSON.parse does (the last one wins), so the
# SDK and Clerk never disagree about who the user is.


def test_genuine_token_with_duplicate_sts_reads_the_last_value_like_json_parse(
    keys: Keys,
) -> None:
    options = keys.victim.options()
    pending_last = _genuine_raw(keys, json.dumps(keys.claims())[:-1] + ',"sts":"pending"}')
    state = resolve(AuthRequest("GET", URL, {**API, "authorization": f"Bearer {pending_last}"}),
                    options)
    assert state.status is AuthStatus.SIGNED_IN
    auth = state.to_auth()
    assert auth is not None and auth.user_id is None and auth.session_status == "pending"

    active_last = _genuine_raw(
        keys, json.dumps(keys.claims(status="pending"))[:-1] + ',"sts":"active"}'
    )
    state = resolve(AuthRequest("GET", URL, {**API, "authorization": f"Bearer {active_last}"}),
                    options)
    auth = state.to_auth()
    assert auth is not None and auth.session_status == "active"


def test_genuine_token_with_duplicate_sub_reads_the_last_value_like_json_parse(
    keys: Keys,
) -> None:
    token = _genuine_raw(keys, json.dumps(keys.claims())[:-1] + ',"sub":"user_second"}')
    state = resolve(AuthRequest("GET", URL, {**API, "authorization": f"Bearer {token}"}),
                    keys.victim.options())
    auth = state.to_auth()
    assert auth is not None and auth.user_id == "user_second"

