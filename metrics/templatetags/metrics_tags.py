"""Template helpers for the metrics pages."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
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


@register.simple_tag
def heatmap_rows(cells: list[list[int]], weekdays: list[str]) -> str:
    """The heatmap's 7 x 24 body in one pass (a template loop rendered ~500 values per
    page, a fifth of the dashboard's render time). ``data-n`` stays a plain integer for
    the shading script; the text is localized, once per distinct count."""
    shown: dict[int, str] = {}
    rows = []
    for label, row in zip(weekdays, cells, strict=False):
        tds = []
        for n in row:
            text = shown.get(n)
            if text is None:
                text = shown[n] = escape(number_format(n))
            tds.append(f'<td data-n="{int(n)}" title="{text}">{text if n else ""}</td>')
        rows.append(f"<tr><th>{escape(label)}</th>{''.join(tds)}</tr>")
    return mark_safe("".join(rows))  # noqa: S308 - the label and the numbers are escaped
