"""Whether Pinterest (or the local sandbox) answers, for /healthz (config/health.py).

Load balancers probe every few seconds on every web process: the answer is kept in the
cache for PROBE_EVERY, so Pinterest is asked at most that often (once for all processes
when the cache is Redis).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache

from partners.pinterest import PinterestClient, PinterestError

logger = logging.getLogger(__name__)

PROBE_EVERY = timedelta(seconds=30)
# A probe gives up sooner than API calls do: the load balancer is waiting.
PROBE_TIMEOUT_SECONDS = 3.0
_CACHE_KEY = "partners:health:pinterest"


def pinterest_reachability() -> tuple[bool, str]:
    """(reachable, what was seen): any HTTP answer from the API counts, the cache first."""
    seen = cache.get(_CACHE_KEY)
    if seen is None:
        seen = _probe()
        cache.set(_CACHE_KEY, seen, PROBE_EVERY.total_seconds())
    return seen


def _probe() -> tuple[bool, str]:
    name = "The Pinterest sandbox" if settings.PINTEREST_SANDBOX else "Pinterest"
    try:
        with PinterestClient(timeout=PROBE_TIMEOUT_SECONDS) as client:
            status = client.answer_status()
    except PinterestError as error:
        logger.warning("Health check: %s is unreachable: %s", name, error)
        return False, f"{name} is unreachable: {error.message}"
    return True, f"{name} answers (HTTP {status})."
