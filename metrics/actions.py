"""Buttons on the logs page that hand work to other apps' services.

Replay belongs to the ingest pipeline (``integrations.services.webhooks.webhook_replay``)
and retry to outbound (``conversations.services.outbound.message_retry``). They are looked
up when pressed, so this page works whichever of them has landed; a missing one is
reported to the user instead of failing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def _service(module: str, name: str) -> Callable[..., Any] | None:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def replay_webhook(*, event: Any, actor: Any) -> tuple[bool, str]:
    replay = _service("integrations.services.webhooks", "webhook_replay")
    if replay is None:
        return False, _("Replaying webhooks is not available in this installation yet.")
    try:
        replay(event=event, actor=actor)
    except ValidationError as exc:
        return False, " ".join(exc.messages)
    return True, _("Webhook #%(id)s was queued for replay.") % {"id": event.pk}


def retry_message(*, message: Any, actor: Any) -> tuple[bool, str]:
    retry = _service("conversations.services.outbound", "message_retry")
    if retry is None:
        return False, _("Retrying sends is not available in this installation yet.")
    try:
        retry(message=message, actor=actor)
    except ValidationError as exc:
        return False, " ".join(exc.messages)
    return True, _("Message #%(id)s will be sent again.") % {"id": message.pk}
