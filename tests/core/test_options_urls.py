"""sign_in_url, sign_up_url and tasks_url: absolute http(s) URLs or absolute paths only."""

from __future__ import annotations

from typing import Any

import pytest

from clerk_middleware.core import ClerkOptions, ConfigurationError
from clerk_middleware.testing import TestIssuer

OPTIONS = ("sign_in_url", "sign_up_url", "tasks_url")
VARIABLES = {"sign_in_url": "CLERK_SIGN_IN_URL", "sign_up_url": "CLERK_SIGN_UP_URL",
             "tasks_url": "CLERK_TASKS_URL"}


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("value", [
    "/sign-in", "/", "/onboarding/choose-organization?step=1", "https://accounts.example.com/sign-in",
    "http://localhost:3000/sign-in", "https://example.com", "",
])
def test_urls_and_absolute_paths_are_accepted(issuer: TestIssuer, option: str, value: str) -> None:
    setting: dict[str, Any] = {option: value}
    assert getattr(issuer.options(**setting), option) == value


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("value", [
    "sign-in",                      # relative: resolved against each request's path
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://example.com/sign-in",
    "//evil.example/sign-in",       # protocol-relative: another site
    "/\\evil.example/sign-in",      # browsers read it as //evil.example
    "https:///sign-in",             # no host
    "https://accounts.example.com/sign in",
    "/sign-in\r\nSet-Cookie: x=1",
    "\t/sign-in",
])
def test_other_values_fail_at_start_up(issuer: TestIssuer, option: str, value: str) -> None:
    setting: dict[str, Any] = {option: value}
    with pytest.raises(ConfigurationError) as caught:
        issuer.options(**setting)
    message = str(caught.value)
    assert message.startswith(f"{option} ({VARIABLES[option]}) must be an absolute http(s) URL")
    assert "a path starting with a single '/'" in message


@pytest.mark.parametrize("option", OPTIONS)
def test_non_strings_fail_at_start_up(issuer: TestIssuer, option: str) -> None:
    setting: dict[str, Any] = {option: ["/sign-in"]}
    with pytest.raises(ConfigurationError, match=option):
        issuer.options(**setting)


def test_a_bad_variable_is_named(issuer: TestIssuer) -> None:
    env = {"CLERK_SECRET_KEY": issuer.secret_key, "CLERK_PUBLISHABLE_KEY": issuer.publishable_key}
    for option, variable in VARIABLES.items():
        with pytest.raises(ConfigurationError) as caught:
            ClerkOptions.from_env({**env, variable: "javascript:alert(1)"})
        assert str(caught.value).startswith(f"{variable} must be"), option
        assert f"{option} (" not in str(caught.value)
