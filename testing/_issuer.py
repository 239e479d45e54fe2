"""``TestIssuer``: mint real RS256 Clerk tokens for tests and demos.

Session tokens, handshake tokens, and the JWT forms of machine tokens: M2M
tokens (``sub`` ``mch_...``, header ``cat`` ``cl_B7d4PD333AAA``) and OAuth
access tokens (header ``typ`` ``at+jwt``), with the claims Clerk's
``M2MToken.fromJwtPayload`` and ``IdPOAuthAccessToken.fromJwtPayload`` read.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from clerk_middleware.core import ClerkOptions

__all__ = ["CATEGORY_M2M", "OrgClaims", "TestIssuer"]

#: The header ``cat`` of Clerk's M2M JWTs.
CATEGORY_M2M = "cl_B7d4PD333AAA"

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True, slots=True)
class OrgClaims:
    """An active organization, as carried in a session token.

    Attributes:
        id: Organization id (``org_...``).
        slug: Organization slug.
        role: Role without the ``org:`` prefix in v2 tokens (``"admin"``); v1 tokens
            carry it as given.
        permissions: v1: the full permission keys (``org:billing:manage``).
            v2: the permission names (``manage``, ``read``) of the ``per`` claim.
        feature_permission_map: v2 only: the ``fpm`` claim, one integer per org
            feature in ``features`` order, bit j (LSB first) granting permission j.
    """

    id: str
    slug: str = "acme"
    role: str = "admin"
    permissions: tuple[str, ...] = ()
    feature_permission_map: tuple[int, ...] = ()


class TestIssuer:
    """An RSA key pair that plays Clerk's part in signing session tokens.

    Tokens are real RS256 (or RS384/RS512) JWTs, verifiable with ``jwt_key`` or
    the ``jwks()`` document, so code under test runs its ordinary verification.

    Args:
        frontend_api: The instance's Frontend API host; it names the
            publishable key and the tokens' ``iss``.
        production: Make a ``pk_live_`` (production) instance instead of ``pk_test_``.
        key_size: RSA modulus size in bits.
        kid: Key id written into token headers and the JWKS document.
        clock: Returns Unix seconds; defaults to ``time.time``. Tokens are dated by it.
    """

    __test__ = False  # not a pytest test class despite its name

    def __init__(
        self,
        frontend_api: str = "happy-hippo-1.clerk.accounts.dev",
        *,
        production: bool = False,
        key_size: int = 2048,
        kid: str = "ins_test_key_1",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.frontend_api = frontend_api
        self.production = production
        self.kid = kid
        self.clock = clock
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        prefix = "pk_live_" if production else "pk_test_"
        self.publishable_key = prefix + base64.b64encode(f"{frontend_api}$".encode()).decode()
        self.secret_key = ("sk_live_" if production else "sk_test_") + secrets.token_hex(16)

    @property
    def issuer(self) -> str:
        """The ``iss`` claim of minted tokens: ``https://<frontend_api>``."""
        return f"https://{self.frontend_api}"

    @property
    def jwt_key(self) -> str:
        """The public key as PEM, for ``ClerkOptions(jwt_key=...)`` / ``CLERK_JWT_KEY``."""
        return (
            self._private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @property
    def private_key_pem(self) -> str:
        """The private key as PKCS#8 PEM (for tools that sign on the issuer's behalf)."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def jwk(self) -> dict[str, str]:
        """The public key as a JWK, as Clerk's ``/v1/jwks`` lists it."""
        numbers = self._private_key.public_key().public_numbers()
        return {
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document (``{"keys": [...]}``) served by Clerk's Backend API."""
        return {"keys": [self.jwk()]}

    def options(self, *, networkless: bool = True, **overrides: Any) -> ClerkOptions:
        """Return ``ClerkOptions`` for this instance.

        Args:
            networkless: Include ``jwt_key`` so no JWKS fetch is needed.
            **overrides: Any other ``ClerkOptions`` field (``clock`` defaults to the issuer's).
        """
        values: dict[str, Any] = {
            "secret_key": self.secret_key,
            "publishable_key": self.publishable_key,
            "clock": self.clock,
        }
        if networkless:
            values["jwt_key"] = self.jwt_key
        values.update(overrides)
        return ClerkOptions(**values)

    def sign(
        self,
        payload: Mapping[str, Any],
        *,
        header: Mapping[str, Any] | None = None,
        alg: str = "RS256",
    ) -> str:
        """Sign any payload as a JWT (the low-level primitive the other minters use).

        Args:
            payload: The claims, serialised as given.
            header: Header fields; ``alg``, ``typ`` and ``kid`` default to ``alg``,
                ``"JWT"`` and this issuer's kid; a ``None`` value removes a field.
            alg: ``RS256``, ``RS384`` or ``RS512``.
        """
        full_header: dict[str, Any] = {"alg": alg, "typ": "JWT", "kid": self.kid}
        for name, value in (header or {}).items():
            if value is None:
                full_header.pop(name, None)
            else:
                full_header[name] = value
        signing_input = (
            _b64url(json.dumps(full_header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(dict(payload), separators=(",", ":")).encode())
        )
        signature = self._private_key.sign(
            signing_input.encode(), padding.PKCS1v15(), _HASHES[alg]()
        )
        return f"{signing_input}.{_b64url(signature)}"

    def session_claims(
        self,
        user_id: str = "user_2abc",
        *,
        session_id: str | None = "sess_2abc",
        status: Literal["active", "pending"] | str | None = "active",
        org: OrgClaims | None = None,
        version: Literal[1, 2] = 2,
        features: str | None = None,
        plans: str | None = None,
        fva: Sequence[int] | None = None,
        actor: Mapping[str, Any] | None = None,
        azp: str | None = "http://localhost:3000",
        issued_at: float | None = None,
        lifetime: float = 60,
        not_before: float | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build the claims of a session token as Clerk issues it.

        Args:
            user_id: ``sub``.
            session_id: ``sid`` (omitted if None).
            status: ``sts``: ``"active"``, ``"pending"`` (an after-auth task is
                open) or None to omit it.
            org: The active organization, as v2 ``o`` or v1 ``org_*`` claims.
            version: 2 (current tokens, ``v: 2``) or 1 (legacy claims).
            features: ``fea`` claim, e.g. ``"o:billing,u:profile"``.
            plans: ``pla`` claim, e.g. ``"u:free,o:pro"``.
            fva: Factor verification ages in minutes, ``[first, second]``.
            actor: ``act`` claim (impersonation).
            azp: Authorized party (origin of the app); None omits it.
            issued_at: ``iat``; defaults to the clock (``nbf`` is ``iat - 10``).
            lifetime: Seconds until ``exp``.
            not_before: ``nbf`` override.
            extra: Further claims, overriding the above.
        """
        now = int(self.clock()) if issued_at is None else issued_at
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user_id,
            "iat": now,
            "nbf": now - 10 if not_before is None else not_before,
            "exp": now + lifetime,
        }
        if azp is not None:
            claims["azp"] = azp
        if session_id is not None:
            claims["sid"] = session_id
        if status is not None:
            claims["sts"] = status
        if version == 2:
            claims["v"] = 2
            if org is not None:
                o: dict[str, Any] = {"id": org.id, "slg": org.slug, "rol": org.role}
                if org.permissions:
                    o["per"] = ",".join(org.permissions)
                if org.feature_permission_map:
                    o["fpm"] = ",".join(str(n) for n in org.feature_permission_map)
                claims["o"] = o
        elif org is not None:
            claims["org_id"] = org.id
            claims["org_slug"] = org.slug
            claims["org_role"] = org.role
            claims["org_permissions"] = list(org.permissions)
        if features is not None:
            claims["fea"] = features
        if plans is not None:
            claims["pla"] = plans
        if fva is not None:
            claims["fva"] = list(fva)
        if actor is not None:
            claims["act"] = dict(actor)
        claims.update(extra or {})
        return claims

    def session_token(
        self, user_id: str = "user_2abc", *, alg: str = "RS256", **kwargs: Any
    ) -> str:
        """Mint a signed session token; arguments as in ``session_claims``."""
        return self.sign(self.session_claims(user_id, **kwargs), alg=alg)

    def pending_token(self, user_id: str = "user_2abc", **kwargs: Any) -> str:
        """Mint a token of a pending session (``sts: "pending"``, no organization yet)."""
        return self.session_token(user_id, status="pending", **kwargs)

    def expired_token(self, user_id: str = "user_2abc", **kwargs: Any) -> str:
        """Mint a token that expired a minute ago (beyond the default 5 s skew)."""
        now = self.clock()
        return self.session_token(user_id, issued_at=int(now) - 120, lifetime=60, **kwargs)

    def _dated(self, issued_at: float | None, expires_in: float) -> dict[str, Any]:
        now = int(self.clock()) if issued_at is None else issued_at
        return {"iat": now, "nbf": now - 10, "exp": now + expires_in}

    @staticmethod
    def _apply(claims: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
        for name, value in extra.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def m2m_claims(
        self,
        machine_id: str = "mch_test",
        *,
        scopes: Sequence[str] = (),
        claims: Mapping[str, Any] | None = None,
        expires_in: float = 3600,
        issued_at: float | None = None,
        jti: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """The payload of an M2M token in JWT form, as Clerk mints it.

        ``iss``, ``sub`` (the machine), ``iat``, ``nbf`` (``iat - 10``), ``exp``
        and ``jti`` (``mt_...``); with ``scopes``, both the ``aud`` list and the
        space-separated ``scopes`` claim Clerk reads them from; custom
        ``claims`` at the top level, where Clerk finds them.

        Args:
            machine_id: ``sub``: the machine the token stands for (``mch_...``).
            scopes: The machines it may call (``mch_...``).
            claims: Custom claims.
            expires_in: Seconds until ``exp``.
            issued_at: ``iat``; defaults to the clock.
            jti: The token id; a random ``mt_...`` by default.
            **extra: Claims to set last; a ``None`` value removes a claim.

        Returns:
            The claims.
        """
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": machine_id,
            **self._dated(issued_at, expires_in),
            "jti": jti or f"mt_{secrets.token_hex(16)}",
        }
        if scopes:
            body["aud"] = list(scopes)
            body["scopes"] = " ".join(scopes)
        body.update(claims or {})
        return self._apply(body, extra)

    def m2m_jwt(
        self,
        machine_id: str = "mch_test",
        *,
        scopes: Sequence[str] = (),
        claims: Mapping[str, Any] | None = None,
        expires_in: float = 3600,
        category: str | None = CATEGORY_M2M,
        jti: str | None = None,
        alg: str = "RS256",
        **extra: Any,
    ) -> str:
        """Mint an M2M token in JWT form (verifiable networklessly with ``jwt_key``).

        Args:
            machine_id: ``sub`` (``mch_...``).
            scopes: The machines it may call.
            claims: Custom claims.
            expires_in: Seconds until ``exp``.
            category: The header ``cat``; None omits it (Clerk accepts both).
            jti: The token id; a random ``mt_...`` by default.
            alg: ``RS256``, ``RS384`` or ``RS512``.
            **extra: As for ``m2m_claims`` (``issued_at=`` included).

        Returns:
            The signed token.
        """
        body = self.m2m_claims(
            machine_id, scopes=scopes, claims=claims, expires_in=expires_in, jti=jti, **extra
        )
        return self.sign(body, header={"cat": category}, alg=alg)

    def oauth_claims(
        self,
        user_id: str = "user_2abc",
        *,
        client_id: str = "client_test",
        scopes: Sequence[str] = (),
        audience: str | Sequence[str] | None = None,
        expires_in: float = 3600,
        issued_at: float | None = None,
        jti: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """The payload of an OAuth access token in JWT form (RFC 9068).

        ``iss``, ``sub`` (the user), ``client_id``, ``iat``, ``nbf``, ``exp``,
        ``jti`` (``oat_...``), ``scp`` (the scopes, a list: Clerk reads it
        before the space-separated ``scope``) and ``aud`` when an audience is
        given.

        Args:
            user_id: ``sub``: the user who authorized the client.
            client_id: The OAuth application's client id.
            scopes: The granted scopes.
            audience: ``aud``: one audience (kept a string) or several (a list).
            expires_in: Seconds until ``exp``.
            issued_at: ``iat``; defaults to the clock.
            jti: The token id; a random ``oat_...`` by default.
            **extra: Claims to set last; a ``None`` value removes a claim
                (``scp=None, scope="a b"`` gives the space-separated form).

        Returns:
            The claims.
        """
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user_id,
            "client_id": client_id,
            **self._dated(issued_at, expires_in),
            "jti": jti or f"oat_{secrets.token_hex(16)}",
        }
        if scopes:
            body["scp"] = list(scopes)
        if audience is not None:
            body["aud"] = audience if isinstance(audience, str) else list(audience)
        return self._apply(body, extra)

    def oauth_jwt(
        self,
        user_id: str = "user_2abc",
        *,
        client_id: str = "client_test",
        scopes: Sequence[str] = (),
        audience: str | Sequence[str] | None = None,
        typ: str | None = "at+jwt",
        expires_in: float = 3600,
        jti: str | None = None,
        alg: str = "RS256",
        **extra: Any,
    ) -> str:
        """Mint an OAuth access token in JWT form (header ``typ`` ``at+jwt``).

        Args:
            user_id: ``sub``.
            client_id: The OAuth application's client id.
            scopes: The granted scopes.
            audience: ``aud``.
            typ: The header ``typ`` (``at+jwt`` or ``application/at+jwt`` for
                Clerk to read it as an OAuth token; None omits it).
            expires_in: Seconds until ``exp``.
            jti: The token id; a random ``oat_...`` by default.
            alg: ``RS256``, ``RS384`` or ``RS512``.
            **extra: As for ``oauth_claims`` (``issued_at=`` included).

        Returns:
            The signed token.
        """
        body = self.oauth_claims(
            user_id,
            client_id=client_id,
            scopes=scopes,
            audience=audience,
            expires_in=expires_in,
            jti=jti,
            **extra,
        )
        return self.sign(body, header={"typ": typ}, alg=alg)

    def handshake_token(self, cookie_directives: Sequence[str], **header: Any) -> str:
        """Mint a ``__clerk_handshake`` token carrying Set-Cookie directives.

        Args:
            cookie_directives: Set-Cookie header values, e.g.
                ``["__session=<jwt>; Path=/", "__client_uat=1700000000; Path=/"]``.
            **header: Extra JWT header fields.
        """
        return self.sign({"handshake": list(cookie_directives)}, header=header)
