from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from atende import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tenants-picker", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("tenants.i18n_urls")),
    path("app/", include("atende.app_urls")),
    path("api/", include("atende.api_urls")),
    path("webhooks/", include("integrations.webhook_urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
