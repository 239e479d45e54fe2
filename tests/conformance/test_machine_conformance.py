"""Machine tokens, same request, same answer: our core against Clerk's ``authenticateRequest``.

Every case of ``machine_cases.MACHINE_CASES`` (JWT-form M2M and OAuth tokens, session
tokens, opaque-looking prefixes and token-less requests, under every ``acceptsToken``
shape) runs once through ``@clerk/backend`` (one node process for the module,
``clerk_machine_oracle.mjs``) and through ``clerk_middleware.core``, synchronously and
asynchronously. Status, reason, message, token, token type, ``isAuthenticated``, the
debug headers, ``toAuth()`` and ``getAuthObjectForAcceptedToken`` for every accepted
shape must be identical.

Needs node >= 20 and ``npm ci`` in ``tests/conformance``; without them every test
fails and says so.
"""

from __future__ import annotations

from typing import Any

import pytest

from clerk_middleware.core import AuthRequest

from ._machine_compare import Result, differences, normalise_clerk, our_options, run_ours
from ._machine_compare import run_async as _run_async
from ._machine_compare import run_sync as _run_sync
from ._oracle import OracleError, run_oracle
from .machine_cases import (
    ACCEPTS,
    MACHINE_CASES,
    MACHINE_DIFFERENCES,
    MachineCase,
    MachineDifference,
)

pytestmark = pytest.mark.conformance

_RUNNERS = {"sync": _run_sync, "async": _run_async}


@pytest.fixture(scope="module")
def clerk_results() -> dict[str, Result] | str:
    """Clerk's answers by case name, or why the oracle could not run."""
    try:
        results = run_oracle(
            [case.to_json() for case in MACHINE_CASES], script="clerk_machine_oracle.mjs"
        )
    except OracleError as exc:
        return str(exc)
    return {result["name"]: result for result in results}


def _clerk(clerk_results: dict[str, Result] | str, case: MachineCase) -> Result:
    if isinstance(clerk_results, str):
        pytest.fail(
            f"Clerk's SDK could not be run, so nothing was compared:\n{clerk_results}",
            pytrace=False,
        )
    raw = clerk_results[case.name]
    if "oracle_error" in raw:
        pytest.fail(f"the oracle failed on this case: {raw['oracle_error']}", pytrace=False)
    if raw["network_attempted"]:
        paths = [fetch["path"] for fetch in raw["fetches"]]
        pytest.fail(
            f"Clerk's SDK tried the network ({paths}): not a networkless case", pytrace=False
        )
    return normalise_clerk(raw)


def _ours(case: MachineCase, runner: str) -> Result:
    request = AuthRequest(method=case.method, url=case.url, headers=list(case.headers))
    return run_ours(
        lambda: our_options(case.options, case.now_ms), request, ACCEPTS, _RUNNERS[runner]
    )


def _field(result: Result, name: str) -> Any:
    if name.startswith("auth."):
        auth = result["auth"]
        return None if auth is None else auth.get(name.removeprefix("auth."))
    return result[name]


def _check_difference(difference: MachineDifference, clerk: Result, ours: Result) -> list[str]:
    problems: list[str] = []
    for name, expected in difference.clerk.items():
        actual = _field(clerk, name)
        matches = (
            isinstance(actual, str) and expected in actual
            if name == "error"
            else actual == expected
        )
        if not matches:
            problems.append(f"Clerk no longer answers {name}={expected!r} (got {actual!r})")
    for name, expected in difference.ours.items():
        actual = _field(ours, name)
        matches = (
            isinstance(actual, str) and expected in actual
            if name == "error"
            else actual == expected
        )
        if not matches:
            problems.append(f"we answer {name}={actual!r}, documented: {expected!r}")
    return problems


@pytest.mark.parametrize("runner", sorted(_RUNNERS))
@pytest.mark.parametrize("case", MACHINE_CASES, ids=[case.name for case in MACHINE_CASES])
def test_same_answer_as_clerk(
    case: MachineCase, runner: str, clerk_results: dict[str, Result] | str
) -> None:
    clerk = _clerk(clerk_results, case)
    ours = _ours(case, runner)
    difference = MACHINE_DIFFERENCES.get(case.name)
    if difference is not None:
        problems = _check_difference(difference, clerk, ours)
        header = f"deliberate difference ({difference.why})"
    else:
        problems = differences(clerk, ours, ACCEPTS)
        header = "our answer differs from Clerk's"
    if problems:
        pytest.fail(f"{case.name} [{runner}]: {header}\n  " + "\n  ".join(problems), pytrace=False)


def test_the_cases_cover_every_accepts_shape_and_token_kind() -> None:
    names = {case.name for case in MACHINE_CASES}
    assert len(names) == len(MACHINE_CASES) >= 600
    for shape in ("default", "session_token", "api_key", "m2m_token", "oauth_token", "any"):
        for token in ("m2m", "oauth", "session", "prefix-ak-jwt"):
            assert f"header/{token}/{shape}" in names
    for shape in ("[session_token,api_key]", "[m2m_token,oauth_token]", "[api_key]"):
        assert f"no-header/nothing/{shape}" in names
        assert f"no-header/cookie-session/{shape}" in names
