from django.urls import path

from . import views

urlpatterns = [
    path("integrations/", views.IntegrationListView.as_view(), name="integration-list"),
    path(
        "integrations/<int:integration_id>/",
        views.IntegrationDetailView.as_view(),
        name="integration-detail",
    ),
    path("webhook-events/", views.WebhookEventListView.as_view(), name="webhook-event-list"),
    path(
        "webhook-events/<int:event_id>/",
        views.WebhookEventDetailView.as_view(),
        name="webhook-event-detail",
    ),
    path(
        "webhook-events/<int:event_id>/replay/",
        views.WebhookEventReplayView.as_view(),
        name="webhook-event-replay",
    ),
]
