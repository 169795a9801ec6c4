"""The registry of platform adapters, keyed by the ``<kind>`` of ``/webhooks/<kind>/<id>/``.

The generic webhook view looks the adapter up here; adding a platform means adding its
package and one line below.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from integrations.base import Adapter
from integrations.chatwoot.adapter import ChatwootAdapter
from integrations.twilio.adapter import TwilioAdapter
from integrations.umbler.adapter import UmblerAdapter

__all__ = ["ADAPTERS", "get_adapter"]


# Adapters are stateless, so one instance per kind serves every tenant. Read-only so no
# caller can swap an adapter at runtime.
class WebAdapter(ChatwootAdapter):
    """The web form's integration: when it mirrors requests to a Chatwoot API inbox
    (tickets/services/webform.py), that inbox's webhook posts here in Chatwoot's format."""

    kind = "web"


ADAPTERS: Mapping[str, Adapter] = MappingProxyType(
    {
        adapter.kind: adapter
        for adapter in (ChatwootAdapter(), TwilioAdapter(), UmblerAdapter(), WebAdapter())
    }
)


def get_adapter(kind: str) -> Adapter:
    """Return the adapter for ``kind``; raise KeyError for an unknown kind (the view's 404)."""
    try:
        return ADAPTERS[kind]
    except KeyError:
        raise KeyError(f"unknown integration kind {kind!r}") from None
