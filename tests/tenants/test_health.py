from __future__ import annotations

import json
import logging
import socket

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_and_redis(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


def test_readyz_reports_a_stopped_redis_as_not_ready(client) -> None:
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["database"]["ok"] is True


def test_every_response_carries_a_request_id_and_logs_are_json_with_context(client, caplog) -> None:
    from atende.observability import LogContextFilter, request_id_var

    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert len(client.get("/healthz", HTTP_X_REQUEST_ID="bad id!").get("X-Request-ID")) == 32

    from pythonjsonlogger.json import JsonFormatter

    record = logging.LogRecord("atende", logging.INFO, __file__, 1, "hello", None, None)
    token = request_id_var.set("rid-1")
    try:
        LogContextFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(
        JsonFormatter("%(levelname)s %(message)s %(request_id)s %(user)s %(company)s").format(
            record
        )
    )
    assert line["request_id"] == "rid-1" and line["message"] == "hello" and "company" in line
