"""Django's settings for the test session, configured once (Django allows one configuration).

``configure()`` is called by every test module that needs Django (the adapter
table's app, the example's tests); modules that do not need it never call it.
Each test app then overrides what it needs (``override_settings``) or builds
its handler with its own ``MIDDLEWARE``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import django
from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]
#: The example project's folder, where ``manage.py`` puts it: on ``sys.path`` for ``mysite``.
EXAMPLE = ROOT / "examples" / "django_app"

SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": "tests-only-not-secret",
    "ALLOWED_HOSTS": ["app.test", "testserver", "localhost", "127.0.0.1"],
    "ROOT_URLCONF": "tests.adapters.django.app",
    "MIDDLEWARE": [],
    "INSTALLED_APPS": [
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "clerk_middleware.adapters.django",
        "mysite",
    ],
    "TEMPLATES": [{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "clerk_middleware.adapters.django.context_processor",
        ]},
    }],
    "DATABASES": {},
    "USE_TZ": True,
    # Leave logging alone: pytest captures the "Not Found: ..." lines Django logs.
    "LOGGING_CONFIG": None,
    "REST_FRAMEWORK": {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "clerk_middleware.adapters.django.rest_framework.ClerkAuthentication",
        ],
        "UNAUTHENTICATED_USER": None,
    },
}


def configure() -> None:
    """Configure Django for the test session, once."""
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    if not settings.configured:
        settings.configure(**SETTINGS)
        django.setup()
