"""URLs of the example project."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("dashboard", views.dashboard),
    path("onboarding", views.onboarding),
    path("admin", views.AdminView.as_view()),
    path("api/me", views.MeView.as_view()),
    path("api/members", views.MembersView.as_view()),
    path("status", views.status),
]
