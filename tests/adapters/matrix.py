"""The shared table every adapter runs: the same request must give the same outcome.

Each adapter's test package builds an app with the same routes and returns a
``Client``: a function sending one request and returning a normalised
``Outcome``. The routes, all answering ``fields()`` of the auth object as JSON
when the request gets through:

``/handler/<action>``    the middleware handler performs the action
``/view/<action>``       the view performs it through the module-level ``auth``
``/decorated/<action>``  a ``@protect(...)`` decorator performs it
``/matcher/<rest>``      the handler calls a route matcher (malformed path -> 400)
``/view-matcher/<rest>`` the view calls it
``/teapot``              the handler short-circuits with a native 418 (adapter-specific)

Actions: ``protect``, ``protect-role`` (``role="org:admin"``), ``protect-tasks``
(per-call ``tasks_url``), ``redirect`` (``redirect_to_sign_in()``) and ``fields``;
a ``-aware`` suffix passes ``treat_pending_as_signed_out=False``.

Expectations below are written out by hand from CLERK_BEHAVIOR.md §11-12, not
computed by the code under test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from clerk_middleware.adapters._common import ClerkAuth, ControlHelper
from clerk_middleware.core import Auth
from clerk_middleware.core._routes import create_route_matcher
from clerk_middleware.testing import OrgClaims, TestIssuer

from ..conftest import NOW

BASE = "http://app.test"
QUERY = "?from=matrix"
SIGN_IN = "https://happy-hippo-1.accounts.dev/sign-in"
HANDSHAKE = "https://happy-hippo-1.clerk.accounts.dev/v1/client/handshake?"
DEV_BROWSER = "dvb_test"
TASKS_URL = "/onboarding/choose-organization"
CALL_TASKS_URL = "/welcome"
PAGE = {"sec-fetch-dest": "document", "accept": "text/html,application/xhtml+xml"}
API = {"sec-fetch-dest": "empty", "accept": "application/json"}
MISSING = "session-token-and-uat-missing"
EXPIRED = "session-token-expired-refresh-non-eligible-no-refresh-cookie"
SCENARIOS = ("signed-in", "pending", "pending-aware", "signed-out", "expired")
KINDS = ("page", "api")
SITES_ACTIONS = (
    ("handler", "protect"),
    ("handler", "protect-role"),
    ("handler", "redirect"),
    ("view", "protect"),
    ("view", "protect-role"),
    ("view", "redirect"),
    ("view", "fields"),
    ("decorated", "protect"),
    ("decorated", "protect-role"),
)
DECORATED_ACTIONS = ("protect", "protect-role", "protect-aware", "protect-role-aware")

is_secret = create_route_matcher(["/matcher/secret(.*)", "/view-matcher/secret(.*)"])


# --- what the apps do (framework-free; each adapter's app calls these) ---------------------


def fields(auth: Auth) -> dict[str, Any]:
    """The auth fields every successful response reports."""
    return {
        "user_id": auth.user_id,
        "session_status": auth.session_status,
        "org_id": auth.org_id,
        "org_role": auth.org_role,
        "is_signed_in": auth.is_signed_in,
    }


def _perform(auth: ClerkAuth, action: str) -> None:
    aware = action.endswith("-aware")
    base = action.removesuffix("-aware")
    treat = not aware
    if base == "protect":
        auth.protect(treat_pending_as_signed_out=treat)
    elif base == "protect-role":
        auth.protect(role="org:admin", treat_pending_as_signed_out=treat)
    elif base == "protect-tasks":
        auth.protect(tasks_url=CALL_TASKS_URL, treat_pending_as_signed_out=treat)
    elif base == "redirect":
        auth.redirect_to_sign_in()


def handler(auth: ClerkAuth, request: object) -> None:
    """The middleware handler shared by every adapter (native request unused)."""
    path = auth.request.path
    if path.startswith("/handler/"):
        _perform(auth, path.removeprefix("/handler/"))
    elif path.startswith("/matcher/") and is_secret(auth.request):
        auth.protect()


#: ``/view/machine-<name>`` actions: what the view asks of ``auth`` for machine tokens.
MACHINE_ACTIONS: dict[str, Callable[[ClerkAuth], Any]] = {
    "machine-m2m": lambda auth: auth.protect(token="m2m_token"),
    "machine-oauth": lambda auth: auth.protect(token="oauth_token"),
    "machine-scopes": lambda auth: auth.protect(token="m2m_token", scopes=["read"]),
    "machine-list": lambda auth: auth.protect(token=["session_token", "oauth_token"]),
    "machine-any": lambda auth: auth(accepts_token="any"),
    "machine-ask": lambda auth: auth(accepts_token="m2m_token"),
}


def machine_fields(found: Any) -> dict[str, Any]:
    """The fields of whatever object a machine action returned."""
    return {
        "kind": type(found).__name__,
        "token_type": found.token_type,
        "is_authenticated": found.is_authenticated,
        "subject": getattr(found, "subject", None),
        "user_id": getattr(found, "user_id", None),
        "scopes": getattr(found, "scopes", None),
    }


def view_body(auth: ClerkAuth) -> dict[str, Any]:
    """What every view answers: perform the ``/view/`` action, then report the fields."""
    path = auth.request.path
    machine = MACHINE_ACTIONS.get(path.removeprefix("/view/"))
    if machine is not None and path.startswith("/view/"):
        return machine_fields(machine(auth))
    if path.startswith("/view/"):
        _perform(auth, path.removeprefix("/view/"))
    elif path.startswith("/view-matcher/") and is_secret(auth.request):
        auth.protect()
    aware = path.endswith("-aware")
    return fields(auth(treat_pending_as_signed_out=not aware))


def decorated(protect: Callable[..., ControlHelper]) -> dict[str, ControlHelper]:
    """The four ``@protect`` variants, by action."""
    return {
        "protect": protect(),
        "protect-role": protect(role="org:admin"),
        "protect-aware": protect(treat_pending_as_signed_out=False),
        "protect-role-aware": protect(role="org:admin", treat_pending_as_signed_out=False),
    }


# --- requests and outcomes -------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A response, reduced to what the table compares."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def values(self, name: str) -> list[str]:
        """All values of header ``name`` (lower case), in order."""
        return [v for k, v in self.headers if k == name]

    @property
    def location(self) -> str | None:
        """The location header, if any."""
        found = self.values("location")
        return found[0] if found else None

    def comparable(self) -> tuple[Any, ...]:
        """What must be identical across adapters."""
        # By name, each name's values in order: the order of different field names
        # carries no meaning (RFC 9110 5.3), and Django keeps one field per name.
        clerk = tuple(sorted(((k, v) for k, v in self.headers if k.startswith("x-clerk-")),
                             key=lambda field: field[0]))
        cookies = tuple(self.values("set-cookie"))
        body = json.loads(self.body) if self.status == 200 else None
        return (self.status, self.location, clerk, cookies, body)


#: ``client(path, headers) -> Outcome``; path includes the query string.
Client = Callable[[str, Mapping[str, str]], Outcome]


def settings(issuer: TestIssuer, **extra: Any) -> dict[str, Any]:
    """``clerk_middleware(**settings(issuer))``: networkless options for ``issuer``."""
    return {
        "secret_key": issuer.secret_key,
        "publishable_key": issuer.publishable_key,
        "jwt_key": issuer.jwt_key,
        "clock": issuer.clock,
        **extra,
    }


def cookie_header(issuer: TestIssuer, scenario: str) -> str:
    """The Cookie header of a browser in ``scenario`` on the development instance."""
    uat = int(NOW) - 3600
    token = {
        "signed-in": lambda: issuer.session_token(org=OrgClaims(id="org_1", role="admin")),
        "pending": issuer.pending_token,
        "pending-aware": issuer.pending_token,
        "expired": issuer.expired_token,
    }.get(scenario)
    if token is None:
        return f"__clerk_db_jwt={DEV_BROWSER}; __client_uat=0"
    return f"__clerk_db_jwt={DEV_BROWSER}; __client_uat={uat}; __session={token()}"


def request_headers(issuer: TestIssuer, scenario: str, kind: str) -> dict[str, str]:
    """Headers of a page or API request in ``scenario``."""
    return {**(PAGE if kind == "page" else API), "cookie": cookie_header(issuer, scenario)}


@dataclass(frozen=True)
class Expected:
    """What a case must answer."""

    status: int
    location: str | None = None
    redirect_to: bool = False
    auth_status: tuple[str, ...] = ()
    auth_reason: tuple[str, ...] = ()
    body: dict[str, Any] | None = None
    location_prefix: str | None = None
    set_cookie: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Case:
    """One row of the table."""

    scenario: str
    kind: str
    site: str
    action: str
    tasks_url: str | None = None

    @property
    def id(self) -> str:
        """The pytest id."""
        extra = "-tasks_url" if self.tasks_url else ""
        return f"{self.scenario}-{self.kind}-{self.site}-{self.action}{extra}"

    @property
    def path(self) -> str:
        """The request path, with the ``-aware`` suffix for pending-aware."""
        suffix = "-aware" if self.scenario == "pending-aware" else ""
        return f"/{self.site}/{self.action}{suffix}{QUERY}"

    def expected(self) -> Expected:
        """The hand-written expectation."""
        return _expected(self)


def _sign_in(case: Case, target: str = SIGN_IN, *, dev_browser: bool = True) -> str:
    back = quote(f"{BASE}{case.path}", safe="")
    extra = f"&__clerk_db_jwt={DEV_BROWSER}" if dev_browser else ""
    return f"{target}?redirect_url={back}{extra}"


SIGNED_IN_FIELDS = {
    "user_id": "user_2abc", "session_status": "active", "org_id": "org_1",
    "org_role": "org:admin", "is_signed_in": True,
}
PENDING_FIELDS = {
    "user_id": None, "session_status": "pending", "org_id": None, "org_role": None,
    "is_signed_in": False,
}
PENDING_AWARE_FIELDS = {
    "user_id": "user_2abc", "session_status": "pending", "org_id": None, "org_role": None,
    "is_signed_in": True,
}
SIGNED_OUT_FIELDS = {
    "user_id": None, "session_status": None, "org_id": None, "org_role": None,
    "is_signed_in": False,
}


def _expected(case: Case) -> Expected:
    scenario, page, action = case.scenario, case.kind == "page", case.action
    if scenario == "expired" and page:
        # The handshake answers before the handler or the app runs.
        return Expected(
            307, location_prefix=HANDSHAKE, auth_status=("handshake",), auth_reason=(EXPIRED,),
            set_cookie=("__clerk_redirect_count=1; SameSite=Lax; HttpOnly; Max-Age=2",),
        )
    reason: tuple[str, ...] = {"signed-out": (MISSING,), "expired": (EXPIRED,)}.get(scenario, ())
    # Signed-out states carry debug headers on every response; signed-in ones none.
    debug = Expected(0, auth_status=("signed-out",) if reason else (), auth_reason=reason)
    bodies: dict[str, dict[str, Any]] = {
        "signed-in": SIGNED_IN_FIELDS, "pending": PENDING_FIELDS,
        "pending-aware": PENDING_AWARE_FIELDS,
    }
    body = bodies.get(scenario, SIGNED_OUT_FIELDS)
    pending = scenario in {"pending", "pending-aware"}
    not_found = replace(debug, status=404, auth_reason=("protect-rewrite", *reason))
    if action == "fields":
        return replace(debug, status=200, body=body)
    if action == "redirect":
        target = f"{SIGN_IN}/tasks" if pending else SIGN_IN
        return replace(debug, status=307, location=_sign_in(case, target), redirect_to=True)
    if scenario not in {"signed-in", "pending-aware"}:
        if not page:
            return not_found
        if scenario == "pending":
            if action == "protect-tasks":
                own = _sign_in(case, f"{BASE}{CALL_TASKS_URL}", dev_browser=False)
            elif case.tasks_url:
                own = _sign_in(case, f"{BASE}{case.tasks_url}", dev_browser=False)
            else:
                own = _sign_in(case, f"{SIGN_IN}/tasks")
            return Expected(307, location=own, redirect_to=True)
        return replace(debug, status=307, location=_sign_in(case), redirect_to=True)
    if action == "protect-role" and scenario == "pending-aware":
        return not_found  # no active organization yet
    return Expected(200, body=body)


def main_cases() -> list[Case]:
    """The full product: scenarios x kinds x (site, action)."""
    return [
        Case(scenario, kind, site, action)
        for scenario in SCENARIOS
        for kind in KINDS
        for site, action in SITES_ACTIONS
    ]


def tasks_cases() -> list[Case]:
    """``tasks_url``: middleware-wide and per call; signed-out users still go to sign-in."""
    return [
        Case("pending", "page", "view", "protect", tasks_url=TASKS_URL),
        Case("pending", "page", "decorated", "protect", tasks_url=TASKS_URL),
        Case("pending", "page", "view", "protect-tasks"),
        Case("pending", "api", "view", "protect-tasks"),
        Case("signed-out", "page", "view", "protect", tasks_url=TASKS_URL),
        Case("signed-in", "page", "view", "protect", tasks_url=TASKS_URL),
    ]


ALL_CASES = main_cases() + tasks_cases()
#: A few cases for the real-server smoke tests.
SMOKE_CASES = [
    Case("signed-in", "page", "view", "protect"),
    Case("signed-out", "page", "decorated", "protect"),
    Case("pending", "page", "handler", "protect"),
    Case("signed-in", "api", "view", "protect-role"),
    Case("expired", "page", "view", "protect"),
]


def check(case: Case, outcome: Outcome) -> None:
    """Assert that ``outcome`` is what ``case`` expects."""
    want = case.expected()
    assert outcome.status == want.status, (outcome.status, outcome.body[:200])
    if want.location_prefix is not None:
        assert (outcome.location or "").startswith(want.location_prefix), outcome.location
    else:
        assert outcome.location == want.location
    assert outcome.values("x-clerk-redirect-to") == (["true"] if want.redirect_to else [])
    assert tuple(outcome.values("x-clerk-auth-status")) == want.auth_status
    assert tuple(outcome.values("x-clerk-auth-reason")) == want.auth_reason
    assert tuple(outcome.values("set-cookie")) == want.set_cookie
    if want.body is not None:
        assert json.loads(outcome.body) == want.body
    if case.scenario == "expired" and case.kind == "api":
        # The debug message says why, but never carries the token.
        (message,) = outcome.values("x-clerk-auth-message")
        assert "JWT is expired" in message
        assert "eyJ" not in message


def run_case(
    client_for: Callable[[str | None], Client], issuer: TestIssuer, case: Case
) -> Outcome:
    """Send ``case`` through the client for its ``tasks_url`` setting and check it."""
    headers = request_headers(issuer, case.scenario, case.kind)
    outcome = client_for(case.tasks_url)(case.path, headers)
    check(case, outcome)
    return outcome


def ids(cases: list[Case]) -> list[str]:
    """pytest ids."""
    return [case.id for case in cases]
