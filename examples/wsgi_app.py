"""Any WSGI app with Clerk, served by the standard library.

Run it with keys from https://dashboard.clerk.com/~/api-keys (or from
``python -m clerk_middleware.testing.instance``)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    python examples/wsgi_app.py
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from wsgiref.simple_server import make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from clerk_middleware.adapters.wsgi import ClerkAuth, auth, clerk_middleware
from clerk_middleware.core import create_route_matcher

is_private = create_route_matcher(["/private(.*)"])
is_admin = create_route_matcher(["/admin(.*)"])


def handler(auth: ClerkAuth, environ: WSGIEnvironment) -> None:
    if is_private(auth.request):
        auth.protect()
    if is_admin(auth.request):
        auth.protect(role="org:admin")


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    me = auth(treat_pending_as_signed_out=False)
    body = json.dumps({
        "user_id": auth().user_id,                 # None when signed out or pending
        "session_status": me.session_status,       # "pending" while a task is open
        "org_role": auth().org_role,
    }).encode()
    start_response("200 OK", [("content-type", "application/json"),
                              ("content-length", str(len(body)))])
    return [body]


application = clerk_middleware(handler)(app)

if __name__ == "__main__":
    with make_server("127.0.0.1", 8000, application) as server:
        print("Serving on http://127.0.0.1:8000 (try /private and /admin)")
        server.serve_forever()
