"""Template helpers for the metrics pages."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """1 h 05 min / 4 min 10 s / 35 s; an em dash when there is no data."""
    if seconds is None:
        return "—"
    total = round(float(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _("%(d)sd %(h)sh") % {"d": days, "h": hours}
    if hours:
        return _("%(h)sh %(m)02dmin") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)smin %(s)02ds") % {"m": minutes, "s": secs}
    return _("%(s)ss") % {"s": secs}


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.0f}%"


@register.filter
def raw(value: float | None) -> str:
    """The exact number for data-* attributes (tests and scripts compare these)."""
    return "" if value is None else repr(float(value))
