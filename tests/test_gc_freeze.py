"""Long-lived processes keep what they load at startup out of the garbage collector's full
passes (atende/handlers.py: freeze_startup_objects). Unfrozen, a full pass over Django's
objects stalled every event in flight for 100-250 ms (bench/README.md, real time)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import gc, sys
import {entry}
from django.urls import resolve

# imported by the URLconf, not by {entry} itself
view = resolve("/api/v1/companies/acme/tickets/").func
frozen = not any(o is view for o in gc.get_objects())
print(gc.get_freeze_count(), len(gc.get_objects()), frozen)
"""


@pytest.mark.parametrize("entry", ["atende.wsgi", "atende.asgi"])
def test_the_server_entry_points_freeze_django_and_every_view_before_the_first_request(
    entry: str,
) -> None:
    result = subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-c", PROBE.format(entry=entry)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "atende.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    frozen_count, left, view_frozen = result.stdout.split()
    # The views the URLconf names are loaded before the freeze (Django would import
    # them on the first request, after it)...
    assert view_frozen == "True"
    # ...and almost nothing is left for the collector's full passes to walk.
    assert int(frozen_count) > 100_000
    assert int(left) < int(frozen_count) // 20


def test_the_ingest_worker_freezes_what_it_loaded_before_it_listens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core.management import call_command

    from integrations import worker

    loaded = [object()]  # something alive before the command starts
    seen: dict[str, Any] = {}

    def run(**kwargs: Any) -> None:
        seen["loaded frozen"] = not any(o is loaded for o in gc.get_objects())

    monkeypatch.setattr(worker, "run", run)
    gc.unfreeze()
    try:
        call_command("ingest_worker")
    finally:
        gc.unfreeze()
    assert seen == {"loaded frozen": True}


def test_each_celery_pool_process_freezes_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from celery.signals import worker_process_init

    import atende.celery  # noqa: F401 - connects the handler
    from atende import handlers

    calls: list[bool] = []
    monkeypatch.setattr(handlers, "freeze_startup_objects", lambda: calls.append(True))
    worker_process_init.send(sender=None)
    assert calls == [True]
