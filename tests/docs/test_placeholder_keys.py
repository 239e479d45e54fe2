"""The placeholder keys docs/testing.md gives for apps built at import time are valid keys."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from clerk_middleware.core import ClerkOptions

ROOT = Path(__file__).resolve().parents[2]
SETTING = re.compile(r'os\.environ\.setdefault\("(?P<name>CLERK_\w+)", "(?P<value>[^"]+)"\)')


def placeholders() -> dict[str, str]:
    page = (ROOT / "docs" / "testing.md").read_text()
    found = {m["name"]: m["value"] for m in SETTING.finditer(page)}
    assert set(found) == {"CLERK_SECRET_KEY", "CLERK_PUBLISHABLE_KEY"}, found
    return found


def test_the_publishable_key_names_the_example_instance() -> None:
    key = placeholders()["CLERK_PUBLISHABLE_KEY"]
    assert key.startswith("pk_test_")
    assert base64.b64decode(key.removeprefix("pk_test_"), validate=True) == (
        b"example.clerk.accounts.dev$")
    assert "example.clerk.accounts.dev$" in (ROOT / "docs/testing.md").read_text()


def test_an_app_reading_the_placeholders_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in placeholders().items():
        monkeypatch.setenv(name, value)
    options = ClerkOptions.from_env()
    assert options.parsed_key.instance_type == "development"
    assert options.parsed_key.frontend_api == "example.clerk.accounts.dev"
