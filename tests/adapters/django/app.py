"""The matrix app in Django (sync views; ``async_urls`` has the async ones), and its clients.

This module is also the test session's ``ROOT_URLCONF``. ``make_client``
drives it through ``django.test.Client`` (WSGI requests, the middleware sync);
``make_async_client`` through ``django.test.AsyncClient`` (ASGI requests, the
middleware async, an async handler and async views).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Callable, Iterator, Mapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template import engines
from django.test import AsyncClient, Client, override_settings
from django.urls import path, re_path
from django.views.generic import View

from clerk_middleware.adapters.django import (
    ClerkAuth,
    ClerkMiddleware,
    ProtectMixin,
    auth,
    clerk_middleware,
    get_auth,
    protect,
    signed_in,
    signed_out,
)

from .. import matrix
from .conf import configure

configure()

from .views import ROUTES  # noqa: E402 - needs the configured settings (auth models)

TEMPLATE = """{% load clerk %}\
{% signed_in %}in{% endsigned_in %}|{% signed_out %}out{% endsigned_out %}|\
{% signed_in treat_pending_as_signed_out=False %}in-aware{% endsigned_in %}|\
{% protect role="org:admin" %}admin{% endprotect %}|\
{% protect treat_pending_as_signed_out=False %}protect-aware{% else %}no{% endprotect %}|\
{{ auth.user_id }}"""


def handler(auth: ClerkAuth, request: HttpRequest) -> HttpResponse | None:
    """The shared handler, plus a native short-circuit on /teapot."""
    if request.path_info == "/teapot":
        return HttpResponse("teapot", status=418)
    matrix.handler(auth, request)
    return None


async def async_handler(auth: ClerkAuth, request: HttpRequest) -> HttpResponse | None:
    """The same handler, async; it routes the request to the async views."""
    request.urlconf = "tests.adapters.django.async_urls"
    return handler(auth, request)


def view(request: HttpRequest, **_: str) -> JsonResponse:
    return JsonResponse(matrix.view_body(auth))


def get_auth_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({
        "default": matrix.fields(get_auth(request)),
        "aware": matrix.fields(get_auth(request, treat_pending_as_signed_out=False)),
        "request.auth": matrix.fields(request.auth),  # type: ignore[attr-defined]
    })


def template_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(engines["django"].from_string(TEMPLATE).render({}, request))


def boom(request: HttpRequest) -> HttpResponse:
    raise ValueError("an application bug")


def streaming(request: HttpRequest) -> StreamingHttpResponse:
    def body() -> Iterator[bytes]:
        # Produced after the middleware returned: auth() must still read this request.
        yield b"user="
        yield (auth().user_id or "none").encode()

    return StreamingHttpResponse(body())


class AdminView(ProtectMixin, View):
    role = "org:admin"

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(matrix.view_body(auth))


class MachineView(ProtectMixin, View):
    token = "m2m_token"
    scopes = ("read",)

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(matrix.machine_fields(auth(accepts_token="m2m_token")))


class PredicateView(ProtectMixin, View):
    tasks_url = "/mixin-tasks"

    def has_access(self, has: Callable[..., bool]) -> bool:
        return has(role="org:admin") or has(permission="org:billing:manage")

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(matrix.view_body(auth))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's own 404 page (``handler404``): protect()'s 404 must come out as this."""
    return HttpResponse(b"PROJECT-404", status=404)


def routes(view: Callable[..., Any], extra: list[Any]) -> list[Any]:
    """The matrix routes for ``view`` (sync or async), and ``extra``."""
    return [
        path("handler/<str:action>", view),
        path("view/<str:action>", view),
        re_path(r"^matcher/(?P<rest>.*)$", view),
        re_path(r"^view-matcher/(?P<rest>.*)$", view),
        *(path(f"decorated/{action}", helper(view))
          for action, helper in matrix.decorated(protect).items()),
        path("get-auth", get_auth_view),
        path("template", template_view),
        path("boom", boom),
        path("stream", streaming),
        path("guests", signed_out()(view)),
        path("members", signed_in(treat_pending_as_signed_out=False)(view)),
        *extra,
    ]


handler404 = "tests.adapters.django.app.not_found"
urlpatterns = routes(view, [
    path("mixin/admin", AdminView.as_view()),
    path("mixin/predicate", PredicateView.as_view()),
    path("mixin/machine", MachineView.as_view()),
    *ROUTES,
])

# --- clients ----------------------------------------------------------------------------------

_names = itertools.count()


def install(middleware: type[ClerkMiddleware]) -> str:
    """Make ``middleware`` importable by a dotted path, as ``settings.MIDDLEWARE`` needs."""
    name = f"clerk_{next(_names)}"
    setattr(sys.modules[__name__], name, middleware)
    return f"{__name__}.{name}"


def outcome(response: HttpResponseBase) -> matrix.Outcome:
    """A ``matrix.Outcome`` from a Django response, with the headers a server would send.

    Django keeps one value per header name, so the middleware joins a repeated
    ``x-clerk-auth-reason`` with ``", "`` (as Clerk's Next.js middleware does);
    an HTTP list field means the same either way, and it is split here so
    that the table compares field values.
    """
    pairs: list[tuple[str, str]] = []
    for name, value in response.items():
        key = name.lower()
        if key == "x-clerk-auth-reason":
            pairs += [(key, part) for part in value.split(", ")]
        else:
            pairs.append((key, value))
    pairs += [("set-cookie", c.output(header="").strip()) for c in response.cookies.values()]
    if isinstance(response, StreamingHttpResponse):
        body = b"".join(response.streaming_content)  # type: ignore[arg-type]
    else:
        body = response.content  # type: ignore[attr-defined]
    return matrix.Outcome(response.status_code, tuple(pairs), body)


def make_client(settings: Mapping[str, Any], **client_options: Any) -> matrix.Client:
    """A ``matrix.Client`` over ``django.test.Client`` (the middleware runs sync)."""
    client = Client(**client_options)
    with override_settings(MIDDLEWARE=[install(clerk_middleware(handler, **settings))]):
        client.handler.load_middleware()

    def send(target: str, headers: Mapping[str, str]) -> matrix.Outcome:
        client.cookies = SimpleCookie()  # each request as from a new browser: no jar
        response = client.get(target, headers={"host": "app.test", **headers})
        return outcome(response)

    return send


def asgi_scope(target: str, headers: Mapping[str, str]) -> dict[str, Any]:
    """An HTTP scope as uvicorn makes it: ``path`` decoded as UTF-8, ``raw_path`` as sent.

    ``AsyncClient.get`` decodes the path as latin-1, which no server does.
    """
    parts = urlsplit(target)
    raw = parts.path.encode("latin-1")
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "server": ("app.test", 80), "client": ("127.0.0.1", 50000),
        "root_path": "", "path": unquote_to_bytes(raw).decode("utf-8", "replace"),
        "raw_path": raw, "query_string": parts.query.encode("latin-1"),
        "headers": [(b"host", b"app.test"),
                    *((k.lower().encode("latin-1"), v.encode("latin-1"))
                      for k, v in headers.items())],
    }


def make_async_client(settings: Mapping[str, Any]) -> matrix.Client:
    """A ``matrix.Client`` over ``django.test.AsyncClient`` (the middleware runs async)."""
    client = AsyncClient()
    middleware = clerk_middleware(async_handler, **settings)
    with override_settings(MIDDLEWARE=[install(middleware)]):
        client.handler.load_middleware(is_async=True)

    def send(target: str, headers: Mapping[str, str]) -> matrix.Outcome:
        async def run() -> matrix.Outcome:
            client.cookies = SimpleCookie()
            response = await client.request(**asgi_scope(target, headers))
            if isinstance(response, StreamingHttpResponse) and response.is_async:
                # An async stream (a proxied answer): read it here, on the loop.
                chunks = [chunk async for chunk in response.streaming_content]
                response.streaming_content = chunks
            return outcome(response)

        return asyncio.run(run())

    return send
