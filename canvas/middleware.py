"""Text that no database stores is refused at the door, whatever view it was meant for.

PostgreSQL cannot hold NUL in text (SQLite can), so a NUL reaching a query or
a write fails on one database only. Forms built on Django's CharField refuse it
already; this covers every value read straight from the query string or a
posted form (`?q=`, repeated segment rows, htmx parameters), once for all views.
The ingestion API's JSON bodies are checked by canvas/api/body.py.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string


def _nul_field(request: HttpRequest) -> str | None:
    """The name of the first query or form field holding a NUL character, if any."""
    for data in (request.GET, request.POST):
        for name, values in data.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return name.replace("\x00", "\\0")
    return None


class RefuseNulMiddleware:
    """Answer 400, naming the field, to a request whose parameters hold a NUL character."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Only form-encoded bodies fill request.POST; JSON and uploads' files are left alone.
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        message = f"The field “{field}” contains a NUL character, which is not text."
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"message": "Invalid request", "errors": [{"loc": [field], "message": message}]},
                status=400,
            )
        return HttpResponse(render_to_string("400.html", {"message": message}, request), status=400)
