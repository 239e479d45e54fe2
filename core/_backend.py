"""Clerk's Backend API: JWKS, handshake payloads, session refresh and machine tokens, over httpx.

The only I/O of the core, in three layers:

1. **Policy** (``JwksPolicy``, pure). Given the cached key set (``KeySet``, an
   immutable value), a ``kid`` and the time, it decides whether to fetch, what
   to answer, and what the cache becomes after a fetch. Written once. Beside
   it, ``BackendBudget`` (a token bucket, ``TokenBucket``) caps the
   handshake-payload and refresh calls that requests can cause.
2. **Interpretation** (pure functions). What one Backend API reply means: keys
   or Clerk's ``TokenVerificationError`` for the JWKS, Set-Cookie strings or
   Clerk's refresh reason for a refresh, cookie directives for a handshake nonce,
   the verified resource or Clerk's machine error for an opaque machine token.
3. **I/O twins** (``BackendApi``). ``get_key``/``get_key_async``,
   ``handshake_payload``/``..._async``, ``refresh_session``/``..._async`` and
   ``verify_machine_token``/``..._async`` send one request each, with a total
   deadline and a bound on the response size.
   Each sync method and its async twin differ only by ``await``.

One ``BackendApi`` (so one key cache, one policy) exists per
``(api_url, secret_key)``, shared by the sync and async paths (``backend_for``;
``configure_backend`` injects clients, a timeout, a policy, a budget or a clock).
Concurrent callers that need a fetch share one: the first becomes the leader
of a *flight*; the others wait for it (threads on a ``threading.Event``, asyncio
tasks on a future of their own event loop, other async libraries by polling)
for no longer than their own timeout, or answer at once from a stale key set
that still holds their ``kid``. A cancelled leader records nothing and the
next waiter takes over. Handshake-payload and refresh calls fly the same way,
keyed by what they ask (the nonce; the session, its tokens, origin and cookie
set): equal concurrent requests make one call and each gets a copy of its
answer. Only a call that is actually made spends the budget; beyond it, the
caller gets the failure the flow already handles (``BackendBudgetExceeded``,
or the refresh error ``backend-api-budget-exceeded``).

Timeouts: ``timeout`` (default 3 s) bounds each call in total. The async path
enforces it exactly (a cancel scope); the sync path gives each network step
the time left and stops reading between chunks once it has passed, so a
server that trickles its body in can hold a blocking call up to about twice
``timeout``.

Nothing here raises into the app: ``get_key`` raises only
``TokenVerificationError`` (which the flow turns into a signed-out state),
``refresh_session`` only ``RefreshError``, ``handshake_payload`` only
``BackendApiError`` (which the flow treats as "no directives"),
``verify_machine_token`` only ``MachineVerifyError``.

Machine tokens (``verify_machine_token``): ``POST <api_url>/api_keys/verify``,
``/m2m_tokens/verify`` and ``/oauth_applications/access_tokens/verify``, without
the ``/v1`` segment (Clerk's ``skipApiVersionInUrl``). M2M tokens are verified
with the machine secret key when one is set, else the secret key (Clerk's
``useMachineSecretKey``); API keys and OAuth tokens need the secret key. Errors
follow Clerk's ``handleClerkAPIError``: 401 ``secret-key-invalid`` (the API's
first error message, else "Invalid secret key"), 404 ``token-invalid`` ("API
key not found", "Machine token not found", "OAuth token not found"), any other
status ``unexpected-error`` with it, and no usable response (unreachable,
timed out, too large, a success that is not a JSON object) ``unexpected-error``
without a status. Equal concurrent verifications (same type and token) share
one call; answers are never cached, so a revoked token is refused by the next
request. Their calls have a budget of their own (``DEFAULT_MACHINE_BUDGET``),
since every request with an opaque machine token needs one; beyond it the
answer is ``unexpected-error`` and a warning is logged (never the token). The
OAuth audience is checked by the flow, not here. Nothing secret
is logged: messages name the URL, never the key, and a filter on httpx's
request log redacts the handshake nonce.

Deliberate differences from ``@clerk/backend`` 3.25.0 (``loadClerkJWKFromRemote``,
``fetchJWKSFromBAPI``, ``buildRequest``), all in favour of availability with a
bounded cost:

- A network failure or timeout while loading the JWKS is
  ``jwk-remote-failed-to-load`` ("Error loading Clerk JWKS from <url>: <what
  happened>"); Clerk's fetch throws a non-verification error, which surfaces as
  ``unexpected-error``. So are an error status whose body is not JSON and a
  success whose body is not JSON (Clerk: ``unexpected-error`` from
  ``response.json()``).
- Stale-while-error: when a refetch fails, the last good key set keeps serving
  for ``max_stale`` seconds past its TTL (Clerk drops its keys when the TTL
  ends). ``secret-key-invalid`` is a definitive answer, not an outage: it stops
  stale serving at once, as in Clerk.
- An unknown ``kid`` refetches at most once per ``kid_miss_cooldown`` (Clerk:
  on every miss); the first fetch and TTL refreshes do not start the cooldown
  unless they leave their own ``kid`` unknown. A failed fetch is not retried for
  ``retry_after_failure`` seconds (Clerk: every request retries); meanwhile
  the last failure is the answer. No retries inside one request (Clerk: up to
  five attempts with back-off, 2.5-3 s against a failing API), so no request
  waits longer than ``timeout``.
- A key that disappears from the JWKS stays trusted until ``ttl`` after it was
  last listed (Clerk: until its whole cache expires, which a steady stream of
  kid misses can postpone forever). JWKs without a string ``kid`` are ignored.
- Responses are read up to ``max_response_bytes`` (64 KiB); JSON is recognised
  by media type (Clerk: only the exact string ``application/json``).
- Handshake-payload and refresh calls are shared by equal concurrent requests
  and capped by ``BackendBudget`` (Clerk: one call per request, unbounded).
  A refresh beyond the budget fails with ``backend-api-budget-exceeded``; a
  nonce beyond it gets no directives, as a failed call would.
- The session id is percent-encoded into the refresh path, and a refresh error
  code that is not a plain identifier (``[A-Za-z0-9_.-]``, at most 100
  characters) is reported as ``unexpected-bapi-error`` rather than copied
  into the reason header.

Refresh failures otherwise use Clerk's reasons exactly, including its less
obvious ones: a network failure, a timeout, or a JSON body that does not parse
(or is ``null`` or a number) is ``fetch-error`` (Clerk's client reports a
thrown fetch as the error code ``unexpected_error``); an error status without
a Clerk error list is ``unexpected-bapi-error``, and so is a 204; an error
whose first entry has no code, and a success without cookies, are
``unexpected-sdk-error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import math
import re
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final, Generic, Literal, TypeVar, assert_never, cast
from urllib.parse import quote, urlsplit

import anyio
import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import PyJWTError

from ._effects import (
    Effect,
    HandshakePayloadRequest,
    KeyRequest,
    MachineVerifyError,
    MachineVerifyRequest,
    RefreshError,
    RefreshRequest,
)
from ._errors import ClerkError, ConfigurationError, TokenVerificationError
from ._options import ClerkOptions

__all__ = [
    "BUDGET_EXCEEDED",
    "DEFAULT_MACHINE_BUDGET",
    "DEFAULT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "BackendApi",
    "BackendApiError",
    "BackendBudget",
    "BackendBudgetExceeded",
    "FetchCause",
    "JwksFailure",
    "JwksPolicy",
    "KeySet",
    "TokenBucket",
    "backend_for",
    "configure_backend",
    "reset_backends",
]

logger = logging.getLogger("clerk_middleware")

API_VERSION: Final = "v1"
API_VERSION_HEADER: Final = "2026-05-12"
USER_AGENT: Final = "clerk-middleware-python/0.1"
CONTACT_SUPPORT: Final = "Contact support@clerk.com"
#: Seconds one Backend API call may take in total (connect, send, wait, read).
#: Clerk's API answers in well under a second; three seconds absorb a slow
#: TLS handshake across regions without letting an outage hang requests.
DEFAULT_TIMEOUT: Final = 3.0
#: A JWKS lists a handful of ~500-byte keys; a refresh or handshake payload a
#: few cookies of at most 4 KiB each. Anything larger is not Clerk's answer.
MAX_RESPONSE_BYTES: Final = 64 * 1024
#: Keys kept per instance (Clerk keeps one or two at a time).
MAX_KEYS: Final = 32
# Refresh reason codes come from the API and end up in a response header.
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


class _RedactHandshakeNonce(logging.Filter):
    """Keep handshake nonces out of httpx's request log.

    httpx logs every request URL at INFO ("HTTP Request: GET <url> ..."), and
    the handshake payload URL carries the nonce that unlocks a browser's new
    session cookies, so the nonce must not reach log files.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(_is_nonce_url(arg) for arg in args):
            record.args = tuple(_redacted(arg) for arg in args)
        return True


def _is_nonce_url(value: object) -> bool:
    return (
        isinstance(value, httpx.URL)
        and value.path.endswith("/clients/handshake_payload")
        and "nonce" in value.params
    )


def _redacted(value: object) -> object:
    if isinstance(value, httpx.URL) and _is_nonce_url(value):
        return value.copy_set_param("nonce", "[redacted]")
    return value


def _install_log_redaction() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactHandshakeNonce) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactHandshakeNonce())


_install_log_redaction()


# --- the policy (pure) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JwksFailure:
    """Why the last JWKS load failed, kept as a value in ``KeySet``.

    Each answer raises a fresh ``TokenVerificationError`` built from it, so no
    exception object is shared between threads.

    Attributes:
        reason: Clerk's reason, e.g. ``jwk-remote-failed-to-load``.
        message: The message (never contains the secret key).
        action: Clerk's suggested action, appended to the full message.
    """

    reason: str
    message: str
    action: str | None = CONTACT_SUPPORT

    def error(self) -> TokenVerificationError:
        """A new exception carrying this failure.

        Returns:
            The ``TokenVerificationError`` to raise.
        """
        return TokenVerificationError(self.reason, self.message, self.action)


@dataclass(frozen=True, slots=True)
class KeySet:
    """The cached JWKS of one instance and the bookkeeping the policy reads.

    An immutable value: ``JwksPolicy.after_fetch`` returns a new one.
    Times are from the ``BackendApi``'s monotonic clock.

    Attributes:
        keys: Public keys by ``kid``.
        seen: When each ``kid`` was last listed by a successful fetch.
        fetched_at: Time of the last successful fetch (``-inf``: never).
        attempted_at: Time of the last fetch attempt, successful or not.
        kid_miss_at: Time of the last *kid-miss* attempt (``-inf``: never), which
            starts ``JwksPolicy.kid_miss_cooldown``; see ``JwksPolicy.after_fetch``.
        failure: Why the last attempt failed, or None if it succeeded.
        fetches: Attempts so far (successful or not).
    """

    keys: Mapping[str, RSAPublicKey] = field(default_factory=dict)
    seen: Mapping[str, float] = field(default_factory=dict)
    fetched_at: float = -math.inf
    attempted_at: float = -math.inf
    kid_miss_at: float = -math.inf
    failure: JwksFailure | None = None
    fetches: int = 0


#: Why a JWKS fetch is due: nothing cached yet (``"cold"``), the key set is
#: older than its TTL (``"expired"``), or the token's ``kid`` is not in a fresh
#: key set (``"kid-miss"``).
FetchCause = Literal["cold", "expired", "kid-miss"]


_NO_KEYS = JwksFailure(
    "jwk-remote-failed-to-load", "Failed to load JWKS from Clerk Backend or Frontend API."
)


def _kid_mismatch(kid: str | None) -> TokenVerificationError:
    shown = "undefined" if kid is None else kid
    return TokenVerificationError(
        "jwk-kid-mismatch",
        f"Unable to find a signing key in JWKS that matches the kid='{shown}' of the provided "
        "session token. Please make sure that the __session cookie or the HTTP authorization "
        "header contain a Clerk-generated session JWT.",
        "Go to your Dashboard and validate your secret and public keys are correct. "
        f"{CONTACT_SUPPORT} if the issue persists.",
    )


@dataclass(frozen=True, slots=True)
class JwksPolicy:
    """When to use cached keys and when to fetch; pure, so every driver shares it.

    Attributes:
        ttl: Seconds a fetched key set is fresh (Clerk: 5 minutes).
        kid_miss_cooldown: Minimum seconds between two kid-miss fetches, so a
            flood of forged ``kid``s costs at most one fetch per window. Only
            kid-miss fetches start it (see ``after_fetch``): right after the first
            fetch or a TTL refresh, a token signed with a freshly rotated key
            still causes a fetch at once.
        retry_after_failure: Seconds after a failed fetch before the next
            attempt; meanwhile the failure (or a stale key set) is the answer.
        max_stale: Seconds past ``ttl`` that a key set keeps serving while the
            API fails (not after ``secret-key-invalid``).

    Raises:
        ConfigurationError: A value is negative, or ``ttl`` is not positive.
    """

    ttl: float = 300.0
    kid_miss_cooldown: float = 10.0
    retry_after_failure: float = 5.0
    max_stale: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("ttl", "kid_miss_cooldown", "retry_after_failure", "max_stale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ConfigurationError(f"JwksPolicy.{name} must be a number >= 0, got {value!r}.")
        if self.ttl <= 0:
            raise ConfigurationError(f"JwksPolicy.ttl must be positive, got {self.ttl!r}.")

    def _stale_allowed(self, cache: KeySet) -> bool:
        # A definitive "your secret key is invalid" ends stale serving.
        failure = cache.failure
        return failure is None or failure.reason != "secret-key-invalid"

    def usable(self, cache: KeySet, now: float) -> bool:
        """True while the cached keys may answer (fresh, or stale within ``max_stale``).

        Args:
            cache: The cached key set.
            now: The current monotonic time.

        Returns:
            Whether ``cache.keys`` may be used at ``now``.
        """
        if not cache.keys or not self._stale_allowed(cache):
            return False
        return now - cache.fetched_at < self.ttl + self.max_stale

    def can_answer(self, cache: KeySet, kid: str | None, now: float) -> bool:
        """True when ``kid`` can be answered from the cache without waiting for a fetch.

        Args:
            cache: The cached key set.
            kid: The token's key id.
            now: The current monotonic time.

        Returns:
            Whether the key for ``kid`` is cached and usable.
        """
        return kid is not None and kid in cache.keys and self.usable(cache, now)

    def fetch_cause(self, cache: KeySet, kid: str | None, now: float) -> FetchCause | None:
        """Why a fetch should be attempted for ``kid`` at ``now``, or None when not.

        Args:
            cache: The cached key set.
            kid: The token's key id (None when the token has none).
            now: The current monotonic time.

        Returns:
            The cause of the fetch to make before answering, or None (answer
            from the cache).
        """
        if cache.failure is not None and now - cache.attempted_at < self.retry_after_failure:
            return None
        if not cache.keys:
            return "cold"
        if now - cache.fetched_at >= self.ttl:
            return "expired"
        if (kid is None or kid not in cache.keys) and (
            now - cache.kid_miss_at >= self.kid_miss_cooldown
        ):
            return "kid-miss"
        return None

    def should_fetch(self, cache: KeySet, kid: str | None, now: float) -> bool:
        """True when a fetch should be attempted for ``kid`` at ``now``.

        Args:
            cache: The cached key set.
            kid: The token's key id (None when the token has none).
            now: The current monotonic time.

        Returns:
            Whether to fetch the JWKS before answering (``fetch_cause`` is not None).
        """
        return self.fetch_cause(cache, kid, now) is not None

    def answer(self, cache: KeySet, kid: str | None, now: float) -> RSAPublicKey:
        """The key for ``kid`` from the cache, or Clerk's error for why there is none.

        Args:
            cache: The cached key set.
            kid: The token's key id.
            now: The current monotonic time.

        Returns:
            The public key.

        Raises:
            TokenVerificationError: The last fetch's failure when it left no usable
                key for ``kid``; ``jwk-kid-mismatch`` when the keys are good but none
                has this ``kid``; ``jwk-remote-failed-to-load`` when nothing is known.
        """
        usable = self.usable(cache, now)
        if usable and kid is not None and kid in cache.keys:
            return cache.keys[kid]
        if cache.failure is not None:
            raise cache.failure.error()
        if usable:
            raise _kid_mismatch(kid)
        raise _NO_KEYS.error()

    def after_fetch(
        self,
        cache: KeySet,
        outcome: Mapping[str, RSAPublicKey] | JwksFailure,
        now: float,
        *,
        cause: FetchCause | None = None,
        kid: str | None = None,
    ) -> KeySet:
        """The cache after a fetch attempt that ended with ``outcome``.

        The attempt is a *kid-miss* one, and starts ``kid_miss_cooldown`` at
        ``now``, when it was made because ``kid`` was missing from a fresh key
        set (``cause == "kid-miss"``), or when a fetch that was due anyway
        (``"cold"``, ``"expired"``) leaves the ``kid`` it was made for unknown:
        either way a fetch has just said that this ``kid`` is not listed, and
        asking again at once could only find a key rotated in the meantime. A
        first fetch or TTL refresh that finds its ``kid`` does not start it.

        Args:
            cache: The cache before the attempt.
            outcome: The fetched keys, or why the fetch failed.
            now: The current monotonic time.
            cause: Why the fetch was made (``fetch_cause``); None for a fetch no
                token asked for, which never starts the cooldown.
            kid: The ``kid`` of the token the fetch was made for.

        Returns:
            The new cache. A failure keeps the last good keys; a success adds the
            fetched keys to those listed within the last ``ttl``.
        """
        if isinstance(outcome, JwksFailure):
            kid_miss_at = now if self._kid_missed(cause, kid, cache.keys) else cache.kid_miss_at
            return replace(
                cache,
                attempted_at=now,
                kid_miss_at=kid_miss_at,
                failure=outcome,
                fetches=cache.fetches + 1,
            )
        seen = {k: at for k, at in cache.seen.items() if now - at < self.ttl}
        seen.update(dict.fromkeys(outcome, now))
        # Newest first, so the bound drops the keys not listed for the longest.
        kept = sorted(seen, key=lambda k: (k not in outcome, -seen[k]))[:MAX_KEYS]
        keys = {k: outcome[k] if k in outcome else cache.keys[k] for k in kept}
        return KeySet(
            keys=MappingProxyType(keys),
            seen={k: seen[k] for k in kept},
            fetched_at=now,
            attempted_at=now,
            kid_miss_at=now if self._kid_missed(cause, kid, keys) else cache.kid_miss_at,
            failure=None,
            fetches=cache.fetches + 1,
        )

    @staticmethod
    def _kid_missed(
        cause: FetchCause | None, kid: str | None, keys: Mapping[str, RSAPublicKey]
    ) -> bool:
        if cause is None:
            return False
        return cause == "kid-miss" or kid is None or kid not in keys


# --- the budget of calls caused by requests -----------------------------------------------

#: The refresh error (so the reason ``session-token-expired-refresh-<this>``) and
#: the log wording of a call the budget did not allow.
BUDGET_EXCEEDED: Final = "backend-api-budget-exceeded"


@dataclass(frozen=True, slots=True)
class BackendBudget:
    """How many handshake-payload and refresh calls requests may cause: a token bucket.

    Any request can carry a ``__clerk_handshake_nonce`` or an expired session
    token with a ``__refresh_<suffix>`` cookie, and each would make this
    process call the Backend API. The budget caps those calls per
    ``BackendApi`` (one per instance and process): ``burst`` calls at once,
    then ``rate`` per second. A call beyond it is not made; the request goes
    on as if the call had failed. JWKS fetches are not counted (they have
    ``JwksPolicy``), and requests that share a call (same nonce, same refresh)
    spend one unit between them.

    The defaults: Clerk limits a production instance to 1000 Backend API calls
    per 10 s (100/s; development: 100 per 10 s) across all of the app's
    processes, and answers 429 to every call past it, the app's own ones
    included. 10/s keeps one flooded process at a tenth of that. Honest
    traffic needs far less: one call per handshake (a returning visitor whose
    token expired) or per server-side refresh, so even a busy process rarely
    needs more than a few per second; a burst of 20 absorbs a spike such as
    many tabs reloading after a deploy.

    Attributes:
        rate: Calls per second the budget refills by.
        burst: Calls that may be made at once (the bucket's size; it starts full).
        enabled: False: no limit at all (every call is made).

    Raises:
        ConfigurationError: ``rate`` is not a positive finite number, or
            ``burst`` is not an integer >= 1.
    """

    rate: float = 10.0
    burst: int = 20
    enabled: bool = True

    def __post_init__(self) -> None:
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < math.inf:
            raise ConfigurationError(
                f"BackendBudget.rate must be a positive number of calls per second, got {rate!r}."
            )
        burst = self.burst
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ConfigurationError(f"BackendBudget.burst must be an integer >= 1, got {burst!r}.")

    def describe(self) -> str:
        """The budget in words, for log lines.

        Returns:
            E.g. ``"10 calls per second, bursts of 20"``.
        """
        return f"{self.rate:g} calls per second, bursts of {self.burst}"


#: The budget of machine token verification calls (``verify_machine_token``).
#: Separate from the handshake and refresh budget because every request with
#: an opaque machine token makes one (results are never cached: a revoked key
#: must be refused at once), so honest API traffic needs far more of them. 100
#: per second with bursts of 200 matches Clerk's own limit for a production
#: instance, so a flood of made-up tokens is refused here before it spends the
#: instance's quota on Clerk's side for long.
DEFAULT_MACHINE_BUDGET: Final = BackendBudget(rate=100.0, burst=200)


class TokenBucket:
    """The state of a ``BackendBudget``: thread-safe, on an injectable monotonic clock.

    Sync and async callers share one (``take`` never blocks or awaits).

    Args:
        budget: Its rate and size.
        monotonic: Clock in seconds; tests inject a fake one.
    """

    def __init__(self, budget: BackendBudget, monotonic: Callable[[], float]) -> None:
        self.budget = budget
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._tokens = float(budget.burst)
        self._updated = monotonic()

    def take(self) -> bool:
        """Spend one call if the budget has one.

        Returns:
            True when the call may be made (always, for a disabled budget).
        """
        budget = self.budget
        if not budget.enabled:
            return True
        with self._lock:
            now = self._monotonic()
            # A clock that steps back adds nothing, and is not counted twice later.
            elapsed = max(now - self._updated, 0.0)
            self._updated = max(now, self._updated)
            self._tokens = min(float(budget.burst), self._tokens + elapsed * budget.rate)
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True


# --- interpretation of replies (pure) ------------------------------------------------------


class BackendApiError(ClerkError):
    """A Backend API call failed: unreachable, timed out, or answered with an error.

    Attributes:
        status: The HTTP status, or None when no response arrived.
        code: The first Clerk error code in the response, if any.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class BackendBudgetExceeded(BackendApiError):
    """The call was not made: the ``BackendBudget`` of calls caused by requests is spent."""


@dataclass(frozen=True, slots=True)
class _Call:
    """One Backend API request, before any I/O."""

    method: str
    url: str
    # Queries, bodies and credentials can hold nonces and tokens: never in reprs.
    params: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    body: Mapping[str, Any] | None = field(default=None, repr=False)
    #: The Authorization header, when not the instance's secret key (an M2M
    #: verification with the machine secret key); "" sends none.
    authorization: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class _Reply:
    """A complete (size-bounded) response."""

    status: int
    content_type: str
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def is_json(self) -> bool:
        media = self.content_type.split(";", 1)[0].strip().lower()
        return media == "application/json" or media.endswith("+json")

    def json(self) -> Any:
        """The body as JSON, as JavaScript's ``JSON.parse`` reads it.

        Raises:
            ValueError: The body is not JSON.
        """
        return json.loads(self.body, parse_constant=_reject_constant)


@dataclass(frozen=True, slots=True)
class _Unreachable:
    """No (complete, acceptable) response: why, in words safe to log."""

    description: str


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _first_error(data: Any) -> dict[str, Any] | None:
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return None


def _parse_key_set(document: Any) -> dict[str, RSAPublicKey]:
    entries = document.get("keys") if isinstance(document, dict) else None
    keys: dict[str, RSAPublicKey] = {}
    for entry in entries if isinstance(entries, list) else []:
        if len(keys) >= MAX_KEYS:
            break
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        try:
            key = RSAAlgorithm.from_jwk(entry)
        except (PyJWTError, ValueError, TypeError, KeyError):
            continue  # one bad entry must not hide the good ones
        if isinstance(key, RSAPublicKey):
            keys[entry["kid"]] = key
    return keys


def _interpret_jwks(
    outcome: _Reply | _Unreachable, url: str
) -> dict[str, RSAPublicKey] | JwksFailure:
    """What a JWKS response means: keys, or Clerk's reason and message.

    Args:
        outcome: The response, or why there is none.
        url: The JWKS URL (Clerk quotes it in messages).

    Returns:
        The keys by ``kid``, or the failure.
    """
    if isinstance(outcome, _Unreachable):
        return JwksFailure(
            "jwk-remote-failed-to-load",
            f"Error loading Clerk JWKS from {url}: {outcome.description}.",
        )
    if not outcome.ok:
        try:
            data = outcome.json()
        except ValueError:
            data = None
        errors = data.get("errors") if isinstance(data, dict) else None
        for error in errors if isinstance(errors, list) else []:
            if isinstance(error, dict) and error.get("code") == "clerk_key_invalid":
                message = error.get("message")
                text = message if isinstance(message, str) else ""
                return JwksFailure("secret-key-invalid", text)
        return JwksFailure(
            "jwk-remote-failed-to-load",
            f"Error loading Clerk JWKS from {url} with code={outcome.status}",
        )
    try:
        keys = _parse_key_set(outcome.json())
    except ValueError:
        return JwksFailure(
            "jwk-remote-failed-to-load",
            f"Error loading Clerk JWKS from {url}: the response is not JSON.",
        )
    if not keys:
        return JwksFailure(
            "jwk-remote-failed-to-load",
            "The JWKS endpoint did not contain any signing keys. Contact support@clerk.com.",
        )
    return keys


def _interpret_refresh(outcome: _Reply | _Unreachable) -> list[object]:
    """What a session refresh response means, with Clerk's ``RefreshTokenErrorReason``.

    Args:
        outcome: The response, or why there is none.

    Returns:
        The ``cookies`` of the response (the flow checks they are Set-Cookie strings;
        an empty list is Clerk's ``unexpected-sdk-error``).

    Raises:
        RefreshError: The refresh failed; ``reason`` is Clerk's.
    """
    if isinstance(outcome, _Unreachable):
        raise RefreshError("fetch-error")
    if outcome.status == 204:
        # Clerk's client answers a 204 with no data, and reading its cookies throws.
        raise RefreshError("unexpected-bapi-error")
    data: Any = None
    if outcome.is_json:
        try:
            data = outcome.json()
        except ValueError as exc:
            raise RefreshError("fetch-error") from exc
        if outcome.ok and (data is None or isinstance(data, bool | int | float)):
            # Clerk's deserializer throws on these (``"object" in 5``): a fetch error.
            raise RefreshError("fetch-error")
    if not outcome.ok:
        error = _first_error(data)
        if error is None:
            raise RefreshError("unexpected-bapi-error")
        code = error.get("code")
        if code == "unexpected_error":
            raise RefreshError("fetch-error")
        if not code:
            raise RefreshError("unexpected-sdk-error")
        if not isinstance(code, str) or not _ERROR_CODE.fullmatch(code):
            raise RefreshError("unexpected-bapi-error")
        raise RefreshError(code)
    cookies = data.get("cookies") if isinstance(data, dict) else None
    return list(cookies) if isinstance(cookies, list) else []


def _interpret_handshake_payload(outcome: _Reply | _Unreachable) -> list[object]:
    """What a handshake payload response means.

    Args:
        outcome: The response, or why there is none.

    Returns:
        The ``directives`` (the flow checks they are Set-Cookie strings).

    Raises:
        BackendApiError: No payload (the flow then applies no directives).
    """
    if isinstance(outcome, _Unreachable):
        raise BackendApiError(f"handshake payload: {outcome.description}")
    data: Any = None
    if outcome.is_json:
        try:
            data = outcome.json()
        except ValueError as exc:
            raise BackendApiError("handshake payload: the response is not JSON") from exc
    if not outcome.ok:
        error = _first_error(data)
        code = error.get("code") if error is not None else None
        raise BackendApiError(
            f"handshake payload: HTTP {outcome.status}",
            status=outcome.status,
            code=code if isinstance(code, str) else None,
        )
    directives = data.get("directives") if isinstance(data, dict) else None
    if not isinstance(directives, list):
        raise BackendApiError("handshake payload: the response has no directives")
    return list(directives)


#: Per machine token type: the verification path (Clerk's ``skipApiVersionInUrl``:
#: no ``/v1``), the body field that carries the token, and the message of a 404.
_MACHINE_ENDPOINTS: Final[Mapping[str, tuple[str, str, str]]] = MappingProxyType(
    {
        "api_key": ("api_keys/verify", "secret", "API key not found"),
        "m2m_token": ("m2m_tokens/verify", "token", "Machine token not found"),
        "oauth_token": (
            "oauth_applications/access_tokens/verify",
            "access_token",
            "OAuth token not found",
        ),
    }
)
#: Clerk's message for every failure it cannot attribute (``handleClerkAPIError``).
_UNEXPECTED: Final = "Unexpected error"


def _unexpected(status: int | None = None) -> MachineVerifyError:
    return MachineVerifyError("unexpected-error", _UNEXPECTED, status)


def _interpret_machine(outcome: _Reply | _Unreachable, not_found: str) -> dict[str, Any]:
    """What a machine token verification response means (Clerk's ``handleClerkAPIError``).

    Args:
        outcome: The response, or why there is none.
        not_found: The message of a 404 for this token type.

    Returns:
        The verified resource: the response's JSON object, as the API sent it.

    Raises:
        MachineVerifyError: ``secret-key-invalid`` (401, with the API's first error
            message, else "Invalid secret key"), ``token-invalid`` (404), or
            ``unexpected-error`` (any other status; status None without a usable
            response: unreachable, timed out, too large, or a success whose body
            is not a JSON object).
    """
    if isinstance(outcome, _Unreachable):
        raise _unexpected()
    data: Any = None
    if outcome.is_json:
        try:
            data = outcome.json()
        except ValueError:
            data = None
    if outcome.ok:
        if not isinstance(data, dict):
            raise _unexpected()
        return data
    if outcome.status == 401:
        error = _first_error(data)
        message = error.get("message") if error is not None else None
        text = message if isinstance(message, str) and message else "Invalid secret key"
        raise MachineVerifyError("secret-key-invalid", text, 401)
    if outcome.status == 404:
        raise MachineVerifyError("token-invalid", not_found, 404)
    raise _unexpected(outcome.status)


def _interpret_resource(outcome: _Reply | _Unreachable, call: _Call) -> Any:
    """The JSON of a 2xx answer to an app's call, else ``BackendApiError`` (no secrets in it)."""
    where = f"{call.method} {urlsplit(call.url).path}"
    if isinstance(outcome, _Unreachable):
        raise BackendApiError(f"Clerk Backend API: {where}: {outcome.description}.")
    data: Any = None
    if outcome.is_json:
        try:
            data = outcome.json()
        except ValueError:
            data = None
    if outcome.ok:
        if data is None:
            raise BackendApiError(
                f"Clerk Backend API: {where}: the answer is not JSON.", status=outcome.status
            )
        return data
    error = _first_error(data)
    code = error.get("code") if error is not None else None
    message = error.get("message") if error is not None else None
    detail = f": {message.rstrip('.')}" if isinstance(message, str) and message else ""
    raise BackendApiError(
        f"Clerk Backend API: {where} answered {outcome.status}{detail}.",
        status=outcome.status,
        code=code if isinstance(code, str) else None,
    )


def _machine_call(api_url: str, token_type: str, token: str, authorization: str | None) -> _Call:
    path, field_name, _ = _MACHINE_ENDPOINTS[token_type]
    return _Call("POST", f"{api_url}/{path}", body={field_name: token}, authorization=authorization)


def _jwks_call(api_url: str) -> _Call:
    return _Call("GET", f"{api_url}/{API_VERSION}/jwks")


def _handshake_payload_call(api_url: str, nonce: str) -> _Call:
    return _Call(
        "GET", f"{api_url}/{API_VERSION}/clients/handshake_payload", params=(("nonce", nonce),)
    )


def _refresh_call(api_url: str, effect: RefreshRequest) -> _Call:
    if effect.session_id in ("", ".", ".."):
        # Clerk's path builder throws on these before any request is made.
        raise RefreshError("unexpected-bapi-error")
    sid = quote(effect.session_id, safe="")
    # Clerk's client drops falsy query values, so ``false`` is never sent.
    params = (("suffixed_cookies", "true"),) if effect.suffixed_cookies else ()
    body = {
        "format": "cookie",
        "expired_token": effect.expired_token,
        "refresh_token": effect.refresh_token,
        "request_origin": effect.request_origin,
        "request_headers": effect.request_headers,
    }
    return _Call("POST", f"{api_url}/{API_VERSION}/sessions/{sid}/refresh", params, body)


# --- reading a response within bounds ------------------------------------------------------


class _TooLarge(Exception):
    pass


class _Late(Exception):
    pass


class _BoundedBody:
    """Collects a response body, refusing more than ``limit`` bytes or time past ``deadline``."""

    def __init__(self, response: httpx.Response, limit: int, deadline: float) -> None:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise _TooLarge
        self._response = response
        self._limit = limit
        self._deadline = deadline
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._limit:
            raise _TooLarge
        if time.monotonic() > self._deadline:
            raise _Late
        self._parts.append(chunk)

    def reply(self) -> _Reply:
        response = self._response
        return _Reply(
            response.status_code, response.headers.get("content-type", ""), b"".join(self._parts)
        )


def _describe(exc: BaseException, timeout: float, limit: int) -> str:
    """Why a call failed, in words that are safe to log (no URLs with secrets, no bodies)."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError | _Late):
        return f"no complete answer within the {timeout:g} s timeout"
    if isinstance(exc, _TooLarge):
        return f"the response is larger than {limit} bytes"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return f"the connection failed ({type(exc).__name__})"
    return f"the request failed ({type(exc).__name__})"


# --- single flight -------------------------------------------------------------------------


class _Flight:
    """One fetch or call in progress; other threads and tasks wait for it to land.

    A JWKS flight answers through the key cache; a shared handshake-payload,
    refresh or machine verification call leaves its ``answer`` here (None when
    its leader gave up, e.g. was cancelled: a waiter then plans again).
    """

    __slots__ = ("_done", "_lock", "_waiters", "answer")

    def __init__(self) -> None:
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        # The ``_SharedCall`` that owns the flight knows the answer's type.
        self.answer: object | None = None

    def land(self, answer: object | None = None) -> None:
        with self._lock:
            self.answer = answer
            self._done.set()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed meanwhile
                loop.call_soon_threadsafe(_wake, future)

    def wait(self, timeout: float) -> bool:
        return self._done.wait(max(timeout, 0.0))

    async def wait_async(self, timeout: float) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): poll, gently
            with anyio.move_on_after(max(timeout, 0.0)):
                delay = 0.001
                while not self._done.is_set():
                    await anyio.sleep(delay)
                    delay = min(delay * 2, 0.02)
            return self._done.is_set()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._done.is_set():
                return True
            self._waiters.append((loop, future))
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                await future
        except TimeoutError:
            return self._done.is_set()
        return True


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass(frozen=True, slots=True)
class _Lead:
    flight: _Flight
    cause: FetchCause | None = None  # why a JWKS fetch is made (None for other calls)


@dataclass(frozen=True, slots=True)
class _Follow:
    flight: _Flight


#: The failures a shared call ends with; each caller raises a copy of its own.
_Failure = RefreshError | BackendApiError | MachineVerifyError
_T = TypeVar("_T", list[object], dict[str, Any])


@dataclass(frozen=True, slots=True)
class _SharedCall(Generic[_T]):
    """A handshake-payload, refresh or machine verification call that equal requests share.

    Attributes:
        key: What makes two calls equal (it holds tokens: never logged).
        call: The request to send.
        interpret: What a reply means (returns, or raises the caller's failure).
        refused: The failure every caller gets when the budget allows no call.
        bucket: The budget the call is made within.
    """

    key: tuple[str, ...] = field(repr=False)
    call: _Call
    interpret: Callable[[_Reply | _Unreachable], _T]
    refused: _Failure
    bucket: TokenBucket


def _settle(
    interpret: Callable[[_Reply | _Unreachable], _T], outcome: _Reply | _Unreachable
) -> _T | _Failure:
    try:
        return interpret(outcome)
    except (RefreshError, BackendApiError, MachineVerifyError) as exc:
        return exc


def _hand_out(answer: _T | _Failure) -> _T:
    """One caller's copy of a shared answer: its own value, or its own exception to raise."""
    if isinstance(answer, RefreshError):
        raise RefreshError(answer.reason)
    if isinstance(answer, BackendBudgetExceeded):
        raise BackendBudgetExceeded(str(answer))
    if isinstance(answer, BackendApiError):
        raise BackendApiError(str(answer), status=answer.status, code=answer.code)
    if isinstance(answer, MachineVerifyError):
        raise MachineVerifyError(answer.code, answer.message, answer.status)
    # JSON values: a deep copy, so no caller sees another one's changes.
    return copy.deepcopy(answer)


# --- the client ----------------------------------------------------------------------------


class BackendApi:
    """A client of one Clerk instance's Backend API, holding its JWKS cache.

    Sync and async callers share the cache, the policy and single-flight
    fetching. I/O is injectable: pass an ``httpx.Client`` / ``AsyncClient``
    (used as given and never closed here) or an httpx transport (wrapped in a
    client this object owns). By default the sync path keeps one pooled
    ``httpx.Client``; the async path opens a short-lived ``AsyncClient`` per
    call (a pooled one cannot be shared across event loops) -- inject an
    ``async_client`` to pool connections on a single-loop server.

    Args:
        api_url: Backend API origin, e.g. ``https://api.clerk.com``.
        secret_key: The instance's secret key (sent as a Bearer token).
        timeout: Seconds one call may take in total. The async path enforces it
            exactly; the sync path bounds each network step by the time left
            and gives up between chunks once it has passed.
        client: An ``httpx.Client`` for the sync path.
        async_client: An ``httpx.AsyncClient`` for the async path; it must belong
            to the event loop that serves requests.
        transport: An ``httpx.BaseTransport`` for the sync path (e.g.
            ``httpx.MockTransport``), instead of ``client``.
        async_transport: An ``httpx.AsyncBaseTransport`` for the async path,
            instead of ``async_client``.
        policy: The key cache policy.
        budget: How many handshake-payload and refresh calls requests may cause
            (default ``BackendBudget()``: 10 per second, bursts of 20).
        machine_budget: How many machine token verification calls requests may
            cause (default ``DEFAULT_MACHINE_BUDGET``: 100 per second, bursts of 200).
        machine_secret_key: The machine secret key M2M tokens are verified with
            (else the secret key); ``backend_for`` keeps it current.
        monotonic: Clock for cache ages and the budgets (seconds); tests inject
            a fake one. Timeouts always use real time.
        max_response_bytes: Largest response body accepted.

    Raises:
        ConfigurationError: ``timeout`` is not a positive number, or both a
            client and a transport are given for the same path.
    """

    def __init__(
        self,
        api_url: str,
        secret_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        policy: JwksPolicy | None = None,
        budget: BackendBudget | None = None,
        machine_budget: BackendBudget | None = None,
        machine_secret_key: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ConfigurationError(
                f"timeout must be a positive number of seconds, got {timeout!r}."
            )
        if client is not None and transport is not None:
            raise ConfigurationError("Pass either client or transport, not both.")
        if async_client is not None and async_transport is not None:
            raise ConfigurationError("Pass either async_client or async_transport, not both.")
        self.api_url = api_url.rstrip("/")
        self.timeout = float(timeout)
        self.policy = policy or JwksPolicy()
        self.budget = budget or BackendBudget()
        self.machine_budget = machine_budget or DEFAULT_MACHINE_BUDGET
        self.monotonic = monotonic
        self.max_response_bytes = max_response_bytes
        self._has_secret = bool(secret_key)
        self._secret_key = secret_key
        # A plain attribute: ``backend_for`` replaces it when the options change.
        self.machine_secret_key = machine_secret_key
        self._headers = {
            "Authorization": f"Bearer {secret_key}",
            "Clerk-API-Version": API_VERSION_HEADER,
            "User-Agent": USER_AGENT,
            # Counting decoded bytes bounds memory only if nothing is compressed.
            "Accept-Encoding": "identity",
        }
        self._client = client
        self._owns_client = client is None
        self._transport = transport
        self._async_client = async_client
        self._async_transport = async_transport
        self._owned_async_client: httpx.AsyncClient | None = None
        self._ssl_context: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._keys = KeySet()
        self._flight: _Flight | None = None
        # Handshake-payload and refresh calls in flight, by what they ask for.
        self._calls: dict[tuple[str, ...], _Flight] = {}
        self._bucket = TokenBucket(self.budget, monotonic)
        self._machine_bucket = TokenBucket(self.machine_budget, monotonic)

    def __repr__(self) -> str:
        return f"BackendApi({self.api_url!r})"

    @property
    def jwks_url(self) -> str:
        """``<api_url>/v1/jwks``."""
        return _jwks_call(self.api_url).url

    @property
    def key_set(self) -> KeySet:
        """The cached key set as it is now (an immutable snapshot)."""
        return self._keys

    # -- clients

    def _tls(self) -> ssl.SSLContext:
        # Loading CA certificates takes ~20 ms: once per instance, not per call.
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                if self._transport is not None:
                    self._client = httpx.Client(transport=self._transport)
                else:
                    self._client = httpx.Client(verify=self._tls())
            return self._client

    @contextlib.asynccontextmanager
    async def _async_session(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._async_client is not None:
            yield self._async_client
            return
        if self._async_transport is not None:
            with self._lock:
                if self._owned_async_client is None:
                    self._owned_async_client = httpx.AsyncClient(transport=self._async_transport)
                client = self._owned_async_client
            yield client
            return
        async with httpx.AsyncClient(verify=self._tls()) as client:
            yield client

    def close(self) -> None:
        """Close the sync HTTP client this object created (injected ones are left open)."""
        with self._lock:
            client = self._client if self._owns_client else None
            if self._owns_client:
                self._client = None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close every HTTP client this object created, sync and async."""
        self.close()
        with self._lock:
            client, self._owned_async_client = self._owned_async_client, None
        if client is not None:
            await client.aclose()

    # -- one exchange (the only code written twice)

    def _request_args(self, call: _Call, deadline: float) -> dict[str, Any]:
        return {
            "method": call.method,
            "url": call.url,
            "params": call.params,
            "json": call.body,
            "headers": self._headers_for(call),
            "timeout": max(deadline - time.monotonic(), 0.001),
        }

    def _headers_for(self, call: _Call) -> Mapping[str, str]:
        if call.authorization is None:
            return self._headers
        headers = {k: v for k, v in self._headers.items() if k != "Authorization"}
        if call.authorization:
            headers["Authorization"] = call.authorization
        return headers

    def _exchange(self, call: _Call, deadline: float) -> _Reply | _Unreachable:
        try:
            with self._sync_client().stream(**self._request_args(call, deadline)) as response:
                body = _BoundedBody(response, self.max_response_bytes, deadline)
                for chunk in response.iter_bytes():
                    body.add(chunk)
                return body.reply()
        except Exception as exc:  # any failure of the exchange is an answer, never a crash
            return _Unreachable(_describe(exc, self.timeout, self.max_response_bytes))

    async def _exchange_async(self, call: _Call, deadline: float) -> _Reply | _Unreachable:
        try:
            with anyio.fail_after(max(deadline - time.monotonic(), 0.0)):
                async with (
                    self._async_session() as client,
                    client.stream(**self._request_args(call, deadline)) as response,
                ):
                    body = _BoundedBody(response, self.max_response_bytes, deadline)
                    async for chunk in response.aiter_bytes():
                        body.add(chunk)
                    return body.reply()
        except Exception as exc:  # any failure of the exchange is an answer, never a crash
            return _Unreachable(_describe(exc, self.timeout, self.max_response_bytes))

    # -- keys: the shared state machine around the twins

    def _plan(self, kid: str | None) -> _Lead | _Follow | None:
        """Lead a fetch, follow the one in flight, or (None) answer from the cache."""
        if self._answers_from_cache(kid):
            return None
        with self._lock:
            now = self.monotonic()
            cache = self._keys
            cause = self.policy.fetch_cause(cache, kid, now)
            if cause is None:
                return None
            if self._flight is None:
                self._flight = _Flight()
                return _Lead(self._flight, cause)
            if self.policy.can_answer(cache, kid, now):
                return None  # stale but usable: do not wait for the refetch
            return _Follow(self._flight)

    def _answers_from_cache(self, kid: str | None) -> bool:
        # Lock-free: the cache is an immutable value swapped whole.
        return not self._has_secret or not self.policy.should_fetch(
            self._keys, kid, self.monotonic()
        )

    def _land(
        self,
        lead: _Lead,
        kid: str | None,
        outcome: Mapping[str, RSAPublicKey] | JwksFailure | None,
    ) -> None:
        flight = lead.flight
        with self._lock:
            before = self._keys
            if outcome is not None:
                self._keys = self.policy.after_fetch(
                    before, outcome, self.monotonic(), cause=lead.cause, kid=kid
                )
            if self._flight is flight:
                self._flight = None
        flight.land()
        if outcome is not None and not isinstance(outcome, JwksFailure) and before.failure:
            logger.info("Clerk: loaded the JWKS from %s again", self.jwks_url)
        if isinstance(outcome, JwksFailure):
            stale = self.policy.usable(self._keys, self.monotonic())
            logger.warning(
                "Clerk: %s (reason=%s)%s",
                outcome.message,
                outcome.reason,
                "; serving the last good key set meanwhile" if stale else "",
            )

    def _answer(self, kid: str | None) -> RSAPublicKey:
        return self.policy.answer(self._keys, kid, self.monotonic())

    def _waited_too_long(self, kid: str | None) -> RSAPublicKey:
        if self.policy.can_answer(self._keys, kid, self.monotonic()):
            return self._answer(kid)
        raise TokenVerificationError(
            "jwk-remote-failed-to-load",
            f"Error loading Clerk JWKS from {self.jwks_url}: no complete answer within the "
            f"{self.timeout:g} s timeout.",
            CONTACT_SUPPORT,
        )

    def cached_key(self, kid: str | None) -> RSAPublicKey | None:
        """The key ``get_key`` would answer for ``kid`` right now without a fetch, or None.

        None when the policy wants a fetch first (or the answer is an error):
        then only ``get_key`` can say.
        """
        if not self._answers_from_cache(kid):
            return None
        try:
            return self._answer(kid)
        except TokenVerificationError:
            return None

    def get_key(self, kid: str | None) -> RSAPublicKey:
        """The public key for ``kid``, fetching the JWKS when the policy says so (blocking).

        Args:
            kid: The ``kid`` of the token's header (None if it has none).

        Returns:
            The RSA public key.

        Raises:
            TokenVerificationError: With Clerk's reason: ``jwk-kid-mismatch``,
                ``jwk-remote-failed-to-load`` or ``secret-key-invalid``.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            plan = self._plan(kid)
            if isinstance(plan, _Lead):
                outcome: Mapping[str, RSAPublicKey] | JwksFailure | None = None
                try:
                    reply = self._exchange(_jwks_call(self.api_url), deadline)
                    outcome = _interpret_jwks(reply, self.jwks_url)
                finally:
                    self._land(plan, kid, outcome)
            elif isinstance(plan, _Follow):
                if not plan.flight.wait(deadline - time.monotonic()):
                    return self._waited_too_long(kid)
                continue  # re-plan: the leader may have been cancelled
            return self._answer(kid)

    async def get_key_async(self, kid: str | None) -> RSAPublicKey:
        """The ``async`` twin of ``get_key``.

        Args:
            kid: The ``kid`` of the token's header (None if it has none).

        Returns:
            The RSA public key.

        Raises:
            TokenVerificationError: As ``get_key``.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            plan = self._plan(kid)
            if isinstance(plan, _Lead):
                outcome: Mapping[str, RSAPublicKey] | JwksFailure | None = None
                try:
                    reply = await self._exchange_async(_jwks_call(self.api_url), deadline)
                    outcome = _interpret_jwks(reply, self.jwks_url)
                finally:
                    self._land(plan, kid, outcome)
            elif isinstance(plan, _Follow):
                if not await plan.flight.wait_async(deadline - time.monotonic()):
                    return self._waited_too_long(kid)
                continue  # re-plan: the leader may have been cancelled
            return self._answer(kid)

    # -- handshake payload and refresh: shared, and within the budget

    def _payload_call(self, nonce: str) -> _SharedCall[list[object]]:
        refused = BackendBudgetExceeded(
            f"Backend API budget exceeded ({self.budget.describe()}): "
            "the handshake payload was not requested"
        )
        return _SharedCall(
            ("nonce", nonce),
            _handshake_payload_call(self.api_url, nonce),
            _interpret_handshake_payload,
            refused,
            self._bucket,
        )

    def _refresh_shared_call(self, request: RefreshRequest) -> _SharedCall[list[object]]:
        # What Clerk's answer depends on: the session and both tokens, and the
        # origin and cookie set its cookies are minted for (``azp``, suffixes).
        # The other request headers are only reported to Clerk.
        key = (
            "refresh",
            request.session_id,
            request.refresh_token,
            request.expired_token,
            request.request_origin,
            "suffixed" if request.suffixed_cookies else "plain",
        )
        call = _refresh_call(self.api_url, request)
        refused = RefreshError(BUDGET_EXCEEDED)
        return _SharedCall(key, call, _interpret_refresh, refused, self._bucket)

    def _plan_call(self, key: tuple[str, ...], bucket: TokenBucket) -> _Lead | _Follow | None:
        """Follow an equal call in flight, lead a new one, or (None) refuse: no budget left."""
        with self._lock:
            flight = self._calls.get(key)
            if flight is not None:
                return _Follow(flight)
            if not bucket.take():
                return None
            flight = self._calls[key] = _Flight()
            return _Lead(flight)

    def _land_call(self, key: tuple[str, ...], flight: _Flight, answer: object | None) -> None:
        with self._lock:
            # Gone before it lands: a request arriving later makes its own call.
            if self._calls.get(key) is flight:
                del self._calls[key]
        flight.land(answer)

    def _call_too_slow(self, shared: _SharedCall[_T]) -> _T:
        late = _Unreachable(f"no complete answer within the {self.timeout:g} s timeout")
        return _hand_out(_settle(shared.interpret, late))

    def _refuse(self, shared: _SharedCall[_T]) -> _T:
        if isinstance(shared.refused, MachineVerifyError):
            # The handshake and refresh refusals are logged by the flow, which
            # knows the request; this one names the budget, never the token.
            logger.warning(
                "Clerk: machine token verification not attempted: Backend API budget exceeded (%s)",
                shared.bucket.budget.describe(),
            )
        return _hand_out(shared.refused)

    def _shared(self, shared: _SharedCall[_T]) -> _T:
        """Make ``shared.call`` once for all equal concurrent callers, within the budget."""
        deadline = self._deadline()
        while True:
            plan = self._plan_call(shared.key, shared.bucket)
            if plan is None:
                return self._refuse(shared)
            if isinstance(plan, _Lead):
                answer: _T | _Failure | None = None
                try:
                    answer = _settle(shared.interpret, self._exchange(shared.call, deadline))
                finally:
                    self._land_call(shared.key, plan.flight, answer)
                return _hand_out(answer)
            if not plan.flight.wait(deadline - time.monotonic()):
                return self._call_too_slow(shared)
            if plan.flight.answer is not None:
                return _hand_out(cast("_T | _Failure", plan.flight.answer))
            # The leader gave up without an answer (cancelled): plan again.

    async def _shared_async(self, shared: _SharedCall[_T]) -> _T:
        """The ``async`` twin of ``_shared``."""
        deadline = self._deadline()
        while True:
            plan = self._plan_call(shared.key, shared.bucket)
            if plan is None:
                return self._refuse(shared)
            if isinstance(plan, _Lead):
                answer: _T | _Failure | None = None
                try:
                    reply = await self._exchange_async(shared.call, deadline)
                    answer = _settle(shared.interpret, reply)
                finally:
                    self._land_call(shared.key, plan.flight, answer)
                return _hand_out(answer)
            if not await plan.flight.wait_async(deadline - time.monotonic()):
                return self._call_too_slow(shared)
            if plan.flight.answer is not None:
                return _hand_out(cast("_T | _Failure", plan.flight.answer))
            # The leader gave up without an answer (cancelled): plan again.

    def handshake_payload(self, nonce: str) -> list[object]:
        """The cookie directives stored under a handshake nonce (blocking).

        Concurrent callers with the same nonce share one call; a new call
        spends one unit of the ``budget``.

        Args:
            nonce: The ``__clerk_handshake_nonce`` value.

        Returns:
            The directives (Set-Cookie strings, as the API sent them).

        Raises:
            BackendBudgetExceeded: The budget is spent; no call was made.
            BackendApiError: The API could not be reached or gave no payload.
        """
        return self._shared(self._payload_call(nonce))

    async def handshake_payload_async(self, nonce: str) -> list[object]:
        """The ``async`` twin of ``handshake_payload``.

        Args:
            nonce: The ``__clerk_handshake_nonce`` value.

        Returns:
            The directives (Set-Cookie strings, as the API sent them).

        Raises:
            BackendBudgetExceeded: The budget is spent; no call was made.
            BackendApiError: The API could not be reached or gave no payload.
        """
        return await self._shared_async(self._payload_call(nonce))

    def refresh_session(self, request: RefreshRequest) -> list[object]:
        """Refresh an expired session: ``POST /v1/sessions/{sid}/refresh`` (blocking).

        Concurrent callers with an equal request (same session, refresh token,
        expired token, origin and cookie set) share one call; a new call
        spends one unit of the ``budget``.

        Args:
            request: What the flow knows about the expired session.

        Returns:
            The new Set-Cookie strings (empty when the API sent none).

        Raises:
            RefreshError: With Clerk's refresh reason, or ``backend-api-budget-exceeded``
                when the budget is spent and no call was made.
        """
        return self._shared(self._refresh_shared_call(request))

    async def refresh_session_async(self, request: RefreshRequest) -> list[object]:
        """The ``async`` twin of ``refresh_session``.

        Args:
            request: What the flow knows about the expired session.

        Returns:
            The new Set-Cookie strings (empty when the API sent none).

        Raises:
            RefreshError: As ``refresh_session``.
        """
        return await self._shared_async(self._refresh_shared_call(request))

    # -- machine tokens: shared by equal concurrent requests, never cached

    def _machine_shared_call(self, token_type: str, token: str) -> _SharedCall[dict[str, Any]]:
        """The verification call for an opaque machine token.

        Raises:
            MachineVerifyError: ``unexpected-error`` without a secret key for an
                API key or OAuth token (Clerk's client refuses before any call).
        """
        if token_type not in _MACHINE_ENDPOINTS:
            raise _unexpected()
        authorization: str | None = None
        if token_type == "m2m_token":  # noqa: S105 - a token type
            # Clerk's M2M client: the machine secret key when set, else the
            # secret key, else no Authorization header at all.
            key = self.machine_secret_key or (self._secret_key if self._has_secret else "")
            authorization = f"Bearer {key}" if key else ""
        elif not self._has_secret:
            raise _unexpected()
        not_found = _MACHINE_ENDPOINTS[token_type][2]
        return _SharedCall(
            # The credential sent is part of what the answer depends on.
            ("machine", token_type, token, authorization or ""),
            _machine_call(self.api_url, token_type, token, authorization),
            lambda outcome: _interpret_machine(outcome, not_found),
            _unexpected(),
            self._machine_bucket,
        )

    def _machine_failed(self, token_type: str, exc: MachineVerifyError) -> None:
        if exc.code == "unexpected-error" and exc.status is None:
            logger.warning(
                "Clerk: could not verify a machine token (%s) with the Backend API at %s",
                token_type,
                self.api_url,
            )

    def verify_machine_token(self, token_type: str, token: str) -> dict[str, Any]:
        """Verify an opaque machine token with the Backend API (blocking).

        ``POST <api_url>/api_keys/verify`` ``{"secret": token}``,
        ``POST <api_url>/m2m_tokens/verify`` ``{"token": token}`` (with the
        machine secret key when set) or ``POST
        <api_url>/oauth_applications/access_tokens/verify`` ``{"access_token": token}``.
        Concurrent callers with the same token share one call; nothing is
        cached, so a revoked token is refused by the next request. A new call
        spends one unit of the ``machine_budget``.

        Args:
            token_type: ``"api_key"``, ``"m2m_token"`` or ``"oauth_token"``.
            token: The token from the ``Authorization`` header.

        Returns:
            The verified resource, as the Backend API sent it (the OAuth
            audience is not checked here).

        Raises:
            MachineVerifyError: With Clerk's code and message (``handleClerkAPIError``).
        """
        try:
            return self._shared(self._machine_shared_call(token_type, token))
        except MachineVerifyError as exc:
            self._machine_failed(token_type, exc)
            raise

    async def verify_machine_token_async(self, token_type: str, token: str) -> dict[str, Any]:
        """The ``async`` twin of ``verify_machine_token``.

        Args:
            token_type: ``"api_key"``, ``"m2m_token"`` or ``"oauth_token"``.
            token: The token from the ``Authorization`` header.

        Returns:
            The verified resource, as the Backend API sent it.

        Raises:
            MachineVerifyError: With Clerk's code and message.
        """
        try:
            return await self._shared_async(self._machine_shared_call(token_type, token))
        except MachineVerifyError as exc:
            self._machine_failed(token_type, exc)
            raise

    def _deadline(self) -> float:
        return time.monotonic() + self.timeout

    # -- calls the app makes (current user, template tokens): no budget, no single flight

    def _resource_call(self, method: str, path: str, body: Mapping[str, Any] | None) -> _Call:
        if not self._has_secret:
            raise ConfigurationError(
                "A secret key is required to call the Backend API: set CLERK_SECRET_KEY."
            )
        return _Call(method, f"{self.api_url}/{API_VERSION}/{path.lstrip('/')}", body=body)

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """Call a Backend API endpoint and return its JSON (blocking).

        For what an app asks for (the current user, a template token), not what
        requests cause: there is no budget and no single flight; the timeout
        and the response size limit are the same as for every call.

        Args:
            method: ``"GET"`` or ``"POST"``...
            path: The path under ``/v1``, e.g. ``"users/user_123"``; its
                variable parts already percent-encoded.
            body: A JSON body.

        Returns:
            The decoded JSON of a 2xx answer.

        Raises:
            BackendApiError: Any other answer (``status`` and ``code`` from the
                API's first error), no answer in time, or an answer that is not JSON.
            ConfigurationError: No secret key is configured.
        """
        call = self._resource_call(method, path, body)
        return _interpret_resource(self._exchange(call, self._deadline()), call)

    async def call_async(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> Any:
        """The ``async`` twin of ``call``.

        Raises:
            BackendApiError: As ``call``.
            ConfigurationError: As ``call``.
        """
        call = self._resource_call(method, path, body)
        return _interpret_resource(await self._exchange_async(call, self._deadline()), call)

    # -- the flow's effects

    def perform(self, effect: Effect) -> RSAPublicKey | list[object] | dict[str, Any]:
        """Carry out one effect of the authentication flow (blocking).

        Args:
            effect: What the flow needs.

        Returns:
            The key for a ``KeyRequest``; the verified resource for a
            ``MachineVerifyRequest``; Set-Cookie strings otherwise.

        Raises:
            TokenVerificationError: For a ``KeyRequest`` that cannot be answered.
            BackendApiError: For a ``HandshakePayloadRequest`` without payload.
            RefreshError: For a failed ``RefreshRequest``.
            MachineVerifyError: For a ``MachineVerifyRequest`` that did not verify.
        """
        if isinstance(effect, KeyRequest):
            return self.get_key(effect.kid)
        if isinstance(effect, HandshakePayloadRequest):
            return self.handshake_payload(effect.nonce)
        if isinstance(effect, RefreshRequest):
            return self.refresh_session(effect)
        if isinstance(effect, MachineVerifyRequest):
            return self.verify_machine_token(effect.token_type, effect.token)
        assert_never(effect)

    async def perform_async(self, effect: Effect) -> RSAPublicKey | list[object] | dict[str, Any]:
        """The ``async`` twin of ``perform``.

        Args:
            effect: What the flow needs.

        Returns:
            The key for a ``KeyRequest``; the verified resource for a
            ``MachineVerifyRequest``; Set-Cookie strings otherwise.

        Raises:
            TokenVerificationError: For a ``KeyRequest`` that cannot be answered.
            BackendApiError: For a ``HandshakePayloadRequest`` without payload.
            RefreshError: For a failed ``RefreshRequest``.
            MachineVerifyError: For a ``MachineVerifyRequest`` that did not verify.
        """
        if isinstance(effect, KeyRequest):
            return await self.get_key_async(effect.kid)
        if isinstance(effect, HandshakePayloadRequest):
            return await self.handshake_payload_async(effect.nonce)
        if isinstance(effect, RefreshRequest):
            return await self.refresh_session_async(effect)
        if isinstance(effect, MachineVerifyRequest):
            return await self.verify_machine_token_async(effect.token_type, effect.token)
        assert_never(effect)


# --- one BackendApi per instance -----------------------------------------------------------

_backends: dict[tuple[str, str], BackendApi] = {}
_backends_lock = threading.Lock()


def _instance_key(options: ClerkOptions) -> tuple[str, str]:
    return (options.api_url.rstrip("/"), options.secret_key or "")


def backend_for(options: ClerkOptions) -> BackendApi:
    """The shared ``BackendApi`` of an instance, created on first use.

    There is one per ``(api_url, secret_key)``, so every request of an app
    (sync or async) shares one key cache. The machine secret key is not part
    of that key: it changes no key cache, only the credential M2M tokens are
    verified with, so the instance's ``BackendApi`` takes the one in
    ``options`` (the last one seen, if apps with different ones share an
    instance).

    Args:
        options: The app's options.

    Returns:
        The instance's ``BackendApi``.
    """
    key = _instance_key(options)
    backend = _backends.get(key)
    if backend is None:
        with _backends_lock:
            backend = _backends.get(key)
            if backend is None:
                backend = _backends[key] = BackendApi(
                    *key, machine_secret_key=options.machine_secret_key
                )
    if backend.machine_secret_key != options.machine_secret_key:
        backend.machine_secret_key = options.machine_secret_key
    return backend


def configure_backend(
    options: ClerkOptions,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    client: httpx.Client | None = None,
    async_client: httpx.AsyncClient | None = None,
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
    policy: JwksPolicy | None = None,
    budget: BackendBudget | None = None,
    machine_budget: BackendBudget | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> BackendApi:
    """Set how an instance's Backend API is reached: clients, timeout, cache policy, budget.

    Call it at start-up (or in a test) before the first request; it replaces
    the instance's ``BackendApi`` (and its key cache), closing the clients the
    replaced one created.

    Args:
        options: The app's options; they name the instance.
        timeout: Seconds one call may take in total.
        client: An ``httpx.Client`` for the sync path (left open).
        async_client: An ``httpx.AsyncClient`` for the async path (left open).
        transport: An httpx transport for the sync path, instead of ``client``.
        async_transport: An httpx async transport, instead of ``async_client``.
        policy: The key cache policy.
        budget: How many handshake-payload and refresh calls requests may cause
            (``BackendBudget(enabled=False)``: no limit).
        machine_budget: How many machine token verification calls requests may
            cause (default ``DEFAULT_MACHINE_BUDGET``).
        monotonic: Clock for cache ages and the budgets, in seconds.

    Returns:
        The new ``BackendApi``; ``authenticate_request`` uses it from now on.

    Raises:
        ConfigurationError: An argument is invalid (see ``BackendApi``).
    """
    key = _instance_key(options)
    backend = BackendApi(
        *key,
        timeout=timeout,
        client=client,
        async_client=async_client,
        transport=transport,
        async_transport=async_transport,
        policy=policy,
        budget=budget,
        machine_budget=machine_budget,
        machine_secret_key=options.machine_secret_key,
        monotonic=monotonic,
    )
    with _backends_lock:
        replaced = _backends.get(key)
        _backends[key] = backend
    if replaced is not None:
        replaced.close()
    return backend


def reset_backends() -> None:
    """Forget every instance's ``BackendApi`` (and key cache), closing their own clients.

    Meant for tests; the next request of each instance starts cold.
    """
    with _backends_lock:
        backends = list(_backends.values())
        _backends.clear()
    for backend in backends:
        backend.close()
