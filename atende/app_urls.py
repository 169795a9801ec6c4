"""Staff UI routes: /app/ picks a company, /app/<company-slug>/... is that company."""

from django.urls import include, path

from tenants import views as tenant_views

company_patterns = [
    path("", include("tenants.urls")),
    path("", include("conversations.urls")),
    path("", include("tickets.urls")),
    path("", include("integrations.urls")),
    path("", include("metrics.urls")),
]

urlpatterns = [
    path("", tenant_views.company_picker, name="tenants-picker"),
    path("<slug:company_slug>/", include(company_patterns)),
]
