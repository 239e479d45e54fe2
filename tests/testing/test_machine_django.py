"""``clerk.configure()`` on a Django handler: its loaded middleware chain is searched.

Django keeps the middleware it loaded in the handler's ``_middleware_chain``
(the outermost middleware, or a function closing over it), so a kit can point
a Django app built with other keys at itself, as it does for WSGI and ASGI apps.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client, override_settings

from clerk_middleware.adapters.django import ClerkMiddleware
from clerk_middleware.testing import ClerkTestKit, TestIssuer
from tests.adapters.django.conf import configure

configure()

PLACEHOLDER = TestIssuer()


@pytest.fixture(autouse=True)
def _clerk_middleware_installed() -> Iterator[None]:
    """A site with Clerk's middleware, configured with another instance's keys."""
    with override_settings(
        MIDDLEWARE=["clerk_middleware.adapters.django.ClerkMiddleware"],
        CLERK={
            "secret_key": PLACEHOLDER.secret_key,
            "publishable_key": PLACEHOLDER.publishable_key,
        },
    ):
        yield


def installed(handler: BaseHandler) -> list[ClerkMiddleware]:
    """The Clerk middleware instances in a handler's loaded chain."""
    found: list[ClerkMiddleware] = []
    seen: set[int] = set()
    stack: list[object] = [getattr(handler, "_middleware_chain", None)]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ClerkMiddleware):
            found.append(node)
            stack.append(node.get_response)
        for cell in getattr(node, "__closure__", None) or ():
            stack.append(cell.cell_contents)
    return found


@pytest.mark.parametrize("make", [WSGIHandler, ASGIHandler], ids=["wsgi", "asgi"])
def test_configure_finds_the_middleware_of_a_django_handler(
    clerk: ClerkTestKit, make: type[BaseHandler]
) -> None:
    handler = make()
    [middleware] = installed(handler)
    assert middleware.options.secret_key == PLACEHOLDER.secret_key
    assert clerk.configure(handler) is handler
    assert middleware.options == clerk.options


def test_configure_finds_it_in_a_test_clients_handler_once_loaded(clerk: ClerkTestKit) -> None:
    client = Client()
    client.get("/no-such-page")  # the test client loads its middleware on the first request
    clerk.configure(client.handler)
    [middleware] = installed(client.handler)
    assert middleware.options == clerk.options
