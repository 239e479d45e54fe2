"""Views: a public home page, a dashboard, an admin page, and an API."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.generic import View
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clerk_middleware.adapters.django import ClerkRequest, ProtectMixin, auth, get_auth, protect
from clerk_middleware.adapters.django.rest_framework import HasRole, IsSignedIn


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def dashboard(request: HttpRequest) -> JsonResponse:  # protected by mysite/clerk.py's handler
    current = auth()
    return JsonResponse(
        {"user_id": current.user_id, "org_id": current.org_id, "org_role": current.org_role}
    )


@protect(treat_pending_as_signed_out=False)  # pending users too: tasks_url sends them here
def onboarding(request: HttpRequest) -> JsonResponse:
    current = get_auth(request, treat_pending_as_signed_out=False)
    return JsonResponse({"user_id": current.user_id, "session_status": current.session_status})


class AdminView(ProtectMixin, View):
    role = "org:admin"                      # members get a 404: Clerk hides what they may not see

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"org_id": auth().org_id, "permissions": auth().org_permissions})


class MeView(APIView):
    permission_classes = (IsSignedIn,)      # signed out: 401

    def get(self, request: Request) -> Response:
        current = get_auth(request)          # also request.auth
        return Response({"user_id": current.user_id, "org_id": current.org_id})


class MembersView(APIView):
    permission_classes = (HasRole("org:admin") | HasRole("org:manager"),)

    def get(self, request: Request) -> Response:
        return Response({"org_id": get_auth(request).org_id, "members": []})

    def post(self, request: Request) -> Response:   # a cookie session needs its CSRF token
        data = request.data if isinstance(request.data, dict) else {}
        return Response({"invited": data.get("email")}, status=201)


def status(request: ClerkRequest) -> JsonResponse:
    return JsonResponse({"signed_in": request.auth.is_signed_in})
