"""Flask conventions: an extension made at import time, options read from app.config at init_app."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, Request

from clerk_middleware.adapters.flask import (
    ClerkAuth,
    ClerkFlask,
    ClerkFlaskState,
    auth,
    clerk_middleware,
)
from clerk_middleware.core import ConfigurationError
from clerk_middleware.testing import TestIssuer


@pytest.fixture(scope="module")
def live() -> TestIssuer:
    """An instance on the real clock: apps configured by app.config alone read time.time."""
    return TestIssuer()


@pytest.fixture(scope="module")
def other_live() -> TestIssuer:
    """Another instance on the real clock."""
    return TestIssuer()


def keys(issuer: TestIssuer) -> dict[str, str]:
    """The app.config / environment entries of an instance, verifying networklessly."""
    return {"CLERK_SECRET_KEY": issuer.secret_key,
            "CLERK_PUBLISHABLE_KEY": issuer.publishable_key,
            "CLERK_JWT_KEY": issuer.jwt_key}


def create_app(extension: ClerkFlask, config: dict[str, Any] | None = None) -> Flask:
    """An app factory, as Flask extensions are meant to be used."""
    app = Flask(__name__)
    app.config.from_mapping(config or {})
    extension.init_app(app)

    @app.get("/me")
    def me() -> dict[str, Any]:
        return {"user_id": auth().user_id}

    return app


def user_of(app: Flask, token: str) -> Any:
    response = app.test_client().get("/me", headers={"authorization": f"Bearer {token}"})
    return response.json["user_id"] if response.json else None


def state_of(app: Flask) -> ClerkFlaskState:
    state = app.extensions["clerk_middleware"]
    assert isinstance(state, ClerkFlaskState)
    return state


def test_the_extension_is_made_at_import_time_without_any_configuration() -> None:
    # No CLERK_* variable is set (the autouse fixture clears them): nothing is read yet.
    extension = clerk_middleware(lambda auth, request: None)
    with pytest.raises(ConfigurationError, match="CLERK_SECRET_KEY"):
        extension.init_app(Flask(__name__))


def test_options_come_from_app_config(live: TestIssuer) -> None:
    app = create_app(clerk_middleware(), keys(live))
    assert user_of(app, live.session_token(user_id="user_config")) == "user_config"
    assert state_of(app).options.publishable_key == live.publishable_key


def test_keywords_beat_app_config_which_beats_the_environment(
    issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in keys(issuer).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLERK_SIGN_IN_URL", "/env-sign-in")
    monkeypatch.setenv("CLERK_SIGN_UP_URL", "/env-sign-up")
    monkeypatch.setenv("CLERK_TASKS_URL", "/env-tasks")
    config = {"CLERK_SIGN_IN_URL": "/config-sign-in", "CLERK_SIGN_UP_URL": "/config-sign-up"}
    app = create_app(clerk_middleware(sign_in_url="/keyword-sign-in"), config)
    options = state_of(app).options
    assert options.sign_in_url == "/keyword-sign-in"
    assert options.sign_up_url == "/config-sign-up"
    assert options.tasks_url == "/env-tasks"
    assert options.sign_in_url is not None and options.api_url == "https://api.clerk.com"


def test_empty_and_none_config_values_fall_through_to_the_environment(
    issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_SIGN_IN_URL", "/env-sign-in")
    config = {**keys(issuer), "CLERK_SIGN_IN_URL": "", "CLERK_TASKS_URL": None}
    options = state_of(create_app(clerk_middleware(), config)).options
    assert (options.sign_in_url, options.tasks_url) == ("/env-sign-in", None)


def test_is_satellite_takes_a_bool_or_a_boolean_string_from_app_config(
    prod_issuer: TestIssuer,
) -> None:
    base = {**keys(prod_issuer), "CLERK_DOMAIN": "sat.example.com"}
    for value in (True, "true", "1"):
        app = create_app(clerk_middleware(), {**base, "CLERK_IS_SATELLITE": value})
        assert state_of(app).options.is_satellite is True
    with pytest.raises(ConfigurationError) as caught:
        create_app(clerk_middleware(), {**base, "CLERK_IS_SATELLITE": "maybe"})
    assert str(caught.value).startswith('app.config["CLERK_IS_SATELLITE"] must be true or false')


def test_errors_name_the_config_key_or_the_variable_the_value_came_from(
    issuer: TestIssuer, prod_issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_app(clerk_middleware(), {**keys(issuer), "CLERK_SECRET_KEY": "abc123"})
    assert str(caught.value).startswith('app.config["CLERK_SECRET_KEY"] is not a Clerk secret key')
    with pytest.raises(ConfigurationError) as caught:
        create_app(clerk_middleware(), {**keys(issuer), "CLERK_SECRET_KEY": prod_issuer.secret_key})
    message = str(caught.value)
    assert message.startswith('app.config["CLERK_SECRET_KEY"] is a production secret key')
    assert 'app.config["CLERK_PUBLISHABLE_KEY"] is a development publishable key' in message
    assert prod_issuer.secret_key not in message
    with pytest.raises(ConfigurationError) as caught:
        create_app(clerk_middleware(), {**keys(issuer), "CLERK_SECRET_KEY": 123})
    assert str(caught.value).startswith('app.config["CLERK_SECRET_KEY"] must be a string')
    monkeypatch.setenv("CLERK_SIGN_IN_URL", "sign-in")
    with pytest.raises(ConfigurationError) as caught:
        create_app(clerk_middleware(), keys(issuer))
    assert str(caught.value).startswith("CLERK_SIGN_IN_URL must be an absolute http(s) URL")


def test_unknown_keywords_fail_when_the_extension_is_made() -> None:
    with pytest.raises(ConfigurationError, match="Unknown option"):
        clerk_middleware(sign_in="/sign-in")


def test_one_extension_serves_several_apps_each_with_its_own_options(
    live: TestIssuer, other_live: TestIssuer
) -> None:
    extension = clerk_middleware()
    first = create_app(extension, keys(live))
    second = create_app(extension, keys(other_live))
    mine, theirs = live.session_token(), other_live.session_token()
    assert (user_of(first, mine), user_of(first, theirs)) == ("user_2abc", None)
    assert (user_of(second, mine), user_of(second, theirs)) == (None, "user_2abc")
    assert state_of(first).extension is state_of(second).extension is extension
    assert state_of(first).options is not state_of(second).options


def test_init_app_twice_on_one_app_is_refused(live: TestIssuer) -> None:
    calls: list[str] = []

    def handler(auth: ClerkAuth, request: Request) -> None:
        calls.append(request.path)

    extension = clerk_middleware(handler)
    app = create_app(extension, keys(live))
    with pytest.raises(ConfigurationError, match="already set up on the Flask app"):
        extension.init_app(app)
    with pytest.raises(ConfigurationError, match="already set up on the Flask app"):
        clerk_middleware(handler, app=app)
    assert user_of(app, live.session_token()) == "user_2abc"
    assert calls == ["/me"]  # the handler still runs once per request
