"""The websocket refuses anonymous and non-member connections and accepts members
(session cookie or JWT), through the real ASGI stack and the real Redis channel layer."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from atende.asgi import application
from tests.conftest import jwt_for

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(path: str, headers: list | None = None, subprotocols: list | None = None):
    communicator = WebsocketCommunicator(
        application, path, headers=headers or [], subprotocols=subprotocols
    )
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def _session_cookie(user) -> bytes:
    from django.test import Client

    client = Client()
    await sync_to_async(client.force_login)(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


async def test_anonymous_connections_are_refused(company) -> None:
    _, connected, code = await _connect("/ws/companies/loja-azul/")
    assert not connected and code == 4401


async def test_a_non_member_is_refused(company, outsider) -> None:
    _, connected, code = await _connect(f"/ws/companies/loja-azul/?token={jwt_for(outsider)}")
    assert not connected and code == 4404


async def test_a_member_connects_with_a_session_and_receives_company_events(company, agent) -> None:
    cookie = await _session_cookie(agent)
    communicator, connected, _ = await _connect(
        "/ws/companies/loja-azul/", headers=[(b"cookie", cookie), (b"origin", b"http://127.0.0.1")]
    )
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert {k: hello[k] for k in ("type", "company", "user", "role")} == {
        "type": "hello",
        "company": "loja-azul",
        "user": "agent@azul.test",
        "role": "agent",
    }
    assert isinstance(hello["seq"], int) and "counts" in hello

    from conversations import realtime

    await sync_to_async(realtime.send_now)(
        [realtime.company_group(company.pk)], {"type": "probe", "n": 1}
    )
    assert await communicator.receive_json_from(timeout=5) == {"type": "probe", "n": 1}
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


async def test_a_member_connects_with_a_jwt_subprotocol(company, agent) -> None:
    communicator, connected, _ = await _connect(
        "/ws/companies/loja-azul/", subprotocols=["bearer", jwt_for(agent)]
    )
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["user"] == "agent@azul.test"
    await communicator.disconnect()


async def test_a_bad_token_and_a_foreign_origin_are_refused(company, agent) -> None:
    _, connected, code = await _connect("/ws/companies/loja-azul/?token=garbage")
    assert not connected and code == 4401
    cookie = await _session_cookie(agent)
    _, connected, _ = await _connect(
        "/ws/companies/loja-azul/",
        headers=[(b"cookie", cookie), (b"origin", b"https://evil.example")],
    )
    assert not connected


async def test_an_outsider_never_receives_another_companys_events(
    company, other_company, outsider
) -> None:
    communicator, connected, _ = await _connect(f"/ws/companies/outra/?token={jwt_for(outsider)}")
    assert connected
    await communicator.receive_json_from(timeout=5)  # hello
    from conversations import realtime

    await sync_to_async(realtime.send_now)([realtime.company_group(company.pk)], {"type": "secret"})
    assert await sync_to_async(realtime.flush)()
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_events_are_published_in_order_through_either_path(
    company, agent, monkeypatch
) -> None:
    """The pub/sub layer is fed by one pipelined round trip from the publishing thread;
    any other layer through the publisher thread's event loop. Both keep the order."""
    from conversations import realtime

    communicator, connected, _ = await _connect(f"/ws/companies/loja-azul/?token={jwt_for(agent)}")
    assert connected
    await communicator.receive_json_from(timeout=5)  # hello
    group = realtime.company_group(company.pk)

    def publish_three() -> None:
        for n in range(3):
            realtime.send_now([group], {"type": "probe", "n": n})

    await sync_to_async(publish_three)()
    assert [await communicator.receive_json_from(timeout=5) for _ in range(3)] == [
        {"type": "probe", "n": n} for n in range(3)
    ]
    monkeypatch.setattr(realtime, "_publish_pipelined", lambda batch: False)
    await sync_to_async(publish_three)()
    assert await sync_to_async(realtime.flush)()
    assert [await communicator.receive_json_from(timeout=5) for _ in range(3)] == [
        {"type": "probe", "n": n} for n in range(3)
    ]
    await communicator.disconnect()
