from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def tenancy(request: HttpRequest) -> dict[str, Any]:
    """The current company and membership (set by company_view) for templates."""
    company = getattr(request, "company", None)
    membership = getattr(request, "membership", None)

    def companies() -> list:
        from .access import active_memberships

        return [m.company for m in active_memberships(request.user)]

    return {
        "company": company,
        "membership": membership,
        "my_companies": companies,  # lazy: only evaluated by templates that show the switcher
        "LANGUAGES": settings.LANGUAGES,
    }
