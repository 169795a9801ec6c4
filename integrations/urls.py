from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("integrations/", views.integration_list, name="list"),
    path("integrations/new/", views.integration_new, name="new"),
    path("integrations/<int:integration_id>/", views.integration_edit, name="edit"),
    path(
        "integrations/<int:integration_id>/deactivate/",
        views.integration_deactivate_view,
        name="deactivate",
    ),
]
