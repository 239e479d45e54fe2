"""The matrix app in Flask, and its test client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from wsgiref.validate import validator

from flask import Flask, Request, Response, render_template_string
from flask import request as flask_request
from flask.typing import ResponseReturnValue

from clerk_middleware.adapters.flask import (
    ClerkAuth,
    auth,
    clerk_middleware,
    get_auth,
    protect,
)

from .. import matrix

TEMPLATE = """\
{% if signed_in() %}in{% endif %}|{% if signed_out() %}out{% endif %}|\
{% if signed_in(treat_pending_as_signed_out=False) %}in-aware{% endif %}|\
{% if protect(role="org:admin") %}admin{% endif %}|\
{% if protect(treat_pending_as_signed_out=False) %}protect-aware{% endif %}"""


def handler(auth: ClerkAuth, request: Request) -> ResponseReturnValue | None:
    """The shared handler, plus a native short-circuit on /teapot."""
    if request.path == "/teapot":
        return Response("teapot", status=418)
    matrix.handler(auth, request)
    return None


def make_app(settings: Mapping[str, Any]) -> Flask:
    """A Flask app with the matrix routes, its WSGI side checked by wsgiref's validator."""
    app = Flask(__name__)
    clerk_middleware(handler, **settings).init_app(app)
    app.wsgi_app = validator(app.wsgi_app)  # type: ignore[method-assign,assignment]

    def view(**_: str) -> dict[str, Any]:
        return matrix.view_body(auth)

    for rule in ("/handler/<action>", "/view/<action>", "/matcher/<path:rest>",
                 "/view-matcher/<path:rest>"):
        app.add_url_rule(rule, endpoint=rule, view_func=view)
    for action, helper in matrix.decorated(protect).items():
        app.add_url_rule(f"/decorated/{action}", endpoint=f"decorated-{action}",
                         view_func=helper(view))

    @app.get("/get-auth")
    def get_auth_view() -> dict[str, Any]:
        return {
            "default": matrix.fields(get_auth(flask_request)),
            "aware": matrix.fields(get_auth(flask_request, treat_pending_as_signed_out=False)),
        }

    @app.get("/template")
    def template() -> str:
        return render_template_string(TEMPLATE)

    @app.get("/boom")
    def boom() -> str:
        raise ValueError("an application bug")

    return app


def make_client(settings: Mapping[str, Any]) -> matrix.Client:
    """A ``matrix.Client`` over Flask's test client."""
    client = make_app(settings).test_client(use_cookies=False)

    def send(path: str, headers: Mapping[str, str]) -> matrix.Outcome:
        response = client.get(path, base_url=matrix.BASE, headers=dict(headers), buffered=True)
        pairs = tuple((k.lower(), v) for k, v in response.headers.to_wsgi_list())
        return matrix.Outcome(response.status_code, pairs, response.data)

    return send
