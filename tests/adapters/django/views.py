"""Django-specific views of the test app: DRF, ``request.user``, permissions, the route matcher."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clerk_middleware.adapters.django import (
    ClerkBackend,
    ClerkUser,
    context_processor,
    csp_nonce,
    get_auth,
    verify_webhook,
)
from clerk_middleware.adapters.django.rest_framework import (
    ClerkAuthentication,
    ClerkMachineAuthentication,
    HasPermission,
    HasRole,
    HasScopes,
    IsMachine,
    IsSignedIn,
)
from clerk_middleware.core import Auth, WebhookVerificationError, create_route_matcher

is_admin_path = create_route_matcher(["/admin(.*)"])


class Me(APIView):
    permission_classes = (IsSignedIn,)

    def get(self, request: Request) -> Response:
        user: Any = request.user
        credentials: Any = request.auth
        return Response({"user": user.username, "auth": get_auth(request).user_id,
                         "same": credentials is not None and credentials.user_id == user.pk,
                         "kind": user.__class__.__name__})

    def post(self, request: Request) -> Response:
        return Response({"posted": True}, status=201)


class Admin(APIView):
    permission_classes = (HasRole("org:admin") | HasPermission("org:billing:manage"),)

    def get(self, request: Request) -> Response:
        return Response({"org": get_auth(request).org_id})


class NotAdmin(APIView):
    permission_classes = (IsSignedIn & ~HasRole("org:admin"),)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class PendingAware(APIView):
    permission_classes = (HasRole("org:admin", treat_pending_as_signed_out=False),)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class MachineOrSession(APIView):
    """Machines with ``reports:read``, or any signed-in user."""

    authentication_classes = (ClerkMachineAuthentication, ClerkAuthentication)
    permission_classes = (HasScopes("reports:read") | IsSignedIn,)

    def get(self, request: Request) -> Response:
        user: Any = request.user
        credentials: Any = request.auth
        return Response({"kind": user.__class__.__name__, "user": user.username,
                         "token_type": getattr(credentials, "token_type", None),
                         "scopes": list(getattr(user, "scopes", ()))})


class ApiKeysOnlyAuthentication(ClerkMachineAuthentication):
    accepts_token = "api_key"


class ApiKeysOnly(APIView):
    authentication_classes = (ApiKeysOnlyAuthentication,)
    permission_classes = (IsMachine("api_key"),)

    def get(self, request: Request) -> Response:
        return Response({"subject": request.user.username})  # type: ignore[union-attr]


#: What ``/current-user/me`` (sync) and ``/current-user-async/me`` answer; a test sets them.
BODY: dict[str, Callable[[], Any]] = {}


def current_user_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(BODY["sync"]())


async def current_user_async_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(await BODY["async"]())


@csrf_exempt
def webhook_view(request: HttpRequest) -> JsonResponse:
    try:
        event = verify_webhook(request)
    except WebhookVerificationError as exc:
        return JsonResponse({"reason": exc.reason}, status=exc.status_code)
    return JsonResponse({"type": event.type, "id": event.data.get("id"),
                         "again": len(request.body)})


def csp_nonce_view(request: HttpRequest) -> JsonResponse:
    """What a template gets from the context processor, and what ``csp_nonce()`` says."""
    return JsonResponse({"template": context_processor(request)["csp_nonce"],
                         "code": csp_nonce()})


def user_view(request: HttpRequest) -> JsonResponse:
    user: Any = request.user
    return JsonResponse({"kind": user.__class__.__name__, "authenticated": user.is_authenticated,
                         "id": getattr(user, "pk", None),
                         "backend": getattr(user, "backend", None)})


async def async_user_view(request: HttpRequest) -> JsonResponse:
    user: Any = await request.auser()
    return JsonResponse({"kind": user.__class__.__name__, "authenticated": user.is_authenticated})


@permission_required("org:billing:manage", raise_exception=True)
def billing(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"billing": True})


def matcher_view(request: HttpRequest, rest: str = "") -> JsonResponse:
    # A view handing the matcher Django's own request: it reads the path Django routes on.
    return JsonResponse({"admin": is_admin_path(request)})


class StaffBackend(ClerkBackend):
    """A project's backend: maps Clerk users onto its own objects."""

    def user_for(self, auth: Auth) -> Any:
        user = ClerkUser(auth)
        user.username = f"staff:{auth.user_id}"
        return user


ROUTES = [
    path("drf/me", Me.as_view()),
    path("drf/admin", Admin.as_view()),
    path("drf/not-admin", NotAdmin.as_view()),
    path("drf/pending-aware", PendingAware.as_view()),
    path("drf/machine-or-session", MachineOrSession.as_view()),
    path("drf/api-keys-only", ApiKeysOnly.as_view()),
    path("current-user/me", current_user_view),
    path("webhooks/clerk", webhook_view),
    path("csp/nonce", csp_nonce_view),
    path("current-user-async/me", current_user_async_view),
    path("user", user_view),
    path("async-user", async_user_view),
    path("billing", billing),
    path("route/<path:rest>", matcher_view),
]
