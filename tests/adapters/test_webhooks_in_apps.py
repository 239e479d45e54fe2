"""Clerk webhooks delivered by the local instance to real apps on real servers.

Each framework's app has a ``/webhooks/clerk`` endpoint that calls its
adapter's ``verify_webhook`` and then reads the body again. WSGI apps (Flask,
plain WSGI, Django) are served by waitress, ASGI apps (Starlette, FastAPI) by
uvicorn, on 127.0.0.1; ``LocalInstance.send_webhook`` signs and POSTs the
events as Clerk's sender (Svix) does. The signing secret reaches the apps
through ``CLERK_WEBHOOK_SIGNING_SECRET``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import httpx
import pytest
from fastapi import Request as FastAPIRequest  # resolved by FastAPI from module globals

from clerk_middleware.core import WebhookVerificationError
from clerk_middleware.testing import LocalInstance

from ..reliability._servers import uvicorn_server, waitress_server


def _flask_app() -> Any:
    from flask import Flask, request

    from clerk_middleware.adapters.flask import verify_webhook

    app = Flask(__name__)

    @app.post("/webhooks/clerk")
    def clerk_webhook() -> Any:
        try:
            event = verify_webhook()
        except WebhookVerificationError as exc:
            return {"reason": exc.reason}, exc.status_code
        return {"type": event.type, "id": event.data.get("id"), "again": len(request.get_data())}

    return app


def _wsgi_app() -> Any:
    from clerk_middleware.adapters.wsgi import verify_webhook

    def app(environ: Any, start_response: Any) -> list[bytes]:
        try:
            event = verify_webhook(environ)
        except WebhookVerificationError as exc:
            body: dict[str, Any] = {"reason": exc.reason}
            status = f"{exc.status_code} Refused"
        else:
            again = environ["wsgi.input"].read()
            body = {"type": event.type, "id": event.data.get("id"), "again": len(again)}
            status = "200 OK"
        start_response(status, [("content-type", "application/json")])
        return [json.dumps(body).encode()]

    return app


def _django_app() -> Any:
    from django.core.handlers.wsgi import WSGIHandler

    from .django.conf import configure

    configure()
    return WSGIHandler()


def _asgi_app() -> Any:
    from clerk_middleware.adapters.asgi import verify_webhook

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            event = await verify_webhook(scope, receive)
        except WebhookVerificationError as exc:
            body: dict[str, Any] = {"reason": exc.reason}
            status = exc.status_code
        else:
            # Plain ASGI cannot read a body twice: the event is all there is.
            body = {"type": event.type, "id": event.data.get("id"), "again": None}
            status = 200
        content = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return app


def _starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from clerk_middleware.adapters.starlette import verify_webhook

    async def clerk_webhook(request: Request) -> JSONResponse:
        try:
            event = await verify_webhook(request)
        except WebhookVerificationError as exc:
            return JSONResponse({"reason": exc.reason}, status_code=exc.status_code)
        again = await request.body()
        return JSONResponse({"type": event.type, "id": event.data.get("id"), "again": len(again)})

    return Starlette(routes=[Route("/webhooks/clerk", clerk_webhook, methods=["POST"])])


def _fastapi_app() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from clerk_middleware.adapters.fastapi import verify_webhook

    app = FastAPI()

    @app.post("/webhooks/clerk")
    async def clerk_webhook(request: FastAPIRequest) -> Any:
        try:
            event = await verify_webhook(request)
        except WebhookVerificationError as exc:
            return JSONResponse({"reason": exc.reason}, status_code=exc.status_code)
        again = await request.body()
        return {"type": event.type, "id": event.data.get("id"), "again": len(again)}

    return app


APPS: dict[
    str, tuple[Callable[[], Any], Callable[[Any], contextlib.AbstractContextManager[str]]]
] = {
    "flask": (_flask_app, waitress_server),
    "wsgi": (_wsgi_app, waitress_server),
    "django": (_django_app, waitress_server),
    "asgi": (_asgi_app, uvicorn_server),
    "starlette": (_starlette_app, uvicorn_server),
    "fastapi": (_fastapi_app, uvicorn_server),
}


@pytest.fixture(scope="module")
def instance() -> Iterator[LocalInstance]:
    with LocalInstance() as running:
        yield running


class Endpoint(NamedTuple):
    """A running app's webhook endpoint."""

    url: str
    rereads: bool  # whether the view can read the body again after verifying it


@pytest.fixture(params=sorted(APPS))
def endpoint(
    request: pytest.FixtureRequest, instance: LocalInstance, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Endpoint]:
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", instance.webhook_signing_secret)
    make, serve = APPS[request.param]
    with serve(make()) as base:
        yield Endpoint(f"{base}/webhooks/clerk", rereads=request.param != "asgi")


def test_a_delivered_event_is_verified(instance: LocalInstance, endpoint: Endpoint) -> None:
    user = instance.create_user(email_address="ada@example.com", first_name="Ada")
    response = instance.send_webhook(endpoint.url, "user.created", user)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["type"], body["id"]) == ("user.created", user.id)
    # An event whose exact bytes are known (same id and time): the view reads them all
    # again after verify_webhook (plain ASGI cannot read a body twice).
    data = {"id": user.id, "first_name": "Ada"}
    now = instance.issuer.clock()
    sent, _ = instance.webhooks.event("user.updated", data, msg_id="msg_again", timestamp=now)
    again = instance.send_webhook(
        endpoint.url, "user.updated", data, msg_id="msg_again", timestamp=now
    )
    assert again.status_code == 200, again.text
    assert again.json()["again"] == (len(sent) if endpoint.rereads else None)


def test_forged_and_broken_deliveries_are_refused(
    instance: LocalInstance, endpoint: Endpoint
) -> None:
    body, headers = instance.webhooks.event("user.deleted", {"id": "user_1", "deleted": True})
    forged = body.replace(b"user_1", b"user_2")
    cases = {
        "no-matching-signature": (forged, headers),
        "missing-headers": (body, {"content-type": "application/json"}),
        "timestamp-too-old": instance.webhooks.event(
            "user.deleted", {"id": "user_1"}, timestamp=instance.issuer.clock() - 600
        ),
    }
    for reason, (content, sent_headers) in cases.items():
        response = httpx.post(endpoint.url, content=content, headers=sent_headers, timeout=5)
        assert (response.status_code, response.json()) == (400, {"reason": reason})


def test_an_oversized_body_is_refused_before_it_is_read(
    instance: LocalInstance, endpoint: Endpoint
) -> None:
    body, headers = instance.webhooks.event("user.updated", {"id": "user_1", "x": "a" * 2_000_000})
    response = httpx.post(endpoint.url, content=body, headers=headers, timeout=10)
    assert response.status_code == 413
    assert response.json() == {"reason": "body-too-large"}


def test_send_webhook_stays_on_this_machine(instance: LocalInstance) -> None:
    with pytest.raises(ValueError):
        instance.send_webhook("https://example.com/webhooks", "user.created", {"id": "user_1"})
