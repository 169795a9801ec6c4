"""seed_demo step: turn the AI attendant on for the demo company when the environment
names an OpenAI-compatible server and key (OPENAI_BASE_URL, OPENAI_API_KEY, and
optionally OPENAI_MODEL). Without them the attendant stays off, and the output says so."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

from tenants.management.commands.seed_demo import seed_steps
from tenants.models import Company
from tickets.models import Queue

from .models import DEFAULT_MODEL, AISettings


def seed_ai(company: Company, out: dict[str, Any]) -> None:
    base_url, api_key = settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY
    if not (base_url and api_key):
        out["ai"] = {"enabled": False, "reason": "set OPENAI_BASE_URL and OPENAI_API_KEY"}
        return
    ai = AISettings.objects.filter(company=company).first() or AISettings(company=company)
    ai.enabled = True
    ai.base_url = base_url
    ai.model = os.environ.get("OPENAI_MODEL", "").strip() or ai.model or DEFAULT_MODEL
    ai.set_secret("api_key", api_key)
    if ai.handoff_queue_id is None:
        ai.handoff_queue = (
            Queue.objects.for_company(company).order_by("-is_default", "order", "name").first()
        )
    ai.save()
    out["ai"] = {"enabled": ai.is_active, "base_url": base_url, "model": ai.model}


if seed_ai not in seed_steps:
    seed_steps.append(seed_ai)
