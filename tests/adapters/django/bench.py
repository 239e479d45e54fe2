"""What the Django middleware costs per request: a trivial view, with and without it (prints µs).

``python -m tests.adapters.django.bench [--requests N]``. Each figure is the
median of 7 runs of N requests through Django's own handler (``WSGIHandler``
for sync, ``ASGIHandler``'s middleware chain for async), from a prepared
WSGI environ / ASGI request to the response object; the difference to the
same handler without the middleware is the middleware's cost. Timings
drift between runs and machines: read them, never assert them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from io import BytesIO
from typing import Any

from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from clerk_middleware.testing import ClerkTestKit, TestIssuer

from .. import matrix
from .app import install
from .conf import configure

configure()

from clerk_middleware.adapters.django import clerk_middleware  # noqa: E402

RUNS = 7


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok")


urlpatterns = [path("trivial", trivial)]


def environ(headers: dict[str, str]) -> dict[str, Any]:
    base: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/trivial", "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "app.test", "SERVER_PORT": "80", "HTTP_HOST": "app.test",
        "RAW_URI": "/trivial", "wsgi.url_scheme": "http", "wsgi.input": BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    base.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    return base


def scope(headers: dict[str, str]) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/trivial", "raw_path": b"/trivial",
            "root_path": "", "scheme": "http", "query_string": b"", "server": ("app.test", 80),
            "headers": [(b"host", b"app.test"),
                        *((k.encode(), v.encode()) for k, v in headers.items())]}


def per_request_us(run: Callable[[int], None], n: int) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run(n)
        times.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(times)


def wsgi_runner(middleware: list[str], headers: dict[str, str]) -> Callable[[int], None]:
    with override_settings(MIDDLEWARE=middleware, ROOT_URLCONF=__name__):
        handler = WSGIHandler()
    prepared = environ(headers)

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return None

    def run(n: int) -> None:
        with override_settings(ROOT_URLCONF=__name__):
            for _ in range(n):
                handler(dict(prepared), start_response)

    return run


def asgi_runner(middleware: list[str], headers: dict[str, str]) -> Callable[[int], None]:
    with override_settings(MIDDLEWARE=middleware, ROOT_URLCONF=__name__):
        handler = ASGIHandler()
    prepared = scope(headers)

    def run(n: int) -> None:
        async def loop() -> None:
            for _ in range(n):
                request = ASGIRequest(dict(prepared), BytesIO(b""))
                await handler.get_response_async(request)

        with override_settings(ROOT_URLCONF=__name__):
            asyncio.run(loop())

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--requests", type=int, default=3000)
    n = parser.parse_args(argv).requests
    issuer = TestIssuer("clerk.example.com", production=True)
    kit = ClerkTestKit(issuer)
    settings = {"secret_key": issuer.secret_key, "publishable_key": issuer.publishable_key,
                "jwt_key": issuer.jwt_key}

    def handler(auth: Any, request: HttpRequest) -> None:
        if matrix.is_secret(auth.request):
            auth.protect()

    async def async_handler(auth: Any, request: HttpRequest) -> None:
        handler(auth, request)

    sync_clerk = install(clerk_middleware(handler, **settings))
    async_clerk = install(clerk_middleware(async_handler, **settings))
    states = {
        "signed out": dict(kit.signed_out()),
        "signed in (Bearer)": dict(kit.signed_in()),
        "signed in (cookie)": dict(kit.signed_in(bearer=False)),
    }
    print(f"Django middleware overhead, trivial view, {n} requests x {RUNS} runs (median, µs)")
    print("| mode | state | without | with | overhead |")
    print("|---|---|---|---|---|")
    for mode, runner, clerk in (("WSGI", wsgi_runner, sync_clerk),
                                ("ASGI", asgi_runner, async_clerk)):
        for state, headers in states.items():
            bare = per_request_us(runner([], headers), n)
            with_clerk = per_request_us(runner([clerk], headers), n)
            print(f"| {mode} | {state} | {bare:.1f} | {with_clerk:.1f} | "
                  f"{with_clerk - bare:+.1f} |")


if __name__ == "__main__":
    main()
