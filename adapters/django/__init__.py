"""Clerk authentication for Django: middleware, ``auth()``, views, templates, ``request.user``.

::

    # myproject/clerk.py
    from clerk_middleware.adapters.django import clerk_middleware
    from clerk_middleware.core import create_route_matcher

    is_protected = create_route_matcher(["/dashboard(.*)", "/admin(.*)"])

    def handler(auth, request):              # request: Django's HttpRequest
        if is_protected(auth.request):       # the path Django routes on
            auth.protect()

    clerk = clerk_middleware(handler)

    # settings.py
    INSTALLED_APPS = [..., "clerk_middleware.adapters.django"]   # {% load clerk %}
    MIDDLEWARE = [..., "myproject.clerk.clerk"]  # or ...adapters.django.ClerkMiddleware
    CLERK = {"sign_in_url": "/sign-in"}        # optional; keys from CLERK_* variables

The middleware is sync and async capable (it runs in whichever mode Django
gives it, with ``authenticate_request_async`` under ASGI). Options come from
``clerk_middleware(**options)``, then ``settings.CLERK``, then the ``CLERK_*``
variables, and are checked when Django loads its middleware. Handshakes are
answered before any view; ``handler(auth, request)`` runs next (sync or async;
return an ``HttpResponse`` to answer instead of the view); every response gets
the request state's headers (``Set-Cookie``, ``x-clerk-auth-*``).

In views: ``auth()`` (the current request), ``request.auth`` (its auth object),
``get_auth(request)``, ``@protect(...)`` and ``ProtectMixin``. ``auth.protect()``
anywhere in a view (or in a template being rendered) stops the request with
Clerk's answer: a 307 redirect, a 401, or a 404 rendered by the project's own
404 handling (``handler404``, ``404.html``). Templates get
``context_processor`` (``{{ auth.user_id }}``) and ``{% load clerk %}``.
``request.user`` is the Clerk user for projects that list ``ClerkBackend`` in
``AUTHENTICATION_BACKENDS``. Django REST framework classes are in
``clerk_middleware.adapters.django.rest_framework``.

Repeated response header names are combined into one field, comma-separated,
as Clerk's Next.js middleware does (Django keeps one value per name); each
``Set-Cookie`` goes out unchanged, through ``response.cookies``.
"""

from __future__ import annotations

import re
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Container,
    Iterable,
    Iterator,
    Mapping,
)
from dataclasses import fields
from http.cookies import Morsel
from typing import Any, ClassVar, cast
from urllib.parse import unquote_to_bytes

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import load_backend
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase, StreamingHttpResponse
from django.utils.functional import SimpleLazyObject

from clerk_middleware.core import (
    Auth,
    AuthControlFlow,
    AuthNotFound,
    AuthRequest,
    ClerkOptions,
    ConfigurationError,
    MalformedPathError,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.core._machine import AcceptsToken, TokenType
from clerk_middleware.core._proxy import (
    FrontendApiProxy,
    ProxyAnswer,
    ProxyCall,
    forward,
    forward_async,
)
from clerk_middleware.core._webhooks import MAX_BODY_BYTES, WebhookEvent, body_too_large
from clerk_middleware.core._webhooks import verify_webhook as _verify_webhook

from .._common import (
    CONTROL_FLOW,
    Answer,
    ClerkAuth,
    ControlHelper,
    RequestContext,
    Reverification,
    auth,
    bind_context,
    build_options,
    clerk_client,
    control_flow_answer,
    csp_nonce,
    current_user,
    current_user_async,
    handshake_answer,
    protect,
    proxy_body_too_large,
    proxy_chunks,
    proxy_chunks_async,
    proxy_request,
    reset_context,
    signed_in,
    signed_out,
)
from ..asgi import auth_request_from_scope
from ..wsgi import auth_request_from_environ

__all__ = [
    "ClerkAuth",
    "ClerkBackend",
    "ClerkMiddleware",
    "ClerkRequest",
    "ClerkUser",
    "DjangoHandler",
    "ProtectMixin",
    "auth",
    "clerk_client",
    "clerk_middleware",
    "context_processor",
    "csp_nonce",
    "current_user",
    "current_user_async",
    "get_auth",
    "protect",
    "signed_in",
    "signed_out",
    "verify_webhook",
]

#: ``handler(auth, request)``, sync or async; return an ``HttpResponse`` to answer instead.
DjangoHandler = Callable[
    [ClerkAuth, HttpRequest],
    HttpResponseBase | Awaitable[HttpResponseBase | None] | None,
]

#: Where the middleware keeps the request's context: an attribute, not ``request.META``,
#: which Django's debug pages print.
_CONTEXT_ATTRIBUTE = "_clerk_context"
#: The ``ClerkBackend`` entries the middleware loaded, for the DRF authentication.
_BACKENDS_ATTRIBUTE = "_clerk_backends"
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_OPTION_NAMES = frozenset(f.name for f in fields(ClerkOptions) if f.init)


class ClerkRequest(HttpRequest):
    """For annotations only: an ``HttpRequest`` that went through the middleware.

    ``def dashboard(request: ClerkRequest) -> HttpResponse: request.auth.user_id``
    """

    auth: Auth


# --- the request's context ------------------------------------------------------------------


def _django_request(request: object) -> object:
    """The ``HttpRequest`` under a Django REST framework ``Request`` (or ``request`` itself)."""
    return getattr(request, "_request", request)


def context_of_request(request: object) -> RequestContext | None:
    """The context the middleware attached to ``request`` (or a DRF ``Request``), or None."""
    context = getattr(_django_request(request), _CONTEXT_ATTRIBUTE, None)
    return context if isinstance(context, RequestContext) else None


def _require_context(request: object) -> RequestContext:
    context = context_of_request(request)
    if context is None:
        raise RuntimeError(
            "This request did not pass through clerk_middleware: add "
            '"clerk_middleware.adapters.django.ClerkMiddleware" (or your own '
            "clerk_middleware(handler)) to settings.MIDDLEWARE."
        )
    return context


def holds(helper: ControlHelper, request: object | None) -> bool:
    """Whether ``helper``'s condition holds for ``request`` (None: the current request).

    Raises:
        RuntimeError: No request handled by clerk_middleware is at hand.
    """
    context = context_of_request(request) if request is not None else None
    if context is None:
        return bool(helper)  # the current request's, through the ContextVar
    token = bind_context(context)
    try:
        return bool(helper)
    finally:
        reset_context(token)


def get_auth(request: HttpRequest | Any, *, treat_pending_as_signed_out: bool = True) -> Auth:
    """The auth object of a request that passed through the middleware.

    Args:
        request: Django's ``HttpRequest`` (or a Django REST framework ``Request``).
        treat_pending_as_signed_out: False gives a pending session's user.

    Returns:
        The auth object.

    Raises:
        RuntimeError: The request did not pass through ``clerk_middleware``.
    """
    context = _require_context(request)
    return context.auth(treat_pending_as_signed_out=treat_pending_as_signed_out)


def _route_path(request: HttpRequest) -> str:
    """What Django routes on: ``path_info`` (below the script name, FORCE_SCRIPT_NAME too).

    Django turns bytes that are not UTF-8 into escapes (``/admin%FF``) where
    other frameworks put U+FFFD; such a path is given to route matchers with
    U+FFFD, so that they refuse it (400) as they do in the other adapters.
    """
    path = request.path_info
    if "%" in path and _ESCAPE.search(path):
        data = unquote_to_bytes(path)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("utf-8", "replace")
    return path


# --- responses --------------------------------------------------------------------------------


class _RawCookie(Morsel[str]):
    """A ``Set-Cookie`` field sent exactly as the core wrote it (attributes, order, quoting)."""

    def __init__(self, field: str) -> None:
        super().__init__()
        name, _, rest = field.partition("=")
        value = rest.split(";", 1)[0]
        self.set(name.strip(), value, value)
        self._field = field

    def OutputString(self, attrs: Container[str] | None = None) -> str:  # noqa: N802 - Morsel's name
        return self._field


def _add_headers(response: HttpResponseBase, headers: Iterable[tuple[str, str]]) -> None:
    """Add ``headers`` to ``response``: cookies as they are, a repeated name comma-joined."""
    for name, value in headers:
        if name == "set-cookie":
            cookie = _RawCookie(value)
            key = cookie.key
            while key in response.cookies:  # the same name twice (Domain variants): keep both
                key += "\0"
            dict.__setitem__(response.cookies, key, cookie)
        elif name in response.headers:
            response.headers[name] = f"{response.headers[name]}, {value}"
        else:
            response.headers[name] = value


def _answer_response(answer: Answer) -> HttpResponse:
    response = HttpResponse(answer.body, status=answer.status)
    del response.headers["Content-Type"]  # the answer says its own
    _add_headers(response, answer.headers)
    return response


def _control_flow_response(
    request: HttpRequest, exc: AuthControlFlow | MalformedPathError
) -> HttpResponseBase:
    """The one translator: Django's own 404 for ``AuthNotFound``, Clerk's answer otherwise."""
    if isinstance(exc, AuthNotFound):
        response = response_for_exception(request, Http404("Clerk: protect() hid this page."))
        _add_headers(response, exc.headers)
        return cast(HttpResponseBase, response)
    return _answer_response(control_flow_answer(exc))


def _bound_stream(chunks: Iterable[Any], context: RequestContext) -> Iterator[Any]:
    iterator = iter(chunks)
    while True:
        token = bind_context(context)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            reset_context(token)
        yield chunk


async def _bound_async_stream(chunks: AsyncIterator[Any], context: RequestContext) -> Any:
    iterator = aiter(chunks)
    while True:
        token = bind_context(context)
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        finally:
            reset_context(token)
        yield chunk


def _proxy_body(request: HttpRequest, options: ClerkOptions) -> bytes | None:
    proxy = options.frontend_api_proxy
    length = request.META.get("CONTENT_LENGTH", "")
    limit = proxy.max_request_bytes if proxy is not None else 0
    if isinstance(length, str) and length.isdigit() and int(length) > limit:
        return None
    body = request.body
    return body if len(body) <= limit else None


def _proxied(answer: ProxyAnswer, chunks: Any) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, status=answer.status)
    del response["Content-Type"]  # only the Frontend API's own headers
    _add_headers(response, answer.headers)
    return response


def _to_forward(
    planned: ProxyCall | ProxyAnswer, request: HttpRequest, options: ClerkOptions
) -> ProxyAnswer | tuple[ProxyCall, bytes]:
    """The proxy's own answer (its error, or a 413), or the call to forward with its body."""
    if isinstance(planned, ProxyAnswer):
        return planned
    body = _proxy_body(request, options)
    return proxy_body_too_large(options) if body is None else (planned, body)


def _proxy_response(
    planned: ProxyCall | ProxyAnswer, request: HttpRequest, options: ClerkOptions
) -> StreamingHttpResponse:
    """Forward a request under the Frontend API proxy's path; stream the answer."""
    found = _to_forward(planned, request, options)
    proxy = cast(FrontendApiProxy, options.frontend_api_proxy)  # proxy_request planned it
    answer = found if isinstance(found, ProxyAnswer) else forward(*found, proxy)
    return _proxied(answer, proxy_chunks(answer))


async def _proxy_response_async(
    planned: ProxyCall | ProxyAnswer, request: HttpRequest, options: ClerkOptions
) -> StreamingHttpResponse:
    """The ``async`` twin of ``_proxy_response``."""
    found = _to_forward(planned, request, options)
    proxy = cast(FrontendApiProxy, options.frontend_api_proxy)  # proxy_request planned it
    answer = found if isinstance(found, ProxyAnswer) else await forward_async(*found, proxy)
    return _proxied(answer, proxy_chunks_async(answer))


def _finish(response: HttpResponseBase, context: RequestContext) -> HttpResponseBase:
    """Add the state's headers; a streamed body is produced with the context bound."""
    for name, value in context.csp_headers():
        response[name] = value  # set, as Clerk sets them: the app's own are replaced
    _add_headers(response, context.state.headers)
    if isinstance(response, StreamingHttpResponse):
        content = response.streaming_content
        response.streaming_content = (
            _bound_async_stream(cast(AsyncIterator[Any], content), context)
            if response.is_async
            else _bound_stream(cast(Iterable[Any], content), context)
        )
    return response


# --- options and request.user -----------------------------------------------------------------


def _settings_options(keywords: Mapping[str, Any]) -> ClerkOptions:
    """``keywords``, then ``settings.CLERK``, then ``CLERK_*`` variables.

    Raises:
        ConfigurationError: ``settings.CLERK`` is not a dict, or an option is invalid.
    """
    configured = getattr(settings, "CLERK", None)
    if configured is None:
        configured = {}
    if not isinstance(configured, Mapping):
        raise ConfigurationError(
            "settings.CLERK must be a dict of clerk_middleware options, e.g. "
            f'{{"sign_in_url": "/sign-in"}}, not {type(configured).__name__}.'
        )
    return build_options({**configured, **keywords})


def _clerk_backends() -> list[tuple[str, ClerkBackend]]:
    """The ``ClerkBackend`` entries of ``settings.AUTHENTICATION_BACKENDS``, with their paths."""
    found: list[tuple[str, ClerkBackend]] = []
    if not settings.is_overridden("AUTHENTICATION_BACKENDS"):
        return found  # Django's default, ModelBackend: it needs django.contrib.auth installed
    for path in settings.AUTHENTICATION_BACKENDS:
        backend = load_backend(path)
        if isinstance(backend, ClerkBackend):
            found.append((path, backend))
    return found


def _install_user(request: HttpRequest, context: RequestContext) -> None:
    """``request.user`` (and ``request.auser``): the Clerk user, evaluated on first use.

    When Clerk has no signed-in user, the user set before (Django's
    ``AuthenticationMiddleware``'s session user) stays, else ``AnonymousUser``.
    """
    previous = request.__dict__.get("user")
    resolved: list[Any] = []

    def resolve() -> Any:
        if not resolved:
            resolved.append(_user_of(request, context, previous))
        return resolved[0]

    async def auser() -> Any:
        return resolve() if resolved else await sync_to_async(resolve)()

    request.user = SimpleLazyObject(resolve)  # type: ignore[assignment]
    request.auser = auser  # type: ignore[attr-defined,method-assign,assignment,unused-ignore]


def backend_user(request: object, clerk_auth: Auth) -> Any:
    """The user the middleware's ``ClerkBackend`` entries give ``clerk_auth``, or None."""
    django_request = _django_request(request)
    for path, backend in getattr(django_request, _BACKENDS_ATTRIBUTE, ()):
        user = backend.authenticate(django_request, clerk_auth=clerk_auth)
        if user is not None:
            user.backend = path
            return user
    return None


def _user_of(request: HttpRequest, context: RequestContext, previous: Any) -> Any:
    user = backend_user(request, context.auth())
    if user is not None:
        return user
    if previous is not None:
        return previous
    # Imported here: the auth models need the app registry, ready only after this module.
    from django.contrib.auth.models import AnonymousUser  # noqa: PLC0415

    return AnonymousUser()


# --- the middleware ---------------------------------------------------------------------------


class ClerkMiddleware:
    """Django middleware: authenticate, answer handshakes, run the handler, add the headers.

    List it in ``settings.MIDDLEWARE`` as
    ``"clerk_middleware.adapters.django.ClerkMiddleware"`` (no handler), or
    list a class made by ``clerk_middleware(handler, **options)``.

    Args:
        get_response: The next layer, as Django gives it (sync or async).

    Raises:
        ConfigurationError: The options are invalid (when Django loads its middleware).
    """

    sync_capable: ClassVar[bool] = True
    async_capable: ClassVar[bool] = True
    #: ``(handler,)``: the ``handler(auth, request)`` run before the view, if any.
    handlers: ClassVar[tuple[DjangoHandler, ...]] = ()
    #: Options given to ``clerk_middleware()``; they win over ``settings.CLERK``.
    keywords: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.handler: DjangoHandler | None = self.handlers[0] if self.handlers else None
        self._handler_is_async = self.handler is not None and iscoroutinefunction(self.handler)
        self.options = _settings_options(self.keywords)
        self._backends = _clerk_backends()
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def _auth_request(self, request: HttpRequest) -> AuthRequest:
        # Django's own Host check first (ALLOWED_HOSTS): a redirect never names a
        # host the project refuses. DisallowedHost becomes Django's 400.
        request.get_host()
        scope = getattr(request, "scope", None)
        if isinstance(scope, dict):  # ASGIRequest
            if isinstance(scope.get("query_string"), str):  # Django's AsyncClient gives text
                scope = {**scope, "query_string": scope["query_string"].encode("latin-1")}
            found = auth_request_from_scope(scope)
        else:  # WSGIRequest: META is the environ, but Django rewrote its PATH_INFO
            environ = request.META
            if not (environ.get("RAW_URI") or environ.get("REQUEST_URI")):
                environ = {**environ, "REQUEST_URI": request.get_full_path()}
            found = auth_request_from_environ(environ)
        found.route_path = _route_path(request)
        return found

    def _begin(self, request: HttpRequest) -> AuthRequest | HttpResponseBase:
        try:
            return self._auth_request(request)
        except MalformedPathError as exc:
            return _answer_response(control_flow_answer(exc))

    def _attach(self, request: HttpRequest, context: RequestContext) -> None:
        setattr(request, _CONTEXT_ATTRIBUTE, context)
        # Lazily, as the other adapters do: a malformed claim raises only where it is read.
        request.auth = SimpleLazyObject(context.auth)  # type: ignore[attr-defined]
        if self._backends:
            setattr(request, _BACKENDS_ATTRIBUTE, self._backends)
            _install_user(request, context)

    def __call__(self, request: HttpRequest) -> Any:
        """Handle one request (a coroutine when Django runs this middleware async)."""
        if self._async:
            return self.__acall__(request)
        begun = self._begin(request)
        if isinstance(begun, HttpResponseBase):
            return begun
        if self.options.frontend_api_proxy is not None:
            planned = proxy_request(begun, self.options)
            if planned is not None:
                return _proxy_response(planned, request, self.options)
        state = authenticate_request(begun, self.options)
        handshake = handshake_answer(state)
        if handshake is not None:
            return _answer_response(handshake)
        context = RequestContext(begun, state, self.options)
        self._attach(request, context)
        token = bind_context(context)
        try:
            response: HttpResponseBase | None = None
            handler = self.handler
            if handler is not None:
                result = handler(ClerkAuth(context), request)
                if self._handler_is_async:
                    result = async_to_sync(_awaited)(cast("Awaitable[Any]", result))
                response = cast("HttpResponseBase | None", result)
            if response is None:
                response = self.get_response(request)
        except CONTROL_FLOW as exc:
            response = _control_flow_response(request, exc)
        finally:
            reset_context(token)
        return _finish(response, context)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """Handle one request under ASGI (``authenticate_request_async``)."""
        begun = self._begin(request)
        if isinstance(begun, HttpResponseBase):
            return begun
        if self.options.frontend_api_proxy is not None:
            planned = proxy_request(begun, self.options)
            if planned is not None:
                return await _proxy_response_async(planned, request, self.options)
        state = await authenticate_request_async(begun, self.options)
        handshake = handshake_answer(state)
        if handshake is not None:
            return _answer_response(handshake)
        context = RequestContext(begun, state, self.options)
        self._attach(request, context)
        token = bind_context(context)
        try:
            response: HttpResponseBase | None = None
            handler = self.handler
            if handler is not None:
                result: Any
                if self._handler_is_async:
                    result = await cast("Awaitable[Any]", handler(ClerkAuth(context), request))
                else:  # Django's rule for sync code under ASGI: a thread, not the event loop
                    result = await sync_to_async(handler, thread_sensitive=True)(
                        ClerkAuth(context), request
                    )
                response = cast("HttpResponseBase | None", result)
            if response is None:
                response = await self.get_response(request)
        except CONTROL_FLOW as exc:
            if isinstance(exc, AuthNotFound):  # renders the project's 404 template: sync code
                response = await sync_to_async(_control_flow_response, thread_sensitive=False)(
                    request, exc
                )
            else:
                response = _control_flow_response(request, exc)
        finally:
            reset_context(token)
        return _finish(response, context)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        """Turn control flow raised in a view (or its template) into its response.

        Django calls this for exceptions raised by views and by the rendering
        of their ``TemplateResponse``; other exceptions are left to Django.
        """
        if isinstance(exception, CONTROL_FLOW):
            return _control_flow_response(request, exception)
        return None


async def _awaited(value: Awaitable[Any]) -> Any:
    return await value


def clerk_middleware(handler: DjangoHandler | None = None, **options: Any) -> type[ClerkMiddleware]:
    """Clerk's ``clerkMiddleware`` for Django: a middleware class for ``settings.MIDDLEWARE``.

    ``clerk = clerk_middleware(handler)`` in ``myproject/clerk.py``, then
    ``MIDDLEWARE = [..., "myproject.clerk.clerk"]``.

    Args:
        handler: Optional ``handler(auth, request)``, sync or async, run before the
            view; it may return an ``HttpResponse`` to answer instead.
        **options: ``ClerkOptions`` fields; they win over ``settings.CLERK``, and
            missing ones come from ``CLERK_*`` variables when Django loads the middleware.

    Returns:
        A ``ClerkMiddleware`` subclass (Django instantiates it with ``get_response``).

    Raises:
        ConfigurationError: An option name is unknown (checked now; values are
            checked when Django loads its middleware).
    """
    unknown = sorted(set(options) - _OPTION_NAMES)
    if unknown:
        raise ConfigurationError(
            f"Unknown option(s) {', '.join(unknown)}; "
            f"expected some of: {', '.join(sorted(_OPTION_NAMES))}."
        )
    namespace = {
        "handlers": (handler,) if handler is not None else (),
        "keywords": dict(options),
        "__module__": getattr(handler, "__module__", __name__),
        "__doc__": ClerkMiddleware.__doc__,
    }
    return type("ClerkMiddleware", (ClerkMiddleware,), namespace)


# --- views ------------------------------------------------------------------------------------


class ProtectMixin:
    """Class-based views: ``auth.protect(...)`` before ``dispatch``, with class attributes.

    ::

        class AdminView(ProtectMixin, TemplateView):
            role = "org:admin"
            template_name = "admin.html"

    Override ``has_access(has)`` to ask more than the attributes can (the
    predicate of ``auth.protect``). Put the mixin first, before the view class.
    """

    role: ClassVar[str | None] = None
    permission: ClassVar[str | None] = None
    feature: ClassVar[str | None] = None
    plan: ClassVar[str | None] = None
    reverification: ClassVar[Reverification] = None
    unauthenticated_url: ClassVar[str | None] = None
    unauthorized_url: ClassVar[str | None] = None
    tasks_url: ClassVar[str | None] = None
    treat_pending_as_signed_out: ClassVar[bool] = True
    #: The accepted token types (``auth.protect(token=...)``), e.g. ``"api_key"``.
    token: ClassVar[AcceptsToken | list[TokenType]] = "session_token"  # noqa: S105
    #: Scopes a machine token must all carry.
    scopes: ClassVar[tuple[str, ...] | None] = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """Protect, then dispatch as the view would.

        Raises:
            AuthRedirect: 307 to sign-in (page requests) or the URL given.
            AuthNotFound: 404 for other requests and for failed checks.
            AuthUnauthorized: 401 for machine tokens that may not proceed.
        """
        kind = type(self)
        overridden = kind.has_access is not ProtectMixin.has_access
        checks: dict[str, Any] = {
            "role": kind.role,
            "permission": kind.permission,
            "feature": kind.feature,
            "plan": kind.plan,
            "reverification": kind.reverification,
            "unauthenticated_url": kind.unauthenticated_url,
            "unauthorized_url": kind.unauthorized_url,
            "tasks_url": kind.tasks_url,
            "treat_pending_as_signed_out": kind.treat_pending_as_signed_out,
            "token": kind.token,
            "scopes": kind.scopes,
        }
        predicate = self.has_access if overridden else None
        if getattr(kind, "view_is_async", False):
            # An async view: a machine token is verified without blocking the loop.
            async def protected() -> Any:
                await auth.protect_async(predicate, **checks)
                return await super(ProtectMixin, self).dispatch(  # type: ignore[misc]
                    request, *args, **kwargs
                )

            return protected()
        auth.protect(predicate, **checks)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def has_access(self, has: Callable[..., bool]) -> bool:
        """The predicate: called with ``has``; override it (the default asks nothing more).

        Args:
            has: The auth object's ``has``.

        Returns:
            Whether the request may proceed.
        """
        return True


# --- templates --------------------------------------------------------------------------------


def context_processor(request: HttpRequest) -> dict[str, Any]:
    """``TEMPLATES[...]["OPTIONS"]["context_processors"]``: ``auth`` and ``csp_nonce``.

    ``{% if auth.is_signed_in %}{{ auth.user_id }}{% endif %}``;
    ``<script nonce="{{ csp_nonce }}">`` with a strict ``content_security_policy``.
    A request that did not pass through the middleware (an error page rendered
    before it) gets the signed-out object rather than an error.

    Args:
        request: The request being rendered.

    Returns:
        ``{"auth": <Auth>, "csp_nonce": <str or None>}``.
    """
    context = context_of_request(request)
    if context is None:
        return {"auth": Auth(), "csp_nonce": None}
    return {"auth": context.auth(), "csp_nonce": context.csp_nonce}


# --- request.user -----------------------------------------------------------------------------


class ClerkUser:
    """``request.user`` for a Clerk session: the Clerk user, not a database row.

    ``pk``, ``id`` and ``username`` are the Clerk user id; ``has_perm`` asks the
    session (``auth.has(permission=...)``), so ``@permission_required("org:invoices:read")``
    works with Clerk's organization permissions.

    Args:
        auth: The signed-in auth object.
    """

    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False
    is_active: ClassVar[bool] = True
    is_staff: ClassVar[bool] = False
    is_superuser: ClassVar[bool] = False

    def __init__(self, auth: Auth) -> None:
        self.auth = auth
        self.pk = self.id = self.username = auth.user_id or ""
        self.backend: str | None = None

    def get_username(self) -> str:
        """The Clerk user id."""
        return self.username

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """Whether the session holds organization permission ``perm`` (``org:<feature>:<name>``)."""
        return obj is None and self.auth.has(permission=perm)

    def has_perms(self, perm_list: Iterable[str], obj: object = None) -> bool:
        """Whether the session holds every permission of ``perm_list``."""
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        """Never: Clerk permissions are not Django model permissions."""
        return False

    def __str__(self) -> str:
        return self.username

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClerkUser) and other.pk == self.pk

    def __hash__(self) -> int:
        return hash(self.pk)


class ClerkBackend:
    """An authentication backend giving ``request.user`` the Clerk user (opt in).

    (Not a subclass of Django's ``BaseBackend``, which imports the auth models:
    this module is imported while Django loads its apps.)

    ``AUTHENTICATION_BACKENDS = ["clerk_middleware.adapters.django.ClerkBackend",
    "django.contrib.auth.backends.ModelBackend"]``: the middleware then sets
    ``request.user`` (lazily) to the user this backend returns for a signed-in
    Clerk session, a ``ClerkUser`` unless ``user_for`` is overridden. Nothing is
    written to Django's session and ``login()`` is never called; no user is
    created in the database unless ``user_for`` does so. Without a signed-in
    session, the user set before (``AuthenticationMiddleware``'s) stays.
    """

    def authenticate(
        self, request: HttpRequest | None, clerk_auth: Auth | None = None, **credentials: Any
    ) -> Any:
        """The user of a signed-in Clerk auth object; None for anything else.

        Args:
            request: The request.
            clerk_auth: The auth object (the middleware passes it); other
                credentials (a username and password) are not this backend's.
            **credentials: Ignored.

        Returns:
            ``user_for(clerk_auth)``, or None.
        """
        if clerk_auth is None or not clerk_auth.is_signed_in:
            return None
        return self.user_for(clerk_auth)

    def user_for(self, auth: Auth) -> Any:
        """The user object for a signed-in session; override to map onto your user model.

        Args:
            auth: The signed-in auth object.

        Returns:
            A ``ClerkUser``.
        """
        return ClerkUser(auth)

    def get_user(self, user_id: Any) -> Any:
        """None: Clerk users are never restored from Django's session."""
        return None


def verify_webhook(request: HttpRequest, *, signing_secret: str | None = None) -> WebhookEvent:
    """Verify a Clerk webhook delivery (Svix signature over the raw body) and return its event.

    Exempt the view from CSRF (``@csrf_exempt``): Clerk's servers send no CSRF
    token; the signature is what authenticates the delivery.

    Args:
        request: Django's request.
        signing_secret: The endpoint's signing secret (default:
            ``CLERK_WEBHOOK_SIGNING_SECRET``).

    Returns:
        The verified event.

    Raises:
        WebhookVerificationError: Not a valid delivery; answer ``exc.status_code``.
        ConfigurationError: No (valid) signing secret is configured.
    """
    length = request.META.get("CONTENT_LENGTH", "")
    if isinstance(length, str) and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise body_too_large()
    return _verify_webhook(request.headers.items(), request.body, signing_secret=signing_secret)
