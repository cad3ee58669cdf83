"""The ingestion API, mounted at /api/v1/: customers, custom events and API-triggered canvases.

Callers authenticate with a workspace API key (`Authorization: Bearer <key>`)
and act on that workspace only. Docs: /api/v1/docs (Swagger UI served from
ninja's bundled static files, so it works offline); schema: /api/v1/openapi.json.
"""

from django.contrib.auth.decorators import login_not_required
from ninja import NinjaAPI

from canvas.api import canvases, users
from canvas.api.auth import ApiKeyAuth
from canvas.api.body import StrictJSONParser
from canvas.api.errors import error_handlers_install


class IngestionAPI(NinjaAPI):
    """A NinjaAPI whose URLs are exempt from LoginRequiredMiddleware: callers bring a key."""

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            login_not_required(pattern.callback)
        return patterns, app_name, namespace


api = IngestionAPI(
    title="Pinsync ingestion API",
    version="1",
    description=(
        "Send customers and custom events, start API-triggered canvases, erase customers. "
        "Authenticate with a workspace API key: `Authorization: Bearer <key>`. "
        "At most 1,000 objects and 2 MB (by default) per call; calls per key and minute are "
        "limited (429 with Retry-After). A call with any invalid object writes nothing."
    ),
    urls_namespace="api-v1",
    auth=ApiKeyAuth(),
    parser=StrictJSONParser(),
)
error_handlers_install(api=api)
api.add_router("/users", users.router)
api.add_router("/canvas", canvases.router)
