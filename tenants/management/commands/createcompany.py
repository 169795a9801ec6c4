from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants import services
from tenants.models import Role


class Command(BaseCommand):
    help = "Create a company, optionally with its first admin (invited by email)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--slug", default="")
        parser.add_argument("--timezone", default="America/Sao_Paulo")
        parser.add_argument("--language", default="pt-br", choices=["pt-br", "en"])
        parser.add_argument("--admin-email", default="")
        parser.add_argument("--admin-password", default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            company = services.company_create(
                name=opts["name"],
                slug=opts["slug"],
                timezone=opts["timezone"],
                language=opts["language"],
            )
            if opts["admin_email"]:
                services.member_add(
                    company=company,
                    email=opts["admin_email"],
                    role=Role.ADMIN,
                    password=opts["admin_password"],
                )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created company {company.name} ({company.slug})"))
