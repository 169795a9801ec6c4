"""Websocket authentication: session cookie first, then a JWT access token."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from channels.auth import get_user
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host

JWT_SUBPROTOCOL = "bearer"


@database_sync_to_async
def _user_from_jwt(raw: str) -> Any:
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

    auth = JWTAuthentication()
    try:
        user = auth.get_user(auth.get_validated_token(raw.encode()))
    except (InvalidToken, TokenError):
        return AnonymousUser()
    return user if user.is_active else AnonymousUser()


def _jwt_from_scope(scope: dict) -> tuple[str, bool]:
    """(token, via_subprotocol). Browsers can't set headers on websockets, so non-browser
    clients pass the token in the query string or as the second subprotocol."""
    protocols = scope.get("subprotocols") or []
    if len(protocols) >= 2 and protocols[0] == JWT_SUBPROTOCOL:
        return protocols[1], True
    query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
    return (query.get("token") or [""])[0], False


class WebsocketAuthMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        scope = dict(scope)
        user = await get_user(scope) if "session" in scope else AnonymousUser()
        token, via_subprotocol = _jwt_from_scope(scope)
        if not user.is_authenticated and token:
            user = await _user_from_jwt(token)
            scope["auth_method"] = "jwt"
            scope["jwt_subprotocol"] = JWT_SUBPROTOCOL if via_subprotocol else None
        scope["user"] = user
        return await self.inner(scope, receive, send)


class OriginCheckMiddleware:
    """Refuse cross-site websocket hijacking: a browser (which always sends Origin) may
    only connect from our own hosts. Clients without Origin must bring a JWT anyway."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        origin = dict(scope.get("headers") or []).get(b"origin")
        if origin:
            host = urlparse(origin.decode(errors="replace")).netloc
            allowed = list(settings.ALLOWED_HOSTS) + [
                urlparse(o).netloc for o in settings.CSRF_TRUSTED_ORIGINS
            ]
            if not validate_host(
                host.rsplit(":", 1)[0] if "]" not in host else host, allowed
            ) and not validate_host(host, allowed):
                await send({"type": "websocket.close", "code": 4403})
                return None
        return await self.inner(scope, receive, send)
