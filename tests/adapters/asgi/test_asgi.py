"""The plain ASGI adapter, through httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clerk_middleware.adapters.asgi import Scope, auth, auth_request_from_scope, clerk_middleware
from clerk_middleware.core import AuthNotFound, ConfigurationError
from clerk_middleware.core._request import header_fields
from clerk_middleware.testing import TestIssuer

from .. import matrix
from ..clients import client_for_fixture, send
from .app import make_app, make_client

client_for = client_for_fixture(make_client)


@pytest.mark.parametrize(("scenario", "user", "scopes"), [
    ("signed-in", [True, "user_2abc"], ["authenticated"]),
    ("pending", [False, ""], []),
    ("signed-out", [False, ""], []),
])
def test_get_auth_and_scope(client_for: Callable[[str | None], matrix.Client],
                            issuer: TestIssuer, scenario: str, user: list[object],
                            scopes: list[str]) -> None:
    body = send(client_for, issuer, "/get-auth", scenario).comparable()[4]
    assert (body["user"], body["scopes"]) == (user, scopes)
    if scenario == "pending":
        assert body["default"] == matrix.PENDING_FIELDS
        assert body["aware"] == matrix.PENDING_AWARE_FIELDS


async def test_control_flow_after_the_response_started_is_not_hidden(issuer: TestIssuer) -> None:
    transport = httpx.ASGITransport(app=make_app(matrix.settings(issuer)))
    async with httpx.AsyncClient(transport=transport, base_url=matrix.BASE) as client:
        with pytest.raises(AuthNotFound):
            await client.get("/late-protect", headers=matrix.API)


async def test_app_errors_propagate(issuer: TestIssuer) -> None:
    transport = httpx.ASGITransport(app=make_app(matrix.settings(issuer)))
    async with httpx.AsyncClient(transport=transport, base_url=matrix.BASE) as client:
        with pytest.raises(ValueError, match="an application bug"):
            await client.get("/boom")


async def test_other_scopes_pass_through(issuer: TestIssuer) -> None:
    seen: list[Scope] = []

    async def inner(scope: Scope, receive: object, send: object) -> None:
        seen.append(scope)

    async def receive() -> dict[str, object]:
        return {}

    async def send_message(message: object) -> None:
        pass

    middleware = clerk_middleware(**matrix.settings(issuer))(inner)
    await middleware({"type": "lifespan"}, receive, send_message)
    assert seen == [{"type": "lifespan"}]


def test_auth_outside_a_request_raises(client_for: Callable[[str | None], matrix.Client],
                                       issuer: TestIssuer) -> None:
    send(client_for, issuer, "/view/fields", scenario="signed-in")
    with pytest.raises(RuntimeError, match="outside a request handled by clerk_middleware"):
        auth()


def test_bad_configuration_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError):
        clerk_middleware(publishable_key="pk_nonsense")


@pytest.mark.parametrize(("scope", "url"), [
    ({"raw_path": b"/a%2Fb", "query_string": b"x=%41", "headers": [(b"host", b"a.test")]},
     "http://a.test/a%2Fb?x=%41"),
    ({"raw_path": b"/caf\xc3\xa9", "headers": [(b"host", b"a.test")]}, "http://a.test/caf%C3%A9"),
    ({"path": "/caf\u00e9 x", "root_path": "/app", "server": ("a.test", 8000)},
     "http://a.test:8000/app/caf%C3%A9%20x"),
    ({"path": "/app/x", "root_path": "/app", "server": ("a.test", 443), "scheme": "https"},
     "https://a.test/app/x"),
])
def test_auth_request_from_scope(scope: dict[str, object], url: str) -> None:
    full: Scope = {"type": "http", "method": "GET", "path": "/", "headers": [], **scope}
    assert auth_request_from_scope(full).url == url


_RAW_NAMES = st.sampled_from(
    [b"host", b"cookie", b"Cookie", b"authorization", b"x-forwarded-host", b"X-Forwarded-Host",
     b"referer", b"x-" + b"n" * 70, b"caf\xe9", b""]
)


@settings(max_examples=400, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(_RAW_NAMES, st.sampled_from([b"", b"1", b"a=b", b"\xe9"])), max_size=8
    ),
    container=st.sampled_from([list, tuple, iter]),
)
def test_the_header_fields_of_any_scope_are_read_as_the_plain_decoding_reads_them(
    pairs: list[tuple[bytes, bytes]], container: Callable[[list[tuple[bytes, bytes]]], object]
) -> None:
    from clerk_middleware.adapters import asgi

    expected = header_fields([(k.decode("latin-1"), v.decode("latin-1")) for k, v in pairs])
    # Twice: names met for the first time, then names already learnt.
    for _ in range(2):
        fields = asgi._scope_headers(container(pairs))  # type: ignore[arg-type]
        assert fields == expected
        assert list(fields) == list(expected)
    assert all(len(name) <= asgi._MAX_NAME_LENGTH for name in asgi._HEADER_NAMES)
    assert all(name == name.lower() for name in asgi._HEADER_NAMES.values())


def test_header_names_chosen_by_clients_are_read_past_the_memo_bound() -> None:
    from clerk_middleware.adapters import asgi

    pairs = [(f"x-n{n}".encode(), str(n).encode()) for n in range(asgi._MAX_NAMES + 200)]
    fields = asgi._scope_headers(pairs)
    assert fields[f"x-n{asgi._MAX_NAMES + 199}"] == str(asgi._MAX_NAMES + 199)
    assert len(fields) == len(pairs)
    assert len(asgi._HEADER_NAMES) <= asgi._MAX_NAMES


@pytest.mark.parametrize(
    "headers",
    [
        [(b"cookie", b"a=1"), (b"host", b"a.test"), (b"cookie", b"b=2")],
        ((b"cookie", b"a=1"), (b"host", b"a.test"), (b"Cookie", b"b=2")),
    ],
)
def test_repeated_header_fields_are_joined(headers: object) -> None:
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    request = auth_request_from_scope(scope)
    assert request.header("cookie") == "a=1; b=2"
    assert request.cookies == {"a": "1", "b": "2"}
    assert request.url == "http://a.test/"


def test_headers_may_be_any_iterable_of_pairs() -> None:
    pairs = [(b"host", b"a.test"), (b"x-forwarded-proto", b"https"), (b"x-a", b"\xe9")]
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": iter(pairs)}
    request = auth_request_from_scope(scope)
    assert request.url == "http://a.test/"
    assert request.headers == {"host": "a.test", "x-forwarded-proto": "https", "x-a": "\u00e9"}
