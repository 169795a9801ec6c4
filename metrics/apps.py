from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self) -> None:
        from conversations import hooks

        from .services import response_time_record

        # Registered before realtime/AI hooks that may run later in the same list; the
        # pipeline calls hooks before it clears Ticket.waiting_since (docs/contracts.md).
        hooks.on_message_stored(response_time_record)
