from django.urls import path

from . import webhooks

app_name = "webhooks"

urlpatterns = [
    path("<slug:kind>/<str:public_id>/", webhooks.receive, name="receive"),
]
