#!/usr/bin/env python
"""Webhook ingest benchmark: signed Chatwoot and Twilio webhooks against a real server.

    DATABASE_URL=postgres://... python bench/ingest.py [--messages 3000] [--concurrency 16]
        [--workers 2] [--server granian|gunicorn|uvicorn|daphne] [--ingest queued|inline]
        [--ingest-workers 1] [--http-nice 0] [--twilio-share 0.2] [--duplicates 0.05]
        [--url http://host:port] [--no-baseline] [--keep]

1. creates a throwaway company with a Chatwoot and a Twilio integration in the PostgreSQL of
   DATABASE_URL;
2. starts ``--workers`` server processes (granian WSGI by default) on 127.0.0.1 and, in
   queued mode (the PostgreSQL default), ``--ingest-workers`` ``manage.py ingest_worker``
   processes; or targets ``--url`` (a server on the same database);
3. sends ``--messages`` distinct messages spread over conversations (5 messages each), plus
   ``--duplicates`` of them again (half the same delivery, half the same message under a
   new delivery id), ``--concurrency`` requests in flight, bounded by ``--timeout``;
4. waits until every stored event is ingested, then checks the database: messages/s (until
   the last message was in the database), p50/p99 acknowledgement latency, lost and
   duplicated, CPU per request of the servers, PostgreSQL and this client;
5. runs the same load against a minimal view that inserts one row (bench/minimal_urls.py,
   not part of the product) on the same stack, and prints the ratio;
6. deletes the throwaway company (unless ``--keep``).

Loopback only; every number printed comes from this run. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGES_PER_CONVERSATION = 5
MINIMAL_TABLE = "bench_minimal_row"


@dataclass
class Request:
    path: str
    body: bytes
    headers: dict[str, str]
    key: tuple[str, str]  # (kind, platform message id)


@dataclass
class RunResult:
    label: str
    sent: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_seconds: float = float("nan")
    database_cpu_seconds: float = float("nan")  # every postgres process of the machine
    client_cpu_seconds: float = float("nan")
    started_at: float = 0.0  # wall clock (time.time) of the first request
    ingested_seconds: float = float("nan")  # first request -> last message ingested
    codes: Counter[int] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: int = 0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]


def production_env() -> None:
    """Production-like settings (DEBUG off, pooled connections) for this process and the
    servers it starts: the same encryption key, so the servers can read the integrations'
    secrets this process writes. Shared by the benches that start servers."""
    from cryptography.fernet import Fernet

    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(48))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("ATENDE_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    # Production settings for ASGI: pooled connections (see atende/settings.py).
    os.environ.setdefault("DB_POOL_SIZE", "8")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atende.settings")


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench/ingest.py needs DATABASE_URL pointing at PostgreSQL")
    production_env()
    import django

    django.setup()


# --- data --------------------------------------------------------------------------

WRITE_PATH_TABLES = (
    "integrations_webhookevent",
    "integrations_webhookdelivery",
    "conversations_message",
    "conversations_conversation",
    "conversations_contact",
    "tickets_ticket",
    "metrics_messagevolume",
    "metrics_contactday",
)


BACKGROUND_SLUG = "bench-background"
BACKGROUND_CONVERSATIONS = 2_000
BACKGROUND_MESSAGES = 40_000


def ensure_background() -> None:
    """Another company's history in the database, kept between runs: 2,000 contacts,
    conversations and resolved tickets, 40,000 messages, webhook events and deliveries.

    A real installation's tables are not empty, and PostgreSQL plans by their size: on
    tables that only the run fills, a plan made at its start (a prepared statement's, a
    foreign-key check's) scans them whole and gets slower as they grow, which neither a
    real database nor this bench's VACUUM ANALYZE of an emptied one would show. Written
    once, with SQL, in a few seconds; nothing the bench measures reads it."""
    from django.db import connection

    from tenants.models import Company

    if Company.objects.filter(slug=BACKGROUND_SLUG).exists():
        return
    print("seeding the background company (once)", flush=True)
    tenant = create_tenant("background")
    company, chatwoot = tenant[0], tenant[1]
    Company.objects.filter(pk=company.pk).update(slug=BACKGROUND_SLUG, name="Bench background")
    n, m = BACKGROUND_CONVERSATIONS, BACKGROUND_MESSAGES
    statements = [
        """INSERT INTO conversations_contact (company_id, name, phone, phone_key, email,
               is_group, avatar_url, extra, created_at, updated_at)
           SELECT %(c)s, 'Background ' || g, '+5511' || (800000000 + g), '5511' || (800000000 + g),
                  '', false, '', '{}', now(), now() FROM generate_series(1, %(n)s) g""",
        """INSERT INTO conversations_conversation (company_id, integration_id, contact_id,
               external_id, is_group, group_name, extra, created_at)
           SELECT %(c)s, %(i)s, k.id, 'bg-' || k.id, false, '', '{}', now()
           FROM conversations_contact k WHERE k.company_id = %(c)s""",
        """INSERT INTO tickets_ticket (company_id, number, conversation_id, contact_id, status,
               priority, tags, title, description, complexity, requested_for_name,
               requested_for_email, requested_for_phone, ai_paused, unread_count,
               out_of_hours_sent, created_at, updated_at, reopen_count)
           SELECT %(c)s, row_number() OVER (ORDER BY v.id), v.id, v.contact_id, 'resolved',
                  'normal', '[]', '', '', '', '', '', '', false, 0, false, now(), now(), 0
           FROM conversations_conversation v WHERE v.company_id = %(c)s""",
        """INSERT INTO tickets_ticketcounter (company_id, last_number) VALUES (%(c)s, %(n)s)""",
        """INSERT INTO integrations_webhookevent (company_id, integration_id, kind, delivery_id,
               body, body_truncated, content_type, headers, query, url, status, error,
               http_status, attempts, received_at, processed_at, processing_ms, verified)
           SELECT %(c)s, %(i)s, 'chatwoot', 'bg-' || g, '\\x7b7d', false, 'application/json',
                  '{}', '{}', '', 'processed', '', 200, 1, now(), now(), 1, true
           FROM generate_series(1, %(m)s) g""",
        """INSERT INTO integrations_webhookdelivery (integration_id, delivery_id, event_id,
               created_at)
           SELECT e.integration_id, e.delivery_id, e.id, now()
           FROM integrations_webhookevent e WHERE e.company_id = %(c)s""",
        """INSERT INTO conversations_message (company_id, conversation_id, ticket_id, direction,
               sender_type, sender_name, content, content_type, attachments, transcription,
               is_private, delivery_status, error_code, error_message, send_attempts,
               external_id, client_id, deleted, extra, created_at, received_at)
           SELECT %(c)s, t.conversation_id, t.id, 'in', 'contact', 'Background',
                  'background message ' || g, 'text', '[]', '', false, 'received', '', '', 0,
                  'bg-' || g, gen_random_uuid(), false, '{}', now(), now()
           FROM generate_series(1, %(m)s) g
           JOIN tickets_ticket t ON t.company_id = %(c)s AND t.number = 1 + g %% %(n)s""",
    ]
    params = {"c": company.pk, "i": chatwoot.pk, "n": n, "m": m}
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, params)


def vacuum_write_path() -> None:
    """VACUUM ANALYZE the tables the webhook path writes, before measuring: earlier runs'
    deleted companies leave dead rows, and autovacuum, on by default in PostgreSQL, may be
    off on a bench machine (it is on this project's: `SHOW autovacuum`). Without it the
    ingest workers' queue index fills with dead entries and every figure drifts."""
    from django.db import connection

    ensure_background()
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        row = cursor.fetchone()
        state = row[0] if row else "?"
        print(f"PostgreSQL autovacuum: {state}; vacuuming the write path first", flush=True)
        for table in WRITE_PATH_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")


def create_tenant(tag: str) -> tuple[Any, Any, Any, dict[str, str]]:
    from integrations.models import Integration
    from tenants.models import Company

    company = Company.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    chatwoot = Integration(company=company, kind="chatwoot", name="Bench Chatwoot")
    chatwoot_secret = secrets.token_hex(16)
    chatwoot.set_secrets({"webhook_secret": chatwoot_secret})
    chatwoot.save()
    twilio = Integration(company=company, kind="twilio", name="Bench Twilio")
    twilio_token = secrets.token_hex(16)
    twilio.set_secrets({"auth_token": twilio_token})
    twilio.save()
    return company, chatwoot, twilio, {"chatwoot": chatwoot_secret, "twilio": twilio_token}


def chatwoot_request(
    integration: Any, secret: str, n: int, conversation: int, delivery: str
) -> Request:
    phone = f"+55119{conversation:08d}"
    contact = {
        "id": 100000 + conversation,
        "name": f"Cliente {conversation}",
        "phone_number": phone,
        "email": None,
        "identifier": None,
        "thumbnail": "",
    }
    payload = {
        "event": "message_created",
        "id": n,
        "content": f"Mensagem {n} da conversa {conversation}",
        "content_type": "text",
        "content_attributes": {},
        "message_type": "incoming",
        "private": False,
        "created_at": datetime.now(UTC).isoformat(),
        "account": {"id": 1, "name": "Bench"},
        "inbox": {"id": 1, "name": "WhatsApp"},
        "sender": contact,
        "conversation": {
            "id": conversation,
            "channel": "Channel::Api",
            "meta": {"sender": {**contact, "type": "contact"}, "assignee": None},
        },
    }
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Chatwoot-Signature": f"sha256={digest}",
        "X-Chatwoot-Timestamp": timestamp,
        "X-Chatwoot-Delivery": delivery,
    }
    return Request(integration.webhook_path(), body, headers, ("chatwoot", str(n)))


def twilio_request(
    integration: Any, token: str, base_url: str, n: int, conversation: int
) -> Request:
    from twilio.request_validator import RequestValidator

    phone = f"+55219{conversation:08d}"
    sid = f"SM{n:032d}"
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": f"whatsapp:{phone}",
        "To": "whatsapp:+14155238886",
        "Body": f"msg {n}",
        "NumMedia": "0",
        "ProfileName": f"Cliente {conversation}",
        "WaId": phone[1:],
        "MessageType": "text",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    path = integration.webhook_path()
    signature = RequestValidator(token).compute_signature(f"{base_url}{path}", params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return Request(path, urlencode(params).encode(), headers, ("twilio", sid))


def build_load(
    args: argparse.Namespace, chatwoot: Any, twilio: Any, keys: dict[str, str], base_url: str
) -> tuple[list[Request], set[tuple[str, str]]]:
    rng = random.Random(args.seed)
    # Many customers at once, each typing in order: conversations (of one platform each)
    # are interleaved at random while each one's messages keep their order, so new tickets
    # and messages on existing tickets mix through the run.
    threads: list[list[Request]] = []
    conversations = max(1, args.messages // MESSAGES_PER_CONVERSATION)
    for conversation in range(1, conversations + 1):
        use_twilio = rng.random() < args.twilio_share
        thread: list[Request] = []
        for k in range(MESSAGES_PER_CONVERSATION):
            n = (conversation - 1) * MESSAGES_PER_CONVERSATION + k + 1
            if n > args.messages:
                break
            if use_twilio:
                thread.append(twilio_request(twilio, keys["twilio"], base_url, n, conversation))
            else:
                delivery = str(uuid.uuid4())
                thread.append(
                    chatwoot_request(chatwoot, keys["chatwoot"], n, conversation, delivery)
                )
        threads.append(thread)
    requests: list[Request] = []
    while threads:
        index = rng.randrange(len(threads))
        requests.append(threads[index].pop(0))
        if not threads[index]:
            threads.pop(index)
    expected = {r.key for r in requests}
    copies: list[Request] = []
    for index, original in enumerate(rng.sample(requests, int(len(requests) * args.duplicates))):
        if original.key[0] == "chatwoot" and index % 2:
            # The same message under a new delivery id: stopped by the message's unique key.
            body = original.body
            timestamp = str(int(time.time()))
            digest = hmac.new(
                keys["chatwoot"].encode(), timestamp.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
            headers = {
                **original.headers,
                "X-Chatwoot-Delivery": str(uuid.uuid4()),
                "X-Chatwoot-Signature": f"sha256={digest}",
                "X-Chatwoot-Timestamp": timestamp,
            }
            copies.append(Request(original.path, body, headers, original.key))
        else:
            copies.append(original)  # the very same delivery, retried
    # The copies land anywhere, sometimes while the original is still in flight.
    for copy in copies:
        requests.insert(rng.randrange(len(requests) + 1), copy)
    return requests, expected


# --- the server ---------------------------------------------------------------------


SERVERS = ("daphne", "uvicorn", "granian", "gunicorn")


class Server:
    """``workers`` server processes on 127.0.0.1: daphne or uvicorn (ASGI, the product's
    ``atende.asgi``) accepting on one inherited listening socket, as a pre-fork deployment
    would; granian (ASGI) or gunicorn (WSGI, ``atende.wsgi``) with their own workers."""

    def __init__(
        self,
        workers: int,
        settings_module: str,
        public_base: bool,
        kind: str = "daphne",
        *,
        ingest: str = "inline",
        ingest_workers: int = 0,
        http_nice: int = 0,
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.sock.set_inheritable(True)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.kind = kind
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "PYTHONPATH": str(ROOT)}
        env["WEBHOOK_INGEST"] = ingest
        if public_base:
            env["PUBLIC_BASE_URL"] = self.url
        # Queued mode: the product's ingest workers (manage.py ingest_worker) beside it.
        self.env = env
        self.helpers: list[subprocess.Popen] = []
        self.start_ingest_workers(ingest_workers if ingest == "queued" else 0)
        bin_dir = str(Path(sys.executable).parent)
        fd = str(self.sock.fileno())

        def command(name: str) -> str:
            return shutil.which(name, path=bin_dir) or name

        if kind in ("granian", "gunicorn"):
            # These fork their own workers on a port: hand the port over.
            self.sock.close()
            if kind == "granian":
                argv = [
                    command("granian"),
                    "--interface",
                    "wsgi",
                    "--blocking-threads",
                    "1",
                    "--workers",
                    str(workers),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                    "atende.wsgi:application",
                ]
            else:
                argv = [
                    command("gunicorn"),
                    "-w",
                    str(workers),
                    "-b",
                    f"127.0.0.1:{self.port}",
                    "--log-level",
                    "warning",
                    "atende.wsgi:application",
                ]
            if http_nice:
                argv = ["nice", "-n", str(http_nice), *argv]
            self.processes = [
                subprocess.Popen(argv, env=env, cwd=str(ROOT))  # noqa: S603 - loopback only
            ]
            return
        if kind == "uvicorn":
            argv = [
                command("uvicorn"),
                "--fd",
                fd,
                "--log-level",
                "warning",
                "--no-access-log",
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "atende.asgi:application",
            ]
        else:
            argv = [command("daphne"), "--fd", fd, "-v", "0", "atende.asgi:application"]
        self.processes = [
            subprocess.Popen(  # noqa: S603 - fixed argv, loopback only
                argv, pass_fds=(self.sock.fileno(),), env=env, cwd=str(ROOT)
            )
            for _ in range(workers)
        ]

    def start_ingest_workers(self, count: int) -> None:
        self.helpers += [
            subprocess.Popen(
                [sys.executable, "manage.py", "ingest_worker"],
                env=self.env,
                cwd=str(ROOT),
                stdout=subprocess.DEVNULL,
            )
            for _ in range(count)
        ]

    def pause_ingest(self, paused: bool) -> None:
        """Stop (SIGSTOP) or resume the ingest workers: --ingest-later times them alone,
        already started."""
        for process in self.helpers:
            process.send_signal(signal.SIGSTOP if paused else signal.SIGCONT)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"{self.kind} exited during start-up")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status < 500:
                        # Warm every worker (imports, DB connection) before timing.
                        for _ in range(4 * len(self.processes)):
                            urllib.request.urlopen(f"{self.url}/healthz", timeout=5).read()  # noqa: S310
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.kind} did not become ready")

    def _pids(self) -> list[int]:
        """The server processes and their children (granian/gunicorn workers), and the
        ingest workers."""
        pids = [p.pid for p in self.processes]
        for pid in list(pids):
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            pids.extend(int(c) for c in children)
        return pids + [p.pid for p in self.helpers]

    def cpu_seconds(self) -> float:
        """User+system CPU the server processes used so far (Linux /proc), or NaN."""
        total = 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        for process in self._pids():
            try:
                fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return float("nan")
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def stop(self) -> None:
        for process in self.processes + self.helpers:
            process.terminate()
        for process in self.processes + self.helpers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.kind not in ("granian", "gunicorn"):
            self.sock.close()


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> float:
    """User+system CPU of every postgres process so far (including exited backends is
    not possible: the server's backends are pooled for the run, so they stay), or NaN."""
    total = 0.0
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return float("nan")
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
                continue
            total += _cpu_of(pid)
        except OSError:
            continue
    return total


# --- the load -----------------------------------------------------------------------


async def drive(
    base_url: str, requests: list[Request], concurrency: int, timeout: float, label: str
) -> RunResult:
    import aiohttp

    queue: asyncio.Queue[Request] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    result = RunResult(label=label, sent=0, seconds=0.0, latencies_ms=[])
    deadline = time.monotonic() + timeout
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    client_timeout = aiohttp.ClientTimeout(total=30)

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            try:
                async with session.post(
                    f"{base_url}{request.path}", data=request.body, headers=request.headers
                ) as response:
                    text = await response.read()
                    result.latencies_ms.append((time.perf_counter() - started) * 1000)
                    result.codes[response.status] += 1
                    if response.content_type == "application/json":
                        result.statuses[json.loads(text).get("status", "?")] += 1
                    else:
                        result.statuses["twiml"] += 1
            except (aiohttp.ClientError, TimeoutError):
                result.errors += 1
            result.sent += 1

    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        began = time.perf_counter()
        result.started_at = time.time()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - began
    return result


# --- checks -------------------------------------------------------------------------


def check_product(company: Any, expected: set[tuple[str, str]]) -> dict[str, int]:
    from conversations.models import Message
    from integrations.models import WebhookEvent

    rows = Counter(
        Message.objects.filter(company=company).values_list(
            "conversation__integration__kind", "external_id"
        )
    )
    stored = set(rows)
    events = Counter(WebhookEvent.objects.filter(company=company).values_list("status", flat=True))
    processing = sorted(
        ms
        for ms in WebhookEvent.objects.filter(company=company).values_list(
            "processing_ms", flat=True
        )
        if ms is not None
    )
    return {
        "processing_p50": int(processing[len(processing) // 2]) if processing else -1,
        "processing_p99": int(processing[int(len(processing) * 0.99) - 1]) if processing else -1,
        "stored": sum(rows.values()),
        "lost": len(expected - stored),
        "duplicated": sum(count - 1 for count in rows.values() if count > 1),
        "unexpected": len(stored - expected),
        **{f"events_{k}": v for k, v in events.items()},
    }


def wait_ingested(company: Any, result: RunResult, timeout: float) -> None:
    """Queued mode: wait until no event of the bench company waits any more, then set
    ``result.ingested_seconds`` from the last event's ``processed_at``."""
    from django.db.models import Max

    from integrations.models import WebhookEvent

    events = WebhookEvent.objects.filter(company=company)
    deadline = time.monotonic() + timeout
    while events.filter(status="received").exists():
        if time.monotonic() > deadline:
            print("ingest did not finish in time: events still waiting", flush=True)
            break
        time.sleep(0.02)
    last = events.aggregate(last=Max("processed_at"))["last"]
    if last is not None:
        result.ingested_seconds = max(last.timestamp() - result.started_at, result.seconds)


def report(result: RunResult, stored_messages: int) -> str:
    # Messages/s counts a message when it is in the database with its ticket: for queued
    # ingest, until the last one was ingested (not only acknowledged).
    seconds = result.seconds
    if result.ingested_seconds == result.ingested_seconds:  # not NaN
        seconds = result.ingested_seconds
    rate = stored_messages / seconds if seconds else 0.0
    ingested = (
        f"all ingested after {seconds:.2f} s -> {rate:.0f} messages/s "
        if stored_messages
        else "nothing ingested yet -> "
    )
    return (
        f"{result.label}: {result.sent} requests acknowledged in {result.seconds:.2f} s, "
        f"{ingested}({result.sent / result.seconds:.0f} requests/s), "
        f"ack latency p50 {result.percentile(50):.1f} ms, p99 {result.percentile(99):.1f} ms, "
        f"max {max(result.latencies_ms or [0]):.1f} ms; HTTP {dict(result.codes)}; "
        f"answers {dict(result.statuses)}; transport errors {result.errors}; "
        f"server CPU {result.server_cpu_seconds * 1000 / max(result.sent, 1):.1f} ms/request"
        f" (PostgreSQL {result.database_cpu_seconds * 1000 / max(result.sent, 1):.1f}, "
        f"bench client {result.client_cpu_seconds * 1000 / max(result.sent, 1):.1f})"
    )


def run_baseline(args: argparse.Namespace, requests: list[Request]) -> tuple[RunResult, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MINIMAL_TABLE} "
            "(id bigserial PRIMARY KEY, kind text NOT NULL, body bytea NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor.execute(f"TRUNCATE {MINIMAL_TABLE}")
    server = Server(args.workers, "bench.minimal_settings", public_base=False, kind=args.server)
    try:
        server.wait_ready()
        cpu_before, db_before, client_before = (
            server.cpu_seconds(),
            database_cpu_seconds(),
            time.process_time(),
        )
        result = asyncio.run(
            drive(server.url, requests, args.concurrency, args.timeout, "minimal view (1 INSERT)")
        )
        result.server_cpu_seconds = server.cpu_seconds() - cpu_before
        result.database_cpu_seconds = database_cpu_seconds() - db_before
        result.client_cpu_seconds = time.process_time() - client_before
    finally:
        server.stop()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {MINIMAL_TABLE}")  # noqa: S608
        rows = int(cursor.fetchone()[0])
        cursor.execute(f"DROP TABLE {MINIMAL_TABLE}")
    return result, rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--server", choices=SERVERS, default="granian")
    parser.add_argument(
        "--ingest",
        choices=("queued", "inline"),
        default="queued",
        help="WEBHOOK_INGEST of the server (default queued, the PostgreSQL default)",
    )
    parser.add_argument(
        "--ingest-workers", type=int, default=1, help="manage.py ingest_worker processes"
    )
    parser.add_argument(
        "--ingest-later",
        action="store_true",
        help="queued: send every request first while the (started) ingest workers are "
        "stopped, then resume them and time them alone",
    )
    parser.add_argument(
        "--http-nice",
        type=int,
        default=0,
        help="run the HTTP workers (granian/gunicorn) under nice N: on a machine shared with "
        "the ingest workers, the stored events' ingest goes first",
    )
    parser.add_argument("--baseline-only", action="store_true", help="only the minimal view")
    parser.add_argument("--twilio-share", type=float, default=0.2)
    parser.add_argument("--duplicates", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=300, help="stop sending after N s")
    parser.add_argument("--url", help="target a running server (same DATABASE_URL) instead")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway company")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.url and not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        sys.exit("--url must be a loopback address")

    setup_django()
    vacuum_write_path()
    tag = secrets.token_hex(4)
    company, chatwoot, twilio, keys = create_tenant(tag)
    server: Server | None = None
    try:
        if args.baseline_only:
            requests, _ = build_load(args, chatwoot, twilio, keys, "http://127.0.0.1")
            baseline, rows = run_baseline(args, requests)
            print(report(baseline, rows))
            return 0 if baseline.errors == 0 and rows == len(requests) else 1
        if args.url:
            base_url = args.url.rstrip("/")
        else:
            server = Server(
                args.workers,
                "atende.settings",
                public_base=True,
                kind=args.server,
                ingest=args.ingest,
                ingest_workers=args.ingest_workers,
                http_nice=args.http_nice,
            )
            base_url = server.url
            server.wait_ready()
            if args.ingest_later:
                time.sleep(3)  # the ingest workers load and LISTEN, then wait stopped
                server.pause_ingest(True)
        requests, expected = build_load(args, chatwoot, twilio, keys, base_url)
        print(
            f"bench: {len(expected)} messages + {len(requests) - len(expected)} repeated "
            f"deliveries, concurrency {args.concurrency}, "
            f"{'server ' + base_url if args.url else f'{args.workers} {args.server} worker(s)'}"
            f", {args.ingest} ingest"
            + (f" ({args.ingest_workers} ingest worker(s))" if args.ingest == "queued" else ""),
            flush=True,
        )
        cpu_before = server.cpu_seconds() if server is not None else float("nan")
        db_before, client_before = database_cpu_seconds(), time.process_time()
        result = asyncio.run(drive(base_url, requests, args.concurrency, args.timeout, "atende"))
        result.client_cpu_seconds = time.process_time() - client_before
        if args.ingest_later and server is not None:
            # --ingest-later: the requests first, alone (the ingest workers are stopped);
            # then the ingest workers alone.
            result.database_cpu_seconds = database_cpu_seconds() - db_before
            result.server_cpu_seconds = server.cpu_seconds() - cpu_before
            print(report(result, 0))
            time.sleep(1)
            waiting = len(requests)
            cpu_before, db_before = server.cpu_seconds(), database_cpu_seconds()
            began = time.time()
            server.pause_ingest(False)
            drained = RunResult("ingest", waiting, 0.0, [], started_at=began)
            wait_ingested(company, drained, args.timeout)
            seconds = drained.ingested_seconds
            ingest_cpu = (server.cpu_seconds() - cpu_before) * 1000 / waiting
            db_cpu = (database_cpu_seconds() - db_before) * 1000 / waiting
            print(
                f"ingest alone: {waiting} stored events ingested in {seconds:.2f} s "
                f"-> {waiting / seconds:.0f} events/s; "
                f"CPU {ingest_cpu:.1f} ms/event in the ingest worker(s), "
                f"PostgreSQL {db_cpu:.1f} ms/event"
            )
            server.stop()
            server = None
            checks = check_product(company, expected)
            print(
                f"database: {checks['stored']} messages stored, lost {checks['lost']}, "
                f"duplicated {checks['duplicated']}, unexpected {checks['unexpected']}"
            )
            return 0 if checks["lost"] == 0 and checks["duplicated"] == 0 else 1
        acknowledge_only = args.ingest == "queued" and args.ingest_workers == 0 and not args.url
        if acknowledge_only:
            # --ingest-workers 0: the requests alone (nothing ingests the stored events)
            result.database_cpu_seconds = database_cpu_seconds() - db_before
            if server is not None:
                result.server_cpu_seconds = server.cpu_seconds() - cpu_before
            print(report(result, 0))
            print("acknowledgements only (--ingest-workers 0): the events were left waiting")
            return 0 if result.errors == 0 else 1
        if args.ingest == "queued" or args.url:
            wait_ingested(company, result, args.timeout)
        result.database_cpu_seconds = database_cpu_seconds() - db_before
        if server is not None:
            result.server_cpu_seconds = server.cpu_seconds() - cpu_before
            server.stop()
            server = None
        checks = check_product(company, expected)
        print(report(result, checks["stored"] - checks["duplicated"]))
        print(
            f"database: {checks['stored']} messages stored, lost {checks['lost']}, "
            f"duplicated {checks['duplicated']}, unexpected {checks['unexpected']}; events "
            + ", ".join(
                f"{k[7:]} {v}" for k, v in sorted(checks.items()) if k.startswith("events_")
            )
            + f"; {'reception-to-ingest' if args.ingest == 'queued' else 'in-view processing'}"
            f" p50 {checks['processing_p50']} ms, p99 {checks['processing_p99']} ms"
        )
        ok = checks["lost"] == 0 and checks["duplicated"] == 0 and result.errors == 0
        if not args.no_baseline and not args.url:
            baseline, rows = run_baseline(args, requests)
            print(report(baseline, rows))
            ratio = (result.sent / result.seconds) / (baseline.sent / baseline.seconds)
            print(f"ratio: atende handles {ratio:.0%} of the minimal view's request rate")
        return 0 if ok else 1
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            company.delete()


if __name__ == "__main__":
    raise SystemExit(main())
