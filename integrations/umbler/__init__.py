"""Umbler Talk (uTalk): JSON chat webhooks and the legacy form webhook (see README.md)."""

from integrations.umbler.adapter import UmblerAdapter

__all__ = ["UmblerAdapter"]
