"""Turn adapter events (integrations.base dataclasses) into contacts, conversations,
messages and tickets.

Every function here runs inside the caller's transaction (see :func:`ingest_in_transaction`
for the retry wrapper the webhook pipeline uses): one webhook delivery is applied entirely or
not at all. Concurrency is handled by the database, not by looking first: conversations,
contact identities, messages and the one-active-ticket rule are unique constraints, so two
workers racing on the same delivery collide on an INSERT; the loser's transaction is rolled
back and retried once in *careful* mode, where it finds the winner's rows and does nothing.

Ordering contract for platform events that arrive out of order: a delivery status or an
edit for a message we have not stored yet is parked (``ParkedMessageEvent``) and applied
when the message is stored or gets its platform id (:func:`message_apply_parked`).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from atende.rows import (
    WriteBehind,
    columns,
    execute_together,
    fetch,
    insert,
    instances,
    write_behind_active,
)
from conversations import batch, hooks, realtime
from conversations.models import Contact, ContactIdentity, Conversation, Message, ParkedMessageEvent
from conversations.phones import normalize_phone, phone_key
from integrations.base import (
    DELIVERY_ORDER,
    ContactChange,
    ContactInfo,
    ConversationChange,
    DeliveryStatus,
    Direction,
    Event,
    Ignored,
    InboundMessage,
    MessageUpdate,
    SenderType,
    StatusUpdate,
)
from integrations.models import Integration
from tickets.models import Queue, Ticket, TicketEvent
from tickets.services.lifecycle import (
    default_queues_sql,
    ticket_apply_platform_status,
    ticket_for_inbound,
    ticket_for_reply,
)

__all__ = [
    "Outcome",
    "contact_upsert",
    "events_ingest",
    "events_ingest_prefetch",
    "ingest_in_transaction",
    "message_apply_parked",
]

# Contact.last_activity_at is for sorting and "seen recently": minute precision is plenty and
# saves one UPDATE per message in a burst.
CONTACT_ACTIVITY_GRANULARITY = timedelta(seconds=60)
RETRY_ATTEMPTS = 3

logger = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


def ingest_in_transaction[T](work: Callable[[bool], T], *, attempts: int = RETRY_ATTEMPTS) -> T:
    """Run ``work(careful)`` in a transaction, retrying after a unique-constraint collision.

    The first attempt assumes the common case (new rows, nothing to look up first); if a
    concurrent delivery inserted the same conversation/message/ticket first, the collision
    rolls everything back and ``work(True)`` runs again, now seeing the committed rows.

    Once the transaction has committed, the work is done: an after-commit callback that
    raises (a real-time publish, a task enqueue) is logged, never reported as a failed
    ingest (which would make a replay of committed work look necessary).
    """
    for attempt in range(attempts):
        committed = False
        result: T

        def mark_committed() -> None:
            nonlocal committed
            committed = True

        try:
            with transaction.atomic():
                # Registered first, so it runs first after COMMIT, before the others.
                transaction.on_commit(mark_committed)
                result = work(attempt > 0)
        except IntegrityError:
            if committed:
                logger.exception("an after-commit callback failed (work committed)")
                return result
            if attempt == attempts - 1:
                raise
            continue
        except Exception:
            if committed:
                logger.exception("an after-commit callback failed (work committed)")
                return result
            raise
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def events_ingest(
    *, integration: Integration, events: Sequence[Event], careful: bool = False
) -> Outcome:
    """Apply one delivery's events (call inside a transaction; see module docstring).

    Messages are applied before conversation changes: Umbler sends the chat state and its
    last message together, and a "closed" chat must resolve the ticket its last message
    belongs to, while an assignment must find the ticket the message opened.
    """
    ordered = sorted(events, key=lambda event: 0 if isinstance(event, InboundMessage) else 1)
    outcomes = []
    for event in ordered:
        if not isinstance(event, InboundMessage | Ignored):
            batch.invalidate()  # statuses, edits, conversation and contact changes
        outcomes.append(_apply(integration, event, careful))
    if Outcome.PROCESSED in outcomes:
        return Outcome.PROCESSED
    if Outcome.DUPLICATE in outcomes:
        return Outcome.DUPLICATE
    return Outcome.IGNORED


@functools.cache
def _prefetch_columns() -> str:
    tables = ((Conversation, "v"), (Contact, "c"), (Ticket, "t"), (Queue, "q"))
    return ", ".join(columns(model, alias) for model, alias in tables)


def events_ingest_prefetch(
    target: batch.Batch,
    items: Sequence[tuple[Integration, Sequence[Event]]],
    *,
    reserve: WriteBehind | None = None,
    before: Sequence[tuple[str, Sequence[Any]]] = (),
) -> list[list[Any]]:
    """Read what ``message_ingest`` would otherwise read per message (conversations.batch):
    the known conversations (contact, active ticket and its queue) of every message in
    ``items``, which of the messages are stored already or have parked events, and, for
    the conversations not found, the contacts they may belong to; with ``reserve``, the
    ids of the rows to write behind (atende.rows). One round trip, two when a
    conversation is new. ``before``: statements (returning rows) sent first in the same
    round trip; their rows are returned. PostgreSQL only (elsewhere each message reads
    its own rows, and only ``before`` runs)."""
    if connection.vendor != "postgresql":
        return execute_together(before) if before else []
    conversations: set[tuple[int, str]] = set()
    in_conversations: set[tuple[int, str, str]] = set()
    count = 0
    for integration, events in items:
        for event in events:
            if not isinstance(event, InboundMessage):
                continue
            count += 1
            conversation_key = (integration.pk, _cut(event.external_conversation_id, 200))
            conversations.add(conversation_key)
            if event.external_message_id:
                message_id = _cut(event.external_message_id, 200)
                in_conversations.add((*conversation_key, message_id))
    target.parked = set()
    keys = sorted(conversations)
    wanted = sorted(in_conversations)
    messages = {Message: count} if reserve is not None and count else {}
    statements = list(before)
    if keys:
        statements.append(
            (_prefetch_conversations_sql(), [[k[0] for k in keys], [k[1] for k in keys]])
        )
    if wanted or messages:
        statements.append(_stored_probe(wanted, messages))
    results = execute_together(statements) if statements else []
    answer, results = results[: len(before)], results[len(before) :]
    if keys:
        for row in results.pop(0):
            conversation, contact, ticket, queue = instances(
                row, (Conversation, Contact, Ticket, Queue)
            )
            assert isinstance(conversation, Conversation)  # noqa: S101 - inner join
            conversation.contact = contact  # type: ignore[assignment]
            target.conversations[(conversation.integration_id, conversation.external_id)] = (
                conversation
            )
            if isinstance(ticket, Ticket):
                ticket.queue = queue  # type: ignore[assignment]
                target.tickets[conversation.pk] = ticket
    if wanted or messages:
        _apply_stored_probe(target, results.pop(0), messages, reserve)
    target.absent = conversations - set(target.conversations)
    if target.absent:
        # New conversations: their contacts, and ids for the rows they may create (a
        # contact, identity, conversation, ticket and ticket event each).
        new_rows = (
            dict.fromkeys(
                (Contact, ContactIdentity, Conversation, Ticket, TicketEvent), len(target.absent)
            )
            if reserve is not None
            else {}
        )
        _prefetch_contacts(target, items, _stored_probe([], new_rows), new_rows, reserve)
    return answer


@functools.cache
def _prefetch_conversations_sql() -> str:
    # Every join is a LATERAL lookup by key (OFFSET 0 keeps it one): the statement is
    # prepared and planned once, without knowing how many keys the arrays hold, and must
    # probe the indexes key by key whatever the tables' sizes (atende/rows.py).
    return (
        f"SELECT {_prefetch_columns()} "  # noqa: S608 - column names from the models
        "FROM unnest(%s::bigint[], %s::varchar[]) AS k (integration_id, external_id) "
        "CROSS JOIN LATERAL (SELECT * FROM conversations_conversation v "
        "WHERE v.integration_id = k.integration_id AND v.external_id = k.external_id "
        "OFFSET 0) v "
        "CROSS JOIN LATERAL (SELECT * FROM conversations_contact c WHERE c.id = v.contact_id "
        "OFFSET 0) c "
        "LEFT JOIN LATERAL (SELECT * FROM tickets_ticket t WHERE t.conversation_id = v.id "
        "AND t.status IN ('pending', 'open') OFFSET 0) t ON true "
        "LEFT JOIN LATERAL (SELECT * FROM tickets_queue q WHERE q.id = t.queue_id OFFSET 0) q "
        "ON true"
    )


def _stored_probe(
    wanted: list[tuple[int, str, str]], ids: dict[type[Any], int]
) -> tuple[str, list[Any]]:
    """The batch's messages already stored, those with parked events, and ``ids``
    (model -> how many) taken from the models' sequences: one statement."""
    return (
        _PREFETCH_STORED_SQL,
        [
            [k[0] for k in wanted],
            [k[1] for k in wanted],
            [k[2] for k in wanted],
            [model._meta.db_table for model in ids],
            list(ids.values()),
        ],
    )


def _apply_stored_probe(
    target: batch.Batch,
    rows: list[Any],
    ids: dict[type[Any], int],
    reserve: WriteBehind | None,
) -> None:
    tables = {model._meta.db_table: model for model in ids}
    taken: dict[type[Any], list[int]] = {model: [] for model in ids}
    if target.parked is None:
        target.parked = set()
    for kind, integration_id, conversation_id, message_id in rows:
        if kind == "s":
            target.stored.add((int(integration_id), str(conversation_id), str(message_id)))
        elif kind == "p":
            target.parked.add((int(integration_id), str(message_id)))
        else:
            taken[tables[conversation_id]].append(int(integration_id))
    if reserve is not None:
        for model, pks in taken.items():
            reserve.add_ids(model, sorted(pks))


def _prefetch_contacts(
    target: batch.Batch,
    items: Sequence[tuple[Integration, Sequence[Event]]],
    ids_probe: tuple[str, list[Any]],
    ids: dict[type[Any], int],
    reserve: WriteBehind | None,
) -> None:
    """The contacts the batch's new conversations may belong to, by identity and by
    phone, in one query: what ``contact_upsert`` would read for each of them; sent with
    ``ids_probe`` (the ids of the rows they may create)."""
    identities: set[tuple[int, str]] = set()
    phones: set[tuple[int, str]] = set()
    for integration, events in items:
        for event in events:
            if not isinstance(event, InboundMessage) or event.contact is None:
                continue
            if (integration.pk, _cut(event.external_conversation_id, 200)) not in target.absent:
                continue
            phone = _phone_of(event.contact)
            identity_key = _identity_key(event.contact, phone)
            if identity_key:
                identities.add((integration.pk, identity_key))
            if phone_key(phone):
                phones.add((integration.company_id, phone_key(phone)))
    statements: list[tuple[str, Sequence[Any]]] = []
    by_identity = sorted(identities)
    by_phone = sorted(phones)
    # The default queues of the companies opening conversations: read here rather than at
    # the first new ticket, where the read would flush the rows written behind until then.
    companies = sorted({integration.company_id for integration, _ in items} - set(target.queues))
    if companies:
        statements.append((default_queues_sql(), [companies]))
    if identities or phones:
        target.by_identity = dict.fromkeys(by_identity)
        target.by_phone = dict.fromkeys(by_phone)
        statements.append(
            (
                _prefetch_contacts_sql(),
                [
                    [k[0] for k in by_identity],
                    [k[1] for k in by_identity],
                    [k[0] for k in by_phone],
                    [k[1] for k in by_phone],
                ],
            )
        )
    if ids:
        statements.append(ids_probe)
    if not statements:
        return
    results = execute_together(statements)
    if companies:
        target.queues.update(dict.fromkeys(companies))
        for row in results.pop(0):
            (queue,) = instances(row, (Queue,))
            target.queues[queue.company_id] = queue  # type: ignore[union-attr]
    if identities or phones:
        for row in results.pop(0):
            kind, first, second = row[0], int(row[1]), str(row[2])
            (contact,) = instances(row[3:], (Contact,))
            (target.by_identity if kind == "i" else target.by_phone)[(first, second)] = contact
    if ids:
        _apply_stored_probe(target, results.pop(0), ids, reserve)


@functools.cache
def _prefetch_contacts_sql() -> str:
    return (
        f"SELECT 'i', i.integration_id, i.external_id, {columns(Contact, 'c')} "  # noqa: S608 - model columns
        "FROM unnest(%s::bigint[], %s::varchar[]) AS k (integration_id, external_id) "
        "JOIN conversations_contactidentity i "
        "ON i.integration_id = k.integration_id AND i.external_id = k.external_id "
        "JOIN conversations_contact c ON c.id = i.contact_id "
        "UNION ALL (SELECT DISTINCT ON (c.company_id, c.phone_key) "
        f"'p', c.company_id, c.phone_key, {columns(Contact, 'c')} "
        "FROM unnest(%s::bigint[], %s::varchar[]) AS k (company_id, phone_key) "
        "JOIN conversations_contact c "
        "ON c.company_id = k.company_id AND c.phone_key = k.phone_key "
        "ORDER BY c.company_id, c.phone_key, c.id)"
    )


_PREFETCH_STORED_SQL = (  # lookups by key, as in _prefetch_conversations_sql
    "WITH k AS (SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[]) "
    "AS k (integration_id, conversation, message)) "
    "SELECT 's', v.integration_id, v.external_id, m.external_id FROM k "
    "CROSS JOIN LATERAL (SELECT v.id, v.integration_id, v.external_id "
    "FROM conversations_conversation v "
    "WHERE v.integration_id = k.integration_id AND v.external_id = k.conversation OFFSET 0) v "
    "CROSS JOIN LATERAL (SELECT m.external_id FROM conversations_message m "
    "WHERE m.conversation_id = v.id AND m.external_id = k.message OFFSET 0) m "
    "UNION ALL "
    "SELECT DISTINCT 'p', p.integration_id, '', p.external_message_id "
    "FROM k CROSS JOIN LATERAL (SELECT p.integration_id, p.external_message_id "
    "FROM conversations_parkedmessageevent p WHERE p.integration_id = k.integration_id "
    "AND p.external_message_id = k.message OFFSET 0) p "
    "UNION ALL "
    "SELECT 'n', nextval(pg_get_serial_sequence(r.tbl, 'id')), r.tbl, '' "
    "FROM unnest(%s::text[], %s::int[]) AS r (tbl, n), generate_series(1, r.n)"
)


def _apply(integration: Integration, event: Event, careful: bool) -> Outcome:
    if isinstance(event, InboundMessage):
        return message_ingest(integration=integration, data=event, careful=careful)
    if isinstance(event, StatusUpdate):
        return status_apply(integration=integration, data=event)
    if isinstance(event, MessageUpdate):
        return message_update_apply(integration=integration, data=event)
    if isinstance(event, ConversationChange):
        return conversation_change_apply(integration=integration, data=event)
    if isinstance(event, ContactChange):
        contact_upsert(integration=integration, info=event.contact, overwrite=True)
        return Outcome.PROCESSED
    if isinstance(event, Ignored):
        return Outcome.IGNORED
    raise TypeError(f"unknown event {type(event).__name__}")


# --- contacts ----------------------------------------------------------------------


def _cut(value: str, size: int) -> str:
    return value[:size] if value else ""


def _identity_key(info: ContactInfo, phone: str) -> str:
    return _cut(info.external_id or info.identifier or phone.lstrip("+"), 200)


def _phone_of(info: ContactInfo) -> str:
    if info.is_group:
        return ""
    return normalize_phone(info.phone) or normalize_phone(info.identifier)


def _contact_changes(
    contact: Contact, info: ContactInfo, phone: str, *, overwrite: bool
) -> set[str]:
    """Copy what the platform knows better onto ``contact``; return the changed fields.

    Messages only fill gaps (a profile name must not undo a name staff typed); explicit
    contact events (``overwrite``) replace name and e-mail. Avatars are always refreshed:
    platforms hand out expiring URLs.
    """
    changed: set[str] = set()
    name = _cut(info.name, 200)
    if name and name != contact.name and (overwrite or not contact.name):
        contact.name = name
        changed.add("name")
    email = _cut(info.email, 254)
    if email and email != contact.email and (overwrite or not contact.email):
        contact.email = email
        changed.add("email")
    avatar = _cut(info.avatar_url, 1000)
    if avatar and avatar != contact.avatar_url:
        contact.avatar_url = avatar
        changed.add("avatar_url")
    if phone and not contact.phone:
        key = phone_key(phone)
        taken = (
            Contact.objects.for_company(contact.company_id)
            .filter(phone_key=key)
            .exclude(pk=contact.pk)
            .exists()
        )
        if not taken:
            contact.phone, contact.phone_key = phone, key
            changed |= {"phone", "phone_key"}
    if info.is_group and not contact.is_group:
        contact.is_group = True
        changed.add("is_group")
    if info.extra:
        merged = {**contact.extra, **info.extra}
        if merged != contact.extra:
            contact.extra = merged
            changed.add("extra")
    return changed


def contact_upsert(
    *,
    integration: Integration,
    info: ContactInfo,
    overwrite: bool = False,
    active_at: datetime | None = None,
) -> Contact:
    """The company's contact for ``info``: by this integration's id for the person, else by
    phone (``phone_key``: one contact for a Brazilian mobile with and without the ninth
    digit), else a new contact. Always scoped to the integration's company. A new contact
    starts with ``last_activity_at = active_at`` (a customer message that creates it: its
    row may be written behind, where a later UPDATE could not reach it)."""
    company_id = integration.company_id
    phone = _phone_of(info)
    key = phone_key(phone)
    identity_key = _identity_key(info, phone)
    contact: Contact | None = None
    has_identity = False
    if identity_key:
        known, contact = batch.contact_lookup("identity", (integration.pk, identity_key))
        if not known:
            contact = fetch(_identity_sql(), [integration.pk, identity_key], Contact)
        has_identity = contact is not None
    if contact is None and key:
        known, contact = batch.contact_lookup("phone", (company_id, key))
        if not known:
            contact = fetch(_phone_sql(), [company_id, key], Contact)
    if contact is None:
        contact = Contact(
            company_id=company_id,
            name=_cut(info.name, 200),
            phone=phone,
            phone_key=key,
            email=_cut(info.email, 254),
            is_group=info.is_group,
            avatar_url=_cut(info.avatar_url, 1000),
            extra=dict(info.extra),
            last_activity_at=active_at,
        )
        insert(contact, defer=True)
        batch.note_contact("phone", (company_id, key), contact)
    else:
        changed = _contact_changes(contact, info, phone, overwrite=overwrite)
        if changed:
            batch.invalidate()  # a batch may hold another copy of this contact
            contact.save(update_fields=[*sorted(changed), "updated_at"])
    if identity_key and not has_identity:
        insert(
            ContactIdentity(
                company_id=company_id,
                contact=contact,
                integration=integration,
                external_id=identity_key,
            ),
            defer=True,
        )
        batch.note_contact("identity", (integration.pk, identity_key), contact)
    return contact


@functools.cache
def _identity_sql() -> str:
    return (
        f"SELECT {columns(Contact, 'c')} FROM conversations_contactidentity i "  # noqa: S608 - model columns
        "JOIN conversations_contact c ON c.id = i.contact_id "
        "WHERE i.integration_id = %s AND i.external_id = %s LIMIT 1"
    )


@functools.cache
def _phone_sql() -> str:
    return (
        f"SELECT {columns(Contact, 'c')} FROM conversations_contact c "  # noqa: S608 - model columns
        "WHERE c.company_id = %s AND c.phone_key = %s ORDER BY c.id LIMIT 1"
    )


# --- conversations ------------------------------------------------------------------


@functools.cache
def _conversation_sql() -> str:
    return (
        f"SELECT {columns(Conversation, 'v')}, {columns(Contact, 'c')} "  # noqa: S608 - column names from the models
        "FROM conversations_conversation v JOIN conversations_contact c ON c.id = v.contact_id "
        "WHERE v.integration_id = %s AND v.external_id = %s LIMIT 1"
    )


def _conversation_with_contact(integration_id: int, external_id: str) -> Conversation | None:
    """The conversation with its contact: one plain statement (every message runs it), or
    the row the current batch prefetched (conversations.batch)."""
    prefetched = batch.take_conversation(integration_id, external_id)
    if prefetched is not None:
        return prefetched  # type: ignore[no-any-return]
    if batch.conversation_absent(integration_id, external_id):
        return None
    return fetch(_conversation_sql(), [integration_id, external_id], Conversation, contact=Contact)


def _conversation(
    integration: Integration,
    external_id: str,
    info: ContactInfo | None,
    *,
    is_group: bool,
    group_name: str,
    create: bool = True,
    active_at: datetime | None = None,
) -> Conversation | None:
    conversation = _conversation_with_contact(integration.pk, external_id)
    if conversation is None:
        if not create or info is None:
            return None
        contact = contact_upsert(integration=integration, info=info, active_at=active_at)
        conversation = Conversation(
            company_id=integration.company_id,
            integration=integration,
            contact=contact,
            external_id=_cut(external_id, 200),
            is_group=is_group or contact.is_group,
            group_name=_cut(group_name, 200),
        )
        insert(conversation, defer=True)
        # Created in this transaction: it has no ticket yet (lifecycle skips the lookup).
        conversation.just_created = True  # type: ignore[attr-defined]
        batch.note_conversation(conversation)
    else:
        if info is not None and (info.external_id or info.phone or info.identifier):
            contact = conversation.contact
            # Parsing a phone number costs more than the rest of a known conversation's
            # checks: only when the contact has none yet.
            phone = "" if contact.phone else _phone_of(info)
            changed = _contact_changes(contact, info, phone, overwrite=False)
            if changed:
                batch.invalidate()  # other prefetched conversations may share the contact
                conversation.contact.save(update_fields=[*sorted(changed), "updated_at"])
        fields: list[str] = []
        if group_name and group_name != conversation.group_name:
            conversation.group_name = _cut(group_name, 200)
            fields.append("group_name")
        if is_group and not conversation.is_group:
            conversation.is_group = True
            fields.append("is_group")
        if fields:
            conversation.save(update_fields=fields)
    # Saves a query: the ticket lifecycle reads the company's reopen window.
    conversation.company = integration.company
    return conversation


# --- messages -----------------------------------------------------------------------


def _attachment_dict(attachment: Any) -> dict[str, Any]:
    data = dataclasses.asdict(attachment)
    data["extra"] = dict(data.get("extra") or {})
    return data


def _status_advances(current: str, new: str) -> bool:
    """Delivery status only moves forward; ``failed`` may follow ``pending``/``sent``."""
    if new == DeliveryStatus.FAILED:
        return current in (DeliveryStatus.PENDING, DeliveryStatus.SENT)
    return DELIVERY_ORDER.get(new, -1) > DELIVERY_ORDER.get(current, 0)


def _set_status(
    message: Message,
    status: str,
    *,
    error_code: str = "",
    error_message: str = "",
    at: datetime | None = None,
) -> bool:
    if message.direction == Direction.INBOUND or not _status_advances(
        message.delivery_status, status
    ):
        return False
    fields = {"delivery_status"}
    message.delivery_status = status
    if status == DeliveryStatus.FAILED:
        message.error_code = _cut(error_code, 40)
        message.error_message = error_message or message.error_message
        fields |= {"error_code", "error_message"}
    elif message.error_code or message.error_message:
        # A later delivered/read proves the message got through after all.
        message.error_code = message.error_message = ""
        fields |= {"error_code", "error_message"}
    if status != DeliveryStatus.FAILED and message.sent_at is None:
        message.sent_at = at or timezone.now()
        fields.add("sent_at")
    message.save(update_fields=sorted(fields))
    realtime.message_changed(message, "message.status", status=status)
    return True


def _apply_update(
    message: Message, *, content: str | None, deleted: bool, at: datetime | None
) -> bool:
    fields: set[str] = set()
    if deleted and not message.deleted:
        message.deleted = True
        fields.add("deleted")
    if content is not None and content != message.content:
        # Group messages arrive with the participant prefix we strip at creation; an
        # "edit" that only re-adds it is no edit.
        unchanged_group_text = (
            message.conversation.is_group
            and content.startswith("**")
            and bool(message.content)
            and content.endswith(message.content)
        )
        if not unchanged_group_text:
            message.content = content
            message.edited_at = at or timezone.now()
            fields |= {"content", "edited_at"}
    if not fields:
        return False
    message.save(update_fields=sorted(fields))
    realtime.message_changed(message, "message.updated", deleted=message.deleted)
    return True


def _park(
    integration: Integration, external_message_id: str, kind: str, payload: dict[str, Any]
) -> None:
    batch.note_parked(integration.pk, _cut(external_message_id, 200))
    ParkedMessageEvent.objects.create(
        company_id=integration.company_id,
        integration=integration,
        external_message_id=_cut(external_message_id, 200),
        kind=kind,
        payload=payload,
    )


def _parse_at(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def message_apply_parked(message: Message, *, integration_id: int | None = None) -> None:
    """Apply statuses/edits that arrived before ``message`` (or before its platform id was
    known). Call inside the transaction that stores the message or records its external id
    (the outbound send task calls it after saving the platform's id)."""
    if not message.external_id:
        return
    integration_id = integration_id or message.conversation.integration_id
    if batch.parked_unknown(integration_id, message.external_id):
        return  # the batch looked for all its messages at once
    # Parked events are rare: a plain probe first (every new message runs this).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM conversations_parkedmessageevent "
            "WHERE integration_id = %s AND external_message_id = %s LIMIT 1",
            [integration_id, message.external_id],
        )
        if cursor.fetchone() is None:
            return
    parked = list(
        ParkedMessageEvent.objects.filter(
            integration_id=integration_id, external_message_id=message.external_id
        ).order_by("id")
    )
    if not parked:
        return
    for item in parked:
        data = item.payload
        if item.kind == ParkedMessageEvent.Kind.STATUS:
            _set_status(
                message,
                data.get("status", ""),
                error_code=data.get("error_code", ""),
                error_message=data.get("error_message", ""),
                at=_parse_at(data.get("at")),
            )
        else:
            _apply_update(
                message,
                content=data.get("content"),
                deleted=bool(data.get("deleted")),
                at=_parse_at(data.get("at")),
            )
    ParkedMessageEvent.objects.filter(pk__in=[item.pk for item in parked]).delete()


def _echo(integration: Integration, data: InboundMessage, careful: bool) -> Message | None:
    """Our own outbound message coming back from the platform (Chatwoot ``message_created``
    for what we sent): recorded on the original instead of stored twice."""
    try:
        client_id = uuid.UUID(data.echo_key)
    except ValueError:
        return None
    batch.invalidate()
    message = (
        Message.objects.for_company(integration.company_id)
        .select_related("conversation")
        .filter(client_id=client_id)
        .first()
    )
    if message is None:
        return None
    if not message.external_id and data.external_message_id:
        clash = (
            careful
            and Message.objects.filter(
                conversation_id=message.conversation_id, external_id=data.external_message_id
            ).exists()
        )
        if not clash:
            message.external_id = _cut(data.external_message_id, 200)
            message.save(update_fields=["external_id"])
    _set_status(message, DeliveryStatus.SENT, at=data.created_at)
    message_apply_parked(message, integration_id=integration.pk)
    return message


def _find_message(integration: Integration, external_message_id: str) -> Message | None:
    return (
        Message.objects.for_company(integration.company_id)
        .select_related("conversation")
        .filter(external_id=external_message_id, conversation__integration=integration)
        .order_by("-id")
        .first()
    )


# The hottest statements of the webhook path, for a customer message on a ticket: the
# ticket's counters and the conversation's clocks, sent in the message's INSERT statement
# (data-modifying CTEs: one round trip). Relative updates, so concurrent messages on one
# ticket never lose a count.
_TICKET_COUNTERS_SQL = (
    "UPDATE tickets_ticket SET unread_count = unread_count + 1, "
    "waiting_since = COALESCE(waiting_since, %s), "
    "last_message_at = GREATEST(COALESCE(last_message_at, %s), %s), updated_at = %s "
    "WHERE id = %s"
)
_CONVERSATION_CLOCKS_SQL = (
    "UPDATE conversations_conversation "
    "SET last_message_at = GREATEST(COALESCE(last_message_at, %s), %s), "
    "last_inbound_at = GREATEST(COALESCE(last_inbound_at, %s), %s) "
    "WHERE id = %s"
)


def _inbound_counters(
    items: list[tuple[int, int, datetime, datetime]],
) -> list[tuple[str, list[Any]]]:
    """``_TICKET_COUNTERS_SQL`` and ``_CONVERSATION_CLOCKS_SQL`` for many customer
    messages: summed per ticket and per conversation (one statement may not update a row
    twice), rows in id order (a stable lock order), one array per column (the statement's
    text is the same for any number of rows)."""
    tickets: dict[int, list[Any]] = {}
    conversations: dict[int, datetime] = {}
    for ticket_id, conversation_id, at, now in items:
        row = tickets.get(ticket_id)
        if row is None:
            tickets[ticket_id] = [1, at, at, now]
        else:
            row[0] += 1
            row[1], row[2], row[3] = min(row[1], at), max(row[2], at), max(row[3], now)
        previous = conversations.get(conversation_id)
        conversations[conversation_id] = at if previous is None else max(previous, at)
    ticket_ids = sorted(tickets)
    conversation_ids = sorted(conversations)
    return [
        (
            _BATCH_TICKET_COUNTERS_SQL,
            [ticket_ids, *([tickets[t][i] for t in ticket_ids] for i in range(4)), ticket_ids],
        ),
        (
            _BATCH_CONVERSATION_CLOCKS_SQL,
            [conversation_ids, [conversations[c] for c in conversation_ids], conversation_ids],
        ),
    ]


_BATCH_TICKET_COUNTERS_SQL = (
    "UPDATE tickets_ticket AS t SET unread_count = t.unread_count + v.n, "
    "waiting_since = COALESCE(t.waiting_since, v.first_at), "
    "last_message_at = GREATEST(COALESCE(t.last_message_at, v.last_at), v.last_at), "
    "updated_at = v.now "
    "FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[], %s::timestamptz[], "
    "%s::timestamptz[]) AS v (id, n, first_at, last_at, now) "
    "WHERE t.id = v.id AND t.id = ANY(%s::bigint[])"  # the rows by key (atende/rows.py)
)
_BATCH_CONVERSATION_CLOCKS_SQL = (
    "UPDATE conversations_conversation AS c "
    "SET last_message_at = GREATEST(COALESCE(c.last_message_at, v.at), v.at), "
    "last_inbound_at = GREATEST(COALESCE(c.last_inbound_at, v.at), v.at) "
    "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v (id, at) "
    "WHERE c.id = v.id AND c.id = ANY(%s::bigint[])"
)


def _contact_activity(items: list[tuple[int, datetime]]) -> list[tuple[str, list[Any]]]:
    """The contacts' ``last_activity_at`` moved forward, many contacts at once."""
    latest: dict[int, datetime] = {}
    for contact_id, at in items:
        latest[contact_id] = max(latest.get(contact_id, at), at)
    ids = sorted(latest)
    return [
        (
            "UPDATE conversations_contact AS c "
            "SET last_activity_at = GREATEST(COALESCE(c.last_activity_at, v.at), v.at) "
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v (id, at) "
            "WHERE c.id = v.id AND c.id = ANY(%s::bigint[])",
            [ids, [latest[i] for i in ids], ids],
        )
    ]


def _insert_inbound(
    message: Message, ticket: Ticket, conversation: Conversation, *, at: datetime, now: datetime
) -> bool:
    """Store a customer message and count it on its ticket; True when the conversation's
    clocks moved in the same statement (PostgreSQL). The embedded SQLite inserts, then
    updates the ticket through the ORM and leaves the conversation to the caller."""
    pending = write_behind_active()
    if pending is not None:
        # A batch of queued webhooks: the row and the counters are written with the
        # batch's other messages, in one statement (atende.rows.write_behind).
        insert(message, defer=True)
        pending.later(_inbound_counters, (ticket.pk, conversation.pk, at, now))
        return True
    if connection.vendor == "postgresql":
        insert(
            message,
            also=[
                (_TICKET_COUNTERS_SQL, [at, at, at, now, ticket.pk]),
                (_CONVERSATION_CLOCKS_SQL, [at, at, at, at, conversation.pk]),
            ],
        )
        return True
    insert(message)
    Ticket.objects.filter(pk=ticket.pk).update(
        unread_count=F("unread_count") + 1,
        waiting_since=Coalesce(F("waiting_since"), Value(at)),
        last_message_at=Greatest(Coalesce(F("last_message_at"), Value(at)), Value(at)),
        updated_at=now,
    )
    return False


def message_ingest(
    *, integration: Integration, data: InboundMessage, careful: bool = False
) -> Outcome:
    """Store one platform message (once), on its contact, conversation and ticket.

    Customer messages open or reuse a ticket (``ticket_for_inbound``), count as unread and
    start ``waiting_since``; replies made on the platform (agent/bot, not notes, not
    system) stop the wait; they never open a ticket (attached to the active or latest
    one, or none). ``hooks.message_stored`` runs for each new message.
    """
    now = timezone.now()
    at = data.created_at or now
    if data.direction == Direction.OUTBOUND and data.echo_key:
        echoed = _echo(integration, data, careful)
        if echoed is not None:
            return Outcome.PROCESSED
    customer = data.direction == Direction.INBOUND and not data.is_private
    conversation = _conversation(
        integration,
        data.external_conversation_id,
        data.contact,
        is_group=data.contact.is_group or bool(data.group_name),
        group_name=data.group_name,
        active_at=at if customer else None,
    )
    assert conversation is not None  # noqa: S101 - created when missing
    external_id = _cut(data.external_message_id, 200) or None
    stored_key = (integration.pk, conversation.external_id, external_id or "")
    if external_id and batch.message_stored(stored_key):
        return Outcome.DUPLICATE  # a batch knows its stored messages (conversations.batch)
    if (
        careful
        and external_id
        and Message.objects.filter(conversation=conversation, external_id=external_id).exists()
    ):
        return Outcome.DUPLICATE

    reply = (
        data.direction == Direction.OUTBOUND
        and not data.is_private
        and data.sender_type in (SenderType.AGENT, SenderType.BOT)
    )
    ticket: Ticket | None
    created = reopened = False
    if customer:
        ticket, created, reopened = ticket_for_inbound(conversation=conversation, at=at)
    else:
        ticket = ticket_for_reply(conversation=conversation)

    extra = dict(data.extra)
    if data.sender_external_id:
        extra["sender_external_id"] = data.sender_external_id
    message = Message(
        company_id=integration.company_id,
        conversation=conversation,
        ticket=ticket,
        direction=data.direction,
        sender_type=data.sender_type,
        sender_name=_cut(data.sender_name, 200),
        content=data.content,
        content_type=data.content_type,
        attachments=[_attachment_dict(a) for a in data.attachments],
        is_private=data.is_private,
        delivery_status=DeliveryStatus.RECEIVED
        if data.direction == Direction.INBOUND
        else DeliveryStatus.SENT,
        external_id=external_id,
        extra=extra,
        created_at=at,
        sent_at=at if data.direction == Direction.OUTBOUND else None,
    )
    conversation_done = False  # the conversation's clocks, moved with the ticket's counters
    if ticket is not None and customer:
        # The hot path: one prepared INSERT with the counters (atende.rows).
        conversation_done = _insert_inbound(message, ticket, conversation, at=at, now=now)
    else:
        insert(message)
    if external_id:
        batch.note_message(stored_key)
    # Parked statuses/edits only touch the message row: after the counters is the same.
    message_apply_parked(message, integration_id=integration.pk)
    if ticket is not None and customer:
        ticket.unread_count += 1
        ticket.waiting_since = ticket.waiting_since or at
        ticket.last_message_at = max(ticket.last_message_at or at, at)
    hooks.message_stored(
        message,
        hooks.MessageContext(
            ticket=ticket,
            ticket_created=created,
            ticket_reopened=reopened,
            source="ingest",
            extra={"integration_id": integration.pk},
        ),
    )
    if ticket is not None and not customer:
        # After the hooks: response-time metrics read the wait this reply ends.
        ticket_fields: dict[str, Any] = {
            "last_message_at": Greatest(Coalesce(F("last_message_at"), Value(at)), Value(at)),
            "updated_at": now,
        }
        if reply:
            ticket_fields["waiting_since"] = None
            ticket.waiting_since = None
        Ticket.objects.filter(pk=ticket.pk).update(**ticket_fields)

    if not conversation_done:
        conversation_fields: dict[str, Any] = {
            "last_message_at": Greatest(Coalesce(F("last_message_at"), Value(at)), Value(at))
        }
        if customer:
            conversation_fields["last_inbound_at"] = Greatest(
                Coalesce(F("last_inbound_at"), Value(at)), Value(at)
            )
        Conversation.objects.filter(pk=conversation.pk).update(**conversation_fields)
    contact = conversation.contact
    if customer and (
        contact.last_activity_at is None
        or contact.last_activity_at < at - CONTACT_ACTIVITY_GRANULARITY
    ):
        pending = write_behind_active()
        if pending is not None:
            pending.later(_contact_activity, (contact.pk, at))
        else:
            Contact.objects.filter(pk=contact.pk).update(last_activity_at=at)
        contact.last_activity_at = max(contact.last_activity_at or at, at)

    realtime.message_changed(
        message,
        "message.created",
        conversation=conversation.pk,
        unread_count=ticket.unread_count if ticket is not None else 0,
    )
    return Outcome.PROCESSED


def status_apply(*, integration: Integration, data: StatusUpdate) -> Outcome:
    """Move a message's delivery status forward; park it when the message is unknown yet."""
    message = _find_message(integration, data.external_message_id)
    if message is None:
        _park(
            integration,
            data.external_message_id,
            ParkedMessageEvent.Kind.STATUS,
            {
                "status": data.status,
                "error_code": data.error_code,
                "error_message": data.error_message,
                "at": data.at.isoformat() if data.at else None,
            },
        )
        return Outcome.PROCESSED
    _set_status(
        message,
        data.status,
        error_code=data.error_code,
        error_message=data.error_message,
        at=data.at,
    )
    return Outcome.PROCESSED


def message_update_apply(*, integration: Integration, data: MessageUpdate) -> Outcome:
    """Edit or delete a message; park the change when the message is not stored yet."""
    message = _find_message(integration, data.external_message_id)
    if message is None:
        _park(
            integration,
            data.external_message_id,
            ParkedMessageEvent.Kind.UPDATE,
            {
                "content": data.content,
                "deleted": data.deleted,
                "at": data.updated_at.isoformat() if data.updated_at else None,
            },
        )
        return Outcome.PROCESSED
    _apply_update(message, content=data.content, deleted=data.deleted, at=data.updated_at)
    return Outcome.PROCESSED


def conversation_change_apply(*, integration: Integration, data: ConversationChange) -> Outcome:
    """Create/refresh the conversation and make its ticket follow the platform's status."""
    conversation = _conversation(
        integration,
        data.external_conversation_id,
        data.contact,
        is_group=data.is_group,
        group_name=data.group_name,
    )
    if conversation is None:
        # A status change for a conversation we never saw and whose contact we don't know:
        # nothing to attach it to (its first message will create everything).
        return Outcome.IGNORED
    ticket_apply_platform_status(integration=integration, conversation=conversation, change=data)
    return Outcome.PROCESSED
