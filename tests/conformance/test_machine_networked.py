"""Opaque machine tokens, same answer: Clerk's SDK and ours against one local instance.

API keys (``ak_``), opaque M2M tokens (``mt_``) and OAuth access tokens
(``oat_``) verify only through the Backend API. Each case here runs once through
``@clerk/backend``'s ``authenticateRequest`` (``clerk_machine_oracle.mjs``, its
``apiUrl`` pointed at a ``LocalInstance`` on 127.0.0.1) and through
``clerk_middleware.core``, synchronously and asynchronously, against the same
instance. Status, reason, message, token, token type, the debug headers,
``toAuth()``, ``getAuthObjectForAcceptedToken`` for every accepted shape, and
the Backend API requests each side sent (method, path, ``Authorization``) must
be identical.

The instances: one that answers normally, and one per fault (an error status
Clerk maps to ``unexpected-error``, a body that is not JSON, a reset
connection) set on every verify endpoint for the whole module, so that both
SDKs meet the same fault.

Needs node >= 20 and ``npm ci`` in ``tests/conformance``; without them every test
fails and says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from clerk_middleware.core import AuthRequest
from clerk_middleware.testing import CannedResponse, ConnectionReset, LocalInstance

from ._machine_compare import Result, differences, normalise_clerk, our_options, run_ours
from ._machine_compare import run_async as _run_async
from ._machine_compare import run_sync as _run_sync
from ._oracle import OracleError, run_oracle
from .machine_cases import ACCEPTS, ENDPOINT, accepts_json

pytestmark = pytest.mark.conformance

_RUNNERS = {"sync": _run_sync, "async": _run_async}

#: Instances by name, and the fault each one's verify endpoints answer with (None: none).
_FAULTS: dict[str, Any] = {
    "ok": None,
    "status-500": CannedResponse(500),
    "status-403": CannedResponse(403, code="authorization_invalid"),
    "status-422": CannedResponse(422, code="form_param_missing"),
    "status-429": CannedResponse(429, code="too_many_requests"),
    "not-json": CannedResponse(200, body=b"<html>gateway</html>", content_type="text/html"),
    "empty-json": CannedResponse(200, body=b"{}"),
    "wrong-object": CannedResponse(200, body=b'{"object": "user", "id": "user_x"}'),
    "reset": ConnectionReset(),
}

_VERIFY_ENDPOINTS = ("api_key_verify", "m2m_token_verify", "oauth_token_verify")

#: acceptsToken shapes each token is authenticated under.
_SHAPES: tuple[str | tuple[str, ...] | None, ...] = (
    None,
    "api_key",
    "m2m_token",
    "oauth_token",
    "any",
    ("api_key", "m2m_token"),
    ("session_token", "oauth_token"),
)

#: Tokens the "ok" instance issues (and a few it never issued), by name.
_TOKENS = (
    "api-key-user",
    "api-key-org",
    "api-key-revoked",
    "api-key-expired",
    "api-key-unknown",
    "m2m",
    "m2m-revoked",
    "m2m-unknown",
    "oauth",
    "oauth-aud",
    "oauth-revoked",
    "oauth-unknown",
)


def _shape_id(shape: str | tuple[str, ...] | None) -> str:
    if shape is None:
        return "default"
    if isinstance(shape, tuple):
        return "[" + ",".join(shape) + "]"
    return shape


@dataclass(frozen=True, slots=True)
class NetCase:
    """One request with an opaque token, against one instance.

    Attributes:
        name: Unique id.
        instance: Which instance (a key of ``_FAULTS``).
        token: Which token (a key of the world's tokens).
        accepts_token: The ``acceptsToken`` option (None: not set).
        keys: ``"instance"`` (its own keys), ``"wrong-secret"`` (a secret key it
            rejects: 401), ``"machine-secret"`` (plus its machine secret key) or
            ``"wrong-machine-secret"`` (plus a machine secret key it rejects).
        audience: The ``audience`` option (None: not set).
    """

    name: str
    instance: str
    token: str
    accepts_token: str | tuple[str, ...] | None
    keys: str = "instance"
    audience: str | None = None


def _cases() -> list[NetCase]:
    cases: list[NetCase] = []
    for token in _TOKENS:
        for shape in _SHAPES:
            cases.append(NetCase(f"ok/{token}/{_shape_id(shape)}", "ok", token, shape))
    for instance in _FAULTS:
        if instance == "ok":
            continue
        for token in ("api-key-user", "m2m", "oauth"):
            cases.append(NetCase(f"{instance}/{token}/any", instance, token, "any"))
    for token in ("api-key-user", "m2m", "oauth", "m2m-unknown"):
        for keys in ("wrong-secret", "machine-secret", "wrong-machine-secret"):
            cases.append(NetCase(f"keys-{keys}/{token}/any", "ok", token, "any", keys=keys))
    for audience in ("https://api.example.com", "https://other.example.com"):
        for token in ("oauth", "oauth-aud"):
            cases.append(
                NetCase(
                    f"audience-{audience.split('//')[1]}/{token}/oauth_token",
                    "ok",
                    token,
                    "oauth_token",
                    audience=audience,
                )
            )
    return cases


NET_CASES = _cases()

#: Cases where we answer differently on purpose. A 200 answer that is not the token's
#: resource (not JSON, an empty object, another object) signs the machine in with
#: Clerk's SDK, with no subject (whose toAuth() may then throw); we sign nobody in
#: on an answer we cannot read and say unexpected-error (docs/differences.md).
UNREADABLE_ANSWER = frozenset(
    f"{instance}/{token}/any"
    for instance in ("not-json", "empty-json", "wrong-object")
    for token in ("api-key-user", "m2m", "oauth")
)


@dataclass
class World:
    """The running instances, the tokens they issued, and Clerk's answers."""

    instances: dict[str, LocalInstance]
    tokens: dict[str, str]
    now_ms: int
    clerk: dict[str, Result] | str = field(default_factory=dict)

    def options(self, case: NetCase) -> dict[str, Any]:
        """The case's ``authenticateRequest`` options (Clerk's names)."""
        instance = self.instances[case.instance]
        options: dict[str, Any] = {
            "publishableKey": instance.publishable_key,
            "secretKey": instance.secret_key,
            "apiUrl": instance.url,
        }
        if case.keys == "wrong-secret":
            options["secretKey"] = "sk_test_" + "0" * 32
        elif case.keys == "machine-secret":
            options["machineSecretKey"] = instance.machine_secret_key
        elif case.keys == "wrong-machine-secret":
            options["machineSecretKey"] = "ak_" + "0" * 32
        if case.accepts_token is not None:
            options["acceptsToken"] = accepts_json(case.accepts_token)
        if case.audience is not None:
            options["audience"] = case.audience
        return options

    def headers(self, case: NetCase) -> list[tuple[str, str]]:
        """The request's headers: the token as a Bearer."""
        return [("authorization", f"Bearer {self.tokens[case.token]}")]

    def to_json(self, case: NetCase) -> dict[str, Any]:
        """The case as ``clerk_machine_oracle.mjs`` reads it."""
        return {
            "name": case.name,
            "now_ms": self.now_ms,
            "options": self.options(case),
            "request": {
                "method": "GET",
                "url": ENDPOINT,
                "headers": [list(pair) for pair in self.headers(case)],
            },
            "accepts": [accepts_json(shape) for shape in ACCEPTS],
            "network": True,
            # Clerk's client sets no deadline; a hung answer must not hang the suite.
            "fetch_timeout_ms": 10_000,
        }


def _issue_tokens(instance: LocalInstance) -> dict[str, str]:
    now_ms = int(time.time() * 1000)
    tokens = {
        "api-key-user": instance.create_api_key(
            "user_net", name="deploy", scopes=["read", "write"], claims={"team": "core"}
        ).secret,
        "api-key-org": instance.create_api_key("org_net", name="org key").secret,
        "api-key-revoked": instance.create_api_key("user_net", name="gone").secret,
        "api-key-expired": instance.create_api_key(
            "user_net", name="old", expiration=now_ms - 60_000
        ).secret,
        "api-key-unknown": "ak_" + "x" * 43,
        "m2m": instance.create_m2m_token(
            "mch_net", scopes=["mch_other"], claims={"region": "eu"}
        ).token,
        "m2m-revoked": instance.create_m2m_token("mch_net").token,
        "m2m-unknown": "mt_" + "x" * 43,
        "oauth": instance.create_oauth_token(
            "user_net", client_id="client_net", scopes=["email", "profile"]
        ).token,
        "oauth-aud": instance.create_oauth_token(
            "user_net", client_id="client_net", audience="https://api.example.com"
        ).token,
        "oauth-revoked": instance.create_oauth_token("user_net").token,
        "oauth-unknown": "oat_" + "x" * 43,
    }
    instance.revoke_api_key(tokens["api-key-revoked"])
    instance.revoke_m2m_token(tokens["m2m-revoked"])
    instance.revoke_oauth_token(tokens["oauth-revoked"])
    return tokens


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The instances (one per fault) and Clerk's answer to every case."""
    instances = {name: LocalInstance().start() for name in _FAULTS}
    try:
        ok = instances["ok"]
        tokens = _issue_tokens(ok)
        for name, fault in _FAULTS.items():
            if fault is None:
                continue
            # Faulty instances verify the same strings: register nothing, every answer is the fault.
            for endpoint in _VERIFY_ENDPOINTS:
                instances[name].inject(endpoint, fault)
        built = World(instances, tokens, int(time.time() * 1000))
        try:
            results = run_oracle(
                [built.to_json(case) for case in NET_CASES], script="clerk_machine_oracle.mjs"
            )
        except OracleError as exc:
            built.clerk = str(exc)
        else:
            built.clerk = {result["name"]: result for result in results}
        yield built
    finally:
        for instance in instances.values():
            instance.close()


def _clerk(world: World, case: NetCase) -> tuple[Result, list[tuple[str, str, str | None]]]:
    if isinstance(world.clerk, str):
        pytest.fail(
            f"Clerk's SDK could not be run, so nothing was compared:\n{world.clerk}",
            pytrace=False,
        )
    raw = world.clerk[case.name]
    if "oracle_error" in raw:
        pytest.fail(f"the oracle failed on this case: {raw['oracle_error']}", pytrace=False)
    host = world.instances[case.instance].url.removeprefix("http://")
    strays = [fetch for fetch in raw["fetches"] if fetch["host"] != host]
    if strays:
        pytest.fail(f"Clerk's SDK fetched beyond the case's instance: {strays}", pytrace=False)
    fetches = [(f["method"], f["path"], f["authorization"]) for f in raw["fetches"]]
    return normalise_clerk(raw), fetches


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _ours(
    world: World, case: NetCase, runner: str
) -> tuple[Result, list[tuple[str, str, str | None]]]:
    instance = world.instances[case.instance]
    before = len(instance.requests())
    request = AuthRequest(method="GET", url=ENDPOINT, headers=world.headers(case))
    result = run_ours(
        lambda: our_options(world.options(case), world.now_ms), request, ACCEPTS, _RUNNERS[runner]
    )
    sent = instance.requests()[before:]
    return result, [(r.method, r.path, _header(r.headers, "authorization")) for r in sent]


@pytest.mark.parametrize("runner", sorted(_RUNNERS))
@pytest.mark.parametrize("case", NET_CASES, ids=[case.name for case in NET_CASES])
def test_same_answer_as_clerk(case: NetCase, runner: str, world: World) -> None:
    clerk, clerk_fetches = _clerk(world, case)
    ours, our_fetches = _ours(world, case, runner)
    if case.name in UNREADABLE_ANSWER:
        problems = _unreadable_answer_problems(clerk, ours)
    else:
        problems = differences(clerk, ours, ACCEPTS)
    if clerk_fetches != our_fetches:
        problems.append(
            f"Backend API requests:\n    clerk: {clerk_fetches!r}\n    ours:  {our_fetches!r}"
        )
    if problems:
        pytest.fail(
            f"{case.name} [{runner}]: our answer differs from Clerk's\n  " + "\n  ".join(problems),
            pytrace=False,
        )


def _unreadable_answer_problems(clerk: Result, ours: Result) -> list[str]:
    problems: list[str] = []
    if (clerk["status"], clerk["is_authenticated"]) != ("signed-in", True):
        problems.append(f"Clerk no longer signs in on this answer: {clerk['status']}")
    expected = {
        "status": "signed-out",
        "reason": "unexpected-error",
        "message": "Unexpected error (code=unexpected-error, status=n/a)",
        "token": None,
        "token_type": clerk["token_type"],
        "is_authenticated": False,
    }
    for name, value in expected.items():
        if ours[name] != value:
            problems.append(f"{name}: ours {ours[name]!r}, documented {value!r}")
    return problems


def _reasons(world: World, names: Sequence[str]) -> set[str | None]:
    assert isinstance(world.clerk, dict)
    return {world.clerk[name]["reason"] for name in names}


def test_the_cases_reach_every_outcome(world: World) -> None:
    # The comparison means something only if Clerk's answers cover what can happen.
    if isinstance(world.clerk, str):
        pytest.fail(f"Clerk's SDK could not be run:\n{world.clerk}", pytrace=False)
    statuses = {result["status"] for result in world.clerk.values()}
    assert {"signed-in", "signed-out"} <= statuses
    reasons = _reasons(world, [case.name for case in NET_CASES])
    for reason in (
        None,
        "token-type-mismatch",
        "token-invalid",
        "secret-key-invalid",
        "unexpected-error",
    ):
        assert reason in reasons
    signed_in_types = {
        result["token_type"] for result in world.clerk.values() if result["status"] == "signed-in"
    }
    assert signed_in_types == {"api_key", "m2m_token", "oauth_token"}
    assert len({case.name for case in NET_CASES}) == len(NET_CASES)
