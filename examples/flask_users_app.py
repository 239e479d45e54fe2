"""Flask with Clerk's users: a profile page from ``current_user()``, and a webhook endpoint.

``/profile`` shows the signed-in user as the Backend API describes them (one
call per request); ``/token/<template>`` hands out a token from one of your
JWT templates (for a service such as Supabase or Hasura); ``/webhooks/clerk``
keeps a small user directory in step with Clerk's ``user.*`` events, verified
by their Svix signatures.

Run it with keys from https://dashboard.clerk.com/~/api-keys (or from
``python -m clerk_middleware.testing.instance``) and your endpoint's signing
secret (Dashboard, Webhooks)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    export CLERK_WEBHOOK_SIGNING_SECRET=whsec_...
    flask --app examples/flask_users_app.py run
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request

from clerk_middleware.adapters.flask import (
    ClerkAuth,
    auth,
    clerk_middleware,
    current_user,
    verify_webhook,
)
from clerk_middleware.core import WebhookVerificationError, create_route_matcher

is_private = create_route_matcher(["/profile", "/token/(.*)"])


def handler(auth: ClerkAuth, request: Request) -> None:
    if is_private(auth.request):
        auth.protect()


app = Flask(__name__)
clerk_middleware(handler).init_app(app)

#: The app's own copy of its users, kept by the webhooks (a database in a real app).
directory: dict[str, dict[str, Any]] = {}


@app.get("/profile")
def profile() -> dict[str, Any]:
    user = current_user()  # GET /v1/users/{id}, once per request
    assert user is not None  # the handler let only signed-in users through
    return {
        "id": user.id,
        "name": user.full_name,
        "email": user.primary_email_address,
        "plan": user.public_metadata.get("plan"),
    }


@app.get("/token/<template>")
def token(template: str) -> dict[str, Any]:
    return {"token": auth().get_token(template=template)}


@app.post("/webhooks/clerk")
def clerk_webhook() -> tuple[dict[str, Any], int]:
    try:
        event = verify_webhook()  # Svix signature over the raw body
    except WebhookVerificationError as exc:
        return {"error": exc.message}, exc.status_code
    user_id = event.data.get("id")
    if event.type in ("user.created", "user.updated") and isinstance(user_id, str):
        directory[user_id] = {
            "first_name": event.data.get("first_name"),
            "last_name": event.data.get("last_name"),
        }
    elif event.type == "user.deleted" and isinstance(user_id, str):
        directory.pop(user_id, None)
    return {"received": event.id}, 200
