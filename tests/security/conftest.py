"""Each module starts and ends with no shared Backend API client or key cache left over."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clerk_middleware.core._backend import reset_backends


@pytest.fixture(scope="module", autouse=True)
def _fresh_backends() -> Iterator[None]:
    # Modules here replace the shared BackendApi of an instance (configure_backend)
    # with fakes; none of that may leak into the next module, or into other suites.
    reset_backends()
    yield
    reset_backends()
