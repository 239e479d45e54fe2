"""Any WSGI app with Clerk, served by the standard library.

Run (keys from https://dashboard.clerk.com/~/api-keys)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    python examples/wsgi_app.py
"""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.simple_server import make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from clerk_middleware.adapters.wsgi import ClerkAuth, auth, clerk_middleware


def handler(auth: ClerkAuth, environ: WSGIEnvironment) -> None:
    if environ.get("PATH_INFO", "").startswith("/private"):
        auth.protect()


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    body = f"user: {auth().user_id or 'signed out'}\n".encode()
    start_response("200 OK", [("content-type", "text/plain"), ("content-length", str(len(body)))])
    return [body]


application = clerk_middleware(handler)(app)

if __name__ == "__main__":
    with make_server("127.0.0.1", 8000, application) as server:
        print("Serving on http://127.0.0.1:8000 (try /private)")
        server.serve_forever()
