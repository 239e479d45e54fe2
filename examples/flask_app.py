"""Flask with Clerk: a public home page, a dashboard for signed-in users, an admin page.

Run (keys from https://dashboard.clerk.com/~/api-keys)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    flask --app examples/flask_app.py run
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, render_template_string

from clerk_middleware.adapters.flask import ClerkAuth, auth, clerk_middleware, protect
from clerk_middleware.core._routes import create_route_matcher

is_protected = create_route_matcher(["/dashboard(.*)"])

HOME = """
{% if signed_in() %}<a href="/dashboard">Your dashboard</a>
{% elif signed_in(treat_pending_as_signed_out=False) %}Finish setting up your account.
{% else %}<a href="/dashboard">Sign in</a>{% endif %}
{% if protect(role="org:admin") %} | <a href="/admin">Admin</a>{% endif %}
"""


def handler(auth: ClerkAuth, request: Request) -> None:
    # auth.request is the request as Clerk saw it: its raw path is what matchers need.
    if is_protected(auth.request):
        auth.protect()


app = Flask(__name__)
clerk_middleware(handler).init_app(app)


@app.get("/")
def home() -> str:
    return render_template_string(HOME)


@app.get("/dashboard")
def dashboard() -> dict[str, Any]:
    current = auth()
    return {"user_id": current.user_id, "org_id": current.org_id}


@app.get("/admin")
@protect(role="org:admin")
def admin() -> dict[str, Any]:
    return {"org_role": auth().org_role}
