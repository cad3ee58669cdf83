"""Per-token rate limits of the sandbox: fixed windows aligned on the sandbox clock.

A fixed window (calls counted per whole second, or whole minute, of the clock)
is simple to reason about in tests and never lets more than the limit through
in one window; `x-ratelimit-reset` says how many whole seconds remain in it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """At most `calls` per `window_seconds` in one category."""

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
    """Counts calls per (token, category) in fixed windows; rejected calls are not counted."""

    def __init__(self, limits: dict[str, Limit] | None = None) -> None:
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._windows.clear()

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
                window, count = self._current(key, c, now)
                self._windows[(key, c)] = (window, count + 1)
            shown = decisions[categories[-1]]
            return Decision(True, shown.limit, shown.remaining - 1, shown.reset_seconds)

    def _current(self, key: str, category: str, now: float) -> tuple[int, int]:
        window = math.floor(now / self.limits[category].window_seconds)
        stored_window, count = self._windows.get((key, category), (window, 0))
        return window, count if stored_window == window else 0

    def _peek(self, key: str, category: str, now: float) -> Decision:
        limit = self.limits[category]
        window, count = self._current(key, category, now)
        window_end = (window + 1) * limit.window_seconds
        return Decision(
            allowed=count < limit.calls,
            limit=limit.calls,
            remaining=max(limit.calls - count, 0),
            reset_seconds=max(math.ceil(window_end - now), 1),
        )
