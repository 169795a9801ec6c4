"""The pt-BR catalogue is complete, and the inbox is rendered in the member's language."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.conf import settings

from tests.tickets.live_factories import make_message, make_queue, make_ticket

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po"


def _live_entries() -> list[polib.POEntry]:
    return [e for e in polib.pofile(str(CATALOGUE)) if not e.obsolete]


def test_the_pt_br_catalogue_has_no_untranslated_entry() -> None:
    entries = _live_entries()
    assert len(entries) > 600  # the whole UI, not an empty file that passes trivially
    missing = [e.msgid for e in entries if not e.translated() and "fuzzy" not in e.flags]
    assert missing == []


def test_the_pt_br_catalogue_has_no_fuzzy_entry() -> None:
    po = polib.pofile(str(CATALOGUE))
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert po.metadata["Plural-Forms"] == "nplurals=2; plural=(n > 1);"


def test_every_translation_keeps_the_placeholders_of_its_source() -> None:
    import re

    placeholder = re.compile(r"%\(\w+\)[-#0 +]*\d*[sdifr]|%[sdif]|\{\w*\}")
    wrong = []
    for e in _live_entries():
        pairs = (
            [(e.msgid, e.msgstr)]
            if not e.msgid_plural
            else [(e.msgid_plural, text) for text in e.msgstr_plural.values()]
        )
        for source, text in pairs:
            if set(placeholder.findall(source)) != set(placeholder.findall(text)):
                wrong.append((source, text))
    assert wrong == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [
        (
            "pt-br",
            ["Caixa de entrada", "Aguardando", "Meus", "Todas as minhas filas", "Urgente"],
            ["Inbox", "All my queues", "Sound on", "Sound off"],
        ),
        (
            "en",
            ["Inbox", "Waiting", "Mine", "All my queues", "Urgent"],
            ["Caixa de entrada", "Todas as minhas filas", "Som ligado", "Som desligado"],
        ),
    ],
)
def test_the_inbox_is_rendered_in_the_members_language(
    company, agent, client_for, language, expected, absent
) -> None:
    queue = make_queue(company, "Vendas", agent)
    ticket = make_ticket(company, queue=queue, name="Ana Souza")
    ticket.priority = "urgent"
    ticket.save(update_fields=["priority"])
    make_message(ticket, "Olá")
    agent.language = language
    agent.save(update_fields=["language"])

    page = client_for(agent).get("/app/loja-azul/").text

    assert f'lang="{language}"' in page
    assert "Ana Souza" in page
    for word in expected:
        assert word in page, word
    for word in absent:
        assert word not in page, word
