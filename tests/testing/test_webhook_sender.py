"""WebhookSender: deliveries to a real server on 127.0.0.1 that verifies them."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clerk_middleware.core import ConfigurationError
from clerk_middleware.core._webhooks import (
    WebhookEvent,
    WebhookVerificationError,
    verify_webhook,
)
from clerk_middleware.testing._webhooks import WebhookSender

SENT = 1_600_000_000


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint: verifies each POST with ``verify_webhook`` and keeps the events."""

    daemon_threads = True

    def __init__(self, signing_secret: str, clock: Callable[[], float]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.signing_secret = signing_secret
        self.clock = clock
        self.events: list[WebhookEvent] = []
        self.content_types: list[str | None] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhooks/clerk"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.content_types.append(self.headers.get("content-type"))
        try:
            event = verify_webhook(
                self.headers.items(),
                body,
                signing_secret=self.server.signing_secret,
                clock=self.server.clock,
            )
        except WebhookVerificationError as exc:
            answer = json.dumps({"reason": exc.reason, "message": exc.message}).encode()
            self.send_response(exc.status_code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return
        self.server.events.append(event)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def serve() -> Iterator[Callable[..., Receiver]]:
    started: list[tuple[Receiver, threading.Thread]] = []

    def start(signing_secret: str, clock: Callable[[], float] = time.time) -> Receiver:
        receiver = Receiver(signing_secret, clock)
        # A short poll interval: shutdown() waits for one.
        thread = threading.Thread(target=receiver.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        started.append((receiver, thread))
        return receiver

    yield start
    for receiver, thread in started:
        receiver.shutdown()
        receiver.server_close()
        thread.join(5)


def test_a_delivered_event_verifies_at_the_receiver(serve: Callable[..., Receiver]) -> None:
    sender = WebhookSender()
    receiver = serve(sender.signing_secret)
    response = sender.deliver(
        receiver.url, "user.created", {"id": "user_1", "object": "user"}, msg_id="msg_1"
    )
    assert response.status_code == 204
    [event] = receiver.events
    assert (event.type, event.id, event.object, event.instance_id) == (
        "user.created",
        "msg_1",
        "event",
        "ins_test",
    )
    assert event.data == {"id": "user_1", "object": "user"}
    assert event.timestamp is not None
    assert abs(event.timestamp / 1000 - time.time()) < 60
    assert receiver.content_types == ["application/json"]


def test_the_senders_clock_dates_the_events(serve: Callable[..., Receiver]) -> None:
    sender = WebhookSender(clock=lambda: SENT + 0.25)
    receiver = serve(sender.signing_secret, clock=lambda: SENT + 100)
    response = sender.deliver(receiver.url, "session.created", {"id": "sess_1"})
    assert response.status_code == 204
    assert receiver.events[0].timestamp == SENT * 1000 + 250


def test_a_receiver_with_another_secret_refuses(serve: Callable[..., Receiver]) -> None:
    receiver = serve(WebhookSender().signing_secret)
    response = WebhookSender().deliver(receiver.url, "user.deleted", {"id": "user_1"})
    assert response.status_code == 400
    assert response.json()["reason"] == "no-matching-signature"
    assert receiver.events == []


def test_an_old_delivery_is_refused(serve: Callable[..., Receiver]) -> None:
    sender = WebhookSender()
    receiver = serve(sender.signing_secret)
    response = sender.deliver(receiver.url, "user.updated", {"id": "u"}, timestamp=SENT)
    assert response.status_code == 400
    assert response.json()["reason"] == "timestamp-too-old"


def test_a_given_secret_is_used_and_a_fresh_one_is_random() -> None:
    given = WebhookSender().signing_secret
    assert given.startswith("whsec_")
    assert len(base64.b64decode(given.removeprefix("whsec_"), validate=True)) == 24
    assert WebhookSender().signing_secret != given
    assert WebhookSender(given).signing_secret == given


def test_an_event_is_shaped_as_clerks() -> None:
    sender = WebhookSender(clock=lambda: SENT, instance_id="ins_abc")
    body, headers = sender.event("organization.created", {"id": "org_1"}, msg_id="msg_9")
    assert json.loads(body) == {
        "data": {"id": "org_1"},
        "object": "event",
        "type": "organization.created",
        "timestamp": SENT * 1000,
        "instance_id": "ins_abc",
    }
    assert headers["svix-id"] == "msg_9"
    assert headers["svix-timestamp"] == str(SENT)
    event = verify_webhook(headers, body, signing_secret=sender.signing_secret, clock=lambda: SENT)
    assert event.instance_id == "ins_abc"


def test_a_malformed_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="does not start with 'whsec_'"):
        WebhookSender("not-a-secret").event("user.created", {})


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/webhooks",
        "https://api.clerk.com/",
        "http://10.0.0.1:8000/",
        "http://127.0.0.1.example.com/",
        "http://localhost.example.com/",
        "ftp://127.0.0.1/",
        "/webhooks/clerk",
        "http://[::ffff:8.8.8.8]/",
    ],
)
def test_only_loopback_urls_are_delivered_to(url: str) -> None:
    with pytest.raises(ValueError, match=r"only to http\(s\) URLs on 127\.0\.0\.1"):
        WebhookSender().deliver(url, "user.created", {"id": "user_1"})


def test_an_unparsable_url_is_refused() -> None:
    with pytest.raises(ValueError, match="Not a URL"):
        WebhookSender().deliver("http://[::1/", "user.created", {})
