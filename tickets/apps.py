from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from conversations.hooks import on_message_stored

        from .hooks import on_message_stored as tickets_on_message_stored

        on_message_stored(tickets_on_message_stored)
