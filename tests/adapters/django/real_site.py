"""A one-module Django project for the real-server route-protection tests.

It is its own settings module and URLconf (``DJANGO_SETTINGS_MODULE`` and
``ROOT_URLCONF`` both name it), with the routes and markers of
``tests.security._real_apps`` and the handler the docs show::

    is_protected = create_route_matcher(["/admin(.*)", "/api/admin(.*)", "/dash/:path*"])

    def handler(auth, request):
        if is_protected(auth.request):
            auth.protect()

``wsgi()`` and ``asgi()`` return the witnessed application (``x-app:
reached`` on the app's answers); ``REAL_APP=django-asgi`` gives the ASGI one
the async handler. The ``clerk_middleware`` options are the JSON in
``CLERK_TEST_SETTINGS``.
"""

from __future__ import annotations

import json
import os
from typing import Any, cast

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path

from clerk_middleware.adapters.django import ClerkAuth, clerk_middleware

from ...security import _real_apps as apps

DEBUG = False
SECRET_KEY = "real-server-tests-only"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, Any] = {}
USE_TZ = True
CLERK = json.loads(os.environ.get("CLERK_TEST_SETTINGS", "{}"))
MIDDLEWARE = [
    f"{__name__}.clerk_async" if os.environ.get("REAL_APP") == "django-asgi"
    else f"{__name__}.clerk",
]

clerk = clerk_middleware(apps.handler)


async def async_handler(auth: ClerkAuth, request: HttpRequest) -> None:
    """``apps.handler``, as an async Django project writes it."""
    apps.handler(auth, request)


clerk_async = clerk_middleware(async_handler)


def _text(body: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    # A length, not chunks: the checks read the body as it comes over the wire.
    response["Content-Length"] = str(len(response.content))
    return response


def public(request: HttpRequest) -> HttpResponse:
    return _text(apps.PUBLIC_MARKER)


def protected(view: str) -> Any:
    def answer(request: HttpRequest, rest: str = "") -> HttpResponse:
        return _text(apps.protected_body(view, request))

    return answer


def catchall(request: HttpRequest, rest: str) -> HttpResponse:
    return _text(apps.catchall_body("/" + rest))


urlpatterns = [
    path("", public),
    path("public", public),
    *(route
      for prefix, view in (("admin", "admin"), ("api/admin", "api-admin"), ("dash", "dash"))
      for route in (path(prefix, protected(view)), path(f"{prefix}/<path:rest>", protected(view)))),
    re_path(r"^(?P<rest>.*)$", catchall),
]


def wsgi() -> Any:
    """The WSGI application gunicorn serves (``tests.adapters.django.real_site:wsgi()``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
    return apps.witness_wsgi(get_wsgi_application())


def asgi() -> Any:
    """The ASGI application uvicorn serves (``--factory tests.adapters.django.real_site:asgi``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
    return apps.witness_asgi(cast(Any, get_asgi_application()))
