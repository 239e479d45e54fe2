"""Machine tokens: what kind a token is, whether it is accepted, and the auth objects.

Pure functions of the token text, as ``@clerk/backend`` 3.25.0 decides them
(``tokens/machine.ts``, ``tokens/authObjects.ts``). Verification and the
``accepts_token`` dispatch build on these; nothing here performs I/O.

Token types:

- ``api_key``: opaque, prefix ``ak_``.
- ``m2m_token``: opaque, prefix ``mt_``; or a JWT whose ``sub`` starts ``mch_``.
- ``oauth_token``: opaque, prefix ``oat_``; or a JWT whose header ``typ`` is
  ``at+jwt`` or ``application/at+jwt``.
- ``session_token``: anything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ._errors import TokenVerificationError
from ._jwt import OAUTH_TOKEN_TYPES, decode_jwt, is_jwt_format, js_string, js_stringify

MachineTokenType = Literal["api_key", "m2m_token", "oauth_token"]
TokenType = Literal["session_token", "api_key", "m2m_token", "oauth_token"]
#: Clerk's ``acceptsToken``: one type, ``"any"``, or several types.
AcceptsToken = TokenType | Literal["any"] | tuple[TokenType, ...]

#: Every token type Clerk names, session first.
TOKEN_TYPES: Final[tuple[TokenType, ...]] = ("session_token", "api_key", "m2m_token", "oauth_token")
#: The machine token types.
MACHINE_TOKEN_TYPES: Final[tuple[MachineTokenType, ...]] = ("api_key", "m2m_token", "oauth_token")

M2M_TOKEN_PREFIX: Final = "mt_"  # noqa: S105 - not a secret
OAUTH_TOKEN_PREFIX: Final = "oat_"  # noqa: S105 - not a secret
API_KEY_PREFIX: Final = "ak_"
M2M_SUBJECT_PREFIX: Final = "mch_"
#: The header ``cat`` of an M2M JWT.
CATEGORY_M2M: Final = "cl_B7d4PD333AAA"


def _decoded_header_and_payload(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if not is_jwt_format(token):
        return None
    try:
        jwt = decode_jwt(token)
    except TokenVerificationError:
        return None
    return jwt.header, jwt.payload


def is_oauth_jwt(token: str) -> bool:
    """True for a JWT whose header ``typ`` is ``at+jwt`` or ``application/at+jwt``.

    Args:
        token: The token text from the ``Authorization`` header.

    Returns:
        Whether Clerk reads it as an OAuth access token in JWT form.
    """
    decoded = _decoded_header_and_payload(token)
    return decoded is not None and decoded[0].get("typ") in OAUTH_TOKEN_TYPES


def is_m2m_jwt(token: str) -> bool:
    """True for a JWT whose ``sub`` is a string starting ``mch_``.

    Args:
        token: The token text from the ``Authorization`` header.

    Returns:
        Whether Clerk reads it as an M2M token in JWT form.
    """
    decoded = _decoded_header_and_payload(token)
    if decoded is None:
        return False
    sub = decoded[1].get("sub")
    return isinstance(sub, str) and sub.startswith(M2M_SUBJECT_PREFIX)


def is_machine_token(token: str) -> bool:
    """True for an opaque machine token (by prefix) or a machine JWT.

    Args:
        token: The token text from the ``Authorization`` header.

    Returns:
        Whether the token is a machine token of any type.
    """
    return (
        token.startswith((M2M_TOKEN_PREFIX, OAUTH_TOKEN_PREFIX, API_KEY_PREFIX))
        or is_oauth_jwt(token)
        or is_m2m_jwt(token)
    )


def machine_token_type(token: str) -> MachineTokenType:
    """The type of a machine token, checked in Clerk's order: M2M, OAuth, API key.

    Args:
        token: A token for which ``is_machine_token`` is true.

    Returns:
        ``"m2m_token"``, ``"oauth_token"`` or ``"api_key"``.

    Raises:
        ValueError: The token is not a machine token.
    """
    if token.startswith(M2M_TOKEN_PREFIX) or is_m2m_jwt(token):
        return "m2m_token"
    if token.startswith(OAUTH_TOKEN_PREFIX) or is_oauth_jwt(token):
        return "oauth_token"
    if token.startswith(API_KEY_PREFIX):
        return "api_key"
    raise ValueError("Unknown machine token type")


def token_type_of(token: str | None) -> TokenType:
    """The type of a header token; ``session_token`` for no token or a non-machine one.

    Args:
        token: The Bearer token, or None.

    Returns:
        The token type Clerk's ``acceptsToken`` array check compares.
    """
    if token and is_machine_token(token):
        return machine_token_type(token)
    return "session_token"


def is_token_type_accepted(token_type: str | None, accepts_token: str | Sequence[str]) -> bool:
    """Clerk's ``isTokenTypeAccepted``: ``"any"`` takes every type, else membership.

    Args:
        token_type: The token's type, or None (never accepted).
        accepts_token: ``"any"``, one type, or a list of types.

    Returns:
        Whether the type is accepted.
    """
    if not token_type:
        return False
    if accepts_token == "any":  # noqa: S105 - not a secret
        return True
    if isinstance(accepts_token, str):
        return token_type == accepts_token
    return token_type in accepts_token


def machine_error_message(message: str, code: str, status: int | None) -> str:
    """Clerk's ``MachineTokenVerificationError.getFullMessage()``.

    Args:
        message: The error's message.
        code: ``token-invalid``, ``secret-key-invalid``, ``unexpected-error`` or
            ``token-verification-failed``.
        status: The Backend API's HTTP status, if there was a response.

    Returns:
        ``"<message> (code=<code>, status=<status|n/a>)"``.
    """
    return f"{message} (code={code}, status={status or 'n/a'})"


def api_error_code(status: int) -> str:
    """Clerk's mapping of a Backend API error status onto a machine error code.

    Args:
        status: The HTTP status of the failed verification call.

    Returns:
        ``secret-key-invalid`` for 401, ``token-invalid`` for 404, else
        ``unexpected-error``.
    """
    if status == 401:
        return "secret-key-invalid"
    if status == 404:
        return "token-invalid"
    return "unexpected-error"


@dataclass(frozen=True, slots=True)
class MachineAuth:
    """The auth object of a request authenticated (or not) by a machine token.

    ``has()`` is always False, as in Clerk. Fields a type does not carry stay None.

    Attributes:
        token_type: ``"api_key"``, ``"m2m_token"`` or ``"oauth_token"``.
        is_authenticated: True when the token verified.
        id: The token's id (``jti`` for JWT forms).
        subject: Whom the token stands for (``user_``, ``org_``, ``mch_``...).
        scopes: The token's scopes, or None when unauthenticated.
        name: API keys: the key's name.
        claims: API keys and M2M tokens: custom claims, or None.
        user_id: API keys (subject ``user_...``) and OAuth tokens: the user.
        org_id: API keys: the organization (subject ``org_...``).
        machine_id: M2M tokens: the machine (the subject).
        client_id: OAuth tokens: the OAuth application's client id.
        token: The raw token, or None when unauthenticated.
    """

    token_type: MachineTokenType
    is_authenticated: bool = False
    id: str | None = None
    subject: str | None = None
    scopes: list[str] | None = None
    name: str | None = None
    claims: Mapping[str, Any] | None = None
    user_id: str | None = None
    org_id: str | None = None
    machine_id: str | None = None
    client_id: str | None = None
    token: str | None = field(default=None, repr=False)  # a credential: never in reprs

    def get_token(self) -> str | None:
        """The raw machine token (None when unauthenticated).

        Returns:
            The token text, or None.
        """
        return self.token if self.is_authenticated else None

    def has(self, **_params: Any) -> bool:
        """Always False: machine tokens carry no roles or permissions (as in Clerk).

        Args:
            **_params: Ignored authorization parameters.

        Returns:
            False.
        """
        return False


@dataclass(frozen=True, slots=True)
class InvalidTokenAuth:
    """Clerk's invalid-token auth object: the token's type is outside an accepted list.

    Returned by ``to_auth(accepts_token=(...))`` (and ``auth(accepts_token=[...])``
    in the adapters) when the request's token is of none of the listed types.

    Attributes:
        token_type: Always None.
        is_authenticated: Always False.
    """

    token_type: None = None
    is_authenticated: bool = False

    def get_token(self) -> None:
        """Always None.

        Returns:
            None.
        """
        return None

    def has(self, **_params: Any) -> bool:
        """Always False.

        Args:
            **_params: Ignored authorization parameters.

        Returns:
            False.
        """
        return False


def unauthenticated_machine_auth(token_type: MachineTokenType) -> MachineAuth:
    """Clerk's ``unauthenticatedMachineObject`` for one type.

    Args:
        token_type: The machine token type.

    Returns:
        An unauthenticated object: every identity field None.
    """
    return MachineAuth(token_type=token_type)


def authenticated_machine_auth(
    token_type: MachineTokenType, token: str, data: Mapping[str, Any]
) -> MachineAuth:
    """Clerk's ``authenticatedMachineObject`` from verified token data.

    Args:
        token_type: The machine token type.
        token: The raw token.
        data: The verified resource: ``id``, ``subject``, ``scopes`` and, per
            type, ``name``/``claims`` (API key), ``claims`` (M2M), ``client_id`` (OAuth).

    Returns:
        An authenticated object of that type.
    """
    subject = data.get("subject")
    scopes = data.get("scopes")
    common: dict[str, Any] = {
        "token_type": token_type,
        "is_authenticated": True,
        "id": data.get("id"),
        "subject": subject,
        "scopes": list(scopes) if isinstance(scopes, (list, tuple)) else scopes,
        "token": token,
    }
    text = subject if isinstance(subject, str) else ""
    if token_type == "api_key":  # noqa: S105 - not a secret
        return MachineAuth(
            **common,
            name=data.get("name"),
            claims=data.get("claims"),
            user_id=subject if text.startswith("user_") else None,
            org_id=subject if text.startswith("org_") else None,
        )
    if token_type == "m2m_token":  # noqa: S105 - not a secret
        return MachineAuth(**common, claims=data.get("claims"), machine_id=subject)
    return MachineAuth(**common, user_id=subject, client_id=data.get("client_id"))


#: The claims of an M2M JWT that are not its custom claims (Clerk's ``M2M_RESERVED_JWT_CLAIMS``).
_M2M_RESERVED_CLAIMS: Final = frozenset({"iss", "sub", "exp", "nbf", "iat", "jti"})


def _split_scopes(value: Any) -> list[str]:
    # Clerk calls ``value.split(" ")``, which throws for anything but a string:
    # such a token is refused (the flow signs the request out).
    if not isinstance(value, str):
        raise TypeError("scopes must be a space-separated string")
    return value.split(" ")


def m2m_data_from_jwt(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Clerk's ``M2MToken.fromJwtPayload``: the verified data of an M2M JWT.

    Args:
        payload: The verified claims.

    Returns:
        ``id`` (``jti``), ``subject``, ``scopes`` (the ``scopes`` claim split on
        spaces, else ``aud``, else empty) and ``claims`` (the custom claims, or None).

    Raises:
        TypeError: ``scopes`` is present but not a string (Clerk throws too).
    """
    scopes = payload.get("scopes")
    if scopes is not None:
        scope_list: Any = _split_scopes(scopes)
    else:
        aud = payload.get("aud")
        scope_list = aud if aud is not None else []
    custom = {k: v for k, v in payload.items() if k not in _M2M_RESERVED_CLAIMS}
    jti = payload.get("jti")
    return {
        "id": jti if jti is not None else "",
        "subject": payload.get("sub"),
        "scopes": scope_list,
        "claims": custom or None,
    }


def oauth_data_from_jwt(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Clerk's ``IdPOAuthAccessToken.fromJwtPayload``: the verified data of an OAuth JWT.

    Args:
        payload: The verified claims.

    Returns:
        ``id`` (``jti``), ``client_id``, ``subject``, ``scopes`` (``scp``, else
        ``scope`` split on spaces, else empty) and ``aud``.

    Raises:
        TypeError: ``scope`` is used but is not a string (Clerk throws too).
    """
    scp = payload.get("scp")
    if scp is not None:
        scopes: Any = scp
    else:
        scope = payload.get("scope")
        scopes = _split_scopes(scope) if scope is not None else []
    jti = payload.get("jti")
    client_id = payload.get("client_id")
    return {
        "id": jti if jti is not None else "",
        "client_id": client_id if client_id is not None else "",
        "subject": payload.get("sub"),
        "scopes": scopes,
        "aud": payload.get("aud"),
    }


#: The ``object`` of the Backend API's OAuth access token; Clerk reads ``client_id``
#: only from a response that names it (others are used as they are, camelCase keys).
OAUTH_ACCESS_TOKEN_OBJECT: Final = "clerk_idp_oauth_access_token"  # noqa: S105 - not a secret


def oauth_data_from_api(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields Clerk reads from the Backend API's verified OAuth access token.

    Args:
        data: The response's JSON object.

    Returns:
        ``data`` with ``client_id`` as Clerk's resource has it.
    """
    fields_ = dict(data)
    if data.get("object") != OAUTH_ACCESS_TOKEN_OBJECT:
        fields_["client_id"] = data.get("clientId")
    return fields_


def oauth_audience_error(aud: Any, audiences: Sequence[str]) -> str | None:
    """Clerk's ``assertOAuthAudienceClaim``: why ``aud`` fails the expected audiences.

    Args:
        aud: The token's ``aud`` (``...`` when absent).
        audiences: The expected audiences (``ClerkOptions.audience``); none: no check.

    Returns:
        Clerk's message for a missing, malformed or mismatching ``aud``, or None.
    """
    expected = [a for a in audiences if a]
    if not expected:
        return None
    found: list[Any] | None
    if isinstance(aud, str):
        found = [aud] if aud else None
    elif isinstance(aud, list):
        found = aud
    else:
        found = None  # falsy values and non-string scalars alike
    if not found or not all(isinstance(a, str) and a for a in found):
        return (
            f"Invalid OAuth audience claim (aud) {js_stringify(aud)}. Expected a non-empty "
            "string or a non-empty array of non-empty strings."
        )
    if not any(a in expected for a in found):
        return (
            f"OAuth audience mismatch. Verification expected audience {js_stringify(expected)}, "
            f"but incoming token has aud {js_stringify(aud)}."
        )
    return None


def invalid_jwt_type_message(typ: Any) -> str:
    """Clerk's message for a JWT-form machine token that is neither M2M nor OAuth.

    Args:
        typ: The header's ``typ`` (``...`` when absent).

    Returns:
        ``"Invalid JWT type: <typ|missing>. Expected one of: ..."``.
    """
    shown = "missing" if typ is None or typ is ... else js_string(typ)
    return (
        f"Invalid JWT type: {shown}. Expected one of: {', '.join(OAUTH_TOKEN_TYPES)} for OAuth, "
        "or sub starting with 'mch_' for M2M"
    )
