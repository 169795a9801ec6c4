"""Quick replies: canned answers typed as ``/shortcut`` in the composer.

Company-wide replies (no owner) are managed by supervisors and admins; anyone manages
their personal ones. A personal reply hides a company-wide one with the same shortcut.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _

from tenants.models import Membership

from ..models import QuickReply
from ..selectors import quick_replies_for

__all__ = [
    "quick_replies_for",
    "quick_reply_create",
    "quick_reply_delete",
    "quick_reply_update",
]


def _shortcut(value: str) -> str:
    shortcut = slugify(str(value).lstrip("/"), allow_unicode=True)[:40]
    if not shortcut:
        raise ValidationError({"shortcut": _("A shortcut is required (letters, digits, -).")})
    return shortcut


def _content(value: str) -> str:
    content = str(value).strip()
    if not content:
        raise ValidationError({"content": _("The reply cannot be empty.")})
    if len(content) > 4000:
        raise ValidationError({"content": _("At most 4000 characters.")})
    return content


def can_manage(membership: Membership, reply: QuickReply) -> bool:
    if reply.company_id != membership.company_id:
        return False
    if reply.owner_id is None:
        return membership.is_supervisor
    return reply.owner_id == membership.user_id


def quick_reply_create(
    *, membership: Membership, shortcut: str, content: str, personal: bool = True
) -> QuickReply:
    if not personal and not membership.is_supervisor:
        raise PermissionDenied(_("Only supervisors and admins create company-wide replies."))
    reply = QuickReply(
        company_id=membership.company_id,
        owner=membership.user if personal else None,
        shortcut=_shortcut(shortcut),
        content=_content(content),
    )
    try:
        with transaction.atomic():
            reply.save()
    except IntegrityError:
        raise ValidationError({"shortcut": _("This shortcut is already in use.")}) from None
    return reply


def quick_reply_update(
    *,
    membership: Membership,
    reply: QuickReply,
    shortcut: str | None = None,
    content: str | None = None,
) -> QuickReply:
    if not can_manage(membership, reply):
        raise PermissionDenied(_("You cannot change this reply."))
    if shortcut is not None:
        reply.shortcut = _shortcut(shortcut)
    if content is not None:
        reply.content = _content(content)
    try:
        with transaction.atomic():
            reply.save(update_fields=["shortcut", "content", "updated_at"])
    except IntegrityError:
        raise ValidationError({"shortcut": _("This shortcut is already in use.")}) from None
    return reply


def quick_reply_delete(*, membership: Membership, reply: QuickReply) -> None:
    if not can_manage(membership, reply):
        raise PermissionDenied(_("You cannot delete this reply."))
    reply.delete()


def quick_replies_manageable(membership: Membership) -> QuerySet[QuickReply]:
    """What the member may edit: their personal replies, plus company-wide ones for
    supervisors and admins."""
    qs = QuickReply.objects.for_company(membership.company_id)
    if membership.is_supervisor:
        return qs.filter(owner__isnull=True) | qs.filter(owner_id=membership.user_id)
    return qs.filter(owner_id=membership.user_id)


def render_quick_reply(reply: QuickReply, **values: Any) -> str:
    """Fill ``{name}``-style placeholders the composer knows (unknown ones stay)."""
    text = reply.content
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text
