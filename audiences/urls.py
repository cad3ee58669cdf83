from django.urls import include, path

from audiences import views

app_name = "audiences"

# Mounted under /w/<workspace>/ and resolved by canvas.access.WorkspaceMiddleware:
# members only, everyone else gets 404.
workspace_urlpatterns = [
    path("audiences/", views.audience_list, name="audience_list"),
    path(
        "canvas/<int:canvas_id>/steps/<int:step_id>/audiences/",
        views.audience_search,
        name="audience_search",
    ),
    path(
        "canvas/<int:canvas_id>/steps/<int:step_id>/coverage/",
        views.coverage,
        name="coverage",
    ),
]

urlpatterns = [path("w/<slug:workspace>/", include(workspace_urlpatterns))]
