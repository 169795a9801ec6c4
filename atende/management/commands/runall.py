"""Run the whole stack in one terminal: uvicorn (HTTP + websockets), a Celery worker,
Celery beat, the webhook ingest worker (queued mode) and, when REDIS_URL is unset, the
embedded Redis. One Ctrl-C stops them all;
if any of them dies, the others are stopped too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from .embedded_redis import embedded_redis_args, redis_answers, wait_for_redis
from .serve import uvicorn_argv


class Command(BaseCommand):
    help = "Start web server, Celery worker and beat (and the embedded Redis) together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("ATENDE_HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("ATENDE_PORT", "8000"))
        parser.add_argument("--workers", default=os.environ.get("WEB_WORKERS", "1"))
        parser.add_argument("--concurrency", default=os.environ.get("CELERY_CONCURRENCY", "2"))
        parser.add_argument(
            "--seed-demo",
            action="store_true",
            help="seed the demo company when the database has none (after Redis is up)",
        )
        parser.add_argument(
            "--demo-traffic",
            action="store_true",
            help="also post sample customer messages to the demo company now and then",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        bin_dir = os.path.dirname(sys.executable)
        procs: list[tuple[str, subprocess.Popen]] = []

        def start(name: str, cmd: list[str]) -> None:
            procs.append((name, subprocess.Popen(cmd)))  # noqa: S603

        if settings.EMBEDDED_REDIS and not redis_answers(settings.REDIS_URL):
            start("redis", embedded_redis_args(daemonize=False))
            wait_for_redis(settings.REDIS_URL)
        if opts["seed_demo"]:
            # Seeding ingests sample messages whose follow-up tasks need the broker up.
            subprocess.run([sys.executable, "manage.py", "seed_demo", "--if-new"], check=True)
        start("web", uvicorn_argv(opts["host"], opts["port"], opts["workers"]))
        start(
            "worker",
            [
                os.path.join(bin_dir, "celery"),
                "-A",
                "atende",
                "worker",
                "-l",
                "info",
                "--concurrency",
                str(opts["concurrency"]),
                "-Q",
                "atende",
            ],
        )
        if settings.WEBHOOK_INGEST == "queued":
            start("ingest", [sys.executable, "manage.py", "ingest_worker"])
        start(
            "beat",
            [
                os.path.join(bin_dir, "celery"),
                "-A",
                "atende",
                "beat",
                "-l",
                "info",
                "-s",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
        )

        url = f"http://{opts['host']}:{opts['port']}"
        if opts["demo_traffic"]:
            start("traffic", [sys.executable, "manage.py", "demo_traffic", "--url", url])
        self.stdout.write(
            self.style.SUCCESS(f"\nAtende is running at {url}  (Ctrl-C stops everything)")
        )
        self.stdout.write(f"  API docs: {url}/api/docs/   admin: {url}/admin/")
        try:
            from tenants.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS

            self.stdout.write("  Demo logins (company 'demo'):")
            for email, _name, role in DEMO_USERS:
                self.stdout.write(f"    {role:<10} {email} / {DEMO_PASSWORD}")
        except ImportError:
            pass

        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in procs:
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping all.")
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            # Stop in reverse: web first, Redis last, so the worker can ack what it holds.
            for _name, proc in reversed(procs):
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + 15
            for _name, proc in reversed(procs):
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.stdout.write("Atende stopped.")
