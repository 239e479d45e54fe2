"""Shared fixtures: a clean CLERK_* environment and a pinned clock."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from clerk_middleware.testing import TestIssuer

# No property test fails on time: a loaded machine is slow now and then, and speed
# is measured by the benchmarks, not asserted in tests.
settings.register_profile("clerk-middleware", deadline=None)
settings.load_profile("clerk-middleware")

NOW = 1_790_000_000.0


@pytest.fixture(autouse=True)
def _clean_clerk_environment() -> Iterator[None]:
    """Hide the developer's CLERK_* variables from every test."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("CLERK_")}
    for key in saved:
        del os.environ[key]
    yield
    for key in [k for k in os.environ if k.startswith("CLERK_")]:
        del os.environ[key]
    os.environ.update(saved)


@pytest.fixture(scope="session")
def issuer() -> TestIssuer:
    """A development instance whose clock is pinned at NOW."""
    return TestIssuer(clock=lambda: NOW)


@pytest.fixture(scope="session")
def prod_issuer() -> TestIssuer:
    """A production instance (pk_live_) at clerk.example.com, clock pinned at NOW."""
    return TestIssuer("clerk.example.com", production=True, clock=lambda: NOW)


@pytest.fixture(scope="session")
def other_issuer() -> TestIssuer:
    """Another instance with another key: its tokens must never verify for ``issuer``."""
    return TestIssuer(clock=lambda: NOW)
