"""Decoding and verifying Clerk session JWTs, check by check in Clerk's order.

pyjwt is not used for session tokens on purpose: Clerk reports a distinct
reason and message for each failed check and runs them in a fixed order
(decode, typ, alg, signature, then sub, aud, azp, iss, exp, nbf, iat), and a
hand-written path measured ~2x faster than ``jwt.decode`` per token. The
cryptography itself is ``cryptography``'s RSA verify.
"""

from __future__ import annotations

import binascii
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ._errors import TokenVerificationError

__all__ = ["DecodedJwt", "decode_jwt", "js_stringify", "verify_claims", "verify_signature"]

ENSURE_CLERK_JWT = "Make sure that this is a valid Clerk-generated JWT."
ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
}
CATEGORY_SESSION = "cl_B7d4PD111AAA"
CATEGORY_M2M = "cl_B7d4PD333AAA"
CATEGORY_IGNORE = "cl_I7d4PD111III"
OAUTH_TOKEN_TYPES = ("at+jwt", "application/at+jwt")

# The upper bound on a token we even try to decode. Real Clerk session tokens
# are 1-3 KB; browsers cap a cookie at 4 KB. 16 KiB keeps hostile input cheap.
MAX_TOKEN_LENGTH = 16 * 1024

_JWT_FORMAT = re.compile(r"[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+")
_B64_VALUES = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
_PKCS1 = PKCS1v15()


def _reject_constant(name: str) -> Any:
    # JSON.parse has no NaN or Infinity; Python's json would accept them.
    raise ValueError(f"invalid JSON constant {name}")


_json_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def _b64url_decode(segment: str) -> bytes:
    """Decode base64url as Clerk's ``rfc4648`` parser does in loose mode.

    Padding is optional (any number of trailing ``=``), the alphabet is strict,
    and non-zero trailing bits are an error.
    """
    data = segment.rstrip("=")
    # binascii's strict mode rejects anything outside the standard alphabet
    # (whitespace, "=" inside, non-ASCII); "+" and "/" are the standard
    # alphabet's own letters, so they are refused here first.
    if "+" in data or "/" in data:
        raise ValueError("invalid base64url character")
    remainder = len(data) % 4
    if remainder == 1:
        raise ValueError("invalid base64url length")
    if remainder:
        last = _B64_VALUES.get(data[-1])
        if last is None:
            raise ValueError("invalid base64url character")
        if last & (0x0F if remainder == 2 else 0x03):
            raise ValueError("non-zero trailing bits")
    standard = data.replace("-", "+").replace("_", "/") + "=" * (-remainder % 4)
    return binascii.a2b_base64(standard, strict_mode=True)


# The C scanner decode() calls; typeshed does not declare the attribute.
_scan_once: Callable[[str, int], tuple[Any, int]] = _json_decoder.scan_once  # type: ignore[attr-defined]


def _json_value(text: str) -> Any:
    """``_json_decoder.decode(text)``, skipping its whitespace handling when there is none."""
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:  # no value at offset 0 (leading whitespace, or not JSON)
        return _json_decoder.decode(text)
    if end != len(text):  # trailing whitespace or junk: let decode() accept or refuse it
        return _json_decoder.decode(text)
    return value


def _json_segment(segment: str) -> Any:
    return _json_value(_b64url_decode(segment).decode("utf-8", "replace"))


# Every token of an instance (and key) carries the same header segment, so its
# decode is remembered: at most _HEADER_MEMO_ENTRIES short segments that
# decoded to a JSON object. A flood of odd headers only empties the memo.
_HEADER_MEMO_ENTRIES = 64
_HEADER_MEMO_MAX_LENGTH = 512
_header_memo: dict[str, dict[str, Any]] = {}


def _remember_header(segment: str, header: Any) -> None:
    if isinstance(header, dict) and len(segment) <= _HEADER_MEMO_MAX_LENGTH:
        if len(_header_memo) >= _HEADER_MEMO_ENTRIES:
            _header_memo.clear()
        _header_memo[segment] = dict(header)


@dataclass(frozen=True, slots=True)
class DecodedJwt:
    """A JWT split and decoded, not yet verified.

    Attributes:
        header: The JOSE header (an empty dict if the JSON was not an object).
        payload: The claims (an empty dict if the JSON was not an object).
        signature: The raw signature bytes.
        signing_input: ``<header>.<payload>`` as sent, the signed bytes.
        raw: The token text.
    """

    header: dict[str, Any]
    payload: dict[str, Any]
    signature: bytes
    signing_input: str
    raw: str


def decode_jwt(token: str) -> DecodedJwt:
    """Split and decode a JWT without verifying it.

    Raises:
        TokenVerificationError: ``token-invalid`` if it is not three
            base64url-encoded parts, or the header or payload is not JSON.
    """
    parts = token.split(".") if len(token) <= MAX_TOKEN_LENGTH else ()
    if len(parts) != 3:
        raise TokenVerificationError(
            "token-invalid",
            "Invalid JWT form. A JWT consists of three parts separated by dots.",
        )
    try:
        header = _header_memo.get(parts[0])
        if header is None:
            header = _json_segment(parts[0])
            _remember_header(parts[0], header)
        else:
            header = dict(header)  # each DecodedJwt owns its header
        payload = _json_segment(parts[1])
        signature = _b64url_decode(parts[2])
    except (ValueError, RecursionError) as exc:
        raise TokenVerificationError(
            "token-invalid",
            "Invalid JWT form. The header, payload, or signature could not be decoded.",
        ) from exc
    # A JSON ``null`` header or payload makes Clerk's SDK throw a TypeError; we
    # call it what it is, an undecodable token. Other non-objects have no claims.
    if header is None or payload is None:
        raise TokenVerificationError(
            "token-invalid",
            "Invalid JWT form. The header, payload, or signature could not be decoded.",
        )
    return DecodedJwt(
        header=header if isinstance(header, dict) else {},
        payload=payload if isinstance(payload, dict) else {},
        signature=signature,
        signing_input=f"{parts[0]}.{parts[1]}",
        raw=token,
    )


def is_jwt_format(token: str) -> bool:
    """True if the token looks like ``a.b.c`` in the base64url alphabet (Clerk's regex)."""
    return _JWT_FORMAT.fullmatch(token) is not None


def is_machine_jwt(jwt: DecodedJwt) -> bool:
    """True for an OAuth access token (``typ: at+jwt``) or an M2M token (``sub`` ``mch_...``)."""
    sub = jwt.payload.get("sub")
    # The claim checks first: they are cheap, and decide for every session token.
    if not (
        jwt.header.get("typ") in OAUTH_TOKEN_TYPES
        or (isinstance(sub, str) and sub.startswith("mch_"))
    ):
        return False
    return is_jwt_format(jwt.raw)


def has_non_session_category(jwt: DecodedJwt) -> bool:
    """True if the header's ``cat`` names something other than a session token."""
    if "cat" not in jwt.header:
        return False
    return jwt.header["cat"] not in (CATEGORY_SESSION, CATEGORY_IGNORE)


def js_string(value: Any) -> str:
    """JavaScript's ``String(value)`` for a JSON value (e.g. a ``kid`` in a message)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return js_stringify(value)
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def js_stringify(value: Any) -> str:
    """Render a JSON value as JavaScript's ``JSON.stringify`` does, for messages.

    A missing value (``...``) renders as ``undefined``.
    """
    if value is ...:
        return "undefined"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(js_stringify(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(
                f"{json.dumps(k, ensure_ascii=False)}:{js_stringify(v)}" for k, v in value.items()
            )
            + "}"
        )
    return json.dumps(value, ensure_ascii=False)


def check_header(jwt: DecodedJwt, types: tuple[str, ...] = ("JWT",)) -> None:
    """Check ``typ`` and ``alg`` (RS256/384/512), in that order (Clerk's ``verifyJwt``).

    Args:
        jwt: The decoded token.
        types: The accepted ``typ`` values; with the default ``("JWT",)`` an
            absent ``typ`` passes too (OAuth access tokens pass their own types).

    Raises:
        TokenVerificationError: ``token-invalid`` or ``token-invalid-algorithm``.
    """
    header = jwt.header
    if ("typ" in header or types != ("JWT",)) and header.get("typ", ...) not in types:
        raise TokenVerificationError(
            "token-invalid",
            f"Invalid JWT type {js_stringify(header.get('typ', ...))}. "
            f'Expected "{", ".join(types)}".',
            ENSURE_CLERK_JWT,
        )
    alg = header.get("alg", ...)
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise TokenVerificationError(
            "token-invalid-algorithm",
            f"Invalid JWT algorithm {js_stringify(alg)}. Supported: RS256,RS384,RS512.",
            ENSURE_CLERK_JWT,
        )


def verify_signature(jwt: DecodedJwt, key: RSAPublicKey) -> bool:
    """Verify the RSASSA-PKCS1-v1_5 signature with the hash the header's ``alg`` names.

    The header must already have passed ``check_header``.
    """
    try:
        key.verify(jwt.signature, jwt.signing_input.encode(), _PKCS1, ALGORITHMS[jwt.header["alg"]])
    except InvalidSignature:
        return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def js_date_ms(seconds: float) -> float:
    """Milliseconds of ``new Date(0).setUTCSeconds(seconds)``: truncated, NaN beyond JS's range."""
    if type(seconds) is int and -8_640_000_000_000 <= seconds <= 8_640_000_000_000:
        return seconds * 1000  # the usual claim: exact, so the same number as below
    try:
        value = float(seconds)
    except OverflowError:  # an integer too large for a double
        return math.nan
    if not math.isfinite(value):
        return math.nan
    ms = math.trunc(value) * 1000
    return ms if abs(ms) <= 8.64e15 else math.nan


def js_utc_string(ms: float) -> str:
    """``Date.prototype.toUTCString()``: ``Thu, 26 Nov 2026 05:42:12 GMT``."""
    if math.isnan(ms):
        return "Invalid Date"
    try:
        return formatdate(math.floor(ms / 1000), usegmt=True)
    except (OverflowError, OSError, ValueError):
        return "Invalid Date"


def verify_claims(
    payload: dict[str, Any],
    *,
    now_ms: float,
    clock_skew_in_ms: float,
    audiences: Sequence[str],
    authorized_parties: Sequence[str],
    issuers: Sequence[str],
    issuer_check: Callable[[str], bool] | None,
) -> None:
    """Check the claims in Clerk's order: sub, aud, azp, iss, exp, nbf, iat.

    Raises:
        TokenVerificationError: The first failing check, with Clerk's reason and message.
    """
    sub = payload.get("sub", ...)
    if not isinstance(sub, str):
        raise TokenVerificationError(
            "token-verification-failed",
            f"Subject claim (sub) is required and must be a string. Received {js_stringify(sub)}.",
            ENSURE_CLERK_JWT,
        )
    if audiences:
        _check_audience(payload.get("aud", ...), audiences)
    if authorized_parties:
        azp = payload.get("azp", ...)
        if not azp or azp is ... or azp not in authorized_parties:
            raise TokenVerificationError(
                "token-invalid-authorized-parties",
                f"Invalid JWT Authorized party claim (azp) {js_stringify(azp)}. "
                f'Expected "{",".join(authorized_parties)}".',
            )
    if issuers or issuer_check is not None:
        iss = payload.get("iss", ...)
        ok = isinstance(iss, str) and (
            issuer_check(iss) if issuer_check is not None else iss in issuers
        )
        if not ok:
            expected = ",".join(issuers) if issuer_check is None else "<issuer check>"
            raise TokenVerificationError(
                "token-invalid-issuer",
                f'Invalid JWT issuer claim (iss) {js_stringify(iss)}. Expected "{expected}".',
                ENSURE_CLERK_JWT,
            )
    exp = payload.get("exp", ...)
    if not _is_number(exp):
        raise TokenVerificationError(
            "token-verification-failed",
            f"Invalid JWT expiry date claim (exp) {js_stringify(exp)}. Expected number.",
            ENSURE_CLERK_JWT,
        )
    now_text = None
    exp_ms = js_date_ms(exp)
    if exp_ms <= now_ms - clock_skew_in_ms or (math.isnan(exp_ms) and exp < 0):
        now_text = js_utc_string(now_ms)
        raise TokenVerificationError(
            "token-expired",
            f"JWT is expired. Expiry date: {js_utc_string(exp_ms)}, Current date: {now_text}.",
        )
    for claim in _NOT_AFTER_NOW:
        _check_not_after_now(payload, claim, now_ms=now_ms, skew=clock_skew_in_ms)


#: The optional time claims that must not lie in the future: (claim, what
#: Clerk calls it, reason, the start of Clerk's message), in Clerk's order.
_NOT_AFTER_NOW = (
    (
        "nbf",
        "not before date claim",
        "token-not-active-yet",
        "JWT cannot be used prior to not before date claim (nbf). Not before date",
    ),
    (
        "iat",
        "issued at date claim",
        "token-iat-in-the-future",
        "JWT issued at date claim (iat) is in the future. Issued at date",
    ),
)


def _check_not_after_now(
    payload: dict[str, Any], claim: tuple[str, str, str, str], *, now_ms: float, skew: float
) -> None:
    """Clerk's ``nbf``/``iat`` check: optional, a number, not later than now plus the skew."""
    name, description, reason, problem = claim
    value = payload.get(name, ...)
    if value is ...:
        return
    if not _is_number(value):
        raise TokenVerificationError(
            "token-verification-failed",
            f"Invalid JWT {description} ({name}) {js_stringify(value)}. Expected number.",
            ENSURE_CLERK_JWT,
        )
    ms = js_date_ms(value)
    if ms > now_ms + skew or (math.isnan(ms) and value > 0):
        raise TokenVerificationError(
            reason,
            f"{problem}: {js_utc_string(ms)}; Current date: {js_utc_string(now_ms)};",
        )


def _check_audience(aud: Any, audiences: Sequence[str]) -> None:
    # As in Clerk: only checked when the token has an audience at all.
    aud_list = [a for a in (aud if isinstance(aud, list) else [aud]) if a and a is not ...]
    if not aud_list:
        return
    expected = js_stringify(list(audiences))
    if isinstance(aud, str):
        if aud not in audiences:
            raise TokenVerificationError(
                "token-verification-failed",
                f"Invalid JWT audience claim (aud) {js_stringify(aud)}. "
                f'Is not included in "{expected}".',
                ENSURE_CLERK_JWT,
            )
    elif (
        isinstance(aud, list)
        and aud
        and all(isinstance(a, str) for a in aud)
        and not any(a in audiences for a in aud)
    ):
        raise TokenVerificationError(
            "token-verification-failed",
            f"Invalid JWT audience claim array (aud) {js_stringify(aud)}. "
            f'Is not included in "{expected}".',
            ENSURE_CLERK_JWT,
        )
