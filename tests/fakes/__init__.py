"""Fake platform servers on 127.0.0.1 for tests: the real clients talk HTTP to them.

    with FakeChatwoot() as fake:
        integration.settings["base_url"] = fake.base_url
        ...
        fake.fail_next(500, times=2)   # the next two requests answer 500
        fake.requests[-1].json         # what the client sent

Shared by every test that sends through a platform (outbound sending, live inbox).
"""

from tests.fakes.platforms import FakeChatwoot, FakeTwilio, FakeUmbler
from tests.fakes.server import FakeServer, RecordedRequest

__all__ = ["FakeChatwoot", "FakeServer", "FakeTwilio", "FakeUmbler", "RecordedRequest"]
