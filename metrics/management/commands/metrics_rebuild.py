"""Rebuild the metrics roll-ups from the source rows (docs/metrics.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.services import business_hours_recompute, rollups_rebuild
from tenants.models import Company


class Command(BaseCommand):
    help = (
        "Rebuild the metrics roll-ups (message volumes, active contacts, agent tickets, "
        "daily and weekly response-time histograms, daily and weekly ticket figures) from "
        "the stored rows; with --business-hours, first recompute the response times' "
        "business-hours seconds with the current hours."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", action="append", default=[], help="slug (repeatable)")
        parser.add_argument("--since", default="", help="first local day, YYYY-MM-DD")
        parser.add_argument(
            "--business-hours",
            action="store_true",
            help="recompute business-hours seconds with the hours in force now",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            since = date.fromisoformat(opts["since"]) if opts["since"] else None
        except ValueError as exc:
            raise CommandError("--since must be a date (YYYY-MM-DD).") from exc
        companies = Company.objects.order_by("pk")
        if opts["company"]:
            companies = companies.filter(slug__in=opts["company"])
            missing = set(opts["company"]) - {c.slug for c in companies}
            if missing:
                raise CommandError(f"Unknown company: {', '.join(sorted(missing))}")
        for company in companies:
            if opts["business_hours"]:
                n = business_hours_recompute(company=company, since=since)
                self.stdout.write(f"{company.slug}: {n} response times recomputed")
            else:
                written = rollups_rebuild(company=company, since=since)
                summary = ", ".join(f"{k} {v}" for k, v in written.items())
                self.stdout.write(f"{company.slug}: {summary}")
