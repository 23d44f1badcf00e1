"""A token bucket per key: `rate` requests per second on average, `burst` at once.

Kept in the server's memory, so each API server limits on its own.

>>> limiter = RateLimiter(rate=1.0, burst=2)
>>> limiter.take("k", now=0.0), limiter.take("k", now=0.0), limiter.take("k", now=0.0)
(0.0, 0.0, 1.0)
>>> limiter.take("k", now=1.0)
0.0
"""

from __future__ import annotations

import threading


class RateLimiter:
    """Token buckets by key; `take` says how long to wait (0.0: allowed now)."""

    def __init__(self, *, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, *, now: float) -> float:
        """Spend one token of `key`'s bucket at `now` (monotonic seconds); 0.0 when it was
        there, else the seconds until one will be (nothing is spent then)."""
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
