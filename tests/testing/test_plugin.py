"""The pytest plugin: each fixture configures every adapter, each state is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from clerk_middleware.core import AuthRequest, AuthStatus, authenticate_request
from clerk_middleware.testing import (
    PAGE_HEADERS,
    ClerkTestKit,
    LocalClerkTestKit,
    LocalInstance,
    TestIssuer,
)

from .apps import BUILDERS, client_for

ADAPTERS = sorted(BUILDERS)


@pytest.mark.parametrize("kind", ADAPTERS)
def test_each_state_in_one_line(kind: str, clerk: ClerkTestKit) -> None:
    # The framework's default test client (Flask's and werkzeug's keep a cookie
    # jar that replaces any Cookie header), and no options: the fixture set CLERK_*.
    send = client_for(kind, BUILDERS[kind]())

    answer = send("/dashboard", clerk.signed_in())
    assert answer.status == 200
    assert answer.json()["user_id"] == "user_test"

    answer = send("/dashboard", clerk.pending(page=True))
    assert answer.status == 307
    assert urlsplit(answer.headers["location"]).path == "/sign-in/tasks"
    assert send("/dashboard", clerk.pending()).status == 404
    assert send("/aware", clerk.pending()).json() == {
        "user_id": "user_test", "session_status": "pending", "org_id": None,
        "org_role": None, "org_permissions": [],
    }

    assert send("/dashboard", clerk.signed_out()).status == 404
    clerk.set_cookies(send.client, clerk.signed_out())  # a browser with a dev browser
    answer = send("/dashboard", PAGE_HEADERS)
    assert answer.status == 307
    assert urlsplit(answer.headers["location"]).path == "/sign-in"
    assert answer.headers["x-clerk-auth-reason"] == "session-token-and-uat-missing"

    member = clerk.org_member("org_acme", role="member", permissions=["org:invoices:read"])
    assert send("/dashboard", member).json() == {
        "user_id": "user_test", "session_status": "active", "org_id": "org_acme",
        "org_role": "org:member", "org_permissions": ["org:invoices:read"],
    }
    assert send("/admin", member).status == 404
    assert send("/admin", clerk.org_member(role="admin")).status == 200
    assert send("/admin", clerk.signed_in(org_id="org_x", role="org:admin")).status == 200


def test_headers_name_whom_they_carry(clerk: ClerkTestKit) -> None:
    headers = clerk.org_member("org_acme", user_id="user_ada", session_id="sess_1")
    assert (headers.user_id, headers.session_id, headers.org_id) == (
        "user_ada", "sess_1", "org_acme")
    assert headers.token is not None
    assert headers.cookies["__session"] == headers.token
    claims = jwt.decode(headers.token, options={"verify_signature": False})
    assert claims["o"] == {"id": "org_acme", "slg": "acme", "rol": "member"}
    assert claims["sts"] == "active"
    assert headers.cookies["__clerk_db_jwt"]  # a development instance: a dev browser

    out = clerk.signed_out(page=True)
    assert out.user_id is None and out.token is None
    assert {k: out[k] for k in PAGE_HEADERS} == dict(PAGE_HEADERS)

    pending = clerk.pending()
    assert pending == {"authorization": f"Bearer {pending.token}"}
    assert pending.cookies["__session"] == pending.token  # for set_cookies
    browser = clerk.pending(bearer=False)
    assert "authorization" not in browser
    assert browser["cookie"] == "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    assert set(browser.cookies) == {"__clerk_db_jwt", "__client_uat", "__session"}


def test_the_states_resolve_as_the_core_sees_them(clerk: ClerkTestKit) -> None:
    def resolve(headers: dict[str, str]) -> Any:
        request = AuthRequest("GET", "http://localhost:3000/", headers)
        return authenticate_request(request, clerk.options)

    for bearer in (True, False):
        assert resolve(clerk.signed_in(bearer=bearer)).status is AuthStatus.SIGNED_IN
        pending = resolve(clerk.pending(bearer=bearer)).to_auth()
        assert (pending.user_id, pending.session_status) == (None, "pending")
    assert resolve(clerk.signed_out(page=True)).reason == "session-token-and-uat-missing"


def test_the_fixture_sets_the_environment(clerk: ClerkTestKit) -> None:
    assert os.environ["CLERK_SECRET_KEY"] == clerk.issuer.secret_key
    assert os.environ["CLERK_PUBLISHABLE_KEY"] == clerk.issuer.publishable_key
    assert os.environ["CLERK_JWT_KEY"] == clerk.issuer.jwt_key
    assert set(clerk.env) == {"CLERK_SECRET_KEY", "CLERK_PUBLISHABLE_KEY", "CLERK_JWT_KEY"}


def test_a_bad_permission_key_is_refused(clerk: ClerkTestKit) -> None:
    with pytest.raises(ValueError, match="org:<feature>:<permission>"):
        clerk.org_member(permissions=["invoices"])


@pytest.mark.parametrize("kind", ADAPTERS)
def test_configure_rewires_an_app_built_with_other_keys(kind: str, clerk: ClerkTestKit) -> None:
    other = TestIssuer()
    app = BUILDERS[kind](
        secret_key=other.secret_key, publishable_key=other.publishable_key, jwt_key=other.jwt_key
    )
    send = client_for(kind, app)
    assert send("/dashboard", clerk.signed_in()).status == 404  # the other key
    assert clerk.configure(app) is app
    assert send("/dashboard", clerk.signed_in()).status == 200


def test_configure_reaches_through_other_middleware(clerk: ClerkTestKit) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    other = TestIssuer()
    app = BUILDERS["flask"](secret_key=other.secret_key, publishable_key=other.publishable_key)
    app.wsgi_app = ProxyFix(app.wsgi_app)
    send = client_for("flask", clerk.configure(app))
    assert send("/dashboard", clerk.signed_in()).status == 200


def test_configure_refuses_an_app_without_the_middleware(clerk: ClerkTestKit) -> None:
    with pytest.raises(TypeError, match="No clerk_middleware found"):
        clerk.configure(object())


@pytest.mark.parametrize("kind", ["flask", "starlette"])
def test_a_local_instance_in_one_line(kind: str, clerk_local: LocalClerkTestKit) -> None:
    instance = clerk_local.instance
    send = client_for(kind, BUILDERS[kind]())

    headers = clerk_local.signed_in("user_ada")
    assert send("/dashboard", headers).json()["user_id"] == "user_ada"
    assert instance.session(headers.session_id or "").status == "active"
    assert instance.count("jwks") == 1  # remote JWKS, from the instance

    pending = clerk_local.pending(page=True)
    assert instance.session(pending.session_id or "").status == "pending"
    answer = send("/dashboard", pending)
    assert answer.status == 307
    assert answer.headers["location"].startswith(f"{instance.sign_in_url}/tasks?")

    browser = clerk_local.pending(bearer=False)  # a browser's cookies, in the client's jar
    clerk_local.set_cookies(send.client, browser)
    answer = send("/dashboard", PAGE_HEADERS)
    location = answer.headers["location"]
    assert location.startswith(f"{instance.sign_in_url}/tasks?")
    assert parse_qs(urlsplit(location).query)["__clerk_db_jwt"] == [
        browser.cookies["__clerk_db_jwt"]]

    member = clerk_local.org_member("org_acme", role="member", permissions=["org:a:read"])
    assert send("/dashboard", member).json()["org_permissions"] == ["org:a:read"]
    assert instance.organization("org_acme").slug == "acme"
    assert send("/admin", member).status == 404
    assert send("/admin", clerk_local.org_member("org_acme", role="admin")).status == 200

    clerk_local.set_cookies(send.client, clerk_local.signed_out())
    answer = send("/dashboard", PAGE_HEADERS)
    assert answer.headers["location"].startswith(f"{instance.sign_in_url}?")


def test_local_kit_env_names_the_instance_and_its_pages(clerk_local: LocalClerkTestKit) -> None:
    instance = clerk_local.instance
    assert clerk_local.env == instance.env(pages=True)
    assert os.environ["CLERK_SIGN_IN_URL"] == instance.sign_in_url
    with pytest.raises(TypeError, match="unexpected argument"):
        clerk_local.signed_in(fva=[0, 0])


def test_clerk_instance_is_running(clerk_instance: LocalInstance) -> None:
    assert clerk_instance.url.startswith("http://127.0.0.1:")
    assert clerk_instance.personal_accounts


PLUGIN_USER = '''
def test_uses_the_fixtures(clerk, clerk_local):
    assert clerk.signed_in()["authorization"]
    assert clerk_local.pending().user_id
'''


def test_the_plugin_is_registered_by_entry_point(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(PLUGIN_USER)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLERK_", "PYTEST_"))}
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed argv, no shell
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed argv, no shell
        [*command, "-p", "no:clerk_middleware"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert "fixture 'clerk' not found" in done.stdout
