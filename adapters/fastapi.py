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
dependencies add what FastAPI users expect. ``protect()``'s 404 and 401,
raised in the handler, an endpoint or a dependency, reach the app's own
exception handlers as a ``fastapi.HTTPException`` of that status
(``@app.exception_handler(404)``, or one for ``HTTPException``; without one,
FastAPI's ``{"detail": "Not Found"}``), with Clerk's status code and
``x-clerk-auth-*`` headers kept; redirects stay Clerk's 307.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware import Middleware
from starlette.requests import Request

from clerk_middleware.core import Auth, MachineAuth, TokenType
from clerk_middleware.core._options import accepts_token_option

from ._common import (
    ClerkAuth,
    Predicate,
    Reverification,
    build_options,
    check_handler,
    context_of,
    protect_checks,
    run_protect,
)
from .starlette import (
    ClerkStarletteMiddleware,
    StarletteHandler,
    auth,
    clerk_client,
    csp_nonce,
    current_user,
    current_user_async,
    get_auth,
    protect,
    register_jinja2_helpers,
    signed_in,
    signed_out,
    verify_webhook,
)

__all__ = [
    "AuthDependency",
    "ClerkAuth",
    "ClerkFastAPIMiddleware",
    "CurrentApiKey",
    "CurrentAuth",
    "CurrentMachine",
    "MachineAuthDependency",
    "ProtectDependency",
    "auth",
    "clerk_client",
    "clerk_middleware",
    "csp_nonce",
    "current_user",
    "current_user_async",
    "get_auth",
    "protect",
    "register_jinja2_helpers",
    "signed_in",
    "signed_out",
    "verify_webhook",
]


class ClerkFastAPIMiddleware(ClerkStarletteMiddleware):
    """The Starlette middleware; the app's handlers see a ``fastapi.HTTPException``.

    So a handler registered for FastAPI's ``HTTPException`` or Starlette's
    renders ``protect()``'s 404/401.
    """

    http_exception = HTTPException


def clerk_middleware(handler: StarletteHandler | None = None, **options: Any) -> Middleware:
    """Clerk's ``clerkMiddleware`` for FastAPI: ``FastAPI(middleware=[clerk_middleware()])``.

    Args:
        handler: Optional ``handler(auth, request)``, sync or async, run before the app.
        **options: ``ClerkOptions`` fields; missing ones come from ``CLERK_*`` variables.

    Returns:
        The ``Middleware`` entry.

    Raises:
        ConfigurationError: The options are invalid or the handler is not callable
            (checked now: FastAPI builds its middleware only on the first request).
    """
    check_handler(handler, factory="clerk_middleware")
    return Middleware(ClerkFastAPIMiddleware, options=build_options(options), handler=handler)


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
        self.treat_pending_as_signed_out = treat_pending_as_signed_out
        # Built once here, not per request: protect()'s own keyword set.
        self.checks: dict[str, Any] = protect_checks(
            role=role,
            permission=permission,
            feature=feature,
            plan=plan,
            reverification=reverification,
            unauthenticated_url=unauthenticated_url,
            unauthorized_url=unauthorized_url,
            tasks_url=tasks_url,
        )

    async def __call__(self, request: Request) -> Auth:
        """Return the auth object if the request may proceed.

        Raises:
            AuthRedirect: 307 to sign-in (page requests) or the URL given.
            AuthNotFound: 404 otherwise.
            RuntimeError: The app was not set up with ``clerk_middleware``.
        """
        context = context_of(request.scope, kind="FastAPI request")
        auth = run_protect(context, self.predicate, self.treat_pending_as_signed_out, self.checks)
        if not isinstance(auth, Auth):  # pragma: no cover - session tokens only here
            raise TypeError("AuthDependency protects session routes")
        return auth


#: ``def endpoint(auth: CurrentAuth)``: the request's ``Auth`` (pending as signed out).
CurrentAuth = Annotated[Auth, Depends(AuthDependency())]


#: The HTTP bearer scheme machine-protected routes declare (``auto_error=False``:
#: the dependency answers with Clerk's 401, not FastAPI's 403).
clerk_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ClerkMachineToken",
    description="A Clerk API key (ak_...), M2M token or OAuth access token.",
)


class MachineAuthDependency:
    """A dependency for routes that machines call: ``auth.protect_async(token=..., scopes=...)``.

    Declared with FastAPI's ``HTTPBearer``, so the OpenAPI schema shows the
    route's bearer security scheme (and Swagger UI offers to send a token).
    Use it as ``Depends(MachineAuthDependency(token="api_key"))`` or in
    ``Security(...)``; the dependency's value is the authenticated
    ``MachineAuth`` (or ``Auth``, when ``token`` lists ``"session_token"``).
    Opaque tokens are verified with the Backend API without blocking the loop.

    Args:
        token: The accepted token types: ``"api_key"``, ``"m2m_token"``,
            ``"oauth_token"``, a list of types, or ``"any"``.
        scopes: Scopes the machine token must all carry.

    Raises:
        ConfigurationError: ``token`` names no token type.
    """

    def __init__(
        self,
        token: TokenType | list[TokenType] | str = "api_key",  # noqa: S107 - a token type
        *,
        scopes: list[str] | tuple[str, ...] | None = None,
    ) -> None:
        self.token = accepts_token_option(token)
        self.scopes = tuple(scopes) if scopes is not None else None

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(clerk_bearer)],
    ) -> Auth | MachineAuth:
        """Return the authenticated auth object.

        Raises:
            AuthUnauthorized: 401 (rendered as ``HTTPException(401)`` with Clerk's headers).
            RuntimeError: The app was not set up with ``clerk_middleware``.
        """
        del credentials  # declared for the schema; the middleware read the header
        bound = ClerkAuth(context_of(request.scope, kind="FastAPI request"))
        return await bound.protect_async(token=self.token, scopes=self.scopes)


#: ``def endpoint(key: CurrentApiKey)``: an authenticated API key, else 401.
CurrentApiKey = Annotated[MachineAuth, Depends(MachineAuthDependency("api_key"))]
#: ``def endpoint(machine: CurrentMachine)``: an authenticated M2M token, else 401.
CurrentMachine = Annotated[MachineAuth, Depends(MachineAuthDependency("m2m_token"))]
