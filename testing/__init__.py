"""Test helpers for apps that use clerk_middleware: mint real Clerk session tokens offline.

``TestIssuer`` holds an RSA key pair, names a (fake) Clerk instance through its
publishable key, and mints session tokens (active, pending, with
organizations, expired, ...) that the SDK verifies the ordinary way.
"""

from ._issuer import OrgClaims, TestIssuer

__all__ = ["OrgClaims", "TestIssuer"]
