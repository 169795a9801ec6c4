"""Who is online, kept in Redis (a lost Redis costs presence, never a ticket).

An agent is *connected* while at least one of their websockets is: each connection is a
member of a sorted set scored by its expiry time; the inbox consumer calls
``presence_connect`` / ``presence_heartbeat`` (every ping, ~25 s) / ``presence_disconnect``.
A connection whose server died without a disconnect simply expires after
``PRESENCE_CONNECTION_TTL`` seconds (default 90) without heartbeats.

An agent is *online* while connected, and for ``PRESENCE_GRACE_SECONDS`` (default 120)
after their last connection went away, so a page reload or a flaky network does not
reassign their tickets. Routing gives tickets only to online agents; the give-back task
takes unanswered tickets back from agents who are not online.

Every function swallows Redis errors (logged): the websocket must never break because
of presence. ``online_user_ids`` then returns None, which callers treat as "unknown":
routing assigns nobody and give-back takes nothing back.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterable

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


def grace_seconds() -> int:
    return int(getattr(settings, "PRESENCE_GRACE_SECONDS", 120))


def connection_ttl() -> int:
    return int(getattr(settings, "PRESENCE_CONNECTION_TTL", 90))


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=2, decode_responses=True
    )


def _redis() -> redis.Redis:
    return _client_for(settings.REDIS_URL)


def _conn_key(company_id: int, user_id: int) -> str:
    return f"{settings.REDIS_PREFIX}:presence:{company_id}:conn:{user_id}"


def _seen_key(company_id: int) -> str:
    # user id -> unix time their last connection went away (or was last refreshed).
    return f"{settings.REDIS_PREFIX}:presence:{company_id}:seen"


def _touch(company_id: int, user_id: int, channel_name: str, now: float) -> None:
    client = _redis()
    key = _conn_key(company_id, user_id)
    pipe = client.pipeline()
    pipe.zadd(key, {channel_name: now + connection_ttl()})
    pipe.zremrangebyscore(key, "-inf", now)  # forget connections of dead servers
    pipe.expire(key, connection_ttl() * 2)
    pipe.hset(_seen_key(company_id), str(user_id), now)
    pipe.execute()


def presence_connect(company_id: int, user_id: int, channel_name: str) -> bool:
    """A websocket of the user opened. Returns True when the user just came online
    (was not online before), so waiting tickets of their queues get routed."""
    try:
        was_online = is_online(company_id, user_id)
        _touch(company_id, user_id, channel_name, time.time())
    except redis.RedisError:
        logger.warning("presence: redis unavailable on connect", exc_info=True)
        return False
    if not was_online:
        from .services.routing import schedule_route_for_user

        schedule_route_for_user(company_id, user_id)
    return not was_online


def presence_heartbeat(company_id: int, user_id: int, channel_name: str) -> None:
    try:
        _touch(company_id, user_id, channel_name, time.time())
    except redis.RedisError:
        logger.warning("presence: redis unavailable on heartbeat", exc_info=True)


def presence_disconnect(company_id: int, user_id: int, channel_name: str) -> None:
    """A websocket closed; the grace period starts when the last one goes."""
    try:
        client = _redis()
        pipe = client.pipeline()
        pipe.zrem(_conn_key(company_id, user_id), channel_name)
        pipe.hset(_seen_key(company_id), str(user_id), time.time())
        pipe.execute()
    except redis.RedisError:
        logger.warning("presence: redis unavailable on disconnect", exc_info=True)


def is_connected(company_id: int, user_id: int, *, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    return bool(_redis().zcount(_conn_key(company_id, user_id), f"({now}", "+inf"))


def is_online(company_id: int, user_id: int, *, now: float | None = None) -> bool:
    online = online_user_ids(company_id, [user_id], now=now)
    return bool(online and user_id in online)


def online_user_ids(
    company_id: int, user_ids: Iterable[int], *, now: float | None = None
) -> set[int] | None:
    """Which of ``user_ids`` are online (connected, or gone for less than the grace
    period). One Redis round trip. None when Redis is unavailable."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return set()
    now = time.time() if now is None else now
    try:
        client = _redis()
        pipe = client.pipeline()
        for uid in ids:
            pipe.zcount(_conn_key(company_id, uid), f"({now}", "+inf")
        pipe.hmget(_seen_key(company_id), [str(uid) for uid in ids])
        *connected, seen = pipe.execute()
    except redis.RedisError:
        logger.warning("presence: redis unavailable reading presence", exc_info=True)
        return None
    grace = grace_seconds()
    online: set[int] = set()
    for uid, conns, last in zip(ids, connected, seen, strict=True):
        if conns or (last is not None and now - float(last) < grace):
            online.add(uid)
    return online


def presence_clear(company_id: int, user_id: int) -> None:
    """Forget a user's presence entirely (tests, member deactivation)."""
    try:
        client = _redis()
        client.delete(_conn_key(company_id, user_id))
        client.hdel(_seen_key(company_id), str(user_id))
    except redis.RedisError:
        logger.warning("presence: redis unavailable on clear", exc_info=True)
