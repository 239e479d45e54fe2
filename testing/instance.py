"""Run a local Clerk instance: ``python -m clerk_middleware.testing.instance [--port N]``.

It serves the Backend and Frontend API endpoints the SDK talks to and its
sign-in and task pages (see ``LocalInstance``) on 127.0.0.1 until interrupted,
after printing its URLs and the environment variables that point an app at it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TextIO

from ._instance import LocalInstance
from ._issuer import TestIssuer

__all__ = ["main"]


def describe(instance: LocalInstance) -> str:
    """The banner: where the instance listens and how to point an app at it.

    Args:
        instance: A running instance.

    Returns:
        Text ending with ``export`` lines a shell can evaluate.
    """
    url = instance.url
    kind = "development" if instance.development else "production"
    lines = [
        f"Local Clerk instance ({kind}) listening on {url}",
        f"  Backend API:  {url}/v1/jwks, {url}/v1/clients/handshake_payload,",
        f"                {url}/v1/sessions/<sid>/refresh",
        f"                {url}/api_keys/verify, {url}/m2m_tokens/verify,",
        f"                {url}/oauth_applications/access_tokens/verify",
        f"  Frontend API: {url}/v1/client/handshake",
        f"  Pages:        {instance.sign_in_url} (sign in), {instance.sign_in_url}/tasks "
        "(choose an organization),",
        f"                {instance.sign_out_url}",
        "",
        "Point your app at it with:",
    ]
    lines += [f"export {name}={value}" for name, value in instance.env(pages=True).items()]
    return "\n".join(lines)


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the instance until interrupted (Ctrl+C, SIGTERM, or ``stop`` set).

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).
        out: Where to print the banner (default: standard output).
        stop: An event that ends the run when set (for embedding and tests).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m clerk_middleware.testing.instance",
        description="Serve a local stand-in for a Clerk instance on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument(
        "--frontend-api",
        default="happy-hippo-1.clerk.accounts.dev",
        help="Frontend API host named by the publishable key and the tokens' iss",
    )
    parser.add_argument(
        "--production", action="store_true", help="use a pk_live_ (production) instance"
    )
    parser.add_argument(
        "--require-organization",
        action="store_true",
        help="no personal accounts: a new session is pending until an organization is chosen",
    )
    args = parser.parse_args(argv)
    stream = out or sys.stdout
    stop = stop or threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
    issuer = TestIssuer(args.frontend_api, production=args.production)
    try:
        with LocalInstance(
            issuer, port=args.port, personal_accounts=not args.require_organization
        ) as instance:
            print(describe(instance), file=stream, flush=True)
            print("Press Ctrl+C to stop.", file=stream, flush=True)
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
