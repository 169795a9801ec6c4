"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with key rotation (MultiFernet).

Keys come from ATENDE_ENCRYPTION_KEYS (newest first); embedded mode keeps one under var/.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_json(data: dict[str, Any]) -> str:
    if not data:
        return ""
    return fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    return dict(_decrypt(token, tuple(settings.FIELD_ENCRYPTION_KEYS)))


@lru_cache(maxsize=1024)
def _decrypt(token: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """Decrypted once per process and ciphertext (every webhook verifies with its
    integration's secrets): a changed secret is a new ciphertext, hence a new entry."""
    try:
        return json.loads(_fernet(keys).decrypt(token.encode()))  # type: ignore[no-any-return]
    except InvalidToken as exc:
        raise ValueError("Secrets cannot be decrypted: wrong ATENDE_ENCRYPTION_KEYS?") from exc


def mask(value: str) -> str:
    """What the UI, admin and API show of a secret: never the whole thing."""
    if not value:
        return ""
    if len(value) <= 8:
        return "•" * len(value)
    return f"{value[:2]}{'•' * 6}{value[-4:]}"
