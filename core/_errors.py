"""The exceptions of ``clerk_middleware.core``.

The hierarchy::

    ClerkError                        base of everything this package raises
    ├── ConfigurationError(ValueError) bad options or keys; raised at start-up, never per request
    ├── MalformedPathError(ValueError) a route matcher was given a path it cannot decode (-> 400)
    ├── TokenVerificationError         a token failed one check; carries Clerk's ``reason``
    ├── BackendApiError                a Backend API call failed (``_backend``; never escapes
    │                                  ``authenticate_request``, which maps it to a reason)
    └── AuthControlFlow                raised by protect()/redirect helpers; adapters turn it
        ├── AuthRedirect               into a 307 redirect,
        ├── AuthNotFound               a 404,
        └── AuthUnauthorized           or a 401 response.

``authenticate_request`` never raises for anything that arrives with a request:
every request input resolves to a ``RequestState``. Only configuration errors
escape, and those are raised when options are built.
"""

from __future__ import annotations

__all__ = [
    "AuthControlFlow",
    "AuthNotFound",
    "AuthRedirect",
    "AuthUnauthorized",
    "ClerkError",
    "ConfigurationError",
    "MalformedPathError",
    "TokenVerificationError",
]


class ClerkError(Exception):
    """Base class of every exception raised by clerk_middleware."""


class ConfigurationError(ClerkError, ValueError):
    """An option or key is missing or malformed; the message names it and the expected form."""


class MalformedPathError(ClerkError, ValueError):
    """The request path or URL cannot be read (bad percent-encoding, bad host); answer 400.

    The message never quotes the URL: its query may carry tokens.
    """

    def __init__(self, path: str) -> None:
        super().__init__(
            "Malformed request URL: its path has invalid percent-encoding or its host or "
            "port is not valid."
        )
        self.path = path


class TokenVerificationError(ClerkError):
    """A session token failed verification.

    Attributes:
        reason: Clerk's ``TokenVerificationErrorReason`` string, e.g. ``"token-expired"``.
        message: Human-readable explanation (never contains the token).
        action: Optional hint on how to fix it, appended to the full message.
    """

    def __init__(self, reason: str, message: str, action: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.action = action

    def full_message(self, token_carrier: str) -> str:
        """Return the message as Clerk reports it in ``RequestState.message``.

        Args:
            token_carrier: ``"header"`` or ``"cookie"``.
        """
        text = " ".join(part for part in (self.message, self.action) if part)
        return f"{text} (reason={self.reason}, token-carrier={token_carrier})"


class AuthControlFlow(ClerkError):
    """Raised by ``protect()`` and the redirect helpers to end the request early.

    It carries the HTTP answer, so every adapter can translate it in one place.

    Attributes:
        status_code: The HTTP status of the response to send.
        headers: Extra response headers as ``(name, value)`` pairs.
    """

    status_code: int = 500

    def __init__(self, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(f"{type(self).__name__}({self.status_code})")
        self.headers = headers


class AuthRedirect(AuthControlFlow):
    """A 307 redirect, e.g. to the sign-in page; ``location`` is its target."""

    status_code = 307

    def __init__(self, location: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__((("location", location), *headers))
        self.location = location


class AuthNotFound(AuthControlFlow):
    """A 404: the user may not see this resource (Clerk hides it rather than answering 403)."""

    status_code = 404


class AuthUnauthorized(AuthControlFlow):
    """A 401 with an empty body, for machine callers."""

    status_code = 401
