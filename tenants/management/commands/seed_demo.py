"""Seed a demo company with people (idempotent). Later features extend ``seed_steps``.

``--json`` prints what exists (company slug, users with password and role, ...) so
scripts and benchmarks can use it. ``--if-new`` seeds only when the database has no
company yet (used by ``make run``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from tenants import services
from tenants.models import Company, Role

DEMO_SLUG = "demo"
DEMO_PASSWORD = os.environ.get("ATENDE_DEMO_PASSWORD", "atende-demo-2026")
DEMO_USERS = [
    ("admin@demo.atende.local", "Ana Admin", Role.ADMIN),
    ("supervisor@demo.atende.local", "Sergio Supervisor", Role.SUPERVISOR),
    ("agent1@demo.atende.local", "Alice Agent", Role.AGENT),
    ("agent2@demo.atende.local", "Bruno Agent", Role.AGENT),
]

# Other apps append functions (company, output_dict) -> None that seed their own data.
seed_steps: list[Callable[[Company, dict[str, Any]], None]] = []


def seed_people(company: Company, out: dict[str, Any]) -> None:
    out["users"] = []
    for email, name, role in DEMO_USERS:
        membership, _created = services.member_add(
            company=company, email=email, role=role, full_name=name
        )
        user = membership.user
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        out["users"].append({"email": email, "password": DEMO_PASSWORD, "role": role, "name": name})


def _load_app_steps() -> None:
    # Import each app's demo module so it can register its step (no-op if absent).
    import importlib

    for app in ("integrations", "integrations.ai", "conversations", "tickets", "metrics"):
        try:
            importlib.import_module(f"{app}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.demo":
                raise


class Command(BaseCommand):
    help = "Create the demo company, its people and sample data (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print what was seeded as JSON")
        parser.add_argument("--if-new", action="store_true", help="only on an empty database")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["if_new"] and Company.objects.exists():
            self.stdout.write("Database already has companies; demo not seeded.")
            return
        _load_app_steps()
        out: dict[str, Any] = {}
        with transaction.atomic():
            company = Company.objects.filter(slug=DEMO_SLUG).first() or services.company_create(
                name="Demo Atende", slug=DEMO_SLUG
            )
            out["company"] = {"slug": company.slug, "name": company.name, "id": company.pk}
            seed_people(company, out)
            for step in seed_steps:
                step(company, out)
        if opts["json"]:
            self.stdout.write(json.dumps(out, indent=2, default=str))
            return
        self.stdout.write(self.style.SUCCESS(f"Demo company '{company.slug}' is ready. Logins:"))
        for user in out["users"]:
            self.stdout.write(f"  {user['role']:<10} {user['email']}  /  {user['password']}")
