"""Backend API resources an app asks for: users and session tokens, over HTTP to a local instance.

``BackendApi.call`` (and its async twin) is what ``current_user()`` and
``get_token(template=...)`` use: the JSON of a 2xx answer, ``BackendApiError``
for anything else, with the status and Clerk's error code and never a key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis.strategies as st
import jwt
import pytest
from hypothesis import given, settings

from clerk_middleware.core import (
    Auth,
    BackendApiError,
    ClerkOptions,
    ConfigurationError,
    EmailAddress,
    User,
    clerk_client,
    fetch_user,
    fetch_user_async,
    reset_backends,
    session_token,
    session_token_async,
)
from clerk_middleware.core._backend import BackendApi
from clerk_middleware.core._resources import session_token_path, user_from_json
from clerk_middleware.testing import (
    CannedResponse,
    ConnectionReset,
    LocalInstance,
    MalformedBody,
    SlowBody,
)


@pytest.fixture(scope="module")
def instance() -> Iterator[LocalInstance]:
    with LocalInstance() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_backends() -> Iterator[None]:
    yield
    reset_backends()


def _options(instance: LocalInstance, **overrides: Any) -> ClerkOptions:
    return ClerkOptions(
        publishable_key=instance.publishable_key,
        secret_key=instance.secret_key,
        api_url=instance.url,
        **overrides,
    )


# --- users ---------------------------------------------------------------------------------


def test_fetch_user(instance: LocalInstance) -> None:
    made = instance.create_user(
        email_address="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        username="ada",
        public_metadata={"plan": "pro"},
        private_metadata={"stripe": "cus_1"},
        external_id="42",
    )
    instance.sign_in(made)
    for user in (
        fetch_user(_options(instance), made.id),
        asyncio.run(fetch_user_async(_options(instance), made.id)),
    ):
        assert (user.id, user.first_name, user.last_name, user.username) == (
            made.id,
            "Ada",
            "Lovelace",
            "ada",
        )
        assert user.full_name == "Ada Lovelace"
        assert user.primary_email_address == "ada@example.com"
        assert user.email_addresses[0].verified
        assert dict(user.public_metadata) == {"plan": "pro"}
        assert dict(user.private_metadata) == {"stripe": "cus_1"}
        assert user.external_id == "42"
        assert isinstance(user.last_sign_in_at, int) and isinstance(user.created_at, int)
        assert user.data["object"] == "user"
        assert "cus_1" not in repr(user)  # private metadata stays out of logs


def test_an_unknown_user_is_a_404(instance: LocalInstance) -> None:
    with pytest.raises(BackendApiError) as raised:
        fetch_user(_options(instance), "user_nobody")
    assert (raised.value.status, raised.value.code) == (404, "resource_not_found")
    assert str(raised.value) == (
        "Clerk Backend API: GET /v1/users/user_nobody answered 404: No user 'user_nobody'."
    )


def test_ids_are_one_path_segment(instance: LocalInstance) -> None:
    instance.reset_counts()
    with pytest.raises(BackendApiError):
        fetch_user(_options(instance), "../clients/x?y#z")
    (sent,) = instance.requests("user")
    assert sent.path == "/v1/users/..%2Fclients%2Fx%3Fy%23z"
    with pytest.raises(ValueError, match="non-empty"):
        fetch_user(_options(instance), "")


@pytest.mark.parametrize(
    ("fault", "status", "code", "words"),
    [
        (CannedResponse(500), 500, "internal_clerk_error", "answered 500"),
        (CannedResponse(429, code="too_many_requests"), 429, "too_many_requests", "answered 429"),
        (CannedResponse(200, body=b"<html/>", content_type="text/html"), 200, None, "not JSON"),
        (MalformedBody(), 200, None, "not JSON"),
        (ConnectionReset(), None, None, "the connection failed"),
    ],
    ids=["500", "429", "html", "truncated", "reset"],
)
def test_failures_are_backend_api_errors(
    instance: LocalInstance, fault: Any, status: int | None, code: str | None, words: str
) -> None:
    made = instance.create_user()
    calls: list[Callable[[], User]] = [
        lambda: fetch_user(_options(instance), made.id),
        lambda: asyncio.run(fetch_user_async(_options(instance), made.id)),
    ]
    for call in calls:
        with instance.fault("user", fault), pytest.raises(BackendApiError) as raised:
            call()
        assert (raised.value.status, raised.value.code) == (status, code)
        assert words in str(raised.value)
        assert instance.secret_key not in str(raised.value)


def test_a_slow_answer_times_out(instance: LocalInstance) -> None:
    made = instance.create_user()
    backend = BackendApi(instance.url, instance.secret_key, timeout=0.3)
    try:
        with instance.fault("user", SlowBody(0.2)), pytest.raises(BackendApiError) as raised:
            backend.call("GET", f"users/{made.id}")
        assert "0.3 s timeout" in str(raised.value)
    finally:
        backend.close()


def test_a_wrong_secret_key(instance: LocalInstance) -> None:
    made = instance.create_user()
    options = ClerkOptions(
        publishable_key=instance.publishable_key,
        secret_key="sk_test_" + "0" * 32,
        api_url=instance.url,
    )
    with pytest.raises(BackendApiError) as raised:
        fetch_user(options, made.id)
    assert raised.value.status == 401 and "sk_test_0000" not in str(raised.value)


def test_no_secret_key_is_a_configuration_error(instance: LocalInstance) -> None:
    backend = BackendApi(instance.url, "")
    with pytest.raises(ConfigurationError, match="CLERK_SECRET_KEY"):
        backend.call("GET", "users/user_1")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
USER_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        name: JSON
        for name in (
            "id",
            "first_name",
            "last_name",
            "username",
            "email_addresses",
            "primary_email_address_id",
            "public_metadata",
            "created_at",
            "banned",
        )
    },
)


@settings(max_examples=300, deadline=None)
@given(USER_FIELDS | JSON)
def test_any_answer_is_a_user_or_a_backend_api_error(data: Any) -> None:
    try:
        user = user_from_json(data)
    except BackendApiError:
        assert not (isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"])
        return
    assert user.id == data["id"]
    assert user.first_name is None or isinstance(user.first_name, str)
    assert all(isinstance(address, EmailAddress) for address in user.email_addresses)
    assert user.created_at is None or type(user.created_at) is int
    _ = (user.primary_email_address, user.full_name, dict(user.public_metadata))


def test_user_properties() -> None:
    user = User(
        id="user_1",
        first_name="Ada",
        primary_email_address_id="idn_2",
        email_addresses=(EmailAddress("idn_1", "a@x.test"), EmailAddress("idn_2", "b@x.test")),
    )
    assert (user.full_name, user.primary_email_address) == ("Ada", "b@x.test")
    assert User(id="user_2").full_name is None and User(id="user_2").primary_email_address is None


# --- session tokens ---------------------------------------------------------------------------


def _decode(instance: LocalInstance, token: str) -> dict[str, Any]:
    keys = {k["kid"]: jwt.PyJWK(k) for k in instance.jwks()["keys"]}
    found: dict[str, Any] = jwt.decode(
        token, keys[jwt.get_unverified_header(token)["kid"]].key, algorithms=["RS256"]
    )
    return found


def test_template_and_longer_session_tokens(instance: LocalInstance) -> None:
    made = instance.create_user(email_address="ada@example.com", public_metadata={"tier": 2})
    session = instance.sign_in(made)
    instance.create_jwt_template(
        "hasura",
        {"meta": "{{user.public_metadata}}", "mail": "{{user.primary_email_address}}", "n": 1},
        lifetime=90,
    )
    options = _options(instance)
    for token in (
        session_token(options, session.id, template="hasura"),
        asyncio.run(session_token_async(options, session.id, template="hasura")),
    ):
        claims = _decode(instance, token)
        assert (claims["sub"], claims["meta"], claims["mail"], claims["n"]) == (
            made.id,
            {"tier": 2},
            "ada@example.com",
            1,
        )
        assert claims["exp"] - claims["iat"] == 90
    shorter = _decode(
        instance, session_token(options, session.id, template="hasura", expires_in_seconds=30)
    )
    assert shorter["exp"] - shorter["iat"] == 30
    longer = _decode(instance, session_token(options, session.id, expires_in_seconds=3600))
    assert (longer["sid"], longer["exp"] - longer["iat"]) == (session.id, 3600)


def test_session_token_requests(instance: LocalInstance) -> None:
    session = instance.sign_in(instance.create_user())
    instance.create_jwt_template("a b/c")
    instance.reset_counts()
    session_token(_options(instance), session.id, template="a b/c")
    session_token(_options(instance), session.id, expires_in_seconds=5)
    first, second = instance.requests("session_token")
    assert first.path == f"/v1/sessions/{session.id}/tokens/a%20b%2Fc" and first.body == b""
    assert second.path == f"/v1/sessions/{session.id}/tokens"
    assert second.json() == {"expires_in_seconds": 5}


def test_session_token_failures(instance: LocalInstance) -> None:
    session = instance.sign_in(instance.create_user())
    options = _options(instance)
    with pytest.raises(BackendApiError) as raised:
        session_token(options, session.id, template="missing")
    assert raised.value.status == 404
    instance.end_session(session)
    with pytest.raises(BackendApiError) as raised:
        session_token(options, session.id, expires_in_seconds=10)
    assert (raised.value.status, raised.value.code) == (400, "session_not_active")
    empty = CannedResponse(200, body=b'{"object": "token"}')
    with (
        instance.fault("session_token", empty),
        pytest.raises(BackendApiError, match="holds no token"),
    ):
        session_token(options, "sess_1", template="x")


@pytest.mark.parametrize(
    ("session_id", "template", "lifetime"),
    [
        ("", None, 5),
        ("sess_1", None, 0),
        ("sess_1", None, -1),
        ("sess_1", None, True),
        ("sess_1", None, 1.5),
        ("sess_1", 7, None),
    ],
)
def test_bad_arguments_make_no_call(session_id: str, template: Any, lifetime: Any) -> None:
    with pytest.raises(ValueError):
        session_token_path(session_id, template, lifetime)


def test_auth_get_token() -> None:
    signed_in = Auth(user_id="user_1", session_id="sess_1", token="t.o.k", is_signed_in=True)
    assert signed_in.get_token() == "t.o.k"
    assert Auth().get_token(template="x") is None
    assert asyncio.run(Auth().get_token_async(expires_in_seconds=5)) is None
    no_session = Auth(user_id="user_1", token="t.o.k", is_signed_in=True)
    assert no_session.get_token(template="x") is None  # Clerk: no sessionId, no token
    with pytest.raises(RuntimeError, match="auth\\(\\) returns"):
        signed_in.get_token(template="x")
    with pytest.raises(RuntimeError, match="auth\\(\\) returns"):
        asyncio.run(signed_in.get_token_async(template="x"))
    assert signed_in == Auth(
        user_id="user_1", session_id="sess_1", token="t.o.k", is_signed_in=True
    )


# --- Clerk's Python Backend SDK -------------------------------------------------------------


def test_clerk_client_talks_to_the_instance(instance: LocalInstance) -> None:
    made = instance.create_user(email_address="ada@example.com", first_name="Ada")
    client = clerk_client(_options(instance))
    assert client is clerk_client(_options(instance))  # one per instance
    instance.reset_counts()
    found = client.users.get(user_id=made.id)
    assert (found.id, found.first_name) == (made.id, "Ada")
    assert found.email_addresses[0].email_address == "ada@example.com"
    (sent,) = instance.requests("user")
    assert sent.headers["authorization"] == f"Bearer {instance.secret_key}"
