from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from canvas.access import admin_required
from canvas.forms import ApiKeyForm
from canvas.services.api_keys import api_key_create, api_key_revoke

# The raw key crosses one redirect in the session and is removed when shown, so a
# reload neither shows it again nor creates a second key.
NEW_KEY_SESSION_KEY = "new_api_key"


def _page(request, form, status=200):
    new_key = request.session.pop(NEW_KEY_SESSION_KEY, None)
    context = {
        "form": form,
        "api_keys": request.workspace.api_keys.select_related("created_by"),
        "new_key": new_key,
    }
    response = render(request, "canvas/settings/api_keys.html", context, status=status)
    # The page may hold a secret: keep it out of every cache.
    response["Cache-Control"] = "no-store"
    return response


@admin_required
def api_keys(request):
    """Settings › API Keys: the workspace's keys for the ingestion API."""
    return _page(request, ApiKeyForm())


@admin_required
@require_POST
def api_key_create_view(request):
    """Create a key and show it in full, this once (only its hash is kept)."""
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    api_key, raw_key = api_key_create(
        workspace=request.workspace, name=form.cleaned_data["name"], created_by=request.user
    )
    request.session[NEW_KEY_SESSION_KEY] = {"name": api_key.name, "raw": raw_key}
    return redirect("canvas:api_keys", workspace=request.workspace.slug)


@admin_required
@require_POST
def api_key_revoke_view(request, key_id: int):
    """Revoke a key: calls using it get 401 from now on."""
    api_key = get_object_or_404(request.workspace.api_keys, pk=key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"API key “{api_key.name}” revoked.")
    return redirect("canvas:api_keys", workspace=request.workspace.slug)
