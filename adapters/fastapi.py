"""Clerk authentication for FastAPI, built on the Starlette adapter.

::

    from fastapi import Depends, FastAPI
    from clerk_middleware.adapters.fastapi import (
        CurrentAuth, ProtectDependency, clerk_middleware,
    )
    from clerk_middleware.core import Auth

    app = FastAPI(middleware=[clerk_middleware()])

    @app.get("/me")
    async def me(auth: CurrentAuth):                 # a typed Auth
        return {"user_id": auth.user_id}

    @app.get("/admin")
    async def admin(auth: Auth = Depends(ProtectDependency(role="org:admin"))):
        return {"org": auth.org_id}

Everything from ``clerk_middleware.adapters.starlette`` works here too
(``auth()``, ``@protect()``, ``get_auth``, ``register_jinja2_helpers``); the
dependencies add what FastAPI users expect. Control flow raised in a
dependency becomes a response in the middleware, as everywhere else.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request

from clerk_middleware.core import Auth

from ._common import ClerkAuth, Predicate, Reverification, context_of
from .starlette import (
    auth,
    clerk_middleware,
    get_auth,
    protect,
    register_jinja2_helpers,
    signed_in,
    signed_out,
)

__all__ = [
    "AuthDependency",
    "ClerkAuth",
    "CurrentAuth",
    "ProtectDependency",
    "auth",
    "clerk_middleware",
    "get_auth",
    "protect",
    "register_jinja2_helpers",
    "signed_in",
    "signed_out",
]


class AuthDependency:
    """A dependency giving the request's ``Auth``: ``Depends(AuthDependency())``.

    Args:
        treat_pending_as_signed_out: False gives a pending session's user.
    """

    def __init__(self, *, treat_pending_as_signed_out: bool = True) -> None:
        self.treat_pending_as_signed_out = treat_pending_as_signed_out

    async def __call__(self, request: Request) -> Auth:
        """Return the auth object.

        Raises:
            RuntimeError: The app was not set up with ``clerk_middleware``.
        """
        return get_auth(request, treat_pending_as_signed_out=self.treat_pending_as_signed_out)


class ProtectDependency:
    """A dependency running ``auth.protect(...)``: ``Depends(ProtectDependency(role=...))``.

    Arguments as ``auth.protect``; the dependency's value is the ``Auth`` that passed.
    """

    def __init__(
        self,
        predicate: Predicate | None = None,
        *,
        role: str | None = None,
        permission: str | None = None,
        feature: str | None = None,
        plan: str | None = None,
        reverification: Reverification = None,
        unauthenticated_url: str | None = None,
        unauthorized_url: str | None = None,
        tasks_url: str | None = None,
        treat_pending_as_signed_out: bool = True,
    ) -> None:
        self.predicate = predicate
        self.checks: dict[str, Any] = {
            "role": role, "permission": permission, "feature": feature, "plan": plan,
            "reverification": reverification, "unauthenticated_url": unauthenticated_url,
            "unauthorized_url": unauthorized_url, "tasks_url": tasks_url,
            "treat_pending_as_signed_out": treat_pending_as_signed_out,
        }

    async def __call__(self, request: Request) -> Auth:
        """Return the auth object if the request may proceed.

        Raises:
            AuthRedirect: 307 to sign-in (page requests) or the URL given.
            AuthNotFound: 404 otherwise.
            RuntimeError: The app was not set up with ``clerk_middleware``.
        """
        bound = ClerkAuth(context_of(request.scope, kind="FastAPI request"))
        return bound.protect(self.predicate, **self.checks)


#: ``def endpoint(auth: CurrentAuth)``: the request's ``Auth`` (pending as signed out).
CurrentAuth = Annotated[Auth, Depends(AuthDependency())]
