"""Install Debian's Chromium for the browser tests when it is missing (tox runs this first).

``python -m tox`` must pass on a fresh Debian machine, where the browser
tests (``tests/e2e``) find no Chromium. This step does nothing when
``CHROMIUM`` names a browser or ``chromium`` is on ``PATH``; otherwise, as
root with ``apt-get`` at hand, it runs ``apt-get update`` and ``apt-get install
chromium``, quietly. Anywhere else it says how to get one and leaves the
browser tests to fail with the same advice.

Exit status: 0 when Chromium is there (or cannot be installed here), 1 when
installing it failed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

PACKAGE = "chromium"
ADVICE = (
    "Install Chromium (Debian: apt-get install -y chromium), or set CHROMIUM to a "
    "Chromium binary: the browser tests in tests/e2e need one."
)


def present(env: Mapping[str, str]) -> str | None:
    """The browser the tests will use, if there is one.

    Args:
        env: The environment (``CHROMIUM``, ``PATH``).

    Returns:
        ``CHROMIUM`` when set, else the ``chromium`` on ``PATH``, else None.
    """
    named = env.get("CHROMIUM")
    if named:
        return named
    return shutil.which("chromium", path=env.get("PATH"))


def commands(apt_get: str) -> list[list[str]]:
    """What installs the package: the package lists first, then the package, quietly.

    Args:
        apt_get: The ``apt-get`` to run.

    Returns:
        The command lines, in order.
    """
    return [
        [apt_get, "update", "-qq"],
        [apt_get, "install", "-y", "-qq", PACKAGE],
    ]


def main(env: Mapping[str, str] | None = None, *, root: bool | None = None) -> int:
    """Install Chromium when the browser tests would find none.

    Args:
        env: The environment (default: ``os.environ``).
        root: Whether this process may install packages (default: it runs as root).

    Returns:
        The exit status.
    """
    env = dict(os.environ if env is None else env)
    root = os.geteuid() == 0 if root is None else root
    found = present(env)
    if found:
        if not Path(found).is_file():
            print(f"CHROMIUM={found} is not a file. {ADVICE}", file=sys.stderr)
        return 0
    apt_get = shutil.which("apt-get", path=env.get("PATH"))
    if apt_get is None or not root:
        why = "no apt-get" if apt_get is None else "not root"
        print(f"Chromium is missing and cannot be installed here ({why}). {ADVICE}",
              file=sys.stderr)
        return 0
    print("Installing Debian's chromium for the browser tests (apt-get)...", flush=True)
    quiet = {**env, "DEBIAN_FRONTEND": "noninteractive"}
    for command in commands(apt_get):
        done = subprocess.run(  # noqa: S603 - apt-get from PATH, fixed arguments, no shell
            command, env=quiet, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, check=False,
        )
        if done.returncode != 0:
            print(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}",
                  file=sys.stderr)
            return 1
    if present(env) is None:
        print(f"apt-get installed {PACKAGE}, but no chromium is on PATH. {ADVICE}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
