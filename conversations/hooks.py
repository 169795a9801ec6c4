"""Explicit extension points between apps (no Django signals, STYLE.md rule 3).

The message pipeline (ingest and outbound) calls ``message_stored`` inside its
transaction right after it stores a new message; apps register what must happen then:
metrics record response times, the AI attendant buffers, realtime publishes (on commit).
Hooks run in registration order, must be fast, and must not do network I/O (schedule it
with transaction.on_commit instead). Registration happens in each app's AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conversations.models import Message
    from tickets.models import Ticket


@dataclass
class MessageContext:
    """What the pipeline knows about a newly stored message."""

    ticket: Ticket | None
    ticket_created: bool = False  # this message opened a new ticket
    ticket_reopened: bool = False  # this message reopened a resolved ticket
    source: str = "ingest"  # "ingest" (webhook), "staff" (UI/API reply), "ai", "system"
    extra: dict[str, Any] = field(default_factory=dict)


MessageHook = Callable[["Message", MessageContext], None]
_message_stored_hooks: list[MessageHook] = []


def on_message_stored(hook: MessageHook) -> MessageHook:
    if hook not in _message_stored_hooks:
        _message_stored_hooks.append(hook)
    return hook


def message_stored(message: Message, context: MessageContext) -> None:
    for hook in _message_stored_hooks:
        hook(message, context)
