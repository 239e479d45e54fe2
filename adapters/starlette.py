"""Clerk authentication for Starlette, built on the ASGI adapter.

::

    from starlette.applications import Starlette
    from starlette.authentication import requires
    from clerk_middleware.adapters.starlette import auth, clerk_middleware, protect

    async def handler(auth, request):      # request: starlette.requests.Request
        if request.url.path.startswith("/admin"):
            auth.protect(role="org:admin")

    @protect()
    async def dashboard(request):
        return JSONResponse({"user": auth().user_id})

    @requires("authenticated")             # Starlette's own decorator works too
    async def settings(request): ...

    app = Starlette(routes=[...], middleware=[clerk_middleware(handler)])

The handler gets Starlette's ``Request`` and may return any Starlette
``Response`` to answer instead of the app. ``request.user`` and
``request.auth`` are set (see ``clerk_middleware.adapters.asgi``);
``get_auth(request)`` returns the auth object. For templates,
``register_jinja2_helpers(templates)`` adds ``signed_in``, ``signed_out`` and
``protect`` to a ``Jinja2Templates``::

    {% if signed_in() %}Welcome back{% else %}<a href="/sign-in">Sign in</a>{% endif %}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request

from clerk_middleware.core import Auth

from ._common import (
    ClerkAuth,
    auth,
    build_options,
    context_of,
    protect,
    signed_in,
    signed_out,
    template_globals,
)
from .asgi import ASGIHandler, BaseClerkASGIMiddleware, Receive, Scope

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates

__all__ = [
    "ClerkAuth",
    "ClerkStarletteMiddleware",
    "StarletteHandler",
    "auth",
    "clerk_middleware",
    "get_auth",
    "protect",
    "register_jinja2_helpers",
    "signed_in",
    "signed_out",
]

#: ``handler(auth, request)``, sync or async; return a ``Response`` to answer instead.
StarletteHandler = ASGIHandler[Request]


class ClerkStarletteMiddleware(BaseClerkASGIMiddleware[Request]):
    """The ASGI middleware, giving the handler a Starlette ``Request``."""

    def make_request(self, scope: Scope, receive: Receive) -> Request:
        """A ``Request`` over the scope."""
        return Request(scope, receive)


def clerk_middleware(handler: StarletteHandler | None = None, **options: Any) -> Middleware:
    """Clerk's ``clerkMiddleware`` for Starlette: ``Starlette(middleware=[clerk_middleware()])``.

    Args:
        handler: Optional ``handler(auth, request)``, sync or async, run before the app.
        **options: ``ClerkOptions`` fields; missing ones come from ``CLERK_*`` variables.

    Returns:
        The ``Middleware`` entry.

    Raises:
        ConfigurationError: The options are invalid (checked now: Starlette builds
            its middleware only on the first request).
    """
    return Middleware(ClerkStarletteMiddleware, options=build_options(options), handler=handler)


def get_auth(request: HTTPConnection, *, treat_pending_as_signed_out: bool = True) -> Auth:
    """The auth object of a Starlette request.

    Args:
        request: The request.
        treat_pending_as_signed_out: False gives a pending session's user.

    Returns:
        The auth object.

    Raises:
        RuntimeError: The app was not set up with ``clerk_middleware``.
    """
    context = context_of(request.scope, kind="Starlette request")
    return context.auth(treat_pending_as_signed_out=treat_pending_as_signed_out)


def register_jinja2_helpers(templates: Jinja2Templates) -> Jinja2Templates:
    """Add the globals ``signed_in``, ``signed_out`` and ``protect`` to ``templates``.

    Args:
        templates: Starlette's ``Jinja2Templates``.

    Returns:
        The same ``templates``, for chaining.
    """
    templates.env.globals.update(template_globals())
    return templates
