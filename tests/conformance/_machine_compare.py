"""Shared by the machine-token conformance modules: our side of a case, and the comparison.

A result, Clerk's or ours, is a dict with ``error_stage``, ``error``, ``status``,
``reason``, ``message``, ``token``, ``token_type``, ``is_authenticated``,
``headers`` (sorted ``(name, value)`` pairs), ``auth`` (``toAuth()`` projected onto
``AUTH_FIELDS`` plus ``shape``, ``has`` and ``token``) and ``accepted`` (the same
projection of ``getAuthObjectForAcceptedToken`` for each accepted shape).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from clerk_middleware.core import (
    AuthRequest,
    ClerkOptions,
    ConfigurationError,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.core._auth import Auth
from clerk_middleware.core._machine import AcceptsToken, InvalidTokenAuth, MachineAuth

__all__ = [
    "AUTH_FIELDS",
    "Result",
    "describe_state",
    "differences",
    "normalise_clerk",
    "our_options",
    "run_async",
    "run_ours",
    "run_sync",
]

Result = dict[str, Any]

# Clerk's option names -> ClerkOptions fields.
_OPTION_NAMES: dict[str, str] = {
    "publishableKey": "publishable_key",
    "secretKey": "secret_key",
    "jwtKey": "jwt_key",
    "audience": "audience",
    "clockSkewInMs": "clock_skew_in_ms",
    "acceptsToken": "accepts_token",
    "machineSecretKey": "machine_secret_key",
    "apiUrl": "api_url",
}

#: Clerk's auth object fields -> ours (absent on an object: None, as Clerk's undefined).
AUTH_FIELDS: dict[str, str] = {
    "tokenType": "token_type",
    "isAuthenticated": "is_authenticated",
    "id": "id",
    "subject": "subject",
    "scopes": "scopes",
    "name": "name",
    "claims": "claims",
    "userId": "user_id",
    "orgId": "org_id",
    "machineId": "machine_id",
    "clientId": "client_id",
    "sessionId": "session_id",
}

_COMPARED = (
    "status",
    "reason",
    "message",
    "token",
    "token_type",
    "is_authenticated",
    "headers",
)


def normalise_clerk(raw: Mapping[str, Any]) -> Result:
    """Clerk's raw oracle result in the shape ``describe_state`` gives ours."""
    return {
        "error_stage": raw["error_stage"],
        "error": raw["error"],
        "status": raw["status"],
        "reason": raw["reason"],
        "message": raw["message"],
        "token": raw["token"],
        "token_type": raw["token_type"],
        "is_authenticated": raw["is_authenticated"],
        "headers": None if raw["headers"] is None else sorted(map(tuple, raw["headers"])),
        "auth": raw["auth"],
        "accepted": raw["accepted"],
    }


def our_options(options: Mapping[str, Any], now_ms: int) -> ClerkOptions:
    """``ClerkOptions`` for a case's camelCase options, on the case's clock."""
    values: dict[str, Any] = {}
    for name, value in options.items():
        as_list = name in ("acceptsToken", "audience") and isinstance(value, list)
        values[_OPTION_NAMES[name]] = tuple(value) if as_list else value
    now = now_ms / 1000
    return ClerkOptions(**values, clock=lambda: now)


def _plain(value: Any) -> Any:
    # Our objects hold tuples and read-only mappings where Clerk's JSON has lists and objects.
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def project_auth(auth: Any) -> Result | None:
    """Our auth object projected as the oracle projects Clerk's."""
    if auth is None:
        return None
    out: Result = {
        clerk_name: _plain(getattr(auth, our_name, None))
        for clerk_name, our_name in AUTH_FIELDS.items()
    }
    if isinstance(auth, Auth):
        out["shape"] = "session"
    elif isinstance(auth, MachineAuth):
        out["shape"] = "machine"
    elif isinstance(auth, InvalidTokenAuth):
        out["shape"] = "invalid"
    else:
        out["shape"] = f"unknown {type(auth).__name__}"
    try:
        out["has"] = auth.has(role="org:admin")
    except Exception as exc:
        out["has"] = f"raised {type(exc).__name__}"
    out["token"] = auth.get_token()
    return out


def describe_state(state: RequestState, accepts: Sequence[AcceptsToken]) -> Result:
    """Our ``RequestState`` as a result."""
    result: Result = {
        "error_stage": None,
        "error": None,
        "status": state.status.value,
        "reason": state.reason,
        "message": state.message,
        "token": state.token,
        "token_type": state.token_type,
        "is_authenticated": state.is_signed_in,
        "headers": sorted((name.lower(), value) for name, value in state.headers),
        "auth": None,
        "accepted": None,
    }
    try:
        auth = state.to_auth(accepts_token="any")
    except Exception as exc:
        result["error_stage"] = "to_auth"
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    result["auth"] = project_auth(auth)
    if auth is not None:
        accepted: list[Result | None] = []
        for shape in accepts:
            try:
                accepted.append(project_auth(state.to_auth(accepts_token=shape)))
            except Exception as exc:
                accepted.append({"error": f"{type(exc).__name__}: {exc}"})
        result["accepted"] = accepted
    return result


Runner = Callable[[AuthRequest, ClerkOptions], RequestState]


def run_sync(request: AuthRequest, options: ClerkOptions) -> RequestState:
    """``authenticate_request``."""
    return authenticate_request(request, options)


def run_async(request: AuthRequest, options: ClerkOptions) -> RequestState:
    """``authenticate_request_async`` on a fresh event loop."""
    return asyncio.run(authenticate_request_async(request, options))


def run_ours(
    make_options: Callable[[], ClerkOptions],
    request: AuthRequest,
    accepts: Sequence[AcceptsToken],
    run: Runner,
) -> Result:
    """Our answer to a case (an exception while building options or authenticating included)."""
    try:
        state = run(request, make_options())
    except Exception as exc:
        return {
            "error_stage": "authenticate",
            "error": f"{type(exc).__name__}: {exc}",
            "configuration_error": isinstance(exc, ConfigurationError),
            "status": None,
            "reason": None,
            "message": None,
            "token": None,
            "token_type": None,
            "is_authenticated": None,
            "headers": None,
            "auth": None,
            "accepted": None,
        }
    return describe_state(state, accepts)


def differences(clerk: Result, ours: Result, accepts: Sequence[AcceptsToken]) -> list[str]:
    """Every way our result differs from Clerk's (empty: the same answer)."""
    problems: list[str] = []
    if clerk["error_stage"] == "authenticate":
        # Clerk throws configuration errors per request; we raise ConfigurationError when
        # the options are built. Either way no state at all.
        if ours["error_stage"] != "authenticate":
            problems.append(
                f"Clerk threw {clerk['error']!r}; we answered {ours['status']} "
                f"reason={ours['reason']!r} message={ours['message']!r}"
            )
        elif not ours.get("configuration_error"):
            problems.append(f"Clerk threw {clerk['error']!r}; we raised {ours['error']}")
        return problems
    if ours["error_stage"] == "authenticate":
        return [
            f"we raised {ours['error']}; Clerk answered {clerk['status']} "
            f"reason={clerk['reason']!r} message={clerk['message']!r}"
        ]
    for key in _COMPARED:
        if clerk[key] == ours[key]:
            continue
        if key == "headers" and clerk[key] is not None and ours[key] is not None:
            only_clerk = [pair for pair in clerk[key] if pair not in ours[key]]
            only_ours = [pair for pair in ours[key] if pair not in clerk[key]]
            problems.append(
                f"headers:\n    only clerk: {only_clerk!r}\n    only ours:  {only_ours!r}"
            )
        else:
            problems.append(f"{key}:\n    clerk: {clerk[key]!r}\n    ours:  {ours[key]!r}")
    if clerk["error_stage"] != ours["error_stage"]:
        problems.append(f"to_auth: clerk {clerk['error']!r}, ours {ours['error']!r}")
        return problems
    problems.extend(_auth_differences("toAuth()", clerk["auth"], ours["auth"]))
    clerk_accepted = clerk["accepted"] or [None] * len(accepts)
    our_accepted = ours["accepted"] or [None] * len(accepts)
    for shape, c, o in zip(accepts, clerk_accepted, our_accepted, strict=True):
        problems.extend(_auth_differences(f"accepts_token={shape!r}", c, o))
    return problems


def _auth_differences(which: str, clerk: Result | None, ours: Result | None) -> list[str]:
    if clerk is None or ours is None:
        return [] if clerk is ours else [f"{which}:\n    clerk: {clerk!r}\n    ours:  {ours!r}"]
    return [
        f"{which}.{name}:\n    clerk: {clerk.get(name)!r}\n    ours:  {ours.get(name)!r}"
        for name in sorted(set(clerk) | set(ours))
        if clerk.get(name) != ours.get(name)
    ]
