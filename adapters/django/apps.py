"""The Django app ``clerk_middleware.adapters.django``: list it in ``INSTALLED_APPS``.

It brings the ``{% load clerk %}`` tag library; the middleware, the context
processor and the authentication backend work without it.
"""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["ClerkConfig"]


class ClerkConfig(AppConfig):
    """``clerk_middleware.adapters.django``, labelled ``clerk_middleware`` (it has no models)."""

    name = "clerk_middleware.adapters.django"
    label = "clerk_middleware"
    verbose_name = "Clerk"
    default = True
