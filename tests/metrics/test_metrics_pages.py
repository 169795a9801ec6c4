"""The metrics pages, CSV export and REST endpoints: access, numbers, same figures everywhere."""

from __future__ import annotations

import csv
import io
import re
import sys
import types
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import Message
from integrations.models import Integration, LogEntry, WebhookEvent
from tests.conftest import make_member
from tickets.models import Queue

from .builders import assign, inbound, make_ticket, reply, resolve

pytestmark = pytest.mark.django_db
SP = ZoneInfo("America/Sao_Paulo")
PERIOD = "period=custom&start=2026-11-01&end=2026-11-10"
APP = "/app/loja-azul"
API = "/api/v1/companies/loja-azul"

WEB_ROUTES = [
    f"{APP}/metrics/",
    f"{APP}/metrics/cards/",
    f"{APP}/metrics/export/",
    f"{APP}/clients/",
    f"{APP}/logs/",
]
API_ROUTES = [
    f"{API}/metrics/summary/",
    f"{API}/metrics/cards/",
    f"{API}/metrics/timeseries/",
    f"{API}/metrics/heatmap/",
    f"{API}/metrics/agents/",
    f"{API}/metrics/queues/",
    f"{API}/clients/",
    f"{API}/logs/",
]


@pytest.fixture
def weekend(company, agent):
    """Friday 17:00 a customer writes to a 9-18 weekday queue; the agent answers Monday
    09:30 and resolves at 10:00: 64.5 h calendar, 1.5 h business for the reply."""
    hours = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    queue = Queue.objects.create(company=company, name="Comercial", business_hours=hours)
    friday = datetime(2026, 11, 6, 17, 0, tzinfo=SP)
    ticket = make_ticket(company, at=friday, queue=queue, assignee=agent)
    inbound(ticket, friday)
    reply(ticket, datetime(2026, 11, 9, 9, 30, tzinfo=SP), user=agent)
    resolve(ticket, datetime(2026, 11, 9, 10, 0, tzinfo=SP))
    return ticket


def _screen_agent_row(html: str, agent_id: int) -> dict[str, float | None]:
    row = re.search(rf'<tr data-agent="{agent_id}">(.*?)</tr>', html, re.S).group(1)
    cells = dict(re.findall(r'data-col="(\w+)" data-seconds="([^"]*)"', row))
    return {k: float(v) if v else None for k, v in cells.items()}


def _csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_outsiders_get_404_on_every_metrics_route_and_method(
    company, outsider, client_for, api_client_for
) -> None:
    web, api = client_for(outsider), api_client_for(outsider)
    routes = [(web, u) for u in WEB_ROUTES] + [(api, u) for u in API_ROUTES]
    routes += [(web, f"{APP}/logs/webhooks/1/replay/"), (web, f"{APP}/logs/messages/1/retry/")]
    for client, url in routes:
        for method in ("get", "post", "delete"):
            assert getattr(client, method)(url).status_code == 404, (url, method)


def test_agents_do_not_see_metrics(company, agent, client_for, api_client_for) -> None:
    web, api = client_for(agent), api_client_for(agent)
    for url in WEB_ROUTES:
        assert web.get(url).status_code == 403, url
    for url in API_ROUTES:
        assert api.get(url).status_code == 403, url


def test_business_hours_numbers_are_equal_on_screen_in_the_api_and_in_the_csv(
    company, supervisor, agent, weekend, client_for, api_client_for
) -> None:
    web, api = client_for(supervisor), api_client_for(supervisor)
    for mode, expected_reply in (("", 64.5 * 3600), ("&business_hours=1", 1.5 * 3600)):
        qs = PERIOD + mode
        screen = _screen_agent_row(web.get(f"{APP}/metrics/?{qs}").text, agent.pk)
        api_row = next(
            r for r in api.get(f"{API}/metrics/agents/?{qs}").json() if r["agent_id"] == agent.pk
        )
        csv_row = next(
            r
            for r in _csv(web.get(f"{APP}/metrics/export/?table=agents&{qs}"))
            if r["agent_id"] == str(agent.pk)
        )
        for col in (
            "first_response_p50",
            "first_response_p90",
            "reply_p50",
            "reply_p90",
            "resolution_p50",
        ):
            assert screen[col] == api_row[col] == float(csv_row[col]), (mode, col)
        assert api_row["reply_p50"] == expected_reply
    business = api.get(f"{API}/metrics/summary/?{PERIOD}&business_hours=1").json()
    assert business["cards"]["first_response_p50"] == 1.5 * 3600
    assert business["cards"]["resolution_p50"] == 2 * 3600
    html = web.get(f"{APP}/metrics/?{PERIOD}&business_hours=1").text
    assert f'data-card="first_response_p50" data-seconds="{1.5 * 3600!r}"' in html
    tickets = _csv(web.get(f"{APP}/metrics/export/?table=tickets&{PERIOD}&business_hours=1"))
    assert [float(t["first_response_seconds"]) for t in tickets] == [1.5 * 3600]
    assert [float(t["resolution_seconds"]) for t in tickets] == [2 * 3600]


def test_the_export_streams_csv_with_the_dashboard_filters(
    company, supervisor, agent, weekend, client_for
) -> None:
    response = client_for(supervisor).get(
        f"{APP}/metrics/export/?table=tickets&{PERIOD}&status=resolved"
    )
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert len(rows) == 1 and rows[0]["number"] == str(weekend.number)
    assert rows[0]["queue"] == "Comercial" and rows[0]["answered_first_by_ai"] == "0"
    empty = client_for(supervisor).get(f"{APP}/metrics/export/?table=tickets&{PERIOD}&status=open")
    assert _csv(empty) == []
    assert client_for(supervisor).get(f"{APP}/metrics/export/?table=secrets").status_code == 400
    assert client_for(supervisor).get(f"{APP}/metrics/export/?period=bogus").status_code == 400


def test_the_dashboard_shows_cards_charts_data_and_the_agent_table(
    company, supervisor, agent, weekend, client_for
) -> None:
    response = client_for(supervisor).get(f"{APP}/metrics/?{PERIOD}")
    assert response.status_code == 200
    html = response.text
    assert 'id="metrics-data"' in html and "vendor/chart.umd.min.js" in html
    assert f'data-agent="{agent.pk}"' in html
    assert "<script>" not in html  # CSP: no inline scripts
    # The heatmap: 7 weekday rows of 24 cells, each cell's raw count in data-n, as the
    # API's heatmap says (the same selector).
    heat = client_for(supervisor).get(f"{API}/metrics/heatmap/?{PERIOD}").json()["cells"]
    table = html[html.index('id="heatmap"') :]
    table = table[: table.index("</table>")]
    cells = [int(n) for n in re.findall(r'<td data-n="(\d+)"', table)]
    assert len(cells) == 7 * 24 and cells == [n for row in heat for n in row]
    assert sum(cells) > 0
    assert re.findall(r"<tr><th>([^<]+)</th><td", table)[:2] in (["Mon", "Tue"], ["Seg", "Ter"])
    bad = client_for(supervisor).get(
        f"{APP}/metrics/?period=custom&start=2026-11-09&end=2026-11-01"
    )
    assert bad.status_code == 400


def test_the_live_cards_endpoint_returns_current_counts(
    company, supervisor, agent, weekend, client_for
) -> None:
    fresh = make_ticket(company, at=datetime(2026, 11, 9, 11, 0, tzinfo=SP))
    inbound(fresh, datetime(2026, 11, 9, 11, 0, tzinfo=SP))
    inbound(fresh, datetime(2026, 11, 9, 11, 1, tzinfo=SP))
    data = client_for(supervisor).get(f"{APP}/metrics/cards/?{PERIOD}").json()
    assert data["open"] == 1 and data["waiting"] == 1 and data["unread"] == 2
    assert data["first_response_n"] == 1
    assert client_for(supervisor).get(f"{APP}/metrics/cards/?agent=zero").status_code == 400


def test_the_dashboard_query_count_is_pinned(
    company, supervisor, agent, weekend, client_for
) -> None:
    web = client_for(supervisor)
    web.get(f"{APP}/metrics/?{PERIOD}")  # warm the session/user caches
    with CaptureQueriesContext(connection) as small:
        web.get(f"{APP}/metrics/?{PERIOD}")
    for i in range(4):
        t = make_ticket(company, at=datetime(2026, 11, 3, 10, i, tzinfo=SP), queue=weekend.queue)
        inbound(t, datetime(2026, 11, 3, 10, i, tzinfo=SP))
        assign(t, agent, datetime(2026, 11, 3, 10, i + 1, tzinfo=SP))
        reply(t, datetime(2026, 11, 3, 10, i + 5, tzinfo=SP), user=agent)
    with CaptureQueriesContext(connection) as bigger:
        web.get(f"{APP}/metrics/?{PERIOD}")
    assert len(bigger) == len(small) <= 30


def test_api_figures_come_from_the_same_selectors(
    company, supervisor, agent, weekend, api_client_for
) -> None:
    api = api_client_for(supervisor)
    summary = api.get(f"{API}/metrics/summary/?{PERIOD}").json()
    assert summary["totals"]["tickets_created"] == 1 and summary["totals"]["replies"] == 1
    series = api.get(f"{API}/metrics/timeseries/?{PERIOD}").json()
    friday = next(d for d in series["daily"] if d["date"] == "2026-11-06")
    assert friday["in"] == 1
    heat = api.get(f"{API}/metrics/heatmap/?{PERIOD}").json()
    assert heat["cells"][4][17] == 1  # Friday 17h, São Paulo time
    queues = api.get(f"{API}/metrics/queues/?{PERIOD}").json()
    assert queues[0]["name"] == "Comercial" and queues[0]["first_response_p50"] == 64.5 * 3600
    assert api.get(f"{API}/metrics/agents/?status=nope").status_code == 400


def test_the_openapi_schema_documents_the_metrics_endpoints(client) -> None:
    schema = client.get("/api/schema/").content.decode()
    for path in (
        "metrics/summary/",
        "metrics/agents/",
        "metrics/heatmap/",
        "metrics/timeseries/",
        "metrics/queues/",
        "clients/",
        "logs/",
    ):
        assert f"/api/v1/companies/{{company_slug}}/{path}" in schema, path
    assert "first_response_p90" in schema


def test_the_client_list_searches_and_counts_tickets(
    company, supervisor, other_company, client_for, api_client_for
) -> None:
    t = make_ticket(company, at=datetime(2026, 11, 2, 9, tzinfo=SP), kind="twilio")
    make_ticket(company, at=datetime(2026, 11, 3, 9, tzinfo=SP), contact=t.contact, kind="twilio")
    make_ticket(company, at=datetime(2026, 11, 3, 9, tzinfo=SP))
    make_ticket(other_company, at=datetime(2026, 11, 3, 9, tzinfo=SP))
    web = client_for(supervisor)
    html = web.get(f"{APP}/clients/").text
    assert html.count("data-contact=") == 2  # the other company's contact is not listed
    row = re.search(rf'data-contact="{t.contact.pk}">(.*?)</tr>', html, re.S).group(1)
    assert 'data-col="tickets">2<' in row and "Twilio WhatsApp" in row
    found = web.get(f"{APP}/clients/?q={t.contact.name}").text
    assert found.count("data-contact=") == 1
    api = api_client_for(supervisor).get(f"{API}/clients/?q={t.contact.name}").json()
    assert [c["ticket_count"] for c in api["results"]] == [2]


def test_logs_filter_by_level_and_source_and_list_failures(
    company, supervisor, other_company, client_for, api_client_for
) -> None:
    integration = Integration.objects.create(company=company, kind="twilio", name="WhatsApp")
    LogEntry.objects.create(company=company, level="error", source="send", message="boom 1")
    LogEntry.objects.create(company=company, level="info", source="webhook", message="ok 2")
    LogEntry.objects.create(company=other_company, level="error", source="send", message="theirs")
    WebhookEvent.objects.create(
        company=company,
        integration=integration,
        kind="twilio",
        body=b"{}",
        status="failed",
        error="bad json",
    )
    t = make_ticket(company, at=datetime(2026, 11, 2, 9, tzinfo=SP), kind="twilio")
    Message.objects.create(
        company=company,
        conversation=t.conversation,
        ticket=t,
        direction="out",
        sender_type="agent",
        delivery_status="failed",
        error_message="63016",
    )
    web = client_for(supervisor)
    html = web.get(f"{APP}/logs/").text
    assert "boom 1" in html and "ok 2" in html and "theirs" not in html
    assert 'data-summary="errors_24h">1<' in html
    assert "bad json" in html and "63016" in html
    errors = web.get(f"{APP}/logs/?level=error").text
    assert "ok 2" not in errors.split('id="log-entries"')[1]
    api = api_client_for(supervisor)
    assert [e["message"] for e in api.get(f"{API}/logs/?source=webhook").json()["results"]] == [
        "ok 2"
    ]
    assert api.get(f"{API}/logs/?level=loud").status_code == 400


def test_replay_and_retry_buttons_call_the_pipeline_services(
    company, supervisor, client_for, monkeypatch
) -> None:
    integration = Integration.objects.create(company=company, kind="twilio", name="WhatsApp")
    event = WebhookEvent.objects.create(
        company=company, integration=integration, kind="twilio", body=b"{}", status="failed"
    )
    t = make_ticket(company, at=datetime(2026, 11, 2, 9, tzinfo=SP), kind="twilio")
    failed = Message.objects.create(
        company=company,
        conversation=t.conversation,
        ticket=t,
        direction="out",
        sender_type="agent",
        delivery_status="failed",
    )
    web = client_for(supervisor)
    calls: list[tuple] = []
    webhooks_mod = types.ModuleType("integrations.services.webhooks")
    webhooks_mod.webhook_replay = lambda *, event, actor: calls.append(
        ("replay", event.pk, actor.pk)
    )
    outbound_mod = types.ModuleType("conversations.services.outbound")
    outbound_mod.message_retry = lambda *, message, actor: calls.append(
        ("retry", message.pk, actor.pk)
    )
    monkeypatch.setitem(sys.modules, "integrations.services.webhooks", webhooks_mod)
    monkeypatch.setitem(sys.modules, "conversations.services.outbound", outbound_mod)
    assert web.post(f"{APP}/logs/webhooks/{event.pk}/replay/").status_code == 302
    assert web.post(f"{APP}/logs/messages/{failed.pk}/retry/").status_code == 302
    assert calls == [("replay", event.pk, supervisor.pk), ("retry", failed.pk, supervisor.pk)]
    assert web.get(f"{APP}/logs/webhooks/{event.pk}/replay/").status_code == 405
    # Another company's event is 404 for this supervisor.
    theirs = make_member(company.__class__.objects.create(name="X", slug="x"), "x@x.test")
    assert client_for(theirs).post(f"{APP}/logs/webhooks/{event.pk}/replay/").status_code == 404


def test_the_global_dashboard_is_for_superusers_and_counts_per_company(
    company, other_company, superuser, admin_user, client_for
) -> None:
    make_ticket(company, at=datetime(2026, 11, 2, 9, tzinfo=SP))
    for _ in range(2):
        make_ticket(other_company, at=datetime(2026, 11, 2, 9, tzinfo=SP))
    LogEntry.objects.create(company=other_company, level="error", source="send", message="x")
    assert client_for(admin_user).get("/admin/metrics/global/").status_code == 302
    index = client_for(superuser).get("/admin/").text
    assert "/admin/metrics/global/" in index
    html = client_for(superuser).get("/admin/metrics/global/").text
    mine = re.search(r'data-company="loja-azul">(.*?)</tr>', html, re.S).group(1)
    theirs = re.search(r'data-company="outra">(.*?)</tr>', html, re.S).group(1)
    assert 'data-col="tickets">1<' in mine and 'data-col="errors_24h">0<' in mine
    assert 'data-col="tickets">2<' in theirs and 'data-col="errors_24h">1<' in theirs
    assert 'data-col="contacts">2<' in theirs


def test_a_supervisor_sees_only_their_company_in_every_endpoint(
    company, other_company, supervisor, agent, weekend, api_client_for
) -> None:
    api = api_client_for(supervisor)
    before = {u: api.get(f"{u}?{PERIOD}").json() for u in API_ROUTES}
    their_agent = make_member(other_company, "o@outra.test")
    their_queue = Queue.objects.create(company=other_company, name="Comercial")
    at = datetime(2026, 11, 6, 17, 0, tzinfo=SP)
    for i in range(3):
        t = make_ticket(other_company, at=at, queue=their_queue, assignee=their_agent)
        inbound(t, at + timedelta(minutes=i))
        reply(t, at + timedelta(hours=i + 1), user=their_agent)
        resolve(t, at + timedelta(hours=i + 2))
    LogEntry.objects.create(company=other_company, level="error", source="send", message="x")
    after = {u: api.get(f"{u}?{PERIOD}").json() for u in API_ROUTES}
    assert after == before
