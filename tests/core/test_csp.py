"""The ``content_security_policy`` option: validation, and the headers' shape.

The header text itself is compared with Clerk's in
tests/conformance/test_csp_conformance.py; these check what Clerk does not:
that a malformed option is refused when the options are built (nothing of it
can reach a header), and how the option is written in Python.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from clerk_middleware.core import ClerkOptions, ConfigurationError
from clerk_middleware.core._csp import (
    ContentSecurityPolicy,
    content_security_policy_headers,
    generate_nonce,
)
from clerk_middleware.testing import TestIssuer

HOST = "clerk.example.com"


def test_the_option_takes_true_a_policy_or_clerks_mapping(issuer: TestIssuer) -> None:
    assert issuer.options(content_security_policy=True).content_security_policy == (
        ContentSecurityPolicy()
    )
    assert issuer.options(content_security_policy=False).content_security_policy is None
    assert issuer.options().content_security_policy is None
    written = issuer.options(
        content_security_policy={"strict": True, "reportOnly": True, "directives": {"a-src": "x"}}
    ).content_security_policy
    assert written == ContentSecurityPolicy(
        strict=True, report_only=True, directives=(("a-src", ("x",)),)
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("strict", "must be a ContentSecurityPolicy"),
        ({"strcit": True}, "Unknown content_security_policy key 'strcit'"),
        ({"reportOnly": True, "report_only": False}, "given twice"),
        ({"strict": "yes"}, "strict must be True or False"),
        ({"reportTo": "https://a.test/x; script-src *"}, "report_to must be a URL"),
        ({"reportTo": 'https://a.test/"x'}, "report_to must be a URL"),
        ({"directives": ["img-src"]}, "must map directive names"),
        ({"directives": {"Img-Src": ["x"]}}, "not a directive name"),
        ({"directives": {"img-src; script-src": ["x"]}}, "not a directive name"),
        ({"directives": {"img-src": [1]}}, "must be strings"),
        ({"directives": {"img-src": ["a b"]}}, "holds a space"),
        ({"directives": {"img-src": ["https://x.test;script-src *"]}}, "semicolon"),
        ({"directives": {"img-src": ["x\r\nSet-Cookie: a=b"]}}, "control character"),
        ({"directives": {"img-src": [""]}}, "is empty"),
        ({"unsafe_eval": "no"}, "unsafe_eval must be a bool"),
    ],
)
def test_malformed_policies_are_refused(issuer: TestIssuer, value: Any, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words.replace("(", r"\(").replace(";", ";")):
        issuer.options(content_security_policy=value)


def test_nonces_are_fresh_base64_of_16_bytes() -> None:
    nonces = {generate_nonce() for _ in range(50)}
    assert len(nonces) == 50
    assert all(len(base64.b64decode(nonce)) == 16 for nonce in nonces)


def test_header_shapes() -> None:
    lax = dict(content_security_policy_headers(ContentSecurityPolicy(), HOST))
    assert set(lax) == {"content-security-policy"}
    assert "https: http:" in lax["content-security-policy"]
    assert "'unsafe-eval'" not in lax["content-security-policy"]
    strict = dict(content_security_policy_headers(ContentSecurityPolicy(strict=True), HOST))
    assert set(strict) == {"content-security-policy", "x-nonce"}
    assert f"'nonce-{strict['x-nonce']}'" in strict["content-security-policy"]
    assert "https: http:" not in strict["content-security-policy"]
    given = dict(
        content_security_policy_headers(ContentSecurityPolicy(strict=True), HOST, nonce="n")
    )
    assert given["x-nonce"] == "n"
    dev = dict(content_security_policy_headers(ContentSecurityPolicy(), HOST, development=True))
    assert "script-src 'self' 'unsafe-eval' 'unsafe-inline'" in dev["content-security-policy"]
    off = ContentSecurityPolicy(unsafe_eval=False)
    assert (
        "'unsafe-eval'"
        not in dict(content_security_policy_headers(off, HOST, development=True))[
            "content-security-policy"
        ]
    )
    assert "connect-src 'self'" in lax["content-security-policy"]
    assert f" {HOST};" in lax["content-security-policy"]


def test_options_compare_and_hash_with_a_policy(issuer: TestIssuer) -> None:
    one = issuer.options(content_security_policy={"directives": {"img-src": ["x"]}})
    two = issuer.options(content_security_policy={"directives": {"img-src": ["x"]}})
    assert one.content_security_policy == two.content_security_policy
    assert hash(one.content_security_policy) == hash(two.content_security_policy)
    assert isinstance(one, ClerkOptions)
