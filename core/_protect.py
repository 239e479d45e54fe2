"""``protect()`` and the sign-in / sign-up redirects, as ``@clerk/nextjs`` decides them.

These functions decide; they never build a framework response. They raise an
``AuthControlFlow`` exception that carries the HTTP answer, and each adapter
translates it in exactly one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, NoReturn, TypeVar

from ._auth import Auth, ReverificationConfig, ReverificationPreset
from ._authenticate import bearer_token
from ._errors import AuthNotFound, AuthRedirect, AuthUnauthorized
from ._machine import (
    AcceptsToken,
    InvalidTokenAuth,
    MachineAuth,
    is_token_type_accepted,
    token_type_of,
)
from ._options import ClerkOptions
from ._request import AuthRequest
from ._url import Url, parse_url

__all__ = [
    "CURRENT_URL",
    "ReturnBackUrl",
    "build_sign_in_url",
    "build_sign_up_url",
    "is_page_request",
    "protect",
    "redirect_to_sign_in",
    "redirect_to_sign_up",
    "unauthorized_headers",
]


class _CurrentUrl:
    """Sentinel: "return to the current request URL" (distinct from ``None``: no return URL)."""

    def __repr__(self) -> str:
        return "CURRENT_URL"


CURRENT_URL: Final = _CurrentUrl()
ReturnBackUrl = str | None | _CurrentUrl
Predicate = Callable[[Callable[..., bool]], bool]
A = TypeVar("A", bound=Auth | MachineAuth | InvalidTokenAuth)


def is_page_request(request: AuthRequest) -> bool:
    """True for a browser navigation: ``sec-fetch-dest`` document/iframe or ``Accept`` with HTML."""
    dest = request.header("sec-fetch-dest")
    if dest in ("document", "iframe"):
        return True
    return "text/html" in (request.header("accept") or "")


def _dev_browser_token(request: AuthRequest, options: ClerkOptions) -> str | None:
    query = request.parsed_url.param("__clerk_db_jwt")
    if query:
        return query
    cookies = request.cookies
    return cookies.get(f"__clerk_db_jwt_{options.cookie_suffix}") or cookies.get("__clerk_db_jwt")


def _build(
    target: str,
    request: AuthRequest,
    options: ClerkOptions,
    return_back_url: ReturnBackUrl,
) -> str:
    """Clerk's ``createRedirect`` ``buildUrl``: the target plus ``redirect_url`` and extras."""
    base = request.parsed_url
    result = parse_url(target, base)
    cross_origin = (base.hostname, base.port) != (result.hostname, result.port)
    if isinstance(return_back_url, _CurrentUrl):
        back: Url | None = base
    elif return_back_url:
        back = parse_url(return_back_url, base)
    else:
        back = None
    if back is not None:
        if cross_origin and options.is_satellite:
            back = back.setting("__clerk_synced", "false")
        result = result.setting("redirect_url", back.href)
    if cross_origin and options.instance_type == "development":
        token = _dev_browser_token(request, options)
        if token:
            result = result.setting("__clerk_db_jwt", token)
    return result.href


def _sign_in_target(options: ClerkOptions) -> str:
    return options.sign_in_url or f"{options.accounts_base_url}/sign-in"


def _sign_up_target(options: ClerkOptions, base: Url) -> str:
    if options.sign_up_url:
        return options.sign_up_url
    if options.sign_in_url:
        sign_in = parse_url(options.sign_in_url, base)
        return Url(
            sign_in.scheme, sign_in.host, sign_in.port, sign_in.path + "/create", sign_in.query
        ).href
    return f"{options.accounts_base_url}/sign-up"


def _with_tasks(target: str) -> str:
    """Clerk sends pending sessions to ``<target>/tasks`` (string concatenation, as Clerk does)."""
    return f"{target}/tasks"


def build_sign_in_url(
    request: AuthRequest,
    options: ClerkOptions,
    *,
    return_back_url: ReturnBackUrl = CURRENT_URL,
    session_status: str | None = None,
    tasks_url: str | None = None,
) -> str:
    """Return the URL ``redirect_to_sign_in`` would send the user to.

    Args:
        request: The current request.
        options: The configuration (``sign_in_url``, publishable key, satellite settings).
        return_back_url: Where to come back after sign-in: ``CURRENT_URL`` (default),
            a URL or path (resolved against the request), or None for no ``redirect_url``.
        session_status: ``"pending"`` sends the user to the after-auth task page.
        tasks_url: The app's own after-auth page, used instead of ``<sign-in>/tasks``
            for pending sessions (default: ``options.tasks_url``).
    """
    target = _sign_in_target(options)
    return _build_for_status(
        target,
        request,
        options,
        return_back_url,
        session_status=session_status,
        tasks_url=tasks_url,
    )


def _build_for_status(
    target: str,
    request: AuthRequest,
    options: ClerkOptions,
    return_back_url: ReturnBackUrl,
    *,
    session_status: str | None,
    tasks_url: str | None,
) -> str:
    """``_build`` to ``target``, or to the after-auth task page for a pending session."""
    if session_status == "pending":
        own = tasks_url or options.tasks_url
        target = own if own else _with_tasks(target)
    return _build(target, request, options, return_back_url)


def build_sign_up_url(
    request: AuthRequest,
    options: ClerkOptions,
    *,
    return_back_url: ReturnBackUrl = CURRENT_URL,
    session_status: str | None = None,
    tasks_url: str | None = None,
) -> str:
    """Return the URL ``redirect_to_sign_up`` would send the user to (arguments as for sign-in)."""
    target = _sign_up_target(options, request.parsed_url)
    return _build_for_status(
        target,
        request,
        options,
        return_back_url,
        session_status=session_status,
        tasks_url=tasks_url,
    )


def redirect_to_sign_in(
    request: AuthRequest,
    options: ClerkOptions,
    *,
    return_back_url: ReturnBackUrl = CURRENT_URL,
    session_status: str | None = None,
    tasks_url: str | None = None,
) -> NoReturn:
    """Stop the request with a 307 to the sign-in page.

    Raises:
        AuthRedirect: Always; adapters turn it into a 307 with ``x-clerk-redirect-to: true``.
    """
    location = build_sign_in_url(
        request,
        options,
        return_back_url=return_back_url,
        session_status=session_status,
        tasks_url=tasks_url,
    )
    raise AuthRedirect(location, (("x-clerk-redirect-to", "true"),))


def redirect_to_sign_up(
    request: AuthRequest,
    options: ClerkOptions,
    *,
    return_back_url: ReturnBackUrl = CURRENT_URL,
    session_status: str | None = None,
    tasks_url: str | None = None,
) -> NoReturn:
    """Stop the request with a 307 to the sign-up page.

    Raises:
        AuthRedirect: Always.
    """
    location = build_sign_up_url(
        request,
        options,
        return_back_url=return_back_url,
        session_status=session_status,
        tasks_url=tasks_url,
    )
    raise AuthRedirect(location, (("x-clerk-redirect-to", "true"),))


def unauthorized_headers(
    request: AuthRequest, options: ClerkOptions
) -> tuple[tuple[str, str], ...]:
    """The headers of ``protect()``'s 401: ``WWW-Authenticate`` for an OAuth access token.

    As ``clerkMiddleware`` answers a 401 when the request's token is an OAuth
    access token: ``Bearer resource_metadata="https://<frontend API>/.well-known/
    oauth-protected-resource"`` (RFC 9728), so an OAuth client can find the
    authorization server.

    Args:
        request: The current request.
        options: The configuration (its publishable key names the Frontend API).
    """
    token = bearer_token(request)
    if token is None or token_type_of(token) != "oauth_token":
        return ()
    metadata = f"https://{options.parsed_key.frontend_api}/.well-known/oauth-protected-resource"
    return (("www-authenticate", f'Bearer resource_metadata="{metadata}"'),)


def protect(
    auth: A,
    request: AuthRequest,
    options: ClerkOptions,
    predicate: Predicate | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: ReverificationPreset | ReverificationConfig | None = None,
    unauthenticated_url: str | None = None,
    unauthorized_url: str | None = None,
    tasks_url: str | None = None,
    treat_pending_as_signed_out: bool = True,
    token: AcceptsToken = "session_token",  # noqa: S107 - a token type
    scopes: Sequence[str] | None = None,
) -> A:
    """Let the request through only if it is authenticated (and authorized).

    As ``auth.protect()`` in ``@clerk/nextjs`` (``createProtect``): by default a
    pending session counts as signed out here whatever ``auth`` says, so a
    pending user can never pass, whatever role the token claims. ``auth`` is
    the request's auth object for the accepted ``token`` types
    (``RequestState.to_auth(accepts_token=token)``).

    Args:
        auth: The request's auth object.
        request: The current request.
        options: The configuration.
        predicate: Called with ``auth.has``; must return True to pass.
        role: Required organization role.
        permission: Required organization permission.
        feature: Required feature (``fea`` claim).
        plan: Required plan (``pla`` claim).
        reverification: Required reverification preset or config.
        unauthenticated_url: Send signed-out users here instead of sign-in (307).
        unauthorized_url: Send signed-in users who fail the check here instead of a 404.
        tasks_url: Send pending users to the app's own after-auth page (default:
            ``options.tasks_url``; without either, Clerk's ``<sign-in>/tasks``).
        treat_pending_as_signed_out: False lets a pending session through (pass the
            pending-aware auth object, ``to_auth(treat_pending_as_signed_out=False)``);
            authorization checks still apply.
        token: The accepted token types: ``"session_token"`` (the default), a
            machine type, ``"any"`` or a tuple of types. A request with a token of
            another type, or an unauthenticated machine token, gets a 401.
        scopes: Scopes a machine token must all carry (an addition to Clerk's
            ``protect``, whose ``has()`` is always False for machine tokens); a
            machine token without them gets a 401, a session never has them.

    Returns:
        The auth object, when the request may proceed.

    Raises:
        AuthRedirect: 307 to sign-in (page requests), ``unauthenticated_url`` or
            ``unauthorized_url``.
        AuthNotFound: 404 for non-page requests of signed-out users, and for
            authorization failures without ``unauthorized_url``.
        AuthUnauthorized: 401 for machine requests (Clerk's ``unauthorized()``),
            with ``WWW-Authenticate`` for an OAuth access token.
    """

    def unauthorized() -> NoReturn:
        # Clerk: a machine context (the object is not a session's, or sessions are
        # not accepted) gets a 401; a session gets unauthorized_url or a 404.
        machine_context = auth.token_type != "session_token" or not is_token_type_accepted(  # noqa: S105
            "session_token", token
        )
        if machine_context:
            raise AuthUnauthorized(unauthorized_headers(request, options))
        if unauthorized_url:
            raise AuthRedirect(parse_url(unauthorized_url, request.parsed_url).href)
        raise AuthNotFound((("x-clerk-auth-reason", "protect-rewrite"),))

    if not is_token_type_accepted(auth.token_type, token):
        unauthorized()
    if not isinstance(auth, Auth):
        if not auth.is_authenticated:
            unauthorized()
        asked = any(v is not None for v in (role, permission, feature, plan, reverification))
        if predicate is not None or asked:
            # Clerk evaluates them with has(), which is always False for machines.
            allowed = bool(predicate(auth.has)) if predicate is not None else False
            if not allowed:
                unauthorized()
        if scopes is not None:
            held = auth.scopes if isinstance(auth, MachineAuth) else None
            if not isinstance(held, list) or not set(scopes) <= set(held):
                unauthorized()
        return auth
    session: Auth = auth
    pending = session.session_status == "pending"
    if (pending and treat_pending_as_signed_out) or not session.is_signed_in or not session.user_id:
        if unauthenticated_url:
            target = parse_url(unauthenticated_url, request.parsed_url).href
            raise AuthRedirect(target)
        if is_page_request(request):
            redirect_to_sign_in(
                request,
                options,
                session_status="pending" if pending else None,
                tasks_url=tasks_url,
            )
        raise AuthNotFound((("x-clerk-auth-reason", "protect-rewrite"),))
    asked = any(v is not None for v in (role, permission, feature, plan, reverification))
    if scopes is not None:
        unauthorized()  # a session carries no scopes
    if predicate is None and not asked:
        return auth
    if predicate is not None:
        allowed = bool(predicate(session.has))
    else:
        allowed = session.has(
            role=role,
            permission=permission,
            feature=feature,
            plan=plan,
            reverification=reverification,
        )
    if allowed:
        return auth
    unauthorized()
