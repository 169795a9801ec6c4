"""Chatwoot: account webhooks, API-inbox callbacks and agent-bot deliveries (see README.md)."""

from integrations.chatwoot.adapter import ChatwootAdapter

__all__ = ["ChatwootAdapter"]
