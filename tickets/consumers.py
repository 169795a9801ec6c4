"""The inbox websocket: ``/ws/companies/<slug>/[?since=<seq>]``.

After the company consumer's auth and membership checks it subscribes the connection to
exactly the groups the member may hear (conversations.realtime.member_groups), replays
what a reconnecting client missed, keeps presence, and lets a ticket page subscribe to one
ticket after the same visibility check as the API (tickets.selectors.ticket_for_member).

Client messages: ``{"type": "ping"}`` (every 25 s; answered with "pong"),
``{"type": "subscribe", "ticket": <number>}``, ``{"type": "unsubscribe", "ticket": <number>}``.
Server messages: "hello" (seq and counts), the events of docs/realtime.md, "resync".

``RequesterConsumer`` (``/ws/companies/<slug>/requester/``) serves the requester's
"My tickets" page: no staff groups, only the sanitized events of the requests it follows.
"""

from __future__ import annotations

import inspect
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.http import Http404

from conversations import realtime
from tenants.consumers import CompanyConsumer

logger = logging.getLogger(__name__)

MAX_TICKET_SUBSCRIPTIONS = 20


def _presence(name: str, membership: Any, channel_name: str) -> None:
    """Call tickets.presence.<name> with the arguments it declares (the presence module is
    owned by the ticket workflow; it must never break the websocket)."""
    try:
        from tickets import presence  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return
    fn = getattr(presence, name, None)
    if fn is None or getattr(membership, "pk", None) is None:  # superuser's implicit membership
        return
    offered = {
        "membership": membership,
        "company": membership.company,
        "company_id": membership.company_id,
        "user": membership.user,
        "user_id": membership.user_id,
        "channel_name": channel_name,
    }
    params = inspect.signature(fn).parameters
    try:
        fn(**{k: v for k, v in offered.items() if k in params})
    except Exception:
        logger.exception("presence.%s failed", name)


async def _join_capped(consumer: Any, joined: dict[str, int], group: str, number: int) -> None:
    """Join ``group`` (a ticket's) unless already in it, leaving the oldest of ``joined``
    when the connection already follows MAX_TICKET_SUBSCRIPTIONS tickets."""
    if group in joined:
        return
    if len(joined) >= MAX_TICKET_SUBSCRIPTIONS:
        oldest = next(iter(joined))
        await consumer.channel_layer.group_discard(oldest, consumer.channel_name)
        del joined[oldest]
    await consumer.channel_layer.group_add(group, consumer.channel_name)
    joined[group] = number


class InboxConsumer(CompanyConsumer):
    base_groups: set[str]
    ticket_groups: dict[str, int]

    async def on_authenticated(self) -> None:
        membership = self.membership
        company_id = membership.company_id
        groups = await database_sync_to_async(realtime.member_groups)(membership)
        self.base_groups = set(groups)
        self.ticket_groups = {}
        # Join before reading the sequence: anything published from now on arrives live,
        # anything before is in the replay (duplicates are dropped by seq in the browser).
        for group in [realtime.company_group(company_id), *groups]:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        seq, counts = await database_sync_to_async(self._snapshot)()
        await self.send_json(
            {
                "type": "hello",
                "company": membership.company.slug,
                "user": membership.user.email,
                "role": membership.role,
                "seq": seq,
                "counts": counts,
            }
        )
        since = self._since()
        if since is not None:
            missed = await database_sync_to_async(realtime.replay)(company_id, since, groups)
            if missed is None:
                await self.send_json({"type": "resync", "seq": seq})
            else:
                for payload in missed:
                    await self.send_json(payload)
        await database_sync_to_async(_presence)("presence_connect", membership, self.channel_name)

    def same_groups(self, membership: Any) -> bool:
        return set(realtime.member_groups(membership)) == self.base_groups

    def _snapshot(self) -> tuple[int, dict[str, Any]]:
        return realtime.current_seq(self.membership.company_id), realtime.member_counts(
            self.membership
        )

    def _since(self) -> int | None:
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        raw = (query.get("since") or [""])[0]
        try:
            value = int(raw)
        except ValueError:
            return None
        return value if value >= 0 else None

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        for group in list(getattr(self, "ticket_groups", {})):
            await self.channel_layer.group_discard(group, self.channel_name)
        if hasattr(self, "base_groups"):
            await database_sync_to_async(_presence)(
                "presence_disconnect", self.membership, self.channel_name
            )

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            await self.send_json({"type": "pong"})
            if await self.recheck_access():
                await database_sync_to_async(_presence)(
                    "presence_heartbeat", self.membership, self.channel_name
                )
        elif kind == "subscribe":
            await self._subscribe(content.get("ticket"))
        elif kind == "unsubscribe":
            await self._unsubscribe(content.get("ticket"))

    async def _subscribe(self, number: Any) -> None:
        from tickets.selectors import ticket_for_member

        try:
            ticket = await database_sync_to_async(ticket_for_member)(self.membership, int(number))
        except (Http404, TypeError, ValueError):
            await self.send_json({"type": "error", "error": "ticket_not_found", "ticket": number})
            return
        group = realtime.ticket_group(self.membership.company_id, ticket.pk)
        await _join_capped(self, self.ticket_groups, group, ticket.number)
        await self.send_json(
            {"type": "subscribed", "ticket": {"id": ticket.pk, "number": ticket.number}}
        )

    async def _unsubscribe(self, number: Any) -> None:
        for group, subscribed in list(self.ticket_groups.items()):
            if str(subscribed) == str(number):
                await self.channel_layer.group_discard(group, self.channel_name)
                del self.ticket_groups[group]

    async def event_forward(self, event: dict) -> None:
        audience = event.get("audience")
        if audience is not None and self.base_groups.isdisjoint(audience):
            # Only a ticket group reaches a member outside the ticket's audience: the
            # ticket was moved away from them while its page was open. Say it left, once.
            for group in [g for g in self.ticket_groups if g in audience]:
                await self.channel_layer.group_discard(group, self.channel_name)
                del self.ticket_groups[group]
                payload = json.loads(event["text"])
                ticket = payload.get("ticket") or {}
                await self.send_json(
                    {
                        "type": "ticket.removed",
                        "seq": payload.get("seq"),
                        "ticket": {"id": ticket.get("id"), "number": ticket.get("number")},
                    }
                )
            return
        await self.send_frame(event["text"])


# Ticket numbers are PostgreSQL integers; anything else is "not found" without a query.
_MAX_NUMBER = 2**31 - 1


class RequesterConsumer(CompanyConsumer):
    """The requester's socket: ``/ws/companies/<slug>/requester/`` ("My tickets" page).

    Same authentication and membership check as the inbox socket, but it joins no staff
    group at all (not the company group, not the member's queue or user group), sends no
    counts and no sequence number, and keeps no presence: an agent reading their own
    request is not "online" for the routing. The page follows its ticket with
    ``{"type": "follow", "ticket": <number>}``; the consumer checks it with
    ``tickets.services.webform.requester_ticket`` (the page's own selector), so a ticket
    of someone else, of another company or that does not exist gets the same
    ``ticket_not_found`` error. A followed ticket's group only carries the sanitized
    ``requester.*`` events of ``conversations.realtime.requester_payload``.

    Client messages: ``ping``, ``follow`` / ``unfollow``. Server messages: ``hello``,
    ``following``, ``requester.ticket``, ``requester.message``, ``error``. There is no
    replay: after a reconnection the page fetches its thread again.
    """

    followed: dict[str, int]

    async def on_authenticated(self) -> None:
        self.followed = {}
        await self.send_json(
            {
                "type": "hello",
                "company": self.membership.company.slug,
                "user": self.membership.user.email,
            }
        )

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        for group in list(getattr(self, "followed", {})):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            await self.send_json({"type": "pong"})
            await self.recheck_access()
        elif kind == "follow":
            await self._follow(content.get("ticket"))
        elif kind == "unfollow":
            await self._unfollow(content.get("ticket"))

    async def _follow(self, raw: Any) -> None:
        from tickets.services.webform import requester_ticket

        number = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        try:
            if number is None or not 0 < number <= _MAX_NUMBER:
                raise Http404
            ticket = await database_sync_to_async(requester_ticket)(
                self.membership.company, self.membership.user, number
            )
        except Http404:
            await self.send_json({"type": "error", "error": "ticket_not_found", "ticket": raw})
            return
        group = realtime.requester_group(self.membership.company_id, ticket.pk)
        await _join_capped(self, self.followed, group, ticket.number)
        # Sent after joining: the page fetches its thread on this answer, so nothing
        # committed between the page's render and the subscription is missed.
        await self.send_json({"type": "following", "ticket": ticket.number})

    async def _unfollow(self, number: Any) -> None:
        for group, followed in list(self.followed.items()):
            if followed == number:
                await self.channel_layer.group_discard(group, self.channel_name)
                del self.followed[group]

    async def event_forward(self, event: dict) -> None:
        # Second line of defence: only events addressed to a followed ticket's requester
        # group go out (the publisher names that group as the event's audience).
        audience = event.get("audience")
        if not audience or not set(self.followed).intersection(audience):
            return
        await self.send_frame(event["text"])
