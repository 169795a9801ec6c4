"""The web server: uvicorn serving ``atende.asgi`` (HTTP and websockets), tuned once here
for ``make run`` (runall), the Docker image and docker-compose.

uvicorn with uvloop, httptools and the sans-I/O websockets protocol: on this project's
benchmarks it forwards real-time events and answers webhooks several times faster than
daphne (bench/README.md). ``--workers`` > 1 forks that many processes on one socket
(``WEB_WORKERS``); events reach every process through the Redis channel layer.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


def uvicorn_argv(host: str, port: str | int, workers: int | str = 1) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        str(host),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "websockets-sansio",
        # Behind a proxy: trust X-Forwarded-* from FORWARDED_ALLOW_IPS (uvicorn's own
        # variable; 127.0.0.1 unless set).
        "--proxy-headers",
        # Requests are logged by the app (JSON, with request id); no second access log.
        "--no-access-log",
        "--log-level",
        os.environ.get("UVICORN_LOG_LEVEL", "info"),
        "atende.asgi:application",
    ]


class Command(BaseCommand):
    help = "Serve HTTP and websockets with uvicorn (the production web server)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("ATENDE_HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("ATENDE_PORT", "8000"))
        parser.add_argument("--workers", default=os.environ.get("WEB_WORKERS", "1"))

    def handle(self, *args: Any, **opts: Any) -> None:
        argv = uvicorn_argv(opts["host"], opts["port"], opts["workers"])
        os.execv(argv[0], argv)  # noqa: S606 - our own interpreter, fixed arguments
