"""Publishable keys, derived values, and configuration errors at start-up."""

from __future__ import annotations

import pytest

from clerk_middleware.core import ClerkOptions, ConfigurationError, OrganizationSyncOptions
from clerk_middleware.core._keys import (
    accounts_base_url,
    atob,
    cookie_suffix,
    parse_publishable_key,
)
from clerk_middleware.testing import TestIssuer


@pytest.mark.parametrize(
    ("key", "instance", "frontend_api"),
    [
        ("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k", "production", "clerk.example.com"),
        ("pk_test_Y2xlcmsuZXhhbXBsZS5jb20k", "development", "clerk.example.com"),
        # Padding is optional for atob-style decoding.
        ("pk_test_Y2xlcmsuZXhhbXBsZS5jb20k", "development", "clerk.example.com"),
        (
            "pk_test_aGFwcHktaGlwcG8tMS5jbGVyay5hY2NvdW50cy5kZXYk",
            "development",
            "happy-hippo-1.clerk.accounts.dev",
        ),
    ],
)
def test_parse_publishable_key(key: str, instance: str, frontend_api: str) -> None:
    parsed = parse_publishable_key(key)
    assert parsed.instance_type == instance
    assert parsed.frontend_api == frontend_api


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("", "missing"),
        (None, "missing"),
        ("sk_test_abc", "expected format"),
        ("pk_test_a_b", "expected format"),
        ("pk_test_!!!!", "failed to decode"),
        ("pk_test_Y2xlcmsuZXhhbXBsZS5jb20", "invalid format"),  # no trailing $
        ("pk_test_Y2xlcmskZXhhbXBsZS5jb20k", "invalid format"),  # two $
        ("pk_test_Y2xlcmtleGFtcGxlY29tJA", "invalid format"),  # no dot
    ],
)
def test_bad_publishable_keys_name_the_variable(key: str | None, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_publishable_key(key, variable="CLERK_PUBLISHABLE_KEY")
    assert fragment in str(info.value)
    assert "CLERK_PUBLISHABLE_KEY" in str(info.value)


def test_atob_is_forgiving_like_the_browser() -> None:
    assert atob("YQ") == "a"
    assert atob("YQ==") == "a"
    assert atob(" Y Q = = ") == "a"
    assert atob("Y") is None
    assert atob("YQ=") is None
    assert atob("Y-Q") is None


def test_cookie_suffix_matches_clerk() -> None:
    # Values computed with @clerk/shared 4.41.0 getCookieSuffix.
    assert cookie_suffix("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k") == "naoXFJnI"
    assert cookie_suffix("pk_test_aGFwcHktaGlwcG8tMS5jbGVyay5hY2NvdW50cy5kZXYk") == "MWTw9P_R"


@pytest.mark.parametrize(
    ("fapi", "expected"),
    [
        ("clerk.example.com", "https://accounts.example.com"),
        ("happy-hippo-1.clerk.accounts.dev", "https://happy-hippo-1.accounts.dev"),
        ("foo.clerk.accountsstage.dev", "https://foo.accountsstage.dev"),
        ("", ""),
    ],
)
def test_accounts_base_url(fapi: str, expected: str) -> None:
    assert accounts_base_url(fapi) == expected


def test_options_require_secret_and_publishable_key(issuer: TestIssuer) -> None:
    with pytest.raises(ConfigurationError, match="CLERK_SECRET_KEY"):
        ClerkOptions(publishable_key=issuer.publishable_key)
    with pytest.raises(ConfigurationError, match="CLERK_PUBLISHABLE_KEY"):
        ClerkOptions(secret_key=issuer.secret_key)


def test_options_reject_bad_jwt_key(issuer: TestIssuer) -> None:
    with pytest.raises(ConfigurationError, match="CLERK_JWT_KEY"):
        issuer.options(jwt_key="-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----")


def test_jwt_key_accepts_escaped_newlines_and_bare_base64(issuer: TestIssuer) -> None:
    pem = issuer.jwt_key
    escaped = pem.replace("\n", "\\n")
    bare = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    for variant in (pem, escaped, bare):
        assert issuer.options(jwt_key=variant).public_key is not None


def test_options_reject_non_rsa_jwt_key(issuer: TestIssuer) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ConfigurationError, match="RSA"):
        issuer.options(jwt_key=ec_pem)


def test_satellite_configuration_is_checked(issuer: TestIssuer) -> None:
    with pytest.raises(ConfigurationError, match="sign_in_url"):
        issuer.options(is_satellite=True, domain="sat.example.com")
    with pytest.raises(ConfigurationError, match="domain"):
        issuer.options(is_satellite=True, sign_in_url="https://primary.example.com/sign-in")
    with pytest.raises(ConfigurationError, match="absolute"):
        issuer.options(is_satellite=True, domain="sat.example.com", sign_in_url="/sign-in")
    ok = issuer.options(
        is_satellite=True, domain="sat.example.com", sign_in_url="https://primary.example.com/s"
    )
    assert ok.is_satellite


def test_bad_urls_and_skew_are_rejected(issuer: TestIssuer) -> None:
    with pytest.raises(ConfigurationError, match="api_url"):
        issuer.options(api_url="ftp://x")
    with pytest.raises(ConfigurationError, match="proxy_url"):
        issuer.options(proxy_url="clerk-proxy")
    with pytest.raises(ConfigurationError, match="clock_skew_in_ms"):
        issuer.options(clock_skew_in_ms="5s")
    with pytest.raises(ConfigurationError, match="sign_in_url"):
        issuer.options(sign_in_url="/sign-in\r\nSet-Cookie: x=1")
    with pytest.raises(ConfigurationError, match="Invalid path"):
        issuer.options(
            organization_sync_options=OrganizationSyncOptions(organization_patterns=("/o/:",))
        )


def test_from_env_reads_variables_and_overrides_win(issuer: TestIssuer) -> None:
    env = {
        "CLERK_SECRET_KEY": issuer.secret_key,
        "CLERK_PUBLISHABLE_KEY": issuer.publishable_key,
        "CLERK_JWT_KEY": issuer.jwt_key,
        "CLERK_SIGN_IN_URL": "/sign-in",
        "CLERK_IS_SATELLITE": "false",
        "CLERK_API_URL": "http://127.0.0.1:9",
        "CLERK_TASKS_URL": "/onboarding",
    }
    options = ClerkOptions.from_env(env, sign_in_url="/login")
    assert options.tasks_url == "/onboarding"
    assert options.sign_in_url == "/login"
    assert options.api_url == "http://127.0.0.1:9"
    assert options.public_key is not None
    assert options.is_satellite is False


def test_from_env_rejects_unknown_options_and_bad_booleans(issuer: TestIssuer) -> None:
    env = {"CLERK_SECRET_KEY": issuer.secret_key, "CLERK_PUBLISHABLE_KEY": issuer.publishable_key}
    with pytest.raises(ConfigurationError, match="Unknown option"):
        ClerkOptions.from_env(env, secrit_key="x")
    with pytest.raises(ConfigurationError, match="CLERK_IS_SATELLITE"):
        ClerkOptions.from_env({**env, "CLERK_IS_SATELLITE": "maybe"})


def test_from_env_defaults_to_os_environ(
    issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", issuer.secret_key)
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", issuer.publishable_key)
    assert ClerkOptions.from_env().publishable_key == issuer.publishable_key


def test_secret_key_not_in_repr(issuer: TestIssuer) -> None:
    options = issuer.options()
    assert issuer.secret_key not in repr(options)
    assert issuer.secret_key not in str(options)
