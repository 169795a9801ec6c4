"""What one batch of queued webhook events shares while it is ingested in one transaction
(``integrations.services.webhooks.webhooks_process_pending``).

The per-message statements of the webhook path that do not depend on the message are
done once per batch instead: the conversations (with contact and active ticket) of every
message are read in one query up front, the parked-event probe is one query for all the
batch's message ids, and the metrics roll-up increments of plain messages are summed and
written in one statement at the end (``flush``).

Correctness rule: a prefetched conversation is used at most once (``take_*`` removes it),
unless the batch marked it reusable (its deliveries are only plain messages, taken one
after the other: ``reuse``), and the whole cache is dropped (``invalidate``) as soon as
anything other than a plain message of a known conversation is ingested (a new
conversation or contact, a contact change, a status or conversation event): everything
after that reads the database as the one-event path does. Outside a batch every function
here is a no-op and the ingest code behaves exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Batch",
    "active",
    "batch_scope",
    "invalidate",
    "message_stored",
    "note_message",
    "note_parked",
    "parked_unknown",
    "take_conversation",
    "take_ticket",
]


@dataclass
class Batch:
    # (integration id, platform conversation id) -> Conversation (contact attached)
    conversations: dict[tuple[int, str], Any] = field(default_factory=dict)
    # conversation id -> its active Ticket (queue attached); absent: ask the database
    tickets: dict[int, Any] = field(default_factory=dict)
    # (integration id, platform message id) of parked events; None: not prefetched
    parked: set[tuple[int, str]] | None = None
    # (integration id, platform conversation id, platform message id) of the batch's
    # messages already stored (before or earlier in the batch): duplicates, skipped as the
    # careful retry of the one-event path would
    stored: set[tuple[int, str, str]] = field(default_factory=set)
    # work deferred to the end of the batch: flusher -> the items handed to it at once
    deferred: dict[Callable[[list[Any]], None], list[Any]] = field(default_factory=dict)
    # conversations (keys, and their ids) whose deliveries are only plain messages taken
    # one after the other: their prefetched rows serve every one of those messages (what
    # a message changes on them is kept in memory: the ticket's counters and clocks)
    reusable: set[tuple[int, str]] = field(default_factory=set)
    reusable_ids: set[int] = field(default_factory=set)

    # what the prefetch found missing (None: unknown, ask the database), and what the
    # batch created since: platform conversation keys, and contacts by (integration id,
    # identity) and by (company id, phone key); a key mapped to None is known absent
    absent: set[tuple[int, str]] = field(default_factory=set)
    by_identity: dict[tuple[int, str], Any] = field(default_factory=dict)
    by_phone: dict[tuple[int, str], Any] = field(default_factory=dict)
    # company id -> its default queue (None: it has none)
    queues: dict[int, Any] = field(default_factory=dict)

    def reuse(self, keys: set[tuple[int, str]]) -> None:
        self.reusable = set(keys)
        self.reusable_ids = {c.pk for k, c in self.conversations.items() if k in keys}

    def defer(self, flusher: Callable[[list[Any]], None], item: Any) -> None:
        """Collect ``item``; ``flush`` calls ``flusher`` once with everything collected."""
        self.deferred.setdefault(flusher, []).append(item)

    def flush(self) -> None:
        for flusher, items in self.deferred.items():
            flusher(items)
        self.deferred.clear()


_current: ContextVar[Batch | None] = ContextVar("atende_ingest_batch", default=None)


def active() -> Batch | None:
    return _current.get()


@contextmanager
def batch_scope(batch: Batch) -> Iterator[Batch]:
    """Make ``batch`` the current one; ``flush`` runs when the block ends without error
    (still inside the caller's transaction)."""
    token = _current.set(batch)
    try:
        yield batch
        batch.flush()
    finally:
        _current.reset(token)


def invalidate() -> None:
    """Forget every prefetched row: the database is read again from now on."""
    batch = _current.get()
    if batch is not None:
        batch.conversations.clear()
        batch.tickets.clear()
        batch.reusable.clear()
        batch.reusable_ids.clear()
        batch.absent.clear()
        batch.by_identity.clear()
        batch.by_phone.clear()


def take_conversation(integration_id: int, external_id: str) -> Any | None:
    batch = _current.get()
    if batch is None:
        return None
    key = (integration_id, external_id)
    if key in batch.reusable:
        return batch.conversations.get(key)
    return batch.conversations.pop(key, None)


def take_ticket(conversation_id: int) -> Any | None:
    batch = _current.get()
    if batch is None:
        return None
    if conversation_id in batch.reusable_ids:
        return batch.tickets.get(conversation_id)
    return batch.tickets.pop(conversation_id, None)


def parked_unknown(integration_id: int, external_message_id: str) -> bool:
    """True when the batch knows there is no parked event for this message."""
    batch = _current.get()
    if batch is None or batch.parked is None:
        return False
    return (integration_id, external_message_id) not in batch.parked


def message_stored(key: tuple[int, str, str]) -> bool:
    """True when the batch knows this platform message is stored already."""
    batch = _current.get()
    return batch is not None and key in batch.stored


def note_message(key: tuple[int, str, str]) -> None:
    batch = _current.get()
    if batch is not None:
        batch.stored.add(key)


def note_parked(integration_id: int, external_message_id: str) -> None:
    batch = _current.get()
    if batch is not None and batch.parked is not None:
        batch.parked.add((integration_id, external_message_id))


def conversation_absent(integration_id: int, external_id: str) -> bool:
    """True when the batch knows this conversation does not exist (its prefetch did not
    find it and the batch did not create it)."""
    batch = _current.get()
    return batch is not None and (integration_id, external_id) in batch.absent


def note_conversation(conversation: Any, ticket: Any = None) -> None:
    """A conversation (and its new ticket) the batch created: its later plain messages
    in the batch use these rows instead of reading them back."""
    batch = _current.get()
    if batch is None:
        return
    key = (conversation.integration_id, conversation.external_id)
    batch.absent.discard(key)
    batch.conversations[key] = conversation
    batch.reusable.add(key)
    batch.reusable_ids.add(conversation.pk)
    if ticket is not None:
        batch.tickets[conversation.pk] = ticket


def contact_lookup(table: str, key: tuple[int, str]) -> tuple[bool, Any]:
    """(known, contact) for a contact by ``table`` ("identity": (integration id,
    identity), "phone": (company id, phone key)); known False: ask the database."""
    batch = _current.get()
    if batch is None:
        return False, None
    found = batch.by_identity if table == "identity" else batch.by_phone
    if key not in found:
        return False, None
    return True, found[key]


def note_contact(table: str, key: tuple[int, str], contact: Any) -> None:
    batch = _current.get()
    if batch is not None and key[1]:
        (batch.by_identity if table == "identity" else batch.by_phone)[key] = contact


def default_queue(company_id: int, load: Callable[[], Any]) -> Any:
    """The company's default queue, read once per batch."""
    batch = _current.get()
    if batch is None:
        return load()
    if company_id not in batch.queues:
        batch.queues[company_id] = load()
    return batch.queues[company_id]
