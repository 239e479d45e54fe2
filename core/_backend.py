"""Clerk's Backend API: JWKS, handshake payloads and session refresh, over httpx.

The only I/O of the core. The key-freshness policy (``JwksPolicy``) is pure and
written once; ``BackendApi.perform`` and ``perform_async`` are twins that differ
only by ``await``. One ``BackendApi`` (and so one key cache) exists per
``(api_url, secret_key)`` and is shared by the sync and async paths.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from ._effects import HandshakePayloadRequest, KeyRequest, RefreshError, RefreshRequest
from ._errors import TokenVerificationError
from ._options import ClerkOptions

__all__ = ["BackendApi", "JwksPolicy", "backend_for"]

API_VERSION_HEADER = "2026-05-12"
USER_AGENT = "clerk-middleware-python/0.1"
CONTACT_SUPPORT = "Contact support@clerk.com"
# A JWKS document lists a handful of keys; anything much larger is not Clerk's.
MAX_JWKS_BYTES = 64 * 1024
MAX_KEYS = 32


@dataclass(frozen=True, slots=True)
class JwksPolicy:
    """When to use cached keys and when to fetch; pure, so both drivers share it.

    Attributes:
        ttl: Seconds a fetched key set is fresh (Clerk: 5 minutes).
        kid_miss_cooldown: Minimum seconds between fetches caused by unknown ``kid``s,
            so a flood of forged ``kid``s costs at most one fetch per window.
        retry_after_failure: Seconds to wait after a failed fetch before trying again.
        max_stale: Seconds past ``ttl`` that a key set keeps serving while the API fails.
    """

    ttl: float = 300.0
    kid_miss_cooldown: float = 10.0
    retry_after_failure: float = 5.0
    max_stale: float = 3600.0

    def needs_fetch(self, cache: KeyCache, kid: str | None, now: float) -> bool:
        """True when a fetch should be attempted for ``kid`` at ``now``."""
        if cache.failed_at is not None and now - cache.failed_at < self.retry_after_failure:
            return False
        if not cache.keys or now - cache.fetched_at >= self.ttl:
            return True
        if kid not in cache.keys:
            return now - cache.attempted_at >= self.kid_miss_cooldown
        return False

    def usable(self, cache: KeyCache, now: float) -> bool:
        """True while the cached key set may still be used (fresh, or stale within bounds)."""
        return bool(cache.keys) and now - cache.fetched_at < self.ttl + self.max_stale


@dataclass(slots=True)
class KeyCache:
    """The last good key set and the bookkeeping the policy reads."""

    keys: dict[str, RSAPublicKey] = field(default_factory=dict)
    fetched_at: float = float("-inf")
    attempted_at: float = float("-inf")
    failed_at: float | None = None
    error: TokenVerificationError | None = None
    fetches: int = 0


def _kid_mismatch(kid: str | None) -> TokenVerificationError:
    return TokenVerificationError(
        "jwk-kid-mismatch",
        f"Unable to find a signing key in JWKS that matches the kid='{kid}' of the provided "
        "session token. Please make sure that the __session cookie or the HTTP authorization "
        "header contain a Clerk-generated session JWT.",
        "Go to your Dashboard and validate your secret and public keys are correct. "
        f"{CONTACT_SUPPORT} if the issue persists.",
    )


def _parse_jwks(response: httpx.Response, url: str) -> dict[str, RSAPublicKey]:
    """Turn a JWKS response into keys, or raise Clerk's error for it."""
    body = response.content[: MAX_JWKS_BYTES + 1]
    if response.status_code != 200:
        try:
            errors = json.loads(body).get("errors") or []
        except (ValueError, AttributeError):
            errors = []
        for error in errors if isinstance(errors, list) else []:
            if isinstance(error, dict) and error.get("code") == "clerk_key_invalid":
                raise TokenVerificationError(
                    "secret-key-invalid", str(error.get("message", "")), CONTACT_SUPPORT
                )
        raise TokenVerificationError(
            "jwk-remote-failed-to-load",
            f"Error loading Clerk JWKS from {url} with code={response.status_code}",
            CONTACT_SUPPORT,
        )
    try:
        if len(body) > MAX_JWKS_BYTES:
            raise ValueError("JWKS document too large")
        document = json.loads(body)
        entries = document.get("keys") if isinstance(document, dict) else None
        keys: dict[str, RSAPublicKey] = {}
        for entry in (entries if isinstance(entries, list) else [])[:MAX_KEYS]:
            if isinstance(entry, dict) and entry.get("kty") == "RSA":
                key = RSAAlgorithm.from_jwk(entry)
                if isinstance(key, RSAPublicKey):
                    keys[str(entry.get("kid"))] = key
    except (ValueError, TypeError, KeyError) as exc:
        raise TokenVerificationError(
            "jwk-remote-invalid",
            f"The JWKS response from {url} could not be parsed ({type(exc).__name__}).",
            CONTACT_SUPPORT,
        ) from exc
    if not keys:
        raise TokenVerificationError(
            "jwk-remote-failed-to-load",
            "The JWKS endpoint did not contain any signing keys. Contact support@clerk.com.",
            CONTACT_SUPPORT,
        )
    return keys


class BackendApi:
    """A client of Clerk's Backend API for one instance, with the JWKS cache.

    Args:
        api_url: Backend API origin.
        secret_key: The instance's secret key.
        timeout: Seconds for each HTTP call (connect, read and write).
        client: An ``httpx.Client`` to use (for tests or custom transports).
        async_client: An ``httpx.AsyncClient`` to use.
        policy: The key cache policy.
        monotonic: Clock for cache ages.
    """

    def __init__(
        self,
        api_url: str,
        secret_key: str,
        *,
        timeout: float = 3.0,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
        policy: JwksPolicy | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {secret_key}",
            "Clerk-API-Version": API_VERSION_HEADER,
            "User-Agent": USER_AGENT,
        }
        self.timeout = timeout
        self._client = client
        self._async_client = async_client
        self.policy = policy or JwksPolicy()
        self.cache = KeyCache()
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._async_locks: dict[int, asyncio.Lock] = {}

    @property
    def jwks_url(self) -> str:
        """``<api_url>/v1/jwks``."""
        return f"{self.api_url}/v1/jwks"

    # -- clients

    def _sync_client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout)
        return self._client

    def _get_async_client(self) -> httpx.AsyncClient:
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(timeout=self.timeout)
        return self._async_client

    # -- keys (policy shared, I/O twinned)

    def _answer(self, kid: str | None) -> RSAPublicKey:
        cache = self.cache
        if cache.keys and self.policy.usable(cache, self.monotonic()):
            key = cache.keys.get(kid or "")
            if key is not None:
                return key
            raise _kid_mismatch(kid)
        raise cache.error or TokenVerificationError(
            "jwk-remote-failed-to-load",
            "Failed to load JWKS from Clerk Backend or Frontend API.",
            CONTACT_SUPPORT,
        )

    def _record(self, outcome: dict[str, RSAPublicKey] | TokenVerificationError) -> None:
        now = self.monotonic()
        cache = self.cache
        cache.attempted_at = now
        cache.fetches += 1
        if isinstance(outcome, TokenVerificationError):
            cache.failed_at, cache.error = now, outcome
        else:
            cache.keys, cache.fetched_at, cache.failed_at, cache.error = outcome, now, None, None

    def _fetch_failed(self, exc: Exception) -> TokenVerificationError:
        return TokenVerificationError(
            "jwk-remote-failed-to-load",
            f"Failed to load JWKS from {self.jwks_url} ({type(exc).__name__}).",
            CONTACT_SUPPORT,
        )

    def get_key(self, kid: str | None) -> RSAPublicKey:
        """Return the key for ``kid``, fetching the JWKS when the policy says so (blocking)."""
        if self.policy.needs_fetch(self.cache, kid, self.monotonic()):
            with self._lock:
                # Re-check: another thread may have fetched while we waited (single flight).
                if self.policy.needs_fetch(self.cache, kid, self.monotonic()):
                    try:
                        response = self._sync_client().get(self.jwks_url, headers=self._headers)
                        outcome: Any = _parse_jwks(response, self.jwks_url)
                    except TokenVerificationError as exc:
                        outcome = exc
                    except httpx.HTTPError as exc:
                        outcome = self._fetch_failed(exc)
                    self._record(outcome)
        return self._answer(kid)

    async def get_key_async(self, kid: str | None) -> RSAPublicKey:
        """Return the key for ``kid``, fetching the JWKS when the policy says so (async)."""
        if self.policy.needs_fetch(self.cache, kid, self.monotonic()):
            loop_id = id(asyncio.get_running_loop())
            lock = self._async_locks.setdefault(loop_id, asyncio.Lock())
            async with lock:
                if self.policy.needs_fetch(self.cache, kid, self.monotonic()):
                    try:
                        response = await self._get_async_client().get(
                            self.jwks_url, headers=self._headers
                        )
                        outcome: Any = _parse_jwks(response, self.jwks_url)
                    except TokenVerificationError as exc:
                        outcome = exc
                    except httpx.HTTPError as exc:
                        outcome = self._fetch_failed(exc)
                    with self._lock:
                        self._record(outcome)
        return self._answer(kid)

    # -- handshake payload and refresh

    def _refresh_body(self, effect: RefreshRequest) -> dict[str, Any]:
        return {
            "format": "cookie",
            "expired_token": effect.expired_token,
            "refresh_token": effect.refresh_token,
            "request_origin": effect.request_origin,
            "request_headers": effect.request_headers,
        }

    def _refresh_url(self, effect: RefreshRequest) -> str:
        return f"{self.api_url}/v1/sessions/{httpx.URL(effect.session_id)}/refresh"

    @staticmethod
    def _refresh_cookies(response: httpx.Response) -> list[str]:
        try:
            data = response.json()
        except ValueError as exc:
            raise RefreshError("unexpected-bapi-error") from exc
        if response.status_code >= 400:
            errors = data.get("errors") if isinstance(data, dict) else None
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                code = str(errors[0].get("code", ""))
                raise RefreshError("fetch-error" if code == "unexpected_error" else code)
            raise RefreshError("unexpected-bapi-error")
        cookies = data.get("cookies") if isinstance(data, dict) else None
        return [c for c in cookies if isinstance(c, str)] if isinstance(cookies, list) else []

    @staticmethod
    def _directives(response: httpx.Response) -> list[str]:
        response.raise_for_status()
        data = response.json()
        directives = data.get("directives") if isinstance(data, dict) else None
        return list(directives) if isinstance(directives, list) else []

    def perform(self, effect: Any) -> Any:
        """Carry out one effect of the authentication flow (blocking)."""
        if isinstance(effect, KeyRequest):
            return self.get_key(effect.kid)
        client = self._sync_client()
        if isinstance(effect, HandshakePayloadRequest):
            response = client.get(
                f"{self.api_url}/v1/clients/handshake_payload",
                params={"nonce": effect.nonce},
                headers=self._headers,
            )
            return self._directives(response)
        if isinstance(effect, RefreshRequest):
            try:
                response = client.post(
                    self._refresh_url(effect),
                    params={"suffixed_cookies": str(effect.suffixed_cookies).lower()},
                    json=self._refresh_body(effect),
                    headers=self._headers,
                )
            except httpx.HTTPError as exc:
                raise RefreshError("unexpected-bapi-error") from exc
            return self._refresh_cookies(response)
        raise TypeError(f"unknown effect {type(effect).__name__}")

    async def perform_async(self, effect: Any) -> Any:
        """Carry out one effect of the authentication flow (async twin of ``perform``)."""
        if isinstance(effect, KeyRequest):
            return await self.get_key_async(effect.kid)
        client = self._get_async_client()
        if isinstance(effect, HandshakePayloadRequest):
            response = await client.get(
                f"{self.api_url}/v1/clients/handshake_payload",
                params={"nonce": effect.nonce},
                headers=self._headers,
            )
            return self._directives(response)
        if isinstance(effect, RefreshRequest):
            try:
                response = await client.post(
                    self._refresh_url(effect),
                    params={"suffixed_cookies": str(effect.suffixed_cookies).lower()},
                    json=self._refresh_body(effect),
                    headers=self._headers,
                )
            except httpx.HTTPError as exc:
                raise RefreshError("unexpected-bapi-error") from exc
            return self._refresh_cookies(response)
        raise TypeError(f"unknown effect {type(effect).__name__}")


_backends: dict[tuple[str, str], BackendApi] = {}
_backends_lock = threading.Lock()


def backend_for(options: ClerkOptions) -> BackendApi:
    """The shared ``BackendApi`` of an instance (one per ``(api_url, secret_key)``)."""
    key = (options.api_url, options.secret_key or "")
    backend = _backends.get(key)
    if backend is None:
        with _backends_lock:
            backend = _backends.setdefault(key, BackendApi(options.api_url, options.secret_key or ""))
    return backend
