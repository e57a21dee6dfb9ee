"""A fixed-window rate limit per client address, kept in the cache (public pages)."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def client_key(request) -> str:
    # Behind the reverse proxy REMOTE_ADDR is the proxy's: the last forwarded address is
    # the one the proxy appended (a client can prepend made-up ones, not replace that one).
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
    address = forwarded or request.META.get("REMOTE_ADDR", "")
    return hashlib.sha256(address.encode()).hexdigest()[:32]


def allow(request, scope: str, *, limit: int, window: int) -> bool:
    """Count one request of this client for ``scope``; False once ``limit`` is passed."""
    bucket = int(time.time() // window)
    key = f"ratelimit:{scope}:{client_key(request)}:{bucket}"
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 5)
        count = 1
    return count <= limit
