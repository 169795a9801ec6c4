"""ASGI entry point: HTTP through Django, websockets through Channels.

Websocket auth: browser sessions (cookie) or a JWT for other clients, given either as
``?token=<access>`` or as the subprotocols ``["bearer", "<access>"]``.
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atende.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware, SessionMiddleware  # noqa: E402

from atende.handlers import asgi_router  # noqa: E402
from atende.routing import websocket_urlpatterns  # noqa: E402
from atende.ws_auth import OriginCheckMiddleware, WebsocketAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        # /webhooks/ with the short middleware list (atende/handlers.py).
        "http": asgi_router(django_asgi_app),
        "websocket": OriginCheckMiddleware(
            CookieMiddleware(
                SessionMiddleware(WebsocketAuthMiddleware(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)

# Everything loaded so far (Django, the apps, models, settings, this module's imports:
# ~200,000 objects) lives as long as the process. Freezing it keeps the collector's full
# passes to what requests allocate: they took 100-200 ms every ~15 requests of the
# metrics dashboard (a p95 spike), 1-3 ms frozen (bench/README.md, metrics).
gc.freeze()
