from django.urls import include, path

from partners.views import catalog, pinterest

app_name = "partners"

# Mounted under /w/<workspace>/ and resolved by canvas.access.WorkspaceMiddleware:
# members only, everyone else gets 404.
workspace_urlpatterns = [
    path("partners/", catalog.technology_partners, name="technology_partners"),
    path("partners/pinterest/", pinterest.pinterest_partner, name="pinterest"),
    path("partners/pinterest/connect/", pinterest.pinterest_connect, name="pinterest_connect"),
    path(
        "partners/pinterest/ad-accounts/",
        pinterest.pinterest_ad_accounts,
        name="pinterest_ad_accounts",
    ),
    path(
        "partners/pinterest/ad-accounts/<str:ad_account_id>/disconnect/",
        pinterest.pinterest_ad_account_disconnect,
        name="pinterest_ad_account_disconnect",
    ),
    path(
        "partners/pinterest/disconnect/",
        pinterest.pinterest_disconnect,
        name="pinterest_disconnect",
    ),
]

urlpatterns = [
    # Fixed, not per workspace: it must equal the redirect URI registered on the
    # Pinterest app (settings.PINTEREST_REDIRECT_URI). The workspace is in the session.
    path(
        "partners/pinterest/oauth/callback/",
        pinterest.pinterest_oauth_callback,
        name="pinterest_oauth_callback",
    ),
    path("w/<slug:workspace>/", include(workspace_urlpatterns)),
]
