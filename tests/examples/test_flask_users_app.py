"""examples/flask_users_app.py: current_user(), template tokens and webhooks on a local instance.

The app reaches a real ``LocalInstance`` over HTTP (the ``clerk_local``
fixture sets its ``CLERK_*`` variables, the webhook signing secret included);
the webhook endpoint is served by waitress on 127.0.0.1 and the instance
delivers signed events to it, as Clerk does.
"""

from __future__ import annotations

from typing import Any

import httpx
import jwt

from clerk_middleware.testing import LocalClerkTestKit

from ..reliability._servers import waitress_server
from .test_examples import load


def test_the_profile_is_the_backend_api_user(clerk_local: LocalClerkTestKit) -> None:
    instance = clerk_local.instance
    ada = instance.create_user(
        email_address="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        public_metadata={"plan": "pro"},
    )
    client = load("flask_users_app.py")["app"].test_client()
    instance.reset_counts()
    found = client.get("/profile", headers=clerk_local.signed_in(ada.id))
    assert found.json == {
        "id": ada.id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "plan": "pro",
    }
    assert instance.count("user") == 1
    # Signed out: the handler's protect() answers before the view runs, no user fetched.
    assert client.get("/profile", headers=clerk_local.signed_out()).status_code == 404
    assert instance.count("user") == 1


def test_a_template_token(clerk_local: LocalClerkTestKit) -> None:
    instance = clerk_local.instance
    instance.create_jwt_template("supabase", {"role": "authenticated"}, lifetime=60)
    grace = instance.create_user(first_name="Grace")
    client = load("flask_users_app.py")["app"].test_client()
    token = client.get("/token/supabase", headers=clerk_local.signed_in(grace.id)).json["token"]
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["role"]) == (grace.id, "authenticated")
    missing = client.get("/token/none-such", headers=clerk_local.signed_in(grace.id))
    assert missing.status_code == 500  # the Backend API's 404 is the app's to handle


def test_webhooks_keep_the_directory(clerk_local: LocalClerkTestKit) -> None:
    instance = clerk_local.instance
    example = load("flask_users_app.py")
    alan = instance.create_user(first_name="Alan", last_name="Turing")
    with waitress_server(example["app"]) as base:
        url = f"{base}/webhooks/clerk"
        created = instance.send_webhook(url, "user.created", alan)
        assert created.status_code == 200
        assert example["directory"] == {alan.id: {"first_name": "Alan", "last_name": "Turing"}}
        deleted = instance.send_webhook(url, "user.deleted", {"id": alan.id, "deleted": True})
        assert deleted.status_code == 200 and example["directory"] == {}
        body, headers = instance.webhooks.event("user.created", {"id": "user_forged"})
        refused = httpx.post(url, content=body.replace(b"forged", b"evil"), headers=headers)
        assert refused.status_code == 400
        assert "user_evil" not in example["directory"]
