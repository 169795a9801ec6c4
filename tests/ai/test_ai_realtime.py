"""The monitor's live feed: "ai.buffer" events reach the company's supervisors only."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from atende.asgi import application
from integrations.ai import buffer
from tests.conftest import jwt_for

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user: Any, slug: str = "loja-azul") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/companies/{slug}/?token={jwt_for(user)}"
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator


async def heard_ai_events(communicator: WebsocketCommunicator) -> list[dict]:
    """Every "ai.buffer" event waiting for this socket (receive_nothing does not cancel
    the application the way a receive timeout does)."""
    events = []
    while not await communicator.receive_nothing(timeout=0.5):
        event = await communicator.receive_json_from(timeout=2)
        if event.get("type") == "ai.buffer":
            events.append(event)
    return events


async def test_supervisors_hear_buffer_changes_agents_and_outsiders_do_not(
    company, supervisor, agent, outsider
) -> None:
    boss = await connect(supervisor)
    worker = await connect(agent)
    stranger = await connect(outsider, slug="outra")
    await sync_to_async(buffer.notify_monitor)(company.pk, 42, "waiting")
    heard = await heard_ai_events(boss)
    assert heard == [{"type": "ai.buffer", "conversation": 42, "state": "waiting"}]
    assert await heard_ai_events(worker) == []
    assert await heard_ai_events(stranger) == []
    for c in (boss, worker, stranger):
        await c.disconnect()
