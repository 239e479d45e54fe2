"""A terminal demo: one Clerk instance, four requests, four answers, no network.

It mints real RS256 session tokens with ``TestIssuer`` and runs them through
``authenticate_request``, showing how a pending session differs from an active
one. Run: ``python examples/demo_cli.py``.
"""

from __future__ import annotations

import time

from clerk_middleware.core import AuthRequest, authenticate_request
from clerk_middleware.testing import OrgClaims, TestIssuer


def show(title: str, cookie: str | None, authorization: str | None = None) -> None:
    """Authenticate one request and print what a handler would see."""
    headers = {"accept": "text/html", "sec-fetch-dest": "document"}
    if cookie:
        headers["cookie"] = cookie
    if authorization:
        headers["authorization"] = authorization
    state = authenticate_request(
        AuthRequest("GET", "http://localhost:3000/dashboard", headers), OPTIONS
    )
    print(f"\n== {title}")
    print(f"   status: {state.status.value}   reason: {state.reason}")
    auth = state.to_auth()
    if auth is None:
        print(f"   -> handshake redirect to {state.location[:90] if state.location else ''}...")
        return
    print(f"   auth().user_id = {auth.user_id!r}   session_status = {auth.session_status!r}")
    pending_aware = state.to_auth(treat_pending_as_signed_out=False)
    assert pending_aware is not None
    print(
        "   auth(treat_pending_as_signed_out=False).user_id = "
        f"{pending_aware.user_id!r}   org_role = {pending_aware.org_role!r}"
    )
    print(f"   has(role='org:admin') = {auth.has(role='org:admin')}")


ISSUER = TestIssuer("demo-instance-1.clerk.accounts.dev", clock=time.time)
OPTIONS = ISSUER.options()

if __name__ == "__main__":
    print("clerk-middleware demo: a local test instance, no Clerk account, no network.")
    active = ISSUER.session_token(org=OrgClaims(id="org_acme", slug="acme", role="admin"))
    pending = ISSUER.pending_token()
    uat = f"__client_uat={int(time.time()) - 30}; __clerk_db_jwt=dvb_demo"
    show("signed in, organization admin", f"{uat}; __session={active}")
    show("pending: signed in but must choose an organization", f"{uat}; __session={pending}")
    show("signed out: no cookies at all", "__clerk_db_jwt=dvb_demo")
    old_uat = f"__client_uat={int(time.time()) - 600}; __clerk_db_jwt=dvb_demo"
    show(
        "expired token on a page request -> handshake",
        f"{old_uat}; __session={ISSUER.expired_token()}",
    )
