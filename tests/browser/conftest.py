"""Browser tests: headless Debian Chromium (Playwright) against daphne serving the real
ASGI application (HTTP and websockets) on the test database.

How it runs: pytest-django creates the test database and points settings at it; the
``live_app`` fixture then forks a daphne process (daphne.testing.DaphneProcess, like
channels' ChannelsLiveServerTestCase) that inherits those settings, so the browser, the
websocket consumers and the test's own ORM calls all see the same rows. Tests use
``transactional_db`` (rows must be committed to be seen by the server process). Celery
tasks the flow needs (sending a reply) are run by the test calling the task function
directly (never eager, never a worker). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # The notification sound is part of what is tested: no user gesture in a test.
    "--autoplay-policy=no-user-gesture-required",
]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    reason = ""
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        reason = f"{CHROMIUM} is missing: apt-get install chromium (the CI script does)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (requirements-dev.txt)"
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def live_app(transactional_db: None, settings: Any) -> Iterator[str]:
    """Base URL of daphne serving atende.asgi on the test database."""
    from daphne.testing import DaphneProcess
    from django.db import connections

    from conversations import realtime

    client = realtime._redis()
    for key in client.scan_iter(f"{settings.REDIS_PREFIX}:rt:*"):
        client.delete(key)
    # The child must not share the parent's sockets to PostgreSQL.
    connections.close_all()
    process = DaphneProcess("127.0.0.1", _application)
    process.start()
    if not process.ready.wait(timeout=20):
        process.terminate()
        raise RuntimeError("daphne did not start")
    try:
        yield f"http://127.0.0.1:{process.port.value}"
    finally:
        process.terminate()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


def _application() -> Any:
    from atende.asgi import application

    return application


@pytest.fixture
def browser(live_app: str) -> Iterator[Any]:
    """Chromium for one test. Playwright's sync API keeps an event loop running in this
    thread, so the test's own ORM calls need DJANGO_ALLOW_ASYNC_UNSAFE -- only while the
    browser is up (function scope), so no later test runs with the check relaxed."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Shots:
    """Numbered screenshots per test in test-artifacts/<test name>/."""

    def __init__(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder = folder
        self.n = 0

    def __call__(self, page: Any, name: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request: Any, artifacts: Path) -> Shots:
    return Shots(artifacts / request.node.name)


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``fn`` in a plain thread: Playwright's loop runs in the test's thread, and code
    that publishes to the channel layer (async_to_sync) must not run beside it."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def call() -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=60)
