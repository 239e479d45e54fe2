"""Content-Security-Policy headers, same options, same text: ours against @clerk/nextjs's.

Every case runs once through Clerk's ``createContentSecurityPolicyHeaders``
(``clerk_csp_oracle.mjs``, with Clerk's nonce drawn from bytes the case gives)
and through ``content_security_policy_headers`` with the nonce those bytes
make. The header names, their order and their text must be identical, in
production and development builds (``'unsafe-eval'``).

Needs node >= 20 and ``npm ci`` in ``tests/conformance``; without them every test
fails and says so.
"""

from __future__ import annotations

import base64
import itertools
import random
from typing import Any

import pytest

from clerk_middleware.core._csp import ContentSecurityPolicy, content_security_policy_headers

from ._oracle import OracleError, run_oracle

pytestmark = pytest.mark.conformance

HOSTS = ("happy-hippo-1.clerk.accounts.dev", "clerk.example.com")

#: Extra directives, each as Clerk's option writes them.
DIRECTIVES: dict[str, dict[str, Any]] = {
    "none": {},
    "img-cdn": {"img-src": ["https://cdn.example.com"]},
    "img-string": {"img-src": "https://cdn.example.com"},
    "connect-two": {"connect-src": ["https://api.example.com", "wss://ws.example.com"]},
    "duplicates": {"img-src": ["self", "'self'", "https://img.clerk.com"]},
    "keywords-bare": {"script-src": ["unsafe-hashes", "strict-dynamic", "self"]},
    "keywords-quoted": {"style-src": ["'unsafe-inline'", "'unsafe-eval'"]},
    "odd-quotes": {"font-src": ["'self", "self'", "''self''", "'", "''", "'https://x.test'"]},
    "none-default": {"frame-src": ["none"]},
    "none-quoted": {"frame-src": ["'none'", "https://x.test"]},
    "none-custom": {"object-src": ["'none'"]},
    "custom": {"font-src": ["https://fonts.gstatic.com", "data:"], "media-src": ["self"]},
    "sorting": {
        "base-uri": ["self"],
        "worker-src": ["https://w.test"],
        "frame-ancestors": ["none"],
        "script-src-elem": ["self"],
        "upgrade-insecure-requests": [],
    },
    "script-again": {"script-src": ["https:", "http:", "https://js.example.com"]},
    "nonce-like": {"script-src": ["'nonce-abc'", "'sha256-abc='"]},
    "many": {f"x{n}-src": [f"https://{n}.test"] for n in range(6)},
}

FLAGS = list(
    itertools.product((False, True), (False, True), (None, "https://report.example.com/csp"))
)


def _cases() -> list[dict[str, Any]]:
    generator = random.Random(7)  # noqa: S311 - fixed test bytes, not secrets
    cases: list[dict[str, Any]] = []
    for (strict, report_only, report_to), (
        directives_name,
        directives,
    ), production, host in itertools.product(FLAGS, DIRECTIVES.items(), (True, False), HOSTS):
        if host != HOSTS[0] and directives_name not in ("none", "custom"):
            continue
        options: dict[str, Any] = {"strict": strict, "reportOnly": report_only}
        if report_to is not None:
            options["reportTo"] = report_to
        if directives:
            options["directives"] = directives
        name = (
            f"{'strict' if strict else 'lax'}-{'report' if report_only else 'enforce'}"
            f"-{'to' if report_to else 'noto'}-{directives_name}-"
            f"{'prod' if production else 'dev'}-{host.split('.')[0]}"
        )
        cases.append(
            {
                "name": name,
                "host": host,
                "options": options,
                "production": production,
                "random": [generator.randrange(256) for _ in range(16)],
            }
        )
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def clerk_results() -> dict[str, Any] | str:
    try:
        results = run_oracle(CASES, script="clerk_csp_oracle.mjs")
    except OracleError as exc:
        return str(exc)
    return {result["name"]: result for result in results}


def _ours(case: dict[str, Any]) -> list[list[str]]:
    options = case["options"]
    policy = ContentSecurityPolicy.from_mapping({**options, "unsafe_eval": not case["production"]})
    nonce = base64.b64encode(bytes(case["random"])).decode()
    headers = content_security_policy_headers(policy, case["host"], nonce=nonce)
    return [list(pair) for pair in headers]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_same_headers_as_clerk(case: dict[str, Any], clerk_results: dict[str, Any] | str) -> None:
    if isinstance(clerk_results, str):
        pytest.fail(f"Clerk's SDK could not be run:\n{clerk_results}", pytrace=False)
    clerk = clerk_results[case["name"]]
    assert "error" not in clerk, clerk
    assert _ours(case) == clerk["headers"]


def test_the_cases_cover_the_options() -> None:
    names = [case["name"] for case in CASES]
    assert len(set(names)) == len(names) > 200
    assert any(case["options"].get("reportTo") for case in CASES)
