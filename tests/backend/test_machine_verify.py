"""Machine token verification against the Backend API: a real local instance over HTTP.

``BackendApi.verify_machine_token`` (and its async twin) calls
``POST /api_keys/verify``, ``POST /m2m_tokens/verify`` or
``POST /oauth_applications/access_tokens/verify`` (no ``/v1``, as Clerk's client
sends them) and maps failures as Clerk's ``handleClerkAPIError`` does: 401 is
``secret-key-invalid``, 404 ``token-invalid`` with the type's "not found"
message, anything else ``unexpected-error``. Equal concurrent verifications
share one call; nothing is cached; a budget of its own caps the calls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from clerk_middleware.core import ClerkOptions
from clerk_middleware.core._backend import (
    API_VERSION_HEADER,
    DEFAULT_MACHINE_BUDGET,
    MAX_RESPONSE_BYTES,
    USER_AGENT,
    BackendApi,
    BackendApiError,
    BackendBudget,
    backend_for,
    configure_backend,
)
from clerk_middleware.core._effects import MachineVerifyError, MachineVerifyRequest
from clerk_middleware.testing import (
    CannedResponse,
    ConnectionReset,
    Delay,
    LocalInstance,
    MalformedBody,
    SlowBody,
)
from clerk_middleware.testing._instance import KEY_REJECTED_MESSAGE

from ._support import FakeClock, run_in_threads

Verify = Callable[[BackendApi, str, str], dict[str, Any]]

#: Per token type: the instance's endpoint name, its path, the body field, Clerk's 404 message.
ENDPOINTS = {
    "api_key": ("api_key_verify", "/api_keys/verify", "secret", "API key not found"),
    "m2m_token": ("m2m_token_verify", "/m2m_tokens/verify", "token", "Machine token not found"),
    "oauth_token": (
        "oauth_token_verify",
        "/oauth_applications/access_tokens/verify",
        "access_token",
        "OAuth token not found",
    ),
}
TYPES = tuple(ENDPOINTS)


@pytest.fixture(params=["sync", "async"])
def verify(request: pytest.FixtureRequest) -> Verify:
    """Verify through the blocking method or its async twin (on a fresh event loop)."""
    if request.param == "sync":
        return lambda backend, kind, token: backend.verify_machine_token(kind, token)

    def run(backend: BackendApi, kind: str, token: str) -> dict[str, Any]:
        return asyncio.run(backend.verify_machine_token_async(kind, token))

    return run


def mint(instance: LocalInstance, kind: str) -> str:
    """A live opaque token of ``kind`` on the instance."""
    if kind == "api_key":
        return instance.create_api_key("user_2abc", scopes=["read"]).secret
    if kind == "m2m_token":
        return instance.create_m2m_token("mch_2abc", scopes=["mch_other"]).token
    return instance.create_oauth_token("user_2abc", scopes=["email"]).token


def unknown(kind: str) -> str:
    return {"api_key": "ak_unknown", "m2m_token": "mt_unknown", "oauth_token": "oat_unknown"}[kind]


def failure(call: Callable[[], object]) -> MachineVerifyError:
    with pytest.raises(MachineVerifyError) as info:
        call()
    return info.value


def verdict(error: MachineVerifyError) -> tuple[str, str, int | None]:
    return error.code, error.message, error.status


UNEXPECTED = ("unexpected-error", "Unexpected error", None)


# --- the requests --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TYPES)
def test_each_type_is_posted_to_its_endpoint_without_the_version_segment(
    instance: LocalInstance, backend: BackendApi, verify: Verify, kind: str
) -> None:
    name, path, field, _ = ENDPOINTS[kind]
    token = mint(instance, kind)
    resource = verify(backend, kind, token)
    [sent] = instance.requests(name)
    assert (sent.method, sent.path) == ("POST", path)
    assert sent.json() == {field: token}
    assert sent.headers["authorization"] == f"Bearer {instance.secret_key}"
    assert sent.headers["clerk-api-version"] == API_VERSION_HEADER
    assert sent.headers["user-agent"] == USER_AGENT
    assert sent.headers["content-type"] == "application/json"
    assert resource["subject"] in ("user_2abc", "mch_2abc")


def test_the_resource_is_returned_as_the_api_sent_it(
    instance: LocalInstance, backend: BackendApi, verify: Verify
) -> None:
    key = instance.create_api_key(
        "org_2abc", name="ci", scopes=["read", "write"], claims={"tier": "gold"}
    )
    resource = verify(backend, "api_key", key.secret)
    assert resource == {
        "object": "api_key",
        "id": key.id,
        "type": "api_key",
        "name": "ci",
        "subject": "org_2abc",
        "scopes": ["read", "write"],
        "claims": {"tier": "gold"},
        "revoked": False,
        "revocation_reason": None,
        "expired": False,
        "expiration": None,
        "created_by": None,
        "description": None,
        "last_used_at": resource["last_used_at"],
        "created_at": key.created_at,
        "updated_at": key.created_at,
    }


def test_m2m_verification_uses_the_machine_secret_key_when_set(
    instance: LocalInstance, verify: Verify
) -> None:
    options = instance.options(machine_secret_key=instance.machine_secret_key)
    backend = configure_backend(options)
    token = instance.create_m2m_token("mch_2abc").token
    assert verify(backend, "m2m_token", token)["subject"] == "mch_2abc"
    [sent] = instance.requests("m2m_token_verify")
    assert sent.headers["authorization"] == f"Bearer {instance.machine_secret_key}"


def test_the_machine_secret_key_is_only_for_m2m_tokens(
    instance: LocalInstance, verify: Verify
) -> None:
    backend = configure_backend(instance.options(machine_secret_key=instance.machine_secret_key))
    verify(backend, "api_key", mint(instance, "api_key"))
    verify(backend, "oauth_token", mint(instance, "oauth_token"))
    for name in ("api_key_verify", "oauth_token_verify"):
        [sent] = instance.requests(name)
        assert sent.headers["authorization"] == f"Bearer {instance.secret_key}"


def test_m2m_verification_needs_no_secret_key_with_a_machine_secret_key(
    instance: LocalInstance, verify: Verify
) -> None:
    backend = BackendApi(instance.url, "", machine_secret_key=instance.machine_secret_key)
    token = instance.create_m2m_token("mch_2abc").token
    assert verify(backend, "m2m_token", token)["subject"] == "mch_2abc"
    [sent] = instance.requests("m2m_token_verify")
    assert sent.headers["authorization"] == f"Bearer {instance.machine_secret_key}"


def test_without_any_key_an_m2m_call_carries_no_authorization(
    instance: LocalInstance, verify: Verify
) -> None:
    backend = BackendApi(instance.url, "")
    error = failure(lambda: verify(backend, "m2m_token", mint(instance, "m2m_token")))
    assert verdict(error) == ("secret-key-invalid", KEY_REJECTED_MESSAGE, 401)
    [sent] = instance.requests("m2m_token_verify")
    assert "authorization" not in sent.headers


@pytest.mark.parametrize("kind", ["api_key", "oauth_token"])
def test_without_a_secret_key_api_keys_and_oauth_tokens_are_not_sent(
    instance: LocalInstance, verify: Verify, kind: str
) -> None:
    # Clerk's client asserts the secret key before any request: an unexpected error.
    backend = BackendApi(instance.url, "", machine_secret_key=instance.machine_secret_key)
    error = failure(lambda: verify(backend, kind, mint(instance, kind)))
    assert verdict(error) == UNEXPECTED
    assert instance.count(ENDPOINTS[kind][0]) == 0


def test_backend_for_keeps_the_options_machine_secret_key(instance: LocalInstance) -> None:
    plain = instance.options()
    with_key = instance.options(machine_secret_key=instance.machine_secret_key)
    backend = backend_for(plain)
    assert backend.machine_secret_key is None
    assert backend_for(with_key) is backend  # not part of the instance key
    assert backend.machine_secret_key == instance.machine_secret_key
    backend.verify_machine_token("m2m_token", mint(instance, "m2m_token"))
    assert instance.requests("m2m_token_verify")[-1].headers["authorization"] == (
        f"Bearer {instance.machine_secret_key}"
    )
    assert backend_for(plain).machine_secret_key is None


def test_perform_answers_a_machine_verify_request(
    instance: LocalInstance, backend: BackendApi
) -> None:
    token = mint(instance, "oauth_token")
    answer = backend.perform(MachineVerifyRequest("oauth_token", token))
    assert isinstance(answer, dict) and answer["object"] == "clerk_idp_oauth_access_token"
    with pytest.raises(MachineVerifyError) as info:
        asyncio.run(backend.perform_async(MachineVerifyRequest("api_key", "ak_nope")))
    assert verdict(info.value) == ("token-invalid", "API key not found", 404)


# --- Clerk's error mapping -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", TYPES)
def test_an_unknown_token_is_token_invalid_with_the_types_message(
    instance: LocalInstance, backend: BackendApi, verify: Verify, kind: str
) -> None:
    error = failure(lambda: verify(backend, kind, unknown(kind)))
    assert verdict(error) == ("token-invalid", ENDPOINTS[kind][3], 404)


@pytest.mark.parametrize("kind", TYPES)
def test_a_revoked_token_is_refused_by_the_next_verification(
    instance: LocalInstance, backend: BackendApi, verify: Verify, kind: str
) -> None:
    token = mint(instance, kind)
    verify(backend, kind, token)
    revoke = {
        "api_key": instance.revoke_api_key,
        "m2m_token": instance.revoke_m2m_token,
        "oauth_token": instance.revoke_oauth_token,
    }[kind]
    revoke(token)
    error = failure(lambda: verify(backend, kind, token))
    assert verdict(error) == ("token-invalid", ENDPOINTS[kind][3], 404)
    assert instance.count(ENDPOINTS[kind][0]) == 2  # no answer was cached


def test_an_expired_api_key_is_token_invalid(
    instance: LocalInstance, backend: BackendApi, verify: Verify, wall: FakeClock
) -> None:
    key = instance.create_api_key("user_2abc", expires_in=60)
    assert verify(backend, "api_key", key.secret)["expiration"] == key.expiration
    wall.advance(61)
    assert verdict(failure(lambda: verify(backend, "api_key", key.secret)))[0] == "token-invalid"


def test_a_rejected_secret_key_is_secret_key_invalid_with_the_apis_message(
    instance: LocalInstance, verify: Verify
) -> None:
    backend = configure_backend(instance.options(secret_key="sk_test_not_this_instances"))
    for kind in TYPES:
        token = mint(instance, kind)
        with pytest.raises(MachineVerifyError) as info:
            verify(backend, kind, token)
        assert verdict(info.value) == ("secret-key-invalid", KEY_REJECTED_MESSAGE, 401)


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"errors": []}',
        b'{"errors": [{"message": ""}]}',
        b'{"errors": [{"message": 5}]}',
        b"not json",
    ],
)
def test_a_401_without_a_message_is_invalid_secret_key(
    instance: LocalInstance, backend: BackendApi, verify: Verify, body: bytes
) -> None:
    instance.inject("api_key_verify", CannedResponse(401, body))
    error = failure(lambda: verify(backend, "api_key", mint(instance, "api_key")))
    assert verdict(error) == ("secret-key-invalid", "Invalid secret key", 401)


def test_a_404_keeps_clerks_message_whatever_the_body(
    instance: LocalInstance, backend: BackendApi, verify: Verify
) -> None:
    instance.inject("m2m_token_verify", CannedResponse(404, code="other", body=None))
    error = failure(lambda: verify(backend, "m2m_token", mint(instance, "m2m_token")))
    assert verdict(error) == ("token-invalid", "Machine token not found", 404)


@pytest.mark.parametrize("status", [400, 403, 422, 429, 500, 502, 503])
def test_other_error_statuses_are_unexpected_with_the_status(
    instance: LocalInstance, backend: BackendApi, verify: Verify, status: int
) -> None:
    instance.inject("oauth_token_verify", CannedResponse(status))
    error = failure(lambda: verify(backend, "oauth_token", mint(instance, "oauth_token")))
    assert verdict(error) == ("unexpected-error", "Unexpected error", status)


@pytest.mark.parametrize(
    "fault",
    [
        MalformedBody(),
        CannedResponse(200, b"[1, 2]"),
        CannedResponse(200, b"null"),
        CannedResponse(200, b'"api_key"'),
        CannedResponse(200, b'{"id": "ak_1"}', content_type="text/plain"),
        CannedResponse(204, b""),
        ConnectionReset(),
    ],
    ids=["malformed", "array", "null", "string", "not-json-type", "204", "reset"],
)
def test_no_usable_answer_is_unexpected_without_a_status(
    instance: LocalInstance, backend: BackendApi, verify: Verify, fault: Any
) -> None:
    instance.inject("api_key_verify", fault)
    error = failure(lambda: verify(backend, "api_key", mint(instance, "api_key")))
    assert verdict(error) == UNEXPECTED


def test_an_oversized_body_is_unexpected(
    instance: LocalInstance, backend: BackendApi, verify: Verify
) -> None:
    body = json.dumps({"id": "ak_1", "padding": "x" * MAX_RESPONSE_BYTES}).encode()
    instance.inject("api_key_verify", CannedResponse(200, body))
    assert verdict(failure(lambda: verify(backend, "api_key", "ak_x"))) == UNEXPECTED


def test_an_unreachable_api_is_unexpected(verify: Verify) -> None:
    with LocalInstance() as gone:
        url, key = gone.url, gone.secret_key
    backend = BackendApi(url, key)
    assert verdict(failure(lambda: verify(backend, "api_key", "ak_x"))) == UNEXPECTED


@pytest.mark.parametrize("fault", [Delay(5.0), SlowBody(0.5)], ids=["delay", "slow-body"])
def test_a_call_past_the_timeout_is_unexpected(
    instance: LocalInstance, verify: Verify, fault: Any
) -> None:
    backend = configure_backend(instance.options(), timeout=0.3)
    instance.inject("api_key_verify", fault)
    assert verdict(failure(lambda: verify(backend, "api_key", "ak_x"))) == UNEXPECTED


def test_the_oauth_audience_is_left_to_the_flow(
    instance: LocalInstance, backend: BackendApi, verify: Verify
) -> None:
    token = instance.create_oauth_token("user_2abc", audience=["https://api.example.com"]).token
    resource = verify(backend, "oauth_token", token)
    assert resource["aud"] == ["https://api.example.com"]
    plain = instance.create_oauth_token("user_2abc").token
    assert "aud" not in verify(backend, "oauth_token", plain)


# --- single flight, no cache ---------------------------------------------------------------------


def wait_for(condition: Callable[[], bool]) -> None:
    event = threading.Event()
    while not condition():
        event.wait(0.005)


def test_concurrent_threads_with_one_token_share_one_call(
    instance: LocalInstance, backend: BackendApi
) -> None:
    token = mint(instance, "api_key")
    instance.inject("api_key_verify", Delay(1.0), times=1)
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def call() -> None:
        resource = backend.verify_machine_token("api_key", token)
        with lock:
            results.append(resource)

    leader = threading.Thread(target=call)
    leader.start()
    wait_for(lambda: instance.count("api_key_verify") == 1)  # the call is in flight
    run_in_threads([call] * 8)
    leader.join()
    assert instance.count("api_key_verify") == 1
    assert len(results) == 9 and all(r == results[0] for r in results)
    assert len({id(r) for r in results}) == 9  # each caller has its own copy


async def test_concurrent_tasks_with_one_token_share_one_call(
    instance: LocalInstance, backend: BackendApi
) -> None:
    token = mint(instance, "m2m_token")
    instance.inject("m2m_token_verify", Delay(0.5), times=1)
    results = await asyncio.gather(
        *(backend.verify_machine_token_async("m2m_token", token) for _ in range(20))
    )
    assert instance.count("m2m_token_verify") == 1
    assert all(r == results[0] for r in results)


async def test_a_shared_failure_reaches_every_caller(
    instance: LocalInstance, backend: BackendApi
) -> None:
    instance.inject("oauth_token_verify", Delay(0.3), times=1)
    results = await asyncio.gather(
        *(backend.verify_machine_token_async("oauth_token", "oat_nope") for _ in range(5)),
        return_exceptions=True,
    )
    assert instance.count("oauth_token_verify") == 1
    assert all(isinstance(r, MachineVerifyError) for r in results)
    assert len({id(r) for r in results}) == 5
    assert {verdict(r) for r in results if isinstance(r, MachineVerifyError)} == {
        ("token-invalid", "OAuth token not found", 404)
    }


async def test_different_tokens_are_separate_calls(
    instance: LocalInstance, backend: BackendApi
) -> None:
    tokens = [mint(instance, "api_key") for _ in range(3)]
    instance.inject("api_key_verify", Delay(0.2), times=3)
    results = await asyncio.gather(
        *(backend.verify_machine_token_async("api_key", token) for token in tokens)
    )
    assert instance.count("api_key_verify") == 3
    assert len({r["id"] for r in results}) == 3


def test_sequential_verifications_each_call_the_api(
    instance: LocalInstance, backend: BackendApi, verify: Verify
) -> None:
    token = mint(instance, "oauth_token")
    for _ in range(3):
        verify(backend, "oauth_token", token)
    assert instance.count("oauth_token_verify") == 3


# --- the budget ----------------------------------------------------------------------------------


def test_the_default_machine_budget() -> None:
    assert (DEFAULT_MACHINE_BUDGET.rate, DEFAULT_MACHINE_BUDGET.burst) == (100.0, 200)
    assert BackendApi("https://api.clerk.com", "sk_test_x").machine_budget == DEFAULT_MACHINE_BUDGET


def test_verifications_beyond_the_budget_are_not_made(
    instance: LocalInstance,
    options: ClerkOptions,
    monotonic: FakeClock,
    verify: Verify,
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = BackendBudget(rate=1.0, burst=2)
    backend = configure_backend(options, machine_budget=budget, monotonic=monotonic)
    tokens = [mint(instance, "api_key") for _ in range(3)]
    verify(backend, "api_key", tokens[0])
    verify(backend, "api_key", tokens[1])
    with caplog.at_level(logging.WARNING, logger="clerk_middleware"):
        error = failure(lambda: verify(backend, "api_key", tokens[2]))
    assert verdict(error) == UNEXPECTED
    assert instance.count("api_key_verify") == 2
    [warning] = [r for r in caplog.records if "budget" in r.getMessage()]
    assert "1 calls per second, bursts of 2" in warning.getMessage()
    assert tokens[2] not in caplog.text
    monotonic.advance(1.0)
    verify(backend, "api_key", tokens[2])
    assert instance.count("api_key_verify") == 3


def test_the_machine_budget_is_apart_from_the_handshake_budget(
    instance: LocalInstance, options: ClerkOptions, monotonic: FakeClock
) -> None:
    backend = configure_backend(
        options,
        budget=BackendBudget(rate=1.0, burst=1),
        machine_budget=BackendBudget(rate=1.0, burst=1),
        monotonic=monotonic,
    )
    backend.verify_machine_token("api_key", mint(instance, "api_key"))
    with pytest.raises(MachineVerifyError):
        backend.verify_machine_token("api_key", mint(instance, "api_key"))
    # The handshake budget is untouched: its call is made (and finds no payload).
    with pytest.raises(BackendApiError) as info:
        backend.handshake_payload("no-such-nonce")
    assert info.value.status == 404
    assert instance.count("handshake_payload") == 1


# --- no token anywhere it could leak -------------------------------------------------------------


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


@pytest.mark.parametrize(
    "fault",
    [None, CannedResponse(500), CannedResponse(401), ConnectionReset(), MalformedBody()],
    ids=["404", "500", "401", "reset", "malformed"],
)
def test_no_token_in_logs_reprs_or_errors(
    instance: LocalInstance,
    backend: BackendApi,
    verify: Verify,
    all_logs: pytest.LogCaptureFixture,
    fault: Any,
) -> None:
    token = "ak_" + "s3cr3t" * 6
    if fault is not None:
        instance.inject("api_key_verify", fault)
    error = failure(lambda: verify(backend, "api_key", token))
    request = MachineVerifyRequest("api_key", token)
    for text in (str(error), repr(error), repr(request), repr(backend), all_logs.text):
        assert token not in text
