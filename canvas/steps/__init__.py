"""Step kinds: the registry, and the kinds the core app ships (Delay)."""
