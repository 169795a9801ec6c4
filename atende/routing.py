"""Websocket URL routes. Apps add their consumers here."""

from django.urls import path

from tenants.consumers import CompanyConsumer

websocket_urlpatterns = [
    path("ws/companies/<slug:company_slug>/", CompanyConsumer.as_asgi()),
]
