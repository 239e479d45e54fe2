"""The matrix routes with async views: the async handler routes ``AsyncClient`` requests here."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.generic import View

from clerk_middleware.adapters.django import ProtectMixin, auth

from .. import matrix
from .app import routes
from .views import csp_nonce_view


async def view(request: HttpRequest, **_: str) -> JsonResponse:
    return JsonResponse(matrix.view_body(auth))


class AsyncAdminView(ProtectMixin, View):
    role = "org:admin"

    async def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(matrix.view_body(auth))


class AsyncMachineView(ProtectMixin, View):
    token = "m2m_token"
    scopes = ("read",)

    async def get(self, request: HttpRequest) -> JsonResponse:
        found = await auth.verify(accepts_token="m2m_token")
        return JsonResponse(matrix.machine_fields(found))


handler404 = "tests.adapters.django.app.not_found"
urlpatterns = routes(
    view,
    [
        path("mixin/admin", AsyncAdminView.as_view()),
        path("mixin/machine", AsyncMachineView.as_view()),
        path("csp/nonce", csp_nonce_view),  # a sync view under the async handler
    ],
)
