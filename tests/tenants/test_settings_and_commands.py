"""Settings refuse unsafe production values; check --deploy is clean; commands work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tenants.models import Company, Membership

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "Xy9-" * 10,
    "ALLOWED_HOSTS": "helpdesk.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://helpdesk.example.com",
    "ATENDE_ENCRYPTION_KEYS": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
    "SECURE_HSTS_PRELOAD": "1",
    "EMAIL_HOST": "smtp.example.com",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_values() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "ATENDE_ENCRYPTION_KEYS"])
def test_debug_off_refuses_to_start_without_real_values(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    env[missing] = ""
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_json(capsys) -> None:
    call_command("seed_demo", "--json")
    first = json.loads(capsys.readouterr().out)
    call_command("seed_demo", "--json")
    second = json.loads(capsys.readouterr().out)
    assert first["company"]["slug"] == second["company"]["slug"] == "demo"
    roles = sorted(u["role"] for u in second["users"])
    assert roles == ["admin", "agent", "agent", "supervisor"]
    assert Company.objects.filter(slug="demo").count() == 1
    assert Membership.objects.filter(company__slug="demo").count() == 4
    # Sample traffic went through the ingest pipeline once, not twice.
    from conversations.models import Conversation, Message
    from tickets.models import Ticket

    assert second["sample_conversations"] == 5
    assert Conversation.objects.filter(company__slug="demo").count() == 5
    assert Message.objects.filter(company__slug="demo").count() == 7
    assert Ticket.objects.filter(company__slug="demo", status="pending").count() == 5
    assert Conversation.objects.filter(company__slug="demo", is_group=True).count() == 1
    from django.test import Client

    user = second["users"][0]
    assert Client().login(email=user["email"], password=user["password"])


@pytest.mark.django_db
def test_createcompany_creates_a_company_with_its_admin() -> None:
    call_command(
        "createcompany", "Padaria Sol", "--admin-email", "dono@sol.test", "--language", "en"
    )
    company = Company.objects.get(slug="padaria-sol")
    assert company.language == "en" and company.timezone == "America/Sao_Paulo"
    assert Membership.objects.get(company=company).role == "admin"
