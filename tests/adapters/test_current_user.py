"""``current_user()`` and ``get_token(template=...)`` in every adapter, against a local instance.

Each framework's own app (sync views where the framework runs them in a thread
or a sync stack, async views with the ``_async`` twins on an event loop) serves
``/me``: the user ``current_user()`` fetched (twice: one Backend API call),
a template token, a longer session token and the plain one. The instance is a
real HTTP server on 127.0.0.1; requests carry a session token it minted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import jwt
import pytest

from clerk_middleware.core import BackendApiError, reset_backends
from clerk_middleware.testing import LocalInstance

Get = Callable[[str, Mapping[str, str]], tuple[int, Any]]

TEMPLATE_CLAIMS = {"email": "{{user.primary_email_address}}", "role": "authenticated"}


def _sync_body(adapter: Any) -> dict[str, Any]:
    user = adapter.current_user()
    again = adapter.current_user()
    aware = adapter.current_user(treat_pending_as_signed_out=False)
    found = adapter.auth()
    return {
        "user": None if user is None else [user.id, user.primary_email_address, user.full_name],
        "same": user is again and (user is aware or user is None),
        "aware": None if aware is None else aware.id,
        "template": found.get_token(template="supabase"),
        "longer": found.get_token(expires_in_seconds=600),
        "plain": found.get_token(),
    }


async def _async_body(adapter: Any) -> dict[str, Any]:
    user = await adapter.current_user_async()
    again = await adapter.current_user_async()
    aware = await adapter.current_user_async(treat_pending_as_signed_out=False)
    found = adapter.auth()
    return {
        "user": None if user is None else [user.id, user.primary_email_address, user.full_name],
        "same": user is again and (user is aware or user is None),
        "aware": None if aware is None else aware.id,
        "template": await found.get_token_async(template="supabase"),
        "longer": await found.get_token_async(expires_in_seconds=600),
        "plain": found.get_token(),
    }


def _flask(settings: Mapping[str, Any]) -> Get:
    from flask import Flask

    from clerk_middleware.adapters import flask as adapter

    app = Flask(__name__)
    adapter.clerk_middleware(**settings).init_app(app)
    app.add_url_rule("/me", view_func=lambda: _sync_body(adapter))
    client = app.test_client()

    def get(path: str, headers: Mapping[str, str]) -> tuple[int, Any]:
        response = client.get(path, headers=dict(headers))
        return response.status_code, response.get_json()

    return get


def _wsgi(settings: Mapping[str, Any]) -> Get:
    from werkzeug.test import Client

    from clerk_middleware.adapters import wsgi as adapter

    def app(environ: Any, start_response: Any) -> list[bytes]:
        body = json.dumps(_sync_body(adapter)).encode()
        start_response("200 OK", [("content-type", "application/json")])
        return [body]

    client = Client(adapter.clerk_middleware(**settings)(app))

    def get(path: str, headers: Mapping[str, str]) -> tuple[int, Any]:
        response = client.get(path, headers=dict(headers))
        return response.status_code, json.loads(response.data)

    return get


def _asgi_get(app: Any) -> Get:
    transport = httpx.ASGITransport(app=app)

    async def fetch(path: str, headers: Mapping[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
            return await client.get(path, headers=dict(headers))

    def get(path: str, headers: Mapping[str, str]) -> tuple[int, Any]:
        response = asyncio.run(fetch(path, headers))
        return response.status_code, response.json()

    return get


def _asgi(settings: Mapping[str, Any]) -> Get:
    from clerk_middleware.adapters import asgi as adapter

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = json.dumps(await _async_body(adapter)).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return _asgi_get(adapter.clerk_middleware(**settings)(app))


def _starlette(settings: Mapping[str, Any]) -> Get:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from clerk_middleware.adapters import starlette as adapter

    async def me(request: Request) -> JSONResponse:
        return JSONResponse(await _async_body(adapter))

    app = Starlette(routes=[Route("/me", me)], middleware=[adapter.clerk_middleware(**settings)])
    return _asgi_get(app)


def _fastapi_sync(settings: Mapping[str, Any]) -> Get:
    from fastapi import FastAPI

    from clerk_middleware.adapters import fastapi as adapter

    app = FastAPI(middleware=[adapter.clerk_middleware(**settings)])

    @app.get("/me")
    def me() -> dict[str, Any]:  # a sync endpoint: FastAPI runs it in a thread
        return _sync_body(adapter)

    return _asgi_get(app)


def _django(settings: Mapping[str, Any], *, is_async: bool) -> Get:
    from django.test import AsyncClient, Client, override_settings

    from clerk_middleware.adapters import django as adapter

    from .django import app as django_app
    from .django import views

    views.BODY["sync"] = lambda: _sync_body(adapter)
    views.BODY["async"] = lambda: _async_body(adapter)
    middleware = django_app.install(adapter.clerk_middleware(**settings))
    client: Any = AsyncClient() if is_async else Client()
    with override_settings(MIDDLEWARE=[middleware]):
        client.handler.load_middleware(is_async=is_async)
    prefix = "/current-user-async" if is_async else "/current-user"

    def get(path: str, headers: Mapping[str, str]) -> tuple[int, Any]:
        call = client.get(f"{prefix}{path}", headers=dict(headers))
        response = asyncio.run(call) if is_async else call
        return response.status_code, json.loads(response.content)

    return get


APPS: dict[str, Callable[[Mapping[str, Any]], Get]] = {
    "flask": _flask,
    "wsgi": _wsgi,
    "asgi": _asgi,
    "starlette": _starlette,
    "fastapi-sync": _fastapi_sync,
    "django": lambda settings: _django(settings, is_async=False),
    "django-async": lambda settings: _django(settings, is_async=True),
}


@pytest.fixture(scope="module")
def instance() -> Iterator[LocalInstance]:
    with LocalInstance() as running:
        running.create_jwt_template("supabase", TEMPLATE_CLAIMS, lifetime=120)
        yield running


@pytest.fixture(autouse=True)
def _fresh_backends() -> Iterator[None]:
    yield
    reset_backends()


def _settings(instance: LocalInstance) -> dict[str, Any]:
    return {
        "publishable_key": instance.publishable_key,
        "secret_key": instance.secret_key,
        "api_url": instance.url,
    }


def _claims(instance: LocalInstance, token: str) -> dict[str, Any]:
    keys = {k["kid"]: jwt.PyJWK(k) for k in instance.jwks()["keys"]}
    kid = jwt.get_unverified_header(token)["kid"]
    found: dict[str, Any] = jwt.decode(
        token, keys[kid].key, algorithms=["RS256"], options={"verify_aud": False}
    )
    return found


@pytest.mark.parametrize("name", sorted(APPS))
def test_current_user_and_template_tokens(instance: LocalInstance, name: str) -> None:
    configure_django()
    user = instance.create_user(
        email_address="ada@example.com", first_name="Ada", last_name="Lovelace"
    )
    session = instance.sign_in(user)
    token = instance.session_token(session)
    get = APPS[name](_settings(instance))
    instance.reset_counts()

    status, body = get("/me", {"authorization": f"Bearer {token}"})

    assert status == 200, body
    assert body["user"] == [user.id, "ada@example.com", "Ada Lovelace"]
    assert body["same"] is True and body["aware"] == user.id
    assert instance.count("user") == 1  # memoised on the request
    assert instance.count("session_token") == 2
    assert body["plain"] == token
    template = _claims(instance, body["template"])
    assert (template["sub"], template["email"], template["role"]) == (
        user.id,
        "ada@example.com",
        "authenticated",
    )
    assert template["exp"] - template["iat"] == 120
    longer = _claims(instance, body["longer"])
    assert (longer["sid"], longer["exp"] - longer["iat"]) == (session.id, 600)

    # Signed out: nothing to fetch, no call.
    status, body = get("/me", {})
    assert status == 200
    assert body == {
        "user": None,
        "same": True,
        "aware": None,
        "template": None,
        "longer": None,
        "plain": None,
    }
    assert instance.count("user") == 1


@pytest.mark.parametrize("name", ["flask", "starlette", "django-async"])
def test_a_pending_session(instance: LocalInstance, name: str) -> None:
    configure_django()
    user = instance.create_user(email_address="grace@example.com")
    session = instance.sign_in(user, pending=True)
    get = APPS[name](_settings(instance))
    instance.reset_counts()
    status, body = get("/me", {"authorization": f"Bearer {instance.session_token(session)}"})
    assert status == 200
    # Signed out by default; the pending-aware call fetches the user (once).
    assert body["user"] is None and body["aware"] == user.id
    assert instance.count("user") == 1
    assert body["template"] is None  # auth() treats the pending session as signed out


def test_a_deleted_user_and_an_unknown_template_raise(instance: LocalInstance) -> None:
    from flask import Flask

    from clerk_middleware.adapters import flask as adapter

    session = instance.sign_in(instance.create_user())
    ghost = instance.issuer.session_token("user_gone", session_id=session.id)
    app = Flask(__name__)
    adapter.clerk_middleware(**_settings(instance)).init_app(app)
    seen: dict[str, BackendApiError] = {}
    calls: dict[str, Callable[[], object]] = {
        "user": adapter.current_user,
        "template": lambda: adapter.auth().get_token(template="nope"),
    }

    @app.get("/me")
    def me() -> str:
        for what, call in calls.items():
            try:
                call()
            except BackendApiError as exc:
                seen[what] = exc
        return "ok"

    assert app.test_client().get("/me", headers={"authorization": f"Bearer {ghost}"}).text == "ok"
    assert seen["user"].status == 404 and seen["user"].code == "resource_not_found"
    assert "GET /v1/users/user_gone answered 404" in str(seen["user"])
    assert seen["template"].status == 404
    assert instance.secret_key not in str(seen["user"]) + str(seen["template"])


def test_sync_calls_on_an_event_loop_say_what_to_await(instance: LocalInstance) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from clerk_middleware.adapters import starlette as adapter

    async def me(request: Request) -> JSONResponse:
        messages = []
        for call in (adapter.current_user, lambda: adapter.auth().get_token(template="supabase")):
            try:
                call()
            except RuntimeError as exc:
                messages.append(str(exc))
        return JSONResponse(messages)

    session = instance.sign_in(instance.create_user())
    app = Starlette(
        routes=[Route("/me", me)], middleware=[adapter.clerk_middleware(**_settings(instance))]
    )
    instance.reset_counts()
    status, messages = _asgi_get(app)(
        "/me", {"authorization": f"Bearer {instance.session_token(session)}"}
    )
    assert status == 200
    assert "await current_user_async()" in messages[0]
    assert "await auth.get_token_async(...)" in messages[1]
    assert instance.count("user") == instance.count("session_token") == 0


def configure_django() -> None:
    from .django.conf import configure

    configure()


def test_clerk_client_in_a_view_and_outside(
    instance: LocalInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask import Flask

    from clerk_middleware.adapters import flask as adapter

    made = instance.create_user(first_name="Grace")
    token = instance.session_token(instance.sign_in(made))
    app = Flask(__name__)
    adapter.clerk_middleware(**_settings(instance)).init_app(app)

    @app.get("/name")
    def name() -> str:
        user_id = adapter.auth().user_id
        assert user_id is not None
        return adapter.clerk_client().users.get(user_id=user_id).first_name or ""

    response = app.test_client().get("/name", headers={"authorization": f"Bearer {token}"})
    assert response.text == "Grace"
    # Outside a request: the CLERK_* environment variables.
    monkeypatch.setenv("CLERK_SECRET_KEY", instance.secret_key)
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", instance.publishable_key)
    monkeypatch.setenv("CLERK_API_URL", instance.url)
    assert adapter.clerk_client().users.get(user_id=made.id).first_name == "Grace"
