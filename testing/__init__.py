"""Test helpers for apps that use clerk_middleware: Clerk, offline.

``TestIssuer`` holds an RSA key pair, names a (fake) Clerk instance through its
publishable key, and mints session tokens (active, pending, with
organizations, expired, ...) and the JWT forms of M2M and OAuth tokens that
the SDK verifies the ordinary way.

``LocalInstance`` serves a local stand-in for a Clerk instance on 127.0.0.1
(JWKS, handshake, handshake payload, session refresh, machine token
verification, a sign-in page and the "choose an organization" task page) with
an in-memory model of users, organizations, sessions, API keys, M2M and OAuth
tokens and injectable faults; ``python -m
clerk_middleware.testing.instance`` runs one from the command line.

``ClerkTestKit`` and ``LocalClerkTestKit`` configure an app for one of them
and make signed-in, pending, signed-out and organization-member requests in
one line; the pytest plugin (``clerk_middleware.testing.pytest_plugin``)
offers them as the ``clerk`` and ``clerk_local`` fixtures.
"""

from ._instance import (
    ApiKey,
    CannedResponse,
    Client,
    ConnectionReset,
    Delay,
    Endpoint,
    Fault,
    InstanceRequest,
    InstanceResponse,
    JwtTemplate,
    LocalInstance,
    M2MToken,
    MalformedBody,
    Membership,
    OAuthToken,
    Organization,
    Session,
    SlowBody,
    User,
)
from ._issuer import OrgClaims, TestIssuer
from ._kit import PAGE_HEADERS, AuthHeaders, ClerkTestKit, LocalClerkTestKit
from ._webhooks import WebhookSender

__all__ = [
    "PAGE_HEADERS",
    "ApiKey",
    "AuthHeaders",
    "CannedResponse",
    "ClerkTestKit",
    "Client",
    "ConnectionReset",
    "Delay",
    "Endpoint",
    "Fault",
    "InstanceRequest",
    "InstanceResponse",
    "JwtTemplate",
    "LocalClerkTestKit",
    "LocalInstance",
    "M2MToken",
    "MalformedBody",
    "Membership",
    "OAuthToken",
    "OrgClaims",
    "Organization",
    "Session",
    "SlowBody",
    "TestIssuer",
    "User",
    "WebhookSender",
]
