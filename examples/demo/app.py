"""The demo app: a Flask app whose dashboard needs an active organization.

Everything Clerk-related is in the first twenty lines: a route matcher, the
middleware handler that protects ``/dashboard``, and ``@protect(role=...)`` on
``/admin``. The templates show ``auth()``, ``auth(treat_pending_as_signed_out=False)``
and the ``signed_in()`` / ``signed_out()`` helpers side by side.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, Request, redirect, render_template, url_for
from werkzeug.wrappers import Response

from clerk_middleware.adapters.flask import ClerkAuth, auth, clerk_middleware, protect
from clerk_middleware.core import create_route_matcher

is_protected = create_route_matcher(["/dashboard(.*)"])


def handler(auth: ClerkAuth, request: Request) -> None:
    # Signed-out and pending users never reach the dashboard: protect() sends
    # them to the sign-in page, or (pending) to its "choose an organization" task.
    if is_protected(auth.request):
        auth.protect()


def create_app(
    *, sign_out_url: str | None = None, local_instance: bool | None = None, **settings: Any
) -> Flask:
    """The demo app.

    Args:
        sign_out_url: Where "Sign out" goes (``?redirect_url=`` is added); None hides it.
        local_instance: The app runs against the demo's local instance, so the
            home page walks through the story of its users (Ada and Grace);
            False: against a Clerk instance of yours. Default: when
            ``sign_out_url`` is given, as only the local instance's sign-out
            page is.
        **settings: ``ClerkOptions`` fields; missing ones come from ``CLERK_*`` variables.

    Returns:
        The Flask app.
    """
    app = Flask(__name__)
    clerk_middleware(handler, **settings).init_app(app)
    local = sign_out_url is not None if local_instance is None else local_instance

    @app.context_processor
    def accessors() -> dict[str, Any]:
        return {
            "me": auth(),
            "me_aware": auth(treat_pending_as_signed_out=False),
            "can_sign_out": sign_out_url is not None,
            "local_instance": local,
        }

    @app.get("/")
    def home() -> str:
        return render_template("home.html")

    @app.get("/dashboard")
    def dashboard() -> str:
        return render_template("dashboard.html")

    @app.get("/admin")
    @protect(role="org:admin")
    def admin() -> str:
        return render_template("admin.html")

    @app.get("/sign-in")
    def sign_in() -> Response:
        # A pending user goes to the task page instead (redirect_to_sign_in knows).
        auth.redirect_to_sign_in(return_back_url=url_for("dashboard"))

    @app.get("/sign-out")
    def sign_out() -> Response:
        back = url_for("home", _external=True)
        return redirect(f"{sign_out_url}?{urlencode({'redirect_url': back})}", 303)

    return app
