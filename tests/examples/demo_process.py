"""Run ``python -m examples.demo`` as a user does, and read what it prints."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class RunningDemo:
    """A demo process and the URLs its banner printed."""

    process: subprocess.Popen[bytes]
    banner: str
    app_url: str
    instance_url: str | None
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLERK_")}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def run_demo(
    folder: Path, *args: str, env: Mapping[str, str] | None = None
) -> Iterator[RunningDemo]:
    """Start the demo, wait for its banner, stop it (SIGTERM) afterwards."""
    log = folder / "demo-output.txt"
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed module, no shell
            [sys.executable, "-m", "examples.demo", *args],
            cwd=ROOT, env=_clean_env(env or {}), stdout=sink, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        text = ""
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if "Press Ctrl+C to stop." in text:
                break
            if process.poll() is not None:
                raise AssertionError(f"the demo exited with {process.returncode}:\n{text}")
            time.sleep(0.1)
        else:
            raise AssertionError(f"the demo printed no URL within {STARTUP_SECONDS} s:\n{text}")
        app = re.search(r"^Demo app: (http://\S+)$", text, re.M)
        instance = re.search(r"^Local Clerk instance: (http://\S+) ", text, re.M)
        assert app is not None, text
        yield RunningDemo(process, text, app.group(1), instance.group(1) if instance else None, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
