"""The Audiences page, and the htmx partials of the Audience Sync editor (the audience
search and the coverage preview)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from audiences.forms import NEW, pinterest_unreachable
from audiences.selectors import (
    PINTEREST_MINIMUM_AUDIENCE,
    audiences_overview,
    coverage_preview,
    drafts_matching,
    pinterest_audiences_search,
)
from audiences.step import AudienceSyncKind
from audiences.tables import AudienceTable
from canvas.models import Step
from canvas.tables import table_paginate
from partners.exceptions import ConnectionUnusable
from partners.pinterest import PinterestError
from partners.selectors import connection_for_workspace, connection_problem

MAX_QUERY = 200
AUDIENCES_PER_PAGE = 50


def _sync_step(request, canvas_id: int, step_id: int) -> Step:
    # request.workspace: set by canvas.access.WorkspaceMiddleware (members only).
    steps = Step.objects.select_related("canvas__workspace").filter(
        canvas__workspace=request.workspace, kind=AudienceSyncKind.key
    )
    return get_object_or_404(steps, pk=step_id, canvas_id=canvas_id)


@require_GET
def audience_search(request, canvas_id: int, step_id: int) -> HttpResponse:
    """Audiences matching what the marketer types: drafts, then Pinterest one page at a time.

    The first request answers with the drafts, the first page's matches and a
    sentinel that fetches the next page by itself (htmx, on load); each page is one
    Pinterest call, so thousands of audiences never hold up the editor.
    """
    step = _sync_step(request, canvas_id, step_id)
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    ad_account_id = request.GET.get("ad_account", "")
    bookmark = request.GET.get("bookmark") or None
    connection = connection_for_workspace(workspace=step.canvas.workspace)
    ad_account = None
    if connection is not None and connection.is_connected:
        ad_account = connection.ad_accounts.selected().filter(ad_account_id=ad_account_id).first()
    context = {
        "step": step,
        "query": query,
        "first_page": bookmark is None,
        "new_value": f"{NEW}:{query}",
        "drafts": [],
        "matches": [],
        "next_bookmark": None,
        "problem": None,
        "ad_account": ad_account,
    }
    if ad_account is None:
        context["problem"] = "Choose the ad account first."
    elif problem := connection_problem(connection=connection):
        context["problem"] = problem
    else:
        assert connection is not None
        if bookmark is None:
            context["drafts"] = drafts_matching(ad_account=ad_account, query=query)
        try:
            found = pinterest_audiences_search(
                connection=connection,
                ad_account_id=ad_account.ad_account_id,
                query=query,
                bookmark=bookmark,
            )
        except (ConnectionUnusable, PinterestError) as exc:
            context["problem"] = pinterest_unreachable(exc)
        else:
            context["matches"] = found.pinterest
            context["next_bookmark"] = found.next_bookmark
    return render(request, "audiences/_search_results.html", context)


@require_GET
def coverage(request, canvas_id: int, step_id: int) -> HttpResponse:
    """How much of the entry segment the chosen fields can sync (one aggregate query)."""
    step = _sync_step(request, canvas_id, step_id)
    fields = request.GET.getlist("match_fields")
    found = coverage_preview(
        canvas=step.canvas, match_email="email" in fields, match_maid="maid" in fields
    )
    context = {"coverage": found, "fields": fields, "minimum": PINTEREST_MINIMUM_AUDIENCE}
    return render(request, "audiences/_coverage.html", context)


@require_GET
def audience_list(request) -> HttpResponse:
    """Audiences: each of the workspace's audiences, our users and records beside Pinterest's."""
    # request.workspace: set by canvas.access.WorkspaceMiddleware (any member may look).
    table = AudienceTable(audiences_overview(workspace=request.workspace), request=request)
    table_paginate(table, page=request.GET.get("page", ""), per_page=AUDIENCES_PER_PAGE)
    return render(request, "audiences/audience_list.html", {"table": table})
