"""Tools an attacker has: re-encode, re-sign and splice JWTs at the byte level.

``TestIssuer.sign`` serialises a dict, so it can never produce duplicate keys,
odd whitespace or a header the attacker hand-wrote. These helpers work on the
raw JSON text and the raw signing input instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from clerk_middleware.testing import TestIssuer

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
}


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: Any) -> str:
    """A JSON value as a compact base64url segment."""
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unb64url(segment: str) -> bytes:
    """Decode a base64url segment (padding optional)."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Header and payload of a well-formed token, and its signature segment."""
    header, payload, signature = token.split(".")
    return json.loads(unb64url(header)), json.loads(unb64url(payload)), signature


def private_key(issuer: TestIssuer) -> rsa.RSAPrivateKey:
    """The issuer's private key (what only Clerk has)."""
    key = serialization.load_pem_private_key(issuer.private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def sign_raw(issuer: TestIssuer, header_json: str, payload_json: str, alg: str = "RS256") -> str:
    """Sign hand-written JSON text exactly as given (duplicate keys and all)."""
    signing_input = f"{b64url(header_json.encode())}.{b64url(payload_json.encode())}"
    signature = private_key(issuer).sign(signing_input.encode(), padding.PKCS1v15(), _HASHES[alg])
    return f"{signing_input}.{b64url(signature)}"


def with_header(token: str, **changes: Any) -> str:
    """The token with header fields changed (None removes one), signature kept."""
    header, _, signature = parts(token)
    for name, value in changes.items():
        if value is None:
            header.pop(name, None)
        else:
            header[name] = value
    return f"{b64url_json(header)}.{token.split('.')[1]}.{signature}"


def with_claims(token: str, **changes: Any) -> str:
    """The token with claims changed (None removes one), signature kept."""
    _, payload, signature = parts(token)
    for name, value in changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return f"{token.split('.', 1)[0]}.{b64url_json(payload)}.{signature}"


def with_raw_payload(token: str, payload_json: str) -> str:
    """The token with its payload replaced by hand-written JSON text, signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{b64url(payload_json.encode())}.{signature}"


def hmac_signed(header: dict[str, Any], payload: dict[str, Any], secret: bytes, alg: str) -> str:
    """An HS256/HS384/HS512 token keyed with ``secret`` (the algorithm-confusion attack)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = f"{b64url_json({**header, 'alg': alg})}.{b64url_json(payload)}"
    mac = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(mac)}"


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """An ``alg: none`` token with an empty signature."""
    return f"{b64url_json({**header, 'alg': 'none'})}.{b64url_json(payload)}."


def attacker_jwk(attacker: TestIssuer) -> dict[str, str]:
    """The attacker's own public key as a JWK, to embed in a header."""
    return attacker.jwk()
