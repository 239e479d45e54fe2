"""organization_sync_options: an OrganizationSyncOptions, or a mapping as Clerk users write it."""

from __future__ import annotations

from typing import Any

import pytest

from clerk_middleware.core import (
    AuthRequest,
    AuthStatus,
    ClerkOptions,
    ConfigurationError,
    OrganizationSyncOptions,
    authenticate_request,
)
from clerk_middleware.testing import OrgClaims, TestIssuer

from ..conftest import NOW

PATTERNS = {"organization_patterns": ("/orgs/:slug", "/orgs/:slug/(.*)"),
            "personal_account_patterns": ("/me", "/me/(.*)")}


@pytest.mark.parametrize("mapping", [
    {"organizationPatterns": ["/orgs/:slug", "/orgs/:slug/(.*)"],
     "personalAccountPatterns": ["/me", "/me/(.*)"]},
    {"organization_patterns": ["/orgs/:slug", "/orgs/:slug/(.*)"],
     "personal_account_patterns": ("/me", "/me/(.*)")},
    {"organizationPatterns": ["/orgs/:slug", "/orgs/:slug/(.*)"],
     "personal_account_patterns": ["/me", "/me/(.*)"]},
])
def test_camel_and_snake_case_mappings_are_accepted(
    issuer: TestIssuer, mapping: dict[str, Any]
) -> None:
    options = issuer.options(organization_sync_options=mapping)
    assert options.organization_sync_options == OrganizationSyncOptions(**PATTERNS)


def test_a_mapping_drives_the_sync_like_the_dataclass(prod_issuer: TestIssuer) -> None:
    # A page of another organization than the session's active one: a handshake activates it.
    token = prod_issuer.session_token(org=OrgClaims(id="org_1", slug="one"))
    cookie = f"__client_uat={int(NOW) - 100}; __session={token}"
    request = AuthRequest("GET", "https://app.example.com/orgs/two",
                          {"cookie": cookie, "sec-fetch-dest": "document", "accept": "text/html"})
    for sync in ({"organizationPatterns": ["/orgs/:slug"]},
                 OrganizationSyncOptions(organization_patterns=("/orgs/:slug",))):
        state = authenticate_request(request, prod_issuer.options(organization_sync_options=sync))
        assert (state.status, state.reason) == (AuthStatus.HANDSHAKE,
                                                "active-organization-mismatch")
    plain = authenticate_request(request, prod_issuer.options())
    assert plain.status is AuthStatus.SIGNED_IN


def test_unknown_keys_are_refused_with_the_valid_ones(issuer: TestIssuer) -> None:
    with pytest.raises(ConfigurationError) as caught:
        issuer.options(organization_sync_options={"organizationPattern": ["/orgs/:slug"]})
    message = str(caught.value)
    assert "unknown key 'organizationPattern'" in message
    for key in ("organizationPatterns", "personalAccountPatterns", "organization_patterns",
                "personal_account_patterns"):
        assert key in message


@pytest.mark.parametrize(("sync", "says"), [
    ({"organizationPatterns": "/orgs/:slug"}, "must be a list of path patterns"),
    ({"organizationPatterns": [1]}, "patterns must be strings"),
    ({"organizationPatterns": {"/orgs/:slug"}}, "must be a list of path patterns"),
    ({"organizationPatterns": ["/o"], "organization_patterns": ["/o"]}, "twice"),
    ({"organizationPatterns": ["/o/:"]}, "Invalid path"),
    (["/orgs/:slug"], "must be an OrganizationSyncOptions or a mapping"),
])
def test_bad_values_fail_at_start_up(issuer: TestIssuer, sync: Any, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        issuer.options(organization_sync_options=sync)


def test_missing_or_none_keys_mean_no_patterns(issuer: TestIssuer) -> None:
    options = issuer.options(organization_sync_options={"personalAccountPatterns": None})
    assert options.organization_sync_options == OrganizationSyncOptions()


def test_the_dataclass_takes_lists_and_refuses_a_bare_string() -> None:
    assert OrganizationSyncOptions(organization_patterns=["/o/:id"]).organization_patterns == (  # type: ignore[arg-type]
        "/o/:id",)
    with pytest.raises(ConfigurationError, match="list of path patterns"):
        OrganizationSyncOptions(organization_patterns="/o/:id")  # type: ignore[arg-type]


def test_from_mapping_is_the_public_conversion() -> None:
    sync = OrganizationSyncOptions.from_mapping({"organizationPatterns": ["/orgs/:slug"]})
    assert sync == OrganizationSyncOptions(organization_patterns=("/orgs/:slug",))


def test_from_env_passes_a_mapping_through(issuer: TestIssuer) -> None:
    env = {"CLERK_SECRET_KEY": issuer.secret_key, "CLERK_PUBLISHABLE_KEY": issuer.publishable_key}
    options = ClerkOptions.from_env(env, organization_sync_options={"organizationPatterns": ["/o"]})
    assert options.organization_sync_options == OrganizationSyncOptions(("/o",))
