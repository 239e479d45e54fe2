"""Clerk authentication for Flask, built on the WSGI adapter.

::

    from flask import Blueprint, Flask
    from clerk_middleware.adapters.flask import auth, clerk_middleware, protect

    clerk = clerk_middleware(handler)          # reads nothing yet: safe at import time
    pages = Blueprint("pages", __name__)

    @pages.get("/admin")
    @protect(role="org:admin")
    def admin():
        return {"user": auth().user_id}

    def create_app(config=None):
        app = Flask(__name__)
        app.config.from_mapping(config or {})  # CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY, ...
        clerk.init_app(app)                    # options are read and checked here
        app.register_blueprint(pages)
        return app

``init_app`` reads each option from, in order: the keyword given to
``clerk_middleware``, ``app.config`` under its ``CLERK_*`` variable name
(``CLERK_SECRET_KEY``, ``CLERK_PUBLISHABLE_KEY``, ``CLERK_SIGN_IN_URL``...),
the environment, and the default; bad configuration fails there, at start-up.
One extension serves any number of apps; each app's state is in
``app.extensions["clerk_middleware"]`` (a ``ClerkFlaskState``).

It wraps ``app.wsgi_app`` in ``ClerkWSGIMiddleware`` (authentication,
handshakes and the state's headers on every response), runs
``handler(auth, request)`` first among ``before_request`` functions inside the
Flask request context (return any view return value to short-circuit),
registers one error handler turning control flow into a response, and adds
the Jinja2 globals ``signed_in``, ``signed_out`` and ``protect``::

    {% if protect(role="org:admin") %}<a href="/admin">Admin</a>{% endif %}

``protect()``'s 404 and 401, wherever raised (the handler, a view, a
decorator), go through Flask's own error handling: an
``@app.errorhandler(404)`` renders the page, with Clerk's status code and
``x-clerk-auth-*`` headers kept. Redirects to sign-in stay Clerk's 307.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import flask
from flask import Flask, Request, Response, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import default_exceptions

from clerk_middleware.core import (
    Auth,
    AuthControlFlow,
    ClerkOptions,
    ConfigurationError,
    MalformedPathError,
)
from clerk_middleware.core._webhooks import MAX_BODY_BYTES, WebhookEvent, body_too_large
from clerk_middleware.core._webhooks import verify_webhook as _verify_webhook

from ._common import (
    ERROR_PAGES,
    ClerkAuth,
    auth,
    build_options,
    check_handler,
    check_option_names,
    clerk_client,
    context_of,
    control_flow_answer,
    csp_nonce,
    current_user,
    current_user_async,
    protect,
    signed_in,
    signed_out,
    template_globals,
)
from .wsgi import ClerkWSGIMiddleware

__all__ = [
    "ClerkAuth",
    "ClerkFlask",
    "ClerkFlaskState",
    "FlaskHandler",
    "auth",
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

#: ``handler(auth, request)``; return a view return value to answer instead of the view.
FlaskHandler = Callable[[ClerkAuth, Request], ResponseReturnValue | None]
_EXTENSION = "clerk_middleware"
_CONFIG_LABEL = 'app.config["{}"]'


@dataclass(slots=True)
class ClerkFlaskState:
    """What ``init_app`` set up on one app: ``app.extensions["clerk_middleware"]``.

    Attributes:
        extension: The ``ClerkFlask`` that initialised the app.
        options: The app's validated options.
        middleware: The ``ClerkWSGIMiddleware`` wrapping ``app.wsgi_app``.
    """

    extension: ClerkFlask
    options: ClerkOptions
    middleware: ClerkWSGIMiddleware


class ClerkFlask:
    """The Flask extension made by ``clerk_middleware``.

    It holds the handler and the keyword options only; each app's options are
    read by ``init_app``, so one extension made at import time serves apps built
    later by an app factory, each with its own ``app.config``.

    Args:
        handler: Optional ``handler(auth, request)``.
        options: Ready options for every app (``app.config`` and the environment
            are then not read); else ``settings`` are resolved per app.
        settings: ``ClerkOptions`` fields given as keywords; they win over
            ``app.config`` and the environment.
        app: Initialise this app now.

    Raises:
        ConfigurationError: The handler is not callable, or a setting is not an option.
    """

    def __init__(
        self,
        handler: FlaskHandler | None = None,
        *,
        options: ClerkOptions | None = None,
        settings: Mapping[str, Any] | None = None,
        app: Flask | None = None,
    ) -> None:
        check_handler(handler, factory="clerk_middleware", sync_only=True)
        self.handler = handler
        self.options = options
        self.settings: dict[str, Any] = dict(settings or {})
        check_option_names(self.settings)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> ClerkFlaskState:
        """Read the app's options, then install the middleware, handler, error handlers, globals.

        Args:
            app: The Flask application.

        Returns:
            The app's state, also in ``app.extensions["clerk_middleware"]``.

        Raises:
            ConfigurationError: The options are missing or invalid, or the app is
                already set up with clerk_middleware (the handler would run twice).
        """
        if _EXTENSION in app.extensions:
            raise ConfigurationError(
                f"clerk_middleware is already set up on the Flask app {app.name!r} "
                "(init_app called twice, or a second clerk_middleware(..., app=app)): "
                "every request would be authenticated, and the handler run, twice. Call "
                "init_app once per app."
            )
        options = self.options
        if options is None:
            options = build_options(self.settings, config=app.config, config_label=_CONFIG_LABEL)
        handler = self.handler
        if handler is not None:

            def run_handler() -> ResponseReturnValue | None:
                context = context_of(request.environ, kind="Flask request")
                return handler(ClerkAuth(context), request)

            # First, as clerkMiddleware runs before the app's own code.
            app.before_request_funcs.setdefault(None, []).insert(0, run_handler)
        # Flask documents wrapping wsgi_app as the way to add WSGI middleware.
        middleware = ClerkWSGIMiddleware(app.wsgi_app, options)
        app.wsgi_app = middleware  # type: ignore[method-assign]
        state = ClerkFlaskState(self, options, middleware)
        app.extensions[_EXTENSION] = state
        app.register_error_handler(AuthControlFlow, _control_flow_response)
        app.register_error_handler(MalformedPathError, _control_flow_response)
        for name, helper in template_globals().items():
            app.add_template_global(helper, name)
        return state


def _control_flow_response(exc: AuthControlFlow | MalformedPathError) -> Response:
    """The one translator: Clerk's redirect and 400, or the app's own 404/401 page."""
    app = current_app
    if not isinstance(exc, ERROR_PAGES):
        answer = control_flow_answer(exc)
        return app.response_class(answer.body, status=answer.status, headers=list(answer.headers))
    # Flask's own handling of an abort(404): the app's errorhandler(404) (or
    # errorhandler(HTTPException), a blueprint's), else werkzeug's page.
    response = app.make_response(app.handle_http_exception(default_exceptions[exc.status_code]()))
    # Clerk's status whatever the page's handler returned (a template returned
    # without ", 404" would answer 200), and Clerk's headers.
    response.status_code = exc.status_code
    present = set(response.headers.items(lower=True))
    for name, value in exc.headers:
        if (name.lower(), value) not in present:
            response.headers.add(name, value)
    return response


def clerk_middleware(
    handler: FlaskHandler | None = None, *, app: Flask | None = None, **options: Any
) -> ClerkFlask:
    """Clerk's ``clerkMiddleware`` for Flask: ``clerk_middleware(handler).init_app(app)``.

    Nothing is read at this point but the arguments, so the extension can be
    made at import time; ``init_app`` reads ``app.config`` and the environment.

    Args:
        handler: Optional ``handler(auth, request)``, run before every view.
        app: Initialise this app now (else call ``init_app`` later).
        **options: ``ClerkOptions`` fields; they win over ``app.config`` and the
            ``CLERK_*`` variables, which give the missing ones.

    Returns:
        The extension.

    Raises:
        ConfigurationError: The handler is not callable or an option is unknown
            (now); the options are invalid (now if ``app`` is given, else at ``init_app``).
    """
    return ClerkFlask(handler, settings=options, app=app)


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


def verify_webhook(
    request: Request | None = None, *, signing_secret: str | None = None
) -> WebhookEvent:
    """Verify a Clerk webhook delivery (Svix signature over the raw body) and return its event.

    Args:
        request: The request (default: ``flask.request``).
        signing_secret: The endpoint's signing secret (default:
            ``CLERK_WEBHOOK_SIGNING_SECRET``).

    Returns:
        The verified event.

    Raises:
        WebhookVerificationError: Not a valid delivery; answer ``exc.status_code``.
        ConfigurationError: No (valid) signing secret is configured.
    """
    found = request if request is not None else flask.request
    length = found.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise body_too_large()
    # Cached, so the view can still read the body (the raw bytes, as signed).
    body = found.get_data(cache=True)
    return _verify_webhook(found.headers.items(), body, signing_secret=signing_secret)
