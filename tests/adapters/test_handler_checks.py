"""Every adapter's ``clerk_middleware(...)`` refuses a handler it could not run, at start-up."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from clerk_middleware.adapters import asgi, fastapi, flask, starlette, wsgi
from clerk_middleware.core import ConfigurationError
from clerk_middleware.testing import TestIssuer

from . import matrix

FACTORIES: dict[str, Callable[..., Any]] = {
    "wsgi": wsgi.clerk_middleware,
    "flask": flask.clerk_middleware,
    "asgi": asgi.clerk_middleware,
    "starlette": starlette.clerk_middleware,
    "fastapi": fastapi.clerk_middleware,
}
SYNC_ONLY = ("wsgi", "flask")


async def async_handler(auth: object, request: object) -> None:
    return None


class AsyncCallable:
    async def __call__(self, auth: object, request: object) -> None:
        return None


def sync_handler(auth: object, request: object) -> None:
    return None


@pytest.mark.parametrize("adapter", FACTORIES)
@pytest.mark.parametrize("handler", [
    "sk_test_0123456789abcdef",             # a key passed by position
    {"secret_key": "sk_test_0123456789abcdef"},
    42,
])
def test_a_handler_that_is_not_callable_is_refused(
    issuer: TestIssuer, adapter: str, handler: object
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        FACTORIES[adapter](handler, **matrix.settings(issuer))
    message = str(caught.value)
    assert "the handler must be a function called as handler(auth, request)" in message
    assert f"got a {type(handler).__name__}" in message
    assert "sk_test_0123456789abcdef" not in message


@pytest.mark.parametrize("adapter", SYNC_ONLY)
@pytest.mark.parametrize("handler", [
    async_handler, AsyncCallable(), functools.partial(async_handler),
])
def test_an_async_handler_is_refused_where_nothing_awaits_it(
    issuer: TestIssuer, adapter: str, handler: object
) -> None:
    with pytest.raises(ConfigurationError, match="the handler is async"):
        FACTORIES[adapter](handler, **matrix.settings(issuer))


@pytest.mark.parametrize("adapter", FACTORIES)
def test_plain_handlers_and_none_are_accepted(issuer: TestIssuer, adapter: str) -> None:
    for handler in (None, sync_handler, functools.partial(sync_handler), lambda a, r: None):
        FACTORIES[adapter](handler, **matrix.settings(issuer))


@pytest.mark.parametrize("adapter", [a for a in FACTORIES if a not in SYNC_ONLY])
def test_async_handlers_are_accepted_by_the_asgi_adapters(issuer: TestIssuer, adapter: str) -> None:
    for handler in (async_handler, AsyncCallable()):
        FACTORIES[adapter](handler, **matrix.settings(issuer))
