"""Clerk authentication for any WSGI application.

::

    from clerk_middleware.adapters.wsgi import auth, clerk_middleware
    from clerk_middleware.core import create_route_matcher

    is_protected = create_route_matcher(["/dashboard(.*)"])

    def handler(auth, environ):
        if is_protected(auth.request):
            auth.protect()

    application = clerk_middleware(handler)(application)

The handler gets the bound ``auth`` and the WSGI environ; it may return a WSGI
application (e.g. a werkzeug ``Response``) to answer instead of the app. In
the app, ``auth()`` reads the current request and ``get_auth(environ)`` the
given one. Control flow raised by ``auth.protect()``, the redirects or a route
matcher (in the handler, the app, or before the app's first body chunk)
becomes a 307/404/401/400 response, and every response gets the state's headers.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from clerk_middleware.core import (
    Auth,
    AuthControlFlow,
    AuthRequest,
    ClerkOptions,
    MalformedPathError,
    authenticate_request,
)
from clerk_middleware.core._proxy import ProxyAnswer, ProxyCall, forward
from clerk_middleware.core._request import header_fields, request_with_headers
from clerk_middleware.core._routes import wsgi_route_path
from clerk_middleware.core._url import is_valid_host
from clerk_middleware.core._webhooks import WebhookEvent
from clerk_middleware.core._webhooks import verify_webhook as _verify_webhook

from ._common import (
    CONTEXT_KEY,
    CONTROL_FLOW,
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
    proxy_chunks,
    proxy_request,
    proxy_status_line,
    quote_path,
    read_bounded,
    request_target,
    reset_context,
    signed_in,
    signed_out,
    webhook_body,
)

__all__ = [
    "ClerkAuth",
    "ClerkWSGIMiddleware",
    "WSGIHandler",
    "auth",
    "auth_request_from_environ",
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

#: ``handler(auth, environ)``; return a WSGI application to answer instead of the app.
WSGIHandler = Callable[[ClerkAuth, WSGIEnvironment], WSGIApplication | None]
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _wsgi_bytes(text: str) -> bytes:
    # PEP 3333 gives bytes as latin-1 text; some test transports give decoded text.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


#: Header names by environ key ("HTTP_X_FORWARDED_HOST" -> "x-forwarded-host"): the
#: same few dozen keys come on every request, and a lookup is cheaper than
#: rebuilding the name. Bounded, as clients choose header names.
_HEADER_NAMES: dict[str, str] = {}
#: Environ keys that are not header fields (CGI variables, ``wsgi.*``, server
#: extras), learnt as they are met: one C-level set difference then leaves only
#: the header keys, instead of testing every key of the environ in Python.
_NOT_HEADERS: set[str] = {"CONTENT_TYPE", "CONTENT_LENGTH"}  # read apart, below
_MAX_NAMES = 1024


#: The two header fields PEP 3333 gives without the ``HTTP_`` prefix.
_CONTENT_FIELDS = (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length"))


def _header_name(key: str) -> str:
    """``HTTP_X_FORWARDED_HOST`` -> ``x-forwarded-host``."""
    return key[5:].replace("_", "-").lower()


def _learn(keys: Iterable[str]) -> None:
    """Learn the names of new header keys and which keys are not headers (both bounded)."""
    for key in keys:
        if key in _HEADER_NAMES:
            continue
        if not key.startswith("HTTP_"):
            if len(_NOT_HEADERS) < _MAX_NAMES:
                _NOT_HEADERS.add(key)
        elif len(_HEADER_NAMES) < _MAX_NAMES:
            _HEADER_NAMES[key] = _header_name(key)


def _environ_headers(environ: WSGIEnvironment) -> dict[str, str]:
    """The request's header fields from the environ's ``HTTP_*`` and ``CONTENT_*`` keys."""
    keys = environ.keys() - _NOT_HEADERS
    try:
        # One comprehension over known names (every key on nearly every request).
        fields = {_HEADER_NAMES[key]: environ[key] for key in keys}
    except KeyError:
        _learn(keys)
    else:
        # Learnt names are lower case; unless two keys gave one name, they are the fields.
        if len(fields) == len(keys):
            for key, name in _CONTENT_FIELDS:
                value = environ.get(key)
                if value:
                    if name in fields:  # also sent as HTTP_CONTENT_*: joined below
                        break
                    fields[name] = value
            else:
                return fields
    # Any environ: names not learnt, or one name under two keys, joined in the
    # environ's order (as the server listed them).
    pairs = [
        (_HEADER_NAMES.get(key) or _header_name(key), environ[key])
        for key in environ
        if key in keys and key.startswith("HTTP_")
    ]
    pairs += [(name, environ[key]) for key, name in _CONTENT_FIELDS if environ.get(key)]
    return header_fields(pairs)


def auth_request_from_environ(environ: WSGIEnvironment) -> AuthRequest:
    """The ``AuthRequest`` of a WSGI request, with the raw path when the server kept it.

    Its ``route_path`` is ``PATH_INFO`` (what the app routes on); its URL keeps
    the raw target as sent where the server kept it, for Clerk's redirects.

    Args:
        environ: The WSGI environ.

    Returns:
        The request as the core reads it.

    Raises:
        MalformedPathError: The ``Host`` header is not a ``host[:port]`` (answer 400).
    """
    headers = _environ_headers(environ)
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if host:
        if not is_valid_host(host):
            raise MalformedPathError(host)
    else:
        host = environ.get("SERVER_NAME", "localhost")
        port = environ.get("SERVER_PORT")
        if port and port != _DEFAULT_PORTS.get(scheme):
            host = f"{host}:{port}"
        if not is_valid_host(host):  # the server's own name: never the client's to break
            host = "localhost"
    path_info = environ.get("PATH_INFO", "")
    # gunicorn's RAW_URI, mod_wsgi's and werkzeug's REQUEST_URI: path and query as sent.
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if not target.startswith("/"):  # absent, or an absolute-form target
        target = quote_path(_wsgi_bytes(environ.get("SCRIPT_NAME", "") + path_info))
    # werkzeug's test client sets REQUEST_URI without the query it passes apart.
    query = environ.get("QUERY_STRING")
    if query and "?" not in target:
        target = f"{target}?{query}"
    method = environ.get("REQUEST_METHOD", "GET")
    url = f"{scheme}://{host}{request_target(target)}"
    return request_with_headers(method, url, headers, wsgi_route_path(path_info))


class ClerkWSGIMiddleware:
    """WSGI middleware: authenticate, run the handler, then the app.

    Args:
        app: The WSGI application to protect.
        options: Validated options.
        handler: Optional ``handler(auth, environ)``.
    """

    def __init__(
        self, app: WSGIApplication, options: ClerkOptions, handler: WSGIHandler | None = None
    ) -> None:
        self.app = app
        self.options = options
        self.handler = handler

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Handle one request (the WSGI protocol)."""
        try:
            request = auth_request_from_environ(environ)
        except MalformedPathError as exc:
            bad = control_flow_answer(exc)
            start_response(bad.status_line, list(bad.headers))
            return [bad.body]
        if self.options.frontend_api_proxy is not None:
            planned = proxy_request(request, self.options)
            if planned is not None:
                return _proxy(planned, environ, start_response, self.options)
        state = authenticate_request(request, self.options)
        handshake = handshake_answer(state)
        if handshake is not None:
            start_response(handshake.status_line, list(handshake.headers))
            return [handshake.body]
        context = RequestContext(request, state, self.options)
        environ[CONTEXT_KEY] = context
        started = False

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal started
            started = True
            if context.options.content_security_policy is not None:
                replaced = context.replaced_headers()  # Clerk's CSP replaces the app's
                headers = [(k, v) for k, v in headers if k.lower() not in replaced]
            return start_response(status, [*headers, *context.response_headers()], exc_info)

        def answer(exc: AuthControlFlow | MalformedPathError) -> list[bytes]:
            response = control_flow_answer(exc)
            # Replacing headers the app already gave is legal until the body starts.
            start(response.status_line, list(response.headers), sys.exc_info() if started else None)
            return [response.body]

        token = bind_context(context)
        try:
            body = self._run(context, environ, start)
        except CONTROL_FLOW as exc:
            return answer(exc)
        finally:
            reset_context(token)
        if type(body) is list or type(body) is tuple:
            return body  # already produced: no app code runs while it is sent
        return _BoundBody(body, context, answer)

    def _run(
        self, context: RequestContext, environ: WSGIEnvironment, start: StartResponse
    ) -> Iterable[bytes]:
        if self.handler is not None:
            response = self.handler(ClerkAuth(context), environ)
            if response is not None:
                return response(environ, start)
        return self.app(environ, start)


class _BoundBody:
    """The app's body, produced with the request's context bound (``auth()`` works in it)."""

    def __init__(
        self,
        body: Iterable[bytes],
        context: RequestContext,
        answer: Callable[[AuthControlFlow | MalformedPathError], list[bytes]],
    ) -> None:
        self._body = body
        self._context = context
        self._answer = answer

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._body)
        sent = False
        while True:
            token = bind_context(self._context)
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            except CONTROL_FLOW as exc:
                if sent:
                    raise
                chunk, chunks = b"", iter(self._answer(exc))
            finally:
                reset_context(token)
            sent = sent or bool(chunk)
            yield chunk

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            token = bind_context(self._context)
            try:
                close()
            finally:
                reset_context(token)


def clerk_middleware(
    handler: WSGIHandler | None = None, **options: Any
) -> Callable[[WSGIApplication], ClerkWSGIMiddleware]:
    """Clerk's ``clerkMiddleware`` for WSGI; wrap your application with what it returns.

    ``application = clerk_middleware(handler)(application)``

    Args:
        handler: Optional ``handler(auth, environ)``, run before the app.
        **options: ``ClerkOptions`` fields; missing ones come from ``CLERK_*`` variables.

    Returns:
        A function wrapping a WSGI application in ``ClerkWSGIMiddleware``.

    Raises:
        ConfigurationError: The options are invalid or the handler is not callable
            (checked now, not per request).
    """
    check_handler(handler, factory="clerk_middleware", sync_only=True)
    built = build_options(options)

    def wrap(app: WSGIApplication) -> ClerkWSGIMiddleware:
        return ClerkWSGIMiddleware(app, built, handler)

    return wrap


def get_auth(environ: WSGIEnvironment, *, treat_pending_as_signed_out: bool = True) -> Auth:
    """The auth object of a request that passed through the middleware.

    Args:
        environ: The request's WSGI environ.
        treat_pending_as_signed_out: False gives a pending session's user.

    Returns:
        The auth object.

    Raises:
        RuntimeError: The request did not pass through ``clerk_middleware``.
    """
    context = context_of(environ, kind="WSGI environ")
    return context.auth(treat_pending_as_signed_out=treat_pending_as_signed_out)


def verify_webhook(environ: WSGIEnvironment, *, signing_secret: str | None = None) -> WebhookEvent:
    """Verify a Clerk webhook delivery (Svix signature over the raw body) and return its event.

    Reads ``wsgi.input`` (``CONTENT_LENGTH`` bytes, at most ``MAX_BODY_BYTES``)
    and puts the bytes back as a fresh ``wsgi.input``, so the app can read the
    body again.

    Args:
        environ: The WSGI environ.
        signing_secret: The endpoint's signing secret (default:
            ``CLERK_WEBHOOK_SIGNING_SECRET``).

    Returns:
        The verified event.

    Raises:
        WebhookVerificationError: Not a valid delivery; answer ``exc.status_code``.
        ConfigurationError: No (valid) signing secret is configured.
    """
    length = _content_length(environ)
    body = webhook_body(_chunks(environ["wsgi.input"], length), length)
    environ["wsgi.input"] = io.BytesIO(body)
    headers = [
        (name[5:].replace("_", "-").lower(), value)
        for name, value in environ.items()
        if name.startswith("HTTP_") and isinstance(value, str)
    ]
    return _verify_webhook(headers, body, signing_secret=signing_secret)


def _content_length(environ: WSGIEnvironment) -> int:
    """``CONTENT_LENGTH`` as a number (0 when absent or not a plain decimal)."""
    text = environ.get("CONTENT_LENGTH") or ""
    return int(text) if text.isdigit() and len(text) < 20 else 0


def _chunks(stream: Any, length: int) -> Iterator[bytes]:
    # PEP 3333: read no more than CONTENT_LENGTH (a server may block past it).
    left = length
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            return
        left -= len(chunk)
        yield chunk


def _proxy(
    planned: ProxyCall | ProxyAnswer,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    options: ClerkOptions,
) -> Iterable[bytes]:
    """Answer a request under the Frontend API proxy's path: forward it, stream the answer."""
    proxy = options.frontend_api_proxy
    assert proxy is not None
    answer: ProxyAnswer
    if isinstance(planned, ProxyAnswer):
        answer = planned
    else:
        length = _content_length(environ)
        body = read_bounded(_chunks(environ["wsgi.input"], length), proxy.max_request_bytes, length)
        answer = proxy_body_too_large(options) if body is None else forward(planned, body, proxy)
    start_response(proxy_status_line(answer), answer.headers)
    return proxy_chunks(answer)
