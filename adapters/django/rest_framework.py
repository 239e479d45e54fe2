"""Django REST framework: Clerk authentication and permissions (the ``djangorestframework`` extra).

::

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "clerk_middleware.adapters.django.rest_framework.ClerkAuthentication",
        ],
    }

    class InvoiceList(APIView):
        permission_classes = [HasRole("org:admin") | HasPermission("org:invoices:read")]

``ClerkAuthentication`` reads what ``clerk_middleware`` decided for the request
(install the middleware too) and returns ``(user, auth)``: ``request.user`` is
the user of a ``ClerkBackend`` if the project lists one, else a ``ClerkUser``;
``request.auth`` is the auth object. A request without a signed-in session
is left to the next authentication class, and a view that needs one answers
401 with ``WWW-Authenticate: Bearer`` (not 403). When the session came from
the ``__session`` cookie rather than an ``Authorization`` header, CSRF is
enforced for unsafe methods, as ``SessionAuthentication`` does. The
permissions compose with ``&``, ``|`` and ``~``; each asks the core, as
``protect()`` does.

Machines (API keys, M2M tokens, OAuth access tokens in ``Authorization: Bearer``)
authenticate with ``ClerkMachineAuthentication``; ``request.user`` is then a
``ClerkMachine`` and ``request.auth`` the ``MachineAuth``. ``IsMachine`` and
``HasScopes`` are their permissions::

    class Reports(APIView):
        authentication_classes = [ClerkMachineAuthentication, ClerkAuthentication]
        permission_classes = [HasScopes("reports:read", token="api_key") | IsSignedIn]

A token of a type the middleware does not accept is verified when the
authentication class asks for it (once per request; an opaque token costs one
Backend API call).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, cast

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission, SingleOperandHolder
from rest_framework.request import Request

from clerk_middleware.core import Auth, MachineAuth
from clerk_middleware.core._machine import AcceptsToken, MachineTokenType, TokenType
from clerk_middleware.core._protect import unauthorized_headers

from .._common import ControlHelper
from . import ClerkUser, _require_context, backend_user, holds, protect, signed_in

__all__ = [
    "ClerkAuthentication",
    "ClerkMachine",
    "ClerkMachineAuthentication",
    "HasPermission",
    "HasRole",
    "HasScopes",
    "IsMachine",
    "IsSignedIn",
]

#: Every machine token type: what the machine classes accept unless told otherwise.
MACHINE_TOKENS: tuple[MachineTokenType, ...] = ("api_key", "m2m_token", "oauth_token")


class ClerkAuthentication(BaseAuthentication):
    """DRF authentication from the Clerk session ``clerk_middleware`` verified.

    Set ``treat_pending_as_signed_out = False`` in a subclass to let pending
    sessions authenticate.
    """

    treat_pending_as_signed_out: ClassVar[bool] = True
    #: The ``WWW-Authenticate`` value of a 401.
    www_authenticate: ClassVar[str] = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Auth] | None:
        """``(user, auth)`` for a signed-in session, else None.

        Raises:
            PermissionDenied: A cookie session on an unsafe method failed the CSRF check.
            RuntimeError: The request did not pass through ``clerk_middleware``.
        """
        context = _require_context(request)
        auth = context.auth(treat_pending_as_signed_out=self.treat_pending_as_signed_out)
        if not auth.is_signed_in:
            return None
        header = context.request.header("authorization") or ""
        if header.partition(" ")[2].strip() != context.state.token:
            # A browser's cookie: another site can make the browser send it.
            SessionAuthentication().enforce_csrf(request)
        user = backend_user(request, auth)
        return (user if user is not None else ClerkUser(auth)), auth

    def authenticate_header(self, request: Request) -> str:
        """``Bearer``: makes DRF answer 401 rather than 403 for a missing session."""
        return self.www_authenticate


class _HelperPermission(BasePermission):
    """A permission holding when a control helper's condition holds for the request."""

    helper: ClassVar[ControlHelper] = signed_in()
    message = "This action needs a signed-in Clerk session with the required access."

    def has_permission(self, request: Request, view: Any) -> bool:
        """Whether the request's session passes the check (as ``protect()`` decides)."""
        return holds(self.helper, request)


class IsSignedIn(_HelperPermission):
    """Signed in (a pending session is signed out): ``permission_classes = [IsSignedIn]``."""


def _permission_class(name: str, helper: ControlHelper) -> type[BasePermission]:
    return type(name, (_HelperPermission,), {"helper": helper, "__module__": __name__})


def _as_is(permission: BasePermission) -> BasePermission:
    return permission


class HasRole(SingleOperandHolder):
    """Signed in with this organization role: ``permission_classes = [HasRole("org:admin")]``.

    Like DRF's composed permissions it goes in ``permission_classes`` as it is,
    and composes with ``&``, ``|`` and ``~``.

    Args:
        role: The role, e.g. ``"org:admin"``.
        treat_pending_as_signed_out: False lets a pending session through (it has no role).
    """

    def __init__(self, role: str, *, treat_pending_as_signed_out: bool = True) -> None:
        helper = protect(role=role, treat_pending_as_signed_out=treat_pending_as_signed_out)
        # DRF calls it to make the permission: op1_class(), then operator_class(that).
        super().__init__(cast(Any, _as_is), _permission_class("HasRole", helper))
        self.role = role

    def __repr__(self) -> str:
        return f"HasRole({self.role!r})"


class HasPermission(SingleOperandHolder):
    """Signed in with this organization permission: ``HasPermission("org:invoices:read")``.

    Args:
        permission: The permission key, ``org:<feature>:<name>``.
        treat_pending_as_signed_out: False lets a pending session through.
    """

    def __init__(self, permission: str, *, treat_pending_as_signed_out: bool = True) -> None:
        helper = protect(
            permission=permission, treat_pending_as_signed_out=treat_pending_as_signed_out
        )
        super().__init__(cast(Any, _as_is), _permission_class("HasPermission", helper))
        self.permission = permission

    def __repr__(self) -> str:
        return f"HasPermission({self.permission!r})"


class ClerkMachine:
    """``request.user`` for a machine token: who the token stands for, not a database row.

    ``pk``, ``id`` and ``username`` are the token's subject (the API key's user or
    organization, the M2M token's machine, the OAuth token's user); ``scopes``
    its scopes. Django permissions never hold (Clerk's ``has()`` is false for
    machine tokens): check scopes with ``HasScopes``.

    Args:
        auth: The authenticated machine auth object.
    """

    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False
    is_active: ClassVar[bool] = True
    is_staff: ClassVar[bool] = False
    is_superuser: ClassVar[bool] = False

    def __init__(self, auth: MachineAuth) -> None:
        self.auth = auth
        self.pk = self.id = self.username = auth.subject or ""
        self.token_type = auth.token_type
        self.scopes: tuple[str, ...] = tuple(auth.scopes or ())

    def get_username(self) -> str:
        """The token's subject."""
        return self.username

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """Never: a machine token carries scopes, not permissions."""
        return False

    def has_perms(self, perm_list: Iterable[str], obj: object = None) -> bool:
        """Never, as ``has_perm``."""
        return False

    def has_module_perms(self, app_label: str) -> bool:
        """Never."""
        return False

    def __str__(self) -> str:
        return self.username

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClerkMachine) and (other.token_type, other.auth.id) == (
            self.token_type,
            self.auth.id,
        )

    def __hash__(self) -> int:
        return hash((self.token_type, self.auth.id))


class ClerkMachineAuthentication(BaseAuthentication):
    """DRF authentication from a machine token in ``Authorization: Bearer``.

    Accepts API keys, M2M tokens and OAuth access tokens; set ``accepts_token``
    in a subclass to narrow it (e.g. ``"api_key"``). Returns
    ``(ClerkMachine, MachineAuth)`` for a verified token, else None (the next
    class may authenticate the request, e.g. ``ClerkAuthentication`` for
    sessions). No CSRF check: browsers never send a Bearer token on their own.
    A 401 carries ``WWW-Authenticate: Bearer``, with the protected-resource
    metadata for OAuth access tokens, as Clerk's ``protect()`` answers.
    """

    #: The accepted machine token types.
    accepts_token: ClassVar[MachineTokenType | tuple[MachineTokenType, ...]] = MACHINE_TOKENS

    def authenticate(self, request: Request) -> tuple[ClerkMachine, MachineAuth] | None:
        """``(machine, auth)`` for a verified machine token of an accepted type, else None.

        Raises:
            RuntimeError: The request did not pass through ``clerk_middleware``.
        """
        context = _require_context(request)
        accepts: AcceptsToken = self.accepts_token
        auth = context.auth(accepts_token=accepts)
        if not isinstance(auth, MachineAuth) or not auth.is_authenticated:
            return None
        return ClerkMachine(auth), auth

    def authenticate_header(self, request: Request) -> str:
        """``Bearer`` (with ``resource_metadata`` for an OAuth token): DRF answers 401."""
        context = _require_context(request)
        for _, value in unauthorized_headers(context.request, context.options):
            return value
        return "Bearer"


class IsMachine(SingleOperandHolder):
    """Authenticated by a machine token of these types: ``permission_classes = [IsMachine()]``.

    Args:
        token: The accepted type or types (default: every machine type).
    """

    def __init__(
        self, token: MachineTokenType | tuple[MachineTokenType, ...] = MACHINE_TOKENS
    ) -> None:
        helper = protect(token=_token_list(token))
        super().__init__(cast(Any, _as_is), _permission_class("IsMachine", helper))
        self.token = token

    def __repr__(self) -> str:
        return f"IsMachine({self.token!r})"


class HasScopes(SingleOperandHolder):
    """A machine token carrying every one of these scopes: ``HasScopes("reports:read")``.

    Args:
        *scopes: The scopes the token must all carry.
        token: The accepted type or types (default: every machine type).
    """

    def __init__(
        self,
        *scopes: str,
        token: MachineTokenType | tuple[MachineTokenType, ...] = MACHINE_TOKENS,
    ) -> None:
        helper = protect(token=_token_list(token), scopes=list(scopes))
        super().__init__(cast(Any, _as_is), _permission_class("HasScopes", helper))
        self.scopes = scopes
        self.token = token

    def __repr__(self) -> str:
        return f"HasScopes({', '.join(map(repr, self.scopes))}, token={self.token!r})"


def _token_list(
    token: MachineTokenType | tuple[MachineTokenType, ...],
) -> MachineTokenType | list[TokenType]:
    return token if isinstance(token, str) else list(token)
