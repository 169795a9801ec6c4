"""REST API: /api/v1/... (JWT) and the OpenAPI schema and docs, served locally."""

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework_simplejwt.views import TokenRefreshView, TokenVerifyView

from tenants.api import views as tenant_api

company_patterns = [
    path("", include("tenants.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("conversations.api.urls")),
    path("", include("tickets.api.urls")),
    path("", include("metrics.api.urls")),
]

v1: list[URLPattern | URLResolver] = [
    path("auth/token/", tenant_api.TokenObtainView.as_view(), name="token_obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("auth/token/verify/", TokenVerifyView.as_view(), name="token_verify"),
    path("me/", tenant_api.MeView.as_view(), name="me"),
    path("companies/", tenant_api.CompanyListView.as_view(), name="company-list"),
    path("companies/<slug:company_slug>/", include(company_patterns)),
]

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
