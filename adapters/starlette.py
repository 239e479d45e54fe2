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

``protect()``'s 404 and 401, wherever raised (the handler, an endpoint, a
decorator), are answered by the app's own exception handlers, as an
``HTTPException`` of that status would be: ``exception_handlers={404: ...}``
(or an ``HTTPException`` handler) renders the page, with Clerk's status code
and ``x-clerk-auth-*`` headers kept. Redirects to sign-in stay Clerk's 307.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response

from clerk_middleware.core import Auth, AuthNotFound, AuthUnauthorized, ClerkOptions
from clerk_middleware.core._webhooks import WebhookEvent
from clerk_middleware.core._webhooks import verify_webhook as _verify_webhook

from ._common import (
    ERROR_PAGES,
    ClerkAuth,
    auth,
    build_options,
    check_handler,
    clerk_client,
    context_of,
    csp_nonce,
    current_user,
    current_user_async,
    is_async_callable,
    protect,
    signed_in,
    signed_out,
    template_globals,
    webhook_body_async,
)
from .asgi import (
    ASGIApp,
    ASGIHandler,
    BaseClerkASGIMiddleware,
    Message,
    Receive,
    Scope,
    Send,
    Sender,
)

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates

__all__ = [
    "ClerkAuth",
    "ClerkStarletteMiddleware",
    "StarletteHandler",
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

#: ``handler(auth, request)``, sync or async; return a ``Response`` to answer instead.
StarletteHandler = ASGIHandler[Request]


class ClerkStarletteMiddleware(BaseClerkASGIMiddleware[Request]):
    """The ASGI middleware, giving the handler a Starlette ``Request``.

    ``protect()``'s 404/401, from the handler or from the app, are rendered by
    the app's exception handlers (see the module docstring).

    Args:
        app: The ASGI application to protect.
        options: Validated options.
        handler: Optional ``handler(auth, request)``, sync or async.
    """

    #: The exception the app's handlers see for a 404/401 (FastAPI: its own).
    http_exception: ClassVar[type[HTTPException]] = HTTPException

    def __init__(
        self,
        app: ASGIApp,
        options: ClerkOptions,
        handler: StarletteHandler | None = None,
    ) -> None:
        pages = _ErrorPages(app, self.http_exception)
        super().__init__(pages, options, None if handler is None else pages.handler(handler))

    def make_request(self, scope: Scope, receive: Receive) -> Request:
        """A ``Request`` over the scope."""
        return Request(scope, receive)


class _ErrorPages:
    """The app, with ``protect()``'s 404/401 answered by its own exception handlers.

    Starlette runs its exception handlers inside the app, beneath this
    middleware: a 404 decided in the handler (before the app) or raised by the
    app (and left unhandled, as no handler names Clerk's exception) is handed
    to them here, as the ``HTTPException`` of the same status they would get
    from the router, so ``exception_handlers={404: ...}`` renders it.
    """

    __slots__ = ("app", "http_exception")

    def __init__(self, app: ASGIApp, http_exception: type[HTTPException]) -> None:
        self.app = app
        self.http_exception = http_exception

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except ERROR_PAGES as exc:
            # Beneath the middleware, ``send`` is its Sender, which notes the response's start.
            if not isinstance(send, Sender) or send.started:
                raise
            await self.page(exc)(scope, receive, send)

    def handler(self, handler: StarletteHandler) -> StarletteHandler:
        """``handler``, answering its 404/401 with the app's error page."""

        async def with_error_pages(auth: ClerkAuth, request: Request) -> ASGIApp | None:
            try:
                result = handler(auth, request)
                return await result if inspect.isawaitable(result) else result
            except ERROR_PAGES as exc:
                return self.page(exc)

        return with_error_pages

    def page(self, exc: AuthNotFound | AuthUnauthorized) -> ASGIApp:
        """The ASGI app answering ``exc`` with the app's page for its status."""

        async def error_page(scope: Scope, receive: Receive, send: Send) -> None:
            http_exc = self.http_exception(exc.status_code, headers=dict(exc.headers))
            app = scope.get("app")
            handlers = getattr(app, "exception_handlers", None)
            handler = _lookup(handlers, http_exc) if isinstance(handlers, Mapping) else None
            response: Response | None = None
            if handler is not None:
                # What the router would have set before a route raised (url_for needs it).
                router = getattr(app, "router", None)
                if "router" not in scope and router is not None:
                    scope["router"] = router
                request = Request(scope, receive)
                if is_async_callable(handler):
                    response = await handler(request, http_exc)
                else:
                    response = await run_in_threadpool(handler, request, http_exc)
            if response is None:  # Starlette's own default for an HTTPException
                response = PlainTextResponse(
                    http_exc.detail, status_code=http_exc.status_code, headers=http_exc.headers
                )
            await response(scope, receive, _ClerkAnswer(send, exc))

        return error_page


def _lookup(handlers: Mapping[Any, Any], exc: HTTPException) -> Any:
    """The handler Starlette's ``ExceptionMiddleware`` would pick for ``exc``.

    By status code first, then by class along the MRO; ``500``/``Exception``
    handlers belong to ``ServerErrorMiddleware`` (unhandled errors), not here.
    """
    handler = handlers.get(exc.status_code)
    if handler is not None:
        return handler
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None


class _ClerkAnswer:
    """``send`` for an error page: Clerk's status, and Clerk's headers it lacks."""

    __slots__ = ("_exc", "_send")

    def __init__(self, send: Send, exc: AuthNotFound | AuthUnauthorized) -> None:
        self._send = send
        self._exc = exc

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            # A handler returning its page without the status (a template
            # response is a 200) still answers Clerk's.
            headers = list(message.get("headers", ()))
            present = {(name.lower(), value) for name, value in headers}
            for name, value in self._exc.headers:
                field = (name.lower().encode("latin-1"), value.encode("latin-1"))
                if field not in present:
                    headers.append(field)
            message = {**message, "status": self._exc.status_code, "headers": headers}
        await self._send(message)


def clerk_middleware(handler: StarletteHandler | None = None, **options: Any) -> Middleware:
    """Clerk's ``clerkMiddleware`` for Starlette: ``Starlette(middleware=[clerk_middleware()])``.

    Args:
        handler: Optional ``handler(auth, request)``, sync or async, run before the app.
        **options: ``ClerkOptions`` fields; missing ones come from ``CLERK_*`` variables.

    Returns:
        The ``Middleware`` entry.

    Raises:
        ConfigurationError: The options are invalid or the handler is not callable
            (checked now: Starlette builds its middleware only on the first request).
    """
    check_handler(handler, factory="clerk_middleware")
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


async def verify_webhook(request: Request, *, signing_secret: str | None = None) -> WebhookEvent:
    """Verify a Clerk webhook delivery (Svix signature over the raw body) and return its event.

    The body is read at most ``MAX_BODY_BYTES`` far; ``await request.body()``
    still gives it afterwards.

    Args:
        request: Starlette's (or FastAPI's) request.
        signing_secret: The endpoint's signing secret (default:
            ``CLERK_WEBHOOK_SIGNING_SECRET``).

    Returns:
        The verified event.

    Raises:
        WebhookVerificationError: Not a valid delivery; answer ``exc.status_code``.
        ConfigurationError: No (valid) signing secret is configured.
    """
    body = await webhook_body_async(request.stream(), _content_length(request))
    # Starlette keeps a read body here, for later ``await request.body()`` calls.
    request._body = body
    return _verify_webhook(request.headers.items(), body, signing_secret=signing_secret)


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() and len(value) < 20 else None
