"""Test helpers for apps that use clerk_middleware: mint real Clerk session tokens offline.

``TestIssuer`` holds an RSA key pair, names a (fake) Clerk instance through its
publishable key, and mints session tokens (active, pending, with
organizations, expired, ...) that the SDK verifies the ordinary way.

``LocalInstance`` serves a local stand-in for a Clerk instance on 127.0.0.1
(JWKS, handshake, handshake payload, session refresh) with an in-memory model
of users and sessions and injectable faults; ``python -m
clerk_middleware.testing.instance`` runs one from the command line.
"""

from ._instance import (
    CannedResponse,
    Client,
    ConnectionReset,
    Delay,
    Endpoint,
    Fault,
    InstanceRequest,
    InstanceResponse,
    LocalInstance,
    MalformedBody,
    Membership,
    Organization,
    Session,
    SlowBody,
    User,
)
from ._issuer import OrgClaims, TestIssuer

__all__ = [
    "CannedResponse",
    "Client",
    "ConnectionReset",
    "Delay",
    "Endpoint",
    "Fault",
    "InstanceRequest",
    "InstanceResponse",
    "LocalInstance",
    "MalformedBody",
    "Membership",
    "OrgClaims",
    "Organization",
    "Session",
    "SlowBody",
    "TestIssuer",
    "User",
]
