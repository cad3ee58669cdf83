from django.shortcuts import render

from partners.selectors import connection_for_workspace


def technology_partners(request):
    """Partner Integrations › Technology Partners: the partners a workspace can connect."""
    connection = connection_for_workspace(workspace=request.workspace)
    context = {
        "pinterest": connection,
        "pinterest_ad_account_count": connection.ad_accounts.selected().count()
        if connection is not None and connection.is_connected
        else 0,
    }
    return render(request, "partners/technology_partners.html", context)
