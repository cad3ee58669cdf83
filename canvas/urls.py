from django.urls import include, path

from canvas.views import api_keys, builder, customers, members, workspaces

app_name = "canvas"

# Mounted under /w/<workspace>/ and resolved by canvas.access.WorkspaceMiddleware:
# members only, everyone else gets 404.
workspace_urlpatterns = [
    path("", workspaces.workspace_home, name="workspace_home"),
    path("canvas/", builder.canvas_list, name="canvas_list"),
    path("canvas/new/", builder.canvas_create_view, name="canvas_create"),
    path("canvas/<int:canvas_id>/", builder.canvas_builder, name="canvas_builder"),
    path(
        "canvas/<int:canvas_id>/analytics/", builder.canvas_analytics_view, name="canvas_analytics"
    ),
    path("canvas/<int:canvas_id>/rename/", builder.canvas_rename_view, name="canvas_rename"),
    path("canvas/<int:canvas_id>/entry/", builder.canvas_entry_view, name="canvas_entry"),
    path(
        "canvas/<int:canvas_id>/entry/filter-row/",
        builder.segment_filter_row,
        name="segment_filter_row",
    ),
    path("canvas/<int:canvas_id>/entry/count/", builder.segment_count, name="segment_count"),
    path("canvas/<int:canvas_id>/steps/add/", builder.step_add_view, name="step_add"),
    path("canvas/<int:canvas_id>/steps/<int:step_id>/", builder.step_editor, name="step_editor"),
    path(
        "canvas/<int:canvas_id>/steps/<int:step_id>/move/", builder.step_move_view, name="step_move"
    ),
    path(
        "canvas/<int:canvas_id>/steps/<int:step_id>/delete/",
        builder.step_delete_view,
        name="step_delete",
    ),
    path("canvas/<int:canvas_id>/launch/", builder.canvas_launch_view, name="canvas_launch"),
    path("canvas/<int:canvas_id>/stop/", builder.canvas_stop_view, name="canvas_stop"),
    path("customers/", customers.customers, name="customers"),
    path("customers/<int:customer_id>/", customers.customer_detail, name="customer_detail"),
    path("customers/<int:customer_id>/delete/", customers.customer_delete, name="customer_delete"),
    path("customers/import/", customers.customer_import, name="customer_import"),
    path(
        "customers/import/template.csv",
        customers.customer_import_template,
        name="customer_import_template",
    ),
    path(
        "customers/imports/<int:import_id>/",
        customers.customer_import_detail,
        name="customer_import_detail",
    ),
    path(
        "customers/imports/<int:import_id>/errors.csv",
        customers.customer_import_errors,
        name="customer_import_errors",
    ),
    path(
        "notifications/<int:notification_id>/dismiss/",
        workspaces.notification_dismiss_view,
        name="notification_dismiss",
    ),
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
