"""Fault injection for the sandbox: 5xx, spam blocks, latency, hangs, malformed bodies."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

MALFORMED_KINDS = ("not_json", "empty_object")


@dataclass
class Faults:
    """What to inject into /v5 calls; counters (`*_next`) count down per affected call."""

    # Fail the next N calls, then a share (0..1) of the calls after them, with this status.
    fail_next: int = 0
    fail_ratio: float = 0.0
    fail_status: int = 503
    # Seed of the generator behind fail_ratio, for a reproducible sequence of failures.
    seed: int | None = None
    # Added before every call, in milliseconds.
    latency_ms: int = 0
    # The next N calls sleep this long, then are carried out and answered as usual, like a
    # Pinterest call whose answer came after the client gave up (a reset cuts them short).
    hang_next: int = 0
    hang_seconds: float = 0.0
    # The next N calls get Pinterest's anti-spam 429.
    spam_next: int = 0
    # The next N calls find their connection closed: no answer, nothing carried out, like
    # a keep-alive connection the server closed just as the client reused it.
    drop_next: int = 0
    # The next N calls are carried out but answered with a body Pinterest would never send:
    # "not_json" (an HTML error page with status 200) or "empty_object" ({}).
    malformed_next: int = 0
    malformed_kind: str = "not_json"
    # Apply fail/hang/spam/malformed to writes (POST/PATCH of audiences and customer lists) only.
    writes_only: bool = False
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def update(self, **changes: Any) -> None:
        """Set some fields at once; an unknown name or a bad value raises ValueError."""
        unknown = set(changes) - set(_CONVERTERS)
        if unknown:
            raise ValueError(f"unknown fault {sorted(unknown)}; known: {sorted(_CONVERTERS)}")
        try:
            converted = {name: _CONVERTERS[name](value) for name, value in changes.items()}
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad fault value: {exc}") from None
        replace(self, **converted)._validate()
        for name, value in converted.items():
            setattr(self, name, value)
        if "seed" in converted:
            self._random = random.Random(self.seed)

    def _validate(self) -> None:
        if not 0.0 <= self.fail_ratio <= 1.0:
            raise ValueError("fail_ratio must be between 0 and 1")
        if not 500 <= self.fail_status <= 599:
            raise ValueError("fail_status must be a 5xx status")
        if self.malformed_kind not in MALFORMED_KINDS:
            raise ValueError(f"malformed_kind must be one of {', '.join(MALFORMED_KINDS)}")
        for name in (
            "fail_next",
            "latency_ms",
            "hang_next",
            "spam_next",
            "drop_next",
            "malformed_next",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.hang_seconds < 0:
            raise ValueError("hang_seconds must not be negative")

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values."""
        return {name: getattr(self, name) for name in _CONVERTERS}

    def take(self, *, is_write: bool) -> Plan:
        """Decide the faults of one call and count down the `*_next` counters (hold the lock)."""
        plan = Plan(latency_seconds=self.latency_ms / 1000)
        if self.writes_only and not is_write:
            return plan
        if self.drop_next > 0:
            self.drop_next -= 1
            plan.drop = True
            return plan
        if self.hang_next > 0:
            self.hang_next -= 1
            plan.hang_seconds = self.hang_seconds
        if self.spam_next > 0:
            self.spam_next -= 1
            plan.spam = True
        elif self.fail_next > 0:
            self.fail_next -= 1
            plan.fail_status = self.fail_status
        elif self.fail_ratio and self._random.random() < self.fail_ratio:
            plan.fail_status = self.fail_status
        elif self.malformed_next > 0:
            self.malformed_next -= 1
            plan.malformed_kind = self.malformed_kind
        return plan


@dataclass
class Plan:
    """The faults chosen for one call."""

    latency_seconds: float = 0.0
    hang_seconds: float = 0.0
    fail_status: int | None = None
    spam: bool = False
    drop: bool = False
    malformed_kind: str | None = None


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _strict_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("writes_only must be true or false")
    return value


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "fail_next": int,
    "fail_ratio": float,
    "fail_status": int,
    "seed": _optional_int,
    "latency_ms": int,
    "hang_next": int,
    "hang_seconds": float,
    "spam_next": int,
    "drop_next": int,
    "malformed_next": int,
    "malformed_kind": str,
    "writes_only": _strict_bool,
}
