"""clerk_middleware.core: Clerk request authentication, free of any web framework.

Rules of this package (kept by every module in it):

1. No web-framework imports. Adapters translate their requests into
   ``AuthRequest`` and this package's answers into their responses.
2. No I/O but Clerk's Backend API (JWKS, handshake payload, session refresh,
   machine token verification, the users and tokens an app asks for),
   only in ``_backend``, and the Frontend API proxy's, only in ``_proxy``; the
   decision itself is a pure function of (request, options, keys, now). The
   only module-level state is ``_backend``'s per-instance client registry
   (shared key caches), the verified-token cache, and the proxy's pooled
   HTTP client.
3. Time enters only through ``ClerkOptions.clock``; the environment is read
   only by ``ClerkOptions.from_env`` (and ``verify_webhook``, for
   ``CLERK_WEBHOOK_SIGNING_SECRET`` when no secret is passed).
4. Nothing that arrives with a request raises: every input resolves to a
   ``RequestState``. Configuration errors are raised when options are built.
"""

import inspect as _inspect
import typing as _typing

from ._auth import Auth, ReverificationConfig, ReverificationPreset
from ._authenticate import authenticate_request, authenticate_request_async
from ._backend import (
    BackendApi,
    BackendApiError,
    BackendBudget,
    BackendBudgetExceeded,
    JwksPolicy,
    configure_backend,
    reset_backends,
)
from ._csp import ContentSecurityPolicy
from ._effects import MachineVerifyError
from ._errors import (
    AuthControlFlow,
    AuthNotFound,
    AuthRedirect,
    AuthUnauthorized,
    ClerkError,
    ConfigurationError,
    MalformedPathError,
    TokenVerificationError,
)
from ._machine import (
    AcceptsToken,
    InvalidTokenAuth,
    MachineAuth,
    MachineTokenType,
    TokenType,
    token_type_of,
)
from ._options import ClerkOptions, OrganizationSyncOptions
from ._protect import (
    CURRENT_URL,
    ReturnBackUrl,
    build_sign_in_url,
    build_sign_up_url,
    is_page_request,
    protect,
    redirect_to_sign_in,
    redirect_to_sign_up,
)
from ._proxy import FrontendApiProxy
from ._request import AuthRequest
from ._resources import (
    EmailAddress,
    User,
    clerk_client,
    fetch_user,
    fetch_user_async,
    session_token,
    session_token_async,
)
from ._routes import RouteMatcher, create_route_matcher
from ._state import AuthStatus, RequestState
from ._webhooks import (
    WebhookErrorReason,
    WebhookEvent,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
)

__all__ = [
    "CURRENT_URL",
    "AcceptsToken",
    "Auth",
    "AuthControlFlow",
    "AuthNotFound",
    "AuthRedirect",
    "AuthRequest",
    "AuthStatus",
    "AuthUnauthorized",
    "BackendApi",
    "BackendApiError",
    "BackendBudget",
    "BackendBudgetExceeded",
    "ClerkError",
    "ClerkOptions",
    "ConfigurationError",
    "ContentSecurityPolicy",
    "EmailAddress",
    "FrontendApiProxy",
    "InvalidTokenAuth",
    "JwksPolicy",
    "MachineAuth",
    "MachineTokenType",
    "MachineVerifyError",
    "MalformedPathError",
    "OrganizationSyncOptions",
    "RequestState",
    "ReturnBackUrl",
    "ReverificationConfig",
    "ReverificationPreset",
    "RouteMatcher",
    "TokenType",
    "TokenVerificationError",
    "User",
    "WebhookErrorReason",
    "WebhookEvent",
    "WebhookVerificationError",
    "authenticate_request",
    "authenticate_request_async",
    "build_sign_in_url",
    "build_sign_up_url",
    "clerk_client",
    "configure_backend",
    "create_route_matcher",
    "fetch_user",
    "fetch_user_async",
    "is_page_request",
    "protect",
    "redirect_to_sign_in",
    "redirect_to_sign_up",
    "reset_backends",
    "session_token",
    "session_token_async",
    "sign_webhook",
    "token_type_of",
    "verify_webhook",
]


def _publish(names: list[str]) -> None:
    """Name this package as the module of each public class (as httpx does).

    Tracebacks, reprs and docs then show ``clerk_middleware.core.ConfigurationError``,
    the path to import, not the private module that defines it. String
    annotations are resolved first, while the defining module still names their
    types: ``typing.get_type_hints`` (pydantic, FastAPI) reads a class's
    annotations in the namespace of its ``__module__``.
    """
    namespace = globals()
    for name in names:
        obj = namespace[name]
        if not isinstance(obj, type) or obj.__module__ == __name__:
            continue
        own = _inspect.get_annotations(obj)
        if any(isinstance(value, str) for value in own.values()):
            hints = _typing.get_type_hints(obj, include_extras=True)
            obj.__annotations__ = {key: hints[key] for key in own}
        obj.__module__ = __name__


_publish(__all__)
