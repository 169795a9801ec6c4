"""Bench-only settings: the product's settings with a one-view urlconf (bench/minimal_urls.py).

Used by bench/ingest.py to measure what the same server stack (daphne, Django middleware,
PostgreSQL connection) does with a view that only inserts one row, for the ratio. Never
used by the product.
"""

from atende.settings import *  # noqa: F403

ROOT_URLCONF = "bench.minimal_urls"
