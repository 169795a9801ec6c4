"""Language: the user's own choice, then the language cookie, then the company's."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from .models import Company

_COMPANY_PATH = re.compile(r"^/app/(?P<slug>[-\w]+)/")


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._choose(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()  # type: ignore[attr-defined]
        return self.get_response(request)

    def _choose(self, request: HttpRequest) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            return user.language
        if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
            return ""  # LocaleMiddleware already honoured it
        match = _COMPANY_PATH.match(request.path_info)
        if match:
            language = (
                Company.objects.filter(slug=match["slug"])
                .values_list("language", flat=True)
                .first()
            )
            return language or ""
        return ""
