"""The matrix app as a plain WSGI application, and a werkzeug test client for it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment
from wsgiref.validate import validator

from werkzeug.test import Client

from clerk_middleware.adapters.wsgi import (
    ClerkAuth,
    auth,
    clerk_middleware,
    get_auth,
    protect,
)

from .. import matrix


def _json(start_response: StartResponse, body: Any, status: str = "200 OK") -> list[bytes]:
    data = json.dumps(body).encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(data)))]
    start_response(status, headers)
    return [data]


def _teapot(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("418 I'm a teapot", [("content-type", "text/plain"), ("content-length", "6")])
    return [b"teapot"]


def handler(auth: ClerkAuth, environ: WSGIEnvironment) -> WSGIApplication | None:
    """The shared handler, plus a native short-circuit on /teapot."""
    if environ["PATH_INFO"] == "/teapot":
        return _teapot
    matrix.handler(auth, environ)
    return None


def _decorated_view() -> dict[str, Any]:
    return matrix.view_body(auth)


DECORATED = {
    action: helper(_decorated_view) for action, helper in matrix.decorated(protect).items()
}


def _streaming(start_response: StartResponse) -> Iterator[bytes]:
    # A lazy body: auth() is read while the server iterates, after the app returned.
    start_response("200 OK", [("content-type", "text/plain")])
    yield b"user="
    yield (auth().user_id or "none").encode()


def _lazy_protect(start_response: StartResponse) -> Iterator[bytes]:
    # A generator app that protects before its first chunk (start_response not yet called).
    auth.protect()
    start_response("200 OK", [("content-type", "text/plain")])
    yield b"secret"


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Dispatch on the path."""
    path = environ["PATH_INFO"]
    if path.startswith("/decorated/"):
        return _json(start_response, DECORATED[path.removeprefix("/decorated/")]())
    if path == "/get-auth":
        return _json(start_response, {
            "default": matrix.fields(get_auth(environ)),
            "aware": matrix.fields(get_auth(environ, treat_pending_as_signed_out=False)),
        })
    if path == "/stream":
        return _streaming(start_response)
    if path == "/lazy-protect":
        return _lazy_protect(start_response)
    if path == "/boom":
        raise ValueError("an application bug")
    return _json(start_response, matrix.view_body(auth))


def make_app(settings: Mapping[str, Any]) -> WSGIApplication:
    """The middleware around the app, checked by wsgiref's validator on both sides."""
    return validator(clerk_middleware(handler, **settings)(validator(app)))


def make_client(settings: Mapping[str, Any]) -> matrix.Client:
    """A ``matrix.Client`` over werkzeug's WSGI test client (it keeps the raw path)."""
    client = Client(make_app(settings), use_cookies=False)

    def send(path: str, headers: Mapping[str, str]) -> matrix.Outcome:
        response = client.get(path, base_url=matrix.BASE, headers=dict(headers), buffered=True)
        pairs = tuple((k.lower(), v) for k, v in response.headers.to_wsgi_list())
        return matrix.Outcome(response.status_code, pairs, response.data)

    return send
