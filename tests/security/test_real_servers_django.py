"""Route protection on real servers for Django: signed-out and pending never reach protected views.

The corpus, the credentials and the checks are those of ``test_real_servers``
(hostile targets such as ``/api%2Fadmin``, ``/admin/%2e%2e``, ``/%61dmin``,
double slashes, bad UTF-8, absolute forms, and the Host corpus); the app is
the one-module Django project ``tests.adapters.django.real_site``, served by
gunicorn (WSGI, also under ``SCRIPT_NAME=/app``) and uvicorn (ASGI, the
middleware async, also under ``root_path=/app``). For each deployment:

* a signed-out or pending request never gets ``PROTECTED-VIEW``, nor a 500;
* a signed-in request to each canonical protected path gets the view;
* public pages stay public;
* an invalid Host header is a 4xx (Django's ``ALLOWED_HOSTS`` check or Clerk's).

What each deployment answered, by class of target (signed out), is printed
at the end of the module (``-s``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from clerk_middleware.testing import TestIssuer

from ..adapters.django.servers import serve
from . import test_real_servers as shared_checks
from ._real_servers import PREFIX, Deployment
from .test_real_servers import (
    HostCase,
    Live,
    Report,
    Target,
    credentials_of,
    make_issuer,
    settings_of,
)

SITE = "tests.adapters.django.real_site"
#: (deployment, the application the server loads).
DEPLOYMENTS = (
    (Deployment("gunicorn", "django"), f"{SITE}:wsgi()"),
    (Deployment("gunicorn", "django", PREFIX), f"{SITE}:wsgi()"),
    (Deployment("uvicorn", "django-asgi"), f"{SITE}:asgi()"),
    (Deployment("uvicorn", "django-asgi", PREFIX), f"{SITE}:asgi()"),
)


def _id(value: object) -> str:
    if isinstance(value, tuple):
        return str(value[0].name)
    if isinstance(value, Target):
        return f"{value.kind}:{value.label}"
    if isinstance(value, HostCase):
        return value.name
    return str(value)


@pytest.fixture(scope="module")
def real_issuer() -> TestIssuer:
    return make_issuer()


@pytest.fixture(scope="module")
def report() -> Iterator[Report]:
    collected = Report()
    yield collected
    lines = ["Django deployments, signed out: answers by class of target"]
    names = dict.fromkeys(name for name, _, _ in collected.rows)
    for name in names:
        lines.append(f"- {name}")
        kinds = dict.fromkeys(kind for n, kind, _ in collected.rows if n == name)
        for kind in kinds:
            counts = Counter(v for (n, k, _), v in collected.rows.items() if (n, k) == (name, kind))
            shown = " ".join(f"{s}x{c}" for s, c in sorted(counts.items(), key=lambda i: -i[1]))
            lines.append(f"    {kind}: {shown}")
    print("\n" + "\n".join(lines))


@pytest.fixture(scope="module", params=DEPLOYMENTS, ids=_id)
def live(request: pytest.FixtureRequest, real_issuer: TestIssuer) -> Iterator[Live]:
    deployment, app = request.param
    env = {"DJANGO_SETTINGS_MODULE": SITE, "REAL_APP": deployment.app,
           "CLERK_TEST_SETTINGS": json.dumps(settings_of(real_issuer))}
    with serve(deployment.server, app, env, prefix=deployment.prefix) as url:
        yield Live(deployment, url, credentials_of(real_issuer))


# The four checks of test_real_servers, run here against this module's ``live``
# deployments (pytest resolves their fixtures where they are collected).
test_signed_out_and_pending_never_reach_a_protected_view = (
    shared_checks.test_signed_out_and_pending_never_reach_a_protected_view
)
test_signed_in_reaches_the_protected_view = shared_checks.test_signed_in_reaches_the_protected_view
test_public_pages_stay_public = shared_checks.test_public_pages_stay_public
test_host_headers = shared_checks.test_host_headers
