"""Webhook verification: sign, verify, and every way a delivery can be refused."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from clerk_middleware.core import ConfigurationError
from clerk_middleware.core._webhooks import (
    MAX_BODY_BYTES,
    MAX_HEADER_LENGTH,
    SIGNING_SECRET_ENV,
    WebhookEvent,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
)

# Far from the real time on purpose: a check that used the real clock would refuse
# every delivery dated here.
SENT = 1_600_000_000
SECRET = "whsec_" + base64.b64encode(bytes(range(24))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 124))).decode()
EVENT: dict[str, Any] = {
    "data": {"id": "user_29w83sxmDNGwOuEthce5gg56FcC", "object": "user"},
    "object": "event",
    "type": "user.created",
    "timestamp": SENT * 1000,
    "instance_id": "ins_123",
}


def at(now: float) -> Callable[[], float]:
    return lambda: now


def signed(
    payload: Mapping[str, Any] | bytes = EVENT, *, secret: str = SECRET, sent: float = SENT
) -> tuple[bytes, dict[str, str]]:
    return sign_webhook(payload, signing_secret=secret, msg_id="msg_test", timestamp=sent)


def verify(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | str,
    *,
    secret: str | None = SECRET,
    now: float = SENT,
    tolerance: float = 300,
) -> WebhookEvent:
    return verify_webhook(headers, body, signing_secret=secret, clock=at(now), tolerance=tolerance)


def refused(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | str,
    *,
    secret: str | None = SECRET,
    now: float = SENT,
) -> WebhookVerificationError:
    with pytest.raises(WebhookVerificationError) as info:
        verify(headers, body, secret=secret, now=now)
    return info.value


# -- the happy path --------------------------------------------------------------------------


def test_a_signed_event_verifies_and_reads_as_clerk_sent_it() -> None:
    body, headers = signed()
    event = verify(headers, body)
    assert event == WebhookEvent(
        type="user.created",
        data=EVENT["data"],
        object="event",
        timestamp=SENT * 1000,
        instance_id="ins_123",
        id="msg_test",
        raw=EVENT,
    )
    assert set(headers) == {"svix-id", "svix-timestamp", "svix-signature"}
    assert headers["svix-timestamp"] == str(SENT)


def test_the_event_is_read_only() -> None:
    body, headers = signed()
    event = verify(headers, body)
    with pytest.raises(TypeError):
        event.data["id"] = "user_other"  # type: ignore[index]
    with pytest.raises(TypeError):
        event.raw["type"] = "user.deleted"  # type: ignore[index]


def test_optional_event_fields_may_be_absent() -> None:
    body, headers = signed({"type": "user.deleted", "data": {"id": "user_1", "deleted": True}})
    event = verify(headers, body)
    assert (event.object, event.timestamp, event.instance_id) == ("event", None, None)


def test_the_library_timestamp_check_is_replaced_by_the_injected_clock() -> None:
    # standardwebhooks compares with datetime.now(); SENT is years ago, so this passes
    # only if verify_webhook's own check (with the injected clock) is the one applied.
    assert time.time() - SENT > 300 * 1000
    body, headers = signed()
    assert verify(headers, body, now=SENT).id == "msg_test"
    fresh_body, fresh_headers = signed(sent=time.time())
    assert refused(fresh_headers, fresh_body, now=SENT).reason == "timestamp-too-new"


def test_str_and_bytes_bodies_verify_alike() -> None:
    payload = {**EVENT, "data": {"first_name": "Zoë", "last_name": "Ünal"}}
    body = json.dumps(payload, ensure_ascii=False).encode()
    body, headers = signed(body)
    assert verify(headers, body).data["first_name"] == "Zoë"
    assert verify(headers, body.decode()).data["first_name"] == "Zoë"
    assert verify(headers, bytearray(body)).data["last_name"] == "Ünal"  # type: ignore[arg-type]


def test_header_names_are_case_insensitive_and_pairs_are_accepted() -> None:
    body, headers = signed()
    assert verify({name.upper(): value for name, value in headers.items()}, body)
    pairs = [("Content-Type", "application/json"), *headers.items(), ("X-Other", "1")]
    assert verify(pairs, body).type == "user.created"


def test_standard_webhooks_header_names_are_accepted() -> None:
    body, headers = signed()
    renamed = {name.replace("svix-", "webhook-"): value for name, value in headers.items()}
    assert verify(renamed, body).id == "msg_test"
    mixed = {
        "svix-id": headers["svix-id"],
        **{k: v for k, v in renamed.items() if k != "webhook-id"},
    }
    assert verify(mixed, body).id == "msg_test"


def test_the_same_header_twice_with_the_same_value_is_accepted() -> None:
    body, headers = signed()
    pairs = [*headers.items(), ("webhook-id", headers["svix-id"]), ("svix-id", "msg_test")]
    assert verify(pairs, body).id == "msg_test"


def test_surrounding_whitespace_of_header_values_is_ignored() -> None:
    body, headers = signed()
    assert verify({name: f" {value}\t" for name, value in headers.items()}, body)


# -- key rotation and signature entries -------------------------------------------------------


def test_any_matching_signature_verifies_during_key_rotation() -> None:
    body, new = signed(secret=OTHER_SECRET)
    _, old = signed(secret=SECRET)
    for both in (
        f"{old['svix-signature']} {new['svix-signature']}",
        f"{new['svix-signature']} {old['svix-signature']}",
    ):
        assert verify({**new, "svix-signature": both}, body, secret=OTHER_SECRET)
        assert verify({**new, "svix-signature": both}, body, secret=SECRET)


def test_v2_entries_are_ignored() -> None:
    body, headers = signed()
    v1 = headers["svix-signature"]
    v2 = v1.replace("v1,", "v2,")
    assert verify({**headers, "svix-signature": f"{v2} {v1}"}, body)
    error = refused({**headers, "svix-signature": v2}, body)
    assert error.reason == "invalid-signature-header"
    assert "svix-signature" in str(error)
    assert "no v1 signature" in str(error)


@pytest.mark.parametrize(
    "extra",
    ["garbage", "v1", "v1,", "v1,not base64!", "v1,AAAA", "v1,a,b", ",", "v1,QUJD=="],
)
def test_malformed_entries_beside_a_good_one_are_ignored(extra: str) -> None:
    # standardwebhooks raises ValueError on some of these; they cannot match anyway.
    body, headers = signed()
    good = headers["svix-signature"]
    assert verify({**headers, "svix-signature": f"{extra} {good}"}, body)
    assert verify({**headers, "svix-signature": f"{good}  {extra}"}, body)
    assert refused({**headers, "svix-signature": extra}, body).reason in {
        "invalid-signature-header",
        "missing-headers",
    }


def test_many_signatures_none_matching_are_refused() -> None:
    body, headers = signed()
    wrong = "v1," + base64.b64encode(bytes(32)).decode()
    many = " ".join([wrong] * 150)
    assert refused({**headers, "svix-signature": many}, body).reason == "no-matching-signature"
    too_many = " ".join([wrong] * 1000)
    error = refused({**headers, "svix-signature": too_many}, body)
    assert error.reason == "invalid-headers"
    assert f"svix-signature header is longer than {MAX_HEADER_LENGTH}" in str(error)


# -- refusals: headers -----------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["svix-id", "svix-timestamp", "svix-signature"])
def test_each_missing_header_is_named(missing: str) -> None:
    body, headers = signed()
    del headers[missing]
    error = refused(headers, body)
    assert error.reason == "missing-headers"
    assert error.status_code == 400
    named = str(error).split("(")[0]
    assert missing in named
    assert [name for name in headers if name in named] == []
    assert missing.replace("svix-", "webhook-") in str(error)
    # An empty value is no header at all.
    assert refused({**headers, missing: ""}, body).reason == "missing-headers"


def test_no_headers_names_all_three() -> None:
    body, _ = signed()
    message = str(refused({"content-type": "application/json"}, body))
    assert message.startswith("Missing webhook headers: svix-id, svix-timestamp, svix-signature")


def test_two_different_values_of_one_header_are_refused() -> None:
    body, headers = signed()
    for pairs in (
        [*headers.items(), ("svix-id", "msg_other")],
        [*headers.items(), ("webhook-id", "msg_other")],
    ):
        error = refused(pairs, body)
        assert error.reason == "invalid-headers"
        assert "two different" in str(error)


@pytest.mark.parametrize("value", ["msg\x00test", "msg_é", "msg\ntest"])
def test_a_header_that_is_not_printable_ascii_is_refused(value: str) -> None:
    body, headers = signed()
    error = refused({**headers, "svix-id": value}, body)
    assert error.reason == "invalid-headers"
    assert "svix-id header is not printable ASCII" in str(error)


@pytest.mark.parametrize(
    "headers",
    [42, "svix-id", [("svix-id",)], [("a", "b", "c")], {"svix-id": b"msg_test"}, None],
)
def test_headers_of_the_wrong_shape_are_refused(headers: Any) -> None:
    body, _ = signed()
    assert refused(headers, body).reason in {"invalid-headers", "missing-headers"}


# -- refusals: tampering and secrets ---------------------------------------------------------


def test_a_tampered_body_is_refused() -> None:
    body, headers = signed()
    error = refused(headers, body.replace(b"user.created", b"user.deleted"))
    assert error.reason == "no-matching-signature"
    assert "svix-signature" in str(error)


def test_a_body_serialised_again_is_refused() -> None:
    body, headers = signed()
    again = json.dumps(json.loads(body)).encode()  # same JSON, other spacing
    assert again != body
    assert refused(headers, again).reason == "no-matching-signature"


def test_a_tampered_id_is_refused() -> None:
    body, headers = signed()
    assert refused({**headers, "svix-id": "msg_other"}, body).reason == "no-matching-signature"


def test_a_tampered_timestamp_is_refused() -> None:
    body, headers = signed()
    moved = {**headers, "svix-timestamp": str(SENT + 1)}
    assert refused(moved, body).reason == "no-matching-signature"


def test_another_endpoints_secret_is_refused() -> None:
    body, headers = signed()
    assert refused(headers, body, secret=OTHER_SECRET).reason == "no-matching-signature"


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        (SECRET.removeprefix("whsec_"), "does not start with 'whsec_'"),
        ("sk_test_abcdefghijklmnopqrstuvwxyz", "Clerk secret key (CLERK_SECRET_KEY)"),
        ("whsec_not*base64!", "not 'whsec_' followed by base64"),
        ("whsec_A", "not 'whsec_' followed by base64"),
        ("whsec_", "not 'whsec_' followed by base64"),
        ("", "set CLERK_WEBHOOK_SIGNING_SECRET or pass signing_secret"),
        ("  \n", "set CLERK_WEBHOOK_SIGNING_SECRET or pass signing_secret"),
    ],
)
def test_a_missing_or_malformed_secret_is_a_configuration_error(secret: str, says: str) -> None:
    body, headers = signed()
    with pytest.raises(ConfigurationError) as info:
        verify(headers, body, secret=secret)
    assert says in str(info.value)
    if secret.strip().removeprefix("whsec_"):
        assert secret.strip().removeprefix("whsec_") not in str(info.value)
        assert "(signing_secret)" in str(info.value)
    with pytest.raises(ConfigurationError):
        sign_webhook(EVENT, signing_secret=secret)


def test_a_configuration_error_comes_before_any_request_check() -> None:
    with pytest.raises(ConfigurationError):
        verify({}, b"", secret="whsec_")


def test_an_unpadded_or_newline_ended_secret_is_accepted() -> None:
    unpadded = "whsec_" + base64.b64encode(bytes(range(23))).decode().rstrip("=")
    body, headers = signed(secret=unpadded)
    assert verify(headers, body, secret=unpadded)
    assert verify(headers, body, secret=unpadded + "\n")


def test_the_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    body, headers = signed()
    with pytest.raises(ConfigurationError, match=SIGNING_SECRET_ENV):
        verify(headers, body, secret=None)
    monkeypatch.setenv(SIGNING_SECRET_ENV, SECRET)
    assert verify(headers, body, secret=None).id == "msg_test"
    monkeypatch.setenv(SIGNING_SECRET_ENV, SECRET.removeprefix("whsec_"))
    with pytest.raises(ConfigurationError, match=rf"\({SIGNING_SECRET_ENV}\) does not start"):
        verify(headers, body, secret=None)
    # An explicit secret wins over the environment.
    monkeypatch.setenv(SIGNING_SECRET_ENV, OTHER_SECRET)
    assert verify(headers, body, secret=SECRET).id == "msg_test"
    assert refused(headers, body, secret=None).reason == "no-matching-signature"


def test_no_message_contains_the_secret_or_a_signature() -> None:
    body, headers = signed()
    key = SECRET.removeprefix("whsec_")
    signature = headers["svix-signature"].removeprefix("v1,")
    failures: list[Exception] = []
    cases: list[tuple[Mapping[str, str], bytes, str | None]] = [
        (headers, body + b" ", SECRET),
        (headers, body, OTHER_SECRET),
        ({**headers, "svix-signature": signature}, body, SECRET),
        ({**headers, "svix-timestamp": "soon"}, body, SECRET),
        (headers, body, key),
        (headers, body, "whsec_" + key[:-1] + "*"),
        ({}, body, SECRET),
    ]
    for case_headers, case_body, secret in cases:
        try:
            verify(case_headers, case_body, secret=secret)
        except (WebhookVerificationError, ConfigurationError) as exc:
            failures.append(exc)
    assert len(failures) == len(cases)
    for failure in failures:
        for secret_text in (key, OTHER_SECRET.removeprefix("whsec_"), signature, key[:-1]):
            assert secret_text not in str(failure)
            assert secret_text not in repr(failure)


# -- refusals: time --------------------------------------------------------------------------


def test_a_delivery_six_minutes_old_is_refused() -> None:
    body, headers = signed()
    error = refused(headers, body, now=SENT + 360)
    assert error.reason == "timestamp-too-old"
    assert "svix-timestamp header is 360 seconds old" in str(error)
    assert "300-second tolerance" in str(error)


def test_a_delivery_six_minutes_ahead_is_refused() -> None:
    body, headers = signed()
    error = refused(headers, body, now=SENT - 360)
    assert error.reason == "timestamp-too-new"
    assert "360 seconds in the future" in str(error)


def test_exactly_the_tolerance_either_way_is_accepted() -> None:
    body, headers = signed()
    assert verify(headers, body, now=SENT + 300)
    assert verify(headers, body, now=SENT - 300)
    assert refused(headers, body, now=SENT + 300.001).reason == "timestamp-too-old"
    assert refused(headers, body, now=SENT - 300.001).reason == "timestamp-too-new"


def test_the_tolerance_is_configurable() -> None:
    body, headers = signed()
    assert verify(headers, body, now=SENT + 3600, tolerance=3600)
    with pytest.raises(WebhookVerificationError, match="10-second tolerance"):
        verify(headers, body, now=SENT + 11, tolerance=10)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigurationError, match="tolerance"):
            verify(headers, body, tolerance=bad)


def test_a_clock_returning_nan_refuses() -> None:
    body, headers = signed()
    assert refused(headers, body, now=float("nan")).reason == "timestamp-too-new"


@pytest.mark.parametrize(
    "value",
    [
        "soon",
        "1.6e9",
        f"{SENT}.0",
        f"+{SENT}",
        f"-{SENT}",
        f"{SENT:_}",
        "\uff11\uff16" + "\uff10" * 8,  # fullwidth digits
        "9" * 13,
    ],
)
def test_a_timestamp_that_is_not_whole_seconds_is_refused(value: str) -> None:
    # standardwebhooks would read most of these with float() and sign their integer part.
    body, headers = signed()
    error = refused({**headers, "svix-timestamp": value}, body)
    assert error.reason in {"invalid-timestamp", "invalid-headers"}
    assert "svix-timestamp header" in str(error)


# -- refusals: the body ----------------------------------------------------------------------


def test_a_body_that_is_not_utf8_is_refused() -> None:
    body, headers = signed()
    error = refused(headers, b"\xff" + body)
    assert error.reason == "invalid-body"
    assert "not UTF-8" in str(error)
    assert refused(headers, "{\udcff}").reason == "invalid-body"


@pytest.mark.parametrize(
    ("body", "reason", "says"),
    [
        (b"not json", "invalid-body", "not JSON"),
        (b"", "invalid-body", "not JSON"),
        (b'{"type": "user.created", "data": {"n": NaN}}', "invalid-body", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid-body", "not JSON"),
        (b'[{"type": "user.created", "data": {}}]', "invalid-payload", "JSON list"),
        (b"null", "invalid-payload", "JSON NoneType"),
        (b'{"data": {}}', "invalid-payload", "no string 'type'"),
        (b'{"type": 1, "data": {}}', "invalid-payload", "no string 'type'"),
        (b'{"type": "user.created"}', "invalid-payload", "no object 'data'"),
        (b'{"type": "user.created", "data": []}', "invalid-payload", "no object 'data'"),
        (b'{"type": "x", "data": {}, "object": 1}', "invalid-payload", "'object'"),
        (b'{"type": "x", "data": {}, "timestamp": "1"}', "invalid-payload", "'timestamp'"),
        (b'{"type": "x", "data": {}, "timestamp": true}', "invalid-payload", "'timestamp'"),
        (b'{"type": "x", "data": {}, "instance_id": 7}', "invalid-payload", "'instance_id'"),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_refused(body: bytes, reason: str, says: str) -> None:
    body, headers = signed(body)
    error = refused(headers, body)
    assert error.reason == reason
    assert says in str(error)


def test_a_body_over_one_mebibyte_is_refused() -> None:
    skeleton = {"type": "user.updated", "data": {"pad": ""}}
    padding = MAX_BODY_BYTES - len(json.dumps(skeleton, separators=(",", ":")))
    largest = {"type": "user.updated", "data": {"pad": "x" * padding}}
    body, headers = signed(largest)
    assert len(body) == MAX_BODY_BYTES
    assert verify(headers, body).data["pad"] == "x" * padding
    assert verify(headers, body.decode()).type == "user.updated"
    # The last one has as many characters as the largest body, and one byte more.
    for over in (body + b" ", body.decode() + " ", body.decode().replace("x", "é", 1)):
        error = refused(headers, over)
        assert error.reason == "body-too-large"
        assert error.status_code == 413
        assert str(MAX_BODY_BYTES) in str(error)


# -- interoperability ------------------------------------------------------------------------


def test_svix_documentation_example_verifies() -> None:
    # The example of Svix's "verifying signatures manually" guide. Its body is not a
    # Clerk event, so getting as far as reading the payload proves the signature matched.
    headers = {
        "svix-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "svix-timestamp": "1614265330",
        "svix-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    body = b'{"test": 2432232314}'
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert refused(headers, body, secret=secret, now=1614265330).reason == "invalid-payload"
    assert refused(headers, body + b" ", secret=secret, now=1614265330).reason == (
        "no-matching-signature"
    )
    assert sign_webhook(
        body, signing_secret=secret, msg_id=headers["svix-id"], timestamp=1614265330
    ) == (body, headers)


def test_a_signature_made_by_standardwebhooks_verifies() -> None:
    body = json.dumps(EVENT).encode()
    signature = Webhook(SECRET).sign("msg_std", datetime.fromtimestamp(SENT, tz=UTC), body.decode())
    headers = {
        "webhook-id": "msg_std",
        "webhook-timestamp": str(SENT),
        "webhook-signature": signature,
    }
    assert verify(headers, body).id == "msg_std"


def test_a_signature_made_by_svix_verifies_and_svix_accepts_ours() -> None:
    svix = pytest.importorskip("svix.webhooks")
    now = time.time()
    body = json.dumps(EVENT).encode()
    signature = svix.Webhook(SECRET).sign(
        "msg_svix", datetime.fromtimestamp(now, tz=UTC), body.decode()
    )
    headers = {"svix-id": "msg_svix", "svix-timestamp": str(int(now)), "svix-signature": signature}
    assert verify(headers, body, now=now).id == "msg_svix"
    ours_body, ours = sign_webhook(EVENT, signing_secret=SECRET, timestamp=now)
    svix.Webhook(SECRET).verify(ours_body, ours)  # raises if it does not verify


# -- property: nothing else escapes ----------------------------------------------------------

_NAMES = st.sampled_from(
    [
        "svix-id",
        "svix-timestamp",
        "svix-signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "Svix-Signature",
        "content-type",
    ]
)
_VALUES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="v1,2 =+/AQIDBwxyz", max_size=120),
    st.integers(0, 2 * SENT).map(str),
    st.just("v1," + base64.b64encode(bytes(32)).decode()),
    st.just("x" * (MAX_HEADER_LENGTH + 1)),
)
_HEADERS = st.lists(st.tuples(st.one_of(_NAMES, st.text(max_size=10)), _VALUES), max_size=8)
_BODIES = st.one_of(st.binary(max_size=200), st.text(max_size=200), st.just(json.dumps(EVENT)))


@settings(max_examples=300, deadline=None)
@given(_HEADERS, _BODIES)
def test_arbitrary_headers_and_bodies_only_fail_verification(
    headers: list[tuple[str, str]], body: bytes | str
) -> None:
    with pytest.raises(WebhookVerificationError):
        verify(headers, body)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "data", "object", "timestamp", "x"]), children, max_size=4
        )
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        _JSON.map(lambda value: json.dumps(value).encode()), st.text(max_size=60).map(str.encode)
    )
)
def test_arbitrary_signed_bodies_verify_or_fail_verification(body: bytes) -> None:
    body, headers = signed(body)
    try:
        event = verify(headers, body)
    except WebhookVerificationError as exc:
        assert exc.reason in {"invalid-body", "invalid-payload"}
    else:
        assert isinstance(event.type, str)
        assert event.raw == json.loads(body)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_signature_headers_only_fail_verification(signature: str) -> None:
    body, headers = signed()
    with pytest.raises(WebhookVerificationError):
        verify({**headers, "svix-signature": signature}, body)
