"""Per-token rate limits of the sandbox, counted over any rolling window, as Pinterest counts.

A fixed window (calls per whole second of the clock) would let 7 writes through
in the last 50 ms of one second and 7 more in the first 50 ms of the next: 14 in
0.1 s, which Pinterest refuses. Here each (token, category) keeps the times of
its accepted calls; a call passes only if fewer than `calls` were accepted in the
`window_seconds` before it, and `x-ratelimit-reset` says how many whole seconds
until the oldest of them leaves the window.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """At most `calls` per `window_seconds` in one category, over any rolling window."""

    calls: int
    window_seconds: float


# pinterest-api-v5.md, "Limits": per user token.
DEFAULT_LIMITS = {
    "ads_write": Limit(7, 1.0),
    "ads_read": Limit(1000, 60.0),
    "all": Limit(100, 1.0),
}


@dataclass(frozen=True)
class Decision:
    """Whether a call may pass, and the numbers for the x-ratelimit-* headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        """The three x-ratelimit-* headers Pinterest sends."""
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset_seconds),
        }


class RateLimiter:
    """Counts accepted calls per (token, category) over rolling windows; refusals don't count."""

    def __init__(self, limits: dict[str, Limit] | None = None) -> None:
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._lock = threading.Lock()
        self._accepted: dict[tuple[str, str], deque[float]] = {}

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._accepted.clear()

    def hit(self, key: str, category: str | None, now: float) -> Decision | None:
        """Count one call of `category` (plus the "all" budget); None if nothing limits it."""
        categories = [c for c in ("all", category) if c in self.limits]
        if not categories:
            return None
        with self._lock:
            decisions = {c: self._peek(key, c, now) for c in categories}
            denied = [d for d in decisions.values() if not d.allowed]
            if denied:
                return denied[-1]
            for c in categories:
                self._accepted.setdefault((key, c), deque()).append(now)
            shown = decisions[categories[-1]]
            return Decision(True, shown.limit, shown.remaining - 1, shown.reset_seconds)

    def _recent(self, key: str, category: str, now: float) -> deque[float]:
        """The accepted calls still inside the rolling window ending now (older ones dropped)."""
        accepted = self._accepted.setdefault((key, category), deque())
        horizon = now - self.limits[category].window_seconds
        while accepted and accepted[0] <= horizon:
            accepted.popleft()
        return accepted

    def _peek(self, key: str, category: str, now: float) -> Decision:
        limit = self.limits[category]
        recent = self._recent(key, category, now)
        # When the oldest call in the window leaves it, one more call may pass.
        frees_at = recent[0] + limit.window_seconds if recent else now
        return Decision(
            allowed=len(recent) < limit.calls,
            limit=limit.calls,
            remaining=max(limit.calls - len(recent), 0),
            reset_seconds=max(math.ceil(frees_at - now), 1),
        )
