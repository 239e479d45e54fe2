"""The Django adapter beyond the shared table: views, templates, request.user, DRF, options."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import django
import pytest
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings

from clerk_middleware.adapters.django import (
    ClerkAuth,
    ClerkMiddleware,
    ClerkUser,
    auth,
    clerk_middleware,
    context_processor,
    get_auth,
)
from clerk_middleware.adapters.django.rest_framework import ClerkMachine, HasScopes, IsMachine
from clerk_middleware.core import Auth, ConfigurationError, MachineAuth, create_route_matcher
from clerk_middleware.testing import ClerkTestKit, LocalInstance, TestIssuer

from .. import matrix
from ..clients import client_for_fixture, send
from .app import install, make_async_client, make_client, outcome

client_for = client_for_fixture(make_client)
async_client_for = client_for_fixture(make_async_client)
ClientFor = Callable[[str | None], matrix.Client]
BOTH = ["client_for", "async_client_for"]


@pytest.fixture(params=BOTH)
def either(request: pytest.FixtureRequest) -> ClientFor:
    found: ClientFor = request.getfixturevalue(request.param)
    return found


def loaded(middleware: list[str], *, is_async: bool = False, **options: Any) -> Any:
    """A test client whose middleware is loaded now, from ``middleware`` and ``options``."""
    client: Any = AsyncClient(**options) if is_async else Client(**options)
    with override_settings(MIDDLEWARE=middleware):
        client.handler.load_middleware(is_async=is_async)
    return client


def settings_middleware(issuer: TestIssuer, handler: Any = None, **extra: Any) -> str:
    return install(clerk_middleware(handler, **matrix.settings(issuer, **extra)))


# --- views ------------------------------------------------------------------------------------


def test_get_auth_and_request_auth(either: ClientFor, issuer: TestIssuer) -> None:
    body = send(either, issuer, "/get-auth", scenario="pending").comparable()[4]
    assert body == {"default": matrix.PENDING_FIELDS, "aware": matrix.PENDING_AWARE_FIELDS,
                    "request.auth": matrix.PENDING_FIELDS}


@pytest.mark.parametrize(("scenario", "kind", "status"), [
    ("signed-in", "api", 200),     # org:admin
    ("pending", "page", 307),
    ("pending", "api", 404),
    ("signed-out", "api", 404),
])
def test_protect_mixin(either: ClientFor, issuer: TestIssuer, scenario: str, kind: str,
                       status: int) -> None:
    found = send(either, issuer, "/mixin/admin", scenario, kind)
    assert found.status == status
    if status == 200:
        assert found.comparable()[4] == matrix.SIGNED_IN_FIELDS


def member_token(issuer: TestIssuer, role: str, permissions: tuple[str, ...] = ()) -> str:
    """A session in org_1 with ``role`` and ``permissions`` (``org:<feature>:<name>``)."""
    token = ClerkTestKit(issuer).org_member("org_1", role=role, permissions=permissions).token
    assert token is not None
    return token


def member_headers(issuer: TestIssuer, role: str, permissions: tuple[str, ...] = ()) -> dict[
        str, str]:
    return {**matrix.API, "authorization": f"Bearer {member_token(issuer, role, permissions)}"}


def test_protect_mixin_predicate_and_tasks_url(client_for: ClientFor, issuer: TestIssuer) -> None:
    get = client_for(None)
    assert get("/mixin/predicate", member_headers(issuer, "admin")).status == 200
    assert get("/mixin/predicate", member_headers(issuer, "member")).status == 404
    pending = get("/mixin/predicate", matrix.request_headers(issuer, "pending", "page"))
    assert (pending.location or "").startswith(f"{matrix.BASE}/mixin-tasks?redirect_url=")


def test_a_failed_check_renders_the_projects_404(either: ClientFor, issuer: TestIssuer) -> None:
    for target in ("/decorated/protect-role", "/view/protect-role", "/mixin/admin"):
        found = either(None)(target, member_headers(issuer, "member"))
        assert (found.status, found.body) == (404, b"PROJECT-404"), target
        assert found.values("x-clerk-auth-reason") == ["protect-rewrite"]
    signed_out = send(either, issuer, "/handler/protect", kind="api")
    assert (signed_out.status, signed_out.body) == (404, b"PROJECT-404")
    assert signed_out.values("x-clerk-auth-reason") == ["protect-rewrite", matrix.MISSING]


@pytest.mark.parametrize(("scenario", "guests", "members"), [
    ("signed-in", 404, 200), ("pending", 200, 200), ("signed-out", 200, 404),
])
def test_signed_in_and_signed_out_decorators(either: ClientFor, issuer: TestIssuer,
                                             scenario: str, guests: int, members: int) -> None:
    assert send(either, issuer, "/guests", scenario, "api").status == guests
    assert send(either, issuer, "/members", scenario, "api").status == members


def test_auth_in_a_streamed_body(either: ClientFor, issuer: TestIssuer) -> None:
    found = send(either, issuer, "/stream", scenario="signed-in")
    assert (found.status, found.body) == (200, b"user=user_2abc")


def test_auth_outside_a_request_raises(client_for: ClientFor, issuer: TestIssuer) -> None:
    send(client_for, issuer, "/view/fields", scenario="signed-in")
    with pytest.raises(RuntimeError, match="outside a request handled by clerk_middleware"):
        auth()
    with pytest.raises(RuntimeError, match=r"did not pass through clerk_middleware"):
        get_auth(HttpRequest())


def test_an_app_error_is_djangos_500_with_the_state_headers(issuer: TestIssuer) -> None:
    client = loaded([settings_middleware(issuer)], raise_request_exception=False)
    response = client.get("/boom", headers={"host": "app.test", **matrix.API})
    assert response.status_code == 500
    assert response.headers["x-clerk-auth-status"] == "signed-out"
    with pytest.raises(ValueError, match="an application bug"):
        loaded([settings_middleware(issuer)]).get("/boom", headers={"host": "app.test"})


def test_a_matcher_given_djangos_request_reads_the_routed_path(client_for: ClientFor,
                                                               issuer: TestIssuer) -> None:
    for target, admin in (("/route/x", False), ("/route/x%2Fadmin", False)):
        assert send(client_for, issuer, target).comparable()[4] == {"admin": admin}
    # The view's own matcher sees /route/... : what Django routed on.


# --- the handler --------------------------------------------------------------------------------


def test_a_sync_handler_runs_off_the_event_loop_under_asgi(issuer: TestIssuer) -> None:
    seen: list[tuple[bool, str]] = []

    def handler(auth: ClerkAuth, request: HttpRequest) -> None:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        seen.append((on_loop, threading.current_thread().name))
        auth.protect()

    client = loaded([settings_middleware(issuer, handler)], is_async=True)

    async def run() -> Any:
        return await client.get("/view/fields", headers=matrix.API)

    response = asyncio.run(run())
    assert response.status_code == 404  # signed out: the handler's protect() ran
    assert [on_loop for on_loop, _ in seen] == [False]


def test_an_async_handler_runs_under_wsgi(issuer: TestIssuer) -> None:
    async def handler(auth: ClerkAuth, request: HttpRequest) -> HttpResponse | None:
        await asyncio.sleep(0)
        return HttpResponse("from the handler", status=202) if auth().is_signed_in else None

    client = loaded([settings_middleware(issuer, handler)])
    signed_in = {"host": "app.test", "authorization": f"Bearer {issuer.session_token()}"}
    response = client.get("/view/fields", headers=signed_in)
    assert (response.status_code, response.content) == (202, b"from the handler")
    assert client.get("/view/fields", headers={"host": "app.test"}).status_code == 200


def test_a_host_django_refuses_never_reaches_clerk(issuer: TestIssuer) -> None:
    client = loaded([settings_middleware(issuer)])
    response = client.get("/handler/protect", headers={"host": "evil.example", **matrix.PAGE})
    assert response.status_code == 400  # DisallowedHost: no redirect names evil.example
    assert "location" not in response.headers


def test_the_route_path_is_below_force_script_name_under_asgi(issuer: TestIssuer) -> None:
    is_protected = create_route_matcher(["/handler(.*)"])

    def handler(auth: ClerkAuth, request: HttpRequest) -> None:
        if is_protected(auth.request):
            auth.protect()

    client = loaded([settings_middleware(issuer, handler)], is_async=True)
    scope = {"path": "/prefix/handler/protect", "headers": [(b"host", b"app.test"),
                                                              (b"accept", b"application/json")]}

    async def run() -> Any:
        with override_settings(FORCE_SCRIPT_NAME="/prefix"):
            return await client.request(**scope)

    response = asyncio.run(run())
    assert response.status_code == 404
    reason = response.headers["x-clerk-auth-reason"]
    if django.VERSION >= (5, 0):
        # Django routed /handler/protect: the handler's matcher saw it too and protected it.
        assert reason.startswith("protect-rewrite")
    else:
        # Django 4.2 reads only root_path under ASGI: it routed (and the matcher saw) the
        # whole path, which no route has.
        assert not reason.startswith("protect-rewrite")


# --- templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("scenario", "rendered"), [
    ("signed-in", "in||in-aware|admin|protect-aware|user_2abc"),
    ("pending", "|out|in-aware||protect-aware|None"),
    ("signed-out", "|out|||no|None"),
])
def test_template_tags_and_context_processor(either: ClientFor, issuer: TestIssuer,
                                             scenario: str, rendered: str) -> None:
    assert send(either, issuer, "/template", scenario).body.decode() == rendered


def test_template_tags_refuse_bad_arguments() -> None:
    from django.template import TemplateSyntaxError, engines

    engine = engines["django"]
    for source, message in [
        ('{% load clerk %}{% protect "org:admin" %}x{% endprotect %}', "keyword arguments only"),
        ('{% load clerk %}{% signed_in role="x" %}x{% endsigned_in %}', "unknown argument"),
        ("{% load clerk %}{% signed_out %}x", "endsigned_out"),
    ]:
        with pytest.raises(TemplateSyntaxError, match=message):
            engine.from_string(source)


def test_the_context_processor_outside_the_middleware_is_signed_out() -> None:
    assert context_processor(HttpRequest()) == {"auth": Auth(), "csp_nonce": None}


# --- request.user -------------------------------------------------------------------------------

BACKENDS = ["clerk_middleware.adapters.django.ClerkBackend",
            "django.contrib.auth.backends.ModelBackend"]


def user_client(issuer: TestIssuer, backends: list[str], *, is_async: bool = False) -> Any:
    with override_settings(AUTHENTICATION_BACKENDS=backends):
        return loaded([settings_middleware(issuer)], is_async=is_async)


def test_request_user_is_the_clerk_user_with_the_backend(issuer: TestIssuer) -> None:
    client = user_client(issuer, BACKENDS)
    signed_in = {"host": "app.test", "authorization": f"Bearer {issuer.session_token()}"}
    assert client.get("/user", headers=signed_in).json() == {
        "kind": "ClerkUser", "authenticated": True, "id": "user_2abc",
        "backend": "clerk_middleware.adapters.django.ClerkBackend"}
    pending = {"host": "app.test", "authorization": f"Bearer {issuer.pending_token()}"}
    assert client.get("/user", headers=pending).json()["kind"] == "AnonymousUser"


def test_request_user_is_left_alone_without_the_backend(issuer: TestIssuer) -> None:
    client = user_client(issuer, ["django.contrib.auth.backends.ModelBackend"])
    signed_in = {"host": "app.test", "authorization": f"Bearer {issuer.session_token()}"}
    with pytest.raises(AttributeError, match="user"):  # no AuthenticationMiddleware either
        client.get("/user", headers=signed_in)


def test_a_project_backend_maps_the_user(issuer: TestIssuer) -> None:
    client = user_client(issuer, ["tests.adapters.django.views.StaffBackend"])
    signed_in = {"host": "app.test", "authorization": f"Bearer {issuer.session_token()}"}
    body = client.get("/user", headers=signed_in).json()
    assert body["kind"] == "ClerkUser"
    assert body["backend"] == "tests.adapters.django.views.StaffBackend"
    drf = client.get("/drf/me", headers=signed_in).json()
    assert drf == {"user": "staff:user_2abc", "auth": "user_2abc", "same": True,
                   "kind": "ClerkUser"}


def test_request_auser_under_asgi(issuer: TestIssuer) -> None:
    client = user_client(issuer, BACKENDS, is_async=True)
    signed_in = {"authorization": f"Bearer {issuer.session_token()}"}

    async def run() -> Any:
        return await client.get("/async-user", headers=signed_in)

    assert asyncio.run(run()).json() == {"kind": "ClerkUser", "authenticated": True}


def test_permission_required_asks_the_session(issuer: TestIssuer) -> None:
    client = user_client(issuer, BACKENDS)
    token = member_token(issuer, "member", ("org:billing:manage",))
    allowed = {"host": "app.test", "authorization": f"Bearer {token}"}
    assert client.get("/billing", headers=allowed).status_code == 200
    denied = {"host": "app.test", "authorization": f"Bearer {issuer.session_token()}"}
    assert client.get("/billing", headers=denied).status_code == 403


def test_clerk_user() -> None:
    user = ClerkUser(Auth())
    assert (user.is_authenticated, user.is_anonymous, str(user)) == (True, False, "")
    assert not user.has_module_perms("auth") and not user.has_perms(["x"])
    assert user == ClerkUser(Auth()) and len({user, ClerkUser(Auth())}) == 1


# --- Django REST framework ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def drf(issuer: TestIssuer) -> Any:
    return loaded([settings_middleware(issuer)], enforce_csrf_checks=True)


def bearer(token: str) -> dict[str, str]:
    return {"host": "app.test", "authorization": f"Bearer {token}"}


def test_drf_signed_out_is_a_401_with_www_authenticate(drf: Any, issuer: TestIssuer) -> None:
    for headers in ({"host": "app.test"}, bearer(issuer.pending_token())):
        response = drf.get("/drf/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_drf_signed_in(drf: Any, issuer: TestIssuer) -> None:
    response = drf.get("/drf/me", headers=bearer(issuer.session_token()))
    assert response.json() == {"user": "user_2abc", "auth": "user_2abc", "same": True,
                               "kind": "ClerkUser"}


@pytest.mark.parametrize(("member", "admin", "not_admin"), [
    (("admin", ()), 200, 403),
    (("member", ("org:billing:manage",)), 200, 200),
    (("member", ()), 403, 200),
])
def test_drf_permissions_compose(drf: Any, issuer: TestIssuer,
                                 member: tuple[str, tuple[str, ...]], admin: int,
                                 not_admin: int) -> None:
    token = member_token(issuer, *member)
    assert drf.get("/drf/admin", headers=bearer(token)).status_code == admin
    assert drf.get("/drf/not-admin", headers=bearer(token)).status_code == not_admin


def test_drf_pending_aware_permission(drf: Any, issuer: TestIssuer) -> None:
    # Authentication treats pending as signed out (401); the pending session has no role.
    assert drf.get("/drf/pending-aware", headers=bearer(issuer.pending_token())).status_code == 401


def test_drf_csrf_for_cookie_sessions_only(drf: Any, issuer: TestIssuer) -> None:
    token = issuer.session_token()
    cookies = (f"__clerk_db_jwt={matrix.DEV_BROWSER}; __session={token}; "
               f"__client_uat={int(issuer.clock()) - 10}")
    assert drf.post("/drf/me", headers=bearer(token)).status_code == 201
    refused = drf.post("/drf/me", headers={"host": "app.test", "cookie": cookies})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    csrf = "a" * 32
    accepted = drf.post(
        "/drf/me",
        headers={"host": "app.test", "cookie": f"{cookies}; csrftoken={csrf}",
                 "x-csrftoken": csrf, "referer": "http://app.test/"},
    )
    assert accepted.status_code == 201


def test_drf_needs_the_middleware() -> None:
    client = loaded([])
    with pytest.raises(RuntimeError, match="did not pass through clerk_middleware"):
        client.get("/drf/me", headers={"host": "app.test"})


def test_drf_machine_tokens_and_sessions(drf: Any, issuer: TestIssuer) -> None:
    def get(token: str) -> Any:
        return drf.get("/drf/machine-or-session", headers=bearer(token))

    m2m = get(issuer.m2m_jwt("mch_2worker", scopes=["reports:read", "x"]))
    assert m2m.status_code == 200
    assert m2m.json() == {"kind": "ClerkMachine", "user": "mch_2worker",
                          "token_type": "m2m_token", "scopes": ["reports:read", "x"]}
    oauth = get(issuer.oauth_jwt("user_2abc", scopes=["reports:read"]))
    assert oauth.json()["token_type"] == "oauth_token" and oauth.json()["user"] == "user_2abc"
    session = get(issuer.session_token())
    assert session.json() == {"kind": "ClerkUser", "user": "user_2abc",
                              "token_type": "session_token", "scopes": []}
    # A machine without the scope is authenticated but not allowed: 403, as DRF answers.
    assert get(issuer.m2m_jwt("mch_2worker", scopes=["x"])).status_code == 403


def test_drf_machine_401s(drf: Any, issuer: TestIssuer, other_issuer: TestIssuer) -> None:
    fapi = "happy-hippo-1.clerk.accounts.dev"
    resource = f'Bearer resource_metadata="https://{fapi}/.well-known/oauth-protected-resource"'
    cases = {
        other_issuer.m2m_jwt("mch_2worker", scopes=["reports:read"]): "Bearer",  # forged
        other_issuer.oauth_jwt("user_2abc", scopes=["reports:read"]): resource,
    }
    for token, challenge in cases.items():
        response = drf.get("/drf/machine-or-session", headers=bearer(token))
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"] == challenge


def test_drf_machine_with_an_opaque_api_key(issuer: TestIssuer) -> None:
    # An API key verified by the Backend API of a local instance, over HTTP.
    with LocalInstance() as instance:
        middleware = install(clerk_middleware(
            None, publishable_key=instance.publishable_key, secret_key=instance.secret_key,
            api_url=instance.url,
        ))
        client = loaded([middleware])
        key = instance.create_api_key("org_7", name="ci", scopes=["reports:read"])
        found = client.get("/drf/api-keys-only", headers=bearer(key.secret))
        assert (found.status_code, found.json()) == (200, {"subject": "org_7"})
        assert instance.count("api_key_verify") == 1
        m2m = instance.create_m2m_token("mch_1", scopes=["reports:read"])
        refused = client.get("/drf/api-keys-only", headers=bearer(m2m.token))
        assert refused.status_code == 401  # not an accepted type: no verification call
        assert instance.count("m2m_token_verify") == 0
        instance.revoke_api_key(key.id)
        assert client.get("/drf/api-keys-only", headers=bearer(key.secret)).status_code == 401
        assert instance.count("api_key_verify") == 2
        either = client.get("/drf/machine-or-session", headers=bearer(m2m.token))
        assert either.json()["user"] == "mch_1"


def test_clerk_machine() -> None:
    auth = MachineAuth(token_type="api_key", is_authenticated=True, id="ak_1",
                       subject="user_1", scopes=["a"])
    machine = ClerkMachine(auth)
    assert (machine.pk, machine.username, str(machine), machine.scopes) == (
        "user_1", "user_1", "user_1", ("a",))
    assert machine.is_authenticated and not machine.is_anonymous
    assert not machine.has_perm("a") and not machine.has_perms(["a"])
    assert not machine.has_module_perms("auth")
    assert machine == ClerkMachine(auth) and len({machine, ClerkMachine(auth)}) == 1
    assert repr(HasScopes("a", "b", token="api_key")) == "HasScopes('a', 'b', token='api_key')"
    assert repr(IsMachine("m2m_token")) == "IsMachine('m2m_token')"


# --- options ------------------------------------------------------------------------------------


def test_an_unknown_option_fails_at_once(issuer: TestIssuer) -> None:
    with pytest.raises(ConfigurationError, match="Unknown option"):
        clerk_middleware(secret=issuer.secret_key)


def test_options_come_from_settings_then_the_environment(
    issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk = ClerkTestKit(issuer)
    for name, value in clerk.env.items():
        monkeypatch.setenv(name, value)
    path = "clerk_middleware.adapters.django.ClerkMiddleware"
    page = {"host": "app.test", **matrix.request_headers(issuer, "signed-out", "page")}
    with override_settings(CLERK={"sign_in_url": "/from-settings", "clock": issuer.clock}):
        client = loaded([path])
        kw = loaded([install(clerk_middleware(sign_in_url="/from-kwargs"))])
    location = client.get("/view/protect", headers=page).headers["location"]
    assert location.startswith("http://app.test/from-settings?redirect_url=")
    assert kw.get("/view/protect", headers=page).headers["location"].startswith(
        "http://app.test/from-kwargs?")
    env_only = loaded([path])
    assert env_only.get("/view/protect", headers=page).status_code == 307


def test_bad_settings_fail_when_django_loads_the_middleware(issuer: TestIssuer) -> None:
    path = settings_middleware(issuer)
    with override_settings(CLERK=["not", "a", "dict"]), pytest.raises(
            ConfigurationError, match=r"settings.CLERK must be a dict"):
        loaded([path])
    with override_settings(CLERK={"sign_in_url": "not a url"}), pytest.raises(ConfigurationError):
        loaded(["clerk_middleware.adapters.django.ClerkMiddleware"])


def test_the_middleware_class_says_what_it_is(issuer: TestIssuer) -> None:
    made = clerk_middleware(**matrix.settings(issuer))
    assert issubclass(made, ClerkMiddleware)
    assert (made.sync_capable, made.async_capable) == (True, True)
    assert made.keywords == matrix.settings(issuer)


# --- the kit ------------------------------------------------------------------------------------


@pytest.fixture
def kit_client(clerk: ClerkTestKit) -> Iterator[Client]:
    with override_settings(MIDDLEWARE=["clerk_middleware.adapters.django.ClerkMiddleware"]):
        yield Client()


def test_the_kit_with_djangos_client(kit_client: Client, clerk: ClerkTestKit) -> None:
    assert kit_client.get("/view/protect", headers=clerk.signed_in()).status_code == 200
    pending = kit_client.get("/view/protect", headers=clerk.pending(page=True))
    assert (pending.status_code, "/sign-in/tasks" in pending.headers["location"]) == (307, True)
    assert kit_client.get("/view/protect", headers=clerk.signed_out()).status_code == 404
    member = clerk.org_member(role="member")
    assert kit_client.get("/view/protect-role", headers=member).status_code == 404
    admin = clerk.org_member(role="admin")
    assert kit_client.get("/view/protect-role", headers=admin).status_code == 200


def test_the_kit_with_djangos_async_client(clerk: ClerkTestKit) -> None:
    with override_settings(MIDDLEWARE=["clerk_middleware.adapters.django.ClerkMiddleware"]):
        client = AsyncClient()

        async def run() -> list[int]:
            return [
                (await client.get("/view/protect", headers=clerk.signed_in())).status_code,
                (await client.get("/view/protect", headers=clerk.pending())).status_code,
                (await client.get("/view/protect-role",
                                  headers=clerk.org_member(role="admin"))).status_code,
            ]

        assert asyncio.run(run()) == [200, 404, 200]


def test_the_kit_sets_cookies_in_djangos_jar(kit_client: Client, clerk: ClerkTestKit) -> None:
    clerk.set_cookies(kit_client, clerk.signed_in(bearer=False))
    assert kit_client.get("/view/fields").json()["user_id"] == "user_test"
    clerk.set_cookies(kit_client, clerk.signed_out())
    response = kit_client.get("/view/protect", headers=dict(clerk.signed_out(page=True)))
    assert response.status_code == 307


def test_control_flow_response_headers_are_kept(issuer: TestIssuer) -> None:
    # A handshake's cookies go out as Clerk wrote them, each its own Set-Cookie.
    session = issuer.session_token()
    handshake = issuer.handshake_token([f"__session={session}; Path=/",
                                        f"__session={session}; Path=/; Domain=app.test"])
    client = loaded([settings_middleware(issuer)])
    response = client.get(f"/view/fields?__clerk_handshake={handshake}",
                          headers={"host": "app.test", **matrix.PAGE,
                                   "cookie": f"__clerk_db_jwt={matrix.DEV_BROWSER}"})
    assert outcome(response).values("set-cookie") == [
        f"__session={session}; Path=/", f"__session={session}; Path=/; Domain=app.test"]


def test_debug_pages_hide_the_keys_in_settings_clerk(issuer: TestIssuer) -> None:
    from django.views.debug import SafeExceptionReporterFilter

    with override_settings(CLERK=matrix.settings(issuer)):
        shown = SafeExceptionReporterFilter().get_safe_settings()["CLERK"]
    assert issuer.secret_key not in repr(shown) and issuer.jwt_key not in repr(shown)
