"""A fake OpenAI-compatible server on loopback, for the real ``openai`` client.

Implements ``POST /v1/chat/completions`` (text and function tool calls) and
``POST /v1/audio/transcriptions`` (multipart), plus ``GET /media/<name>`` to serve audio
files. Records every request; latency, failures and scripted answers are configurable.

    with FakeOpenAI(api_key="sk-a") as fake:
        fake.queue_tool_call("reservation_create", {...})   # next chat answer
        fake.queue_text("Done!")                            # the one after
        ... OpenAI(base_url=fake.base_url, api_key="sk-a") ...
        fake.chat_requests[0]["messages"]

Unscripted chat answers echo the user messages after the last assistant turn
("Reply to: a | b | c"), so tests can see exactly what the model was given.
"""

from __future__ import annotations

import json
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    def __init__(self, *, api_key: str = "sk-test", latency: float = 0.0) -> None:
        self.api_key = api_key
        self.latency = latency
        self.fail_next = 0  # answer this many requests with fail_status
        self.fail_status = 500
        self.transcription_text = "quero reservar uma mesa"
        self.requests: list[dict[str, Any]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self._script: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # --- scripting ------------------------------------------------------------------

    def queue_text(self, text: str) -> None:
        self._script.append({"content": text})

    def queue_tool_call(self, name: str, arguments: dict[str, Any]) -> None:
        self._script.append({"tool": name, "arguments": arguments})

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests if r["path"] == "/v1/chat/completions"]

    @property
    def transcription_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/v1/audio/transcriptions"]

    # --- answers --------------------------------------------------------------------

    def _chat_answer(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            step = self._script.pop(0) if self._script else None
            number = len(self.chat_requests)
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "stop"
        if step and "tool" in step:
            message["tool_calls"] = [
                {
                    "id": f"call_{number}",
                    "type": "function",
                    "function": {"name": step["tool"], "arguments": json.dumps(step["arguments"])},
                }
            ]
            finish = "tool_calls"
        elif step:
            message["content"] = step["content"]
        else:
            turns = body.get("messages", [])
            last_assistant = max(
                (i for i, m in enumerate(turns) if m.get("role") == "assistant"), default=-1
            )
            users = [m["content"] for m in turns[last_assistant + 1 :] if m.get("role") == "user"]
            message["content"] = "Reply to: " + " | ".join(users)
        return {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self, status: int, payload: Any, content_type: str = "application/json"
            ) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                name = self.path.removeprefix("/media/")
                if self.path.startswith("/media/") and name in fake.media:
                    data, mime = fake.media[name]
                    self._send(200, data, mime)
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                record: dict[str, Any] = {
                    "path": self.path,
                    "authorization": self.headers.get("Authorization", ""),
                }
                if self.path == "/v1/audio/transcriptions":
                    record["form"] = _multipart(self.headers.get("Content-Type", ""), raw)
                else:
                    record["json"] = json.loads(raw or b"{}")
                with fake._lock:
                    fake.requests.append(record)
                    failing = fake.fail_next > 0
                    if failing:
                        fake.fail_next -= 1
                if fake.latency:
                    time.sleep(fake.latency)
                if record["authorization"] != f"Bearer {fake.api_key}":
                    self._send(401, {"error": {"message": "bad key", "type": "auth"}})
                elif failing:
                    self._send(fake.fail_status, {"error": {"message": "boom", "type": "server"}})
                elif self.path == "/v1/chat/completions":
                    self._send(200, fake._chat_answer(record["json"]))
                elif self.path == "/v1/audio/transcriptions":
                    self._send(200, {"text": fake.transcription_text})
                else:
                    self._send(404, {"error": {"message": "unknown path"}})

        return Handler


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename:
            fields[str(name)] = {
                "filename": filename,
                "size": len(payload),
                "content_type": part.get_content_type(),
            }
        else:
            fields[str(name)] = payload.decode()
    return fields
