"""A small Django project with Clerk: ``examples/django_app`` (see docs/quickstart/django.md)."""
