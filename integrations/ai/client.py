"""The OpenAI client for one company's settings (official SDK, any compatible server)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import openai
from openai import OpenAI

from .models import AISettings


class AIError(Exception):
    """A model, transcription or tool failure worth retrying (then the fallback)."""


def client_for(ai: AISettings) -> OpenAI:
    """A client bound to this company's provider and key -- never another company's
    (the key is part of the cache key, so clients are never shared across keys).

    The SDK's own retries are off: the Celery task owns the retry policy, so a slow
    provider cannot multiply the wait behind our back.
    """
    return _client(ai.api_key, ai.effective_base_url, float(ai.request_timeout_seconds))


@lru_cache(maxsize=64)
def _client(api_key: str, base_url: str | None, timeout: float) -> OpenAI:
    # Building a client (TLS context, connection pool) costs tens of milliseconds; a
    # worker reuses one per provider+key+timeout, with its kept-alive connections.
    return OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


@dataclass
class Usage:
    calls: int = 0
    latency_ms: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    tool_calls: list[str] = field(default_factory=list)

    def add(self, response: Any, elapsed: float) -> None:
        self.calls += 1
        self.latency_ms += int(elapsed * 1000)
        usage = getattr(response, "usage", None)
        if usage is not None:
            self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
            self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
            self.total_tokens += int(getattr(usage, "total_tokens", 0) or 0)


def chat(
    client: OpenAI, *, model: str, messages: list[dict], tools: list[dict], usage: Usage
) -> Any:
    """One chat-completions call; returns the first choice's message."""
    kwargs: dict[str, Any] = {"model": model, "messages": messages}
    if tools:
        kwargs["tools"] = tools
        kwargs["tool_choice"] = "auto"
    started = time.monotonic()
    try:
        response = client.chat.completions.create(**kwargs)
    except openai.OpenAIError as exc:
        raise AIError(f"model call failed: {exc.__class__.__name__}: {exc}") from exc
    usage.add(response, time.monotonic() - started)
    if not response.choices:
        raise AIError("model returned no choices")
    return response.choices[0].message


def transcribe(client: OpenAI, *, model: str, filename: str, data: bytes, mime_type: str) -> str:
    try:
        result = client.audio.transcriptions.create(
            model=model, file=(filename, data, mime_type or "application/octet-stream")
        )
    except openai.OpenAIError as exc:
        raise AIError(f"transcription failed: {exc.__class__.__name__}: {exc}") from exc
    return str(getattr(result, "text", "") or "")
