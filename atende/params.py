"""Numbers from query strings and form fields, never a 500.

``str.isdigit()`` accepts characters such as "²" or "٣" that ``int()`` refuses or reads
differently, and a long run of digits overflows PostgreSQL's bigint: both used to turn a
typo in a URL into a server error. ``id_param`` takes plain ASCII digits that fit.
"""

from __future__ import annotations

from typing import Any

MAX_DIGITS = 18  # below 2**63


def id_param(raw: Any) -> int | None:
    """``raw`` as a non-negative integer id, or None when it is anything else."""
    text = str(raw if raw is not None else "").strip()
    if not text or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def id_list(raw: Any, limit: int) -> list[int]:
    """The ids of a comma-separated parameter ("12,15"), at most ``limit``; anything
    that is not an id is skipped."""
    ids = (id_param(part) for part in str(raw or "").split(","))
    return [n for n in ids if n is not None][:limit]
