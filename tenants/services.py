"""Writes about companies and people. Every write goes through here."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .models import Company, Membership, Role, User


def company_create(
    *, name: str, slug: str = "", timezone: str = "America/Sao_Paulo", language: str = "pt-br"
) -> Company:
    slug = slugify(slug or name)[:60]
    if not slug:
        raise ValidationError({"slug": _("A slug is required.")})
    if Company.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": _("A company with this slug already exists.")})
    company = Company(name=name, slug=slug, timezone=timezone, language=language)
    company.full_clean()
    company.save()
    return company


def user_get_or_create(
    *, email: str, full_name: str = "", password: str | None = None
) -> tuple[User, bool]:
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user:
        return user, False
    return User.objects.create_user(email=email, password=password, full_name=full_name), True


@transaction.atomic
def member_add(
    *,
    company: Company,
    email: str,
    role: str,
    actor: Any = None,
    full_name: str = "",
    password: str | None = None,
) -> tuple[Membership, bool]:
    """Add a user (created if new, with no usable password until they reset it) to the
    company with ``role``. Re-adding a deactivated member reactivates them.
    Returns (membership, user_was_created)."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    user, created = user_get_or_create(email=email, full_name=full_name, password=password)
    membership, made = Membership.objects.get_or_create(
        company=company, user=user, defaults={"role": role}
    )
    if not made:
        membership.role = role
        membership.is_active = True
        membership.save(update_fields=["role", "is_active"])
    return membership, created


def _ensure_an_admin_remains(membership: Membership, *, new_role: str, active: bool) -> None:
    if membership.role == Role.ADMIN and (new_role != Role.ADMIN or not active):
        others = (
            Membership.objects.for_company(membership.company_id)
            .filter(role=Role.ADMIN, is_active=True)
            .exclude(pk=membership.pk)
        )
        if not others.exists():
            raise ValidationError(_("A company needs at least one active admin."))


@transaction.atomic
def member_update(
    *,
    membership: Membership,
    actor: Any = None,
    role: str | None = None,
    is_active: bool | None = None,
    max_open_tickets: int | None = None,
) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    new_role = role if role is not None else membership.role
    new_active = is_active if is_active is not None else membership.is_active
    if new_role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    _ensure_an_admin_remains(membership, new_role=new_role, active=new_active)
    changed = (new_role, new_active) != (membership.role, membership.is_active)
    membership.role = new_role
    membership.is_active = new_active
    if max_open_tickets is not None:
        membership.max_open_tickets = max_open_tickets
    membership.save(update_fields=["role", "is_active", "max_open_tickets"])
    if changed:
        from conversations import realtime

        # Their open sockets were subscribed for the old role: checked again (a
        # deactivated member is refused).
        realtime.access_changed(membership.company_id, [membership.user_id])
    return membership


def user_set_language(*, user: User, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


def user_set_sound(*, user: User, enabled: bool) -> None:
    """Remember whether the inbox plays a sound on new customer messages."""
    user.sound_enabled = enabled
    user.save(update_fields=["sound_enabled"])
