"""Per-token rate limits of the sandbox, counted over any rolling window, as Pinterest counts.

A fixed window (calls per whole second of the clock) would let 7 writes through
in the last 50 ms of one second and 7 more in the first 50 ms of the next: 14 in
0.1 s, which Pinterest refuses. Here each (token, category) keeps the arrival
times of its accepted calls; a call passes only if, with it, no window of
`window_seconds` holds more than `calls` of them. Calls are timed when they
arrive, and a handler thread may get to check one a moment after a later
arrival was checked, so every window around the arrival is looked at, not only
the one ending at it. `x-ratelimit-reset` says how many whole seconds until the
oldest call of the crowded window leaves it.
"""

from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """At most `calls` per `window_seconds` in one category, over any rolling window."""

    calls: int
    window_seconds: float


# partners/pinterest/README.md, "Limits": per user token.
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
        self._accepted: dict[tuple[str, str], list[float]] = {}

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._accepted.clear()

    def hit(self, key: str, category: str | None, now: float) -> Decision | None:
        """Count one call of `category` (plus the "all" budget) arriving at `now`; None if
        nothing limits it."""
        categories = [c for c in ("all", category) if c in self.limits]
        if not categories:
            return None
        with self._lock:
            decisions = {c: self._peek(key, c, now) for c in categories}
            denied = [d for d in decisions.values() if not d.allowed]
            if denied:
                return denied[-1]
            for c in categories:
                bisect.insort(self._accepted.setdefault((key, c), []), now)
            shown = decisions[categories[-1]]
            return Decision(True, shown.limit, shown.remaining - 1, shown.reset_seconds)

    def _peek(self, key: str, category: str, now: float) -> Decision:
        limit = self.limits[category]
        window = limit.window_seconds
        accepted = self._accepted.setdefault((key, category), [])
        # Arrivals older than any window `now` can share are forgotten.
        del accepted[: bisect.bisect_right(accepted, now - 2 * window)]
        lo = bisect.bisect_right(accepted, now - window)
        near = accepted[lo : bisect.bisect_left(accepted, now + window)]
        with_it = sorted([*near, now])
        # A window holds calls + 1 arrivals when calls + 1 consecutive ones span less than it.
        crowded = [
            with_it[i]
            for i in range(len(with_it) - limit.calls)
            if with_it[i + limit.calls] - with_it[i] < window
        ]
        before = [t for t in near if t <= now]
        oldest = crowded[0] if crowded else (before[0] if before else now)
        return Decision(
            allowed=not crowded,
            limit=limit.calls,
            remaining=max(limit.calls - len(before), 0),
            reset_seconds=max(math.ceil(oldest + window - now), 1),
        )
