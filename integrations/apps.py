from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from conversations.hooks import on_message_stored

        from .ai import admin as ai_admin  # noqa: F401 - registers the AI admin pages
        from .ai import buffer

        on_message_stored(buffer.on_message_stored)
