"""seed_demo turns the attendant on only when an OpenAI-compatible server is configured."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from integrations.ai.models import AISettings

pytestmark = pytest.mark.django_db


def test_seed_demo_leaves_the_attendant_off_without_a_provider(settings, capsys) -> None:
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_API_KEY = ""
    call_command("seed_demo", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["ai"]["enabled"] is False
    assert not AISettings.objects.filter(enabled=True).exists()


def test_seed_demo_turns_the_attendant_on_with_the_environment_provider(settings, capsys) -> None:
    settings.OPENAI_BASE_URL = "http://127.0.0.1:11434/v1"
    settings.OPENAI_API_KEY = "sk-demo"
    call_command("seed_demo", "--json")
    capsys.readouterr()
    call_command("seed_demo", "--json")  # idempotent
    out = json.loads(capsys.readouterr().out)
    assert out["ai"] == {
        "enabled": True,
        "base_url": "http://127.0.0.1:11434/v1",
        "model": "gpt-4o-mini",
    }
    ai = AISettings.objects.get(company__slug="demo")
    assert ai.is_active and ai.api_key == "sk-demo" and ai.base_url == "http://127.0.0.1:11434/v1"
    assert AISettings.objects.count() == 1
