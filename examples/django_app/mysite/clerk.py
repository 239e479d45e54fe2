"""The middleware: ``MIDDLEWARE = [..., "mysite.clerk.clerk"]``."""

from __future__ import annotations

from django.http import HttpRequest

from clerk_middleware.adapters.django import ClerkAuth, clerk_middleware
from clerk_middleware.core import create_route_matcher

is_protected = create_route_matcher(["/dashboard(.*)"])


def handler(auth: ClerkAuth, request: HttpRequest) -> None:
    if is_protected(auth.request):          # the path Django routes on
        auth.protect()                      # signed-out or pending -> sign-in page


clerk = clerk_middleware(handler)
