"""Clerk authentication for Flask, built on the WSGI adapter.

::

    from flask import Flask
    from clerk_middleware.adapters.flask import auth, clerk_middleware, protect

    app = Flask(__name__)
    clerk_middleware(handler).init_app(app)    # or clerk_middleware(handler, app=app)

    @app.get("/admin")
    @protect(role="org:admin")
    def admin():
        return {"user": auth().user_id}

``init_app`` wraps ``app.wsgi_app`` in ``ClerkWSGIMiddleware`` (authentication,
handshakes and the state's headers on every response), runs
``handler(auth, request)`` first among ``before_request`` functions inside the
Flask request context (return any view return value to short-circuit),
registers one error handler turning control flow into a response, and adds the
Jinja2 globals ``signed_in``, ``signed_out`` and ``protect``::

    {% if protect(role="org:admin") %}<a href="/admin">Admin</a>{% endif %}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response, current_app, request
from flask.typing import ResponseReturnValue

from clerk_middleware.core import Auth, AuthControlFlow, ClerkOptions, MalformedPathError

from ._common import (
    ClerkAuth,
    auth,
    build_options,
    context_of,
    control_flow_answer,
    protect,
    signed_in,
    signed_out,
    template_globals,
)
from .wsgi import ClerkWSGIMiddleware

__all__ = [
    "ClerkAuth",
    "ClerkFlask",
    "FlaskHandler",
    "auth",
    "clerk_middleware",
    "get_auth",
    "protect",
    "signed_in",
    "signed_out",
]

#: ``handler(auth, request)``; return a view return value to answer instead of the view.
FlaskHandler = Callable[[ClerkAuth, Request], ResponseReturnValue | None]


class ClerkFlask:
    """The Flask extension made by ``clerk_middleware``.

    Args:
        handler: Optional ``handler(auth, request)``.
        options: Validated options.
        app: Initialise this app now.
    """

    def __init__(
        self,
        handler: FlaskHandler | None = None,
        *,
        options: ClerkOptions,
        app: Flask | None = None,
    ) -> None:
        self.handler = handler
        self.options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Install the middleware, the handler, the error handlers and the Jinja2 globals.

        Args:
            app: The Flask application.
        """
        # Flask documents wrapping wsgi_app as the way to add WSGI middleware.
        app.wsgi_app = ClerkWSGIMiddleware(app.wsgi_app, self.options)  # type: ignore[method-assign]
        app.extensions["clerk_middleware"] = self
        app.register_error_handler(AuthControlFlow, _control_flow_response)
        app.register_error_handler(MalformedPathError, _control_flow_response)
        handler = self.handler
        if handler is not None:

            def run_handler() -> ResponseReturnValue | None:
                context = context_of(request.environ, kind="Flask request")
                return handler(ClerkAuth(context), request)

            # First, as clerkMiddleware runs before the app's own code.
            app.before_request_funcs.setdefault(None, []).insert(0, run_handler)
        for name, helper in template_globals().items():
            app.add_template_global(helper, name)


def _control_flow_response(exc: AuthControlFlow | MalformedPathError) -> Response:
    answer = control_flow_answer(exc)
    return current_app.response_class(
        answer.body, status=answer.status, headers=list(answer.headers)
    )


def clerk_middleware(
    handler: FlaskHandler | None = None, *, app: Flask | None = None, **options: Any
) -> ClerkFlask:
    """Clerk's ``clerkMiddleware`` for Flask: ``clerk_middleware(handler).init_app(app)``.

    Args:
        handler: Optional ``handler(auth, request)``, run before every view.
        app: Initialise this app now (else call ``init_app`` later).
        **options: ``ClerkOptions`` fields; missing ones come from ``CLERK_*`` variables.

    Returns:
        The extension.

    Raises:
        ConfigurationError: The options are invalid (checked now, not per request).
    """
    return ClerkFlask(handler, options=build_options(options), app=app)


def get_auth(request: Request, *, treat_pending_as_signed_out: bool = True) -> Auth:
    """The auth object of a Flask request.

    Args:
        request: The request (``flask.request``).
        treat_pending_as_signed_out: False gives a pending session's user.

    Returns:
        The auth object.

    Raises:
        RuntimeError: The app was not set up with ``clerk_middleware``.
    """
    context = context_of(request.environ, kind="Flask request")
    return context.auth(treat_pending_as_signed_out=treat_pending_as_signed_out)
