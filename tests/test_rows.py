"""atende.rows builds the same instances the ORM loads (the webhook path relies on it)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.forms.models import model_to_dict

from atende.rows import columns, fetch_one
from integrations.selectors import integration_for_webhook
from tests.conftest import round_trips
from tests.tickets.live_factories import make_queue, make_ticket
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


def _same(a, b) -> None:
    assert type(a) is type(b)
    fields = [f.attname for f in type(a)._meta.concrete_fields]
    assert {f: getattr(a, f) for f in fields} == {f: getattr(b, f) for f in fields}


def test_fetch_one_equals_the_orm_including_json_and_outer_joins(company) -> None:
    queue = make_queue(company, "Vendas")
    with_queue = make_ticket(company, queue=queue)
    Ticket.objects.filter(pk=with_queue.pk).update(tags=["vip", "ação"])
    without = make_ticket(company)
    sql = (
        f"SELECT {columns(Ticket, 't')}, {columns(Queue, 'q')} FROM tickets_ticket t "  # noqa: S608
        "LEFT JOIN tickets_queue q ON q.id = t.queue_id WHERE t.id = %s"
    )
    ticket, loaded_queue = fetch_one(sql, [with_queue.pk], Ticket, Queue)
    _same(ticket, Ticket.objects.get(pk=with_queue.pk))
    assert ticket.tags == ["vip", "ação"]
    _same(loaded_queue, Queue.objects.get(pk=queue.pk))
    ticket, no_queue = fetch_one(sql, [without.pk], Ticket, Queue)
    _same(ticket, Ticket.objects.get(pk=without.pk))
    assert no_queue is None
    assert fetch_one(sql, [0], Ticket, Queue) is None


def test_the_webhook_lookup_brings_company_and_ai_settings(company, other_company) -> None:
    from integrations.ai.models import AISettings
    from integrations.models import Integration

    integration = Integration.objects.create(company=company, kind="chatwoot", name="CW")
    found = integration_for_webhook(kind="chatwoot", public_id=integration.public_id)
    assert model_to_dict(found) == model_to_dict(Integration.objects.get(pk=integration.pk))
    assert found.company == company
    with pytest.raises(AISettings.DoesNotExist):
        found.company.ai_settings  # noqa: B018 - cached as "none", no query
    ai = AISettings.objects.create(company=company, enabled=True)
    found = integration_for_webhook(kind="chatwoot", public_id=integration.public_id)
    assert found.company.ai_settings == ai
    # Wrong kind, inactive integration or company: not found.
    assert integration_for_webhook(kind="twilio", public_id=integration.public_id) is None
    Integration.objects.filter(pk=integration.pk).update(is_active=False)
    assert integration_for_webhook(kind="chatwoot", public_id=integration.public_id) is None


def test_insert_and_update_write_what_the_orm_would(company) -> None:
    from django.db import IntegrityError, transaction

    from atende.rows import insert, update
    from conversations.models import Message

    ticket = make_ticket(company)
    message = Message(
        company_id=company.pk,
        conversation=ticket.conversation,
        ticket=ticket,
        direction="in",
        sender_type="contact",
        content="Olá, ação!",
        attachments=[{"url": "https://x.test/a.jpg", "kind": "image"}],
        extra={"k": ["v"]},
        external_id="wamid.1",
    )
    insert(message)
    assert message.pk and not message._state.adding
    stored = Message.objects.get(pk=message.pk)
    _same(stored, message)  # defaults (client_id, received_at) and JSON as given
    assert stored.received_at is not None and stored.attachments[0]["kind"] == "image"
    # A duplicate platform id is the same IntegrityError the ORM raises (ingest retries it).
    twin = Message(
        company_id=company.pk,
        conversation=ticket.conversation,
        direction="in",
        sender_type="contact",
        external_id="wamid.1",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(twin)
    assert update(Message, message.pk, {"content": "editada", "extra": {"edited": True}}) == 1
    stored.refresh_from_db()
    assert (stored.content, stored.extra) == ("editada", {"edited": True})
    assert update(Message, 0, {"content": "x"}) == 0


def _message(ticket, external_id: str):
    from conversations.models import Message

    return Message(
        company_id=ticket.company_id,
        conversation=ticket.conversation,
        ticket=ticket,
        direction="in",
        sender_type="contact",
        content=f"texto {external_id}",
        extra={"k": external_id},
        external_id=external_id,
    )


def _bump(items):
    ids = sorted({pk for pk, _ in items})
    counts = {pk: sum(n for i, n in items if i == pk) for pk in ids}
    rows = ", ".join(["(%s::bigint, %s::int)"] * len(ids))
    params = [x for pk in ids for x in (pk, counts[pk])]
    return [
        (
            "UPDATE tickets_ticket AS t SET unread_count = t.unread_count + v.n "  # noqa: S608
            f"FROM (VALUES {rows}) AS v (id, n) WHERE t.id = v.id",
            params,
        )
    ]


def test_write_behind_rows_are_written_once_and_seen_by_any_later_statement(company) -> None:
    """Deferred rows get their ids at once, are invisible to nobody (the next statement
    flushes them first), and go in one statement with the deferred updates."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from atende.rows import insert, write_behind
    from conversations.models import Message

    ticket = make_ticket(company)
    before = Ticket.objects.get(pk=ticket.pk).unread_count
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with write_behind() as pending:
            assert pending is not None
            first, second = _message(ticket, "wb.1"), _message(ticket, "wb.2")
            insert(first, defer=True)
            insert(second, defer=True)
            pending.later(_bump, (ticket.pk, 1))
            pending.later(_bump, (ticket.pk, 1))
            assert first.pk and second.pk > first.pk and not first._state.adding
            sent = len(queries)
            # Any statement sees them: the ORM read below flushes first.
            with round_trips() as trips:
                assert list(
                    Message.objects.filter(pk__in=[first.pk, second.pk]).values_list(
                        "external_id", flat=True
                    )
                ) == ["wb.1", "wb.2"]
            assert len(queries) == sent + 2  # the flush (rows + update) and the read
            assert trips[0] == 2  # one round trip each
            third = _message(ticket, "wb.3")
            insert(third, defer=True)
        # the end of the block flushed the last one
        assert Message.objects.filter(pk=third.pk).exists()
    _same(Message.objects.get(pk=first.pk), first)
    assert Ticket.objects.get(pk=ticket.pk).unread_count == before + 2


def test_a_failed_write_behind_flush_fails_the_block_even_if_caught(company) -> None:
    """A flush that fails inside somebody's savepoint (which swallows the error) must not
    let the transaction commit without the rows: the block raises at its end."""
    from django.db import IntegrityError, transaction

    from atende.rows import insert, write_behind
    from conversations.models import Message

    ticket = make_ticket(company)
    insert(_message(ticket, "dup"))
    with pytest.raises(IntegrityError), transaction.atomic(), write_behind():
        insert(_message(ticket, "dup"), defer=True)  # collides at the flush
        try:
            with transaction.atomic():
                Message.objects.filter(external_id="none").exists()  # flushes here
        except IntegrityError:
            pass
    assert Message.objects.filter(external_id="dup").count() == 1


def test_written_behind_tickets_are_numbered_at_the_flush_gap_free_per_company(
    company, other_company
) -> None:
    """New tickets of a batch take their numbers in the flush that writes them: in order,
    consecutive per company, after what the counter gave before (or, without a counter,
    after the numbers in use); the flush's updates see the rows it just inserted."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from atende.rows import write_behind
    from tickets.models import TicketCounter, TicketStatus
    from tickets.services.lifecycle import _insert_numbered, ticket_next_number

    carriers = [make_ticket(company, status=TicketStatus.RESOLVED) for _ in range(3)]
    others = [make_ticket(other_company, status=TicketStatus.RESOLVED) for _ in range(2)]
    assert ticket_next_number(company.pk) == 4  # the counter exists; 4 is taken
    assert not TicketCounter.objects.filter(company=other_company).exists()
    order = [carriers[0], others[0], carriers[1], others[1], carriers[2]]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with write_behind() as pending:
            assert pending is not None
            new = []
            for carrier in order:
                ticket = Ticket(
                    company_id=carrier.company_id,
                    conversation=carrier.conversation,
                    contact_id=carrier.contact_id,
                    status=TicketStatus.PENDING,
                )
                _insert_numbered(ticket)
                new.append(ticket)
            pending.later(_bump, (new[0].pk, 2))
            assert [t.number for t in new] == [0] * 5  # not numbered yet
            sent = len(queries)
            with round_trips() as trips:
                pending.flush()
        assert len(queries) == sent + 1  # numbers, rows and the update: one request
        assert trips[0] == 1  # one round trip
    assert [t.number for t in new] == [5, 3, 6, 4, 7]
    for ticket in new[1:]:
        _same(Ticket.objects.get(pk=ticket.pk), ticket)
    assert Ticket.objects.get(pk=new[0].pk).unread_count == 2  # the update saw the new row
    assert TicketCounter.objects.get(company=company).last_number == 7
    assert TicketCounter.objects.get(company=other_company).last_number == 4


def test_statements_are_prepared_once_per_connection_and_then_executed_by_name(company) -> None:
    """On PostgreSQL this module's statements are PREPAREd in the request that first runs
    them and then sent as EXECUTE; a request that fails leaves no name behind (the next
    one prepares again, under a new name); a statement that opens the transaction goes
    with its BEGIN in one round trip."""
    from django.db import DatabaseError, connection, transaction
    from django.test.utils import CaptureQueriesContext

    from atende import rows

    sql = "SELECT id, name FROM tenants_company WHERE id = ANY(%s::bigint[]) ORDER BY id"
    with CaptureQueriesContext(connection) as queries:
        assert rows.execute_together([(sql, [[company.pk]])]) == [[(company.pk, company.name)]]
        name = rows.prepared_name(sql)
        assert name and queries[-1]["sql"].startswith(f"PREPARE {name} AS ")
        assert rows.execute_together([(sql, [[company.pk, 0]])]) == [[(company.pk, company.name)]]
        assert queries[-1]["sql"].startswith(f"EXECUTE {name}(")
    assert len(queries) == 2

    failing = "SELECT 1 / %s"
    with pytest.raises(DatabaseError), transaction.atomic():
        rows.execute_together([(failing, [0])])
    assert rows.prepared_name(failing) is None
    assert rows.execute_together([(failing, [1])]) == [[(1,)]]
    assert rows.prepared_name(failing)

    with transaction.atomic(), round_trips() as trips:
        assert rows.execute_together([(sql, [[company.pk]])])[0][0][0] == company.pk
        assert trips[0] == 1  # BEGIN and the statement together


def test_without_prepared_statements_the_same_calls_send_the_statements(company, settings) -> None:
    """``DB_PREPARED_STATEMENTS=0`` (a transaction-pooling PgBouncer): nothing prepared."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from atende import rows

    settings.DB_PREPARED_STATEMENTS = False
    sql = "SELECT id FROM tenants_company WHERE id = ANY(%s::bigint[]) AND true"
    with CaptureQueriesContext(connection) as queries:
        assert rows.execute_together([(sql, [[company.pk]]), (sql, [[0]])]) == [[(company.pk,)], []]
    assert rows.prepared_name(sql) is None
    assert len(queries) == 1 and queries[0]["sql"].startswith("SELECT id FROM tenants_company")

    def fresh_thread() -> None:  # its own connection, not opened yet
        try:
            found.append(rows.execute_together([("SELECT %s::int + 1", [1])]))
        finally:
            connection.close()

    found: list[Any] = []
    worker = threading.Thread(target=fresh_thread)
    worker.start()
    worker.join()
    assert found == [[[(2,)]]]


@pytest.mark.django_db
def test_arrays_sent_as_text_read_back_as_the_driver_would_send_them() -> None:
    """``_array_literal`` (the statements' arrays as text) against psycopg's own list
    adaptation, on values that need escaping."""
    import datetime
    import decimal
    import uuid

    from django.db import connection
    from psycopg.types.json import Jsonb

    from atende.rows import _array_literal

    cases = [
        ("text[]", ['a"b', "c\\d", "it's", "", None, "NULL", "new\nline", "ünï", "{x,y}", " s "]),
        ("bigint[]", [1, None, 2**40, -5]),
        ("jsonb[]", [Jsonb({"a": 'q"uote', "b": "back\\slash", "c": "it's"}), Jsonb([]), None]),
        ("timestamptz[]", [datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)]),
        ("date[]", [datetime.date(2026, 12, 7), None]),
        ("uuid[]", [uuid.uuid4()]),
        ("boolean[]", [True, False, None]),
        ("numeric[]", [decimal.Decimal("1.50")]),
        ("float8[]", [1.5, 1e-5, float("inf")]),
        ("bigint[]", []),
    ]
    with connection.cursor() as cursor:
        for db_type, values in cases:
            text = _array_literal(values)
            assert isinstance(text, str)
            cursor.execute(f"SELECT %s::{db_type}, %s::{db_type}", [text, values])
            ours, drivers = cursor.fetchone()
            assert ours == drivers, db_type
    assert _array_literal([b"bytes"]) == [b"bytes"]  # left to the driver


@pytest.mark.django_db
def test_long_requests_are_bound_here_exactly_as_the_driver_binds_them(monkeypatch) -> None:
    """``_execute`` binds its parameters itself (``_bound``): a request of several
    statements with dozens of parameters reads back what psycopg's own binding gives,
    and psycopg's uncached parsing (over 4,096 bytes or 50 parameters) is not used."""
    import datetime
    import decimal

    import psycopg._queries
    from django.db import connection
    from psycopg.types.json import Jsonb

    from atende.rows import execute_together

    typed = [
        ('a"b', "text"),
        ("c\\d", "text"),
        ("it's", "text"),
        ("", "text"),
        (None, "text"),
        ("100%", "text"),
        ("new\nline", "text"),
        ("ünï", "text"),
        (2**40, "bigint"),
        (-5, "int"),
        (1.5, "float8"),
        (True, "boolean"),
        (decimal.Decimal("1.50"), "numeric"),
        (datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC), "timestamptz"),
        (datetime.date(2026, 12, 7), "date"),
        (Jsonb({"a": 'q"uote', "b": "back\\slash", "c": "it's %s"}), "jsonb"),
        (b"\x00bytes\\", "bytea"),
        (["x", 'y"', None], "text[]"),
    ]
    values = [value for value, _ in typed]
    one = "SELECT " + ", ".join(f"%s::{t}" for _, t in typed) + ", '50%%'::text"
    with connection.cursor() as cursor:
        cursor.execute(one, values)
        expected = cursor.fetchone()

    parsed: list[int] = []
    uncached = psycopg._queries._query2pg_client_nocache
    monkeypatch.setattr(
        psycopg._queries,
        "_query2pg_client_nocache",
        lambda query, encoding: parsed.append(len(query)) or uncached(query, encoding),
    )
    results = execute_together([(one, values)] * 4)  # 76 parameters, one request
    assert [rows[0] for rows in results] == [expected] * 4
    assert expected[-1] == "50%" and expected[5] == "100%"
    assert parsed == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("prepare", [True, False])
def test_the_last_flush_carries_the_commit_when_nothing_follows_in_the_transaction(
    company, settings, prepare
) -> None:
    """``commit_on_exit`` (the ingest worker's batches): the block's last flush and the
    COMMIT are one round trip, Django's own COMMIT sends nothing, after-commit hooks run;
    a COMMIT that fails (a deferred foreign key) fails the block and keeps nothing."""
    from django.db import IntegrityError, connection, transaction

    from atende.rows import insert, write_behind
    from conversations.models import Message

    settings.DB_PREPARED_STATEMENTS = prepare
    ticket = make_ticket(company)
    committed: list[bool] = []
    with round_trips() as trips:
        with transaction.atomic():
            Ticket.objects.filter(pk=ticket.pk).update(unread_count=7)  # BEGIN, UPDATE
            transaction.on_commit(lambda: committed.append(True))
            with write_behind() as pending:
                assert pending is not None
                insert(_message(ticket, "c.1"), defer=True)
                pending.commit_on_exit = True
            # committed: another connection sees it before Django's block ends
            assert connection.connection.info.transaction_status == 0  # IDLE
        assert trips[0] == 4  # BEGIN, UPDATE, the ids taken, the rows with the COMMIT
    assert committed == [True]
    assert Message.objects.filter(external_id="c.1").exists()
    assert Ticket.objects.get(pk=ticket.pk).unread_count == 7

    orphan = _message(ticket, "c.2")
    with pytest.raises(IntegrityError), transaction.atomic(), write_behind() as pending:
        orphan.ticket_id = 10**12  # checked at the COMMIT (deferred constraint)
        insert(orphan, defer=True)
        pending.commit_on_exit = True
    assert not Message.objects.filter(external_id="c.2").exists()
    assert Ticket.objects.filter(pk=ticket.pk).exists()  # the connection still works

    # Inside another block (a savepoint, a test's transaction): no COMMIT in band.
    with transaction.atomic(), transaction.atomic():
        with write_behind() as pending:
            insert(_message(ticket, "c.3"), defer=True)
            pending.commit_on_exit = True
        assert connection.connection.info.transaction_status != 0
    assert Message.objects.filter(external_id="c.3").exists()
