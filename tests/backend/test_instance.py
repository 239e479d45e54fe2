"""The local instance itself: its model, its endpoints, faults, counters, routes and CLI."""

from __future__ import annotations

import io
import threading
import time

import httpx
import jwt
import pytest

from clerk_middleware.core import AuthStatus, ClerkOptions, authenticate_request
from clerk_middleware.testing import (
    CannedResponse,
    ConnectionReset,
    Delay,
    InstanceRequest,
    InstanceResponse,
    LocalInstance,
    MalformedBody,
    TestIssuer,
)
from clerk_middleware.testing.instance import describe, main

from ._support import FakeClock, bearer


def bapi(instance: LocalInstance, path: str, *, key: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {key or instance.secret_key}"}
    return httpx.get(f"{instance.url}{path}", headers=headers)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/jwks"),
        ("GET", "/v1/clients/handshake_payload?nonce=x"),
        ("POST", "/v1/sessions/sess_1/refresh"),
    ],
)
def test_backend_endpoints_require_the_secret_key(
    instance: LocalInstance, method: str, path: str
) -> None:
    for headers in (
        {},
        {"authorization": "Bearer sk_test_wrong"},
        {"authorization": instance.secret_key},
    ):
        response = httpx.request(method, f"{instance.url}{path}", headers=headers, json={})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json"
        error = response.json()["errors"][0]
        assert error["code"] == "clerk_key_invalid"
        assert error["message"] == (
            "The provided Clerk Secret Key is invalid. "
            "Make sure that your Clerk Secret Key is correct."
        )


def test_jwks_lists_the_signing_keys(instance: LocalInstance) -> None:
    keys = bapi(instance, "/v1/jwks").json()["keys"]
    assert keys == [instance.issuer.jwk()]
    new_kid = instance.rotate_key()
    assert [k["kid"] for k in bapi(instance, "/v1/jwks").json()["keys"]] == [
        new_kid,
        instance.issuer.kid,
    ]
    instance.rotate_key(keep_old=False)
    assert len(bapi(instance, "/v1/jwks").json()["keys"]) == 1


def test_tokens_carry_the_model(instance: LocalInstance) -> None:
    user = instance.create_user(user_id="user_ada", email_address="ada@example.com")
    org = instance.create_organization("Acme Inc")
    instance.add_membership(
        user,
        org,
        role="admin",
        permissions=["org:billing:manage", "org:billing:read", "org:dashboard:read"],
    )
    session = instance.sign_in(user, organization=org)
    claims = jwt.decode(
        instance.session_token(session, azp="http://app"), options={"verify_signature": False}
    )
    assert claims["sub"] == "user_ada"
    assert claims["sid"] == session.id
    assert claims["sts"] == "active"
    assert claims["azp"] == "http://app"
    assert claims["exp"] - claims["iat"] == 60
    assert claims["o"] == {
        "id": org.id,
        "slg": "acme-inc",
        "rol": "admin",
        "per": "manage,read",
        "fpm": "3,2",
    }
    assert claims["fea"] == "o:billing,o:dashboard"
    state = authenticate_request(bearer(instance.session_token(session)), instance.options())
    auth = state.to_auth()
    assert auth is not None
    assert auth.org_permissions == ["org:billing:manage", "org:billing:read", "org:dashboard:read"]


def test_pending_sessions_and_choosing_an_organization(instance: LocalInstance) -> None:
    user = instance.create_user()
    session = instance.sign_in(user, pending=True)
    assert (session.status, session.tasks) == ("pending", ("choose-organization",))
    claims = jwt.decode(instance.session_token(session), options={"verify_signature": False})
    assert claims["sts"] == "pending" and "o" not in claims
    org = instance.create_organization("Beta")
    with pytest.raises(ValueError, match="not a member"):
        instance.set_active_organization(session, org)
    instance.add_membership(user, org, role="member")
    done = instance.set_active_organization(session, "beta")
    assert (done.status, done.tasks, done.organization_id) == ("active", (), org.id)
    with pytest.raises(ValueError, match="pending session"):
        instance.sign_in(user, pending=True, organization=org)


def test_sign_out_and_ended_sessions(instance: LocalInstance, wall: FakeClock) -> None:
    session = instance.sign_in(instance.create_user())
    client = instance.client(session.client_id)
    assert instance.active_session(client) == session
    assert instance.client(client.token) == client
    wall.advance(5)
    signed_out = instance.sign_out(client)
    assert signed_out.last_active_session_id is None
    assert signed_out.updated_at == int(wall.now)
    assert instance.active_session(client) is None
    assert instance.session(session).status == "ended"
    with pytest.raises(ValueError, match="ended"):
        instance.session_token(session)
    cookies = instance.session_cookies(None)
    assert cookies[0] == "__session=; Path=/; SameSite=Lax; Max-Age=0"
    assert instance.client_cookie(None).endswith("Max-Age=0")
    with pytest.raises(KeyError):
        instance.client("nope")
    assert instance.client_from_cookies({"__client": "nope"}) is None


def test_faults_apply_a_number_of_times_and_count(instance: LocalInstance) -> None:
    instance.inject("jwks", CannedResponse(503), times=2)
    assert [bapi(instance, "/v1/jwks").status_code for _ in range(3)] == [503, 503, 200]
    with instance.fault("jwks", MalformedBody()):
        response = bapi(instance, "/v1/jwks")
        assert response.status_code == 200
        with pytest.raises(ValueError):
            response.json()
    with instance.fault("jwks", ConnectionReset()), pytest.raises(httpx.TransportError):
        bapi(instance, "/v1/jwks")
    assert instance.count("jwks") == 5
    instance.reset_counts()
    assert instance.counts() == {}


def test_delays_are_cut_short_when_the_instance_closes(wall: FakeClock) -> None:
    instance = LocalInstance(TestIssuer(clock=wall)).start()
    instance.inject("jwks", Delay(60))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            bapi(instance, "/v1/jwks")
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    instance.close()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.monotonic() - started < 5
    assert len(errors) == 1


def test_added_routes_for_sign_in_pages(instance: LocalInstance) -> None:
    def sign_in_page(request: InstanceRequest) -> InstanceResponse:
        user = instance.create_user()
        client = instance.dev_browser_client(request.query.get("__clerk_db_jwt", "dvb_new"))
        session = instance.sign_in(user, client=client)
        return InstanceResponse.redirect(
            request.query["redirect_url"],
            headers=(("set-cookie", instance.client_cookie(session.client_id)),),
        )

    instance.add_route("GET", "/sign-in", sign_in_page, name="sign-in")
    response = httpx.get(f"{instance.url}/sign-in?redirect_url=http://app/")
    assert response.status_code == 307
    assert response.headers["location"] == "http://app/"
    assert response.headers["cache-control"] == "no-store"
    assert response.cookies["__client"]
    assert instance.count("sign-in") == 1
    with pytest.raises(ValueError, match="reserved"):
        instance.add_route("GET", "/v1/jwks", sign_in_page)
    assert httpx.get(f"{instance.url}/nope").status_code == 404
    assert instance.count("other") == 1


def test_a_failing_route_answers_500(instance: LocalInstance) -> None:
    def broken(request: InstanceRequest) -> InstanceResponse:
        raise RuntimeError("boom")

    instance.add_route("POST", "/broken", broken)
    response = httpx.post(f"{instance.url}/broken", content=b"x")
    assert response.status_code == 500
    assert response.json()["errors"][0]["code"] == "internal_clerk_error"


def test_options_and_env_point_at_the_instance(
    instance: LocalInstance, options: ClerkOptions
) -> None:
    assert options.api_url == instance.url
    assert options.proxy_url == instance.url
    assert options.jwt_key is None
    assert instance.env() == {
        "CLERK_PUBLISHABLE_KEY": instance.publishable_key,
        "CLERK_SECRET_KEY": instance.secret_key,
        "CLERK_API_URL": instance.url,
        "CLERK_PROXY_URL": instance.url,
        "CLERK_WEBHOOK_SIGNING_SECRET": instance.webhook_signing_secret,
    }
    assert instance.webhook_signing_secret.startswith("whsec_")
    from_env = ClerkOptions.from_env(instance.env(), clock=instance.issuer.clock)
    token = instance.session_token(instance.sign_in(instance.create_user()))
    assert authenticate_request(bearer(token), from_env).status is AuthStatus.SIGNED_IN


def test_not_running() -> None:
    instance = LocalInstance()
    with pytest.raises(RuntimeError, match="not running"):
        _ = instance.url
    with instance, pytest.raises(RuntimeError, match="already running"):
        instance.start()


def test_cli_banner(instance: LocalInstance) -> None:
    text = describe(instance)
    assert f"listening on {instance.url}" in text
    assert f"export CLERK_SECRET_KEY={instance.secret_key}" in text
    assert f"export CLERK_API_URL={instance.url}" in text


def test_cli_reports_a_taken_port(
    instance: LocalInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--port", str(instance.port)], out=io.StringIO()) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_cli_serves_until_stopped() -> None:
    out = io.StringIO()
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(main([], out=out, stop=stop)))
    thread.start()
    try:
        for _ in range(250):
            if "export CLERK_PROXY_URL=" in out.getvalue():
                break
            time.sleep(0.02)
        text = out.getvalue()
        url = text.split("export CLERK_API_URL=")[1].split()[0]
        key = text.split("export CLERK_SECRET_KEY=")[1].split()[0]
        response = httpx.get(f"{url}/v1/jwks", headers={"authorization": f"Bearer {key}"})
        assert response.status_code == 200
    finally:
        stop.set()
        thread.join(timeout=10)
    assert result == [0]
