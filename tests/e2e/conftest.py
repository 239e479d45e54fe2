"""Fixtures for the browser tests: Debian's Chromium under Playwright, a screenshot folder.

Chromium is required, never skipped: the default tox env installs it when it
is missing (``tests/e2e/install_chromium.py``, Debian's ``chromium``). Set
``CHROMIUM`` to use another binary and ``E2E_SCREENSHOTS`` to keep the
screenshots in a given folder (default: a new temporary folder, printed at the
end of the run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

#: Chromium's flags here: no sandbox (root in a container), nothing that phones
#: home, and every request that is not for 127.0.0.1 sent to a closed port.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--no-default-browser-check",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
]
_FOLDERS: list[Path] = []


def chromium_path() -> str:
    """Where Chromium is; fails the test (no skip) when it is missing."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(
            f"Chromium is missing (looked for {path!r}). The browser tests need Debian's "
            "chromium: `apt-get install -y chromium` (`python -m tox` installs it), or set "
            "CHROMIUM to a Chromium binary.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder for this run's screenshots (kept after the run, as CI artifacts)."""
    wanted = os.environ.get("E2E_SCREENSHOTS")
    if wanted:
        folder = Path(wanted).resolve()
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="clerk-middleware-e2e-"))
    _FOLDERS.append(folder)
    return folder


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    """A headless Chromium with a fresh profile (no cookies, no cache)."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.fail("The browser tests need Playwright: pip install playwright", pytrace=False)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 800},
        )
        context.set_default_timeout(20_000)
        try:
            yield context
        finally:
            context.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say where the screenshots are."""
    for folder in _FOLDERS:
        terminalreporter.write_line(f"e2e screenshots: {folder}")
