"""Real-time benchmark: webhook-to-browser latency and lost events, for both channel layers.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/realtime.py \
        [--clients 50] [--rate 100] [--duration 20] [--layers pubsub,core]

For each channel layer it starts daphne (loopback only) with ATENDE_CHANNEL_LAYER set,
connects N websocket clients (agents of the queue, JWT via ?token=), posts signed Chatwoot
webhooks at R per second for D seconds (open loop: the schedule does not wait for
answers), and measures, per client, the time from just before the POST to the arrival of
the matching ``message.created`` event. An event a client never receives (after a drain
of a few seconds) is lost. Everything runs on a throwaway company that is deleted at the
end. Results are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import multiprocessing
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atende.settings")

LAYERS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}
SECRET = "bench-" + secrets.token_hex(8)


@dataclass
class World:
    company_id: int
    slug: str
    webhook_path: str
    tokens: list[str]
    ticket_id: int


@dataclass
class Result:
    layer: str
    sent: int = 0
    http_errors: int = 0
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    expected: int = 0
    http_ms: list[float] = field(default_factory=list)
    # webhook source: each event's reception (the request) to its ingest, as stored
    # (WebhookEvent.processing_ms): the share of the latency before the publish
    ingest_ms: list[float] = field(default_factory=list)
    started_wall: float = 0.0
    # --timeline: (seconds since the first send, latencies of that event over the clients)
    per_event: list[tuple[float, list[float]]] = field(default_factory=list)
    t0: float = 0.0  # perf_counter of the first measured send
    http_by_event: dict[int, float] = field(default_factory=dict)


def setup_world(clients: int) -> World:
    import django

    from bench.ingest import production_env, vacuum_write_path

    production_env()
    django.setup()
    vacuum_write_path()
    from rest_framework_simplejwt.tokens import RefreshToken

    from integrations.models import Integration
    from tenants.models import Company, Membership, Role, User
    from tickets.models import Queue

    tag = secrets.token_hex(4)
    company = Company.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    queue = Queue.objects.create(company=company, name="Bench", is_default=True)
    users = User.objects.bulk_create(
        [
            User(email=f"bench-{tag}-{i}@bench.invalid", full_name=f"Agent {i}")
            for i in range(clients)
        ]
    )
    Membership.objects.bulk_create(
        [Membership(company=company, user=u, role=Role.AGENT) for u in users]
    )
    queue.members.add(*users)
    integration = Integration(company=company, kind="chatwoot", name="Bench")
    integration.set_secrets({"webhook_secret": SECRET})
    integration.save()
    from conversations.models import Contact, Conversation
    from tickets.models import Ticket

    # The ticket that --source publish announces changes of.
    contact = Contact.objects.create(company=company, name="Bench publish")
    conversation = Conversation.objects.create(
        company=company, integration=integration, contact=contact, external_id="bench-publish"
    )
    ticket = Ticket.objects.create(
        company=company, number=1, conversation=conversation, contact=contact, queue=queue
    )
    return World(
        company_id=company.pk,
        slug=company.slug,
        webhook_path=integration.webhook_path(),
        tokens=[str(RefreshToken.for_user(u).access_token) for u in users],
        ticket_id=ticket.pk,
    )


def teardown_world(world: World) -> None:
    from django.conf import settings

    from conversations import realtime
    from tenants.models import Company, User

    User.objects.filter(
        email__endswith="@bench.invalid", memberships__company_id=world.company_id
    ).delete()
    Company.objects.filter(pk=world.company_id).delete()
    client = realtime._redis()
    for key in client.scan_iter(f"{settings.REDIS_PREFIX}:rt:{world.company_id}:*"):
        client.delete(key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER = {
    "kind": "uvicorn",
    "workers": "1",
    "http": "same",
    "http_workers": "2",
    "ingest": "queued",
    "ingest_workers": "1",
}


def start_ingest_workers(layer: str) -> list[subprocess.Popen]:
    """Queued ingest (the PostgreSQL default): the product's ``manage.py ingest_worker``
    processes, which publish the events of what they ingest."""
    if SERVER["ingest"] != "queued":
        return []
    from django.conf import settings

    env = {**os.environ, "ATENDE_CHANNEL_LAYER": LAYERS[layer], "LOG_LEVEL": "WARNING"}
    log = open(settings.VAR_DIR / f"bench-ingest-{layer}.log", "wb")  # noqa: SIM115
    # BENCH_INGEST_PROFILE=/path: the (first) worker runs under cProfile, written there
    profile = os.environ.get("BENCH_INGEST_PROFILE")
    return [
        subprocess.Popen(  # noqa: S603 - our interpreter and script
            [
                sys.executable,
                *(["-m", "cProfile", "-o", profile] if profile and not n else []),
                "manage.py",
                "ingest_worker",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for n in range(int(SERVER["ingest_workers"]))
    ]


def server_argv(port: int) -> list[str]:
    """The ASGI server serving ``atende.asgi`` on 127.0.0.1:``port`` (``--server``): the
    product's own uvicorn command line (``manage.py serve``), or daphne."""
    if SERVER["kind"] == "daphne":
        return ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "atende.asgi:application"]
    from atende.management.commands.serve import uvicorn_argv

    return uvicorn_argv("127.0.0.1", port, SERVER["workers"])[1:]  # after the interpreter


def start_gunicorn(layer: str, port: int) -> subprocess.Popen:
    """WSGI workers (``--http-workers``) for the webhooks, same settings and layer."""
    from django.conf import settings

    env = {**os.environ, "ATENDE_CHANNEL_LAYER": LAYERS[layer], "LOG_LEVEL": "WARNING"}
    log = open(settings.VAR_DIR / f"bench-gunicorn-{layer}.log", "wb")  # noqa: SIM115
    if SERVER["http"] == "granian":
        argv = [
            str(Path(sys.executable).parent / "granian"),
            "--interface",
            "wsgi",
            "--blocking-threads",
            "1",
            "--workers",
            SERVER["http_workers"],
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "atende.wsgi:application",
        ]
    else:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            SERVER["http_workers"],
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "atende.wsgi:application",
        ]
    return subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        argv,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_daphne(layer: str, port: int) -> subprocess.Popen:
    # Production settings (bench.ingest.production_env, set before django.setup()).
    env = {
        **os.environ,
        "ATENDE_CHANNEL_LAYER": LAYERS[layer],
        "LOG_LEVEL": "WARNING",
        "UVICORN_LOG_LEVEL": "warning",
    }
    profile = os.environ.get("BENCH_PROFILE")  # a cProfile output path, to find hot spots
    # The server's log goes to a file: an unread pipe would fill up and stall the server.
    from django.conf import settings

    log = open(settings.VAR_DIR / f"bench-daphne-{layer}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [
            sys.executable,
            *(["-m", "cProfile", "-o", f"{profile}.{layer}"] if profile else []),
            *server_argv(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def webhook_body(run: str, i: int, conversations: int) -> bytes:
    conv = 10_000 + i % conversations
    contact = {
        "id": conv,
        "name": f"Bench contact {conv}",
        "phone_number": f"+55119{conv:08d}",
        "email": None,
        "identifier": None,
        "thumbnail": "",
        "type": "contact",
    }
    return json.dumps(
        {
            "event": "message_created",
            "id": int(run, 16) % 10**6 * 10**6 + i,
            "content": f"bench {run} {i}",
            "content_type": "text",
            "content_attributes": {},
            "message_type": "incoming",
            "private": False,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "account": {"id": 1, "name": "Bench"},
            "inbox": {"id": 1, "name": "Bench"},
            "sender": {k: v for k, v in contact.items() if k != "type"},
            "conversation": {"id": conv, "channel": "Channel::Api", "meta": {"sender": contact}},
        }
    ).encode()


def signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Chatwoot-Signature": f"sha256={digest}",
        "X-Chatwoot-Timestamp": ts,
    }


async def run_layer(layer: str, world: World, args: argparse.Namespace) -> Result:
    import aiohttp

    os.environ["WEBHOOK_INGEST"] = SERVER["ingest"]  # inherited by every server started
    port = free_port()
    daphne = start_daphne(layer, port)
    ingest_workers = start_ingest_workers(layer)
    base = f"http://127.0.0.1:{port}"
    # --http gunicorn: webhooks go to WSGI workers of their own (a deployment that routes
    # /webhooks/ apart from /ws/), events reach the websocket server through Redis.
    http_server = None
    post_base = base
    if SERVER["http"] in ("gunicorn", "granian"):
        http_port = free_port()
        http_server = start_gunicorn(layer, http_port)
        post_base = f"http://127.0.0.1:{http_port}"
    result = Result(layer=layer)
    run = secrets.token_hex(3)
    prefix = f"bench {run} "
    total = int(args.rate * args.duration)
    sent_at: dict[int, float] = {}
    received: list[dict[int, float]] = [{} for _ in world.tokens]
    try:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200), timeout=timeout
        ) as http:
            for _ in range(300):  # up to 60 s: a loaded machine imports slowly
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{base}/healthz") as r:
                        if r.status == 200 and post_base == base:
                            break
                    async with http.get(f"{post_base}/healthz") as r:
                        if r.status == 200:
                            break
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError(
                    "daphne did not start: see bench-daphne-<layer>.log in ATENDE_VAR_DIR"
                )

            print(
                f"{layer}: daphne up, connecting {len(world.tokens)} clients",
                file=sys.stderr,
                flush=True,
            )
            # The browsers live in --client-processes processes of their own: 50 sockets
            # receiving 5,000 frames a second in the load generator's process would
            # measure that process. perf_counter is CLOCK_MONOTONIC: comparable across
            # processes on one machine.
            urls = [
                f"ws://127.0.0.1:{port}/ws/companies/{world.slug}/?token={token}"
                for token in world.tokens
            ]
            ctx = multiprocessing.get_context("fork")
            stop = ctx.Event()
            clients = []
            for k in range(args.client_processes):
                mine = urls[k :: args.client_processes]
                ready = ctx.Event()
                parent, child = ctx.Pipe()
                target = raw_client_process if args.client == "raw" else aiohttp_client_process
                proc = ctx.Process(target=target, args=(mine, prefix, ready, stop, child))
                proc.start()
                clients.append((proc, ready, parent, k))
            for _proc, ready, _parent, _k in clients:
                if not await asyncio.to_thread(ready.wait, 60):
                    raise RuntimeError("websocket clients did not connect")

            async def collect() -> None:
                stop.set()
                for _proc, _ready, parent, k in clients:
                    parts = await asyncio.to_thread(parent.recv)
                    for j, per_client in enumerate(parts):
                        received[k + j * args.client_processes] = per_client
                for proc, _ready, _parent, _k in clients:
                    proc.join(timeout=10)

            print(
                f"{layer}: clients connected, posting {total} webhooks", file=sys.stderr, flush=True
            )

            async def post(i: int) -> None:
                body = webhook_body(run, i, args.conversations)
                headers = signed(body)
                sent_at[i] = start = time.perf_counter()
                try:
                    async with http.post(
                        post_base + world.webhook_path, data=body, headers=headers
                    ) as r:
                        await r.read()
                        if r.status != 200:
                            result.http_errors += 1
                except (aiohttp.ClientError, TimeoutError):
                    result.http_errors += 1
                result.http_ms.append((time.perf_counter() - start) * 1000)
                result.http_by_event[i] = result.http_ms[-1]

            # Warm-up (not measured): first requests pay imports, template and query caches.
            for i in range(args.warmup):
                body = webhook_body("ffffff", i, args.conversations)
                async with http.post(
                    post_base + world.webhook_path, data=body, headers=signed(body)
                ) as r:
                    await r.read()
            await asyncio.sleep(1)

            if args.source == "publish":
                await asyncio.to_thread(publish_all, world, args, prefix, total, sent_at)
                await asyncio.sleep(args.drain)
                await collect()
                return _finish(result, total, world, sent_at, received)

            posts = []
            result.started_wall = time.time()
            t0 = time.perf_counter()
            for i in range(total):
                delay = t0 + i / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                posts.append(asyncio.create_task(post(i)))
            await asyncio.gather(*posts)
            await asyncio.sleep(args.drain)
            await collect()
    finally:
        for process in ingest_workers:
            process.terminate()
            process.wait(timeout=10)
        if http_server is not None:
            http_server.terminate()
            http_server.wait(timeout=10)
        daphne.send_signal(__import__("signal").SIGINT)
        try:
            daphne.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daphne.kill()

    return _finish(result, total, world, sent_at, received)


def aiohttp_client_process(urls: list[str], prefix: str, ready: Any, stop: Any, conn: Any) -> None:
    """``--client aiohttp``: a process of browsers: connect, signal ready, record when
    each marked event arrives until told to stop, send back one {event number: arrival
    time} per socket."""
    import aiohttp

    async def main() -> list[dict[int, float]]:
        received: list[dict[int, float]] = [{} for _ in urls]
        # Found in the raw text: no JSON decoding of every frame.
        marker = re.compile(re.escape(prefix) + r"(\d+)")
        async with aiohttp.ClientSession() as http:
            sockets = []
            for url in urls:
                ws = await http.ws_connect(url)
                hello = await ws.receive_json(timeout=30)
                assert hello["type"] == "hello", hello
                sockets.append(ws)

            async def listen(n: int, ws: Any) -> None:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    now = time.perf_counter()
                    data = msg.data
                    if '"message.created"' not in data and '"bench"' not in data:
                        continue
                    found = marker.search(data)
                    if found:
                        received[n].setdefault(int(found.group(1)), now)

            listeners = [asyncio.create_task(listen(n, ws)) for n, ws in enumerate(sockets)]
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)
            for task in listeners:
                task.cancel()
            for ws in sockets:
                await ws.close()
        return received

    conn.send(asyncio.run(main()))


class _Socket(asyncio.Protocol):
    """One browser for ``--client raw``: an RFC 6455 client that does no more than a page
    needs here (the upgrade, unmasked text frames from the server, fragments, answering
    pings and the close). It looks for the bench marker in each whole text frame's bytes
    and records when the data that completed the frame arrived."""

    def __init__(self, request: bytes, marker: re.Pattern[bytes], seen: dict[int, float]) -> None:
        self.request, self.marker, self.seen = request, marker, seen
        self.buffer = bytearray()
        self.fragments = bytearray()
        self.upgraded = False
        self.hello: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.hello.done():
            self.hello.set_exception(ConnectionError(f"websocket closed before hello: {exc}"))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.hello.set_exception(
                    ConnectionError(bytes(buffer[:200]).decode(errors="replace"))
                )
                self.transport.close()
                return
            del buffer[: end + 4]
            self.upgraded = True
        while len(buffer) >= 2:
            fin, opcode, length = buffer[0] & 0x80, buffer[0] & 0x0F, buffer[1] & 0x7F
            start = 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4]), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10]), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 0x9:  # ping: a pong with the same data
                self._send(0xA, payload)
            elif opcode == 0x8:
                self.transport.close()
                return
            elif opcode in (0x0, 0x1):
                self.fragments += payload
                if fin:
                    self._frame(bytes(self.fragments), now)
                    self.fragments.clear()

    def _frame(self, text: bytes, now: float) -> None:
        if not self.hello.done():
            self.hello.set_result(b'"hello"' in text)
            return
        if b'"message.created"' not in text and b'"bench"' not in text:
            return
        found = self.marker.search(text)
        if found:
            self.seen.setdefault(int(found.group(1)), now)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head = bytes([0x80 | opcode, 0x80 | len(payload)])  # control frames: < 126 bytes
        self.transport.write(head + mask + masked)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send(0x8, (1000).to_bytes(2))
            self.transport.close()


def raw_client_process(urls: list[str], prefix: str, ready: Any, stop: Any, conn: Any) -> None:
    """``--client raw`` (the default): the browsers of ``aiohttp_client_process`` as
    ``_Socket`` protocols on uvloop. Fifty sockets receiving 5,000 frames a second share
    the two cores with the system under test: this client uses a fraction of aiohttp's
    CPU for the same frames (bench/README.md)."""
    import base64
    from urllib.parse import urlsplit

    import uvloop

    async def main() -> list[dict[int, float]]:
        received: list[dict[int, float]] = [{} for _ in urls]
        marker = re.compile(re.escape(prefix.encode()) + rb"(\d+)")
        loop = asyncio.get_running_loop()
        sockets = []
        for n, url in enumerate(urls):
            parts = urlsplit(url)
            key = base64.b64encode(os.urandom(16)).decode()
            request = (
                f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://{parts.netloc}\r\n\r\n"
            ).encode()
            _, protocol = await loop.create_connection(
                lambda r=request, s=received[n]: _Socket(r, marker, s),
                parts.hostname,
                parts.port,
            )
            assert await asyncio.wait_for(protocol.hello, 30), "no hello"
            sockets.append(protocol)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for protocol in sockets:
            protocol.close()
        return received

    conn.send(uvloop.run(main()))


def _finish(
    result: Result, total: int, world: World, sent_at: dict[int, float], received: list
) -> Result:
    result.sent = total
    result.expected = total * len(world.tokens)
    by_event: dict[int, list[float]] = {i: [] for i in sent_at}
    for per_client in received:
        for i, at in per_client.items():
            ms = (at - sent_at[i]) * 1000
            result.latencies.append(ms)
            by_event[i].append(ms)
        result.lost += sum(1 for i in range(total) if i not in per_client)
    t0 = result.t0 = min(sent_at.values(), default=0.0)
    result.per_event = [(sent_at[i] - t0, by_event[i]) for i in sorted(sent_at)]
    return result


def timeline(r: Result, width: float) -> str:
    """--timeline: the latency of the events sent in each window of the run, to tell a
    steady tail from a stall (one window holding every slow event)."""
    windows: dict[int, list[float]] = {}
    http: dict[int, list[float]] = {}
    for i, (at, values) in enumerate(r.per_event):
        windows.setdefault(int(at // width), []).extend(values)
        if i in r.http_by_event:
            http.setdefault(int(at // width), []).append(r.http_by_event[i])
    lines = [f"{r.layer:7} timeline (window {width:g} s, by send time):"]
    for k in sorted(windows):
        values = windows[k]
        lines.append(
            f"  {k * width:6.1f}s  p50={pct(values, 50):6.1f}ms  p99={pct(values, 99):6.1f}ms  "
            f"max={max(values, default=float('nan')):6.1f}ms  delivered={len(values)}  "
            f"http max={max(http.get(k, []), default=float('nan')):6.1f}ms"
        )
    return "\n".join(lines)


def gc_pauses(r: Result, path: Path, duration: float) -> str:
    """--gc-pauses: the collections over 3 ms that any process started by the bench (or the
    bench itself) made while events were being sent or awaited (bench/gc_pauses/)."""
    lines = [f"{r.layer:7} garbage collections over 3 ms during the run (s since the first send):"]
    if path.exists():
        for row in path.read_text().splitlines():
            pid, program, generation, started, ms = row.split("\t")
            at = float(started) - r.t0
            if 0 <= at <= duration + 3:
                lines.append(f"  {at:6.2f}s  {ms:>6} ms  gen {generation}  {program} ({pid})")
    if len(lines) == 1:
        lines.append("  none")
    return "\n".join(lines)


def ingest_times(result: Result, world: World) -> None:
    """The stored reception-to-ingest time of each webhook of the run (sync context)."""
    if not result.started_wall:
        return
    from datetime import UTC, datetime

    from integrations.models import WebhookEvent

    since = datetime.fromtimestamp(result.started_wall, tz=UTC)
    result.ingest_ms = [
        float(ms)
        for ms in WebhookEvent.objects.filter(
            company_id=world.company_id, received_at__gte=since, processing_ms__isnull=False
        ).values_list("processing_ms", flat=True)
    ]


def publish_all(
    world: World, args: argparse.Namespace, prefix: str, total: int, sent_at: dict[int, float]
) -> None:
    """--source publish: the services' publishing call itself, at the given rate, from this
    process (no HTTP, no ingest): what the channel layer and the consumers add."""
    from django.db import connections

    from conversations import realtime
    from tickets.models import Ticket

    ticket = Ticket.objects.get(pk=world.ticket_id)
    t0 = time.perf_counter()
    for i in range(total):
        delay = t0 + i / args.rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent_at[i] = time.perf_counter()
        realtime.ticket_changed(ticket, "ticket.updated", bench=f"{prefix}{i}")
    connections.close_all()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(r: Result, args: argparse.Namespace) -> str:
    mean = statistics.fmean(r.latencies) if r.latencies else float("nan")
    return (
        f"{r.layer:7} source={args.source} clients={args.clients} rate={args.rate}/s "
        f"duration={args.duration}s events={r.sent} http_errors={r.http_errors} "
        f"http p50={pct(r.http_ms, 50):.1f}ms "
        f"reception-to-ingest p50={pct(r.ingest_ms, 50):.1f}ms p99={pct(r.ingest_ms, 99):.1f}ms | "
        f"latency p50={pct(r.latencies, 50):.1f}ms p99={pct(r.latencies, 99):.1f}ms "
        f"max={max(r.latencies, default=float('nan')):.1f}ms mean={mean:.1f}ms | "
        f"delivered={len(r.latencies)}/{r.expected} lost={r.lost}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--server", choices=("uvicorn", "daphne"), default="uvicorn")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes")
    parser.add_argument(
        "--http",
        choices=("same", "gunicorn", "granian"),
        default="same",
        help="where webhooks go: the websocket server, or WSGI workers of their own",
    )
    parser.add_argument("--http-workers", type=int, default=2, help="WSGI processes")
    parser.add_argument(
        "--ingest",
        choices=("queued", "inline"),
        default="queued",
        help="WEBHOOK_INGEST of the servers (queued: with --ingest-workers ingest workers)",
    )
    parser.add_argument("--ingest-workers", type=int, default=1)
    parser.add_argument(
        "--client-processes", type=int, default=1, help="processes the websocket clients use"
    )
    parser.add_argument(
        "--client",
        choices=("raw", "aiohttp"),
        default="raw",
        help="websocket client: a minimal RFC 6455 one on uvloop (light), or aiohttp's",
    )
    parser.add_argument("--rate", type=float, default=100.0, help="webhooks per second")
    parser.add_argument(
        "--duration", type=float, default=20.0, help="seconds of load (capped at 60)"
    )
    parser.add_argument("--conversations", type=int, default=40, help="distinct conversations")
    parser.add_argument(
        "--source",
        choices=["webhook", "publish"],
        default="webhook",
        help="webhook: signed webhooks through ingest; publish: realtime.ticket_changed only",
    )
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured webhooks first")
    parser.add_argument("--drain", type=float, default=3.0, help="seconds to wait for late events")
    parser.add_argument("--layers", default="pubsub,core", help="comma-separated: pubsub, core")
    parser.add_argument(
        "--timeline",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also print p50/p99/max per window of this many seconds of the run",
    )
    parser.add_argument(
        "--gc-pauses",
        action="store_true",
        help="also print every garbage collection over 3 ms of every process during the run",
    )
    args = parser.parse_args()
    gc_log = None
    if args.gc_pauses:  # inherited by every process started from here on
        handle, name = tempfile.mkstemp(prefix="bench-gc-", suffix=".tsv")
        os.close(handle)
        gc_log = Path(name)
        os.environ["BENCH_GC_LOG"] = str(gc_log)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT / "bench" / "gc_pauses"), os.environ.get("PYTHONPATH")])
        )
    SERVER["kind"] = args.server
    SERVER["workers"] = str(args.workers)
    SERVER["http"] = args.http
    SERVER["http_workers"] = str(args.http_workers)
    SERVER["ingest"] = args.ingest
    SERVER["ingest_workers"] = str(args.ingest_workers)
    args.duration = min(args.duration, 60.0)
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: the bench uses the real services.")

    world = setup_world(args.clients)
    # The bench's own collector: a full pass over the Django it loaded took 250 ms in the
    # middle of a run (the sends and the clients stalled with it, measured as latency).
    # Frozen here, before the client processes fork, as the servers freeze theirs.
    from atende.handlers import freeze_startup_objects

    freeze_startup_objects()
    results = []
    try:
        for layer in [name.strip() for name in args.layers.split(",") if name.strip()]:
            if layer not in LAYERS:
                sys.exit(f"unknown layer {layer!r}: choose from {', '.join(LAYERS)}")
            result = asyncio.run(run_layer(layer, world, args))
            ingest_times(result, world)
            results.append(result)
            print(report(result, args), flush=True)
            if args.timeline > 0:
                print(timeline(result, args.timeline), flush=True)
            if gc_log is not None:
                print(gc_pauses(result, gc_log, args.duration), flush=True)
                gc_log.write_text("")  # the next layer's run starts from an empty log
    finally:
        teardown_world(world)

    def met(r: Result) -> bool:
        return pct(r.latencies, 50) < 20 and pct(r.latencies, 99) < 100 and r.lost == 0

    print(
        "target (p50 < 20 ms, p99 < 100 ms, 0 lost):",
        ", ".join(f"{r.layer} {'met' if met(r) else 'NOT met'}" for r in results),
    )


if __name__ == "__main__":
    main()
