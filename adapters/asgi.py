"""Clerk authentication for any ASGI application, as pure ASGI middleware.

::

    from clerk_middleware.adapters.asgi import clerk_middleware
    from clerk_middleware.core import create_route_matcher

    is_admin = create_route_matcher(["/admin(.*)"])

    async def handler(auth, scope):        # a plain function works too
        if is_admin(auth.request):         # the path the app routes on
            auth.protect(role="org:admin")

    app = clerk_middleware(handler)(app)

The handler may return an ASGI application to answer instead of the app. For
each HTTP request the middleware writes the scope keys ``"auth"`` (credentials
whose ``scopes`` hold ``"authenticated"`` for a signed-in user) and ``"user"``
(``is_authenticated``, ``identity``), which is what Starlette's
``request.auth``, ``request.user`` and ``@requires("authenticated")`` read.
``auth()`` works anywhere in the app while the request runs; ``get_auth`` takes
the scope or any object with a ``.scope``. Control flow raised before the
response starts becomes a 307/404/401/400 response, and every response gets
the state's headers. WebSocket and lifespan scopes pass through untouched.

A sync handler runs on the event loop: keep it free of blocking I/O. A handler
should not read the request body: the app downstream could not read it again.
"""

from __future__ import annotations

import inspect
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    MutableMapping,
    Sequence,
)
from typing import Any, Generic, TypeVar

from clerk_middleware.core import (
    Auth,
    AuthRequest,
    ClerkOptions,
    MachineAuth,
    MalformedPathError,
    authenticate_request_async,
)
from clerk_middleware.core._proxy import ProxyAnswer, ProxyCall, forward_async
from clerk_middleware.core._request import header_fields, request_with_headers
from clerk_middleware.core._routes import asgi_route_path
from clerk_middleware.core._url import is_valid_host
from clerk_middleware.core._webhooks import WebhookEvent
from clerk_middleware.core._webhooks import verify_webhook as _verify_webhook

from ._common import (
    CONTEXT_KEY,
    CONTROL_FLOW,
    Answer,
    ClerkAuth,
    RequestContext,
    auth,
    bind_context,
    build_options,
    check_handler,
    clerk_client,
    context_of,
    control_flow_answer,
    csp_nonce,
    current_user,
    current_user_async,
    handshake_answer,
    protect,
    proxy_body_too_large,
    proxy_chunks_async,
    proxy_request,
    quote_path,
    read_bounded_async,
    request_target,
    reset_context,
    signed_in,
    signed_out,
    webhook_body_async,
)

__all__ = [
    "ASGIApp",
    "ASGIHandler",
    "BaseClerkASGIMiddleware",
    "ClerkASGIMiddleware",
    "ClerkAuth",
    "ClerkCredentials",
    "ClerkUser",
    "auth",
    "auth_request_from_scope",
    "clerk_client",
    "clerk_middleware",
    "csp_nonce",
    "current_user",
    "current_user_async",
    "get_auth",
    "protect",
    "signed_in",
    "signed_out",
    "verify_webhook",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RequestT = TypeVar("RequestT")
#: ``handler(auth, request)``, sync or async; return an ASGI app to answer instead.
ASGIHandler = Callable[[ClerkAuth, RequestT], Awaitable[ASGIApp | None] | ASGIApp | None]


#: Header names by the bytes servers send (b"cookie" -> "cookie"): the same few
#: dozen come on every request, and a lookup is cheaper than a decode (and gives a
#: string whose hash is already known). Only lower-case names, as ASGI requires
#: them, of at most _MAX_NAME_LENGTH bytes; bounded, as clients choose names.
_HEADER_NAMES: dict[bytes, str] = {}
_MAX_NAMES = 1024
_MAX_NAME_LENGTH = 64


def _scope_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The scope's header fields by lower-case name, repeated names joined."""
    pairs = raw if isinstance(raw, list | tuple) else list(raw)
    try:
        fields = {_HEADER_NAMES[name]: value.decode("latin-1") for name, value in pairs}
    except (KeyError, TypeError):  # a name not met before (or not bytes at all)
        pass
    else:
        if len(fields) == len(pairs):  # learnt names are lower case: no name repeated
            return fields
    # Any header list (a repeated name: HTTP/2 splits Cookie), its names learnt.
    decoded = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in pairs]
    for (raw_name, _), (name, _) in zip(pairs, decoded, strict=True):
        if (
            type(raw_name) is bytes
            and raw_name not in _HEADER_NAMES
            and len(_HEADER_NAMES) < _MAX_NAMES
            and len(name) <= _MAX_NAME_LENGTH
            and name.lower() == name
        ):
            _HEADER_NAMES[raw_name] = name
    return header_fields(decoded)


def auth_request_from_scope(scope: Scope) -> AuthRequest:
    """The ``AuthRequest`` of an HTTP scope, with the raw path (``raw_path``) when given.

    Its ``route_path`` is ``path`` below ``root_path`` (what the app routes on);
    its URL keeps the raw target as sent, for Clerk's redirects.

    Args:
        scope: The ASGI HTTP scope.

    Returns:
        The request as the core reads it.

    Raises:
        MalformedPathError: The ``Host`` header is not a ``host[:port]`` (answer 400).
    """
    headers = _scope_headers(scope.get("headers", ()))
    host = headers.get("host")
    if host:
        if not is_valid_host(host):
            raise MalformedPathError(host)
    else:
        server_host, port = scope.get("server") or ("localhost", None)
        host = server_host if port in (None, 80, 443) else f"{server_host}:{port}"
        if not is_valid_host(host):  # the server's own address: never the client's to break
            host = "localhost"
    raw_path: bytes | None = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else ""
    if not path.startswith("/"):  # absent, or an absolute-form target
        root, rest = scope.get("root_path", ""), scope.get("path", "/")
        full = rest if rest.startswith(root) else root + rest
        path = quote_path(full.encode("utf-8"))
    query = scope.get("query_string", b"").decode("latin-1")
    target = request_target(f"{path}?{query}" if query else path)
    url = f"{scope.get('scheme', 'http')}://{host}{target}"
    return request_with_headers(scope.get("method", "GET"), url, headers, asgi_route_path(scope))


class _LazyAuth:
    """Builds the request's default auth object on first use, not on every request."""

    __slots__ = ("_auth", "_context")

    def __init__(self, context: RequestContext) -> None:
        self._context = context
        self._auth: Auth | None = None

    @property
    def auth(self) -> Auth:
        """The request's auth object (pending treated as signed out)."""
        if self._auth is None:
            self._auth = self._context.auth()
        return self._auth

    @property
    def machine(self) -> MachineAuth | None:
        """The machine token the middleware verified (``accepts_token`` names its type), or None."""
        state = self._context.state
        if state.token_type in (None, "session_token") or not state.is_signed_in:
            return None
        found = state.to_auth(accepts_token="any")  # noqa: S106 - a token type
        return found if isinstance(found, MachineAuth) else None


class ClerkCredentials(_LazyAuth):
    """``scope["auth"]``: Starlette-style credentials (``auth``, ``scopes``)."""

    __slots__ = ()

    @property
    def scopes(self) -> list[str]:
        """``["authenticated"]`` when signed in, else empty.

        For a machine token the middleware verified, ``"authenticated"`` and the
        token's own scopes, so ``@requires(["authenticated", "reports:write"])``
        works for API keys and M2M tokens.
        """
        machine = self.machine
        if machine is not None:
            return ["authenticated", *(machine.scopes or ())]
        return ["authenticated"] if self.auth.is_signed_in else []


class ClerkUser(_LazyAuth):
    """``scope["user"]``: a Starlette-style user; ``identity`` is the Clerk user id."""

    __slots__ = ()

    @property
    def is_authenticated(self) -> bool:
        """True when signed in (a pending session counts as signed out), or a machine token."""
        return self.machine is not None or self.auth.is_signed_in

    @property
    def identity(self) -> str:
        """The user id (a machine token: its subject), or ``""`` when signed out."""
        machine = self.machine
        if machine is not None:
            return machine.subject or ""
        return self.auth.user_id or ""

    @property
    def display_name(self) -> str:
        """The identity (session tokens carry no name), or ``""``."""
        return self.identity


async def _send_answer(send: Send, answer: Answer) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _proxy(
    planned: ProxyCall | ProxyAnswer, receive: Receive, send: Send, options: ClerkOptions
) -> None:
    """Answer a request under the Frontend API proxy's path: forward it, stream the answer."""
    proxy = options.frontend_api_proxy
    assert proxy is not None
    answer: ProxyAnswer
    if isinstance(planned, ProxyAnswer):
        answer = planned
    else:
        body = await read_bounded_async(_receive_chunks(receive), proxy.max_request_bytes)
        answer = (
            proxy_body_too_large(options)
            if body is None
            else await forward_async(planned, body, proxy)
        )
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    async for chunk in proxy_chunks_async(answer):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _receive_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body's chunks, as ``receive`` hands them over."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return  # http.disconnect: the body ends here
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


class BaseClerkASGIMiddleware(Generic[RequestT]):
    """The ASGI middleware; subclasses choose what request object the handler gets.

    Args:
        app: The ASGI application to protect.
        options: Validated options.
        handler: Optional ``handler(auth, request)``, sync or async.
    """

    def __init__(
        self,
        app: ASGIApp,
        options: ClerkOptions,
        handler: ASGIHandler[RequestT] | None = None,
    ) -> None:
        self.app = app
        self.options = options
        self.handler = handler

    def make_request(self, scope: Scope, receive: Receive) -> RequestT:
        """The request object given to the handler.

        Raises:
            NotImplementedError: Subclasses must say.
        """
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection (the ASGI protocol)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            request = auth_request_from_scope(scope)
        except MalformedPathError as exc:
            await _send_answer(send, control_flow_answer(exc))
            return
        if self.options.frontend_api_proxy is not None:
            planned = proxy_request(request, self.options)
            if planned is not None:
                await _proxy(planned, receive, send, self.options)
                return
        state = await authenticate_request_async(request, self.options)
        handshake = handshake_answer(state)
        if handshake is not None:
            await _send_answer(send, handshake)
            return
        context = RequestContext(request, state, self.options)
        scope[CONTEXT_KEY] = context
        scope["auth"] = ClerkCredentials(context)
        scope["user"] = ClerkUser(context)
        if self.options.content_security_policy is None:
            sender = Sender(send, state.headers)
        else:
            sender = Sender(send, context.response_headers(), context.replaced_headers())
        token = bind_context(context)
        try:
            if self.handler is None:
                await self.app(scope, receive, sender)
            else:
                await self._run(context, scope, receive, sender)
        except CONTROL_FLOW as exc:
            if sender.started:
                raise
            await _send_answer(sender, control_flow_answer(exc))
        finally:
            reset_context(token)

    async def _run(
        self, context: RequestContext, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if self.handler is not None:
            result = self.handler(ClerkAuth(context), self.make_request(scope, receive))
            response = await result if inspect.isawaitable(result) else result
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


_NOTHING: frozenset[bytes] = frozenset()


class Sender:
    """``send`` for the app: adds the state's headers to the response, notes its start.

    Internal to the adapters (not exported); ``started`` says whether the
    response has started.
    """

    __slots__ = ("_extra", "_replaced", "_send", "started")
    _extra: Sequence[tuple[bytes, bytes]]
    _replaced: frozenset[bytes]

    def __init__(
        self,
        send: Send,
        headers: tuple[tuple[str, str], ...],
        replaced: frozenset[str] = frozenset(),
    ) -> None:
        self._send = send
        self.started = False
        if not headers and not replaced:  # a signed-in request: nothing to add (made cheaply)
            self._extra = ()
            self._replaced = _NOTHING
            return
        self._extra = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        # Headers the middleware sets rather than adds (Clerk's CSP replaces the app's).
        self._replaced = (
            frozenset(name.encode("latin-1") for name in replaced) if replaced else _NOTHING
        )

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if self._extra:
                own = message.get("headers", ())
                if self._replaced:
                    own = [(k, v) for k, v in own if k.lower() not in self._replaced]
                message = {**message, "headers": [*own, *self._extra]}
        await self._send(message)


class ClerkASGIMiddleware(BaseClerkASGIMiddleware[Scope]):
    """The plain ASGI middleware: the handler gets the scope."""

    def make_request(self, scope: Scope, receive: Receive) -> Scope:
        """The scope itself."""
        return scope


def clerk_middleware(
    handler: ASGIHandler[Scope] | None = None, **options: Any
) -> Callable[[ASGIApp], ClerkASGIMiddleware]:
    """Clerk's ``clerkMiddleware`` for ASGI; wrap your application with what it returns.

    ``app = clerk_middleware(handler)(app)``

    Args:
        handler: Optional ``handler(auth, scope)``, sync or async, run before the app.
        **options: ``ClerkOptions`` fields; missing ones come from ``CLERK_*`` variables.

    Returns:
        A function wrapping an ASGI application in ``ClerkASGIMiddleware``.

    Raises:
        ConfigurationError: The options are invalid or the handler is not callable
            (checked now, not per request).
    """
    check_handler(handler, factory="clerk_middleware")
    built = build_options(options)

    def wrap(app: ASGIApp) -> ClerkASGIMiddleware:
        return ClerkASGIMiddleware(app, built, handler)

    return wrap


def get_auth(request: Any, *, treat_pending_as_signed_out: bool = True) -> Auth:
    """The auth object of a request that passed through the middleware.

    Args:
        request: The ASGI scope, or an object with a ``.scope`` (Starlette's Request).
        treat_pending_as_signed_out: False gives a pending session's user.

    Returns:
        The auth object.

    Raises:
        RuntimeError: The request did not pass through ``clerk_middleware``.
    """
    scope = getattr(request, "scope", request)
    context = context_of(scope, kind="ASGI scope")
    return context.auth(treat_pending_as_signed_out=treat_pending_as_signed_out)


async def verify_webhook(
    scope: Scope, receive: Receive, *, signing_secret: str | None = None
) -> WebhookEvent:
    """Verify a Clerk webhook delivery (Svix signature over the raw body) and return its event.

    Reads the body from ``receive`` (at most ``MAX_BODY_BYTES``), so the app
    cannot read it again: the whole payload is ``event.raw``.

    Args:
        scope: The ASGI HTTP scope.
        receive: The ASGI ``receive`` callable.
        signing_secret: The endpoint's signing secret (default:
            ``CLERK_WEBHOOK_SIGNING_SECRET``).

    Returns:
        The verified event.

    Raises:
        WebhookVerificationError: Not a valid delivery; answer ``exc.status_code``.
        ConfigurationError: No (valid) signing secret is configured.
    """
    body = await webhook_body_async(_receive_chunks(receive))
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in scope.get("headers", ())
    ]
    return _verify_webhook(headers, body, signing_secret=signing_secret)
