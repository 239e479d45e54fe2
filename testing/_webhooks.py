"""``WebhookSender``: send signed Clerk webhook events to an app under test.

It signs as Clerk's webhook service (Svix) does, with a secret of its own or
the one the app is configured with, so the app's ``verify_webhook`` accepts its
deliveries exactly as it accepts Clerk's. ``deliver`` POSTs only to loopback
addresses: the sender is for local tests, never for poking real endpoints.
"""

from __future__ import annotations

import base64
import math
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx

from clerk_middleware.core._webhooks import SECRET_PREFIX, sign_webhook

__all__ = ["LOOPBACK_HOSTS", "WebhookSender"]

#: The hosts ``WebhookSender.deliver`` sends to.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


class WebhookSender:
    """Builds and delivers Clerk-shaped, signed webhook events.

    Args:
        signing_secret: The endpoint's secret (``whsec_...``); by default a fresh
            random one, read back from ``signing_secret`` to configure the app.
        clock: Returns the current Unix time in seconds (default ``time.time``);
            it dates the events whose ``timestamp`` is not given.
        instance_id: The ``instance_id`` the events name.
    """

    def __init__(
        self,
        signing_secret: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        instance_id: str = "ins_test",
    ) -> None:
        if signing_secret is None:
            # Svix's secrets are 24 random bytes.
            key = base64.b64encode(secrets.token_bytes(24)).decode()
            signing_secret = f"{SECRET_PREFIX}{key}"
        self._signing_secret = signing_secret
        self._clock = clock
        self._instance_id = instance_id

    @property
    def signing_secret(self) -> str:
        """The secret the events are signed with: give it to the app under test."""
        return self._signing_secret

    def event(
        self,
        type: str,
        data: Mapping[str, Any],
        *,
        msg_id: str | None = None,
        timestamp: float | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A signed event, as Clerk would send it.

        Args:
            type: The event type, e.g. ``"user.created"``.
            data: The resource the event is about.
            msg_id: The ``svix-id``; by default a fresh ``msg_...`` id.
            timestamp: When it is sent, in Unix seconds; by default ``clock()``.

        Returns:
            The body (``{"data", "object": "event", "type", "timestamp" (ms),
            "instance_id"}``) and its ``svix-*`` headers.

        Raises:
            ConfigurationError: The signing secret is not ``whsec_`` followed by base64.
            TypeError: ``data`` holds values JSON cannot represent.
        """
        sent = self._clock() if timestamp is None else timestamp
        payload = {
            "data": dict(data),
            "object": "event",
            "type": type,
            "timestamp": math.floor(sent * 1000),
            "instance_id": self._instance_id,
        }
        return sign_webhook(
            payload, signing_secret=self._signing_secret, msg_id=msg_id, timestamp=sent
        )

    def deliver(
        self,
        url: str,
        type: str,
        data: Mapping[str, Any],
        *,
        msg_id: str | None = None,
        timestamp: float | None = None,
        timeout: float = 5.0,
    ) -> httpx.Response:
        """POST a signed event to ``url`` on this machine and return the answer.

        Args:
            url: The app's webhook endpoint; its host must be ``127.0.0.1``,
                ``localhost`` or ``[::1]``.
            type: The event type, e.g. ``"user.created"``.
            data: The resource the event is about.
            msg_id: The ``svix-id``; by default a fresh one.
            timestamp: When it is sent, in Unix seconds; by default ``clock()``.
            timeout: Seconds to wait for the app.

        Returns:
            The app's response (redirects are not followed).

        Raises:
            ValueError: ``url`` is not an http(s) URL on a loopback host.
            ConfigurationError: The signing secret is not ``whsec_`` followed by base64.
            httpx.HTTPError: The request failed.
        """
        target = _loopback_url(url)
        body, headers = self.event(type, data, msg_id=msg_id, timestamp=timestamp)
        # trust_env=False: a proxy from the environment must not carry the request off
        # the machine.
        return httpx.post(
            target,
            content=body,
            headers={**headers, "content-type": "application/json"},
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )


def _loopback_url(url: str) -> httpx.URL:
    """``url`` parsed, if it is http(s) on a loopback host.

    Raises:
        ValueError: It is not.
    """
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"Not a URL: {url!r} ({exc}).") from None
    if target.scheme not in {"http", "https"} or target.host not in LOOPBACK_HOSTS:
        raise ValueError(
            f"WebhookSender delivers only to http(s) URLs on 127.0.0.1, localhost or [::1]; "
            f"got {url!r}."
        )
    return target
