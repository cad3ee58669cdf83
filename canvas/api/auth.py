"""Who is calling: a workspace API key as a bearer token, counted against a per-minute limit."""

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.security import HttpBearer

from canvas.api.errors import RateLimited
from canvas.models import ApiKey
from canvas.services.api_keys import api_key_authenticate

WINDOW_SECONDS = 60


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>` → the active ApiKey (request.auth), its workspace attached."""

    def __call__(self, request: HttpRequest) -> ApiKey | None:
        # Parsed here rather than by HttpBearer, which logs the whole header
        # (the key included) when the scheme is not "Bearer".
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = api_key_authenticate(raw_key=token)
        if api_key is not None:
            api_key_rate_check(api_key=api_key)
        return api_key


def api_key_rate_check(*, api_key: ApiKey) -> None:
    """Count one call of the key in the current minute; raise RateLimited past the limit."""
    limit = settings.API_RATE_LIMIT_PER_MINUTE
    if not limit:
        return
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"api-rate:{api_key.pk}:{window}"
    # A fixed window: add() then incr() are atomic on Redis, so every web
    # process on every machine shares one count per key and minute.
    cache.add(key, 0, timeout=2 * WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # the counter expired between add() and incr()
        cache.set(key, 1, timeout=2 * WINDOW_SECONDS)
        count = 1
    if count > limit:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise RateLimited(limit=limit, retry_after=retry_after)
