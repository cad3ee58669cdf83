from django.urls import include, path

from canvas.views import api_keys, members, sections, workspaces

app_name = "canvas"

# Mounted under /w/<workspace>/ and resolved by canvas.access.WorkspaceMiddleware:
# members only, everyone else gets 404.
workspace_urlpatterns = [
    path("canvas/", sections.canvas_list, name="canvas_list"),
    path("customers/", sections.customers, name="customers"),
    path("settings/", workspaces.workspace_settings, name="workspace_settings"),
    path("settings/members/", members.members, name="members"),
    path("settings/members/invite/", members.member_invite, name="member_invite"),
    path(
        "settings/members/<int:membership_id>/role/",
        members.member_change_role,
        name="member_change_role",
    ),
    path(
        "settings/members/<int:membership_id>/remove/",
        members.member_remove,
        name="member_remove",
    ),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        members.invitation_revoke_view,
        name="invitation_revoke",
    ),
    path("settings/api-keys/", api_keys.api_keys, name="api_keys"),
    path("settings/api-keys/new/", api_keys.api_key_create_view, name="api_key_create"),
    path(
        "settings/api-keys/<int:key_id>/revoke/",
        api_keys.api_key_revoke_view,
        name="api_key_revoke",
    ),
]

urlpatterns = [
    path("workspaces/new/", workspaces.workspace_create_view, name="workspace_create"),
    path("invitations/<str:token>/", members.invitation_accept_view, name="invitation_accept"),
    path("w/<slug:workspace>/", include(workspace_urlpatterns)),
]
