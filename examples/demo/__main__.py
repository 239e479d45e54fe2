"""Run the demo: ``python -m examples.demo [--port 3000]``.

Without ``CLERK_*`` keys it starts a local Clerk instance on 127.0.0.1 (no
account, no network) with two users of "Acme Inc": Ada Lovelace, a member who
must choose an organization after signing in, and Grace Hopper, an admin.
With ``CLERK_SECRET_KEY`` and ``CLERK_PUBLISHABLE_KEY`` set, the same app runs
against that Clerk instance and its Account Portal instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from clerk_middleware.testing import LocalInstance, TestIssuer

from .app import create_app

log = logging.getLogger("examples.demo")


class _Requests(WSGIRequestHandler):
    """One short line per request: method, path (no query: it carries handshake nonces)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("%s %s -> %s", self.command, urlsplit(self.path).path, code)


def seed(instance: LocalInstance) -> None:
    """Acme Inc, with Ada (a member who must choose it) and Grace (an admin who chose it)."""
    acme = instance.create_organization("Acme Inc", slug="acme", organization_id="org_acme")
    ada = instance.create_user(
        user_id="user_ada", first_name="Ada", last_name="Lovelace", email_address="ada@example.com"
    )
    instance.add_membership(ada, acme, role="member", permissions=["org:invoices:read"])
    grace = instance.create_user(
        user_id="user_grace", first_name="Grace", last_name="Hopper",
        email_address="grace@example.com",
    )
    instance.add_membership(
        grace, acme, role="admin", permissions=["org:invoices:read", "org:invoices:manage"]
    )
    instance.set_last_active_organization(grace, acme)


def local_settings(instance: LocalInstance) -> dict[str, Any]:
    """The options that point the app at ``instance``: its keys, APIs and sign-in pages."""
    return {
        "secret_key": instance.secret_key,
        "publishable_key": instance.publishable_key,
        "api_url": instance.url,
        "proxy_url": instance.url,
        "sign_in_url": instance.sign_in_url,
        "sign_up_url": instance.sign_up_url,
    }


def _free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _serve(host: str, port: int, settings: dict[str, Any], sign_out: str | None) -> BaseWSGIServer:
    app = create_app(sign_out_url=sign_out, **settings)
    if port and not _free(host, port):
        print(f"Port {port} is taken; using a free one.", flush=True)
        port = 0
    return make_server(host, port, app, threaded=True, request_handler=_Requests)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the demo (and the local instance) and serve until Ctrl+C or SIGTERM.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address of the app")
    parser.add_argument("--port", type=int, default=3000, help="app port (0: a free one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="  %(message)s")
    signal.signal(signal.SIGTERM, _stop)

    real = bool(os.environ.get("CLERK_SECRET_KEY") and os.environ.get("CLERK_PUBLISHABLE_KEY"))
    instance: LocalInstance | None = None
    if real:
        server = _serve(args.host, args.port, {}, None)
        print("clerk-middleware demo, against your Clerk instance (CLERK_* keys set)", flush=True)
    else:
        issuer = TestIssuer("demo-app-1.clerk.accounts.dev")
        instance = LocalInstance(issuer, personal_accounts=False)
        seed(instance.start())
        server = _serve(args.host, args.port, local_settings(instance), instance.sign_out_url)
        print("clerk-middleware demo, offline: a local Clerk instance, no account needed\n"
              f"Local Clerk instance: {instance.url} (sign-in page: {instance.sign_in_url})",
              flush=True)
    app_url = f"http://{args.host}:{server.server_port}"
    print(f"Demo app: {app_url}\n\nOpen {app_url}/dashboard in your browser.", flush=True)
    if instance is not None:
        print(
            "  1. You land on the sign-in page: pick Ada Lovelace (she must choose an\n"
            "     organization).\n"
            "  2. Her session is pending: /dashboard sends her to 'Choose an organization',\n"
            f"     and {app_url}/ shows 'pending: choose an organization'.\n"
            "  3. Choose Acme Inc: the session becomes active; /dashboard shows her organization.\n"
            "  4. /admin needs role org:admin: 404 for Ada. Grace Hopper (an admin) gets in.",
            flush=True,
        )
    print("Press Ctrl+C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if instance is not None:
            instance.close()
    return 0


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
