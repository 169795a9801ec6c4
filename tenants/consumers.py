"""The company websocket: proves auth and tenancy wiring; later features add topics.

Connect to ``/ws/companies/<slug>/`` with a session cookie or a JWT. Anonymous users and
non-members are refused (close code 4401 / 4404).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from .access import CompanyLocked, resolve_membership
from .models import Membership


class CompanyConsumer(AsyncJsonWebsocketConsumer):
    membership: Membership
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        try:
            self.membership = await database_sync_to_async(resolve_membership)(
                user, self.scope["url_route"]["kwargs"]["company_slug"]
            )
        except (Http404, CompanyLocked):
            await self.close(code=4404)
            return
        self.groups_joined = []
        await self.accept(subprotocol=self.scope.get("jwt_subprotocol"))
        await self.on_authenticated()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch hops to a worker thread to close stale database connections
        # before every handler. Forwarding an event touches no database: skipping that hop
        # is what lets one server process push thousands of events a second (see
        # bench/README.md); every other message keeps the default.
        if message.get("type") == "event.forward":
            await self.event_forward(message)
            return
        await super().dispatch(message)

    async def on_authenticated(self) -> None:
        """Subscribe and greet. Overridden by the live inbox consumer."""
        from conversations import realtime

        group = realtime.company_group(self.membership.company_id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)
        await self.send_json(
            {
                "type": "hello",
                "company": self.membership.company.slug,
                "user": self.membership.user.email,
                "role": self.membership.role,
            }
        )

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def event_forward(self, event: dict) -> None:
        """Group messages of type ``event.forward`` carry the browser's JSON, encoded once
        by the publisher (``text``)."""
        await self.send(text_data=event["text"])
