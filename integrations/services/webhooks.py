"""The inbound webhook pipeline: store the raw request, verify, parse, ingest exactly once.

Order of work for one request (see docs/webhooks.md):

1. verify the signature/token on the raw body (pure CPU), then store the ``WebhookEvent``
   (status ``received``, or ``rejected`` when the signature is bad) in its own statement,
   before anything is parsed: nothing received is ever lost;
2. parse with the platform adapter (``BadRequest`` -> ``failed``, answered 400);
3. in ONE transaction: claim the platform's delivery id (``WebhookDelivery``, unique), apply
   the events (conversations.services.ingest) and mark the event ``processed`` /
   ``duplicate`` / ``ignored``. A unique-constraint collision with a concurrent delivery
   rolls back and retries once in careful mode, which then sees the winner's rows.
4. an exception inside ingest rolls the whole transaction back and leaves the event
   ``failed`` with the error text, answered 202 (a poison message must not make the
   platform retry forever; ``replay_webhooks`` re-runs it after the fix). A transient
   database error is answered 503 so the platform retries, which the claim makes safe.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from atende.rows import (
    columns,
    execute_together,
    fetch_all,
    insert,
    update,
    write_behind,
    write_behind_active,
)
from conversations import batch
from conversations.services.ingest import (
    Outcome,
    events_ingest,
    events_ingest_prefetch,
    ingest_in_transaction,
)
from integrations.adapters import get_adapter
from integrations.base import (
    BadRequest,
    Ignored,
    InboundMessage,
    ParseResult,
    SignatureError,
    WebhookRequest,
)
from integrations.crypto import mask
from integrations.models import (
    Integration,
    LogLevel,
    WebhookEvent,
    WebhookStatus,
)
from integrations.selectors import integrations_for_ingest

from .logs import log_entry

__all__ = [
    "RELEVANT_HEADER_PREFIXES",
    "WebhookResult",
    "webhook_process",
    "webhook_receive",
    "webhook_replay",
    "webhooks_drain",
    "webhooks_process_pending",
]

logger = logging.getLogger(__name__)

# Headers worth keeping with the raw body: what the adapters verify and de-duplicate with,
# and what helps to trace a delivery. Everything else (cookies, proxies' noise) is dropped.
RELEVANT_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "user-agent",
        "x-request-id",
        "x-forwarded-for",
        "x-real-ip",
        "authorization",
        "i-twilio-idempotency-token",
    }
)
RELEVANT_HEADER_PREFIXES = ("x-chatwoot-", "x-twilio-", "x-umbler-", "x-hub-")
# Stored masked: they are credentials (the same value as an encrypted integration secret).
MASKED_HEADERS = frozenset({"authorization", "x-umbler-token"})
MASKED_QUERY_KEYS = frozenset({"token", "api_key", "access_token"})
# PostgreSQL LISTEN/NOTIFY channel on which stored, queued events wake the ingest workers.
INGEST_CHANNEL = "atende_ingest"
# Integration.last_event_at is a health indicator: one write per second is plenty.
LAST_EVENT_GRANULARITY = timedelta(seconds=1)
MAX_ERROR_CHARS = 4000

TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@dataclass(frozen=True)
class WebhookResult:
    """What the view answers: ``http_status`` and the stored event."""

    event: WebhookEvent
    http_status: int

    @property
    def status(self) -> str:
        return self.event.status


def relevant_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased relevant headers, as the adapters receive them (unmasked)."""
    kept: dict[str, str] = {}
    for key, value in headers.items():
        name = key.lower()
        if name in RELEVANT_HEADERS or name.startswith(RELEVANT_HEADER_PREFIXES):
            kept[name] = value
    return kept


def _masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: mask(v) if k in MASKED_HEADERS else v for k, v in headers.items()}


def _masked_query(query: Mapping[str, str]) -> dict[str, str]:
    return {k: mask(v) if k.lower() in MASKED_QUERY_KEYS else v for k, v in query.items()}


def _masked_url(url: str) -> str:
    """The URL without credentials in its query string (Chatwoot/Umbler ``?token=``)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key.lower() in MASKED_QUERY_KEYS for key, _ in pairs):
        return url
    query = urlencode([(k, mask(v) if k.lower() in MASKED_QUERY_KEYS else v) for k, v in pairs])
    return urlunsplit(parts._replace(query=query))


def _finish(
    event: WebhookEvent,
    status: str,
    http_status: int,
    *,
    error: str = "",
    delivery_id: str | None = None,
    started: float | None = None,
) -> None:
    """Record the outcome with one UPDATE (the body is not written again)."""
    now = timezone.now()
    values: dict[str, Any] = {
        "status": status,
        "http_status": http_status,
        "error": error[:MAX_ERROR_CHARS],
        "processed_at": now,
    }
    if delivery_id is not None:
        values["delivery_id"] = delivery_id[:200]
    if started is not None:
        values["processing_ms"] = round((time.perf_counter() - started) * 1000, 3)
    update(WebhookEvent, event.pk, values)
    for key, value in values.items():
        setattr(event, key, value)


def _claim_delivery(integration: Integration, delivery_id: str, event_id: int) -> bool:
    """Claim ``delivery_id`` for this integration; False when it was already processed.

    ``INSERT .. ON CONFLICT DO NOTHING`` (``_claim_deliveries``): a concurrent claimer
    waits on the unique index until the first transaction ends, then either conflicts
    (duplicate) or, if the first rolled back, wins. No lookup-then-insert race.
    """
    return event_id in _claim_deliveries([(integration.pk, delivery_id, event_id)])


def _touch_integration(integration: Integration, now: datetime) -> None:
    last = integration.last_event_at
    if last is not None and last > now - LAST_EVENT_GRANULARITY:
        return
    # Conditional: concurrent requests within the same second write once.
    Integration.objects.filter(pk=integration.pk).filter(
        Q(last_event_at__isnull=True) | Q(last_event_at__lt=now - LAST_EVENT_GRANULARITY)
    ).update(last_event_at=now)
    integration.last_event_at = now


def webhook_receive(
    *,
    integration: Integration,
    raw_body: bytes,
    body_truncated: bool = False,
    content_type: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    url: str,
    started: float | None = None,
    refresh: Callable[[], Integration | None] | None = None,
) -> WebhookResult:
    """Store, verify and process one webhook request for ``integration``.

    ``content_type`` is the media type without parameters, lower-case; ``headers`` are the
    request's headers (any case); ``url`` is the public URL the platform called (Twilio
    signs it). ``refresh``: when ``integration`` may be a kept copy, returns it as stored
    now; a signature that fails is checked again when its secrets changed. Never raises
    for bad input: the result says what to answer.
    """
    started = started if started is not None else time.perf_counter()
    now = timezone.now()
    kept = relevant_headers(headers)
    request = WebhookRequest(
        raw_body=raw_body,
        content_type=content_type,
        headers=kept,
        query=dict(query),
        url=url,
        now=now,
    )
    adapter = get_adapter(integration.kind)
    rejection = ""
    if not body_truncated:
        rejection = _verify(adapter, request, integration)
        if rejection and refresh is not None:
            stored = refresh()
            if stored is not None and stored.secrets_encrypted != integration.secrets_encrypted:
                integration = stored  # the secrets were rotated since it was kept
                rejection = _verify(adapter, request, integration)
    if body_truncated:
        status, http_status = WebhookStatus.FAILED, 413
        error = f"body larger than {len(raw_body)} bytes was truncated and not processed"
    elif rejection:
        status, http_status, error = WebhookStatus.REJECTED, 401, rejection
    else:
        status, http_status, error = WebhookStatus.RECEIVED, None, ""
    final = status != WebhookStatus.RECEIVED
    event = WebhookEvent(
        company_id=integration.company_id,
        integration=integration,
        kind=integration.kind,
        body=raw_body,
        body_truncated=body_truncated,
        content_type=content_type[:200],
        headers=_masked_headers(kept),
        query=_masked_query(query),
        url=_masked_url(url),
        status=status,
        error=error[:MAX_ERROR_CHARS],
        http_status=http_status,
        attempts=1,
        verified=not final,
        processed_at=now if final else None,
        processing_ms=round((time.perf_counter() - started) * 1000, 3) if final else None,
    )
    queued = not final and settings.WEBHOOK_INGEST == "queued"
    # Every request: one prepared INSERT (atende.rows), its own commit; a queued event
    # wakes the ingest workers in the same statement (LISTEN/NOTIFY, PostgreSQL).
    insert(event, notify=INGEST_CHANNEL if queued and connection.vendor == "postgresql" else "")
    _touch_integration(integration, now)
    if final:
        if rejection:
            log_entry(
                company=integration.company_id,
                integration=integration,
                level=LogLevel.WARNING,
                source="webhook",
                message=f"rejected: {rejection}",
                context={"event": event.pk},
            )
        return WebhookResult(event, http_status or 400)
    if queued:
        return _check_queued(event, integration=integration, request=request, started=started)
    return webhook_process(event, integration=integration, request=request, started=started)


def _parse(
    event: WebhookEvent, integration: Integration, request: WebhookRequest, started: float
) -> ParseResult | None:
    """The adapter's parse of a stored event; None when it is malformed (the event is then
    ``failed`` with the reason, answered 400)."""
    try:
        return get_adapter(event.kind).parse(request, integration.settings)
    except BadRequest as exc:
        _finish(event, WebhookStatus.FAILED, 400, error=str(exc), started=started)
    except Exception as exc:  # an adapter bug: keep the event, answer like a bad request
        logger.exception("adapter %s crashed on event %s", event.kind, event.pk)
        _finish(
            event,
            WebhookStatus.FAILED,
            400,
            started=started,
            error=f"cannot parse: {type(exc).__name__}: {exc}",
        )
    return None


def _check_queued(
    event: WebhookEvent, *, integration: Integration, request: WebhookRequest, started: float
) -> WebhookResult:
    """Queued mode: the stored event is answered now if it parses (the ingest worker
    applies it; a malformed one is ``failed`` and answered 400 at once, as inline)."""
    if _parse(event, integration, request, started) is None:
        return WebhookResult(event, 400)
    return WebhookResult(event, 200)


def _verify(adapter: Any, request: WebhookRequest, integration: Integration) -> str:
    """The reason the request is refused, or "" when its signature/token is right."""
    try:
        adapter.verify(request, integration.get_secrets())
    except SignatureError as exc:
        return str(exc) or "bad signature"
    except Exception as exc:  # a broken secret store must not become a 500
        logger.exception("webhook verification crashed for integration %s", integration.pk)
        return f"cannot verify: {type(exc).__name__}: {exc}"
    return ""


def _request_from_event(event: WebhookEvent, *, now: datetime | None = None) -> WebhookRequest:
    return WebhookRequest(
        raw_body=bytes(event.body),
        content_type=event.content_type,
        headers=dict(event.headers),
        query=dict(event.query),
        url=event.url,
        # Replays verify as of reception: signature timestamps are checked against it.
        now=now or event.received_at,
    )


def webhook_process(
    event: WebhookEvent,
    *,
    integration: Integration | None = None,
    request: WebhookRequest | None = None,
    started: float | None = None,
) -> WebhookResult:
    """Parse a stored, verified event and ingest it in one transaction (see module doc)."""
    started = started if started is not None else time.perf_counter()
    if integration is None:
        integration = Integration.objects.select_related("company").get(pk=event.integration_id)
    request = request or _request_from_event(event)
    parsed = _parse(event, integration, request, started)
    if parsed is None:
        return WebhookResult(event, 400)

    def work(careful: bool) -> Outcome:
        if parsed.delivery_id and not _claim_delivery(integration, parsed.delivery_id, event.pk):
            outcome = Outcome.DUPLICATE
        else:
            outcome = events_ingest(integration=integration, events=parsed.events, careful=careful)
        _finish(event, outcome, 200, delivery_id=parsed.delivery_id, started=started)
        return outcome

    try:
        outcome = ingest_in_transaction(work)
    except OperationalError as exc:
        # Deadlock, lost connection, statement timeout: worth a retry by the platform.
        logger.warning("webhook event %s: transient database error: %s", event.pk, exc)
        return _fail(event, integration, 503, exc, started)
    except Exception as exc:
        logger.exception("webhook event %s failed during ingest", event.pk)
        return _fail(event, integration, 202, exc, started)

    _log_ignored(event, integration, parsed, outcome)
    return WebhookResult(event, 200)


def _log_ignored(
    event: WebhookEvent, integration: Integration, parsed: ParseResult, outcome: str
) -> None:
    if outcome != Outcome.IGNORED:
        return
    reasons = [e.reason for e in parsed.events if isinstance(e, Ignored)]
    if any(reason.startswith("unknown") for reason in reasons):
        log_entry(
            company=integration.company_id,
            integration=integration,
            level=LogLevel.INFO,
            source="webhook",
            message="; ".join(reasons),
            context={"event": event.pk},
        )


def _fail(
    event: WebhookEvent, integration: Integration, http_status: int, exc: Exception, started: float
) -> WebhookResult:
    error = f"{type(exc).__name__}: {exc}"
    try:
        _finish(event, WebhookStatus.FAILED, http_status, error=error, started=started)
        log_entry(
            company=integration.company_id,
            integration=integration,
            level=LogLevel.ERROR,
            source="webhook",
            message=f"ingest failed: {error}",
            context={"event": event.pk},
        )
    except Exception:
        # The database is gone: the event stays "received" and replayable; ask for a retry.
        logger.exception("cannot record the failure of webhook event %s", event.pk)
        return WebhookResult(event, 503)
    return WebhookResult(event, http_status)


REPLAYABLE = (WebhookStatus.FAILED, WebhookStatus.RECEIVED)


def webhook_replay(*, event: WebhookEvent, actor: Any = None) -> WebhookResult:
    """Process a ``failed`` (or stuck ``received``) event again; anything else is a no-op.

    Idempotent: the delivery claim and the unique message ids make a replay of something
    that got through meanwhile a ``duplicate``. Events verified on reception are not
    verified again (their stored tokens are masked and signature timestamps expire);
    unverified ones are checked as of their reception time.
    """
    claimed = WebhookEvent.objects.filter(pk=event.pk, status__in=REPLAYABLE).update(
        attempts=F("attempts") + 1
    )
    event.refresh_from_db()
    if not claimed:
        return WebhookResult(event, event.http_status or 200)
    integration = Integration.objects.select_related("company").get(pk=event.integration_id)
    started = time.perf_counter()
    who = getattr(actor, "email", "") or "system"
    if event.body_truncated:
        _finish(
            event,
            WebhookStatus.FAILED,
            413,
            started=started,
            error="the body was truncated on reception: it cannot be replayed",
        )
        return WebhookResult(event, 413)
    request = _request_from_event(event)
    if not event.verified:
        try:
            get_adapter(event.kind).verify(request, integration.get_secrets())
        except SignatureError as exc:
            _finish(event, WebhookStatus.REJECTED, 401, error=str(exc), started=started)
            return WebhookResult(event, 401)
        WebhookEvent.objects.filter(pk=event.pk).update(verified=True)
        event.verified = True
    if event.status == WebhookStatus.RECEIVED:
        # Still waiting for (or stuck before) the ingest worker: ingested under its row
        # lock, as a worker would; a worker holding it is ingesting it right now.
        queued = _process_one_queued(
            event.pk, integration=integration, request=request, started=started
        )
        if queued is None:
            event.refresh_from_db()
            return WebhookResult(event, event.http_status or 200)
        result = queued
    else:
        result = webhook_process(event, integration=integration, request=request, started=started)
    log_entry(
        company=integration.company_id,
        integration=integration,
        level=LogLevel.INFO,
        source="webhook",
        message=f"event {event.pk} replayed by {who}: {event.status}",
        context={"event": event.pk, "status": event.status, "actor": who},
    )
    return result


# --- queued mode: the ingest worker's batches -------------------------------------------


def webhooks_process_pending(*, limit: int | None = None, min_age: timedelta | None = None) -> int:
    """Ingest up to ``limit`` stored events waiting in ``received`` status, oldest first,
    in ONE transaction; returns how many were taken (0: nothing waits).

    The ingest worker's unit of work (queued mode, docs/webhooks.md). Rows are claimed
    with ``FOR UPDATE SKIP LOCKED``: concurrent workers take different events, and a worker
    that dies leaves its events ``received`` for the next one. What every event of the
    batch needs is read and written once for the batch (deliveries claimed in one INSERT,
    conversations prefetched, roll-ups summed, statuses set in one UPDATE:
    conversations.batch). If anything fails, the batch rolls back and each of its events
    is processed on its own (``webhook_process``): one poison event fails alone, as it
    would inline. ``min_age``: only events stored at least that long ago (the sweep).
    """
    limit = limit or settings.WEBHOOK_BATCH_SIZE
    before = timezone.now() - min_age if min_age is not None else None
    ids: list[int] = []
    try:
        _claim_and_ingest(limit, taken=ids, before=before)
    except (IntegrityError, OperationalError):
        if not ids:
            raise
        # A collision with a concurrent writer (another worker storing the same new
        # conversation or message, a deadlock): its rows are committed now, so the same
        # batch again finds them, as the careful retry of the one-event path does.
        logger.info("a batch of %d webhook events collided; trying it again", len(ids))
        if not _retry_batch(ids):
            _one_by_one(ids)
    except Exception:
        if not ids:
            raise
        _one_by_one(ids)
    return len(ids)


def _claim_and_ingest(
    limit: int,
    *,
    taken: list[int],
    before: datetime | None = None,
    only: list[int] | None = None,
) -> None:
    """In one transaction: lock up to ``limit`` waiting events (oldest first, skipping
    those another worker holds; received ``before``, or among ``only``), put their ids
    in ``taken``, ingest them."""
    with transaction.atomic():
        events = _claim(limit, before=before, only=only)
        taken.extend(event.pk for event in events)
        if events:
            _ingest_batch(events)


@functools.cache
def _claim_sql(before: bool, only: bool) -> str:
    """The claim, one statement. It also makes the transaction commit without waiting
    for the WAL flush (``synchronous_commit = off`` for this transaction only). Safe
    here: the events were stored with a synchronous commit before they were
    acknowledged, and their status changes in the same transaction as what they wrote;
    if PostgreSQL crashes before the flush (within ~3 x ``wal_writer_delay``), the ingest
    is lost as a whole and the events are still ``received``, so the worker or the sweep
    ingests them again. Saves the flush wait on every batch, most of a small batch's
    latency."""
    where = ["e.status = 'received'"]
    if before:
        where.append("e.received_at < %s")
    if only:
        where.append("e.id = ANY(%s)")
    return (
        "WITH c AS (SELECT set_config('synchronous_commit', 'off', true)) "  # noqa: S608
        f"SELECT {columns(WebhookEvent, 'e')} FROM integrations_webhookevent e, c "
        f"WHERE {' AND '.join(where)} ORDER BY e.id LIMIT %s FOR UPDATE OF e SKIP LOCKED"
    )


def _claim(
    limit: int, *, before: datetime | None = None, only: list[int] | None = None
) -> list[WebhookEvent]:
    if connection.vendor != "postgresql":
        pending = WebhookEvent.objects.filter(status=WebhookStatus.RECEIVED)
        if before is not None:
            pending = pending.filter(received_at__lt=before)
        if only is not None:
            pending = pending.filter(pk__in=only)
        return list(pending.order_by("pk").select_for_update(skip_locked=True)[:limit])
    params: list[Any] = [p for p in (before, only) if p is not None]
    sql = _claim_sql(before is not None, only is not None)
    # Prepared and pipelined (atende.rows): the transaction's BEGIN goes out with the
    # claim, one round trip.
    rows = fetch_all(sql, [*params, limit], WebhookEvent)
    return [row[0] for row in rows]  # type: ignore[misc]


def webhooks_drain(
    *,
    batch_size: int | None = None,
    min_age: timedelta | None = None,
    max_batches: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """``webhooks_process_pending`` until nothing waits (or ``max_batches`` were taken, or
    ``should_stop()``); returns how many events were taken.

    A batch that was not full found everything that waited (or that no other worker
    holds): the drain ends there instead of confirming with an empty claim (3 round
    trips). What is stored after that claim began NOTIFYs after its commit, so a worker
    listening during the drain wakes for it at once."""
    limit = batch_size or settings.WEBHOOK_BATCH_SIZE
    total = batches = 0
    while not should_stop() and (max_batches is None or batches < max_batches):
        taken = webhooks_process_pending(limit=limit, min_age=min_age)
        total += taken
        batches += 1
        if taken < limit:
            break
    return total


def _retry_batch(ids: list[int]) -> bool:
    try:
        _claim_and_ingest(len(ids), taken=[], only=ids)
    except Exception:
        return False
    return True


def _one_by_one(ids: list[int]) -> None:
    logger.warning(
        "a batch of %d webhook events failed; processing them one by one",
        len(ids),
        exc_info=True,
    )
    for pk in ids:
        try:
            _process_one_queued(pk)
        except Exception:  # e.g. the database went away: the event stays "received"
            logger.exception("webhook event %s could not be processed; left for later", pk)


def _process_one_queued(pk: int, **process: Any) -> WebhookResult | None:
    """``webhook_process`` of a waiting event under its row lock; None (nothing done)
    when it no longer waits or a worker holds it."""
    with transaction.atomic():
        claimed = _claim(1, only=[pk])
        return webhook_process(claimed[0], **process) if claimed else None


def _ingest_batch(events: list[WebhookEvent]) -> None:
    started = time.perf_counter()
    integrations = integrations_for_ingest(event.integration_id for event in events)
    work: list[tuple[WebhookEvent, Integration, ParseResult]] = []
    for event in events:
        integration = integrations[event.integration_id]
        parsed = _parse(event, integration, _request_from_event(event), started)
        if parsed is not None:  # else failed and recorded by _parse
            work.append((event, integration, parsed))
    claim = _deliveries_claim([(i.pk, p.delivery_id, e.pk) for e, i, p in work if p.delivery_id])
    current = batch.Batch()
    outcomes: list[tuple[WebhookEvent, Integration, ParseResult, str]] = []
    with write_behind() as pending:
        # the delivery claims go in the same round trip as the prefetch (of every event's
        # rows: a duplicate's conversation is a known one anyway)
        answer = events_ingest_prefetch(
            current,
            [(i, p.events) for _, i, p in work],
            reserve=pending,
            before=[claim] if claim else [],
        )
        won = {int(row[0]) for row in answer[0]} if claim else set()
        work = _hot_first(work, current)
        with batch.batch_scope(current):
            for event, integration, parsed in work:
                if parsed.delivery_id and event.pk not in won:
                    outcome: str = Outcome.DUPLICATE
                else:
                    outcome = events_ingest(integration=integration, events=parsed.events)
                outcomes.append((event, integration, parsed, outcome))
        for event, integration, parsed, outcome in outcomes:
            _log_ignored(event, integration, parsed, outcome)
        # the statuses go with the batch's last rows, in the same statement, and (when
        # this batch is its transaction: _claim_and_ingest) with the COMMIT
        _finish_many([(e, o, p.delivery_id) for e, _, p, o in outcomes])
        if pending is not None:
            pending.commit_on_exit = True


def _hot_first(
    work: list[tuple[WebhookEvent, Integration, ParseResult]], prefetched: batch.Batch
) -> list[tuple[WebhookEvent, Integration, ParseResult]]:
    """The batch's deliveries in the order that writes the most in one go, keeping the
    order of each conversation's deliveries: first the conversations whose rows the
    batch prefetched and that get only plain messages (written behind, no statement of
    their own), then the other conversations (new ones, status and conversation changes:
    they read the database and drop the prefetched rows), then the deliveries that name
    no conversation (statuses, edits, contact changes; whichever comes first, parking
    makes the result the same). Different conversations do not depend on each other.
    The first group's prefetched rows serve all of its messages (``Batch.reuse``)."""
    groups: dict[tuple[int, str], list[tuple[WebhookEvent, Integration, ParseResult]]] = {}
    plain: dict[tuple[int, str], bool] = {}
    keyless = []
    for item in work:
        _, integration, parsed = item
        conversation = next(
            (c for c in (getattr(e, "external_conversation_id", "") for e in parsed.events) if c),
            "",
        )
        if not conversation:
            keyless.append(item)
            continue
        key = (integration.pk, conversation[:200])
        groups.setdefault(key, []).append(item)
        only_messages = all(isinstance(e, InboundMessage | Ignored) for e in parsed.events)
        plain[key] = plain.get(key, True) and only_messages
    hot = [k for k in groups if plain[k] and k in prefetched.conversations]
    cold = [k for k in groups if not (plain[k] and k in prefetched.conversations)]
    prefetched.reuse(set(hot))
    return [item for key in (*hot, *cold) for item in groups[key]] + keyless


def _deliveries_claim(claims: list[tuple[int, str, int]]) -> tuple[str, list[Any]] | None:
    """The statement claiming the (integration id, delivery id, event id) deliveries at
    once; it returns the ids of the events that won theirs (within the list the first
    event wins). None when there is nothing to claim."""
    first: dict[tuple[int, str], int] = {}
    for integration_id, delivery_id, event_id in claims:
        first.setdefault((integration_id, delivery_id[:200]), event_id)
    if not first:
        return None
    keys = list(first)
    return (
        _CLAIM_DELIVERIES_SQL,
        [
            timezone.now(),
            [k[0] for k in keys],
            [k[1] for k in keys],
            [first[k] for k in keys],
        ],
    )


def _claim_deliveries(claims: list[tuple[int, str, int]]) -> set[int]:
    """``_deliveries_claim`` run on its own: the ids of the events that won."""
    claim = _deliveries_claim(claims)
    if claim is None:
        return set()
    return {int(row[0]) for row in execute_together([claim])[0]}


_CLAIM_DELIVERIES_SQL = (
    "INSERT INTO integrations_webhookdelivery (integration_id, delivery_id, event_id, "
    "created_at) SELECT v.integration_id, v.delivery_id, v.event_id, %s::timestamptz "
    "FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[]) AS v (integration_id, "
    "delivery_id, event_id) ON CONFLICT (integration_id, delivery_id) DO NOTHING "
    "RETURNING event_id"
)


_FINISH_SQL = (
    "UPDATE integrations_webhookevent AS e SET status = v.status, http_status = 200, "
    "error = '', processed_at = %s, delivery_id = COALESCE(v.delivery_id, e.delivery_id), "
    "processing_ms = EXTRACT(EPOCH FROM (%s::timestamptz - e.received_at)) * 1000 "
    "FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[]) AS v (id, status, delivery_id) "
    "WHERE e.id = v.id AND e.id = ANY(%s::bigint[])"  # the rows by key (atende/rows.py)
)


def _statuses(items: list[tuple[str, list[Any]]]) -> list[tuple[str, list[Any]]]:
    return items


def _finish_many(rows: list[tuple[WebhookEvent, str, str | None]]) -> None:
    """``_finish`` (answered 200) for many events; on PostgreSQL in one UPDATE.
    ``processing_ms`` of a queued event is the time from its reception to its ingest."""
    if not rows:
        return
    now = timezone.now()
    if connection.vendor != "postgresql":
        for event, status, delivery_id in rows:
            _finish(event, status, 200, delivery_id=delivery_id or None)
        return
    params: list[Any] = [
        now,
        now,
        [event.pk for event, _, _ in rows],
        [status for _, status, _ in rows],
        [(delivery_id or "")[:200] or None for _, _, delivery_id in rows],
        [event.pk for event, _, _ in rows],
    ]
    pending = write_behind_active()
    if pending is not None:
        pending.later(_statuses, (_FINISH_SQL, params))
    else:
        with connection.cursor() as cursor:
            cursor.execute(_FINISH_SQL, params)
    for event, status, _ in rows:
        event.status, event.http_status, event.processed_at = status, 200, now
