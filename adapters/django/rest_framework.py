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
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission, SingleOperandHolder
from rest_framework.request import Request

from clerk_middleware.core import Auth

from .._common import ControlHelper
from . import ClerkUser, _require_context, backend_user, holds, protect, signed_in

__all__ = ["ClerkAuthentication", "HasPermission", "HasRole", "IsSignedIn"]


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
