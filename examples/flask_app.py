"""Flask with Clerk: a public home page, a dashboard for signed-in users, an admin page.

Run it with keys from https://dashboard.clerk.com/~/api-keys (or from a local
instance: ``python -m clerk_middleware.testing.instance`` prints them)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    flask --app examples/flask_app.py run
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, render_template_string

from clerk_middleware.adapters.flask import ClerkAuth, auth, clerk_middleware, protect
from clerk_middleware.core import create_route_matcher

is_protected = create_route_matcher(["/dashboard(.*)", "/admin(.*)"])


def handler(auth: ClerkAuth, request: Request) -> None:
    if is_protected(auth.request):          # the path your router routes on
        auth.protect()                      # signed-out or pending -> sign-in page


app = Flask(__name__)
clerk_middleware(handler).init_app(app)    # keys from CLERK_SECRET_KEY / CLERK_PUBLISHABLE_KEY

HOME = """
{% if signed_in() %}Welcome back. <a href="/dashboard">Your dashboard</a>
{% elif signed_in(treat_pending_as_signed_out=False) %}Almost there: choose an organization.
{% else %}<a href="/dashboard">Sign in</a>{% endif %}
{% if protect(role="org:admin") %}<a href="/admin">Admin</a>{% endif %}
"""


@app.get("/")
def home() -> str:
    return render_template_string(HOME)


@app.get("/dashboard")
def dashboard() -> dict[str, Any]:
    current = auth()
    return {"user_id": current.user_id, "org_id": current.org_id, "org_role": current.org_role}


@app.get("/admin")
@protect(role="org:admin")                 # members get a 404, as Clerk hides what they may not see
def admin() -> dict[str, Any]:
    return {"org_id": auth().org_id, "permissions": auth().org_permissions}
