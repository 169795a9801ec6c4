from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self) -> None:
        from conversations import hooks

        from .services import record_on_message_stored

        # The pipeline calls hooks before it clears Ticket.waiting_since, or passes the
        # previous value in ctx.extra["waiting_since"] (docs/contracts.md).
        hooks.on_message_stored(record_on_message_stored)
