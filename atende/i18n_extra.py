"""Strings our pages show that come from libraries whose pt-BR catalogue lacks them.

makemessages extracts them from here, so locale/pt_BR supplies the translation (project
catalogues take precedence over the libraries' own)."""

from django.utils.translation import gettext_noop

EXTRA_STRINGS = (
    # Django 6.1's empty choice in select boxes (django/db/models/fields/__init__.py).
    gettext_noop("- Select an option -"),
)
