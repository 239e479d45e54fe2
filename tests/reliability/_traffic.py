"""Steady client traffic against a real server, recorded for later checks.

``Traffic`` runs a few client threads, each with its own keep-alive
``httpx.Client``, sending requests in a loop until stopped. Every answer (or
client-side failure) is recorded with the time it was sent, so a test can cut
the record into phases ("while the JWKS was down", "after it came back") and
check each one.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Shot:
    """One request sent and what came back.

    Attributes:
        kind: The caller's label for the request (e.g. ``"valid"``).
        sent: ``time.monotonic()`` when it was sent.
        elapsed: Seconds until the answer (or the failure).
        status: The HTTP status, or 0 when no response arrived.
        reason: The ``x-clerk-auth-reason`` header, if any.
        body: The JSON body, or None.
        error: The client-side exception's name when no response arrived.
    """

    kind: str
    sent: float
    elapsed: float
    status: int
    reason: str | None
    body: Any
    error: str | None = None

    @property
    def signed_in(self) -> bool:
        """True when the app reported a signed-in user."""
        return isinstance(self.body, dict) and self.body.get("is_signed_in") is True


@dataclass(frozen=True)
class Plan:
    """What to send: a label, a path and headers."""

    kind: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


class Traffic:
    """Client threads sending ``plans`` round-robin to ``base_url`` until stopped.

    Args:
        base_url: The server, ``http://127.0.0.1:<port>``.
        plans: The requests to cycle through (may be replaced while running).
        clients: Number of client threads.
        timeout: Client timeout per request, in seconds.
    """

    def __init__(
        self, base_url: str, plans: Sequence[Plan], *, clients: int = 4, timeout: float = 15.0
    ) -> None:
        self.base_url = base_url
        self.plans = list(plans)
        self.shots: list[Shot] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timeout = timeout
        self._threads = [
            threading.Thread(target=self._run, args=(index,), daemon=True,
                             name=f"traffic-{index}")
            for index in range(clients)
        ]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, index: int) -> None:
        counter = itertools.count(index)
        with httpx.Client(base_url=self.base_url, timeout=self._timeout,
                          follow_redirects=False) as client:
            while not self._stop.is_set():
                plans = self.plans
                plan = plans[next(counter) % len(plans)]
                self._record(client, plan)

    def _record(self, client: httpx.Client, plan: Plan) -> None:
        sent = time.monotonic()
        try:
            response = client.get(plan.path, headers=plan.headers)
        except httpx.HTTPError as exc:
            shot = Shot(plan.kind, sent, time.monotonic() - sent, 0, None, None, type(exc).__name__)
        else:
            try:
                body = response.json()
            except ValueError:
                body = None
            shot = Shot(plan.kind, sent, time.monotonic() - sent, response.status_code,
                        response.headers.get("x-clerk-auth-reason"), body)
        with self._lock:
            self.shots.append(shot)

    def mark(self) -> float:
        """A point in time to cut the record at."""
        return time.monotonic()

    def between(self, start: float, end: float | None = None) -> list[Shot]:
        """The shots sent in ``[start, end)``."""
        with self._lock:
            shots = list(self.shots)
        return [s for s in shots if s.sent >= start and (end is None or s.sent < end)]

    def phase(self, start: float, *, seconds: float, kind: str = "valid") -> list[Shot]:
        """The shots sent since ``start``: ``seconds`` later, once one of ``kind`` has an answer.

        A busy machine can stall the clients for longer than ``seconds``; an
        empty phase would check nothing, so it also waits (as ``wait_for``) for
        a ``kind`` request sent since ``start`` to be answered.
        """
        time.sleep(seconds)
        self.wait_for(lambda shot: shot.kind == kind, after=start)
        return self.between(start)

    def wait_for(self, condition: Callable[[Shot], bool], *, after: float,
                 timeout: float = 10.0) -> float:
        """Wait until a shot sent after ``after`` satisfies ``condition``; return when it was sent.

        Raises:
            AssertionError: Nothing matched within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for shot in self.between(after):
                if condition(shot):
                    return shot.sent
            time.sleep(0.02)
        raise AssertionError(f"no matching answer within {timeout} s")
