"""The secret key's form and instance type are checked at start-up, never echoed."""

from __future__ import annotations

import pytest

from clerk_middleware.core import ClerkOptions, ConfigurationError
from clerk_middleware.testing import TestIssuer

BODY = "A1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvWxYz0123"


def refused(**values: object) -> str:
    """The message of the ConfigurationError raised for ``values``."""
    with pytest.raises(ConfigurationError) as caught:
        ClerkOptions(**values)  # type: ignore[arg-type]
    return str(caught.value)


@pytest.mark.parametrize("key", [f"sk_test_{BODY}", f"test_{BODY}", "sk_test_not_the_right_one"])
def test_development_secret_keys_are_accepted(issuer: TestIssuer, key: str) -> None:
    assert ClerkOptions(secret_key=key, publishable_key=issuer.publishable_key).secret_key == key


@pytest.mark.parametrize("key", [f"sk_live_{BODY}", f"live_{BODY}"])
def test_production_secret_keys_are_accepted(prod_issuer: TestIssuer, key: str) -> None:
    options = ClerkOptions(secret_key=key, publishable_key=prod_issuer.publishable_key)
    assert options.instance_type == "production"


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("abc123", "is not a Clerk secret key"),
        ("sk_test_", "is not a Clerk secret key"),
        ("sk_prod_" + BODY, "is not a Clerk secret key"),
        ("Bearer sk_test_" + BODY, "is not a Clerk secret key"),
        ("sk_test_" + BODY + "\n", "whitespace or quotes"),
        (" sk_test_" + BODY, "whitespace or quotes"),
        ('"sk_test_' + BODY + '"', "whitespace or quotes"),
        ("sk_test_" + BODY[:10] + " " + BODY[10:], "is not a Clerk secret key"),
    ],
)
def test_malformed_secret_keys_fail_at_start_up(issuer: TestIssuer, key: str, says: str) -> None:
    message = refused(secret_key=key, publishable_key=issuer.publishable_key)
    assert says in message
    assert message.startswith("secret_key (CLERK_SECRET_KEY) ")
    assert "sk_test_... or sk_live_..." in message
    assert BODY not in message
    assert key.strip() == "sk_test_" or key.strip() not in message


def test_a_publishable_key_given_as_the_secret_key_is_named_as_such(issuer: TestIssuer) -> None:
    message = refused(secret_key=issuer.publishable_key, publishable_key=issuer.publishable_key)
    assert "is a publishable key (pk_...), not a secret key" in message
    assert issuer.publishable_key not in message


def test_a_non_string_secret_key_is_refused(issuer: TestIssuer) -> None:
    assert "must be a string" in refused(secret_key=123, publishable_key=issuer.publishable_key)


def test_live_secret_with_test_publishable_key_is_refused(
    issuer: TestIssuer, prod_issuer: TestIssuer
) -> None:
    message = refused(secret_key=prod_issuer.secret_key, publishable_key=issuer.publishable_key)
    assert "production secret key (sk_live_...)" in message
    assert "development publishable key (pk_test_...)" in message
    assert prod_issuer.secret_key not in message
    message = refused(secret_key=issuer.secret_key, publishable_key=prod_issuer.publishable_key)
    assert "development secret key (sk_test_...)" in message
    assert "production publishable key (pk_live_...)" in message
    assert issuer.secret_key not in message


def test_legacy_keys_are_matched_by_instance_type_too(prod_issuer: TestIssuer) -> None:
    message = refused(secret_key=f"test_{BODY}", publishable_key=prod_issuer.publishable_key)
    assert "development secret key" in message


def test_errors_about_environment_values_name_the_variable(
    issuer: TestIssuer, prod_issuer: TestIssuer
) -> None:
    env = {"CLERK_SECRET_KEY": "abc123", "CLERK_PUBLISHABLE_KEY": issuer.publishable_key}
    with pytest.raises(ConfigurationError) as caught:
        ClerkOptions.from_env(env)
    assert str(caught.value).startswith("CLERK_SECRET_KEY is not a Clerk secret key")
    assert "secret_key (" not in str(caught.value)
    env["CLERK_SECRET_KEY"] = prod_issuer.secret_key
    with pytest.raises(ConfigurationError) as caught:
        ClerkOptions.from_env(env)
    message = str(caught.value)
    assert message.startswith("CLERK_SECRET_KEY is a production secret key")
    assert "but CLERK_PUBLISHABLE_KEY is a development publishable key" in message
    assert prod_issuer.secret_key not in message


def test_an_explicit_value_is_named_as_the_argument_even_with_the_variable_set(
    issuer: TestIssuer,
) -> None:
    env = {"CLERK_SECRET_KEY": issuer.secret_key, "CLERK_PUBLISHABLE_KEY": issuer.publishable_key}
    with pytest.raises(ConfigurationError) as caught:
        ClerkOptions.from_env(env, secret_key="abc123")
    assert str(caught.value).startswith("secret_key (CLERK_SECRET_KEY) is not")


def test_the_test_issuer_keys_are_valid_forms(issuer: TestIssuer, prod_issuer: TestIssuer) -> None:
    assert issuer.secret_key.startswith("sk_test_") and issuer.options().secret_key
    assert prod_issuer.secret_key.startswith("sk_live_") and prod_issuer.options().secret_key
