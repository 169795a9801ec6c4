"""A small threaded HTTP server that records requests and can be told to fail."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, Mapping[str, Any] | list[Any] | str | None]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lower-case
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)


@dataclass
class _Failure:
    status: int
    body: Any
    times: int
    delay: float = 0.0


@dataclass
class _State:
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeServer:
    """Base class: subclasses implement ``answer(request) -> (status, json body)``.

    ``fail_next(status, times=n)`` makes the next n requests answer ``status`` with
    ``error_body(status)`` (or the body given); ``delay_next(seconds)`` stalls them, to
    exercise client timeouts. Every request is recorded in ``requests``, failed ones too.
    """

    def __init__(self) -> None:
        self._state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def do_PUT(self) -> None:
                fake._handle(self)

            def do_PATCH(self) -> None:
                fake._handle(self)

            def do_DELETE(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None, "start the fake first (use it as a context manager)"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """What to put in the integration's ``base_url`` setting."""
        return self.origin

    # --- control ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def fail_next(self, status: int, *, times: int = 1, body: Any = None) -> None:
        with self._state.lock:
            self._state.failures.append(_Failure(status, body, times))

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        """Answer the next requests normally, but only after ``seconds``."""
        with self._state.lock:
            self._state.failures.append(_Failure(0, None, times, delay=seconds))

    def reset(self) -> None:
        with self._state.lock:
            self._state.requests.clear()
            self._state.failures.clear()

    # --- to override ------------------------------------------------------------------

    def answer(self, request: RecordedRequest) -> Answer:
        return 404, {"error": "not found"}

    def error_body(self, status: int) -> Any:
        return {"error": f"fake failure {status}"}

    # --- plumbing ---------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        request = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        with self._state.lock:
            self._state.requests.append(request)
            failure = self._state.failures[0] if self._state.failures else None
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._state.failures.pop(0)
        if failure is not None and failure.delay:
            time.sleep(failure.delay)
            failure = None
        if failure is not None:
            status, payload = (
                failure.status,
                (failure.body if failure.body is not None else self.error_body(failure.status)),
            )
        else:
            status, payload = self.answer(request)
        data = (
            payload.encode()
            if isinstance(payload, str)
            else json.dumps(payload).encode()
            if payload is not None
            else b""
        )
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass
