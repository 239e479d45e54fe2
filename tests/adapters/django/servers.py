"""Django projects served for real: gunicorn (WSGI) or uvicorn (ASGI) in a child process.

``serve(server, app, env, cwd=..., prefix=...)`` runs ``gunicorn APP`` or
``uvicorn APP`` on a socket made here (passed as a file descriptor, so the port
is known before the child starts) until the block ends, and yields the base
URL. ``prefix`` is gunicorn's ``SCRIPT_NAME`` or uvicorn's ``--root-path``.
The child is terminated, then killed, when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from ...reliability._servers import REPO_ROOT, listening_socket, stop_process, wait_until_serving


def command(server: str, app: str, fd: int, prefix: str) -> list[str]:
    """The child's command line: gunicorn or uvicorn serving ``app`` on ``fd``."""
    if server == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "-b", f"fd://{fd}", "-w", "1",
                "--threads", "2", "--graceful-timeout", "1", "--timeout", "30",
                "--log-level", "warning", app]
    if server == "uvicorn":
        argv = [sys.executable, "-m", "uvicorn", "--fd", str(fd), "--log-level", "warning",
                "--no-access-log", "--lifespan", "off", "--http", "h11",
                "--timeout-graceful-shutdown", "1"]
        if prefix:
            argv += ["--root-path", prefix]
        if app.endswith("()"):
            argv += ["--factory", app.removesuffix("()")]
        else:
            argv.append(app)
        return argv
    raise ValueError(f"unknown server {server!r}")


@contextlib.contextmanager
def serve(
    server: str, app: str, env: Mapping[str, str], *, cwd: Path = REPO_ROOT, prefix: str = ""
) -> Iterator[str]:
    """Run ``app`` under ``server`` until the block ends; yields ``http://127.0.0.1:<port>``.

    Args:
        server: ``gunicorn`` or ``uvicorn``.
        app: ``module:attribute``, or ``module:factory()`` (a function returning the app).
        env: Extra environment (``DJANGO_SETTINGS_MODULE``, ``CLERK_*``...).
        cwd: The child's working directory (on its ``sys.path``, with the repository).
        prefix: gunicorn's ``SCRIPT_NAME``, uvicorn's ``root_path``.
    """
    sock = listening_socket()
    port = int(sock.getsockname()[1])
    fd = sock.fileno()
    paths = [str(cwd), str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    child_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(paths)}
    if server == "gunicorn" and prefix:
        child_env["SCRIPT_NAME"] = prefix
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            command(server, app, fd, prefix), cwd=cwd, env=child_env, pass_fds=(fd,),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )
        sock.close()  # the child holds it now
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, process, log)
            yield url
        finally:
            stop_process(process)
