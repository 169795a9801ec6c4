"""Channel-layer group names and publish-after-commit helpers (STYLE.md rule 13).

Group names: ``company.<id>.<topic>[.<id>]`` -- ASCII letters, digits, dots, under 100
characters. Every module that publishes or subscribes takes its names from here.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def company_group(company_id: int) -> str:
    return f"company.{company_id}.all"


def supervisors_group(company_id: int) -> str:
    return f"company.{company_id}.supervisors"


def queue_group(company_id: int, queue_id: int) -> str:
    return f"company.{company_id}.queue.{queue_id}"


def user_group(company_id: int, user_id: int) -> str:
    return f"company.{company_id}.user.{user_id}"


def ticket_group(company_id: int, ticket_id: int) -> str:
    return f"company.{company_id}.ticket.{ticket_id}"


def send_now(groups: list[str], payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in dict.fromkeys(groups):
        async_to_sync(layer.group_send)(group, {"type": "event.forward", "payload": payload})


def publish_on_commit(groups: list[str], payload: dict[str, Any]) -> None:
    """Send ``payload`` to the groups once the surrounding transaction commits."""
    transaction.on_commit(lambda: send_now(groups, payload))


# --- the publishing API every service calls (filled in by the live helpdesk work) -------


def ticket_changed(ticket: Any, event: str, **data: Any) -> None:
    """Publish, after commit, that ``ticket`` changed (``event``: "ticket.created",
    "ticket.assigned", "ticket.transferred", "ticket.status", "ticket.updated")."""
    publish_on_commit(
        [company_group(ticket.company_id)],
        {"type": event, "ticket": {"id": ticket.pk, "number": ticket.number}, **data},
    )


def message_changed(message: Any, event: str, **data: Any) -> None:
    """Publish, after commit, that ``message`` was created or updated (``event``:
    "message.created", "message.updated", "message.status")."""
    publish_on_commit(
        [company_group(message.company_id)],
        {"type": event, "message": {"id": message.pk, "ticket": message.ticket_id}, **data},
    )
