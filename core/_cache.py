"""Bounded, lock-free memo caches for the per-request hot path.

Two things are worth remembering between requests, because a browser sends
the same ~60-second session token (in the same ``Cookie`` header) on every
request until it is refreshed:

- ``verified_tokens``: session tokens whose signature and claims verified,
  each with the key that verified it (``VerifiedToken``).
- ``cookie_headers``: parsed ``Cookie`` headers (see ``_request``).
- ``DecisionMemo`` (one per ``ClerkOptions``): signed-in decisions by the exact
  request inputs they rest on, so a repeated request skips the flow.

Rules that keep the answers identical to the full check:

1. A verified token is looked up by its exact text, and an entry only counts
   for the very key object that verified it (``options.public_key``, or the
   JWKS key the backend answers for the token's ``kid`` right now). A new
   ``jwt_key``, a refetched key set, or another instance's key means a miss.
2. Only fully verified tokens are stored, so forged or broken tokens never
   displace good ones; tokens longer than ``MAX_TOKEN_LENGTH`` are not stored.
3. The time claims are re-checked against the clock on every hit
   (``VerifiedToken.still_valid``), and so are ``azp``/``aud``/``iss``, which
   depend on the options of the call; anything short of a clean pass runs the
   full claims check, which produces Clerk's exact error.
4. Cached values are never handed to the app: every request gets its own
   copy of the claims, nested objects and lists included (``copy_claims``).

Memory is bounded by entry count (and token length); eviction is
generational: entries go into a young dict, and when it reaches half the bound
it becomes the old generation and the previous old one is dropped. A hit in
the old generation moves the entry back into the young one, so the tokens in
use survive and the rest ages out, with O(1) work per operation.

Thread safety: only single ``dict`` operations and attribute swaps are used,
each atomic under the GIL, and a race can only lose an entry (a later miss),
never mix one token's entry with another's. So no lock is needed, for threads
or for asyncio tasks (nothing here awaits). The caches are plain memoisation:
the decision stays a pure function of (request, options, keys, now).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, Final, Generic, TypeVar

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ._jwt import DecodedJwt, js_date_ms

__all__ = [
    "DECISION_ENTRIES",
    "DECISION_MAX_KEY_LENGTH",
    "MAX_ENTRIES",
    "MAX_TOKEN_LENGTH",
    "DecisionMemo",
    "GenerationalCache",
    "VerifiedToken",
    "VerifiedTokenCache",
    "copy_claims",
    "verified_tokens",
]

#: Verified tokens kept at most, per process. A token is reused for about a
#: minute, so this is roughly how many sessions active in the same minute keep
#: the fast path; the rest are verified in full. An entry of a typical 0.9 KB
#: token holds about 4.4 KB, so the bound is about 4.5 MB per worker process.
MAX_ENTRIES: Final = 1024
#: Longer tokens are verified every time and never stored. Clerk's session
#: tokens are 1-3 KB (a cookie holds at most 4 KB); this bounds an entry's size.
MAX_TOKEN_LENGTH: Final = 4096

#: Signed-in decisions remembered per ``ClerkOptions``. An entry holds the
#: request's ``Cookie`` header (typically 1-3 KB) and shares the verified token's
#: entry, so the bound is about 2 MB per instance configuration.
DECISION_ENTRIES: Final = 512
#: Requests whose deciding header is longer are decided in full every time.
DECISION_MAX_KEY_LENGTH: Final = 8192

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class GenerationalCache(Generic[K, V]):
    """A size-bounded key -> value memo with two generations (see the module doc).

    Args:
        max_entries: Upper bound on entries held (at least 2).
    """

    __slots__ = ("_half", "_old", "_young")

    def __init__(self, max_entries: int) -> None:
        if max_entries < 2:
            raise ValueError(f"max_entries must be at least 2, got {max_entries!r}")
        self._half = max_entries // 2
        self._young: dict[K, V] = {}
        self._old: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        """The value stored under ``key``, or None."""
        value = self._young.get(key)
        if value is None:
            value = self._old.get(key)
            if value is not None:
                self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key``, ageing the oldest entries out when full."""
        young = self._young
        young[key] = value
        if len(young) >= self._half:
            # Two racing threads may both rotate; that only drops entries early.
            self._old = young
            self._young = {}

    def clear(self) -> None:
        """Forget every entry."""
        self._young = {}
        self._old = {}

    def __len__(self) -> int:
        return len(self._young) + len(self._old)

    def __iter__(self) -> Iterator[K]:
        return iter([*self._young, *self._old])


def _copy_json(value: Any) -> Any:
    if type(value) is dict:
        return {name: _copy_json(item) for name, item in value.items()}
    if type(value) is list:
        return [_copy_json(item) for item in value]
    return value  # str, int, float, bool, None: immutable


def _flat(items: Iterable[Any]) -> bool:
    for item in items:
        kind = type(item)
        if kind is dict or kind is list:
            return False
    return True


def _copy_plan(payload: dict[str, Any]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """How to copy each claim that holds a dict or list: shallow if it nests nothing."""
    # Plain loops: this runs once per newly verified token, and generator
    # expressions cost several times as much for a dozen claims.
    plan: list[tuple[str, Callable[[Any], Any]]] = []
    for name, value in payload.items():
        kind = type(value)
        if kind is dict:
            plan.append((name, dict if _flat(value.values()) else _copy_json))
        elif kind is list:
            plan.append((name, list if _flat(value) else _copy_json))
    return tuple(plan)


def copy_claims(
    payload: dict[str, Any], plan: tuple[tuple[str, Callable[[Any], Any]], ...] | None = None
) -> dict[str, Any]:
    """A copy of decoded claims that shares nothing mutable with ``payload``.

    Args:
        payload: Claims as ``json`` decoded them (dicts, lists and immutable values).
        plan: ``_copy_plan(payload)``, when known in advance.
    """
    claims = dict(payload)
    for name, copy in _copy_plan(payload) if plan is None else plan:
        claims[name] = copy(claims[name])
    return claims


def _ms_or(payload: dict[str, Any], name: str, absent: float) -> float:
    value = payload.get(name, ...)
    if value is ...:
        return absent
    if isinstance(value, int | float) and not isinstance(value, bool):
        return js_date_ms(value)
    return math.nan  # never passes a comparison: the full check decides


class VerifiedToken:
    """A token that passed every check once, and what a later hit must re-check.

    Attributes:
        jwt: The decoded token (its payload is never handed out; the flow copies it).
        key: The public key object that verified the signature.
        exp_ms: ``exp`` in JavaScript milliseconds (NaN: let the full check decide).
        nbf_ms: ``nbf`` in milliseconds, ``-inf`` when absent.
        iat_ms: ``iat`` in milliseconds, ``-inf`` when absent.
        azp: The ``azp`` claim (``...`` when absent).
        copy_plan: How to copy the claims that hold dicts or lists.
        identity: What the flow derived from the claims (``auth_identity``), once known.
    """

    __slots__ = ("azp", "copy_plan", "exp_ms", "iat_ms", "identity", "jwt", "key", "nbf_ms")

    def __init__(self, jwt: DecodedJwt, key: RSAPublicKey) -> None:
        payload = jwt.payload
        self.jwt = jwt
        self.key = key
        self.exp_ms = _ms_or(payload, "exp", math.nan)
        self.nbf_ms = _ms_or(payload, "nbf", -math.inf)
        self.iat_ms = _ms_or(payload, "iat", -math.inf)
        self.azp: Any = payload.get("azp", ...)
        self.copy_plan = _copy_plan(payload)
        self.identity: tuple[Any, Any, Any] | None = None

    def claims(self) -> dict[str, Any]:
        """A private copy of the claims for one request."""
        return copy_claims(self.jwt.payload, self.copy_plan)

    def still_valid(
        self, now_ms: float, clock_skew_in_ms: float, authorized_parties: Sequence[str]
    ) -> bool:
        """True only if the full claims check would pass now (given no aud/iss options).

        ``sub`` and the claim types passed when the entry was stored and cannot
        change; ``azp`` and the times are checked again here. False means "run
        the full check" (which then raises Clerk's exact error, or passes).
        """
        if authorized_parties:
            azp = self.azp
            if not azp or azp is ... or azp not in authorized_parties:
                return False
        return (
            self.exp_ms > now_ms - clock_skew_in_ms
            and self.nbf_ms <= now_ms + clock_skew_in_ms
            and self.iat_ms <= now_ms + clock_skew_in_ms
        )


class VerifiedTokenCache:
    """Verified session tokens by their exact text (see the module doc).

    Args:
        max_entries: Upper bound on entries.
        max_token_length: Longer tokens are never stored.
    """

    __slots__ = ("_entries", "epoch", "max_token_length")

    def __init__(
        self, max_entries: int = MAX_ENTRIES, max_token_length: int = MAX_TOKEN_LENGTH
    ) -> None:
        self._entries: GenerationalCache[str, VerifiedToken] = GenerationalCache(max_entries)
        self.max_token_length = max_token_length
        self.epoch = 0

    def get(self, token: str) -> VerifiedToken | None:
        """The entry for exactly this token text, whatever key verified it; or None."""
        return self._entries.get(token)

    def lookup(self, token: str, key: RSAPublicKey) -> VerifiedToken | None:
        """The entry for this token if ``key`` (the very object) is the one that verified it."""
        entry = self._entries.get(token)
        return entry if entry is not None and entry.key is key else None

    def add(self, jwt: DecodedJwt, key: RSAPublicKey) -> VerifiedToken | None:
        """Remember a token that has just passed every check under ``key``.

        Returns:
            The new entry, or None for a token too long to keep.
        """
        if len(jwt.raw) > self.max_token_length:
            return None
        entry = VerifiedToken(jwt, key)
        self._entries.put(jwt.raw, entry)
        return entry

    def clear(self) -> None:
        """Forget every token (tests; or after revoking a key by hand).

        Decisions remembered from these tokens (``DecisionMemo``) stop counting too.
        """
        self._entries.clear()
        self.epoch += 1

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self._entries.get(token) is not None


#: The process-wide cache the authentication flow uses.
verified_tokens: Final = VerifiedTokenCache()


class DecisionMemo:
    """Signed-in decisions of one ``ClerkOptions``, by the request inputs they rest on.

    The authentication flow stores a decision only when it ended signed in with
    no response headers, on a path whose every input is in the key (see
    ``_authenticate``): keyed by the deciding header's exact text (the ``Cookie``
    header, or the Bearer token), with a context of what else the answer rested
    on (the inputs of the request's origin, and the ``Referer`` when the
    cross-origin check reads it). A later request with the same key and context
    gets the same answer once the token's entry passes
    ``VerifiedToken.still_valid`` again and its key is still the one that
    verifies the token; otherwise it is decided in full. Nothing else of the
    request can change a signed-in answer there. One context is kept per key:
    the same header from another origin replaces it.

    Args:
        max_entries: Upper bound on entries.
    """

    __slots__ = ("_entries",)

    def __init__(self, max_entries: int = DECISION_ENTRIES) -> None:
        self._entries: GenerationalCache[Hashable, tuple[VerifiedToken, str, Any, int]] = (
            GenerationalCache(max_entries)
        )

    def get(self, key: Hashable) -> tuple[VerifiedToken, str, Any, int] | None:
        """The verified entry, token, context and epoch under ``key``, if still current.

        The caller compares the context (what else the decision rested on) with
        its request's before using the answer.
        """
        found = self._entries.get(key)
        if found is None or found[3] != verified_tokens.epoch:
            return None
        return found

    def put(self, key: Hashable, entry: VerifiedToken, token: str, context: Any = None) -> None:
        """Remember that ``key`` in ``context`` decided signed in with ``token`` (``entry``)."""
        self._entries.put(key, (entry, token, context, verified_tokens.epoch))

    def clear(self) -> None:
        """Forget every decision."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
