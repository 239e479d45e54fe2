"""Framework-free glue shared by every adapter.

Each adapter does four things, and everything they have in common lives here:

1. Map the native request onto an ``AuthRequest``: its URL keeps the raw, still
   percent-encoded target (``request_target``) for Clerk's redirects, its
   ``route_path`` the decoded path the app routes on, for route matchers.
2. Answer a handshake (``handshake_answer``), or publish the request's
   ``RequestContext`` (a ContextVar for ``auth()``, plus the environ or scope for
   ``get_auth(request)``).
3. Run the user's handler with a bound ``ClerkAuth``, then the app.
4. Turn ``AuthControlFlow``/``MalformedPathError`` into an ``Answer`` (the one
   translator, ``control_flow_answer``) and add the state's headers to every
   response that goes out.

Nothing here imports a web framework, and nothing here decides: ``protect``,
the redirects and the authentication itself are the core's. (The one choice
made here: ``@signed_out()`` hides a view from signed-in users with Clerk's 404.)
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, Literal, NoReturn, TypeVar, cast, overload
from urllib.parse import quote

from clerk_middleware import core
from clerk_middleware.core import (
    CURRENT_URL,
    Auth,
    AuthControlFlow,
    AuthNotFound,
    AuthRequest,
    AuthUnauthorized,
    ClerkOptions,
    ConfigurationError,
    MalformedPathError,
    RequestState,
)
from clerk_middleware.core._auth import (
    ReverificationConfig,
    ReverificationPreset,
    bind_options,
    signed_out_auth,
)
from clerk_middleware.core._authenticate import authenticate_request_offline, bearer_token
from clerk_middleware.core._csp import content_security_policy_headers
from clerk_middleware.core._machine import (
    AcceptsToken,
    InvalidTokenAuth,
    MachineAuth,
    MachineTokenType,
    TokenType,
    is_token_type_accepted,
    token_type_of,
    unauthenticated_machine_auth,
)
from clerk_middleware.core._options import OptionSource, check_option_names, resolve_options
from clerk_middleware.core._protect import ReturnBackUrl
from clerk_middleware.core._proxy import (
    ProxyAnswer,
    ProxyCall,
    error_answer,
    plan_proxy,
    proxy_path_matches,
)
from clerk_middleware.core._resources import User, fetch_user, fetch_user_async
from clerk_middleware.core._webhooks import MAX_BODY_BYTES, body_too_large

if TYPE_CHECKING:
    from clerk_backend_api import Clerk
from clerk_middleware.core._state import AnyAuth, accepted_auth

__all__ = [
    "CONTEXT_KEY",
    "CONTROL_FLOW",
    "ERROR_PAGES",
    "Answer",
    "ClerkAuth",
    "ControlHelper",
    "Predicate",
    "RequestContext",
    "Reverification",
    "auth",
    "bind_context",
    "build_options",
    "check_handler",
    "check_option_names",
    "clerk_client",
    "context_of",
    "control_flow_answer",
    "csp_nonce",
    "current_context",
    "current_user",
    "current_user_async",
    "handshake_answer",
    "is_async_callable",
    "protect",
    "protect_checks",
    "proxy_body_too_large",
    "proxy_chunks",
    "proxy_chunks_async",
    "proxy_request",
    "proxy_status_line",
    "quote_path",
    "read_bounded",
    "read_bounded_async",
    "request_target",
    "reset_context",
    "run_protect",
    "signed_in",
    "signed_out",
    "template_globals",
    "webhook_body",
    "webhook_body_async",
]

F = TypeVar("F", bound=Callable[..., Any])
Headers = tuple[tuple[str, str], ...]
Predicate = Callable[[Callable[..., bool]], bool]
Reverification = ReverificationPreset | ReverificationConfig | None

#: Where the request's context is kept in a WSGI environ or an ASGI scope.
CONTEXT_KEY: Final = "clerk_middleware.context"
#: The exceptions every adapter translates into a response (and only these).
CONTROL_FLOW: Final = (AuthControlFlow, MalformedPathError)
#: The control flow that a framework with its own error pages renders through them
#: (Flask's ``errorhandler(404)``, Starlette's ``exception_handlers``), keeping
#: Clerk's status and headers; redirects and the 400 stay the adapter's.
ERROR_PAGES: Final = (AuthNotFound, AuthUnauthorized)

_OUTSIDE_REQUEST = (
    "auth() was called outside a request handled by clerk_middleware. Install the "
    "middleware (WSGI: `application = clerk_middleware(handler)(application)`; Flask: "
    "`clerk_middleware(handler).init_app(app)`; Starlette/FastAPI: "
    "`Starlette(middleware=[clerk_middleware(handler)])`), and call auth() only while a "
    "request is being handled, not at import time or after the response."
)
_current: ContextVar[RequestContext] = ContextVar("clerk_middleware_request")
# Printable ASCII but "%" is left as is: it already encodes the byte that follows it.
_UNRESERVED_TARGET = frozenset(range(0x21, 0x7F))
_PLAIN_TARGET = re.compile(r"[\x21-\x7e]*")


#: Clerk's middleware decides with ``acceptsToken: "any"``; so does an on-demand check.
_ANY: Final[AcceptsToken] = "any"
_NEEDS_AWAIT = (
    "auth(accepts_token={accepts!r}) must verify this request's token with Clerk's Backend "
    "API, which would block the event loop. In async code, call `await "
    "auth.verify(accepts_token={accepts!r})` (or `await auth.protect_async(token=...)`) "
    "instead, or accept the type in the middleware (`accepts_token=` option)."
)


@dataclass(slots=True)  # not frozen: built on every request, and frozen __init__ costs 2x
class RequestContext:
    """What the middleware learnt about one request: the request, its state, the options.

    Read it; never change it (the middleware and ``auth()`` share it).

    The middleware verifies the token types of ``options.accepts_token``
    (default: session tokens only). ``auth(accepts_token=...)`` asking for a type
    the middleware did not accept verifies the request's token then, once per
    request (``any_state``), exactly as Clerk's middleware (which accepts
    ``"any"``) would have: an opaque machine token reaches the Backend API only
    when a handler asks for its type.
    """

    request: AuthRequest
    state: RequestState
    options: ClerkOptions
    #: The request decided with ``accepts_token=_ANY``, when a handler needed it.
    any_state: RequestState | None = None
    #: What ``current_user()`` fetched for this request (one Backend API call at most).
    user: User | None = None
    #: The Content-Security-Policy headers of this request (its nonce), made on first use.
    csp: Headers | None = None
    #: ``auth()``'s session objects, made on first use (an ``Auth`` is immutable, so the
    #: request's calls share one): a pending session as signed out, and as signed in.
    session_auth: Auth | None = None
    pending_auth: Auth | None = None

    def csp_headers(self) -> Headers:
        """Clerk's CSP headers for this response (none without ``content_security_policy``)."""
        policy = self.options.content_security_policy
        if policy is None:
            return ()
        if self.csp is None:
            key = self.options.parsed_key
            self.csp = content_security_policy_headers(
                policy, key.frontend_api, development=key.instance_type == "development"
            )
        return self.csp

    @property
    def csp_nonce(self) -> str | None:
        """The request's CSP nonce (strict ``content_security_policy``), for ``<script nonce>``."""
        for name, value in self.csp_headers():
            if name == "x-nonce":
                return value
        return None

    def response_headers(self) -> Headers:
        """What the middleware adds to the app's response: CSP headers, then the state's."""
        if self.options.content_security_policy is None:
            return self.state.headers
        return (*self.csp_headers(), *self.state.headers)

    def replaced_headers(self) -> frozenset[str]:
        """Header names (lower case) the middleware sets in place of the app's (Clerk's CSP)."""
        return frozenset(name for name, _ in self.csp_headers())

    def token_type(self) -> TokenType:
        """The type Clerk reads the request's header token as (``session_token`` without one)."""
        return token_type_of(bearer_token(self.request))

    def _needs_any_state(self, accepts_token: AcceptsToken) -> bool:
        token_type = self.token_type()
        return (
            self.any_state is None
            and not is_token_type_accepted(token_type, self.options.accepts_token)
            and is_token_type_accepted(token_type, accepts_token)
        )

    def _state_for(self, accepts_token: AcceptsToken) -> RequestState | None:
        """The state whose own auth object Clerk's ``getAuthObjectForAcceptedToken`` filters.

        None when the answer does not depend on verification: the request's token
        type is not accepted by ``accepts_token``.
        """
        token_type = self.token_type()
        if not is_token_type_accepted(token_type, accepts_token):
            return None
        if is_token_type_accepted(token_type, self.options.accepts_token):
            return self.state  # the middleware decided it as "any" would
        if self.any_state is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                self.any_state = core.authenticate_request(
                    self.request, self.options, accepts_token=_ANY
                )
            else:
                offline = authenticate_request_offline(
                    self.request, self.options, accepts_token=_ANY
                )
                if offline is None:
                    raise RuntimeError(_NEEDS_AWAIT.format(accepts=accepts_token))
                self.any_state = offline
        return self.any_state

    async def verify_async(self, accepts_token: AcceptsToken) -> None:
        """Verify the request's token for ``accepts_token`` without blocking, if needed."""
        if self._needs_any_state(accepts_token):
            self.any_state = await core.authenticate_request_async(
                self.request, self.options, accepts_token=_ANY
            )

    @overload
    def auth(
        self,
        *,
        treat_pending_as_signed_out: bool = True,
        accepts_token: Literal["session_token"] = "session_token",  # noqa: S107 - a token type
    ) -> Auth: ...

    @overload
    def auth(
        self, *, treat_pending_as_signed_out: bool = True, accepts_token: MachineTokenType
    ) -> MachineAuth: ...

    @overload
    def auth(
        self, *, treat_pending_as_signed_out: bool = True, accepts_token: AcceptsToken
    ) -> AnyAuth: ...

    def auth(
        self,
        *,
        treat_pending_as_signed_out: bool = True,
        accepts_token: AcceptsToken = "session_token",  # noqa: S107 - a token type
    ) -> AnyAuth:
        """The request's auth object for the accepted types (see ``RequestState.to_auth``).

        Raises:
            RuntimeError: On an event loop, when the token must first be verified
                over the network (use ``verify_async``).
        """
        if accepts_token == "session_token" and self.options.accepts_token == "session_token":  # noqa: S105
            # The default, on every request: the middleware's own state decides.
            if treat_pending_as_signed_out:
                if self.session_auth is None:
                    self.session_auth = self._session_auth(True)
                return self.session_auth
            if self.pending_auth is None:
                self.pending_auth = self._session_auth(False)
            return self.pending_auth
        state = self._state_for(accepts_token)
        own = (
            None
            if state is None
            else state.to_auth(
                treat_pending_as_signed_out=treat_pending_as_signed_out, accepts_token=_ANY
            )
        )
        if own is None:
            # The request's token is of a type not accepted (or its state is a
            # handshake): any object of its type filters to the same answer.
            own = _placeholder(self.token_type())
        found = accepted_auth(own, accepts_token)
        if isinstance(found, Auth) and found.is_signed_in:
            bind_options(found, self.options)
        return found

    def _session_auth(self, treat_pending_as_signed_out: bool) -> Auth:
        auth = self.state.to_auth(treat_pending_as_signed_out=treat_pending_as_signed_out)
        # Handshake states never get a context: the middleware answered them with a 307.
        if auth is None:
            return Auth()
        if auth.is_signed_in:
            # get_token(template=...) calls this instance's Backend API.
            bind_options(auth, self.options)
        return auth

    def current_user(self, *, treat_pending_as_signed_out: bool = True) -> User | None:
        """The Backend API user of the request's session (see ``current_user``).

        Raises:
            BackendApiError: The Backend API call failed.
            RuntimeError: On a running event loop before the user was fetched
                (use ``current_user_async``).
        """
        user_id = self.auth(treat_pending_as_signed_out=treat_pending_as_signed_out).user_id
        if not user_id:
            return None
        if self.user is None or self.user.id != user_id:
            self.user = fetch_user(self.options, user_id)
        return self.user

    async def current_user_async(self, *, treat_pending_as_signed_out: bool = True) -> User | None:
        """The ``async`` twin of ``current_user``.

        Raises:
            BackendApiError: The Backend API call failed.
        """
        user_id = self.auth(treat_pending_as_signed_out=treat_pending_as_signed_out).user_id
        if not user_id:
            return None
        if self.user is None or self.user.id != user_id:
            self.user = await fetch_user_async(self.options, user_id)
        return self.user


def current_user(*, treat_pending_as_signed_out: bool = True) -> User | None:
    """Clerk's ``currentUser()``: the signed-in user of the current request, from the Backend API.

    ``GET /v1/users/{user_id}`` for ``auth().user_id``, once per request (later
    calls return the same object). None when signed out, and for a pending
    session unless ``treat_pending_as_signed_out=False``.

    Args:
        treat_pending_as_signed_out: False fetches a pending session's user too.

    Returns:
        The user, or None.

    Raises:
        BackendApiError: The Backend API call failed (e.g. 404: the user was deleted).
        RuntimeError: No request is in progress, or (on a running event loop)
            the user must be fetched: use ``await current_user_async()``.
    """
    return current_context().current_user(treat_pending_as_signed_out=treat_pending_as_signed_out)


async def current_user_async(*, treat_pending_as_signed_out: bool = True) -> User | None:
    """The ``async`` twin of ``current_user``: the Backend API call does not block.

    Args:
        treat_pending_as_signed_out: False fetches a pending session's user too.

    Returns:
        The user, or None.

    Raises:
        BackendApiError: The Backend API call failed.
        RuntimeError: No request is in progress.
    """
    return await current_context().current_user_async(
        treat_pending_as_signed_out=treat_pending_as_signed_out
    )


def clerk_client() -> Clerk:
    """Clerk's ``clerkClient()``: Clerk's Python Backend SDK for this app's instance.

    A ``clerk_backend_api.Clerk`` (the ``backend-api`` extra) with the secret
    key and ``api_url`` of the current request's options, or, outside a
    request, of the ``CLERK_*`` environment variables. One client per instance
    is shared.

    Returns:
        The client.

    Raises:
        ConfigurationError: Outside a request, the ``CLERK_*`` variables are missing or wrong.
        ImportError: ``clerk-backend-api`` is not installed.
    """
    context = _current.get(None)
    options = context.options if context is not None else ClerkOptions.from_env()
    return core.clerk_client(options)


def proxy_request(request: AuthRequest, options: ClerkOptions) -> ProxyCall | ProxyAnswer | None:
    """What the Frontend API proxy does with ``request``: None when it is not the proxy's.

    A ``ProxyCall`` to forward (``core._proxy.forward``), or an error answer.
    """
    proxy = options.frontend_api_proxy
    if proxy is None:
        return None
    try:
        path = request.parsed_url.path  # Clerk matches new URL(request.url).pathname
    except MalformedPathError:
        return None  # not a URL: the middleware's own 400
    if not proxy_path_matches(path, proxy):
        return None
    return plan_proxy(
        request.method,
        request.url,
        list(request.headers.items()),
        proxy,
        secret_key=options.secret_key or "",
        frontend_api=options.parsed_key.frontend_api,
    )


def proxy_body_too_large(options: ClerkOptions) -> ProxyAnswer:
    """The 413 for a request body beyond the proxy's ``max_request_bytes``."""
    limit = options.frontend_api_proxy.max_request_bytes if options.frontend_api_proxy else 0
    return error_answer(
        "proxy_request_too_large", f"The request body is larger than {limit} bytes", 413
    )


def proxy_status_line(answer: ProxyAnswer) -> str:
    """The WSGI status line of a proxied answer (the standard phrase, not the upstream's)."""
    try:
        phrase = HTTPStatus(answer.status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{answer.status} {phrase}"


def proxy_chunks(answer: ProxyAnswer) -> Iterator[bytes]:
    """The body of a proxied answer; the upstream connection is closed when it ends."""
    try:
        if answer.chunks is None:
            if answer.body:
                yield answer.body
            return
        yield from cast(Iterator[bytes], answer.chunks)
    finally:
        if answer.closer is not None:
            answer.closer()


async def proxy_chunks_async(answer: ProxyAnswer) -> AsyncIterator[bytes]:
    """The ``async`` twin of ``proxy_chunks``."""
    try:
        if answer.chunks is None:
            if answer.body:
                yield answer.body
            return
        async for chunk in cast(AsyncIterator[bytes], answer.chunks):
            yield chunk
    finally:
        if answer.closer is not None:
            await answer.closer()


def read_bounded(
    chunks: Iterable[bytes], limit: int, content_length: int | None = None
) -> bytes | None:
    """A request body read no further than ``limit`` bytes; None once it is larger.

    A ``Content-Length`` beyond the limit is refused before anything is read;
    otherwise the chunks are read until they pass it (the rest is left unread).
    """
    if content_length is not None and content_length > limit:
        return None
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def read_bounded_async(
    chunks: AsyncIterable[bytes], limit: int, content_length: int | None = None
) -> bytes | None:
    """The ``async`` twin of ``read_bounded``."""
    if content_length is not None and content_length > limit:
        return None
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


def webhook_body(chunks: Iterable[bytes], content_length: int | None = None) -> bytes:
    """A webhook's raw body, read no further than ``MAX_BODY_BYTES``.

    Raises:
        WebhookVerificationError: ``body-too-large``.
    """
    body = read_bounded(chunks, MAX_BODY_BYTES, content_length)
    if body is None:
        raise body_too_large()
    return body


async def webhook_body_async(
    chunks: AsyncIterable[bytes], content_length: int | None = None
) -> bytes:
    """The ``async`` twin of ``webhook_body``.

    Raises:
        WebhookVerificationError: ``body-too-large``.
    """
    body = await read_bounded_async(chunks, MAX_BODY_BYTES, content_length)
    if body is None:
        raise body_too_large()
    return body


def _placeholder(token_type: TokenType) -> AnyAuth:
    if token_type == "session_token":  # noqa: S105 - a token type
        return signed_out_auth()
    return unauthenticated_machine_auth(token_type)


#: ``bind_context(context)``: make ``context`` the current request's, for ``auth()``;
#: returns the token ``reset_context(token)`` undoes it with. The context variable's
#: own methods, not wrappers: every request calls them (a WSGI body's every chunk too).
bind_context: Final[Callable[[RequestContext], Token[RequestContext]]] = _current.set
reset_context: Final[Callable[[Token[RequestContext]], None]] = _current.reset


def current_context() -> RequestContext:
    """The current request's context.

    Raises:
        RuntimeError: No request handled by clerk_middleware is in progress.
    """
    context = _current.get(None)
    if context is None:
        raise RuntimeError(_OUTSIDE_REQUEST)
    return context


def context_of(container: Mapping[str, Any], *, kind: str) -> RequestContext:
    """The context stored in a WSGI environ or ASGI scope.

    Raises:
        RuntimeError: The request did not pass through clerk_middleware.
    """
    context = container.get(CONTEXT_KEY)
    if not isinstance(context, RequestContext):
        raise RuntimeError(
            f"This {kind} did not pass through clerk_middleware: get_auth() needs the "
            "middleware installed in front of the app (see clerk_middleware's docstring)."
        )
    return context


def build_options(
    settings: Mapping[str, Any],
    *,
    config: Mapping[str, Any] | None = None,
    config_label: str = "{}",
) -> ClerkOptions:
    """Options from keyword settings, then ``config``, then ``CLERK_*`` variables.

    Args:
        settings: Options given as keywords; they win.
        config: Settings keyed by the variable names (a Flask ``app.config``), read
            before the environment.
        config_label: How messages name a ``config`` setting; ``{}`` is its key.

    Raises:
        ConfigurationError: A setting is unknown, missing or malformed.
    """
    sources = [OptionSource(os.environ)]
    if config is not None:
        sources.insert(0, OptionSource(config, config_label))
    return resolve_options(settings, sources)


def check_handler(handler: object, *, factory: str, sync_only: bool = False) -> None:
    """Refuse a handler that cannot be called as ``handler(auth, request)``.

    Args:
        handler: What was passed as the handler (None: no handler).
        factory: The factory to name in the message, e.g. ``"adapters.wsgi.clerk_middleware"``.
        sync_only: The adapter calls the handler without awaiting it (WSGI).

    Raises:
        ConfigurationError: Not callable (the message names its type, never its
            value: a key passed by position would be a secret), or a coroutine
            function where only a plain one can run.
    """
    if handler is None:
        return
    if not callable(handler):
        raise ConfigurationError(
            f"{factory}(handler): the handler must be a function called as "
            f"handler(auth, request), got a {type(handler).__name__}. Pass options as "
            f"keywords: {factory}(handler, sign_in_url=...) or {factory}(sign_in_url=...)."
        )
    if sync_only and is_async_callable(handler):
        raise ConfigurationError(
            f"{factory}(handler): the handler is async, and a WSGI app cannot await it "
            "(its checks would never run). Use a plain def, or an ASGI adapter."
        )


def is_async_callable(handler: Callable[..., Any]) -> bool:
    """A coroutine function, a partial of one, or an object whose ``__call__`` is one."""
    if inspect.isroutine(handler) or isinstance(handler, functools.partial):
        return inspect.iscoroutinefunction(handler)
    return inspect.iscoroutinefunction(type(handler).__call__)


def request_target(raw: str) -> str:
    """Percent-encode the bytes of a raw request target that a URL cannot carry.

    Existing escapes are kept, so a malformed one still reaches the route matcher.
    ``raw`` holds one byte per character (WSGI and ASGI both give latin-1 text).
    """
    if _PLAIN_TARGET.fullmatch(raw):  # the usual case: nothing to encode
        return raw
    try:
        data = raw.encode("latin-1")
    except UnicodeEncodeError:  # not byte-per-character after all: take it as text
        data = raw.encode("utf-8")
    return "".join(chr(b) if b in _UNRESERVED_TARGET else f"%{b:02X}" for b in data)


def quote_path(path: bytes) -> str:
    """Percent-encode a decoded path (WSGI ``PATH_INFO``, ASGI ``path``) back into a raw one."""
    return quote(path, safe="/:@!$&'()*+,;=~") or "/"


def run_protect(
    context: RequestContext,
    predicate: Predicate | None,
    treat_pending_as_signed_out: bool,
    checks: Mapping[str, Any],
) -> AnyAuth:
    """``core.protect()`` over the request's auth object for ``checks["token"]``.

    Raises:
        AuthControlFlow: The request may not proceed (redirect, 404 or 401).
    """
    token: AcceptsToken = checks.get("token") or "session_token"
    auth = context.auth(
        treat_pending_as_signed_out=treat_pending_as_signed_out, accepts_token=token
    )
    return core.protect(
        auth,
        context.request,
        context.options,
        predicate,
        treat_pending_as_signed_out=treat_pending_as_signed_out,
        **checks,
    )


def _protected(auth: AnyAuth) -> Auth | MachineAuth:
    # protect() raises for the invalid-token object (its type is never accepted).
    if isinstance(auth, InvalidTokenAuth):  # pragma: no cover - protect() refused it
        raise AuthUnauthorized()
    return auth


def _accepts(value: AcceptsToken | list[TokenType]) -> AcceptsToken:
    """``accepts_token`` as the core takes it: a list becomes a tuple."""
    return tuple(value) if isinstance(value, list) else value


def protect_checks(
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification = None,
    unauthenticated_url: str | None = None,
    unauthorized_url: str | None = None,
    tasks_url: str | None = None,
    token: AcceptsToken | list[TokenType] = "session_token",  # noqa: S107 - a token type
    scopes: list[str] | tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """``core.protect()``'s keyword arguments from ``auth.protect()``'s (built in one place)."""
    return {
        "role": role,
        "permission": permission,
        "feature": feature,
        "plan": plan,
        "reverification": reverification,
        "unauthenticated_url": unauthenticated_url,
        "unauthorized_url": unauthorized_url,
        "tasks_url": tasks_url,
        "token": _accepts(token),
        "scopes": tuple(scopes) if scopes is not None else None,
    }


class ClerkAuth:
    """``auth``: the request's auth object, and the ways to stop the request.

    Handlers get one bound to their request; the module-level ``auth`` of each
    adapter reads the current request (a ContextVar), so it works in any view.

    Args:
        context: The request to bind to; None reads the current request.
    """

    __slots__ = ("_context",)

    def __init__(self, context: RequestContext | None = None) -> None:
        self._context = context

    def _get(self) -> RequestContext:
        return self._context if self._context is not None else current_context()

    @overload
    def __call__(
        self,
        *,
        treat_pending_as_signed_out: bool = True,
        accepts_token: Literal["session_token"] = "session_token",  # noqa: S107 - a token type
    ) -> Auth: ...

    @overload
    def __call__(
        self, *, treat_pending_as_signed_out: bool = True, accepts_token: MachineTokenType
    ) -> MachineAuth: ...

    @overload
    def __call__(
        self, *, treat_pending_as_signed_out: bool = True, accepts_token: AcceptsToken
    ) -> AnyAuth: ...

    def __call__(
        self,
        *,
        treat_pending_as_signed_out: bool = True,
        accepts_token: AcceptsToken = "session_token",  # noqa: S107 - a token type
    ) -> AnyAuth:
        """Return the request's auth object.

        Args:
            treat_pending_as_signed_out: False gives a pending session's user
                (``user_id`` set, ``is_signed_in`` True) instead of the signed-out object.
            accepts_token: The token types this call accepts, as Clerk's
                ``auth({ acceptsToken })``: ``"session_token"`` (the default) gives
                an ``Auth``; a machine type (``"api_key"``, ``"m2m_token"``,
                ``"oauth_token"``) a ``MachineAuth`` (unauthenticated unless the
                request carries a valid token of that type); ``"any"`` or a list
                the request's own object, or ``InvalidTokenAuth`` for a token of
                an unlisted type.

        Raises:
            RuntimeError: Called outside a request handled by clerk_middleware; or,
                on an event loop, the token must be verified over the network
                first (``await auth.verify(accepts_token=...)``).
        """
        return self._get().auth(
            treat_pending_as_signed_out=treat_pending_as_signed_out,
            accepts_token=_accepts(accepts_token),
        )

    async def verify(
        self,
        *,
        accepts_token: AcceptsToken | list[TokenType] = "session_token",  # noqa: S107
        treat_pending_as_signed_out: bool = True,
    ) -> AnyAuth:
        """``auth(accepts_token=...)`` for async code: verifies without blocking.

        Args:
            accepts_token: As for ``auth()``.
            treat_pending_as_signed_out: As for ``auth()``.

        Returns:
            The auth object ``auth(accepts_token=...)`` returns.

        Raises:
            RuntimeError: Called outside a request handled by clerk_middleware.
        """
        accepts = _accepts(accepts_token)
        context = self._get()
        await context.verify_async(accepts)
        return context.auth(
            treat_pending_as_signed_out=treat_pending_as_signed_out, accepts_token=accepts
        )

    @property
    def request(self) -> AuthRequest:
        """The request as the core saw it; pass it to a route matcher (it reads ``route_path``)."""
        return self._get().request

    @property
    def state(self) -> RequestState:
        """The request's ``RequestState``."""
        return self._get().state

    @overload
    def protect(
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
        token: Literal["session_token"] = "session_token",  # noqa: S107 - a token type
        scopes: list[str] | tuple[str, ...] | None = None,
    ) -> Auth: ...

    @overload
    def protect(
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
        token: MachineTokenType,
        scopes: list[str] | tuple[str, ...] | None = None,
    ) -> MachineAuth: ...

    @overload
    def protect(
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
        token: AcceptsToken | list[TokenType],
        scopes: list[str] | tuple[str, ...] | None = None,
    ) -> Auth | MachineAuth: ...

    def protect(
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
        token: AcceptsToken | list[TokenType] = "session_token",  # noqa: S107 - a token type
        scopes: list[str] | tuple[str, ...] | None = None,
    ) -> Auth | MachineAuth:
        """Let the request through only if signed in and authorized (``auth.protect()``).

        Args:
            predicate: Called with ``has``; must return True.
            role: Required organization role, e.g. ``"org:admin"``.
            permission: Required organization permission.
            feature: Required feature.
            plan: Required plan.
            reverification: Required reverification preset or config.
            unauthenticated_url: Send signed-out users here instead of sign-in.
            unauthorized_url: Send unauthorized users here instead of a 404.
            tasks_url: Send pending users to the app's own after-auth page.
            treat_pending_as_signed_out: False lets a pending session through.
            token: The accepted token types (Clerk's ``token``): ``"session_token"``
                (the default), a machine type, ``"any"`` or a list. A token of
                another type, or a machine token that did not verify, gets a 401.
            scopes: Scopes a machine token must all carry (else 401).

        Returns:
            The auth object (``Auth`` or ``MachineAuth``), when the request may proceed.

        Raises:
            AuthRedirect: 307 to sign-in (page requests) or the URL given.
            AuthNotFound: 404 for other requests and for failed checks.
            AuthUnauthorized: 401 for machine requests that may not proceed.
            RuntimeError: Called outside a request handled by clerk_middleware (or,
                on an event loop, see ``auth()``: use ``protect_async``).
        """
        checks = protect_checks(
            role=role,
            permission=permission,
            feature=feature,
            plan=plan,
            reverification=reverification,
            unauthenticated_url=unauthenticated_url,
            unauthorized_url=unauthorized_url,
            tasks_url=tasks_url,
            token=token,
            scopes=scopes,
        )
        return _protected(run_protect(self._get(), predicate, treat_pending_as_signed_out, checks))

    @overload
    async def protect_async(
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
        token: Literal["session_token"] = "session_token",  # noqa: S107 - a token type
        scopes: list[str] | tuple[str, ...] | None = None,
    ) -> Auth: ...

    @overload
    async def protect_async(
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
        token: MachineTokenType,
        scopes: list[str] | tuple[str, ...] | None = None,
    ) -> MachineAuth: ...

    @overload
    async def protect_async(
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
        token: AcceptsToken | list[TokenType],
        scopes: list[str] | tuple[str, ...] | None = None,
    ) -> Auth | MachineAuth: ...

    async def protect_async(
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
        token: AcceptsToken | list[TokenType] = "session_token",  # noqa: S107 - a token type
        scopes: list[str] | tuple[str, ...] | None = None,
    ) -> Auth | MachineAuth:
        """``protect()`` for async code: a machine token is verified without blocking.

        Arguments, return value and exceptions as ``protect()``.
        """
        checks = protect_checks(
            role=role,
            permission=permission,
            feature=feature,
            plan=plan,
            reverification=reverification,
            unauthenticated_url=unauthenticated_url,
            unauthorized_url=unauthorized_url,
            tasks_url=tasks_url,
            token=token,
            scopes=scopes,
        )
        context = self._get()
        await context.verify_async(checks["token"])
        return _protected(run_protect(context, predicate, treat_pending_as_signed_out, checks))

    def redirect_to_sign_in(self, *, return_back_url: ReturnBackUrl = CURRENT_URL) -> NoReturn:
        """Stop the request with a 307 to sign-in (pending sessions: the tasks page).

        Args:
            return_back_url: Where to return afterwards: omitted = the current URL,
                None = no ``redirect_url``, relative = resolved against the request.

        Raises:
            AuthRedirect: Always.
        """
        context = self._get()
        core.redirect_to_sign_in(
            context.request,
            context.options,
            return_back_url=return_back_url,
            session_status=context.auth().session_status,
        )

    def redirect_to_sign_up(self, *, return_back_url: ReturnBackUrl = CURRENT_URL) -> NoReturn:
        """Stop the request with a 307 to sign-up; arguments as ``redirect_to_sign_in``.

        Raises:
            AuthRedirect: Always.
        """
        context = self._get()
        core.redirect_to_sign_up(
            context.request,
            context.options,
            return_back_url=return_back_url,
            session_status=context.auth().session_status,
        )


#: The current request's auth accessor: ``auth()``, ``auth.protect()``, ...
auth: Final = ClerkAuth()
# Every adapter module re-exports ClerkAuth: tracebacks and reprs name the public
# module with no framework in it, not this private one.
ClerkAuth.__module__ = "clerk_middleware.adapters.wsgi"


class ControlHelper:
    """A condition on the current request: truthy in templates, enforced as a decorator.

    Made by ``signed_in()``, ``signed_out()`` and ``protect()``. In a Jinja2
    template ``{% if protect(role="org:admin") %}`` shows content only to admins
    (Clerk's ``<Protect>``); on a view, ``@protect(role="org:admin")`` stops the
    request before the view runs, as ``auth.protect()`` would.
    """

    __slots__ = ("_accepts", "_check", "_enforce")

    def __init__(
        self,
        check: Callable[[RequestContext], bool],
        enforce: Callable[[RequestContext], object],
        accepts_token: AcceptsToken = "session_token",  # noqa: S107 - a token type
    ) -> None:
        self._check = check
        self._enforce = enforce
        self._accepts = accepts_token

    def __bool__(self) -> bool:
        return self._check(current_context())

    def __call__(self, view: F) -> F:
        """Decorate a view (sync or async) so the condition is enforced first.

        Raises:
            TypeError: ``view`` is not callable (write ``@protect()``, with parentheses).
        """
        if not callable(view):
            raise TypeError("A control helper decorates a view: write @protect(), not @protect.")
        enforce = self._enforce
        accepts = self._accepts
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_view(*args: Any, **kwargs: Any) -> Any:
                context = current_context()
                await context.verify_async(accepts)
                enforce(context)
                return await view(*args, **kwargs)

            return cast(F, async_view)

        @functools.wraps(view)
        def sync_view(*args: Any, **kwargs: Any) -> Any:
            enforce(current_context())
            return view(*args, **kwargs)

        return cast(F, sync_view)


def signed_in(*, treat_pending_as_signed_out: bool = True) -> ControlHelper:
    """Signed in (Clerk's ``<SignedIn>``); as a decorator, ``auth.protect()``.

    Args:
        treat_pending_as_signed_out: False counts a pending session as signed in.

    Returns:
        A ``ControlHelper``.
    """

    def check(context: RequestContext) -> bool:
        return context.auth(treat_pending_as_signed_out=treat_pending_as_signed_out).is_signed_in

    def enforce(context: RequestContext) -> None:
        run_protect(context, None, treat_pending_as_signed_out, {})

    return ControlHelper(check, enforce)


def signed_out(*, treat_pending_as_signed_out: bool = True) -> ControlHelper:
    """Signed out (Clerk's ``<SignedOut>``); as a decorator, signed-in users get a 404.

    Args:
        treat_pending_as_signed_out: False counts a pending session as signed in.

    Returns:
        A ``ControlHelper``.
    """

    def check(context: RequestContext) -> bool:
        return not context.auth(
            treat_pending_as_signed_out=treat_pending_as_signed_out
        ).is_signed_in

    def enforce(context: RequestContext) -> None:
        if not check(context):
            # Hidden as Clerk hides what a user may not see: a 404, not a 403.
            raise AuthNotFound((("x-clerk-auth-reason", "protect-rewrite"),))

    return ControlHelper(check, enforce)


def protect(
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
    token: AcceptsToken | list[TokenType] = "session_token",  # noqa: S107 - a token type
    scopes: list[str] | tuple[str, ...] | None = None,
) -> ControlHelper:
    """Signed in and authorized (Clerk's ``<Protect>``); as a decorator, ``auth.protect(...)``.

    Args:
        predicate: Called with ``has``; must return True.
        role: Required organization role.
        permission: Required organization permission.
        feature: Required feature.
        plan: Required plan.
        reverification: Required reverification preset or config.
        unauthenticated_url: Decorator: send signed-out users here instead of sign-in.
        unauthorized_url: Decorator: send unauthorized users here instead of a 404.
        tasks_url: Decorator: send pending users to the app's own after-auth page.
        treat_pending_as_signed_out: False lets a pending session through.
        token: Accepted token types, as for ``auth.protect(token=...)``; on an
            async view the token is verified without blocking.
        scopes: Scopes a machine token must all carry.

    Returns:
        A ``ControlHelper``.
    """
    checks = protect_checks(
        role=role,
        permission=permission,
        feature=feature,
        plan=plan,
        reverification=reverification,
        unauthenticated_url=unauthenticated_url,
        unauthorized_url=unauthorized_url,
        tasks_url=tasks_url,
        token=token,
        scopes=scopes,
    )

    def enforce(context: RequestContext) -> None:
        run_protect(context, predicate, treat_pending_as_signed_out, checks)

    def check(context: RequestContext) -> bool:
        try:
            enforce(context)
        except AuthControlFlow:
            return False
        return True

    return ControlHelper(check, enforce, checks["token"])


def csp_nonce() -> str | None:
    """The current request's CSP nonce (strict ``content_security_policy``), else None.

    Put it on your ``<script>`` tags: ``<script nonce="{{ csp_nonce() }}">``.

    Raises:
        RuntimeError: No request handled by clerk_middleware is in progress.
    """
    return current_context().csp_nonce


def template_globals() -> dict[str, Callable[..., Any]]:
    """The Jinja2 globals ``signed_in``, ``signed_out``, ``protect`` and ``csp_nonce``."""
    return {
        "signed_in": signed_in,
        "signed_out": signed_out,
        "protect": protect,
        "csp_nonce": csp_nonce,
    }


@dataclass(frozen=True, slots=True)
class Answer:
    """A response decided before (or instead of) the app's: status, headers, body."""

    status: int
    headers: Headers
    body: bytes = b""

    @property
    def status_line(self) -> str:
        """``"307 Temporary Redirect"`` and so on, for WSGI."""
        return f"{self.status} {HTTPStatus(self.status).phrase}"


def _answer(status: int, headers: Headers, body: bytes = b"") -> Answer:
    framing = (("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(body))))
    return Answer(status, (*headers, *framing), body)


def handshake_answer(state: RequestState) -> Answer | None:
    """The 307 a state with a ``location`` answers (a handshake), else None.

    Raises:
        RuntimeError: A handshake state without a location (as Clerk's middleware throws).
    """
    if state.headers and state.location is not None:
        return _answer(307, state.headers)
    if state.status == "handshake":
        raise RuntimeError("Clerk: a handshake state came without a redirect location.")
    return None


def control_flow_answer(exc: AuthControlFlow | MalformedPathError) -> Answer:
    """Translate a control-flow exception into its response (without the state's headers).

    Args:
        exc: Raised by ``protect()``, a redirect helper, or a route matcher.

    Returns:
        307/404/401 as the exception says; 400 for a malformed path.
    """
    if isinstance(exc, MalformedPathError):
        return _answer(400, (), b"Bad Request")
    body = b"Not Found" if isinstance(exc, AuthNotFound) else b""
    return _answer(exc.status_code, exc.headers, body)
