"""The company websocket: proves auth and tenancy wiring; later features add topics.

Connect to ``/ws/companies/<slug>/`` with a session cookie or a JWT. Anonymous users and
non-members are refused (close code 4401 / 4404).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.sessions import InstanceSessionWrapper
from django.http import Http404

from .access import CompanyLocked, resolve_membership
from .models import Membership


class CompanyConsumer(AsyncJsonWebsocketConsumer):
    membership: Membership
    groups_joined: list[str]
    _frame_send: Any = None

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
        from conversations import realtime

        # Any socket of the member: closed when their access changes (realtime.access_changed).
        group = realtime.access_group(self.membership.company_id, self.membership.user_id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)
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
            await self.recheck_access()

    async def recheck_access(self) -> bool:
        """On each ping (~25 s): is the member still what this socket was subscribed for?
        If not, close it like ``access_changed`` does. Catches what no service announced
        (a change made in the Django admin's forms, a user deactivated). True when open."""
        if await database_sync_to_async(self._access_unchanged)():
            return True
        from conversations import realtime

        await self.close(code=realtime.ACCESS_CHANGED_CLOSE_CODE)
        return False

    def _access_unchanged(self) -> bool:
        user = type(self.membership.user).objects.filter(pk=self.membership.user_id).first()
        try:
            current = resolve_membership(user, self.membership.company.slug)
        except (Http404, CompanyLocked):
            return False
        return current.role == self.membership.role and self.same_groups(current)

    def same_groups(self, membership: Membership) -> bool:
        """Whether ``membership`` (as stored now) would join the groups this socket
        joined. Overridden by the inbox consumer (queues)."""
        return True

    async def event_forward(self, event: dict) -> None:
        """Group messages of type ``event.forward`` carry the browser's JSON, encoded once
        by the publisher (``text``)."""
        await self.send_frame(event["text"])

    async def send_frame(self, text: str) -> None:
        """Send one event's text to the browser. Fifty sockets of a group each send every
        event: this goes straight to the server's ``send``, past Channels' session
        wrapper, which on every message reads the session's state (for the HTTP responses
        it saves sessions on; never a websocket frame). Measured in bench/README.md."""
        send = self._frame_send
        if send is None:
            send = self.base_send
            owner = getattr(send, "__self__", None)
            if isinstance(owner, InstanceSessionWrapper):
                send = owner.real_send
            self._frame_send = send
        await send({"type": "websocket.send", "text": text})

    async def access_changed(self, event: dict) -> None:
        """The member's role, activity or queues changed: close; the browser connects
        again and is checked and subscribed anew."""
        from conversations import realtime

        await self.close(code=realtime.ACCESS_CHANGED_CLOSE_CODE)
