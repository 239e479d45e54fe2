"""The auth object: who is signed in, in which organization, and what they may do.

Built from verified session claims exactly as Clerk's ``signedInAuthObject`` /
``signedOutAuthObject`` (``@clerk/shared`` ``jwtPayloadParser`` and
``authorization``) build theirs, with snake_case names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final, Literal, TypedDict

from ._options import ClerkOptions
from ._resources import session_token, session_token_async

__all__ = [
    "Auth",
    "ReverificationConfig",
    "auth_from_claims",
    "auth_identity",
    "signed_out_auth",
]

ReverificationLevel = Literal["first_factor", "second_factor", "multi_factor"]
ReverificationPreset = Literal["strict_mfa", "strict", "moderate", "lax"]


class ReverificationConfig(TypedDict):
    """A custom reverification requirement for ``has(reverification=...)``."""

    level: ReverificationLevel
    after_minutes: float


_PRESETS: dict[str, tuple[float, str]] = {
    "strict_mfa": (10, "multi_factor"),
    "strict": (10, "second_factor"),
    "moderate": (60, "second_factor"),
    "lax": (1440, "second_factor"),
}
_LEVELS = frozenset({"first_factor", "second_factor", "multi_factor"})
_ORG_SCOPES = frozenset({"o", "org", "organization"})
_USER_SCOPES = frozenset({"u", "user"})
_ORG_PREFIX = re.compile(r"^(org:)*")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only, like JavaScript's \d
_UNSET: Any = object()
#: Distinct (``per``, ``fpm``, ``fea``) claim strings whose organization
#: permissions are remembered: an app has a handful of roles and feature sets,
#: and parsing them is most of the cost of building an auth object.
ORG_PERMISSION_MEMO_ENTRIES: Final = 256
# Longer claim strings are parsed every time (bounds the memo's memory).
_ORG_PERMISSION_MEMO_MAX_CHARS = 1024
_org_permission_memo: dict[tuple[str, str, str | None], tuple[str, ...]] = {}


def _prefix_with_org(value: str) -> str:
    return _ORG_PREFIX.sub("org:", value, count=1)


def split_by_scope(claim: Any) -> tuple[list[str], list[str]]:
    """Split a ``fea``/``pla`` claim into (organization entries, user entries).

    Raises:
        ValueError: An entry has no ``scope:`` prefix (Clerk throws here too).
        TypeError: The claim is not a string.
    """
    org: list[str] = []
    user: list[str] = []
    if not claim:
        return org, user
    if not isinstance(claim, str):
        raise TypeError("feature claim is not a string")
    for raw in claim.split(","):
        part = raw.strip()
        scope, colon, value = part.partition(":")
        if not colon:
            raise ValueError(f"Invalid claim element (missing colon): {part}")
        if scope == "o":
            org.append(value)
        elif scope == "u":
            user.append(value)
        elif scope in ("ou", "uo"):
            org.append(value)
            user.append(value)
    return org, user


def _permission_bits(decimal: str, minimum: int) -> list[int]:
    # Python's int is arbitrary precision, so the bitmap needs no long division.
    if not _DIGITS.fullmatch(decimal):
        return []
    value = int(decimal)
    bits = [(value >> i) & 1 for i in range(max(value.bit_length(), 1))]
    return bits + [0] * (minimum - len(bits))


def _org_permissions(o: Mapping[str, Any], features: list[str]) -> list[str]:
    per, fpm = o.get("per"), o.get("fpm")
    if not per or not fpm:
        return []
    if not isinstance(per, str) or not isinstance(fpm, str):
        raise TypeError("per/fpm claims are not strings")
    permissions = [p.strip() for p in per.split(",")]
    bitmaps = [_permission_bits(n.strip(), len(permissions)) for n in fpm.split(",")]
    granted: list[str] = []
    for index, feature in enumerate(features):
        if index >= len(bitmaps):
            continue
        for bit, permission in zip(bitmaps[index], permissions, strict=False):
            if bit:
                granted.append(f"org:{feature}:{permission}")
    return granted


def _valid_factor_age(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value == -1 or value >= 0)
    )


def _signed_in_org_permissions(o: Mapping[str, Any], fea: Any) -> list[str]:
    """``_org_permissions(o, split_by_scope(fea)[0])``, remembered for string claims.

    Only successful parses are remembered, so a malformed claim raises every time.
    """
    per, fpm = o.get("per"), o.get("fpm")
    key: tuple[str, str, str | None] | None = None
    if (
        type(per) is str
        and type(fpm) is str
        and (fea is None or type(fea) is str)
        and len(per) + len(fpm) + len(fea or "") <= _ORG_PERMISSION_MEMO_MAX_CHARS
    ):
        key = (per, fpm, fea)
        known = _org_permission_memo.get(key)
        if known is not None:
            return list(known)
    org_features, _ = split_by_scope(fea)
    permissions = _org_permissions(o, org_features)
    if key is not None:
        if len(_org_permission_memo) >= ORG_PERMISSION_MEMO_ENTRIES:
            _org_permission_memo.clear()
        _org_permission_memo[key] = tuple(permissions)
    return permissions


@dataclass(frozen=True, slots=True)
class Auth:
    """The authentication state of one request, as handlers see it.

    A signed-out object (and, by default, a pending session) has ``user_id``
    None and every identity field None; ``has()`` is then always False.

    Attributes:
        user_id: ``sub``: the user's id, or None when signed out.
        session_id: ``sid``.
        session_status: ``"active"``, ``"pending"`` or None (token without ``sts``,
            or signed out). A pending session treated as signed out keeps ``"pending"``.
        session_claims: All verified claims, or None when signed out.
        org_id: Active organization id.
        org_role: Role in it, ``org:``-prefixed for v2 tokens.
        org_slug: Organization slug.
        org_permissions: Permission keys (``org:<feature>:<permission>``).
        actor: The ``act`` claim when someone impersonates the user.
        factor_verification_age: ``fva``: minutes since first/second factor verification.
        token: The raw session token, or None when signed out.
        is_signed_in: True for a signed-in (or pending-as-signed-in) session.
    """

    user_id: str | None = None
    session_id: str | None = None
    session_status: str | None = None
    session_claims: Mapping[str, Any] | None = None
    org_id: str | None = None
    org_role: str | None = None
    org_slug: str | None = None
    org_permissions: list[str] | None = None
    actor: Any = None
    factor_verification_age: Any = None
    token: str | None = field(default=None, repr=False)  # a credential: never in reprs
    is_signed_in: bool = False
    token_type: Literal["session_token"] = "session_token"  # noqa: S105 - not a secret
    #: The request's options, for ``get_token(template=...)``: set by the adapters'
    #: ``auth()``; left unset on objects built elsewhere (read with getattr).
    _options: ClerkOptions | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def is_authenticated(self) -> bool:
        """Alias of ``is_signed_in`` (Clerk's ``isAuthenticated``)."""
        return self.is_signed_in

    def get_token(
        self, *, template: str | None = None, expires_in_seconds: int | None = None
    ) -> str | None:
        """The session token, or a new one from a JWT template (Clerk's ``getToken()``).

        Without arguments: the request's own session token, for calling your
        own APIs (no network). With ``template`` and/or ``expires_in_seconds``:
        a new token from the Backend API (``POST /v1/sessions/{sid}/tokens/
        {template}``), e.g. for a third-party service configured in Clerk.

        Args:
            template: A JWT template's name.
            expires_in_seconds: The new token's lifetime.

        Returns:
            The token; None when signed out.

        Raises:
            BackendApiError: The Backend API call failed.
            RuntimeError: A new token is asked on a running event loop (use
                ``get_token_async``), or of an object that no request's ``auth()``
                returned (use ``core.session_token(options, ...)``).
            ValueError: ``expires_in_seconds`` is not a positive whole number.
        """
        if not self.is_signed_in:
            return None
        if template is None and expires_in_seconds is None:
            return self.token
        if not self.session_id:
            return None
        return session_token(
            self._bound_options(),
            self.session_id,
            template=template,
            expires_in_seconds=expires_in_seconds,
        )

    async def get_token_async(
        self, *, template: str | None = None, expires_in_seconds: int | None = None
    ) -> str | None:
        """The ``async`` twin of ``get_token``: the Backend API call does not block.

        Raises:
            BackendApiError: As ``get_token``.
            RuntimeError: The object was not returned by a request's ``auth()``.
            ValueError: As ``get_token``.
        """
        if not self.is_signed_in:
            return None
        if template is None and expires_in_seconds is None:
            return self.token
        if not self.session_id:
            return None
        return await session_token_async(
            self._bound_options(),
            self.session_id,
            template=template,
            expires_in_seconds=expires_in_seconds,
        )

    def _bound_options(self) -> ClerkOptions:
        options: ClerkOptions | None = getattr(self, "_options", None)
        if options is None:
            raise RuntimeError(
                "get_token(template=...) needs the request's Clerk instance: call it on the "
                "object auth() returns, or use clerk_middleware.core.session_token(options, "
                "session_id, template=...)."
            )
        return options

    def has(
        self,
        *,
        role: str | None = None,
        permission: str | None = None,
        feature: str | None = None,
        plan: str | None = None,
        reverification: ReverificationPreset | ReverificationConfig | None = None,
    ) -> bool:
        """Check authorization as Clerk's ``has()`` does.

        Every dimension asked for must pass, and at least one must be asked.
        Roles and permissions need an active organization and compare after
        collapsing any run of ``org:`` prefixes; features and plans read the
        ``fea``/``pla`` claims (``"o:billing"``, ``"user:pro"`` or a bare id);
        reverification takes a preset (``"strict_mfa"``, ``"strict"``,
        ``"moderate"``, ``"lax"``) or ``{"level": ..., "after_minutes": n}``.

        Returns:
            False when signed out, when nothing is asked, or when any asked check fails.
        """
        if not self.user_id or not self.is_signed_in:
            return False
        results = (
            self._check_org(role, permission),
            self._check_billing(feature, plan),
            self._check_reverification(reverification),
        )
        return "pass" in results and "fail" not in results

    def _check_org(self, role: Any, permission: Any) -> str:
        if role is None and permission is None:
            return "skip"
        if (role is not None and not isinstance(role, str)) or (
            permission is not None and not isinstance(permission, str)
        ):
            return "fail"
        if not self.org_id:
            return "fail"
        if role is not None:
            if not isinstance(self.org_role, str) or not self.org_role:
                return "fail"
            if _prefix_with_org(self.org_role) != _prefix_with_org(role):
                return "fail"
        if permission is not None:
            if not isinstance(self.org_permissions, list):
                return "fail"
            if _prefix_with_org(permission) not in self.org_permissions:
                return "fail"
        return "pass"

    def _check_billing(self, feature: Any, plan: Any) -> str:
        if feature is None and plan is None:
            return "skip"
        claims = self.session_claims or {}
        for asked, claim in ((feature, claims.get("fea")), (plan, claims.get("pla"))):
            if asked is None:
                continue
            if not isinstance(asked, str) or not isinstance(claim, str) or not claim:
                return "fail"
            try:
                if not _has_entry(claim, asked):
                    return "fail"
            except (ValueError, TypeError):
                return "fail"
        return "pass"

    def _check_reverification(self, config: Any) -> str:
        if config is None:
            return "skip"
        fva = self.factor_verification_age
        if not isinstance(fva, list | tuple) or len(fva) != 2:
            return "fail"
        if not (_valid_factor_age(fva[0]) and _valid_factor_age(fva[1])):
            return "fail"
        level: Any
        after: Any
        if isinstance(config, str) and config in _PRESETS:
            after, level = _PRESETS[config]
        elif isinstance(config, Mapping):
            level = config.get("level")
            after = config.get("after_minutes", config.get("afterMinutes"))
            if (
                level not in _LEVELS
                or isinstance(after, bool)
                or not isinstance(after, int | float)
                or not after > 0
            ):
                return "fail"
        else:
            return "fail"
        f1, f2 = fva
        if f1 == -1 and f2 == -1:
            return "fail"
        f1_fresh = f1 != -1 and after > f1
        f2_fresh = f2 != -1 and after > f2
        if level == "first_factor":
            ok = f1_fresh
        elif level == "second_factor":
            ok = f1_fresh if f2 == -1 else f2_fresh
        else:  # multi_factor
            ok = f1_fresh if f2 == -1 else (False if f1 == -1 else f1_fresh and f2_fresh)
        return "pass" if ok else "fail"


def _has_entry(claim: str, asked: str) -> bool:
    org, user = split_by_scope(claim)
    pieces = asked.split(":")
    scope = pieces[0]
    explicit = len(pieces) > 1
    entry = pieces[1] if explicit and pieces[1] else scope
    if explicit:
        if scope in _ORG_SCOPES:
            return entry in org
        if scope in _USER_SCOPES:
            return entry in user
        raise ValueError(f"Invalid scope: {scope}")
    return entry in org or entry in user


def _js_truthy(value: Any) -> bool:
    # JavaScript truthiness: empty arrays and objects are truthy.
    if isinstance(value, list | dict):
        return True
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def signed_out_auth(session_status: str | None = None) -> Auth:
    """The signed-out auth object; ``session_status`` is ``"pending"`` for a pending session."""
    return Auth(session_status=session_status)


def _org_fields(claims: Mapping[str, Any]) -> tuple[Any, Any, Any, Any]:
    """``(org_id, org_role, org_slug, org_permissions)`` of signed-in claims.

    Raises:
        ValueError: A v2 token with an organization has a malformed ``fea`` claim.
        TypeError: Its ``fea``, ``per`` or ``fpm`` claim is not a string.
    """
    version = claims.get("v")
    if version == 2 and not isinstance(version, bool):
        o = claims.get("o")
        if type(o) is not dict:  # a dict (the JSON object it always is) is truthy in JS
            if not _js_truthy(o):
                return None, None, None, None
            o = o if isinstance(o, Mapping) else {}
        return (
            o.get("id"),
            f"org:{o['rol']}" if o.get("rol") else None,
            o.get("slg"),
            _signed_in_org_permissions(o, claims.get("fea")),
        )
    return (
        claims.get("org_id"),
        claims.get("org_role"),
        claims.get("org_slug"),
        claims.get("org_permissions"),
    )


def auth_identity(claims: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """``(user_id, org_id, org_slug)`` of ``auth_from_claims(claims, token)``, without building it.

    Raises:
        ValueError: As ``auth_from_claims``.
        TypeError: As ``auth_from_claims``.
    """
    if claims.get("sts") == "pending":
        return None, None, None
    org_id, _, org_slug, _ = _org_fields(claims)
    return claims.get("sub"), org_id, org_slug


# Setting the slots directly skips the frozen dataclass's per-field
# object.__setattr__ in __init__: the same object, built in about half the time.
_AUTH_FIELDS = (
    "user_id",
    "session_id",
    "session_status",
    "session_claims",
    "org_id",
    "org_role",
    "org_slug",
    "org_permissions",
    "actor",
    "factor_verification_age",
    "token",
    "is_signed_in",
    "token_type",
)
# A guard for edits (``_options`` is not set through the constructor).
if tuple(f.name for f in fields(Auth) if f.init) != _AUTH_FIELDS:  # pragma: no cover
    raise TypeError("_AUTH_FIELDS must list Auth's fields in order")
(
    _set_user_id,
    _set_session_id,
    _set_session_status,
    _set_session_claims,
    _set_org_id,
    _set_org_role,
    _set_org_slug,
    _set_org_permissions,
    _set_actor,
    _set_factor_verification_age,
    _set_token,
    _set_is_signed_in,
    _set_token_type,
) = (getattr(Auth, name).__set__ for name in _AUTH_FIELDS)

#: ``bind_options(auth, options)``: the options ``get_token(template=...)`` calls the
#: Backend API with; set in the frozen slot directly (``replace`` would copy the object).
bind_options: Final[Callable[[Auth, ClerkOptions], None]] = vars(Auth)["_options"].__set__


def auth_from_claims(
    claims: Mapping[str, Any], token: str | None, *, treat_pending_as_signed_out: bool = True
) -> Auth:
    """Build the auth object of a verified session token.

    Args:
        claims: The verified claims.
        token: The raw token.
        treat_pending_as_signed_out: When True (the default) a pending session
            (``sts == "pending"``) gives the signed-out object with
            ``session_status == "pending"``.

    Raises:
        ValueError: A v2 token with an organization has a malformed ``fea`` claim
            (Clerk's SDK throws here too).
    """
    status = claims.get("sts")
    if treat_pending_as_signed_out and status == "pending":
        return signed_out_auth("pending")
    org_id, org_role, org_slug, org_permissions = _org_fields(claims)
    auth: Auth = object.__new__(Auth)
    _set_user_id(auth, claims.get("sub"))
    _set_session_id(auth, claims.get("sid"))
    _set_session_status(auth, status)
    _set_session_claims(auth, claims)
    _set_org_id(auth, org_id)
    _set_org_role(auth, org_role)
    _set_org_slug(auth, org_slug)
    _set_org_permissions(auth, org_permissions)
    _set_actor(auth, claims.get("act"))
    _set_factor_verification_age(auth, claims.get("fva"))
    _set_token(auth, token)
    _set_is_signed_in(auth, True)
    _set_token_type(auth, "session_token")
    return auth
