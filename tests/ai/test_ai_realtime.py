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


async def drain(communicator: WebsocketCommunicator) -> list[dict]:
    events = []
    while True:
        try:
            events.append(await communicator.receive_json_from(timeout=0.5))
        except TimeoutError:
            return events


async def test_supervisors_hear_buffer_changes_agents_and_outsiders_do_not(
    company, supervisor, agent, outsider
) -> None:
    boss = await connect(supervisor)
    worker = await connect(agent)
    stranger = await connect(outsider, slug="outra")
    await sync_to_async(buffer.notify_monitor)(company.pk, 42, "waiting")
    heard = [e for e in await drain(boss) if e["type"] == "ai.buffer"]
    assert heard == [{"type": "ai.buffer", "conversation": 42, "state": "waiting"}]
    assert [e for e in await drain(worker) if e["type"] == "ai.buffer"] == []
    assert [e for e in await drain(stranger) if e["type"] == "ai.buffer"] == []
    for c in (boss, worker, stranger):
        await c.disconnect()
