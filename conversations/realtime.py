"""Channel-layer group names and publish-after-commit helpers (STYLE.md rule 13).

Group names: ``company.<id>.<topic>[.<id>]`` -- ASCII letters, digits, dots, under 100
characters. Every module that publishes or subscribes takes its names from here.

Every event about a ticket or a message carries a per-company sequence number taken at
publish time (after commit) and is routed only to the groups allowed to see the ticket:
supervisors, the ticket's queue, its assignee and the ticket page. A bounded per-company
replay log in Redis lets a reconnecting browser ask for what it missed. Tickets opened
through the web form also get a sanitized, sequence-less copy of their public events in
their requester group (``requester_payload``). The design (and why counts travel inside
events) is in docs/realtime.md.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import logging
import os
import queue
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction

from atende.rows import execute_together, in_ids

logger = logging.getLogger(__name__)

# How many events each company keeps for replay, and for how long (seconds).
REPLAY_LOG_SIZE = int(getattr(settings, "REALTIME_REPLAY_SIZE", 1000))
REPLAY_LOG_TTL = 24 * 3600
# A reconnecting client that missed more visible events than this reloads instead.
REPLAY_MAX_EVENTS = 300
PREVIEW_CHARS = 140


def company_group(company_id: int) -> str:
    """Company-wide announcements that carry nothing about a ticket (never ticket events)."""
    return f"company.{company_id}.all"


def supervisors_group(company_id: int) -> str:
    return f"company.{company_id}.supervisors"


def queue_group(company_id: int, queue_id: int) -> str:
    return f"company.{company_id}.queue.{queue_id}"


def user_group(company_id: int, user_id: int) -> str:
    return f"company.{company_id}.user.{user_id}"


def access_group(company_id: int, user_id: int) -> str:
    """Every live socket of a member joins it: ``access_changed`` closes them."""
    return f"company.{company_id}.access.{user_id}"


def ticket_group(company_id: int, ticket_id: int) -> str:
    return f"company.{company_id}.ticket.{ticket_id}"


def requester_group(company_id: int, ticket_id: int) -> str:
    """The requester's "My tickets" page of one web-form ticket: sanitized events only
    (``requester_payload``), never the staff payloads of the other groups."""
    return f"company.{company_id}.requester.{ticket_id}"


def ticket_audience(
    company_id: int, *, ticket_id: int, queue_id: int | None, assignee_id: int | None
) -> list[str]:
    """The groups allowed to hear about a ticket in this state (the visibility rule of
    tickets.selectors.visible_tickets, expressed as groups)."""
    groups = [supervisors_group(company_id)]
    if queue_id:
        groups.append(queue_group(company_id, queue_id))
    if assignee_id:
        groups.append(user_group(company_id, assignee_id))
    groups.append(ticket_group(company_id, ticket_id))
    return groups


def member_groups(membership: Any) -> list[str]:
    """The groups a member listens to on the inbox: supervisors and admins hear the whole
    company; agents their queues and their own tickets. Runs one query for agents."""
    from tickets.models import Queue

    company_id = membership.company_id
    if membership.is_supervisor:
        return [supervisors_group(company_id)]
    queue_ids = Queue.objects.for_company(company_id).filter(members=membership.user_id)
    groups = [queue_group(company_id, qid) for qid in queue_ids.values_list("id", flat=True)]
    groups.append(user_group(company_id, membership.user_id))
    return groups


# --- Redis: sequence numbers, replay log, last known audience --------------------------


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2, decode_responses=True
    )


def _key(company_id: int, name: str) -> str:
    return f"{settings.REDIS_PREFIX}:rt:{company_id}:{name}"


# INCR the company sequence and append the event to the replay log in one step, so a log
# reader never sees seq N+1 without seq N (two publishers could otherwise interleave).
_APPEND_LUA = """
local seq = redis.call('INCR', KEYS[1])
local entry = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('ZADD', KEYS[2], seq, entry)
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return seq
"""


def current_seq(company_id: int) -> int:
    """The company's last published sequence number (0 when nothing was published)."""
    try:
        return int(_redis().get(_key(company_id, "seq")) or 0)
    except redis.RedisError:
        logger.warning("realtime: redis unavailable reading the sequence", exc_info=True)
        return 0


# Redis names a script by the SHA-1 of its text; the publisher calls it by that name and
# loads it when Redis does not know it (first use, restart, flush).
_APPEND_SHA = hashlib.sha1(_APPEND_LUA.encode(), usedforsecurity=False).hexdigest()


def replay(company_id: int, since: int, groups: Iterable[str]) -> list[dict[str, Any]] | None:
    """Events after ``since`` that ``groups`` may see, oldest first; ``None`` when the client
    must reload (the log no longer reaches back that far, or too much was missed)."""
    wanted = set(groups)
    client = _redis()
    try:
        seq = int(client.get(_key(company_id, "seq")) or 0)
        if since > seq:  # the counter was reset (Redis flushed): the client can't trust its state
            return None
        if since == seq:
            return []
        oldest = client.zrange(_key(company_id, "log"), 0, 0, withscores=True)
        if not oldest or int(oldest[0][1]) > since + 1:
            return None
        raw = client.zrangebyscore(_key(company_id, "log"), f"({since}", "+inf")
    except redis.RedisError:
        logger.warning("realtime: redis unavailable for replay", exc_info=True)
        return None
    out: list[dict[str, Any]] = []
    for item in raw:
        entry = json.loads(str(item))
        payload = _payload_for(entry, wanted)
        if payload is not None:
            out.append(payload)
            if len(out) > REPLAY_MAX_EVENTS:
                return None
    return out


def _payload_for(entry: dict[str, Any], groups: set[str]) -> dict[str, Any] | None:
    if groups & set(entry["groups"]):
        return {**entry["payload"], "seq": entry["seq"], "replay": True}
    if groups & set(entry.get("gone", ())):
        return {**_removed(entry["payload"]), "seq": entry["seq"], "replay": True}
    return None


def _removed(payload: dict[str, Any]) -> dict[str, Any]:
    """What a group that can no longer see a ticket is told: only that it left."""
    ticket = payload.get("ticket") or {}
    return {
        "type": "ticket.removed",
        "ticket": {"id": ticket.get("id"), "number": ticket.get("number")},
    }


# --- sending ---------------------------------------------------------------------------


ACCESS_CHANGED_CLOSE_CODE = 4000


def access_changed(company_id: int, user_ids: Iterable[int]) -> None:
    """After commit, close the live sockets these members of the company have open (any
    page: inbox, ticket, "My tickets"), with ``ACCESS_CHANGED_CLOSE_CODE``: the browser
    connects again at once and is checked and subscribed anew, so a deactivated member
    is refused and a member taken out of a queue stops hearing it (what was missed meanwhile
    comes with the replay). Enforced by the server: a client that ignored it is closed."""
    groups = [access_group(company_id, user_id) for user_id in sorted(set(user_ids))]
    if not groups:
        return
    batch = [(group, {"type": "access.changed"}) for group in groups]

    def send() -> None:
        try:
            if not _publish_pipelined(batch):
                _group_send_all(batch)
        except Exception:
            logger.warning("realtime: closing the sockets of changed members failed", exc_info=True)

    transaction.on_commit(send)


def send_now(groups: list[str], payload: dict[str, Any]) -> None:
    """Send the same payload to several groups (no sequence number, no audience check)."""
    _send_many([(group, payload, None) for group in dict.fromkeys(groups)])


def flush(timeout: float = 5.0) -> bool:
    """Wait (at most ``timeout`` s) until the events published so far left this process."""
    return _events.flush(timeout)


def _encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), default=str)


def _send_many(messages: list[tuple[str, dict[str, Any], list[str] | None]]) -> None:
    """Hand group messages to the publisher. Each carries its payload already encoded as
    JSON text: fifty consumers of a group forward the same text instead of encoding the
    same dict fifty times."""
    if not messages:
        return
    batch = [
        (group, {"type": "event.forward", "text": _encode(payload), "audience": audience})
        for group, payload, audience in messages
    ]
    try:
        if not _publish_pipelined(batch):
            _group_send_all(batch)
    except Exception:  # the replay log still has it: a reconnecting client catches up
        logger.warning("realtime: group_send failed", exc_info=True)


@functools.cache
def _pubsub_target(pid: int) -> tuple[redis.Redis, str] | None:
    """(client, prefix) when the layer is the single-host Redis pub/sub layer, else None.

    Per process id: a forked child must not share its parent's socket."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    if not isinstance(get_channel_layer(), RedisPubSubChannelLayer):
        return None
    layers: dict[str, dict[str, Any]] = settings.CHANNEL_LAYERS
    config: dict[str, Any] = layers["default"].get("CONFIG") or {}
    hosts = config.get("hosts") or []
    if len(hosts) != 1 or not isinstance(hosts[0], str) or config.get("symmetric_encryption_keys"):
        return None
    client = redis.Redis.from_url(hosts[0], socket_connect_timeout=2, socket_timeout=2)
    return client, config.get("prefix", "asgi")


def _group_send_all(batch: list[tuple[str, dict[str, Any]]]) -> None:
    """Any other layer (the benchmark's comparison): its own ``group_send``, one
    ``async_to_sync`` per batch, in order."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group, message in batch:
            await layer.group_send(group, message)

    async_to_sync(send_all)()


def _publish_pipelined(batch: list[tuple[str, dict[str, Any]]]) -> bool:
    """Publish a batch with one pipelined round trip from this (sync) thread: exactly what
    the pub/sub layer's ``group_send`` publishes (its group channel name and serializer),
    without an event loop per call or one round trip per group. False when the layer is
    another kind (then ``_group_send_all``)."""
    target = _pubsub_target(os.getpid())
    if target is None:
        return False
    client, prefix = target
    layer = get_channel_layer()
    pipe = client.pipeline(transaction=False)
    for group, message in batch:
        pipe.publish(f"{prefix}__group__{group}", layer.serialize(message))  # type: ignore[union-attr]
    pipe.execute()
    return True


def publish_on_commit(groups: list[str], payload: dict[str, Any]) -> None:
    """Send ``payload`` to the groups once the surrounding transaction commits."""
    transaction.on_commit(lambda: send_now(groups, payload))


# --- payloads --------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    if not value:
        return None
    if isinstance(value, str):  # SQLite, raw SQL
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # stored in UTC (USE_TZ); SQLite returns it naive
        value = value.replace(tzinfo=UTC)
    return str(value.isoformat())


def ticket_row(ticket: Any) -> dict[str, Any]:
    """What an inbox row needs. ``ticket`` comes with contact, conversation__integration,
    queue and assignee selected. Events build the same dict in SQL (``_load_row``); a test
    keeps the two equal."""
    conversation = ticket.conversation
    contact = ticket.contact
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "status": ticket.status,
        "queue": ticket.queue_id,
        "queue_name": ticket.queue.name if ticket.queue_id else "",
        "queue_color": ticket.queue.color if ticket.queue_id else "",
        "assignee": ticket.assignee_id,
        "assignee_name": ticket.assignee.display_name if ticket.assignee_id else "",
        "contact": (conversation.group_name if conversation.is_group else "")
        or contact.name
        or contact.phone,
        "phone": contact.phone,
        "is_group": conversation.is_group,
        "channel": conversation.integration.kind,
        "priority": ticket.priority,
        "tags": list(ticket.tags or []),
        "unread": ticket.unread_count,
        "ai_paused": ticket.ai_paused,
        "waiting_since": _iso(ticket.waiting_since),
        "last_message_at": _iso(ticket.last_message_at or ticket.created_at),
    }


def message_summary(message: Any) -> dict[str, Any]:
    content = message.content or ""
    return {
        "id": message.pk,
        "direction": message.direction,
        "sender_type": message.sender_type,
        "sender_name": message.sender_name,
        "content_type": message.content_type,
        "preview": content[:PREVIEW_CHARS],
        "is_private": message.is_private,
        "delivery_status": message.delivery_status,
        "created_at": _iso(message.created_at),
    }


_TICKET_ROW_SQL = """
SELECT t.id, t.number, t.status, t.queue_id, q.name, q.color, t.assignee_id,
       u.full_name, u.email, c.name, c.phone, v.is_group, v.group_name, i.kind,
       t.priority, t.tags, t.unread_count, t.ai_paused, t.waiting_since,
       t.last_message_at, t.created_at, t.requester_id
FROM tickets_ticket t
JOIN conversations_contact c ON c.id = t.contact_id
JOIN conversations_conversation v ON v.id = t.conversation_id
JOIN integrations_integration i ON i.id = v.integration_id
LEFT JOIN tickets_queue q ON q.id = t.queue_id
LEFT JOIN tenants_user u ON u.id = t.assignee_id
WHERE t.company_id = %s AND {where}
"""


def _load_row(company_id: int, ticket_id: int) -> dict[str, Any] | None:
    """``ticket_row`` of one ticket as committed (see ``_load_rows``)."""
    return _load_rows(company_id, {ticket_id}).get(ticket_id)


def _load_rows(company_id: int, ticket_ids: set[int]) -> dict[int, dict[str, Any]]:
    """``ticket_row`` of the company's tickets as committed (see ``_load_states``)."""
    return {pk: row for pk, (row, _requester) in _load_states(company_id, ticket_ids)[0].items()}


def _load_states(
    company_id: int, ticket_ids: set[int], *, with_counts: bool = False
) -> tuple[dict[int, tuple[dict[str, Any], int | None]], list[tuple[Any, ...]]]:
    """``ticket_row`` and requester id of the company's tickets as committed, in one
    statement for the whole batch (this runs after every change staff see, webhooks
    included: no ORM query compilation on that path). Tickets of another company are not
    found. The requester id stays out of the row: staff payloads do not carry it.
    ``with_counts``: the company's count rows (``_counts_from``) come in the same round
    trip (``atende.rows.execute_together``: prepared, planned once per connection)."""
    ids = sorted(ticket_ids)
    if not ids:
        return {}, []
    where, row_params = in_ids("t.id", ids)
    statements = [(_TICKET_ROW_SQL.format(where=where), [company_id, *row_params])]
    if with_counts:
        statements.append((_COUNTS_SQL, [company_id, company_id]))
    results = execute_together(statements)
    states = {row[0]: (_row_dict(row[:-1]), row[-1]) for row in results[0]}
    return states, results[1] if with_counts else []


def _row_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    (pk, number, status, queue_id, queue_name, queue_color, assignee_id, full_name, email,
     contact_name, phone, is_group, group_name, kind, priority, tags, unread, ai_paused,
     waiting_since, last_message_at, created_at) = row  # fmt: skip
    if isinstance(tags, str):  # a JSON column read raw
        tags = json.loads(tags)
    return {
        "id": pk,
        "number": number,
        "status": status,
        "queue": queue_id,
        "queue_name": queue_name or "",
        "queue_color": queue_color or "",
        "assignee": assignee_id,
        "assignee_name": (full_name or (email or "").split("@")[0]) if assignee_id else "",
        "contact": (group_name if is_group else "") or contact_name or phone,
        "phone": phone,
        "is_group": bool(is_group),
        "channel": kind,
        "priority": priority,
        "tags": list(tags or []),
        "unread": unread,
        "ai_paused": bool(ai_paused),
        "waiting_since": _iso(waiting_since),
        "last_message_at": _iso(last_message_at or created_at),
    }


# --- counts ----------------------------------------------------------------------------


# Two groupings in one round trip (UNION ALL works on PostgreSQL and on embedded SQLite).
_COUNTS_SQL = """
SELECT queue_id, status, NULL, count(*), COALESCE(sum(unread_count), 0)
FROM tickets_ticket
WHERE company_id = %s AND status IN ('pending', 'open')
GROUP BY queue_id, status
UNION ALL
SELECT NULL, NULL, assignee_id, count(*), COALESCE(sum(unread_count), 0)
FROM tickets_ticket
WHERE company_id = %s AND status IN ('pending', 'open') AND assignee_id IS NOT NULL
GROUP BY assignee_id
"""


def _count_rows(company_id: int) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(_COUNTS_SQL, [company_id, company_id])
        return list(cursor.fetchall())


def _counts(company_id: int, user_ids: Iterable[int]) -> tuple[dict, dict]:
    """Both counts (per queue, and per assignee for ``user_ids``) in one statement."""
    return _counts_from(_count_rows(company_id), user_ids)


def _counts_from(rows: list[tuple[Any, ...]], user_ids: Iterable[int]) -> tuple[dict, dict]:
    ids = {uid for uid in user_ids if uid}
    queues: dict[str, dict[str, int]] = {}
    mine: dict[int, dict[str, int]] = {uid: {"open": 0, "unread": 0} for uid in ids}
    for queue_id, status, assignee_id, n, unread in rows:
        if status is not None:  # the (queue, status) grouping set
            slot = queues.setdefault(str(queue_id or 0), {"pending": 0, "open": 0, "unread": 0})
            slot[status] = n
            slot["unread"] += int(unread)
        elif assignee_id in ids:
            mine[assignee_id] = {"open": n, "unread": int(unread)}
    return queues, mine


def counts_by_queue(company_id: int) -> dict[str, dict[str, int]]:
    """Active tickets per queue ("0" = no queue): pending, open and unread messages."""
    return _counts(company_id, ())[0]


def counts_mine(company_id: int, user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Active tickets assigned to each user: how many and their unread messages."""
    return _counts(company_id, user_ids)[1]


def _total(queues: dict[str, dict[str, int]]) -> dict[str, int]:
    total = {"pending": 0, "open": 0, "unread": 0}
    for slot in queues.values():
        for key in total:
            total[key] += slot[key]
    return total


def member_counts(membership: Any) -> dict[str, Any]:
    """The counts a member's inbox shows, in the same shape the events carry."""
    company_id = membership.company_id
    queues, mine_by_user = _counts(company_id, [membership.user_id])
    mine = mine_by_user[membership.user_id]
    if membership.is_supervisor:
        return {"queues": queues, "total": _total(queues), "mine": mine}
    from tickets.models import Queue

    own = {
        str(qid)
        for qid in Queue.objects.for_company(company_id)
        .filter(members=membership.user_id)
        .values_list("id", flat=True)
    }
    visible = {qid: queues.get(qid, {"pending": 0, "open": 0, "unread": 0}) for qid in sorted(own)}
    return {"queues": visible, "total": _total(visible), "mine": mine}


def _counts_for(
    group: str, company_id: int, queues: dict[str, dict[str, int]], mine: dict[int, dict[str, int]]
) -> dict[str, Any]:
    """The slice of the counts a group may see (supervisors: everything)."""
    parts = group.split(".")
    if parts[2] == "supervisors":
        return {"queues": queues, "total": _total(queues)}
    if parts[2] == "queue":
        return {"queues": {parts[3]: queues.get(parts[3], {"pending": 0, "open": 0, "unread": 0})}}
    if parts[2] == "user":
        return {"mine": mine.get(int(parts[3]), {"open": 0, "unread": 0})}
    return {}


# --- the publishing API every service calls --------------------------------------------


# What the requester's "My tickets" page hears (docs/realtime.md): the ticket's state as
# that page shows it, and the id of a public message, which the page then fetches through
# the same selector that renders it. Never previews, private notes, timeline notes, the
# staff extras of an event (transfer notes...), counts or sequence numbers. An event type
# not listed here is not forwarded.
REQUESTER_TICKET_EVENTS = frozenset(
    {"ticket.created", "ticket.assigned", "ticket.transferred", "ticket.status", "ticket.updated"}
)
REQUESTER_MESSAGE_EVENTS = frozenset({"message.created", "message.updated"})


def requester_payload(
    event: str, row: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any] | None:
    """The sanitized copy of an event for the requester of a web-form ticket, or None
    when the requester must not hear of it (a private note, a read receipt...)."""
    ticket = {
        "number": row["number"],
        "status": row["status"],
        "queue_name": row["queue_name"],
        "assignee_name": row["assignee_name"],
    }
    if event in REQUESTER_TICKET_EVENTS:
        return {"type": "requester.ticket", "event": event, "ticket": ticket}
    message = extra.get("message")
    if event in REQUESTER_MESSAGE_EVENTS and isinstance(message, dict):
        if message.get("is_private") is not False:
            return None
        return {
            "type": "requester.message",
            "event": event,
            "ticket": ticket,
            "message": {"id": message["id"]},
        }
    return None


class _Item(NamedTuple):
    company_id: int
    ticket_id: int
    event: str
    extra: dict[str, Any]


def _publish_batch(items: list[_Item]) -> None:
    """Runs after commit, for one or more events in the order they were committed: load
    the tickets as committed, work out who may see each (and who could see it before and
    no longer can), sequence, log and send.

    A batch costs one round trip to PostgreSQL per company (the rows and the counts, two
    statements sent together) and three Redis round trips (audiences, sequence + log,
    publish) however many events it holds: under
    load the publisher thread drains what accumulated while it worked."""
    by_company: dict[int, set[int]] = {}
    for item in items:
        by_company.setdefault(item.company_id, set()).add(item.ticket_id)
    states: dict[tuple[int, int], tuple[dict[str, Any], int | None]] = {}
    count_rows: dict[int, list[tuple[Any, ...]]] = {}
    for company_id, ticket_ids in by_company.items():
        # the rows and the counts in one round trip per company
        loaded, count_rows[company_id] = _load_states(company_id, ticket_ids, with_counts=True)
        states.update(((company_id, ticket_id), state) for ticket_id, state in loaded.items())
    rows = {key: row for key, (row, _requester) in states.items()}
    items = [item for item in items if (item.company_id, item.ticket_id) in rows]
    if not items:
        return
    client = _redis()
    keys = list(dict.fromkeys((item.company_id, item.ticket_id) for item in items))
    try:
        pipe = client.pipeline(transaction=False)
        for company_id, ticket_id in keys:
            pipe.hget(_key(company_id, "aud"), str(ticket_id))
        stored = dict(zip(keys, pipe.execute(), strict=True))
    except redis.RedisError:
        stored = {}
    # Who could see each ticket before: Redis for the first event of a ticket in this
    # batch, then what the previous event of the batch left.
    seen: dict[tuple[int, int], str | None] = {
        k: (str(v) if v else None) for k, v in stored.items()
    }
    planned = []
    done: set[tuple[int, int]] = set()
    users: dict[int, set[int]] = {company_id: set() for company_id in by_company}
    for item in items:
        company_id, ticket_id, extra = item.company_id, item.ticket_id, item.extra
        row = rows[(company_id, ticket_id)]
        queue_id, assignee_id = row["queue"], row["assignee"]
        groups = ticket_audience(
            company_id, ticket_id=ticket_id, queue_id=queue_id, assignee_id=assignee_id
        )
        now_seen = f"{queue_id or 0}:{assignee_id or 0}"
        before = seen.get((company_id, ticket_id))
        first = (company_id, ticket_id) not in done
        done.add((company_id, ticket_id))
        if first and ("previous_queue" in extra or "previous_assignee" in extra):
            # The service said where the ticket was (ticket_transfer/ticket_assign do);
            # later in a batch the previous event already moved the audience.
            before = "{}:{}".format(
                extra.get("previous_queue", queue_id) or 0,
                extra.get("previous_assignee", assignee_id) or 0,
            )
        gone: list[str] = []
        old_assignee = 0
        if before and before != now_seen:
            old_queue, old_assignee = (int(x) for x in before.split(":"))
            old = ticket_audience(
                company_id, ticket_id=ticket_id, queue_id=old_queue, assignee_id=old_assignee
            )
            gone = [g for g in old if g not in groups]
        seen[(company_id, ticket_id)] = now_seen
        users[company_id] |= {assignee_id or 0, old_assignee}
        payload: dict[str, Any] = {"type": item.event, "ticket": dict(row), **extra}
        planned.append((item, groups, gone, payload))

    counts = {
        company_id: _counts_from(count_rows[company_id], users[company_id])
        for company_id in by_company
    }
    entries = [
        json.dumps({"groups": groups, "gone": gone, "payload": payload}, separators=(",", ":"))
        for _item, groups, gone, payload in planned
    ]

    def sequence() -> list[int]:
        # EVALSHA straight away: a pipeline given a script object would first ask Redis
        # whether it knows it (SCRIPT EXISTS), one more round trip on every batch.
        pipe = client.pipeline(transaction=False)
        for (item, _groups, _gone, _payload), entry in zip(planned, entries, strict=True):
            seq_key, log_key = _key(item.company_id, "seq"), _key(item.company_id, "log")
            pipe.evalsha(_APPEND_SHA, 2, seq_key, log_key, entry, REPLAY_LOG_SIZE, REPLAY_LOG_TTL)
        for company_id, ticket_id in keys:
            audience_key = _key(company_id, "aud")
            pipe.hset(audience_key, str(ticket_id), seen[(company_id, ticket_id)] or "0:0")
            pipe.expire(audience_key, 30 * 24 * 3600)
        return [int(seq) for seq in pipe.execute()[: len(planned)]]

    try:
        try:
            seqs = sequence()
        except redis.exceptions.NoScriptError:
            # First use, or Redis restarted: nothing of the script's ran (the rest is
            # idempotent); load it and send the batch again.
            client.script_load(_APPEND_LUA)
            seqs = sequence()
    except redis.RedisError:
        # Without Redis there is no sequence and no replay; live delivery still works.
        logger.warning("realtime: redis unavailable, events not sequenced", exc_info=True)
        seqs = [0] * len(planned)

    messages: list[tuple[str, dict[str, Any], list[str] | None]] = []
    for (item, groups, gone, payload), seq in zip(planned, seqs, strict=True):
        queues, mine = counts[item.company_id]
        payload["seq"] = seq
        removed = {**_removed(payload), "seq": seq}
        for group in groups:
            slice_ = _counts_for(group, item.company_id, queues, mine)
            messages.append((group, {**payload, "counts": slice_} if slice_ else payload, groups))
        for group in gone:
            slice_ = _counts_for(group, item.company_id, queues, mine)
            messages.append((group, {**removed, "counts": slice_} if slice_ else removed, gone))
        if states[(item.company_id, item.ticket_id)][1] is not None:
            sanitized = requester_payload(item.event, payload["ticket"], item.extra)
            if sanitized is not None:
                group = requester_group(item.company_id, item.ticket_id)
                messages.append((group, sanitized, [group]))
    _send_many(messages)


class _EventWorker:
    """Publishes ticket and message events from a daemon thread, in commit order.

    The after-commit hook only enqueues: the request (a webhook, an agent's action) is
    answered without waiting for the ticket row, the counts and Redis, and events that
    pile up while the thread works go out as one batch (``_publish_batch``). Set
    ``REALTIME_PUBLISH=inline`` to publish inside the hook instead (the test suite does,
    so assertions can follow the call; tests of the thread set it back)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._pid = 0
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()

    def submit(self, item: _Item) -> None:
        if getattr(settings, "REALTIME_PUBLISH", "thread") == "inline":
            _publish_batch([item])
            return
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: start its own
                self._queue = queue.SimpleQueue()
                self._pending = 0
                threading.Thread(target=self._run, name="realtime-events", daemon=True).start()
                self._pid = os.getpid()
            self._pending += 1
            self._queue.put(item)

    def _run(self) -> None:
        from django.db import close_old_connections

        work = self._queue
        while True:
            batch = [work.get()]
            while len(batch) < EVENT_BATCH:
                try:
                    batch.append(work.get_nowait())
                except queue.Empty:
                    break
            try:
                _publish_batch(batch)
            except Exception:  # never let one bad batch stop the thread
                logger.exception("realtime: publishing %d event(s) failed", len(batch))
            finally:
                close_old_connections()  # honours CONN_MAX_AGE / gives back pooled ones
                with self._lock:
                    self._pending -= len(batch)
                    if self._pending <= 0:
                        self._idle.notify_all()

    def flush(self, timeout: float) -> bool:
        with self._lock:
            if self._pid != os.getpid():
                return True
            return self._idle.wait_for(lambda: self._pending <= 0, timeout)


EVENT_BATCH = 200
_events = _EventWorker()
atexit.register(_events.flush, 2.0)


def ticket_changed(ticket: Any, event: str, **data: Any) -> None:
    """Publish, after commit, that ``ticket`` changed (``event``: "ticket.created",
    "ticket.assigned", "ticket.transferred", "ticket.status", "ticket.updated").

    ``data`` must be JSON-serialisable and small (e.g. ``{"by": user_id}``)."""
    item = _Item(ticket.company_id, ticket.pk, event, dict(data))
    transaction.on_commit(lambda: _events.submit(item))


def message_changed(message: Any, event: str, **data: Any) -> None:
    """Publish, after commit, that ``message`` was created or updated (``event``:
    "message.created", "message.updated", "message.status"). The message's fields are
    taken now; the ticket's at commit. A message without a ticket is not published."""
    if not message.ticket_id:
        return
    extra = {"message": message_summary(message), **data}
    item = _Item(message.company_id, message.ticket_id, event, extra)
    transaction.on_commit(lambda: _events.submit(item))
