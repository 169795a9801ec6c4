from django.urls import path

from . import views
from .ai import views as ai_views

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
    path("ai/", ai_views.ai_monitor, name="ai-monitor"),
    path("ai/buffers.json", ai_views.ai_monitor_data, name="ai-monitor-data"),
    path("ai/settings/", ai_views.ai_settings, name="ai-settings"),
    path(
        "ai/conversations/<int:conversation_id>/reply-now/",
        ai_views.ai_reply_now,
        name="ai-reply-now",
    ),
    path("ai/conversations/<int:conversation_id>/pause/", ai_views.ai_pause, name="ai-pause"),
]
