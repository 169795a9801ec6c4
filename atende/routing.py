"""Websocket URL routes. Apps add their consumers here."""

from django.urls import path

from tickets.consumers import InboxConsumer, RequesterConsumer

websocket_urlpatterns = [
    # The company socket: auth and tenancy (tenants.consumers.CompanyConsumer), extended
    # with the inbox's groups, replay, presence and ticket subscriptions.
    path("ws/companies/<slug:company_slug>/", InboxConsumer.as_asgi()),
    # The requester's "My tickets" page: same auth, no staff groups, sanitized events of
    # the tickets it follows (docs/realtime.md).
    path("ws/companies/<slug:company_slug>/requester/", RequesterConsumer.as_asgi()),
]
