"""The ingest worker's loop (queued mode, ``manage.py ingest_worker``; docs/webhooks.md).

The webhook view stores each event and NOTIFYs ``atende_ingest`` in the same statement;
this loop LISTENs on its own connection, and on each wake-up ingests the waiting events
in batches (``webhooks_process_pending``) until none is left. It also looks every
``idle_seconds`` without a notification, so events stored while no worker listened (or
whose notification was lost) are taken too. Several workers may run side by side: each
batch is claimed with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import psycopg
from django.db import DatabaseError, InterfaceError, OperationalError, connection

from integrations.services.webhooks import INGEST_CHANNEL
from integrations.services.webhooks import webhooks_drain as drain

logger = logging.getLogger(__name__)

__all__ = ["drain", "run"]


def _listener() -> psycopg.Connection:
    params = connection.get_connection_params()
    conninfo = psycopg.conninfo.make_conninfo(
        **{
            key: value
            for key, value in params.items()
            if key in ("dbname", "user", "password", "host", "port", "sslmode", "options")
        }
    )
    listener = psycopg.connect(conninfo, autocommit=True)
    listener.execute(f"LISTEN {INGEST_CHANNEL}")
    return listener


def run(
    *,
    should_stop: Callable[[], bool],
    batch_size: int | None = None,
    idle_seconds: float = 1.0,
) -> None:
    """Run until ``should_stop()``: drain, then wait for a notification (or
    ``idle_seconds``), then drain again. Database errors are logged and retried after a
    pause; nothing is lost meanwhile (the events stay ``received``)."""
    listener: psycopg.Connection | None = None
    while not should_stop():
        try:
            if listener is None or listener.closed:
                listener = _listener()
            drain(batch_size=batch_size, should_stop=should_stop)
            # Sleep until the next event is stored; the notifications that arrived while
            # draining are consumed at once (their events were just ingested or will be
            # by the next drain, which is cheap when nothing waits).
            for _ in listener.notifies(timeout=idle_seconds, stop_after=1):
                pass
            for _ in listener.notifies(timeout=0):  # what is already here, without waiting
                pass
        except Exception as exc:  # never die: what waits stays "received" meanwhile
            logger.exception("ingest worker: %s; retrying in 1 s", type(exc).__name__)
            if isinstance(exc, OperationalError | InterfaceError | DatabaseError | psycopg.Error):
                connection.close()
                if listener is not None:
                    listener.close()
                    listener = None
            time.sleep(1.0)
    if listener is not None:
        listener.close()
