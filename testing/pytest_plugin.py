"""The pytest plugin of clerk_middleware (registered as ``clerk_middleware`` via ``pytest11``).

Fixtures:

- ``clerk`` -- a ``ClerkTestKit`` over ``clerk_issuer``: networkless
  verification, tokens minted in the test. Its ``CLERK_*`` variables are set
  for the test, so an app built in the test (or in a fixture that requests
  ``clerk``) needs no options::

      def test_dashboard(clerk):
          client = create_app().test_client()
          assert client.get("/dashboard", headers=clerk.signed_in()).status_code == 200
          assert client.get("/dashboard", headers=clerk.pending(page=True)).status_code == 307
          assert client.get("/admin", headers=clerk.org_member(role="member")).status_code == 404

  Sessions travel as ``Authorization: Bearer``, so these lines work with each
  framework's default test client, whatever its cookie jar holds;
  ``clerk.set_cookies(client, state)`` puts a state's cookies into that jar.
  An app built at import time is pointed at the kit with ``clerk.configure(app)``.
- ``clerk_local`` -- a ``LocalClerkTestKit`` over ``clerk_instance``: the
  same interface, but the app talks to a running local instance (remote JWKS,
  handshakes, refresh, the sign-in and task pages), and each call makes a
  real user and session there. Its ``CLERK_*`` variables are set too.
- ``clerk_instance`` -- a running ``LocalInstance`` (personal accounts allowed),
  closed after the test.
- ``clerk_issuer`` -- the session's ``TestIssuer`` (one RSA key for the whole run).

Every fixture that talks to a Backend API forgets the SDK's per-instance
clients and key caches before and after the test (``reset_backends``), so no
test sees another's keys. Disable the plugin with ``-p no:clerk_middleware``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clerk_middleware.core._backend import reset_backends

from ._instance import LocalInstance
from ._issuer import TestIssuer
from ._kit import ClerkTestKit, LocalClerkTestKit

__all__ = ["clerk", "clerk_instance", "clerk_issuer", "clerk_local"]


@pytest.fixture(scope="session")
def clerk_issuer() -> TestIssuer:
    """A development instance's ``TestIssuer``, shared by the whole test session."""
    return TestIssuer()


@pytest.fixture
def clerk(clerk_issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClerkTestKit]:
    """A ``ClerkTestKit`` over ``clerk_issuer``, its ``CLERK_*`` variables set for the test."""
    kit = ClerkTestKit(clerk_issuer)
    for name, value in kit.env.items():
        monkeypatch.setenv(name, value)
    reset_backends()
    yield kit
    reset_backends()


@pytest.fixture
def clerk_instance(clerk_issuer: TestIssuer) -> Iterator[LocalInstance]:
    """A running ``LocalInstance`` signing with ``clerk_issuer``'s key."""
    reset_backends()
    with LocalInstance(clerk_issuer) as instance:
        yield instance
    reset_backends()


@pytest.fixture
def clerk_local(
    clerk_instance: LocalInstance, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalClerkTestKit]:
    """A ``LocalClerkTestKit`` over ``clerk_instance``, its ``CLERK_*`` variables set."""
    kit = LocalClerkTestKit(clerk_instance)
    for name, value in kit.env.items():
        monkeypatch.setenv(name, value)
    reset_backends()
    yield kit
    reset_backends()
