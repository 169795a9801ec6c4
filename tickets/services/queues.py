"""Queues (sectors): create, update, members. Admins only (checked by the callers)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from conversations import realtime
from tenants.models import Company, Membership

from ..models import DistributionRule, Queue
from .hours import validate_hours

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
FIELDS = (
    "name",
    "color",
    "greeting",
    "distribution",
    "business_hours",
    "out_of_hours_message",
    "is_default",
    "order",
)


def _clean(company: Company, values: dict[str, Any], queue: Queue | None) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if k in FIELDS and v is not None}
    if "name" in out:
        out["name"] = " ".join(str(out["name"]).split())[:100]
        if not out["name"]:
            raise ValidationError({"name": _("A name is required.")})
        clash = Queue.objects.for_company(company).filter(name__iexact=out["name"])
        if queue is not None:
            clash = clash.exclude(pk=queue.pk)
        if clash.exists():
            raise ValidationError({"name": _("A queue with this name already exists.")})
    if "color" in out and not COLOR_RE.match(str(out["color"])):
        raise ValidationError({"color": _("Use a colour like #0f766e.")})
    if "distribution" in out and out["distribution"] not in DistributionRule.values:
        raise ValidationError({"distribution": _("Unknown distribution rule.")})
    if "business_hours" in out:
        out["business_hours"] = validate_hours(out["business_hours"])
    return out


def _set_members(queue: Queue, user_ids: Iterable[int]) -> None:
    ids = set(user_ids)
    valid = set(
        Membership.objects.for_company(queue.company_id)
        .filter(user_id__in=ids)
        .values_list("user_id", flat=True)
    )
    if ids - valid:
        raise ValidationError({"members": _("Members must belong to the company.")})
    before = set(queue.members.values_list("id", flat=True)) if queue.pk else set()
    queue.members.set(valid)
    # Those who joined or left hear the queue from their next connection: now.
    realtime.access_changed(queue.company_id, before ^ valid)


@transaction.atomic
def queue_create(
    *, company: Company, actor: Any, member_ids: Iterable[int] | None = None, **values: Any
) -> Queue:
    data = _clean(company, values, None)
    if "name" not in data:
        raise ValidationError({"name": _("A name is required.")})
    if data.get("is_default"):
        Queue.objects.for_company(company).update(is_default=False)
    queue = Queue.objects.create(company=company, **data)
    if member_ids is not None:
        _set_members(queue, member_ids)
    return queue


@transaction.atomic
def queue_update(
    *, queue: Queue, actor: Any, member_ids: Iterable[int] | None = None, **values: Any
) -> Queue:
    queue = Queue.objects.select_for_update().get(pk=queue.pk, company_id=queue.company_id)
    data = _clean(queue.company, values, queue)
    if data.get("is_default"):
        Queue.objects.for_company(queue.company_id).exclude(pk=queue.pk).update(is_default=False)
    for key, value in data.items():
        setattr(queue, key, value)
    if data:
        queue.save(update_fields=list(data))
    if member_ids is not None:
        _set_members(queue, member_ids)
    if queue.distribution != DistributionRule.MANUAL:
        from .routing import schedule_route_queue

        schedule_route_queue(queue.company_id, queue.pk)
    return queue


@transaction.atomic
def queue_delete(*, queue: Queue, actor: Any) -> None:
    """Tickets of the queue keep existing without a queue (supervisors triage them)."""
    members = list(queue.members.values_list("id", flat=True))
    Queue.objects.filter(pk=queue.pk, company_id=queue.company_id).delete()
    realtime.access_changed(queue.company_id, members)


def company_set_hours(
    *, company: Company, actor: Any, business_hours: Any, out_of_hours_message: str
) -> Company:
    company.business_hours = validate_hours(business_hours)
    company.out_of_hours_message = out_of_hours_message.strip()
    company.save(update_fields=["business_hours", "out_of_hours_message"])
    return company
