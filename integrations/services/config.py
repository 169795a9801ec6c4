"""Creating and changing integrations (staff page, API). Secrets are write-only: callers
pass new values, never read old ones; "" keeps the stored secret."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from integrations import kinds
from integrations.models import Integration, IntegrationKind, LogLevel
from integrations.services.logs import log_entry
from tenants.models import Company


def _log(integration: Integration, text: str, actor: Any, changed: Iterable[str]) -> None:
    # Names only: a secret's value never reaches a log.
    fields: dict[str, Any] = {
        "integration": integration,
        "level": LogLevel.INFO,
        "source": "config",
        "message": text,
        "context": {"actor": getattr(actor, "email", None), "changed": sorted(changed)},
    }
    log_entry(company=integration.company_id, **fields)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the integration a name.")})
    if len(name) > 120:
        raise ValidationError({"name": _("At most 120 characters.")})
    return name


def integration_create(
    *,
    company: Company,
    kind: str,
    name: str,
    settings: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    actor: Any = None,
) -> Integration:
    if kind not in IntegrationKind.values:
        raise ValidationError({"kind": _("Unknown integration kind.")})
    clean_settings = {k: v for k, v in kinds.clean_settings(kind, settings or {}).items() if v}
    clean_secrets = kinds.clean_secrets(kind, secrets or {})
    with transaction.atomic():
        integration = Integration(
            company=company, kind=kind, name=_clean_name(name), settings=clean_settings
        )
        integration.set_secrets(clean_secrets)
        integration.save()
        _log(
            integration,
            "integration created",
            actor,
            [*clean_settings, *(k for k, v in clean_secrets.items() if v)],
        )
    return integration


def integration_update(
    *,
    integration: Integration,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    clear_secrets: Iterable[str] = (),
    is_active: bool | None = None,
    actor: Any = None,
) -> Integration:
    """Change what is given: ``settings`` entries replace (``""`` removes), ``secrets``
    entries replace when non-empty, ``clear_secrets`` names secrets to remove."""
    changed: list[str] = []
    with transaction.atomic():
        integration = Integration.objects.select_for_update().get(pk=integration.pk)
        if name is not None and name.strip() != integration.name:
            integration.name = _clean_name(name)
            changed.append("name")
        if settings:
            merged = dict(integration.settings or {})
            for key, value in kinds.clean_settings(integration.kind, settings).items():
                if merged.get(key, "") != value:
                    changed.append(key)
                if value:
                    merged[key] = value
                else:
                    merged.pop(key, None)
            integration.settings = merged
        to_clear = set(clear_secrets)
        new_secrets = {
            k: v for k, v in kinds.clean_secrets(integration.kind, secrets or {}).items() if v
        }
        unknown = to_clear - kinds.spec_for(integration.kind).secret_names()
        if unknown:
            raise ValidationError(
                {
                    "clear_secrets": _("Unknown secrets: %(names)s")
                    % {"names": ", ".join(sorted(unknown))}
                }
            )
        if new_secrets or to_clear:
            current = integration.get_secrets()
            for key in to_clear:
                current.pop(key, None)
            current.update(new_secrets)
            integration.set_secrets(current)
            changed.extend(sorted(to_clear | set(new_secrets)))
        if is_active is not None and is_active != integration.is_active:
            integration.is_active = is_active
            changed.append("is_active")
        if changed:
            integration.save()
            _log(integration, "integration updated", actor, changed)
    return integration


def integration_deactivate(*, integration: Integration, actor: Any = None) -> Integration:
    """Stop receiving and sending through ``integration``: its webhook URL answers 404
    and pending replies fail with "deactivated". Rows and history stay."""
    return integration_update(integration=integration, is_active=False, actor=actor)
