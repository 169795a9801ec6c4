from django.urls import path

from . import views

app_name = "metrics"

urlpatterns = [
    path("metrics/", views.dashboard, name="dashboard"),
    path("metrics/cards/", views.cards_json, name="cards"),
    path("metrics/export/", views.export, name="export"),
    path("clients/", views.clients, name="clients"),
    path("logs/", views.logs, name="logs"),
    path("logs/webhooks/<int:event_id>/replay/", views.webhook_replay, name="webhook-replay"),
    path("logs/messages/<int:message_id>/retry/", views.message_retry, name="message-retry"),
]
