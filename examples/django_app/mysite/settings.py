"""Settings of the example project; Clerk's keys come from the CLERK_* variables."""

from __future__ import annotations

import os

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-example-only")
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "clerk_middleware.adapters.django",     # {% load clerk %}
    "mysite",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "mysite.clerk.clerk",                   # clerk_middleware(handler), in mysite/clerk.py
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "clerk_middleware.adapters.django.context_processor",   # {{ auth.user_id }}
            ],
        },
    },
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clerk_middleware.adapters.django.rest_framework.ClerkAuthentication",
    ],
    "UNAUTHENTICATED_USER": None,
}

# Options for clerk_middleware; CLERK_* variables fill in the rest (the keys).
CLERK = {"tasks_url": "/onboarding"}        # pending users finish signing up here

DATABASES: dict[str, dict[str, str]] = {}   # no models: Clerk keeps the users
USE_TZ = True
