"""The WSGI adapter, through httpx's WSGI transport with wsgiref's validator on both sides."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.types import WSGIEnvironment

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from clerk_middleware.adapters.wsgi import auth, auth_request_from_environ, clerk_middleware
from clerk_middleware.core import ConfigurationError
from clerk_middleware.core._request import header_fields
from clerk_middleware.testing import TestIssuer

from .. import matrix
from ..clients import client_for_fixture, send
from .app import make_app, make_client

client_for = client_for_fixture(make_client)


def test_get_auth(client_for: Callable[[str | None], matrix.Client], issuer: TestIssuer) -> None:
    outcome = send(client_for, issuer, "/get-auth", scenario="pending")
    body = outcome.comparable()[4]
    assert body == {"default": matrix.PENDING_FIELDS, "aware": matrix.PENDING_AWARE_FIELDS}


def test_auth_is_bound_while_the_body_is_iterated(
    client_for: Callable[[str | None], matrix.Client], issuer: TestIssuer
) -> None:
    outcome = send(client_for, issuer, "/stream", scenario="signed-in")
    assert outcome.body == b"user=user_2abc"


def test_control_flow_in_a_lazy_body_is_translated(
    client_for: Callable[[str | None], matrix.Client], issuer: TestIssuer
) -> None:
    outcome = send(client_for, issuer, "/lazy-protect", kind="api")
    assert outcome.status == 404
    assert outcome.values("x-clerk-auth-reason") == ["protect-rewrite", matrix.MISSING]


def test_app_errors_propagate(issuer: TestIssuer) -> None:
    client = Client(make_app(matrix.settings(issuer)))
    with pytest.raises(ValueError, match="an application bug"):
        client.get("/boom", buffered=True)


def test_decoded_path_info_from_a_lax_transport(issuer: TestIssuer) -> None:
    # httpx's WSGITransport gives PATH_INFO as decoded text (not latin-1) and no RAW_URI.
    transport = httpx.WSGITransport(app=make_app(matrix.settings(issuer)))
    headers = matrix.request_headers(issuer, "signed-out", "page")
    with httpx.Client(transport=transport, base_url=matrix.BASE) as client:
        response = client.get("/matcher/secret\u20ac", headers=headers)
    assert response.status_code == 307
    back = "http%3A%2F%2Fapp.test%2Fmatcher%2Fsecret%25E2%2582%25AC"
    assert response.headers["location"].startswith(f"{matrix.SIGN_IN}?redirect_url={back}&")


def test_auth_outside_a_request_raises(client_for: Callable[[str | None], matrix.Client],
                                       issuer: TestIssuer) -> None:
    send(client_for, issuer, "/view/fields", scenario="signed-in")  # nothing leaks afterwards
    with pytest.raises(RuntimeError, match="outside a request handled by clerk_middleware"):
        auth()


def test_bad_configuration_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="CLERK_SECRET_KEY"):
        clerk_middleware()


def test_options_come_from_the_environment(issuer: TestIssuer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", issuer.secret_key)
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", issuer.publishable_key)
    monkeypatch.setenv("CLERK_JWT_KEY", issuer.jwt_key)
    monkeypatch.setenv("CLERK_SIGN_IN_URL", "/sign-in")
    client = make_client({"clock": issuer.clock})
    outcome = client("/view/protect", matrix.request_headers(issuer, "signed-out", "page"))
    back = "http%3A%2F%2Fapp.test%2Fview%2Fprotect"
    assert outcome.location == f"http://app.test/sign-in?redirect_url={back}"


def environ(**values: str) -> WSGIEnvironment:
    base: WSGIEnvironment = {"REQUEST_METHOD": "GET", "wsgi.url_scheme": "http",
                             "SERVER_NAME": "app.test", "SERVER_PORT": "80", "PATH_INFO": "/"}
    return {**base, **values}


@pytest.mark.parametrize(("values", "url"), [
    ({"HTTP_HOST": "a.test", "RAW_URI": "/x%2Fy?q=%41"}, "http://a.test/x%2Fy?q=%41"),
    ({"HTTP_HOST": "a.test", "REQUEST_URI": "/r"}, "http://a.test/r"),
    ({"SCRIPT_NAME": "/app", "PATH_INFO": "/caf\u00c3\u00a9 x", "QUERY_STRING": "a=1"},
     "http://app.test/app/caf%C3%A9%20x?a=1"),
    ({"SERVER_PORT": "8080", "wsgi.url_scheme": "https"}, "https://app.test:8080/"),
    ({"HTTP_HOST": "a.test", "RAW_URI": "http://proxy-form/"}, "http://a.test/"),
    ({"HTTP_HOST": "a.test", "RAW_URI": "/\u00e9"}, "http://a.test/%E9"),
])
def test_auth_request_from_environ(values: dict[str, str], url: str) -> None:
    assert auth_request_from_environ(environ(**values)).url == url


def test_headers_from_environ() -> None:
    request = auth_request_from_environ(environ(
        HTTP_COOKIE="a=1", HTTP_SEC_FETCH_DEST="document", CONTENT_TYPE="text/plain"))
    assert request.cookies == {"a": "1"}
    assert request.header("sec-fetch-dest") == "document"
    assert request.header("content-type") == "text/plain"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def real_server(issuer: TestIssuer) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, make_app(matrix.settings(issuer)),
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("case", matrix.SMOKE_CASES, ids=matrix.ids(matrix.SMOKE_CASES))
def test_real_server_smoke(real_server: str, issuer: TestIssuer, case: matrix.Case) -> None:
    headers = {**matrix.request_headers(issuer, case.scenario, case.kind), "host": "app.test"}
    with httpx.Client(base_url=real_server) as client:
        response = client.get(case.path, headers=headers)
    matrix.check(case, matrix.Outcome(response.status_code,
                                      tuple(response.headers.multi_items()), response.content))


def test_real_server_keeps_the_raw_path(real_server: str, issuer: TestIssuer) -> None:
    # wsgiref sets no RAW_URI: the path is rebuilt from PATH_INFO's bytes, still malformed.
    headers = {**matrix.request_headers(issuer, "signed-out", "page"), "host": "app.test"}
    with httpx.Client(base_url=real_server) as client:
        assert client.get("/matcher/%E0%A4", headers=headers).status_code == 400


def test_every_header_field_of_the_environ_is_read_and_nothing_else() -> None:
    from clerk_middleware.adapters import wsgi

    request = auth_request_from_environ(environ(
        HTTP_X_FORWARDED_HOST="p.test", HTTP_CONTENT_TYPE="a/b", CONTENT_TYPE="c/d",
        CONTENT_LENGTH="", REMOTE_ADDR="10.0.0.1", **{"gunicorn.socket": "s", "HTTP_A_B": "1"}))
    assert request.header("x-forwarded-host") == "p.test"
    assert request.header("a-b") == "1"
    # Two keys naming one field are joined, as repeated fields are.
    assert request.header("content-type") == "a/b, c/d"
    assert "content-length" not in request.headers
    assert not any(name.startswith(("remote", "gunicorn", "wsgi")) for name in request.headers)
    # Server variables met once are remembered as "not a header" and stay out.
    again = auth_request_from_environ(environ(REMOTE_ADDR="10.0.0.2", HTTP_REMOTE_ADDR="x"))
    assert again.header("remote-addr") == "x"
    assert "REMOTE_ADDR" in wsgi._NOT_HEADERS


def reference_environ_headers(environ: WSGIEnvironment) -> dict[str, str]:
    """Header fields as read before the one-comprehension fast path, with no memo."""
    pairs = [
        (key[5:].replace("_", "-").lower(), value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
        if environ.get(key):
            pairs.append((name, environ[key]))
    return header_fields(pairs)


_ENVIRON_KEYS = st.sampled_from([
    "HTTP_HOST", "HTTP_COOKIE", "HTTP_X_FORWARDED_HOST", "HTTP_x_forwarded_host",
    "HTTP_CONTENT_TYPE", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_AUTHORIZATION",
    "REMOTE_ADDR", "SERVER_SOFTWARE", "HTTP_", "HTTP_A_B", "HTTP_A-B", "X_CUSTOM",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_ENVIRON_KEYS, st.sampled_from(["", "1", "a=b"])), max_size=8))
def test_the_header_fields_of_any_environ_are_read_as_before(pairs: list[tuple[str, str]]) -> None:
    from clerk_middleware.adapters import wsgi

    values = environ(**dict(pairs))
    expected = reference_environ_headers(values)
    # Twice: keys met for the first time, then keys already learnt.
    assert wsgi._environ_headers(values) == expected
    assert wsgi._environ_headers(values) == expected


def test_header_names_chosen_by_clients_are_read_past_the_memo_bound() -> None:
    from clerk_middleware.adapters import wsgi

    fields = {f"HTTP_X_N{n}": str(n) for n in range(wsgi._MAX_NAMES + 200)}
    request = auth_request_from_environ(environ(**fields))
    assert request.header(f"x-n{wsgi._MAX_NAMES + 199}") == str(wsgi._MAX_NAMES + 199)
    assert len([name for name in request.headers if name.startswith("x-n")]) == len(fields)
    assert len(wsgi._HEADER_NAMES) <= wsgi._MAX_NAMES


def test_a_body_already_produced_goes_out_as_it_is_and_a_lazy_one_is_bound(
    issuer: TestIssuer,
) -> None:
    body: list[bytes] = [b"ok"]

    def listed(environ: WSGIEnvironment, start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [])
        return body

    def lazy(environ: WSGIEnvironment, start_response: Callable[..., object]) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield f"auth={auth().user_id}".encode()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return None

    settings = matrix.settings(issuer)
    answered = clerk_middleware(**settings)(listed)(environ(), start_response)
    assert answered is body  # no app code can run while a list is sent
    chunks = clerk_middleware(**settings)(lazy)(environ(), start_response)
    assert chunks is not None and list(chunks) == [b"auth=None"]  # auth() works inside
