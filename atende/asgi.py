"""ASGI entry point: HTTP through Django, websockets through Channels.

Websocket auth: browser sessions (cookie) or a JWT for other clients, given either as
``?token=<access>`` or as the subprotocols ``["bearer", "<access>"]``.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atende.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware, SessionMiddleware  # noqa: E402

from atende.handlers import asgi_router, freeze_startup_objects  # noqa: E402
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

freeze_startup_objects()
