"""Fixtures: a local Clerk instance per test, fake clocks, and fresh Backend API clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clerk_middleware.core import ClerkOptions
from clerk_middleware.core._backend import BackendApi, configure_backend, reset_backends
from clerk_middleware.testing import LocalInstance, Session, TestIssuer

from ._support import T0, FakeClock


@pytest.fixture(autouse=True)
def _fresh_backends() -> Iterator[None]:
    """Every test starts with cold key caches and leaves no clients open."""
    reset_backends()
    yield
    reset_backends()


@pytest.fixture
def wall() -> FakeClock:
    """Unix time for tokens and the SDK (``options.clock``)."""
    return FakeClock(T0)


@pytest.fixture
def monotonic() -> FakeClock:
    """The Backend API client's cache clock."""
    return FakeClock(1000.0)


@pytest.fixture
def instance(wall: FakeClock) -> Iterator[LocalInstance]:
    with LocalInstance(TestIssuer(clock=wall)) as clerk:
        yield clerk


@pytest.fixture
def options(instance: LocalInstance) -> ClerkOptions:
    return instance.options()


@pytest.fixture
def backend(options: ClerkOptions, monotonic: FakeClock) -> BackendApi:
    """The instance's BackendApi, on the fake cache clock, as authenticate_request uses it."""
    return configure_backend(options, monotonic=monotonic)


@pytest.fixture
def session(instance: LocalInstance) -> Session:
    return instance.sign_in(instance.create_user(email_address="ada@example.com"))


@pytest.fixture
def token(instance: LocalInstance, session: Session) -> str:
    return instance.session_token(session)
