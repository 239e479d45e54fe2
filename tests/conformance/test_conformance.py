"""Same request, same answer: our core against Clerk's own ``authenticateRequest``.

Every case of ``cases.CASES`` is run once through ``@clerk/backend`` (one node
process for the whole module, see ``_oracle.py``) and through
``clerk_middleware.core``; status, reason, message, token, response headers,
both auth objects (pending treated as signed out, and not) and every ``has()``
answer must be identical. Cases listed in ``cases.DIFFERENCES`` assert our
documented answer instead, and check that Clerk still answers as recorded.

Needs node >= 20 and ``npm ci`` in ``tests/conformance``; without them every
test fails and says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from clerk_middleware.core import (
    AuthRequest,
    ClerkOptions,
    ConfigurationError,
    OrganizationSyncOptions,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)

from ._oracle import OracleError, run_oracle
from .cases import CASES, DIFFERENCES, Case, Difference

pytestmark = pytest.mark.conformance

Result = dict[str, Any]

# Clerk's option names -> ClerkOptions fields.
_OPTION_NAMES: dict[str, str] = {
    "publishableKey": "publishable_key",
    "secretKey": "secret_key",
    "jwtKey": "jwt_key",
    "authorizedParties": "authorized_parties",
    "audience": "audience",
    "issuer": "issuer",
    "clockSkewInMs": "clock_skew_in_ms",
    "signInUrl": "sign_in_url",
    "signUpUrl": "sign_up_url",
    "domain": "domain",
    "isSatellite": "is_satellite",
    "proxyUrl": "proxy_url",
    "satelliteAutoSync": "satellite_auto_sync",
}

# Clerk's auth object fields -> ours.
_AUTH_FIELDS: dict[str, str] = {
    "userId": "user_id",
    "sessionId": "session_id",
    "sessionStatus": "session_status",
    "sessionClaims": "session_claims",
    "orgId": "org_id",
    "orgRole": "org_role",
    "orgSlug": "org_slug",
    "orgPermissions": "org_permissions",
    "actor": "actor",
    "factorVerificationAge": "factor_verification_age",
    "isAuthenticated": "is_signed_in",
}

_COMPARED = ("error_stage", "status", "reason", "message", "token", "headers")


# --------------------------------------------------------------------------- Clerk's side


@pytest.fixture(scope="module")
def clerk_results() -> dict[str, Result] | str:
    """Clerk's answers by case name, or why the oracle could not run."""
    try:
        results = run_oracle([case.to_json() for case in CASES])
    except OracleError as exc:
        return str(exc)
    return {result["name"]: result for result in results}


def _clerk(clerk_results: dict[str, Result] | str, case: Case) -> Result:
    if isinstance(clerk_results, str):
        pytest.fail(
            f"Clerk's SDK could not be run, so nothing was compared:\n{clerk_results}",
            pytrace=False,
        )
    raw = clerk_results[case.name]
    if "oracle_error" in raw:
        pytest.fail(f"the oracle failed on this case: {raw['oracle_error']}", pytrace=False)
    if raw["network_attempted"]:
        pytest.fail(
            "Clerk's SDK tried the network on this case: it is not a networkless case",
            pytrace=False,
        )
    return _normalise_clerk(raw)


def _normalise_clerk(raw: Mapping[str, Any]) -> Result:
    has = raw["has"]
    return {
        "error_stage": raw["error_stage"],
        "error": raw["error"],
        "status": raw["status"],
        "reason": raw["reason"],
        "message": raw["message"],
        "token": raw["token"],
        "headers": None if raw["headers"] is None else sorted(map(tuple, raw["headers"])),
        "auth": raw["auth"],
        "auth_pending": raw["auth_pending"],
        "has": None
        if has is None
        else {
            key: [answer if isinstance(answer, bool) else "error" for answer in has[key]]
            for key in ("default", "pending")
        },
    }


# --------------------------------------------------------------------------- our side


def _our_options(case: Case) -> ClerkOptions:
    values: dict[str, Any] = {}
    for name, value in case.options.items():
        if name == "organizationSyncOptions":
            values["organization_sync_options"] = OrganizationSyncOptions(
                organization_patterns=tuple(value.get("organizationPatterns", ())),
                personal_account_patterns=tuple(value.get("personalAccountPatterns", ())),
            )
        else:
            values[_OPTION_NAMES[name]] = value
    now = case.now_ms / 1000
    return ClerkOptions(**values, clock=lambda: now)


def _request(case: Case) -> AuthRequest:
    return AuthRequest(method=case.method, url=case.url, headers=list(case.headers))


def _has_kwargs(query: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = dict(query)
    reverification = kwargs.get("reverification")
    if isinstance(reverification, Mapping):
        kwargs["reverification"] = {
            ("after_minutes" if key == "afterMinutes" else key): value
            for key, value in reverification.items()
        }
    return kwargs


def _serialise_auth(auth: Any) -> Result | None:
    if auth is None:
        return None
    out: Result = {}
    for clerk_name, our_name in _AUTH_FIELDS.items():
        value = getattr(auth, our_name)
        if clerk_name == "sessionClaims" and value is not None:
            value = dict(value)
        if clerk_name == "orgPermissions" and value is not None:
            value = list(value)
        out[clerk_name] = value
    return out


def _ask(auth: Any, query: Mapping[str, Any]) -> bool | str:
    try:
        answer = auth.has(**_has_kwargs(query))
    except Exception:
        return "error"
    return bool(answer) if isinstance(answer, bool) else f"non-bool {answer!r}"


def _describe_state(case: Case, state: RequestState) -> Result:
    result: Result = {
        "error_stage": None,
        "error": None,
        "status": state.status.value,
        "reason": state.reason,
        "message": state.message,
        "token": state.token,
        "headers": sorted((name.lower(), value) for name, value in state.headers),
        "auth": None,
        "auth_pending": None,
        "has": None,
    }
    try:
        auth = state.to_auth()
        auth_pending = state.to_auth(treat_pending_as_signed_out=False)
    except Exception as exc:
        result["error_stage"] = "to_auth"
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    result["auth"] = _serialise_auth(auth)
    result["auth_pending"] = _serialise_auth(auth_pending)
    if auth is not None:
        result["has"] = {
            "default": [_ask(auth, query) for query in case.has_queries],
            "pending": [_ask(auth_pending, query) for query in case.has_queries],
        }
    return result


def _ours(case: Case, run: Callable[[AuthRequest, ClerkOptions], RequestState]) -> Result:
    try:
        options = _our_options(case)
        state = run(_request(case), options)
    except Exception as exc:
        return {
            "error_stage": "authenticate",
            "error": f"{type(exc).__name__}: {exc}",
            "exception": exc,
            "status": None,
            "reason": None,
            "message": None,
            "token": None,
            "headers": None,
            "auth": None,
            "auth_pending": None,
            "has": None,
        }
    return _describe_state(case, state)


def _run_sync(request: AuthRequest, options: ClerkOptions) -> RequestState:
    return authenticate_request(request, options)


def _run_async(request: AuthRequest, options: ClerkOptions) -> RequestState:
    return asyncio.run(authenticate_request_async(request, options))


# --------------------------------------------------------------------------- comparison


def _differences(case: Case, clerk: Result, ours: Result) -> list[str]:
    problems: list[str] = []
    if clerk["error_stage"] == "authenticate":
        # Clerk throws configuration errors per request; we raise them when the
        # options are built (ConfigurationError). Either way: no state at all.
        if ours["error_stage"] != "authenticate":
            problems.append(
                f"Clerk threw {clerk['error']!r}; we answered {ours['status']} "
                f"reason={ours['reason']!r} message={ours['message']!r}"
            )
        elif not isinstance(ours.get("exception"), ConfigurationError):
            problems.append(f"Clerk threw {clerk['error']!r}; we raised {ours['error']}")
        return problems
    for key in _COMPARED:
        if clerk[key] == ours[key]:
            continue
        if key == "headers" and clerk[key] is not None and ours[key] is not None:
            only_clerk = [pair for pair in clerk[key] if pair not in ours[key]]
            only_ours = [pair for pair in ours[key] if pair not in clerk[key]]
            problems.append(
                "headers (pairs both have omitted):"
                f"\n    clerk: {only_clerk!r}\n    ours:  {only_ours!r}"
            )
        else:
            problems.append(f"{key}:\n    clerk: {clerk[key]!r}\n    ours:  {ours[key]!r}")
    if clerk["error_stage"] is None and ours["error_stage"] is None:
        for which in ("auth", "auth_pending"):
            problems.extend(_auth_differences(which, clerk[which], ours[which]))
        if clerk["has"] != ours["has"]:
            for key in ("default", "pending"):
                clerk_has = (clerk["has"] or {}).get(key)
                our_has = (ours["has"] or {}).get(key)
                if clerk_has is None or our_has is None:
                    problems.append(f"has[{key}]: clerk {clerk_has!r} ours {our_has!r}")
                    continue
                for query, c, o in zip(case.has_queries, clerk_has, our_has, strict=True):
                    if c != o:
                        problems.append(f"has[{key}]({dict(query)}): clerk {c!r} ours {o!r}")
    elif clerk["error_stage"] != ours["error_stage"]:
        problems.append(f"to_auth errors: clerk {clerk['error']!r}, ours {ours['error']!r}")
    return problems


def _auth_differences(which: str, clerk: Result | None, ours: Result | None) -> list[str]:
    if clerk is None or ours is None:
        return [] if clerk is ours else [f"{which}: clerk {clerk!r}\n    ours: {ours!r}"]
    return [
        f"{which}.{name}:\n    clerk: {clerk[name]!r}\n    ours:  {ours[name]!r}"
        for name in _AUTH_FIELDS
        if clerk[name] != ours[name]
    ]


def _field(result: Result, name: str) -> Any:
    if name.startswith("auth."):
        auth = result["auth"]
        return None if auth is None else auth[name.removeprefix("auth.")]
    return result[name]


def _check_difference(difference: Difference, clerk: Result, ours: Result) -> list[str]:
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
        if name == "error":
            matches = ours["error_stage"] is not None and expected in (ours["error"] or "")
        else:
            matches = actual == expected
        if not matches:
            problems.append(f"we answer {name}={actual!r}, documented: {expected!r}")
    return problems


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_same_answer_as_clerk(case: Case, clerk_results: dict[str, Result] | str) -> None:
    clerk = _clerk(clerk_results, case)
    ours = _ours(case, _run_sync)
    difference = DIFFERENCES.get(case.name)
    if difference is not None:
        problems = _check_difference(difference, clerk, ours)
        header = (
            f"deliberate difference ({difference.why}); ours: status={ours['status']!r} "
            f"reason={ours['reason']!r} error={ours['error']!r}"
        )
    else:
        problems = _differences(case, clerk, ours)
        header = "our answer differs from Clerk's"
    if problems:
        pytest.fail(f"{case.name}: {header}\n  " + "\n  ".join(problems), pytrace=False)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_async_same_answer_as_sync(case: Case) -> None:
    sync = _ours(case, _run_sync)
    async_ = _ours(case, _run_async)
    for result in (sync, async_):
        result.pop("exception", None)
    assert async_ == sync


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_repeated_request_gets_the_first_answer(case: Case) -> None:
    # The same request again under the same options: answered by the anonymous
    # shortcut or the decision memo where they apply, by the caches otherwise.
    # It must equal the first answer, which test_same_answer_as_clerk checks.
    try:
        options = _our_options(case)
    except ConfigurationError:
        return  # Clerk throws for these options; no request is answered at all
    answers = [
        _describe_state(case, authenticate_request(_request(case), options)),
        _describe_state(case, authenticate_request(_request(case), options)),
        _describe_state(case, _run_async(_request(case), options)),
    ]
    assert answers[1] == answers[0]
    assert answers[2] == answers[0]


def test_every_difference_is_a_case() -> None:
    names = {case.name for case in CASES}
    assert set(DIFFERENCES) <= names
    assert len(CASES) >= 150
